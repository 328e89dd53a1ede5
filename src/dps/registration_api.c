/*
 * Device registration states over the service API
 * (reference/azure-service-api.md §2.1, §2.5):
 *
 *	GET|DELETE	/registrations/{registrationId}
 *	POST		/registrations/{enrollmentGroupId}/query	(paged)
 *
 * and our own (docs/api.md): POST /registrations/{id}/reissue
 * (reissue_api.c), GET /registrations/{id}/issued (issued_api.c).
 *
 * Registration states outlive the group they were made through (§3.9),
 * so the query answers for a deleted group too (an empty page if none).
 */
#include <string.h>
#include <strings.h>

#include "dps_impl.h"
#include "rollcall/mem.h"

static void
do_get(struct dps_req *r, const char *id)
{
	struct rc_registration *reg = NULL;
	struct dps_err e;
	json_t *j = NULL;
	int rc;

	if (!dps_need(r, RC_RIGHT_REGISTRATION_READ))
		return;
	rc = rc_store_registration_get(r->dps->store, id, &reg);
	if (rc != RC_OK) {
		dps_err_store(&e, rc, "registration state", id,
		    DPS_E_NO_REGISTRATION);
		dps_reply_err(r, &e);
		return;
	}
	if (dps_registration_to_json(reg, &j) == RC_OK)
		dps_reply_etag(r, j, reg->etag);
	else
		dps_reply_error(r, 500, DPS_E_INTERNAL, "out of memory");
	json_decref(j);
	rc_registration_free(reg);
}

static void
do_delete(struct dps_req *r, const char *id)
{
	struct rc_store_ctx ctx;
	struct dps_err e;
	char im[256];
	int rc;

	if (!dps_need(r, RC_RIGHT_REGISTRATION_WRITE))
		return;
	dps_store_ctx(r, dps_if_match(r, im, sizeof(im)), &ctx);
	rc = rc_store_registration_delete(r->dps->store, &ctx, id);
	if (rc != RC_OK) {
		dps_err_store(&e, rc, "registration state", id,
		    DPS_E_NO_REGISTRATION);
		dps_reply_err(r, &e);
		return;
	}
	dps_reply_status(r, 204);
}

static void
do_query(struct dps_req *r, const char *group)
{
	struct rc_registration **list = NULL;
	struct dps_err e;
	char *after = NULL, *next = NULL;
	json_t *arr = NULL, *j;
	size_t max, n = 0, i;
	int rc;

	if (!dps_need(r, RC_RIGHT_REGISTRATION_READ))
		return;
	if ((rc = dps_query_check(r, &e)) != RC_OK ||
	    (rc = dps_page_in(r, &max, &after, &e)) != RC_OK)
		goto out;
	rc = rc_store_registration_list_group(r->dps->store, group, after, max,
	    &list, &n, &next);
	if (rc != RC_OK) {
		dps_err_store(&e, rc, "enrollment group", group,
		    DPS_E_NO_GROUP);
		goto out;
	}
	rc = dps_err_set(&e, RC_ENOMEM, 500, DPS_E_INTERNAL, "out of memory");
	if ((arr = json_array()) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		if (dps_registration_to_json(list[i], &j) != RC_OK ||
		    json_array_append_new(arr, j) != 0)
			goto out;
	rc = RC_OK;
	dps_page_reply(r, arr, "DeviceRegistration", max, next);
out:
	if (rc != RC_OK)
		dps_reply_err(r, &e);
	json_decref(arr);
	rc_registration_list_free(list, n);
	rc_free(after);
	rc_free(next);
}

void
dps_registrations(struct dps_req *r)
{
	const char *id;

	if (r->nsegs < 2 || r->nsegs > 3 ||
	    (r->nsegs == 3 && strcasecmp(r->segs[2], "query") != 0 &&
	        strcasecmp(r->segs[2], "reissue") != 0 &&
	        strcasecmp(r->segs[2], "issued") != 0)) {
		dps_reply_error(r, 404, DPS_E_NOT_FOUND, "no such path");
		return;
	}
	id = r->segs[1];
	if (!dps_id_valid(id, DPS_ID_MAX)) {
		dps_reply_error(r, 400, DPS_E_BAD_ID,
		    "'%.128s' is not a valid %s ID", id,
		    r->nsegs == 3 && strcasecmp(r->segs[2], "query") == 0
		        ? "enrollment group"
		        : "registration");
		return;
	}
	if (r->nsegs == 3 && strcasecmp(r->segs[2], "reissue") == 0) {
		dps_registration_reissue(r, id);
		return;
	}
	if (r->nsegs == 3 && strcasecmp(r->segs[2], "issued") == 0) {
		dps_registration_issued(r, id);
		return;
	}
	if (r->nsegs == 3) {
		if (r->http->method == RC_HTTP_POST)
			do_query(r, id);
		else
			dps_reply_method(r, "POST");
		return;
	}
	switch (r->http->method) {
	case RC_HTTP_GET:
		do_get(r, id);
		break;
	case RC_HTTP_DELETE:
		do_delete(r, id);
		break;
	default:
		dps_reply_method(r, "GET, DELETE");
		break;
	}
}
