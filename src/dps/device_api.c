/*
 * DPS over HTTPS (reference/azure-device-wire.md §3): the register and
 * poll requests of the device API, read by dpswire and answered by the
 * registration engine (prov.h).  No Authorization header: the device is
 * its TLS client certificate.  The answer is always JSON (node parses
 * nothing else), with a lowercase retry-after on 202.
 */
#include <stdio.h>
#include <string.h>

#include "dps/device_api.h"
#include "rollcall/dpswire.h"
#include "rollcall/log.h"

/* Writes a as the HTTP answer: JSON, x-ms-error-code on errors,
 * retry-after on 202. */
static void
send(const struct dps_answer *a, struct rc_http_resp *resp)
{
	char v[16];

	if (rc_http_resp_json(resp, a->status, a->body) != RC_OK) {
		rc_http_resp_status(resp, 500);
		return;
	}
	v[0] = '\0';
	if (a->status >= 400)
		snprintf(v, sizeof(v), "%lld",
		    (long long)json_integer_value(
		        json_object_get(a->body, "errorCode")));
	if ((v[0] != '\0' &&
	        rc_http_resp_header(resp, "x-ms-error-code", v) != RC_OK) ||
	    (a->retry_after > 0 &&
	        (snprintf(v, sizeof(v), "%d", a->retry_after) < 0 ||
	            rc_http_resp_header(resp, "retry-after", v) != RC_OK)))
		rc_http_resp_status(resp, 500);
}

/* An error answer at once. */
static void
error(struct rc_http_resp *resp, int code, const char *message)
{
	struct dps_answer a;

	dps_answer_error(&a, code, message);
	send(&a, resp);
	dps_answer_free(&a);
}

void
dps_device_handle(struct dps_prov *p, const struct rc_http_req *req,
    struct rc_http_resp *resp)
{
	struct rc_dpswire_http h;
	struct dps_answer a;
	char why[RC_DPSWIRE_WHY_SIZE];
	int rc;

	rc = rc_dpswire_http(req, &h, why, sizeof(why));
	if (rc == RC_ENOENT ||
	    (rc == RC_OK && strcmp(h.scope, dps_prov_id_scope(p)) != 0)) {
		error(resp, 404000, "Not found");
		return;
	}
	if (rc == RC_EUNSUPPORTED) {
		error(resp, 405000, why);
		return;
	}
	if (rc != RC_OK) {
		error(resp, 400001, why);
		return;
	}
	if (h.op == RC_DPSWIRE_REGISTER)
		dps_prov_register(p, DPS_HTTPS, req->peer_chain,
		    h.registration_id, req->body, req->body_len, &a);
	else
		dps_prov_poll(p, req->peer_chain, h.registration_id,
		    h.operation_id, &a);
	send(&a, resp);
	dps_answer_free(&a);
}
