// rollcall-agent with the PKCS#11 keystore on SoftHSM2 (issue 6): a real
// rollcalld from `rollcall init` with 60-second device certificates, a
// token initialised in a temp dir, a factory key made in the token with
// pkcs11-tool and certified from a CSR the token signed.  The agent
// provisions, sends telemetry and renews by itself at a 50% threshold
// with keys it generates in the token; pkcs11-tool then shows every
// private key as sensitive and never extractable.  A second agent does the
// same over DPS's HTTPS transport (libcurl with the token key).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startDaemon, tmpdir, ROLLCALL } from './harness.mjs';

const AGENT = process.env.ROLLCALL_AGENT;
const MODULE = ['/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so'].find((p) => fs.existsSync(p));
const HAVE_SOFTHSM = MODULE && spawnSync('softhsm2-util', ['--version']).status === 0;
const agents = new Set();
let env = process.env;

function must(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60000, env, ...opts });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.error ?? ''}`);
  return r.stdout;
}

// A token "rc" (user PIN 1234) in its own directory.
function token(work) {
  const dir = path.join(work, 'tokens');
  fs.mkdirSync(dir);
  const conf = path.join(work, 'softhsm2.conf');
  fs.writeFileSync(conf, `directories.tokendir = ${dir}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  // OpenSSL's pkcs11 engine on the same module, for openssl req below
  const ossl = path.join(work, 'openssl.cnf');
  fs.writeFileSync(ossl, 'openssl_conf = init\n[init]\nengines = engines\n[engines]\npkcs11 = p11\n' +
    `[p11]\nengine_id = pkcs11\nMODULE_PATH = ${MODULE}\n`);
  env = { ...process.env, SOFTHSM2_CONF: conf };
  must('softhsm2-util', ['--init-token', '--free', '--label', 'rc', '--pin', '1234', '--so-pin', '5678']);
  return { conf, ossl };
}

// A data directory with its own rollcalld and a group for its device CA.
async function server(extra = '') {
  const work = tmpdir();
  const data = path.join(work, 'data');
  must(ROLLCALL, ['init', data, '--hostname', '127.0.0.1', '--listen', '127.0.0.1',
    '--https-port', '0', '--mqtt-port', '0']);
  const conf = path.join(data, 'rollcall.conf');
  fs.appendFileSync(conf, extra);
  const d = await startDaemon({ confFile: conf });
  const conn = JSON.parse(fs.readFileSync(path.join(data, 'connections.json'), 'utf8'));
  const port = (cs) => cs.replace('HostName=127.0.0.1;', `HostName=127.0.0.1:${d.httpsPort};`);
  const s = { work, data, d, conn, dps: port(conn.dps.connectionString), hub: port(conn.hubs[0].connectionString) };
  s.rc = (...args) => must(ROLLCALL, [...args, '--data', data]);
  s.invoke = async (...args) => {
    const argv = ['method', 'invoke', ...args, '--data', data, '--connection-string', s.hub];
    for (let i = 0; ; i++) {
      const r = spawnSync(ROLLCALL, argv, { encoding: 'utf8', timeout: 60000 });
      if (r.status === 0)
        return r.stdout;
      if (!/not online/.test(r.stderr) || i >= 100)
        throw new Error(`rollcall ${argv.join(' ')}: ${r.stderr}`);
      await new Promise((res) => setTimeout(res, 200));
    }
  };
  s.rc('group', 'create', 'fleet', '--primary-cert', path.join(data, 'ca/devices/ca.pem'),
    '--connection-string', s.dps);
  s.tok = token(work);
  return s;
}

// The factory: a key pair made in the token, a CSR signed by it, a
// certificate from the device CA.  Returns the chain file.
function factory(s, id) {
  const label = `factory-${id}`;
  must('pkcs11-tool', ['--module', MODULE, '--login', '--pin', '1234', '--keypairgen',
    '--key-type', 'EC:prime256v1', '--label', label, '--id', Buffer.from(id).toString('hex'), '--usage-sign']);
  const csr = path.join(s.work, `${id}.csr`);
  const pem = path.join(s.work, `${id}.pem`);
  const ext = path.join(s.work, 'leaf.ext');
  fs.writeFileSync(ext, 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' +
    'extendedKeyUsage=clientAuth\n');
  must('openssl', ['req', '-new', '-engine', 'pkcs11', '-keyform', 'engine', '-key',
    `pkcs11:token=rc;object=${label};type=private;pin-value=1234`, '-subj', `/CN=${id}`, '-out', csr],
  { env: { ...env, OPENSSL_CONF: s.tok.ossl } });
  must('openssl', ['x509', '-req', '-in', csr, '-CA', path.join(s.data, 'ca/devices/ca.pem'),
    '-CAkey', path.join(s.data, 'ca/devices/ca.key'), '-CAcreateserial', '-days', '2',
    '-extfile', ext, '-out', pem]);
  const chain = path.join(s.work, `${id}-chain.pem`);
  fs.writeFileSync(chain, fs.readFileSync(pem, 'utf8') +
    fs.readFileSync(path.join(s.data, 'ca/devices/ca.pem'), 'utf8'));
  return { chain, label };
}

function device(s, id, flags = []) {
  const f = factory(s, id);
  const dev = {
    id, state: path.join(s.work, `${id}-state`), log: '', child: null,
    argv: ['-d', '-v', '--state-dir', path.join(s.work, `${id}-state`), '--id-scope', s.conn.idScope,
      '--registration-id', id, '--dps-host', '127.0.0.1',
      '--trust-bundle', s.conn.trustBundle, '--bootstrap-cert', f.chain,
      '--keystore', 'pkcs11:token=rc?pin-value=1234', '--pkcs11-module', MODULE,
      '--bootstrap-key', `pkcs11:object=${f.label}`,
      '--telemetry-interval', '1s', '--backoff-min', '1s', '--backoff-max', '4s',
      ...(flags.includes('--dps-port') ? [] : ['--dps-port', String(s.d.mqttPort)]), ...flags],
  };
  dev.start = () => {
    dev.child = spawn(AGENT, dev.argv, { stdio: ['ignore', 'ignore', 'pipe'], env });
    agents.add(dev.child);
    dev.child.stderr.setEncoding('utf8');
    dev.child.stderr.on('data', (x) => { dev.log += x; });
    dev.child.on('exit', () => agents.delete(dev.child));
    return dev;
  };
  dev.kill = (sig = 'SIGTERM') => new Promise((resolve) => {
    if (!dev.child || dev.child.exitCode !== null || dev.child.signalCode !== null)
      return resolve();
    dev.child.once('exit', () => resolve());
    dev.child.kill(sig);
  });
  dev.wait = async (re, from = 0, ms = 60000) => {
    const end = Date.now() + ms;
    for (;;) {
      const m = re.exec(dev.log.slice(from));
      if (m)
        return from + m.index + m[0].length;
      if (Date.now() > end)
        throw new Error(`agent ${id}: no ${re} within ${ms} ms; log:\n${dev.log.slice(-4000)}\nrollcalld:\n${s.d.stderr().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  dev.active = () => JSON.parse(fs.readFileSync(path.join(dev.state, 'state.json'), 'utf8')).active;
  return dev;
}

// pkcs11-tool --list-objects as [{kind, label, id, access: [...]}].
function objects() {
  const out = must('pkcs11-tool', ['--module', MODULE, '--list-objects', '--login', '--pin', '1234']);
  const objs = [];
  for (const line of out.split('\n')) {
    const head = /^(Private Key|Public Key|Certificate|Data) Object/.exec(line);
    if (head) {
      objs.push({ kind: head[1], label: '', id: '', access: [] });
      continue;
    }
    const kv = /^\s+(label|ID|Access):\s*(.*)$/.exec(line);
    if (!kv || objs.length === 0)
      continue;
    const o = objs[objs.length - 1];
    if (kv[1] === 'label')
      o.label = kv[2].trim();
    else if (kv[1] === 'ID')
      o.id = kv[2].trim();
    else
      o.access = kv[2].split(',').map((x) => x.trim());
  }
  return objs;
}

function assertTokenKeys(id) {
  const priv = objects().filter((o) => o.kind === 'Private Key');
  for (const o of priv) {
    for (const a of ['sensitive', 'always sensitive', 'never extractable', 'local'])
      assert.ok(o.access.includes(a), `private key ${o.label} is not "${a}": ${o.access.join(', ')}`);
  }
  // one key per slot: the older ones were destroyed
  for (const slot of ['a', 'b'])
    assert.equal(priv.filter((o) => o.label === `rollcall:${id}:${slot}`).length, 1,
      `slot ${slot}: ${JSON.stringify(priv)}`);
  return priv;
}

function assertSlots(dev) {
  for (const slot of ['a', 'b']) {
    const uri = fs.readFileSync(path.join(dev.state, slot, 'key.uri'), 'utf8');
    assert.match(uri, /^pkcs11:token=rc;object=.*;type=private\?pin-value=1234$/);
    assert.ok(!fs.existsSync(path.join(dev.state, slot, 'key.pem')));
    assert.equal(fs.statSync(path.join(dev.state, slot, 'key.uri')).mode & 0o777, 0o600);
  }
}

after(async () => {
  for (const c of agents)
    c.kill('SIGKILL');
});

const skip = (!AGENT && 'ROLLCALL_AGENT is not set') ||
  (!HAVE_SOFTHSM && 'softhsm2 is not installed (apt-get install softhsm2)');

describe('rollcall-agent with the PKCS#11 keystore (SoftHSM2)', { skip }, () => {
  let s;
  before(async () => { s = await server('device-cert-validity 60s\n'); });
  after(async () => { await s?.d.stop(); });

  it('provisions, sends telemetry and renews by itself with non-extractable token keys', async () => {
    const dev = device(s, 'hsm-1', ['--renew-threshold', '50']).start();
    let at = await dev.wait(/dps: assigned to 127\.0\.0\.1 as hsm-1/);
    at = await dev.wait(/hub: connected to 127\.0\.0\.1 with slot a/, at);
    at = await dev.wait(/telemetry 2 sent/, at);
    // The factory certificate lives for days: the first roll is asked for.
    assert.match(await s.invoke('hsm-1', 'rollCertificate'), /200/);
    at = await dev.wait(/keystore: new p256 key rollcall:hsm-1:b in token rc/, at);
    at = await dev.wait(/roll: committed, connected to .* slot b/, at);
    // Then 60-second certificates: renewed at about 30 s, twice.
    at = await dev.wait(/past 50% of its lifetime/, at, 60000);
    at = await dev.wait(/roll: committed, connected to .* slot a/, at);
    at = await dev.wait(/past 50% of its lifetime/, at, 60000);
    at = await dev.wait(/roll: committed, connected to .* slot b/, at);
    await dev.wait(/telemetry \d+ sent/, at);
    assert.doesNotMatch(dev.log, /failed/);
    assert.equal(dev.active(), 'b');
    assertSlots(dev);
    const priv = assertTokenKeys('hsm-1');
    assert.ok(priv.some((o) => o.label === 'factory-hsm-1'));
    await dev.kill();
    assert.doesNotMatch(dev.log, /Sanitizer|runtime error:/);
  });

  it('provisions and renews over DPS HTTPS with the token key', async () => {
    const dev = device(s, 'hsm-2', ['--transport', 'https', '--dps-port', String(s.d.httpsPort),
      '--hub-port', String(s.d.mqttPort), '--renew-threshold', '90']).start();
    let at = await dev.wait(/dps: registering hsm-2 over https/);
    at = await dev.wait(/dps: assigned to 127\.0\.0\.1 as hsm-2/, at);
    at = await dev.wait(/hub: connected to 127\.0\.0\.1 with slot a/, at);
    assert.match(await s.invoke('hsm-2', 'rollCertificate'), /200/);
    at = await dev.wait(/roll: committed, connected to .* slot b/, at);
    assert.match(await s.invoke('hsm-2', 'rollCertificate', '--payload', '{"keepKey":false}'), /200/);
    at = await dev.wait(/roll: committed, connected to .* slot a/, at);
    await dev.wait(/telemetry \d+ sent/, at);
    assert.doesNotMatch(dev.log, /failed/);
    assertSlots(dev);
    assertTokenKeys('hsm-2');
    await dev.kill();
    assert.doesNotMatch(dev.log, /Sanitizer|runtime error:/);
  });
});
