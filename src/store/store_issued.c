/*
 * Issued certificates, backend-independent half (store.h): argument
 * checks, serial normalisation, the record built from a certificate, and
 * the record's copy and free.
 */
#include <ctype.h>
#include <string.h>
#include <time.h>

#include "rollcall/mem.h"
#include "rollcall/x509.h"
#include "store_int.h"

/*
 * Copies a serial of 1..RC_ISSUED_MAX_SERIAL hex digits to out,
 * upper-case; RC_EINVAL for anything else.
 */
static int
serial_norm(const char *in, char out[RC_ISSUED_MAX_SERIAL + 1])
{
	size_t len;

	out[0] = '\0';
	if (in == NULL)
		return RC_EINVAL;
	len = strlen(in);
	if (len == 0 || len > RC_ISSUED_MAX_SERIAL)
		return RC_EINVAL;
	return rc_store_thumb_norm(in, len, out);
}

static int
valid_ctx(const struct rc_store_ctx *ctx)
{
	return ctx != NULL && ctx->who != NULL && ctx->who[0] != '\0';
}

/* The backend's copy of in: serial and sha256 upper-case, issued_at set. */
static int
normalise(const struct rc_issued_cert *in, struct rc_issued_cert *n)
{
	int rc;

	memset(n, 0, sizeof(*n));
	if (in->registration_id == NULL || in->registration_id[0] == '\0' ||
	    in->der == NULL || in->der_len == 0 ||
	    in->not_after < in->not_before || in->issued_at < 0)
		return RC_EINVAL;
	if (in->der_len > RC_ISSUED_MAX_DER)
		return RC_EINVAL;
	if ((rc = serial_norm(in->serial, n->serial)) != RC_OK ||
	    (rc = rc_store_thumb_norm(in->sha256, RC_STORE_SHA256_HEX,
	         n->sha256)) != RC_OK)
		return rc;
	n->registration_id = in->registration_id;
	n->not_before = in->not_before;
	n->not_after = in->not_after;
	n->issued_at = in->issued_at != 0 ? in->issued_at : (int64_t)time(NULL);
	n->der = in->der;
	n->der_len = in->der_len;
	return RC_OK;
}

int
rc_store_issued_put(struct rc_store *s, const struct rc_store_ctx *ctx,
    const struct rc_issued_cert *in, struct rc_issued_cert **out)
{
	struct rc_issued_cert n, *got = NULL;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (!valid_ctx(ctx) || in == NULL)
		return RC_EINVAL;
	if ((rc = normalise(in, &n)) != RC_OK)
		return rc;
	if ((rc = s->ops->issued_put(s, ctx, &n, &got)) != RC_OK)
		return rc;
	if (out != NULL)
		*out = got;
	else
		rc_issued_cert_free(got);
	return RC_OK;
}

int
rc_store_issued_get(struct rc_store *s, const char *serial,
    struct rc_issued_cert **out)
{
	char t[RC_ISSUED_MAX_SERIAL + 1];
	int rc;

	*out = NULL;
	if ((rc = serial_norm(serial, t)) != RC_OK)
		return rc;
	return s->ops->issued_get(s, t, out);
}

int
rc_store_issued_list_registration(struct rc_store *s,
    const char *registration_id, size_t max, struct rc_issued_cert ***out,
    size_t *n)
{
	*out = NULL;
	*n = 0;
	if (registration_id == NULL || registration_id[0] == '\0' || max == 0)
		return RC_EINVAL;
	return s->ops->issued_list_registration(s, registration_id, max, out,
	    n);
}

int
rc_store_issued_list_expiring(struct rc_store *s, int64_t before, size_t max,
    struct rc_issued_cert ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (max == 0)
		return RC_EINVAL;
	return s->ops->issued_list_expiring(s, before, max, out, n);
}

static int
revoke(struct rc_store *s, const struct rc_store_ctx *ctx, const char *serial,
    const char *reason, int block, struct rc_issued_cert **out)
{
	struct rc_issued_cert *got = NULL;
	char t[RC_ISSUED_MAX_SERIAL + 1];
	int rc;

	if (out != NULL)
		*out = NULL;
	if (!valid_ctx(ctx) || reason == NULL || reason[0] == '\0' ||
	    strlen(reason) > RC_ISSUED_MAX_REASON ||
	    strlen(reason) > RC_BLOCKLIST_MAX_REASON)
		return RC_EINVAL;
	if ((rc = serial_norm(serial, t)) != RC_OK)
		return rc;
	if ((rc = s->ops->issued_revoke(s, ctx, t, reason, block, &got)) !=
	    RC_OK)
		return rc;
	if (out != NULL)
		*out = got;
	else
		rc_issued_cert_free(got);
	return RC_OK;
}

int
rc_store_issued_revoke(struct rc_store *s, const struct rc_store_ctx *ctx,
    const char *serial, const char *reason, struct rc_issued_cert **out)
{
	return revoke(s, ctx, serial, reason, 0, out);
}

int
rc_store_issued_revoke_block(struct rc_store *s, const struct rc_store_ctx *ctx,
    const char *serial, const char *reason, struct rc_issued_cert **out)
{
	return revoke(s, ctx, serial, reason, 1, out);
}

static int
der_of(X509 *cert, uint8_t **der, size_t *len)
{
	unsigned char *p;
	int n;

	*der = NULL;
	*len = 0;
	if ((n = i2d_X509(cert, NULL)) <= 0)
		return RC_EINVAL;
	if ((*der = rc_malloc((size_t)n)) == NULL)
		return RC_ENOMEM;
	p = *der;
	if (i2d_X509(cert, &p) != n) {
		rc_free(*der);
		*der = NULL;
		return RC_ECRYPTO;
	}
	*len = (size_t)n;
	return RC_OK;
}

int
rc_issued_cert_from_x509(X509 *cert, const char *registration_id,
    struct rc_issued_cert **out)
{
	struct rc_cert_info info;
	struct rc_issued_cert *c = NULL;
	int rc;

	*out = NULL;
	memset(&info, 0, sizeof(info));
	if (cert == NULL || registration_id == NULL)
		return RC_EINVAL;
	if ((rc = rc_x509_info(cert, &info)) != RC_OK)
		return rc;
	if ((c = rc_calloc(1, sizeof(*c))) == NULL) {
		rc = RC_ENOMEM;
		goto out;
	}
	/* a negative serial ("-...") is refused here: RFC 5280 §4.1.2.2 */
	if ((rc = serial_norm(info.serial, c->serial)) != RC_OK)
		goto out;
	memcpy(c->sha256, info.sha256, sizeof(c->sha256));
	c->not_before = (int64_t)info.not_before_t;
	c->not_after = (int64_t)info.not_after_t;
	c->issued_at = (int64_t)time(NULL);
	if ((c->registration_id = rc_strdup(registration_id)) == NULL) {
		rc = RC_ENOMEM;
		goto out;
	}
	if ((rc = der_of(cert, &c->der, &c->der_len)) != RC_OK)
		goto out;
	*out = c;
	c = NULL;
out:
	rc_x509_info_clear(&info);
	rc_issued_cert_free(c);
	return rc;
}

struct rc_issued_cert *
rc_issued_cert_dup(const struct rc_issued_cert *c)
{
	struct rc_issued_cert *d;

	if (c == NULL || (d = rc_calloc(1, sizeof(*d))) == NULL)
		return NULL;
	*d = *c;
	d->registration_id = d->revoke_reason = NULL;
	d->der = NULL;
	if (c->registration_id != NULL &&
	    (d->registration_id = rc_strdup(c->registration_id)) == NULL)
		goto fail;
	if (c->revoke_reason != NULL &&
	    (d->revoke_reason = rc_strdup(c->revoke_reason)) == NULL)
		goto fail;
	if (c->der_len > 0) {
		if ((d->der = rc_malloc(c->der_len)) == NULL)
			goto fail;
		memcpy(d->der, c->der, c->der_len);
	}
	return d;
fail:
	rc_issued_cert_free(d);
	return NULL;
}

void
rc_issued_cert_free(struct rc_issued_cert *c)
{
	if (c == NULL)
		return;
	rc_free(c->registration_id);
	rc_free(c->revoke_reason);
	rc_free(c->der);
	rc_free(c);
}

void
rc_issued_cert_list_free(struct rc_issued_cert **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		rc_issued_cert_free(v[i]);
	rc_free(v);
}
