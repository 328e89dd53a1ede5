/*
 * Text encodings of binary data: base64 (RFC 4648 §4) and hex.
 */
#ifndef ROLLCALL_ENC_H
#define ROLLCALL_ENC_H

#include <stddef.h>
#include <stdint.h>

#include "rollcall/err.h"

/*
 * Decodes base64.  ASCII whitespace between characters is skipped (PEM
 * bodies and pasted certificates are wrapped); anything else outside the
 * alphabet, misplaced '=' padding, or a length that is not a multiple of
 * four is RC_EPARSE.  Output longer than max is RC_ETOOBIG.  *out (caller
 * frees with rc_free) and *outlen are set on success only.
 */
RC_MUST_CHECK int rc_b64_decode(const char *in, size_t inlen, size_t max,
    uint8_t **out, size_t *outlen);

/* Encodes n bytes; *out is a NUL-terminated string the caller frees. */
RC_MUST_CHECK int rc_b64_encode(const void *in, size_t n, char **out);

/*
 * Upper-case hex without separators, written to out (which must hold
 * 2 * n + 1 bytes).  Returns RC_ETOOBIG if it does not.
 */
RC_MUST_CHECK int rc_hex_upper(const void *in, size_t n, char *out,
    size_t outsize);

/*
 * Parses a decimal integer in [min, max] (OpenBSD strtonum): no sign unless
 * min < 0, no trailing garbage, no empty string.  RC_ERANGE or RC_EPARSE.
 */
RC_MUST_CHECK int rc_strtonum(const char *s, long long min, long long max,
    long long *out);

#endif
