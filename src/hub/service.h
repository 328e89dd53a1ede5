/*
 * The IoT Hub service API of rollcalld (what the unmodified npm
 * azure-iothub Registry, Client and JobClient call;
 * reference/azure-service-api.md §1 and §4, docs/api.md "Hub service
 * API").  One struct hub_service serves one named hub: device identities,
 * twins, the twin query, direct methods, jobs v2 and the telemetry log.
 *
 * The daemon asks hub_service_match() whether a request belongs to this
 * hub (its path's first segment is devices, twins, jobs or events, and its
 * Host is the hub's host name), authenticates it with the hub's policies
 * and hands it with the principal to hub_service_handle().
 *
 * Live device sessions (MQTT) are reached through struct hub_session_ops,
 * filled by whoever runs them; without it every device is Disconnected and
 * a direct method answers 404 DeviceNotOnline.
 */
#ifndef ROLLCALL_HUB_SERVICE_H
#define ROLLCALL_HUB_SERVICE_H

#include <stddef.h>

#include <jansson.h>

#include "hub/auth.h"
#include "rollcall/err.h"
#include "rollcall/http.h"
#include "rollcall/policy.h"
#include "rollcall/store.h"

/*
 * The end of a direct method call.  rc RC_OK: the device answered with
 * status and payload_json (JSON text, borrowed for the call; "null" when
 * the device sent nothing); RC_ENOENT: the device went offline before it
 * answered; RC_EEXPIRED: no answer within the timeout; any other code: the
 * call failed.
 */
typedef void hub_service_method_done_fn(void *cb_arg, int rc, int status,
    const char *payload_json);

/*
 * What the service needs from the device session layer.  Every member may
 * be NULL; arg is passed back to each.
 */
struct hub_session_ops {
	void *arg;
	/* 1 if the device has a live session now. */
	int (*connected)(void *arg, const char *device_id);
	/*
	 * Sends a method request to the device and returns at once; done is
	 * called exactly once later (from any thread) unless this returns
	 * an error: RC_ENOENT when the device is not connected.
	 */
	int (*method_invoke)(void *arg, const char *device_id,
	    const char *method, const char *payload_json, int timeout_s,
	    hub_service_method_done_fn *done, void *cb_arg);
	/* desired (borrowed) is the whole desired section after a change. */
	void (*desired_push)(void *arg, const char *device_id,
	    const json_t *desired, long long version);
	/* The device's identity changed or is gone: recheck live sessions. */
	void (*credentials_changed)(void *arg, const char *device_id);
};

/*
 * hub and host are copied.  cache and ops are borrowed and must outlive
 * the service; cache is the hub's credential cache (every registry write
 * goes through it, so a CONNECT sees the change at once).  max_body is the
 * request body cap (0: 1 MiB).
 */
struct hub_service_config {
	const char *hub;
	const char *host;
	struct hub_auth_cache *cache;
	const struct hub_session_ops *ops;
	size_t max_body;
	/* Telemetry kept by GET /events long-polls: none needed here. */
};

struct hub_service;

/*
 * A service over store (borrowed).  Starts the job runner thread.
 * RC_EINVAL for a missing hub, host or cache.  Free with hub_service_free
 * (which stops the runner).
 */
RC_MUST_CHECK int hub_service_new(const struct hub_service_config *,
    struct rc_store *, struct hub_service **out);
/* NULL-safe. */
void hub_service_free(struct hub_service *);

/* 1 if the path is the hub API's (devices, twins, jobs, events). */
int hub_service_path_match(const struct rc_http_req *);
/* 1 if hub_service_path_match and the Host is this hub's host name. */
int hub_service_match(const struct hub_service *, const struct rc_http_req *);
/*
 * 1 if answering the request may wait on something other than the store:
 * a direct method call (the device's answer) or a GET /events long-poll.
 * The daemon answers those off its event loops, which must stay free to
 * carry the very device traffic such a request waits for.
 */
int hub_service_may_wait(const struct rc_http_req *);

/*
 * Answers one request from an authenticated principal (who may be NULL:
 * 401).  resp must have been set up with rc_http_resp_init; it is always
 * filled.  Safe to call from several threads at once.  A direct method
 * call blocks the calling thread until the device answers or the timeout
 * passes (at most 300 s).
 */
void hub_service_handle(struct hub_service *, const struct rc_http_req *,
    const struct rc_principal *, struct rc_http_resp *);

/* The 401 answer for a request that failed authentication. */
void hub_service_unauthorized(struct rc_http_resp *, const char *message);

/* Wakes the GET /events long-polls of this hub (a telemetry append). */
void hub_service_events_notify(struct hub_service *);

#endif
