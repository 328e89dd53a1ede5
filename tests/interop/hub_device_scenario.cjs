// The unmodified npm azure-iot-device-mqtt device SDK (X.509 from files)
// and azure-iothub back end against rollcalld's hub.  Run by
// hub_device.test.mjs in a child process so that NODE_EXTRA_CA_CERTS (read
// at process start) makes node trust the data directory's root CA for the
// service SDK.  Env: HUB_CS (iothubowner connection string), HUB_HOST,
// CA (the trust bundle), CERTS (directory holding {a,b,c,late}.{pem,key}
// issued by the hub's device CA).
// Prints one JSON line per step; exits non-zero on the first failure.
'use strict';
const assert = require('assert');
const crypto = require('crypto');
const fs = require('fs');
const https = require('https');
const path = require('path');
const { Client: DeviceClient, Message } = require('azure-iot-device');
const { Mqtt } = require('azure-iot-device-mqtt');
const { Registry, Client: ServiceClient, JobClient } = require('azure-iothub');

const HOST = process.env.HUB_HOST;
const HUB_CS = process.env.HUB_CS;
const ca = fs.readFileSync(process.env.CA, 'utf8');
const registry = Registry.fromConnectionString(HUB_CS);
const service = ServiceClient.fromConnectionString(HUB_CS);
const jobs = JobClient.fromConnectionString(HUB_CS);
const step = (name, extra) => console.log(JSON.stringify({ step: name, ...extra }));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function creds(id) {
  const dir = process.env.CERTS;
  return {
    cert: fs.readFileSync(path.join(dir, `${id}.pem`), 'utf8'),
    key: fs.readFileSync(path.join(dir, `${id}.key`), 'utf8'),
  };
}

// The leaf's SHA-256 thumbprint, upper-case hex as the portal shows it.
function thumbprint(pem) {
  return new crypto.X509Certificate(pem).fingerprint256.replace(/:/g, '');
}

// Reference §9: an x509 connection string plus setOptions({cert, key, ca})
// in one call (each call replaces the transport's TLS options).
async function device(id) {
  const c = creds(id);
  const client = DeviceClient.fromConnectionString(`HostName=${HOST};DeviceId=${id};x509=true`, Mqtt);
  await client.setOptions({ cert: c.cert, key: c.key, ca });
  return client;
}

async function createIdentity(id) {
  const { responseBody: d } = await registry.create({
    deviceId: id,
    status: 'enabled',
    authentication: { type: 'selfSigned', x509Thumbprint: { primaryThumbprint: thumbprint(creds(id).cert) } },
  });
  assert.strictEqual(d.deviceId, id);
}

// GET /events (rollcall's telemetry read-out) with a SAS token signed as
// the SDK signs its own (sr = host, HMAC-SHA256 over "sr\nse").
function events(after, wait) {
  const cs = Object.fromEntries(HUB_CS.split(';').map((kv) => {
    const i = kv.indexOf('=');
    return [kv.slice(0, i), kv.slice(i + 1)];
  }));
  const se = Math.ceil(Date.now() / 1000) + 3600;
  const sr = encodeURIComponent(cs.HostName);
  const sig = crypto.createHmac('sha256', Buffer.from(cs.SharedAccessKey, 'base64'))
    .update(`${sr}\n${se}`).digest('base64');
  const token = `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(sig)}` +
    `&skn=${encodeURIComponent(cs.SharedAccessKeyName)}&se=${se}`;
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: cs.HostName,
      port: 443,
      ca,
      path: `/events?after=${after}&wait=${wait}`,
      headers: { Authorization: token },
    }, (res) => {
      const chunks = [];
      res.on('data', (b) => chunks.push(b));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200)
          return reject(new Error(`GET /events: ${res.statusCode} ${text}`));
        resolve(JSON.parse(text));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

async function telemetry(a) {
  const m = new Message(JSON.stringify({ temperature: 21.5 }));
  m.contentType = 'application/json';
  m.contentEncoding = 'utf-8';
  m.messageId = 'mid-1';
  m.properties.add('alert', 'yes please');
  await a.sendEvent(m);
  let after = 0;
  for (const end = Date.now() + 15000; Date.now() < end;) {
    // A long-poll: answered off the event loops, so it does not hold up
    // the device's own connection.
    const page = await events(after, 2);
    const ev = page.events.find((e) => e.deviceId === 'a');
    if (ev) {
      assert.deepStrictEqual(ev.body, { temperature: 21.5 });
      assert.strictEqual(Buffer.from(ev.bodyBase64, 'base64').toString(), '{"temperature":21.5}');
      assert.ok(ev.properties && ev.properties.alert === 'yes please', JSON.stringify(ev.properties));
      return;
    }
    after = page.next;
    await sleep(200);
  }
  throw new Error('telemetry never reached GET /events');
}

async function method(a) {
  a.onDeviceMethod('ping', (req, res) => res.send(201, { pong: req.payload }, () => {}));
  await sleep(500); // the methods SUBSCRIBE goes out when the handler is added
  const { result } = await service.invokeDeviceMethod('a', {
    methodName: 'ping',
    payload: { n: 7 },
    responseTimeoutInSeconds: 10,
  });
  assert.deepStrictEqual(result, { status: 201, payload: { pong: { n: 7 } } });
  // A method the device has no handler for goes unanswered: the hub
  // reports the timeout (504), which the SDK turns into an error.
  let refused = null;
  try {
    await service.invokeDeviceMethod('a', { methodName: 'nothere', responseTimeoutInSeconds: 2 });
  } catch (e) {
    refused = e;
  }
  assert.ok(refused, 'a method nobody answers succeeded');
  step('method-timeout', { error: refused.name });
}

async function twin(a) {
  const t = await a.getTwin();
  await new Promise((resolve, reject) => {
    t.properties.reported.update({ firmware: '1.2.3', battery: 80 }, (err) => (err ? reject(err) : resolve()));
  });
  const { responseBody: st } = await registry.getTwin('a');
  assert.strictEqual(st.properties.reported.firmware, '1.2.3');
  assert.strictEqual(st.properties.reported.battery, 80);

  const got = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('desired update never arrived')), 15000);
    t.on('properties.desired', (delta) => {
      if (delta.interval === 30) {
        clearTimeout(timer);
        resolve(delta);
      }
    });
  });
  await sleep(500); // the desired SUBSCRIBE goes out when the listener is added
  await st.update({ properties: { desired: { interval: 30 } } });
  const delta = await got;
  assert.ok(Number.isInteger(delta.$version), JSON.stringify(delta));
  assert.strictEqual(t.properties.desired.interval, 30);

  // Registry.updateTwin too (If-Match: *), seen by the device.
  const got2 = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('second desired update never arrived')), 15000);
    t.on('properties.desired', (d) => {
      if (d.mode === 'eco') {
        clearTimeout(timer);
        resolve(d);
      }
    });
  });
  await registry.updateTwin('a', { properties: { desired: { mode: 'eco' } } }, '*');
  await got2;
}

async function job(clients) {
  for (const c of Object.values(clients))
    c.onDeviceMethod('reboot', (req, res) => res.send(200, { ok: true, echo: req.payload }, () => {}));
  await sleep(500);
  const jobId = `job-${Date.now()}`;
  const { jobStatus: j } = await jobs.scheduleDeviceMethod(jobId, "deviceId IN ['a','b','c']", {
    methodName: 'reboot',
    payload: { delay: 0 },
    responseTimeoutInSeconds: 10,
  });
  assert.strictEqual(j.jobId, jobId);
  for (const end = Date.now() + 60000; ;) {
    const { jobStatus: s } = await jobs.getJob(jobId);
    if (s.status === 'completed') {
      assert.strictEqual(s.deviceJobStatistics.succeededCount, 3, JSON.stringify(s));
      assert.strictEqual(s.deviceJobStatistics.failedCount, 0, JSON.stringify(s));
      assert.strictEqual(s.deviceJobStatistics.deviceCount, 3, JSON.stringify(s));
      return;
    }
    assert.ok(['queued', 'scheduled', 'running'].includes(s.status), JSON.stringify(s));
    assert.ok(Date.now() < end, `job still ${s.status}`);
    await sleep(250);
  }
}

async function deleted(a) {
  // No retries: a dropped connection surfaces as the client's 'disconnect'
  // at once instead of after the SDK's 240 s of reconnect attempts.
  a.setRetryPolicy({ shouldRetry: () => false, nextRetryTimeout: () => 0 });
  const gone = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no disconnect after the identity was deleted')), 10000);
    a.on('disconnect', (d) => {
      clearTimeout(timer);
      resolve(d);
    });
  });
  await registry.delete('a');
  await gone;

  const fresh = await device('a');
  try {
    await fresh.open();
  } catch (e) {
    assert.strictEqual(e.name, 'UnauthorizedError', `${e.name} ${e.message}`);
    return;
  }
  throw new Error('a deleted identity connected');
}

async function main() {
  for (const id of ['a', 'b', 'c'])
    await createIdentity(id);
  const clients = {};
  for (const id of ['a', 'b', 'c']) {
    clients[id] = await device(id);
    clients[id].on('error', (e) => console.error(`device ${id} error`, e.name, e.message));
    await clients[id].open();
  }
  step('connect');
  await telemetry(clients.a);
  step('telemetry');
  await method(clients.a);
  step('method');
  await twin(clients.a);
  step('twin');
  await job(clients);
  step('job');
  await deleted(clients.a);
  step('delete');
  await clients.b.close();
  await clients.c.close();
  step('done');
}

main().then(() => process.exit(0), (e) => {
  console.error(e && e.stack, e && (e.responseBody || e.result || ''));
  process.exit(1);
});
