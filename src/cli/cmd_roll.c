/*
 * rollcall roll: the certificate rolls of the seed as single commands
 * (docs/rolling-playbook.md).
 *
 *   individual REG --new-cert FILE --reason expiry
 *       the new leaf goes into the free slot, the old one stays (S6, S8);
 *       --finish later removes the older of the two.
 *   individual REG --new-cert FILE --reason breach [--hub-action A]
 *       the new leaf replaces every other, the old ones are blocklisted,
 *       and the device's hub identity is deleted (A = delete, the
 *       default: the device re-registers) or given the new thumbprint
 *       (A = reprovision); either way its live session on the old
 *       certificate is cut (S9).
 *   group GROUP --new-signing-cert FILE --reason expiry
 *       the same slots for a group's root or intermediate (S6, S7).
 *   group GROUP --new-signing-cert FILE --reason breach [fleet options]
 *       the new signing certificate joins the group, every device of the
 *       group is told to roll (rollCertificate, S11) in paced waves, then
 *       the old signing certificate is removed and blocklisted and the
 *       hub identities of devices that did not roll are deleted.
 *   fleet --query Q --method reprovision|rollCertificate [fleet options]
 *       paced waves over the devices a hub query selects (fleet.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "fleet.h"
#include "hub.h"
#include "roll.h"
#include "rollcall/enc.h"
#include "rollcall/file.h"
#include "rollcall/mem.h"

#define FLEET_OPTS_USAGE                                                \
	"[--rate N] [--wave-size N] [--canary N] [--max-failures PCT] " \
	"[--parallel N] [--method-timeout S] [--state FILE] [--json-lines]"
#define IND_USAGE                                                     \
	"rollcall roll individual REG_ID (--new-cert FILE --reason "  \
	"expiry|breach [--hub-action delete|reprovision] | --finish " \
	"[--new-cert FILE]) " CLIENT_USAGE
#define GRP_USAGE                                                         \
	"rollcall roll group GROUP_ID (--new-signing-cert FILE --reason " \
	"expiry|breach | --finish [--new-signing-cert "                   \
	"FILE]) " FLEET_OPTS_USAGE " " CLIENT_USAGE
#define FLEET_USAGE                                                      \
	"rollcall roll fleet --query QUERY --method "                    \
	"reprovision|rollCertificate [--payload JSON] " FLEET_OPTS_USAGE \
	" " CLIENT_HUB_USAGE

enum {
	OPT_NEW = 1,
	OPT_REASON,
	OPT_FINISH,
	OPT_HUB_ACTION,
	OPT_QUERY,
	OPT_METHOD,
	OPT_PAYLOAD,
	OPT_RATE,
	OPT_WAVE,
	OPT_CANARY,
	OPT_MAXFAIL,
	OPT_PARALLEL,
	OPT_MTIMEOUT,
	OPT_STATE,
	OPT_JSONL,
};

struct kind {
	const char *prefix; /* "/enrollments/" */
	const char *slots; /* attestation.x509.<slots> */
	const char *noun;
};

static const struct kind individual = {"/enrollments/", "clientCertificates",
    "enrollment"};
static const struct kind group = {"/enrollmentGroups/", "signingCertificates",
    "group"};

struct ropts {
	struct client_opts c;
	const char *id;
	const char *new_cert;
	const char *reason;
	const char *hub_action;
	const char *query;
	struct fleet_opts f;
	int finish;
	int help;
};

static int
num_opt(const char *usage, const char *name, const char *val, long long min,
    long long max, long long *out)
{
	if (rc_strtonum(val, min, max, out) != RC_OK)
		return cli_usage(usage,
		    "%s: '%s' is not a number from %lld to "
		    "%lld",
		    name, val, min, max);
	return CLI_OK;
}

static int
fleet_opt(struct ropts *o, const char *usage, int c, const char *val)
{
	long long v;
	json_error_t err;

	switch (c) {
	case OPT_RATE:
		if (num_opt(usage, "--rate", val, 1, 100000, &v) != CLI_OK)
			return CLI_USAGE;
		o->f.rate = (double)v;
		return CLI_OK;
	case OPT_WAVE:
	case OPT_CANARY:
	case OPT_PARALLEL:
		if (num_opt(usage, "a count", val, c == OPT_CANARY ? 0 : 1,
		        1000000, &v) != CLI_OK)
			return CLI_USAGE;
		if (c == OPT_WAVE)
			o->f.wave = (size_t)v;
		else if (c == OPT_CANARY)
			o->f.canary = (size_t)v;
		else
			o->f.parallel = (size_t)(v > 64 ? 64 : v);
		return CLI_OK;
	case OPT_MAXFAIL:
		if ((o->f.max_failures = fleet_parse_ratio(val)) < 0)
			return cli_usage(usage,
			    "--max-failures: '%s' is not a percentage (10%%) "
			    "or a ratio from 0 to 1",
			    val);
		return CLI_OK;
	case OPT_MTIMEOUT:
		if (num_opt(usage, "--method-timeout", val, 1, 300, &v) !=
		    CLI_OK)
			return CLI_USAGE;
		o->f.method_timeout = (int)v;
		return CLI_OK;
	case OPT_STATE:
		o->f.state = val;
		return CLI_OK;
	case OPT_JSONL:
		o->f.json = 1;
		return CLI_OK;
	case OPT_METHOD:
		if (strcmp(val, "reprovision") != 0 &&
		    strcmp(val, "rollCertificate") != 0)
			return cli_usage(usage,
			    "--method: reprovision or rollCertificate");
		o->f.method = val;
		return CLI_OK;
	case OPT_PAYLOAD:
		json_decref(o->f.payload);
		o->f.payload = json_loads(val, JSON_DECODE_ANY, &err);
		if (o->f.payload == NULL)
			return cli_usage(usage, "--payload: not JSON: %s",
			    err.text);
		return CLI_OK;
	case OPT_QUERY:
		o->query = val;
		return CLI_OK;
	default:
		return cli_usage(usage, NULL);
	}
}

static int
store_opt(void *arg, const char *usage, int c, const char *val)
{
	struct ropts *o = arg;

	switch (c) {
	case OPT_NEW:
		o->new_cert = val;
		return CLI_OK;
	case OPT_REASON:
		if (strcmp(val, "expiry") != 0 && strcmp(val, "breach") != 0)
			return cli_usage(usage, "--reason: expiry or breach");
		o->reason = val;
		return CLI_OK;
	case OPT_FINISH:
		o->finish = 1;
		return CLI_OK;
	case OPT_HUB_ACTION:
		if (strcmp(val, "delete") != 0 &&
		    strcmp(val, "reprovision") != 0)
			return cli_usage(usage,
			    "--hub-action: delete or reprovision");
		o->hub_action = val;
		return CLI_OK;
	default:
		return fleet_opt(o, usage, c, val);
	}
}

#define FLEET_LONGOPTS                                                 \
	{"rate", required_argument, NULL, OPT_RATE},                   \
	    {"wave-size", required_argument, NULL, OPT_WAVE},          \
	    {"canary", required_argument, NULL, OPT_CANARY},           \
	    {"max-failures", required_argument, NULL, OPT_MAXFAIL},    \
	    {"parallel", required_argument, NULL, OPT_PARALLEL},       \
	    {"method-timeout", required_argument, NULL, OPT_MTIMEOUT}, \
	    {"state", required_argument, NULL, OPT_STATE},             \
	{                                                              \
		"json-lines", no_argument, NULL, OPT_JSONL             \
	}

static void
fleet_defaults(struct fleet_opts *f)
{
	f->method_timeout = 30;
	f->wave = 50;
	f->canary = 1;
	f->max_failures = 0.1;
	f->parallel = 8;
}

/* --- expiry: the free slot, then --finish ------------------------------ */

static const char *const slot_names[] = {"primary", "secondary"};

/* Which slot holds sha (-1: none). */
static int
slot_of(json_t *slots, const char *sha)
{
	const char *s;
	int i;

	for (i = 0; i < 2; i++)
		if ((s = roll_slot_sha256(slots, slot_names[i])) != NULL &&
		    strcasecmp(s, sha) == 0)
			return i;
	return -1;
}

static int
cert_obj(const char *path, json_t **out)
{
	return client_cert_json(path, out);
}

static int
expiry_add(const struct kind *k, struct ropts *o, json_t *slots, int *changed)
{
	char sha[65];
	json_t *c;
	int i, ret;

	*changed = 0;
	if ((ret = roll_cert_sha256(o->new_cert, sha)) != CLI_OK)
		return ret;
	if ((i = slot_of(slots, sha)) >= 0) {
		printf("%s %s: the new certificate is already in the %s slot\n",
		    k->noun, o->id, slot_names[i]);
		return CLI_OK;
	}
	for (i = 0; i < 2; i++)
		if (roll_slot_sha256(slots, slot_names[i]) == NULL)
			break;
	if (i == 2)
		return cli_fail("%s %s: both slots hold a certificate "
		                "(primary until %s, secondary until %s): "
		                "finish "
		                "the previous roll first (--finish)",
		    k->noun, o->id, roll_slot_not_after(slots, "primary"),
		    roll_slot_not_after(slots, "secondary"));
	if ((ret = cert_obj(o->new_cert, &c)) != CLI_OK)
		return ret;
	json_object_set_new(slots, slot_names[i], c);
	*changed = 1;
	printf("%s %s: new certificate %.16s... in the %s slot; the %s slot "
	       "keeps the current one until `--finish`\n",
	    k->noun, o->id, sha, slot_names[i], slot_names[1 - i]);
	return CLI_OK;
}

/* --finish: keeps the new certificate (given, or the later notAfter). */
static int
finish(const struct kind *k, struct ropts *o, json_t *slots, int *changed)
{
	const char *a = roll_slot_not_after(slots, "primary");
	const char *b = roll_slot_not_after(slots, "secondary");
	char sha[65];
	int keep, ret;

	*changed = 0;
	if (roll_slot_sha256(slots, "primary") == NULL ||
	    roll_slot_sha256(slots, "secondary") == NULL) {
		printf("%s %s: one slot is empty; nothing to finish\n", k->noun,
		    o->id);
		return CLI_OK;
	}
	if (o->new_cert != NULL) {
		if ((ret = roll_cert_sha256(o->new_cert, sha)) != CLI_OK)
			return ret;
		if ((keep = slot_of(slots, sha)) < 0)
			return cli_fail("%s %s: %s is in neither slot", k->noun,
			    o->id, o->new_cert);
	} else {
		/* ISO-8601 UTC strings order as times do. */
		keep = strcmp(b, a) > 0 ? 1 : 0;
	}
	printf("%s %s: removed the %s slot's certificate (until %s); the %s "
	       "slot's stays\n",
	    k->noun, o->id, slot_names[1 - keep], keep ? a : b,
	    slot_names[keep]);
	json_object_del(slots, slot_names[1 - keep]);
	*changed = 1;
	return CLI_OK;
}

/* --- breach -------------------------------------------------------------- */

/*
 * The new certificate alone in the primary slot; *old gets the thumbprints
 * that were there (the compromised ones).
 */
static int
breach_slots(const struct kind *k, struct ropts *o, json_t *slots, json_t *old)
{
	const char *s;
	char sha[65];
	json_t *c;
	int i, ret;

	if ((ret = roll_cert_sha256(o->new_cert, sha)) != CLI_OK)
		return ret;
	for (i = 0; i < 2; i++)
		if ((s = roll_slot_sha256(slots, slot_names[i])) != NULL &&
		    strcasecmp(s, sha) != 0)
			json_array_append_new(old, json_string(s));
	if ((ret = cert_obj(o->new_cert, &c)) != CLI_OK)
		return ret;
	json_object_set_new(slots, "primary", c);
	json_object_del(slots, "secondary");
	printf("%s %s: the new certificate %.16s... is now the only one\n",
	    k->noun, o->id, sha);
	return CLI_OK;
}

static int
block_all(struct client *dps, json_t *old, const char *why)
{
	json_t *v;
	size_t i;
	int ret = CLI_OK;

	json_array_foreach(old, i, v)
	{
		if (roll_block(dps, json_string_value(v), why) != CLI_OK) {
			ret = CLI_FAIL;
			continue;
		}
		printf("blocklisted %s\n", json_string_value(v));
	}
	return ret;
}

/* The device's hub identity after an individual breach. */
static int
hub_after_breach(struct ropts *o, struct client *dps)
{
	struct client *hub = NULL;
	json_t *reg = NULL, *dev = NULL, *out = NULL;
	const char *host, *dev_id;
	char sha[65];
	long status;
	int ret;

	if ((ret = roll_registration(dps, o->id, &reg)) != CLI_OK)
		return ret;
	host = json_string_value(json_object_get(reg, "assignedHub"));
	dev_id = json_string_value(json_object_get(reg, "deviceId"));
	if (host == NULL || dev_id == NULL) {
		printf("%s has no hub identity (never assigned)\n", o->id);
		goto out;
	}
	if ((ret = roll_hub_open(&o->c, host, &hub)) != CLI_OK)
		goto out;
	if (o->hub_action == NULL || strcmp(o->hub_action, "delete") == 0) {
		ret = hub_call_on(hub, "DELETE", "/devices/", dev_id, "", NULL,
		    "*", &out, &status);
		if (ret != CLI_OK && status == 404)
			ret = CLI_OK;
		if (ret == CLI_OK)
			printf("hub %s: device %s deleted; its sessions are "
			       "closed and it registers anew\n",
			    host, dev_id);
		goto out;
	}
	if ((ret = roll_cert_sha256(o->new_cert, sha)) != CLI_OK)
		goto out;
	dev = json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:n}}}", "deviceId", dev_id,
	    "status", "enabled", "authentication", "type", "selfSigned",
	    "x509Thumbprint", "primaryThumbprint", sha, "secondaryThumbprint");
	ret = hub_call_on(hub, "PUT", "/devices/", dev_id, "", dev, "*", &out,
	    &status);
	if (ret == CLI_OK)
		printf("hub %s: device %s now accepts only the new "
		       "certificate; sessions on the old one are closed\n",
		    host, dev_id);
out:
	json_decref(reg);
	json_decref(dev);
	json_decref(out);
	client_free(hub);
	return ret;
}

/* --- group breach: re-issue every device, then retire the old CA ------ */

/* The group's registrations, grouped by hub: {host: [deviceId...]}. */
static int
group_devices(struct client *dps, const char *id, json_t **by_hub)
{
	char *path = NULL;
	json_t *all = NULL, *r;
	size_t i;
	int ret;

	*by_hub = NULL;
	if (client_path(&path, "/registrations/", id, "/query") != RC_OK)
		return cli_fail("out of memory");
	ret = client_query_all(dps, path, 0, &all);
	rc_free(path);
	if (ret != CLI_OK)
		return ret;
	*by_hub = json_object();
	json_array_foreach(all, i, r)
	{
		const char *h =
		    json_string_value(json_object_get(r, "assignedHub"));
		const char *d =
		    json_string_value(json_object_get(r, "deviceId"));
		const char *st =
		    json_string_value(json_object_get(r, "status"));

		if (h == NULL || d == NULL || st == NULL ||
		    strcmp(st, "assigned") != 0)
			continue;
		if (json_object_get(*by_hub, h) == NULL)
			json_object_set_new(*by_hub, h, json_array());
		json_array_append_new(json_object_get(*by_hub, h),
		    json_string(d));
	}
	json_decref(all);
	return CLI_OK;
}

/* Deletes the identities of the devices that did not roll. */
/*
 * The devices map of --state (device -> "done"/"failed"), or NULL: what a
 * resumed roll already did, before this run's start.
 */
static json_t *
state_done(const struct ropts *o)
{
	uint8_t *text = NULL;
	json_t *j, *d;
	size_t len;

	if (o->f.state == NULL ||
	    rc_file_read(o->f.state, 64 * 1024 * 1024, &text, &len) != RC_OK)
		return NULL;
	j = json_loadb((const char *)text, len, 0, NULL);
	rc_free(text);
	d = json_incref(json_object_get(j, "devices"));
	json_decref(j);
	return d;
}

static int
drop_unrolled(struct ropts *o, struct client *dps, const char *since)
{
	char *path = NULL;
	json_t *all = NULL, *r, *out = NULL, *done = state_done(o);
	struct client *hub = NULL;
	size_t i, n = 0;
	long status;
	int ret;

	if (client_path(&path, "/registrations/", o->id, "/query") != RC_OK)
		return cli_fail("out of memory");
	ret = client_query_all(dps, path, 0, &all);
	rc_free(path);
	json_array_foreach(all, i, r)
	{
		const char *h =
		    json_string_value(json_object_get(r, "assignedHub"));
		const char *d =
		    json_string_value(json_object_get(r, "deviceId"));
		const char *up = json_string_value(
		    json_object_get(r, "lastUpdatedDateTimeUtc"));

		if (h == NULL || d == NULL || up == NULL ||
		    strcmp(up, since) >= 0)
			continue;
		/* Rolled in an earlier run of this roll (the state file). */
		if (done != NULL && json_is_string(json_object_get(done, d)) &&
		    strcmp(json_string_value(json_object_get(done, d)),
		        "done") == 0)
			continue;
		if (roll_hub_open(&o->c, h, &hub) != CLI_OK) {
			ret = CLI_FAIL;
			continue;
		}
		if (hub_call_on(hub, "DELETE", "/devices/", d, "", NULL, "*",
		        &out, &status) == CLI_OK ||
		    status == 404) {
			printf("hub %s: device %s did not roll: its identity "
			       "is deleted\n",
			    h, d);
			n++;
		} else {
			ret = CLI_FAIL;
		}
		json_decref(out);
		out = NULL;
		client_free(hub);
		hub = NULL;
	}
	printf("%zu device(s) still on the old chain were removed from their "
	       "hubs\n",
	    n);
	json_decref(all);
	json_decref(done);
	return ret;
}

/* Registrations of the group updated at or after since. */
static int
count_updated(struct ropts *o, struct client *dps, const char *since, size_t *n)
{
	char *path = NULL;
	json_t *all = NULL, *r;
	size_t i;
	int ret;

	*n = 0;
	if (client_path(&path, "/registrations/", o->id, "/query") != RC_OK)
		return cli_fail("out of memory");
	ret = client_query_all(dps, path, 0, &all);
	rc_free(path);
	if (ret != CLI_OK)
		return ret;
	json_array_foreach(all, i, r)
	{
		const char *up = json_string_value(
		    json_object_get(r, "lastUpdatedDateTimeUtc"));

		if (up != NULL && strcmp(up, since) >= 0)
			(*n)++;
	}
	json_decref(all);
	return CLI_OK;
}

/*
 * A device answers rollCertificate before it renews (docs/agent.md), and
 * its renewal registers through DPS attested by its current certificate,
 * which chains to the old signing certificate.  Retiring that one first
 * would refuse every renewal still on its way, so wait until as many
 * registrations changed since the roll began as devices accepted the
 * method, for at most the method timeout after the last call.
 */
static int
wait_renewed(struct ropts *o, struct client *dps, const char *since,
    size_t want)
{
	time_t end =
	    time(NULL) + (o->f.method_timeout > 0 ? o->f.method_timeout : 30);
	size_t n = 0;
	int ret;

	for (;;) {
		if ((ret = count_updated(o, dps, since, &n)) != CLI_OK)
			return ret;
		if (n >= want || time(NULL) >= end)
			break;
		usleep(250 * 1000);
	}
	printf("%zu of %zu device(s) registered again with a renewed "
	       "certificate\n",
	    n, want);
	return n >= want ? CLI_OK : CLI_FAIL;
}

static void
utc_now(char *out, size_t size)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
}

static int
group_breach(struct ropts *o, struct client *dps)
{
	json_t *doc = NULL, *slots, *old = json_array(), *by_hub = NULL;
	struct client_opts hub;
	struct fleet_result fr;
	const char *host;
	json_t *ids;
	char *etag = NULL, since[32];
	size_t accepted = 0;
	int ret, changed, failed = 0;

	/* 1. The new signing certificate joins the group (free slot). */
	utc_now(since, sizeof(since));
	if ((ret = roll_get(dps, group.prefix, o->id, &doc, &etag)) != CLI_OK)
		goto out;
	if (doc == NULL) {
		ret = cli_fail("group %s does not exist", o->id);
		goto out;
	}
	slots = roll_slots(doc, group.slots);
	if ((ret = expiry_add(&group, o, slots, &changed)) != CLI_OK ||
	    (changed &&
	        (ret = roll_put(dps, group.prefix, o->id, doc, etag)) !=
	            CLI_OK))
		goto out;
	/* 2. Every device of the group renews under it. */
	if ((ret = group_devices(dps, o->id, &by_hub)) != CLI_OK)
		goto out;
	o->f.method = "rollCertificate";
	json_object_foreach(by_hub, host, ids)
	{
		char *name = NULL;

		printf("hub %s: %zu device(s) roll their certificates\n", host,
		    json_array_size(ids));
		memset(&fr, 0, sizeof(fr));
		if (roll_hub_opts(&o->c, host, &hub, &name) != CLI_OK ||
		    fleet_run(&hub, ids, &o->f, &fr) != CLI_OK)
			failed = 1;
		accepted += fr.ok;
		rc_free(name);
	}
	if (wait_renewed(o, dps, since, accepted) != CLI_OK)
		failed = 1;
	if (failed)
		printf("some devices did not roll; they are removed from "
		       "their hubs below\n");
	/* 3. The old signing certificate leaves the group, blocklisted. */
	json_decref(doc);
	rc_free(etag);
	if ((ret = roll_get(dps, group.prefix, o->id, &doc, &etag)) != CLI_OK)
		goto out;
	slots = roll_slots(doc, group.slots);
	if ((ret = breach_slots(&group, o, slots, old)) != CLI_OK ||
	    (ret = roll_put(dps, group.prefix, o->id, doc, etag)) != CLI_OK)
		goto out;
	ret = block_all(dps, old, "breach of a group signing certificate");
	/* 4. Hub identities of devices that did not roll go. */
	if (drop_unrolled(o, dps, since) != CLI_OK)
		ret = CLI_FAIL;
	/* The old chain is out either way; devices lost to it still fail. */
	if (failed)
		ret = CLI_FAIL;
out:
	json_decref(doc);
	json_decref(old);
	json_decref(by_hub);
	rc_free(etag);
	return ret;
}

/* --- the commands -------------------------------------------------------- */

static int
parse(const char *usage, const struct option *extra, int nops, int hubcmd,
    int argc, char **argv, struct ropts *o)
{
	static const char *const names[] = {"ID"};
	struct client_args a = {.usage = usage,
	    .extra = extra,
	    .fn = store_opt,
	    .arg = o,
	    .noperands = nops,
	    .names = names,
	    .hub = hubcmd};

	memset(o, 0, sizeof(*o));
	fleet_defaults(&o->f);
	return client_getopt(&a, argc, argv, &o->c, &o->id, &o->help);
}

/* What both `individual` and `group` check of their options. */
static int
check_slot_opts(const char *usage, const struct ropts *o)
{
	if (o->finish && o->reason != NULL)
		return cli_usage(usage, "--finish takes no --reason");
	if (!o->finish && (o->new_cert == NULL || o->reason == NULL))
		return cli_usage(usage,
		    "give the new certificate and --reason, or --finish");
	return CLI_OK;
}

static int
roll_slots_cmd(const struct kind *k, struct ropts *o)
{
	struct client *dps = NULL;
	json_t *doc = NULL, *slots, *old = json_array();
	char *etag = NULL;
	int ret, changed = 0;

	if ((ret = client_open(&o->c, &dps)) != CLI_OK)
		goto out;
	if (k == &group && o->reason != NULL &&
	    strcmp(o->reason, "breach") == 0) {
		ret = group_breach(o, dps);
		goto out;
	}
	if ((ret = roll_get(dps, k->prefix, o->id, &doc, &etag)) != CLI_OK)
		goto out;
	if (doc == NULL) {
		ret = cli_fail("%s %s does not exist", k->noun, o->id);
		goto out;
	}
	if ((slots = roll_slots(doc, k->slots)) == NULL) {
		ret = cli_fail("%s %s does not hold certificates (a CA "
		               "reference?)",
		    k->noun, o->id);
		goto out;
	}
	if (o->finish)
		ret = finish(k, o, slots, &changed);
	else if (strcmp(o->reason, "expiry") == 0)
		ret = expiry_add(k, o, slots, &changed);
	else if ((ret = breach_slots(k, o, slots, old)) == CLI_OK)
		changed = 1;
	if (ret != CLI_OK || !changed ||
	    (ret = roll_put(dps, k->prefix, o->id, doc, etag)) != CLI_OK)
		goto out;
	if (!o->finish && strcmp(o->reason, "breach") == 0) {
		ret = block_all(dps, old, "breach");
		if (hub_after_breach(o, dps) != CLI_OK)
			ret = CLI_FAIL;
	}
out:
	json_decref(doc);
	json_decref(old);
	rc_free(etag);
	client_free(dps);
	return ret;
}

static int
roll_individual(int argc, char **argv)
{
	static const struct option extra[] = {
	    {"new-cert", required_argument, NULL, OPT_NEW},
	    {"reason", required_argument, NULL, OPT_REASON},
	    {"finish", no_argument, NULL, OPT_FINISH},
	    {"hub-action", required_argument, NULL, OPT_HUB_ACTION},
	    {NULL, 0, NULL, 0},
	};
	struct ropts o;
	int ret;

	if ((ret = parse(IND_USAGE, extra, 1, 0, argc, argv, &o)) != CLI_OK ||
	    o.help)
		return ret;
	if ((ret = check_slot_opts(IND_USAGE, &o)) != CLI_OK)
		return ret;
	if (o.hub_action != NULL &&
	    (o.reason == NULL || strcmp(o.reason, "breach") != 0))
		return cli_usage(IND_USAGE,
		    "--hub-action goes with --reason "
		    "breach");
	return roll_slots_cmd(&individual, &o);
}

static int
roll_group(int argc, char **argv)
{
	static const struct option extra[] = {
	    {"new-signing-cert", required_argument, NULL, OPT_NEW},
	    {"reason", required_argument, NULL, OPT_REASON},
	    {"finish", no_argument, NULL, OPT_FINISH},
	    FLEET_LONGOPTS,
	    {NULL, 0, NULL, 0},
	};
	struct ropts o;
	int ret;

	if ((ret = parse(GRP_USAGE, extra, 1, 0, argc, argv, &o)) != CLI_OK ||
	    o.help)
		goto out;
	if ((ret = check_slot_opts(GRP_USAGE, &o)) == CLI_OK)
		ret = roll_slots_cmd(&group, &o);
out:
	json_decref(o.f.payload);
	return ret;
}

static void
summary(const struct fleet_result *r, int json)
{
	if (json) {
		printf("{\"event\":\"summary\",\"devices\":%zu,\"skipped\":%zu,"
		       "\"ok\":%zu,\"failed\":%zu,\"aborted\":%s,"
		       "\"seconds\":%.1f}\n",
		    r->total, r->skipped, r->ok, r->failed,
		    r->aborted ? "true" : "false", r->seconds);
		return;
	}
	printf("\n%zu device(s): %zu rolled, %zu failed, %zu done before%s, "
	       "%.1f s\n",
	    r->total, r->ok, r->failed, r->skipped,
	    r->aborted ? "; stopped early (--max-failures)" : "", r->seconds);
}

static int
roll_fleet(int argc, char **argv)
{
	static const struct option extra[] = {
	    {"query", required_argument, NULL, OPT_QUERY},
	    {"method", required_argument, NULL, OPT_METHOD},
	    {"payload", required_argument, NULL, OPT_PAYLOAD},
	    FLEET_LONGOPTS,
	    {NULL, 0, NULL, 0},
	};
	struct fleet_result fr;
	struct client *hub = NULL;
	json_t *rows = NULL, *ids = NULL, *r;
	struct ropts o;
	size_t i;
	int ret;

	if ((ret = parse(FLEET_USAGE, extra, 0, 1, argc, argv, &o)) != CLI_OK ||
	    o.help)
		goto out;
	if (o.query == NULL || o.f.method == NULL) {
		ret = cli_usage(FLEET_USAGE, "--query and --method are needed");
		goto out;
	}
	if ((ret = client_open(&o.c, &hub)) != CLI_OK ||
	    (ret = client_query(hub, "/devices/query", o.query, 0, &rows)) !=
	        CLI_OK)
		goto out;
	ids = json_array();
	json_array_foreach(rows, i, r)
	{
		if (json_is_string(json_object_get(r, "deviceId")))
			json_array_append(ids, json_object_get(r, "deviceId"));
	}
	ret = fleet_run(&o.c, ids, &o.f, &fr);
	summary(&fr, o.f.json || o.c.json || !isatty(1));
out:
	json_decref(rows);
	json_decref(ids);
	json_decref(o.f.payload);
	client_free(hub);
	return ret;
}

int
cmd_roll(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
	    {"individual", roll_individual,
	        "roll an individual enrollment's certificate (expiry, breach)"},
	    {"group", roll_group,
	        "roll a group's signing certificate (expiry, breach)"},
	    {"fleet", roll_fleet,
	        "tell many devices to reprovision or renew, in paced waves"},
	    {NULL, NULL, NULL},
	};

	return cli_dispatch("roll", subs, argc, argv);
}
