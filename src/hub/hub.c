/*
 * The hub object, its table of live sessions and the service-side calls
 * (hub.h).  The table is a fixed array of buckets chained through the
 * sessions, keyed by an FNV-1a hash of the device ID: only sessions that
 * passed authentication are in it, so their IDs are registry IDs, not a
 * stranger's choice.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "hub/hub_int.h"
#include "rollcall/json.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"

#define POST_CAP (RC_HUB_EVENT_MAX_BODY + 64 * 1024)

int64_t
hub_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t
bucket(const char *id)
{
	uint32_t h = 2166136261u;

	for (; *id != '\0'; id++)
		h = (h ^ (uint8_t)*id) * 16777619u;
	return h % HUB_TABLE_SIZE;
}

/* The live session of device_id; hub->mu held. */
static struct hub_session *
find(struct hub *h, const char *device_id)
{
	struct hub_session *s;

	for (s = h->table[bucket(device_id)]; s != NULL; s = s->next)
		if (strcmp(s->device_id, device_id) == 0)
			return s;
	return NULL;
}

static void
unlink_session(struct hub *h, struct hub_session *s)
{
	struct hub_session **pp;

	for (pp = &h->table[bucket(s->device_id)]; *pp != NULL;
	     pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			s->next = NULL;
			s->in_table = 0;
			h->nsessions--;
			return;
		}
	}
}

/* Queues a close of s on its worker; hub->mu held. */
static void
post_close(struct hub_session *s, const char *why)
{
	s->io->post(s->io_arg, s, NULL, 0, why);
}

void
hub_table_add(struct hub *h, struct hub_session *s)
{
	struct hub_session *old;

	pthread_mutex_lock(&h->mu);
	/* One connection per device (azure-device-wire §6.1). */
	if ((old = find(h, s->device_id)) != NULL) {
		unlink_session(h, old);
		post_close(old, "a new connection of the device");
	}
	s->sid = ++h->next_sid;
	s->since = (int64_t)time(NULL);
	s->in_table = 1;
	s->next = h->table[bucket(s->device_id)];
	h->table[bucket(s->device_id)] = s;
	h->nsessions++;
	pthread_mutex_unlock(&h->mu);
}

/* Takes the pending methods of session sid off the list; mu held. */
static void
take_pending(struct hub *h, uint64_t sid, const char *rid, int64_t now,
    struct hub_pending_list *out)
{
	struct hub_pending *p, *next;

	for (p = TAILQ_FIRST(&h->pending); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if ((sid != 0 && p->sid != sid) ||
		    (rid != NULL && strcmp(p->rid, rid) != 0) ||
		    (now != 0 && p->deadline_ms > now))
			continue;
		TAILQ_REMOVE(&h->pending, p, entry);
		TAILQ_INSERT_TAIL(out, p, entry);
	}
}

/* Calls done for each of list, outside any lock, and frees them. */
static void
finish(struct hub_pending_list *list, int status, const uint8_t *payload,
    size_t len)
{
	struct hub_pending *p;

	while ((p = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, p, entry);
		p->done(p->arg, status, (const char *)payload, len);
		rc_free(p);
	}
}

void
hub_table_remove(struct hub *h, struct hub_session *s)
{
	struct hub_pending_list gone = TAILQ_HEAD_INITIALIZER(gone);

	if (h == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	if (s->in_table)
		unlink_session(h, s);
	if (s->sid != 0)
		take_pending(h, s->sid, NULL, 0, &gone);
	pthread_mutex_unlock(&h->mu);
	finish(&gone, -1, NULL, 0);
}

void
hub_method_complete(struct hub *h, uint64_t sid, const char *rid, int status,
    const uint8_t *payload, size_t len)
{
	struct hub_pending_list done = TAILQ_HEAD_INITIALIZER(done);

	pthread_mutex_lock(&h->mu);
	take_pending(h, sid, rid, 0, &done);
	pthread_mutex_unlock(&h->mu);
	if (TAILQ_EMPTY(&done))
		rc_log_debug("hub %s: %s: method response for unknown rid",
		    h->name, rid);
	finish(&done, status, payload, len);
}

/* Re-checks the credentials of s; closes it if they no longer pass. */
static void
recheck(struct hub *h, struct hub_session *s, time_t now)
{
	char why[256];
	uint64_t gen;

	if (hub_auth_still_valid(h->auth, s->device_id, s->generation))
		return;
	if (hub_auth_check(h->auth, s->device_id, s->leaf, s->chain, h->cas,
	        now, &gen, why, sizeof(why)) == RC_OK) {
		s->generation = gen;
		return;
	}
	rc_log_warnx("hub %s: %s: device %s: credentials no longer valid (%s): "
	             "closing its session",
	    h->name, s->peer, s->device_id, why);
	unlink_session(h, s);
	post_close(s, "credentials changed");
}

static void
recheck_all(struct hub *h)
{
	struct hub_session *s, *next;
	time_t now = time(NULL);
	size_t i;

	for (i = 0; i < HUB_TABLE_SIZE; i++)
		for (s = h->table[i]; s != NULL; s = next) {
			next = s->next;
			recheck(h, s, now);
		}
}

static void *
housekeeping(void *arg)
{
	struct hub_pending_list late = TAILQ_HEAD_INITIALIZER(late);
	struct hub *h = arg;
	struct timespec ts;

	pthread_mutex_lock(&h->mu);
	while (!h->stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += HUB_TICK_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		if (!h->recheck)
			(void)pthread_cond_timedwait(&h->cv, &h->mu, &ts);
		h->recheck = 0;
		recheck_all(h);
		take_pending(h, 0, NULL, hub_now_ms(), &late);
		pthread_mutex_unlock(&h->mu);
		finish(&late, 504, NULL, 0);
		pthread_mutex_lock(&h->mu);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

static int
copy_hosts(struct hub *h, const struct hub_config *hc)
{
	size_t i;

	if ((h->hosts = rc_calloc(hc->nhostnames + 1, sizeof(char *))) == NULL)
		return RC_ENOMEM;
	for (i = 0; i < hc->nhostnames; i++) {
		if ((h->hosts[i] = rc_strdup(hc->hostnames[i])) == NULL)
			return RC_ENOMEM;
		h->nhosts++;
	}
	return RC_OK;
}

int
hub_new(const struct hub_config *hc, struct rc_store *store, struct hub **out)
{
	struct hub *h;
	int rc;

	*out = NULL;
	rc_json_init();
	if ((h = rc_calloc(1, sizeof(*h))) == NULL)
		return RC_ENOMEM;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	TAILQ_INIT(&h->pending);
	h->store = store;
	h->event_retain =
	    hc->event_retain != 0 ? hc->event_retain : HUB_EVENT_RETAIN_DEFAULT;
	if ((h->name = rc_strdup(hc->name)) == NULL ||
	    (rc = copy_hosts(h, hc)) != RC_OK) {
		rc = RC_ENOMEM;
		goto out;
	}
	if ((rc = hub_auth_cache_new(hc->name, &h->auth)) != RC_OK ||
	    (rc = hub_auth_cache_load(h->auth, store)) != RC_OK ||
	    (rc = hub_ca_set_load(store, &h->cas)) != RC_OK)
		goto out;
	if (pthread_create(&h->thread, NULL, housekeeping, h) != 0) {
		rc = RC_ENOMEM;
		goto out;
	}
	h->thread_started = 1;
	rc_log_info("hub %s: %zu devices, %zu verified CAs", h->name,
	    hub_auth_cache_count(h->auth), hub_ca_set_count(h->cas));
	*out = h;
	h = NULL;
out:
	hub_free(h);
	return rc;
}

void
hub_free(struct hub *h)
{
	struct hub_pending_list left = TAILQ_HEAD_INITIALIZER(left);
	size_t i;

	if (h == NULL)
		return;
	if (h->thread_started) {
		pthread_mutex_lock(&h->mu);
		h->stop = 1;
		pthread_cond_signal(&h->cv);
		pthread_mutex_unlock(&h->mu);
		pthread_join(h->thread, NULL);
	}
	take_pending(h, 0, NULL, 0, &left);
	finish(&left, -1, NULL, 0);
	hub_ca_set_free(h->cas);
	hub_auth_cache_free(h->auth);
	for (i = 0; i < h->nhosts; i++)
		rc_free(h->hosts[i]);
	rc_free(h->hosts);
	rc_free(h->name);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	rc_free(h);
}

const char *
hub_name(const struct hub *h)
{
	return h->name;
}

int
hub_has_host(const struct hub *h, const char *host)
{
	size_t i;

	for (i = 0; i < h->nhosts; i++)
		if (strcasecmp(h->hosts[i], host) == 0)
			return 1;
	return 0;
}

struct hub_auth_cache *
hub_get0_auth(struct hub *h)
{
	return h->auth;
}

struct rc_store *
hub_get0_store(struct hub *h)
{
	return h->store;
}

/* Encodes a PUBLISH and queues it on s; hub->mu held. */
static int
post_publish(struct hub_session *s, const char *topic, const void *payload,
    size_t len, uint8_t qos)
{
	struct rc_mqtt_publish pub;
	struct rc_wbuf w;
	int rc;

	memset(&pub, 0, sizeof(pub));
	pub.topic = rc_mqtt_cstr(topic);
	pub.payload.p = payload;
	pub.payload.len = len;
	pub.qos = qos;
	if (qos > 0) {
		if (++s->next_packet_id == 0)
			s->next_packet_id = 1;
		pub.packet_id = s->next_packet_id;
	}
	rc_wbuf_init(&w, POST_CAP);
	if ((rc = rc_mqtt_encode_publish(&w, &pub)) == RC_OK)
		s->io->post(s->io_arg, s, w.data, w.len, NULL);
	rc_wbuf_free(&w);
	return rc;
}

/*
 * A method name is one topic level: no '/', no wildcards, no '?' (the
 * C SDK splits the topic on '/', §6.5).
 */
static int
method_name_ok(const char *m)
{
	size_t n = strlen(m);

	return n > 0 && n <= 256 && strpbrk(m, "/+#?") == NULL &&
	    rc_mqtt_topic_valid(m, n) == RC_OK;
}

static int
add_pending(struct hub *h, struct hub_session *s, int timeout_s,
    hub_method_done_fn done, void *arg, struct hub_pending **out)
{
	struct hub_pending *p;

	if ((p = rc_calloc(1, sizeof(*p))) == NULL)
		return RC_ENOMEM;
	p->sid = s->sid;
	snprintf(p->rid, sizeof(p->rid), "%u", ++s->next_rid);
	p->deadline_ms = hub_now_ms() + (int64_t)timeout_s * 1000;
	p->done = done;
	p->arg = arg;
	TAILQ_INSERT_TAIL(&h->pending, p, entry);
	*out = p;
	return RC_OK;
}

int
hub_method_invoke(struct hub *h, const char *device_id, const char *method,
    const char *payload_json, int timeout_s, hub_method_done_fn done, void *arg)
{
	struct hub_session *s;
	struct hub_pending *p = NULL;
	char topic[512];
	int rc;

	if (!method_name_ok(method) || timeout_s < 1 || timeout_s > 3600 ||
	    done == NULL)
		return RC_EINVAL;
	if (payload_json == NULL)
		payload_json = "null";
	pthread_mutex_lock(&h->mu);
	if ((s = find(h, device_id)) == NULL || !(s->subs & HUB_SUB_METHODS)) {
		rc = RC_ENOENT;
		goto out;
	}
	if ((rc = add_pending(h, s, timeout_s, done, arg, &p)) != RC_OK)
		goto out;
	snprintf(topic, sizeof(topic), "$iothub/methods/POST/%s/?$rid=%s",
	    method, p->rid);
	if ((rc = post_publish(s, topic, payload_json, strlen(payload_json),
	         0)) != RC_OK) {
		TAILQ_REMOVE(&h->pending, p, entry);
		rc_free(p);
	}
out:
	pthread_mutex_unlock(&h->mu);
	return rc;
}

int
hub_c2d_send(struct hub *h, const char *device_id, const char *props_bag,
    const void *body, size_t len)
{
	struct hub_session *s;
	struct rc_wbuf t;
	int rc;

	rc_wbuf_init(&t, RC_MQTT_TOPIC_MAX);
	if ((rc = rc_wbuf_printf(&t, "devices/%s/messages/devicebound/%s",
	         device_id, props_bag != NULL ? props_bag : "")) != RC_OK ||
	    (rc = rc_wbuf_putc(&t, 0)) != RC_OK)
		goto done;
	pthread_mutex_lock(&h->mu);
	if ((s = find(h, device_id)) == NULL || !(s->subs & HUB_SUB_C2D))
		rc = RC_ENOENT;
	else
		rc = post_publish(s, (const char *)t.data, body, len, 1);
	pthread_mutex_unlock(&h->mu);
done:
	rc_wbuf_free(&t);
	return rc;
}

int
hub_desired_push(struct hub *h, const char *device_id, const char *patch_json,
    int64_t version)
{
	struct hub_session *s;
	char topic[128];
	int rc;

	snprintf(topic, sizeof(topic),
	    "$iothub/twin/PATCH/properties/desired/?$version=%lld",
	    (long long)version);
	pthread_mutex_lock(&h->mu);
	if ((s = find(h, device_id)) == NULL || !(s->subs & HUB_SUB_DESIRED))
		rc = RC_ENOENT;
	else
		rc = post_publish(s, topic, patch_json, strlen(patch_json), 0);
	pthread_mutex_unlock(&h->mu);
	return rc;
}

int
hub_device_connected(struct hub *h, const char *device_id, int64_t *since)
{
	struct hub_session *s;
	int r = 0;

	pthread_mutex_lock(&h->mu);
	if ((s = find(h, device_id)) != NULL) {
		r = 1;
		if (since != NULL)
			*since = s->since;
	}
	pthread_mutex_unlock(&h->mu);
	return r;
}

void
hub_credentials_changed(struct hub *h, const char *device_id)
{
	struct hub_session *s;

	pthread_mutex_lock(&h->mu);
	if ((s = find(h, device_id)) != NULL)
		recheck(h, s, time(NULL));
	pthread_mutex_unlock(&h->mu);
}
