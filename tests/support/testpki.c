/*
 * Test-only PKI (testpki.h).  Everything is built with raw OpenSSL calls,
 * independent of the librollcall code under test.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "rctest.h"
#include "rollcall/mem.h"
#include "testpki.h"

static void
ossl_check(int ok, const char *what)
{
	char buf[256];

	if (ok)
		return;
	ERR_error_string_n(ERR_peek_last_error(), buf, sizeof(buf));
	ERR_clear_error();
	fail_msg("testpki: %s failed: %s", what, buf);
}

EVP_PKEY *
testpki_key(void)
{
	EVP_PKEY *k;

	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ossl_check(k != NULL, "EVP_PKEY_Q_keygen");
	return k;
}

static void
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext;

	ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	ossl_check(ext != NULL, value);
	ossl_check(X509_add_ext(x, ext, -1), "X509_add_ext");
	X509_EXTENSION_free(ext);
}

static void
set_serial(X509 *x, uint64_t serial)
{
	unsigned char r[8];
	size_t i;

	while (serial == 0) {
		ossl_check(RAND_bytes(r, sizeof(r)) == 1, "RAND_bytes");
		for (i = 0; i < sizeof(r); i++)
			serial = serial << 8 | r[i];
		serial &= UINT64_MAX >> 1;
	}
	ossl_check(ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial),
	    "serial");
}

static void
set_names(X509 *x, const struct testpki_opts *o)
{
	X509_NAME *n;

	if (o->name != NULL) {
		ossl_check(X509_set_subject_name(x, o->name), "subject");
	} else if (o->cn != NULL) {
		n = X509_get_subject_name(x);
		ossl_check(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
		               (const unsigned char *)o->cn, -1, -1, 0),
		    "CN");
	}
	ossl_check(X509_set_issuer_name(x,
	               o->issuer != NULL ? X509_get_subject_name(o->issuer)
	                                 : X509_get_subject_name(x)),
	    "issuer name");
}

static void
add_extensions(X509 *x, const struct testpki_opts *o)
{
	X509V3_CTX ctx;
	char bc[64];

	X509V3_set_ctx(&ctx, o->issuer != NULL ? o->issuer : x, x, NULL, NULL,
	    0);
	if (o->ca && o->pathlen >= 0)
		snprintf(bc, sizeof(bc), "critical,CA:TRUE,pathlen:%d",
		    o->pathlen);
	else
		snprintf(bc, sizeof(bc), "critical,CA:%s",
		    o->ca ? "TRUE" : "FALSE");
	add_ext(x, &ctx, NID_basic_constraints, bc);
	add_ext(x, &ctx, NID_key_usage,
	    o->keycertsign ? "critical,digitalSignature,keyCertSign,cRLSign"
	                   : "critical,digitalSignature");
	add_ext(x, &ctx, NID_subject_key_identifier, "hash");
	if (o->issuer != NULL && X509_get0_subject_key_id(o->issuer) != NULL)
		add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
	if (o->san != NULL)
		add_ext(x, &ctx, NID_subject_alt_name, o->san);
	if (o->eku != NULL)
		add_ext(x, &ctx, NID_ext_key_usage, o->eku);
}

X509 *
testpki_cert(EVP_PKEY *key, const struct testpki_opts *o)
{
	EVP_PKEY *signer;
	X509 *x, *copy;

	x = X509_new();
	ossl_check(x != NULL, "X509_new");
	ossl_check(X509_set_version(x, X509_VERSION_3), "version");
	set_serial(x, o->serial);
	ossl_check(X509_gmtime_adj(X509_getm_notBefore(x), o->not_before) !=
	        NULL,
	    "notBefore");
	ossl_check(X509_gmtime_adj(X509_getm_notAfter(x), o->not_after) != NULL,
	    "notAfter");
	ossl_check(X509_set_pubkey(x, key), "pubkey");
	set_names(x, o);
	add_extensions(x, o);
	signer = o->issuer_key != NULL ? o->issuer_key : key;
	ossl_check(X509_sign(x, signer, EVP_sha256()) > 0, "X509_sign");
	/*
	 * Hand out a decoded copy: OpenSSL caches extension flags per object
	 * on first use, and a copy is what a peer would have received.
	 */
	copy = X509_dup(x);
	ossl_check(copy != NULL, "X509_dup");
	X509_free(x);
	return copy;
}

X509_NAME *
testpki_name(const char *field, ...)
{
	const char *value;
	X509_NAME *n;
	va_list ap;

	n = X509_NAME_new();
	ossl_check(n != NULL, "X509_NAME_new");
	va_start(ap, field);
	for (; field != NULL; field = va_arg(ap, const char *)) {
		value = va_arg(ap, const char *);
		ossl_check(X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8,
		               (const unsigned char *)value, -1, -1, 0),
		    field);
	}
	va_end(ap);
	return n;
}

uint8_t *
testpki_der(X509 *x, size_t *len)
{
	unsigned char *der = NULL;
	uint8_t *copy;
	int n;

	n = i2d_X509(x, &der);
	ossl_check(n > 0, "i2d_X509");
	copy = rc_malloc((size_t)n);
	assert_non_null(copy);
	memcpy(copy, der, (size_t)n);
	OPENSSL_free(der);
	if (len != NULL)
		*len = (size_t)n;
	return copy;
}

/* The content of a memory BIO as a NUL-terminated rc_malloc'd string. */
static char *
bio_text(BIO *bio, size_t *len)
{
	char *p, *s;
	long n;

	n = BIO_get_mem_data(bio, &p);
	ossl_check(n > 0, "BIO_get_mem_data");
	s = rc_malloc((size_t)n + 1);
	assert_non_null(s);
	memcpy(s, p, (size_t)n);
	s[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
	BIO_free(bio);
	return s;
}

char *
testpki_pem(X509 *x, size_t *len)
{
	BIO *bio;

	bio = BIO_new(BIO_s_mem());
	ossl_check(bio != NULL, "BIO_new");
	ossl_check(PEM_write_bio_X509(bio, x), "PEM_write_bio_X509");
	return bio_text(bio, len);
}

char *
testpki_key_pem(EVP_PKEY *key, size_t *len)
{
	BIO *bio;

	bio = BIO_new(BIO_s_mem());
	ossl_check(bio != NULL, "BIO_new");
	ossl_check(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL,
	               NULL),
	    "PEM_write_bio_PrivateKey");
	return bio_text(bio, len);
}

void
testpki_write_pem(const char *path, X509 *const *certs, size_t n)
{
	size_t i;
	BIO *bio;

	bio = BIO_new_file(path, "w");
	ossl_check(bio != NULL, path);
	for (i = 0; i < n; i++)
		ossl_check(PEM_write_bio_X509(bio, certs[i]), path);
	BIO_free(bio);
}
