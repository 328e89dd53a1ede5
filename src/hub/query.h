/*
 * The IoT Hub device query language, the subset rollcall implements
 * (docs/query.md has the grammar and the semantics; reference
 * azure-service-api.md §4.3 and §4.4 the two places it is used):
 *
 *	SELECT * FROM devices [WHERE <condition>]	POST /devices/query
 *	<condition> | *					a job's queryCondition
 *
 * A parsed query is an immutable tree: once built it may be evaluated
 * from several threads at once.  Evaluation allocates nothing.
 */
#ifndef ROLLCALL_HUB_QUERY_H
#define ROLLCALL_HUB_QUERY_H

#include <stddef.h>

#include <jansson.h>

#include "rollcall/err.h"

/* Bounds of a query; one more than any of them is refused. */
#define HUB_QUERY_MAX_TEXT 8192 /* bytes of query text */
#define HUB_QUERY_MAX_DEPTH 32 /* nested '(' and NOT, together */
#define HUB_QUERY_MAX_IN 1000 /* values in one IN or NIN list */
#define HUB_QUERY_MAX_PATH 10 /* names below tags or properties.X */

struct hub_query;

/*
 * Parses a whole query, "SELECT * FROM devices [WHERE ...]", from len
 * bytes of text (no NUL needed, none allowed).  On failure err (if
 * errlen > 0) says where and what was expected, as "column 23: expected
 * a value after '=', found end of input" ("line 2, column 5: ..." once the
 * text has more than one line).  Returns RC_EPARSE for a syntax error,
 * RC_ETOOBIG when a bound above is passed, RC_ENOMEM.  The caller frees
 * *out with hub_query_free.
 */
RC_MUST_CHECK int hub_query_parse(const char *text, size_t len,
    struct hub_query **out, char *err, size_t errlen);

/*
 * The same for a bare condition, as jobs carry it in queryCondition
 * ("deviceId IN ['a','b']"); "*" alone selects every device.
 */
RC_MUST_CHECK int hub_query_parse_condition(const char *text, size_t len,
    struct hub_query **out, char *err, size_t errlen);

/* NULL-safe. */
void hub_query_free(struct hub_query *);

/*
 * Sets *match to 1 if the device satisfies the query, else 0.  device is
 * the twin-shaped JSON object of one device: {"deviceId", "status",
 * "connectionState", ..., "tags": {...}, "properties": {"desired": {...},
 * "reported": {...}}}; it is only read.  RC_EINVAL if it is not an object.
 */
RC_MUST_CHECK int hub_query_eval(const struct hub_query *, const json_t *device,
    int *match);

/*
 * When the condition names its devices outright -- deviceId = 'x',
 * deviceId IN [...], or an OR of those -- sets *ids to the device IDs it
 * can match, sorted bytewise and without repeats, and *n to their count
 * (0 when no listed value is a string), so a caller can look them up
 * instead of scanning.  *ids is borrowed from the query and lives until
 * hub_query_free.  RC_ENOENT for any other condition (then a scan with
 * hub_query_eval is the only way).
 */
RC_MUST_CHECK int hub_query_device_ids(const struct hub_query *,
    const char ***ids, size_t *n);

#endif
