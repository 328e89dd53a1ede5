/*
 * The hub link: how the provisioning service creates and updates device
 * identities and twins in a hub, through the hub's public service API over
 * HTTPS with a SAS token, as any back end does (DESIGN.md §1;
 * reference/azure-service-api.md §1, §4; docs/api.md "Hub service API").
 *
 * A link is made from the hub's service connection string
 * "HostName=<host>[:port];SharedAccessKeyName=<policy>;SharedAccessKey=<b64>"
 * (the policy needs RegistryRead and RegistryWrite).  Every call signs its
 * own token (sr = HostName without the port, as the service SDKs sign it;
 * valid RC_HUBLINK_TOKEN_TTL seconds), opens its own libcurl handle, and
 * verifies the server's certificate for HostName against ca_file (NULL:
 * the system store).  connect_to "addr:port" sends the TCP connection
 * there while the URL, Host header, SNI and certificate check keep
 * HostName (curl's CONNECT_TO): how a hub served on a loopback or internal
 * address is reached under its public name.
 *
 * A link holds no mutable state after rc_hublink_parse, so any number of
 * threads may call it at once; each call opens its own connection (no
 * reuse between calls).  libcurl runs with CURLOPT_NOSIGNAL, so the
 * process must ignore SIGPIPE (rollcalld does); make links before starting
 * threads (rc_hublink_parse calls curl_global_init).  Responses are untrusted: bodies are capped
 * at RC_HUBLINK_MAX_BODY, JSON goes through the strict parser, and the
 * message kept from an error body is bounded and printable.
 *
 * Errors of every call: RC_ENOENT 404, RC_EEXIST 409, RC_ESTALE 412,
 * RC_EAUTH 401/403, RC_EINVAL 400 (or a bad argument), RC_ETOOBIG 413 or
 * a response over the cap, RC_EPARSE a 2xx whose body is not what the API
 * documents, RC_EIO no response (connection, TLS, timeout) or any other
 * status.  When st is not NULL it gets the HTTP status (0: none) and a
 * message for logs and registrationState.errorMessage; it never holds key
 * material.
 */
#ifndef ROLLCALL_HUBLINK_H
#define ROLLCALL_HUBLINK_H

#include <stddef.h>

#include <jansson.h>

#include "rollcall/err.h"

/* Largest response body accepted. */
#define RC_HUBLINK_MAX_BODY (1024 * 1024)
/* Lifetime of each request's SAS token, seconds. */
#define RC_HUBLINK_TOKEN_TTL 300
/* Default whole-request and connect timeouts, seconds. */
#define RC_HUBLINK_TIMEOUT 30
#define RC_HUBLINK_CONNECT_TIMEOUT 10
/* The api-version sent (azure-iothub's, §1.6). */
#define RC_HUBLINK_API_VERSION "2021-04-12"

struct rc_hublink;

struct rc_hublink_status {
	long http_status; /* 0 when no response came back */
	char message[256]; /* printable ASCII; "" when none */
};

/* A device identity as the hub answered it. */
struct rc_hublink_device {
	char device_id[129];
	char auth_type[24]; /* "selfSigned", "certificateAuthority", ... */
	char primary_thumb[65]; /* upper-case hex; "" when none */
	char secondary_thumb[65];
	int enabled;
	char etag[64]; /* without quotes */
	char generation_id[64];
};

/*
 * Parses the connection string and prepares a link.  HostName (letters,
 * digits, ".-_", optionally ":port"), SharedAccessKeyName and
 * SharedAccessKey are required; connect_to, when not NULL, is "host:port"
 * or "[v6]:port" with port 1..65535; ca_file is copied, not read yet.
 * RC_EPARSE (why says which part, never echoing the key), RC_ENOMEM,
 * RC_EIO when libcurl does not initialize.  The caller owns *out
 * (rc_hublink_free).  why may be NULL.
 */
RC_MUST_CHECK int rc_hublink_parse(const char *connstr, const char *connect_to,
    const char *ca_file, struct rc_hublink **out, char *why, size_t whysize);
/* Wipes the key; NULL-safe. */
void rc_hublink_free(struct rc_hublink *);
/* The hub's host name (HostName without the port): the assignedHub. */
const char *rc_hublink_get0_host(const struct rc_hublink *);
/*
 * Changes the whole-request timeout (1..3600 s; the connect timeout is the
 * smaller of it and RC_HUBLINK_CONNECT_TIMEOUT).  Not thread-safe: call
 * before sharing the link.  RC_EINVAL out of range.
 */
RC_MUST_CHECK int rc_hublink_set_timeout(struct rc_hublink *, long seconds);

/* GET /devices/{id}.  *out cleared on entry. */
RC_MUST_CHECK int rc_hublink_device_get(struct rc_hublink *,
    const char *device_id, struct rc_hublink_device *out,
    struct rc_hublink_status *st);

/*
 * Creates or updates a selfSigned identity, status enabled, with primary
 * (required) and secondary (NULL or "" for none) thumbprints (SHA-1, 40 hex
 * digits, or SHA-256, 64; any case).  PUT /devices/{id} without If-Match
 * creates; on 409 the same PUT with If-Match "*" replaces the identity
 * (the twin stays).  A device deleted between the two is created again;
 * the loop stops after three tries (RC_EIO).  *created (may be NULL) is 1
 * when this call made the identity.  *out (may be NULL) is the identity
 * the hub stored.
 */
RC_MUST_CHECK int rc_hublink_device_put(struct rc_hublink *,
    const char *device_id, const char *primary_thumb,
    const char *secondary_thumb, struct rc_hublink_device *out, int *created,
    struct rc_hublink_status *st);

/* DELETE /devices/{id} with If-Match "*".  RC_ENOENT if there was none. */
RC_MUST_CHECK int rc_hublink_device_delete(struct rc_hublink *,
    const char *device_id, struct rc_hublink_status *st);

/* GET /twins/{id}.  *out is the twin object; the caller json_decref's it. */
RC_MUST_CHECK int rc_hublink_twin_get(struct rc_hublink *,
    const char *device_id, json_t **out, struct rc_hublink_status *st);

/*
 * PATCH /twins/{id} with {"tags": tags, "properties": {"desired":
 * desired}}: a JSON merge patch (RFC 7386); either may be NULL, not both.
 * Both must be objects.  Borrowed.  *out (may be NULL) is the twin after
 * the update; the caller json_decref's it.
 */
RC_MUST_CHECK int rc_hublink_twin_patch(struct rc_hublink *,
    const char *device_id, json_t *tags, json_t *desired, json_t **out,
    struct rc_hublink_status *st);

/*
 * PUT /twins/{id}/import (rollcall's extension, docs/api.md "Twin
 * import"): writes tags, properties.desired and properties.reported of
 * twin (borrowed; the shape rc_hublink_twin_get returns, e.g. from the
 * hub a device leaves) into the device's twin, each section present
 * replacing its counterpart whole; read-only members are not sent.  The
 * device must exist.  RC_EINVAL when twin has none of the three sections.
 * *out (may be NULL) is the twin after the import.
 */
RC_MUST_CHECK int rc_hublink_twin_import(struct rc_hublink *,
    const char *device_id, json_t *twin, json_t **out,
    struct rc_hublink_status *st);

/*
 * Pure parts, for tests.  The body rc_hublink_device_put sends (a new
 * object the caller json_decref's); RC_EINVAL for a malformed thumbprint.
 */
RC_MUST_CHECK int rc_hublink_device_body(const char *device_id,
    const char *primary_thumb, const char *secondary_thumb, json_t **out);
/* A Device answer into out; RC_EPARSE when it is not one. */
RC_MUST_CHECK int rc_hublink_device_parse(json_t *j,
    struct rc_hublink_device *out);
/* The body rc_hublink_twin_import sends (a new object). */
RC_MUST_CHECK int rc_hublink_import_body(json_t *twin, json_t **out);

#endif
