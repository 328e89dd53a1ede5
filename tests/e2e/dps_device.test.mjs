// The DPS device API against a real rollcalld made by `rollcall init`
// (issue 5): certificates from a CSR (S4a), and the refusals, driven by
// independent clients (openssl s_client for HTTPS, mosquitto_pub and a
// raw TLS socket for MQTT).  After every refusal the service still
// registers a good device.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { ROLLCALL, startDaemon, tmpdir } from './harness.mjs';

const API = 'api-version=2025-07-01-preview';
const P256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];

function must(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60000, ...opts });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

describe('DPS device API', () => {
  let work, data, d, conn, ca, scope;
  const rc = (...args) => must(ROLLCALL, [...args, '--data', data]);
  const file = (n) => path.join(work, n);

  before(async () => {
    work = tmpdir();
    data = path.join(work, 'data');
    conn = JSON.parse(must(ROLLCALL, ['init', data, '--hostname', 'localhost', '--hostname', '127.0.0.1',
      '--listen', '127.0.0.1', '--https-port', '0', '--mqtt-port', '0', '--json']));
    d = await startDaemon({ confFile: path.join(data, 'rollcall.conf') });
    // The CLI reaches the service API through connections.json's port.
    conn.dps.httpsPort = d.httpsPort;
    ca = conn.trustBundle;
    scope = conn.idScope;
    const cj = JSON.parse(fs.readFileSync(path.join(data, 'connections.json'), 'utf8'));
    cj.dps.httpsPort = d.httpsPort;
    fs.writeFileSync(path.join(data, 'connections.json'), JSON.stringify(cj));
    // Every leaf of the data directory's device CA is in this group.
    rc('group', 'create', 'fleet', '--primary-cert', path.join(data, 'ca', 'devices', 'ca.pem'));
    for (const id of ['csr-1', 'good-1', 'good-2', 'cn-x', 'bad-csr'])
      must(ROLLCALL, ['ca', 'issue', '--ca', path.join(data, 'ca', 'devices'), '--cn', id, '--out', file(id)]);
  });

  // HTTPS request with an optional client certificate; resolves
  // {status, headers, json}.
  function call(method, p, body, who) {
    return new Promise((resolve, reject) => {
      const req = https.request({
        host: '127.0.0.1', port: d.httpsPort, method, path: p, ca: fs.readFileSync(ca), servername: 'localhost',
        cert: who ? fs.readFileSync(file(`${who}.pem`)) : undefined,
        key: who ? fs.readFileSync(file(`${who}.key`)) : undefined,
        headers: { 'content-type': 'application/json' },
      }, (res) => {
        let text = '';
        res.on('data', (c) => { text += c; });
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, json: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  // Registers over HTTPS and polls to the end.
  async function register(id, who, extra = {}) {
    let r = await call('PUT', `/${scope}/registrations/${id}/register?${API}`, { registrationId: id, ...extra }, who);
    for (let i = 0; r.status === 202 && i < 100; i++) {
      assert.ok(Number(r.headers['retry-after']) >= 1, JSON.stringify(r.headers));
      await new Promise((ok) => setTimeout(ok, 100));
      r = await call('GET', `/${scope}/registrations/${id}/operations/${r.json.operationId}?${API}`, undefined, who);
    }
    return r;
  }

  // A CSR in base64 DER for cn, with a new key of the given openssl
  // -newkey spec.
  function csr(cn, newkey, name) {
    must('openssl', ['req', '-new', ...newkey, '-nodes', '-keyout', file(`${name}.key`),
      '-subj', `/CN=${cn}`, '-outform', 'DER', '-out', file(`${name}.csr`)]);
    return fs.readFileSync(file(`${name}.csr`)).toString('base64');
  }

  function mqttPub(cert, key, id) {
    const hub = conn.hubs[0].host;
    return spawnSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(d.mqttPort), '--cafile', ca,
      '--cert', cert, '--key', key, '--insecure', '-i', id, '-u', `${hub}/${id}/?api-version=2021-04-12`,
      '-t', `devices/${id}/messages/events/`, '-m', '{"n":1}', '-q', '1', '-V', 'mqttv311'],
    { encoding: 'utf8', timeout: 20000 });
  }

  async function stillServes() {
    const r = await register('good-1', 'good-1');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.status, 'assigned');
  }

  it('issues a certificate from a CSR: openssl verifies it and the hub accepts it', async () => {
    const r = await register('csr-1', 'csr-1', { csr: csr('csr-1', P256, 'new-1') });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.status, 'assigned');
    const chain = r.json.registrationState.issuedCertificateChain;
    assert.ok(Array.isArray(chain) && chain.length >= 2, JSON.stringify(r.json));
    const pem = (b64) => `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g).join('\n')}\n-----END CERTIFICATE-----\n`;
    fs.writeFileSync(file('new-1.pem'), pem(chain[0]));
    fs.writeFileSync(file('new-1-chain.pem'), chain.map(pem).join(''));
    fs.writeFileSync(file('new-1-untrusted.pem'), chain.slice(1).map(pem).join(''));
    assert.match(must('openssl', ['verify', '-CAfile', ca, '-untrusted', file('new-1-untrusted.pem'),
      file('new-1.pem')]), /OK/);
    const subject = must('openssl', ['x509', '-in', file('new-1.pem'), '-noout', '-subject']);
    assert.match(subject, /CN ?= ?csr-1/);
    // The hub takes the issued certificate, and no longer the one the
    // device registered with.
    let p = mqttPub(file('new-1-chain.pem'), file('new-1.key'), 'csr-1');
    assert.equal(p.status, 0, p.stderr + d.stderr().slice(-2000));
    p = mqttPub(file('csr-1.pem'), file('csr-1.key'), 'csr-1');
    assert.notEqual(p.status, 0, 'the registration certificate still connects to the hub');
    // The certificate is on record, and the CSR kept for re-signing.
    const issued = JSON.parse(rc('registration', 'show', 'csr-1', '--json'));
    assert.equal(issued.status, 'assigned');
  });

  it('refuses a CSR with another CN, a bad signature or a weak key, with a clear message', async () => {
    let r = await register('bad-csr', 'bad-csr', { csr: csr('someone-else', P256, 'x1') });
    assert.equal(r.status, 400);
    assert.match(r.json.message, /CN/);
    // Flip a byte of the signature (the last bytes of the DER).
    const der = Buffer.from(csr('bad-csr', P256, 'x2'), 'base64');
    der[der.length - 3] ^= 0x55;
    r = await register('bad-csr', 'bad-csr', { csr: der.toString('base64') });
    assert.equal(r.status, 400);
    assert.match(r.json.message, /signature/i);
    r = await register('bad-csr', 'bad-csr', { csr: csr('bad-csr', ['-newkey', 'rsa:1024'], 'x3') });
    assert.equal(r.status, 400);
    assert.match(r.json.message, /RSA-1024|key/);
    r = await register('bad-csr', 'bad-csr', { csr: 'not base64 at all!' });
    assert.equal(r.status, 400);
    await stillServes();
  });

  // openssl s_client: one HTTP/1.1 request, the answer's status and body.
  function sclient(target, who, body) {
    const args = ['s_client', '-connect', `127.0.0.1:${d.httpsPort}`, '-servername', 'localhost', '-CAfile', ca, '-quiet'];
    if (who)
      args.push('-cert', who.cert, '-key', who.key);
    const req = `PUT ${target} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
    const r = spawnSync('openssl', args, { input: req, encoding: 'utf8', timeout: 20000 });
    const m = /^HTTP\/1\.1 (\d+)/m.exec(r.stdout);
    const j = r.stdout.slice(r.stdout.indexOf('{'));
    return { status: m ? Number(m[1]) : 0, json: m ? JSON.parse(j) : null, out: r.stdout + r.stderr };
  }

  it('refuses, over HTTPS: no client certificate, CN not the registration ID, an expired leaf, an unknown CA', async () => {
    const target = (id) => `/${scope}/registrations/${id}/register?${API}`;
    const expect401 = (r, re) => {
      assert.equal(r.status, 401, r.out);
      assert.equal(r.json.errorCode, 401002);
      assert.match(r.json.message, re);
    };
    expect401(sclient(target('good-2'), null, '{"registrationId":"good-2"}'), /certificate/);
    // cn-x's certificate, asking for good-2.
    expect401(sclient(target('good-2'), { cert: file('cn-x.pem'), key: file('cn-x.key') },
      '{"registrationId":"good-2"}'), /CN|registration ID/);
    // A leaf of the device CA that expired a moment after it was made.
    must('openssl', ['req', '-new', ...P256, '-nodes', '-keyout', file('old.key'),
      '-subj', '/CN=old-1', '-out', file('old.csr')]);
    must('openssl', ['x509', '-req', '-in', file('old.csr'), '-CA', path.join(data, 'ca', 'devices', 'ca.pem'),
      '-CAkey', path.join(data, 'ca', 'devices', 'ca.key'), '-days', '0', '-set_serial', '7', '-out', file('old.pem')]);
    await new Promise((ok) => setTimeout(ok, 1500));
    expect401(sclient(target('old-1'), { cert: file('old.pem'), key: file('old.key') }, '{}'), /expired|valid/);
    // A CA nobody enrolled.
    must(ROLLCALL, ['ca', 'init', '--out', file('stranger'), '--cn', 'Stranger CA']);
    must(ROLLCALL, ['ca', 'issue', '--ca', file('stranger'), '--cn', 'str-1', '--out', file('str-1')]);
    expect401(sclient(target('str-1'), { cert: file('str-1.pem'), key: file('str-1.key') }, '{}'), /enrollment|not/);
    await stillServes();
  });

  // One raw MQTT exchange over TLS: sends bytes, collects what comes back
  // until the server closes or ms pass.
  function rawMqtt(who, bytes, ms = 3000) {
    return new Promise((resolve) => {
      const sock = tls.connect({ host: '127.0.0.1', port: d.mqttPort, ca: fs.readFileSync(ca), servername: 'localhost',
        cert: who ? fs.readFileSync(file(`${who}.pem`)) : undefined,
        key: who ? fs.readFileSync(file(`${who}.key`)) : undefined }, () => sock.write(bytes));
      const got = [];
      let closed = false;
      sock.on('data', (b) => got.push(b));
      sock.on('error', () => {});
      sock.on('close', () => { closed = true; resolve({ data: Buffer.concat(got), closed }); });
      setTimeout(() => { sock.destroy(); resolve({ data: Buffer.concat(got), closed }); }, ms);
    });
  }

  function connectPacket(id) {
    const str = (s) => { const b = Buffer.from(s); return Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b]); };
    const body = Buffer.concat([str('MQTT'), Buffer.from([4, 0x82, 0, 60]), str(id),
      str(`${scope}/registrations/${id}/api-version=2019-03-31&ClientVersion=e2e`)]);
    return Buffer.concat([Buffer.from([0x10, body.length]), body]);
  }

  it('refuses, over MQTT: no client certificate (CONNACK 5), garbage after CONNECT (closed)', async () => {
    // mosquitto_pub with no certificate, as a DPS device.
    const p = spawnSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(d.mqttPort), '--cafile', ca, '--insecure',
      '-i', 'good-2', '-u', `${scope}/registrations/good-2/api-version=2019-03-31`,
      '-t', '$dps/registrations/PUT/iotdps-register/?$rid=1', '-m', '{}', '-V', 'mqttv311'],
    { encoding: 'utf8', timeout: 20000 });
    assert.notEqual(p.status, 0);
    assert.match(p.stderr + p.stdout, /not authori[sz]ed|refused/i);
    // A good CONNECT, then bytes that are no MQTT packet.
    const r = await rawMqtt('good-2', Buffer.concat([connectPacket('good-2'), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01])]));
    assert.equal(r.data[0], 0x20, 'CONNACK expected first');
    assert.equal(r.data[3], 0, 'CONNACK 0');
    assert.ok(r.closed, 'the connection stays open after garbage');
    await stillServes();
  });

  it('answers a refused MQTT registration with 401 on the reply topic, $rid echoed', async () => {
    const str = (s) => { const b = Buffer.from(s); return Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b]); };
    const topic = str('$dps/registrations/PUT/iotdps-register/?$rid=abc-42');
    const payload = Buffer.from('{"registrationId":"good-2"}');
    const pub = Buffer.concat([Buffer.from([0x30, topic.length + payload.length]), topic, payload]);
    // cn-x's certificate with good-2's name: accepted at CONNECT, refused
    // by attestation.
    const r = await rawMqtt('cn-x', Buffer.concat([connectPacket('cn-x').subarray(0, 0), connectPacket('good-2'), pub]), 2000);
    assert.equal(r.data[3], 0, 'CONNACK 0');
    const text = r.data.subarray(4).toString('latin1');
    assert.match(text, /\$dps\/registrations\/res\/401\/\?\$rid=abc-42/);
    assert.match(text, /"errorCode":401002/);
  });
});
