/*
 * rollcall events: the hub's telemetry log (docs/api.md "Telemetry: GET
 * /events").  tail prints the newest events, or those after --after;
 * --follow keeps long-polling for new ones until interrupted.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "hub.h"
#include "rollcall/enc.h"
#include "rollcall/mem.h"
#include "rollcall/mqtt.h"

#define TAIL_USAGE                                   \
	"rollcall events tail [--after SEQ] [-n N] " \
	"[--follow] " CLIENT_HUB_USAGE
/* Events per request, and the -n default. */
#define EVENTS_MAX 1000
#define EVENTS_DEFAULT 10
/* Long-poll wait of --follow, seconds (the API allows up to 60). */
#define EVENTS_WAIT 20

enum { OPT_AFTER = 1, OPT_FOLLOW };

struct eopts {
	struct client_opts c;
	long long after;
	int has_after;
	long long n;
	int follow;
	int help;
};

static int
store_opt(void *arg, const char *usage, int c, const char *val)
{
	struct eopts *o = arg;

	switch (c) {
	case OPT_AFTER:
		if (rc_strtonum(val, 0, (long long)1 << 62, &o->after) != RC_OK)
			return cli_usage(usage,
			    "--after: '%s' is not a sequence number", val);
		o->has_after = 1;
		return CLI_OK;
	case 'n':
		if (rc_strtonum(val, 1, EVENTS_MAX, &o->n) != RC_OK)
			return cli_usage(usage,
			    "-n: '%s' is not a number from 1 to %d", val,
			    EVENTS_MAX);
		return CLI_OK;
	case OPT_FOLLOW:
		o->follow = 1;
		return CLI_OK;
	default:
		return cli_usage(usage, NULL);
	}
}

/* The body: the text itself if it is UTF-8 without controls, else base64. */
static void
print_body(const char *b64)
{
	uint8_t *raw = NULL;
	size_t len = 0, i;
	int text = 1;

	if (b64 == NULL ||
	    rc_b64_decode(b64, strlen(b64), CLIENT_MAX_BODY, &raw, &len) !=
	        RC_OK) {
		print_clean(stdout, b64 != NULL ? b64 : "-");
		return;
	}
	for (i = 0; i < len; i++)
		if (raw[i] < 0x20 || raw[i] == 0x7f)
			text = 0;
	if (text && rc_mqtt_utf8_check(raw, len) == RC_OK)
		fwrite(raw, 1, len, stdout);
	else
		printf("base64:%s", b64);
	rc_free(raw);
}

static void
print_event(json_t *e)
{
	json_t *p = json_object_get(e, "properties");
	char *props = NULL;

	printf("%lld %s ",
	    (long long)json_integer_value(json_object_get(e, "sequenceNumber")),
	    json_string_value(json_object_get(e, "enqueuedTime")) != NULL
	        ? json_string_value(json_object_get(e, "enqueuedTime"))
	        : "-");
	print_clean(stdout,
	    json_string_value(json_object_get(e, "deviceId")) != NULL
	        ? json_string_value(json_object_get(e, "deviceId"))
	        : "-");
	putchar(' ');
	if (json_is_object(p) && json_object_size(p) > 0)
		props = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
	print_clean(stdout, props != NULL ? props : "{}");
	putchar(' ');
	print_body(json_string_value(json_object_get(e, "bodyBase64")));
	putchar('\n');
	rc_free(props);
}

/* One GET /events; *next is the sequence number to continue after. */
static int
fetch(struct client *cl, long long after, int max, int wait, long long *next,
    json_t **events)
{
	char path[128];
	json_t *got = NULL;
	long status;
	int ret;

	*events = NULL;
	snprintf(path, sizeof(path), "/events?after=%lld&max=%d&wait=%d", after,
	    max, wait);
	if ((ret = hub_call_on(cl, "GET", path, NULL, NULL, NULL, NULL, &got,
	         &status)) != CLI_OK)
		return ret;
	if (!json_is_array(json_object_get(got, "events"))) {
		json_decref(got);
		return cli_fail("the answer has no events array");
	}
	*next = json_integer_value(json_object_get(got, "next"));
	if (*next < after)
		*next = after;
	*events = json_incref(json_object_get(got, "events"));
	json_decref(got);
	return CLI_OK;
}

static int
print_events(const struct eopts *o, json_t *events, size_t from)
{
	size_t i;

	for (i = from; i < json_array_size(events); i++) {
		if (o->c.json) {
			char *s =
			    json_dumps(json_array_get(events, i), JSON_COMPACT);

			if (s == NULL)
				return cli_fail("out of memory");
			printf("%s\n", s);
			rc_free(s);
		} else
			print_event(json_array_get(events, i));
	}
	fflush(stdout);
	return CLI_OK;
}

/*
 * Without --after, the last n events: the log's first/last numbers are not
 * known before asking, so read forward and keep the final n.
 */
static int
tail_last(struct client *cl, const struct eopts *o, long long *next)
{
	json_t *keep = NULL, *ev = NULL;
	long long after = 0;
	size_t n;
	int ret;

	if ((keep = json_array()) == NULL)
		return cli_fail("out of memory");
	for (;;) {
		if ((ret = fetch(cl, after, EVENTS_MAX, 0, next, &ev)) !=
		    CLI_OK)
			goto out;
		n = json_array_size(ev);
		if (json_array_extend(keep, ev) != 0) {
			ret = cli_fail("out of memory");
			goto out;
		}
		json_decref(ev);
		ev = NULL;
		while (json_array_size(keep) > (size_t)o->n)
			json_array_remove(keep, 0);
		if (n == 0 || *next <= after)
			break;
		after = *next;
	}
	ret = print_events(o, keep, 0);
out:
	json_decref(ev);
	json_decref(keep);
	return ret;
}

static int
events_tail(int argc, char **argv)
{
	static const struct option extra[] = {
	    {"after", required_argument, NULL, OPT_AFTER},
	    {"follow", no_argument, NULL, OPT_FOLLOW},
	    {NULL, 0, NULL, 0},
	};
	struct eopts o;
	struct client_args a = {.usage = TAIL_USAGE,
	    .shortopts = "hn:",
	    .extra = extra,
	    .fn = store_opt,
	    .arg = &o,
	    .hub = 1};
	struct client *cl = NULL;
	json_t *ev = NULL;
	long long next = 0;
	int ret;

	memset(&o, 0, sizeof(o));
	o.n = EVENTS_DEFAULT;
	if ((ret = client_getopt(&a, argc, argv, &o.c, NULL, &o.help)) !=
	        CLI_OK ||
	    o.help)
		return ret;
	if (o.follow && (o.c.timeout == 0 || o.c.timeout < EVENTS_WAIT + 10))
		o.c.timeout = EVENTS_WAIT + 10;
	if ((ret = client_open(&o.c, &cl)) != CLI_OK)
		return ret;
	if (!o.has_after)
		ret = tail_last(cl, &o, &next);
	else if ((ret = fetch(cl, o.after, (int)o.n, 0, &next, &ev)) == CLI_OK)
		ret = print_events(&o, ev, 0);
	json_decref(ev);
	ev = NULL;
	while (ret == CLI_OK && o.follow) {
		long long after = next;

		if ((ret = fetch(cl, after, EVENTS_MAX, EVENTS_WAIT, &next,
		         &ev)) == CLI_OK)
			ret = print_events(&o, ev, 0);
		json_decref(ev);
		ev = NULL;
	}
	client_free(cl);
	return ret;
}

int
cmd_events(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
	    {"tail", events_tail, "print the hub's telemetry events"},
	    {NULL, NULL, NULL},
	};

	return cli_dispatch("events", subs, argc, argv);
}
