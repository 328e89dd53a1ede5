// The hub commands of the rollcall CLI (device, twin, method, job,
// events) against a real rollcalld made by `rollcall init`; telemetry comes
// from an independent MQTT client (Debian mosquitto-clients) with a
// self-signed certificate made by openssl(1).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { ROLLCALL, tmpdir, startDaemon as harnessStartDaemon } from './harness.mjs';
import { methodDevice } from './mqtt_device.mjs';

const haveMosquitto = spawnSync('mosquitto_pub', ['--help']).error === undefined;

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60000, ...opts });
  if (r.error)
    throw r.error;
  return r;
}

function must(cmd, args, opts) {
  const r = run(cmd, args, opts);
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

// rollcalld on DIR/rollcall.conf through the harness (stopped by pid,
// always); port is its HTTPS port.
async function startDaemon(dir) {
  const d = await harnessStartDaemon({ confFile: path.join(dir, 'rollcall.conf') });
  d.port = d.httpsPort;
  return d;
}

// A self-signed device certificate with CN = id: {cert, key, sha256}.
function selfSigned(work, id) {
  const cert = path.join(work, `${id}.pem`);
  const key = path.join(work, `${id}.key`);
  must('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${id}`]);
  const out = must('openssl', ['x509', '-in', cert, '-noout', '-fingerprint', '-sha256']);
  return { cert, key, sha256: out.trim().split('=')[1].replace(/:/g, '').toUpperCase() };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('rollcall hub commands against rollcalld', () => {
  let work;
  let dir;
  let d;
  let cs;
  let common;

  const rc = (...args) => run(ROLLCALL, [...args, ...common]);
  const ok = (...args) => {
    const r = rc(...args);
    assert.equal(r.status, 0, `rollcall ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const json = (...args) => JSON.parse(ok(...args, '--json'));

  before(async () => {
    work = tmpdir();
    dir = path.join(work, 'data');
    must(ROLLCALL, ['init', dir, '--hostname', 'localhost', '--hostname', '127.0.0.1',
      '--listen', '127.0.0.1', '--https-port', '0', '--mqtt-port', '0']);
    // One worker: a method call and the device's session share its loop.
    const conf = path.join(dir, 'rollcall.conf');
    fs.writeFileSync(conf, fs.readFileSync(conf, 'utf8').replace(/^workers .*$/m, 'workers 1'));
    d = await startDaemon(dir);
    const conn = JSON.parse(fs.readFileSync(path.join(dir, 'connections.json'), 'utf8'));
    cs = conn.hubs[0].connectionString.replace('HostName=localhost;', `HostName=localhost:${d.port};`);
    assert.notEqual(cs, conn.hubs[0].connectionString);
    common = ['--connection-string', cs, '--data', dir];
  });

  after(async () => {
    await d?.stop();
    if (work)
      fs.rmSync(work, { recursive: true, force: true });
  });

  it('creates, shows, lists, updates, disables, enables and deletes a device', () => {
    const a = selfSigned(work, 'dev-a');
    const b = selfSigned(work, 'dev-b');
    assert.match(ok('device', 'create', 'dev-a', '--cert', a.cert), /created device dev-a/);
    let dev = json('device', 'show', 'dev-a');
    assert.equal(dev.deviceId, 'dev-a');
    assert.equal(dev.status, 'enabled');
    assert.equal(dev.authentication.type, 'selfSigned');
    assert.equal(dev.authentication.x509Thumbprint.primaryThumbprint, a.sha256);
    assert.match(ok('device', 'show', 'dev-a'), /^primary thumbprint\s+[0-9A-F]{64}$/m);

    ok('device', 'create', 'dev-ca', '--ca-signed', '--disabled');
    const r = rc('device', 'create', 'dev-a', '--thumbprint', a.sha256);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^rollcall: 409 Conflict: /m);

    const list = json('device', 'list');
    assert.deepEqual(list.map((x) => x.deviceId), ['dev-a', 'dev-ca']);
    assert.match(ok('device', 'list'), /^DEVICE ID\s+STATUS/m);
    assert.equal(json('device', 'list', '--max', '1').length, 1);

    ok('device', 'update', 'dev-a', '--secondary-cert', b.cert);
    dev = json('device', 'show', 'dev-a');
    assert.equal(dev.authentication.x509Thumbprint.primaryThumbprint, a.sha256);
    assert.equal(dev.authentication.x509Thumbprint.secondaryThumbprint, b.sha256);
    ok('device', 'update', 'dev-a', '--thumbprint', b.sha256, '--remove-secondary');
    dev = json('device', 'show', 'dev-a');
    assert.equal(dev.authentication.x509Thumbprint.primaryThumbprint, b.sha256);
    assert.equal(dev.authentication.x509Thumbprint.secondaryThumbprint ?? null, null);

    assert.match(ok('device', 'disable', 'dev-a'), /disabled device dev-a/);
    assert.equal(json('device', 'show', 'dev-a').status, 'disabled');
    ok('device', 'enable', 'dev-a');
    assert.equal(json('device', 'show', 'dev-a').status, 'enabled');

    ok('device', 'delete', 'dev-a');
    ok('device', 'delete', 'dev-ca');
    const gone = rc('device', 'show', 'dev-a');
    assert.equal(gone.status, 1);
    assert.match(gone.stderr, /^rollcall: 404 Not Found: /m);
  });

  it('updates a twin and shows it', () => {
    const t = selfSigned(work, 'dev-t');
    ok('device', 'create', 'dev-t', '--thumbprint', t.sha256);
    ok('twin', 'update', 'dev-t', '--desired', '{"interval":5}', '--tags', '{"site":"lab"}');
    const twin = json('twin', 'show', 'dev-t');
    assert.equal(twin.properties.desired.interval, 5);
    assert.equal(twin.tags.site, 'lab');
    const text = ok('twin', 'show', 'dev-t');
    assert.match(text, /"interval":5/);
    assert.match(text, /"site":"lab"/);
    const bad = rc('twin', 'update', 'dev-t', '--desired', '[1]');
    assert.equal(bad.status, 2);
  });

  it('invoking a method on an offline device fails with "not online"', () => {
    const t = selfSigned(work, 'dev-m');
    ok('device', 'create', 'dev-m', '--thumbprint', t.sha256);
    const r = rc('method', 'invoke', 'dev-m', 'reboot', '--payload', '{"now":true}', '--timeout', '5');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /not online/);
  });

  // The call waits off the event loops, so it works whichever worker
  // serves the device's session.
  it('invokes a method on a connected device and prints its answer', async () => {
    const t = selfSigned(work, 'dev-on');
    ok('device', 'create', 'dev-on', '--cert', t.cert);
    const conn = JSON.parse(fs.readFileSync(path.join(dir, 'connections.json'), 'utf8'));
    const dev = await methodDevice(d.mqttPort, conn.trustBundle, t, 'dev-on');
    try {
      // The CLI waits in a child process: the device answers meanwhile.
      const call = (args) => new Promise((resolve) => {
        const child = spawn(ROLLCALL, [...args, ...common], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '', err = '';
        child.stdout.on('data', (x) => { out += x; });
        child.stderr.on('data', (x) => { err += x; });
        child.on('exit', (status) => resolve({ status, stdout: out, stderr: err }));
      });
      let r = await call(['method', 'invoke', 'dev-on', 'reboot', '--payload', '{"now":true}', '--json']);
      assert.equal(r.status, 0, r.stderr + d.stderr().slice(-3000));
      assert.deepEqual(JSON.parse(r.stdout), { status: 201, payload: { echo: { now: true }, method: 'reboot' } });
      r = await call(['method', 'invoke', 'dev-on', 'ping', '--timeout', '5']);
      assert.equal(r.status, 0, r.stderr + d.stderr().slice(-3000));
      assert.match(r.stdout, /^status\s+201$/m);
      assert.match(r.stdout, /^payload\s+\{"echo":null,"method":"ping"\}$/m, r.stdout);
      assert.equal(json('device', 'show', 'dev-on').connectionState, 'Connected');
    } finally {
      dev.sock.destroy();
    }
  });

  it('runs a method job over an offline device and lists it', async () => {
    const t = selfSigned(work, 'dev-j');
    ok('device', 'create', 'dev-j', '--thumbprint', t.sha256);
    const job = json('job', 'create', 'job-1', '--query', "deviceId = 'dev-j'",
      '--method', 'reboot', '--timeout', '5');
    assert.equal(job.jobId, 'job-1');
    let j;
    for (let i = 0; i < 100; i++) {
      j = json('job', 'show', 'job-1');
      if (j.status === 'completed' || j.status === 'failed')
        break;
      await sleep(100);
    }
    assert.equal(j.status, 'completed');
    assert.equal(j.deviceJobStatistics.failedCount, 1);
    assert.match(ok('job', 'show', 'job-1'), /^failed\s+1$/m);
    const all = json('job', 'list');
    assert.ok(all.some((x) => x.jobId === 'job-1'));
    assert.match(ok('job', 'list', '--type', 'scheduleDeviceMethod'), /job-1/);
    assert.doesNotMatch(ok('job', 'list', '--type', 'scheduleUpdateTwin'), /job-1/);
    // A job that has ended cannot be cancelled.
    const c = rc('job', 'cancel', 'job-1');
    assert.equal(c.status, 1);
    assert.match(c.stderr, /^rollcall: 400 Bad Request/m);
    const missing = rc('job', 'show', 'no-such-job');
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^rollcall: 404 Not Found/m);
  });

  it('runs a twin job that sets desired properties', async () => {
    const t = selfSigned(work, 'dev-tj');
    ok('device', 'create', 'dev-tj', '--thumbprint', t.sha256);
    ok('job', 'create', 'job-2', '--query', "deviceId = 'dev-tj'", '--desired', '{"mode":"eco"}');
    let j;
    for (let i = 0; i < 100; i++) {
      j = json('job', 'show', 'job-2');
      if (j.status === 'completed' || j.status === 'failed')
        break;
      await sleep(100);
    }
    assert.equal(j.status, 'completed');
    assert.equal(j.type, 'scheduleUpdateTwin');
    assert.equal(j.deviceJobStatistics.succeededCount, 1);
    assert.equal(json('twin', 'show', 'dev-tj').properties.desired.mode, 'eco');
  });

  it('tails the telemetry a device sent', { skip: !haveMosquitto && 'no mosquitto_pub' }, () => {
    const t = selfSigned(work, 'dev-e');
    ok('device', 'create', 'dev-e', '--cert', t.cert);
    const conn = JSON.parse(fs.readFileSync(path.join(dir, 'connections.json'), 'utf8'));
    must('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(d.mqttPort), '--cafile', conn.trustBundle,
      '--cert', t.cert, '--key', t.key, '-i', 'dev-e',
      '-u', 'localhost/dev-e/?api-version=2021-04-12', '-q', '1',
      '-t', 'devices/dev-e/messages/events/color=blue', '-m', '{"temp":21}']);
    const bin = path.join(work, 'bin.dat');
    fs.writeFileSync(bin, Buffer.from([0x00, 0xff, 0x41]));
    must('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(d.mqttPort), '--cafile', conn.trustBundle,
      '--cert', t.cert, '--key', t.key, '-i', 'dev-e',
      '-u', 'localhost/dev-e/?api-version=2021-04-12', '-q', '1',
      '-t', 'devices/dev-e/messages/events/', '-f', bin]);
    const out = ok('events', 'tail');
    assert.match(out, /^\d+ \S+ dev-e \{"color":"blue"\} \{"temp":21\}$/m);
    assert.match(out, /^\d+ \S+ dev-e \{\} base64:AP9B$/m);
    assert.equal(ok('events', 'tail', '-n', '1').trim().split('\n').length, 1);
    const ev = ok('events', 'tail', '--after', '0', '-n', '5', '--json').trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(ev.some((e) => e.deviceId === 'dev-e' && e.body?.temp === 21));
  });

  it('follows the telemetry log', { skip: !haveMosquitto && 'no mosquitto_pub' }, async () => {
    const t = selfSigned(work, 'dev-f');
    ok('device', 'create', 'dev-f', '--cert', t.cert);
    const last = ok('events', 'tail', '--json', '-n', '1').trim().split('\n').filter(Boolean)
      .map((l) => JSON.parse(l));
    const after = last.length ? last[0].sequenceNumber : 0;
    const child = spawn(ROLLCALL, ['events', 'tail', '--follow', '--after', String(after), ...common],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (x) => { out += x; });
    const exited = new Promise((res) => child.on('exit', res));
    try {
      await sleep(500);
      const conn = JSON.parse(fs.readFileSync(path.join(dir, 'connections.json'), 'utf8'));
      must('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(d.mqttPort), '--cafile', conn.trustBundle,
        '--cert', t.cert, '--key', t.key, '-i', 'dev-f',
        '-u', 'localhost/dev-f/?api-version=2021-04-12', '-q', '1',
        '-t', 'devices/dev-f/messages/events/', '-m', 'hello follow']);
      for (let i = 0; i < 100 && !/dev-f \{\} hello follow/.test(out); i++)
        await sleep(100);
      assert.match(out, /^\d+ \S+ dev-f \{\} hello follow$/m);
    } finally {
      process.kill(child.pid, 'SIGTERM');
      await exited;
    }
  });

  it('takes the hub from ROLLCALL_HUB_CONNECTION_STRING', () => {
    const r = run(ROLLCALL, ['device', 'list', '--cacert', path.join(dir, 'ca/root.pem'), '--json'],
      { env: { ...process.env, ROLLCALL_HUB_CONNECTION_STRING: cs } });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(Array.isArray(JSON.parse(r.stdout)));
  });

  it('picks a hub of the data directory by --hub', () => {
    const r = run(ROLLCALL, ['device', 'list', '--data', dir, '--hub', 'no-such-hub']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no connection string of hub 'no-such-hub'/);
    // The named hub is found; the data directory's port 0 is then the problem.
    const conn = JSON.parse(fs.readFileSync(path.join(dir, 'connections.json'), 'utf8'));
    const named = run(ROLLCALL, ['device', 'list', '--data', dir, '--hub', conn.hubs[0].name.toUpperCase()]);
    assert.equal(named.status, 1);
    assert.match(named.stderr, /https-port is 0/);
  });

  it('exits 2 on usage errors and 0 on --help', () => {
    for (const args of [['device', 'create', 'x'], ['device', 'create'],
      ['device', 'create', 'x', '--thumbprint', 'abc'],
      ['device', 'create', 'x', '--ca-signed', '--thumbprint', 'A'.repeat(64)],
      ['device', 'update', 'x'], ['device', 'list', '--max', '0'],
      ['twin', 'update', 'x'], ['twin', 'update', 'x', '--tags', 'nope'],
      ['method', 'invoke', 'x'], ['method', 'invoke', 'x', 'm', '--payload', '{'],
      ['job', 'create', 'j', '--method', 'm'], ['job', 'create', 'j', '--query', '*'],
      ['job', 'list', '--type', 'a b'], ['events', 'tail', '-n', '0'],
      ['events', 'tail', 'extra'], ['device', 'frobnicate']]) {
      const r = run(ROLLCALL, [...args, ...common]);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    }
    for (const g of ['device', 'twin', 'method', 'job', 'events']) {
      const r = run(ROLLCALL, [g, '--help']);
      assert.equal(r.status, 0);
    }
    for (const args of [['device', 'create', '--help'], ['twin', 'update', '--help'],
      ['method', 'invoke', '--help'], ['job', 'create', '--help'], ['events', 'tail', '--help']]) {
      const r = run(ROLLCALL, args);
      assert.equal(r.status, 0, args.join(' '));
      assert.match(r.stdout, /^usage: rollcall /);
    }
  });
});
