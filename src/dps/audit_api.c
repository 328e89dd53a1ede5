/*
 * The audit log over the service API (our own endpoints, docs/api.md):
 *
 *	GET /audit?after=SEQ&max=N	rows with seq > SEQ, oldest first
 *	GET /audit/verify		the server's own check of the chain
 *
 * Both need ServiceConfig.  Each row carries what rc_audit_hash covers,
 * with the time both as ISO-8601 (for people) and as Unix seconds (what
 * the hash covers), so `rollcall audit verify` can recompute the chain on
 * the client side without trusting the server's verdict.
 */
#include <string.h>
#include <strings.h>

#include "dps_impl.h"
#include "rollcall/enc.h"

static int
audit_row(const struct rc_audit *a, json_t **out)
{
	*out = json_pack("{s:I, s:o, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
	    "seq", (json_int_t)a->seq, "time", dps_time_json(a->time),
	    "timeUnix", (json_int_t)a->time, "who",
	    a->who != NULL ? a->who : "", "action",
	    a->action != NULL ? a->action : "", "object",
	    a->object != NULL ? a->object : "", "etagBefore",
	    a->etag_before != NULL ? a->etag_before : "", "etagAfter",
	    a->etag_after != NULL ? a->etag_after : "", "prevHash",
	    a->prev_hash, "hash", a->hash);
	return *out != NULL ? RC_OK : RC_ENOMEM;
}

static int
param(struct dps_req *r, const char *name, long long dflt, long long max,
    long long *out)
{
	char v[32];
	int rc;

	*out = dflt;
	rc = rc_http_query_param(r->http, name, v, sizeof(v));
	if (rc == RC_ENOENT || (rc == RC_OK && v[0] == '\0'))
		return RC_OK;
	if (rc != RC_OK || rc_strtonum(v, 0, INT64_MAX, out) != RC_OK) {
		dps_reply_error(r, 400, DPS_E_BAD_REQUEST,
		    "%s must be a non-negative integer", name);
		return RC_EPARSE;
	}
	if (*out == 0 && max != 0)
		*out = dflt;
	if (max != 0 && *out > max)
		*out = max;
	return RC_OK;
}

static void
do_list(struct dps_req *r)
{
	struct rc_audit **rows = NULL;
	long long after, max;
	json_t *arr = NULL, *j;
	size_t n = 0, i;
	int rc;

	if (param(r, "after", 0, 0, &after) != RC_OK ||
	    param(r, "max", DPS_PAGE_DEFAULT, DPS_PAGE_MAX, &max) != RC_OK)
		return;
	rc = rc_store_audit_list(r->dps->store, (int64_t)after, (size_t)max,
	    &rows, &n);
	if (rc != RC_OK) {
		dps_reply_error(r, 500, DPS_E_INTERNAL,
		    "the audit log cannot be read: %s", rc_strerror(rc));
		return;
	}
	if ((arr = json_array()) == NULL)
		goto fail;
	for (i = 0; i < n; i++)
		if (audit_row(rows[i], &j) != RC_OK ||
		    json_array_append_new(arr, j) != 0)
			goto fail;
	dps_reply_json(r, 200, arr);
	json_decref(arr);
	rc_audit_list_free(rows, n);
	return;
fail:
	json_decref(arr);
	rc_audit_list_free(rows, n);
	dps_reply_error(r, 500, DPS_E_INTERNAL, "out of memory");
}

static void
do_verify(struct dps_req *r)
{
	int64_t bad = 0;
	json_t *j;
	int rc;

	rc = rc_store_audit_verify(r->dps->store, &bad);
	if (rc == RC_OK)
		j = json_pack("{s:b}", "valid", 1);
	else if (rc == RC_EBADSIG)
		j = json_pack("{s:b, s:I}", "valid", 0, "firstBadSeq",
		    (json_int_t)bad);
	else {
		dps_reply_error(r, 500, DPS_E_INTERNAL,
		    "the audit log cannot be read: %s", rc_strerror(rc));
		return;
	}
	dps_reply_json(r, 200, j);
	json_decref(j);
}

void
dps_audit(struct dps_req *r)
{
	if (r->nsegs > 2 ||
	    (r->nsegs == 2 && strcasecmp(r->segs[1], "verify") != 0)) {
		dps_reply_error(r, 404, DPS_E_NOT_FOUND, "no such path");
		return;
	}
	if (r->http->method != RC_HTTP_GET) {
		dps_reply_method(r, "GET");
		return;
	}
	if (!dps_need(r, RC_RIGHT_SERVICE_CONFIG))
		return;
	if (r->nsegs == 2)
		do_verify(r);
	else
		do_list(r);
}
