/*
 * rollcall job: hub jobs v2 (docs/api.md "Jobs v2"): a direct method or a
 * desired-properties update over the devices a query condition selects.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "hub.h"
#include "rollcall/err.h"
#include "rollcall/mem.h"

#define CREATE_USAGE                                                   \
	"rollcall job create JOB_ID --query CONDITION (--method NAME " \
	"[--payload JSON] [--timeout SECONDS] | --desired "            \
	"JSON) " CLIENT_HUB_USAGE
#define SHOW_USAGE "rollcall job show JOB_ID " CLIENT_HUB_USAGE
#define LIST_USAGE \
	"rollcall job list [--type TYPE] [--status STATUS] " CLIENT_HUB_USAGE
#define CANCEL_USAGE "rollcall job cancel JOB_ID " CLIENT_HUB_USAGE

enum {
	OPT_QUERY = 1,
	OPT_METHOD,
	OPT_PAYLOAD,
	OPT_DESIRED,
	OPT_TYPE,
	OPT_STATUS,
};

struct jopts {
	struct client_opts c;
	const char *id;
	const char *query;
	const char *method;
	json_t *payload;
	json_t *desired;
	const char *type;
	const char *status;
	int help;
};

/* Values the query string carries as they are: letters only. */
static int
is_word(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
			return 0;
	return 1;
}

static int
store_opt(void *arg, const char *usage, int c, const char *val)
{
	struct jopts *o = arg;

	switch (c) {
	case OPT_QUERY:
		o->query = val;
		return CLI_OK;
	case OPT_METHOD:
		o->method = val;
		return CLI_OK;
	case OPT_PAYLOAD:
		json_decref(o->payload);
		return hub_json_arg(usage, "payload", val, 0, &o->payload);
	case OPT_DESIRED:
		json_decref(o->desired);
		return hub_json_arg(usage, "desired", val, 1, &o->desired);
	case OPT_TYPE:
	case OPT_STATUS:
		if (!is_word(val))
			return cli_usage(usage, "'%s' is not a job %s", val,
			    c == OPT_TYPE ? "type" : "status");
		*(c == OPT_TYPE ? &o->type : &o->status) = val;
		return CLI_OK;
	default:
		return cli_usage(usage, NULL);
	}
}

static int
parse(const char *usage, const struct option *extra, int nid, int argc,
    char **argv, struct jopts *o)
{
	static const char *const names[] = {"JOB_ID"};
	struct client_args a = {.usage = usage,
	    .extra = extra,
	    .fn = store_opt,
	    .arg = o,
	    .noperands = nid,
	    .names = names,
	    .hub = 1};

	memset(o, 0, sizeof(*o));
	return client_getopt(&a, argc, argv, &o->c, &o->id, &o->help);
}

static void
show(json_t *j)
{
	json_t *st = json_object_get(j, "deviceJobStatistics");

	hub_field("job ID", j, "jobId");
	hub_field("type", j, "type");
	hub_field("status", j, "status");
	hub_field("query", j, "queryCondition");
	hub_field("created", j, "createdTime");
	hub_field("start", j, "startTime");
	hub_field("end", j, "endTime");
	hub_field("failure reason", j, "failureReason");
	hub_field("devices", st, "deviceCount");
	hub_field("succeeded", st, "succeededCount");
	hub_field("failed", st, "failedCount");
	hub_field("running", st, "runningCount");
	hub_field("pending", st, "pendingCount");
}

static int
print_job(const struct jopts *o, json_t *j)
{
	if (!json_is_object(j))
		return cli_fail("the answer is not a JSON object");
	if (o->c.json)
		return client_print_json(j);
	show(j);
	return CLI_OK;
}

/* The JobRequest of create's options. */
static json_t *
job_request(const struct jopts *o)
{
	json_int_t t = o->c.timeout > 0 ? o->c.timeout : 30;

	if (o->method != NULL)
		return json_pack("{s:s, s:s, s:s, s:{s:s, s:O?, s:I}}", "jobId",
		    o->id, "type", "scheduleDeviceMethod", "queryCondition",
		    o->query, "cloudToDeviceMethod", "methodName", o->method,
		    "payload", o->payload, "responseTimeoutInSeconds", t);
	return json_pack("{s:s, s:s, s:s, s:{s:{s:O}}}", "jobId", o->id, "type",
	    "scheduleUpdateTwin", "queryCondition", o->query, "updateTwin",
	    "properties", "desired", o->desired);
}

static int
job_create(int argc, char **argv)
{
	static const struct option extra[] = {
	    {"query", required_argument, NULL, OPT_QUERY},
	    {"method", required_argument, NULL, OPT_METHOD},
	    {"payload", required_argument, NULL, OPT_PAYLOAD},
	    {"desired", required_argument, NULL, OPT_DESIRED},
	    {NULL, 0, NULL, 0},
	};
	json_t *req = NULL, *got = NULL;
	struct jopts o;
	int ret;

	if ((ret = parse(CREATE_USAGE, extra, 1, argc, argv, &o)) != CLI_OK ||
	    o.help)
		goto out;
	ret = CLI_USAGE;
	if (o.query == NULL)
		cli_usage(CREATE_USAGE, "--query is needed ('*' for all)");
	else if ((o.method == NULL) == (o.desired == NULL))
		cli_usage(CREATE_USAGE, "give --method or --desired (one)");
	else if (o.method == NULL && (o.payload != NULL || o.c.timeout > 0))
		cli_usage(CREATE_USAGE,
		    "--payload and --timeout go with "
		    "--method");
	else if (o.c.timeout > 300)
		cli_usage(CREATE_USAGE, "--timeout: at most 300 seconds");
	else
		ret = CLI_OK;
	if (ret != CLI_OK)
		goto out;
	/* --timeout is the method's; the request keeps the default. */
	if ((req = job_request(&o)) == NULL) {
		ret = cli_fail("out of memory");
		goto out;
	}
	o.c.timeout = 0;
	if ((ret = hub_call(&o.c, "PUT", "/jobs/v2/", o.id, "", req, NULL, &got,
	         NULL)) == CLI_OK)
		ret = print_job(&o, got);
out:
	json_decref(o.payload);
	json_decref(o.desired);
	json_decref(req);
	json_decref(got);
	return ret;
}

static int
job_show(int argc, char **argv)
{
	static const struct option none[] = {{NULL, 0, NULL, 0}};
	json_t *j = NULL;
	struct jopts o;
	int ret;

	if ((ret = parse(SHOW_USAGE, none, 1, argc, argv, &o)) != CLI_OK ||
	    o.help)
		return ret;
	if ((ret = hub_call(&o.c, "GET", "/jobs/v2/", o.id, "", NULL, NULL, &j,
	         NULL)) == CLI_OK)
		ret = print_job(&o, j);
	json_decref(j);
	return ret;
}

static int
print_table(json_t *all)
{
	static const char *const headers[] = {"JOB ID", "TYPE", "STATUS",
	    "DEVICES", "FAILED", "CREATED"};
	char n[2][24];
	const char *row[6];
	struct table *t = NULL;
	json_t *j, *st;
	size_t i;

	if (table_new(6, headers, &t) != RC_OK)
		return cli_fail("out of memory");
	json_array_foreach(all, i, j)
	{
		st = json_object_get(j, "deviceJobStatistics");
		snprintf(n[0], sizeof(n[0]), "%lld",
		    (long long)json_integer_value(
		        json_object_get(st, "deviceCount")));
		snprintf(n[1], sizeof(n[1]), "%lld",
		    (long long)json_integer_value(
		        json_object_get(st, "failedCount")));
		row[0] = json_string_value(json_object_get(j, "jobId"));
		row[1] = json_string_value(json_object_get(j, "type"));
		row[2] = json_string_value(json_object_get(j, "status"));
		row[3] = n[0];
		row[4] = n[1];
		row[5] = json_string_value(json_object_get(j, "createdTime"));
		if (table_add(t, row) != RC_OK) {
			table_free(t);
			return cli_fail("out of memory");
		}
	}
	table_print(t, stdout);
	table_free(t);
	return CLI_OK;
}

static int
job_list(int argc, char **argv)
{
	static const struct option extra[] = {
	    {"type", required_argument, NULL, OPT_TYPE},
	    {"status", required_argument, NULL, OPT_STATUS},
	    {NULL, 0, NULL, 0},
	};
	json_t *all = NULL;
	char path[256];
	struct jopts o;
	int ret;

	if ((ret = parse(LIST_USAGE, extra, 0, argc, argv, &o)) != CLI_OK ||
	    o.help)
		return ret;
	/* Both are letters only (store_opt): no escaping needed. */
	snprintf(path, sizeof(path), "/jobs/v2/query?%s%s%s%s",
	    o.type != NULL ? "jobType=" : "", o.type != NULL ? o.type : "",
	    o.status != NULL ? (o.type != NULL ? "&jobStatus=" : "jobStatus=")
	                     : "",
	    o.status != NULL ? o.status : "");
	if ((ret = hub_call(&o.c, "GET", path, NULL, NULL, NULL, NULL, &all,
	         NULL)) != CLI_OK)
		goto out;
	if (!json_is_array(all))
		ret = cli_fail("the answer is not a JSON array");
	else
		ret = o.c.json ? client_print_json(all) : print_table(all);
out:
	json_decref(all);
	return ret;
}

static int
job_cancel(int argc, char **argv)
{
	static const struct option none[] = {{NULL, 0, NULL, 0}};
	json_t *j = NULL;
	struct jopts o;
	int ret;

	if ((ret = parse(CANCEL_USAGE, none, 1, argc, argv, &o)) != CLI_OK ||
	    o.help)
		return ret;
	if ((ret = hub_call(&o.c, "POST", "/jobs/v2/", o.id, "/cancel", NULL,
	         NULL, &j, NULL)) == CLI_OK)
		ret = print_job(&o, j);
	json_decref(j);
	return ret;
}

int
cmd_job(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
	    {"create", job_create, "schedule a method or twin update job"},
	    {"show", job_show, "show a job and its statistics"},
	    {"list", job_list, "list jobs"},
	    {"cancel", job_cancel, "cancel a job"},
	    {NULL, NULL, NULL},
	};

	return cli_dispatch("job", subs, argc, argv);
}
