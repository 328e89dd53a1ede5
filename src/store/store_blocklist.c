/*
 * The certificate blocklist, backend-independent half (store.h): argument
 * checks, thumbprint normalisation, and the entry's free.
 */
#include <string.h>

#include "rollcall/mem.h"
#include "store_int.h"

static int
valid_ctx(const struct rc_store_ctx *ctx)
{
	return ctx != NULL && ctx->who != NULL && ctx->who[0] != '\0';
}

static int
valid_reason(const char *reason)
{
	return reason != NULL && reason[0] != '\0' &&
	    strlen(reason) <= RC_BLOCKLIST_MAX_REASON;
}

/* 64 hex digits of any case into out, upper-case; RC_EINVAL otherwise. */
static int
thumb_norm(const char *in, char out[65])
{
	out[0] = '\0';
	if (in == NULL || strlen(in) != RC_STORE_SHA256_HEX)
		return RC_EINVAL;
	return rc_store_thumb_norm(in, RC_STORE_SHA256_HEX, out);
}

int
rc_store_blocklist_put(struct rc_store *s, const struct rc_store_ctx *ctx,
    const char *sha256, const char *reason, struct rc_blocked_cert **out)
{
	struct rc_blocked_cert *got = NULL;
	char t[65];
	int rc;

	if (out != NULL)
		*out = NULL;
	if (!valid_ctx(ctx) || !valid_reason(reason))
		return RC_EINVAL;
	if ((rc = thumb_norm(sha256, t)) != RC_OK)
		return rc;
	if ((rc = s->ops->blocklist_put(s, ctx, t, reason, &got)) != RC_OK)
		return rc;
	if (out != NULL)
		*out = got;
	else
		rc_blocked_cert_free(got);
	return RC_OK;
}

int
rc_store_blocklist_get(struct rc_store *s, const char *sha256,
    struct rc_blocked_cert **out)
{
	char t[65];
	int rc;

	*out = NULL;
	if ((rc = thumb_norm(sha256, t)) != RC_OK)
		return rc;
	return s->ops->blocklist_get(s, t, out);
}

int
rc_store_blocklist_delete(struct rc_store *s, const struct rc_store_ctx *ctx,
    const char *sha256)
{
	char t[65];
	int rc;

	if (!valid_ctx(ctx))
		return RC_EINVAL;
	if ((rc = thumb_norm(sha256, t)) != RC_OK)
		return rc;
	return s->ops->blocklist_delete(s, ctx, t);
}

int
rc_store_blocklist_list(struct rc_store *s, const char *after, size_t max,
    struct rc_blocked_cert ***out, size_t *n, char **next)
{
	*out = NULL;
	*n = 0;
	*next = NULL;
	if (max == 0)
		return RC_EINVAL;
	return s->ops->blocklist_list(s, after, max, out, n, next);
}

void
rc_blocked_cert_free(struct rc_blocked_cert *b)
{
	if (b == NULL)
		return;
	rc_free(b->reason);
	rc_free(b);
}

void
rc_blocked_cert_list_free(struct rc_blocked_cert **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		rc_blocked_cert_free(v[i]);
	rc_free(v);
}
