/* Unit tests for certificate intake, inspection and verification (x509.h). */
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "rctest.h"
#include "rollcall/buf.h"
#include "rollcall/enc.h"
#include "rollcall/mem.h"
#include "rollcall/x509.h"
#include "testpki.h"

/* A root -> intermediate -> leaf chain, made once for all tests. */
static struct {
	EVP_PKEY *rk, *ik, *lk;
	X509 *root, *inter, *leaf;
	char *leaf_pem, *inter_pem, *root_pem;
	uint8_t *leaf_der;
	size_t leaf_pem_len, leaf_der_len;
} pki;

static int
setup(void **state)
{
	struct testpki_opts o;

	(void)state;
	pki.rk = testpki_key();
	pki.ik = testpki_key();
	pki.lk = testpki_key();
	o = TESTPKI_CA("Test Root");
	pki.root = testpki_cert(pki.rk, &o);
	o = TESTPKI_SUBCA("Test Intermediate", pki.root, pki.rk);
	pki.inter = testpki_cert(pki.ik, &o);
	o = TESTPKI_LEAF("device-1", pki.inter, pki.ik);
	o.san = "DNS:device-1.example,IP:127.0.0.1";
	pki.leaf = testpki_cert(pki.lk, &o);
	pki.leaf_pem = testpki_pem(pki.leaf, &pki.leaf_pem_len);
	pki.inter_pem = testpki_pem(pki.inter, NULL);
	pki.root_pem = testpki_pem(pki.root, NULL);
	pki.leaf_der = testpki_der(pki.leaf, &pki.leaf_der_len);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	X509_free(pki.leaf);
	X509_free(pki.inter);
	X509_free(pki.root);
	EVP_PKEY_free(pki.lk);
	EVP_PKEY_free(pki.ik);
	EVP_PKEY_free(pki.rk);
	rc_free(pki.leaf_pem);
	rc_free(pki.inter_pem);
	rc_free(pki.root_pem);
	rc_free(pki.leaf_der);
	return 0;
}

/* Concatenation of strings, rc_malloc'd. */
static char *
cat(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *s;

	s = rc_malloc(la + lb + lc + 1);
	assert_non_null(s);
	memcpy(s, a, la);
	memcpy(s + la, b, lb);
	memcpy(s + la + lb, c, lc + 1);
	return s;
}

static void
assert_info_equal(const struct rc_cert_info *a, const struct rc_cert_info *b)
{
	assert_string_equal(a->subject, b->subject);
	assert_string_equal(a->issuer, b->issuer);
	assert_string_equal(a->sha1, b->sha1);
	assert_string_equal(a->sha256, b->sha256);
	assert_string_equal(a->serial, b->serial);
	assert_string_equal(a->not_before, b->not_before);
	assert_string_equal(a->not_after, b->not_after);
	assert_true(a->not_before_t == b->not_before_t);
	assert_true(a->not_after_t == b->not_after_t);
	assert_int_equal(a->version, b->version);
}

/* Parses one input both ways and checks it is the leaf. */
static void
assert_is_leaf(const void *data, size_t len)
{
	struct rc_cert_info want, got;
	STACK_OF(X509) *sk = NULL;
	X509 *x = NULL;

	assert_int_equal(rc_x509_info(pki.leaf, &want), RC_OK);
	assert_int_equal(rc_x509_parse(data, len, &x), RC_OK);
	assert_int_equal(rc_x509_info(x, &got), RC_OK);
	assert_info_equal(&want, &got);
	assert_int_equal(X509_cmp(x, pki.leaf), 0);
	rc_x509_info_clear(&got);
	assert_int_equal(rc_x509_parse_chain(data, len, 4, &sk), RC_OK);
	assert_int_equal(sk_X509_num(sk), 1);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 0), pki.leaf), 0);
	rc_x509_info_clear(&want);
	sk_X509_pop_free(sk, X509_free);
	X509_free(x);
}

static void
test_forms_equal(void **state)
{
	char *b64, *wrapped, *body;
	const char *p, *q;

	(void)state;
	assert_is_leaf(pki.leaf_pem, pki.leaf_pem_len);
	assert_is_leaf(pki.leaf_der, pki.leaf_der_len);
	assert_int_equal(rc_b64_encode(pki.leaf_der, pki.leaf_der_len, &b64),
	    RC_OK);
	assert_is_leaf(b64, strlen(b64));
	/* the PEM body alone: wrapped base64, as pasted */
	p = strchr(pki.leaf_pem, '\n') + 1;
	q = strstr(pki.leaf_pem, "-----END");
	body = rc_strndup(p, (size_t)(q - p));
	assert_non_null(body);
	assert_is_leaf(body, strlen(body));
	/* CRLF line ends, leading and trailing whitespace, text around */
	wrapped = cat("  \r\n", b64, " \t\r\n");
	assert_is_leaf(wrapped, strlen(wrapped));
	rc_free(wrapped);
	wrapped = cat("Subject: device-1\r\nexplanatory text\r\n", pki.leaf_pem,
	    "trailing text\n");
	assert_is_leaf(wrapped, strlen(wrapped));
	rc_free(wrapped);
	rc_free(body);
	rc_free(b64);
}

/* PEM with CRLF line ends and an indented block. */
static void
test_pem_crlf(void **state)
{
	struct rc_wbuf w;
	size_t i;

	(void)state;
	rc_wbuf_init(&w, 1 << 16);
	for (i = 0; i < pki.leaf_pem_len; i++) {
		if (pki.leaf_pem[i] == '\n')
			assert_int_equal(rc_wbuf_puts(&w, "\r\n   "), RC_OK);
		else
			assert_int_equal(rc_wbuf_putc(&w,
			                     (uint8_t)pki.leaf_pem[i]),
			    RC_OK);
	}
	assert_is_leaf(w.data, w.len);
	rc_wbuf_free(&w);
}

/* Re-signs x with new validity given as ASN.1 time strings. */
static void
set_times(X509 *x, EVP_PKEY *k, const char *nb, const char *na)
{
	assert_true(ASN1_TIME_set_string_X509(X509_getm_notBefore(x), nb));
	assert_true(ASN1_TIME_set_string_X509(X509_getm_notAfter(x), na));
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
}

static void
test_info_fields(void **state)
{
	struct testpki_opts o = TESTPKI_CA(NULL);
	struct rc_cert_info info;
	X509_NAME *n;
	X509 *x;

	(void)state;
	n = testpki_name("C", "US", "O", "MSFT", "OU", "Azure IoT", "CN",
	    "ROOT_x", NULL);
	o.name = n;
	o.serial = 0x1234abcd;
	x = testpki_cert(pki.rk, &o);
	set_times(x, pki.rk, "20240102030405Z", "20510607080910Z");
	assert_int_equal(rc_x509_info(x, &info), RC_OK);
	assert_string_equal(info.subject,
	    "CN=ROOT_x, OU=Azure IoT, O=MSFT, C=US");
	assert_string_equal(info.issuer, info.subject);
	assert_string_equal(info.serial, "1234ABCD");
	assert_string_equal(info.not_before, "2024-01-02T03:04:05Z");
	assert_string_equal(info.not_after, "2051-06-07T08:09:10Z");
	assert_true(info.not_before_t == 1704164645);
	assert_true(info.not_after_t == 2569738150);
	assert_int_equal(info.version, 3);
	rc_x509_info_clear(&info);
	rc_x509_info_clear(&info);
	assert_null(info.subject);
	X509_free(x);
	X509_NAME_free(n);
}

static void
test_info_issuer_and_serial(void **state)
{
	struct testpki_opts o = TESTPKI_LEAF("hi-bit", pki.inter, pki.ik);
	struct rc_cert_info info;
	X509 *x;

	(void)state;
	/* the high bit set: DER adds a 00 byte, openssl -serial does not */
	o.serial = 0x8000000000000001ULL;
	x = testpki_cert(pki.lk, &o);
	assert_int_equal(rc_x509_info(x, &info), RC_OK);
	assert_string_equal(info.serial, "8000000000000001");
	assert_string_equal(info.issuer, "CN=Test Intermediate");
	assert_string_equal(info.subject, "CN=hi-bit");
	rc_x509_info_clear(&info);
	X509_free(x);
}

static void
test_info_json(void **state)
{
	struct rc_cert_info info;
	json_t *j;

	(void)state;
	assert_int_equal(rc_x509_info(pki.leaf, &info), RC_OK);
	assert_int_equal(rc_x509_info_to_json(&info, &j), RC_OK);
	assert_string_equal(json_string_value(
	                        json_object_get(j, "subjectName")),
	    "CN=device-1");
	assert_string_equal(json_string_value(json_object_get(j, "issuerName")),
	    "CN=Test Intermediate");
	assert_string_equal(json_string_value(
	                        json_object_get(j, "sha1Thumbprint")),
	    info.sha1);
	assert_string_equal(json_string_value(
	                        json_object_get(j, "sha256Thumbprint")),
	    info.sha256);
	assert_string_equal(json_string_value(
	                        json_object_get(j, "notBeforeUtc")),
	    info.not_before);
	assert_string_equal(json_string_value(
	                        json_object_get(j, "notAfterUtc")),
	    info.not_after);
	assert_string_equal(json_string_value(
	                        json_object_get(j, "serialNumber")),
	    info.serial);
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 3);
	assert_int_equal(json_object_size(j), 8);
	json_decref(j);
	rc_free(info.subject);
	info.subject = rc_strdup("bad \xff utf-8");
	assert_int_equal(rc_x509_info_to_json(&info, &j), RC_EPARSE);
	assert_null(j);
	rc_x509_info_clear(&info);
}

static void
assert_thumbprint(X509 *x, int sha256)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	char want[129], got[65];
	unsigned int n;

	assert_true(X509_digest(x, sha256 ? EVP_sha256() : EVP_sha1(), md, &n));
	assert_int_equal(rc_hex_upper(md, n, want, sizeof(want)), RC_OK);
	assert_int_equal(rc_x509_thumbprint(x, sha256, got, sizeof(got)),
	    RC_OK);
	assert_string_equal(got, want);
}

static void
test_thumbprints(void **state)
{
	struct rc_cert_info info;
	char small[64];

	(void)state;
	assert_thumbprint(pki.leaf, 0);
	assert_thumbprint(pki.leaf, 1);
	assert_thumbprint(pki.root, 1);
	assert_int_equal(rc_x509_info(pki.leaf, &info), RC_OK);
	assert_int_equal(strlen(info.sha1), 40);
	assert_int_equal(strlen(info.sha256), 64);
	assert_int_equal(rc_x509_thumbprint(pki.leaf, 0, small, 40),
	    RC_ETOOBIG);
	assert_int_equal(rc_x509_thumbprint(pki.leaf, 1, small, 64),
	    RC_ETOOBIG);
	assert_int_equal(rc_x509_thumbprint(pki.leaf, 0, small, 41), RC_OK);
	assert_string_equal(small, info.sha1);
	rc_x509_info_clear(&info);
}

static void
test_thumbprint_eq(void **state)
{
	(void)state;
	assert_true(rc_x509_thumbprint_eq("D2F9770B46", "d2f9770b46"));
	assert_true(rc_x509_thumbprint_eq("ABCDEF", "ABCDEF"));
	assert_false(rc_x509_thumbprint_eq("ABCDEF", "ABCDEE"));
	assert_false(rc_x509_thumbprint_eq("ABCDEF", "ABCDE"));
	assert_false(rc_x509_thumbprint_eq("ABCDEF", "ABCDEF0"));
	assert_false(rc_x509_thumbprint_eq("@", "`"));
	assert_false(rc_x509_thumbprint_eq("[", "{"));
	assert_false(rc_x509_thumbprint_eq("", ""));
	assert_false(rc_x509_thumbprint_eq(NULL, "AB"));
	assert_false(rc_x509_thumbprint_eq("AB", NULL));
}

/* A self-signed certificate whose subject has the given CN entries. */
static X509 *
cert_with_cns(const void *const *cns, const int *lens, const int *types, int n)
{
	struct testpki_opts o = TESTPKI_CA(NULL);
	X509_NAME *name;
	X509 *x;
	int i;

	name = X509_NAME_new();
	assert_non_null(name);
	assert_true(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)"Org", -1, -1, 0));
	for (i = 0; i < n; i++)
		assert_true(X509_NAME_add_entry_by_NID(name, NID_commonName,
		    types[i], cns[i], lens[i], -1, 0));
	o.name = name;
	x = testpki_cert(pki.rk, &o);
	X509_NAME_free(name);
	return x;
}

/* A certificate whose subject has one CN with these bytes. */
static X509 *
cert_with_cn(const void *bytes, int len, int type)
{
	const void *cns[1] = {bytes};

	return cert_with_cns(cns, &len, &type, 1);
}

/* get1_cn of a certificate whose single CN has these bytes. */
static int
cn_of(const void *bytes, int len, int type, char **cn)
{
	X509 *x;
	int rc;

	x = cert_with_cn(bytes, len, type);
	rc = rc_x509_get1_cn(x, cn);
	X509_free(x);
	return rc;
}

static void
test_cn_odd_characters(void **state)
{
	static const char *const odd[] = {"a,b", "a+b", "a=b", "say \"hi\"",
	    " spaced  out ", "Gerät-ü", "#hash", "back\\slash", "<>;"};
	struct testpki_opts o;
	struct rc_cert_info info;
	size_t i;
	char *cn;
	X509 *x;

	(void)state;
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		o = TESTPKI_CA(odd[i]);
		x = testpki_cert(pki.rk, &o);
		assert_int_equal(rc_x509_get1_cn(x, &cn), RC_OK);
		assert_string_equal(cn, odd[i]);
		assert_int_equal(rc_x509_info(x, &info), RC_OK);
		rc_x509_info_clear(&info);
		rc_free(cn);
		X509_free(x);
	}
	/* RFC 2253 escaping in the name string; UTF-8 left as is */
	o = TESTPKI_CA("a,b+c \"Gerät\"");
	x = testpki_cert(pki.rk, &o);
	assert_int_equal(rc_x509_info(x, &info), RC_OK);
	assert_string_equal(info.subject, "CN=a\\,b\\+c \\\"Gerät\\\"");
	rc_x509_info_clear(&info);
	X509_free(x);
}

static void
test_cn_limits(void **state)
{
	char buf[256], *cn;
	int i;

	(void)state;
	memset(buf, 'a', sizeof(buf));
	assert_int_equal(cn_of(buf, 64, V_ASN1_UTF8STRING, &cn), RC_OK);
	assert_int_equal(strlen(cn), 64);
	rc_free(cn);
	assert_int_equal(cn_of(buf, 65, V_ASN1_UTF8STRING, &cn), RC_ETOOBIG);
	assert_null(cn);
	/* the limit counts characters, not bytes: 64 x "ü" is 128 bytes */
	for (i = 0; i < 65; i++)
		memcpy(buf + 2 * i, "\xc3\xbc", 2);
	assert_int_equal(cn_of(buf, 128, V_ASN1_UTF8STRING, &cn), RC_OK);
	assert_int_equal(strlen(cn), 128);
	rc_free(cn);
	assert_int_equal(cn_of(buf, 130, V_ASN1_UTF8STRING, &cn), RC_ETOOBIG);
	/* empty, embedded NUL (invalid UTF-8: see test_der_bad_utf8) */
	assert_int_equal(cn_of("", 0, V_ASN1_UTF8STRING, &cn), RC_EPARSE);
	assert_int_equal(cn_of("ab\0cd", 5, V_ASN1_UTF8STRING, &cn), RC_EPARSE);
	assert_null(cn);
	/* a BMPString comes back as UTF-8 */
	assert_int_equal(cn_of("\x00G\x00\xe4", 4, V_ASN1_BMPSTRING, &cn),
	    RC_OK);
	assert_string_equal(cn, "G\xc3\xa4");
	rc_free(cn);
}

static void
test_cn_none_or_two(void **state)
{
	const void *cns[2] = {"one", "two"};
	int lens[2] = {3, 3};
	int types[2] = {V_ASN1_UTF8STRING, V_ASN1_UTF8STRING};
	X509 *x;
	char *cn;

	(void)state;
	x = cert_with_cns(cns, lens, types, 0);
	assert_int_equal(rc_x509_get1_cn(x, &cn), RC_ENOENT);
	assert_null(cn);
	X509_free(x);
	x = cert_with_cns(cns, lens, types, 2);
	assert_int_equal(rc_x509_get1_cn(x, &cn), RC_EPARSE);
	assert_null(cn);
	X509_free(x);
	assert_int_equal(rc_x509_get1_cn(pki.leaf, &cn), RC_OK);
	assert_string_equal(cn, "device-1");
	rc_free(cn);
}

static void
assert_both_fail(const void *data, size_t len, int single, int chain)
{
	STACK_OF(X509) *sk = (STACK_OF(X509) *)1;
	X509 *x = (X509 *)1;

	assert_int_equal(rc_x509_parse(data, len, &x), single);
	assert_null(x);
	assert_int_equal(rc_x509_parse_chain(data, len, 8, &sk), chain);
	assert_null(sk);
	assert_true(ERR_peek_error() == 0);
}

/*
 * A UTF8String that is not UTF-8 (a stray byte, a surrogate, an overlong
 * form) in the subject: the certificate is refused at intake.  OpenSSL
 * cannot encode such a name, so the DER is patched in place.
 */
static void
test_der_bad_utf8(void **state)
{
	static const char *const bad[] = {"\xff", "\xed\xa0\x80", "\xc0\xaf"};
	uint8_t *der;
	size_t i, off;
	char *b64;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		der = testpki_der(pki.leaf, NULL);
		for (off = 0; off + 8 <= pki.leaf_der_len; off++)
			if (memcmp(der + off, "device-1", 8) == 0)
				break;
		assert_true(off + 8 <= pki.leaf_der_len);
		memcpy(der + off + 8 - strlen(bad[i]), bad[i], strlen(bad[i]));
		assert_both_fail(der, pki.leaf_der_len, RC_EPARSE, RC_EPARSE);
		assert_int_equal(rc_b64_encode(der, pki.leaf_der_len, &b64),
		    RC_OK);
		assert_both_fail(b64, strlen(b64), RC_EPARSE, RC_EPARSE);
		rc_free(b64);
		rc_free(der);
	}
}

/* A basicConstraints that does not decode: refused at intake. */
static void
test_der_bad_extension(void **state)
{
	static const uint8_t bc[] = {0x04, 0x05, 0x30, 0x03, 0x01, 0x01, 0xff};
	uint8_t *der;
	size_t len, off;

	(void)state;
	der = testpki_der(pki.root, &len);
	for (off = 0; off + sizeof(bc) <= len; off++)
		if (memcmp(der + off, bc, sizeof(bc)) == 0)
			break;
	assert_true(off + sizeof(bc) <= len);
	der[off + 2] = 0x31; /* SEQUENCE -> SET */
	assert_both_fail(der, len, RC_EPARSE, RC_EPARSE);
	rc_free(der);
}

static void
test_pem_truncated(void **state)
{
	const char *end;
	char *s;
	size_t n, endlen;

	(void)state;
	/* cut in the middle of the body */
	assert_both_fail(pki.leaf_pem, pki.leaf_pem_len / 2, RC_EPARSE,
	    RC_EPARSE);
	/* END line missing, or cut */
	end = strstr(pki.leaf_pem, "-----END");
	endlen = strlen("-----END CERTIFICATE-----");
	for (n = 1; n < (size_t)(end - pki.leaf_pem) + endlen; n++)
		assert_both_fail(pki.leaf_pem, n, RC_EPARSE, RC_EPARSE);
	assert_is_leaf(pki.leaf_pem, (size_t)(end - pki.leaf_pem) + endlen);
	/* a truncated block followed by a complete one is not merged */
	s = cat("-----BEGIN CERTIFICATE-----\nMIIB\n", pki.leaf_pem, "");
	assert_both_fail(s, strlen(s), RC_EPARSE, RC_EPARSE);
	rc_free(s);
	/* mismatched END label; PEM headers (RFC 1421) in the body */
	s = cat("-----BEGIN CERTIFICATE-----\nQUJD\n-----END X509 CRL-----\n",
	    "", "");
	assert_both_fail(s, strlen(s), RC_EPARSE, RC_EPARSE);
	rc_free(s);
	s = cat("-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n\n",
	    strchr(pki.leaf_pem, '\n') + 1, "");
	assert_both_fail(s, strlen(s), RC_EPARSE, RC_EPARSE);
	rc_free(s);
	/* malformed BEGIN lines */
	assert_both_fail("-----BEGIN -----\n", 17, RC_EPARSE, RC_EPARSE);
	assert_both_fail("-----BEGIN CERTIFICATE----\n", 27, RC_EPARSE,
	    RC_EPARSE);
	assert_both_fail("-----BEGIN CERTIFICATE-----x\n", 29, RC_EPARSE,
	    RC_EPARSE);
}

static void
test_der_prefixes(void **state)
{
	uint8_t *buf;
	size_t n;

	(void)state;
	for (n = 0; n < pki.leaf_der_len; n++)
		assert_both_fail(pki.leaf_der, n, RC_EPARSE,
		    n == 0 ? RC_ENOENT : RC_EPARSE);
	/* one trailing byte, or a second certificate after the first */
	buf = rc_malloc(2 * pki.leaf_der_len);
	assert_non_null(buf);
	memcpy(buf, pki.leaf_der, pki.leaf_der_len);
	memcpy(buf + pki.leaf_der_len, pki.leaf_der, pki.leaf_der_len);
	assert_both_fail(buf, pki.leaf_der_len + 1, RC_EPARSE, RC_EPARSE);
	assert_both_fail(buf, 2 * pki.leaf_der_len, RC_EPARSE, RC_EPARSE);
	rc_free(buf);
}

/* A BER length (longer than needed) in the outer SEQUENCE is refused. */
static void
test_der_not_canonical(void **state)
{
	uint8_t *buf;
	size_t n = pki.leaf_der_len;

	(void)state;
	/* 30 82 hi lo ... becomes 30 83 00 hi lo ... */
	assert_int_equal(pki.leaf_der[1], 0x82);
	buf = rc_malloc(n + 1);
	assert_non_null(buf);
	buf[0] = 0x30;
	buf[1] = 0x83;
	buf[2] = 0x00;
	memcpy(buf + 3, pki.leaf_der + 2, n - 2);
	assert_both_fail(buf, n + 1, RC_EPARSE, RC_EPARSE);
	rc_free(buf);
}

static void
test_garbage(void **state)
{
	static const char *const bad[] = {"not base64 at all!", "QUJD",
	    "QUJD====", "MII", "-----", "\x01\x02\x03", "=QUJD"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_both_fail(bad[i], strlen(bad[i]), RC_EPARSE, RC_EPARSE);
	assert_both_fail("", 0, RC_EPARSE, RC_ENOENT);
	assert_both_fail(" \r\n\t ", 5, RC_EPARSE, RC_ENOENT);
	assert_both_fail(NULL, 0, RC_EPARSE, RC_ENOENT);
}

static void
test_size_caps(void **state)
{
	STACK_OF(X509) *sk;
	uint8_t *buf;
	X509 *x;

	(void)state;
	buf = rc_malloc(RC_X509_MAX_CHAIN + 1);
	assert_non_null(buf);
	/* the PEM padded with spaces to exactly the cap, then one more */
	memset(buf, ' ', RC_X509_MAX_CHAIN + 1);
	memcpy(buf, pki.leaf_pem, pki.leaf_pem_len);
	assert_int_equal(rc_x509_parse(buf, RC_X509_MAX_CERT, &x), RC_OK);
	X509_free(x);
	assert_int_equal(rc_x509_parse(buf, RC_X509_MAX_CERT + 1, &x),
	    RC_ETOOBIG);
	assert_null(x);
	assert_int_equal(rc_x509_parse_chain(buf, RC_X509_MAX_CHAIN, 1, &sk),
	    RC_OK);
	sk_X509_pop_free(sk, X509_free);
	assert_int_equal(rc_x509_parse_chain(buf, RC_X509_MAX_CHAIN + 1, 1,
	                     &sk),
	    RC_ETOOBIG);
	assert_null(sk);
	assert_int_equal(rc_x509_parse_chain(buf, 10, 0, &sk), RC_EINVAL);
	rc_free(buf);
}

static void
test_pem_mixed(void **state)
{
	STACK_OF(X509) *sk;
	char *key, *s, *two;
	X509 *x;

	(void)state;
	key = testpki_key_pem(pki.lk, NULL);
	/* a key alone */
	assert_both_fail(key, strlen(key), RC_EPARSE, RC_ENOENT);
	/* a certificate and its key */
	s = cat(pki.leaf_pem, "\n", key);
	assert_int_equal(rc_x509_parse(s, strlen(s), &x), RC_EPARSE);
	assert_int_equal(rc_x509_parse_chain(s, strlen(s), 8, &sk), RC_OK);
	assert_int_equal(sk_X509_num(sk), 1);
	sk_X509_pop_free(sk, X509_free);
	rc_free(s);
	/* three certificates with text between them, in order */
	two = cat(pki.leaf_pem, "intermediate:\n", pki.inter_pem);
	s = cat(two, key, pki.root_pem);
	assert_int_equal(rc_x509_parse(two, strlen(two), &x), RC_EPARSE);
	assert_null(x);
	assert_int_equal(rc_x509_parse_chain(s, strlen(s), 3, &sk), RC_OK);
	assert_int_equal(sk_X509_num(sk), 3);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 0), pki.leaf), 0);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 1), pki.inter), 0);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 2), pki.root), 0);
	sk_X509_pop_free(sk, X509_free);
	assert_int_equal(rc_x509_parse_chain(s, strlen(s), 2, &sk), RC_ETOOBIG);
	assert_null(sk);
	rc_free(s);
	/* a truncated key block in a chain is still an error */
	s = cat(pki.leaf_pem, "-----BEGIN PRIVATE KEY-----\nMIIB\n", "");
	assert_both_fail(s, strlen(s), RC_EPARSE, RC_EPARSE);
	rc_free(s);
	rc_free(two);
	rc_free(key);
}

static void
test_load_file(void **state)
{
	const char *dir = rctest_tmpdir(), *path;
	X509 *certs[2] = {pki.leaf, pki.inter};
	STACK_OF(X509) *sk;

	(void)state;
	path = rctest_path(dir, "chain.pem");
	testpki_write_pem(path, certs, 2);
	assert_int_equal(rc_x509_load_file(path, &sk), RC_OK);
	assert_int_equal(sk_X509_num(sk), 2);
	sk_X509_pop_free(sk, X509_free);
	path = rctest_path(dir, "leaf.der");
	rctest_write_file(path, pki.leaf_der, pki.leaf_der_len);
	assert_int_equal(rc_x509_load_file(path, &sk), RC_OK);
	assert_int_equal(sk_X509_num(sk), 1);
	sk_X509_pop_free(sk, X509_free);
	assert_int_equal(rc_x509_load_file(rctest_path(dir, "missing"), &sk),
	    RC_EIO);
	assert_null(sk);
	rctest_rmtree(dir);
}

static void
test_to_pem(void **state)
{
	char *pem;
	size_t len;
	X509 *x;

	(void)state;
	assert_int_equal(rc_x509_to_pem(pki.leaf, &pem, &len), RC_OK);
	assert_int_equal(len, pki.leaf_pem_len);
	assert_string_equal(pem, pki.leaf_pem);
	assert_int_equal(rc_x509_parse(pem, len, &x), RC_OK);
	assert_int_equal(X509_cmp(x, pki.leaf), 0);
	X509_free(x);
	rc_free(pem);
}

static STACK_OF(X509) *
stack_of(X509 *a, X509 *b)
{
	STACK_OF(X509) *sk = sk_X509_new_null();

	assert_non_null(sk);
	if (a != NULL)
		assert_true(sk_X509_push(sk, a) > 0);
	if (b != NULL)
		assert_true(sk_X509_push(sk, b) > 0);
	return sk;
}

/* Verifies at now + dt; the stacks are borrowed (sk_X509_free). */
static int
verify(X509 *leaf, X509 *inter, X509 *anchor, long dt, char *why, size_t whylen)
{
	STACK_OF(X509) *untrusted = stack_of(inter, NULL);
	STACK_OF(X509) *anchors = stack_of(anchor, NULL);
	int rc;

	rc = rc_x509_verify(leaf, untrusted, anchors, time(NULL) + dt, why,
	    whylen);
	sk_X509_free(untrusted);
	sk_X509_free(anchors);
	assert_true(ERR_peek_error() == 0);
	return rc;
}

static void
test_verify_good(void **state)
{
	char why[256];

	(void)state;
	memset(why, 'x', sizeof(why));
	assert_int_equal(verify(pki.leaf, pki.inter, pki.root, 0, why,
	                     sizeof(why)),
	    RC_OK);
	assert_string_equal(why, "");
	/* the intermediate as the anchor (an intermediate group, S7) */
	assert_int_equal(verify(pki.leaf, NULL, pki.inter, 0, why, sizeof(why)),
	    RC_OK);
	assert_int_equal(verify(pki.inter, NULL, pki.root, 0, NULL, 0), RC_OK);
	/* the root presented too changes nothing */
	assert_int_equal(verify(pki.root, NULL, pki.root, 0, NULL, 0), RC_OK);
}

static void
test_verify_time(void **state)
{
	char why[256];

	(void)state;
	assert_int_equal(verify(pki.leaf, pki.inter, pki.root, 2 * TESTPKI_HOUR,
	                     why, sizeof(why)),
	    RC_EEXPIRED);
	assert_non_null(strstr(why, "expired"));
	assert_int_equal(verify(pki.leaf, pki.inter, pki.root,
	                     -2 * TESTPKI_HOUR, why, sizeof(why)),
	    RC_ENOTYETVALID);
	assert_non_null(strstr(why, "not yet valid"));
}

static void
test_verify_expired(void **state)
{
	struct testpki_opts o;
	char why[256];
	X509 *leaf, *inter;

	(void)state;
	o = TESTPKI_LEAF("old", pki.inter, pki.ik);
	o.not_before = -2 * TESTPKI_HOUR;
	o.not_after = -TESTPKI_HOUR;
	leaf = testpki_cert(pki.lk, &o);
	assert_int_equal(verify(leaf, pki.inter, pki.root, 0, why, sizeof(why)),
	    RC_EEXPIRED);
	assert_string_equal(why,
	    "certificate \"CN=old\" at depth 0: certificate has expired");
	X509_free(leaf);
	o = TESTPKI_LEAF("early", pki.inter, pki.ik);
	o.not_before = TESTPKI_HOUR;
	o.not_after = 2 * TESTPKI_HOUR;
	leaf = testpki_cert(pki.lk, &o);
	assert_int_equal(verify(leaf, pki.inter, pki.root, 0, NULL, 0),
	    RC_ENOTYETVALID);
	X509_free(leaf);
	/* an expired intermediate under a valid root */
	o = TESTPKI_SUBCA("Test Intermediate", pki.root, pki.rk);
	o.not_before = -2 * TESTPKI_HOUR;
	o.not_after = -TESTPKI_HOUR;
	inter = testpki_cert(pki.ik, &o);
	assert_int_equal(verify(pki.leaf, inter, pki.root, 0, why, sizeof(why)),
	    RC_EEXPIRED);
	assert_non_null(strstr(why, "at depth 1"));
	assert_non_null(strstr(why, "Test Intermediate"));
	X509_free(inter);
}

static void
test_verify_unknown_issuer(void **state)
{
	struct testpki_opts o = TESTPKI_CA("Other Root");
	char why[256];
	X509 *other;

	(void)state;
	other = testpki_cert(pki.rk, &o);
	/* a root with another name (same key even) does not issue it */
	assert_int_equal(verify(pki.leaf, pki.inter, other, 0, why,
	                     sizeof(why)),
	    RC_EUNKNOWNISSUER);
	assert_non_null(strstr(why, "at depth 1"));
	/* no intermediate presented, root anchor */
	assert_int_equal(verify(pki.leaf, NULL, pki.root, 0, why, sizeof(why)),
	    RC_EUNKNOWNISSUER);
	assert_non_null(strstr(why, "CN=device-1"));
	/* no anchors at all */
	assert_int_equal(verify(pki.leaf, pki.inter, NULL, 0, NULL, 0),
	    RC_EUNKNOWNISSUER);
	/* a whole chain up to a root that is not an anchor */
	assert_int_equal(verify(pki.inter, pki.root, other, 0, NULL, 0),
	    RC_EUNTRUSTED);
	assert_int_equal(verify(other, NULL, pki.root, 0, NULL, 0),
	    RC_EUNTRUSTED);
	X509_free(other);
}

static void
test_verify_bad_signature(void **state)
{
	struct testpki_opts o;
	EVP_PKEY *mallory;
	char why[256];
	X509 *leaf;

	(void)state;
	mallory = testpki_key();
	o = TESTPKI_LEAF("device-1", pki.inter, mallory);
	leaf = testpki_cert(pki.lk, &o);
	assert_int_equal(verify(leaf, pki.inter, pki.root, 0, why, sizeof(why)),
	    RC_EBADSIG);
	assert_non_null(strstr(why, "signature"));
	X509_free(leaf);
	EVP_PKEY_free(mallory);
}

static void
test_verify_not_ca(void **state)
{
	struct testpki_opts o;
	X509 *inter, *leaf;

	(void)state;
	/* issuer without the CA flag */
	o = TESTPKI_SUBCA("Not A CA", pki.root, pki.rk);
	o.ca = 0;
	inter = testpki_cert(pki.ik, &o);
	o = TESTPKI_LEAF("device-1", inter, pki.ik);
	leaf = testpki_cert(pki.lk, &o);
	assert_int_equal(verify(leaf, inter, pki.root, 0, NULL, 0), RC_ENOTCA);
	assert_int_equal(verify(leaf, NULL, inter, 0, NULL, 0), RC_ENOTCA);
	X509_free(leaf);
	X509_free(inter);
	/* a CA whose keyUsage lacks keyCertSign */
	o = TESTPKI_SUBCA("No CertSign", pki.root, pki.rk);
	o.keycertsign = 0;
	inter = testpki_cert(pki.ik, &o);
	o = TESTPKI_LEAF("device-1", inter, pki.ik);
	leaf = testpki_cert(pki.lk, &o);
	assert_int_equal(verify(leaf, inter, pki.root, 0, NULL, 0), RC_ENOTCA);
	X509_free(leaf);
	X509_free(inter);
}

static void
test_verify_pathlen(void **state)
{
	struct testpki_opts o;
	X509 *root, *inter, *leaf;
	char why[256];

	(void)state;
	/* root with pathlen 0 may issue leaves, not intermediates */
	o = TESTPKI_CA("Tight Root");
	o.pathlen = 0;
	root = testpki_cert(pki.rk, &o);
	o = TESTPKI_SUBCA("Test Intermediate", root, pki.rk);
	inter = testpki_cert(pki.ik, &o);
	o = TESTPKI_LEAF("device-1", inter, pki.ik);
	leaf = testpki_cert(pki.lk, &o);
	assert_int_equal(verify(leaf, inter, root, 0, why, sizeof(why)),
	    RC_EPATHLEN);
	assert_non_null(strstr(why, "Tight Root"));
	assert_int_equal(verify(inter, NULL, root, 0, NULL, 0), RC_OK);
	/* the intermediate as anchor ends the path before the root */
	assert_int_equal(verify(leaf, NULL, inter, 0, NULL, 0), RC_OK);
	X509_free(leaf);
	X509_free(inter);
	X509_free(root);
}

/*
 * Unknown critical extensions fail; an extendedKeyUsage that fits no
 * particular purpose does not (no purpose is required).
 */
static void
test_verify_extensions(void **state)
{
	struct testpki_opts o;
	X509_EXTENSION *ext;
	char why[256];
	uint8_t *der;
	size_t len;
	X509 *leaf;

	(void)state;
	o = TESTPKI_LEAF("device-1", pki.inter, pki.ik);
	o.eku = "codeSigning";
	leaf = testpki_cert(pki.lk, &o);
	assert_int_equal(verify(leaf, pki.inter, pki.root, 0, NULL, 0), RC_OK);
	ext = X509V3_EXT_nconf(NULL, NULL, "1.3.6.1.4.1.55555.1",
	    "critical,DER:05:00");
	assert_non_null(ext);
	assert_true(X509_add_ext(leaf, ext, -1));
	assert_true(X509_sign(leaf, pki.ik, EVP_sha256()) > 0);
	/* a fresh parse: OpenSSL caches extension flags per object */
	der = testpki_der(leaf, &len);
	X509_free(leaf);
	assert_int_equal(rc_x509_parse(der, len, &leaf), RC_OK);
	assert_int_equal(verify(leaf, pki.inter, pki.root, 0, why, sizeof(why)),
	    RC_EUNTRUSTED);
	assert_non_null(strstr(why, "critical extension"));
	X509_EXTENSION_free(ext);
	X509_free(leaf);
	rc_free(der);
}

static void
test_verify_args(void **state)
{
	STACK_OF(X509) *anchors = stack_of(pki.root, NULL);
	char why[8];

	(void)state;
	assert_int_equal(rc_x509_verify(NULL, NULL, anchors, time(NULL), why,
	                     sizeof(why)),
	    RC_EINVAL);
	/* a short why buffer is truncated, still terminated */
	assert_int_equal(rc_x509_verify(pki.leaf, NULL, anchors, time(NULL),
	                     why, sizeof(why)),
	    RC_EUNKNOWNISSUER);
	assert_int_equal(strlen(why), sizeof(why) - 1);
	sk_X509_free(anchors);
}

/* Fail-Nth-allocation runs (rctest_each_alloc). */

static int
alloc_parse(void *arg)
{
	const char *text = arg;
	X509 *x;
	int rc;

	if ((rc = rc_x509_parse(text, strlen(text), &x)) == RC_OK)
		X509_free(x);
	return rc;
}

static int
alloc_parse_der(void *arg)
{
	X509 *x;
	int rc;

	(void)arg;
	rc = rc_x509_parse(pki.leaf_der, pki.leaf_der_len, &x);
	X509_free(x);
	return rc;
}

static int
alloc_parse_chain(void *arg)
{
	const char *text = arg;
	STACK_OF(X509) *sk;
	int rc;

	rc = rc_x509_parse_chain(text, strlen(text), 8, &sk);
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

static int
alloc_info(void *arg)
{
	struct rc_cert_info info;
	json_t *j = NULL;
	char *cn = NULL;
	int rc;

	(void)arg;
	if ((rc = rc_x509_info(pki.leaf, &info)) != RC_OK)
		return rc;
	rc = rc_x509_get1_cn(pki.leaf, &cn);
	rc_free(cn);
	if (rc == RC_OK)
		rc = rc_x509_info_to_json(&info, &j);
	json_decref(j);
	rc_x509_info_clear(&info);
	return rc;
}

struct verify_args {
	STACK_OF(X509) *untrusted, *anchors;
};

static int
alloc_verify(void *arg)
{
	struct verify_args *va = arg;

	return rc_x509_verify(pki.leaf, va->untrusted, va->anchors, time(NULL),
	    NULL, 0);
}

static int
alloc_to_pem(void *arg)
{
	char *pem;
	int rc;

	(void)arg;
	rc = rc_x509_to_pem(pki.leaf, &pem, NULL);
	rc_free(pem);
	return rc;
}

static void
test_each_alloc(void **state)
{
	struct verify_args va;
	char *b64, *chain;

	(void)state;
	assert_int_equal(rc_b64_encode(pki.leaf_der, pki.leaf_der_len, &b64),
	    RC_OK);
	chain = cat(pki.leaf_pem, "text\n", pki.inter_pem);
	rctest_each_alloc(alloc_parse, pki.leaf_pem, 0);
	rctest_each_alloc(alloc_parse, b64, 0);
	rctest_each_alloc(alloc_parse_der, NULL, 0);
	rctest_each_alloc(alloc_parse_chain, chain, 0);
	rctest_each_alloc(alloc_info, NULL, 0);
	va.untrusted = stack_of(pki.inter, NULL);
	va.anchors = stack_of(pki.root, NULL);
	rctest_each_alloc(alloc_verify, &va, 0);
	sk_X509_free(va.untrusted);
	sk_X509_free(va.anchors);
	rctest_each_alloc(alloc_to_pem, NULL, 0);
	rc_free(chain);
	rc_free(b64);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_forms_equal),
	    cmocka_unit_test(test_pem_crlf),
	    cmocka_unit_test(test_info_fields),
	    cmocka_unit_test(test_info_issuer_and_serial),
	    cmocka_unit_test(test_info_json),
	    cmocka_unit_test(test_thumbprints),
	    cmocka_unit_test(test_thumbprint_eq),
	    cmocka_unit_test(test_cn_odd_characters),
	    cmocka_unit_test(test_cn_limits),
	    cmocka_unit_test(test_cn_none_or_two),
	    cmocka_unit_test(test_pem_truncated),
	    cmocka_unit_test(test_der_prefixes),
	    cmocka_unit_test(test_der_not_canonical),
	    cmocka_unit_test(test_der_bad_utf8),
	    cmocka_unit_test(test_der_bad_extension),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_size_caps),
	    cmocka_unit_test(test_pem_mixed),
	    cmocka_unit_test(test_load_file),
	    cmocka_unit_test(test_to_pem),
	    cmocka_unit_test(test_verify_good),
	    cmocka_unit_test(test_verify_time),
	    cmocka_unit_test(test_verify_expired),
	    cmocka_unit_test(test_verify_unknown_issuer),
	    cmocka_unit_test(test_verify_bad_signature),
	    cmocka_unit_test(test_verify_not_ca),
	    cmocka_unit_test(test_verify_pathlen),
	    cmocka_unit_test(test_verify_extensions),
	    cmocka_unit_test(test_verify_args),
	    cmocka_unit_test(test_each_alloc),
	};

	if (!rc_mem_hook_openssl())
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
