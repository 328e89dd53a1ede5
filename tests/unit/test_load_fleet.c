/*
 * Unit tests for rollcall-load's fleet file (src/load/pki.c): made by a
 * CA directory, saved, read back whole or from --first, and refused when
 * its header or blocks are broken.
 */
#include <string.h>

#include <openssl/x509.h>

#include "load.h"
#include "rctest.h"
#include "rollcall/ca.h"
#include "rollcall/csr.h"
#include "rollcall/mem.h"

static const char *
make_ca(const char *dir, const char *name)
{
	struct rc_ca *ca = NULL;
	const char *path = rctest_path(dir, name);

	assert_int_equal(rc_ca_new_root("Load test fleet", RC_KEY_P256, 2, &ca),
	    RC_OK);
	assert_int_equal(rc_ca_save(ca, path, 1), RC_OK);
	rc_ca_free(ca);
	return path;
}

static void
roundtrip(int shared)
{
	const char *dir = rctest_tmpdir();
	const char *ca = make_ca(dir, shared ? "ca-shared" : "ca-own");
	const char *file = rctest_path(dir, shared ? "shared.pem" : "own.pem");
	struct load_fleet f, g;
	size_t i;

	assert_int_equal(load_fleet_make(ca, "t-", 5, shared, &f), RC_OK);
	assert_int_equal(f.n, 5);
	assert_string_equal(f.dev[4].id, "t-4");
	assert_int_equal(f.shared != NULL, shared);
	assert_int_equal(load_fleet_save(&f, file), RC_OK);
	/* Devices 2..4 only: the first two are skipped undecoded. */
	assert_int_equal(load_fleet_load(file, 2, 3, &g), RC_OK);
	assert_int_equal(g.n, 3);
	for (i = 0; i < 3; i++) {
		assert_string_equal(g.dev[i].id, f.dev[i + 2].id);
		assert_int_equal(X509_cmp(g.dev[i].cert, f.dev[i + 2].cert), 0);
		assert_int_equal(X509_check_private_key(g.dev[i].cert,
		                     g.dev[i].key),
		    1);
	}
	load_fleet_clear(&g);
	assert_int_equal(load_fleet_load(file, 3, 3, &g), RC_ERANGE);
	assert_null(g.dev);
	load_fleet_clear(&f);
}

static void
test_fleet_per_device(void **state)
{
	(void)state;
	roundtrip(0);
}

static void
test_fleet_shared(void **state)
{
	(void)state;
	roundtrip(1);
}

static void
expect_refused(const char *text, int want)
{
	const char *dir = rctest_tmpdir();
	const char *file = rctest_path(dir, "bad.pem");
	struct load_fleet g;

	rctest_write_file(file, text, strlen(text));
	assert_int_equal(load_fleet_load(file, 0, 1, &g), want);
	assert_null(g.dev);
}

static void
test_fleet_malformed(void **state)
{
	struct load_fleet g;

	(void)state;
	assert_int_equal(load_fleet_load("/nonexistent/fleet.pem", 0, 1, &g),
	    RC_ENOENT);
	expect_refused("", RC_EPARSE);
	expect_refused("not a fleet\n", RC_EPARSE);
	expect_refused("rollcall-load fleet 1 0\n", RC_EPARSE);
	expect_refused("rollcall-load fleet x 0 d-0\n", RC_EPARSE);
	expect_refused("rollcall-load fleet 1 2 d-0\n", RC_EPARSE);
	expect_refused("rollcall-load fleet 1 0 d-1\n", RC_EPARSE);
	expect_refused("rollcall-load fleet 1000001 0 d-0\n", RC_EPARSE);
	/* A good header, then nothing or garbage where blocks belong. */
	expect_refused("rollcall-load fleet 1 0 d-0\n", RC_EPARSE);
	expect_refused("rollcall-load fleet 1 1 d-0\n-----BEGIN PRIVATE "
	               "KEY-----"
	               "\nAAAA\n-----END PRIVATE KEY-----\n",
	    RC_EPARSE);
	expect_refused("rollcall-load fleet 0 0 d-0\n", RC_ERANGE);
}

static void
test_csr(void **state)
{
	const char *dir = rctest_tmpdir(), *ca = make_ca(dir, "ca-csr");
	struct load_fleet f;
	char *b64 = NULL, thumb[65];

	(void)state;
	assert_int_equal(load_fleet_make(ca, "c-", 1, 0, &f), RC_OK);
	assert_int_equal(load_csr_b64("c-0", f.dev[0].key, &b64), RC_OK);
	assert_true(strlen(b64) > 100);
	assert_int_equal(load_thumbprint(f.dev[0].cert, thumb), RC_OK);
	assert_int_equal(strlen(thumb), 64);
	rc_free(b64);
	load_fleet_clear(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fleet_per_device),
	    cmocka_unit_test(test_fleet_shared),
	    cmocka_unit_test(test_fleet_malformed),
	    cmocka_unit_test(test_csr),
	};

	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	rctest_rmtree(rctest_tmpdir());
	return rc;
}
