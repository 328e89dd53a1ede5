/*
 * Registration states in the SQLite backend (schema: registration).  One
 * row per registration ID, whatever enrollment admitted the device; a
 * group's registrations are paged through the (group, ID) index.
 */
#include <string.h>
#include <time.h>

#include "rollcall/mem.h"
#include "sqlite_int.h"

#define COLS                                                            \
	"registration_id, device_id, assigned_hub, status, substatus,"  \
	" enrollment_group_id, error_message, error_code, cert_sha256," \
	" last_csr, etag, created, updated, payload"

static const char sql_find[] = "SELECT etag FROM registration"
                               " WHERE registration_id = ?1";
static const char sql_load[] =
    "SELECT " COLS " FROM registration WHERE registration_id = ?1";
static const char sql_insert[] =
    "INSERT INTO registration (registration_id, device_id, assigned_hub,"
    " status, substatus, enrollment_group_id, error_message, error_code,"
    " cert_sha256, last_csr, payload, etag, created, updated)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)";
static const char sql_update[] =
    "UPDATE registration SET device_id = ?2, assigned_hub = ?3,"
    " status = ?4, substatus = ?5, enrollment_group_id = ?6,"
    " error_message = ?7, error_code = ?8, cert_sha256 = ?9,"
    " last_csr = ?10, payload = ?11, etag = ?12, updated = ?13"
    " WHERE registration_id = ?1";
static const char sql_delete[] =
    "DELETE FROM registration WHERE registration_id = ?1";
static const char sql_page[] =
    "SELECT " COLS " FROM registration"
    " WHERE enrollment_group_id = ?1 AND registration_id > ?2"
    " ORDER BY registration_id LIMIT ?3";

/* The stored etag of id into etag, or "" when there is no such record. */
static int
find(struct rc_sqlite *s, const char *id, char etag[40])
{
	sqlite3_stmt *st;
	int rc, row = 0, err = SQLITE_OK;

	etag[0] = '\0';
	if ((st = rc_sqlite_stmt(s, sql_find, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_text(st, 1, id, &err);
	if (err != SQLITE_OK)
		rc = rc_sqlite_err(s, err);
	else if ((rc = rc_sqlite_step(s, st, &row)) == RC_OK && row)
		rc = rc_sqlite_col_buf(st, 0, etag, 40);
	rc_sqlite_done(st);
	if (rc == RC_OK && row && etag[0] == '\0')
		rc = RC_EPARSE;
	return rc;
}

static int
read_row(sqlite3_stmt *st, struct rc_registration **out)
{
	struct rc_registration *r;
	int rc;

	*out = NULL;
	if ((r = rc_calloc(1, sizeof(*r))) == NULL)
		return RC_ENOMEM;
	r->error_code = sqlite3_column_int(st, 7);
	r->created = sqlite3_column_int64(st, 11);
	r->updated = sqlite3_column_int64(st, 12);
	if ((rc = rc_sqlite_col_str(st, 0, &r->registration_id)) != RC_OK ||
	    (rc = rc_sqlite_col_str(st, 1, &r->device_id)) != RC_OK ||
	    (rc = rc_sqlite_col_str(st, 2, &r->assigned_hub)) != RC_OK ||
	    (rc = rc_sqlite_col_str(st, 3, &r->status)) != RC_OK ||
	    (rc = rc_sqlite_col_str(st, 4, &r->substatus)) != RC_OK ||
	    (rc = rc_sqlite_col_str(st, 5, &r->enrollment_group_id)) != RC_OK ||
	    (rc = rc_sqlite_col_str(st, 6, &r->error_message)) != RC_OK ||
	    (rc = rc_sqlite_col_buf(st, 8, r->cert_sha256,
	         sizeof(r->cert_sha256))) != RC_OK ||
	    (rc = rc_sqlite_col_str(st, 9, &r->last_csr)) != RC_OK ||
	    (rc = rc_sqlite_col_buf(st, 10, r->etag, sizeof(r->etag))) !=
	        RC_OK ||
	    (rc = rc_sqlite_col_json(st, 13, &r->payload)) != RC_OK) {
		rc_registration_free(r);
		return rc;
	}
	*out = r;
	return RC_OK;
}

static int
load(struct rc_sqlite *s, const char *id, struct rc_registration **out)
{
	sqlite3_stmt *st;
	int rc, row = 0, err = SQLITE_OK;

	*out = NULL;
	if ((st = rc_sqlite_stmt(s, sql_load, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_text(st, 1, id, &err);
	if (err != SQLITE_OK)
		rc = rc_sqlite_err(s, err);
	else if ((rc = rc_sqlite_step(s, st, &row)) == RC_OK)
		rc = row ? read_row(st, out) : RC_ENOENT;
	rc_sqlite_done(st);
	return rc;
}

static int
write_row(struct rc_sqlite *s, const struct rc_registration *in, int update,
    const char *etag)
{
	char sha[RC_STORE_SHA256_HEX + 1] = "";
	sqlite3_stmt *st;
	int rc, err = SQLITE_OK;

	if (in->cert_sha256[0] != '\0' &&
	    (rc = rc_store_thumb_norm(in->cert_sha256, RC_STORE_SHA256_HEX,
	         sha)) != RC_OK)
		return rc;
	if ((st = rc_sqlite_stmt(s, update ? sql_update : sql_insert, &rc)) ==
	    NULL)
		return rc;
	rc_sqlite_bind_text(st, 1, in->registration_id, &err);
	rc_sqlite_bind_text(st, 2, in->device_id, &err);
	rc_sqlite_bind_text(st, 3, in->assigned_hub, &err);
	rc_sqlite_bind_text(st, 4, in->status, &err);
	rc_sqlite_bind_text(st, 5, in->substatus, &err);
	rc_sqlite_bind_text(st, 6, in->enrollment_group_id, &err);
	rc_sqlite_bind_text(st, 7, in->error_message, &err);
	rc_sqlite_bind_int(st, 8, in->error_code, &err);
	rc_sqlite_bind_text(st, 9, sha[0] != '\0' ? sha : NULL, &err);
	rc_sqlite_bind_text(st, 10, in->last_csr, &err);
	rc_sqlite_bind_json(st, 11, in->payload, &err);
	rc_sqlite_bind_text(st, 12, etag, &err);
	rc_sqlite_bind_int(st, 13, (int64_t)time(NULL), &err);
	if (err != SQLITE_OK) {
		rc_sqlite_done(st);
		return rc_sqlite_err(s, err);
	}
	return rc_sqlite_exec(s, st);
}

static int
put_locked(struct rc_sqlite *s, const struct rc_store_ctx *ctx,
    const struct rc_registration *in, struct rc_registration **out)
{
	char before[40], etag[40];
	int rc;

	if ((rc = find(s, in->registration_id, before)) != RC_OK ||
	    (rc = rc_store_if_match(ctx, before[0] != '\0' ? before : NULL)) !=
	        RC_OK ||
	    (rc = rc_store_etag_new(etag)) != RC_OK ||
	    (rc = write_row(s, in, before[0] != '\0', etag)) != RC_OK ||
	    (rc = load(s, in->registration_id, out)) != RC_OK)
		return rc;
	rc = rc_sqlite_audit(s, ctx->who, "registration.put",
	    (*out)->registration_id, before, etag);
	if (rc != RC_OK) {
		rc_registration_free(*out);
		*out = NULL;
	}
	return rc;
}

int
rc_sqlite_registration_put(struct rc_store *store,
    const struct rc_store_ctx *ctx, const struct rc_registration *in,
    struct rc_registration **out)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 1)) != RC_OK)
		return rc;
	rc = put_locked(s, ctx, in, out);
	if ((rc = rc_sqlite_end(s, rc)) != RC_OK) {
		rc_registration_free(*out);
		*out = NULL;
	}
	return rc;
}

int
rc_sqlite_registration_get(struct rc_store *store, const char *id,
    struct rc_registration **out)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 0)) != RC_OK)
		return rc;
	rc = load(s, id, out);
	return rc_sqlite_end(s, rc);
}

static int
delete_locked(struct rc_sqlite *s, const struct rc_store_ctx *ctx,
    const char *id)
{
	struct rc_registration *r = NULL;
	sqlite3_stmt *st;
	int rc, err = SQLITE_OK;

	/* loaded whole for the stored spelling of the ID in the audit row */
	if ((rc = load(s, id, &r)) != RC_OK ||
	    (rc = rc_store_if_match(ctx, r->etag)) != RC_OK)
		goto out;
	if ((st = rc_sqlite_stmt(s, sql_delete, &rc)) == NULL)
		goto out;
	rc_sqlite_bind_text(st, 1, id, &err);
	if (err != SQLITE_OK) {
		rc_sqlite_done(st);
		rc = rc_sqlite_err(s, err);
		goto out;
	}
	if ((rc = rc_sqlite_exec(s, st)) == RC_OK)
		rc = rc_sqlite_audit(s, ctx->who, "registration.delete",
		    r->registration_id, r->etag, "");
out:
	rc_registration_free(r);
	return rc;
}

int
rc_sqlite_registration_delete(struct rc_store *store,
    const struct rc_store_ctx *ctx, const char *id)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 1)) != RC_OK)
		return rc;
	rc = delete_locked(s, ctx, id);
	return rc_sqlite_end(s, rc);
}

/* Reads up to max + 1 rows: the extra one only says that more remain. */
static int
page_rows(struct rc_sqlite *s, sqlite3_stmt *st, size_t max,
    struct rc_registration ***out, size_t *n, int *more)
{
	struct rc_registration **v = NULL, **tmp;
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
		rc_registration_list_free(v, *n);
		*n = 0;
		return rc;
	}
	*out = v;
	return RC_OK;
}

static int
list_locked(struct rc_sqlite *s, const char *group, const char *after,
    size_t max, struct rc_registration ***out, size_t *n, char **next)
{
	sqlite3_stmt *st;
	int rc, more = 0, err = SQLITE_OK;

	if ((st = rc_sqlite_stmt(s, sql_page, &rc)) == NULL)
		return rc;
	rc_sqlite_bind_text(st, 1, group, &err);
	rc_sqlite_bind_text(st, 2, after != NULL ? after : "", &err);
	rc_sqlite_bind_int(st, 3,
	    max >= INT64_MAX ? INT64_MAX : (int64_t)max + 1, &err);
	if (err != SQLITE_OK)
		rc = rc_sqlite_err(s, err);
	else
		rc = page_rows(s, st, max, out, n, &more);
	rc_sqlite_done(st);
	if (rc == RC_OK && more &&
	    (*next = rc_strdup((*out)[*n - 1]->registration_id)) == NULL) {
		rc_registration_list_free(*out, *n);
		*out = NULL;
		*n = 0;
		rc = RC_ENOMEM;
	}
	return rc;
}

int
rc_sqlite_registration_list_group(struct rc_store *store, const char *group,
    const char *after, size_t max, struct rc_registration ***out, size_t *n,
    char **next)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	int rc;

	if ((rc = rc_sqlite_begin(s, 0)) != RC_OK)
		return rc;
	rc = list_locked(s, group, after, max, out, n, next);
	return rc_sqlite_end(s, rc);
}
