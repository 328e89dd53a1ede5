/*
 * The in-memory credential cache of a hub (auth.h): an open-addressing
 * hash table of device ID -> credentials, linear probing, at most half
 * full, deletion by backward shift (no tombstones, so probes stay short
 * however many devices come and go).  The hash is SipHash-2-4 under a
 * random key per cache, so device IDs chosen to collide (a registration ID
 * is the device's choice) cannot make the table degrade into a list.
 *
 * Thumbprints are kept as digest bytes (20 for SHA-1, 32 for SHA-256):
 * the comparison with a leaf's digests is then a byte compare, and case
 * cannot matter.
 *
 * Locks: a read-write lock over the table (lookups share it, changes take
 * it alone, and never allocate while holding it except to grow); and a
 * writer mutex that orders whole changes (store write + cache change) of
 * one hub, taken before the read-write lock.
 */
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "hub/auth_int.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"

#define MIN_SLOTS 64
#define LOAD_PAGE 500

struct entry {
	uint64_t hash;
	struct hub_auth_cred cred;
	char id[]; /* NUL-terminated device ID */
};

struct hub_auth_cache {
	pthread_rwlock_t lock;
	pthread_mutex_t writer;
	char *hub;
	struct entry **slots;
	size_t cap; /* a power of two */
	size_t n;
	uint64_t next_gen;
	uint64_t key[2];
};

static uint64_t
rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static void
sipround(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = rotl(v[1], 13) ^ v[0];
	v[0] = rotl(v[0], 32);
	v[2] += v[3];
	v[3] = rotl(v[3], 16) ^ v[2];
	v[0] += v[3];
	v[3] = rotl(v[3], 21) ^ v[0];
	v[2] += v[1];
	v[1] = rotl(v[1], 17) ^ v[2];
	v[2] = rotl(v[2], 32);
}

static void
sipblock(uint64_t v[4], uint64_t m)
{
	v[3] ^= m;
	sipround(v);
	sipround(v);
	v[0] ^= m;
}

/* SipHash-2-4 (Aumasson and Bernstein, 2012) of the string s. */
static uint64_t
siphash(const uint64_t k[2], const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint64_t v[4], m;
	size_t len = strlen(s), i, j;

	v[0] = 0x736f6d6570736575ULL ^ k[0];
	v[1] = 0x646f72616e646f6dULL ^ k[1];
	v[2] = 0x6c7967656e657261ULL ^ k[0];
	v[3] = 0x7465646279746573ULL ^ k[1];
	for (i = 0; i + 8 <= len; i += 8) {
		for (m = 0, j = 0; j < 8; j++)
			m |= (uint64_t)p[i + j] << (8 * j);
		sipblock(v, m);
	}
	for (m = (uint64_t)len << 56, j = 0; i + j < len; j++)
		m |= (uint64_t)p[i + j] << (8 * j);
	sipblock(v, m);
	v[2] ^= 0xff;
	for (j = 0; j < 4; j++)
		sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

int
hub_auth_cache_new(const char *hub, struct hub_auth_cache **out)
{
	struct hub_auth_cache *c;

	*out = NULL;
	if (hub == NULL || hub[0] == '\0')
		return RC_EINVAL;
	if ((c = rc_calloc(1, sizeof(*c))) == NULL)
		return RC_ENOMEM;
	if (RAND_bytes((unsigned char *)c->key, sizeof(c->key)) != 1) {
		rc_free(c);
		return RC_ECRYPTO;
	}
	c->cap = MIN_SLOTS;
	if ((c->hub = rc_strdup(hub)) == NULL ||
	    (c->slots = rc_calloc(c->cap, sizeof(*c->slots))) == NULL) {
		rc_free(c->hub);
		rc_free(c);
		return RC_ENOMEM;
	}
	pthread_rwlock_init(&c->lock, NULL);
	pthread_mutex_init(&c->writer, NULL);
	*out = c;
	return RC_OK;
}

void
hub_auth_cache_free(struct hub_auth_cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->cap; i++)
		rc_free(c->slots[i]);
	rc_free(c->slots);
	rc_free(c->hub);
	pthread_rwlock_destroy(&c->lock);
	pthread_mutex_destroy(&c->writer);
	rc_free(c);
}

const char *
hub_auth_cache_hub(const struct hub_auth_cache *c)
{
	return c->hub;
}

size_t
hub_auth_cache_count(struct hub_auth_cache *c)
{
	size_t n;

	pthread_rwlock_rdlock(&c->lock);
	n = c->n;
	pthread_rwlock_unlock(&c->lock);
	return n;
}

/* The slot holding id, or the empty slot ending its probe; 1 if found. */
static int
find(const struct hub_auth_cache *c, const char *id, uint64_t hash, size_t *at)
{
	size_t mask = c->cap - 1, i = hash & mask;

	while (c->slots[i] != NULL) {
		if (c->slots[i]->hash == hash &&
		    strcmp(c->slots[i]->id, id) == 0) {
			*at = i;
			return 1;
		}
		i = (i + 1) & mask;
	}
	*at = i;
	return 0;
}

int
hub_auth_cache_lookup(struct hub_auth_cache *c, const char *id,
    struct hub_auth_cred *out)
{
	uint64_t hash = siphash(c->key, id);
	size_t i;
	int found;

	memset(out, 0, sizeof(*out));
	pthread_rwlock_rdlock(&c->lock);
	if ((found = find(c, id, hash, &i)))
		*out = c->slots[i]->cred;
	pthread_rwlock_unlock(&c->lock);
	return found;
}

int
hub_auth_still_valid(struct hub_auth_cache *c, const char *device_id,
    uint64_t generation)
{
	struct hub_auth_cred cred;

	if (device_id == NULL || generation == 0)
		return 0;
	return hub_auth_cache_lookup(c, device_id, &cred) &&
	    cred.generation == generation;
}

/* Under the write lock: room for one more entry at most half full. */
static int
reserve(struct hub_auth_cache *c)
{
	struct entry **slots;
	size_t cap = c->cap, i, j;

	if ((c->n + 1) * 2 <= c->cap)
		return RC_OK;
	if ((slots = rc_calloc(cap * 2, sizeof(*slots))) == NULL)
		return RC_ENOMEM;
	c->cap = cap * 2;
	for (i = 0; i < cap; i++) {
		if (c->slots[i] == NULL)
			continue;
		for (j = c->slots[i]->hash & (c->cap - 1); slots[j] != NULL;
		     j = (j + 1) & (c->cap - 1))
			continue;
		slots[j] = c->slots[i];
	}
	rc_free(c->slots);
	c->slots = slots;
	return RC_OK;
}

static int
same_cred(const struct hub_auth_cred *a, const struct hub_auth_cred *b)
{
	int i;

	if (a->auth != b->auth || a->enabled != b->enabled)
		return 0;
	for (i = 0; i < 2; i++) {
		if (a->thumb_len[i] != b->thumb_len[i] ||
		    memcmp(a->thumb[i], b->thumb[i], a->thumb_len[i]) != 0)
			return 0;
	}
	return 1;
}

/*
 * Under the write lock, with room reserved: e (filled, owned) takes the
 * place of its device's entry.  The generation stays when the credentials
 * did not change, so sessions are not made to check again for nothing.
 */
static void
install(struct hub_auth_cache *c, struct entry *e)
{
	struct entry *old;
	size_t i;

	if (find(c, e->id, e->hash, &i)) {
		old = c->slots[i];
		e->cred.generation = same_cred(&old->cred, &e->cred)
		    ? old->cred.generation
		    : ++c->next_gen;
		c->slots[i] = e;
		rc_free(old);
		return;
	}
	e->cred.generation = ++c->next_gen;
	c->slots[i] = e;
	c->n++;
}

/* Under the write lock: removes slot i, shifting its probe run back. */
static void
remove_at(struct hub_auth_cache *c, size_t i)
{
	size_t mask = c->cap - 1, j = i, home;

	rc_free(c->slots[i]);
	for (;;) {
		j = (j + 1) & mask;
		if (c->slots[j] == NULL)
			break;
		home = c->slots[j]->hash & mask;
		/* the entry at j stays if its home lies cyclically in (i, j] */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		c->slots[i] = c->slots[j];
		i = j;
	}
	c->slots[i] = NULL;
	c->n--;
}

static void
delete_locked(struct hub_auth_cache *c, const char *id)
{
	size_t i;

	pthread_rwlock_wrlock(&c->lock);
	if (find(c, id, siphash(c->key, id), &i))
		remove_at(c, i);
	pthread_rwlock_unlock(&c->lock);
}

void
hub_auth_cache_delete(struct hub_auth_cache *c, const char *device_id)
{
	if (device_id == NULL)
		return;
	pthread_mutex_lock(&c->writer);
	delete_locked(c, device_id);
	pthread_mutex_unlock(&c->writer);
}

void
hub_auth_cache_invalidate_all(struct hub_auth_cache *c)
{
	size_t i;

	pthread_rwlock_wrlock(&c->lock);
	for (i = 0; i < c->cap; i++) {
		if (c->slots[i] != NULL)
			c->slots[i]->cred.generation = ++c->next_gen;
	}
	pthread_rwlock_unlock(&c->lock);
}

/* A new entry for a device ID (credentials still empty). */
static int
entry_new(const struct hub_auth_cache *c, const char *id, struct entry **out)
{
	size_t len = strlen(id);
	struct entry *e;

	*out = NULL;
	if ((e = rc_calloc(1, sizeof(*e) + len + 1)) == NULL)
		return RC_ENOMEM;
	memcpy(e->id, id, len + 1);
	e->hash = siphash(c->key, id);
	*out = e;
	return RC_OK;
}

/* With the writer mutex held: an entry and the room to install it. */
static int
prepare(struct hub_auth_cache *c, const char *id, struct entry **out)
{
	int rc;

	if ((rc = entry_new(c, id, out)) != RC_OK)
		return rc;
	pthread_rwlock_wrlock(&c->lock);
	rc = reserve(c);
	pthread_rwlock_unlock(&c->lock);
	if (rc != RC_OK) {
		rc_free(*out);
		*out = NULL;
	}
	return rc;
}

static int
check_dev(const struct hub_auth_cache *c, const struct rc_hub_device *d)
{
	if (d == NULL || d->hub == NULL || strcasecmp(d->hub, c->hub) != 0 ||
	    !rc_hub_device_id_valid(d->device_id))
		return RC_EINVAL;
	return RC_OK;
}

/* With the writer mutex held and e prepared: fills and installs e. */
static int
commit(struct hub_auth_cache *c, struct entry *e, const struct rc_hub_device *d)
{
	int rc;

	if ((rc = hub_auth_cred_fill(d, &e->cred)) != RC_OK) {
		rc_free(e);
		return rc;
	}
	pthread_rwlock_wrlock(&c->lock);
	install(c, e);
	pthread_rwlock_unlock(&c->lock);
	return RC_OK;
}

int
hub_auth_cache_put(struct hub_auth_cache *c, const struct rc_hub_device *d)
{
	struct entry *e = NULL;
	int rc;

	if ((rc = check_dev(c, d)) != RC_OK)
		return rc;
	pthread_mutex_lock(&c->writer);
	if ((rc = prepare(c, d->device_id, &e)) == RC_OK)
		rc = commit(c, e, d);
	pthread_mutex_unlock(&c->writer);
	return rc;
}

int
hub_auth_store_put(struct hub_auth_cache *c, struct rc_store *s,
    const struct rc_store_ctx *ctx, const struct rc_hub_device *in,
    struct rc_hub_device **out)
{
	struct entry *e = NULL;
	int rc;

	*out = NULL;
	if ((rc = check_dev(c, in)) != RC_OK)
		return rc;
	pthread_mutex_lock(&c->writer);
	if ((rc = prepare(c, in->device_id, &e)) != RC_OK)
		goto out;
	if ((rc = rc_store_hub_device_put(s, ctx, in, out)) != RC_OK) {
		rc_free(e);
		goto out;
	}
	/* the stored record was checked by the store: this cannot fail */
	if (commit(c, e, *out) != RC_OK) {
		delete_locked(c, (*out)->device_id);
		rc_log_warnx("hub %s: device %s refused until its next update: "
		             "credentials not cached",
		    c->hub, (*out)->device_id);
	}
out:
	pthread_mutex_unlock(&c->writer);
	return rc;
}

int
hub_auth_store_delete(struct hub_auth_cache *c, struct rc_store *s,
    const struct rc_store_ctx *ctx, const char *device_id)
{
	int rc;

	pthread_mutex_lock(&c->writer);
	rc = rc_store_hub_device_delete(s, ctx, c->hub, device_id);
	if ((rc == RC_OK || rc == RC_ENOENT) && device_id != NULL)
		delete_locked(c, device_id);
	pthread_mutex_unlock(&c->writer);
	return rc;
}

int
hub_auth_cache_load(struct hub_auth_cache *c, struct rc_store *s)
{
	struct rc_hub_device **v = NULL;
	char *after = NULL, *next = NULL;
	size_t n = 0, i, total = 0;
	int rc;

	do {
		rc = rc_store_hub_device_list(s, c->hub, after, LOAD_PAGE, &v,
		    &n, &next);
		for (i = 0; i < n && rc == RC_OK; i++)
			rc = hub_auth_cache_put(c, v[i]);
		total += n;
		rc_hub_device_list_free(v, n);
		rc_free(after);
		after = next;
	} while (rc == RC_OK && after != NULL);
	rc_free(after);
	if (rc == RC_OK)
		rc_log_info("hub %s: %zu device identities cached", c->hub,
		    total);
	return rc;
}
