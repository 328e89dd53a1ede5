/*
 * agent.conf: one table (conf.h) drives the parser, the defaults, the
 * documentation and rollcall-agent's flags.  rc_agent_conf_check adds the
 * rules a single keyword cannot state.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "agent_int.h"
#include "rollcall/agent.h"
#include "rollcall/conf.h"
#include "rollcall/key.h"

static const char *const transports[] = {"mqtt", "https", NULL};

#define OPT(kw, type, field, min, max, def, choices, flags, help)          \
	{                                                                  \
		kw, type, offsetof(struct rc_agent_conf, field), min, max, \
		    def, choices, flags, help                              \
	}

static const struct rc_conf_opt table[] = {
    OPT("state-dir", RC_CONF_PATH, state_dir, 0, 0, NULL, NULL, 0,
        "directory of the slots and the active pointer (mode 0700)"),
    OPT("id-scope", RC_CONF_STRING, id_scope, 0, 0, NULL, NULL, 0,
        "DPS ID scope"),
    OPT("registration-id", RC_CONF_STRING, registration_id, 0, 0, NULL, NULL, 0,
        "registration ID, the CN of the device certificate"),
    OPT("dps-host", RC_CONF_STRING, dps_host, 0, 0, NULL, NULL, 0,
        "DPS host name or address"),
    OPT("dps-port", RC_CONF_INT, dps_port, 1, 65535, "8883", NULL, 0,
        "DPS port (MQTT or HTTPS, per transport)"),
    OPT("transport", RC_CONF_ENUM, transport, 0, 0, "mqtt", transports, 0,
        "DPS transport: mqtt or https"),
    OPT("trust-bundle", RC_CONF_PATH, trust_bundle, 0, 0, NULL, NULL, 0,
        "CA certificates the servers' certificates chain to (PEM)"),
    OPT("bootstrap-cert", RC_CONF_PATH, bootstrap_cert, 0, 0, NULL, NULL, 0,
        "first device certificate and its chain (PEM)"),
    OPT("bootstrap-key", RC_CONF_PATH, bootstrap_key, 0, 0, NULL, NULL, 0,
        "key of the first certificate: PEM file, or pkcs11: URI in the token"),
    OPT("keystore", RC_CONF_STRING, keystore, 0, 0, "file", NULL, 0,
        "file, or a pkcs11: URI of the token holding the keys"),
    OPT("pkcs11-module", RC_CONF_PATH, pkcs11_module, 0, 0,
        "/usr/lib/softhsm/libsofthsm2.so", NULL, 0,
        "PKCS#11 module of the token (pkcs11: keystore)"),
    OPT("key-type", RC_CONF_STRING, key_type, 0, 0, "p256", NULL, 0,
        "type of new keys: p256, p384, rsa2048, rsa3072"),
    OPT("hub-port", RC_CONF_INT, hub_port, 0, 65535, "0", NULL, 0,
        "hub MQTT port; 0: the DPS port (8883 with https)"),
    OPT("telemetry-interval", RC_CONF_DURATION, telemetry_interval, 0, 86400,
        "10s", NULL, 0, "time between telemetry messages; 0: none"),
    OPT("telemetry-interval-ms", RC_CONF_INT, telemetry_interval_ms, 0,
        86400000, "0", NULL, 0,
        "the same in milliseconds, when set (e.g. 200); 0: use "
        "telemetry-interval"),
    OPT("renew-threshold", RC_CONF_INT, renew_threshold, 1, 99, "80", NULL, 0,
        "renew once this percentage of the lifetime has passed"),
    OPT("keep-key", RC_CONF_BOOL, keep_key, 0, 0, "no", NULL, 0,
        "renew with the same key instead of a new one"),
    OPT("backoff-min", RC_CONF_DURATION, backoff_min, 1, 3600, "1s", NULL, 0,
        "first retry delay"),
    OPT("backoff-max", RC_CONF_DURATION, backoff_max, 1, 86400, "5m", NULL, 0,
        "longest retry delay"),
    OPT("keepalive", RC_CONF_DURATION, keepalive, 5, 1800, "60s", NULL, 0,
        "MQTT keepalive"),
    OPT("op-timeout", RC_CONF_DURATION, op_timeout, 1, 600, "30s", NULL, 0,
        "time allowed for one DPS registration or hub connect"),
    {NULL, 0, 0, 0, 0, NULL, NULL, 0, NULL},
};

const struct rc_conf_opt *
rc_agent_conf_table(void)
{
	return table;
}

int
rc_agent_conf_init(struct rc_agent_conf *c)
{
	memset(c, 0, sizeof(*c));
	return rc_conf_defaults(table, c);
}

int
rc_agent_conf_parse(struct rc_agent_conf *c, const char *data, size_t len,
    const char *name, char *err, size_t errlen)
{
	return rc_conf_parse(table, c, data, len, name, err, errlen);
}

int
rc_agent_conf_load(struct rc_agent_conf *c, const char *path, char *err,
    size_t errlen)
{
	return rc_conf_load(table, c, path, err, errlen);
}

static int
missing(const char *kw, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s is required", kw);
	return RC_EINVAL;
}

/* A token keystore: URIs that name a token, keys it can make. */
static int
check_token(const struct rc_agent_conf *c, enum rc_key_type t, char *err,
    size_t errlen)
{
	struct agent_p11_uri u;

	if (agent_p11_uri_parse(c->keystore, &u) != RC_OK ||
	    u.token[0] == '\0') {
		snprintf(err, errlen,
		    "keystore: not a pkcs11: URI with a token attribute");
		return RC_EINVAL;
	}
	if (strncmp(c->bootstrap_key, "pkcs11:", 7) != 0 ||
	    agent_p11_uri_parse(c->bootstrap_key, &u) != RC_OK ||
	    (u.object[0] == '\0' && u.idlen == 0)) {
		snprintf(err, errlen,
		    "bootstrap-key: with a token, a pkcs11: URI naming the key "
		    "(object or id)");
		return RC_EINVAL;
	}
	if (t != RC_KEY_P256 && t != RC_KEY_P384) {
		snprintf(err, errlen, "key-type: p256 or p384 with a token");
		return RC_EINVAL;
	}
	return RC_OK;
}

int
rc_agent_conf_check(const struct rc_agent_conf *c, char *err, size_t errlen)
{
	enum rc_key_type t;

	if (c->state_dir == NULL)
		return missing("state-dir", err, errlen);
	if (c->id_scope == NULL || c->id_scope[0] == '\0')
		return missing("id-scope", err, errlen);
	if (c->registration_id == NULL || c->registration_id[0] == '\0')
		return missing("registration-id", err, errlen);
	if (c->dps_host == NULL || c->dps_host[0] == '\0')
		return missing("dps-host", err, errlen);
	if (c->trust_bundle == NULL)
		return missing("trust-bundle", err, errlen);
	if (c->bootstrap_cert == NULL)
		return missing("bootstrap-cert", err, errlen);
	if (c->keystore == NULL ||
	    (strcmp(c->keystore, "file") != 0 &&
	        strncmp(c->keystore, "pkcs11:", 7) != 0)) {
		snprintf(err, errlen, "keystore: 'file' or a pkcs11: URI");
		return RC_EINVAL;
	}
	if (c->bootstrap_key == NULL)
		return missing("bootstrap-key", err, errlen);
	if (rc_key_type_parse(c->key_type, &t) != RC_OK) {
		snprintf(err, errlen, "key-type: '%s' is not a key type",
		    c->key_type);
		return RC_EINVAL;
	}
	if (strcmp(c->keystore, "file") != 0)
		return check_token(c, t, err, errlen);
	if (c->backoff_min > c->backoff_max) {
		snprintf(err, errlen, "backoff-min is above backoff-max");
		return RC_EINVAL;
	}
	return RC_OK;
}

void
rc_agent_conf_doc(FILE *f)
{
	if (rc_conf_doc(table, f) != RC_OK)
		fprintf(f, "# (documentation unavailable)\n");
}

void
rc_agent_conf_free(struct rc_agent_conf *c)
{
	if (c == NULL)
		return;
	rc_conf_free(table, c);
	memset(c, 0, sizeof(*c));
}
