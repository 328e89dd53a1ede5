/*
 * Unit tests of the DPS service API's certificate endpoints (docs/api.md:
 * blocklist, reissue, issued certificates): requests built in C go
 * through dps_service_handle against a fresh SQLite store, with a signer
 * callback over a CA made at run time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "dps/dps.h"
#include "dps/dps_impl.h"
#include "rctest.h"
#include "rollcall/ca.h"
#include "rollcall/csr.h"
#include "rollcall/enc.h"
#include "rollcall/key.h"
#include "rollcall/mem.h"
#include "rollcall/store.h"
#include "rollcall/x509.h"

#define ALL RC_RIGHTS_DPS_ALL
#define RD RC_RIGHT_ENROLLMENT_READ
#define WR RC_RIGHT_ENROLLMENT_WRITE

#define T_A "aa00000000000000000000000000000000000000000000000000000000000001"
#define T_B "bb00000000000000000000000000000000000000000000000000000000000002"
#define T_C "cc00000000000000000000000000000000000000000000000000000000000003"

struct fx {
	char dir[600];
	struct rc_store *store;
	struct dps *dps;
	struct rc_http_resp resp;
	json_t *j;
};

static struct rc_ca *root, *inter;
static const struct rc_store_ctx owner = {"tester", NULL};

/* What the signer callback saw and how it behaves. */
static struct {
	int days;
	int calls;
	int broken;
} signer;

/* dps_service_sign_fn over the test CA, as the daemon's signer answers. */
static int
test_sign(void *arg, const uint8_t *csr, size_t len, const char *cn, int days,
    STACK_OF(X509) **chain, char *why, size_t whysize)
{
	X509_REQ *req = NULL;
	X509 *leaf = NULL;
	int rc;

	(void)arg;
	*chain = NULL;
	signer.calls++;
	signer.days = days;
	if (signer.broken) {
		snprintf(why, whysize, "the signer is gone");
		return RC_EIO;
	}
	if ((rc = rc_csr_parse(csr, len, &req)) != RC_OK ||
	    (rc = rc_csr_check(req, cn, why, whysize)) != RC_OK) {
		X509_REQ_free(req);
		return RC_EINVAL;
	}
	rc = rc_ca_sign_csr(inter, req, days > 0 ? days : 30, &leaf);
	X509_REQ_free(req);
	if (rc != RC_OK)
		return rc;
	*chain = sk_X509_new_null();
	assert_non_null(*chain);
	assert_true(sk_X509_push(*chain, leaf) > 0);
	assert_true(X509_up_ref(inter->cert));
	assert_true(sk_X509_push(*chain, inter->cert) > 0);
	assert_true(X509_up_ref(root->cert));
	assert_true(sk_X509_push(*chain, root->cert) > 0);
	return RC_OK;
}

static struct fx *
fx_new(int with_signer)
{
	struct dps_config cfg = {.id_scope = "0ne00000001"};
	static int seq;
	struct fx *f;
	char uri[700], sub[32];

	if (with_signer)
		cfg.sign = test_sign;
	assert_non_null(f = calloc(1, sizeof(*f)));
	snprintf(sub, sizeof(sub), "c%d", seq++);
	snprintf(f->dir, sizeof(f->dir), "%s",
	    rctest_path(rctest_tmpdir(), sub));
	assert_int_equal(mkdir(f->dir, 0700), 0);
	snprintf(uri, sizeof(uri), "sqlite:%s", rctest_path(f->dir, "t.db"));
	assert_int_equal(rc_store_open(uri, &f->store), RC_OK);
	assert_int_equal(dps_new(&cfg, f->store, &f->dps), RC_OK);
	rc_http_resp_init(&f->resp, 1 << 22);
	memset(&signer, 0, sizeof(signer));
	return f;
}

static int
setup(void **state)
{
	*state = fx_new(1);
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	json_decref(f->j);
	rc_http_resp_free(&f->resp);
	dps_free(f->dps);
	rc_store_close(f->store);
	rctest_rmtree(f->dir);
	free(f);
	return 0;
}

static const char *
resp_header(struct fx *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->resp.nheaders; i++)
		if (strcasecmp(f->resp.headers[i][0], name) == 0)
			return f->resp.headers[i][1];
	return NULL;
}

/*
 * Sends one request (hdrs: NULL-terminated name, value pairs), checks the
 * shape every answer must have, keeps the body in f->j, returns the
 * status.
 */
static int
call_h(struct fx *f, enum rc_http_method m, const char *target,
    const char *body, unsigned rights, const char *const *hdrs)
{
	struct rc_principal who = {"tester", rights};
	struct rc_http_req req;
	static char path[2048];
	const char *q;
	json_error_t err;
	long long code;
	size_t i;

	memset(&req, 0, sizeof(req));
	snprintf(path, sizeof(path), "%s", target);
	if ((q = strchr(target, '?')) != NULL) {
		path[q - target] = '\0';
		req.query = q + 1;
	}
	req.method = m;
	req.path = path;
	req.host = "localhost";
	req.peer = "127.0.0.1:1";
	for (i = 0; hdrs != NULL && hdrs[i] != NULL; i += 2) {
		req.headers[req.nheaders].name = hdrs[i];
		req.headers[req.nheaders++].value = hdrs[i + 1];
	}
	if (body != NULL && rc_http_header(&req, "Content-Type") == NULL) {
		req.headers[req.nheaders].name = "Content-Type";
		req.headers[req.nheaders++].value = "application/json";
	}
	req.body = (const uint8_t *)body;
	req.body_len = body != NULL ? strlen(body) : 0;
	rc_http_resp_free(&f->resp);
	rc_http_resp_init(&f->resp, 1 << 22);
	json_decref(f->j);
	f->j = NULL;
	dps_service_handle(f->dps, &req, &who, &f->resp);
	if (f->resp.body.len > 0) {
		assert_non_null(
		    strstr(resp_header(f, "Content-Type"), "application/json"));
		f->j = json_loadb((const char *)f->resp.body.data,
		    f->resp.body.len, 0, &err);
		assert_non_null(f->j);
	}
	if (f->resp.status >= 400) {
		assert_non_null(resp_header(f, "x-ms-error-code"));
		assert_int_equal(rc_strtonum(resp_header(f, "x-ms-error-code"),
		                     100000, 599999, &code),
		    RC_OK);
		assert_int_equal(json_integer_value(
		                     json_object_get(f->j, "errorCode")),
		    code);
		assert_non_null(
		    json_string_value(json_object_get(f->j, "message")));
	}
	return f->resp.status;
}

static int
call(struct fx *f, enum rc_http_method m, const char *target, const char *body,
    unsigned rights)
{
	return call_h(f, m, target, body, rights, NULL);
}

static long long
err_code(struct fx *f)
{
	return json_integer_value(json_object_get(f->j, "errorCode"));
}

static const char *
jstr(json_t *j, const char *key)
{
	return json_string_value(json_object_get(j, key));
}

static void
upper(const char *in, char out[65])
{
	size_t i;

	for (i = 0; in[i] != '\0' && i < 64; i++)
		out[i] =
		    in[i] >= 'a' && in[i] <= 'f' ? (char)(in[i] - 32) : in[i];
	out[i] = '\0';
}

static void
test_blocklist_crud(void **state)
{
	struct fx *f = *state;
	char up[65], path[128];
	const char *tok;
	const char *const page2[] = {"x-ms-max-item-count", "2", NULL};
	const char *hdrs[5] = {"x-ms-max-item-count", "2", "x-ms-continuation",
	    NULL, NULL};
	char token[256];

	upper(T_A, up);
	assert_int_equal(call(f, RC_HTTP_PUT, "/blocklist/" T_A,
	                     "{\"reason\": \"breach of device-1\"}", WR),
	    200);
	assert_string_equal(jstr(f->j, "sha256Thumbprint"), up);
	assert_string_equal(jstr(f->j, "reason"), "breach of device-1");
	assert_int_equal(strlen(jstr(f->j, "blockedUtc")), 20);
	snprintf(path, sizeof(path), "/blocklist/%s", up);
	assert_int_equal(call(f, RC_HTTP_GET, path, NULL, RD), 200);
	assert_string_equal(jstr(f->j, "reason"), "breach of device-1");
	/* a second PUT replaces the reason */
	assert_int_equal(call(f, RC_HTTP_PUT, path, "{\"reason\": \"again\"}",
	                     WR),
	    200);
	assert_string_equal(jstr(f->j, "reason"), "again");
	assert_int_equal(call(f, RC_HTTP_GET, "/blocklist/" T_B, NULL, RD),
	    404);
	assert_int_equal(err_code(f), 404205);
	assert_int_equal(call(f, RC_HTTP_PUT, "/blocklist/" T_B,
	                     "{\"reason\": \"b\"}", WR),
	    200);
	assert_int_equal(call(f, RC_HTTP_PUT, "/BlockList/" T_C,
	                     "{\"reason\": \"c\", \"other\": 1}", WR),
	    200);
	/* paged as the enrollment queries are */
	assert_int_equal(call_h(f, RC_HTTP_GET, "/blocklist", NULL, RD, page2),
	    200);
	assert_int_equal(json_array_size(f->j), 2);
	assert_string_equal(jstr(json_array_get(f->j, 0), "reason"), "again");
	assert_string_equal(resp_header(f, "x-ms-item-type"),
	    "BlockedCertificate");
	assert_non_null(tok = resp_header(f, "x-ms-continuation"));
	snprintf(token, sizeof(token), "%s", tok);
	hdrs[3] = token;
	assert_int_equal(call_h(f, RC_HTTP_GET, "/blocklist/", NULL, RD, hdrs),
	    200);
	assert_int_equal(json_array_size(f->j), 1);
	assert_string_equal(jstr(json_array_get(f->j, 0), "reason"), "c");
	assert_null(resp_header(f, "x-ms-continuation"));
	assert_int_equal(call(f, RC_HTTP_DELETE, "/blocklist/" T_A, NULL, WR),
	    204);
	assert_int_equal(call(f, RC_HTTP_DELETE, "/blocklist/" T_A, NULL, WR),
	    404);
	assert_int_equal(err_code(f), 404205);
	assert_int_equal(call(f, RC_HTTP_GET, "/blocklist", NULL, RD), 200);
	assert_int_equal(json_array_size(f->j), 2);
}

static void
test_blocklist_bad(void **state)
{
	struct fx *f = *state;
	char body[RC_BLOCKLIST_MAX_REASON + 32],
	    reason[RC_BLOCKLIST_MAX_REASON + 2];
	const char *const xml[] = {"Content-Type", "text/xml", NULL};
	const char *const badtok[] = {"x-ms-continuation", "%%%", NULL};

	/* 63 and 65 digits, a non-hex digit, a SHA-1 thumbprint */
	assert_int_equal(call(f, RC_HTTP_PUT, "/blocklist/" T_A "0",
	                     "{\"reason\": \"r\"}", WR),
	    400);
	assert_int_equal(err_code(f), 400001);
	assert_int_equal(call(f, RC_HTTP_GET, "/blocklist/" T_A + 1, NULL, RD),
	    400);
	assert_int_equal(call(f, RC_HTTP_DELETE,
	                     "/blocklist/"
	                     "ga00000000000000000000000000000000000000000000000"
	                     "000000000000001",
	                     NULL, WR),
	    400);
	assert_int_equal(call(f, RC_HTTP_GET,
	                     "/blocklist/"
	                     "0123456789012345678901234567890123456789",
	                     NULL, RD),
	    400);
	/* bodies */
	assert_int_equal(call(f, RC_HTTP_PUT, "/blocklist/" T_A, NULL, WR),
	    400);
	assert_int_equal(err_code(f), 400004);
	assert_int_equal(call(f, RC_HTTP_PUT, "/blocklist/" T_A, "{}", WR),
	    400);
	assert_int_equal(call(f, RC_HTTP_PUT, "/blocklist/" T_A,
	                     "{\"reason\": \"\"}", WR),
	    400);
	assert_int_equal(call(f, RC_HTTP_PUT, "/blocklist/" T_A,
	                     "{\"reason\": 7}", WR),
	    400);
	assert_int_equal(call(f, RC_HTTP_PUT, "/blocklist/" T_A,
	                     "{\"reason\": \"a\\u0000b\"}", WR),
	    400);
	assert_int_equal(call(f, RC_HTTP_PUT, "/blocklist/" T_A,
	                     "{\"reason\": \"r\"", WR),
	    400);
	assert_int_equal(call(f, RC_HTTP_PUT, "/blocklist/" T_A, "[1]", WR),
	    400);
	assert_int_equal(call_h(f, RC_HTTP_PUT, "/blocklist/" T_A,
	                     "{\"reason\": \"r\"}", WR, xml),
	    415);
	/* max + 1, then max */
	memset(reason, 'r', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	snprintf(body, sizeof(body), "{\"reason\": \"%s\"}", reason);
	assert_int_equal(call(f, RC_HTTP_PUT, "/blocklist/" T_A, body, WR),
	    400);
	reason[RC_BLOCKLIST_MAX_REASON] = '\0';
	snprintf(body, sizeof(body), "{\"reason\": \"%s\"}", reason);
	assert_int_equal(call(f, RC_HTTP_PUT, "/blocklist/" T_A, body, WR),
	    200);
	/* paths and methods */
	assert_int_equal(call(f, RC_HTTP_POST, "/blocklist", "{}", ALL), 405);
	assert_non_null(resp_header(f, "Allow"));
	assert_int_equal(call(f, RC_HTTP_POST, "/blocklist/" T_A, "{}", ALL),
	    405);
	assert_int_equal(call(f, RC_HTTP_GET, "/blocklist/" T_A "/x", NULL,
	                     ALL),
	    404);
	assert_int_equal(call_h(f, RC_HTTP_GET, "/blocklist", NULL, RD, badtok),
	    400);
	/* nothing was listed by the refused requests */
	assert_int_equal(call(f, RC_HTTP_GET, "/blocklist", NULL, RD), 200);
	assert_int_equal(json_array_size(f->j), 1);
}

/* Each write needs EnrollmentWrite, each read EnrollmentRead: 401. */
static void
test_rights(void **state)
{
	struct fx *f = *state;
	static const struct {
		enum rc_http_method m;
		const char *path;
		const char *body;
		unsigned lacking;
	} cases[] = {
	    {RC_HTTP_PUT, "/blocklist/" T_A, "{\"reason\": \"r\"}", ALL & ~WR},
	    {RC_HTTP_DELETE, "/blocklist/" T_A, NULL, ALL & ~WR},
	    {RC_HTTP_GET, "/blocklist/" T_A, NULL, ALL & ~RD},
	    {RC_HTTP_GET, "/blocklist", NULL, ALL & ~RD},
	    {RC_HTTP_POST, "/registrations/dev-1/reissue", NULL, ALL & ~WR},
	    {RC_HTTP_GET, "/registrations/dev-1/issued", NULL, ALL & ~RD},
	    {RC_HTTP_GET, "/issued?before=2030-01-01T00:00:00Z", NULL,
	        ALL & ~RD},
	    {RC_HTTP_POST, "/issued/0A/revoke", "{\"reason\": \"r\"}",
	        ALL & ~WR},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(call(f, cases[i].m, cases[i].path,
		                     cases[i].body, cases[i].lacking),
		    401);
		assert_int_equal(err_code(f), 401002);
	}
	assert_int_equal(signer.calls, 0);
	assert_int_equal(call(f, RC_HTTP_GET, "/blocklist/" T_A, NULL, RD),
	    404);
}

/* A registration record of id, retaining a CSR for cn (NULL: none). */
static void
put_registration(struct fx *f, const char *id, const char *cn)
{
	struct rc_registration in, *out = NULL;
	X509_REQ *req = NULL;
	EVP_PKEY *key = NULL;
	char *pem = NULL;
	size_t len;

	memset(&in, 0, sizeof(in));
	in.registration_id = (char *)id;
	in.device_id = (char *)id;
	in.assigned_hub = "hub1.example";
	in.status = "assigned";
	if (cn != NULL) {
		assert_int_equal(rc_key_gen(RC_KEY_P256, &key), RC_OK);
		assert_int_equal(rc_csr_new(key, cn, &req), RC_OK);
		assert_int_equal(rc_csr_to_pem(req, &pem, &len), RC_OK);
		in.last_csr = pem;
	}
	assert_int_equal(rc_store_registration_put(f->store, &owner, &in, &out),
	    RC_OK);
	rc_registration_free(out);
	rc_free(pem);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
}

static X509 *
b64_cert(json_t *s)
{
	uint8_t *der;
	size_t len;
	X509 *x;

	assert_non_null(json_string_value(s));
	assert_int_equal(rc_b64_decode(json_string_value(s),
	                     json_string_length(s), 1 << 16, &der, &len),
	    RC_OK);
	assert_int_equal(rc_x509_parse(der, len, &x), RC_OK);
	rc_free(der);
	return x;
}

static void
test_reissue(void **state)
{
	struct fx *f = *state;
	json_t *chain;
	X509 *leaf, *ca;
	char sha[65], *cn;

	put_registration(f, "dev-1", "dev-1");
	assert_int_equal(call(f, RC_HTTP_POST, "/registrations/DEV-1/reissue",
	                     NULL, WR),
	    200);
	assert_int_equal(signer.days, 0);
	assert_string_equal(jstr(f->j, "registrationId"), "dev-1");
	assert_string_equal(jstr(f->j, "deviceId"), "dev-1");
	assert_string_equal(jstr(f->j, "assignedHub"), "hub1.example");
	assert_int_equal(strlen(jstr(f->j, "notAfter")), 20);
	chain = json_object_get(f->j, "issuedCertificateChain");
	assert_int_equal(json_array_size(chain), 3);
	leaf = b64_cert(json_array_get(chain, 0));
	ca = b64_cert(json_array_get(chain, 1));
	assert_int_equal(X509_cmp(ca, inter->cert), 0);
	assert_int_equal(rc_x509_get1_cn(leaf, &cn), RC_OK);
	assert_string_equal(cn, "dev-1");
	assert_int_equal(rc_x509_thumbprint(leaf, 1, sha, sizeof(sha)), RC_OK);
	assert_string_equal(jstr(f->j, "sha256"), sha);
	/* recorded: the registration's history lists it */
	assert_int_equal(call(f, RC_HTTP_GET, "/registrations/dev-1/issued",
	                     NULL, RD),
	    200);
	assert_int_equal(json_array_size(f->j), 1);
	assert_string_equal(jstr(json_array_get(f->j, 0), "sha256Thumbprint"),
	    sha);
	/* validity in seconds, rounded up to days */
	assert_int_equal(call(f, RC_HTTP_POST, "/registrations/dev-1/reissue",
	                     "{\"validitySeconds\": 86401}", WR),
	    200);
	assert_int_equal(signer.days, 2);
	assert_int_equal(call(f, RC_HTTP_POST, "/registrations/dev-1/reissue",
	                     "{\"validitySeconds\": 60}", WR),
	    200);
	assert_int_equal(signer.days, 1);
	assert_int_equal(call(f, RC_HTTP_GET,
	                     "/registrations/dev-1/issued?max=2", NULL, RD),
	    200);
	assert_int_equal(json_array_size(f->j), 2);
	rc_free(cn);
	X509_free(leaf);
	X509_free(ca);
}

static void
test_reissue_refused(void **state)
{
	struct fx *f = *state;
	char body[64];

	put_registration(f, "dev-1", "dev-1");
	put_registration(f, "dev-2", NULL);
	put_registration(f, "dev-3", "someone-else");
	assert_int_equal(call(f, RC_HTTP_POST, "/registrations/dev-9/reissue",
	                     NULL, WR),
	    404);
	assert_int_equal(err_code(f), 404203);
	assert_int_equal(call(f, RC_HTTP_POST, "/registrations/dev-2/reissue",
	                     NULL, WR),
	    409);
	assert_int_equal(err_code(f), 409204);
	assert_int_equal(call(f, RC_HTTP_POST, "/registrations/dev-3/reissue",
	                     NULL, WR),
	    409);
	assert_int_equal(err_code(f), 409205);
	signer.broken = 1;
	assert_int_equal(call(f, RC_HTTP_POST, "/registrations/dev-1/reissue",
	                     NULL, WR),
	    503);
	assert_int_equal(err_code(f), 503001);
	signer.broken = 0;
	/* validitySeconds: 0, negative, not an integer, max + 1 */
	assert_int_equal(call(f, RC_HTTP_POST, "/registrations/dev-1/reissue",
	                     "{\"validitySeconds\": 0}", WR),
	    400);
	assert_int_equal(call(f, RC_HTTP_POST, "/registrations/dev-1/reissue",
	                     "{\"validitySeconds\": -5}", WR),
	    400);
	assert_int_equal(call(f, RC_HTTP_POST, "/registrations/dev-1/reissue",
	                     "{\"validitySeconds\": \"60\"}", WR),
	    400);
	assert_int_equal(call(f, RC_HTTP_POST, "/registrations/dev-1/reissue",
	                     "{\"validitySeconds\": 1.5}", WR),
	    400);
	snprintf(body, sizeof(body), "{\"validitySeconds\": %lld}",
	    (long long)RC_CA_DAYS_MAX * 86400 + 1);
	assert_int_equal(call(f, RC_HTTP_POST, "/registrations/dev-1/reissue",
	                     body, WR),
	    400);
	assert_int_equal(call(f, RC_HTTP_POST, "/registrations/dev-1/reissue",
	                     "{\"validitySeconds\": ", WR),
	    400);
	assert_int_equal(call(f, RC_HTTP_POST, "/registrations/dev%201/reissue",
	                     NULL, WR),
	    400);
	assert_int_equal(call(f, RC_HTTP_GET, "/registrations/dev-1/reissue",
	                     NULL, ALL),
	    405);
	assert_int_equal(call(f, RC_HTTP_POST, "/registrations/dev-1/reissue2",
	                     NULL, ALL),
	    404);
	snprintf(body, sizeof(body), "{\"validitySeconds\": %lld}",
	    (long long)RC_CA_DAYS_MAX * 86400);
	assert_int_equal(call(f, RC_HTTP_POST, "/registrations/dev-1/reissue",
	                     body, WR),
	    200);
	assert_int_equal(signer.days, RC_CA_DAYS_MAX);
}

static void
test_reissue_no_signer(void **state)
{
	struct fx *f = fx_new(0);

	(void)state;
	put_registration(f, "dev-1", "dev-1");
	assert_int_equal(call(f, RC_HTTP_POST, "/registrations/dev-1/reissue",
	                     NULL, WR),
	    503);
	assert_int_equal(err_code(f), 503001);
	teardown((void **)&f);
}

static void
put_issued(struct fx *f, const char *id, const char *serial, const char *sha256,
    int64_t issued, int64_t not_after)
{
	struct rc_issued_cert c;
	uint8_t der[3] = {0x30, 0x01, 0x00};

	memset(&c, 0, sizeof(c));
	c.registration_id = (char *)id;
	snprintf(c.serial, sizeof(c.serial), "%s", serial);
	snprintf(c.sha256, sizeof(c.sha256), "%s", sha256);
	c.not_before = 1000;
	c.not_after = not_after;
	c.issued_at = issued;
	c.der = der;
	c.der_len = sizeof(der);
	assert_int_equal(rc_store_issued_put(f->store, &owner, &c, NULL),
	    RC_OK);
}

static void
assert_serials(struct fx *f, const char *want)
{
	char got[256] = "";
	size_t i;

	assert_true(json_is_array(f->j));
	for (i = 0; i < json_array_size(f->j); i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
		    i > 0 ? " " : "",
		    jstr(json_array_get(f->j, i), "serialNumber"));
	assert_string_equal(got, want);
}

/* 2001-09-09T01:46:40Z is 1000000000. */
static void
test_issued(void **state)
{
	struct fx *f = *state;
	json_t *it;
	char up[65];

	put_issued(f, "dev-1", "0A", T_A, 100, 1000000300);
	put_issued(f, "dev-1", "0B", T_B, 200, 1000000100);
	put_issued(f, "dev-2", "0C", T_C, 300, 1000000200);
	assert_int_equal(call(f, RC_HTTP_GET,
	                     "/issued?before=2001-09-09T01:55:00Z", NULL, RD),
	    200);
	assert_serials(f, "0B 0C 0A");
	it = json_array_get(f->j, 0);
	assert_string_equal(jstr(it, "registrationId"), "dev-1");
	upper(T_B, up);
	assert_string_equal(jstr(it, "sha256Thumbprint"), up);
	assert_string_equal(jstr(it, "notAfterUtc"), "2001-09-09T01:48:20Z");
	assert_string_equal(jstr(it, "notBeforeUtc"), "1970-01-01T00:16:40Z");
	assert_string_equal(jstr(it, "issuedUtc"), "1970-01-01T00:03:20Z");
	assert_null(json_object_get(it, "revokedUtc"));
	/* strictly before; fractions of a second dropped */
	assert_int_equal(call(f, RC_HTTP_GET,
	                     "/issued?before=2001-09-09T01:55:00.999Z&max=2",
	                     NULL, RD),
	    200);
	assert_serials(f, "0B 0C");
	assert_int_equal(call(f, RC_HTTP_GET,
	                     "/issued?before=2001-09-09T01:48:20Z", NULL, RD),
	    200);
	assert_serials(f, "");
	assert_int_equal(call(f, RC_HTTP_GET,
	                     "/issued?before=2001-09-09T01%3A48%3A21Z&max=1000",
	                     NULL, RD),
	    200);
	assert_serials(f, "0B");
	assert_int_equal(call(f, RC_HTTP_GET, "/registrations/dev-1/issued",
	                     NULL, RD),
	    200);
	assert_serials(f, "0B 0A");
	assert_int_equal(call(f, RC_HTTP_GET, "/registrations/dev-9/issued",
	                     NULL, RD),
	    200);
	assert_serials(f, "");
}

static void
test_issued_bad(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = {
	    "/issued",
	    "/issued?before=",
	    "/issued?before=2030-01-01",
	    "/issued?before=2030-01-01T00:00:00",
	    "/issued?before=2030-01-01T00:00:00+00:00",
	    "/issued?before=2030-13-01T00:00:00Z",
	    "/issued?before=2030-01-01T00:00:00.Z",
	    "/issued?before=1969-12-31T23:59:59Z",
	    "/issued?before=2030-01-01T00:00:00Z&max=0",
	    "/issued?before=2030-01-01T00:00:00Z&max=1001",
	    "/issued?before=2030-01-01T00:00:00Z&max=-1",
	    "/issued?before=2030-01-01T00:00:00Z&max=ten",
	    "/registrations/dev-1/issued?max=1001",
	    "/registrations/dev-1/issued?max=0",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (call(f, RC_HTTP_GET, bad[i], NULL, RD) != 400)
			fail_msg("%s: %ld", bad[i], f->resp.status * 1L);
		assert_int_equal(err_code(f), 400001);
	}
	assert_int_equal(call(f, RC_HTTP_POST,
	                     "/issued?before=2030-01-01T00:00:00Z", "{}", ALL),
	    405);
	assert_int_equal(call(f, RC_HTTP_GET, "/issued/0A", NULL, ALL), 404);
	assert_int_equal(call(f, RC_HTTP_POST, "/registrations/dev-1/issued",
	                     "{}", ALL),
	    405);
}

static void
test_revoke(void **state)
{
	struct fx *f = *state;
	char up[65], path[128], serial41[64];

	upper(T_A, up);
	put_issued(f, "dev-1", "0A", T_A, 100, 1000000300);
	put_issued(f, "dev-1", "0B", T_B, 200, 1000000100);
	assert_int_equal(call(f, RC_HTTP_POST, "/issued/0a/revoke",
	                     "{\"reason\": \"keyCompromise\"}", WR),
	    200);
	assert_string_equal(jstr(f->j, "serialNumber"), "0A");
	assert_string_equal(jstr(f->j, "revocationReason"), "keyCompromise");
	assert_int_equal(strlen(jstr(f->j, "revokedUtc")), 20);
	/* blocklisted in the same step */
	snprintf(path, sizeof(path), "/blocklist/%s", up);
	assert_int_equal(call(f, RC_HTTP_GET, path, NULL, RD), 200);
	assert_string_equal(jstr(f->j, "reason"), "keyCompromise");
	/* gone from the expiry report, kept in the history */
	assert_int_equal(call(f, RC_HTTP_GET,
	                     "/issued?before=2030-01-01T00:00:00Z", NULL, RD),
	    200);
	assert_serials(f, "0B");
	assert_int_equal(call(f, RC_HTTP_GET, "/registrations/dev-1/issued",
	                     NULL, RD),
	    200);
	assert_serials(f, "0B 0A");
	assert_non_null(json_object_get(json_array_get(f->j, 1), "revokedUtc"));
	/* again, unknown, malformed */
	assert_int_equal(call(f, RC_HTTP_POST, "/issued/0A/revoke",
	                     "{\"reason\": \"again\"}", WR),
	    409);
	assert_int_equal(err_code(f), 409206);
	assert_int_equal(call(f, RC_HTTP_POST, "/issued/0F/revoke",
	                     "{\"reason\": \"r\"}", WR),
	    404);
	assert_int_equal(err_code(f), 404206);
	assert_int_equal(call(f, RC_HTTP_POST, "/issued/0G/revoke",
	                     "{\"reason\": \"r\"}", WR),
	    400);
	memset(serial41, 'A', RC_ISSUED_MAX_SERIAL + 1);
	serial41[RC_ISSUED_MAX_SERIAL + 1] = '\0';
	snprintf(path, sizeof(path), "/issued/%s/revoke", serial41);
	assert_int_equal(call(f, RC_HTTP_POST, path, "{\"reason\": \"r\"}", WR),
	    400);
	assert_int_equal(call(f, RC_HTTP_POST, "/issued/0B/revoke", NULL, WR),
	    400);
	assert_int_equal(call(f, RC_HTTP_POST, "/issued/0B/revoke",
	                     "{\"reason\": \"\"}", WR),
	    400);
	assert_int_equal(call(f, RC_HTTP_GET, "/issued/0B/revoke", NULL, ALL),
	    405);
	assert_int_equal(call(f, RC_HTTP_POST, "/issued/0B/unrevoke",
	                     "{\"reason\": \"r\"}", ALL),
	    404);
	/* 0B untouched by all of that */
	assert_int_equal(call(f, RC_HTTP_GET,
	                     "/issued?before=2030-01-01T00:00:00Z", NULL, RD),
	    200);
	assert_serials(f, "0B");
}

static void
test_match(void **state)
{
	struct rc_http_req req;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.path = "/blocklist";
	assert_true(dps_service_match(&req));
	req.path = "/Issued/01/revoke";
	assert_true(dps_service_match(&req));
	req.path = "/blocklists";
	assert_false(dps_service_match(&req));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_match),
	    T(test_blocklist_crud),
	    T(test_blocklist_bad),
	    T(test_rights),
	    T(test_reissue),
	    T(test_reissue_refused),
	    cmocka_unit_test(test_reissue_no_signer),
	    T(test_issued),
	    T(test_issued_bad),
	    T(test_revoke),
	};
	int rc;

	rc_mem_hook_openssl();
	assert_int_equal(rc_ca_new_root("certs test root", RC_KEY_P256, 30,
	                     &root),
	    RC_OK);
	assert_int_equal(rc_ca_new_intermediate(root, "certs test devices",
	                     RC_KEY_P256, 30, &inter),
	    RC_OK);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rc_ca_free(inter);
	rc_ca_free(root);
	rctest_rmtree(rctest_tmpdir());
	return rc;
}
