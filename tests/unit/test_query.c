/* Unit tests for the IoT Hub device query language (hub/query.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/query.h"
#include "rctest.h"
#include "rollcall/json.h"
#include "rollcall/mem.h"

/* Three devices: all fields set, a few set, no tags at all. */
static const char *const devices_json[] = {
    "{\"deviceId\":\"device-001\",\"status\":\"enabled\","
    "\"statusReason\":\"\",\"connectionState\":\"Connected\","
    "\"version\":3,\"etag\":\"AAAAAAAAAAE=\","
    "\"tags\":{\"location\":{\"region\":\"US\",\"plant\":\"Redmond43\","
    "\"floor\":3},\"env\":\"prod\",\"weight\":1.5,\"active\":true,"
    "\"nothing\":null,\"list\":[1,2],\"obj\":{\"a\":1},"
    "\"deep\":{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":"
    "{\"i\":\"ten\"}}}}}}}}},\"$odd\":\"d\",\"Quote\":\"it's\","
    "\"city\":\"Z\\u00fcrich\",\"mood\":\"\\ud83d\\ude00\","
    "\"2nd\":\"digit\"},"
    "\"properties\":{\"desired\":{\"telemetryConfig\":"
    "{\"sendFrequency\":\"5m\"},\"$version\":4},"
    "\"reported\":{\"telemetryConfig\":{\"sendFrequency\":\"5m\","
    "\"status\":\"success\"},\"connectivity\":\"wifi\",\"fw\":\"1.2.3\","
    "\"battery\":87,\"temp\":-4.5,\"$version\":7}}}",
    "{\"deviceId\":\"device-002\",\"status\":\"disabled\","
    "\"connectionState\":\"Disconnected\","
    "\"tags\":{\"location\":{\"region\":\"EU\"},\"floor\":-2},"
    "\"properties\":{\"desired\":{},\"reported\":"
    "{\"connectivity\":\"wired\"}}}",
    "{\"deviceId\":\"Device-001\",\"status\":\"enabled\","
    "\"connectionState\":\"Disconnected\","
    "\"properties\":{\"desired\":{},\"reported\":{}}}",
};

#define NDEV 3
static json_t *devices[NDEV];

struct eval_case {
	const char *text;
	int whole; /* 1: SELECT query, 0: bare condition */
	int match[NDEV];
};

static const struct eval_case eval_cases[] = {
    /* deviceId: exact and case-sensitive */
    {"deviceId = 'device-001'", 0, {1, 0, 0}},
    {"deviceId = 'DEVICE-001'", 0, {0, 0, 0}},
    {"deviceId = \"device-002\"", 0, {0, 1, 0}},
    {"deviceId IN ['device-001','device-002']", 0, {1, 1, 0}},
    {"deviceId NIN ['device-001', 'device-002']", 0, {0, 0, 1}},
    {"deviceId NOT IN ['device-001']", 0, {0, 1, 1}},
    {"'device-001' = deviceId", 0, {1, 0, 0}},
    {"DEVICES.DeviceId = 'device-001'", 0, {1, 0, 0}},
    /* other scalar fields */
    {"status = 'enabled'", 0, {1, 0, 1}},
    {"status != 'enabled'", 0, {0, 1, 0}},
    {"status <> 'enabled'", 0, {0, 1, 0}},
    {"connectionState = 'Connected'", 0, {1, 0, 0}},
    {"statusReason = ''", 0, {1, 0, 0}},
    {"version = 3", 0, {1, 0, 0}},
    {"etag = 'AAAAAAAAAAE='", 0, {1, 0, 0}},
    /* tags, missing properties are undefined */
    {"tags.location.region = 'US'", 0, {1, 0, 0}},
    {"tags.location.region != 'US'", 0, {0, 1, 0}},
    {"NOT (tags.location.region = 'US')", 0, {0, 1, 0}},
    {"NOT tags.location.region = 'US'", 0, {0, 1, 0}},
    {"TAGS.location.region = 'US'", 0, {1, 0, 0}},
    {"devices.tags.location.region = 'US'", 0, {1, 0, 0}},
    {"tags.Location.region = 'US'", 0, {0, 0, 0}},
    {"tags.quote = \"it's\"", 0, {0, 0, 0}},
    {"tags.deep.a.b.c.d.e.f.g.h.i = 'ten'", 0, {1, 0, 0}},
    {"tags.$odd = 'd'", 0, {1, 0, 0}},
    {"tags.2nd = 'digit'", 0, {1, 0, 0}},
    {"tags.env.x = 'prod'", 0, {0, 0, 0}},
    /* strings and escapes */
    {"tags.Quote = 'it\\'s'", 0, {1, 0, 0}},
    {"tags.Quote = \"it's\"", 0, {1, 0, 0}},
    {"tags.Quote = 'it\\u0027s'", 0, {1, 0, 0}},
    {"tags.city = 'Z\\u00fcrich'", 0, {1, 0, 0}},
    {"tags.city = 'Z\xc3\xbcrich'", 0, {1, 0, 0}},
    {"tags.mood = \"\\ud83d\\ude00\"", 0, {1, 0, 0}},
    {"tags.env = 'pro\\/d'", 0, {0, 0, 0}},
    {"tags.env = \"\\\"prod\\\"\"", 0, {0, 0, 0}},
    {"properties.reported.fw > '1.10'", 0, {1, 0, 0}},
    {"properties.reported.fw < 'a'", 0, {1, 0, 0}},
    {"properties.reported.fw <= '1.2.3'", 0, {1, 0, 0}},
    {"properties.reported.fw < '1.2.3'", 0, {0, 0, 0}},
    /* numbers: ints, negatives, decimals, exponents, hex */
    {"tags.location.floor = 3", 0, {1, 0, 0}},
    {"tags.location.floor = 3.0", 0, {1, 0, 0}},
    {"tags.location.floor > 2.5", 0, {1, 0, 0}},
    {"tags.location.floor = 0x3", 0, {1, 0, 0}},
    {"tags.floor < -1", 0, {0, 1, 0}},
    {"tags.floor = -2", 0, {0, 1, 0}},
    {"tags.floor = -0x2", 0, {0, 1, 0}},
    {"tags.floor >= -2.0e0", 0, {0, 1, 0}},
    {"tags.weight = 1.5", 0, {1, 0, 0}},
    {"tags.weight >= 1.5", 0, {1, 0, 0}},
    {"tags.weight > 1.5", 0, {0, 0, 0}},
    {"tags.weight = 15e-1", 0, {1, 0, 0}},
    {"tags.weight = 0.15E+1", 0, {1, 0, 0}},
    {"tags.weight < 0x2", 0, {1, 0, 0}},
    {"3 < tags.location.floor", 0, {0, 0, 0}},
    {"3 <= tags.location.floor", 0, {1, 0, 0}},
    {"2 < tags.location.floor", 0, {1, 0, 0}},
    {"4 > tags.location.floor", 0, {1, 0, 0}},
    {"3 >= tags.location.floor", 0, {1, 0, 0}},
    {"properties.reported.battery >= 80 AND "
     "properties.reported.battery < 90",
        0, {1, 0, 0}},
    {"properties.reported.temp < -4", 0, {1, 0, 0}},
    {"properties.reported.temp = -4.5", 0, {1, 0, 0}},
    {"version < 99999999999999999999", 0, {1, 0, 0}},
    {"version = 1e-400", 0, {0, 0, 0}},
    /* booleans and null */
    {"tags.active = true", 0, {1, 0, 0}},
    {"tags.active = TRUE", 0, {1, 0, 0}},
    {"tags.active != false", 0, {1, 0, 0}},
    {"tags.active = False", 0, {0, 0, 0}},
    {"tags.active < true", 0, {0, 0, 0}},
    {"tags.nothing = null", 0, {1, 0, 0}},
    {"tags.nothing = NULL", 0, {1, 0, 0}},
    {"tags.nothing != null", 0, {0, 0, 0}},
    {"tags.nothing < null", 0, {0, 0, 0}},
    {"tags.missing = null", 0, {0, 0, 0}},
    /* different JSON types, objects and arrays: undefined */
    {"tags.active = 'true'", 0, {0, 0, 0}},
    {"tags.location.floor = '3'", 0, {0, 0, 0}},
    {"tags.location.floor != '3'", 0, {0, 0, 0}},
    {"tags.list = 1", 0, {0, 0, 0}},
    {"tags.obj = 1", 0, {0, 0, 0}},
    {"NOT (tags.obj = 1)", 0, {0, 0, 0}},
    {"tags.obj != tags.list", 0, {0, 0, 0}},
    /* IN and NIN, mixed types */
    {"tags.location.floor IN ['3', 3]", 0, {1, 0, 0}},
    {"tags.location.floor IN ['3', 4]", 0, {0, 0, 0}},
    {"tags.location.floor NIN ['3', 4]", 0, {0, 0, 0}},
    {"tags.location.floor NIN [4, 5]", 0, {1, 0, 0}},
    {"tags.floor NIN ['3', 4]", 0, {0, 0, 0}},
    {"tags.floor NIN [4]", 0, {0, 1, 0}},
    {"tags.location.region IN ['US', 'EU', null, 1, true]", 0, {1, 1, 0}},
    {"tags.active IN [1, true]", 0, {1, 0, 0}},
    {"tags.nothing IN [null]", 0, {1, 0, 0}},
    {"tags.weight IN [1.5]", 0, {1, 0, 0}},
    {"properties.reported.connectivity IN ['wifi','wired']", 0, {1, 1, 0}},
    /* properties */
    {"properties.reported.connectivity = 'wifi'", 0, {1, 0, 0}},
    {"Properties.Reported.connectivity = 'wired'", 0, {0, 1, 0}},
    {"properties.reported.Connectivity = 'wired'", 0, {0, 0, 0}},
    {"properties.desired.telemetryConfig.sendFrequency = "
     "properties.reported.telemetryConfig.sendFrequency",
        0, {1, 0, 0}},
    {"properties.reported.$version = 7", 0, {1, 0, 0}},
    {"properties.desired.$version > properties.reported.$version", 0,
        {0, 0, 0}},
    {"devices.properties.reported.telemetryConfig.status = 'success'", 0,
        {1, 0, 0}},
    /* precedence NOT > AND > OR, parentheses */
    {"status = 'disabled' OR status = 'enabled' AND "
     "connectionState = 'Connected'",
        0, {1, 1, 0}},
    {"(status = 'disabled' OR status = 'enabled') AND "
     "connectionState = 'Connected'",
        0, {1, 0, 0}},
    {"NOT status = 'enabled' AND connectionState = 'Disconnected'", 0,
        {0, 1, 0}},
    {"NOT (status = 'enabled' AND connectionState = 'Disconnected')", 0,
        {1, 1, 0}},
    {"NOT NOT status = 'enabled'", 0, {1, 0, 1}},
    {"((((status = 'enabled'))))", 0, {1, 0, 1}},
    {"status = 'enabled' AND (deviceId = 'device-002' OR "
     "(connectionState = 'Disconnected' AND NOT deviceId = 'x'))",
        0, {0, 0, 1}},
    /* three-valued logic */
    {"tags.location.region = 'US' OR tags.missing = 1", 0, {1, 0, 0}},
    {"tags.missing = 1 OR status = 'disabled'", 0, {0, 1, 0}},
    {"NOT (tags.missing = 1 OR status = 'disabled')", 0, {0, 0, 0}},
    {"NOT (tags.missing = 1 AND status = 'disabled')", 0, {1, 0, 1}},
    {"1 = 1", 0, {1, 1, 1}},
    {"'a' = 'b'", 0, {0, 0, 0}},
    /* IS_DEFINED */
    {"IS_DEFINED(tags.location)", 0, {1, 1, 0}},
    {"is_defined(tags.nothing)", 0, {1, 0, 0}},
    {"NOT IS_DEFINED(tags.location.region)", 0, {0, 0, 1}},
    {"IS_DEFINED(statusReason) AND IS_DEFINED( devices.tags.env )", 0,
        {1, 0, 0}},
    /* every device */
    {"*", 0, {1, 1, 1}},
    {"  *\n", 0, {1, 1, 1}},
    /* keywords in any case, whitespace variety */
    {"\tstatus\n=\r\n'enabled'  ", 0, {1, 0, 1}},
    {"status='enabled'AND(connectionState='Connected')", 0, {1, 0, 0}},
    {"status = 'enabled' and NOT deviceId in ['Device-001'] Or "
     "tags.floor = -2",
        0, {1, 1, 0}},
    {"deviceId nin['device-001']", 0, {0, 1, 1}},
    /* whole queries */
    {"SELECT * FROM devices", 1, {1, 1, 1}},
    {"select * from DEVICES where status = 'enabled'", 1, {1, 0, 1}},
    {"SELECT * FROM devices WHERE devices.tags.location.region = 'EU'", 1,
        {0, 1, 0}},
    {"  SELECT\n*\nFROM devices\tWHERE (deviceId IN ['device-002'])", 1,
        {0, 1, 0}},
    {"SeLeCt*FrOm devices WhErE status='enabled' oR status='disabled'", 1,
        {1, 1, 1}},
};

static struct hub_query *
parse_ok(const char *text, int whole)
{
	struct hub_query *q;
	char err[256];
	int rc;

	rc = whole ? hub_query_parse(text, strlen(text), &q, err, sizeof(err))
	           : hub_query_parse_condition(text, strlen(text), &q, err,
	                 sizeof(err));
	if (rc != RC_OK)
		fail_msg("%s: %s (%s)", rc_errname(rc), err, text);
	assert_non_null(q);
	return q;
}

static void
test_eval_table(void **state)
{
	struct hub_query *q;
	size_t i, d;
	int match;

	(void)state;
	for (i = 0; i < sizeof(eval_cases) / sizeof(eval_cases[0]); i++) {
		q = parse_ok(eval_cases[i].text, eval_cases[i].whole);
		for (d = 0; d < NDEV; d++) {
			assert_int_equal(hub_query_eval(q, devices[d], &match),
			    RC_OK);
			if (match != eval_cases[i].match[d])
				fail_msg("%s: device %zu: match %d, want %d",
				    eval_cases[i].text, d, match,
				    eval_cases[i].match[d]);
		}
		hub_query_free(q);
	}
}

struct bad_case {
	const char *text;
	int whole;
	int rc;
	const char *msg; /* the message starts with this */
};

static const struct bad_case bad_cases[] = {
    {"deviceId = 'abc", 0, RC_EPARSE, "column 12: unterminated string"},
    {"deviceId = \"abc'", 0, RC_EPARSE, "column 12: unterminated string"},
    {"deviceId = 'abc\\'", 0, RC_EPARSE, "column 12: unterminated string"},
    {"deviceId =", 0, RC_EPARSE,
        "column 11: expected a value after '=', found end of input"},
    {"deviceId = 'a' AND status", 0, RC_EPARSE,
        "column 26: expected an operator (=, !=, <>, <, <=, >, >=, IN or "
        "NIN) after 'status', found end of input"},
    {"= 'x'", 0, RC_EPARSE, "column 1: expected a condition, found '='"},
    {"", 0, RC_EPARSE, "column 1: expected a condition, found end of input"},
    {"   ", 0, RC_EPARSE, "column 4: expected a condition, found end"},
    {"foo = 1", 0, RC_EPARSE, "column 1: unknown field 'foo': expected"},
    {"foo.bar = 1", 0, RC_EPARSE, "column 1: unknown field 'foo.bar'"},
    {"tags = 1", 0, RC_EPARSE, "column 1: unknown field 'tags'"},
    {"devices = 1", 0, RC_EPARSE, "column 1: unknown field 'devices'"},
    {"devices.foo = 1", 0, RC_EPARSE, "column 1: unknown field"},
    {"properties.reported = 1", 0, RC_EPARSE, "column 1: unknown field"},
    {"properties.other.x = 1", 0, RC_EPARSE, "column 1: unknown field"},
    {"properties = 1", 0, RC_EPARSE, "column 1: unknown field"},
    {"status.x = 1", 0, RC_EPARSE, "column 1: unknown field 'status.x'"},
    {"status = tags", 0, RC_EPARSE, "column 10: unknown field 'tags'"},
    {"status = 'a' garbage", 0, RC_EPARSE,
        "column 14: expected AND, OR or end of input after a string, "
        "found 'garbage'"},
    {"status = 'a')", 0, RC_EPARSE,
        "column 13: expected AND, OR or end of input after a string, "
        "found ')'"},
    {"(status = 'a'", 0, RC_EPARSE,
        "column 14: expected AND, OR or ')' to close the '(' at column 1, "
        "found end of input"},
    {"deviceId IN []", 0, RC_EPARSE,
        "column 14: expected a value (string, number, true, false or null) "
        "after '[', found ']'"},
    {"deviceId IN [1,]", 0, RC_EPARSE,
        "column 16: expected a value (string, number, true, false or null) "
        "after ',', found ']'"},
    {"deviceId IN [1 2]", 0, RC_EPARSE,
        "column 16: expected ',' or ']' after '1', found '2'"},
    {"deviceId IN [1", 0, RC_EPARSE, "column 15: expected ',' or ']'"},
    {"deviceId IN 'a'", 0, RC_EPARSE,
        "column 13: expected '[' after 'IN', found a string"},
    {"deviceId NIN", 0, RC_EPARSE, "column 13: expected '[' after 'NIN'"},
    {"deviceId IN [deviceId]", 0, RC_EPARSE,
        "column 14: expected a value (string"},
    {"deviceId NOT 'a'", 0, RC_EPARSE,
        "column 14: expected IN after 'NOT', found a string"},
    {"deviceId", 0, RC_EPARSE, "column 9: expected an operator"},
    {"deviceId deviceId", 0, RC_EPARSE, "column 10: expected an operator"},
    {"status = 'a' AND", 0, RC_EPARSE,
        "column 17: expected a condition after 'AND', found end of input"},
    {"status = 'a' AND AND", 0, RC_EPARSE,
        "column 18: expected a condition after 'AND', found 'AND'"},
    {"status = 'a' or", 0, RC_EPARSE,
        "column 16: expected a condition after 'or', found end of input"},
    {"NOT", 0, RC_EPARSE, "column 4: expected a condition after 'NOT'"},
    {"()", 0, RC_EPARSE, "column 2: expected a condition after '('"},
    {"status == 'a'", 0, RC_EPARSE,
        "column 9: expected a value after '=', found '='"},
    {"status = AND", 0, RC_EPARSE,
        "column 10: expected a value after '=', found 'AND'"},
    {"status ! 'a'", 0, RC_EPARSE, "column 8: expected '=' after '!'"},
    {"status = 'a' && x", 0, RC_EPARSE, "column 14: unexpected character '&'"},
    {"status = 'a' \xc3\xa9", 0, RC_EPARSE, "column 14: unexpected byte 0xc3"},
    {"status = \x01", 0, RC_EPARSE, "column 10: unexpected byte 0x01"},
    {"tags.x-y = 1", 0, RC_EPARSE, "column 7: unexpected character '-'"},
    {"SELECT = 1", 0, RC_EPARSE,
        "column 1: expected a condition, found 'SELECT'"},
    {"* AND status = 'a'", 0, RC_EPARSE,
        "column 3: expected end of input after '*', found 'AND'"},
    {"status = *", 0, RC_EPARSE, "column 10: expected a value after '='"},
    {"status = 'it''s'", 0, RC_EPARSE,
        "column 14: expected AND, OR or end of input after a string, found "
        "a string"},
    {"status = 1AND x", 0, RC_EPARSE, "column 10: malformed number"},
    /* strings and numbers */
    {"status = 'a\\x'", 0, RC_EPARSE, "column 12: unknown escape '\\x'"},
    {"status = 'a\\\x01'", 0, RC_EPARSE, "column 12: unknown escape"},
    {"status = '\\u12'", 0, RC_EPARSE,
        "column 11: expected 4 hex digits after \\u"},
    {"status = '\\u12g4'", 0, RC_EPARSE, "column 11: expected 4 hex digits"},
    {"status = '\\u0000'", 0, RC_EPARSE,
        "column 11: \\u0000 (NUL) is not allowed"},
    {"status = '\\ud800'", 0, RC_EPARSE,
        "column 11: unpaired surrogate in \\u escape"},
    {"status = '\\ud800\\u0041'", 0, RC_EPARSE,
        "column 11: unpaired surrogate"},
    {"status = '\\udc00\\ud800'", 0, RC_EPARSE,
        "column 11: unpaired surrogate"},
    {"status = 1.", 0, RC_EPARSE, "column 12: expected a digit after '.'"},
    {"status = 1.e5", 0, RC_EPARSE, "column 12: expected a digit after '.'"},
    {"status = 1e", 0, RC_EPARSE,
        "column 12: expected a digit in the exponent"},
    {"status = 1e+", 0, RC_EPARSE, "column 13: expected a digit in the"},
    {"status = 12abc", 0, RC_EPARSE, "column 10: malformed number"},
    {"status = 1.5.3", 0, RC_EPARSE, "column 10: malformed number"},
    {"status = 0x", 0, RC_EPARSE, "column 12: expected a hex digit after 0x"},
    {"status = 0x1g", 0, RC_EPARSE, "column 10: malformed number"},
    {"status = 0x8000000000000000", 0, RC_EPARSE,
        "column 10: number out of range"},
    {"status = 1e400", 0, RC_EPARSE, "column 10: number out of range"},
    {"status = -1e400", 0, RC_EPARSE, "column 10: number out of range"},
    {"status = -", 0, RC_EPARSE, "column 10: unexpected character '-'"},
    {"status = .5", 0, RC_EPARSE, "column 10: unexpected character '.'"},
    {"tags..x = 1", 0, RC_EPARSE,
        "column 6: expected a property name after '.'"},
    {"tags.x. = 1", 0, RC_EPARSE,
        "column 8: expected a property name after '.'"},
    /* IS_DEFINED */
    {"IS_DEFINED tags.x", 0, RC_EPARSE,
        "column 12: expected '(' after 'IS_DEFINED'"},
    {"IS_DEFINED('a')", 0, RC_EPARSE,
        "column 12: expected a field after '(', found a string"},
    {"IS_DEFINED(AND)", 0, RC_EPARSE, "column 12: expected a field"},
    {"IS_DEFINED(tags.x", 0, RC_EPARSE,
        "column 18: expected ')' after 'tags.x', found end of input"},
    {"IS_DEFINED(foo)", 0, RC_EPARSE, "column 12: unknown field 'foo'"},
    {"IS_DEFINED(tags.x) = true", 0, RC_EPARSE,
        "column 20: expected AND, OR or end of input"},
    /* whole queries */
    {"", 1, RC_EPARSE, "column 1: expected SELECT, found end of input"},
    {"status = 'a'", 1, RC_EPARSE, "column 1: expected SELECT, found"},
    {"SELECT deviceId FROM devices", 1, RC_EPARSE,
        "column 8: expected '*' (only SELECT * is supported) after "
        "'SELECT', found 'deviceId'"},
    {"SELECT TOP 10 * FROM devices", 1, RC_EPARSE,
        "column 8: expected '*' (only SELECT * is supported)"},
    {"SELECT * devices", 1, RC_EPARSE,
        "column 10: expected FROM after '*', found 'devices'"},
    {"SELECT * FROM devices.modules", 1, RC_EPARSE,
        "column 15: expected devices (only FROM devices is supported) after "
        "'FROM', found 'devices.modules'"},
    {"SELECT * FROM", 1, RC_EPARSE, "column 14: expected devices"},
    {"SELECT * FROM devices LIMIT 1", 1, RC_EPARSE,
        "column 23: expected WHERE or end of input after 'devices', found "
        "'LIMIT'"},
    {"SELECT * FROM devices WHERE", 1, RC_EPARSE,
        "column 28: expected a condition after 'WHERE', found end of input"},
    {"SELECT * FROM devices WHERE *", 1, RC_EPARSE,
        "column 29: expected a condition after 'WHERE', found '*'"},
    {"SELECT * FROM devices WHERE status = 'a' GROUP BY status", 1, RC_EPARSE,
        "column 42: expected AND, OR or end of input after a string, found "
        "'GROUP'"},
    {"SELECT * FROM devices WHERE status = 'a' WHERE", 1, RC_EPARSE,
        "column 42: expected AND, OR or end of input"},
    /* several lines */
    {"status = 'a'\nAND\n  foo = 1", 0, RC_EPARSE,
        "line 3, column 3: unknown field 'foo'"},
    {"SELECT *\r\nFROM devices\r\nWHERE", 1, RC_EPARSE,
        "line 3, column 6: expected a condition after 'WHERE'"},
    {"status = 'a\nb", 0, RC_EPARSE, "line 1, column 10: unterminated string"},
};

static void
expect_bad(const char *text, size_t len, int whole, int want, const char *msg)
{
	struct hub_query *q = (struct hub_query *)1;
	char err[512];
	int rc;

	rc = whole ? hub_query_parse(text, len, &q, err, sizeof(err))
	           : hub_query_parse_condition(text, len, &q, err, sizeof(err));
	if (rc != want)
		fail_msg("%s: got %s (%s), want %s", text, rc_errname(rc),
		    rc == RC_OK ? "" : err, rc_errname(want));
	assert_null(q);
	if (strncmp(err, msg, strlen(msg)) != 0)
		fail_msg("%s: message '%s' does not start with '%s'", text, err,
		    msg);
}

static void
test_malformed(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		expect_bad(bad_cases[i].text, strlen(bad_cases[i].text),
		    bad_cases[i].whole, bad_cases[i].rc, bad_cases[i].msg);
}

static void
test_nul_byte(void **state)
{
	static const char trailing[] = "status = 'a'\0";
	static const char inside[] = "status = 'a\0b'";
	static const char first[] = "\0status = 'a'";

	(void)state;
	expect_bad(trailing, sizeof(trailing) - 1, 0, RC_EPARSE,
	    "column 13: NUL byte");
	expect_bad(inside, sizeof(inside) - 1, 0, RC_EPARSE,
	    "column 12: NUL byte");
	expect_bad(first, sizeof(first) - 1, 1, RC_EPARSE,
	    "column 1: NUL byte");
}

/* The text is exactly len bytes: nothing past it is read. */
static void
test_length_bounds(void **state)
{
	static const char text[] = "status = 'a' AND deviceId = 'b'";
	struct hub_query *q;
	const char **ids;
	char err[128];
	size_t n;

	(void)state;
	/* Cut before the closing quote: the rest of the buffer is unseen. */
	expect_bad(text, strlen(text) - 1, 0, RC_EPARSE,
	    "column 29: unterminated string");
	expect_bad(text, 11, 0, RC_EPARSE, "column 10: unterminated string");
	assert_int_equal(hub_query_parse_condition(text, 12, &q, err,
	                     sizeof(err)),
	    RC_OK);
	assert_int_equal(hub_query_device_ids(q, &ids, &n), RC_ENOENT);
	hub_query_free(q);
	expect_bad(NULL, 0, 0, RC_EPARSE, "column 1: expected a condition");
}

static void
test_limits_text(void **state)
{
	char *text = rc_malloc(HUB_QUERY_MAX_TEXT + 2);
	struct hub_query *q;
	char err[128];
	size_t n;

	(void)state;
	assert_non_null(text);
	memcpy(text, "deviceId = '", 12);
	for (n = 12; n < HUB_QUERY_MAX_TEXT - 1; n++)
		text[n] = 'x';
	text[HUB_QUERY_MAX_TEXT - 1] = '\'';
	text[HUB_QUERY_MAX_TEXT] = '\0';
	assert_int_equal(hub_query_parse_condition(text, HUB_QUERY_MAX_TEXT, &q,
	                     err, sizeof(err)),
	    RC_OK);
	hub_query_free(q);
	/* One more byte, even a blank, is refused before any parsing. */
	text[HUB_QUERY_MAX_TEXT] = ' ';
	text[HUB_QUERY_MAX_TEXT + 1] = '\0';
	expect_bad(text, HUB_QUERY_MAX_TEXT + 1, 0, RC_ETOOBIG,
	    "query longer than 8192 bytes");
	expect_bad(text, HUB_QUERY_MAX_TEXT + 1, 1, RC_ETOOBIG,
	    "query longer than 8192 bytes");
	rc_free(text);
}

/* prefix repeated n times, then middle, then suffix n times. */
static char *
nest(const char *prefix, size_t n, const char *middle, const char *suffix)
{
	size_t lp = strlen(prefix), lm = strlen(middle), ls = strlen(suffix);
	char *s = rc_malloc(n * (lp + ls) + lm + 1), *p;
	size_t i;

	assert_non_null(s);
	p = s;
	for (i = 0; i < n; i++, p += lp)
		memcpy(p, prefix, lp);
	memcpy(p, middle, lm);
	p += lm;
	for (i = 0; i < n; i++, p += ls)
		memcpy(p, suffix, ls);
	*p = '\0';
	return s;
}

/*
 * levels(prefix) * reps levels of nesting around a condition true for
 * devices[0]: it parses (and matches when the NOTs are even), while one
 * level more ("(" in front) is refused at the innermost opener.
 */
static void
check_depth(const char *prefix, size_t reps, const char *suffix, int match_want,
    const char *msg)
{
	struct hub_query *q;
	char err[128], *text, *more;
	size_t len;
	int match;

	text = nest(prefix, reps, "status = 'enabled'", suffix);
	if (hub_query_parse_condition(text, strlen(text), &q, err,
	        sizeof(err)) != RC_OK)
		fail_msg("%s: %s", text, err);
	assert_int_equal(hub_query_eval(q, devices[0], &match), RC_OK);
	assert_int_equal(match, match_want);
	hub_query_free(q);
	len = strlen(text) + 3;
	more = rc_malloc(len);
	assert_non_null(more);
	snprintf(more, len, "(%s)", text);
	expect_bad(more, strlen(more), 0, RC_ETOOBIG, msg);
	rc_free(more);
	rc_free(text);
}

static void
test_limits_depth(void **state)
{
	char *a, *b, *text, err[128];
	struct hub_query *q;
	size_t len;
	int match;

	(void)state;
	check_depth("(", 32, ")", 1, "column 33: nested deeper than 32 levels");
	check_depth("NOT ", 32, "", 1,
	    "column 126: nested deeper than 32 levels");
	check_depth("NOT (", 16, ")", 1,
	    "column 81: nested deeper than 32 levels");
	check_depth("(NOT ", 16, ")", 1,
	    "column 78: nested deeper than 32 levels");
	/* Siblings do not add up: 32 levels, twice, side by side. */
	a = nest("(", 32, "status = 'x'", ")");
	b = nest("(", 32, "status = 'enabled'", ")");
	len = strlen(a) + strlen(b) + 8;
	text = rc_malloc(len);
	assert_non_null(text);
	snprintf(text, len, "%s OR %s", a, b);
	assert_int_equal(hub_query_parse_condition(text, strlen(text), &q, err,
	                     sizeof(err)),
	    RC_OK);
	assert_int_equal(hub_query_eval(q, devices[0], &match), RC_OK);
	assert_int_equal(match, 1);
	hub_query_free(q);
	rc_free(text);
	rc_free(a);
	rc_free(b);
}

/* "deviceId IN ['d0','d1',...]" with n values, the last 'device-001'. */
static char *
in_list(size_t n)
{
	char *s = rc_malloc(32 + n * 16), *p;
	size_t i;

	assert_non_null(s);
	p = s + snprintf(s, 32, "deviceId IN [");
	for (i = 0; i + 1 < n; i++)
		p += snprintf(p, 16, "'d%zu',", i);
	snprintf(p, 16, "'device-001']");
	return s;
}

static void
test_limits_in(void **state)
{
	struct hub_query *q;
	const char **ids;
	char err[128], want[128], *text;
	size_t n;
	int match;

	(void)state;
	text = in_list(HUB_QUERY_MAX_IN);
	if (hub_query_parse_condition(text, strlen(text), &q, err,
	        sizeof(err)) != RC_OK)
		fail_msg("%s", err);
	assert_int_equal(hub_query_eval(q, devices[0], &match), RC_OK);
	assert_int_equal(match, 1);
	assert_int_equal(hub_query_device_ids(q, &ids, &n), RC_OK);
	assert_int_equal(n, HUB_QUERY_MAX_IN);
	hub_query_free(q);
	rc_free(text);
	/* One more: refused at the 1001st value. */
	text = in_list(HUB_QUERY_MAX_IN + 1);
	snprintf(want, sizeof(want),
	    "column %zu: more than 1000 values in the list",
	    (size_t)(strstr(text, "'device-001'") - text) + 1);
	expect_bad(text, strlen(text), 0, RC_ETOOBIG, want);
	rc_free(text);
}

static void
test_limits_path(void **state)
{
	static const char *const ok[] = {
	    "tags.deep.a.b.c.d.e.f.g.h.i = 'ten'",
	    "devices.tags.deep.a.b.c.d.e.f.g.h.i = 'ten'",
	    "properties.reported.a.b.c.d.e.f.g.h.i.j = 1",
	    "devices.properties.desired.a.b.c.d.e.f.g.h.i.j = 1",
	};
	static const char *const bad[] = {
	    "tags.deep.a.b.c.d.e.f.g.h.i.j = 'ten'",
	    "devices.tags.deep.a.b.c.d.e.f.g.h.i.j = 'ten'",
	    "properties.reported.a.b.c.d.e.f.g.h.i.j.k = 1",
	    "devices.properties.desired.a.b.c.d.e.f.g.h.i.j.k = 1",
	    "status = tags.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w",
	};
	struct hub_query *q;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		q = parse_ok(ok[i], 0);
		hub_query_free(q);
	}
	for (i = 0; i + 1 < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad(bad[i], strlen(bad[i]), 0, RC_ETOOBIG,
		    "column 1: property path deeper than 10 names");
	expect_bad(bad[i], strlen(bad[i]), 0, RC_ETOOBIG,
	    "column 10: property path deeper than 10 names");
}

struct ids_case {
	const char *text;
	int whole;
	int rc;
	const char *ids; /* space-separated, sorted */
};

static const struct ids_case ids_cases[] = {
    {"deviceId = 'a'", 0, RC_OK, "a"},
    {"deviceId = \"device-001\"", 0, RC_OK, "device-001"},
    {"'x' = deviceId", 0, RC_OK, "x"},
    {"DEVICES.DEVICEID = 'x'", 0, RC_OK, "x"},
    {"(deviceId = 'a')", 0, RC_OK, "a"},
    {"deviceId IN ['c','a','b','a']", 0, RC_OK, "a b c"},
    {"deviceId IN ['MyDevice1','MyDevice2']", 0, RC_OK, "MyDevice1 MyDevice2"},
    {"deviceId IN ['a', 5, null, true]", 0, RC_OK, "a"},
    {"deviceId IN [5]", 0, RC_OK, ""},
    {"deviceId = 5", 0, RC_OK, ""},
    {"deviceId = 'b' OR deviceId IN ['a','b'] OR 'c' = deviceId", 0, RC_OK,
        "a b c"},
    {"deviceId = 'B' or deviceId = 'b'", 0, RC_OK, "B b"},
    {"SELECT * FROM devices WHERE deviceId IN ['y','x']", 1, RC_OK, "x y"},
    {"deviceId != 'a'", 0, RC_ENOENT, NULL},
    {"deviceId < 'a'", 0, RC_ENOENT, NULL},
    {"deviceId NIN ['a']", 0, RC_ENOENT, NULL},
    {"deviceId NOT IN ['a']", 0, RC_ENOENT, NULL},
    {"NOT deviceId = 'a'", 0, RC_ENOENT, NULL},
    {"deviceId = 'a' AND status = 'enabled'", 0, RC_ENOENT, NULL},
    {"deviceId = 'a' OR status = 'enabled'", 0, RC_ENOENT, NULL},
    {"deviceId = deviceId", 0, RC_ENOENT, NULL},
    {"deviceId = status", 0, RC_ENOENT, NULL},
    {"tags.deviceId = 'a'", 0, RC_ENOENT, NULL},
    {"IS_DEFINED(deviceId)", 0, RC_ENOENT, NULL},
    {"*", 0, RC_ENOENT, NULL},
    {"SELECT * FROM devices", 1, RC_ENOENT, NULL},
};

static void
test_device_ids(void **state)
{
	struct hub_query *q;
	const char **ids;
	char got[256];
	size_t i, k, n;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(ids_cases) / sizeof(ids_cases[0]); i++) {
		q = parse_ok(ids_cases[i].text, ids_cases[i].whole);
		rc = hub_query_device_ids(q, &ids, &n);
		if (rc != ids_cases[i].rc)
			fail_msg("%s: %s", ids_cases[i].text, rc_errname(rc));
		if (rc != RC_OK) {
			assert_null(ids);
			assert_int_equal(n, 0);
			hub_query_free(q);
			continue;
		}
		assert_non_null(ids);
		got[0] = '\0';
		for (k = 0; k < n; k++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got),
			    "%s%s", k > 0 ? " " : "", ids[k]);
		if (strcmp(got, ids_cases[i].ids) != 0)
			fail_msg("%s: ids '%s', want '%s'", ids_cases[i].text,
			    got, ids_cases[i].ids);
		hub_query_free(q);
	}
}

static void
test_bad_arguments(void **state)
{
	struct hub_query *q;
	const char **ids = (const char **)1;
	json_t *arr = json_array();
	char err[4];
	size_t n = 7;
	int match = 7;

	(void)state;
	assert_int_equal(hub_query_parse("x", 1, NULL, err, sizeof(err)),
	    RC_EINVAL);
	assert_int_equal(hub_query_parse_condition(NULL, 3, &q, NULL, 0),
	    RC_EINVAL);
	assert_null(q);
	/* No error buffer, or a small one: the result is the same. */
	assert_int_equal(hub_query_parse_condition("foo = 1", 7, &q, NULL, 0),
	    RC_EPARSE);
	assert_int_equal(hub_query_parse_condition("foo = 1", 7, &q, err,
	                     sizeof(err)),
	    RC_EPARSE);
	assert_string_equal(err, "col");
	q = parse_ok("status = 'enabled'", 0);
	assert_int_equal(hub_query_eval(q, NULL, &match), RC_EINVAL);
	assert_int_equal(match, 0);
	assert_int_equal(hub_query_eval(q, arr, &match), RC_EINVAL);
	assert_int_equal(hub_query_eval(q, devices[0], NULL), RC_EINVAL);
	assert_int_equal(hub_query_eval(NULL, devices[0], &match), RC_EINVAL);
	assert_int_equal(hub_query_device_ids(NULL, &ids, &n), RC_EINVAL);
	assert_null(ids);
	assert_int_equal(n, 0);
	assert_int_equal(hub_query_device_ids(q, NULL, &n), RC_EINVAL);
	hub_query_free(q);
	hub_query_free(NULL);
	json_decref(arr);
}

/* An empty object matches only what needs no property. */
static void
test_empty_device(void **state)
{
	json_t *empty = json_object();
	struct hub_query *q;
	int match;

	(void)state;
	q = parse_ok("NOT status = 'x' OR NOT IS_DEFINED(tags.a)", 0);
	assert_int_equal(hub_query_eval(q, empty, &match), RC_OK);
	assert_int_equal(match, 1);
	hub_query_free(q);
	q = parse_ok("status != 'x' OR tags.a NIN [1]", 0);
	assert_int_equal(hub_query_eval(q, empty, &match), RC_OK);
	assert_int_equal(match, 0);
	hub_query_free(q);
	json_decref(empty);
}

static int
alloc_parse(void *arg)
{
	const char *text = arg;
	struct hub_query *q;
	const char **ids;
	size_t n;
	int rc, match;

	rc = hub_query_parse(text, strlen(text), &q, NULL, 0);
	if (rc != RC_OK)
		return rc;
	if (hub_query_eval(q, devices[0], &match) != RC_OK || match != 1)
		fail_msg("eval after parse");
	if (hub_query_device_ids(q, &ids, &n) != RC_ENOENT)
		fail_msg("device ids after parse");
	hub_query_free(q);
	return RC_OK;
}

static int
alloc_condition(void *arg)
{
	const char *text = arg;
	struct hub_query *q;
	const char **ids;
	size_t n;
	int rc;

	rc = hub_query_parse_condition(text, strlen(text), &q, NULL, 0);
	if (rc != RC_OK)
		return rc;
	if (hub_query_device_ids(q, &ids, &n) != RC_OK || n != HUB_QUERY_MAX_IN)
		fail_msg("device ids after parse");
	hub_query_free(q);
	return RC_OK;
}

static void
test_each_alloc(void **state)
{
	char *big;

	(void)state;
	rctest_each_alloc(alloc_parse,
	    "SELECT * FROM devices WHERE (tags.location.region = 'US' OR "
	    "tags.x IN [1, 2.5, 'three', null]) AND NOT status = 'disabled' "
	    "AND IS_DEFINED(properties.reported.fw) AND "
	    "properties.desired.$version < 0x10 AND tags.city = 'Z\\u00fcrich'",
	    1);
	rctest_each_alloc(alloc_parse, "SELECT * FROM devices", 1);
	/* Large enough to need several arena chunks and the ID array. */
	big = in_list(HUB_QUERY_MAX_IN);
	rctest_each_alloc(alloc_condition, big, 1);
	rc_free(big);
}

static int
setup(void **state)
{
	json_error_t e;
	size_t i;

	(void)state;
	rc_json_init();
	for (i = 0; i < NDEV; i++)
		if ((devices[i] = json_loads(devices_json[i], 0, &e)) == NULL)
			fail_msg("device %zu: %s", i, e.text);
	return 0;
}

static int
teardown(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NDEV; i++)
		json_decref(devices[i]);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_eval_table),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_nul_byte),
	    cmocka_unit_test(test_length_bounds),
	    cmocka_unit_test(test_limits_text),
	    cmocka_unit_test(test_limits_depth),
	    cmocka_unit_test(test_limits_in),
	    cmocka_unit_test(test_limits_path),
	    cmocka_unit_test(test_device_ids),
	    cmocka_unit_test(test_bad_arguments),
	    cmocka_unit_test(test_empty_device),
	    cmocka_unit_test(test_each_alloc),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
