// The rolling playbook commands (issue 7) against a real rollcalld made by
// `rollcall init`: roll individual (expiry through the free slot,
// --finish, breach with the hub identity deleted), disallow (a device of
// a group, and a certificate), report expiring, and roll fleet over
// devices that answer direct methods (paced waves, abort past
// --max-failures, resume from the state file).  Devices register over
// HTTPS with node's https module; the method devices are the raw MQTT
// clients of mqtt_device.mjs.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { ROLLCALL, startDaemon, tmpdir } from './harness.mjs';
import { methodDevice } from './mqtt_device.mjs';

const API = 'api-version=2019-03-31';

function run(args) {
  return spawnSync(ROLLCALL, args, { encoding: 'utf8', timeout: 120000 });
}

// The same without blocking this process, whose own MQTT devices must
// answer meanwhile.
function runAsync(args) {
  return new Promise((resolve) => {
    const child = spawn(ROLLCALL, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (x) => { stdout += x; });
    child.stderr.on('data', (x) => { stderr += x; });
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('rolling playbooks', () => {
  let work, data, d, ca, scope;
  const file = (n) => path.join(work, n);
  const rc = (...args) => {
    const r = run([...args, '--data', data]);
    assert.equal(r.status, 0, `rollcall ${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  const rcFail = (...args) => {
    const r = run([...args, '--data', data]);
    assert.notEqual(r.status, 0, `rollcall ${args.join(' ')} succeeded: ${r.stdout}`);
    return r;
  };
  const issue = (id, out) => {
    const r = spawnSync(ROLLCALL, ['ca', 'issue', '--ca', path.join(data, 'ca', 'devices'), '--cn', id,
      '--out', file(out ?? id)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };
  const sha = (f) => spawnSync('openssl', ['x509', '-in', f, '-noout', '-fingerprint', '-sha256'],
    { encoding: 'utf8' }).stdout.trim().split('=')[1].replace(/:/g, '');

  before(async () => {
    work = tmpdir();
    data = path.join(work, 'data');
    const r = run(['init', data, '--hostname', 'localhost', '--hostname', '127.0.0.1',
      '--listen', '127.0.0.1', '--https-port', '0', '--mqtt-port', '0', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const conn = JSON.parse(r.stdout);
    ca = conn.trustBundle;
    scope = conn.idScope;
    d = await startDaemon({ confFile: path.join(data, 'rollcall.conf') });
    const cj = JSON.parse(fs.readFileSync(path.join(data, 'connections.json'), 'utf8'));
    cj.dps.httpsPort = d.httpsPort;
    fs.writeFileSync(path.join(data, 'connections.json'), JSON.stringify(cj));
  });

  function call(method, p, body, who) {
    return new Promise((resolve, reject) => {
      const req = https.request({
        host: '127.0.0.1', port: d.httpsPort, method, path: p, ca: fs.readFileSync(ca), servername: 'localhost',
        cert: fs.readFileSync(file(`${who}.pem`)), key: fs.readFileSync(file(`${who}.key`)),
        headers: { 'content-type': 'application/json' },
      }, (res) => {
        let text = '';
        res.on('data', (c) => { text += c; });
        res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  // Registers id with the certificate files named who; the last answer.
  async function register(id, who) {
    let r = await call('PUT', `/${scope}/registrations/${id}/register?${API}`, { registrationId: id }, who);
    for (let i = 0; r.status === 202 && i < 100; i++) {
      await new Promise((ok) => setTimeout(ok, 100));
      r = await call('GET', `/${scope}/registrations/${id}/operations/${r.json.operationId}?${API}`, undefined, who);
    }
    return r;
  }

  it('rolls an individual enrollment through the free slot, then finishes', async () => {
    issue('exp-1', 'exp-1-a');
    issue('exp-1', 'exp-1-b');
    rc('enrollment', 'create', 'exp-1', '--primary-cert', file('exp-1-a.pem'));
    assert.equal((await register('exp-1', 'exp-1-a')).json.status, 'assigned');
    let out = rc('roll', 'individual', 'exp-1', '--new-cert', file('exp-1-b.pem'), '--reason', 'expiry');
    assert.match(out, /secondary slot/);
    // Both certificates register while the roll is under way (S6, S8).
    assert.equal((await register('exp-1', 'exp-1-b')).json.status, 'assigned');
    assert.equal((await register('exp-1', 'exp-1-a')).json.status, 'assigned');
    // A third certificate has no free slot until the roll is finished.
    issue('exp-1', 'exp-1-c');
    rcFail('roll', 'individual', 'exp-1', '--new-cert', file('exp-1-c.pem'), '--reason', 'expiry');
    out = rc('roll', 'individual', 'exp-1', '--finish', '--new-cert', file('exp-1-b.pem'));
    assert.match(out, /removed the primary/);
    assert.equal((await register('exp-1', 'exp-1-a')).status, 401);
    assert.equal((await register('exp-1', 'exp-1-b')).json.status, 'assigned');
    // The next roll uses the slot that is free now.
    out = rc('roll', 'individual', 'exp-1', '--new-cert', file('exp-1-c.pem'), '--reason', 'expiry');
    assert.match(out, /primary slot/);
  });

  it('rolls a breached certificate: blocklisted, hub identity deleted, one registration', async () => {
    issue('br-1', 'br-1-old');
    issue('br-1', 'br-1-new');
    rc('enrollment', 'create', 'br-1', '--primary-cert', file('br-1-old.pem'));
    assert.equal((await register('br-1', 'br-1-old')).json.status, 'assigned');
    const before = JSON.parse(rc('registration', 'show', 'br-1', '--json'));
    const out = rc('roll', 'individual', 'br-1', '--new-cert', file('br-1-new.pem'), '--reason', 'breach',
      '--hub-action', 'delete');
    assert.match(out, new RegExp(`blocklisted ${sha(file('br-1-old.pem'))}`));
    assert.match(out, /deleted/);
    assert.equal(run(['device', 'show', 'br-1', '--data', data]).status, 1);
    const refused = await register('br-1', 'br-1-old');
    assert.equal(refused.status, 401);
    assert.equal((await register('br-1', 'br-1-new')).json.status, 'assigned');
    const after = JSON.parse(rc('registration', 'show', 'br-1', '--json'));
    assert.equal(after.createdDateTimeUtc, before.createdDateTimeUtc);
    // Even put back into an enrollment, the old certificate stays out.
    rc('enrollment', 'update', 'br-1', '--secondary-cert', file('br-1-old.pem'));
    assert.equal((await register('br-1', 'br-1-old')).status, 401);
  });

  it('disallows one device of a group, and a certificate', async () => {
    rc('group', 'create', 'fleet', '--primary-cert', path.join(data, 'ca', 'devices', 'ca.pem'));
    for (const id of ['g-1', 'g-2', 'g-3'])
      issue(id);
    for (const id of ['g-1', 'g-2', 'g-3'])
      assert.equal((await register(id, id)).json.status, 'assigned');
    const out = rc('disallow', 'g-1');
    assert.match(out, /disallowed/);
    assert.match(out, /disabled/);
    assert.equal((await register('g-1', 'g-1')).status, 401);
    assert.equal(JSON.parse(rc('device', 'show', 'g-1', '--json')).status, 'disabled');
    assert.equal((await register('g-2', 'g-2')).json.status, 'assigned');
    rc('disallow', '--cert', file('g-3.pem'));
    assert.equal((await register('g-3', 'g-3')).status, 401);
    assert.equal((await register('g-2', 'g-2')).json.status, 'assigned');
  });

  it('reports what expires within a window', () => {
    const rows = JSON.parse(rc('report', 'expiring', '--within', '400d', '--json'));
    const ids = rows.filter((r) => r.source === 'enrollment').map((r) => r.id);
    assert.ok(ids.includes('exp-1') && ids.includes('br-1'), JSON.stringify(rows));
    // The group's CA (five years) only shows in a wider window.
    assert.ok(!rows.some((r) => r.source === 'group'), JSON.stringify(rows));
    const wide = JSON.parse(rc('report', 'expiring', '--within', '2000d', '--json'));
    assert.ok(wide.some((r) => r.source === 'group' && r.id === 'fleet'), JSON.stringify(wide));
    for (let i = 1; i < rows.length; i++)
      assert.ok(rows[i - 1].secondsLeft <= rows[i].secondsLeft);
    assert.deepEqual(JSON.parse(rc('report', 'expiring', '--within', '1h', '--json')), []);
    const csv = rc('report', 'expiring', '--within', '400d', '--csv');
    assert.match(csv, /^source,id,detail,sha256,notAfter,secondsLeft\n"/);
    rcFail('report', 'expiring', '--within', 'soon');
  });

  it('rolls a fleet in paced waves, stops past --max-failures and resumes', async () => {
    const ids = ['f-1', 'f-2', 'f-3', 'f-4', 'f-5', 'f-6'];
    for (const id of ids) {
      issue(id);
      rc('device', 'create', id, '--cert', file(`${id}.pem`));
    }
    const devs = [];
    // f-6 stays offline; f-5 answers 500.
    for (const id of ids.slice(0, 5))
      devs.push(await methodDevice(d.mqttPort, ca, { cert: file(`${id}.pem`), key: file(`${id}.key`) }, id,
        { status: id === 'f-5' ? 500 : 200 }));
    try {
      const state = file('fleet.json');
      const q = "SELECT * FROM devices WHERE deviceId IN ['f-1','f-2','f-3','f-4','f-5','f-6']";
      let r = await runAsync(['roll', 'fleet', '--query', q, '--method', 'reprovision', '--rate', '20', '--wave-size', '2',
        '--canary', '1', '--max-failures', '100%', '--method-timeout', '2', '--state', state, '--data', data]);
      assert.equal(r.status, 1, r.stdout + r.stderr);
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
      const results = Object.fromEntries(lines.filter((l) => l.event === 'device').map((l) => [l.deviceId, l.result]));
      assert.deepEqual(results, { 'f-1': 'ok', 'f-2': 'ok', 'f-3': 'ok', 'f-4': 'ok', 'f-5': 'failed', 'f-6': 'failed' },
        r.stdout + r.stderr);
      assert.deepEqual(lines.filter((l) => l.event === 'wave').map((l) => l.devices), [1, 2, 2, 1]);
      assert.equal(lines.at(-1).event, 'summary');
      // Resume: only the two that failed are tried again.
      r = await runAsync(['roll', 'fleet', '--query', q, '--method', 'reprovision', '--max-failures', '100%',
        '--method-timeout', '2', '--state', state, '--data', data]);
      const again = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.event === 'device');
      assert.deepEqual(again.map((l) => l.deviceId).sort(), ['f-5', 'f-6']);
      // A low threshold stops after the canary wave when it fails.
      r = await runAsync(['roll', 'fleet', '--query', "SELECT * FROM devices WHERE deviceId = 'f-6'", '--method', 'reprovision',
        '--max-failures', '10%', '--method-timeout', '2', '--data', data]);
      assert.equal(r.status, 1);
      assert.match(r.stdout, /"aborted":false|"failed":1/);
    } finally {
      for (const dev of devs)
        dev.sock.destroy();
    }
  });
});
