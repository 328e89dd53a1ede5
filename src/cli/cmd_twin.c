/*
 * rollcall twin: device twins (docs/api.md "Twins").  update sends a JSON
 * merge patch (RFC 7386) of tags and desired properties.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "hub.h"
#include "rollcall/err.h"
#include "rollcall/mem.h"

#define SHOW_USAGE "rollcall twin show DEVICE_ID " CLIENT_HUB_USAGE
#define UPDATE_USAGE                                                     \
	"rollcall twin update DEVICE_ID [--desired JSON] [--tags JSON] " \
	"[--etag ETAG] " CLIENT_HUB_USAGE

enum { OPT_DESIRED = 1, OPT_TAGS, OPT_ETAG };

struct topts {
	struct client_opts c;
	const char *id;
	json_t *desired;
	json_t *tags;
	const char *etag;
	int help;
};

static int
store_opt(void *arg, const char *usage, int c, const char *val)
{
	struct topts *o = arg;

	switch (c) {
	case OPT_DESIRED:
		json_decref(o->desired);
		return hub_json_arg(usage, "desired", val, 1, &o->desired);
	case OPT_TAGS:
		json_decref(o->tags);
		return hub_json_arg(usage, "tags", val, 1, &o->tags);
	case OPT_ETAG:
		o->etag = val;
		return CLI_OK;
	default:
		return cli_usage(usage, NULL);
	}
}

static int
parse(const char *usage, const struct option *extra, int argc, char **argv,
    struct topts *o)
{
	static const char *const names[] = {"DEVICE_ID"};
	struct client_args a = {.usage = usage,
	    .extra = extra,
	    .fn = store_opt,
	    .arg = o,
	    .noperands = 1,
	    .names = names,
	    .hub = 1};

	memset(o, 0, sizeof(*o));
	return client_getopt(&a, argc, argv, &o->c, &o->id, &o->help);
}

static void
section(const char *label, json_t *v)
{
	char *dump = NULL;

	if (v != NULL)
		dump = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	/* one line: print_clean shows control bytes (a newline too) as '?' */
	printf("%-19s ", label);
	print_clean(stdout, dump != NULL ? dump : "{}");
	putchar('\n');
	rc_free(dump);
}

static int
print_twin(const struct topts *o, json_t *t)
{
	json_t *props = json_object_get(t, "properties");

	if (!json_is_object(t))
		return cli_fail("the answer is not a JSON object");
	if (o->c.json)
		return client_print_json(t);
	hub_field("device ID", t, "deviceId");
	hub_field("status", t, "status");
	hub_field("connection state", t, "connectionState");
	hub_field("version", t, "version");
	hub_field("etag", t, "etag");
	section("tags", json_object_get(t, "tags"));
	section("desired", json_object_get(props, "desired"));
	section("reported", json_object_get(props, "reported"));
	return CLI_OK;
}

static int
twin_show(int argc, char **argv)
{
	static const struct option none[] = {{NULL, 0, NULL, 0}};
	json_t *t = NULL;
	struct topts o;
	int ret;

	if ((ret = parse(SHOW_USAGE, none, argc, argv, &o)) != CLI_OK || o.help)
		return ret;
	if ((ret = hub_call(&o.c, "GET", "/twins/", o.id, "", NULL, NULL, &t,
	         NULL)) == CLI_OK)
		ret = print_twin(&o, t);
	json_decref(t);
	return ret;
}

static int
twin_update(int argc, char **argv)
{
	static const struct option extra[] = {
	    {"desired", required_argument, NULL, OPT_DESIRED},
	    {"tags", required_argument, NULL, OPT_TAGS},
	    {"etag", required_argument, NULL, OPT_ETAG},
	    {NULL, 0, NULL, 0},
	};
	json_t *patch = NULL, *t = NULL;
	struct topts o;
	int ret;

	if ((ret = parse(UPDATE_USAGE, extra, argc, argv, &o)) != CLI_OK ||
	    o.help)
		goto out;
	if (o.desired == NULL && o.tags == NULL) {
		ret = cli_usage(UPDATE_USAGE, "give --desired or --tags");
		goto out;
	}
	if ((patch = json_object()) == NULL ||
	    (o.tags != NULL && json_object_set(patch, "tags", o.tags) != 0) ||
	    (o.desired != NULL &&
	        json_object_set_new(patch, "properties",
	            json_pack("{s:O}", "desired", o.desired)) != 0)) {
		ret = cli_fail("out of memory");
		goto out;
	}
	if ((ret = hub_call(&o.c, "PATCH", "/twins/", o.id, "", patch, o.etag,
	         &t, NULL)) == CLI_OK)
		ret = print_twin(&o, t);
out:
	json_decref(o.desired);
	json_decref(o.tags);
	json_decref(patch);
	json_decref(t);
	return ret;
}

int
cmd_twin(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
	    {"show", twin_show, "show a device's twin"},
	    {"update", twin_update,
	        "patch a twin's tags and desired "
	        "properties"},
	    {NULL, NULL, NULL},
	};

	return cli_dispatch("twin", subs, argc, argv);
}
