/*
 * The seam between libevent's evhttp and the roles (http.h): turns a
 * fully read evhttp_request into a struct rc_http_req, routes it, and
 * writes the struct rc_http_resp back.
 *
 * By the time a request gets here evhttp has enforced the limits: header
 * block at most HTTP_MAX_HEADERS_SIZE, body at most max-body (413
 * otherwise, answered by evhttp itself), an allowed method, a parseable
 * request line and URI.  What remains to bound here is the header count
 * (RC_HTTP_MAX_HEADERS) and the response size.
 *
 * evhttp adds Content-Length, Date and (keep-alive permitting) leaves the
 * connection open for the next request.
 *
 * Every refusal carries the service API's JSON error body
 * (docs/api.md "Errors"), including the ones evhttp answers itself (see
 * httpd_own_answer).
 */
#include <sys/queue.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "daemon.h"
#include "rollcall/enc.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"

/* Largest response body a role may produce (query pages, bulk results). */
#define RESP_MAX_BODY (16u * 1024 * 1024)

static enum rc_http_method
method_of(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET:
		return RC_HTTP_GET;
	case EVHTTP_REQ_HEAD:
		return RC_HTTP_HEAD;
	case EVHTTP_REQ_PUT:
		return RC_HTTP_PUT;
	case EVHTTP_REQ_POST:
		return RC_HTTP_POST;
	case EVHTTP_REQ_DELETE:
		return RC_HTTP_DELETE;
	case EVHTTP_REQ_PATCH:
		return RC_HTTP_PATCH;
	default:
		return RC_HTTP_OTHER;
	}
}

static void
send_plain(struct evhttp_request *req, int status, const char *reason,
    int draining)
{
	if (draining)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Connection", "close");
	evhttp_send_reply(req, status, reason, NULL);
}

/* Fills r from req; 0, or the HTTP status to answer with. */
static int
fill_req(struct evhttp_request *req, struct rc_http_req *r)
{
	const struct evhttp_uri *uri;
	struct evkeyvalq *hdrs;
	struct evkeyval *kv;
	struct evbuffer *in;
	size_t len;

	uri = evhttp_request_get_evhttp_uri(req);
	r->method = method_of(evhttp_request_get_command(req));
	r->path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	if (r->path == NULL || r->path[0] == '\0')
		r->path = "/";
	if (r->path[0] != '/')
		return 400; /* "*" or an authority: not for us */
	r->query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	r->host = evhttp_request_get_host(req);
	hdrs = evhttp_request_get_input_headers(req);
	for (kv = hdrs->tqh_first; kv != NULL; kv = kv->next.tqe_next) {
		if (r->nheaders == RC_HTTP_MAX_HEADERS)
			return 431;
		r->headers[r->nheaders].name = kv->key;
		r->headers[r->nheaders++].value = kv->value;
	}
	in = evhttp_request_get_input_buffer(req);
	if ((len = evbuffer_get_length(in)) > 0) {
		if ((r->body = evbuffer_pullup(in, -1)) == NULL)
			return 500;
		r->body_len = len;
	}
	return 0;
}

static void
send_resp(struct evhttp_request *req, struct rc_http_resp *resp, int draining)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	size_t i;

	for (i = 0; i < resp->nheaders; i++) {
		if (evhttp_add_header(out, resp->headers[i][0],
		        resp->headers[i][1]) != 0) {
			rc_log_warnx("http: role produced a bad header %s",
			    resp->headers[i][0]);
			evhttp_clear_headers(out);
			send_plain(req, 500, "Internal Server Error", draining);
			return;
		}
	}
	if (resp->body.len > 0 &&
	    evbuffer_add(evhttp_request_get_output_buffer(req), resp->body.data,
	        resp->body.len) != 0) {
		evhttp_clear_headers(out);
		send_plain(req, 500, "Internal Server Error", draining);
		return;
	}
	send_plain(req, resp->status, rc_http_reason(resp->status), draining);
}

/* The path as a log line may show it: printable ASCII, bounded. */
static void
loggable(const char *in, char *out, size_t outsize)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < outsize; i++)
		out[i] = (in[i] > 0x20 && in[i] < 0x7f) ? in[i] : '?';
	out[i] = '\0';
}

/*
 * The lane for requests that may block (router_may_wait): a direct method
 * waits for the device's answer, and the device's MQTT session may live
 * on this very loop, so the request must not hold the loop while it
 * waits.  Each such request is copied (nothing of evhttp's is touched off
 * the loop), handled on a thread of its own, and its answer is queued
 * back to the loop, which sends it.
 *
 * evhttp keeps an unanswered request alive even when its client goes
 * away (libevent 2.1 detaches it from the connection; evhttp_send_reply
 * then frees it), so sending later is always safe.  At teardown the
 * worker answers what is still running with 503 and the thread, finding
 * the request gone, frees its own record.  The lane is shared by the
 * worker and its threads and freed by the last one to let go.
 */
#define LANE_MAX_THREADS 256

enum slow_state { SLOW_RUNNING, SLOW_DONE, SLOW_ORPHAN };

struct slow {
	struct httpd_lane *lane;
	struct evhttp_request *req; /* NULL once answered at teardown */
	enum slow_state state;
	struct rc_http_req r; /* deep copy, strings in mem */
	struct rc_http_resp resp;
	char *mem;
	TAILQ_ENTRY(slow) entry;
};

struct httpd_lane {
	pthread_mutex_t mu;
	int refs;
	const struct router *router;
	struct event *ready_ev; /* NULL after teardown */
	TAILQ_HEAD(, slow) slows; /* running, then done */
};

static atomic_int lane_threads;

static void
lane_unref(struct httpd_lane *l)
{
	int last;

	pthread_mutex_lock(&l->mu);
	last = --l->refs == 0;
	pthread_mutex_unlock(&l->mu);
	if (!last)
		return;
	pthread_mutex_destroy(&l->mu);
	rc_free(l);
}

static void
slow_free(struct slow *s)
{
	rc_http_resp_free(&s->resp);
	if (s->r.peer_chain != NULL)
		sk_X509_pop_free(s->r.peer_chain, X509_free);
	rc_free(s->mem);
	rc_free(s);
}

/* Appends str (with its NUL) at *p; returns the copy. */
static const char *
put_str(char **p, const char *str)
{
	size_t n;
	char *at = *p;

	if (str == NULL)
		return NULL;
	n = strlen(str) + 1;
	memcpy(at, str, n);
	*p += n;
	return at;
}

static size_t
str_size(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

/* A copy of r that owns everything it points to. */
static struct slow *
slow_new(const struct rc_http_req *r)
{
	struct slow *s;
	size_t i, size = r->body_len;
	char *p;

	size += str_size(r->path) + str_size(r->query) + str_size(r->host) +
	    str_size(r->peer);
	for (i = 0; i < r->nheaders; i++)
		size += str_size(r->headers[i].name) +
		    str_size(r->headers[i].value);
	if ((s = rc_calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->mem = rc_malloc(size + 1)) == NULL) {
		rc_free(s);
		return NULL;
	}
	if (r->peer_chain != NULL &&
	    (s->r.peer_chain = X509_chain_up_ref(r->peer_chain)) == NULL) {
		slow_free(s);
		return NULL;
	}
	p = s->mem;
	s->r.method = r->method;
	if (r->body_len > 0) {
		memcpy(p, r->body, r->body_len);
		s->r.body = (const uint8_t *)p;
		s->r.body_len = r->body_len;
		p += r->body_len;
	}
	s->r.path = put_str(&p, r->path);
	s->r.query = put_str(&p, r->query);
	s->r.host = put_str(&p, r->host);
	s->r.peer = put_str(&p, r->peer);
	for (i = 0; i < r->nheaders; i++) {
		s->r.headers[i].name = put_str(&p, r->headers[i].name);
		s->r.headers[i].value = put_str(&p, r->headers[i].value);
	}
	s->r.nheaders = r->nheaders;
	rc_http_resp_init(&s->resp, RESP_MAX_BODY);
	return s;
}

static void *
slow_main(void *arg)
{
	struct slow *s = arg;
	struct httpd_lane *l = s->lane;
	int orphan;

	router_handle(l->router, &s->r, &s->resp);
	pthread_mutex_lock(&l->mu);
	orphan = s->state == SLOW_ORPHAN;
	if (!orphan) {
		s->state = SLOW_DONE;
		event_active(l->ready_ev, EV_READ, 0);
	}
	pthread_mutex_unlock(&l->mu);
	if (orphan)
		slow_free(s);
	atomic_fetch_sub(&lane_threads, 1);
	lane_unref(l);
	return NULL;
}

static void
log_answer(const struct rc_http_req *r, int status)
{
	char shown[128];

	loggable(r->path, shown, sizeof(shown));
	rc_log_debug("%s: %s %s -> %d", r->peer, rc_http_method_name(r->method),
	    shown, status);
}

/* Worker thread: sends the answers the lane's threads have finished. */
static void
lane_ready(evutil_socket_t fd, short what, void *arg)
{
	struct httpd_ctx *hc = arg;
	struct httpd_lane *l = hc->lane;
	struct slow *s, *next;
	TAILQ_HEAD(, slow) done = TAILQ_HEAD_INITIALIZER(done);

	(void)fd;
	(void)what;
	pthread_mutex_lock(&l->mu);
	for (s = TAILQ_FIRST(&l->slows); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (s->state != SLOW_DONE)
			continue;
		TAILQ_REMOVE(&l->slows, s, entry);
		TAILQ_INSERT_TAIL(&done, s, entry);
	}
	pthread_mutex_unlock(&l->mu);
	while ((s = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, s, entry);
		log_answer(&s->r, s->resp.status);
		send_resp(s->req, &s->resp, hc->draining);
		slow_free(s);
	}
}

/* Hands r to a thread of the lane; 0, or the HTTP status to answer. */
static int
lane_start(struct httpd_ctx *hc, struct evhttp_request *req,
    const struct rc_http_req *r)
{
	struct httpd_lane *l = hc->lane;
	pthread_attr_t attr;
	pthread_t t;
	struct slow *s;
	int e;

	if (atomic_fetch_add(&lane_threads, 1) >= LANE_MAX_THREADS) {
		atomic_fetch_sub(&lane_threads, 1);
		rc_log_warnx("%s: %d requests already waiting, answering 503",
		    r->peer, LANE_MAX_THREADS);
		return 503;
	}
	if ((s = slow_new(r)) == NULL) {
		atomic_fetch_sub(&lane_threads, 1);
		return 503;
	}
	s->lane = l;
	s->req = req;
	pthread_mutex_lock(&l->mu);
	l->refs++;
	TAILQ_INSERT_TAIL(&l->slows, s, entry);
	pthread_mutex_unlock(&l->mu);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	e = pthread_create(&t, &attr, slow_main, s);
	pthread_attr_destroy(&attr);
	if (e == 0)
		return 0;
	rc_log_warnx("%s: cannot start a thread: %s", r->peer, strerror(e));
	pthread_mutex_lock(&l->mu);
	TAILQ_REMOVE(&l->slows, s, entry);
	l->refs--;
	pthread_mutex_unlock(&l->mu);
	slow_free(s);
	atomic_fetch_sub(&lane_threads, 1);
	return 503;
}

int
httpd_lane_init(struct httpd_ctx *hc, struct event_base *base)
{
	struct httpd_lane *l;

	if ((l = rc_calloc(1, sizeof(*l))) == NULL)
		return RC_ENOMEM;
	if ((l->ready_ev = event_new(base, -1, 0, lane_ready, hc)) == NULL) {
		rc_free(l);
		return RC_ENOMEM;
	}
	pthread_mutex_init(&l->mu, NULL);
	l->refs = 1;
	l->router = hc->router;
	TAILQ_INIT(&l->slows);
	hc->lane = l;
	return RC_OK;
}

void
httpd_lane_fini(struct httpd_ctx *hc)
{
	struct httpd_lane *l = hc->lane;
	struct slow *s;
	struct rc_http_resp busy;

	if (l == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	while ((s = TAILQ_FIRST(&l->slows)) != NULL) {
		TAILQ_REMOVE(&l->slows, s, entry);
		if (s->state == SLOW_DONE) {
			send_resp(s->req, &s->resp, 1);
			slow_free(s);
			continue;
		}
		rc_http_resp_init(&busy, RESP_MAX_BODY);
		router_error(l->router, &busy, 503);
		send_resp(s->req, &busy, 1);
		rc_http_resp_free(&busy);
		s->req = NULL;
		s->state = SLOW_ORPHAN;
	}
	event_free(l->ready_ev);
	l->ready_ev = NULL;
	pthread_mutex_unlock(&l->mu);
	hc->lane = NULL;
	lane_unref(l);
}

void
httpd_serve(struct evhttp_request *req, struct httpd_ctx *hc, SSL *ssl,
    const char *peer)
{
	struct rc_http_resp resp;
	struct rc_http_req r;
	char shown[128];
	int status;

	memset(&r, 0, sizeof(r));
	r.peer = peer;
	rc_http_resp_init(&resp, RESP_MAX_BODY);
	if ((status = fill_req(req, &r)) != 0) {
		loggable(evhttp_request_get_uri(req), shown, sizeof(shown));
		rc_log_debug("%s: %s: answered %d", peer, shown, status);
		router_error(hc->router, &resp, status);
		send_resp(req, &resp, hc->draining);
		rc_http_resp_free(&resp);
		return;
	}
	r.peer_chain = tls_peer_chain(ssl);
	if (hc->lane != NULL && router_may_wait(hc->router, &r)) {
		if ((status = lane_start(hc, req, &r)) == 0) {
			rc_http_resp_free(&resp);
			sk_X509_free(r.peer_chain);
			return;
		}
		router_error(hc->router, &resp, status);
	} else {
		router_handle(hc->router, &r, &resp);
	}
	log_answer(&r, resp.status);
	send_resp(req, &resp, hc->draining);
	rc_http_resp_free(&resp);
	sk_X509_free(r.peer_chain);
}

/*
 * evhttp (libevent 2.1) answers some requests itself, before any callback
 * of ours runs: 413 for a body over max-body, 400 for a request line or
 * header block it cannot read, 501 for a method it does not allow.  Its
 * answer is an HTML page, where a service API client expects the JSON
 * error body and x-ms-error-code (docs/api.md "Errors"); libevent 2.2's
 * evhttp_set_errorcb, made for this, is not in 2.1.  So worker.c hands us
 * the connection's output buffer while evhttp writes such an answer, and
 * once the whole answer is there (the header block, then Content-Length
 * bytes) it is replaced by ours, still "Connection: close": evhttp closes
 * the connection after it.  The bytes parsed here are evhttp's own.
 */
#define OWN_HEAD_MAX 2048

/* The status of "HTTP/1.x NNN ...", or -1. */
static int
own_status(const char *head)
{
	long long n;
	char digits[4];

	if (strncmp(head, "HTTP/1.", 7) != 0 || head[8] != ' ')
		return -1;
	memcpy(digits, head + 9, 3);
	digits[3] = '\0';
	if (head[12] != ' ' || rc_strtonum(digits, 100, 599, &n) != RC_OK)
		return -1;
	return (int)n;
}

/* The Content-Length of the header block head (0 if none), or -1. */
static long long
own_content_length(const char *head)
{
	const char *line, *v;
	long long n;
	char num[24];
	size_t len;

	for (line = strstr(head, "\r\n"); line != NULL;
	     line = strstr(line + 2, "\r\n")) {
		if (strncasecmp(line + 2, "Content-Length:", 15) != 0)
			continue;
		v = line + 2 + 15;
		v += strspn(v, " \t");
		len = strcspn(v, " \t\r");
		if (len == 0 || len >= sizeof(num))
			return -1;
		memcpy(num, v, len);
		num[len] = '\0';
		return rc_strtonum(num, 0, INT32_MAX, &n) == RC_OK ? n : -1;
	}
	return 0;
}

/* resp as an HTTP/1.1 answer that closes the connection. */
static int
own_write(const struct rc_http_resp *resp, struct evbuffer *out)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	size_t i;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
		return RC_EINVAL;
	if (evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", resp->status,
	        rc_http_reason(resp->status)) < 0)
		return RC_ENOMEM;
	for (i = 0; i < resp->nheaders; i++)
		if (evbuffer_add_printf(out, "%s: %s\r\n", resp->headers[i][0],
		        resp->headers[i][1]) < 0)
			return RC_ENOMEM;
	if (evbuffer_add_printf(out,
	        "Date: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
	        date, resp->body.len) < 0 ||
	    evbuffer_add(out, resp->body.data, resp->body.len) != 0)
		return RC_ENOMEM;
	return RC_OK;
}

void
httpd_own_answer(const struct httpd_ctx *hc, struct evbuffer *out)
{
	struct rc_http_resp resp;
	struct evbuffer_ptr end;
	char head[OWN_HEAD_MAX + 1];
	size_t headlen, total = evbuffer_get_length(out);
	long long clen;
	int status;

	end = evbuffer_search(out, "\r\n\r\n", 4, NULL);
	if (end.pos < 0 || (size_t)end.pos + 4 > OWN_HEAD_MAX)
		return;
	headlen = (size_t)end.pos + 4;
	if (evbuffer_copyout(out, head, headlen) != (ev_ssize_t)headlen)
		return;
	head[headlen] = '\0';
	/* 100 Continue is evhttp's too, and stays. */
	if ((status = own_status(head)) < 400 ||
	    (clen = own_content_length(head)) < 0 ||
	    total != headlen + (size_t)clen)
		return;
	rc_http_resp_init(&resp, RESP_MAX_BODY);
	router_error(hc->router, &resp, status);
	if (evbuffer_drain(out, total) != 0 || own_write(&resp, out) != RC_OK) {
		/* Nothing rather than half an answer; the connection closes. */
		rc_log_warnx("http: cannot replace evhttp's %d answer", status);
		evbuffer_drain(out, evbuffer_get_length(out));
	}
	rc_http_resp_free(&resp);
}
