/*
 * Request routing: which role answers a request, decided by Host and by
 * the first path segment (issue 3 contract, "HTTP routing").
 *
 *  Host        one of the configured host names (hostname, hub lines),
 *              localhost, or an IP literal; anything else is 404, the
 *              same 404 as an unknown path, so a scan learns nothing
 *              about which names exist.
 *  /{idScope}/...            DPS device API (dps/device_api.c): no SAS,
 *                            the device is its TLS client certificate
 *  service paths of a role   SAS authentication, then the role's handler
 *  /devices /twins /jobs /events
 *                            hub service API of the hub whose host name is
 *                            the Host (the first hub's for localhost, an IP
 *                            literal or a DPS host name); 404 with a hub
 *                            body when the hub role does not run
 *  anything else             404
 *
 * The role handlers run on the worker thread that read the request.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "daemon.h"
#include "rollcall/log.h"

void
router_init(struct router *r, const struct config *cfg)
{
	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	r->now = time;
}

int
router_add_service(struct router *r, const struct role_service *s)
{
	if (r->nservices == ROUTER_MAX_SERVICES)
		return RC_ETOOBIG;
	r->services[r->nservices++] = *s;
	return RC_OK;
}

static int
is_ip_literal(const char *host)
{
	unsigned char a[16];
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(host);

	if (inet_pton(AF_INET, host, a) == 1)
		return 1;
	if (n < 3 || n - 2 >= sizeof(buf) || host[0] != '[' ||
	    host[n - 1] != ']')
		return inet_pton(AF_INET6, host, a) == 1;
	memcpy(buf, host + 1, n - 2);
	buf[n - 2] = '\0';
	return inet_pton(AF_INET6, buf, a) == 1;
}

int
router_host_ok(const struct config *cfg, const char *host)
{
	size_t i;

	if (host == NULL || *host == '\0')
		return 0;
	if (strcasecmp(host, "localhost") == 0 || is_ip_literal(host))
		return 1;
	for (i = 0; i < cfg->hostname.n; i++)
		if (strcasecmp(host, cfg->hostname.v[i]) == 0)
			return 1;
	for (i = 0; i < cfg->nhubs; i++)
		if (strcasecmp(host, cfg->hubs[i].host) == 0)
			return 1;
	return 0;
}

/* Does the path's first segment (raw, up to '/') equal word, any case? */
static int
first_segment_is(const char *path, const char *word)
{
	size_t n = strlen(word);

	if (path == NULL || path[0] != '/')
		return 0;
	return strncasecmp(path + 1, word, n) == 0 &&
	    (path[1 + n] == '/' || path[1 + n] == '\0');
}

static void
tracking_id(char *out, size_t outsize)
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		memset(b, 0, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* RFC 4122 §4.4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, outsize,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
	    b[11], b[12], b[13], b[14], b[15]);
}

static void
utc_now(const struct router *r, char *out, size_t outsize)
{
	time_t t = r->now(NULL);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, outsize, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outsize, "1970-01-01T00:00:00Z");
}

static void
send_json(struct rc_http_resp *resp, int status, json_t *j)
{
	if (j == NULL || rc_http_resp_json(resp, status, j) != RC_OK)
		rc_http_resp_status(resp, 500);
	json_decref(j);
}

/* A DPS-shaped error (reference/azure-service-api.md §2.1). */
static void
dps_error(const struct router *r, struct rc_http_resp *resp, int status,
    int code, const char *message)
{
	char tid[40], ts[32], codestr[16];

	tracking_id(tid, sizeof(tid));
	utc_now(r, ts, sizeof(ts));
	snprintf(codestr, sizeof(codestr), "%d", code);
	send_json(resp, status,
	    json_pack("{s:i, s:s, s:s, s:s}", "errorCode", code, "trackingId",
	        tid, "message", message, "timestampUtc", ts));
	if (resp->status == status &&
	    rc_http_resp_header(resp, "x-ms-error-code", codestr) != RC_OK)
		rc_http_resp_status(resp, 500);
}

/*
 * A hub-shaped error: the SDKs split Message at ';' and read the code
 * after "ErrorCode:" (reference/azure-service-api.md §1.3).
 */
static void
hub_error(const struct router *r, struct rc_http_resp *resp, int status,
    const char *code, const char *message)
{
	char tid[40], ts[32], msg[256], exc[128];

	tracking_id(tid, sizeof(tid));
	utc_now(r, ts, sizeof(ts));
	snprintf(msg, sizeof(msg), "ErrorCode:%s;%s", code, message);
	snprintf(exc, sizeof(exc), "Tracking ID:%s-TimeStamp:%s", tid, ts);
	send_json(resp, status,
	    json_pack("{s:s, s:s}", "Message", msg, "ExceptionMessage", exc));
	if (resp->status == status &&
	    rc_http_resp_header(resp, "iothub-errorcode", code) != RC_OK)
		rc_http_resp_status(resp, 500);
}

static void
not_found(const struct router *r, struct rc_http_resp *resp)
{
	dps_error(r, resp, 404, 404000, "Not found");
}

void
router_error(const struct router *r, struct rc_http_resp *resp, int status)
{
	char msg[128];
	int code;

	switch (status) {
	case 400:
		code = 400001;
		snprintf(msg, sizeof(msg),
		    "the request line or header block cannot be read");
		break;
	case 413:
		code = 413001;
		snprintf(msg, sizeof(msg),
		    "the body is larger than %lld bytes (max-body)",
		    r->cfg->max_body);
		break;
	case 431:
		code = 431001;
		snprintf(msg, sizeof(msg),
		    "the request has more than %d header fields",
		    RC_HTTP_MAX_HEADERS);
		break;
	case 501:
		code = 501000;
		snprintf(msg, sizeof(msg), "the method is not implemented");
		break;
	default:
		code = status * 1000;
		snprintf(msg, sizeof(msg), "%s", rc_http_reason(status));
		break;
	}
	dps_error(r, resp, status, code, msg);
}

static void
serve_service(const struct router *r, const struct role_service *s,
    const struct rc_http_req *req, struct rc_http_resp *resp)
{
	struct rc_principal who;

	if (auth_sas(req, s->policies, s->npolicies, r->cfg, r->now(NULL),
	        &who) != RC_OK) {
		s->unauthorized(resp, NULL);
		return;
	}
	s->handle(s->arg, req, &who, resp);
}

int
router_may_wait(const struct router *r, const struct rc_http_req *req)
{
	size_t i;

	if (!router_host_ok(r->cfg, req->host))
		return 0;
	for (i = 0; i < r->nservices; i++)
		if (r->services[i].match(r->services[i].arg, req))
			return r->services[i].may_wait != NULL &&
			    r->services[i].may_wait(r->services[i].arg, req);
	return 0;
}

void
router_handle(const struct router *r, const struct rc_http_req *req,
    struct rc_http_resp *resp)
{
	const struct config *cfg = r->cfg;
	size_t i;

	if (!router_host_ok(cfg, req->host)) {
		rc_log_debug("%s: unknown host, 404", req->peer);
		not_found(r, resp);
		return;
	}
	if ((cfg->roles_mask & ROLE_DPS) != 0 && cfg->id_scope != NULL &&
	    first_segment_is(req->path, cfg->id_scope)) {
		if (r->device != NULL)
			r->device(r->device_arg, req, resp);
		else
			dps_error(r, resp, 404, 404000, "Not found");
		return;
	}
	for (i = 0; i < r->nservices; i++) {
		if (r->services[i].match(r->services[i].arg, req)) {
			serve_service(r, &r->services[i], req, resp);
			return;
		}
	}
	if (first_segment_is(req->path, "devices") ||
	    first_segment_is(req->path, "twins") ||
	    first_segment_is(req->path, "jobs") ||
	    first_segment_is(req->path, "events")) {
		hub_error(r, resp, 404, "NotFound",
		    "No hub is served at this host name");
		return;
	}
	not_found(r, resp);
}
