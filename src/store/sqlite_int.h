/*
 * Inside the SQLite backend: the connection, its statement cache, and the
 * helpers its files share (sqlite.c: connection, transactions, binding and
 * reading columns; sqlite_*.c: one file per kind of record).
 */
#ifndef RC_STORE_SQLITE_INT_H
#define RC_STORE_SQLITE_INT_H

#include <pthread.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store_int.h"

/* One migration, compiled in from src/store/schema/NNNN_name.sql. */
struct rc_sqlite_migration {
	int version;
	const char *name;
	const char *sql;
};
extern const struct rc_sqlite_migration rc_sqlite_migrations[];
extern const size_t rc_sqlite_nmigrations;

#define RC_SQLITE_NSTMT 128

struct rc_sqlite {
	struct rc_store base;
	pthread_mutex_t lock;
	sqlite3 *db;
	int writing; /* the open transaction is a write one */
	/* prepared once per connection, keyed by the address of the SQL */
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} stmt[RC_SQLITE_NSTMT];
};

/* The backend object behind a struct rc_store of this backend. */
struct rc_sqlite *rc_sqlite_of(struct rc_store *);

/*
 * Takes the lock and begins a transaction (write: BEGIN IMMEDIATE, which
 * takes the database's write lock up front so that a later write cannot
 * fail with SQLITE_BUSY halfway).  rc_sqlite_end commits if rc is RC_OK,
 * else rolls back; it releases the lock and returns the final result.  A
 * read transaction's result stands even if its COMMIT fails: what it read
 * was one consistent snapshot all the same.
 */
RC_MUST_CHECK int rc_sqlite_begin(struct rc_sqlite *, int write);
RC_MUST_CHECK int rc_sqlite_end(struct rc_sqlite *, int rc);

/*
 * The cached statement for sql, which must be a string constant (its
 * address is the cache key).  NULL on failure, with *rc set.  Release
 * with rc_sqlite_done.
 */
sqlite3_stmt *rc_sqlite_stmt(struct rc_sqlite *, const char *sql, int *rc);
/* Resets and unbinds a statement; NULL-safe. */
void rc_sqlite_done(sqlite3_stmt *);
/*
 * Steps once: RC_OK with *row 1 (a row), 0 (done), or the store error for
 * an SQLite error (logged).
 */
RC_MUST_CHECK int rc_sqlite_step(struct rc_sqlite *, sqlite3_stmt *, int *row);
/* Steps a statement that returns no rows to its end, and releases it. */
RC_MUST_CHECK int rc_sqlite_exec(struct rc_sqlite *, sqlite3_stmt *);
/* The store error for an SQLite result code; logs the unexpected. */
int rc_sqlite_err(struct rc_sqlite *, int sqlite_rc);

/*
 * Binding, 1-based as in SQL.  Each keeps the first failure in *err (an
 * SQLite code, SQLITE_OK to start), so a run of binds is checked once.
 * A NULL string binds SQL NULL.
 */
void rc_sqlite_bind_text(sqlite3_stmt *, int i, const char *, int *err);
void rc_sqlite_bind_int(sqlite3_stmt *, int i, int64_t, int *err);
void rc_sqlite_bind_blob(sqlite3_stmt *, int i, const void *, size_t, int *err);
/* A JSON value as compact text; NULL binds SQL NULL. */
void rc_sqlite_bind_json(sqlite3_stmt *, int i, const json_t *, int *err);

/* Column i (0-based) as a new string (NULL for SQL NULL). */
RC_MUST_CHECK int rc_sqlite_col_str(sqlite3_stmt *, int i, char **out);
/* Column i into a fixed buffer; RC_EPARSE if it does not fit. */
RC_MUST_CHECK int rc_sqlite_col_buf(sqlite3_stmt *, int i, char *out,
    size_t size);
/* Column i parsed as JSON (NULL for SQL NULL). */
RC_MUST_CHECK int rc_sqlite_col_json(sqlite3_stmt *, int i, json_t **out);
/*
 * Columns first..first+8 (der, sha1, sha256, subject, issuer, serial,
 * not_before, not_after, version) as a new certificate, and the binding
 * of a certificate to parameters first..first+8 in the same order.
 */
RC_MUST_CHECK int rc_sqlite_col_cert(sqlite3_stmt *, int first,
    struct rc_store_cert **out);
void rc_sqlite_bind_cert(sqlite3_stmt *, int first,
    const struct rc_store_cert *, int *err);

/*
 * Appends the audit row of a change, inside the change's transaction.
 * before/after: the etags ("" or NULL when there is none).
 */
RC_MUST_CHECK int rc_sqlite_audit(struct rc_sqlite *, const char *who,
    const char *action, const char *object, const char *before,
    const char *after);

/* The backend operations, one group per file. */
int rc_sqlite_enrollment_put(struct rc_store *, const struct rc_store_ctx *,
    const struct rc_enrollment *, struct rc_enrollment **, char **);
int rc_sqlite_enrollment_get(struct rc_store *, enum rc_enrollment_kind,
    const char *, struct rc_enrollment **);
int rc_sqlite_enrollment_delete(struct rc_store *, const struct rc_store_ctx *,
    enum rc_enrollment_kind, const char *);
int rc_sqlite_enrollment_list(struct rc_store *, enum rc_enrollment_kind,
    const char *, size_t, struct rc_enrollment ***, size_t *, char **);
int rc_sqlite_enrollment_find_cert(struct rc_store *, const char *,
    struct rc_enrollment **, enum rc_slot *);
int rc_sqlite_group_find_ca_ref(struct rc_store *, const char *,
    struct rc_enrollment ***, size_t *);
int rc_sqlite_registration_put(struct rc_store *, const struct rc_store_ctx *,
    const struct rc_registration *, struct rc_registration **);
int rc_sqlite_registration_get(struct rc_store *, const char *,
    struct rc_registration **);
int rc_sqlite_registration_delete(struct rc_store *,
    const struct rc_store_ctx *, const char *);
int rc_sqlite_registration_list_group(struct rc_store *, const char *,
    const char *, size_t, struct rc_registration ***, size_t *, char **);
int rc_sqlite_ca_cert_put(struct rc_store *, const struct rc_store_ctx *,
    const struct rc_ca_cert *, struct rc_ca_cert **);
int rc_sqlite_ca_cert_get(struct rc_store *, const char *,
    struct rc_ca_cert **);
int rc_sqlite_ca_cert_delete(struct rc_store *, const struct rc_store_ctx *,
    const char *);
int rc_sqlite_ca_cert_list(struct rc_store *, struct rc_ca_cert ***, size_t *);
int rc_sqlite_audit_list(struct rc_store *, int64_t, size_t,
    struct rc_audit ***, size_t *);
int rc_sqlite_hub_device_put(struct rc_store *, const struct rc_store_ctx *,
    const struct rc_hub_device *, struct rc_hub_device **);
int rc_sqlite_hub_device_get(struct rc_store *, const char *, const char *,
    struct rc_hub_device **);
int rc_sqlite_hub_device_delete(struct rc_store *, const struct rc_store_ctx *,
    const char *, const char *);
int rc_sqlite_hub_device_list(struct rc_store *, const char *, const char *,
    size_t, struct rc_hub_device ***, size_t *, char **);
int rc_sqlite_hub_device_find_thumb(struct rc_store *, const char *,
    struct rc_hub_device ***, size_t *);
int rc_sqlite_hub_device_touch(struct rc_store *, const char *, const char *,
    int64_t);
int rc_sqlite_hub_twin_update(struct rc_store *, const struct rc_store_ctx *,
    const char *, const char *, const struct rc_hub_twin_patch *,
    struct rc_hub_device **);
int rc_sqlite_hub_event_append(struct rc_store *,
    const struct rc_hub_event *const *, size_t, size_t, int64_t *);
int rc_sqlite_hub_event_read(struct rc_store *, const char *, int64_t, size_t,
    struct rc_hub_event ***, size_t *);
int rc_sqlite_hub_event_bounds(struct rc_store *, const char *, int64_t *,
    int64_t *);
int rc_sqlite_hub_job_put(struct rc_store *, const struct rc_store_ctx *,
    const struct rc_hub_job *, struct rc_hub_job **);
int rc_sqlite_hub_job_get(struct rc_store *, const char *, const char *,
    struct rc_hub_job **);
int rc_sqlite_hub_job_list(struct rc_store *, const char *, int, const char *,
    size_t, struct rc_hub_job ***, size_t *, char **);
int rc_sqlite_hub_job_update(struct rc_store *, const struct rc_store_ctx *,
    const char *, const char *, enum rc_hub_job_status, const json_t *,
    const char *, struct rc_hub_job **);

int rc_sqlite_issued_put(struct rc_store *, const struct rc_store_ctx *,
    const struct rc_issued_cert *, struct rc_issued_cert **);
int rc_sqlite_issued_get(struct rc_store *, const char *,
    struct rc_issued_cert **);
int rc_sqlite_issued_list_registration(struct rc_store *, const char *, size_t,
    struct rc_issued_cert ***, size_t *);
int rc_sqlite_issued_list_expiring(struct rc_store *, int64_t, size_t,
    struct rc_issued_cert ***, size_t *);
int rc_sqlite_issued_revoke(struct rc_store *, const struct rc_store_ctx *,
    const char *, const char *, int, struct rc_issued_cert **);

int rc_sqlite_blocklist_put(struct rc_store *, const struct rc_store_ctx *,
    const char *, const char *, struct rc_blocked_cert **);
/* The same inside a write transaction the caller holds. */
int rc_sqlite_blocklist_put_locked(struct rc_sqlite *,
    const struct rc_store_ctx *, const char *, const char *,
    struct rc_blocked_cert **);
int rc_sqlite_blocklist_get(struct rc_store *, const char *,
    struct rc_blocked_cert **);
int rc_sqlite_blocklist_delete(struct rc_store *, const struct rc_store_ctx *,
    const char *);
int rc_sqlite_blocklist_list(struct rc_store *, const char *, size_t,
    struct rc_blocked_cert ***, size_t *, char **);

#endif
