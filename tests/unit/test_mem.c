/* Unit tests for the allocator wrapper and its fail-Nth mode (mem.h). */
#include <stdint.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>

#include "rctest.h"
#include "rollcall/mem.h"

static void
test_fail_nth(void **state)
{
	void *a, *b, *c;

	(void)state;
	rc_mem_fail_after(2);
	a = rc_malloc(10);
	b = rc_malloc(10);
	c = rc_calloc(1, 10);
	assert_non_null(a);
	assert_null(b);
	assert_null(c); /* every allocation after the nth fails too */
	assert_int_equal(rc_mem_count(), 3);
	rc_mem_fail_after(0);
	b = rc_realloc(a, 100);
	assert_non_null(b);
	rc_free(b);
	assert_int_equal(rc_mem_count(), 1);
}

static void
test_overflow_and_zero(void **state)
{
	void *p;

	(void)state;
	assert_null(rc_reallocarray(NULL, SIZE_MAX / 2, 3));
	p = rc_malloc(0);
	assert_non_null(p);
	rc_free(p);
	p = rc_calloc(0, 0);
	assert_non_null(p);
	rc_free(p);
	rc_free(NULL);
	rc_free_secret(NULL, 10);
}

static void
test_strdup(void **state)
{
	char *s;

	(void)state;
	s = rc_strndup("abcdef", 3);
	assert_string_equal(s, "abc");
	rc_free(s);
	s = rc_strndup("ab", 10);
	assert_string_equal(s, "ab");
	rc_free(s);
	s = rc_strdup("");
	assert_string_equal(s, "");
	rc_free_secret(s, 1);
	rc_mem_fail_after(1);
	assert_null(rc_strdup("x"));
	rc_mem_fail_after(0);
}

/* OpenSSL's allocations go through the same counter once hooked. */
static void
test_openssl_hook(void **state)
{
	BIO *bio;

	(void)state;
	rc_mem_fail_after(0);
	bio = BIO_new(BIO_s_mem());
	assert_non_null(bio);
	BIO_free(bio);
	assert_true(rc_mem_count() > 0);
	rc_mem_fail_after(1);
	bio = BIO_new(BIO_s_mem());
	rc_mem_fail_after(0);
	assert_null(bio);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fail_nth),
	    cmocka_unit_test(test_overflow_and_zero),
	    cmocka_unit_test(test_strdup),
	    cmocka_unit_test(test_openssl_hook),
	};

	assert_true(rc_mem_hook_openssl());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
