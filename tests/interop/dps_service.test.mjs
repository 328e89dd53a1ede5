// Interop: the unmodified npm azure-iot-provisioning-service SDK against a
// real rollcalld made by `rollcall init` (issue: DPS service API).
//
// The SDK always dials port 443 at the connection string's HostName, so the
// daemon listens on a dedicated loopback address, 127.0.0.42:443, whose IP
// is in the server certificate; node trusts the data directory's root CA
// through NODE_EXTRA_CA_CERTS in the child that runs the SDK.
import { test, before } from 'node:test';
import assert from 'node:assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDaemon, tmpdir, ROLLCALL } from '../e2e/harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const ADDR = '127.0.0.42';
const SEED = process.env.RC_SEED_REGISTRATION;

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120000, ...opts });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

before(() => {
  // The SDK comes from npm, exactly as published; the lock file pins it.
  if (!fs.existsSync(path.join(here, 'node_modules', 'azure-iot-provisioning-service')))
    run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: here });
});

test('azure-iot-provisioning-service drives enrollments, groups and registration states', async (t) => {
  if (process.getuid && process.getuid() !== 0) {
    t.skip('needs root to bind port 443 (the SDK cannot use another port)');
    return;
  }
  const dir = tmpdir();
  const data = path.join(dir, 'data');
  const conn = JSON.parse(run(ROLLCALL, ['init', data, '--hostname', ADDR, '--listen', ADDR,
    '--https-port', '443', '--mqtt-port', '0', '--json']));
  const d = await startDaemon({ confFile: path.join(data, 'rollcall.conf') });
  assert.strictEqual(d.httpsPort, 443);

  // Device certificates under the data directory's device CA, and a second
  // intermediate to act as a group's signing certificate.
  const certs = path.join(dir, 'certs');
  fs.mkdirSync(certs);
  const devCa = path.join(data, 'ca', 'devices');
  for (const id of ['device-001', 'device-002', 'device-003', 'device-004'])
    run(ROLLCALL, ['ca', 'issue', '--ca', devCa, '--cn', id, '--out', path.join(certs, id)]);
  run(ROLLCALL, ['ca', 'issue', '--ca', devCa, '--cn', 'device-001', '--out', path.join(certs, 'device-001-new')]);
  run(ROLLCALL, ['ca', 'intermediate', '--ca', path.join(data, 'ca', 'root'), '--out', path.join(certs, 'fleet'),
    '--cn', 'Fleet A signing CA']);
  fs.copyFileSync(path.join(certs, 'fleet', 'ca.pem'), path.join(certs, 'group.pem'));

  // A registration state, as a device registration would leave it.
  const conf = fs.readFileSync(path.join(data, 'rollcall.conf'), 'utf8');
  const store = /^store\s+(\S+)/m.exec(conf)[1];
  run(SEED, [store, 'device-999']);

  const r = spawnSync(process.execPath, [path.join(here, 'dps_service_scenario.cjs')], {
    cwd: here,
    encoding: 'utf8',
    timeout: 120000,
    env: {
      ...process.env,
      NODE_EXTRA_CA_CERTS: conn.trustBundle,
      DPS_CS: conn.dps.connectionString,
      CERT_DIR: certs,
      REG_ID_STATE: 'device-999',
    },
  });
  const steps = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).step);
  assert.strictEqual(r.status, 0, `scenario failed after ${steps.join(', ')}\n${r.stderr}\n--- rollcalld:\n${d.stderr()}`);
  assert.deepStrictEqual(steps, ['create', 'get', 'add-secondary', 'stale-etag-412', 'disable',
    'attestation-mechanism', 'bulk-create', 'query', 'group', 'registration-state', 'done']);

  // Every change the SDK made is in the audit chain, and the chain holds.
  const audit = run(ROLLCALL, ['audit', 'verify', '--data', data]);
  assert.match(audit, /OK/);
  const st = await d.stop();
  assert.strictEqual(st.code, 0);
});
