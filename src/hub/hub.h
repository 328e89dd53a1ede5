/*
 * The hub role (issue 4; DESIGN.md §2 S5, S9; §5): a named IoT hub with
 * its device registry (in the store), its credential cache, its verified
 * CAs and its live MQTT sessions.
 *
 * Threads: sessions run on the worker that accepted their connection;
 * the service-side calls below may come from any thread.  A session is
 * only ever written to and closed by its own worker: other threads queue
 * bytes or a close through the session's struct hub_session_io, always
 * while holding the hub's lock, and a session leaves the hub's table
 * (hub_session_closed) under that lock before its memory can go, so no
 * thread queues work for a session that is gone.
 *
 * A housekeeping thread per hub wakes every HUB_TICK_MS: it fails method
 * invocations whose time is up, and re-checks the credentials of every
 * live session whose cache generation moved (hub_auth_still_valid), closing
 * those whose certificate no longer passes (seed rule S9: within one
 * second of the registry write).
 */
#ifndef ROLLCALL_HUB_HUB_H
#define ROLLCALL_HUB_HUB_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "hub/auth.h"
#include "rollcall/buf.h"
#include "rollcall/err.h"
#include "rollcall/mqtt.h"
#include "rollcall/store.h"

struct hub;
struct hub_session;

/* Events kept per hub unless the config says otherwise. */
#define HUB_EVENT_RETAIN_DEFAULT 100000
/* The housekeeping period; S9 asks for one second at most. */
#define HUB_TICK_MS 250
/* IoT Hub's cap on the server side keepalive timeout (azure-device-wire §6.1). */
#define HUB_KEEPALIVE_CAP_S 1767

struct hub_config {
	const char *name;
	const char *const *hostnames; /* names a CONNECT may carry */
	size_t nhostnames;
	size_t event_retain; /* 0: HUB_EVENT_RETAIN_DEFAULT */
};

/*
 * A hub over store: loads the credential cache and the verified CAs and
 * starts its housekeeping thread.  The caller frees it with hub_free
 * after every session is gone (the workers are stopped).
 */
RC_MUST_CHECK int hub_new(const struct hub_config *, struct rc_store *,
    struct hub **out);
/* NULL-safe. */
void hub_free(struct hub *);
const char *hub_name(const struct hub *);
/* 1 if host (any case, without a port) is one of the hub's names. */
int hub_has_host(const struct hub *, const char *host);
/*
 * The hub's credential cache: registry writers go through
 * hub_auth_store_put / hub_auth_store_delete with it, then call
 * hub_credentials_changed.
 */
struct hub_auth_cache *hub_get0_auth(struct hub *);
struct rc_store *hub_get0_store(struct hub *);

/*
 * Service side (the hub service API, jobs, the CLI through it).  All are
 * thread-safe.
 *
 * hub_method_invoke publishes "$iothub/methods/POST/{method}/?$rid={rid}"
 * with payload_json ("null" when the caller has none: azure-device-wire
 * §6.5) to the device's live session.  RC_ENOENT if the device is not
 * connected or has not subscribed to methods; RC_EINVAL for a method name
 * that cannot be a topic level or a timeout outside 1..3600.  After RC_OK,
 * done is called exactly once, from some hub thread, never from inside
 * hub_method_invoke: status is the device's status with its payload, or
 * 504 (payload NULL) when timeout_s passed, or -1 (payload NULL) when the
 * session closed first.  payload is valid during the call only.
 */
typedef void (*hub_method_done_fn)(void *arg, int status, const char *payload,
    size_t len);
RC_MUST_CHECK int hub_method_invoke(struct hub *, const char *device_id,
    const char *method, const char *payload_json, int timeout_s,
    hub_method_done_fn done, void *arg);
/*
 * Sends a cloud-to-device message at QoS 1 on
 * "devices/{id}/messages/devicebound/{props_bag}" (props_bag already
 * percent-encoded, system properties as "%24.mid"..., may be "" or NULL).
 * RC_ENOENT if the device is not connected or not subscribed.  Delivery
 * is at most once: a message is not kept for a device that reconnects.
 */
RC_MUST_CHECK int hub_c2d_send(struct hub *, const char *device_id,
    const char *props_bag, const void *body, size_t len);
/*
 * Pushes a desired-properties patch ("$iothub/twin/PATCH/properties/
 * desired/?$version={version}", the patch carrying "$version" too).
 * RC_ENOENT if the device is not connected or not subscribed.
 */
RC_MUST_CHECK int hub_desired_push(struct hub *, const char *device_id,
    const char *patch_json, int64_t version);
/* 1 (and *since, Unix seconds, if non-NULL) if connected, else 0. */
int hub_device_connected(struct hub *, const char *device_id, int64_t *since);
/*
 * After a registry write of device_id (through hub_auth_store_put or
 * _delete): re-checks its live session at once instead of at the next
 * tick, closing it if its certificate no longer passes.
 */
void hub_credentials_changed(struct hub *, const char *device_id);

/*
 * Session side (the daemon's MQTT connections).
 *
 * The daemon implements struct hub_session_io for the worker that owns a
 * session: post() queues a copy of the len bytes to be written, or (data
 * NULL) a close, and must be callable from any thread; the daemon runs it
 * later on the owning worker.  It takes its own reference to the session
 * (hub_session_ref) for as long as the work is queued.
 */
struct hub_session_io {
	void (*post)(void *arg, struct hub_session *, const void *data,
	    size_t len, const char *close_why);
	/*
	 * Optional (NULL: the session stores each event itself), called on
	 * the owning worker while a packet is handled: takes a copy of a
	 * telemetry event to store together with others in one transaction
	 * (rc_store_hub_event_append_batch) into store with retain, then
	 * sends the PUBACK for packet_id when qos is 1, or closes the
	 * connection if the store fails.  RC_OK: taken, the session sends
	 * nothing now; otherwise the session stores the event itself.
	 */
	int (*event)(void *arg, struct hub_session *, struct rc_store *store,
	    size_t retain, const struct rc_hub_event *, int qos,
	    uint16_t packet_id);
};

/*
 * TLS facts of a new connection: the peer's leaf and the intermediates it
 * sent (both may be NULL; the session takes its own references), the SNI
 * name (may be NULL), the peer address for logs.
 */
struct hub_session_tls {
	X509 *leaf;
	STACK_OF(X509) *chain;
	const char *sni;
	const char *peer;
};

/*
 * A session for a connection that has not sent CONNECT yet, routed later
 * among hubs[0..nhubs).  One reference, the caller's.  NULL if out of
 * memory.
 */
struct hub_session *hub_session_new(struct hub *const *hubs, size_t nhubs,
    const struct hub_session_tls *, const struct hub_session_io *,
    void *io_arg);
void hub_session_ref(struct hub_session *);
/* Drops a reference; the last one frees the session. */
void hub_session_unref(struct hub_session *);
/* The worker's handle of its connection (worker thread only). */
void hub_session_set_conn(struct hub_session *, void *conn);
void *hub_session_get0_conn(struct hub_session *);
/* Keepalive timeout in seconds after CONNECT (1.5 x, capped); 0 before. */
int hub_session_timeout(const struct hub_session *);

/*
 * Handles one framed packet (rc_mqtt_frame said RC_OK for exactly len
 * bytes), appending the answers to out.  RC_OK: carry on.  Anything else:
 * write what out holds, then close the connection (the refusal is
 * logged).  Worker thread only.
 */
RC_MUST_CHECK int hub_session_packet(struct hub_session *,
    const struct rc_mqtt_fixed *hdr, const uint8_t *pkt, size_t len,
    struct rc_wbuf *out);
/*
 * The connection is gone: leaves the hub's table, fails the session's
 * method invocations.  Worker thread; then drop the worker's reference.
 */
void hub_session_closed(struct hub_session *);

#endif
