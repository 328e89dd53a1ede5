/* Unit tests for logging (log.h): process name, verbosity, errno suffix. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "rctest.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"

static char *
capture(void (*fn)(void))
{
	const char *path;
	FILE *f;
	char *s;

	path = rctest_path(rctest_tmpdir(), "log.txt");
	f = fopen(path, "w+");
	assert_non_null(f);
	rc_log_setfile(f);
	fn();
	rc_log_setfile(NULL);
	fclose(f);
	s = rctest_read_file(path, NULL);
	return s;
}

static void
emit_levels(void)
{
	rc_log_init("rctest", 1, 0);
	rc_log_info("info %d", 1);
	rc_log_debug("hidden debug");
	rc_log_setverbose(1);
	rc_log_debug("shown debug");
	errno = ENOENT;
	rc_log_warn("open %s", "x");
	rc_log_warnx("plain");
}

static void
test_levels(void **state)
{
	char *s;

	(void)state;
	s = capture(emit_levels);
	assert_non_null(strstr(s, "rctest: info 1\n"));
	assert_null(strstr(s, "hidden"));
	assert_non_null(strstr(s, "rctest: shown debug\n"));
	assert_non_null(
	    strstr(s, "rctest: open x: No such file or directory\n"));
	assert_non_null(strstr(s, "rctest: plain\n"));
	assert_int_equal(rc_log_getverbose(), 1);
	rc_free(s);
}

static void
emit_ssl(void)
{
	/* provoke an OpenSSL error: unknown cipher name */
	EVP_CIPHER_fetch(NULL, "no-such-cipher", NULL);
	rc_log_ssl("fetch");
	rc_log_ssl("empty queue");
}

static void
test_ssl_queue(void **state)
{
	char *s;

	(void)state;
	s = capture(emit_ssl);
	assert_non_null(strstr(s, "fetch: error:"));
	assert_non_null(strstr(s, "empty queue: no OpenSSL error"));
	assert_int_equal(ERR_peek_error(), 0);
	rc_free(s);
}

static void
emit_long(void)
{
	char big[5000];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	rc_log_warnx("%s", big);
}

/* A line longer than the internal buffer is cut, never overflows. */
static void
test_long_line(void **state)
{
	char *s;

	(void)state;
	s = capture(emit_long);
	assert_true(strlen(s) < 2100);
	assert_true(strlen(s) > 2000);
	rc_free(s);
}

static int
teardown(void **state)
{
	(void)state;
	rctest_rmtree(rctest_tmpdir());
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_levels),
	    cmocka_unit_test(test_ssl_queue),
	    cmocka_unit_test(test_long_line),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
