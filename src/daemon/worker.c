/*
 * Worker threads (DESIGN.md §5 "Threads").
 *
 * Each worker owns an event_base, an evhttp and its connections.  All
 * workers accept on the same listening sockets: each gets its own dup(2)
 * of every socket (evhttp and evconnlistener close the fd they are given
 * when freed), so all of them wait on one accept queue and whichever wakes
 * first takes the connection; the others see EAGAIN, which
 * evconnlistener ignores.  This keeps port 0 working (one bind, one port)
 * and, unlike SO_REUSEPORT, never strands connections queued on a socket
 * that a stopping worker closes: the queue stays open until the last
 * worker lets go of it.
 *
 * Connections: every accepted socket gets a struct conn, hung on its SSL
 * as ex_data; SSL_free (which libevent runs when the bufferevent is
 * finalized) frees it, so whatever path closes a connection, the
 * bookkeeping follows.  A conn carries:
 * - a deadline: a request's header and body must arrive within
 *   request-timeout of the connection going idle (accepted, or its last
 *   response sent).  evhttp's own timeout only bounds the gap between two
 *   reads, which a client sending one byte at a time resets forever.
 * - enough state to tell, at stop time, an idle connection (nothing read
 *   since it went idle) from one with a request in flight.
 * - a callback on its output buffer: what evhttp writes there while no
 *   request of ours is in flight is an answer of its own, which
 *   httpd_own_answer turns into the service API's error answer.
 *
 * A connection is cut with shutdown(2): libevent sees EOF and frees it
 * through its normal path, so nothing is freed twice or under its feet.
 *
 * MQTT connections (the hub's devices) are served by mqttd.c on the same
 * loops, with the same struct conn; their sessions are closed there.
 *
 * Stop: each worker stops accepting, cuts idle connections, answers the
 * requests in flight with "Connection: close", and exits once its last
 * connection is gone or DRAIN_SECONDS have passed.
 */
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>

#include "daemon.h"
#include "worker_int.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"

/* How long accepting pauses after accept(2) ran out of resources. */
#define ACCEPT_PAUSE_MS 100

static int conn_idx = -1;
/* The worker whose loop runs on this thread. */
static __thread struct worker *this_worker;

static void
conn_free(struct conn *c)
{
	struct worker *w = c->w;

	if (c->deadline != NULL)
		event_free(c->deadline);
	if (c->out_cb != NULL)
		evbuffer_remove_cb_entry(bufferevent_get_output(c->bev),
		    c->out_cb);
	if (c->linked) {
		TAILQ_REMOVE(&w->conns, c, entry);
		w->nconns--;
		if (w->draining && !w->teardown && w->nconns == 0)
			event_base_loopexit(w->base, NULL);
	}
	rc_free(c);
}

/*
 * CRYPTO_EX_free: runs inside SSL_free, whoever calls it, before OpenSSL
 * looks at how the connection ended.  libevent frees a connection's SSL
 * without a close_notify, and OpenSSL drops the session of a connection
 * not shut down; since TLS 1.1 an unclean close no longer forbids
 * resuming (RFC 5246 §7.2.1), and clients without ticket support need the
 * cached session to resume, so a completed handshake is marked shut down.
 * A fatal alert still removes its session, earlier and by another path.
 */
static void
conn_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	struct conn *c = ptr;

	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (c == NULL)
		return;
	if (c->handshaken)
		SSL_set_shutdown(parent,
		    SSL_get_shutdown(parent) | SSL_SENT_SHUTDOWN);
	conn_free(c);
}

/* "addr:port" of the peer, for logs; looked up once. */
const char *
conn_peer(struct conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd;

	if (c->peer[0] != '\0')
		return c->peer;
	fd = c->bev != NULL ? bufferevent_getfd(c->bev) : -1;
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
		return "-";
	sockaddr_format((struct sockaddr *)&ss, c->peer, sizeof(c->peer));
	return c->peer;
}

void
conn_cut(struct conn *c, const char *why)
{
	int fd;

	rc_log_debug("%s: closing connection: %s", conn_peer(c), why);
	if (c->bev == NULL || (fd = bufferevent_getfd(c->bev)) < 0)
		return;
	if (shutdown(fd, SHUT_RDWR) == -1 && errno != ENOTCONN)
		rc_log_warn("%s: shutdown", conn_peer(c));
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_cut(arg, "request timeout");
}

static void
deadline_arm(struct conn *c)
{
	if (c->deadline != NULL && !c->w->draining)
		evtimer_add(c->deadline, &c->w->ws->timeout);
}

/*
 * Nothing of a next request has arrived since the connection went idle:
 * not read by OpenSSL, not buffered by libevent, not waiting in the
 * socket.
 */
static int
conn_idle(struct conn *c)
{
	int fd, pending = 0;

	if (c->busy)
		return 0;
	if (c->mqtt)
		return 1;
	fd = bufferevent_getfd(c->bev);
	if (fd >= 0 && ioctl(fd, FIONREAD, &pending) == -1)
		pending = 0;
	/*
	 * A TLS 1.3 client counts the handshake done once it has sent its
	 * Finished (RFC 8446 §4.4.4), and may send a request right behind
	 * it, before we have read either: with bytes waiting, the
	 * connection may carry a request.
	 */
	if (!c->handshaken)
		return pending == 0;
	return pending == 0 &&
	    BIO_number_read(SSL_get_rbio(c->ssl)) == c->idle_mark &&
	    evbuffer_get_length(bufferevent_get_input(c->bev)) == 0;
}

/*
 * SSL info callback: notes the end of the handshake, and logs alerts (at
 * debug level: a client that does not trust our CA says so in an alert,
 * and that is the one place an operator can see it).
 */
static void
tls_info(const SSL *ssl, int where, int ret)
{
	struct conn *c;
	int first;

	if ((c = SSL_get_ex_data(ssl, conn_idx)) == NULL)
		return;
	if (where & SSL_CB_ALERT)
		rc_log_debug("%s: TLS alert %s: %s", conn_peer(c),
		    (where & SSL_CB_READ) ? "received" : "sent",
		    SSL_alert_desc_string_long(ret));
	if ((where & SSL_CB_HANDSHAKE_DONE) == 0)
		return;
	first = !c->handshaken;
	c->handshaken = 1;
	c->idle_mark = BIO_number_read(SSL_get_rbio(ssl));
	/* Kept through the stop (conn_idle) for a request that did not come. */
	if (first && c->w->draining && conn_idle(c))
		conn_cut(c, "server stopping");
}

/*
 * A conn over a new SSL of ctx; the SSL owns the conn from here on.  NULL
 * if out of memory.
 */
struct conn *
conn_new(struct worker *w, SSL_CTX *ctx, int mqtt, SSL **sslp)
{
	struct conn *c;
	SSL *ssl;

	*sslp = NULL;
	if ((c = rc_calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((ssl = SSL_new(ctx)) == NULL) {
		rc_free(c);
		return NULL;
	}
	if (SSL_set_ex_data(ssl, conn_idx, c) != 1) {
		SSL_free(ssl);
		rc_free(c);
		return NULL;
	}
	c->w = w;
	c->ssl = ssl;
	c->mqtt = mqtt;
	if ((c->deadline = evtimer_new(w->base, deadline_cb, c)) == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	*sslp = ssl;
	return c;
}

void
conn_link(struct conn *c, struct bufferevent *bev)
{
	c->bev = bev;
	c->linked = 1;
	TAILQ_INSERT_TAIL(&c->w->conns, c, entry);
	c->w->nconns++;
	deadline_arm(c);
}

/*
 * A bufferevent that can never carry data: evhttp's bufferevent_setfd on
 * it fails and evhttp drops the connection.  Returned when TLS state could
 * not be made, because evhttp falls back to plain HTTP on NULL.
 */
static struct bufferevent *
refuse_bev(struct event_base *base)
{
	struct bufferevent *pair[2];

	if (bufferevent_pair_new(base, 0, pair) != 0)
		rc_fatalx("out of memory for a connection");
	bufferevent_free(pair[1]);
	return pair[0];
}

/* Output added while no request of ours is in flight is evhttp's. */
static void
conn_output(struct evbuffer *out, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct conn *c = arg;

	if (c->busy || c->rewriting || info->n_added == 0)
		return;
	c->rewriting = 1;
	httpd_own_answer(&c->w->hctx, out);
	c->rewriting = 0;
}

/* evhttp's bevcb: the TLS bufferevent of a new HTTPS connection. */
static struct bufferevent *
https_bev(struct event_base *base, void *arg)
{
	struct worker *w = arg;
	struct bufferevent *bev;
	struct conn *c;
	SSL *ssl;

	if ((c = conn_new(w, w->ws->c.https_ctx, 0, &ssl)) == NULL)
		return refuse_bev(base);
	/* On failure libevent has freed ssl, and with it c. */
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		return refuse_bev(base);
	c->bev = bev;
	c->out_cb =
	    evbuffer_add_cb(bufferevent_get_output(bev), conn_output, c);
	if (c->out_cb == NULL) {
		bufferevent_free(bev); /* and with it ssl and c */
		return refuse_bev(base);
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	conn_link(c, bev);
	return bev;
}

static struct conn *
request_conn(struct evhttp_request *req)
{
	struct evhttp_connection *evcon;
	struct bufferevent *bev;
	SSL *ssl;

	if ((evcon = evhttp_request_get_connection(req)) == NULL ||
	    (bev = evhttp_connection_get_bufferevent(evcon)) == NULL ||
	    (ssl = bufferevent_openssl_get_ssl(bev)) == NULL)
		return NULL;
	return SSL_get_ex_data(ssl, conn_idx);
}

static void
request_done(struct evhttp_request *req, void *arg)
{
	struct conn *c = arg;

	(void)req;
	c->busy = 0;
	c->idle_mark = BIO_number_read(SSL_get_rbio(c->ssl));
	/*
	 * A response begun before the stop went out without "Connection:
	 * close"; now that it is sent, the connection has nothing in flight.
	 */
	if (c->w->draining)
		conn_cut(c, "server stopping");
	deadline_arm(c);
}

static void
https_request(struct evhttp_request *req, void *arg)
{
	struct worker *w = arg;
	struct conn *c;

	if ((c = request_conn(req)) == NULL)
		rc_fatalx("https request on a connection without TLS state");
	c->busy = 1;
	evtimer_del(c->deadline);
	evhttp_request_set_on_complete_cb(req, request_done, c);
	httpd_serve(req, &w->hctx, c->ssl, conn_peer(c));
}

/* Turns every listener of the worker on or off. */
static void
listeners_enable(struct worker *w, int on)
{
	struct evconnlistener *l;
	size_t i;

	for (i = 0; i < w->nbound + w->nmqtt; i++) {
		l = i < w->nbound
		    ? evhttp_bound_socket_get_listener(w->bound[i])
		    : w->mqtt[i - w->nbound];
		if (on)
			evconnlistener_enable(l);
		else
			evconnlistener_disable(l);
	}
}

static void
accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	w->paused = 0;
	if (!w->draining)
		listeners_enable(w, 1);
}

/*
 * accept(2) failed for a reason other than a vanished peer: out of file
 * descriptors or memory.  The connection stays queued and the socket
 * stays readable, so accepting again at once would spin; pause instead
 * and let connections close meanwhile.
 */
static void
accept_error(struct evconnlistener *l, void *arg)
{
	struct timeval tv = {0, ACCEPT_PAUSE_MS * 1000};
	struct worker *w = this_worker; /* arg is evhttp's, not ours */
	int e = errno;

	(void)l;
	(void)arg;
	if (w == NULL || w->paused)
		return;
	rc_log_warnx("worker %d: accept: %s; pausing accepts for %d ms", w->id,
	    strerror(e), ACCEPT_PAUSE_MS);
	w->paused = 1;
	listeners_enable(w, 0);
	evtimer_add(w->resume_ev, &tv);
}

static void
drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	rc_log_warnx("worker %d: %zu connections still busy after %d s, "
	             "closing them",
	    w->id, w->nconns, DRAIN_SECONDS);
	event_base_loopexit(w->base, NULL);
}

/* Runs on the worker when the main thread activates stop_ev. */
static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct timeval tv = {DRAIN_SECONDS, 0};
	struct conn *c, *next;
	size_t i;

	(void)fd;
	(void)what;
	w->draining = 1;
	w->hctx.draining = 1;
	evtimer_del(w->resume_ev);
	for (i = 0; i < w->nbound; i++)
		evhttp_del_accept_socket(w->http, w->bound[i]);
	w->nbound = 0;
	for (i = 0; i < w->nmqtt; i++)
		evconnlistener_free(w->mqtt[i]);
	w->nmqtt = 0;
	for (c = TAILQ_FIRST(&w->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (conn_idle(c))
			conn_cut(c, "server stopping");
	}
	if (w->nconns == 0)
		event_base_loopexit(w->base, NULL);
	else
		evtimer_add(w->drain_ev, &tv);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct conn *c, *next;

	this_worker = w;
	if (event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY) == -1)
		rc_log_warnx("worker %d: event loop failed", w->id);
	w->teardown = 1;
	for (c = TAILQ_FIRST(&w->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		event_free(c->deadline);
		c->deadline = NULL;
		if (c->mqtt && c->bev != NULL)
			mqttd_conn_close(c, "server stopped");
	}
	mqttd_worker_fini(w);
	httpd_lane_fini(&w->hctx);
	evhttp_free(w->http);
	w->http = NULL;
	/* Runs the bufferevent finalizers: SSL_free, then conn_free. */
	event_free(w->stop_ev);
	event_free(w->drain_ev);
	event_free(w->resume_ev);
	event_base_free(w->base);
	w->base = NULL;
	return NULL;
}

static int
dup_fd(int fd)
{
	int d;

	if ((d = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1)
		rc_fatal("dup listening socket");
	return d;
}

static void
worker_listen(struct worker *w)
{
	const struct workers_config *wc = &w->ws->c;
	struct evconnlistener *l;
	size_t i;
	int fd;

	w->bound = rc_calloc(wc->nlisteners, sizeof(*w->bound));
	w->mqtt = rc_calloc(wc->nlisteners, sizeof(*w->mqtt));
	if (w->bound == NULL || w->mqtt == NULL)
		rc_fatalx("worker: out of memory");
	for (i = 0; i < wc->nlisteners; i++) {
		fd = dup_fd(wc->listeners[i].fd);
		if (wc->listeners[i].kind == LISTEN_HTTPS) {
			w->bound[w->nbound] =
			    evhttp_accept_socket_with_handle(w->http, fd);
			if (w->bound[w->nbound] == NULL)
				rc_fatalx("worker: evhttp_accept_socket");
			l = evhttp_bound_socket_get_listener(
			    w->bound[w->nbound++]);
			evconnlistener_set_error_cb(l, accept_error);
			continue;
		}
		l = evconnlistener_new(w->base, mqttd_accept, w,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
		if (l == NULL)
			rc_fatalx("worker: evconnlistener_new");
		evconnlistener_set_error_cb(l, accept_error);
		w->mqtt[w->nmqtt++] = l;
	}
}

static void
worker_http(struct worker *w)
{
	const struct config *cfg = w->ws->c.cfg;

	if ((w->http = evhttp_new(w->base)) == NULL)
		rc_fatalx("worker: evhttp_new");
	evhttp_set_bevcb(w->http, https_bev, w);
	evhttp_set_gencb(w->http, https_request, w);
	evhttp_set_max_headers_size(w->http, HTTP_MAX_HEADERS_SIZE);
	evhttp_set_max_body_size(w->http, (ev_ssize_t)cfg->max_body);
	evhttp_set_timeout_tv(w->http, &w->ws->timeout);
	evhttp_set_allowed_methods(w->http,
	    EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
	        EVHTTP_REQ_POST | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH);
	/*
	 * Read the rest of an over-limit body before answering 413, so the
	 * client, still sending, gets the answer instead of a reset.
	 */
	evhttp_set_flags(w->http, EVHTTP_SERVER_LINGERING_CLOSE);
	w->hctx.router = w->ws->c.router;
	if (httpd_lane_init(&w->hctx, w->base) != RC_OK)
		rc_fatalx("worker: out of memory");
}

static void
worker_init(struct workers *ws, int id)
{
	struct worker *w = &ws->w[id];

	w->ws = ws;
	w->id = id;
	TAILQ_INIT(&w->conns);
	if ((w->base = event_base_new()) == NULL)
		rc_fatalx("worker: event_base_new");
	w->stop_ev = event_new(w->base, -1, 0, stop_cb, w);
	w->drain_ev = evtimer_new(w->base, drain_timeout, w);
	w->resume_ev = evtimer_new(w->base, accept_resume, w);
	if (w->stop_ev == NULL || w->drain_ev == NULL || w->resume_ev == NULL)
		rc_fatalx("worker: out of memory");
	mqttd_worker_init(w);
	worker_http(w);
	worker_listen(w);
}

struct workers *
workers_start(const struct workers_config *wc)
{
	sigset_t all, old;
	struct workers *ws;
	int i, e;

	if (conn_idx == -1) {
		conn_idx =
		    SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_ex_free);
		if (conn_idx == -1)
			rc_fatalx("SSL_get_ex_new_index");
	}
	SSL_CTX_set_info_callback(wc->https_ctx, tls_info);
	SSL_CTX_set_info_callback(wc->mqtt_ctx, tls_info);
	if ((ws = rc_calloc(1, sizeof(*ws))) == NULL ||
	    (ws->w = rc_calloc((size_t)wc->n, sizeof(*ws->w))) == NULL)
		rc_fatalx("workers: out of memory");
	ws->c = *wc;
	ws->n = wc->n;
	ws->timeout.tv_sec = (time_t)wc->cfg->request_timeout;
	for (i = 0; i < ws->n; i++)
		worker_init(ws, i);
	/* Signals go to the main thread's loop, never to a worker. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < ws->n; i++)
		if ((e = pthread_create(&ws->w[i].thread, NULL, worker_main,
		         &ws->w[i])) != 0)
			rc_fatalx("pthread_create: %s", strerror(e));
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	rc_log_info("%d workers running", ws->n);
	return ws;
}

void
workers_stop(struct workers *ws)
{
	int i;

	for (i = 0; i < ws->n; i++)
		event_active(ws->w[i].stop_ev, EV_TIMEOUT, 0);
	for (i = 0; i < ws->n; i++) {
		pthread_join(ws->w[i].thread, NULL);
		rc_free(ws->w[i].bound);
		rc_free(ws->w[i].mqtt);
	}
	rc_free(ws->w);
	rc_free(ws);
}
