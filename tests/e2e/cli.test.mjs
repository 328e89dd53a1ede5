// The rollcall CLI against a real rollcalld, as a new user would run them:
// `rollcall init` makes the data directory, rollcalld starts from its
// rollcall.conf (port 0), and the enrollment, group, registration,
// ca-cert and audit commands drive the DPS service API over HTTPS.
// Certificates come from openssl(1), an independent implementation.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { ROLLCALL, tmpdir, startDaemon as harnessStartDaemon } from './harness.mjs';


function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60000, ...opts });
  if (r.error)
    throw r.error;
  return r;
}

function must(cmd, args, opts) {
  const r = run(cmd, args, opts);
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

// rollcalld on DIR/rollcall.conf through the harness (stopped by pid,
// always); port is its HTTPS port.
async function startDaemon(dir) {
  const d = await harnessStartDaemon({ confFile: path.join(dir, 'rollcall.conf') });
  d.port = d.httpsPort;
  return d;
}

// A device certificate with CN = id, issued by the data directory's
// device-signing CA.
function deviceCert(dir, work, id) {
  const key = path.join(work, `${id}.key`);
  const csr = path.join(work, `${id}.csr`);
  const cert = path.join(work, `${id}.pem`);
  const ext = path.join(work, 'leaf.ext');
  fs.writeFileSync(ext, 'basicConstraints=critical,CA:FALSE\n' +
    'keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
  must('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${id}`]);
  must('openssl', ['x509', '-req', '-in', csr, '-CA', path.join(dir, 'ca/devices/ca.pem'),
    '-CAkey', path.join(dir, 'ca/devices/ca.key'), '-CAcreateserial', '-days', '2',
    '-extfile', ext, '-out', cert]);
  return cert;
}

function sha256Of(cert) {
  const out = must('openssl', ['x509', '-in', cert, '-noout', '-fingerprint', '-sha256']);
  return out.trim().split('=')[1].replace(/:/g, '').toUpperCase();
}

describe('rollcall CLI against rollcalld', () => {
  let work;
  let dir;
  let d;
  let cs;
  let common;

  // rollcall with the connection options; {status, stdout, stderr}.
  const rc = (...args) => run(ROLLCALL, [...args, ...common]);
  const ok = (...args) => {
    const r = rc(...args);
    assert.equal(r.status, 0, `rollcall ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const json = (...args) => JSON.parse(ok(...args, '--json'));

  before(async () => {
    work = tmpdir();
    dir = path.join(work, 'data');
    must(ROLLCALL, ['init', dir, '--hostname', 'localhost', '--listen', '127.0.0.1',
      '--https-port', '0', '--mqtt-port', '0']);
    d = await startDaemon(dir);
    const conn = JSON.parse(fs.readFileSync(path.join(dir, 'connections.json'), 'utf8'));
    // The server picked its port: HostName=host:port, our clients' form.
    cs = conn.dps.connectionString.replace('HostName=localhost;', `HostName=localhost:${d.port};`);
    common = ['--connection-string', cs, '--data', dir];
  });

  after(async () => {
    await d?.stop();
    if (work)
      fs.rmSync(work, { recursive: true, force: true });
  });

  it('creates, shows, disables and enables an enrollment', () => {
    const cert = deviceCert(dir, work, 'dev-1');
    const out = ok('enrollment', 'create', 'dev-1', '--primary-cert', cert,
      '--reprovision-policy', 'update-and-reset', '--hub', 'localhost',
      '--initial-twin', '{"tags":{"site":"lab"}}');
    assert.match(out, /^registration ID\s+dev-1$/m);
    assert.match(out, /^status\s+enabled$/m);

    const e = json('enrollment', 'show', 'dev-1');
    assert.equal(e.registrationId, 'dev-1');
    assert.equal(e.provisioningStatus, 'enabled');
    const primary = e.attestation.x509.clientCertificates.primary;
    assert.equal(primary.info.sha256Thumbprint.toUpperCase(), sha256Of(cert));
    assert.equal(primary.certificate, undefined);
    assert.deepEqual(e.reprovisionPolicy, { updateHubAssignment: true, migrateDeviceData: false });
    assert.deepEqual(e.iotHubs, ['localhost']);
    assert.equal(e.initialTwin.tags.site, 'lab');

    assert.match(ok('enrollment', 'disable', 'dev-1'), /^status\s+disabled$/m);
    const off = json('enrollment', 'show', 'dev-1');
    assert.equal(off.provisioningStatus, 'disabled');
    assert.notEqual(off.etag, e.etag);
    // The untouched certificate survived the read-modify-write.
    assert.equal(off.attestation.x509.clientCertificates.primary.info.sha256Thumbprint,
      primary.info.sha256Thumbprint);

    ok('enrollment', 'enable', 'dev-1');
    assert.equal(json('enrollment', 'show', 'dev-1').provisioningStatus, 'enabled');
  });

  it('refuses to create an enrollment twice', () => {
    const cert = deviceCert(dir, work, 'dev-2');
    ok('enrollment', 'create', 'dev-2', '--primary-cert', cert, '--disabled');
    const r = rc('enrollment', 'create', 'dev-2', '--primary-cert', cert);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /already exists/);
  });

  it('rolls a certificate: secondary added, primary removed, by read-modify-write', () => {
    const old = deviceCert(dir, work, 'dev-3');
    const oldSha = sha256Of(old);
    ok('enrollment', 'create', 'dev-3', '--primary-cert', old);
    // Same CN, new key (seed rule S2): a rolled certificate.
    const rolled = path.join(work, 'dev-3-new.pem');
    fs.copyFileSync(deviceCert(dir, work, 'dev-3'), rolled);
    ok('enrollment', 'update', 'dev-3', '--secondary-cert', rolled);
    let e = json('enrollment', 'show', 'dev-3');
    const slots = e.attestation.x509.clientCertificates;
    assert.equal(slots.primary.info.sha256Thumbprint.toUpperCase(), oldSha);
    assert.equal(slots.secondary.info.sha256Thumbprint.toUpperCase(), sha256Of(rolled));

    ok('enrollment', 'update', 'dev-3', '--remove-primary');
    e = json('enrollment', 'show', 'dev-3');
    assert.equal(e.attestation.x509.clientCertificates.primary ?? null, null);
    assert.equal(e.attestation.x509.clientCertificates.secondary.info.sha256Thumbprint.toUpperCase(),
      sha256Of(rolled));
  });

  it('refuses a certificate already in another enrollment with the server message', () => {
    const cert = deviceCert(dir, work, 'dev-4');
    ok('enrollment', 'create', 'dev-4', '--primary-cert', cert);
    const r = rc('enrollment', 'update', 'dev-1', '--secondary-cert', cert);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^rollcall: (400 Bad Request|409 Conflict): \S/m);
  });

  it('lists enrollments as a table and as JSON, following pages', () => {
    const table = ok('enrollment', 'list');
    const lines = table.trimEnd().split('\n');
    assert.match(lines[0], /^ID\s+STATUS\s+PRIMARY SHA-256\s+SECONDARY\s+UPDATED$/);
    assert.ok(lines.some((l) => /^dev-1\s+enabled\s+[0-9A-F]{16}\s/.test(l)), table);
    const all = json('enrollment', 'list');
    assert.ok(all.length >= 4);
    assert.equal(json('enrollment', 'list', '--max', '2').length, 2);
  });

  it('deletes with a stale etag: 412 and nothing deleted', () => {
    const r = rc('enrollment', 'delete', 'dev-2', '--etag', '"stale"');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^rollcall: 412 Precondition Failed/m);
    ok('enrollment', 'show', 'dev-2');
    const etag = json('enrollment', 'show', 'dev-2').etag;
    assert.match(ok('enrollment', 'delete', 'dev-2', '--etag', etag), /deleted enrollment dev-2/);
    const gone = rc('enrollment', 'show', 'dev-2');
    assert.equal(gone.status, 1);
    assert.match(gone.stderr, /^rollcall: 404 Not Found/m);
  });

  it('manages an enrollment group signed by the device CA', () => {
    const ca = path.join(dir, 'ca/devices/ca.pem');
    const out = ok('group', 'create', 'fleet', '--primary-cert', ca);
    assert.match(out, /^group ID\s+fleet$/m);
    const g = json('group', 'show', 'fleet');
    assert.equal(g.enrollmentGroupId, 'fleet');
    assert.equal(g.attestation.x509.signingCertificates.primary.info.sha256Thumbprint.toUpperCase(),
      sha256Of(ca));
    ok('group', 'disable', 'fleet');
    assert.equal(json('group', 'show', 'fleet').provisioningStatus, 'disabled');
    assert.match(ok('group', 'list'), /^fleet\s+disabled\s/m);
    assert.deepEqual(json('registration', 'list', '--group', 'fleet'), []);
    ok('group', 'delete', 'fleet');
  });

  it('uploads and verifies a CA certificate, then a group references it', () => {
    const root = path.join(dir, 'ca/root');
    ok('ca-cert', 'upload', 'fleet-root', path.join(root, 'ca.pem'));
    const code = ok('ca-cert', 'verification-code', 'fleet-root').trim();
    assert.match(code, /^[0-9A-Fa-f]{16,}$/);
    // The proof of possession, made by the CLI's offline CA tools.
    const pop = path.join(work, 'pop.pem');
    must(ROLLCALL, ['ca', 'verification-cert', '--ca', root, '--code', code, '--out', pop]);
    assert.match(ok('ca-cert', 'verify', 'fleet-root', '--cert', pop), /is verified/);
    const list = ok('ca-cert', 'list');
    assert.match(list, /^fleet-root\s+yes\s/m);
    ok('group', 'create', 'by-ref', '--ca-ref', 'fleet-root');
    assert.match(ok('group', 'show', 'by-ref'), /^primary\s+CA certificate fleet-root$/m);
    // In use by a group: the server refuses, the CLI says why.
    const r = rc('ca-cert', 'delete', 'fleet-root');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^rollcall: 409 Conflict/m);
    ok('group', 'delete', 'by-ref');
    ok('ca-cert', 'delete', 'fleet-root');
  });

  it('shows registration states (none yet)', () => {
    const r = rc('registration', 'show', 'dev-1');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^rollcall: 404 Not Found/m);
  });

  it('tails the audit log and verifies its chain on the client side', () => {
    const rows = json('audit', 'tail', '-n', '3');
    assert.equal(rows.length, 3);
    assert.ok(rows[0].seq < rows[2].seq);
    assert.match(ok('audit', 'tail'), /^SEQ\s+TIME\s+WHO\s+ACTION\s+OBJECT\s+ETAG$/m);
    const out = ok('audit', 'verify');
    assert.match(out, /^audit chain OK \(\d+ rows\)$/m);
    const v = json('audit', 'verify');
    assert.equal(v.ok, true);
    assert.ok(v.rows >= 10);
  });

  it('says 401 for a wrong key and changes nothing', () => {
    const bad = cs.replace(/SharedAccessKey=[^;]+/, 'SharedAccessKey=' + Buffer.alloc(32, 7).toString('base64'));
    const r = run(ROLLCALL, ['enrollment', 'disable', 'dev-1', '--connection-string', bad, '--data', dir]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^rollcall: 401 Unauthorized/m);
    assert.equal(json('enrollment', 'show', 'dev-1').provisioningStatus, 'enabled');
  });

  it('does not trust the server without the trust bundle', () => {
    const r = run(ROLLCALL, ['enrollment', 'list', '--connection-string', cs], {
      env: { ...process.env, SSL_CERT_FILE: '/dev/null', SSL_CERT_DIR: '/nonexistent' },
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--cacert FILE or --data DIR/);
  });

  it('asks for the port when the data directory says port 0', () => {
    const r = run(ROLLCALL, ['enrollment', 'list', '--data', dir]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /https-port is 0.*HostName=localhost:PORT/);
  });

  it('takes the connection string from the environment', () => {
    const r = run(ROLLCALL, ['enrollment', 'show', 'dev-1', '--cacert', path.join(dir, 'ca/root.pem')], {
      env: { ...process.env, ROLLCALL_DPS_CONNECTION_STRING: cs },
    });
    assert.equal(r.status, 0, r.stderr);
  });

  // Last: it breaks the chain on purpose.
  it('audit verify finds an edited row and a deleted one', (t) => {
    if (run('sh', ['-c', 'command -v sqlite3']).status !== 0) {
      t.skip('no sqlite3(1)');
      return;
    }
    const db = path.join(dir, 'rollcall.db');
    const sql = (q) => must('sqlite3', ['-cmd', '.timeout 5000', db, q]);
    // Someone with write access to the file: the triggers do not stop them.
    sql('DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;');
    const who = sql('SELECT who FROM audit WHERE seq = 2').trim();
    sql("UPDATE audit SET who = 'mallory' WHERE seq = 2");
    let r = rc('audit', 'verify');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^rollcall: audit chain broken at seq 2: .*edited/m);
    const v = JSON.parse(rc('audit', 'verify', '--json').stdout);
    assert.equal(v.ok, false);
    assert.equal(v.firstBadSeq, 2);

    sql(`UPDATE audit SET who = '${who}' WHERE seq = 2`);
    assert.match(ok('audit', 'verify'), /^audit chain OK/m);
    sql('DELETE FROM audit WHERE seq = 3');
    r = rc('audit', 'verify');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^rollcall: audit chain broken at seq 3: .*missing/m);
  });

  it('exits 2 on usage errors and 0 on --help', () => {
    assert.equal(run(ROLLCALL, ['enrollment', 'create']).status, 2);
    assert.equal(run(ROLLCALL, ['enrollment', 'create', 'x', '--bogus']).status, 2);
    assert.equal(run(ROLLCALL, ['group', 'create', 'g', '--device-id', 'x']).status, 2);
    for (const g of ['enrollment', 'group', 'registration', 'ca-cert', 'audit']) {
      const r = run(ROLLCALL, [g, '--help']);
      assert.equal(r.status, 0);
      for (const sub of r.stdout.split('\n').map((l) => /^ {2}(\S+)/.exec(l)?.[1]).filter(Boolean)) {
        const h = run(ROLLCALL, [g, sub, '--help']);
        assert.equal(h.status, 0, `${g} ${sub} --help`);
        assert.match(h.stdout, /^usage: rollcall /);
      }
    }
  });
});
