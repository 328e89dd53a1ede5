/*
 * The DPS device registration engine (issue 5): what the device API does
 * once a transport (MQTT, dps/msession.c; HTTPS, dps/device_api.c) has
 * read a request.  Both transports call the same two functions and send
 * what they answer, so a device sees the same decisions whichever way it
 * comes.
 *
 * register: the presented chain is attested at once (S13, S12, S6, S7;
 * rollcall/attest.h) against the store.  A refusal is 401 with errorCode
 * 401002 and a message naming the rule.  An accepted device gets 202
 * "assigning" and an operationId; an assigner thread then allocates its
 * hub, signs its CSR (S4a), creates or updates its hub identity through
 * the hub service API (S9, S10) and writes its one registration record
 * (S2).  poll: 202 "assigning" until then, 200 "assigned", or 200
 * "failed" with registrationState.errorCode.
 *
 * Operations live in memory for OP_TTL seconds after they finish; a poll
 * for one that is gone (a restart) is answered from the registration
 * record when it is assigned to the same certificate.
 */
#ifndef ROLLCALL_DPS_PROV_H
#define ROLLCALL_DPS_PROV_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "rollcall/err.h"
#include "rollcall/store.h"

struct dps_prov;
struct rc_hublink;

/*
 * Signs a CSR (DER) for cn: on success *chain is the issued chain, leaf
 * first (caller frees with sk_X509_pop_free).  On failure a message for
 * the device in why.  RC_EINVAL for a CSR the CA refuses.
 */
typedef int dps_sign_fn(void *arg, const uint8_t *csr, size_t csr_len,
    const char *cn, STACK_OF(X509) **chain, char *why, size_t whysize);

struct dps_prov_config {
	const char *id_scope;
	/* Linked hubs; the first is the default.  Borrowed. */
	struct rc_hublink *const *links;
	size_t nlinks;
	dps_sign_fn *sign; /* NULL: a registration with a CSR fails */
	void *sign_arg;
	int retry_after; /* seconds a device waits between polls; 0: 2 */
	int assigners; /* threads; 0: 2; < 0: none (operations stay queued) */
};

/* What to send back: an HTTP status, a JSON body, a retry-after (0: none). */
struct dps_answer {
	int status;
	json_t *body;
	int retry_after;
};

RC_MUST_CHECK int dps_prov_new(const struct dps_prov_config *,
    struct rc_store *, struct dps_prov **out);
/* Stops the assigners (waiting for the one at work) and frees. */
void dps_prov_free(struct dps_prov *);

const char *dps_prov_id_scope(const struct dps_prov *);

/*
 * How a device came: the SDKs tolerate different answers when the server
 * is full (reference/azure-device-wire.md §2.4, §3): MQTT clients retry a
 * 429 after retry-after, while any status >= 300 is fatal to node's HTTPS
 * client.
 */
enum dps_transport { DPS_MQTT, DPS_HTTPS };

/*
 * A register request from the device whose TLS chain (leaf first) is
 * chain, for registration_id (the path's or the MQTT username's), with
 * the request body.  Always fills ans.  Thread-safe; does not block on
 * anything but the store.
 *
 * A device that registers again while its previous request is still
 * being assigned (same ID, same certificate) gets that operation back
 * rather than a second one.  The retry-after of a 202 grows with the
 * queue, so that devices poll less when assignment falls behind.
 */
void dps_prov_register(struct dps_prov *, enum dps_transport,
    STACK_OF(X509) *chain, const char *registration_id, const uint8_t *body,
    size_t len, struct dps_answer *ans);
/* A poll for operation_id.  Always fills ans.  Thread-safe. */
void dps_prov_poll(struct dps_prov *, STACK_OF(X509) *chain,
    const char *registration_id, const char *operation_id,
    struct dps_answer *ans);
void dps_answer_free(struct dps_answer *);
/*
 * An error answer: the status is code / 1000 (code: the extended error
 * code, e.g. 401002), the body {"errorCode", "trackingId", "message",
 * "timestampUtc"}.
 */
void dps_answer_error(struct dps_answer *, int code, const char *message);

#endif
