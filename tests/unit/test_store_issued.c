/*
 * The store's issued certificates (store.h): records made from real
 * certificates of a test CA, lookups, lists, revocation, the audit rows,
 * malformed records, and failing allocations.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "rctest.h"
#include "rollcall/ca.h"
#include "rollcall/json.h"
#include "rollcall/mem.h"
#include "rollcall/store.h"

struct fx {
	char uri[1024];
	struct rc_store *s;
};

static const struct rc_store_ctx owner = {"rollcalld", NULL};
static struct rc_ca *ca;

#define SHA256_A \
	"aa00000000000000000000000000000000000000000000000000000000000001"

static int
setup(void **state)
{
	static int n;
	struct fx *f;

	f = rc_calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->uri, sizeof(f->uri), "sqlite:%s/issued-%d.db",
	    rctest_tmpdir(), ++n);
	assert_int_equal(rc_store_open(f->uri, &f->s), RC_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	rc_store_close(f->s);
	rc_free(f);
	return 0;
}

/* A record for a fresh leaf of the test CA, issued to id. */
static struct rc_issued_cert *
make_issued(const char *id, int days)
{
	struct rc_issued_cert *c;
	EVP_PKEY *key;
	X509 *x;

	assert_int_equal(rc_ca_issue(ca, id, RC_KEY_P256, days, &x, &key),
	    RC_OK);
	assert_int_equal(rc_issued_cert_from_x509(x, id, &c), RC_OK);
	X509_free(x);
	EVP_PKEY_free(key);
	return c;
}

/* A record with made-up fields, for the argument checks. */
static struct rc_issued_cert *
make_fake(const char *id, const char *serial)
{
	struct rc_issued_cert *c;

	c = rc_calloc(1, sizeof(*c));
	assert_non_null(c);
	c->registration_id = rc_strdup(id);
	snprintf(c->serial, sizeof(c->serial), "%s", serial);
	snprintf(c->sha256, sizeof(c->sha256), "%s", SHA256_A);
	c->not_before = 1000;
	c->not_after = 2000;
	c->der = rc_malloc(3);
	memcpy(c->der, "\x30\x01\x00", 3);
	c->der_len = 3;
	return c;
}

static struct rc_audit *
last_audit(struct rc_store *s)
{
	struct rc_audit **v, *a;
	size_t n, i;

	assert_int_equal(rc_store_audit_list(s, 0, 10000, &v, &n), RC_OK);
	assert_true(n > 0);
	a = v[n - 1];
	for (i = 0; i + 1 < n; i++)
		rc_audit_free(v[i]);
	rc_free(v);
	return a;
}

static void
assert_same(const struct rc_issued_cert *a, const struct rc_issued_cert *b)
{
	assert_string_equal(a->serial, b->serial);
	assert_string_equal(a->sha256, b->sha256);
	assert_int_equal(a->not_before, b->not_before);
	assert_int_equal(a->not_after, b->not_after);
	assert_int_equal(a->der_len, b->der_len);
	assert_memory_equal(a->der, b->der, a->der_len);
}

static void
test_put_get(void **state)
{
	struct fx *f = *state;
	struct rc_issued_cert *c, *out, *got;
	struct rc_audit *a;
	char object[256], lower[RC_ISSUED_MAX_SERIAL + 1];
	size_t i;
	int64_t bad;

	c = make_issued("dev-1", 30);
	assert_int_equal(c->revoked_at, 0);
	assert_true(c->not_after - c->not_before >= 30 * 86400);
	assert_int_equal(rc_store_issued_put(f->s, &owner, c, &out), RC_OK);
	assert_same(c, out);
	assert_string_equal(out->registration_id, "dev-1");
	assert_true(out->issued_at > 0);
	assert_int_equal(out->revoked_at, 0);
	assert_null(out->revoke_reason);
	for (i = 0; c->serial[i] != '\0'; i++)
		lower[i] = (char)(c->serial[i] >= 'A' && c->serial[i] <= 'F'
		        ? c->serial[i] + 32
		        : c->serial[i]);
	lower[i] = '\0';
	assert_int_equal(rc_store_issued_get(f->s, lower, &got), RC_OK);
	assert_same(c, got);
	rc_issued_cert_free(got);
	a = last_audit(f->s);
	snprintf(object, sizeof(object), "dev-1/%s", c->serial);
	assert_string_equal(a->action, "certificate.issue");
	assert_string_equal(a->who, "rollcalld");
	assert_string_equal(a->object, object);
	assert_int_equal(rc_store_audit_verify(f->s, &bad), RC_OK);
	/* the same serial twice */
	assert_int_equal(rc_store_issued_put(f->s, &owner, c, NULL), RC_EEXIST);
	assert_int_equal(rc_store_issued_get(f->s, "ABCDEF", &got), RC_ENOENT);
	assert_null(got);
	rc_audit_free(a);
	rc_issued_cert_free(got);
	rc_issued_cert_free(out);
	rc_issued_cert_free(c);
}

static void
test_invalid(void **state)
{
	struct fx *f = *state;
	struct rc_store_ctx nobody = {"", NULL};
	struct rc_issued_cert *c, *out = (struct rc_issued_cert *)1;
	char s41[RC_ISSUED_MAX_SERIAL + 2];
	uint8_t *der;

	c = make_fake("dev-1", "01AB");
	assert_int_equal(rc_store_issued_put(f->s, &owner, c, &out), RC_OK);
	rc_issued_cert_free(out);
	out = (struct rc_issued_cert *)1;
	assert_int_equal(rc_store_issued_put(f->s, NULL, c, &out), RC_EINVAL);
	assert_null(out);
	assert_int_equal(rc_store_issued_put(f->s, &nobody, c, NULL),
	    RC_EINVAL);
	assert_int_equal(rc_store_issued_put(f->s, &owner, NULL, NULL),
	    RC_EINVAL);
	snprintf(c->serial, sizeof(c->serial), "01AG");
	assert_int_equal(rc_store_issued_put(f->s, &owner, c, NULL), RC_EINVAL);
	c->serial[0] = '\0';
	assert_int_equal(rc_store_issued_put(f->s, &owner, c, NULL), RC_EINVAL);
	memset(c->serial, 'A', RC_ISSUED_MAX_SERIAL);
	c->serial[RC_ISSUED_MAX_SERIAL] = '\0';
	assert_int_equal(rc_store_issued_put(f->s, &owner, c, NULL), RC_OK);
	/* max + 1 digits, through the lookups */
	memset(s41, 'A', RC_ISSUED_MAX_SERIAL + 1);
	s41[RC_ISSUED_MAX_SERIAL + 1] = '\0';
	assert_int_equal(rc_store_issued_get(f->s, s41, &out), RC_EINVAL);
	assert_int_equal(rc_store_issued_get(f->s, NULL, &out), RC_EINVAL);
	assert_int_equal(rc_store_issued_revoke(f->s, &owner, s41, "r", NULL),
	    RC_EINVAL);
	snprintf(c->serial, sizeof(c->serial), "02");
	c->sha256[63] = 'x';
	assert_int_equal(rc_store_issued_put(f->s, &owner, c, NULL), RC_EINVAL);
	c->sha256[63] = '\0';
	assert_int_equal(rc_store_issued_put(f->s, &owner, c, NULL), RC_EINVAL);
	snprintf(c->sha256, sizeof(c->sha256), "%s", SHA256_A);
	c->not_after = c->not_before - 1;
	assert_int_equal(rc_store_issued_put(f->s, &owner, c, NULL), RC_EINVAL);
	c->not_after = c->not_before;
	c->der_len = 0;
	assert_int_equal(rc_store_issued_put(f->s, &owner, c, NULL), RC_EINVAL);
	der = c->der;
	c->der = rc_calloc(1, RC_ISSUED_MAX_DER + 1);
	c->der_len = RC_ISSUED_MAX_DER + 1;
	assert_int_equal(rc_store_issued_put(f->s, &owner, c, NULL), RC_EINVAL);
	c->der_len = RC_ISSUED_MAX_DER;
	assert_int_equal(rc_store_issued_put(f->s, &owner, c, NULL), RC_OK);
	rc_free(c->der);
	c->der = der;
	c->der_len = 3;
	rc_free(c->registration_id);
	c->registration_id = NULL;
	snprintf(c->serial, sizeof(c->serial), "03");
	assert_int_equal(rc_store_issued_put(f->s, &owner, c, NULL), RC_EINVAL);
	c->registration_id = rc_strdup("");
	assert_int_equal(rc_store_issued_put(f->s, &owner, c, NULL), RC_EINVAL);
	rc_issued_cert_free(c);
}

static void
put_fake(struct rc_store *s, const char *id, const char *serial, int64_t issued,
    int64_t not_after)
{
	struct rc_issued_cert *c;

	c = make_fake(id, serial);
	c->issued_at = issued;
	c->not_after = not_after;
	assert_int_equal(rc_store_issued_put(s, &owner, c, NULL), RC_OK);
	rc_issued_cert_free(c);
}

static void
assert_serials(struct rc_issued_cert **v, size_t n, const char *want)
{
	char got[256] = "";
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
		    i > 0 ? " " : "", v[i]->serial);
	assert_string_equal(got, want);
}

static void
test_list_registration(void **state)
{
	struct fx *f = *state;
	struct rc_issued_cert **v;
	size_t n;

	put_fake(f->s, "Dev-1", "0A", 100, 5000);
	put_fake(f->s, "dev-1", "0B", 300, 5000);
	put_fake(f->s, "dev-1", "0C", 200, 5000);
	put_fake(f->s, "dev-2", "0D", 400, 5000);
	assert_int_equal(rc_store_issued_list_registration(f->s, "DEV-1", 10,
	                     &v, &n),
	    RC_OK);
	assert_serials(v, n, "0B 0C 0A");
	rc_issued_cert_list_free(v, n);
	assert_int_equal(rc_store_issued_list_registration(f->s, "dev-1", 2, &v,
	                     &n),
	    RC_OK);
	assert_serials(v, n, "0B 0C");
	rc_issued_cert_list_free(v, n);
	assert_int_equal(rc_store_issued_list_registration(f->s, "dev-3", 2, &v,
	                     &n),
	    RC_OK);
	assert_int_equal(n, 0);
	assert_null(v);
	assert_int_equal(rc_store_issued_list_registration(f->s, "dev-1", 0, &v,
	                     &n),
	    RC_EINVAL);
	assert_int_equal(rc_store_issued_list_registration(f->s, "", 1, &v, &n),
	    RC_EINVAL);
	assert_int_equal(rc_store_issued_list_registration(f->s, NULL, 1, &v,
	                     &n),
	    RC_EINVAL);
}

static void
test_list_expiring(void **state)
{
	struct fx *f = *state;
	struct rc_issued_cert **v;
	size_t n;

	put_fake(f->s, "a", "01", 1, 3000);
	put_fake(f->s, "b", "02", 1, 2000);
	put_fake(f->s, "c", "03", 1, 2500);
	put_fake(f->s, "d", "04", 1, 2000);
	put_fake(f->s, "e", "05", 1, 9000);
	assert_int_equal(rc_store_issued_revoke(f->s, &owner, "03", "gone",
	                     NULL),
	    RC_OK);
	assert_int_equal(rc_store_issued_list_expiring(f->s, 3001, 10, &v, &n),
	    RC_OK);
	assert_serials(v, n, "02 04 01");
	rc_issued_cert_list_free(v, n);
	assert_int_equal(rc_store_issued_list_expiring(f->s, 3000, 1, &v, &n),
	    RC_OK);
	assert_serials(v, n, "02");
	rc_issued_cert_list_free(v, n);
	assert_int_equal(rc_store_issued_list_expiring(f->s, 2000, 5, &v, &n),
	    RC_OK);
	assert_int_equal(n, 0);
	assert_int_equal(rc_store_issued_list_expiring(f->s, 2000, 0, &v, &n),
	    RC_EINVAL);
}

static void
test_revoke(void **state)
{
	struct fx *f = *state;
	struct rc_issued_cert *out, *got;
	struct rc_audit *a;
	char reason[RC_ISSUED_MAX_REASON + 2];
	time_t before = time(NULL);
	int64_t bad;

	put_fake(f->s, "dev-1", "7F", 1, 5000);
	assert_int_equal(rc_store_issued_revoke(f->s, &owner, "7e", "r", &out),
	    RC_ENOENT);
	assert_null(out);
	assert_int_equal(rc_store_issued_revoke(f->s, &owner, "7f", "", NULL),
	    RC_EINVAL);
	assert_int_equal(rc_store_issued_revoke(f->s, &owner, "7f", NULL, NULL),
	    RC_EINVAL);
	memset(reason, 'r', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	assert_int_equal(rc_store_issued_revoke(f->s, &owner, "7f", reason,
	                     NULL),
	    RC_EINVAL);
	assert_int_equal(rc_store_issued_revoke(f->s, NULL, "7f", "r", NULL),
	    RC_EINVAL);
	reason[RC_ISSUED_MAX_REASON] = '\0';
	assert_int_equal(rc_store_issued_revoke(f->s, &owner, "7f", reason,
	                     &out),
	    RC_OK);
	assert_true(out->revoked_at >= before);
	assert_string_equal(out->revoke_reason, reason);
	a = last_audit(f->s);
	assert_string_equal(a->action, "certificate.revoke");
	assert_string_equal(a->object, "dev-1/7F");
	rc_audit_free(a);
	assert_int_equal(rc_store_issued_revoke(f->s, &owner, "7F",
	                     "keyCompromise", NULL),
	    RC_EEXIST);
	assert_int_equal(rc_store_issued_get(f->s, "7F", &got), RC_OK);
	assert_string_equal(got->revoke_reason, reason);
	assert_int_equal(got->revoked_at, out->revoked_at);
	assert_int_equal(rc_store_audit_verify(f->s, &bad), RC_OK);
	rc_issued_cert_free(got);
	rc_issued_cert_free(out);
}

static void
test_reopen(void **state)
{
	struct fx *f = *state;
	struct rc_issued_cert *c, *got;

	assert_true(rc_store_schema_version(f->s) >= 4);
	c = make_issued("dev-9", 10);
	assert_int_equal(rc_store_issued_put(f->s, &owner, c, NULL), RC_OK);
	rc_store_close(f->s);
	assert_int_equal(rc_store_open(f->uri, &f->s), RC_OK);
	assert_int_equal(rc_store_issued_get(f->s, c->serial, &got), RC_OK);
	assert_same(c, got);
	rc_issued_cert_free(got);
	rc_issued_cert_free(c);
}

static void
test_from_x509(void **state)
{
	struct rc_issued_cert *c, *d;
	EVP_PKEY *key;
	X509 *x;

	(void)state;
	/* a negative serial, which RFC 5280 §4.1.2.2 forbids */
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(key);
	x = X509_new();
	assert_true(X509_set_version(x, 2));
	assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), -5));
	assert_true(
	    X509_NAME_add_entry_by_NID(X509_get_subject_name(x), NID_commonName,
	        MBSTRING_UTF8, (const unsigned char *)"n", -1, -1, 0));
	assert_true(X509_set_issuer_name(x, X509_get_subject_name(x)));
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 60));
	assert_true(X509_set_pubkey(x, key));
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	assert_int_equal(rc_issued_cert_from_x509(x, "n", &c), RC_EINVAL);
	assert_null(c);
	assert_int_equal(rc_issued_cert_from_x509(NULL, "n", &c), RC_EINVAL);
	assert_int_equal(rc_issued_cert_from_x509(x, NULL, &c), RC_EINVAL);
	X509_free(x);
	EVP_PKEY_free(key);
	c = make_issued("dev-dup", 5);
	c->revoke_reason = rc_strdup("why");
	d = rc_issued_cert_dup(c);
	assert_non_null(d);
	assert_same(c, d);
	assert_string_equal(d->revoke_reason, "why");
	assert_null(rc_issued_cert_dup(NULL));
	rc_issued_cert_free(d);
	rc_issued_cert_free(c);
	rc_issued_cert_free(NULL);
	rc_issued_cert_list_free(NULL, 3);
}

struct alloc_arg {
	struct rc_store *s;
	struct rc_issued_cert *c;
	int n;
};

static int
issued_ops(void *p)
{
	struct alloc_arg *a = p;
	struct rc_issued_cert *out = NULL, *got = NULL, **v = NULL;
	size_t n = 0;
	int rc;

	snprintf(a->c->serial, sizeof(a->c->serial), "%X", 0x1000 + a->n++);
	if ((rc = rc_store_issued_put(a->s, &owner, a->c, &out)) != RC_OK ||
	    (rc = rc_store_issued_get(a->s, a->c->serial, &got)) != RC_OK ||
	    (rc = rc_store_issued_list_registration(a->s, "dev-1", 3, &v,
	         &n)) != RC_OK)
		goto out;
	rc_issued_cert_list_free(v, n);
	v = NULL;
	n = 0;
	if ((rc = rc_store_issued_list_expiring(a->s, INT64_MAX, 3, &v, &n)) !=
	    RC_OK)
		goto out;
	rc_issued_cert_free(out);
	out = NULL;
	rc = rc_store_issued_revoke(a->s, &owner, a->c->serial, "r", &out);
out:
	rc_issued_cert_free(out);
	rc_issued_cert_free(got);
	rc_issued_cert_list_free(v, n);
	return rc;
}

static int
from_x509_ops(void *p)
{
	struct rc_issued_cert *c = NULL;
	int rc;

	rc = rc_issued_cert_from_x509(ca->cert, (const char *)p, &c);
	rc_issued_cert_free(c);
	return rc;
}

static void
test_each_alloc(void **state)
{
	struct fx *f = *state;
	struct alloc_arg a;
	int64_t bad;

	memset(&a, 0, sizeof(a));
	a.s = f->s;
	a.c = make_fake("dev-1", "01");
	rctest_each_alloc(issued_ops, &a, 1);
	rctest_each_alloc(from_x509_ops, "dev-1", 0);
	assert_int_equal(rc_store_audit_verify(f->s, &bad), RC_OK);
	rc_issued_cert_free(a.c);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_put_get),
	    T(test_invalid),
	    T(test_list_registration),
	    T(test_list_expiring),
	    T(test_revoke),
	    T(test_reopen),
	    cmocka_unit_test(test_from_x509),
	    T(test_each_alloc),
	};
	int rc;

	rc_mem_hook_openssl();
	rc_json_init();
	assert_int_equal(rc_ca_new_root("issued test CA", RC_KEY_P256, 30, &ca),
	    RC_OK);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rc_ca_free(ca);
	rctest_rmtree(rctest_tmpdir());
	return rc;
}
