/*
 * Twin import, rollcall's own hub service call (docs/api.md "Twin
 * import"): the provisioning service moving a device to another hub with
 * reprovisionPolicy migrateDeviceData (seed rule S10) writes the whole
 * twin there, reported properties included, which PATCH and PUT /twins
 * refuse because reported properties are the device's.
 *
 *	PUT /twins/{deviceId}/import
 *	{"tags": {...}, "properties": {"desired": {...}, "reported": {...}}}
 *
 * The body may be a whole twin as GET /twins returns it: members other
 * than tags and properties.desired / .reported are ignored, as are
 * "$version" and "$metadata" at the top of desired and reported.  Each
 * section given (an object; absent or null: left alone) replaces its
 * counterpart whole; at least one must be given.  Values must not be null
 * (a null deletes in a patch, so it cannot be stored).  Right:
 * RegistryWrite.  If-Match (optional) is compared with the twin's etag.
 *
 * The store replaces tags and desired itself; reported it only merges
 * (RFC 7386), so the replacement is written as the merge patch that turns
 * the current reported section into the given one, under the etag it was
 * computed from; a device report racing in between makes that stale and
 * the import starts again (a few times).
 */
#include <string.h>

#include "rollcall/mem.h"
#include "service_impl.h"

/* Attempts when a device report races with the import. */
#define IMPORT_TRIES 3

struct import_in {
	json_t *tags;
	json_t *desired;
	json_t *reported;
};

/* 1 if v holds a null anywhere (v itself included). */
static int
has_null(const json_t *v)
{
	const char *k;
	json_t *x;
	size_t i;

	if (json_is_null(v))
		return 1;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, x)
		{
			if (has_null(x))
				return 1;
		}
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, x)
		{
			if (has_null(x))
				return 1;
		}
	}
	return 0;
}

/* One section: absent or null is none; else an object without nulls. */
static int
section_in(json_t *parent, const char *key, int drop_meta, json_t **out,
    struct hub_err *e)
{
	json_t *v =
	    json_is_object(parent) ? json_object_get(parent, key) : NULL;

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return RC_OK;
	if (!json_is_object(v))
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "%s must be an object", key);
	if (drop_meta) {
		json_object_del(v, "$version");
		json_object_del(v, "$metadata");
	}
	if (has_null(v))
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "%s holds a null: an import replaces, it cannot delete",
		    key);
	*out = v;
	return RC_OK;
}

static int
import_parse(json_t *body, struct import_in *in, struct hub_err *e)
{
	json_t *props;
	int rc;

	memset(in, 0, sizeof(*in));
	if (!json_is_object(body))
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "the body must be a twin object");
	props = json_object_get(body, "properties");
	if (props != NULL && !json_is_null(props) && !json_is_object(props))
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "properties must be an object");
	if ((rc = section_in(body, "tags", 0, &in->tags, e)) != RC_OK ||
	    (rc = section_in(props, "desired", 1, &in->desired, e)) != RC_OK ||
	    (rc = section_in(props, "reported", 1, &in->reported, e)) != RC_OK)
		return rc;
	if (in->tags == NULL && in->desired == NULL && in->reported == NULL)
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "the twin gives none of tags, properties.desired, "
		    "properties.reported");
	return RC_OK;
}

/*
 * The merge patch (RFC 7386) that turns cur into want: a null for each
 * member cur has and want lacks, a sub-patch where both are objects, want's
 * value where they differ.  want holds no null, so applying the patch
 * gives exactly want.  *out is a new object.
 */
static int
merge_diff(json_t *cur, json_t *want, json_t **out)
{
	json_t *p, *c, *w, *sub = NULL;
	const char *k;

	*out = NULL;
	if ((p = json_object()) == NULL)
		return RC_ENOMEM;
	json_object_foreach(cur, k, c)
	{
		if (json_object_get(want, k) == NULL &&
		    json_object_set_new(p, k, json_null()) != 0)
			goto nomem;
	}
	json_object_foreach(want, k, w)
	{
		c = json_object_get(cur, k);
		if (json_is_object(c) && json_is_object(w)) {
			if (merge_diff(c, w, &sub) != RC_OK)
				goto nomem;
			if (json_object_size(sub) > 0 &&
			    json_object_set(p, k, sub) != 0)
				goto nomem;
			json_decref(sub);
			sub = NULL;
		} else if ((c == NULL || !json_equal(c, w)) &&
		    json_object_set(p, k, w) != 0)
			goto nomem;
	}
	*out = p;
	return RC_OK;
nomem:
	json_decref(sub);
	json_decref(p);
	return RC_ENOMEM;
}

/*
 * One attempt: reads the twin, checks the caller's If-Match, writes the
 * sections under the etag read.  RC_ESTALE from the write (not from the
 * caller's etag) sets *raced.
 */
static int
import_once(struct hub_req *r, const char *id, const struct import_in *in,
    const char *im, struct rc_hub_device **out, int *raced, struct hub_err *e)
{
	struct rc_hub_device *d = NULL;
	struct rc_hub_twin_patch p;
	struct rc_store_ctx ctx;
	json_t *rep = NULL;
	int rc;

	*raced = 0;
	if ((rc = rc_store_hub_device_get(r->hs->store, r->hs->hub, id, &d)) !=
	    RC_OK) {
		hub_err_store(e, rc, id);
		goto out;
	}
	if (im != NULL && strcmp(im, "*") != 0 && strcmp(im, d->twin_etag)) {
		rc = hub_err_store(e, RC_ESTALE, id);
		goto out;
	}
	if (in->reported != NULL &&
	    (rc = merge_diff(d->reported, in->reported, &rep)) != RC_OK) {
		hub_err_store(e, rc, id);
		goto out;
	}
	memset(&p, 0, sizeof(p));
	p.tags = in->tags;
	p.desired = in->desired;
	p.reported = rep;
	p.replace = 1;
	hub_store_ctx(r, d->twin_etag, &ctx);
	rc = rc_store_hub_twin_update(r->hs->store, &ctx, r->hs->hub, id, &p,
	    out);
	*raced = rc == RC_ESTALE;
	if (rc == RC_EINVAL || rc == RC_ETOOBIG)
		hub_err_set(e, rc, 400, HUB_E_ARGUMENT,
		    "the twin breaks IoT Hub's rules (keys without '.', '$', "
		    "' '; depth <= %d; %d bytes per section)",
		    RC_HUB_TWIN_MAX_DEPTH, RC_HUB_TWIN_MAX_BYTES);
	else if (rc != RC_OK)
		hub_err_store(e, rc, id);
out:
	json_decref(rep);
	rc_hub_device_free(d);
	return rc;
}

void
hub_twin_import(struct hub_req *r, const char *id)
{
	struct rc_hub_device *d = NULL;
	struct import_in in;
	struct hub_err e;
	json_t *body = NULL, *j = NULL;
	const char *im;
	char imbuf[256];
	int rc, i, raced = 1;

	if (r->http->method != RC_HTTP_PUT) {
		hub_reply_method(r, "PUT");
		return;
	}
	if (!hub_need(r, RC_RIGHT_REGISTRY_WRITE))
		return;
	rc = hub_body_json(r, &body, &e);
	if (rc == RC_ENOENT)
		rc = hub_err_set(&e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "the body must be a twin");
	if (rc != RC_OK || (rc = import_parse(body, &in, &e)) != RC_OK)
		goto out;
	im = hub_if_match(r, imbuf, sizeof(imbuf));
	for (i = 0; i < IMPORT_TRIES && raced; i++)
		rc = import_once(r, id, &in, im, &d, &raced, &e);
	if (rc != RC_OK)
		goto out;
	if (in.desired != NULL && r->hs->ops.desired_push != NULL)
		r->hs->ops.desired_push(r->hs->ops.arg, id, d->desired,
		    (long long)d->desired_version);
	if ((rc = hub_twin_to_json(r->hs, d, &j)) != RC_OK)
		hub_err_set(&e, rc, 500, HUB_E_INTERNAL, "out of memory");
out:
	if (rc != RC_OK)
		hub_reply_err(r, &e);
	else
		hub_reply_etag(r, j, d->twin_etag);
	json_decref(j);
	json_decref(body);
	rc_hub_device_free(d);
}
