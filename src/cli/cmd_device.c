/*
 * rollcall device: the device identities of a hub (docs/api.md "Device
 * identities").  Devices authenticate by X.509 only: selfSigned with one or
 * two thumbprints, or certificateAuthority (--ca-signed).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <openssl/x509.h>

#include "cli.h"
#include "client.h"
#include "hub.h"
#include "rollcall/enc.h"
#include "rollcall/mem.h"
#include "rollcall/x509.h"

#define CREATE_USAGE                                                          \
	"rollcall device create DEVICE_ID (--thumbprint HEX "                 \
	"[--secondary-thumbprint HEX] | --cert FILE [--secondary-cert FILE] " \
	"| --ca-signed) [--disabled] " CLIENT_HUB_USAGE
#define SHOW_USAGE "rollcall device show DEVICE_ID " CLIENT_HUB_USAGE
#define LIST_USAGE "rollcall device list [--max N] " CLIENT_HUB_USAGE
#define UPDATE_USAGE                                                         \
	"rollcall device update DEVICE_ID [--thumbprint HEX | --cert FILE] " \
	"[--secondary-thumbprint HEX | --secondary-cert FILE | "             \
	"--remove-secondary] " CLIENT_HUB_USAGE
#define ENABLE_USAGE "rollcall device enable DEVICE_ID " CLIENT_HUB_USAGE
#define DISABLE_USAGE "rollcall device disable DEVICE_ID " CLIENT_HUB_USAGE
#define DELETE_USAGE \
	"rollcall device delete DEVICE_ID [--etag ETAG] " CLIENT_HUB_USAGE

enum {
	OPT_TP = 1,
	OPT_TP2,
	OPT_CERT,
	OPT_CERT2,
	OPT_CA,
	OPT_DISABLED,
	OPT_RM2,
	OPT_MAX,
	OPT_ETAG,
};

struct dopts {
	struct client_opts c;
	const char *id;
	const char *tp[2];
	const char *cert[2];
	const char *etag;
	int ca_signed;
	int disabled;
	int rm2;
	size_t max;
	int help;
	char tpbuf[2][65];
};

static int
store_opt(void *arg, const char *usage, int c, const char *val)
{
	struct dopts *o = arg;
	long long v;

	switch (c) {
	case OPT_TP:
	case OPT_TP2:
		if (!hub_thumbprint_ok(val))
			return cli_usage(usage,
			    "'%s' is not a thumbprint (40 or 64 hex digits)",
			    val);
		o->tp[c == OPT_TP2] = val;
		return CLI_OK;
	case OPT_CERT:
	case OPT_CERT2:
		o->cert[c == OPT_CERT2] = val;
		return CLI_OK;
	case OPT_CA:
		o->ca_signed = 1;
		return CLI_OK;
	case OPT_DISABLED:
		o->disabled = 1;
		return CLI_OK;
	case OPT_RM2:
		o->rm2 = 1;
		return CLI_OK;
	case OPT_ETAG:
		o->etag = val;
		return CLI_OK;
	case OPT_MAX:
		if (rc_strtonum(val, 1, 1000, &v) != RC_OK)
			return cli_usage(usage,
			    "--max: '%s' is not a number from 1 to 1000", val);
		o->max = (size_t)v;
		return CLI_OK;
	default:
		return cli_usage(usage, NULL);
	}
}

static int
parse(const char *usage, const struct option *extra, int nid, int argc,
    char **argv, struct dopts *o)
{
	static const char *const names[] = {"DEVICE_ID"};
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

/* The SHA-256 thumbprint of a certificate file into o->tpbuf[slot]. */
static int
cert_thumbprint(struct dopts *o, int slot)
{
	const char *path = o->cert[slot];
	uint8_t *data = NULL;
	X509 *x = NULL;
	size_t len;
	int rc, ret = CLI_FAIL;

	if ((rc = cli_read_file(path, &data, &len)) != RC_OK) {
		cli_fail("%s: %s", path, rc_strerror(rc));
		goto out;
	}
	if ((rc = rc_x509_parse(data, len, &x)) != RC_OK ||
	    (rc = rc_x509_thumbprint(x, 1, o->tpbuf[slot],
	         sizeof(o->tpbuf[slot]))) != RC_OK) {
		cli_fail("%s: not one certificate (PEM or DER): %s", path,
		    rc_strerror(rc));
		goto out;
	}
	o->tp[slot] = o->tpbuf[slot];
	ret = CLI_OK;
out:
	rc_free(data);
	X509_free(x);
	return ret;
}

/* Resolves --cert/--secondary-cert into thumbprints. */
static int
thumbprints(const char *usage, struct dopts *o)
{
	int i, ret;

	for (i = 0; i < 2; i++) {
		if (o->cert[i] == NULL)
			continue;
		if (o->tp[i] != NULL)
			return cli_usage(usage,
			    "give a thumbprint or a certificate, not both");
		if ((ret = cert_thumbprint(o, i)) != CLI_OK)
			return ret;
	}
	return CLI_OK;
}

static void
show(json_t *d)
{
	json_t *auth = json_object_get(d, "authentication");
	json_t *tp = json_object_get(auth, "x509Thumbprint");

	hub_field("device ID", d, "deviceId");
	hub_field("status", d, "status");
	hub_field("status reason", d, "statusReason");
	hub_field("authentication", auth, "type");
	hub_field("primary thumbprint", tp, "primaryThumbprint");
	hub_field("secondary thumbpr.", tp, "secondaryThumbprint");
	hub_field("connection state", d, "connectionState");
	hub_field("last activity", d, "lastActivityTime");
	hub_field("etag", d, "etag");
}

static int
print_device(const struct dopts *o, json_t *d)
{
	if (!json_is_object(d))
		return cli_fail("the answer is not a JSON object");
	if (o->c.json)
		return client_print_json(d);
	show(d);
	return CLI_OK;
}

/* Sets authentication from o's thumbprints / --ca-signed. */
static int
set_auth(json_t *dev, const struct dopts *o, int keep_secondary)
{
	json_t *auth, *tp, *old2 = NULL;

	if (o->ca_signed)
		auth = json_pack("{s:s}", "type", "certificateAuthority");
	else {
		if (keep_secondary)
			old2 =
			    json_object_get(json_object_get(json_object_get(dev,
			                                        "authenticatio"
			                                        "n"),
			                        "x509Thumbprint"),
			        "secondaryThumbprint");
		tp = json_pack("{s:s?, s:s?}", "primaryThumbprint", o->tp[0],
		    "secondaryThumbprint", o->tp[1]);
		if (tp != NULL && o->tp[1] == NULL && old2 != NULL &&
		    json_object_set(tp, "secondaryThumbprint", old2) != 0) {
			json_decref(tp);
			tp = NULL;
		}
		auth = json_pack("{s:s, s:o}", "type", "selfSigned",
		    "x509Thumbprint", tp);
	}
	if (auth == NULL || json_object_set_new(dev, "authentication", auth))
		return cli_fail("out of memory");
	return CLI_OK;
}

static int
dev_create(int argc, char **argv)
{
	static const struct option extra[] = {
	    {"thumbprint", required_argument, NULL, OPT_TP},
	    {"secondary-thumbprint", required_argument, NULL, OPT_TP2},
	    {"cert", required_argument, NULL, OPT_CERT},
	    {"secondary-cert", required_argument, NULL, OPT_CERT2},
	    {"ca-signed", no_argument, NULL, OPT_CA},
	    {"disabled", no_argument, NULL, OPT_DISABLED},
	    {NULL, 0, NULL, 0},
	};
	json_t *dev = NULL, *got = NULL;
	struct dopts o;
	int ret;

	if ((ret = parse(CREATE_USAGE, extra, 1, argc, argv, &o)) != CLI_OK ||
	    o.help)
		return ret;
	if ((ret = thumbprints(CREATE_USAGE, &o)) != CLI_OK)
		return ret;
	if (o.ca_signed == (o.tp[0] != NULL))
		return cli_usage(CREATE_USAGE,
		    "give --thumbprint, --cert or --ca-signed (one of them)");
	if (o.tp[0] == NULL && o.tp[1] != NULL)
		return cli_usage(CREATE_USAGE,
		    "a secondary thumbprint needs a primary one");
	if ((dev = json_pack("{s:s, s:s}", "deviceId", o.id, "status",
	         o.disabled ? "disabled" : "enabled")) == NULL)
		return cli_fail("out of memory");
	if ((ret = set_auth(dev, &o, 0)) == CLI_OK &&
	    (ret = hub_call(&o.c, "PUT", "/devices/", o.id, "", dev, NULL, &got,
	         NULL)) == CLI_OK) {
		if (o.c.json)
			ret = print_device(&o, got);
		else
			printf("created device %s\n", o.id);
	}
	json_decref(dev);
	json_decref(got);
	return ret;
}

static int
dev_show(int argc, char **argv)
{
	static const struct option none[] = {{NULL, 0, NULL, 0}};
	json_t *d = NULL;
	struct dopts o;
	int ret;

	if ((ret = parse(SHOW_USAGE, none, 1, argc, argv, &o)) != CLI_OK ||
	    o.help)
		return ret;
	if ((ret = hub_call(&o.c, "GET", "/devices/", o.id, "", NULL, NULL, &d,
	         NULL)) == CLI_OK)
		ret = print_device(&o, d);
	json_decref(d);
	return ret;
}

static int
print_table(json_t *all)
{
	static const char *const headers[] = {"DEVICE ID", "STATUS", "AUTH",
	    "CONNECTION", "LAST ACTIVITY"};
	const char *row[5];
	struct table *t = NULL;
	json_t *d;
	size_t i;

	if (table_new(5, headers, &t) != RC_OK)
		return cli_fail("out of memory");
	json_array_foreach(all, i, d)
	{
		row[0] = json_string_value(json_object_get(d, "deviceId"));
		row[1] = json_string_value(json_object_get(d, "status"));
		row[2] = json_string_value(
		    json_object_get(json_object_get(d, "authentication"),
		        "type"));
		row[3] =
		    json_string_value(json_object_get(d, "connectionState"));
		row[4] =
		    json_string_value(json_object_get(d, "lastActivityTime"));
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
dev_list(int argc, char **argv)
{
	static const struct option extra[] = {
	    {"max", required_argument, NULL, OPT_MAX},
	    {NULL, 0, NULL, 0},
	};
	json_t *all = NULL;
	char path[64];
	struct dopts o;
	int ret;

	if ((ret = parse(LIST_USAGE, extra, 0, argc, argv, &o)) != CLI_OK ||
	    o.help)
		return ret;
	snprintf(path, sizeof(path), "/devices?top=%zu",
	    o.max != 0 ? o.max : (size_t)1000);
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

/*
 * Read-modify-write: GET the identity, let fn change it, PUT it back with
 * If-Match of the etag read, so a concurrent change answers 412.
 */
static int
modify(struct dopts *o, int (*fn)(json_t *, const struct dopts *),
    const char *done)
{
	struct client *cl = NULL;
	json_t *d = NULL, *got = NULL;
	const char *etag;
	char quoted[256];
	long status;
	int ret;

	if ((ret = client_open(&o->c, &cl)) != CLI_OK)
		return ret;
	if ((ret = hub_call_on(cl, "GET", "/devices/", o->id, "", NULL, NULL,
	         &d, &status)) != CLI_OK)
		goto out;
	if (!json_is_object(d) ||
	    (etag = json_string_value(json_object_get(d, "etag"))) == NULL ||
	    (size_t)snprintf(quoted, sizeof(quoted), "\"%s\"", etag) >=
	        sizeof(quoted)) {
		ret = cli_fail("the device has no etag");
		goto out;
	}
	if ((ret = fn(d, o)) != CLI_OK ||
	    (ret = hub_call_on(cl, "PUT", "/devices/", o->id, "", d, quoted,
	         &got, &status)) != CLI_OK)
		goto out;
	if (o->c.json)
		ret = print_device(o, got);
	else
		printf("%s device %s\n", done, o->id);
out:
	json_decref(d);
	json_decref(got);
	client_free(cl);
	return ret;
}

static int
apply_update(json_t *d, const struct dopts *o)
{
	json_t *tp = json_object_get(json_object_get(d, "authentication"),
	    "x509Thumbprint");
	struct dopts n = *o;

	if (n.tp[0] == NULL)
		n.tp[0] =
		    json_string_value(json_object_get(tp, "primaryThumbprint"));
	if (n.tp[0] == NULL)
		return cli_fail("device %s has no primary thumbprint: give "
		                "--thumbprint or --cert",
		    o->id);
	if (n.rm2) {
		n.tp[1] = NULL;
		return set_auth(d, &n, 0);
	}
	return set_auth(d, &n, 1);
}

static int
dev_update(int argc, char **argv)
{
	static const struct option extra[] = {
	    {"thumbprint", required_argument, NULL, OPT_TP},
	    {"secondary-thumbprint", required_argument, NULL, OPT_TP2},
	    {"cert", required_argument, NULL, OPT_CERT},
	    {"secondary-cert", required_argument, NULL, OPT_CERT2},
	    {"remove-secondary", no_argument, NULL, OPT_RM2},
	    {NULL, 0, NULL, 0},
	};
	struct dopts o;
	int ret;

	if ((ret = parse(UPDATE_USAGE, extra, 1, argc, argv, &o)) != CLI_OK ||
	    o.help)
		return ret;
	if ((ret = thumbprints(UPDATE_USAGE, &o)) != CLI_OK)
		return ret;
	if (o.rm2 && o.tp[1] != NULL)
		return cli_usage(UPDATE_USAGE,
		    "--remove-secondary with a secondary thumbprint");
	if (o.tp[0] == NULL && o.tp[1] == NULL && !o.rm2)
		return cli_usage(UPDATE_USAGE, "nothing to change");
	return modify(&o, apply_update, "updated");
}

static int
set_enabled(json_t *d, const struct dopts *o)
{
	if (json_object_set_new(d, "status",
	        json_string(o->disabled ? "disabled" : "enabled")) != 0)
		return cli_fail("out of memory");
	return CLI_OK;
}

static int
enable_disable(const char *usage, int disabled, int argc, char **argv)
{
	static const struct option none[] = {{NULL, 0, NULL, 0}};
	struct dopts o;
	int ret;

	if ((ret = parse(usage, none, 1, argc, argv, &o)) != CLI_OK || o.help)
		return ret;
	o.disabled = disabled;
	return modify(&o, set_enabled, disabled ? "disabled" : "enabled");
}

static int
dev_enable(int argc, char **argv)
{
	return enable_disable(ENABLE_USAGE, 0, argc, argv);
}

static int
dev_disable(int argc, char **argv)
{
	return enable_disable(DISABLE_USAGE, 1, argc, argv);
}

static int
dev_delete(int argc, char **argv)
{
	static const struct option extra[] = {
	    {"etag", required_argument, NULL, OPT_ETAG},
	    {NULL, 0, NULL, 0},
	};
	json_t *got = NULL;
	struct dopts o;
	int ret;

	if ((ret = parse(DELETE_USAGE, extra, 1, argc, argv, &o)) != CLI_OK ||
	    o.help)
		return ret;
	if ((ret = hub_call(&o.c, "DELETE", "/devices/", o.id, "", NULL, o.etag,
	         &got, NULL)) == CLI_OK &&
	    !o.c.json)
		printf("deleted device %s\n", o.id);
	json_decref(got);
	return ret;
}

int
cmd_device(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
	    {"create", dev_create, "create a device identity"},
	    {"show", dev_show, "show a device identity"},
	    {"list", dev_list, "list the device identities"},
	    {"update", dev_update, "change a device's thumbprints"},
	    {"enable", dev_enable, "let a device connect"},
	    {"disable", dev_disable, "refuse a device (and drop its session)"},
	    {"delete", dev_delete, "delete a device identity"},
	    {NULL, NULL, NULL},
	};

	return cli_dispatch("device", subs, argc, argv);
}
