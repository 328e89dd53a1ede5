/*
 * The roles of this build and how they plug into the router.  The DPS
 * role serves its service API; the hub role runs one struct hub per
 * `hub NAME HOST` line, serving devices on the MQTT port (mqttd.c); its
 * service API and the CA role come with later issues (their routes
 * answer 404).
 */
#include <string.h>

#include "daemon.h"
#include "dps/dps.h"
#include "hub/hub.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"

struct roles {
	struct dps *dps;
	struct hub **hubs;
	size_t nhubs;
};

static void
dps_handle(void *arg, const struct rc_http_req *req,
    const struct rc_principal *who, struct rc_http_resp *resp)
{
	dps_service_handle(arg, req, who, resp);
}

static int
start_dps(const struct config *cfg, struct rc_store *store,
    struct router *router, struct roles *r)
{
	struct role_service svc;
	struct dps_config dc;
	int rc;

	dc.id_scope = cfg->id_scope;
	dc.hostnames = (const char *const *)cfg->hostname.v;
	dc.nhostnames = cfg->hostname.n;
	dc.policies = cfg->dps_policies;
	dc.npolicies = cfg->ndps_policies;
	dc.device_ca_dir = cfg->device_ca;
	dc.max_body = (size_t)cfg->max_body;
	if ((rc = dps_new(&dc, store, &r->dps)) != RC_OK)
		return rc;
	svc.name = "dps";
	svc.arg = r->dps;
	svc.match = dps_service_match;
	svc.handle = dps_handle;
	svc.unauthorized = dps_service_unauthorized;
	svc.policies = cfg->dps_policies;
	svc.npolicies = cfg->ndps_policies;
	if (cfg->ndps_policies == 0)
		rc_log_warnx("dps: no dps-policy in the config: every service "
		             "call will be refused");
	return router_add_service(router, &svc);
}

static int
start_hubs(const struct config *cfg, struct rc_store *store, struct roles *r)
{
	struct hub_config hc;
	const char *host;
	size_t i;
	int rc;

	if (cfg->nhubs == 0) {
		rc_log_info("hub: no `hub` line in the config: MQTT devices "
		            "will be refused");
		return RC_OK;
	}
	if ((r->hubs = rc_calloc(cfg->nhubs, sizeof(*r->hubs))) == NULL)
		return RC_ENOMEM;
	for (i = 0; i < cfg->nhubs; i++) {
		memset(&hc, 0, sizeof(hc));
		host = cfg->hubs[i].host;
		hc.name = cfg->hubs[i].name;
		hc.hostnames = &host;
		hc.nhostnames = 1;
		if ((rc = hub_new(&hc, store, &r->hubs[i])) != RC_OK) {
			rc_log_warnx("hub %s: %s", hc.name, rc_strerror(rc));
			return rc;
		}
		r->nhubs++;
	}
	return RC_OK;
}

int
roles_start(const struct config *cfg, struct rc_store *store,
    struct router *router, void **state)
{
	struct roles *r;
	int rc = RC_OK;

	*state = NULL;
	if ((r = rc_calloc(1, sizeof(*r))) == NULL)
		return RC_ENOMEM;
	if ((cfg->roles_mask & ROLE_DPS) != 0 &&
	    (rc = start_dps(cfg, store, router, r)) != RC_OK)
		goto out;
	if ((cfg->roles_mask & ROLE_HUB) != 0 &&
	    (rc = start_hubs(cfg, store, r)) != RC_OK)
		goto out;
	*state = r;
out:
	if (rc != RC_OK)
		roles_stop(r);
	return rc;
}

void
roles_stop(void *state)
{
	struct roles *r = state;
	size_t i;

	if (r == NULL)
		return;
	dps_free(r->dps);
	for (i = 0; i < r->nhubs; i++)
		hub_free(r->hubs[i]);
	rc_free(r->hubs);
	rc_free(r);
}

void
roles_hubs(void *state, struct hub *const **hubs, size_t *n)
{
	struct roles *r = state;

	*hubs = r != NULL ? r->hubs : NULL;
	*n = r != NULL ? r->nhubs : 0;
}
