/*
 * The DPS role of rollcalld.  This header is what the daemon sees: it
 * creates one struct dps per process over the open store, asks
 * dps_service_match() whether a request belongs to the DPS service API,
 * authenticates it (SAS, policy lookup) and hands it with the resulting
 * principal to dps_service_handle(), which checks the right the operation
 * needs and answers.  The paths, bodies and error codes are documented in
 * docs/api.md (reference/azure-service-api.md §2 for the Azure side).
 */
#ifndef ROLLCALL_DPS_H
#define ROLLCALL_DPS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "rollcall/err.h"
#include "rollcall/http.h"
#include "rollcall/policy.h"
#include "rollcall/store.h"

struct dps;

/*
 * Signs a CSR (DER) whose CN must be cn, valid for days (0: the signer's
 * maximum): on success *chain is the issued chain, leaf first, ending at
 * the root (caller frees with sk_X509_pop_free).  RC_EINVAL when the CA
 * refuses the CSR itself, with why (a message naming the rule); any other
 * error is the server's (the signer missing or broken), why saying what.
 */
typedef int dps_service_sign_fn(void *arg, const uint8_t *csr, size_t csr_len,
    const char *cn, int days, STACK_OF(X509) **chain, char *why,
    size_t whysize);

/*
 * id_scope is copied.  hostnames, policies and device_ca_dir are borrowed
 * and must outlive the struct dps (they are the daemon's parsed config).
 * max_body is the request body cap (0: 1 MiB); bodies above it get 413.
 * sign (NULL: none, and POST /registrations/{id}/reissue answers 503)
 * signs retained CSRs through the device CA.
 */
struct dps_config {
	const char *id_scope;
	const char *const *hostnames;
	size_t nhostnames;
	const struct rc_policy *policies;
	size_t npolicies;
	const char *device_ca_dir;
	size_t max_body;
	dps_service_sign_fn *sign;
	void *sign_arg;
};

/*
 * A DPS role over store (borrowed: the caller closes it after dps_free).
 * RC_EINVAL for a missing id_scope.  The caller frees *out with dps_free.
 */
RC_MUST_CHECK int dps_new(const struct dps_config *, struct rc_store *,
    struct dps **out);
/* NULL-safe. */
void dps_free(struct dps *);

/*
 * 1 if the request's path belongs to the DPS service API: its first
 * segment is (case-insensitively) enrollments, enrollmentGroups,
 * registrations, certificates, audit, blocklist or issued.  The device API (first segment
 * the ID scope) is not matched.
 */
int dps_service_match(const struct rc_http_req *);

/*
 * Answers one service API request from an authenticated principal.  resp
 * must have been set up with rc_http_resp_init; it is always filled (an
 * error body on failure, 500 if even that could not be built).  Safe to
 * call from several threads at once on the same struct dps.
 */
void dps_service_handle(struct dps *, const struct rc_http_req *,
    const struct rc_principal *, struct rc_http_resp *);

/*
 * The 401 answer of the service API for a request that failed
 * authentication (bad, expired or missing SAS token, unknown policy):
 * errorCode 401002 and message (NULL: "Unauthorized").
 */
void dps_service_unauthorized(struct rc_http_resp *, const char *message);

#endif
