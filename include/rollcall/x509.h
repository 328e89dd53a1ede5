/*
 * X.509 certificates: intake (PEM, DER, bare base64 DER), the fields the
 * Azure service API reports about a certificate, and chain verification
 * against explicit trust anchors.
 *
 * Intake accepts the encodings the DPS service API carries in a
 * certificate field (azure-service-api.md §2.4): PEM from the Node SDK,
 * bare base64 of the DER from the C# SDK, and raw DER from files.  See
 * src/lib/x509.c for the exact rules.
 */
#ifndef ROLLCALL_X509_H
#define ROLLCALL_X509_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "rollcall/err.h"

/* Largest input of rc_x509_parse, and largest DER of one certificate. */
#define RC_X509_MAX_CERT (64 * 1024)
/* Largest input of rc_x509_parse_chain and rc_x509_load_file. */
#define RC_X509_MAX_CHAIN (1024 * 1024)
/* Most certificates rc_x509_load_file returns (a CA bundle fits). */
#define RC_X509_MAX_FILE_CERTS 1000
/* RFC 5280 ub-common-name, in characters. */
#define RC_X509_MAX_CN 64

/*
 * Azure's X509CertificateInfo.  Names are RFC 2253 ordered (most specific
 * RDN first), joined by ", ", UTF-8; thumbprints and serial are upper-case
 * hex without separators; times are "YYYY-MM-DDTHH:MM:SSZ" in UTC.
 */
struct rc_cert_info {
	char *subject;
	char *issuer;
	char sha1[41];
	char sha256[65];
	char *serial; /* as openssl x509 -serial: magnitude, "-" if negative */
	char not_before[21];
	char not_after[21];
	time_t not_before_t, not_after_t;
	int version; /* 1, 2 or 3 */
};

/*
 * Exactly one certificate, as PEM, raw DER or bare base64 of the DER
 * (whitespace allowed).  At most RC_X509_MAX_CERT bytes of input
 * (RC_ETOOBIG).  RC_EPARSE for anything else: trailing bytes after the DER,
 * several PEM blocks (also a key next to the certificate), no certificate,
 * empty input.  *out (caller frees with X509_free) is set on success only.
 */
RC_MUST_CHECK int rc_x509_parse(const void *data, size_t len, X509 **out);

/*
 * One or more certificates: every CERTIFICATE block of a PEM text (text
 * between blocks and blocks of other types, such as keys, are skipped), or
 * a single DER / bare base64 certificate.  RC_ENOENT if there is none (empty
 * input, a key alone), RC_ETOOBIG for more than max_certs certificates or an
 * input over RC_X509_MAX_CHAIN, RC_EPARSE for a malformed or truncated
 * block.  *out keeps the input order; the caller frees it with
 * sk_X509_pop_free(*out, X509_free).
 */
RC_MUST_CHECK int rc_x509_parse_chain(const void *data, size_t len,
    size_t max_certs, STACK_OF(X509) **out);

/*
 * rc_x509_parse_chain over a file's content (at most RC_X509_MAX_FILE_CERTS
 * certificates).  RC_EIO if the file cannot be read.
 */
RC_MUST_CHECK int rc_x509_load_file(const char *path, STACK_OF(X509) **out);

/*
 * Fills *out (cleared on entry); on success the caller releases it with
 * rc_x509_info_clear.  RC_EPARSE for a name that is not valid UTF-8 or a
 * malformed time.
 */
RC_MUST_CHECK int rc_x509_info(X509 *, struct rc_cert_info *out);
/* Frees the strings and zeroes *info; NULL-safe, idempotent. */
void rc_x509_info_clear(struct rc_cert_info *);

/*
 * A new JSON object with Azure's field names (subjectName, sha1Thumbprint,
 * sha256Thumbprint, issuerName, notBeforeUtc, notAfterUtc, serialNumber,
 * version); the caller owns it (json_decref).
 */
RC_MUST_CHECK int rc_x509_info_to_json(const struct rc_cert_info *,
    json_t **out);

/*
 * The subject's common name as UTF-8 (caller frees with rc_free): the
 * registration ID of a device (seed rule S2, S13).  RC_ENOENT if there is
 * none; RC_EPARSE for several CNs, an empty CN, an embedded NUL or invalid
 * UTF-8; RC_ETOOBIG above RC_X509_MAX_CN characters.
 */
RC_MUST_CHECK int rc_x509_get1_cn(X509 *, char **cn);

/*
 * SHA-1 (sha256 = 0) or SHA-256 thumbprint of the DER, upper-case hex;
 * outsize must be at least 41 or 65 (RC_ETOOBIG).
 */
RC_MUST_CHECK int rc_x509_thumbprint(X509 *, int sha256, char *out,
    size_t outsize);

/*
 * 1 if the two hex thumbprints are equal ignoring case, else 0 (also for
 * NULL).  Constant time over strings of equal length.
 */
int rc_x509_thumbprint_eq(const char *a, const char *b);

/*
 * Verifies leaf, with the presented intermediates in untrusted (may be
 * NULL), against anchors at time at.  Any anchor may end the chain, also an
 * intermediate (X509_V_FLAG_PARTIAL_CHAIN): that is how an enrollment group
 * whose signing certificate is an intermediate accepts a leaf (seed rules
 * S7, S13).  basicConstraints, pathLenConstraint, keyUsage and unknown
 * critical extensions are checked; no purpose is required (callers decide).
 * Nothing is read from files or the default trust store.
 *
 * RC_OK, or RC_EEXPIRED, RC_ENOTYETVALID, RC_EUNKNOWNISSUER, RC_EBADSIG,
 * RC_ENOTCA, RC_EPATHLEN, RC_ENOMEM, else RC_EUNTRUSTED.  why (may be NULL)
 * gets a sentence naming the failing certificate, its depth and OpenSSL's
 * reason; "" on success.
 */
RC_MUST_CHECK int rc_x509_verify(X509 *leaf, STACK_OF(X509) *untrusted,
    STACK_OF(X509) *anchors, time_t at, char *why, size_t whylen);

/*
 * The certificate as one PEM block (RFC 7468 §5.1), NUL-terminated; the
 * caller frees *out with rc_free.  len may be NULL.
 */
RC_MUST_CHECK int rc_x509_to_pem(X509 *, char **out, size_t *len);

#endif
