/*
 * The backend-independent half of the store (store.h): opening by URI,
 * argument checks and out-parameter clearing before a backend is called,
 * etags, the audit hash and its verification, and the record types'
 * constructors and destructors.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "rollcall/enc.h"
#include "rollcall/mem.h"
#include "store_int.h"

int
rc_store_open(const char *uri, struct rc_store **out)
{
	const char *path = uri;

	*out = NULL;
	if (uri == NULL)
		return RC_EINVAL;
	if (strncmp(uri, "sqlite://", 9) == 0)
		path = uri + 9;
	else if (strncmp(uri, "sqlite:", 7) == 0)
		path = uri + 7;
	else if (strncmp(uri, "postgres:", 9) == 0 ||
	    strncmp(uri, "postgresql:", 11) == 0)
		return RC_EUNSUPPORTED;
	if (*path == '\0')
		return RC_EINVAL;
	return rc_store_sqlite_open(path, out);
}

void
rc_store_close(struct rc_store *s)
{
	if (s != NULL)
		s->ops->close(s);
}

int
rc_store_schema_version(struct rc_store *s)
{
	return s->schema_version;
}

int
rc_store_etag_new(char out[40])
{
	unsigned char rnd[8];
	char hex[2 * sizeof(rnd) + 1];
	int rc;

	out[0] = '\0';
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return RC_ECRYPTO;
	if ((rc = rc_hex_upper(rnd, sizeof(rnd), hex, sizeof(hex))) != RC_OK)
		return rc;
	snprintf(out, 40, "\"%s\"", hex);
	return RC_OK;
}

int
rc_store_if_match(const struct rc_store_ctx *ctx, const char *etag)
{
	if (ctx->if_match == NULL)
		return RC_OK;
	if (etag == NULL)
		return RC_ESTALE;
	if (strcmp(ctx->if_match, "*") == 0 || strcmp(ctx->if_match, etag) == 0)
		return RC_OK;
	return RC_ESTALE;
}

int
rc_store_thumb_norm(const char *in, size_t len, char *out)
{
	size_t i;

	out[0] = '\0';
	if (in == NULL || strlen(in) != len)
		return RC_EINVAL;
	for (i = 0; i < len; i++) {
		if (!isxdigit((unsigned char)in[i])) {
			out[0] = '\0';
			return RC_EINVAL;
		}
		out[i] = (char)toupper((unsigned char)in[i]);
	}
	out[len] = '\0';
	return RC_OK;
}

const char *
rc_store_enrollment_action(enum rc_enrollment_kind kind, int del)
{
	if (kind == RC_ENROLLMENT_GROUP)
		return del ? "group.delete" : "group.put";
	return del ? "enrollment.delete" : "enrollment.put";
}

static int
valid_ctx(const struct rc_store_ctx *ctx)
{
	return ctx != NULL && ctx->who != NULL && ctx->who[0] != '\0';
}

static int
valid_id(const char *id)
{
	return id != NULL && id[0] != '\0';
}

static int
valid_kind(enum rc_enrollment_kind kind)
{
	return kind == RC_ENROLLMENT_INDIVIDUAL || kind == RC_ENROLLMENT_GROUP;
}

static int
valid_cert(const struct rc_store_cert *c)
{
	char t[RC_STORE_SHA256_HEX + 1];

	if (c->der == NULL || c->der_len == 0)
		return 0;
	if (rc_store_thumb_norm(c->sha1, RC_STORE_SHA1_HEX, t) != RC_OK)
		return 0;
	return rc_store_thumb_norm(c->sha256, RC_STORE_SHA256_HEX, t) == RC_OK;
}

/*
 * What a backend may assume of an enrollment (store_int.h): a slot holds a
 * certificate or a CA name, not both; CA names and a device ID only where
 * the kind has them; the same certificate not in both slots.
 */
static int
valid_enrollment(const struct rc_enrollment *e)
{
	int i;

	if (e == NULL || !valid_kind(e->kind) || !valid_id(e->id))
		return 0;
	if (e->doc != NULL && !json_is_object(e->doc))
		return 0;
	if (e->kind == RC_ENROLLMENT_GROUP && e->device_id != NULL)
		return 0;
	for (i = 0; i < RC_SLOT_COUNT; i++) {
		if (e->certs[i] != NULL && !valid_cert(e->certs[i]))
			return 0;
		if (e->ca_refs[i] == NULL)
			continue;
		if (e->kind != RC_ENROLLMENT_GROUP || e->certs[i] != NULL ||
		    e->ca_refs[i][0] == '\0')
			return 0;
	}
	if (e->certs[0] != NULL && e->certs[1] != NULL &&
	    strcasecmp(e->certs[0]->sha256, e->certs[1]->sha256) == 0)
		return 0;
	return 1;
}

int
rc_store_enrollment_put(struct rc_store *s, const struct rc_store_ctx *ctx,
    const struct rc_enrollment *in, struct rc_enrollment **out, char **conflict)
{
	*out = NULL;
	if (conflict != NULL)
		*conflict = NULL;
	if (!valid_ctx(ctx) || !valid_enrollment(in))
		return RC_EINVAL;
	return s->ops->enrollment_put(s, ctx, in, out, conflict);
}

int
rc_store_enrollment_get(struct rc_store *s, enum rc_enrollment_kind kind,
    const char *id, struct rc_enrollment **out)
{
	*out = NULL;
	if (!valid_kind(kind) || !valid_id(id))
		return RC_EINVAL;
	return s->ops->enrollment_get(s, kind, id, out);
}

int
rc_store_enrollment_delete(struct rc_store *s, const struct rc_store_ctx *ctx,
    enum rc_enrollment_kind kind, const char *id)
{
	if (!valid_ctx(ctx) || !valid_kind(kind) || !valid_id(id))
		return RC_EINVAL;
	return s->ops->enrollment_delete(s, ctx, kind, id);
}

int
rc_store_enrollment_list(struct rc_store *s, enum rc_enrollment_kind kind,
    const char *after, size_t max, struct rc_enrollment ***out, size_t *n,
    char **next)
{
	*out = NULL;
	*n = 0;
	*next = NULL;
	if (!valid_kind(kind) || max == 0)
		return RC_EINVAL;
	return s->ops->enrollment_list(s, kind, after, max, out, n, next);
}

int
rc_store_enrollment_find_cert(struct rc_store *s, const char *sha256,
    struct rc_enrollment **out, enum rc_slot *slot)
{
	char t[RC_STORE_SHA256_HEX + 1];
	int rc;

	*out = NULL;
	*slot = RC_SLOT_PRIMARY;
	if ((rc = rc_store_thumb_norm(sha256, RC_STORE_SHA256_HEX, t)) != RC_OK)
		return rc;
	return s->ops->enrollment_find_cert(s, t, out, slot);
}

int
rc_store_group_find_ca_ref(struct rc_store *s, const char *ca_name,
    struct rc_enrollment ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!valid_id(ca_name))
		return RC_EINVAL;
	return s->ops->group_find_ca_ref(s, ca_name, out, n);
}

static int
valid_registration(const struct rc_registration *r)
{
	char t[RC_STORE_SHA256_HEX + 1];

	if (r == NULL || !valid_id(r->registration_id))
		return 0;
	if (r->enrollment_group_id != NULL && r->enrollment_group_id[0] == '\0')
		return 0;
	return r->cert_sha256[0] == '\0' ||
	    rc_store_thumb_norm(r->cert_sha256, RC_STORE_SHA256_HEX, t) ==
	    RC_OK;
}

int
rc_store_registration_put(struct rc_store *s, const struct rc_store_ctx *ctx,
    const struct rc_registration *in, struct rc_registration **out)
{
	*out = NULL;
	if (!valid_ctx(ctx) || !valid_registration(in))
		return RC_EINVAL;
	return s->ops->registration_put(s, ctx, in, out);
}

int
rc_store_registration_get(struct rc_store *s, const char *registration_id,
    struct rc_registration **out)
{
	*out = NULL;
	if (!valid_id(registration_id))
		return RC_EINVAL;
	return s->ops->registration_get(s, registration_id, out);
}

int
rc_store_registration_delete(struct rc_store *s, const struct rc_store_ctx *ctx,
    const char *registration_id)
{
	if (!valid_ctx(ctx) || !valid_id(registration_id))
		return RC_EINVAL;
	return s->ops->registration_delete(s, ctx, registration_id);
}

int
rc_store_registration_list_group(struct rc_store *s, const char *group_id,
    const char *after, size_t max, struct rc_registration ***out, size_t *n,
    char **next)
{
	*out = NULL;
	*n = 0;
	*next = NULL;
	if (!valid_id(group_id) || max == 0)
		return RC_EINVAL;
	return s->ops->registration_list_group(s, group_id, after, max, out, n,
	    next);
}

int
rc_store_ca_cert_put(struct rc_store *s, const struct rc_store_ctx *ctx,
    const struct rc_ca_cert *in, struct rc_ca_cert **out)
{
	*out = NULL;
	if (!valid_ctx(ctx) || in == NULL || !valid_id(in->name) ||
	    in->cert == NULL || !valid_cert(in->cert))
		return RC_EINVAL;
	return s->ops->ca_cert_put(s, ctx, in, out);
}

int
rc_store_ca_cert_get(struct rc_store *s, const char *name,
    struct rc_ca_cert **out)
{
	*out = NULL;
	if (!valid_id(name))
		return RC_EINVAL;
	return s->ops->ca_cert_get(s, name, out);
}

int
rc_store_ca_cert_delete(struct rc_store *s, const struct rc_store_ctx *ctx,
    const char *name)
{
	if (!valid_ctx(ctx) || !valid_id(name))
		return RC_EINVAL;
	return s->ops->ca_cert_delete(s, ctx, name);
}

int
rc_store_ca_cert_list(struct rc_store *s, struct rc_ca_cert ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return s->ops->ca_cert_list(s, out, n);
}

int
rc_store_audit_list(struct rc_store *s, int64_t after, size_t max,
    struct rc_audit ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (max == 0 || after < 0)
		return RC_EINVAL;
	return s->ops->audit_list(s, after, max, out, n);
}
