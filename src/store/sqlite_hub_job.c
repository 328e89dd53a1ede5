/*
 * Hub jobs (Jobs v2) in the SQLite backend (schema: hub_job).  A job is
 * created queued and only moves forward (rc_store_hub_job_next_ok); its
 * creation and every change of status are audited, statistics updates
 * alone are not (a running job reports them per device).
 */
#include <string.h>
#include <time.h>

#include "rollcall/mem.h"
#include "sqlite_int.h"

#define COLS                                                            \
	"hub, job_id, type, query_condition, method, twin, start_time," \
	" max_execution_time, status, failure_reason, statistics,"      \
	" created, updated, end_time"

static const char sql_load[] =
    "SELECT " COLS " FROM hub_job WHERE hub = ?1 AND job_id = ?2";
static const char sql_insert[] =
    "INSERT INTO hub_job (" COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
    " 0, ?9, ?10, ?11, ?11, 0)";
static const char sql_update[] =
    "UPDATE hub_job SET status = ?3, statistics = ?4, failure_reason = ?5,"
    " updated = ?6, end_time = ?7 WHERE hub = ?1 AND job_id = ?2";
static const char sql_page[] =
    "SELECT " COLS " FROM hub_job WHERE hub = ?1 AND job_id > ?2"
    " ORDER BY job_id LIMIT ?3";
static const char sql_page_status[] =
    "SELECT " COLS " FROM hub_job WHERE hub = ?1 AND job_id > ?2"
    " AND status = ?4 ORDER BY job_id LIMIT ?3";

static int
read_fields(sqlite3_stmt *st, struct rc_hub_job *j)
{
	int rc, status;

	status = sqlite3_column_int(st, 8);
	if (status < RC_HUB_JOB_QUEUED || status > RC_HUB_JOB_CANCELLED)
		return RC_EPARSE;
	j->status = (enum rc_hub_job_status)status;
	j->start_time = sqlite3_column_int64(st, 6);
	j->max_execution_time = sqlite3_column_int64(st, 7);
	j->created = sqlite3_column_int64(st, 11);
	j->updated = sqlite3_column_int64(st, 12);
	j->end_time = sqlite3_column_int64(st, 13);
	if ((rc = rc_sqlite_col_str(st, 0, &j->hub)) != RC_OK ||
	    (rc = rc_sqlite_col_str(st, 1, &j->job_id)) != RC_OK ||
	    (rc = rc_sqlite_col_str(st, 2, &j->type)) != RC_OK ||
	    (rc = rc_sqlite_col_str(st, 3, &j->query_condition)) != RC_OK ||
	    (rc = rc_sqlite_col_json(st, 4, &j->method)) != RC_OK ||
	    (rc = rc_sqlite_col_json(st, 5, &j->twin)) != RC_OK ||
	    (rc = rc_sqlite_col_str(st, 9, &j->failure_reason)) != RC_OK ||
	    (rc = rc_sqlite_col_json(st, 10, &j->statistics)) != RC_OK)
		return rc;
	return j->hub != NULL && j->job_id != NULL && j->type != NULL
	    ? RC_OK
	    : RC_EPARSE;
}

static int
read_row(sqlite3_stmt *st, struct rc_hub_job **out)
{
	struct rc_hub_job *j;
	int rc;

	*out = NULL;
	if ((j = rc_calloc(1, sizeof(*j))) == NULL)
		return RC_ENOMEM;
	if ((rc = read_fields(st, j)) != RC_OK) {
		rc_hub_job_free(j);
		return rc;
	}
	*out = j;
	return RC_OK;
}

static int
load(struct rc_sqlite *s, const char *hub, const char *id,
    struct rc_hub_job **out)
{
	sqlite3_stmt *st;
	int rc, row = 0, err = SQLITE_OK;

	*out = NULL;
	if ((st = rc_sqlite_stmt(s, sql_load, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_text(st, 1, hub, &err);
	rc_sqlite_bind_text(st, 2, id, &err);
	if (err != SQLITE_OK)
		rc = rc_sqlite_err(s, err);
	else if ((rc = rc_sqlite_step(s, st, &row)) == RC_OK)
		rc = row ? read_row(st, out) : RC_ENOENT;
	rc_sqlite_done(st);
	return rc;
}

static int
audit(struct rc_sqlite *s, const char *who, const char *action,
    const struct rc_hub_job *j)
{
	char *object;
	int rc;

	if ((rc = rc_store_hub_object(j->hub, j->job_id, &object)) != RC_OK)
		return rc;
	rc = rc_sqlite_audit(s, who, action, object, "", "");
	rc_free(object);
	return rc;
}

static int
insert_job(struct rc_sqlite *s, const struct rc_hub_job *in)
{
	sqlite3_stmt *st;
	int rc, err = SQLITE_OK;

	if ((st = rc_sqlite_stmt(s, sql_insert, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_text(st, 1, in->hub, &err);
	rc_sqlite_bind_text(st, 2, in->job_id, &err);
	rc_sqlite_bind_text(st, 3, in->type, &err);
	rc_sqlite_bind_text(st, 4, in->query_condition, &err);
	rc_sqlite_bind_json(st, 5, in->method, &err);
	rc_sqlite_bind_json(st, 6, in->twin, &err);
	rc_sqlite_bind_int(st, 7, in->start_time, &err);
	rc_sqlite_bind_int(st, 8, in->max_execution_time, &err);
	rc_sqlite_bind_text(st, 9, in->failure_reason, &err);
	rc_sqlite_bind_json(st, 10, in->statistics, &err);
	rc_sqlite_bind_int(st, 11, (int64_t)time(NULL), &err);
	if (err != SQLITE_OK) {
		rc_sqlite_done(st);
		return rc_sqlite_err(s, err);
	}
	return rc_sqlite_exec(s, st);
}

static int
put_locked(struct rc_sqlite *s, const struct rc_store_ctx *ctx,
    const struct rc_hub_job *in, struct rc_hub_job **out)
{
	struct rc_hub_job *cur = NULL;
	int rc;

	rc = load(s, in->hub, in->job_id, &cur);
	rc_hub_job_free(cur);
	if (rc == RC_OK)
		return RC_EEXIST;
	if (rc != RC_ENOENT || (rc = insert_job(s, in)) != RC_OK ||
	    (rc = load(s, in->hub, in->job_id, out)) != RC_OK)
		return rc;
	if ((rc = audit(s, ctx->who, "job.put", *out)) != RC_OK) {
		rc_hub_job_free(*out);
		*out = NULL;
	}
	return rc;
}

int
rc_sqlite_hub_job_put(struct rc_store *store, const struct rc_store_ctx *ctx,
    const struct rc_hub_job *in, struct rc_hub_job **out)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 1)) != RC_OK)
		return rc;
	rc = put_locked(s, ctx, in, out);
	if ((rc = rc_sqlite_end(s, rc)) != RC_OK) {
		rc_hub_job_free(*out);
		*out = NULL;
	}
	return rc;
}

int
rc_sqlite_hub_job_get(struct rc_store *store, const char *hub, const char *id,
    struct rc_hub_job **out)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 0)) != RC_OK)
		return rc;
	rc = load(s, hub, id, out);
	return rc_sqlite_end(s, rc);
}

/* Reads up to max + 1 rows: the extra one only says that more remain. */
static int
page_rows(struct rc_sqlite *s, sqlite3_stmt *st, size_t max,
    struct rc_hub_job ***out, size_t *n, int *more)
{
	struct rc_hub_job **v = NULL, **tmp;
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
	rc_sqlite_done(st);
	if (rc != RC_OK) {
		rc_hub_job_list_free(v, *n);
		*n = 0;
		return rc;
	}
	*out = v;
	return RC_OK;
}

static int
list_locked(struct rc_sqlite *s, const char *hub, int status, const char *after,
    size_t max, struct rc_hub_job ***out, size_t *n, char **next)
{
	sqlite3_stmt *st;
	int rc, more = 0, err = SQLITE_OK;

	st = rc_sqlite_stmt(s, status < 0 ? sql_page : sql_page_status, &rc);
	if (st == NULL)
		return rc;
	rc_sqlite_bind_text(st, 1, hub, &err);
	rc_sqlite_bind_text(st, 2, after != NULL ? after : "", &err);
	rc_sqlite_bind_int(st, 3,
	    max >= INT64_MAX ? INT64_MAX : (int64_t)max + 1, &err);
	if (status >= 0)
		rc_sqlite_bind_int(st, 4, status, &err);
	if (err != SQLITE_OK) {
		rc_sqlite_done(st);
		return rc_sqlite_err(s, err);
	}
	if ((rc = page_rows(s, st, max, out, n, &more)) == RC_OK && more &&
	    (*next = rc_strdup((*out)[*n - 1]->job_id)) == NULL) {
		rc_hub_job_list_free(*out, *n);
		*out = NULL;
		*n = 0;
		rc = RC_ENOMEM;
	}
	return rc;
}

int
rc_sqlite_hub_job_list(struct rc_store *store, const char *hub, int status,
    const char *after, size_t max, struct rc_hub_job ***out, size_t *n,
    char **next)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 0)) != RC_OK)
		return rc;
	rc = list_locked(s, hub, status, after, max, out, n, next);
	return rc_sqlite_end(s, rc);
}

/* Writes j's status, statistics, failure reason and times. */
static int
write_status(struct rc_sqlite *s, const struct rc_hub_job *j)
{
	sqlite3_stmt *st;
	int rc, err = SQLITE_OK;

	if ((st = rc_sqlite_stmt(s, sql_update, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_text(st, 1, j->hub, &err);
	rc_sqlite_bind_text(st, 2, j->job_id, &err);
	rc_sqlite_bind_int(st, 3, j->status, &err);
	rc_sqlite_bind_json(st, 4, j->statistics, &err);
	rc_sqlite_bind_text(st, 5, j->failure_reason, &err);
	rc_sqlite_bind_int(st, 6, j->updated, &err);
	rc_sqlite_bind_int(st, 7, j->end_time, &err);
	if (err != SQLITE_OK) {
		rc_sqlite_done(st);
		return rc_sqlite_err(s, err);
	}
	return rc_sqlite_exec(s, st);
}

/* The update's new values into j. */
static int
apply(struct rc_hub_job *j, enum rc_hub_job_status status,
    const json_t *statistics, const char *failure_reason)
{
	json_t *stats = NULL;
	char *reason = NULL;

	if ((statistics != NULL &&
	        (stats = json_deep_copy(statistics)) == NULL) ||
	    (failure_reason != NULL &&
	        (reason = rc_strdup(failure_reason)) == NULL)) {
		json_decref(stats);
		return RC_ENOMEM;
	}
	if (stats != NULL) {
		json_decref(j->statistics);
		j->statistics = stats;
	}
	if (reason != NULL) {
		rc_free(j->failure_reason);
		j->failure_reason = reason;
	}
	j->status = status;
	j->updated = (int64_t)time(NULL);
	if (status >= RC_HUB_JOB_COMPLETED)
		j->end_time = j->updated;
	return RC_OK;
}

static int
update_locked(struct rc_sqlite *s, const struct rc_store_ctx *ctx,
    const char *hub, const char *id, enum rc_hub_job_status status,
    const json_t *statistics, const char *failure_reason,
    struct rc_hub_job **out)
{
	struct rc_hub_job *j = NULL;
	enum rc_hub_job_status was;
	int rc;

	if ((rc = load(s, hub, id, &j)) != RC_OK)
		goto out;
	was = j->status;
	if (!rc_store_hub_job_next_ok(was, status)) {
		rc = RC_ESTALE;
		goto out;
	}
	if ((rc = apply(j, status, statistics, failure_reason)) != RC_OK ||
	    (rc = write_status(s, j)) != RC_OK)
		goto out;
	if (status != was &&
	    (rc = audit(s, ctx->who, "job.status", j)) != RC_OK)
		goto out;
	*out = j;
	j = NULL;
out:
	rc_hub_job_free(j);
	return rc;
}

int
rc_sqlite_hub_job_update(struct rc_store *store, const struct rc_store_ctx *ctx,
    const char *hub, const char *id, enum rc_hub_job_status status,
    const json_t *statistics, const char *failure_reason,
    struct rc_hub_job **out)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 1)) != RC_OK)
		return rc;
	rc = update_locked(s, ctx, hub, id, status, statistics, failure_reason,
	    out);
	if ((rc = rc_sqlite_end(s, rc)) != RC_OK) {
		rc_hub_job_free(*out);
		*out = NULL;
	}
	return rc;
}
