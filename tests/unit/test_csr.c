/* Unit tests for PKCS#10 requests (csr.h). */
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "rctest.h"
#include "rollcall/buf.h"
#include "rollcall/csr.h"
#include "rollcall/enc.h"
#include "rollcall/key.h"
#include "rollcall/mem.h"

static EVP_PKEY *key_a, *key_b;

static X509_REQ *
make_csr(EVP_PKEY *k, const char *cn)
{
	X509_REQ *req;

	assert_int_equal(rc_csr_new(k, cn, &req), RC_OK);
	return req;
}

static uint8_t *
der_of(X509_REQ *req, size_t *len)
{
	uint8_t *der;

	assert_int_equal(rc_csr_to_der(req, &der, len), RC_OK);
	return der;
}

/* parse + verify + CN == cn */
static void
check_parses(const void *data, size_t len, const char *cn)
{
	X509_REQ *req;
	char *got;

	assert_int_equal(rc_csr_parse(data, len, &req), RC_OK);
	assert_int_equal(rc_csr_verify(req), RC_OK);
	assert_int_equal(rc_csr_get1_cn(req, &got), RC_OK);
	assert_string_equal(got, cn);
	rc_free(got);
	X509_REQ_free(req);
}

static void
round_trip(EVP_PKEY *k)
{
	X509_REQ *req;
	EVP_PKEY *pub;
	uint8_t *der;
	char *pem, *b64;
	size_t len, plen;

	req = make_csr(k, "dev-1");
	der = der_of(req, &len);
	assert_int_equal(rc_csr_to_pem(req, &pem, &plen), RC_OK);
	assert_int_equal(strlen(pem), plen);
	assert_int_equal(strncmp(pem, "-----BEGIN CERTIFICATE REQUEST-----\n",
	                     36),
	    0);
	assert_int_equal(rc_b64_encode(der, len, &b64), RC_OK);
	check_parses(der, len, "dev-1");
	check_parses(pem, plen, "dev-1");
	check_parses(b64, strlen(b64), "dev-1");
	assert_int_equal(rc_csr_get1_pubkey(req, &pub), RC_OK);
	assert_int_equal(EVP_PKEY_eq(pub, k), 1);
	EVP_PKEY_free(pub);
	assert_int_equal(X509_REQ_get_signature_nid(req),
	    rc_key_is_rsa(k) ? NID_sha256WithRSAEncryption
	                     : NID_ecdsa_with_SHA256);
	rc_free(b64);
	rc_free(pem);
	rc_free(der);
	X509_REQ_free(req);
}

static void
test_round_trip_each_type(void **state)
{
	EVP_PKEY *k;
	int t;

	(void)state;
	for (t = RC_KEY_P256; t <= RC_KEY_RSA3072; t++) {
		assert_int_equal(rc_key_gen((enum rc_key_type)t, &k), RC_OK);
		round_trip(k);
		EVP_PKEY_free(k);
	}
}

/* Line-wrapped base64 with CRLF and spaces, as pasted JSON strings carry. */
static void
test_formats(void **state)
{
	X509_REQ *req;
	struct rc_wbuf w;
	uint8_t *der;
	char *b64;
	size_t len, i;

	(void)state;
	req = make_csr(key_a, "dev-2");
	der = der_of(req, &len);
	X509_REQ_free(req);
	assert_int_equal(rc_b64_encode(der, len, &b64), RC_OK);
	rc_wbuf_init(&w, 65536);
	for (i = 0; b64[i] != '\0'; i++) {
		if (i > 0 && i % 64 == 0)
			assert_int_equal(rc_wbuf_puts(&w, "\r\n "), RC_OK);
		assert_int_equal(rc_wbuf_putc(&w, (uint8_t)b64[i]), RC_OK);
	}
	check_parses(w.data, w.len, "dev-2");
	/* the old label, explanatory text before, whitespace after */
	rc_wbuf_reset(&w);
	assert_int_equal(rc_wbuf_printf(&w,
	                     "Subject: CN=dev-2\n"
	                     "-----BEGIN NEW CERTIFICATE REQUEST-----\r\n"
	                     "%s\r\n-----END NEW CERTIFICATE "
	                     "REQUEST-----\r\n\n",
	                     b64),
	    RC_OK);
	check_parses(w.data, w.len, "dev-2");
	/* mismatched END label */
	rc_wbuf_reset(&w);
	assert_int_equal(rc_wbuf_printf(&w,
	                     "-----BEGIN NEW CERTIFICATE REQUEST-----\n%s\n"
	                     "-----END CERTIFICATE REQUEST-----\n",
	                     b64),
	    RC_OK);
	assert_int_equal(rc_csr_parse(w.data, w.len, &req), RC_EPARSE);
	assert_null(req);
	rc_free(b64);
	rc_free(der);
	rc_wbuf_free(&w);
}

static void
test_pem_refused(void **state)
{
	static const char *const bad[] = {
	    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
	    "-----BEGIN CERTIFICATE REQUEST-----\n",
	    "-----BEGIN CERTIFICATE REQUEST----- MIIB\n"
	    "-----END CERTIFICATE REQUEST-----\n",
	    "-----BEGIN CERTIFICATE REQUEST-----\nProc-Type: 4,ENCRYPTED\n"
	    "-----END CERTIFICATE REQUEST-----\n",
	    "-----BEGIN CERTIFICATE REQUEST-----\n"
	    "-----END CERTIFICATE REQUEST-----\n",
	    "-----BEGIN ",
	};
	X509_REQ *req, *good;
	char *pem, *withtail;
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		req = (X509_REQ *)1;
		assert_int_not_equal(rc_csr_parse(bad[i], strlen(bad[i]), &req),
		    RC_OK);
		assert_null(req);
	}
	good = make_csr(key_a, "dev-3");
	assert_int_equal(rc_csr_to_pem(good, &pem, &len), RC_OK);
	/* every truncation of the PEM text fails */
	for (i = 0; i < len - 1; i++) {
		assert_int_not_equal(rc_csr_parse(pem, i, &req), RC_OK);
		assert_null(req);
	}
	/* the last newline is optional */
	assert_int_equal(rc_csr_parse(pem, len - 1, &req), RC_OK);
	X509_REQ_free(req);
	/* something after the END line */
	withtail = rc_malloc(len + 3);
	memcpy(withtail, pem, len);
	memcpy(withtail + len, "x\n", 3);
	assert_int_equal(rc_csr_parse(withtail, len + 2, &req), RC_EPARSE);
	rc_free(withtail);
	rc_free(pem);
	X509_REQ_free(good);
}

static void
test_der_truncated_and_trailing(void **state)
{
	X509_REQ *req, *good;
	uint8_t *der, *more;
	size_t len, i;

	(void)state;
	good = make_csr(key_a, "dev-4");
	der = der_of(good, &len);
	for (i = 1; i < len; i++) {
		assert_int_equal(rc_csr_parse(der, i, &req), RC_ETRUNC);
		assert_null(req);
	}
	assert_int_equal(rc_csr_parse(der, 0, &req), RC_EPARSE);
	more = rc_malloc(len + 1);
	memcpy(more, der, len);
	more[len] = 0;
	assert_int_equal(rc_csr_parse(more, len + 1, &req), RC_EPARSE);
	rc_free(more);
	rc_free(der);
	X509_REQ_free(good);
}

/* The outer length must be definite and minimal (X.690 section 10.1). */
static void
test_der_length_forms(void **state)
{
	static const uint8_t indefinite[] = {0x30, 0x80, 0x00, 0x00};
	static const uint8_t toolong[] = {0x30, 0x84, 0x00, 0x00, 0x01, 0x00};
	static const uint8_t short81[] = {0x30, 0x81, 0x05, 1, 2, 3, 4, 5};
	static const uint8_t notseq[] = {0x31, 0x00};
	X509_REQ *req, *good;
	uint8_t *der, *wide;
	size_t len;

	(void)state;
	assert_int_equal(rc_csr_parse(indefinite, sizeof(indefinite), &req),
	    RC_EPARSE);
	assert_int_equal(rc_csr_parse(toolong, sizeof(toolong), &req),
	    RC_EPARSE);
	assert_int_equal(rc_csr_parse(short81, sizeof(short81), &req),
	    RC_EPARSE);
	assert_int_equal(rc_csr_parse(notseq, sizeof(notseq), &req), RC_EPARSE);
	good = make_csr(key_a, "dev-5");
	der = der_of(good, &len);
	/* 30 81 xx (P-256 CSRs are < 256 bytes): widen to 30 82 00 xx */
	assert_int_equal(der[1], 0x81);
	wide = rc_malloc(len + 1);
	wide[0] = 0x30;
	wide[1] = 0x82;
	wide[2] = 0x00;
	memcpy(wide + 3, der + 2, len - 2);
	assert_int_equal(rc_csr_parse(wide, len + 1, &req), RC_EPARSE);
	assert_null(req);
	rc_free(wide);
	rc_free(der);
	X509_REQ_free(good);
}

static void
test_garbage(void **state)
{
	static const char *const bad[] = {"!!!!", "MIIB%%%%",
	    "MIIBCg=", "====", "AAAA", "aGVsbG8gd29ybGQ=", " ", "\n\n"};
	X509_REQ *req;
	char *big;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(rc_csr_parse(bad[i], strlen(bad[i]), &req),
		    RC_EPARSE);
		assert_null(req);
	}
	assert_int_equal(rc_csr_parse(NULL, 0, &req), RC_EPARSE);
	big = rc_malloc(RC_CSR_MAX_INPUT + 1);
	memset(big, 'A', RC_CSR_MAX_INPUT + 1);
	assert_int_equal(rc_csr_parse(big, RC_CSR_MAX_INPUT + 1, &req),
	    RC_ETOOBIG);
	/* at the limit the size is fine; the content is not */
	assert_int_equal(rc_csr_parse(big, RC_CSR_MAX_INPUT, &req), RC_EPARSE);
	rc_free(big);
}

/* A PEM padded with explanatory text up to exactly the input limit. */
static void
test_max_input(void **state)
{
	X509_REQ *good, *req;
	char *pem, *big;
	size_t len;

	(void)state;
	good = make_csr(key_a, "dev-max");
	assert_int_equal(rc_csr_to_pem(good, &pem, &len), RC_OK);
	big = rc_malloc(RC_CSR_MAX_INPUT + 1);
	memset(big, '#', RC_CSR_MAX_INPUT + 1);
	memcpy(big + RC_CSR_MAX_INPUT - len, pem, len);
	assert_int_equal(rc_csr_parse(big, RC_CSR_MAX_INPUT, &req), RC_OK);
	X509_REQ_free(req);
	memcpy(big + RC_CSR_MAX_INPUT + 1 - len, pem, len);
	assert_int_equal(rc_csr_parse(big, RC_CSR_MAX_INPUT + 1, &req),
	    RC_ETOOBIG);
	rc_free(big);
	rc_free(pem);
	X509_REQ_free(good);
}

/* Signed by B with A's public key inside: the proof of possession fails. */
static void
test_wrong_key(void **state)
{
	X509_REQ *req, *back;
	uint8_t *der;
	size_t len;

	(void)state;
	req = X509_REQ_new();
	assert_true(X509_NAME_add_entry_by_NID(X509_REQ_get_subject_name(req),
	    NID_commonName, MBSTRING_UTF8, (const unsigned char *)"dev-6", -1,
	    -1, 0));
	assert_true(X509_REQ_set_pubkey(req, key_a));
	assert_true(X509_REQ_sign(req, key_b, EVP_sha256()) > 0);
	assert_int_equal(rc_csr_verify(req), RC_EBADSIG);
	der = der_of(req, &len);
	assert_int_equal(rc_csr_parse(der, len, &back), RC_OK);
	assert_int_equal(rc_csr_verify(back), RC_EBADSIG);
	X509_REQ_free(back);
	rc_free(der);
	X509_REQ_free(req);
}

/* Each byte of the CN changed in turn: parses, but never verifies. */
static void
test_tampered(void **state)
{
	X509_REQ *good, *req;
	uint8_t *der, *p;
	size_t len;
	int i;

	(void)state;
	good = make_csr(key_a, "dev-tamper");
	der = der_of(good, &len);
	p = memmem(der, len, "dev-tamper", 10);
	assert_non_null(p);
	for (i = 0; i < 10; i++) {
		p[i] ^= 0x01;
		assert_int_equal(rc_csr_parse(der, len, &req), RC_OK);
		assert_int_equal(rc_csr_verify(req), RC_EBADSIG);
		X509_REQ_free(req);
		p[i] ^= 0x01;
	}
	/* the last byte sits in the signature */
	der[len - 1] ^= 0x40;
	if (rc_csr_parse(der, len, &req) == RC_OK) {
		assert_int_equal(rc_csr_verify(req), RC_EBADSIG);
		X509_REQ_free(req);
	}
	rc_free(der);
	X509_REQ_free(good);
}

static void
test_weak_digest(void **state)
{
	X509_REQ *req;

	(void)state;
	req = X509_REQ_new();
	assert_true(X509_REQ_set_pubkey(req, key_a));
	assert_true(X509_REQ_sign(req, key_a, EVP_sha1()) > 0);
	assert_int_equal(rc_csr_verify(req), RC_EUNSUPPORTED);
	X509_REQ_free(req);
}

static void
cn_round_trip(const char *cn)
{
	X509_REQ *req;
	uint8_t *der;
	size_t len;

	req = make_csr(key_a, cn);
	der = der_of(req, &len);
	check_parses(der, len, cn);
	rc_free(der);
	X509_REQ_free(req);
}

static void
test_cn_characters(void **state)
{
	static const char *const cns[] = {"a,b", "a=b", "a+b", "\"quoted\"",
	    "it's", "Ger\xc3\xa4t-\xc3\xbc", "with spaces", " lead", "trail ",
	    "<>;#\\", "\xe2\x82\xac", "\xf0\x9f\x94\x91", "x"};
	char cn64[RC_CN_MAX + 2], umlauts[2 * RC_CN_MAX + 3];
	X509_REQ *req;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cns) / sizeof(cns[0]); i++)
		cn_round_trip(cns[i]);
	memset(cn64, 'c', sizeof(cn64) - 1);
	cn64[RC_CN_MAX] = '\0';
	cn_round_trip(cn64);
	cn64[RC_CN_MAX] = 'c';
	cn64[RC_CN_MAX + 1] = '\0';
	assert_int_equal(rc_csr_new(key_a, cn64, &req), RC_ETOOBIG);
	assert_null(req);
	/* the limit counts characters, not bytes */
	for (i = 0; i < RC_CN_MAX; i++)
		memcpy(umlauts + 2 * i, "\xc3\xbc", 2);
	umlauts[2 * RC_CN_MAX] = '\0';
	cn_round_trip(umlauts);
	memcpy(umlauts + 2 * RC_CN_MAX, "\xc3\xbc", 3);
	assert_int_equal(rc_csr_new(key_a, umlauts, &req), RC_ETOOBIG);
	assert_int_equal(rc_csr_new(key_a, "", &req), RC_EINVAL);
	assert_int_equal(rc_csr_new(key_a, NULL, &req), RC_EINVAL);
	assert_int_equal(rc_csr_new(key_a, "bad\xff", &req), RC_EINVAL);
	assert_int_equal(rc_csr_new(key_a, "\xc0\xaf", &req), RC_EINVAL);
	assert_int_equal(rc_csr_new(key_a, "\xed\xa0\x80", &req), RC_EINVAL);
	assert_int_equal(rc_csr_new(key_a, "\xf4\x90\x80\x80", &req),
	    RC_EINVAL);
	assert_int_equal(rc_csr_new(key_a, "\xc3", &req), RC_EINVAL);
}

/* A request whose subject is built by hand, bypassing rc_csr_new. */
static X509_REQ *
raw_subject(int nid, int type, const void *bytes, int len, int times)
{
	X509_REQ *req;
	X509_NAME *name;
	int i;

	req = X509_REQ_new();
	name = X509_REQ_get_subject_name(req);
	for (i = 0; i < times; i++)
		assert_true(X509_NAME_add_entry_by_NID(name, nid, type, bytes,
		    len, -1, 0));
	assert_true(X509_REQ_set_pubkey(req, key_a));
	assert_true(X509_REQ_sign(req, key_a, EVP_sha256()) > 0);
	return req;
}

static int
cn_of(X509_REQ *req, char **cn)
{
	uint8_t *der;
	X509_REQ *back;
	size_t len;
	int rc;

	der = der_of(req, &len);
	assert_int_equal(rc_csr_parse(der, len, &back), RC_OK);
	assert_int_equal(rc_csr_verify(back), RC_OK);
	rc = rc_csr_get1_cn(back, cn);
	X509_REQ_free(back);
	X509_REQ_free(req);
	rc_free(der);
	return rc;
}

/*
 * OpenSSL will not encode a name holding bad UTF-8, so those CNs are made
 * by patching the DER of a good one: parsing or reading the CN must fail.
 */
static void
patched_cn(const char *from, const char *to, size_t n)
{
	X509_REQ *req;
	uint8_t *der, *p;
	char *cn = NULL;
	size_t len;

	req = make_csr(key_a, from);
	der = der_of(req, &len);
	X509_REQ_free(req);
	assert_non_null(p = memmem(der, len, from, n));
	memcpy(p, to, n);
	if (rc_csr_parse(der, len, &req) == RC_OK) {
		assert_int_equal(rc_csr_get1_cn(req, &cn), RC_EPARSE);
		assert_null(cn);
		X509_REQ_free(req);
	}
	rc_free(der);
}

static void
test_cn_refused(void **state)
{
	static const uint8_t bmp[] = {0x00, 'h', 0x00, 'i'};
	char long65[RC_CN_MAX + 1], *cn;

	(void)state;
	memset(long65, 'x', sizeof(long65));
	assert_int_equal(cn_of(raw_subject(NID_organizationName, MBSTRING_UTF8,
	                           "Org", -1, 1),
	                     &cn),
	    RC_ENOENT);
	assert_null(cn);
	assert_int_equal(cn_of(raw_subject(NID_commonName, MBSTRING_UTF8,
	                           "twice", -1, 2),
	                     &cn),
	    RC_EPARSE);
	assert_int_equal(cn_of(raw_subject(NID_commonName, V_ASN1_UTF8STRING,
	                           "a\0b", 3, 1),
	                     &cn),
	    RC_EPARSE);
	assert_int_equal(cn_of(raw_subject(NID_commonName, V_ASN1_UTF8STRING,
	                           "", 0, 1),
	                     &cn),
	    RC_EPARSE);
	assert_int_equal(cn_of(raw_subject(NID_commonName, V_ASN1_UTF8STRING,
	                           long65, sizeof(long65), 1),
	                     &cn),
	    RC_ETOOBIG);
	assert_null(cn);
	patched_cn("dev-x", "dev-\xff", 5);
	patched_cn("dev-xx", "dev-\xc0\xaf", 6);
	patched_cn("dev-xxx", "dev-\xed\xa0\x80", 7);
	/* other string types come back as UTF-8 */
	assert_int_equal(cn_of(raw_subject(NID_commonName, V_ASN1_BMPSTRING,
	                           bmp, sizeof(bmp), 1),
	                     &cn),
	    RC_OK);
	assert_string_equal(cn, "hi");
	rc_free(cn);
}

static void
test_version_refused(void **state)
{
	X509_REQ *req, *back;
	uint8_t *der;
	size_t len;

	(void)state;
	req = X509_REQ_new();
	assert_true(X509_REQ_set_version(req, 2));
	assert_true(X509_REQ_set_pubkey(req, key_a));
	assert_true(X509_REQ_sign(req, key_a, EVP_sha256()) > 0);
	der = der_of(req, &len);
	assert_int_equal(rc_csr_parse(der, len, &back), RC_EPARSE);
	rc_free(der);
	X509_REQ_free(req);
}

static const void *alloc_in;
static size_t alloc_len;

static int
parse_verify(void *arg)
{
	X509_REQ *req;
	char *cn = NULL;
	int rc;

	(void)arg;
	if ((rc = rc_csr_parse(alloc_in, alloc_len, &req)) != RC_OK)
		return rc;
	if ((rc = rc_csr_verify(req)) == RC_OK)
		rc = rc_csr_get1_cn(req, &cn);
	rc_free(cn);
	X509_REQ_free(req);
	return rc;
}

static void
test_parse_each_alloc(void **state)
{
	X509_REQ *req;
	uint8_t *der;
	char *pem, *b64;
	size_t len, plen;

	(void)state;
	req = make_csr(key_a, "Ger\xc3\xa4t-alloc");
	assert_int_equal(rc_csr_to_pem(req, &pem, &plen), RC_OK);
	der = der_of(req, &len);
	assert_int_equal(rc_b64_encode(der, len, &b64), RC_OK);
	alloc_in = pem;
	alloc_len = plen;
	rctest_each_alloc(parse_verify, NULL, 0);
	alloc_in = b64;
	alloc_len = strlen(b64);
	rctest_each_alloc(parse_verify, NULL, 0);
	rc_free(b64);
	rc_free(der);
	rc_free(pem);
	X509_REQ_free(req);
}

static int
setup(void **state)
{
	(void)state;
	if (rc_key_gen(RC_KEY_P256, &key_a) != RC_OK ||
	    rc_key_gen(RC_KEY_P256, &key_b) != RC_OK)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(key_a);
	EVP_PKEY_free(key_b);
	return 0;
}

/*
 * A request signed by k (md NULL for EdDSA) with the given CNs, as
 * UTF8String without OpenSSL's length check.
 */
static X509_REQ *
raw_csr(EVP_PKEY *k, const EVP_MD *md, const char *cn1, const char *cn2)
{
	X509_NAME *name;
	X509_REQ *req;

	req = X509_REQ_new();
	assert_non_null(req);
	name = X509_REQ_get_subject_name(req);
	if (cn1 != NULL)
		assert_true(X509_NAME_add_entry_by_NID(name, NID_commonName,
		    V_ASN1_UTF8STRING, (const unsigned char *)cn1, -1, -1, 0));
	if (cn2 != NULL)
		assert_true(X509_NAME_add_entry_by_NID(name, NID_commonName,
		    V_ASN1_UTF8STRING, (const unsigned char *)cn2, -1, -1, 0));
	assert_true(X509_REQ_set_pubkey(req, k));
	assert_true(X509_REQ_sign(req, k, md) > 0);
	return req;
}

static void
check_csr(X509_REQ *req, const char *cn, int want, const char *why_has)
{
	char why[256];

	assert_int_equal(rc_csr_check(req, cn, why, sizeof(why)), want);
	if (want == RC_OK) {
		assert_string_equal(why, "");
		return;
	}
	if (strstr(why, why_has) == NULL)
		fail_msg("why \"%s\" does not say \"%s\"", why, why_has);
}

static void
test_check_accepts(void **state)
{
	static const enum rc_key_type types[] = {RC_KEY_P256, RC_KEY_P384,
	    RC_KEY_RSA2048, RC_KEY_RSA3072};
	X509_REQ *req;
	EVP_PKEY *k;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		assert_int_equal(rc_key_gen(types[i], &k), RC_OK);
		req = make_csr(k, "dev-1.a_b:c");
		check_csr(req, "dev-1.a_b:c", RC_OK, NULL);
		assert_int_equal(rc_csr_check(req, "dev-1.a_b:c", NULL, 0),
		    RC_OK);
		X509_REQ_free(req);
		EVP_PKEY_free(k);
	}
}

static void
test_check_cn(void **state)
{
	char cn64[65], cn65[66];
	X509_REQ *req;

	(void)state;
	req = make_csr(key_a, "dev-1");
	/* exact comparison: case counts, as in Azure's CN rule */
	check_csr(req, "Dev-1", RC_EINVAL, "not the registration ID");
	check_csr(req, "dev-1 ", RC_EINVAL, "not the registration ID");
	check_csr(req, "dev-", RC_EINVAL, "not the registration ID");
	X509_REQ_free(req);
	req = raw_csr(key_a, EVP_sha256(), NULL, NULL);
	check_csr(req, "dev-1", RC_ENOENT, "no CN");
	X509_REQ_free(req);
	req = raw_csr(key_a, EVP_sha256(), "dev-1", "dev-1");
	check_csr(req, "dev-1", RC_EPARSE, "exactly one CN");
	X509_REQ_free(req);
	memset(cn64, 'a', 64);
	cn64[64] = '\0';
	req = make_csr(key_a, cn64);
	check_csr(req, cn64, RC_OK, NULL);
	X509_REQ_free(req);
	memset(cn65, 'a', 65);
	cn65[65] = '\0';
	req = raw_csr(key_a, EVP_sha256(), cn65, NULL);
	check_csr(req, cn64, RC_ETOOBIG, "longer than 64");
	X509_REQ_free(req);
}

static void
test_check_signature(void **state)
{
	X509_REQ *req;

	(void)state;
	req = X509_REQ_new();
	assert_true(X509_NAME_add_entry_by_NID(X509_REQ_get_subject_name(req),
	    NID_commonName, MBSTRING_UTF8, (const unsigned char *)"dev-1", -1,
	    -1, 0));
	assert_true(X509_REQ_set_pubkey(req, key_a));
	assert_true(X509_REQ_sign(req, key_b, EVP_sha256()) > 0);
	check_csr(req, "dev-1", RC_EBADSIG, "signature does not verify");
	X509_REQ_free(req);
	req = raw_csr(key_a, EVP_sha1(), "dev-1", NULL);
	check_csr(req, "dev-1", RC_EUNSUPPORTED, "weak");
	X509_REQ_free(req);
}

static void
test_check_key(void **state)
{
	X509_REQ *req;
	EVP_PKEY *k;

	(void)state;
	k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	assert_non_null(k);
	req = raw_csr(k, EVP_sha256(), "dev-1", NULL);
	check_csr(req, "dev-1", RC_EUNSUPPORTED, "RSA-1024");
	X509_REQ_free(req);
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	assert_non_null(k);
	req = raw_csr(k, EVP_sha256(), "dev-1", NULL);
	check_csr(req, "dev-1", RC_EUNSUPPORTED, "secp521r1");
	X509_REQ_free(req);
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(k);
	req = raw_csr(k, NULL, "dev-1", NULL);
	check_csr(req, "dev-1", RC_EUNSUPPORTED, "accepted are EC P-256");
	X509_REQ_free(req);
	EVP_PKEY_free(k);
}

static void
test_check_args(void **state)
{
	X509_REQ *req;
	char why[8];

	(void)state;
	req = make_csr(key_a, "dev-1");
	assert_int_equal(rc_csr_check(NULL, "dev-1", why, sizeof(why)),
	    RC_EINVAL);
	assert_int_equal(rc_csr_check(req, NULL, why, sizeof(why)), RC_EINVAL);
	assert_int_equal(rc_csr_check(req, "", why, sizeof(why)), RC_EINVAL);
	/* a short why is cut, still terminated */
	assert_int_equal(rc_csr_check(req, "dev-2", why, sizeof(why)),
	    RC_EINVAL);
	assert_int_equal(strlen(why), sizeof(why) - 1);
	assert_int_equal(rc_csr_check(req, "dev-2", why, 0), RC_EINVAL);
	X509_REQ_free(req);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip_each_type),
	    cmocka_unit_test(test_formats),
	    cmocka_unit_test(test_pem_refused),
	    cmocka_unit_test(test_der_truncated_and_trailing),
	    cmocka_unit_test(test_der_length_forms),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_max_input),
	    cmocka_unit_test(test_wrong_key),
	    cmocka_unit_test(test_tampered),
	    cmocka_unit_test(test_weak_digest),
	    cmocka_unit_test(test_cn_characters),
	    cmocka_unit_test(test_cn_refused),
	    cmocka_unit_test(test_version_refused),
	    cmocka_unit_test(test_parse_each_alloc),
	    cmocka_unit_test(test_check_accepts),
	    cmocka_unit_test(test_check_cn),
	    cmocka_unit_test(test_check_signature),
	    cmocka_unit_test(test_check_key),
	    cmocka_unit_test(test_check_args),
	};

	rc_mem_hook_openssl();
	return cmocka_run_group_tests(tests, setup, teardown);
}
