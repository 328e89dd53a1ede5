/*
 * The service API's view of the device sessions.  The two sides report a
 * method's end differently (the sessions: the device's status, 504 on
 * timeout, -1 when the session closed first; the service: an RC_* code
 * plus status and NUL-terminated JSON), so each call carries a small bridge
 * that translates once and frees itself.
 */
#include <string.h>

#include "hub/session_ops.h"
#include "rollcall/json.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"

struct bridge {
	hub_service_method_done_fn *done;
	void *cb_arg;
};

static void
bridge_done(void *arg, int status, const char *payload, size_t len)
{
	struct bridge *b = arg;
	char *json = NULL;

	if (status == -1)
		b->done(b->cb_arg, RC_ENOENT, 0, NULL);
	else if (status == 504 && payload == NULL)
		b->done(b->cb_arg, RC_EEXPIRED, 504, NULL);
	else if (len > 0 && (json = rc_strndup(payload, len)) == NULL)
		b->done(b->cb_arg, RC_ENOMEM, 0, NULL);
	else
		b->done(b->cb_arg, RC_OK, status, json != NULL ? json : "null");
	rc_free(json);
	rc_free(b);
}

static int
ops_connected(void *arg, const char *device_id)
{
	return hub_device_connected(arg, device_id, NULL);
}

static int
ops_method_invoke(void *arg, const char *device_id, const char *method,
    const char *payload_json, int timeout_s, hub_service_method_done_fn *done,
    void *cb_arg)
{
	struct bridge *b;
	int rc;

	if ((b = rc_calloc(1, sizeof(*b))) == NULL)
		return RC_ENOMEM;
	b->done = done;
	b->cb_arg = cb_arg;
	rc = hub_method_invoke(arg, device_id, method, payload_json, timeout_s,
	    bridge_done, b);
	if (rc != RC_OK)
		rc_free(b);
	return rc;
}

/*
 * The device gets the whole desired section with its "$version" (a
 * superset of the change: the SDKs merge it into what they hold).
 */
static void
ops_desired_push(void *arg, const char *device_id, const json_t *desired,
    long long version)
{
	json_t *copy;
	char *text = NULL;

	if ((copy = json_deep_copy(desired)) == NULL)
		return;
	/* RC_ENOENT: not connected or not subscribed; it reads the twin later */
	if (json_object_set_new(copy, "$version", json_integer(version)) == 0 &&
	    rc_json_dump(copy, 0, &text, NULL) == RC_OK &&
	    hub_desired_push(arg, device_id, text, version) != RC_OK)
		rc_log_debug("hub: %s: desired $version %lld not pushed",
		    device_id, version);
	rc_free(text);
	json_decref(copy);
}

static void
ops_credentials_changed(void *arg, const char *device_id)
{
	hub_credentials_changed(arg, device_id);
}

void
hub_session_ops_fill(struct hub *h, struct hub_session_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
	ops->arg = h;
	ops->connected = ops_connected;
	ops->method_invoke = ops_method_invoke;
	ops->desired_push = ops_desired_push;
	ops->credentials_changed = ops_credentials_changed;
}
