/*
 * Internals shared by conn.c (one connection) and run.c (the modes).
 * Single-threaded: everything runs on the one event base.
 */
#ifndef ROLLCALL_LOAD_RUN_INT_H
#define ROLLCALL_LOAD_RUN_INT_H

#include <event2/event.h>

#include "load.h"

enum conn_role {
	ROLE_OP, /* one operation, then closed (register, connect) */
	ROLE_HUB, /* a device's long-lived hub or broker session */
	ROLE_DPS, /* roll: a renewal through DPS */
};

enum step {
	STEP_CONNACK, /* CONNACK 0 (or the echo of the probe) */
	STEP_REFUSED, /* CONNACK other than 0 */
	STEP_PUBACK, /* telemetry acknowledged (or echoed) */
	STEP_DPS, /* a DPS reply (MQTT PUBLISH or HTTPS response) */
	STEP_CLOSED, /* closed, failed, or a protocol error */
};

/* A DPS reply as conn.c read it. */
struct step_info {
	int status;
	long rid;
	int retry_after;
	const struct load_dps_op *op; /* NULL if the body did not parse */
};

struct conn {
	struct load *L;
	size_t dev;
	enum load_proto proto;
	enum conn_role role;
	struct bufferevent *bev;
	struct event *timer; /* run.c's: timeout or poll delay */
	uint64_t t0; /* when opened */
	uint64_t tls_us; /* handshake time */
	uint16_t pid;
	long rid;
	char opid[LOAD_OPID_MAX + 1];
	char *body; /* DPS register body, owned */
	size_t echo_want, echo_got;
	int connack_seen;
	int polls;
	const char *why; /* what went wrong, for the first failures */
	int poll_armed; /* the timer is a poll delay, not the deadline */
};

/* A device's state in hold, telemetry and roll. */
#define DEV_QMAX 64

struct devst {
	struct conn *hub;
	struct conn *dps;
	struct event *gen; /* roll: the telemetry period */
	struct event *retry; /* reconnect or re-register later */
	uint64_t q[DEV_QMAX]; /* generation times of unacknowledged messages */
	unsigned qh, qn;
	uint64_t sent_at;
	int inflight;
	int rolled; /* 1 once connected with the new certificate */
	int renewed; /* 1 once DPS issued the new certificate */
};

struct load {
	const struct load_args *a;
	struct load_fleet *f;
	struct event_base *base;
	SSL_CTX *ctx;
	size_t src_next;
	/* one-shot operations and the connect phase */
	size_t next, inflight, ok, fail, connected, dropped;
	struct load_lat lat;
	uint64_t t_start, t_phase, t_end;
	struct devst *ds;
	struct event *phase_ev;
	int phase;
	/* telemetry and roll */
	uint64_t gen, acked, resent, overflow, max_delay_us;
	size_t renewed, rolled, roll_next, roll_inflight, roll_fail;
	uint64_t t_roll0, t_roll1;
	long rss_before, rss_after;
	struct timeval interval; /* roll: telemetry period */
	double srv_cpu0, srv_cpu1;
	double cli_cpu0; /* this process's CPU time at the start */
	uint8_t payload[65536];
};

struct conn *conn_open(struct load *, size_t dev, enum load_proto, int role);
void conn_free(struct conn *);
void conn_disconnect(struct conn *);
void conn_dps_send(struct conn *);
void conn_publish(struct conn *, const uint8_t *payload, size_t n);
/*
 * run.c's reaction to a step: 0 to go on reading, 1 if it freed the
 * connection (conn.c must not touch it again), -1 to have it closed.
 */
int run_step(struct conn *, enum step, const struct step_info *);

#endif
