/*
 * The agent's main loop and its roll state machine (docs/agent.md):
 *
 *   idle -> prepare (key in the inactive slot, CSR, DPS registration with
 *   the CSR, issued chain written to the inactive slot) -> trial (the hub
 *   session is replaced by one with the inactive slot) -> commit (the
 *   active pointer, state.json, names the new slot) | rollback (a session
 *   with the old slot again; reprovision if the hub no longer knows it).
 *
 * Only the commit touches the active pointer, and only after the hub
 * accepted the new certificate (DESIGN.md §3); nothing is ever written
 * into the active slot.  So a kill at any instant restarts on the active
 * slot, whose certificate DPS still attests (the group covers it, S7) even
 * if the hub has moved on to the new thumbprint: CONNACK 5, reprovision
 * (S5), connected.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "agent_int.h"
#include "rollcall/csr.h"
#include "rollcall/file.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"
#include "rollcall/x509.h"

static char
other(char s)
{
	return s == 'a' ? 'b' : 'a';
}

/* Sleeps ms in small steps so that a stop is seen at once. */
static void
nap(struct rc_agent *a, long long ms)
{
	struct timespec ts = {0, 100 * 1000000L};

	for (; ms > 0 && !a->stop; ms -= 100)
		nanosleep(&ts, NULL);
}

static void
backoff(struct rc_agent *a, const char *what)
{
	long long ms = rc_agent_backoff_next(&a->bo);

	rc_log_info("%s: retrying in %lld.%03llds", what, ms / 1000, ms % 1000);
	nap(a, ms);
}

static int
first_boot(struct rc_agent *a)
{
	const struct rc_agent_conf *c = a->conf;
	STACK_OF(X509) *chain = NULL;
	int rc;

	rc_log_info("state: first boot, importing %s into slot a",
	    c->bootstrap_cert);
	if ((rc = rc_x509_load_file(c->bootstrap_cert, &chain)) != RC_OK ||
	    (rc = agent_slot_put_chain(c->state_dir, 'a', chain)) != RC_OK)
		goto out;
	if (c->bootstrap_key != NULL &&
	    (rc = agent_key_import(c, 'a', c->bootstrap_key)) != RC_OK)
		goto out;
	memset(&a->st, 0, sizeof(a->st));
	a->st.active = 'a';
	rc = rc_agent_state_save(c->state_dir, &a->st);
out:
	if (chain != NULL)
		sk_X509_pop_free(chain, X509_free);
	return rc;
}

int
rc_agent_new(const struct rc_agent_conf *c, struct rc_agent **out)
{
	struct rc_agent *a;
	int rc;

	*out = NULL;
	if ((a = rc_calloc(1, sizeof(*a))) == NULL)
		return RC_ENOMEM;
	a->conf = c;
	rc_agent_backoff_init(&a->bo, c->backoff_min * 1000,
	    c->backoff_max * 1000);
	if ((rc = rc_x509_load_file(c->trust_bundle, &a->anchors)) != RC_OK) {
		rc_log_warnx("trust-bundle %s: %s", c->trust_bundle,
		    rc_strerror(rc));
		goto out;
	}
	if ((rc = rc_file_mkdirs(c->state_dir, 0700)) != RC_OK)
		goto out;
	rc = rc_agent_state_load(c->state_dir, &a->st);
	if (rc == RC_ENOENT)
		rc = first_boot(a);
	if (rc != RC_OK) {
		rc_log_warnx("state %s: %s", c->state_dir, rc_strerror(rc));
		goto out;
	}
	if ((rc = agent_slot_load(c, a->st.active, &a->slot)) != RC_OK) {
		rc_log_warnx("state: active slot %c unusable: %s", a->st.active,
		    rc_strerror(rc));
		goto out;
	}
	*out = a;
	a = NULL;
out:
	rc_agent_free(a);
	return rc;
}

void
rc_agent_free(struct rc_agent *a)
{
	if (a == NULL)
		return;
	agent_hub_close(a);
	agent_slot_clear(&a->slot);
	rc_agent_method_clear(&a->action.req);
	if (a->anchors != NULL)
		sk_X509_pop_free(a->anchors, X509_free);
	rc_free(a);
}

void
rc_agent_stop(struct rc_agent *a)
{
	a->stop = 1;
}

const struct rc_agent_state *
rc_agent_get0_state(const struct rc_agent *a)
{
	return &a->st;
}

static void
log_slot(const char *what, const struct agent_slot *s, const char *hub)
{
	char tp[65] = "?";

	if (rc_x509_thumbprint(sk_X509_value(s->chain, 0), 1, tp, sizeof(tp)) !=
	    RC_OK)
		tp[0] = '?';
	rc_log_info("%s %s with slot %c (thumbprint %s)", what, hub, s->name,
	    tp);
}

/*
 * Registers with slot s (and csr); on assignment, records hub and device
 * ID in a->st (saved only with save set) and returns the reply.
 */
static int
provision(struct rc_agent *a, const struct agent_slot *s, X509_REQ *csr,
    int save, struct rc_agent_dps_reply *r)
{
	int rc;

	if ((rc = agent_dps_register(a, &s->ident, csr, r)) != RC_OK) {
		rc_log_warnx("dps: registration failed: %s", rc_strerror(rc));
		return rc;
	}
	if (r->status != RC_AGENT_DPS_ASSIGNED) {
		rc_log_warnx("dps: registration refused: error %lld: %s",
		    r->error_code, r->message);
		rc_agent_dps_reply_clear(r);
		return RC_EAUTH;
	}
	rc_log_info("dps: assigned to %s as %s", r->hub, r->device_id);
	snprintf(a->st.hub, sizeof(a->st.hub), "%s", r->hub);
	snprintf(a->st.device_id, sizeof(a->st.device_id), "%s", r->device_id);
	if (save &&
	    (rc = rc_agent_state_save(a->conf->state_dir, &a->st)) != RC_OK)
		rc_fatalx("state %s: cannot save: %s", a->conf->state_dir,
		    rc_strerror(rc));
	return RC_OK;
}

static int
reprovision(struct rc_agent *a)
{
	struct rc_agent_dps_reply r;
	int rc;

	rc = provision(a, &a->slot, NULL, 1, &r);
	rc_agent_dps_reply_clear(&r);
	return rc;
}

/* One attempt to be connected with the active slot. */
static void
connect_once(struct rc_agent *a)
{
	int rc, connack;

	if (a->st.hub[0] == '\0' && reprovision(a) != RC_OK) {
		backoff(a, "dps");
		return;
	}
	rc = agent_hub_connect(a, &a->slot, &connack);
	if (rc == RC_OK) {
		log_slot("hub: connected to", &a->slot, a->st.hub);
		rc_agent_backoff_reset(&a->bo);
		if (agent_hub_report(a) != RC_OK)
			rc_log_warnx("hub: cannot report the certificate");
		return;
	}
	if (rc == RC_EAUTH) {
		/* S5: the hub no longer knows this certificate */
		rc_log_warnx("hub: %s refused the certificate (CONNACK %d): "
		             "reprovisioning",
		    a->st.hub, connack);
		if (reprovision(a) == RC_OK)
			return;
	}
	backoff(a, "hub");
}

static void
record(struct rc_agent *a, const char *kind, int ok, const char *reason)
{
	snprintf(a->st.roll_kind, sizeof(a->st.roll_kind), "%s", kind);
	snprintf(a->st.roll_result, sizeof(a->st.roll_result), "%s",
	    ok ? "ok" : "failed");
	snprintf(a->st.roll_reason, sizeof(a->st.roll_reason), "%s", reason);
	a->st.roll_at = time(NULL);
	a->st.roll_started = 0;
}

static void
save_state(struct rc_agent *a)
{
	int rc;

	if ((rc = rc_agent_state_save(a->conf->state_dir, &a->st)) != RC_OK)
		rc_fatalx("state %s: cannot save: %s", a->conf->state_dir,
		    rc_strerror(rc));
}

/*
 * Prepare for a renewal: key and chain in slot to.  why says what failed.
 */
static int
prepare_renew(struct rc_agent *a, char to, int keep, char *why, size_t wl)
{
	const struct rc_agent_conf *c = a->conf;
	struct rc_agent_dps_reply r;
	struct agent_ident id;
	X509_REQ *csr = NULL;
	EVP_PKEY *key = NULL;
	int rc;

	memset(&r, 0, sizeof(r));
	if (keep)
		rc = agent_key_copy(c, a->slot.name, to);
	else
		rc = agent_key_new(c, to, &key);
	if (rc == RC_OK && key == NULL)
		rc = agent_key_load(c, to, &key, &id);
	if (rc != RC_OK) {
		snprintf(why, wl, "no key in slot %c: %s", to, rc_strerror(rc));
		goto out;
	}
	if ((rc = rc_csr_new(key, c->registration_id, &csr)) != RC_OK) {
		snprintf(why, wl, "cannot make a CSR: %s", rc_strerror(rc));
		goto out;
	}
	if ((rc = provision(a, &a->slot, csr, 0, &r)) != RC_OK) {
		snprintf(why, wl, "DPS did not issue a certificate: %s",
		    r.message[0] != '\0' ? r.message : rc_strerror(rc));
		goto out;
	}
	if (r.chain == NULL) {
		snprintf(why, wl, "DPS sent no issuedCertificateChain");
		rc = RC_EPARSE;
		goto out;
	}
	if ((rc = rc_agent_check_chain(r.chain, key, c->registration_id,
	         a->anchors, time(NULL), why, wl)) != RC_OK ||
	    (rc = agent_slot_put_chain(c->state_dir, to, r.chain)) != RC_OK) {
		if (why[0] == '\0')
			snprintf(why, wl, "cannot write slot %c", to);
		goto out;
	}
out:
	rc_agent_dps_reply_clear(&r);
	X509_REQ_free(csr);
	EVP_PKEY_free(key);
	return rc;
}

static int
prepare_install(struct rc_agent *a, char to, STACK_OF(X509) *chain, char *why,
    size_t wl)
{
	int rc;

	if ((rc = agent_key_copy(a->conf, a->slot.name, to)) != RC_OK ||
	    (rc = agent_slot_put_chain(a->conf->state_dir, to, chain)) != RC_OK)
		snprintf(why, wl, "cannot write slot %c: %s", to,
		    rc_strerror(rc));
	return rc;
}

/* Trial of slot to; commit or roll back.  RC_OK on commit. */
static int
trial(struct rc_agent *a, char to, const char *kind, char *why, size_t wl)
{
	struct agent_slot s;
	int rc, connack = -1;

	if ((rc = agent_slot_load(a->conf, to, &s)) != RC_OK) {
		snprintf(why, wl, "slot %c unusable: %s", to, rc_strerror(rc));
		return rc;
	}
	agent_hub_close(a);
	if ((rc = agent_hub_connect(a, &s, &connack)) != RC_OK) {
		snprintf(why, wl, "the hub refused the new certificate (%s)",
		    connack >= 0 ? "CONNACK not 0" : rc_strerror(rc));
		agent_slot_clear(&s);
		return rc == RC_OK ? RC_EAUTH : rc;
	}
	/* commit: the one write that moves the active pointer */
	a->st.active = to;
	record(a, kind, 1, "");
	save_state(a);
	agent_slot_clear(&a->slot);
	a->slot = s;
	log_slot("roll: committed, connected to", &a->slot, a->st.hub);
	return RC_OK;
}

static int
roll(struct rc_agent *a, const char *kind, int keep, STACK_OF(X509) *pushed)
{
	char to = other(a->st.active), why[256] = "";
	char hub[sizeof(a->st.hub)], dev[sizeof(a->st.device_id)];
	int rc;

	rc_log_info("roll: %s into slot %c%s", kind, to,
	    keep ? " with the same key" : "");
	memcpy(hub, a->st.hub, sizeof(hub));
	memcpy(dev, a->st.device_id, sizeof(dev));
	a->st.roll_started = time(NULL);
	save_state(a);
	if (pushed != NULL)
		rc = prepare_install(a, to, pushed, why, sizeof(why));
	else
		rc = prepare_renew(a, to, keep, why, sizeof(why));
	if (rc == RC_OK && (rc = trial(a, to, kind, why, sizeof(why))) == RC_OK)
		goto out;
	/* roll back: the active slot, on the hub it was on */
	rc_log_warnx("roll: %s failed, rolling back to slot %c: %s", kind,
	    a->st.active, why);
	if (pushed != NULL || !a->connected) {
		memcpy(a->st.hub, hub, sizeof(hub));
		memcpy(a->st.device_id, dev, sizeof(dev));
	}
	record(a, kind, 0, why);
	save_state(a);
	if (!a->connected)
		connect_once(a);
out:
	if (a->connected && agent_hub_report(a) != RC_OK)
		rc_log_warnx("hub: cannot report the certificate");
	return rc;
}

int
rc_agent_roll(struct rc_agent *a, int keep_key)
{
	return roll(a, "renew", keep_key, NULL);
}

static void
run_action(struct rc_agent *a)
{
	struct rc_agent_method_req *r = &a->action.req;
	int keep;

	switch (r->method) {
	case RC_AGENT_M_ROLL:
		keep = r->keep_key >= 0 ? r->keep_key : a->conf->keep_key;
		(void)roll(a, "renew", keep, NULL);
		break;
	case RC_AGENT_M_INSTALL:
		(void)roll(a, "install", 1, r->chain);
		break;
	case RC_AGENT_M_REPROVISION:
	default:
		/* S11: told to, reprovision and go where DPS says */
		agent_hub_close(a);
		if (reprovision(a) == RC_OK)
			record(a, "reprovision", 1, "");
		else
			record(a, "reprovision", 0, "DPS refused");
		save_state(a);
		break;
	}
	rc_agent_method_clear(r);
	a->action.pending = 0;
}

static int
renew_due(struct rc_agent *a)
{
	X509 *leaf = sk_X509_value(a->slot.chain, 0);
	time_t nb, na, now = time(NULL);
	int days, secs;

	if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notBefore(leaf)) != 1)
		return 0;
	nb = now + (time_t)days * 86400 + secs;
	if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(leaf)) != 1)
		return 0;
	na = now + (time_t)days * 86400 + secs;
	return rc_agent_renew_due(nb, na, (int)a->conf->renew_threshold, now);
}

/* One turn of the connected loop. */
static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds between telemetry messages; 0: none. */
static int64_t
period_ms(const struct rc_agent *a)
{
	if (a->conf->telemetry_interval_ms > 0)
		return a->conf->telemetry_interval_ms;
	return a->conf->telemetry_interval * 1000;
}

/* How long one network wait may last: no longer than a telemetry period. */
static int
loop_ms(const struct rc_agent *a)
{
	int64_t p = period_ms(a);

	return p > 0 && p < 200 ? (int)p : 200;
}

static void
serve(struct rc_agent *a, time_t *next_renew)
{
	time_t now;

	if (agent_mqtt_loop(&a->hub, loop_ms(a)) != RC_OK) {
		rc_log_warnx("hub: connection to %s lost", a->st.hub);
		agent_hub_close(a);
		return;
	}
	now = time(NULL);
	if (period_ms(a) > 0 && mono_ms() >= a->next_telemetry_ms) {
		if (agent_hub_telemetry(a) != RC_OK)
			rc_log_warnx("hub: telemetry not sent");
		/* on schedule, not drifting; never a burst to catch up */
		a->next_telemetry_ms += period_ms(a);
		if (a->next_telemetry_ms < mono_ms())
			a->next_telemetry_ms = mono_ms() + period_ms(a);
	}
	if (a->report_rid != 0 && now >= a->report_next &&
	    agent_hub_report(a) != RC_OK)
		rc_log_warnx("hub: cannot report the certificate");
	if (a->action.pending) {
		if (now >= a->action.at)
			run_action(a);
		return;
	}
	if (now >= *next_renew && renew_due(a)) {
		rc_log_info("roll: certificate past %lld%% of its lifetime",
		    a->conf->renew_threshold);
		if (roll(a, "renew", a->conf->keep_key, NULL) != RC_OK)
			*next_renew =
			    now + rc_agent_backoff_next(&a->bo) / 1000;
	}
}

int
rc_agent_run(struct rc_agent *a)
{
	time_t next_renew = 0;

	while (!a->stop) {
		if (!a->connected) {
			connect_once(a);
			continue;
		}
		serve(a, &next_renew);
	}
	agent_hub_close(a);
	rc_log_info("agent: stopped");
	return RC_OK;
}
