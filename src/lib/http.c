/*
 * Request helpers over the listener's parsed request (http.h).  The path
 * and query are untrusted: percent-decoding is strict (RFC 3986 §2.1: '%'
 * must be followed by two hex digits), never produces NUL, and never turns
 * '+' into a space (that is form encoding, not URI encoding).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "rollcall/http.h"
#include "rollcall/mem.h"

const char *
rc_http_header(const struct rc_http_req *req, const char *name)
{
	size_t i;

	for (i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
rc_http_pct_decode(const char *in, size_t inlen, char *out, size_t outsize,
    size_t *outlen)
{
	size_t i, n = 0;
	int hi, lo;
	char c;

	*outlen = 0;
	for (i = 0; i < inlen; i++) {
		c = in[i];
		if (c == '\0')
			return RC_EPARSE;
		if (c == '%') {
			if (inlen - i < 3 || (hi = hexval(in[i + 1])) < 0 ||
			    (lo = hexval(in[i + 2])) < 0 || (hi | lo) == 0)
				return RC_EPARSE;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (n + 1 >= outsize)
			return RC_ETOOBIG;
		out[n++] = c;
	}
	if (outsize == 0)
		return RC_ETOOBIG;
	out[n] = '\0';
	*outlen = n;
	return RC_OK;
}

int
rc_http_query_param(const struct rc_http_req *req, const char *name, char *out,
    size_t outsize)
{
	const char *p, *amp, *eq;
	size_t namelen, n;

	if (outsize > 0)
		out[0] = '\0';
	if (req->query == NULL)
		return RC_ENOENT;
	namelen = strlen(name);
	for (p = req->query; *p != '\0'; p = amp + 1) {
		amp = strchr(p, '&');
		if (amp == NULL)
			amp = p + strlen(p);
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq != NULL && (size_t)(eq - p) == namelen &&
		    strncmp(p, name, namelen) == 0)
			return rc_http_pct_decode(eq + 1,
			    (size_t)(amp - eq - 1), out, outsize, &n);
		if (*amp == '\0')
			break;
	}
	return RC_ENOENT;
}

int
rc_http_path_split(const char *path, char *scratch, size_t scratchsize,
    const char **segs, size_t max, size_t *nsegs)
{
	const char *p, *slash;
	size_t used = 0, n;
	int rc;

	*nsegs = 0;
	if (path == NULL || path[0] != '/')
		return RC_EPARSE;
	for (p = path + 1;; p = slash + 1) {
		slash = strchr(p, '/');
		if (slash == NULL)
			slash = p + strlen(p);
		if (*nsegs == max)
			return RC_ETOOBIG;
		if (used >= scratchsize)
			return RC_ETOOBIG;
		rc = rc_http_pct_decode(p, (size_t)(slash - p), scratch + used,
		    scratchsize - used, &n);
		if (rc != RC_OK)
			return rc;
		if (memchr(scratch + used, '/', n) != NULL)
			return RC_EPARSE;
		segs[(*nsegs)++] = scratch + used;
		used += n + 1;
		if (*slash == '\0')
			break;
	}
	return RC_OK;
}

const char *
rc_http_if_match(const struct rc_http_req *req, char *buf, size_t bufsize)
{
	const char *v;
	size_t n;

	if ((v = rc_http_header(req, "If-Match")) == NULL)
		return NULL;
	while (*v == ' ' || *v == '\t')
		v++;
	n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	/* Weak validators (RFC 9110 §8.8.3) compare by their opaque tag. */
	if (n >= 2 && strncmp(v, "W/", 2) == 0) {
		v += 2;
		n -= 2;
	}
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v++;
		n -= 2;
	}
	/*
	 * The Azure SDKs send "*" with its quotes (reference §7) and the
	 * etag as they received it; curl users send both bare.  "*" means
	 * any etag; the store keeps etags quoted.
	 */
	if (n == 1 && v[0] == '*')
		snprintf(buf, bufsize, "*");
	else
		snprintf(buf, bufsize, "\"%.*s\"", (int)n, v);
	return buf;
}

int
rc_http_is_json(const char *ct)
{
	size_t n;

	while (*ct == ' ' || *ct == '\t')
		ct++;
	n = strcspn(ct, "; \t");
	if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
		return 1;
	return n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0;
}

void
rc_http_resp_init(struct rc_http_resp *resp, size_t maxbody)
{
	memset(resp, 0, sizeof(*resp));
	resp->status = 500;
	rc_wbuf_init(&resp->body, maxbody);
}

void
rc_http_resp_free(struct rc_http_resp *resp)
{
	size_t i;

	for (i = 0; i < resp->nheaders; i++) {
		rc_free(resp->headers[i][0]);
		rc_free(resp->headers[i][1]);
	}
	resp->nheaders = 0;
	rc_wbuf_free(&resp->body);
}

int
rc_http_resp_header(struct rc_http_resp *resp, const char *name,
    const char *value)
{
	char *v;
	size_t i;

	if ((v = rc_strdup(value)) == NULL)
		return RC_ENOMEM;
	for (i = 0; i < resp->nheaders; i++) {
		if (strcasecmp(resp->headers[i][0], name) != 0)
			continue;
		rc_free(resp->headers[i][1]);
		resp->headers[i][1] = v;
		return RC_OK;
	}
	if (resp->nheaders == RC_HTTP_MAX_RESP_HEADERS) {
		rc_free(v);
		return RC_ETOOBIG;
	}
	if ((resp->headers[i][0] = rc_strdup(name)) == NULL) {
		rc_free(v);
		return RC_ENOMEM;
	}
	resp->headers[i][1] = v;
	resp->nheaders++;
	return RC_OK;
}

static int
dump_cb(const char *buf, size_t size, void *arg)
{
	return rc_wbuf_append(arg, buf, size) == RC_OK ? 0 : -1;
}

int
rc_http_resp_json(struct rc_http_resp *resp, int status, json_t *j)
{
	int rc;

	rc_wbuf_reset(&resp->body);
	if (json_dump_callback(j, dump_cb, &resp->body, JSON_COMPACT) != 0)
		return RC_ETOOBIG;
	if ((rc = rc_http_resp_header(resp, "Content-Type",
	         "application/json; charset=utf-8")) != RC_OK)
		return rc;
	resp->status = status;
	return RC_OK;
}

void
rc_http_resp_status(struct rc_http_resp *resp, int status)
{
	rc_wbuf_reset(&resp->body);
	resp->status = status;
}

const char *
rc_http_method_name(enum rc_http_method m)
{
	switch (m) {
	case RC_HTTP_GET:
		return "GET";
	case RC_HTTP_HEAD:
		return "HEAD";
	case RC_HTTP_PUT:
		return "PUT";
	case RC_HTTP_POST:
		return "POST";
	case RC_HTTP_DELETE:
		return "DELETE";
	case RC_HTTP_PATCH:
		return "PATCH";
	default:
		return "OTHER";
	}
}

const char *
rc_http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	default:
		return "Unknown";
	}
}
