/*
 * What an assigner thread does for one attested registration (prov.h):
 *
 * 1. the hub: the enrollment's iotHubs (hashed over the registration ID),
 *    else its iotHubHostName, else the default hub (the first linked); with
 *    reprovisionPolicy.updateHubAssignment false a device keeps the hub
 *    it has (S10);
 * 2. the credential: the presented leaf's SHA-256 thumbprint, or, with a
 *    CSR, the thumbprint of the certificate the signer issues (S4a);
 * 3. the hub identity, created or updated through the hub's service API
 *    as selfSigned with that thumbprint, so the previous certificate stops
 *    working there and its live session is cut (S9, S10);
 * 4. the twin: initialTwin for a new identity; on a move, the old hub's
 *    twin copied over (migrateDeviceData, the default) or initialTwin
 *    again (deviceDataReset), and the identity removed from the old hub;
 * 5. the one registration record of the ID (S2), and a record of every
 *    certificate issued.
 *
 * Substatus values are Azure's (reference/azure-service-api.md §3.10).
 * Errors land in the op as registrationState.errorCode: 400208 when no
 * linked hub fits the enrollment, 400209 when the hub refuses our
 * credential, 500xxx for the rest.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/x509.h>

#include "prov_int.h"
#include "rollcall/csr.h"
#include "rollcall/enc.h"
#include "rollcall/hublink.h"
#include "rollcall/json.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"
#include "rollcall/x509.h"

#define E_HUB_NOT_SPECIFIED 400208
#define E_HUB_UNAUTHORIZED 400209
#define E_CSR_REFUSED 400010
#define E_HUB_FAILED 500010
#define E_SIGN_FAILED 500011
#define E_STORE_FAILED 500012

static const struct rc_store_ctx dps_ctx = {"dps", NULL};

static int __attribute__((format(printf, 3, 4)))
fail(struct op *op, int code, const char *fmt, ...)
{
	va_list ap;

	op->error_code = code;
	va_start(ap, fmt);
	vsnprintf(op->error_message, sizeof(op->error_message), fmt, ap);
	va_end(ap);
	rc_log_info("dps: %s: registration failed: %s", op->regid,
	    op->error_message);
	return RC_EINVAL;
}

static struct rc_hublink *
link_of(struct dps_prov *p, const char *host)
{
	size_t i;

	for (i = 0; host != NULL && i < p->nlinks; i++)
		if (strcasecmp(rc_hublink_get0_host(p->links[i]), host) == 0)
			return p->links[i];
	return NULL;
}

static int
policy_flag(json_t *doc, const char *name)
{
	json_t *rp = json_object_get(doc, "reprovisionPolicy"), *v;

	v = json_is_object(rp) ? json_object_get(rp, name) : NULL;
	return json_is_boolean(v) ? json_is_true(v) : 1;
}

/* Step 1; the linked hub in *link, or an error in op. */
static int
pick_hub(struct dps_prov *p, struct op *op, const struct rc_registration *old,
    struct rc_hublink **link)
{
	json_t *doc = op->res.enrollment->doc, *hubs, *v;
	struct rc_hublink *cand[64];
	const char *host;
	size_t i, n = 0;

	*link = NULL;
	if (old != NULL && old->assigned_hub != NULL &&
	    !policy_flag(doc, "updateHubAssignment") &&
	    (*link = link_of(p, old->assigned_hub)) != NULL)
		return RC_OK;
	hubs = json_object_get(doc, "iotHubs");
	json_array_foreach(hubs, i, v)
	{
		if (n < 64 && (host = json_string_value(v)) != NULL &&
		    link_of(p, host) != NULL)
			cand[n++] = link_of(p, host);
	}
	if (n == 0 && json_array_size(hubs) > 0)
		return fail(op, E_HUB_NOT_SPECIFIED,
		    "none of the enrollment's iotHubs is linked to this DPS");
	host = json_string_value(json_object_get(doc, "iotHubHostName"));
	if (n == 0 && host != NULL && *host != '\0') {
		if ((cand[n] = link_of(p, host)) == NULL)
			return fail(op, E_HUB_NOT_SPECIFIED,
			    "the enrollment's hub %s is not linked to this DPS",
			    host);
		n++;
	}
	/* Neither: the default hub, the first linked one. */
	if (n == 0 && p->nlinks > 0)
		cand[n++] = p->links[0];
	if (n == 0)
		return fail(op, E_HUB_NOT_SPECIFIED,
		    "no hub is linked to this DPS");
	*link = cand[dps_hash(op->regid) % n];
	return RC_OK;
}

/* Step 2 with a CSR: the issued chain, as base64 DER, and its leaf. */
static int
sign_csr(struct dps_prov *p, struct op *op, X509 **leaf)
{
	STACK_OF(X509) *chain = NULL;
	char why[256] = "";
	unsigned char *der;
	int rc, i, len;

	*leaf = NULL;
	if (p->sign == NULL)
		return fail(op, E_CSR_REFUSED,
		    "csr: this server issues no certificates (no device-ca)");
	rc = p->sign(p->sign_arg, op->csr, op->csr_len, op->regid, &chain, why,
	    sizeof(why));
	if (rc != RC_OK)
		return fail(op, rc == RC_EINVAL ? E_CSR_REFUSED : E_SIGN_FAILED,
		    "csr: %s", why[0] != '\0' ? why : rc_strerror(rc));
	if ((op->issued = rc_calloc((size_t)sk_X509_num(chain),
	         sizeof(*op->issued))) == NULL)
		goto nomem;
	for (i = 0; i < sk_X509_num(chain); i++) {
		der = NULL;
		if ((len = i2d_X509(sk_X509_value(chain, i), &der)) <= 0)
			goto nomem;
		rc = rc_b64_encode(der, (size_t)len, &op->issued[i]);
		OPENSSL_free(der);
		if (rc != RC_OK)
			goto nomem;
		op->nissued++;
	}
	*leaf = sk_X509_value(chain, 0);
	X509_up_ref(*leaf);
	sk_X509_pop_free(chain, X509_free);
	return RC_OK;
nomem:
	sk_X509_pop_free(chain, X509_free);
	return fail(op, E_SIGN_FAILED, "out of memory");
}

static int
hub_fail(struct op *op, const struct rc_hublink_status *st, const char *what)
{
	char msg[sizeof(st->message) + 64];

	snprintf(msg, sizeof(msg), "%s: %ld %s", what, st->http_status,
	    st->message);
	return fail(op,
	    st->http_status == 401 || st->http_status == 403
	        ? E_HUB_UNAUTHORIZED
	        : E_HUB_FAILED,
	    "the hub refused the identity update (%s)", msg);
}

/* initialTwin's tags and desired properties into the hub's twin. */
static int
initial_twin(struct op *op, struct rc_hublink *link, const char *device_id)
{
	json_t *it = json_object_get(op->res.enrollment->doc, "initialTwin");
	json_t *tags, *props, *desired, *out = NULL;
	struct rc_hublink_status st;

	if (!json_is_object(it))
		return RC_OK;
	tags = json_object_get(it, "tags");
	props = json_object_get(it, "properties");
	desired =
	    json_is_object(props) ? json_object_get(props, "desired") : NULL;
	if (!json_is_object(tags) && !json_is_object(desired))
		return RC_OK;
	if (rc_hublink_twin_patch(link, device_id,
	        json_is_object(tags) ? tags : NULL,
	        json_is_object(desired) ? desired : NULL, &out, &st) != RC_OK)
		return hub_fail(op, &st, "initialTwin");
	json_decref(out);
	return RC_OK;
}

/* Step 4 for a device leaving from for to. */
static int
move_twin(struct op *op, struct rc_hublink *from, const char *from_id,
    struct rc_hublink *to, const char *device_id, const char **substatus)
{
	struct rc_hublink_status st;
	json_t *twin = NULL, *out = NULL;
	int rc = RC_OK;

	if (from != NULL &&
	    policy_flag(op->res.enrollment->doc, "migrateDeviceData")) {
		*substatus = "deviceDataMigrated";
		if (rc_hublink_twin_get(from, from_id, &twin, &st) != RC_OK) {
			/* Nothing to carry over if the old twin is gone. */
			rc_log_info("dps: %s: old twin unreadable (%ld), "
			            "starting from initialTwin",
			    op->regid, st.http_status);
			*substatus = "deviceDataReset";
			rc = initial_twin(op, to, device_id);
		} else if (rc_hublink_twin_import(to, device_id, twin, &out,
		               &st) != RC_OK) {
			rc = hub_fail(op, &st, "migrating the twin");
		}
	} else {
		*substatus = "deviceDataReset";
		rc = initial_twin(op, to, device_id);
	}
	json_decref(twin);
	json_decref(out);
	if (rc == RC_OK && from != NULL &&
	    rc_hublink_device_delete(from, from_id, &st) != RC_OK &&
	    st.http_status != 404)
		rc_log_warnx("dps: %s: removing %s from its old hub: %ld %s",
		    op->regid, from_id, st.http_status, st.message);
	return rc;
}

static int
record_issued(struct dps_prov *p, struct op *op, X509 *leaf)
{
	struct rc_issued_cert *ic = NULL;
	int rc;

	if ((rc = rc_issued_cert_from_x509(leaf, op->regid, &ic)) == RC_OK)
		rc = rc_store_issued_put(p->store, &dps_ctx, ic, NULL);
	rc_issued_cert_free(ic);
	if (rc != RC_OK)
		return fail(op, E_STORE_FAILED,
		    "the issued certificate could not be recorded: %s",
		    rc_strerror(rc));
	return RC_OK;
}

static char *
csr_pem(const struct op *op)
{
	X509_REQ *req = NULL;
	char *pem = NULL;
	size_t len;

	if (op->csr == NULL ||
	    rc_csr_parse(op->csr, op->csr_len, &req) != RC_OK)
		return NULL;
	if (rc_csr_to_pem(req, &pem, &len) != RC_OK)
		pem = NULL;
	X509_REQ_free(req);
	return pem;
}

/* Step 5: the record, assigned or failed. */
static void
write_record(struct dps_prov *p, struct op *op,
    const struct rc_registration *old, const char *hub, const char *device_id,
    const char *substatus, const char *thumb)
{
	const struct rc_enrollment *e = op->res.enrollment;
	struct rc_registration in;
	char *pem = csr_pem(op);
	int rc, ok = op->error_code == 0;

	memset(&in, 0, sizeof(in));
	in.registration_id = op->regid;
	in.device_id = (char *)(ok ? device_id
	        : old != NULL      ? old->device_id
	                           : NULL);
	in.assigned_hub = (char *)(ok ? hub
	        : old != NULL         ? old->assigned_hub
	                              : NULL);
	in.status = ok ? "assigned" : "failed";
	in.substatus = (char *)(ok ? substatus : NULL);
	in.enrollment_group_id = e->kind == RC_ENROLLMENT_GROUP ? e->id : NULL;
	in.error_code = op->error_code;
	in.error_message = ok ? NULL : op->error_message;
	snprintf(in.cert_sha256, sizeof(in.cert_sha256), "%s",
	    ok                ? thumb
	        : old != NULL ? old->cert_sha256
	                      : "");
	in.last_csr = pem != NULL ? pem : old != NULL ? old->last_csr : NULL;
	in.payload = op->payload;
	rc = rc_store_registration_put(p->store, &dps_ctx, &in, &op->rec);
	rc_free(pem);
	if (rc != RC_OK && ok)
		fail(op, E_STORE_FAILED,
		    "the registration could not be stored: %s",
		    rc_strerror(rc));
}

void
assign_run(struct dps_prov *p, struct op *op)
{
	const struct rc_enrollment *e = op->res.enrollment;
	struct rc_registration *old = NULL;
	struct rc_hublink *link = NULL, *from = NULL;
	struct rc_hublink_device dev;
	struct rc_hublink_status st;
	const char *device_id, *substatus = "initialAssignment";
	char thumb[65] = "";
	X509 *issued = NULL;
	int rc, created = 0;

	device_id = e->kind == RC_ENROLLMENT_INDIVIDUAL &&
	        e->device_id != NULL && e->device_id[0] != '\0'
	    ? e->device_id
	    : op->regid;
	rc = rc_store_registration_get(p->store, op->regid, &old);
	if (rc != RC_OK && rc != RC_ENOENT) {
		fail(op, E_STORE_FAILED,
		    "the registration could not be read: %s", rc_strerror(rc));
		goto out;
	}
	if (pick_hub(p, op, old, &link) != RC_OK)
		goto record;
	snprintf(thumb, sizeof(thumb), "%s", op->res.leaf_sha256);
	if (op->csr != NULL) {
		if (sign_csr(p, op, &issued) != RC_OK ||
		    rc_x509_thumbprint(issued, 1, thumb, sizeof(thumb)) !=
		        RC_OK)
			goto record;
	}
	if (old != NULL && old->assigned_hub != NULL &&
	    strcmp(old->status, "assigned") == 0 &&
	    strcasecmp(old->assigned_hub, rc_hublink_get0_host(link)) != 0)
		from = link_of(p, old->assigned_hub);
	if (rc_hublink_device_put(link, device_id, thumb, NULL, &dev, &created,
	        &st) != RC_OK) {
		hub_fail(op, &st, "identity");
		goto record;
	}
	if (from != NULL) {
		if (move_twin(op, from, old->device_id, link, device_id,
		        &substatus) != RC_OK)
			goto record;
	} else if (old != NULL && old->substatus != NULL &&
	    strcmp(old->status, "assigned") == 0) {
		substatus = old->substatus;
	}
	if (from == NULL && created &&
	    initial_twin(op, link, device_id) != RC_OK)
		goto record;
	if (issued != NULL && record_issued(p, op, issued) != RC_OK)
		goto record;
	rc_log_info("dps: %s: assigned to %s as %s (%s)", op->regid,
	    rc_hublink_get0_host(link), device_id, substatus);
record:
	write_record(p, op, old,
	    link != NULL ? rc_hublink_get0_host(link) : NULL, device_id,
	    substatus, thumb);
out:
	X509_free(issued);
	rc_registration_free(old);
}
