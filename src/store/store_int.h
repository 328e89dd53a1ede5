/*
 * Inside the store: the operations a backend implements, and the helpers
 * every backend shares.  The public functions of store.h check their
 * arguments, clear the out-parameters and normalise thumbprints before they
 * reach a backend, so a backend can rely on:
 * - ctx and ctx->who non-NULL; ids non-empty; out-parameters non-NULL and
 *   cleared;
 * - every certificate with DER, hex sha1/sha256 of the right length (any
 *   case: rc_store_thumb_norm makes the stored form), two slots never
 *   holding the same sha256;
 * - a page size max of at least 1;
 * - a lookup thumbprint already upper-case.
 */
#ifndef RC_STORE_INT_H
#define RC_STORE_INT_H

#include "rollcall/store.h"

#define RC_STORE_SHA1_HEX 40
#define RC_STORE_SHA256_HEX 64

struct rc_store_ops {
	const char *name;
	void (*close)(struct rc_store *);
	int (*enrollment_put)(struct rc_store *, const struct rc_store_ctx *,
	    const struct rc_enrollment *, struct rc_enrollment **, char **);
	int (*enrollment_get)(struct rc_store *, enum rc_enrollment_kind,
	    const char *, struct rc_enrollment **);
	int (*enrollment_delete)(struct rc_store *, const struct rc_store_ctx *,
	    enum rc_enrollment_kind, const char *);
	int (*enrollment_list)(struct rc_store *, enum rc_enrollment_kind,
	    const char *, size_t, struct rc_enrollment ***, size_t *, char **);
	int (*enrollment_find_cert)(struct rc_store *, const char *,
	    struct rc_enrollment **, enum rc_slot *);
	int (*group_find_ca_ref)(struct rc_store *, const char *,
	    struct rc_enrollment ***, size_t *);
	int (*registration_put)(struct rc_store *, const struct rc_store_ctx *,
	    const struct rc_registration *, struct rc_registration **);
	int (*registration_get)(struct rc_store *, const char *,
	    struct rc_registration **);
	int (*registration_delete)(struct rc_store *,
	    const struct rc_store_ctx *, const char *);
	int (*registration_list_group)(struct rc_store *, const char *,
	    const char *, size_t, struct rc_registration ***, size_t *,
	    char **);
	int (*ca_cert_put)(struct rc_store *, const struct rc_store_ctx *,
	    const struct rc_ca_cert *, struct rc_ca_cert **);
	int (*ca_cert_get)(struct rc_store *, const char *,
	    struct rc_ca_cert **);
	int (*ca_cert_delete)(struct rc_store *, const struct rc_store_ctx *,
	    const char *);
	int (*ca_cert_list)(struct rc_store *, struct rc_ca_cert ***, size_t *);
	int (*audit_list)(struct rc_store *, int64_t, size_t,
	    struct rc_audit ***, size_t *);
	int (*hub_device_put)(struct rc_store *, const struct rc_store_ctx *,
	    const struct rc_hub_device *, struct rc_hub_device **);
	int (*hub_device_get)(struct rc_store *, const char *, const char *,
	    struct rc_hub_device **);
	int (*hub_device_delete)(struct rc_store *, const struct rc_store_ctx *,
	    const char *, const char *);
	int (*hub_device_list)(struct rc_store *, const char *, const char *,
	    size_t, struct rc_hub_device ***, size_t *, char **);
	int (*hub_device_find_thumb)(struct rc_store *, const char *,
	    struct rc_hub_device ***, size_t *);
	int (*hub_device_touch)(struct rc_store *, const char *, const char *,
	    int64_t);
	int (*hub_twin_update)(struct rc_store *, const struct rc_store_ctx *,
	    const char *, const char *, const struct rc_hub_twin_patch *,
	    struct rc_hub_device **);
	int (*hub_event_append)(struct rc_store *,
	    const struct rc_hub_event *const *, size_t, size_t, int64_t *);
	int (*hub_event_read)(struct rc_store *, const char *, int64_t, size_t,
	    struct rc_hub_event ***, size_t *);
	int (*hub_event_bounds)(struct rc_store *, const char *, int64_t *,
	    int64_t *);
	int (*hub_job_put)(struct rc_store *, const struct rc_store_ctx *,
	    const struct rc_hub_job *, struct rc_hub_job **);
	int (*hub_job_get)(struct rc_store *, const char *, const char *,
	    struct rc_hub_job **);
	int (*hub_job_list)(struct rc_store *, const char *, int, const char *,
	    size_t, struct rc_hub_job ***, size_t *, char **);
	int (*hub_job_update)(struct rc_store *, const struct rc_store_ctx *,
	    const char *, const char *, enum rc_hub_job_status, const json_t *,
	    const char *, struct rc_hub_job **);
	int (*issued_put)(struct rc_store *, const struct rc_store_ctx *,
	    const struct rc_issued_cert *, struct rc_issued_cert **);
	int (*issued_get)(struct rc_store *, const char *,
	    struct rc_issued_cert **);
	int (*issued_list_registration)(struct rc_store *, const char *, size_t,
	    struct rc_issued_cert ***, size_t *);
	int (*issued_list_expiring)(struct rc_store *, int64_t, size_t,
	    struct rc_issued_cert ***, size_t *);
	int (*issued_revoke)(struct rc_store *, const struct rc_store_ctx *,
	    const char *, const char *, int, struct rc_issued_cert **);
	int (*blocklist_put)(struct rc_store *, const struct rc_store_ctx *,
	    const char *, const char *, struct rc_blocked_cert **);
	int (*blocklist_get)(struct rc_store *, const char *,
	    struct rc_blocked_cert **);
	int (*blocklist_delete)(struct rc_store *, const struct rc_store_ctx *,
	    const char *);
	int (*blocklist_list)(struct rc_store *, const char *, size_t,
	    struct rc_blocked_cert ***, size_t *, char **);
};

/* The head of every backend's store object. */
struct rc_store {
	const struct rc_store_ops *ops;
	int schema_version;
};

/* Backends: path is the part of the URI after the scheme. */
RC_MUST_CHECK int rc_store_sqlite_open(const char *path, struct rc_store **);

/*
 * A fresh etag: 8 random bytes as upper-case hex inside double quotes, an
 * HTTP entity-tag (RFC 9110 §8.8.3) that the API layer sends and compares
 * verbatim.
 */
RC_MUST_CHECK int rc_store_etag_new(char out[40]);
/*
 * The If-Match precondition of ctx against the stored etag (NULL: no
 * record).  RC_OK or RC_ESTALE; "*" matches any existing record, and any
 * if_match fails on a missing one (RFC 9110 §13.1.1).
 */
RC_MUST_CHECK int rc_store_if_match(const struct rc_store_ctx *,
    const char *etag);
/*
 * Copies a hex thumbprint of exactly len digits to out (len + 1 bytes),
 * upper-case.  RC_EINVAL if it is not len hex digits.
 */
RC_MUST_CHECK int rc_store_thumb_norm(const char *in, size_t len, char *out);
/* The prev_hash of the first audit row: 64 '0' digits. */
const char *rc_store_audit_genesis(void);
/* The action name of the audit row for a put or delete of kind. */
const char *rc_store_enrollment_action(enum rc_enrollment_kind, int del);

/*
 * Hubs (store_hub.c).  For the hub operations a backend may also rely on:
 * hub names and device IDs valid (rc_hub_device_id_valid); a device's
 * thumbprints upper-case, 40 or 64 digits or empty, only on selfSigned
 * devices; twin patches, jobs and events checked as store.h says; a
 * lookup thumbprint upper-case.
 */

/* The audit row's object for a hub record: "hub/id". */
RC_MUST_CHECK int rc_store_hub_object(const char *hub, const char *id,
    char **out);
/*
 * The twin update p applied to dev (in place): merges or replaces the
 * sections, checks the result's size, counts the versions.  The etag is
 * the caller's.  On failure dev is unchanged.
 */
RC_MUST_CHECK int rc_store_hub_twin_apply(struct rc_hub_device *dev,
    const struct rc_hub_twin_patch *p);
/*
 * Checks an initial twin section (a put's tags or desired; NULL is {}):
 * an object following the twin rules, without nulls.
 */
RC_MUST_CHECK int rc_store_hub_twin_check(const json_t *section);
/* A fresh generation ID: 18 decimal digits, as IoT Hub's look. */
RC_MUST_CHECK int rc_store_hub_generation_new(char out[24]);
/* 1 if a job may move from status `from` to `to` (store.h). */
int rc_store_hub_job_next_ok(enum rc_hub_job_status from,
    enum rc_hub_job_status to);

/*
 * Issued certificates (store_issued.c).  A backend may rely on: a serial
 * upper-case hex of 1..RC_ISSUED_MAX_SERIAL digits, a registration ID,
 * an upper-case sha256, DER of 1..RC_ISSUED_MAX_DER bytes, not_before <=
 * not_after, issued_at set, a reason of 1..RC_ISSUED_MAX_REASON bytes.
 * issued_revoke's int is 1 when the thumbprint is also to be blocklisted
 * (rc_store_issued_revoke_block).
 *
 * The blocklist (store_blocklist.c): thumbprints upper-case, 64 digits;
 * reasons of 1..RC_BLOCKLIST_MAX_REASON bytes.
 */

#endif
