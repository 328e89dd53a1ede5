/*
 * MQTT 3.1.1 codec (mqtt.h).  Section numbers are those of the OASIS
 * standard of 29 October 2014; [MQTT-x.y.z-n] are its normative statements.
 *
 * Format (§2): a fixed header (type << 4 | flags, then the remaining
 * length in 1..4 bytes of 7 bits, least significant first, the high bit
 * meaning "another byte follows", §2.2.3), then a variable header and a
 * payload laid out per type.  Strings are a big-endian 16-bit length and
 * that many bytes of UTF-8 (§1.5.3); packet identifiers are big-endian
 * 16-bit (§2.3.1).
 *
 * Invariants enforced on every input:
 * - packet types 0 and 15 are refused, and the §2.2.2 flags: 0010 for
 *   PUBREL, SUBSCRIBE and UNSUBSCRIBE, 0000 for the other non-PUBLISH
 *   types; a PUBLISH with QoS 3 or with DUP at QoS 0 is malformed;
 * - a remaining length of at most four bytes, and the packet no longer
 *   than the reader's maximum, known before any body byte is read;
 * - every field inside the packet: a length that overruns the packet, or
 *   bytes left over after the last field, are malformed;
 * - strings are well-formed UTF-8 without U+0000 (§1.5.3);
 * - packet identifiers, where present, are non-zero (§2.3.1);
 * - topic names have no wildcard, topic filters use them only as whole
 *   levels, both are at least one byte long (§4.7).
 * A non-minimal remaining length (0x80 0x00 for 0) is accepted: 3.1.1 does
 * not forbid it (MQTT 5 does, in its §1.5.5).
 */
#include <string.h>

#include "rollcall/mem.h"
#include "rollcall/mqtt.h"

/* Fixed header flags (§2.2.2, §3.3.1). */
#define F_DUP 0x08
#define F_QOS 0x06
#define F_RETAIN 0x01
#define F_PUBREL_SUB 0x02 /* PUBREL, SUBSCRIBE, UNSUBSCRIBE */

/* CONNECT flags (§3.1.2.3). */
#define CF_RESERVED 0x01
#define CF_CLEAN 0x02
#define CF_WILL 0x04
#define CF_WILL_QOS_SHIFT 3
#define CF_WILL_RETAIN 0x20
#define CF_PASSWORD 0x40
#define CF_USERNAME 0x80

/* CONNECT variable header: "MQTT" as a string, level, flags, keepalive. */
#define CONNECT_VHDR_LEN 10
#define MQTT_LEVEL 4

static const char *const type_names[16] = {
    "RESERVED",
    "CONNECT",
    "CONNACK",
    "PUBLISH",
    "PUBACK",
    "PUBREC",
    "PUBREL",
    "PUBCOMP",
    "SUBSCRIBE",
    "SUBACK",
    "UNSUBSCRIBE",
    "UNSUBACK",
    "PINGREQ",
    "PINGRESP",
    "DISCONNECT",
    "RESERVED",
};

const char *
rc_mqtt_type_name(int type)
{
	if (type < 0 || type > 15)
		return "RESERVED";
	return type_names[type];
}

/*
 * RFC 3629 §4: the lead byte fixes how many continuation bytes follow and
 * the range of the first one, which rules out overlong forms (C0, C1, E0
 * 80..9F, F0 80..8F), UTF-16 surrogates (ED A0..BF), and code points above
 * U+10FFFF (F4 90.., F5..FF).
 */
static int
utf8_tail(struct rc_buf *b, uint8_t lead)
{
	uint8_t lo = 0x80, hi = 0xbf, c;
	size_t i, more;

	if (lead >= 0xc2 && lead <= 0xdf)
		more = 1;
	else if (lead >= 0xe0 && lead <= 0xef)
		more = 2;
	else if (lead >= 0xf0 && lead <= 0xf4)
		more = 3;
	else
		return RC_EPARSE;
	if (lead == 0xe0)
		lo = 0xa0;
	else if (lead == 0xed)
		hi = 0x9f;
	else if (lead == 0xf0)
		lo = 0x90;
	else if (lead == 0xf4)
		hi = 0x8f;
	for (i = 0; i < more; i++) {
		if (rc_buf_get_u8(b, &c) != RC_OK || c < lo || c > hi)
			return RC_EPARSE;
		lo = 0x80;
		hi = 0xbf;
	}
	return RC_OK;
}

int
rc_mqtt_utf8_check(const void *p, size_t n)
{
	struct rc_buf b;
	uint8_t c;
	int rc;

	rc_buf_init(&b, p, n);
	while (rc_buf_get_u8(&b, &c) == RC_OK) {
		/* §1.5.3 [MQTT-1.5.3-2]: no U+0000. */
		if (c == 0)
			return RC_EPARSE;
		if (c < 0x80)
			continue;
		if ((rc = utf8_tail(&b, c)) != RC_OK)
			return rc;
	}
	return RC_OK;
}

/* §2.2.2: the flags each type must carry. */
static int
check_flags(uint8_t type, uint8_t flags)
{
	switch (type) {
	case 0:
	case 15:
		/* §2.2.1: reserved. */
		return RC_EPARSE;
	case RC_MQTT_PUBLISH:
		/* §3.3.1.2 [MQTT-3.3.1-4]: QoS 3 is malformed. */
		if ((flags & F_QOS) == F_QOS)
			return RC_EPARSE;
		/* §3.3.1.1 [MQTT-3.3.1-2]: DUP only with QoS > 0. */
		if ((flags & F_DUP) != 0 && (flags & F_QOS) == 0)
			return RC_EPARSE;
		return RC_OK;
	case RC_MQTT_PUBREL:
	case RC_MQTT_SUBSCRIBE:
	case RC_MQTT_UNSUBSCRIBE:
		/* [MQTT-3.6.1-1], [MQTT-3.8.1-1], [MQTT-3.10.1-1] */
		return flags == F_PUBREL_SUB ? RC_OK : RC_EPARSE;
	default:
		return flags == 0 ? RC_OK : RC_EPARSE;
	}
}

/*
 * The fixed header at the start of data.  RC_ETRUNC until all of it is
 * there; RC_EPARSE as soon as a byte seen is wrong.
 */
static int
parse_fixed(const uint8_t *data, size_t len, struct rc_mqtt_fixed *hdr)
{
	struct rc_buf b;
	size_t value = 0, i;
	uint8_t c;
	int rc;

	memset(hdr, 0, sizeof(*hdr));
	rc_buf_init(&b, data, len);
	if ((rc = rc_buf_get_u8(&b, &c)) != RC_OK)
		return rc;
	if ((rc = check_flags(c >> 4, c & 0x0f)) != RC_OK)
		return rc;
	/* §2.2.3: at most four bytes; the fourth must not continue. */
	for (i = 0; i < 4; i++) {
		uint8_t d;

		if ((rc = rc_buf_get_u8(&b, &d)) != RC_OK)
			return rc;
		value |= (size_t)(d & 0x7f) << (7 * i);
		if ((d & 0x80) != 0)
			continue;
		hdr->type = c >> 4;
		hdr->flags = c & 0x0f;
		hdr->hdrlen = b.off;
		hdr->remaining = value;
		return RC_OK;
	}
	return RC_EPARSE;
}

int
rc_mqtt_frame(const uint8_t *data, size_t len, size_t max_packet,
    struct rc_mqtt_fixed *hdr, size_t *total)
{
	struct rc_mqtt_fixed h;
	size_t t;
	int rc;

	memset(hdr, 0, sizeof(*hdr));
	*total = 0;
	if ((rc = parse_fixed(data, len, &h)) != RC_OK)
		return rc;
	t = h.hdrlen + h.remaining;
	if (t > max_packet)
		return RC_ETOOBIG;
	*hdr = h;
	*total = t;
	return len < t ? RC_ETRUNC : RC_OK;
}

size_t
rc_mqtt_remaining_encode(size_t value, uint8_t out[4])
{
	size_t n = 0;
	uint8_t d;

	if (value > RC_MQTT_REMAINING_MAX)
		return 0;
	do {
		d = value & 0x7f;
		value >>= 7;
		if (value > 0)
			d |= 0x80;
		out[n++] = d;
	} while (value > 0);
	return n;
}

/*
 * Opens one whole packet of the given type: *body covers its remaining
 * length exactly.
 */
static int
open_packet(const uint8_t *data, size_t len, uint8_t type, uint8_t *flags,
    struct rc_buf *body)
{
	struct rc_mqtt_fixed h;
	int rc;

	*flags = 0;
	rc_buf_init(body, NULL, 0);
	if ((rc = parse_fixed(data, len, &h)) != RC_OK)
		return rc;
	if (h.type != type)
		return RC_EINVAL;
	if (len - h.hdrlen < h.remaining)
		return RC_ETRUNC;
	if (len - h.hdrlen > h.remaining)
		return RC_EPARSE;
	rc_buf_init(body, data + h.hdrlen, h.remaining);
	*flags = h.flags;
	return RC_OK;
}

/*
 * Reads inside a body.  The fixed header said how long the packet is, so
 * a field running past its end is malformed, not truncated.
 */
static int
get_u8(struct rc_buf *b, uint8_t *v)
{
	return rc_buf_get_u8(b, v) == RC_OK ? RC_OK : RC_EPARSE;
}

static int
get_u16(struct rc_buf *b, uint16_t *v)
{
	return rc_buf_get_u16be(b, v) == RC_OK ? RC_OK : RC_EPARSE;
}

/* §2.3.1 [MQTT-2.3.1-1]: a packet identifier is never 0. */
static int
get_id(struct rc_buf *b, uint16_t *id)
{
	if (get_u16(b, id) != RC_OK || *id == 0)
		return RC_EPARSE;
	return RC_OK;
}

/* Two-byte length and that many bytes (§1.5.3, §3.1.3.4 for binary). */
static int
get_bin(struct rc_buf *b, struct rc_mqtt_bin *out)
{
	const uint8_t *p;
	uint16_t n;

	if (rc_buf_get_u16be(b, &n) != RC_OK ||
	    rc_buf_get0_bytes(b, n, &p) != RC_OK)
		return RC_EPARSE;
	out->p = p;
	out->len = n;
	return RC_OK;
}

static int
get_str(struct rc_buf *b, struct rc_mqtt_str *out)
{
	struct rc_mqtt_bin raw;
	int rc;

	if ((rc = get_bin(b, &raw)) != RC_OK)
		return rc;
	if ((rc = rc_mqtt_utf8_check(raw.p, raw.len)) != RC_OK)
		return rc;
	out->p = (const char *)raw.p;
	out->len = raw.len;
	return RC_OK;
}

static int
get_end(const struct rc_buf *b)
{
	return rc_buf_remaining(b) == 0 ? RC_OK : RC_EPARSE;
}

/*
 * §3.1.2.1-2: protocol name "MQTT", level 4.  Anything else that is
 * well-formed (3.1's "MQIsdp" level 3, MQTT 5's level 5) is a version we
 * do not speak, answered with CONNACK 1 [MQTT-3.1.2-2].
 */
static int
connect_protocol(struct rc_buf *b)
{
	struct rc_mqtt_str name;
	uint8_t level;
	int rc;

	if ((rc = get_str(b, &name)) != RC_OK)
		return rc;
	if ((rc = get_u8(b, &level)) != RC_OK)
		return rc;
	if (!rc_mqtt_str_eq(&name, "MQTT") || level != MQTT_LEVEL)
		return RC_EUNSUPPORTED;
	return RC_OK;
}

/* §3.1.2.3-10: connect flags and keepalive. */
static int
connect_flags(struct rc_buf *b, struct rc_mqtt_connect *c)
{
	uint8_t f;
	int rc;

	if ((rc = get_u8(b, &f)) != RC_OK)
		return rc;
	/* [MQTT-3.1.2-3] */
	if ((f & CF_RESERVED) != 0)
		return RC_EPARSE;
	c->clean_session = (f & CF_CLEAN) != 0;
	c->has_will = (f & CF_WILL) != 0;
	c->will_qos = (f >> CF_WILL_QOS_SHIFT) & 3;
	c->will_retain = (f & CF_WILL_RETAIN) != 0;
	c->has_password = (f & CF_PASSWORD) != 0;
	c->has_username = (f & CF_USERNAME) != 0;
	/* §3.1.2.6 [MQTT-3.1.2-14] */
	if (c->will_qos == 3)
		return RC_EPARSE;
	/* §3.1.2.6-7 [MQTT-3.1.2-13], [MQTT-3.1.2-15] */
	if (!c->has_will && (c->will_qos != 0 || c->will_retain))
		return RC_EPARSE;
	/* §3.1.2.9 [MQTT-3.1.2-22] */
	if (c->has_password && !c->has_username)
		return RC_EPARSE;
	return get_u16(b, &c->keepalive);
}

/*
 * §3.1.3: client identifier, will topic and message, user name, password,
 * each present exactly when its flag says so, in that order, then nothing.
 */
static int
connect_payload(struct rc_buf *b, struct rc_mqtt_connect *c)
{
	int rc;

	if ((rc = get_str(b, &c->client_id)) != RC_OK)
		return rc;
	if (c->has_will) {
		if ((rc = get_str(b, &c->will_topic)) != RC_OK)
			return rc;
		/* §3.1.2.5: published as a PUBLISH, so a topic name. */
		if (rc_mqtt_topic_valid(c->will_topic.p, c->will_topic.len) !=
		    RC_OK)
			return RC_EPARSE;
		if ((rc = get_bin(b, &c->will_message)) != RC_OK)
			return rc;
	}
	if (c->has_username && (rc = get_str(b, &c->username)) != RC_OK)
		return rc;
	if (c->has_password && (rc = get_bin(b, &c->password)) != RC_OK)
		return rc;
	return get_end(b);
}

int
rc_mqtt_decode_connect(const uint8_t *data, size_t len,
    struct rc_mqtt_connect *out)
{
	struct rc_mqtt_connect c;
	struct rc_buf b;
	uint8_t flags;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	if ((rc = open_packet(data, len, RC_MQTT_CONNECT, &flags, &b)) != RC_OK)
		return rc;
	if ((rc = connect_protocol(&b)) != RC_OK)
		return rc;
	if ((rc = connect_flags(&b, &c)) != RC_OK)
		return rc;
	if ((rc = connect_payload(&b, &c)) != RC_OK)
		return rc;
	*out = c;
	return RC_OK;
}

/*
 * §3.3: topic name (no wildcards, [MQTT-3.3.2-2]), a packet identifier
 * when QoS > 0 (§3.3.2.2), and the rest is the payload (§3.3.3), which may
 * be empty.  The header flags were checked by parse_fixed.
 */
int
rc_mqtt_decode_publish(const uint8_t *data, size_t len,
    struct rc_mqtt_publish *out)
{
	struct rc_mqtt_publish m;
	struct rc_mqtt_bin topic;
	struct rc_buf b;
	uint8_t flags;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&m, 0, sizeof(m));
	if ((rc = open_packet(data, len, RC_MQTT_PUBLISH, &flags, &b)) != RC_OK)
		return rc;
	m.dup = (flags & F_DUP) != 0;
	m.qos = (flags & F_QOS) >> 1;
	m.retain = (flags & F_RETAIN) != 0;
	if ((rc = get_bin(&b, &topic)) != RC_OK)
		return rc;
	if (rc_mqtt_topic_valid((const char *)topic.p, topic.len) != RC_OK)
		return RC_EPARSE;
	m.topic.p = (const char *)topic.p;
	m.topic.len = topic.len;
	if (m.qos > 0 && (rc = get_id(&b, &m.packet_id)) != RC_OK)
		return rc;
	m.payload.p = rc_buf_cur(&b);
	m.payload.len = rc_buf_remaining(&b);
	*out = m;
	return RC_OK;
}

/* PUBACK (§3.4), UNSUBACK (§3.11): a packet identifier and nothing else. */
static int
decode_id_only(const uint8_t *data, size_t len, uint8_t type, uint16_t *id)
{
	struct rc_buf b;
	uint16_t v;
	uint8_t flags;
	int rc;

	*id = 0;
	if ((rc = open_packet(data, len, type, &flags, &b)) != RC_OK)
		return rc;
	if ((rc = get_id(&b, &v)) != RC_OK)
		return rc;
	if ((rc = get_end(&b)) != RC_OK)
		return rc;
	*id = v;
	return RC_OK;
}

int
rc_mqtt_decode_puback(const uint8_t *data, size_t len, uint16_t *packet_id)
{
	return decode_id_only(data, len, RC_MQTT_PUBACK, packet_id);
}

int
rc_mqtt_decode_unsuback(const uint8_t *data, size_t len, uint16_t *packet_id)
{
	return decode_id_only(data, len, RC_MQTT_UNSUBACK, packet_id);
}

/* PINGREQ (§3.12), PINGRESP (§3.13), DISCONNECT (§3.14): header only. */
static int
decode_empty(const uint8_t *data, size_t len, uint8_t type)
{
	struct rc_buf b;
	uint8_t flags;
	int rc;

	if ((rc = open_packet(data, len, type, &flags, &b)) != RC_OK)
		return rc;
	return get_end(&b);
}

int
rc_mqtt_decode_pingreq(const uint8_t *data, size_t len)
{
	return decode_empty(data, len, RC_MQTT_PINGREQ);
}

int
rc_mqtt_decode_pingresp(const uint8_t *data, size_t len)
{
	return decode_empty(data, len, RC_MQTT_PINGRESP);
}

int
rc_mqtt_decode_disconnect(const uint8_t *data, size_t len)
{
	return decode_empty(data, len, RC_MQTT_DISCONNECT);
}

/* A topic filter string: §4.7.3 [MQTT-4.7.3-1] and §4.7.1 rules. */
static int
get_filter(struct rc_buf *b, struct rc_mqtt_str *out)
{
	struct rc_mqtt_bin raw;
	int rc;

	if ((rc = get_bin(b, &raw)) != RC_OK)
		return rc;
	if (rc_mqtt_filter_valid((const char *)raw.p, raw.len) != RC_OK)
		return RC_EPARSE;
	out->p = (const char *)raw.p;
	out->len = raw.len;
	return RC_OK;
}

/*
 * §3.8.3: a filter and its requested QoS byte, whose upper six bits are
 * reserved and whose QoS is 0..2 [MQTT-3-8.3-4].
 */
static int
sub_pair(struct rc_buf *b, struct rc_mqtt_str *filter, uint8_t *qos)
{
	struct rc_mqtt_str f;
	uint8_t q;
	int rc;

	if ((rc = get_filter(b, &f)) != RC_OK)
		return rc;
	if ((rc = get_u8(b, &q)) != RC_OK)
		return rc;
	if (q > 2)
		return RC_EPARSE;
	*filter = f;
	*qos = q;
	return RC_OK;
}

/*
 * §3.8: packet identifier, then at least one pair [MQTT-3.8.3-3].  Every
 * pair is checked here, so that a server never acts on half a packet.
 */
int
rc_mqtt_decode_subscribe(const uint8_t *data, size_t len,
    struct rc_mqtt_subscribe *out)
{
	struct rc_mqtt_subscribe s;
	struct rc_mqtt_str f;
	struct rc_buf b, walk;
	uint8_t flags, q;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	rc = open_packet(data, len, RC_MQTT_SUBSCRIBE, &flags, &b);
	if (rc != RC_OK)
		return rc;
	if ((rc = get_id(&b, &s.packet_id)) != RC_OK)
		return rc;
	s.rest = b;
	walk = b;
	while (rc_buf_remaining(&walk) > 0) {
		if ((rc = sub_pair(&walk, &f, &q)) != RC_OK)
			return rc;
		s.count++;
	}
	if (s.count == 0)
		return RC_EPARSE;
	*out = s;
	return RC_OK;
}

int
rc_mqtt_subscribe_next(struct rc_mqtt_subscribe *s, struct rc_mqtt_str *filter,
    uint8_t *qos)
{
	memset(filter, 0, sizeof(*filter));
	*qos = 0;
	if (rc_buf_remaining(&s->rest) == 0)
		return RC_ENOENT;
	return sub_pair(&s->rest, filter, qos);
}

/* §3.10: packet identifier, then at least one filter [MQTT-3.10.3-2]. */
int
rc_mqtt_decode_unsubscribe(const uint8_t *data, size_t len,
    struct rc_mqtt_unsubscribe *out)
{
	struct rc_mqtt_unsubscribe u;
	struct rc_mqtt_str f;
	struct rc_buf b, walk;
	uint8_t flags;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&u, 0, sizeof(u));
	rc = open_packet(data, len, RC_MQTT_UNSUBSCRIBE, &flags, &b);
	if (rc != RC_OK)
		return rc;
	if ((rc = get_id(&b, &u.packet_id)) != RC_OK)
		return rc;
	u.rest = b;
	walk = b;
	while (rc_buf_remaining(&walk) > 0) {
		if ((rc = get_filter(&walk, &f)) != RC_OK)
			return rc;
		u.count++;
	}
	if (u.count == 0)
		return RC_EPARSE;
	*out = u;
	return RC_OK;
}

int
rc_mqtt_unsubscribe_next(struct rc_mqtt_unsubscribe *u,
    struct rc_mqtt_str *filter)
{
	memset(filter, 0, sizeof(*filter));
	if (rc_buf_remaining(&u->rest) == 0)
		return RC_ENOENT;
	return get_filter(&u->rest, filter);
}

/*
 * §3.2: acknowledge flags (bits 7-1 reserved, must be 0, §3.2.2.1) and a
 * return code 0..5 (6-255 reserved, §3.2.2.3); session present only with
 * code 0 [MQTT-3.2.2-4].
 */
int
rc_mqtt_decode_connack(const uint8_t *data, size_t len,
    struct rc_mqtt_connack *out)
{
	struct rc_buf b;
	uint8_t flags, ack, code;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = open_packet(data, len, RC_MQTT_CONNACK, &flags, &b)) != RC_OK)
		return rc;
	if ((rc = get_u8(&b, &ack)) != RC_OK ||
	    (rc = get_u8(&b, &code)) != RC_OK)
		return rc;
	if ((rc = get_end(&b)) != RC_OK)
		return rc;
	if ((ack & 0xfe) != 0 || code > RC_MQTT_CONNACK_NOT_AUTHORIZED)
		return RC_EPARSE;
	if (ack != 0 && code != RC_MQTT_CONNACK_ACCEPTED)
		return RC_EPARSE;
	out->session_present = ack;
	out->code = code;
	return RC_OK;
}

static int
suback_code_valid(uint8_t c)
{
	return c <= 2 || c == RC_MQTT_SUBACK_FAILURE;
}

/*
 * §3.9: packet identifier, then one return code per filter of the
 * SUBSCRIBE; other values are reserved [MQTT-3.9.3-2].
 */
int
rc_mqtt_decode_suback(const uint8_t *data, size_t len,
    struct rc_mqtt_suback *out)
{
	struct rc_buf b;
	uint16_t id;
	uint8_t flags;
	size_t i, n;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = open_packet(data, len, RC_MQTT_SUBACK, &flags, &b)) != RC_OK)
		return rc;
	if ((rc = get_id(&b, &id)) != RC_OK)
		return rc;
	if ((n = rc_buf_remaining(&b)) == 0)
		return RC_EPARSE;
	for (i = 0; i < n; i++)
		if (!suback_code_valid(rc_buf_cur(&b)[i]))
			return RC_EPARSE;
	out->packet_id = id;
	out->codes = rc_buf_cur(&b);
	out->count = n;
	return RC_OK;
}

/*
 * Encoders.  Each computes the remaining length first, then reserves the
 * whole packet, so the appends after it neither move the data nor fail;
 * should one fail all the same, the buffer is cut back to where it was.
 */
static void
rollback(struct rc_wbuf *w, size_t len)
{
	w->len = len;
	if (w->data != NULL)
		w->data[len] = '\0';
}

static int
put_header(struct rc_wbuf *w, uint8_t first, size_t remaining)
{
	uint8_t hdr[RC_MQTT_FIXED_MAX];
	size_t n;
	int rc;

	if ((n = rc_mqtt_remaining_encode(remaining, hdr + 1)) == 0)
		return RC_ETOOBIG;
	hdr[0] = first;
	if ((rc = rc_wbuf_reserve(w, 1 + n + remaining)) != RC_OK)
		return rc;
	return rc_wbuf_append(w, hdr, 1 + n);
}

static int
put_u16(struct rc_wbuf *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	return rc_wbuf_append(w, b, sizeof(b));
}

/* Lengths were checked against RC_MQTT_STR_MAX by the caller. */
static int
put_bin(struct rc_wbuf *w, const void *p, size_t n)
{
	int rc;

	if ((rc = put_u16(w, (uint16_t)n)) != RC_OK)
		return rc;
	return rc_wbuf_append(w, p, n);
}

/* A string argument: too long is RC_ETOOBIG, not UTF-8 is RC_EINVAL. */
static int
check_str(const char *p, size_t n)
{
	if (n > RC_MQTT_STR_MAX)
		return RC_ETOOBIG;
	if (n > 0 && p == NULL)
		return RC_EINVAL;
	return rc_mqtt_utf8_check(p, n) == RC_OK ? RC_OK : RC_EINVAL;
}

static int
check_bin(const void *p, size_t n)
{
	if (n > RC_MQTT_STR_MAX)
		return RC_ETOOBIG;
	return n > 0 && p == NULL ? RC_EINVAL : RC_OK;
}

/* A packet of a header and a 2-byte field (CONNACK, PUBACK, UNSUBACK). */
static int
put_two(struct rc_wbuf *w, uint8_t first, uint16_t v)
{
	size_t start = w->len;
	int rc;

	if ((rc = put_header(w, first, 2)) != RC_OK)
		goto out;
	rc = put_u16(w, v);
out:
	if (rc != RC_OK)
		rollback(w, start);
	return rc;
}

int
rc_mqtt_encode_connack(struct rc_wbuf *w, int session_present, uint8_t code)
{
	if (code > RC_MQTT_CONNACK_NOT_AUTHORIZED)
		return RC_EINVAL;
	/* [MQTT-3.2.2-4] */
	if (session_present && code != RC_MQTT_CONNACK_ACCEPTED)
		return RC_EINVAL;
	return put_two(w, RC_MQTT_CONNACK << 4,
	    (uint16_t)((session_present ? 1 : 0) << 8 | code));
}

int
rc_mqtt_encode_puback(struct rc_wbuf *w, uint16_t packet_id)
{
	if (packet_id == 0)
		return RC_EINVAL;
	return put_two(w, RC_MQTT_PUBACK << 4, packet_id);
}

int
rc_mqtt_encode_unsuback(struct rc_wbuf *w, uint16_t packet_id)
{
	if (packet_id == 0)
		return RC_EINVAL;
	return put_two(w, RC_MQTT_UNSUBACK << 4, packet_id);
}

static int
put_empty(struct rc_wbuf *w, uint8_t type)
{
	return put_header(w, (uint8_t)(type << 4), 0);
}

int
rc_mqtt_encode_pingresp(struct rc_wbuf *w)
{
	return put_empty(w, RC_MQTT_PINGRESP);
}

int
rc_mqtt_encode_pingreq(struct rc_wbuf *w)
{
	return put_empty(w, RC_MQTT_PINGREQ);
}

int
rc_mqtt_encode_disconnect(struct rc_wbuf *w)
{
	return put_empty(w, RC_MQTT_DISCONNECT);
}

static int
publish_check(const struct rc_mqtt_publish *m)
{
	int rc;

	if (m->qos > 2 || (m->qos > 0 && m->packet_id == 0))
		return RC_EINVAL;
	/* [MQTT-3.3.1-2] */
	if (m->dup && m->qos == 0)
		return RC_EINVAL;
	if ((rc = check_str(m->topic.p, m->topic.len)) != RC_OK)
		return rc;
	if (rc_mqtt_topic_valid(m->topic.p, m->topic.len) != RC_OK)
		return RC_EINVAL;
	if (m->payload.len > 0 && m->payload.p == NULL)
		return RC_EINVAL;
	return RC_OK;
}

int
rc_mqtt_encode_publish(struct rc_wbuf *w, const struct rc_mqtt_publish *m)
{
	size_t start = w->len, vhdr;
	uint8_t first;
	int rc;

	if ((rc = publish_check(m)) != RC_OK)
		return rc;
	vhdr = 2 + m->topic.len + (m->qos > 0 ? 2 : 0);
	if (m->payload.len > RC_MQTT_REMAINING_MAX - vhdr)
		return RC_ETOOBIG;
	first = (uint8_t)(RC_MQTT_PUBLISH << 4 | (m->dup ? F_DUP : 0) |
	    m->qos << 1 | (m->retain ? F_RETAIN : 0));
	if ((rc = put_header(w, first, vhdr + m->payload.len)) != RC_OK)
		goto out;
	if ((rc = put_bin(w, m->topic.p, m->topic.len)) != RC_OK)
		goto out;
	if (m->qos > 0 && (rc = put_u16(w, m->packet_id)) != RC_OK)
		goto out;
	rc = rc_wbuf_append(w, m->payload.p, m->payload.len);
out:
	if (rc != RC_OK)
		rollback(w, start);
	return rc;
}

int
rc_mqtt_encode_suback(struct rc_wbuf *w, uint16_t packet_id,
    const uint8_t *codes, size_t n)
{
	size_t start = w->len, i;
	int rc;

	if (packet_id == 0 || n == 0 || codes == NULL)
		return RC_EINVAL;
	for (i = 0; i < n; i++)
		if (!suback_code_valid(codes[i]))
			return RC_EINVAL;
	if (n > RC_MQTT_REMAINING_MAX - 2)
		return RC_ETOOBIG;
	if ((rc = put_header(w, RC_MQTT_SUBACK << 4, 2 + n)) != RC_OK)
		goto out;
	if ((rc = put_u16(w, packet_id)) != RC_OK)
		goto out;
	rc = rc_wbuf_append(w, codes, n);
out:
	if (rc != RC_OK)
		rollback(w, start);
	return rc;
}

/* §3.1.2: flags and the length of the payload, or an error. */
static int
connect_check(const struct rc_mqtt_connect *c, uint8_t *flags, size_t *plen)
{
	int rc;

	*flags = c->clean_session ? CF_CLEAN : 0;
	*plen = 2 + c->client_id.len;
	if ((rc = check_str(c->client_id.p, c->client_id.len)) != RC_OK)
		return rc;
	if (c->has_will) {
		if (c->will_qos > 2)
			return RC_EINVAL;
		if ((rc = check_str(c->will_topic.p, c->will_topic.len)) !=
		        RC_OK ||
		    (rc = check_bin(c->will_message.p, c->will_message.len)) !=
		        RC_OK)
			return rc;
		if (rc_mqtt_topic_valid(c->will_topic.p, c->will_topic.len) !=
		    RC_OK)
			return RC_EINVAL;
		*flags |= CF_WILL | c->will_qos << CF_WILL_QOS_SHIFT |
		    (c->will_retain ? CF_WILL_RETAIN : 0);
		*plen += 4 + c->will_topic.len + c->will_message.len;
	}
	/* [MQTT-3.1.2-22] */
	if (c->has_password && !c->has_username)
		return RC_EINVAL;
	if (c->has_username) {
		if ((rc = check_str(c->username.p, c->username.len)) != RC_OK)
			return rc;
		*flags |= CF_USERNAME;
		*plen += 2 + c->username.len;
	}
	if (c->has_password) {
		if ((rc = check_bin(c->password.p, c->password.len)) != RC_OK)
			return rc;
		*flags |= CF_PASSWORD;
		*plen += 2 + c->password.len;
	}
	return RC_OK;
}

static int
put_connect_payload(struct rc_wbuf *w, const struct rc_mqtt_connect *c)
{
	int rc;

	if ((rc = put_bin(w, c->client_id.p, c->client_id.len)) != RC_OK)
		return rc;
	if (c->has_will &&
	    ((rc = put_bin(w, c->will_topic.p, c->will_topic.len)) != RC_OK ||
	        (rc = put_bin(w, c->will_message.p, c->will_message.len)) !=
	            RC_OK))
		return rc;
	if (c->has_username &&
	    (rc = put_bin(w, c->username.p, c->username.len)) != RC_OK)
		return rc;
	if (c->has_password &&
	    (rc = put_bin(w, c->password.p, c->password.len)) != RC_OK)
		return rc;
	return RC_OK;
}

int
rc_mqtt_encode_connect(struct rc_wbuf *w, const struct rc_mqtt_connect *c)
{
	static const uint8_t proto[] = {0, 4, 'M', 'Q', 'T', 'T', MQTT_LEVEL};
	size_t start = w->len, plen;
	uint8_t flags;
	int rc;

	if ((rc = connect_check(c, &flags, &plen)) != RC_OK)
		return rc;
	rc = put_header(w, RC_MQTT_CONNECT << 4, CONNECT_VHDR_LEN + plen);
	if (rc != RC_OK)
		goto out;
	if ((rc = rc_wbuf_append(w, proto, sizeof(proto))) != RC_OK ||
	    (rc = rc_wbuf_putc(w, flags)) != RC_OK ||
	    (rc = put_u16(w, c->keepalive)) != RC_OK)
		goto out;
	rc = put_connect_payload(w, c);
out:
	if (rc != RC_OK)
		rollback(w, start);
	return rc;
}

/* A filter argument of SUBSCRIBE or UNSUBSCRIBE. */
static int
check_filter(const struct rc_mqtt_str *f)
{
	int rc;

	if ((rc = check_str(f->p, f->len)) != RC_OK)
		return rc;
	return rc_mqtt_filter_valid(f->p, f->len) == RC_OK ? RC_OK : RC_EINVAL;
}

/* Remaining length of a SUBSCRIBE (per = 1) or UNSUBSCRIBE (per = 0). */
static int
filters_len(const struct rc_mqtt_sub *subs, const struct rc_mqtt_str *filters,
    size_t n, size_t *rem)
{
	const struct rc_mqtt_str *f;
	size_t i;
	int rc;

	*rem = 2;
	for (i = 0; i < n; i++) {
		f = subs != NULL ? &subs[i].filter : &filters[i];
		if ((rc = check_filter(f)) != RC_OK)
			return rc;
		if (subs != NULL && subs[i].qos > 2)
			return RC_EINVAL;
		*rem += 2 + f->len + (subs != NULL ? 1 : 0);
		if (*rem > RC_MQTT_REMAINING_MAX)
			return RC_ETOOBIG;
	}
	return RC_OK;
}

int
rc_mqtt_encode_subscribe(struct rc_wbuf *w, uint16_t packet_id,
    const struct rc_mqtt_sub *subs, size_t n)
{
	size_t start = w->len, rem, i;
	int rc;

	if (packet_id == 0 || n == 0 || subs == NULL)
		return RC_EINVAL;
	if ((rc = filters_len(subs, NULL, n, &rem)) != RC_OK)
		return rc;
	rc = put_header(w, RC_MQTT_SUBSCRIBE << 4 | F_PUBREL_SUB, rem);
	if (rc != RC_OK || (rc = put_u16(w, packet_id)) != RC_OK)
		goto out;
	for (i = 0; i < n; i++) {
		rc = put_bin(w, subs[i].filter.p, subs[i].filter.len);
		if (rc != RC_OK || (rc = rc_wbuf_putc(w, subs[i].qos)) != RC_OK)
			goto out;
	}
out:
	if (rc != RC_OK)
		rollback(w, start);
	return rc;
}

int
rc_mqtt_encode_unsubscribe(struct rc_wbuf *w, uint16_t packet_id,
    const struct rc_mqtt_str *filters, size_t n)
{
	size_t start = w->len, rem, i;
	int rc;

	if (packet_id == 0 || n == 0 || filters == NULL)
		return RC_EINVAL;
	if ((rc = filters_len(NULL, filters, n, &rem)) != RC_OK)
		return rc;
	rc = put_header(w, RC_MQTT_UNSUBSCRIBE << 4 | F_PUBREL_SUB, rem);
	if (rc != RC_OK || (rc = put_u16(w, packet_id)) != RC_OK)
		goto out;
	for (i = 0; i < n; i++)
		if ((rc = put_bin(w, filters[i].p, filters[i].len)) != RC_OK)
			goto out;
out:
	if (rc != RC_OK)
		rollback(w, start);
	return rc;
}

struct rc_mqtt_str
rc_mqtt_cstr(const char *s)
{
	struct rc_mqtt_str r;

	r.p = s;
	r.len = s == NULL ? 0 : strlen(s);
	return r;
}

int
rc_mqtt_str_eq(const struct rc_mqtt_str *s, const char *c)
{
	size_t n = strlen(c);

	return s->len == n && (n == 0 || memcmp(s->p, c, n) == 0);
}

int
rc_mqtt_str_copy(const struct rc_mqtt_str *s, char *out, size_t outsize)
{
	if (outsize > 0)
		out[0] = '\0';
	if (s->len >= outsize)
		return RC_ETOOBIG;
	if (s->len > 0)
		memcpy(out, s->p, s->len);
	out[s->len] = '\0';
	return RC_OK;
}

int
rc_mqtt_str_get1(const struct rc_mqtt_str *s, char **out)
{
	char *p;

	*out = NULL;
	if (s->len == SIZE_MAX)
		return RC_ETOOBIG;
	if ((p = rc_malloc(s->len + 1)) == NULL)
		return RC_ENOMEM;
	if (s->len > 0)
		memcpy(p, s->p, s->len);
	p[s->len] = '\0';
	*out = p;
	return RC_OK;
}

/* §4.7.3 [MQTT-4.7.3-1], [MQTT-4.7.3-3]; §3.3.2.1 [MQTT-3.3.2-2]. */
int
rc_mqtt_topic_valid(const char *p, size_t n)
{
	if (n == 0 || n > RC_MQTT_TOPIC_MAX || p == NULL)
		return RC_EPARSE;
	if (memchr(p, '+', n) != NULL || memchr(p, '#', n) != NULL)
		return RC_EPARSE;
	return rc_mqtt_utf8_check(p, n);
}

/*
 * §4.7.1.2 [MQTT-4.7.1-2]: '#' is a whole level and the last one.
 * §4.7.1.3 [MQTT-4.7.1-3]: '+' is a whole level.
 */
int
rc_mqtt_filter_valid(const char *p, size_t n)
{
	size_t i;
	int rc;

	if (n == 0 || n > RC_MQTT_TOPIC_MAX || p == NULL)
		return RC_EPARSE;
	if ((rc = rc_mqtt_utf8_check(p, n)) != RC_OK)
		return rc;
	for (i = 0; i < n; i++) {
		if (p[i] != '+' && p[i] != '#')
			continue;
		if (i > 0 && p[i - 1] != '/')
			return RC_EPARSE;
		if (p[i] == '#' && i + 1 != n)
			return RC_EPARSE;
		if (p[i] == '+' && i + 1 < n && p[i + 1] != '/')
			return RC_EPARSE;
	}
	return RC_OK;
}

/* Length of the level that starts at off (up to the next '/' or the end). */
static size_t
level_len(const char *p, size_t n, size_t off)
{
	const char *slash;

	slash = memchr(p + off, '/', n - off);
	return slash == NULL ? n - off : (size_t)(slash - (p + off));
}

int
rc_mqtt_topic_match(const char *filter, size_t flen, const char *topic,
    size_t tlen)
{
	size_t f = 0, t = 0, fl, tl;
	int topic_done = 0;

	if (flen == 0 || tlen == 0 || filter == NULL || topic == NULL)
		return 0;
	/* §4.7.2 [MQTT-4.7.2-1] */
	if (topic[0] == '$' && (filter[0] == '#' || filter[0] == '+'))
		return 0;
	for (;;) {
		fl = level_len(filter, flen, f);
		/* §4.7.1.2: '#' also matches the parent level. */
		if (fl == 1 && filter[f] == '#')
			return f + 1 == flen;
		if (topic_done)
			return 0;
		tl = level_len(topic, tlen, t);
		if (!(fl == 1 && filter[f] == '+') &&
		    (fl != tl || memcmp(filter + f, topic + t, fl) != 0))
			return 0;
		if (f + fl == flen)
			return t + tl == tlen;
		if (t + tl == tlen)
			topic_done = 1;
		else
			t += tl + 1;
		f += fl + 1;
	}
}

int
rc_mqtt_topic_split(const struct rc_mqtt_str *topic, struct rc_mqtt_str *path,
    struct rc_mqtt_str *query)
{
	size_t i;

	memset(path, 0, sizeof(*path));
	memset(query, 0, sizeof(*query));
	for (i = 0; i + 1 < topic->len; i++) {
		if (topic->p[i] != '/' || topic->p[i + 1] != '?')
			continue;
		path->p = topic->p;
		path->len = i;
		query->p = topic->p + i + 2;
		query->len = topic->len - i - 2;
		return RC_OK;
	}
	return RC_ENOENT;
}

void
rc_mqtt_props_init(struct rc_mqtt_props *pr, const char *bag, size_t len)
{
	rc_buf_init(&pr->in, bag, len);
	pr->count = 0;
	pr->err = RC_OK;
}

static int
hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * RFC 3986 §2.1: '%' and two hex digits is one byte; '+' is itself (this
 * is URI encoding, not form encoding).  The result is a C string, so NUL,
 * raw or encoded, is refused; and a string, so it must be UTF-8.
 */
static int
pct_decode(const uint8_t *in, size_t n, char *out, size_t outsize,
    size_t *outlen)
{
	struct rc_buf b;
	size_t o = 0;
	uint8_t c, h[2];
	int hi, lo;

	rc_buf_init(&b, in, n);
	while (rc_buf_get_u8(&b, &c) == RC_OK) {
		if (c == '%') {
			if (rc_buf_get_bytes(&b, h, 2) != RC_OK ||
			    (hi = hexval(h[0])) < 0 || (lo = hexval(h[1])) < 0)
				return RC_EPARSE;
			c = (uint8_t)(hi << 4 | lo);
		}
		if (c == 0)
			return RC_EPARSE;
		if (o + 1 >= outsize)
			return RC_ETOOBIG;
		out[o++] = (char)c;
	}
	if (outsize == 0)
		return RC_ETOOBIG;
	out[o] = '\0';
	if (rc_mqtt_utf8_check(out, o) != RC_OK)
		return RC_EPARSE;
	*outlen = o;
	return RC_OK;
}

/* The next non-empty '&'-separated pair; RC_ENOENT when none is left. */
static int
next_pair(struct rc_buf *in, const uint8_t **p, size_t *n)
{
	while (rc_buf_remaining(in) > 0) {
		if (rc_buf_get0_until(in, '&', p, n) != RC_OK) {
			*n = rc_buf_remaining(in);
			*p = rc_buf_cur(in);
			in->off = in->len;
		}
		if (*n > 0)
			return RC_OK;
	}
	return RC_ENOENT;
}

static void
props_clear(char *key, size_t keysize, size_t *keylen, char *val,
    size_t valsize, size_t *vallen)
{
	if (keysize > 0)
		key[0] = '\0';
	if (valsize > 0)
		val[0] = '\0';
	*keylen = 0;
	*vallen = 0;
}

int
rc_mqtt_props_next(struct rc_mqtt_props *pr, char *key, size_t keysize,
    size_t *keylen, char *val, size_t valsize, size_t *vallen)
{
	const uint8_t *p, *eq;
	size_t n, kn;
	int rc;

	props_clear(key, keysize, keylen, val, valsize, vallen);
	if (pr->err != RC_OK)
		return pr->err;
	if ((rc = next_pair(&pr->in, &p, &n)) != RC_OK)
		return rc;
	if (++pr->count > RC_MQTT_PROPS_MAX) {
		rc = RC_ETOOBIG;
		goto out;
	}
	eq = memchr(p, '=', n);
	kn = eq == NULL ? n : (size_t)(eq - p);
	if (kn == 0) {
		rc = RC_EPARSE;
		goto out;
	}
	if ((rc = pct_decode(p, kn, key, keysize, keylen)) != RC_OK)
		goto out;
	if (eq == NULL)
		rc = pct_decode(p, 0, val, valsize, vallen);
	else
		rc = pct_decode(eq + 1, n - kn - 1, val, valsize, vallen);
out:
	if (rc != RC_OK) {
		pr->err = rc;
		props_clear(key, keysize, keylen, val, valsize, vallen);
	}
	return rc;
}
