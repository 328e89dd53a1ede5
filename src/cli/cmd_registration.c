/*
 * rollcall registration: the DPS registration states (what a device got
 * when it registered; reference/azure-service-api.md §2.1, §2.5).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "rollcall/enc.h"
#include "rollcall/mem.h"

#define SHOW_USAGE "rollcall registration show REG_ID " CLIENT_USAGE
#define LIST_USAGE \
	"rollcall registration list --group GROUP_ID [--max N] " CLIENT_USAGE
#define DELETE_USAGE \
	"rollcall registration delete REG_ID [--etag ETAG] " CLIENT_USAGE

enum { OPT_GROUP = 1, OPT_MAX, OPT_ETAG };

struct ropts {
	struct client_opts c;
	const char *id;
	const char *group;
	const char *etag;
	size_t max;
	int help;
};

static int
store_opt(void *arg, const char *usage, int c, const char *val)
{
	struct ropts *o = arg;
	long long v;

	switch (c) {
	case OPT_GROUP:
		o->group = val;
		return CLI_OK;
	case OPT_ETAG:
		o->etag = val;
		return CLI_OK;
	case OPT_MAX:
		if (rc_strtonum(val, 1, 1000000, &v) != RC_OK)
			return cli_usage(usage,
			    "--max: '%s' is not a number from 1 to 1000000",
			    val);
		o->max = (size_t)v;
		return CLI_OK;
	default:
		return cli_usage(usage, NULL);
	}
}

/* nid: how many operands (0 or 1); extra: the options besides common. */
static int
parse(const char *usage, const struct option *extra, int nid, int argc,
    char **argv, struct ropts *o)
{
	static const char *const names[] = {"REG_ID"};
	struct client_args a = {.usage = usage,
	    .extra = extra,
	    .fn = store_opt,
	    .arg = o,
	    .noperands = nid,
	    .names = names};

	memset(o, 0, sizeof(*o));
	return client_getopt(&a, argc, argv, &o->c, &o->id, &o->help);
}

static void
field(const char *label, json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(obj, key));
	json_t *n = json_object_get(obj, key);
	char num[32];

	if (v == NULL && json_is_integer(n)) {
		snprintf(num, sizeof(num), "%lld",
		    (long long)json_integer_value(n));
		v = num;
	}
	printf("%-16s", label);
	print_clean(stdout, v != NULL && *v != '\0' ? v : "-");
	putchar('\n');
}

static void
show(json_t *r)
{
	field("registration ID", r, "registrationId");
	field("device ID", r, "deviceId");
	field("status", r, "status");
	field("substatus", r, "substatus");
	field("assigned hub", r, "assignedHub");
	if (json_object_get(r, "errorCode") != NULL) {
		field("error", r, "errorCode");
		field("error message", r, "errorMessage");
	}
	field("etag", r, "etag");
	field("created", r, "createdDateTimeUtc");
	field("updated", r, "lastUpdatedDateTimeUtc");
}

static int
reg_show(int argc, char **argv)
{
	static const struct option none[] = {{NULL, 0, NULL, 0}};
	struct client *cl = NULL;
	struct client_resp r;
	char *path = NULL;
	struct ropts o;
	int ret;

	memset(&r, 0, sizeof(r));
	if ((ret = parse(SHOW_USAGE, none, 1, argc, argv, &o)) != CLI_OK ||
	    o.help)
		return ret;
	if ((ret = client_open(&o.c, &cl)) != CLI_OK)
		return ret;
	if (client_path(&path, "/registrations/", o.id, "") != RC_OK)
		ret = cli_fail("out of memory");
	else if ((ret = client_call(cl, "GET", path, NULL, NULL, NULL, &r)) ==
	        CLI_OK &&
	    (ret = client_ok(&r)) == CLI_OK) {
		if (!json_is_object(r.json))
			ret = cli_fail("the answer is not a JSON object");
		else if (o.c.json)
			ret = client_print_json(r.json);
		else
			show(r.json);
	}
	client_resp_clear(&r);
	rc_free(path);
	client_free(cl);
	return ret;
}

static int
print_table(json_t *all)
{
	static const char *const headers[] = {"ID", "STATUS", "DEVICE ID",
	    "HUB", "UPDATED"};
	const char *row[5];
	struct table *t = NULL;
	json_t *r;
	size_t i;

	if (table_new(5, headers, &t) != RC_OK)
		return cli_fail("out of memory");
	json_array_foreach(all, i, r)
	{
		row[0] =
		    json_string_value(json_object_get(r, "registrationId"));
		row[1] = json_string_value(json_object_get(r, "status"));
		row[2] = json_string_value(json_object_get(r, "deviceId"));
		row[3] = json_string_value(json_object_get(r, "assignedHub"));
		row[4] = json_string_value(
		    json_object_get(r, "lastUpdatedDateTimeUtc"));
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
reg_list(int argc, char **argv)
{
	static const struct option extra[] = {
	    {"group", required_argument, NULL, OPT_GROUP},
	    {"max", required_argument, NULL, OPT_MAX},
	    {NULL, 0, NULL, 0},
	};
	struct client *cl = NULL;
	json_t *all = NULL;
	char *path = NULL;
	struct ropts o;
	int ret;

	if ((ret = parse(LIST_USAGE, extra, 0, argc, argv, &o)) != CLI_OK ||
	    o.help)
		return ret;
	if (o.group == NULL)
		return cli_usage(LIST_USAGE,
		    "--group is needed: DPS lists "
		    "registrations by enrollment "
		    "group");
	if ((ret = client_open(&o.c, &cl)) != CLI_OK)
		return ret;
	if (client_path(&path, "/registrations/", o.group, "/query") != RC_OK)
		ret = cli_fail("out of memory");
	else if ((ret = client_query_all(cl, path, o.max, &all)) == CLI_OK)
		ret = o.c.json ? client_print_json(all) : print_table(all);
	json_decref(all);
	rc_free(path);
	client_free(cl);
	return ret;
}

static int
reg_delete(int argc, char **argv)
{
	static const struct option extra[] = {
	    {"etag", required_argument, NULL, OPT_ETAG},
	    {NULL, 0, NULL, 0},
	};
	struct client *cl = NULL;
	struct client_resp r;
	char *path = NULL;
	struct ropts o;
	int ret;

	memset(&r, 0, sizeof(r));
	if ((ret = parse(DELETE_USAGE, extra, 1, argc, argv, &o)) != CLI_OK ||
	    o.help)
		return ret;
	if ((ret = client_open(&o.c, &cl)) != CLI_OK)
		return ret;
	if (client_path(&path, "/registrations/", o.id, "") != RC_OK)
		ret = cli_fail("out of memory");
	else if ((ret = client_call(cl, "DELETE", path, NULL, o.etag, NULL,
	              &r)) == CLI_OK &&
	    (ret = client_ok(&r)) == CLI_OK && !o.c.json)
		printf("deleted registration %s\n", o.id);
	client_resp_clear(&r);
	rc_free(path);
	client_free(cl);
	return ret;
}

int
cmd_registration(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
	    {"show", reg_show, "show a device's registration state"},
	    {"list", reg_list, "list the registrations of a group"},
	    {"delete", reg_delete,
	        "delete a registration state (the device registers anew)"},
	    {NULL, NULL, NULL},
	};

	return cli_dispatch("registration", subs, argc, argv);
}
