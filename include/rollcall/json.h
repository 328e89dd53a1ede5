/*
 * JSON helpers over jansson: one strict parse for untrusted bodies, typed
 * getters that tell "missing" from "wrong type", setters and a dump.
 *
 * Strict means (RFC 8259 with the choices of an API server): exactly one
 * object or array at the top, nothing but whitespace after it, no
 * duplicate keys (§4 leaves them undefined; we refuse them), valid UTF-8
 * (§8.1), no NUL byte and no \u0000 escape, integers that fit a long long,
 * reals that fit a double, at most RC_JSON_MAX_DEPTH nested arrays and
 * objects, and at most maxlen bytes.
 *
 * Values returned by the get functions are borrowed from obj: they live
 * as long as obj does and are not to be json_decref'ed.
 */
#ifndef ROLLCALL_JSON_H
#define ROLLCALL_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "rollcall/err.h"

#define RC_JSON_MAX_DEPTH 64

/*
 * Routes jansson's allocations through rc_malloc/rc_free, so that the
 * fail-Nth test mode reaches inside the parser and json_dumps output can
 * be freed with rc_free.  Idempotent and thread-safe; the other functions
 * here call it, and a program calls it first thing in main() if it uses
 * jansson directly before any of them.
 */
void rc_json_init(void);

/*
 * Parses len bytes as described above.  On success *out is a new
 * reference the caller json_decref's.  On failure *out is NULL and err
 * gets "line L column C: reason" (L and C as jansson counts them: both
 * from 1, columns in characters); the code is RC_ETOOBIG (over maxlen or
 * too deep), RC_ENOMEM, RC_EINVAL (data NULL) or RC_EPARSE (all else).
 */
RC_MUST_CHECK int rc_json_parse(const char *data, size_t len, size_t maxlen,
    json_t **out, char *err, size_t errlen);

/*
 * Getters.  obj must be an object (else RC_EINVAL).  A member that is
 * absent or JSON null is "missing": RC_ENOENT if required, else RC_OK
 * with the default (NULL, def, or 0).  A member of the wrong type is
 * RC_EPARSE; an integer outside [min, max] is RC_ERANGE (a real, even
 * 2.0, is the wrong type).  *out is cleared on entry.
 */
RC_MUST_CHECK int rc_json_get_str(json_t *obj, const char *key, int required,
    const char **out);
RC_MUST_CHECK int rc_json_get_bool(json_t *obj, const char *key, int required,
    int def, int *out);
RC_MUST_CHECK int rc_json_get_int(json_t *obj, const char *key, int required,
    long long min, long long max, long long *out);
RC_MUST_CHECK int rc_json_get_obj(json_t *obj, const char *key, int required,
    json_t **out);
RC_MUST_CHECK int rc_json_get_arr(json_t *obj, const char *key, int required,
    json_t **out);

/*
 * Setters: add or replace obj[key].  rc_json_set_str copies val, which
 * must be valid UTF-8 without NUL (RC_EINVAL otherwise).  rc_json_set0
 * takes the caller's reference to val whatever the outcome (as
 * json_object_set_new does), so `rc_json_set0(o, "k", json_array())`
 * needs no cleanup; a NULL val is RC_ENOMEM (the constructor failed).
 */
RC_MUST_CHECK int rc_json_set_str(json_t *obj, const char *key,
    const char *val);
RC_MUST_CHECK int rc_json_set_int(json_t *obj, const char *key, long long val);
RC_MUST_CHECK int rc_json_set_bool(json_t *obj, const char *key, int val);
RC_MUST_CHECK int rc_json_set0(json_t *obj, const char *key, json_t *val);

/*
 * Serializes any value: compact (no blanks) or pretty (2-space indent),
 * keys in insertion order, UTF-8 output (not \u-escaped).  *out is
 * NUL-terminated, freed by the caller with rc_free; *len excludes the NUL
 * (len may be NULL).
 */
RC_MUST_CHECK int rc_json_dump(json_t *val, int pretty, char **out,
    size_t *len);

#endif
