/*
 * Individual enrollments and enrollment groups over the service API
 * (reference/azure-service-api.md §2.1-2.4):
 *
 *	PUT|GET|DELETE	/enrollments/{id}, /enrollmentGroups/{id}
 *	POST		.../{id}/attestationmechanism
 *	POST		.../query		(paged)
 *	POST		/enrollments[/], /enrollmentGroups[/]	(bulk)
 *
 * A PUT is a whole replacement, except that a certificate slot carrying
 * only `info` keeps the stored certificate (§2.4 read-modify-write).  That
 * merge reads the stored enrollment first; unless the client sent If-Match
 * itself, the write is then made conditional on the etag it read and
 * retried if another writer got in between, so the kept certificate is
 * always the one that was stored when the new state was computed.
 */
#include <string.h>
#include <strings.h>

#include "dps_impl.h"
#include "rollcall/mem.h"
#include "rollcall/x509.h"

#define PUT_RETRIES 3

enum put_mode { PUT_ANY, PUT_CREATE };

static const char *
what(enum rc_enrollment_kind kind)
{
	return kind == RC_ENROLLMENT_GROUP ? "enrollment group"
	                                   : "individual enrollment";
}

static int
notfound_code(enum rc_enrollment_kind kind)
{
	return kind == RC_ENROLLMENT_GROUP ? DPS_E_NO_GROUP
	                                   : DPS_E_NO_ENROLLMENT;
}

/* caReferences must name uploaded, verified CA certificates. */
static int
check_ca_refs(struct dps_req *r, const struct rc_enrollment *enr,
    struct dps_err *e)
{
	struct rc_ca_cert *ca;
	int i, rc;

	for (i = 0; i < RC_SLOT_COUNT; i++) {
		if (enr->ca_refs[i] == NULL)
			continue;
		rc = rc_store_ca_cert_get(r->dps->store, enr->ca_refs[i], &ca);
		if (rc == RC_ENOENT)
			return dps_err_set(e, rc, 400, DPS_E_BAD_CA_REF,
			    "CA certificate '%s' does not exist: upload it "
			    "with PUT /certificates/%s",
			    enr->ca_refs[i], enr->ca_refs[i]);
		if (rc != RC_OK)
			return dps_err_store(e, rc, "CA certificate",
			    enr->ca_refs[i], DPS_E_NO_CA_CERT);
		rc = RC_OK;
		if (!ca->verified)
			rc = dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_CA_REF,
			    "CA certificate '%s' is not verified: prove "
			    "possession of its key first "
			    "(generateVerificationCode, verify)",
			    enr->ca_refs[i]);
		rc_ca_cert_free(ca);
		if (rc != RC_OK)
			return rc;
	}
	return RC_OK;
}

/* Fills the info-only slots of enr from the stored enrollment old. */
static int
merge_kept(json_t *body, struct rc_enrollment *enr,
    const struct rc_enrollment *old, const int keep[RC_SLOT_COUNT],
    struct dps_err *e)
{
	static const char *const names[] = {"primary", "secondary"};
	const char *thumb;
	int i;

	for (i = 0; i < RC_SLOT_COUNT; i++) {
		if (!keep[i])
			continue;
		if (old == NULL || old->certs[i] == NULL)
			return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_CERT,
			    "the %s slot has only `info` but no certificate "
			    "is stored there: send the certificate",
			    names[i]);
		thumb =
		    dps_enrollment_keep_thumb(body, enr->kind, (enum rc_slot)i);
		if (thumb != NULL &&
		    !rc_x509_thumbprint_eq(thumb, old->certs[i]->sha256))
			return dps_err_set(e, RC_ESTALE, 412, DPS_E_ETAG,
			    "the %s slot's info is not the stored certificate "
			    "(it changed since it was read): read the "
			    "enrollment again",
			    names[i]);
		if ((enr->certs[i] = rc_store_cert_dup(old->certs[i])) == NULL)
			return dps_err_set(e, RC_ENOMEM, 500, DPS_E_INTERNAL,
			    "out of memory");
	}
	if (enr->certs[0] != NULL && enr->certs[1] != NULL &&
	    strcasecmp(enr->certs[0]->sha256, enr->certs[1]->sha256) == 0)
		return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_CERT,
		    "primary and secondary are the same certificate");
	return RC_OK;
}

static int
put_error(struct dps_err *e, int rc, const struct rc_enrollment *enr,
    const char *conflict)
{
	if (rc == RC_EEXIST)
		return dps_err_set(e, rc, 409, DPS_E_CERT_IN_USE,
		    "a certificate of %s '%s' is already in enrollment '%s': "
		    "a certificate may be in only one enrollment",
		    what(enr->kind), enr->id,
		    conflict != NULL ? conflict : "?");
	if (rc == RC_EINVAL)
		return dps_err_set(e, rc, 400, DPS_E_BAD_BODY,
		    "the store refused %s '%s'", what(enr->kind), enr->id);
	return dps_err_store(e, rc, what(enr->kind), enr->id,
	    notfound_code(enr->kind));
}

/* One attempt: read (if needed), merge, write. */
static int
put_try(struct dps_req *r, json_t *body, struct rc_enrollment *enr,
    const int keep[RC_SLOT_COUNT], const char *if_match, enum put_mode mode,
    struct rc_enrollment **out, int *retry, struct dps_err *e)
{
	struct rc_enrollment *old = NULL;
	struct rc_store_ctx ctx;
	char *conflict = NULL;
	int i, rc = RC_OK;

	*retry = 0;
	if (keep[0] || keep[1] || mode == PUT_CREATE) {
		rc = rc_store_enrollment_get(r->dps->store, enr->kind, enr->id,
		    &old);
		if (rc != RC_OK && rc != RC_ENOENT)
			return dps_err_store(e, rc, what(enr->kind), enr->id,
			    notfound_code(enr->kind));
	}
	if (mode == PUT_CREATE && old != NULL) {
		rc = dps_err_set(e, RC_EEXIST, 409, DPS_E_EXISTS,
		    "%s '%s' already exists", what(enr->kind), enr->id);
		goto out;
	}
	/* A retry recomputes the kept slots from what is stored now. */
	for (i = 0; i < RC_SLOT_COUNT; i++) {
		if (!keep[i])
			continue;
		rc_store_cert_free(enr->certs[i]);
		enr->certs[i] = NULL;
	}
	if ((rc = merge_kept(body, enr, old, keep, e)) != RC_OK)
		goto out;
	dps_store_ctx(r, if_match, &ctx);
	if (if_match == NULL && old != NULL && (keep[0] || keep[1])) {
		ctx.if_match = old->etag;
		*retry = 1;
	}
	rc = rc_store_enrollment_put(r->dps->store, &ctx, enr, out, &conflict);
	if (rc != RC_OK && !(rc == RC_ESTALE && *retry))
		put_error(e, rc, enr, conflict);
out:
	rc_free(conflict);
	rc_enrollment_free(old);
	return rc;
}

/*
 * The core of PUT and of each bulk item: intake, CA reference check,
 * merge of kept slots, store.  path_id NULL for bulk items.
 */
static int
put_one(struct dps_req *r, enum rc_enrollment_kind kind, json_t *body,
    const char *path_id, const char *if_match, enum put_mode mode,
    struct rc_enrollment **out, struct dps_err *e)
{
	struct rc_enrollment *enr = NULL;
	int keep[RC_SLOT_COUNT], retry, n, rc;

	*out = NULL;
	if ((rc = dps_enrollment_from_json(kind, body, path_id, &enr, keep,
	         e)) != RC_OK)
		return rc;
	if ((rc = check_ca_refs(r, enr, e)) != RC_OK)
		goto out;
	for (n = 0; n < PUT_RETRIES; n++) {
		rc =
		    put_try(r, body, enr, keep, if_match, mode, out, &retry, e);
		if (rc != RC_ESTALE || !retry)
			break;
	}
	if (rc == RC_ESTALE && retry)
		put_error(e, rc, enr, NULL);
out:
	rc_enrollment_free(enr);
	return rc;
}

static void
reply_enrollment(struct dps_req *r, const struct rc_enrollment *enr)
{
	json_t *j = NULL;

	if (dps_enrollment_to_json(enr, &j) != RC_OK) {
		dps_reply_error(r, 500, DPS_E_INTERNAL, "out of memory");
		return;
	}
	dps_reply_etag(r, j, enr->etag);
	json_decref(j);
}

static void
do_put(struct dps_req *r, enum rc_enrollment_kind kind, const char *id)
{
	struct rc_enrollment *out = NULL;
	struct dps_err e;
	json_t *body = NULL;
	char im[256];
	int rc;

	if (!dps_need(r, RC_RIGHT_ENROLLMENT_WRITE))
		return;
	rc = dps_body_json(r, &body, &e);
	if (rc == RC_ENOENT)
		rc = dps_err_set(&e, RC_EINVAL, 400, DPS_E_BAD_BODY,
		    "the body must be the %s", what(kind));
	if (rc == RC_OK)
		rc = put_one(r, kind, body, id, dps_if_match(r, im, sizeof(im)),
		    PUT_ANY, &out, &e);
	if (rc == RC_OK)
		reply_enrollment(r, out);
	else
		dps_reply_err(r, &e);
	rc_enrollment_free(out);
	json_decref(body);
}

/* An individual enrollment reads back with its registration state. */
static void
reply_with_state(struct dps_req *r, const struct rc_enrollment *enr)
{
	struct rc_registration *reg = NULL;
	json_t *j = NULL, *s = NULL;

	if (dps_enrollment_to_json(enr, &j) != RC_OK)
		goto fail;
	if (enr->kind == RC_ENROLLMENT_INDIVIDUAL &&
	    rc_store_registration_get(r->dps->store, enr->id, &reg) == RC_OK) {
		if (dps_registration_to_json(reg, &s) != RC_OK ||
		    json_object_set_new(j, "registrationState", s) != 0)
			goto fail;
	}
	dps_reply_etag(r, j, enr->etag);
	json_decref(j);
	rc_registration_free(reg);
	return;
fail:
	json_decref(j);
	rc_registration_free(reg);
	dps_reply_error(r, 500, DPS_E_INTERNAL, "out of memory");
}

static void
do_get(struct dps_req *r, enum rc_enrollment_kind kind, const char *id,
    int attestation)
{
	struct rc_enrollment *enr = NULL;
	struct dps_err e;
	json_t *j = NULL;
	int rc;

	if (!dps_need(r, RC_RIGHT_ENROLLMENT_READ))
		return;
	if ((rc = rc_store_enrollment_get(r->dps->store, kind, id, &enr)) !=
	    RC_OK) {
		dps_err_store(&e, rc, what(kind), id, notfound_code(kind));
		dps_reply_err(r, &e);
		return;
	}
	if (!attestation)
		reply_with_state(r, enr);
	else if (dps_attestation_to_json(enr, &j) == RC_OK)
		dps_reply_json(r, 200, j);
	else
		dps_reply_error(r, 500, DPS_E_INTERNAL, "out of memory");
	json_decref(j);
	rc_enrollment_free(enr);
}

static void
do_delete(struct dps_req *r, enum rc_enrollment_kind kind, const char *id)
{
	struct rc_store_ctx ctx;
	struct dps_err e;
	char im[256];
	int rc;

	if (!dps_need(r, RC_RIGHT_ENROLLMENT_WRITE))
		return;
	dps_store_ctx(r, dps_if_match(r, im, sizeof(im)), &ctx);
	rc = rc_store_enrollment_delete(r->dps->store, &ctx, kind, id);
	if (rc != RC_OK) {
		dps_err_store(&e, rc, what(kind), id, notfound_code(kind));
		dps_reply_err(r, &e);
		return;
	}
	dps_reply_status(r, 204);
}

static void
do_query(struct dps_req *r, enum rc_enrollment_kind kind)
{
	struct rc_enrollment **list = NULL;
	struct dps_err e;
	char *after = NULL, *next = NULL;
	json_t *arr = NULL, *j;
	size_t max, n = 0, i;
	int rc;

	if (!dps_need(r, RC_RIGHT_ENROLLMENT_READ))
		return;
	if ((rc = dps_query_check(r, &e)) != RC_OK ||
	    (rc = dps_page_in(r, &max, &after, &e)) != RC_OK)
		goto out;
	rc = rc_store_enrollment_list(r->dps->store, kind, after, max, &list,
	    &n, &next);
	if (rc != RC_OK) {
		dps_err_store(&e, rc, what(kind), "*", notfound_code(kind));
		goto out;
	}
	rc = dps_err_set(&e, RC_ENOMEM, 500, DPS_E_INTERNAL, "out of memory");
	if ((arr = json_array()) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		if (dps_enrollment_to_json(list[i], &j) != RC_OK ||
		    json_array_append_new(arr, j) != 0)
			goto out;
	rc = RC_OK;
	dps_page_reply(r, arr,
	    kind == RC_ENROLLMENT_GROUP ? "EnrollmentGroup" : "Enrollment", max,
	    next);
out:
	if (rc != RC_OK)
		dps_reply_err(r, &e);
	json_decref(arr);
	rc_enrollment_list_free(list, n);
	rc_free(after);
	rc_free(next);
}

static void
enrollment_one(struct dps_req *r, enum rc_enrollment_kind kind)
{
	const char *id = r->segs[1];

	if (!dps_id_valid(id, DPS_ID_MAX)) {
		dps_reply_error(r, 400, DPS_E_BAD_ID,
		    "'%.128s' is not a valid %s ID", id,
		    kind == RC_ENROLLMENT_GROUP ? "enrollment group"
		                                : "registration");
		return;
	}
	if (r->nsegs == 3) {
		if (r->http->method == RC_HTTP_POST)
			do_get(r, kind, id, 1);
		else
			dps_reply_method(r, "POST");
		return;
	}
	switch (r->http->method) {
	case RC_HTTP_PUT:
		do_put(r, kind, id);
		break;
	case RC_HTTP_GET:
		do_get(r, kind, id, 0);
		break;
	case RC_HTTP_DELETE:
		do_delete(r, kind, id);
		break;
	default:
		dps_reply_method(r, "GET, PUT, DELETE");
		break;
	}
}

/*
 * Bulk operations (§2.1): {"mode": create|update|updateIfMatchETag|
 * delete, "enrollments"|"enrollmentGroups": [at most 10]}.  Items are
 * applied one by one, each in its own store transaction; the answer lists
 * the ones that failed.
 */
enum bulk_mode { BULK_CREATE, BULK_UPDATE, BULK_IF_MATCH, BULK_DELETE };

static int
bulk_mode(json_t *body, enum bulk_mode *mode, struct dps_err *e)
{
	static const char *const names[] = {"create", "update",
	    "updateIfMatchETag", "delete"};
	const char *s = json_string_value(json_object_get(body, "mode"));
	int i;

	*mode = BULK_CREATE;
	/* Case-insensitive: the Node typings spell updateIfMatchEtag. */
	for (i = 0; s != NULL && i < 4; i++)
		if (strcasecmp(s, names[i]) == 0) {
			*mode = (enum bulk_mode)i;
			return RC_OK;
		}
	return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_BODY,
	    "mode must be create, update, updateIfMatchETag or delete");
}

static int
bulk_delete(struct dps_req *r, enum rc_enrollment_kind kind, json_t *item,
    const char *id, struct dps_err *e)
{
	struct rc_store_ctx ctx;
	int rc;

	if (id == NULL || !dps_id_valid(id, DPS_ID_MAX))
		return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_ID,
		    "the item has no valid ID");
	dps_store_ctx(r, json_string_value(json_object_get(item, "etag")),
	    &ctx);
	rc = rc_store_enrollment_delete(r->dps->store, &ctx, kind, id);
	if (rc != RC_OK)
		return dps_err_store(e, rc, what(kind), id,
		    notfound_code(kind));
	return RC_OK;
}

static int
bulk_item(struct dps_req *r, enum rc_enrollment_kind kind, enum bulk_mode mode,
    json_t *item, const char *id, struct dps_err *e)
{
	struct rc_enrollment *out = NULL;
	const char *etag = NULL;
	int rc;

	if (mode == BULK_DELETE)
		return bulk_delete(r, kind, item, id, e);
	if (mode == BULK_IF_MATCH &&
	    (etag = json_string_value(json_object_get(item, "etag"))) == NULL)
		return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_BODY,
		    "mode updateIfMatchETag needs the item's etag");
	rc = put_one(r, kind, item, NULL, etag,
	    mode == BULK_CREATE ? PUT_CREATE : PUT_ANY, &out, e);
	rc_enrollment_free(out);
	return rc;
}

static int
bulk_error(json_t *errors, const char *idkey, const char *id,
    const struct dps_err *e)
{
	return json_array_append_new(errors,
	    json_pack("{s:s, s:i, s:s}", idkey, id != NULL ? id : "",
	        "errorCode", e->code, "errorStatus", e->msg));
}

static void
bulk(struct dps_req *r, enum rc_enrollment_kind kind)
{
	const char *idkey, *listkey, *id;
	enum bulk_mode mode;
	struct dps_err e;
	json_t *body = NULL, *items, *item, *errors = NULL, *res = NULL;
	size_t i;
	int rc;

	if (!dps_need(r, RC_RIGHT_ENROLLMENT_WRITE))
		return;
	idkey = kind == RC_ENROLLMENT_GROUP ? "enrollmentGroupId"
	                                    : "registrationId";
	listkey =
	    kind == RC_ENROLLMENT_GROUP ? "enrollmentGroups" : "enrollments";
	rc = dps_body_json(r, &body, &e);
	if (rc == RC_ENOENT)
		rc = dps_err_set(&e, RC_EINVAL, 400, DPS_E_BAD_BODY,
		    "a bulk operation needs a body");
	if (rc != RC_OK || (rc = bulk_mode(body, &mode, &e)) != RC_OK)
		goto out;
	items = json_object_get(body, listkey);
	if (!json_is_array(items) || json_array_size(items) == 0 ||
	    json_array_size(items) > DPS_BULK_MAX) {
		rc = dps_err_set(&e, RC_EINVAL, 400, DPS_E_BAD_BODY,
		    "%s must be an array of 1 to %d items", listkey,
		    DPS_BULK_MAX);
		goto out;
	}
	rc = dps_err_set(&e, RC_ENOMEM, 500, DPS_E_INTERNAL, "out of memory");
	if ((errors = json_array()) == NULL)
		goto out;
	json_array_foreach(items, i, item)
	{
		id = json_string_value(json_object_get(item, idkey));
		if (bulk_item(r, kind, mode, item, id, &e) != RC_OK &&
		    bulk_error(errors, idkey, id, &e) != 0)
			goto out;
	}
	res = json_pack("{s:b, s:O}", "isSuccessful",
	    json_array_size(errors) == 0, "errors", errors);
	if (res == NULL)
		goto out;
	rc = RC_OK;
	dps_reply_json(r, 200, res);
out:
	if (rc != RC_OK)
		dps_reply_err(r, &e);
	json_decref(res);
	json_decref(errors);
	json_decref(body);
}

void
dps_enrollments(struct dps_req *r, enum rc_enrollment_kind kind)
{
	int post = r->http->method == RC_HTTP_POST;

	if (r->nsegs == 1) {
		if (post)
			bulk(r, kind);
		else
			dps_reply_method(r, "POST");
		return;
	}
	if (r->nsegs == 2 && post && strcasecmp(r->segs[1], "query") == 0) {
		do_query(r, kind);
		return;
	}
	if (r->nsegs == 2 ||
	    (r->nsegs == 3 &&
	        strcasecmp(r->segs[2], "attestationmechanism") == 0)) {
		enrollment_one(r, kind);
		return;
	}
	dps_reply_error(r, 404, DPS_E_NOT_FOUND, "no such path");
}
