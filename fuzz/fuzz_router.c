/*
 * Fuzz target for rollcalld's router and SAS authentication
 * (src/daemon/router.c, auth.c): the input is "HOST\nPATH\nAUTHORIZATION"
 * (an empty HOST line means no Host header; a missing third line, no
 * Authorization).  The invariants: every request gets a status, a
 * refused call never reaches the handler, an error body is JSON.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "daemon.h"
#include "rollcall/log.h"

#define FIELD_MAX 4096
#define KEY "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

static struct config cfg;
static struct router router;
static struct rc_policy policy;
static char *hosts[] = {"dps.example.com"};
static int handled;

static int
match(void *arg, const struct rc_http_req *req)
{
	(void)arg;
	return strncmp(req->path, "/enrollments", 12) == 0;
}

static void
handle(void *arg, const struct rc_http_req *req, const struct rc_principal *who,
    struct rc_http_resp *resp)
{
	(void)arg;
	(void)req;
	if (who->policy == NULL)
		abort();
	handled = 1;
	rc_http_resp_status(resp, 204);
}

static void
unauthorized(struct rc_http_resp *resp, const char *message)
{
	(void)message;
	rc_http_resp_status(resp, 401);
}

static time_t
fixed_now(time_t *t)
{
	if (t != NULL)
		*t = 1800000000;
	return 1800000000;
}

static void
init(void)
{
	struct role_service svc;

	rc_log_init("fuzz_router", 1, 0);
	rc_log_setverbose(-1);
	if (rc_policy_set(&policy, "owner", "EnrollmentRead", KEY) != RC_OK)
		abort();
	cfg.hostname.v = hosts;
	cfg.hostname.n = 1;
	cfg.id_scope = "0ne0012ABCD";
	cfg.roles_mask = ROLE_DPS;
	router_init(&router, &cfg);
	router.now = fixed_now;
	memset(&svc, 0, sizeof(svc));
	svc.name = "fuzz";
	svc.match = match;
	svc.handle = handle;
	svc.unauthorized = unauthorized;
	svc.policies = &policy;
	svc.npolicies = 1;
	if (router_add_service(&router, &svc) != RC_OK)
		abort();
}

/* Copies the next '\n'-ended field (NULs cut it short); 0 if none left. */
static int
field(const uint8_t **p, const uint8_t *end, char *out, size_t outsize)
{
	size_t n = 0;

	if (*p >= end)
		return 0;
	while (*p < end && **p != '\n') {
		if (n + 1 < outsize && **p != '\0')
			out[n++] = (char)**p;
		(*p)++;
	}
	if (*p < end)
		(*p)++;
	out[n] = '\0';
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char host[FIELD_MAX], path[FIELD_MAX + 1], auth[FIELD_MAX];
	static int ready;
	const uint8_t *p = data, *end = data + size;
	struct rc_http_resp resp;
	struct rc_http_req req;
	int have_auth;

	if (!ready) {
		init();
		ready = 1;
	}
	memset(&req, 0, sizeof(req));
	host[0] = '\0';
	path[0] = '/'; /* the listener guarantees a leading '/' */
	field(&p, end, host, sizeof(host));
	field(&p, end, path + 1, sizeof(path) - 1);
	have_auth = field(&p, end, auth, sizeof(auth));
	req.method = RC_HTTP_GET;
	req.host = host[0] != '\0' ? host : NULL;
	req.path = path;
	req.peer = "192.0.2.1:1";
	if (have_auth) {
		req.headers[0].name = "Authorization";
		req.headers[0].value = auth;
		req.nheaders = 1;
	}
	handled = 0;
	rc_http_resp_init(&resp, 1 << 16);
	router_handle(&router, &req, &resp);
	if (resp.status < 200 || resp.status > 599)
		abort();
	if (handled && resp.status != 204)
		abort();
	if (resp.status == 401 && handled)
		abort();
	if (resp.status == 404) {
		json_t *j = json_loadb((const char *)resp.body.data,
		    resp.body.len, 0, NULL);

		if (j == NULL)
			abort();
		json_decref(j);
	}
	rc_http_resp_free(&resp);
	return 0;
}
