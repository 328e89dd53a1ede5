/*
 * libmosquitto, driven synchronously: open returns after CONNACK (or a
 * failure), loop runs the network for a while and delivers messages to
 * the callback.  MQTT 3.1.1 over TLS 1.2 or later, the server's name
 * checked against the trust bundle (reference/azure-device-wire.md §1),
 * the client certificate chain and key from a slot: a file, or a token
 * key through the OpenSSL engine (keystore_engine.c).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

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

static int
set_tls(struct agent_mqtt *q, const struct rc_agent_conf *c,
    const struct agent_ident *id)
{
	if (id->engine &&
	    (mosquitto_string_option(q->m, MOSQ_OPT_TLS_ENGINE, "pkcs11") !=
	            MOSQ_ERR_SUCCESS ||
	        mosquitto_string_option(q->m, MOSQ_OPT_TLS_KEYFORM, "engine") !=
	            MOSQ_ERR_SUCCESS))
		return RC_EUNSUPPORTED;
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
	if (mosquitto_int_option(q->m, MOSQ_OPT_PROTOCOL_VERSION,
	        MQTT_PROTOCOL_V311) != MOSQ_ERR_SUCCESS ||
	    mosquitto_username_pw_set(q->m, username, NULL) !=
	        MOSQ_ERR_SUCCESS) {
		rc = RC_EINVAL;
		goto fail;
	}
	if ((rc = set_tls(q, c, id)) != RC_OK)
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
	return mosquitto_publish(q->m, NULL, topic, (int)n, p, qos, 0) ==
	        MOSQ_ERR_SUCCESS
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
