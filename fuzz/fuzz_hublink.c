/*
 * Fuzz target for what the hub link reads from outside (hublink.h): the
 * input is tried as a hub's answer body (a Device, a twin to import) and
 * as a connection string.  Invariants:
 *  - a Device that parses has a non-empty deviceId and thumbprints that
 *    are empty or 40 / 64 upper-case hex digits; one that does not is
 *    left cleared;
 *  - an import body, when made, is an object with nothing but tags and
 *    properties (desired, reported), each an object;
 *  - a connection string that parses gives a host without ':'.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/hublink.h"
#include "rollcall/json.h"
#include "rollcall/mem.h"

static void
check_thumb(const char *t)
{
	size_t n = strlen(t);

	if ((n != 0 && n != 40 && n != 64) ||
	    strspn(t, "0123456789ABCDEF") != n)
		abort();
}

static void
device(json_t *j)
{
	struct rc_hublink_device d;

	if (rc_hublink_device_parse(j, &d) != RC_OK) {
		if (d.device_id[0] != '\0' || d.etag[0] != '\0')
			abort();
		return;
	}
	if (d.device_id[0] == '\0')
		abort();
	check_thumb(d.primary_thumb);
	check_thumb(d.secondary_thumb);
}

static void
import(json_t *j)
{
	json_t *b = NULL, *v, *props;
	const char *k;

	if (rc_hublink_import_body(j, &b) != RC_OK) {
		if (b != NULL)
			abort();
		return;
	}
	json_object_foreach(b, k, v)
	{
		if (strcmp(k, "tags") != 0 && strcmp(k, "properties") != 0)
			abort();
		if (!json_is_object(v))
			abort();
	}
	props = json_object_get(b, "properties");
	json_object_foreach(props, k, v)
	{
		if ((strcmp(k, "desired") != 0 && strcmp(k, "reported") != 0) ||
		    !json_is_object(v))
			abort();
	}
	json_decref(b);
}

static void
connstr(const uint8_t *data, size_t size)
{
	struct rc_hublink *hl = NULL;
	char *s;

	if ((s = rc_strndup((const char *)data, size)) == NULL)
		return;
	if (strlen(s) == size &&
	    rc_hublink_parse(s, NULL, NULL, &hl, NULL, 0) == RC_OK &&
	    strchr(rc_hublink_get0_host(hl), ':') != NULL)
		abort();
	rc_hublink_free(hl);
	rc_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = NULL;

	if (rc_json_parse((const char *)data, size, RC_HUBLINK_MAX_BODY, &j,
	        NULL, 0) == RC_OK) {
		device(j);
		import(j);
		json_decref(j);
	}
	connstr(data, size);
	return 0;
}
