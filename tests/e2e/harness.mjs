// Harness for the e2e tests: a temp directory with a test PKI and a
// config, a real rollcalld started on 127.0.0.1 port 0, and helpers to
// talk to it (HTTPS requests trusting the test CA, SAS tokens made the way
// azure-iot-common makes them).
//
// Environment (set by CTest, tests/e2e/CMakeLists.txt):
//   RC_E2E_KEEP  set: keep the temp directories (default: removed at the
//                end of the test file)
//   ROLLCALLD    the rollcalld binary under test
//   ROLLCALL     the rollcall CLI (its `ca` commands make the PKI when
//                present; openssl(1) otherwise)
//   RC_TEST_TMP  where temp directories go (default: the OS temp dir)
//
// Every daemon started here is stopped by pid: by stop(), by the after()
// hook of the test file, and, as a last resort, SIGKILLed when the test
// process exits.  A daemon's stderr is its log; it is printed when the
// daemon fails to start, and stop() fails if AddressSanitizer or
// LeakSanitizer reported anything.

import { after } from 'node:test';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';

export const ROLLCALLD = process.env.ROLLCALLD;
export const ROLLCALL = process.env.ROLLCALL;

const READY_TIMEOUT_MS = 20000;
const STOP_TIMEOUT_MS = 10000;
const running = new Set();
const dirs = new Set();

process.on('exit', () => {
  for (const d of running) {
    try {
      process.kill(d.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

after(async () => {
  try {
    await stopAll();
  } finally {
    if (!process.env.RC_E2E_KEEP)
      for (const dir of dirs)
        fs.rmSync(dir, { recursive: true, force: true });
  }
});

export async function stopAll() {
  const errors = [];
  for (const d of [...running]) {
    try {
      await d.stop();
    } catch (e) {
      errors.push(e);
    }
  }
  if (errors.length > 0)
    throw errors[0];
}

export function tmpdir() {
  const base = process.env.RC_TEST_TMP || os.tmpdir();
  fs.mkdirSync(base, { recursive: true });
  const dir = fs.mkdtempSync(path.join(base, 'e2e-'));
  dirs.add(dir);
  return dir;
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}${r.error ?? ''}`);
  return r.stdout;
}

function cliHasCa() {
  if (!ROLLCALL)
    return false;
  const r = spawnSync(ROLLCALL, ['ca', 'init', '--help'], { encoding: 'utf8' });
  return r.status === 0;
}

function pkiWithCli(dir) {
  run(ROLLCALL, ['ca', 'init', '--out', path.join(dir, 'ca'), '--cn', 'rollcall e2e root', '--days', '2']);
  fs.mkdirSync(path.join(dir, 'tls'), { mode: 0o700 });
  run(ROLLCALL, ['ca', 'server-cert', '--ca', path.join(dir, 'ca'),
    '--out', path.join(dir, 'tls', 'server'), '--san', 'DNS:localhost',
    '--san', 'IP:127.0.0.1', '--san', 'IP:::1', '--days', '2']);
  return {
    ca: path.join(dir, 'ca', 'ca.pem'),
    cert: path.join(dir, 'tls', 'server-chain.pem'),
    key: path.join(dir, 'tls', 'server.key'),
  };
}

function pkiWithOpenssl(dir) {
  const ca = path.join(dir, 'ca');
  const tls = path.join(dir, 'tls');
  fs.mkdirSync(ca, { mode: 0o700 });
  fs.mkdirSync(tls, { mode: 0o700 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  run('openssl', ['req', '-x509', ...ec, '-keyout', path.join(ca, 'ca.key'),
    '-out', path.join(ca, 'ca.pem'), '-days', '2', '-subj', '/CN=rollcall e2e root',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  run('openssl', ['req', ...ec, '-keyout', path.join(tls, 'server.key'),
    '-out', path.join(tls, 'server.csr'), '-subj', '/CN=localhost']);
  fs.writeFileSync(path.join(tls, 'ext'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n' +
    'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  run('openssl', ['x509', '-req', '-in', path.join(tls, 'server.csr'),
    '-CA', path.join(ca, 'ca.pem'), '-CAkey', path.join(ca, 'ca.key'),
    '-CAcreateserial', '-days', '2', '-extfile', path.join(tls, 'ext'),
    '-out', path.join(tls, 'server.pem')]);
  fs.chmodSync(path.join(tls, 'server.key'), 0o600);
  return {
    ca: path.join(ca, 'ca.pem'),
    cert: path.join(tls, 'server.pem'),
    key: path.join(tls, 'server.key'),
  };
}

// A test PKI in dir: {ca, cert, key} paths (root CA, server chain, key).
export function makePki(dir) {
  return cliHasCa() ? pkiWithCli(dir) : pkiWithOpenssl(dir);
}

export const POLICY_RIGHTS = {
  provisioningserviceowner: 'ServiceConfig,EnrollmentRead,EnrollmentWrite,RegistrationStatusRead,RegistrationStatusWrite',
  enrollmentread: 'EnrollmentRead,RegistrationStatusRead',
  enrollmentwrite: 'EnrollmentWrite,RegistrationStatusWrite',
};

// Writes DIR/rollcall.conf (mode 0600); options override or add keywords
// (a value of null leaves the keyword out).  Returns {path, policies}.
export function writeConf(dir, pki, options = {}) {
  const policies = {};
  for (const name of Object.keys(POLICY_RIGHTS))
    policies[name] = crypto.randomBytes(32).toString('base64');
  const kw = {
    'listen': '127.0.0.1',
    'https-port': '0',
    'mqtt-port': '0',
    'hostname': 'localhost',
    'id-scope': '0ne00E2E0E2',
    'store': `sqlite:${path.join(dir, 'rollcall.db')}`,
    'tls-cert': pki.cert,
    'tls-key': pki.key,
    'trust-bundle': pki.ca,
    'workers': '2',
    'max-body': '64k',
    'request-timeout': '30s',
    ...options,
  };
  let text = '# written by tests/e2e/harness.mjs\n';
  for (const [k, v] of Object.entries(kw))
    if (v !== null)
      text += `${k} ${v}\n`;
  for (const [name, key] of Object.entries(policies))
    text += `dps-policy ${name} ${POLICY_RIGHTS[name]} ${key}\n`;
  const file = path.join(dir, 'rollcall.conf');
  fs.writeFileSync(file, text, { mode: 0o600 });
  return { path: file, policies };
}

function sanitizerReport(stderr) {
  return /ERROR: AddressSanitizer|LeakSanitizer|runtime error:/.test(stderr);
}

// Starts rollcalld -d -f CONF and resolves once it printed its readiness
// line: {dir, pid, httpsPort, mqttPort, httpsAddr, mqttAddr, ca, policies,
// conf, stderr(), stop(), exited}.  options: conf (keyword overrides of
// the generated config), or confFile (an existing config; with ca, the
// path of the CA to trust, and policies, {name: base64 key}); args (extra
// command line arguments); wrap (a command prefix that execs).
export async function startDaemon(options = {}) {
  if (!ROLLCALLD)
    throw new Error('ROLLCALLD is not set (run the tests through ctest)');
  let dir, pki, conf;
  if (options.confFile) {
    // An existing data directory (e.g. from `rollcall init`).
    dir = path.dirname(options.confFile);
    pki = options.ca ? { ca: options.ca } : null;
    conf = { path: options.confFile, policies: options.policies ?? {} };
  } else {
    dir = tmpdir();
    pki = makePki(dir);
    conf = writeConf(dir, pki, options.conf);
  }
  // options.wrap: a command that execs the rest (prlimit ... --), so the
  // pid stays the daemon's.
  const argv = [...(options.wrap ?? []), ROLLCALLD, '-d', '-f', conf.path, ...(options.args ?? [])];
  const child = spawn(argv[0], argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? 'detect_leaks=1' },
  });
  let stderr = '';
  let stdout = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s) => { stderr += s; });
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  const d = {
    dir,
    pid: child.pid,
    ca: pki ? fs.readFileSync(pki.ca) : undefined,
    pki,
    policies: conf.policies,
    conf: conf.path,
    exited,
    stderr: () => stderr,
    stopped: false,
  };
  running.add(d);
  d.stop = async (sig = 'SIGTERM') => {
    if (!d.stopped) {
      d.stopped = true;
      try {
        process.kill(d.pid, sig);
      } catch {
        // already exited
      }
    }
    const timer = setTimeout(() => {
      try {
        process.kill(d.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }, STOP_TIMEOUT_MS);
    const r = await exited;
    clearTimeout(timer);
    running.delete(d);
    if (sanitizerReport(stderr))
      throw new Error(`rollcalld (pid ${d.pid}) sanitizer report:\n${stderr}`);
    return { ...r, stderr };
  };

  const line = await new Promise((resolve, reject) => {
    const fail = (why) => {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // gone
      }
      reject(new Error(`rollcalld did not become ready: ${why}\n--- its stderr:\n${stderr}`));
    };
    const timer = setTimeout(() => fail(`no readiness line in ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s) => {
      stdout += s;
      const nl = stdout.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(stdout.slice(0, nl));
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      fail(`exited (code ${code}, signal ${signal})`);
    });
  });
  const m = /^rollcalld ready https=(\S+):(\d+) mqtt=(\S+):(\d+)$/.exec(line);
  if (!m)
    throw new Error(`bad readiness line '${line}'`);
  d.readyLine = line;
  d.httpsAddr = `${m[1]}:${m[2]}`;
  d.mqttAddr = `${m[3]}:${m[4]}`;
  d.httpsHost = m[1].replace(/^\[|\]$/g, '');
  d.httpsPort = Number(m[2]);
  d.mqttPort = Number(m[4]);
  return d;
}

// Resolves once the daemon's log matches re (its stderr arrives through a
// pipe, after the answers the test already holds); rejects after ms.
export async function waitForLog(d, re, ms = 5000) {
  const end = Date.now() + ms;
  while (!re.test(d.stderr())) {
    if (Date.now() > end)
      throw new Error(`log never matched ${re}:\n${d.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// Runs rollcalld to completion with args (e.g. -n -f FILE).
export function runDaemonSync(args) {
  return spawnSync(ROLLCALLD, args, {
    encoding: 'utf8',
    env: { ...process.env, ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? 'detect_leaks=1' },
    timeout: 30000,
  });
}

// encodeURIComponent with !'()* escaped too (azure-iot-common's
// encodeUriComponentStrict).
export function encodeUriComponentStrict(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g,
    (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

// A SharedAccessSignature as azure-iot-common's SharedAccessSignature.create
// makes it: sr as given, sig over sr + "\n" + se with the base64 key.
export function makeSasToken(sr, keyName, keyB64, se = Math.ceil(Date.now() / 1000) + 3600) {
  const sig = crypto.createHmac('sha256', Buffer.from(keyB64, 'base64'))
    .update(`${sr}\n${se}`).digest('base64');
  let t = `SharedAccessSignature sr=${sr}&sig=${encodeUriComponentStrict(sig)}`;
  if (keyName)
    t += `&skn=${encodeUriComponentStrict(keyName)}`;
  return `${t}&se=${se}`;
}

// The owner policy's token for the daemon, signed for localhost.
export function ownerToken(d, se) {
  return makeSasToken('localhost', 'provisioningserviceowner',
    d.policies.provisioningserviceowner, se);
}

// One HTTPS request to the daemon, trusting its CA; resolves to {status,
// headers, body, json, reusedSocket}.  opts: method, path, host (Host
// header, default localhost), headers, body, agent (default: none, a new
// connection).
export function request(d, opts = {}) {
  const body = opts.body === undefined ? undefined
    : Buffer.isBuffer(opts.body) ? opts.body
      : Buffer.from(typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body));
  const headers = { Host: opts.host ?? 'localhost', ...(opts.headers ?? {}) };
  if (body !== undefined)
    headers['Content-Length'] = body.length;
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: d.httpsHost,
      port: d.httpsPort,
      servername: 'localhost',
      ca: d.ca,
      method: opts.method ?? 'GET',
      path: opts.path ?? '/',
      headers,
      agent: opts.agent ?? false,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        if (/application\/json/.test(res.headers['content-type'] ?? '')) {
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
        }
        resolve({ status: res.statusCode, headers: res.headers, body: text, json, reusedSocket: req.reusedSocket });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined)
      req.write(body);
    req.end();
  });
}
