/*
 * The telemetry log of the hubs in the SQLite backend (schema: hub_event,
 * hub_event_seq).  An append takes the hub's next seq from hub_event_seq,
 * inserts the event and drops what falls out of the retention window, in
 * one transaction: the log never holds more than the retention count
 * after a commit, and a seq is never handed out twice.
 */
#include <string.h>
#include <time.h>

#include "rollcall/mem.h"
#include "sqlite_int.h"

static const char sql_next[] =
    "INSERT INTO hub_event_seq (hub, last) VALUES (?1, 1)"
    " ON CONFLICT (hub) DO UPDATE SET last = last + 1 RETURNING last";
static const char sql_insert[] =
    "INSERT INTO hub_event (hub, seq, device_id, time, props, body)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char sql_trim[] =
    "DELETE FROM hub_event WHERE hub = ?1 AND seq <= ?2";
static const char sql_read[] =
    "SELECT hub, seq, device_id, time, props, body FROM hub_event"
    " WHERE hub = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3";
static const char sql_bounds[] =
    "SELECT (SELECT min(seq) FROM hub_event WHERE hub = ?1),"
    " (SELECT last FROM hub_event_seq WHERE hub = ?1)";

static int
next_seq(struct rc_sqlite *s, const char *hub, int64_t *seq)
{
	sqlite3_stmt *st;
	int rc, row, err = SQLITE_OK;

	*seq = 0;
	if ((st = rc_sqlite_stmt(s, sql_next, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_text(st, 1, hub, &err);
	if (err != SQLITE_OK) {
		rc_sqlite_done(st);
		return rc_sqlite_err(s, err);
	}
	/* stepped to the end: RETURNING rows come before the change is done */
	while ((rc = rc_sqlite_step(s, st, &row)) == RC_OK && row)
		*seq = sqlite3_column_int64(st, 0);
	rc_sqlite_done(st);
	if (rc == RC_OK && *seq <= 0)
		rc = RC_EPARSE;
	return rc;
}

static int
insert_event(struct rc_sqlite *s, const struct rc_hub_event *in, int64_t seq)
{
	sqlite3_stmt *st;
	int rc, err = SQLITE_OK;

	if ((st = rc_sqlite_stmt(s, sql_insert, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_text(st, 1, in->hub, &err);
	rc_sqlite_bind_int(st, 2, seq, &err);
	rc_sqlite_bind_text(st, 3, in->device_id, &err);
	rc_sqlite_bind_int(st, 4,
	    in->time != 0 ? in->time : (int64_t)time(NULL), &err);
	rc_sqlite_bind_json(st, 5, in->props, &err);
	/* a non-NULL pointer: an empty body is an empty blob, not NULL */
	rc_sqlite_bind_blob(st, 6,
	    in->body_len > 0 ? (const void *)in->body : (const void *)"",
	    in->body_len, &err);
	if (err != SQLITE_OK) {
		rc_sqlite_done(st);
		return rc_sqlite_err(s, err);
	}
	return rc_sqlite_exec(s, st);
}

static int
trim(struct rc_sqlite *s, const char *hub, int64_t upto)
{
	sqlite3_stmt *st;
	int rc, err = SQLITE_OK;

	if (upto <= 0)
		return RC_OK;
	if ((st = rc_sqlite_stmt(s, sql_trim, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_text(st, 1, hub, &err);
	rc_sqlite_bind_int(st, 2, upto, &err);
	if (err != SQLITE_OK) {
		rc_sqlite_done(st);
		return rc_sqlite_err(s, err);
	}
	return rc_sqlite_exec(s, st);
}

/*
 * All of in[] in one transaction, so n events cost one fsync (group
 * commit): seqs[i] is in[i]'s.  Nothing is stored unless all are.
 */
int
rc_sqlite_hub_event_append(struct rc_store *store,
    const struct rc_hub_event *const *in, size_t n, size_t retain,
    int64_t *seqs)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	size_t i;
	int64_t seq;
	int rc = RC_OK;

	if ((rc = rc_sqlite_begin(s, 1)) != RC_OK)
		return rc;
	for (i = 0; i < n && rc == RC_OK; i++) {
		if ((rc = next_seq(s, in[i]->hub, &seq)) != RC_OK ||
		    (rc = insert_event(s, in[i], seq)) != RC_OK)
			break;
		seqs[i] = seq;
		if (retain < (size_t)seq)
			rc = trim(s, in[i]->hub, seq - (int64_t)retain);
	}
	if ((rc = rc_sqlite_end(s, rc)) != RC_OK)
		memset(seqs, 0, n * sizeof(*seqs));
	return rc;
}

static int
read_body(sqlite3_stmt *st, int i, struct rc_hub_event *e)
{
	const void *p;
	int len;

	len = sqlite3_column_bytes(st, i);
	if (len <= 0)
		return RC_OK;
	if ((p = sqlite3_column_blob(st, i)) == NULL)
		return RC_ENOMEM;
	if ((e->body = rc_malloc((size_t)len)) == NULL)
		return RC_ENOMEM;
	memcpy(e->body, p, (size_t)len);
	e->body_len = (size_t)len;
	return RC_OK;
}

static int
read_event(sqlite3_stmt *st, struct rc_hub_event **out)
{
	struct rc_hub_event *e;
	int rc;

	*out = NULL;
	if ((e = rc_calloc(1, sizeof(*e))) == NULL)
		return RC_ENOMEM;
	e->seq = sqlite3_column_int64(st, 1);
	e->time = sqlite3_column_int64(st, 3);
	if ((rc = rc_sqlite_col_str(st, 0, &e->hub)) != RC_OK ||
	    (rc = rc_sqlite_col_str(st, 2, &e->device_id)) != RC_OK ||
	    (rc = rc_sqlite_col_json(st, 4, &e->props)) != RC_OK ||
	    (rc = read_body(st, 5, e)) != RC_OK) {
		rc_hub_event_free(e);
		return rc;
	}
	*out = e;
	return RC_OK;
}

static int
read_locked(struct rc_sqlite *s, const char *hub, int64_t after, size_t max,
    struct rc_hub_event ***out, size_t *n)
{
	struct rc_hub_event **v = NULL, **tmp;
	sqlite3_stmt *st;
	int rc, row, err = SQLITE_OK;

	if ((st = rc_sqlite_stmt(s, sql_read, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_text(st, 1, hub, &err);
	rc_sqlite_bind_int(st, 2, after, &err);
	rc_sqlite_bind_int(st, 3, max > INT64_MAX ? INT64_MAX : (int64_t)max,
	    &err);
	rc = err != SQLITE_OK ? rc_sqlite_err(s, err) : RC_OK;
	while (
	    rc == RC_OK && (rc = rc_sqlite_step(s, st, &row)) == RC_OK && row) {
		if ((tmp = rc_reallocarray(v, *n + 1, sizeof(*v))) == NULL) {
			rc = RC_ENOMEM;
			break;
		}
		v = tmp;
		if ((rc = read_event(st, &v[*n])) == RC_OK)
			(*n)++;
	}
	rc_sqlite_done(st);
	if (rc != RC_OK) {
		rc_hub_event_list_free(v, *n);
		*n = 0;
		return rc;
	}
	*out = v;
	return RC_OK;
}

int
rc_sqlite_hub_event_read(struct rc_store *store, const char *hub, int64_t after,
    size_t max, struct rc_hub_event ***out, size_t *n)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 0)) != RC_OK)
		return rc;
	rc = read_locked(s, hub, after, max, out, n);
	return rc_sqlite_end(s, rc);
}

int
rc_sqlite_hub_event_bounds(struct rc_store *store, const char *hub,
    int64_t *first, int64_t *last)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	sqlite3_stmt *st;
	int rc, row, err = SQLITE_OK;

	if ((rc = rc_sqlite_begin(s, 0)) != RC_OK)
		return rc;
	if ((st = rc_sqlite_stmt(s, sql_bounds, &rc)) == NULL)
		goto out;
	rc_sqlite_bind_text(st, 1, hub, &err);
	if (err != SQLITE_OK)
		rc = rc_sqlite_err(s, err);
	else if ((rc = rc_sqlite_step(s, st, &row)) == RC_OK && row) {
		*first = sqlite3_column_int64(st, 0);
		*last = sqlite3_column_int64(st, 1);
	}
	rc_sqlite_done(st);
out:
	return rc_sqlite_end(s, rc);
}
