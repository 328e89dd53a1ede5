/*
 * What only the SQLite backend can be asked (the shared suite is
 * test_store.c): its settings, schema migrations, refusal of a database
 * newer than the program, of a file that is no database, and the audit
 * chain exposing rows changed behind the store's back through sqlite3.
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "rctest.h"
#include "rollcall/mem.h"
#include "rollcall/store.h"

static const struct rc_store_ctx owner = {"iothubowner", NULL};

/* The schema version of this program's newest migration. */
#define SCHEMA_NOW 5

static const char *
fresh_path(void)
{
	static char path[1024];
	static int n;
	char name[32];

	snprintf(name, sizeof(name), "sq-%d.db", ++n);
	snprintf(path, sizeof(path), "%s", rctest_path(rctest_tmpdir(), name));
	return path;
}

static struct rc_store *
open_path(const char *path)
{
	struct rc_store *s = NULL;
	char uri[1100];

	snprintf(uri, sizeof(uri), "sqlite:%s", path);
	assert_int_equal(rc_store_open(uri, &s), RC_OK);
	return s;
}

/* Runs SQL on the file through a connection of its own. */
static int
sql(const char *path, const char *text)
{
	sqlite3 *db = NULL;
	int rc;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	rc = sqlite3_exec(db, text, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

static int64_t
sql_int(const char *path, const char *text)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	int64_t v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, text, -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void
put_some(struct rc_store *s, int n)
{
	struct rc_enrollment *e, *out = NULL;
	int i;

	for (i = 0; i < n; i++) {
		e = rc_enrollment_new(RC_ENROLLMENT_GROUP);
		assert_non_null(e);
		e->id = rc_calloc(1, 32);
		snprintf(e->id, 32, "group-%d", i);
		assert_int_equal(rc_store_enrollment_put(s, &owner, e, &out,
		                     NULL),
		    RC_OK);
		rc_enrollment_free(out);
		rc_enrollment_free(e);
	}
}

static void
test_settings(void **state)
{
	const char *path = fresh_path();
	struct rc_store *s;
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;

	(void)state;
	s = open_path(path);
	assert_int_equal(rc_store_schema_version(s), SCHEMA_NOW);
	/* the journal mode is a property of the file, seen by others too */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st,
	                     NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM schema_version"),
	    SCHEMA_NOW);
	assert_int_equal(sql_int(path,
	                     "SELECT count(*) FROM schema_version"
	                     " WHERE name = '0002_audit'"),
	    1);
	rc_store_close(s);
	/* reopening applies nothing again */
	s = open_path(path);
	assert_int_equal(rc_store_schema_version(s), SCHEMA_NOW);
	rc_store_close(s);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM schema_version"),
	    SCHEMA_NOW);
}

/*
 * A database made by a program that knew only migration 1: the data it
 * holds stays, the audit log arrives, and the chain starts with the first
 * change made after the upgrade.
 */
static void
test_migrate_old(void **state)
{
	const char *path = fresh_path();
	struct rc_enrollment *e = NULL;
	struct rc_audit **v = NULL;
	struct rc_store *s;
	int64_t bad;
	size_t n;

	(void)state;
	s = open_path(path);
	put_some(s, 3);
	rc_store_close(s);
	assert_int_equal(sql(path,
	                     "DROP TRIGGER audit_no_update;"
	                     "DROP TRIGGER audit_no_delete;"
	                     "DROP TABLE audit;"
	                     "DROP TABLE hub_device;"
	                     "DROP TABLE hub_event_seq;"
	                     "DROP TABLE hub_event;"
	                     "DROP TABLE hub_job;"
	                     "DROP TABLE issued_certificate;"
	                     "DROP TABLE blocklist;"
	                     "DELETE FROM schema_version WHERE version >= 2"),
	    SQLITE_OK);
	assert_int_equal(sql_int(path,
	                     "SELECT max(version) FROM schema_version"),
	    1);

	s = open_path(path);
	assert_int_equal(rc_store_schema_version(s), SCHEMA_NOW);
	assert_int_equal(rc_store_enrollment_get(s, RC_ENROLLMENT_GROUP,
	                     "GROUP-1", &e),
	    RC_OK);
	rc_enrollment_free(e);
	assert_int_equal(rc_store_audit_list(s, 0, 10, &v, &n), RC_OK);
	assert_int_equal(n, 0);
	put_some(s, 1);
	assert_int_equal(rc_store_audit_list(s, 0, 10, &v, &n), RC_OK);
	assert_int_equal(n, 1);
	assert_int_equal(v[0]->seq, 1);
	rc_audit_list_free(v, n);
	assert_int_equal(rc_store_audit_verify(s, &bad), RC_OK);
	rc_store_close(s);
}

static void
test_newer_refused(void **state)
{
	const char *path = fresh_path();
	struct rc_store *s;
	char uri[1100];

	(void)state;
	s = open_path(path);
	put_some(s, 1);
	rc_store_close(s);
	assert_int_equal(sql(path,
	                     "INSERT INTO schema_version"
	                     " SELECT max(version) + 1, 'future', 0"
	                     " FROM schema_version"),
	    SQLITE_OK);
	snprintf(uri, sizeof(uri), "sqlite:%s", path);
	s = (struct rc_store *)uri; /* must be cleared */
	assert_int_equal(rc_store_open(uri, &s), RC_EUNSUPPORTED);
	assert_null(s);
	/* and nothing was changed by the attempt */
	assert_int_equal(sql_int(path,
	                     "SELECT max(version) FROM schema_version"),
	    SCHEMA_NOW + 1);
}

static void
test_not_a_database(void **state)
{
	static const char junk[] = "this is a text file, not SQLite\n";
	const char *path = fresh_path();
	struct rc_store *s = NULL;
	char uri[1100], block[4096];
	size_t len;

	(void)state;
	for (len = 0; len + sizeof(junk) - 1 <= sizeof(block);
	     len += sizeof(junk) - 1)
		memcpy(block + len, junk, sizeof(junk) - 1);
	rctest_write_file(path, block, len);
	snprintf(uri, sizeof(uri), "sqlite://%s", path);
	assert_int_equal(rc_store_open(uri, &s), RC_EPARSE);
	assert_null(s);
	/* short, too */
	rctest_write_file(path, junk, sizeof(junk) - 1);
	assert_int_equal(rc_store_open(uri, &s), RC_EPARSE);
	assert_null(s);
	/* a directory */
	assert_int_not_equal(rc_store_open(rctest_tmpdir(), &s), RC_OK);
	assert_null(s);
}

/* A store with 5 audit rows, closed; returns its path. */
static const char *
audited_store(void)
{
	const char *path = fresh_path();
	struct rc_store *s;
	int64_t bad = -1;

	s = open_path(path);
	put_some(s, 5);
	assert_int_equal(rc_store_audit_verify(s, &bad), RC_OK);
	assert_int_equal(bad, 0);
	rc_store_close(s);
	return path;
}

static void
expect_bad(const char *path, int64_t seq)
{
	struct rc_store *s;
	int64_t bad = -1;

	s = open_path(path);
	assert_int_equal(rc_store_audit_verify(s, &bad), RC_EBADSIG);
	assert_int_equal(bad, seq);
	rc_store_close(s);
}

static void
test_audit_append_only(void **state)
{
	const char *path = audited_store();

	(void)state;
	assert_int_not_equal(sql(path,
	                         "UPDATE audit SET who = 'x'"
	                         " WHERE seq = 2"),
	    SQLITE_OK);
	assert_int_not_equal(sql(path, "DELETE FROM audit WHERE seq = 2"),
	    SQLITE_OK);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM audit"), 5);
}

static void
test_tamper_edit(void **state)
{
	const char *path = audited_store();

	(void)state;
	/* the triggers stop mistakes; someone with the file drops them */
	assert_int_equal(sql(path,
	                     "DROP TRIGGER audit_no_update;"
	                     "UPDATE audit SET who = 'x' WHERE seq = 2"),
	    SQLITE_OK);
	expect_bad(path, 2);
}

static void
test_tamper_delete(void **state)
{
	const char *path = audited_store();

	(void)state;
	assert_int_equal(sql(path,
	                     "DROP TRIGGER audit_no_delete;"
	                     "DELETE FROM audit WHERE seq = 3"),
	    SQLITE_OK);
	/* the row after the gap is the first that does not verify */
	expect_bad(path, 4);
	path = audited_store();
	assert_int_equal(sql(path,
	                     "DROP TRIGGER audit_no_delete;"
	                     "DELETE FROM audit WHERE seq = 1"),
	    SQLITE_OK);
	expect_bad(path, 2);
}

/*
 * Rewriting a row together with its own hash still breaks the link to the
 * next row; and renumbering the rows after a deleted one breaks the hashes.
 */
static void
test_tamper_rehash(void **state)
{
	const char *path = audited_store();
	struct rc_audit **v = NULL;
	struct rc_store *s;
	char h[65], text[256];
	size_t n;

	(void)state;
	s = open_path(path);
	assert_int_equal(rc_store_audit_list(s, 1, 1, &v, &n), RC_OK);
	assert_int_equal(n, 1);
	rc_free(v[0]->who);
	v[0]->who = rc_strdup("x");
	assert_int_equal(rc_audit_hash(v[0], h), RC_OK);
	rc_audit_list_free(v, n);
	rc_store_close(s);
	snprintf(text, sizeof(text),
	    "DROP TRIGGER audit_no_update;"
	    "UPDATE audit SET who = 'x', hash = '%s' WHERE seq = 2",
	    h);
	assert_int_equal(sql(path, text), SQLITE_OK);
	expect_bad(path, 3);

	path = audited_store();
	assert_int_equal(sql(path,
	                     "DROP TRIGGER audit_no_update;"
	                     "DROP TRIGGER audit_no_delete;"
	                     "DELETE FROM audit WHERE seq = 5;"
	                     "UPDATE audit SET seq = 5 WHERE seq = 4"),
	    SQLITE_OK);
	expect_bad(path, 5);
}

/*
 * Two connections to one file (two processes, say the daemon and the CLI):
 * each append reads the newest row under the write lock, so the chain
 * stays one chain.
 */
static void
test_two_handles(void **state)
{
	const char *path = fresh_path();
	struct rc_store *a, *b;
	struct rc_audit **v = NULL;
	int64_t bad = -1;
	size_t n;
	int i;

	(void)state;
	a = open_path(path);
	b = open_path(path);
	for (i = 0; i < 4; i++)
		put_some(i % 2 ? a : b, i + 1);
	assert_int_equal(rc_store_audit_list(a, 0, 100, &v, &n), RC_OK);
	assert_int_equal(n, 1 + 2 + 3 + 4);
	rc_audit_list_free(v, n);
	assert_int_equal(rc_store_audit_verify(b, &bad), RC_OK);
	rc_store_close(a);
	rc_store_close(b);
}

/* The query plan of a hub lookup: it may not scan a hub table. */
static void
assert_no_scan(const char *path, const char *query)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	char text[1024];
	const char *detail;

	snprintf(text, sizeof(text), "EXPLAIN QUERY PLAN %s", query);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, text, -1, &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		detail = (const char *)sqlite3_column_text(st, 3);
		if (strncmp(detail, "SCAN hub_", 9) == 0)
			fail_msg("%s: %s", query, detail);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void
test_hub_indexes(void **state)
{
	static const char *queries[] = {
	    "SELECT * FROM hub_device WHERE hub = 'h' AND device_id = 'd'",
	    "SELECT * FROM hub_device WHERE hub = 'h' AND device_id > 'd'"
	    " ORDER BY device_id LIMIT 5",
	    "SELECT * FROM hub_device WHERE primary_thumb = 'T'"
	    " OR secondary_thumb = 'T' ORDER BY hub, device_id",
	    "SELECT * FROM hub_event WHERE hub = 'h' AND seq > 5"
	    " ORDER BY seq LIMIT 5",
	    "DELETE FROM hub_event WHERE hub = 'h' AND seq <= 5",
	    "SELECT (SELECT min(seq) FROM hub_event WHERE hub = 'h'),"
	    " (SELECT last FROM hub_event_seq WHERE hub = 'h')",
	    "SELECT * FROM hub_job WHERE hub = 'h' AND job_id > ''"
	    " AND status = 1 ORDER BY job_id LIMIT 5",
	    "SELECT * FROM hub_job WHERE hub = 'h' AND job_id > ''"
	    " ORDER BY job_id LIMIT 5",
	};
	const char *path = fresh_path();
	size_t i;

	(void)state;
	rc_store_close(open_path(path));
	for (i = 0; i < sizeof(queries) / sizeof(queries[0]); i++)
		assert_no_scan(path, queries[i]);
}

/* Two connections appending to one hub's log never share a seq. */
static void
test_two_handles_events(void **state)
{
	const char *path = fresh_path();
	struct rc_hub_event e;
	struct rc_store *a, *b;
	int64_t seq, prev = 0;
	int i;

	(void)state;
	memset(&e, 0, sizeof(e));
	e.hub = "hub1";
	e.device_id = "d";
	a = open_path(path);
	b = open_path(path);
	for (i = 0; i < 8; i++) {
		assert_int_equal(rc_store_hub_event_append(i % 2 ? a : b, &e, 5,
		                     &seq),
		    RC_OK);
		assert_int_equal(seq, prev + 1);
		prev = seq;
	}
	assert_int_equal(sql_int(path, "SELECT count(*) FROM hub_event"), 5);
	rc_store_close(a);
	rc_store_close(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_settings),
	    cmocka_unit_test(test_migrate_old),
	    cmocka_unit_test(test_newer_refused),
	    cmocka_unit_test(test_not_a_database),
	    cmocka_unit_test(test_audit_append_only),
	    cmocka_unit_test(test_tamper_edit),
	    cmocka_unit_test(test_tamper_delete),
	    cmocka_unit_test(test_tamper_rehash),
	    cmocka_unit_test(test_two_handles),
	    cmocka_unit_test(test_hub_indexes),
	    cmocka_unit_test(test_two_handles_events),
	};
	int rc;

	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rctest_rmtree(rctest_tmpdir());
	return rc;
}
