/*
 * Individual enrollments and enrollment groups over the DPS service API
 * (reference/azure-service-api.md §2.1-2.4), shared by cmd_enrollment.c
 * and cmd_group.c.
 *
 * Changes to an existing enrollment are read-modify-write: GET, edit the
 * returned object, PUT it back with If-Match: <its etag>.  Certificate
 * slots the command does not touch go back holding only their `info`
 * block, which the server reads as "keep the stored certificate"; a slot
 * removed from the object is emptied (§2.4).  If someone else changed the
 * enrollment in between, the server answers 412 and nothing is written.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "enroll.h"
#include "rollcall/enc.h"
#include "rollcall/json.h"
#include "rollcall/mem.h"

#define EO_MAX_HUBS 16

/* Which options a subcommand takes. */
#define EO_CERTS 0x01u /* --primary-cert, --secondary-cert */
#define EO_REMOVE 0x02u /* --remove-primary, --remove-secondary */
#define EO_DEVICE 0x04u /* --device-id (individual only) */
#define EO_DISABLED 0x08u /* --disabled */
#define EO_POLICY 0x10u /* --reprovision-policy, --hub, --initial-twin */
#define EO_CAREF 0x20u /* --ca-ref, --ca-ref-secondary (groups only) */
#define EO_ETAG 0x40u /* --etag */
#define EO_MAX 0x80u /* --max */
#define EO_ID 0x100u /* takes the ID operand */

const struct enroll_kind enroll_individual = {
    "enrollment",
    "enrollment",
    "/enrollments/",
    "registrationId",
    "REG_ID",
    "clientCertificates",
    0,
};

const struct enroll_kind enroll_group = {
    "group",
    "group",
    "/enrollmentGroups/",
    "enrollmentGroupId",
    "GROUP_ID",
    "signingCertificates",
    1,
};

struct eopts {
	struct client_opts c;
	const char *id;
	const char *primary, *secondary;
	int rm_primary, rm_secondary;
	const char *ca_ref, *ca_ref2;
	const char *device_id;
	int disabled;
	int reprov, update_hub, migrate;
	const char *hubs[EO_MAX_HUBS];
	size_t nhubs;
	const char *twin;
	const char *etag;
	size_t max;
	int help;
};

static const struct {
	const char *name;
	int update_hub, migrate;
} reprov_names[] = {
    {"update-and-migrate", 1, 1},
    {"update-and-reset", 1, 0},
    {"never", 0, 0},
};

int
enroll_reprov_parse(const char *name, int *update_hub, int *migrate)
{
	size_t i;

	for (i = 0; i < sizeof(reprov_names) / sizeof(reprov_names[0]); i++)
		if (strcmp(name, reprov_names[i].name) == 0) {
			*update_hub = reprov_names[i].update_hub;
			*migrate = reprov_names[i].migrate;
			return RC_OK;
		}
	return RC_EPARSE;
}

const char *
enroll_reprov_name(json_t *p)
{
	json_t *u = json_object_get(p, "updateHubAssignment");
	json_t *m = json_object_get(p, "migrateDeviceData");

	if (!json_is_object(p))
		return "-";
	/* Azure's defaults for a member left out are true (§2.2). */
	if (json_is_false(u))
		return "never";
	return json_is_false(m) ? "update-and-reset" : "update-and-migrate";
}

/* The options of a subcommand that apply to this kind. */
static unsigned
kind_mask(const struct enroll_kind *k, unsigned allowed)
{
	return allowed & ~(k->group_kind ? EO_DEVICE : EO_CAREF);
}

/* The usage line of one subcommand, from what it takes. */
static const char *
usage_of(const struct enroll_kind *k, const char *sub, unsigned allowed)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf), "rollcall %s %s%s%s%s%s%s%s%s%s%s%s %s",
	    k->group, sub, allowed & EO_ID ? " " : "",
	    allowed & EO_ID ? k->id_meta : "",
	    allowed & EO_CERTS ? " [--primary-cert FILE] "
	                         "[--secondary-cert FILE]"
	                       : "",
	    allowed & EO_REMOVE ? " [--remove-primary] [--remove-secondary]"
	                        : "",
	    allowed & EO_CAREF ? " [--ca-ref NAME] [--ca-ref-secondary NAME]"
	                       : "",
	    allowed & EO_DEVICE ? " [--device-id ID]" : "",
	    allowed & EO_DISABLED ? " [--disabled]" : "",
	    allowed & EO_POLICY ? " [--reprovision-policy update-and-migrate|"
	                          "update-and-reset|never] [--hub HOST]... "
	                          "[--initial-twin JSON|@FILE]"
	                        : "",
	    allowed & EO_ETAG ? " [--etag ETAG]" : "",
	    allowed & EO_MAX ? " [--max N]" : "", CLIENT_USAGE);
	return buf;
}

enum {
	OPT_PRIMARY = 1,
	OPT_SECONDARY,
	OPT_RM_PRIMARY,
	OPT_RM_SECONDARY,
	OPT_CAREF,
	OPT_CAREF2,
	OPT_DEVICE,
	OPT_DISABLED,
	OPT_REPROV,
	OPT_HUB,
	OPT_TWIN,
	OPT_ETAG,
	OPT_MAX,
};

/* The EO_* bit an option belongs to. */
static unsigned
opt_bit(int c)
{
	switch (c) {
	case OPT_PRIMARY:
	case OPT_SECONDARY:
		return EO_CERTS;
	case OPT_RM_PRIMARY:
	case OPT_RM_SECONDARY:
		return EO_REMOVE;
	case OPT_CAREF:
	case OPT_CAREF2:
		return EO_CAREF;
	case OPT_DEVICE:
		return EO_DEVICE;
	case OPT_DISABLED:
		return EO_DISABLED;
	case OPT_REPROV:
	case OPT_HUB:
	case OPT_TWIN:
		return EO_POLICY;
	case OPT_ETAG:
		return EO_ETAG;
	case OPT_MAX:
		return EO_MAX;
	default:
		return 0;
	}
}

static int
store_opt(struct eopts *o, const char *usage, int c, const char *arg)
{
	long long v;

	switch (c) {
	case OPT_PRIMARY:
		o->primary = arg;
		break;
	case OPT_SECONDARY:
		o->secondary = arg;
		break;
	case OPT_RM_PRIMARY:
		o->rm_primary = 1;
		break;
	case OPT_RM_SECONDARY:
		o->rm_secondary = 1;
		break;
	case OPT_CAREF:
		o->ca_ref = arg;
		break;
	case OPT_CAREF2:
		o->ca_ref2 = arg;
		break;
	case OPT_DEVICE:
		o->device_id = arg;
		break;
	case OPT_DISABLED:
		o->disabled = 1;
		break;
	case OPT_REPROV:
		o->reprov = 1;
		if (enroll_reprov_parse(arg, &o->update_hub, &o->migrate) !=
		    RC_OK)
			return cli_usage(usage,
			    "--reprovision-policy: '%s' is not "
			    "update-and-migrate, update-and-reset or never",
			    arg);
		break;
	case OPT_HUB:
		if (o->nhubs == EO_MAX_HUBS)
			return cli_usage(usage, "--hub: at most %d",
			    EO_MAX_HUBS);
		o->hubs[o->nhubs++] = arg;
		break;
	case OPT_TWIN:
		o->twin = arg;
		break;
	case OPT_ETAG:
		o->etag = arg;
		break;
	case OPT_MAX:
		if (rc_strtonum(arg, 1, 1000000, &v) != RC_OK)
			return cli_usage(usage,
			    "--max: '%s' is not a number from 1 to 1000000",
			    arg);
		o->max = (size_t)v;
		break;
	default:
		return cli_usage(usage, NULL);
	}
	return CLI_OK;
}

/* Options that contradict each other. */
static int
check_combination(const struct eopts *o, const char *usage)
{
	if ((o->primary && o->rm_primary) || (o->secondary && o->rm_secondary))
		return cli_usage(usage,
		    "a slot cannot get a certificate and be removed at once");
	if ((o->primary || o->secondary) && (o->ca_ref || o->ca_ref2))
		return cli_usage(usage,
		    "a group has signing certificates or CA references, not "
		    "both");
	if ((o->ca_ref && o->rm_primary) || (o->ca_ref2 && o->rm_secondary))
		return cli_usage(usage,
		    "a slot cannot get a CA reference and be removed at once");
	return CLI_OK;
}

static int
parse(const struct enroll_kind *k, const char *sub, unsigned allowed, int argc,
    char **argv, struct eopts *o)
{
	static const struct option longopts[] = {
	    {"primary-cert", required_argument, NULL, OPT_PRIMARY},
	    {"secondary-cert", required_argument, NULL, OPT_SECONDARY},
	    {"remove-primary", no_argument, NULL, OPT_RM_PRIMARY},
	    {"remove-secondary", no_argument, NULL, OPT_RM_SECONDARY},
	    {"ca-ref", required_argument, NULL, OPT_CAREF},
	    {"ca-ref-secondary", required_argument, NULL, OPT_CAREF2},
	    {"device-id", required_argument, NULL, OPT_DEVICE},
	    {"disabled", no_argument, NULL, OPT_DISABLED},
	    {"reprovision-policy", required_argument, NULL, OPT_REPROV},
	    {"hub", required_argument, NULL, OPT_HUB},
	    {"initial-twin", required_argument, NULL, OPT_TWIN},
	    {"etag", required_argument, NULL, OPT_ETAG},
	    {"max", required_argument, NULL, OPT_MAX},
	    CLIENT_LONGOPTS,
	    {NULL, 0, NULL, 0},
	};
	const char *usage;
	int c, ret;

	memset(o, 0, sizeof(*o));
	allowed = kind_mask(k, allowed);
	usage = usage_of(k, sub, allowed);
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h') {
			o->help = 1;
			printf("usage: %s\n", usage);
			return CLI_OK;
		}
		if ((ret = client_opt(&o->c, usage, c, optarg)) != 0) {
			if (ret != 1)
				return ret;
			continue;
		}
		if ((opt_bit(c) & allowed) == 0)
			return cli_usage(usage, "%s %s takes no such option",
			    k->group, sub);
		if ((ret = store_opt(o, usage, c, optarg)) != CLI_OK)
			return ret;
	}
	if ((allowed & EO_ID) && argc - optind != 1)
		return cli_usage(usage,
		    argc == optind ? "%s is missing" : "one %s only",
		    k->id_meta);
	if (!(allowed & EO_ID) && argc != optind)
		return cli_usage(usage, "unexpected argument '%s'",
		    argv[optind]);
	if (allowed & EO_ID)
		o->id = argv[optind];
	return check_combination(o, usage);
}

/* obj[key], created as an empty object when absent. */
static json_t *
member_obj(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_object(v))
		return v;
	if (json_object_set_new(obj, key, json_object()) != 0)
		return NULL;
	return json_object_get(obj, key);
}

static int
set_cert(json_t *slots, const char *slot, const char *path)
{
	json_t *c;
	int ret;

	if (path == NULL)
		return CLI_OK;
	if ((ret = client_cert_json(path, &c)) != CLI_OK)
		return ret;
	if (json_object_set_new(slots, slot, c) != 0)
		return cli_fail("out of memory");
	return CLI_OK;
}

static int
set_ref(json_t *refs, const char *slot, const char *name)
{
	if (name != NULL &&
	    json_object_set_new(refs, slot, json_string(name)) != 0)
		return cli_fail("out of memory");
	return CLI_OK;
}

/*
 * The certificate edits on attestation.x509: new certificates (a group
 * then drops its CA references), new CA references (dropping signing
 * certificates), removals in whichever of the two the object holds.
 */
static int
edit_slots(const struct enroll_kind *k, const struct eopts *o, json_t *x509)
{
	json_t *slots, *refs;
	int ret;

	if (o->primary != NULL || o->secondary != NULL) {
		if ((slots = member_obj(x509, k->slots)) == NULL)
			return cli_fail("out of memory");
		if ((ret = set_cert(slots, "primary", o->primary)) != CLI_OK ||
		    (ret = set_cert(slots, "secondary", o->secondary)) !=
		        CLI_OK)
			return ret;
		json_object_del(x509, "caReferences");
	}
	if (o->ca_ref != NULL || o->ca_ref2 != NULL) {
		if ((refs = member_obj(x509, "caReferences")) == NULL)
			return cli_fail("out of memory");
		if ((ret = set_ref(refs, "primary", o->ca_ref)) != CLI_OK ||
		    (ret = set_ref(refs, "secondary", o->ca_ref2)) != CLI_OK)
			return ret;
		json_object_del(x509, k->slots);
	}
	slots = json_object_get(x509, k->slots);
	refs = json_object_get(x509, "caReferences");
	if (o->rm_primary) {
		json_object_del(slots, "primary");
		json_object_del(refs, "primary");
	}
	if (o->rm_secondary) {
		json_object_del(slots, "secondary");
		json_object_del(refs, "secondary");
	}
	return CLI_OK;
}

/* --initial-twin JSON or @FILE: an object. */
static int
twin_json(const char *arg, json_t **out)
{
	uint8_t *data = NULL;
	const char *text = arg;
	size_t len = strlen(arg);
	char why[128];
	int rc;

	*out = NULL;
	if (arg[0] == '@') {
		if ((rc = cli_read_file(arg + 1, &data, &len)) != RC_OK)
			return cli_fail("%s: %s", arg + 1, rc_strerror(rc));
		text = (const char *)data;
	}
	rc = rc_json_parse(text, len, CLI_MAX_FILE, out, why, sizeof(why));
	rc_free(data);
	if (rc != RC_OK)
		return cli_fail("--initial-twin: not JSON: %s", why);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return cli_fail("--initial-twin: not a JSON object "
		                "(like {\"tags\":{},\"properties\":"
		                "{\"desired\":{}}})");
	}
	return CLI_OK;
}

/* --reprovision-policy, --hub, --initial-twin. */
static int
edit_policy(const struct eopts *o, json_t *doc)
{
	json_t *hubs, *twin;
	size_t i;
	int ret;

	if (o->reprov &&
	    json_object_set_new(doc, "reprovisionPolicy",
	        json_pack("{s:b, s:b}", "updateHubAssignment", o->update_hub,
	            "migrateDeviceData", o->migrate)) != 0)
		return cli_fail("out of memory");
	if (o->nhubs > 0) {
		if ((hubs = json_array()) == NULL ||
		    json_object_set_new(doc, "iotHubs", hubs) != 0)
			return cli_fail("out of memory");
		for (i = 0; i < o->nhubs; i++)
			if (json_array_append_new(hubs,
			        json_string(o->hubs[i])) != 0)
				return cli_fail("out of memory");
	}
	if (o->twin != NULL) {
		if ((ret = twin_json(o->twin, &twin)) != CLI_OK)
			return ret;
		if (json_object_set_new(doc, "initialTwin", twin) != 0)
			return cli_fail("out of memory");
	}
	if (o->device_id != NULL &&
	    json_object_set_new(doc, "deviceId", json_string(o->device_id)) !=
	        0)
		return cli_fail("out of memory");
	return CLI_OK;
}

/* Every edit an `update` asks for, on the object the server returned. */
static int
edit_doc(const struct enroll_kind *k, const struct eopts *o, json_t *doc)
{
	json_t *att, *x509;
	const char *type;
	int ret;

	if (o->primary || o->secondary || o->rm_primary || o->rm_secondary ||
	    o->ca_ref || o->ca_ref2) {
		att = json_object_get(doc, "attestation");
		type = json_string_value(json_object_get(att, "type"));
		if (type == NULL || strcmp(type, "x509") != 0 ||
		    (x509 = member_obj(att, "x509")) == NULL)
			return cli_fail("%s %s does not attest with X.509 "
			                "certificates",
			    k->noun, o->id);
		if ((ret = edit_slots(k, o, x509)) != CLI_OK)
			return ret;
	}
	return edit_policy(o, doc);
}

static const char *
str_at(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* "slot": the certificate info, or the CA reference name. */
static void
show_slot(FILE *f, const char *label, json_t *cert, const char *ref)
{
	json_t *info = json_object_get(cert, "info");

	fprintf(f, "%-16s", label);
	if (ref != NULL) {
		fputs("CA certificate ", f);
		print_clean(f, ref);
	} else if (info != NULL) {
		print_clean(f, str_at(info, "subjectName"));
		fputs("\n                sha256 ", f);
		print_clean(f, str_at(info, "sha256Thumbprint"));
		if (str_at(info, "notAfterUtc") != NULL) {
			fputs("\n                valid ", f);
			print_clean(f, str_at(info, "notBeforeUtc"));
			fputs(" .. ", f);
			print_clean(f, str_at(info, "notAfterUtc"));
		}
	} else {
		fputs("-", f);
	}
	fputc('\n', f);
}

static void
show_field(FILE *f, const char *label, const char *v)
{
	fprintf(f, "%-16s", label);
	print_clean(f, v != NULL && *v != '\0' ? v : "-");
	fputc('\n', f);
}

static void
show_hubs(FILE *f, json_t *hubs)
{
	size_t i;

	fprintf(f, "%-16s", "hubs");
	if (json_array_size(hubs) == 0)
		fputs("any", f);
	for (i = 0; i < json_array_size(hubs); i++) {
		if (i > 0)
			fputs(", ", f);
		print_clean(f, json_string_value(json_array_get(hubs, i)));
	}
	fputc('\n', f);
}

static void
show_doc(const struct enroll_kind *k, json_t *doc, FILE *f)
{
	json_t *x509 =
	    json_object_get(json_object_get(doc, "attestation"), "x509");
	json_t *slots = json_object_get(x509, k->slots);
	json_t *refs = json_object_get(x509, "caReferences");
	json_t *reg = json_object_get(doc, "registrationState");

	show_field(f, k->group_kind ? "group ID" : "registration ID",
	    str_at(doc, k->id_field));
	if (!k->group_kind)
		show_field(f, "device ID", str_at(doc, "deviceId"));
	show_field(f, "status", str_at(doc, "provisioningStatus"));
	show_slot(f, "primary", json_object_get(slots, "primary"),
	    str_at(refs, "primary"));
	show_slot(f, "secondary", json_object_get(slots, "secondary"),
	    str_at(refs, "secondary"));
	show_field(f, "reprovision",
	    enroll_reprov_name(json_object_get(doc, "reprovisionPolicy")));
	show_hubs(f, json_object_get(doc, "iotHubs"));
	if (reg != NULL) {
		show_field(f, "registration", str_at(reg, "status"));
		show_field(f, "assigned hub", str_at(reg, "assignedHub"));
	}
	show_field(f, "etag", str_at(doc, "etag"));
	show_field(f, "created", str_at(doc, "createdDateTimeUtc"));
	show_field(f, "updated", str_at(doc, "lastUpdatedDateTimeUtc"));
}

/* A slot's cell: 16 hex digits of its SHA-256, or ca:NAME. */
static void
slot_cell(json_t *slots, json_t *refs, const char *slot, char *out, size_t size)
{
	const char *v;

	if ((v = str_at(json_object_get(json_object_get(slots, slot), "info"),
	         "sha256Thumbprint")) != NULL)
		snprintf(out, size, "%.16s", v);
	else if ((v = str_at(refs, slot)) != NULL)
		snprintf(out, size, "ca:%s", v);
	else
		snprintf(out, size, "-");
}

int
enroll_table(const struct enroll_kind *k, json_t *list, FILE *f)
{
	static const char *const headers[] = {"ID", "STATUS", "PRIMARY SHA-256",
	    "SECONDARY", "UPDATED"};
	char prim[128], sec[128];
	const char *row[5];
	struct table *t = NULL;
	json_t *doc, *x509;
	size_t i;
	int rc;

	if ((rc = table_new(5, headers, &t)) != RC_OK)
		return rc;
	json_array_foreach(list, i, doc)
	{
		x509 = json_object_get(json_object_get(doc, "attestation"),
		    "x509");
		slot_cell(json_object_get(x509, k->slots),
		    json_object_get(x509, "caReferences"), "primary", prim,
		    sizeof(prim));
		slot_cell(json_object_get(x509, k->slots),
		    json_object_get(x509, "caReferences"), "secondary", sec,
		    sizeof(sec));
		row[0] = str_at(doc, k->id_field);
		row[1] = str_at(doc, "provisioningStatus");
		row[2] = prim;
		row[3] = sec;
		row[4] = str_at(doc, "lastUpdatedDateTimeUtc");
		if ((rc = table_add(t, row)) != RC_OK)
			goto out;
	}
	table_print(t, f);
out:
	table_free(t);
	return rc;
}

/* The result of a PUT or GET: the server's JSON, or the fields. */
static int
print_doc(const struct enroll_kind *k, const struct eopts *o,
    struct client_resp *r)
{
	if (!json_is_object(r->json))
		return cli_fail("the server's answer is not a JSON object");
	if (o->c.json)
		return client_print_json(r->json);
	show_doc(k, r->json, stdout);
	return CLI_OK;
}

/* GET an enrollment: a 2xx answer holding a JSON object. */
static int
get_doc(struct client *cl, const char *path, struct client_resp *r)
{
	int ret;

	if ((ret = client_call(cl, "GET", path, NULL, NULL, NULL, r)) != CLI_OK)
		return ret;
	if ((ret = client_ok(r)) != CLI_OK)
		return ret;
	if (!json_is_object(r->json))
		return cli_fail("GET %s: the answer is not a JSON object",
		    path);
	return CLI_OK;
}

static int
put_doc(const struct enroll_kind *k, const struct eopts *o, struct client *cl,
    const char *path, json_t *doc, const char *etag)
{
	struct client_resp r;
	int ret;

	if ((ret = client_call(cl, "PUT", path, doc, etag, NULL, &r)) != CLI_OK)
		return ret;
	if (r.status == 412)
		ret = cli_fail("%s %s was changed by someone else since it was "
		               "read; nothing was written, run the command "
		               "again",
		    k->noun, o->id);
	else if ((ret = client_ok(&r)) == CLI_OK)
		ret = print_doc(k, o, &r);
	client_resp_clear(&r);
	return ret;
}

/* The new object of a `create`. */
static int
new_doc(const struct enroll_kind *k, const struct eopts *o, json_t **out)
{
	json_t *doc;
	int ret;

	*out = NULL;
	if ((doc = json_pack("{s:s, s:{s:s, s:{}}, s:s}", k->id_field, o->id,
	         "attestation", "type", "x509", "x509", "provisioningStatus",
	         o->disabled ? "disabled" : "enabled")) == NULL)
		return cli_fail("out of memory");
	if ((ret = edit_slots(k, o,
	         json_object_get(json_object_get(doc, "attestation"),
	             "x509"))) != CLI_OK ||
	    (ret = edit_policy(o, doc)) != CLI_OK) {
		json_decref(doc);
		return ret;
	}
	*out = doc;
	return CLI_OK;
}

/* create refuses to replace: PUT without If-Match would. */
static int
refuse_existing(const struct enroll_kind *k, const struct eopts *o,
    struct client *cl, const char *path)
{
	struct client_resp r;
	int ret;

	if ((ret = client_call(cl, "GET", path, NULL, NULL, NULL, &r)) !=
	    CLI_OK)
		return ret;
	if (r.status == 404)
		ret = CLI_OK;
	else if ((ret = client_ok(&r)) == CLI_OK)
		ret = cli_fail("%s %s already exists (rollcall %s update "
		               "changes it)",
		    k->noun, o->id, k->group);
	client_resp_clear(&r);
	return ret;
}

int
enroll_create(const struct enroll_kind *k, int argc, char **argv)
{
	unsigned allowed =
	    EO_ID | EO_CERTS | EO_CAREF | EO_DEVICE | EO_DISABLED | EO_POLICY;
	struct client *cl = NULL;
	char *path = NULL;
	json_t *doc = NULL;
	struct eopts o;
	int ret;

	if ((ret = parse(k, "create", allowed, argc, argv, &o)) != CLI_OK ||
	    o.help)
		return ret;
	if (o.primary == NULL && o.ca_ref == NULL)
		return cli_usage(usage_of(k, "create", kind_mask(k, allowed)),
		    k->group_kind ? "--primary-cert or --ca-ref is needed"
		                  : "--primary-cert is needed");
	if ((ret = new_doc(k, &o, &doc)) != CLI_OK ||
	    (ret = client_open(&o.c, &cl)) != CLI_OK)
		goto out;
	if (client_path(&path, k->path, o.id, "") != RC_OK) {
		ret = cli_fail("out of memory");
		goto out;
	}
	if ((ret = refuse_existing(k, &o, cl, path)) != CLI_OK)
		goto out;
	ret = put_doc(k, &o, cl, path, doc, NULL);
out:
	json_decref(doc);
	rc_free(path);
	client_free(cl);
	return ret;
}

/* GET, edit, PUT with If-Match: the etag that was read. */
static int
read_modify_write(const struct enroll_kind *k, const struct eopts *o,
    int (*edit)(const struct enroll_kind *, const struct eopts *, json_t *))
{
	struct client *cl = NULL;
	struct client_resp r;
	const char *etag;
	char *path = NULL;
	int ret;

	memset(&r, 0, sizeof(r));
	if ((ret = client_open(&o->c, &cl)) != CLI_OK)
		return ret;
	if (client_path(&path, k->path, o->id, "") != RC_OK) {
		ret = cli_fail("out of memory");
		goto out;
	}
	if ((ret = get_doc(cl, path, &r)) != CLI_OK ||
	    (ret = edit(k, o, r.json)) != CLI_OK)
		goto out;
	if ((etag = str_at(r.json, "etag")) == NULL)
		etag = r.etag;
	ret = put_doc(k, o, cl, path, r.json, etag);
out:
	client_resp_clear(&r);
	rc_free(path);
	client_free(cl);
	return ret;
}

int
enroll_update(const struct enroll_kind *k, int argc, char **argv)
{
	unsigned allowed = EO_ID | EO_CERTS | EO_REMOVE | EO_CAREF | EO_POLICY;
	struct eopts o;
	int ret;

	if ((ret = parse(k, "update", allowed, argc, argv, &o)) != CLI_OK ||
	    o.help)
		return ret;
	if (!o.primary && !o.secondary && !o.rm_primary && !o.rm_secondary &&
	    !o.ca_ref && !o.ca_ref2 && !o.reprov && o.nhubs == 0 && !o.twin)
		return cli_usage(usage_of(k, "update", kind_mask(k, allowed)),
		    "nothing to change");
	return read_modify_write(k, &o, edit_doc);
}

static int
edit_enable(const struct enroll_kind *k, const struct eopts *o, json_t *doc)
{
	(void)k;
	if (json_object_set_new(doc, "provisioningStatus",
	        json_string(o->disabled ? "disabled" : "enabled")) != 0)
		return cli_fail("out of memory");
	return CLI_OK;
}

static int
set_status(const struct enroll_kind *k, const char *sub, int argc, char **argv)
{
	struct eopts o;
	int ret;

	if ((ret = parse(k, sub, EO_ID, argc, argv, &o)) != CLI_OK || o.help)
		return ret;
	o.disabled = strcmp(sub, "disable") == 0;
	return read_modify_write(k, &o, edit_enable);
}

int
enroll_enable(const struct enroll_kind *k, int argc, char **argv)
{
	return set_status(k, "enable", argc, argv);
}

int
enroll_disable(const struct enroll_kind *k, int argc, char **argv)
{
	return set_status(k, "disable", argc, argv);
}

int
enroll_show(const struct enroll_kind *k, int argc, char **argv)
{
	struct client *cl = NULL;
	struct client_resp r;
	char *path = NULL;
	struct eopts o;
	int ret;

	memset(&r, 0, sizeof(r));
	if ((ret = parse(k, "show", EO_ID, argc, argv, &o)) != CLI_OK || o.help)
		return ret;
	if ((ret = client_open(&o.c, &cl)) != CLI_OK)
		return ret;
	if (client_path(&path, k->path, o.id, "") != RC_OK)
		ret = cli_fail("out of memory");
	else if ((ret = get_doc(cl, path, &r)) == CLI_OK)
		ret = print_doc(k, &o, &r);
	client_resp_clear(&r);
	rc_free(path);
	client_free(cl);
	return ret;
}

int
enroll_list(const struct enroll_kind *k, int argc, char **argv)
{
	struct client *cl = NULL;
	json_t *all = NULL;
	char path[64];
	struct eopts o;
	int ret;

	if ((ret = parse(k, "list", EO_MAX, argc, argv, &o)) != CLI_OK ||
	    o.help)
		return ret;
	if ((ret = client_open(&o.c, &cl)) != CLI_OK)
		return ret;
	snprintf(path, sizeof(path), "%squery", k->path);
	if ((ret = client_query_all(cl, path, o.max, &all)) != CLI_OK)
		goto out;
	if (o.c.json)
		ret = client_print_json(all);
	else if (enroll_table(k, all, stdout) != RC_OK)
		ret = cli_fail("out of memory");
out:
	json_decref(all);
	client_free(cl);
	return ret;
}

int
enroll_delete(const struct enroll_kind *k, int argc, char **argv)
{
	struct client *cl = NULL;
	struct client_resp r;
	char *path = NULL;
	struct eopts o;
	int ret;

	memset(&r, 0, sizeof(r));
	if ((ret = parse(k, "delete", EO_ID | EO_ETAG, argc, argv, &o)) !=
	        CLI_OK ||
	    o.help)
		return ret;
	if ((ret = client_open(&o.c, &cl)) != CLI_OK)
		return ret;
	if (client_path(&path, k->path, o.id, "") != RC_OK)
		ret = cli_fail("out of memory");
	else if ((ret = client_call(cl, "DELETE", path, NULL, o.etag, NULL,
	              &r)) == CLI_OK &&
	    (ret = client_ok(&r)) == CLI_OK && !o.c.json)
		printf("deleted %s %s\n", k->noun, o.id);
	client_resp_clear(&r);
	rc_free(path);
	client_free(cl);
	return ret;
}
