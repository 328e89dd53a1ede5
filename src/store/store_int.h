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

#endif
