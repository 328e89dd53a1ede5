/*
 * A stand-in role for testing the daemon without the real roles: it
 * claims the DPS service paths, answers unauthenticated calls with the DPS
 * 401 body, and echoes authenticated ones as JSON.  Linked only into the
 * test build of rollcalld (rollcalld-testrole), never into the product.
 */
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "daemon.h"

static int
test_match(const struct rc_http_req *req)
{
	static const char *const first[] = {"enrollments", "enrollmentGroups",
	    "registrations", "certificates", "audit", NULL};
	size_t i, n;

	for (i = 0; first[i] != NULL; i++) {
		n = strlen(first[i]);
		if (strncasecmp(req->path + 1, first[i], n) == 0 &&
		    (req->path[1 + n] == '/' || req->path[1 + n] == '\0'))
			return 1;
	}
	return 0;
}

static void
reply(struct rc_http_resp *resp, int status, json_t *j)
{
	if (j == NULL || rc_http_resp_json(resp, status, j) != RC_OK)
		rc_http_resp_status(resp, 500);
	json_decref(j);
}

static void
test_unauthorized(struct rc_http_resp *resp, const char *message)
{
	reply(resp, 401,
	    json_pack("{s:i, s:s, s:s, s:s}", "errorCode", 401002, "trackingId",
	        "test", "message", message != NULL ? message : "Unauthorized",
	        "timestampUtc", "1970-01-01T00:00:00Z"));
	if (rc_http_resp_header(resp, "x-ms-error-code", "401002") != RC_OK)
		rc_http_resp_status(resp, 500);
}

static void
test_handle(void *arg, const struct rc_http_req *req,
    const struct rc_principal *who, struct rc_http_resp *resp)
{
	(void)arg;
	reply(resp, 200,
	    json_pack("{s:s, s:i, s:s, s:s, s:s?, s:s?, s:i, s:b}", "policy",
	        who->policy, "rights", (int)who->rights, "method",
	        rc_http_method_name(req->method), "path", req->path, "query",
	        req->query, "host", req->host, "bodyLength", (int)req->body_len,
	        "clientCert", req->peer_chain != NULL));
}

int
roles_start(const struct config *cfg, struct rc_store *store,
    struct router *router, void **state)
{
	struct role_service svc;

	(void)store;
	*state = NULL;
	memset(&svc, 0, sizeof(svc));
	svc.name = "test";
	svc.match = test_match;
	svc.handle = test_handle;
	svc.unauthorized = test_unauthorized;
	svc.policies = cfg->dps_policies;
	svc.npolicies = cfg->ndps_policies;
	return router_add_service(router, &svc);
}

void
roles_stop(void *state)
{
	(void)state;
}
