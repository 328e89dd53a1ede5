/*
 * The certificate blocklist in the SQLite backend (schema: blocklist).
 * Lookups are by primary key; the list pages in thumbprint order.  Paging
 * compares with the upper-case form the store keeps, so a client's token
 * in another case still names a valid starting point.
 */
#include <string.h>
#include <time.h>

#include "rollcall/mem.h"
#include "sqlite_int.h"

#define COLS "sha256, reason, blocked_at"

static const char sql_load[] =
    "SELECT " COLS " FROM blocklist WHERE sha256 = ?1";
static const char sql_upsert[] =
    "INSERT INTO blocklist (" COLS ") VALUES (?1, ?2, ?3)"
    " ON CONFLICT (sha256) DO UPDATE SET reason = excluded.reason";
static const char sql_delete[] = "DELETE FROM blocklist WHERE sha256 = ?1";
static const char sql_page[] = "SELECT " COLS " FROM blocklist"
                               " WHERE sha256 > upper(?1)"
                               " ORDER BY sha256 LIMIT ?2";

static int
read_row(sqlite3_stmt *st, struct rc_blocked_cert **out)
{
	struct rc_blocked_cert *b;
	int rc;

	*out = NULL;
	if ((b = rc_calloc(1, sizeof(*b))) == NULL)
		return RC_ENOMEM;
	b->blocked_at = sqlite3_column_int64(st, 2);
	if ((rc = rc_sqlite_col_buf(st, 0, b->sha256, sizeof(b->sha256))) !=
	        RC_OK ||
	    (rc = rc_sqlite_col_str(st, 1, &b->reason)) != RC_OK) {
		rc_blocked_cert_free(b);
		return rc;
	}
	if (b->reason == NULL) {
		rc_blocked_cert_free(b);
		return RC_EPARSE;
	}
	*out = b;
	return RC_OK;
}

static int
load(struct rc_sqlite *s, const char *sha256, struct rc_blocked_cert **out)
{
	sqlite3_stmt *st;
	int rc, row = 0, err = SQLITE_OK;

	*out = NULL;
	if ((st = rc_sqlite_stmt(s, sql_load, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_text(st, 1, sha256, &err);
	if (err != SQLITE_OK)
		rc = rc_sqlite_err(s, err);
	else if ((rc = rc_sqlite_step(s, st, &row)) == RC_OK)
		rc = row ? read_row(st, out) : RC_ENOENT;
	rc_sqlite_done(st);
	return rc;
}

int
rc_sqlite_blocklist_put_locked(struct rc_sqlite *s,
    const struct rc_store_ctx *ctx, const char *sha256, const char *reason,
    struct rc_blocked_cert **out)
{
	struct rc_blocked_cert *got = NULL;
	sqlite3_stmt *st;
	int rc, err = SQLITE_OK;

	if ((st = rc_sqlite_stmt(s, sql_upsert, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_text(st, 1, sha256, &err);
	rc_sqlite_bind_text(st, 2, reason, &err);
	rc_sqlite_bind_int(st, 3, (int64_t)time(NULL), &err);
	if (err != SQLITE_OK) {
		rc_sqlite_done(st);
		return rc_sqlite_err(s, err);
	}
	if ((rc = rc_sqlite_exec(s, st)) != RC_OK ||
	    (rc = rc_sqlite_audit(s, ctx->who, "blocklist.put", sha256, "",
	         "")) != RC_OK)
		return rc;
	if (out == NULL)
		return RC_OK;
	if ((rc = load(s, sha256, &got)) == RC_OK)
		*out = got;
	return rc;
}

int
rc_sqlite_blocklist_put(struct rc_store *store, const struct rc_store_ctx *ctx,
    const char *sha256, const char *reason, struct rc_blocked_cert **out)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 1)) != RC_OK)
		return rc;
	rc = rc_sqlite_blocklist_put_locked(s, ctx, sha256, reason, out);
	if ((rc = rc_sqlite_end(s, rc)) != RC_OK && out != NULL) {
		rc_blocked_cert_free(*out);
		*out = NULL;
	}
	return rc;
}

int
rc_sqlite_blocklist_get(struct rc_store *store, const char *sha256,
    struct rc_blocked_cert **out)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 0)) != RC_OK)
		return rc;
	rc = load(s, sha256, out);
	return rc_sqlite_end(s, rc);
}

static int
delete_locked(struct rc_sqlite *s, const struct rc_store_ctx *ctx,
    const char *sha256)
{
	sqlite3_stmt *st;
	int rc, err = SQLITE_OK;

	if ((st = rc_sqlite_stmt(s, sql_delete, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_text(st, 1, sha256, &err);
	if (err != SQLITE_OK) {
		rc_sqlite_done(st);
		return rc_sqlite_err(s, err);
	}
	if ((rc = rc_sqlite_exec(s, st)) != RC_OK)
		return rc;
	if (sqlite3_changes(s->db) == 0)
		return RC_ENOENT;
	return rc_sqlite_audit(s, ctx->who, "blocklist.delete", sha256, "", "");
}

int
rc_sqlite_blocklist_delete(struct rc_store *store,
    const struct rc_store_ctx *ctx, const char *sha256)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 1)) != RC_OK)
		return rc;
	rc = delete_locked(s, ctx, sha256);
	return rc_sqlite_end(s, rc);
}

/* Reads up to max + 1 rows: the extra one only says that more remain. */
static int
page_rows(struct rc_sqlite *s, sqlite3_stmt *st, size_t max,
    struct rc_blocked_cert ***out, size_t *n, int *more)
{
	struct rc_blocked_cert **v = NULL, **tmp;
	int rc, row;

	*more = 0;
	while ((rc = rc_sqlite_step(s, st, &row)) == RC_OK && row) {
		if (*n == max) {
			*more = 1;
			break;
		}
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
		rc_blocked_cert_list_free(v, *n);
		*n = 0;
		return rc;
	}
	*out = v;
	return RC_OK;
}

static int
list_locked(struct rc_sqlite *s, const char *after, size_t max,
    struct rc_blocked_cert ***out, size_t *n, char **next)
{
	sqlite3_stmt *st;
	int rc, more = 0, err = SQLITE_OK;

	if ((st = rc_sqlite_stmt(s, sql_page, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_text(st, 1, after != NULL ? after : "", &err);
	rc_sqlite_bind_int(st, 2,
	    max >= INT64_MAX ? INT64_MAX : (int64_t)max + 1, &err);
	if (err != SQLITE_OK)
		rc = rc_sqlite_err(s, err);
	else
		rc = page_rows(s, st, max, out, n, &more);
	rc_sqlite_done(st);
	if (rc == RC_OK && more &&
	    (*next = rc_strdup((*out)[*n - 1]->sha256)) == NULL) {
		rc_blocked_cert_list_free(*out, *n);
		*out = NULL;
		*n = 0;
		rc = RC_ENOMEM;
	}
	return rc;
}

int
rc_sqlite_blocklist_list(struct rc_store *store, const char *after, size_t max,
    struct rc_blocked_cert ***out, size_t *n, char **next)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 0)) != RC_OK)
		return rc;
	rc = list_locked(s, after, max, out, n, next);
	if ((rc = rc_sqlite_end(s, rc)) != RC_OK) {
		rc_blocked_cert_list_free(*out, *n);
		*out = NULL;
		*n = 0;
		rc_free(*next);
		*next = NULL;
	}
	return rc;
}
