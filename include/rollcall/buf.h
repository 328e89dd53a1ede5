/*
 * Bounded byte handling (STYLE.md rule 6, after s2n-tls's stuffer).
 *
 * struct rc_buf is a read cursor over bytes the caller owns: every read
 * checks what remains first and fails with RC_ETRUNC, leaving the cursor
 * where it was.  Untrusted bytes are read only through it.
 *
 * struct rc_wbuf is a growable output buffer with a hard cap fixed at init:
 * an append that would pass the cap fails with RC_ETOOBIG and changes
 * nothing.  The data is always NUL-terminated (not counted in len), so a
 * text buffer can be used as a C string.
 */
#ifndef ROLLCALL_BUF_H
#define ROLLCALL_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "rollcall/err.h"

struct rc_buf {
	const uint8_t *data;
	size_t len;
	size_t off;
};

void rc_buf_init(struct rc_buf *, const void *data, size_t len);
size_t rc_buf_remaining(const struct rc_buf *);
/* Borrowed pointer to the unread bytes. */
const uint8_t *rc_buf_cur(const struct rc_buf *);

RC_MUST_CHECK int rc_buf_get_u8(struct rc_buf *, uint8_t *);
RC_MUST_CHECK int rc_buf_get_u16be(struct rc_buf *, uint16_t *);
RC_MUST_CHECK int rc_buf_get_u32be(struct rc_buf *, uint32_t *);
RC_MUST_CHECK int rc_buf_peek_u8(const struct rc_buf *, uint8_t *);
RC_MUST_CHECK int rc_buf_skip(struct rc_buf *, size_t n);
/* Copies n bytes out. */
RC_MUST_CHECK int rc_buf_get_bytes(struct rc_buf *, void *out, size_t n);
/* *out borrows n bytes of the underlying data; nothing is copied. */
RC_MUST_CHECK int rc_buf_get0_bytes(struct rc_buf *, size_t n,
    const uint8_t **out);
/*
 * A sub-cursor over the next n bytes, which the parent skips: how a
 * length-prefixed field is handed to its own parser.
 */
RC_MUST_CHECK int rc_buf_get_sub(struct rc_buf *, size_t n, struct rc_buf *sub);
/*
 * Reads up to (not including) the first occurrence of delim; the delimiter
 * is consumed.  RC_ENOENT if it does not occur: nothing is consumed.
 */
RC_MUST_CHECK int rc_buf_get0_until(struct rc_buf *, uint8_t delim,
    const uint8_t **out, size_t *outlen);

struct rc_wbuf {
	uint8_t *data;
	size_t len;
	size_t size; /* allocated */
	size_t cap; /* never grows past this many bytes of content */
};

void rc_wbuf_init(struct rc_wbuf *, size_t cap);
/* Releases the storage; the buffer can be used again after rc_wbuf_init. */
void rc_wbuf_free(struct rc_wbuf *);
/* Empties without freeing. */
void rc_wbuf_reset(struct rc_wbuf *);
/* Zeroes the content before freeing: for secrets. */
void rc_wbuf_free_secret(struct rc_wbuf *);

/*
 * Makes room for n more bytes now, so later appends up to that size do not
 * move the data (no stray copies of secrets are left behind by realloc).
 */
RC_MUST_CHECK int rc_wbuf_reserve(struct rc_wbuf *, size_t n);
RC_MUST_CHECK int rc_wbuf_append(struct rc_wbuf *, const void *, size_t);
RC_MUST_CHECK int rc_wbuf_putc(struct rc_wbuf *, uint8_t);
RC_MUST_CHECK int rc_wbuf_puts(struct rc_wbuf *, const char *);
RC_MUST_CHECK int rc_wbuf_printf(struct rc_wbuf *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * Hands the content to the caller (who frees it with rc_free) and leaves the
 * buffer empty.  Never NULL on RC_OK, even for empty content.
 */
RC_MUST_CHECK int rc_wbuf_detach(struct rc_wbuf *, char **out, size_t *len);

#endif
