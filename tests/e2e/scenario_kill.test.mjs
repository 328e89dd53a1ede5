// Scenario 7 of issue 7: `kill -9` of rollcalld in the middle of a fleet
// roll, then a restart on the same ports.  Forty simulated devices send
// QoS 1 telemetry every 200 ms and answer direct methods; they reconnect
// when the connection drops and send again what was not acknowledged.
// Two rollcall-agent devices of a group take part too: for them the
// rollCertificate of the roll is a real renewal through DPS.
// Expected: every message the hub acknowledged (PUBACK) to a simulated
// device before or after the crash is in its event log; the roll, run
// again with the same --state file, calls only the devices not done and
// every device converges (all "done"; the agents connected again on a
// certificate the hub accepts, sending).
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { AGENT, agent, createIdentity, freePorts, measure, pool, runAsync, server, simDevice, sleep, telemetryOf } from './scenario_lib.mjs';
import { ROLLCALL } from './harness.mjs';

const N = 40;

describe('scenario 7: kill -9 of rollcalld during a fleet roll', () => {
  let s;
  const devs = [];
  const cleanup = [];
  after(async () => {
    for (const d of devs)
      d.close();
    for (const f of cleanup)
      await f();
    await s?.d.stop();
  });

  it('loses nothing acknowledged and the roll resumes to the end', async () => {
    const t0 = Date.now();
    s = await server({ ports: await freePorts(2) });
    const ids = Array.from({ length: N }, (_, i) => `k-${String(i).padStart(2, '0')}`);
    const certs = await pool(ids, 2, (id) => s.issue(id));
    await pool(ids, 4, (id, i) => createIdentity(s, id, certs[i]));
    for (const [i, id] of ids.entries())
      devs.push(simDevice(s, id, certs[i], { interval: 200, reconnect: 300 }));
    assert.ok((await pool(devs, 10, (d) => d.connect())).every(Boolean));
    const agents = [];
    if (AGENT) {
      await s.rc('group', 'create', 'fleet', '--primary-cert', path.join(s.devCa, 'ca.pem'));
      for (const id of ['ka-1', 'ka-2'])
        agents.push(agent(s, id, await s.issue(id), ['--op-timeout', '5s']).start());
      for (const a of agents)
        await a.wait(/telemetry 2 sent/);
      cleanup.push(async () => { for (const a of agents) await a.kill(); });
    }
    await sleep(1000);

    const state = s.file('fleet.json');
    const args = ['roll', 'fleet', '--query', 'SELECT * FROM devices', '--method', 'rollCertificate',
      '--rate', '5', '--wave-size', '10', '--canary', '2', '--max-failures', '100%', '--method-timeout', '3',
      '--state', state, '--json-lines', '--data', s.data];
    let calls = 0, tKill = null, ackedAtKill = 0;
    const killed = (async () => {
      while (calls < 15)
        await sleep(20);
      ackedAtKill = devs.reduce((n, d) => n + d.acked.size, 0);
      tKill = Date.now();
      await s.d.stop('SIGKILL');
    })();
    const first = runAsync(ROLLCALL, args, { onStdout: (x) => { calls += (x.match(/"event":"device"/g) ?? []).length; } });
    await killed;
    await sleep(1000);
    const old = s.d;
    await s.start();
    const tUp = Date.now();
    assert.notEqual(old.pid, s.d.pid);
    let tBack = null;
    const back = (async () => {
      for (let i = 0; i < 400 && tBack === null; i++) {
        if (devs.every((d) => d.connected))
          tBack = Date.now();
        else
          await sleep(25);
      }
    })();
    const r1 = await first;
    const lines1 = r1.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.event === 'device');
    // Devices back (they retry every 300 ms).
    await back;
    assert.ok(tBack !== null, 'every device reconnected');
    const agentMarks = agents.map((a) => a.log.length);
    const r2 = await runAsync(ROLLCALL, args);
    const lines2 = r2.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.event === 'device');
    const final = JSON.parse(fs.readFileSync(state, 'utf8')).devices;
    // The agents: connected again after the restart and sending.
    const agentBack = [];
    for (const [k, a] of agents.entries()) {
      const at = await a.wait(/hub: connected to/, Math.min(agentMarks[k], a.log.lastIndexOf('connection to')), 30000)
        .catch(() => null);
      agentBack.push(at !== null && await a.wait(/telemetry \d+ sent/, at, 10000).then(() => true, () => false));
    }
    await sleep(1000);
    for (const a of agents)
      await a.kill();
    for (const d of devs)
      d.close();
    await sleep(500);

    const tel = telemetryOf(await s.events());
    let ackedMissing = 0, gaps = 0, sent = 0, acked = 0, seen = 0;
    for (const d of devs) {
      const t = tel[d.id] ?? { missing: [], seen: 0, max: 0 };
      const have = new Set();
      for (let i = 1; i <= t.max; i++)
        if (!t.missing.includes(i))
          have.add(i);
      for (const n of d.acked)
        if (!have.has(n))
          ackedMissing++;
      gaps += t.missing.length;
      sent += d.sent;
      acked += d.acked.size;
      seen += t.seen;
    }
    const done1 = new Set(lines1.filter((l) => l.result === 'ok').map((l) => l.deviceId));
    const m = {
      devices: N, telemetryIntervalMs: 200, firstRunCalls: lines1.length, firstRunOk: done1.size,
      firstRunExit: r1.status, killedAfterCalls: 15, ackedAtKill, restartMs: tUp - tKill, devicesBackMs: tBack - tKill,
      resumeCalls: lines2.length, resumeRecalledDone: lines2.filter((l) => done1.has(l.deviceId)).length,
      resumeExit: r2.status, converged: Object.values(final).filter((v) => v === 'done').length,
      telemetry: { sent, acked, seen, ackedButLost: ackedMissing, gaps },
      reconnects: devs.reduce((n, d) => n + d.connects - 1, 0),
      agents: agents.map((a, k) => ({ id: a.id, back: agentBack[k], renewed: (a.log.match(/roll: committed/g) ?? []).length,
        rolledBack: (a.log.match(/rolling back/g) ?? []).length, refused: a.refused(),
        sent: a.sent(), seen: tel[a.id]?.seen ?? 0, gaps: tel[a.id]?.missing ?? [] })),
      durationMs: Date.now() - t0,
    };
    measure('kill-9-fleet', m);
    assert.equal(ackedMissing, 0, JSON.stringify(m));
    assert.equal(r2.status, 0, r2.stdout + r2.stderr);
    assert.equal(m.resumeRecalledDone, 0, JSON.stringify(m));
    assert.equal(m.converged, N + agents.length, JSON.stringify(final));
    assert.ok(agentBack.every(Boolean), agents.map((a) => a.log.slice(-2000)).join('\n----\n'));
    // The calls made while rollcalld was down failed and were made again.
    assert.ok(done1.size < N + agents.length && m.resumeCalls === N + agents.length - done1.size, JSON.stringify(m));
  });
});
