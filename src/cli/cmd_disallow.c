/*
 * rollcall disallow: keep a device or a certificate out (seed rule S12).
 *
 *   disallow REG
 *       a disabled individual enrollment for REG (made, or the existing
 *       one disabled): DPS refuses the device even when an enabled group
 *       would take it; its hub identity is disabled too, which closes its
 *       live session (--keep-hub leaves the hub alone).
 *   disallow --cert FILE
 *       the certificate's thumbprint goes on the blocklist: no enrollment
 *       accepts it any more, whatever chain it comes in.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "hub.h"
#include "roll.h"
#include "rollcall/mem.h"

#define USAGE                                                             \
	"rollcall disallow (REG_ID [--keep-hub] | --cert FILE [--reason " \
	"TEXT]) " CLIENT_USAGE

enum { OPT_CERT = 1, OPT_KEEP_HUB, OPT_REASON };

struct dopts {
	struct client_opts c;
	const char *ops[1];
	const char *cert;
	const char *reason;
	int keep_hub;
	int help;
};

static int
store_opt(void *arg, const char *usage, int c, const char *val)
{
	struct dopts *o = arg;

	switch (c) {
	case OPT_CERT:
		o->cert = val;
		return CLI_OK;
	case OPT_REASON:
		o->reason = val;
		return CLI_OK;
	case OPT_KEEP_HUB:
		o->keep_hub = 1;
		return CLI_OK;
	default:
		return cli_usage(usage, NULL);
	}
}

/* The disabled individual enrollment: a new one, or the existing one off. */
static int
disable_enrollment(struct client *dps, const char *id)
{
	json_t *doc = NULL;
	char *etag = NULL;
	int ret;

	if ((ret = roll_get(dps, "/enrollments/", id, &doc, &etag)) != CLI_OK)
		return ret;
	if (doc == NULL &&
	    (doc = json_pack("{s:s, s:{s:s, s:{}}}", "registrationId", id,
	         "attestation", "type", "x509", "x509")) == NULL)
		return cli_fail("out of memory");
	json_object_set_new(doc, "provisioningStatus", json_string("disabled"));
	ret = roll_put(dps, "/enrollments/", id, doc, etag);
	if (ret == CLI_OK)
		printf("%s: disallowed at DPS (a disabled individual "
		       "enrollment%s)\n",
		    id, etag != NULL ? ", the existing one" : "");
	json_decref(doc);
	rc_free(etag);
	return ret;
}

/* Its hub identity, disabled: the hub closes its session. */
static int
disable_hub(const struct dopts *o, struct client *dps, const char *id)
{
	struct client *hub = NULL;
	json_t *reg = NULL, *dev = NULL, *out = NULL;
	const char *host, *dev_id;
	long status;
	int ret;

	if ((ret = roll_registration(dps, id, &reg)) != CLI_OK)
		return ret;
	host = json_string_value(json_object_get(reg, "assignedHub"));
	dev_id = json_string_value(json_object_get(reg, "deviceId"));
	if (host == NULL || dev_id == NULL) {
		printf("%s: never assigned to a hub\n", id);
		goto out;
	}
	if ((ret = roll_hub_open(&o->c, host, &hub)) != CLI_OK ||
	    (ret = hub_call_on(hub, "GET", "/devices/", dev_id, "", NULL, NULL,
	         &dev, &status)) != CLI_OK)
		goto out;
	json_object_set_new(dev, "status", json_string("disabled"));
	json_object_set_new(dev, "statusReason",
	    json_string("disallowed by rollcall disallow"));
	if ((ret = hub_call_on(hub, "PUT", "/devices/", dev_id, "", dev, "*",
	         &out, &status)) == CLI_OK)
		printf("hub %s: device %s disabled; its session is closed\n",
		    host, dev_id);
out:
	json_decref(reg);
	json_decref(dev);
	json_decref(out);
	client_free(hub);
	return ret;
}

int
cmd_disallow(int argc, char **argv)
{
	static const char *const names[] = {"REG_ID"};
	static const struct option extra[] = {
	    {"cert", required_argument, NULL, OPT_CERT},
	    {"reason", required_argument, NULL, OPT_REASON},
	    {"keep-hub", no_argument, NULL, OPT_KEEP_HUB},
	    {NULL, 0, NULL, 0},
	};
	struct client *dps = NULL;
	struct dopts o;
	char sha[65];
	int i, ret, nops = 1;
	struct client_args a = {.usage = USAGE,
	    .extra = extra,
	    .fn = store_opt,
	    .arg = &o,
	    .noperands = nops,
	    .names = names};

	/* Either form: with --cert there is no registration ID. */
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--cert") == 0 ||
		    strncmp(argv[i], "--cert=", 7) == 0)
			nops = 0;
	a.noperands = nops;
	memset(&o, 0, sizeof(o));
	if ((ret = client_getopt(&a, argc, argv, &o.c, o.ops, &o.help)) !=
	        CLI_OK ||
	    o.help)
		return ret;
	if ((ret = client_open(&o.c, &dps)) != CLI_OK)
		return ret;
	if (o.cert != NULL) {
		if ((ret = roll_cert_sha256(o.cert, sha)) == CLI_OK &&
		    (ret = roll_block(dps, sha,
		         o.reason != NULL ? o.reason : "disallowed")) == CLI_OK)
			printf("%s: blocklisted; DPS refuses it in any "
			       "enrollment\n",
			    sha);
	} else if ((ret = disable_enrollment(dps, o.ops[0])) == CLI_OK &&
	    !o.keep_hub) {
		ret = disable_hub(&o, dps, o.ops[0]);
	}
	client_free(dps);
	return ret;
}
