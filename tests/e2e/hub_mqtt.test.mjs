// The hub's device MQTT endpoint (issue 4): X.509 CONNECT, telemetry into
// the store, twin GET/PATCH, one connection per device, and the negative
// cases, each checked with an independent client (Debian
// mosquitto-clients) or raw bytes, while another device's session stays
// up throughout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { startDaemon, tmpdir, waitForLog } from './harness.mjs';

const SEED = process.env.RC_SEED_HUB_DEVICE;
const HUB = 'e2ehub';
const HOST = 'hub.e2e.test';
const haveMosquitto = spawnSync('mosquitto_pub', ['--help']).error === undefined;

let d, dir, store, subDev2;

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20000, ...opts });
  if (r.error)
    throw r.error;
  return r;
}

// A self-signed device certificate with CN=id; returns {cert, key, thumb}.
function deviceCert(id) {
  const cert = path.join(dir, `${id}.pem`);
  const key = path.join(dir, `${id}.key`);
  const r = run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt',
    'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
    '-days', '2', '-subj', `/CN=${id}`]);
  assert.equal(r.status, 0, r.stderr);
  const thumb = new crypto.X509Certificate(fs.readFileSync(cert))
    .fingerprint256.replace(/:/g, '');
  return { cert, key, thumb };
}

function seed(id, thumb, disabled) {
  const r = run(SEED, [store, HUB, id, thumb, ...(disabled ? ['disabled'] : [])]);
  assert.equal(r.status, 0, r.stderr);
}

function events() {
  const r = run(SEED, ['events', store, HUB]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

const certs = {};

function mqttArgs(id, opts = {}) {
  const c = opts.creds === undefined ? certs[id] : opts.creds;
  const a = ['-h', '127.0.0.1', '-p', String(d.mqttPort), '--cafile', d.pki.ca,
    '-i', opts.clientId ?? id, '-u', `${HOST}/${opts.userDevice ?? id}/?api-version=2021-04-12`];
  if (c)
    a.push('--cert', c.cert, '--key', c.key);
  return a;
}

function pub(id, topic, message, opts = {}) {
  const args = [...mqttArgs(id, opts), '-q', String(opts.qos ?? 1), '-t', topic];
  if (opts.file)
    args.push('-f', opts.file);
  else
    args.push('-m', message);
  return run('mosquitto_pub', args);
}

// --- a minimal MQTT 3.1.1 client over node:tls, for raw-byte cases ---

function mqttStr(s) {
  const b = Buffer.from(s, 'utf8');
  const l = Buffer.alloc(2);
  l.writeUInt16BE(b.length);
  return Buffer.concat([l, b]);
}

function packet(type, flags, body) {
  const len = [];
  let n = body.length;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0)
      byte |= 0x80;
    len.push(byte);
  } while (n > 0);
  return Buffer.concat([Buffer.from([(type << 4) | flags, ...len]), body]);
}

function connectPacket(id, keepalive = 60) {
  const vh = Buffer.concat([mqttStr('MQTT'), Buffer.from([4, 0x80, keepalive >> 8, keepalive & 255])]);
  return packet(1, 0, Buffer.concat([vh, mqttStr(id), mqttStr(`${HOST}/${id}/?api-version=2021-04-12`)]));
}

function publishPacket(topic, payload) {
  return packet(3, 0, Buffer.concat([mqttStr(topic), Buffer.from(payload)]));
}

function subscribePacket(pid, filter, qos = 0) {
  const p = Buffer.alloc(2);
  p.writeUInt16BE(pid);
  return packet(8, 2, Buffer.concat([p, mqttStr(filter), Buffer.from([qos])]));
}

// Connects with the device's certificate; resolves {sock, packets, next(),
// closed} once TLS is up.
function rawClient(id) {
  return new Promise((resolve, reject) => {
    const c = certs[id];
    const sock = tls.connect({ host: '127.0.0.1', port: d.mqttPort, ca: fs.readFileSync(d.pki.ca),
      cert: fs.readFileSync(c.cert), key: fs.readFileSync(c.key), servername: 'localhost' });
    const cl = { sock, buf: Buffer.alloc(0), packets: [], waiters: [] };
    cl.closed = new Promise((res) => sock.on('close', res));
    sock.on('data', (b) => {
      cl.buf = Buffer.concat([cl.buf, b]);
      for (;;) {
        let mul = 1, len = 0, i = 1;
        for (; i < cl.buf.length; i++) {
          len += (cl.buf[i] & 127) * mul;
          mul *= 128;
          if ((cl.buf[i] & 128) === 0)
            break;
        }
        if (i >= cl.buf.length || cl.buf.length < i + 1 + len)
          return;
        const p = { type: cl.buf[0] >> 4, body: cl.buf.subarray(i + 1, i + 1 + len) };
        cl.buf = cl.buf.subarray(i + 1 + len);
        const w = cl.waiters.shift();
        if (w)
          w(p);
        else
          cl.packets.push(p);
      }
    });
    cl.next = () => new Promise((res, rej) => {
      if (cl.packets.length > 0)
        return res(cl.packets.shift());
      const t = setTimeout(() => rej(new Error('no packet in 5 s')), 5000);
      cl.waiters.push((p) => { clearTimeout(t); res(p); });
    });
    sock.on('secureConnect', () => resolve(cl));
    sock.on('error', reject);
  });
}

function publishTopic(p) {
  const l = p.body.readUInt16BE(0);
  return { topic: p.body.subarray(2, 2 + l).toString(), payload: p.body.subarray(2 + l).toString() };
}

before(async () => {
  if (!haveMosquitto)
    return;
  dir = tmpdir();
  store = `sqlite:${path.join(dir, 'hub.db')}`;
  for (const id of ['dev1', 'dev2', 'dev3', 'dev4', 'stranger'])
    certs[id] = deviceCert(id);
  seed('dev1', certs.dev1.thumb);
  seed('dev2', certs.dev2.thumb);
  seed('dev3', certs.dev3.thumb, true);
  seed('dev4', certs.dev4.thumb);
  d = await startDaemon({ conf: { store, hub: `${HUB} ${HOST}`, 'mqtt-max-packet': '64k' }, args: ['-v'] });
  // dev2 stays subscribed to its C2D topic through every test below.
  subDev2 = spawn('mosquitto_sub', [...mqttArgs('dev2'), '-q', '1', '-k', '5',
    '-t', 'devices/dev2/messages/devicebound/#'], { stdio: 'ignore' });
  await waitForLog(d, /device dev2 connected/);
});

after(() => {
  if (subDev2 && subDev2.exitCode === null)
    subDev2.kill('SIGTERM');
});

function dev2StillUp() {
  assert.equal(subDev2.exitCode, null, 'dev2 subscriber exited');
  assert.equal((d.stderr().match(/device dev2 connected/g) ?? []).length, 1,
    'dev2 reconnected: its session was dropped');
}

test('telemetry at QoS 1 is acknowledged and stored with its properties', { skip: !haveMosquitto }, () => {
  const r = pub('dev1', 'devices/dev1/messages/events/%24.mid=m1&%24.ct=application%2Fjson&alert=yes%20please', '{"t":21.5}');
  assert.equal(r.status, 0, r.stderr);
  const ev = events().filter((e) => e.deviceId === 'dev1');
  assert.equal(ev.length, 1);
  assert.deepEqual(ev[0].properties, { '$.mid': 'm1', '$.ct': 'application/json', alert: 'yes please' });
  assert.equal(ev[0].body, '{"t":21.5}');
  dev2StillUp();
});

test('no client certificate: CONNACK 5', { skip: !haveMosquitto }, async () => {
  const r = pub('dev1', 'devices/dev1/messages/events/', 'x', { creds: null });
  assert.notEqual(r.status, 0);
  await waitForLog(d, /device 'dev1' refused: no client certificate/);
  dev2StillUp();
});

test('unknown certificate: CONNACK 5', { skip: !haveMosquitto }, async () => {
  const r = pub('dev1', 'devices/dev1/messages/events/', 'x', { creds: certs.stranger });
  assert.notEqual(r.status, 0);
  await waitForLog(d, /device 'dev1' refused: .*thumbprint|device 'dev1' refused/);
  dev2StillUp();
});

test("right certificate with another device's client ID: CONNACK 5, the other keeps its session", { skip: !haveMosquitto }, async () => {
  const r = pub('dev2', 'devices/dev2/messages/events/', 'x', { creds: certs.dev1 });
  assert.notEqual(r.status, 0);
  await waitForLog(d, /device 'dev2' refused/);
  const r2 = pub('dev1', 'devices/dev1/messages/events/', 'x', { clientId: 'dev1', userDevice: 'dev2' });
  assert.notEqual(r2.status, 0);
  await waitForLog(d, /device 'dev1' refused: device in username differs/);
  dev2StillUp();
});

test('disabled device: CONNACK 5', { skip: !haveMosquitto }, async () => {
  const r = pub('dev3', 'devices/dev3/messages/events/', 'x');
  assert.notEqual(r.status, 0);
  await waitForLog(d, /device 'dev3' refused/);
  dev2StillUp();
});

test("publishing to another device's topic closes the connection", { skip: !haveMosquitto }, async () => {
  const r = pub('dev1', 'devices/dev2/messages/events/', 'x');
  assert.notEqual(r.status, 0);
  await waitForLog(d, /device dev1: publish to a topic not its own/);
  assert.equal(events().filter((e) => e.deviceId === 'dev2').length, 0);
  dev2StillUp();
});

test('an oversized packet closes the connection', { skip: !haveMosquitto }, async () => {
  const f = path.join(dir, 'big');
  fs.writeFileSync(f, Buffer.alloc(100 * 1024, 'a'));
  const r = pub('dev1', 'devices/dev1/messages/events/', null, { file: f });
  assert.notEqual(r.status, 0);
  await waitForLog(d, /oversized packet/);
  dev2StillUp();
});

test('QoS 2 closes the connection', { skip: !haveMosquitto }, async () => {
  const r = pub('dev1', 'devices/dev1/messages/events/', 'x', { qos: 2 });
  assert.notEqual(r.status, 0);
  await waitForLog(d, /QoS 2 PUBLISH/);
  dev2StillUp();
});

test('garbage bytes after CONNECT close the connection', { skip: !haveMosquitto }, async () => {
  const cl = await rawClient('dev4');
  cl.sock.write(connectPacket('dev4'));
  const ack = await cl.next();
  assert.equal(ack.type, 2);
  assert.equal(ack.body[1], 0);
  cl.sock.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x13, 0x37]));
  await cl.closed;
  await waitForLog(d, /malformed packet/);
  dev2StillUp();
});

test('a first packet other than CONNECT closes the connection', { skip: !haveMosquitto }, async () => {
  const cl = await rawClient('dev4');
  cl.sock.write(publishPacket('devices/dev4/messages/events/', 'x'));
  await cl.closed;
  await waitForLog(d, /first packet is not CONNECT/);
  dev2StillUp();
});

test('one connection per device: a new CONNECT drops the old session', { skip: !haveMosquitto }, async () => {
  const a = await rawClient('dev4');
  a.sock.write(connectPacket('dev4'));
  assert.equal((await a.next()).body[1], 0);
  const b = await rawClient('dev4');
  b.sock.write(connectPacket('dev4'));
  assert.equal((await b.next()).body[1], 0);
  await a.closed;
  b.sock.write(packet(12, 0, Buffer.alloc(0)));
  assert.equal((await b.next()).type, 13);
  b.sock.end(packet(14, 0, Buffer.alloc(0)));
  await b.closed;
  dev2StillUp();
});

test('twin GET and reported PATCH', { skip: !haveMosquitto }, async () => {
  const cl = await rawClient('dev4');
  cl.sock.write(connectPacket('dev4'));
  assert.equal((await cl.next()).body[1], 0);
  cl.sock.write(subscribePacket(1, '$iothub/twin/res/#'));
  cl.sock.write(subscribePacket(2, 'devices/dev1/messages/devicebound/#'));
  const s1 = await cl.next();
  assert.equal(s1.type, 9);
  assert.equal(s1.body[2], 0);
  const s2 = await cl.next();
  assert.equal(s2.body[2], 0x80);
  cl.sock.write(publishPacket('$iothub/twin/GET/?$rid=7', ' '));
  let m = publishTopic(await cl.next());
  assert.equal(m.topic, '$iothub/twin/res/200/?$rid=7');
  assert.deepEqual(JSON.parse(m.payload), { desired: { $version: 1 }, reported: { $version: 1 } });
  cl.sock.write(publishPacket('$iothub/twin/PATCH/properties/reported/?$rid=8', '{"fw":"1.2"}'));
  m = publishTopic(await cl.next());
  assert.equal(m.topic, '$iothub/twin/res/204/?$rid=8&$version=2');
  cl.sock.write(publishPacket('$iothub/twin/PATCH/properties/reported/?$rid=9', '[1]'));
  m = publishTopic(await cl.next());
  assert.equal(m.topic, '$iothub/twin/res/400/?$rid=9');
  assert.equal(JSON.parse(m.payload).errorCode, 400004);
  cl.sock.write(publishPacket('$iothub/twin/GET/?$rid=10', ''));
  m = publishTopic(await cl.next());
  assert.deepEqual(JSON.parse(m.payload).reported, { fw: '1.2', $version: 2 });
  cl.sock.end();
  await cl.closed;
  dev2StillUp();
});

test('keepalive: silence beyond 1.5 x keepalive closes the session', { skip: !haveMosquitto }, async () => {
  const cl = await rawClient('dev4');
  cl.sock.write(connectPacket('dev4', 1));
  assert.equal((await cl.next()).body[1], 0);
  await cl.closed;
  await waitForLog(d, /keepalive expired/);
  dev2StillUp();
});
