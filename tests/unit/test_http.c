/* Unit tests for the request/response helpers (http.h). */
#include <string.h>

#include "rctest.h"
#include "rollcall/http.h"
#include "rollcall/mem.h"

static void
test_path_split(void **state)
{
	const char *segs[4];
	char scratch[64];
	size_t n;

	(void)state;
	assert_int_equal(rc_http_path_split("/enrollments/dev%2D1", scratch,
	                     sizeof(scratch), segs, 4, &n),
	    RC_OK);
	assert_int_equal(n, 2);
	assert_string_equal(segs[0], "enrollments");
	assert_string_equal(segs[1], "dev-1");
	/* trailing slash keeps an empty segment (bulk uses "/enrollments/") */
	assert_int_equal(rc_http_path_split("/enrollments/", scratch,
	                     sizeof(scratch), segs, 4, &n),
	    RC_OK);
	assert_int_equal(n, 2);
	assert_string_equal(segs[1], "");
	assert_int_equal(rc_http_path_split("/a/b/c/d/e", scratch,
	                     sizeof(scratch), segs, 4, &n),
	    RC_ETOOBIG);
	assert_int_equal(rc_http_path_split("/a%2Fb", scratch, sizeof(scratch),
	                     segs, 4, &n),
	    RC_EPARSE);
	assert_int_equal(rc_http_path_split("/a%00", scratch, sizeof(scratch),
	                     segs, 4, &n),
	    RC_EPARSE);
	assert_int_equal(rc_http_path_split("/a%4", scratch, sizeof(scratch),
	                     segs, 4, &n),
	    RC_EPARSE);
	assert_int_equal(rc_http_path_split("/a%zz", scratch, sizeof(scratch),
	                     segs, 4, &n),
	    RC_EPARSE);
	assert_int_equal(rc_http_path_split("nope", scratch, sizeof(scratch),
	                     segs, 4, &n),
	    RC_EPARSE);
	assert_int_equal(rc_http_path_split("/abcdefgh", scratch, 8, segs, 4,
	                     &n),
	    RC_ETOOBIG);
	assert_int_equal(rc_http_path_split("/abcdefg", scratch, 8, segs, 4,
	                     &n),
	    RC_OK);
}

static void
test_query_and_headers(void **state)
{
	struct rc_http_req req;
	char v[16];

	(void)state;
	memset(&req, 0, sizeof(req));
	req.query = "api-version=2021-10-01&x=a+b%20c&empty=&flag";
	req.headers[0].name = "If-Match";
	req.headers[0].value = "\"abc\"";
	req.nheaders = 1;
	assert_int_equal(rc_http_query_param(&req, "api-version", v, sizeof(v)),
	    RC_OK);
	assert_string_equal(v, "2021-10-01");
	assert_int_equal(rc_http_query_param(&req, "x", v, sizeof(v)), RC_OK);
	assert_string_equal(v, "a+b c");
	assert_int_equal(rc_http_query_param(&req, "empty", v, sizeof(v)),
	    RC_OK);
	assert_string_equal(v, "");
	assert_int_equal(rc_http_query_param(&req, "flag", v, sizeof(v)),
	    RC_ENOENT);
	assert_int_equal(rc_http_query_param(&req, "api", v, sizeof(v)),
	    RC_ENOENT);
	assert_int_equal(rc_http_query_param(&req, "api-version", v, 10),
	    RC_ETOOBIG);
	assert_string_equal(rc_http_header(&req, "if-match"), "\"abc\"");
	assert_null(rc_http_header(&req, "If-None-Match"));
	req.query = NULL;
	assert_int_equal(rc_http_query_param(&req, "x", v, sizeof(v)),
	    RC_ENOENT);
}

static void
test_resp(void **state)
{
	struct rc_http_resp resp;
	json_t *j;
	int i;

	(void)state;
	rc_http_resp_init(&resp, 16);
	j = json_pack("{s:s}", "a", "b");
	assert_int_equal(rc_http_resp_json(&resp, 200, j), RC_OK);
	assert_string_equal((char *)resp.body.data, "{\"a\":\"b\"}");
	assert_string_equal(resp.headers[0][1],
	    "application/json; charset=utf-8");
	json_decref(j);
	/* over the body cap */
	j = json_pack("{s:s}", "a", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	assert_int_equal(rc_http_resp_json(&resp, 200, j), RC_ETOOBIG);
	json_decref(j);
	assert_int_equal(rc_http_resp_header(&resp, "content-type", "x"),
	    RC_OK);
	assert_int_equal(resp.nheaders, 1);
	for (i = 1; i < RC_HTTP_MAX_RESP_HEADERS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "h%d", i);
		assert_int_equal(rc_http_resp_header(&resp, name, "v"), RC_OK);
	}
	assert_int_equal(rc_http_resp_header(&resp, "one-more", "v"),
	    RC_ETOOBIG);
	rc_http_resp_status(&resp, 204);
	assert_int_equal(resp.body.len, 0);
	rc_http_resp_free(&resp);
	assert_string_equal(rc_http_reason(412), "Precondition Failed");
	assert_string_equal(rc_http_reason(431),
	    "Request Header Fields Too Large");
	assert_string_equal(rc_http_reason(501), "Not Implemented");
	assert_string_equal(rc_http_method_name(RC_HTTP_PUT), "PUT");
}

static void
test_is_json(void **state)
{
	(void)state;
	assert_true(rc_http_is_json("application/json"));
	assert_true(rc_http_is_json("application/json; charset=utf-8"));
	assert_true(rc_http_is_json("  Application/JSON"));
	assert_true(rc_http_is_json("application/merge-patch+json"));
	assert_false(rc_http_is_json("text/plain"));
	assert_false(rc_http_is_json("application/jsonx"));
	assert_false(rc_http_is_json("+json"));
	assert_false(rc_http_is_json(""));
}

static void
test_if_match(void **state)
{
	static const char *const cases[][2] = {
	    {"\"abc\"", "\"abc\""},
	    {"abc", "\"abc\""},
	    {" W/\"abc\" ", "\"abc\""},
	    {"*", "*"},
	    {"\"*\"", "*"},
	};
	struct rc_http_req req;
	char buf[64];
	size_t i;

	(void)state;
	memset(&req, 0, sizeof(req));
	assert_null(rc_http_if_match(&req, buf, sizeof(buf)));
	req.headers[0].name = "if-match";
	req.nheaders = 1;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		req.headers[0].value = cases[i][0];
		assert_string_equal(rc_http_if_match(&req, buf, sizeof(buf)),
		    cases[i][1]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path_split),
	    cmocka_unit_test(test_query_and_headers),
	    cmocka_unit_test(test_resp),
	    cmocka_unit_test(test_is_json),
	    cmocka_unit_test(test_if_match),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
