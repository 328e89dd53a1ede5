// Scenario 1 of issue 7 with a device on the unmodified npm Azure SDKs
// (scenario_sdk_device.cjs): expiry roll of its individual enrollment
// through the secondary slot while it sends QoS 1 telemetry every 200 ms.
// The new certificate (same CN, a new key) is made by the operator; `roll
// individual --reason expiry` puts it in the free slot, the device
// registers with it (HTTPS) and moves its hub session, `--finish` removes
// the old one.  Expected: no message lost, no connection refused, one
// registration record, the old certificate refused after --finish.
//
// Port 443 on its own loopback address, 127.0.0.46 (the HTTPS transport
// of the provisioning SDK cannot use another port).
import { test, before } from 'node:test';
import assert from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dpsRegister, measure, server, sleep, telemetryOf } from '../e2e/scenario_lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const ADDR = '127.0.0.46';

before(() => {
  if (!fs.existsSync(path.join(here, 'node_modules', 'azure-iot-provisioning-device-mqtt'))) {
    const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: here, encoding: 'utf8' });
    assert.strictEqual(r.status, 0, r.stderr);
  }
});

test('scenario 1 with an Azure SDK device: expiry roll, nothing lost, nothing refused', async (t) => {
  if (process.getuid && process.getuid() !== 0) {
    t.skip('needs root to bind port 443 (the HTTPS transport cannot use another port)');
    return;
  }
  const t0 = Date.now();
  const s = await server({ addr: ADDR, ports: [443, 8883] });
  try {
    const a = await s.issue('sdk-1', 'sdk-1-a');
    const b = await s.issue('sdk-1', 'sdk-1-b');
    await s.rc('enrollment', 'create', 'sdk-1', '--primary-cert', a.pem);
    const child = spawn(process.execPath, [path.join(here, 'scenario_sdk_device.cjs')], {
      cwd: here, stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, NODE_EXTRA_CA_CERTS: s.ca, CA: s.ca, CERTS: s.work, DPS_HOST: ADDR,
        ID_SCOPE: s.scope, HUB_GATEWAY: `${ADDR}:8883`, DEVICE_ID: 'sdk-1', OLD: 'sdk-1-a', NEW: 'sdk-1-b' },
    });
    let stderr = '';
    child.stderr.on('data', (x) => { stderr += x; });
    const events = [];
    let wake = null;
    readline.createInterface({ input: child.stdout }).on('line', (l) => {
      events.push(JSON.parse(l));
      wake?.();
    });
    const exited = new Promise((ok) => child.on('exit', ok));
    const waitFor = async (name, ms = 60000) => {
      const end = Date.now() + ms;
      while (!events.some((e) => e.event === name)) {
        assert.ok(Date.now() < end && child.exitCode === null, `no ${name}: ${JSON.stringify(events)}\n${stderr}`);
        await Promise.race([new Promise((ok) => { wake = ok; }), sleep(200)]);
      }
      return events.find((e) => e.event === name);
    };
    await waitFor('connected');
    await sleep(2000);
    const first = JSON.parse(await s.rc('registration', 'show', 'sdk-1', '--json'));
    const tRoll = Date.now();
    assert.match(await s.rc('roll', 'individual', 'sdk-1', '--new-cert', b.pem, '--reason', 'expiry'), /secondary slot/);
    child.stdin.write('roll\n');
    const sw = await waitFor('switched');
    assert.match(await s.rc('roll', 'individual', 'sdk-1', '--finish', '--new-cert', b.pem), /removed the primary/);
    const rollMs = Date.now() - tRoll;
    await sleep(2000);
    child.stdin.write('stop\n');
    const done = await waitFor('done');
    await exited;
    const second = JSON.parse(await s.rc('registration', 'show', 'sdk-1', '--json'));
    const old = await dpsRegister(s, 'sdk-1', a);
    const tel = telemetryOf(await s.events())['sdk-1'];
    const m = {
      device: 'azure-iot-device-mqtt + azure-iot-provisioning-device (npm)', telemetryIntervalMs: 200,
      sent: done.sent, acked: done.acked, seen: tel.seen, lost: tel.missing.length, duplicates: tel.dups,
      sendFailures: done.failed, refusedConnections: done.refused, switchPauseMs: sw.pauseMs, rollMs,
      sameRegistration: second.createdDateTimeUtc === first.createdDateTimeUtc, oldCertAfterFinish: old.status,
      durationMs: Date.now() - t0,
    };
    measure('expiry-individual-sdk', m);
    assert.deepStrictEqual(tel.missing, [], JSON.stringify(m));
    assert.strictEqual(tel.max, done.sent, JSON.stringify(m));
    assert.strictEqual(done.failed + done.refused, 0, JSON.stringify(m));
    assert.ok(m.sameRegistration);
    assert.strictEqual(old.status, 401);
  } finally {
    const st = await s.d.stop();
    assert.strictEqual(st.code, 0);
  }
});
