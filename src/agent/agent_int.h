/*
 * Internal to rollcall-agent's library (src/agent): the agent's struct and
 * the parts agent.c coordinates (keystore, slots, MQTT client, DPS, hub).
 */
#ifndef ROLLCALL_AGENT_INT_H
#define ROLLCALL_AGENT_INT_H

#include <signal.h>
#include <stddef.h>

#include <mosquitto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "rollcall/agent.h"

#define AGENT_PATH_MAX 1024
#define AGENT_KEY_REF_MAX 2048 /* a key file path or a token key URI */

/* What a TLS client presents: a chain file and a key (file or engine). */
struct agent_ident {
	char chain[AGENT_PATH_MAX];
	char key[AGENT_KEY_REF_MAX]; /* a file, or a pkcs11: URI */
	int engine; /* key is a token URI (keystore_pkcs11.c) */
};

/* A slot: its directory and what it holds. */
struct agent_slot {
	char name; /* 'a' or 'b' */
	STACK_OF(X509) *chain; /* leaf first; NULL if empty */
	EVP_PKEY *key; /* public half at least */
	struct agent_ident ident;
};

/* One pending method action, run by the main loop after the reply. */
struct agent_action {
	int pending;
	time_t at; /* not before: the reply must reach the caller first */
	struct rc_agent_method_req req;
};

/* libmosquitto, synchronously (mqtt.c). */
struct agent_mqtt {
	struct mosquitto *m;
	int connack; /* -1 until CONNACK */
	int lost;
	void (*on_msg)(void *, const char *topic, const void *p, size_t n);
	/* a QoS 1 PUBLISH of ours was acknowledged (PUBACK) */
	void (*on_ack)(void *, int mid);
	void *arg;
	int last_mid; /* of the last agent_mqtt_pub */
};

/*
 * Telemetry sent at QoS 1 and not acknowledged yet: published again after
 * a reconnect (a new libmosquitto instance forgets what was in flight).
 */
#define AGENT_UNACKED_MAX 64
struct agent_unacked {
	int mid;
	unsigned long seq;
	time_t time;
};

struct rc_agent {
	const struct rc_agent_conf *conf;
	struct rc_agent_state st;
	STACK_OF(X509) *anchors; /* trust bundle */
	struct agent_slot slot; /* the active slot, loaded */
	struct agent_mqtt hub;
	int connected;
	struct rc_agent_backoff bo;
	struct agent_action action;
	volatile sig_atomic_t stop;
	unsigned long seq, rid;
	/* the reported patch not yet acknowledged (0: none), sent again */
	unsigned long report_rid;
	time_t report_next;
	int64_t next_telemetry_ms; /* CLOCK_MONOTONIC */
	struct agent_unacked unacked[AGENT_UNACKED_MAX];
	size_t nunacked;
};

/* state.c: slot files. */
RC_MUST_CHECK int agent_slot_dir(const char *state, char slot, char *out,
    size_t outsize);
RC_MUST_CHECK int agent_slot_load(const struct rc_agent_conf *, char name,
    struct agent_slot *out);
void agent_slot_clear(struct agent_slot *);
RC_MUST_CHECK int agent_slot_put_chain(const char *state, char slot,
    STACK_OF(X509) *chain);
RC_MUST_CHECK int agent_write_file(const char *path, const void *p, size_t n);

/*
 * keystore_pkcs11.c: a pkcs11: URI (RFC 7512) as the agent reads it.
 * Path attributes token, object, id, type (and the token-describing ones,
 * accepted and ignored), query attributes pin-value and module-path.
 */
#define AGENT_P11_TEXT_MAX 128 /* object label, pin (decoded) */
#define AGENT_P11_ID_MAX 64

struct agent_p11_uri {
	char token[33]; /* CK_TOKEN_INFO label: 32 bytes */
	char object[AGENT_P11_TEXT_MAX + 1];
	unsigned char id[AGENT_P11_ID_MAX];
	size_t idlen;
	char type[8]; /* "", "private", "public", "cert" */
	char pin[AGENT_P11_TEXT_MAX + 1];
	int has_pin;
	char module[AGENT_PATH_MAX]; /* "" if not given */
};

RC_MUST_CHECK int agent_p11_uri_parse(const char *uri,
    struct agent_p11_uri *out);
/* The label of a slot's key: "rollcall:<registration ID>:<slot>". */
RC_MUST_CHECK int agent_p11_slot_label(const char *regid, char slot, char *out,
    size_t size);
/*
 * The URI of a private key, as libp11's engine reads it: token, object,
 * id, type=private and pin-value from u (module-path left out).
 */
RC_MUST_CHECK int agent_p11_key_uri(const struct agent_p11_uri *u, char *out,
    size_t size);
RC_MUST_CHECK int agent_p11_key_new(const struct rc_agent_conf *, char slot,
    EVP_PKEY **key);
RC_MUST_CHECK int agent_p11_key_copy(const struct rc_agent_conf *, char from,
    char to);
RC_MUST_CHECK int agent_p11_key_load(const struct rc_agent_conf *, char slot,
    EVP_PKEY **key, struct agent_ident *id);
/* The key of a URI agent_p11_key_load returned, for a TLS session. */
RC_MUST_CHECK int agent_p11_tls_key(const char *uri, EVP_PKEY **key);
RC_MUST_CHECK int agent_p11_key_import(const struct rc_agent_conf *, char slot,
    const char *uri);

/* keystore.c: file keys; keystore_pkcs11.c: token keys. */
RC_MUST_CHECK int agent_key_new(const struct rc_agent_conf *, char slot,
    EVP_PKEY **pub);
RC_MUST_CHECK int agent_key_copy(const struct rc_agent_conf *, char from,
    char to);
RC_MUST_CHECK int agent_key_load(const struct rc_agent_conf *, char slot,
    EVP_PKEY **key, struct agent_ident *id);
RC_MUST_CHECK int agent_key_import(const struct rc_agent_conf *, char slot,
    const char *pem_path);

/* mqtt.c */
RC_MUST_CHECK int agent_mqtt_open(struct agent_mqtt *,
    const struct rc_agent_conf *, const struct agent_ident *, const char *host,
    int port, const char *client_id, const char *username, int *connack);
RC_MUST_CHECK int agent_mqtt_loop(struct agent_mqtt *, int ms);
RC_MUST_CHECK int agent_mqtt_pub(struct agent_mqtt *, const char *topic,
    const void *p, size_t n, int qos);
RC_MUST_CHECK int agent_mqtt_sub(struct agent_mqtt *, const char *topic,
    int qos);
void agent_mqtt_close(struct agent_mqtt *);

/* dps.c: one registration (with a CSR when csr is set). */
RC_MUST_CHECK int agent_dps_register(struct rc_agent *,
    const struct agent_ident *, X509_REQ *csr, struct rc_agent_dps_reply *);

/* hub.c */
RC_MUST_CHECK int agent_hub_connect(struct rc_agent *,
    const struct agent_slot *, int *connack);
void agent_hub_close(struct rc_agent *);
RC_MUST_CHECK int agent_hub_telemetry(struct rc_agent *);
RC_MUST_CHECK int agent_hub_report(struct rc_agent *);

#endif
