/*
 * The authentication decision at CONNECT (auth.h) and the hub's set of
 * verified CA certificates.  Rules, in the order they are applied (seed
 * rules S5, S9; azure-service-api.md §4.6):
 *  1. a client ID and a client certificate are required;
 *  2. the device must be known and enabled;
 *  3. the leaf must be inside its validity period at now, whatever the
 *     device's auth type;
 *  4. selfSigned: the leaf's SHA-1 or SHA-256 thumbprint (IoT Hub computes
 *     both) equals the primary or the secondary;
 *     certificateAuthority: the leaf's CN is the device ID, exactly, and
 *     the leaf with the presented intermediates verifies to a verified CA
 *     of the hub (no CRL: IoT Hub revokes by disabling the device);
 *     anything else (none): refused.
 * The credentials come from the cache under its read lock and are checked
 * on a copy, so no lock is held during the signature checks.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "hub/auth_int.h"
#include "rollcall/enc.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"
#include "rollcall/x509.h"

struct hub_ca_set {
	STACK_OF(X509) *certs;
};

int
hub_ca_set_new(struct hub_ca_set **out)
{
	struct hub_ca_set *set;

	*out = NULL;
	if ((set = rc_calloc(1, sizeof(*set))) == NULL)
		return RC_ENOMEM;
	if ((set->certs = sk_X509_new_null()) == NULL) {
		rc_free(set);
		return RC_ENOMEM;
	}
	*out = set;
	return RC_OK;
}

int
hub_ca_set_add1(struct hub_ca_set *set, X509 *x)
{
	if (x == NULL)
		return RC_EINVAL;
	if (!X509_up_ref(x))
		return RC_ECRYPTO;
	if (sk_X509_push(set->certs, x) <= 0) {
		X509_free(x);
		return RC_ENOMEM;
	}
	return RC_OK;
}

size_t
hub_ca_set_count(const struct hub_ca_set *set)
{
	int n;

	if (set == NULL)
		return 0;
	n = sk_X509_num(set->certs);
	return n > 0 ? (size_t)n : 0;
}

void
hub_ca_set_free(struct hub_ca_set *set)
{
	if (set == NULL)
		return;
	sk_X509_pop_free(set->certs, X509_free);
	rc_free(set);
}

/* Adds the stored certificate if it is verified. */
static int
add_verified(struct hub_ca_set *set, const struct rc_ca_cert *ca)
{
	X509 *x;
	int rc;

	if (!ca->verified || ca->cert == NULL)
		return RC_OK;
	if ((rc = rc_x509_parse(ca->cert->der, ca->cert->der_len, &x)) != RC_OK)
		return rc == RC_ENOMEM ? rc : RC_EPARSE;
	rc = hub_ca_set_add1(set, x);
	X509_free(x);
	return rc;
}

int
hub_ca_set_load(struct rc_store *s, struct hub_ca_set **out)
{
	struct hub_ca_set *set = NULL;
	struct rc_ca_cert **v = NULL;
	size_t n = 0, i;
	int rc;

	*out = NULL;
	if ((rc = rc_store_ca_cert_list(s, &v, &n)) != RC_OK ||
	    (rc = hub_ca_set_new(&set)) != RC_OK)
		goto out;
	for (i = 0; i < n && rc == RC_OK; i++)
		rc = add_verified(set, v[i]);
	if (rc == RC_OK) {
		*out = set;
		set = NULL;
	}
out:
	hub_ca_set_free(set);
	rc_ca_cert_list_free(v, n);
	return rc;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A thumbprint slot ("", 40 or 64 hex digits) as digest bytes. */
static int
thumb_bytes(const char *hex, unsigned char out[HUB_AUTH_SHA256_LEN],
    unsigned char *len)
{
	size_t n = strlen(hex), i;
	int hi, lo;

	*len = 0;
	if (n != 0 && n != 2 * HUB_AUTH_SHA1_LEN &&
	    n != 2 * HUB_AUTH_SHA256_LEN)
		return RC_EINVAL;
	for (i = 0; i < n / 2; i++) {
		if ((hi = hexval(hex[2 * i])) < 0 ||
		    (lo = hexval(hex[2 * i + 1])) < 0)
			return RC_EINVAL;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	*len = (unsigned char)(n / 2);
	return RC_OK;
}

int
hub_auth_cred_fill(const struct rc_hub_device *d, struct hub_auth_cred *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	out->auth = d->auth;
	out->enabled = d->enabled != 0;
	if ((rc = thumb_bytes(d->primary_thumb, out->thumb[0],
	         &out->thumb_len[0])) != RC_OK ||
	    (rc = thumb_bytes(d->secondary_thumb, out->thumb[1],
	         &out->thumb_len[1])) != RC_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

static int deny(char *why, size_t whylen, const char *fmt, ...) RC_FMT(3, 4);

/* RC_EAUTH, with the reason in why. */
static int
deny(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return RC_EAUTH;
}

/*
 * The reason goes to the log and may quote the peer's certificate (its
 * CN, the verifier's names): control characters become '?'.
 */
static void
sanitize(char *why, size_t whylen)
{
	unsigned char *p = (unsigned char *)why;

	if (why == NULL || whylen == 0)
		return;
	for (; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
}

/* Rule 3: notBefore <= now <= notAfter (RFC 5280 §4.1.2.5). */
static int
check_validity(X509 *leaf, time_t now, char *why, size_t whylen)
{
	int c;

	c = ASN1_TIME_cmp_time_t(X509_get0_notAfter(leaf), now);
	if (c == -2)
		return deny(why, whylen, "%s", "unreadable notAfter");
	if (c < 0)
		return deny(why, whylen, "%s", "certificate expired");
	c = ASN1_TIME_cmp_time_t(X509_get0_notBefore(leaf), now);
	if (c == -2)
		return deny(why, whylen, "%s", "unreadable notBefore");
	if (c > 0)
		return deny(why, whylen, "%s", "certificate not yet valid");
	return RC_OK;
}

/* Whether the digest d (len bytes) is in one of the slots. */
static int
thumb_match(const struct hub_auth_cred *cr, const unsigned char *d,
    unsigned len)
{
	int i, hit = 0;

	for (i = 0; i < 2; i++) {
		if (cr->thumb_len[i] == len &&
		    CRYPTO_memcmp(cr->thumb[i], d, len) == 0)
			hit = 1;
	}
	return hit;
}

/* The refusal text of a thumbprint mismatch, in IoT Hub's terms. */
static void
thumb_why(const struct hub_auth_cred *cr, const unsigned char *s1,
    const unsigned char *s2, char *why, size_t whylen)
{
	char h1[41], h2[65], p[65] = "", s[65] = "";

	if (why == NULL || whylen == 0)
		return;
	if (rc_hex_upper(s1, HUB_AUTH_SHA1_LEN, h1, sizeof(h1)) != RC_OK ||
	    rc_hex_upper(s2, HUB_AUTH_SHA256_LEN, h2, sizeof(h2)) != RC_OK ||
	    rc_hex_upper(cr->thumb[0], cr->thumb_len[0], p, sizeof(p)) !=
	        RC_OK ||
	    rc_hex_upper(cr->thumb[1], cr->thumb_len[1], s, sizeof(s)) !=
	        RC_OK) {
		snprintf(why, whylen, "thumbprint does not match");
		return;
	}
	snprintf(why, whylen,
	    "thumbprint does not match: SHA1Hash=%s, SHA2Hash=%s; "
	    "PrimaryThumbprint=%s, SecondaryThumbprint=%s",
	    h1, h2, p[0] != '\0' ? p : "(none)", s[0] != '\0' ? s : "(none)");
}

/* Rule 4, selfSigned. */
static int
check_thumbs(const struct hub_auth_cred *cr, X509 *leaf, char *why,
    size_t whylen)
{
	unsigned char s1[EVP_MAX_MD_SIZE], s2[EVP_MAX_MD_SIZE];
	unsigned l1 = 0, l2 = 0;

	if (cr->thumb_len[0] == 0 && cr->thumb_len[1] == 0)
		return deny(why, whylen, "%s", "device has no thumbprint");
	if (!X509_digest(leaf, EVP_sha1(), s1, &l1) ||
	    !X509_digest(leaf, EVP_sha256(), s2, &l2) ||
	    l1 != HUB_AUTH_SHA1_LEN || l2 != HUB_AUTH_SHA256_LEN)
		return RC_ECRYPTO;
	if (thumb_match(cr, s1, l1) || thumb_match(cr, s2, l2))
		return RC_OK;
	thumb_why(cr, s1, s2, why, whylen);
	return RC_EAUTH;
}

/* Rule 4, certificateAuthority. */
static int
check_ca(const char *id, X509 *leaf, STACK_OF(X509) *chain,
    const struct hub_ca_set *cas, time_t now, char *why, size_t whylen)
{
	char vwhy[256], msg[512];
	char *cn = NULL;
	int rc;

	if ((rc = rc_x509_get1_cn(leaf, &cn)) != RC_OK) {
		if (rc == RC_ENOMEM)
			return rc;
		return deny(why, whylen, "certificate has no usable CN: %s",
		    rc_strerror(rc));
	}
	rc = strcmp(cn, id) == 0
	    ? RC_OK
	    : deny(why, whylen, "certificate CN \"%s\" is not the device ID",
	          cn);
	rc_free(cn);
	if (rc != RC_OK)
		return rc;
	if (hub_ca_set_count(cas) == 0)
		return deny(why, whylen, "%s",
		    "the hub has no verified CA certificate");
	rc = rc_x509_verify(leaf, chain, cas->certs, now, vwhy, sizeof(vwhy));
	if (rc == RC_OK || rc == RC_ENOMEM)
		return rc;
	snprintf(msg, sizeof(msg), "chain does not verify to a verified CA: %s",
	    vwhy[0] != '\0' ? vwhy : rc_strerror(rc));
	return deny(why, whylen, "%s", msg);
}

int
hub_auth_check(struct hub_auth_cache *c, const char *client_id, X509 *leaf,
    STACK_OF(X509) *chain, const struct hub_ca_set *cas, time_t now,
    uint64_t *generation, char *why, size_t whylen)
{
	struct hub_auth_cred cr;
	int rc;

	*generation = 0;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (client_id == NULL || client_id[0] == '\0')
		return deny(why, whylen, "%s", "no client ID");
	if (leaf == NULL)
		return deny(why, whylen, "%s", "no client certificate");
	if (!hub_auth_cache_lookup(c, client_id, &cr))
		return deny(why, whylen, "%s", "unknown device");
	if (!cr.enabled)
		return deny(why, whylen, "%s", "device disabled");
	if ((rc = check_validity(leaf, now, why, whylen)) != RC_OK)
		return rc;
	switch (cr.auth) {
	case RC_HUB_AUTH_SELF_SIGNED:
		rc = check_thumbs(&cr, leaf, why, whylen);
		break;
	case RC_HUB_AUTH_CA:
		rc = check_ca(client_id, leaf, chain, cas, now, why, whylen);
		break;
	default:
		rc = deny(why, whylen, "%s", "device has no X.509 credentials");
		break;
	}
	if (rc == RC_OK)
		*generation = cr.generation;
	sanitize(why, whylen);
	return rc;
}
