/*
 * The roles of this build and how they plug into the router.  The DPS
 * role serves its service API; the hub and CA roles come with later
 * issues (a config naming them is accepted: their listeners and routes
 * answer "not available yet").
 */
#include "daemon.h"
#include "dps/dps.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"

struct roles {
	struct dps *dps;
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
	if ((cfg->roles_mask & ROLE_HUB) != 0)
		rc_log_info("hub: role not available yet; its routes answer "
		            "404");
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

	if (r == NULL)
		return;
	dps_free(r->dps);
	rc_free(r);
}
