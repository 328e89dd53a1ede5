// Scenario 1 of issue 7: expiry roll of an individual enrollment through
// the secondary slot, with a rollcall-agent device sending QoS 1
// telemetry throughout.  The new certificate reaches the device by the
// agent's own renewal (rollCertificate: CSR through DPS, attested by the
// current certificate); the operator then puts it in the enrollment's
// free slot (`roll individual --reason expiry`), the device registers
// again with it (the reprovision method), and `--finish` removes the old
// one.  Expected: no telemetry message lost, no connection refused, one
// registration record.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { AGENT, agent, leafOf, dpsRegister, measure, server, sleep, telemetryOf, thumbprint } from './scenario_lib.mjs';

describe('scenario 1: expiry roll of an individual enrollment', { skip: !AGENT && 'ROLLCALL_AGENT is not set' }, () => {
  let s, dev;
  after(async () => {
    await dev?.kill();
    await s?.d.stop();
  });

  it('moves the device to a new certificate without losing a message or refusing a connection', async () => {
    const t0 = Date.now();
    s = await server();
    const boot = await s.issue('exp-1', 'exp-1-boot');
    await s.rc('enrollment', 'create', 'exp-1', '--primary-cert', boot.pem);
    dev = agent(s, 'exp-1', boot).start();
    let at = await dev.wait(/hub: connected to .* slot a/);
    at = await dev.wait(/telemetry 3 sent/, at);
    const first = JSON.parse(await s.rc('registration', 'show', 'exp-1', '--json'));

    // The device renews: a new key and a certificate from the CA.
    const tRoll = Date.now();
    assert.match(await s.invoke('exp-1', 'rollCertificate'), /200/);
    at = await dev.wait(/roll: committed, connected to .* slot b/, at);
    const newLeaf = s.file('exp-1-new.pem');
    fs.writeFileSync(newLeaf, leafOf(path.join(dev.state, 'b', 'chain.pem')));
    // The operator puts it in the free slot; both register now.
    const out = await s.rc('roll', 'individual', 'exp-1', '--new-cert', newLeaf, '--reason', 'expiry');
    assert.match(out, /secondary slot/);
    // The device registers again, with the new certificate.
    assert.match(await s.invoke('exp-1', 'reprovision'), /200/);
    at = await dev.wait(/dps: assigned to .* as exp-1/, at);
    at = await dev.wait(/hub: connected to .* slot b/, at);
    assert.match(await s.rc('roll', 'individual', 'exp-1', '--finish', '--new-cert', newLeaf), /removed the primary/);
    const tDone = Date.now();
    at = await dev.wait(/telemetry \d+ sent/, at);
    await sleep(2500);
    await dev.kill();
    await sleep(300);

    const enr = JSON.parse(await s.rc('enrollment', 'show', 'exp-1', '--json'));
    const att = enr.attestation.x509.clientCertificates;
    assert.equal(att.primary ?? null, null, JSON.stringify(att));
    assert.ok(att.secondary, JSON.stringify(att));
    const second = JSON.parse(await s.rc('registration', 'show', 'exp-1', '--json'));
    assert.equal(second.createdDateTimeUtc, first.createdDateTimeUtc);
    const hub = JSON.parse(await s.rc('device', 'show', 'exp-1', '--json'));
    assert.equal(hub.authentication.x509Thumbprint.primaryThumbprint, thumbprint(newLeaf));
    // The old certificate is out now that the roll is finished.
    const old = await dpsRegister(s, 'exp-1', boot);

    const tel = telemetryOf(await s.events())['exp-1'];
    const sent = dev.sent();
    const m = {
      devices: 1, sent, seen: tel.seen, lost: tel.missing.length, missing: tel.missing, duplicates: tel.dups,
      refusedConnections: dev.refused(), lostSessions: dev.lost(), oldCertAfterFinish: old.status,
      rollMs: tDone - tRoll, durationMs: Date.now() - t0,
      telemetryIntervalMs: 200,
    };
    measure('expiry-individual', m);
    assert.equal(old.status, 401);
    assert.equal(tel.max, sent, JSON.stringify(m));
    assert.deepEqual(tel.missing, [], JSON.stringify(m));
    assert.equal(m.refusedConnections, 0, dev.log);
  });
});
