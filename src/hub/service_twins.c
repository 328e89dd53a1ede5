/*
 * Twins, the twin query and direct methods over the hub service API
 * (reference/azure-service-api.md §4.2, §4.4):
 *
 *	GET|PATCH|PUT	/twins/{deviceId}
 *	PUT		/twins/{deviceId}/import  (service_twin_import.c)
 *	POST		/twins/{deviceId}/methods
 *	POST		/devices/query			(paged)
 *
 * A twin body is {"tags": {...}, "properties": {"desired": {...}}}; the
 * reported section belongs to the device and is refused here.  PATCH
 * merges (RFC 7386), PUT replaces the sections it gives.  The wire's
 * "$version" and "$metadata" members of desired are read-only and
 * dropped.  A desired change is pushed to the device's live session.
 *
 * A direct method blocks the worker that read the request until the
 * device answers or the timeout passes (at most HUB_METHOD_TIMEOUT_MAX
 * seconds, plus a short grace for the session layer's own timeout).
 */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "hub/query.h"
#include "rollcall/json.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"
#include "service_impl.h"

/* Seconds the waiter allows beyond the method's own timeout. */
#define METHOD_GRACE 5

static void
reply_twin(struct hub_req *r, const struct rc_hub_device *d)
{
	json_t *j = NULL;

	if (hub_twin_to_json(r->hs, d, &j) != RC_OK)
		hub_reply_error(r, 500, HUB_E_INTERNAL, "out of memory");
	else
		hub_reply_etag(r, j, d->twin_etag);
	json_decref(j);
}

static void
twin_get(struct hub_req *r, const char *id)
{
	struct rc_hub_device *d = NULL;
	struct hub_err e;
	int rc;

	if (!hub_need(r, RC_RIGHT_REGISTRY_READ))
		return;
	if ((rc = rc_store_hub_device_get(r->hs->store, r->hs->hub, id, &d)) !=
	    RC_OK) {
		hub_err_store(&e, rc, id);
		hub_reply_err(r, &e);
		return;
	}
	reply_twin(r, d);
	rc_hub_device_free(d);
}

/* Splits a twin body into the store's patch; drops $version/$metadata. */
static int
twin_patch_in(json_t *body, struct rc_hub_twin_patch *p, struct hub_err *e)
{
	json_t *props, *tags, *desired;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(body))
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "the twin must be a JSON object");
	tags = json_object_get(body, "tags");
	props = json_object_get(body, "properties");
	if ((tags != NULL && !json_is_object(tags) && !json_is_null(tags)) ||
	    (props != NULL && !json_is_object(props) && !json_is_null(props)))
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "tags and properties must be objects");
	if (json_is_object(props) && json_object_get(props, "reported") != NULL)
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "reported properties are the device's: only tags and "
		    "properties.desired may be written");
	desired =
	    json_is_object(props) ? json_object_get(props, "desired") : NULL;
	if (desired != NULL && !json_is_object(desired))
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "properties.desired must be an object");
	if (desired != NULL) {
		json_object_del(desired, "$version");
		json_object_del(desired, "$metadata");
	}
	p->tags = json_is_object(tags) ? tags : NULL;
	p->desired = desired;
	if (p->tags == NULL && p->desired == NULL)
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "the twin gives neither tags nor properties.desired");
	return RC_OK;
}

static void
twin_write(struct hub_req *r, const char *id, int replace)
{
	struct rc_hub_device *d = NULL;
	struct rc_hub_twin_patch p;
	struct rc_store_ctx ctx;
	struct hub_err e;
	json_t *body = NULL;
	char im[256];
	int rc;

	if (!hub_need(r, RC_RIGHT_REGISTRY_WRITE))
		return;
	rc = hub_body_json(r, &body, &e);
	if (rc == RC_ENOENT)
		rc = hub_err_set(&e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "the body must be a twin");
	if (rc == RC_OK && (rc = twin_patch_in(body, &p, &e)) == RC_OK) {
		p.replace = replace;
		hub_store_ctx(r, hub_if_match(r, im, sizeof(im)), &ctx);
		rc = rc_store_hub_twin_update(r->hs->store, &ctx, r->hs->hub,
		    id, &p, &d);
		if (rc == RC_EINVAL)
			hub_err_set(&e, rc, 400, HUB_E_ARGUMENT,
			    "the twin breaks IoT Hub's rules (keys without "
			    "'.', '$', ' '; depth <= %d)",
			    RC_HUB_TWIN_MAX_DEPTH);
		else if (rc != RC_OK)
			hub_err_store(&e, rc, id);
	}
	if (rc != RC_OK) {
		hub_reply_err(r, &e);
		goto out;
	}
	if (p.desired != NULL && r->hs->ops.desired_push != NULL)
		r->hs->ops.desired_push(r->hs->ops.arg, id, d->desired,
		    (long long)d->desired_version);
	reply_twin(r, d);
out:
	json_decref(body);
	rc_hub_device_free(d);
}

void
hub_twins(struct hub_req *r)
{
	enum rc_http_method m = r->http->method;

	if (r->nsegs == 3 && strcasecmp(r->segs[2], "import") == 0) {
		hub_twin_import(r, r->segs[1]);
		return;
	}
	if (r->nsegs != 2) {
		hub_reply_error(r, 404, HUB_E_NOT_FOUND, "no such path");
		return;
	}
	if (m == RC_HTTP_GET)
		twin_get(r, r->segs[1]);
	else if (m == RC_HTTP_PATCH)
		twin_write(r, r->segs[1], 0);
	else if (m == RC_HTTP_PUT)
		twin_write(r, r->segs[1], 1);
	else
		hub_reply_method(r, "GET, PATCH, PUT");
}

/* Appends d's twin to arr when it satisfies q. */
static int
query_one(struct hub_service *hs, const struct hub_query *q,
    const struct rc_hub_device *d, json_t *arr, int *added)
{
	json_t *t = NULL;
	int rc, match = 0;

	*added = 0;
	if ((rc = hub_twin_to_json(hs, d, &t)) != RC_OK)
		return rc;
	if ((rc = hub_query_eval(q, t, &match)) == RC_OK && match) {
		if (json_array_append(arr, t) != 0)
			rc = RC_ENOMEM;
		else
			*added = 1;
	}
	json_decref(t);
	return rc;
}

/* The fast path: the condition lists its device IDs. */
static int
run_ids(struct hub_service *hs, const struct hub_query *q, const char **ids,
    size_t nids, const char *after, size_t max, json_t *arr, char **next)
{
	struct rc_hub_device *d;
	size_t i, got = 0;
	int rc, added;

	for (i = 0; i < nids; i++) {
		if (after != NULL && strcmp(ids[i], after) <= 0)
			continue;
		if (got == max) {
			if ((*next = rc_strdup(ids[i - 1])) == NULL)
				return RC_ENOMEM;
			return RC_OK;
		}
		rc = rc_store_hub_device_get(hs->store, hs->hub, ids[i], &d);
		if (rc == RC_ENOENT)
			continue;
		if (rc != RC_OK)
			return rc;
		rc = query_one(hs, q, d, arr, &added);
		rc_hub_device_free(d);
		if (rc != RC_OK)
			return rc;
		got += (size_t)added;
	}
	return RC_OK;
}

/* The scan: the store's pages in device ID order, evaluated one by one. */
static int
run_scan(struct hub_service *hs, const struct hub_query *q, const char *after,
    size_t max, json_t *arr, char **next)
{
	struct rc_hub_device **v = NULL;
	char *cur = NULL, *more = NULL;
	size_t i, n = 0, got = 0;
	int rc = RC_OK, added;

	if (after != NULL && (cur = rc_strdup(after)) == NULL)
		return RC_ENOMEM;
	for (;;) {
		rc = rc_store_hub_device_list(hs->store, hs->hub, cur,
		    HUB_PAGE_MAX, &v, &n, &more);
		for (i = 0; rc == RC_OK && i < n; i++) {
			if (got == max) {
				*next = rc_strdup(v[i - 1]->device_id);
				rc = *next == NULL ? RC_ENOMEM : RC_OK;
				goto out;
			}
			rc = query_one(hs, q, v[i], arr, &added);
			got += (size_t)added;
		}
		if (rc != RC_OK || more == NULL)
			goto out;
		rc_free(cur);
		cur = more;
		more = NULL;
		rc_hub_device_list_free(v, n);
		v = NULL;
		n = 0;
	}
out:
	rc_hub_device_list_free(v, n);
	rc_free(cur);
	rc_free(more);
	return rc;
}

int
hub_query_run(struct hub_service *hs, const struct hub_query *q,
    const char *after, size_t max, json_t **out, char **next)
{
	const char **ids;
	size_t nids;
	json_t *arr;
	int rc;

	*out = NULL;
	*next = NULL;
	if ((arr = json_array()) == NULL)
		return RC_ENOMEM;
	if (hub_query_device_ids(q, &ids, &nids) == RC_OK)
		rc = run_ids(hs, q, ids, nids, after, max, arr, next);
	else
		rc = run_scan(hs, q, after, max, arr, next);
	if (rc != RC_OK) {
		json_decref(arr);
		rc_free(*next);
		*next = NULL;
		return rc;
	}
	*out = arr;
	return RC_OK;
}

void
hub_query(struct hub_req *r)
{
	struct hub_query *q = NULL;
	struct hub_err e;
	char *after = NULL, *next = NULL, why[256];
	json_t *body = NULL, *arr = NULL;
	const char *text;
	size_t max;
	int rc;

	if (!hub_need(r, RC_RIGHT_REGISTRY_READ))
		return;
	if ((rc = hub_page_in(r, &max, &after, &e)) != RC_OK ||
	    (rc = hub_body_json(r, &body, &e)) == RC_ENOENT) {
		if (rc == RC_ENOENT)
			rc = hub_err_set(&e, RC_EINVAL, 400, HUB_E_ARGUMENT,
			    "the body must be {\"query\": \"SELECT ...\"}");
		goto out;
	}
	if (rc != RC_OK)
		goto out;
	if ((text = json_string_value(json_object_get(body, "query"))) ==
	    NULL) {
		rc = hub_err_set(&e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "the body must be {\"query\": \"SELECT ...\"}");
		goto out;
	}
	why[0] = '\0';
	if ((rc = hub_query_parse(text, strlen(text), &q, why, sizeof(why))) !=
	    RC_OK) {
		hub_err_set(&e, rc, rc == RC_ENOMEM ? 500 : 400,
		    rc == RC_ENOMEM ? HUB_E_INTERNAL : HUB_E_ARGUMENT,
		    "query: %s", why[0] != '\0' ? why : rc_strerror(rc));
		goto out;
	}
	if ((rc = hub_query_run(r->hs, q, after, max, &arr, &next)) != RC_OK)
		hub_err_store(&e, rc, "-");
out:
	if (rc != RC_OK)
		hub_reply_err(r, &e);
	else
		hub_page_reply(r, arr, "Twin", next);
	hub_query_free(q);
	json_decref(body);
	json_decref(arr);
	rc_free(after);
	rc_free(next);
}
