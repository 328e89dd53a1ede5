// The server core of rollcalld, end to end: readiness line, TLS policy,
// authentication answers, request limits and timeouts, Host checks,
// keep-alive, graceful stop, and `rollcalld -n`.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';

import {
  makePki, ownerToken, request, runDaemonSync, startDaemon, tmpdir, waitForLog,
  writeConf,
} from './harness.mjs';

function tlsConnect(d, opts = {}) {
  return new Promise((resolve, reject) => {
    const s = tls.connect({
      host: '127.0.0.1',
      port: opts.port ?? d.httpsPort,
      servername: 'localhost',
      ca: d.ca,
      ...opts,
    });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });
}

// Resolves when the socket is closed by the peer, with what it received.
function closed(s) {
  return new Promise((resolve) => {
    let data = '';
    s.setEncoding('utf8');
    s.on('data', (c) => { data += c; });
    s.on('error', () => {});
    s.on('close', () => resolve(data));
  });
}

describe('rollcalld server core', () => {
  let d;

  before(async () => {
    d = await startDaemon({ conf: { 'max-body': '2k', 'request-timeout': '2s' } });
  });
  after(async () => {
    await d?.stop();
  });

  it('prints one readiness line with the bound ports', () => {
    assert.match(d.readyLine, /^rollcalld ready https=127\.0\.0\.1:\d+ mqtt=127\.0\.0\.1:\d+$/);
    assert.ok(d.httpsPort > 0 && d.mqttPort > 0);
    assert.notEqual(d.httpsPort, d.mqttPort);
  });

  it('refuses TLS 1.1 and accepts TLS 1.2 and 1.3', async () => {
    await assert.rejects(tlsConnect(d, {
      minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0',
    }), { code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' }); // the server's alert
    for (const v of ['TLSv1.2', 'TLSv1.3']) {
      const s = await tlsConnect(d, { minVersion: v, maxVersion: v });
      assert.equal(s.getProtocol(), v);
      s.destroy();
    }
  });

  it('resumes TLS 1.2 sessions', async () => {
    const opts = { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' };
    const s1 = await tlsConnect(d, opts);
    const session = s1.getSession();
    s1.destroy();
    const s2 = await tlsConnect(d, { ...opts, session });
    assert.equal(s2.isSessionReused(), true);
    s2.destroy();
  });

  it('resumes TLS 1.2 sessions by ID for clients without tickets', async () => {
    const opts = {
      minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2',
      secureOptions: crypto.constants.SSL_OP_NO_TICKET,
    };
    const s1 = await tlsConnect(d, opts);
    const session = s1.getSession();
    // The server frees the connection without a close_notify (libevent
    // does): its session must stay resumable all the same.
    const gone = closed(s1);
    s1.end();
    await gone;
    const s2 = await tlsConnect(d, { ...opts, session });
    assert.equal(s2.isSessionReused(), true);
    s2.destroy();
  });

  it('answers a call without Authorization with the DPS 401', async () => {
    const r = await request(d, { path: '/enrollments/dev1?api-version=2021-10-01' });
    assert.equal(r.status, 401);
    assert.match(r.headers['content-type'], /^application\/json/);
    assert.equal(r.json.errorCode, 401002);
    assert.equal(r.headers['x-ms-error-code'], '401002');
  });

  it('answers the same 401 to a token signed with another key', async () => {
    const bad = ownerToken({ policies: { provisioningserviceowner: d.policies.enrollmentread } });
    const r = await request(d, { path: '/enrollments/dev1', headers: { Authorization: bad } });
    assert.equal(r.status, 401);
    assert.equal(r.json.errorCode, 401002);
    await waitForLog(d, /auth: refused 127\.0\.0\.1:\d+ policy provisioningserviceowner/);
    assert.ok(!d.stderr().includes(bad.split('sig=')[1].split('&')[0]));
  });

  it('passes an authenticated call to the role', async () => {
    const r = await request(d, {
      path: '/enrollments/dev1?api-version=2021-10-01',
      headers: { Authorization: ownerToken(d) },
    });
    assert.notEqual(r.status, 401);
    assert.match(r.headers['content-type'], /^application\/json/);
  });

  it('answers 404 JSON to an unknown Host and an unknown path', async () => {
    for (const [host, p] of [['evil.example.com', '/enrollments/x'], ['localhost', '/nothing']]) {
      const r = await request(d, { host, path: p, headers: { Authorization: ownerToken(d) } });
      assert.equal(r.status, 404);
      assert.match(r.headers['content-type'], /^application\/json/);
    }
    const hub = await request(d, { path: '/devices/d1' });
    assert.equal(hub.status, 404);
    assert.match(hub.json.Message, /^ErrorCode:NotFound;/);
    // The device API answers there: without a client certificate, 401.
    const device = await request(d, {
      method: 'PUT', path: '/0ne00E2E0E2/registrations/d1/register?api-version=2019-03-31', body: '{}',
    });
    assert.equal(device.status, 401);
    assert.equal(device.json.errorCode, 401002);
    const other = await request(d, {
      method: 'PUT', path: '/0ne00E2E0E2x/registrations/d1/register?api-version=2019-03-31', body: '{}',
    });
    assert.equal(other.status, 404);
  });

  it('answers 413 to a body over max-body and keeps serving', async () => {
    const r = await request(d, {
      method: 'PUT', path: '/enrollments/dev1', body: Buffer.alloc(4096, 0x61),
      headers: { Authorization: ownerToken(d), 'Content-Type': 'application/json' },
    });
    assert.equal(r.status, 413);
    const next = await request(d, { path: '/enrollments/dev1' });
    assert.equal(next.status, 401);
  });

  it('refuses a header block over 16 KiB and keeps serving', async () => {
    const r = await request(d, { path: '/enrollments/x', headers: { 'X-Big': 'a'.repeat(17 * 1024) } });
    assert.equal(r.status, 400);
    const many = {};
    for (let i = 0; i < 70; i++)
      many[`X-H${i}`] = 'v';
    const r2 = await request(d, { path: '/enrollments/x', headers: many });
    assert.equal(r2.status, 431);
    assert.equal((await request(d, { path: '/enrollments/x' })).status, 401);
  });

  it('keeps connections alive across requests', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const seen = [];
      for (let i = 0; i < 3; i++)
        seen.push(await request(d, { path: '/enrollments/x', agent }));
      assert.deepEqual(seen.map((r) => r.status), [401, 401, 401]);
      assert.deepEqual(seen.map((r) => r.reusedSocket), [false, true, true]);
    } finally {
      agent.destroy();
    }
  });

  it('serves many connections at once', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 16, ca: d.ca });
    try {
      const all = await Promise.all(Array.from({ length: 200 }, (_, i) => request(d, {
        path: `/enrollments/dev${i}`, agent: i % 2 ? agent : false,
      })));
      assert.deepEqual([...new Set(all.map((r) => r.status))], [401]);
    } finally {
      agent.destroy();
    }
  });

  it('cuts a client that stalls in its header, serving others meanwhile', async () => {
    const slow = await tlsConnect(d);
    const done = closed(slow);
    slow.write('GET /enrollments/x HTTP/1.1\r\nHost: local');
    const r = await request(d, { path: '/enrollments/x' });
    assert.equal(r.status, 401);
    assert.equal(await done, '');
  });

  it('cuts a client that sends its header a byte at a time', async () => {
    const slow = await tlsConnect(d);
    const done = closed(slow);
    const text = 'GET /enrollments/x HTTP/1.1\r\nHost: localhost\r\nX-Pad: ' + 'a'.repeat(200);
    let i = 0;
    const timer = setInterval(() => {
      if (i < text.length && !slow.destroyed)
        slow.write(text[i++]);
    }, 100);
    try {
      assert.equal(await done, '');
    } finally {
      clearInterval(timer);
    }
  });

  it('cuts a client that never starts its TLS handshake', async () => {
    for (const port of [d.httpsPort, d.mqttPort]) {
      const s = net.connect({ host: '127.0.0.1', port });
      await new Promise((resolve, reject) => {
        s.once('connect', resolve);
        s.once('error', reject);
      });
      assert.equal(await closed(s), '');
    }
  });

  it('completes the TLS handshake on the MQTT port, then closes', async () => {
    const s = await tlsConnect(d, { port: d.mqttPort });
    assert.ok(s.authorized);
    assert.equal(await closed(s), '');
  });
});

describe('rollcalld on IPv6', () => {
  it('names [::1]:port in its readiness line', async () => {
    const d6 = await startDaemon({ conf: { listen: '::1 127.0.0.1' } });
    try {
      assert.match(d6.readyLine, /^rollcalld ready https=\[::1\]:\d+ mqtt=\[::1\]:\d+$/);
      const r = await request(d6, { path: '/enrollments/x' });
      assert.equal(r.status, 401);
    } finally {
      await d6.stop();
    }
  });
});

describe('rollcalld out of file descriptors', () => {
  it('pauses accepting instead of spinning, then serves again', async () => {
    const d = await startDaemon({ wrap: ['prlimit', '--nofile=48:48', '--'] });
    const socks = [];
    try {
      for (let i = 0; i < 60; i++) {
        const s = net.connect({ host: '127.0.0.1', port: d.httpsPort });
        s.on('error', () => {});
        socks.push(s);
      }
      await waitForLog(d, /accept: Too many open files; pausing accepts/);
    } finally {
      for (const s of socks)
        s.destroy();
    }
    const r = await request(d, { path: '/enrollments/x' });
    assert.equal(r.status, 401);
    const { code, stderr } = await d.stop();
    assert.equal(code, 0);
    assert.doesNotMatch(stderr, /Error from accept/);
    // One line per pause of 100 ms per worker, not one per attempt.
    assert.ok(stderr.split('pausing accepts').length < 200, stderr);
  });
});

describe('rollcalld privileges', () => {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  it('runs as `user` after binding when started as root', { skip: !root && 'not root' }, async () => {
    const dir = tmpdir();
    fs.chmodSync(dir, 0o711); // nobody must reach db/
    const dbdir = path.join(dir, 'db');
    fs.mkdirSync(dbdir);
    const nobody = Number(runIdU('nobody'));
    fs.chownSync(dbdir, nobody, nobody);
    const d = await startDaemon({
      conf: { user: 'nobody', store: `sqlite:${path.join(dbdir, 'rollcall.db')}` },
    });
    const status = fs.readFileSync(`/proc/${d.pid}/status`, 'utf8');
    assert.match(status, new RegExp(`^Uid:\\t${nobody}\\t${nobody}\\t${nobody}\\t${nobody}$`, 'm'));
    assert.equal((await request(d, { path: '/enrollments/x' })).status, 401);
    const { code } = await d.stop();
    assert.equal(code, 0);
  });
});

function runIdU(user) {
  return execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim();
}

describe('rollcalld stop', () => {
  it('exits 0 on SIGTERM with an idle keep-alive connection open', async () => {
    const d = await startDaemon();
    const agent = new https.Agent({ keepAlive: true });
    const r = await request(d, { path: '/enrollments/x', agent });
    assert.equal(r.status, 401);
    const { code, signal, stderr } = await d.stop('SIGTERM');
    agent.destroy();
    assert.equal(signal, null);
    assert.equal(code, 0);
    assert.match(stderr, /rollcalld: stopped/);
  });

  it('finishes a request in flight before exiting', async () => {
    const d = await startDaemon();
    const s = await tlsConnect(d);
    const answer = closed(s);
    const body = '{"registrationId":"x"}';
    await new Promise((resolve) => s.write('PUT /enrollments/x HTTP/1.1\r\nHost: localhost\r\n' +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n` +
      body.slice(0, 5), resolve));
    // Sent, so in flight, whether or not the daemon has read it yet.
    process.kill(d.pid, 'SIGTERM');
    await waitForLog(d, /SIGTERM: stopping/);
    s.write(body.slice(5));
    const text = await answer;
    assert.match(text, /^HTTP\/1\.1 401 /);
    assert.match(text, /\r\nConnection: close\r\n/i);
    const { code, signal, stderr } = await d.stop();
    assert.equal(code, 0, `signal ${signal}\n${stderr}`);
    assert.match(stderr, /rollcalld: stopped/);
  });
});

describe('rollcalld -n', () => {
  it('says "configuration OK" for a good config', () => {
    const dir = tmpdir();
    const conf = writeConf(dir, makePki(dir));
    const r = runDaemonSync(['-n', '-f', conf.path]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'configuration OK\n');
  });

  it('names FILE:LINE of a bad line and exits 1', () => {
    const dir = tmpdir();
    const conf = writeConf(dir, makePki(dir), { 'https-port': '70000' });
    const lines = fs.readFileSync(conf.path, 'utf8').split('\n');
    const n = lines.findIndex((l) => l.startsWith('https-port')) + 1;
    const r = runDaemonSync(['-n', '-f', conf.path]);
    assert.equal(r.status, 1);
    assert.ok(r.stderr.includes(`${conf.path}:${n}:`), r.stderr);
    assert.equal(r.stdout, '');
  });

  it('refuses a key file others can read', () => {
    const dir = tmpdir();
    const pki = makePki(dir);
    const conf = writeConf(dir, pki);
    fs.chmodSync(pki.key, 0o644);
    const r = runDaemonSync(['-n', '-f', conf.path]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /tls-key: .*mode 644/);
  });

  it('refuses a missing certificate file', () => {
    const dir = tmpdir();
    const conf = writeConf(dir, makePki(dir), { 'tls-cert': path.join(dir, 'none.pem') });
    const r = runDaemonSync(['-n', '-f', conf.path]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /tls-cert: .*none\.pem: No such file/);
  });
});
