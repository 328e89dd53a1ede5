/*
 * Hub device authentication (src/hub/auth.h): each rule of the decision,
 * the credential cache kept exact by the writers and its generations, many
 * devices, and readers racing a writer.  Certificates are made at test
 * time (testpki).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "hub/auth.h"
#include "rctest.h"
#include "rollcall/json.h"
#include "rollcall/mem.h"
#include "rollcall/store.h"
#include "rollcall/x509.h"
#include "testpki.h"

static const struct rc_store_ctx owner = {"iothubowner", NULL};
static const struct rc_store_ctx any = {"iothubowner", "*"};

/* The test PKI, made once. */
static struct {
	EVP_PKEY *root_key, *other_key, *sub_key, *leaf_key;
	X509 *root; /* verified CA */
	X509 *other; /* a CA the hub has not verified */
	X509 *sub; /* intermediate under root */
	X509 *ss1, *ss2; /* self-signed device certificates */
	X509 *ca_leaf; /* CN dev-ca, under sub */
	X509 *root_leaf; /* CN dev-ca, under root */
	X509 *wrong_cn; /* CN other, under root */
	X509 *ctl_cn; /* CN with a newline, under root */
	X509 *unverified; /* CN dev-ca, under other */
	X509 *expired, *future; /* self-signed, outside their validity */
	X509 *ca_expired; /* CN dev-ca, under root, expired */
	STACK_OF(X509) *chain; /* [sub] */
} pki;

struct fx {
	char uri[1024];
	struct rc_store *s;
	struct hub_auth_cache *c;
	struct hub_ca_set *cas; /* {root} */
};

static X509 *
leaf_under(const char *cn, X509 *issuer, EVP_PKEY *issuer_key)
{
	struct testpki_opts o = TESTPKI_LEAF(cn, issuer, issuer_key);

	return testpki_cert(pki.leaf_key, &o);
}

static X509 *
self_signed(const char *cn, long nb, long na)
{
	struct testpki_opts o = TESTPKI_LEAF(cn, NULL, NULL);

	o.not_before = nb;
	o.not_after = na;
	return testpki_cert(pki.leaf_key, &o);
}

static int
pki_setup(void **state)
{
	struct testpki_opts o;

	(void)state;
	pki.root_key = testpki_key();
	pki.other_key = testpki_key();
	pki.sub_key = testpki_key();
	pki.leaf_key = testpki_key();
	o = TESTPKI_CA("root");
	pki.root = testpki_cert(pki.root_key, &o);
	o = TESTPKI_CA("other root");
	pki.other = testpki_cert(pki.other_key, &o);
	o = TESTPKI_SUBCA("sub", pki.root, pki.root_key);
	pki.sub = testpki_cert(pki.sub_key, &o);
	pki.ss1 = self_signed("dev-ss", -TESTPKI_HOUR, TESTPKI_HOUR);
	pki.ss2 = self_signed("dev-ss", -TESTPKI_HOUR, 2 * TESTPKI_HOUR);
	pki.ca_leaf = leaf_under("dev-ca", pki.sub, pki.sub_key);
	pki.root_leaf = leaf_under("dev-ca", pki.root, pki.root_key);
	pki.wrong_cn = leaf_under("other", pki.root, pki.root_key);
	pki.ctl_cn = leaf_under("dev\nx", pki.root, pki.root_key);
	pki.unverified = leaf_under("dev-ca", pki.other, pki.other_key);
	pki.expired = self_signed("dev-ss", -2 * TESTPKI_HOUR, -TESTPKI_HOUR);
	pki.future = self_signed("dev-ss", TESTPKI_HOUR, 2 * TESTPKI_HOUR);
	o = TESTPKI_LEAF("dev-ca", pki.root, pki.root_key);
	o.not_before = -2 * TESTPKI_HOUR;
	o.not_after = -TESTPKI_HOUR;
	pki.ca_expired = testpki_cert(pki.leaf_key, &o);
	pki.chain = sk_X509_new_null();
	assert_non_null(pki.chain);
	assert_true(X509_up_ref(pki.sub));
	assert_true(sk_X509_push(pki.chain, pki.sub) > 0);
	return 0;
}

static int
pki_teardown(void **state)
{
	X509 **certs[] = {&pki.root, &pki.other, &pki.sub, &pki.ss1, &pki.ss2,
	    &pki.ca_leaf, &pki.root_leaf, &pki.wrong_cn, &pki.ctl_cn,
	    &pki.unverified, &pki.expired, &pki.future, &pki.ca_expired};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(certs) / sizeof(certs[0]); i++)
		X509_free(*certs[i]);
	sk_X509_pop_free(pki.chain, X509_free);
	EVP_PKEY_free(pki.root_key);
	EVP_PKEY_free(pki.other_key);
	EVP_PKEY_free(pki.sub_key);
	EVP_PKEY_free(pki.leaf_key);
	rctest_rmtree(rctest_tmpdir());
	return 0;
}

static int
setup(void **state)
{
	static int n;
	struct fx *f;

	f = rc_calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->uri, sizeof(f->uri), "sqlite:%s",
	    rctest_path(rctest_tmpdir(), "auth"));
	snprintf(f->uri + strlen(f->uri), sizeof(f->uri) - strlen(f->uri),
	    "-%d.db", ++n);
	assert_int_equal(rc_store_open(f->uri, &f->s), RC_OK);
	assert_int_equal(hub_auth_cache_new("hub1", &f->c), RC_OK);
	assert_int_equal(hub_ca_set_new(&f->cas), RC_OK);
	assert_int_equal(hub_ca_set_add1(f->cas, pki.root), RC_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	hub_ca_set_free(f->cas);
	hub_auth_cache_free(f->c);
	rc_store_close(f->s);
	rc_free(f);
	return 0;
}

/* The thumbprint of x, lower-case when lower is set. */
static const char *
thumb(X509 *x, int sha256, int lower)
{
	static char buf[4][65];
	static int i;
	char *p = buf[i++ % 4];
	size_t j;

	assert_int_equal(rc_x509_thumbprint(x, sha256, p, 65), RC_OK);
	for (j = 0; lower && p[j] != '\0'; j++) {
		if (p[j] >= 'A' && p[j] <= 'F')
			p[j] = (char)(p[j] - 'A' + 'a');
	}
	return p;
}

static struct rc_hub_device *
make_dev(const char *id, enum rc_hub_auth auth, const char *p, const char *s)
{
	struct rc_hub_device *d;

	d = rc_hub_device_new();
	assert_non_null(d);
	d->hub = rc_strdup("hub1");
	d->device_id = rc_strdup(id);
	d->auth = auth;
	snprintf(d->primary_thumb, sizeof(d->primary_thumb), "%s",
	    p != NULL ? p : "");
	snprintf(d->secondary_thumb, sizeof(d->secondary_thumb), "%s",
	    s != NULL ? s : "");
	return d;
}

/* Writes d through the store and the cache (create, or update with u). */
static void
write_dev(struct fx *f, struct rc_hub_device *d, int update)
{
	struct rc_hub_device *out = NULL;

	assert_int_equal(hub_auth_store_put(f->c, f->s, update ? &any : &owner,
	                     d, &out),
	    RC_OK);
	assert_non_null(out);
	rc_hub_device_free(out);
	rc_hub_device_free(d);
}

static char why[512];

static int
check(struct fx *f, const char *id, X509 *leaf, STACK_OF(X509) *chain,
    uint64_t *gen)
{
	uint64_t g = 77;
	int rc;

	rc = hub_auth_check(f->c, id, leaf, chain, f->cas, time(NULL), &g, why,
	    sizeof(why));
	if (rc == RC_OK) {
		assert_true(g != 0);
		assert_string_equal(why, "");
	} else {
		assert_int_equal(g, 0);
		assert_true(why[0] != '\0');
	}
	if (gen != NULL)
		*gen = g;
	return rc;
}

static void
assert_why(const char *part)
{
	if (strstr(why, part) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", why, part);
}

static void
test_basics(void **state)
{
	struct fx *f = *state;
	uint64_t g = 5;

	write_dev(f,
	    make_dev("dev-ss", RC_HUB_AUTH_SELF_SIGNED, thumb(pki.ss1, 1, 0),
	        NULL),
	    0);
	assert_int_equal(check(f, "nobody", pki.ss1, NULL, NULL), RC_EAUTH);
	assert_why("unknown device");
	assert_int_equal(check(f, NULL, pki.ss1, NULL, NULL), RC_EAUTH);
	assert_why("no client ID");
	assert_int_equal(check(f, "", pki.ss1, NULL, NULL), RC_EAUTH);
	assert_int_equal(check(f, "dev-ss", NULL, NULL, NULL), RC_EAUTH);
	assert_why("no client certificate");
	/* device IDs are case-sensitive */
	assert_int_equal(check(f, "DEV-SS", pki.ss1, NULL, NULL), RC_EAUTH);
	assert_int_equal(check(f, "dev-ss", pki.ss1, NULL, NULL), RC_OK);
	/* why may be NULL */
	assert_int_equal(hub_auth_check(f->c, "x", pki.ss1, NULL, NULL,
	                     time(NULL), &g, NULL, 0),
	    RC_EAUTH);
	assert_int_equal(g, 0);
	assert_string_equal(hub_auth_cache_hub(f->c), "hub1");
	assert_int_equal(hub_auth_cache_count(f->c), 1);
}

static void
test_self_signed(void **state)
{
	struct fx *f = *state;
	struct rc_hub_device *d;

	/* SHA-256 in the primary, SHA-1 in the secondary */
	write_dev(f,
	    make_dev("a", RC_HUB_AUTH_SELF_SIGNED, thumb(pki.ss1, 1, 1), NULL),
	    0);
	write_dev(f,
	    make_dev("b", RC_HUB_AUTH_SELF_SIGNED, NULL, thumb(pki.ss2, 0, 0)),
	    0);
	assert_int_equal(check(f, "a", pki.ss1, NULL, NULL), RC_OK);
	assert_int_equal(check(f, "b", pki.ss2, NULL, NULL), RC_OK);
	assert_int_equal(check(f, "a", pki.ss2, NULL, NULL), RC_EAUTH);
	assert_why("thumbprint does not match");
	assert_why(thumb(pki.ss2, 0, 0));
	assert_why(thumb(pki.ss2, 1, 0));
	assert_why(thumb(pki.ss1, 1, 0));
	assert_why("SecondaryThumbprint=(none)");
	/* another device's certificate under one's own ID */
	assert_int_equal(check(f, "b", pki.ss1, NULL, NULL), RC_EAUTH);
	/* a chain does not matter for selfSigned */
	assert_int_equal(check(f, "a", pki.ss1, pki.chain, NULL), RC_OK);

	/* lower-case thumbprints straight into the cache match too */
	d = make_dev("c", RC_HUB_AUTH_SELF_SIGNED, thumb(pki.ss2, 1, 1),
	    thumb(pki.ss1, 0, 1));
	assert_int_equal(hub_auth_cache_put(f->c, d), RC_OK);
	rc_hub_device_free(d);
	assert_int_equal(check(f, "c", pki.ss1, NULL, NULL), RC_OK);
	assert_int_equal(check(f, "c", pki.ss2, NULL, NULL), RC_OK);
	/* a selfSigned entry without thumbprints refuses */
	d = make_dev("d", RC_HUB_AUTH_SELF_SIGNED, NULL, NULL);
	assert_int_equal(hub_auth_cache_put(f->c, d), RC_OK);
	rc_hub_device_free(d);
	assert_int_equal(check(f, "d", pki.ss1, NULL, NULL), RC_EAUTH);
	assert_why("no thumbprint");
	/* a malformed one is refused by the cache */
	d = make_dev("e", RC_HUB_AUTH_SELF_SIGNED, "abc", NULL);
	assert_int_equal(hub_auth_cache_put(f->c, d), RC_EINVAL);
	snprintf(d->primary_thumb, sizeof(d->primary_thumb), "%s",
	    "0a1b2c3d4e5f60718293a4b5c6d7e8f90123456g");
	assert_int_equal(hub_auth_cache_put(f->c, d), RC_EINVAL);
	rc_hub_device_free(d);
	assert_int_equal(check(f, "e", pki.ss1, NULL, NULL), RC_EAUTH);
	assert_why("unknown device");
}

/* Seed rules S8 and S9: a roll through the free slot, then a removal. */
static void
test_roll(void **state)
{
	struct fx *f = *state;
	uint64_t g1, g2, g3;

	write_dev(f,
	    make_dev("dev", RC_HUB_AUTH_SELF_SIGNED, thumb(pki.ss1, 1, 0),
	        NULL),
	    0);
	assert_int_equal(check(f, "dev", pki.ss1, NULL, &g1), RC_OK);
	assert_int_equal(check(f, "dev", pki.ss2, NULL, NULL), RC_EAUTH);
	/* the new certificate goes into the secondary: both work */
	write_dev(f,
	    make_dev("dev", RC_HUB_AUTH_SELF_SIGNED, thumb(pki.ss1, 1, 0),
	        thumb(pki.ss2, 1, 0)),
	    1);
	assert_int_equal(check(f, "dev", pki.ss2, NULL, &g2), RC_OK);
	/* the credentials changed: a live session checks again, and the
	 * old certificate still passes */
	assert_true(g2 != g1);
	assert_false(hub_auth_still_valid(f->c, "dev", g1));
	assert_int_equal(check(f, "dev", pki.ss1, NULL, &g3), RC_OK);
	assert_int_equal(g3, g2);
	assert_true(hub_auth_still_valid(f->c, "dev", g2));
	/* the old one removed at once (breach roll): refused */
	write_dev(f,
	    make_dev("dev", RC_HUB_AUTH_SELF_SIGNED, NULL,
	        thumb(pki.ss2, 1, 0)),
	    1);
	assert_false(hub_auth_still_valid(f->c, "dev", g2));
	assert_int_equal(check(f, "dev", pki.ss1, NULL, NULL), RC_EAUTH);
	assert_int_equal(check(f, "dev", pki.ss2, NULL, NULL), RC_OK);
}

static void
test_disabled(void **state)
{
	struct fx *f = *state;
	struct rc_hub_device *d;
	uint64_t g1, g2;

	write_dev(f,
	    make_dev("dev", RC_HUB_AUTH_SELF_SIGNED, thumb(pki.ss1, 1, 0),
	        NULL),
	    0);
	assert_int_equal(check(f, "dev", pki.ss1, NULL, &g1), RC_OK);
	d = make_dev("dev", RC_HUB_AUTH_SELF_SIGNED, thumb(pki.ss1, 1, 0),
	    NULL);
	d->enabled = 0;
	write_dev(f, d, 1);
	assert_false(hub_auth_still_valid(f->c, "dev", g1));
	assert_int_equal(check(f, "dev", pki.ss1, NULL, NULL), RC_EAUTH);
	assert_why("device disabled");
	write_dev(f,
	    make_dev("dev", RC_HUB_AUTH_SELF_SIGNED, thumb(pki.ss1, 1, 0),
	        NULL),
	    1);
	assert_int_equal(check(f, "dev", pki.ss1, NULL, &g2), RC_OK);
	assert_true(g2 != g1);
}

static void
test_ca_signed(void **state)
{
	struct fx *f = *state;
	struct hub_ca_set *sub_only;
	uint64_t g = 1;

	write_dev(f, make_dev("dev-ca", RC_HUB_AUTH_CA, NULL, NULL), 0);
	write_dev(f, make_dev("other", RC_HUB_AUTH_CA, NULL, NULL), 0);
	/* leaf + presented intermediate to the verified root */
	assert_int_equal(check(f, "dev-ca", pki.ca_leaf, pki.chain, NULL),
	    RC_OK);
	assert_int_equal(check(f, "dev-ca", pki.root_leaf, NULL, NULL), RC_OK);
	/* the intermediate missing */
	assert_int_equal(check(f, "dev-ca", pki.ca_leaf, NULL, NULL), RC_EAUTH);
	assert_why("chain does not verify");
	/* the CN must be the device ID, whatever signed it */
	assert_int_equal(check(f, "dev-ca", pki.wrong_cn, NULL, NULL),
	    RC_EAUTH);
	assert_why("CN \"other\" is not the device ID");
	assert_int_equal(check(f, "other", pki.wrong_cn, NULL, NULL), RC_OK);
	assert_int_equal(check(f, "other", pki.root_leaf, NULL, NULL),
	    RC_EAUTH);
	/* a CA the hub has not verified */
	assert_int_equal(check(f, "dev-ca", pki.unverified, NULL, NULL),
	    RC_EAUTH);
	assert_why("chain does not verify");
	/* no verified CA at all */
	assert_int_equal(hub_auth_check(f->c, "dev-ca", pki.root_leaf, NULL,
	                     NULL, time(NULL), &g, why, sizeof(why)),
	    RC_EAUTH);
	assert_why("no verified CA");
	/* a verified intermediate ends the chain (partial chain) */
	assert_int_equal(hub_ca_set_new(&sub_only), RC_OK);
	assert_int_equal(hub_ca_set_add1(sub_only, pki.sub), RC_OK);
	assert_int_equal(hub_ca_set_add1(sub_only, NULL), RC_EINVAL);
	assert_int_equal(hub_ca_set_count(sub_only), 1);
	assert_int_equal(hub_auth_check(f->c, "dev-ca", pki.ca_leaf, NULL,
	                     sub_only, time(NULL), &g, why, sizeof(why)),
	    RC_OK);
	assert_int_equal(hub_auth_check(f->c, "dev-ca", pki.root_leaf, NULL,
	                     sub_only, time(NULL), &g, why, sizeof(why)),
	    RC_EAUTH);
	hub_ca_set_free(sub_only);
	/* a self-signed certificate with the right thumbprint is no use to a
	 * certificateAuthority device */
	assert_int_equal(check(f, "dev-ca", pki.ss1, NULL, NULL), RC_EAUTH);
}

static void
test_ctl_cn(void **state)
{
	struct fx *f = *state;

	write_dev(f, make_dev("dev-ca", RC_HUB_AUTH_CA, NULL, NULL), 0);
	assert_int_equal(check(f, "dev-ca", pki.ctl_cn, NULL, NULL), RC_EAUTH);
	/* the peer's CN reaches the log without its control characters */
	assert_null(strchr(why, '\n'));
	assert_why("dev?x");
}

static void
test_validity(void **state)
{
	struct fx *f = *state;

	write_dev(f,
	    make_dev("old", RC_HUB_AUTH_SELF_SIGNED, thumb(pki.expired, 1, 0),
	        thumb(pki.future, 0, 0)),
	    0);
	write_dev(f, make_dev("dev-ca", RC_HUB_AUTH_CA, NULL, NULL), 0);
	assert_int_equal(check(f, "old", pki.expired, NULL, NULL), RC_EAUTH);
	assert_why("expired");
	assert_int_equal(check(f, "old", pki.future, NULL, NULL), RC_EAUTH);
	assert_why("not yet valid");
	assert_int_equal(check(f, "dev-ca", pki.ca_expired, NULL, NULL),
	    RC_EAUTH);
	assert_why("expired");
	/* at a time inside their validity, both pass */
	assert_int_equal(hub_auth_check(f->c, "old", pki.future, NULL, NULL,
	                     time(NULL) + TESTPKI_HOUR + 60, &(uint64_t){0},
	                     why, sizeof(why)),
	    RC_OK);
	assert_int_equal(hub_auth_check(f->c, "old", pki.expired, NULL, NULL,
	                     time(NULL) - TESTPKI_HOUR - 60, &(uint64_t){0},
	                     why, sizeof(why)),
	    RC_OK);
}

static void
test_no_credentials(void **state)
{
	struct fx *f = *state;

	write_dev(f, make_dev("none", RC_HUB_AUTH_NONE, NULL, NULL), 0);
	assert_int_equal(check(f, "none", pki.ss1, NULL, NULL), RC_EAUTH);
	assert_why("no X.509 credentials");
}

static void
test_generations(void **state)
{
	struct fx *f = *state;
	struct rc_hub_device *d;
	uint64_t g1, g2, g3, g4;

	write_dev(f,
	    make_dev("dev", RC_HUB_AUTH_SELF_SIGNED, thumb(pki.ss1, 1, 0),
	        NULL),
	    0);
	write_dev(f,
	    make_dev("dev2", RC_HUB_AUTH_SELF_SIGNED, thumb(pki.ss2, 1, 0),
	        NULL),
	    0);
	assert_int_equal(check(f, "dev", pki.ss1, NULL, &g1), RC_OK);
	/* a change that does not touch the credentials keeps the generation */
	d = make_dev("dev", RC_HUB_AUTH_SELF_SIGNED, thumb(pki.ss1, 1, 1),
	    NULL);
	d->status_reason = rc_strdup("renamed");
	d->capabilities_iot_edge = 1;
	write_dev(f, d, 1);
	assert_true(hub_auth_still_valid(f->c, "dev", g1));
	assert_false(hub_auth_still_valid(f->c, "dev", g1 + 1000));
	assert_false(hub_auth_still_valid(f->c, "dev", 0));
	assert_false(hub_auth_still_valid(f->c, NULL, g1));
	assert_false(hub_auth_still_valid(f->c, "nobody", g1));
	/* deleted: gone at once */
	assert_int_equal(hub_auth_store_delete(f->c, f->s, &any, "dev"), RC_OK);
	assert_false(hub_auth_still_valid(f->c, "dev", g1));
	assert_int_equal(check(f, "dev", pki.ss1, NULL, NULL), RC_EAUTH);
	assert_why("unknown device");
	assert_int_equal(hub_auth_store_delete(f->c, f->s, &any, "dev"),
	    RC_ENOENT);
	/* created again: a generation never seen before */
	write_dev(f,
	    make_dev("dev", RC_HUB_AUTH_SELF_SIGNED, thumb(pki.ss1, 1, 0),
	        NULL),
	    0);
	assert_int_equal(check(f, "dev", pki.ss1, NULL, &g2), RC_OK);
	assert_true(g2 != g1);
	assert_false(hub_auth_still_valid(f->c, "dev", g1));
	/* the CA set changed: everyone checks again */
	assert_int_equal(check(f, "dev2", pki.ss2, NULL, &g3), RC_OK);
	hub_auth_cache_invalidate_all(f->c);
	assert_false(hub_auth_still_valid(f->c, "dev", g2));
	assert_false(hub_auth_still_valid(f->c, "dev2", g3));
	assert_int_equal(check(f, "dev2", pki.ss2, NULL, &g4), RC_OK);
	assert_true(g4 != g3);
	/* a delete straight on the cache */
	hub_auth_cache_delete(f->c, "dev2");
	hub_auth_cache_delete(f->c, "dev2");
	hub_auth_cache_delete(f->c, NULL);
	assert_false(hub_auth_still_valid(f->c, "dev2", g4));
	assert_int_equal(hub_auth_cache_count(f->c), 1);
}

/* The writers leave the cache as the store is, also when they fail. */
static void
test_writers(void **state)
{
	struct fx *f = *state;
	struct rc_store_ctx stale = {"service", "\"0000000000000000\""};
	struct rc_hub_device *d, *out = NULL;
	struct hub_auth_cache *fresh;

	write_dev(f,
	    make_dev("dev", RC_HUB_AUTH_SELF_SIGNED, thumb(pki.ss1, 1, 0),
	        NULL),
	    0);
	/* 409: the cache keeps the stored credentials */
	d = make_dev("dev", RC_HUB_AUTH_SELF_SIGNED, thumb(pki.ss2, 1, 0),
	    NULL);
	assert_int_equal(hub_auth_store_put(f->c, f->s, &owner, d, &out),
	    RC_EEXIST);
	assert_null(out);
	assert_int_equal(check(f, "dev", pki.ss1, NULL, NULL), RC_OK);
	assert_int_equal(check(f, "dev", pki.ss2, NULL, NULL), RC_EAUTH);
	/* 412, the same */
	assert_int_equal(hub_auth_store_put(f->c, f->s, &stale, d, &out),
	    RC_ESTALE);
	assert_int_equal(hub_auth_store_delete(f->c, f->s, &stale, "dev"),
	    RC_ESTALE);
	assert_int_equal(check(f, "dev", pki.ss1, NULL, NULL), RC_OK);
	/* a device of another hub does not belong in this cache */
	rc_free(d->hub);
	d->hub = rc_strdup("hub2");
	assert_int_equal(hub_auth_store_put(f->c, f->s, &owner, d, &out),
	    RC_EINVAL);
	assert_int_equal(hub_auth_cache_put(f->c, d), RC_EINVAL);
	assert_int_equal(hub_auth_cache_put(f->c, NULL), RC_EINVAL);
	/* the hub name is a host name: any case is this hub */
	rc_free(d->hub);
	d->hub = rc_strdup("HUB1");
	rc_free(d->device_id);
	d->device_id = rc_strdup("dev2");
	assert_int_equal(hub_auth_store_put(f->c, f->s, &owner, d, &out),
	    RC_OK);
	rc_hub_device_free(out);
	rc_hub_device_free(d);
	assert_int_equal(check(f, "dev2", pki.ss2, NULL, NULL), RC_OK);

	/* a cache loaded from the store at start knows the same */
	write_dev(f, make_dev("dev-ca", RC_HUB_AUTH_CA, NULL, NULL), 0);
	assert_int_equal(hub_auth_cache_new("Hub1", &fresh), RC_OK);
	assert_int_equal(hub_auth_cache_load(fresh, f->s), RC_OK);
	assert_int_equal(hub_auth_cache_count(fresh), 3);
	assert_int_equal(hub_auth_check(fresh, "dev", pki.ss1, NULL, NULL,
	                     time(NULL), &(uint64_t){0}, why, sizeof(why)),
	    RC_OK);
	assert_int_equal(hub_auth_check(fresh, "dev-ca", pki.ca_leaf, pki.chain,
	                     f->cas, time(NULL), &(uint64_t){0}, why,
	                     sizeof(why)),
	    RC_OK);
	hub_auth_cache_free(fresh);
	assert_int_equal(hub_auth_cache_new("", &fresh), RC_EINVAL);
	assert_null(fresh);
}

/* A struct rc_store_cert of x, as the DPS API stores one. */
static struct rc_store_cert *
store_cert(X509 *x)
{
	struct rc_store_cert *c;
	struct rc_cert_info info;

	c = rc_calloc(1, sizeof(*c));
	assert_non_null(c);
	c->der = testpki_der(x, &c->der_len);
	assert_int_equal(rc_x509_info(x, &info), RC_OK);
	memcpy(c->sha1, info.sha1, sizeof(c->sha1));
	memcpy(c->sha256, info.sha256, sizeof(c->sha256));
	c->subject = rc_strdup(info.subject);
	c->issuer = rc_strdup(info.issuer);
	c->serial = rc_strdup(info.serial);
	c->not_before = info.not_before_t;
	c->not_after = info.not_after_t;
	c->version = info.version;
	rc_x509_info_clear(&info);
	return c;
}

static void
put_ca(struct rc_store *s, const char *name, X509 *x, int verified)
{
	struct rc_ca_cert in, *out = NULL;

	memset(&in, 0, sizeof(in));
	in.name = (char *)name;
	in.cert = store_cert(x);
	in.verified = verified;
	assert_int_equal(rc_store_ca_cert_put(s, &owner, &in, &out), RC_OK);
	rc_ca_cert_free(out);
	rc_store_cert_free(in.cert);
}

static void
test_ca_set_load(void **state)
{
	struct fx *f = *state;
	struct hub_ca_set *set = NULL;

	assert_int_equal(hub_ca_set_load(f->s, &set), RC_OK);
	assert_int_equal(hub_ca_set_count(set), 0);
	hub_ca_set_free(set);
	put_ca(f->s, "root", pki.root, 1);
	put_ca(f->s, "other", pki.other, 0);
	assert_int_equal(hub_ca_set_load(f->s, &set), RC_OK);
	assert_int_equal(hub_ca_set_count(set), 1);
	write_dev(f, make_dev("dev-ca", RC_HUB_AUTH_CA, NULL, NULL), 0);
	assert_int_equal(hub_auth_check(f->c, "dev-ca", pki.ca_leaf, pki.chain,
	                     set, time(NULL), &(uint64_t){0}, why, sizeof(why)),
	    RC_OK);
	assert_int_equal(hub_auth_check(f->c, "dev-ca", pki.unverified, NULL,
	                     set, time(NULL), &(uint64_t){0}, why, sizeof(why)),
	    RC_EAUTH);
	hub_ca_set_free(set);
	hub_ca_set_free(NULL);
	assert_int_equal(hub_ca_set_count(NULL), 0);
}

#define MANY 100000

static void
many_id(char *buf, size_t len, int i)
{
	snprintf(buf, len, "d%06d", i);
}

/*
 * Whether the cache holds the device: the devices of test_many are
 * disabled, so a lookup answers without any certificate work.
 */
static int
held(struct fx *f, const char *id)
{
	uint64_t g;

	if (hub_auth_check(f->c, id, pki.ss1, NULL, NULL, time(NULL), &g, why,
	        sizeof(why)) != RC_EAUTH)
		fail_msg("%s: admitted", id);
	if (strcmp(why, "device disabled") == 0)
		return 1;
	if (strcmp(why, "unknown device") == 0)
		return 0;
	fail_msg("%s: %s", id, why);
	return -1;
}

static void
put_many(struct fx *f, struct rc_hub_device *d, int first, int step)
{
	char id[16];
	int i;

	for (i = first; i < MANY; i += step) {
		many_id(id, sizeof(id), i);
		rc_free(d->device_id);
		d->device_id = rc_strdup(id);
		assert_int_equal(hub_auth_cache_put(f->c, d), RC_OK);
	}
}

/*
 * Many devices, put straight into the cache: every one is found, deletes
 * in the middle of probe runs lose no one, and re-adding works.
 */
static void
test_many(void **state)
{
	struct fx *f = *state;
	struct rc_hub_device *d;
	char id[16];
	int i;

	d = make_dev("x", RC_HUB_AUTH_SELF_SIGNED, thumb(pki.ss1, 1, 0), NULL);
	d->enabled = 0;
	put_many(f, d, 0, 1);
	assert_int_equal(hub_auth_cache_count(f->c), MANY);
	for (i = 0; i < MANY; i++) {
		many_id(id, sizeof(id), i);
		if (!held(f, id))
			fail_msg("%s: lost", id);
	}
	for (i = 0; i < MANY; i += 2) {
		many_id(id, sizeof(id), i);
		hub_auth_cache_delete(f->c, id);
	}
	assert_int_equal(hub_auth_cache_count(f->c), MANY / 2);
	for (i = 0; i < MANY; i++) {
		many_id(id, sizeof(id), i);
		if (held(f, id) != i % 2)
			fail_msg("%s: wrong after deletes", id);
	}
	/* back, enabled this time */
	d->enabled = 1;
	put_many(f, d, 0, 2);
	assert_int_equal(hub_auth_cache_count(f->c), MANY);
	assert_int_equal(check(f, "d000000", pki.ss1, NULL, NULL), RC_OK);
	assert_int_equal(check(f, "d099998", pki.ss1, NULL, NULL), RC_OK);
	assert_int_equal(check(f, "d099999", pki.ss1, NULL, NULL), RC_EAUTH);
	assert_int_equal(check(f, "d100000", pki.ss1, NULL, NULL), RC_EAUTH);
	assert_why("unknown device");
	rc_hub_device_free(d);
}

#define NREADERS 4
#define NSTABLE 200
#define NCHURN 50
#define ROUNDS 300

struct race {
	struct hub_auth_cache *c;
	struct hub_ca_set *cas;
	volatile int *stop;
	int failures;
	int checks;
};

/*
 * A stable device as a session sees it: admitted, and when its generation
 * moved (invalidate_all), admitted again on the check that follows.
 */
static int
stable_ok(struct race *r, const char *id)
{
	uint64_t g;

	if (hub_auth_check(r->c, id, pki.ss1, NULL, r->cas, time(NULL), &g,
	        NULL, 0) != RC_OK)
		return 0;
	if (hub_auth_still_valid(r->c, id, g))
		return 1;
	return hub_auth_check(r->c, id, pki.ss1, NULL, r->cas, time(NULL), &g,
	           NULL, 0) == RC_OK;
}

/* Off the main thread: no cmocka asserts, count failures instead. */
static void *
reader(void *arg)
{
	struct race *r = arg;
	uint64_t g;
	char id[16];
	int i = 0, rc;

	while (!*r->stop) {
		snprintf(id, sizeof(id), "s%03d", i % NSTABLE);
		if (!stable_ok(r, id))
			r->failures++;
		snprintf(id, sizeof(id), "c%03d", i % NCHURN);
		rc = hub_auth_check(r->c, id, pki.ss1, NULL, r->cas, time(NULL),
		    &g, NULL, 0);
		if (rc != RC_OK && rc != RC_EAUTH)
			r->failures++;
		(void)hub_auth_still_valid(r->c, id, g);
		i++;
		r->checks++;
	}
	return NULL;
}

static void
churn(struct hub_auth_cache *c, struct rc_hub_device *d, int round)
{
	char id[16];
	int i;

	for (i = 0; i < NCHURN; i++) {
		snprintf(id, sizeof(id), "c%03d", i);
		if ((i + round) % 3 == 0) {
			hub_auth_cache_delete(c, id);
			continue;
		}
		rc_free(d->device_id);
		d->device_id = rc_strdup(id);
		d->enabled = (i + round) % 3 == 1;
		snprintf(d->secondary_thumb, sizeof(d->secondary_thumb), "%s",
		    round % 2 ? thumb(pki.ss2, 1, 0) : "");
		assert_int_equal(hub_auth_cache_put(c, d), RC_OK);
	}
	if (round % 50 == 0)
		hub_auth_cache_invalidate_all(c);
}

/*
 * Readers check stable devices (always admitted) and churned ones (any
 * answer, no crash) while a writer deletes, re-adds, disables and
 * re-keys; ASan watches the memory.
 */
static void
test_threads(void **state)
{
	struct fx *f = *state;
	struct race r[NREADERS];
	struct rc_hub_device *d;
	pthread_t t[NREADERS];
	volatile int stop = 0;
	char id[16];
	int i;

	d = make_dev("x", RC_HUB_AUTH_SELF_SIGNED, thumb(pki.ss1, 1, 0), NULL);
	for (i = 0; i < NSTABLE; i++) {
		snprintf(id, sizeof(id), "s%03d", i);
		rc_free(d->device_id);
		d->device_id = rc_strdup(id);
		assert_int_equal(hub_auth_cache_put(f->c, d), RC_OK);
	}
	memset(r, 0, sizeof(r));
	for (i = 0; i < NREADERS; i++) {
		r[i].c = f->c;
		r[i].cas = f->cas;
		r[i].stop = &stop;
		assert_int_equal(pthread_create(&t[i], NULL, reader, &r[i]), 0);
	}
	for (i = 0; i < ROUNDS; i++)
		churn(f->c, d, i);
	stop = 1;
	for (i = 0; i < NREADERS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	rc_hub_device_free(d);
	for (i = 0; i < NREADERS; i++) {
		assert_int_equal(r[i].failures, 0);
		assert_true(r[i].checks > 0);
	}
}

struct alloc_arg {
	struct rc_store *s;
	int n;
};

static int
auth_once(void *p)
{
	struct alloc_arg *a = p;
	struct hub_auth_cache *c = NULL;
	struct rc_hub_device *d = NULL, *out = NULL;
	struct hub_ca_set *cas = NULL;
	char id[16];
	uint64_t g;
	int rc;

	snprintf(id, sizeof(id), "dev-%d", a->n++);
	if ((rc = hub_auth_cache_new("hub1", &c)) != RC_OK ||
	    (rc = hub_auth_cache_load(c, a->s)) != RC_OK ||
	    (rc = hub_ca_set_load(a->s, &cas)) != RC_OK)
		goto out;
	if ((d = rc_hub_device_new()) == NULL ||
	    (d->hub = rc_strdup("hub1")) == NULL ||
	    (d->device_id = rc_strdup(id)) == NULL) {
		rc = RC_ENOMEM;
		goto out;
	}
	d->auth = RC_HUB_AUTH_SELF_SIGNED;
	if ((rc = rc_x509_thumbprint(pki.ss1, 1, d->primary_thumb,
	         sizeof(d->primary_thumb))) != RC_OK ||
	    (rc = hub_auth_store_put(c, a->s, &owner, d, &out)) != RC_OK ||
	    (rc = hub_auth_check(c, id, pki.ss1, NULL, cas, time(NULL), &g, why,
	         sizeof(why))) != RC_OK)
		goto out;
	rc = hub_auth_store_delete(c, a->s, &owner, id);
out:
	rc_hub_device_free(d);
	rc_hub_device_free(out);
	hub_ca_set_free(cas);
	hub_auth_cache_free(c);
	return rc;
}

static void
test_each_alloc(void **state)
{
	struct fx *f = *state;
	struct alloc_arg a = {f->s, 0};

	write_dev(f, make_dev("dev-ca", RC_HUB_AUTH_CA, NULL, NULL), 0);
	put_ca(f->s, "root", pki.root, 1);
	rctest_each_alloc(auth_once, &a, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_basics),
	    T(test_self_signed),
	    T(test_roll),
	    T(test_disabled),
	    T(test_ca_signed),
	    T(test_ctl_cn),
	    T(test_validity),
	    T(test_no_credentials),
	    T(test_generations),
	    T(test_writers),
	    T(test_ca_set_load),
	    T(test_many),
	    T(test_threads),
	    T(test_each_alloc),
	};

	if (!rc_mem_hook_openssl())
		return 1;
	rc_json_init();
	return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
