/*
 * Unit tests for what rollcall-load reads from servers (src/load/reply.c):
 * DPS reply topics and bodies, HTTP/1.1 responses, and the latency
 * quantiles (src/load/stats.c).
 */
#include <string.h>

#include "load.h"
#include "rctest.h"
#include "rollcall/json.h"
#include "rollcall/mem.h"

static int
topic(const char *t, int *st, long *rid, int *ra)
{
	return load_dps_topic(t, strlen(t), st, rid, ra);
}

static void
test_topic(void **state)
{
	int st, ra;
	long rid;

	(void)state;
	assert_int_equal(topic("$dps/registrations/res/202/?$rid=7&"
	                       "retry-after=3",
	                     &st, &rid, &ra),
	    RC_OK);
	assert_int_equal(st, 202);
	assert_int_equal(rid, 7);
	assert_int_equal(ra, 3);
	assert_int_equal(topic("$dps/registrations/res/200/?foo=bar&$rid=12",
	                     &st, &rid, &ra),
	    RC_OK);
	assert_int_equal(st, 200);
	assert_int_equal(rid, 12);
	assert_int_equal(ra, 0);
	assert_int_equal(topic("devices/x/messages/devicebound/", &st, &rid,
	                     &ra),
	    RC_ENOENT);
	/* Malformed: no rid, two rids, a bad status, big retry-after. */
	assert_int_equal(topic("$dps/registrations/res/200/?a=b", &st, &rid,
	                     &ra),
	    RC_EPARSE);
	assert_int_equal(st, 0);
	assert_int_equal(topic("$dps/registrations/res/200/?$rid=1&$rid=2", &st,
	                     &rid, &ra),
	    RC_EPARSE);
	assert_int_equal(topic("$dps/registrations/res/2x0/?$rid=1", &st, &rid,
	                     &ra),
	    RC_EPARSE);
	assert_int_equal(topic("$dps/registrations/res/099/?$rid=1", &st, &rid,
	                     &ra),
	    RC_EPARSE);
	assert_int_equal(topic("$dps/registrations/res/202/?$rid=1&"
	                       "retry-after=3601",
	                     &st, &rid, &ra),
	    RC_EPARSE);
	assert_int_equal(topic("$dps/registrations/res/202/?$rid=-1", &st, &rid,
	                     &ra),
	    RC_EPARSE);
	assert_int_equal(topic("$dps/registrations/res/20", &st, &rid, &ra),
	    RC_EPARSE);
	assert_int_equal(topic("$dps/registrations/res/200?$rid=1", &st, &rid,
	                     &ra),
	    RC_EPARSE);
	assert_int_equal(topic("$dps/registrations/res/200/?$rid=1&x="
	                       "0123456789012345678901234567890123456789"
	                       "0123456789012345678901234567890123456789",
	                     &st, &rid, &ra),
	    RC_EPARSE);
}

static int
body(const char *s, struct load_dps_op *op)
{
	return load_dps_body((const uint8_t *)s, strlen(s), op);
}

static void
test_body(void **state)
{
	struct load_dps_op op;

	(void)state;
	assert_int_equal(body("{\"operationId\":\"4.abc-1\",\"status\":"
	                      "\"assigning\"}",
	                     &op),
	    RC_OK);
	assert_string_equal(op.operation_id, "4.abc-1");
	assert_int_equal(op.assigned, 0);
	assert_null(op.leaf);
	assert_int_equal(body("{\"operationId\":\"o\",\"status\":\"assigned\","
	                      "\"registrationState\":{"
	                      "\"issuedCertificateChain\":[\"AQID\",\"BA==\"]}"
	                      "}",
	                     &op),
	    RC_OK);
	assert_int_equal(op.assigned, 1);
	assert_int_equal(op.leaf_len, 3);
	assert_memory_equal(op.leaf, "\x01\x02\x03", 3);
	rc_free(op.leaf);
	assert_int_equal(body("{\"operationId\":\"o\",\"status\":\"failed\"}",
	                     &op),
	    RC_OK);
	assert_int_equal(op.assigned, -1);
	/* Malformed. */
	assert_int_equal(body("", &op), RC_EPARSE);
	assert_int_equal(body("[]", &op), RC_EPARSE);
	assert_int_equal(body("{\"status\":\"assigned\"}", &op), RC_EPARSE);
	assert_int_equal(body("{\"operationId\":\"a/b\",\"status\":\"x\"}",
	                     &op),
	    RC_EPARSE);
	assert_string_equal(op.operation_id, "");
	assert_int_equal(body("{\"operationId\":\"a\",\"status\":1}", &op),
	    RC_EPARSE);
	assert_int_equal(body("{\"operationId\":\"a\",\"operationId\":\"b\","
	                      "\"status\":\"x\"}",
	                     &op),
	    RC_EPARSE);
	assert_int_equal(body("{\"operationId\":\"o\",\"status\":\"assigned\","
	                      "\"registrationState\":{"
	                      "\"issuedCertificateChain\":[\"@@@\"]}}",
	                     &op),
	    RC_EPARSE);
	assert_null(op.leaf);
	assert_int_equal(body("{\"operationId\":\"o\",\"status\":\"assigned\","
	                      "\"registrationState\":{"
	                      "\"issuedCertificateChain\":[]}}",
	                     &op),
	    RC_EPARSE);
	assert_int_equal(body("{\"operationId\":\"o\",\"status\":\"assigned\","
	                      "\"registrationState\":{"
	                      "\"issuedCertificateChain\":\"AQID\"}}",
	                     &op),
	    RC_EPARSE);
	assert_int_equal(body("{\"operationId\":\"o\"", &op), RC_EPARSE);
}

static int
body_alloc(void *arg)
{
	struct load_dps_op op;
	int rc;

	(void)arg;
	rc = body("{\"operationId\":\"o\",\"status\":\"assigned\","
	          "\"registrationState\":{"
	          "\"issuedCertificateChain\":[\"AQID\"]}}",
	    &op);
	rc_free(op.leaf);
	return rc;
}

static void
test_body_alloc(void **state)
{
	(void)state;
	rctest_each_alloc(body_alloc, NULL, 1);
}

static int
http(const char *s, struct load_http_resp *r)
{
	return load_http_parse((const uint8_t *)s, strlen(s), r);
}

static void
test_http(void **state)
{
	struct load_http_resp r;
	const char *ok = "HTTP/1.1 202 Accepted\r\nContent-Type: "
	                 "application/json\r\nretry-after: 2\r\n"
	                 "Content-Length: 5\r\n\r\nhello";
	size_t i;

	(void)state;
	assert_int_equal(http(ok, &r), RC_OK);
	assert_int_equal(r.status, 202);
	assert_int_equal(r.retry_after, 2);
	assert_int_equal(r.body_len, 5);
	assert_memory_equal(ok + r.body_off, "hello", 5);
	assert_int_equal(r.total, strlen(ok));
	/* Every prefix is incomplete, never an error. */
	for (i = 0; i < strlen(ok); i++)
		assert_int_equal(load_http_parse((const uint8_t *)ok, i, &r),
		    RC_ETRUNC);
	assert_int_equal(r.status, 0);
	assert_int_equal(http("HTTP/1.1 200 OK\nContent-Length: 0\n\n", &r),
	    RC_OK);
	assert_int_equal(r.body_len, 0);
	/* Malformed. */
	assert_int_equal(http("HTTP/1.1 200 OK\r\n\r\n", &r), RC_EPARSE);
	assert_int_equal(http("HTTP/1.1 20 OK\r\n\r\n", &r), RC_EPARSE);
	assert_int_equal(http("HTTX/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	                     &r),
	    RC_EPARSE);
	assert_int_equal(http("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
	                     &r),
	    RC_EPARSE);
	assert_int_equal(http("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
	                      "Content-Length: 1\r\n\r\nx",
	                     &r),
	    RC_EPARSE);
	assert_int_equal(http("HTTP/1.1 200 OK\r\nContent-Length: 2000000"
	                      "\r\n\r\n",
	                     &r),
	    RC_ETOOBIG);
	assert_int_equal(http("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
	                      "\r\n\r\n",
	                     &r),
	    RC_EPARSE);
	assert_int_equal(http("HTTP/1.1 200 OK\r\nno colon\r\n\r\n", &r),
	    RC_EPARSE);
	assert_int_equal(http("HTTP/1.1 202 OK\r\nretry-after: soon\r\n"
	                      "Content-Length: 0\r\n\r\n",
	                     &r),
	    RC_EPARSE);
}

static void
test_http_head_max(void **state)
{
	struct load_http_resp r;
	size_t n = LOAD_HTTP_HEAD_MAX + 100;
	char *big = rc_malloc(n + 1);

	(void)state;
	assert_non_null(big);
	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
	memset(big + 20, 'a', n - 20);
	big[n] = '\0';
	assert_int_equal(http(big, &r), RC_ETOOBIG);
	rc_free(big);
}

static void
test_quantiles(void **state)
{
	struct load_lat l;
	uint64_t i;

	(void)state;
	memset(&l, 0, sizeof(l));
	assert_true(load_lat_quantile(&l, 0.5) == 0);
	for (i = 100; i >= 1; i--)
		load_lat_add(&l, i * 1000);
	assert_true(load_lat_quantile(&l, 0.5) == 51.0);
	assert_true(load_lat_quantile(&l, 0.99) == 100.0);
	assert_true(load_lat_quantile(&l, 1.0) == 100.0);
	load_lat_add(&l, UINT64_MAX);
	assert_true(load_lat_quantile(&l, 1.0) == (double)UINT32_MAX / 1000);
	load_lat_free(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_topic),
	    cmocka_unit_test(test_body),
	    cmocka_unit_test(test_body_alloc),
	    cmocka_unit_test(test_http),
	    cmocka_unit_test(test_http_head_max),
	    cmocka_unit_test(test_quantiles),
	};

	rc_json_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
