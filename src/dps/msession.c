/*
 * DPS over MQTT (reference/azure-device-wire.md §2): one device's
 * connection on the shared MQTT listener, once its CONNECT username named
 * this DPS's ID scope.  Pure packet in, packets out: the daemon frames
 * packets and writes what comes back (daemon/mqttd.c).
 *
 * CONNECT needs a client certificate, a well-formed username for our
 * scope and ClientId = the username's registration ID; anything else is
 * CONNACK 5.  Whether the certificate may register is decided per
 * request, as DPS does, and refused with a 401 reply that the SDKs
 * report as UnauthorizedError (§10.7).
 *
 * After CONNECT: SUBSCRIBE to $dps/registrations/res/# (granted QoS 1 at
 * most; other filters refused with 0x80), PUBLISH of the register and
 * poll topics (QoS 0 or 1; PUBACK for 1), PINGREQ, UNSUBSCRIBE,
 * DISCONNECT.  Replies go out at QoS 0 on the reply topic with $rid
 * echoed.  QoS 2, a topic that is not a DPS request, or a malformed
 * packet closes the connection.
 */
#include <string.h>

#include <openssl/x509.h>

#include "dps/msession.h"
#include "rollcall/dpswire.h"
#include "rollcall/json.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"
#include "rollcall/mqtt.h"
#include "rollcall/x509.h"

/* Longest a silent connection is kept (keepalive 0 is not forever). */
#define KEEPALIVE_CAP_S 1767
#define RES_FILTER "$dps/registrations/res/#"

struct dps_msession {
	struct dps_prov *p;
	STACK_OF(X509) *chain;
	char regid[RC_DPSWIRE_REGID_MAX + 1];
	char peer[64];
	int connected;
	int timeout_s;
};

struct dps_msession *
dps_msession_new(struct dps_prov *p, STACK_OF(X509) *chain, const char *peer)
{
	struct dps_msession *s;

	if ((s = rc_calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if (chain != NULL && (s->chain = X509_chain_up_ref(chain)) == NULL) {
		rc_free(s);
		return NULL;
	}
	s->p = p;
	snprintf(s->peer, sizeof(s->peer), "%s", peer != NULL ? peer : "-");
	return s;
}

void
dps_msession_free(struct dps_msession *s)
{
	if (s == NULL)
		return;
	if (s->chain != NULL)
		sk_X509_pop_free(s->chain, X509_free);
	rc_free(s);
}

int
dps_msession_timeout(const struct dps_msession *s)
{
	return s->connected ? s->timeout_s : 0;
}

int
dps_msession_is_dps(const struct dps_prov *p, const uint8_t *pkt, size_t len)
{
	struct rc_mqtt_connect c;
	const char *scope = dps_prov_id_scope(p);
	size_t n = strlen(scope);

	if (rc_mqtt_decode_connect(pkt, len, &c) != RC_OK || !c.has_username)
		return 0;
	return c.username.len > n + 15 &&
	    strncmp(c.username.p, scope, n) == 0 &&
	    strncmp(c.username.p + n, "/registrations/", 15) == 0;
}

static void
refuse_log(const struct dps_msession *s, const char *why)
{
	rc_log_info("dps: %s: mqtt device '%s' refused: %s", s->peer,
	    s->regid[0] != '\0' ? s->regid : "-", why);
}

static int
on_connect(struct dps_msession *s, const uint8_t *pkt, size_t len,
    struct rc_wbuf *out)
{
	struct rc_dpswire_username u;
	struct rc_mqtt_connect c;
	char why[RC_DPSWIRE_WHY_SIZE];
	unsigned t;
	int rc;

	if ((rc = rc_mqtt_decode_connect(pkt, len, &c)) != RC_OK) {
		refuse_log(s, "malformed CONNECT");
		return rc;
	}
	if (rc_dpswire_username(c.username.p, c.username.len, &u, why,
	        sizeof(why)) != RC_OK) {
		refuse_log(s, why);
		goto refuse;
	}
	snprintf(s->regid, sizeof(s->regid), "%s", u.registration_id);
	if (strcmp(u.scope, dps_prov_id_scope(s->p)) != 0) {
		refuse_log(s, "another ID scope");
		goto refuse;
	}
	if (!rc_mqtt_str_eq(&c.client_id, u.registration_id)) {
		refuse_log(s, "ClientId is not the registration ID");
		goto refuse;
	}
	if (s->chain == NULL || sk_X509_num(s->chain) == 0) {
		refuse_log(s, "no client certificate");
		goto refuse;
	}
	if ((rc = rc_mqtt_encode_connack(out, 0, 0)) != RC_OK)
		return rc;
	t = c.keepalive + c.keepalive / 2u;
	s->timeout_s =
	    c.keepalive == 0 || t > KEEPALIVE_CAP_S ? KEEPALIVE_CAP_S : (int)t;
	s->connected = 1;
	rc_log_debug("dps: %s: mqtt device %s connected (%s)", s->peer,
	    s->regid, u.client_version);
	return RC_OK;
refuse:
	if (rc_mqtt_encode_connack(out, 0, RC_MQTT_CONNACK_NOT_AUTHORIZED) !=
	    RC_OK)
		return RC_ENOMEM;
	return RC_EAUTH;
}

static int
on_subscribe(const uint8_t *pkt, size_t len, struct rc_wbuf *out)
{
	struct rc_mqtt_subscribe sub;
	struct rc_mqtt_str f;
	uint8_t codes[32], qos;
	size_t i;
	int rc;

	if ((rc = rc_mqtt_decode_subscribe(pkt, len, &sub)) != RC_OK)
		return rc;
	if (sub.count > sizeof(codes))
		return RC_ETOOBIG;
	for (i = 0; i < sub.count; i++) {
		if ((rc = rc_mqtt_subscribe_next(&sub, &f, &qos)) != RC_OK)
			return rc;
		codes[i] = rc_mqtt_str_eq(&f, RES_FILTER)
		    ? (qos > 1 ? 1 : qos)
		    : RC_MQTT_SUBACK_FAILURE;
	}
	return rc_mqtt_encode_suback(out, sub.packet_id, codes, sub.count);
}

static int
reply(struct dps_msession *s, const char *rid, struct dps_answer *a,
    struct rc_wbuf *out)
{
	struct rc_mqtt_publish pub;
	char topic[RC_DPSWIRE_TOPIC_SIZE], *body = NULL;
	size_t len;
	int rc;

	if ((rc = rc_dpswire_reply_topic(a->status, rid, a->retry_after, topic,
	         sizeof(topic))) != RC_OK ||
	    (rc = rc_json_dump(a->body, 0, &body, &len)) != RC_OK) {
		rc_log_warnx("dps: %s: cannot build a %d reply", s->peer,
		    a->status);
		return rc;
	}
	memset(&pub, 0, sizeof(pub));
	pub.topic = rc_mqtt_cstr(topic);
	pub.payload.p = (const uint8_t *)body;
	pub.payload.len = len;
	rc = rc_mqtt_encode_publish(out, &pub);
	rc_free(body);
	return rc;
}

static int
on_publish(struct dps_msession *s, const uint8_t *pkt, size_t len,
    struct rc_wbuf *out)
{
	struct rc_mqtt_publish pub;
	struct rc_dpswire_topic t;
	struct dps_answer a;
	char why[RC_DPSWIRE_WHY_SIZE];
	int rc;

	if ((rc = rc_mqtt_decode_publish(pkt, len, &pub)) != RC_OK) {
		refuse_log(s, "malformed PUBLISH");
		return rc;
	}
	if (pub.qos == 2) {
		refuse_log(s, "QoS 2 PUBLISH");
		return RC_EUNSUPPORTED;
	}
	if ((rc = rc_dpswire_topic(pub.topic.p, pub.topic.len, &t, why,
	         sizeof(why))) != RC_OK) {
		refuse_log(s,
		    rc == RC_ENOENT ? "not a DPS request topic" : why);
		return RC_EAUTH;
	}
	if (pub.qos == 1 &&
	    (rc = rc_mqtt_encode_puback(out, pub.packet_id)) != RC_OK)
		return rc;
	if (t.op == RC_DPSWIRE_REGISTER)
		dps_prov_register(s->p, DPS_MQTT, s->chain, s->regid,
		    pub.payload.p, pub.payload.len, &a);
	else
		dps_prov_poll(s->p, s->chain, s->regid, t.operation_id, &a);
	rc = reply(s, t.rid, &a, out);
	dps_answer_free(&a);
	return rc;
}

int
dps_msession_packet(struct dps_msession *s, const struct rc_mqtt_fixed *hdr,
    const uint8_t *pkt, size_t len, struct rc_wbuf *out)
{
	struct rc_mqtt_unsubscribe un;
	int rc;

	if (!s->connected) {
		if (hdr->type != RC_MQTT_CONNECT) {
			refuse_log(s, "first packet is not CONNECT");
			return RC_EPARSE;
		}
		return on_connect(s, pkt, len, out);
	}
	switch (hdr->type) {
	case RC_MQTT_PUBLISH:
		return on_publish(s, pkt, len, out);
	case RC_MQTT_SUBSCRIBE:
		return on_subscribe(pkt, len, out);
	case RC_MQTT_UNSUBSCRIBE:
		if ((rc = rc_mqtt_decode_unsubscribe(pkt, len, &un)) != RC_OK)
			return rc;
		return rc_mqtt_encode_unsuback(out, un.packet_id);
	case RC_MQTT_PUBACK:
		return RC_OK;
	case RC_MQTT_PINGREQ:
		if ((rc = rc_mqtt_decode_pingreq(pkt, len)) != RC_OK)
			return rc;
		return rc_mqtt_encode_pingresp(out);
	case RC_MQTT_DISCONNECT:
		return RC_ENOENT; /* closes, nothing to answer */
	default:
		refuse_log(s, "unexpected packet");
		return RC_EPARSE;
	}
}
