/*
 * Internals of the DPS service API shared by its files: the role's state,
 * the per-request context, the error answer, and the JSON intake
 * (enrollment_json.c) that the fuzz target also drives.
 */
#ifndef ROLLCALL_DPS_IMPL_H
#define ROLLCALL_DPS_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "dps.h"

#define DPS_DEFAULT_MAX_BODY (1024 * 1024)
/* Page sizes of the queries (x-ms-max-item-count) and of GET /audit. */
#define DPS_PAGE_DEFAULT 100
#define DPS_PAGE_MAX 1000
/* reference/azure-service-api.md §2.1: "maximum of 10 enrollments". */
#define DPS_BULK_MAX 10
/* §3.1: registration IDs; 64 when the ID is an X.509 CN. */
#define DPS_ID_MAX 128
#define DPS_ID_MAX_X509 64
#define DPS_CA_NAME_MAX 64
#define DPS_MSG_MAX 512

/*
 * Six-digit error codes of the service API: the HTTP status times 1000
 * plus a detail, as Azure's own (401002, 404201, ...).  The list is in
 * docs/api.md; keep the two in step.
 */
enum dps_code {
	DPS_E_BAD_REQUEST = 400001, /* path, header or query parameter */
	DPS_E_BAD_BODY = 400004, /* JSON malformed or a field invalid */
	DPS_E_BAD_ID = 400005, /* registration/group ID or CA name rules */
	DPS_E_BAD_CERT = 400010, /* certificate unparsable or unsuitable */
	DPS_E_BAD_CA_REF = 400011, /* caReferences: unknown or unverified */
	DPS_E_ATTESTATION = 400012, /* attestation type not supported */
	DPS_E_POP = 400013, /* proof-of-possession refused */
	DPS_E_UNAUTHORIZED = 401002,
	DPS_E_NOT_FOUND = 404000, /* no such path */
	DPS_E_NO_ENROLLMENT = 404201, /* individual enrollment */
	DPS_E_NO_GROUP = 404202,
	DPS_E_NO_REGISTRATION = 404203,
	DPS_E_NO_CA_CERT = 404204,
	DPS_E_NOT_BLOCKED = 404205, /* thumbprint not on the blocklist */
	DPS_E_NO_ISSUED = 404206, /* no issued certificate by that serial */
	DPS_E_METHOD = 405000,
	DPS_E_CERT_IN_USE = 409201, /* certificate in another enrollment */
	DPS_E_EXISTS = 409202, /* bulk create of an existing enrollment */
	DPS_E_CA_IN_USE = 409203, /* CA certificate referenced by a group */
	DPS_E_NO_CSR = 409204, /* reissue: no CSR retained */
	DPS_E_CSR_REFUSED = 409205, /* reissue: the CA refuses the CSR */
	DPS_E_REVOKED = 409206, /* the certificate is already revoked */
	DPS_E_ETAG = 412002,
	DPS_E_TOO_LARGE = 413001,
	DPS_E_MEDIA_TYPE = 415001,
	DPS_E_INTERNAL = 500000,
	DPS_E_NO_SIGNER = 503001, /* no device CA signer, or it failed */
};

/* A refusal on its way to an error body (or a bulk errors[] entry). */
struct dps_err {
	int status;
	int code;
	char msg[DPS_MSG_MAX];
};

struct dps {
	char *id_scope;
	const char *const *hostnames;
	size_t nhostnames;
	const char *device_ca_dir;
	size_t max_body;
	struct rc_store *store;
	dps_service_sign_fn *sign;
	void *sign_arg;
};

/* One request on its way through the router. */
struct dps_req {
	struct dps *dps;
	const struct rc_http_req *http;
	const struct rc_principal *who;
	struct rc_http_resp *resp;
	const char *segs[4]; /* decoded path segments */
	size_t nsegs;
};

/* service.c: answers and shared helpers. */
void dps_reply_err(struct dps_req *, const struct dps_err *);
void dps_reply_error(struct dps_req *, int status, int code, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));
/* 200 with j (not stolen); on failure a 500. */
void dps_reply_json(struct dps_req *, int status, json_t *j);
/* 200 with j and an ETag header. */
void dps_reply_etag(struct dps_req *, json_t *j, const char *etag);
void dps_reply_status(struct dps_req *, int status);
/* 405 with an Allow header listing allow. */
void dps_reply_method(struct dps_req *, const char *allow);
/*
 * 1 if the principal holds one of the rights in any; otherwise answers
 * 401 (nothing has been done yet) and returns 0.
 */
int dps_need(struct dps_req *, unsigned any);
/* Sets e and returns rc (so callers can `return dps_err_set(...)`). */
int dps_err_set(struct dps_err *, int rc, int status, int code, const char *fmt,
    ...) __attribute__((format(printf, 5, 6)));
/* The error of a store call that failed with rc (ENOENT, ESTALE, ...). */
int dps_err_store(struct dps_err *, int rc, const char *what, const char *id,
    int notfound_code);
/*
 * The request body as a JSON object (*out caller's), or an error set in e:
 * 413 over max_body, 415 for a non-JSON Content-Type, 400 naming the line
 * and column of malformed JSON.  An empty body gives RC_ENOENT with e
 * unset, so callers choose whether a body is optional.
 */
RC_MUST_CHECK int dps_body_json(struct dps_req *, json_t **out,
    struct dps_err *e);
/*
 * A body {"reason": "..."} (other members ignored): *reason points into
 * *body (caller's), 1..max bytes without NUL.  Errors as dps_body_json,
 * and 400 for an empty body or a missing or bad reason.
 */
RC_MUST_CHECK int dps_body_reason(struct dps_req *, json_t **body,
    const char **reason, size_t max, struct dps_err *e);
/*
 * The If-Match header as the store takes it: NULL when absent, the value
 * without surrounding double quotes (RFC 7232 §2.3 entity-tag) otherwise.
 * Written into buf.
 */
const char *dps_if_match(const struct dps_req *, char *buf, size_t bufsize);
/* The store context for a change made by this request. */
void dps_store_ctx(const struct dps_req *, const char *if_match,
    struct rc_store_ctx *ctx);
/* "YYYY-MM-DDTHH:MM:SSZ" (UTC) of t; out must hold 21 bytes. */
void dps_time_iso(int64_t t, char out[21]);
/* JSON string of dps_time_iso(t); NULL on ENOMEM. */
json_t *dps_time_json(int64_t t);
/*
 * Paging headers in: x-ms-max-item-count (default DPS_PAGE_DEFAULT,
 * capped at DPS_PAGE_MAX) and x-ms-continuation (base64 of the store's
 * token; *after caller frees, NULL for the first page).
 */
RC_MUST_CHECK int dps_page_in(struct dps_req *, size_t *max, char **after,
    struct dps_err *e);
/*
 * Answers 200 with the array items and the paging headers out; next is
 * the store's continuation token (NULL on the last page).
 */
void dps_page_reply(struct dps_req *, json_t *items, const char *item_type,
    size_t max, const char *next);
/* The query body of POST .../query: absent, "*" or SELECT * FROM x. */
RC_MUST_CHECK int dps_query_check(struct dps_req *, struct dps_err *e);

/* §3.1 registration ID / group ID rules; max is 128 or 64 (X.509). */
int dps_id_valid(const char *id, size_t max);
/* CA certificate names: [A-Za-z0-9._-], 1 to 64 characters. */
int dps_ca_name_valid(const char *name);

/* Handlers, by resource (the router in service.c picks one). */
void dps_enrollments(struct dps_req *, enum rc_enrollment_kind);
void dps_registrations(struct dps_req *);
void dps_cacerts(struct dps_req *);
void dps_audit(struct dps_req *);
void dps_blocklist(struct dps_req *);
void dps_issued(struct dps_req *);
/* POST /registrations/{id}/reissue and GET /registrations/{id}/issued. */
void dps_registration_reissue(struct dps_req *, const char *id);
void dps_registration_issued(struct dps_req *, const char *id);

/*
 * A "YYYY-MM-DDTHH:MM:SS[.fff]Z" time (UTC) as Unix seconds, fractions
 * dropped; RC_EPARSE for anything else.
 */
RC_MUST_CHECK int dps_time_parse(const char *s, int64_t *out);
/*
 * The query parameter name as an integer in [min, max]: *out = dflt when
 * absent or empty; otherwise answers 400 and returns RC_EPARSE.
 */
RC_MUST_CHECK int dps_query_int(struct dps_req *, const char *name,
    long long dflt, long long min, long long max, long long *out);

/*
 * enrollment_json.c: the JSON intake.
 *
 * The intake of a PUT body (or one item of a bulk body) for kind.  path_id
 * (may be NULL for bulk) must equal the body's ID ignoring case.  On
 * success *out is a new enrollment (caller frees) and keep[slot] is 1 for
 * each slot that carried only `info`: the caller fills those from the
 * stored enrollment.  Errors are RC_EINVAL, RC_EPARSE (certificate),
 * RC_EUNSUPPORTED (attestation type) or RC_ENOMEM, with e set.
 */
RC_MUST_CHECK int dps_enrollment_from_json(enum rc_enrollment_kind,
    json_t *body, const char *path_id, struct rc_enrollment **out,
    int keep[RC_SLOT_COUNT], struct dps_err *e);
/*
 * The info-only slots' thumbprints, if the body gave any, so the caller
 * can check them against the stored certificate; NULL when absent.
 */
const char *dps_enrollment_keep_thumb(json_t *body, enum rc_enrollment_kind,
    enum rc_slot);
/* The API object of an enrollment (certificates as {"info":{...}}). */
RC_MUST_CHECK int dps_enrollment_to_json(const struct rc_enrollment *,
    json_t **out);
/* Only its attestation mechanism (POST .../attestationmechanism). */
RC_MUST_CHECK int dps_attestation_to_json(const struct rc_enrollment *,
    json_t **out);
/* A DeviceRegistrationState object. */
RC_MUST_CHECK int dps_registration_to_json(const struct rc_registration *,
    json_t **out);
/*
 * A certificate from an API field (PEM or bare base64 DER): *out (caller
 * frees with rc_store_cert_free) carries the DER and parsed fields; *x509
 * (if x509 is non-NULL) the parsed certificate.  RC_EPARSE/RC_ETOOBIG with
 * why (at most whylen bytes) saying what is wrong.
 */
RC_MUST_CHECK int dps_cert_parse(const char *text, size_t len,
    struct rc_store_cert **out, X509 **x509, char *why, size_t whylen);
/* Azure's X509CertificateInfo of a stored certificate. */
RC_MUST_CHECK int dps_cert_info_json(const struct rc_store_cert *,
    json_t **out);

#endif
