/*
 * rollcalld internals: the parsed configuration, the TLS contexts, the
 * listening sockets, the worker threads and the router that hands each
 * request to a role.
 *
 * Threads: the main thread binds the sockets, starts the workers and then
 * only waits for signals.  Each worker has its own event_base and evhttp
 * over the same listening sockets (DESIGN.md §5); a request is read,
 * routed and answered on the worker that accepted its connection, and
 * nothing a handler touches is owned by another worker (the store is
 * thread-safe, the config and router are read-only once workers run).
 */
#ifndef ROLLCALLD_DAEMON_H
#define ROLLCALLD_DAEMON_H

#include <sys/socket.h>

#include <stddef.h>
#include <time.h>

#include <openssl/ssl.h>

#include "rollcall/conf.h"
#include "rollcall/err.h"
#include "rollcall/http.h"
#include "rollcall/policy.h"
#include "rollcall/store.h"

#define ROLLCALLD_CONF "/etc/rollcall/rollcall.conf"

/* Roles a config may name (`roles dps hub ca`). */
#define ROLE_DPS 0x1u
#define ROLE_HUB 0x2u
#define ROLE_CA 0x4u

/* Header block cap: far above what the SDKs send (< 2 KiB). */
#define HTTP_MAX_HEADERS_SIZE (16 * 1024)
/* How long a stop waits for requests in flight before cutting them. */
#define DRAIN_SECONDS 10
/* Clock skew allowed on a SAS token's expiry. */
#define SAS_SKEW_SECONDS 300

/* A hub named in the config (`hub NAME HOSTNAME` + its `hub-policy`s). */
struct config_hub {
	char *name; /* borrowed from the config's lists */
	char *host;
	struct rc_policy *policies;
	size_t npolicies;
};

struct config {
	/* Filled by the conf table (config.c). */
	struct rc_strlist listen;
	long long https_port;
	long long mqtt_port;
	struct rc_strlist hostname;
	char *id_scope;
	char *store;
	char *tls_cert;
	char *tls_key;
	char *trust_bundle;
	char *device_ca;
	long long device_cert_validity; /* seconds */
	struct rc_strlist roles;
	long long workers;
	long long max_body;
	long long request_timeout;
	long long mqtt_max_packet;
	long long mqtt_connect_timeout;
	int log_level; /* 0 info, 1 debug */
	struct rc_strlist dps_policy; /* NAME RIGHTS KEY, flattened */
	struct rc_strlist hub; /* NAME HOSTNAME, flattened */
	struct rc_strlist hub_policy; /* HUB NAME RIGHTS KEY, flattened */
	struct rc_strlist link_hub; /* connection strings */
	char *user;

	/* Derived by config_load once the table has parsed. */
	unsigned roles_mask;
	struct rc_policy *dps_policies;
	size_t ndps_policies;
	struct config_hub *hubs;
	size_t nhubs;
};

/*
 * Reads and checks the config at path into cfg (which is zeroed first):
 * syntax and types through the conf table, then the rules the table cannot
 * say (addresses, host names, policies, hubs, the TLS and CA files exist
 * and are readable, the TLS key is private to its owner).  On failure err
 * holds one "FILE:LINE: reason" (or "FILE: reason") message and cfg is
 * freed.  The caller frees cfg with config_free.
 */
RC_MUST_CHECK int config_load(const char *path, struct config *cfg, char *err,
    size_t errlen);
/* Same, over text already in memory (name is used in messages). */
RC_MUST_CHECK int config_parse(const char *name, const char *text, size_t len,
    struct config *cfg, char *err, size_t errlen);
void config_free(struct config *);
/* The worker count, 0 resolved to the number of online CPUs. */
int config_workers(const struct config *);

/*
 * The server's TLS context (tls.c): TLS 1.2 minimum, the configured chain
 * and key, session resumption, ECDHE over X25519 or P-256.  With
 * request_client_cert the server asks for a certificate but accepts a
 * handshake without one (the role decides afterwards).  NULL with the
 * reason logged on failure.
 */
SSL_CTX *tls_ctx_new(const struct config *, int request_client_cert);
/*
 * The peer's certificates, leaf first, as a new stack of borrowed
 * certificates (free the stack with sk_X509_free only); NULL if the peer
 * sent none.
 */
STACK_OF(X509) *tls_peer_chain(SSL *);

/* A role's service API as the router sees it. */
struct role_service {
	const char *name; /* "dps", for logs */
	void *arg;
	int (*match)(void *, const struct rc_http_req *);
	void (*handle)(void *, const struct rc_http_req *,
	    const struct rc_principal *, struct rc_http_resp *);
	void (*unauthorized)(struct rc_http_resp *, const char *);
	/*
	 * 1 if handle may block on something other than the store (a
	 * device's answer, a long-poll): such requests are answered off the
	 * event loop (httpd.c).  NULL: never.
	 */
	int (*may_wait)(void *, const struct rc_http_req *);
	const struct rc_policy *policies;
	size_t npolicies;
};

/* DPS, one per hub and the fallback hub; more hubs fail to start. */
#define ROUTER_MAX_SERVICES 16

struct router {
	const struct config *cfg;
	struct role_service services[ROUTER_MAX_SERVICES];
	size_t nservices;
	/* The DPS device API (paths under the ID scope), or NULL: 404. */
	void (
	    *device)(void *, const struct rc_http_req *, struct rc_http_resp *);
	void *device_arg;
	time_t (*now)(time_t *); /* time(3); tests substitute a clock */
};

void router_init(struct router *, const struct config *);
RC_MUST_CHECK int router_add_service(struct router *,
    const struct role_service *);
/*
 * Routes one request (router.c): checks the Host, picks the role by path,
 * authenticates service calls and fills resp (always: an error body if
 * nothing else).
 */
void router_handle(const struct router *, const struct rc_http_req *,
    struct rc_http_resp *);
/*
 * The answer to a request refused before routing (the listener's limits,
 * httpd.c): the DPS error body, the service API's, for status.
 */
void router_error(const struct router *, struct rc_http_resp *, int status);
/* 1 if the role that router_handle would pick may block on req. */
int router_may_wait(const struct router *, const struct rc_http_req *);
/* 1 if host (no port) is one this server answers to. */
int router_host_ok(const struct config *, const char *host);

/*
 * SAS authentication of a service call (auth.c), after
 * reference/azure-service-api.md §1.4: the Authorization header's token is
 * verified with the key of the policy it names, for the request's host or
 * one of the configured host names, within SAS_SKEW_SECONDS.  On RC_OK
 * *out borrows the policy's name and rights; otherwise RC_EAUTH, and the
 * refusal has been logged (peer, policy name, reason; never the token).
 */
RC_MUST_CHECK int auth_sas(const struct rc_http_req *, const struct rc_policy *,
    size_t npolicies, const struct config *, time_t now,
    struct rc_principal *out);

/*
 * The roles this build runs (roles.c): creates each role named by the
 * config over store and registers its service API with the router.  The
 * caller stops them with roles_stop after the workers are gone.
 */
struct hub;
struct dps_prov;
struct roles_env {
	/* "addr:port" of this process's HTTPS listener, for linked hubs that
	 * this process serves itself. */
	const char *self_https;
	/* The CA role's signer for CSRs (signer.h), or NULL. */
	struct signer *signer;
};
RC_MUST_CHECK int roles_start(const struct config *, struct rc_store *,
    struct router *, const struct roles_env *, void **state);
/* The DPS device registration engine, or NULL without the DPS role. */
struct dps_prov *roles_dps_prov(void *state);
void roles_stop(void *state);
/* The hubs the hub role runs (none without it). */
void roles_hubs(void *state, struct hub *const **hubs, size_t *n);

/* The listening sockets (listen.c). */
enum listener_kind { LISTEN_HTTPS, LISTEN_MQTT };

struct listener {
	enum listener_kind kind;
	int fd;
	char addr[64]; /* "127.0.0.1:443" or "[::1]:443" as bound */
};

/*
 * Binds and listens on every `listen` address for both ports (port 0: the
 * kernel picks, once per address family, and the HTTPS port differs from
 * the MQTT one).  fatalx on failure: a daemon that cannot bind has nothing
 * to do.  The caller closes the fds with listeners_close.
 */
void listeners_open(const struct config *, struct listener **out, size_t *n);
void listeners_close(struct listener *, size_t n);
/* "a.b.c.d:port" or "[v6]:port". */
void sockaddr_format(const struct sockaddr *, char *out, size_t outsize);
/* The readiness line: "rollcalld ready https=ADDR mqtt=ADDR". */
void listeners_ready(const struct listener *, size_t n);

/* Worker threads (worker.c). */
struct workers;

struct workers_config {
	const struct config *cfg;
	const struct router *router;
	const struct listener *listeners;
	size_t nlisteners;
	SSL_CTX *https_ctx;
	SSL_CTX *mqtt_ctx;
	struct hub *const *hubs; /* the hub role's hubs, for MQTT */
	size_t nhubs;
	struct dps_prov *dps; /* DPS over MQTT, or NULL */
	int n;
};

/*
 * Starts n workers, each serving every listener.  Returns once all of them
 * run; fatalx if one cannot start.
 */
struct workers *workers_start(const struct workers_config *);
/*
 * Stops accepting on every worker, lets requests in flight finish (at
 * most DRAIN_SECONDS), then joins and frees the workers.
 */
void workers_stop(struct workers *);

/* The evhttp request -> struct rc_http_req adapter (httpd.c). */
struct evhttp_request;
struct event_base;
struct httpd_lane;
struct httpd_ctx {
	const struct router *router;
	int draining; /* answers carry "Connection: close" */
	struct httpd_lane *lane; /* requests answered off the loop */
};
/*
 * The worker's lane for requests that may block (router_may_wait): each
 * runs on a thread of its own and its answer is sent from the loop.
 * httpd_lane_fini (worker thread, loop stopped, before evhttp_free) sends
 * the answers that are ready, answers those still running with 503 and
 * leaves their threads to free them.
 */
RC_MUST_CHECK int httpd_lane_init(struct httpd_ctx *, struct event_base *);
void httpd_lane_fini(struct httpd_ctx *);
/* Answers one request read on a TLS connection from peer ("addr:port"). */
void httpd_serve(struct evhttp_request *, struct httpd_ctx *, SSL *,
    const char *peer);
/*
 * Called with a connection's output buffer while evhttp writes an answer
 * of its own there (no request of ours in flight): once a complete error
 * answer is in out, replaces it with router_error's for its status.
 */
struct evbuffer;
void httpd_own_answer(const struct httpd_ctx *, struct evbuffer *out);

#endif
