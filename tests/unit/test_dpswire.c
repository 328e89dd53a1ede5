/*
 * DPS device wire intake and replies (src/dps/wire.c): every SDK's
 * username and topics from reference/azure-device-wire.md §2-§5, the
 * HTTPS paths, the register body, and the reply bodies byte for byte.
 */
#include <string.h>

#include "rctest.h"
#include "rollcall/dpswire.h"
#include "rollcall/enc.h"
#include "rollcall/json.h"
#include "rollcall/mem.h"

#define WHY RC_DPSWIRE_WHY_SIZE

/* A string of n copies of c (static ring of two, up to 1 KiB). */
static const char *
rep(char c, size_t n)
{
	static char buf[2][1024];
	static int i;

	i ^= 1;
	assert_true(n < sizeof(buf[i]));
	memset(buf[i], c, n);
	buf[i][n] = '\0';
	return buf[i];
}

static int
user(const char *s, struct rc_dpswire_username *u, char *why)
{
	return rc_dpswire_username(s, strlen(s), u, why, WHY);
}

static void
user_bad(const char *s, int want)
{
	struct rc_dpswire_username u;
	char why[WHY];

	assert_int_equal(user(s, &u, why), want);
	assert_true(why[0] != '\0');
	assert_string_equal(u.registration_id, "");
	assert_string_equal(u.scope, "");
}

static void
test_username_sdks(void **state)
{
	struct rc_dpswire_username u;
	char why[WHY];

	(void)state;
	/* node, as observed on the wire (§2.1). */
	assert_int_equal(user("0ne00000001/registrations/device-001/"
	                      "api-version=2019-03-31&ClientVersion="
	                      "azure-iot-provisioning-device%2F1.9.1",
	                     &u, why),
	    RC_OK);
	assert_string_equal(u.scope, "0ne00000001");
	assert_string_equal(u.registration_id, "device-001");
	assert_string_equal(u.api_version, "2019-03-31");
	assert_string_equal(u.client_version,
	    "azure-iot-provisioning-device/1.9.1");
	assert_string_equal(why, "");
	/* azure-iot-sdk-c: raw ClientVersion. */
	assert_int_equal(user("0ne00000001/registrations/dev.1_a:b/"
	                      "api-version=2021-06-01&ClientVersion=1.15.0",
	                     &u, why),
	    RC_OK);
	assert_string_equal(u.registration_id, "dev.1_a:b");
	assert_string_equal(u.api_version, "2021-06-01");
	assert_string_equal(u.client_version, "1.15.0");
	/* Embedded C without and with a user agent; the CSR preview. */
	assert_int_equal(user("0ne1/registrations/d/api-version=2019-03-31", &u,
	                     why),
	    RC_OK);
	assert_string_equal(u.client_version, "");
	assert_int_equal(user("0ne1/registrations/d/api-version=2025-07-01-"
	                      "preview&ClientVersion=azsdk-c%2F1.6.0",
	                     &u, why),
	    RC_OK);
	assert_string_equal(u.api_version, "2025-07-01-preview");
	assert_string_equal(u.client_version, "azsdk-c/1.6.0");
	/* Python: quoted ClientVersion with spaces and parentheses. */
	assert_int_equal(user("0ne1/registrations/py-dev/api-version=2019-03-31"
	                      "&ClientVersion=py-azure-iot-device%2F2.12.0"
	                      "%20%28cpython%3B%20Linux%29",
	                     &u, why),
	    RC_OK);
	assert_string_equal(u.client_version,
	    "py-azure-iot-device/2.12.0 (cpython; Linux)");
}

static void
test_username_lenient(void **state)
{
	struct rc_dpswire_username u;
	char why[WHY], s[512];

	(void)state;
	/* Any order, unknown parameters, unknown api-version, a '?'. */
	assert_int_equal(user("S1/registrations/d/ClientVersion=x&foo=bar&"
	                      "api-version=2099-01-01&&",
	                     &u, why),
	    RC_OK);
	assert_string_equal(u.api_version, "2099-01-01");
	assert_string_equal(u.client_version, "x");
	assert_int_equal(user("S1/registrations/d/?api-version=2019-03-31", &u,
	                     why),
	    RC_OK);
	assert_string_equal(u.api_version, "2019-03-31");
	/* Control characters in ClientVersion are masked for the logs. */
	assert_int_equal(user("S1/registrations/d/"
	                      "api-version=1&ClientVersion=a%0Ab",
	                     &u, why),
	    RC_OK);
	assert_string_equal(u.client_version, "a?b");
	/* Bounds: 64-character scope, 128-character ID. */
	snprintf(s, sizeof(s), "%s/registrations/%s/api-version=1",
	    rep('S', 64), rep('d', 128));
	assert_int_equal(user(s, &u, why), RC_OK);
	assert_int_equal(strlen(u.scope), 64);
	assert_int_equal(strlen(u.registration_id), 128);
}

static void
test_username_bad(void **state)
{
	char s[512];

	(void)state;
	user_bad("0ne1/registrations/d", RC_EPARSE);
	user_bad("0ne1/registrations/d/", RC_EPARSE);
	user_bad("0ne1/registrations/d/ClientVersion=1", RC_EPARSE);
	user_bad("0ne1/registrations/d/api-version=", RC_EPARSE);
	user_bad("0ne1/registrations/d/api-version=1&api-version=1", RC_EPARSE);
	user_bad("0ne1/registrations/d/api-version=a%20b", RC_EPARSE);
	user_bad("0ne1/registrations/d/api-version=%zz", RC_EPARSE);
	user_bad("0ne1/registrations/d/api-version=1&x=%00", RC_EPARSE);
	user_bad("0ne1/Registrations/d/api-version=1", RC_EPARSE);
	user_bad("0ne1/devices/d/api-version=1", RC_EPARSE);
	user_bad("/registrations/d/api-version=1", RC_EPARSE);
	user_bad("0ne-1/registrations/d/api-version=1", RC_EPARSE);
	user_bad("0ne1/registrations//api-version=1", RC_EPARSE);
	user_bad("0ne1/registrations/d./api-version=1", RC_EPARSE);
	user_bad("0ne1/registrations/d%2D1/api-version=1", RC_EPARSE);
	user_bad("0ne1/registrations/d e/api-version=1", RC_EPARSE);
	user_bad("0ne1/registrations/d/x/api-version=1", RC_EPARSE);
	user_bad("hub.example/dev/?api-version=2021-04-12", RC_EPARSE);
	user_bad("garbage", RC_EPARSE);
	/* max + 1 */
	snprintf(s, sizeof(s), "%s/registrations/d/api-version=1",
	    rep('S', 65));
	user_bad(s, RC_EPARSE);
	snprintf(s, sizeof(s), "S/registrations/%s/api-version=1",
	    rep('d', 129));
	user_bad(s, RC_ETOOBIG);
	snprintf(s, sizeof(s), "S/registrations/d/api-version=%s",
	    rep('1', 65));
	user_bad(s, RC_EPARSE);
	snprintf(s, sizeof(s),
	    "S/registrations/d/api-version=1&ClientVersion=%s", rep('c', 257));
	user_bad(s, RC_ETOOBIG);
}

/* Every proper prefix of a good username is refused, none crashes. */
static void
test_username_truncated(void **state)
{
	static const char good[] = "0ne1/registrations/dev-1/api-version=1";
	static const char nul[] = "0ne1/regis\0trations/d/api-version=1";
	struct rc_dpswire_username u;
	char why[WHY];
	size_t n;

	(void)state;
	for (n = 0; n < sizeof(good) - 1; n++) {
		assert_int_not_equal(rc_dpswire_username(good, n, &u, why, WHY),
		    RC_OK);
		assert_true(why[0] != '\0');
	}
	assert_int_equal(rc_dpswire_username(good, sizeof(good) - 1, &u, why,
	                     WHY),
	    RC_OK);
	assert_int_equal(rc_dpswire_username(nul, sizeof(nul) - 1, &u, why,
	                     WHY),
	    RC_EPARSE);
	assert_int_equal(rc_dpswire_username(NULL, 0, &u, why, WHY), RC_EPARSE);
	/* No message buffer is fine. */
	assert_int_equal(rc_dpswire_username("x", 1, &u, NULL, 0), RC_EPARSE);
}

static int
topic(const char *s, struct rc_dpswire_topic *t, char *why)
{
	return rc_dpswire_topic(s, strlen(s), t, why, WHY);
}

static void
topic_bad(const char *s, int want)
{
	struct rc_dpswire_topic t;
	char why[WHY];

	assert_int_equal(topic(s, &t, why), want);
	assert_true(why[0] != '\0');
	assert_string_equal(t.rid, "");
	assert_string_equal(t.operation_id, "");
}

static void
test_topic_sdks(void **state)
{
	struct rc_dpswire_topic t;
	char why[WHY];

	(void)state;
	/* node: a UUID per request. */
	assert_int_equal(topic("$dps/registrations/PUT/iotdps-register/"
	                       "?$rid=5b6bcb5c-3fa4-4a8d-9a54-2f6c3a0d2f11",
	                     &t, why),
	    RC_OK);
	assert_int_equal(t.op, RC_DPSWIRE_REGISTER);
	assert_string_equal(t.rid, "5b6bcb5c-3fa4-4a8d-9a54-2f6c3a0d2f11");
	assert_string_equal(t.operation_id, "");
	/* C: the packet id; Embedded C: "1". */
	assert_int_equal(topic("$dps/registrations/PUT/iotdps-register/"
	                       "?$rid=42",
	                     &t, why),
	    RC_OK);
	assert_string_equal(t.rid, "42");
	assert_int_equal(topic("$dps/registrations/GET/"
	                       "iotdps-get-operationstatus/?$rid=1&operationId="
	                       "4.d0a671905ea5b2c8.e7173b7b-0e54-4aa0-9d20-"
	                       "aeb1b89e6c7d",
	                     &t, why),
	    RC_OK);
	assert_int_equal(t.op, RC_DPSWIRE_POLL);
	assert_string_equal(t.rid, "1");
	assert_string_equal(t.operation_id,
	    "4.d0a671905ea5b2c8.e7173b7b-0e54-4aa0-9d20-aeb1b89e6c7d");
	/* Any order, encoded key, unknown parameters; rid kept raw. */
	assert_int_equal(topic("$dps/registrations/GET/"
	                       "iotdps-get-operationstatus/?operationId=o.1&x=y"
	                       "&%24rid=a%41=b",
	                     &t, why),
	    RC_OK);
	assert_string_equal(t.rid, "a%41=b");
	assert_string_equal(t.operation_id, "o.1");
	/* An operationId on a register topic is not ours to read. */
	assert_int_equal(topic("$dps/registrations/PUT/iotdps-register/"
	                       "?$rid=1&operationId=%%",
	                     &t, why),
	    RC_OK);
	assert_string_equal(t.operation_id, "");
}

static void
test_topic_bad(void **state)
{
	char s[512];

	(void)state;
	/* Not DPS request topics. */
	topic_bad("$iothub/twin/GET/?$rid=1", RC_ENOENT);
	topic_bad("$dps/registrations/res/202/?$rid=1", RC_ENOENT);
	topic_bad("$dps/registrations/PUT/iotdps-register?$rid=1", RC_ENOENT);
	topic_bad("$dps/registrations/PUT/iotdps-register/", RC_ENOENT);
	topic_bad("$dps/registrations/put/iotdps-register/?$rid=1", RC_ENOENT);
	topic_bad("$dps/registrations/PUT/iotdps-register/x/?$rid=1",
	    RC_ENOENT);
	topic_bad("", RC_ENOENT);
	/* DPS topics with a bad query. */
	topic_bad("$dps/registrations/PUT/iotdps-register/?", RC_EPARSE);
	topic_bad("$dps/registrations/PUT/iotdps-register/?$rid=", RC_EPARSE);
	topic_bad("$dps/registrations/PUT/iotdps-register/?$rid", RC_EPARSE);
	topic_bad("$dps/registrations/PUT/iotdps-register/?rid=1", RC_EPARSE);
	topic_bad("$dps/registrations/PUT/iotdps-register/?$rid=1&$rid=1",
	    RC_EPARSE);
	topic_bad("$dps/registrations/PUT/iotdps-register/?$rid=a b",
	    RC_EPARSE);
	topic_bad("$dps/registrations/PUT/iotdps-register/?$rid=a/b",
	    RC_EPARSE);
	topic_bad("$dps/registrations/PUT/iotdps-register/?$rid=a?b",
	    RC_EPARSE);
	topic_bad("$dps/registrations/GET/iotdps-get-operationstatus/?$rid=1",
	    RC_EPARSE);
	topic_bad("$dps/registrations/GET/iotdps-get-operationstatus/?$rid=1"
	          "&operationId=",
	    RC_EPARSE);
	topic_bad("$dps/registrations/GET/iotdps-get-operationstatus/?$rid=1"
	          "&operationId=a_b",
	    RC_EPARSE);
	topic_bad("$dps/registrations/GET/iotdps-get-operationstatus/?$rid=1"
	          "&operationId=a&operationId=a",
	    RC_EPARSE);
	/* Length and length + 1. */
	snprintf(s, sizeof(s),
	    "$dps/registrations/PUT/iotdps-register/?$rid=%s", rep('r', 129));
	topic_bad(s, RC_ETOOBIG);
	snprintf(s, sizeof(s),
	    "$dps/registrations/GET/iotdps-get-operationstatus/?$rid=1"
	    "&operationId=%s",
	    rep('o', 129));
	topic_bad(s, RC_ETOOBIG);
}

static void
test_topic_bounds(void **state)
{
	struct rc_dpswire_topic t;
	char s[512], why[WHY], reply[RC_DPSWIRE_TOPIC_SIZE];
	static const char nul[] =
	    "$dps/registrations/PUT/iotdps-register/?$rid=a\0b";

	(void)state;
	snprintf(s, sizeof(s),
	    "$dps/registrations/GET/iotdps-get-operationstatus/?$rid=%s"
	    "&operationId=%s",
	    rep('r', 128), rep('o', 128));
	assert_int_equal(topic(s, &t, why), RC_OK);
	assert_int_equal(strlen(t.rid), 128);
	assert_int_equal(strlen(t.operation_id), 128);
	/* The longest rid and retry-after fit the documented size. */
	assert_int_equal(rc_dpswire_reply_topic(202, t.rid, 3600, reply,
	                     sizeof(reply)),
	    RC_OK);
	assert_int_equal(rc_dpswire_topic(nul, sizeof(nul) - 1, &t, why, WHY),
	    RC_EPARSE);
	assert_int_equal(rc_dpswire_topic(NULL, 0, &t, why, WHY), RC_ENOENT);
}

static void
test_reply_topic(void **state)
{
	char out[RC_DPSWIRE_TOPIC_SIZE], small[40];
	struct rc_dpswire_topic t;
	char why[WHY];

	(void)state;
	assert_int_equal(rc_dpswire_reply_topic(202, "5b6b-1", 3, out,
	                     sizeof(out)),
	    RC_OK);
	assert_string_equal(out,
	    "$dps/registrations/res/202/?$rid=5b6b-1"
	    "&retry-after=3");
	assert_int_equal(rc_dpswire_reply_topic(200, "1", 0, out, sizeof(out)),
	    RC_OK);
	assert_string_equal(out, "$dps/registrations/res/200/?$rid=1");
	assert_int_equal(rc_dpswire_reply_topic(401, "1", -1, out, sizeof(out)),
	    RC_OK);
	assert_string_equal(out, "$dps/registrations/res/401/?$rid=1");
	/* The rid comes back byte for byte, encoding and all. */
	assert_int_equal(topic("$dps/registrations/PUT/iotdps-register/"
	                       "?$rid=a%41=b",
	                     &t, why),
	    RC_OK);
	assert_int_equal(rc_dpswire_reply_topic(429, t.rid, 5, out,
	                     sizeof(out)),
	    RC_OK);
	assert_string_equal(out,
	    "$dps/registrations/res/429/?$rid=a%41=b"
	    "&retry-after=5");
	/* Refusals. */
	assert_int_equal(rc_dpswire_reply_topic(202, "1", 0, out, sizeof(out)),
	    RC_EINVAL);
	assert_string_equal(out, "");
	assert_int_equal(rc_dpswire_reply_topic(199, "1", 0, out, sizeof(out)),
	    RC_EINVAL);
	assert_int_equal(rc_dpswire_reply_topic(600, "1", 0, out, sizeof(out)),
	    RC_EINVAL);
	assert_int_equal(rc_dpswire_reply_topic(200, "", 0, out, sizeof(out)),
	    RC_EINVAL);
	assert_int_equal(rc_dpswire_reply_topic(200, NULL, 0, out, sizeof(out)),
	    RC_EINVAL);
	assert_int_equal(rc_dpswire_reply_topic(200, "a&b", 0, out,
	                     sizeof(out)),
	    RC_EINVAL);
	assert_int_equal(rc_dpswire_reply_topic(200, "a#", 0, out, sizeof(out)),
	    RC_EINVAL);
	assert_int_equal(rc_dpswire_reply_topic(200, rep('r', 129), 0, out,
	                     sizeof(out)),
	    RC_EINVAL);
	assert_int_equal(rc_dpswire_reply_topic(202, "1", 3601, out,
	                     sizeof(out)),
	    RC_EINVAL);
	assert_int_equal(rc_dpswire_reply_topic(202, "12345678", 3, small,
	                     sizeof(small)),
	    RC_ETOOBIG);
	assert_string_equal(small, "");
}

static int
http(enum rc_http_method m, const char *path, const char *query,
    struct rc_dpswire_http *h, char *why)
{
	struct rc_http_req req;

	memset(&req, 0, sizeof(req));
	req.method = m;
	req.path = path;
	req.query = query;
	return rc_dpswire_http(&req, h, why, WHY);
}

static void
http_bad(enum rc_http_method m, const char *path, const char *query, int want)
{
	struct rc_dpswire_http h;
	char why[WHY];

	assert_int_equal(http(m, path, query, &h, why), want);
	assert_true(why[0] != '\0');
	assert_string_equal(h.registration_id, "");
}

static void
test_http_paths(void **state)
{
	struct rc_dpswire_http h;
	char why[WHY];

	(void)state;
	/* node and C (§3). */
	assert_int_equal(http(RC_HTTP_PUT,
	                     "/0ne00000001/registrations/device-001/register",
	                     "api-version=2019-03-31", &h, why),
	    RC_OK);
	assert_int_equal(h.op, RC_DPSWIRE_REGISTER);
	assert_string_equal(h.scope, "0ne00000001");
	assert_string_equal(h.registration_id, "device-001");
	assert_string_equal(h.api_version, "2019-03-31");
	assert_string_equal(h.operation_id, "");
	assert_int_equal(http(RC_HTTP_PUT, "/S/registrations/d/register",
	                     "api-version=2021-06-01&forceRegistration=true",
	                     &h, why),
	    RC_OK);
	assert_int_equal(http(RC_HTTP_GET,
	                     "/0ne1/registrations/d:1/operations/4.ab.c-d",
	                     "api-version=2025-07-01-preview", &h, why),
	    RC_OK);
	assert_int_equal(h.op, RC_DPSWIRE_POLL);
	assert_string_equal(h.registration_id, "d:1");
	assert_string_equal(h.operation_id, "4.ab.c-d");
	assert_string_equal(h.api_version, "2025-07-01-preview");
	/* Fixed words in any case; segments percent-decoded. */
	assert_int_equal(http(RC_HTTP_PUT, "/S/Registrations/dev%2D1/REGISTER",
	                     "api-version=1", &h, why),
	    RC_OK);
	assert_string_equal(h.registration_id, "dev-1");
	assert_int_equal(http(RC_HTTP_GET, "/S/registrations/d/Operations/o",
	                     "x=1&api-version=%32", &h, why),
	    RC_OK);
	assert_string_equal(h.api_version, "2");
}

static void
test_http_bad(void **state)
{
	char p[512];

	(void)state;
	/* Not device paths: 404. */
	http_bad(RC_HTTP_PUT, "/enrollments/x", "api-version=1", RC_ENOENT);
	http_bad(RC_HTTP_PUT, "/S/registrations/d", "api-version=1", RC_ENOENT);
	http_bad(RC_HTTP_PUT, "/S/registrations/d/register/x", "api-version=1",
	    RC_ENOENT);
	http_bad(RC_HTTP_PUT, "/S/registrations/d/operations", "api-version=1",
	    RC_ENOENT);
	http_bad(RC_HTTP_GET, "/S/registrations/d/operations/o/x",
	    "api-version=1", RC_ENOENT);
	http_bad(RC_HTTP_GET, "/S/x/d/operations/o", "api-version=1",
	    RC_ENOENT);
	http_bad(RC_HTTP_GET, "/a/b/c/d/e/f/g/h", NULL, RC_ENOENT);
	http_bad(RC_HTTP_GET, "", NULL, RC_ENOENT);
	/* The right path with the wrong method: 405. */
	http_bad(RC_HTTP_POST, "/S/registrations/d/register", "api-version=1",
	    RC_EUNSUPPORTED);
	http_bad(RC_HTTP_GET, "/S/registrations/d/register", "api-version=1",
	    RC_EUNSUPPORTED);
	http_bad(RC_HTTP_PUT, "/S/registrations/d/operations/o",
	    "api-version=1", RC_EUNSUPPORTED);
	/* Bad fields: 400. */
	http_bad(RC_HTTP_PUT, "/S/registrations/d/register", NULL, RC_EPARSE);
	http_bad(RC_HTTP_PUT, "/S/registrations/d/register",
	    "api-version=", RC_EPARSE);
	http_bad(RC_HTTP_PUT, "/S/registrations/d/register", "api-version=%zz",
	    RC_EPARSE);
	http_bad(RC_HTTP_PUT, "/S/registrations/d/register", "apiversion=1",
	    RC_EPARSE);
	http_bad(RC_HTTP_PUT, "/S/registrations/d%zz/register", "api-version=1",
	    RC_EPARSE);
	http_bad(RC_HTTP_PUT, "/S-1/registrations/d/register", "api-version=1",
	    RC_EPARSE);
	http_bad(RC_HTTP_PUT, "//registrations/d/register", "api-version=1",
	    RC_EPARSE);
	http_bad(RC_HTTP_PUT, "/S/registrations//register", "api-version=1",
	    RC_EPARSE);
	http_bad(RC_HTTP_PUT, "/S/registrations/d%20e/register",
	    "api-version=1", RC_EPARSE);
	http_bad(RC_HTTP_GET, "/S/registrations/d/operations/a_b",
	    "api-version=1", RC_EPARSE);
	http_bad(RC_HTTP_GET, "/S/registrations/d/operations/a%00",
	    "api-version=1", RC_EPARSE);
	/* max + 1 */
	snprintf(p, sizeof(p), "/S/registrations/%s/register", rep('d', 129));
	http_bad(RC_HTTP_PUT, p, "api-version=1", RC_ETOOBIG);
	snprintf(p, sizeof(p), "/%s/registrations/d/register", rep('S', 65));
	http_bad(RC_HTTP_PUT, p, "api-version=1", RC_EPARSE);
	snprintf(p, sizeof(p), "/S/registrations/d/operations/%s",
	    rep('o', 129));
	http_bad(RC_HTTP_GET, p, "api-version=1", RC_EPARSE);
	snprintf(p, sizeof(p), "api-version=%s", rep('1', 65));
	http_bad(RC_HTTP_PUT, "/S/registrations/d/register", p, RC_EPARSE);
}

static int
body(const char *s, const char *expect, struct rc_dpswire_register **r,
    char *why)
{
	return rc_dpswire_register_parse((const uint8_t *)s, strlen(s), expect,
	    r, why, WHY);
}

static void
body_bad(const char *s, const char *expect, int want)
{
	struct rc_dpswire_register *r;
	char why[WHY];

	assert_int_equal(body(s, expect, &r, why), want);
	assert_null(r);
	assert_true(why[0] != '\0');
}

static void
test_body_sdks(void **state)
{
	struct rc_dpswire_register *r;
	char why[WHY];
	char *dump;

	(void)state;
	assert_int_equal(body("{\"registrationId\":\"device-001\"}",
	                     "device-001", &r, why),
	    RC_OK);
	assert_string_equal(r->registration_id, "device-001");
	assert_null(r->payload);
	assert_null(r->csr);
	assert_int_equal(r->csr_len, 0);
	rc_dpswire_register_free(r);
	/* Custom allocation payload; unknown members ignored. */
	assert_int_equal(body("{\"registrationId\":\"d\",\"payload\":"
	                      "{\"a\":[1,2]},\"tpm\":{}}",
	                     NULL, &r, why),
	    RC_OK);
	assert_int_equal(rc_json_dump(r->payload, 0, &dump, NULL), RC_OK);
	assert_string_equal(dump, "{\"a\":[1,2]}");
	rc_free(dump);
	rc_dpswire_register_free(r);
	/* payload may be any value; null is absent. */
	assert_int_equal(body("{\"registrationId\":\"d\",\"payload\":\"x\"}",
	                     "d", &r, why),
	    RC_OK);
	assert_true(json_is_string(r->payload));
	rc_dpswire_register_free(r);
	assert_int_equal(body("{\"registrationId\":\"d\",\"payload\":null}",
	                     "d", &r, why),
	    RC_OK);
	assert_null(r->payload);
	rc_dpswire_register_free(r);
	/* The ID may come from the username or path alone. */
	assert_int_equal(body("{}", "dev", &r, why), RC_OK);
	assert_string_equal(r->registration_id, "dev");
	rc_dpswire_register_free(r);
	rc_dpswire_register_free(NULL);
}

static void
test_body_csr(void **state)
{
	static const uint8_t der[] = {0x30, 0x03, 0x02, 0x01, 0x00};
	struct rc_dpswire_register *r;
	char why[WHY], *b64, *js, *big;
	uint8_t *raw;
	size_t n;

	(void)state;
	assert_int_equal(rc_b64_encode(der, sizeof(der), &b64), RC_OK);
	js = rc_malloc(strlen(b64) + 64);
	assert_non_null(js);
	snprintf(js, strlen(b64) + 64,
	    "{\"registrationId\":\"d\",\"csr\":\"%s\"}", b64);
	assert_int_equal(body(js, "d", &r, why), RC_OK);
	assert_int_equal(r->csr_len, sizeof(der));
	assert_memory_equal(r->csr, der, sizeof(der));
	rc_dpswire_register_free(r);
	rc_free(js);
	rc_free(b64);
	/* Exactly the cap, and one byte over. */
	for (n = RC_DPSWIRE_CSR_MAX; n <= RC_DPSWIRE_CSR_MAX + 1; n++) {
		raw = rc_calloc(1, n);
		assert_non_null(raw);
		raw[0] = 0x30;
		assert_int_equal(rc_b64_encode(raw, n, &b64), RC_OK);
		big = rc_malloc(strlen(b64) + 64);
		assert_non_null(big);
		snprintf(big, strlen(b64) + 64, "{\"csr\":\"%s\"}", b64);
		assert_int_equal(body(big, "d", &r, why),
		    n == RC_DPSWIRE_CSR_MAX ? RC_OK : RC_ETOOBIG);
		rc_dpswire_register_free(r);
		rc_free(big);
		rc_free(b64);
		rc_free(raw);
	}
	body_bad("{\"csr\":\"\"}", "d", RC_EPARSE);
	body_bad("{\"csr\":12}", "d", RC_EPARSE);
	body_bad("{\"csr\":\"MIIB*\"}", "d", RC_EPARSE);
	body_bad("{\"csr\":\"MIIBAA=\"}", "d", RC_EPARSE);
	body_bad("{\"csr\":\"-----BEGIN CERTIFICATE REQUEST-----\\nMIIB\\n"
	         "-----END CERTIFICATE REQUEST-----\"}",
	    "d", RC_EPARSE);
	/* Base64 of something that is not a SEQUENCE, or too short. */
	body_bad("{\"csr\":\"AAAA\"}", "d", RC_EPARSE);
	body_bad("{\"csr\":\"MA==\"}", "d", RC_EPARSE);
}

static void
test_body_bad(void **state)
{
	struct rc_dpswire_register *r;
	char why[WHY], *big;
	size_t n;

	(void)state;
	body_bad("", "d", RC_EPARSE);
	body_bad(" ", "d", RC_EPARSE);
	body_bad("[]", "d", RC_EPARSE);
	body_bad("{", "d", RC_EPARSE);
	body_bad("{\"registrationId\":\"d\"", "d", RC_EPARSE);
	body_bad("{\"registrationId\":\"d\"} x", "d", RC_EPARSE);
	body_bad("{\"registrationId\":\"d\",\"registrationId\":\"d\"}", "d",
	    RC_EPARSE);
	body_bad("{\"registrationId\":7}", "d", RC_EPARSE);
	body_bad("{\"registrationId\":\"e\"}", "d", RC_EPARSE);
	body_bad("{\"registrationId\":\"D\"}", "d", RC_EPARSE);
	body_bad("{\"registrationId\":\"d.\"}", NULL, RC_EPARSE);
	body_bad("{}", NULL, RC_EPARSE);
	body_bad("{\"registrationId\":\"\"}", NULL, RC_EPARSE);
	body_bad("{\"registrationId\":\"a\\u0000b\"}", NULL, RC_EPARSE);
	assert_int_equal(rc_dpswire_register_parse(NULL, 0, "d", &r, why, WHY),
	    RC_EPARSE);
	assert_null(r);
	/* Truncations of a good body. */
	{
		static const char good[] =
		    "{\"registrationId\":\"d\",\"payload\":{\"a\":1}}";

		for (n = 0; n < sizeof(good) - 1; n++) {
			assert_int_not_equal(
			    rc_dpswire_register_parse((const uint8_t *)good, n,
			        "d", &r, why, WHY),
			    RC_OK);
			assert_null(r);
		}
	}
	/* Body size: the cap passes, one byte more does not. */
	big = rc_malloc(RC_DPSWIRE_BODY_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', RC_DPSWIRE_BODY_MAX + 1);
	memcpy(big, "{}", 2);
	big[RC_DPSWIRE_BODY_MAX + 1] = '\0';
	assert_int_equal(rc_dpswire_register_parse((const uint8_t *)big,
	                     RC_DPSWIRE_BODY_MAX, "d", &r, why, WHY),
	    RC_OK);
	rc_dpswire_register_free(r);
	assert_int_equal(rc_dpswire_register_parse((const uint8_t *)big,
	                     RC_DPSWIRE_BODY_MAX + 1, "d", &r, why, WHY),
	    RC_ETOOBIG);
	assert_null(r);
	rc_free(big);
}

/* The compact dump of j, compared as text; j is released. */
static void
dumps(json_t *j, const char *want)
{
	char *s;

	assert_non_null(j);
	assert_int_equal(rc_json_dump(j, 0, &s, NULL), RC_OK);
	assert_string_equal(s, want);
	rc_free(s);
	json_decref(j);
}

static void
test_op_json(void **state)
{
	static const char *const chain[] = {"TEFG", "SU5U", "Uk9PVA=="};
	struct rc_dpswire_cert_info ci = {.subject_name = "CN=d",
	    .sha1_thumbprint = "AB",
	    .sha256_thumbprint = "CD",
	    .issuer_name = "CN=ca",
	    .not_before = 86400,
	    .not_after = 2 * 86400,
	    .serial_number = "01",
	    .version = 3};
	struct rc_dpswire_state st = {.registration_id = "d",
	    .created = 1586488273,
	    .assigned_hub = "hub.example.com",
	    .device_id = "d",
	    .substatus = "initialAssignment",
	    .updated = 1586488274,
	    .etag = "\"e1\""};
	json_t *j;

	(void)state;
	assert_int_equal(rc_dpswire_op_json("op-1", RC_DPSWIRE_ASSIGNING, NULL,
	                     &j),
	    RC_OK);
	dumps(j, "{\"operationId\":\"op-1\",\"status\":\"assigning\"}");
	/* The order and fields of Azure's own reply (§4). */
	assert_int_equal(rc_dpswire_op_json("op-1", RC_DPSWIRE_ASSIGNED, &st,
	                     &j),
	    RC_OK);
	dumps(j,
	    "{\"operationId\":\"op-1\",\"status\":\"assigned\","
	    "\"registrationState\":{\"x509\":{},\"registrationId\":\"d\","
	    "\"createdDateTimeUtc\":\"2020-04-10T03:11:13Z\","
	    "\"assignedHub\":\"hub.example.com\",\"deviceId\":\"d\","
	    "\"status\":\"assigned\",\"substatus\":\"initialAssignment\","
	    "\"lastUpdatedDateTimeUtc\":\"2020-04-10T03:11:14Z\","
	    "\"etag\":\"\\\"e1\\\"\"}}");
	/* Group, certificate info, payload, issued chain (§5). */
	st.enrollment_group_id = "g1";
	st.cert = &ci;
	st.issued_chain = chain;
	st.nissued = 3;
	st.payload = json_pack("{s:i}", "k", 1);
	assert_non_null(st.payload);
	assert_int_equal(rc_dpswire_op_json("op-1", RC_DPSWIRE_ASSIGNED, &st,
	                     &j),
	    RC_OK);
	dumps(j,
	    "{\"operationId\":\"op-1\",\"status\":\"assigned\","
	    "\"registrationState\":{\"x509\":{\"certificateInfo\":{"
	    "\"subjectName\":\"CN=d\",\"sha1Thumbprint\":\"AB\","
	    "\"sha256Thumbprint\":\"CD\",\"issuerName\":\"CN=ca\","
	    "\"notBeforeUtc\":\"1970-01-02T00:00:00Z\","
	    "\"notAfterUtc\":\"1970-01-03T00:00:00Z\","
	    "\"serialNumber\":\"01\",\"version\":3},"
	    "\"enrollmentGroupId\":\"g1\"},\"registrationId\":\"d\","
	    "\"createdDateTimeUtc\":\"2020-04-10T03:11:13Z\","
	    "\"assignedHub\":\"hub.example.com\",\"deviceId\":\"d\","
	    "\"status\":\"assigned\",\"substatus\":\"initialAssignment\","
	    "\"lastUpdatedDateTimeUtc\":\"2020-04-10T03:11:14Z\","
	    "\"etag\":\"\\\"e1\\\"\",\"payload\":{\"k\":1},"
	    "\"issuedCertificateChain\":[\"TEFG\",\"SU5U\",\"Uk9PVA==\"]}}");
	json_decref(st.payload);
}

static void
test_op_json_failed(void **state)
{
	struct rc_dpswire_state st = {.registration_id = "d",
	    .error_code = 400209,
	    .error_message = "hub refused"};
	static const char *const bad_chain[] = {"TEFG", "a b"};
	json_t *j = (json_t *)1;

	(void)state;
	assert_int_equal(rc_dpswire_op_json("o", RC_DPSWIRE_FAILED, &st, &j),
	    RC_OK);
	dumps(j,
	    "{\"operationId\":\"o\",\"status\":\"failed\","
	    "\"registrationState\":{\"x509\":{},\"registrationId\":\"d\","
	    "\"status\":\"failed\",\"errorCode\":400209,"
	    "\"errorMessage\":\"hub refused\"}}");
	/* What would break an SDK is refused. */
	assert_int_equal(rc_dpswire_op_json("o", RC_DPSWIRE_ASSIGNED, &st, &j),
	    RC_EINVAL);
	assert_null(j);
	assert_int_equal(rc_dpswire_op_json("o", RC_DPSWIRE_ASSIGNED, NULL, &j),
	    RC_EINVAL);
	assert_int_equal(rc_dpswire_op_json("o", RC_DPSWIRE_FAILED, NULL, &j),
	    RC_EINVAL);
	assert_int_equal(rc_dpswire_op_json("", RC_DPSWIRE_ASSIGNING, NULL, &j),
	    RC_EINVAL);
	assert_int_equal(rc_dpswire_op_json(NULL, RC_DPSWIRE_ASSIGNING, NULL,
	                     &j),
	    RC_EINVAL);
	assert_int_equal(rc_dpswire_op_json("o", (enum rc_dpswire_status)7,
	                     NULL, &j),
	    RC_EINVAL);
	st.assigned_hub = "h.example";
	st.device_id = "";
	assert_int_equal(rc_dpswire_op_json("o", RC_DPSWIRE_ASSIGNED, &st, &j),
	    RC_EINVAL);
	st.error_code = 0;
	assert_int_equal(rc_dpswire_op_json("o", RC_DPSWIRE_FAILED, &st, &j),
	    RC_EINVAL);
	st.device_id = "d";
	st.error_message = "\xff";
	assert_int_equal(rc_dpswire_op_json("o", RC_DPSWIRE_ASSIGNED, &st, &j),
	    RC_EINVAL);
	assert_null(j);
	st.error_message = NULL;
	st.issued_chain = bad_chain;
	st.nissued = 2;
	assert_int_equal(rc_dpswire_op_json("o", RC_DPSWIRE_ASSIGNED, &st, &j),
	    RC_EINVAL);
	assert_null(j);
}

static void
test_error_json(void **state)
{
	json_t *j = (json_t *)1;
	const char *tid;

	(void)state;
	assert_int_equal(rc_dpswire_error_json(401002, "Invalid certificate.",
	                     "8ad0463c", 1586492662, &j),
	    RC_OK);
	dumps(j,
	    "{\"errorCode\":401002,\"trackingId\":\"8ad0463c\","
	    "\"message\":\"Invalid certificate.\","
	    "\"timestampUtc\":\"2020-04-10T04:24:22Z\"}");
	assert_int_equal(rc_dpswire_error_json(401002, "m", NULL, 0, &j),
	    RC_OK);
	assert_int_equal(rc_json_get_str(j, "trackingId", 1, &tid), RC_OK);
	assert_int_equal(strlen(tid), 36);
	assert_true(tid[14] == '4' && tid[8] == '-' && tid[23] == '-');
	json_decref(j);
	assert_int_equal(rc_dpswire_error_json(99999, "m", NULL, 0, &j),
	    RC_EINVAL);
	assert_null(j);
	assert_int_equal(rc_dpswire_error_json(600000, "m", NULL, 0, &j),
	    RC_EINVAL);
	assert_int_equal(rc_dpswire_error_json(401002, NULL, NULL, 0, &j),
	    RC_EINVAL);
	assert_int_equal(rc_dpswire_error_json(401002, "\xc3", NULL, 0, &j),
	    RC_EINVAL);
	assert_null(j);
}

static void
test_opid(void **state)
{
	char a[RC_DPSWIRE_OPID_SIZE], b[RC_DPSWIRE_OPID_SIZE];
	char s[256], why[WHY];
	struct rc_dpswire_topic t;
	struct rc_dpswire_http h;
	size_t i;

	(void)state;
	assert_int_equal(rc_dpswire_opid_new(a), RC_OK);
	assert_int_equal(rc_dpswire_opid_new(b), RC_OK);
	assert_int_equal(strlen(a), RC_DPSWIRE_OPID_SIZE - 1);
	assert_string_not_equal(a, b);
	assert_int_equal(a[16], '.');
	for (i = 0; a[i] != '\0'; i++)
		assert_non_null(strchr("0123456789abcdef.-", a[i]));
	/* Both transports read back what we hand out. */
	snprintf(s, sizeof(s),
	    "$dps/registrations/GET/iotdps-get-operationstatus/?$rid=1"
	    "&operationId=%s",
	    a);
	assert_int_equal(topic(s, &t, why), RC_OK);
	assert_string_equal(t.operation_id, a);
	snprintf(s, sizeof(s), "/S/registrations/d/operations/%s", a);
	assert_int_equal(http(RC_HTTP_GET, s, "api-version=1", &h, why), RC_OK);
	assert_string_equal(h.operation_id, a);
}

static void
test_regid_valid(void **state)
{
	(void)state;
	assert_true(rc_dpswire_regid_valid("a"));
	assert_true(rc_dpswire_regid_valid("A.b-c_d:e"));
	assert_true(rc_dpswire_regid_valid("ends-"));
	assert_true(rc_dpswire_regid_valid(rep('x', 128)));
	assert_false(rc_dpswire_regid_valid(rep('x', 129)));
	assert_false(rc_dpswire_regid_valid(""));
	assert_false(rc_dpswire_regid_valid(NULL));
	assert_false(rc_dpswire_regid_valid("a_"));
	assert_false(rc_dpswire_regid_valid("a b"));
	assert_false(rc_dpswire_regid_valid("a/b"));
	assert_false(rc_dpswire_regid_valid("\xc3\xa9"));
}

static int
alloc_body(void *arg)
{
	struct rc_dpswire_register *r;
	char why[WHY];
	int rc;

	(void)arg;
	rc = body("{\"registrationId\":\"d\",\"payload\":{\"a\":[1,2,{}]},"
	          "\"csr\":\"MAMCAQA=\"}",
	    "d", &r, why);
	rc_dpswire_register_free(r);
	return rc;
}

static int
alloc_reply(void *arg)
{
	static const char *const chain[] = {"TEFG", "SU5U"};
	struct rc_dpswire_cert_info ci = {.subject_name = "CN=d",
	    .not_before = 1};
	struct rc_dpswire_state st = {.registration_id = "d",
	    .created = 1,
	    .assigned_hub = "h.example",
	    .device_id = "d",
	    .substatus = "s",
	    .updated = 2,
	    .etag = "e",
	    .issued_chain = chain,
	    .nissued = 2,
	    .error_code = 1,
	    .error_message = "m",
	    .enrollment_group_id = "g",
	    .cert = &ci};
	json_t *j;
	int rc;

	st.payload = arg;
	if ((rc = rc_dpswire_op_json("o", RC_DPSWIRE_ASSIGNED, &st, &j)) !=
	    RC_OK)
		return rc;
	json_decref(j);
	if ((rc = rc_dpswire_error_json(401002, "m", "t", 1, &j)) != RC_OK)
		return rc;
	json_decref(j);
	return RC_OK;
}

static void
test_each_alloc(void **state)
{
	json_t *payload;

	(void)state;
	rctest_each_alloc(alloc_body, NULL, 1);
	payload = json_pack("{s:[i]}", "a", 1);
	assert_non_null(payload);
	rctest_each_alloc(alloc_reply, payload, 1);
	json_decref(payload);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_username_sdks),
	    cmocka_unit_test(test_username_lenient),
	    cmocka_unit_test(test_username_bad),
	    cmocka_unit_test(test_username_truncated),
	    cmocka_unit_test(test_topic_sdks),
	    cmocka_unit_test(test_topic_bad),
	    cmocka_unit_test(test_topic_bounds),
	    cmocka_unit_test(test_reply_topic),
	    cmocka_unit_test(test_http_paths),
	    cmocka_unit_test(test_http_bad),
	    cmocka_unit_test(test_body_sdks),
	    cmocka_unit_test(test_body_csr),
	    cmocka_unit_test(test_body_bad),
	    cmocka_unit_test(test_op_json),
	    cmocka_unit_test(test_op_json_failed),
	    cmocka_unit_test(test_error_json),
	    cmocka_unit_test(test_opid),
	    cmocka_unit_test(test_regid_valid),
	    cmocka_unit_test(test_each_alloc),
	};

	rc_json_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
