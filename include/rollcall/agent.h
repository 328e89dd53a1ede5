/*
 * rollcall-agent as a library: the device side of certificate rolling
 * (DESIGN.md §3, seed rules S3, S4, S5, S11), for firmware that embeds it
 * and for the rollcall-agent program, which is a thin main over it.
 *
 * A device holds two certificate slots, "a" and "b", and a pointer to the
 * active one (docs/agent.md, "State layout").  It provisions through DPS
 * (MQTT by default, or HTTPS), connects to the hub it was assigned with
 * libmosquitto, sends telemetry, reports its certificate in the twin, and
 * renews its certificate through DPS with a CSR when the certificate has
 * lived past a threshold or when told to (rollCertificate), reprovisions
 * on CONNACK 5 or when told to (reprovision), and installs a certificate
 * pushed to it (installCertificate).  A new certificate always goes into
 * the inactive slot and becomes active only after the hub accepted it; a
 * crash at any instant leaves the active slot as it was.
 *
 * Threads: an agent is used by one thread at a time.  Signals: the
 * library installs none; rc_agent_stop may be called from a signal
 * handler (it sets a flag).
 */
#ifndef ROLLCALL_AGENT_H
#define ROLLCALL_AGENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "rollcall/err.h"

struct rc_conf_opt;

/* DPS transport. */
enum rc_agent_transport {
	RC_AGENT_MQTT,
	RC_AGENT_HTTPS,
};

/*
 * The configuration, one field per keyword of agent.conf (docs/agent.md
 * lists them; rc_agent_conf_doc prints them).  Strings are owned by the
 * struct and freed by rc_agent_conf_free.
 */
struct rc_agent_conf {
	char *state_dir; /* slots and the active pointer */
	char *id_scope;
	char *registration_id; /* = the certificate CN (seed rule S2) */
	char *dps_host;
	long long dps_port; /* MQTT or HTTPS port of DPS */
	int transport; /* enum rc_agent_transport */
	char *trust_bundle; /* CA certificates of the servers (PEM) */
	char *bootstrap_cert; /* first certificate (chain PEM) */
	/* its key: PEM with the file keystore, a pkcs11: URI with a token */
	char *bootstrap_key;
	/* "file", or a pkcs11: URI naming the token (and its PIN) */
	char *keystore;
	/* the PKCS#11 module (a module-path in the URI wins) */
	char *pkcs11_module;
	char *key_type; /* p256, p384, rsa2048, rsa3072 */
	long long hub_port; /* 0: the DPS port */
	long long telemetry_interval; /* seconds; 0: none */
	long long telemetry_interval_ms; /* milliseconds, when > 0 */
	long long renew_threshold; /* percent of the lifetime */
	int keep_key; /* renew with the same key */
	long long backoff_min, backoff_max; /* seconds */
	long long keepalive; /* MQTT keepalive, seconds */
	long long op_timeout; /* one DPS registration or hub connect */
};

/* Defaults for every field (rc_agent_conf_free releases them). */
RC_MUST_CHECK int rc_agent_conf_init(struct rc_agent_conf *);
/*
 * Parses len bytes of "keyword value" lines (conf.h syntax) over *c;
 * name is used in messages, which go to err.  rc_conf's codes.
 */
RC_MUST_CHECK int rc_agent_conf_parse(struct rc_agent_conf *, const char *data,
    size_t len, const char *name, char *err, size_t errlen);
/* rc_agent_conf_parse of a file. */
RC_MUST_CHECK int rc_agent_conf_load(struct rc_agent_conf *, const char *path,
    char *err, size_t errlen);
/*
 * The checks a parse cannot make alone: the required keywords are set
 * (state-dir, id-scope, registration-id, dps-host, trust-bundle,
 * bootstrap-cert, bootstrap-key), the keystore is "file" or a pkcs11: URI
 * with a token attribute, the bootstrap key is a file with the file
 * keystore and a pkcs11: URI with a token, the key type exists (p256 or
 * p384 with a token).  RC_EINVAL, err says which.
 */
RC_MUST_CHECK int rc_agent_conf_check(const struct rc_agent_conf *, char *err,
    size_t errlen);
/* The keywords with help and defaults, as a config file. */
void rc_agent_conf_doc(FILE *);
/* NULL-safe; zeroes *c. */
void rc_agent_conf_free(struct rc_agent_conf *);
/* The keyword table, for a front end building its flags from it. */
const struct rc_conf_opt *rc_agent_conf_table(void);

/*
 * State: STATE/state.json names the active slot, the hub assignment and
 * the last roll; STATE/a/ and STATE/b/ hold chain.pem and the key
 * (key.pem, or key.uri for a token key).  Every file is replaced by
 * rename after fsync, never edited in place.
 */
#define RC_AGENT_STATE_MAX (16 * 1024) /* largest state.json */
#define RC_AGENT_HOST_MAX 255
#define RC_AGENT_REASON_MAX 255

struct rc_agent_state {
	char active; /* 'a' or 'b' */
	char hub[RC_AGENT_HOST_MAX + 1]; /* "" until provisioned */
	char device_id[129];
	/* the last roll: kind "renew", "install", "reprovision"; "" if none */
	char roll_kind[16];
	char roll_result[16]; /* "ok" or "failed" */
	char roll_reason[RC_AGENT_REASON_MAX + 1];
	time_t roll_at;
	time_t roll_started; /* a roll in flight; 0 when none */
};

/*
 * Parses state.json text (strict JSON, at most RC_AGENT_STATE_MAX bytes):
 * {"version":1, "active":"a"|"b", "assignedHub":S, "deviceId":S,
 *  "lastRoll":{"kind":S, "result":S, "reason":S, "at":N}, "rolling":N}.
 * Unknown members are ignored; a missing or wrong-typed known member, a
 * string over its bound or with control characters is RC_EPARSE.
 */
RC_MUST_CHECK int rc_agent_state_parse(const char *data, size_t len,
    struct rc_agent_state *out);
/* The JSON text of s; the caller frees *out with rc_free. */
RC_MUST_CHECK int rc_agent_state_dump(const struct rc_agent_state *, char **out,
    size_t *len);
/* Reads STATE/state.json: RC_ENOENT if there is none yet. */
RC_MUST_CHECK int rc_agent_state_load(const char *dir,
    struct rc_agent_state *out);
/* Writes STATE/state.json atomically (write, fsync, rename, fsync dir). */
RC_MUST_CHECK int rc_agent_state_save(const char *dir,
    const struct rc_agent_state *);

/*
 * Method payloads (reference/azure-device-wire.md §6.5), parsed from the
 * untrusted bytes of a direct method request:
 *	rollCertificate		null | {} | {"keepKey": bool}
 *	reprovision		null | {}
 *	installCertificate	{"chain": ["base64 DER", ...]} leaf first, or
 *				{"pem": "PEM text of the chain"}
 * At most RC_AGENT_METHOD_MAX bytes and RC_AGENT_CHAIN_MAX certificates.
 */
#define RC_AGENT_METHOD_MAX (64 * 1024)
#define RC_AGENT_CHAIN_MAX 8

enum rc_agent_method {
	RC_AGENT_M_ROLL,
	RC_AGENT_M_REPROVISION,
	RC_AGENT_M_INSTALL,
};

struct rc_agent_method_req {
	enum rc_agent_method method;
	int keep_key; /* -1: not given */
	STACK_OF(X509) *chain; /* INSTALL only; owned */
};

/*
 * RC_ENOENT for a method name the agent does not have (the reply is a
 * 404), RC_EPARSE / RC_ETOOBIG for a bad payload (400), with why set.
 * *out is cleared on entry; free it with rc_agent_method_clear.
 */
RC_MUST_CHECK int rc_agent_method_parse(const char *name, const void *payload,
    size_t len, struct rc_agent_method_req *out, char *why, size_t whylen);
void rc_agent_method_clear(struct rc_agent_method_req *);

/*
 * A DPS reply (§2.4, §4, §5): status "assigning" (with operationId),
 * "assigned" (with registrationState.assignedHub and .deviceId, and
 * issuedCertificateChain when a CSR was sent), "failed", or an error body
 * ({"errorCode", "message"}).  At most RC_AGENT_DPS_REPLY_MAX bytes.
 */
#define RC_AGENT_DPS_REPLY_MAX (256 * 1024)

enum rc_agent_dps_status {
	RC_AGENT_DPS_ASSIGNING,
	RC_AGENT_DPS_ASSIGNED,
	RC_AGENT_DPS_FAILED, /* status failed, or an error body */
};

struct rc_agent_dps_reply {
	enum rc_agent_dps_status status;
	char operation_id[129];
	char hub[RC_AGENT_HOST_MAX + 1];
	char device_id[129];
	long long error_code;
	char message[RC_AGENT_REASON_MAX + 1];
	STACK_OF(X509) *chain; /* issuedCertificateChain; owned or NULL */
};

RC_MUST_CHECK int rc_agent_dps_reply_parse(const void *body, size_t len,
    struct rc_agent_dps_reply *out);
void rc_agent_dps_reply_clear(struct rc_agent_dps_reply *);

/*
 * Exponential backoff with jitter and a cap: the n-th delay is a random
 * value in [d/2, d] where d = min(max, min * 2^n) (full attempts reset it
 * with rc_agent_backoff_reset).  In milliseconds.
 */
struct rc_agent_backoff {
	long long min_ms, max_ms;
	unsigned attempt;
};

void rc_agent_backoff_init(struct rc_agent_backoff *, long long min_ms,
    long long max_ms);
long long rc_agent_backoff_next(struct rc_agent_backoff *);
void rc_agent_backoff_reset(struct rc_agent_backoff *);

/*
 * Renewal is due when now has passed not_before + threshold% of the
 * lifetime (not_after - not_before).  1 if due, else 0.
 */
int rc_agent_renew_due(time_t not_before, time_t not_after, int threshold,
    time_t now);

/*
 * Checks a pushed chain before installing it (S4b): the leaf's public key
 * is the one of key, its CN is cn, and it verifies to one of anchors
 * through the chain's intermediates at time now.  RC_EINVAL (key or CN
 * mismatch) or rc_x509_verify's codes, with why set.
 */
RC_MUST_CHECK int rc_agent_check_chain(STACK_OF(X509) *chain, EVP_PKEY *key,
    const char *cn, STACK_OF(X509) *anchors, time_t now, char *why,
    size_t whylen);

/* The agent. */
struct rc_agent;

/*
 * A new agent for conf (checked with rc_agent_conf_check; the agent keeps
 * a pointer: conf must outlive it).  Opens the state directory and imports
 * the bootstrap certificate into slot a when there is no state yet.
 */
RC_MUST_CHECK int rc_agent_new(const struct rc_agent_conf *,
    struct rc_agent **out);
/*
 * Runs until rc_agent_stop: provisions if needed, connects, sends
 * telemetry, renews, answers methods, reconnects with backoff.  RC_OK
 * after a stop; an error only for what no retry can fix (the state
 * directory cannot be written, the configuration is unusable).
 */
RC_MUST_CHECK int rc_agent_run(struct rc_agent *);
/* Async-signal-safe: rc_agent_run returns at its next wake-up. */
void rc_agent_stop(struct rc_agent *);
/* Renews now (as rollCertificate does); for embedders.  RC_OK on commit. */
RC_MUST_CHECK int rc_agent_roll(struct rc_agent *, int keep_key);
/* The active state (borrowed; valid until the next call on a). */
const struct rc_agent_state *rc_agent_get0_state(const struct rc_agent *);
/* NULL-safe. */
void rc_agent_free(struct rc_agent *);

#endif
