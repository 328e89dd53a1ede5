/*
 * rollcall audit: the hash-chained log of every change (DESIGN.md §3).
 *
 *	GET /audit?after=SEQ&max=N	rows with seq > SEQ, oldest first
 *
 * `verify` does not ask the server for its verdict: it fetches every row
 * and recomputes the chain here with rc_audit_hash (the store's own
 * function), so a server whose database was edited cannot vouch for
 * itself.  Row n must have seq n (a gap is a deleted row), prevHash equal
 * to row n-1's hash (row 1: 64 '0' digits), and a hash that matches its
 * fields.  Rows removed from the end leave no trace in the chain; the
 * newest hash, printed by --json, can be kept elsewhere to catch that.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "client.h"
#include "rollcall/enc.h"
#include "rollcall/mem.h"
#include "rollcall/store.h"

#define TAIL_USAGE "rollcall audit tail [-n N] " CLIENT_USAGE
#define VERIFY_USAGE "rollcall audit verify " CLIENT_USAGE
/* Rows per GET (the server caps it too). */
#define AUDIT_PAGE 1000
#define AUDIT_TAIL_MAX 100000

static const char genesis[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct aopts {
	struct client_opts c;
	long long n;
	int help;
};

static int
store_opt(void *arg, const char *usage, int c, const char *val)
{
	struct aopts *o = arg;

	if (c != 'n')
		return cli_usage(usage, NULL);
	if (rc_strtonum(val, 1, AUDIT_TAIL_MAX, &o->n) != RC_OK)
		return cli_usage(usage, "-n: '%s' is not a number from 1 to %d",
		    val, AUDIT_TAIL_MAX);
	return CLI_OK;
}

static int
parse(const char *usage, const char *shortopts, int argc, char **argv,
    struct aopts *o)
{
	static const struct option extra[] = {{NULL, 0, NULL, 0}};
	struct client_args a = {.usage = usage,
	    .shortopts = shortopts,
	    .extra = extra,
	    .fn = store_opt,
	    .arg = o};

	memset(o, 0, sizeof(*o));
	o->n = 20;
	return client_getopt(&a, argc, argv, &o->c, NULL, &o->help);
}

/* One page of rows after seq; *page is a JSON array the caller owns. */
static int
fetch_page(struct client *cl, long long after, json_t **page)
{
	struct client_resp r;
	char path[96];
	int ret;

	*page = NULL;
	snprintf(path, sizeof(path), "/audit?after=%lld&max=%d", after,
	    AUDIT_PAGE);
	if ((ret = client_call(cl, "GET", path, NULL, NULL, NULL, &r)) !=
	    CLI_OK)
		return ret;
	if ((ret = client_ok(&r)) == CLI_OK && !json_is_array(r.json))
		ret = cli_fail("GET /audit: the answer is not a JSON array");
	if (ret == CLI_OK)
		*page = json_incref(r.json);
	client_resp_clear(&r);
	return ret;
}

static long long
row_seq(json_t *row)
{
	json_t *s = json_object_get(row, "seq");

	return json_is_integer(s) ? (long long)json_integer_value(s) : -1;
}

/*
 * Calls fn on every row, oldest first, page by page.  The server must
 * hand out increasing seqs, else the walk could loop forever.
 */
static int
walk(struct client *cl, int (*fn)(void *, json_t *), void *arg)
{
	long long after = 0, seq;
	json_t *page = NULL, *row;
	size_t i, n;
	int ret;

	for (;;) {
		if ((ret = fetch_page(cl, after, &page)) != CLI_OK)
			return ret;
		n = json_array_size(page);
		json_array_foreach(page, i, row)
		{
			if ((seq = row_seq(row)) <= after) {
				json_decref(page);
				return cli_fail("GET /audit: row seq %lld "
				                "after %lld: out of order",
				    seq, after);
			}
			after = seq;
			if ((ret = fn(arg, row)) != CLI_OK) {
				json_decref(page);
				return ret;
			}
		}
		json_decref(page);
		if (n == 0)
			return CLI_OK;
	}
}

struct tail {
	json_t *rows;
	size_t max;
};

/* Keeps only the newest t->max rows. */
static int
keep_last(struct tail *t)
{
	size_t n = json_array_size(t->rows), i;
	json_t *kept;

	if (n <= t->max)
		return CLI_OK;
	if ((kept = json_array()) == NULL)
		return cli_fail("out of memory");
	for (i = n - t->max; i < n; i++)
		if (json_array_append(kept, json_array_get(t->rows, i)) != 0) {
			json_decref(kept);
			return cli_fail("out of memory");
		}
	json_decref(t->rows);
	t->rows = kept;
	return CLI_OK;
}

/* Trims in batches, not row by row, so a long log stays linear. */
static int
tail_row(void *arg, json_t *row)
{
	struct tail *t = arg;

	if (json_array_append(t->rows, row) != 0)
		return cli_fail("out of memory");
	if (json_array_size(t->rows) > 2 * t->max)
		return keep_last(t);
	return CLI_OK;
}

static const char *
str_at(json_t *row, const char *key)
{
	return json_string_value(json_object_get(row, key));
}

static int
print_tail(json_t *rows)
{
	static const char *const headers[] = {"SEQ", "TIME", "WHO", "ACTION",
	    "OBJECT", "ETAG"};
	struct table *t = NULL;
	const char *cells[6];
	char seq[32];
	json_t *row;
	size_t i;

	if (table_new(6, headers, &t) != RC_OK)
		return cli_fail("out of memory");
	json_array_foreach(rows, i, row)
	{
		snprintf(seq, sizeof(seq), "%lld", row_seq(row));
		cells[0] = seq;
		cells[1] = str_at(row, "time");
		cells[2] = str_at(row, "who");
		cells[3] = str_at(row, "action");
		cells[4] = str_at(row, "object");
		cells[5] = str_at(row, "etagAfter");
		if (table_add(t, cells) != RC_OK) {
			table_free(t);
			return cli_fail("out of memory");
		}
	}
	table_print(t, stdout);
	table_free(t);
	return CLI_OK;
}

static int
audit_tail(int argc, char **argv)
{
	struct client *cl = NULL;
	struct tail t = {NULL, 0};
	struct aopts o;
	int ret;

	if ((ret = parse(TAIL_USAGE, "hn:", argc, argv, &o)) != CLI_OK ||
	    o.help)
		return ret;
	t.max = (size_t)o.n;
	if ((t.rows = json_array()) == NULL)
		return cli_fail("out of memory");
	if ((ret = client_open(&o.c, &cl)) == CLI_OK &&
	    (ret = walk(cl, tail_row, &t)) == CLI_OK &&
	    (ret = keep_last(&t)) == CLI_OK)
		ret = o.c.json ? client_print_json(t.rows) : print_tail(t.rows);
	json_decref(t.rows);
	client_free(cl);
	return ret;
}

struct verify {
	long long expect; /* the seq the next row must have */
	char prev[65]; /* the hash the next row must chain from */
	long long bad; /* first bad seq, 0 while none */
	const char *why;
};

/* The row as the store hashed it; strings borrowed from the JSON. */
static int
row_audit(json_t *row, struct rc_audit *a)
{
	json_t *t = json_object_get(row, "timeUnix");
	const char *prev = str_at(row, "prevHash");

	memset(a, 0, sizeof(*a));
	a->seq = row_seq(row);
	a->who = (char *)str_at(row, "who");
	a->action = (char *)str_at(row, "action");
	a->object = (char *)str_at(row, "object");
	a->etag_before = (char *)str_at(row, "etagBefore");
	a->etag_after = (char *)str_at(row, "etagAfter");
	if (!json_is_integer(t) || a->who == NULL || a->action == NULL ||
	    a->object == NULL || a->etag_before == NULL ||
	    a->etag_after == NULL || prev == NULL || strlen(prev) != 64)
		return RC_EPARSE;
	a->time = (int64_t)json_integer_value(t);
	memcpy(a->prev_hash, prev, 65);
	return RC_OK;
}

static int
verify_row(void *arg, json_t *row)
{
	struct verify *v = arg;
	const char *hash = str_at(row, "hash");
	struct rc_audit a;
	char h[65];

	if (v->bad != 0)
		return CLI_OK;
	v->bad = v->expect;
	if (row_seq(row) != v->expect)
		v->why = "the row is missing (deleted)";
	else if (row_audit(row, &a) != RC_OK || hash == NULL)
		v->why = "the row is malformed";
	else if (strcasecmp(a.prev_hash, v->prev) != 0)
		v->why = "its prevHash is not the hash of the row before "
		         "(a row was deleted or edited)";
	else if (rc_audit_hash(&a, h) != RC_OK)
		v->why = "its hash cannot be computed";
	else if (strcasecmp(h, hash) != 0)
		v->why = "its hash does not match its fields (the row was "
		         "edited)";
	else {
		v->bad = 0;
		v->expect++;
		snprintf(v->prev, sizeof(v->prev), "%s", hash);
	}
	return CLI_OK;
}

static int
verify_report(const struct aopts *o, const struct verify *v)
{
	long long rows = v->expect - 1;
	json_t *j;
	int ret;

	if (o->c.json) {
		if ((j = json_pack("{s:b, s:I, s:s}", "ok", v->bad == 0, "rows",
		         (json_int_t)rows, "lastHash", v->prev)) == NULL)
			return cli_fail("out of memory");
		if (v->bad != 0 &&
		    (json_object_set_new(j, "firstBadSeq",
		         json_integer(v->bad)) != 0 ||
		        json_object_set_new(j, "reason", json_string(v->why)) !=
		            0)) {
			json_decref(j);
			return cli_fail("out of memory");
		}
		ret = client_print_json(j);
		json_decref(j);
		if (ret != CLI_OK)
			return ret;
		return v->bad == 0 ? CLI_OK : CLI_FAIL;
	}
	if (v->bad != 0)
		return cli_fail("audit chain broken at seq %lld: %s", v->bad,
		    v->why);
	printf("audit chain OK (%lld rows)\n", rows);
	return CLI_OK;
}

static int
audit_verify(int argc, char **argv)
{
	struct client *cl = NULL;
	struct verify v;
	struct aopts o;
	int ret;

	if ((ret = parse(VERIFY_USAGE, "h", argc, argv, &o)) != CLI_OK ||
	    o.help)
		return ret;
	memset(&v, 0, sizeof(v));
	v.expect = 1;
	memcpy(v.prev, genesis, sizeof(v.prev));
	if ((ret = client_open(&o.c, &cl)) == CLI_OK &&
	    (ret = walk(cl, verify_row, &v)) == CLI_OK)
		ret = verify_report(&o, &v);
	client_free(cl);
	return ret;
}

int
cmd_audit(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
	    {"tail", audit_tail, "the newest rows of the audit log"},
	    {"verify", audit_verify,
	        "fetch every row and recompute the hash chain here"},
	    {NULL, NULL, NULL},
	};

	return cli_dispatch("audit", subs, argc, argv);
}
