/*
 * The hub link client (hublink.h): the hub service API over libcurl.
 *
 * Inputs and the invariants enforced on them:
 * - the connection string (sas.h's parser, then: HostName is a DNS name
 *   or IPv4 literal of [A-Za-z0-9.-_] with an optional ":port" 1..65535;
 *   SharedAccessKeyName is required, since the hub checks the policy);
 * - connect_to "host:port" / "[v6]:port", checked the same way (an IPv6
 *   literal with inet_pton);
 * - responses: bodies are read into an rc_wbuf capped at
 *   RC_HUBLINK_MAX_BODY; a 2xx body must be a JSON object (strict parse);
 *   a Device answer must carry the fields rc_hublink_device_parse reads,
 *   each of bounded length; the message kept from an error body is the
 *   hub's "Message" ("ErrorCode:Name;text", reference/azure-service-api.md
 *   §4.5) cut to the status buffer with non-printable bytes as '?'.
 *
 * Each call makes its own curl easy handle, so a link can be shared by
 * threads without a lock (CURLOPT_NOSIGNAL: the process must ignore
 * SIGPIPE, as rollcalld does).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "rollcall/buf.h"
#include "rollcall/enc.h"
#include "rollcall/hublink.h"
#include "rollcall/json.h"
#include "rollcall/mem.h"
#include "rollcall/sas.h"

/* A device put retries: create, update, create again after a race. */
#define PUT_TRIES 3
/* Idle handles (kept connections) per link. */
#define POOL_MAX 8

struct rc_hublink {
	char *host; /* HostName without the port: sr and assignedHub */
	char *base; /* https://host[:port] */
	char *connect_to; /* "::addr:port" for CURLOPT_CONNECT_TO, or NULL */
	char *key_name;
	uint8_t *key;
	size_t keylen;
	char *cafile;
	long timeout;
	int curl_ready;
	/*
	 * Idle curl handles, each keeping its connection to the hub open: a
	 * registration makes two or three calls, and a TLS handshake per call
	 * was most of its cost (docs/performance.md).
	 */
	pthread_mutex_t pool_mu;
	CURL *pool[POOL_MAX];
	size_t npool;
};

/* One request as the calls describe it. */
struct hl_req {
	const char *method;
	const char *resource; /* "devices" or "twins" */
	const char *device_id;
	const char *suffix; /* "" or "/import" */
	json_t *body; /* NULL: none */
	const char *if_match; /* NULL: none */
};

static void
set_why(char *why, size_t whysize, const char *msg)
{
	if (why != NULL && whysize > 0)
		snprintf(why, whysize, "%s", msg);
}

static int
valid_name(const char *h, size_t n)
{
	size_t i;

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)h[i]) &&
		    strchr(".-_", h[i]) == NULL)
			return 0;
	return 1;
}

static int
valid_v6(const char *h, size_t n)
{
	unsigned char addr[16];
	char v6[INET6_ADDRSTRLEN];

	if (n == 0 || n >= sizeof(v6))
		return 0;
	memcpy(v6, h, n);
	v6[n] = '\0';
	return inet_pton(AF_INET6, v6, addr) == 1;
}

/* "NNN" within 1..65535, the whole string. */
static int
valid_port(const char *p)
{
	long long v;

	return rc_strtonum(p, 1, 65535, &v) == RC_OK;
}

/*
 * HostName: a name with an optional ":port".  *hostlen is the length of
 * the name, *port points at the port digits or is NULL.
 */
static int
split_hostname(const char *s, size_t *hostlen, const char **port)
{
	const char *colon = strchr(s, ':');

	*port = NULL;
	*hostlen = colon != NULL ? (size_t)(colon - s) : strlen(s);
	if (!valid_name(s, *hostlen))
		return RC_EPARSE;
	if (colon == NULL)
		return RC_OK;
	if (!valid_port(colon + 1))
		return RC_EPARSE;
	*port = colon + 1;
	return RC_OK;
}

/* connect_to: "name:port", "v4:port" or "[v6]:port". */
static int
check_connect_to(const char *s)
{
	const char *end, *colon;

	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':' ||
		    !valid_v6(s + 1, (size_t)(end - s - 1)))
			return RC_EPARSE;
		return valid_port(end + 2) ? RC_OK : RC_EPARSE;
	}
	if ((colon = strchr(s, ':')) == NULL ||
	    !valid_name(s, (size_t)(colon - s)) || !valid_port(colon + 1))
		return RC_EPARSE;
	return RC_OK;
}

/* Host, base URL and key from the connection string. */
static int
take_connstr(struct rc_hublink *hl, const struct rc_connstr *c, char *why,
    size_t whysize)
{
	const char *port;
	size_t n;
	int rc;

	if (c->key_name == NULL) {
		set_why(why, whysize,
		    "the connection string has no SharedAccessKeyName");
		return RC_EPARSE;
	}
	if (split_hostname(c->host, &n, &port) != RC_OK) {
		set_why(why, whysize, "HostName is not HOST or HOST:PORT");
		return RC_EPARSE;
	}
	if ((hl->host = rc_strndup(c->host, n)) == NULL ||
	    (hl->key_name = rc_strdup(c->key_name)) == NULL ||
	    (hl->base = rc_malloc(n + 16)) == NULL)
		return RC_ENOMEM;
	snprintf(hl->base, n + 16, "https://%s%s%s", hl->host,
	    port != NULL ? ":" : "", port != NULL ? port : "");
	if ((rc = rc_connstr_get1_key(c, &hl->key, &hl->keylen)) != RC_OK)
		return rc;
	return RC_OK;
}

static int
take_options(struct rc_hublink *hl, const char *connect_to, const char *ca_file,
    char *why, size_t whysize)
{
	size_t n;

	if (connect_to != NULL) {
		if (check_connect_to(connect_to) != RC_OK) {
			set_why(why, whysize,
			    "connect-to is not HOST:PORT or [IPv6]:PORT");
			return RC_EPARSE;
		}
		/* CURLOPT_CONNECT_TO: any host and port of the URL go there. */
		n = strlen(connect_to) + 3;
		if ((hl->connect_to = rc_malloc(n)) == NULL)
			return RC_ENOMEM;
		snprintf(hl->connect_to, n, "::%s", connect_to);
	}
	if (ca_file != NULL && (hl->cafile = rc_strdup(ca_file)) == NULL)
		return RC_ENOMEM;
	return RC_OK;
}

int
rc_hublink_parse(const char *connstr, const char *connect_to,
    const char *ca_file, struct rc_hublink **out, char *why, size_t whysize)
{
	struct rc_hublink *hl = NULL;
	struct rc_connstr c;
	int rc;

	*out = NULL;
	set_why(why, whysize, "");
	memset(&c, 0, sizeof(c));
	if (connstr == NULL)
		return RC_EINVAL;
	if ((rc = rc_connstr_parse(connstr, strlen(connstr), &c)) != RC_OK) {
		/* Never echo it: it holds the key. */
		set_why(why, whysize,
		    "the connection string is not HostName=..;"
		    "SharedAccessKeyName=..;SharedAccessKey=..");
		goto out;
	}
	rc = RC_ENOMEM;
	if ((hl = rc_calloc(1, sizeof(*hl))) == NULL)
		goto out;
	pthread_mutex_init(&hl->pool_mu, NULL);
	hl->timeout = RC_HUBLINK_TIMEOUT;
	if ((rc = take_connstr(hl, &c, why, whysize)) != RC_OK ||
	    (rc = take_options(hl, connect_to, ca_file, why, whysize)) != RC_OK)
		goto out;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		set_why(why, whysize, "libcurl does not initialize");
		rc = RC_EIO;
		goto out;
	}
	hl->curl_ready = 1;
	*out = hl;
	hl = NULL;
	rc = RC_OK;
out:
	if (rc == RC_ENOMEM)
		set_why(why, whysize, "out of memory");
	rc_connstr_clear(&c);
	rc_hublink_free(hl);
	return rc;
}

void
rc_hublink_free(struct rc_hublink *hl)
{
	if (hl == NULL)
		return;
	while (hl->npool > 0)
		curl_easy_cleanup(hl->pool[--hl->npool]);
	pthread_mutex_destroy(&hl->pool_mu);
	if (hl->curl_ready)
		curl_global_cleanup();
	rc_free_secret(hl->key, hl->keylen);
	rc_free(hl->host);
	rc_free(hl->base);
	rc_free(hl->connect_to);
	rc_free(hl->key_name);
	rc_free(hl->cafile);
	rc_free(hl);
}

const char *
rc_hublink_get0_host(const struct rc_hublink *hl)
{
	return hl->host;
}

int
rc_hublink_set_timeout(struct rc_hublink *hl, long seconds)
{
	if (seconds < 1 || seconds > 3600)
		return RC_EINVAL;
	hl->timeout = seconds;
	return RC_OK;
}

/* 1 if s is "" or 40 / 64 hex digits. */
static int
thumb_ok(const char *s, int may_be_empty)
{
	size_t n = strlen(s);

	if (n == 0)
		return may_be_empty;
	return (n == 40 || n == 64) && strspn(s, "0123456789abcdefABCDEF") == n;
}

int
rc_hublink_device_body(const char *device_id, const char *primary_thumb,
    const char *secondary_thumb, json_t **out)
{
	const char *sec = secondary_thumb != NULL ? secondary_thumb : "";
	json_t *j;

	*out = NULL;
	if (device_id == NULL || *device_id == '\0' || primary_thumb == NULL ||
	    !thumb_ok(primary_thumb, 0) || !thumb_ok(sec, 1))
		return RC_EINVAL;
	/* The identity docs/api.md shows: selfSigned, enabled, no reason. */
	j = json_pack("{s:s, s:s, s:n, s:{s:s, s:{s:s, s:o}}, s:{s:b}}",
	    "deviceId", device_id, "status", "enabled", "statusReason",
	    "authentication", "type", "selfSigned", "x509Thumbprint",
	    "primaryThumbprint", primary_thumb, "secondaryThumbprint",
	    *sec != '\0' ? json_string(sec) : json_null(), "capabilities",
	    "iotEdge", 0);
	if (j == NULL)
		return RC_ENOMEM;
	*out = j;
	return RC_OK;
}

/* Copies an optional string member (absent or null: "") into buf. */
static int
copy_member(json_t *obj, const char *key, char *buf, size_t size)
{
	const char *s;
	size_t n;
	int rc;

	buf[0] = '\0';
	if ((rc = rc_json_get_str(obj, key, 0, &s)) != RC_OK)
		return RC_EPARSE;
	if (s == NULL)
		return RC_OK;
	if ((n = strlen(s)) >= size)
		return RC_EPARSE;
	memcpy(buf, s, n + 1);
	return RC_OK;
}

/* Upper-cases a thumbprint in place; RC_EPARSE unless hex of 40 or 64. */
static int
thumb_norm(char *t)
{
	size_t i;

	if (!thumb_ok(t, 1))
		return RC_EPARSE;
	for (i = 0; t[i] != '\0'; i++)
		t[i] = (char)toupper((unsigned char)t[i]);
	return RC_OK;
}

int
rc_hublink_device_parse(json_t *j, struct rc_hublink_device *out)
{
	json_t *auth = NULL, *x5 = NULL;
	char status[16];
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(j) ||
	    copy_member(j, "deviceId", out->device_id,
	        sizeof(out->device_id)) != RC_OK ||
	    out->device_id[0] == '\0' ||
	    copy_member(j, "status", status, sizeof(status)) != RC_OK ||
	    copy_member(j, "etag", out->etag, sizeof(out->etag)) != RC_OK ||
	    copy_member(j, "generationId", out->generation_id,
	        sizeof(out->generation_id)) != RC_OK ||
	    rc_json_get_obj(j, "authentication", 0, &auth) != RC_OK)
		goto bad;
	if (auth != NULL &&
	    (copy_member(auth, "type", out->auth_type,
	         sizeof(out->auth_type)) != RC_OK ||
	        rc_json_get_obj(auth, "x509Thumbprint", 0, &x5) != RC_OK))
		goto bad;
	if (x5 != NULL &&
	    (copy_member(x5, "primaryThumbprint", out->primary_thumb,
	         sizeof(out->primary_thumb)) != RC_OK ||
	        copy_member(x5, "secondaryThumbprint", out->secondary_thumb,
	            sizeof(out->secondary_thumb)) != RC_OK ||
	        thumb_norm(out->primary_thumb) != RC_OK ||
	        thumb_norm(out->secondary_thumb) != RC_OK))
		goto bad;
	out->enabled = strcmp(status, "enabled") == 0;
	/* An etag may come quoted (the header form): keep the value. */
	if ((n = strlen(out->etag)) >= 2 && out->etag[0] == '"' &&
	    out->etag[n - 1] == '"') {
		memmove(out->etag, out->etag + 1, n - 2);
		out->etag[n - 2] = '\0';
	}
	return RC_OK;
bad:
	memset(out, 0, sizeof(*out));
	return RC_EPARSE;
}

/* Copies section key of src into dst when src has it as an object. */
static int
take_section(json_t *dst, json_t *src, const char *key, int *found)
{
	json_t *v = json_object_get(src, key);

	if (v == NULL || json_is_null(v))
		return RC_OK;
	if (!json_is_object(v))
		return RC_EINVAL;
	*found = 1;
	return json_object_set(dst, key, v) == 0 ? RC_OK : RC_ENOMEM;
}

int
rc_hublink_import_body(json_t *twin, json_t **out)
{
	json_t *body = NULL, *props = NULL, *src;
	int rc, found = 0;

	*out = NULL;
	if (!json_is_object(twin))
		return RC_EINVAL;
	src = json_object_get(twin, "properties");
	if (src != NULL && !json_is_null(src) && !json_is_object(src))
		return RC_EINVAL;
	rc = RC_ENOMEM;
	if ((body = json_object()) == NULL || (props = json_object()) == NULL)
		goto out;
	if ((rc = take_section(body, twin, "tags", &found)) != RC_OK ||
	    (rc = take_section(props, src, "desired", &found)) != RC_OK ||
	    (rc = take_section(props, src, "reported", &found)) != RC_OK)
		goto out;
	rc = RC_EINVAL;
	if (!found)
		goto out;
	rc = RC_ENOMEM;
	if (json_object_size(props) > 0 &&
	    json_object_set(body, "properties", props) != 0)
		goto out;
	*out = body;
	body = NULL;
	rc = RC_OK;
out:
	json_decref(props);
	json_decref(body);
	return rc;
}

/* What a response brought back while it arrived. */
struct sink {
	struct rc_wbuf body;
	int too_big;
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;

	if (rc_wbuf_append(&s->body, p, size * n) != RC_OK) {
		s->too_big = 1;
		return 0;
	}
	return size * n;
}

static int
add_header(struct curl_slist **list, const char *name, const char *value)
{
	struct curl_slist *l;
	struct rc_wbuf w;
	char *line = NULL;
	int rc;

	rc_wbuf_init(&w, RC_SAS_MAX + 256);
	if ((rc = rc_wbuf_printf(&w, "%s: %s", name, value)) != RC_OK ||
	    (rc = rc_wbuf_detach(&w, &line, NULL)) != RC_OK)
		goto out;
	if ((l = curl_slist_append(*list, line)) == NULL) {
		rc = RC_ENOMEM;
		goto out;
	}
	*list = l;
out:
	rc_wbuf_free(&w);
	rc_free(line);
	return rc;
}

/* Authorization (a fresh token), Accept, Content-Type, If-Match. */
static int
request_headers(const struct rc_hublink *hl, const struct hl_req *q,
    struct curl_slist **out)
{
	struct curl_slist *l = NULL;
	char *token = NULL;
	int rc;

	*out = NULL;
	if ((rc = rc_sas_token_new(hl->host, hl->key_name, hl->key, hl->keylen,
	         (uint64_t)time(NULL) + RC_HUBLINK_TOKEN_TTL, &token)) !=
	        RC_OK ||
	    (rc = add_header(&l, "Authorization", token)) != RC_OK ||
	    (rc = add_header(&l, "Accept", "application/json")) != RC_OK ||
	    (rc = add_header(&l, "Expect", "")) != RC_OK)
		goto out;
	if (q->body != NULL &&
	    (rc = add_header(&l, "Content-Type",
	         "application/json; charset=utf-8")) != RC_OK)
		goto out;
	if (q->if_match != NULL &&
	    (rc = add_header(&l, "If-Match", q->if_match)) != RC_OK)
		goto out;
	*out = l;
	l = NULL;
out:
	curl_slist_free_all(l);
	if (token != NULL)
		rc_free_secret(token, strlen(token));
	return rc;
}

/* base + "/" + resource + "/" + urlencode(id) + suffix + api-version. */
static int
request_url(const struct rc_hublink *hl, const struct hl_req *q, char **out)
{
	struct rc_wbuf w;
	char *enc = NULL;
	int rc;

	*out = NULL;
	rc_wbuf_init(&w, 8192);
	if ((rc = rc_sas_urlencode(q->device_id, strlen(q->device_id), &enc)) !=
	        RC_OK ||
	    (rc = rc_wbuf_printf(&w, "%s/%s/%s%s?api-version=%s", hl->base,
	         q->resource, enc, q->suffix, RC_HUBLINK_API_VERSION)) !=
	        RC_OK ||
	    (rc = rc_wbuf_detach(&w, out, NULL)) != RC_OK)
		goto out;
out:
	rc_free(enc);
	rc_wbuf_free(&w);
	return rc;
}

static void
setup(const struct rc_hublink *hl, CURL *c, const char *method, const char *url,
    struct curl_slist *hdrs, struct curl_slist *connect_to, const char *body,
    size_t len, struct sink *s)
{
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (hl->cafile != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, hl->cafile);
	if (connect_to != NULL)
		curl_easy_setopt(c, CURLOPT_CONNECT_TO, connect_to);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
	    hl->timeout < RC_HUBLINK_CONNECT_TIMEOUT
	        ? hl->timeout
	        : (long)RC_HUBLINK_CONNECT_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, hl->timeout);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "rollcall-hublink");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
}

/* The error a status stands for. */
static int
status_rc(long status)
{
	switch (status) {
	case 400:
		return RC_EINVAL;
	case 401:
	case 403:
		return RC_EAUTH;
	case 404:
		return RC_ENOENT;
	case 409:
		return RC_EEXIST;
	case 412:
		return RC_ESTALE;
	case 413:
		return RC_ETOOBIG;
	default:
		return RC_EIO;
	}
}

/* Copies n bytes of m into st->message after its current text, cleaned. */
static void
message_append(struct rc_hublink_status *st, const char *m, size_t n)
{
	size_t at = strlen(st->message), i;

	for (i = 0; i < n && m[i] != '\0' && at + 1 < sizeof(st->message);
	     i++) {
		unsigned char ch = (unsigned char)m[i];

		st->message[at++] = ch < 0x20 || ch >= 0x7f ? '?' : (char)ch;
	}
	st->message[at] = '\0';
}

/*
 * "<status>: <Name>: <text>" from a hub error body (§4.5), or the start of
 * any other body.
 */
static void
error_message(struct rc_hublink_status *st, long status, const char *body,
    size_t len)
{
	json_t *j = NULL;
	const char *m = NULL, *semi;

	snprintf(st->message, sizeof(st->message), "hub answered %ld", status);
	if (len == 0)
		return;
	if (rc_json_parse(body, len, len, &j, NULL, 0) == RC_OK)
		m = json_string_value(json_object_get(j, "Message"));
	message_append(st, ": ", 2);
	if (m != NULL && strncmp(m, "ErrorCode:", 10) == 0 &&
	    (semi = strchr(m, ';')) != NULL) {
		message_append(st, m + 10, (size_t)(semi - m - 10));
		message_append(st, ": ", 2);
		m = semi + 1;
	}
	if (m != NULL)
		message_append(st, m, strlen(m));
	else if (j == NULL)
		message_append(st, body, len);
	else
		message_append(st, "(no message)", 12);
	json_decref(j);
}

/* A 2xx: the body, if any, must be a JSON object. */
static int
success_body(struct sink *s, json_t **out, struct rc_hublink_status *st)
{
	char why[128];
	int rc;

	if (s->body.len == 0)
		return RC_OK;
	if ((rc = rc_json_parse((const char *)s->body.data, s->body.len,
	         RC_HUBLINK_MAX_BODY, out, why, sizeof(why))) != RC_OK ||
	    !json_is_object(*out)) {
		if (rc == RC_OK)
			snprintf(why, sizeof(why), "not an object");
		json_decref(*out);
		*out = NULL;
		snprintf(st->message, sizeof(st->message),
		    "hub answered malformed JSON: %s", why);
		return rc == RC_ENOMEM ? RC_ENOMEM : RC_EPARSE;
	}
	return RC_OK;
}

/* Runs the prepared handle and sorts out what came back. */
static int
perform(CURL *c, const struct hl_req *q, struct sink *s, json_t **out,
    struct rc_hublink_status *st)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode cc;

	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	if ((cc = curl_easy_perform(c)) != CURLE_OK) {
		if (s->too_big) {
			snprintf(st->message, sizeof(st->message),
			    "%s: the hub's answer is larger than %d bytes",
			    q->method, RC_HUBLINK_MAX_BODY);
			return RC_ETOOBIG;
		}
		snprintf(st->message, sizeof(st->message), "%s %s: ", q->method,
		    q->resource);
		if (errbuf[0] == '\0')
			snprintf(errbuf, sizeof(errbuf), "%s",
			    curl_easy_strerror(cc));
		message_append(st, errbuf, strlen(errbuf));
		return RC_EIO;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st->http_status);
	if (st->http_status < 200 || st->http_status > 299) {
		error_message(st, st->http_status, (const char *)s->body.data,
		    s->body.len);
		return status_rc(st->http_status);
	}
	return success_body(s, out, st);
}

/*
 * One request.  RC_OK for a 2xx, with *out the JSON object it carried (or
 * NULL for an empty body); else the mapped error with st filled.
 */
static CURL *
handle_get(struct rc_hublink *hl)
{
	CURL *c = NULL;

	pthread_mutex_lock(&hl->pool_mu);
	if (hl->npool > 0)
		c = hl->pool[--hl->npool];
	pthread_mutex_unlock(&hl->pool_mu);
	if (c == NULL)
		return curl_easy_init();
	curl_easy_reset(c); /* options go; the open connection stays */
	return c;
}

static void
handle_put(struct rc_hublink *hl, CURL *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&hl->pool_mu);
	if (hl->npool < POOL_MAX) {
		hl->pool[hl->npool++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&hl->pool_mu);
	curl_easy_cleanup(c);
}

static int
request(struct rc_hublink *hl, const struct hl_req *q, json_t **out,
    struct rc_hublink_status *st)
{
	struct curl_slist *hdrs = NULL, *cto = NULL;
	char *url = NULL, *text = NULL;
	struct sink s;
	size_t len = 0;
	CURL *c = NULL;
	int rc;

	*out = NULL;
	memset(st, 0, sizeof(*st));
	rc_wbuf_init(&s.body, RC_HUBLINK_MAX_BODY);
	s.too_big = 0;
	if ((rc = request_url(hl, q, &url)) != RC_OK ||
	    (q->body != NULL &&
	        (rc = rc_json_dump(q->body, 0, &text, &len)) != RC_OK) ||
	    (rc = request_headers(hl, q, &hdrs)) != RC_OK)
		goto out;
	rc = RC_ENOMEM;
	if ((hl->connect_to != NULL &&
	        (cto = curl_slist_append(NULL, hl->connect_to)) == NULL) ||
	    (c = handle_get(hl)) == NULL)
		goto out;
	setup(hl, c, q->method, url, hdrs, cto, text, len, &s);
	rc = perform(c, q, &s, out, st);
out:
	if (rc == RC_ENOMEM && st->message[0] == '\0')
		snprintf(st->message, sizeof(st->message), "out of memory");
	handle_put(hl, c);
	curl_slist_free_all(hdrs);
	curl_slist_free_all(cto);
	rc_free(url);
	rc_free(text);
	rc_wbuf_free(&s.body);
	return rc;
}

static int
id_ok(const char *device_id)
{
	return device_id != NULL && *device_id != '\0' &&
	    strlen(device_id) <= 128;
}

int
rc_hublink_device_get(struct rc_hublink *hl, const char *device_id,
    struct rc_hublink_device *out, struct rc_hublink_status *st)
{
	struct hl_req q = {"GET", "devices", device_id, "", NULL, NULL};
	struct rc_hublink_status local;
	json_t *j = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (st == NULL)
		st = &local;
	memset(st, 0, sizeof(*st));
	if (!id_ok(device_id))
		return RC_EINVAL;
	if ((rc = request(hl, &q, &j, st)) == RC_OK &&
	    (rc = rc_hublink_device_parse(j, out)) != RC_OK)
		snprintf(st->message, sizeof(st->message),
		    "the hub's answer is not a Device");
	json_decref(j);
	return rc;
}

/* One PUT of the identity; im is NULL (create) or "\"*\"" (update). */
static int
put_once(struct rc_hublink *hl, const char *device_id, json_t *body,
    const char *im, struct rc_hublink_device *out, struct rc_hublink_status *st)
{
	struct hl_req q = {"PUT", "devices", device_id, "", body, im};
	struct rc_hublink_device dummy;
	json_t *j = NULL;
	int rc;

	if ((rc = request(hl, &q, &j, st)) == RC_OK &&
	    (rc = rc_hublink_device_parse(j, out != NULL ? out : &dummy)) !=
	        RC_OK)
		snprintf(st->message, sizeof(st->message),
		    "the hub's answer is not a Device");
	json_decref(j);
	return rc;
}

int
rc_hublink_device_put(struct rc_hublink *hl, const char *device_id,
    const char *primary_thumb, const char *secondary_thumb,
    struct rc_hublink_device *out, int *created, struct rc_hublink_status *st)
{
	struct rc_hublink_status local;
	json_t *body = NULL;
	int rc, i, update = 0;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (created != NULL)
		*created = 0;
	if (st == NULL)
		st = &local;
	memset(st, 0, sizeof(*st));
	if (!id_ok(device_id))
		return RC_EINVAL;
	if ((rc = rc_hublink_device_body(device_id, primary_thumb,
	         secondary_thumb, &body)) != RC_OK)
		return rc;
	/*
	 * Create first: the common case of a first registration costs one
	 * request.  409 means it exists: update it (If-Match "*", what
	 * Registry.update sends, §4.1); 404 on the update means it went
	 * away in between: create again.
	 */
	for (i = 0; i < PUT_TRIES; i++) {
		rc = put_once(hl, device_id, body, update ? "\"*\"" : NULL, out,
		    st);
		if (rc == RC_OK || (rc != RC_EEXIST && rc != RC_ENOENT) ||
		    (rc == RC_EEXIST && update) || (rc == RC_ENOENT && !update))
			break;
		update = rc == RC_EEXIST;
	}
	if (i == PUT_TRIES)
		rc = RC_EIO;
	if (rc == RC_OK && created != NULL)
		*created = !update;
	json_decref(body);
	return rc;
}

int
rc_hublink_device_delete(struct rc_hublink *hl, const char *device_id,
    struct rc_hublink_status *st)
{
	struct hl_req q = {"DELETE", "devices", device_id, "", NULL, "\"*\""};
	struct rc_hublink_status local;
	json_t *j = NULL;
	int rc;

	if (st == NULL)
		st = &local;
	memset(st, 0, sizeof(*st));
	if (!id_ok(device_id))
		return RC_EINVAL;
	rc = request(hl, &q, &j, st);
	json_decref(j);
	return rc;
}

/* A twin call whose 2xx answer must be a twin of device_id. */
static int
twin_call(struct rc_hublink *hl, const struct hl_req *q, json_t **out,
    struct rc_hublink_status *st)
{
	json_t *j = NULL;
	const char *id;
	int rc;

	if ((rc = request(hl, q, &j, st)) != RC_OK)
		return rc;
	if ((id = json_string_value(json_object_get(j, "deviceId"))) == NULL ||
	    strcmp(id, q->device_id) != 0) {
		snprintf(st->message, sizeof(st->message),
		    "the hub's answer is not the device's twin");
		json_decref(j);
		return RC_EPARSE;
	}
	if (out != NULL)
		*out = j;
	else
		json_decref(j);
	return RC_OK;
}

int
rc_hublink_twin_get(struct rc_hublink *hl, const char *device_id, json_t **out,
    struct rc_hublink_status *st)
{
	struct hl_req q = {"GET", "twins", device_id, "", NULL, NULL};
	struct rc_hublink_status local;

	*out = NULL;
	if (st == NULL)
		st = &local;
	memset(st, 0, sizeof(*st));
	if (!id_ok(device_id))
		return RC_EINVAL;
	return twin_call(hl, &q, out, st);
}

int
rc_hublink_twin_patch(struct rc_hublink *hl, const char *device_id,
    json_t *tags, json_t *desired, json_t **out, struct rc_hublink_status *st)
{
	struct hl_req q = {"PATCH", "twins", device_id, "", NULL, NULL};
	struct rc_hublink_status local;
	json_t *body = NULL;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (st == NULL)
		st = &local;
	memset(st, 0, sizeof(*st));
	if (!id_ok(device_id) || (tags == NULL && desired == NULL) ||
	    (tags != NULL && !json_is_object(tags)) ||
	    (desired != NULL && !json_is_object(desired)))
		return RC_EINVAL;
	if ((body = json_object()) == NULL ||
	    (tags != NULL && json_object_set(body, "tags", tags) != 0) ||
	    (desired != NULL &&
	        json_object_set_new(body, "properties",
	            json_pack("{s:O}", "desired", desired)) != 0)) {
		json_decref(body);
		return RC_ENOMEM;
	}
	q.body = body;
	rc = twin_call(hl, &q, out, st);
	json_decref(body);
	return rc;
}

int
rc_hublink_twin_import(struct rc_hublink *hl, const char *device_id,
    json_t *twin, json_t **out, struct rc_hublink_status *st)
{
	struct hl_req q = {"PUT", "twins", device_id, "/import", NULL, NULL};
	struct rc_hublink_status local;
	json_t *body = NULL;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (st == NULL)
		st = &local;
	memset(st, 0, sizeof(*st));
	if (!id_ok(device_id))
		return RC_EINVAL;
	if ((rc = rc_hublink_import_body(twin, &body)) != RC_OK)
		return rc;
	q.body = body;
	rc = twin_call(hl, &q, out, st);
	json_decref(body);
	return rc;
}
