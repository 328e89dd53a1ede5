/*
 * The store: every piece of persistent state goes through this interface
 * (DESIGN.md §4).  A backend (SQLite first, PostgreSQL later) implements the
 * operations behind struct rc_store; all backends pass the same store test
 * suite (tests/unit/test_store.c).
 *
 * Rules every backend keeps:
 * - A call that returned RC_OK is durable: it survives kill -9 of the
 *   process (SQLite: WAL + synchronous=FULL).
 * - Every change runs in one transaction together with its audit row, so
 *   the audit chain and the data never disagree.
 * - Lookups by registration ID, group ID, certificate thumbprint and CA
 *   name use indexes; none scans.
 * - IDs compare case-insensitively (ASCII), as DPS registration IDs do; the
 *   spelling of the first write is kept.
 * - Thumbprints are stored upper-case; lookups accept either case.
 * - Safe to call from several threads at once.
 *
 * Times are Unix seconds (UTC); the API layer formats them.
 */
#ifndef ROLLCALL_STORE_H
#define ROLLCALL_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "rollcall/err.h"

struct rc_store;

/*
 * A certificate kept in an enrollment slot or as a CA certificate: the DER
 * and the parsed fields the API returns and the lookups need.
 */
struct rc_store_cert {
	uint8_t *der;
	size_t der_len;
	char sha1[41]; /* upper-case hex */
	char sha256[65]; /* upper-case hex; unique across all enrollments */
	char *subject; /* "CN=x, O=y" as Azure prints it */
	char *issuer;
	char *serial; /* upper-case hex */
	int64_t not_before;
	int64_t not_after;
	int version;
};

enum rc_enrollment_kind {
	RC_ENROLLMENT_INDIVIDUAL,
	RC_ENROLLMENT_GROUP,
};

enum rc_slot { RC_SLOT_PRIMARY, RC_SLOT_SECONDARY, RC_SLOT_COUNT };

/*
 * An individual enrollment (id = registration ID, certs = leaf certificates)
 * or an enrollment group (id = group ID, certs = signing certificates, or
 * ca_refs naming verified CA certificates).  doc holds the remaining API
 * fields verbatim (initialTwin, capabilities, reprovisionPolicy,
 * allocationPolicy, iotHubs, iotHubHostName, optionalDeviceInformation,
 * unknown fields): the API layer owns their meaning.
 */
struct rc_enrollment {
	enum rc_enrollment_kind kind;
	char *id;
	char *device_id; /* individual only; may be NULL */
	int enabled;
	char etag[40];
	int64_t created;
	int64_t updated;
	struct rc_store_cert *certs[RC_SLOT_COUNT]; /* NULL: empty slot */
	char *ca_refs[RC_SLOT_COUNT]; /* group only */
	json_t *doc; /* owned; never NULL */
};

/* Registration state (DPS device registrations; issue of the device API). */
struct rc_registration {
	char *registration_id;
	char *device_id;
	char *assigned_hub;
	char *status; /* assigned, failed, assigning, ... */
	char *substatus; /* initialAssignment, deviceDataMigrated, ... */
	char *enrollment_group_id; /* NULL for individual enrollments */
	char *error_message;
	int error_code;
	char cert_sha256[65]; /* last presented leaf */
	char *last_csr; /* PEM of the last CSR, retained (seed S4b) */
	char etag[40];
	int64_t created;
	int64_t updated;
	json_t *payload; /* may be NULL */
};

/* A CA certificate uploaded for proof of possession (DPS "certificates"). */
struct rc_ca_cert {
	char *name;
	struct rc_store_cert *cert;
	int verified;
	char *verification_code; /* NULL until one is generated */
	char etag[40];
	int64_t created;
	int64_t updated;
};

/* One row of the append-only, hash-chained audit log. */
struct rc_audit {
	int64_t seq; /* 1, 2, 3, ... without gaps */
	int64_t time;
	char *who; /* SAS policy name, or "rollcalld" */
	char *action; /* "enrollment.put", "group.delete", ... */
	char *object; /* the ID the action touched */
	char *etag_before; /* "" when there was none */
	char *etag_after; /* "" when deleted */
	char prev_hash[65];
	char hash[65]; /* SHA-256 over prev_hash and the fields above */
};

/*
 * The identity of the caller of a change, for the audit log, and an
 * optional precondition: if_match non-NULL and not "*" must equal the
 * stored etag, else RC_ESTALE.  Every change needs a ctx with a non-empty
 * who (else RC_EINVAL).
 *
 * Etags are opaque strings chosen afresh on every write.  The double
 * quotes are part of the value (18 characters: "5F0A1B2C3D4E5F60" with
 * the quotes), an HTTP entity-tag (RFC 9110 §8.8.3): the API layer sends
 * it as it is in JSON "etag" and in the ETag header, and passes an
 * If-Match header value through unchanged.
 */
struct rc_store_ctx {
	const char *who;
	const char *if_match;
};

/*
 * Opens (creating and migrating as needed) the store named by uri:
 * "sqlite:/path/to/rollcall.db", "sqlite:///path/..." (or a plain path).
 * Migrations run in order, each inside a transaction; a database newer
 * than this binary is refused with RC_EUNSUPPORTED, as is a "postgres:"
 * URI for now.  A file that is no database: RC_EPARSE.
 */
RC_MUST_CHECK int rc_store_open(const char *uri, struct rc_store **out);
/* Flushes and closes; NULL-safe. */
void rc_store_close(struct rc_store *);
/* The schema version the database is at. */
int rc_store_schema_version(struct rc_store *);

/*
 * Creates or replaces an enrollment.  in->etag, created and updated are
 * ignored; the store assigns them (created is kept on update).  Errors:
 * RC_ESTALE (If-Match mismatch, or if_match given for a missing one),
 * RC_EEXIST (a certificate of in is already in another enrollment; *conflict
 * is then set to the other enrollment's ID if conflict is non-NULL, caller
 * frees), RC_EINVAL (missing id, a malformed certificate or thumbprint,
 * one certificate in both slots, a slot with both a certificate and a CA
 * name, CA names or device_id on the wrong kind, a doc that is not an
 * object; a NULL doc is stored as {}).  On success *out (caller frees with
 * rc_enrollment_free) is the stored record.
 */
RC_MUST_CHECK int rc_store_enrollment_put(struct rc_store *,
    const struct rc_store_ctx *, const struct rc_enrollment *in,
    struct rc_enrollment **out, char **conflict);
RC_MUST_CHECK int rc_store_enrollment_get(struct rc_store *,
    enum rc_enrollment_kind, const char *id, struct rc_enrollment **out);
/* RC_ENOENT if missing, RC_ESTALE on If-Match mismatch. */
RC_MUST_CHECK int rc_store_enrollment_delete(struct rc_store *,
    const struct rc_store_ctx *, enum rc_enrollment_kind, const char *id);
/*
 * A page of enrollments in ID order (case-insensitive), starting after the
 * ID `after` (NULL: from the start), at most max (>= 1, else RC_EINVAL).
 * *next is set (caller frees) to the continuation token when more remain,
 * else NULL.  The token is the last ID of the page: the API layer may
 * encode it, and must not trust a client's token to be one it issued (any
 * string is a valid starting point).  An empty page has *out NULL.
 */
RC_MUST_CHECK int rc_store_enrollment_list(struct rc_store *,
    enum rc_enrollment_kind, const char *after, size_t max,
    struct rc_enrollment ***out, size_t *n, char **next);
/*
 * The enrollment (of either kind) holding a certificate with this SHA-256
 * thumbprint in a slot, and which slot.  RC_ENOENT if none.
 */
RC_MUST_CHECK int rc_store_enrollment_find_cert(struct rc_store *,
    const char *sha256, struct rc_enrollment **out, enum rc_slot *slot);
/*
 * Groups referring to the CA certificate name in ca_refs, in ID order;
 * none: RC_OK with *n 0 and *out NULL.
 */
RC_MUST_CHECK int rc_store_group_find_ca_ref(struct rc_store *,
    const char *ca_name, struct rc_enrollment ***out, size_t *n);

RC_MUST_CHECK int rc_store_registration_put(struct rc_store *,
    const struct rc_store_ctx *, const struct rc_registration *in,
    struct rc_registration **out);
RC_MUST_CHECK int rc_store_registration_get(struct rc_store *,
    const char *registration_id, struct rc_registration **out);
RC_MUST_CHECK int rc_store_registration_delete(struct rc_store *,
    const struct rc_store_ctx *, const char *registration_id);
/* Registrations made through the group, paged like enrollments. */
RC_MUST_CHECK int rc_store_registration_list_group(struct rc_store *,
    const char *group_id, const char *after, size_t max,
    struct rc_registration ***out, size_t *n, char **next);

/*
 * CA certificates.  A put of an existing name replaces it.  verified and
 * verification_code are stored as given while the certificate stays the
 * same (that is how the API layer records a code, then the proof); a put
 * that brings a different certificate (by sha256) under an existing name
 * stores it unverified and without a code, whatever in says, so a proof of
 * possession never carries over to another key.  Lists are in name order.
 */
RC_MUST_CHECK int rc_store_ca_cert_put(struct rc_store *,
    const struct rc_store_ctx *, const struct rc_ca_cert *in,
    struct rc_ca_cert **out);
RC_MUST_CHECK int rc_store_ca_cert_get(struct rc_store *, const char *name,
    struct rc_ca_cert **out);
RC_MUST_CHECK int rc_store_ca_cert_delete(struct rc_store *,
    const struct rc_store_ctx *, const char *name);
RC_MUST_CHECK int rc_store_ca_cert_list(struct rc_store *,
    struct rc_ca_cert ***out, size_t *n);

/* Audit rows with seq > after, at most max, in order. */
RC_MUST_CHECK int rc_store_audit_list(struct rc_store *, int64_t after,
    size_t max, struct rc_audit ***out, size_t *n);
/*
 * Recomputes the chain from the first row: RC_OK, or RC_EBADSIG with
 * *bad_seq set to the first row that does not verify (an edited row
 * itself; for a deleted row, the row after the gap).  Removing the newest
 * rows leaves a shorter chain that still verifies: compare the newest
 * hash with a copy kept elsewhere to see that.
 */
RC_MUST_CHECK int rc_store_audit_verify(struct rc_store *, int64_t *bad_seq);
/*
 * The hash of an audit row from its fields and prev_hash (hex SHA-256 over
 * a length-prefixed encoding of each field, so no field can bleed into the
 * next); shared by the store and by `rollcall audit verify`.
 */
RC_MUST_CHECK int rc_audit_hash(const struct rc_audit *, char out[65]);

/* Freeing; all NULL-safe. */
struct rc_store_cert *rc_store_cert_dup(const struct rc_store_cert *);
void rc_store_cert_free(struct rc_store_cert *);
struct rc_enrollment *rc_enrollment_new(enum rc_enrollment_kind);
void rc_enrollment_free(struct rc_enrollment *);
void rc_enrollment_list_free(struct rc_enrollment **, size_t n);
void rc_registration_free(struct rc_registration *);
void rc_registration_list_free(struct rc_registration **, size_t n);
void rc_ca_cert_free(struct rc_ca_cert *);
void rc_ca_cert_list_free(struct rc_ca_cert **, size_t n);
void rc_audit_free(struct rc_audit *);
void rc_audit_list_free(struct rc_audit **, size_t n);

#endif
