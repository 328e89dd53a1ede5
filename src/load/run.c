/*
 * The modes of rollcall-load (load.h) over one event loop.
 *
 * register, connect: n operations, at most -c in flight, each on a new
 * TLS connection without resumption (a full handshake each time); the
 * rate is completed operations over the wall time of the whole run.
 * hold: n sessions kept; the server's RSS is read before the first and
 * two seconds after the last CONNACK.  telemetry: n sessions, then each
 * keeps one QoS 1 PUBLISH in flight for -t; the rate is PUBACKs per
 * second.  roll: n sessions sending a message every --interval, then
 * every device registers again through DPS with a CSR for a new key and
 * reconnects with what it was issued; unacknowledged messages are sent
 * again after a reconnect (as the SDKs do), so "lost" is what was never
 * acknowledged once the fleet drained, and "longest gap" is the longest
 * time a message waited between being generated and acknowledged.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "run_int.h"
#include "rollcall/key.h"
#include "rollcall/mem.h"

enum phase {
	PH_CONNECT,
	PH_SETTLE,
	PH_RUN,
	PH_TAIL, /* roll: one more period of traffic on the new certificates */
	PH_DRAIN,
	PH_DONE,
};

/* The one run of this process: event callbacks find it here. */
static struct load *G;

static int arm(struct conn *, long ms);
static void start_ops(struct load *);
static void hub_open(struct load *, size_t dev);
static void roll_more(struct load *);

static long
proc_rss_kib(long pid)
{
	char path[64], line[256];
	long v = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			v = strtol(line + 6, NULL, 10);
	fclose(fp);
	return v;
}

/* utime + stime of a process, in seconds (proc(5) fields 14 and 15). */
static double
proc_cpu_s(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *fp;
	size_t n;
	int i;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	for (i = 2; i < 14 && p != NULL; i++)
		p = strchr(p + 1, ' ');
	if (p == NULL)
		return -1;
	ut = strtoul(p + 1, &p, 10);
	st = strtoul(p + 1, NULL, 10);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void
server_sample(struct load *L, long *rss, double *cpu)
{
	if (L->a->server_pid <= 0)
		return;
	if (rss != NULL)
		*rss = proc_rss_kib(L->a->server_pid);
	if (cpu != NULL)
		*cpu = proc_cpu_s(L->a->server_pid);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	uint64_t spent = load_now_us() - c->t0;
	uint64_t limit = (uint64_t)c->L->a->timeout_ms * 1000;

	(void)fd;
	(void)what;
	/* The poll delay ended: poll, and wait again for the deadline. */
	if (c->poll_armed && spent < limit) {
		c->poll_armed = 0;
		conn_dps_send(c);
		if (arm(c, (long)((limit - spent) / 1000) + 1) == 0)
			return;
	}
	run_step(c, STEP_CLOSED, NULL);
}

static int
arm(struct conn *c, long ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	if (c->timer == NULL &&
	    (c->timer = evtimer_new(c->L->base, on_timeout, c)) == NULL)
		return -1;
	return evtimer_add(c->timer, &tv);
}

/* The register body: {"registrationId": ID[, "csr": B64]}. */
static char *
register_body(const char *id, EVP_PKEY *csr_key)
{
	char *csr = NULL, *out = NULL;
	size_t n;

	if (csr_key != NULL && load_csr_b64(id, csr_key, &csr) != RC_OK)
		return NULL;
	n = strlen(id) + (csr != NULL ? strlen(csr) : 0) + 64;
	if ((out = rc_malloc(n)) != NULL) {
		if (csr != NULL)
			snprintf(out, n,
			    "{\"registrationId\":\"%s\",\"csr\":\"%s\"}", id,
			    csr);
		else
			snprintf(out, n, "{\"registrationId\":\"%s\"}", id);
	}
	rc_free(csr);
	return out;
}

static int
stop_if_done(struct load *L)
{
	if (L->ok + L->fail < (size_t)L->a->count)
		return 0;
	L->t_end = load_now_us();
	event_base_loopbreak(L->base);
	return 1;
}

/* register / connect: one operation finished (ok or not), conn freed. */
static int
op_end(struct conn *c, int ok)
{
	struct load *L = c->L;

	if (ok) {
		load_lat_add(&L->lat, load_now_us() - c->t0);
		L->ok++;
	} else {
		L->fail++;
		if (L->fail <= 5)
			fprintf(stderr,
			    "rollcall-load: %s: operation failed: %s\n",
			    L->f->dev[c->dev].id,
			    c->why != NULL ? c->why : "closed");
	}
	L->inflight--;
	conn_free(c);
	if (!stop_if_done(L))
		start_ops(L);
	return 1;
}

/* A DPS reply: poll again, done, or failed.  Returns run_step's code. */
static int
dps_reply(struct conn *c, const struct step_info *si, int *done)
{
	const struct load_dps_op *op = si->op;
	long ms;

	*done = 0;
	if (si->status == 429 || (si->status == 202 && op != NULL)) {
		if (op != NULL)
			snprintf(c->opid, sizeof(c->opid), "%s",
			    op->operation_id);
		ms = c->L->a->poll_ms >= 0 ? c->L->a->poll_ms
		    : si->retry_after > 0  ? si->retry_after * 1000L
		                           : 1000;
		c->polls++;
		c->poll_armed = 1;
		return arm(c, ms) == 0 ? 0 : -1;
	}
	if (si->status == 200 && op != NULL && op->assigned == 1 &&
	    (!c->L->a->csr || op->leaf != NULL)) {
		*done = 1;
		return 0;
	}
	c->why = op == NULL ? "unreadable DPS reply" : "DPS did not assign";
	return -1;
}

static int
op_step(struct conn *c, enum step s, const struct step_info *si)
{
	int done;

	switch (s) {
	case STEP_CONNACK:
		if (c->proto != LOAD_PROTO_ECHO)
			conn_disconnect(c);
		return op_end(c, 1);
	case STEP_DPS:
		if (dps_reply(c, si, &done) != 0)
			return op_end(c, 0);
		return done ? op_end(c, 1) : 0;
	case STEP_REFUSED:
		c->why = "CONNACK refused";
		return op_end(c, 0);
	case STEP_PUBACK: /* the server has the DPS request */
		return 0;
	default:
		return op_end(c, 0);
	}
}

static void
start_ops(struct load *L)
{
	const struct load_args *a = L->a;
	struct conn *c;
	EVP_PKEY *key;
	size_t i;

	while (L->inflight < (size_t)a->concurrency &&
	    L->next < (size_t)a->count) {
		i = L->next++;
		L->inflight++;
		if ((c = conn_open(L, i, a->proto, ROLE_OP)) == NULL) {
			L->inflight--;
			L->fail++;
			continue;
		}
		key = a->csr ? L->f->dev[i].key : NULL;
		if (a->mode == LOAD_REGISTER && a->proto != LOAD_PROTO_ECHO &&
		    (c->body = register_body(L->f->dev[i].id, key)) == NULL) {
			op_end(c, 0);
			continue;
		}
		if (arm(c, a->timeout_ms) != 0)
			op_end(c, 0);
	}
	if (L->next >= (size_t)a->count)
		stop_if_done(L);
}

/* Sessions: hold, telemetry, roll. */

static void
try_send(struct load *L, size_t i)
{
	struct devst *d = &L->ds[i];

	if (d->hub == NULL || !d->hub->connack_seen || d->inflight ||
	    L->phase == PH_DONE)
		return;
	if (L->a->mode == LOAD_ROLL && d->qn == 0)
		return;
	if (L->a->mode == LOAD_TELEMETRY && L->phase != PH_RUN)
		return;
	if (L->a->mode == LOAD_HOLD)
		return;
	d->inflight = 1;
	d->sent_at = load_now_us();
	conn_publish(d->hub, L->payload, (size_t)L->a->payload);
}

static void
on_gen(evutil_socket_t fd, short what, void *arg)
{
	struct devst *d = arg;
	struct load *L = G;

	(void)fd;
	(void)what;
	if (L->phase >= PH_DRAIN)
		return;
	evtimer_add(d->gen, &L->interval);
	if (d->qn == DEV_QMAX) {
		L->overflow++;
	} else {
		d->q[(d->qh + d->qn) % DEV_QMAX] = load_now_us();
		d->qn++;
	}
	L->gen++;
	try_send(L, (size_t)(d - L->ds));
}

static void
got_puback(struct load *L, size_t i)
{
	struct devst *d = &L->ds[i];
	uint64_t now = load_now_us(), delay;

	if (!d->inflight)
		return;
	d->inflight = 0;
	if (L->a->mode == LOAD_ROLL) {
		delay = now - d->q[d->qh];
		d->qh = (d->qh + 1) % DEV_QMAX;
		d->qn--;
		if (delay > L->max_delay_us)
			L->max_delay_us = delay;
		load_lat_add(&L->lat, delay);
		L->acked++;
	} else if (L->phase == PH_RUN) {
		load_lat_add(&L->lat, now - d->sent_at);
		L->acked++;
	}
	try_send(L, i);
}

/* Roll: each device's first message at a random point of the period. */
static void
start_generators(struct load *L)
{
	struct timeval tv;
	uint32_t r;
	long ms;
	size_t i;

	for (i = 0; i < L->f->n; i++) {
		if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
			r = (uint32_t)i * 2654435761u;
		ms = (long)(r % (uint32_t)L->a->interval_ms);
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		evtimer_add(L->ds[i].gen, &tv);
	}
}

/* All sessions are up (or failed): what each mode does next. */
static void
all_connected(struct load *L)
{
	struct timeval tv = {2, 0};
	size_t i;

	L->t_phase = load_now_us();
	L->phase = PH_SETTLE;
	fprintf(stderr, "rollcall-load: %zu sessions up, %zu failed (%.1f s)\n",
	    L->connected, L->fail, (double)(L->t_phase - L->t_start) / 1e6);
	if (L->a->mode == LOAD_TELEMETRY) {
		L->phase = PH_RUN;
		L->t_phase = load_now_us();
		server_sample(L, NULL, &L->srv_cpu0);
		for (i = 0; i < L->f->n; i++)
			try_send(L, i);
		tv.tv_sec = L->a->duration_ms / 1000;
		tv.tv_usec = (L->a->duration_ms % 1000) * 1000;
	} else if (L->a->mode == LOAD_ROLL) {
		tv.tv_sec = 3; /* telemetry flows before the roll starts */
	}
	evtimer_add(L->phase_ev, &tv);
	if (L->a->mode == LOAD_ROLL)
		start_generators(L);
}

static void
session_lost(struct load *L, size_t i)
{
	struct devst *d = &L->ds[i];
	struct timeval tv = {0, 200000};

	if (d->hub != NULL) {
		conn_free(d->hub);
		d->hub = NULL;
	}
	if (d->inflight) {
		d->inflight = 0;
		L->resent++;
	}
	if (L->phase == PH_CONNECT) {
		L->inflight--;
		L->fail++;
		if (L->fail <= 5)
			fprintf(stderr, "rollcall-load: %s: session failed\n",
			    L->f->dev[i].id);
		if (L->connected + L->fail == (size_t)L->a->count)
			all_connected(L);
		else if (L->next < (size_t)L->a->count)
			hub_open(L, L->next++);
		return;
	}
	L->dropped++;
	if (L->a->mode == LOAD_ROLL && L->phase < PH_DONE)
		evtimer_add(d->retry, &tv);
}

static int
hub_step(struct conn *c, enum step s)
{
	struct load *L = c->L;
	struct devst *d = &L->ds[c->dev];

	switch (s) {
	case STEP_CONNACK:
		if (c->timer != NULL)
			evtimer_del(c->timer);
		if (L->phase == PH_CONNECT) {
			L->connected++;
			L->inflight--;
			load_lat_add(&L->lat, load_now_us() - c->t0);
			if (L->connected + L->fail == (size_t)L->a->count)
				all_connected(L);
			else if (L->next < (size_t)L->a->count)
				hub_open(L, L->next++);
		} else if (d->renewed && !d->rolled) {
			d->rolled = 1;
			if (++L->rolled == (size_t)L->a->count)
				L->t_roll1 = load_now_us();
		}
		try_send(L, c->dev);
		return 0;
	case STEP_PUBACK:
		got_puback(L, c->dev);
		return 0;
	default:
		session_lost(L, c->dev);
		return 1;
	}
}

static void
hub_open(struct load *L, size_t i)
{
	struct devst *d = &L->ds[i];

	if (L->phase == PH_CONNECT)
		L->inflight++;
	if ((d->hub = conn_open(L, i, L->a->proto, ROLE_HUB)) == NULL ||
	    arm(d->hub, L->a->timeout_ms) != 0)
		session_lost(L, i);
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct devst *d = arg;
	struct load *L = G;
	size_t i = (size_t)(d - L->ds);

	(void)fd;
	(void)what;
	if (L->phase >= PH_DONE)
		return;
	if (d->hub == NULL)
		hub_open(L, i);
	/* A failed renewal: the sweep of roll_more registers it again. */
	if (!d->renewed && d->dps == NULL && L->phase == PH_RUN)
		roll_more(L);
}

/* Roll: DPS issued the new certificate; reconnect with it. */
static int
renewed(struct conn *c, const struct load_dps_op *op)
{
	struct load *L = c->L;
	struct load_dev *dv = &L->f->dev[c->dev];
	struct devst *d = &L->ds[c->dev];
	const unsigned char *p = op->leaf;
	X509 *x;

	if ((x = d2i_X509(NULL, &p, (long)op->leaf_len)) == NULL ||
	    X509_check_private_key(x, dv->new_key) != 1) {
		X509_free(x);
		return -1;
	}
	X509_free(dv->cert);
	dv->cert = x;
	if (dv->key != L->f->shared)
		EVP_PKEY_free(dv->key);
	dv->key = dv->new_key;
	dv->new_key = NULL;
	d->renewed = 1;
	L->renewed++;
	/* The old session goes; the server would cut it within a second. */
	if (d->hub != NULL) {
		conn_disconnect(d->hub);
		session_lost(L, c->dev);
		L->dropped--;
		evtimer_del(d->retry);
		hub_open(L, c->dev);
	}
	return 0;
}

static int
roll_step(struct conn *c, enum step s, const struct step_info *si)
{
	struct load *L = c->L;
	struct devst *d = &L->ds[c->dev];
	struct timeval tv = {1, 0};
	int done = 0, rc = -1;

	if (s == STEP_PUBACK)
		return 0;
	if (s == STEP_DPS && (rc = dps_reply(c, si, &done)) == 0 && !done)
		return 0;
	if (rc == 0 && done && renewed(c, si->op) == 0) {
		if (c->timer != NULL)
			evtimer_del(c->timer);
		conn_disconnect(c);
	} else {
		L->roll_fail++;
		evtimer_add(d->retry, &tv);
	}
	d->dps = NULL;
	conn_free(c);
	L->roll_inflight--;
	roll_more(L);
	return 1;
}

/* Start renewals up to the window; failed ones are retried first. */
static void
roll_more(struct load *L)
{
	struct load_dev *dv;
	struct devst *d;
	struct conn *c;
	size_t i;

	while (L->roll_inflight < (size_t)L->a->concurrency &&
	    L->roll_next < L->f->n) {
		i = L->roll_next++;
		d = &L->ds[i];
		dv = &L->f->dev[i];
		if (d->renewed || d->dps != NULL)
			continue;
		if (dv->new_key == NULL &&
		    rc_key_gen(RC_KEY_P256, &dv->new_key) != RC_OK)
			continue;
		if ((c = conn_open(L, i, LOAD_PROTO_DPS_MQTT, ROLE_DPS)) ==
		    NULL)
			continue;
		if ((c->body = register_body(dv->id, dv->new_key)) == NULL ||
		    arm(c, L->a->timeout_ms) != 0) {
			conn_free(c);
			continue;
		}
		d->dps = c;
		L->roll_inflight++;
	}
	/* Past the end: sweep again for renewals that failed. */
	if (L->roll_next >= L->f->n && L->renewed + L->roll_inflight < L->f->n)
		L->roll_next = 0;
}

int
run_step(struct conn *c, enum step s, const struct step_info *si)
{
	switch (c->role) {
	case ROLE_OP:
		return op_step(c, s, si);
	case ROLE_DPS:
		return roll_step(c, s, si);
	default:
		return hub_step(c, s);
	}
}

static int
queues_empty(struct load *L)
{
	size_t i;

	for (i = 0; i < L->f->n; i++)
		if (L->ds[i].qn > 0)
			return 0;
	return 1;
}

/* The phase timer: settle, run, roll progress and drain. */
static void
on_phase(evutil_socket_t fd, short what, void *arg)
{
	struct load *L = arg;
	struct timeval tv = {L->a->duration_ms / 1000,
	    (L->a->duration_ms % 1000) * 1000};
	struct timeval tick = {0, 250000};
	size_t i;

	(void)fd;
	(void)what;
	switch (L->a->mode) {
	case LOAD_HOLD:
		if (L->phase == PH_SETTLE) {
			server_sample(L, &L->rss_after, NULL);
			L->phase = PH_RUN;
			evtimer_add(L->phase_ev, &tv);
			return;
		}
		break;
	case LOAD_ROLL:
		if (L->phase == PH_SETTLE) {
			L->phase = PH_RUN;
			L->t_roll0 = load_now_us();
			server_sample(L, NULL, &L->srv_cpu0);
			fprintf(stderr, "rollcall-load: roll starts\n");
			roll_more(L);
			evtimer_add(L->phase_ev, &tick);
			return;
		}
		if (L->phase == PH_RUN) {
			if (L->rolled < L->f->n &&
			    load_now_us() - L->t_roll0 <
			        (uint64_t)L->a->duration_ms * 1000) {
				evtimer_add(L->phase_ev, &tick);
				return;
			}
			if (L->t_roll1 == 0)
				L->t_roll1 = load_now_us();
			server_sample(L, NULL, &L->srv_cpu1);
			L->phase = PH_TAIL;
			tv.tv_sec = 2;
			tv.tv_usec = 0;
			evtimer_add(L->phase_ev, &tv);
			return;
		}
		if (L->phase == PH_TAIL) {
			L->phase = PH_DRAIN;
			L->t_end = load_now_us();
			evtimer_add(L->phase_ev, &tick);
			return;
		}
		if (L->phase == PH_DRAIN && !queues_empty(L) &&
		    load_now_us() - L->t_end < 15000000) {
			evtimer_add(L->phase_ev, &tick);
			return;
		}
		break;
	default:
		server_sample(L, NULL, &L->srv_cpu1);
		break;
	}
	if (L->a->mode != LOAD_ROLL)
		L->t_end = load_now_us();
	L->phase = PH_DONE;
	for (i = 0; i < L->f->n; i++)
		if (L->ds[i].gen != NULL)
			evtimer_del(L->ds[i].gen);
	event_base_loopbreak(L->base);
}

static SSL_CTX *
client_ctx(const char *trust)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return NULL;
	/*
	 * Every connection is a full handshake: no session cache, no
	 * tickets; the number is the worst case (a fleet of new devices).
	 */
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, trust, NULL) != 1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static const char *
mode_name(enum load_mode m)
{
	static const char *const n[] = {"certs", "import", "register",
	    "connect", "hold", "telemetry", "roll"};

	return n[m];
}

static const char *
proto_name(enum load_proto p)
{
	static const char *const n[] = {"hub", "mqtt", "dps-mqtt", "dps-http",
	    "echo"};

	return n[p];
}

/* This process's CPU time, user and system, in seconds. */
static double
client_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* One RESULT line of key=value pairs, for bench/run.sh. */
static void
report(struct load *L)
{
	const struct load_args *a = L->a;
	double secs = (double)(L->t_end - L->t_start) / 1e6, rate;
	double p50 = load_lat_quantile(&L->lat, 0.50);
	double p99 = load_lat_quantile(&L->lat, 0.99);
	double cli = client_cpu_s() - L->cli_cpu0;

	printf("RESULT label=%s mode=%s proto=%s n=%ld ok=%zu fail=%zu",
	    a->label[0] != '\0' ? a->label : "-", mode_name(a->mode),
	    proto_name(a->proto), a->count,
	    a->mode == LOAD_REGISTER || a->mode == LOAD_CONNECT ? L->ok
	                                                        : L->connected,
	    L->fail);
	if (a->mode == LOAD_TELEMETRY) {
		secs = (double)(L->t_end - L->t_phase) / 1e6;
		rate = secs > 0 ? (double)L->acked / secs : 0;
		printf(" acked=%llu", (unsigned long long)L->acked);
	} else {
		rate = secs > 0 ? (double)L->ok / secs : 0;
	}
	printf(" secs=%.2f rate=%.1f p50_ms=%.2f p99_ms=%.2f", secs, rate, p50,
	    p99);
	if (a->mode == LOAD_HOLD && L->rss_after > 0 && L->connected > 0)
		printf(" rss_before_kib=%ld rss_after_kib=%ld "
		       "rss_per_conn_kib=%.2f dropped=%zu",
		    L->rss_before, L->rss_after,
		    (double)(L->rss_after - L->rss_before) /
		        (double)L->connected,
		    L->dropped);
	if (a->mode == LOAD_ROLL)
		printf(" roll_secs=%.2f renewed=%zu rolled=%zu "
		       "roll_retries=%zu "
		       "generated=%llu acked=%llu lost=%llu resent=%llu "
		       "longest_gap_ms=%.0f",
		    L->t_roll1 > L->t_roll0
		        ? (double)(L->t_roll1 - L->t_roll0) / 1e6
		        : 0,
		    L->renewed, L->rolled, L->roll_fail,
		    (unsigned long long)L->gen, (unsigned long long)L->acked,
		    (unsigned long long)(L->gen - L->acked),
		    (unsigned long long)L->resent,
		    (double)L->max_delay_us / 1000);
	/* A roll cut short by -t: the time the whole fleet would take. */
	if (a->mode == LOAD_ROLL && L->rolled > 0 && L->t_roll1 > L->t_roll0)
		printf(" roll_projected_secs=%.1f",
		    (double)(L->t_roll1 - L->t_roll0) / 1e6 * (double)a->count /
		        (double)L->rolled);
	if (a->server_pid > 0 && L->srv_cpu1 > L->srv_cpu0)
		printf(" server_cpu_s=%.2f", L->srv_cpu1 - L->srv_cpu0);
	printf(" client_cpu_s=%.2f key=%s\n", cli,
	    L->f->shared != NULL ? "shared-p256" : "per-device-p256");
	fflush(stdout);
}

/* Hold, telemetry and roll keep per-device state and timers. */
static int
sessions_init(struct load *L)
{
	size_t i;

	if ((L->ds = rc_calloc(L->f->n, sizeof(*L->ds))) == NULL)
		return -1;
	for (i = 0; i < L->f->n; i++)
		if ((L->ds[i].gen = evtimer_new(L->base, on_gen, &L->ds[i])) ==
		        NULL ||
		    (L->ds[i].retry =
		            evtimer_new(L->base, on_retry, &L->ds[i])) == NULL)
			return -1;
	return 0;
}

static void
sessions_free(struct load *L)
{
	size_t i;

	for (i = 0; L->ds != NULL && i < L->f->n; i++) {
		conn_free(L->ds[i].hub);
		conn_free(L->ds[i].dps);
		if (L->ds[i].gen != NULL)
			event_free(L->ds[i].gen);
		if (L->ds[i].retry != NULL)
			event_free(L->ds[i].retry);
	}
	rc_free(L->ds);
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		fprintf(stderr, "rollcall-load: %llu file descriptors\n",
		    (unsigned long long)rl.rlim_cur);
}

static void
begin(struct load *L)
{
	size_t i, n = (size_t)L->a->concurrency;

	L->t_start = load_now_us();
	L->cli_cpu0 = client_cpu_s();
	server_sample(L, &L->rss_before, &L->srv_cpu0);
	if (L->a->mode == LOAD_REGISTER || L->a->mode == LOAD_CONNECT) {
		start_ops(L);
		return;
	}
	for (i = 0; i < n && L->next < L->f->n; i++)
		hub_open(L, L->next++);
}

int
load_run(const struct load_args *a, struct load_fleet *f)
{
	struct load *L;
	int rc = 1;

	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	if ((L = rc_calloc(1, sizeof(*L))) == NULL)
		return 1;
	G = L;
	L->a = a;
	L->f = f;
	L->interval.tv_sec = a->interval_ms / 1000;
	L->interval.tv_usec = (a->interval_ms % 1000) * 1000;
	memset(L->payload, 'x', sizeof(L->payload));
	if ((L->base = event_base_new()) == NULL ||
	    (L->ctx = client_ctx(a->trust)) == NULL ||
	    (L->phase_ev = evtimer_new(L->base, on_phase, L)) == NULL) {
		fprintf(stderr, "rollcall-load: setup failed\n");
		ERR_print_errors_fp(stderr);
		goto out;
	}
	if (a->mode != LOAD_REGISTER && a->mode != LOAD_CONNECT &&
	    sessions_init(L) != 0)
		goto out;
	begin(L);
	if (L->t_end == 0)
		event_base_dispatch(L->base);
	if (L->t_end == 0)
		L->t_end = load_now_us();
	if (a->mode == LOAD_REGISTER || a->mode == LOAD_CONNECT)
		server_sample(L, NULL, &L->srv_cpu1);
	report(L);
	rc = L->fail == 0 && (a->mode != LOAD_ROLL || L->gen == L->acked) ? 0
	                                                                  : 1;
out:
	sessions_free(L);
	if (L->phase_ev != NULL)
		event_free(L->phase_ev);
	SSL_CTX_free(L->ctx);
	if (L->base != NULL)
		event_base_free(L->base);
	load_lat_free(&L->lat);
	rc_free(L);
	G = NULL;
	return rc;
}
