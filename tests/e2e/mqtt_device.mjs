// A minimal MQTT 3.1.1 device over node:tls for the e2e tests: connects
// with its certificate and answers every direct method.
import fs from 'node:fs';
import tls from 'node:tls';

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

// Connects as id and answers every method with status opts.status (201)
// and
// {"echo": <the request payload>, "method": <name>}; resolves to
// {sock, ready} once SUBACK came back.
export function methodDevice(port, ca, c, id, opts = {}) {
  return new Promise((resolve, reject) => {
    const status = opts.status ?? 201;
    const hub = opts.hub ?? 'localhost';
    const sock = tls.connect({ host: '127.0.0.1', port, ca: fs.readFileSync(ca),
      cert: fs.readFileSync(c.cert), key: fs.readFileSync(c.key), servername: 'localhost' });
    let buf = Buffer.alloc(0);
    sock.on('error', reject);
    sock.on('secureConnect', () => {
      const vh = Buffer.concat([mqttStr('MQTT'), Buffer.from([4, 0x80, 0, 60])]);
      sock.write(packet(1, 0, Buffer.concat([vh, mqttStr(id),
        mqttStr(`${hub}/${id}/?api-version=2021-04-12`)])));
    });
    sock.on('data', (b) => {
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
          if (body[1] !== 0)
            return reject(new Error(`CONNACK ${body[1]}`));
          const pid = Buffer.from([0, 1]);
          sock.write(packet(8, 2, Buffer.concat([pid, mqttStr('$iothub/methods/POST/#'), Buffer.from([0])])));
        } else if (type === 9) {
          resolve({ sock });
        } else if (type === 3) {
          const l = body.readUInt16BE(0);
          const topic = body.subarray(2, 2 + l).toString();
          const payload = body.subarray(2 + l).toString();
          const m = /^\$iothub\/methods\/POST\/([^/]+)\/\?\$rid=(.+)$/.exec(topic);
          if (m) {
            let echo = payload;
            try {
              echo = JSON.parse(payload);
            } catch {
              // not JSON: echoed as text
            }
            const answer = JSON.stringify({ echo, method: m[1] });
            sock.write(packet(3, 0, Buffer.concat([mqttStr(`$iothub/methods/res/${status}/?$rid=${m[2]}`),
              Buffer.from(answer)])));
          }
        }
      }
    });
  });
}


// Connects as id and publishes QoS 1 telemetry; resolves to
// {publish(body) -> Promise resolved at its PUBACK, sock}.  A PUBACK is
// the hub's promise that the message is stored.
export function telemetryDevice(port, ca, c, id, opts = {}) {
  const hub = opts.hub ?? 'localhost';
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port, ca: fs.readFileSync(ca),
      cert: fs.readFileSync(c.cert), key: fs.readFileSync(c.key), servername: 'localhost' });
    const waiting = new Map();
    let buf = Buffer.alloc(0);
    let pid = 0;
    sock.on('error', (e) => {
      reject(e);
      for (const w of waiting.values())
        w.reject(e);
    });
    sock.on('close', () => {
      for (const w of waiting.values())
        w.reject(new Error('connection closed'));
      waiting.clear();
    });
    sock.on('secureConnect', () => {
      const vh = Buffer.concat([mqttStr('MQTT'), Buffer.from([4, 0x82, 0, 60])]);
      sock.write(packet(1, 0, Buffer.concat([vh, mqttStr(id),
        mqttStr(`${hub}/${id}/?api-version=2021-04-12`)])));
    });
    const publish = (body) => new Promise((ok, ko) => {
      pid = pid % 65535 + 1;
      const p = Buffer.from([pid >> 8, pid & 255]);
      waiting.set(pid, { resolve: ok, reject: ko });
      sock.write(packet(3, 2, Buffer.concat([mqttStr(`devices/${id}/messages/events/`), p, Buffer.from(body)])));
    });
    sock.on('data', (b) => {
      buf = Buffer.concat([buf, b]);
      while (buf.length >= 2 && buf.length >= 2 + buf[1]) {
        const type = buf[0] >> 4;
        const body = buf.subarray(2, 2 + buf[1]);
        buf = buf.subarray(2 + buf[1]);
        if (type === 2) {
          if (body[1] !== 0)
            return reject(new Error(`CONNACK ${body[1]}`));
          resolve({ sock, publish });
        } else if (type === 4) {
          const w = waiting.get(body.readUInt16BE(0));
          waiting.delete(body.readUInt16BE(0));
          if (w)
            w.resolve();
        }
      }
    });
  });
}
