/*
 * The JSON intake of the DPS service API: IndividualEnrollment and
 * EnrollmentGroup bodies (reference/azure-service-api.md §2.2-2.4) to
 * struct rc_enrollment and back, and DeviceRegistrationState out (§2.5).
 *
 * Format and the rules enforced on the way in:
 * - registrationId / enrollmentGroupId: a string obeying §3.1 (see
 *   dps_id_valid), equal (ignoring case) to the ID in the path; taken from
 *   the path when the body has none.
 * - Read-only fields (etag, createdDateTimeUtc, lastUpdatedDateTimeUtc,
 *   registrationState) are dropped: the etag precondition is the If-Match
 *   header only.
 * - provisioningStatus "enabled" | "disabled" (default enabled);
 *   reprovisionPolicy gets Azure's defaults (both true); capabilities
 *   defaults to {"iotEdge": false}; allocationPolicy must be one of
 *   Azure's four; the other known fields are type-checked; unknown fields
 *   are kept verbatim in doc and echoed.
 * - attestation.type x509: individual enrollments use clientCertificates
 *   (leaf certificates whose subject CN is the registration ID, seed rules
 *   S2/S13, so the ID is at most 64 characters), groups use either
 *   signingCertificates (CA certificates: basicConstraints CA:TRUE) or
 *   caReferences (names of uploaded CA certificates).  A certificate is
 *   PEM or bare base64 DER (§2.4).  A slot holding only `info` keeps the
 *   stored certificate; a missing or null slot is emptied.  The two slots
 *   may not hold the same certificate.  An enabled enrollment needs at
 *   least one slot filled.
 * - attestation.type symmetricKey or none: only on a disabled individual
 *   enrollment, which is how a single device of a group is blocked
 *   (seed rule S12, §3.4); keys are not kept (rollcall attests X.509
 *   only).  tpm is refused.
 * On the way out, certificates are reported by their `info` block alone.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/x509v3.h>

#include "dps_impl.h"
#include "rollcall/mem.h"
#include "rollcall/x509.h"

static const char *const slot_names[RC_SLOT_COUNT] = {"primary", "secondary"};

static const char *
id_key(enum rc_enrollment_kind kind)
{
	return kind == RC_ENROLLMENT_GROUP ? "enrollmentGroupId"
	                                   : "registrationId";
}

/* The JSON member that holds a kind's certificate slots. */
static const char *
certs_key(enum rc_enrollment_kind kind)
{
	return kind == RC_ENROLLMENT_GROUP ? "signingCertificates"
	                                   : "clientCertificates";
}

int
dps_cert_parse(const char *text, size_t len, struct rc_store_cert **out,
    X509 **x509, char *why, size_t whylen)
{
	struct rc_cert_info info;
	struct rc_store_cert *c = NULL;
	unsigned char *p;
	X509 *x = NULL;
	int n, rc;

	*out = NULL;
	if (x509 != NULL)
		*x509 = NULL;
	memset(&info, 0, sizeof(info));
	if ((rc = rc_x509_parse(text, len, &x)) != RC_OK) {
		if (rc == RC_ETOOBIG)
			snprintf(why, whylen, "larger than %d bytes",
			    RC_X509_MAX_CERT);
		else
			snprintf(why, whylen,
			    "not one PEM or base64 DER certificate (%s)",
			    rc_strerror(rc));
		goto out;
	}
	if ((rc = rc_x509_info(x, &info)) != RC_OK) {
		snprintf(why, whylen, "its names or times cannot be read (%s)",
		    rc_strerror(rc));
		goto out;
	}
	rc = RC_ENOMEM;
	snprintf(why, whylen, "out of memory");
	if ((n = i2d_X509(x, NULL)) <= 0) {
		rc = RC_EPARSE;
		snprintf(why, whylen, "it cannot be encoded as DER");
		goto out;
	}
	if ((c = rc_calloc(1, sizeof(*c))) == NULL ||
	    (c->der = rc_malloc((size_t)n)) == NULL)
		goto out;
	p = c->der;
	c->der_len = (size_t)i2d_X509(x, &p);
	memcpy(c->sha1, info.sha1, sizeof(c->sha1));
	memcpy(c->sha256, info.sha256, sizeof(c->sha256));
	c->not_before = (int64_t)info.not_before_t;
	c->not_after = (int64_t)info.not_after_t;
	c->version = info.version;
	if ((c->subject = rc_strdup(info.subject)) == NULL ||
	    (c->issuer = rc_strdup(info.issuer)) == NULL ||
	    (c->serial = rc_strdup(info.serial)) == NULL)
		goto out;
	rc = RC_OK;
	why[0] = '\0';
	*out = c;
	c = NULL;
	if (x509 != NULL) {
		*x509 = x;
		x = NULL;
	}
out:
	rc_x509_info_clear(&info);
	rc_store_cert_free(c);
	X509_free(x);
	return rc;
}

int
dps_cert_info_json(const struct rc_store_cert *c, json_t **out)
{
	struct rc_cert_info info;

	/* Borrowed fields only: info is not cleared. */
	memset(&info, 0, sizeof(info));
	info.subject = c->subject != NULL ? c->subject : "";
	info.issuer = c->issuer != NULL ? c->issuer : "";
	info.serial = c->serial != NULL ? c->serial : "";
	memcpy(info.sha1, c->sha1, sizeof(info.sha1));
	memcpy(info.sha256, c->sha256, sizeof(info.sha256));
	info.sha1[sizeof(info.sha1) - 1] = '\0';
	info.sha256[sizeof(info.sha256) - 1] = '\0';
	dps_time_iso(c->not_before, info.not_before);
	dps_time_iso(c->not_after, info.not_after);
	info.not_before_t = (time_t)c->not_before;
	info.not_after_t = (time_t)c->not_after;
	info.version = c->version;
	return rc_x509_info_to_json(&info, out);
}

/* A certificate slot: {"certificate": "<PEM|base64>", "info": {...}}. */
static int
slot_in(struct rc_enrollment *enr, json_t *parent, const char *parent_name,
    enum rc_slot slot, int *keep, struct dps_err *e)
{
	const char *name = slot_names[slot];
	char why[256], *cn = NULL;
	json_t *v, *cert, *info;
	X509 *x = NULL;
	int rc;

	v = json_object_get(parent, name);
	if (v == NULL || json_is_null(v))
		return RC_OK; /* missing or null: the slot is emptied */
	if (!json_is_object(v))
		return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_BODY,
		    "attestation.x509.%s.%s must be an object", parent_name,
		    name);
	cert = json_object_get(v, "certificate");
	info = json_object_get(v, "info");
	if (cert == NULL || json_is_null(cert)) {
		if (!json_is_object(info))
			return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_BODY,
			    "attestation.x509.%s.%s has neither a certificate "
			    "nor the info of a stored one",
			    parent_name, name);
		*keep = 1;
		return RC_OK;
	}
	if (!json_is_string(cert))
		return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_CERT,
		    "attestation.x509.%s.%s.certificate must be a string",
		    parent_name, name);
	rc = dps_cert_parse(json_string_value(cert), json_string_length(cert),
	    &enr->certs[slot], &x, why, sizeof(why));
	if (rc != RC_OK) {
		if (rc == RC_ENOMEM)
			return dps_err_set(e, rc, 500, DPS_E_INTERNAL,
			    "out of memory");
		return dps_err_set(e, RC_EPARSE, 400, DPS_E_BAD_CERT,
		    "attestation.x509.%s.%s.certificate: %s", parent_name, name,
		    why);
	}
	if (enr->kind == RC_ENROLLMENT_GROUP) {
		/* A signing certificate verifies leaves: it must be a CA. */
		if (X509_check_ca(x) != 1)
			rc = dps_err_set(e, RC_EPARSE, 400, DPS_E_BAD_CERT,
			    "attestation.x509.%s.%s.certificate is not a CA "
			    "certificate (basicConstraints CA:TRUE with "
			    "keyCertSign)",
			    parent_name, name);
		goto out;
	}
	/* Seed rules S2, S13: the leaf CN is the registration ID. */
	rc = rc_x509_get1_cn(x, &cn);
	if (rc == RC_ENOMEM) {
		rc = dps_err_set(e, rc, 500, DPS_E_INTERNAL, "out of memory");
		goto out;
	}
	if (rc != RC_OK || strcasecmp(cn, enr->id) != 0)
		rc = dps_err_set(e, RC_EPARSE, 400, DPS_E_BAD_CERT,
		    "attestation.x509.%s.%s.certificate: its subject CN "
		    "'%.64s' is not the registration ID '%s'",
		    parent_name, name, cn != NULL ? cn : "", enr->id);
out:
	rc_free(cn);
	X509_free(x);
	return rc;
}

static int
ca_refs_in(struct rc_enrollment *enr, json_t *refs, struct dps_err *e)
{
	const char *name;
	json_t *v;
	int i;

	if (!json_is_object(refs))
		return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_BODY,
		    "attestation.x509.caReferences must be an object");
	for (i = 0; i < RC_SLOT_COUNT; i++) {
		v = json_object_get(refs, slot_names[i]);
		if (v == NULL || json_is_null(v))
			continue;
		name = json_string_value(v);
		if (name == NULL || !dps_ca_name_valid(name))
			return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_CA_REF,
			    "attestation.x509.caReferences.%s must name a CA "
			    "certificate ([A-Za-z0-9._-], at most %d "
			    "characters)",
			    slot_names[i], DPS_CA_NAME_MAX);
		if ((enr->ca_refs[i] = rc_strdup(name)) == NULL)
			return dps_err_set(e, RC_ENOMEM, 500, DPS_E_INTERNAL,
			    "out of memory");
	}
	return RC_OK;
}

static int
present(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return v != NULL && !json_is_null(v);
}

static int
x509_in(struct rc_enrollment *enr, json_t *x, int keep[RC_SLOT_COUNT],
    struct dps_err *e)
{
	const char *mine = certs_key(enr->kind), *other;
	json_t *certs;
	int i, rc;

	if (!json_is_object(x))
		return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_BODY,
		    "attestation.x509 must be an object");
	other = enr->kind == RC_ENROLLMENT_GROUP ? "clientCertificates"
	                                         : "signingCertificates";
	if (present(x, other) ||
	    (enr->kind == RC_ENROLLMENT_INDIVIDUAL &&
	        present(x, "caReferences")))
		return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_BODY,
		    "an %s uses attestation.x509.%s%s",
		    enr->kind == RC_ENROLLMENT_GROUP ? "enrollment group"
		                                     : "individual enrollment",
		    mine,
		    enr->kind == RC_ENROLLMENT_GROUP ? " or caReferences" : "");
	if (present(x, "caReferences")) {
		if (present(x, mine))
			return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_BODY,
			    "attestation.x509 has both signingCertificates "
			    "and caReferences: use one");
		return ca_refs_in(enr, json_object_get(x, "caReferences"), e);
	}
	certs = json_object_get(x, mine);
	if (certs == NULL || json_is_null(certs))
		return RC_OK;
	if (!json_is_object(certs))
		return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_BODY,
		    "attestation.x509.%s must be an object", mine);
	for (i = 0; i < RC_SLOT_COUNT; i++)
		if ((rc = slot_in(enr, certs, mine, (enum rc_slot)i, &keep[i],
		         e)) != RC_OK)
			return rc;
	if (enr->certs[0] != NULL && enr->certs[1] != NULL &&
	    strcasecmp(enr->certs[0]->sha256, enr->certs[1]->sha256) == 0)
		return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_CERT,
		    "attestation.x509.%s: primary and secondary are the same "
		    "certificate",
		    mine);
	return RC_OK;
}

/*
 * symmetricKey / none: accepted on a disabled individual enrollment only
 * (seed rule S12); doc keeps {"type": ...} so the object reads back.
 */
static int
blocker_in(struct rc_enrollment *enr, const char *type, json_t *doc,
    struct dps_err *e)
{
	json_t *att;

	if (enr->kind != RC_ENROLLMENT_INDIVIDUAL || enr->enabled)
		return dps_err_set(e, RC_EUNSUPPORTED, 400, DPS_E_ATTESTATION,
		    "%s attestation is accepted only on a disabled individual "
		    "enrollment, which blocks that registration ID; rollcall "
		    "attests X.509 certificates only",
		    type);
	if ((att = json_pack("{s:s}", "type", type)) == NULL ||
	    json_object_set_new(doc, "attestation", att) != 0)
		return dps_err_set(e, RC_ENOMEM, 500, DPS_E_INTERNAL,
		    "out of memory");
	return RC_OK;
}

static int
attestation_in(struct rc_enrollment *enr, json_t *body, json_t *doc,
    int keep[RC_SLOT_COUNT], struct dps_err *e)
{
	json_t *att;
	const char *type;
	int i, rc;

	att = json_object_get(body, "attestation");
	if (!json_is_object(att))
		return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_BODY,
		    "attestation is required and must be an object");
	type = json_string_value(json_object_get(att, "type"));
	if (type == NULL)
		return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_BODY,
		    "attestation.type is required and must be a string");
	if (strcasecmp(type, "symmetricKey") == 0)
		return blocker_in(enr, "symmetricKey", doc, e);
	if (strcasecmp(type, "none") == 0)
		return blocker_in(enr, "none", doc, e);
	if (strcasecmp(type, "x509") != 0)
		return dps_err_set(e, RC_EUNSUPPORTED, 400, DPS_E_ATTESTATION,
		    "attestation type '%.32s' is not supported: rollcall "
		    "attests X.509 certificates only",
		    type);
	if ((rc = x509_in(enr, json_object_get(att, "x509"), keep, e)) != RC_OK)
		return rc;
	if (enr->kind == RC_ENROLLMENT_INDIVIDUAL &&
	    strlen(enr->id) > DPS_ID_MAX_X509)
		return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_ID,
		    "an X.509 registration ID is a certificate CN: at most %d "
		    "characters",
		    DPS_ID_MAX_X509);
	for (i = 0; i < RC_SLOT_COUNT; i++)
		if (enr->certs[i] != NULL || enr->ca_refs[i] != NULL || keep[i])
			return RC_OK;
	if (enr->enabled)
		return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_CERT,
		    "an enabled enrollment needs a certificate in "
		    "attestation.x509 (primary or secondary)");
	return RC_OK;
}

static int
status_in(struct rc_enrollment *enr, json_t *body, struct dps_err *e)
{
	json_t *v = json_object_get(body, "provisioningStatus");
	const char *s;

	enr->enabled = 1;
	if (v == NULL || json_is_null(v))
		return RC_OK;
	if ((s = json_string_value(v)) != NULL && strcasecmp(s, "enabled") == 0)
		return RC_OK;
	if (s != NULL && strcasecmp(s, "disabled") == 0) {
		enr->enabled = 0;
		return RC_OK;
	}
	return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_BODY,
	    "provisioningStatus must be \"enabled\" or \"disabled\"");
}

/*
 * IoT Hub device IDs: up to 128 ASCII characters, alphanumerics and
 * - . % _ * ? ! ( ) , : = @ $ '.
 */
static int
device_id_valid(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 128)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		        (s[i] >= 'A' && s[i] <= 'Z') ||
		        (s[i] >= '0' && s[i] <= '9') ||
		        strchr("-.%_*?!(),:=@$'", s[i]) != NULL))
			return 0;
	return 1;
}

static int
device_id_in(struct rc_enrollment *enr, json_t *body, struct dps_err *e)
{
	json_t *v = json_object_get(body, "deviceId");
	const char *s;

	if (v == NULL || json_is_null(v))
		return RC_OK;
	if ((s = json_string_value(v)) == NULL || !device_id_valid(s))
		return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_BODY,
		    "deviceId must be 1 to 128 characters: letters, digits "
		    "and -.%%_*?!(),:=@$'");
	if ((enr->device_id = rc_strdup(s)) == NULL)
		return dps_err_set(e, RC_ENOMEM, 500, DPS_E_INTERNAL,
		    "out of memory");
	return RC_OK;
}

/* Fields the API layer interprets itself and never keeps in doc. */
static int
reserved(enum rc_enrollment_kind kind, const char *key)
{
	static const char *const ro[] = {"etag", "createdDateTimeUtc",
	    "lastUpdatedDateTimeUtc", "registrationState", "attestation",
	    "provisioningStatus"};
	size_t i;

	if (strcmp(key, id_key(kind)) == 0)
		return 1;
	if (kind == RC_ENROLLMENT_INDIVIDUAL && strcmp(key, "deviceId") == 0)
		return 1;
	for (i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		if (strcmp(key, ro[i]) == 0)
			return 1;
	return 0;
}

static int
bool_members(json_t *o, const char *name, const char *const *keys, size_t nkeys,
    int dflt, struct dps_err *e)
{
	json_t *v;
	size_t i;

	for (i = 0; i < nkeys; i++) {
		v = json_object_get(o, keys[i]);
		if (v == NULL || json_is_null(v)) {
			if (json_object_set_new(o, keys[i],
			        json_boolean(dflt)) != 0)
				return dps_err_set(e, RC_ENOMEM, 500,
				    DPS_E_INTERNAL, "out of memory");
			continue;
		}
		if (!json_is_boolean(v))
			return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_BODY,
			    "%s.%s must be true or false", name, keys[i]);
	}
	return RC_OK;
}

/* reprovisionPolicy and capabilities, with Azure's defaults (§2.2). */
static int
policy_objects(json_t *doc, struct dps_err *e)
{
	static const char *const rp[] = {"updateHubAssignment",
	    "migrateDeviceData"};
	static const char *const cap[] = {"iotEdge"};
	static const struct {
		const char *name;
		const char *const *keys;
		size_t nkeys;
		int dflt;
	} objs[] = {
	    {"reprovisionPolicy", rp, 2, 1},
	    {"capabilities", cap, 1, 0},
	};
	json_t *v;
	size_t i;
	int rc;

	for (i = 0; i < 2; i++) {
		v = json_object_get(doc, objs[i].name);
		if (v != NULL && !json_is_object(v))
			return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_BODY,
			    "%s must be an object", objs[i].name);
		/* A copy: doc shares the caller's values otherwise. */
		v = v != NULL ? json_deep_copy(v) : json_object();
		if (v == NULL || json_object_set_new(doc, objs[i].name, v) != 0)
			return dps_err_set(e, RC_ENOMEM, 500, DPS_E_INTERNAL,
			    "out of memory");
		if ((rc = bool_members(v, objs[i].name, objs[i].keys,
		         objs[i].nkeys, objs[i].dflt, e)) != RC_OK)
			return rc;
	}
	return RC_OK;
}

static int
allocation_in(json_t *doc, struct dps_err *e)
{
	static const char *const policies[] = {"hashed", "geoLatency", "static",
	    "custom"};
	const char *s;
	json_t *v;
	size_t i;

	if ((v = json_object_get(doc, "allocationPolicy")) == NULL)
		return RC_OK;
	for (i = 0; (s = json_string_value(v)) != NULL && i < 4; i++) {
		if (strcasecmp(s, policies[i]) != 0)
			continue;
		/* Stored in Azure's spelling. */
		if (json_object_set_new(doc, "allocationPolicy",
		        json_string(policies[i])) != 0)
			return dps_err_set(e, RC_ENOMEM, 500, DPS_E_INTERNAL,
			    "out of memory");
		return RC_OK;
	}
	return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_BODY,
	    "allocationPolicy must be hashed, geoLatency, static or custom");
}

/* Type checks of the remaining known fields; null means absent. */
static int
types_in(json_t *doc, struct dps_err *e)
{
	static const struct {
		const char *name;
		json_type type;
		const char *what;
	} known[] = {
	    {"iotHubHostName", JSON_STRING, "a string"},
	    {"iotHubs", JSON_ARRAY, "an array of host names"},
	    {"initialTwin", JSON_OBJECT, "an object"},
	    {"optionalDeviceInformation", JSON_OBJECT, "an object"},
	    {"customAllocationDefinition", JSON_OBJECT, "an object"},
	};
	json_t *v, *h;
	size_t i, j;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if ((v = json_object_get(doc, known[i].name)) == NULL)
			continue;
		if (json_typeof(v) != known[i].type)
			return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_BODY,
			    "%s must be %s", known[i].name, known[i].what);
	}
	json_array_foreach(json_object_get(doc, "iotHubs"), j, h)
	{
		if (!json_is_string(h))
			return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_BODY,
			    "iotHubs must be an array of host names");
	}
	return RC_OK;
}

static int
doc_in(enum rc_enrollment_kind kind, json_t *body, json_t *doc,
    struct dps_err *e)
{
	const char *key;
	json_t *v;
	int rc;

	json_object_foreach(body, key, v)
	{
		if (reserved(kind, key))
			continue;
		/* null is "not set" for every known optional field. */
		if (json_is_null(v))
			continue;
		if (json_object_set(doc, key, v) != 0)
			return dps_err_set(e, RC_ENOMEM, 500, DPS_E_INTERNAL,
			    "out of memory");
	}
	if ((rc = policy_objects(doc, e)) != RC_OK ||
	    (rc = allocation_in(doc, e)) != RC_OK)
		return rc;
	return types_in(doc, e);
}

static int
id_in(enum rc_enrollment_kind kind, json_t *body, const char *path_id,
    struct rc_enrollment *enr, struct dps_err *e)
{
	const char *key = id_key(kind), *id;
	json_t *v = json_object_get(body, key);

	if (v != NULL && !json_is_null(v) && !json_is_string(v))
		return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_BODY,
		    "%s must be a string", key);
	id = json_string_value(v);
	if (id == NULL)
		id = path_id;
	if (id == NULL)
		return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_BODY,
		    "%s is required", key);
	if (path_id != NULL && strcasecmp(id, path_id) != 0)
		return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_BODY,
		    "%s '%.128s' in the body is not '%.128s' of the path", key,
		    id, path_id);
	if (!dps_id_valid(id, DPS_ID_MAX))
		return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_ID,
		    "%s '%.128s' is not valid: 1 to %d characters, letters, "
		    "digits and - . _ :, ending in a letter, digit or -",
		    key, id, DPS_ID_MAX);
	if ((enr->id = rc_strdup(id)) == NULL)
		return dps_err_set(e, RC_ENOMEM, 500, DPS_E_INTERNAL,
		    "out of memory");
	return RC_OK;
}

int
dps_enrollment_from_json(enum rc_enrollment_kind kind, json_t *body,
    const char *path_id, struct rc_enrollment **out, int keep[RC_SLOT_COUNT],
    struct dps_err *e)
{
	struct rc_enrollment *enr;
	json_t *doc = NULL;
	int rc;

	*out = NULL;
	keep[RC_SLOT_PRIMARY] = keep[RC_SLOT_SECONDARY] = 0;
	if (!json_is_object(body))
		return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_BODY,
		    "an enrollment must be a JSON object");
	if ((enr = rc_enrollment_new(kind)) == NULL ||
	    (doc = json_object()) == NULL) {
		rc = dps_err_set(e, RC_ENOMEM, 500, DPS_E_INTERNAL,
		    "out of memory");
		goto out;
	}
	if ((rc = id_in(kind, body, path_id, enr, e)) != RC_OK ||
	    (rc = status_in(enr, body, e)) != RC_OK)
		goto out;
	if (kind == RC_ENROLLMENT_INDIVIDUAL &&
	    (rc = device_id_in(enr, body, e)) != RC_OK)
		goto out;
	if ((rc = attestation_in(enr, body, doc, keep, e)) != RC_OK ||
	    (rc = doc_in(kind, body, doc, e)) != RC_OK)
		goto out;
	json_decref(enr->doc);
	enr->doc = doc;
	doc = NULL;
	*out = enr;
	enr = NULL;
out:
	json_decref(doc);
	rc_enrollment_free(enr);
	return rc;
}

const char *
dps_enrollment_keep_thumb(json_t *body, enum rc_enrollment_kind kind,
    enum rc_slot slot)
{
	json_t *info;

	info = json_object_get(
	    json_object_get(
	        json_object_get(json_object_get(json_object_get(body,
	                                            "attestation"),
	                            "x509"),
	            certs_key(kind)),
	        slot_names[slot]),
	    "info");
	return json_string_value(json_object_get(info, "sha256Thumbprint"));
}

static int
slots_out(const struct rc_enrollment *enr, json_t *x509)
{
	json_t *slots = NULL, *info = NULL;
	int i, any = 0;

	if (enr->ca_refs[0] != NULL || enr->ca_refs[1] != NULL) {
		if ((slots = json_object()) == NULL)
			return RC_ENOMEM;
		for (i = 0; i < RC_SLOT_COUNT; i++)
			if (enr->ca_refs[i] != NULL &&
			    json_object_set_new(slots, slot_names[i],
			        json_string(enr->ca_refs[i])) != 0)
				goto fail;
		if (json_object_set_new(x509, "caReferences", slots) != 0)
			return RC_ENOMEM;
		return RC_OK;
	}
	if ((slots = json_object()) == NULL)
		return RC_ENOMEM;
	for (i = 0; i < RC_SLOT_COUNT; i++) {
		if (enr->certs[i] == NULL)
			continue;
		any = 1;
		if (dps_cert_info_json(enr->certs[i], &info) != RC_OK ||
		    json_object_set_new(slots, slot_names[i],
		        json_pack("{s:o}", "info", info)) != 0)
			goto fail;
	}
	if (!any) {
		json_decref(slots);
		return RC_OK;
	}
	if (json_object_set_new(x509, certs_key(enr->kind), slots) != 0)
		return RC_ENOMEM;
	return RC_OK;
fail:
	json_decref(slots);
	return RC_ENOMEM;
}

int
dps_attestation_to_json(const struct rc_enrollment *enr, json_t **out)
{
	json_t *att, *x509 = NULL;

	*out = NULL;
	if ((att = json_object_get(enr->doc, "attestation")) != NULL) {
		*out = json_deep_copy(att);
		return *out != NULL ? RC_OK : RC_ENOMEM;
	}
	if ((x509 = json_object()) == NULL)
		return RC_ENOMEM;
	if (slots_out(enr, x509) != RC_OK) {
		json_decref(x509);
		return RC_ENOMEM;
	}
	/* "o" steals x509, also when json_pack fails. */
	if ((att = json_pack("{s:s, s:o}", "type", "x509", "x509", x509)) ==
	    NULL)
		return RC_ENOMEM;
	*out = att;
	return RC_OK;
}

int
dps_enrollment_to_json(const struct rc_enrollment *enr, json_t **out)
{
	const char *key;
	json_t *o, *att = NULL, *v;
	int rc = RC_ENOMEM;

	*out = NULL;
	if ((o = json_object()) == NULL ||
	    json_object_set_new(o, id_key(enr->kind), json_string(enr->id)) !=
	        0)
		goto out;
	if (enr->device_id != NULL &&
	    json_object_set_new(o, "deviceId", json_string(enr->device_id)) !=
	        0)
		goto out;
	if (dps_attestation_to_json(enr, &att) != RC_OK ||
	    json_object_set_new(o, "attestation", att) != 0)
		goto out;
	json_object_foreach(enr->doc, key, v)
	{
		if (strcmp(key, "attestation") != 0 &&
		    json_object_set(o, key, v) != 0)
			goto out;
	}
	if (json_object_set_new(o, "provisioningStatus",
	        json_string(enr->enabled ? "enabled" : "disabled")) != 0 ||
	    json_object_set_new(o, "etag", json_string(enr->etag)) != 0 ||
	    json_object_set_new(o, "createdDateTimeUtc",
	        dps_time_json(enr->created)) != 0 ||
	    json_object_set_new(o, "lastUpdatedDateTimeUtc",
	        dps_time_json(enr->updated)) != 0)
		goto out;
	*out = o;
	o = NULL;
	rc = RC_OK;
out:
	json_decref(o);
	return rc;
}

static int
set_str(json_t *o, const char *key, const char *v)
{
	if (v == NULL)
		return 0;
	return json_object_set_new(o, key, json_string(v));
}

int
dps_registration_to_json(const struct rc_registration *reg, json_t **out)
{
	json_t *o;

	*out = NULL;
	if ((o = json_object()) == NULL)
		return RC_ENOMEM;
	if (set_str(o, "registrationId", reg->registration_id) != 0 ||
	    json_object_set_new(o, "createdDateTimeUtc",
	        dps_time_json(reg->created)) != 0 ||
	    set_str(o, "assignedHub", reg->assigned_hub) != 0 ||
	    set_str(o, "deviceId", reg->device_id) != 0 ||
	    set_str(o, "status", reg->status) != 0 ||
	    set_str(o, "substatus", reg->substatus) != 0 ||
	    (reg->error_code != 0 &&
	        json_object_set_new(o, "errorCode",
	            json_integer(reg->error_code)) != 0) ||
	    set_str(o, "errorMessage", reg->error_message) != 0 ||
	    json_object_set_new(o, "lastUpdatedDateTimeUtc",
	        dps_time_json(reg->updated)) != 0 ||
	    json_object_set_new(o, "etag", json_string(reg->etag)) != 0 ||
	    (reg->payload != NULL &&
	        json_object_set(o, "payload", reg->payload) != 0)) {
		json_decref(o);
		return RC_ENOMEM;
	}
	*out = o;
	return RC_OK;
}
