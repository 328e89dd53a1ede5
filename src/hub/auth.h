/*
 * Hub device authentication at MQTT CONNECT (seed rules S5, S9;
 * azure-service-api.md §4.6; DESIGN.md §5).
 *
 * The connect path reads no file and runs no SQL: each hub keeps the
 * credentials of its devices in a struct hub_auth_cache, loaded from the
 * store once at start and kept exact afterwards by the writers, which
 * change the store and the cache together (hub_auth_store_put and
 * hub_auth_store_delete do both under one lock).  Lookups are by device ID
 * (case-sensitive, as IoT Hub's) in an open-addressing hash table with a
 * keyed hash, under a read lock: any number of workers check at once.
 *
 * Each entry carries a generation, changed whenever what decides
 * authentication changes (auth type, thumbprints, enabled) and never
 * reused.  A session keeps the generation it was admitted with and asks
 * hub_auth_still_valid() (one lookup) whenever it likes, every second
 * say; on "no" it checks its certificate again with hub_auth_check() and
 * is closed if that fails, so a rolled secondary does not cut a session
 * that uses the primary, while a removed or disabled credential does (seed
 * rule S9).
 */
#ifndef ROLLCALL_HUB_AUTH_H
#define ROLLCALL_HUB_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "rollcall/err.h"
#include "rollcall/store.h"

struct hub_auth_cache;

/*
 * The verified CA certificates a hub accepts certificateAuthority devices
 * under.  Immutable once built, so any number of threads may use one;
 * when the CAs change, build a new set, swap it in, and call
 * hub_auth_cache_invalidate_all() so that live sessions check again.
 */
struct hub_ca_set;

RC_MUST_CHECK int hub_ca_set_new(struct hub_ca_set **out);
/* Adds a reference to x (the caller keeps its own). */
RC_MUST_CHECK int hub_ca_set_add1(struct hub_ca_set *, X509 *x);
/*
 * A set of every verified CA certificate in the store (the proof of
 * possession of rc_ca_cert), which all hubs share for now.  RC_EPARSE if a
 * stored certificate does not parse.
 */
RC_MUST_CHECK int hub_ca_set_load(struct rc_store *, struct hub_ca_set **out);
size_t hub_ca_set_count(const struct hub_ca_set *);
/* NULL-safe. */
void hub_ca_set_free(struct hub_ca_set *);

/* An empty cache for the hub named hub (copied); free with _free. */
RC_MUST_CHECK int hub_auth_cache_new(const char *hub,
    struct hub_auth_cache **out);
/* NULL-safe. */
void hub_auth_cache_free(struct hub_auth_cache *);
/*
 * Puts every device of the cache's hub from the store into the cache (one
 * scan, at start).  On failure the cache holds part of them: a daemon
 * does not start on it.
 */
RC_MUST_CHECK int hub_auth_cache_load(struct hub_auth_cache *,
    struct rc_store *);
const char *hub_auth_cache_hub(const struct hub_auth_cache *);
size_t hub_auth_cache_count(struct hub_auth_cache *);

/*
 * Enters or replaces the credentials of dev (a record as the store returned
 * it).  RC_EINVAL if dev belongs to another hub or is malformed; on
 * RC_ENOMEM the cache is unchanged, so a writer that has already changed
 * the store must then hub_auth_cache_delete() the device (refusing it
 * until the next put) rather than leave old credentials valid.
 */
RC_MUST_CHECK int hub_auth_cache_put(struct hub_auth_cache *,
    const struct rc_hub_device *dev);
/* Removes the device if present; cannot fail. */
void hub_auth_cache_delete(struct hub_auth_cache *, const char *device_id);
/* Gives every entry a new generation: live sessions check again. */
void hub_auth_cache_invalidate_all(struct hub_auth_cache *);

/*
 * The writers' calls: rc_store_hub_device_put / _delete and the matching
 * cache change, under the cache's writer lock so that two writers of one
 * device cannot leave the cache holding the older record.  The cache's
 * memory is reserved before the store is written, so a successful store
 * write is always followed by the cache change.  Results as the store's.
 * A delete that finds no device also removes it from the cache.
 */
RC_MUST_CHECK int hub_auth_store_put(struct hub_auth_cache *, struct rc_store *,
    const struct rc_store_ctx *, const struct rc_hub_device *in,
    struct rc_hub_device **out);
RC_MUST_CHECK int hub_auth_store_delete(struct hub_auth_cache *,
    struct rc_store *, const struct rc_store_ctx *, const char *device_id);

/*
 * Decides a CONNECT: the device client_id presenting leaf (with the
 * intermediates it sent in chain, may be NULL) at time now.  Refused
 * (RC_EAUTH): no client ID, no certificate, an unknown or disabled device,
 * a leaf outside its validity period, a device with no X.509 credentials;
 * selfSigned: neither the leaf's SHA-1 nor its SHA-256 thumbprint equals
 * the primary or the secondary one; certificateAuthority: the leaf's CN is
 * not the device ID, or leaf and chain do not verify to a certificate of
 * verified_cas (NULL: none) at now (partial chains allowed: a verified
 * intermediate ends the chain).
 *
 * RC_OK sets *generation (never 0) for hub_auth_still_valid.  why (may be
 * NULL) gets the reason for the log: which rule refused, with the
 * thumbprints or the verifier's words; "" on success.  RC_ENOMEM or
 * RC_ECRYPTO: the check could not be made (refuse, as "server
 * unavailable").
 */
RC_MUST_CHECK int hub_auth_check(struct hub_auth_cache *, const char *client_id,
    X509 *leaf, STACK_OF(X509) *chain, const struct hub_ca_set *verified_cas,
    time_t now, uint64_t *generation, char *why, size_t whylen);
/* 1 if the device is in the cache with this generation, else 0. */
int hub_auth_still_valid(struct hub_auth_cache *, const char *device_id,
    uint64_t generation);

#endif
