/*
 * Unit tests for rollcalld's config table and checks (src/daemon/config.c):
 * a good file, each bad keyword or value reported as FILE:LINE, missing
 * files, a key file others can read, and every allocation failing in turn.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "rctest.h"
#include "rollcall/mem.h"

#define KEY "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

static char dir[512];
static char cert[600], key[600], ca_dir[600];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "%s", rctest_tmpdir());
	snprintf(cert, sizeof(cert), "%s/server.pem", dir);
	snprintf(key, sizeof(key), "%s/server.key", dir);
	snprintf(ca_dir, sizeof(ca_dir), "%s/devices", dir);
	rctest_write_file(cert, "cert\n", 5);
	rctest_write_file(key, "key\n", 4);
	chmod(key, 0600);
	mkdir(ca_dir, 0700);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	rctest_rmtree(dir);
	return 0;
}

/*
 * The good config with line `line` (1-based, among the lines below)
 * replaced by repl (NULL: kept; "" removes it).
 */
static void
make_conf(char *out, size_t outsize, int line, const char *repl)
{
	char lines[16][1024];
	size_t used = 0;
	int i, n = 0;

	snprintf(lines[n++], 1024, "listen 127.0.0.1 ::1");
	snprintf(lines[n++], 1024, "https-port 0");
	snprintf(lines[n++], 1024, "mqtt-port 0");
	snprintf(lines[n++], 1024, "hostname localhost dps.example.com");
	snprintf(lines[n++], 1024, "id-scope 0ne0012ABCD");
	snprintf(lines[n++], 1024, "store sqlite:%s/rollcall.db", dir);
	snprintf(lines[n++], 1024, "tls-cert %s", cert);
	snprintf(lines[n++], 1024, "tls-key %s", key);
	snprintf(lines[n++], 1024, "device-ca %s", ca_dir);
	snprintf(lines[n++], 1024,
	    "dps-policy provisioningserviceowner "
	    "ServiceConfig,EnrollmentRead,EnrollmentWrite %s",
	    KEY);
	snprintf(lines[n++], 1024,
	    "dps-policy enrollmentread EnrollmentRead %s", KEY);
	snprintf(lines[n++], 1024, "hub myhub hub.example.com");
	snprintf(lines[n++], 1024,
	    "hub-policy myhub iothubowner RegistryRead,RegistryWrite %s", KEY);
	snprintf(lines[n++], 1024, "workers 2");
	for (i = 0; i < n; i++) {
		const char *l =
		    (i + 1 == line && repl != NULL) ? repl : lines[i];
		int w = snprintf(out + used, outsize - used, "%s\n", l);

		assert_true(w > 0 && (size_t)w < outsize - used);
		used += (size_t)w;
	}
}

static void
test_good(void **state)
{
	struct config c;
	char text[8192], err[512];

	(void)state;
	make_conf(text, sizeof(text), 0, NULL);
	assert_int_equal(config_parse("t.conf", text, strlen(text), &c, err,
	                     sizeof(err)),
	    RC_OK);
	assert_int_equal(c.listen.n, 2);
	assert_int_equal(c.https_port, 0);
	assert_int_equal(c.roles_mask, ROLE_DPS | ROLE_HUB | ROLE_CA);
	assert_int_equal(c.ndps_policies, 2);
	assert_string_equal(c.dps_policies[1].name, "enrollmentread");
	assert_int_equal(c.dps_policies[1].rights, RC_RIGHT_ENROLLMENT_READ);
	assert_int_equal(c.dps_policies[0].keylen, 32);
	assert_int_equal(c.nhubs, 1);
	assert_string_equal(c.hubs[0].host, "hub.example.com");
	assert_int_equal(c.hubs[0].npolicies, 1);
	assert_int_equal(c.max_body, 1024 * 1024);
	assert_int_equal(c.request_timeout, 30);
	assert_int_equal(config_workers(&c), 2);
	config_free(&c);
	assert_null(c.dps_policies);
}

static void
test_defaults(void **state)
{
	struct config c;
	char text[2048], err[512];

	(void)state;
	snprintf(text, sizeof(text), "roles hub\ntls-cert %s\ntls-key %s\n",
	    cert, key);
	assert_int_equal(config_parse("t.conf", text, strlen(text), &c, err,
	                     sizeof(err)),
	    RC_OK);
	assert_int_equal(c.roles_mask, ROLE_HUB);
	assert_int_equal(c.https_port, 443);
	assert_int_equal(c.mqtt_port, 8883);
	assert_string_equal(c.listen.v[0], "0.0.0.0");
	assert_string_equal(c.hostname.v[0], "localhost");
	assert_true(config_workers(&c) >= 1);
	config_free(&c);
	/* The two ports must differ (the MQTT default is 8883). */
	snprintf(text, sizeof(text),
	    "roles hub\ntls-cert %s\ntls-key %s\nhttps-port 8883\n", cert, key);
	assert_int_equal(config_parse("t.conf", text, strlen(text), &c, err,
	                     sizeof(err)),
	    RC_EPARSE);
	assert_string_equal(err,
	    "t.conf: mqtt-port: same port as https-port (8883)");
}

struct bad {
	int line; /* line of make_conf replaced, 0: appended */
	const char *text;
	const char *want; /* expected message prefix after the file name */
};

static void
expect_bad(const struct bad *b)
{
	struct config c;
	char text[8192], err[512], want[600];
	size_t len;

	if (b->line > 0) {
		make_conf(text, sizeof(text), b->line, b->text);
	} else {
		make_conf(text, sizeof(text), 0, NULL);
		len = strlen(text);
		snprintf(text + len, sizeof(text) - len, "%s\n", b->text);
	}
	memset(&c, 0x5a, sizeof(c));
	assert_int_not_equal(config_parse("t.conf", text, strlen(text), &c, err,
	                         sizeof(err)),
	    RC_OK);
	snprintf(want, sizeof(want), "t.conf%s", b->want);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("for '%s': got '%s', want prefix '%s'", b->text, err,
		    want);
	assert_null(c.dps_policies); /* freed and zeroed on failure */
}

static void
test_bad_values(void **state)
{
	static const struct bad bads[] = {
	    {1, "listen 127.0.0.1 nothost", ":1: listen: 'nothost'"},
	    {2, "https-port 65536", ":2:"},
	    {2, "https-port -1", ":2:"},
	    {3, "mqtt-port x", ":3:"},
	    {4, "hostname localhost bad_name", ":4: hostname: 'bad_name'"},
	    {4, "hostname -x.example", ":4: hostname:"},
	    {5, "id-scope 0ne/../x", ":5: id-scope:"},
	    {5, "", ": id-scope: required"},
	    {0, "roles dps bogus", ":15:"},
	    {14, "workers 1025", ":14:"},
	    {0, "max-body 10", ":15:"},
	    {0, "max-body 65m", ":15:"},
	    {0, "request-timeout 0s", ":15:"},
	    {0, "request-timeout 2h", ":15:"},
	    {0, "log-level loud", ":15:"},
	    {0, "no-such-keyword 1", ":15:"},
	    {10, "dps-policy owner EnrollmentRead", ":10:"},
	    {10, "dps-policy owner Bogus " KEY,
	        ":10: dps-policy: owner: unknown right 'Bogus'"},
	    {10, "dps-policy owner RegistryRead " KEY,
	        ":10: dps-policy: owner: a right"},
	    {11, "dps-policy enrollmentread EnrollmentRead AAAA",
	        ":11: dps-policy: enrollmentread: key"},
	    {11, "dps-policy enrollmentread EnrollmentRead !!!!",
	        ":11: dps-policy: enrollmentread: key"},
	    {11, "dps-policy PROVISIONINGSERVICEOWNER EnrollmentRead " KEY,
	        ":11: dps-policy: policy 'PROVISIONINGSERVICEOWNER' given "
	        "twice"},
	    {11, "dps-policy bad/name EnrollmentRead " KEY,
	        ":11: dps-policy: policy name"},
	    {12, "hub my_hub hub.example.com", ":12: hub: hub name"},
	    {12, "hub myhub not_a_host", ":12: hub: 'not_a_host'"},
	    {13, "hub-policy other iothubowner RegistryRead " KEY,
	        ":13: hub-policy: no 'hub other' line"},
	    {13, "hub-policy myhub iothubowner EnrollmentRead " KEY,
	        ":13: hub-policy: iothubowner: a right"},
	    {0, "hub-policy myhub IOTHUBOWNER RegistryRead " KEY,
	        ":15: hub-policy: policy 'IOTHUBOWNER' given twice"},
	    {0, "hub myhub other.example.com", ":15: hub: hub 'myhub'"},
	    {7, "tls-cert /nonexistent/server.pem",
	        ":7: tls-cert: /nonexistent/server.pem: No such file"},
	    {7, "", ":"},
	    {8, "tls-key /nonexistent/server.key", ":8: tls-key:"},
	    {9, "device-ca /nonexistent", ":9: device-ca:"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++)
		expect_bad(&bads[i]);
}

static void
test_files(void **state)
{
	struct bad b;
	char repl[700];

	(void)state;
	/* A key others can read is refused, naming the mode. */
	chmod(key, 0644);
	b.line = 8;
	b.text = NULL;
	b.want = ":8: tls-key:";
	expect_bad(&b);
	chmod(key, 0640);
	expect_bad(&b);
	chmod(key, 0600);
	/* device-ca must be a directory, tls-cert a file. */
	snprintf(repl, sizeof(repl), "device-ca %s", cert);
	b.line = 9;
	b.text = repl;
	b.want = ":9: device-ca:";
	expect_bad(&b);
	snprintf(repl, sizeof(repl), "tls-cert %s", ca_dir);
	b.line = 7;
	b.want = ":7: tls-cert:";
	expect_bad(&b);
	snprintf(repl, sizeof(repl), "trust-bundle %s/none.pem", dir);
	b.line = 0;
	b.want = ":15: trust-bundle:";
	expect_bad(&b);
}

static void
test_load(void **state)
{
	const char *path = rctest_path(dir, "rollcall.conf");
	struct config c;
	char text[8192], err[512], want[700];

	(void)state;
	make_conf(text, sizeof(text), 0, NULL);
	rctest_write_file(path, text, strlen(text));
	chmod(path, 0600);
	assert_int_equal(config_load(path, &c, err, sizeof(err)), RC_OK);
	assert_int_equal(c.ndps_policies, 2);
	config_free(&c);
	/* Secrets in a file others can read: refused. */
	chmod(path, 0644);
	assert_int_not_equal(config_load(path, &c, err, sizeof(err)), RC_OK);
	assert_non_null(strstr(err, path));
	chmod(path, 0600);
	/* A check after parsing still names FILE:LINE. */
	make_conf(text, sizeof(text), 11,
	    "dps-policy enrollmentread EnrollmentRead AAAA");
	rctest_write_file(path, text, strlen(text));
	assert_int_not_equal(config_load(path, &c, err, sizeof(err)), RC_OK);
	snprintf(want, sizeof(want), "%s:11: dps-policy:", path);
	assert_memory_equal(err, want, strlen(want));
	/* A missing file. */
	assert_int_not_equal(config_load(rctest_path(dir, "none.conf"), &c, err,
	                         sizeof(err)),
	    RC_OK);
	assert_non_null(strstr(err, "none.conf"));
	unlink(path);
}

static int
parse_once(void *arg)
{
	struct config c;
	char err[512];
	int rc;

	rc = config_parse("t.conf", arg, strlen(arg), &c, err, sizeof(err));
	if (rc == RC_OK)
		config_free(&c);
	return rc;
}

static void
test_alloc_failures(void **state)
{
	char text[8192];

	(void)state;
	make_conf(text, sizeof(text), 0, NULL);
	rctest_each_alloc(parse_once, text, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_bad_values),
	    cmocka_unit_test(test_files),
	    cmocka_unit_test(test_load),
	    cmocka_unit_test(test_alloc_failures),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
