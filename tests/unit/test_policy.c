/* Unit tests for policy rights and keys (policy.h). */
#include <string.h>

#include "rctest.h"
#include "rollcall/policy.h"

static void
test_rights(void **state)
{
	unsigned m;
	char out[256], bad[32];

	(void)state;
	assert_int_equal(rc_rights_parse("EnrollmentRead,enrollmentwrite", &m,
	                     bad, sizeof(bad)),
	    RC_OK);
	assert_int_equal(m,
	    RC_RIGHT_ENROLLMENT_READ | RC_RIGHT_ENROLLMENT_WRITE);
	assert_int_equal(rc_rights_format(m, out, sizeof(out)), RC_OK);
	assert_string_equal(out, "EnrollmentRead,EnrollmentWrite");
	assert_int_equal(rc_rights_parse("EnrollmentRead,Bogus", &m, bad,
	                     sizeof(bad)),
	    RC_EPARSE);
	assert_string_equal(bad, "Bogus");
	assert_int_equal(m, 0);
	assert_int_equal(rc_rights_parse("", &m, NULL, 0), RC_EPARSE);
	assert_int_equal(rc_rights_parse("EnrollmentRead,", &m, bad,
	                     sizeof(bad)),
	    RC_EPARSE);
	assert_int_equal(rc_rights_parse("Enrollment", &m, NULL, 0), RC_EPARSE);
	assert_int_equal(rc_rights_format(RC_RIGHTS_DPS_ALL, out, 10),
	    RC_ETOOBIG);
}

static void
test_policy(void **state)
{
	struct rc_policy p;

	(void)state;
	/* 32-byte key */
	assert_int_equal(rc_policy_set(&p, "provisioningserviceowner",
	                     "ServiceConfig,EnrollmentRead",
	                     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
	    RC_OK);
	assert_int_equal(p.keylen, 32);
	assert_int_equal(p.rights,
	    RC_RIGHT_SERVICE_CONFIG | RC_RIGHT_ENROLLMENT_READ);
	rc_policy_clear(&p);
	assert_null(p.key);
	/* 15 bytes: too short; bad base64; unknown right */
	assert_int_equal(rc_policy_set(&p, "x", "EnrollmentRead",
	                     "AAECAwQFBgcICQoLDA0O"),
	    RC_EINVAL);
	assert_int_equal(rc_policy_set(&p, "x", "EnrollmentRead", "!!!!"),
	    RC_EPARSE);
	assert_int_equal(rc_policy_set(&p, "x", "Nope",
	                     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
	    RC_EPARSE);
	assert_int_equal(rc_policy_set(&p, "", "EnrollmentRead",
	                     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
	    RC_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rights),
	    cmocka_unit_test(test_policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
