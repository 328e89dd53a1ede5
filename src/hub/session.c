/*
 * One device's MQTT 3.1.1 session on a hub (hub.h; azure-device-wire.md
 * §6): the state machine over packets the worker has framed.
 *
 * Rules it enforces: the first packet is CONNECT [MQTT-3.1.0-1] and there
 * is only one [MQTT-3.1.0-2]; protocol level 4 only (else CONNACK 1);
 * a client certificate, a ClientId that is a device ID (modules are not
 * served yet), a username "{host}/{deviceId}/?..." naming the same device,
 * and hub_auth_check passing (else CONNACK 5, seed rule S5); QoS 2
 * PUBLISH closes the connection as IoT Hub does (§6.7); SUBSCRIBE grants
 * at most QoS 1 and only the device's own filters (else 0x80).  Every
 * refusal is logged once with the peer, the device and the reason.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hub/hub_int.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"

struct hub_session *
hub_session_new(struct hub *const *hubs, size_t nhubs,
    const struct hub_session_tls *tls, const struct hub_session_io *io,
    void *io_arg)
{
	struct hub_session *s;

	if ((s = rc_calloc(1, sizeof(*s))) == NULL)
		return NULL;
	atomic_init(&s->refs, 1);
	s->hubs = hubs;
	s->nhubs = nhubs;
	s->io = io;
	s->io_arg = io_arg;
	snprintf(s->peer, sizeof(s->peer), "%s",
	    tls->peer != NULL ? tls->peer : "-");
	if (tls->sni != NULL && (s->sni = rc_strdup(tls->sni)) == NULL)
		goto fail;
	if (tls->leaf != NULL && X509_up_ref(tls->leaf) == 1)
		s->leaf = tls->leaf;
	if (tls->chain != NULL &&
	    (s->chain = X509_chain_up_ref(tls->chain)) == NULL)
		goto fail;
	return s;
fail:
	hub_session_unref(s);
	return NULL;
}

void
hub_session_ref(struct hub_session *s)
{
	atomic_fetch_add(&s->refs, 1);
}

void
hub_session_unref(struct hub_session *s)
{
	if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	X509_free(s->leaf);
	sk_X509_pop_free(s->chain, X509_free);
	rc_free(s->sni);
	rc_free(s);
}

void
hub_session_set_conn(struct hub_session *s, void *conn)
{
	s->conn = conn;
}

void *
hub_session_get0_conn(struct hub_session *s)
{
	return s->conn;
}

int
hub_session_timeout(const struct hub_session *s)
{
	return s->state == SESSION_UP ? s->timeout_s : 0;
}

void
hub_session_closed(struct hub_session *s)
{
	s->state = SESSION_DOWN;
	hub_table_remove(s->hub, s);
}

/* The server side timeout for a keepalive (azure-device-wire §6.1). */
static int
timeout_for(unsigned keepalive)
{
	unsigned t = keepalive + keepalive / 2;

	if (keepalive == 0 || t > HUB_KEEPALIVE_CAP_S)
		return HUB_KEEPALIVE_CAP_S;
	return (int)t;
}

static void
refuse_log(struct hub_session *s, const char *device, const char *why)
{
	rc_log_info("hub %s: %s: device '%.128s' refused: %s",
	    s->hub != NULL ? hub_name(s->hub) : "-", s->peer, device, why);
}

/*
 * The host and device of a username "{host}/{deviceId}/?...": host up
 * to the first '/' without a ":port" (node appends it, §6.1).
 */
static int
split_username(const struct rc_mqtt_str *u, char *host, size_t hostsize,
    char *dev, size_t devsize)
{
	struct rc_mqtt_str h, d;
	const char *slash, *end = u->p + u->len, *colon;

	if ((slash = memchr(u->p, '/', u->len)) == NULL)
		return RC_EPARSE;
	h.p = u->p;
	h.len = (size_t)(slash - u->p);
	if ((colon = memchr(h.p, ':', h.len)) != NULL)
		h.len = (size_t)(colon - h.p);
	d.p = slash + 1;
	for (d.len = 0; d.p + d.len < end && d.p[d.len] != '/'; d.len++)
		;
	if (h.len == 0 || d.len == 0 ||
	    rc_mqtt_str_copy(&h, host, hostsize) != RC_OK ||
	    rc_mqtt_str_copy(&d, dev, devsize) != RC_OK)
		return RC_EPARSE;
	return RC_OK;
}

/* The hub for a CONNECT: the username's host, else SNI, else the only one. */
static struct hub *
route(struct hub_session *s, const char *host)
{
	size_t i;

	for (i = 0; i < s->nhubs; i++)
		if (hub_has_host(s->hubs[i], host))
			return s->hubs[i];
	for (i = 0; s->sni != NULL && i < s->nhubs; i++)
		if (hub_has_host(s->hubs[i], s->sni))
			return s->hubs[i];
	return s->nhubs == 1 ? s->hubs[0] : NULL;
}

/* Who the CONNECT claims to be; a CONNACK code other than 0 refuses. */
static int
identify(struct hub_session *s, const struct rc_mqtt_connect *c,
    const char **why)
{
	char host[256], dev[RC_HUB_MAX_DEVICE_ID + 1];

	if (rc_mqtt_str_copy(&c->client_id, s->device_id,
	        sizeof(s->device_id)) != RC_OK ||
	    c->client_id.len == 0) {
		*why = "client ID empty or too long";
		return RC_MQTT_CONNACK_IDENTIFIER;
	}
	if (strchr(s->device_id, '/') != NULL) {
		*why = "module identities are not served";
		return RC_MQTT_CONNACK_NOT_AUTHORIZED;
	}
	if (!c->has_username ||
	    split_username(&c->username, host, sizeof(host), dev,
	        sizeof(dev)) != RC_OK) {
		*why = "username is not {host}/{deviceId}/?...";
		return RC_MQTT_CONNACK_NOT_AUTHORIZED;
	}
	if (strcmp(dev, s->device_id) != 0) {
		*why = "device in username differs from the client ID";
		return RC_MQTT_CONNACK_NOT_AUTHORIZED;
	}
	if ((s->hub = route(s, host)) == NULL) {
		*why = "no hub has that host name";
		return RC_MQTT_CONNACK_NOT_AUTHORIZED;
	}
	return RC_MQTT_CONNACK_ACCEPTED;
}

static int
authenticate(struct hub_session *s, const char **why, char *buf, size_t len)
{
	int rc;

	if (s->leaf == NULL) {
		*why = "no client certificate";
		return RC_MQTT_CONNACK_NOT_AUTHORIZED;
	}
	rc = hub_auth_check(hub_get0_auth(s->hub), s->device_id, s->leaf,
	    s->chain, s->hub->cas, time(NULL), &s->generation, buf, len);
	*why = buf;
	if (rc == RC_EAUTH)
		return RC_MQTT_CONNACK_NOT_AUTHORIZED;
	if (rc != RC_OK)
		return RC_MQTT_CONNACK_UNAVAILABLE;
	return RC_MQTT_CONNACK_ACCEPTED;
}

static int
on_connect(struct hub_session *s, const uint8_t *pkt, size_t len,
    struct rc_wbuf *out)
{
	struct rc_mqtt_connect c;
	const char *why = "";
	char buf[256];
	int rc, code;

	if (s->state != SESSION_NEW) {
		refuse_log(s, s->device_id, "second CONNECT");
		return RC_EPARSE;
	}
	if ((rc = rc_mqtt_decode_connect(pkt, len, &c)) == RC_EUNSUPPORTED) {
		refuse_log(s, "-", "not MQTT 3.1.1");
		if (rc_mqtt_encode_connack(out, 0, RC_MQTT_CONNACK_PROTOCOL) !=
		    RC_OK)
			return RC_ENOMEM;
		return RC_EUNSUPPORTED;
	}
	if (rc != RC_OK) {
		refuse_log(s, "-", "malformed CONNECT");
		return rc;
	}
	if ((code = identify(s, &c, &why)) == RC_MQTT_CONNACK_ACCEPTED)
		code = authenticate(s, &why, buf, sizeof(buf));
	if (code != RC_MQTT_CONNACK_ACCEPTED) {
		refuse_log(s, s->device_id, why);
		if (rc_mqtt_encode_connack(out, 0, (uint8_t)code) != RC_OK)
			return RC_ENOMEM;
		return RC_EAUTH;
	}
	if ((rc = rc_mqtt_encode_connack(out, 0, 0)) != RC_OK)
		return rc;
	s->timeout_s = timeout_for(c.keepalive);
	s->state = SESSION_UP;
	hub_table_add(s->hub, s);
	rc_log_info("hub %s: %s: device %s connected", hub_name(s->hub),
	    s->peer, s->device_id);
	return RC_OK;
}

static int
on_subscribe(struct hub_session *s, const uint8_t *pkt, size_t len,
    struct rc_wbuf *out)
{
	struct rc_mqtt_subscribe sub;
	struct rc_mqtt_str f;
	uint8_t *codes, qos;
	unsigned cls, all = 0;
	size_t i;
	int rc;

	if ((rc = rc_mqtt_decode_subscribe(pkt, len, &sub)) != RC_OK)
		return rc;
	if ((codes = rc_calloc(sub.count, 1)) == NULL)
		return RC_ENOMEM;
	for (i = 0; i < sub.count &&
	     (rc = rc_mqtt_subscribe_next(&sub, &f, &qos)) == RC_OK;
	     i++) {
		cls = hub_filter_class(s->device_id, &f);
		codes[i] = cls == 0 ? RC_MQTT_SUBACK_FAILURE
		    : qos > 1       ? 1
		                    : qos;
		if (cls == 0)
			rc_log_info("hub %s: %s: device %s: subscription to "
			            "'%.*s' refused",
			    hub_name(s->hub), s->peer, s->device_id,
			    (int)(f.len > 200 ? 200 : f.len), f.p);
		all |= cls;
	}
	if (rc == RC_OK) {
		pthread_mutex_lock(&s->hub->mu);
		s->subs |= all;
		pthread_mutex_unlock(&s->hub->mu);
		rc =
		    rc_mqtt_encode_suback(out, sub.packet_id, codes, sub.count);
	}
	rc_free(codes);
	return rc;
}

static int
on_unsubscribe(struct hub_session *s, const uint8_t *pkt, size_t len,
    struct rc_wbuf *out)
{
	struct rc_mqtt_unsubscribe u;
	struct rc_mqtt_str f;
	unsigned gone = 0;
	int rc;

	if ((rc = rc_mqtt_decode_unsubscribe(pkt, len, &u)) != RC_OK)
		return rc;
	while ((rc = rc_mqtt_unsubscribe_next(&u, &f)) == RC_OK)
		gone |= hub_filter_class(s->device_id, &f);
	if (rc != RC_ENOENT)
		return rc;
	pthread_mutex_lock(&s->hub->mu);
	s->subs &= ~gone;
	pthread_mutex_unlock(&s->hub->mu);
	return rc_mqtt_encode_unsuback(out, u.packet_id);
}

static int
on_publish(struct hub_session *s, const uint8_t *pkt, size_t len,
    struct rc_wbuf *out)
{
	struct rc_mqtt_publish pub;
	int rc;

	if ((rc = rc_mqtt_decode_publish(pkt, len, &pub)) != RC_OK) {
		refuse_log(s, s->device_id, "malformed PUBLISH");
		return rc;
	}
	if (pub.qos == 2) {
		refuse_log(s, s->device_id, "QoS 2 PUBLISH");
		return RC_EUNSUPPORTED;
	}
	return hub_device_publish(s, &pub, out);
}

static int
on_up(struct hub_session *s, const struct rc_mqtt_fixed *hdr,
    const uint8_t *pkt, size_t len, struct rc_wbuf *out)
{
	uint16_t id;

	switch (hdr->type) {
	case RC_MQTT_PUBLISH:
		return on_publish(s, pkt, len, out);
	case RC_MQTT_PUBACK:
		/* C2D is at most once: nothing waits for the ack. */
		return rc_mqtt_decode_puback(pkt, len, &id);
	case RC_MQTT_SUBSCRIBE:
		return on_subscribe(s, pkt, len, out);
	case RC_MQTT_UNSUBSCRIBE:
		return on_unsubscribe(s, pkt, len, out);
	case RC_MQTT_PINGREQ:
		if (rc_mqtt_decode_pingreq(pkt, len) != RC_OK)
			return RC_EPARSE;
		return rc_mqtt_encode_pingresp(out);
	case RC_MQTT_DISCONNECT:
		return RC_ENOENT;
	case RC_MQTT_CONNECT:
		refuse_log(s, s->device_id, "second CONNECT");
		return RC_EPARSE;
	default:
		refuse_log(s, s->device_id, rc_mqtt_type_name(hdr->type));
		return RC_EPARSE;
	}
}

int
hub_session_packet(struct hub_session *s, const struct rc_mqtt_fixed *hdr,
    const uint8_t *pkt, size_t len, struct rc_wbuf *out)
{
	switch (s->state) {
	case SESSION_NEW:
		if (hdr->type != RC_MQTT_CONNECT) {
			refuse_log(s, "-", "first packet is not CONNECT");
			return RC_EPARSE;
		}
		return on_connect(s, pkt, len, out);
	case SESSION_UP:
		return on_up(s, hdr, pkt, len, out);
	default:
		return RC_EINVAL;
	}
}
