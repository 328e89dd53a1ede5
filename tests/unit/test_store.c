/*
 * The store test suite (store.h).  Written against the interface only, so
 * that every backend runs the same tests: open_store() is the one place that
 * names a backend.  Backend-specific checks (migrations, tampering with the
 * file) are in test_store_sqlite.c; durability under kill -9 in
 * test_store_crash.c.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rctest.h"
#include "rollcall/mem.h"
#include "rollcall/store.h"

struct fx {
	char uri[1024];
	struct rc_store *s;
};

static const struct rc_store_ctx owner = {"iothubowner", NULL};

static const char *
fresh_uri(void)
{
	static char uri[1024];
	static int n;

	snprintf(uri, sizeof(uri), "sqlite:%s",
	    rctest_path(rctest_tmpdir(), "store"));
	snprintf(uri + strlen(uri), sizeof(uri) - strlen(uri), "-%d.db", ++n);
	return uri;
}

static int
setup(void **state)
{
	struct fx *f;

	f = rc_calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->uri, sizeof(f->uri), "%s", fresh_uri());
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

static void
reopen(struct fx *f)
{
	rc_store_close(f->s);
	f->s = NULL;
	assert_int_equal(rc_store_open(f->uri, &f->s), RC_OK);
}

/*
 * A made-up certificate: the store does not parse DER, so any bytes and
 * any well-formed thumbprints do.  Thumbprints are lower-case here so the
 * tests see them come back upper-case.
 */
static struct rc_store_cert *
make_cert(unsigned n)
{
	struct rc_store_cert *c;
	char der[32];

	c = rc_calloc(1, sizeof(*c));
	assert_non_null(c);
	snprintf(der, sizeof(der), "DER-%u", n);
	c->der_len = strlen(der);
	c->der = rc_malloc(c->der_len);
	assert_non_null(c->der);
	memcpy(c->der, der, c->der_len);
	snprintf(c->sha1, sizeof(c->sha1), "%040x", 0xabc000u + n);
	snprintf(c->sha256, sizeof(c->sha256), "%064llx", 0xfedcba0000ULL + n);
	c->subject = rc_strdup("CN=device, O=rollcall");
	c->issuer = rc_strdup("CN=root");
	c->serial = rc_strdup("0A1B");
	c->not_before = 1700000000;
	c->not_after = 1700000000 + 86400 * 365;
	c->version = 3;
	return c;
}

/* The upper-case sha256 make_cert(n) stores. */
static const char *
sha_upper(unsigned n)
{
	static char buf[4][65];
	static int i;
	char *p = buf[i++ % 4];

	snprintf(p, 65, "%064llX", 0xfedcba0000ULL + n);
	return p;
}

static struct rc_enrollment *
make_enr(enum rc_enrollment_kind kind, const char *id, int c0, int c1)
{
	struct rc_enrollment *e;

	e = rc_enrollment_new(kind);
	assert_non_null(e);
	e->id = rc_strdup(id);
	if (c0 > 0)
		e->certs[RC_SLOT_PRIMARY] = make_cert((unsigned)c0);
	if (c1 > 0)
		e->certs[RC_SLOT_SECONDARY] = make_cert((unsigned)c1);
	return e;
}

/* Puts e and frees it; returns the store's answer. */
static int
put_enr(struct rc_store *s, const struct rc_store_ctx *ctx,
    struct rc_enrollment *e, char **conflict)
{
	struct rc_enrollment *out = NULL;
	int rc;

	rc = rc_store_enrollment_put(s, ctx, e, &out, conflict);
	if (rc == RC_OK)
		assert_non_null(out);
	else
		assert_null(out);
	rc_enrollment_free(out);
	rc_enrollment_free(e);
	return rc;
}

static int64_t
audit_count(struct rc_store *s)
{
	struct rc_audit **rows;
	size_t n;
	int64_t last = 0;

	assert_int_equal(rc_store_audit_list(s, 0, 100000, &rows, &n), RC_OK);
	if (n > 0)
		last = rows[n - 1]->seq;
	assert_int_equal(last, (int64_t)n);
	rc_audit_list_free(rows, n);
	return (int64_t)n;
}

static void
assert_cert_equal(const struct rc_store_cert *a, const struct rc_store_cert *b)
{
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->der_len, b->der_len);
	assert_memory_equal(a->der, b->der, a->der_len);
	assert_true(strcasecmp(a->sha1, b->sha1) == 0);
	assert_true(strcasecmp(a->sha256, b->sha256) == 0);
	assert_string_equal(a->subject, b->subject);
	assert_string_equal(a->issuer, b->issuer);
	assert_string_equal(a->serial, b->serial);
	assert_int_equal(a->not_before, b->not_before);
	assert_int_equal(a->not_after, b->not_after);
	assert_int_equal(a->version, b->version);
}

static void
test_enrollment_roundtrip(void **state)
{
	struct fx *f = *state;
	struct rc_enrollment *in, *out = NULL, *got = NULL;

	in = make_enr(RC_ENROLLMENT_INDIVIDUAL, "device-1", 1, 2);
	in->device_id = rc_strdup("dev-one");
	in->enabled = 0;
	json_object_set_new(in->doc, "iotHubHostName", json_string("h.local"));
	json_object_set_new(in->doc, "capabilities",
	    json_pack("{s:b}", "iotEdge", 1));
	assert_int_equal(rc_store_enrollment_put(f->s, &owner, in, &out, NULL),
	    RC_OK);
	assert_string_equal(out->id, "device-1");
	assert_string_equal(out->device_id, "dev-one");
	assert_int_equal(out->enabled, 0);
	assert_int_equal(out->etag[0], '"');
	assert_true(out->created > 0);
	assert_int_equal(out->created, out->updated);
	assert_string_equal(out->certs[0]->sha256, sha_upper(1));
	assert_cert_equal(out->certs[0], in->certs[0]);
	assert_cert_equal(out->certs[1], in->certs[1]);
	assert_true(json_equal(out->doc, in->doc));

	assert_int_equal(rc_store_enrollment_get(f->s, RC_ENROLLMENT_INDIVIDUAL,
	                     "device-1", &got),
	    RC_OK);
	assert_string_equal(got->etag, out->etag);
	assert_int_equal(got->kind, RC_ENROLLMENT_INDIVIDUAL);
	assert_cert_equal(got->certs[1], in->certs[1]);
	assert_true(json_equal(got->doc, in->doc));
	assert_null(got->ca_refs[0]);
	/* the same ID names a different record in the other kind */
	rc_enrollment_free(got);
	assert_int_equal(rc_store_enrollment_get(f->s, RC_ENROLLMENT_GROUP,
	                     "device-1", &got),
	    RC_ENOENT);
	assert_null(got);
	rc_enrollment_free(in);
	rc_enrollment_free(out);
}

static void
test_group_roundtrip(void **state)
{
	struct fx *f = *state;
	struct rc_enrollment *in, *got = NULL;

	in = make_enr(RC_ENROLLMENT_GROUP, "Group-A", 3, 0);
	in->ca_refs[RC_SLOT_SECONDARY] = rc_strdup("RootCA");
	assert_int_equal(put_enr(f->s, &owner, in, NULL), RC_OK);
	assert_int_equal(rc_store_enrollment_get(f->s, RC_ENROLLMENT_GROUP,
	                     "group-a", &got),
	    RC_OK);
	assert_string_equal(got->id, "Group-A");
	assert_int_equal(got->enabled, 1);
	assert_null(got->device_id);
	assert_non_null(got->certs[0]);
	assert_null(got->certs[1]);
	assert_null(got->ca_refs[0]);
	assert_string_equal(got->ca_refs[1], "RootCA");
	assert_true(json_is_object(got->doc));
	assert_int_equal(json_object_size(got->doc), 0);
	rc_enrollment_free(got);
}

static void
test_case_insensitive(void **state)
{
	struct fx *f = *state;
	struct rc_enrollment *got = NULL;

	assert_int_equal(put_enr(f->s, &owner,
	                     make_enr(RC_ENROLLMENT_INDIVIDUAL, "Device-One", 1,
	                         0),
	                     NULL),
	    RC_OK);
	assert_int_equal(rc_store_enrollment_get(f->s, RC_ENROLLMENT_INDIVIDUAL,
	                     "DEVICE-one", &got),
	    RC_OK);
	assert_string_equal(got->id, "Device-One");
	rc_enrollment_free(got);
	/* a put in other case updates the same record, keeping the spelling */
	assert_int_equal(put_enr(f->s, &owner,
	                     make_enr(RC_ENROLLMENT_INDIVIDUAL, "device-ONE", 2,
	                         0),
	                     NULL),
	    RC_OK);
	assert_int_equal(rc_store_enrollment_get(f->s, RC_ENROLLMENT_INDIVIDUAL,
	                     "device-one", &got),
	    RC_OK);
	assert_string_equal(got->id, "Device-One");
	assert_string_equal(got->certs[0]->sha256, sha_upper(2));
	rc_enrollment_free(got);
}

static void
test_update_keeps_created(void **state)
{
	struct fx *f = *state;
	struct rc_enrollment *in, *a = NULL, *b = NULL;

	in = make_enr(RC_ENROLLMENT_INDIVIDUAL, "dev", 1, 0);
	assert_int_equal(rc_store_enrollment_put(f->s, &owner, in, &a, NULL),
	    RC_OK);
	sleep(1); /* so that a new created time would show */
	in->enabled = 0;
	assert_int_equal(rc_store_enrollment_put(f->s, &owner, in, &b, NULL),
	    RC_OK);
	assert_int_equal(b->created, a->created);
	assert_true(b->updated > a->updated);
	assert_string_not_equal(b->etag, a->etag);
	assert_int_equal(b->enabled, 0);
	rc_enrollment_free(in);
	rc_enrollment_free(a);
	rc_enrollment_free(b);
}

static void
test_if_match(void **state)
{
	struct fx *f = *state;
	struct rc_enrollment *in, *a = NULL, *b = NULL, *got = NULL;
	struct rc_store_ctx ctx = {"ops", "\"0000000000000000\""};
	int64_t n;

	in = make_enr(RC_ENROLLMENT_INDIVIDUAL, "dev", 1, 0);
	/* If-Match on a record that does not exist */
	assert_int_equal(rc_store_enrollment_put(f->s, &ctx, in, &a, NULL),
	    RC_ESTALE);
	ctx.if_match = "*";
	assert_int_equal(rc_store_enrollment_put(f->s, &ctx, in, &a, NULL),
	    RC_ESTALE);
	assert_int_equal(rc_store_enrollment_put(f->s, &owner, in, &a, NULL),
	    RC_OK);
	n = audit_count(f->s);

	json_object_set_new(in->doc, "x", json_true());
	in->enabled = 0;
	ctx.if_match = "\"0000000000000000\"";
	assert_int_equal(rc_store_enrollment_put(f->s, &ctx, in, &b, NULL),
	    RC_ESTALE);
	assert_null(b);
	assert_int_equal(audit_count(f->s), n);
	assert_int_equal(rc_store_enrollment_get(f->s, RC_ENROLLMENT_INDIVIDUAL,
	                     "dev", &got),
	    RC_OK);
	assert_string_equal(got->etag, a->etag);
	assert_int_equal(got->enabled, 1);
	assert_int_equal(json_object_size(got->doc), 0);
	rc_enrollment_free(got);

	ctx.if_match = a->etag;
	assert_int_equal(rc_store_enrollment_put(f->s, &ctx, in, &b, NULL),
	    RC_OK);
	/* the old etag is stale now; the wildcard still matches */
	assert_int_equal(rc_store_enrollment_put(f->s, &ctx, in, &got, NULL),
	    RC_ESTALE);
	ctx.if_match = "*";
	assert_int_equal(rc_store_enrollment_put(f->s, &ctx, in, &got, NULL),
	    RC_OK);
	assert_int_equal(audit_count(f->s), n + 2);
	rc_enrollment_free(got);
	rc_enrollment_free(in);
	rc_enrollment_free(a);
	rc_enrollment_free(b);
}

static void
test_delete(void **state)
{
	struct fx *f = *state;
	struct rc_enrollment *in, *a = NULL;
	struct rc_store_ctx ctx = {"ops", "\"0000000000000000\""};
	const enum rc_enrollment_kind k = RC_ENROLLMENT_INDIVIDUAL;

	in = make_enr(k, "dev", 1, 0);
	assert_int_equal(rc_store_enrollment_put(f->s, &owner, in, &a, NULL),
	    RC_OK);
	assert_int_equal(rc_store_enrollment_delete(f->s, &ctx, k, "dev"),
	    RC_ESTALE);
	ctx.if_match = a->etag;
	assert_int_equal(rc_store_enrollment_delete(f->s, &ctx, k, "DEV"),
	    RC_OK);
	assert_int_equal(rc_store_enrollment_delete(f->s, &ctx, k, "dev"),
	    RC_ENOENT);
	assert_int_equal(rc_store_enrollment_delete(f->s, &owner, k, "dev"),
	    RC_ENOENT);
	/* its certificate is free again */
	assert_int_equal(put_enr(f->s, &owner, make_enr(k, "other", 1, 0),
	                     NULL),
	    RC_OK);
	assert_int_equal(rc_store_enrollment_delete(f->s, &owner, k, "other"),
	    RC_OK);
	assert_int_equal(rc_store_enrollment_delete(f->s, &owner,
	                     RC_ENROLLMENT_GROUP, "other"),
	    RC_ENOENT);
	rc_enrollment_free(in);
	rc_enrollment_free(a);
}

static void
test_get_missing(void **state)
{
	struct fx *f = *state;
	struct rc_enrollment *e = NULL;
	struct rc_registration *r = NULL;
	struct rc_ca_cert *c = NULL;
	enum rc_slot slot;

	assert_int_equal(rc_store_enrollment_get(f->s, RC_ENROLLMENT_INDIVIDUAL,
	                     "nope", &e),
	    RC_ENOENT);
	assert_int_equal(rc_store_enrollment_get(f->s, RC_ENROLLMENT_GROUP,
	                     "nope", &e),
	    RC_ENOENT);
	assert_int_equal(rc_store_enrollment_find_cert(f->s, sha_upper(9), &e,
	                     &slot),
	    RC_ENOENT);
	assert_int_equal(rc_store_registration_get(f->s, "nope", &r),
	    RC_ENOENT);
	assert_int_equal(rc_store_ca_cert_get(f->s, "nope", &c), RC_ENOENT);
	assert_int_equal(rc_store_registration_delete(f->s, &owner, "nope"),
	    RC_ENOENT);
	assert_int_equal(rc_store_ca_cert_delete(f->s, &owner, "nope"),
	    RC_ENOENT);
	assert_null(e);
	assert_null(r);
	assert_null(c);
	assert_int_equal(audit_count(f->s), 0);
}

static void
test_cert_unique(void **state)
{
	struct fx *f = *state;
	struct rc_enrollment *e = NULL;
	char *conflict = NULL;
	const enum rc_enrollment_kind ind = RC_ENROLLMENT_INDIVIDUAL;
	const enum rc_enrollment_kind grp = RC_ENROLLMENT_GROUP;
	int64_t n;

	assert_int_equal(put_enr(f->s, &owner, make_enr(ind, "A", 1, 2), NULL),
	    RC_OK);
	assert_int_equal(put_enr(f->s, &owner, make_enr(grp, "G", 3, 0), NULL),
	    RC_OK);
	n = audit_count(f->s);
	/* individual vs individual, in either slot */
	assert_int_equal(put_enr(f->s, &owner, make_enr(ind, "B", 4, 2),
	                     &conflict),
	    RC_EEXIST);
	assert_string_equal(conflict, "A");
	rc_free(conflict);
	/* group vs individual and individual vs group */
	assert_int_equal(put_enr(f->s, &owner, make_enr(grp, "H", 1, 0),
	                     &conflict),
	    RC_EEXIST);
	assert_string_equal(conflict, "A");
	rc_free(conflict);
	assert_int_equal(put_enr(f->s, &owner, make_enr(ind, "C", 0, 3),
	                     &conflict),
	    RC_EEXIST);
	assert_string_equal(conflict, "G");
	rc_free(conflict);
	/* an update of A may not take G's certificate either */
	assert_int_equal(put_enr(f->s, &owner, make_enr(ind, "a", 1, 3),
	                     &conflict),
	    RC_EEXIST);
	assert_string_equal(conflict, "G");
	rc_free(conflict);
	/* without a conflict pointer, the answer is the same */
	assert_int_equal(put_enr(f->s, &owner, make_enr(ind, "B", 2, 0), NULL),
	    RC_EEXIST);
	/* nothing was written */
	assert_int_equal(rc_store_enrollment_get(f->s, ind, "B", &e),
	    RC_ENOENT);
	assert_int_equal(rc_store_enrollment_get(f->s, grp, "H", &e),
	    RC_ENOENT);
	assert_int_equal(rc_store_enrollment_get(f->s, ind, "A", &e), RC_OK);
	assert_string_equal(e->certs[1]->sha256, sha_upper(2));
	rc_enrollment_free(e);
	assert_int_equal(audit_count(f->s), n);
	/* the same certificate in both slots of one enrollment is refused */
	assert_int_equal(put_enr(f->s, &owner, make_enr(ind, "D", 7, 7), NULL),
	    RC_EINVAL);
}

static void
test_cert_moves(void **state)
{
	struct fx *f = *state;
	struct rc_enrollment *e = NULL;
	const enum rc_enrollment_kind ind = RC_ENROLLMENT_INDIVIDUAL;
	enum rc_slot slot;

	assert_int_equal(put_enr(f->s, &owner, make_enr(ind, "A", 1, 2), NULL),
	    RC_OK);
	/* swapping the slots of one enrollment is no conflict */
	assert_int_equal(put_enr(f->s, &owner, make_enr(ind, "A", 2, 1), NULL),
	    RC_OK);
	assert_int_equal(rc_store_enrollment_find_cert(f->s, sha_upper(1), &e,
	                     &slot),
	    RC_OK);
	assert_int_equal(slot, RC_SLOT_SECONDARY);
	assert_string_equal(e->id, "A");
	rc_enrollment_free(e);
	/* an expiry roll: the old primary leaves, the secondary stays */
	assert_int_equal(put_enr(f->s, &owner, make_enr(ind, "A", 0, 1), NULL),
	    RC_OK);
	/* the removed certificate may now go to another enrollment */
	assert_int_equal(put_enr(f->s, &owner,
	                     make_enr(RC_ENROLLMENT_GROUP, "G", 2, 0), NULL),
	    RC_OK);
	assert_int_equal(rc_store_enrollment_find_cert(f->s, sha_upper(2), &e,
	                     &slot),
	    RC_OK);
	assert_int_equal(e->kind, RC_ENROLLMENT_GROUP);
	assert_int_equal(slot, RC_SLOT_PRIMARY);
	rc_enrollment_free(e);
}

static void
test_find_cert(void **state)
{
	struct fx *f = *state;
	struct rc_enrollment *e = NULL;
	char lower[65];
	enum rc_slot slot;
	size_t i;

	assert_int_equal(put_enr(f->s, &owner,
	                     make_enr(RC_ENROLLMENT_INDIVIDUAL, "A", 5, 6),
	                     NULL),
	    RC_OK);
	snprintf(lower, sizeof(lower), "%s", sha_upper(6));
	for (i = 0; lower[i] != '\0'; i++)
		lower[i] = (char)tolower((unsigned char)lower[i]);
	assert_int_equal(rc_store_enrollment_find_cert(f->s, lower, &e, &slot),
	    RC_OK);
	assert_string_equal(e->id, "A");
	assert_int_equal(slot, RC_SLOT_SECONDARY);
	rc_enrollment_free(e);
	assert_int_equal(rc_store_enrollment_find_cert(f->s, sha_upper(5), &e,
	                     &slot),
	    RC_OK);
	assert_int_equal(slot, RC_SLOT_PRIMARY);
	rc_enrollment_free(e);
	e = NULL;
	/* malformed thumbprints: short, long, not hex */
	lower[63] = '\0';
	assert_int_equal(rc_store_enrollment_find_cert(f->s, lower, &e, &slot),
	    RC_EINVAL);
	snprintf(lower, sizeof(lower), "%s", sha_upper(6));
	lower[10] = 'g';
	assert_int_equal(rc_store_enrollment_find_cert(f->s, lower, &e, &slot),
	    RC_EINVAL);
	assert_int_equal(rc_store_enrollment_find_cert(f->s,
	                     "00112233445566778899AABBCCDDEEFF00112233445566778"
	                     "899"
	                     "AABBCCDDEEFF00",
	                     &e, &slot),
	    RC_EINVAL);
	assert_null(e);
}

static void
test_group_find_ca_ref(void **state)
{
	struct fx *f = *state;
	struct rc_enrollment *g, **v = NULL;
	const enum rc_enrollment_kind grp = RC_ENROLLMENT_GROUP;
	size_t n = 99;

	g = make_enr(grp, "G2", 0, 0);
	g->ca_refs[RC_SLOT_SECONDARY] = rc_strdup("rootca");
	assert_int_equal(put_enr(f->s, &owner, g, NULL), RC_OK);
	g = make_enr(grp, "G1", 0, 0);
	g->ca_refs[RC_SLOT_PRIMARY] = rc_strdup("RootCA");
	g->ca_refs[RC_SLOT_SECONDARY] = rc_strdup("RootCA");
	assert_int_equal(put_enr(f->s, &owner, g, NULL), RC_OK);
	g = make_enr(grp, "G3", 0, 0);
	g->ca_refs[RC_SLOT_PRIMARY] = rc_strdup("Other");
	assert_int_equal(put_enr(f->s, &owner, g, NULL), RC_OK);

	assert_int_equal(rc_store_group_find_ca_ref(f->s, "ROOTCA", &v, &n),
	    RC_OK);
	assert_int_equal(n, 2);
	assert_string_equal(v[0]->id, "G1");
	assert_string_equal(v[1]->id, "G2");
	assert_string_equal(v[1]->ca_refs[1], "rootca");
	rc_enrollment_list_free(v, n);
	assert_int_equal(rc_store_group_find_ca_ref(f->s, "none", &v, &n),
	    RC_OK);
	assert_int_equal(n, 0);
	rc_enrollment_list_free(v, n);
	/* a CA name belongs in a group only */
	g = make_enr(RC_ENROLLMENT_INDIVIDUAL, "I", 0, 0);
	g->ca_refs[RC_SLOT_PRIMARY] = rc_strdup("RootCA");
	assert_int_equal(put_enr(f->s, &owner, g, NULL), RC_EINVAL);
	/* and a slot holds a certificate or a CA name, not both */
	g = make_enr(grp, "G4", 1, 0);
	g->ca_refs[RC_SLOT_PRIMARY] = rc_strdup("RootCA");
	assert_int_equal(put_enr(f->s, &owner, g, NULL), RC_EINVAL);
}

/* Pages through all enrollments of kind, max at a time, into ids. */
static size_t
page_all(struct rc_store *s, enum rc_enrollment_kind kind, size_t max,
    char ids[][16], size_t cap)
{
	struct rc_enrollment **v;
	char *after = NULL, *next;
	size_t n, i, total = 0, pages = 0;

	for (;;) {
		assert_int_equal(rc_store_enrollment_list(s, kind, after, max,
		                     &v, &n, &next),
		    RC_OK);
		assert_true(n <= max);
		for (i = 0; i < n; i++) {
			assert_true(total < cap);
			snprintf(ids[total++], 16, "%s", v[i]->id);
		}
		rc_enrollment_list_free(v, n);
		rc_free(after);
		after = next;
		pages++;
		if (next == NULL)
			break;
		assert_int_equal(n, max);
	}
	assert_true(pages <= cap + 1);
	return total;
}

static void
test_list_paging(void **state)
{
	static const char *const ids[] = {"a1", "B2", "c3", "D4", "e5"};
	static const size_t maxes[] = {1, 2, 4, 5, 100};
	struct fx *f = *state;
	struct rc_enrollment **v = NULL;
	char got[8][16], *next = NULL;
	size_t i, j, n;

	/* inserted out of order; listed in case-insensitive ID order */
	for (i = 0; i < 5; i++) {
		j = (i * 3) % 5;
		assert_int_equal(put_enr(f->s, &owner,
		                     make_enr(RC_ENROLLMENT_INDIVIDUAL, ids[j],
		                         (int)j + 1, 0),
		                     NULL),
		    RC_OK);
	}
	assert_int_equal(put_enr(f->s, &owner,
	                     make_enr(RC_ENROLLMENT_GROUP, "b0", 0, 0), NULL),
	    RC_OK);
	for (i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
		assert_int_equal(page_all(f->s, RC_ENROLLMENT_INDIVIDUAL,
		                     maxes[i], got, 8),
		    5);
		for (j = 0; j < 5; j++)
			assert_string_equal(got[j], ids[j]);
	}
	assert_int_equal(page_all(f->s, RC_ENROLLMENT_GROUP, 1, got, 8), 1);
	assert_string_equal(got[0], "b0");
	/* a token in any case continues after that ID */
	assert_int_equal(rc_store_enrollment_list(f->s,
	                     RC_ENROLLMENT_INDIVIDUAL, "C3", 10, &v, &n, &next),
	    RC_OK);
	assert_int_equal(n, 2);
	assert_string_equal(v[0]->id, "D4");
	assert_null(next);
	rc_enrollment_list_free(v, n);
	/* past the end: an empty last page */
	assert_int_equal(rc_store_enrollment_list(f->s,
	                     RC_ENROLLMENT_INDIVIDUAL, "zz", 10, &v, &n, &next),
	    RC_OK);
	assert_int_equal(n, 0);
	assert_null(next);
	rc_enrollment_list_free(v, n);
	assert_int_equal(rc_store_enrollment_list(f->s,
	                     RC_ENROLLMENT_INDIVIDUAL, NULL, 0, &v, &n, &next),
	    RC_EINVAL);
}

static struct rc_registration *
make_reg(const char *id, const char *group)
{
	struct rc_registration *r;

	r = rc_calloc(1, sizeof(*r));
	assert_non_null(r);
	r->registration_id = rc_strdup(id);
	r->device_id = rc_strdup(id);
	r->assigned_hub = rc_strdup("hub1.local");
	r->status = rc_strdup("assigned");
	r->substatus = rc_strdup("initialAssignment");
	if (group != NULL)
		r->enrollment_group_id = rc_strdup(group);
	return r;
}

static void
test_registration(void **state)
{
	struct fx *f = *state;
	struct rc_registration *in, *a = NULL, *b = NULL;
	struct rc_store_ctx ctx = {"dps", "\"0000000000000000\""};

	in = make_reg("Reg-1", NULL);
	in->error_code = 401002;
	in->error_message = rc_strdup("not authorized");
	snprintf(in->cert_sha256, sizeof(in->cert_sha256), "%s", sha_upper(1));
	in->cert_sha256[5] = (char)tolower((unsigned char)in->cert_sha256[5]);
	in->last_csr = rc_strdup("-----BEGIN CERTIFICATE REQUEST-----\n...");
	in->payload = json_pack("{s:i}", "a", 1);
	assert_int_equal(rc_store_registration_put(f->s, &ctx, in, &a),
	    RC_ESTALE);
	assert_int_equal(rc_store_registration_put(f->s, &owner, in, &a),
	    RC_OK);
	assert_int_equal(rc_store_registration_get(f->s, "REG-1", &b), RC_OK);
	assert_string_equal(b->registration_id, "Reg-1");
	assert_string_equal(b->device_id, "Reg-1");
	assert_string_equal(b->assigned_hub, "hub1.local");
	assert_string_equal(b->status, "assigned");
	assert_string_equal(b->substatus, "initialAssignment");
	assert_null(b->enrollment_group_id);
	assert_string_equal(b->error_message, "not authorized");
	assert_int_equal(b->error_code, 401002);
	assert_string_equal(b->cert_sha256, sha_upper(1));
	assert_string_equal(b->last_csr, in->last_csr);
	assert_true(json_equal(b->payload, in->payload));
	assert_string_equal(b->etag, a->etag);
	assert_int_equal(b->created, a->created);
	rc_registration_free(b);

	/* update: If-Match, new etag, created kept */
	ctx.if_match = a->etag;
	rc_free(in->status);
	in->status = rc_strdup("failed");
	json_decref(in->payload);
	in->payload = NULL;
	in->cert_sha256[0] = '\0';
	assert_int_equal(rc_store_registration_put(f->s, &ctx, in, &b), RC_OK);
	assert_string_not_equal(b->etag, a->etag);
	assert_int_equal(b->created, a->created);
	assert_string_equal(b->status, "failed");
	assert_null(b->payload);
	assert_string_equal(b->cert_sha256, "");
	assert_int_equal(rc_store_registration_delete(f->s, &ctx, "reg-1"),
	    RC_ESTALE);
	ctx.if_match = b->etag;
	assert_int_equal(rc_store_registration_delete(f->s, &ctx, "reg-1"),
	    RC_OK);
	rc_registration_free(b);
	assert_int_equal(rc_store_registration_get(f->s, "Reg-1", &b),
	    RC_ENOENT);
	/* a malformed thumbprint is refused */
	snprintf(in->cert_sha256, sizeof(in->cert_sha256), "%s", "ABC");
	assert_int_equal(rc_store_registration_put(f->s, &owner, in, &b),
	    RC_EINVAL);
	rc_registration_free(in);
	rc_registration_free(a);
}

static void
test_registration_list_group(void **state)
{
	static const char *const ids[] = {"r1", "R2", "r3", "R4", "r5"};
	static const size_t maxes[] = {1, 2, 100};
	struct fx *f = *state;
	struct rc_registration *r, *out = NULL, **v;
	char *after, *next;
	size_t i, j, n, total;

	for (i = 0; i < 5; i++) {
		r = make_reg(ids[4 - i], i % 2 ? "Group-G" : "group-g");
		assert_int_equal(rc_store_registration_put(f->s, &owner, r,
		                     &out),
		    RC_OK);
		rc_registration_free(out);
		rc_registration_free(r);
	}
	r = make_reg("other", "group-h");
	assert_int_equal(rc_store_registration_put(f->s, &owner, r, &out),
	    RC_OK);
	rc_registration_free(out);
	rc_registration_free(r);
	r = make_reg("alone", NULL);
	assert_int_equal(rc_store_registration_put(f->s, &owner, r, &out),
	    RC_OK);
	rc_registration_free(out);
	rc_registration_free(r);

	for (i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
		after = NULL;
		total = 0;
		do {
			assert_int_equal(rc_store_registration_list_group(f->s,
			                     "GROUP-G", after, maxes[i], &v, &n,
			                     &next),
			    RC_OK);
			for (j = 0; j < n; j++) {
				assert_true(total < 5);
				assert_string_equal(v[j]->registration_id,
				    ids[total++]);
			}
			if (next != NULL)
				assert_int_equal(n, maxes[i]);
			rc_registration_list_free(v, n);
			rc_free(after);
			after = next;
		} while (after != NULL);
		assert_int_equal(total, 5);
	}
	assert_int_equal(rc_store_registration_list_group(f->s, "nobody", NULL,
	                     10, &v, &n, &next),
	    RC_OK);
	assert_int_equal(n, 0);
	assert_null(next);
	rc_registration_list_free(v, n);
}

static struct rc_ca_cert *
make_ca(const char *name, unsigned cert)
{
	struct rc_ca_cert *c;

	c = rc_calloc(1, sizeof(*c));
	assert_non_null(c);
	c->name = rc_strdup(name);
	c->cert = make_cert(cert);
	return c;
}

static void
test_ca_cert(void **state)
{
	struct fx *f = *state;
	struct rc_ca_cert *in, *a = NULL, *b = NULL, **v = NULL;
	struct rc_store_ctx ctx = {"ops", NULL};
	size_t n;

	in = make_ca("Root-CA", 20);
	assert_int_equal(rc_store_ca_cert_put(f->s, &owner, in, &a), RC_OK);
	assert_int_equal(a->verified, 0);
	assert_null(a->verification_code);
	assert_cert_equal(a->cert, in->cert);
	assert_string_equal(a->cert->sha256, sha_upper(20));

	/* the API layer sets a code, then the verified flag, by put */
	in->verification_code = rc_strdup("3A5F9C");
	ctx.if_match = a->etag;
	assert_int_equal(rc_store_ca_cert_put(f->s, &ctx, in, &b), RC_OK);
	assert_string_equal(b->verification_code, "3A5F9C");
	assert_int_equal(b->created, a->created);
	rc_ca_cert_free(b);
	in->verified = 1;
	assert_int_equal(rc_store_ca_cert_put(f->s, &ctx, in, &b), RC_ESTALE);
	assert_null(b);
	rc_ca_cert_free(a);
	assert_int_equal(rc_store_ca_cert_get(f->s, "root-ca", &a), RC_OK);
	ctx.if_match = a->etag;
	assert_int_equal(rc_store_ca_cert_put(f->s, &ctx, in, &b), RC_OK);
	assert_int_equal(b->verified, 1);
	rc_ca_cert_free(b);
	rc_ca_cert_free(a);

	/* another certificate under the name: proof does not carry over */
	rc_store_cert_free(in->cert);
	in->cert = make_cert(21);
	assert_int_equal(rc_store_ca_cert_put(f->s, &owner, in, &a), RC_OK);
	assert_int_equal(a->verified, 0);
	assert_null(a->verification_code);
	assert_string_equal(a->name, "Root-CA");
	rc_ca_cert_free(a);
	rc_ca_cert_free(in);

	in = make_ca("Inter", 22);
	assert_int_equal(rc_store_ca_cert_put(f->s, &owner, in, &a), RC_OK);
	rc_ca_cert_free(a);
	rc_ca_cert_free(in);
	assert_int_equal(rc_store_ca_cert_list(f->s, &v, &n), RC_OK);
	assert_int_equal(n, 2);
	assert_string_equal(v[0]->name, "Inter");
	assert_string_equal(v[1]->name, "Root-CA");
	assert_string_equal(v[1]->cert->sha256, sha_upper(21));
	rc_ca_cert_list_free(v, n);
	ctx.if_match = "\"0000000000000000\"";
	assert_int_equal(rc_store_ca_cert_delete(f->s, &ctx, "ROOT-CA"),
	    RC_ESTALE);
	assert_int_equal(rc_store_ca_cert_delete(f->s, &owner, "ROOT-CA"),
	    RC_OK);
	assert_int_equal(rc_store_ca_cert_get(f->s, "Root-CA", &a), RC_ENOENT);
	assert_int_equal(rc_store_ca_cert_list(f->s, &v, &n), RC_OK);
	assert_int_equal(n, 1);
	rc_ca_cert_list_free(v, n);
}

/* Puts and deletes one record of each kind, as user "ops". */
static void
audit_script(struct rc_store *s, char etags[5][40])
{
	const struct rc_store_ctx ops = {"ops", NULL};
	struct rc_enrollment *e, *out = NULL;
	struct rc_registration *r, *rout = NULL;
	struct rc_ca_cert *c, *cout = NULL;

	e = make_enr(RC_ENROLLMENT_INDIVIDUAL, "Dev-A", 1, 0);
	assert_int_equal(rc_store_enrollment_put(s, &owner, e, &out, NULL),
	    RC_OK);
	memcpy(etags[0], out->etag, 40);
	rc_enrollment_free(out);
	assert_int_equal(put_enr(s, &ops,
	                     make_enr(RC_ENROLLMENT_GROUP, "G", 2, 0), NULL),
	    RC_OK);
	r = make_reg("Dev-A", NULL);
	assert_int_equal(rc_store_registration_put(s, &ops, r, &rout), RC_OK);
	memcpy(etags[1], rout->etag, 40);
	c = make_ca("ca", 3);
	assert_int_equal(rc_store_ca_cert_put(s, &ops, c, &cout), RC_OK);
	memcpy(etags[2], cout->etag, 40);
	e->enabled = 0;
	assert_int_equal(rc_store_enrollment_put(s, &ops, e, &out, NULL),
	    RC_OK);
	memcpy(etags[3], out->etag, 40);
	assert_int_equal(rc_store_enrollment_delete(s, &ops,
	                     RC_ENROLLMENT_INDIVIDUAL, "dev-a"),
	    RC_OK);
	assert_int_equal(rc_store_enrollment_delete(s, &ops,
	                     RC_ENROLLMENT_GROUP, "g"),
	    RC_OK);
	assert_int_equal(rc_store_registration_delete(s, &ops, "DEV-A"), RC_OK);
	assert_int_equal(rc_store_ca_cert_delete(s, &ops, "CA"), RC_OK);
	rc_enrollment_free(e);
	rc_enrollment_free(out);
	rc_registration_free(r);
	rc_registration_free(rout);
	rc_ca_cert_free(c);
	rc_ca_cert_free(cout);
}

static void
test_audit(void **state)
{
	static const char *const actions[] = {"enrollment.put", "group.put",
	    "registration.put", "cacert.put", "enrollment.put",
	    "enrollment.delete", "group.delete", "registration.delete",
	    "cacert.delete"};
	static const char *const objects[] = {"Dev-A", "G", "Dev-A", "ca",
	    "Dev-A", "Dev-A", "G", "Dev-A", "ca"};
	struct fx *f = *state;
	struct rc_audit **v = NULL;
	char etags[5][40], h[65];
	const char *prev = NULL;
	int64_t bad = -1;
	size_t n, i;

	audit_script(f->s, etags);
	assert_int_equal(rc_store_audit_list(f->s, 0, 100, &v, &n), RC_OK);
	assert_int_equal(n, 9);
	for (i = 0; i < n; i++) {
		assert_int_equal(v[i]->seq, (int64_t)i + 1);
		assert_string_equal(v[i]->action, actions[i]);
		assert_string_equal(v[i]->object, objects[i]);
		assert_string_equal(v[i]->who, i == 0 ? "iothubowner" : "ops");
		assert_true(v[i]->time > 0);
		if (i == 0)
			assert_string_equal(v[i]->prev_hash,
			    "00000000000000000000000000000000"
			    "00000000000000000000000000000000");
		else
			assert_string_equal(v[i]->prev_hash, prev);
		assert_int_equal(rc_audit_hash(v[i], h), RC_OK);
		assert_string_equal(h, v[i]->hash);
		/* puts create (no etag before) or replace; deletes leave none */
		if (i < 4)
			assert_string_equal(v[i]->etag_before, "");
		if (i >= 5)
			assert_string_equal(v[i]->etag_after, "");
		else
			assert_int_equal(strlen(v[i]->etag_after), 18);
		prev = v[i]->hash;
	}
	assert_string_equal(v[0]->etag_after, etags[0]);
	assert_string_equal(v[2]->etag_after, etags[1]);
	assert_string_equal(v[3]->etag_after, etags[2]);
	assert_string_equal(v[4]->etag_before, etags[0]);
	assert_string_equal(v[4]->etag_after, etags[3]);
	assert_string_equal(v[5]->etag_before, etags[3]);
	assert_string_equal(v[7]->etag_before, etags[1]);
	assert_string_equal(v[8]->etag_before, etags[2]);
	rc_audit_list_free(v, n);

	assert_int_equal(rc_store_audit_verify(f->s, &bad), RC_OK);
	assert_int_equal(bad, 0);
	assert_int_equal(rc_store_audit_list(f->s, 3, 2, &v, &n), RC_OK);
	assert_int_equal(n, 2);
	assert_int_equal(v[0]->seq, 4);
	assert_int_equal(v[1]->seq, 5);
	rc_audit_list_free(v, n);
	assert_int_equal(rc_store_audit_list(f->s, 9, 2, &v, &n), RC_OK);
	assert_int_equal(n, 0);
	rc_audit_list_free(v, n);
	assert_int_equal(rc_store_audit_list(f->s, 0, 0, &v, &n), RC_EINVAL);
}

/* A vector computed independently (Python hashlib + struct.pack(">Q")). */
static void
test_audit_hash(void **state)
{
	struct rc_audit a, b;
	char h[65], h2[65];

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(a.prev_hash, '0', 64);
	a.seq = 7;
	a.time = 1700000000;
	a.who = "iothubowner";
	a.action = "enrollment.put";
	a.object = "Device-1";
	a.etag_before = "";
	a.etag_after = "\"00112233AABBCCDD\"";
	assert_int_equal(rc_audit_hash(&a, h), RC_OK);
	assert_string_equal(h,
	    "632FE1F97AEBC47D30FE3BC21BECC2A0"
	    "CEBB81F2E4A63E4B5513BDC3453878CE");
	/* a NULL etag hashes as the empty one */
	a.etag_before = NULL;
	assert_int_equal(rc_audit_hash(&a, h2), RC_OK);
	assert_string_equal(h, h2);
	/* moving bytes between fields changes the hash */
	b = a;
	b.who = "iothubownere";
	b.action = "nrollment.put";
	assert_int_equal(rc_audit_hash(&b, h2), RC_OK);
	assert_string_not_equal(h, h2);
	b = a;
	b.seq = 8;
	assert_int_equal(rc_audit_hash(&b, h2), RC_OK);
	assert_string_not_equal(h, h2);
	b.who = NULL;
	assert_int_equal(rc_audit_hash(&b, h2), RC_EINVAL);
	assert_string_equal(h2, "");
}

static void
test_reopen(void **state)
{
	struct fx *f = *state;
	struct rc_enrollment *e = NULL;
	struct rc_registration *r = NULL, *rout = NULL;
	struct rc_ca_cert *c = NULL, *cout = NULL;
	int64_t bad;

	assert_int_equal(put_enr(f->s, &owner,
	                     make_enr(RC_ENROLLMENT_INDIVIDUAL, "Dev", 1, 2),
	                     NULL),
	    RC_OK);
	r = make_reg("Dev", "grp");
	assert_int_equal(rc_store_registration_put(f->s, &owner, r, &rout),
	    RC_OK);
	rc_registration_free(r);
	rc_registration_free(rout);
	c = make_ca("ca", 3);
	assert_int_equal(rc_store_ca_cert_put(f->s, &owner, c, &cout), RC_OK);
	rc_ca_cert_free(c);
	rc_ca_cert_free(cout);
	reopen(f);
	assert_true(rc_store_schema_version(f->s) >= 1);
	assert_int_equal(rc_store_enrollment_get(f->s, RC_ENROLLMENT_INDIVIDUAL,
	                     "dev", &e),
	    RC_OK);
	assert_string_equal(e->certs[1]->sha256, sha_upper(2));
	rc_enrollment_free(e);
	assert_int_equal(rc_store_registration_get(f->s, "dev", &r), RC_OK);
	assert_string_equal(r->enrollment_group_id, "grp");
	rc_registration_free(r);
	assert_int_equal(rc_store_ca_cert_get(f->s, "CA", &c), RC_OK);
	rc_ca_cert_free(c);
	assert_int_equal(audit_count(f->s), 3);
	assert_int_equal(rc_store_audit_verify(f->s, &bad), RC_OK);
}

static void
test_invalid(void **state)
{
	struct fx *f = *state;
	const struct rc_store_ctx nobody = {"", NULL};
	struct rc_enrollment *e, *out = NULL;
	struct rc_registration *r, *rout = NULL;
	struct rc_ca_cert *c, *cout = NULL;
	char *conflict = (char *)"junk";

	e = make_enr(RC_ENROLLMENT_INDIVIDUAL, "dev", 1, 0);
	assert_int_equal(rc_store_enrollment_put(f->s, NULL, e, &out,
	                     &conflict),
	    RC_EINVAL);
	assert_null(conflict); /* cleared on entry */
	assert_int_equal(rc_store_enrollment_put(f->s, &nobody, e, &out, NULL),
	    RC_EINVAL);
	assert_int_equal(rc_store_enrollment_put(f->s, &owner, NULL, &out,
	                     NULL),
	    RC_EINVAL);
	e->certs[0]->sha1[39] = '\0';
	assert_int_equal(put_enr(f->s, &owner, e, NULL), RC_EINVAL);
	e = make_enr(RC_ENROLLMENT_INDIVIDUAL, "dev", 1, 0);
	e->certs[0]->der_len = 0;
	assert_int_equal(put_enr(f->s, &owner, e, NULL), RC_EINVAL);
	e = make_enr(RC_ENROLLMENT_INDIVIDUAL, "", 0, 0);
	assert_int_equal(put_enr(f->s, &owner, e, NULL), RC_EINVAL);
	e = make_enr(RC_ENROLLMENT_GROUP, "g", 0, 0);
	e->device_id = rc_strdup("not for groups");
	assert_int_equal(put_enr(f->s, &owner, e, NULL), RC_EINVAL);
	e = make_enr(RC_ENROLLMENT_INDIVIDUAL, "dev", 0, 0);
	json_decref(e->doc);
	e->doc = json_array();
	assert_int_equal(put_enr(f->s, &owner, e, NULL), RC_EINVAL);
	e = make_enr(RC_ENROLLMENT_INDIVIDUAL, "dev", 0, 0);
	e->kind = (enum rc_enrollment_kind)7;
	assert_int_equal(put_enr(f->s, &owner, e, NULL), RC_EINVAL);
	/* no doc at all is stored as an empty one */
	e = make_enr(RC_ENROLLMENT_INDIVIDUAL, "dev", 0, 0);
	json_decref(e->doc);
	e->doc = NULL;
	assert_int_equal(rc_store_enrollment_put(f->s, &owner, e, &out, NULL),
	    RC_OK);
	assert_true(json_is_object(out->doc));
	rc_enrollment_free(out);
	rc_enrollment_free(e);
	assert_int_equal(rc_store_enrollment_get(f->s, RC_ENROLLMENT_INDIVIDUAL,
	                     "", &out),
	    RC_EINVAL);
	assert_int_equal(rc_store_enrollment_delete(f->s, &owner,
	                     RC_ENROLLMENT_INDIVIDUAL, NULL),
	    RC_EINVAL);

	r = make_reg("", NULL);
	assert_int_equal(rc_store_registration_put(f->s, &owner, r, &rout),
	    RC_EINVAL);
	rc_registration_free(r);
	c = make_ca("ca", 1);
	assert_int_equal(rc_store_ca_cert_put(f->s, &nobody, c, &cout),
	    RC_EINVAL);
	rc_store_cert_free(c->cert);
	c->cert = NULL;
	assert_int_equal(rc_store_ca_cert_put(f->s, &owner, c, &cout),
	    RC_EINVAL);
	rc_ca_cert_free(c);
	assert_null(out);
	assert_null(rout);
	assert_null(cout);
	assert_int_equal(audit_count(f->s), 1);
}

static void
test_open_errors(void **state)
{
	struct rc_store *s = NULL;

	(void)state;
	assert_int_equal(rc_store_open("", &s), RC_EINVAL);
	assert_null(s);
	assert_int_equal(rc_store_open("sqlite:", &s), RC_EINVAL);
	assert_int_equal(rc_store_open("postgresql://db/rollcall", &s),
	    RC_EUNSUPPORTED);
	assert_int_not_equal(rc_store_open(rctest_path(rctest_tmpdir(),
	                                       "no/such/dir/x.db"),
	                         &s),
	    RC_OK);
	assert_null(s);
	rc_store_close(NULL);
}

static void
test_cert_dup(void **state)
{
	struct rc_store_cert *c, *d;

	(void)state;
	c = make_cert(1);
	d = rc_store_cert_dup(c);
	assert_cert_equal(c, d);
	assert_ptr_not_equal(c->der, d->der);
	rc_store_cert_free(c);
	rc_store_cert_free(d);
	assert_null(rc_store_cert_dup(NULL));
	rc_store_cert_free(NULL);
	rc_enrollment_free(NULL);
	rc_enrollment_list_free(NULL, 3);
	rc_registration_free(NULL);
	rc_registration_list_free(NULL, 0);
	rc_ca_cert_free(NULL);
	rc_ca_cert_list_free(NULL, 1);
	rc_audit_free(NULL);
	rc_audit_list_free(NULL, 2);
}

#define NTHREADS 4
#define PER_THREAD 25

struct worker {
	struct rc_store *s;
	int idx;
	int failures;
};

/*
 * Runs without cmocka asserts (they are not thread-safe): counts failures
 * for the main thread to check.
 */
static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct rc_enrollment *e, *out;
	struct rc_enrollment **v;
	char id[32], *next;
	size_t n;
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		snprintf(id, sizeof(id), "t%d-%02d", w->idx, i);
		e = make_enr(RC_ENROLLMENT_INDIVIDUAL, id,
		    100 + w->idx * PER_THREAD + i, 0);
		out = NULL;
		if (rc_store_enrollment_put(w->s, &owner, e, &out, NULL) !=
		    RC_OK)
			w->failures++;
		rc_enrollment_free(out);
		rc_enrollment_free(e);
		if (rc_store_enrollment_list(w->s, RC_ENROLLMENT_INDIVIDUAL,
		        NULL, 5, &v, &n, &next) != RC_OK)
			w->failures++;
		rc_enrollment_list_free(v, n);
		rc_free(next);
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct fx *f = *state;
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS];
	char ids[NTHREADS * PER_THREAD + 1][16];
	int64_t bad;
	int i;

	for (i = 0; i < NTHREADS; i++) {
		w[i].s = f->s;
		w[i].idx = i;
		w[i].failures = 0;
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]),
		    0);
	}
	for (i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}
	assert_int_equal(page_all(f->s, RC_ENROLLMENT_INDIVIDUAL, 7, ids,
	                     NTHREADS * PER_THREAD + 1),
	    NTHREADS * PER_THREAD);
	assert_int_equal(audit_count(f->s), NTHREADS * PER_THREAD);
	assert_int_equal(rc_store_audit_verify(f->s, &bad), RC_OK);
}

struct alloc_arg {
	const char *uri;
	struct rc_store *s;
	struct rc_enrollment *in, *clash;
	struct rc_registration *reg;
	struct rc_ca_cert *ca;
};

/* put + get of an enrollment, and a put that conflicts with it */
static int
enrollment_put_get(void *p)
{
	struct alloc_arg *a = p;
	struct rc_enrollment *out = NULL, *got = NULL;
	char *conflict = NULL;
	int rc;

	rc = rc_store_enrollment_put(a->s, &owner, a->in, &out, NULL);
	if (rc == RC_OK)
		rc =
		    rc_store_enrollment_get(a->s, a->in->kind, a->in->id, &got);
	rc_enrollment_free(got);
	got = NULL;
	if (rc == RC_OK) {
		rc = rc_store_enrollment_put(a->s, &owner, a->clash, &got,
		    &conflict);
		if (rc == RC_EEXIST)
			rc = conflict != NULL ? RC_OK : RC_ENOMEM;
		else if (rc == RC_OK)
			rc = RC_EINVAL;
	}
	rc_enrollment_free(out);
	rc_enrollment_free(got);
	rc_free(conflict);
	return rc;
}

/* the other record kinds, the lists and the audit walk */
static int
other_ops(void *p)
{
	struct alloc_arg *a = p;
	struct rc_enrollment **ev = NULL;
	struct rc_registration *r = NULL, **rv = NULL;
	struct rc_ca_cert *c = NULL, **cv = NULL;
	struct rc_audit **av = NULL;
	char *next = NULL, *rnext = NULL;
	size_t en = 0, rn = 0, cn = 0, an = 0;
	int64_t bad;
	int rc;

	if ((rc = rc_store_enrollment_list(a->s, RC_ENROLLMENT_INDIVIDUAL, NULL,
	         1, &ev, &en, &next)) != RC_OK ||
	    (rc = rc_store_registration_put(a->s, &owner, a->reg, &r)) !=
	        RC_OK ||
	    (rc = rc_store_registration_list_group(a->s, "grp", NULL, 1, &rv,
	         &rn, &rnext)) != RC_OK ||
	    (rc = rc_store_ca_cert_put(a->s, &owner, a->ca, &c)) != RC_OK ||
	    (rc = rc_store_ca_cert_list(a->s, &cv, &cn)) != RC_OK ||
	    (rc = rc_store_audit_list(a->s, 0, 1000, &av, &an)) != RC_OK)
		goto out;
	rc = rc_store_audit_verify(a->s, &bad);
out:
	rc_enrollment_list_free(ev, en);
	rc_registration_free(r);
	rc_registration_list_free(rv, rn);
	rc_ca_cert_free(c);
	rc_ca_cert_list_free(cv, cn);
	rc_audit_list_free(av, an);
	rc_free(next);
	rc_free(rnext);
	return rc;
}

static int
open_close(void *p)
{
	struct alloc_arg *a = p;
	struct rc_store *s = NULL;
	int rc;

	rc = rc_store_open(a->uri, &s);
	rc_store_close(s);
	return rc;
}

/*
 * Fail-Nth over the store's own allocations (SQLite's and jansson's do not
 * go through rc_malloc, so they are not counted): every failure must reach
 * the caller as an error and leave nothing behind.
 */
static void
test_each_alloc(void **state)
{
	struct fx *f = *state;
	struct rc_registration *reg;
	struct alloc_arg a;
	int64_t bad;
	int i;

	memset(&a, 0, sizeof(a));
	a.uri = f->uri;
	a.s = f->s;
	a.in = make_enr(RC_ENROLLMENT_INDIVIDUAL, "dev-x", 1, 2);
	json_object_set_new(a.in->doc, "initialTwin", json_object());
	a.clash = make_enr(RC_ENROLLMENT_GROUP, "grp-y", 2, 0);
	for (i = 0; i < 3; i++) {
		reg = make_reg(i == 0 ? "r0" : i == 1 ? "r1" : "r2", "grp");
		assert_int_equal(rc_store_registration_put(f->s, &owner, reg,
		                     &a.reg),
		    RC_OK);
		rc_registration_free(a.reg);
		rc_registration_free(reg);
	}
	a.reg = make_reg("r1", "grp");
	a.reg->payload = json_pack("{s:s}", "k", "v");
	a.ca = make_ca("ca", 9);
	a.ca->verification_code = rc_strdup("ABCDEF");
	rctest_each_alloc(enrollment_put_get, &a, 1);
	rctest_each_alloc(other_ops, &a, 1);
	rctest_each_alloc(open_close, &a, 1);
	assert_int_equal(rc_store_audit_verify(f->s, &bad), RC_OK);
	rc_enrollment_free(a.in);
	rc_enrollment_free(a.clash);
	rc_registration_free(a.reg);
	rc_ca_cert_free(a.ca);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_enrollment_roundtrip),
	    T(test_group_roundtrip),
	    T(test_case_insensitive),
	    T(test_update_keeps_created),
	    T(test_if_match),
	    T(test_delete),
	    T(test_get_missing),
	    T(test_cert_unique),
	    T(test_cert_moves),
	    T(test_find_cert),
	    T(test_group_find_ca_ref),
	    T(test_list_paging),
	    T(test_registration),
	    T(test_registration_list_group),
	    T(test_ca_cert),
	    T(test_audit),
	    cmocka_unit_test(test_audit_hash),
	    T(test_reopen),
	    T(test_invalid),
	    cmocka_unit_test(test_open_errors),
	    cmocka_unit_test(test_cert_dup),
	    T(test_threads),
	    T(test_each_alloc),
	};
	int rc;

	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rctest_rmtree(rctest_tmpdir());
	return rc;
}
