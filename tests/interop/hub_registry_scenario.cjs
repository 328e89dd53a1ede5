// The unmodified azure-iothub SDK (Registry, Client) driving rollcalld's hub
// service API.  Run by hub_registry.test.mjs in a child process so that
// NODE_EXTRA_CA_CERTS (read at process start) makes node trust the data
// directory's root CA.  Env: HUB_CS (iothubowner connection string).
// Prints one JSON line per step; exits non-zero on the first failure.
'use strict';
const assert = require('assert');
const { Registry, Client } = require('azure-iothub');

const T1 = 'AABBCCDDEEFF00112233445566778899AABBCCDD';
const T2 = '00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF';
const registry = Registry.fromConnectionString(process.env.HUB_CS);
const client = Client.fromConnectionString(process.env.HUB_CS);
const step = (name, extra) => console.log(JSON.stringify({ step: name, ...extra }));

function queryAll(query) {
  return new Promise((resolve, reject) => {
    const items = [];
    let pages = 0;
    // Callback form: it keeps the continuation token (§5 SDK traps).
    query.nextAsTwin(function onPage(err, page) {
      if (err) return reject(err);
      pages++;
      items.push(...page);
      if (query.hasMoreResults) query.nextAsTwin(onPage);
      else resolve({ items, pages });
    });
  });
}

async function expectError(promise, status, name) {
  try {
    await promise;
  } catch (e) {
    assert.strictEqual(e.response && e.response.statusCode, status, `${e.name} ${e.message} ${e.responseBody}`);
    if (name) assert.strictEqual(e.name, name, e.responseBody);
    return e;
  }
  throw new Error(`expected HTTP ${status}`);
}

async function main() {
  const dev = {
    deviceId: 'hub-dev-1',
    status: 'enabled',
    authentication: { type: 'selfSigned', x509Thumbprint: { primaryThumbprint: T1 } },
  };
  let { responseBody: d } = await registry.create(dev);
  assert.strictEqual(d.deviceId, 'hub-dev-1');
  assert.strictEqual(d.authentication.type, 'selfSigned');
  assert.strictEqual(d.authentication.x509Thumbprint.primaryThumbprint, T1);
  assert.strictEqual(d.connectionState, 'Disconnected');
  assert.ok(d.etag && d.generationId);
  step('create');

  await expectError(registry.create(dev), 409, 'DeviceAlreadyExistsError');
  step('create-exists-409');

  // No authentication: the SDK makes it a SAS identity, which this hub refuses.
  const sas = await expectError(registry.create({ deviceId: 'hub-sas' }), 400, 'ArgumentError');
  assert.match(sas.responseBody, /X\.509 only/);
  step('sas-refused-400');

  ({ responseBody: d } = await registry.get('hub-dev-1'));
  assert.strictEqual(d.deviceId, 'hub-dev-1');
  step('get');

  // Roll: the new thumbprint goes into the secondary slot (If-Match: "*").
  d.authentication.x509Thumbprint.secondaryThumbprint = T2;
  d.status = 'disabled';
  d.statusReason = 'rolling';
  const oldEtag = d.etag;
  ({ responseBody: d } = await registry.update(d));
  assert.strictEqual(d.authentication.x509Thumbprint.secondaryThumbprint, T2);
  assert.strictEqual(d.status, 'disabled');
  assert.notStrictEqual(d.etag, oldEtag);
  step('update');

  await registry.create({ deviceId: 'hub-dev-2', authentication: { x509Thumbprint: { primaryThumbprint: T2 } } });
  await registry.create({ deviceId: 'hub-dev-3', authentication: { type: 'certificateAuthority' } });
  const { responseBody: list } = await registry.list();
  assert.deepStrictEqual(list.map((x) => x.deviceId), ['hub-dev-1', 'hub-dev-2', 'hub-dev-3']);
  step('list');

  // Twin: tags with the twin's etag, then a query over them, paged by one.
  let { responseBody: twin } = await registry.getTwin('hub-dev-2');
  ({ responseBody: twin } = await registry.updateTwin('hub-dev-2',
    { tags: { site: 'north' }, properties: { desired: { rate: 5 } } }, twin.etag));
  assert.strictEqual(twin.tags.site, 'north');
  assert.strictEqual(twin.properties.desired.rate, 5);
  await expectError(registry.updateTwin('hub-dev-2', { tags: { site: 'x' } }, 'stale'), 412, 'InvalidEtagError');
  step('twin');

  let q = await queryAll(registry.createQuery('SELECT * FROM devices', 1));
  assert.deepStrictEqual(q.items.map((t) => t.deviceId), ['hub-dev-1', 'hub-dev-2', 'hub-dev-3']);
  assert.ok(q.pages >= 3, `pages ${q.pages}`);
  q = await queryAll(registry.createQuery("SELECT * FROM devices WHERE tags.site = 'north'"));
  assert.deepStrictEqual(q.items.map((t) => t.deviceId), ['hub-dev-2']);
  await expectError(new Promise((resolve, reject) =>
    registry.createQuery('SELECT * FROM devices WHERE').next((e, r) => (e ? reject(e) : resolve(r)))), 400);
  step('query');

  // No device session layer answers: the device is offline.
  const off = await expectError(client.invokeDeviceMethod('hub-dev-2',
    { methodName: 'roll', payload: { a: 1 }, responseTimeoutInSeconds: 5 }), 404);
  assert.match(off.responseBody, /DeviceNotOnline/);
  step('method-offline-404');

  await registry.delete('hub-dev-1');
  await expectError(registry.get('hub-dev-1'), 404, 'DeviceNotFoundError');
  await expectError(registry.delete('hub-dev-1'), 404, 'DeviceNotFoundError');
  step('delete');

  const bulk = await new Promise((resolve, reject) => registry.addDevices([
    { deviceId: 'bulk-1', authentication: { x509Thumbprint: { primaryThumbprint: T1 } } },
    { deviceId: 'hub-dev-2', authentication: { x509Thumbprint: { primaryThumbprint: T1 } } },
  ], (e, r) => (e ? reject(e) : resolve(r))));
  assert.strictEqual(bulk.isSuccessful, false);
  assert.strictEqual(bulk.errors.length, 1);
  assert.strictEqual(bulk.errors[0].deviceId, 'hub-dev-2');
  await new Promise((resolve, reject) => registry.removeDevices([{ deviceId: 'bulk-1' }, { deviceId: 'hub-dev-2' }],
    true, (e, r) => (e ? reject(e) : resolve(r))));
  ({ responseBody: d } = await registry.list());
  assert.deepStrictEqual(d.map((x) => x.deviceId), ['hub-dev-3']);
  step('bulk');
  step('done');
}

main().catch((e) => {
  console.error(e.name, e.message, e.responseBody || '');
  process.exit(1);
});
