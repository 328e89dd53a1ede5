/*
 * End-entity certificates: device leaves from CSRs (seed rules S2, S4),
 * TLS server certificates, proof-of-possession verification certificates.
 *
 * SAN arguments of rc_ca_server_cert are operator input, parsed here:
 * "DNS:" + a host name of LDH labels (RFC 1123 section 2.1; 1 to 63
 * characters each, no leading or trailing '-', at most 253 in all, "*" as
 * the first label for a wildcard) or "IP:" + an address inet_pton(3)
 * accepts for AF_INET or AF_INET6.  Nothing else.
 */
#include <arpa/inet.h>
#include <string.h>

#include "ca_int.h"
#include "rollcall/csr.h"
#include "rollcall/mem.h"

static const struct rc_ca_profile client_profile = {0, -1, "clientAuth", NULL};

/* Keys a TLS peer of ours can use: NIST curves, RSA >= 2048 bits. */
static int
check_leaf_key(const EVP_PKEY *pk)
{
	char group[80];
	int nid;

	if (EVP_PKEY_is_a(pk, "RSA"))
		return EVP_PKEY_get_bits(pk) >= 2048 ? RC_OK : RC_EUNSUPPORTED;
	if (!EVP_PKEY_is_a(pk, "EC") ||
	    !EVP_PKEY_get_group_name(pk, group, sizeof(group), NULL))
		return RC_EUNSUPPORTED;
	nid = OBJ_txt2nid(group);
	if (nid == NID_X9_62_prime256v1 || nid == NID_secp384r1 ||
	    nid == NID_secp521r1)
		return RC_OK;
	return RC_EUNSUPPORTED;
}

int
rc_ca_sign_csr(const struct rc_ca *ca, X509_REQ *csr, int days, X509 **out)
{
	int rc;

	*out = NULL;
	if ((rc = rc_ca_check_issuer(ca)) != RC_OK ||
	    (rc = rc_ca_check_days(days)) != RC_OK)
		return rc;
	return rc_ca_sign_csr_secs(ca, csr, DAYS_SECS(days), out);
}

int
rc_ca_sign_csr_secs(const struct rc_ca *ca, X509_REQ *csr, long secs,
    X509 **out)
{
	EVP_PKEY *pk;
	char *cn = NULL;
	int rc;

	*out = NULL;
	if ((rc = rc_ca_check_issuer(ca)) != RC_OK ||
	    (rc = rc_ca_check_secs(secs)) != RC_OK)
		return rc;
	/* proof that the sender holds the key comes before anything else */
	if ((rc = rc_csr_verify(csr)) != RC_OK)
		return rc;
	if ((rc = rc_csr_get1_cn(csr, &cn)) != RC_OK)
		return rc;
	if ((pk = X509_REQ_get0_pubkey(csr)) == NULL)
		rc = RC_EPARSE;
	else if ((rc = check_leaf_key(pk)) == RC_OK)
		rc = rc_ca_make_cert(ca, NULL, pk, cn, secs, &client_profile,
		    out);
	rc_free(cn);
	return rc;
}

int
rc_ca_issue(const struct rc_ca *ca, const char *cn, enum rc_key_type t,
    int days, X509 **cert, EVP_PKEY **key)
{
	X509_REQ *req = NULL;
	EVP_PKEY *k = NULL;
	int rc;

	*cert = NULL;
	*key = NULL;
	if ((rc = rc_ca_check_issuer(ca)) != RC_OK ||
	    (rc = rc_ca_check_days(days)) != RC_OK ||
	    (rc = rc_csr_check_cn(cn)) != RC_OK)
		return rc;
	if ((rc = rc_key_gen(t, &k)) != RC_OK)
		goto out;
	if ((rc = rc_csr_new(k, cn, &req)) != RC_OK)
		goto out;
	if ((rc = rc_ca_sign_csr(ca, req, days, cert)) != RC_OK)
		goto out;
	*key = k;
	k = NULL;
out:
	X509_REQ_free(req);
	EVP_PKEY_free(k);
	return rc;
}

static int
dns_name_ok(const char *s)
{
	size_t len, i, label = 0;
	char c;

	if (strncmp(s, "*.", 2) == 0)
		s += 2;
	if ((len = strlen(s)) == 0 || len > 253)
		return 0;
	for (i = 0; i <= len; i++) {
		c = s[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') || c == '-'))
			return 0;
		if (label++ == 0 && c == '-')
			return 0;
	}
	return 1;
}

static GENERAL_NAME *
dns_name(const char *host)
{
	ASN1_IA5STRING *ia5;
	GENERAL_NAME *gen;

	if ((ia5 = ASN1_IA5STRING_new()) == NULL)
		return NULL;
	if (!ASN1_STRING_set(ia5, host, -1) ||
	    (gen = GENERAL_NAME_new()) == NULL) {
		ASN1_IA5STRING_free(ia5);
		return NULL;
	}
	GENERAL_NAME_set0_value(gen, GEN_DNS, ia5);
	return gen;
}

static GENERAL_NAME *
ip_name(const unsigned char *addr, int len)
{
	ASN1_OCTET_STRING *os;
	GENERAL_NAME *gen;

	if ((os = ASN1_OCTET_STRING_new()) == NULL)
		return NULL;
	if (!ASN1_OCTET_STRING_set(os, addr, len) ||
	    (gen = GENERAL_NAME_new()) == NULL) {
		ASN1_OCTET_STRING_free(os);
		return NULL;
	}
	GENERAL_NAME_set0_value(gen, GEN_IPADD, os);
	return gen;
}

static int
parse_san(const char *s, GENERAL_NAME **out)
{
	unsigned char addr[16];
	int len;

	*out = NULL;
	if (strncmp(s, "DNS:", 4) == 0) {
		if (!dns_name_ok(s + 4))
			return RC_EINVAL;
		*out = dns_name(s + 4);
		return *out == NULL ? RC_ENOMEM : RC_OK;
	}
	if (strncmp(s, "IP:", 3) != 0)
		return RC_EINVAL;
	if (inet_pton(AF_INET, s + 3, addr) == 1)
		len = 4;
	else if (inet_pton(AF_INET6, s + 3, addr) == 1)
		len = 16;
	else
		return RC_EINVAL;
	*out = ip_name(addr, len);
	return *out == NULL ? RC_ENOMEM : RC_OK;
}

static int
parse_sans(const char *const *sans, size_t n, GENERAL_NAMES **out)
{
	GENERAL_NAMES *gens;
	GENERAL_NAME *gen;
	size_t i;
	int rc = RC_OK;

	*out = NULL;
	if (sans == NULL || n == 0)
		return RC_EINVAL;
	if ((gens = sk_GENERAL_NAME_new_null()) == NULL)
		return RC_ENOMEM;
	for (i = 0; i < n && rc == RC_OK; i++) {
		if (sans[i] == NULL)
			rc = RC_EINVAL;
		else if ((rc = parse_san(sans[i], &gen)) == RC_OK &&
		    !sk_GENERAL_NAME_push(gens, gen)) {
			GENERAL_NAME_free(gen);
			rc = RC_ENOMEM;
		}
	}
	if (rc != RC_OK) {
		GENERAL_NAMES_free(gens);
		return rc;
	}
	*out = gens;
	return RC_OK;
}

int
rc_ca_server_cert(const struct rc_ca *ca, const char *cn,
    const char *const *sans, size_t nsans, enum rc_key_type t, int days,
    X509 **cert, EVP_PKEY **key)
{
	struct rc_ca_profile p = {0, -1, "serverAuth", NULL};
	EVP_PKEY *k = NULL;
	int rc;

	*cert = NULL;
	*key = NULL;
	if ((rc = rc_ca_check_issuer(ca)) != RC_OK ||
	    (rc = rc_ca_check_days(days)) != RC_OK ||
	    (rc = parse_sans(sans, nsans, &p.sans)) != RC_OK)
		return rc;
	/* parse_sans saw "DNS:" or "IP:": the value follows the ':' */
	if (cn == NULL)
		cn = strchr(sans[0], ':') + 1;
	if ((rc = rc_csr_check_cn(cn)) != RC_OK)
		goto out;
	if ((rc = rc_key_gen(t, &k)) != RC_OK)
		goto out;
	if ((rc = rc_ca_make_cert(ca, NULL, k, cn, DAYS_SECS(days), &p,
	         cert)) != RC_OK)
		goto out;
	*key = k;
	k = NULL;
out:
	GENERAL_NAMES_free(p.sans);
	EVP_PKEY_free(k);
	return rc;
}

int
rc_ca_verification_cert(const struct rc_ca *ca, const char *code, int days,
    X509 **out)
{
	static const struct rc_ca_profile pop = {0, -1, NULL, NULL};
	EVP_PKEY *k = NULL;
	int rc;

	*out = NULL;
	if ((rc = rc_ca_check_issuer(ca)) != RC_OK ||
	    (rc = rc_ca_check_days(days)) != RC_OK ||
	    (rc = rc_csr_check_cn(code)) != RC_OK)
		return rc;
	/* the key only fills the certificate: the CA's signature is proof */
	if ((rc = rc_key_gen(RC_KEY_P256, &k)) != RC_OK)
		return rc;
	rc = rc_ca_make_cert(ca, NULL, k, code, DAYS_SECS(days), &pop, out);
	EVP_PKEY_free(k);
	return rc;
}
