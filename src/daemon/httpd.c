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
 */
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "daemon.h"
#include "rollcall/log.h"

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
	if ((status = fill_req(req, &r)) != 0) {
		loggable(evhttp_request_get_uri(req), shown, sizeof(shown));
		rc_log_debug("%s: %s: answered %d", peer, shown, status);
		send_plain(req, status,
		    status == 431 ? "Request Header Fields Too Large"
		                  : rc_http_reason(status),
		    hc->draining);
		return;
	}
	r.peer_chain = tls_peer_chain(ssl);
	rc_http_resp_init(&resp, RESP_MAX_BODY);
	router_handle(hc->router, &r, &resp);
	loggable(r.path, shown, sizeof(shown));
	rc_log_debug("%s: %s %s -> %d", peer, rc_http_method_name(r.method),
	    shown, resp.status);
	send_resp(req, &resp, hc->draining);
	rc_http_resp_free(&resp);
	sk_X509_free(r.peer_chain);
}
