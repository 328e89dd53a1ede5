// Interop: the unmodified npm device SDK (azure-iot-device +
// azure-iot-device-mqtt, X.509 from files) and back-end SDK (azure-iothub
// Registry, Client, JobClient) against a real rollcalld made by `rollcall
// init` (issue 4): telemetry read back through GET /events, reported and
// desired twin properties, a method job over three devices, and a deleted
// identity's live and fresh connections, and Client.invokeDeviceMethod.
//
// The service SDK dials port 443 only, so the daemon listens on its own
// loopback address, 127.0.0.44 (the DPS and registry tests use .42 and
// .43), with MQTT on 8883, the device SDK's default; the IP is in the
// server certificate and is the hub's host name.  node trusts the data
// directory's root CA through NODE_EXTRA_CA_CERTS in the child that runs
// the SDKs; the device SDK is also given it through setOptions({ca}).
import { test, before } from 'node:test';
import assert from 'node:assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDaemon, tmpdir, ROLLCALL } from '../e2e/harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const ADDR = '127.0.0.44';

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120000, ...opts });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

before(() => {
  // The SDKs come from npm, exactly as published; the lock file pins them.
  if (!fs.existsSync(path.join(here, 'node_modules', 'azure-iot-device-mqtt')))
    run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: here });
});

test('azure-iot-device-mqtt devices and azure-iothub back end', async (t) => {
  if (process.getuid && process.getuid() !== 0) {
    t.skip('needs root to bind port 443 (the service SDK cannot use another port)');
    return;
  }
  const dir = tmpdir();
  const data = path.join(dir, 'data');
  const conn = JSON.parse(run(ROLLCALL, ['init', data, '--hostname', ADDR, '--listen', ADDR,
    '--https-port', '443', '--mqtt-port', '8883', '--json']));
  const hub = conn.hubs[0];
  assert.strictEqual(hub.host, ADDR);

  // Device certificates from the data directory's device CA; identities
  // are selfSigned with the leaf's thumbprint.
  const certs = path.join(dir, 'certs');
  fs.mkdirSync(certs);
  for (const id of ['a', 'b', 'c'])
    run(ROLLCALL, ['ca', 'issue', '--ca', path.join(data, 'ca', 'devices'), '--cn', id,
      '--out', path.join(certs, id)]);

  // One worker: the service calls and the devices' sessions share its
  // loop, so a call that waits for a device must not hold it.
  const conf = path.join(data, 'rollcall.conf');
  fs.writeFileSync(conf, fs.readFileSync(conf, 'utf8').replace(/^workers .*$/m, 'workers 1'));
  const d = await startDaemon({ confFile: conf });
  assert.strictEqual(d.httpsPort, 443);
  assert.strictEqual(d.mqttPort, 8883);

  const r = spawnSync(process.execPath, [path.join(here, 'hub_device_scenario.cjs')], {
    cwd: here,
    encoding: 'utf8',
    timeout: 240000,
    env: {
      ...process.env,
      NODE_EXTRA_CA_CERTS: conn.trustBundle,
      HUB_CS: hub.connectionString,
      HUB_HOST: ADDR,
      CA: conn.trustBundle,
      CERTS: certs,
    },
  });
  const steps = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).step);
  assert.strictEqual(r.status, 0,
    `scenario failed after ${steps.join(', ')}\n${r.stderr}\n--- rollcalld:\n${d.stderr()}`);
  assert.deepStrictEqual(steps, ['connect', 'telemetry', 'method-timeout', 'method', 'twin', 'job', 'delete', 'done']);

  const st = await d.stop();
  assert.strictEqual(st.code, 0);
});
