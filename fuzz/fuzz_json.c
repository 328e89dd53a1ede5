/*
 * Fuzz target for the strict JSON parse (json.h).  Invariants: no crash,
 * leak or sanitizer report; a refusal explains itself; an accepted value
 * is an object or array no deeper than RC_JSON_MAX_DEPTH, and its compact
 * dump parses again to an equal value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/json.h"
#include "rollcall/mem.h"

#define MAXLEN (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static size_t
depth(json_t *v)
{
	size_t d, max = 0, i;
	const char *key;
	json_t *m;

	if (json_is_array(v)) {
		json_array_foreach(v, i, m) if ((d = depth(m)) > max) max = d;
		return max + 1;
	}
	if (json_is_object(v)) {
		json_object_foreach(v, key, m) if ((d = depth(m)) > max) max =
		    d;
		return max + 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v = NULL, *again = NULL;
	char err[256], *out = NULL;
	size_t len;
	int rc;

	rc = rc_json_parse((const char *)data, size, MAXLEN, &v, err,
	    sizeof(err));
	if (rc != RC_OK) {
		if (v != NULL || err[0] == '\0')
			abort();
		return 0;
	}
	if ((!json_is_object(v) && !json_is_array(v)) ||
	    depth(v) > RC_JSON_MAX_DEPTH)
		abort();
	if (rc_json_dump(v, 0, &out, &len) != RC_OK)
		abort();
	/* The dump may be longer than the input (escapes), so no cap here. */
	if (rc_json_parse(out, len, SIZE_MAX, &again, err, sizeof(err)) !=
	        RC_OK ||
	    !json_equal(v, again))
		abort();
	json_decref(again);
	json_decref(v);
	rc_free(out);
	return 0;
}
