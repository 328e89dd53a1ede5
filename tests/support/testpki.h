/*
 * Test-only PKI: P-256 keys and certificates made with raw OpenSSL calls,
 * with validity relative to the current time, so tests never depend on
 * committed certificates that expire.
 *
 * Every function fails the running cmocka test on an error and so never
 * returns NULL.  Typical use:
 *
 *	EVP_PKEY *rk = testpki_key(), *lk = testpki_key();
 *	struct testpki_opts o = TESTPKI_CA("root");
 *	X509 *root = testpki_cert(rk, &o);
 *	struct testpki_opts l = TESTPKI_LEAF("device-1", root, rk);
 *	X509 *leaf = testpki_cert(lk, &l);
 *	...
 *	X509_free(leaf); X509_free(root); EVP_PKEY_free(lk); EVP_PKEY_free(rk);
 */
#ifndef TESTPKI_H
#define TESTPKI_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* One hour, the default distance of validity bounds from now. */
#define TESTPKI_HOUR 3600L

struct testpki_opts {
	/* Subject CN (UTF-8).  Ignored when name is set. */
	const char *cn;
	/* Whole subject name (borrowed, copied into the certificate). */
	const X509_NAME *name;
	/*
	 * Issuer certificate and the key that signs.  issuer NULL: the
	 * certificate is self-issued (issuer name = subject name).
	 * issuer_key NULL: signed with the certificate's own key.  A key
	 * that does not belong to issuer makes a bad signature on purpose.
	 */
	X509 *issuer;
	EVP_PKEY *issuer_key;
	/* Validity [now + not_before, now + not_after], in seconds. */
	long not_before, not_after;
	/* basicConstraints (critical): cA TRUE/FALSE and pathLenConstraint
	 * (-1: absent; only meaningful with ca). */
	int ca;
	int pathlen;
	/* keyUsage (critical): digitalSignature, plus keyCertSign and
	 * cRLSign when set. */
	int keycertsign;
	/* Optional subjectAltName / extendedKeyUsage in openssl.cnf syntax,
	 * e.g. "DNS:localhost,IP:127.0.0.1" and "serverAuth,clientAuth". */
	const char *san;
	const char *eku;
	/* Serial number; 0 picks a random positive 63-bit one. */
	uint64_t serial;
};

/* A self-signed CA valid from an hour ago to an hour from now. */
#define TESTPKI_CA(cn_)                                            \
	(struct testpki_opts)                                      \
	{                                                          \
		.cn = (cn_), .not_before = -TESTPKI_HOUR,          \
		.not_after = TESTPKI_HOUR, .ca = 1, .pathlen = -1, \
		.keycertsign = 1                                   \
	}
/* An intermediate CA under issuer, signed by issuer_key_. */
#define TESTPKI_SUBCA(cn_, issuer_, issuer_key_)                               \
	(struct testpki_opts)                                                  \
	{                                                                      \
		.cn = (cn_), .issuer = (issuer_), .issuer_key = (issuer_key_), \
		.not_before = -TESTPKI_HOUR, .not_after = TESTPKI_HOUR,        \
		.ca = 1, .pathlen = -1, .keycertsign = 1                       \
	}
/* An end-entity certificate under issuer, signed by issuer_key_. */
#define TESTPKI_LEAF(cn_, issuer_, issuer_key_)                                \
	(struct testpki_opts)                                                  \
	{                                                                      \
		.cn = (cn_), .issuer = (issuer_), .issuer_key = (issuer_key_), \
		.not_before = -TESTPKI_HOUR, .not_after = TESTPKI_HOUR,        \
		.ca = 0, .pathlen = -1, .keycertsign = 0                       \
	}

/* A fresh P-256 key; the caller frees it with EVP_PKEY_free. */
EVP_PKEY *testpki_key(void);

/*
 * A certificate for key's public key, per opts; subjectKeyIdentifier and
 * (for issued certificates) authorityKeyIdentifier are always added.  It
 * comes back freshly decoded from its DER, as a peer would see it.  The
 * caller frees it with X509_free.
 */
X509 *testpki_cert(EVP_PKEY *key, const struct testpki_opts *opts);

/*
 * A subject name from field/value pairs, terminated by NULL, values UTF-8:
 * testpki_name("C", "US", "O", "MSFT", "CN", "x", NULL).  Fields are
 * OpenSSL short names.  The caller frees it with X509_NAME_free.
 */
X509_NAME *testpki_name(const char *field, ...);

/* DER / PEM encodings; the caller frees with rc_free.  len may be NULL. */
uint8_t *testpki_der(X509 *, size_t *len);
char *testpki_pem(X509 *, size_t *len);
/* The key as unencrypted PKCS#8 PEM ("PRIVATE KEY"). */
char *testpki_key_pem(EVP_PKEY *, size_t *len);

/* Writes the certificates, in order, to one PEM file. */
void testpki_write_pem(const char *path, X509 *const *certs, size_t n);

#endif
