/*
 * PUT /twins/{id}/import, the hub service's whole-twin write
 * (src/hub/service_twin_import.c, docs/api.md "Twin import"): requests
 * built in C go through hub_service_handle against a fresh SQLite store in
 * a temp dir; the device's own reports are written through the store, as
 * the session layer does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "hub/auth.h"
#include "hub/service.h"
#include "rctest.h"
#include "rollcall/json.h"
#include "rollcall/mem.h"
#include "rollcall/store.h"

#define ALL RC_RIGHTS_HUB_ALL
#define T1 "0123456789ABCDEF0123456789ABCDEF01234567"

struct fx {
	char dir[600];
	struct rc_store *store;
	struct hub_auth_cache *cache;
	struct hub_service *hs;
	struct hub_session_ops ops;
	struct rc_http_resp resp;
	json_t *j;
	int pushes;
};

static void
fake_push(void *arg, const char *id, const json_t *desired, long long v)
{
	struct fx *f = arg;

	(void)id;
	(void)desired;
	(void)v;
	f->pushes++;
}

static int
setup(void **state)
{
	struct hub_service_config cfg;
	static int seq;
	struct fx *f;
	char uri[700], sub[32];

	assert_non_null(f = calloc(1, sizeof(*f)));
	snprintf(sub, sizeof(sub), "t%d", seq++);
	snprintf(f->dir, sizeof(f->dir), "%s",
	    rctest_path(rctest_tmpdir(), sub));
	assert_int_equal(mkdir(f->dir, 0700), 0);
	snprintf(uri, sizeof(uri), "sqlite:%s", rctest_path(f->dir, "t.db"));
	assert_int_equal(rc_store_open(uri, &f->store), RC_OK);
	assert_int_equal(hub_auth_cache_new("h1", &f->cache), RC_OK);
	f->ops.arg = f;
	f->ops.desired_push = fake_push;
	memset(&cfg, 0, sizeof(cfg));
	cfg.hub = "h1";
	cfg.host = "h1.example.com";
	cfg.cache = f->cache;
	cfg.ops = &f->ops;
	assert_int_equal(hub_service_new(&cfg, f->store, &f->hs), RC_OK);
	rc_http_resp_init(&f->resp, 1 << 22);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	json_decref(f->j);
	rc_http_resp_free(&f->resp);
	hub_service_free(f->hs);
	hub_auth_cache_free(f->cache);
	rc_store_close(f->store);
	rctest_rmtree(f->dir);
	free(f);
	return 0;
}

static const char *
resp_header(struct fx *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->resp.nheaders; i++)
		if (strcasecmp(f->resp.headers[i][0], name) == 0)
			return f->resp.headers[i][1];
	return NULL;
}

/* One request; the status.  The body (JSON) is in f->j. */
static int
call(struct fx *f, enum rc_http_method m, const char *path, const char *body,
    unsigned rights, const char *if_match)
{
	struct rc_principal who = {"tester", rights};
	struct rc_http_req req;

	memset(&req, 0, sizeof(req));
	req.method = m;
	req.path = path;
	req.query = "api-version=2021-04-12";
	req.host = "h1.example.com";
	req.peer = "127.0.0.1:1";
	if (if_match != NULL) {
		req.headers[0].name = "If-Match";
		req.headers[0].value = if_match;
		req.nheaders = 1;
	}
	req.body = (const uint8_t *)body;
	req.body_len = body != NULL ? strlen(body) : 0;
	rc_http_resp_free(&f->resp);
	rc_http_resp_init(&f->resp, 1 << 22);
	json_decref(f->j);
	f->j = NULL;
	hub_service_handle(f->hs, &req, &who, &f->resp);
	if (f->resp.body.len > 0)
		assert_non_null(
		    f->j = json_loadb((const char *)f->resp.body.data,
		        f->resp.body.len, 0, NULL));
	if (f->resp.status >= 400)
		assert_non_null(resp_header(f, "iothub-errorcode"));
	return f->resp.status;
}

static void
json_is(json_t *got, const char *want)
{
	json_t *w;

	assert_non_null(w = json_loads(want, 0, NULL));
	if (!json_equal(got, w)) {
		char *g = json_dumps(got, JSON_COMPACT);

		fprintf(stderr, "got  %s\nwant %s\n", g, want);
		rc_free(g);
		fail();
	}
	json_decref(w);
}

/* The $version of a section of the twin in f->j. */
static long long
version_of(struct fx *f, const char *name)
{
	json_t *s = json_object_get(json_object_get(f->j, "properties"), name);

	return json_integer_value(json_object_get(s, "$version"));
}

static json_t *
section(struct fx *f, const char *name)
{
	json_t *s = json_object_get(json_object_get(f->j, "properties"), name);

	assert_non_null(s);
	json_object_del(s, "$version");
	return s;
}

/* A device "d" with tags, desired and a report of its own. */
static void
seed(struct fx *f)
{
	struct rc_hub_twin_patch p;
	struct rc_store_ctx ctx = {"device", NULL};
	struct rc_hub_device *d = NULL;
	json_t *rep;

	assert_int_equal(call(f, RC_HTTP_PUT, "/devices/d",
	                     "{\"authentication\":{\"x509Thumbprint\":"
	                     "{\"primaryThumbprint\":\"" T1 "\"}}}",
	                     ALL, NULL),
	    200);
	assert_int_equal(call(f, RC_HTTP_PATCH, "/twins/d",
	                     "{\"tags\":{\"old\":1},\"properties\":"
	                     "{\"desired\":{\"keep\":false}}}",
	                     ALL, NULL),
	    200);
	assert_non_null(rep = json_loads("{\"old\":1,\"nested\":{\"a\":1,"
	                                 "\"b\":{\"c\":2}},\"same\":[1,2]}",
	                    0, NULL));
	memset(&p, 0, sizeof(p));
	p.reported = rep;
	assert_int_equal(rc_store_hub_twin_update(f->store, &ctx, "h1", "d", &p,
	                     &d),
	    RC_OK);
	rc_hub_device_free(d);
	json_decref(rep);
	f->pushes = 0;
}

#define MIGRATED                                                               \
	"{\"deviceId\":\"elsewhere\",\"etag\":\"x\",\"version\":9,"            \
	"\"status\":\"enabled\",\"tags\":{\"site\":\"b\"},"                    \
	"\"properties\":{\"desired\":{\"interval\":30,\"$version\":4,"         \
	"\"$metadata\":{}},\"reported\":{\"fw\":\"2.0\",\"nested\":{\"a\":1}," \
	"\"same\":[1,2],\"$version\":7,\"$metadata\":{\"x\":1}}}}"

static void
test_import_whole(void **state)
{
	struct fx *f = *state;
	const char *etag;
	long long rv;

	seed(f);
	assert_int_equal(call(f, RC_HTTP_GET, "/twins/d", NULL, ALL, NULL),
	    200);
	rv = version_of(f, "reported");
	assert_int_equal(call(f, RC_HTTP_PUT, "/twins/d/import", MIGRATED, ALL,
	                     NULL),
	    200);
	/* The new hub counts its own versions: one write each. */
	assert_int_equal(version_of(f, "reported"), rv + 1);
	assert_string_equal(json_string_value(
	                        json_object_get(f->j, "deviceId")),
	    "d");
	assert_non_null(etag = resp_header(f, "ETag"));
	json_is(json_object_get(f->j, "tags"), "{\"site\":\"b\"}");
	json_is(section(f, "desired"), "{\"interval\":30}");
	/* Replaced whole: "old" and nested.b are gone. */
	json_is(section(f, "reported"),
	    "{\"fw\":\"2.0\",\"nested\":{\"a\":1},\"same\":[1,2]}");
	assert_int_equal(f->pushes, 1);
	/* What a GET shows afterwards is the same. */
	assert_int_equal(call(f, RC_HTTP_GET, "/twins/d", NULL, ALL, NULL),
	    200);
	json_is(section(f, "reported"),
	    "{\"fw\":\"2.0\",\"nested\":{\"a\":1},\"same\":[1,2]}");
	/* The same import again changes nothing but the versions. */
	assert_int_equal(call(f, RC_HTTP_PUT, "/TWINS/d/Import", MIGRATED, ALL,
	                     NULL),
	    200);
	json_is(section(f, "reported"),
	    "{\"fw\":\"2.0\",\"nested\":{\"a\":1},\"same\":[1,2]}");
}

static void
test_import_sections(void **state)
{
	struct fx *f = *state;

	seed(f);
	/* Reported alone: tags and desired stay; nothing to push. */
	assert_int_equal(call(f, RC_HTTP_PUT, "/twins/d/import",
	                     "{\"properties\":{\"reported\":{\"v\":{\"w\":"
	                     "true}}}}",
	                     ALL, NULL),
	    200);
	json_is(json_object_get(f->j, "tags"), "{\"old\":1}");
	json_is(section(f, "desired"), "{\"keep\":false}");
	json_is(section(f, "reported"), "{\"v\":{\"w\":true}}");
	assert_int_equal(f->pushes, 0);
	/* A non-object member where an object was: replaced. */
	assert_int_equal(call(f, RC_HTTP_PUT, "/twins/d/import",
	                     "{\"properties\":{\"reported\":{\"v\":3}}}", ALL,
	                     NULL),
	    200);
	json_is(section(f, "reported"), "{\"v\":3}");
	assert_int_equal(call(f, RC_HTTP_PUT, "/twins/d/import",
	                     "{\"properties\":{\"reported\":{\"v\":{\"x\":1}}}"
	                     "}",
	                     ALL, NULL),
	    200);
	json_is(section(f, "reported"), "{\"v\":{\"x\":1}}");
	/* Empty sections empty the twin. */
	assert_int_equal(call(f, RC_HTTP_PUT, "/twins/d/import",
	                     "{\"tags\":{},\"properties\":{\"desired\":{},"
	                     "\"reported\":{}}}",
	                     ALL, NULL),
	    200);
	json_is(json_object_get(f->j, "tags"), "{}");
	json_is(section(f, "desired"), "{}");
	json_is(section(f, "reported"), "{}");
	/* Tags alone, null sections left alone. */
	assert_int_equal(call(f, RC_HTTP_PUT, "/twins/d/import",
	                     "{\"tags\":{\"t\":1},\"properties\":{\"desired\":"
	                     "null,\"reported\":null}}",
	                     ALL, NULL),
	    200);
	json_is(json_object_get(f->j, "tags"), "{\"t\":1}");
}

static void
test_import_if_match(void **state)
{
	struct fx *f = *state;
	char etag[64];

	seed(f);
	assert_int_equal(call(f, RC_HTTP_GET, "/twins/d", NULL, ALL, NULL),
	    200);
	snprintf(etag, sizeof(etag), "%s", resp_header(f, "ETag"));
	assert_int_equal(call(f, RC_HTTP_PUT, "/twins/d/import",
	                     "{\"tags\":{\"a\":1}}", ALL, "\"nope\""),
	    412);
	assert_string_equal(resp_header(f, "iothub-errorcode"),
	    "PreconditionFailed");
	assert_int_equal(call(f, RC_HTTP_PUT, "/twins/d/import",
	                     "{\"tags\":{\"a\":1}}", ALL, etag),
	    200);
	/* The etag moved on. */
	assert_int_equal(call(f, RC_HTTP_PUT, "/twins/d/import",
	                     "{\"tags\":{\"a\":2}}", ALL, etag),
	    412);
	assert_int_equal(call(f, RC_HTTP_PUT, "/twins/d/import",
	                     "{\"tags\":{\"a\":2}}", ALL, "*"),
	    200);
}

static void
bad(struct fx *f, const char *body, int status, const char *code)
{
	assert_int_equal(call(f, RC_HTTP_PUT, "/twins/d/import", body, ALL,
	                     NULL),
	    status);
	assert_string_equal(resp_header(f, "iothub-errorcode"), code);
}

static void
test_import_refused(void **state)
{
	struct fx *f = *state;

	assert_int_equal(call(f, RC_HTTP_PUT, "/twins/nobody/import",
	                     "{\"tags\":{}}", ALL, NULL),
	    404);
	assert_string_equal(resp_header(f, "iothub-errorcode"),
	    "DeviceNotFound");
	seed(f);
	bad(f, NULL, 400, "ArgumentInvalid");
	bad(f, "", 400, "ArgumentInvalid");
	bad(f, "{", 400, "ArgumentInvalid");
	bad(f, "[]", 400, "ArgumentInvalid");
	bad(f, "{}", 400, "ArgumentInvalid");
	bad(f, "{\"deviceId\":\"d\",\"properties\":{}}", 400,
	    "ArgumentInvalid");
	bad(f, "{\"tags\":null,\"properties\":null}", 400, "ArgumentInvalid");
	bad(f, "{\"properties\":[]}", 400, "ArgumentInvalid");
	bad(f, "{\"tags\":[]}", 400, "ArgumentInvalid");
	bad(f, "{\"properties\":{\"reported\":1}}", 400, "ArgumentInvalid");
	bad(f, "{\"properties\":{\"reported\":{\"a\":null}}}", 400,
	    "ArgumentInvalid");
	bad(f, "{\"properties\":{\"reported\":{\"a\":{\"b\":[null]}}}}", 400,
	    "ArgumentInvalid");
	bad(f, "{\"properties\":{\"desired\":{\"a\":null}}}", 400,
	    "ArgumentInvalid");
	bad(f, "{\"properties\":{\"reported\":{\"a.b\":1}}}", 400,
	    "ArgumentInvalid");
	bad(f, "{\"properties\":{\"reported\":{\"a\":{\"$x\":1}}}}", 400,
	    "ArgumentInvalid");
	bad(f,
	    "{\"properties\":{\"reported\":{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":"
	    "{\"f\":{\"g\":{\"h\":{\"i\":{\"j\":{\"k\":{\"l\":1}}}}}}}}}}}}}}",
	    400, "ArgumentInvalid");
	/* Nothing of the refused bodies was written. */
	assert_int_equal(call(f, RC_HTTP_GET, "/twins/d", NULL, ALL, NULL),
	    200);
	json_is(section(f, "reported"),
	    "{\"old\":1,\"nested\":{\"a\":1,\"b\":{\"c\":2}},\"same\":[1,2]}");
	/* Rights and methods. */
	assert_int_equal(call(f, RC_HTTP_PUT, "/twins/d/import",
	                     "{\"tags\":{}}", RC_RIGHT_REGISTRY_READ, NULL),
	    401);
	assert_int_equal(call(f, RC_HTTP_PUT, "/twins/d/import",
	                     "{\"tags\":{}}", RC_RIGHT_SERVICE_CONNECT, NULL),
	    401);
	assert_int_equal(call(f, RC_HTTP_GET, "/twins/d/import", NULL, ALL,
	                     NULL),
	    405);
	assert_string_equal(resp_header(f, "Allow"), "PUT");
	assert_int_equal(call(f, RC_HTTP_PATCH, "/twins/d/import",
	                     "{\"tags\":{}}", ALL, NULL),
	    405);
	assert_int_equal(call(f, RC_HTTP_PUT, "/twins/d/importx",
	                     "{\"tags\":{}}", ALL, NULL),
	    404);
	/* PATCH and PUT /twins still refuse reported. */
	assert_int_equal(call(f, RC_HTTP_PUT, "/twins/d",
	                     "{\"properties\":{\"reported\":{\"a\":1}}}", ALL,
	                     NULL),
	    400);
}

/* The request without the checks of call(): answers may be cut short. */
static int
import_once(void *arg)
{
	struct rc_principal who = {"tester", ALL};
	struct fx *f = arg;
	struct rc_http_req req;
	int rc;

	memset(&req, 0, sizeof(req));
	req.method = RC_HTTP_PUT;
	req.path = "/twins/d/import";
	req.host = "h1.example.com";
	req.peer = "127.0.0.1:1";
	req.body = (const uint8_t *)MIGRATED;
	req.body_len = strlen(MIGRATED);
	rc_http_resp_free(&f->resp);
	rc_http_resp_init(&f->resp, 1 << 22);
	hub_service_handle(f->hs, &req, &who, &f->resp);
	rc = f->resp.status == 200 ? RC_OK : RC_ENOMEM;
	rc_http_resp_free(&f->resp);
	rc_http_resp_init(&f->resp, 1 << 22);
	return rc;
}

static void
test_import_alloc(void **state)
{
	struct fx *f = *state;

	seed(f);
	rctest_each_alloc(import_once, f, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_import_whole, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_import_sections, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_import_if_match, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_import_refused, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_import_alloc, setup, teardown),
	};
	int rc;

	rc_json_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rctest_rmtree(rctest_tmpdir());
	return rc;
}
