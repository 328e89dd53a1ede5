/*
 * Unit tests of the DPS service API (src/dps): requests built in C go
 * through dps_service_handle against a fresh SQLite store in a temp dir;
 * the PKI is made at run time with the ca module.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "dps/dps.h"
#include "dps/dps_impl.h"
#include "rctest.h"
#include "rollcall/ca.h"
#include "rollcall/enc.h"
#include "rollcall/key.h"
#include "rollcall/mem.h"
#include "rollcall/store.h"
#include "rollcall/x509.h"

#define ALL RC_RIGHTS_DPS_ALL
#define BODY_MAX (256 * 1024)

struct fx {
	char dir[600];
	struct rc_store *store;
	struct dps *dps;
	struct rc_http_resp resp;
	json_t *j; /* last response body, or NULL */
};

/* One root and one intermediate for the whole run. */
static struct rc_ca *root, *inter;

static struct fx *
fx_new(size_t max_body)
{
	struct dps_config cfg = {.id_scope = "0ne00000001",
	    .max_body = max_body};
	static int seq;
	struct fx *f;
	char uri[700], sub[32];

	assert_non_null(f = calloc(1, sizeof(*f)));
	/* A fresh store per test, in its own subdirectory. */
	snprintf(sub, sizeof(sub), "t%d", seq++);
	snprintf(f->dir, sizeof(f->dir), "%s",
	    rctest_path(rctest_tmpdir(), sub));
	assert_int_equal(mkdir(f->dir, 0700), 0);
	snprintf(uri, sizeof(uri), "sqlite:%s", rctest_path(f->dir, "t.db"));
	assert_int_equal(rc_store_open(uri, &f->store), RC_OK);
	assert_int_equal(dps_new(&cfg, f->store, &f->dps), RC_OK);
	rc_http_resp_init(&f->resp, 1 << 22);
	return f;
}

static int
setup(void **state)
{
	*state = fx_new(0);
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
 * Sends one request; hdrs is a NULL-terminated list of name, value.
 * Checks what every answer must satisfy (JSON content type with a body,
 * error body + x-ms-error-code on errors) and keeps the parsed body in
 * f->j.  Returns the status.
 */
static int
call_raw(struct fx *f, enum rc_http_method m, const char *target,
    const void *body, size_t body_len, unsigned rights, const char *const *hdrs)
{
	struct rc_principal who = {"tester", rights};
	struct rc_http_req req;
	static char path[2048];
	const char *ct, *q;
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
		req.headers[req.nheaders++].value =
		    "application/json; charset=utf-8";
	}
	req.body = body;
	req.body_len = body_len;
	rc_http_resp_free(&f->resp);
	rc_http_resp_init(&f->resp, 1 << 22);
	json_decref(f->j);
	f->j = NULL;
	dps_service_handle(f->dps, &req, &who, &f->resp);
	if (f->resp.body.len > 0) {
		ct = resp_header(f, "Content-Type");
		assert_non_null(ct);
		assert_non_null(strstr(ct, "application/json"));
		f->j = json_loadb((const char *)f->resp.body.data,
		    f->resp.body.len, 0, &err);
		assert_non_null(f->j);
	}
	if (f->resp.status >= 400) {
		assert_non_null(f->j);
		assert_non_null(resp_header(f, "x-ms-error-code"));
		assert_int_equal(rc_strtonum(resp_header(f, "x-ms-error-code"),
		                     100000, 599999, &code),
		    RC_OK);
		assert_int_equal(json_integer_value(
		                     json_object_get(f->j, "errorCode")),
		    code);
		assert_non_null(
		    json_string_value(json_object_get(f->j, "trackingId")));
		assert_non_null(
		    json_string_value(json_object_get(f->j, "timestampUtc")));
		assert_non_null(
		    json_string_value(json_object_get(f->j, "message")));
	}
	return f->resp.status;
}

static int
call(struct fx *f, enum rc_http_method m, const char *target, const char *body,
    unsigned rights, const char *const *hdrs)
{
	return call_raw(f, m, target, body, body != NULL ? strlen(body) : 0,
	    rights, hdrs);
}

static int
call_json(struct fx *f, enum rc_http_method m, const char *target, json_t *body,
    unsigned rights, const char *const *hdrs)
{
	static char buf[BODY_MAX];
	size_t n;

	n = json_dumpb(body, buf, sizeof(buf), JSON_COMPACT);
	assert_true(n > 0 && n < sizeof(buf));
	return call_raw(f, m, target, buf, n, rights, hdrs);
}

static long long
err_code(struct fx *f)
{
	return json_integer_value(json_object_get(f->j, "errorCode"));
}

static const char *
err_msg(struct fx *f)
{
	return json_string_value(json_object_get(f->j, "message"));
}

static const char *
jstr(json_t *j, const char *path)
{
	char key[64];
	const char *dot;

	while ((dot = strchr(path, '.')) != NULL) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		j = json_object_get(j, key);
		path = dot + 1;
	}
	return json_string_value(json_object_get(j, path));
}

static json_t *
jget(json_t *j, const char *path)
{
	char key[64];
	const char *dot;

	while ((dot = strchr(path, '.')) != NULL) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		j = json_object_get(j, key);
		path = dot + 1;
	}
	return json_object_get(j, path);
}

static char *
pem_of(X509 *x)
{
	char *pem;

	assert_int_equal(rc_x509_to_pem(x, &pem, NULL), RC_OK);
	return pem;
}

static char *
sha256_of(X509 *x)
{
	static char out[65];

	assert_int_equal(rc_x509_thumbprint(x, 1, out, sizeof(out)), RC_OK);
	return out;
}

static X509 *
leaf(const char *cn)
{
	EVP_PKEY *k;
	X509 *x;

	assert_int_equal(rc_ca_issue(inter, cn, RC_KEY_P256, 30, &x, &k),
	    RC_OK);
	EVP_PKEY_free(k);
	return x;
}

/* An IndividualEnrollment body as the Node SDK sends it (§5). */
static json_t *
individual(const char *id, X509 *primary, X509 *secondary)
{
	json_t *slots = json_object(), *j;
	char *pem;

	if (primary != NULL) {
		pem = pem_of(primary);
		json_object_set_new(slots, "primary",
		    json_pack("{s:s}", "certificate", pem));
		rc_free(pem);
	}
	if (secondary != NULL) {
		pem = pem_of(secondary);
		json_object_set_new(slots, "secondary",
		    json_pack("{s:s}", "certificate", pem));
		rc_free(pem);
	}
	j = json_pack("{s:s, s:{s:s, s:{s:o}}, s:s, s:{s:b, s:b}}",
	    "registrationId", id, "attestation", "type", "x509", "x509",
	    "clientCertificates", slots, "provisioningStatus", "enabled",
	    "reprovisionPolicy", "updateHubAssignment", 1, "migrateDeviceData",
	    1);
	assert_non_null(j);
	return j;
}

static json_t *
group(const char *id, X509 *signing)
{
	char *pem = pem_of(signing);
	json_t *j;

	j = json_pack("{s:s, s:{s:s, s:{s:{s:{s:s}}}}, s:s}",
	    "enrollmentGroupId", id, "attestation", "type", "x509", "x509",
	    "signingCertificates", "primary", "certificate", pem,
	    "provisioningStatus", "enabled");
	rc_free(pem);
	assert_non_null(j);
	return j;
}

/* A disabled enrollment without certificates: cheap filler. */
static json_t *
blocked(const char *id)
{
	return json_pack("{s:s, s:{s:s}, s:s}", "registrationId", id,
	    "attestation", "type", "symmetricKey", "provisioningStatus",
	    "disabled");
}

static int
put_individual(struct fx *f, const char *id, X509 *p, X509 *s)
{
	char path[256];
	json_t *b = individual(id, p, s);
	int st;

	snprintf(path, sizeof(path), "/enrollments/%s?api-version=2021-10-01",
	    id);
	st = call_json(f, RC_HTTP_PUT, path, b, ALL, NULL);
	json_decref(b);
	return st;
}

static void
test_match(void **state)
{
	struct rc_http_req r;
	const char *yes[] = {"/enrollments", "/enrollments/", "/enrollments/x",
	    "/ENROLLMENTGROUPS/x", "/registrations/x/query", "/certificates",
	    "/audit"};
	const char *no[] = {"/", "", "/0ne00000001/registrations/x/register",
	    "/devices/x", "/enrollmentsx", "/twins", "x/enrollments"};
	size_t i;

	(void)state;
	memset(&r, 0, sizeof(r));
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		r.path = yes[i];
		assert_true(dps_service_match(&r));
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		r.path = no[i];
		assert_false(dps_service_match(&r));
	}
	r.path = NULL;
	assert_false(dps_service_match(&r));
}

static void
test_new(void **state)
{
	struct dps_config cfg = {.id_scope = NULL};
	struct dps *d = (struct dps *)1;

	(void)state;
	assert_int_equal(dps_new(&cfg, (struct rc_store *)1, &d), RC_EINVAL);
	assert_null(d);
	assert_int_equal(dps_new(NULL, (struct rc_store *)1, &d), RC_EINVAL);
	dps_free(NULL);
}

static void
test_individual_crud(void **state)
{
	struct fx *f = *state;
	X509 *x = leaf("dev-1");
	char etag[128], *thumb = sha256_of(x);

	assert_int_equal(put_individual(f, "dev-1", x, NULL), 200);
	assert_string_equal(jstr(f->j, "registrationId"), "dev-1");
	assert_string_equal(jstr(f->j, "attestation.type"), "x509");
	assert_string_equal(jstr(f->j,
	                        "attestation.x509.clientCertificates."
	                        "primary.info.sha256Thumbprint"),
	    thumb);
	assert_string_equal(jstr(f->j,
	                        "attestation.x509.clientCertificates."
	                        "primary.info.subjectName"),
	    "CN=dev-1");
	assert_null(jget(f->j,
	    "attestation.x509.clientCertificates.primary.certificate"));
	assert_null(
	    jget(f->j, "attestation.x509.clientCertificates.secondary"));
	assert_string_equal(jstr(f->j, "provisioningStatus"), "enabled");
	assert_true(
	    json_is_true(jget(f->j, "reprovisionPolicy.updateHubAssignment")));
	assert_false(json_is_true(jget(f->j, "capabilities.iotEdge")));
	assert_non_null(jstr(f->j, "etag"));
	assert_int_equal(strlen(jstr(f->j, "createdDateTimeUtc")), 20);
	assert_int_equal(strlen(jstr(f->j, "lastUpdatedDateTimeUtc")), 20);
	snprintf(etag, sizeof(etag), "%s", jstr(f->j, "etag"));
	assert_string_equal(resp_header(f, "ETag"), etag);

	assert_int_equal(call(f, RC_HTTP_GET, "/enrollments/dev-1", NULL,
	                     RC_RIGHT_ENROLLMENT_READ, NULL),
	    200);
	assert_string_equal(jstr(f->j, "etag"), etag);
	/* IDs are case-insensitive (§3.1). */
	assert_int_equal(call(f, RC_HTTP_GET, "/enrollments/DEV-1", NULL,
	                     RC_RIGHT_ENROLLMENT_READ, NULL),
	    200);
	assert_int_equal(call(f, RC_HTTP_POST,
	                     "/enrollments/dev-1/attestationmechanism", NULL,
	                     RC_RIGHT_ENROLLMENT_READ, NULL),
	    200);
	assert_string_equal(jstr(f->j, "type"), "x509");
	assert_string_equal(jstr(f->j,
	                        "x509.clientCertificates.primary.info."
	                        "sha256Thumbprint"),
	    thumb);

	assert_int_equal(call(f, RC_HTTP_DELETE, "/enrollments/dev-1", NULL,
	                     RC_RIGHT_ENROLLMENT_WRITE, NULL),
	    204);
	assert_int_equal(f->resp.body.len, 0);
	assert_int_equal(call(f, RC_HTTP_GET, "/enrollments/dev-1", NULL, ALL,
	                     NULL),
	    404);
	assert_int_equal(err_code(f), 404201);
	assert_int_equal(call(f, RC_HTTP_DELETE, "/enrollments/dev-1", NULL,
	                     ALL, NULL),
	    404);
	X509_free(x);
}

static void
test_base64_der_and_defaults(void **state)
{
	struct fx *f = *state;
	X509 *x = leaf("dev-b64");
	uint8_t *der = NULL;
	char *b64;
	int n;
	json_t *b;

	n = i2d_X509(x, &der);
	assert_true(n > 0);
	assert_int_equal(rc_b64_encode(der, (size_t)n, &b64), RC_OK);
	OPENSSL_free(der);
	/* The C# SDK's shape: bare base64, no status, extra fields. */
	b = json_pack("{s:s, s:{s:s, s:{s:{s:{s:s}}}}, s:s, s:[s], s:{s:{}}, "
	              "s:s, s:n, s:{s:i}}",
	    "registrationId", "dev-b64", "attestation", "type", "X509", "x509",
	    "clientCertificates", "primary", "certificate", b64,
	    "allocationPolicy", "Hashed", "iotHubs", "hub.example",
	    "initialTwin", "tags", "deviceId", "device-b64", "iotHubHostName",
	    "futureField", "x", 1);
	rc_free(b64);
	assert_int_equal(call_json(f, RC_HTTP_PUT, "/enrollments/dev-b64", b,
	                     ALL, NULL),
	    200);
	json_decref(b);
	assert_string_equal(jstr(f->j, "provisioningStatus"), "enabled");
	assert_string_equal(jstr(f->j, "allocationPolicy"), "hashed");
	assert_string_equal(jstr(f->j, "deviceId"), "device-b64");
	assert_string_equal(json_string_value(
	                        json_array_get(jget(f->j, "iotHubs"), 0)),
	    "hub.example");
	assert_int_equal(json_integer_value(jget(f->j, "futureField.x")), 1);
	assert_null(jget(f->j, "iotHubHostName"));
	assert_true(
	    json_is_true(jget(f->j, "reprovisionPolicy.migrateDeviceData")));
	/* unknown fields survive a read */
	assert_int_equal(call(f, RC_HTTP_GET, "/enrollments/dev-b64", NULL, ALL,
	                     NULL),
	    200);
	assert_int_equal(json_integer_value(jget(f->j, "futureField.x")), 1);
	X509_free(x);
}

/* GET -> add a secondary (primary sent back info-only) -> PUT If-Match. */
static void
test_read_modify_write(void **state)
{
	struct fx *f = *state;
	X509 *a = leaf("dev-rmw"), *b = leaf("dev-rmw");
	char etag[128], old_etag[128], tha[65], thb[65], *pem;
	const char *hdr[3] = {"If-Match", etag, NULL};
	json_t *ie, *slots;

	snprintf(tha, sizeof(tha), "%s", sha256_of(a));
	snprintf(thb, sizeof(thb), "%s", sha256_of(b));
	assert_int_equal(put_individual(f, "dev-rmw", a, NULL), 200);
	assert_int_equal(call(f, RC_HTTP_GET, "/enrollments/dev-rmw", NULL, ALL,
	                     NULL),
	    200);
	ie = json_deep_copy(f->j);
	snprintf(etag, sizeof(etag), "%s", jstr(ie, "etag"));
	snprintf(old_etag, sizeof(old_etag), "%s", etag);
	slots = jget(ie, "attestation.x509.clientCertificates");
	pem = pem_of(b);
	json_object_set_new(slots, "secondary",
	    json_pack("{s:s}", "certificate", pem));
	rc_free(pem);
	assert_int_equal(call_json(f, RC_HTTP_PUT, "/enrollments/dev-rmw", ie,
	                     ALL, hdr),
	    200);
	assert_string_equal(jstr(f->j,
	                        "attestation.x509.clientCertificates."
	                        "primary.info.sha256Thumbprint"),
	    tha);
	assert_string_equal(jstr(f->j,
	                        "attestation.x509.clientCertificates."
	                        "secondary.info.sha256Thumbprint"),
	    thb);
	assert_string_not_equal(jstr(f->j, "etag"), old_etag);
	snprintf(etag, sizeof(etag), "%s", jstr(f->j, "etag"));

	/* The old etag is stale now: 412 and nothing changes. */
	json_object_set_new(ie, "provisioningStatus", json_string("disabled"));
	hdr[1] = old_etag;
	assert_int_equal(call_json(f, RC_HTTP_PUT, "/enrollments/dev-rmw", ie,
	                     ALL, hdr),
	    412);
	assert_int_equal(err_code(f), 412002);
	assert_int_equal(call(f, RC_HTTP_GET, "/enrollments/dev-rmw", NULL, ALL,
	                     NULL),
	    200);
	assert_string_equal(jstr(f->j, "etag"), etag);
	assert_string_equal(jstr(f->j, "provisioningStatus"), "enabled");
	/* Bare etags (no quotes, as curl users type them) match too. */
	json_decref(ie);
	ie = json_deep_copy(f->j);
	{
		char quoted[140];
		const char *qh[] = {"If-Match", quoted, NULL};

		/* a bare value: the stored etag without its quotes */
		snprintf(quoted, sizeof(quoted), "%.*s", (int)strlen(etag) - 2,
		    etag + 1);
		assert_int_equal(etag[0], '"');
		/* Breach roll (S9): drop the primary, keep the secondary. */
		json_object_del(jget(ie, "attestation.x509.clientCertificates"),
		    "primary");
		assert_int_equal(call_json(f, RC_HTTP_PUT,
		                     "/enrollments/dev-rmw", ie, ALL, qh),
		    200);
	}
	assert_null(jget(f->j, "attestation.x509.clientCertificates.primary"));
	assert_string_equal(jstr(f->j,
	                        "attestation.x509.clientCertificates."
	                        "secondary.info.sha256Thumbprint"),
	    thb);
	/* The etag in the body is not a precondition; the header is. */
	json_decref(ie);
	ie = json_deep_copy(f->j);
	json_object_set_new(ie, "etag", json_string("bogus"));
	json_object_set_new(ie, "provisioningStatus", json_string("disabled"));
	assert_int_equal(call_json(f, RC_HTTP_PUT, "/enrollments/dev-rmw", ie,
	                     ALL, NULL),
	    200);
	assert_string_equal(jstr(f->j, "provisioningStatus"), "disabled");
	/* An info-only slot with no stored certificate there: 400. */
	json_object_set(jget(ie, "attestation.x509.clientCertificates"),
	    "primary",
	    jget(ie, "attestation.x509.clientCertificates.secondary"));
	assert_int_equal(call_json(f, RC_HTTP_PUT, "/enrollments/dev-rmw", ie,
	                     ALL, NULL),
	    400);
	/* A null slot removes it. */
	json_object_set_new(jget(ie, "attestation.x509.clientCertificates"),
	    "primary", json_null());
	json_object_set_new(jget(ie, "attestation.x509.clientCertificates"),
	    "secondary", json_null());
	assert_int_equal(call_json(f, RC_HTTP_PUT, "/enrollments/dev-rmw", ie,
	                     ALL, NULL),
	    200);
	assert_null(jget(f->j, "attestation.x509.clientCertificates"));
	/* ...but an enabled enrollment needs a certificate. */
	json_object_set_new(ie, "provisioningStatus", json_string("enabled"));
	assert_int_equal(call_json(f, RC_HTTP_PUT, "/enrollments/dev-rmw", ie,
	                     ALL, NULL),
	    400);
	json_decref(ie);
	X509_free(a);
	X509_free(b);
}

static void
test_delete_if_match(void **state)
{
	struct fx *f = *state;
	X509 *x = leaf("dev-del");
	char etag[128];
	const char *stale[] = {"If-Match", "nope", NULL};
	const char *good[] = {"If-Match", etag, NULL};

	assert_int_equal(put_individual(f, "dev-del", x, NULL), 200);
	snprintf(etag, sizeof(etag), "%s", jstr(f->j, "etag"));
	assert_int_equal(call(f, RC_HTTP_DELETE, "/enrollments/dev-del", NULL,
	                     ALL, stale),
	    412);
	assert_int_equal(call(f, RC_HTTP_GET, "/enrollments/dev-del", NULL, ALL,
	                     NULL),
	    200);
	assert_int_equal(call(f, RC_HTTP_DELETE, "/enrollments/dev-del", NULL,
	                     ALL, good),
	    204);
	X509_free(x);
}

static void
test_cert_conflict(void **state)
{
	struct fx *f = *state;
	X509 *x = leaf("dev-c1");
	struct rc_ca *ca2 = NULL;
	json_t *b;

	/* the same signing certificate in two groups */
	b = group("grp-1", inter->cert);
	assert_int_equal(call_json(f, RC_HTTP_PUT, "/enrollmentGroups/grp-1", b,
	                     ALL, NULL),
	    200);
	json_decref(b);
	b = group("grp-2", inter->cert);
	assert_int_equal(call_json(f, RC_HTTP_PUT, "/enrollmentGroups/grp-2", b,
	                     ALL, NULL),
	    409);
	assert_int_equal(err_code(f), 409201);
	assert_non_null(strstr(err_msg(f), "grp-1"));
	json_decref(b);
	assert_int_equal(call(f, RC_HTTP_GET, "/enrollmentGroups/grp-2", NULL,
	                     ALL, NULL),
	    404);
	assert_int_equal(err_code(f), 404202);

	/* a CA certificate whose CN is a registration ID, in both kinds */
	assert_int_equal(rc_ca_new_root("shared-1", RC_KEY_P256, 30, &ca2),
	    RC_OK);
	assert_int_equal(put_individual(f, "shared-1", ca2->cert, NULL), 200);
	b = group("grp-3", ca2->cert);
	assert_int_equal(call_json(f, RC_HTTP_PUT, "/enrollmentGroups/grp-3", b,
	                     ALL, NULL),
	    409);
	assert_non_null(strstr(err_msg(f), "shared-1"));
	json_decref(b);
	/* and the other way round: the group's certificate as a leaf */
	assert_int_equal(call(f, RC_HTTP_DELETE, "/enrollments/shared-1", NULL,
	                     ALL, NULL),
	    204);
	b = group("grp-3", ca2->cert);
	assert_int_equal(call_json(f, RC_HTTP_PUT, "/enrollmentGroups/grp-3", b,
	                     ALL, NULL),
	    200);
	json_decref(b);
	assert_int_equal(put_individual(f, "shared-1", ca2->cert, NULL), 409);
	assert_non_null(strstr(err_msg(f), "grp-3"));
	/* the same certificate in both slots */
	assert_int_equal(put_individual(f, "dev-c1", x, x), 400);
	/* a leaf is not a signing certificate */
	b = group("grp-4", x);
	assert_int_equal(call_json(f, RC_HTTP_PUT, "/enrollmentGroups/grp-4", b,
	                     ALL, NULL),
	    400);
	assert_int_equal(err_code(f), 400010);
	json_decref(b);
	rc_ca_free(ca2);
	X509_free(x);
}

static void
test_bad_input(void **state)
{
	struct fx *f = *state;
	X509 *x = leaf("dev-other");
	json_t *b;

	b = json_pack("{s:s, s:{s:s, s:{s:{s:{s:s}}}}}", "registrationId",
	    "dev-bad", "attestation", "type", "x509", "x509",
	    "clientCertificates", "primary", "certificate",
	    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
	assert_int_equal(call_json(f, RC_HTTP_PUT, "/enrollments/dev-bad", b,
	                     ALL, NULL),
	    400);
	assert_int_equal(err_code(f), 400010);
	assert_non_null(strstr(err_msg(f), "clientCertificates.primary"));
	json_decref(b);
	/* the leaf CN must be the registration ID (S2, S13) */
	assert_int_equal(put_individual(f, "dev-bad", x, NULL), 400);
	assert_non_null(strstr(err_msg(f), "dev-other"));
	/* malformed JSON names line and column */
	assert_int_equal(call(f, RC_HTTP_PUT, "/enrollments/dev-bad",
	                     "{\n\"registrationId\": ", ALL, NULL),
	    400);
	assert_int_equal(err_code(f), 400004);
	assert_non_null(strstr(err_msg(f), "line 2"));
	assert_int_equal(call(f, RC_HTTP_PUT, "/enrollments/dev-bad", "[1, 2]",
	                     ALL, NULL),
	    400);
	assert_int_equal(call(f, RC_HTTP_PUT, "/enrollments/dev-bad",
	                     "{\"a\":1,\"a\":2}", ALL, NULL),
	    400);
	assert_int_equal(call(f, RC_HTTP_PUT, "/enrollments/dev-bad", NULL, ALL,
	                     NULL),
	    400);
	/* body and path disagree */
	b = individual("dev-other", x, NULL);
	assert_int_equal(call_json(f, RC_HTTP_PUT, "/enrollments/dev-bad", b,
	                     ALL, NULL),
	    400);
	assert_non_null(strstr(err_msg(f), "path"));
	json_decref(b);
	/* wrong types */
	assert_int_equal(call(f, RC_HTTP_PUT, "/enrollments/dev-bad",
	                     "{\"registrationId\": 5}", ALL, NULL),
	    400);
	assert_int_equal(call(f, RC_HTTP_PUT, "/enrollments/dev-bad",
	                     "{\"attestation\": {\"type\": \"x509\"}, "
	                     "\"provisioningStatus\": \"maybe\"}",
	                     ALL, NULL),
	    400);
	assert_int_equal(call(f, RC_HTTP_PUT, "/enrollments/dev-bad",
	                     "{\"attestation\": {\"type\": \"tpm\", \"tpm\": "
	                     "{}}}",
	                     ALL, NULL),
	    400);
	assert_int_equal(err_code(f), 400012);
	assert_int_equal(call(f, RC_HTTP_PUT, "/enrollments/dev-bad",
	                     "{\"attestation\": {\"type\": \"x509\", \"x509\": "
	                     "{}}, \"provisioningStatus\": \"disabled\", "
	                     "\"reprovisionPolicy\": {\"migrateDeviceData\": "
	                     "\"yes\"}}",
	                     ALL, NULL),
	    400);
	/* invalid IDs (§3.1) */
	assert_int_equal(call(f, RC_HTTP_GET, "/enrollments/bad%20id", NULL,
	                     ALL, NULL),
	    400);
	assert_int_equal(err_code(f), 400005);
	assert_int_equal(call(f, RC_HTTP_GET, "/enrollments/ends-with.", NULL,
	                     ALL, NULL),
	    400);
	assert_int_equal(call(f, RC_HTTP_GET, "/enrollments/%ff%fe", NULL, ALL,
	                     NULL),
	    400);
	assert_int_equal(call(f, RC_HTTP_GET, "/enrollments/a%zz", NULL, ALL,
	                     NULL),
	    400);
	/* wrong media type */
	{
		const char *h[] = {"Content-Type", "text/plain", NULL};

		assert_int_equal(call(f, RC_HTTP_PUT, "/enrollments/dev-bad",
		                     "{}", ALL, h),
		    415);
	}
	/* nothing was created */
	assert_int_equal(call(f, RC_HTTP_GET, "/enrollments/dev-bad", NULL, ALL,
	                     NULL),
	    404);
	X509_free(x);
}

static void
test_oversized(void **state)
{
	struct fx *f = fx_new(1024);
	char *big = calloc(1, 2048);

	(void)state;
	memset(big, ' ', 2047);
	big[0] = '{';
	big[2046] = '}';
	assert_int_equal(call(f, RC_HTTP_PUT, "/enrollments/dev-big", big, ALL,
	                     NULL),
	    413);
	assert_int_equal(err_code(f), 413001);
	big[1024] = '\0';
	big[1023] = '}';
	assert_int_equal(call(f, RC_HTTP_PUT, "/enrollments/dev-big", big, ALL,
	                     NULL),
	    400);
	free(big);
	teardown((void **)&f);
}

struct op {
	enum rc_http_method m;
	const char *path;
	const char *body;
	unsigned need;
};

/* Every operation class refuses a principal lacking its right. */
static void
test_rights(void **state)
{
	struct fx *f = *state;
	static const struct op ops[] = {
	    {RC_HTTP_GET, "/enrollments/dev-r", NULL, RC_RIGHT_ENROLLMENT_READ},
	    {RC_HTTP_POST, "/enrollments/query", "{\"query\":\"*\"}",
	        RC_RIGHT_ENROLLMENT_READ},
	    {RC_HTTP_POST, "/enrollments/dev-r/attestationmechanism", NULL,
	        RC_RIGHT_ENROLLMENT_READ},
	    {RC_HTTP_PUT, "/enrollments/dev-r",
	        "{\"registrationId\":\"dev-r\",\"attestation\":{\"type\":"
	        "\"symmetricKey\"},\"provisioningStatus\":\"disabled\"}",
	        RC_RIGHT_ENROLLMENT_WRITE},
	    {RC_HTTP_DELETE, "/enrollments/dev-r", NULL,
	        RC_RIGHT_ENROLLMENT_WRITE},
	    {RC_HTTP_POST, "/enrollments/",
	        "{\"mode\":\"delete\",\"enrollments\":[{\"registrationId\":"
	        "\"dev-r\"}]}",
	        RC_RIGHT_ENROLLMENT_WRITE},
	    {RC_HTTP_GET, "/enrollmentGroups/g", NULL,
	        RC_RIGHT_ENROLLMENT_READ},
	    {RC_HTTP_DELETE, "/enrollmentGroups/g", NULL,
	        RC_RIGHT_ENROLLMENT_WRITE},
	    {RC_HTTP_GET, "/registrations/dev-r", NULL,
	        RC_RIGHT_REGISTRATION_READ},
	    {RC_HTTP_POST, "/registrations/g/query", NULL,
	        RC_RIGHT_REGISTRATION_READ},
	    {RC_HTTP_DELETE, "/registrations/dev-r", NULL,
	        RC_RIGHT_REGISTRATION_WRITE},
	    {RC_HTTP_GET, "/certificates", NULL,
	        RC_RIGHT_SERVICE_CONFIG | RC_RIGHT_ENROLLMENT_READ},
	    {RC_HTTP_GET, "/certificates/c", NULL,
	        RC_RIGHT_SERVICE_CONFIG | RC_RIGHT_ENROLLMENT_READ},
	    {RC_HTTP_PUT, "/certificates/c", "{\"certificate\":\"x\"}",
	        RC_RIGHT_SERVICE_CONFIG},
	    {RC_HTTP_DELETE, "/certificates/c", NULL, RC_RIGHT_SERVICE_CONFIG},
	    {RC_HTTP_POST, "/certificates/c/generateVerificationCode", NULL,
	        RC_RIGHT_SERVICE_CONFIG},
	    {RC_HTTP_POST, "/certificates/c/verify", "{\"certificate\":\"x\"}",
	        RC_RIGHT_SERVICE_CONFIG},
	    {RC_HTTP_GET, "/audit", NULL, RC_RIGHT_SERVICE_CONFIG},
	    {RC_HTTP_GET, "/audit/verify", NULL, RC_RIGHT_SERVICE_CONFIG},
	};
	struct rc_audit **rows = NULL;
	size_t i, n = 0;
	int st;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		st = call(f, ops[i].m, ops[i].path, ops[i].body,
		    ALL & ~ops[i].need, NULL);
		if (st != 401)
			fail_msg("%s %s: %d, want 401",
			    rc_http_method_name(ops[i].m), ops[i].path, st);
		assert_int_equal(err_code(f), 401002);
		/* and with the right, it gets past the check */
		st = call(f, ops[i].m, ops[i].path, ops[i].body, ops[i].need,
		    NULL);
		if (st == 401)
			fail_msg("%s %s: 401 with the right",
			    rc_http_method_name(ops[i].m), ops[i].path);
		/* the PUT created it: delete again for the next round */
		if (st == 200 && ops[i].m == RC_HTTP_PUT)
			assert_int_equal(call(f, RC_HTTP_DELETE, ops[i].path,
			                     NULL, ALL, NULL),
			    204);
	}
	/* the refused calls changed nothing: only the PUT/DELETE pair */
	assert_int_equal(rc_store_audit_list(f->store, 0, 100, &rows, &n),
	    RC_OK);
	assert_int_equal(n, 2);
	rc_audit_list_free(rows, n);
}

static void
test_paging(void **state)
{
	struct fx *f = *state;
	const char *ids[] = {"page-3", "page-1", "page-5", "page-2", "page-4"};
	char tok[512], path[64];
	const char *h[5] = {"x-ms-max-item-count", "2", NULL, NULL, NULL};
	json_t *seen = json_object(), *b, *it;
	size_t i, pages = 0, k;
	int more;

	for (i = 0; i < 5; i++) {
		b = blocked(ids[i]);
		snprintf(path, sizeof(path), "/enrollments/%s", ids[i]);
		assert_int_equal(call_json(f, RC_HTTP_PUT, path, b, ALL, NULL),
		    200);
		json_decref(b);
	}
	do {
		assert_int_equal(call(f, RC_HTTP_POST,
		                     "/enrollments/"
		                     "query?api-version=2021-10-01",
		                     "{\"query\":\"*\"}",
		                     RC_RIGHT_ENROLLMENT_READ, h),
		    200);
		pages++;
		assert_true(json_is_array(f->j));
		assert_string_equal(resp_header(f, "x-ms-item-type"),
		    "Enrollment");
		assert_string_equal(resp_header(f, "x-ms-max-item-count"), "2");
		json_array_foreach(f->j, k, it)
		{
			assert_null(
			    json_object_get(seen, jstr(it, "registrationId")));
			json_object_set_new(seen, jstr(it, "registrationId"),
			    json_true());
		}
		more = resp_header(f, "x-ms-continuation") != NULL;
		if (pages < 3) {
			assert_true(more);
			assert_int_equal(json_array_size(f->j), 2);
			snprintf(tok, sizeof(tok), "%s",
			    resp_header(f, "x-ms-continuation"));
			h[2] = "x-ms-continuation";
			h[3] = tok;
		} else {
			assert_false(more);
			assert_int_equal(json_array_size(f->j), 1);
		}
	} while (more && pages < 10);
	assert_int_equal(pages, 3);
	assert_int_equal(json_object_size(seen), 5);
	json_decref(seen);
	/* default page size: all five, no continuation */
	assert_int_equal(call(f, RC_HTTP_POST, "/enrollments/query",
	                     "{\"query\":\"SELECT * FROM enrollments\"}", ALL,
	                     NULL),
	    200);
	assert_int_equal(json_array_size(f->j), 5);
	assert_null(resp_header(f, "x-ms-continuation"));
	assert_string_equal(resp_header(f, "x-ms-max-item-count"), "100");
	/* unsupported queries, bad headers */
	assert_int_equal(call(f, RC_HTTP_POST, "/enrollments/query",
	                     "{\"query\":\"SELECT * FROM enrollments WHERE "
	                     "x = 1\"}",
	                     ALL, NULL),
	    400);
	h[1] = "two";
	h[2] = NULL;
	assert_int_equal(call(f, RC_HTTP_POST, "/enrollments/query",
	                     "{\"query\":\"*\"}", ALL, h),
	    400);
	h[0] = "x-ms-continuation";
	h[1] = "!!!";
	assert_int_equal(call(f, RC_HTTP_POST, "/enrollments/query",
	                     "{\"query\":\"*\"}", ALL, h),
	    400);
	/* groups page too, with their item type */
	assert_int_equal(call(f, RC_HTTP_POST, "/enrollmentGroups/query",
	                     "{\"query\":\"*\"}", ALL, NULL),
	    200);
	assert_int_equal(json_array_size(f->j), 0);
	assert_string_equal(resp_header(f, "x-ms-item-type"),
	    "EnrollmentGroup");
}

static json_t *
bulk_body(const char *mode, json_t *items)
{
	return json_pack("{s:s, s:o}", "mode", mode, "enrollments", items);
}

static void
test_bulk(void **state)
{
	struct fx *f = *state;
	X509 *a = leaf("bulk-1"), *b = leaf("bulk-2"), *c = leaf("bulk-3");
	json_t *items, *body, *bad, *err;
	size_t i;

	bad = individual("bulk-4", a, NULL); /* CN is bulk-1: refused */
	items = json_pack("[o, o, o, o]", individual("bulk-1", a, NULL),
	    individual("bulk-2", b, NULL), bad, individual("bulk-3", c, NULL));
	body = bulk_body("create", items);
	/* the path the Node SDK really uses ends in a slash (§2.1) */
	assert_int_equal(call_json(f, RC_HTTP_POST,
	                     "/enrollments/?api-version=2021-10-01", body,
	                     RC_RIGHT_ENROLLMENT_WRITE, NULL),
	    200);
	assert_false(json_is_true(json_object_get(f->j, "isSuccessful")));
	assert_int_equal(json_array_size(json_object_get(f->j, "errors")), 1);
	err = json_array_get(json_object_get(f->j, "errors"), 0);
	assert_string_equal(jstr(err, "registrationId"), "bulk-4");
	assert_int_equal(json_integer_value(json_object_get(err, "errorCode")),
	    400010);
	assert_non_null(jstr(err, "errorStatus"));
	for (i = 1; i <= 3; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/enrollments/bulk-%zu", i);
		assert_int_equal(call(f, RC_HTTP_GET, path, NULL, ALL, NULL),
		    200);
	}
	/* create again: each one exists now */
	assert_int_equal(call_json(f, RC_HTTP_POST, "/enrollments", body, ALL,
	                     NULL),
	    200);
	assert_int_equal(json_array_size(json_object_get(f->j, "errors")), 4);
	json_decref(body);
	/* updateIfMatchETag needs the etag; mode is case-insensitive */
	body = bulk_body("UPDATEIFMATCHETAG",
	    json_pack("[o]", individual("bulk-1", a, NULL)));
	assert_int_equal(call_json(f, RC_HTTP_POST, "/enrollments", body, ALL,
	                     NULL),
	    200);
	assert_int_equal(json_array_size(json_object_get(f->j, "errors")), 1);
	json_decref(body);
	body = bulk_body("update",
	    json_pack("[o]", individual("bulk-1", a, NULL)));
	assert_int_equal(call_json(f, RC_HTTP_POST, "/enrollments", body, ALL,
	                     NULL),
	    200);
	assert_true(json_is_true(json_object_get(f->j, "isSuccessful")));
	assert_int_equal(json_array_size(json_object_get(f->j, "errors")), 0);
	json_decref(body);
	body = bulk_body("delete",
	    json_pack("[{s:s}, {s:s}, {s:s}, {s:s}]", "registrationId",
	        "bulk-1", "registrationId", "bulk-2", "registrationId",
	        "bulk-3", "registrationId", "bulk-9"));
	assert_int_equal(call_json(f, RC_HTTP_POST, "/enrollments", body, ALL,
	                     NULL),
	    200);
	assert_int_equal(json_array_size(json_object_get(f->j, "errors")), 1);
	assert_int_equal(json_integer_value(
	                     jget(json_array_get(json_object_get(f->j,
	                                             "errors"),
	                              0),
	                         "errorCode")),
	    404201);
	json_decref(body);
	/* limits and shape */
	items = json_array();
	for (i = 0; i < 11; i++)
		json_array_append_new(items, blocked("x"));
	body = bulk_body("create", items);
	assert_int_equal(call_json(f, RC_HTTP_POST, "/enrollments", body, ALL,
	                     NULL),
	    400);
	json_decref(body);
	assert_int_equal(call(f, RC_HTTP_POST, "/enrollments",
	                     "{\"mode\":\"merge\",\"enrollments\":[{}]}", ALL,
	                     NULL),
	    400);
	assert_int_equal(call(f, RC_HTTP_GET, "/enrollments", NULL, ALL, NULL),
	    405);
	assert_non_null(resp_header(f, "Allow"));
	/* group bulk uses enrollmentGroups */
	body = json_pack("{s:s, s:[o]}", "mode", "create", "enrollmentGroups",
	    group("bulk-g", inter->cert));
	assert_int_equal(call_json(f, RC_HTTP_POST, "/enrollmentGroups", body,
	                     ALL, NULL),
	    200);
	assert_true(json_is_true(json_object_get(f->j, "isSuccessful")));
	json_decref(body);
	X509_free(a);
	X509_free(b);
	X509_free(c);
}

static void
test_groups_and_case(void **state)
{
	struct fx *f = *state;
	char etag[128], *pem;
	json_t *b;

	b = group("fleet-a", inter->cert);
	assert_int_equal(call_json(f, RC_HTTP_PUT, "/EnrollmentGroups/fleet-a",
	                     b, ALL, NULL),
	    200);
	json_decref(b);
	assert_string_equal(jstr(f->j, "enrollmentGroupId"), "fleet-a");
	assert_non_null(jstr(f->j,
	    "attestation.x509.signingCertificates."
	    "primary.info.sha1Thumbprint"));
	assert_null(jget(f->j, "deviceId"));
	snprintf(etag, sizeof(etag), "%s", jstr(f->j, "etag"));
	/* the SDK's lower-case path (§2.1) */
	assert_int_equal(call(f, RC_HTTP_POST,
	                     "/enrollmentgroups/fleet-a/attestationmechanism",
	                     NULL, ALL, NULL),
	    200);
	assert_non_null(jstr(f->j,
	    "x509.signingCertificates.primary.info."
	    "sha256Thumbprint"));
	assert_int_equal(call(f, RC_HTTP_GET, "/ENROLLMENTGROUPS/FLEET-A", NULL,
	                     ALL, NULL),
	    200);
	assert_string_equal(jstr(f->j, "etag"), etag);
	assert_int_equal(call(f, RC_HTTP_GET, "/enrollmentGroups/fleet-a/",
	                     NULL, ALL, NULL),
	    200);
	/* groups refuse leaf slots and symmetric keys */
	pem = pem_of(inter->cert);
	b = json_pack("{s:s, s:{s:s, s:{s:{s:{s:s}}}}}", "enrollmentGroupId",
	    "fleet-b", "attestation", "type", "x509", "x509",
	    "clientCertificates", "primary", "certificate", pem);
	rc_free(pem);
	assert_int_equal(call_json(f, RC_HTTP_PUT, "/enrollmentGroups/fleet-b",
	                     b, ALL, NULL),
	    400);
	json_decref(b);
	assert_int_equal(call(f, RC_HTTP_PUT, "/enrollmentGroups/fleet-b",
	                     "{\"attestation\":{\"type\":\"symmetricKey\"},"
	                     "\"provisioningStatus\":\"disabled\"}",
	                     ALL, NULL),
	    400);
	assert_int_equal(err_code(f), 400012);
	/* unknown sub-resources and methods */
	assert_int_equal(call(f, RC_HTTP_POST, "/enrollmentGroups/fleet-a/x",
	                     NULL, ALL, NULL),
	    404);
	assert_int_equal(call(f, RC_HTTP_GET,
	                     "/enrollmentGroups/fleet-a/attestationmechanism",
	                     NULL, ALL, NULL),
	    405);
	assert_int_equal(call(f, RC_HTTP_PATCH, "/enrollmentGroups/fleet-a",
	                     NULL, ALL, NULL),
	    405);
	assert_int_equal(call(f, RC_HTTP_GET, "/enrollments/a/b/c/d", NULL, ALL,
	                     NULL),
	    404);
	assert_int_equal(call(f, RC_HTTP_DELETE, "/enrollmentgroups/fleet-a",
	                     NULL, ALL, NULL),
	    204);
}

static void
test_blocker(void **state)
{
	struct fx *f = *state;
	json_t *b = blocked("dev-blocked");

	/* S12: a disabled symmetric-key enrollment blocks one device */
	assert_int_equal(call_json(f, RC_HTTP_PUT, "/enrollments/dev-blocked",
	                     b, ALL, NULL),
	    200);
	assert_string_equal(jstr(f->j, "attestation.type"), "symmetricKey");
	assert_string_equal(jstr(f->j, "provisioningStatus"), "disabled");
	json_object_set_new(b, "provisioningStatus", json_string("enabled"));
	assert_int_equal(call_json(f, RC_HTTP_PUT, "/enrollments/dev-blocked",
	                     b, ALL, NULL),
	    400);
	assert_int_equal(err_code(f), 400012);
	json_decref(b);
	assert_int_equal(call(f, RC_HTTP_POST,
	                     "/enrollments/dev-blocked/attestationmechanism",
	                     NULL, ALL, NULL),
	    200);
	assert_string_equal(jstr(f->j, "type"), "symmetricKey");
}

static void
put_registration(struct fx *f, const char *id, const char *grp)
{
	struct rc_store_ctx ctx = {"rollcalld", NULL};
	struct rc_registration in, *out = NULL;

	memset(&in, 0, sizeof(in));
	in.registration_id = (char *)id;
	in.device_id = (char *)id;
	in.assigned_hub = "hub.example";
	in.status = "assigned";
	in.substatus = "initialAssignment";
	in.enrollment_group_id = (char *)grp;
	assert_int_equal(rc_store_registration_put(f->store, &ctx, &in, &out),
	    RC_OK);
	rc_registration_free(out);
}

static void
test_registrations(void **state)
{
	struct fx *f = *state;
	const char *h[5] = {"x-ms-max-item-count", "2", NULL, NULL, NULL};
	const char *stale[] = {"If-Match", "nope", NULL};
	char tok[512];
	X509 *x = leaf("reg-1");

	put_registration(f, "reg-1", NULL);
	put_registration(f, "reg-a", "fleet");
	put_registration(f, "reg-b", "fleet");
	put_registration(f, "reg-c", "fleet");
	assert_int_equal(call(f, RC_HTTP_GET, "/registrations/reg-1", NULL,
	                     RC_RIGHT_REGISTRATION_READ, NULL),
	    200);
	assert_string_equal(jstr(f->j, "registrationId"), "reg-1");
	assert_string_equal(jstr(f->j, "assignedHub"), "hub.example");
	assert_string_equal(jstr(f->j, "status"), "assigned");
	assert_non_null(jstr(f->j, "etag"));
	/* an individual enrollment reads back with its registration state */
	assert_int_equal(put_individual(f, "reg-1", x, NULL), 200);
	assert_int_equal(call(f, RC_HTTP_GET, "/enrollments/reg-1", NULL, ALL,
	                     NULL),
	    200);
	assert_string_equal(jstr(f->j, "registrationState.assignedHub"),
	    "hub.example");
	/* the SDK sends {"query":"*"}; the swagger sends nothing */
	assert_int_equal(call(f, RC_HTTP_POST, "/registrations/fleet/query",
	                     "{\"query\":\"*\"}", RC_RIGHT_REGISTRATION_READ,
	                     h),
	    200);
	assert_int_equal(json_array_size(f->j), 2);
	assert_string_equal(resp_header(f, "x-ms-item-type"),
	    "DeviceRegistration");
	assert_non_null(resp_header(f, "x-ms-continuation"));
	snprintf(tok, sizeof(tok), "%s", resp_header(f, "x-ms-continuation"));
	h[2] = "x-ms-continuation";
	h[3] = tok;
	assert_int_equal(call(f, RC_HTTP_POST, "/registrations/fleet/query",
	                     NULL, RC_RIGHT_REGISTRATION_READ, h),
	    200);
	assert_int_equal(json_array_size(f->j), 1);
	assert_null(resp_header(f, "x-ms-continuation"));
	assert_int_equal(call(f, RC_HTTP_POST, "/registrations/nogroup/query",
	                     NULL, ALL, NULL),
	    200);
	assert_int_equal(json_array_size(f->j), 0);
	/* delete honours If-Match */
	assert_int_equal(call(f, RC_HTTP_DELETE, "/registrations/reg-1", NULL,
	                     ALL, stale),
	    412);
	assert_int_equal(call(f, RC_HTTP_DELETE,
	                     "/registrations/reg-1?api-version=2021-10-01",
	                     NULL, RC_RIGHT_REGISTRATION_WRITE, NULL),
	    204);
	assert_int_equal(call(f, RC_HTTP_GET, "/registrations/reg-1", NULL, ALL,
	                     NULL),
	    404);
	assert_int_equal(err_code(f), 404203);
	assert_int_equal(call(f, RC_HTTP_PUT, "/registrations/reg-1", "{}", ALL,
	                     NULL),
	    405);
	assert_int_equal(call(f, RC_HTTP_GET, "/registrations", NULL, ALL,
	                     NULL),
	    404);
	X509_free(x);
}

static json_t *
cert_body(X509 *x)
{
	char *pem = pem_of(x);
	json_t *j = json_pack("{s:s}", "certificate", pem);

	rc_free(pem);
	return j;
}

static void
test_cacert(void **state)
{
	struct fx *f = *state;
	struct rc_ca *other = NULL;
	X509 *pop = NULL, *x = leaf("not-a-ca");
	char code[64];
	json_t *b;
	int st;

	b = cert_body(root->cert);
	assert_int_equal(call_json(f, RC_HTTP_PUT, "/certificates/root-ca", b,
	                     RC_RIGHT_SERVICE_CONFIG, NULL),
	    200);
	json_decref(b);
	assert_string_equal(jstr(f->j, "name"), "root-ca");
	assert_false(json_is_true(jget(f->j, "properties.isVerified")));
	assert_non_null(jstr(f->j, "properties.thumbprint"));
	assert_non_null(jstr(f->j, "properties.expiry"));
	assert_non_null(jstr(f->j, "properties.info.sha256Thumbprint"));
	assert_null(jget(f->j, "properties.verificationCode"));
	/* a leaf is not a CA */
	b = cert_body(x);
	assert_int_equal(call_json(f, RC_HTTP_PUT, "/certificates/leaf", b, ALL,
	                     NULL),
	    400);
	json_decref(b);
	/* a group cannot name an unverified (or unknown) CA */
	assert_int_equal(call(f, RC_HTTP_PUT, "/enrollmentGroups/ca-grp",
	                     "{\"attestation\":{\"type\":\"x509\",\"x509\":"
	                     "{\"caReferences\":{\"primary\":\"root-ca\"}}}}",
	                     ALL, NULL),
	    400);
	assert_int_equal(err_code(f), 400011);
	assert_int_equal(call(f, RC_HTTP_PUT, "/enrollmentGroups/ca-grp",
	                     "{\"attestation\":{\"type\":\"x509\",\"x509\":"
	                     "{\"caReferences\":{\"primary\":\"nope\"}}}}",
	                     ALL, NULL),
	    400);
	/* verify before a code exists */
	pop = NULL;
	assert_int_equal(rc_ca_verification_cert(root, "0000", 1, &pop), RC_OK);
	b = cert_body(pop);
	assert_int_equal(call_json(f, RC_HTTP_POST,
	                     "/certificates/root-ca/verify", b, ALL, NULL),
	    400);
	json_decref(b);
	X509_free(pop);
	/* the code */
	assert_int_equal(call(f, RC_HTTP_POST,
	                     "/certificates/root-ca/generateVerificationCode",
	                     NULL, RC_RIGHT_SERVICE_CONFIG, NULL),
	    200);
	assert_int_equal(strlen(jstr(f->j, "properties.verificationCode")), 32);
	snprintf(code, sizeof(code), "%s",
	    jstr(f->j, "properties.verificationCode"));
	/* a PoP with the wrong code */
	assert_int_equal(rc_ca_verification_cert(root, "0123456789ABCDEF", 1,
	                     &pop),
	    RC_OK);
	b = cert_body(pop);
	assert_int_equal(call_json(f, RC_HTTP_POST,
	                     "/certificates/root-ca/verify", b, ALL, NULL),
	    400);
	assert_int_equal(err_code(f), 400013);
	assert_non_null(strstr(err_msg(f), "code"));
	json_decref(b);
	X509_free(pop);
	/* the right code, signed by another CA's key */
	assert_int_equal(rc_ca_new_root("other", RC_KEY_P256, 30, &other),
	    RC_OK);
	assert_int_equal(rc_ca_verification_cert(other, code, 1, &pop), RC_OK);
	b = cert_body(pop);
	assert_int_equal(call_json(f, RC_HTTP_POST,
	                     "/certificates/root-ca/verify", b, ALL, NULL),
	    400);
	assert_non_null(strstr(err_msg(f), "signed"));
	json_decref(b);
	X509_free(pop);
	/* ...or signed by another key under the root's own name */
	{
		struct rc_ca fake = {.cert = root->cert, .key = other->key};

		assert_int_equal(rc_ca_verification_cert(&fake, code, 1, &pop),
		    RC_OK);
	}
	b = cert_body(pop);
	assert_int_equal(call_json(f, RC_HTTP_POST,
	                     "/certificates/root-ca/verify", b, ALL, NULL),
	    400);
	json_decref(b);
	X509_free(pop);
	assert_int_equal(call(f, RC_HTTP_GET, "/certificates/root-ca", NULL,
	                     RC_RIGHT_ENROLLMENT_READ, NULL),
	    200);
	assert_false(json_is_true(jget(f->j, "properties.isVerified")));
	/* the real proof */
	assert_int_equal(rc_ca_verification_cert(root, code, 1, &pop), RC_OK);
	b = cert_body(pop);
	assert_int_equal(call_json(f, RC_HTTP_POST,
	                     "/certificates/root-ca/verify", b,
	                     RC_RIGHT_SERVICE_CONFIG, NULL),
	    200);
	assert_true(json_is_true(jget(f->j, "properties.isVerified")));
	assert_null(jget(f->j, "properties.verificationCode"));
	/* the code is spent */
	assert_int_equal(call_json(f, RC_HTTP_POST,
	                     "/certificates/root-ca/verify", b, ALL, NULL),
	    400);
	json_decref(b);
	X509_free(pop);
	/* uploading the same certificate again keeps the proof */
	b = cert_body(root->cert);
	assert_int_equal(call_json(f, RC_HTTP_PUT, "/certificates/ROOT-CA", b,
	                     ALL, NULL),
	    200);
	assert_true(json_is_true(jget(f->j, "properties.isVerified")));
	json_decref(b);
	/* now a group can name it */
	st = call(f, RC_HTTP_PUT, "/enrollmentGroups/ca-grp",
	    "{\"attestation\":{\"type\":\"x509\",\"x509\":"
	    "{\"caReferences\":{\"primary\":\"root-ca\"}}}}",
	    ALL, NULL);
	assert_int_equal(st, 200);
	assert_string_equal(jstr(f->j, "attestation.x509.caReferences.primary"),
	    "root-ca");
	/* and the CA cannot be deleted under it */
	assert_int_equal(call(f, RC_HTTP_DELETE, "/certificates/root-ca", NULL,
	                     ALL, NULL),
	    409);
	assert_int_equal(err_code(f), 409203);
	assert_int_equal(call(f, RC_HTTP_GET, "/certificates", NULL, ALL, NULL),
	    200);
	assert_int_equal(json_array_size(json_object_get(f->j, "value")), 1);
	assert_int_equal(call(f, RC_HTTP_DELETE, "/enrollmentGroups/ca-grp",
	                     NULL, ALL, NULL),
	    204);
	assert_int_equal(call(f, RC_HTTP_DELETE, "/certificates/root-ca", NULL,
	                     ALL, NULL),
	    204);
	assert_int_equal(call(f, RC_HTTP_GET, "/certificates/root-ca", NULL,
	                     ALL, NULL),
	    404);
	assert_int_equal(err_code(f), 404204);
	assert_int_equal(call(f, RC_HTTP_GET, "/certificates/bad name", NULL,
	                     ALL, NULL),
	    400);
	assert_int_equal(call(f, RC_HTTP_POST, "/certificates/x/nope", NULL,
	                     ALL, NULL),
	    404);
	rc_ca_free(other);
	X509_free(x);
}

static void
test_audit(void **state)
{
	struct fx *f = *state;
	json_t *row;
	X509 *x = leaf("dev-aud");
	size_t n;

	assert_int_equal(put_individual(f, "dev-aud", x, NULL), 200);
	assert_int_equal(call(f, RC_HTTP_DELETE, "/enrollments/dev-aud", NULL,
	                     ALL, NULL),
	    204);
	assert_int_equal(call(f, RC_HTTP_GET, "/audit", NULL,
	                     RC_RIGHT_SERVICE_CONFIG, NULL),
	    200);
	n = json_array_size(f->j);
	assert_int_equal(n, 2);
	row = json_array_get(f->j, 0);
	assert_int_equal(json_integer_value(json_object_get(row, "seq")), 1);
	assert_string_equal(jstr(row, "who"), "tester");
	assert_string_equal(jstr(row, "object"), "dev-aud");
	assert_int_equal(strlen(jstr(row, "hash")), 64);
	assert_int_equal(strlen(jstr(row, "time")), 20);
	assert_true(json_integer_value(json_object_get(row, "timeUnix")) > 0);
	assert_int_equal(call(f, RC_HTTP_GET, "/audit?after=1&max=5", NULL, ALL,
	                     NULL),
	    200);
	assert_int_equal(json_array_size(f->j), 1);
	assert_int_equal(call(f, RC_HTTP_GET, "/audit?max=x", NULL, ALL, NULL),
	    400);
	assert_int_equal(call(f, RC_HTTP_GET, "/audit/verify", NULL, ALL, NULL),
	    200);
	assert_true(json_is_true(json_object_get(f->j, "valid")));
	assert_int_equal(call(f, RC_HTTP_POST, "/audit", NULL, ALL, NULL), 405);
	X509_free(x);
}

static void
test_unauthorized(void **state)
{
	struct rc_http_resp resp;
	json_t *j;

	(void)state;
	rc_http_resp_init(&resp, 4096);
	dps_service_unauthorized(&resp, NULL);
	assert_int_equal(resp.status, 401);
	j = json_loadb((const char *)resp.body.data, resp.body.len, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "errorCode")),
	    401002);
	assert_string_equal(json_string_value(json_object_get(j, "message")),
	    "Unauthorized");
	assert_int_equal(strlen(json_string_value(
	                     json_object_get(j, "trackingId"))),
	    36);
	json_decref(j);
	dps_service_unauthorized(&resp, "expired \xff token");
	j = json_loadb((const char *)resp.body.data, resp.body.len, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "message")),
	    "expired ? token");
	json_decref(j);
	rc_http_resp_free(&resp);
}

/* The intake alone, under failing allocations. */
struct intake_arg {
	json_t *body;
	enum rc_enrollment_kind kind;
};

static int
intake_once(void *p)
{
	struct intake_arg *a = p;
	struct rc_enrollment *enr = NULL;
	struct dps_err e;
	int keep[RC_SLOT_COUNT], rc;
	json_t *out = NULL;

	rc = dps_enrollment_from_json(a->kind, a->body, NULL, &enr, keep, &e);
	if (rc == RC_OK)
		rc = dps_enrollment_to_json(enr, &out);
	json_decref(out);
	rc_enrollment_free(enr);
	return rc;
}

static void
test_intake_alloc(void **state)
{
	struct intake_arg a;
	X509 *x = leaf("dev-alloc"), *y = leaf("dev-alloc");

	(void)state;
	a.body = individual("dev-alloc", x, y);
	a.kind = RC_ENROLLMENT_INDIVIDUAL;
	rctest_each_alloc(intake_once, &a, 0);
	json_decref(a.body);
	a.body = group("grp-alloc", inter->cert);
	a.kind = RC_ENROLLMENT_GROUP;
	rctest_each_alloc(intake_once, &a, 0);
	json_decref(a.body);
	X509_free(x);
	X509_free(y);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_match),
	    cmocka_unit_test(test_new),
	    cmocka_unit_test(test_unauthorized),
	    cmocka_unit_test_setup_teardown(test_individual_crud, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_base64_der_and_defaults, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_read_modify_write, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_delete_if_match, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_cert_conflict, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
	    cmocka_unit_test(test_oversized),
	    cmocka_unit_test_setup_teardown(test_rights, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_paging, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bulk, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_groups_and_case, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_blocker, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_registrations, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_cacert, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
	    cmocka_unit_test(test_intake_alloc),
	};
	int rc;

	rc_mem_hook_openssl();
	if (rc_ca_new_root("Test Root", RC_KEY_P256, 30, &root) != RC_OK ||
	    rc_ca_new_intermediate(root, "Test Devices", RC_KEY_P256, 30,
	        &inter) != RC_OK) {
		fprintf(stderr, "test PKI: cannot make CAs\n");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rctest_rmtree(rctest_tmpdir());
	rc_ca_free(inter);
	rc_ca_free(root);
	return rc;
}
