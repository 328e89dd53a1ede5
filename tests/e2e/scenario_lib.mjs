// Support for the rolling scenario tests (issue 7, "done when"): a
// rollcalld made by `rollcall init`, rollcall-agent devices, simulated
// MQTT devices that send numbered QoS 1 telemetry and answer direct
// methods, and the measurements every scenario prints: messages sent
// against those the hub's event log holds (GET /events), the gaps in each
// device's sequence numbers, refused connections.
//
// The CLI is always run asynchronously: the simulated devices live in
// this process and must keep answering while a command waits on them.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { ROLLCALL, makeSasToken, request, startDaemon, tmpdir } from './harness.mjs';

export const AGENT = process.env.ROLLCALL_AGENT;
const API = 'api-version=2019-03-31';
const children = new Set();

process.on('exit', () => {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      // gone
    }
  }
});

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Runs cmd to completion: {status, stdout, stderr}.
export function runAsync(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '', stderr = '';
    child.stdout.on('data', (x) => { stdout += x; });
    child.stderr.on('data', (x) => { stderr += x; });
    if (opts.onStdout)
      child.stdout.on('data', (x) => opts.onStdout(String(x)));
    child.on('exit', (status) => {
      children.delete(child);
      resolve({ status, stdout, stderr });
    });
  });
}

export async function must(cmd, args) {
  const r = await runAsync(cmd, args);
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

// Two free TCP ports on 127.0.0.1, for a daemon that must come back on
// the same ports after a restart.
export async function freePorts(n) {
  const socks = [];
  for (let i = 0; i < n; i++) {
    const s = net.createServer();
    await new Promise((ok) => s.listen(0, '127.0.0.1', ok));
    socks.push(s);
  }
  const ports = socks.map((s) => s.address().port);
  for (const s of socks)
    await new Promise((ok) => s.close(ok));
  return ports;
}

// A data directory from `rollcall init` and its rollcalld.  opts: extra
// (lines appended to rollcall.conf), ports ([https, mqtt], default 0),
// addr (the loopback address it listens on and is named by, 127.0.0.1).
export async function server(opts = {}) {
  const work = tmpdir();
  const data = path.join(work, 'data');
  const [hp, mp] = opts.ports ?? [0, 0];
  const addr = opts.addr ?? '127.0.0.1';
  await must(ROLLCALL, ['init', data, '--hostname', addr, '--listen', addr,
    '--https-port', String(hp), '--mqtt-port', String(mp)]);
  const conf = path.join(data, 'rollcall.conf');
  if (opts.extra)
    fs.appendFileSync(conf, opts.extra);
  const s = { work, data, conf, addr, devCa: path.join(data, 'ca', 'devices') };
  s.conn = JSON.parse(fs.readFileSync(path.join(data, 'connections.json'), 'utf8'));
  s.ca = s.conn.trustBundle;
  s.scope = s.conn.idScope;
  s.start = async () => {
    s.d = await startDaemon({ confFile: conf, ca: s.ca });
    const cj = JSON.parse(fs.readFileSync(path.join(data, 'connections.json'), 'utf8'));
    cj.dps.httpsPort = s.d.httpsPort;
    cj.dps.mqttPort = s.d.mqttPort;
    fs.writeFileSync(path.join(data, 'connections.json'), JSON.stringify(cj));
    return s.d;
  };
  await s.start();
  s.hubKey = /SharedAccessKey=([^;]+)/.exec(s.conn.hubs[0].connectionString)[1];
  s.rc = (...args) => must(ROLLCALL, [...args, '--data', data]);
  s.rcRaw = (...args) => runAsync(ROLLCALL, [...args, '--data', data]);
  s.file = (n) => path.join(work, n);
  // A leaf of the device CA: {pem, chain, key} paths.
  s.issue = async (cn, out = cn, ca = s.devCa) => {
    await must(ROLLCALL, ['ca', 'issue', '--ca', ca, '--cn', cn, '--out', s.file(out)]);
    return { pem: s.file(`${out}.pem`), chain: s.file(`${out}-chain.pem`), key: s.file(`${out}.key`) };
  };
  // A hub service API call with the iothubowner key.
  s.hub = (method, p, body) => request(s.d, {
    method, path: p, body, host: s.d.httpsPort === 443 ? addr : `${addr}:${s.d.httpsPort}`,
    headers: { Authorization: makeSasToken(addr, 'iothubowner', s.hubKey),
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
  });
  // Every event of the hub's log (GET /events, paged).
  s.events = async () => {
    const all = [];
    for (let after = 0; ;) {
      const r = await s.hub('GET', `/events?after=${after}&max=1000`);
      if (r.status !== 200)
        throw new Error(`GET /events: ${r.status} ${r.body}`);
      all.push(...r.json.events);
      if (r.json.events.length === 0 || r.json.next <= after)
        return all;
      after = r.json.next;
    }
  };
  // A direct method through the CLI; DeviceNotOnline is retried (the
  // session may be a moment away).
  s.invoke = async (id, method, payload) => {
    const argv = ['method', 'invoke', id, method, ...(payload ? ['--payload', payload] : []), '--data', data];
    for (let i = 0; ; i++) {
      const r = await runAsync(ROLLCALL, argv);
      if (r.status === 0)
        return r.stdout;
      if (!/not online/.test(r.stderr) || i >= 100)
        throw new Error(`rollcall ${argv.join(' ')}: ${r.stderr}`);
      await sleep(200);
    }
  };
  return s;
}

// SHA-256 thumbprint (upper hex) of the first certificate of a PEM file.
export function thumbprint(file) {
  return new crypto.X509Certificate(fs.readFileSync(file)).fingerprint256.replace(/:/g, '');
}

// The first certificate (the leaf) of a PEM chain file.
export function leafOf(file) {
  const m = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n?/.exec(fs.readFileSync(file, 'utf8'));
  return m[0];
}

// One HTTPS request to DPS's device API with a client certificate.
function dpsCall(s, method, p, body, c) {
  return new Promise((resolve) => {
    const req = tls.connect({
      host: s.addr, port: s.d.httpsPort, ca: fs.readFileSync(s.ca), servername: 'localhost',
      cert: fs.readFileSync(c.chain ?? c.pem), key: fs.readFileSync(c.key),
    }, () => {
      const b = body === undefined ? '' : JSON.stringify(body);
      req.write(`${method} ${p} HTTP/1.1\r\nHost: ${s.addr}:${s.d.httpsPort}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(b)}\r\nConnection: close\r\n\r\n${b}`);
    });
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (x) => { text += x; });
    req.on('error', (e) => resolve({ status: 0, error: e.message }));
    req.on('end', () => {
      const m = /^HTTP\/1\.1 (\d+)/.exec(text);
      const i = text.indexOf('\r\n\r\n');
      let json;
      try {
        json = JSON.parse(text.slice(i + 4));
      } catch {
        json = undefined;
      }
      resolve({ status: m ? Number(m[1]) : 0, json });
    });
  });
}

// Registers id at DPS over HTTPS with certificate c; the final answer.
export async function dpsRegister(s, id, c) {
  let r = await dpsCall(s, 'PUT', `/${s.scope}/registrations/${id}/register?${API}`, { registrationId: id }, c);
  for (let i = 0; r.status === 202 && i < 100; i++) {
    await sleep(100);
    r = await dpsCall(s, 'GET', `/${s.scope}/registrations/${id}/operations/${r.json.operationId}?${API}`, undefined, c);
  }
  return r;
}

// A rollcall-agent process for id with its bootstrap certificate c.
export function agent(s, id, c, flags = []) {
  const state = path.join(s.work, `${id}-state`);
  const dev = { id, state, log: '', child: null, starts: 0 };
  dev.argv = ['-d', '-v', '--state-dir', state, '--id-scope', s.scope,
    '--registration-id', id, '--dps-host', s.addr, '--dps-port', String(s.d.mqttPort),
    '--trust-bundle', s.ca, '--bootstrap-cert', c.chain, '--bootstrap-key', c.key,
    '--telemetry-interval-ms', '200', '--backoff-min', '1s', '--backoff-max', '2s', ...flags];
  dev.start = () => {
    dev.child = spawn(AGENT, dev.argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    children.add(dev.child);
    dev.starts++;
    dev.child.stderr.setEncoding('utf8');
    dev.child.stderr.on('data', (x) => { dev.log += x; });
    dev.child.on('exit', () => children.delete(dev.child));
    return dev;
  };
  dev.kill = (sig = 'SIGTERM') => new Promise((resolve) => {
    if (!dev.child || dev.child.exitCode !== null || dev.child.signalCode !== null)
      return resolve();
    dev.child.once('exit', () => resolve());
    dev.child.kill(sig);
  });
  // Waits until the log from offset on matches re; the offset after it.
  dev.wait = async (re, from = 0, ms = 60000) => {
    const end = Date.now() + ms;
    for (;;) {
      const m = re.exec(dev.log.slice(from));
      if (m)
        return from + m.index + m[0].length;
      if (Date.now() > end)
        throw new Error(`agent ${id}: no ${re} within ${ms} ms; log:\n${dev.log.slice(-4000)}`);
      await sleep(50);
    }
  };
  // The highest telemetry sequence number the agent logged as sent.
  dev.sent = () => Math.max(0, ...[...dev.log.matchAll(/telemetry (\d+) sent/g)].map((m) => Number(m[1])));
  // Connections the hub or DPS refused, and lost sessions, from the log.
  dev.refused = (from = 0) => (dev.log.slice(from).match(/refused the certificate|registration refused|connect to .* refused/g) ?? []).length;
  dev.lost = (from = 0) => (dev.log.slice(from).match(/connection to .* lost/g) ?? []).length;
  return dev;
}

// Per device: {seen, max, missing: [seq...], dups} from the hub's log;
// the telemetry bodies are {"seq": N, ...}.
export function telemetryOf(events) {
  const per = {};
  for (const e of events) {
    const seq = e.body?.seq;
    if (typeof seq !== 'number')
      continue;
    const p = per[e.deviceId] ??= { set: new Set(), count: 0 };
    p.set.add(seq);
    p.count++;
  }
  const out = {};
  for (const [id, p] of Object.entries(per)) {
    const max = Math.max(...p.set);
    const missing = [];
    for (let i = 1; i <= max; i++)
      if (!p.set.has(i))
        missing.push(i);
    out[id] = { seen: p.set.size, max, missing, dups: p.count - p.set.size };
  }
  return out;
}

export function measure(name, m) {
  console.log(JSON.stringify({ scenario: name, ...m }));
}

// ---- simulated devices: raw MQTT 3.1.1 over node:tls ----

function mqttStr(x) {
  const b = Buffer.from(x, 'utf8');
  const l = Buffer.alloc(2);
  l.writeUInt16BE(b.length);
  return Buffer.concat([l, b]);
}

function packet(type, flags, body) {
  const len = [];
  let n = body.length;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0)
      byte |= 0x80;
    len.push(byte);
  } while (n > 0);
  return Buffer.concat([Buffer.from([(type << 4) | flags, ...len]), body]);
}

// A device that connects with certificate c as id, answers every direct
// method with opts.status (200) and sends {"seq": N} QoS 1 telemetry every
// opts.interval ms (0: none).  It reconnects after opts.reconnect ms when
// the connection drops (0: stays down).  Counters: sent, acked (PUBACKed
// sequence numbers), methods, refusals (CONNACK != 0), drops.  A message
// not acknowledged when the connection drops is sent again with the same
// number on the next connection (QoS 1 at least once).
export function simDevice(s, id, c, opts = {}) {
  const dev = {
    id, sent: 0, acked: new Set(), methods: [], refusals: 0, drops: 0, connects: 0,
    status: opts.status ?? 200, connected: false, closed: false,
  };
  const inflight = new Map(); // packet id -> seq
  let seq = 0, pid = 1, timer = null, sock = null;
  const certs = { cert: fs.readFileSync(c.chain ?? c.pem), key: fs.readFileSync(c.key), ca: fs.readFileSync(s.ca) };
  const nextPid = () => {
    pid = pid >= 65535 ? 2 : pid + 1;
    return pid;
  };
  const publish = (n) => {
    const p = nextPid();
    inflight.set(p, n);
    const pb = Buffer.alloc(2);
    pb.writeUInt16BE(p);
    sock.write(packet(3, 2, Buffer.concat([mqttStr(`devices/${id}/messages/events/`), pb,
      Buffer.from(JSON.stringify({ seq: n }))])));
  };
  const connect = () => new Promise((resolve) => {
    let buf = Buffer.alloc(0), settled = false;
    const done = (v) => {
      if (!settled) {
        settled = true;
        resolve(v);
      }
    };
    sock = tls.connect({ host: s.addr, port: s.d.mqttPort, servername: 'localhost', ...certs });
    const my = sock;
    my.on('error', () => {});
    my.on('close', () => {
      if (sock === my) {
        if (dev.connected)
          dev.drops++;
        dev.connected = false;
        clearInterval(timer);
        timer = null;
      }
      done(false);
      if (!dev.closed && opts.reconnect && sock === my)
        setTimeout(() => { if (!dev.closed) connect(); }, opts.reconnect);
    });
    my.on('secureConnect', () => {
      const vh = Buffer.concat([mqttStr('MQTT'), Buffer.from([4, 0x80, 0, 60])]);
      my.write(packet(1, 0, Buffer.concat([vh, mqttStr(id), mqttStr(`${s.addr}/${id}/?api-version=2021-04-12`)])));
    });
    my.on('data', (b) => {
      buf = Buffer.concat([buf, b]);
      for (;;) {
        let mul = 1, len = 0, i = 1;
        for (; i < buf.length; i++) {
          len += (buf[i] & 127) * mul;
          mul *= 128;
          if ((buf[i] & 128) === 0)
            break;
        }
        if (i >= buf.length || buf.length < i + 1 + len)
          return;
        const type = buf[0] >> 4;
        const body = buf.subarray(i + 1, i + 1 + len);
        buf = buf.subarray(i + 1 + len);
        if (type === 2) {
          if (body[1] !== 0) {
            dev.refusals++;
            dev.lastRefusal = body[1];
            my.destroy();
            return done(false);
          }
          my.write(packet(8, 2, Buffer.concat([Buffer.from([0, 1]), mqttStr('$iothub/methods/POST/#'), Buffer.from([0])])));
        } else if (type === 9) {
          dev.connected = true;
          dev.connects++;
          // unacknowledged messages of the last connection go again
          const again = [...inflight.values()];
          inflight.clear();
          for (const n of again)
            publish(n);
          if (opts.interval)
            timer = setInterval(() => {
              seq++;
              dev.sent = seq;
              publish(seq);
            }, opts.interval);
          done(true);
        } else if (type === 4) {
          const p = body.readUInt16BE(0);
          if (inflight.has(p)) {
            dev.acked.add(inflight.get(p));
            inflight.delete(p);
          }
        } else if (type === 3) {
          const l = body.readUInt16BE(0);
          const topic = body.subarray(2, 2 + l).toString();
          const m = /^\$iothub\/methods\/POST\/([^/]+)\/\?\$rid=(.+)$/.exec(topic);
          if (m) {
            dev.methods.push(m[1]);
            const st = typeof dev.status === 'function' ? dev.status(m[1]) : dev.status;
            my.write(packet(3, 0, Buffer.concat([mqttStr(`$iothub/methods/res/${st}/?$rid=${m[2]}`),
              Buffer.from(JSON.stringify({ method: m[1] }))])));
          }
        }
      }
    });
  });
  dev.connect = connect;
  dev.close = () => {
    dev.closed = true;
    clearInterval(timer);
    sock?.destroy();
  };
  return dev;
}

// Hub identities for the simulated devices, by thumbprint, over the
// service API.
export async function createIdentity(s, id, c) {
  const r = await s.hub('PUT', `/devices/${encodeURIComponent(id)}?api-version=2021-04-12`, {
    deviceId: id, status: 'enabled',
    authentication: { type: 'selfSigned', x509Thumbprint: { primaryThumbprint: thumbprint(c.pem), secondaryThumbprint: null } },
  });
  if (r.status !== 200)
    throw new Error(`PUT /devices/${id}: ${r.status} ${r.body}`);
}

// Runs fn over items, n at a time.
export async function pool(items, n, fn) {
  const out = [];
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) {
      const k = i++;
      out[k] = await fn(items[k], k);
    }
  }));
  return out;
}
