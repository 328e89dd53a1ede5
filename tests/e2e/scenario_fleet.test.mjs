// Scenario 6 of issue 7: a fleet roll of 200 simulated devices (raw MQTT
// clients answering direct methods) with pacing and a forced failure
// rate that trips the abort.  From the 100th device on, every fourth one
// answers 500; with --max-failures 5% the roll must stop after the wave
// where the failures pass 5%, must not call any device after that, and
// must keep to --rate.  A resumed run with a tolerant threshold then
// calls only the devices not done.  Ten of the devices also send QoS 1
// telemetry every 200 ms throughout: none of it is lost.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createIdentity, measure, pool, server, simDevice, sleep, telemetryOf } from './scenario_lib.mjs';

const N = 200;
const RATE = 50;

describe('scenario 6: fleet roll of 200 devices', () => {
  let s;
  const devs = [];
  after(async () => {
    for (const d of devs)
      d.close();
    await s?.d.stop();
  });

  it('paces the calls and stops past --max-failures', async () => {
    const t0 = Date.now();
    s = await server();
    const ids = Array.from({ length: N }, (_, i) => `sim-${String(i).padStart(3, '0')}`);
    const certs = await pool(ids, 2, (id) => s.issue(id));
    await pool(ids, 4, (id, i) => createIdentity(s, id, certs[i]));
    const failing = new Set(ids.filter((_, i) => i >= 100 && i % 4 === 0));
    for (const [i, id] of ids.entries())
      devs.push(simDevice(s, id, certs[i], { status: failing.has(id) ? 500 : 200, interval: i < 10 ? 200 : 0 }));
    const up = await pool(devs, 20, (d) => d.connect());
    assert.equal(up.filter(Boolean).length, N);
    const tSetup = Date.now();

    const state = s.file('fleet.json');
    const args = ['roll', 'fleet', '--query', 'SELECT * FROM devices', '--method', 'rollCertificate',
      '--rate', String(RATE), '--wave-size', '40', '--canary', '5', '--parallel', '8', '--max-failures', '5%',
      '--method-timeout', '5', '--state', state, '--json-lines'];
    const tRoll = Date.now();
    const r = await s.rcRaw(...args);
    const rollMs = Date.now() - tRoll;
    assert.equal(r.status, 1, r.stdout + r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const called = lines.filter((l) => l.event === 'device');
    const waves = lines.filter((l) => l.event === 'wave');
    const summary = lines.at(-1);
    const failed = called.filter((l) => l.result !== 'ok');
    const methodsSeen = devs.reduce((n, d) => n + d.methods.length, 0);

    // Resume with a tolerant threshold: only what is not done is called.
    const before = new Set(called.filter((l) => l.result === 'ok').map((l) => l.deviceId));
    const r2 = await s.rcRaw(...args.map((a) => (a === '5%' ? '100%' : a)));
    const again = r2.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.event === 'device');
    await sleep(500);
    for (const d of devs)
      d.close();
    await sleep(300);
    const tel = telemetryOf(await s.events());
    const telDevs = ids.slice(0, 10);
    const lost = telDevs.reduce((n, id) => n + (tel[id]?.missing.length ?? 0), 0);
    const m = {
      devices: N, forcedFailureRate: '25% from the 100th device', maxFailures: '5%', rate: RATE,
      called: called.length, failed: failed.length, failureRate: +(failed.length / called.length).toFixed(3),
      waves: waves.map((w) => w.devices), aborted: called.length < N, summary,
      methodsSeenByDevices: methodsSeen, rollMs, minPacedMs: Math.round(((called.length - 1) / RATE) * 1000),
      callsPerSecond: +(called.length / (rollMs / 1000)).toFixed(1),
      resumeCalled: again.length, resumeRecalledDone: again.filter((l) => before.has(l.deviceId)).length,
      telemetry: { devices: telDevs.length, intervalMs: 200,
        sent: telDevs.reduce((n, _, i) => n + devs[i].sent, 0),
        acked: telDevs.reduce((n, _, i) => n + devs[i].acked.size, 0),
        seen: telDevs.reduce((n, id) => n + (tel[id]?.seen ?? 0), 0), lost },
      setupMs: tSetup - t0, durationMs: Date.now() - t0,
    };
    measure('fleet-200', m);
    assert.ok(m.aborted, JSON.stringify(m));
    assert.equal(waves[0].devices, 5);
    assert.ok(m.failureRate > 0.05, JSON.stringify(m));
    // The abort came at the first wave past 5%: before it, at most 5%.
    let ok = 0, bad = 0;
    for (const l of called.slice(0, called.length - waves.at(-1).devices))
      l.result === 'ok' ? ok++ : bad++;
    assert.ok(bad / (ok + bad) <= 0.05, JSON.stringify(m));
    assert.equal(methodsSeen, called.length, 'no device was called after the abort');
    assert.ok(rollMs >= m.minPacedMs, JSON.stringify(m));
    assert.equal(m.resumeRecalledDone, 0);
    assert.equal(m.resumeCalled, N - before.size);
    assert.equal(lost, 0, JSON.stringify(m));
  });
});
