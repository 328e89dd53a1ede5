/*
 * The store's certificate blocklist (store.h): put, get, delete, paging,
 * the audit rows, malformed thumbprints and reasons, revocation that
 * blocklists in the same transaction, and failing allocations.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rctest.h"
#include "rollcall/json.h"
#include "rollcall/mem.h"
#include "rollcall/store.h"

struct fx {
	char uri[1024];
	struct rc_store *s;
};

static const struct rc_store_ctx owner = {"tester", NULL};

#define T_A "aa00000000000000000000000000000000000000000000000000000000000001"
#define T_B "BB00000000000000000000000000000000000000000000000000000000000002"
#define T_C "cc00000000000000000000000000000000000000000000000000000000000003"

static int
setup(void **state)
{
	static int n;
	struct fx *f;

	f = rc_calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->uri, sizeof(f->uri), "sqlite:%s/blocklist-%d.db",
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

static struct rc_audit *
last_audit(struct rc_store *s, size_t back)
{
	struct rc_audit **v, *a;
	size_t n, i;

	assert_int_equal(rc_store_audit_list(s, 0, 10000, &v, &n), RC_OK);
	assert_true(n > back);
	a = v[n - 1 - back];
	for (i = 0; i < n; i++)
		if (i != n - 1 - back)
			rc_audit_free(v[i]);
	rc_free(v);
	return a;
}

static void
assert_audit(struct rc_store *s, size_t back, const char *action,
    const char *object)
{
	struct rc_audit *a = last_audit(s, back);

	assert_string_equal(a->action, action);
	assert_string_equal(a->object, object);
	assert_string_equal(a->who, "tester");
	assert_string_equal(a->etag_before, "");
	assert_string_equal(a->etag_after, "");
	rc_audit_free(a);
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
test_put_get_delete(void **state)
{
	struct fx *f = *state;
	struct rc_blocked_cert *b, *got;
	char up[65];
	time_t before = time(NULL);
	int64_t bad, first;

	upper(T_A, up);
	assert_int_equal(rc_store_blocklist_put(f->s, &owner, T_A, "breach",
	                     &b),
	    RC_OK);
	assert_string_equal(b->sha256, up);
	assert_string_equal(b->reason, "breach");
	assert_true(b->blocked_at >= before);
	first = b->blocked_at;
	rc_blocked_cert_free(b);
	assert_audit(f->s, 0, "blocklist.put", up);
	/* any case finds it */
	assert_int_equal(rc_store_blocklist_get(f->s, up, &got), RC_OK);
	assert_string_equal(got->reason, "breach");
	rc_blocked_cert_free(got);
	/* a second put changes the reason, not the time */
	assert_int_equal(rc_store_blocklist_put(f->s, &owner, up, "lost", NULL),
	    RC_OK);
	assert_int_equal(rc_store_blocklist_get(f->s, T_A, &got), RC_OK);
	assert_string_equal(got->reason, "lost");
	assert_int_equal(got->blocked_at, first);
	rc_blocked_cert_free(got);
	assert_int_equal(rc_store_blocklist_get(f->s, T_B, &got), RC_ENOENT);
	assert_null(got);
	assert_int_equal(rc_store_blocklist_delete(f->s, &owner, T_A), RC_OK);
	assert_audit(f->s, 0, "blocklist.delete", up);
	assert_int_equal(rc_store_blocklist_delete(f->s, &owner, T_A),
	    RC_ENOENT);
	assert_int_equal(rc_store_blocklist_get(f->s, T_A, &got), RC_ENOENT);
	assert_int_equal(rc_store_audit_verify(f->s, &bad), RC_OK);
}

static void
test_invalid(void **state)
{
	struct fx *f = *state;
	struct rc_store_ctx nobody = {"", NULL};
	struct rc_blocked_cert *b = (struct rc_blocked_cert *)1;
	char reason[RC_BLOCKLIST_MAX_REASON + 2], t65[66], **next = NULL;
	struct rc_blocked_cert **v;
	size_t n;

	memset(reason, 'r', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	assert_int_equal(rc_store_blocklist_put(f->s, &owner, T_A, reason, &b),
	    RC_EINVAL);
	assert_null(b);
	reason[RC_BLOCKLIST_MAX_REASON] = '\0';
	assert_int_equal(rc_store_blocklist_put(f->s, &owner, T_A, reason,
	                     NULL),
	    RC_OK);
	assert_int_equal(rc_store_blocklist_put(f->s, &owner, T_A, "", NULL),
	    RC_EINVAL);
	assert_int_equal(rc_store_blocklist_put(f->s, &owner, T_A, NULL, NULL),
	    RC_EINVAL);
	assert_int_equal(rc_store_blocklist_put(f->s, NULL, T_A, "r", NULL),
	    RC_EINVAL);
	assert_int_equal(rc_store_blocklist_put(f->s, &nobody, T_A, "r", NULL),
	    RC_EINVAL);
	/* 63 and 65 digits, a non-hex digit, SHA-1 length, NULL */
	assert_int_equal(rc_store_blocklist_put(f->s, &owner, T_A + 1, "r",
	                     NULL),
	    RC_EINVAL);
	snprintf(t65, sizeof(t65), "%s0", T_A);
	assert_int_equal(rc_store_blocklist_put(f->s, &owner, t65, "r", NULL),
	    RC_EINVAL);
	assert_int_equal(rc_store_blocklist_get(f->s, t65, &b), RC_EINVAL);
	assert_int_equal(rc_store_blocklist_delete(f->s, &owner, t65),
	    RC_EINVAL);
	t65[0] = 'g';
	t65[64] = '\0';
	assert_int_equal(rc_store_blocklist_put(f->s, &owner, t65, "r", NULL),
	    RC_EINVAL);
	assert_int_equal(rc_store_blocklist_get(f->s,
	                     "0123456789012345678901234567890123456789", &b),
	    RC_EINVAL);
	assert_int_equal(rc_store_blocklist_get(f->s, NULL, &b), RC_EINVAL);
	assert_int_equal(rc_store_blocklist_delete(f->s, NULL, T_A), RC_EINVAL);
	assert_int_equal(rc_store_blocklist_list(f->s, NULL, 0, &v, &n,
	                     (char **)&next),
	    RC_EINVAL);
}

static void
test_list(void **state)
{
	struct fx *f = *state;
	struct rc_blocked_cert **v;
	char *next, *after;
	size_t n;

	assert_int_equal(rc_store_blocklist_list(f->s, NULL, 5, &v, &n, &next),
	    RC_OK);
	assert_int_equal(n, 0);
	assert_null(v);
	assert_null(next);
	assert_int_equal(rc_store_blocklist_put(f->s, &owner, T_C, "c", NULL),
	    RC_OK);
	assert_int_equal(rc_store_blocklist_put(f->s, &owner, T_A, "a", NULL),
	    RC_OK);
	assert_int_equal(rc_store_blocklist_put(f->s, &owner, T_B, "b", NULL),
	    RC_OK);
	assert_int_equal(rc_store_blocklist_list(f->s, NULL, 2, &v, &n, &next),
	    RC_OK);
	assert_int_equal(n, 2);
	assert_string_equal(v[0]->reason, "a");
	assert_string_equal(v[1]->reason, "b");
	assert_non_null(next);
	rc_blocked_cert_list_free(v, n);
	after = next;
	assert_int_equal(rc_store_blocklist_list(f->s, after, 2, &v, &n, &next),
	    RC_OK);
	assert_int_equal(n, 1);
	assert_string_equal(v[0]->reason, "c");
	assert_null(next);
	rc_blocked_cert_list_free(v, n);
	rc_free(after);
	/* a token in lower case starts at the same place */
	assert_int_equal(rc_store_blocklist_list(f->s, "bb", 10, &v, &n, &next),
	    RC_OK);
	assert_int_equal(n, 2);
	assert_string_equal(v[0]->reason, "b");
	rc_blocked_cert_list_free(v, n);
	/* exactly max left: no continuation */
	assert_int_equal(rc_store_blocklist_list(f->s, NULL, 3, &v, &n, &next),
	    RC_OK);
	assert_int_equal(n, 3);
	assert_null(next);
	rc_blocked_cert_list_free(v, n);
}

/* A made-up issued certificate with thumbprint sha256. */
static int
try_put_issued(struct rc_store *s, const char *serial, const char *sha256)
{
	struct rc_issued_cert c;
	uint8_t der[3] = {0x30, 0x01, 0x00};

	memset(&c, 0, sizeof(c));
	c.registration_id = "dev-1";
	snprintf(c.serial, sizeof(c.serial), "%s", serial);
	snprintf(c.sha256, sizeof(c.sha256), "%s", sha256);
	c.not_before = 1000;
	c.not_after = 2000;
	c.der = der;
	c.der_len = sizeof(der);
	return rc_store_issued_put(s, &owner, &c, NULL);
}

static void
put_issued(struct rc_store *s, const char *serial, const char *sha256)
{
	assert_int_equal(try_put_issued(s, serial, sha256), RC_OK);
}

static void
test_revoke_block(void **state)
{
	struct fx *f = *state;
	struct rc_issued_cert *out;
	struct rc_blocked_cert *b;
	char up[65];
	int64_t bad;

	put_issued(f->s, "0A", T_A);
	put_issued(f->s, "0B", T_B);
	assert_int_equal(rc_store_issued_revoke_block(f->s, &owner, "0a",
	                     "keyCompromise", &out),
	    RC_OK);
	assert_true(out->revoked_at > 0);
	assert_string_equal(out->revoke_reason, "keyCompromise");
	rc_issued_cert_free(out);
	upper(T_A, up);
	assert_int_equal(rc_store_blocklist_get(f->s, T_A, &b), RC_OK);
	assert_string_equal(b->reason, "keyCompromise");
	rc_blocked_cert_free(b);
	assert_audit(f->s, 0, "blocklist.put", up);
	assert_audit(f->s, 1, "certificate.revoke", "dev-1/0A");
	/* already revoked: nothing changes, the blocklist neither */
	assert_int_equal(rc_store_blocklist_delete(f->s, &owner, T_A), RC_OK);
	assert_int_equal(rc_store_issued_revoke_block(f->s, &owner, "0A", "x",
	                     &out),
	    RC_EEXIST);
	assert_null(out);
	assert_int_equal(rc_store_blocklist_get(f->s, T_A, &b), RC_ENOENT);
	assert_int_equal(rc_store_issued_revoke_block(f->s, &owner, "0C", "x",
	                     NULL),
	    RC_ENOENT);
	assert_int_equal(rc_store_issued_revoke_block(f->s, &owner, "0B", "",
	                     NULL),
	    RC_EINVAL);
	/* plain revocation leaves the blocklist alone */
	assert_int_equal(rc_store_issued_revoke(f->s, &owner, "0B", "x", NULL),
	    RC_OK);
	assert_int_equal(rc_store_blocklist_get(f->s, T_B, &b), RC_ENOENT);
	assert_int_equal(rc_store_audit_verify(f->s, &bad), RC_OK);
}

static void
test_reopen(void **state)
{
	struct fx *f = *state;
	struct rc_blocked_cert *b;

	assert_true(rc_store_schema_version(f->s) >= 5);
	assert_int_equal(rc_store_blocklist_put(f->s, &owner, T_C, "r", NULL),
	    RC_OK);
	rc_store_close(f->s);
	assert_int_equal(rc_store_open(f->uri, &f->s), RC_OK);
	assert_int_equal(rc_store_blocklist_get(f->s, T_C, &b), RC_OK);
	assert_string_equal(b->reason, "r");
	rc_blocked_cert_free(b);
	rc_blocked_cert_free(NULL);
	rc_blocked_cert_list_free(NULL, 2);
}

struct alloc_arg {
	struct rc_store *s;
	int n;
};

static int
blocklist_ops(void *p)
{
	struct alloc_arg *a = p;
	struct rc_blocked_cert *b = NULL, **v = NULL;
	struct rc_issued_cert *out = NULL;
	char thumb[65], serial[16], *next = NULL;
	size_t n = 0;
	int rc;

	snprintf(thumb, sizeof(thumb), "%064X", 0x1000 + a->n);
	snprintf(serial, sizeof(serial), "%X", 0x1000 + a->n++);
	if ((rc = try_put_issued(a->s, serial, T_C)) != RC_OK ||
	    (rc = rc_store_blocklist_put(a->s, &owner, thumb, "r", &b)) !=
	        RC_OK ||
	    (rc = rc_store_blocklist_list(a->s, NULL, 1, &v, &n, &next)) !=
	        RC_OK)
		goto out;
	rc_blocked_cert_free(b);
	b = NULL;
	if ((rc = rc_store_blocklist_get(a->s, thumb, &b)) != RC_OK ||
	    (rc = rc_store_issued_revoke_block(a->s, &owner, serial, "r",
	         &out)) != RC_OK)
		goto out;
	rc = rc_store_blocklist_delete(a->s, &owner, thumb);
out:
	rc_blocked_cert_free(b);
	rc_blocked_cert_list_free(v, n);
	rc_issued_cert_free(out);
	rc_free(next);
	return rc;
}

static void
test_each_alloc(void **state)
{
	struct fx *f = *state;
	struct alloc_arg a = {f->s, 0};
	int64_t bad;

	rctest_each_alloc(blocklist_ops, &a, 1);
	assert_int_equal(rc_store_audit_verify(f->s, &bad), RC_OK);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_put_get_delete),
	    T(test_invalid),
	    T(test_list),
	    T(test_revoke_block),
	    T(test_reopen),
	    T(test_each_alloc),
	};
	int rc;

	rc_json_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rctest_rmtree(rctest_tmpdir());
	return rc;
}
