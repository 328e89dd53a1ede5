/*
 * The roles of this build and how they plug into the router.  The DPS
 * role serves its service API.  Each `hub NAME HOST` line makes one
 * struct hub (device sessions on the MQTT port, mqttd.c) and its service
 * API (src/hub/service.h), served at the hub's host name; the first hub
 * also answers hub paths at any other host name the server answers to
 * (localhost, an IP literal, the DPS name: one host may carry both, routed
 * by path).  The service API writes through the hub's credential cache and
 * reaches the sessions through struct hub_session_ops (session_ops.c).
 * The DPS role also runs the device registration engine (dps/prov.h)
 * over its linked hubs (`link-hub` lines), reached by devices through the
 * router's device hook (HTTPS) and mqttd.c (MQTT); it signs CSRs through
 * the CA role's signer process when there is one, as does the service API's
 * reissue of retained CSRs.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "daemon.h"
#include "dps/device_api.h"
#include "dps/dps.h"
#include "dps/prov.h"
#include "hub/auth.h"
#include "hub/hub.h"
#include "hub/service.h"
#include "hub/session_ops.h"
#include "rollcall/hublink.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"
#include "signer.h"

struct role_hub {
	struct hub *hub;
	struct hub_session_ops ops;
	struct hub_service *service;
};

struct roles {
	struct dps *dps;
	struct dps_prov *prov;
	struct rc_hublink **links;
	size_t nlinks;
	struct role_hub *hubs;
	struct hub **sessions; /* hubs[i].hub, as the workers want them */
	size_t nhubs;
};

static int
dps_match(void *arg, const struct rc_http_req *req)
{
	(void)arg;
	return dps_service_match(req);
}

static void
dps_handle(void *arg, const struct rc_http_req *req,
    const struct rc_principal *who, struct rc_http_resp *resp)
{
	dps_service_handle(arg, req, who, resp);
}

/* Signs through the signer process, for days (0: its maximum). */
static int
sign_days(void *arg, const uint8_t *csr, size_t len, const char *cn, int days,
    STACK_OF(X509) **chain, char *why, size_t whysize)
{
	struct signer_result res;
	int rc;

	*chain = NULL;
	memset(&res, 0, sizeof(res));
	rc = signer_sign(arg, csr, len, cn, days, &res);
	snprintf(why, whysize, "%s", res.why);
	if (rc == RC_OK) {
		*chain = res.chain;
		return RC_OK;
	}
	if (res.chain != NULL)
		sk_X509_pop_free(res.chain, X509_free);
	return res.refused ? RC_EINVAL : rc;
}

/* dps_sign_fn over the signer process. */
static int
sign_csr(void *arg, const uint8_t *csr, size_t len, const char *cn,
    STACK_OF(X509) **chain, char *why, size_t whysize)
{
	return sign_days(arg, csr, len, cn, 0, chain, why, whysize);
}

static int
start_dps(const struct config *cfg, struct rc_store *store,
    struct router *router, const struct roles_env *env, struct roles *r)
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
	dc.sign = env->signer != NULL ? sign_days : NULL;
	dc.sign_arg = env->signer;
	if ((rc = dps_new(&dc, store, &r->dps)) != RC_OK)
		return rc;
	memset(&svc, 0, sizeof(svc));
	svc.name = "dps";
	svc.arg = r->dps;
	svc.match = dps_match;
	svc.handle = dps_handle;
	svc.unauthorized = dps_service_unauthorized;
	svc.policies = cfg->dps_policies;
	svc.npolicies = cfg->ndps_policies;
	if (cfg->ndps_policies == 0)
		rc_log_warnx("dps: no dps-policy in the config: every service "
		             "call will be refused");
	return router_add_service(router, &svc);
}

static void
device_handle(void *arg, const struct rc_http_req *req,
    struct rc_http_resp *resp)
{
	dps_device_handle(arg, req, resp);
}

/* Is host one of the hubs this process serves? */
static int
hub_is_ours(const struct config *cfg, const char *host)
{
	size_t i;

	for (i = 0; i < cfg->nhubs; i++)
		if ((cfg->roles_mask & ROLE_HUB) != 0 &&
		    strcasecmp(cfg->hubs[i].host, host) == 0)
			return 1;
	return 0;
}

static int
link_hubs(const struct config *cfg, const struct roles_env *env,
    struct roles *r)
{
	struct rc_hublink *l;
	char why[256];
	size_t i;
	int rc;

	if (cfg->link_hub.n == 0)
		return RC_OK;
	if ((r->links = rc_calloc(cfg->link_hub.n, sizeof(*r->links))) == NULL)
		return RC_ENOMEM;
	for (i = 0; i < cfg->link_hub.n; i++) {
		rc = rc_hublink_parse(cfg->link_hub.v[i], NULL,
		    cfg->trust_bundle, &l, why, sizeof(why));
		/* A hub of this very process is reached on our own port. */
		if (rc == RC_OK && env->self_https != NULL &&
		    hub_is_ours(cfg, rc_hublink_get0_host(l))) {
			rc_hublink_free(l);
			rc = rc_hublink_parse(cfg->link_hub.v[i],
			    env->self_https, cfg->trust_bundle, &l, why,
			    sizeof(why));
		}
		if (rc != RC_OK) {
			rc_log_warnx("link-hub #%zu: %s", i + 1, why);
			return rc;
		}
		r->links[r->nlinks++] = l;
		rc_log_info("dps: linked hub %s%s", rc_hublink_get0_host(l),
		    i == 0 ? " (default)" : "");
	}
	return RC_OK;
}

static int
start_prov(const struct config *cfg, struct rc_store *store,
    struct router *router, const struct roles_env *env, struct roles *r)
{
	struct dps_prov_config pc;
	int rc;

	if ((rc = link_hubs(cfg, env, r)) != RC_OK)
		return rc;
	if (r->nlinks == 0)
		rc_log_warnx("dps: no link-hub in the config: devices will be "
		             "attested but cannot be assigned");
	memset(&pc, 0, sizeof(pc));
	pc.id_scope = cfg->id_scope;
	pc.links = r->links;
	pc.nlinks = r->nlinks;
	if (env->signer != NULL) {
		pc.sign = sign_csr;
		pc.sign_arg = env->signer;
	}
	if ((rc = dps_prov_new(&pc, store, &r->prov)) != RC_OK)
		return rc;
	router->device = device_handle;
	router->device_arg = r->prov;
	return RC_OK;
}

static int
hub_match(void *arg, const struct rc_http_req *req)
{
	return hub_service_match(arg, req);
}

static int
hub_match_any(void *arg, const struct rc_http_req *req)
{
	(void)arg;
	return hub_service_path_match(req);
}

static int
hub_may_wait(void *arg, const struct rc_http_req *req)
{
	(void)arg;
	return hub_service_may_wait(req);
}

static void
hub_handle(void *arg, const struct rc_http_req *req,
    const struct rc_principal *who, struct rc_http_resp *resp)
{
	hub_service_handle(arg, req, who, resp);
}

static int
start_hub(const struct config *cfg, const struct config_hub *ch,
    struct rc_store *store, struct router *router, struct role_hub *h)
{
	struct hub_service_config hc;
	struct hub_config sc;
	struct role_service svc;
	const char *host = ch->host;
	int rc;

	memset(&sc, 0, sizeof(sc));
	sc.name = ch->name;
	sc.hostnames = &host;
	sc.nhostnames = 1;
	if ((rc = hub_new(&sc, store, &h->hub)) != RC_OK) {
		rc_log_warnx("hub %s: %s", ch->name, rc_strerror(rc));
		return rc;
	}
	hub_session_ops_fill(h->hub, &h->ops);
	hc.hub = ch->name;
	hc.host = ch->host;
	hc.cache = hub_get0_auth(h->hub);
	hc.ops = &h->ops;
	hc.max_body = (size_t)cfg->max_body;
	if ((rc = hub_service_new(&hc, store, &h->service)) != RC_OK)
		return rc;
	memset(&svc, 0, sizeof(svc));
	svc.name = "hub";
	svc.arg = h->service;
	svc.may_wait = hub_may_wait;
	svc.match = hub_match;
	svc.handle = hub_handle;
	svc.unauthorized = hub_service_unauthorized;
	svc.policies = ch->policies;
	svc.npolicies = ch->npolicies;
	if (ch->npolicies == 0)
		rc_log_warnx("hub %s: no hub-policy in the config: every "
		             "service call will be refused",
		    ch->name);
	rc_log_info("hub %s: %zu devices, service API at %s", ch->name,
	    hub_auth_cache_count(hc.cache), ch->host);
	return router_add_service(router, &svc);
}

static int
start_hubs(const struct config *cfg, struct rc_store *store,
    struct router *router, struct roles *r)
{
	struct role_service svc;
	size_t i;
	int rc;

	if (cfg->nhubs == 0) {
		rc_log_info("hub: no `hub` line in the config: MQTT devices "
		            "will be refused");
		return RC_OK;
	}
	if ((r->hubs = rc_calloc(cfg->nhubs, sizeof(*r->hubs))) == NULL ||
	    (r->sessions = rc_calloc(cfg->nhubs, sizeof(*r->sessions))) == NULL)
		return RC_ENOMEM;
	for (i = 0; i < cfg->nhubs; i++) {
		r->nhubs++;
		if ((rc = start_hub(cfg, &cfg->hubs[i], store, router,
		         &r->hubs[i])) != RC_OK)
			return rc;
		r->sessions[i] = r->hubs[i].hub;
	}
	/* Last, so that every hub's own host name wins. */
	svc = router->services[router->nservices - cfg->nhubs];
	svc.name = "hub-default";
	svc.match = hub_match_any;
	return router_add_service(router, &svc);
}

int
roles_start(const struct config *cfg, struct rc_store *store,
    struct router *router, const struct roles_env *env, void **state)
{
	struct roles *r;
	int rc = RC_OK;

	*state = NULL;
	if ((r = rc_calloc(1, sizeof(*r))) == NULL)
		return RC_ENOMEM;
	if ((cfg->roles_mask & ROLE_DPS) != 0 &&
	    ((rc = start_dps(cfg, store, router, env, r)) != RC_OK ||
	        (rc = start_prov(cfg, store, router, env, r)) != RC_OK))
		goto out;
	if ((cfg->roles_mask & ROLE_HUB) != 0 &&
	    (rc = start_hubs(cfg, store, router, r)) != RC_OK)
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
	/* the engine first: its assigners call the hubs' service APIs */
	dps_prov_free(r->prov);
	for (i = 0; i < r->nlinks; i++)
		rc_hublink_free(r->links[i]);
	rc_free(r->links);
	/* the services first: they borrow their hub's cache and sessions */
	for (i = 0; i < r->nhubs; i++)
		hub_service_free(r->hubs[i].service);
	for (i = 0; i < r->nhubs; i++)
		hub_free(r->hubs[i].hub);
	rc_free(r->sessions);
	rc_free(r->hubs);
	dps_free(r->dps);
	rc_free(r);
}

struct dps_prov *
roles_dps_prov(void *state)
{
	return state != NULL ? ((struct roles *)state)->prov : NULL;
}

void
roles_hubs(void *state, struct hub *const **hubs, size_t *n)
{
	struct roles *r = state;

	*hubs = r != NULL ? r->sessions : NULL;
	*n = r != NULL ? r->nhubs : 0;
}
