// Scenarios 2 and 4 of issue 7: a group enrolled by its intermediate (the
// data directory's device CA) with three rollcall-agent devices sending
// QoS 1 telemetry.  A new intermediate is made under the same root and
// rollcalld's device-ca is pointed at it (rollcall.conf rewritten,
// rollcalld restarted on the same ports).
//   2. expiry: `roll group --reason expiry` puts it in the group's free
//      slot, `roll fleet --method rollCertificate` has every device renew
//      under it, `roll group --finish` removes the old one.  No message
//      lost, no connection refused.
//   4. breach: `roll group --reason breach` re-issues every device under
//      the new intermediate by a fleet roll, then removes and blocklists
//      the old one; the old chain is refused at DPS and at the hub.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ROLLCALL } from './harness.mjs';
import { AGENT, agent, dpsRegister, freePorts, measure, must, server, simDevice, sleep, telemetryOf } from './scenario_lib.mjs';

const IDS = ['gi-1', 'gi-2', 'gi-3'];

// Issuer CN of the active certificate of an agent.
function activeIssuer(dev) {
  const st = JSON.parse(fs.readFileSync(path.join(dev.state, 'state.json'), 'utf8'));
  const pem = fs.readFileSync(path.join(dev.state, st.active, 'chain.pem'), 'utf8');
  return new crypto.X509Certificate(pem).issuer.replace(/^CN=/, '');
}

// A server with the group and its agents, all sending.
async function setup() {
  const s = await server({ ports: await freePorts(2) });
  await s.rc('group', 'create', 'fleet', '--primary-cert', path.join(s.devCa, 'ca.pem'));
  const devs = [], certs = {};
  for (const id of IDS) {
    certs[id] = await s.issue(id);
    devs.push(agent(s, id, certs[id], ['--op-timeout', '5s']).start());
  }
  for (const d of devs)
    await d.wait(/telemetry 3 sent/);
  // The new intermediate, under the same root; rollcalld signs with it.
  const ca2 = path.join(s.data, 'ca', 'devices-2');
  await must(ROLLCALL, ['ca', 'intermediate', '--ca', path.join(s.data, 'ca', 'root'), '--out', ca2,
    '--cn', 'rollcall device CA 2']);
  return { s, devs, certs, ca2 };
}

// rollcalld restarted with device-ca ca2; resolves once every agent is
// connected again.
async function restartWith(s, ca2, devs) {
  const marks = devs.map((d) => d.log.length);
  const text = fs.readFileSync(s.conf, 'utf8').replace(/^device-ca .*$/m, `device-ca ${ca2}`);
  fs.writeFileSync(s.conf, text, { mode: 0o600 });
  const t = Date.now();
  await s.d.stop();
  await s.start();
  for (const [k, d] of devs.entries())
    await d.wait(/hub: connected to/, marks[k]);
  return Date.now() - t;
}

function telemetryMeasures(devs, tel) {
  return Object.fromEntries(devs.map((d) => [d.id, { sent: d.sent(), seen: tel[d.id]?.seen ?? 0,
    lost: tel[d.id]?.missing.length ?? 0, missing: tel[d.id]?.missing ?? [], refused: d.refused(), lostSessions: d.lost() }]));
}

describe('scenarios 2 and 4: a group intermediate', { skip: !AGENT && 'ROLLCALL_AGENT is not set' }, () => {
  const cleanup = [];
  after(async () => {
    for (const f of cleanup)
      await f();
  });

  it('2: expiry roll of the intermediate, devices re-issued under the new one, no message lost', async () => {
    const t0 = Date.now();
    const { s, devs, ca2 } = await setup();
    cleanup.push(async () => { for (const d of devs) await d.kill(); await s.d.stop(); });
    const oldIssuer = activeIssuer(devs[0]);
    const restartMs = await restartWith(s, ca2, devs);
    const out = await s.rc('roll', 'group', 'fleet', '--new-signing-cert', path.join(ca2, 'ca.pem'), '--reason', 'expiry');
    assert.match(out, /secondary slot/);
    const marks = devs.map((d) => d.log.length);
    const r = await s.rcRaw('roll', 'fleet', '--query', 'SELECT * FROM devices', '--method', 'rollCertificate',
      '--rate', '5', '--canary', '1', '--wave-size', '2', '--max-failures', '0%', '--json-lines');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    for (const [k, d] of devs.entries())
      await d.wait(/roll: committed, connected to/, marks[k]);
    const issuers = devs.map(activeIssuer);
    assert.match(await s.rc('roll', 'group', 'fleet', '--finish', '--new-signing-cert', path.join(ca2, 'ca.pem')),
      /removed the primary/);
    await sleep(2500);
    for (const d of devs)
      await d.kill();
    await sleep(300);
    const tel = telemetryOf(await s.events());
    const m = { devices: devs.length, oldIssuer, newIssuers: issuers, restartMs,
      telemetry: telemetryMeasures(devs, tel), durationMs: Date.now() - t0, telemetryIntervalMs: 200 };
    measure('expiry-group-intermediate', m);
    for (const iss of issuers)
      assert.equal(iss, 'rollcall device CA 2');
    for (const d of devs) {
      const t = m.telemetry[d.id];
      assert.equal(t.lost, 0, JSON.stringify(m));
      assert.equal(t.seen, t.sent, JSON.stringify(m));
      assert.equal(t.refused, 0, `${d.id}: ${d.log}`);
    }
  });

  it('4: breach of the intermediate, every device re-issued, the old chain refused everywhere', async () => {
    const t0 = Date.now();
    const { s, devs, certs, ca2 } = await setup();
    cleanup.push(async () => { for (const d of devs) await d.kill(); await s.d.stop(); });
    const restartMs = await restartWith(s, ca2, devs);
    const marks = devs.map((d) => d.log.length);
    const tCmd = Date.now();
    const r = await s.rcRaw('roll', 'group', 'fleet', '--new-signing-cert', path.join(ca2, 'ca.pem'), '--reason', 'breach',
      '--rate', '5', '--canary', '1', '--wave-size', '2', '--max-failures', '0%', '--json-lines');
    const cmdMs = Date.now() - tCmd;
    const committed = [];
    for (const [k, d] of devs.entries())
      committed.push(await d.wait(/roll: committed, connected to/, marks[k], 30000).then(() => true, () => false));
    await sleep(3000);
    // The old chain: a new leaf of the old intermediate at DPS, and the
    // devices' bootstrap certificates at the hub.
    const stray = await s.issue('gi-stray');
    const dps = await dpsRegister(s, 'gi-stray', stray);
    const dpsOld = await dpsRegister(s, 'gi-1', certs['gi-1']);
    const hubRefusals = [];
    for (const id of IDS) {
      const c = simDevice(s, id, certs[id]);
      await c.connect();
      hubRefusals.push(c.lastRefusal ?? 0);
      c.close();
    }
    const issuers = devs.map(activeIssuer);
    const sentAfterRoll = devs.map((d, k) => [...d.log.slice(marks[k]).matchAll(/telemetry \d+ sent/g)].length);
    await sleep(2000);
    for (const d of devs)
      await d.kill();
    await sleep(300);
    const tel = telemetryOf(await s.events());
    const m = { devices: devs.length, exit: r.status, commandMs: cmdMs, restartMs, committed, newIssuers: issuers,
      sentAfterRoll, oldChainAtDps: [dps.status, dps.json?.errorCode], oldLeafAtDps: dpsOld.status,
      oldLeavesAtHub: hubRefusals, telemetry: telemetryMeasures(devs, tel), durationMs: Date.now() - t0 };
    measure('breach-group-intermediate', m);
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}\n${devs.map((d) => d.log.slice(-1500)).join('\n----\n')}`);
    assert.deepEqual(committed, [true, true, true], JSON.stringify(m));
    for (const iss of issuers)
      assert.equal(iss, 'rollcall device CA 2');
    assert.equal(dps.status, 401, JSON.stringify(dps.json));
    assert.equal(dpsOld.status, 401);
    assert.deepEqual(hubRefusals, [5, 5, 5]);
    for (const d of devs)
      assert.equal(m.telemetry[d.id].lost, 0, JSON.stringify(m));
    assert.ok(sentAfterRoll.every((n) => n >= 3), JSON.stringify(m));
  });
});
