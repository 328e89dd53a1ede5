// Scenario 5 of issue 7: disallow one device of a group.  Three
// rollcall-agent devices of a group send QoS 1 telemetry; `rollcall
// disallow g-1` writes a disabled individual enrollment and disables its
// hub identity.  Expected: g-1's session is cut and it is refused at the
// hub and at DPS; g-2 and g-3 keep sending without a gap.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { AGENT, agent, dpsRegister, measure, server, simDevice, sleep, telemetryOf } from './scenario_lib.mjs';

describe('scenario 5: disallow one device of a group', { skip: !AGENT && 'ROLLCALL_AGENT is not set' }, () => {
  let s;
  const devs = [];
  after(async () => {
    for (const d of devs)
      await d.kill();
    await s?.d.stop();
  });

  it('refuses that device and leaves the others alone', async () => {
    const t0 = Date.now();
    s = await server();
    await s.rc('group', 'create', 'fleet', '--primary-cert', path.join(s.devCa, 'ca.pem'));
    const certs = {};
    for (const id of ['g-1', 'g-2', 'g-3']) {
      certs[id] = await s.issue(id);
      devs.push(agent(s, id, certs[id]).start());
    }
    for (const d of devs)
      await d.wait(/telemetry 3 sent/);
    const [g1, g2, g3] = devs;
    const at1 = g1.log.length;
    const sentBefore = { 'g-2': g2.sent(), 'g-3': g3.sent() };
    const tCmd = Date.now();
    const out = await s.rc('disallow', 'g-1');
    const tOut = Date.now();
    // The session cut, watched while the old certificate is tried.
    let tCut = null;
    const cut = (async () => {
      for (let i = 0; i < 250 && tCut === null; i++) {
        if (g1.lost(at1) > 0 || /refused/.test(g1.log.slice(at1)))
          tCut = Date.now();
        else
          await sleep(10);
      }
    })();
    assert.match(out, /disallowed/);
    const dps = await dpsRegister(s, 'g-1', certs['g-1']);
    const hub = simDevice(s, 'g-1', certs['g-1']);
    assert.equal(await hub.connect(), false);
    await cut;
    // The others keep going for a while; g-1 keeps trying and is refused.
    await sleep(5000);
    for (const d of devs)
      await d.kill();
    await sleep(300);
    const tel = telemetryOf(await s.events());
    const m = {
      devices: 3, disallowed: 'g-1', commandMs: tOut - tCmd, sessionCutMs: tCut === null ? null : tCut - tCmd,
      dpsStatus: dps.status, hubConnack: hub.lastRefusal, g1Refusals: g1.refused(at1),
      others: Object.fromEntries(['g-2', 'g-3'].map((id, k) => {
        const d = [g2, g3][k];
        return [id, { sent: d.sent(), seen: tel[id].seen, lost: tel[id].missing.length, sentAfterDisallow: d.sent() - sentBefore[id],
          refused: d.refused(), lostSessions: d.lost() }];
      })),
      durationMs: Date.now() - t0, telemetryIntervalMs: 200,
    };
    measure('disallow', m);
    assert.equal(dps.status, 401);
    assert.ok(hub.lastRefusal !== undefined && hub.lastRefusal !== 0);
    assert.ok(tCut !== null, g1.log);
    assert.ok(m.g1Refusals > 0, g1.log);
    for (const id of ['g-2', 'g-3']) {
      const o = m.others[id];
      assert.equal(o.lost, 0, JSON.stringify(m));
      assert.equal(o.seen, o.sent, JSON.stringify(m));
      assert.ok(o.sentAfterDisallow >= 4, JSON.stringify(m));
      assert.equal(o.refused + o.lostSessions, 0, JSON.stringify(m));
    }
  });
});
