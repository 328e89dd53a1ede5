/*
 * libmosquitto, driven synchronously: open returns after CONNACK (or a
 * failure), loop runs the network for a while and delivers messages to
 * the callback.  MQTT 3.1.1 over TLS 1.2 or later, the server's name
 * checked against the trust bundle (reference/azure-device-wire.md §1),
 * the client certificate chain and key from a slot: a file, or a token
 * key through the OpenSSL engine (keystore_pkcs11.c, token_ctx below).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "agent_int.h"
#include "rollcall/log.h"

static void
on_connect(struct mosquitto *m, void *arg, int rc)
{
	struct agent_mqtt *q = arg;

	(void)m;
	q->connack = rc;
}

static void
on_disconnect(struct mosquitto *m, void *arg, int rc)
{
	struct agent_mqtt *q = arg;

	(void)m;
	(void)rc;
	q->lost = 1;
}

static void
on_message(struct mosquitto *m, void *arg, const struct mosquitto_message *msg)
{
	struct agent_mqtt *q = arg;

	(void)m;
	if (q->on_msg != NULL)
		q->on_msg(q->arg, msg->topic, msg->payload,
		    msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0);
}

static void
on_publish(struct mosquitto *m, void *arg, int mid)
{
	struct agent_mqtt *q = arg;

	(void)m;
	if (q->on_ack != NULL)
		q->on_ack(q->arg, mid);
}

/* The server's name or address, checked in its certificate. */
static int
check_peer(SSL_CTX *ctx, const char *host)
{
	X509_VERIFY_PARAM *vp = SSL_CTX_get0_param(ctx);
	ASN1_OCTET_STRING *ip;

	if ((ip = a2i_IPADDRESS(host)) != NULL) {
		ASN1_OCTET_STRING_free(ip);
		return X509_VERIFY_PARAM_set1_ip_asc(vp, host);
	}
	return X509_VERIFY_PARAM_set1_host(vp, host, 0);
}

/*
 * A token key.  libmosquitto 2.0.11 (Debian 12) fopen()s its key file
 * even with MOSQ_OPT_TLS_KEYFORM "engine", so a pkcs11: URI cannot be its
 * key file; it gets a whole SSL_CTX instead, holding the chain and the
 * token's key (signatures made by the token through the engine,
 * keystore_pkcs11.c).  Without its defaults (MOSQ_OPT_SSL_CTX_WITH_DEFAULTS
 * breaks its server name check in 2.0.11: the callback's ex_data index is
 * only made for contexts it creates), so this context checks the server
 * as set_tls does: the trust bundle, the name or address, TLS 1.2 or
 * later.
 */
static int
token_ctx(struct agent_mqtt *q, const struct rc_agent_conf *c,
    const struct agent_ident *id, const char *host)
{
	SSL_CTX *ctx = NULL;
	EVP_PKEY *key = NULL;
	int rc;

	if ((rc = agent_p11_tls_key(id->key, &key)) != RC_OK)
		return rc;
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		rc = RC_ENOMEM;
		goto out;
	}
	rc = RC_ECRYPTO;
	if (SSL_CTX_use_certificate_chain_file(ctx, id->chain) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		rc_log_ssl("mqtt: %s and the token key", id->chain);
		goto out;
	}
	if (SSL_CTX_load_verify_locations(ctx, c->trust_bundle, NULL) != 1 ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    check_peer(ctx, host) != 1) {
		rc_log_ssl("mqtt: TLS context for %s", host);
		goto out;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (mosquitto_void_option(q->m, MOSQ_OPT_SSL_CTX, ctx) !=
	        MOSQ_ERR_SUCCESS ||
	    mosquitto_int_option(q->m, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0) !=
	        MOSQ_ERR_SUCCESS)
		goto out;
	rc = RC_OK;
out:
	SSL_CTX_free(ctx); /* libmosquitto holds its own reference */
	EVP_PKEY_free(key);
	return rc;
}

/* libmosquitto's own lines (TLS errors among them), with -v. */
static void
on_log(struct mosquitto *m, void *arg, int level, const char *line)
{
	(void)m;
	(void)arg;
	if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING))
		rc_log_debug("mqtt: %s", line);
}

static int
set_tls(struct agent_mqtt *q, const struct rc_agent_conf *c,
    const struct agent_ident *id, const char *host)
{
	if (id->engine)
		return token_ctx(q, c, id, host);
	if (mosquitto_tls_set(q->m, c->trust_bundle, NULL, id->chain, id->key,
	        NULL) != MOSQ_ERR_SUCCESS ||
	    mosquitto_tls_opts_set(q->m, 1, "tlsv1.2", NULL) !=
	        MOSQ_ERR_SUCCESS ||
	    mosquitto_tls_insecure_set(q->m, 0) != MOSQ_ERR_SUCCESS)
		return RC_EINVAL;
	return RC_OK;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
agent_mqtt_open(struct agent_mqtt *q, const struct rc_agent_conf *c,
    const struct agent_ident *id, const char *host, int port,
    const char *client_id, const char *username, int *connack)
{
	long long deadline;
	int rc;

	*connack = -1;
	q->connack = -1;
	q->lost = 0;
	if ((q->m = mosquitto_new(client_id, 1, q)) == NULL)
		return RC_ENOMEM;
	mosquitto_connect_callback_set(q->m, on_connect);
	mosquitto_disconnect_callback_set(q->m, on_disconnect);
	mosquitto_message_callback_set(q->m, on_message);
	mosquitto_publish_callback_set(q->m, on_publish);
	mosquitto_log_callback_set(q->m, on_log);
	if (mosquitto_int_option(q->m, MOSQ_OPT_PROTOCOL_VERSION,
	        MQTT_PROTOCOL_V311) != MOSQ_ERR_SUCCESS ||
	    mosquitto_username_pw_set(q->m, username, NULL) !=
	        MOSQ_ERR_SUCCESS) {
		rc = RC_EINVAL;
		goto fail;
	}
	if ((rc = set_tls(q, c, id, host)) != RC_OK)
		goto fail;
	if ((rc = mosquitto_connect(q->m, host, port, (int)c->keepalive)) !=
	    MOSQ_ERR_SUCCESS) {
		rc_log_warnx("mqtt %s:%d: %s", host, port,
		    rc == MOSQ_ERR_ERRNO ? strerror(errno)
		                         : mosquitto_strerror(rc));
		rc = RC_EIO;
		goto fail;
	}
	deadline = now_ms() + c->op_timeout * 1000;
	while (q->connack < 0 && !q->lost && now_ms() < deadline)
		if (mosquitto_loop(q->m, 100, 1) != MOSQ_ERR_SUCCESS &&
		    q->connack < 0)
			break;
	*connack = q->connack;
	if (q->connack == 0)
		return RC_OK;
	rc = q->connack == 5 || q->connack == 4 ? RC_EAUTH : RC_EIO;
fail:
	agent_mqtt_close(q);
	return rc;
}

int
agent_mqtt_loop(struct agent_mqtt *q, int ms)
{
	int rc;

	if (q->m == NULL)
		return RC_EIO;
	rc = mosquitto_loop(q->m, ms, 1);
	if (rc != MOSQ_ERR_SUCCESS || q->lost)
		return RC_EIO;
	return RC_OK;
}

int
agent_mqtt_pub(struct agent_mqtt *q, const char *topic, const void *p, size_t n,
    int qos)
{
	if (q->m == NULL || n > 256 * 1024)
		return RC_EINVAL;
	return mosquitto_publish(q->m, &q->last_mid, topic, (int)n, p, qos,
	           0) == MOSQ_ERR_SUCCESS
	    ? RC_OK
	    : RC_EIO;
}

int
agent_mqtt_sub(struct agent_mqtt *q, const char *topic, int qos)
{
	if (q->m == NULL)
		return RC_EINVAL;
	return mosquitto_subscribe(q->m, NULL, topic, qos) == MOSQ_ERR_SUCCESS
	    ? RC_OK
	    : RC_EIO;
}

void
agent_mqtt_close(struct agent_mqtt *q)
{
	if (q->m == NULL)
		return;
	if (q->connack == 0 && !q->lost) {
		(void)mosquitto_disconnect(q->m);
		(void)mosquitto_loop(q->m, 50, 1);
	}
	mosquitto_destroy(q->m);
	q->m = NULL;
	q->connack = -1;
}
