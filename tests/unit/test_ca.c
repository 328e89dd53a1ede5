/* Unit tests for the offline CA (ca.h). */
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "rctest.h"
#include "rollcall/ca.h"
#include "rollcall/csr.h"
#include "rollcall/key.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"

static struct rc_ca *root, *inter;
static const char *dir;

static int
is_critical(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	assert_true(i >= 0);
	return X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

static int
has_ext(X509 *x, int nid)
{
	return X509_get_ext_by_NID(x, nid, -1) >= 0;
}

static char *
cn_of(X509 *x)
{
	const X509_NAME *n = X509_get_subject_name(x);
	unsigned char *utf;
	char *cn;
	int len;

	assert_int_equal(X509_NAME_entry_count(n), 1);
	len = ASN1_STRING_to_UTF8(&utf,
	    X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, 0)));
	assert_true(len >= 0);
	cn = rc_strndup((char *)utf, (size_t)len);
	OPENSSL_free(utf);
	return cn;
}

static void
assert_cn(X509 *x, const char *want)
{
	char *cn = cn_of(x);

	assert_string_equal(cn, want);
	rc_free(cn);
}

/* Seconds from now to t (negative: in the past). */
static long
from_now(const ASN1_TIME *t)
{
	int days, secs;

	assert_true(ASN1_TIME_diff(&days, &secs, NULL, t));
	return (long)days * 86400 + secs;
}

/* Verifies leaf against root with the chain's other certificates. */
static int
verify(X509 *leaf, int purpose, X509_CRL *crl)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	int ok, err;

	assert_true(X509_STORE_add_cert(store, root->cert));
	if (crl != NULL) {
		assert_true(X509_STORE_add_crl(store, crl));
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	}
	assert_true(sk_X509_push(untrusted, inter->cert));
	assert_true(X509_STORE_CTX_init(ctx, store, leaf, untrusted));
	if (purpose >= 0)
		assert_true(X509_STORE_CTX_set_purpose(ctx, purpose));
	ok = X509_verify_cert(ctx);
	err = X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_free(untrusted);
	return ok == 1 ? X509_V_OK : err;
}

static void
test_root(void **state)
{
	uint32_t ku;

	(void)state;
	assert_int_equal(X509_get_version(root->cert), X509_VERSION_3);
	assert_int_equal(X509_self_signed(root->cert, 1), 1);
	assert_int_equal(sk_X509_num(root->parents), 0);
	assert_true(is_critical(root->cert, NID_basic_constraints));
	assert_true(X509_get_extension_flags(root->cert) & EXFLAG_CA);
	assert_int_equal(X509_get_pathlen(root->cert), -1);
	assert_true(is_critical(root->cert, NID_key_usage));
	ku = X509_get_key_usage(root->cert);
	assert_int_equal(ku, KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_non_null(X509_get0_subject_key_id(root->cert));
	assert_false(has_ext(root->cert, NID_authority_key_identifier));
	assert_int_equal(X509_get_signature_nid(root->cert),
	    NID_ecdsa_with_SHA256);
	assert_cn(root->cert, "Test Root");
	assert_true(from_now(X509_get0_notAfter(root->cert)) >
	    (RC_CA_DAYS_ROOT - 1) * 86400L);
}

static void
test_intermediate(void **state)
{
	struct rc_ca *deeper;

	(void)state;
	assert_int_equal(X509_get_pathlen(inter->cert), 0);
	assert_true(X509_get_extension_flags(inter->cert) & EXFLAG_CA);
	assert_int_equal(X509_get_key_usage(inter->cert),
	    KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(
	                                           inter->cert),
	                     X509_get0_subject_key_id(root->cert)),
	    0);
	assert_int_equal(X509_verify(inter->cert, X509_get0_pubkey(root->cert)),
	    1);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(inter->cert),
	                     X509_get_subject_name(root->cert)),
	    0);
	assert_int_equal(sk_X509_num(inter->parents), 1);
	assert_int_equal(X509_cmp(sk_X509_value(inter->parents, 0), root->cert),
	    0);
	assert_int_equal(verify(inter->cert, -1, NULL), X509_V_OK);
	/* pathlen:0 allows no CA below it */
	deeper = (struct rc_ca *)1;
	assert_int_equal(rc_ca_new_intermediate(inter, "Deeper", RC_KEY_P256,
	                     30, &deeper),
	    RC_EPATHLEN);
	assert_null(deeper);
}

static void
check_leaf(X509 *leaf, const char *cn, int rsa)
{
	const ASN1_INTEGER *serial;
	BIGNUM *bn;
	long nb;

	assert_int_equal(X509_get_version(leaf), X509_VERSION_3);
	assert_cn(leaf, cn);
	assert_true(is_critical(leaf, NID_basic_constraints));
	assert_false(X509_get_extension_flags(leaf) & EXFLAG_CA);
	assert_true(is_critical(leaf, NID_key_usage));
	assert_int_equal(X509_get_key_usage(leaf),
	    rsa ? KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT
	        : KU_DIGITAL_SIGNATURE);
	assert_false(is_critical(leaf, NID_ext_key_usage));
	assert_int_equal(X509_get_extended_key_usage(leaf), XKU_SSL_CLIENT);
	assert_non_null(X509_get0_subject_key_id(leaf));
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(leaf),
	                     X509_get0_subject_key_id(inter->cert)),
	    0);
	assert_false(has_ext(leaf, NID_subject_alt_name));
	serial = X509_get0_serialNumber(leaf);
	assert_int_equal(ASN1_STRING_type(serial), V_ASN1_INTEGER);
	bn = ASN1_INTEGER_to_BN(serial, NULL);
	assert_false(BN_is_negative(bn));
	assert_false(BN_is_zero(bn));
	assert_true(BN_num_bits(bn) <= 127);
	assert_true(BN_num_bits(bn) > 64);
	BN_free(bn);
	/* back-dated by five minutes */
	nb = from_now(X509_get0_notBefore(leaf));
	assert_true(nb <= -RC_CA_BACKDATE + 5 && nb >= -RC_CA_BACKDATE - 60);
	assert_int_equal(X509_get_signature_nid(leaf), NID_ecdsa_with_SHA256);
	assert_int_equal(verify(leaf, X509_PURPOSE_SSL_CLIENT, NULL),
	    X509_V_OK);
}

/* The CSR asks for more (O, OU, extensions): only the CN survives. */
static void
test_sign_csr_policy(void **state)
{
	X509_EXTENSIONS *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *ext;
	X509_NAME *name;
	X509_REQ *req;
	EVP_PKEY *k;
	X509 *leaf;
	long na;

	(void)state;
	assert_int_equal(rc_key_gen(RC_KEY_P256, &k), RC_OK);
	req = X509_REQ_new();
	name = X509_REQ_get_subject_name(req);
	assert_true(X509_NAME_add_entry_by_NID(name, NID_organizationName,
	    MBSTRING_UTF8, (const unsigned char *)"Evil Corp", -1, -1, 0));
	assert_true(X509_NAME_add_entry_by_NID(name, NID_commonName,
	    MBSTRING_UTF8, (const unsigned char *)"dev-42", -1, -1, 0));
	assert_true(X509_NAME_add_entry_by_NID(name, NID_organizationalUnitName,
	    MBSTRING_UTF8, (const unsigned char *)"ops", -1, -1, 0));
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints,
	    "critical,CA:TRUE");
	assert_true(sk_X509_EXTENSION_push(exts, ext));
	assert_true(X509_REQ_add_extensions(req, exts));
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	assert_true(X509_REQ_set_pubkey(req, k));
	assert_true(X509_REQ_sign(req, k, EVP_sha256()) > 0);
	assert_int_equal(rc_ca_sign_csr(inter, req, 30, &leaf), RC_OK);
	check_leaf(leaf, "dev-42", 0);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(leaf), k), 1);
	na = from_now(X509_get0_notAfter(leaf));
	assert_true(na > 30 * 86400L - 60 && na <= 30 * 86400L);
	X509_free(leaf);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
}

/* rc_ca_sign_csr_secs: a lifetime in seconds, bounded below. */
static void
test_sign_csr_secs(void **state)
{
	X509_REQ *req;
	EVP_PKEY *k;
	X509 *leaf;
	long na;

	(void)state;
	assert_int_equal(rc_key_gen(RC_KEY_P256, &k), RC_OK);
	assert_int_equal(rc_csr_new(k, "dev-60", &req), RC_OK);
	assert_int_equal(rc_ca_sign_csr_secs(inter, req, 60, &leaf), RC_OK);
	/* back-dated by a tenth of the lifetime, not RC_CA_BACKDATE */
	na = from_now(X509_get0_notBefore(leaf));
	assert_true(na <= -5 && na >= -16);
	na = from_now(X509_get0_notAfter(leaf));
	assert_true(na > 50 && na <= 60);
	X509_free(leaf);
	assert_int_equal(rc_ca_sign_csr_secs(inter, req, RC_CA_SECS_MIN - 1,
	                     &leaf),
	    RC_EINVAL);
	assert_null(leaf);
	assert_int_equal(rc_ca_sign_csr_secs(inter, req,
	                     RC_CA_DAYS_MAX * 86400L + 1, &leaf),
	    RC_EINVAL);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
}

static void
test_issue_each_type(void **state)
{
	X509 *leaf, *other;
	EVP_PKEY *k, *k2;
	int t;

	(void)state;
	for (t = RC_KEY_P256; t <= RC_KEY_RSA2048; t++) {
		assert_int_equal(rc_ca_issue(inter, "Ger\xc3\xa4t, \"1\"+=",
		                     (enum rc_key_type)t, 7, &leaf, &k),
		    RC_OK);
		check_leaf(leaf, "Ger\xc3\xa4t, \"1\"+=", t == RC_KEY_RSA2048);
		assert_int_equal(X509_check_private_key(leaf, k), 1);
		X509_free(leaf);
		EVP_PKEY_free(k);
	}
	/* fresh serials */
	assert_int_equal(rc_ca_issue(inter, "a", RC_KEY_P256, 1, &leaf, &k),
	    RC_OK);
	assert_int_equal(rc_ca_issue(inter, "a", RC_KEY_P256, 1, &other, &k2),
	    RC_OK);
	assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(leaf),
	                         X509_get0_serialNumber(other)),
	    0);
	X509_free(leaf);
	X509_free(other);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

static void
test_issue_refused(void **state)
{
	char cn65[RC_CN_MAX + 2];
	X509 *leaf;
	EVP_PKEY *k;

	(void)state;
	memset(cn65, 'n', sizeof(cn65));
	cn65[RC_CN_MAX + 1] = '\0';
	assert_int_equal(rc_ca_issue(inter, cn65, RC_KEY_P256, 1, &leaf, &k),
	    RC_ETOOBIG);
	cn65[RC_CN_MAX] = '\0';
	assert_int_equal(rc_ca_issue(inter, cn65, RC_KEY_P256, 1, &leaf, &k),
	    RC_OK);
	X509_free(leaf);
	EVP_PKEY_free(k);
	assert_int_equal(rc_ca_issue(inter, "", RC_KEY_P256, 1, &leaf, &k),
	    RC_EINVAL);
	assert_int_equal(rc_ca_issue(inter, "x", RC_KEY_P256, 0, &leaf, &k),
	    RC_EINVAL);
	assert_int_equal(rc_ca_issue(inter, "x", RC_KEY_P256,
	                     RC_CA_DAYS_MAX + 1, &leaf, &k),
	    RC_EINVAL);
	assert_null(leaf);
	assert_null(k);
}

static X509_REQ *
csr_with(EVP_PKEY *pub, EVP_PKEY *signer, const char *cn)
{
	X509_REQ *req = X509_REQ_new();

	if (cn != NULL)
		assert_true(
		    X509_NAME_add_entry_by_NID(X509_REQ_get_subject_name(req),
		        NID_commonName, MBSTRING_UTF8,
		        (const unsigned char *)cn, -1, -1, 0));
	assert_true(X509_REQ_set_pubkey(req, pub));
	assert_true(X509_REQ_sign(req, signer, EVP_sha256()) > 0);
	return req;
}

static void
sign_expect(X509_REQ *req, int want)
{
	X509 *leaf = (X509 *)1;

	assert_int_equal(rc_ca_sign_csr(inter, req, 30, &leaf), want);
	assert_null(leaf);
	X509_REQ_free(req);
}

static void
test_sign_csr_refused(void **state)
{
	EVP_PKEY *a, *b, *weak, *curve;

	(void)state;
	assert_int_equal(rc_key_gen(RC_KEY_P256, &a), RC_OK);
	assert_int_equal(rc_key_gen(RC_KEY_P256, &b), RC_OK);
	weak = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	curve = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	assert_non_null(weak);
	assert_non_null(curve);
	sign_expect(csr_with(a, b, "dev-1"), RC_EBADSIG);
	sign_expect(csr_with(a, a, NULL), RC_ENOENT);
	sign_expect(csr_with(weak, weak, "dev-1"), RC_EUNSUPPORTED);
	sign_expect(csr_with(curve, curve, "dev-1"), RC_EUNSUPPORTED);
	/* a leaf is not a CA */
	{
		struct rc_ca fake = {NULL, a, NULL};
		EVP_PKEY *k;
		X509 *leaf;

		assert_int_equal(rc_ca_issue(inter, "leafy", RC_KEY_P256, 1,
		                     &fake.cert, &k),
		    RC_OK);
		EVP_PKEY_free(k);
		assert_int_equal(rc_ca_issue(&fake, "x", RC_KEY_P256, 1, &leaf,
		                     &k),
		    RC_ENOTCA);
		assert_int_equal(rc_ca_sign_csr(&fake, NULL, 1, &leaf),
		    RC_ENOTCA);
		X509_free(fake.cert);
	}
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	EVP_PKEY_free(weak);
	EVP_PKEY_free(curve);
}

/* A short-lived CA: the leaf ends when the CA does, not later. */
static void
test_clamped_to_ca(void **state)
{
	struct rc_ca *shortca;
	X509 *leaf;
	EVP_PKEY *k;

	(void)state;
	assert_int_equal(rc_ca_new_intermediate(root, "Short", RC_KEY_P256, 10,
	                     &shortca),
	    RC_OK);
	assert_int_equal(rc_ca_issue(shortca, "dev-c", RC_KEY_P256, 365, &leaf,
	                     &k),
	    RC_OK);
	assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(leaf),
	                     X509_get0_notAfter(shortca->cert)),
	    0);
	X509_free(leaf);
	EVP_PKEY_free(k);
	/* and the intermediate itself never outlives the root */
	rc_ca_free(shortca);
	assert_int_equal(rc_ca_new_intermediate(root, "Long", RC_KEY_P256,
	                     RC_CA_DAYS_MAX, &shortca),
	    RC_OK);
	assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(shortca->cert),
	                     X509_get0_notAfter(root->cert)),
	    0);
	rc_ca_free(shortca);
}

/* A CA whose certificate expired yesterday (re-signed by hand). */
static void
test_expired_ca(void **state)
{
	struct rc_ca *old;
	X509 *leaf;
	EVP_PKEY *k;
	time_t now = time(NULL);

	(void)state;
	assert_int_equal(rc_ca_new_root("Old", RC_KEY_P256, 30, &old), RC_OK);
	assert_non_null(
	    X509_time_adj_ex(X509_getm_notBefore(old->cert), -10, 0, &now));
	assert_non_null(
	    X509_time_adj_ex(X509_getm_notAfter(old->cert), -1, 0, &now));
	assert_true(X509_sign(old->cert, old->key, EVP_sha256()) > 0);
	assert_int_equal(rc_ca_issue(old, "x", RC_KEY_P256, 1, &leaf, &k),
	    RC_EEXPIRED);
	rc_ca_free(old);
}

static void
test_rsa_ca(void **state)
{
	struct rc_ca *rsa;
	X509 *leaf;
	EVP_PKEY *k;

	(void)state;
	assert_int_equal(rc_ca_new_root("RSA Root", RC_KEY_RSA2048, 30, &rsa),
	    RC_OK);
	assert_int_equal(X509_get_signature_nid(rsa->cert),
	    NID_sha256WithRSAEncryption);
	assert_int_equal(rc_ca_issue(rsa, "dev-r", RC_KEY_P384, 30, &leaf, &k),
	    RC_OK);
	assert_int_equal(X509_get_signature_nid(leaf),
	    NID_sha256WithRSAEncryption);
	assert_int_equal(X509_verify(leaf, X509_get0_pubkey(rsa->cert)), 1);
	X509_free(leaf);
	EVP_PKEY_free(k);
	rc_ca_free(rsa);
}

static void
test_server_cert(void **state)
{
	static const char *const sans[] = {"DNS:rollcall.local",
	    "DNS:*.hub.example", "IP:127.0.0.1", "IP:::1"};
	static const unsigned char v4[] = {127, 0, 0, 1};
	GENERAL_NAMES *gens;
	GENERAL_NAME *g;
	X509 *cert;
	EVP_PKEY *k;

	(void)state;
	assert_int_equal(rc_ca_server_cert(inter, NULL, sans, 4, RC_KEY_P256,
	                     RC_CA_DAYS_SERVER, &cert, &k),
	    RC_OK);
	assert_cn(cert, "rollcall.local");
	assert_int_equal(X509_get_extended_key_usage(cert), XKU_SSL_SERVER);
	assert_int_equal(verify(cert, X509_PURPOSE_SSL_SERVER, NULL),
	    X509_V_OK);
	assert_int_equal(X509_check_host(cert, "rollcall.local", 0, 0, NULL),
	    1);
	assert_int_equal(X509_check_host(cert, "a.hub.example", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(cert, "127.0.0.1", 0), 1);
	assert_int_equal(X509_check_ip_asc(cert, "::1", 0), 1);
	assert_int_equal(X509_check_ip_asc(cert, "127.0.0.2", 0), 0);
	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	assert_int_equal(sk_GENERAL_NAME_num(gens), 4);
	g = sk_GENERAL_NAME_value(gens, 2);
	assert_int_equal(g->type, GEN_IPADD);
	assert_int_equal(ASN1_STRING_length(g->d.iPAddress), 4);
	assert_memory_equal(ASN1_STRING_get0_data(g->d.iPAddress), v4, 4);
	GENERAL_NAMES_free(gens);
	X509_free(cert);
	EVP_PKEY_free(k);
	assert_int_equal(rc_ca_server_cert(inter, "Hub", sans + 2, 1,
	                     RC_KEY_RSA2048, 30, &cert, &k),
	    RC_OK);
	assert_cn(cert, "Hub");
	assert_int_equal(X509_get_key_usage(cert),
	    KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
	X509_free(cert);
	EVP_PKEY_free(k);
}

static void
test_server_cert_bad_san(void **state)
{
	static const char *const bad[] = {"DNS:", "DNS:-lead.example",
	    "DNS:trail-.example", "DNS:a..b", "DNS:sp ace", "DNS:dot.", "DNS:*",
	    "DNS:a.*.b", "DNS:under_score", "IP:1.2.3", "IP:1.2.3.4x",
	    "IP:256.1.1.1", "IP:01.2.3.4", "IP:::g", "IP:", "URI:http://x",
	    "dns:lower.example", "rollcall.local", ""};
	char label64[80];
	X509 *cert = (X509 *)1;
	EVP_PKEY *k = (EVP_PKEY *)1;
	const char *one[1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		one[0] = bad[i];
		if (rc_ca_server_cert(inter, NULL, one, 1, RC_KEY_P256, 30,
		        &cert, &k) != RC_EINVAL)
			fail_msg("SAN '%s' was accepted", bad[i]);
		assert_null(cert);
		assert_null(k);
	}
	memcpy(label64, "DNS:", 4);
	memset(label64 + 4, 'a', 64);
	memcpy(label64 + 68, ".example", 9);
	one[0] = label64;
	assert_int_equal(rc_ca_server_cert(inter, "x", one, 1, RC_KEY_P256, 30,
	                     &cert, &k),
	    RC_EINVAL);
	assert_int_equal(rc_ca_server_cert(inter, "x", one, 0, RC_KEY_P256, 30,
	                     &cert, &k),
	    RC_EINVAL);
}

static void
test_crl(void **state)
{
	X509 *leaf1, *leaf2;
	EVP_PKEY *k1, *k2;
	X509_CRL *crl;
	X509_REVOKED *rev;
	const char *serials[2];
	char hex1[64], *hex2;
	BIGNUM *bn;

	(void)state;
	assert_int_equal(rc_ca_issue(inter, "r1", RC_KEY_P256, 30, &leaf1, &k1),
	    RC_OK);
	assert_int_equal(rc_ca_issue(inter, "r2", RC_KEY_P256, 30, &leaf2, &k2),
	    RC_OK);
	/* one serial with colons and lower case, the other plain */
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf1), NULL);
	hex2 = BN_bn2hex(bn);
	snprintf(hex1, sizeof(hex1), "%c%c:%s", hex2[0] | 0x20, hex2[1],
	    hex2 + 2);
	OPENSSL_free(hex2);
	BN_free(bn);
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf2), NULL);
	hex2 = BN_bn2hex(bn);
	BN_free(bn);
	serials[0] = hex1;
	serials[1] = hex2;
	assert_int_equal(rc_ca_crl(inter, serials, 2, 7, &crl), RC_OK);
	assert_int_equal(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(inter->cert)),
	    1);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
	assert_int_equal(X509_CRL_get0_by_cert(crl, &rev, leaf1), 1);
	assert_int_equal(X509_CRL_get0_by_cert(crl, &rev, leaf2), 1);
	assert_true(X509_CRL_get_ext_by_NID(crl, NID_crl_number, -1) >= 0);
	assert_true(X509_CRL_get_ext_by_NID(crl, NID_authority_key_identifier,
	                -1) >= 0);
	assert_true(
	    labs(from_now(X509_CRL_get0_nextUpdate(crl)) - 7 * 86400L) < 60);
	assert_true(labs(from_now(X509_CRL_get0_lastUpdate(crl))) < 60);
	assert_int_equal(verify(leaf1, -1, crl), X509_V_ERR_CERT_REVOKED);
	X509_CRL_free(crl);
	/* an empty CRL: the leaf is fine */
	assert_int_equal(rc_ca_crl(inter, NULL, 0, 1, &crl), RC_OK);
	assert_int_equal(verify(leaf1, -1, crl), X509_V_OK);
	X509_CRL_free(crl);
	OPENSSL_free(hex2);
	X509_free(leaf1);
	X509_free(leaf2);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
}

static void
test_crl_refused(void **state)
{
	static const char *const bad[] = {"", "xyz", "12 34", "0x12", "-1",
	    "1234567890123456789012345678901234567890A"};
	static const char *const dup[] = {"0A1B", "0a:1b"};
	static const char *const forty[] = {
	    "1234567890123456789012345678901234567890"};
	X509_CRL *crl = (X509_CRL *)1;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(rc_ca_crl(inter, bad + i, 1, 7, &crl),
		    RC_EPARSE);
		assert_null(crl);
	}
	assert_int_equal(rc_ca_crl(inter, dup, 2, 7, &crl), RC_EINVAL);
	assert_int_equal(rc_ca_crl(inter, dup, 1, 0, &crl), RC_EINVAL);
	/* 40 hex digits (20 octets) is the most RFC 5280 allows */
	assert_int_equal(rc_ca_crl(inter, forty, 1, 7, &crl), RC_OK);
	X509_CRL_free(crl);
}

static void
test_verification_cert(void **state)
{
	X509 *cert;

	(void)state;
	assert_int_equal(rc_ca_verification_cert(root, "7A3C9F0E12", 30, &cert),
	    RC_OK);
	assert_cn(cert, "7A3C9F0E12");
	assert_int_equal(X509_verify(cert, X509_get0_pubkey(root->cert)), 1);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(cert),
	                     X509_get_subject_name(root->cert)),
	    0);
	assert_false(X509_get_extension_flags(cert) & EXFLAG_CA);
	assert_false(has_ext(cert, NID_ext_key_usage));
	X509_free(cert);
	assert_int_equal(rc_ca_verification_cert(root, "", 30, &cert),
	    RC_EINVAL);
	assert_null(cert);
}

static int
mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static int
count_certs(const char *path)
{
	STACK_OF(X509_INFO) *infos;
	BIO *bio = BIO_new_file(path, "r");
	int n;

	assert_non_null(bio);
	infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
	n = sk_X509_INFO_num(infos);
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	BIO_free(bio);
	return n;
}

static void
test_save_load(void **state)
{
	const char *rdir = rctest_path(dir, "root");
	const char *idir = rctest_path(dir, "inter");
	struct rc_ca *back;

	(void)state;
	assert_int_equal(rc_ca_save(root, rdir, 0), RC_OK);
	assert_int_equal(mode_of(rdir), 0700);
	assert_int_equal(mode_of(rctest_path(rdir, "ca.key")), 0600);
	assert_int_equal(mode_of(rctest_path(rdir, "ca.pem")), 0644);
	assert_int_equal(access(rctest_path(rdir, "chain.pem"), F_OK), -1);
	assert_int_equal(rc_ca_save(root, rdir, 0), RC_EEXIST);
	assert_int_equal(rc_ca_save(root, rdir, 1), RC_OK);
	assert_int_equal(rc_ca_load(rdir, &back), RC_OK);
	assert_int_equal(X509_cmp(back->cert, root->cert), 0);
	assert_int_equal(EVP_PKEY_eq(back->key, root->key), 1);
	assert_int_equal(sk_X509_num(back->parents), 0);
	rc_ca_free(back);

	assert_int_equal(rc_ca_save(inter, idir, 0), RC_OK);
	assert_int_equal(count_certs(rctest_path(idir, "chain.pem")), 2);
	assert_int_equal(rc_ca_load(idir, &back), RC_OK);
	assert_int_equal(X509_cmp(back->cert, inter->cert), 0);
	assert_int_equal(sk_X509_num(back->parents), 1);
	assert_int_equal(X509_cmp(sk_X509_value(back->parents, 0), root->cert),
	    0);
	rc_ca_free(back);
	/* a root saved over an intermediate drops the stale chain.pem */
	assert_int_equal(rc_ca_save(root, idir, 1), RC_OK);
	assert_int_equal(access(rctest_path(idir, "chain.pem"), F_OK), -1);
	assert_int_equal(rc_ca_load(idir, &back), RC_OK);
	rc_ca_free(back);
}

static void
expect_load(const char *d, int want)
{
	struct rc_ca *ca = (struct rc_ca *)1;

	assert_int_equal(rc_ca_load(d, &ca), want);
	assert_null(ca);
}

static void
test_load_broken(void **state)
{
	const char *b = rctest_path(dir, "broken");
	const char *pem = rctest_path(b, "ca.pem");
	const char *key = rctest_path(b, "ca.key");
	const char *chain = rctest_path(b, "chain.pem");
	static const char badpem[] = "-----BEGIN CERTIFICATE-----\nAAAA\n"
	                             "-----END CERTIFICATE-----\n";
	char *rootpem, *interpem, *doubled;
	struct rc_ca *ok;
	size_t rlen, ilen;

	(void)state;
	expect_load(rctest_path(dir, "nowhere"), RC_ENOENT);
	assert_int_equal(rc_ca_save(inter, b, 0), RC_OK);
	rootpem =
	    rctest_read_file(rctest_path(rctest_path(dir, "root"), "ca.pem"),
	        &rlen);
	interpem = rctest_read_file(pem, &ilen);
	/* the chain as saved loads */
	assert_int_equal(rc_ca_load(b, &ok), RC_OK);
	rc_ca_free(ok);
	/* chain.pem that starts with another certificate */
	rctest_write_file(chain, rootpem, rlen);
	expect_load(b, RC_EPARSE);
	rctest_write_file(chain, "garbage", 7);
	expect_load(b, RC_EPARSE);
	/* the right first certificate, but not followed by its issuer */
	doubled = rc_malloc(2 * ilen);
	memcpy(doubled, interpem, ilen);
	memcpy(doubled + ilen, interpem, ilen);
	rctest_write_file(chain, doubled, 2 * ilen);
	rc_free(doubled);
	expect_load(b, RC_EPARSE);
	unlink(chain);
	/* ca.pem: two certificates, none, a cut one */
	rctest_write_file(pem, rootpem, rlen);
	expect_load(b, RC_EINVAL); /* the key is the intermediate's */
	rctest_write_file(pem, "", 0);
	expect_load(b, RC_EPARSE);
	rctest_write_file(pem, interpem, ilen / 2);
	expect_load(b, RC_EPARSE);
	rctest_write_file(pem, badpem, strlen(badpem));
	expect_load(b, RC_EPARSE);
	unlink(pem);
	expect_load(b, RC_ENOENT);
	rctest_write_file(pem, interpem, ilen);
	rctest_write_file(key, "not a key", 9);
	expect_load(b, RC_EPARSE);
	unlink(key);
	expect_load(b, RC_ENOENT);
	rc_free(rootpem);
	rc_free(interpem);
}

static void
test_write_chain(void **state)
{
	const char *p1 = rctest_path(dir, "leaf-chain.pem");
	const char *p2 = rctest_path(dir, "rootleaf-chain.pem");
	X509 *leaf;
	EVP_PKEY *k;

	(void)state;
	assert_int_equal(rc_ca_issue(inter, "c", RC_KEY_P256, 1, &leaf, &k),
	    RC_OK);
	assert_int_equal(rc_ca_write_chain(p1, inter, leaf, 0), RC_OK);
	assert_int_equal(count_certs(p1), 2);
	assert_int_equal(rc_ca_write_chain(p1, inter, leaf, 0), RC_EEXIST);
	assert_int_equal(rc_ca_write_chain(p2, root, leaf, 0), RC_OK);
	assert_int_equal(count_certs(p2), 1);
	assert_int_equal(rc_ca_write_chain(p2, root, NULL, 1), RC_EINVAL);
	X509_free(leaf);
	EVP_PKEY_free(k);
}

static X509_REQ *alloc_csr;

static int
sign_one(void *arg)
{
	X509 *leaf;
	int rc;

	(void)arg;
	if ((rc = rc_ca_sign_csr(inter, alloc_csr, 30, &leaf)) == RC_OK)
		X509_free(leaf);
	return rc;
}

static void
test_sign_each_alloc(void **state)
{
	EVP_PKEY *k;

	(void)state;
	assert_int_equal(rc_key_gen(RC_KEY_P256, &k), RC_OK);
	assert_int_equal(rc_csr_new(k, "dev-alloc", &alloc_csr), RC_OK);
	rctest_each_alloc(sign_one, NULL, 0);
	X509_REQ_free(alloc_csr);
	EVP_PKEY_free(k);
}

static int
crl_one(void *arg)
{
	static const char *const serials[] = {"01", "7F:FF", "abcdef"};
	X509_CRL *crl;
	int rc;

	(void)arg;
	if ((rc = rc_ca_crl(inter, serials, 3, 7, &crl)) == RC_OK)
		X509_CRL_free(crl);
	return rc;
}

static void
test_crl_each_alloc(void **state)
{
	(void)state;
	rctest_each_alloc(crl_one, NULL, 0);
}

static int
setup(void **state)
{
	(void)state;
	if (rc_ca_new_root("Test Root", RC_KEY_P256, RC_CA_DAYS_ROOT, &root) !=
	    RC_OK)
		return -1;
	if (rc_ca_new_intermediate(root, "Test Intermediate", RC_KEY_P256,
	        RC_CA_DAYS_INTERMEDIATE, &inter) != RC_OK)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	rc_ca_free(root);
	rc_ca_free(inter);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_root),
	    cmocka_unit_test(test_intermediate),
	    cmocka_unit_test(test_sign_csr_policy),
	    cmocka_unit_test(test_sign_csr_secs),
	    cmocka_unit_test(test_issue_each_type),
	    cmocka_unit_test(test_issue_refused),
	    cmocka_unit_test(test_sign_csr_refused),
	    cmocka_unit_test(test_clamped_to_ca),
	    cmocka_unit_test(test_expired_ca),
	    cmocka_unit_test(test_rsa_ca),
	    cmocka_unit_test(test_server_cert),
	    cmocka_unit_test(test_server_cert_bad_san),
	    cmocka_unit_test(test_crl),
	    cmocka_unit_test(test_crl_refused),
	    cmocka_unit_test(test_verification_cert),
	    cmocka_unit_test(test_save_load),
	    cmocka_unit_test(test_load_broken),
	    cmocka_unit_test(test_write_chain),
	    cmocka_unit_test(test_sign_each_alloc),
	    cmocka_unit_test(test_crl_each_alloc),
	};
	FILE *devnull;
	int rc;

	rc_mem_hook_openssl();
	/* rc_ca_load explains its failures in the log; not wanted here */
	devnull = fopen("/dev/null", "w");
	rc_log_setfile(devnull);
	dir = rctest_tmpdir();
	rc = cmocka_run_group_tests(tests, setup, teardown);
	rctest_rmtree(dir);
	rc_log_setfile(NULL);
	fclose(devnull);
	return rc;
}
