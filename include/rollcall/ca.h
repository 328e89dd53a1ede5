/*
 * An offline certificate authority (seed rule S1): roots, intermediates,
 * device leaves from CSRs (S2, S4), TLS server certificates, CRLs and
 * proof-of-possession verification certificates.
 *
 * On disk a CA is a directory: ca.pem (its certificate), ca.key (PKCS#8,
 * mode 0600) and, for an intermediate, chain.pem (its certificate followed
 * by its issuers up to the root).
 *
 * Everything issued here is X.509 v3, signed with SHA-256
 * (ecdsa-with-SHA256 or sha256WithRSAEncryption), has a random positive
 * serial of at most 127 bits (RFC 5280 section 4.1.2.2), a notBefore five
 * minutes in the past so devices with slightly slow clocks accept it, and a
 * notAfter never later than the issuing CA's.
 *
 * Path length: a root has no pathLenConstraint; an intermediate made here
 * gets pathlen:0 under an unconstrained issuer (it issues only leaves, the
 * shape of an IoT fleet CA), or its issuer's pathlen - 1 under a
 * constrained one; under pathlen:0 no intermediate can be made
 * (RC_EPATHLEN).
 */
#ifndef ROLLCALL_CA_H
#define ROLLCALL_CA_H

#include <stddef.h>

#include <openssl/x509.h>

#include "rollcall/err.h"
#include "rollcall/key.h"

/* Default lifetimes, in days. */
#define RC_CA_DAYS_ROOT 3650
#define RC_CA_DAYS_INTERMEDIATE 1825
#define RC_CA_DAYS_LEAF 365
#define RC_CA_DAYS_SERVER 825
#define RC_CA_DAYS_CRL 7
#define RC_CA_DAYS_VERIFICATION 30
/* Every days argument is in [1, RC_CA_DAYS_MAX], else RC_EINVAL. */
#define RC_CA_DAYS_MAX 36500
/* The shortest leaf rc_ca_sign_csr_secs issues, in seconds. */
#define RC_CA_SECS_MIN 60
/* notBefore back-dating, in seconds (at most a tenth of the lifetime). */
#define RC_CA_BACKDATE 300
/* Largest ca.pem / chain.pem rc_ca_load reads. */
#define RC_CA_MAX_FILE (1024 * 1024)

struct rc_ca {
	X509 *cert;
	EVP_PKEY *key;
	/* issuers above cert up to the root, nearest first; empty for a root */
	STACK_OF(X509) *parents;
};

/*
 * A self-signed root: basicConstraints critical CA:TRUE, keyUsage critical
 * keyCertSign + cRLSign, subjectKeyIdentifier.  The caller owns *out
 * (rc_ca_free).
 */
RC_MUST_CHECK int rc_ca_new_root(const char *cn, enum rc_key_type, int days,
    struct rc_ca **out);

/*
 * An intermediate under parent: as a root, plus pathLenConstraint (see
 * above) and authorityKeyIdentifier; its parents are parent's certificate
 * and parent's parents.  RC_ENOTCA, RC_EEXPIRED, RC_EPATHLEN for an
 * unusable parent.
 */
RC_MUST_CHECK int rc_ca_new_intermediate(const struct rc_ca *parent,
    const char *cn, enum rc_key_type, int days, struct rc_ca **out);

/*
 * Reads DIR/ca.pem, DIR/ca.key and, if present, DIR/chain.pem (whose first
 * certificate must be ca.pem's).  RC_ENOENT for a missing directory, ca.pem
 * or ca.key; RC_EPARSE for unreadable contents; RC_EINVAL if the key does
 * not belong to the certificate.  The reason is also logged with the path.
 */
RC_MUST_CHECK int rc_ca_load(const char *dir, struct rc_ca **out);

/*
 * Writes the directory (created with mode 0700 if missing): ca.key first
 * (0600), then ca.pem, then chain.pem if there are parents.  Without
 * overwrite, any of those files already there is RC_EEXIST and nothing is
 * written; files written before a failure are removed again.
 */
RC_MUST_CHECK int rc_ca_save(const struct rc_ca *, const char *dir,
    int overwrite);

/* NULL-safe. */
void rc_ca_free(struct rc_ca *);

/*
 * Issues a device certificate from a CSR (seed rules S2, S4).  Checks, in
 * order: the CA can sign (CA:TRUE, keyCertSign if keyUsage is present, not
 * expired: RC_ENOTCA, RC_EEXPIRED), days, the CSR self-signature
 * (rc_csr_verify), its CN (rc_csr_get1_cn), its key (EC P-256/384/521 or
 * RSA of at least 2048 bits, else RC_EUNSUPPORTED).  The certificate keeps
 * only the subject CN; everything else the CSR asks for (other name
 * attributes, requested extensions) is ignored.  Extensions:
 * basicConstraints critical CA:FALSE, keyUsage critical digitalSignature
 * (+ keyEncipherment for RSA keys), extendedKeyUsage clientAuth, subject
 * and authority key identifiers.  The caller owns *out.
 */
RC_MUST_CHECK int rc_ca_sign_csr(const struct rc_ca *, X509_REQ *csr, int days,
    X509 **out);
/*
 * rc_ca_sign_csr with the validity in seconds, RC_CA_SECS_MIN to
 * RC_CA_DAYS_MAX days (else RC_EINVAL): short-lived device certificates
 * exercise renewal (rollcalld's device-cert-validity).
 */
RC_MUST_CHECK int rc_ca_sign_csr_secs(const struct rc_ca *, X509_REQ *csr,
    long secs, X509 **out);

/* A new key of the given type, a CSR for cn, rc_ca_sign_csr.  Owns both. */
RC_MUST_CHECK int rc_ca_issue(const struct rc_ca *, const char *cn,
    enum rc_key_type, int days, X509 **cert, EVP_PKEY **key);

/*
 * A TLS server certificate with a new key: subjectAltName from sans, each
 * "DNS:<host name>" (LDH labels, "*." allowed as the first label) or
 * "IP:<IPv4 or IPv6 address>"; at least one, else RC_EINVAL, as is any
 * malformed one.  cn may be NULL: the first SAN's value is used.
 * extendedKeyUsage serverAuth; otherwise as rc_ca_sign_csr.
 */
RC_MUST_CHECK int rc_ca_server_cert(const struct rc_ca *, const char *cn,
    const char *const *sans, size_t nsans, enum rc_key_type, int days,
    X509 **cert, EVP_PKEY **key);

/*
 * A v2 CRL (RFC 5280 section 5): thisUpdate now, nextUpdate now + days,
 * one entry per serial (hex, ':' separators allowed, at most 20 octets;
 * else RC_EPARSE; a serial given twice is RC_EINVAL) revoked now, cRLNumber
 * (the current Unix time: increasing without any state), and
 * authorityKeyIdentifier.  RC_ENOTCA if the CA's keyUsage lacks cRLSign.
 */
RC_MUST_CHECK int rc_ca_crl(const struct rc_ca *,
    const char *const *serials_hex, size_t n, int days, X509_CRL **out);

/*
 * Proof of possession for an uploaded CA certificate (Azure's verification
 * code flow): a certificate with subject CN = code, signed by the CA's key,
 * for a fresh P-256 key that is thrown away.  Profile: CA:FALSE,
 * digitalSignature, no extendedKeyUsage.
 */
RC_MUST_CHECK int rc_ca_verification_cert(const struct rc_ca *,
    const char *code, int days, X509 **out);

/* Writes n certificates as concatenated PEM, mode 0644, atomically. */
RC_MUST_CHECK int rc_ca_write_pem(const char *path, X509 *const *certs,
    size_t n, int overwrite);

/*
 * Writes the chain a TLS peer presents: leaf (if not NULL), then the CA's
 * certificate and its parents, leaving out any self-signed root.
 */
RC_MUST_CHECK int rc_ca_write_chain(const char *path, const struct rc_ca *,
    X509 *leaf, int overwrite);

/* Writes a CRL as PEM, mode 0644, atomically. */
RC_MUST_CHECK int rc_ca_write_crl(const char *path, X509_CRL *, int overwrite);

#endif
