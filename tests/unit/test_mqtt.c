/*
 * Unit tests for the MQTT 3.1.1 codec (mqtt.h).  Byte vectors are written
 * by hand from the OASIS standard; section numbers refer to it.
 */
#include <string.h>

#include "rctest.h"
#include "rollcall/mem.h"
#include "rollcall/mqtt.h"

#define BIG (1024 * 1024 * 4)
#define S(lit) ((const uint8_t *)(lit)), (sizeof(lit) - 1)

/* A packet made of a first byte and a body, with its remaining length. */
static size_t
wrap(uint8_t *out, size_t outsize, uint8_t first, const void *body, size_t n)
{
	size_t h;

	out[0] = first;
	h = 1 + rc_mqtt_remaining_encode(n, out + 1);
	assert_true(h > 1 && h + n <= outsize);
	if (n > 0)
		memcpy(out + h, body, n);
	return h + n;
}

/* Decodes by type; what a reader does after rc_mqtt_frame. */
static int
decode_any(const uint8_t *p, size_t n, uint8_t type)
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
assert_str(const struct rc_mqtt_str *s, const char *want)
{
	assert_int_equal(s->len, strlen(want));
	assert_memory_equal(s->p, want, s->len);
}

static struct rc_mqtt_connect
full_connect(void)
{
	struct rc_mqtt_connect c;

	memset(&c, 0, sizeof(c));
	c.client_id = rc_mqtt_cstr("device-001");
	c.has_username = 1;
	c.username = rc_mqtt_cstr("hub.example/device-001/?api-version="
	                          "2021-04-12");
	c.has_password = 1;
	c.password.p = (const uint8_t *)"\x00\xffpw";
	c.password.len = 4;
	c.has_will = 1;
	c.will_topic = rc_mqtt_cstr("will/topic");
	c.will_message.p = (const uint8_t *)"bye";
	c.will_message.len = 3;
	c.will_qos = 1;
	c.will_retain = 1;
	c.keepalive = 180;
	c.clean_session = 1;
	return c;
}

/* §2.2.3 table, and the encoder of the same. */
static void
test_remaining_length_table(void **state)
{
	static const struct {
		size_t value;
		uint8_t bytes[4];
		size_t n;
	} t[] = {
	    {0, {0x00}, 1},
	    {127, {0x7f}, 1},
	    {128, {0x80, 0x01}, 2},
	    {16383, {0xff, 0x7f}, 2},
	    {16384, {0x80, 0x80, 0x01}, 3},
	    {2097151, {0xff, 0xff, 0x7f}, 3},
	    {2097152, {0x80, 0x80, 0x80, 0x01}, 4},
	    {268435455, {0xff, 0xff, 0xff, 0x7f}, 4},
	};
	struct rc_mqtt_fixed h;
	uint8_t enc[4], pkt[5];
	size_t i, total;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(rc_mqtt_remaining_encode(t[i].value, enc),
		    t[i].n);
		assert_memory_equal(enc, t[i].bytes, t[i].n);
		pkt[0] = 0x30;
		memcpy(pkt + 1, t[i].bytes, t[i].n);
		rc = rc_mqtt_frame(pkt, 1 + t[i].n, SIZE_MAX, &h, &total);
		/* Header complete, body missing: truncated, but sized. */
		assert_int_equal(rc, t[i].value == 0 ? RC_OK : RC_ETRUNC);
		assert_int_equal(h.type, RC_MQTT_PUBLISH);
		assert_int_equal(h.hdrlen, 1 + t[i].n);
		assert_int_equal(h.remaining, t[i].value);
		assert_int_equal(total, 1 + t[i].n + t[i].value);
	}
	assert_int_equal(rc_mqtt_remaining_encode(268435456, enc), 0);
}

static void
test_frame_malformed_header(void **state)
{
	struct rc_mqtt_fixed h;
	size_t total;

	(void)state;
	/* A fifth length byte: malformed as soon as the fourth continues. */
	assert_int_equal(rc_mqtt_frame(S("\x30\xff\xff\xff\xff\x7f"), 1000, &h,
	                     &total),
	    RC_EPARSE);
	assert_int_equal(rc_mqtt_frame(S("\x30\x80\x80\x80\x80"), 1000, &h,
	                     &total),
	    RC_EPARSE);
	assert_int_equal(total, 0);
	assert_int_equal(h.type, 0);
	/* Partial headers are never an error. */
	assert_int_equal(rc_mqtt_frame(NULL, 0, 1000, &h, &total), RC_ETRUNC);
	assert_int_equal(rc_mqtt_frame(S("\x30"), 1000, &h, &total), RC_ETRUNC);
	assert_int_equal(rc_mqtt_frame(S("\x30\x80\x80\x80"), 1000, &h, &total),
	    RC_ETRUNC);
	assert_int_equal(total, 0);
	/* Non-minimal length: 3.1.1 does not forbid it. */
	assert_int_equal(rc_mqtt_frame(S("\xc0\x80\x00"), 1000, &h, &total),
	    RC_OK);
	assert_int_equal(total, 3);
	assert_int_equal(rc_mqtt_decode_pingreq(S("\xc0\x80\x00")), RC_OK);
	/* §2.2.1 reserved types, §2.2.2 flags. */
	assert_int_equal(rc_mqtt_frame(S("\x00"), 1000, &h, &total), RC_EPARSE);
	assert_int_equal(rc_mqtt_frame(S("\xf0\x00"), 1000, &h, &total),
	    RC_EPARSE);
	assert_int_equal(rc_mqtt_frame(S("\xc1\x00"), 1000, &h, &total),
	    RC_EPARSE);
	assert_int_equal(rc_mqtt_frame(S("\x11\x00"), 1000, &h, &total),
	    RC_EPARSE);
	assert_int_equal(rc_mqtt_frame(S("\x80\x00"), 1000, &h, &total),
	    RC_EPARSE);
	assert_int_equal(rc_mqtt_frame(S("\xa0\x00"), 1000, &h, &total),
	    RC_EPARSE);
	assert_int_equal(rc_mqtt_frame(S("\x60\x00"), 1000, &h, &total),
	    RC_EPARSE);
	assert_int_equal(rc_mqtt_frame(S("\x62\x02\x00\x01"), 1000, &h, &total),
	    RC_OK);
	/* PUBLISH QoS 3; DUP with QoS 0. */
	assert_int_equal(rc_mqtt_frame(S("\x36"), 1000, &h, &total), RC_EPARSE);
	assert_int_equal(rc_mqtt_frame(S("\x38"), 1000, &h, &total), RC_EPARSE);
	assert_int_equal(rc_mqtt_frame(S("\x3b\x00"), 1000, &h, &total), RC_OK);
}

static void
test_frame_max_packet(void **state)
{
	struct rc_mqtt_fixed h;
	uint8_t pkt[200], body[150];
	size_t n, total;

	(void)state;
	memset(body, 'x', sizeof(body));
	body[0] = 0;
	body[1] = 1;
	n = wrap(pkt, sizeof(pkt), 0x30, body, sizeof(body));
	assert_int_equal(n, 153);
	assert_int_equal(rc_mqtt_frame(pkt, n, n, &h, &total), RC_OK);
	assert_int_equal(total, n);
	assert_int_equal(rc_mqtt_frame(pkt, n, n - 1, &h, &total), RC_ETOOBIG);
	assert_int_equal(total, 0);
	/* Refused from the header alone, before the body arrives. */
	assert_int_equal(rc_mqtt_frame(pkt, 3, n - 1, &h, &total), RC_ETOOBIG);
	assert_int_equal(rc_mqtt_frame(pkt, 3, n, &h, &total), RC_ETRUNC);
	assert_int_equal(total, n);
	/* Bytes after the packet belong to the next one. */
	assert_int_equal(rc_mqtt_frame(pkt, n, n + 10, &h, &total), RC_OK);
	/* The largest length there is, against a small max. */
	assert_int_equal(rc_mqtt_frame(S("\x30\xff\xff\xff\x7f"), 4096, &h,
	                     &total),
	    RC_ETOOBIG);
}

/* §3.1.2.10: the non-normative example of a variable header. */
static void
test_connect_spec_example(void **state)
{
	static const uint8_t vhdr[] = {0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04,
	    0xce, 0x00, 0x0a};
	struct rc_mqtt_connect c;
	struct rc_wbuf w;

	(void)state;
	c = full_connect();
	c.keepalive = 10;
	c.will_retain = 0;
	rc_wbuf_init(&w, 4096);
	assert_int_equal(rc_mqtt_encode_connect(&w, &c), RC_OK);
	assert_int_equal(w.data[0], 0x10);
	assert_memory_equal(w.data + 2, vhdr, sizeof(vhdr));
	rc_wbuf_free(&w);
}

/* What the node SDK sends for X.509 (azure-device-wire.md §6.1). */
static void
test_connect_azure_bytes(void **state)
{
	static const uint8_t want[] = "\x10\x25"
	                              "\x00\x04MQTT\x04\x80\x00\xb4"
	                              "\x00\x04"
	                              "dev1"
	                              "\x00\x13"
	                              "h/dev1/?api-version";
	struct rc_mqtt_connect c, d;
	struct rc_wbuf w;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.client_id = rc_mqtt_cstr("dev1");
	c.has_username = 1;
	c.username = rc_mqtt_cstr("h/dev1/?api-version");
	c.keepalive = 180;
	rc_wbuf_init(&w, 4096);
	assert_int_equal(rc_mqtt_encode_connect(&w, &c), RC_OK);
	assert_int_equal(w.len, sizeof(want) - 1);
	assert_memory_equal(w.data, want, w.len);
	assert_int_equal(rc_mqtt_decode_connect(w.data, w.len, &d), RC_OK);
	assert_str(&d.client_id, "dev1");
	assert_str(&d.username, "h/dev1/?api-version");
	assert_int_equal(d.has_username, 1);
	assert_int_equal(d.has_password, 0);
	assert_int_equal(d.has_will, 0);
	assert_int_equal(d.clean_session, 0);
	assert_int_equal(d.keepalive, 180);
	rc_wbuf_free(&w);
}

static void
test_connect_roundtrip(void **state)
{
	struct rc_mqtt_connect c, d;
	struct rc_wbuf w;

	(void)state;
	c = full_connect();
	rc_wbuf_init(&w, 4096);
	assert_int_equal(rc_mqtt_encode_connect(&w, &c), RC_OK);
	assert_int_equal(rc_mqtt_decode_connect(w.data, w.len, &d), RC_OK);
	assert_str(&d.client_id, "device-001");
	assert_str(&d.username,
	    "hub.example/device-001/?api-version="
	    "2021-04-12");
	assert_int_equal(d.password.len, 4);
	assert_memory_equal(d.password.p, "\x00\xffpw", 4);
	assert_str(&d.will_topic, "will/topic");
	assert_int_equal(d.will_message.len, 3);
	assert_memory_equal(d.will_message.p, "bye", 3);
	assert_int_equal(d.will_qos, 1);
	assert_int_equal(d.will_retain, 1);
	assert_int_equal(d.keepalive, 180);
	assert_int_equal(d.clean_session, 1);
	assert_int_equal(d.has_username + d.has_password + d.has_will, 3);
	/* Empty client id, keepalive 0 (azure-device-wire.md §10.6). */
	memset(&c, 0, sizeof(c));
	c.clean_session = 1;
	rc_wbuf_reset(&w);
	assert_int_equal(rc_mqtt_encode_connect(&w, &c), RC_OK);
	assert_int_equal(rc_mqtt_decode_connect(w.data, w.len, &d), RC_OK);
	assert_int_equal(d.client_id.len, 0);
	assert_int_equal(d.keepalive, 0);
	assert_int_equal(d.has_username, 0);
	rc_wbuf_free(&w);
}

/*
 * Packets written by hand: a first byte and a body (the remaining length
 * is added), and what the decoder of that type must say.
 */
struct vec {
	uint8_t first;
	const char *body;
	size_t len;
	int want;
};

#define VEC(first, lit, want)                     \
	{                                         \
		first, lit, sizeof(lit) - 1, want \
	}
#define V4 "\x00\x04MQTT\x04"
#define K60 "\x00\x3c"

static const struct vec connect_vecs[] = {
    VEC(0x10, V4 "\x02" K60 "\x00\x01z", RC_OK),
    /* §3.1.2.1-2: other protocols and levels. */
    VEC(0x10, "\x00\x06MQIsdp\x03\x02" K60 "\x00\x01z", RC_EUNSUPPORTED),
    VEC(0x10, "\x00\x04MQTT\x05\x02" K60 "\x00\x00\x00", RC_EUNSUPPORTED),
    VEC(0x10, "\x00\x04MQTT\x03\x02" K60, RC_EUNSUPPORTED),
    VEC(0x10, "\x00\x04mqtt\x04\x02" K60 "\x00\x00", RC_EUNSUPPORTED),
    VEC(0x10, "\x00\x04MQT", RC_EPARSE),
    VEC(0x10, "\x00\x04MQTT", RC_EPARSE),
    /* §3.1.2.3 reserved flag. */
    VEC(0x10, V4 "\x03" K60 "\x00\x01z", RC_EPARSE),
    /* §3.1.2.6-7: will QoS 3; will QoS or retain without will. */
    VEC(0x10, V4 "\x1e" K60 "\x00\x01z\x00\x01t\x00\x00", RC_EPARSE),
    VEC(0x10, V4 "\x0a" K60 "\x00\x01z", RC_EPARSE),
    VEC(0x10, V4 "\x22" K60 "\x00\x01z", RC_EPARSE),
    VEC(0x10, V4 "\x2e" K60 "\x00\x01z\x00\x01t\x00\x00", RC_OK),
    /* Will topic with a wildcard, or missing. */
    VEC(0x10, V4 "\x06" K60 "\x00\x01z\x00\x01#\x00\x00", RC_EPARSE),
    VEC(0x10, V4 "\x06" K60 "\x00\x01z", RC_EPARSE),
    /* §3.1.2.9: password without user name. */
    VEC(0x10, V4 "\x42" K60 "\x00\x01z\x00\x01p", RC_EPARSE),
    VEC(0x10, V4 "\xc2" K60 "\x00\x01z\x00\x01u\x00\x01p", RC_OK),
    /* Flag set and field missing; field present and flag clear. */
    VEC(0x10, V4 "\x82" K60 "\x00\x01z", RC_EPARSE),
    VEC(0x10, V4 "\x02" K60 "\x00\x01z\x00\x01u", RC_EPARSE),
    /* Overrunning string, missing keepalive, trailing byte. */
    VEC(0x10, V4 "\x02" K60 "\x00\x02z", RC_EPARSE),
    VEC(0x10, V4 "\x02\x00", RC_EPARSE),
    VEC(0x10, V4 "\x02" K60 "\x00\x01zX", RC_EPARSE),
    /* §1.5.3 client id: U+0000, surrogate, overlong, valid 4-byte. */
    VEC(0x10, V4 "\x02" K60 "\x00\x03z\x00y", RC_EPARSE),
    VEC(0x10, V4 "\x02" K60 "\x00\x03\xed\xa0\x80", RC_EPARSE),
    VEC(0x10, V4 "\x02" K60 "\x00\x02\xc0\x80", RC_EPARSE),
    VEC(0x10, V4 "\x02" K60 "\x00\x04\xf0\x9f\x98\x80", RC_OK),
    /* User name must be UTF-8; password need not be. */
    VEC(0x10, V4 "\xc2" K60 "\x00\x01z\x00\x01\xff\x00\x01p", RC_EPARSE),
    VEC(0x10, V4 "\xc2" K60 "\x00\x01z\x00\x01u\x00\x01\xff", RC_OK),
};

static const struct vec publish_vecs[] = {
    VEC(0x30, "\x00\x03t/uhi", RC_OK),
    VEC(0x32, "\x00\x03t/u\x00\x0ahi", RC_OK),
    VEC(0x30, "\x00\x01t", RC_OK),
    /* §3.3.1: QoS 3, DUP at QoS 0. */
    VEC(0x36, "\x00\x01t\x00\x01", RC_EPARSE),
    VEC(0x38, "\x00\x01t", RC_EPARSE),
    /* QoS 2 decodes: the server refuses it, not the codec. */
    VEC(0x34, "\x00\x01t\x00\x01", RC_OK),
    /* §3.3.2.1: no wildcards, not empty, UTF-8. */
    VEC(0x30, "\x00\x03t/+", RC_EPARSE),
    VEC(0x30, "\x00\x03t/#", RC_EPARSE),
    VEC(0x30, "\x00\x00hi", RC_EPARSE),
    VEC(0x30, "\x00\x02\xed\xbf", RC_EPARSE),
    VEC(0x30, "\x00\x01\x00", RC_EPARSE),
    /* §2.3.1: packet id 0, or missing. */
    VEC(0x32, "\x00\x01t\x00\x00", RC_EPARSE),
    VEC(0x32, "\x00\x01t\x00", RC_EPARSE),
    /* Topic overruns the packet, or is cut. */
    VEC(0x30, "\x00\x05t", RC_EPARSE),
    VEC(0x30, "\x00", RC_EPARSE),
    VEC(0x30, "", RC_EPARSE),
};

static const struct vec subscribe_vecs[] = {
    VEC(0x82, "\x00\x01\x00\x01#\x01", RC_OK),
    VEC(0x82, "\x00\x01\x00\x01#\x02", RC_OK),
    /* §3.8.1: flags must be 0010. */
    VEC(0x80, "\x00\x01\x00\x01#\x01", RC_EPARSE),
    /* §3.8.3: at least one filter; QoS 0..2; reserved bits 0. */
    VEC(0x82, "\x00\x01", RC_EPARSE),
    VEC(0x82, "\x00\x01\x00\x01#\x03", RC_EPARSE),
    VEC(0x82, "\x00\x01\x00\x01#\x41", RC_EPARSE),
    VEC(0x82, "\x00\x01\x00\x01#", RC_EPARSE),
    VEC(0x82, "\x00\x01\x00\x05#\x01", RC_EPARSE),
    /* §2.3.1 packet id. */
    VEC(0x82, "\x00\x00\x00\x01#\x01", RC_EPARSE),
    VEC(0x82, "\x00", RC_EPARSE),
    /* §4.7: filter validity, also in a later pair. */
    VEC(0x82, "\x00\x01\x00\x05z/#/y\x00", RC_EPARSE),
    VEC(0x82, "\x00\x01\x00\x02z#\x00", RC_EPARSE),
    VEC(0x82, "\x00\x01\x00\x04z+/y\x00", RC_EPARSE),
    VEC(0x82, "\x00\x01\x00\x02+z\x00", RC_EPARSE),
    VEC(0x82, "\x00\x01\x00\x00\x00", RC_EPARSE),
    VEC(0x82, "\x00\x01\x00\x01z\x00\x00\x02z#\x00", RC_EPARSE),
    VEC(0x82, "\x00\x01\x00\x02\xc3\x28\x00", RC_EPARSE),
    /* §3.10: UNSUBSCRIBE likewise. */
    VEC(0xa2, "\x00\x01\x00\x01#", RC_OK),
    VEC(0xa0, "\x00\x01\x00\x01#", RC_EPARSE),
    VEC(0xa2, "\x00\x01", RC_EPARSE),
    VEC(0xa2, "\x00\x01\x00\x02#z", RC_EPARSE),
    VEC(0xa2, "\x00\x00\x00\x01#", RC_EPARSE),
};

static void
run_vecs(const char *what, const struct vec *v, size_t n)
{
	uint8_t pkt[512];
	size_t i, len;
	int rc;

	for (i = 0; i < n; i++) {
		len = wrap(pkt, sizeof(pkt), v[i].first, v[i].body, v[i].len);
		rc = decode_any(pkt, len, v[i].first >> 4);
		if (rc != v[i].want)
			fail_msg("%s vector %zu: %s, want %s", what, i,
			    rc_errname(rc), rc_errname(v[i].want));
	}
}

#define RUN_VECS(v) run_vecs(#v, v, sizeof(v) / sizeof(v[0]))

static void
test_malformed_vectors(void **state)
{
	(void)state;
	RUN_VECS(connect_vecs);
	RUN_VECS(publish_vecs);
	RUN_VECS(subscribe_vecs);
}

/* Out-parameters: cleared on failure, the fields on success. */
static void
test_decoded_fields(void **state)
{
	static const struct vec bad_connect =
	    VEC(0x10, V4 "\x03" K60 "\x00\x01z", RC_EPARSE);
	static const struct vec pub1 =
	    VEC(0x32, "\x00\x03t/u\x00\x0ahi", RC_OK);
	static const struct vec pub2 = VEC(0x34, "\x00\x01t\x00\x01", RC_OK);
	static const struct vec bad_pub = VEC(0x32, "\x00\x01t\x00\x00", 0);
	static const struct vec bad_sub = VEC(0x82, "\x00\x01\x00\x01#\x03", 0);
	struct rc_mqtt_connect c;
	struct rc_mqtt_publish m;
	struct rc_mqtt_subscribe s;
	uint8_t pkt[64];
	size_t len;

	(void)state;
	len = wrap(pkt, sizeof(pkt), 0x10, bad_connect.body, bad_connect.len);
	assert_int_equal(rc_mqtt_decode_connect(pkt, len, &c), RC_EPARSE);
	assert_int_equal(c.client_id.len + c.keepalive + c.clean_session, 0);
	assert_null(c.client_id.p);
	len = wrap(pkt, sizeof(pkt), pub1.first, pub1.body, pub1.len);
	assert_int_equal(rc_mqtt_decode_publish(pkt, len, &m), RC_OK);
	assert_str(&m.topic, "t/u");
	assert_int_equal(m.qos, 1);
	assert_int_equal(m.packet_id, 10);
	assert_int_equal(m.payload.len, 2);
	assert_memory_equal(m.payload.p, "hi", 2);
	len = wrap(pkt, sizeof(pkt), pub2.first, pub2.body, pub2.len);
	assert_int_equal(rc_mqtt_decode_publish(pkt, len, &m), RC_OK);
	assert_int_equal(m.qos, 2);
	assert_int_equal(m.payload.len, 0);
	len = wrap(pkt, sizeof(pkt), bad_pub.first, bad_pub.body, bad_pub.len);
	assert_int_equal(rc_mqtt_decode_publish(pkt, len, &m), RC_EPARSE);
	assert_null(m.topic.p);
	len = wrap(pkt, sizeof(pkt), bad_sub.first, bad_sub.body, bad_sub.len);
	assert_int_equal(rc_mqtt_decode_subscribe(pkt, len, &s), RC_EPARSE);
	assert_int_equal(s.count + s.packet_id, 0);
}

static void
test_connect_wrong_type(void **state)
{
	struct rc_mqtt_connect c;
	uint16_t id;

	(void)state;
	assert_int_equal(rc_mqtt_decode_connect(S("\xc0\x00"), &c), RC_EINVAL);
	assert_int_equal(rc_mqtt_decode_puback(S("\xb0\x02\x00\x01"), &id),
	    RC_EINVAL);
	assert_int_equal(rc_mqtt_decode_unsuback(S("\xb0\x02\x00\x01"), &id),
	    RC_OK);
	assert_int_equal(id, 1);
}

static void
check_publish_roundtrip(const struct rc_mqtt_publish *m)
{
	struct rc_mqtt_publish d;
	struct rc_mqtt_fixed h;
	struct rc_wbuf w;
	size_t total;

	rc_wbuf_init(&w, BIG);
	assert_int_equal(rc_mqtt_encode_publish(&w, m), RC_OK);
	assert_int_equal(rc_mqtt_frame(w.data, w.len, BIG, &h, &total), RC_OK);
	assert_int_equal(total, w.len);
	assert_int_equal(rc_mqtt_decode_publish(w.data, w.len, &d), RC_OK);
	assert_int_equal(d.topic.len, m->topic.len);
	assert_memory_equal(d.topic.p, m->topic.p, d.topic.len);
	assert_int_equal(d.payload.len, m->payload.len);
	if (d.payload.len > 0)
		assert_memory_equal(d.payload.p, m->payload.p, d.payload.len);
	assert_int_equal(d.qos, m->qos);
	assert_int_equal(d.packet_id, m->qos > 0 ? m->packet_id : 0);
	assert_int_equal(d.dup, m->dup);
	assert_int_equal(d.retain, m->retain);
	rc_wbuf_free(&w);
}

static void
test_publish_roundtrip(void **state)
{
	struct rc_mqtt_publish m;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.topic = rc_mqtt_cstr("devices/d1/messages/events/%24.mid=1&a=b");
	m.payload.p = (const uint8_t *)"{\"t\":1}";
	m.payload.len = 7;
	check_publish_roundtrip(&m);
	m.qos = 1;
	m.packet_id = 65535;
	m.dup = 1;
	m.retain = 1;
	check_publish_roundtrip(&m);
	m.payload.len = 0;
	m.dup = 0;
	check_publish_roundtrip(&m);
	/* QoS 2 is encoded and decoded, so a server can be tested on it. */
	m.qos = 2;
	check_publish_roundtrip(&m);
	m.topic = rc_mqtt_cstr("$iothub/methods/POST/reboot/?$rid=1");
	m.qos = 0;
	m.packet_id = 0;
	check_publish_roundtrip(&m);
}

/* Payload sizes that put the remaining length at the §2.2.3 edges. */
static void
test_publish_length_edges(void **state)
{
	static const size_t rem[] = {127, 128, 16383, 16384, 2097151, 2097152};
	static const size_t hdr[] = {2, 3, 3, 4, 4, 5};
	struct rc_mqtt_publish m;
	struct rc_mqtt_fixed h;
	struct rc_wbuf w;
	uint8_t *payload;
	size_t i, total;

	(void)state;
	payload = rc_calloc(1, 2097152);
	assert_non_null(payload);
	for (i = 0; i < sizeof(rem) / sizeof(rem[0]); i++) {
		memset(&m, 0, sizeof(m));
		m.topic = rc_mqtt_cstr("t");
		m.payload.p = payload;
		m.payload.len = rem[i] - 3;
		check_publish_roundtrip(&m);
		rc_wbuf_init(&w, BIG);
		assert_int_equal(rc_mqtt_encode_publish(&w, &m), RC_OK);
		assert_int_equal(rc_mqtt_frame(w.data, w.len, BIG, &h, &total),
		    RC_OK);
		assert_int_equal(h.remaining, rem[i]);
		assert_int_equal(h.hdrlen, hdr[i]);
		assert_int_equal(total, hdr[i] + rem[i]);
		/* max_packet exactly, and one byte short. */
		assert_int_equal(rc_mqtt_frame(w.data, w.len, w.len, &h,
		                     &total),
		    RC_OK);
		assert_int_equal(rc_mqtt_frame(w.data, w.len, w.len - 1, &h,
		                     &total),
		    RC_ETOOBIG);
		rc_wbuf_free(&w);
	}
	rc_free(payload);
}

static void
test_acks(void **state)
{
	struct rc_mqtt_connack ca;
	struct rc_wbuf w;
	uint16_t id;

	(void)state;
	rc_wbuf_init(&w, 64);
	assert_int_equal(rc_mqtt_encode_puback(&w, 0x1234), RC_OK);
	assert_int_equal(w.len, 4);
	assert_memory_equal(w.data, "\x40\x02\x12\x34", 4);
	assert_int_equal(rc_mqtt_decode_puback(w.data, w.len, &id), RC_OK);
	assert_int_equal(id, 0x1234);
	rc_wbuf_reset(&w);
	assert_int_equal(rc_mqtt_encode_unsuback(&w, 7), RC_OK);
	assert_memory_equal(w.data, "\xb0\x02\x00\x07", 4);
	assert_int_equal(rc_mqtt_decode_unsuback(w.data, w.len, &id), RC_OK);
	assert_int_equal(id, 7);
	rc_wbuf_reset(&w);
	assert_int_equal(rc_mqtt_encode_connack(&w, 1, 0), RC_OK);
	assert_memory_equal(w.data, "\x20\x02\x01\x00", 4);
	assert_int_equal(rc_mqtt_decode_connack(w.data, w.len, &ca), RC_OK);
	assert_int_equal(ca.session_present, 1);
	assert_int_equal(ca.code, 0);
	rc_wbuf_reset(&w);
	assert_int_equal(rc_mqtt_encode_connack(&w, 0,
	                     RC_MQTT_CONNACK_NOT_AUTHORIZED),
	    RC_OK);
	assert_memory_equal(w.data, "\x20\x02\x00\x05", 4);
	assert_int_equal(rc_mqtt_decode_connack(w.data, w.len, &ca), RC_OK);
	assert_int_equal(ca.code, 5);
	rc_wbuf_free(&w);

	assert_int_equal(rc_mqtt_decode_puback(S("\x40\x02\x00\x00"), &id),
	    RC_EPARSE);
	assert_int_equal(rc_mqtt_decode_puback(S("\x40\x03\x00\x01\x00"), &id),
	    RC_EPARSE);
	assert_int_equal(rc_mqtt_decode_puback(S("\x40\x01\x01"), &id),
	    RC_EPARSE);
	assert_int_equal(rc_mqtt_decode_puback(S("\x41\x02\x00\x01"), &id),
	    RC_EPARSE);
	assert_int_equal(id, 0);
	/* §3.2.2: reserved bits, reserved codes, SP with a refusal. */
	assert_int_equal(rc_mqtt_decode_connack(S("\x20\x02\x02\x00"), &ca),
	    RC_EPARSE);
	assert_int_equal(rc_mqtt_decode_connack(S("\x20\x02\x00\x06"), &ca),
	    RC_EPARSE);
	assert_int_equal(rc_mqtt_decode_connack(S("\x20\x02\x01\x05"), &ca),
	    RC_EPARSE);
	assert_int_equal(rc_mqtt_decode_connack(S("\x20\x03\x00\x00\x00"), &ca),
	    RC_EPARSE);
	assert_int_equal(rc_mqtt_decode_connack(S("\x20\x01\x00"), &ca),
	    RC_EPARSE);
}

static void
test_empty_packets(void **state)
{
	struct rc_wbuf w;

	(void)state;
	rc_wbuf_init(&w, 64);
	assert_int_equal(rc_mqtt_encode_pingreq(&w), RC_OK);
	assert_int_equal(rc_mqtt_encode_pingresp(&w), RC_OK);
	assert_int_equal(rc_mqtt_encode_disconnect(&w), RC_OK);
	assert_int_equal(w.len, 6);
	assert_memory_equal(w.data, "\xc0\x00\xd0\x00\xe0\x00", 6);
	assert_int_equal(rc_mqtt_decode_pingreq(w.data, 2), RC_OK);
	assert_int_equal(rc_mqtt_decode_pingresp(w.data + 2, 2), RC_OK);
	assert_int_equal(rc_mqtt_decode_disconnect(w.data + 4, 2), RC_OK);
	/* One packet at a time: a decoder given more is malformed. */
	assert_int_equal(rc_mqtt_decode_pingreq(w.data, 4), RC_EPARSE);
	rc_wbuf_free(&w);
	assert_int_equal(rc_mqtt_decode_pingreq(S("\xc0\x01\x00")), RC_EPARSE);
	assert_int_equal(rc_mqtt_decode_disconnect(S("\xe2\x00")), RC_EPARSE);
	assert_int_equal(rc_mqtt_decode_pingresp(S("\xd0")), RC_ETRUNC);
}

static void
test_subscribe_roundtrip(void **state)
{
	static const char *const filters[] = {"devices/d1/messages/"
	                                      "devicebound/#",
	    "$iothub/methods/POST/#", "+/+", "#"};
	struct rc_mqtt_sub subs[4];
	struct rc_mqtt_subscribe s;
	struct rc_mqtt_str f;
	struct rc_wbuf w;
	uint8_t qos;
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		subs[i].filter = rc_mqtt_cstr(filters[i]);
		subs[i].qos = (uint8_t)(i % 3);
	}
	rc_wbuf_init(&w, 4096);
	assert_int_equal(rc_mqtt_encode_subscribe(&w, 99, subs, 4), RC_OK);
	assert_int_equal(w.data[0], 0x82);
	assert_int_equal(rc_mqtt_decode_subscribe(w.data, w.len, &s), RC_OK);
	assert_int_equal(s.packet_id, 99);
	assert_int_equal(s.count, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(rc_mqtt_subscribe_next(&s, &f, &qos), RC_OK);
		assert_str(&f, filters[i]);
		assert_int_equal(qos, i % 3);
	}
	assert_int_equal(rc_mqtt_subscribe_next(&s, &f, &qos), RC_ENOENT);
	assert_null(f.p);
	rc_wbuf_free(&w);
}

static void
test_unsubscribe(void **state)
{
	struct rc_mqtt_str filters[2], f;
	struct rc_mqtt_unsubscribe u;
	struct rc_wbuf w;

	(void)state;
	filters[0] = rc_mqtt_cstr("$iothub/twin/res/#");
	filters[1] = rc_mqtt_cstr("a/+/c");
	rc_wbuf_init(&w, 4096);
	assert_int_equal(rc_mqtt_encode_unsubscribe(&w, 5, filters, 2), RC_OK);
	assert_int_equal(w.data[0], 0xa2);
	assert_int_equal(rc_mqtt_decode_unsubscribe(w.data, w.len, &u), RC_OK);
	assert_int_equal(u.packet_id, 5);
	assert_int_equal(u.count, 2);
	assert_int_equal(rc_mqtt_unsubscribe_next(&u, &f), RC_OK);
	assert_str(&f, "$iothub/twin/res/#");
	assert_int_equal(rc_mqtt_unsubscribe_next(&u, &f), RC_OK);
	assert_str(&f, "a/+/c");
	assert_int_equal(rc_mqtt_unsubscribe_next(&u, &f), RC_ENOENT);
	rc_wbuf_free(&w);
}

static void
test_suback(void **state)
{
	static const uint8_t codes[] = {0, 1, 0x80};
	struct rc_mqtt_suback sa;
	struct rc_wbuf w;

	(void)state;
	rc_wbuf_init(&w, 64);
	assert_int_equal(rc_mqtt_encode_suback(&w, 3, codes, 3), RC_OK);
	assert_int_equal(w.len, 7);
	assert_memory_equal(w.data, "\x90\x05\x00\x03\x00\x01\x80", 7);
	assert_int_equal(rc_mqtt_decode_suback(w.data, w.len, &sa), RC_OK);
	assert_int_equal(sa.packet_id, 3);
	assert_int_equal(sa.count, 3);
	assert_memory_equal(sa.codes, codes, 3);
	rc_wbuf_free(&w);
	assert_int_equal(rc_mqtt_decode_suback(S("\x90\x03\x00\x03\x03"), &sa),
	    RC_EPARSE);
	assert_int_equal(rc_mqtt_decode_suback(S("\x90\x03\x00\x03\x81"), &sa),
	    RC_EPARSE);
	assert_int_equal(rc_mqtt_decode_suback(S("\x90\x02\x00\x03"), &sa),
	    RC_EPARSE);
	assert_int_equal(rc_mqtt_decode_suback(S("\x90\x03\x00\x00\x01"), &sa),
	    RC_EPARSE);
	assert_int_equal(rc_mqtt_decode_suback(S("\x92\x03\x00\x01\x01"), &sa),
	    RC_EPARSE);
	assert_null(sa.codes);
}

static void
test_encode_refusals_publish(void **state)
{
	struct rc_mqtt_publish m;
	struct rc_wbuf w;

	(void)state;
	rc_wbuf_init(&w, 4096);
	assert_int_equal(rc_mqtt_encode_pingreq(&w), RC_OK);
	memset(&m, 0, sizeof(m));
	m.topic = rc_mqtt_cstr("a/#");
	assert_int_equal(rc_mqtt_encode_publish(&w, &m), RC_EINVAL);
	m.topic = rc_mqtt_cstr("");
	assert_int_equal(rc_mqtt_encode_publish(&w, &m), RC_EINVAL);
	m.topic = rc_mqtt_cstr("a\xed\xa0\x80");
	assert_int_equal(rc_mqtt_encode_publish(&w, &m), RC_EINVAL);
	m.topic = rc_mqtt_cstr("a");
	m.qos = 1;
	assert_int_equal(rc_mqtt_encode_publish(&w, &m), RC_EINVAL);
	m.qos = 3;
	m.packet_id = 1;
	assert_int_equal(rc_mqtt_encode_publish(&w, &m), RC_EINVAL);
	m.qos = 0;
	m.dup = 1;
	assert_int_equal(rc_mqtt_encode_publish(&w, &m), RC_EINVAL);
	m.dup = 0;
	/* Remaining length over 268435455: refused before reading. */
	m.payload.p = (const uint8_t *)"x";
	m.payload.len = RC_MQTT_REMAINING_MAX - 2;
	assert_int_equal(rc_mqtt_encode_publish(&w, &m), RC_ETOOBIG);
	/* None of the refusals wrote anything. */
	assert_int_equal(w.len, 2);
	rc_wbuf_free(&w);
}

/* Strings of exactly 65535 bytes (§1.5.3), and one more. */
static void
test_encode_string_max(void **state)
{
	struct rc_mqtt_publish m, d;
	struct rc_mqtt_connect c;
	struct rc_mqtt_sub sub;
	struct rc_wbuf w;
	char *big;

	(void)state;
	big = rc_malloc(RC_MQTT_STR_MAX + 2);
	assert_non_null(big);
	memset(big, 'a', RC_MQTT_STR_MAX + 1);
	big[RC_MQTT_STR_MAX] = '\0';
	rc_wbuf_init(&w, 2 * RC_MQTT_STR_MAX);
	memset(&m, 0, sizeof(m));
	m.topic = rc_mqtt_cstr(big);
	assert_int_equal(rc_mqtt_encode_publish(&w, &m), RC_OK);
	assert_int_equal(rc_mqtt_decode_publish(w.data, w.len, &d), RC_OK);
	assert_int_equal(d.topic.len, RC_MQTT_STR_MAX);
	rc_wbuf_reset(&w);
	big[RC_MQTT_STR_MAX] = 'a';
	big[RC_MQTT_STR_MAX + 1] = '\0';
	m.topic = rc_mqtt_cstr(big);
	assert_int_equal(rc_mqtt_encode_publish(&w, &m), RC_ETOOBIG);
	memset(&c, 0, sizeof(c));
	c.client_id = m.topic;
	assert_int_equal(rc_mqtt_encode_connect(&w, &c), RC_ETOOBIG);
	sub.filter = m.topic;
	sub.qos = 0;
	assert_int_equal(rc_mqtt_encode_subscribe(&w, 1, &sub, 1), RC_ETOOBIG);
	assert_int_equal(w.len, 0);
	rc_free(big);
	rc_wbuf_free(&w);
}

static void
test_encode_refusals_other(void **state)
{
	static const uint8_t bad_codes[] = {0, 3};
	struct rc_mqtt_connect c;
	struct rc_mqtt_sub sub;
	struct rc_mqtt_str f;
	struct rc_wbuf w;

	(void)state;
	rc_wbuf_init(&w, 4096);
	memset(&c, 0, sizeof(c));
	c.client_id = rc_mqtt_cstr("\xc0\x80");
	assert_int_equal(rc_mqtt_encode_connect(&w, &c), RC_EINVAL);
	c.client_id = rc_mqtt_cstr("c");
	c.has_password = 1;
	assert_int_equal(rc_mqtt_encode_connect(&w, &c), RC_EINVAL);
	c.has_password = 0;
	c.has_will = 1;
	c.will_topic = rc_mqtt_cstr("w/+");
	assert_int_equal(rc_mqtt_encode_connect(&w, &c), RC_EINVAL);
	c.will_topic = rc_mqtt_cstr("w");
	c.will_qos = 3;
	assert_int_equal(rc_mqtt_encode_connect(&w, &c), RC_EINVAL);
	assert_int_equal(rc_mqtt_encode_connack(&w, 0, 6), RC_EINVAL);
	assert_int_equal(rc_mqtt_encode_connack(&w, 1, 5), RC_EINVAL);
	assert_int_equal(rc_mqtt_encode_suback(&w, 1, bad_codes, 2), RC_EINVAL);
	assert_int_equal(rc_mqtt_encode_suback(&w, 1, bad_codes, 0), RC_EINVAL);
	assert_int_equal(rc_mqtt_encode_suback(&w, 0, bad_codes, 1), RC_EINVAL);
	sub.filter = rc_mqtt_cstr("a/#/b");
	sub.qos = 0;
	assert_int_equal(rc_mqtt_encode_subscribe(&w, 1, &sub, 1), RC_EINVAL);
	sub.filter = rc_mqtt_cstr("a");
	sub.qos = 3;
	assert_int_equal(rc_mqtt_encode_subscribe(&w, 1, &sub, 1), RC_EINVAL);
	sub.qos = 1;
	assert_int_equal(rc_mqtt_encode_subscribe(&w, 0, &sub, 1), RC_EINVAL);
	assert_int_equal(rc_mqtt_encode_subscribe(&w, 1, &sub, 0), RC_EINVAL);
	f = rc_mqtt_cstr("a+");
	assert_int_equal(rc_mqtt_encode_unsubscribe(&w, 1, &f, 1), RC_EINVAL);
	assert_int_equal(rc_mqtt_encode_puback(&w, 0), RC_EINVAL);
	assert_int_equal(rc_mqtt_encode_unsuback(&w, 0), RC_EINVAL);
	assert_int_equal(w.len, 0);
	rc_wbuf_free(&w);
}

/* The cap of the output buffer applies, and a refused packet leaves it. */
static void
test_encode_cap(void **state)
{
	struct rc_mqtt_publish m;
	struct rc_wbuf w;

	(void)state;
	rc_wbuf_init(&w, 11);
	memset(&m, 0, sizeof(m));
	m.topic = rc_mqtt_cstr("abc");
	m.payload.p = (const uint8_t *)"123";
	m.payload.len = 3;
	assert_int_equal(rc_mqtt_encode_puback(&w, 1), RC_OK);
	assert_int_equal(rc_mqtt_encode_publish(&w, &m), RC_ETOOBIG);
	assert_int_equal(w.len, 4);
	assert_int_equal(w.data[4], 0);
	m.payload.len = 0;
	assert_int_equal(rc_mqtt_encode_publish(&w, &m), RC_OK);
	assert_int_equal(w.len, 11);
	assert_int_equal(rc_mqtt_encode_pingreq(&w), RC_ETOOBIG);
	assert_int_equal(w.len, 11);
	rc_wbuf_free(&w);
}

/* One valid packet of each type; ends[i] is where packet i ends. */
static int
encode_all(struct rc_wbuf *w, size_t *ends, size_t *n)
{
	static const uint8_t codes[] = {1, 0x80};
	struct rc_mqtt_connect c = full_connect();
	struct rc_mqtt_publish m;
	struct rc_mqtt_sub sub;
	struct rc_mqtt_str f;
	int rc;

	memset(&m, 0, sizeof(m));
	m.topic = rc_mqtt_cstr("devices/d/messages/events/");
	m.payload.p = (const uint8_t *)"hello";
	m.payload.len = 5;
	m.qos = 1;
	m.packet_id = 2;
	sub.filter = rc_mqtt_cstr("devices/+/messages/devicebound/#");
	sub.qos = 1;
	f = sub.filter;
	*n = 0;
#define ADD(call)                           \
	do {                                \
		if ((rc = (call)) != RC_OK) \
			return rc;          \
		ends[(*n)++] = w->len;      \
	} while (0)
	ADD(rc_mqtt_encode_connect(w, &c));
	ADD(rc_mqtt_encode_connack(w, 0, 0));
	ADD(rc_mqtt_encode_publish(w, &m));
	ADD(rc_mqtt_encode_puback(w, 2));
	ADD(rc_mqtt_encode_subscribe(w, 3, &sub, 1));
	ADD(rc_mqtt_encode_suback(w, 3, codes, 2));
	ADD(rc_mqtt_encode_unsubscribe(w, 4, &f, 1));
	ADD(rc_mqtt_encode_unsuback(w, 4));
	ADD(rc_mqtt_encode_pingreq(w));
	ADD(rc_mqtt_encode_pingresp(w));
	ADD(rc_mqtt_encode_disconnect(w));
#undef ADD
	return RC_OK;
}

static void
all_packets(struct rc_wbuf *w, size_t *ends, size_t *n)
{
	assert_int_equal(encode_all(w, ends, n), RC_OK);
	assert_int_equal(*n, 11);
}

/*
 * Every prefix of every valid packet: rc_mqtt_frame wants more, decoders
 * say truncated, and neither reads past the end (each prefix is copied to
 * a buffer of exactly its size, for ASan).  The whole stream frames back
 * into the same packets.
 */
static void
test_every_prefix(void **state)
{
	struct rc_mqtt_fixed h;
	struct rc_wbuf w;
	size_t ends[16], n, i, k, start, size, total;
	uint8_t *copy;

	(void)state;
	rc_wbuf_init(&w, 65536);
	all_packets(&w, ends, &n);
	for (i = 0, start = 0; i < n; start = ends[i++]) {
		size = ends[i] - start;
		assert_int_equal(rc_mqtt_frame(w.data + start, w.len - start,
		                     65536, &h, &total),
		    RC_OK);
		assert_int_equal(total, size);
		assert_int_equal(decode_any(w.data + start, size, h.type),
		    RC_OK);
		for (k = 0; k < size; k++) {
			copy = rc_malloc(k == 0 ? 1 : k);
			assert_non_null(copy);
			memcpy(copy, w.data + start, k);
			assert_int_equal(rc_mqtt_frame(copy, k, 65536, &h,
			                     &total),
			    RC_ETRUNC);
			assert_int_equal(decode_any(copy, k,
			                     w.data[start] >> 4),
			    RC_ETRUNC);
			rc_free(copy);
		}
	}
	rc_wbuf_free(&w);
}

/* Decoders borrow; they never allocate. */
static void
test_decoders_do_not_allocate(void **state)
{
	struct rc_mqtt_subscribe s;
	struct rc_mqtt_str f;
	struct rc_mqtt_fixed h;
	struct rc_wbuf w;
	size_t ends[16], n, i, start, total;
	uint8_t qos;

	(void)state;
	rc_wbuf_init(&w, 65536);
	all_packets(&w, ends, &n);
	rc_mem_fail_after(0);
	for (i = 0, start = 0; i < n; start = ends[i++]) {
		assert_int_equal(rc_mqtt_frame(w.data + start, w.len - start,
		                     65536, &h, &total),
		    RC_OK);
		assert_int_equal(decode_any(w.data + start, total, h.type),
		    RC_OK);
	}
	assert_int_equal(rc_mqtt_decode_subscribe(w.data + ends[3],
	                     ends[4] - ends[3], &s),
	    RC_OK);
	while (rc_mqtt_subscribe_next(&s, &f, &qos) == RC_OK)
		continue;
	assert_int_equal(rc_mem_count(), 0);
	rc_wbuf_free(&w);
}

/*
 * The output buffer grows several times over the packets, so each growth
 * fails once; a failed encoder leaves what was there before it.
 */
static int
alloc_encode_all(void *arg)
{
	struct rc_mqtt_str s;
	struct rc_wbuf w;
	size_t ends[16], n, before;
	char *copy = NULL;
	int rc;

	(void)arg;
	rc_wbuf_init(&w, 65536);
	s = rc_mqtt_cstr("a/b");
	if ((rc = rc_mqtt_str_get1(&s, &copy)) != RC_OK)
		goto out;
	n = 0;
	rc = encode_all(&w, ends, &n);
	before = n == 0 ? 0 : ends[n - 1];
	assert_int_equal(w.len, before);
out:
	rc_free(copy);
	rc_wbuf_free(&w);
	return rc;
}

static void
test_encoders_each_alloc(void **state)
{
	(void)state;
	rctest_each_alloc(alloc_encode_all, NULL, 1);
}

static void
test_utf8(void **state)
{
	static const char *const good[] = {"", "abc", "\xc3\xa9",
	    "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf",
	    "\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbb\xbf", "\x7f\x01"};
	static const char *const bad[] = {"\xc0\x80", "\xc1\xbf",
	    "\xe0\x80\xaf", "\xe0\x9f\xbf", "\xf0\x80\x80\xaf",
	    "\xf0\x8f\xbf\xbf", "\xed\xa0\x80", "\xed\xbf\xbf",
	    "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\x80", "\xc3",
	    "\xe2\x82", "\xf0\x9f\x98", "\xc3\x28", "\xe2\x28\xac"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(rc_mqtt_utf8_check(good[i], strlen(good[i])),
		    RC_OK);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(rc_mqtt_utf8_check(bad[i], strlen(bad[i])),
		    RC_EPARSE);
	assert_int_equal(rc_mqtt_utf8_check("a\0b", 3), RC_EPARSE);
	assert_int_equal(rc_mqtt_utf8_check("\0", 1), RC_EPARSE);
	assert_int_equal(rc_mqtt_utf8_check(NULL, 0), RC_OK);
}

static void
test_topic_and_filter_valid(void **state)
{
	static const char *const filters[] = {"#", "+", "+/+", "/+", "a/#",
	    "sport/tennis/+", "+/tennis/#", "/", "a//b", "$SYS/#",
	    "devices/+/messages/devicebound/#"};
	static const char *const bad_filters[] = {"", "a#", "a/#/b", "#/a",
	    "a+", "+a", "a/b+/c", "sport/tennis#", "##", "++"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
		assert_int_equal(rc_mqtt_filter_valid(filters[i],
		                     strlen(filters[i])),
		    RC_OK);
	for (i = 0; i < sizeof(bad_filters) / sizeof(bad_filters[0]); i++)
		assert_int_equal(rc_mqtt_filter_valid(bad_filters[i],
		                     strlen(bad_filters[i])),
		    RC_EPARSE);
	assert_int_equal(rc_mqtt_topic_valid("a/b", 3), RC_OK);
	assert_int_equal(rc_mqtt_topic_valid("/", 1), RC_OK);
	assert_int_equal(rc_mqtt_topic_valid("$SYS", 4), RC_OK);
	assert_int_equal(rc_mqtt_topic_valid("", 0), RC_EPARSE);
	assert_int_equal(rc_mqtt_topic_valid("a/+", 3), RC_EPARSE);
	assert_int_equal(rc_mqtt_topic_valid("#", 1), RC_EPARSE);
	assert_int_equal(rc_mqtt_topic_valid("a\0", 2), RC_EPARSE);
	assert_int_equal(rc_mqtt_filter_valid("a\0", 2), RC_EPARSE);
}

static int
match(const char *f, const char *t)
{
	return rc_mqtt_topic_match(f, strlen(f), t, strlen(t));
}

/* §4.7.1.2, §4.7.1.3, §4.7.2 examples, and the Azure filters. */
static void
test_topic_match(void **state)
{
	static const struct {
		const char *filter, *topic;
		int want;
	} t[] = {
	    {"sport/tennis/player1/#", "sport/tennis/player1", 1},
	    {"sport/tennis/player1/#", "sport/tennis/player1/ranking", 1},
	    {"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon",
	        1},
	    {"sport/tennis/player1/#", "sport/tennis/player2", 0},
	    {"sport/#", "sport", 1},
	    {"sport/#", "sports", 0},
	    {"#", "sport/tennis", 1},
	    {"#", "/", 1},
	    {"sport/tennis/+", "sport/tennis/player1", 1},
	    {"sport/tennis/+", "sport/tennis/player2", 1},
	    {"sport/tennis/+", "sport/tennis/player1/ranking", 0},
	    {"sport/+", "sport", 0},
	    {"sport/+", "sport/", 1},
	    {"+/+", "/finance", 1},
	    {"/+", "/finance", 1},
	    {"+", "/finance", 0},
	    {"+", "finance", 1},
	    {"#", "$SYS/monitor/Clients", 0},
	    {"+/monitor/Clients", "$SYS/monitor/Clients", 0},
	    {"$SYS/#", "$SYS/monitor/Clients", 1},
	    {"$SYS/monitor/+", "$SYS/monitor/Clients", 1},
	    {"$SYS/#", "$SYS", 1},
	    {"ACCOUNTS", "Accounts", 0},
	    {"a/b", "a/b", 1},
	    {"a/b", "a/b/", 0},
	    {"a/", "a", 0},
	    {"a/", "a/", 1},
	    {"a//b", "a//b", 1},
	    {"a/+/b", "a//b", 1},
	    {"a/b/c", "a/b", 0},
	    {"a/b", "a/b/c", 0},
	    {"a/#/b", "a/x/b", 0},
	    {"$iothub/methods/POST/#", "$iothub/methods/POST/reboot/?$rid=1",
	        1},
	    {"$iothub/twin/res/#", "$iothub/twin/res/200/?$rid=2", 1},
	    {"devices/+/messages/devicebound/#",
	        "devices/d1/messages/devicebound/%24.mid=1", 1},
	    {"devices/d1/messages/devicebound/#",
	        "devices/d2/messages/devicebound/", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (match(t[i].filter, t[i].topic) != t[i].want)
			fail_msg("filter '%s' topic '%s': want %d", t[i].filter,
			    t[i].topic, t[i].want);
	assert_int_equal(rc_mqtt_topic_match("", 0, "a", 1), 0);
	assert_int_equal(rc_mqtt_topic_match("#", 1, "", 0), 0);
}

static void
test_topic_split(void **state)
{
	struct rc_mqtt_str t, path, query;

	(void)state;
	t = rc_mqtt_cstr("$iothub/methods/POST/reboot/?$rid=1");
	assert_int_equal(rc_mqtt_topic_split(&t, &path, &query), RC_OK);
	assert_str(&path, "$iothub/methods/POST/reboot");
	assert_str(&query, "$rid=1");
	t = rc_mqtt_cstr("$iothub/twin/res/200/?$rid=x&$version=3");
	assert_int_equal(rc_mqtt_topic_split(&t, &path, &query), RC_OK);
	assert_str(&path, "$iothub/twin/res/200");
	assert_str(&query, "$rid=x&$version=3");
	t = rc_mqtt_cstr("/?");
	assert_int_equal(rc_mqtt_topic_split(&t, &path, &query), RC_OK);
	assert_int_equal(path.len + query.len, 0);
	t = rc_mqtt_cstr("devices/d/messages/events/a=b?c");
	assert_int_equal(rc_mqtt_topic_split(&t, &path, &query), RC_ENOENT);
	assert_null(path.p);
	assert_null(query.p);
}

struct pair {
	const char *key, *val;
};

/* Iterates bag; the pairs must be want[0..n) and then the end. */
static void
check_props(const char *bag, const struct pair *want, size_t n, int end)
{
	struct rc_mqtt_props pr;
	char key[64], val[64];
	size_t i, kl, vl;

	rc_mqtt_props_init(&pr, bag, strlen(bag));
	for (i = 0; i < n; i++) {
		assert_int_equal(rc_mqtt_props_next(&pr, key, sizeof(key), &kl,
		                     val, sizeof(val), &vl),
		    RC_OK);
		assert_string_equal(key, want[i].key);
		assert_string_equal(val, want[i].val);
		assert_int_equal(kl, strlen(want[i].key));
		assert_int_equal(vl, strlen(want[i].val));
	}
	assert_int_equal(rc_mqtt_props_next(&pr, key, sizeof(key), &kl, val,
	                     sizeof(val), &vl),
	    end);
	assert_string_equal(key, "");
	assert_int_equal(kl + vl, 0);
	/* Errors and the end are sticky. */
	assert_int_equal(rc_mqtt_props_next(&pr, key, sizeof(key), &kl, val,
	                     sizeof(val), &vl),
	    end);
}

static void
test_props(void **state)
{
	static const struct pair azure[] = {{"$.mid", "mid-1"},
	    {"$.ct", "application/json"}, {"$.ce", "utf-8"},
	    {"alert", "yes please"}};
	static const struct pair plus[] = {{"a+b", "c+d"}};
	static const struct pair lone[] = {{"flag", ""}, {"k", ""},
	    {"x", "a=b"}};
	static const struct pair sparse[] = {{"a", "1"}, {"b", "2"}};
	static const struct pair utf[] = {{"\xe2\x82\xac", "$"}};

	(void)state;
	check_props("%24.mid=mid-1&%24.ct=application%2Fjson&%24.ce=utf-8&"
	            "alert=yes%20please",
	    azure, 4, RC_ENOENT);
	check_props("a+b=c+d", plus, 1, RC_ENOENT);
	check_props("flag&k=&x=a=b", lone, 3, RC_ENOENT);
	check_props("&a=1&&b=2&", sparse, 2, RC_ENOENT);
	check_props("%e2%82%AC=%24", utf, 1, RC_ENOENT);
	check_props("", NULL, 0, RC_ENOENT);
	check_props("&&", NULL, 0, RC_ENOENT);
	/* Bad escapes, encoded NUL, empty key, not UTF-8 once decoded. */
	check_props("a=1&b=%zz", sparse, 1, RC_EPARSE);
	check_props("a=%4", NULL, 0, RC_EPARSE);
	check_props("a=%", NULL, 0, RC_EPARSE);
	check_props("%g0=1", NULL, 0, RC_EPARSE);
	check_props("a=%00", NULL, 0, RC_EPARSE);
	check_props("=v", NULL, 0, RC_EPARSE);
	check_props("a=%C0%80", NULL, 0, RC_EPARSE);
	check_props("a=%ED%A0%80", NULL, 0, RC_EPARSE);
}

static void
test_props_bounds(void **state)
{
	struct rc_mqtt_props pr;
	struct rc_wbuf w;
	char key[4], val[4];
	size_t i, kl, vl;

	(void)state;
	/* key "abc" fits in 4 with its NUL, "abcd" does not. */
	rc_mqtt_props_init(&pr, "abc=abc&abcd=1", 14);
	assert_int_equal(rc_mqtt_props_next(&pr, key, sizeof(key), &kl, val,
	                     sizeof(val), &vl),
	    RC_OK);
	assert_int_equal(rc_mqtt_props_next(&pr, key, sizeof(key), &kl, val,
	                     sizeof(val), &vl),
	    RC_ETOOBIG);
	rc_mqtt_props_init(&pr, "a=%41%41%41%41", 14);
	assert_int_equal(rc_mqtt_props_next(&pr, key, sizeof(key), &kl, val,
	                     sizeof(val), &vl),
	    RC_ETOOBIG);
	assert_string_equal(val, "");
	/* RC_MQTT_PROPS_MAX pairs, then one more. */
	rc_wbuf_init(&w, 4096);
	for (i = 0; i <= RC_MQTT_PROPS_MAX; i++)
		assert_int_equal(rc_wbuf_puts(&w, "k=v&"), RC_OK);
	rc_mqtt_props_init(&pr, (const char *)w.data, w.len);
	for (i = 0; i < RC_MQTT_PROPS_MAX; i++)
		assert_int_equal(rc_mqtt_props_next(&pr, key, sizeof(key), &kl,
		                     val, sizeof(val), &vl),
		    RC_OK);
	assert_int_equal(rc_mqtt_props_next(&pr, key, sizeof(key), &kl, val,
	                     sizeof(val), &vl),
	    RC_ETOOBIG);
	rc_wbuf_free(&w);
}

static void
test_str_helpers(void **state)
{
	struct rc_mqtt_str s;
	char buf[4], *p;

	(void)state;
	s.p = "abcdef";
	s.len = 3;
	assert_true(rc_mqtt_str_eq(&s, "abc"));
	assert_false(rc_mqtt_str_eq(&s, "abcd"));
	assert_false(rc_mqtt_str_eq(&s, "ab"));
	assert_int_equal(rc_mqtt_str_copy(&s, buf, sizeof(buf)), RC_OK);
	assert_string_equal(buf, "abc");
	s.len = 4;
	assert_int_equal(rc_mqtt_str_copy(&s, buf, sizeof(buf)), RC_ETOOBIG);
	assert_string_equal(buf, "");
	assert_int_equal(rc_mqtt_str_get1(&s, &p), RC_OK);
	assert_string_equal(p, "abcd");
	rc_free(p);
	s = rc_mqtt_cstr(NULL);
	assert_int_equal(s.len, 0);
	assert_true(rc_mqtt_str_eq(&s, ""));
	assert_string_equal(rc_mqtt_type_name(RC_MQTT_SUBACK), "SUBACK");
	assert_string_equal(rc_mqtt_type_name(0), "RESERVED");
	assert_string_equal(rc_mqtt_type_name(99), "RESERVED");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_remaining_length_table),
	    cmocka_unit_test(test_frame_malformed_header),
	    cmocka_unit_test(test_frame_max_packet),
	    cmocka_unit_test(test_connect_spec_example),
	    cmocka_unit_test(test_connect_azure_bytes),
	    cmocka_unit_test(test_connect_roundtrip),
	    cmocka_unit_test(test_malformed_vectors),
	    cmocka_unit_test(test_decoded_fields),
	    cmocka_unit_test(test_connect_wrong_type),
	    cmocka_unit_test(test_publish_roundtrip),
	    cmocka_unit_test(test_publish_length_edges),
	    cmocka_unit_test(test_acks),
	    cmocka_unit_test(test_empty_packets),
	    cmocka_unit_test(test_subscribe_roundtrip),
	    cmocka_unit_test(test_unsubscribe),
	    cmocka_unit_test(test_suback),
	    cmocka_unit_test(test_encode_refusals_publish),
	    cmocka_unit_test(test_encode_string_max),
	    cmocka_unit_test(test_encode_refusals_other),
	    cmocka_unit_test(test_encode_cap),
	    cmocka_unit_test(test_every_prefix),
	    cmocka_unit_test(test_decoders_do_not_allocate),
	    cmocka_unit_test(test_encoders_each_alloc),
	    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_topic_and_filter_valid),
	    cmocka_unit_test(test_topic_match),
	    cmocka_unit_test(test_topic_split),
	    cmocka_unit_test(test_props),
	    cmocka_unit_test(test_props_bounds),
	    cmocka_unit_test(test_str_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
