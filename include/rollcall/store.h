/*
 * The store: every piece of persistent state goes through this interface
 * (DESIGN.md §4).  A backend (SQLite first, PostgreSQL later) implements the
 * operations behind struct rc_store; all backends pass the same store test
 * suite (tests/unit/test_store.c, test_store_hub.c).
 *
 * Rules every backend keeps:
 * - A call that returned RC_OK is durable: it survives kill -9 of the
 *   process (SQLite: WAL + synchronous=FULL).
 * - Every change runs in one transaction together with its audit row, so
 *   the audit chain and the data never disagree.
 * - Lookups by registration ID, group ID, certificate thumbprint, CA
 *   name, hub device ID and hub device thumbprint use indexes; none scans.
 * - IDs compare case-insensitively (ASCII), as DPS registration IDs do; the
 *   spelling of the first write is kept.  Hub device IDs and job IDs are
 *   the exception: case-sensitive, as in IoT Hub.
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
#include <openssl/types.h>

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

/*
 * Hub device identities (DESIGN.md §4 hub_device), one registry per hub.
 * Hub names compare case-insensitively, as host names do; device IDs are
 * case-sensitive, as in IoT Hub (azure-service-api.md §4.1): "Device1" and
 * "device1" are two devices.
 *
 * auth: selfSigned devices hold one or two thumbprints (SHA-1, 40 hex
 * digits, or SHA-256, 64; stored upper-case) and nothing else may;
 * certificateAuthority devices hold none and are checked against the
 * hub's verified CA certificates; none is a device with no credentials.
 *
 * The twin: tags and desired are written by the back end, reported by the
 * device.  desired_version and reported_version start at 1 and count the
 * updates of their section (the "$version" of the wire); twin_version
 * counts every twin update and twin_etag changes with each.  etag is the
 * identity's (the wire's "deviceEtag"); twin updates leave it alone.
 */
enum rc_hub_auth {
	RC_HUB_AUTH_NONE,
	RC_HUB_AUTH_SELF_SIGNED,
	RC_HUB_AUTH_CA,
};

/* IoT Hub's limits on an identity (azure-service-api.md §4.1). */
#define RC_HUB_MAX_DEVICE_ID 128
#define RC_HUB_MAX_STATUS_REASON 128
/* Longest hub name and job ID the store accepts. */
#define RC_HUB_MAX_NAME 128
/*
 * Twin documents: at most this deep below a section's root object, keys of
 * 1..RC_HUB_TWIN_MAX_KEY bytes without '.', '$', ' ' or control characters
 * (IoT Hub's rules), and each section (tags, desired, reported) at most
 * RC_HUB_TWIN_MAX_BYTES as compact JSON.
 */
#define RC_HUB_TWIN_MAX_DEPTH 10
#define RC_HUB_TWIN_MAX_KEY 1024
#define RC_HUB_TWIN_MAX_BYTES (32 * 1024)

struct rc_hub_device {
	char *hub;
	char *device_id;
	enum rc_hub_auth auth;
	char primary_thumb[65]; /* "" when empty */
	char secondary_thumb[65];
	int enabled;
	char *status_reason; /* may be NULL */
	char generation_id[24]; /* chosen by the store at creation */
	char etag[40];
	int64_t created;
	int64_t updated; /* last identity change */
	int64_t last_activity; /* 0: never */
	int capabilities_iot_edge;
	json_t *tags; /* objects, never NULL in a stored record */
	json_t *desired;
	int64_t desired_version;
	json_t *reported;
	int64_t reported_version;
	char twin_etag[40];
	int64_t twin_version;
};

/*
 * 1 if id is a valid IoT Hub device ID: 1..RC_HUB_MAX_DEVICE_ID ASCII
 * letters, digits and - . + % _ # * ? ! ( ) , : = @ $ '.
 */
int rc_hub_device_id_valid(const char *id);

/*
 * Creates or updates a device identity.  ctx->if_match NULL: create only,
 * RC_EEXIST if the device exists (IoT Hub answers a PUT without If-Match
 * with 409).  ctx->if_match "*" or an etag: update only, RC_ENOENT if the
 * device does not exist, RC_ESTALE if the etag does not match.
 *
 * The store assigns etag, generation_id (at creation), created and
 * updated, and ignores in's twin fields on update: a put changes the
 * identity (auth, thumbprints, enabled, status_reason, capabilities) and
 * keeps the twin and last_activity.  On create, in->tags and in->desired
 * (NULL: {}) are the initial twin, checked as twin updates are, and
 * in->reported is ignored.  RC_EINVAL for a missing hub, an invalid device
 * ID, a malformed thumbprint, thumbprints on a device that is not
 * selfSigned, a selfSigned device without one, a status_reason longer than
 * RC_HUB_MAX_STATUS_REASON.  *out (caller frees) is the stored record.
 */
RC_MUST_CHECK int rc_store_hub_device_put(struct rc_store *,
    const struct rc_store_ctx *, const struct rc_hub_device *in,
    struct rc_hub_device **out);
RC_MUST_CHECK int rc_store_hub_device_get(struct rc_store *, const char *hub,
    const char *device_id, struct rc_hub_device **out);
/* RC_ENOENT if missing, RC_ESTALE on If-Match mismatch (NULL: any). */
RC_MUST_CHECK int rc_store_hub_device_delete(struct rc_store *,
    const struct rc_store_ctx *, const char *hub, const char *device_id);
/*
 * A page of a hub's devices in device ID order (byte order: "B" before
 * "a"), after the ID `after` (NULL: from the start), at most max (>= 1).
 * *next and an empty page as rc_store_enrollment_list.
 */
RC_MUST_CHECK int rc_store_hub_device_list(struct rc_store *, const char *hub,
    const char *after, size_t max, struct rc_hub_device ***out, size_t *n,
    char **next);
/*
 * Every device, of any hub, whose primary or secondary thumbprint is
 * thumb (40 or 64 hex digits, any case), in (hub, device ID) order; none:
 * RC_OK with *n 0.
 */
RC_MUST_CHECK int rc_store_hub_device_find_thumb(struct rc_store *,
    const char *thumb, struct rc_hub_device ***out, size_t *n);
/*
 * Records activity of a device (last_activity = when) without an audit
 * row or a new etag: it is not a change of the identity.  RC_ENOENT if
 * the device does not exist.
 */
RC_MUST_CHECK int rc_store_hub_device_touch(struct rc_store *, const char *hub,
    const char *device_id, int64_t when);

/*
 * One twin update.  tags, desired and reported are JSON merge patches
 * (RFC 7386: a null member deletes the key, an object member merges into
 * the object there, anything else replaces), each NULL to leave its
 * section alone; with replace, tags and desired (when non-NULL) replace
 * their sections instead and must hold no null.  Every non-NULL section
 * must be an object.  A non-NULL desired increments desired_version, a
 * non-NULL reported reported_version.
 */
struct rc_hub_twin_patch {
	const json_t *tags;
	const json_t *desired;
	const json_t *reported;
	int replace;
};

/*
 * Applies a twin update in one transaction with its audit row
 * ("twin.patch", "twin.replace" or "twin.report" when only reported
 * changes).  ctx->if_match is compared with twin_etag.  RC_ENOENT if the
 * device does not exist, RC_ESTALE on mismatch, RC_EINVAL if all three
 * sections are NULL or one breaks the rules above, RC_ETOOBIG if a
 * section would grow beyond RC_HUB_TWIN_MAX_BYTES.  *out (caller frees)
 * is the device after the update.
 */
RC_MUST_CHECK int rc_store_hub_twin_update(struct rc_store *,
    const struct rc_store_ctx *, const char *hub, const char *device_id,
    const struct rc_hub_twin_patch *, struct rc_hub_device **out);

/*
 * Telemetry: a bounded, persisted log per hub.  seq counts 1, 2, 3, ...
 * per hub and is never reused, also after old events were dropped.
 * Appends are not audited.
 */
#define RC_HUB_EVENT_MAX_BODY (256 * 1024)

struct rc_hub_event {
	int64_t seq;
	char *hub;
	char *device_id;
	int64_t time; /* enqueued, Unix seconds */
	json_t *props; /* object, or NULL: the message's properties */
	uint8_t *body; /* NULL when body_len is 0 */
	size_t body_len;
};

/*
 * Appends in (in->seq ignored; in->time 0: now) and drops the hub's
 * oldest events beyond the newest retain (>= 1) in the same transaction.
 * *seq is the new event's.  RC_EINVAL for a missing hub or device ID,
 * props that are not an object, retain 0; RC_ETOOBIG for a body over
 * RC_HUB_EVENT_MAX_BODY.
 */
RC_MUST_CHECK int rc_store_hub_event_append(struct rc_store *,
    const struct rc_hub_event *in, size_t retain, int64_t *seq);
/*
 * n >= 1 events (of any hubs) in one transaction, one fsync for all
 * (group commit): seqs[i] is in[i]'s.  Either all are stored or none
 * (seqs all 0); the checks are those of rc_store_hub_event_append, for
 * every event before any is written.
 */
RC_MUST_CHECK int rc_store_hub_event_append_batch(struct rc_store *,
    const struct rc_hub_event *const *in, size_t n, size_t retain,
    int64_t *seqs);
/* The hub's events with seq > after, at most max (>= 1), in order. */
RC_MUST_CHECK int rc_store_hub_event_read(struct rc_store *, const char *hub,
    int64_t after, size_t max, struct rc_hub_event ***out, size_t *n);
/*
 * The oldest and newest seq the hub's log holds; both 0 when it holds
 * none.  *last is also the newest ever appended (the log never empties).
 */
RC_MUST_CHECK int rc_store_hub_event_bounds(struct rc_store *, const char *hub,
    int64_t *first, int64_t *last);

/*
 * Jobs v2 (azure-service-api.md §4.3).  A job moves forward only: queued
 * -> running -> completed | failed | cancelled (running may be skipped);
 * the last three are final.
 */
enum rc_hub_job_status {
	RC_HUB_JOB_QUEUED,
	RC_HUB_JOB_RUNNING,
	RC_HUB_JOB_COMPLETED,
	RC_HUB_JOB_FAILED,
	RC_HUB_JOB_CANCELLED,
};

#define RC_HUB_JOB_METHOD "scheduleDeviceMethod"
#define RC_HUB_JOB_TWIN "scheduleUpdateTwin"

struct rc_hub_job {
	char *hub;
	char *job_id; /* case-sensitive */
	char *type; /* RC_HUB_JOB_METHOD or RC_HUB_JOB_TWIN */
	char *query_condition; /* may be NULL */
	json_t *method; /* cloudToDeviceMethod; the method job's, else NULL */
	json_t *twin; /* updateTwin; the twin job's, else NULL */
	int64_t start_time;
	int64_t max_execution_time; /* seconds */
	enum rc_hub_job_status status;
	char *failure_reason; /* may be NULL */
	json_t *statistics; /* may be NULL */
	int64_t created;
	int64_t updated;
	int64_t end_time; /* 0 until final */
};

/* "queued", "running", ... as the wire spells the status. */
const char *rc_hub_job_status_name(enum rc_hub_job_status);

/*
 * Creates a job (status queued whatever in says, audit "job.put").
 * RC_EEXIST if the hub has a job with that ID; RC_EINVAL for a missing
 * hub or job ID, an unknown type, a method job without a method object or
 * with a twin, a twin job without a twin object or with a method, a
 * negative time.
 */
RC_MUST_CHECK int rc_store_hub_job_put(struct rc_store *,
    const struct rc_store_ctx *, const struct rc_hub_job *in,
    struct rc_hub_job **out);
RC_MUST_CHECK int rc_store_hub_job_get(struct rc_store *, const char *hub,
    const char *job_id, struct rc_hub_job **out);
/*
 * A page of the hub's jobs in job ID order, as rc_store_hub_device_list;
 * status >= 0 keeps only jobs in that status (an enum rc_hub_job_status),
 * -1 keeps all.
 */
RC_MUST_CHECK int rc_store_hub_job_list(struct rc_store *, const char *hub,
    int status, const char *after, size_t max, struct rc_hub_job ***out,
    size_t *n, char **next);
/*
 * Moves a job to status, replacing statistics and failure_reason when
 * non-NULL; end_time is set when the status is final.  A change of status
 * writes an audit row ("job.status"); an update of the statistics alone
 * does not.  RC_ENOENT if missing; RC_ESTALE if the job is final or the
 * status would go backwards.
 */
RC_MUST_CHECK int rc_store_hub_job_update(struct rc_store *,
    const struct rc_store_ctx *, const char *hub, const char *job_id,
    enum rc_hub_job_status status, const json_t *statistics,
    const char *failure_reason, struct rc_hub_job **out);

/*
 * Certificates issued by the device CA from CSRs (seed rule S4), one row
 * per certificate, kept after they expire.  Serials compare
 * case-insensitively and are stored upper-case.
 */
#define RC_ISSUED_MAX_SERIAL 40 /* hex digits: 20 octets, RFC 5280 */
#define RC_ISSUED_MAX_REASON 256
#define RC_ISSUED_MAX_DER (64 * 1024)

struct rc_issued_cert {
	char serial[RC_ISSUED_MAX_SERIAL + 1]; /* upper-case hex */
	char *registration_id;
	char sha256[65]; /* upper-case hex thumbprint of der */
	int64_t not_before;
	int64_t not_after;
	int64_t issued_at;
	int64_t revoked_at; /* 0: not revoked */
	char *revoke_reason; /* NULL unless revoked */
	uint8_t *der;
	size_t der_len;
};

/*
 * A record for cert, issued now to registration_id: serial, thumbprint,
 * validity and DER taken from the certificate.  RC_EINVAL for a negative
 * or over-long serial.  The caller frees *out with rc_issued_cert_free.
 */
RC_MUST_CHECK int rc_issued_cert_from_x509(X509 *cert,
    const char *registration_id, struct rc_issued_cert **out);

/*
 * Records an issued certificate (in->revoked_at and revoke_reason are
 * ignored: a new one is live; issued_at 0 means now), with the audit row
 * "certificate.issue" whose object is "REGISTRATION_ID/SERIAL" and whose
 * etags are empty (issued certificates have none).  RC_EEXIST if the
 * serial is already recorded; RC_EINVAL for a missing registration ID, a
 * serial that is not 1..RC_ISSUED_MAX_SERIAL hex digits, a malformed
 * thumbprint, no DER, DER over RC_ISSUED_MAX_DER, not_after before
 * not_before.  *out (may be NULL; caller frees) is the stored record.
 */
RC_MUST_CHECK int rc_store_issued_put(struct rc_store *,
    const struct rc_store_ctx *, const struct rc_issued_cert *in,
    struct rc_issued_cert **out);
/* By serial (any case); RC_ENOENT if there is none. */
RC_MUST_CHECK int rc_store_issued_get(struct rc_store *, const char *serial,
    struct rc_issued_cert **out);
/*
 * The certificates issued to a registration ID, newest first (by
 * issued_at, then serial), at most max (>= 1); none: RC_OK with *n 0.
 */
RC_MUST_CHECK int rc_store_issued_list_registration(struct rc_store *,
    const char *registration_id, size_t max, struct rc_issued_cert ***out,
    size_t *n);
/*
 * Certificates not revoked whose notAfter is before `before` (expired
 * ones included), soonest first (then by serial), at most max (>= 1).
 */
RC_MUST_CHECK int rc_store_issued_list_expiring(struct rc_store *,
    int64_t before, size_t max, struct rc_issued_cert ***out, size_t *n);
/*
 * Marks a certificate revoked now with reason (1..RC_ISSUED_MAX_REASON
 * bytes, else RC_EINVAL), audit row "certificate.revoke".  RC_ENOENT if
 * there is no such serial; RC_EEXIST if it is already revoked (the first
 * revocation stands).  ctx->if_match is not used.  *out may be NULL.
 */
RC_MUST_CHECK int rc_store_issued_revoke(struct rc_store *,
    const struct rc_store_ctx *, const char *serial, const char *reason,
    struct rc_issued_cert **out);

/*
 * Revokes like rc_store_issued_revoke and, in the same transaction, puts
 * the certificate's thumbprint on the blocklist with the same reason (as
 * rc_store_blocklist_put: an existing entry keeps its time and takes the
 * reason), with both audit rows.  Errors as rc_store_issued_revoke; on
 * any error nothing changed.
 */
RC_MUST_CHECK int rc_store_issued_revoke_block(struct rc_store *,
    const struct rc_store_ctx *, const char *serial, const char *reason,
    struct rc_issued_cert **out);

/*
 * The certificate blocklist (seed rule S9): SHA-256 thumbprints of
 * certificates that may not attest, whatever the enrollments say.
 * Thumbprints are 64 hex digits in any case, stored upper-case; reasons
 * are 1..RC_BLOCKLIST_MAX_REASON bytes.  Entries have no etag; each change
 * writes an audit row whose object is the thumbprint and whose etags are
 * empty.
 */
#define RC_BLOCKLIST_MAX_REASON 256

struct rc_blocked_cert {
	char sha256[65]; /* upper-case hex */
	char *reason;
	int64_t blocked_at; /* when first listed */
};

/*
 * Lists sha256 with reason (audit "blocklist.put").  A thumbprint already
 * listed takes the new reason and keeps its blocked_at.  RC_EINVAL for a
 * malformed thumbprint or reason, or a ctx without who.  *out (may be
 * NULL; caller frees) is the stored entry.
 */
RC_MUST_CHECK int rc_store_blocklist_put(struct rc_store *,
    const struct rc_store_ctx *, const char *sha256, const char *reason,
    struct rc_blocked_cert **out);
/* RC_ENOENT if sha256 is not listed; RC_EINVAL if it is malformed. */
RC_MUST_CHECK int rc_store_blocklist_get(struct rc_store *, const char *sha256,
    struct rc_blocked_cert **out);
/* Removes an entry (audit "blocklist.delete"); RC_ENOENT if not listed. */
RC_MUST_CHECK int rc_store_blocklist_delete(struct rc_store *,
    const struct rc_store_ctx *, const char *sha256);
/*
 * A page of entries in thumbprint order, after `after` (NULL: from the
 * start), at most max (>= 1); *next and an empty page as
 * rc_store_enrollment_list.
 */
RC_MUST_CHECK int rc_store_blocklist_list(struct rc_store *, const char *after,
    size_t max, struct rc_blocked_cert ***out, size_t *n, char **next);

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
/* A device with enabled set and empty tags, desired and reported. */
struct rc_hub_device *rc_hub_device_new(void);
struct rc_hub_device *rc_hub_device_dup(const struct rc_hub_device *);
void rc_hub_device_free(struct rc_hub_device *);
void rc_hub_device_list_free(struct rc_hub_device **, size_t n);
void rc_hub_event_free(struct rc_hub_event *);
void rc_hub_event_list_free(struct rc_hub_event **, size_t n);
void rc_hub_job_free(struct rc_hub_job *);
void rc_hub_job_list_free(struct rc_hub_job **, size_t n);
struct rc_issued_cert *rc_issued_cert_dup(const struct rc_issued_cert *);
void rc_issued_cert_free(struct rc_issued_cert *);
void rc_issued_cert_list_free(struct rc_issued_cert **, size_t n);
void rc_blocked_cert_free(struct rc_blocked_cert *);
void rc_blocked_cert_list_free(struct rc_blocked_cert **, size_t n);

#endif
