/*
 * Issued certificates in the SQLite backend (schema: issued_certificate).
 * Rows are inserted once and only ever gain a revocation (with, when
 * asked, the blocklisting of the thumbprint in the same transaction); the
 * lists use the (registration_id, issued_at) and partial not_after
 * indexes.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rollcall/mem.h"
#include "sqlite_int.h"

#define COLS                                                      \
	"serial, registration_id, sha256, not_before, not_after," \
	" issued_at, revoked_at, revoke_reason, der"

static const char sql_insert[] =
    "INSERT INTO issued_certificate (" COLS ")"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, NULL, ?7)";
static const char sql_load[] =
    "SELECT " COLS " FROM issued_certificate WHERE serial = ?1";
static const char sql_by_reg[] =
    "SELECT " COLS " FROM issued_certificate WHERE registration_id = ?1"
    " ORDER BY issued_at DESC, serial DESC LIMIT ?2";
static const char sql_expiring[] =
    "SELECT " COLS " FROM issued_certificate"
    " WHERE revoked_at IS NULL AND not_after < ?1"
    " ORDER BY not_after, serial LIMIT ?2";
static const char sql_revoke[] =
    "UPDATE issued_certificate SET revoked_at = ?2, revoke_reason = ?3"
    " WHERE serial = ?1";

static int
read_row(sqlite3_stmt *st, struct rc_issued_cert **out)
{
	struct rc_issued_cert *c;
	const void *der;
	int rc, len;

	*out = NULL;
	if ((c = rc_calloc(1, sizeof(*c))) == NULL)
		return RC_ENOMEM;
	c->not_before = sqlite3_column_int64(st, 3);
	c->not_after = sqlite3_column_int64(st, 4);
	c->issued_at = sqlite3_column_int64(st, 5);
	c->revoked_at = sqlite3_column_int64(st, 6);
	if ((rc = rc_sqlite_col_buf(st, 0, c->serial, sizeof(c->serial))) !=
	        RC_OK ||
	    (rc = rc_sqlite_col_str(st, 1, &c->registration_id)) != RC_OK ||
	    (rc = rc_sqlite_col_buf(st, 2, c->sha256, sizeof(c->sha256))) !=
	        RC_OK ||
	    (rc = rc_sqlite_col_str(st, 7, &c->revoke_reason)) != RC_OK)
		goto fail;
	der = sqlite3_column_blob(st, 8);
	len = sqlite3_column_bytes(st, 8);
	if (der == NULL || len <= 0) {
		rc = der == NULL && len > 0 ? RC_ENOMEM : RC_EPARSE;
		goto fail;
	}
	if ((c->der = rc_malloc((size_t)len)) == NULL) {
		rc = RC_ENOMEM;
		goto fail;
	}
	memcpy(c->der, der, (size_t)len);
	c->der_len = (size_t)len;
	*out = c;
	return RC_OK;
fail:
	rc_issued_cert_free(c);
	return rc;
}

static int
load(struct rc_sqlite *s, const char *serial, struct rc_issued_cert **out)
{
	sqlite3_stmt *st;
	int rc, row = 0, err = SQLITE_OK;

	*out = NULL;
	if ((st = rc_sqlite_stmt(s, sql_load, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_text(st, 1, serial, &err);
	if (err != SQLITE_OK)
		rc = rc_sqlite_err(s, err);
	else if ((rc = rc_sqlite_step(s, st, &row)) == RC_OK)
		rc = row ? read_row(st, out) : RC_ENOENT;
	rc_sqlite_done(st);
	return rc;
}

/* "REGISTRATION_ID/SERIAL", the audit row's object. */
static int
audit(struct rc_sqlite *s, const char *who, const char *action,
    const struct rc_issued_cert *c)
{
	char *object;
	size_t len;
	int rc;

	len = strlen(c->registration_id) + 1 + strlen(c->serial) + 1;
	if ((object = rc_malloc(len)) == NULL)
		return RC_ENOMEM;
	snprintf(object, len, "%s/%s", c->registration_id, c->serial);
	rc = rc_sqlite_audit(s, who, action, object, "", "");
	rc_free(object);
	return rc;
}

static int
put_locked(struct rc_sqlite *s, const struct rc_store_ctx *ctx,
    const struct rc_issued_cert *in, struct rc_issued_cert **out)
{
	sqlite3_stmt *st;
	int rc, err = SQLITE_OK;

	if ((st = rc_sqlite_stmt(s, sql_insert, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_text(st, 1, in->serial, &err);
	rc_sqlite_bind_text(st, 2, in->registration_id, &err);
	rc_sqlite_bind_text(st, 3, in->sha256, &err);
	rc_sqlite_bind_int(st, 4, in->not_before, &err);
	rc_sqlite_bind_int(st, 5, in->not_after, &err);
	rc_sqlite_bind_int(st, 6, in->issued_at, &err);
	rc_sqlite_bind_blob(st, 7, in->der, in->der_len, &err);
	if (err != SQLITE_OK) {
		rc_sqlite_done(st);
		return rc_sqlite_err(s, err);
	}
	if ((rc = rc_sqlite_exec(s, st)) != RC_OK ||
	    (rc = load(s, in->serial, out)) != RC_OK)
		return rc;
	if ((rc = audit(s, ctx->who, "certificate.issue", *out)) != RC_OK) {
		rc_issued_cert_free(*out);
		*out = NULL;
	}
	return rc;
}

int
rc_sqlite_issued_put(struct rc_store *store, const struct rc_store_ctx *ctx,
    const struct rc_issued_cert *in, struct rc_issued_cert **out)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 1)) != RC_OK)
		return rc;
	rc = put_locked(s, ctx, in, out);
	if ((rc = rc_sqlite_end(s, rc)) != RC_OK) {
		rc_issued_cert_free(*out);
		*out = NULL;
	}
	return rc;
}

int
rc_sqlite_issued_get(struct rc_store *store, const char *serial,
    struct rc_issued_cert **out)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 0)) != RC_OK)
		return rc;
	rc = load(s, serial, out);
	return rc_sqlite_end(s, rc);
}

/* Every row of st (already bound), at most max by the statement's LIMIT. */
static int
rows(struct rc_sqlite *s, sqlite3_stmt *st, struct rc_issued_cert ***out,
    size_t *n)
{
	struct rc_issued_cert **v = NULL, **tmp;
	int rc, row;

	while ((rc = rc_sqlite_step(s, st, &row)) == RC_OK && row) {
		if ((tmp = rc_reallocarray(v, *n + 1, sizeof(*v))) == NULL) {
			rc = RC_ENOMEM;
			break;
		}
		v = tmp;
		if ((rc = read_row(st, &v[*n])) != RC_OK)
			break;
		(*n)++;
	}
	if (rc != RC_OK) {
		rc_issued_cert_list_free(v, *n);
		*n = 0;
		return rc;
	}
	*out = v;
	return RC_OK;
}

static int
list(struct rc_sqlite *s, const char *sql, const char *text, int64_t num,
    size_t max, struct rc_issued_cert ***out, size_t *n)
{
	sqlite3_stmt *st;
	int rc, err = SQLITE_OK;

	if ((rc = rc_sqlite_begin(s, 0)) != RC_OK)
		return rc;
	if ((st = rc_sqlite_stmt(s, sql, &rc)) == NULL)
		return rc_sqlite_end(s, rc);
	if (text != NULL)
		rc_sqlite_bind_text(st, 1, text, &err);
	else
		rc_sqlite_bind_int(st, 1, num, &err);
	rc_sqlite_bind_int(st, 2, max >= INT64_MAX ? INT64_MAX : (int64_t)max,
	    &err);
	if (err != SQLITE_OK)
		rc = rc_sqlite_err(s, err);
	else
		rc = rows(s, st, out, n);
	rc_sqlite_done(st);
	if ((rc = rc_sqlite_end(s, rc)) != RC_OK) {
		rc_issued_cert_list_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

int
rc_sqlite_issued_list_registration(struct rc_store *store, const char *id,
    size_t max, struct rc_issued_cert ***out, size_t *n)
{
	return list(rc_sqlite_of(store), sql_by_reg, id, 0, max, out, n);
}

int
rc_sqlite_issued_list_expiring(struct rc_store *store, int64_t before,
    size_t max, struct rc_issued_cert ***out, size_t *n)
{
	return list(rc_sqlite_of(store), sql_expiring, NULL, before, max, out,
	    n);
}

static int
revoke_locked(struct rc_sqlite *s, const struct rc_store_ctx *ctx,
    const char *serial, const char *reason, int block,
    struct rc_issued_cert **out)
{
	struct rc_issued_cert *c = NULL;
	sqlite3_stmt *st;
	int rc, revoked, err = SQLITE_OK;

	if ((rc = load(s, serial, &c)) != RC_OK)
		return rc;
	revoked = c->revoked_at != 0;
	rc_issued_cert_free(c);
	if (revoked)
		return RC_EEXIST;
	if ((st = rc_sqlite_stmt(s, sql_revoke, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_text(st, 1, serial, &err);
	rc_sqlite_bind_int(st, 2, (int64_t)time(NULL), &err);
	rc_sqlite_bind_text(st, 3, reason, &err);
	if (err != SQLITE_OK) {
		rc_sqlite_done(st);
		return rc_sqlite_err(s, err);
	}
	if ((rc = rc_sqlite_exec(s, st)) != RC_OK ||
	    (rc = load(s, serial, out)) != RC_OK)
		return rc;
	if ((rc = audit(s, ctx->who, "certificate.revoke", *out)) == RC_OK &&
	    block)
		rc = rc_sqlite_blocklist_put_locked(s, ctx, (*out)->sha256,
		    reason, NULL);
	if (rc != RC_OK) {
		rc_issued_cert_free(*out);
		*out = NULL;
	}
	return rc;
}

int
rc_sqlite_issued_revoke(struct rc_store *store, const struct rc_store_ctx *ctx,
    const char *serial, const char *reason, int block,
    struct rc_issued_cert **out)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 1)) != RC_OK)
		return rc;
	rc = revoke_locked(s, ctx, serial, reason, block, out);
	if ((rc = rc_sqlite_end(s, rc)) != RC_OK) {
		rc_issued_cert_free(*out);
		*out = NULL;
	}
	return rc;
}
