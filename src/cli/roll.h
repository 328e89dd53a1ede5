/*
 * What the rolling playbooks (`rollcall roll`, `disallow`, `reissue`,
 * `report`) share: certificate slots of an enrollment, the hub a device
 * was assigned to, the blocklist.  Everything goes through the public
 * service APIs (docs/api.md), as any back end would.
 */
#ifndef ROLLCALL_CLI_ROLL_H
#define ROLLCALL_CLI_ROLL_H

#include <jansson.h>

#include "client.h"

/* The SHA-256 thumbprint (upper-case hex) of a certificate file. */
int roll_cert_sha256(const char *path, char out[65]);

/*
 * GET prefix+ID (an enrollment or group): its document and ETag on 200;
 * *doc NULL on 404.  Prints what is wrong.
 */
int roll_get(struct client *, const char *prefix, const char *id, json_t **doc,
    char **etag);
/* PUT it back under If-Match etag; 412 is reported as a concurrent edit. */
int roll_put(struct client *, const char *prefix, const char *id, json_t *doc,
    const char *etag);

/*
 * The certificate slots object of an enrollment or group
 * (attestation.x509.<slots>), created when absent; NULL on a document of
 * another shape.
 */
json_t *roll_slots(json_t *doc, const char *slots);
/* The SHA-256 thumbprint stored for slot ("primary", "secondary"), or NULL. */
const char *roll_slot_sha256(json_t *slots, const char *slot);
/* notAfter of the certificate in slot, as stored ("" if unknown). */
const char *roll_slot_not_after(json_t *slots, const char *slot);

/* GET /registrations/ID; *reg NULL when the device never registered. */
int roll_registration(struct client *, const char *id, json_t **reg);

/*
 * A client of the hub whose host name is host: the hubs[] entry of
 * --data's connections.json with that host, else
 * ROLLCALL_HUB_CONNECTION_STRING.  Prints what is wrong.
 */
int roll_hub_open(const struct client_opts *, const char *host,
    struct client **out);
/* The options of such a client; *name (caller frees) backs out->hub. */
int roll_hub_opts(const struct client_opts *, const char *host,
    struct client_opts *out, char **name);

/* PUT /blocklist/{sha256} with the reason (seed rule S9). */
int roll_block(struct client *, const char *sha256, const char *reason);

#endif
