// One step of the DPS device interop test (dps_device.test.mjs), run in
// its own node process with NODE_EXTRA_CA_CERTS set to the data
// directory's root CA.  Prints one JSON line per registration result.
'use strict';

const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { ProvisioningDeviceClient } = require('azure-iot-provisioning-device');
const { Mqtt: ProvMqtt } = require('azure-iot-provisioning-device-mqtt');
const { Http: ProvHttp } = require('azure-iot-provisioning-device-http');
const { X509Security } = require('azure-iot-security-x509');
const { Client, Message, X509AuthenticationProvider } = require('azure-iot-device');
const { Mqtt: HubMqtt } = require('azure-iot-device-mqtt');

const { CERTS, CA, DPS_HOST, ID_SCOPE, HUB_GATEWAY } = process.env;
const ca = fs.readFileSync(CA, 'utf8');

// cert: the leaf (file PREFIX.pem), or the leaf and its intermediates
// (PREFIX-chain.pem) when chain is set.
function x509(prefix, chain) {
  return {
    cert: fs.readFileSync(path.join(CERTS, `${prefix}${chain ? '-chain' : ''}.pem`), 'utf8'),
    key: fs.readFileSync(path.join(CERTS, `${prefix}.key`), 'utf8'),
  };
}

async function register(id, creds, transport) {
  const t = transport === 'http' ? new ProvHttp() : new ProvMqtt();
  const client = ProvisioningDeviceClient.create(DPS_HOST, ID_SCOPE, t, new X509Security(id, creds));
  const r = await client.register();
  console.log(JSON.stringify(r));
  return r;
}

async function hubClient(reg, creds) {
  const auth = new X509AuthenticationProvider({
    host: reg.assignedHub,
    deviceId: reg.deviceId,
    x509: creds,
    gatewayHostName: HUB_GATEWAY,
  });
  const client = Client.fromAuthenticationProvider(auth, HubMqtt);
  await client.setOptions({ ca });
  return client;
}

// Registers, connects to the assigned hub, sends one message.
async function provisionAndSend(id, creds, transport) {
  const reg = await register(id, creds, transport);
  assert.strictEqual(reg.status, 'assigned', JSON.stringify(reg));
  const client = await hubClient(reg, creds);
  await client.open();
  await client.sendEvent(new Message(JSON.stringify({ from: id })));
  await client.close();
  return reg;
}

async function refusedAtDps(id, creds) {
  try {
    await register(id, creds, 'mqtt');
  } catch (e) {
    assert.strictEqual(e.name, 'UnauthorizedError', `${e.name} ${e.message}`);
    assert.strictEqual(e.result && e.result.errorCode, 401002, JSON.stringify(e.result));
    return;
  }
  throw new Error(`${id} was registered`);
}

async function twinReported(client) {
  const twin = await client.getTwin();
  return twin.properties.reported;
}

const steps = {
  primary: () => provisionAndSend('ind-1', x509('ind-1-a'), 'mqtt'),
  secondary: () => provisionAndSend('ind-1', x509('ind-1-b'), 'http'),
  'old-refused': async () => {
    // The registration with the rolled certificate replaced the hub's
    // thumbprint: the old certificate is not authorized any more (S9).
    const client = await hubClient({ assignedHub: DPS_HOST, deviceId: 'ind-1' }, x509('ind-1-a'));
    try {
      await client.open();
    } catch (e) {
      assert.strictEqual(e.name, 'UnauthorizedError', `${e.name} ${e.message}`);
      return;
    }
    throw new Error('the old certificate still connects');
  },
  'group-root': () => provisionAndSend('grp-r1', x509('grp-r1'), 'mqtt'),
  'group-int-leaf': () => provisionAndSend('grp-i1', x509('grp-i1'), 'http'),
  'group-int-chain': () => provisionAndSend('grp-i2', x509('grp-i2', true), 'mqtt'),
  'disabled-in-group': () => refusedAtDps('grp-r2', x509('grp-r2')),
  'migrate-before': async () => {
    const reg = await register('mig-1', x509('mig-1'), 'mqtt');
    const client = await hubClient(reg, x509('mig-1'));
    await client.open();
    const twin = await client.getTwin();
    await new Promise((resolve, reject) => twin.properties.reported.update({ firmware: '2.0.1', mood: 'moving' },
      (err) => (err ? reject(err) : resolve())));
    await client.close();
  },
  'migrate-after': async () => {
    const reg = await register('mig-1', x509('mig-1'), 'mqtt');
    assert.strictEqual(reg.assignedHub, 'hub2.rollcall.test', JSON.stringify(reg));
    const client = await hubClient(reg, x509('mig-1'));
    await client.open();
    const reported = await twinReported(client);
    assert.strictEqual(reported.firmware, '2.0.1', JSON.stringify(reported));
    assert.strictEqual(reported.mood, 'moving');
    await client.close();
  },
};

steps[process.argv[2]]().then(() => process.exit(0), (e) => {
  console.error(e && e.stack, JSON.stringify((e && (e.result || e.responseBody)) || ''));
  process.exit(1);
});
