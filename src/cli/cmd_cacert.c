/*
 * rollcall ca-cert: verified CA certificates, which enrollment groups
 * reference by name (caReferences) and the hub trusts for CA-signed
 * devices.  Our own endpoints (docs/api.md), shaped after Azure's
 * (reference/azure-service-api.md §2.7):
 *
 *	PUT    /certificates/{name}				upload
 *	POST   /certificates/{name}/generateVerificationCode	a code
 *	POST   /certificates/{name}/verify			proof of possession
 *	GET    /certificates, GET/DELETE /certificates/{name}
 *
 * Proof of possession: the owner of the CA key signs a certificate whose
 * subject CN is the verification code (`rollcall ca verification-cert`
 * makes one) and uploads it with verify.  Changes after the upload carry
 * If-Match: the etag just read, as Azure's API requires.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "rollcall/err.h"
#include "rollcall/mem.h"

#define UPLOAD_USAGE "rollcall ca-cert upload NAME FILE " CLIENT_USAGE
#define CODE_USAGE "rollcall ca-cert verification-code NAME " CLIENT_USAGE
#define VERIFY_USAGE "rollcall ca-cert verify NAME --cert FILE " CLIENT_USAGE
#define LIST_USAGE "rollcall ca-cert list " CLIENT_USAGE
#define SHOW_USAGE "rollcall ca-cert show NAME " CLIENT_USAGE
#define DELETE_USAGE "rollcall ca-cert delete NAME [--etag ETAG] " CLIENT_USAGE

enum { OPT_CERT = 1, OPT_ETAG };

struct copts {
	struct client_opts c;
	const char *operands[2];
	const char *cert;
	const char *etag;
	int help;
};

static int
store_opt(void *arg, const char *usage, int c, const char *val)
{
	struct copts *o = arg;

	switch (c) {
	case OPT_CERT:
		o->cert = val;
		return CLI_OK;
	case OPT_ETAG:
		o->etag = val;
		return CLI_OK;
	default:
		return cli_usage(usage, NULL);
	}
}

static int
parse(const char *usage, const struct option *extra, int noperands, int argc,
    char **argv, struct copts *o)
{
	static const char *const names[] = {"NAME", "FILE"};
	struct client_args a = {.usage = usage,
	    .extra = extra,
	    .fn = store_opt,
	    .arg = o,
	    .noperands = noperands,
	    .names = names};

	memset(o, 0, sizeof(*o));
	return client_getopt(&a, argc, argv, &o->c, o->operands, &o->help);
}

/* A field of Azure's shape ({"properties": {...}}) or of a flat one. */
static json_t *
prop(json_t *obj, const char *key)
{
	json_t *p = json_object_get(obj, "properties");
	json_t *v = json_object_get(p, key);

	return v != NULL ? v : json_object_get(obj, key);
}

static const char *
prop_str(json_t *obj, const char *key)
{
	return json_string_value(prop(obj, key));
}

static const char *
verified(json_t *obj)
{
	json_t *v = prop(obj, "isVerified");

	return json_is_boolean(v) ? (json_is_true(v) ? "yes" : "no") : "-";
}

static void
line(const char *label, const char *v)
{
	printf("%-14s", label);
	print_clean(stdout, v != NULL && *v != '\0' ? v : "-");
	putchar('\n');
}

static void
show(json_t *c)
{
	line("name", prop_str(c, "name"));
	line("subject", prop_str(c, "subject"));
	line("thumbprint", prop_str(c, "thumbprint"));
	line("verified", verified(c));
	if (prop_str(c, "verificationCode") != NULL)
		line("code", prop_str(c, "verificationCode"));
	line("expires", prop_str(c, "expiry"));
	line("etag", prop_str(c, "etag"));
	line("created", prop_str(c, "created"));
	line("updated", prop_str(c, "updated"));
}

/* Prints a 2xx answer holding one certificate object. */
static int
print_cert(const struct copts *o, struct client_resp *r)
{
	if (!json_is_object(r->json))
		return cli_fail("the answer is not a JSON object");
	if (o->c.json)
		return client_print_json(r->json);
	show(r->json);
	return CLI_OK;
}

/*
 * One call on /certificates/NAME + suffix; on a 2xx answer *r holds it.
 * if_match "": send the etag of a fresh GET.
 */
static int
call(struct client *cl, const char *method, const char *name,
    const char *suffix, json_t *body, const char *if_match,
    struct client_resp *r)
{
	struct client_resp g;
	char *path = NULL, *base = NULL;
	int ret;

	memset(&g, 0, sizeof(g));
	if (client_path(&path, "/certificates/", name, suffix) != RC_OK ||
	    client_path(&base, "/certificates/", name, "") != RC_OK) {
		ret = cli_fail("out of memory");
		goto out;
	}
	if (if_match != NULL && *if_match == '\0') {
		if ((ret = client_call(cl, "GET", base, NULL, NULL, NULL,
		         &g)) != CLI_OK ||
		    (ret = client_ok(&g)) != CLI_OK)
			goto out;
		if ((if_match = prop_str(g.json, "etag")) == NULL)
			if_match = g.etag;
	}
	if ((ret = client_call(cl, method, path, body, if_match, NULL, r)) ==
	        CLI_OK &&
	    (ret = client_ok(r)) != CLI_OK)
		client_resp_clear(r);
out:
	client_resp_clear(&g);
	rc_free(path);
	rc_free(base);
	return ret;
}

static int
cc_upload(int argc, char **argv)
{
	static const struct option none[] = {{NULL, 0, NULL, 0}};
	struct client *cl = NULL;
	struct client_resp r;
	json_t *body = NULL;
	struct copts o;
	int ret;

	memset(&r, 0, sizeof(r));
	if ((ret = parse(UPLOAD_USAGE, none, 2, argc, argv, &o)) != CLI_OK ||
	    o.help)
		return ret;
	if ((ret = client_cert_json(o.operands[1], &body)) != CLI_OK ||
	    (ret = client_open(&o.c, &cl)) != CLI_OK ||
	    (ret = call(cl, "PUT", o.operands[0], "", body, NULL, &r)) !=
	        CLI_OK)
		goto out;
	if ((ret = print_cert(&o, &r)) == CLI_OK && !o.c.json)
		fprintf(stderr,
		    "next: rollcall ca-cert verification-code %s, then "
		    "prove possession of the CA key with verify\n",
		    o.operands[0]);
out:
	client_resp_clear(&r);
	json_decref(body);
	client_free(cl);
	return ret;
}

static int
cc_code(int argc, char **argv)
{
	static const struct option none[] = {{NULL, 0, NULL, 0}};
	struct client *cl = NULL;
	struct client_resp r;
	const char *code;
	struct copts o;
	int ret;

	memset(&r, 0, sizeof(r));
	if ((ret = parse(CODE_USAGE, none, 1, argc, argv, &o)) != CLI_OK ||
	    o.help)
		return ret;
	if ((ret = client_open(&o.c, &cl)) != CLI_OK ||
	    (ret = call(cl, "POST", o.operands[0], "/generateVerificationCode",
	         NULL, "", &r)) != CLI_OK)
		goto out;
	if (o.c.json)
		ret = client_print_json(r.json);
	else if ((code = prop_str(r.json, "verificationCode")) == NULL)
		ret = cli_fail("the answer holds no verificationCode");
	else {
		/* The code alone on stdout, so a script can capture it. */
		print_clean(stdout, code);
		putchar('\n');
		fprintf(stderr,
		    "next: sign a certificate with CN=<this code> with the "
		    "CA's key (rollcall ca verification-cert) and run "
		    "rollcall ca-cert verify %s --cert FILE\n",
		    o.operands[0]);
	}
out:
	client_resp_clear(&r);
	client_free(cl);
	return ret;
}

static int
cc_verify(int argc, char **argv)
{
	static const struct option extra[] = {
	    {"cert", required_argument, NULL, OPT_CERT},
	    {NULL, 0, NULL, 0},
	};
	struct client *cl = NULL;
	struct client_resp r;
	json_t *body = NULL;
	struct copts o;
	int ret;

	memset(&r, 0, sizeof(r));
	if ((ret = parse(VERIFY_USAGE, extra, 1, argc, argv, &o)) != CLI_OK ||
	    o.help)
		return ret;
	if (o.cert == NULL)
		return cli_usage(VERIFY_USAGE,
		    "--cert (the proof-of-possession certificate) is needed");
	if ((ret = client_cert_json(o.cert, &body)) != CLI_OK ||
	    (ret = client_open(&o.c, &cl)) != CLI_OK ||
	    (ret = call(cl, "POST", o.operands[0], "/verify", body, "", &r)) !=
	        CLI_OK)
		goto out;
	if (o.c.json)
		ret = client_print_json(r.json);
	else
		printf("CA certificate %s is verified\n", o.operands[0]);
out:
	client_resp_clear(&r);
	json_decref(body);
	client_free(cl);
	return ret;
}

static int
print_list(json_t *list)
{
	static const char *const headers[] = {"NAME", "VERIFIED", "SUBJECT",
	    "THUMBPRINT", "EXPIRES"};
	struct table *t = NULL;
	const char *row[5];
	json_t *c;
	size_t i;

	if (table_new(5, headers, &t) != RC_OK)
		return cli_fail("out of memory");
	json_array_foreach(list, i, c)
	{
		row[0] = prop_str(c, "name");
		row[1] = verified(c);
		row[2] = prop_str(c, "subject");
		row[3] = prop_str(c, "thumbprint");
		row[4] = prop_str(c, "expiry");
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
cc_list(int argc, char **argv)
{
	static const struct option none[] = {{NULL, 0, NULL, 0}};
	struct client *cl = NULL;
	struct client_resp r;
	json_t *list;
	struct copts o;
	int ret;

	memset(&r, 0, sizeof(r));
	if ((ret = parse(LIST_USAGE, none, 0, argc, argv, &o)) != CLI_OK ||
	    o.help)
		return ret;
	if ((ret = client_open(&o.c, &cl)) != CLI_OK ||
	    (ret = client_call(cl, "GET", "/certificates", NULL, NULL, NULL,
	         &r)) != CLI_OK ||
	    (ret = client_ok(&r)) != CLI_OK)
		goto out;
	/* An array, or Azure's list shape {"value": [...]}. */
	list =
	    json_is_array(r.json) ? r.json : json_object_get(r.json, "value");
	if (!json_is_array(list))
		ret = cli_fail("the answer is not a list of certificates");
	else if (o.c.json)
		ret = client_print_json(r.json);
	else
		ret = print_list(list);
out:
	client_resp_clear(&r);
	client_free(cl);
	return ret;
}

static int
cc_show(int argc, char **argv)
{
	static const struct option none[] = {{NULL, 0, NULL, 0}};
	struct client *cl = NULL;
	struct client_resp r;
	struct copts o;
	int ret;

	memset(&r, 0, sizeof(r));
	if ((ret = parse(SHOW_USAGE, none, 1, argc, argv, &o)) != CLI_OK ||
	    o.help)
		return ret;
	if ((ret = client_open(&o.c, &cl)) == CLI_OK &&
	    (ret = call(cl, "GET", o.operands[0], "", NULL, NULL, &r)) ==
	        CLI_OK)
		ret = print_cert(&o, &r);
	client_resp_clear(&r);
	client_free(cl);
	return ret;
}

static int
cc_delete(int argc, char **argv)
{
	static const struct option extra[] = {
	    {"etag", required_argument, NULL, OPT_ETAG},
	    {NULL, 0, NULL, 0},
	};
	struct client *cl = NULL;
	struct client_resp r;
	struct copts o;
	int ret;

	memset(&r, 0, sizeof(r));
	if ((ret = parse(DELETE_USAGE, extra, 1, argc, argv, &o)) != CLI_OK ||
	    o.help)
		return ret;
	if ((ret = client_open(&o.c, &cl)) == CLI_OK &&
	    (ret = call(cl, "DELETE", o.operands[0], "", NULL, o.etag, &r)) ==
	        CLI_OK &&
	    !o.c.json)
		printf("deleted CA certificate %s\n", o.operands[0]);
	client_resp_clear(&r);
	client_free(cl);
	return ret;
}

int
cmd_cacert(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
	    {"upload", cc_upload, "upload a CA certificate under a name"},
	    {"verification-code", cc_code,
	        "get the code for the proof of possession"},
	    {"verify", cc_verify,
	        "send the proof-of-possession certificate (CN = code)"},
	    {"list", cc_list, "list the CA certificates"},
	    {"show", cc_show, "show one"},
	    {"delete", cc_delete, "delete one (not while a group uses it)"},
	    {NULL, NULL, NULL},
	};

	return cli_dispatch("ca-cert", subs, argc, argv);
}
