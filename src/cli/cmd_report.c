/*
 * rollcall report expiring --within DURATION: every certificate the
 * inventory knows that stops being valid within the window, soonest
 * first, from four sources:
 *
 *   enrollment   an individual enrollment's primary/secondary leaf
 *   group        a group's primary/secondary signing certificate
 *   issued       a certificate the CA issued from a CSR, not revoked
 *   device       what a device reports in its twin
 *                (properties.reported.certificate, rollcall-agent's)
 *
 * Table on a terminal, --json (an array) or --csv otherwise.  The hubs are
 * those of --data's connections.json.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "client.h"
#include "roll.h"
#include "rollcall/enc.h"
#include "rollcall/mem.h"

#define USAGE "rollcall report expiring --within DURATION [--csv] " CLIENT_USAGE

enum { OPT_WITHIN = 1, OPT_CSV };

struct popts {
	struct client_opts c;
	long long within; /* seconds */
	int csv;
	int help;
};

static int
store_opt(void *arg, const char *usage, int c, const char *val)
{
	struct popts *o = arg;

	switch (c) {
	case OPT_WITHIN:
		if ((o->within = cli_parse_duration(val)) < 0)
			return cli_usage(usage,
			    "--within: '%s' is not a duration (30d, 12h, "
			    "90m, 600s)",
			    val);
		return CLI_OK;
	case OPT_CSV:
		o->csv = 1;
		return CLI_OK;
	default:
		return cli_usage(usage, NULL);
	}
}

/* "YYYY-MM-DDTHH:MM:SS..." UTC to seconds; -1 if not such a time. */
static time_t
iso_time(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
		return -1;
	return timegm(&tm);
}

struct report {
	json_t *rows;
	time_t now, until;
};

static void
add(struct report *r, const char *source, const char *id, const char *detail,
    const char *sha, const char *not_after)
{
	time_t t = iso_time(not_after);

	if (t < 0 || t > r->until)
		return;
	json_array_append_new(r->rows,
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "source", source, "id",
	        id, "detail", detail, "sha256", sha != NULL ? sha : "",
	        "notAfter", not_after, "secondsLeft",
	        (json_int_t)(t - r->now)));
}

static void
from_enrollments(struct report *r, json_t *list, const char *source,
    const char *id_field, const char *slots_key)
{
	static const char *const slots[] = {"primary", "secondary"};
	json_t *doc, *s;
	size_t i, k;

	json_array_foreach(list, i, doc)
	{
		const char *id =
		    json_string_value(json_object_get(doc, id_field));

		s = json_object_get(json_object_get(json_object_get(doc,
		                                        "attestation"),
		                        "x509"),
		    slots_key);
		for (k = 0; id != NULL && k < 2; k++)
			if (roll_slot_sha256(s, slots[k]) != NULL)
				add(r, source, id, slots[k],
				    roll_slot_sha256(s, slots[k]),
				    roll_slot_not_after(s, slots[k]));
	}
}

static int
dps_sources(struct report *r, struct client *dps)
{
	struct client_resp resp;
	json_t *list = NULL, *v;
	char path[96], when[32];
	struct tm tm;
	size_t i;
	int ret;

	if ((ret = client_query_all(dps, "/enrollments/query", 0, &list)) !=
	    CLI_OK)
		return ret;
	from_enrollments(r, list, "enrollment", "registrationId",
	    "clientCertificates");
	json_decref(list);
	if ((ret = client_query_all(dps, "/enrollmentGroups/query", 0,
	         &list)) != CLI_OK)
		return ret;
	from_enrollments(r, list, "group", "enrollmentGroupId",
	    "signingCertificates");
	json_decref(list);
	gmtime_r(&r->until, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(path, sizeof(path), "/issued?before=%s&max=1000", when);
	if ((ret = client_call(dps, "GET", path, NULL, NULL, NULL, &resp)) !=
	    CLI_OK)
		return ret;
	if (resp.status == 404) {
		fprintf(stderr,
		    "rollcall: this server does not list issued "
		    "certificates; skipped\n");
	} else if ((ret = client_ok(&resp)) == CLI_OK) {
		list = json_is_array(resp.json)
		    ? resp.json
		    : json_object_get(resp.json, "items");
		json_array_foreach(list, i, v) add(r, "issued",
		    json_string_value(json_object_get(v, "registrationId")),
		    json_string_value(json_object_get(v, "serialNumber")),
		    json_string_value(json_object_get(v, "sha256Thumbprint")),
		    json_string_value(json_object_get(v, "notAfterUtc")));
	}
	client_resp_clear(&resp);
	return ret;
}

/* What devices report, on every hub of --data. */
static int
device_sources(struct report *r, const struct popts *o)
{
	char path[4096];
	uint8_t *text = NULL;
	json_t *conn, *hubs, *h, *rows = NULL, *d, *cert;
	struct client *hub = NULL;
	size_t len, i, k;
	int ret = CLI_OK;

	if (o->c.data == NULL)
		return CLI_OK;
	snprintf(path, sizeof(path), "%s/connections.json", o->c.data);
	if (cli_read_file(path, &text, &len) != RC_OK)
		return cli_fail("%s: cannot read it", path);
	conn = json_loadb((const char *)text, len, 0, NULL);
	rc_free(text);
	hubs = json_object_get(conn, "hubs");
	json_array_foreach(hubs, i, h)
	{
		const char *host =
		    json_string_value(json_object_get(h, "host"));

		if (host == NULL ||
		    roll_hub_open(&o->c, host, &hub) != CLI_OK ||
		    client_query(hub, "/devices/query", "SELECT * FROM devices",
		        0, &rows) != CLI_OK) {
			ret = CLI_FAIL;
		} else {
			json_array_foreach(rows, k, d)
			{
				cert = json_object_get(
				    json_object_get(json_object_get(d,
				                        "properties"),
				        "reported"),
				    "certificate");
				if (!json_is_object(cert))
					continue;
				add(r, "device",
				    json_string_value(
				        json_object_get(d, "deviceId")),
				    host,
				    json_string_value(
				        json_object_get(cert, "thumbprint")),
				    json_string_value(
				        json_object_get(cert, "notAfter")));
			}
		}
		json_decref(rows);
		rows = NULL;
		client_free(hub);
		hub = NULL;
	}
	json_decref(conn);
	return ret;
}

static int
by_time(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	json_int_t p = json_integer_value(json_object_get(x, "secondsLeft"));
	json_int_t q = json_integer_value(json_object_get(y, "secondsLeft"));

	return p < q ? -1 : p > q;
}

static void
csv_field(const char *s)
{
	putchar('"');
	for (; s != NULL && *s != '\0'; s++) {
		if (*s == '"')
			putchar('"');
		if ((unsigned char)*s >= 0x20)
			putchar(*s);
	}
	putchar('"');
}

static int
print(const struct popts *o, json_t *rows)
{
	static const char *const keys[] = {"source", "id", "detail", "sha256",
	    "notAfter"};
	static const char *const head[] = {"SOURCE", "ID", "DETAIL", "SHA-256",
	    "NOT AFTER", "DAYS LEFT"};
	struct table *t = NULL;
	const char *cells[6];
	char days[32], sha[20];
	json_t *v;
	size_t i, k;

	if (o->c.json)
		return client_print_json(rows);
	if (o->csv) {
		printf("source,id,detail,sha256,notAfter,secondsLeft\n");
		json_array_foreach(rows, i, v)
		{
			for (k = 0; k < 5; k++) {
				csv_field(json_string_value(
				    json_object_get(v, keys[k])));
				putchar(',');
			}
			printf("%lld\n",
			    (long long)json_integer_value(
			        json_object_get(v, "secondsLeft")));
		}
		return CLI_OK;
	}
	if (table_new(6, head, &t) != RC_OK)
		return cli_fail("out of memory");
	json_array_foreach(rows, i, v)
	{
		for (k = 0; k < 5; k++)
			cells[k] =
			    json_string_value(json_object_get(v, keys[k]));
		snprintf(sha, sizeof(sha), "%.16s", cells[3]);
		cells[3] = sha;
		snprintf(days, sizeof(days), "%.1f",
		    (double)json_integer_value(
		        json_object_get(v, "secondsLeft")) /
		        86400.0);
		cells[5] = days;
		table_add(t, cells);
	}
	table_print(t, stdout);
	table_free(t);
	return CLI_OK;
}

static int
report_expiring(int argc, char **argv)
{
	static const struct option extra[] = {
	    {"within", required_argument, NULL, OPT_WITHIN},
	    {"csv", no_argument, NULL, OPT_CSV},
	    {NULL, 0, NULL, 0},
	};
	struct client *dps = NULL;
	struct report r;
	struct popts o;
	json_t **v = NULL;
	size_t i, n;
	int ret;
	struct client_args a = {.usage = USAGE,
	    .extra = extra,
	    .fn = store_opt,
	    .arg = &o};

	memset(&o, 0, sizeof(o));
	o.within = -1;
	if ((ret = client_getopt(&a, argc, argv, &o.c, NULL, &o.help)) !=
	        CLI_OK ||
	    o.help)
		return ret;
	if (o.within < 0)
		return cli_usage(USAGE, "--within is needed");
	memset(&r, 0, sizeof(r));
	r.rows = json_array();
	r.now = time(NULL);
	r.until = r.now + (time_t)o.within;
	if ((ret = client_open(&o.c, &dps)) != CLI_OK ||
	    (ret = dps_sources(&r, dps)) != CLI_OK)
		goto out;
	ret = device_sources(&r, &o);
	/* Soonest first. */
	n = json_array_size(r.rows);
	if (n > 0 && (v = rc_calloc(n, sizeof(*v))) != NULL) {
		for (i = 0; i < n; i++)
			v[i] = json_incref(json_array_get(r.rows, i));
		qsort(v, n, sizeof(*v), by_time);
		json_array_clear(r.rows);
		for (i = 0; i < n; i++)
			json_array_append_new(r.rows, v[i]);
		rc_free(v);
	}
	if (print(&o, r.rows) != CLI_OK)
		ret = CLI_FAIL;
out:
	json_decref(r.rows);
	client_free(dps);
	return ret;
}

int
cmd_report(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
	    {"expiring", report_expiring,
	        "certificates that expire within a window, soonest first"},
	    {NULL, NULL, NULL},
	};

	return cli_dispatch("report", subs, argc, argv);
}
