/*
 * The SQLite backend's statement cache and its helpers to bind parameters
 * and read columns.  Every statement is a string constant prepared once per
 * connection; values only ever reach SQLite as bound parameters.
 */
#include <string.h>

#include "rollcall/log.h"
#include "rollcall/mem.h"
#include "sqlite_int.h"

sqlite3_stmt *
rc_sqlite_stmt(struct rc_sqlite *s, const char *sql, int *rc)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int src;

	*rc = RC_OK;
	for (i = 0; i < RC_SQLITE_NSTMT && s->stmt[i].sql != NULL; i++) {
		if (s->stmt[i].sql == sql)
			return s->stmt[i].st;
	}
	if (i == RC_SQLITE_NSTMT)
		rc_fatalx("store: more than %d statements", RC_SQLITE_NSTMT);
	src = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
	    NULL);
	if (src != SQLITE_OK) {
		*rc = rc_sqlite_err(s, src);
		return NULL;
	}
	s->stmt[i].sql = sql;
	s->stmt[i].st = st;
	return st;
}

void
rc_sqlite_done(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

int
rc_sqlite_step(struct rc_sqlite *s, sqlite3_stmt *st, int *row)
{
	int src;

	*row = 0;
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		*row = 1;
		return RC_OK;
	}
	if (src == SQLITE_DONE)
		return RC_OK;
	return rc_sqlite_err(s, src);
}

int
rc_sqlite_exec(struct rc_sqlite *s, sqlite3_stmt *st)
{
	int rc, row;

	while ((rc = rc_sqlite_step(s, st, &row)) == RC_OK && row)
		continue;
	rc_sqlite_done(st);
	return rc;
}

int
rc_sqlite_err(struct rc_sqlite *s, int src)
{
	switch (src & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return RC_OK;
	case SQLITE_NOMEM:
		return RC_ENOMEM;
	case SQLITE_TOOBIG:
		return RC_ETOOBIG;
	case SQLITE_CONSTRAINT:
		if (src == SQLITE_CONSTRAINT_UNIQUE ||
		    src == SQLITE_CONSTRAINT_PRIMARYKEY)
			return RC_EEXIST;
		rc_log_warnx("store: %s", sqlite3_errmsg(s->db));
		return RC_EINVAL;
	case SQLITE_MISMATCH:
		return RC_EINVAL;
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		rc_log_warnx("store: %s", sqlite3_errstr(src));
		return RC_EPARSE;
	default:
		rc_log_warnx("store: %s (%s)", sqlite3_errstr(src),
		    sqlite3_errmsg(s->db));
		return RC_EIO;
	}
}

void
rc_sqlite_bind_text(sqlite3_stmt *st, int i, const char *v, int *err)
{
	if (*err != SQLITE_OK)
		return;
	if (v == NULL)
		*err = sqlite3_bind_null(st, i);
	else
		*err = sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

void
rc_sqlite_bind_int(sqlite3_stmt *st, int i, int64_t v, int *err)
{
	if (*err == SQLITE_OK)
		*err = sqlite3_bind_int64(st, i, v);
}

void
rc_sqlite_bind_blob(sqlite3_stmt *st, int i, const void *v, size_t len,
    int *err)
{
	if (*err == SQLITE_OK)
		*err = sqlite3_bind_blob64(st, i, v, len, SQLITE_TRANSIENT);
}

void
rc_sqlite_bind_json(sqlite3_stmt *st, int i, const json_t *v, int *err)
{
	const size_t flags = JSON_COMPACT | JSON_ENCODE_ANY;
	char *text;
	size_t len;

	if (*err != SQLITE_OK)
		return;
	if (v == NULL) {
		*err = sqlite3_bind_null(st, i);
		return;
	}
	if ((len = json_dumpb(v, NULL, 0, flags)) == 0) {
		*err = SQLITE_MISMATCH;
		return;
	}
	if ((text = rc_malloc(len)) == NULL) {
		*err = SQLITE_NOMEM;
		return;
	}
	if (json_dumpb(v, text, len, flags) != len)
		*err = SQLITE_MISMATCH;
	else
		*err = sqlite3_bind_text64(st, i, text, len, SQLITE_TRANSIENT,
		    SQLITE_UTF8);
	rc_free(text);
}

int
rc_sqlite_col_str(sqlite3_stmt *st, int i, char **out)
{
	const unsigned char *t;

	*out = NULL;
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return RC_OK;
	if ((t = sqlite3_column_text(st, i)) == NULL)
		return RC_ENOMEM;
	*out = rc_strndup((const char *)t, (size_t)sqlite3_column_bytes(st, i));
	return *out != NULL ? RC_OK : RC_ENOMEM;
}

int
rc_sqlite_col_buf(sqlite3_stmt *st, int i, char *out, size_t size)
{
	const unsigned char *t;
	size_t len;

	out[0] = '\0';
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return RC_OK;
	if ((t = sqlite3_column_text(st, i)) == NULL)
		return RC_ENOMEM;
	len = (size_t)sqlite3_column_bytes(st, i);
	if (len >= size)
		return RC_EPARSE;
	memcpy(out, t, len);
	out[len] = '\0';
	return RC_OK;
}

int
rc_sqlite_col_json(sqlite3_stmt *st, int i, json_t **out)
{
	const unsigned char *t;
	json_error_t jerr;

	*out = NULL;
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return RC_OK;
	if ((t = sqlite3_column_text(st, i)) == NULL)
		return RC_ENOMEM;
	*out = json_loadb((const char *)t, (size_t)sqlite3_column_bytes(st, i),
	    JSON_DECODE_ANY, &jerr);
	if (*out != NULL)
		return RC_OK;
	if (json_error_code(&jerr) == json_error_out_of_memory)
		return RC_ENOMEM;
	rc_log_warnx("store: stored JSON does not parse: %s", jerr.text);
	return RC_EPARSE;
}

int
rc_sqlite_col_cert(sqlite3_stmt *st, int first, struct rc_store_cert **out)
{
	struct rc_store_cert *c;
	const void *der;
	int rc = RC_ENOMEM, len;

	*out = NULL;
	if ((c = rc_calloc(1, sizeof(*c))) == NULL)
		return RC_ENOMEM;
	der = sqlite3_column_blob(st, first);
	len = sqlite3_column_bytes(st, first);
	if (der == NULL || len <= 0) {
		rc = der == NULL && len > 0 ? RC_ENOMEM : RC_EPARSE;
		goto out;
	}
	if ((c->der = rc_malloc((size_t)len)) == NULL)
		goto out;
	memcpy(c->der, der, (size_t)len);
	c->der_len = (size_t)len;
	if ((rc = rc_sqlite_col_buf(st, first + 1, c->sha1, sizeof(c->sha1))) !=
	        RC_OK ||
	    (rc = rc_sqlite_col_buf(st, first + 2, c->sha256,
	         sizeof(c->sha256))) != RC_OK ||
	    (rc = rc_sqlite_col_str(st, first + 3, &c->subject)) != RC_OK ||
	    (rc = rc_sqlite_col_str(st, first + 4, &c->issuer)) != RC_OK ||
	    (rc = rc_sqlite_col_str(st, first + 5, &c->serial)) != RC_OK)
		goto out;
	c->not_before = sqlite3_column_int64(st, first + 6);
	c->not_after = sqlite3_column_int64(st, first + 7);
	c->version = sqlite3_column_int(st, first + 8);
	*out = c;
	c = NULL;
out:
	rc_store_cert_free(c);
	return rc;
}

void
rc_sqlite_bind_cert(sqlite3_stmt *st, int first, const struct rc_store_cert *c,
    int *err)
{
	char sha1[RC_STORE_SHA1_HEX + 1], sha256[RC_STORE_SHA256_HEX + 1];

	if (*err != SQLITE_OK)
		return;
	/* checked by store.c; normalised to the stored upper-case form */
	if (rc_store_thumb_norm(c->sha1, RC_STORE_SHA1_HEX, sha1) != RC_OK ||
	    rc_store_thumb_norm(c->sha256, RC_STORE_SHA256_HEX, sha256) !=
	        RC_OK) {
		*err = SQLITE_MISMATCH;
		return;
	}
	rc_sqlite_bind_blob(st, first, c->der, c->der_len, err);
	rc_sqlite_bind_text(st, first + 1, sha1, err);
	rc_sqlite_bind_text(st, first + 2, sha256, err);
	rc_sqlite_bind_text(st, first + 3, c->subject, err);
	rc_sqlite_bind_text(st, first + 4, c->issuer, err);
	rc_sqlite_bind_text(st, first + 5, c->serial, err);
	rc_sqlite_bind_int(st, first + 6, c->not_before, err);
	rc_sqlite_bind_int(st, first + 7, c->not_after, err);
	rc_sqlite_bind_int(st, first + 8, c->version, err);
}
