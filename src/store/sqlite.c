/*
 * The SQLite backend of the store: opening, settings, schema migrations and
 * transactions.  The records themselves are in sqlite_enrollment.c,
 * sqlite_registration.c, sqlite_cacert.c, sqlite_audit.c and, for the
 * hubs, sqlite_hub.c, sqlite_hub_event.c and sqlite_hub_job.c.
 *
 * Durability (DESIGN.md §5): WAL journal with synchronous=FULL, so a commit
 * has reached the disk (the WAL is fsynced) before a call returns RC_OK: a
 * kill -9 of the process, and a crash of the machine, leave the last
 * committed state.  Every commit costs one fsync; batching several callers'
 * changes into one commit (group commit) is not done yet.
 *
 * Threads: one connection, one mutex held for each call's transaction.
 * SQLite admits one writer at a time whatever the number of connections,
 * and the hot path of the server (hub authentication at connect) reads an
 * in-memory cache, not the store (DESIGN.md §5); per-thread read
 * connections can be added behind the same interface if reads ever queue.
 * The connection is opened SQLITE_OPEN_NOMUTEX because the store's own
 * mutex already serialises every use of it.
 *
 * Migrations: src/store/schema/NNNN_name.sql, compiled in (rc_sqlite_
 * migrations).  schema_version holds one row per applied migration; each
 * migration runs in its own write transaction together with its row, so a
 * crash leaves the database at one version or the next, never between.
 * A database at a version this binary does not know is refused.
 */
#include <string.h>
#include <time.h>

#include "rollcall/log.h"
#include "rollcall/mem.h"
#include "sqlite_int.h"

/* How long a write waits for another process's write lock. */
#define BUSY_TIMEOUT_MS 10000

static void sqlite_close(struct rc_store *);

static const struct rc_store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sqlite_close,
    .enrollment_put = rc_sqlite_enrollment_put,
    .enrollment_get = rc_sqlite_enrollment_get,
    .enrollment_delete = rc_sqlite_enrollment_delete,
    .enrollment_list = rc_sqlite_enrollment_list,
    .enrollment_find_cert = rc_sqlite_enrollment_find_cert,
    .group_find_ca_ref = rc_sqlite_group_find_ca_ref,
    .registration_put = rc_sqlite_registration_put,
    .registration_get = rc_sqlite_registration_get,
    .registration_delete = rc_sqlite_registration_delete,
    .registration_list_group = rc_sqlite_registration_list_group,
    .ca_cert_put = rc_sqlite_ca_cert_put,
    .ca_cert_get = rc_sqlite_ca_cert_get,
    .ca_cert_delete = rc_sqlite_ca_cert_delete,
    .ca_cert_list = rc_sqlite_ca_cert_list,
    .audit_list = rc_sqlite_audit_list,
    .hub_device_put = rc_sqlite_hub_device_put,
    .hub_device_get = rc_sqlite_hub_device_get,
    .hub_device_delete = rc_sqlite_hub_device_delete,
    .hub_device_list = rc_sqlite_hub_device_list,
    .hub_device_find_thumb = rc_sqlite_hub_device_find_thumb,
    .hub_device_touch = rc_sqlite_hub_device_touch,
    .hub_twin_update = rc_sqlite_hub_twin_update,
    .hub_event_append = rc_sqlite_hub_event_append,
    .hub_event_read = rc_sqlite_hub_event_read,
    .hub_event_bounds = rc_sqlite_hub_event_bounds,
    .hub_job_put = rc_sqlite_hub_job_put,
    .hub_job_get = rc_sqlite_hub_job_get,
    .hub_job_list = rc_sqlite_hub_job_list,
    .hub_job_update = rc_sqlite_hub_job_update,
    .issued_put = rc_sqlite_issued_put,
    .issued_get = rc_sqlite_issued_get,
    .issued_list_registration = rc_sqlite_issued_list_registration,
    .issued_list_expiring = rc_sqlite_issued_list_expiring,
    .issued_revoke = rc_sqlite_issued_revoke,
    .blocklist_put = rc_sqlite_blocklist_put,
    .blocklist_get = rc_sqlite_blocklist_get,
    .blocklist_delete = rc_sqlite_blocklist_delete,
    .blocklist_list = rc_sqlite_blocklist_list,
};

static const char sql_begin_read[] = "BEGIN";
static const char sql_begin_write[] = "BEGIN IMMEDIATE";
static const char sql_commit[] = "COMMIT";
static const char sql_rollback[] = "ROLLBACK";
static const char sql_journal[] = "PRAGMA journal_mode = WAL";
static const char sql_settings[] = "PRAGMA synchronous = FULL;"
                                   "PRAGMA foreign_keys = ON;"
                                   "PRAGMA trusted_schema = OFF;";
static const char sql_version_table[] =
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " applied INTEGER NOT NULL)";
static const char sql_version[] =
    "SELECT coalesce(max(version), 0) FROM schema_version";
static const char sql_version_add[] =
    "INSERT INTO schema_version (version, name, applied) VALUES (?1, ?2, ?3)";

struct rc_sqlite *
rc_sqlite_of(struct rc_store *s)
{
	/* base is the first member: the store is the backend object */
	return (struct rc_sqlite *)s;
}

int
rc_sqlite_begin(struct rc_sqlite *s, int write)
{
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&s->lock);
	s->writing = write;
	st = rc_sqlite_stmt(s, write ? sql_begin_write : sql_begin_read, &rc);
	if (st != NULL)
		rc = rc_sqlite_exec(s, st);
	if (rc != RC_OK)
		pthread_mutex_unlock(&s->lock);
	return rc;
}

int
rc_sqlite_end(struct rc_sqlite *s, int rc)
{
	sqlite3_stmt *st;
	int rc2;

	if (rc == RC_OK) {
		st = rc_sqlite_stmt(s, sql_commit, &rc2);
		if (st != NULL)
			rc2 = rc_sqlite_exec(s, st);
		if (s->writing)
			rc = rc2;
	}
	/* a failed COMMIT can leave the transaction open: end it */
	if (!sqlite3_get_autocommit(s->db)) {
		st = rc_sqlite_stmt(s, sql_rollback, &rc2);
		if (st == NULL || rc_sqlite_exec(s, st) != RC_OK)
			rc_log_warnx("store: rollback failed: %s",
			    sqlite3_errmsg(s->db));
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* Runs the statements of a constant SQL text (settings, migrations). */
static int
exec_script(struct rc_sqlite *s, const char *sql)
{
	char *msg = NULL;
	int src;

	src = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
	if (src != SQLITE_OK) {
		rc_log_warnx("store: %s",
		    msg != NULL ? msg : sqlite3_errstr(src));
		sqlite3_free(msg);
		return rc_sqlite_err(s, src);
	}
	return RC_OK;
}

static int
schema_version(struct rc_sqlite *s, int *version)
{
	sqlite3_stmt *st;
	int rc, row;

	*version = 0;
	if ((st = rc_sqlite_stmt(s, sql_version, &rc)) == NULL)
		return rc;
	if ((rc = rc_sqlite_step(s, st, &row)) == RC_OK && row)
		*version = sqlite3_column_int(st, 0);
	rc_sqlite_done(st);
	return rc;
}

/* Applies one migration unless the database already has it. */
static int
migrate_one(struct rc_sqlite *s, const struct rc_sqlite_migration *m)
{
	sqlite3_stmt *st;
	int rc, err = SQLITE_OK, cur;

	if ((rc = rc_sqlite_begin(s, 1)) != RC_OK)
		return rc;
	if ((rc = schema_version(s, &cur)) != RC_OK || cur >= m->version)
		goto out;
	if (cur != m->version - 1) {
		rc = RC_EUNSUPPORTED;
		goto out;
	}
	if ((rc = exec_script(s, m->sql)) != RC_OK)
		goto out;
	if ((st = rc_sqlite_stmt(s, sql_version_add, &rc)) == NULL)
		goto out;
	rc_sqlite_bind_int(st, 1, m->version, &err);
	rc_sqlite_bind_text(st, 2, m->name, &err);
	rc_sqlite_bind_int(st, 3, (int64_t)time(NULL), &err);
	if (err != SQLITE_OK) {
		rc_sqlite_done(st);
		rc = rc_sqlite_err(s, err);
		goto out;
	}
	if ((rc = rc_sqlite_exec(s, st)) == RC_OK)
		rc_log_info("store: applied schema migration %s", m->name);
out:
	return rc_sqlite_end(s, rc);
}

static int
migrate(struct rc_sqlite *s)
{
	size_t i;
	int rc, cur;

	if ((rc = exec_script(s, sql_version_table)) != RC_OK)
		return rc;
	if ((rc = schema_version(s, &cur)) != RC_OK)
		return rc;
	if (cur > (int)rc_sqlite_nmigrations) {
		rc_log_warnx("store: database schema %d is newer than this "
		             "program's (%zu)",
		    cur, rc_sqlite_nmigrations);
		return RC_EUNSUPPORTED;
	}
	/* an up-to-date database is opened without taking the write lock */
	for (i = (size_t)cur; i < rc_sqlite_nmigrations; i++) {
		if ((rc = migrate_one(s, &rc_sqlite_migrations[i])) != RC_OK)
			return rc;
	}
	if ((rc = schema_version(s, &cur)) != RC_OK)
		return rc;
	s->base.schema_version = cur;
	return RC_OK;
}

/*
 * The connection settings of the header comment.  journal_mode is read
 * back: a database that cannot be put in WAL mode (in memory, or on a file
 * system without shared memory) would not keep the durability promise.
 */
static int
configure(struct rc_sqlite *s)
{
	sqlite3_stmt *st;
	const char *mode;
	int rc, row;

	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	if ((st = rc_sqlite_stmt(s, sql_journal, &rc)) == NULL)
		return rc;
	if ((rc = rc_sqlite_step(s, st, &row)) == RC_OK) {
		mode = row ? (const char *)sqlite3_column_text(st, 0) : NULL;
		if (mode == NULL || strcmp(mode, "wal") != 0) {
			rc_log_warnx("store: cannot use WAL journal mode");
			rc = RC_EUNSUPPORTED;
		}
	}
	rc_sqlite_done(st);
	if (rc != RC_OK)
		return rc;
	return exec_script(s, sql_settings);
}

int
rc_store_sqlite_open(const char *path, struct rc_store **out)
{
	struct rc_sqlite *s;
	int rc, src;

	*out = NULL;
	if ((s = rc_calloc(1, sizeof(*s))) == NULL)
		return RC_ENOMEM;
	s->base.ops = &sqlite_ops;
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		rc_free(s);
		return RC_ENOMEM;
	}
	src = sqlite3_open_v2(path, &s->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	    NULL);
	if (src != SQLITE_OK) {
		rc_log_warnx("store: %s: %s", path,
		    s->db != NULL ? sqlite3_errmsg(s->db)
		                  : sqlite3_errstr(src));
		rc = src == SQLITE_NOMEM ? RC_ENOMEM : RC_EIO;
		goto out;
	}
	if ((rc = configure(s)) != RC_OK || (rc = migrate(s)) != RC_OK) {
		rc_log_warnx("store: %s: %s", path, rc_strerror(rc));
		goto out;
	}
	*out = &s->base;
out:
	if (rc != RC_OK)
		sqlite_close(&s->base);
	return rc;
}

static void
sqlite_close(struct rc_store *store)
{
	struct rc_sqlite *s = rc_sqlite_of(store);
	size_t i;

	for (i = 0; i < RC_SQLITE_NSTMT; i++)
		sqlite3_finalize(s->stmt[i].st);
	/* the last connection to close checkpoints the WAL into the file */
	if (s->db != NULL && sqlite3_close(s->db) != SQLITE_OK)
		rc_log_warnx("store: close: %s", sqlite3_errmsg(s->db));
	pthread_mutex_destroy(&s->lock);
	rc_free(s);
}
