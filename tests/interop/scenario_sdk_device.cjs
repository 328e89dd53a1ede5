// The device of scenario_sdk_expiry.test.mjs: the unmodified npm SDKs
// (azure-iot-provisioning-device, azure-iot-device-mqtt) sending
// {"seq": N} telemetry every 200 ms (QoS 1: sendEvent resolves on PUBACK).
// Commands on stdin: "roll" pauses the telemetry, registers again with
// the new certificate (files NEW.pem/NEW.key), closes the hub session and
// opens one with the new certificate; "stop" ends.  Prints one JSON line per event.
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');
const { ProvisioningDeviceClient } = require('azure-iot-provisioning-device');
const { Mqtt: ProvMqtt } = require('azure-iot-provisioning-device-mqtt');
const { Http: ProvHttp } = require('azure-iot-provisioning-device-http');
const { X509Security } = require('azure-iot-security-x509');
const { Client, Message, X509AuthenticationProvider } = require('azure-iot-device');
const { Mqtt: HubMqtt } = require('azure-iot-device-mqtt');

const { CERTS, CA, DPS_HOST, ID_SCOPE, HUB_GATEWAY, DEVICE_ID, OLD, NEW } = process.env;
const ca = fs.readFileSync(CA, 'utf8');
const say = (o) => console.log(JSON.stringify(o));
const creds = (p) => ({
  cert: fs.readFileSync(path.join(CERTS, `${p}.pem`), 'utf8'),
  key: fs.readFileSync(path.join(CERTS, `${p}.key`), 'utf8'),
});

let client = null, seq = 0, acked = 0, failed = 0, refused = 0, paused = false, inflight = null;

async function register(p, transport) {
  const t = transport === 'http' ? new ProvHttp() : new ProvMqtt();
  try {
    return await ProvisioningDeviceClient.create(DPS_HOST, ID_SCOPE, t, new X509Security(DEVICE_ID, creds(p))).register();
  } catch (e) {
    refused++;
    throw e;
  }
}

async function connect(p, reg) {
  const c = creds(p);
  const auth = new X509AuthenticationProvider({ host: reg.assignedHub, deviceId: reg.deviceId, x509: c,
    gatewayHostName: HUB_GATEWAY });
  const hub = Client.fromAuthenticationProvider(auth, HubMqtt);
  await hub.setOptions({ ca });
  try {
    await hub.open();
  } catch (e) {
    refused++;
    throw e;
  }
  return { hub, reg };
}

function tick() {
  if (paused || inflight)
    return;
  const n = ++seq;
  inflight = client.sendEvent(new Message(JSON.stringify({ seq: n })))
    .then(() => { acked++; }, (e) => { failed++; say({ event: 'sendFailed', seq: n, error: String(e) }); })
    .finally(() => { inflight = null; });
}

async function main() {
  const first = await connect(OLD, await register(OLD, 'mqtt'));
  client = first.hub;
  say({ event: 'connected', cert: OLD, assignedHub: first.reg.assignedHub });
  const timer = setInterval(tick, 200);
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (line === 'roll') {
      // Sending pauses first: the registration with the new certificate
      // gives the hub identity the new thumbprint and the hub closes the
      // session on the old one at once.
      const t0 = Date.now();
      paused = true;
      await inflight;
      const reg = await register(NEW, 'http');
      await client.close();
      client = (await connect(NEW, reg)).hub;
      paused = false;
      say({ event: 'switched', cert: NEW, pauseMs: Date.now() - t0 });
    } else if (line === 'stop') {
      clearInterval(timer);
      await inflight;
      await client.close();
      say({ event: 'done', sent: seq, acked, failed, refused });
      process.exit(0);
    }
  }
}

main().catch((e) => {
  console.error(e && e.stack, JSON.stringify((e && (e.result || e.responseBody)) || ''));
  process.exit(1);
});
