/* Unit tests for the error list (err.h). */
#include <string.h>

#include "rctest.h"
#include "rollcall/err.h"

static void
test_every_code_has_text(void **state)
{
	int e;

	(void)state;
	for (e = 0; e < RC_ERR_COUNT; e++) {
		assert_non_null(rc_strerror(e));
		assert_true(strlen(rc_strerror(e)) > 0);
		assert_true(strncmp(rc_errname(e), "RC_", 3) == 0);
	}
	assert_string_equal(rc_errname(RC_OK), "RC_OK");
	assert_string_equal(rc_strerror(RC_ENOMEM), "out of memory");
}

static void
test_unknown_codes(void **state)
{
	(void)state;
	assert_string_equal(rc_strerror(-1), "unknown error");
	assert_string_equal(rc_strerror(RC_ERR_COUNT), "unknown error");
	assert_string_equal(rc_errname(RC_ERR_COUNT + 100), "RC_E?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_code_has_text),
	    cmocka_unit_test(test_unknown_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
