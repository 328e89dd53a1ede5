// rollcall-agent against a real rollcalld made by `rollcall init` (issue 6):
// first boot, renewal at a lifetime threshold with 60-second certificates,
// CONNACK 5 after the operator deletes the hub identity, the reprovision
// and rollCertificate methods through `rollcall method invoke`, a pushed
// certificate installed (installCertificate) and one the hub refuses
// (rolled back, still connected), and kill -9 during renewals.
//
// The agent's log lines are its observable state: "hub: connected to",
// "roll: committed", "roll: ... failed, rolling back".  The hub's view
// (twin reported properties) is read with the rollcall CLI.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startDaemon, tmpdir, ROLLCALL } from './harness.mjs';

const AGENT = process.env.ROLLCALL_AGENT;
const agents = new Set();

function must(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60000 });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

// A data directory with its own rollcalld; extra lines go to rollcall.conf.
async function server(extra = '') {
  const work = tmpdir();
  const data = path.join(work, 'data');
  must(ROLLCALL, ['init', data, '--hostname', '127.0.0.1', '--listen', '127.0.0.1',
    '--https-port', '0', '--mqtt-port', '0']);
  const conf = path.join(data, 'rollcall.conf');
  fs.appendFileSync(conf, extra);
  const d = await startDaemon({ confFile: conf });
  const conn = JSON.parse(fs.readFileSync(path.join(data, 'connections.json'), 'utf8'));
  const port = (cs) => cs.replace('HostName=127.0.0.1;', `HostName=127.0.0.1:${d.httpsPort};`);
  const s = { work, data, d, conn, dps: port(conn.dps.connectionString), hub: port(conn.hubs[0].connectionString) };
  s.rc = (...args) => must(ROLLCALL, [...args, '--data', data]);
  s.hubcli = (...args) => s.rc(...args, '--connection-string', s.hub);
  // A direct method; the hub may not have the session a moment after
  // CONNACK (subscriptions in flight), so DeviceNotOnline is retried.
  s.invoke = async (...args) => {
    const argv = ['method', 'invoke', ...args, '--data', data, '--connection-string', s.hub];
    for (let i = 0; ; i++) {
      const r = spawnSync(ROLLCALL, argv, { encoding: 'utf8', timeout: 60000 });
      if (r.status === 0)
        return r.stdout;
      if (!/not online/.test(r.stderr) || i >= 100)
        throw new Error(`rollcall ${argv.join(' ')}: ${r.stderr}`);
      await new Promise((res) => setTimeout(res, 200));
    }
  };
  s.rc('group', 'create', 'fleet', '--primary-cert', path.join(data, 'ca/devices/ca.pem'),
    '--connection-string', s.dps);
  return s;
}

// A device: bootstrap certificate from the device CA, its agent process.
function device(s, id, flags = []) {
  const out = path.join(s.work, id);
  must(ROLLCALL, ['ca', 'issue', '--ca', path.join(s.data, 'ca/devices'), '--cn', id, '--out', out]);
  const dev = {
    id, state: path.join(s.work, `${id}-state`), log: '', child: null,
    argv: ['-d', '-v', '--state-dir', path.join(s.work, `${id}-state`), '--id-scope', s.conn.idScope,
      '--registration-id', id, '--dps-host', '127.0.0.1', '--dps-port', String(s.d.mqttPort),
      '--trust-bundle', s.conn.trustBundle, '--bootstrap-cert', `${out}-chain.pem`,
      '--bootstrap-key', `${out}.key`, '--telemetry-interval', '1s', '--backoff-min', '1s',
      '--backoff-max', '4s', ...flags],
  };
  dev.start = () => {
    dev.child = spawn(AGENT, dev.argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    agents.add(dev.child);
    dev.child.stderr.setEncoding('utf8');
    dev.child.stderr.on('data', (x) => { dev.log += x; });
    dev.child.on('exit', () => agents.delete(dev.child));
    return dev;
  };
  dev.kill = (sig = 'SIGTERM') => new Promise((resolve) => {
    if (!dev.child || dev.child.exitCode !== null || dev.child.signalCode !== null)
      return resolve();
    dev.child.once('exit', () => resolve());
    dev.child.kill(sig);
  });
  // Waits until the log, from offset on, matches re; returns the new offset.
  dev.wait = async (re, from = 0, ms = 60000) => {
    const end = Date.now() + ms;
    for (;;) {
      const m = re.exec(dev.log.slice(from));
      if (m)
        return from + m.index + m[0].length;
      if (Date.now() > end)
        throw new Error(`agent ${id}: no ${re} within ${ms} ms; log:\n${dev.log.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  dev.active = () => JSON.parse(fs.readFileSync(path.join(dev.state, 'state.json'), 'utf8')).active;
  return dev;
}

const reported = (s, id) => JSON.parse(s.hubcli('twin', 'show', id, '--json')).properties.reported;

after(async () => {
  for (const c of agents)
    c.kill('SIGKILL');
});

describe('rollcall-agent', { skip: !AGENT && 'ROLLCALL_AGENT is not set' }, () => {
  let s;
  before(async () => { s = await server(); });
  after(async () => { await s?.d.stop(); });

  it('provisions on first boot, sends telemetry and reports its certificate', async () => {
    const dev = device(s, 'boot-1').start();
    let at = await dev.wait(/dps: assigned to 127\.0\.0\.1 as boot-1/);
    at = await dev.wait(/hub: connected to 127\.0\.0\.1 with slot a/, at);
    await dev.wait(/telemetry 2 sent/, at);
    const r = reported(s, 'boot-1');
    assert.equal(r.certificate.slot, 'a');
    assert.match(r.certificate.thumbprint, /^[0-9A-F]{64}$/);
    await dev.kill();
  });

  it('reprovisions after CONNACK 5 when its hub identity is deleted', async () => {
    const dev = device(s, 'del-1').start();
    let at = await dev.wait(/hub: connected to/);
    s.hubcli('device', 'delete', 'del-1');
    at = await dev.wait(/refused the certificate \(CONNACK 5\): reprovisioning/, at);
    at = await dev.wait(/dps: assigned to/, at);
    await dev.wait(/hub: connected to/, at);
    await dev.kill();
  });

  it('runs the reprovision and rollCertificate methods', async () => {
    const dev = device(s, 'meth-1').start();
    let at = await dev.wait(/hub: connected to .* slot a/);
    assert.match(await s.invoke('meth-1', 'reprovision'), /200/);
    at = await dev.wait(/dps: assigned to/, at);
    at = await dev.wait(/hub: connected to/, at);
    assert.match(await s.invoke('meth-1', 'rollCertificate', '--payload', '{"keepKey":false}'), /200/);
    at = await dev.wait(/roll: committed, connected to .* slot b/, at);
    assert.equal(dev.active(), 'b');
    await dev.wait(/telemetry \d+ sent/, at);
    assert.match(await s.invoke('meth-1', 'noSuchMethod'), /404/);
    // the reported patch is acknowledged, or sent again until it is
    let r;
    for (let i = 0; i < 50; i++) {
      r = reported(s, 'meth-1');
      if (r.certificate.slot === 'b')
        break;
      await new Promise((res) => setTimeout(res, 200));
    }
    assert.equal(r.certificate.slot, 'b');
    assert.equal(r.certificate.lastRoll.result, 'ok');
    await dev.kill();
  });

  it('installs a pushed certificate, and rolls back one the hub refuses', async () => {
    const dev = device(s, 'push-1').start();
    let at = await dev.wait(/hub: connected to .* slot a/);
    // The operator re-signs a CSR for the key the device holds (S4b).
    const key = path.join(dev.state, 'a', 'key.pem');
    const issue = (name) => {
      const csr = path.join(s.work, `${name}.csr`);
      const pem = path.join(s.work, `${name}.pem`);
      const ext = path.join(s.work, 'leaf.ext');
      fs.writeFileSync(ext, 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' +
        'extendedKeyUsage=clientAuth\n');
      must('openssl', ['req', '-new', '-key', key, '-subj', '/CN=push-1', '-out', csr]);
      must('openssl', ['x509', '-req', '-in', csr, '-CA', path.join(s.data, 'ca/devices/ca.pem'),
        '-CAkey', path.join(s.data, 'ca/devices/ca.key'), '-CAcreateserial', '-days', '2',
        '-extfile', ext, '-out', pem]);
      return { pem, chain: fs.readFileSync(pem, 'utf8') + fs.readFileSync(path.join(s.data, 'ca/devices/ca.pem'), 'utf8') };
    };
    // Refused: the hub does not know the new certificate.
    const bad = issue('push-bad');
    assert.match(await s.invoke('push-1', 'installCertificate', '--payload',
      JSON.stringify({ pem: bad.chain })), /200/);
    at = await dev.wait(/roll: install failed, rolling back to slot a/, at);
    at = await dev.wait(/hub: connected to .* slot a/, at);
    assert.equal(dev.active(), 'a');
    await dev.wait(/telemetry \d+ sent/, at);
    assert.equal(reported(s, 'push-1').certificate.lastRoll.result, 'failed');
    // A chain for another key is refused before anything changes.
    const other = path.join(s.work, 'other');
    must(ROLLCALL, ['ca', 'issue', '--ca', path.join(s.data, 'ca/devices'), '--cn', 'push-1', '--out', other]);
    assert.match(await s.invoke('push-1', 'installCertificate', '--payload',
      JSON.stringify({ pem: fs.readFileSync(`${other}-chain.pem`, 'utf8') })), /400/);
    // Accepted: the operator puts it in the identity's secondary slot first.
    const good = issue('push-good');
    s.hubcli('device', 'update', 'push-1', '--secondary-cert', good.pem);
    assert.match(await s.invoke('push-1', 'installCertificate', '--payload',
      JSON.stringify({ pem: good.chain })), /200/);
    await dev.wait(/roll: committed, connected to .* slot b/, at);
    assert.equal(dev.active(), 'b');
    await dev.kill();
  });
});

describe('rollcall-agent with 60-second certificates', { skip: !AGENT && 'ROLLCALL_AGENT is not set' }, () => {
  let s;
  before(async () => { s = await server('device-cert-validity 60s\n'); });
  after(async () => { await s?.d.stop(); });

  it('renews by itself at 50% and keeps sending', async () => {
    const dev = device(s, 'auto-1', ['--renew-threshold', '50']).start();
    let at = await dev.wait(/hub: connected to .* slot a/);
    // The bootstrap certificate lives for days: the first roll is asked for.
    await s.invoke('auto-1', 'rollCertificate');
    at = await dev.wait(/roll: committed, connected to .* slot b/, at);
    // Then 60-second certificates: renewed at about 30 s, twice.
    at = await dev.wait(/past 50% of its lifetime/, at, 60000);
    at = await dev.wait(/roll: committed, connected to .* slot a/, at);
    at = await dev.wait(/past 50% of its lifetime/, at, 60000);
    at = await dev.wait(/roll: committed, connected to .* slot b/, at);
    await dev.wait(/telemetry \d+ sent/, at);
    assert.doesNotMatch(dev.log, /failed/);
    await dev.kill();
  });

  it('comes back on a working certificate after kill -9 during renewals (20 times)', async () => {
    const dev = device(s, 'kill-1', ['--renew-threshold', '90']).start();
    await dev.wait(/hub: connected to/);
    for (let i = 0; i < 20; i++) {
      const from = dev.log.length;
      try {
        await s.invoke('kill-1', 'rollCertificate', '--timeout', '5');
      } catch (e) {
        throw new Error(`loop ${i}: ${e.message}\nagent log:\n${dev.log.slice(-3000)}`);
      }
      // a random point of the renewal: it takes about 2-3 s (key, CSR,
      // DPS with one poll, reconnect, commit)
      await dev.wait(/roll: renew into slot/, from, 30000);
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 3000)));
      await dev.kill('SIGKILL');
      const restart = dev.log.length;
      dev.start();
      const at = await dev.wait(/hub: connected to/, restart, 60000);
      await dev.wait(/telemetry \d+ sent/, at, 30000);
      assert.ok(dev.log.length > from);
    }
    // every loop killed an agent that had started a renewal; some of
    // them came back through CONNACK 5 and a reprovision
    assert.ok(dev.log.match(/roll: renew into slot/g).length >= 20);
    await dev.kill();
  });
});
