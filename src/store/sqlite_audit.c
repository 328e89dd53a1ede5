/*
 * Audit rows in the SQLite backend.  A row is appended inside the
 * transaction of the change it records, after the change: both commit or
 * neither does.  seq is the previous row's + 1 (the write lock of BEGIN
 * IMMEDIATE makes read-then-insert safe across processes), so the log has
 * no gaps unless someone removes a row, which rc_store_audit_verify finds.
 */
#include <string.h>
#include <time.h>

#include "rollcall/mem.h"
#include "sqlite_int.h"

static const char sql_last[] =
    "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1";
static const char sql_insert[] =
    "INSERT INTO audit (seq, time, who, action, object, etag_before,"
    " etag_after, prev_hash, hash)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char sql_page[] =
    "SELECT seq, time, who, action, object, etag_before, etag_after,"
    " prev_hash, hash FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2";

/* The newest row's seq and hash, or 0 and the genesis hash. */
static int
audit_last(struct rc_sqlite *s, int64_t *seq, char hash[65])
{
	sqlite3_stmt *st;
	int rc, row;

	*seq = 0;
	memcpy(hash, rc_store_audit_genesis(), 65);
	if ((st = rc_sqlite_stmt(s, sql_last, &rc)) == NULL)
		return rc;
	if ((rc = rc_sqlite_step(s, st, &row)) == RC_OK && row) {
		*seq = sqlite3_column_int64(st, 0);
		rc = rc_sqlite_col_buf(st, 1, hash, 65);
	}
	rc_sqlite_done(st);
	return rc;
}

int
rc_sqlite_audit(struct rc_sqlite *s, const char *who, const char *action,
    const char *object, const char *before, const char *after)
{
	struct rc_audit a;
	sqlite3_stmt *st;
	int rc, err = SQLITE_OK;

	memset(&a, 0, sizeof(a));
	if ((rc = audit_last(s, &a.seq, a.prev_hash)) != RC_OK)
		return rc;
	a.seq++;
	a.time = (int64_t)time(NULL);
	/* borrowed for hashing only; rc_audit_hash does not keep them */
	a.who = (char *)who;
	a.action = (char *)action;
	a.object = (char *)object;
	a.etag_before = (char *)(before != NULL ? before : "");
	a.etag_after = (char *)(after != NULL ? after : "");
	if ((rc = rc_audit_hash(&a, a.hash)) != RC_OK)
		return rc;
	if ((st = rc_sqlite_stmt(s, sql_insert, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_int(st, 1, a.seq, &err);
	rc_sqlite_bind_int(st, 2, a.time, &err);
	rc_sqlite_bind_text(st, 3, a.who, &err);
	rc_sqlite_bind_text(st, 4, a.action, &err);
	rc_sqlite_bind_text(st, 5, a.object, &err);
	rc_sqlite_bind_text(st, 6, a.etag_before, &err);
	rc_sqlite_bind_text(st, 7, a.etag_after, &err);
	rc_sqlite_bind_text(st, 8, a.prev_hash, &err);
	rc_sqlite_bind_text(st, 9, a.hash, &err);
	if (err != SQLITE_OK) {
		rc_sqlite_done(st);
		return rc_sqlite_err(s, err);
	}
	return rc_sqlite_exec(s, st);
}

static int
audit_row(sqlite3_stmt *st, struct rc_audit **out)
{
	struct rc_audit *a;
	int rc;

	*out = NULL;
	if ((a = rc_calloc(1, sizeof(*a))) == NULL)
		return RC_ENOMEM;
	a->seq = sqlite3_column_int64(st, 0);
	a->time = sqlite3_column_int64(st, 1);
	if ((rc = rc_sqlite_col_str(st, 2, &a->who)) != RC_OK ||
	    (rc = rc_sqlite_col_str(st, 3, &a->action)) != RC_OK ||
	    (rc = rc_sqlite_col_str(st, 4, &a->object)) != RC_OK ||
	    (rc = rc_sqlite_col_str(st, 5, &a->etag_before)) != RC_OK ||
	    (rc = rc_sqlite_col_str(st, 6, &a->etag_after)) != RC_OK ||
	    (rc = rc_sqlite_col_buf(st, 7, a->prev_hash,
	         sizeof(a->prev_hash))) != RC_OK ||
	    (rc = rc_sqlite_col_buf(st, 8, a->hash, sizeof(a->hash))) !=
	        RC_OK) {
		rc_audit_free(a);
		return rc;
	}
	*out = a;
	return RC_OK;
}

static int
audit_page(struct rc_sqlite *s, int64_t after, size_t max,
    struct rc_audit ***out, size_t *n)
{
	struct rc_audit **v = NULL, **tmp;
	sqlite3_stmt *st;
	int rc, row, err = SQLITE_OK;

	if ((st = rc_sqlite_stmt(s, sql_page, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_int(st, 1, after, &err);
	rc_sqlite_bind_int(st, 2, max > INT64_MAX ? INT64_MAX : (int64_t)max,
	    &err);
	if (err != SQLITE_OK) {
		rc = rc_sqlite_err(s, err);
		goto out;
	}
	while ((rc = rc_sqlite_step(s, st, &row)) == RC_OK && row) {
		if ((tmp = rc_reallocarray(v, *n + 1, sizeof(*v))) == NULL) {
			rc = RC_ENOMEM;
			break;
		}
		v = tmp;
		if ((rc = audit_row(st, &v[*n])) != RC_OK)
			break;
		(*n)++;
	}
out:
	rc_sqlite_done(st);
	if (rc != RC_OK) {
		rc_audit_list_free(v, *n);
		*n = 0;
		return rc;
	}
	*out = v;
	return RC_OK;
}

int
rc_sqlite_audit_list(struct rc_store *store, int64_t after, size_t max,
    struct rc_audit ***out, size_t *n)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 0)) != RC_OK)
		return rc;
	rc = audit_page(s, after, max, out, n);
	return rc_sqlite_end(s, rc);
}
