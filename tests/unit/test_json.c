/* Unit tests for the strict JSON helpers (json.h). */
#include <stdio.h>
#include <string.h>

#include "rctest.h"
#include "rollcall/json.h"
#include "rollcall/mem.h"

#define MAX (64 * 1024)

static json_t *
parse_ok(const char *text)
{
	char err[256];
	json_t *v;
	int rc;

	rc = rc_json_parse(text, strlen(text), MAX, &v, err, sizeof(err));
	if (rc != RC_OK)
		fail_msg("%s: %s (%s)", rc_errname(rc), err, text);
	return v;
}

/* Fails with code rc and a message starting with msg. */
static void
expect_n(const char *text, size_t len, int rc, const char *msg)
{
	char err[256];
	json_t *v;

	assert_int_equal(rc_json_parse(text, len, MAX, &v, err, sizeof(err)),
	    rc);
	assert_null(v);
	if (strncmp(err, msg, strlen(msg)) != 0)
		fail_msg("message '%s' does not start with '%s'", err, msg);
}

static void
expect(const char *text, int rc, const char *msg)
{
	expect_n(text, strlen(text), rc, msg);
}

static void
test_valid(void **state)
{
	json_t *v;

	(void)state;
	v = parse_ok(" {\"a\": [1, 2.5, \"x\", null, true, {}]} \n\t ");
	assert_true(json_is_object(v));
	json_decref(v);
	v = parse_ok("[]");
	assert_true(json_is_array(v));
	json_decref(v);
	v = parse_ok("{\"big\":9223372036854775807,"
	             "\"small\":-9223372036854775808}");
	assert_int_equal(json_integer_value(json_object_get(v, "big")),
	    9223372036854775807LL);
	json_decref(v);
	v = parse_ok("[\"\xc3\xa9\", \"\\u00e9\", \"\\ud83d\\ude00\"]");
	assert_string_equal(json_string_value(json_array_get(v, 0)),
	    "\xc3\xa9");
	assert_string_equal(json_string_value(json_array_get(v, 2)),
	    "\xf0\x9f\x98\x80");
	json_decref(v);
}

static void
test_strictness(void **state)
{
	(void)state;
	expect("{\"a\":1,\"a\":2}", RC_EPARSE,
	    "line 1 column 10: duplicate object key near '\"a\"'");
	expect("{\"a\":{\"b\":1,\"b\":1}}", RC_EPARSE,
	    "line 1 column 15: duplicate object key");
	expect("{\"a\":1} x", RC_EPARSE,
	    "line 1 column 9: end of file expected");
	expect("{}{}", RC_EPARSE, "line 1 column 3: end of file expected");
	expect("[1]\n]", RC_EPARSE, "line 2 column 1: end of file expected");
	expect("\"str\"", RC_EPARSE, "line 1 column 5: '[' or '{' expected");
	expect("42", RC_EPARSE, "line 1 column 2: '[' or '{' expected");
	expect("null", RC_EPARSE, "line 1 column 4: '[' or '{' expected");
	expect("", RC_EPARSE, "line 1 column 0: '[' or '{' expected");
	expect("{\"a\":[1,2", RC_EPARSE,
	    "line 1 column 9: ']' expected near end of file");
	expect("{\"a\":}", RC_EPARSE, "line 1 column 6: unexpected token");
	expect("[01]", RC_EPARSE, "line 1 column 2: invalid token");
	expect("[1,]", RC_EPARSE, "line 1 column 4: unexpected token");
	expect("{'a':1}", RC_EPARSE, "line 1 column 2: string or '}' expected");
	expect("[\"a\\qb\"]", RC_EPARSE, "line 1 column 5: invalid escape");
	expect("[\"a\tb\"]", RC_EPARSE, "line 1 column 3: control character");
	expect("[\n\"a\nb\"]", RC_EPARSE,
	    "line 2 column 2: unexpected newline");
}

static void
test_nul(void **state)
{
	static const char raw[] = "{\"a\":\"b\0c\"}";
	static const char outside[] = "[1]\0";

	(void)state;
	expect_n(raw, sizeof(raw) - 1, RC_EPARSE, "line 1 column 8: NUL byte");
	expect_n(outside, sizeof(outside) - 1, RC_EPARSE,
	    "line 1 column 4: NUL byte");
	expect("{\"a\":\"b\\u0000c\"}", RC_EPARSE,
	    "line 1 column 15: \\u0000 is not allowed");
	assert_int_equal(rc_json_parse(NULL, 0, MAX, &(json_t *){NULL}, NULL,
	                     0),
	    RC_EINVAL);
}

static void
test_utf8(void **state)
{
	(void)state;
	expect("[\"\xff\"]", RC_EPARSE,
	    "line 1 column 2: unable to decode byte 0xff");
	/* Overlong NUL, CESU surrogate, beyond U+10FFFF, cut sequence. */
	expect("[\"\xc0\x80\"]", RC_EPARSE,
	    "line 1 column 2: unable to decode byte 0xc0");
	expect("[\"\xed\xa0\x80\"]", RC_EPARSE,
	    "line 1 column 2: unable to decode byte 0xed");
	expect("[\"\xf4\x90\x80\x80\"]", RC_EPARSE,
	    "line 1 column 2: unable to decode byte 0xf4");
	expect("[\"\xe2\x82\"]", RC_EPARSE,
	    "line 1 column 2: unable to decode byte 0xe2");
	expect("[\"\\ud800\"]", RC_EPARSE,
	    "line 1 column 9: invalid Unicode '\\uD800'");
	expect("[\"\\udc00\\ud800\"]", RC_EPARSE,
	    "line 1 column 15: invalid Unicode '\\uDC00'");
}

static void
test_numbers(void **state)
{
	(void)state;
	expect("[9223372036854775808]", RC_EPARSE,
	    "line 1 column 20: too big integer");
	expect("[-9223372036854775809]", RC_EPARSE,
	    "line 1 column 21: too big negative integer");
	expect("[99999999999999999999999999999999999999]", RC_EPARSE,
	    "line 1 column 39: too big integer");
	expect("[1e400]", RC_EPARSE, "line 1 column 6: real number overflow");
	expect("[-1e400]", RC_EPARSE, "line 1 column 7: real number overflow");
}

static char *
nest(size_t n, char open, char close, size_t *len)
{
	char *s;

	s = rc_malloc(2 * n + 1);
	assert_non_null(s);
	memset(s, open, n);
	memset(s + n, close, n);
	s[2 * n] = '\0';
	*len = 2 * n;
	return s;
}

static void
test_depth(void **state)
{
	char err[256], *s, *t;
	json_t *v;
	size_t len;

	(void)state;
	s = nest(RC_JSON_MAX_DEPTH, '[', ']', &len);
	assert_int_equal(rc_json_parse(s, len, MAX, &v, err, sizeof(err)),
	    RC_OK);
	json_decref(v);
	rc_free(s);
	s = nest(RC_JSON_MAX_DEPTH + 1, '[', ']', &len);
	expect_n(s, len, RC_ETOOBIG, "line 1 column 65: nested deeper than 64");
	rc_free(s);
	/* Deep enough to exhaust jansson's own limit: we refuse it first. */
	s = nest(100000, '[', ']', &len);
	assert_int_equal(rc_json_parse(s, len, SIZE_MAX, &v, err, sizeof(err)),
	    RC_ETOOBIG);
	rc_free(s);
	/* Objects count, and brackets inside strings do not. */
	s = rc_malloc(64 * 6 + 64);
	assert_non_null(s);
	for (len = 0, t = s; len < 63; len++, t += 5)
		memcpy(t, "{\"a\":", 5);
	memcpy(t, "[\"[[{\\\"\"]", 9);
	t += 9;
	memset(t, '}', 63);
	t[63] = '\0';
	v = parse_ok(s);
	json_decref(v);
	memcpy(s + 63 * 5, "[[]]", 4); /* one level more */
	memset(s + 63 * 5 + 4, '}', 63);
	s[63 * 5 + 4 + 63] = '\0';
	expect(s, RC_ETOOBIG, "line 1 column 317: nested deeper than 64");
	rc_free(s);
}

static void
test_size_cap(void **state)
{
	static const char text[] = "{\"a\":\"0123456789\"}";
	char err[256];
	size_t n = strlen(text);
	json_t *v;

	(void)state;
	assert_int_equal(rc_json_parse(text, n, n, &v, err, sizeof(err)),
	    RC_OK);
	json_decref(v);
	assert_int_equal(rc_json_parse(text, n, n - 1, &v, err, sizeof(err)),
	    RC_ETOOBIG);
	assert_null(v);
	assert_string_equal(err, "18 bytes, over the limit of 17");
}

static void
test_getters(void **state)
{
	const char *s;
	long long i;
	json_t *v, *o;
	int b;

	(void)state;
	v = parse_ok(
	    "{\"s\":\"str\",\"n\":null,\"b\":true,\"f\":false,"
	    "\"i\":42,\"neg\":-7,\"r\":2.0,\"o\":{\"x\":1},\"a\":[1]}");
	assert_int_equal(rc_json_get_str(v, "s", 1, &s), RC_OK);
	assert_string_equal(s, "str");
	assert_int_equal(rc_json_get_str(v, "zz", 0, &s), RC_OK);
	assert_null(s);
	assert_int_equal(rc_json_get_str(v, "zz", 1, &s), RC_ENOENT);
	assert_int_equal(rc_json_get_str(v, "n", 1, &s), RC_ENOENT);
	assert_int_equal(rc_json_get_str(v, "n", 0, &s), RC_OK);
	assert_null(s);
	assert_int_equal(rc_json_get_str(v, "i", 0, &s), RC_EPARSE);
	assert_null(s);

	assert_int_equal(rc_json_get_bool(v, "b", 1, 0, &b), RC_OK);
	assert_int_equal(b, 1);
	assert_int_equal(rc_json_get_bool(v, "f", 1, 1, &b), RC_OK);
	assert_int_equal(b, 0);
	assert_int_equal(rc_json_get_bool(v, "zz", 0, 1, &b), RC_OK);
	assert_int_equal(b, 1);
	assert_int_equal(rc_json_get_bool(v, "n", 0, 1, &b), RC_OK);
	assert_int_equal(b, 1);
	assert_int_equal(rc_json_get_bool(v, "zz", 1, 1, &b), RC_ENOENT);
	assert_int_equal(rc_json_get_bool(v, "s", 0, 1, &b), RC_EPARSE);
	assert_int_equal(rc_json_get_bool(v, "i", 0, 1, &b), RC_EPARSE);

	assert_int_equal(rc_json_get_int(v, "i", 1, 0, 100, &i), RC_OK);
	assert_int_equal(i, 42);
	assert_int_equal(rc_json_get_int(v, "i", 1, 42, 42, &i), RC_OK);
	assert_int_equal(rc_json_get_int(v, "i", 1, 0, 41, &i), RC_ERANGE);
	assert_int_equal(i, 0);
	assert_int_equal(rc_json_get_int(v, "i", 1, 43, 50, &i), RC_ERANGE);
	assert_int_equal(rc_json_get_int(v, "neg", 1, 0, 10, &i), RC_ERANGE);
	assert_int_equal(rc_json_get_int(v, "r", 1, 0, 10, &i), RC_EPARSE);
	assert_int_equal(rc_json_get_int(v, "s", 1, 0, 10, &i), RC_EPARSE);
	assert_int_equal(rc_json_get_int(v, "zz", 0, 0, 10, &i), RC_OK);
	assert_int_equal(rc_json_get_int(v, "zz", 1, 0, 10, &i), RC_ENOENT);

	assert_int_equal(rc_json_get_obj(v, "o", 1, &o), RC_OK);
	assert_true(json_is_object(o));
	assert_int_equal(rc_json_get_obj(v, "a", 1, &o), RC_EPARSE);
	assert_null(o);
	assert_int_equal(rc_json_get_obj(v, "n", 1, &o), RC_ENOENT);
	assert_int_equal(rc_json_get_obj(v, "zz", 0, &o), RC_OK);
	assert_null(o);
	assert_int_equal(rc_json_get_arr(v, "a", 1, &o), RC_OK);
	assert_true(json_is_array(o));
	assert_int_equal(rc_json_get_arr(v, "o", 1, &o), RC_EPARSE);

	/* Not an object to look into. */
	assert_int_equal(rc_json_get_str(json_object_get(v, "a"), "x", 0, &s),
	    RC_EINVAL);
	assert_int_equal(rc_json_get_str(NULL, "x", 0, &s), RC_EINVAL);
	json_decref(v);
}

static void
test_embedded_nul_string(void **state)
{
	const char *s;
	json_t *v;

	(void)state;
	v = json_object();
	assert_non_null(v);
	assert_int_equal(rc_json_set0(v, "k", json_stringn("a\0b", 3)), RC_OK);
	assert_int_equal(rc_json_get_str(v, "k", 1, &s), RC_EPARSE);
	json_decref(v);
}

static void
test_set_and_dump(void **state)
{
	char *out;
	size_t len;
	json_t *v;

	(void)state;
	assert_non_null(v = json_object());
	assert_int_equal(rc_json_set_str(v, "z", "\xc3\xa9t\xc3\xa9"), RC_OK);
	assert_int_equal(rc_json_set_int(v, "n", -5), RC_OK);
	assert_int_equal(rc_json_set_bool(v, "b", 1), RC_OK);
	assert_int_equal(rc_json_set0(v, "a", json_array()), RC_OK);
	assert_int_equal(rc_json_set_str(v, "q", "\"\n"), RC_OK);
	assert_int_equal(rc_json_set_int(v, "n", 6), RC_OK); /* replaces */
	assert_int_equal(rc_json_dump(v, 0, &out, &len), RC_OK);
	assert_string_equal(out,
	    "{\"z\":\"\xc3\xa9t\xc3\xa9\",\"n\":6,"
	    "\"b\":true,\"a\":[],\"q\":\"\\\"\\n\"}");
	assert_int_equal(len, strlen(out));
	rc_free(out);
	assert_int_equal(rc_json_dump(v, 1, &out, NULL), RC_OK);
	assert_string_equal(out,
	    "{\n  \"z\": \"\xc3\xa9t\xc3\xa9\",\n"
	    "  \"n\": 6,\n  \"b\": true,\n  \"a\": [],\n"
	    "  \"q\": \"\\\"\\n\"\n}");
	rc_free(out);

	assert_int_equal(rc_json_set_str(v, "bad", "\xff"), RC_EINVAL);
	assert_int_equal(rc_json_set_str(v, "bad", "\xc0\x80"), RC_EINVAL);
	assert_int_equal(rc_json_set_str(v, "bad", "\xed\xa0\x80"), RC_EINVAL);
	assert_int_equal(rc_json_set_str(v, "bad", "\xf4\x90\x80\x80"),
	    RC_EINVAL);
	assert_int_equal(rc_json_set_str(v, "bad", "\xe2\x82"), RC_EINVAL);
	assert_int_equal(rc_json_set_str(v, "ok", "\xf4\x8f\xbf\xbf"), RC_OK);
	assert_int_equal(rc_json_set_str(v, "\xff", "x"), RC_EINVAL);
	assert_int_equal(rc_json_set_str(v, "bad", NULL), RC_EINVAL);
	assert_null(json_object_get(v, "bad"));
	assert_int_equal(rc_json_set0(v, "x", NULL), RC_ENOMEM);
	/* set0 takes the reference even when it fails. */
	assert_int_equal(rc_json_set0(json_object_get(v, "a"), "x",
	                     json_object()),
	    RC_EINVAL);
	assert_int_equal(rc_json_dump(NULL, 0, &out, &len), RC_EINVAL);
	assert_null(out);
	json_decref(v);

	assert_non_null(v = json_string("scalar"));
	assert_int_equal(rc_json_dump(v, 0, &out, &len), RC_OK);
	assert_string_equal(out, "\"scalar\"");
	rc_free(out);
	json_decref(v);
}

/*
 * An Azure DPS IndividualEnrollment body (reference azure-service-api.md
 * §2.2, §2.4).  jansson absorbs a failed allocation when it grows its
 * token buffer and stops with an assert if a number token then has to be
 * put back, so the numbers here stay shorter than its initial 16-byte
 * buffer; with that, every failed allocation fails the parse.
 */
static const char enrollment[] =
    "{\"registrationId\":\"device-01\",\"deviceId\":\"device-01\","
    "\"attestation\":{\"type\":\"x509\",\"x509\":{\"clientCertificates\":"
    "{\"primary\":{\"certificate\":\"-----BEGIN CERTIFICATE-----\\nMIIB"
    "\\n-----END CERTIFICATE-----\\n\"},\"secondary\":{\"info\":"
    "{\"subjectName\":\"CN=device-01\",\"sha1Thumbprint\":"
    "\"D2F9770B46AD9377C2E6A1D0217AD780388516D8\",\"version\":3}}}}},"
    "\"capabilities\":{\"iotEdge\":false},\"initialTwin\":{\"tags\":"
    "{\"site\":\"plant-7\"},\"properties\":{\"desired\":{\"w\":30}}},"
    "\"provisioningStatus\":\"enabled\",\"reprovisionPolicy\":"
    "{\"updateHubAssignment\":true,\"migrateDeviceData\":true},"
    "\"allocationPolicy\":\"hashed\",\"iotHubs\":[\"h1\",\"h2\"],"
    "\"etag\":\"\\\"AAAAAAAAAAE=\\\"\"}";

static int
alloc_parse(void *arg)
{
	const char *s;
	json_t *v, *att;
	int rc;

	(void)arg;
	rc = rc_json_parse(enrollment, strlen(enrollment), MAX, &v, NULL, 0);
	if (rc != RC_OK)
		return rc;
	if ((rc = rc_json_get_str(v, "registrationId", 1, &s)) == RC_OK)
		rc = rc_json_get_obj(v, "attestation", 1, &att);
	json_decref(v);
	return rc;
}

static int
alloc_build(void *arg)
{
	json_t *v;
	char *out = NULL;
	int rc;

	(void)arg;
	if ((v = json_object()) == NULL)
		return RC_ENOMEM;
	if ((rc = rc_json_set_str(v, "registrationId", "device-01")) == RC_OK &&
	    (rc = rc_json_set_int(v, "errorCode", 401002)) == RC_OK &&
	    (rc = rc_json_set0(v, "iotHubs", json_array())) == RC_OK)
		rc = rc_json_dump(v, 1, &out, NULL);
	json_decref(v);
	rc_free(out);
	return rc;
}

static void
test_each_alloc(void **state)
{
	(void)state;
	rctest_each_alloc(alloc_parse, NULL, 1);
	rctest_each_alloc(alloc_build, NULL, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_strictness),
	    cmocka_unit_test(test_nul),
	    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_numbers),
	    cmocka_unit_test(test_depth),
	    cmocka_unit_test(test_size_cap),
	    cmocka_unit_test(test_getters),
	    cmocka_unit_test(test_embedded_nul_string),
	    cmocka_unit_test(test_set_and_dump),
	    cmocka_unit_test(test_each_alloc),
	};

	rc_json_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
