/*
 * X.509 attestation of a DPS device registration: the decision whether a
 * presented certificate chain may register under a registration ID, by the
 * enrollments and the certificate blocklist (DESIGN.md §2, seed rules S6,
 * S7, S9, S12, S13).
 *
 * rc_attest is a pure function of its arguments: it reads no store, no
 * clock and no files, so every rule is testable with certificates made in
 * the test.  rc_attest_gather reads the view it needs from a store.
 *
 * The rules, in the order they are applied (the first that decides wins):
 *  1. A chain was presented (leaf first, at most RC_ATTEST_MAX_CHAIN
 *     certificates), and the registration ID is 1..RC_ATTEST_MAX_ID
 *     characters of A-Z a-z 0-9 . - _ :  (Azure asks for lower case; that
 *     is not enforced, IDs compare case-insensitively in the store).
 *  2. The leaf's subject CN equals the registration ID exactly, case
 *     included (S2, S13).  A CN is at most 64 characters (RFC 5280
 *     ub-common-name), so longer IDs cannot attest by X.509.
 * 2b. S9: no presented certificate, leaf or CA, is on the blocklist (by
 *     SHA-256 thumbprint).  The device is told only that "the certificate
 *     has been revoked"; the log names the depth and thumbprint.
 *  3. The leaf is valid at now: notBefore <= now < notAfter (OpenSSL's
 *     count, which rule 6 uses for every certificate of the path).
 *  4. S12: no presented certificate is held, directly or through a
 *     group's CA reference, by a disabled enrollment other than the
 *     individual enrollment of this registration ID (which rule 5 handles).
 *  5. S13, S6: an individual enrollment for the registration ID decides:
 *     disabled refuses; enabled accepts when the leaf's SHA-256 thumbprint
 *     equals either slot's certificate, else refuses.
 *  6. S13, S7: the presented chain is walked from the leaf upward; the
 *     group whose signing certificate (either slot, or the CA certificate a
 *     slot's CA reference names) is the certificate at the lowest depth, or
 *     signed the certificate at the lowest depth, decides (among groups at
 *     the same depth a disabled one first, then the view's order).  It
 *     refuses when it is disabled, when its certificate is on the
 *     blocklist (S9, as rule 2b answers), when its CA reference names a CA
 *     certificate that is not verified, when its certificate is the leaf
 *     itself or no CA (basicConstraints cA TRUE, keyCertSign when keyUsage
 *     is present), or when the leaf does not verify up to it at now with
 *     the presented certificates as intermediates (rc_x509_verify:
 *     X509_V_FLAG_PARTIAL_CHAIN, so the group's certificate is the trust
 *     anchor whether root or intermediate; validity of every certificate,
 *     cA TRUE and keyCertSign on issuers, path length).  The device may
 *     send the leaf alone when the group holds the leaf's issuer.
 *  7. Nothing decided: refused.
 */
#ifndef ROLLCALL_ATTEST_H
#define ROLLCALL_ATTEST_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "rollcall/err.h"
#include "rollcall/store.h"

/* DPS registration IDs (reference/azure-service-api.md §3.1). */
#define RC_ATTEST_MAX_ID 128
/* Most certificates a device may present, leaf included. */
#define RC_ATTEST_MAX_CHAIN 10

#define RC_ATTEST_REASONS(X)                                    \
	X(RC_ATTEST_OK, "ok")                                   \
	X(RC_ATTEST_NO_CHAIN, "no-chain")                       \
	X(RC_ATTEST_CHAIN_TOO_LONG, "chain-too-long")           \
	X(RC_ATTEST_BAD_REGISTRATION_ID, "bad-registration-id") \
	X(RC_ATTEST_CN_MISMATCH, "cn-mismatch")                 \
	X(RC_ATTEST_BLOCKED, "blocked")                         \
	X(RC_ATTEST_NOT_YET_VALID, "not-yet-valid")             \
	X(RC_ATTEST_EXPIRED, "expired")                         \
	X(RC_ATTEST_DISABLED_CERT, "disabled-certificate")      \
	X(RC_ATTEST_INDIVIDUAL_DISABLED, "individual-disabled") \
	X(RC_ATTEST_INDIVIDUAL_NO_MATCH, "individual-no-match") \
	X(RC_ATTEST_GROUP_DISABLED, "group-disabled")           \
	X(RC_ATTEST_CA_UNVERIFIED, "ca-unverified")             \
	X(RC_ATTEST_CHAIN_INVALID, "chain-invalid")             \
	X(RC_ATTEST_NO_ENROLLMENT, "no-enrollment")

enum rc_attest_reason {
#define RC_ATTEST_ENUM(code, name) code,
	RC_ATTEST_REASONS(RC_ATTEST_ENUM)
#undef RC_ATTEST_ENUM
	    RC_ATTEST_REASON_COUNT
};

/*
 * What rc_attest looks at, all borrowed from the caller:
 * - individual: the individual enrollment of the registration ID (its id
 *   equal to the registration ID ignoring case), or NULL;
 * - groups: every enrollment group;
 * - cas: the CA certificates the groups' ca_refs may name (matched by
 *   name, ignoring case); a reference to a name not here is an empty slot;
 * - holders: enrollments holding a presented certificate in a slot (found
 *   by thumbprint), for S12; they may repeat the individual or a group;
 * - blocked: SHA-256 thumbprints (hex, any case) on the blocklist: those
 *   of the presented certificates (rule 2b) and of the groups' and CA
 *   certificates (rule 6: a blocked signing certificate accepts nobody,
 *   even when the device does not present it).
 */
struct rc_attest_view {
	struct rc_enrollment *individual;
	struct rc_enrollment **groups;
	size_t ngroups;
	struct rc_ca_cert **cas;
	size_t ncas;
	struct rc_enrollment **holders;
	size_t nholders;
	char (*blocked)[65];
	size_t nblocked;
};

/*
 * The decision.  enrollment and ca_name point into the view (valid while
 * it lives): the enrollment that decided (accepted, or refused by S12,
 * rule 5 or 6), NULL when none did; ca_name the CA reference through which
 * a group decided, else NULL.  slot is the slot that matched or refused
 * (RC_SLOT_PRIMARY when no slot was involved).  The thumbprints are the
 * leaf's, upper-case hex, "" when there is no leaf.
 *
 * message is for the device (the 401002 body): it names the rule that
 * refused and may quote the certificate's CN, never an enrollment or group
 * ID, a CA name or key material.  detail is for the operator's log and
 * adds those and OpenSSL's reason.
 */
struct rc_attest_result {
	enum rc_attest_reason reason;
	const struct rc_enrollment *enrollment;
	enum rc_slot slot;
	const char *ca_name;
	char leaf_sha256[65];
	char leaf_sha1[41];
	char message[256];
	char detail[512];
};

/*
 * Decides whether chain (leaf first; the caller keeps it) may register as
 * registration_id at time now, by the rules above.  RC_OK when a decision
 * was made, accepting or refusing: see res->reason.  RC_EINVAL for NULL
 * arguments or a view whose individual enrollment is not one of
 * registration_id; RC_ENOMEM, RC_ECRYPTO, or RC_EPARSE for a group's or
 * CA's certificate in the view that cannot be read (fail closed: see
 * src/dps/attest.c) when the decision could not be made.  *res is then
 * cleared.  chain NULL or empty is the refusal RC_ATTEST_NO_CHAIN.
 */
RC_MUST_CHECK int rc_attest(STACK_OF(X509) *chain, const char *registration_id,
    time_t now, const struct rc_attest_view *view,
    struct rc_attest_result *res);

/* "ok", "cn-mismatch", ... for logs and metrics; "unknown" otherwise. */
const char *rc_attest_reason_name(enum rc_attest_reason);

/*
 * 1 if id is a registration ID rule 1 accepts, else 0 (also for NULL).
 */
int rc_attest_id_valid(const char *id);

/*
 * Fills *out (cleared on entry) from the store: the individual enrollment
 * of registration_id (none if the ID is invalid), every group, every CA
 * certificate, the holder and blocklist entry of each certificate in
 * chain (at most RC_ATTEST_MAX_CHAIN are looked up; rc_attest refuses
 * longer chains), and the blocklist entries of the groups' and CA
 * certificates.
 * On success the caller owns the view and releases it with
 * rc_attest_view_free; on failure nothing is left to free.
 */
RC_MUST_CHECK int rc_attest_gather(struct rc_store *, STACK_OF(X509) *chain,
    const char *registration_id, struct rc_attest_view *out);

/*
 * Frees what rc_attest_gather put in the view, and zeroes it; NULL-safe.
 * Only for views filled by rc_attest_gather.
 */
void rc_attest_view_free(struct rc_attest_view *);

#endif
