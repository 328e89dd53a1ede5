/*
 * Read cursor and capped write buffer; see buf.h for the invariants:
 * a failed read consumes nothing, a failed append changes nothing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "rollcall/buf.h"
#include "rollcall/mem.h"

void
rc_buf_init(struct rc_buf *b, const void *data, size_t len)
{
	b->data = data;
	b->len = data == NULL ? 0 : len;
	b->off = 0;
}

size_t
rc_buf_remaining(const struct rc_buf *b)
{
	return b->len - b->off;
}

const uint8_t *
rc_buf_cur(const struct rc_buf *b)
{
	return b->data + b->off;
}

int
rc_buf_get0_bytes(struct rc_buf *b, size_t n, const uint8_t **out)
{
	*out = NULL;
	if (n > rc_buf_remaining(b))
		return RC_ETRUNC;
	*out = b->data + b->off;
	b->off += n;
	return RC_OK;
}

int
rc_buf_get_bytes(struct rc_buf *b, void *out, size_t n)
{
	const uint8_t *p;
	int rc;

	if ((rc = rc_buf_get0_bytes(b, n, &p)) != RC_OK)
		return rc;
	if (n > 0)
		memcpy(out, p, n);
	return RC_OK;
}

int
rc_buf_skip(struct rc_buf *b, size_t n)
{
	const uint8_t *p;

	return rc_buf_get0_bytes(b, n, &p);
}

int
rc_buf_peek_u8(const struct rc_buf *b, uint8_t *v)
{
	*v = 0;
	if (rc_buf_remaining(b) < 1)
		return RC_ETRUNC;
	*v = b->data[b->off];
	return RC_OK;
}

int
rc_buf_get_u8(struct rc_buf *b, uint8_t *v)
{
	int rc;

	if ((rc = rc_buf_peek_u8(b, v)) != RC_OK)
		return rc;
	b->off++;
	return RC_OK;
}

int
rc_buf_get_u16be(struct rc_buf *b, uint16_t *v)
{
	const uint8_t *p;
	int rc;

	*v = 0;
	if ((rc = rc_buf_get0_bytes(b, 2, &p)) != RC_OK)
		return rc;
	*v = (uint16_t)(p[0] << 8 | p[1]);
	return RC_OK;
}

int
rc_buf_get_u32be(struct rc_buf *b, uint32_t *v)
{
	const uint8_t *p;
	int rc;

	*v = 0;
	if ((rc = rc_buf_get0_bytes(b, 4, &p)) != RC_OK)
		return rc;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
	    (uint32_t)p[3];
	return RC_OK;
}

int
rc_buf_get_sub(struct rc_buf *b, size_t n, struct rc_buf *sub)
{
	const uint8_t *p;
	int rc;

	rc_buf_init(sub, NULL, 0);
	if ((rc = rc_buf_get0_bytes(b, n, &p)) != RC_OK)
		return rc;
	rc_buf_init(sub, p, n);
	return RC_OK;
}

int
rc_buf_get0_until(struct rc_buf *b, uint8_t delim, const uint8_t **out,
    size_t *outlen)
{
	const uint8_t *start, *hit;

	*out = NULL;
	*outlen = 0;
	start = rc_buf_cur(b);
	hit = memchr(start, delim, rc_buf_remaining(b));
	if (hit == NULL)
		return RC_ENOENT;
	*out = start;
	*outlen = (size_t)(hit - start);
	b->off += *outlen + 1;
	return RC_OK;
}

void
rc_wbuf_init(struct rc_wbuf *w, size_t cap)
{
	w->data = NULL;
	w->len = 0;
	w->size = 0;
	w->cap = cap;
}

void
rc_wbuf_free(struct rc_wbuf *w)
{
	rc_free(w->data);
	w->data = NULL;
	w->len = 0;
	w->size = 0;
}

void
rc_wbuf_free_secret(struct rc_wbuf *w)
{
	if (w->data != NULL)
		OPENSSL_cleanse(w->data, w->size);
	rc_wbuf_free(w);
}

void
rc_wbuf_reset(struct rc_wbuf *w)
{
	w->len = 0;
	if (w->data != NULL)
		w->data[0] = '\0';
}

/* Makes room for n more bytes of content plus the terminating NUL. */
int
rc_wbuf_reserve(struct rc_wbuf *w, size_t n)
{
	size_t want, nsize;
	uint8_t *p;

	if (n > w->cap || w->len > w->cap - n)
		return RC_ETOOBIG;
	want = w->len + n + 1;
	if (want <= w->size)
		return RC_OK;
	nsize = w->size < 64 ? 64 : w->size;
	while (nsize < want)
		nsize = nsize > SIZE_MAX / 2 ? want : nsize * 2;
	if (nsize > w->cap + 1)
		nsize = w->cap + 1;
	if ((p = rc_realloc(w->data, nsize)) == NULL)
		return RC_ENOMEM;
	w->data = p;
	w->size = nsize;
	return RC_OK;
}

int
rc_wbuf_append(struct rc_wbuf *w, const void *p, size_t n)
{
	int rc;

	if ((rc = rc_wbuf_reserve(w, n)) != RC_OK)
		return rc;
	if (n > 0)
		memcpy(w->data + w->len, p, n);
	w->len += n;
	w->data[w->len] = '\0';
	return RC_OK;
}

int
rc_wbuf_putc(struct rc_wbuf *w, uint8_t c)
{
	return rc_wbuf_append(w, &c, 1);
}

int
rc_wbuf_puts(struct rc_wbuf *w, const char *s)
{
	return rc_wbuf_append(w, s, strlen(s));
}

int
rc_wbuf_printf(struct rc_wbuf *w, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return RC_EINVAL;
	if ((rc = rc_wbuf_reserve(w, (size_t)n)) != RC_OK)
		return rc;
	va_start(ap, fmt);
	n = vsnprintf((char *)w->data + w->len, w->size - w->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return RC_EINVAL;
	w->len += (size_t)n;
	return RC_OK;
}

int
rc_wbuf_detach(struct rc_wbuf *w, char **out, size_t *len)
{
	int rc;

	*out = NULL;
	if (len != NULL)
		*len = 0;
	if ((rc = rc_wbuf_reserve(w, 0)) != RC_OK)
		return rc;
	w->data[w->len] = '\0';
	*out = (char *)w->data;
	if (len != NULL)
		*len = w->len;
	w->data = NULL;
	w->len = 0;
	w->size = 0;
	return RC_OK;
}
