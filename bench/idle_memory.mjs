// Memory held per idle device connection on the hub's MQTT port.
//
//   node bench/idle_memory.mjs [N]        (default N = 1000; release build)
//
// Makes a data directory with `rollcall init`, starts build/release/rollcalld
// on 127.0.0.1 (ports chosen by the kernel), creates N selfSigned hub
// devices through the hub service API, connects each over TLS with its own
// certificate (MQTT CONNECT, keepalive 600 s, CONNACK 0 required), and reads
// the daemon's resident set size (VmRSS) before and after.  Everything runs
// on loopback and is stopped by pid at the end.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

const N = Number(process.argv[2] ?? 1000);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const bin = (name) => path.join(root, 'build', 'release', name);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rc-idle-'));
const data = path.join(dir, 'data');

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

function sas(host, name, key) {
  const se = Math.ceil(Date.now() / 1000) + 3600;
  const sig = crypto.createHmac('sha256', Buffer.from(key, 'base64')).update(`${host}\n${se}`).digest('base64');
  return `SharedAccessSignature sr=${host}&sig=${encodeURIComponent(sig)}&skn=${name}&se=${se}`;
}

function put(port, ca, auth, p, body) {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: p, method: 'PUT', ca, servername: 'localhost',
      headers: { Authorization: auth, 'Content-Type': 'application/json', Host: '127.0.0.1' } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode < 300 ? resolve() : reject(new Error(`${p}: ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

function mqttString(s) {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b]);
}

function connectPacket(id) {
  const user = `127.0.0.1/${id}/?api-version=2021-04-12`;
  const vh = Buffer.concat([mqttString('MQTT'), Buffer.from([4, 0x80 | 0x02, 600 >> 8, 600 & 255])]);
  const body = Buffer.concat([vh, mqttString(id), mqttString(user)]);
  return Buffer.concat([Buffer.from([0x10, body.length & 127 | (body.length > 127 ? 128 : 0)]),
    body.length > 127 ? Buffer.from([body.length >> 7]) : Buffer.alloc(0), body]);
}

function connect(port, ca, id, cert, key) {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, cert, key, servername: 'localhost' }, () => s.write(connectPacket(id)));
    s.once('data', (d) => (d[0] === 0x20 && d[3] === 0 ? resolve(s) : reject(new Error(`${id}: CONNACK ${d[3]}`))));
    s.on('error', reject);
  });
}

const conn = JSON.parse(run(bin('rollcall'), ['init', data, '--hostname', '127.0.0.1', '--listen', '127.0.0.1',
  '--https-port', '0', '--mqtt-port', '0', '--json']));
const d = spawn(bin('rollcalld'), ['-d', '-f', path.join(data, 'rollcall.conf')], { stdio: ['ignore', 'pipe', 'ignore'] });
try {
  const line = await new Promise((resolve) => d.stdout.once('data', (b) => resolve(b.toString())));
  const [, hp, mp] = /https=\S+:(\d+) mqtt=\S+:(\d+)/.exec(line).map(Number);
  const ca = fs.readFileSync(conn.trustBundle);
  const hubcs = Object.fromEntries(conn.hubs[0].connectionString.split(';').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  const auth = sas('127.0.0.1', hubcs.SharedAccessKeyName, hubcs.SharedAccessKey);
  const certs = path.join(dir, 'certs');
  fs.mkdirSync(certs);
  const devices = [];
  for (let i = 0; i < N; i++) {
    const id = `idle-${i}`;
    run(bin('rollcall'), ['ca', 'issue', '--ca', path.join(data, 'ca', 'devices'), '--cn', id, '--out', path.join(certs, id)]);
    const cert = fs.readFileSync(path.join(certs, `${id}.pem`));
    const thumb = new crypto.X509Certificate(cert).fingerprint256.replace(/:/g, '');
    await put(hp, ca, auth, `/devices/${id}?api-version=2021-04-12`, { deviceId: id,
      authentication: { type: 'selfSigned', x509Thumbprint: { primaryThumbprint: thumb } } });
    devices.push({ id, cert, key: fs.readFileSync(path.join(certs, `${id}.key`)) });
  }
  await new Promise((r) => setTimeout(r, 500));
  const before = rss(d.pid);
  const socks = [];
  for (let i = 0; i < devices.length; i += 50)
    socks.push(...await Promise.all(devices.slice(i, i + 50).map((v) => connect(mp, ca, v.id, v.cert, v.key))));
  await new Promise((r) => setTimeout(r, 1000));
  const after = rss(d.pid);
  console.log('| idle MQTT connections | rollcalld RSS before | after | per connection |');
  console.log('|---:|---:|---:|---:|');
  console.log(`| ${socks.length} | ${before} KiB | ${after} KiB | ${((after - before) * 1024 / socks.length / 1024).toFixed(1)} KiB |`);
  for (const s of socks)
    s.destroy();
} finally {
  d.kill('SIGTERM');
  fs.rmSync(dir, { recursive: true, force: true });
}
