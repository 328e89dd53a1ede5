/*
 * What the agent reads from the network, and the small rules it applies
 * to it.
 *
 * Direct method payloads (reference/azure-device-wire.md §6.5): strict
 * JSON of at most RC_AGENT_METHOD_MAX bytes.  rollCertificate and
 * reprovision take null or an object; installCertificate takes an object
 * with "chain" (an array of 1 to RC_AGENT_CHAIN_MAX strings, each the
 * base64 DER of one certificate, leaf first) or "pem" (the chain as PEM
 * text).  A certificate that does not parse refuses the whole payload.
 *
 * DPS replies (§2.4, §4, §5): strict JSON of at most
 * RC_AGENT_DPS_REPLY_MAX bytes, an object.  With "status": "assigning"
 * needs operationId ([A-Za-z0-9.-], the way it travels back unencoded);
 * "assigned" needs registrationState.assignedHub and .deviceId (what the
 * C SDK needs) and reads issuedCertificateChain when present; "failed"
 * and any other status read registrationState.errorCode/errorMessage.
 * Without "status" it is an error body: errorCode and message.
 */
#include <string.h>

#include <openssl/rand.h>

#include "agent_int.h"
#include "rollcall/enc.h"
#include "rollcall/json.h"
#include "rollcall/mem.h"
#include "rollcall/x509.h"

static void
say(char *why, size_t whylen, const char *msg)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", msg);
}

/* Appends the certificate in base64 DER s to chain. */
static int
push_b64(STACK_OF(X509) *chain, const char *s)
{
	uint8_t *der = NULL;
	size_t len;
	X509 *x = NULL;
	int rc;

	if ((rc = rc_b64_decode(s, strlen(s), RC_X509_MAX_CERT, &der, &len)) !=
	    RC_OK)
		return rc == RC_ETOOBIG ? rc : RC_EPARSE;
	rc = rc_x509_parse(der, len, &x);
	rc_free(der);
	if (rc != RC_OK)
		return rc;
	if (!sk_X509_push(chain, x)) {
		X509_free(x);
		return RC_ENOMEM;
	}
	return RC_OK;
}

/* A JSON array of base64 DER certificates. */
static int
chain_from_array(json_t *arr, STACK_OF(X509) **out)
{
	STACK_OF(X509) *chain;
	size_t i;
	int rc = RC_OK;

	*out = NULL;
	if (json_array_size(arr) == 0)
		return RC_EPARSE;
	if (json_array_size(arr) > RC_AGENT_CHAIN_MAX)
		return RC_ETOOBIG;
	if ((chain = sk_X509_new_null()) == NULL)
		return RC_ENOMEM;
	for (i = 0; i < json_array_size(arr) && rc == RC_OK; i++) {
		if (!json_is_string(json_array_get(arr, i)))
			rc = RC_EPARSE;
		else
			rc = push_b64(chain,
			    json_string_value(json_array_get(arr, i)));
	}
	if (rc != RC_OK) {
		sk_X509_pop_free(chain, X509_free);
		return rc;
	}
	*out = chain;
	return RC_OK;
}

static int
install_payload(json_t *root, struct rc_agent_method_req *out, char *why,
    size_t whylen)
{
	const char *pem;
	json_t *arr;
	int rc;

	if (!json_is_object(root)) {
		say(why, whylen, "installCertificate needs an object");
		return RC_EPARSE;
	}
	if ((rc = rc_json_get_arr(root, "chain", 0, &arr)) != RC_OK ||
	    (rc = rc_json_get_str(root, "pem", 0, &pem)) != RC_OK) {
		say(why, whylen, "chain must be an array, pem a string");
		return RC_EPARSE;
	}
	if ((arr == NULL) == (pem == NULL)) {
		say(why, whylen, "give exactly one of chain and pem");
		return RC_EPARSE;
	}
	if (arr != NULL)
		rc = chain_from_array(arr, &out->chain);
	else
		rc = rc_x509_parse_chain(pem, strlen(pem), RC_AGENT_CHAIN_MAX,
		    &out->chain);
	if (rc != RC_OK)
		say(why, whylen,
		    "the chain holds something that is not a certificate");
	return rc == RC_ENOENT ? RC_EPARSE : rc;
}

static int
is_null(const char *p, size_t len)
{
	while (len > 0 &&
	    (p[len - 1] == ' ' || p[len - 1] == '\n' || p[len - 1] == '\r' ||
	        p[len - 1] == '\t'))
		len--;
	while (
	    len > 0 && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) {
		p++;
		len--;
	}
	return len == 0 || (len == 4 && memcmp(p, "null", 4) == 0);
}

static int
method_name(const char *name, enum rc_agent_method *m)
{
	if (strcmp(name, "rollCertificate") == 0)
		*m = RC_AGENT_M_ROLL;
	else if (strcmp(name, "reprovision") == 0)
		*m = RC_AGENT_M_REPROVISION;
	else if (strcmp(name, "installCertificate") == 0)
		*m = RC_AGENT_M_INSTALL;
	else
		return RC_ENOENT;
	return RC_OK;
}

int
rc_agent_method_parse(const char *name, const void *payload, size_t len,
    struct rc_agent_method_req *out, char *why, size_t whylen)
{
	json_t *root = NULL;
	int rc, keep;

	memset(out, 0, sizeof(*out));
	out->keep_key = -1;
	say(why, whylen, "");
	if ((rc = method_name(name, &out->method)) != RC_OK) {
		say(why, whylen, "no such method");
		return rc;
	}
	if (len > RC_AGENT_METHOD_MAX) {
		say(why, whylen, "payload too large");
		return RC_ETOOBIG;
	}
	/*
	 * An empty payload or a bare null is no payload (service clients
	 * differ, §6.5); rc_json_parse takes only objects and arrays.
	 */
	if (out->method != RC_AGENT_M_INSTALL && is_null(payload, len))
		return RC_OK;
	if ((rc = rc_json_parse(payload, len, RC_AGENT_METHOD_MAX, &root, NULL,
	         0)) != RC_OK) {
		say(why, whylen, "payload is not JSON");
		return rc == RC_ENOMEM ? rc : RC_EPARSE;
	}
	rc = RC_EPARSE;
	if (out->method == RC_AGENT_M_INSTALL) {
		rc = install_payload(root, out, why, whylen);
		goto out;
	}
	if (!json_is_null(root) && !json_is_object(root)) {
		say(why, whylen, "payload must be null or an object");
		goto out;
	}
	if (json_is_object(root) && out->method == RC_AGENT_M_ROLL) {
		if (rc_json_get_bool(root, "keepKey", 0, -1, &keep) != RC_OK) {
			say(why, whylen, "keepKey must be a boolean");
			goto out;
		}
		out->keep_key = keep;
	}
	rc = RC_OK;
out:
	json_decref(root);
	if (rc != RC_OK)
		rc_agent_method_clear(out);
	return rc;
}

void
rc_agent_method_clear(struct rc_agent_method_req *r)
{
	if (r->chain != NULL)
		sk_X509_pop_free(r->chain, X509_free);
	memset(r, 0, sizeof(*r));
	r->keep_key = -1;
}

/* A string member copied into out (size bytes) without control chars. */
static int
copy_str(json_t *o, const char *key, int required, char *out, size_t size)
{
	const char *s;
	size_t n, i;

	out[0] = '\0';
	if (rc_json_get_str(o, key, required, &s) != RC_OK)
		return RC_EPARSE;
	if (s == NULL)
		return RC_OK;
	if ((n = strlen(s)) >= size)
		return RC_EPARSE;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20)
			return RC_EPARSE;
	memcpy(out, s, n + 1);
	return RC_OK;
}

static int
opid_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		        (*s >= '0' && *s <= '9') || *s == '.' || *s == '-'))
			return 0;
	return 1;
}

static int
parse_assigned(json_t *rs, struct rc_agent_dps_reply *r)
{
	json_t *arr;

	if (rs == NULL ||
	    copy_str(rs, "assignedHub", 1, r->hub, sizeof(r->hub)) != RC_OK ||
	    copy_str(rs, "deviceId", 1, r->device_id, sizeof(r->device_id)) !=
	        RC_OK ||
	    r->hub[0] == '\0' || r->device_id[0] == '\0')
		return RC_EPARSE;
	if (rc_json_get_arr(rs, "issuedCertificateChain", 0, &arr) != RC_OK)
		return RC_EPARSE;
	return arr == NULL ? RC_OK : chain_from_array(arr, &r->chain);
}

static int
parse_error(json_t *o, struct rc_agent_dps_reply *r)
{
	r->status = RC_AGENT_DPS_FAILED;
	if (o == NULL)
		return RC_OK;
	if (rc_json_get_int(o, "errorCode", 0, 0, 999999999, &r->error_code) !=
	        RC_OK ||
	    copy_str(o, "message", 0, r->message, sizeof(r->message)) != RC_OK)
		return RC_EPARSE;
	if (r->message[0] == '\0' &&
	    copy_str(o, "errorMessage", 0, r->message, sizeof(r->message)) !=
	        RC_OK)
		return RC_EPARSE;
	return RC_OK;
}

static int
parse_reply(json_t *root, struct rc_agent_dps_reply *r)
{
	const char *status;
	json_t *rs;

	if (!json_is_object(root) ||
	    rc_json_get_str(root, "status", 0, &status) != RC_OK ||
	    rc_json_get_obj(root, "registrationState", 0, &rs) != RC_OK)
		return RC_EPARSE;
	if (status == NULL)
		return parse_error(root, r);
	if (strcmp(status, "assigning") == 0) {
		r->status = RC_AGENT_DPS_ASSIGNING;
		if (copy_str(root, "operationId", 1, r->operation_id,
		        sizeof(r->operation_id)) != RC_OK ||
		    r->operation_id[0] == '\0' || !opid_ok(r->operation_id))
			return RC_EPARSE;
		return RC_OK;
	}
	if (strcmp(status, "assigned") == 0) {
		r->status = RC_AGENT_DPS_ASSIGNED;
		return parse_assigned(rs, r);
	}
	if (parse_error(rs, r) != RC_OK)
		return RC_EPARSE;
	if (r->message[0] == '\0')
		snprintf(r->message, sizeof(r->message), "status %.64s",
		    status);
	return RC_OK;
}

int
rc_agent_dps_reply_parse(const void *body, size_t len,
    struct rc_agent_dps_reply *out)
{
	json_t *root = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = rc_json_parse(body, len, RC_AGENT_DPS_REPLY_MAX, &root, NULL,
	         0)) != RC_OK)
		return rc == RC_ENOMEM || rc == RC_ETOOBIG ? rc : RC_EPARSE;
	if ((rc = parse_reply(root, out)) != RC_OK)
		rc_agent_dps_reply_clear(out);
	json_decref(root);
	return rc;
}

void
rc_agent_dps_reply_clear(struct rc_agent_dps_reply *r)
{
	if (r->chain != NULL)
		sk_X509_pop_free(r->chain, X509_free);
	memset(r, 0, sizeof(*r));
}

void
rc_agent_backoff_init(struct rc_agent_backoff *b, long long min_ms,
    long long max_ms)
{
	b->min_ms = min_ms > 0 ? min_ms : 1;
	b->max_ms = max_ms >= b->min_ms ? max_ms : b->min_ms;
	b->attempt = 0;
}

long long
rc_agent_backoff_next(struct rc_agent_backoff *b)
{
	long long d = b->min_ms;
	unsigned i, r = 0;

	for (i = 0; i < b->attempt && d < b->max_ms; i++)
		d *= 2;
	if (d > b->max_ms)
		d = b->max_ms;
	if (b->attempt < 64)
		b->attempt++;
	/* jitter spreads a fleet that failed together (S5 after a roll) */
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = 0;
	return d / 2 + (long long)(r % (unsigned)(d / 2 + 1));
}

void
rc_agent_backoff_reset(struct rc_agent_backoff *b)
{
	b->attempt = 0;
}

int
rc_agent_renew_due(time_t not_before, time_t not_after, int threshold,
    time_t now)
{
	long long life = (long long)not_after - (long long)not_before;

	if (life <= 0 || now >= not_after)
		return 1;
	return (long long)(now - not_before) * 100 >= life * threshold;
}

int
rc_agent_check_chain(STACK_OF(X509) *chain, EVP_PKEY *key, const char *cn,
    STACK_OF(X509) *anchors, time_t now, char *why, size_t whylen)
{
	STACK_OF(X509) *untrusted = NULL;
	X509 *leaf;
	char *lcn = NULL;
	int rc, i;

	say(why, whylen, "");
	if (chain == NULL || sk_X509_num(chain) < 1) {
		say(why, whylen, "the chain is empty");
		return RC_EINVAL;
	}
	leaf = sk_X509_value(chain, 0);
	if (EVP_PKEY_eq(X509_get0_pubkey(leaf), key) != 1) {
		say(why, whylen, "the certificate is not for the device's key");
		return RC_EINVAL;
	}
	if (rc_x509_get1_cn(leaf, &lcn) != RC_OK || strcmp(lcn, cn) != 0) {
		say(why, whylen, "the certificate's CN is not the device's");
		rc = RC_EINVAL;
		goto out;
	}
	if ((untrusted = sk_X509_new_null()) == NULL) {
		rc = RC_ENOMEM;
		goto out;
	}
	for (i = 1; i < sk_X509_num(chain); i++)
		if (!sk_X509_push(untrusted, sk_X509_value(chain, i))) {
			rc = RC_ENOMEM;
			goto out;
		}
	rc = rc_x509_verify(leaf, untrusted, anchors, now, why, whylen);
out:
	sk_X509_free(untrusted);
	rc_free(lcn);
	return rc;
}
