/*
 * Individual enrollments and enrollment groups in the SQLite backend
 * (schema: enrollment, enrollment_cert, group_ca_ref).  A put replaces the
 * enrollment's certificate and CA-name rows wholesale, so moving a
 * certificate between the slots of one enrollment is an ordinary put; a
 * certificate held by another enrollment is refused before anything is
 * written, naming the holder (seed rule S13), with the unique index on
 * sha256 as the backstop.
 */
#include <string.h>
#include <time.h>

#include "rollcall/mem.h"
#include "sqlite_int.h"

static const char sql_find[] = "SELECT rid, id, etag FROM enrollment"
                               " WHERE kind = ?1 AND id = ?2";
static const char sql_load[] =
    "SELECT kind, id, device_id, enabled, etag, created, updated, doc"
    " FROM enrollment WHERE rid = ?1";
static const char sql_certs[] =
    "SELECT slot, der, sha1, sha256, subject, issuer, serial, not_before,"
    " not_after, version FROM enrollment_cert WHERE rid = ?1";
static const char sql_refs[] =
    "SELECT slot, ca_name FROM group_ca_ref WHERE rid = ?1";
static const char sql_insert[] =
    "INSERT INTO enrollment (kind, id, device_id, enabled, etag, created,"
    " updated, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)";
static const char sql_update[] =
    "UPDATE enrollment SET device_id = ?2, enabled = ?3, etag = ?4,"
    " updated = ?5, doc = ?6 WHERE rid = ?1";
static const char sql_delete[] = "DELETE FROM enrollment WHERE rid = ?1";
static const char sql_cert_clear[] =
    "DELETE FROM enrollment_cert WHERE rid = ?1";
static const char sql_cert_add[] =
    "INSERT INTO enrollment_cert (rid, slot, der, sha1, sha256, subject,"
    " issuer, serial, not_before, not_after, version)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
static const char sql_ref_clear[] = "DELETE FROM group_ca_ref WHERE rid = ?1";
static const char sql_ref_add[] =
    "INSERT INTO group_ca_ref (rid, slot, ca_name) VALUES (?1, ?2, ?3)";
static const char sql_owner[] =
    "SELECT c.rid, c.slot, e.id FROM enrollment_cert c"
    " JOIN enrollment e ON e.rid = c.rid WHERE c.sha256 = ?1";
static const char sql_page[] = "SELECT rid FROM enrollment"
                               " WHERE kind = ?1 AND id > ?2 ORDER BY id"
                               " LIMIT ?3";
static const char sql_ca_ref[] =
    "SELECT DISTINCT e.rid, e.id FROM group_ca_ref r"
    " JOIN enrollment e ON e.rid = r.rid WHERE r.ca_name = ?1"
    " ORDER BY e.id";

/* An existing enrollment as a put or delete sees it. */
struct found {
	int64_t rid; /* 0: none */
	char *id; /* the stored spelling */
	char etag[40];
};

static void
found_clear(struct found *f)
{
	rc_free(f->id);
	memset(f, 0, sizeof(*f));
}

static int
find(struct rc_sqlite *s, enum rc_enrollment_kind kind, const char *id,
    struct found *f)
{
	sqlite3_stmt *st;
	int rc, row, err = SQLITE_OK;

	memset(f, 0, sizeof(*f));
	if ((st = rc_sqlite_stmt(s, sql_find, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_int(st, 1, kind, &err);
	rc_sqlite_bind_text(st, 2, id, &err);
	if (err != SQLITE_OK)
		rc = rc_sqlite_err(s, err);
	else if ((rc = rc_sqlite_step(s, st, &row)) == RC_OK && row) {
		f->rid = sqlite3_column_int64(st, 0);
		if ((rc = rc_sqlite_col_str(st, 1, &f->id)) == RC_OK)
			rc = rc_sqlite_col_buf(st, 2, f->etag, sizeof(f->etag));
	}
	rc_sqlite_done(st);
	if (rc != RC_OK)
		found_clear(f);
	return rc;
}

/* Fills the certificate slots of e from enrollment_cert. */
static int
load_certs(struct rc_sqlite *s, int64_t rid, struct rc_enrollment *e)
{
	sqlite3_stmt *st;
	int rc, row, slot, err = SQLITE_OK;

	if ((st = rc_sqlite_stmt(s, sql_certs, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_int(st, 1, rid, &err);
	if (err != SQLITE_OK)
		rc = rc_sqlite_err(s, err);
	while (
	    rc == RC_OK && (rc = rc_sqlite_step(s, st, &row)) == RC_OK && row) {
		slot = sqlite3_column_int(st, 0);
		if (slot < 0 || slot >= RC_SLOT_COUNT || e->certs[slot] != NULL)
			rc = RC_EPARSE;
		else
			rc = rc_sqlite_col_cert(st, 1, &e->certs[slot]);
	}
	rc_sqlite_done(st);
	return rc;
}

static int
load_refs(struct rc_sqlite *s, int64_t rid, struct rc_enrollment *e)
{
	sqlite3_stmt *st;
	int rc, row, slot, err = SQLITE_OK;

	if ((st = rc_sqlite_stmt(s, sql_refs, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_int(st, 1, rid, &err);
	if (err != SQLITE_OK)
		rc = rc_sqlite_err(s, err);
	while (
	    rc == RC_OK && (rc = rc_sqlite_step(s, st, &row)) == RC_OK && row) {
		slot = sqlite3_column_int(st, 0);
		if (slot < 0 || slot >= RC_SLOT_COUNT ||
		    e->ca_refs[slot] != NULL)
			rc = RC_EPARSE;
		else
			rc = rc_sqlite_col_str(st, 1, &e->ca_refs[slot]);
	}
	rc_sqlite_done(st);
	return rc;
}

static int
load_row(sqlite3_stmt *st, struct rc_enrollment *e)
{
	int rc, kind;

	kind = sqlite3_column_int(st, 0);
	if (kind != RC_ENROLLMENT_INDIVIDUAL && kind != RC_ENROLLMENT_GROUP)
		return RC_EPARSE;
	e->kind = (enum rc_enrollment_kind)kind;
	e->enabled = sqlite3_column_int(st, 3) != 0;
	e->created = sqlite3_column_int64(st, 5);
	e->updated = sqlite3_column_int64(st, 6);
	if ((rc = rc_sqlite_col_str(st, 1, &e->id)) != RC_OK ||
	    (rc = rc_sqlite_col_str(st, 2, &e->device_id)) != RC_OK ||
	    (rc = rc_sqlite_col_buf(st, 4, e->etag, sizeof(e->etag))) !=
	        RC_OK ||
	    (rc = rc_sqlite_col_json(st, 7, &e->doc)) != RC_OK)
		return rc;
	if (e->id == NULL || !json_is_object(e->doc))
		return RC_EPARSE;
	return RC_OK;
}

/* The whole enrollment with row id rid; RC_ENOENT if there is none. */
static int
load(struct rc_sqlite *s, int64_t rid, struct rc_enrollment **out)
{
	struct rc_enrollment *e = NULL;
	sqlite3_stmt *st;
	int rc, row, err = SQLITE_OK;

	*out = NULL;
	if ((st = rc_sqlite_stmt(s, sql_load, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_int(st, 1, rid, &err);
	if (err != SQLITE_OK) {
		rc = rc_sqlite_err(s, err);
		goto out;
	}
	if ((rc = rc_sqlite_step(s, st, &row)) != RC_OK)
		goto out;
	if (!row) {
		rc = RC_ENOENT;
		goto out;
	}
	if ((e = rc_calloc(1, sizeof(*e))) == NULL) {
		rc = RC_ENOMEM;
		goto out;
	}
	rc = load_row(st, e);
out:
	rc_sqlite_done(st);
	if (rc == RC_OK && (rc = load_certs(s, rid, e)) == RC_OK &&
	    (rc = load_refs(s, rid, e)) == RC_OK) {
		*out = e;
		e = NULL;
	}
	rc_enrollment_free(e);
	return rc;
}

/*
 * RC_EEXIST if a certificate of in is in an enrollment other than rid (0
 * for a new one); *conflict then names it.
 */
static int
check_conflicts(struct rc_sqlite *s, const struct rc_enrollment *in,
    int64_t rid, char **conflict)
{
	char sha256[RC_STORE_SHA256_HEX + 1];
	sqlite3_stmt *st;
	int i, rc = RC_OK, row, err;

	for (i = 0; i < RC_SLOT_COUNT && rc == RC_OK; i++) {
		if (in->certs[i] == NULL)
			continue;
		if ((rc = rc_store_thumb_norm(in->certs[i]->sha256,
		         RC_STORE_SHA256_HEX, sha256)) != RC_OK)
			break;
		if ((st = rc_sqlite_stmt(s, sql_owner, &rc)) == NULL)
			break;
		err = SQLITE_OK;
		rc_sqlite_bind_text(st, 1, sha256, &err);
		if (err != SQLITE_OK)
			rc = rc_sqlite_err(s, err);
		else if ((rc = rc_sqlite_step(s, st, &row)) == RC_OK && row &&
		    sqlite3_column_int64(st, 0) != rid) {
			rc = RC_EEXIST;
			if (conflict != NULL &&
			    rc_sqlite_col_str(st, 2, conflict) != RC_OK)
				rc = RC_ENOMEM;
		}
		rc_sqlite_done(st);
	}
	return rc;
}

/* The stored doc is always an object; no doc is an empty one. */
static void
bind_doc(sqlite3_stmt *st, int i, const json_t *doc, int *err)
{
	if (doc == NULL)
		rc_sqlite_bind_text(st, i, "{}", err);
	else
		rc_sqlite_bind_json(st, i, doc, err);
}

/* Inserts (f->rid 0: then sets it) or updates the enrollment row. */
static int
write_row(struct rc_sqlite *s, const struct rc_enrollment *in, struct found *f,
    const char *etag, int64_t now)
{
	sqlite3_stmt *st;
	int rc, err = SQLITE_OK;

	st = rc_sqlite_stmt(s, f->rid != 0 ? sql_update : sql_insert, &rc);
	if (st == NULL)
		return rc;
	if (f->rid != 0) {
		rc_sqlite_bind_int(st, 1, f->rid, &err);
		rc_sqlite_bind_text(st, 2, in->device_id, &err);
		rc_sqlite_bind_int(st, 3, in->enabled != 0, &err);
		rc_sqlite_bind_text(st, 4, etag, &err);
		rc_sqlite_bind_int(st, 5, now, &err);
		bind_doc(st, 6, in->doc, &err);
	} else {
		rc_sqlite_bind_int(st, 1, in->kind, &err);
		rc_sqlite_bind_text(st, 2, in->id, &err);
		rc_sqlite_bind_text(st, 3, in->device_id, &err);
		rc_sqlite_bind_int(st, 4, in->enabled != 0, &err);
		rc_sqlite_bind_text(st, 5, etag, &err);
		rc_sqlite_bind_int(st, 6, now, &err);
		bind_doc(st, 7, in->doc, &err);
	}
	if (err != SQLITE_OK) {
		rc_sqlite_done(st);
		return rc_sqlite_err(s, err);
	}
	if ((rc = rc_sqlite_exec(s, st)) == RC_OK && f->rid == 0)
		f->rid = sqlite3_last_insert_rowid(s->db);
	return rc;
}

/* Runs a "DELETE ... WHERE rid = ?1". */
static int
exec_rid(struct rc_sqlite *s, const char *sql, int64_t rid)
{
	sqlite3_stmt *st;
	int rc, err = SQLITE_OK;

	if ((st = rc_sqlite_stmt(s, sql, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_int(st, 1, rid, &err);
	if (err != SQLITE_OK) {
		rc_sqlite_done(st);
		return rc_sqlite_err(s, err);
	}
	return rc_sqlite_exec(s, st);
}

static int
add_slot(struct rc_sqlite *s, int64_t rid, int slot,
    const struct rc_enrollment *in)
{
	sqlite3_stmt *st;
	int rc, err = SQLITE_OK;

	if (in->certs[slot] == NULL && in->ca_refs[slot] == NULL)
		return RC_OK;
	st = rc_sqlite_stmt(s,
	    in->certs[slot] != NULL ? sql_cert_add : sql_ref_add, &rc);
	if (st == NULL)
		return rc;
	rc_sqlite_bind_int(st, 1, rid, &err);
	rc_sqlite_bind_int(st, 2, slot, &err);
	if (in->certs[slot] != NULL)
		rc_sqlite_bind_cert(st, 3, in->certs[slot], &err);
	else
		rc_sqlite_bind_text(st, 3, in->ca_refs[slot], &err);
	if (err != SQLITE_OK) {
		rc_sqlite_done(st);
		return rc_sqlite_err(s, err);
	}
	return rc_sqlite_exec(s, st);
}

static int
write_slots(struct rc_sqlite *s, int64_t rid, const struct rc_enrollment *in)
{
	int rc, i;

	if ((rc = exec_rid(s, sql_cert_clear, rid)) != RC_OK ||
	    (rc = exec_rid(s, sql_ref_clear, rid)) != RC_OK)
		return rc;
	for (i = 0; i < RC_SLOT_COUNT; i++) {
		if ((rc = add_slot(s, rid, i, in)) != RC_OK)
			return rc;
	}
	return RC_OK;
}

static int
put_locked(struct rc_sqlite *s, const struct rc_store_ctx *ctx,
    const struct rc_enrollment *in, struct rc_enrollment **out, char **conflict)
{
	struct found f;
	char etag[40];
	int rc;

	if ((rc = find(s, in->kind, in->id, &f)) != RC_OK)
		return rc;
	if ((rc = rc_store_if_match(ctx, f.rid != 0 ? f.etag : NULL)) !=
	        RC_OK ||
	    (rc = check_conflicts(s, in, f.rid, conflict)) != RC_OK ||
	    (rc = rc_store_etag_new(etag)) != RC_OK ||
	    (rc = write_row(s, in, &f, etag, (int64_t)time(NULL))) != RC_OK ||
	    (rc = write_slots(s, f.rid, in)) != RC_OK ||
	    (rc = load(s, f.rid, out)) != RC_OK)
		goto out;
	rc = rc_sqlite_audit(s, ctx->who,
	    rc_store_enrollment_action(in->kind, 0), (*out)->id, f.etag, etag);
out:
	if (rc != RC_OK) {
		rc_enrollment_free(*out);
		*out = NULL;
	}
	found_clear(&f);
	return rc;
}

int
rc_sqlite_enrollment_put(struct rc_store *store, const struct rc_store_ctx *ctx,
    const struct rc_enrollment *in, struct rc_enrollment **out, char **conflict)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 1)) != RC_OK)
		return rc;
	rc = put_locked(s, ctx, in, out, conflict);
	if ((rc = rc_sqlite_end(s, rc)) != RC_OK) {
		rc_enrollment_free(*out);
		*out = NULL;
	}
	return rc;
}

int
rc_sqlite_enrollment_get(struct rc_store *store, enum rc_enrollment_kind kind,
    const char *id, struct rc_enrollment **out)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	struct found f;
	int rc;

	if ((rc = rc_sqlite_begin(s, 0)) != RC_OK)
		return rc;
	if ((rc = find(s, kind, id, &f)) == RC_OK)
		rc = f.rid != 0 ? load(s, f.rid, out) : RC_ENOENT;
	found_clear(&f);
	return rc_sqlite_end(s, rc);
}

static int
delete_locked(struct rc_sqlite *s, const struct rc_store_ctx *ctx,
    enum rc_enrollment_kind kind, const char *id)
{
	struct found f;
	int rc;

	if ((rc = find(s, kind, id, &f)) != RC_OK)
		return rc;
	if (f.rid == 0)
		rc = RC_ENOENT;
	else if ((rc = rc_store_if_match(ctx, f.etag)) == RC_OK &&
	    (rc = exec_rid(s, sql_delete, f.rid)) == RC_OK)
		rc = rc_sqlite_audit(s, ctx->who,
		    rc_store_enrollment_action(kind, 1), f.id, f.etag, "");
	found_clear(&f);
	return rc;
}

int
rc_sqlite_enrollment_delete(struct rc_store *store,
    const struct rc_store_ctx *ctx, enum rc_enrollment_kind kind,
    const char *id)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 1)) != RC_OK)
		return rc;
	rc = delete_locked(s, ctx, kind, id);
	return rc_sqlite_end(s, rc);
}

/* Steps a bound statement whose column 0 is a row id; releases it. */
static int
collect_rids(struct rc_sqlite *s, sqlite3_stmt *st, int64_t **out, size_t *n)
{
	int64_t *v = NULL, *tmp;
	int rc, row;

	*out = NULL;
	*n = 0;
	while ((rc = rc_sqlite_step(s, st, &row)) == RC_OK && row) {
		if ((tmp = rc_reallocarray(v, *n + 1, sizeof(*v))) == NULL) {
			rc = RC_ENOMEM;
			break;
		}
		v = tmp;
		v[(*n)++] = sqlite3_column_int64(st, 0);
	}
	rc_sqlite_done(st);
	if (rc != RC_OK) {
		rc_free(v);
		*n = 0;
		return rc;
	}
	*out = v;
	return RC_OK;
}

static int
load_all(struct rc_sqlite *s, const int64_t *rids, size_t n,
    struct rc_enrollment ***out)
{
	struct rc_enrollment **v;
	size_t i;
	int rc = RC_OK;

	*out = NULL;
	if (n == 0)
		return RC_OK;
	if ((v = rc_calloc(n, sizeof(*v))) == NULL)
		return RC_ENOMEM;
	for (i = 0; i < n && rc == RC_OK; i++)
		rc = load(s, rids[i], &v[i]);
	if (rc != RC_OK) {
		rc_enrollment_list_free(v, n);
		return rc;
	}
	*out = v;
	return RC_OK;
}

static int
page_locked(struct rc_sqlite *s, enum rc_enrollment_kind kind,
    const char *after, size_t max, struct rc_enrollment ***out, size_t *n,
    char **next)
{
	int64_t *rids = NULL;
	sqlite3_stmt *st;
	size_t got = 0;
	int rc, err = SQLITE_OK;

	if ((st = rc_sqlite_stmt(s, sql_page, &rc)) == NULL)
		return rc;
	/* one more than asked for tells whether another page follows */
	rc_sqlite_bind_int(st, 1, kind, &err);
	rc_sqlite_bind_text(st, 2, after != NULL ? after : "", &err);
	rc_sqlite_bind_int(st, 3,
	    max >= INT64_MAX ? INT64_MAX : (int64_t)max + 1, &err);
	if (err != SQLITE_OK) {
		rc_sqlite_done(st);
		return rc_sqlite_err(s, err);
	}
	if ((rc = collect_rids(s, st, &rids, &got)) != RC_OK)
		return rc;
	*n = got > max ? max : got;
	if ((rc = load_all(s, rids, *n, out)) == RC_OK && got > max &&
	    (*next = rc_strdup((*out)[*n - 1]->id)) == NULL) {
		rc_enrollment_list_free(*out, *n);
		*out = NULL;
		rc = RC_ENOMEM;
	}
	if (rc != RC_OK)
		*n = 0;
	rc_free(rids);
	return rc;
}

int
rc_sqlite_enrollment_list(struct rc_store *store, enum rc_enrollment_kind kind,
    const char *after, size_t max, struct rc_enrollment ***out, size_t *n,
    char **next)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 0)) != RC_OK)
		return rc;
	rc = page_locked(s, kind, after, max, out, n, next);
	return rc_sqlite_end(s, rc);
}

static int
find_cert_locked(struct rc_sqlite *s, const char *sha256,
    struct rc_enrollment **out, enum rc_slot *slot)
{
	sqlite3_stmt *st;
	int64_t rid = 0;
	int rc, row, err = SQLITE_OK, sl = 0;

	if ((st = rc_sqlite_stmt(s, sql_owner, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_text(st, 1, sha256, &err);
	if (err != SQLITE_OK)
		rc = rc_sqlite_err(s, err);
	else if ((rc = rc_sqlite_step(s, st, &row)) == RC_OK && row) {
		rid = sqlite3_column_int64(st, 0);
		sl = sqlite3_column_int(st, 1);
	}
	rc_sqlite_done(st);
	if (rc != RC_OK)
		return rc;
	if (rid == 0)
		return RC_ENOENT;
	if (sl < 0 || sl >= RC_SLOT_COUNT)
		return RC_EPARSE;
	if ((rc = load(s, rid, out)) == RC_OK)
		*slot = (enum rc_slot)sl;
	return rc;
}

int
rc_sqlite_enrollment_find_cert(struct rc_store *store, const char *sha256,
    struct rc_enrollment **out, enum rc_slot *slot)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 0)) != RC_OK)
		return rc;
	rc = find_cert_locked(s, sha256, out, slot);
	return rc_sqlite_end(s, rc);
}

static int
ca_ref_locked(struct rc_sqlite *s, const char *ca_name,
    struct rc_enrollment ***out, size_t *n)
{
	int64_t *rids = NULL;
	sqlite3_stmt *st;
	size_t got = 0;
	int rc, err = SQLITE_OK;

	if ((st = rc_sqlite_stmt(s, sql_ca_ref, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_text(st, 1, ca_name, &err);
	if (err != SQLITE_OK) {
		rc_sqlite_done(st);
		return rc_sqlite_err(s, err);
	}
	if ((rc = collect_rids(s, st, &rids, &got)) != RC_OK)
		return rc;
	if ((rc = load_all(s, rids, got, out)) == RC_OK)
		*n = got;
	rc_free(rids);
	return rc;
}

int
rc_sqlite_group_find_ca_ref(struct rc_store *store, const char *ca_name,
    struct rc_enrollment ***out, size_t *n)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 0)) != RC_OK)
		return rc;
	rc = ca_ref_locked(s, ca_name, out, n);
	return rc_sqlite_end(s, rc);
}
