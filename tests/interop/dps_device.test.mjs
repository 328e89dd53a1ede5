// Interop: the unmodified npm device provisioning SDK
// (azure-iot-provisioning-device with its -mqtt and -http transports and
// azure-iot-security-x509) registering devices against a real rollcalld
// made by `rollcall init`, then connecting where it was told with
// azure-iot-device-mqtt (issue 5).  What it shows:
//   - an individual enrollment, registered with the primary certificate
//     (MQTT), then with a rolled certificate of the same CN in the
//     secondary slot (HTTPS): one registration record, the hub thumbprint
//     replaced, the old certificate refused by the hub (CONNACK 5);
//   - a group by root, a group by intermediate (the leaf alone, and the
//     leaf with its chain);
//   - a disabled individual enrollment blocking a device of an enabled
//     group (401, UnauthorizedError);
//   - a device moved to a second hub with migrateDeviceData keeping its
//     reported twin.
//
// The HTTPS transport dials port 443, so the daemon listens on its own
// loopback address, 127.0.0.45 (the other interop tests use .42 to .44),
// with MQTT on 8883.  Both hubs run in this rollcalld: hub1 at
// 127.0.0.45 and hub2 at hub2.rollcall.test, a name only the server
// certificate and the hub's MQTT username need (devices dial 127.0.0.45).
import { test, before } from 'node:test';
import assert from 'node:assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDaemon, tmpdir, ROLLCALL } from '../e2e/harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const ADDR = '127.0.0.45';
const HUB2 = 'hub2.rollcall.test';

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120000, ...opts });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

before(() => {
  // The SDKs come from npm, exactly as published; the lock file pins them.
  if (!fs.existsSync(path.join(here, 'node_modules', 'azure-iot-provisioning-device-mqtt')))
    run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: here });
});

test('azure-iot-provisioning-device registers X.509 devices over MQTT and HTTPS', async (t) => {
  if (process.getuid && process.getuid() !== 0) {
    t.skip('needs root to bind port 443 (the HTTPS transport cannot use another port)');
    return;
  }
  const dir = tmpdir();
  const data = path.join(dir, 'data');
  const conn = JSON.parse(run(ROLLCALL, ['init', data, '--hostname', ADDR, '--hostname', HUB2,
    '--listen', ADDR, '--https-port', '443', '--mqtt-port', '8883',
    '--hub', `hub1=${ADDR}`, '--hub', `hub2=${HUB2}`, '--json']));
  const rc = (...args) => run(ROLLCALL, [...args, '--data', data]);

  // Certificates: leaves of the data directory's device CA for individual
  // enrollments; a root and a root + intermediate for the groups.
  const c = path.join(dir, 'certs');
  fs.mkdirSync(c);
  const devCa = path.join(data, 'ca', 'devices');
  const issue = (ca, cn, out) => run(ROLLCALL, ['ca', 'issue', '--ca', ca, '--cn', cn, '--out', path.join(c, out)]);
  issue(devCa, 'ind-1', 'ind-1-a');
  issue(devCa, 'ind-1', 'ind-1-b');
  issue(devCa, 'mig-1', 'mig-1');
  run(ROLLCALL, ['ca', 'init', '--out', path.join(c, 'root-g'), '--cn', 'Group root']);
  issue(path.join(c, 'root-g'), 'grp-r1', 'grp-r1');
  issue(path.join(c, 'root-g'), 'grp-r2', 'grp-r2');
  run(ROLLCALL, ['ca', 'init', '--out', path.join(c, 'root-i'), '--cn', 'Second root']);
  run(ROLLCALL, ['ca', 'intermediate', '--ca', path.join(c, 'root-i'), '--out', path.join(c, 'int-i'),
    '--cn', 'Fleet intermediate']);
  issue(path.join(c, 'int-i'), 'grp-i1', 'grp-i1');
  issue(path.join(c, 'int-i'), 'grp-i2', 'grp-i2');

  const d = await startDaemon({ confFile: path.join(data, 'rollcall.conf') });
  assert.strictEqual(d.httpsPort, 443);
  assert.strictEqual(d.mqttPort, 8883);

  rc('enrollment', 'create', 'ind-1', '--primary-cert', path.join(c, 'ind-1-a.pem'));
  rc('enrollment', 'create', 'mig-1', '--primary-cert', path.join(c, 'mig-1.pem'), '--hub', ADDR,
    '--reprovision-policy', 'update-and-migrate');
  rc('group', 'create', 'g-root', '--primary-cert', path.join(c, 'root-g', 'ca.pem'));
  rc('group', 'create', 'g-int', '--primary-cert', path.join(c, 'int-i', 'ca.pem'));
  // S12: grp-r2 is under the enabled g-root, but its own enrollment is off.
  rc('enrollment', 'create', 'grp-r2', '--primary-cert', path.join(c, 'grp-r2.pem'), '--disabled');

  const scenario = (step) => {
    const r = spawnSync(process.execPath, [path.join(here, 'dps_device_scenario.cjs'), step], {
      cwd: here,
      encoding: 'utf8',
      timeout: 120000,
      env: { ...process.env, NODE_EXTRA_CA_CERTS: conn.trustBundle, CA: conn.trustBundle, CERTS: c,
        DPS_HOST: ADDR, ID_SCOPE: conn.idScope, HUB_GATEWAY: `${ADDR}:8883` },
    });
    assert.strictEqual(r.status, 0, `step ${step}:\n${r.stdout}\n${r.stderr}\n--- rollcalld:\n${d.stderr().slice(-4000)}`);
    return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  };
  const registration = (id) => JSON.parse(rc('registration', 'show', id, '--json'));

  // Individual enrollment: primary over MQTT, the device connects.
  let out = scenario('primary');
  assert.strictEqual(out.at(-1).assignedHub, ADDR);
  assert.strictEqual(out.at(-1).deviceId, 'ind-1');
  const first = registration('ind-1');

  // Rolled certificate in the secondary slot, registered over HTTPS.
  rc('enrollment', 'update', 'ind-1', '--secondary-cert', path.join(c, 'ind-1-b.pem'));
  out = scenario('secondary');
  const second = registration('ind-1');
  assert.strictEqual(second.registrationId, first.registrationId);
  assert.strictEqual(second.createdDateTimeUtc, first.createdDateTimeUtc);
  assert.notStrictEqual(second.etag, first.etag);
  const hubDev = JSON.parse(run(ROLLCALL, ['device', 'show', 'ind-1', '--json', '--data', data]));
  const thumbB = run('openssl', ['x509', '-in', path.join(c, 'ind-1-b.pem'), '-noout', '-fingerprint', '-sha256'])
    .trim().split('=')[1].replace(/:/g, '');
  assert.strictEqual(hubDev.authentication.x509Thumbprint.primaryThumbprint, thumbB);
  // ... and the old certificate is refused by the hub (the scenario asserts it).
  scenario('old-refused');

  // Groups: by root; by intermediate, the leaf alone and with its chain.
  for (const step of ['group-root', 'group-int-leaf', 'group-int-chain'])
    scenario(step);
  const listed = JSON.parse(rc('registration', 'list', '--group', 'g-int', '--json'));
  const ids = (Array.isArray(listed) ? listed : listed.items || []).map((r) => r.registrationId).sort();
  assert.deepStrictEqual(ids, ['grp-i1', 'grp-i2'], JSON.stringify(listed));

  // S12: a disabled individual enrollment blocks a device of an enabled group.
  scenario('disabled-in-group');

  // migrateDeviceData: mig-1 reports a property on hub1, moves to hub2.
  scenario('migrate-before');
  rc('enrollment', 'update', 'mig-1', '--hub', HUB2);
  out = scenario('migrate-after');
  assert.strictEqual(out.at(-1).substatus, 'deviceDataMigrated');

  const st = await d.stop();
  assert.strictEqual(st.code, 0);
});
