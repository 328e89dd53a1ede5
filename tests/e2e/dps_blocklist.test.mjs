// The certificate blocklist, reissue and revocation of the DPS service API
// (docs/api.md; seed rules S4b, S9) against a real rollcalld made by
// `rollcall init`: a blocklisted leaf or CA is refused at registration
// with 401, a reissued chain verifies with openssl, and a revoked
// certificate is refused as a blocklisted one.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { ROLLCALL, makeSasToken, startDaemon, tmpdir } from './harness.mjs';

const API = 'api-version=2025-07-01-preview';
const P256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];

function must(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60000, ...opts });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

const pem = (b64) => `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g).join('\n')}\n-----END CERTIFICATE-----\n`;

describe('DPS blocklist, reissue and revocation', () => {
  let work, data, d, conn, ca, scope, owner;
  const file = (n) => path.join(work, n);
  const rc = (...args) => must(ROLLCALL, [...args, '--data', data]);

  before(async () => {
    work = tmpdir();
    data = path.join(work, 'data');
    conn = JSON.parse(must(ROLLCALL, ['init', data, '--hostname', 'localhost', '--hostname', '127.0.0.1',
      '--listen', '127.0.0.1', '--https-port', '0', '--mqtt-port', '0', '--json']));
    d = await startDaemon({ confFile: path.join(data, 'rollcall.conf') });
    ca = conn.trustBundle;
    scope = conn.idScope;
    const cj = JSON.parse(fs.readFileSync(path.join(data, 'connections.json'), 'utf8'));
    cj.dps.httpsPort = d.httpsPort;
    fs.writeFileSync(path.join(data, 'connections.json'), JSON.stringify(cj));
    const cs = Object.fromEntries(conn.dps.connectionString.split(';').map((kv) => {
      const i = kv.indexOf('=');
      return [kv.slice(0, i), kv.slice(i + 1)];
    }));
    owner = () => makeSasToken('localhost', cs.SharedAccessKeyName, cs.SharedAccessKey);
    rc('group', 'create', 'fleet', '--primary-cert', path.join(data, 'ca', 'devices', 'ca.pem'));
    for (const id of ['blk-1', 'good-1'])
      must(ROLLCALL, ['ca', 'issue', '--ca', path.join(data, 'ca', 'devices'), '--cn', id, '--out', file(id)]);
  });

  // One HTTPS request: the service API with the owner's SAS token when
  // who is null, else the device API with who's certificate.
  function call(method, p, body, who) {
    return new Promise((resolve, reject) => {
      const headers = { 'content-type': 'application/json', host: 'localhost' };
      if (!who)
        headers.authorization = owner();
      const req = https.request({
        host: '127.0.0.1', port: d.httpsPort, method, path: p, ca: fs.readFileSync(ca), servername: 'localhost',
        cert: who ? fs.readFileSync(file(`${who}.pem`)) : undefined,
        key: who ? fs.readFileSync(file(`${who}.key`)) : undefined,
        headers,
      }, (res) => {
        let text = '';
        res.on('data', (c) => { text += c; });
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, json: text ? JSON.parse(text) : null }));
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  async function register(id, who, extra = {}) {
    let r = await call('PUT', `/${scope}/registrations/${id}/register?${API}`, { registrationId: id, ...extra }, who);
    for (let i = 0; r.status === 202 && i < 100; i++) {
      await new Promise((ok) => setTimeout(ok, 100));
      r = await call('GET', `/${scope}/registrations/${id}/operations/${r.json.operationId}?${API}`, undefined, who);
    }
    return r;
  }

  function csr(cn, name) {
    must('openssl', ['req', '-new', ...P256, '-nodes', '-keyout', file(`${name}.key`),
      '-subj', `/CN=${cn}`, '-outform', 'DER', '-out', file(`${name}.csr`)]);
    return fs.readFileSync(file(`${name}.csr`)).toString('base64');
  }

  // The SHA-256 thumbprint of a PEM certificate, as openssl prints it.
  function sha256(pemFile) {
    const out = must('openssl', ['x509', '-in', pemFile, '-noout', '-fingerprint', '-sha256']);
    return out.trim().split('=')[1].replace(/:/g, '');
  }

  it('refuses a blocklisted leaf with 401, and admits it again once removed', async () => {
    let r = await register('blk-1', 'blk-1', { csr: csr('blk-1', 'blk-1-new') });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const thumb = sha256(file('blk-1.pem'));
    r = await call('PUT', `/blocklist/${thumb.toLowerCase()}`, { reason: 'e2e: key leaked' });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.sha256Thumbprint, thumb);
    r = await register('blk-1', 'blk-1');
    assert.equal(r.status, 401, JSON.stringify(r.json));
    assert.equal(r.json.errorCode, 401002);
    assert.equal(r.json.message, 'the certificate has been revoked');
    assert.match(d.stderr(), /blocklist/);
    r = await call('GET', '/blocklist');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.map((e) => e.sha256Thumbprint), [thumb]);
    // Another device of the same CA is not affected.
    r = await register('good-1', 'good-1');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    r = await call('DELETE', `/blocklist/${thumb}`);
    assert.equal(r.status, 204);
    r = await register('blk-1', 'blk-1');
    assert.equal(r.status, 200, JSON.stringify(r.json));
  });

  it('refuses every device under a blocklisted CA', async () => {
    const thumb = sha256(path.join(data, 'ca', 'devices', 'ca.pem'));
    let r = await call('PUT', `/blocklist/${thumb}`, { reason: 'e2e: device CA compromised' });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    r = await register('good-1', 'good-1');
    assert.equal(r.status, 401, JSON.stringify(r.json));
    assert.equal(r.json.message, 'the certificate has been revoked');
    r = await call('DELETE', `/blocklist/${thumb}`);
    assert.equal(r.status, 204);
    r = await register('good-1', 'good-1');
    assert.equal(r.status, 200, JSON.stringify(r.json));
  });

  it('reissues from the retained CSR: openssl verifies the chain; revoking it refuses it', async () => {
    let r = await register('blk-1', 'blk-1', { csr: csr('blk-1', 'blk-1-re') });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    r = await call('POST', '/registrations/blk-1/reissue', { validitySeconds: 3600 });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.registrationId, 'blk-1');
    assert.equal(r.json.deviceId, 'blk-1');
    assert.ok(r.json.assignedHub, JSON.stringify(r.json));
    const chain = r.json.issuedCertificateChain;
    assert.ok(chain.length >= 2, JSON.stringify(r.json));
    fs.writeFileSync(file('re.pem'), chain.map(pem).join(''));
    fs.writeFileSync(file('re-leaf.pem'), pem(chain[0]));
    fs.writeFileSync(file('re-untrusted.pem'), chain.slice(1).map(pem).join(''));
    assert.match(must('openssl', ['verify', '-CAfile', ca, '-untrusted', file('re-untrusted.pem'), file('re-leaf.pem')]), /OK/);
    assert.match(must('openssl', ['x509', '-in', file('re-leaf.pem'), '-noout', '-subject']), /CN ?= ?blk-1/);
    assert.equal(r.json.sha256, sha256(file('re-leaf.pem')));
    // A day at least: the signer counts days.
    const notAfter = Date.parse(r.json.notAfter);
    assert.ok(notAfter > Date.now() + 23 * 3600e3 && notAfter < Date.now() + 49 * 3600e3, r.json.notAfter);
    // The key of the retained CSR goes with the new certificate.
    fs.copyFileSync(file('blk-1-re.key'), file('re.key'));
    let reg = await register('blk-1', 're');
    assert.equal(reg.status, 200, JSON.stringify(reg.json));
    r = await call('GET', '/registrations/blk-1/issued');
    assert.equal(r.status, 200);
    const item = r.json.find((c) => c.sha256Thumbprint === sha256(file('re-leaf.pem')));
    assert.ok(item, JSON.stringify(r.json));
    r = await call('GET', `/issued?before=${new Date(Date.now() + 3 * 86400e3).toISOString()}&max=1000`);
    assert.equal(r.status, 200);
    assert.ok(r.json.some((c) => c.serialNumber === item.serialNumber), JSON.stringify(r.json));
    r = await call('POST', `/issued/${item.serialNumber}/revoke`, { reason: 'e2e: superseded' });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.ok(r.json.revokedUtc);
    reg = await register('blk-1', 're');
    assert.equal(reg.status, 401, JSON.stringify(reg.json));
    assert.equal(reg.json.message, 'the certificate has been revoked');
    r = await call('POST', `/issued/${item.serialNumber}/revoke`, { reason: 'again' });
    assert.equal(r.status, 409);
    // Without the right, nothing: a token of an unknown policy.
    r = await new Promise((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: d.httpsPort, method: 'GET', path: '/blocklist',
        ca: fs.readFileSync(ca), servername: 'localhost',
        headers: { host: 'localhost', authorization: makeSasToken('localhost', 'nobody', 'AAAA') } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(r.status, 401);
  });
});
