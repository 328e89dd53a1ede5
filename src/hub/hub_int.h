/*
 * Inside the hub role: the hub object and the session, shared by hub.c
 * (object, session table, service side), session.c (the MQTT state
 * machine) and device.c (what a connected device asks for).
 *
 * Locks: hub->mu guards the session table, the pending method list and
 * every call of a session's io->post; it is taken before the credential
 * cache's locks and never while a worker holds a bufferevent lock.
 */
#ifndef ROLLCALL_HUB_INT_H
#define ROLLCALL_HUB_INT_H

#include <sys/queue.h>

#include <pthread.h>
#include <stdatomic.h>

#include "hub/hub.h"
#include "hub/topics.h"

#define HUB_TABLE_SIZE 4096 /* buckets of the session table */

struct hub_pending {
	uint64_t sid; /* the session's serial, not its address */
	char rid[24];
	int64_t deadline_ms; /* CLOCK_MONOTONIC */
	hub_method_done_fn done;
	void *arg;
	TAILQ_ENTRY(hub_pending) entry;
};
TAILQ_HEAD(hub_pending_list, hub_pending);

struct hub {
	char *name;
	char **hosts;
	size_t nhosts;
	size_t event_retain;
	struct rc_store *store;
	struct hub_auth_cache *auth;
	struct hub_ca_set *cas;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct hub_session *table[HUB_TABLE_SIZE];
	size_t nsessions;
	struct hub_pending_list pending;
	uint64_t next_sid;
	int stop;
	int recheck; /* hub_credentials_changed asked for a check now */
	pthread_t thread;
	int thread_started;
};

enum hub_session_state {
	SESSION_NEW, /* waiting for CONNECT */
	SESSION_UP, /* CONNACK 0 sent */
	SESSION_DOWN, /* closed or refused */
};

struct hub_session {
	atomic_int refs;
	enum hub_session_state state; /* worker only */
	struct hub *const *hubs;
	size_t nhubs;
	struct hub *hub; /* set at CONNECT */
	const struct hub_session_io *io;
	void *io_arg;
	void *conn; /* worker only */
	X509 *leaf;
	STACK_OF(X509) *chain;
	char *sni;
	char peer[64];
	char device_id[RC_HUB_MAX_DEVICE_ID + 1];

	/* Under hub->mu once the session is in the table. */
	uint64_t sid;
	uint64_t generation;
	unsigned subs; /* HUB_SUB_* */
	int64_t since;
	uint32_t next_rid;
	uint16_t next_packet_id;
	int in_table;
	struct hub_session *next; /* bucket chain */
	int timeout_s;
};

/* hub.c */
int64_t hub_now_ms(void);
/* Registers s (CONNECT accepted), closing an older session of its device. */
void hub_table_add(struct hub *, struct hub_session *);
/* Removes s and fails its pending methods; NULL-safe for a hub. */
void hub_table_remove(struct hub *, struct hub_session *);
/* Completes the pending method (sid, rid) with status and payload. */
void hub_method_complete(struct hub *, uint64_t sid, const char *rid,
    int status, const uint8_t *payload, size_t len);

/* device.c: handle one PUBLISH of a connected device. */
RC_MUST_CHECK int hub_device_publish(struct hub_session *,
    const struct rc_mqtt_publish *, struct rc_wbuf *out);

#endif
