/*
 * Certificates the device CA issued from CSRs, over the service API (our
 * own endpoints, docs/api.md; seed rules S4, S9):
 *
 *	GET	/issued?before=T&max=N		EnrollmentRead
 *	GET	/registrations/{id}/issued?max=N	EnrollmentRead
 *	POST	/issued/{serial}/revoke		EnrollmentWrite
 *
 * The first lists live (not revoked) certificates whose notAfter is
 * before T, soonest first: the expiry report.  The second lists a
 * registration's certificates, newest first, revoked ones included.  A
 * revocation also blocklists the certificate's thumbprint in the same
 * store transaction, so the certificate cannot attest from then on.
 */
#include <string.h>
#include <strings.h>

#include "dps_impl.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"

static int
item_json(const struct rc_issued_cert *c, json_t **out)
{
	json_t *j;

	*out = NULL;
	j = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "serialNumber",
	    c->serial, "registrationId", c->registration_id, "sha256Thumbprint",
	    c->sha256, "notBeforeUtc", dps_time_json(c->not_before),
	    "notAfterUtc", dps_time_json(c->not_after), "issuedUtc",
	    dps_time_json(c->issued_at));
	if (j == NULL)
		return RC_ENOMEM;
	if (c->revoked_at != 0 &&
	    (json_object_set_new(j, "revokedUtc",
	         dps_time_json(c->revoked_at)) != 0 ||
	        json_object_set_new(j, "revocationReason",
	            json_string(c->revoke_reason != NULL ? c->revoke_reason
	                                                 : "")) != 0)) {
		json_decref(j);
		return RC_ENOMEM;
	}
	*out = j;
	return RC_OK;
}

/* 200 with the items as a JSON array; takes nothing. */
static void
reply_items(struct dps_req *r, struct rc_issued_cert **v, size_t n)
{
	json_t *arr, *j;
	size_t i;

	if ((arr = json_array()) == NULL)
		goto fail;
	for (i = 0; i < n; i++)
		if (item_json(v[i], &j) != RC_OK ||
		    json_array_append_new(arr, j) != 0)
			goto fail;
	dps_reply_json(r, 200, arr);
	json_decref(arr);
	return;
fail:
	json_decref(arr);
	dps_reply_error(r, 500, DPS_E_INTERNAL, "out of memory");
}

static void
reply_store(struct dps_req *r, int rc, const char *what)
{
	dps_reply_error(r, 500, DPS_E_INTERNAL, "store error on %s: %s", what,
	    rc_strerror(rc));
}

static void
do_expiring(struct dps_req *r)
{
	struct rc_issued_cert **v = NULL;
	char before[64];
	long long max;
	int64_t t;
	size_t n = 0;
	int rc;

	if (!dps_need(r, RC_RIGHT_ENROLLMENT_READ))
		return;
	rc = rc_http_query_param(r->http, "before", before, sizeof(before));
	if (rc != RC_OK || dps_time_parse(before, &t) != RC_OK) {
		dps_reply_error(r, 400, DPS_E_BAD_REQUEST,
		    "before must be a UTC time, YYYY-MM-DDTHH:MM:SSZ");
		return;
	}
	if (dps_query_int(r, "max", DPS_PAGE_DEFAULT, 1, DPS_PAGE_MAX, &max) !=
	    RC_OK)
		return;
	rc = rc_store_issued_list_expiring(r->dps->store, t, (size_t)max, &v,
	    &n);
	if (rc != RC_OK)
		reply_store(r, rc, "issued certificates");
	else
		reply_items(r, v, n);
	rc_issued_cert_list_free(v, n);
}

void
dps_registration_issued(struct dps_req *r, const char *id)
{
	struct rc_issued_cert **v = NULL;
	long long max;
	size_t n = 0;
	int rc;

	if (r->http->method != RC_HTTP_GET) {
		dps_reply_method(r, "GET");
		return;
	}
	if (!dps_need(r, RC_RIGHT_ENROLLMENT_READ) ||
	    dps_query_int(r, "max", DPS_PAGE_DEFAULT, 1, DPS_PAGE_MAX, &max) !=
	        RC_OK)
		return;
	rc = rc_store_issued_list_registration(r->dps->store, id, (size_t)max,
	    &v, &n);
	if (rc != RC_OK)
		reply_store(r, rc, "issued certificates");
	else
		reply_items(r, v, n);
	rc_issued_cert_list_free(v, n);
}

static void
do_revoke(struct dps_req *r, const char *serial)
{
	struct rc_issued_cert *c = NULL;
	struct rc_store_ctx ctx;
	struct dps_err e;
	const char *reason;
	json_t *body = NULL, *j = NULL;
	int rc;

	if (!dps_need(r, RC_RIGHT_ENROLLMENT_WRITE))
		return;
	if (dps_body_reason(r, &body, &reason, RC_ISSUED_MAX_REASON, &e) !=
	    RC_OK) {
		dps_reply_err(r, &e);
		goto out;
	}
	dps_store_ctx(r, NULL, &ctx);
	rc = rc_store_issued_revoke_block(r->dps->store, &ctx, serial, reason,
	    &c);
	if (rc == RC_EEXIST)
		dps_reply_error(r, 409, DPS_E_REVOKED,
		    "certificate '%s' is already revoked", serial);
	else if (rc == RC_ENOENT)
		dps_reply_error(r, 404, DPS_E_NO_ISSUED,
		    "no certificate with serial number '%s' was issued",
		    serial);
	else if (rc != RC_OK)
		reply_store(r, rc, "the revocation");
	else if (item_json(c, &j) != RC_OK)
		dps_reply_error(r, 500, DPS_E_INTERNAL, "out of memory");
	else {
		rc_log_info("dps: %s revoked certificate %s of %s: %s", ctx.who,
		    c->serial, c->registration_id, reason);
		dps_reply_json(r, 200, j);
	}
out:
	json_decref(j);
	json_decref(body);
	rc_issued_cert_free(c);
}

static int
serial_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= RC_ISSUED_MAX_SERIAL &&
	    strspn(s, "0123456789abcdefABCDEF") == n;
}

void
dps_issued(struct dps_req *r)
{
	if (r->nsegs == 1) {
		if (r->http->method == RC_HTTP_GET)
			do_expiring(r);
		else
			dps_reply_method(r, "GET");
		return;
	}
	if (r->nsegs != 3 || strcasecmp(r->segs[2], "revoke") != 0) {
		dps_reply_error(r, 404, DPS_E_NOT_FOUND, "no such path");
		return;
	}
	if (!serial_valid(r->segs[1])) {
		dps_reply_error(r, 400, DPS_E_BAD_REQUEST,
		    "'%.80s' is not a serial number (1 to %d hex digits)",
		    r->segs[1], RC_ISSUED_MAX_SERIAL);
		return;
	}
	if (r->http->method != RC_HTTP_POST) {
		dps_reply_method(r, "POST");
		return;
	}
	do_revoke(r, r->segs[1]);
}
