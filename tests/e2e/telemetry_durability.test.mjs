// Telemetry is committed in groups (one transaction per loop pass), and a
// PUBACK still means stored: 20 devices publish QoS 1 as fast as their
// PUBACKs come back, rollcalld is killed with SIGKILL in the middle, and
// after a restart every message a device saw acknowledged is in the
// hub's event log, in order per device, with no duplicate sequence.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROLLCALL, startDaemon, tmpdir } from './harness.mjs';
import { telemetryDevice } from './mqtt_device.mjs';

const N = 20;

function rc(args) {
  const r = spawnSync(ROLLCALL, args, { encoding: 'utf8', timeout: 60000, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `rollcall ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function setPort(data, port) {
  const p = path.join(data, 'connections.json');
  const cj = JSON.parse(fs.readFileSync(p, 'utf8'));
  cj.dps.httpsPort = port;
  fs.writeFileSync(p, JSON.stringify(cj));
}

describe('telemetry group commit', () => {
  let work, data, conf, ca;

  before(() => {
    work = tmpdir();
    data = path.join(work, 'data');
    const conn = JSON.parse(rc(['init', data, '--hostname', 'localhost', '--hostname', '127.0.0.1',
      '--listen', '127.0.0.1', '--https-port', '0', '--mqtt-port', '0', '--json']));
    ca = conn.trustBundle;
    conf = path.join(data, 'rollcall.conf');
  });

  it('loses no acknowledged message when rollcalld is killed mid-stream', async () => {
    let d = await startDaemon({ confFile: conf });
    setPort(data, d.httpsPort);
    const acked = new Map();
    const devs = [];
    for (let i = 0; i < N; i++) {
      const id = `t-${i}`;
      rc(['ca', 'issue', '--ca', path.join(data, 'ca', 'devices'), '--cn', id, '--out', path.join(work, id)]);
      rc(['device', 'create', id, '--cert', path.join(work, `${id}.pem`), '--data', data]);
      devs.push(await telemetryDevice(d.mqttPort, ca,
        { cert: path.join(work, `${id}.pem`), key: path.join(work, `${id}.key`) }, id));
      acked.set(id, 0);
    }
    // Each device: publish n, wait for its PUBACK, publish n + 1 ...
    const loops = devs.map(async (dev, i) => {
      const id = `t-${i}`;
      for (let n = 1; ; n++) {
        try {
          await dev.publish(JSON.stringify({ id, n }));
        } catch {
          return;
        }
        acked.set(id, n);
      }
    });
    await new Promise((ok) => setTimeout(ok, 1500));
    process.kill(d.pid, 'SIGKILL');
    await d.exited;
    d.stopped = true;
    await Promise.all(loops);
    const total = [...acked.values()].reduce((a, b) => a + b, 0);
    assert.ok(total > N, `only ${total} messages were acknowledged`);

    d = await startDaemon({ confFile: conf });
    setPort(data, d.httpsPort);
    // The whole log, a page of 1000 (JSON lines) at a time.
    const list = [];
    for (let after = 0; ;) {
      const page = rc(['events', 'tail', '--after', String(after), '-n', '1000', '--json', '--data', data])
        .split('\n').filter(Boolean).map((l) => JSON.parse(l));
      if (page.length === 0)
        break;
      list.push(...page);
      after = page.at(-1).sequenceNumber;
    }
    const seen = new Map();
    const seqs = new Set();
    for (const e of list) {
      assert.ok(!seqs.has(e.sequenceNumber), `sequence ${e.sequenceNumber} twice`);
      seqs.add(e.sequenceNumber);
      const b = e.body;
      const last = seen.get(b.id) ?? 0;
      assert.equal(b.n, last + 1, `${b.id}: ${b.n} after ${last}`);
      seen.set(b.id, b.n);
    }
    for (const [id, n] of acked)
      assert.ok((seen.get(id) ?? 0) >= n, `${id}: ${n} acknowledged, ${seen.get(id) ?? 0} stored`);
    console.log(JSON.stringify({ acknowledged: total, stored: list.length }));
    for (const dev of devs)
      dev.sock.destroy();
    await d.stop();
  });
});
