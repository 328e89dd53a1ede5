/*
 * The HTTP request and response as the roles see them.  The daemon's
 * listener (libevent evhttp over TLS) parses the wire and fills a struct
 * rc_http_req; a role's handler reads it and fills a struct rc_http_resp;
 * the listener writes that back.  Keeping handlers off libevent lets unit
 * tests and fuzz targets drive the whole request path in-process.
 *
 * Everything in a request is untrusted and borrowed for the duration of the
 * handler call.  Sizes are bounded by the listener before a handler runs
 * (header and body limits from the config).
 */
#ifndef ROLLCALL_HTTP_H
#define ROLLCALL_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "rollcall/buf.h"
#include "rollcall/err.h"

enum rc_http_method {
	RC_HTTP_GET,
	RC_HTTP_HEAD,
	RC_HTTP_PUT,
	RC_HTTP_POST,
	RC_HTTP_DELETE,
	RC_HTTP_PATCH,
	RC_HTTP_OTHER,
};

#define RC_HTTP_MAX_HEADERS 64
#define RC_HTTP_MAX_RESP_HEADERS 16

struct rc_http_header {
	const char *name;
	const char *value;
};

struct rc_http_req {
	enum rc_http_method method;
	const char *path; /* raw path, no query; starts with '/' */
	const char *query; /* raw query without '?', or NULL */
	const char *host; /* Host header without port, or NULL */
	const char *peer; /* "addr:port" of the client, for logs */
	struct rc_http_header headers[RC_HTTP_MAX_HEADERS];
	size_t nheaders;
	const uint8_t *body;
	size_t body_len;
	/*
	 * Verified client certificate chain (leaf first) when the listener
	 * asked for one and the peer sent it; NULL otherwise.  Borrowed.
	 */
	void *peer_chain; /* STACK_OF(X509) * */
};

struct rc_http_resp {
	int status;
	char *headers[RC_HTTP_MAX_RESP_HEADERS][2]; /* owned name, value */
	size_t nheaders;
	struct rc_wbuf body;
};

/* Case-insensitive header lookup; NULL if absent.  Borrowed. */
const char *rc_http_header(const struct rc_http_req *, const char *name);
/*
 * The value of query parameter name, percent-decoded into out (at most
 * outsize bytes with the NUL).  RC_ENOENT if absent, RC_ETOOBIG, RC_EPARSE.
 */
RC_MUST_CHECK int rc_http_query_param(const struct rc_http_req *,
    const char *name, char *out, size_t outsize);
/*
 * Splits the path into at most max percent-decoded segments, each copied
 * into the caller's scratch buffer (size scratchsize); empty segments are
 * kept (so "/a/" gives "a", "").  RC_ETOOBIG when there are more segments
 * or the scratch is too small; RC_EPARSE on a bad %XX or an encoded NUL or
 * '/'.
 */
RC_MUST_CHECK int rc_http_path_split(const char *path, char *scratch,
    size_t scratchsize, const char **segs, size_t max, size_t *nsegs);
/* Percent-decodes in place semantics; used by the two above. */
RC_MUST_CHECK int rc_http_pct_decode(const char *in, size_t inlen, char *out,
    size_t outsize, size_t *outlen);

/*
 * The If-Match precondition normalised for the store: NULL when absent,
 * "*" for any (quoted or bare), else the entity-tag quoted (a bare or
 * weak W/"x" value becomes "x" in quotes).  Written into buf.
 */
const char *rc_http_if_match(const struct rc_http_req *, char *buf,
    size_t bufsize);

/*
 * Whether a Content-Type value names JSON: application/json or any +json
 * type (RFC 6838 §4.2.8), parameters such as charset ignored.
 */
int rc_http_is_json(const char *content_type);

/* A response with an empty body capped at maxbody bytes. */
void rc_http_resp_init(struct rc_http_resp *, size_t maxbody);
void rc_http_resp_free(struct rc_http_resp *);
/* Adds a header (copied); replaces one of the same name. */
RC_MUST_CHECK int rc_http_resp_header(struct rc_http_resp *, const char *name,
    const char *value);
/*
 * Sets status and a JSON body (compact), with Content-Type
 * application/json; charset=utf-8.  Steals nothing: the caller keeps j.
 */
RC_MUST_CHECK int rc_http_resp_json(struct rc_http_resp *, int status,
    json_t *j);
/* Status and no body (e.g. 204). */
void rc_http_resp_status(struct rc_http_resp *, int status);

const char *rc_http_method_name(enum rc_http_method);
const char *rc_http_reason(int status);

#endif
