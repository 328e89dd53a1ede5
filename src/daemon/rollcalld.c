/*
 * rollcalld: the server (DESIGN.md §1).
 *
 *	rollcalld [-dnvV] [-f file]
 *
 * Process model: rollcalld never detaches; a supervisor (systemd with
 * Type=exec, a container runtime, a shell) owns it.  Its one child is the
 * signer (signer.h), which ends when rollcalld closes its socket.  Until
 * it is ready to start its workers, everything it logs goes to stderr, so
 * a bad config, a port in use or a broken store is seen by whoever
 * started it; from then on the log goes to syslog (LOG_DAEMON; journald
 * collects it), or stays on stderr with -d.  The readiness line is the
 * one line rollcalld writes on stdout:
 *
 *	rollcalld ready https=127.0.0.1:40123 mqtt=127.0.0.1:40124
 *
 * (the first bound address of each listener, with the real port, so tests
 * and scripts can start it on port 0).
 *
 * Start: read and check the config, load TLS, bind, fork the signer (with
 * `device-ca` and the ca role), drop privileges (when root and `user` is
 * set), open the store, start the roles and workers.
 * SIGTERM or SIGINT: stop accepting, finish requests in flight (at most
 * DRAIN_SECONDS), stop the workers, close the store, log "stopped", exit 0.
 */
#include <sys/types.h>

#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/ssl.h>

#include "daemon.h"
#include "rollcall/ca.h"
#include "rollcall/log.h"
#include "signer.h"

#ifndef RC_VERSION
#define RC_VERSION "unknown"
#endif

struct daemon {
	const struct config *cfg;
	SSL_CTX *https_ctx;
	SSL_CTX *mqtt_ctx;
	struct listener *listeners;
	size_t nlisteners;
	struct rc_store *store;
	struct router router;
	void *roles;
	struct workers *workers;
	struct signer *signer;
	char self_https[80]; /* our HTTPS listener, for linked local hubs */
};

static __attribute__((noreturn)) void
usage(void)
{
	fprintf(stderr,
	    "usage: rollcalld [-dnvV] [-f file]\n"
	    "  -d       stay in the foreground, log to stderr\n"
	    "  -f file  configuration file (default %s)\n"
	    "  -n       check the configuration and exit\n"
	    "  -v       verbose (debug) logging\n"
	    "  -V       print the version and exit\n",
	    ROLLCALLD_CONF);
	exit(2);
}

static void
drop_privileges(const struct config *cfg)
{
	struct passwd *pw;

	if (cfg->user == NULL) {
		if (geteuid() == 0)
			rc_log_warnx("running as root: set `user` in the "
			             "config to drop privileges");
		return;
	}
	if (geteuid() != 0) {
		rc_log_debug("not root: `user %s` has nothing to do",
		    cfg->user);
		return;
	}
	if ((pw = getpwnam(cfg->user)) == NULL)
		rc_fatalx("user %s: no such user", cfg->user);
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		rc_fatal("cannot drop privileges to %s", cfg->user);
	rc_log_info("running as %s", cfg->user);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	rc_log_info("%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
	event_base_loopbreak(arg);
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	rc_log_info("SIGHUP: reloading is not supported; restart to apply "
	            "a new configuration");
}

/* libevent's own messages join our log. */
static void
event_log(int severity, const char *msg)
{
	switch (severity) {
	case EVENT_LOG_DEBUG:
		rc_log_debug("libevent: %s", msg);
		break;
	case EVENT_LOG_MSG:
		rc_log_info("libevent: %s", msg);
		break;
	default:
		rc_log_warnx("libevent: %s", msg);
		break;
	}
}

static void
event_fatal(int err)
{
	rc_fatalx("libevent: fatal error %d", err);
}

/*
 * The device CA's key is read by the signer process alone (signer.h),
 * forked here while the process has one thread and its privileges.
 */
static void
start_signer(struct daemon *d)
{
	int rc;

	if (d->cfg->device_ca == NULL || (d->cfg->roles_mask & ROLE_CA) == 0)
		return;
	if ((rc = signer_start_secs(d->cfg->device_ca,
	         (long)d->cfg->device_cert_validity, &d->signer)) != RC_OK)
		rc_fatalx("device-ca %s: cannot start the signer: %s",
		    d->cfg->device_ca, rc_strerror(rc));
	signer_set_running(d->signer);
	rc_log_info("signer running as pid %ld", (long)signer_pid(d->signer));
}

/*
 * "addr:port" of our first HTTPS listener, by which DPS reaches the hubs
 * of this very process; a wildcard bind is reached on loopback.
 */
static void
self_https(const struct daemon *d, char *out, size_t outsize)
{
	const char *a, *port;
	size_t i;

	out[0] = '\0';
	for (i = 0; i < d->nlisteners; i++) {
		if (d->listeners[i].kind != LISTEN_HTTPS)
			continue;
		a = d->listeners[i].addr;
		if ((port = strrchr(a, ':')) == NULL)
			return;
		if (strncmp(a, "0.0.0.0:", 8) == 0)
			snprintf(out, outsize, "127.0.0.1%s", port);
		else if (strncmp(a, "[::]:", 5) == 0)
			snprintf(out, outsize, "[::1]%s", port);
		else
			snprintf(out, outsize, "%s", a);
		return;
	}
}

static void
start(struct daemon *d, int debug, int verbose)
{
	struct workers_config wc;
	struct roles_env env;
	int rc;

	listeners_open(d->cfg, &d->listeners, &d->nlisteners);
	start_signer(d);
	drop_privileges(d->cfg);
	if ((rc = rc_store_open(d->cfg->store, &d->store)) != RC_OK)
		rc_fatalx("store %s: %s", d->cfg->store, rc_strerror(rc));
	router_init(&d->router, d->cfg);
	self_https(d, d->self_https, sizeof(d->self_https));
	env.self_https = d->self_https[0] != '\0' ? d->self_https : NULL;
	env.signer = d->signer;
	if ((rc = roles_start(d->cfg, d->store, &d->router, &env, &d->roles)) !=
	    RC_OK)
		rc_fatalx("cannot start the roles: %s", rc_strerror(rc));
	memset(&wc, 0, sizeof(wc));
	wc.cfg = d->cfg;
	wc.router = &d->router;
	wc.listeners = d->listeners;
	wc.nlisteners = d->nlisteners;
	wc.https_ctx = d->https_ctx;
	wc.mqtt_ctx = d->mqtt_ctx;
	roles_hubs(d->roles, &wc.hubs, &wc.nhubs);
	wc.dps = roles_dps_prov(d->roles);
	wc.n = config_workers(d->cfg);
	/* From here on only the workers can fail; the log leaves stderr
	 * before they run, so no thread logs while it switches. */
	if (!debug)
		rc_log_init("rollcalld", 0, verbose);
	d->workers = workers_start(&wc);
}

static void
stop(struct daemon *d)
{
	/* The workers hold their own dups of the sockets until they stop. */
	listeners_close(d->listeners, d->nlisteners);
	workers_stop(d->workers);
	roles_stop(d->roles);
	signer_set_running(NULL);
	signer_stop(d->signer);
	rc_store_close(d->store);
}

/* Runs the main loop until SIGTERM or SIGINT. */
static void
serve(struct daemon *d, int debug, int verbose)
{
	struct event *sigs[3];
	struct event_base *base;
	sigset_t mask;
	size_t i;

	event_set_log_callback(event_log);
	event_set_fatal_callback(event_fatal);
	if (evthread_use_pthreads() != 0)
		rc_fatalx("evthread_use_pthreads");
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		rc_fatal("signal");
	if ((base = event_base_new()) == NULL)
		rc_fatalx("event_base_new");
	sigs[0] = evsignal_new(base, SIGTERM, on_signal, base);
	sigs[1] = evsignal_new(base, SIGINT, on_signal, base);
	sigs[2] = evsignal_new(base, SIGHUP, on_hup, base);
	for (i = 0; i < 3; i++)
		if (sigs[i] == NULL || evsignal_add(sigs[i], NULL) != 0)
			rc_fatalx("cannot watch signals");
	start(d, debug, verbose);
	listeners_ready(d->listeners, d->nlisteners);
	rc_log_info("ready");
	if (event_base_dispatch(base) == -1)
		rc_fatalx("main event loop failed");
	/*
	 * Stopping is bounded (DRAIN_SECONDS); a second SIGTERM must not
	 * turn a clean exit into death by signal once libevent hands the
	 * signals back to their default action.
	 */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	stop(d);
	for (i = 0; i < 3; i++)
		event_free(sigs[i]);
	event_base_free(base);
}

int
main(int argc, char **argv)
{
	const char *conffile = ROLLCALLD_CONF;
	int ch, debug = 0, noaction = 0, verbose = 0;
	struct daemon d;
	struct config cfg;
	char err[1024];

	while ((ch = getopt(argc, argv, "df:nvV")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'n':
			noaction = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf("rollcalld %s\n", RC_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	rc_log_init("rollcalld", 1, verbose);
	if (config_load(conffile, &cfg, err, sizeof(err)) != RC_OK)
		rc_fatalx("%s", err);
	if (cfg.log_level > 0)
		verbose = 1;
	rc_log_setverbose(verbose);
	memset(&d, 0, sizeof(d));
	d.cfg = &cfg;
	/* Both ports may carry devices with certificates (DESIGN.md §5). */
	if ((d.https_ctx = tls_ctx_new(&cfg, 1)) == NULL ||
	    (d.mqtt_ctx = tls_ctx_new(&cfg, 1)) == NULL)
		rc_fatalx("%s: cannot set up TLS from tls-cert and tls-key",
		    conffile);
	if (noaction) {
		printf("configuration OK\n");
	} else {
		serve(&d, debug, verbose);
		rc_log_info("stopped");
	}
	SSL_CTX_free(d.https_ctx);
	SSL_CTX_free(d.mqtt_ctx);
	config_free(&cfg);
	return 0;
}
