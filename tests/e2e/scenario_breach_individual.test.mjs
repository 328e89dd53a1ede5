// Scenario 3 of issue 7: breach roll of an individual certificate.  A
// rollcall-agent device on its bootstrap certificate A renews (a new key,
// certificate B through DPS); then A is declared compromised: `roll
// individual --new-cert B --reason breach --hub-action delete`.
// Expected: A is refused at DPS (401) and at the hub (CONNACK 5) within a
// second of the command, the device's live session is cut, the device
// comes back with B and keeps its one registration record.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { AGENT, agent, dpsRegister, leafOf, measure, server, simDevice, sleep, telemetryOf } from './scenario_lib.mjs';

describe('scenario 3: breach roll of an individual certificate', { skip: !AGENT && 'ROLLCALL_AGENT is not set' }, () => {
  let s, dev;
  after(async () => {
    await dev?.kill();
    await s?.d.stop();
  });

  it('refuses the old certificate everywhere within a second and keeps one registration', async () => {
    const t0 = Date.now();
    s = await server();
    const a = await s.issue('br-1', 'br-1-a');
    await s.rc('enrollment', 'create', 'br-1', '--primary-cert', a.pem);
    dev = agent(s, 'br-1', a).start();
    let at = await dev.wait(/hub: connected to .* slot a/);
    at = await dev.wait(/telemetry 2 sent/, at);
    const first = JSON.parse(await s.rc('registration', 'show', 'br-1', '--json'));
    assert.match(await s.invoke('br-1', 'rollCertificate'), /200/);
    at = await dev.wait(/roll: committed, connected to .* slot b/, at);
    at = await dev.wait(/telemetry \d+ sent/, at);
    const b = s.file('br-1-b.pem');
    fs.writeFileSync(b, leafOf(path.join(dev.state, 'b', 'chain.pem')));

    const lostBefore = dev.lost();
    const tCmd = Date.now();
    const out = await s.rc('roll', 'individual', 'br-1', '--new-cert', b, '--reason', 'breach', '--hub-action', 'delete');
    const tOut = Date.now();
    // The session cut, watched while the old certificate is tried.
    let tCut = null;
    const cut = (async () => {
      for (let i = 0; i < 250 && tCut === null; i++) {
        if (dev.lost() > lostBefore || /refused the certificate/.test(dev.log.slice(at)))
          tCut = Date.now();
        else
          await sleep(10);
      }
    })();
    assert.match(out, /blocklisted/);
    // A, at DPS and at the hub, right after the command.
    const dps = await dpsRegister(s, 'br-1', a);
    const tDps = Date.now();
    const thief = simDevice(s, 'br-1', a);
    assert.equal(await thief.connect(), false);
    const tHub = Date.now();
    // The device's session was cut; it registers with B and is back.
    at = await dev.wait(/dps: assigned to .* as br-1/, at);
    at = await dev.wait(/hub: connected to .* slot b/, at);
    const tBack = Date.now();
    at = await dev.wait(/telemetry \d+ sent/, at);
    await cut;
    await sleep(2000);
    await dev.kill();
    await sleep(300);
    const second = JSON.parse(await s.rc('registration', 'show', 'br-1', '--json'));
    const tel = telemetryOf(await s.events())['br-1'];
    const m = {
      devices: 1, sent: dev.sent(), seen: tel.seen, lost: tel.missing.length, missing: tel.missing,
      commandMs: tOut - tCmd, oldRefusedAtDpsMs: tDps - tCmd, dpsStatus: dps.status, dpsErrorCode: dps.json?.errorCode,
      oldRefusedAtHubMs: tHub - tCmd, hubConnack: thief.lastRefusal, sessionCutMs: tCut === null ? null : tCut - tCmd,
      backOnNewCertMs: tBack - tCmd, sameRegistration: second.createdDateTimeUtc === first.createdDateTimeUtc,
      registrationEtagChanged: second.etag !== first.etag,
      durationMs: Date.now() - t0, telemetryIntervalMs: 200,
    };
    measure('breach-individual', m);
    assert.equal(dps.status, 401, JSON.stringify(dps.json));
    assert.equal(thief.lastRefusal, 5);
    assert.ok(m.oldRefusedAtDpsMs < 1000 + m.commandMs && m.oldRefusedAtHubMs < 1000 + m.commandMs, JSON.stringify(m));
    assert.ok(tCut !== null && tCut - tOut < 1000, JSON.stringify(m));
    assert.equal(second.createdDateTimeUtc, first.createdDateTimeUtc);
    assert.equal(second.registrationId, 'br-1');
    assert.equal(second.status, 'assigned');
  });
});
