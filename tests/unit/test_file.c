/* Unit tests for whole-file reads, atomic writes and mkdirs (file.h). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "rctest.h"
#include "rollcall/file.h"
#include "rollcall/mem.h"

static void
test_write_read(void **state)
{
	const char *dir = rctest_tmpdir(), *path;
	struct stat st;
	uint8_t *data;
	size_t len;

	(void)state;
	path = rctest_path(dir, "f.txt");
	assert_int_equal(rc_file_write(path, "hello", 5, 0640, 0), RC_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(rc_file_write(path, "x", 1, 0640, 0), RC_EEXIST);
	assert_int_equal(rc_file_read(path, 5, &data, &len), RC_OK);
	assert_int_equal(len, 5);
	assert_string_equal((char *)data, "hello");
	rc_free(data);
	/* max + 1: one byte over the cap is refused */
	assert_int_equal(rc_file_read(path, 4, &data, &len), RC_ETOOBIG);
	assert_null(data);
	assert_int_equal(rc_file_write(path, "bye", 3, 0600, 1), RC_OK);
	assert_int_equal(rc_file_read(path, 100, &data, &len), RC_OK);
	assert_string_equal((char *)data, "bye");
	rc_free(data);
	assert_int_equal(rc_file_read(rctest_path(dir, "missing"), 10, &data,
	                     &len),
	    RC_ENOENT);
}

static void
test_mkdirs(void **state)
{
	const char *dir = rctest_tmpdir(), *deep;
	struct stat st;

	(void)state;
	deep = rctest_path(dir, "a/b/c");
	assert_int_equal(rc_file_mkdirs(deep, 0700), RC_OK);
	assert_int_equal(stat(deep, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	/* again: existing directories are fine */
	assert_int_equal(rc_file_mkdirs(deep, 0700), RC_OK);
	/* trailing slash */
	assert_int_equal(rc_file_mkdirs(rctest_path(dir, "d/e/"), 0700), RC_OK);
	/* a file in the way */
	rctest_write_file(rctest_path(dir, "plain"), "x", 1);
	assert_int_equal(rc_file_mkdirs(rctest_path(dir, "plain/sub"), 0700),
	    RC_EIO);
	assert_int_equal(rc_file_mkdirs("", 0700), RC_EINVAL);
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
	    cmocka_unit_test(test_write_read),
	    cmocka_unit_test(test_mkdirs),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
