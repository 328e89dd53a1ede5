/*
 * rollcall method: direct methods (docs/api.md "Direct methods").  The
 * device's status and payload are printed; a device that is offline or
 * does not answer in time is a failure (exit 1).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "hub.h"
#include "rollcall/err.h"
#include "rollcall/mem.h"

#define INVOKE_USAGE                                                \
	"rollcall method invoke DEVICE_ID METHOD [--payload JSON] " \
	"[--timeout SECONDS] " CLIENT_HUB_USAGE
/* Method response timeout when --timeout is not given (the hub's default). */
#define METHOD_TIMEOUT 30
/* Time the HTTP request gets beyond the method's own timeout. */
#define METHOD_SLACK 15

enum { OPT_PAYLOAD = 1 };

struct mopts {
	struct client_opts c;
	const char *ops[2];
	json_t *payload;
	int help;
};

static int
store_opt(void *arg, const char *usage, int c, const char *val)
{
	struct mopts *o = arg;

	if (c != OPT_PAYLOAD)
		return cli_usage(usage, NULL);
	json_decref(o->payload);
	return hub_json_arg(usage, "payload", val, 0, &o->payload);
}

static void
print_result(json_t *r)
{
	json_t *p = json_object_get(r, "payload");
	char *dump = NULL;

	hub_field("status", r, "status");
	if (p != NULL)
		dump = json_dumps(p,
		    JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS);
	printf("%-20s", "payload");
	print_clean(stdout, dump != NULL ? dump : "null");
	putchar('\n');
	rc_free(dump);
}

/* POSTs the request; offline and timed-out devices get their own line. */
static int
call(struct mopts *o, json_t *req, long t, json_t **got)
{
	struct client *cl = NULL;
	struct client_resp r;
	char *path = NULL, code[64];
	int ret;

	*got = NULL;
	memset(&r, 0, sizeof(r));
	if ((ret = client_open(&o->c, &cl)) != CLI_OK)
		return ret;
	if (client_path(&path, "/twins/", o->ops[0], "/methods") != RC_OK) {
		ret = cli_fail("out of memory");
		goto out;
	}
	if ((ret = client_call(cl, "POST", path, req, NULL, NULL, &r)) !=
	    CLI_OK)
		goto out;
	if (r.status == 404 &&
	    hub_error_code(r.body, r.len, code, sizeof(code)) &&
	    strcmp(code, "DeviceNotOnline") == 0)
		ret = cli_fail("device %s is not online (404 DeviceNotOnline)",
		    o->ops[0]);
	else if (r.status == 504)
		ret = cli_fail("device %s did not answer within %ld s (504 "
		               "GatewayTimeout)",
		    o->ops[0], t);
	else if ((ret = client_ok(&r)) == CLI_OK)
		*got = json_incref(r.json);
out:
	client_resp_clear(&r);
	rc_free(path);
	client_free(cl);
	return ret;
}

static int
method_invoke(int argc, char **argv)
{
	static const char *const names[] = {"DEVICE_ID", "METHOD"};
	static const struct option extra[] = {
	    {"payload", required_argument, NULL, OPT_PAYLOAD},
	    {NULL, 0, NULL, 0},
	};
	struct mopts o;
	struct client_args a = {.usage = INVOKE_USAGE,
	    .extra = extra,
	    .fn = store_opt,
	    .arg = &o,
	    .noperands = 2,
	    .names = names,
	    .hub = 1};
	json_t *req = NULL, *got = NULL;
	json_int_t t;
	int ret;

	memset(&o, 0, sizeof(o));
	if ((ret = client_getopt(&a, argc, argv, &o.c, o.ops, &o.help)) !=
	        CLI_OK ||
	    o.help)
		goto out;
	t = o.c.timeout > 0 ? o.c.timeout : METHOD_TIMEOUT;
	if (t > 300) {
		ret = cli_usage(INVOKE_USAGE, "--timeout: at most 300 seconds");
		goto out;
	}
	/* --timeout is the device's; the request waits a little longer. */
	o.c.timeout = (long)t + METHOD_SLACK;
	if ((req = json_pack("{s:s, s:O?, s:I}", "methodName", o.ops[1],
	         "payload", o.payload, "responseTimeoutInSeconds", t)) ==
	    NULL) {
		ret = cli_fail("out of memory");
		goto out;
	}
	if ((ret = call(&o, req, (long)t, &got)) != CLI_OK)
		goto out;
	if (!json_is_object(got))
		ret = cli_fail("the answer is not a JSON object");
	else if (o.c.json)
		ret = client_print_json(got);
	else
		print_result(got);
out:
	json_decref(o.payload);
	json_decref(req);
	json_decref(got);
	return ret;
}

int
cmd_method(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
	    {"invoke", method_invoke, "call a direct method on a device"},
	    {NULL, NULL, NULL},
	};

	return cli_dispatch("method", subs, argc, argv);
}
