/*
 * rollcall reissue REG: a new certificate for a device from the CSR it
 * sent when it last registered, pushed to it (seed rule S4b).
 *
 *   1. POST /registrations/REG/reissue: the CA signs the retained CSR;
 *   2. the device's hub identity accepts the new thumbprint as well
 *      (secondary), so the device may reconnect with it;
 *   3. the installCertificate direct method carries the chain; the
 *      device checks it against the key it holds and switches;
 *   4. the identity keeps only the new thumbprint.  If the device refuses
 *      or does not answer, step 2 is undone and the old certificate
 *      stays the only one.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "hub.h"
#include "roll.h"
#include "rollcall/enc.h"
#include "rollcall/mem.h"

#define USAGE                                           \
	"rollcall reissue REG_ID [--method-timeout S] " \
	"[--no-push] " CLIENT_USAGE

enum { OPT_MTIMEOUT = 1, OPT_NO_PUSH };

struct iopts {
	struct client_opts c;
	const char *ops[1];
	long long mtimeout;
	int no_push;
	int help;
};

static int
store_opt(void *arg, const char *usage, int c, const char *val)
{
	struct iopts *o = arg;

	switch (c) {
	case OPT_MTIMEOUT:
		if (rc_strtonum(val, 1, 300, &o->mtimeout) != RC_OK)
			return cli_usage(usage, "--method-timeout: 1 to 300");
		return CLI_OK;
	case OPT_NO_PUSH:
		o->no_push = 1;
		return CLI_OK;
	default:
		return cli_usage(usage, NULL);
	}
}

static int
sign(struct client *dps, const char *id, json_t **out)
{
	struct client_resp r;
	char *path = NULL;
	int ret;

	*out = NULL;
	if (client_path(&path, "/registrations/", id, "/reissue") != RC_OK)
		return cli_fail("out of memory");
	ret = client_call(dps, "POST", path, NULL, NULL, NULL, &r);
	rc_free(path);
	if (ret == CLI_OK && (ret = client_ok(&r)) == CLI_OK) {
		if (!json_is_array(
		        json_object_get(r.json, "issuedCertificateChain")) ||
		    !json_is_string(json_object_get(r.json, "sha256")))
			ret = cli_fail("the reissue answer has no chain");
		else
			*out = json_incref(r.json);
	}
	client_resp_clear(&r);
	return ret;
}

/* Sets the identity's thumbprints (secondary NULL: none). */
static int
set_thumbs(struct client *hub, const char *dev_id, const char *primary,
    const char *secondary)
{
	json_t *dev = NULL, *out = NULL, *auth;
	long status;
	int ret;

	if ((ret = hub_call_on(hub, "GET", "/devices/", dev_id, "", NULL, NULL,
	         &dev, &status)) != CLI_OK)
		return ret;
	auth = json_pack("{s:s, s:{s:s, s:s?}}", "type", "selfSigned",
	    "x509Thumbprint", "primaryThumbprint", primary,
	    "secondaryThumbprint", secondary);
	json_object_set_new(dev, "authentication", auth);
	ret = hub_call_on(hub, "PUT", "/devices/", dev_id, "", dev, "*", &out,
	    &status);
	json_decref(dev);
	json_decref(out);
	return ret;
}

/* The identity's primary thumbprint now. */
static int
current_thumb(struct client *hub, const char *dev_id, char out[65])
{
	json_t *dev = NULL;
	const char *t;
	long status;
	int ret;

	out[0] = '\0';
	if ((ret = hub_call_on(hub, "GET", "/devices/", dev_id, "", NULL, NULL,
	         &dev, &status)) != CLI_OK)
		return ret;
	t = json_string_value(
	    json_object_get(json_object_get(json_object_get(dev,
	                                        "authentication"),
	                        "x509Thumbprint"),
	        "primaryThumbprint"));
	snprintf(out, 65, "%s", t != NULL ? t : "");
	json_decref(dev);
	return out[0] != '\0' ? CLI_OK
	                      : cli_fail("device %s has no thumbprint", dev_id);
}

static int
push(const struct iopts *o, json_t *got)
{
	const char *host =
	    json_string_value(json_object_get(got, "assignedHub"));
	const char *dev_id =
	    json_string_value(json_object_get(got, "deviceId"));
	const char *sha = json_string_value(json_object_get(got, "sha256"));
	struct client *hub = NULL;
	json_t *req = NULL, *ans = NULL, *st;
	char old[65];
	long status;
	int ret;

	if (host == NULL || dev_id == NULL)
		return cli_fail("%s is not assigned to a hub", o->ops[0]);
	if ((ret = roll_hub_open(&o->c, host, &hub)) != CLI_OK ||
	    (ret = current_thumb(hub, dev_id, old)) != CLI_OK ||
	    (ret = set_thumbs(hub, dev_id, old, sha)) != CLI_OK)
		goto out;
	req = json_pack("{s:s, s:{s:O}, s:I}", "methodName",
	    "installCertificate", "payload", "chain",
	    json_object_get(got, "issuedCertificateChain"),
	    "responseTimeoutInSeconds",
	    (json_int_t)(o->mtimeout > 0 ? o->mtimeout : 30));
	ret = hub_call_on(hub, "POST", "/twins/", dev_id, "/methods", req, NULL,
	    &ans, &status);
	st = json_object_get(ans, "status");
	if (ret == CLI_OK && json_is_integer(st) &&
	    json_integer_value(st) / 100 == 2) {
		ret = set_thumbs(hub, dev_id, sha, NULL);
		if (ret == CLI_OK)
			printf("%s: device %s installed the new certificate "
			       "%.16s...; hub %s accepts only it now\n",
			    o->ops[0], dev_id, sha, host);
		goto out;
	}
	/* Not installed: the old certificate stays the only one. */
	set_thumbs(hub, dev_id, old, NULL);
	ret = cli_fail("device %s did not install the certificate (%s); it "
	               "keeps the old one",
	    dev_id, ret == CLI_OK ? "it refused" : "no answer");
out:
	json_decref(req);
	json_decref(ans);
	client_free(hub);
	return ret;
}

int
cmd_reissue(int argc, char **argv)
{
	static const char *const names[] = {"REG_ID"};
	static const struct option extra[] = {
	    {"method-timeout", required_argument, NULL, OPT_MTIMEOUT},
	    {"no-push", no_argument, NULL, OPT_NO_PUSH},
	    {NULL, 0, NULL, 0},
	};
	struct client *dps = NULL;
	json_t *got = NULL;
	struct iopts o;
	int ret;
	struct client_args a = {.usage = USAGE,
	    .extra = extra,
	    .fn = store_opt,
	    .arg = &o,
	    .noperands = 1,
	    .names = names};

	memset(&o, 0, sizeof(o));
	if ((ret = client_getopt(&a, argc, argv, &o.c, o.ops, &o.help)) !=
	        CLI_OK ||
	    o.help)
		return ret;
	if ((ret = client_open(&o.c, &dps)) != CLI_OK ||
	    (ret = sign(dps, o.ops[0], &got)) != CLI_OK)
		goto out;
	if (o.no_push) {
		ret = client_print_json(got);
		goto out;
	}
	ret = push(&o, got);
out:
	json_decref(got);
	client_free(dps);
	return ret;
}
