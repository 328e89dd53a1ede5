/*
 * The hub service API: routing, rights, error bodies and the helpers the
 * resource handlers share (reference/azure-service-api.md §1, §4, §7;
 * docs/api.md "Hub service API" is the contract).
 *
 * Input: the listener's parsed request, all untrusted.  Invariants kept
 * here:
 * - The path is percent-decoded by rc_http_path_split (no NUL, no encoded
 *   '/'), at most 5 segments; resource names match case-insensitively,
 *   device and job IDs case-sensitively (§4.1).
 * - The right an operation needs is checked before its body is read.
 * - Every JSON answer carries Content-Type application/json (§1.3);
 *   errors carry {"Message":"ErrorCode:<Name>;<text>",
 *   "ExceptionMessage":...} and an iothub-errorcode header (§4.5), the
 *   only shape the SDK turns into a typed error.
 * - api-version is never looked at (§1.6).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/rand.h>

#include "rollcall/enc.h"
#include "rollcall/json.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"
#include "service_impl.h"

#define PATH_MAX_LEN 1024
#define TOKEN_MAX 1024

static void
free_fields(struct hub_service *hs)
{
	rc_free(hs->hub);
	rc_free(hs->host);
	rc_free(hs);
}

int
hub_service_new(const struct hub_service_config *cfg, struct rc_store *store,
    struct hub_service **out)
{
	struct hub_service *hs;
	int rc;

	*out = NULL;
	if (cfg == NULL || cfg->hub == NULL || cfg->host == NULL ||
	    cfg->cache == NULL || store == NULL)
		return RC_EINVAL;
	rc_json_init();
	if ((hs = rc_calloc(1, sizeof(*hs))) == NULL)
		return RC_ENOMEM;
	if ((hs->hub = rc_strdup(cfg->hub)) == NULL ||
	    (hs->host = rc_strdup(cfg->host)) == NULL) {
		free_fields(hs);
		return RC_ENOMEM;
	}
	hs->cache = cfg->cache;
	if (cfg->ops != NULL)
		hs->ops = *cfg->ops;
	hs->max_body =
	    cfg->max_body != 0 ? cfg->max_body : HUB_DEFAULT_MAX_BODY;
	hs->store = store;
	pthread_mutex_init(&hs->ev_mu, NULL);
	pthread_cond_init(&hs->ev_cv, NULL);
	pthread_mutex_init(&hs->job_mu, NULL);
	pthread_cond_init(&hs->job_cv, NULL);
	if ((rc = hub_jobs_start(hs)) != RC_OK) {
		hub_service_free(hs);
		return rc;
	}
	*out = hs;
	return RC_OK;
}

void
hub_service_free(struct hub_service *hs)
{
	if (hs == NULL)
		return;
	hub_jobs_stop(hs);
	pthread_mutex_destroy(&hs->ev_mu);
	pthread_cond_destroy(&hs->ev_cv);
	pthread_mutex_destroy(&hs->job_mu);
	pthread_cond_destroy(&hs->job_cv);
	free_fields(hs);
}

void
hub_service_events_notify(struct hub_service *hs)
{
	pthread_mutex_lock(&hs->ev_mu);
	hs->ev_gen++;
	pthread_cond_broadcast(&hs->ev_cv);
	pthread_mutex_unlock(&hs->ev_mu);
}

int
hub_connected(struct hub_service *hs, const char *device_id)
{
	if (hs->ops.connected == NULL)
		return 0;
	return hs->ops.connected(hs->ops.arg, device_id) != 0;
}

static void
iso_time(int64_t t, char out[21])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) != 20)
		snprintf(out, 21, "1970-01-01T00:00:00Z");
}

json_t *
hub_time_json(int64_t t)
{
	char buf[21];

	if (t <= 0)
		return json_string("0001-01-01T00:00:00Z");
	iso_time(t, buf);
	return json_string(buf);
}

static int
digits(const char *s, size_t n, int *out)
{
	size_t i;

	*out = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		*out = *out * 10 + (s[i] - '0');
	}
	return 1;
}

int
hub_time_parse(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, se;
	struct tm tm;
	size_t n;
	time_t t;

	*out = 0;
	n = strlen(s);
	if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || !digits(s, 4, &y) ||
	    !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
	    !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) ||
	    !digits(s + 17, 2, &se) || s[n - 1] != 'Z')
		return RC_EPARSE;
	/* Fractions of a second (the SDK's Date.toISOString) are dropped. */
	if (n > 20 && (s[19] != '.' || strspn(s + 20, "0123456789") != n - 21))
		return RC_EPARSE;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || se > 60)
		return RC_EPARSE;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	if ((t = timegm(&tm)) == (time_t)-1)
		return RC_EPARSE;
	*out = (int64_t)t;
	return RC_OK;
}

json_t *
hub_etag_json(const char *etag)
{
	size_t n = strlen(etag);

	if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"')
		return json_stringn(etag + 1, n - 2);
	return json_string(etag);
}

/* A version 4 UUID (RFC 9562 §5.4) for the tracking ID. */
static void
uuid4(char out[37])
{
	unsigned char b[16];
	char hex[33];
	size_t i;

	if (RAND_bytes(b, sizeof(b)) != 1)
		memset(b, 0, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	if (rc_hex_upper(b, sizeof(b), hex, sizeof(hex)) != RC_OK)
		memset(hex, '0', 32);
	for (i = 0; i < 32; i++)
		hex[i] = (char)tolower((unsigned char)hex[i]);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
	    hex + 16, hex + 20);
}

/* Messages quote IDs from the path; JSON strings must be UTF-8. */
static void
sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

static void
error_body(struct rc_http_resp *resp, int status, const char *code,
    const char *msg)
{
	char uuid[37], ts[21], m[HUB_MSG_MAX + 64], exc[96];
	json_t *j;

	uuid4(uuid);
	iso_time((int64_t)time(NULL), ts);
	/* §1.3: the SDK splits Message at ';' and reads after ErrorCode:. */
	snprintf(m, sizeof(m), "ErrorCode:%s;%s", code, msg);
	snprintf(exc, sizeof(exc), "Tracking ID:%s-TimeStamp:%s", uuid, ts);
	j = json_pack("{s:s, s:s}", "Message", m, "ExceptionMessage", exc);
	if (j == NULL || rc_http_resp_json(resp, status, j) != RC_OK ||
	    rc_http_resp_header(resp, "iothub-errorcode", code) != RC_OK)
		rc_http_resp_status(resp, 500);
	json_decref(j);
}

void
hub_service_unauthorized(struct rc_http_resp *resp, const char *message)
{
	char msg[HUB_MSG_MAX];

	snprintf(msg, sizeof(msg), "%s",
	    message != NULL ? message : "Unauthorized");
	sanitize(msg);
	error_body(resp, 401, HUB_E_UNAUTHORIZED, msg);
}

int
hub_err_set(struct hub_err *e, int rc, int status, const char *code,
    const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	sanitize(e->msg);
	return rc;
}

int
hub_err_store(struct hub_err *e, int rc, const char *id)
{
	switch (rc) {
	case RC_ENOENT:
		return hub_err_set(e, rc, 404, HUB_E_NO_DEVICE,
		    "Device %s not found", id);
	case RC_EEXIST:
		return hub_err_set(e, rc, 409, HUB_E_EXISTS,
		    "Device %s already exists", id);
	case RC_ESTALE:
		return hub_err_set(e, rc, 412, HUB_E_PRECONDITION,
		    "If-Match does not match the current etag of device %s",
		    id);
	case RC_EINVAL:
		return hub_err_set(e, rc, 400, HUB_E_ARGUMENT,
		    "the request for device %s is not valid", id);
	case RC_ETOOBIG:
		return hub_err_set(e, rc, 400, HUB_E_ARGUMENT,
		    "a twin section of device %s would grow too large", id);
	case RC_ENOMEM:
		return hub_err_set(e, rc, 500, HUB_E_INTERNAL, "out of memory");
	default:
		return hub_err_set(e, rc, 500, HUB_E_INTERNAL,
		    "store error on device %s: %s", id, rc_strerror(rc));
	}
}

void
hub_reply_err(struct hub_req *r, const struct hub_err *e)
{
	if (e->status >= 500)
		rc_log_warnx("hub %s: %s %s %s: %s", r->hs->hub,
		    r->http->peer != NULL ? r->http->peer : "-",
		    rc_http_method_name(r->http->method), r->http->path,
		    e->msg);
	error_body(r->resp, e->status, e->code, e->msg);
}

void
hub_reply_error(struct hub_req *r, int status, const char *code,
    const char *fmt, ...)
{
	struct hub_err e;
	va_list ap;

	e.status = status;
	e.code = code;
	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	sanitize(e.msg);
	hub_reply_err(r, &e);
}

void
hub_reply_json(struct hub_req *r, int status, json_t *j)
{
	if (j == NULL || rc_http_resp_json(r->resp, status, j) != RC_OK)
		hub_reply_error(r, 500, HUB_E_INTERNAL,
		    "the response could not be built");
}

void
hub_reply_etag(struct hub_req *r, json_t *j, const char *etag)
{
	if (etag != NULL && etag[0] != '\0' &&
	    rc_http_resp_header(r->resp, "ETag", etag) != RC_OK) {
		hub_reply_error(r, 500, HUB_E_INTERNAL, "out of memory");
		return;
	}
	hub_reply_json(r, 200, j);
}

void
hub_reply_method(struct hub_req *r, const char *allow)
{
	if (rc_http_resp_header(r->resp, "Allow", allow) != RC_OK) {
		hub_reply_error(r, 500, HUB_E_INTERNAL, "out of memory");
		return;
	}
	hub_reply_error(r, 405, HUB_E_METHOD, "%s is not allowed on %s",
	    rc_http_method_name(r->http->method), r->http->path);
}

int
hub_need(struct hub_req *r, unsigned any)
{
	char names[128];

	if ((r->who->rights & any) != 0)
		return 1;
	if (rc_rights_format(any, names, sizeof(names)) != RC_OK)
		snprintf(names, sizeof(names), "another right");
	hub_reply_error(r, 401, HUB_E_UNAUTHORIZED,
	    "policy '%s' lacks the right this operation needs (%s)",
	    r->who->policy != NULL ? r->who->policy : "", names);
	return 0;
}

int
hub_body_json(struct hub_req *r, json_t **out, struct hub_err *e)
{
	const struct rc_http_req *h = r->http;
	const char *ct;
	char why[160];
	json_t *j;
	int rc;

	*out = NULL;
	if (h->body_len > r->hs->max_body)
		return hub_err_set(e, RC_ETOOBIG, 413, HUB_E_TOO_LARGE,
		    "the body is larger than %zu bytes", r->hs->max_body);
	if (h->body_len == 0 || h->body == NULL)
		return RC_ENOENT;
	ct = rc_http_header(h, "Content-Type");
	if (ct != NULL && !rc_http_is_json(ct))
		return hub_err_set(e, RC_EPARSE, 415, HUB_E_MEDIA_TYPE,
		    "Content-Type must be application/json");
	rc = rc_json_parse((const char *)h->body, h->body_len, r->hs->max_body,
	    &j, why, sizeof(why));
	if (rc == RC_ENOMEM)
		return hub_err_set(e, rc, 500, HUB_E_INTERNAL, "out of memory");
	if (rc != RC_OK)
		return hub_err_set(e, RC_EPARSE, 400, HUB_E_ARGUMENT,
		    "malformed JSON: %s", why);
	*out = j;
	return RC_OK;
}

const char *
hub_if_match(const struct hub_req *r, char *buf, size_t bufsize)
{
	return rc_http_if_match(r->http, buf, bufsize);
}

void
hub_store_ctx(const struct hub_req *r, const char *if_match,
    struct rc_store_ctx *ctx)
{
	ctx->who = r->who->policy;
	ctx->if_match = if_match;
}

int
hub_page_in(struct hub_req *r, size_t *max, char **after, struct hub_err *e)
{
	const char *v;
	long long n;
	uint8_t *raw = NULL;
	size_t rawlen;

	*max = HUB_PAGE_DEFAULT;
	*after = NULL;
	if ((v = rc_http_header(r->http, "x-ms-max-item-count")) != NULL &&
	    *v != '\0') {
		if (rc_strtonum(v, 0, 1000000000, &n) != RC_OK)
			return hub_err_set(e, RC_EPARSE, 400, HUB_E_ARGUMENT,
			    "x-ms-max-item-count must be a number");
		if (n > 0)
			*max = n > HUB_PAGE_MAX ? HUB_PAGE_MAX : (size_t)n;
	}
	if ((v = rc_http_header(r->http, "x-ms-continuation")) == NULL ||
	    *v == '\0')
		return RC_OK;
	if (rc_b64_decode(v, strlen(v), TOKEN_MAX, &raw, &rawlen) != RC_OK ||
	    rawlen == 0 || memchr(raw, '\0', rawlen) != NULL) {
		rc_free(raw);
		return hub_err_set(e, RC_EPARSE, 400, HUB_E_ARGUMENT,
		    "x-ms-continuation is not a token of this server");
	}
	*after = rc_strndup((const char *)raw, rawlen);
	rc_free(raw);
	if (*after == NULL)
		return hub_err_set(e, RC_ENOMEM, 500, HUB_E_INTERNAL,
		    "out of memory");
	return RC_OK;
}

void
hub_page_reply(struct hub_req *r, json_t *items, const char *item_type,
    const char *next)
{
	char *tok = NULL;
	int rc;

	/* §4.4: x-ms-continuation only when more may follow. */
	if ((rc = rc_http_resp_header(r->resp, "x-ms-item-type", item_type)) ==
	        RC_OK &&
	    next != NULL &&
	    (rc = rc_b64_encode(next, strlen(next), &tok)) == RC_OK)
		rc = rc_http_resp_header(r->resp, "x-ms-continuation", tok);
	rc_free(tok);
	if (rc != RC_OK) {
		hub_reply_error(r, 500, HUB_E_INTERNAL,
		    "the response could not be built");
		return;
	}
	hub_reply_json(r, 200, items);
}

static const char *const resources[] = {"devices", "twins", "jobs", "events"};

static int
resource_of(const char *seg, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(resources) / sizeof(resources[0]); i++)
		if (strlen(resources[i]) == n &&
		    strncasecmp(seg, resources[i], n) == 0)
			return (int)i;
	return -1;
}

int
hub_service_path_match(const struct rc_http_req *req)
{
	const char *p;

	if (req->path == NULL || req->path[0] != '/')
		return 0;
	p = req->path + 1;
	return resource_of(p, strcspn(p, "/")) >= 0;
}

int
hub_service_match(const struct hub_service *hs, const struct rc_http_req *req)
{
	return req->host != NULL && strcasecmp(req->host, hs->host) == 0 &&
	    hub_service_path_match(req);
}

int
hub_service_may_wait(const struct rc_http_req *req)
{
	const char *segs[4];
	char scratch[PATH_MAX_LEN], wait[24];
	size_t n;

	if (req->path == NULL ||
	    rc_http_path_split(req->path, scratch, sizeof(scratch), segs, 4,
	        &n) != RC_OK)
		return 0;
	if (n > 1 && segs[n - 1][0] == '\0')
		n--;
	if (req->method == RC_HTTP_POST && n == 3 &&
	    strcasecmp(segs[0], "twins") == 0 &&
	    strcasecmp(segs[2], "methods") == 0)
		return 1;
	/* A malformed wait is refused at once, so it needs no thread. */
	return req->method == RC_HTTP_GET && n == 1 &&
	    strcasecmp(segs[0], "events") == 0 &&
	    rc_http_query_param(req, "wait", wait, sizeof(wait)) == RC_OK &&
	    strcmp(wait, "0") != 0;
}

static void
route(struct hub_req *r)
{
	const char *s0 = r->segs[0];

	switch (resource_of(s0, strlen(s0))) {
	case 0:
		if (r->nsegs == 2 && strcasecmp(r->segs[1], "query") == 0 &&
		    r->http->method == RC_HTTP_POST)
			hub_query(r);
		else
			hub_devices(r);
		break;
	case 1:
		if (r->nsegs == 3 && strcasecmp(r->segs[2], "methods") == 0)
			hub_methods(r, r->segs[1]);
		else
			hub_twins(r);
		break;
	case 2:
		hub_jobs(r);
		break;
	case 3:
		hub_events(r);
		break;
	default:
		hub_reply_error(r, 404, HUB_E_NOT_FOUND, "no such path");
		break;
	}
}

void
hub_service_handle(struct hub_service *hs, const struct rc_http_req *http,
    const struct rc_principal *who, struct rc_http_resp *resp)
{
	struct hub_req r;
	char scratch[PATH_MAX_LEN];
	int rc;

	if (who == NULL) {
		hub_service_unauthorized(resp, NULL);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.hs = hs;
	r.http = http;
	r.who = who;
	r.resp = resp;
	if (http->path == NULL || strlen(http->path) >= sizeof(scratch)) {
		hub_reply_error(&r, 404, HUB_E_NOT_FOUND, "no such path");
		return;
	}
	rc = rc_http_path_split(http->path, scratch, sizeof(scratch), r.segs,
	    sizeof(r.segs) / sizeof(r.segs[0]), &r.nsegs);
	if (rc == RC_EPARSE) {
		hub_reply_error(&r, 400, HUB_E_ARGUMENT,
		    "the path has a bad percent-encoding");
		return;
	}
	if (rc != RC_OK || r.nsegs == 0) {
		hub_reply_error(&r, 404, HUB_E_NOT_FOUND, "no such path");
		return;
	}
	if (r.nsegs > 1 && r.segs[r.nsegs - 1][0] == '\0')
		r.nsegs--;
	route(&r);
}
