/*
 * CA certificates in the SQLite backend (schema: ca_cert).  A put of an
 * existing name with a different certificate (by sha256) stores it as
 * unverified and without a verification code, whatever the caller passed:
 * proof of possession of one key never carries over to another (store.h).
 */
#include <string.h>
#include <time.h>

#include "rollcall/mem.h"
#include "sqlite_int.h"

#define COLS                                                               \
	"name, der, sha1, sha256, subject, issuer, serial, not_before,"    \
	" not_after, version, verified, verification_code, etag, created," \
	" updated"

static const char sql_find[] = "SELECT etag, sha256 FROM ca_cert"
                               " WHERE name = ?1";
static const char sql_load[] = "SELECT " COLS " FROM ca_cert WHERE name = ?1";
static const char sql_all[] = "SELECT " COLS " FROM ca_cert ORDER BY name";
static const char sql_insert[] =
    "INSERT INTO ca_cert (" COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
    " ?9, ?10, ?11, ?12, ?13, ?14, ?14)";
static const char sql_update[] =
    "UPDATE ca_cert SET der = ?2, sha1 = ?3, sha256 = ?4, subject = ?5,"
    " issuer = ?6, serial = ?7, not_before = ?8, not_after = ?9,"
    " version = ?10, verified = ?11, verification_code = ?12, etag = ?13,"
    " updated = ?14 WHERE name = ?1";
static const char sql_delete[] = "DELETE FROM ca_cert WHERE name = ?1";

/* The stored etag and sha256 of name; etag "" when there is none. */
static int
find(struct rc_sqlite *s, const char *name, char etag[40], char sha256[65])
{
	sqlite3_stmt *st;
	int rc, row, err = SQLITE_OK;

	etag[0] = sha256[0] = '\0';
	if ((st = rc_sqlite_stmt(s, sql_find, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_text(st, 1, name, &err);
	if (err != SQLITE_OK)
		rc = rc_sqlite_err(s, err);
	else if ((rc = rc_sqlite_step(s, st, &row)) == RC_OK && row &&
	    (rc = rc_sqlite_col_buf(st, 0, etag, 40)) == RC_OK)
		rc = rc_sqlite_col_buf(st, 1, sha256, 65);
	rc_sqlite_done(st);
	return rc;
}

static int
read_row(sqlite3_stmt *st, struct rc_ca_cert **out)
{
	struct rc_ca_cert *c;
	int rc;

	*out = NULL;
	if ((c = rc_calloc(1, sizeof(*c))) == NULL)
		return RC_ENOMEM;
	c->verified = sqlite3_column_int(st, 10) != 0;
	c->created = sqlite3_column_int64(st, 13);
	c->updated = sqlite3_column_int64(st, 14);
	if ((rc = rc_sqlite_col_str(st, 0, &c->name)) != RC_OK ||
	    (rc = rc_sqlite_col_cert(st, 1, &c->cert)) != RC_OK ||
	    (rc = rc_sqlite_col_str(st, 11, &c->verification_code)) != RC_OK ||
	    (rc = rc_sqlite_col_buf(st, 12, c->etag, sizeof(c->etag))) !=
	        RC_OK) {
		rc_ca_cert_free(c);
		return rc;
	}
	*out = c;
	return RC_OK;
}

static int
load(struct rc_sqlite *s, const char *name, struct rc_ca_cert **out)
{
	sqlite3_stmt *st;
	int rc, row, err = SQLITE_OK;

	*out = NULL;
	if ((st = rc_sqlite_stmt(s, sql_load, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_text(st, 1, name, &err);
	if (err != SQLITE_OK)
		rc = rc_sqlite_err(s, err);
	else if ((rc = rc_sqlite_step(s, st, &row)) == RC_OK)
		rc = row ? read_row(st, out) : RC_ENOENT;
	rc_sqlite_done(st);
	return rc;
}

/*
 * update: the name exists; keep_proof: its certificate is the same, so the
 * caller's verified flag and code stand.
 */
static int
write_row(struct rc_sqlite *s, const struct rc_ca_cert *in, int update,
    int keep_proof, const char *etag)
{
	sqlite3_stmt *st;
	int rc, err = SQLITE_OK;

	if ((st = rc_sqlite_stmt(s, update ? sql_update : sql_insert, &rc)) ==
	    NULL)
		return rc;
	rc_sqlite_bind_text(st, 1, in->name, &err);
	rc_sqlite_bind_cert(st, 2, in->cert, &err);
	rc_sqlite_bind_int(st, 11, keep_proof && in->verified != 0, &err);
	rc_sqlite_bind_text(st, 12, keep_proof ? in->verification_code : NULL,
	    &err);
	rc_sqlite_bind_text(st, 13, etag, &err);
	rc_sqlite_bind_int(st, 14, (int64_t)time(NULL), &err);
	if (err != SQLITE_OK) {
		rc_sqlite_done(st);
		return rc_sqlite_err(s, err);
	}
	return rc_sqlite_exec(s, st);
}

static int
put_locked(struct rc_sqlite *s, const struct rc_store_ctx *ctx,
    const struct rc_ca_cert *in, struct rc_ca_cert **out)
{
	char before[40], etag[40], sha256[65], want[65];
	int rc, exists, keep;

	if ((rc = rc_store_thumb_norm(in->cert->sha256, RC_STORE_SHA256_HEX,
	         want)) != RC_OK ||
	    (rc = find(s, in->name, before, sha256)) != RC_OK)
		return rc;
	exists = before[0] != '\0';
	keep = !exists || strcmp(sha256, want) == 0;
	if ((rc = rc_store_if_match(ctx, exists ? before : NULL)) != RC_OK ||
	    (rc = rc_store_etag_new(etag)) != RC_OK ||
	    (rc = write_row(s, in, exists, keep, etag)) != RC_OK ||
	    (rc = load(s, in->name, out)) != RC_OK)
		return rc;
	rc = rc_sqlite_audit(s, ctx->who, "cacert.put", (*out)->name, before,
	    etag);
	if (rc != RC_OK) {
		rc_ca_cert_free(*out);
		*out = NULL;
	}
	return rc;
}

int
rc_sqlite_ca_cert_put(struct rc_store *store, const struct rc_store_ctx *ctx,
    const struct rc_ca_cert *in, struct rc_ca_cert **out)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 1)) != RC_OK)
		return rc;
	rc = put_locked(s, ctx, in, out);
	if ((rc = rc_sqlite_end(s, rc)) != RC_OK) {
		rc_ca_cert_free(*out);
		*out = NULL;
	}
	return rc;
}

int
rc_sqlite_ca_cert_get(struct rc_store *store, const char *name,
    struct rc_ca_cert **out)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 0)) != RC_OK)
		return rc;
	rc = load(s, name, out);
	return rc_sqlite_end(s, rc);
}

static int
delete_locked(struct rc_sqlite *s, const struct rc_store_ctx *ctx,
    const char *name)
{
	struct rc_ca_cert *c = NULL;
	sqlite3_stmt *st;
	int rc, err = SQLITE_OK;

	if ((rc = load(s, name, &c)) != RC_OK ||
	    (rc = rc_store_if_match(ctx, c->etag)) != RC_OK)
		goto out;
	if ((st = rc_sqlite_stmt(s, sql_delete, &rc)) == NULL)
		goto out;
	rc_sqlite_bind_text(st, 1, name, &err);
	if (err != SQLITE_OK) {
		rc_sqlite_done(st);
		rc = rc_sqlite_err(s, err);
		goto out;
	}
	if ((rc = rc_sqlite_exec(s, st)) == RC_OK)
		rc = rc_sqlite_audit(s, ctx->who, "cacert.delete", c->name,
		    c->etag, "");
out:
	rc_ca_cert_free(c);
	return rc;
}

int
rc_sqlite_ca_cert_delete(struct rc_store *store, const struct rc_store_ctx *ctx,
    const char *name)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 1)) != RC_OK)
		return rc;
	rc = delete_locked(s, ctx, name);
	return rc_sqlite_end(s, rc);
}

static int
list_locked(struct rc_sqlite *s, struct rc_ca_cert ***out, size_t *n)
{
	struct rc_ca_cert **v = NULL, **tmp;
	sqlite3_stmt *st;
	int rc, row;

	if ((st = rc_sqlite_stmt(s, sql_all, &rc)) == NULL)
		return rc;
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
	rc_sqlite_done(st);
	if (rc != RC_OK) {
		rc_ca_cert_list_free(v, *n);
		*n = 0;
		return rc;
	}
	*out = v;
	return RC_OK;
}

int
rc_sqlite_ca_cert_list(struct rc_store *store, struct rc_ca_cert ***out,
    size_t *n)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 0)) != RC_OK)
		return rc;
	rc = list_locked(s, out, n);
	return rc_sqlite_end(s, rc);
}
