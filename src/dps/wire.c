/*
 * DPS device wire intake and replies (dpswire.h; reference/
 * azure-device-wire.md §2-§5, §10).
 *
 * Formats read here, all from untrusted peers:
 *
 *	username  {scope}/registrations/{regid}/[?]k=v&k=v
 *	topic     $dps/registrations/{PUT/iotdps-register |
 *		  GET/iotdps-get-operationstatus}/?k=v&k=v
 *	path      /{scope}/registrations/{regid}/{register |
 *		  operations/{opid}}  ?api-version=V
 *	body      {"registrationId", "payload", "csr"}
 *
 * Invariants: every field is copied only after its length is checked
 * against its bound and its characters against its alphabet, so what
 * comes out is a NUL-terminated string of the documented alphabet; the
 * $rid is kept byte for byte because the reply must echo it (§2.4); a
 * parameter that decides something ($rid, operationId, api-version)
 * may appear once only; the CSR is decoded with a cap before any use.
 * Messages quote only values that already passed their alphabet check.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>

#include "dps/dps_impl.h"
#include "rollcall/buf.h"
#include "rollcall/dpswire.h"
#include "rollcall/enc.h"
#include "rollcall/json.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"
#include "rollcall/mqtt.h"

#define REGISTER_PATH "$dps/registrations/PUT/iotdps-register"
#define POLL_PATH "$dps/registrations/GET/iotdps-get-operationstatus"
#define REPLY_PREFIX "$dps/registrations/res/"
#define KEY_MAX 64
#define PATH_SCRATCH 1024
#define PATH_SEGS 6
#define RETRY_AFTER_MAX 3600

static int why_set(char *why, size_t whylen, int rc, const char *fmt, ...)
    RC_FMT(4, 5);

static int
why_set(char *why, size_t whylen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return rc;
}

static void
why_clear(char *why, size_t whylen)
{
	if (why != NULL && whylen > 0)
		why[0] = '\0';
}

/* ASCII only, whatever the locale. */
static int
alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

static int
all_of(const char *p, size_t n, int (*ok)(unsigned char))
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!ok((unsigned char)p[i]))
			return 0;
	return 1;
}

/* rollcalld's id-scope (config.c): 1..64 letters and digits. */
static int
scope_ok(const char *p, size_t n)
{
	return n > 0 && n <= RC_DPSWIRE_SCOPE_MAX && all_of(p, n, alnum);
}

/*
 * $rid: visible ASCII without the characters that would end the query
 * value (&), make the echo an invalid topic name (# +, MQTT 3.1.1
 * §4.7.1) or confuse node's "/res/(.*)/\?(.*)" match (/ ?).
 */
static int
rid_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '&' && c != '#' && c != '+' &&
	    c != '/' && c != '?';
}

static int
rid_ok(const char *p, size_t n)
{
	return n > 0 && n <= RC_DPSWIRE_RID_MAX && all_of(p, n, rid_char);
}

/* §2.2: operation IDs travel unencoded; ours are [A-Za-z0-9.-]. */
static int
opid_char(unsigned char c)
{
	return alnum(c) || c == '.' || c == '-';
}

static int
opid_ok(const char *p, size_t n)
{
	return n > 0 && n <= RC_DPSWIRE_OPID_MAX && all_of(p, n, opid_char);
}

static int
apiver_char(unsigned char c)
{
	return alnum(c) || c == '.' || c == '-' || c == '_';
}

static int
apiver_ok(const char *p, size_t n)
{
	return n > 0 && n <= RC_DPSWIRE_APIVER_MAX && all_of(p, n, apiver_char);
}

int
rc_dpswire_regid_valid(const char *s)
{
	return s != NULL && dps_id_valid(s, RC_DPSWIRE_REGID_MAX);
}

/* The registration ID p[0..n) into out, or a refusal saying why. */
static int
take_regid(const char *p, size_t n, char out[RC_DPSWIRE_REGID_MAX + 1],
    char *why, size_t whylen)
{
	if (n > RC_DPSWIRE_REGID_MAX)
		return why_set(why, whylen, RC_ETOOBIG,
		    "registration ID longer than %d characters",
		    RC_DPSWIRE_REGID_MAX);
	if (memchr(p, '\0', n) != NULL)
		goto bad;
	memcpy(out, p, n);
	out[n] = '\0';
	if (rc_dpswire_regid_valid(out))
		return RC_OK;
	out[0] = '\0';
bad:
	return why_set(why, whylen, RC_EPARSE,
	    "registration ID is not 1..%d of [A-Za-z0-9.-_:] ending in a "
	    "letter, digit or '-'",
	    RC_DPSWIRE_REGID_MAX);
}

static int
take_scope(const char *p, size_t n, char out[RC_DPSWIRE_SCOPE_MAX + 1],
    char *why, size_t whylen)
{
	if (!scope_ok(p, n))
		return why_set(why, whylen, RC_EPARSE,
		    "ID scope is not 1..%d letters and digits",
		    RC_DPSWIRE_SCOPE_MAX);
	memcpy(out, p, n);
	out[n] = '\0';
	return RC_OK;
}

/* Consumes the literal s from b; 1 if it was there. */
static int
eat(struct rc_buf *b, const char *s)
{
	size_t n = strlen(s);

	if (rc_buf_remaining(b) < n || memcmp(rc_buf_cur(b), s, n) != 0)
		return 0;
	return rc_buf_skip(b, n) == RC_OK;
}

/*
 * ClientVersion is only logged: control characters become '?' so that a
 * log line stays one line.
 */
static void
take_client_version(const char *v, size_t n, struct rc_dpswire_username *u)
{
	size_t i;

	memcpy(u->client_version, v, n + 1);
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			u->client_version[i] = '?';
}

/* The "k=v&k=v" of a username (§2.1); decoded by rc_mqtt_props. */
static int
username_params(const char *p, size_t n, struct rc_dpswire_username *u,
    char *why, size_t whylen)
{
	char key[KEY_MAX], val[RC_DPSWIRE_CLIENTVER_MAX + 1];
	struct rc_mqtt_props it;
	size_t kl, vl;
	int rc;

	rc_mqtt_props_init(&it, p, n);
	while ((rc = rc_mqtt_props_next(&it, key, sizeof(key), &kl, val,
	            sizeof(val), &vl)) == RC_OK) {
		if (strcmp(key, "ClientVersion") == 0) {
			take_client_version(val, vl, u);
			continue;
		}
		if (strcmp(key, "api-version") != 0)
			continue;
		if (u->api_version[0] != '\0')
			return why_set(why, whylen, RC_EPARSE,
			    "api-version given twice");
		if (!apiver_ok(val, vl))
			return why_set(why, whylen, RC_EPARSE,
			    "api-version is not 1..%d of [A-Za-z0-9.-_]",
			    RC_DPSWIRE_APIVER_MAX);
		memcpy(u->api_version, val, vl + 1);
	}
	if (rc == RC_ETOOBIG)
		return why_set(why, whylen, rc,
		    "a username parameter is too long, or there are too many");
	if (rc != RC_ENOENT)
		return why_set(why, whylen, RC_EPARSE,
		    "username parameters are not percent-encoded UTF-8");
	if (u->api_version[0] == '\0')
		return why_set(why, whylen, RC_EPARSE,
		    "username has no api-version");
	return RC_OK;
}

int
rc_dpswire_username(const char *p, size_t n, struct rc_dpswire_username *out,
    char *why, size_t whylen)
{
	const uint8_t *seg;
	struct rc_buf b;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	why_clear(why, whylen);
	if (p == NULL)
		return why_set(why, whylen, RC_EPARSE, "no username");
	rc_buf_init(&b, p, n);
	if (rc_buf_get0_until(&b, '/', &seg, &len) != RC_OK ||
	    !eat(&b, "registrations/"))
		return why_set(why, whylen, RC_EPARSE,
		    "username is not {idScope}/registrations/{registrationId}/"
		    "api-version=...");
	if ((rc = take_scope((const char *)seg, len, out->scope, why,
	         whylen)) != RC_OK)
		goto out;
	if (rc_buf_get0_until(&b, '/', &seg, &len) != RC_OK) {
		rc = why_set(why, whylen, RC_EPARSE,
		    "username has no '/' and parameters after the "
		    "registration ID");
		goto out;
	}
	if ((rc = take_regid((const char *)seg, len, out->registration_id, why,
	         whylen)) != RC_OK)
		goto out;
	/* §2.1: no '?' here; one is harmless, so it is let through. */
	(void)eat(&b, "?");
	rc = username_params((const char *)rc_buf_cur(&b), rc_buf_remaining(&b),
	    out, why, whylen);
out:
	if (rc != RC_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

/*
 * One "k=v" of a request topic's query: the key percent-decoded into key
 * (an undecodable or over-long key is no key we know: ""), the value
 * borrowed as it is.
 */
static void
split_pair(const uint8_t *p, size_t n, char key[KEY_MAX], const char **val,
    size_t *vallen)
{
	const uint8_t *eq = memchr(p, '=', n);
	size_t kl = eq != NULL ? (size_t)(eq - p) : n, dl;

	*val = eq != NULL ? (const char *)eq + 1 : "";
	*vallen = eq != NULL ? n - kl - 1 : 0;
	if (rc_http_pct_decode((const char *)p, kl, key, KEY_MAX, &dl) != RC_OK)
		key[0] = '\0';
}

/* Stores the value of $rid or operationId, once. */
static int
topic_param(const char *key, const char *v, size_t vl,
    struct rc_dpswire_topic *t, char *why, size_t whylen)
{
	if (strcmp(key, "$rid") == 0) {
		if (t->rid[0] != '\0')
			return why_set(why, whylen, RC_EPARSE,
			    "$rid given twice");
		if (vl > RC_DPSWIRE_RID_MAX)
			return why_set(why, whylen, RC_ETOOBIG,
			    "$rid longer than %d bytes", RC_DPSWIRE_RID_MAX);
		if (!rid_ok(v, vl))
			return why_set(why, whylen, RC_EPARSE,
			    "$rid is empty or not visible ASCII without "
			    "& # + / ?");
		memcpy(t->rid, v, vl);
		t->rid[vl] = '\0';
		return RC_OK;
	}
	if (strcmp(key, "operationId") != 0 || t->op != RC_DPSWIRE_POLL)
		return RC_OK;
	if (t->operation_id[0] != '\0')
		return why_set(why, whylen, RC_EPARSE,
		    "operationId given twice");
	if (vl > RC_DPSWIRE_OPID_MAX)
		return why_set(why, whylen, RC_ETOOBIG,
		    "operationId longer than %d bytes", RC_DPSWIRE_OPID_MAX);
	if (!opid_ok(v, vl))
		return why_set(why, whylen, RC_EPARSE,
		    "operationId is empty or not of [A-Za-z0-9.-]");
	memcpy(t->operation_id, v, vl);
	t->operation_id[vl] = '\0';
	return RC_OK;
}

static int
topic_query(const char *p, size_t n, struct rc_dpswire_topic *t, char *why,
    size_t whylen)
{
	const uint8_t *pair;
	char key[KEY_MAX];
	const char *v;
	struct rc_buf b;
	size_t len, vl;
	int rc;

	rc_buf_init(&b, p, n);
	while (rc_buf_remaining(&b) > 0) {
		if (rc_buf_get0_until(&b, '&', &pair, &len) != RC_OK) {
			len = rc_buf_remaining(&b);
			if (rc_buf_get0_bytes(&b, len, &pair) != RC_OK)
				return RC_EPARSE; /* cannot happen */
		}
		split_pair(pair, len, key, &v, &vl);
		if ((rc = topic_param(key, v, vl, t, why, whylen)) != RC_OK)
			return rc;
	}
	if (t->rid[0] == '\0')
		return why_set(why, whylen, RC_EPARSE, "topic has no $rid");
	if (t->op == RC_DPSWIRE_POLL && t->operation_id[0] == '\0')
		return why_set(why, whylen, RC_EPARSE,
		    "poll topic has no operationId");
	return RC_OK;
}

static int
path_is(const struct rc_mqtt_str *path, const char *s)
{
	return path->len == strlen(s) && memcmp(path->p, s, path->len) == 0;
}

int
rc_dpswire_topic(const char *p, size_t n, struct rc_dpswire_topic *out,
    char *why, size_t whylen)
{
	struct rc_mqtt_str topic = {p, n}, path, query;
	int rc;

	memset(out, 0, sizeof(*out));
	why_clear(why, whylen);
	if (p == NULL || rc_mqtt_topic_split(&topic, &path, &query) != RC_OK)
		return why_set(why, whylen, RC_ENOENT,
		    "not a DPS request topic");
	if (path_is(&path, REGISTER_PATH))
		out->op = RC_DPSWIRE_REGISTER;
	else if (path_is(&path, POLL_PATH))
		out->op = RC_DPSWIRE_POLL;
	else
		return why_set(why, whylen, RC_ENOENT,
		    "not a DPS request topic");
	if ((rc = topic_query(query.p, query.len, out, why, whylen)) != RC_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

int
rc_dpswire_reply_topic(int status, const char *rid, int retry_after, char *out,
    size_t outsize)
{
	int n;

	if (outsize > 0)
		out[0] = '\0';
	if (status < 200 || status > 599 || rid == NULL ||
	    !rid_ok(rid, strlen(rid)) || retry_after > RETRY_AFTER_MAX ||
	    (status == 202 && retry_after <= 0))
		return RC_EINVAL;
	if (retry_after > 0)
		n = snprintf(out, outsize,
		    REPLY_PREFIX "%d/?$rid=%s&retry-after=%d", status, rid,
		    retry_after);
	else
		n = snprintf(out, outsize, REPLY_PREFIX "%d/?$rid=%s", status,
		    rid);
	if (n < 0 || (size_t)n >= outsize) {
		if (outsize > 0)
			out[0] = '\0';
		return RC_ETOOBIG;
	}
	return RC_OK;
}

/* Which device request the path segments name; 0 if none. */
static int
http_route(const char **segs, size_t nsegs, enum rc_dpswire_op *op)
{
	if ((nsegs != 4 && nsegs != 5) ||
	    strcasecmp(segs[1], "registrations") != 0)
		return 0;
	if (nsegs == 4 && strcasecmp(segs[3], "register") == 0) {
		*op = RC_DPSWIRE_REGISTER;
		return 1;
	}
	if (nsegs == 5 && strcasecmp(segs[3], "operations") == 0) {
		*op = RC_DPSWIRE_POLL;
		return 1;
	}
	return 0;
}

static int
http_api_version(const struct rc_http_req *req, struct rc_dpswire_http *h,
    char *why, size_t whylen)
{
	char v[RC_DPSWIRE_APIVER_MAX + 2];
	int rc;

	rc = rc_http_query_param(req, "api-version", v, sizeof(v));
	if (rc == RC_ENOENT)
		return why_set(why, whylen, RC_EPARSE,
		    "the query has no api-version");
	if (rc != RC_OK || !apiver_ok(v, strlen(v)))
		return why_set(why, whylen, RC_EPARSE,
		    "api-version is not 1..%d of [A-Za-z0-9.-_]",
		    RC_DPSWIRE_APIVER_MAX);
	memcpy(h->api_version, v, strlen(v) + 1);
	return RC_OK;
}

static int
http_fields(const struct rc_http_req *req, const char **segs, size_t nsegs,
    struct rc_dpswire_http *h, char *why, size_t whylen)
{
	size_t n;
	int rc;

	if ((rc = take_scope(segs[0], strlen(segs[0]), h->scope, why,
	         whylen)) != RC_OK ||
	    (rc = take_regid(segs[2], strlen(segs[2]), h->registration_id, why,
	         whylen)) != RC_OK)
		return rc;
	if (nsegs == 5) {
		n = strlen(segs[4]);
		if (!opid_ok(segs[4], n))
			return why_set(why, whylen, RC_EPARSE,
			    "operation ID is not 1..%d of [A-Za-z0-9.-]",
			    RC_DPSWIRE_OPID_MAX);
		memcpy(h->operation_id, segs[4], n + 1);
	}
	return http_api_version(req, h, why, whylen);
}

int
rc_dpswire_http(const struct rc_http_req *req, struct rc_dpswire_http *out,
    char *why, size_t whylen)
{
	const char *segs[PATH_SEGS];
	char scratch[PATH_SCRATCH];
	enum rc_dpswire_op op;
	enum rc_http_method want;
	size_t nsegs;
	int rc;

	memset(out, 0, sizeof(*out));
	why_clear(why, whylen);
	if (req->path == NULL || req->path[0] != '/')
		return why_set(why, whylen, RC_ENOENT,
		    "not a device registration path");
	rc = rc_http_path_split(req->path, scratch, sizeof(scratch), segs,
	    PATH_SEGS, &nsegs);
	if (rc == RC_EPARSE)
		return why_set(why, whylen, RC_EPARSE,
		    "the path has a bad percent-encoding");
	if (rc != RC_OK || !http_route(segs, nsegs, &op))
		return why_set(why, whylen, RC_ENOENT,
		    "not a device registration path");
	want = op == RC_DPSWIRE_REGISTER ? RC_HTTP_PUT : RC_HTTP_GET;
	if (req->method != want)
		return why_set(why, whylen, RC_EUNSUPPORTED,
		    "use %s on this path", rc_http_method_name(want));
	out->op = op;
	if ((rc = http_fields(req, segs, nsegs, out, why, whylen)) != RC_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

static int
body_regid(json_t *j, const char *expect_id, struct rc_dpswire_register *r,
    char *why, size_t whylen)
{
	const char *s;
	int rc;

	if (rc_json_get_str(j, "registrationId", 0, &s) != RC_OK)
		return why_set(why, whylen, RC_EPARSE,
		    "registrationId must be a string");
	if (s == NULL && expect_id == NULL)
		return why_set(why, whylen, RC_EPARSE,
		    "the body has no registrationId");
	if (s == NULL)
		s = expect_id;
	if ((rc = take_regid(s, strlen(s), r->registration_id, why, whylen)) !=
	    RC_OK)
		return rc;
	if (expect_id != NULL && strcmp(r->registration_id, expect_id) != 0)
		return why_set(why, whylen, RC_EPARSE,
		    "registrationId '%s' is not the registration ID of the "
		    "request",
		    r->registration_id);
	return RC_OK;
}

/*
 * jansson's messages quote the input near the error ("near 'x'"): bytes
 * outside printable ASCII become '?', so the message can go into a JSON
 * reply and a log line as it is.
 */
static void
printable(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

/* §5: base64 DER PKCS#10, no PEM armour, decoded with a cap. */
static int
body_csr(json_t *j, struct rc_dpswire_register *r, char *why, size_t whylen)
{
	const char *s;
	int rc;

	if (rc_json_get_str(j, "csr", 0, &s) != RC_OK)
		return why_set(why, whylen, RC_EPARSE, "csr must be a string");
	if (s == NULL)
		return RC_OK;
	if (s[0] == '\0')
		return why_set(why, whylen, RC_EPARSE, "csr is empty");
	if (strstr(s, "-----") != NULL)
		return why_set(why, whylen, RC_EPARSE,
		    "csr must be base64 DER without PEM armour");
	rc = rc_b64_decode(s, strlen(s), RC_DPSWIRE_CSR_MAX, &r->csr,
	    &r->csr_len);
	if (rc == RC_ETOOBIG)
		return why_set(why, whylen, rc, "csr is over %d bytes",
		    RC_DPSWIRE_CSR_MAX);
	if (rc == RC_EPARSE)
		return why_set(why, whylen, rc, "csr is not base64");
	if (rc != RC_OK)
		return why_set(why, whylen, rc, "%s", rc_strerror(rc));
	/* X.690 §8.9: a CertificationRequest is a SEQUENCE. */
	if (r->csr_len < 2 || r->csr[0] != 0x30)
		return why_set(why, whylen, RC_EPARSE,
		    "csr is not a DER certification request");
	return RC_OK;
}

int
rc_dpswire_register_parse(const uint8_t *body, size_t len,
    const char *expect_id, struct rc_dpswire_register **out, char *why,
    size_t whylen)
{
	struct rc_dpswire_register *r = NULL;
	char err[128];
	json_t *j = NULL, *payload;
	int rc;

	*out = NULL;
	why_clear(why, whylen);
	if (body == NULL || len == 0)
		return why_set(why, whylen, RC_EPARSE, "the body is empty");
	if ((rc = rc_json_parse((const char *)body, len, RC_DPSWIRE_BODY_MAX,
	         &j, err, sizeof(err))) != RC_OK) {
		printable(err);
		rc = why_set(why, whylen, rc, "the body is not JSON: %s", err);
		goto out;
	}
	if (!json_is_object(j)) {
		rc = why_set(why, whylen, RC_EPARSE,
		    "the body must be a JSON object");
		goto out;
	}
	if ((r = rc_calloc(1, sizeof(*r))) == NULL) {
		rc = why_set(why, whylen, RC_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = body_regid(j, expect_id, r, why, whylen)) != RC_OK ||
	    (rc = body_csr(j, r, why, whylen)) != RC_OK)
		goto out;
	payload = json_object_get(j, "payload");
	if (payload != NULL && !json_is_null(payload))
		r->payload = json_incref(payload);
	*out = r;
	r = NULL;
out:
	rc_dpswire_register_free(r);
	json_decref(j);
	return rc;
}

void
rc_dpswire_register_free(struct rc_dpswire_register *r)
{
	if (r == NULL)
		return;
	json_decref(r->payload);
	rc_free(r->csr);
	rc_free(r);
}

static const char *
status_name(enum rc_dpswire_status s)
{
	switch (s) {
	case RC_DPSWIRE_ASSIGNING:
		return "assigning";
	case RC_DPSWIRE_ASSIGNED:
		return "assigned";
	case RC_DPSWIRE_FAILED:
		return "failed";
	default:
		return NULL;
	}
}

/* obj[key] = s unless s is NULL. */
static int
opt_str(json_t *obj, const char *key, const char *s)
{
	return s == NULL ? RC_OK : rc_json_set_str(obj, key, s);
}

/* obj[key] = the ISO 8601 time t unless t is 0. */
static int
opt_time(json_t *obj, const char *key, time_t t)
{
	char buf[21];

	if (t == 0)
		return RC_OK;
	dps_time_iso((int64_t)t, buf);
	return rc_json_set_str(obj, key, buf);
}

static int
cert_info_json(const struct rc_dpswire_cert_info *c, json_t **out)
{
	json_t *o;
	int rc;

	*out = NULL;
	if ((o = json_object()) == NULL)
		return RC_ENOMEM;
	if ((rc = opt_str(o, "subjectName", c->subject_name)) != RC_OK ||
	    (rc = opt_str(o, "sha1Thumbprint", c->sha1_thumbprint)) != RC_OK ||
	    (rc = opt_str(o, "sha256Thumbprint", c->sha256_thumbprint)) !=
	        RC_OK ||
	    (rc = opt_str(o, "issuerName", c->issuer_name)) != RC_OK ||
	    (rc = opt_time(o, "notBeforeUtc", c->not_before)) != RC_OK ||
	    (rc = opt_time(o, "notAfterUtc", c->not_after)) != RC_OK ||
	    (rc = opt_str(o, "serialNumber", c->serial_number)) != RC_OK ||
	    (c->version != 0 &&
	        (rc = rc_json_set_int(o, "version", c->version)) != RC_OK)) {
		json_decref(o);
		return rc;
	}
	*out = o;
	return RC_OK;
}

/* x509: {certificateInfo?, enrollmentGroupId?}, {} at least (§4). */
static int
x509_json(const struct rc_dpswire_state *st, json_t **out)
{
	json_t *o, *ci;
	int rc = RC_OK;

	*out = NULL;
	if ((o = json_object()) == NULL)
		return RC_ENOMEM;
	if (st->cert != NULL &&
	    ((rc = cert_info_json(st->cert, &ci)) != RC_OK ||
	        (rc = rc_json_set0(o, "certificateInfo", ci)) != RC_OK))
		goto out;
	if ((rc = opt_str(o, "enrollmentGroupId", st->enrollment_group_id)) !=
	    RC_OK)
		goto out;
	*out = o;
	o = NULL;
out:
	json_decref(o);
	return rc;
}

static int
b64_char(unsigned char c)
{
	return alnum(c) || c == '+' || c == '/' || c == '=';
}

/* issuedCertificateChain (§5): base64 DER strings, leaf first. */
static int
chain_json(const char *const *chain, size_t n, json_t **out)
{
	json_t *a;
	size_t i;
	int rc = RC_OK;

	*out = NULL;
	if ((a = json_array()) == NULL)
		return RC_ENOMEM;
	for (i = 0; i < n; i++) {
		if (chain[i] == NULL || chain[i][0] == '\0' ||
		    !all_of(chain[i], strlen(chain[i]), b64_char)) {
			rc = RC_EINVAL;
			goto out;
		}
		if (json_array_append_new(a, json_string(chain[i])) != 0) {
			rc = RC_ENOMEM;
			goto out;
		}
	}
	*out = a;
	a = NULL;
out:
	json_decref(a);
	return rc;
}

/* The optional tail of registrationState: payload, chain, error. */
static int
state_tail(json_t *o, const struct rc_dpswire_state *st)
{
	json_t *chain;
	int rc;

	if (st->payload != NULL &&
	    (rc = rc_json_set0(o, "payload", json_incref(st->payload))) !=
	        RC_OK)
		return rc;
	if (st->nissued > 0 &&
	    ((rc = chain_json(st->issued_chain, st->nissued, &chain)) !=
	            RC_OK ||
	        (rc = rc_json_set0(o, "issuedCertificateChain", chain)) !=
	            RC_OK))
		return rc;
	if (st->error_code != 0 &&
	    (rc = rc_json_set_int(o, "errorCode", st->error_code)) != RC_OK)
		return rc;
	return opt_str(o, "errorMessage", st->error_message);
}

/* registrationState in the order of Azure's own replies (§4). */
static int
state_json(const struct rc_dpswire_state *st, const char *status, json_t **out)
{
	json_t *o, *x509;
	int rc;

	*out = NULL;
	if ((o = json_object()) == NULL)
		return RC_ENOMEM;
	if ((rc = x509_json(st, &x509)) != RC_OK ||
	    (rc = rc_json_set0(o, "x509", x509)) != RC_OK ||
	    (rc = opt_str(o, "registrationId", st->registration_id)) != RC_OK ||
	    (rc = opt_time(o, "createdDateTimeUtc", st->created)) != RC_OK ||
	    (rc = opt_str(o, "assignedHub", st->assigned_hub)) != RC_OK ||
	    (rc = opt_str(o, "deviceId", st->device_id)) != RC_OK ||
	    (rc = rc_json_set_str(o, "status", status)) != RC_OK ||
	    (rc = opt_str(o, "substatus", st->substatus)) != RC_OK ||
	    (rc = opt_time(o, "lastUpdatedDateTimeUtc", st->updated)) !=
	        RC_OK ||
	    (rc = opt_str(o, "etag", st->etag)) != RC_OK ||
	    (rc = state_tail(o, st)) != RC_OK) {
		json_decref(o);
		return rc;
	}
	*out = o;
	return RC_OK;
}

static int
nonempty(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* What each SDK needs in a reply of this status (§2.4). */
static int
op_complete(const char *operation_id, enum rc_dpswire_status status,
    const struct rc_dpswire_state *st)
{
	if (!nonempty(operation_id) || status_name(status) == NULL)
		return 0;
	if (status == RC_DPSWIRE_ASSIGNED)
		return st != NULL && nonempty(st->assigned_hub) &&
		    nonempty(st->device_id);
	if (status == RC_DPSWIRE_FAILED)
		return st != NULL && st->error_code != 0;
	return 1;
}

int
rc_dpswire_op_json(const char *operation_id, enum rc_dpswire_status status,
    const struct rc_dpswire_state *st, json_t **out)
{
	json_t *o = NULL, *rs;
	int rc;

	*out = NULL;
	if (!op_complete(operation_id, status, st))
		return RC_EINVAL;
	rc_json_init();
	if ((o = json_object()) == NULL)
		return RC_ENOMEM;
	if ((rc = rc_json_set_str(o, "operationId", operation_id)) != RC_OK ||
	    (rc = rc_json_set_str(o, "status", status_name(status))) != RC_OK)
		goto out;
	if (st != NULL &&
	    ((rc = state_json(st, status_name(status), &rs)) != RC_OK ||
	        (rc = rc_json_set0(o, "registrationState", rs)) != RC_OK))
		goto out;
	*out = o;
	o = NULL;
out:
	json_decref(o);
	return rc;
}

/* 16 random bytes as a version 4 UUID (RFC 9562 §5.4), lower case. */
static int
uuid4(char out[37])
{
	unsigned char b[16];
	char hex[33];
	size_t i;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return RC_ECRYPTO;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	if (rc_hex_upper(b, sizeof(b), hex, sizeof(hex)) != RC_OK)
		return RC_EINVAL;
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
	    hex + 16, hex + 20);
	for (i = 0; out[i] != '\0'; i++)
		if (out[i] >= 'A' && out[i] <= 'F')
			out[i] = (char)(out[i] - 'A' + 'a');
	return RC_OK;
}

int
rc_dpswire_error_json(int error_code, const char *message,
    const char *tracking_id, time_t now, json_t **out)
{
	char uuid[37], ts[21];
	json_t *o;
	int rc;

	*out = NULL;
	if (error_code < 100000 || error_code > 599999 || message == NULL)
		return RC_EINVAL;
	if (tracking_id == NULL) {
		if ((rc = uuid4(uuid)) != RC_OK)
			return rc;
		tracking_id = uuid;
	}
	dps_time_iso((int64_t)now, ts);
	rc_json_init();
	if ((o = json_object()) == NULL)
		return RC_ENOMEM;
	if ((rc = rc_json_set_int(o, "errorCode", error_code)) != RC_OK ||
	    (rc = rc_json_set_str(o, "trackingId", tracking_id)) != RC_OK ||
	    (rc = rc_json_set_str(o, "message", message)) != RC_OK ||
	    (rc = rc_json_set_str(o, "timestampUtc", ts)) != RC_OK) {
		json_decref(o);
		return rc;
	}
	*out = o;
	return RC_OK;
}

int
rc_dpswire_opid_new(char out[RC_DPSWIRE_OPID_SIZE])
{
	unsigned char b[8];
	char hex[17], uuid[37];
	size_t i;
	int rc;

	out[0] = '\0';
	if (RAND_bytes(b, sizeof(b)) != 1)
		return RC_ECRYPTO;
	if ((rc = uuid4(uuid)) != RC_OK)
		return rc;
	if (rc_hex_upper(b, sizeof(b), hex, sizeof(hex)) != RC_OK)
		return RC_EINVAL;
	for (i = 0; hex[i] != '\0'; i++)
		if (hex[i] >= 'A' && hex[i] <= 'F')
			hex[i] = (char)(hex[i] - 'A' + 'a');
	snprintf(out, RC_DPSWIRE_OPID_SIZE, "%s.%s", hex, uuid);
	return RC_OK;
}
