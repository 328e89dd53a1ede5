/*
 * The CLI's pure parts: connection string host to URL, connections.json
 * intake, error bodies to one line, tables, `init` option parsing and the
 * files it writes.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rctest.h"

#include "cli.h"
#include "client.h"
#include "enroll.h"
#include "init.h"
#include "rollcall/json.h"
#include "rollcall/mem.h"

static void
url_ok(const char *host, long dflt, const char *want_base, const char *want_sr)
{
	char *base = NULL, *sr = NULL;

	assert_int_equal(client_base_url(host, dflt, &base, &sr), RC_OK);
	assert_string_equal(base, want_base);
	assert_string_equal(sr, want_sr);
	rc_free(base);
	rc_free(sr);
}

static void
url_bad(const char *host)
{
	char *base = (char *)1, *sr = (char *)1;

	assert_int_not_equal(client_base_url(host, 443, &base, &sr), RC_OK);
	assert_null(base);
	assert_null(sr);
}

static void
test_base_url(void **state)
{
	(void)state;
	url_ok("rc.test", 443, "https://rc.test", "rc.test");
	url_ok("rc.test", 8443, "https://rc.test:8443", "rc.test");
	url_ok("localhost:40123", 443, "https://localhost:40123", "localhost");
	/* A port in the HostName wins over --data's httpsPort. */
	url_ok("localhost:40123", 8443, "https://localhost:40123", "localhost");
	url_ok("127.0.0.1:1", 443, "https://127.0.0.1:1", "127.0.0.1");
	url_ok("localhost:65535", 443, "https://localhost:65535", "localhost");
	url_ok("localhost:443", 8443, "https://localhost", "localhost");
	url_ok("[::1]:8443", 443, "https://[::1]:8443", "[::1]");
	url_ok("[::1]", 443, "https://[::1]", "[::1]");
	url_ok("::1", 9000, "https://[::1]:9000", "[::1]");
	url_ok("my-dps_1.example.com", 443, "https://my-dps_1.example.com",
	    "my-dps_1.example.com");

	url_bad("");
	url_bad("localhost:");
	url_bad("localhost:0");
	url_bad("localhost:65536");
	url_bad("localhost:-1");
	url_bad("localhost:80x");
	url_bad("localhost:+80");
	url_bad("[::1");
	url_bad("[::1]x");
	url_bad("[::1]:");
	url_bad("[]:80");
	url_bad("host:1:2");
	url_bad("ho st");
	url_bad("host/path");
	url_bad("user@host");
}

static void
test_base_url_default_port(void **state)
{
	char *base = NULL, *sr = NULL;

	(void)state;
	/* --data of a server on port 0 (not yet bound) gives no URL. */
	assert_int_equal(client_base_url("rc.test", 0, &base, &sr), RC_EPARSE);
	assert_int_equal(client_base_url("rc.test", 65536, &base, &sr),
	    RC_EPARSE);
}

static const char conn_json[] =
    "{\"idScope\":\"0ne0000ABCD\",\"dps\":{\"host\":\"rc.test\","
    "\"httpsPort\":8443,\"mqttPort\":8883,\"connectionString\":"
    "\"HostName=rc.test;SharedAccessKeyName=provisioningserviceowner;"
    "SharedAccessKey=AAAA\"},\"trustBundle\":\"/d/ca/root.pem\"}";

static void
test_connections(void **state)
{
	char *cs = NULL, *trust = NULL;
	long port = -1;

	(void)state;
	assert_int_equal(client_parse_connections(conn_json, strlen(conn_json),
	                     &cs, &port, &trust),
	    RC_OK);
	assert_string_equal(cs,
	    "HostName=rc.test;SharedAccessKeyName=provisioningserviceowner;"
	    "SharedAccessKey=AAAA");
	assert_int_equal(port, 8443);
	assert_string_equal(trust, "/d/ca/root.pem");
	rc_free(cs);
	rc_free(trust);
}

static void
conn_bad(const char *text)
{
	char *cs = (char *)1, *trust = (char *)1;
	long port = -1;

	assert_int_not_equal(client_parse_connections(text, strlen(text), &cs,
	                         &port, &trust),
	    RC_OK);
	assert_null(cs);
	assert_null(trust);
	assert_int_equal(port, 0);
}

static void
test_connections_bad(void **state)
{
	char *cs = NULL, *trust = NULL;
	const char *min = "{\"dps\":{\"connectionString\":\"x\"}}";
	long port = -1;

	(void)state;
	conn_bad("");
	conn_bad("{");
	conn_bad("[]");
	conn_bad("{}");
	conn_bad("{\"dps\":{}}");
	conn_bad("{\"dps\":{\"connectionString\":1}}");
	conn_bad(
	    "{\"dps\":{\"connectionString\":\"x\",\"httpsPort\":\"443\"}}");
	conn_bad("{\"dps\":{\"connectionString\":\"x\",\"httpsPort\":-1}}");
	conn_bad("{\"dps\":{\"connectionString\":\"x\",\"httpsPort\":65536}}");
	conn_bad("{\"dps\":{\"connectionString\":\"x\"},\"dps\":{}}");
	/* Truncated: every prefix of a good file fails. */
	for (size_t i = 0; i < strlen(conn_json); i++) {
		cs = trust = NULL;
		assert_int_not_equal(client_parse_connections(conn_json, i, &cs,
		                         &port, &trust),
		    RC_OK);
		assert_null(cs);
	}
	/* Port and trust bundle are optional. */
	assert_int_equal(client_parse_connections(min, strlen(min), &cs, &port,
	                     &trust),
	    RC_OK);
	assert_int_equal(port, -1);
	assert_null(trust);
	rc_free(cs);
}

static int
connections_once(void *arg)
{
	char *cs = NULL, *trust = NULL;
	long port;
	int rc;

	(void)arg;
	rc = client_parse_connections(conn_json, strlen(conn_json), &cs, &port,
	    &trust);
	rc_free(cs);
	rc_free(trust);
	return rc;
}

static void
test_connections_alloc(void **state)
{
	(void)state;
	rctest_each_alloc(connections_once, NULL, 1);
}

static void
line_is(long status, const char *body, const char *want)
{
	char out[512];

	client_error_line(status, body, body != NULL ? strlen(body) : 0, out,
	    sizeof(out));
	assert_string_equal(out, want);
}

static void
test_error_line(void **state)
{
	char small[16];

	(void)state;
	line_is(412,
	    "{\"errorCode\":412002,\"trackingId\":\"t\",\"message\":"
	    "\"etag mismatch\",\"timestampUtc\":\"2024-01-01T00:00:00Z\"}",
	    "412 Precondition Failed: etag mismatch");
	line_is(404,
	    "{\"Message\":\"ErrorCode:DeviceNotFound;no such device\","
	    "\"ExceptionMessage\":\"\"}",
	    "404 Not Found: no such device");
	line_is(404, "{\"Message\":\"plain\"}", "404 Not Found: plain");
	line_is(401, "", "401 Unauthorized");
	line_is(401, NULL, "401 Unauthorized");
	line_is(409, "{\"errorCode\":409201}", "409 Conflict");
	line_is(500, "boom\n", "500 Internal Server Error: boom");
	line_is(502, "<html><body>bad gateway</body></html>",
	    "502 Bad Gateway");
	line_is(599, "", "599");
	/* A server cannot move the cursor or forge a second line. */
	line_is(400, "{\"message\":\"a\\u001b[2Jb\\nrollcall: ok\"}",
	    "400 Bad Request: a?[2Jb?rollcall: ok");
	line_is(400, "{\"message\":5}", "400 Bad Request");
	/* Truncated, still terminated. */
	client_error_line(412, "{\"message\":\"a long message here\"}", 33,
	    small, sizeof(small));
	assert_true(strlen(small) < sizeof(small));
	assert_memory_equal(small, "412 Precon", 10);
	assert_string_equal(client_reason(413), "Content Too Large");
	assert_string_equal(client_reason(1), "");
}

static char *
print_table(struct table *t)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	table_print(t, f);
	fclose(f);
	return text;
}

static void
test_table(void **state)
{
	static const char *const headers[] = {"ID", "STATUS", "UPDATED"};
	const char *r1[] = {"device-1", "enabled", "2024-01-01T00:00:00Z"};
	const char *r2[] = {"d\x1b[31m", NULL, ""};
	const char *r3[] = {"d\xc3\xa9vice", "disabled", "x"};
	struct table *t = NULL;
	char *text;

	(void)state;
	assert_int_equal(table_new(3, headers, &t), RC_OK);
	assert_int_equal(table_rows(t), 0);
	assert_int_equal(table_add(t, r1), RC_OK);
	assert_int_equal(table_add(t, r2), RC_OK);
	assert_int_equal(table_add(t, r3), RC_OK);
	assert_int_equal(table_rows(t), 3);
	text = print_table(t);
	assert_string_equal(text,
	    "ID        STATUS    UPDATED\n"
	    "device-1  enabled   2024-01-01T00:00:00Z\n"
	    "d?[31m    -         -\n"
	    "d\xc3\xa9vice    disabled  x\n");
	free(text);
	table_free(t);
	table_free(NULL);
	assert_int_equal(table_new(0, headers, &t), RC_EINVAL);
}

static int
table_once(void *arg)
{
	static const char *const headers[] = {"A", "B"};
	const char *row[] = {"1", "2"};
	struct table *t = NULL;
	int rc, i;

	(void)arg;
	if ((rc = table_new(2, headers, &t)) != RC_OK)
		return rc;
	for (i = 0; i < 40 && rc == RC_OK; i++)
		rc = table_add(t, row);
	table_free(t);
	return rc;
}

static void
test_table_alloc(void **state)
{
	(void)state;
	rctest_each_alloc(table_once, NULL, 1);
}

static void
test_enroll_table(void **state)
{
	const char *list_text =
	    "[{\"registrationId\":\"dev1\",\"provisioningStatus\":\"enabled\","
	    "\"attestation\":{\"type\":\"x509\",\"x509\":{"
	    "\"clientCertificates\":{\"primary\":{\"info\":{"
	    "\"sha256Thumbprint\":\"0123456789ABCDEF0123456789ABCDEF\"}}}}},"
	    "\"lastUpdatedDateTimeUtc\":\"2024-05-01T10:00:00Z\"}]";
	const char *groups_text =
	    "[{\"enrollmentGroupId\":\"g\",\"provisioningStatus\":\"disabled\","
	    "\"attestation\":{\"type\":\"x509\",\"x509\":{\"caReferences\":{"
	    "\"primary\":\"fleet-ca\"}}}}]";
	json_t *list = NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_int_equal(rc_json_parse(list_text, strlen(list_text), 4096,
	                     &list, NULL, 0),
	    RC_OK);
	assert_non_null(f = open_memstream(&text, &len));
	assert_int_equal(enroll_table(&enroll_individual, list, f), RC_OK);
	fclose(f);
	assert_string_equal(text,
	    "ID    STATUS   PRIMARY SHA-256   SECONDARY  UPDATED\n"
	    "dev1  enabled  0123456789ABCDEF  -          "
	    "2024-05-01T10:00:00Z\n");
	free(text);
	json_decref(list);

	assert_int_equal(rc_json_parse(groups_text, strlen(groups_text), 4096,
	                     &list, NULL, 0),
	    RC_OK);
	assert_non_null(f = open_memstream(&text, &len));
	assert_int_equal(enroll_table(&enroll_group, list, f), RC_OK);
	fclose(f);
	assert_string_equal(text,
	    "ID  STATUS    PRIMARY SHA-256  SECONDARY  UPDATED\n"
	    "g   disabled  ca:fleet-ca      -          -\n");
	free(text);
	json_decref(list);
}

static void
test_reprov(void **state)
{
	json_t *p;
	int u = -1, m = -1;

	(void)state;
	assert_int_equal(enroll_reprov_parse("update-and-migrate", &u, &m),
	    RC_OK);
	assert_true(u == 1 && m == 1);
	assert_int_equal(enroll_reprov_parse("update-and-reset", &u, &m),
	    RC_OK);
	assert_true(u == 1 && m == 0);
	assert_int_equal(enroll_reprov_parse("never", &u, &m), RC_OK);
	assert_true(u == 0 && m == 0);
	assert_int_equal(enroll_reprov_parse("Never", &u, &m), RC_EPARSE);
	assert_int_equal(enroll_reprov_parse("", &u, &m), RC_EPARSE);

	assert_string_equal(enroll_reprov_name(NULL), "-");
	p = json_pack("{s:b, s:b}", "updateHubAssignment", 1,
	    "migrateDeviceData", 0);
	assert_string_equal(enroll_reprov_name(p), "update-and-reset");
	json_decref(p);
	p = json_pack("{s:b}", "updateHubAssignment", 0);
	assert_string_equal(enroll_reprov_name(p), "never");
	json_decref(p);
	p = json_object();
	assert_string_equal(enroll_reprov_name(p), "update-and-migrate");
	json_decref(p);
}

/* Runs init_parse_opts over a NULL-terminated argument list. */
static int
parse_init(struct init_opts *o, ...)
{
	char *argv[32];
	va_list ap;
	int argc = 0;

	argv[argc++] = (char *)"init";
	va_start(ap, o);
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	optind = 0;
	opterr = 0;
	return init_parse_opts(argc, argv, o);
}

static void
test_init_defaults(void **state)
{
	struct init_opts o;

	(void)state;
	assert_int_equal(parse_init(&o, "d", NULL), CLI_OK);
	assert_string_equal(o.dir, "d");
	assert_int_equal(o.nhosts, 1);
	assert_string_equal(o.hosts[0], "localhost");
	assert_int_equal(o.nlisten, 1);
	assert_string_equal(o.listen[0], "0.0.0.0");
	assert_int_equal(o.https_port, 443);
	assert_int_equal(o.mqtt_port, 8883);
	assert_int_equal(o.nhubs, 1);
	assert_string_equal(o.hubs[0].name, "localhost");
	assert_string_equal(o.hubs[0].host, "localhost");
	assert_false(o.json || o.force || o.help);
}

static void
test_init_options(void **state)
{
	struct init_opts o;

	(void)state;
	assert_int_equal(parse_init(&o, "--hostname", "rc.test", "dir",
	                     "--hostname", "10.0.0.5", "--https-port", "0",
	                     "--mqtt-port", "65535", "--listen", "127.0.0.2",
	                     "--listen", "::1", "--json", "--force", NULL),
	    CLI_OK);
	assert_string_equal(o.dir, "dir");
	assert_int_equal(o.nhosts, 2);
	assert_string_equal(o.hosts[1], "10.0.0.5");
	assert_int_equal(o.https_port, 0);
	assert_int_equal(o.mqtt_port, 65535);
	assert_int_equal(o.nlisten, 2);
	assert_true(o.json && o.force);
	/* The default hub: the first host name's first label, on it. */
	assert_int_equal(o.nhubs, 1);
	assert_string_equal(o.hubs[0].name, "rc");
	assert_string_equal(o.hubs[0].host, "rc.test");

	assert_int_equal(parse_init(&o, "d", "--hub", "north", "--hub",
	                     "south=south.example", "--hostname", "dps.example",
	                     NULL),
	    CLI_OK);
	assert_int_equal(o.nhubs, 2);
	assert_string_equal(o.hubs[0].name, "north");
	assert_string_equal(o.hubs[0].host, "dps.example");
	assert_string_equal(o.hubs[1].host, "south.example");

	/* An IP address as the first name: the hub is called "hub". */
	assert_int_equal(parse_init(&o, "d", "--hostname", "127.0.0.7", NULL),
	    CLI_OK);
	assert_string_equal(o.hubs[0].name, "hub");
	assert_string_equal(o.hubs[0].host, "127.0.0.7");

	assert_int_equal(parse_init(&o, "--help", NULL), CLI_OK);
	assert_true(o.help);
}

static void
test_init_bad(void **state)
{
	struct init_opts o;

	(void)state;
	assert_int_equal(parse_init(&o, NULL), CLI_USAGE);
	assert_int_equal(parse_init(&o, "a", "b", NULL), CLI_USAGE);
	assert_int_equal(parse_init(&o, "", NULL), CLI_USAGE);
	assert_int_equal(parse_init(&o, "d", "--https-port", "65536", NULL),
	    CLI_USAGE);
	assert_int_equal(parse_init(&o, "d", "--https-port", "-1", NULL),
	    CLI_USAGE);
	assert_int_equal(parse_init(&o, "d", "--mqtt-port", "x", NULL),
	    CLI_USAGE);
	assert_int_equal(parse_init(&o, "d", "--hostname", "bad name", NULL),
	    CLI_USAGE);
	assert_int_equal(parse_init(&o, "d", "--hostname", "-x.test", NULL),
	    CLI_USAGE);
	assert_int_equal(parse_init(&o, "d", "--hostname", "a..b", NULL),
	    CLI_USAGE);
	assert_int_equal(parse_init(&o, "d", "--hostname", "", NULL),
	    CLI_USAGE);
	assert_int_equal(parse_init(&o, "d", "--hub", "a_b", NULL), CLI_USAGE);
	assert_int_equal(parse_init(&o, "d", "--hub", "=h", NULL), CLI_USAGE);
	assert_int_equal(parse_init(&o, "d", "--hub", "h=", NULL), CLI_USAGE);
	assert_int_equal(parse_init(&o, "d", "--hub", "h", "--hub", "H", NULL),
	    CLI_USAGE);
	assert_int_equal(parse_init(&o, "d", "--listen", "a b", NULL),
	    CLI_USAGE);
	/* rollcalld binds IP addresses, not names. */
	assert_int_equal(parse_init(&o, "d", "--listen", "localhost", NULL),
	    CLI_USAGE);
	assert_int_equal(parse_init(&o, "d", "--nope", NULL), CLI_USAGE);
	assert_int_equal(parse_init(&o, "d", "--hostname", NULL), CLI_USAGE);
}

static void
test_init_sans(void **state)
{
	char buf[2048];
	const char *sans[INIT_MAX_SANS];
	struct init_opts o;
	size_t n;

	(void)state;
	assert_int_equal(parse_init(&o, "d", "--hostname", "rc.test",
	                     "--hostname", "LOCALHOST", "--hostname",
	                     "192.0.2.1", "--hostname", "fd00::1", "--hub",
	                     "h=hub.test", NULL),
	    CLI_OK);
	assert_int_equal(init_sans(&o, buf, sizeof(buf), sans, &n), RC_OK);
	assert_int_equal(n, 7);
	assert_string_equal(sans[0], "DNS:localhost");
	assert_string_equal(sans[1], "IP:127.0.0.1");
	assert_string_equal(sans[2], "IP:::1");
	assert_string_equal(sans[3], "DNS:rc.test");
	assert_string_equal(sans[4], "IP:192.0.2.1");
	assert_string_equal(sans[5], "IP:fd00::1");
	assert_string_equal(sans[6], "DNS:hub.test");
	/* The buffer's size is checked. */
	assert_int_equal(init_sans(&o, buf, 40, sans, &n), RC_ETOOBIG);
}

static void
test_init_files(void **state)
{
	struct init_opts o;
	struct init_keys k;
	struct rc_wbuf w;
	json_t *j = NULL, *hub;
	const char *cs;

	(void)state;
	assert_int_equal(parse_init(&o, "d", "--hostname", "rc.test",
	                     "--https-port", "8443", NULL),
	    CLI_OK);
	assert_int_equal(init_keys_new(&o, &k), RC_OK);
	assert_int_equal(strlen(k.id_scope), 11);
	assert_memory_equal(k.id_scope, "0ne", 3);
	assert_int_equal(strspn(k.id_scope + 3, "0123456789ABCDEF"), 8);
	assert_int_equal(strlen(k.dps[0]), 44);
	assert_string_not_equal(k.dps[0], k.dps[1]);

	rc_wbuf_init(&w, 65536);
	assert_int_equal(init_conf_text(&o, &k, "/data dir/x", &w), RC_OK);
	assert_non_null(strstr((char *)w.data, "\nhttps-port 8443\n"));
	assert_non_null(strstr((char *)w.data, "\nhostname rc.test\n"));
	assert_non_null(strstr((char *)w.data,
	    "\nstore \"sqlite:/data dir/x/rollcall.db\"\n"));
	assert_non_null(strstr((char *)w.data,
	    "\ndps-policy enrollmentread EnrollmentRead,"
	    "RegistrationStatusRead "));
	assert_non_null(strstr((char *)w.data, "\nhub rc rc.test\n"));
	assert_non_null(strstr((char *)w.data,
	    "\nhub-policy rc registryReadWrite RegistryRead,RegistryWrite "));
	assert_non_null(strstr((char *)w.data, k.dps[2]));
	rc_wbuf_free_secret(&w);

	assert_int_equal(init_connections_json(&o, &k, "/d", &j), RC_OK);
	assert_string_equal(json_string_value(json_object_get(j, "idScope")),
	    k.id_scope);
	assert_int_equal(json_integer_value(
	                     json_object_get(json_object_get(j, "dps"),
	                         "httpsPort")),
	    8443);
	cs = json_string_value(
	    json_object_get(json_object_get(j, "dps"), "connectionString"));
	assert_non_null(cs);
	assert_memory_equal(cs,
	    "HostName=rc.test;SharedAccessKeyName=provisioningserviceowner;"
	    "SharedAccessKey=",
	    78);
	hub = json_array_get(json_object_get(j, "hubs"), 0);
	assert_string_equal(json_string_value(json_object_get(hub, "name")),
	    "rc");
	assert_non_null(
	    json_object_get(json_object_get(hub, "connectionStrings"),
	        "registryRead"));
	assert_string_equal(json_string_value(
	                        json_object_get(j, "trustBundle")),
	    "/d/ca/root.pem");
	assert_string_equal(json_string_value(
	                        json_object_get(json_object_get(j, "deviceCa"),
	                            "dir")),
	    "/d/ca/devices");
	json_decref(j);
	init_keys_clear(&k);
}

static int
init_files_once(void *arg)
{
	struct init_opts *o = arg;
	struct init_keys k;
	struct rc_wbuf w;
	json_t *j = NULL;
	int rc;

	if ((rc = init_keys_new(o, &k)) != RC_OK)
		return rc;
	rc_wbuf_init(&w, 65536);
	if ((rc = init_conf_text(o, &k, "/d", &w)) == RC_OK)
		rc = init_connections_json(o, &k, "/d", &j);
	rc_wbuf_free_secret(&w);
	json_decref(j);
	init_keys_clear(&k);
	return rc;
}

static void
test_init_files_alloc(void **state)
{
	struct init_opts o;

	(void)state;
	assert_int_equal(parse_init(&o, "d", NULL), CLI_OK);
	rctest_each_alloc(init_files_once, &o, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base_url),
	    cmocka_unit_test(test_base_url_default_port),
	    cmocka_unit_test(test_connections),
	    cmocka_unit_test(test_connections_bad),
	    cmocka_unit_test(test_connections_alloc),
	    cmocka_unit_test(test_error_line),
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_table_alloc),
	    cmocka_unit_test(test_enroll_table),
	    cmocka_unit_test(test_reprov),
	    cmocka_unit_test(test_init_defaults),
	    cmocka_unit_test(test_init_options),
	    cmocka_unit_test(test_init_bad),
	    cmocka_unit_test(test_init_sans),
	    cmocka_unit_test(test_init_files),
	    cmocka_unit_test(test_init_files_alloc),
	};

	rc_mem_hook_openssl();
	rc_json_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
