/* Unit tests for base64, hex and number parsing (enc.h). */
#include <limits.h>
#include <string.h>

#include "rctest.h"
#include "rollcall/enc.h"
#include "rollcall/mem.h"

static void
expect_b64(const char *in, const char *want, size_t wantlen)
{
	uint8_t *out;
	size_t n;

	assert_int_equal(rc_b64_decode(in, strlen(in), 1024, &out, &n), RC_OK);
	assert_int_equal(n, wantlen);
	assert_memory_equal(out, want, wantlen);
	rc_free(out);
}

static void
expect_b64_fail(const char *in, int want)
{
	uint8_t *out = (uint8_t *)1;
	size_t n = 1;

	assert_int_equal(rc_b64_decode(in, strlen(in), 1024, &out, &n), want);
	assert_null(out);
	assert_int_equal(n, 0);
}

/* RFC 4648 §10 test vectors. */
static void
test_b64_vectors(void **state)
{
	static const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba",
	    "foobar"};
	static const char *enc[] = {"", "Zg==", "Zm8=", "Zm9v",
	    "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	size_t i;
	char *s;

	(void)state;
	for (i = 0; i < 7; i++) {
		expect_b64(enc[i], plain[i], strlen(plain[i]));
		assert_int_equal(rc_b64_encode(plain[i], strlen(plain[i]), &s),
		    RC_OK);
		assert_string_equal(s, enc[i]);
		rc_free(s);
	}
	expect_b64("Zm9v\r\nYmFy\n", "foobar", 6);
	expect_b64(" Zm 9v ", "foo", 3);
}

static void
test_b64_malformed(void **state)
{
	(void)state;
	expect_b64_fail("Zm9", RC_EPARSE); /* not a multiple of 4 */
	expect_b64_fail("Z===", RC_EPARSE); /* too much padding */
	expect_b64_fail("Zg==Zg==", RC_EPARSE); /* data after padding */
	expect_b64_fail("Zg=a", RC_EPARSE); /* data inside padding */
	expect_b64_fail("Zm9v!", RC_EPARSE); /* outside the alphabet */
	expect_b64_fail("Zm9v-_==", RC_EPARSE); /* url alphabet refused */
	expect_b64_fail("=", RC_EPARSE);
}

static void
test_b64_cap(void **state)
{
	uint8_t *out;
	size_t n;

	(void)state;
	/* 6 bytes decoded: cap 6 passes, cap 5 (one short) refuses */
	assert_int_equal(rc_b64_decode("Zm9vYmFy", 8, 6, &out, &n), RC_OK);
	rc_free(out);
	assert_int_equal(rc_b64_decode("Zm9vYmFy", 8, 5, &out, &n), RC_ETOOBIG);
	assert_null(out);
}

static void
test_hex(void **state)
{
	static const uint8_t in[] = {0x00, 0xab, 0x7f, 0xff};
	char out[9];

	(void)state;
	assert_int_equal(rc_hex_upper(in, 4, out, sizeof(out)), RC_OK);
	assert_string_equal(out, "00AB7FFF");
	assert_int_equal(rc_hex_upper(in, 4, out, 8), RC_ETOOBIG);
	assert_int_equal(rc_hex_upper(in, 0, out, 1), RC_OK);
	assert_string_equal(out, "");
	assert_int_equal(rc_hex_upper(in, 0, out, 0), RC_ETOOBIG);
}

static void
test_strtonum(void **state)
{
	long long v;

	(void)state;
	assert_int_equal(rc_strtonum("42", 0, 100, &v), RC_OK);
	assert_int_equal(v, 42);
	assert_int_equal(rc_strtonum("-5", -10, 10, &v), RC_OK);
	assert_int_equal(v, -5);
	assert_int_equal(rc_strtonum("101", 0, 100, &v), RC_ERANGE);
	assert_int_equal(v, 0);
	assert_int_equal(rc_strtonum("-1", 0, 100, &v), RC_ERANGE);
	assert_int_equal(rc_strtonum("", 0, 100, &v), RC_EPARSE);
	assert_int_equal(rc_strtonum(NULL, 0, 100, &v), RC_EPARSE);
	assert_int_equal(rc_strtonum("12x", 0, 100, &v), RC_EPARSE);
	assert_int_equal(rc_strtonum(" 1", 0, 100, &v), RC_EPARSE);
	assert_int_equal(rc_strtonum("+1", 0, 100, &v), RC_EPARSE);
	assert_int_equal(rc_strtonum("99999999999999999999", 0, LLONG_MAX, &v),
	    RC_ERANGE);
}

static int
decode_some(void *arg)
{
	uint8_t *out;
	size_t n;
	char *s = NULL;
	int rc;

	(void)arg;
	rc = rc_b64_decode("Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFy", 32, 1024, &out,
	    &n);
	if (rc != RC_OK)
		return rc;
	rc = rc_b64_encode(out, n, &s);
	rc_free(out);
	rc_free(s);
	return rc;
}

static void
test_each_alloc(void **state)
{
	(void)state;
	rctest_each_alloc(decode_some, NULL, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_b64_vectors),
	    cmocka_unit_test(test_b64_malformed),
	    cmocka_unit_test(test_b64_cap),
	    cmocka_unit_test(test_hex),
	    cmocka_unit_test(test_strtonum),
	    cmocka_unit_test(test_each_alloc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
