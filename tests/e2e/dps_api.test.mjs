// The DPS service API of a real rollcalld, driven by raw HTTPS requests
// made as the azure-iot-provisioning-service SDK makes them (its headers,
// its SAS tokens, ?api-version=2021-10-01).  Every refused request -- a
// bad token or a policy without the right, a malformed body, a body over
// max-body, a bad certificate, a stale etag, a certificate already in
// another enrollment -- gets its status and the DPS error body, and leaves
// the enrollments and the audit log exactly as they were; so do the
// refusals the listener makes before routing.  What the SDK relies on
// besides: any api-version, any case of the first path segment, bulk at
// /enrollments/, x-ms-continuation only while more pages exist.
// Acknowledged writes survive kill -9 of the daemon, with a valid audit
// chain.
//
// Certificates come from `rollcall ca` (the harness's test CA, plus small
// CAs of this file), made before the requests that use them.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';

import {
  ROLLCALL, encodeUriComponentStrict, makeSasToken, request, startDaemon,
} from './harness.mjs';

const OWNER = 'provisioningserviceowner';
const UA = 'azure-iot-provisioning-service/1.11.2';
const SAS_SKEW = 300;

const nowSec = () => Math.ceil(Date.now() / 1000);

// Runs cmd to completion; rejects unless it exits 0.
function runAsync(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (s) => { stdout += s; });
    child.stderr.on('data', (s) => { stderr += s; });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function mustRun(cmd, args) {
  const r = await runAsync(cmd, args);
  if (r.code !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

// fn over items, at most n at a time.
async function pool(items, n, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

// Device certificates with CN = id, issued by the CA in caDir:
// {id: {pem, key}} (PEM texts).
async function issueCerts(caDir, outDir, ids, parallel = 2) {
  fs.mkdirSync(outDir, { recursive: true, mode: 0o700 });
  const out = {};
  await pool(ids, parallel, async (id) => {
    const prefix = path.join(outDir, id);
    await mustRun(ROLLCALL, ['ca', 'issue', '--ca', caDir, '--cn', id, '--out', prefix, '--days', '1']);
    out[id] = {
      pem: fs.readFileSync(`${prefix}.pem`, 'utf8'),
      key: fs.readFileSync(`${prefix}.key`, 'utf8'),
    };
  });
  return out;
}

// A root CA whose CN is cn: its certificate (PEM text).
async function makeCa(outDir, cn) {
  const dir = path.join(outDir, cn);
  await mustRun(ROLLCALL, ['ca', 'init', '--out', dir, '--cn', cn, '--days', '2']);
  return fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8');
}

function tokenFor(d, policy = OWNER, se = undefined) {
  return makeSasToken('localhost', policy, d.policies[policy], se);
}

// The token's fields in order, e.g. [['sr','localhost'], ['sig',..]].
function tokenFields(tok) {
  const m = /^SharedAccessSignature (.*)$/.exec(tok);
  return m[1].split('&').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]);
}

// tok with some fields replaced (raw, already encoded values).
function editToken(tok, changes) {
  const fields = tokenFields(tok).map(([k, v]) => [k, k in changes ? changes[k] : v]);
  return 'SharedAccessSignature ' + fields.map(([k, v]) => `${k}=${v}`).join('&');
}

// One base64 character of the signature replaced by another.
function flipSigChar(tok) {
  const sig = decodeURIComponent(Object.fromEntries(tokenFields(tok)).sig);
  const c = sig[0] === 'A' ? 'B' : 'A';
  return editToken(tok, { sig: encodeUriComponentStrict(c + sig.slice(1)) });
}

// A request as the SDK makes it: Authorization (opts.token; null for
// none), Request-Id, User-Agent, Accept, a JSON Content-Type with a
// body, ?api-version=2021-10-01 unless the path has a query already.
function sdk(d, method, p, opts = {}) {
  const headers = {
    'Request-Id': crypto.randomUUID(),
    'User-Agent': UA,
  };
  const token = opts.token === undefined ? tokenFor(d) : opts.token;
  if (token !== null)
    headers.Authorization = token;
  if (method !== 'DELETE')
    headers.Accept = 'application/json';
  if (opts.body !== undefined)
    headers['Content-Type'] = 'application/json; charset=utf-8';
  Object.assign(headers, opts.headers ?? {});
  const full = p.includes('?') ? p : `${p}?api-version=2021-10-01`;
  return request(d, { method, path: full, headers, body: opts.body, agent: opts.agent });
}

// The DPS error body (docs/api.md "Errors").
function assertDpsError(r, status, code, message) {
  const what = `${r.status} ${r.body}`;
  assert.equal(r.status, status, what);
  assert.match(r.headers['content-type'] ?? '', /^application\/json/, what);
  assert.ok(r.json !== undefined, `not JSON: ${what}`);
  assert.deepEqual(Object.keys(r.json).sort(), ['errorCode', 'message', 'timestampUtc', 'trackingId'], what);
  assert.equal(r.json.errorCode, code, what);
  assert.equal(r.headers['x-ms-error-code'], String(code), what);
  assert.match(r.json.trackingId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.match(r.json.timestampUtc, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.ok(Math.abs(Date.parse(r.json.timestampUtc) - Date.now()) < 120000, r.json.timestampUtc);
  if (message !== undefined)
    assert.match(r.json.message, message, what);
}

function assertOk(r, status = 200) {
  assert.equal(r.status, status, r.body);
  if (status !== 204)
    assert.match(r.headers['content-type'] ?? '', /^application\/json/);
}

// Every audit row, oldest first.
async function auditRows(d) {
  const rows = [];
  for (;;) {
    const after = rows.length > 0 ? rows[rows.length - 1].seq : 0;
    const r = await sdk(d, 'GET', `/audit?after=${after}&max=1000`);
    assertOk(r);
    rows.push(...r.json);
    if (r.json.length < 1000)
      return rows;
  }
}

// What a refused request must leave alone: the named resources as GET
// shows them (status, ETag, body) and the whole audit log.
async function snapshot(d, paths) {
  const s = { resources: {}, audit: await auditRows(d) };
  for (const p of paths) {
    const r = await sdk(d, 'GET', p);
    // An error body's trackingId and time differ on every answer.
    const body = r.status === 200 ? r.json : r.json?.errorCode;
    s.resources[p] = { status: r.status, etag: r.headers.etag, body };
  }
  return s;
}

async function assertUnchanged(d, before) {
  assert.deepEqual(await snapshot(d, Object.keys(before.resources)), before);
}

function individual(id, primary, extra = {}) {
  return {
    registrationId: id,
    attestation: { type: 'x509', x509: { clientCertificates: { primary: { certificate: primary } } } },
    provisioningStatus: 'enabled',
    ...extra,
  };
}

function group(id, signing) {
  return {
    enrollmentGroupId: id,
    attestation: { type: 'x509', x509: { signingCertificates: { primary: { certificate: signing } } } },
    provisioningStatus: 'enabled',
  };
}

describe('DPS service API: refused requests change nothing', () => {
  let d;
  let certs;
  let cas;
  let fixed; // the stored fixture enrollment (GET body)
  const FIXED = '/enrollments/e2e-fixed';
  const GROUP = '/enrollmentGroups/e2e-group';

  before(async () => {
    d = await startDaemon();
    const caDir = path.join(d.dir, 'ca');
    const work = path.join(d.dir, 'certs');
    certs = await issueCerts(caDir, work, ['e2e-fixed', 'e2e-new', 'e2e-etag', 'e2e-nothere', 'e2e-big',
      'e2e-bulk-1', 'e2e-bulk-2', 'e2e-bulk-3', 'e2e-page-1', 'e2e-page-2', 'e2e-page-3']);
    cas = {};
    for (const cn of ['grpca-0', 'grpca-1', 'grpca-2'])
      cas[cn] = await makeCa(work, cn);
    assertOk(await sdk(d, 'PUT', FIXED, { body: individual('e2e-fixed', certs['e2e-fixed'].pem) }));
    assertOk(await sdk(d, 'PUT', GROUP, { body: group('e2e-group', cas['grpca-0']) }));
    const r = await sdk(d, 'GET', FIXED);
    assertOk(r);
    fixed = r.json;
  });

  after(async () => {
    await d?.stop();
  });

  // The fixture as the SDK writes it back (read-modify-write): disabled.
  const disabledFixture = () => ({ ...fixed, provisioningStatus: 'disabled' });

  it('answers 401 to a missing, wrong, expired or tampered token', async () => {
    const owner = d.policies[OWNER];
    const se = nowSec() + 3600;
    const good = tokenFor(d, OWNER, se);
    const cases = {
      'no Authorization header': null,
      'not a SAS token': 'Bearer eyJhbGciOiJub25lIn0.e30.',
      'a malformed SAS token': 'SharedAccessSignature sr=localhost&sig=&se=',
      'signed with a wrong key': makeSasToken('localhost', OWNER, crypto.randomBytes(32).toString('base64'), se),
      'signed with another policy\'s key': makeSasToken('localhost', OWNER, d.policies.enrollmentread, se),
      'expired an hour ago': tokenFor(d, OWNER, nowSec() - 3600),
      'expired beyond the clock skew': tokenFor(d, OWNER, nowSec() - SAS_SKEW - 60),
      'one character of sig changed': flipSigChar(good),
      'se changed after signing': editToken(good, { se: String(se + 3600) }),
      'sr changed after signing': editToken(good, { sr: 'evil.example.com' }),
      'skn changed after signing': editToken(good, { skn: 'enrollmentread' }),
      'for another host': makeSasToken('evil.example.com', OWNER, owner, se),
      'for a host starting with ours': makeSasToken('localhost.evil.example.com', OWNER, owner, se),
      'naming an unknown policy': makeSasToken('localhost', 'nosuchpolicy', owner, se),
      'naming no policy': makeSasToken('localhost', null, owner, se),
    };
    const before = await snapshot(d, [FIXED, GROUP, '/enrollments/e2e-new', '/certificates/e2e-ca']);
    for (const [name, token] of Object.entries(cases)) {
      const calls = [
        ['PUT', FIXED, disabledFixture()],
        ['DELETE', FIXED],
        ['GET', FIXED],
        ['PUT', '/enrollments/e2e-new', individual('e2e-new', certs['e2e-new'].pem)],
        ['DELETE', GROUP],
        ['POST', '/enrollments/', { mode: 'create', enrollments: [individual('e2e-new', certs['e2e-new'].pem)] }],
        ['POST', '/enrollments/query', { query: '*' }],
        ['PUT', '/certificates/e2e-ca', { certificate: cas['grpca-1'] }],
        ['GET', '/audit'],
      ];
      for (const [method, p, body] of calls) {
        const r = await sdk(d, method, p, { token, body });
        await test401(r, `${name}: ${method} ${p}`);
      }
    }
    await assertUnchanged(d, before);
    // The good token does work.
    assertOk(await sdk(d, 'GET', FIXED, { token: good }));
  });

  async function test401(r, what) {
    try {
      assertDpsError(r, 401, 401002);
    } catch (e) {
      e.message = `${what}: ${e.message}`;
      throw e;
    }
  }

  it('answers 401 to a policy lacking the right, before reading the body', async () => {
    const before = await snapshot(d, [FIXED, GROUP, '/enrollments/e2e-new', '/certificates/e2e-ca']);
    const read = tokenFor(d, 'enrollmentread');
    const write = tokenFor(d, 'enrollmentwrite');
    const calls = [
      [read, 'PUT', FIXED, disabledFixture()],
      [read, 'PUT', FIXED, '{"registrationId": "e2e-fixed", '], // malformed: 401 first
      [read, 'DELETE', FIXED],
      [read, 'PUT', '/enrollments/e2e-new', individual('e2e-new', certs['e2e-new'].pem)],
      [read, 'DELETE', GROUP],
      [read, 'POST', '/enrollments', { mode: 'delete', enrollments: [{ registrationId: 'e2e-fixed' }] }],
      [read, 'DELETE', '/registrations/e2e-fixed'],
      [read, 'PUT', '/certificates/e2e-ca', { certificate: cas['grpca-1'] }],
      [read, 'GET', '/audit'],
      [read, 'GET', '/audit/verify'],
      [write, 'GET', FIXED],
      [write, 'GET', GROUP],
      [write, 'POST', '/enrollments/query', { query: '*' }],
      [write, 'POST', `${FIXED}/attestationmechanism`],
      [write, 'GET', '/registrations/e2e-fixed'],
      [write, 'GET', '/audit'],
      [write, 'GET', '/audit/verify'],
      [write, 'PUT', '/certificates/e2e-ca', { certificate: cas['grpca-1'] }],
      [write, 'GET', '/certificates'],
      [write, 'GET', '/certificates/e2e-ca'],
      [write, 'POST', '/certificates/e2e-ca/generateVerificationCode'],
      [write, 'DELETE', '/certificates/e2e-ca'],
    ];
    for (const [token, method, p, body] of calls) {
      const policy = token === read ? 'enrollmentread' : 'enrollmentwrite';
      const r = await sdk(d, method, p, { token, body });
      await test401(r, `${policy}: ${method} ${p}`);
      assert.match(r.json.message, new RegExp(`policy '${policy}' lacks the right`));
    }
    await assertUnchanged(d, before);
    // What each policy does grant works.
    const got = await sdk(d, 'GET', FIXED, { token: read });
    assertOk(got);
    assert.deepEqual(got.json, fixed);
    assertOk(await sdk(d, 'GET', '/certificates', { token: read }));
    const put = await sdk(d, 'PUT', FIXED, { token: write, body: fixed });
    assertOk(put);
    assert.notEqual(put.json.etag, fixed.etag);
    const rows = await auditRows(d);
    assert.equal(rows.length, before.audit.length + 1);
    assert.deepEqual(
      [rows.at(-1).who, rows.at(-1).action, rows.at(-1).object, rows.at(-1).etagBefore, rows.at(-1).etagAfter],
      ['enrollmentwrite', 'enrollment.put', 'e2e-fixed', fixed.etag, put.json.etag]);
    fixed = put.json;
  });

  it('answers 400 to malformed JSON, naming the line and column', async () => {
    const before = await snapshot(d, [FIXED, '/enrollments/e2e-new']);
    const text = JSON.stringify(disabledFixture(), null, 2);
    const bodies = {
      truncated: text.slice(0, text.length - 7),
      'trailing garbage': `${text} x`,
      'a second value': `${text}{}`,
      'duplicate keys': '{"registrationId": "e2e-fixed",\n "provisioningStatus": "enabled",\n "provisioningStatus": "disabled"}',
      'a bare word': '{\n  "registrationId": "e2e-fixed",\n  "provisioningStatus": disabled\n}',
      'a NUL byte': Buffer.from('{"registrationId": "e2e-fixed\u0000"}'),
      'invalid UTF-8': Buffer.concat([Buffer.from('{"registrationId": "'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
      'a lone comma': ',',
    };
    for (const [name, body] of Object.entries(bodies)) {
      for (const p of [FIXED, '/enrollments/e2e-new']) {
        const r = await sdk(d, 'PUT', p, { body });
        try {
          assertDpsError(r, 400, 400004, /^malformed JSON: line \d+ column \d+: /);
        } catch (e) {
          e.message = `${name}: ${e.message}`;
          throw e;
        }
      }
    }
    const dup = await sdk(d, 'PUT', FIXED, { body: bodies['duplicate keys'] });
    assert.match(dup.json.message, /line 3 column \d+: .*duplicate/i);
    const word = await sdk(d, 'PUT', FIXED, { body: bodies['a bare word'] });
    assert.match(word.json.message, /line 3 column \d+/);
    await assertUnchanged(d, before);
  });

  it('answers 400 to a body of the wrong type or shape', async () => {
    const before = await snapshot(d, [FIXED, '/enrollments/e2e-new']);
    const pem = certs['e2e-new'].pem;
    const cases = [
      [FIXED, { ...disabledFixture(), registrationId: 42 }, /registrationId must be a string/],
      ['/enrollments/e2e-new', individual(42, pem), /registrationId must be a string/],
      ['/enrollments/e2e-new', individual('e2e-other', pem), /registrationId 'e2e-other' in the body is not 'e2e-new'/],
      [FIXED, { ...disabledFixture(), provisioningStatus: true }, /provisioningStatus/],
      [FIXED, { ...disabledFixture(), provisioningStatus: 'sleeping' }, /provisioningStatus/],
      [FIXED, { ...disabledFixture(), attestation: 'x509' }, /attestation/],
      [FIXED, { ...disabledFixture(), iotHubs: 'hub.example.com' }, /iotHubs/],
      [FIXED, { ...disabledFixture(), reprovisionPolicy: { updateHubAssignment: 'yes' } }, /updateHubAssignment/],
      [FIXED, { ...disabledFixture(), capabilities: { iotEdge: 1 } }, /iotEdge/],
      [FIXED, { ...disabledFixture(), initialTwin: [] }, /initialTwin/],
      [FIXED, { ...disabledFixture(), deviceId: 7 }, /deviceId/],
      [FIXED, [disabledFixture()], /JSON object/],
      [FIXED, '"e2e-fixed"', /JSON object|'\[' or '\{' expected/],
      ['/enrollments', { mode: 'create', enrollments: {} }, /enrollments must be an array/],
      ['/enrollments', { mode: 'upsert', enrollments: [individual('e2e-new', pem)] }, /mode must be/],
    ];
    for (const [p, body, message] of cases) {
      const method = p === '/enrollments' ? 'POST' : 'PUT';
      const r = await sdk(d, method, p, { body });
      assertDpsError(r, 400, 400004, message);
    }
    await assertUnchanged(d, before);
  });

  it('answers 413 to a body over max-body and keeps serving', async () => {
    const before = await snapshot(d, [FIXED, '/enrollments/e2e-big']);
    const limit = 64 * 1024; // the harness's max-body 64k
    const padded = (n) => {
      const e = individual('e2e-big', certs['e2e-big'].pem, { pad: '' });
      const text = JSON.stringify(e);
      return JSON.stringify({ ...e, pad: 'x'.repeat(n - text.length) });
    };
    for (const p of [FIXED, '/enrollments/e2e-big']) {
      const r = await sdk(d, 'PUT', p, { body: padded(limit + 1) });
      assertDpsError(r, 413, 413001);
      assertDpsError(await sdk(d, 'PUT', p, { body: padded(4 * limit) }), 413, 413001);
    }
    // Chunked, with no Content-Length.
    const chunked = await chunkedPut(d, '/enrollments/e2e-big', Buffer.from(padded(2 * limit)));
    assertDpsError(chunked, 413, 413001);
    await assertUnchanged(d, before);
    // Exactly max-body is accepted.
    assert.equal(Buffer.byteLength(padded(limit)), limit);
    const ok = await sdk(d, 'PUT', '/enrollments/e2e-big', { body: padded(limit) });
    assertOk(ok);
    assert.equal(ok.json.pad.length, limit - JSON.stringify(individual('e2e-big', certs['e2e-big'].pem, { pad: '' })).length);
    assertOk(await sdk(d, 'DELETE', '/enrollments/e2e-big'), 204);
  });

  it('gives the error body to what the listener refuses itself', async () => {
    const before = await snapshot(d, [FIXED]);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // evhttp's own answers: after a request on the same connection too.
      assertOk(await sdk(d, 'GET', FIXED, { agent }));
      const big = await sdk(d, 'PUT', FIXED, { agent, body: Buffer.alloc(65 * 1024, 0x20) });
      assertDpsError(big, 413, 413001, /larger than 65536 bytes/);
      assert.equal(big.headers.connection, 'close');
    } finally {
      agent.destroy();
    }
    assertDpsError(await sdk(d, 'GET', FIXED, { headers: { 'X-Big': 'a'.repeat(17 * 1024) } }), 400, 400001);
    assertDpsError(await sdk(d, 'OPTIONS', FIXED), 501, 501000);
    const many = {};
    for (let i = 0; i < 70; i++)
      many[`X-H${i}`] = 'v';
    assertDpsError(await sdk(d, 'PUT', FIXED, { headers: many, body: fixed }), 431, 431001);
    // evhttp's 100 Continue is left alone: the request reaches the role.
    const cont = await sdk(d, 'PUT', FIXED, {
      body: fixed, headers: { Expect: '100-continue', 'If-Match': '"0000000000000000"' },
    });
    assertDpsError(cont, 412, 412002);
    await assertUnchanged(d, before);
  });

  it('answers 400 to a bad PEM, naming the slot, and stores nothing', async () => {
    const before = await snapshot(d, [FIXED, GROUP, '/enrollments/e2e-new', '/enrollmentGroups/e2e-g-new']);
    const pem = certs['e2e-new'].pem;
    const b64 = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
    const bad = {
      'a truncated PEM': pem.slice(0, Math.floor(pem.length / 2)),
      'a PEM without its END line': pem.replace(/-----END CERTIFICATE-----\s*$/, ''),
      'a PEM of garbage base64': '-----BEGIN CERTIFICATE-----\n!!not*base64$$\n-----END CERTIFICATE-----\n',
      'a PEM of base64 that is not DER': '-----BEGIN CERTIFICATE-----\nQUJDREVGR0hJSktMTU5PUA==\n-----END CERTIFICATE-----\n',
      'garbage bare base64': 'this is not base64!',
      'truncated bare base64 DER': b64.slice(0, b64.length - 40),
      'a PRIVATE KEY block': certs['e2e-new'].key,
      'an empty string': '',
    };
    const slot = (kind, name) => new RegExp(`^attestation\\.x509\\.${kind}\\.${name}\\.certificate: `);
    for (const [name, text] of Object.entries(bad)) {
      const calls = [
        ['/enrollments/e2e-new', individual('e2e-new', text), slot('clientCertificates', 'primary')],
        [FIXED, {
          ...fixed,
          attestation: { type: 'x509', x509: { clientCertificates: {
            primary: fixed.attestation.x509.clientCertificates.primary,
            secondary: { certificate: text },
          } } },
        }, slot('clientCertificates', 'secondary')],
        ['/enrollmentGroups/e2e-g-new', group('e2e-g-new', text), slot('signingCertificates', 'primary')],
      ];
      for (const [p, body, message] of calls) {
        const r = await sdk(d, 'PUT', p, { body });
        try {
          assertDpsError(r, 400, 400010, message);
        } catch (e) {
          e.message = `${name}: ${e.message}`;
          throw e;
        }
      }
    }
    // Bulk items name the slot too, and nothing is stored.
    const bulk = await sdk(d, 'POST', '/enrollments/', {
      body: { mode: 'create', enrollments: [individual('e2e-new', bad['a PRIVATE KEY block'])] },
    });
    assertOk(bulk);
    assert.equal(bulk.json.isSuccessful, false);
    assert.equal(bulk.json.errors[0].errorCode, 400010);
    assert.match(bulk.json.errors[0].errorStatus, slot('clientCertificates', 'primary'));
    await assertUnchanged(d, before);
  });

  it('answers 412 to a stale etag on PUT and DELETE; If-Match "*" works', async () => {
    const p = '/enrollments/e2e-etag';
    const body = individual('e2e-etag', certs['e2e-etag'].pem);
    const first = await sdk(d, 'PUT', p, { body });
    assertOk(first);
    const second = await sdk(d, 'PUT', p, { body: { ...first.json, provisioningStatus: 'disabled' } });
    assertOk(second);
    const stale = first.json.etag;
    assert.notEqual(second.json.etag, stale);
    assert.equal(second.headers.etag, second.json.etag);

    const before = await snapshot(d, [p, '/enrollments/e2e-nothere']);
    for (const im of [stale, stale.replace(/"/g, ''), '"0000000000000000"']) {
      assertDpsError(await sdk(d, 'PUT', p, { body: second.json, headers: { 'If-Match': im } }), 412, 412002);
      assertDpsError(await sdk(d, 'DELETE', p, { headers: { 'If-Match': im } }), 412, 412002);
    }
    // If-Match on a PUT of an enrollment that does not exist: 412, not created.
    assertDpsError(await sdk(d, 'PUT', '/enrollments/e2e-nothere', {
      body: individual('e2e-nothere', certs['e2e-nothere'].pem), headers: { 'If-Match': stale },
    }), 412, 412002);
    // Bulk updateIfMatchETag with the stale etag.
    const bulk = await sdk(d, 'POST', '/enrollments', {
      body: { mode: 'updateIfMatchETag', enrollments: [{ ...second.json, etag: stale }] },
    });
    assertOk(bulk);
    assert.equal(bulk.json.errors[0].errorCode, 412002);
    await assertUnchanged(d, before);

    // The current etag, quoted or bare, and "*" work.
    const third = await sdk(d, 'PUT', p, { body: second.json, headers: { 'If-Match': second.json.etag } });
    assertOk(third);
    const fourth = await sdk(d, 'PUT', p, { body: third.json, headers: { 'If-Match': third.json.etag.replace(/"/g, '') } });
    assertOk(fourth);
    const fifth = await sdk(d, 'PUT', p, { body: fourth.json, headers: { 'If-Match': '*' } });
    assertOk(fifth);
    assert.equal(new Set([stale, second.json.etag, third.json.etag, fourth.json.etag, fifth.json.etag]).size, 5);
    assertDpsError(await sdk(d, 'DELETE', p, { headers: { 'If-Match': fourth.json.etag } }), 412, 412002);
    assertOk(await sdk(d, 'DELETE', p, { headers: { 'If-Match': '*' } }), 204);
    assertDpsError(await sdk(d, 'GET', p), 404, 404201);
    assertDpsError(await sdk(d, 'DELETE', p, { headers: { 'If-Match': '*' } }), 404, 404201);

    // A group's stale etag too.
    const g = (await sdk(d, 'GET', GROUP)).json;
    const g2 = await sdk(d, 'PUT', GROUP, { body: g, headers: { 'If-Match': g.etag } });
    assertOk(g2);
    const gBefore = await snapshot(d, [GROUP]);
    assertDpsError(await sdk(d, 'PUT', GROUP, { body: g, headers: { 'If-Match': g.etag } }), 412, 412002);
    assertDpsError(await sdk(d, 'DELETE', GROUP, { headers: { 'If-Match': g.etag } }), 412, 412002);
    await assertUnchanged(d, gBefore);
  });

  it('answers 409 to a certificate already in another enrollment, naming it', async () => {
    // An individual enrollment's certificate has CN = its registration ID,
    // so two individual enrollments cannot share one: the second is 400.
    const pem = certs['e2e-fixed'].pem;
    let before = await snapshot(d, [FIXED, '/enrollments/e2e-new']);
    assertDpsError(await sdk(d, 'PUT', '/enrollments/e2e-new', { body: individual('e2e-new', pem) }),
      400, 400010, /subject CN 'e2e-fixed' is not the registration ID 'e2e-new'/);
    await assertUnchanged(d, before);

    // An individual enrollment holding a CA certificate (CN grpca-1), then
    // a group signing with it.
    const ind = await sdk(d, 'PUT', '/enrollments/grpca-1', { body: individual('grpca-1', cas['grpca-1']) });
    assertOk(ind);
    before = await snapshot(d, ['/enrollments/grpca-1', '/enrollmentGroups/e2e-g1', GROUP]);
    assertDpsError(await sdk(d, 'PUT', '/enrollmentGroups/e2e-g1', { body: group('e2e-g1', cas['grpca-1']) }),
      409, 409201, /already in enrollment 'grpca-1'/);
    // ... and as the secondary of an existing group.
    const g = (await sdk(d, 'GET', GROUP)).json;
    g.attestation.x509.signingCertificates.secondary = { certificate: cas['grpca-1'] };
    assertDpsError(await sdk(d, 'PUT', GROUP, { body: g }), 409, 409201, /already in enrollment 'grpca-1'/);
    await assertUnchanged(d, before);

    // A group first, then an individual enrollment and another group.
    assertOk(await sdk(d, 'PUT', '/enrollmentGroups/e2e-g2', { body: group('e2e-g2', cas['grpca-2']) }));
    before = await snapshot(d, ['/enrollmentGroups/e2e-g2', '/enrollments/grpca-2', '/enrollmentGroups/e2e-g3']);
    assertDpsError(await sdk(d, 'PUT', '/enrollments/grpca-2', { body: individual('grpca-2', cas['grpca-2']) }),
      409, 409201, /already in enrollment 'e2e-g2'/);
    assertDpsError(await sdk(d, 'PUT', '/enrollmentGroups/e2e-g3', { body: group('e2e-g3', cas['grpca-2']) }),
      409, 409201, /already in enrollment 'e2e-g2'/);
    const bulk = await sdk(d, 'POST', '/enrollmentGroups', {
      body: { mode: 'create', enrollmentGroups: [group('e2e-g3', cas['grpca-2'])] },
    });
    assertOk(bulk);
    assert.equal(bulk.json.errors[0].errorCode, 409201);
    assert.match(bulk.json.errors[0].errorStatus, /already in enrollment 'e2e-g2'/);
    await assertUnchanged(d, before);

    // Once the holder is gone the certificate is free again.
    assertOk(await sdk(d, 'DELETE', '/enrollments/grpca-1'), 204);
    assertOk(await sdk(d, 'PUT', '/enrollmentGroups/e2e-g1', { body: group('e2e-g1', cas['grpca-1']) }));
    for (const p of ['/enrollmentGroups/e2e-g1', '/enrollmentGroups/e2e-g2'])
      assertOk(await sdk(d, 'DELETE', p), 204);
  });

  it('accepts any api-version, any case of the first segment, and a trailing slash on bulk', async () => {
    const want = (await sdk(d, 'GET', FIXED)).json;
    for (const p of [`${FIXED}?api-version=2018-09-01-preview`, `${FIXED}?api-version=zzz`,
      `${FIXED}?`, '/ENROLLMENTS/e2e-fixed?api-version=2021-10-01', '/enrollments/E2E-FIXED?a=b']) {
      const r = await sdk(d, 'GET', p);
      assertOk(r);
      assert.deepEqual(r.json, want, p);
    }
    const g = (await sdk(d, 'GET', GROUP)).json;
    for (const p of ['/EnrollmentGroups/e2e-group', '/enrollmentgroups/e2e-group', '/ENROLLMENTGROUPS/E2E-GROUP']) {
      const r = await sdk(d, 'GET', p);
      assertOk(r);
      assert.deepEqual(r.json, g, p);
    }
    const att = await sdk(d, 'POST', '/enrollmentgroups/e2e-group/attestationmechanism');
    assertOk(att);
    assert.equal(att.json.type, 'x509');

    const items = ['e2e-bulk-1', 'e2e-bulk-2'].map((id) => individual(id, certs[id].pem));
    const slash = await sdk(d, 'POST', '/enrollments/', { body: { mode: 'create', enrollments: items } });
    assertOk(slash);
    assert.deepEqual(slash.json, { isSuccessful: true, errors: [] });
    const bare = await sdk(d, 'POST', '/Enrollments', {
      body: { mode: 'create', enrollments: [individual('e2e-bulk-3', certs['e2e-bulk-3'].pem)] },
    });
    assertOk(bare);
    assert.equal(bare.json.isSuccessful, true);
    for (const id of ['e2e-bulk-1', 'e2e-bulk-2', 'e2e-bulk-3'])
      assertOk(await sdk(d, 'GET', `/enrollments/${id}`));
    const del = await sdk(d, 'POST', '/enrollments/', {
      body: { mode: 'delete', enrollments: ['e2e-bulk-1', 'e2e-bulk-2', 'e2e-bulk-3'].map((id) => ({ registrationId: id })) },
    });
    assertOk(del);
    assert.equal(del.json.isSuccessful, true);
  });

  it('pages a query: x-ms-continuation only while more items exist', async () => {
    for (const id of ['e2e-page-1', 'e2e-page-2', 'e2e-page-3'])
      assertOk(await sdk(d, 'PUT', `/enrollments/${id}`, { body: individual(id, certs[id].pem) }));
    const all = await sdk(d, 'POST', '/enrollments/query', { body: { query: '*' } });
    assertOk(all);
    assert.equal(all.headers['x-ms-continuation'], undefined);
    assert.equal(all.headers['x-ms-item-type'], 'Enrollment');
    const ids = all.json.map((e) => e.registrationId);
    assert.ok(ids.length >= 4, ids.join());
    const seen = [];
    let cont;
    for (let page = 0; ; page++) {
      const headers = { 'x-ms-max-item-count': '2' };
      if (cont !== undefined)
        headers['x-ms-continuation'] = cont;
      const r = await sdk(d, 'POST', '/enrollments/query', { body: { query: '*' }, headers });
      assertOk(r);
      assert.equal(r.headers['x-ms-max-item-count'], '2');
      assert.ok(r.json.length <= 2);
      seen.push(...r.json.map((e) => e.registrationId));
      cont = r.headers['x-ms-continuation'];
      if (cont === undefined)
        break;
      assert.ok(page < ids.length, 'paging does not end');
    }
    assert.deepEqual(seen, ids);
    for (const id of ['e2e-page-1', 'e2e-page-2', 'e2e-page-3'])
      assertOk(await sdk(d, 'DELETE', `/enrollments/${id}`), 204);
  });
});

// A PUT with Transfer-Encoding: chunked (no Content-Length).
function chunkedPut(d, p, body) {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: d.httpsHost,
      port: d.httpsPort,
      servername: 'localhost',
      ca: d.ca,
      method: 'PUT',
      path: `${p}?api-version=2021-10-01`,
      agent: false,
      headers: {
        Host: 'localhost',
        Authorization: tokenFor(d),
        'Content-Type': 'application/json; charset=utf-8',
        'Transfer-Encoding': 'chunked',
      },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, headers: res.headers, body: text, json });
      });
    });
    req.on('error', reject);
    for (let i = 0; i < body.length; i += 8192)
      req.write(body.subarray(i, i + 8192));
    req.end();
  });
}

describe('DPS service API: kill -9 during a burst of writes', () => {
  const N = 160;
  const CONCURRENCY = 16;

  // All enrollments, {registrationId: etag}, paging through the query.
  async function storedEtags(d) {
    const stored = new Map();
    let cont;
    do {
      const headers = { 'x-ms-max-item-count': '1000' };
      if (cont !== undefined)
        headers['x-ms-continuation'] = cont;
      const r = await sdk(d, 'POST', '/enrollments/query', { body: { query: '*' }, headers });
      assertOk(r);
      for (const e of r.json)
        stored.set(e.registrationId, e.etag);
      cont = r.headers['x-ms-continuation'];
    } while (cont !== undefined);
    return stored;
  }

  it('keeps every acknowledged write and a valid audit chain across a restart', async (t) => {
    const d = await startDaemon();
    const ids = Array.from({ length: N }, (_, i) => `burst-${String(i).padStart(3, '0')}`);
    const t0 = Date.now();
    const certs = await issueCerts(path.join(d.dir, 'ca'), path.join(d.dir, 'burst'), ids, 2);
    t.diagnostic(`${N} certificates in ${Date.now() - t0} ms`);

    // Creates, and every third one followed by a replace of the same
    // enrollment (disabled), so some IDs are written twice.
    const tasks = [];
    ids.forEach((id, i) => {
      tasks.push({ id, body: individual(id, certs[id].pem) });
      if (i % 3 === 2)
        tasks.push({ id: ids[i - 1], body: individual(ids[i - 1], certs[ids[i - 1]].pem, { provisioningStatus: 'disabled' }) });
    });
    const agent = new https.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const acked = new Map(); // id -> the etags of its acknowledged PUTs
    let nacked = 0;
    let inflight = 0;
    let inflightAtKill = -1;
    let killed = null;
    let next = 0;
    const worker = async () => {
      while (next < tasks.length && killed === null) {
        const { id, body } = tasks[next++];
        let r;
        inflight++;
        try {
          r = await sdk(d, 'PUT', `/enrollments/${id}`, { body, agent });
        } catch (e) {
          assert.ok(killed !== null, `PUT ${id} failed before the kill: ${e}`);
          continue;
        } finally {
          inflight--;
        }
        // A 200 the daemon sent counts, even if read after the kill.
        assert.equal(r.status, 200, r.body);
        acked.set(id, [...(acked.get(id) ?? []), r.json.etag]);
        if (killed === null && ++nacked >= tasks.length / 2) {
          inflightAtKill = inflight;
          killed = d.stop('SIGKILL');
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    } finally {
      agent.destroy();
    }
    assert.ok(killed !== null, 'the burst ended before the kill');
    const { signal } = await killed;
    assert.equal(signal, 'SIGKILL');
    assert.ok(inflightAtKill > 0, 'no write was in flight at the kill');
    t.diagnostic(`killed with ${inflightAtKill} PUTs in flight; ` +
      `${[...acked.values()].flat().length} of ${tasks.length} acknowledged`);

    const d2 = await startDaemon({ confFile: d.conf, ca: d.pki.ca, policies: d.policies });
    try {
      const stored = await storedEtags(d2);
      t.diagnostic(`${stored.size} enrollments stored after the restart`);
      const rows = await auditRows(d2);
      assert.deepEqual(rows.map((a) => a.seq), rows.map((_, i) => i + 1));
      // Per enrollment, its audit rows chain etag to etag, and the stored
      // etag is the last one: each write and its row were one transaction.
      const trail = new Map();
      for (const a of rows) {
        assert.equal(a.action, 'enrollment.put');
        assert.equal(a.who, OWNER);
        const prev = trail.get(a.object) ?? [];
        assert.equal(a.etagBefore, prev.length > 0 ? prev.at(-1) : '', `audit row ${a.seq}`);
        trail.set(a.object, [...prev, a.etagAfter]);
      }
      assert.deepEqual(new Map([...trail].map(([id, etags]) => [id, etags.at(-1)])), stored);
      // Every acknowledged write is there: its etag, or a later one.
      for (const [id, etags] of acked) {
        assert.ok(stored.has(id), `acknowledged ${id} lost`);
        const order = trail.get(id);
        for (const etag of etags)
          assert.ok(order.includes(etag), `acknowledged write ${etag} of ${id} lost`);
        assert.equal(stored.get(id), order.at(-1));
      }

      const v = await sdk(d2, 'GET', '/audit/verify');
      assertOk(v);
      assert.deepEqual(v.json, { valid: true });
      const cs = `HostName=localhost:${d2.httpsPort};SharedAccessKeyName=${OWNER};SharedAccessKey=${d2.policies[OWNER]}`;
      const out = await mustRun(ROLLCALL, ['audit', 'verify', '--connection-string', cs, '--cacert', d.pki.ca]);
      assert.match(out, new RegExp(`^audit chain OK \\(${rows.length} rows\\)$`, 'm'));

      // The restarted daemon takes writes and extends the chain.
      const lost = ids.find((id) => !stored.has(id));
      assertOk(await sdk(d2, 'PUT', `/enrollments/${lost}`, { body: individual(lost, certs[lost].pem) }));
      assert.deepEqual((await sdk(d2, 'GET', '/audit/verify')).json, { valid: true });
    } finally {
      const { code } = await d2.stop();
      assert.equal(code, 0);
    }
  });
});
