/*
 * The certificate blocklist over the service API (our own endpoints,
 * docs/api.md; seed rule S9):
 *
 *	PUT	/blocklist/{sha256}	{"reason": "..."}	EnrollmentWrite
 *	GET	/blocklist/{sha256}				EnrollmentRead
 *	DELETE	/blocklist/{sha256}				EnrollmentWrite
 *	GET	/blocklist			(paged)		EnrollmentRead
 *
 * {sha256} is the SHA-256 thumbprint of a certificate's DER, 64 hex digits
 * in either case.  Attestation refuses any chain holding a listed
 * certificate (attest.h rule 2b) from the next registration on.
 */
#include <string.h>

#include "dps_impl.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"

static int
entry_json(const struct rc_blocked_cert *b, json_t **out)
{
	*out = json_pack("{s:s, s:s, s:o}", "sha256Thumbprint", b->sha256,
	    "reason", b->reason, "blockedUtc", dps_time_json(b->blocked_at));
	return *out != NULL ? RC_OK : RC_ENOMEM;
}

static void
reply_entry(struct dps_req *r, const struct rc_blocked_cert *b)
{
	json_t *j;

	if (entry_json(b, &j) != RC_OK) {
		dps_reply_error(r, 500, DPS_E_INTERNAL, "out of memory");
		return;
	}
	dps_reply_json(r, 200, j);
	json_decref(j);
}

static void
reply_store(struct dps_req *r, int rc, const char *sha256)
{
	struct dps_err e;

	dps_err_store(&e, rc, "blocklist entry", sha256, DPS_E_NOT_BLOCKED);
	dps_reply_err(r, &e);
}

static void
do_put(struct dps_req *r, const char *sha256)
{
	struct rc_blocked_cert *b = NULL;
	struct rc_store_ctx ctx;
	struct dps_err e;
	const char *reason;
	json_t *body = NULL;
	int rc;

	if (!dps_need(r, RC_RIGHT_ENROLLMENT_WRITE))
		return;
	if (dps_body_reason(r, &body, &reason, RC_BLOCKLIST_MAX_REASON, &e) !=
	    RC_OK) {
		dps_reply_err(r, &e);
		goto out;
	}
	dps_store_ctx(r, NULL, &ctx);
	rc = rc_store_blocklist_put(r->dps->store, &ctx, sha256, reason, &b);
	if (rc != RC_OK) {
		reply_store(r, rc, sha256);
		goto out;
	}
	rc_log_info("dps: %s blocklisted %s: %s", ctx.who, b->sha256, reason);
	reply_entry(r, b);
out:
	rc_blocked_cert_free(b);
	json_decref(body);
}

static void
do_get(struct dps_req *r, const char *sha256)
{
	struct rc_blocked_cert *b = NULL;
	int rc;

	if (!dps_need(r, RC_RIGHT_ENROLLMENT_READ))
		return;
	if ((rc = rc_store_blocklist_get(r->dps->store, sha256, &b)) != RC_OK)
		reply_store(r, rc, sha256);
	else
		reply_entry(r, b);
	rc_blocked_cert_free(b);
}

static void
do_delete(struct dps_req *r, const char *sha256)
{
	struct rc_store_ctx ctx;
	int rc;

	if (!dps_need(r, RC_RIGHT_ENROLLMENT_WRITE))
		return;
	dps_store_ctx(r, NULL, &ctx);
	if ((rc = rc_store_blocklist_delete(r->dps->store, &ctx, sha256)) !=
	    RC_OK) {
		reply_store(r, rc, sha256);
		return;
	}
	rc_log_info("dps: %s removed %s from the blocklist", ctx.who, sha256);
	dps_reply_status(r, 204);
}

static void
do_list(struct dps_req *r)
{
	struct rc_blocked_cert **list = NULL;
	struct dps_err e;
	char *after = NULL, *next = NULL;
	json_t *arr = NULL, *j;
	size_t max, n = 0, i;
	int rc;

	if (!dps_need(r, RC_RIGHT_ENROLLMENT_READ))
		return;
	if ((rc = dps_page_in(r, &max, &after, &e)) != RC_OK)
		goto out;
	rc = rc_store_blocklist_list(r->dps->store, after, max, &list, &n,
	    &next);
	if (rc != RC_OK) {
		dps_err_store(&e, rc, "blocklist", "", DPS_E_NOT_BLOCKED);
		goto out;
	}
	rc = dps_err_set(&e, RC_ENOMEM, 500, DPS_E_INTERNAL, "out of memory");
	if ((arr = json_array()) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		if (entry_json(list[i], &j) != RC_OK ||
		    json_array_append_new(arr, j) != 0)
			goto out;
	rc = RC_OK;
	dps_page_reply(r, arr, "BlockedCertificate", max, next);
out:
	if (rc != RC_OK)
		dps_reply_err(r, &e);
	json_decref(arr);
	rc_blocked_cert_list_free(list, n);
	rc_free(after);
	rc_free(next);
}

static int
thumb_valid(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdefABCDEF") == 64;
}

void
dps_blocklist(struct dps_req *r)
{
	const char *sha256;

	if (r->nsegs == 1) {
		if (r->http->method == RC_HTTP_GET)
			do_list(r);
		else
			dps_reply_method(r, "GET");
		return;
	}
	if (r->nsegs != 2) {
		dps_reply_error(r, 404, DPS_E_NOT_FOUND, "no such path");
		return;
	}
	sha256 = r->segs[1];
	if (!thumb_valid(sha256)) {
		dps_reply_error(r, 400, DPS_E_BAD_REQUEST,
		    "'%.80s' is not a SHA-256 thumbprint (64 hex digits)",
		    sha256);
		return;
	}
	switch (r->http->method) {
	case RC_HTTP_PUT:
		do_put(r, sha256);
		break;
	case RC_HTTP_GET:
		do_get(r, sha256);
		break;
	case RC_HTTP_DELETE:
		do_delete(r, sha256);
		break;
	default:
		dps_reply_method(r, "GET, PUT, DELETE");
		break;
	}
}
