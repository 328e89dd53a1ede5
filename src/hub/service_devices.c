/*
 * Device identities over the hub service API
 * (reference/azure-service-api.md §4.1):
 *
 *	GET		/devices			list (paged)
 *	POST		/devices			bulk import, 1..100 items
 *	GET|PUT|DELETE	/devices/{deviceId}
 *
 * A PUT without If-Match creates (409 DeviceAlreadyExists when the device
 * exists); with If-Match ("*" quoted or bare, or an etag) it updates.
 * Every write goes through the hub's credential cache
 * (hub_auth_store_put/delete), so the next CONNECT sees it, and tells the
 * session layer, so live sessions check their certificate again.
 */
#include <string.h>
#include <strings.h>

#include "rollcall/enc.h"
#include "rollcall/json.h"
#include "rollcall/mem.h"
#include "service_impl.h"

static void
changed(struct hub_service *hs, const char *device_id)
{
	if (hs->ops.credentials_changed != NULL)
		hs->ops.credentials_changed(hs->ops.arg, device_id);
}

/* The write of one device; the error in e on failure. */
static int
device_put(struct hub_req *r, const struct rc_hub_device *in,
    const char *if_match, struct rc_hub_device **out, struct hub_err *e)
{
	struct rc_store_ctx ctx;
	int rc;

	hub_store_ctx(r, if_match, &ctx);
	rc = hub_auth_store_put(r->hs->cache, r->hs->store, &ctx, in, out);
	if (rc != RC_OK)
		return hub_err_store(e, rc, in->device_id);
	changed(r->hs, in->device_id);
	return RC_OK;
}

static int
device_delete(struct hub_req *r, const char *id, const char *if_match,
    struct hub_err *e)
{
	struct rc_store_ctx ctx;
	int rc;

	hub_store_ctx(r, if_match, &ctx);
	rc = hub_auth_store_delete(r->hs->cache, r->hs->store, &ctx, id);
	if (rc != RC_OK)
		return hub_err_store(e, rc, id);
	changed(r->hs, id);
	return RC_OK;
}

static void
reply_device(struct hub_req *r, const struct rc_hub_device *d)
{
	json_t *j = NULL;

	if (hub_device_to_json(r->hs, d, &j) != RC_OK)
		hub_reply_error(r, 500, HUB_E_INTERNAL, "out of memory");
	else
		hub_reply_etag(r, j, d->etag);
	json_decref(j);
}

static void
do_get(struct hub_req *r, const char *id)
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
	reply_device(r, d);
	rc_hub_device_free(d);
}

static void
do_put(struct hub_req *r, const char *id)
{
	struct rc_hub_device *in = NULL, *out = NULL;
	struct hub_err e;
	json_t *body = NULL;
	char im[256];
	int rc;

	if (!hub_need(r, RC_RIGHT_REGISTRY_WRITE))
		return;
	rc = hub_body_json(r, &body, &e);
	if (rc == RC_ENOENT)
		rc = hub_err_set(&e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "the body must be a Device object");
	if (rc == RC_OK &&
	    (rc = hub_device_from_json(r->hs, body, id, "deviceId", &in, &e)) ==
	        RC_OK)
		rc = device_put(r, in, hub_if_match(r, im, sizeof(im)), &out,
		    &e);
	if (rc != RC_OK)
		hub_reply_err(r, &e);
	else
		reply_device(r, out);
	json_decref(body);
	rc_hub_device_free(in);
	rc_hub_device_free(out);
}

static void
do_delete(struct hub_req *r, const char *id)
{
	struct hub_err e;
	char im[256];

	if (!hub_need(r, RC_RIGHT_REGISTRY_WRITE))
		return;
	if (device_delete(r, id, hub_if_match(r, im, sizeof(im)), &e) !=
	    RC_OK) {
		hub_reply_err(r, &e);
		return;
	}
	rc_http_resp_status(r->resp, 204);
}

/*
 * GET /devices?top=N: the SDK's Registry.list sends no paging header and
 * expects one array; top (default and cap HUB_PAGE_MAX) bounds it, and
 * x-ms-continuation pages on for clients that want more.
 */
static void
do_list(struct hub_req *r)
{
	struct rc_hub_device **v = NULL;
	struct hub_err e;
	char *after = NULL, *next = NULL, top[16];
	size_t max, n = 0, i;
	long long t;
	json_t *arr = NULL, *j;
	int rc;

	if (!hub_need(r, RC_RIGHT_REGISTRY_READ))
		return;
	if ((rc = hub_page_in(r, &max, &after, &e)) != RC_OK)
		goto out;
	if (rc_http_header(r->http, "x-ms-max-item-count") == NULL)
		max = HUB_PAGE_MAX;
	if (rc_http_query_param(r->http, "top", top, sizeof(top)) == RC_OK) {
		if (rc_strtonum(top, 1, HUB_PAGE_MAX, &t) != RC_OK) {
			rc = hub_err_set(&e, RC_EINVAL, 400, HUB_E_ARGUMENT,
			    "top must be 1..%d", HUB_PAGE_MAX);
			goto out;
		}
		max = (size_t)t;
	}
	rc = rc_store_hub_device_list(r->hs->store, r->hs->hub, after, max, &v,
	    &n, &next);
	if (rc != RC_OK) {
		hub_err_store(&e, rc, "-");
		goto out;
	}
	if ((arr = json_array()) == NULL)
		rc = hub_err_set(&e, RC_ENOMEM, 500, HUB_E_INTERNAL,
		    "no memory");
	for (i = 0; rc == RC_OK && i < n; i++) {
		if ((rc = hub_device_to_json(r->hs, v[i], &j)) != RC_OK ||
		    (rc = json_array_append_new(arr, j) == 0
		            ? RC_OK
		            : RC_ENOMEM) != RC_OK)
			hub_err_set(&e, RC_ENOMEM, 500, HUB_E_INTERNAL,
			    "out of memory");
	}
out:
	if (rc != RC_OK)
		hub_reply_err(r, &e);
	else
		hub_page_reply(r, arr, "DeviceIdentity", next);
	json_decref(arr);
	rc_hub_device_list_free(v, n);
	rc_free(after);
	rc_free(next);
}

/* Import modes of ExportImportDevice (§4.1), any case. */
enum mode { M_CREATE, M_UPDATE, M_UPDATE_ETAG, M_DELETE, M_DELETE_ETAG };

static const char *const mode_names[] = {"create", "update",
    "updateIfMatchETag", "delete", "deleteIfMatchETag"};

static int
mode_of(const char *s)
{
	size_t i;

	for (i = 0; s != NULL && i < sizeof(mode_names) / sizeof(*mode_names);
	     i++)
		if (strcasecmp(s, mode_names[i]) == 0)
			return (int)i;
	return -1;
}

/* The If-Match an item carries in eTag (quoted as the store keeps it). */
static const char *
item_etag(json_t *item, char *buf, size_t bufsize)
{
	const char *s = json_string_value(json_object_get(item, "eTag"));

	if (s == NULL)
		s = json_string_value(json_object_get(item, "etag"));
	if (s == NULL || s[0] == '\0')
		return NULL;
	if (s[0] == '"')
		snprintf(buf, bufsize, "%s", s);
	else
		snprintf(buf, bufsize, "\"%s\"", s);
	return buf;
}

static int
delete_item(json_t *item, struct rc_hub_device **out, struct hub_err *e)
{
	const char *id = json_string_value(json_object_get(item, "id"));

	*out = NULL;
	if (id == NULL || !rc_hub_device_id_valid(id))
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "id is missing or not a valid device ID");
	if ((*out = rc_hub_device_new()) == NULL ||
	    ((*out)->device_id = rc_strdup(id)) == NULL)
		return hub_err_set(e, RC_ENOMEM, 500, HUB_E_INTERNAL,
		    "out of memory");
	return RC_OK;
}

static int
bulk_one(struct hub_req *r, json_t *item, struct hub_err *e)
{
	struct rc_hub_device *in = NULL, *out = NULL;
	const char *im = NULL;
	char etag[256];
	int rc, mode;

	if (!json_is_object(item))
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "each item must be an object");
	if ((mode = mode_of(
	         json_string_value(json_object_get(item, "importMode")))) < 0)
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "importMode must be create, update, updateIfMatchETag, "
		    "delete or deleteIfMatchETag");
	/*
	 * A delete needs only the ID: the SDK's removeDevices also sends the
	 * "sas" authentication it adds to any device without one (§4.1).
	 */
	if (mode == M_DELETE || mode == M_DELETE_ETAG)
		rc = delete_item(item, &in, e);
	else
		rc = hub_device_from_json(r->hs, item, NULL, "id", &in, e);
	if (rc != RC_OK)
		return rc;
	if (mode == M_UPDATE_ETAG || mode == M_DELETE_ETAG) {
		if ((im = item_etag(item, etag, sizeof(etag))) == NULL)
			rc = hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
			    "%s needs an eTag", mode_names[mode]);
	} else if (mode != M_CREATE)
		im = "*";
	if (rc == RC_OK && (mode == M_DELETE || mode == M_DELETE_ETAG))
		rc = device_delete(r, in->device_id, im, e);
	else if (rc == RC_OK)
		rc = device_put(r, in, im, &out, e);
	rc_hub_device_free(in);
	rc_hub_device_free(out);
	return rc;
}

static int
bulk_error(json_t *errors, json_t *item, const struct hub_err *e)
{
	const char *id = json_string_value(json_object_get(item, "id"));

	return json_array_append_new(errors,
	    json_pack("{s:s?, s:s, s:s}", "deviceId", id, "errorCode", e->code,
	        "errorStatus", e->msg));
}

/*
 * POST /devices: each item is applied on its own (IoT Hub's bulk is not
 * one transaction either); failures are listed in errors[] and the answer
 * is 200 either way, so the SDK hands the result to the caller.
 */
static void
do_bulk(struct hub_req *r)
{
	json_t *body = NULL, *errors = NULL, *item, *res = NULL;
	struct hub_err e;
	size_t i;
	int rc;

	if (!hub_need(r, RC_RIGHT_REGISTRY_WRITE))
		return;
	rc = hub_body_json(r, &body, &e);
	if (rc == RC_OK &&
	    (!json_is_array(body) || json_array_size(body) == 0 ||
	        json_array_size(body) > HUB_BULK_MAX))
		rc = hub_err_set(&e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "the body must be an array of 1 to %d devices",
		    HUB_BULK_MAX);
	else if (rc == RC_ENOENT)
		rc = hub_err_set(&e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "the body must be an array of devices");
	if (rc == RC_OK && (errors = json_array()) == NULL)
		rc = hub_err_set(&e, RC_ENOMEM, 500, HUB_E_INTERNAL,
		    "no memory");
	json_array_foreach(rc == RC_OK ? body : NULL, i, item)
	{
		if (bulk_one(r, item, &e) != RC_OK &&
		    bulk_error(errors, item, &e) != 0) {
			rc = hub_err_set(&e, RC_ENOMEM, 500, HUB_E_INTERNAL,
			    "no memory");
			break;
		}
	}
	if (rc == RC_OK &&
	    (res = json_pack("{s:b, s:O, s:[]}", "isSuccessful",
	         json_array_size(errors) == 0, "errors", errors, "warnings")) ==
	        NULL)
		rc = hub_err_set(&e, RC_ENOMEM, 500, HUB_E_INTERNAL,
		    "no memory");
	if (rc != RC_OK)
		hub_reply_err(r, &e);
	else
		hub_reply_json(r, 200, res);
	json_decref(res);
	json_decref(errors);
	json_decref(body);
}

void
hub_devices(struct hub_req *r)
{
	enum rc_http_method m = r->http->method;

	if (r->nsegs == 1) {
		if (m == RC_HTTP_GET)
			do_list(r);
		else if (m == RC_HTTP_POST)
			do_bulk(r);
		else
			hub_reply_method(r, "GET, POST");
		return;
	}
	if (r->nsegs != 2) {
		hub_reply_error(r, 404, HUB_E_NOT_FOUND, "no such path");
		return;
	}
	if (m == RC_HTTP_GET)
		do_get(r, r->segs[1]);
	else if (m == RC_HTTP_PUT)
		do_put(r, r->segs[1]);
	else if (m == RC_HTTP_DELETE)
		do_delete(r, r->segs[1]);
	else
		hub_reply_method(r, "GET, PUT, DELETE");
}
