/*
 * The PKCS#11 keystore's text rules (src/agent/keystore_pkcs11.c): pkcs11:
 * URIs (RFC 7512) as the agent reads and writes them, the slot key labels,
 * and the configuration checks for a token keystore.  The token itself is
 * exercised by tests/e2e/agent_pkcs11.test.mjs on SoftHSM2.
 */
#include <string.h>

#include "agent/agent_int.h"
#include "rctest.h"
#include "rollcall/mem.h"

static void
test_uri_good(void **state)
{
	struct agent_p11_uri u;

	(void)state;
	assert_int_equal(agent_p11_uri_parse("pkcs11:token=rc", &u), RC_OK);
	assert_string_equal(u.token, "rc");
	assert_int_equal(u.has_pin, 0);
	assert_int_equal(u.idlen, 0);
	assert_int_equal(agent_p11_uri_parse("pkcs11:", &u), RC_OK);
	assert_int_equal(agent_p11_uri_parse("pkcs11:token=My%20Token;object=k%"
	                                     "3"
	                                     "Ba;id=%01%ff%00;type=private;"
	                                     "serial=12;x-vendor=1?pin-value=1%"
	                                     "262&module-path=/usr/lib/m.so",
	                     &u),
	    RC_OK);
	assert_string_equal(u.token, "My Token");
	assert_string_equal(u.object, "k;a");
	assert_int_equal(u.idlen, 3);
	assert_memory_equal(u.id, "\x01\xff\x00", 3);
	assert_string_equal(u.type, "private");
	assert_int_equal(u.has_pin, 1);
	assert_string_equal(u.pin, "1&2");
	assert_string_equal(u.module, "/usr/lib/m.so");
	/* RFC 7512 allows '?' in a query value */
	assert_int_equal(agent_p11_uri_parse("pkcs11:token=a?pin-value=1?2",
	                     &u),
	    RC_OK);
	assert_string_equal(u.pin, "1?2");
	/* libp11 style: the PIN in the path */
	assert_int_equal(agent_p11_uri_parse("pkcs11:token=a;pin-value=9", &u),
	    RC_OK);
	assert_string_equal(u.pin, "9");
	/* a 32-byte token label fits, 33 does not */
	assert_int_equal(agent_p11_uri_parse("pkcs11:token="
	                                     "0123456789abcdef0123456789abcdef",
	                     &u),
	    RC_OK);
	assert_int_equal(strlen(u.token), 32);
}

static void
test_uri_bad(void **state)
{
	static const char *const bad[] = {
	    NULL,
	    "",
	    "pkcs11",
	    "PKCS11:token=a",
	    "file:token=a",
	    "pkcs11:token",
	    "pkcs11:=a",
	    "pkcs11:token=a;",
	    "pkcs11:token=a;;object=b",
	    "pkcs11:token=a?",
	    "pkcs11:token=a?pin-value=1&",
	    "pkcs11:token=a?pin-value=1&&module-path=x",
	    "pkcs11:token=a;token=b",
	    "pkcs11:token=a?pin-value=1&pin-value=2",
	    "pkcs11:nosuch=1",
	    "pkcs11:pin-source=file:/p",
	    "pkcs11:type=secret-key",
	    "pkcs11:token=%",
	    "pkcs11:token=%4",
	    "pkcs11:token=%4g",
	    "pkcs11:token=%zz",
	    "pkcs11:token=a%00b",
	    "pkcs11:object=%00",
	    "pkcs11:token=0123456789abcdef0123456789abcdef0",
	};
	struct agent_p11_uri u;
	char *big;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (agent_p11_uri_parse(bad[i], &u) != RC_EPARSE)
			fail_msg("accepted: %s", bad[i] ? bad[i] : "(null)");
	/* an id over AGENT_P11_ID_MAX bytes, an object over its bound */
	big = rc_malloc(16 + 3 * (AGENT_P11_TEXT_MAX + 1) + 1);
	n = (size_t)snprintf(big, 16, "pkcs11:id=");
	for (i = 0; i <= AGENT_P11_ID_MAX; i++, n += 3)
		memcpy(big + n, "%41", 4);
	assert_int_equal(agent_p11_uri_parse(big, &u), RC_EPARSE);
	big[n - 3] = '\0';
	assert_int_equal(agent_p11_uri_parse(big, &u), RC_OK);
	assert_int_equal(u.idlen, AGENT_P11_ID_MAX);
	n = (size_t)snprintf(big, 16, "pkcs11:object=");
	memset(big + n, 'o', AGENT_P11_TEXT_MAX + 1);
	big[n + AGENT_P11_TEXT_MAX + 1] = '\0';
	assert_int_equal(agent_p11_uri_parse(big, &u), RC_EPARSE);
	big[n + AGENT_P11_TEXT_MAX] = '\0';
	assert_int_equal(agent_p11_uri_parse(big, &u), RC_OK);
	rc_free(big);
}

static void
test_slot_label(void **state)
{
	char out[160], small[12];
	char regid[130];

	(void)state;
	assert_int_equal(agent_p11_slot_label("dev-1", 'a', out, sizeof(out)),
	    RC_OK);
	assert_string_equal(out, "rollcall:dev-1:a");
	assert_int_equal(agent_p11_slot_label("dev-1", 'b', out, sizeof(out)),
	    RC_OK);
	assert_string_equal(out, "rollcall:dev-1:b");
	assert_int_equal(agent_p11_slot_label("dev-1", 'c', out, sizeof(out)),
	    RC_EINVAL);
	assert_string_equal(out, "");
	assert_int_equal(agent_p11_slot_label("dev-1", 'A', out, sizeof(out)),
	    RC_EINVAL);
	assert_int_equal(agent_p11_slot_label("", 'a', out, sizeof(out)),
	    RC_EINVAL);
	assert_int_equal(agent_p11_slot_label(NULL, 'a', out, sizeof(out)),
	    RC_EINVAL);
	assert_int_equal(agent_p11_slot_label("a b", 'a', out, sizeof(out)),
	    RC_EINVAL);
	assert_int_equal(agent_p11_slot_label("a\nb", 'a', out, sizeof(out)),
	    RC_EINVAL);
	assert_int_equal(agent_p11_slot_label("a\x7f", 'a', out, sizeof(out)),
	    RC_EINVAL);
	assert_int_equal(agent_p11_slot_label("\xc3\xa9", 'a', out,
	                     sizeof(out)),
	    RC_EINVAL);
	/* 128 characters is the longest registration ID, 129 is refused */
	memset(regid, 'r', 128);
	regid[128] = '\0';
	assert_int_equal(agent_p11_slot_label(regid, 'a', out, sizeof(out)),
	    RC_OK);
	assert_int_equal(strlen(out), 9 + 128 + 2);
	regid[128] = 'r';
	regid[129] = '\0';
	assert_int_equal(agent_p11_slot_label(regid, 'a', out, sizeof(out)),
	    RC_EINVAL);
	/* a buffer too small: nothing partial */
	assert_int_equal(agent_p11_slot_label("dev-1", 'a', small,
	                     sizeof(small)),
	    RC_ETOOBIG);
	assert_string_equal(small, "");
}

static void
test_key_uri(void **state)
{
	struct agent_p11_uri u, v;
	char out[AGENT_KEY_REF_MAX], small[20];

	(void)state;
	assert_int_equal(agent_p11_uri_parse("pkcs11:token=r%20c?pin-value=1%"
	                                     "3B2&module-path=/m.so",
	                     &u),
	    RC_OK);
	/* neither object nor id: not a key */
	assert_int_equal(agent_p11_key_uri(&u, out, sizeof(out)), RC_EINVAL);
	assert_string_equal(out, "");
	assert_int_equal(agent_p11_slot_label("dev:1", 'b', u.object,
	                     sizeof(u.object)),
	    RC_OK);
	memcpy(u.id, "\x00\xab", 2);
	u.idlen = 2;
	assert_int_equal(agent_p11_key_uri(&u, out, sizeof(out)), RC_OK);
	assert_string_equal(out,
	    "pkcs11:token=r%20c;object=rollcall%3Adev%"
	    "3A1%3Ab;id=%00%AB;type=private?pin-value=1%"
	    "3B2");
	/* what it writes, it reads back (module-path is left out) */
	assert_int_equal(agent_p11_uri_parse(out, &v), RC_OK);
	assert_string_equal(v.token, "r c");
	assert_string_equal(v.object, "rollcall:dev:1:b");
	assert_int_equal(v.idlen, 2);
	assert_memory_equal(v.id, "\x00\xab", 2);
	assert_string_equal(v.pin, "1;2");
	assert_string_equal(v.module, "");
	assert_int_equal(agent_p11_key_uri(&u, small, sizeof(small)),
	    RC_ETOOBIG);
	assert_string_equal(small, "");
	/* no token */
	u.token[0] = '\0';
	assert_int_equal(agent_p11_key_uri(&u, out, sizeof(out)), RC_EINVAL);
}

static int
check(const char *extra, char *err, size_t el)
{
	static const char base[] = "state-dir s\nid-scope x\n"
	                           "registration-id d\ndps-host h\n"
	                           "trust-bundle t\nbootstrap-cert b\n";
	struct rc_agent_conf c;
	char text[1024];
	int rc;

	snprintf(text, sizeof(text), "%s%s", base, extra);
	assert_int_equal(rc_agent_conf_init(&c), RC_OK);
	rc = rc_agent_conf_parse(&c, text, strlen(text), "t", err, el);
	if (rc == RC_OK)
		rc = rc_agent_conf_check(&c, err, el);
	rc_agent_conf_free(&c);
	return rc;
}

static void
test_conf_token(void **state)
{
	static const char *const bad[] = {
	    /* no bootstrap key */
	    "keystore \"pkcs11:token=rc\"\n",
	    /* a PEM bootstrap key with a token */
	    "keystore \"pkcs11:token=rc\"\nbootstrap-key /k.pem\n",
	    /* a bootstrap URI naming no key */
	    "keystore \"pkcs11:token=rc\"\nbootstrap-key \"pkcs11:token=rc\"\n",
	    "keystore \"pkcs11:token=rc\"\nbootstrap-key \"pkcs11:object=%\"\n",
	    /* no token */
	    "keystore \"pkcs11:object=x\"\nbootstrap-key \"pkcs11:object=f\"\n",
	    "keystore \"pkcs11:token=a;token=b\"\nbootstrap-key "
	    "\"pkcs11:object=f\"\n",
	    /* keys the token path does not make */
	    "keystore \"pkcs11:token=rc\"\nbootstrap-key \"pkcs11:object=f\"\n"
	    "key-type rsa2048\n",
	};
	char err[256];
	size_t i;

	(void)state;
	assert_int_equal(check("keystore \"pkcs11:token=rc?pin-value=1\"\n"
	                       "bootstrap-key \"pkcs11:object=f\"\n"
	                       "pkcs11-module /m.so\nkey-type p384\n",
	                     err, sizeof(err)),
	    RC_OK);
	assert_int_equal(check("keystore \"pkcs11:token=rc\"\n"
	                       "bootstrap-key \"pkcs11:id=%01\"\n",
	                     err, sizeof(err)),
	    RC_OK);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (check(bad[i], err, sizeof(err)) != RC_EINVAL)
			fail_msg("accepted: %s", bad[i]);
}

static int
alloc_uri(void *arg)
{
	struct agent_p11_uri u;
	char out[AGENT_KEY_REF_MAX];
	int rc;

	if ((rc = agent_p11_uri_parse(arg, &u)) != RC_OK)
		return rc;
	return agent_p11_key_uri(&u, out, sizeof(out));
}

static void
test_each_alloc(void **state)
{
	(void)state;
	rctest_each_alloc(alloc_uri,
	    "pkcs11:token=rc;object=o;id=%01?pin-value=1234", 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uri_good),
	    cmocka_unit_test(test_uri_bad),
	    cmocka_unit_test(test_slot_label),
	    cmocka_unit_test(test_key_uri),
	    cmocka_unit_test(test_conf_token),
	    cmocka_unit_test(test_each_alloc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
