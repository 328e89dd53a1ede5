/*
 * Shared pieces of the hub commands (device, twin, method, job, events):
 * one request to the hub service API (docs/api.md "Hub service API") and
 * the label/value printing of single objects.
 */
#ifndef ROLLCALL_CLI_HUB_H
#define ROLLCALL_CLI_HUB_H

#include <jansson.h>

#include "client.h"

/*
 * Opens a client for co, sends method prefix+ID+suffix (ID percent-encoded;
 * id NULL: prefix alone) with body and If-Match, and on a 2xx answer sets
 * *out to its JSON (NULL when there is none; caller decrefs) and *etag
 * (when etag is not NULL; caller frees with rc_free).  Prints what is
 * wrong; CLI_OK, CLI_FAIL or CLI_USAGE.
 */
int hub_call(const struct client_opts *co, const char *method,
    const char *prefix, const char *id, const char *suffix, json_t *body,
    const char *if_match, json_t **out, char **etag);

/* As hub_call on an open client; *status gets the HTTP status. */
int hub_call_on(struct client *cl, const char *method, const char *prefix,
    const char *id, const char *suffix, json_t *body, const char *if_match,
    json_t **out, long *status);

/*
 * Prints "label   value" for obj[key]: a string, a number, a boolean, or
 * compact JSON for anything else; "-" when absent or null.
 */
void hub_field(const char *label, json_t *obj, const char *key);

/*
 * Parses a JSON option value (--payload, --desired, --tags): any JSON
 * value; objects only when object is set.  CLI_USAGE (printed) if not.
 */
int hub_json_arg(const char *usage, const char *opt, const char *val,
    int object, json_t **out);

/*
 * 1 if s is a certificate thumbprint the hub takes: 40 (SHA-1) or 64
 * (SHA-256) hex digits.
 */
int hub_thumbprint_ok(const char *s);

/*
 * The error name of a hub error body {"Message":"ErrorCode:Name;text"}
 * into out (NUL-terminated, at most outsize - 1 characters of [A-Za-z0-9]);
 * 0 if the body has none (then out is "").
 */
int hub_error_code(const char *body, size_t len, char *out, size_t outsize);

#endif
