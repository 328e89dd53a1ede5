/*
 * Internal to librollcall's CA files (ca.c, ca_cert.c, ca_issue.c,
 * ca_crl.c): the certificate builder they share.
 */
#ifndef ROLLCALL_CA_INT_H
#define ROLLCALL_CA_INT_H

#include <openssl/x509v3.h>

#include "rollcall/ca.h"

/* What distinguishes the kinds of certificate rollcall issues. */
struct rc_ca_profile {
	int ca; /* basicConstraints CA:TRUE and keyCertSign + cRLSign */
	int pathlen; /* < 0: no pathLenConstraint */
	const char *eku; /* extendedKeyUsage value, NULL for none */
	GENERAL_NAMES *sans; /* subjectAltName, NULL for none */
};

/*
 * RC_OK if ca can issue certificates now: it has a key, basicConstraints
 * CA:TRUE, keyCertSign if it has a keyUsage (RC_ENOTCA), and has not
 * expired (RC_EEXPIRED).
 */
RC_MUST_CHECK int rc_ca_check_issuer(const struct rc_ca *ca);
/* Days as the seconds rc_ca_make_cert takes. */
#define DAYS_SECS(days) ((long)(days)*86400L)

/* RC_EINVAL unless 1 <= days <= RC_CA_DAYS_MAX. */
RC_MUST_CHECK int rc_ca_check_days(int days);
/* RC_EINVAL unless RC_CA_SECS_MIN <= secs <= RC_CA_DAYS_MAX days. */
RC_MUST_CHECK int rc_ca_check_secs(long secs);

/*
 * A certificate for pubkey with subject CN=cn, issued by issuer, or
 * self-signed with selfkey (the private half of pubkey) if issuer is NULL.
 * valid for secs seconds from now.  The caller has checked issuer, the
 * validity and cn.  The caller owns *out.
 */
RC_MUST_CHECK int rc_ca_make_cert(const struct rc_ca *issuer, EVP_PKEY *selfkey,
    EVP_PKEY *pubkey, const char *cn, long secs, const struct rc_ca_profile *,
    X509 **out);

#endif
