/*
 * Worker internals shared by worker.c (threads, listeners, HTTPS) and
 * mqttd.c (MQTT connections of the hub role).
 */
#ifndef ROLLCALLD_WORKER_INT_H
#define ROLLCALLD_WORKER_INT_H

#include <sys/queue.h>

#include <pthread.h>
#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "daemon.h"

struct dps_msession;
struct hub_session;
struct mqttd_cmd;
struct mqttd_ev;

struct worker;

struct conn {
	struct worker *w;
	SSL *ssl;
	struct bufferevent *bev;
	struct event *deadline;
	uint64_t idle_mark; /* BIO_number_read when it last went idle */
	int handshaken;
	int busy; /* a request was read; its response is not sent yet */
	int rewriting; /* httpd_own_answer is changing the output */
	struct evbuffer_cb_entry *out_cb;
	int mqtt;
	int linked;
	char peer[64];
	struct hub_session *sess; /* MQTT: the hub session, once TLS is up */
	struct dps_msession *dsess; /* MQTT: a DPS device, after CONNECT */
	int closing; /* MQTT: the last bytes are going out, then close */
	TAILQ_ENTRY(conn) entry;
};

struct worker {
	struct workers *ws;
	int id;
	pthread_t thread;
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket **bound;
	size_t nbound;
	struct evconnlistener **mqtt;
	size_t nmqtt;
	struct event *stop_ev;
	struct event *drain_ev;
	struct event *resume_ev;
	int paused;
	struct httpd_ctx hctx;
	TAILQ_HEAD(, conn) conns;
	size_t nconns;
	int draining;
	int teardown;
	/* Work other threads queued for this worker's MQTT sessions. */
	pthread_mutex_t cmd_mu;
	TAILQ_HEAD(, mqttd_cmd) cmds;
	struct event *cmd_ev;
	int cmd_closed;
	/* Telemetry of this loop pass, committed together (mqttd.c). */
	TAILQ_HEAD(, mqttd_ev) evs;
	size_t nevs;
	struct event *flush_ev;
};

struct workers {
	struct workers_config c;
	struct worker *w;
	int n;
	struct timeval timeout;
};

/* worker.c */
struct conn *conn_new(struct worker *, SSL_CTX *, int mqtt, SSL **);
void conn_link(struct conn *, struct bufferevent *);
void conn_cut(struct conn *, const char *why);
const char *conn_peer(struct conn *);

/* mqttd.c */
void mqttd_accept(struct evconnlistener *, evutil_socket_t, struct sockaddr *,
    int, void *);
/* Sets up and tears down the worker's MQTT command queue. */
void mqttd_worker_init(struct worker *);
void mqttd_worker_fini(struct worker *);
/* Closes an MQTT connection now (worker thread). */
void mqttd_conn_close(struct conn *, const char *why);

#endif
