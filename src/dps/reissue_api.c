/*
 * POST /registrations/{registrationId}/reissue (our own endpoint,
 * docs/api.md; seed rule S4b): signs the CSR retained with the
 * registration again, through the device CA's signer, records the new
 * certificate, and returns its chain for the caller to deliver (the
 * rollcall CLI pushes it to the device with installCertificate).  The
 * registration record and the hub identity are left alone: the device
 * registers with the new certificate, which updates both.
 *
 * Body: absent, or {"validitySeconds": N}.  The signer counts validity in
 * whole days, so N is rounded up to the next day (1 day at least); the
 * answer's notAfter is the real one.  Needs EnrollmentWrite.
 */
#include <string.h>

#include <openssl/x509.h>

#include "dps_impl.h"
#include "rollcall/ca.h"
#include "rollcall/csr.h"
#include "rollcall/enc.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"

#define DAY 86400

/* The days of an optional {"validitySeconds": N}; 0 when absent. */
static int
body_days(struct dps_req *r, int *days, struct dps_err *e)
{
	json_t *body = NULL, *v;
	json_int_t n;
	int rc;

	*days = 0;
	rc = dps_body_json(r, &body, e);
	if (rc == RC_ENOENT)
		return RC_OK;
	if (rc != RC_OK)
		return rc;
	v = json_object_get(body, "validitySeconds");
	n = json_is_integer(v) ? json_integer_value(v) : 0;
	if (v != NULL && (n < 1 || n > (json_int_t)RC_CA_DAYS_MAX * DAY))
		rc = dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_BODY,
		    "validitySeconds must be an integer from 1 to %lld",
		    (long long)RC_CA_DAYS_MAX * DAY);
	else if (v != NULL)
		*days = (int)((n + DAY - 1) / DAY);
	json_decref(body);
	return rc;
}

/* The retained CSR (PEM) as DER. */
static int
csr_der(const char *pem, uint8_t **der, size_t *len)
{
	X509_REQ *req = NULL;
	int rc;

	*der = NULL;
	*len = 0;
	if ((rc = rc_csr_parse(pem, strlen(pem), &req)) == RC_OK)
		rc = rc_csr_to_der(req, der, len);
	X509_REQ_free(req);
	return rc;
}

/* The signer's chain, signed for reg; errors answered here. */
static int
sign(struct dps_req *r, const struct rc_registration *reg, int days,
    STACK_OF(X509) **chain)
{
	uint8_t *der = NULL;
	size_t len;
	char why[256] = "";
	int rc;

	*chain = NULL;
	if ((rc = csr_der(reg->last_csr, &der, &len)) != RC_OK) {
		dps_reply_error(r, 409, DPS_E_CSR_REFUSED,
		    "the CSR retained with the registration cannot be read: %s",
		    rc_strerror(rc));
		return rc;
	}
	rc = r->dps->sign(r->dps->sign_arg, der, len, reg->registration_id,
	    days, chain, why, sizeof(why));
	rc_free(der);
	if (rc == RC_EINVAL)
		dps_reply_error(r, 409, DPS_E_CSR_REFUSED,
		    "the device CA refuses the retained CSR: %s", why);
	else if (rc != RC_OK)
		dps_reply_error(r, 503, DPS_E_NO_SIGNER,
		    "the device CA could not sign: %s",
		    why[0] != '\0' ? why : rc_strerror(rc));
	else if (sk_X509_num(*chain) < 1) {
		dps_reply_error(r, 500, DPS_E_INTERNAL,
		    "the device CA answered an empty chain");
		rc = RC_EPARSE;
	}
	return rc;
}

static int
chain_json(STACK_OF(X509) *chain, json_t **out)
{
	unsigned char *der = NULL, *p;
	char *b64;
	json_t *arr;
	int i, n, rc = RC_OK;

	if ((*out = arr = json_array()) == NULL)
		return RC_ENOMEM;
	for (i = 0; i < sk_X509_num(chain) && rc == RC_OK; i++) {
		rc = RC_ECRYPTO;
		if ((n = i2d_X509(sk_X509_value(chain, i), NULL)) <= 0 ||
		    (der = rc_malloc((size_t)n)) == NULL)
			break;
		p = der;
		if (i2d_X509(sk_X509_value(chain, i), &p) == n &&
		    (rc = rc_b64_encode(der, (size_t)n, &b64)) == RC_OK) {
			if (json_array_append_new(arr, json_string(b64)) != 0)
				rc = RC_ENOMEM;
			rc_free(b64);
		}
		rc_free(der);
		der = NULL;
	}
	if (rc != RC_OK) {
		json_decref(arr);
		*out = NULL;
	}
	return rc;
}

static json_t *
answer(const struct rc_registration *reg, const struct rc_issued_cert *ic,
    json_t *chain)
{
	return json_pack("{s:s, s:s?, s:s?, s:O, s:s, s:s, s:o}",
	    "registrationId", reg->registration_id, "deviceId", reg->device_id,
	    "assignedHub", reg->assigned_hub, "issuedCertificateChain", chain,
	    "sha256", ic->sha256, "serialNumber", ic->serial, "notAfter",
	    dps_time_json(ic->not_after));
}

/* Records the new leaf and answers. */
static void
finish(struct dps_req *r, const struct rc_registration *reg,
    STACK_OF(X509) *chain)
{
	struct rc_issued_cert *ic = NULL;
	struct rc_store_ctx ctx;
	json_t *arr = NULL, *j = NULL;
	int rc;

	dps_store_ctx(r, NULL, &ctx);
	if ((rc = rc_issued_cert_from_x509(sk_X509_value(chain, 0),
	         reg->registration_id, &ic)) != RC_OK ||
	    (rc = rc_store_issued_put(r->dps->store, &ctx, ic, NULL)) !=
	        RC_OK) {
		dps_reply_error(r, 500, DPS_E_INTERNAL,
		    "the issued certificate could not be recorded: %s",
		    rc_strerror(rc));
		goto out;
	}
	if (chain_json(chain, &arr) != RC_OK ||
	    (j = answer(reg, ic, arr)) == NULL) {
		dps_reply_error(r, 500, DPS_E_INTERNAL, "out of memory");
		goto out;
	}
	rc_log_info("dps: %s reissued %s a certificate, serial %s", ctx.who,
	    reg->registration_id, ic->serial);
	dps_reply_json(r, 200, j);
out:
	json_decref(j);
	json_decref(arr);
	rc_issued_cert_free(ic);
}

void
dps_registration_reissue(struct dps_req *r, const char *id)
{
	struct rc_registration *reg = NULL;
	STACK_OF(X509) *chain = NULL;
	struct dps_err e;
	int rc, days;

	if (r->http->method != RC_HTTP_POST) {
		dps_reply_method(r, "POST");
		return;
	}
	if (!dps_need(r, RC_RIGHT_ENROLLMENT_WRITE))
		return;
	if (body_days(r, &days, &e) != RC_OK) {
		dps_reply_err(r, &e);
		return;
	}
	if ((rc = rc_store_registration_get(r->dps->store, id, &reg)) !=
	    RC_OK) {
		dps_err_store(&e, rc, "registration state", id,
		    DPS_E_NO_REGISTRATION);
		dps_reply_err(r, &e);
		return;
	}
	if (reg->last_csr == NULL || reg->last_csr[0] == '\0')
		dps_reply_error(r, 409, DPS_E_NO_CSR,
		    "registration '%s' has no retained CSR", id);
	else if (r->dps->sign == NULL)
		dps_reply_error(r, 503, DPS_E_NO_SIGNER,
		    "no device CA is configured to sign with");
	else if (sign(r, reg, days, &chain) == RC_OK)
		finish(r, reg, chain);
	if (chain != NULL)
		sk_X509_pop_free(chain, X509_free);
	rc_registration_free(reg);
}
