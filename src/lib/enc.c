/*
 * base64 (RFC 4648 §4, standard alphabet, padding required) and hex.
 * The decoder enforces: only alphabet characters and whitespace, padding
 * only at the end of the last quantum, total length a multiple of four
 * after whitespace is dropped.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/buf.h"
#include "rollcall/enc.h"
#include "rollcall/mem.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
b64val(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int
is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	    c == '\v';
}

int
rc_b64_decode(const char *in, size_t inlen, size_t max, uint8_t **out,
    size_t *outlen)
{
	struct rc_wbuf w;
	uint32_t acc = 0;
	size_t i, nq = 0, pad = 0;
	uint8_t c, bytes[3];
	int v, rc;

	*out = NULL;
	*outlen = 0;
	rc_wbuf_init(&w, max);
	/* one allocation up front: decoded keys are never copied by a grow */
	if ((rc = rc_wbuf_reserve(&w,
	         inlen / 4 * 3 < max ? inlen / 4 * 3 : max)) != RC_OK)
		goto out;
	for (i = 0; i < inlen; i++) {
		c = (uint8_t)in[i];
		if (is_space(c))
			continue;
		if (c == '=') {
			/* padding: only the 3rd/4th char of a quantum */
			if (nq < 2) {
				rc = RC_EPARSE;
				goto out;
			}
			pad++;
			v = 0;
		} else {
			if (pad > 0 || (v = b64val(c)) < 0) {
				rc = RC_EPARSE;
				goto out;
			}
		}
		acc = acc << 6 | (uint32_t)v;
		if (++nq < 4)
			continue;
		bytes[0] = (uint8_t)(acc >> 16);
		bytes[1] = (uint8_t)(acc >> 8);
		bytes[2] = (uint8_t)acc;
		if ((rc = rc_wbuf_append(&w, bytes, 3 - pad)) != RC_OK)
			goto out;
		if (pad > 0)
			nq = 5; /* nothing may follow a padded quantum */
		else
			nq = 0;
		acc = 0;
	}
	if (nq != 0 && nq != 5) {
		rc = RC_EPARSE;
		goto out;
	}
	rc = rc_wbuf_detach(&w, (char **)out, outlen);
out:
	rc_wbuf_free_secret(&w);
	return rc;
}

int
rc_b64_encode(const void *in, size_t n, char **out)
{
	const uint8_t *p = in;
	struct rc_wbuf w;
	uint32_t acc;
	size_t i;
	char q[4];
	int rc;

	*out = NULL;
	if (n > (SIZE_MAX / 4) * 3 - 3)
		return RC_ETOOBIG;
	rc_wbuf_init(&w, (n + 2) / 3 * 4);
	for (i = 0; i < n; i += 3) {
		acc = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			acc |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			acc |= p[i + 2];
		q[0] = alphabet[acc >> 18 & 63];
		q[1] = alphabet[acc >> 12 & 63];
		q[2] = i + 1 < n ? alphabet[acc >> 6 & 63] : '=';
		q[3] = i + 2 < n ? alphabet[acc & 63] : '=';
		if ((rc = rc_wbuf_append(&w, q, 4)) != RC_OK)
			goto out;
	}
	rc = rc_wbuf_detach(&w, out, NULL);
out:
	rc_wbuf_free(&w);
	return rc;
}

int
rc_hex_upper(const void *in, size_t n, char *out, size_t outsize)
{
	static const char digits[] = "0123456789ABCDEF";
	const uint8_t *p = in;
	size_t i;

	if (outsize == 0 || n > (outsize - 1) / 2)
		return RC_ETOOBIG;
	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
	return RC_OK;
}

int
rc_strtonum(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	*out = 0;
	if (s == NULL || *s == '\0' || is_space((uint8_t)*s) || *s == '+')
		return RC_EPARSE;
	if (*s == '-' && min >= 0)
		return RC_ERANGE;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0')
		return RC_EPARSE;
	if (errno == ERANGE || v < min || v > max)
		return RC_ERANGE;
	*out = v;
	return RC_OK;
}
