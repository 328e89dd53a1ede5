/*
 * The DPS service API: routing, rights, error bodies and the helpers the
 * resource handlers share (reference/azure-service-api.md §1-2, §7;
 * docs/api.md is the contract).
 *
 * Input: the listener's parsed request (path, query, headers, body), all
 * untrusted.  Invariants kept here:
 * - The path is percent-decoded by rc_http_path_split (no NUL, no encoded
 *   '/'); at most 4 segments; the first one is matched case-insensitively
 *   (the Node SDK writes /enrollmentgroups/{id}/attestationmechanism), and
 *   one trailing empty segment is dropped ("/enrollments/" is the bulk
 *   path the SDK really uses, §2.1).
 * - The right an operation needs is checked before its body is read; a
 *   refused request changes nothing.
 * - Every JSON answer carries Content-Type application/json (the SDK
 *   parses a body only then, §1.3); errors carry the DPS error body and
 *   an x-ms-error-code header (§2.1).
 * - api-version is never looked at (§1.6).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/rand.h>

#include "dps_impl.h"
#include "rollcall/enc.h"
#include "rollcall/json.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"

/* Longest request path routed; IDs are at most 128 characters (§3.1). */
#define PATH_MAX_LEN 1024
#define TOKEN_MAX 1024

int
dps_new(const struct dps_config *cfg, struct rc_store *store, struct dps **out)
{
	struct dps *d;

	*out = NULL;
	if (cfg == NULL || cfg->id_scope == NULL || store == NULL)
		return RC_EINVAL;
	rc_json_init();
	if ((d = rc_calloc(1, sizeof(*d))) == NULL)
		return RC_ENOMEM;
	if ((d->id_scope = rc_strdup(cfg->id_scope)) == NULL) {
		rc_free(d);
		return RC_ENOMEM;
	}
	d->hostnames = cfg->hostnames;
	d->nhostnames = cfg->nhostnames;
	d->device_ca_dir = cfg->device_ca_dir;
	d->max_body = cfg->max_body != 0 ? cfg->max_body : DPS_DEFAULT_MAX_BODY;
	d->store = store;
	d->sign = cfg->sign;
	d->sign_arg = cfg->sign_arg;
	*out = d;
	return RC_OK;
}

void
dps_free(struct dps *d)
{
	if (d == NULL)
		return;
	rc_free(d->id_scope);
	rc_free(d);
}

void
dps_time_iso(int64_t t, char out[21])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) != 20)
		snprintf(out, 21, "1970-01-01T00:00:00Z");
}

json_t *
dps_time_json(int64_t t)
{
	char buf[21];

	dps_time_iso(t, buf);
	return json_string(buf);
}

/* n decimal digits at s, all of them digits. */
static int
digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 1;
}

int
dps_time_parse(const char *s, int64_t *out)
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
	/* Fractions of a second (JavaScript's toISOString) are dropped. */
	if (n > 20 &&
	    (s[19] != '.' || n == 21 || strspn(s + 20, "0123456789") != n - 21))
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

int
dps_query_int(struct dps_req *r, const char *name, long long dflt,
    long long min, long long max, long long *out)
{
	char v[32];
	int rc;

	*out = dflt;
	rc = rc_http_query_param(r->http, name, v, sizeof(v));
	if (rc == RC_ENOENT || (rc == RC_OK && v[0] == '\0'))
		return RC_OK;
	if (rc != RC_OK || rc_strtonum(v, min, max, out) != RC_OK) {
		dps_reply_error(r, 400, DPS_E_BAD_REQUEST,
		    "%s must be an integer from %lld to %lld", name, min, max);
		return RC_EPARSE;
	}
	return RC_OK;
}

/* A version 4 UUID (RFC 9562 §5.4) for trackingId. */
static void
uuid4(char out[37])
{
	unsigned char b[16];
	char hex[33];

	if (RAND_bytes(b, sizeof(b)) != 1)
		memset(b, 0, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	if (rc_hex_upper(b, sizeof(b), hex, sizeof(hex)) != RC_OK)
		memset(hex, '0', 32);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
	    hex + 16, hex + 20);
	for (; *out != '\0'; out++)
		*out = (char)tolower((unsigned char)*out);
}

/*
 * Messages may quote IDs from the path; those are arbitrary bytes, while
 * a JSON string must be UTF-8.  Anything outside printable ASCII becomes
 * '?'.
 */
static void
sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

static void
error_body(struct rc_http_resp *resp, int status, int code, const char *msg)
{
	char uuid[37], ts[21], codestr[16];
	json_t *j;

	uuid4(uuid);
	dps_time_iso((int64_t)time(NULL), ts);
	snprintf(codestr, sizeof(codestr), "%d", code);
	j = json_pack("{s:i, s:s, s:s, s:s}", "errorCode", code, "trackingId",
	    uuid, "message", msg, "timestampUtc", ts);
	if (j == NULL || rc_http_resp_json(resp, status, j) != RC_OK ||
	    rc_http_resp_header(resp, "x-ms-error-code", codestr) != RC_OK)
		rc_http_resp_status(resp, 500);
	json_decref(j);
}

void
dps_service_unauthorized(struct rc_http_resp *resp, const char *message)
{
	char msg[DPS_MSG_MAX];

	snprintf(msg, sizeof(msg), "%s",
	    message != NULL ? message : "Unauthorized");
	sanitize(msg);
	error_body(resp, 401, DPS_E_UNAUTHORIZED, msg);
}

int
dps_err_set(struct dps_err *e, int rc, int status, int code, const char *fmt,
    ...)
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
dps_err_store(struct dps_err *e, int rc, const char *what, const char *id,
    int notfound_code)
{
	switch (rc) {
	case RC_ENOENT:
		return dps_err_set(e, rc, 404, notfound_code,
		    "%s '%s' does not exist", what, id);
	case RC_ESTALE:
		return dps_err_set(e, rc, 412, DPS_E_ETAG,
		    "If-Match does not match the current etag of %s '%s'", what,
		    id);
	case RC_ENOMEM:
		return dps_err_set(e, rc, 500, DPS_E_INTERNAL, "out of memory");
	default:
		return dps_err_set(e, rc, 500, DPS_E_INTERNAL,
		    "store error on %s '%s': %s", what, id, rc_strerror(rc));
	}
}

void
dps_reply_err(struct dps_req *r, const struct dps_err *e)
{
	if (e->status >= 500)
		rc_log_warnx("%s: %s %s: %s",
		    r->http->peer != NULL ? r->http->peer : "-",
		    rc_http_method_name(r->http->method), r->http->path,
		    e->msg);
	error_body(r->resp, e->status, e->code, e->msg);
}

void
dps_reply_error(struct dps_req *r, int status, int code, const char *fmt, ...)
{
	struct dps_err e;
	va_list ap;

	e.status = status;
	e.code = code;
	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	sanitize(e.msg);
	dps_reply_err(r, &e);
}

void
dps_reply_json(struct dps_req *r, int status, json_t *j)
{
	if (j == NULL || rc_http_resp_json(r->resp, status, j) != RC_OK)
		dps_reply_error(r, 500, DPS_E_INTERNAL,
		    "the response could not be built");
}

void
dps_reply_etag(struct dps_req *r, json_t *j, const char *etag)
{
	/* The same value as the body's "etag" (store.h: quotes included). */
	if (etag != NULL && etag[0] != '\0' &&
	    rc_http_resp_header(r->resp, "ETag", etag) != RC_OK) {
		dps_reply_error(r, 500, DPS_E_INTERNAL, "out of memory");
		return;
	}
	dps_reply_json(r, 200, j);
}

void
dps_reply_status(struct dps_req *r, int status)
{
	rc_http_resp_status(r->resp, status);
}

void
dps_reply_method(struct dps_req *r, const char *allow)
{
	if (rc_http_resp_header(r->resp, "Allow", allow) != RC_OK) {
		dps_reply_error(r, 500, DPS_E_INTERNAL, "out of memory");
		return;
	}
	dps_reply_error(r, 405, DPS_E_METHOD, "%s is not allowed on %s",
	    rc_http_method_name(r->http->method), r->http->path);
}

int
dps_need(struct dps_req *r, unsigned any)
{
	char names[128];

	if ((r->who->rights & any) != 0)
		return 1;
	if (rc_rights_format(any, names, sizeof(names)) != RC_OK)
		snprintf(names, sizeof(names), "another right");
	dps_reply_error(r, 401, DPS_E_UNAUTHORIZED,
	    "policy '%s' lacks the right this operation needs (%s)",
	    r->who->policy != NULL ? r->who->policy : "", names);
	return 0;
}

int
dps_body_json(struct dps_req *r, json_t **out, struct dps_err *e)
{
	const struct rc_http_req *h = r->http;
	const char *ct;
	char why[160];
	json_t *j;
	int rc;

	*out = NULL;
	if (h->body_len > r->dps->max_body)
		return dps_err_set(e, RC_ETOOBIG, 413, DPS_E_TOO_LARGE,
		    "the body is larger than %zu bytes", r->dps->max_body);
	if (h->body_len == 0 || h->body == NULL)
		return RC_ENOENT;
	ct = rc_http_header(h, "Content-Type");
	if (ct != NULL && !rc_http_is_json(ct))
		return dps_err_set(e, RC_EPARSE, 415, DPS_E_MEDIA_TYPE,
		    "Content-Type must be application/json");
	rc = rc_json_parse((const char *)h->body, h->body_len, r->dps->max_body,
	    &j, why, sizeof(why));
	if (rc == RC_ENOMEM)
		return dps_err_set(e, rc, 500, DPS_E_INTERNAL, "out of memory");
	if (rc != RC_OK)
		return dps_err_set(e, RC_EPARSE, 400, DPS_E_BAD_BODY,
		    "malformed JSON: %s", why);
	if (!json_is_object(j)) {
		json_decref(j);
		return dps_err_set(e, RC_EPARSE, 400, DPS_E_BAD_BODY,
		    "the body must be a JSON object");
	}
	*out = j;
	return RC_OK;
}

int
dps_body_reason(struct dps_req *r, json_t **body, const char **reason,
    size_t max, struct dps_err *e)
{
	json_t *v;
	int rc;

	*reason = NULL;
	rc = dps_body_json(r, body, e);
	if (rc == RC_ENOENT)
		return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_BODY,
		    "the body must be {\"reason\": \"...\"}");
	if (rc != RC_OK)
		return rc;
	v = json_object_get(*body, "reason");
	/* jansson keeps an embedded NUL; the store takes C strings */
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_BODY,
		    "reason must be a string of 1 to %zu bytes", max);
	*reason = json_string_value(v);
	return RC_OK;
}

const char *
dps_if_match(const struct dps_req *r, char *buf, size_t bufsize)
{
	return rc_http_if_match(r->http, buf, bufsize);
}

void
dps_store_ctx(const struct dps_req *r, const char *if_match,
    struct rc_store_ctx *ctx)
{
	ctx->who = r->who->policy;
	ctx->if_match = if_match;
}

int
dps_page_in(struct dps_req *r, size_t *max, char **after, struct dps_err *e)
{
	const char *v;
	long long n;
	uint8_t *raw = NULL;
	size_t rawlen;

	*max = DPS_PAGE_DEFAULT;
	*after = NULL;
	if ((v = rc_http_header(r->http, "x-ms-max-item-count")) != NULL &&
	    *v != '\0') {
		if (rc_strtonum(v, 0, 1000000000, &n) != RC_OK)
			return dps_err_set(e, RC_EPARSE, 400, DPS_E_BAD_REQUEST,
			    "x-ms-max-item-count must be a number");
		if (n > 0)
			*max = n > DPS_PAGE_MAX ? DPS_PAGE_MAX : (size_t)n;
	}
	if ((v = rc_http_header(r->http, "x-ms-continuation")) == NULL ||
	    *v == '\0')
		return RC_OK;
	if (rc_b64_decode(v, strlen(v), TOKEN_MAX, &raw, &rawlen) != RC_OK ||
	    rawlen == 0 || memchr(raw, '\0', rawlen) != NULL) {
		rc_free(raw);
		return dps_err_set(e, RC_EPARSE, 400, DPS_E_BAD_REQUEST,
		    "x-ms-continuation is not a token of this server");
	}
	*after = rc_strndup((const char *)raw, rawlen);
	rc_free(raw);
	if (*after == NULL)
		return dps_err_set(e, RC_ENOMEM, 500, DPS_E_INTERNAL,
		    "out of memory");
	return RC_OK;
}

void
dps_page_reply(struct dps_req *r, json_t *items, const char *item_type,
    size_t max, const char *next)
{
	char num[24], *tok = NULL;
	int rc;

	snprintf(num, sizeof(num), "%zu", max);
	/* §2.1: the SDK pages on while the header is present at all. */
	if ((rc = rc_http_resp_header(r->resp, "x-ms-max-item-count", num)) ==
	        RC_OK &&
	    (rc = rc_http_resp_header(r->resp, "x-ms-item-type", item_type)) ==
	        RC_OK &&
	    next != NULL &&
	    (rc = rc_b64_encode(next, strlen(next), &tok)) == RC_OK)
		rc = rc_http_resp_header(r->resp, "x-ms-continuation", tok);
	rc_free(tok);
	if (rc != RC_OK) {
		dps_reply_error(r, 500, DPS_E_INTERNAL,
		    "the response could not be built");
		return;
	}
	dps_reply_json(r, 200, items);
}

/* "SELECT * FROM <word>": four words, any case and spacing. */
static int
select_all(const char *q)
{
	static const char *const want[] = {"select", "*", "from"};
	const char *w;
	size_t i, n;

	for (i = 0; i < 4; i++) {
		while (isspace((unsigned char)*q))
			q++;
		w = q;
		while (*q != '\0' && !isspace((unsigned char)*q))
			q++;
		n = (size_t)(q - w);
		if (n == 0)
			return 0;
		if (i < 3 &&
		    (n != strlen(want[i]) || strncasecmp(w, want[i], n) != 0))
			return 0;
	}
	while (isspace((unsigned char)*q))
		q++;
	return *q == '\0';
}

int
dps_query_check(struct dps_req *r, struct dps_err *e)
{
	json_t *body, *q;
	const char *s;
	int rc;

	rc = dps_body_json(r, &body, e);
	if (rc == RC_ENOENT)
		return RC_OK; /* swagger: the registrations query has no body */
	if (rc != RC_OK)
		return rc;
	q = json_object_get(body, "query");
	s = json_string_value(q);
	if (s == NULL)
		rc = dps_err_set(e, RC_EINVAL, 400, DPS_E_BAD_BODY,
		    "the body must be {\"query\": \"*\"}");
	else if (strcmp(s, "*") != 0 && !select_all(s))
		rc = dps_err_set(e, RC_EUNSUPPORTED, 400, DPS_E_BAD_BODY,
		    "only the query \"*\" (all items) is supported");
	json_decref(body);
	return rc;
}

/* ASCII only, whatever the locale. */
static int
alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

int
dps_id_valid(const char *id, size_t max)
{
	size_t i, n = strlen(id);
	unsigned char c;

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++) {
		c = (unsigned char)id[i];
		if (!alnum(c) && c != '-' && c != '.' && c != '_' && c != ':')
			return 0;
	}
	/* §3.1: the last character is alphanumeric or '-'. */
	c = (unsigned char)id[n - 1];
	return alnum(c) || c == '-';
}

int
dps_ca_name_valid(const char *name)
{
	size_t i, n = strlen(name);
	unsigned char c;

	if (n == 0 || n > DPS_CA_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		c = (unsigned char)name[i];
		if (!alnum(c) && c != '-' && c != '.' && c != '_')
			return 0;
	}
	return 1;
}

static const char *const resources[] = {
    "enrollments",
    "enrollmentGroups",
    "registrations",
    "certificates",
    "audit",
    "blocklist",
    "issued",
};

static int
resource_of(const char *seg)
{
	size_t i;

	for (i = 0; i < sizeof(resources) / sizeof(resources[0]); i++)
		if (strcasecmp(seg, resources[i]) == 0)
			return (int)i;
	return -1;
}

int
dps_service_match(const struct rc_http_req *req)
{
	const char *p, *slash;
	char first[32];
	size_t n;

	if (req->path == NULL || req->path[0] != '/')
		return 0;
	p = req->path + 1;
	slash = strchr(p, '/');
	n = slash != NULL ? (size_t)(slash - p) : strlen(p);
	if (n == 0 || n >= sizeof(first))
		return 0;
	memcpy(first, p, n);
	first[n] = '\0';
	return resource_of(first) >= 0;
}

void
dps_service_handle(struct dps *d, const struct rc_http_req *http,
    const struct rc_principal *who, struct rc_http_resp *resp)
{
	struct dps_req r;
	char scratch[PATH_MAX_LEN];
	int rc;

	if (who == NULL) {
		dps_service_unauthorized(resp, NULL);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.dps = d;
	r.http = http;
	r.who = who;
	r.resp = resp;
	if (http->path == NULL || strlen(http->path) >= sizeof(scratch)) {
		dps_reply_error(&r, 404, DPS_E_NOT_FOUND, "no such path");
		return;
	}
	rc = rc_http_path_split(http->path, scratch, sizeof(scratch), r.segs,
	    sizeof(r.segs) / sizeof(r.segs[0]), &r.nsegs);
	if (rc == RC_EPARSE) {
		dps_reply_error(&r, 400, DPS_E_BAD_REQUEST,
		    "the path has a bad percent-encoding");
		return;
	}
	if (rc != RC_OK || r.nsegs == 0) {
		dps_reply_error(&r, 404, DPS_E_NOT_FOUND, "no such path");
		return;
	}
	if (r.nsegs > 1 && r.segs[r.nsegs - 1][0] == '\0')
		r.nsegs--;
	switch (resource_of(r.segs[0])) {
	case 0:
		dps_enrollments(&r, RC_ENROLLMENT_INDIVIDUAL);
		break;
	case 1:
		dps_enrollments(&r, RC_ENROLLMENT_GROUP);
		break;
	case 2:
		dps_registrations(&r);
		break;
	case 3:
		dps_cacerts(&r);
		break;
	case 4:
		dps_audit(&r);
		break;
	case 5:
		dps_blocklist(&r);
		break;
	case 6:
		dps_issued(&r);
		break;
	default:
		dps_reply_error(&r, 404, DPS_E_NOT_FOUND, "no such path");
		break;
	}
}
