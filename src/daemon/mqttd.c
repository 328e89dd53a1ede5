/*
 * MQTT connections of the hub role on the worker loops (DESIGN.md §5;
 * reference/azure-device-wire.md §6), and of the DPS role: a CONNECT
 * whose username is "{idScope}/registrations/..." turns the connection
 * into a DPS one (dps/msession.h, §2), served by the same framing.
 *
 * A connection: TLS handshake (bounded by request-timeout, as on the
 * HTTPS port), then a struct hub_session that reads framed packets.  The
 * bufferevent's input buffer is the read buffer: its high watermark is
 * mqtt-max-packet, and a packet whose header announces more is refused
 * before its body is read, so a connection never buffers more than one
 * packet.  The read timeout is the CONNECT timeout until CONNACK 0, then
 * 1.5 x the keepalive (capped at HUB_KEEPALIVE_CAP_S: a keepalive of 0
 * does not mean forever here).
 *
 * Other threads (the hub's service calls, its housekeeping thread) never
 * touch a connection: they queue a struct mqttd_cmd on the owning
 * worker (hub_session_io.post) and wake its loop with event_active; the
 * worker writes or closes.  A session leaves its hub's table before its
 * connection is freed, and posts happen under the hub's lock, so nothing
 * is queued for a connection after it is gone.
 *
 * Telemetry is committed in groups: the sessions of a loop pass hand their
 * events to the worker (hub_session_io.event), which stores all of them
 * in one transaction once the pass's reads are handled (flush_ev, made
 * active by the first event) and only then writes their PUBACKs, so a
 * PUBACK still means "stored", at one fsync per pass instead of one per
 * message.  A failed commit closes the connections whose events it held,
 * without PUBACK: the devices send again.
 *
 * A refused connection gets its answer (CONNACK 5 ...) flushed, then is
 * freed; a device that stops reading while messages pile up for it is
 * closed once MQTT_OUT_MAX bytes wait.
 */
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>

#include "dps/msession.h"
#include "hub/hub.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"
#include "worker_int.h"

/* Bytes waiting for a device before it counts as not reading. */
#define MQTT_OUT_MAX (4 * 1024 * 1024)
/* Answers to one packet: a twin document with its envelope at most. */
#define MQTT_REPLY_MAX (256 * 1024)

struct mqttd_cmd {
	TAILQ_ENTRY(mqttd_cmd) entry;
	struct hub_session *s;
	const char *why; /* non-NULL: close */
	size_t len;
	uint8_t data[];
};

/* A telemetry event waiting for its group commit. */
struct mqttd_ev {
	TAILQ_ENTRY(mqttd_ev) entry;
	struct hub_session *s;
	struct rc_store *store;
	size_t retain;
	struct rc_hub_event
	    ev; /* hub borrowed (the hub's name); the rest owned */
	int qos;
	uint16_t packet_id;
};

/* Most events one commit takes; more wait for the next pass. */
#define MQTT_BATCH_MAX 512

static void mqtt_read(struct bufferevent *, void *);
static void mqtt_event(struct bufferevent *, short, void *);

void
mqttd_conn_close(struct conn *c, const char *why)
{
	struct bufferevent *bev = c->bev;

	rc_log_debug("%s: mqtt: closing: %s", conn_peer(c), why);
	dps_msession_free(c->dsess);
	c->dsess = NULL;
	if (c->sess != NULL) {
		hub_session_set_conn(c->sess, NULL);
		hub_session_closed(c->sess);
		hub_session_unref(c->sess);
		c->sess = NULL;
	}
	c->bev = NULL;
	/* Frees the SSL, and with it c (worker.c conn_ex_free). */
	if (bev != NULL)
		bufferevent_free(bev);
}

static void
flushed(struct bufferevent *bev, void *arg)
{
	(void)bev;
	mqttd_conn_close(arg, "answered, closing");
}

/* Closes once what is queued is written. */
static void
close_after_flush(struct conn *c)
{
	c->closing = 1;
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		mqttd_conn_close(c, "closing");
		return;
	}
	bufferevent_setcb(c->bev, NULL, flushed, mqtt_event, c);
}

static void
set_read_timeout(struct conn *c, int seconds)
{
	struct timeval rt = {seconds, 0};

	bufferevent_set_timeouts(c->bev, &rt, &c->w->ws->timeout);
}

/*
 * A first packet that is a DPS CONNECT: the hub session (not in any hub's
 * table before CONNECT) gives way to a DPS one.  0 if it is not one.
 */
static int
become_dps(struct conn *c, const struct rc_mqtt_fixed *hdr, const uint8_t *p,
    size_t total)
{
	struct dps_prov *dps = c->w->ws->c.dps;
	STACK_OF(X509) *chain;

	if (dps == NULL || c->dsess != NULL || hdr->type != RC_MQTT_CONNECT ||
	    (c->sess != NULL && hub_session_timeout(c->sess) != 0) ||
	    !dps_msession_is_dps(dps, p, total))
		return 0;
	chain = tls_peer_chain(c->ssl);
	c->dsess = dps_msession_new(dps, chain, conn_peer(c));
	sk_X509_free(chain);
	if (c->dsess == NULL)
		return 0;
	if (c->sess != NULL) {
		hub_session_set_conn(c->sess, NULL);
		hub_session_closed(c->sess);
		hub_session_unref(c->sess);
		c->sess = NULL;
	}
	return 1;
}

static int
session_timeout(const struct conn *c)
{
	if (c->dsess != NULL)
		return dps_msession_timeout(c->dsess);
	return c->sess != NULL ? hub_session_timeout(c->sess) : 0;
}

/* Hands one framed packet to the session and writes its answers. */
static int
one_packet(struct conn *c, const struct rc_mqtt_fixed *hdr, const uint8_t *p,
    size_t total)
{
	struct rc_wbuf out;
	int before, rc;

	become_dps(c, hdr, p, total);
	before = session_timeout(c);
	rc_wbuf_init(&out, MQTT_REPLY_MAX);
	if (c->dsess != NULL)
		rc = dps_msession_packet(c->dsess, hdr, p, total, &out);
	else if (c->sess != NULL)
		rc = hub_session_packet(c->sess, hdr, p, total, &out);
	else
		rc = RC_ENOMEM;
	if (out.len > 0 && bufferevent_write(c->bev, out.data, out.len) != 0)
		rc = RC_ENOMEM;
	rc_wbuf_free(&out);
	if (rc == RC_OK && before == 0 && session_timeout(c) > 0)
		set_read_timeout(c, session_timeout(c));
	return rc;
}

/*
 * The next complete packet at the front of in: RC_OK with *p and *total,
 * RC_ETRUNC to wait for more, anything else to close.
 */
static int
next_packet(struct conn *c, struct evbuffer *in, struct rc_mqtt_fixed *hdr,
    uint8_t **p, size_t *total)
{
	size_t avail = evbuffer_get_length(in), n, max;
	int rc;

	max = (size_t)c->w->ws->c.cfg->mqtt_max_packet;
	n = avail < RC_MQTT_FIXED_MAX ? avail : RC_MQTT_FIXED_MAX;
	if (n == 0 || (*p = evbuffer_pullup(in, (ev_ssize_t)n)) == NULL)
		return RC_ETRUNC;
	rc = rc_mqtt_frame(*p, n, max, hdr, total);
	if (rc != RC_ETRUNC || *total == 0 || *total > avail)
		return rc;
	if ((*p = evbuffer_pullup(in, (ev_ssize_t)*total)) == NULL)
		return RC_ENOMEM;
	return rc_mqtt_frame(*p, *total, max, hdr, total);
}

static void
mqtt_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	struct rc_mqtt_fixed hdr;
	struct conn *c = arg;
	uint8_t *p;
	size_t total;
	int rc;

	while (!c->closing) {
		if ((rc = next_packet(c, in, &hdr, &p, &total)) == RC_ETRUNC)
			return;
		if (rc != RC_OK) {
			rc_log_info("%s: mqtt: %s packet: closing",
			    conn_peer(c),
			    rc == RC_ETOOBIG ? "oversized" : "malformed");
			/* What earlier packets were answered still goes out. */
			close_after_flush(c);
			return;
		}
		rc = one_packet(c, &hdr, p, total);
		evbuffer_drain(in, total);
		if (rc != RC_OK) {
			close_after_flush(c);
			return;
		}
	}
}

static void post(void *, struct hub_session *, const void *, size_t,
    const char *);

static int take_event(void *, struct hub_session *, struct rc_store *, size_t,
    const struct rc_hub_event *, int, uint16_t);

static const struct hub_session_io mqttd_io = {post, take_event};

/* TLS is up: the session starts, waiting for CONNECT. */
static void
start_session(struct conn *c)
{
	const struct workers_config *wc = &c->w->ws->c;
	struct hub_session_tls tls;
	STACK_OF(X509) *chain;

	evtimer_del(c->deadline);
	chain = tls_peer_chain(c->ssl);
	memset(&tls, 0, sizeof(tls));
	tls.leaf = chain != NULL ? sk_X509_value(chain, 0) : NULL;
	tls.chain = chain;
	tls.sni = SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name);
	tls.peer = conn_peer(c);
	c->sess = hub_session_new(wc->hubs, wc->nhubs, &tls, &mqttd_io, c->w);
	sk_X509_free(chain);
	if (c->sess == NULL) {
		mqttd_conn_close(c, "out of memory");
		return;
	}
	hub_session_set_conn(c->sess, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    (size_t)wc->cfg->mqtt_max_packet);
	set_read_timeout(c, (int)wc->cfg->mqtt_connect_timeout);
}

static void
mqtt_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		start_session(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		rc_log_info("%s: mqtt: %s", conn_peer(c),
		    c->sess == NULL && c->dsess == NULL ? "handshake timeout"
		        : session_timeout(c) == 0       ? "no CONNECT in time"
		                                        : "keepalive expired");
		mqttd_conn_close(c, "timeout");
		return;
	}
	mqttd_conn_close(c, (what & BEV_EVENT_EOF) ? "peer closed" : "error");
}

void
mqttd_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct worker *w = arg;
	struct bufferevent *bev;
	struct conn *c;
	SSL *ssl;

	(void)l;
	(void)salen;
	if (w->draining ||
	    (c = conn_new(w, w->ws->c.mqtt_ctx, 1, &ssl)) == NULL) {
		close(fd);
		return;
	}
	sockaddr_format(sa, c->peer, sizeof(c->peer));
	bev = bufferevent_openssl_socket_new(w->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		close(fd);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	conn_link(c, bev);
	bufferevent_setcb(bev, mqtt_read, NULL, mqtt_event, c);
	bufferevent_set_timeouts(bev, &w->ws->timeout, &w->ws->timeout);
	bufferevent_enable(bev, EV_READ);
}

/* hub_session_io.post: any thread, with the hub's lock held. */
static void
post(void *arg, struct hub_session *s, const void *data, size_t len,
    const char *why)
{
	struct worker *w = arg;
	struct mqttd_cmd *cmd;

	if ((cmd = rc_malloc(sizeof(*cmd) + len)) == NULL) {
		rc_log_warnx("mqtt: out of memory: a message is lost");
		return;
	}
	cmd->why = why;
	cmd->len = len;
	if (len > 0)
		memcpy(cmd->data, data, len);
	hub_session_ref(s);
	cmd->s = s;
	pthread_mutex_lock(&w->cmd_mu);
	if (w->cmd_closed) {
		pthread_mutex_unlock(&w->cmd_mu);
		hub_session_unref(s);
		rc_free(cmd);
		return;
	}
	TAILQ_INSERT_TAIL(&w->cmds, cmd, entry);
	pthread_mutex_unlock(&w->cmd_mu);
	event_active(w->cmd_ev, EV_READ, 0);
}

static void
run_cmd(struct mqttd_cmd *cmd)
{
	struct conn *c = hub_session_get0_conn(cmd->s);

	if (c == NULL || c->closing || c->bev == NULL)
		return;
	if (cmd->why != NULL) {
		rc_log_info("%s: mqtt: closing: %s", conn_peer(c), cmd->why);
		mqttd_conn_close(c, cmd->why);
		return;
	}
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) + cmd->len >
	    MQTT_OUT_MAX) {
		rc_log_info("%s: mqtt: device does not read: closing",
		    conn_peer(c));
		mqttd_conn_close(c, "not reading");
		return;
	}
	if (bufferevent_write(c->bev, cmd->data, cmd->len) != 0)
		mqttd_conn_close(c, "out of memory");
}

static void
cmd_cb(evutil_socket_t fd, short what, void *arg)
{
	TAILQ_HEAD(, mqttd_cmd) todo = TAILQ_HEAD_INITIALIZER(todo);
	struct worker *w = arg;
	struct mqttd_cmd *cmd;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&w->cmd_mu);
	TAILQ_CONCAT(&todo, &w->cmds, entry);
	pthread_mutex_unlock(&w->cmd_mu);
	while ((cmd = TAILQ_FIRST(&todo)) != NULL) {
		TAILQ_REMOVE(&todo, cmd, entry);
		run_cmd(cmd);
		hub_session_unref(cmd->s);
		rc_free(cmd);
	}
}

static void
ev_free(struct mqttd_ev *e)
{
	hub_session_unref(e->s);
	rc_free(e->ev.device_id);
	json_decref(e->ev.props);
	rc_free(e->ev.body);
	rc_free(e);
}

/* hub_session_io.event: worker thread, while a packet is handled. */
static int
take_event(void *arg, struct hub_session *s, struct rc_store *store,
    size_t retain, const struct rc_hub_event *in, int qos, uint16_t pid)
{
	struct worker *w = arg;
	struct mqttd_ev *e;

	if ((e = rc_calloc(1, sizeof(*e))) == NULL ||
	    (e->ev.device_id = rc_strdup(in->device_id)) == NULL ||
	    (in->body_len > 0 &&
	        (e->ev.body = rc_malloc(in->body_len)) == NULL)) {
		if (e != NULL)
			rc_free(e->ev.device_id);
		rc_free(e);
		return RC_ENOMEM; /* the session stores it itself */
	}
	if (in->body_len > 0)
		memcpy(e->ev.body, in->body, in->body_len);
	e->ev.body_len = in->body_len;
	e->ev.hub = in->hub;
	e->ev.time = in->time;
	e->ev.props = json_incref(in->props);
	e->store = store;
	e->retain = retain;
	e->qos = qos;
	e->packet_id = pid;
	hub_session_ref(s);
	e->s = s;
	if (w->nevs++ == 0)
		event_active(w->flush_ev, EV_READ, 0);
	TAILQ_INSERT_TAIL(&w->evs, e, entry);
	return RC_OK;
}

/* After the commit of e (rc): its PUBACK, or the close. */
static void
ev_done(struct mqttd_ev *e, int rc)
{
	struct conn *c = hub_session_get0_conn(e->s);
	struct rc_wbuf out;

	if (c == NULL || c->closing || c->bev == NULL)
		return;
	if (rc != RC_OK) {
		rc_log_warnx("%s: mqtt: telemetry not stored: %s: closing",
		    conn_peer(c), rc_strerror(rc));
		mqttd_conn_close(c, "store failed");
		return;
	}
	if (e->qos != 1)
		return;
	rc_wbuf_init(&out, 8);
	if (rc_mqtt_encode_puback(&out, e->packet_id) != RC_OK ||
	    bufferevent_write(c->bev, out.data, out.len) != 0)
		mqttd_conn_close(c, "out of memory");
	rc_wbuf_free(&out);
}

/* Commits up to MQTT_BATCH_MAX waiting events of one store and retention. */
static void
flush_some(struct worker *w)
{
	const struct rc_hub_event *in[MQTT_BATCH_MAX];
	struct mqttd_ev *batch[MQTT_BATCH_MAX], *e, *next, *first;
	int64_t seqs[MQTT_BATCH_MAX];
	size_t n = 0, i;
	int rc;

	first = TAILQ_FIRST(&w->evs);
	for (e = first; e != NULL && n < MQTT_BATCH_MAX; e = next) {
		next = TAILQ_NEXT(e, entry);
		if (e->store != first->store || e->retain != first->retain)
			continue;
		TAILQ_REMOVE(&w->evs, e, entry);
		w->nevs--;
		batch[n] = e;
		in[n++] = &e->ev;
	}
	rc = rc_store_hub_event_append_batch(first->store, in, n, first->retain,
	    seqs);
	for (i = 0; i < n; i++) {
		ev_done(batch[i], rc);
		ev_free(batch[i]);
	}
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	while (!TAILQ_EMPTY(&w->evs))
		flush_some(w);
}

void
mqttd_worker_init(struct worker *w)
{
	pthread_mutex_init(&w->cmd_mu, NULL);
	TAILQ_INIT(&w->cmds);
	TAILQ_INIT(&w->evs);
	if ((w->cmd_ev = event_new(w->base, -1, 0, cmd_cb, w)) == NULL ||
	    (w->flush_ev = event_new(w->base, -1, 0, flush_cb, w)) == NULL)
		rc_fatalx("worker: out of memory");
}

void
mqttd_worker_fini(struct worker *w)
{
	struct mqttd_cmd *cmd;

	pthread_mutex_lock(&w->cmd_mu);
	w->cmd_closed = 1;
	while ((cmd = TAILQ_FIRST(&w->cmds)) != NULL) {
		TAILQ_REMOVE(&w->cmds, cmd, entry);
		hub_session_unref(cmd->s);
		rc_free(cmd);
	}
	pthread_mutex_unlock(&w->cmd_mu);
	event_free(w->cmd_ev);
	w->cmd_ev = NULL;
	/* What was read is stored; the connections are gone, so no PUBACK. */
	flush_cb(-1, 0, w);
	event_free(w->flush_ev);
	w->flush_ev = NULL;
}
