/*
 * Verified CA certificates (our own endpoints, shaped like Azure's ARM
 * plane, reference/azure-service-api.md §2.7; docs/api.md):
 *
 *	GET		/certificates
 *	PUT|GET|DELETE	/certificates/{name}
 *	POST		/certificates/{name}/generateVerificationCode
 *	POST		/certificates/{name}/verify
 *
 * Proof of possession: the operator asks for a random code, makes a
 * certificate whose subject CN is that code, signs it with the CA's
 * private key and posts it to verify.  It is accepted when the CN equals
 * the code, its signature verifies with the CA certificate's public key,
 * it names the CA as issuer and it is valid now; the CA certificate is
 * then marked verified and the code is spent.  Only a verified CA
 * certificate can be named by a group's caReferences (seed rule S13 via
 * §3.6).  Uploading a different certificate under a name resets its
 * verification; uploading the same one again changes nothing about it.
 *
 * Writes need ServiceConfig; reads accept ServiceConfig or EnrollmentRead
 * (whoever builds groups needs to see which CA names exist).
 */
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "dps_impl.h"
#include "rollcall/enc.h"
#include "rollcall/mem.h"
#include "rollcall/x509.h"

#define CODE_BYTES 16

static int
cert_pem(const struct rc_store_cert *c, char **pem)
{
	const unsigned char *p = c->der;
	X509 *x;
	int rc;

	*pem = NULL;
	if ((x = d2i_X509(NULL, &p, (long)c->der_len)) == NULL)
		return RC_EPARSE;
	rc = rc_x509_to_pem(x, pem, NULL);
	X509_free(x);
	return rc;
}

static int
props_json(const struct rc_ca_cert *ca, json_t **out)
{
	const struct rc_store_cert *c = ca->cert;
	json_t *p = NULL, *info = NULL;
	char *pem = NULL;
	int rc = RC_ENOMEM;

	*out = NULL;
	if (cert_pem(c, &pem) != RC_OK || dps_cert_info_json(c, &info) != RC_OK)
		goto out;
	p = json_pack("{s:s, s:s, s:o, s:b, s:o, s:o, s:s, s:O}", "subject",
	    c->subject != NULL ? c->subject : "", "thumbprint", c->sha1,
	    "expiry", dps_time_json(c->not_after), "isVerified", ca->verified,
	    "created", dps_time_json(ca->created), "updated",
	    dps_time_json(ca->updated), "certificate", pem, "info", info);
	if (p == NULL)
		goto out;
	if (ca->verification_code != NULL &&
	    json_object_set_new(p, "verificationCode",
	        json_string(ca->verification_code)) != 0)
		goto out;
	*out = p;
	p = NULL;
	rc = RC_OK;
out:
	json_decref(p);
	json_decref(info);
	rc_free(pem);
	return rc;
}

static int
cacert_json(const struct rc_ca_cert *ca, json_t **out)
{
	json_t *props;

	*out = NULL;
	if (props_json(ca, &props) != RC_OK)
		return RC_ENOMEM;
	*out = json_pack("{s:s, s:s, s:o}", "name", ca->name, "etag", ca->etag,
	    "properties", props);
	return *out != NULL ? RC_OK : RC_ENOMEM;
}

static void
reply_cacert(struct dps_req *r, const struct rc_ca_cert *ca)
{
	json_t *j = NULL;

	if (cacert_json(ca, &j) != RC_OK) {
		dps_reply_error(r, 500, DPS_E_INTERNAL,
		    "the response could not be built");
		return;
	}
	dps_reply_etag(r, j, ca->etag);
	json_decref(j);
}

/* The certificate field of a PUT or verify body. */
static int
body_cert(struct dps_req *r, struct rc_store_cert **cert, X509 **x,
    struct dps_err *e)
{
	json_t *body = NULL, *v;
	char why[256];
	int rc;

	rc = dps_body_json(r, &body, e);
	if (rc == RC_ENOENT)
		return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_BODY,
		    "the body must be {\"certificate\": \"<PEM or base64>\"}");
	if (rc != RC_OK)
		return rc;
	v = json_object_get(body, "certificate");
	if (!json_is_string(v)) {
		rc = dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_BODY,
		    "certificate is required and must be a string");
		goto out;
	}
	rc = dps_cert_parse(json_string_value(v), json_string_length(v), cert,
	    x, why, sizeof(why));
	if (rc == RC_ENOMEM)
		dps_err_set(e, rc, 500, DPS_E_INTERNAL, "out of memory");
	else if (rc != RC_OK)
		dps_err_set(e, rc, 400, DPS_E_BAD_CERT, "certificate: %s", why);
out:
	json_decref(body);
	return rc;
}

static int
ca_get(struct dps_req *r, const char *name, struct rc_ca_cert **ca,
    struct dps_err *e)
{
	int rc;

	if ((rc = rc_store_ca_cert_get(r->dps->store, name, ca)) != RC_OK)
		return dps_err_store(e, rc, "CA certificate", name,
		    DPS_E_NO_CA_CERT);
	return RC_OK;
}

static int
ca_put(struct dps_req *r, const struct rc_ca_cert *in, const char *if_match,
    struct rc_ca_cert **out, struct dps_err *e)
{
	struct rc_store_ctx ctx;
	int rc;

	dps_store_ctx(r, if_match, &ctx);
	if ((rc = rc_store_ca_cert_put(r->dps->store, &ctx, in, out)) != RC_OK)
		return dps_err_store(e, rc, "CA certificate", in->name,
		    DPS_E_NO_CA_CERT);
	return RC_OK;
}

static void
do_put(struct dps_req *r, const char *name)
{
	struct rc_ca_cert in, *old = NULL, *out = NULL;
	struct dps_err e;
	char im[256];
	X509 *x = NULL;
	int rc;

	memset(&in, 0, sizeof(in));
	if ((rc = body_cert(r, &in.cert, &x, &e)) != RC_OK)
		goto out;
	if (X509_check_ca(x) != 1) {
		rc = dps_err_set(&e, RC_ENOTCA, 400, DPS_E_BAD_CERT,
		    "certificate is not a CA certificate (basicConstraints "
		    "CA:TRUE with keyCertSign)");
		goto out;
	}
	rc = rc_store_ca_cert_get(r->dps->store, name, &old);
	if (rc != RC_OK && rc != RC_ENOENT) {
		dps_err_store(&e, rc, "CA certificate", name, DPS_E_NO_CA_CERT);
		goto out;
	}
	in.name = (char *)name;
	/* The same certificate again keeps its proof of possession. */
	if (old != NULL &&
	    rc_x509_thumbprint_eq(old->cert->sha256, in.cert->sha256)) {
		in.verified = old->verified;
		in.verification_code = old->verification_code;
	}
	rc = ca_put(r, &in, dps_if_match(r, im, sizeof(im)), &out, &e);
out:
	if (rc == RC_OK)
		reply_cacert(r, out);
	else
		dps_reply_err(r, &e);
	rc_store_cert_free(in.cert);
	rc_ca_cert_free(old);
	rc_ca_cert_free(out);
	X509_free(x);
}

static void
do_get(struct dps_req *r, const char *name)
{
	struct rc_ca_cert *ca = NULL;
	struct dps_err e;

	if (ca_get(r, name, &ca, &e) != RC_OK) {
		dps_reply_err(r, &e);
		return;
	}
	reply_cacert(r, ca);
	rc_ca_cert_free(ca);
}

static void
do_list(struct dps_req *r)
{
	struct rc_ca_cert **list = NULL;
	struct dps_err e;
	json_t *arr = NULL, *j, *res = NULL;
	size_t n = 0, i;
	int rc;

	if ((rc = rc_store_ca_cert_list(r->dps->store, &list, &n)) != RC_OK) {
		dps_err_store(&e, rc, "CA certificate", "*", DPS_E_NO_CA_CERT);
		dps_reply_err(r, &e);
		return;
	}
	if ((arr = json_array()) == NULL)
		goto fail;
	for (i = 0; i < n; i++)
		if (cacert_json(list[i], &j) != RC_OK ||
		    json_array_append_new(arr, j) != 0)
			goto fail;
	/* ARM's list shape. */
	if ((res = json_pack("{s:O}", "value", arr)) == NULL)
		goto fail;
	dps_reply_json(r, 200, res);
	json_decref(res);
	json_decref(arr);
	rc_ca_cert_list_free(list, n);
	return;
fail:
	json_decref(arr);
	rc_ca_cert_list_free(list, n);
	dps_reply_error(r, 500, DPS_E_INTERNAL, "out of memory");
}

static void
do_delete(struct dps_req *r, const char *name)
{
	struct rc_enrollment **groups = NULL;
	struct rc_store_ctx ctx;
	struct dps_err e;
	size_t n = 0;
	char im[256];
	int rc;

	rc = rc_store_group_find_ca_ref(r->dps->store, name, &groups, &n);
	if (rc != RC_OK)
		dps_err_store(&e, rc, "CA certificate", name, DPS_E_NO_CA_CERT);
	else if (n > 0)
		rc = dps_err_set(&e, RC_EEXIST, 409, DPS_E_CA_IN_USE,
		    "CA certificate '%s' is referenced by enrollment group "
		    "'%s'%s: change the group first",
		    name, groups[0]->id, n > 1 ? " and others" : "");
	rc_enrollment_list_free(groups, n);
	if (rc != RC_OK) {
		dps_reply_err(r, &e);
		return;
	}
	dps_store_ctx(r, dps_if_match(r, im, sizeof(im)), &ctx);
	rc = rc_store_ca_cert_delete(r->dps->store, &ctx, name);
	if (rc != RC_OK) {
		dps_err_store(&e, rc, "CA certificate", name, DPS_E_NO_CA_CERT);
		dps_reply_err(r, &e);
		return;
	}
	dps_reply_status(r, 204);
}

static void
do_code(struct dps_req *r, const char *name)
{
	struct rc_ca_cert *ca = NULL, *out = NULL;
	unsigned char raw[CODE_BYTES];
	char code[2 * CODE_BYTES + 1], im[256];
	struct dps_err e;
	int rc;

	if ((rc = ca_get(r, name, &ca, &e)) != RC_OK)
		goto out;
	if (RAND_bytes(raw, sizeof(raw)) != 1 ||
	    rc_hex_upper(raw, sizeof(raw), code, sizeof(code)) != RC_OK) {
		rc = dps_err_set(&e, RC_ECRYPTO, 500, DPS_E_INTERNAL,
		    "no random bytes for a verification code");
		goto out;
	}
	rc_free(ca->verification_code);
	if ((ca->verification_code = rc_strdup(code)) == NULL) {
		rc = dps_err_set(&e, RC_ENOMEM, 500, DPS_E_INTERNAL,
		    "out of memory");
		goto out;
	}
	/* A new code does not undo an earlier proof. */
	rc = ca_put(r, ca, dps_if_match(r, im, sizeof(im)), &out, &e);
out:
	if (rc == RC_OK)
		reply_cacert(r, out);
	else
		dps_reply_err(r, &e);
	rc_ca_cert_free(ca);
	rc_ca_cert_free(out);
}

/* The proof-of-possession checks, in the order a human would debug them. */
static int
pop_check(const struct rc_ca_cert *ca, X509 *pop, struct dps_err *e)
{
	const unsigned char *p = ca->cert->der;
	EVP_PKEY *pk;
	X509 *cax = NULL;
	char *cn = NULL;
	int rc;

	if ((cax = d2i_X509(NULL, &p, (long)ca->cert->der_len)) == NULL ||
	    (pk = X509_get0_pubkey(cax)) == NULL) {
		rc = dps_err_set(e, RC_EPARSE, 500, DPS_E_INTERNAL,
		    "the stored CA certificate '%s' cannot be read", ca->name);
		goto out;
	}
	rc = rc_x509_get1_cn(pop, &cn);
	if (rc != RC_OK || strcasecmp(cn, ca->verification_code) != 0) {
		rc = dps_err_set(e, RC_EAUTH, 400, DPS_E_POP,
		    "the certificate's subject CN is not the verification "
		    "code of '%s'",
		    ca->name);
		goto out;
	}
	if (X509_verify(pop, pk) != 1 ||
	    X509_NAME_cmp(X509_get_issuer_name(pop),
	        X509_get_subject_name(cax)) != 0) {
		rc = dps_err_set(e, RC_EBADSIG, 400, DPS_E_POP,
		    "the certificate is not signed by the key of CA "
		    "certificate '%s'",
		    ca->name);
		goto out;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(pop)) >= 0 ||
	    X509_cmp_current_time(X509_get0_notAfter(pop)) <= 0) {
		rc = dps_err_set(e, RC_EEXPIRED, 400, DPS_E_POP,
		    "the certificate is not valid now (notBefore/notAfter)");
		goto out;
	}
	rc = RC_OK;
out:
	ERR_clear_error();
	rc_free(cn);
	X509_free(cax);
	return rc;
}

static void
do_verify(struct dps_req *r, const char *name)
{
	struct rc_ca_cert *ca = NULL, *out = NULL;
	struct rc_store_cert *popc = NULL;
	struct dps_err e;
	char im[256];
	X509 *pop = NULL;
	int rc;

	if ((rc = ca_get(r, name, &ca, &e)) != RC_OK)
		goto out;
	if (ca->verification_code == NULL) {
		rc = dps_err_set(&e, RC_EINVAL, 400, DPS_E_POP,
		    "CA certificate '%s' has no verification code: POST "
		    "/certificates/%s/generateVerificationCode first",
		    name, name);
		goto out;
	}
	if ((rc = body_cert(r, &popc, &pop, &e)) != RC_OK ||
	    (rc = pop_check(ca, pop, &e)) != RC_OK)
		goto out;
	ca->verified = 1;
	rc_free(ca->verification_code);
	ca->verification_code = NULL;
	rc = ca_put(r, ca, dps_if_match(r, im, sizeof(im)), &out, &e);
out:
	if (rc == RC_OK)
		reply_cacert(r, out);
	else
		dps_reply_err(r, &e);
	rc_ca_cert_free(ca);
	rc_ca_cert_free(out);
	rc_store_cert_free(popc);
	X509_free(pop);
}

static void
one(struct dps_req *r, const char *name)
{
	switch (r->http->method) {
	case RC_HTTP_GET:
		if (dps_need(r,
		        RC_RIGHT_SERVICE_CONFIG | RC_RIGHT_ENROLLMENT_READ))
			do_get(r, name);
		break;
	case RC_HTTP_PUT:
		if (dps_need(r, RC_RIGHT_SERVICE_CONFIG))
			do_put(r, name);
		break;
	case RC_HTTP_DELETE:
		if (dps_need(r, RC_RIGHT_SERVICE_CONFIG))
			do_delete(r, name);
		break;
	default:
		dps_reply_method(r, "GET, PUT, DELETE");
		break;
	}
}

void
dps_cacerts(struct dps_req *r)
{
	const char *name;

	if (r->nsegs == 1) {
		if (r->http->method != RC_HTTP_GET)
			dps_reply_method(r, "GET");
		else if (dps_need(r,
		             RC_RIGHT_SERVICE_CONFIG |
		                 RC_RIGHT_ENROLLMENT_READ))
			do_list(r);
		return;
	}
	if (r->nsegs > 3) {
		dps_reply_error(r, 404, DPS_E_NOT_FOUND, "no such path");
		return;
	}
	name = r->segs[1];
	if (!dps_ca_name_valid(name)) {
		dps_reply_error(r, 400, DPS_E_BAD_ID,
		    "'%.64s' is not a valid CA certificate name: 1 to %d "
		    "letters, digits, '.', '_' or '-'",
		    name, DPS_CA_NAME_MAX);
		return;
	}
	if (r->nsegs == 2) {
		one(r, name);
		return;
	}
	if (strcasecmp(r->segs[2], "generateVerificationCode") != 0 &&
	    strcasecmp(r->segs[2], "verify") != 0) {
		dps_reply_error(r, 404, DPS_E_NOT_FOUND, "no such path");
		return;
	}
	if (r->http->method != RC_HTTP_POST) {
		dps_reply_method(r, "POST");
		return;
	}
	if (!dps_need(r, RC_RIGHT_SERVICE_CONFIG))
		return;
	if (strcasecmp(r->segs[2], "verify") == 0)
		do_verify(r, name);
	else
		do_code(r, name);
}
