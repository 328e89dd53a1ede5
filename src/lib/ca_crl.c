/*
 * Certificate revocation lists (RFC 5280 section 5), v2.
 *
 * Serials come in as text (operator input): hex digits, optionally with
 * ':' between them as openssl(1) prints them, at most 40 digits (the 20
 * octets of RFC 5280 section 4.1.2.2).  Anything else is RC_EPARSE.
 */
#include <string.h>
#include <time.h>

#include <openssl/bn.h>

#include "ca_int.h"

#define SERIAL_MAX_HEX 40

static int
parse_serial(const char *s, ASN1_INTEGER **out)
{
	char hex[SERIAL_MAX_HEX + 1];
	BIGNUM *bn = NULL;
	size_t n = 0;

	*out = NULL;
	for (; s != NULL && *s != '\0'; s++) {
		if (*s == ':')
			continue;
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
		        (*s >= 'A' && *s <= 'F')) ||
		    n == SERIAL_MAX_HEX)
			return RC_EPARSE;
		hex[n++] = *s;
	}
	if (n == 0)
		return RC_EPARSE;
	hex[n] = '\0';
	if (!BN_hex2bn(&bn, hex))
		return RC_ENOMEM;
	*out = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	return *out == NULL ? RC_ENOMEM : RC_OK;
}

static int
add_revoked(X509_CRL *crl, const char *serial, ASN1_TIME *when)
{
	ASN1_INTEGER *ai;
	X509_REVOKED *rev;
	int rc;

	if ((rc = parse_serial(serial, &ai)) != RC_OK)
		return rc;
	if ((rev = X509_REVOKED_new()) == NULL) {
		ASN1_INTEGER_free(ai);
		return RC_ENOMEM;
	}
	rc = RC_ENOMEM;
	if (X509_REVOKED_set_serialNumber(rev, ai) &&
	    X509_REVOKED_set_revocationDate(rev, when) &&
	    X509_CRL_add0_revoked(crl, rev)) {
		rev = NULL;
		rc = RC_OK;
	}
	X509_REVOKED_free(rev);
	ASN1_INTEGER_free(ai);
	return rc;
}

/* After X509_CRL_sort, equal serials are neighbours. */
static int
has_duplicates(X509_CRL *crl)
{
	STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(crl);
	int i;

	for (i = 1; i < sk_X509_REVOKED_num(revs); i++)
		if (ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(
		                         sk_X509_REVOKED_value(revs, i - 1)),
		        X509_REVOKED_get0_serialNumber(
		            sk_X509_REVOKED_value(revs, i))) == 0)
			return 1;
	return 0;
}

static int
set_times(X509_CRL *crl, time_t now, int days, ASN1_TIME **thisupd)
{
	ASN1_TIME *next = NULL;
	int rc = RC_ENOMEM;

	*thisupd = NULL;
	if ((*thisupd = X509_time_adj_ex(NULL, 0, 0, &now)) == NULL ||
	    (next = X509_time_adj_ex(NULL, days, 0, &now)) == NULL)
		goto out;
	if (X509_CRL_set1_lastUpdate(crl, *thisupd) &&
	    X509_CRL_set1_nextUpdate(crl, next))
		rc = RC_OK;
out:
	ASN1_TIME_free(next);
	return rc;
}

/* cRLNumber (5.2.3) and authorityKeyIdentifier (5.2.1). */
static int
add_crl_extensions(X509_CRL *crl, X509 *issuer, time_t now)
{
	ASN1_INTEGER *num;
	X509_EXTENSION *ext;
	X509V3_CTX ctx;
	int ok;

	/* the time: monotonic across runs without keeping a counter */
	if ((num = ASN1_INTEGER_new()) == NULL)
		return RC_ENOMEM;
	ok = ASN1_INTEGER_set_int64(num, (int64_t)now) &&
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) == 1;
	ASN1_INTEGER_free(num);
	if (!ok)
		return RC_ENOMEM;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, NULL, NULL, crl, 0);
	if ((ext = X509V3_EXT_nconf_nid(NULL, &ctx,
	         NID_authority_key_identifier, "keyid,issuer")) == NULL)
		return RC_ECRYPTO;
	ok = X509_CRL_add_ext(crl, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? RC_OK : RC_ENOMEM;
}

static int
crl_fill(const struct rc_ca *ca, X509_CRL *crl, const char *const *serials_hex,
    size_t n, int days)
{
	ASN1_TIME *thisupd = NULL;
	time_t now = time(NULL);
	size_t i;
	int rc;

	if (!X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert)))
		return RC_ENOMEM;
	if ((rc = set_times(crl, now, days, &thisupd)) != RC_OK)
		goto out;
	for (i = 0; i < n; i++)
		if ((rc = add_revoked(crl, serials_hex[i], thisupd)) != RC_OK)
			goto out;
	if (!X509_CRL_sort(crl)) {
		rc = RC_ENOMEM;
		goto out;
	}
	if (has_duplicates(crl)) {
		rc = RC_EINVAL;
		goto out;
	}
	rc = add_crl_extensions(crl, ca->cert, now);
out:
	ASN1_TIME_free(thisupd);
	return rc;
}

int
rc_ca_crl(const struct rc_ca *ca, const char *const *serials_hex, size_t n,
    int days, X509_CRL **out)
{
	X509_CRL *crl;
	int rc;

	*out = NULL;
	if ((rc = rc_ca_check_issuer(ca)) != RC_OK ||
	    (rc = rc_ca_check_days(days)) != RC_OK)
		return rc;
	if ((X509_get_key_usage(ca->cert) & KU_CRL_SIGN) == 0)
		return RC_ENOTCA;
	if (n > 0 && serials_hex == NULL)
		return RC_EINVAL;
	if ((crl = X509_CRL_new()) == NULL)
		return RC_ENOMEM;
	if ((rc = crl_fill(ca, crl, serials_hex, n, days)) != RC_OK)
		goto out;
	if (X509_CRL_sign(crl, ca->key, EVP_sha256()) <= 0) {
		rc = RC_ECRYPTO;
		goto out;
	}
	*out = crl;
	crl = NULL;
out:
	X509_CRL_free(crl);
	return rc;
}
