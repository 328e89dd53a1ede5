/*
 * PKCS#10 certificate signing requests (RFC 2986): making them on the
 * device side, and reading the ones devices send (DPS registration `csr`
 * field, retained CSRs re-signed by the operator: seed rule S4).
 *
 * rollcall's CSRs name the subject by one commonName, which is the
 * registration ID (seed rule S2).  A CN is valid when it is non-empty,
 * valid UTF-8 without NUL, and at most 64 characters (RFC 5280
 * ub-common-name).
 */
#ifndef ROLLCALL_CSR_H
#define ROLLCALL_CSR_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "rollcall/err.h"

/* Largest CSR input rc_csr_parse looks at, in any encoding. */
#define RC_CSR_MAX_INPUT (64 * 1024)
/* RFC 5280 Appendix A, ub-common-name, in characters. */
#define RC_CN_MAX 64

/*
 * Checks a CN we are about to put into a name: RC_EINVAL if it is NULL,
 * empty or not UTF-8, RC_ETOOBIG if longer than RC_CN_MAX characters.
 */
RC_MUST_CHECK int rc_csr_check_cn(const char *cn);

/*
 * A new request: version 1, subject CN=cn only (UTF8String), public key of
 * key, signed by key with SHA-256.  The caller owns *out (X509_REQ_free).
 */
RC_MUST_CHECK int rc_csr_new(EVP_PKEY *key, const char *cn, X509_REQ **out);

/*
 * Parses exactly one request from untrusted input: PEM ("CERTIFICATE
 * REQUEST" or "NEW CERTIFICATE REQUEST"), bare base64 of the DER (as in
 * Azure DPS's `csr` field; whitespace allowed), or raw DER.  Input over
 * RC_CSR_MAX_INPUT is RC_ETOOBIG; DER shorter than its outer length says is
 * RC_ETRUNC; anything else malformed, including bytes after the DER, is
 * RC_EPARSE.  Does not check the signature (rc_csr_verify).  The caller
 * owns *out.
 */
RC_MUST_CHECK int rc_csr_parse(const void *data, size_t len, X509_REQ **out);

/*
 * Checks the self-signature (proof that the sender holds the private key):
 * RC_EBADSIG if it does not verify or the key cannot be read;
 * RC_EUNSUPPORTED for MD5 or SHA-1 based signatures.
 */
RC_MUST_CHECK int rc_csr_verify(X509_REQ *);

/*
 * The subject CN as UTF-8; the caller frees *cn with rc_free.  RC_ENOENT if
 * there is no CN; RC_EPARSE if there are several, or it is empty, not valid
 * UTF-8 or contains NUL; RC_ETOOBIG if longer than RC_CN_MAX characters.
 */
RC_MUST_CHECK int rc_csr_get1_cn(X509_REQ *, char **cn);

/*
 * The checks a CSR from a device passes before it is signed (seed rules
 * S2, S4a), in this order: the self-signature (rc_csr_verify: RC_EBADSIG,
 * RC_EUNSUPPORTED for a weak digest), exactly one CN equal to expect_cn
 * byte for byte (rc_csr_get1_cn's errors, RC_EINVAL when it differs), the
 * key EC P-256, EC P-384 or RSA of at least 2048 bits (RC_EUNSUPPORTED
 * otherwise, also for P-521, which rc_ca_sign_csr alone would take).
 * RC_EINVAL for a NULL request or an expect_cn rc_csr_check_cn refuses.
 * why (may be NULL) gets a sentence for the device naming the failed
 * rule, "" on success; it never repeats the CSR's own CN.
 */
RC_MUST_CHECK int rc_csr_check(X509_REQ *, const char *expect_cn, char *why,
    size_t whylen);

/* The request's public key; the caller owns *out.  RC_EPARSE if unusable. */
RC_MUST_CHECK int rc_csr_get1_pubkey(X509_REQ *, EVP_PKEY **out);

/* Encodings; *out is the caller's (rc_free), PEM text NUL-terminated. */
RC_MUST_CHECK int rc_csr_to_pem(X509_REQ *, char **out, size_t *len);
RC_MUST_CHECK int rc_csr_to_der(X509_REQ *, uint8_t **out, size_t *len);

#endif
