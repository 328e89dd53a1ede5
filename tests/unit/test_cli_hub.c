/*
 * The hub commands' pure parts: picking a hub's connection string out of
 * connections.json, hub error names, thumbprint syntax.
 */
#include <stdio.h>
#include <string.h>

#include "rctest.h"

#include "cli.h"
#include "client.h"
#include "hub.h"
#include "rollcall/json.h"
#include "rollcall/mem.h"

static const char conn_json[] =
    "{\"dps\":{\"httpsPort\":8443,\"connectionString\":\"HostName=d;"
    "SharedAccessKeyName=p;SharedAccessKey=AAAA\"},"
    "\"hubs\":[{\"name\":\"alpha\",\"host\":\"a.test\","
    "\"connectionString\":\"HostName=a.test;SharedAccessKeyName=iothubowner;"
    "SharedAccessKey=AAAA\"},"
    "{\"name\":\"Beta\",\"host\":\"b.test\",\"connectionString\":"
    "\"HostName=b.test;SharedAccessKeyName=iothubowner;SharedAccessKey=BBBB\""
    "}],\"trustBundle\":\"/d/ca/root.pem\"}";

static void
hub_is(const char *hub, const char *want)
{
	char *cs = NULL, *trust = NULL;
	long port = -1;

	assert_int_equal(client_parse_hub_connections(conn_json,
	                     strlen(conn_json), hub, &cs, &port, &trust),
	    RC_OK);
	assert_string_equal(cs, want);
	assert_int_equal(port, 8443);
	assert_string_equal(trust, "/d/ca/root.pem");
	rc_free(cs);
	rc_free(trust);
}

static void
hub_bad(const char *text, const char *hub)
{
	char *cs = (char *)1, *trust = (char *)1;
	long port = -1;

	assert_int_not_equal(client_parse_hub_connections(text, strlen(text),
	                         hub, &cs, &port, &trust),
	    RC_OK);
	assert_null(cs);
	assert_null(trust);
	assert_int_equal(port, 0);
}

static void
test_hub_connections(void **state)
{
	size_t i;

	(void)state;
	hub_is(NULL,
	    "HostName=a.test;SharedAccessKeyName=iothubowner;"
	    "SharedAccessKey=AAAA");
	hub_is("beta",
	    "HostName=b.test;SharedAccessKeyName=iothubowner;"
	    "SharedAccessKey=BBBB");
	hub_is("ALPHA",
	    "HostName=a.test;SharedAccessKeyName=iothubowner;"
	    "SharedAccessKey=AAAA");
	hub_bad(conn_json, "gamma");
	hub_bad("{\"dps\":{}}", NULL);
	hub_bad("{\"hubs\":[]}", NULL);
	hub_bad("{\"hubs\":{}}", NULL);
	hub_bad("{\"hubs\":[{\"name\":\"a\",\"connectionString\":1}]}", NULL);
	hub_bad("{\"hubs\":[{\"name\":\"a\",\"connectionString\":\"x\"}],"
	        "\"dps\":{\"httpsPort\":65536}}",
	    NULL);
	hub_bad("", NULL);
	hub_bad("garbage", NULL);
	/* Every truncation fails cleanly. */
	for (i = 0; i + 1 < sizeof(conn_json) - 1; i++) {
		char *cs = NULL, *trust = NULL;
		long port;

		assert_int_not_equal(client_parse_hub_connections(conn_json, i,
		                         NULL, &cs, &port, &trust),
		    RC_OK);
		assert_null(cs);
	}
}

static int
hub_once(void *arg)
{
	char *cs = NULL, *trust = NULL;
	long port;
	int rc;

	rc = client_parse_hub_connections(conn_json, strlen(conn_json), arg,
	    &cs, &port, &trust);
	rc_free(cs);
	rc_free(trust);
	return rc;
}

static void
test_hub_connections_alloc(void **state)
{
	(void)state;
	rctest_each_alloc(hub_once, "beta", 1);
}

static void
code_is(const char *body, const char *want)
{
	char out[32];

	assert_int_equal(hub_error_code(body, body != NULL ? strlen(body) : 0,
	                     out, sizeof(out)),
	    *want != '\0');
	assert_string_equal(out, want);
}

static int
code_small(const char *body, char *small)
{
	return hub_error_code(body, strlen(body), small, 4);
}

static void
test_error_code(void **state)
{
	char small[4];

	(void)state;
	code_is("{\"Message\":\"ErrorCode:DeviceNotOnline;Timed out\"}",
	    "DeviceNotOnline");
	code_is("{\"Message\":\"ErrorCode:DeviceNotFound\"}", "DeviceNotFound");
	code_is("{\"Message\":\"ErrorCode:;x\"}", "");
	code_is("{\"Message\":\"DeviceNotFound\"}", "");
	code_is("{\"message\":\"ErrorCode:X;y\"}", "");
	code_is("{\"Message\":7}", "");
	code_is("[]", "");
	code_is("not json", "");
	code_is("", "");
	code_is(NULL, "");
	/* A name longer than the buffer is refused, not cut. */
	code_is("{\"Message\":\"ErrorCode:"
	        "AVeryLongErrorNameThatDoesNotFitHere;x\"}",
	    "");
	assert_int_equal(code_small("{\"Message\":\"ErrorCode:Abc;\"}", small),
	    1);
	assert_string_equal(small, "Abc");
	assert_int_equal(code_small("{\"Message\":\"ErrorCode:Abcd;\"}", small),
	    0);
	assert_string_equal(small, "");
}

static void
test_thumbprint(void **state)
{
	char s[66];

	(void)state;
	memset(s, 'a', sizeof(s));
	s[40] = '\0';
	assert_true(hub_thumbprint_ok(s));
	s[64] = '\0';
	s[40] = 'F';
	assert_true(hub_thumbprint_ok(s));
	s[65] = '\0';
	s[64] = '0';
	assert_false(hub_thumbprint_ok(s));
	s[39] = '\0';
	assert_false(hub_thumbprint_ok(s));
	s[39] = 'g';
	s[40] = '\0';
	assert_false(hub_thumbprint_ok(s));
	assert_false(hub_thumbprint_ok(""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hub_connections),
	    cmocka_unit_test(test_hub_connections_alloc),
	    cmocka_unit_test(test_error_code),
	    cmocka_unit_test(test_thumbprint),
	};

	rc_mem_hook_openssl();
	rc_json_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
