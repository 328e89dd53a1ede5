/*
 * Fuzz target for the hub query language (hub/query.h): the input is
 * parsed as a whole query and as a bare job condition, and each query
 * that parses is evaluated against a fixed device and asked for its
 * device IDs.  Invariants: no crash, leak or sanitizer report; a refusal
 * leaves no query and a message, which for a syntax error starts with
 * its place ("column " or "line "); when device IDs are given, a device
 * matches exactly when its deviceId is one of them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub/query.h"
#include "rollcall/json.h"

#define CHECKED_IDS 4 /* IDs per query tried on a device of their own */

static const char device_json[] =
    "{\"deviceId\":\"device-001\",\"status\":\"enabled\","
    "\"statusReason\":\"\",\"connectionState\":\"Connected\","
    "\"version\":3,\"etag\":\"AAAAAAAAAAE=\","
    "\"tags\":{\"location\":{\"region\":\"US\",\"floor\":3},"
    "\"weight\":1.5,\"active\":true,\"nothing\":null,\"list\":[1,2],"
    "\"obj\":{\"a\":1},\"$odd\":\"d\",\"city\":\"Z\\u00fcrich\"},"
    "\"properties\":{\"desired\":{\"fw\":\"1.2.3\",\"$version\":4},"
    "\"reported\":{\"fw\":\"1.2.3\",\"battery\":87,\"temp\":-4.5,"
    "\"$version\":7}}}";

static json_t *device;

static void
cleanup(void)
{
	json_decref(device);
}

static void
init(void)
{
	json_error_t e;

	rc_json_init();
	if ((device = json_loads(device_json, 0, &e)) == NULL)
		abort();
	atexit(cleanup);
}

static int
matches(const struct hub_query *q, const json_t *dev)
{
	int match;

	if (hub_query_eval(q, dev, &match) != RC_OK)
		abort();
	return match;
}

/* The query's device IDs, if it has them, select exactly those. */
static void
check_ids(const struct hub_query *q)
{
	const char **ids;
	json_t *one;
	size_t n, i;
	int listed = 0;

	if (hub_query_device_ids(q, &ids, &n) != RC_OK)
		return;
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(ids[i - 1], ids[i]) >= 0)
			abort(); /* sorted, no repeats */
		listed |= strcmp(ids[i], "device-001") == 0;
	}
	if (matches(q, device) != listed)
		abort();
	for (i = 0; i < n && i < CHECKED_IDS; i++) {
		if ((one = json_object()) == NULL ||
		    json_object_set_new(one, "deviceId",
		        json_string_nocheck(ids[i])) != 0)
			abort();
		if (!matches(q, one))
			abort();
		json_decref(one);
	}
}

static void
run(const uint8_t *data, size_t size, int whole)
{
	struct hub_query *q = NULL;
	char err[256];
	int rc;

	rc = whole
	    ? hub_query_parse((const char *)data, size, &q, err, sizeof(err))
	    : hub_query_parse_condition((const char *)data, size, &q, err,
	          sizeof(err));
	if (rc != RC_OK) {
		if (q != NULL || err[0] == '\0')
			abort();
		if (rc == RC_EPARSE && strncmp(err, "column ", 7) != 0 &&
		    strncmp(err, "line ", 5) != 0)
			abort();
		return;
	}
	(void)matches(q, device);
	check_ids(q);
	hub_query_free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (device == NULL)
		init();
	run(data, size, 1);
	run(data, size, 0);
	return 0;
}
