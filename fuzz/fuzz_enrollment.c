/*
 * Fuzz target for the JSON intake of the DPS service API
 * (src/dps/enrollment_json.c): bytes -> JSON -> struct rc_enrollment (as
 * an individual enrollment and as a group, with and without a path ID) ->
 * JSON.  Invariants: no crash or leak, and whatever the intake accepted
 * reads back through it again (the read-modify-write round trip of
 * reference/azure-service-api.md §2.4: certificates come back info-only
 * and must be accepted as "keep the stored one").
 */
#include <stdlib.h>
#include <string.h>

#include "dps/dps_impl.h"
#include "rollcall/json.h"
#include "rollcall/store.h"

static void
roundtrip(enum rc_enrollment_kind kind, json_t *body, const char *path_id)
{
	struct rc_enrollment *enr = NULL, *again = NULL;
	int keep[RC_SLOT_COUNT], keep2[RC_SLOT_COUNT], i;
	struct dps_err e;
	json_t *out = NULL;

	if (dps_enrollment_from_json(kind, body, path_id, &enr, keep, &e) !=
	    RC_OK)
		return;
	for (i = 0; i < RC_SLOT_COUNT; i++)
		(void)dps_enrollment_keep_thumb(body, kind, (enum rc_slot)i);
	if (dps_enrollment_to_json(enr, &out) != RC_OK)
		abort();
	/*
	 * Slots kept from a stored enrollment are not filled here, so only
	 * a self-contained enrollment must read back as it was.
	 */
	if (keep[0] || keep[1])
		goto out;
	if (dps_enrollment_from_json(kind, out, enr->id, &again, keep2, &e) !=
	    RC_OK)
		abort();
	for (i = 0; i < RC_SLOT_COUNT; i++)
		if ((enr->certs[i] != NULL) != keep2[i] ||
		    again->certs[i] != NULL)
			abort();
	if (again->enabled != enr->enabled || strcmp(again->id, enr->id) != 0)
		abort();
out:
	rc_enrollment_free(again);
	json_decref(out);
	rc_enrollment_free(enr);
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *id;
	json_t *j;

	/* The service's own parse (strict, depth-capped). */
	if (rc_json_parse((const char *)data, size, 1024 * 1024, &j, NULL, 0) !=
	    RC_OK)
		return 0;
	roundtrip(RC_ENROLLMENT_INDIVIDUAL, j, NULL);
	roundtrip(RC_ENROLLMENT_GROUP, j, NULL);
	id = json_string_value(json_object_get(j, "registrationId"));
	roundtrip(RC_ENROLLMENT_INDIVIDUAL, j, id != NULL ? id : "device-1");
	id = json_string_value(json_object_get(j, "enrollmentGroupId"));
	roundtrip(RC_ENROLLMENT_GROUP, j, id != NULL ? id : "group-1");
	json_decref(j);
	return 0;
}
