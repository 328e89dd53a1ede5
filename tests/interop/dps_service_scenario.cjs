// The unmodified azure-iot-provisioning-service SDK driving rollcalld.
// Run by dps_service.test.mjs in a child process so that NODE_EXTRA_CA_CERTS
// (read at process start) makes node trust the data directory's root CA.
// Env: DPS_CS (owner connection string), CERT_DIR (device-*.pem, group.pem),
// REG_ID_STATE (a registration state that exists).  Prints one JSON line
// per step; exits non-zero on the first failure.
'use strict';
const fs = require('fs');
const assert = require('assert');
const { ProvisioningServiceClient } = require('azure-iot-provisioning-service');

const dps = ProvisioningServiceClient.fromConnectionString(process.env.DPS_CS);
const certDir = process.env.CERT_DIR;
const pem = (name) => fs.readFileSync(`${certDir}/${name}`, 'utf8');
const step = (name, extra) => console.log(JSON.stringify({ step: name, ...extra }));

function x509Individual(id, cert) {
  return {
    registrationId: id,
    attestation: { type: 'x509', x509: { clientCertificates: { primary: { certificate: cert } } } },
    provisioningStatus: 'enabled',
    reprovisionPolicy: { updateHubAssignment: true, migrateDeviceData: true },
  };
}

function queryAll(query) {
  return new Promise((resolve, reject) => {
    const pages = [];
    query.next(function onPage(err, page) {
      if (err) return reject(err);
      pages.push(page);
      if (query.hasMoreResults) query.next(onPage);
      else resolve(pages);
    });
  });
}

function bulk(op) {
  // The promise form of runBulkEnrollmentOperation never resolves in the
  // SDK: the callback form is the one that works.
  return new Promise((resolve, reject) => {
    dps.runBulkEnrollmentOperation(op, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

async function main() {
  let { responseBody: ie } = await dps.createOrUpdateIndividualEnrollment(
    x509Individual('device-001', pem('device-001.pem')));
  assert.strictEqual(ie.registrationId, 'device-001');
  assert.ok(ie.etag, 'etag returned');
  const info = ie.attestation.x509.clientCertificates.primary.info;
  assert.match(info.sha256Thumbprint, /^[0-9A-F]{64}$/);
  assert.strictEqual(info.subjectName, 'CN=device-001');
  step('create', { etag: ie.etag, sha256: info.sha256Thumbprint });

  ({ responseBody: ie } = await dps.getIndividualEnrollment('device-001'));
  assert.strictEqual(ie.provisioningStatus, 'enabled');
  assert.strictEqual(ie.attestation.x509.clientCertificates.primary.certificate, undefined);
  step('get');

  // Roll for expiry: the new certificate goes into the secondary slot by
  // read-modify-write; the SDK sends If-Match with the etag it read.
  const oldEtag = ie.etag;
  ie.attestation.x509.clientCertificates.secondary = { certificate: pem('device-001-new.pem') };
  ({ responseBody: ie } = await dps.createOrUpdateIndividualEnrollment(ie));
  const slots = ie.attestation.x509.clientCertificates;
  assert.ok(slots.primary && slots.primary.info, 'primary kept');
  assert.ok(slots.secondary && slots.secondary.info, 'secondary added');
  assert.notStrictEqual(slots.primary.info.sha256Thumbprint, slots.secondary.info.sha256Thumbprint);
  assert.notStrictEqual(ie.etag, oldEtag);
  step('add-secondary');

  // A stale etag is refused.
  const stale = { ...ie, etag: oldEtag };
  await assert.rejects(dps.createOrUpdateIndividualEnrollment(stale), (e) => e.name === 'InvalidEtagError');
  step('stale-etag-412');

  ie.provisioningStatus = 'disabled';
  ({ responseBody: ie } = await dps.createOrUpdateIndividualEnrollment(ie));
  assert.strictEqual(ie.provisioningStatus, 'disabled');
  ({ responseBody: ie } = await dps.getIndividualEnrollment('device-001'));
  assert.strictEqual(ie.provisioningStatus, 'disabled');
  step('disable');

  const am = await dps.getIndividualEnrollmentAttestationMechanism('device-001');
  assert.strictEqual(am.responseBody.type, 'x509');
  step('attestation-mechanism');

  // Bulk create, callback form.
  const bulkResult = await bulk({
    mode: 'create',
    enrollments: ['device-002', 'device-003', 'device-004'].map((id) => x509Individual(id, pem(`${id}.pem`))),
  });
  assert.strictEqual(bulkResult.isSuccessful, true, JSON.stringify(bulkResult));
  step('bulk-create');

  // Page through the enrollments two at a time (callback form keeps the
  // continuation token).
  const pages = await queryAll(dps.createIndividualEnrollmentQuery({ query: '*' }, 2));
  const ids = pages.flat().map((e) => e.registrationId.toLowerCase()).sort();
  assert.deepStrictEqual(ids, ['device-001', 'device-002', 'device-003', 'device-004']);
  assert.ok(pages.length >= 2, 'several pages');
  step('query', { pages: pages.length });

  let { responseBody: grp } = await dps.createOrUpdateEnrollmentGroup({
    enrollmentGroupId: 'fleet-a',
    attestation: { type: 'x509', x509: { signingCertificates: { primary: { certificate: pem('group.pem') } } } },
    provisioningStatus: 'enabled',
  });
  assert.strictEqual(grp.enrollmentGroupId, 'fleet-a');
  ({ responseBody: grp } = await dps.getEnrollmentGroup('fleet-a'));
  assert.ok(grp.attestation.x509.signingCertificates.primary.info.subjectName);
  const gam = await dps.getEnrollmentGroupAttestationMechanism('fleet-a');
  assert.strictEqual(gam.responseBody.type, 'x509');
  await dps.deleteEnrollmentGroup('fleet-a');
  await assert.rejects(dps.getEnrollmentGroup('fleet-a'));
  step('group');

  const { responseBody: rs } = await dps.getDeviceRegistrationState(process.env.REG_ID_STATE);
  assert.strictEqual(rs.registrationId, process.env.REG_ID_STATE);
  await dps.deleteDeviceRegistrationState(rs); // sends If-Match: rs.etag
  await assert.rejects(dps.getDeviceRegistrationState(process.env.REG_ID_STATE));
  step('registration-state');

  await dps.deleteIndividualEnrollment('device-001');
  step('done');
}

main().catch((e) => {
  console.error('FAILED:', e && e.name, e && e.message, e && e.responseBody);
  process.exit(1);
});
