/*
 * The agent library's parsers and rules (agent.h): config table and its
 * checks, state.json, method payloads, DPS replies, backoff, the renewal
 * threshold, pushed-chain checks, and the state files on disk.
 */
#include <string.h>
#include <time.h>

#include "rctest.h"
#include "rollcall/agent.h"
#include "rollcall/ca.h"
#include "rollcall/enc.h"
#include "rollcall/key.h"
#include "rollcall/mem.h"
#include "rollcall/x509.h"

static struct rc_ca *root, *inter;

static int
parse_conf(const char *text, struct rc_agent_conf *c, char *err, size_t el)
{
	int rc;

	assert_int_equal(rc_agent_conf_init(c), RC_OK);
	rc = rc_agent_conf_parse(c, text, strlen(text), "t.conf", err, el);
	if (rc == RC_OK)
		rc = rc_agent_conf_check(c, err, el);
	return rc;
}

static const char good_conf[] = "state-dir /var/lib/agent\n"
                                "id-scope 0ne00000001\n"
                                "registration-id dev-1\n"
                                "dps-host dps.example\n"
                                "trust-bundle /etc/ca.pem\n"
                                "bootstrap-cert /etc/dev.pem\n"
                                "bootstrap-key /etc/dev.key\n";

static void
test_conf(void **state)
{
	struct rc_agent_conf c;
	char err[256], *text;
	size_t i;
	static const char *const bad[] = {
	    "renew-threshold 100\n",
	    "renew-threshold 0\n",
	    "transport amqp\n",
	    "dps-port 65536\n",
	    "telemetry-interval 2x\n",
	    "keep-key maybe\n",
	    "no-such-keyword 1\n",
	    "key-type p521\n",
	    "keystore hsm\n",
	    "backoff-min 10m\n",
	    "dps-host \"unterminated\n",
	};

	(void)state;
	assert_int_equal(parse_conf(good_conf, &c, err, sizeof(err)), RC_OK);
	assert_int_equal(c.renew_threshold, 80);
	assert_int_equal(c.dps_port, 8883);
	assert_int_equal(c.transport, RC_AGENT_MQTT);
	assert_int_equal(c.telemetry_interval, 10);
	assert_string_equal(c.keystore, "file");
	rc_agent_conf_free(&c);
	/* each required keyword missing in turn */
	assert_int_equal(parse_conf("", &c, err, sizeof(err)), RC_EINVAL);
	assert_non_null(strstr(err, "state-dir"));
	rc_agent_conf_free(&c);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		text = rc_malloc(strlen(good_conf) + strlen(bad[i]) + 1);
		memcpy(text, good_conf, strlen(good_conf));
		memcpy(text + strlen(good_conf), bad[i], strlen(bad[i]) + 1);
		if (parse_conf(text, &c, err, sizeof(err)) == RC_OK)
			fail_msg("accepted: %s", bad[i]);
		rc_agent_conf_free(&c);
		rc_free(text);
	}
	assert_int_equal(parse_conf("transport https\nkeystore "
	                            "\"pkcs11:token=t\"\nstate-dir s\nid-scope "
	                            "x\nregistration-id d\ndps-host h\n"
	                            "trust-bundle t\nbootstrap-cert b\n"
	                            "bootstrap-key \"pkcs11:object=f\"\n",
	                     &c, err, sizeof(err)),
	    RC_OK);
	assert_int_equal(c.transport, RC_AGENT_HTTPS);
	rc_agent_conf_free(&c);
}

static void
test_state_roundtrip(void **state)
{
	struct rc_agent_state s, t;
	char *text;
	size_t len;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.active = 'b';
	snprintf(s.hub, sizeof(s.hub), "%s", "hub.example");
	snprintf(s.device_id, sizeof(s.device_id), "%s", "dev-1");
	snprintf(s.roll_kind, sizeof(s.roll_kind), "%s", "renew");
	snprintf(s.roll_result, sizeof(s.roll_result), "%s", "failed");
	snprintf(s.roll_reason, sizeof(s.roll_reason), "%s", "the hub said no");
	s.roll_at = 1700000000;
	assert_int_equal(rc_agent_state_dump(&s, &text, &len), RC_OK);
	assert_int_equal(rc_agent_state_parse(text, len, &t), RC_OK);
	assert_memory_equal(&s, &t, sizeof(s));
	/* every shorter prefix is refused */
	while (len-- > 0)
		assert_int_not_equal(rc_agent_state_parse(text, len, &t),
		    RC_OK);
	rc_free(text);
}

static void
test_state_malformed(void **state)
{
	struct rc_agent_state s;
	char big[400];
	size_t i;
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{}",
	    "{\"version\":2,\"active\":\"a\"}",
	    "{\"version\":1,\"active\":\"c\"}",
	    "{\"version\":1,\"active\":\"ab\"}",
	    "{\"version\":1,\"active\":1}",
	    "{\"version\":1,\"active\":\"a\",\"assignedHub\":\"a\\nb\"}",
	    "{\"version\":1,\"active\":\"a\",\"rolling\":-1}",
	    "{\"version\":1,\"active\":\"a\",\"lastRoll\":[]}",
	    "{\"version\":1,\"active\":\"a\",\"lastRoll\":{\"kind\":\"x\"}}",
	    "{\"version\":1,\"active\":\"a\",\"active\":\"b\"}",
	    "{\"version\":1,\"active\":\"a\"} x",
	};

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rc_agent_state_parse(bad[i], strlen(bad[i]), &s) == RC_OK)
			fail_msg("accepted: %s", bad[i]);
	/* a device ID one over its bound */
	i = (size_t)snprintf(big, sizeof(big),
	    "{\"version\":1,\"active\":\"a\",\"deviceId\":\"%0129d\"}", 0);
	assert_int_equal(rc_agent_state_parse(big, i, &s), RC_EPARSE);
	i = (size_t)snprintf(big, sizeof(big),
	    "{\"version\":1,\"active\":\"a\",\"deviceId\":\"%0128d\"}", 0);
	assert_int_equal(rc_agent_state_parse(big, i, &s), RC_OK);
	assert_int_equal(s.active, 'a');
	assert_int_equal(strlen(s.device_id), 128);
}

static void
test_state_files(void **state)
{
	struct rc_agent_state s, t;

	(void)state;
	assert_int_equal(rc_agent_state_load(rctest_tmpdir(), &t), RC_ENOENT);
	memset(&s, 0, sizeof(s));
	s.active = 'a';
	assert_int_equal(rc_agent_state_save(rctest_tmpdir(), &s), RC_OK);
	assert_int_equal(rc_agent_state_load(rctest_tmpdir(), &t), RC_OK);
	assert_int_equal(t.active, 'a');
	s.active = 'b';
	assert_int_equal(rc_agent_state_save(rctest_tmpdir(), &s), RC_OK);
	assert_int_equal(rc_agent_state_load(rctest_tmpdir(), &t), RC_OK);
	assert_int_equal(t.active, 'b');
}

/* A leaf for cn under inter, as base64 DER and PEM, and its key. */
static X509 *
leaf(const char *cn, EVP_PKEY **key)
{
	X509 *x;

	assert_int_equal(rc_ca_issue(inter, cn, RC_KEY_P256, 2, &x, key),
	    RC_OK);
	return x;
}

static char *
b64_of(X509 *x)
{
	unsigned char *der = NULL;
	char *b64;
	int n = i2d_X509(x, &der);

	assert_true(n > 0);
	assert_int_equal(rc_b64_encode(der, (size_t)n, &b64), RC_OK);
	OPENSSL_free(der);
	return b64;
}

static void
test_method(void **state)
{
	struct rc_agent_method_req r;
	char why[256], body[8192], *b1, *b2;
	EVP_PKEY *k;
	X509 *x;
	size_t i;
	static const struct {
		const char *name, *payload;
		int want;
	} cases[] = {
	    {"rollCertificate", "", RC_OK},
	    {"rollCertificate", "null", RC_OK},
	    {"rollCertificate", " null \n", RC_OK},
	    {"rollCertificate", "{}", RC_OK},
	    {"rollCertificate", "{\"keepKey\":true}", RC_OK},
	    {"rollCertificate", "{\"keepKey\":1}", RC_EPARSE},
	    {"rollCertificate", "[1]", RC_EPARSE},
	    {"rollCertificate", "{", RC_EPARSE},
	    {"rollCertificate", "nul", RC_EPARSE},
	    {"reprovision", "{}", RC_OK},
	    {"reprovision", "\"x\"", RC_EPARSE},
	    {"reboot", "{}", RC_ENOENT},
	    {"installCertificate", "", RC_EPARSE},
	    {"installCertificate", "null", RC_EPARSE},
	    {"installCertificate", "{}", RC_EPARSE},
	    {"installCertificate", "{\"chain\":[]}", RC_EPARSE},
	    {"installCertificate", "{\"chain\":[1]}", RC_EPARSE},
	    {"installCertificate", "{\"chain\":[\"AAAA\"]}", RC_EPARSE},
	    {"installCertificate", "{\"chain\":[\"!!\"]}", RC_EPARSE},
	    {"installCertificate", "{\"pem\":\"no pem here\"}", RC_EPARSE},
	    {"installCertificate", "{\"pem\":\"x\",\"chain\":[\"x\"]}",
	        RC_EPARSE},
	};

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = rc_agent_method_parse(cases[i].name, cases[i].payload,
		    strlen(cases[i].payload), &r, why, sizeof(why));
		if (rc != cases[i].want)
			fail_msg("%s %s: %d", cases[i].name, cases[i].payload,
			    rc);
		if (rc != RC_OK)
			assert_true(why[0] != '\0');
		rc_agent_method_clear(&r);
	}
	assert_int_equal(rc_agent_method_parse("rollCertificate",
	                     "{\"keepKey\":true}", 16, &r, why, sizeof(why)),
	    RC_OK);
	assert_int_equal(r.keep_key, 1);
	x = leaf("dev-1", &k);
	b1 = b64_of(x);
	b2 = b64_of(inter->cert);
	snprintf(body, sizeof(body), "{\"chain\":[\"%s\",\"%s\"]}", b1, b2);
	assert_int_equal(rc_agent_method_parse("installCertificate", body,
	                     strlen(body), &r, why, sizeof(why)),
	    RC_OK);
	assert_int_equal(sk_X509_num(r.chain), 2);
	assert_int_equal(X509_cmp(sk_X509_value(r.chain, 0), x), 0);
	rc_agent_method_clear(&r);
	/* one byte short of the closing brace */
	assert_int_equal(rc_agent_method_parse("installCertificate", body,
	                     strlen(body) - 1, &r, why, sizeof(why)),
	    RC_EPARSE);
	/* nine certificates: one over RC_AGENT_CHAIN_MAX */
	snprintf(body, sizeof(body), "%s",
	    "{\"chain\":[\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\"]"
	    "}");
	assert_int_equal(rc_agent_method_parse("installCertificate", body,
	                     strlen(body), &r, why, sizeof(why)),
	    RC_ETOOBIG);
	assert_int_equal(rc_agent_method_parse("reprovision", body,
	                     RC_AGENT_METHOD_MAX + 1, &r, why, sizeof(why)),
	    RC_ETOOBIG);
	rc_free(b1);
	rc_free(b2);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
test_dps_reply(void **state)
{
	struct rc_agent_dps_reply r;
	char body[8192], *b1;
	EVP_PKEY *k;
	X509 *x;
	size_t i;
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{\"status\":\"assigning\"}",
	    "{\"status\":\"assigning\",\"operationId\":\"a/b\"}",
	    "{\"status\":\"assigned\"}",
	    "{\"status\":\"assigned\",\"registrationState\":"
	    "{\"assignedHub\":\"h\"}}",
	    "{\"status\":\"assigned\",\"registrationState\":"
	    "{\"assignedHub\":\"h\",\"deviceId\":\"\"}}",
	    "{\"status\":\"assigned\",\"registrationState\":{\"assignedHub\":"
	    "\"h\",\"deviceId\":\"d\",\"issuedCertificateChain\":[\"AA\"]}}",
	    "{\"status\":1}",
	    "{\"errorCode\":\"x\"}",
	};

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rc_agent_dps_reply_parse(bad[i], strlen(bad[i]), &r) ==
		    RC_OK)
			fail_msg("accepted: %s", bad[i]);
	snprintf(body, sizeof(body), "%s",
	    "{\"operationId\":\"4.ab-c\",\"status\":\"assigning\"}");
	assert_int_equal(rc_agent_dps_reply_parse(body, strlen(body), &r),
	    RC_OK);
	assert_int_equal(r.status, RC_AGENT_DPS_ASSIGNING);
	assert_string_equal(r.operation_id, "4.ab-c");
	snprintf(body, sizeof(body), "%s",
	    "{\"errorCode\":401002,\"message\":\"no\"}");
	assert_int_equal(rc_agent_dps_reply_parse(body, strlen(body), &r),
	    RC_OK);
	assert_int_equal(r.status, RC_AGENT_DPS_FAILED);
	assert_int_equal(r.error_code, 401002);
	assert_string_equal(r.message, "no");
	x = leaf("dev-2", &k);
	b1 = b64_of(x);
	snprintf(body, sizeof(body),
	    "{\"status\":\"assigned\",\"registrationState\":{\"assignedHub\":"
	    "\"hub.example\",\"deviceId\":\"dev-2\","
	    "\"issuedCertificateChain\":[\"%s\"]}}",
	    b1);
	assert_int_equal(rc_agent_dps_reply_parse(body, strlen(body), &r),
	    RC_OK);
	assert_int_equal(r.status, RC_AGENT_DPS_ASSIGNED);
	assert_string_equal(r.hub, "hub.example");
	assert_int_equal(sk_X509_num(r.chain), 1);
	rc_agent_dps_reply_clear(&r);
	assert_null(r.chain);
	rc_free(b1);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
test_backoff_and_due(void **state)
{
	struct rc_agent_backoff b;
	long long d, prev = 0;
	int i;

	(void)state;
	rc_agent_backoff_init(&b, 1000, 8000);
	for (i = 0; i < 10; i++) {
		d = rc_agent_backoff_next(&b);
		assert_true(d <= 8000);
		assert_true(d >= 500);
		if (i >= 4)
			assert_true(d >= 4000); /* capped, half jitter */
		prev = d;
	}
	(void)prev;
	rc_agent_backoff_reset(&b);
	assert_true(rc_agent_backoff_next(&b) <= 1000);
	assert_int_equal(rc_agent_renew_due(0, 100, 80, 79), 0);
	assert_int_equal(rc_agent_renew_due(0, 100, 80, 80), 1);
	assert_int_equal(rc_agent_renew_due(0, 100, 50, 49), 0);
	assert_int_equal(rc_agent_renew_due(0, 100, 50, 100), 1);
	assert_int_equal(rc_agent_renew_due(100, 100, 50, 0), 1);
}

static void
test_check_chain(void **state)
{
	STACK_OF(X509) *chain, *anchors;
	EVP_PKEY *k, *k2;
	X509 *x, *y;
	char why[256];

	(void)state;
	x = leaf("dev-3", &k);
	y = leaf("dev-4", &k2);
	chain = sk_X509_new_null();
	anchors = sk_X509_new_null();
	assert_true(sk_X509_push(anchors, root->cert));
	assert_int_equal(rc_agent_check_chain(chain, k, "dev-3", anchors,
	                     time(NULL), why, sizeof(why)),
	    RC_EINVAL);
	assert_true(sk_X509_push(chain, x));
	/* no intermediate: the chain does not reach the root */
	assert_int_not_equal(rc_agent_check_chain(chain, k, "dev-3", anchors,
	                         time(NULL), why, sizeof(why)),
	    RC_OK);
	assert_true(sk_X509_push(chain, inter->cert));
	assert_int_equal(rc_agent_check_chain(chain, k, "dev-3", anchors,
	                     time(NULL), why, sizeof(why)),
	    RC_OK);
	assert_int_equal(rc_agent_check_chain(chain, k2, "dev-3", anchors,
	                     time(NULL), why, sizeof(why)),
	    RC_EINVAL);
	assert_non_null(strstr(why, "key"));
	assert_int_equal(rc_agent_check_chain(chain, k, "dev-4", anchors,
	                     time(NULL), why, sizeof(why)),
	    RC_EINVAL);
	assert_non_null(strstr(why, "CN"));
	sk_X509_free(chain);
	sk_X509_free(anchors);
	X509_free(x);
	X509_free(y);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

static int
alloc_state(void *arg)
{
	static const char text[] =
	    "{\"version\":1,\"active\":\"b\",\"assignedHub\":\"h\","
	    "\"deviceId\":\"d\",\"lastRoll\":{\"kind\":\"renew\",\"result\":"
	    "\"ok\",\"reason\":\"\",\"at\":5}}";
	struct rc_agent_state s;

	(void)arg;
	return rc_agent_state_parse(text, sizeof(text) - 1, &s);
}

static int
alloc_method(void *arg)
{
	struct rc_agent_method_req r;
	int rc;

	rc = rc_agent_method_parse("installCertificate", arg, strlen(arg), &r,
	    NULL, 0);
	rc_agent_method_clear(&r);
	return rc;
}

static void
test_each_alloc(void **state)
{
	char body[4096], *b;
	EVP_PKEY *k;
	X509 *x;

	(void)state;
	rctest_each_alloc(alloc_state, NULL, 1);
	x = leaf("dev-5", &k);
	b = b64_of(x);
	snprintf(body, sizeof(body), "{\"chain\":[\"%s\"]}", b);
	rctest_each_alloc(alloc_method, body, 0);
	rc_free(b);
	X509_free(x);
	EVP_PKEY_free(k);
}

static int
setup(void **state)
{
	(void)state;
	if (rc_ca_new_root("agent test root", RC_KEY_P256, 2, &root) != RC_OK ||
	    rc_ca_new_intermediate(root, "agent test devices", RC_KEY_P256, 2,
	        &inter) != RC_OK)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	rc_ca_free(inter);
	rc_ca_free(root);
	rctest_rmtree(rctest_tmpdir());
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_conf),
	    cmocka_unit_test(test_state_roundtrip),
	    cmocka_unit_test(test_state_malformed),
	    cmocka_unit_test(test_state_files),
	    cmocka_unit_test(test_method),
	    cmocka_unit_test(test_dps_reply),
	    cmocka_unit_test(test_backoff_and_due),
	    cmocka_unit_test(test_check_chain),
	    cmocka_unit_test(test_each_alloc),
	};

	rc_mem_hook_openssl();
	return cmocka_run_group_tests(tests, setup, teardown);
}
