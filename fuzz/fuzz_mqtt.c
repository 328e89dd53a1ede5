/*
 * Fuzz target for the MQTT 3.1.1 codec (mqtt.h).  The input is a byte
 * stream as a socket delivers it: packets are framed one after another with
 * rc_mqtt_frame and each goes to the decoder of its type.  Invariants:
 * decoders never allocate; what decodes encodes again, to the same first
 * byte and body (only the remaining-length bytes may differ, as the input
 * may use a longer form) and to the same fields; a topic matches itself as
 * a filter; whatever follows the last whole packet never decodes.  Topics
 * also go through the "/?" splitter and the property-bag parser.
 */
#include <stdlib.h>
#include <string.h>

#include "rollcall/mem.h"
#include "rollcall/mqtt.h"

#define FUZZ_MAX_PACKET (64 * 1024)
#define FUZZ_PROP_BUF 256

static void
check(int ok)
{
	if (!ok)
		abort();
}

static void
same_str(const struct rc_mqtt_str *a, const struct rc_mqtt_str *b)
{
	check(a->len == b->len &&
	    (a->len == 0 || memcmp(a->p, b->p, a->len) == 0));
}

static void
same_bin(const struct rc_mqtt_bin *a, const struct rc_mqtt_bin *b)
{
	check(a->len == b->len &&
	    (a->len == 0 || memcmp(a->p, b->p, a->len) == 0));
}

/* p[0..n) and the encoder's output are the same packet. */
static void
same_packet(const uint8_t *p, size_t n, const struct rc_wbuf *w)
{
	struct rc_mqtt_fixed a, b;
	size_t ta, tb;

	check(rc_mqtt_frame(p, n, n, &a, &ta) == RC_OK && ta == n);
	check(rc_mqtt_frame(w->data, w->len, w->len, &b, &tb) == RC_OK &&
	    tb == w->len);
	check(p[0] == w->data[0] && a.remaining == b.remaining);
	check(memcmp(p + a.hdrlen, w->data + b.hdrlen, a.remaining) == 0);
}

static void
props(const struct rc_mqtt_str *bag)
{
	struct rc_mqtt_props pr;
	char key[FUZZ_PROP_BUF], val[FUZZ_PROP_BUF];
	size_t kl, vl;

	rc_mqtt_props_init(&pr, bag->p, bag->len);
	while (rc_mqtt_props_next(&pr, key, sizeof(key), &kl, val, sizeof(val),
	           &vl) == RC_OK)
		check(strlen(key) == kl && strlen(val) == vl && kl > 0);
}

static void
topic(const struct rc_mqtt_str *t)
{
	static const char *const filters[] = {"#", "+/+", "$iothub/#",
	    "devices/+/messages/devicebound/#", "a/+/#"};
	struct rc_mqtt_str path, query, last;
	size_t i;

	check(rc_mqtt_topic_match(t->p, t->len, t->p, t->len) == 1);
	for (i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
		(void)rc_mqtt_topic_match(filters[i], strlen(filters[i]), t->p,
		    t->len);
	if (rc_mqtt_topic_split(t, &path, &query) == RC_OK) {
		props(&query);
		return;
	}
	last = *t;
	for (i = t->len; i > 0; i--) {
		if (t->p[i - 1] == '/') {
			last.p = t->p + i;
			last.len = t->len - i;
			break;
		}
	}
	props(&last);
}

static void
connect_again(const uint8_t *p, size_t n)
{
	struct rc_mqtt_connect c, d;
	struct rc_wbuf w;

	if (rc_mqtt_decode_connect(p, n, &c) != RC_OK)
		return;
	rc_wbuf_init(&w, n);
	check(rc_mqtt_encode_connect(&w, &c) == RC_OK);
	same_packet(p, n, &w);
	check(rc_mqtt_decode_connect(w.data, w.len, &d) == RC_OK);
	same_str(&c.client_id, &d.client_id);
	same_str(&c.username, &d.username);
	same_bin(&c.password, &d.password);
	same_str(&c.will_topic, &d.will_topic);
	same_bin(&c.will_message, &d.will_message);
	check(c.keepalive == d.keepalive && c.clean_session == d.clean_session);
	check(c.has_username == d.has_username &&
	    c.has_password == d.has_password && c.has_will == d.has_will &&
	    c.will_qos == d.will_qos && c.will_retain == d.will_retain);
	if (c.has_will)
		topic(&c.will_topic);
	rc_wbuf_free(&w);
}

static void
publish_again(const uint8_t *p, size_t n)
{
	struct rc_mqtt_publish m, d;
	struct rc_wbuf w;

	if (rc_mqtt_decode_publish(p, n, &m) != RC_OK)
		return;
	rc_wbuf_init(&w, n);
	check(rc_mqtt_encode_publish(&w, &m) == RC_OK);
	same_packet(p, n, &w);
	check(rc_mqtt_decode_publish(w.data, w.len, &d) == RC_OK);
	same_str(&m.topic, &d.topic);
	same_bin(&m.payload, &d.payload);
	check(m.qos == d.qos && m.packet_id == d.packet_id && m.dup == d.dup &&
	    m.retain == d.retain);
	topic(&m.topic);
	rc_wbuf_free(&w);
}

static void
subscribe_again(const uint8_t *p, size_t n)
{
	struct rc_mqtt_subscribe s;
	struct rc_mqtt_sub *subs, end;
	struct rc_wbuf w;
	size_t i;

	if (rc_mqtt_decode_subscribe(p, n, &s) != RC_OK)
		return;
	check((subs = rc_calloc(s.count, sizeof(*subs))) != NULL);
	for (i = 0; i < s.count; i++)
		check(rc_mqtt_subscribe_next(&s, &subs[i].filter,
		          &subs[i].qos) == RC_OK);
	check(rc_mqtt_subscribe_next(&s, &end.filter, &end.qos) == RC_ENOENT);
	rc_wbuf_init(&w, n);
	check(
	    rc_mqtt_encode_subscribe(&w, s.packet_id, subs, s.count) == RC_OK);
	same_packet(p, n, &w);
	rc_wbuf_free(&w);
	rc_free(subs);
}

static void
unsubscribe_again(const uint8_t *p, size_t n)
{
	struct rc_mqtt_unsubscribe u;
	struct rc_mqtt_str *filters;
	struct rc_wbuf w;
	size_t i;

	if (rc_mqtt_decode_unsubscribe(p, n, &u) != RC_OK)
		return;
	check((filters = rc_calloc(u.count, sizeof(*filters))) != NULL);
	for (i = 0; i < u.count; i++)
		check(rc_mqtt_unsubscribe_next(&u, &filters[i]) == RC_OK);
	rc_wbuf_init(&w, n);
	check(rc_mqtt_encode_unsubscribe(&w, u.packet_id, filters, u.count) ==
	    RC_OK);
	same_packet(p, n, &w);
	rc_wbuf_free(&w);
	rc_free(filters);
}

static void
small_again(const uint8_t *p, size_t n, uint8_t type)
{
	struct rc_mqtt_connack ca;
	struct rc_mqtt_suback sa;
	struct rc_wbuf w;
	uint16_t id;
	int rc;

	rc_wbuf_init(&w, n);
	switch (type) {
	case RC_MQTT_CONNACK:
		if (rc_mqtt_decode_connack(p, n, &ca) != RC_OK)
			goto out;
		rc = rc_mqtt_encode_connack(&w, ca.session_present, ca.code);
		break;
	case RC_MQTT_SUBACK:
		if (rc_mqtt_decode_suback(p, n, &sa) != RC_OK)
			goto out;
		rc =
		    rc_mqtt_encode_suback(&w, sa.packet_id, sa.codes, sa.count);
		break;
	case RC_MQTT_PUBACK:
		if (rc_mqtt_decode_puback(p, n, &id) != RC_OK)
			goto out;
		rc = rc_mqtt_encode_puback(&w, id);
		break;
	case RC_MQTT_UNSUBACK:
		if (rc_mqtt_decode_unsuback(p, n, &id) != RC_OK)
			goto out;
		rc = rc_mqtt_encode_unsuback(&w, id);
		break;
	default:
		goto out;
	}
	check(rc == RC_OK);
	same_packet(p, n, &w);
out:
	rc_wbuf_free(&w);
}

static void
empty_again(const uint8_t *p, size_t n, uint8_t type)
{
	struct rc_wbuf w;
	int rc;

	if (type == RC_MQTT_PINGREQ)
		rc = rc_mqtt_decode_pingreq(p, n);
	else if (type == RC_MQTT_PINGRESP)
		rc = rc_mqtt_decode_pingresp(p, n);
	else
		rc = rc_mqtt_decode_disconnect(p, n);
	if (rc != RC_OK)
		return;
	rc_wbuf_init(&w, n);
	if (type == RC_MQTT_PINGREQ)
		rc = rc_mqtt_encode_pingreq(&w);
	else if (type == RC_MQTT_PINGRESP)
		rc = rc_mqtt_encode_pingresp(&w);
	else
		rc = rc_mqtt_encode_disconnect(&w);
	check(rc == RC_OK);
	same_packet(p, n, &w);
	rc_wbuf_free(&w);
}

/* Every decoder of type, on n bytes; RC_EUNSUPPORTED if there is none. */
static int
decode(const uint8_t *p, size_t n, uint8_t type)
{
	struct rc_mqtt_connect c;
	struct rc_mqtt_connack ca;
	struct rc_mqtt_publish m;
	struct rc_mqtt_subscribe s;
	struct rc_mqtt_unsubscribe u;
	struct rc_mqtt_suback sa;
	uint16_t id;

	switch (type) {
	case RC_MQTT_CONNECT:
		return rc_mqtt_decode_connect(p, n, &c);
	case RC_MQTT_CONNACK:
		return rc_mqtt_decode_connack(p, n, &ca);
	case RC_MQTT_PUBLISH:
		return rc_mqtt_decode_publish(p, n, &m);
	case RC_MQTT_PUBACK:
		return rc_mqtt_decode_puback(p, n, &id);
	case RC_MQTT_SUBSCRIBE:
		return rc_mqtt_decode_subscribe(p, n, &s);
	case RC_MQTT_SUBACK:
		return rc_mqtt_decode_suback(p, n, &sa);
	case RC_MQTT_UNSUBSCRIBE:
		return rc_mqtt_decode_unsubscribe(p, n, &u);
	case RC_MQTT_UNSUBACK:
		return rc_mqtt_decode_unsuback(p, n, &id);
	case RC_MQTT_PINGREQ:
		return rc_mqtt_decode_pingreq(p, n);
	case RC_MQTT_PINGRESP:
		return rc_mqtt_decode_pingresp(p, n);
	case RC_MQTT_DISCONNECT:
		return rc_mqtt_decode_disconnect(p, n);
	default:
		return RC_EUNSUPPORTED;
	}
}

static void
one_packet(const uint8_t *p, size_t n, uint8_t type)
{
	rc_mem_fail_after(0);
	(void)decode(p, n, type);
	check(rc_mem_count() == 0);
	switch (type) {
	case RC_MQTT_CONNECT:
		connect_again(p, n);
		break;
	case RC_MQTT_PUBLISH:
		publish_again(p, n);
		break;
	case RC_MQTT_SUBSCRIBE:
		subscribe_again(p, n);
		break;
	case RC_MQTT_UNSUBSCRIBE:
		unsubscribe_again(p, n);
		break;
	case RC_MQTT_PINGREQ:
	case RC_MQTT_PINGRESP:
	case RC_MQTT_DISCONNECT:
		empty_again(p, n, type);
		break;
	default:
		small_again(p, n, type);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rc_mqtt_fixed h;
	size_t off = 0, total;
	int rc;

	for (;;) {
		rc = rc_mqtt_frame(data + off, size - off, FUZZ_MAX_PACKET, &h,
		    &total);
		if (rc != RC_OK)
			break;
		check(total <= size - off && h.type == data[off] >> 4);
		one_packet(data + off, total, h.type);
		off += total;
	}
	/* What is left is not a whole packet: no decoder accepts it. */
	if (off < size && rc != RC_ETOOBIG)
		check(decode(data + off, size - off, data[off] >> 4) != RC_OK);
	return 0;
}
