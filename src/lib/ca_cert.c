/*
 * The certificate builder behind everything the CA issues.  ca.h states the
 * rules it applies: X.509 v3, random positive serial, notBefore back-dated
 * by RC_CA_BACKDATE (a tenth of a shorter lifetime), notAfter clamped to the issuer's, SHA-256 signature,
 * extensions chosen by a profile.
 */
#include <stdio.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/rand.h>

#include "ca_int.h"
#include "rollcall/key.h"

int
rc_ca_check_days(int days)
{
	return days >= 1 && days <= RC_CA_DAYS_MAX ? RC_OK : RC_EINVAL;
}

int
rc_ca_check_secs(long secs)
{
	return secs >= RC_CA_SECS_MIN && secs <= RC_CA_DAYS_MAX * 86400L
	    ? RC_OK
	    : RC_EINVAL;
}

int
rc_ca_check_issuer(const struct rc_ca *ca)
{
	if (ca == NULL || ca->cert == NULL || ca->key == NULL)
		return RC_EINVAL;
	/* RFC 5280 section 4.2.1.9: only CA:TRUE may sign certificates */
	if ((X509_get_extension_flags(ca->cert) & EXFLAG_CA) == 0)
		return RC_ENOTCA;
	/* no keyUsage at all reads as all bits set */
	if ((X509_get_key_usage(ca->cert) & KU_KEY_CERT_SIGN) == 0)
		return RC_ENOTCA;
	if (X509_cmp_time(X509_get0_notAfter(ca->cert), NULL) <= 0)
		return RC_EEXPIRED;
	return RC_OK;
}

/*
 * 127 random bits with the top bit clear: positive and at most 16 octets
 * (RFC 5280 section 4.1.2.2 allows 20), never zero.
 */
static int
set_serial(X509 *x)
{
	unsigned char b[16];
	ASN1_INTEGER *ai = NULL;
	BIGNUM *bn = NULL;
	int rc = RC_ECRYPTO;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return RC_ECRYPTO;
	b[0] &= 0x7f;
	if ((bn = BN_bin2bn(b, sizeof(b), NULL)) == NULL)
		goto out;
	if (BN_is_zero(bn) && !BN_one(bn))
		goto out;
	if ((ai = BN_to_ASN1_INTEGER(bn, NULL)) == NULL)
		goto out;
	if (X509_set_serialNumber(x, ai))
		rc = RC_OK;
out:
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return rc;
}

static int
set_validity(X509 *x, X509 *issuer, long secs)
{
	const ASN1_TIME *limit;
	time_t now = time(NULL);

	/*
	 * Back-dating covers clock skew; a short-lived certificate keeps
	 * at least nine tenths of its lifetime ahead of it.
	 */
	if (X509_time_adj_ex(X509_getm_notBefore(x), 0,
	        -(secs / 10 < RC_CA_BACKDATE ? secs / 10 : RC_CA_BACKDATE),
	        &now) == NULL)
		return RC_ECRYPTO;
	if (X509_time_adj_ex(X509_getm_notAfter(x), (int)(secs / 86400),
	        secs % 86400, &now) == NULL)
		return RC_ECRYPTO;
	if (issuer == NULL)
		return RC_OK;
	/* A certificate outliving its issuer would fail path validation. */
	limit = X509_get0_notAfter(issuer);
	if (ASN1_TIME_compare(X509_get0_notAfter(x), limit) > 0 &&
	    !X509_set1_notAfter(x, limit))
		return RC_ECRYPTO;
	return RC_OK;
}

static int
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext;
	int ok;

	if ((ext = X509V3_EXT_nconf_nid(NULL, ctx, nid, value)) == NULL)
		return RC_ECRYPTO;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? RC_OK : RC_ENOMEM;
}

static const char *
key_usage(const X509 *x, const struct rc_ca_profile *p)
{
	if (p->ca)
		return "critical,keyCertSign,cRLSign";
	/* RSA key transport needs keyEncipherment (RFC 5246 7.4.7.1) */
	if (rc_key_is_rsa(X509_get0_pubkey(x)))
		return "critical,digitalSignature,keyEncipherment";
	return "critical,digitalSignature";
}

static int
add_extensions(X509 *x, X509 *issuer, const struct rc_ca_profile *p)
{
	X509V3_CTX ctx;
	char bc[64];
	int rc, n;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if (!p->ca)
		n = snprintf(bc, sizeof(bc), "critical,CA:FALSE");
	else if (p->pathlen < 0)
		n = snprintf(bc, sizeof(bc), "critical,CA:TRUE");
	else
		n = snprintf(bc, sizeof(bc), "critical,CA:TRUE,pathlen:%d",
		    p->pathlen);
	if (n < 0 || (size_t)n >= sizeof(bc))
		return RC_EINVAL;
	if ((rc = add_ext(x, &ctx, NID_basic_constraints, bc)) != RC_OK ||
	    (rc = add_ext(x, &ctx, NID_key_usage, key_usage(x, p))) != RC_OK)
		return rc;
	if (p->eku != NULL &&
	    (rc = add_ext(x, &ctx, NID_ext_key_usage, p->eku)) != RC_OK)
		return rc;
	if (p->sans != NULL &&
	    X509_add1_ext_i2d(x, NID_subject_alt_name, p->sans, 0,
	        X509V3_ADD_DEFAULT) != 1)
		return RC_ENOMEM;
	if ((rc = add_ext(x, &ctx, NID_subject_key_identifier, "hash")) !=
	    RC_OK)
		return rc;
	/* RFC 5280 4.2.1.1: a self-signed certificate may omit the AKI */
	if (issuer == x)
		return RC_OK;
	return add_ext(x, &ctx, NID_authority_key_identifier, "keyid,issuer");
}

static int
name_from_cn(const char *cn, X509_NAME **out)
{
	X509_NAME *n;

	*out = NULL;
	if ((n = X509_NAME_new()) == NULL)
		return RC_ENOMEM;
	if (!X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
	        (const unsigned char *)cn, -1, -1, 0)) {
		X509_NAME_free(n);
		return RC_ECRYPTO;
	}
	*out = n;
	return RC_OK;
}

int
rc_ca_make_cert(const struct rc_ca *issuer, EVP_PKEY *selfkey, EVP_PKEY *pubkey,
    const char *cn, long secs, const struct rc_ca_profile *p, X509 **out)
{
	X509_NAME *name = NULL;
	X509 *x, *icert;
	int rc;

	*out = NULL;
	if ((x = X509_new()) == NULL)
		return RC_ENOMEM;
	icert = issuer != NULL ? issuer->cert : x;
	if ((rc = name_from_cn(cn, &name)) != RC_OK)
		goto out;
	rc = RC_ECRYPTO;
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_subject_name(x, name) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(icert)) ||
	    !X509_set_pubkey(x, pubkey))
		goto out;
	if ((rc = set_serial(x)) != RC_OK ||
	    (rc = set_validity(x, issuer != NULL ? icert : NULL, secs)) !=
	        RC_OK ||
	    (rc = add_extensions(x, icert, p)) != RC_OK)
		goto out;
	if (X509_sign(x, issuer != NULL ? issuer->key : selfkey,
	        EVP_sha256()) <= 0) {
		rc = RC_ECRYPTO;
		goto out;
	}
	*out = x;
	x = NULL;
	rc = RC_OK;
out:
	X509_NAME_free(name);
	X509_free(x);
	return rc;
}
