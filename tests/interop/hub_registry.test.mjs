// Interop: the unmodified npm azure-iothub SDK (Registry, Client) against a
// real rollcalld made by `rollcall init` (issue 4: IoT Hub service API).
//
// The SDK always dials port 443 at the connection string's HostName, so the
// daemon listens on a dedicated loopback address, 127.0.0.43:443 (not the
// DPS test's 127.0.0.42), whose IP is in the server certificate and is the
// hub's host name; node trusts the data directory's root CA through
// NODE_EXTRA_CA_CERTS in the child that runs the SDK.
import { test, before } from 'node:test';
import assert from 'node:assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDaemon, tmpdir, ROLLCALL } from '../e2e/harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const ADDR = '127.0.0.43';

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120000, ...opts });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

before(() => {
  // The SDK comes from npm, exactly as published; the lock file pins it.
  if (!fs.existsSync(path.join(here, 'node_modules', 'azure-iothub')))
    run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: here });
});

test('azure-iothub drives device identities, twins, query and methods', async (t) => {
  if (process.getuid && process.getuid() !== 0) {
    t.skip('needs root to bind port 443 (the SDK cannot use another port)');
    return;
  }
  const dir = tmpdir();
  const data = path.join(dir, 'data');
  const conn = JSON.parse(run(ROLLCALL, ['init', data, '--hostname', ADDR, '--listen', ADDR,
    '--https-port', '443', '--mqtt-port', '0', '--json']));
  const hub = conn.hubs[0];
  assert.strictEqual(hub.host, ADDR);
  const d = await startDaemon({ confFile: path.join(data, 'rollcall.conf') });
  assert.strictEqual(d.httpsPort, 443);

  const r = spawnSync(process.execPath, [path.join(here, 'hub_registry_scenario.cjs')], {
    cwd: here,
    encoding: 'utf8',
    timeout: 120000,
    env: { ...process.env, NODE_EXTRA_CA_CERTS: conn.trustBundle, HUB_CS: hub.connectionString },
  });
  const steps = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).step);
  assert.strictEqual(r.status, 0, `scenario failed after ${steps.join(', ')}\n${r.stderr}\n--- rollcalld:\n${d.stderr()}`);
  assert.deepStrictEqual(steps, ['create', 'create-exists-409', 'sas-refused-400', 'get', 'update', 'list',
    'twin', 'query', 'method-offline-404', 'delete', 'bulk', 'done']);

  // Every registry change the SDK made is in the audit chain, and it holds.
  const audit = run(ROLLCALL, ['audit', 'verify', '--data', data]);
  assert.match(audit, /OK/);
  const st = await d.stop();
  assert.strictEqual(st.code, 0);
});
