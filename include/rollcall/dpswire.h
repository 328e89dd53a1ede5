/*
 * The device side of DPS on the wire (reference/azure-device-wire.md §2-§5,
 * §10): what a device sends over MQTT or HTTPS, read into plain C values,
 * and the replies built back from plain C values.  Pure functions: no I/O,
 * no store, no globals (the operation ID generator reads RAND_bytes).
 *
 * Intake (untrusted bytes, each function refusing with a message in why
 * that names the rule, fit to send to the device):
 *
 *	MQTT CONNECT username	rc_dpswire_username
 *	MQTT PUBLISH topic	rc_dpswire_topic
 *	HTTPS request line	rc_dpswire_http
 *	register body		rc_dpswire_register_parse
 *
 * Poll bodies are never read: node sends " ", the C SDK re-sends the
 * register JSON (with "csr" on the CSR branch), node's HTTPS GET sends
 * "{}" (§2.3, §3, §10.4).
 *
 * Replies: rc_dpswire_reply_topic, rc_dpswire_op_json (the
 * RegistrationOperationStatus of §4) and rc_dpswire_error_json (the
 * ProvisioningServiceErrorDetails of §4).  The statuses "disabled" and
 * "unassigned" cannot be expressed: the SDKs misread them (§10.2).
 *
 * Registration IDs follow the DPS rules (up to 128 of [A-Za-z0-9.-_:],
 * ending in a letter, digit or '-').  Azure also asks for lower case;
 * that is not enforced, as the ID is the certificate CN and compared to
 * it exactly.
 */
#ifndef ROLLCALL_DPSWIRE_H
#define ROLLCALL_DPSWIRE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "rollcall/err.h"
#include "rollcall/http.h"

/* Bounds, in bytes without the NUL. */
#define RC_DPSWIRE_SCOPE_MAX 64 /* rollcalld's id-scope rule */
#define RC_DPSWIRE_REGID_MAX 128 /* DPS registration ID */
#define RC_DPSWIRE_APIVER_MAX 64
#define RC_DPSWIRE_CLIENTVER_MAX 256
#define RC_DPSWIRE_RID_MAX 128 /* node: UUID, C: a number, emb: "1" */
#define RC_DPSWIRE_OPID_MAX 128
/* A register body, and the CSR inside it once decoded (DER bytes). */
#define RC_DPSWIRE_BODY_MAX (64 * 1024)
#define RC_DPSWIRE_CSR_MAX (16 * 1024)
/* The longest reply topic, with its NUL. */
#define RC_DPSWIRE_TOPIC_SIZE 192
/* Operation IDs made by rc_dpswire_opid_new, with the NUL. */
#define RC_DPSWIRE_OPID_SIZE 54
/* Room for the messages of the intake functions. */
#define RC_DPSWIRE_WHY_SIZE 256

/* The two device requests. */
enum rc_dpswire_op {
	RC_DPSWIRE_REGISTER,
	RC_DPSWIRE_POLL,
};

/*
 * "{idScope}/registrations/{registrationId}/api-version=V&ClientVersion=C"
 * (§2.1): no '?' before the parameters (one is tolerated), which come in
 * any order and are percent-decoded; unknown ones are ignored, and so is
 * an unknown api-version.  api-version is required; ClientVersion is
 * optional (Embedded C may omit it) and "" when absent; it is only for
 * logs, so control characters in it become '?'.
 */
struct rc_dpswire_username {
	char scope[RC_DPSWIRE_SCOPE_MAX + 1];
	char registration_id[RC_DPSWIRE_REGID_MAX + 1];
	char api_version[RC_DPSWIRE_APIVER_MAX + 1];
	char client_version[RC_DPSWIRE_CLIENTVER_MAX + 1];
};

/*
 * Parses the n bytes of p.  RC_EPARSE for anything malformed (an ID scope
 * that is not 1..64 letters and digits, a bad registration ID, a missing
 * or repeated api-version, bad percent-encoding) and RC_ETOOBIG for a
 * field over its bound; why says which.  The caller checks that the
 * registration ID equals the CONNECT ClientId and the leaf CN (§1, §2.1)
 * and that the scope is its own.  *out is zeroed on entry.
 */
RC_MUST_CHECK int rc_dpswire_username(const char *p, size_t n,
    struct rc_dpswire_username *out, char *why, size_t whylen);

/*
 * A request topic (§2.2):
 *
 *	$dps/registrations/PUT/iotdps-register/?$rid={rid}
 *	$dps/registrations/GET/iotdps-get-operationstatus/?$rid={rid}
 *	    &operationId={operationId}
 *
 * rid is kept byte for byte (the reply echoes it, §2.4): 1 to
 * RC_DPSWIRE_RID_MAX visible ASCII characters other than & # + / ?, so
 * that the echo stays one query value of a valid topic name.  The
 * operationId is taken as it comes too (node and C send it unencoded) and
 * must be 1 to RC_DPSWIRE_OPID_MAX of [A-Za-z0-9.-].  Parameters come in
 * any order, keys percent-decoded ("%24rid" is "$rid"), unknown ones
 * ignored, a repeated $rid or operationId refused.
 */
struct rc_dpswire_topic {
	enum rc_dpswire_op op;
	char rid[RC_DPSWIRE_RID_MAX + 1];
	char operation_id[RC_DPSWIRE_OPID_MAX + 1]; /* "" for REGISTER */
};

/*
 * RC_ENOENT: not a DPS request topic (the caller drops or disconnects);
 * RC_EPARSE / RC_ETOOBIG: a DPS request topic with a bad query, why says
 * what.  *out is zeroed on entry.
 */
RC_MUST_CHECK int rc_dpswire_topic(const char *p, size_t n,
    struct rc_dpswire_topic *out, char *why, size_t whylen);

/*
 * The reply topic "$dps/registrations/res/{status}/?$rid={rid}" with
 * "&retry-after={retry_after}" when retry_after > 0 (§2.4, §10.1), into
 * out (at least RC_DPSWIRE_TOPIC_SIZE bytes is always enough).  RC_EINVAL
 * for a status outside 200..599, a rid rc_dpswire_topic would refuse, a
 * retry_after over 3600, or a 202 without retry_after (every SDK polls on
 * it); RC_ETOOBIG if out is too small.
 */
RC_MUST_CHECK int rc_dpswire_reply_topic(int status, const char *rid,
    int retry_after, char *out, size_t outsize);

/*
 * HTTPS device API (§3):
 *
 *	PUT /{idScope}/registrations/{registrationId}/register?api-version=V
 *	GET /{idScope}/registrations/{registrationId}/operations/{opId}
 *	    ?api-version=V
 *
 * The path segments are percent-decoded; the words "registrations",
 * "register" and "operations" match in any case.  Other query parameters
 * (forceRegistration) are ignored.
 */
struct rc_dpswire_http {
	enum rc_dpswire_op op;
	char scope[RC_DPSWIRE_SCOPE_MAX + 1];
	char registration_id[RC_DPSWIRE_REGID_MAX + 1];
	char operation_id[RC_DPSWIRE_OPID_MAX + 1]; /* "" for REGISTER */
	char api_version[RC_DPSWIRE_APIVER_MAX + 1];
};

/*
 * RC_ENOENT: the path is not a device API path (404); RC_EUNSUPPORTED: it
 * is, but not with this method (405); RC_EPARSE / RC_ETOOBIG: a bad ID,
 * scope, operation ID or api-version (400).  why says which.  *out is
 * zeroed on entry.
 */
RC_MUST_CHECK int rc_dpswire_http(const struct rc_http_req *,
    struct rc_dpswire_http *out, char *why, size_t whylen);

/*
 * The register body (§2.3, §3, §5):
 *	{"registrationId": "...", "payload": any, "csr": "base64 DER"}
 * in strict JSON (json.h), at most RC_DPSWIRE_BODY_MAX bytes, an object.
 * registrationId, when present, must equal expect_id exactly; it may be
 * absent when expect_id is given (the ID is in the username or path).
 * payload is any JSON value (null counts as absent).  csr is base64 of a
 * DER PKCS#10 request without PEM armour, decoded here and at most
 * RC_DPSWIRE_CSR_MAX bytes; its content is the CSR check's business.
 * Unknown members are ignored.
 */
struct rc_dpswire_register {
	char registration_id[RC_DPSWIRE_REGID_MAX + 1];
	json_t *payload; /* owned reference, or NULL */
	uint8_t *csr; /* owned DER, or NULL */
	size_t csr_len;
};

/*
 * expect_id may be NULL (then registrationId is required).  RC_EPARSE
 * (why says what), RC_ETOOBIG, RC_ENOMEM.  The caller frees *out with
 * rc_dpswire_register_free.
 */
RC_MUST_CHECK int rc_dpswire_register_parse(const uint8_t *body, size_t len,
    const char *expect_id, struct rc_dpswire_register **out, char *why,
    size_t whylen);
/* NULL-safe. */
void rc_dpswire_register_free(struct rc_dpswire_register *);

/*
 * Replies.  The status of an operation as the device sees it; there is
 * deliberately no "disabled" or "unassigned" (§10.2).
 */
enum rc_dpswire_status {
	RC_DPSWIRE_ASSIGNING,
	RC_DPSWIRE_ASSIGNED,
	RC_DPSWIRE_FAILED,
};

/* X509CertificateInfo (§4); every field optional (NULL: left out). */
struct rc_dpswire_cert_info {
	const char *subject_name;
	const char *sha1_thumbprint;
	const char *sha256_thumbprint;
	const char *issuer_name;
	time_t not_before; /* 0: left out */
	time_t not_after;
	const char *serial_number;
	int version; /* 0: left out */
};

/*
 * DeviceRegistrationResult (§4), everything borrowed.  NULL strings and
 * zero times or codes are left out.  Its "status" is the operation's.
 * x509 carries enrollmentGroupId when the device came in through a group,
 * and certificateInfo when cert is set; it is always present (as {} at
 * least), as in Azure's own replies.
 */
struct rc_dpswire_state {
	const char *registration_id;
	time_t created;
	const char *assigned_hub;
	const char *device_id;
	const char *substatus; /* initialAssignment, deviceDataMigrated, ... */
	time_t updated;
	const char *etag;
	json_t *payload; /* custom allocation reply data */
	/* issuedCertificateChain (§5): base64 DER, leaf first. */
	const char *const *issued_chain;
	size_t nissued;
	int error_code; /* e.g. 400208 */
	const char *error_message;
	const char *enrollment_group_id;
	const struct rc_dpswire_cert_info *cert;
};

/*
 * {"operationId", "status", "registrationState"} (§4).  state may be NULL
 * (a bare "assigning").  RC_EINVAL when the reply would break an SDK:
 * no operation_id (Embedded C needs it), ASSIGNED without assigned_hub and
 * device_id (C needs both), FAILED without state->error_code (C maps it);
 * or a string that is not UTF-8.  The caller owns *out (json_decref); its
 * compact dump (rc_json_dump) is the MQTT payload or HTTPS body.  It goes
 * with 202 and a retry-after when assigning, else 200 (§2.4, §3; node's
 * HTTPS transport fails on anything >= 300, so "failed" is a 200 too).
 */
RC_MUST_CHECK int rc_dpswire_op_json(const char *operation_id,
    enum rc_dpswire_status, const struct rc_dpswire_state *state, json_t **out);

/*
 * {"errorCode", "trackingId", "message", "timestampUtc"} (§4), e.g.
 * 401002 for a refused attestation.  tracking_id NULL: a fresh UUID.
 * error_code must be 100000..599999 (HTTP status times 1000 plus a detail,
 * the rule Embedded C decodes).  The caller owns *out.
 */
RC_MUST_CHECK int rc_dpswire_error_json(int error_code, const char *message,
    const char *tracking_id, time_t now, json_t **out);

/*
 * A fresh operation ID in out: "{16 hex}.{UUID}" in lower case, a shape
 * like Azure's and within [A-Za-z0-9.-] (§2.2: it travels unencoded),
 * 186 random bits from RAND_bytes (64, then a version 4 UUID).
 * RC_ECRYPTO if the generator fails.
 */
RC_MUST_CHECK int rc_dpswire_opid_new(char out[RC_DPSWIRE_OPID_SIZE]);

/* 1 if s is a registration ID the intake accepts, else 0. */
int rc_dpswire_regid_valid(const char *s);

#endif
