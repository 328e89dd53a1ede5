/*
 * The wire shapes of the hub service API: Device and Twin objects out,
 * Device bodies in (reference/azure-service-api.md §4.1, §4.4).
 *
 * Device body accepted (read-only fields such as etag, generationId and
 * connectionState are ignored, unknown fields too):
 *	deviceId	must equal the path's ID (case-sensitive) when both given
 *	status		"enabled" | "disabled" (absent: enabled)
 *	statusReason	string <= 128 bytes, or null
 *	authentication	{type, x509Thumbprint{primaryThumbprint,
 *			secondaryThumbprint}, symmetricKey}
 *			type selfSigned | certificateAuthority | none; absent
 *			with thumbprints: selfSigned (the SDK's rule).  sas and
 *			any non-empty symmetric key are refused: rollcall hubs
 *			authenticate devices by X.509 only.
 *	capabilities	{iotEdge: bool}
 * Thumbprints are 40 (SHA-1) or 64 (SHA-256) hex digits, "" or null for
 * none; selfSigned needs at least one, the other types none.
 */
#include <string.h>

#include "rollcall/json.h"
#include "rollcall/mem.h"
#include "service_impl.h"

static const char *
auth_name(enum rc_hub_auth a)
{
	switch (a) {
	case RC_HUB_AUTH_SELF_SIGNED:
		return "selfSigned";
	case RC_HUB_AUTH_CA:
		return "certificateAuthority";
	case RC_HUB_AUTH_NONE:
	default:
		return "none";
	}
}

static json_t *
thumb_json(const char *t)
{
	return t[0] != '\0' ? json_string(t) : json_null();
}

static json_t *
authentication_json(const struct rc_hub_device *d)
{
	return json_pack("{s:{s:n, s:n}, s:{s:o, s:o}, s:s}", "symmetricKey",
	    "primaryKey", "secondaryKey", "x509Thumbprint", "primaryThumbprint",
	    thumb_json(d->primary_thumb), "secondaryThumbprint",
	    thumb_json(d->secondary_thumb), "type", auth_name(d->auth));
}

int
hub_device_to_json(struct hub_service *hs, const struct rc_hub_device *d,
    json_t **out)
{
	json_t *j;

	*out = NULL;
	/* §4.1: deviceId is required by the SDK, or it throws. */
	j = json_pack("{s:s, s:s, s:o, s:s, s:o, s:s, s:o, s:o, s:o, s:o, "
	              "s:i, s:{s:b}}",
	    "deviceId", d->device_id, "generationId", d->generation_id, "etag",
	    hub_etag_json(d->etag), "connectionState",
	    hub_connected(hs, d->device_id) ? "Connected" : "Disconnected",
	    "connectionStateUpdatedTime", hub_time_json(d->last_activity),
	    "status", d->enabled ? "enabled" : "disabled", "statusReason",
	    d->status_reason != NULL ? json_string(d->status_reason)
	                             : json_null(),
	    "statusUpdatedTime", hub_time_json(d->updated), "lastActivityTime",
	    hub_time_json(d->last_activity), "authentication",
	    authentication_json(d), "cloudToDeviceMessageCount", 0,
	    "capabilities", "iotEdge", d->capabilities_iot_edge != 0);
	if (j == NULL)
		return RC_ENOMEM;
	*out = j;
	return RC_OK;
}

/* A section with its "$version", as the wire shows it. */
static json_t *
section_json(const json_t *sec, int64_t version)
{
	json_t *j;

	if ((j = json_deep_copy(sec)) == NULL)
		return NULL;
	if (json_object_set_new(j, "$version", json_integer(version)) != 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

int
hub_twin_to_json(struct hub_service *hs, const struct rc_hub_device *d,
    json_t **out)
{
	json_t *j;

	*out = NULL;
	/* §4.4: the SDK's nextAsTwin needs deviceId. */
	j = json_pack("{s:s, s:o, s:o, s:I, s:s, s:o, s:o, s:s, s:o, s:i, "
	              "s:s, s:{s:o, s:o}, s:{s:b}, s:o, s:{s:o, s:o}}",
	    "deviceId", d->device_id, "etag", hub_etag_json(d->twin_etag),
	    "deviceEtag", hub_etag_json(d->etag), "version",
	    (json_int_t)d->twin_version, "status",
	    d->enabled ? "enabled" : "disabled", "statusReason",
	    d->status_reason != NULL ? json_string(d->status_reason)
	                             : json_null(),
	    "statusUpdateTime", hub_time_json(d->updated), "connectionState",
	    hub_connected(hs, d->device_id) ? "Connected" : "Disconnected",
	    "lastActivityTime", hub_time_json(d->last_activity),
	    "cloudToDeviceMessageCount", 0, "authenticationType",
	    auth_name(d->auth), "x509Thumbprint", "primaryThumbprint",
	    thumb_json(d->primary_thumb), "secondaryThumbprint",
	    thumb_json(d->secondary_thumb), "capabilities", "iotEdge",
	    d->capabilities_iot_edge != 0, "tags", json_deep_copy(d->tags),
	    "properties", "desired",
	    section_json(d->desired, d->desired_version), "reported",
	    section_json(d->reported, d->reported_version));
	if (j == NULL)
		return RC_ENOMEM;
	*out = j;
	return RC_OK;
}

static int
hex_len_ok(const char *s)
{
	size_t n = strlen(s);

	if (n != 40 && n != 64)
		return 0;
	return strspn(s, "0123456789abcdefABCDEF") == n;
}

/* One thumbprint field: absent, null or "" is none. */
static int
thumb_in(json_t *x5, const char *key, char out[65], struct hub_err *e)
{
	json_t *v = x5 != NULL ? json_object_get(x5, key) : NULL;
	const char *s;

	out[0] = '\0';
	if (v == NULL || json_is_null(v))
		return RC_OK;
	if ((s = json_string_value(v)) == NULL)
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "x509Thumbprint.%s must be a string", key);
	if (s[0] == '\0')
		return RC_OK;
	if (!hex_len_ok(s))
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "x509Thumbprint.%s must be 40 (SHA-1) or 64 (SHA-256) "
		    "hex digits",
		    key);
	memcpy(out, s, strlen(s) + 1);
	return RC_OK;
}

/* A symmetric key given at all makes this a SAS identity. */
static int
has_symmetric_key(json_t *auth)
{
	json_t *sk = json_object_get(auth, "symmetricKey");
	const char *p, *s;

	if (!json_is_object(sk))
		return 0;
	p = json_string_value(json_object_get(sk, "primaryKey"));
	s = json_string_value(json_object_get(sk, "secondaryKey"));
	return (p != NULL && p[0] != '\0') || (s != NULL && s[0] != '\0');
}

static int
auth_type_in(json_t *auth, struct rc_hub_device *d, struct hub_err *e)
{
	json_t *tv = json_object_get(auth, "type");
	const char *t = json_string_value(tv);

	if (tv != NULL && !json_is_null(tv) && t == NULL)
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "authentication.type must be a string");
	if (t == NULL)
		d->auth =
		    d->primary_thumb[0] != '\0' || d->secondary_thumb[0] != '\0'
		    ? RC_HUB_AUTH_SELF_SIGNED
		    : RC_HUB_AUTH_NONE;
	else if (strcmp(t, "selfSigned") == 0)
		d->auth = RC_HUB_AUTH_SELF_SIGNED;
	else if (strcmp(t, "certificateAuthority") == 0)
		d->auth = RC_HUB_AUTH_CA;
	else if (strcmp(t, "none") == 0)
		d->auth = RC_HUB_AUTH_NONE;
	else if (strcmp(t, "sas") == 0)
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "authentication type 'sas' is not supported: this hub "
		    "authenticates devices by X.509 only (use selfSigned with "
		    "thumbprints, or certificateAuthority)");
	else
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "unknown authentication type '%.64s'", t);
	return RC_OK;
}

static int
auth_in(json_t *body, struct rc_hub_device *d, struct hub_err *e)
{
	json_t *auth = json_object_get(body, "authentication"), *x5;
	int rc, thumbs;

	d->auth = RC_HUB_AUTH_NONE;
	if (auth == NULL || json_is_null(auth))
		return RC_OK;
	if (!json_is_object(auth))
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "authentication must be an object");
	if (has_symmetric_key(auth))
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "symmetric keys are not supported: this hub authenticates "
		    "devices by X.509 only");
	x5 = json_object_get(auth, "x509Thumbprint");
	if (x5 != NULL && !json_is_null(x5) && !json_is_object(x5))
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "x509Thumbprint must be an object");
	if ((rc = thumb_in(x5, "primaryThumbprint", d->primary_thumb, e)) !=
	        RC_OK ||
	    (rc = thumb_in(x5, "secondaryThumbprint", d->secondary_thumb, e)) !=
	        RC_OK ||
	    (rc = auth_type_in(auth, d, e)) != RC_OK)
		return rc;
	thumbs = d->primary_thumb[0] != '\0' || d->secondary_thumb[0] != '\0';
	if (d->auth == RC_HUB_AUTH_SELF_SIGNED && !thumbs)
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "a selfSigned device needs a primary or secondary "
		    "thumbprint");
	if (d->auth != RC_HUB_AUTH_SELF_SIGNED && thumbs)
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "thumbprints are only for selfSigned devices");
	return RC_OK;
}

static int
status_in(json_t *body, struct rc_hub_device *d, struct hub_err *e)
{
	json_t *v = json_object_get(body, "status");
	const char *s = json_string_value(v);

	d->enabled = 1;
	if (v != NULL && !json_is_null(v)) {
		if (s != NULL && strcmp(s, "disabled") == 0)
			d->enabled = 0;
		else if (s == NULL || strcmp(s, "enabled") != 0)
			return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
			    "status must be \"enabled\" or \"disabled\"");
	}
	v = json_object_get(body, "statusReason");
	if (v == NULL || json_is_null(v))
		return RC_OK;
	if ((s = json_string_value(v)) == NULL ||
	    strlen(s) > RC_HUB_MAX_STATUS_REASON)
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "statusReason must be a string of at most %d bytes",
		    RC_HUB_MAX_STATUS_REASON);
	if ((d->status_reason = rc_strdup(s)) == NULL)
		return hub_err_set(e, RC_ENOMEM, 500, HUB_E_INTERNAL,
		    "out of memory");
	return RC_OK;
}

static int
capabilities_in(json_t *body, struct rc_hub_device *d, struct hub_err *e)
{
	json_t *c = json_object_get(body, "capabilities"), *v;

	if (c == NULL || json_is_null(c))
		return RC_OK;
	v = json_is_object(c) ? json_object_get(c, "iotEdge") : NULL;
	if (!json_is_object(c) || (v != NULL && !json_is_boolean(v)))
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "capabilities must be {\"iotEdge\": true|false}");
	d->capabilities_iot_edge = json_is_true(v);
	return RC_OK;
}

static int
id_in(json_t *body, const char *path_id, const char *id_key, const char **id,
    struct hub_err *e)
{
	json_t *v = json_object_get(body, id_key);
	const char *s = json_string_value(v);

	*id = path_id;
	if (v != NULL && s == NULL)
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "%s must be a string", id_key);
	if (s != NULL && path_id != NULL && strcmp(s, path_id) != 0)
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "%s '%.128s' in the body does not match the path's '%s'",
		    id_key, s, path_id);
	if (s != NULL)
		*id = s;
	if (*id == NULL)
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "%s is missing", id_key);
	if (!rc_hub_device_id_valid(*id))
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "'%.128s' is not a valid device ID (1..128 of letters, "
		    "digits and -.+%%_#*?!(),:=@$')",
		    *id);
	return RC_OK;
}

int
hub_device_from_json(struct hub_service *hs, json_t *body, const char *path_id,
    const char *id_key, struct rc_hub_device **out, struct hub_err *e)
{
	struct rc_hub_device *d = NULL;
	const char *id;
	int rc;

	*out = NULL;
	if (!json_is_object(body))
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "the device must be a JSON object");
	if ((rc = id_in(body, path_id, id_key, &id, e)) != RC_OK)
		return rc;
	if ((d = rc_hub_device_new()) == NULL ||
	    (d->hub = rc_strdup(hs->hub)) == NULL ||
	    (d->device_id = rc_strdup(id)) == NULL) {
		rc = hub_err_set(e, RC_ENOMEM, 500, HUB_E_INTERNAL,
		    "out of memory");
		goto out;
	}
	if ((rc = auth_in(body, d, e)) != RC_OK ||
	    (rc = status_in(body, d, e)) != RC_OK ||
	    (rc = capabilities_in(body, d, e)) != RC_OK)
		goto out;
	*out = d;
	d = NULL;
out:
	rc_hub_device_free(d);
	return rc;
}
