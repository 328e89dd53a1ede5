/*
 * Hub device identities and their twins in the SQLite backend (schema:
 * hub_device).  One row per (hub, device ID); the identity and the twin
 * are written by different statements so that neither kind of change can
 * touch the other's fields.  Every change appends its audit row in the
 * same transaction; last_activity is not a change and is not audited.
 */
#include <string.h>
#include <time.h>

#include "rollcall/mem.h"
#include "sqlite_int.h"

#define COLS                                                                  \
	"hub, device_id, auth, primary_thumb, secondary_thumb, enabled,"      \
	" status_reason, generation_id, etag, created, updated,"              \
	" last_activity, iot_edge, tags, desired, desired_version, reported," \
	" reported_version, twin_etag, twin_version"

static const char sql_load[] =
    "SELECT " COLS " FROM hub_device WHERE hub = ?1 AND device_id = ?2";
static const char sql_insert[] =
    "INSERT INTO hub_device (" COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
    " ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)";
static const char sql_identity[] =
    "UPDATE hub_device SET auth = ?3, primary_thumb = ?4,"
    " secondary_thumb = ?5, enabled = ?6, status_reason = ?7, etag = ?8,"
    " updated = ?9, iot_edge = ?10 WHERE hub = ?1 AND device_id = ?2";
static const char sql_twin[] =
    "UPDATE hub_device SET tags = ?3, desired = ?4, desired_version = ?5,"
    " reported = ?6, reported_version = ?7, twin_etag = ?8,"
    " twin_version = ?9 WHERE hub = ?1 AND device_id = ?2";
static const char sql_touch[] = "UPDATE hub_device SET last_activity = ?3"
                                " WHERE hub = ?1 AND device_id = ?2";
static const char sql_delete[] =
    "DELETE FROM hub_device WHERE hub = ?1 AND device_id = ?2";
static const char sql_page[] =
    "SELECT " COLS " FROM hub_device WHERE hub = ?1 AND device_id > ?2"
    " ORDER BY device_id LIMIT ?3";
static const char sql_thumb[] =
    "SELECT " COLS " FROM hub_device"
    " WHERE primary_thumb = ?1 OR secondary_thumb = ?1"
    " ORDER BY hub, device_id";

static int
col_section(sqlite3_stmt *st, int i, json_t **out)
{
	int rc;

	if ((rc = rc_sqlite_col_json(st, i, out)) != RC_OK)
		return rc;
	return json_is_object(*out) ? RC_OK : RC_EPARSE;
}

static int
read_fields(sqlite3_stmt *st, struct rc_hub_device *d)
{
	int rc, auth;

	auth = sqlite3_column_int(st, 2);
	if (auth < RC_HUB_AUTH_NONE || auth > RC_HUB_AUTH_CA)
		return RC_EPARSE;
	d->auth = (enum rc_hub_auth)auth;
	d->enabled = sqlite3_column_int(st, 5) != 0;
	d->created = sqlite3_column_int64(st, 9);
	d->updated = sqlite3_column_int64(st, 10);
	d->last_activity = sqlite3_column_int64(st, 11);
	d->capabilities_iot_edge = sqlite3_column_int(st, 12) != 0;
	d->desired_version = sqlite3_column_int64(st, 15);
	d->reported_version = sqlite3_column_int64(st, 17);
	d->twin_version = sqlite3_column_int64(st, 19);
	if ((rc = rc_sqlite_col_str(st, 0, &d->hub)) != RC_OK ||
	    (rc = rc_sqlite_col_str(st, 1, &d->device_id)) != RC_OK ||
	    (rc = rc_sqlite_col_buf(st, 3, d->primary_thumb,
	         sizeof(d->primary_thumb))) != RC_OK ||
	    (rc = rc_sqlite_col_buf(st, 4, d->secondary_thumb,
	         sizeof(d->secondary_thumb))) != RC_OK ||
	    (rc = rc_sqlite_col_str(st, 6, &d->status_reason)) != RC_OK ||
	    (rc = rc_sqlite_col_buf(st, 7, d->generation_id,
	         sizeof(d->generation_id))) != RC_OK ||
	    (rc = rc_sqlite_col_buf(st, 8, d->etag, sizeof(d->etag))) !=
	        RC_OK ||
	    (rc = col_section(st, 13, &d->tags)) != RC_OK ||
	    (rc = col_section(st, 14, &d->desired)) != RC_OK ||
	    (rc = col_section(st, 16, &d->reported)) != RC_OK ||
	    (rc = rc_sqlite_col_buf(st, 18, d->twin_etag,
	         sizeof(d->twin_etag))) != RC_OK)
		return rc;
	return d->hub != NULL && d->device_id != NULL ? RC_OK : RC_EPARSE;
}

static int
read_row(sqlite3_stmt *st, struct rc_hub_device **out)
{
	struct rc_hub_device *d;
	int rc;

	*out = NULL;
	if ((d = rc_calloc(1, sizeof(*d))) == NULL)
		return RC_ENOMEM;
	if ((rc = read_fields(st, d)) != RC_OK) {
		rc_hub_device_free(d);
		return rc;
	}
	*out = d;
	return RC_OK;
}

/* The device, or RC_ENOENT. */
static int
load(struct rc_sqlite *s, const char *hub, const char *id,
    struct rc_hub_device **out)
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

/* "" binds SQL NULL: an empty thumbprint slot. */
static const char *
thumb_or_null(const char *t)
{
	return t[0] != '\0' ? t : NULL;
}

static void
bind_section(sqlite3_stmt *st, int i, const json_t *v, int *err)
{
	if (v == NULL)
		rc_sqlite_bind_text(st, i, "{}", err);
	else
		rc_sqlite_bind_json(st, i, v, err);
}

/* Inserts d, a complete new record. */
static int
insert_row(struct rc_sqlite *s, const struct rc_hub_device *d)
{
	sqlite3_stmt *st;
	int rc, err = SQLITE_OK;

	if ((st = rc_sqlite_stmt(s, sql_insert, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_text(st, 1, d->hub, &err);
	rc_sqlite_bind_text(st, 2, d->device_id, &err);
	rc_sqlite_bind_int(st, 3, d->auth, &err);
	rc_sqlite_bind_text(st, 4, thumb_or_null(d->primary_thumb), &err);
	rc_sqlite_bind_text(st, 5, thumb_or_null(d->secondary_thumb), &err);
	rc_sqlite_bind_int(st, 6, d->enabled != 0, &err);
	rc_sqlite_bind_text(st, 7, d->status_reason, &err);
	rc_sqlite_bind_text(st, 8, d->generation_id, &err);
	rc_sqlite_bind_text(st, 9, d->etag, &err);
	rc_sqlite_bind_int(st, 10, d->created, &err);
	rc_sqlite_bind_int(st, 11, d->updated, &err);
	rc_sqlite_bind_int(st, 12, d->last_activity, &err);
	rc_sqlite_bind_int(st, 13, d->capabilities_iot_edge != 0, &err);
	bind_section(st, 14, d->tags, &err);
	bind_section(st, 15, d->desired, &err);
	rc_sqlite_bind_int(st, 16, d->desired_version, &err);
	bind_section(st, 17, d->reported, &err);
	rc_sqlite_bind_int(st, 18, d->reported_version, &err);
	rc_sqlite_bind_text(st, 19, d->twin_etag, &err);
	rc_sqlite_bind_int(st, 20, d->twin_version, &err);
	if (err != SQLITE_OK) {
		rc_sqlite_done(st);
		return rc_sqlite_err(s, err);
	}
	return rc_sqlite_exec(s, st);
}

/*
 * The record a create stores: in's identity and initial twin, with what
 * the store assigns.  Borrows in's strings and JSON.
 */
static int
new_record(const struct rc_hub_device *in, struct rc_hub_device *d)
{
	int rc;

	*d = *in;
	d->created = d->updated = (int64_t)time(NULL);
	d->last_activity = 0;
	d->reported = NULL;
	d->desired_version = d->reported_version = d->twin_version = 1;
	if ((rc = rc_store_hub_generation_new(d->generation_id)) != RC_OK ||
	    (rc = rc_store_etag_new(d->etag)) != RC_OK)
		return rc;
	return rc_store_etag_new(d->twin_etag);
}

static int
update_identity(struct rc_sqlite *s, const struct rc_hub_device *cur,
    const struct rc_hub_device *in, const char *etag)
{
	sqlite3_stmt *st;
	int rc, err = SQLITE_OK;

	if ((st = rc_sqlite_stmt(s, sql_identity, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_text(st, 1, cur->hub, &err);
	rc_sqlite_bind_text(st, 2, cur->device_id, &err);
	rc_sqlite_bind_int(st, 3, in->auth, &err);
	rc_sqlite_bind_text(st, 4, thumb_or_null(in->primary_thumb), &err);
	rc_sqlite_bind_text(st, 5, thumb_or_null(in->secondary_thumb), &err);
	rc_sqlite_bind_int(st, 6, in->enabled != 0, &err);
	rc_sqlite_bind_text(st, 7, in->status_reason, &err);
	rc_sqlite_bind_text(st, 8, etag, &err);
	rc_sqlite_bind_int(st, 9, (int64_t)time(NULL), &err);
	rc_sqlite_bind_int(st, 10, in->capabilities_iot_edge != 0, &err);
	if (err != SQLITE_OK) {
		rc_sqlite_done(st);
		return rc_sqlite_err(s, err);
	}
	return rc_sqlite_exec(s, st);
}

static int
audit(struct rc_sqlite *s, const char *who, const char *action, const char *hub,
    const char *id, const char *before, const char *after)
{
	char *object;
	int rc;

	if ((rc = rc_store_hub_object(hub, id, &object)) != RC_OK)
		return rc;
	rc = rc_sqlite_audit(s, who, action, object, before, after);
	rc_free(object);
	return rc;
}

/* Writes the create or update of in; before gets the old etag or "". */
static int
write_put(struct rc_sqlite *s, const struct rc_store_ctx *ctx,
    const struct rc_hub_device *in, char before[40], char after[40])
{
	struct rc_hub_device *cur = NULL, row;
	int rc;

	before[0] = after[0] = '\0';
	rc = load(s, in->hub, in->device_id, &cur);
	if (rc != RC_OK && rc != RC_ENOENT)
		return rc;
	if (ctx->if_match == NULL) {
		/* IoT Hub: a PUT without If-Match only creates (409) */
		if (cur != NULL)
			rc = RC_EEXIST;
		else if ((rc = new_record(in, &row)) == RC_OK &&
		    (rc = insert_row(s, &row)) == RC_OK)
			memcpy(after, row.etag, 40);
		goto out;
	}
	if (cur == NULL) {
		rc = RC_ENOENT;
		goto out;
	}
	memcpy(before, cur->etag, 40);
	if ((rc = rc_store_if_match(ctx, cur->etag)) != RC_OK ||
	    (rc = rc_store_etag_new(after)) != RC_OK)
		goto out;
	rc = update_identity(s, cur, in, after);
out:
	rc_hub_device_free(cur);
	return rc;
}

static int
put_locked(struct rc_sqlite *s, const struct rc_store_ctx *ctx,
    const struct rc_hub_device *in, struct rc_hub_device **out)
{
	char before[40], after[40];
	int rc;

	if ((rc = write_put(s, ctx, in, before, after)) != RC_OK ||
	    (rc = load(s, in->hub, in->device_id, out)) != RC_OK)
		return rc;
	rc = audit(s, ctx->who, "hubdevice.put", (*out)->hub, (*out)->device_id,
	    before, after);
	if (rc != RC_OK) {
		rc_hub_device_free(*out);
		*out = NULL;
	}
	return rc;
}

int
rc_sqlite_hub_device_put(struct rc_store *store, const struct rc_store_ctx *ctx,
    const struct rc_hub_device *in, struct rc_hub_device **out)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 1)) != RC_OK)
		return rc;
	rc = put_locked(s, ctx, in, out);
	if ((rc = rc_sqlite_end(s, rc)) != RC_OK) {
		rc_hub_device_free(*out);
		*out = NULL;
	}
	return rc;
}

int
rc_sqlite_hub_device_get(struct rc_store *store, const char *hub,
    const char *id, struct rc_hub_device **out)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 0)) != RC_OK)
		return rc;
	rc = load(s, hub, id, out);
	return rc_sqlite_end(s, rc);
}

/*
 * Runs one of the "... WHERE hub = ?1 AND device_id = ?2" statements, with
 * *v as ?3 if v is non-NULL.  RC_ENOENT if it changed no row.
 */
static int
exec_key(struct rc_sqlite *s, const char *sql, const char *hub, const char *id,
    const int64_t *v)
{
	sqlite3_stmt *st;
	int rc, err = SQLITE_OK;

	if ((st = rc_sqlite_stmt(s, sql, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_text(st, 1, hub, &err);
	rc_sqlite_bind_text(st, 2, id, &err);
	if (v != NULL)
		rc_sqlite_bind_int(st, 3, *v, &err);
	if (err != SQLITE_OK) {
		rc_sqlite_done(st);
		return rc_sqlite_err(s, err);
	}
	if ((rc = rc_sqlite_exec(s, st)) == RC_OK &&
	    sqlite3_changes(s->db) == 0)
		rc = RC_ENOENT;
	return rc;
}

static int
delete_locked(struct rc_sqlite *s, const struct rc_store_ctx *ctx,
    const char *hub, const char *id)
{
	struct rc_hub_device *cur = NULL;
	int rc;

	if ((rc = load(s, hub, id, &cur)) == RC_OK &&
	    (rc = rc_store_if_match(ctx, cur->etag)) == RC_OK &&
	    (rc = exec_key(s, sql_delete, hub, id, NULL)) == RC_OK)
		rc = audit(s, ctx->who, "hubdevice.delete", cur->hub,
		    cur->device_id, cur->etag, "");
	rc_hub_device_free(cur);
	return rc;
}

int
rc_sqlite_hub_device_delete(struct rc_store *store,
    const struct rc_store_ctx *ctx, const char *hub, const char *id)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 1)) != RC_OK)
		return rc;
	rc = delete_locked(s, ctx, hub, id);
	return rc_sqlite_end(s, rc);
}

int
rc_sqlite_hub_device_touch(struct rc_store *store, const char *hub,
    const char *id, int64_t when)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 1)) != RC_OK)
		return rc;
	rc = exec_key(s, sql_touch, hub, id, &when);
	return rc_sqlite_end(s, rc);
}

/* Reads the rows of a bound statement; up to max (0: all) + 1. */
static int
read_rows(struct rc_sqlite *s, sqlite3_stmt *st, size_t max,
    struct rc_hub_device ***out, size_t *n, int *more)
{
	struct rc_hub_device **v = NULL, **tmp;
	int rc, row;

	*more = 0;
	while ((rc = rc_sqlite_step(s, st, &row)) == RC_OK && row) {
		if (max != 0 && *n == max) {
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
		rc_hub_device_list_free(v, *n);
		*n = 0;
		return rc;
	}
	*out = v;
	return RC_OK;
}

static int
list_locked(struct rc_sqlite *s, const char *hub, const char *after, size_t max,
    struct rc_hub_device ***out, size_t *n, char **next)
{
	sqlite3_stmt *st;
	int rc, more = 0, err = SQLITE_OK;

	if ((st = rc_sqlite_stmt(s, sql_page, &rc)) == NULL)
		return rc;
	/* one more than asked for tells whether another page follows */
	rc_sqlite_bind_text(st, 1, hub, &err);
	rc_sqlite_bind_text(st, 2, after != NULL ? after : "", &err);
	rc_sqlite_bind_int(st, 3,
	    max >= INT64_MAX ? INT64_MAX : (int64_t)max + 1, &err);
	if (err != SQLITE_OK) {
		rc_sqlite_done(st);
		return rc_sqlite_err(s, err);
	}
	if ((rc = read_rows(s, st, max, out, n, &more)) == RC_OK && more &&
	    (*next = rc_strdup((*out)[*n - 1]->device_id)) == NULL) {
		rc_hub_device_list_free(*out, *n);
		*out = NULL;
		*n = 0;
		rc = RC_ENOMEM;
	}
	return rc;
}

int
rc_sqlite_hub_device_list(struct rc_store *store, const char *hub,
    const char *after, size_t max, struct rc_hub_device ***out, size_t *n,
    char **next)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 0)) != RC_OK)
		return rc;
	rc = list_locked(s, hub, after, max, out, n, next);
	return rc_sqlite_end(s, rc);
}

int
rc_sqlite_hub_device_find_thumb(struct rc_store *store, const char *thumb,
    struct rc_hub_device ***out, size_t *n)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	sqlite3_stmt *st;
	int rc, more, err = SQLITE_OK;

	if ((rc = rc_sqlite_begin(s, 0)) != RC_OK)
		return rc;
	if ((st = rc_sqlite_stmt(s, sql_thumb, &rc)) == NULL)
		goto out;
	rc_sqlite_bind_text(st, 1, thumb, &err);
	if (err != SQLITE_OK) {
		rc_sqlite_done(st);
		rc = rc_sqlite_err(s, err);
		goto out;
	}
	rc = read_rows(s, st, 0, out, n, &more);
out:
	return rc_sqlite_end(s, rc);
}

/* Writes the twin sections and versions of d, with etag. */
static int
write_twin(struct rc_sqlite *s, const struct rc_hub_device *d)
{
	sqlite3_stmt *st;
	int rc, err = SQLITE_OK;

	if ((st = rc_sqlite_stmt(s, sql_twin, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_text(st, 1, d->hub, &err);
	rc_sqlite_bind_text(st, 2, d->device_id, &err);
	bind_section(st, 3, d->tags, &err);
	bind_section(st, 4, d->desired, &err);
	rc_sqlite_bind_int(st, 5, d->desired_version, &err);
	bind_section(st, 6, d->reported, &err);
	rc_sqlite_bind_int(st, 7, d->reported_version, &err);
	rc_sqlite_bind_text(st, 8, d->twin_etag, &err);
	rc_sqlite_bind_int(st, 9, d->twin_version, &err);
	if (err != SQLITE_OK) {
		rc_sqlite_done(st);
		return rc_sqlite_err(s, err);
	}
	return rc_sqlite_exec(s, st);
}

static const char *
twin_action(const struct rc_hub_twin_patch *p)
{
	if (p->tags == NULL && p->desired == NULL)
		return "twin.report";
	return p->replace ? "twin.replace" : "twin.patch";
}

static int
twin_locked(struct rc_sqlite *s, const struct rc_store_ctx *ctx,
    const char *hub, const char *id, const struct rc_hub_twin_patch *p,
    struct rc_hub_device **out)
{
	struct rc_hub_device *d = NULL;
	char before[40];
	int rc;

	if ((rc = load(s, hub, id, &d)) != RC_OK ||
	    (rc = rc_store_if_match(ctx, d->twin_etag)) != RC_OK ||
	    (rc = rc_store_hub_twin_apply(d, p)) != RC_OK)
		goto out;
	memcpy(before, d->twin_etag, sizeof(before));
	if ((rc = rc_store_etag_new(d->twin_etag)) != RC_OK ||
	    (rc = write_twin(s, d)) != RC_OK ||
	    (rc = audit(s, ctx->who, twin_action(p), d->hub, d->device_id,
	         before, d->twin_etag)) != RC_OK)
		goto out;
	*out = d;
	d = NULL;
out:
	rc_hub_device_free(d);
	return rc;
}

int
rc_sqlite_hub_twin_update(struct rc_store *store,
    const struct rc_store_ctx *ctx, const char *hub, const char *id,
    const struct rc_hub_twin_patch *p, struct rc_hub_device **out)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 1)) != RC_OK)
		return rc;
	rc = twin_locked(s, ctx, hub, id, p, out);
	if ((rc = rc_sqlite_end(s, rc)) != RC_OK) {
		rc_hub_device_free(*out);
		*out = NULL;
	}
	return rc;
}
