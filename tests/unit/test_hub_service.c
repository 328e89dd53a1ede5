/*
 * Unit tests of the hub service API (src/hub/service*.c): requests built
 * in C go through hub_service_handle against a fresh SQLite store in a
 * temp dir, with a fake session layer where a test needs live devices.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hub/auth.h"
#include "hub/service.h"
#include "rctest.h"
#include "rollcall/enc.h"
#include "rollcall/mem.h"
#include "rollcall/store.h"

#define REG_R RC_RIGHT_REGISTRY_READ
#define REG_W RC_RIGHT_REGISTRY_WRITE
#define SVC RC_RIGHT_SERVICE_CONNECT
#define ALL RC_RIGHTS_HUB_ALL
#define T1 "0123456789ABCDEF0123456789ABCDEF01234567"
#define T2 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* The fake session layer: which devices are online, what was pushed. */
struct fake {
	const char *online; /* one device ID, or NULL */
	int answer_rc; /* what the "device" answers */
	int pushes;
	long long pushed_version;
	int changes;
	char last_method[64];
};

struct fx {
	char dir[600];
	struct rc_store *store;
	struct hub_auth_cache *cache;
	struct hub_service *hs;
	struct rc_http_resp resp;
	json_t *j;
	struct fake fake;
	struct hub_session_ops ops;
};

static int
fake_connected(void *arg, const char *id)
{
	struct fake *f = arg;

	return f->online != NULL && strcmp(f->online, id) == 0;
}

static int
fake_invoke(void *arg, const char *id, const char *method, const char *payload,
    int timeout_s, hub_service_method_done_fn *done, void *cb)
{
	struct fake *f = arg;
	char answer[256];

	(void)timeout_s;
	if (!fake_connected(f, id))
		return RC_ENOENT;
	snprintf(f->last_method, sizeof(f->last_method), "%s", method);
	snprintf(answer, sizeof(answer), "{\"echo\":%s}", payload);
	done(cb, f->answer_rc, 200, answer);
	return RC_OK;
}

static void
fake_push(void *arg, const char *id, const json_t *desired, long long v)
{
	struct fake *f = arg;

	(void)id;
	(void)desired;
	f->pushes++;
	f->pushed_version = v;
}

static void
fake_changed(void *arg, const char *id)
{
	struct fake *f = arg;

	(void)id;
	f->changes++;
}

static struct fx *
fx_new(int with_ops)
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
	f->ops.arg = &f->fake;
	f->ops.connected = fake_connected;
	f->ops.method_invoke = fake_invoke;
	f->ops.desired_push = fake_push;
	f->ops.credentials_changed = fake_changed;
	memset(&cfg, 0, sizeof(cfg));
	cfg.hub = "h1";
	cfg.host = "h1.example.com";
	cfg.cache = f->cache;
	cfg.ops = with_ops ? &f->ops : NULL;
	assert_int_equal(hub_service_new(&cfg, f->store, &f->hs), RC_OK);
	rc_http_resp_init(&f->resp, 1 << 22);
	return f;
}

static int
setup(void **state)
{
	*state = fx_new(0);
	return 0;
}

static int
setup_ops(void **state)
{
	*state = fx_new(1);
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

/*
 * Sends one request (hdrs: NULL-terminated name, value list) and checks
 * what every answer must satisfy: a JSON content type with a body, and on
 * errors {"Message":"ErrorCode:X;...","ExceptionMessage"} with
 * iothub-errorcode X.  Returns the status; the body is in f->j.
 */
static int
call(struct fx *f, enum rc_http_method m, const char *target, const char *body,
    unsigned rights, const char *const *hdrs)
{
	struct rc_principal who = {"tester", rights};
	struct rc_http_req req;
	static char path[2048];
	const char *ct, *q, *code, *msg;
	size_t i;

	memset(&req, 0, sizeof(req));
	snprintf(path, sizeof(path), "%s", target);
	if ((q = strchr(target, '?')) != NULL) {
		path[q - target] = '\0';
		req.query = q + 1;
	}
	req.method = m;
	req.path = path;
	req.host = "h1.example.com";
	req.peer = "127.0.0.1:1";
	for (i = 0; hdrs != NULL && hdrs[i] != NULL; i += 2) {
		req.headers[req.nheaders].name = hdrs[i];
		req.headers[req.nheaders++].value = hdrs[i + 1];
	}
	req.body = (const uint8_t *)body;
	req.body_len = body != NULL ? strlen(body) : 0;
	rc_http_resp_free(&f->resp);
	rc_http_resp_init(&f->resp, 1 << 22);
	json_decref(f->j);
	f->j = NULL;
	hub_service_handle(f->hs, &req, &who, &f->resp);
	if (f->resp.body.len > 0) {
		assert_non_null(ct = resp_header(f, "Content-Type"));
		assert_non_null(strstr(ct, "application/json"));
		f->j = json_loadb((const char *)f->resp.body.data,
		    f->resp.body.len, 0, NULL);
		assert_non_null(f->j);
	}
	if (f->resp.status >= 400) {
		assert_non_null(code = resp_header(f, "iothub-errorcode"));
		msg = json_string_value(json_object_get(f->j, "Message"));
		assert_non_null(msg);
		assert_memory_equal(msg, "ErrorCode:", 10);
		assert_memory_equal(msg + 10, code, strlen(code));
		assert_int_equal(msg[10 + strlen(code)], ';');
		assert_non_null(json_string_value(
		    json_object_get(f->j, "ExceptionMessage")));
	}
	return f->resp.status;
}

static const char *
errcode(struct fx *f)
{
	return resp_header(f, "iothub-errorcode");
}

static const char *
jstr(json_t *j, const char *key)
{
	return json_string_value(json_object_get(j, key));
}

static const char *
message(struct fx *f)
{
	return jstr(f->j, "Message");
}

static void
put_device(struct fx *f, const char *id, const char *tags)
{
	char path[256], body[512];

	snprintf(path, sizeof(path), "/devices/%s", id);
	snprintf(body, sizeof(body),
	    "{\"deviceId\":\"%s\",\"authentication\":{\"type\":\"selfSigned\","
	    "\"x509Thumbprint\":{\"primaryThumbprint\":\"" T1 "\"}}}",
	    id);
	assert_int_equal(call(f, RC_HTTP_PUT, path, body, ALL, NULL), 200);
	if (tags != NULL) {
		snprintf(path, sizeof(path), "/twins/%s", id);
		snprintf(body, sizeof(body), "{\"tags\":%s}", tags);
		assert_int_equal(call(f, RC_HTTP_PATCH, path, body, ALL, NULL),
		    200);
	}
}

static void
test_match(void **state)
{
	struct fx *f = fx_new(0);
	struct rc_http_req req;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.host = "H1.example.com";
	req.path = "/devices/x";
	assert_true(hub_service_match(f->hs, &req));
	req.path = "/Twins/x/methods";
	assert_true(hub_service_match(f->hs, &req));
	req.path = "/jobs/v2/query";
	assert_true(hub_service_match(f->hs, &req));
	req.path = "/events";
	assert_true(hub_service_match(f->hs, &req));
	req.path = "/enrollments/x";
	assert_false(hub_service_match(f->hs, &req));
	req.path = "/devicesx";
	assert_false(hub_service_match(f->hs, &req));
	req.path = "/devices";
	req.host = "other.example.com";
	assert_false(hub_service_match(f->hs, &req));
	assert_true(hub_service_path_match(&req));
	req.host = NULL;
	assert_false(hub_service_match(f->hs, &req));
	teardown((void **)&f);
}

static void
test_new_and_unauthorized(void **state)
{
	struct hub_service_config cfg;
	struct hub_service *hs = (void *)1;
	struct rc_http_resp resp;
	json_t *j;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(hub_service_new(&cfg, NULL, &hs), RC_EINVAL);
	assert_null(hs);
	hub_service_free(NULL);
	rc_http_resp_init(&resp, 4096);
	hub_service_unauthorized(&resp, NULL);
	assert_int_equal(resp.status, 401);
	assert_non_null(j = json_loadb((const char *)resp.body.data,
	                    resp.body.len, 0, NULL));
	assert_string_equal(jstr(j, "Message"),
	    "ErrorCode:IotHubUnauthorizedAccess;Unauthorized");
	json_decref(j);
	rc_http_resp_free(&resp);
}

static void
test_device_crud(void **state)
{
	struct fx *f = *state;
	const char *im_q[] = {"If-Match", "\"*\"", NULL};
	const char *im_bare[] = {"If-Match", "*", NULL};
	const char *im_bad[] = {"If-Match", "\"nope\"", NULL};
	const char *im[] = {"If-Match", NULL, NULL};
	json_t *a;
	char etag[64];

	put_device(f, "dev-1", NULL);
	assert_string_equal(jstr(f->j, "deviceId"), "dev-1");
	assert_non_null(jstr(f->j, "generationId"));
	assert_non_null(jstr(f->j, "etag"));
	assert_non_null(resp_header(f, "ETag"));
	assert_string_equal(jstr(f->j, "connectionState"), "Disconnected");
	assert_string_equal(jstr(f->j, "status"), "enabled");
	assert_int_equal(json_integer_value(json_object_get(f->j,
	                     "cloudToDeviceMessageCount")),
	    0);
	assert_non_null(jstr(f->j, "lastActivityTime"));
	a = json_object_get(f->j, "authentication");
	assert_string_equal(jstr(a, "type"), "selfSigned");
	assert_string_equal(jstr(json_object_get(a, "x509Thumbprint"),
	                        "primaryThumbprint"),
	    T1);
	assert_true(json_is_false(
	    json_object_get(json_object_get(f->j, "capabilities"), "iotEdge")));
	/* The credential cache saw the write. */
	assert_int_equal(hub_auth_cache_count(f->cache), 1);
	assert_true(hub_auth_still_valid(f->cache, "dev-1", 0) == 0);

	/* Create again: 409 DeviceAlreadyExists. */
	assert_int_equal(call(f, RC_HTTP_PUT, "/devices/dev-1",
	                     "{\"deviceId\":\"dev-1\",\"authentication\":{"
	                     "\"type\":\"certificateAuthority\"}}",
	                     ALL, NULL),
	    409);
	assert_string_equal(errcode(f), "DeviceAlreadyExists");

	/* Update: "*" quoted, * bare, a stale etag, the current etag. */
	assert_int_equal(call(f, RC_HTTP_PUT, "/devices/dev-1",
	                     "{\"deviceId\":\"dev-1\",\"status\":\"disabled\","
	                     "\"statusReason\":\"lost\",\"authentication\":{"
	                     "\"x509Thumbprint\":{\"primaryThumbprint\":"
	                     "\"" T1 "\",\"secondaryThumbprint\":\"" T2 "\"}}}",
	                     ALL, im_q),
	    200);
	assert_string_equal(jstr(f->j, "status"), "disabled");
	assert_string_equal(jstr(f->j, "statusReason"), "lost");
	assert_string_equal(jstr(json_object_get(json_object_get(f->j,
	                                             "authentication"),
	                             "x509Thumbprint"),
	                        "secondaryThumbprint"),
	    "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF");
	assert_int_equal(call(f, RC_HTTP_PUT, "/devices/dev-1",
	                     "{\"deviceId\":\"dev-1\",\"authentication\":{"
	                     "\"type\":\"certificateAuthority\"}}",
	                     ALL, im_bare),
	    200);
	assert_string_equal(jstr(json_object_get(f->j, "authentication"),
	                        "type"),
	    "certificateAuthority");
	snprintf(etag, sizeof(etag), "%s", jstr(f->j, "etag"));
	assert_int_equal(call(f, RC_HTTP_PUT, "/devices/dev-1",
	                     "{\"deviceId\":\"dev-1\"}", ALL, im_bad),
	    412);
	assert_string_equal(errcode(f), "PreconditionFailed");
	im[1] = etag; /* bare, as the JSON gives it */
	assert_int_equal(call(f, RC_HTTP_PUT, "/devices/dev-1",
	                     "{\"deviceId\":\"dev-1\",\"authentication\":{"
	                     "\"type\":\"none\"}}",
	                     ALL, im),
	    200);
	/* Update of a missing device: 404. */
	assert_int_equal(call(f, RC_HTTP_PUT, "/devices/nobody",
	                     "{\"deviceId\":\"nobody\"}", ALL, im_q),
	    404);

	assert_int_equal(call(f, RC_HTTP_GET, "/devices/dev-1", NULL, REG_R,
	                     NULL),
	    200);
	assert_string_equal(jstr(f->j, "deviceId"), "dev-1");
	assert_int_equal(call(f, RC_HTTP_GET, "/devices/DEV-1", NULL, REG_R,
	                     NULL),
	    404);
	assert_string_equal(message(f),
	    "ErrorCode:DeviceNotFound;Device "
	    "DEV-1 not found");
	assert_string_equal(errcode(f), "DeviceNotFound");

	assert_int_equal(call(f, RC_HTTP_DELETE, "/devices/dev-1", NULL, ALL,
	                     im_bad),
	    412);
	assert_int_equal(call(f, RC_HTTP_DELETE, "/devices/dev-1", NULL, ALL,
	                     im_q),
	    204);
	assert_int_equal(hub_auth_cache_count(f->cache), 0);
	assert_int_equal(call(f, RC_HTTP_DELETE, "/devices/dev-1", NULL, ALL,
	                     im_q),
	    404);
	assert_int_equal(call(f, RC_HTTP_PATCH, "/devices/dev-1", "{}", ALL,
	                     NULL),
	    405);
	assert_non_null(resp_header(f, "Allow"));
	assert_int_equal(call(f, RC_HTTP_GET, "/devices/a/b/c", NULL, ALL,
	                     NULL),
	    404);
}

static void
test_credentials_changed(void **state)
{
	struct fx *f = *state;
	const char *im[] = {"If-Match", "*", NULL};

	put_device(f, "d", NULL);
	assert_int_equal(f->fake.changes, 1);
	assert_int_equal(call(f, RC_HTTP_DELETE, "/devices/d", NULL, ALL, im),
	    204);
	assert_int_equal(f->fake.changes, 2);
}

static void
test_bad_devices(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = {
	    "{\"deviceId\":\"d\",\"authentication\":{\"type\":\"sas\"}}",
	    "{\"deviceId\":\"d\",\"authentication\":{\"symmetricKey\":"
	    "{\"primaryKey\":\"AAAA\"}}}",
	    "{\"deviceId\":\"other\"}",
	    "{\"deviceId\":\"d\",\"authentication\":{\"type\":\"selfSigned\"}}",
	    "{\"deviceId\":\"d\",\"authentication\":{\"x509Thumbprint\":"
	    "{\"primaryThumbprint\":\"0123\"}}}",
	    "{\"deviceId\":\"d\",\"authentication\":{\"x509Thumbprint\":"
	    "{\"primaryThumbprint\":\"" T1 "0\"}}}",
	    "{\"deviceId\":\"d\",\"authentication\":{\"x509Thumbprint\":"
	    "{\"primaryThumbprint\":\"" T1 "\"},\"type\":"
	    "\"certificateAuthority\"}}",
	    "{\"deviceId\":\"d\",\"authentication\":{\"type\":\"weird\"}}",
	    "{\"deviceId\":\"d\",\"status\":\"maybe\"}",
	    "{\"deviceId\":\"d\",\"capabilities\":{\"iotEdge\":1}}",
	    "{\"deviceId\":5}",
	    "[1]",
	    "{\"deviceId\":\"d\"",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(call(f, RC_HTTP_PUT, "/devices/d", bad[i], ALL,
		                     NULL),
		    400);
		assert_string_equal(errcode(f), "ArgumentInvalid");
	}
	assert_int_equal(call(f, RC_HTTP_PUT, "/devices/d",
	                     "{\"deviceId\":\"d\",\"authentication\":{\"type\":"
	                     "\"sas\"}}",
	                     ALL, NULL),
	    400);
	assert_non_null(strstr(message(f), "X.509 only"));
	assert_int_equal(call(f, RC_HTTP_PUT, "/devices/d", NULL, ALL, NULL),
	    400);
	assert_int_equal(call(f, RC_HTTP_PUT, "/devices/a%2Fb", "{}", ALL,
	                     NULL),
	    400);
	assert_int_equal(call(f, RC_HTTP_PUT, "/devices/bad%20id", "{}", ALL,
	                     NULL),
	    400);
	assert_int_equal(hub_auth_cache_count(f->cache), 0);
}

static void
test_rights(void **state)
{
	struct fx *f = *state;

	assert_int_equal(call(f, RC_HTTP_PUT, "/devices/d",
	                     "{\"deviceId\":\"d\"}", REG_R | SVC, NULL),
	    401);
	assert_string_equal(errcode(f), "IotHubUnauthorizedAccess");
	assert_int_equal(hub_auth_cache_count(f->cache), 0);
	put_device(f, "d", NULL);
	assert_int_equal(call(f, RC_HTTP_GET, "/devices/d", NULL, REG_W | SVC,
	                     NULL),
	    401);
	assert_int_equal(call(f, RC_HTTP_GET, "/devices", NULL, SVC, NULL),
	    401);
	assert_int_equal(call(f, RC_HTTP_DELETE, "/devices/d", NULL, REG_R,
	                     NULL),
	    401);
	assert_int_equal(call(f, RC_HTTP_GET, "/twins/d", NULL, SVC, NULL),
	    401);
	assert_int_equal(call(f, RC_HTTP_PATCH, "/twins/d", "{\"tags\":{}}",
	                     REG_R, NULL),
	    401);
	assert_int_equal(call(f, RC_HTTP_POST, "/devices/query",
	                     "{\"query\":\"SELECT * FROM devices\"}", SVC,
	                     NULL),
	    401);
	assert_int_equal(call(f, RC_HTTP_POST, "/twins/d/methods",
	                     "{\"methodName\":\"m\"}", REG_R | REG_W, NULL),
	    401);
	assert_int_equal(call(f, RC_HTTP_GET, "/events", NULL, REG_R, NULL),
	    401);
	assert_int_equal(call(f, RC_HTTP_POST, "/devices", "[]", REG_R, NULL),
	    401);
	assert_int_equal(call(f, RC_HTTP_GET, "/devices/d", NULL, REG_R, NULL),
	    200);
	/* No principal at all. */
	{
		struct rc_http_req req;

		memset(&req, 0, sizeof(req));
		req.path = "/devices/d";
		rc_http_resp_free(&f->resp);
		rc_http_resp_init(&f->resp, 4096);
		hub_service_handle(f->hs, &req, NULL, &f->resp);
		assert_int_equal(f->resp.status, 401);
	}
}

static void
test_list_paging(void **state)
{
	struct fx *f = *state;
	const char *p1[] = {"x-ms-max-item-count", "2", NULL};
	const char *p2[] = {"x-ms-max-item-count", "2", "x-ms-continuation",
	    NULL, NULL};
	char tok[256];

	put_device(f, "c", NULL);
	put_device(f, "a", NULL);
	put_device(f, "b", NULL);
	assert_int_equal(call(f, RC_HTTP_GET, "/devices", NULL, REG_R, NULL),
	    200);
	assert_int_equal(json_array_size(f->j), 3);
	assert_string_equal(jstr(json_array_get(f->j, 0), "deviceId"), "a");
	assert_null(resp_header(f, "x-ms-continuation"));
	assert_int_equal(call(f, RC_HTTP_GET, "/devices?top=1", NULL, REG_R,
	                     NULL),
	    200);
	assert_int_equal(json_array_size(f->j), 1);
	assert_int_equal(call(f, RC_HTTP_GET, "/devices?top=0", NULL, REG_R,
	                     NULL),
	    400);
	assert_int_equal(call(f, RC_HTTP_GET, "/devices", NULL, REG_R, p1),
	    200);
	assert_int_equal(json_array_size(f->j), 2);
	assert_non_null(resp_header(f, "x-ms-continuation"));
	snprintf(tok, sizeof(tok), "%s", resp_header(f, "x-ms-continuation"));
	p2[3] = tok;
	assert_int_equal(call(f, RC_HTTP_GET, "/devices", NULL, REG_R, p2),
	    200);
	assert_int_equal(json_array_size(f->j), 1);
	assert_string_equal(jstr(json_array_get(f->j, 0), "deviceId"), "c");
	p2[3] = "!!!";
	assert_int_equal(call(f, RC_HTTP_GET, "/devices", NULL, REG_R, p2),
	    400);
}

static void
test_bulk(void **state)
{
	struct fx *f = *state;
	json_t *e;

	assert_int_equal(call(f, RC_HTTP_POST, "/devices",
	                     "[{\"id\":\"b1\",\"importMode\":\"create\","
	                     "\"authentication\":{\"x509Thumbprint\":{"
	                     "\"primaryThumbprint\":\"" T1 "\"}}},"
	                     "{\"id\":\"b2\",\"importMode\":\"Create\","
	                     "\"authentication\":{\"type\":\"none\"}}]",
	                     REG_W, NULL),
	    200);
	assert_true(json_is_true(json_object_get(f->j, "isSuccessful")));
	assert_int_equal(json_array_size(json_object_get(f->j, "errors")), 0);
	assert_true(json_is_array(json_object_get(f->j, "warnings")));
	assert_int_equal(hub_auth_cache_count(f->cache), 2);
	/* One exists already, one is fine, one has a bad mode. */
	assert_int_equal(call(f, RC_HTTP_POST, "/devices",
	                     "[{\"id\":\"b1\",\"importMode\":\"create\"},"
	                     "{\"id\":\"b3\",\"importMode\":\"create\"},"
	                     "{\"id\":\"b4\",\"importMode\":\"explode\"}]",
	                     REG_W, NULL),
	    200);
	assert_true(json_is_false(json_object_get(f->j, "isSuccessful")));
	assert_int_equal(json_array_size(json_object_get(f->j, "errors")), 2);
	e = json_array_get(json_object_get(f->j, "errors"), 0);
	assert_string_equal(jstr(e, "deviceId"), "b1");
	assert_string_equal(jstr(e, "errorCode"), "DeviceAlreadyExists");
	assert_int_equal(hub_auth_cache_count(f->cache), 3);
	/* update, updateIfMatchETag (stale), delete, deleteIfMatchETag. */
	assert_int_equal(call(f, RC_HTTP_POST, "/devices",
	                     "[{\"id\":\"b1\",\"importMode\":\"update\","
	                     "\"status\":\"disabled\"},"
	                     "{\"id\":\"b2\",\"importMode\":"
	                     "\"updateIfMatchETag\",\"eTag\":\"old\"},"
	                     "{\"id\":\"b3\",\"importMode\":\"delete\","
	                     "\"authentication\":{\"type\":\"sas\"}},"
	                     "{\"id\":\"b9\",\"importMode\":"
	                     "\"deleteIfMatchETag\"}]",
	                     REG_W, NULL),
	    200);
	assert_int_equal(json_array_size(json_object_get(f->j, "errors")), 2);
	e = json_array_get(json_object_get(f->j, "errors"), 0);
	assert_string_equal(jstr(e, "errorCode"), "PreconditionFailed");
	assert_int_equal(hub_auth_cache_count(f->cache), 2);
	assert_int_equal(call(f, RC_HTTP_GET, "/devices/b1", NULL, REG_R, NULL),
	    200);
	assert_string_equal(jstr(f->j, "status"), "disabled");
	/* The array itself. */
	assert_int_equal(call(f, RC_HTTP_POST, "/devices", "[]", REG_W, NULL),
	    400);
	assert_int_equal(call(f, RC_HTTP_POST, "/devices", "{}", REG_W, NULL),
	    400);
	assert_int_equal(call(f, RC_HTTP_POST, "/devices", NULL, REG_W, NULL),
	    400);
}

static void
test_twins(void **state)
{
	struct fx *f = *state;
	const char *im_bad[] = {"If-Match", "\"x\"", NULL};
	const char *im[] = {"If-Match", NULL, NULL};
	json_t *p;
	char etag[64];

	put_device(f, "t", NULL);
	assert_int_equal(call(f, RC_HTTP_GET, "/twins/t", NULL, REG_R, NULL),
	    200);
	assert_string_equal(jstr(f->j, "deviceId"), "t");
	assert_non_null(jstr(f->j, "etag"));
	assert_string_equal(jstr(f->j, "connectionState"), "Disconnected");
	p = json_object_get(f->j, "properties");
	assert_int_equal(json_integer_value(
	                     json_object_get(json_object_get(p, "desired"),
	                         "$version")),
	    1);
	snprintf(etag, sizeof(etag), "%s", jstr(f->j, "etag"));
	assert_int_equal(call(f, RC_HTTP_PATCH, "/twins/t",
	                     "{\"tags\":{\"site\":\"a\"},\"properties\":{"
	                     "\"desired\":{\"rate\":5,\"$version\":9}}}",
	                     REG_W, NULL),
	    200);
	assert_string_equal(jstr(json_object_get(f->j, "tags"), "site"), "a");
	p = json_object_get(json_object_get(f->j, "properties"), "desired");
	assert_int_equal(json_integer_value(json_object_get(p, "rate")), 5);
	assert_int_equal(json_integer_value(json_object_get(p, "$version")), 2);
	assert_int_equal(f->fake.pushes, 1);
	assert_int_equal(f->fake.pushed_version, 2);
	/* The old etag is stale now; the current one, bare, works. */
	im[1] = etag;
	assert_int_equal(call(f, RC_HTTP_PATCH, "/twins/t",
	                     "{\"tags\":{\"x\":1}}", REG_W, im),
	    412);
	assert_int_equal(call(f, RC_HTTP_PATCH, "/twins/t",
	                     "{\"tags\":{\"x\":1}}", REG_W, im_bad),
	    412);
	assert_int_equal(call(f, RC_HTTP_GET, "/twins/t", NULL, REG_R, NULL),
	    200);
	snprintf(etag, sizeof(etag), "%s", jstr(f->j, "etag"));
	assert_int_equal(call(f, RC_HTTP_PATCH, "/twins/t",
	                     "{\"tags\":{\"site\":null,\"x\":1}}", REG_W, im),
	    200);
	assert_null(json_object_get(json_object_get(f->j, "tags"), "site"));
	assert_int_equal(f->fake.pushes, 1); /* tags only: no push */
	/* PUT replaces. */
	assert_int_equal(call(f, RC_HTTP_PUT, "/twins/t",
	                     "{\"tags\":{\"only\":true}}", REG_W, NULL),
	    200);
	assert_int_equal(json_object_size(json_object_get(f->j, "tags")), 1);
	/* Refused: reported, nothing, bad keys, a missing device. */
	assert_int_equal(call(f, RC_HTTP_PATCH, "/twins/t",
	                     "{\"properties\":{\"reported\":{\"a\":1}}}", REG_W,
	                     NULL),
	    400);
	assert_int_equal(call(f, RC_HTTP_PATCH, "/twins/t", "{}", REG_W, NULL),
	    400);
	assert_int_equal(call(f, RC_HTTP_PATCH, "/twins/t",
	                     "{\"tags\":{\"a.b\":1}}", REG_W, NULL),
	    400);
	assert_int_equal(call(f, RC_HTTP_PATCH, "/twins/nobody",
	                     "{\"tags\":{\"a\":1}}", REG_W, NULL),
	    404);
	assert_string_equal(errcode(f), "DeviceNotFound");
	assert_int_equal(call(f, RC_HTTP_GET, "/twins/nobody", NULL, REG_R,
	                     NULL),
	    404);
	assert_int_equal(call(f, RC_HTTP_DELETE, "/twins/t", NULL, ALL, NULL),
	    405);
}

static void
test_query(void **state)
{
	struct fx *f = *state;
	const char *p1[] = {"x-ms-max-item-count", "1", NULL};
	const char *p2[] = {"x-ms-max-item-count", "1", "x-ms-continuation",
	    NULL, NULL};
	char tok[256];

	put_device(f, "q1", "{\"site\":\"a\"}");
	put_device(f, "q2", "{\"site\":\"b\"}");
	put_device(f, "q3", "{\"site\":\"a\"}");
	f->fake.online = "q3";
	assert_int_equal(call(f, RC_HTTP_POST, "/devices/query",
	                     "{\"query\":\"SELECT * FROM devices\"}", REG_R,
	                     NULL),
	    200);
	assert_int_equal(json_array_size(f->j), 3);
	assert_null(resp_header(f, "x-ms-continuation"));
	assert_string_equal(resp_header(f, "x-ms-item-type"), "Twin");
	assert_int_equal(call(f, RC_HTTP_POST, "/devices/query",
	                     "{\"query\":\"SELECT * FROM devices WHERE "
	                     "tags.site = 'a'\"}",
	                     REG_R, p1),
	    200);
	assert_int_equal(json_array_size(f->j), 1);
	assert_string_equal(jstr(json_array_get(f->j, 0), "deviceId"), "q1");
	assert_non_null(resp_header(f, "x-ms-continuation"));
	snprintf(tok, sizeof(tok), "%s", resp_header(f, "x-ms-continuation"));
	p2[3] = tok;
	assert_int_equal(call(f, RC_HTTP_POST, "/devices/query",
	                     "{\"query\":\"SELECT * FROM devices WHERE "
	                     "tags.site = 'a'\"}",
	                     REG_R, p2),
	    200);
	assert_int_equal(json_array_size(f->j), 1);
	assert_string_equal(jstr(json_array_get(f->j, 0), "deviceId"), "q3");
	assert_string_equal(jstr(json_array_get(f->j, 0), "connectionState"),
	    "Connected");
	/* The fast path over named devices, with paging. */
	assert_int_equal(call(f, RC_HTTP_POST, "/devices/query",
	                     "{\"query\":\"SELECT * FROM devices WHERE "
	                     "deviceId "
	                     "IN ['q3','q2','zz']\"}",
	                     REG_R, p1),
	    200);
	assert_int_equal(json_array_size(f->j), 1);
	assert_string_equal(jstr(json_array_get(f->j, 0), "deviceId"), "q2");
	snprintf(tok, sizeof(tok), "%s", resp_header(f, "x-ms-continuation"));
	p2[3] = tok;
	assert_int_equal(call(f, RC_HTTP_POST, "/devices/query",
	                     "{\"query\":\"SELECT * FROM devices WHERE "
	                     "deviceId "
	                     "IN ['q3','q2','zz']\"}",
	                     REG_R, p2),
	    200);
	assert_int_equal(json_array_size(f->j), 1);
	assert_string_equal(jstr(json_array_get(f->j, 0), "deviceId"), "q3");
	/* Errors: the parser's column message. */
	assert_int_equal(call(f, RC_HTTP_POST, "/devices/query",
	                     "{\"query\":\"SELECT * FROM devices WHERE\"}",
	                     REG_R, NULL),
	    400);
	assert_non_null(strstr(message(f), "column"));
	assert_int_equal(call(f, RC_HTTP_POST, "/devices/query", "{}", REG_R,
	                     NULL),
	    400);
	assert_int_equal(call(f, RC_HTTP_POST, "/devices/query", NULL, REG_R,
	                     NULL),
	    400);
}

static void
test_methods_no_sessions(void **state)
{
	struct fx *f = *state;

	put_device(f, "m", NULL);
	assert_int_equal(call(f, RC_HTTP_POST, "/twins/m/methods",
	                     "{\"methodName\":\"reboot\",\"payload\":null,"
	                     "\"responseTimeoutInSeconds\":30,"
	                     "\"connectTimeoutInSeconds\":0}",
	                     SVC, NULL),
	    404);
	assert_string_equal(errcode(f), "DeviceNotOnline");
}

static void
test_methods(void **state)
{
	struct fx *f = *state;
	json_t *p;

	put_device(f, "m", NULL);
	assert_int_equal(call(f, RC_HTTP_POST, "/twins/m/methods",
	                     "{\"methodName\":\"reboot\"}", SVC, NULL),
	    404);
	assert_string_equal(errcode(f), "DeviceNotOnline");
	f->fake.online = "m";
	assert_int_equal(call(f, RC_HTTP_POST, "/twins/m/methods",
	                     "{\"methodName\":\"reboot\",\"payload\":{\"a\":1},"
	                     "\"responseTimeoutInSeconds\":30}",
	                     SVC, NULL),
	    200);
	assert_string_equal(f->fake.last_method, "reboot");
	assert_int_equal(json_integer_value(json_object_get(f->j, "status")),
	    200);
	p = json_object_get(json_object_get(f->j, "payload"), "echo");
	assert_int_equal(json_integer_value(json_object_get(p, "a")), 1);
	/* No payload reaches the device as null. */
	assert_int_equal(call(f, RC_HTTP_POST, "/twins/m/methods",
	                     "{\"methodName\":\"x\"}", SVC, NULL),
	    200);
	assert_true(json_is_null(
	    json_object_get(json_object_get(f->j, "payload"), "echo")));
	f->fake.answer_rc = RC_EEXPIRED;
	assert_int_equal(call(f, RC_HTTP_POST, "/twins/m/methods",
	                     "{\"methodName\":\"x\"}", SVC, NULL),
	    504);
	assert_string_equal(errcode(f), "GatewayTimeout");
	f->fake.answer_rc = RC_ENOENT;
	assert_int_equal(call(f, RC_HTTP_POST, "/twins/m/methods",
	                     "{\"methodName\":\"x\"}", SVC, NULL),
	    404);
	assert_string_equal(errcode(f), "DeviceNotOnline");
	assert_int_equal(call(f, RC_HTTP_POST, "/twins/nobody/methods",
	                     "{\"methodName\":\"x\"}", SVC, NULL),
	    404);
	assert_string_equal(errcode(f), "DeviceNotFound");
	assert_int_equal(call(f, RC_HTTP_POST, "/twins/m/methods",
	                     "{\"payload\":1}", SVC, NULL),
	    400);
	assert_int_equal(call(f, RC_HTTP_POST, "/twins/m/methods",
	                     "{\"methodName\":\"x\","
	                     "\"responseTimeoutInSeconds\":301}",
	                     SVC, NULL),
	    400);
	assert_int_equal(call(f, RC_HTTP_GET, "/twins/m/methods", NULL, SVC,
	                     NULL),
	    405);
}

/* Polls GET /jobs/v2/{id} until the job is final. */
static const char *
job_wait(struct fx *f, const char *path)
{
	const char *st;
	int i;

	for (i = 0; i < 200; i++) {
		assert_int_equal(call(f, RC_HTTP_GET, path, NULL, REG_R, NULL),
		    200);
		st = jstr(f->j, "status");
		if (strcmp(st, "completed") == 0 || strcmp(st, "failed") == 0 ||
		    strcmp(st, "cancelled") == 0)
			return st;
		usleep(50000);
	}
	fail_msg("job did not end");
	return NULL;
}

static long long
stat_of(struct fx *f, const char *name)
{
	return json_integer_value(
	    json_object_get(json_object_get(f->j, "deviceJobStatistics"),
	        name));
}

static void
test_jobs(void **state)
{
	struct fx *f = *state;

	put_device(f, "j1", NULL);
	put_device(f, "j2", NULL);
	put_device(f, "j3", NULL);
	f->fake.online = "j1";
	assert_int_equal(call(f, RC_HTTP_PUT, "/jobs/v2/job-a",
	                     "{\"jobId\":\"job-a\",\"type\":"
	                     "\"scheduleDeviceMethod\",\"cloudToDeviceMethod\":"
	                     "{\"methodName\":\"roll\",\"payload\":{},"
	                     "\"responseTimeoutInSeconds\":5},"
	                     "\"queryCondition\":\"deviceId IN "
	                     "['j1','j2','j3']\",\"startTime\":"
	                     "\"2020-01-01T00:00:00.000Z\","
	                     "\"maxExecutionTimeInSeconds\":3600}",
	                     ALL, NULL),
	    200);
	assert_string_equal(jstr(f->j, "status"), "queued");
	assert_string_equal(jstr(f->j, "jobId"), "job-a");
	assert_string_equal(job_wait(f, "/jobs/v2/job-a"), "completed");
	assert_int_equal(stat_of(f, "deviceCount"), 3);
	assert_int_equal(stat_of(f, "succeededCount"), 1);
	assert_int_equal(stat_of(f, "failedCount"), 2);
	assert_int_equal(stat_of(f, "pendingCount"), 0);
	assert_int_equal(stat_of(f, "runningCount"), 0);
	/* A twin job over every device. */
	assert_int_equal(call(f, RC_HTTP_PUT, "/jobs/v2/job-b",
	                     "{\"jobId\":\"job-b\",\"type\":"
	                     "\"scheduleUpdateTwin\",\"updateTwin\":{\"etag\":"
	                     "\"*\",\"tags\":{\"rolled\":true}},"
	                     "\"queryCondition\":\"*\"}",
	                     ALL, NULL),
	    200);
	assert_string_equal(job_wait(f, "/jobs/v2/job-b"), "completed");
	assert_int_equal(stat_of(f, "succeededCount"), 3);
	assert_int_equal(call(f, RC_HTTP_GET, "/twins/j2", NULL, REG_R, NULL),
	    200);
	assert_true(json_is_true(
	    json_object_get(json_object_get(f->j, "tags"), "rolled")));
	/* Exists, final, missing, bad bodies. */
	assert_int_equal(call(f, RC_HTTP_PUT, "/jobs/v2/job-b",
	                     "{\"type\":\"scheduleUpdateTwin\",\"updateTwin\":"
	                     "{\"tags\":{}}}",
	                     ALL, NULL),
	    409);
	assert_int_equal(call(f, RC_HTTP_POST, "/jobs/v2/job-b/cancel", NULL,
	                     ALL, NULL),
	    400);
	assert_int_equal(call(f, RC_HTTP_GET, "/jobs/v2/nope", NULL, ALL, NULL),
	    404);
	assert_string_equal(errcode(f), "JobNotFound");
	assert_int_equal(call(f, RC_HTTP_PUT, "/jobs/v2/x",
	                     "{\"type\":\"explode\"}", ALL, NULL),
	    400);
	assert_int_equal(call(f, RC_HTTP_PUT, "/jobs/v2/x",
	                     "{\"type\":\"scheduleDeviceMethod\","
	                     "\"cloudToDeviceMethod\":{\"methodName\":\"m\"},"
	                     "\"queryCondition\":\"deviceId =\"}",
	                     ALL, NULL),
	    400);
	assert_non_null(strstr(message(f), "column"));
	assert_int_equal(call(f, RC_HTTP_PUT, "/jobs/v2/x",
	                     "{\"type\":\"scheduleDeviceMethod\","
	                     "\"cloudToDeviceMethod\":{\"methodName\":\"m\"},"
	                     "\"startTime\":\"yesterday\"}",
	                     ALL, NULL),
	    400);
	/* A job in the future can be cancelled. */
	assert_int_equal(call(f, RC_HTTP_PUT, "/jobs/v2/later",
	                     "{\"type\":\"scheduleDeviceMethod\","
	                     "\"cloudToDeviceMethod\":{\"methodName\":\"m\"},"
	                     "\"startTime\":\"2999-01-01T00:00:00Z\"}",
	                     ALL, NULL),
	    200);
	assert_int_equal(call(f, RC_HTTP_POST, "/jobs/v2/later/cancel", NULL,
	                     ALL, NULL),
	    200);
	assert_string_equal(jstr(f->j, "status"), "cancelled");
	/* Query, with filters. */
	assert_int_equal(call(f, RC_HTTP_GET, "/jobs/v2/query", NULL, REG_R,
	                     NULL),
	    200);
	assert_int_equal(json_array_size(f->j), 3);
	assert_int_equal(call(f, RC_HTTP_GET,
	                     "/jobs/v2/query?jobType=scheduleUpdateTwin", NULL,
	                     REG_R, NULL),
	    200);
	assert_int_equal(json_array_size(f->j), 1);
	assert_int_equal(call(f, RC_HTTP_GET,
	                     "/jobs/v2/query?jobStatus=cancelled", NULL, REG_R,
	                     NULL),
	    200);
	assert_int_equal(json_array_size(f->j), 1);
	assert_int_equal(call(f, RC_HTTP_GET, "/jobs/v2/query?jobStatus=zzz",
	                     NULL, REG_R, NULL),
	    400);
	assert_int_equal(call(f, RC_HTTP_GET, "/jobs/v1/x", NULL, REG_R, NULL),
	    404);
}

static void
test_events(void **state)
{
	struct fx *f = *state;
	struct rc_hub_event ev;
	int64_t seq;
	json_t *e;

	assert_int_equal(call(f, RC_HTTP_GET, "/events?after=0&wait=0", NULL,
	                     SVC, NULL),
	    200);
	assert_int_equal(json_array_size(json_object_get(f->j, "events")), 0);
	memset(&ev, 0, sizeof(ev));
	ev.hub = "h1";
	ev.device_id = "d";
	ev.body = (uint8_t *)"{\"t\":21}";
	ev.body_len = 8;
	assert_int_equal(rc_store_hub_event_append(f->store, &ev, 10, &seq),
	    RC_OK);
	ev.body = (uint8_t *)"raw";
	ev.body_len = 3;
	assert_int_equal(rc_store_hub_event_append(f->store, &ev, 10, &seq),
	    RC_OK);
	hub_service_events_notify(f->hs);
	assert_int_equal(call(f, RC_HTTP_GET, "/events?after=0&max=10&wait=1",
	                     NULL, SVC, NULL),
	    200);
	assert_int_equal(json_array_size(json_object_get(f->j, "events")), 2);
	e = json_array_get(json_object_get(f->j, "events"), 0);
	assert_string_equal(jstr(e, "deviceId"), "d");
	assert_int_equal(json_integer_value(
	                     json_object_get(json_object_get(e, "body"), "t")),
	    21);
	e = json_array_get(json_object_get(f->j, "events"), 1);
	assert_string_equal(jstr(e, "bodyBase64"), "cmF3");
	assert_null(json_object_get(e, "body"));
	assert_int_equal(json_integer_value(json_object_get(f->j, "next")),
	    seq);
	assert_int_equal(call(f, RC_HTTP_GET, "/events?after=1", NULL, SVC,
	                     NULL),
	    200);
	assert_int_equal(json_array_size(json_object_get(f->j, "events")), 1);
	assert_int_equal(call(f, RC_HTTP_GET, "/events?max=0", NULL, SVC, NULL),
	    400);
	assert_int_equal(call(f, RC_HTTP_GET, "/events?wait=61", NULL, SVC,
	                     NULL),
	    400);
	assert_int_equal(call(f, RC_HTTP_POST, "/events", NULL, SVC, NULL),
	    405);
}

/* Which requests the daemon must answer off its event loops. */
static void
test_may_wait(void **state)
{
	static const struct {
		enum rc_http_method m;
		const char *path, *query;
		int want;
	} rows[] = {
	    {RC_HTTP_POST, "/twins/d1/methods", NULL, 1},
	    {RC_HTTP_POST, "/twins/d1/methods/", "api-version=2021-04-12", 1},
	    {RC_HTTP_POST, "/TWINS/d%201/Methods", NULL, 1},
	    {RC_HTTP_GET, "/twins/d1/methods", NULL, 0},
	    {RC_HTTP_POST, "/twins/d1", NULL, 0},
	    {RC_HTTP_POST, "/twins/d1/methods/x", NULL, 0},
	    {RC_HTTP_GET, "/events", "after=3&wait=5", 1},
	    {RC_HTTP_GET, "/events/", "wait=60", 1},
	    {RC_HTTP_GET, "/events", "wait=0", 0},
	    {RC_HTTP_GET, "/events", "after=3", 0},
	    {RC_HTTP_GET, "/events", "wait=%zz", 0},
	    {RC_HTTP_POST, "/events", "wait=5", 0},
	    {RC_HTTP_GET, "/devices/d1", "wait=5", 0},
	    {RC_HTTP_POST, "/twins/%00/methods", NULL, 0},
	    {RC_HTTP_POST, "/", NULL, 0},
	};
	struct rc_http_req req;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&req, 0, sizeof(req));
		req.method = rows[i].m;
		req.path = rows[i].path;
		req.query = rows[i].query;
		if (hub_service_may_wait(&req) != rows[i].want)
			fail_msg("row %zu: %s %s?%s", i, rows[i].path,
			    rc_http_method_name(rows[i].m),
			    rows[i].query != NULL ? rows[i].query : "");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_match),
	    cmocka_unit_test(test_may_wait),
	    cmocka_unit_test(test_new_and_unauthorized),
	    cmocka_unit_test_setup_teardown(test_device_crud, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_credentials_changed, setup_ops,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_bad_devices, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rights, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_paging, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bulk, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_twins, setup_ops, teardown),
	    cmocka_unit_test_setup_teardown(test_query, setup_ops, teardown),
	    cmocka_unit_test_setup_teardown(test_methods_no_sessions, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_methods, setup_ops, teardown),
	    cmocka_unit_test_setup_teardown(test_jobs, setup_ops, teardown),
	    cmocka_unit_test_setup_teardown(test_events, setup, teardown),
	};
	int rc;

	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rctest_rmtree(rctest_tmpdir());
	return rc;
}
