/*
 * MQTT 3.1.1 codec (OASIS Standard, 29 October 2014), as the Azure device
 * SDKs use it (reference/azure-device-wire.md §2, §6).
 *
 * Pure functions: no I/O, no globals.  Decoders read untrusted bytes,
 * never allocate, and hand back structures that borrow from the input
 * (valid as long as the input bytes are).  Encoders append one whole packet
 * to a capped struct rc_wbuf, or leave it unchanged on failure.
 *
 * How a reader uses it (a server session, or a client reading replies):
 *
 *	rc = rc_mqtt_frame(p, avail, max_packet, &hdr, &total);
 *	RC_ETRUNC: wait for more bytes (total says how many, once known);
 *	RC_EPARSE / RC_ETOOBIG: close the connection;
 *	RC_OK: decode p[0..total) by hdr.type, then consume total bytes.
 *
 * Every decoder takes exactly one packet (len equal to the framed total):
 * fewer bytes is RC_ETRUNC, more is RC_EPARSE, a field that overruns the
 * packet or breaks a rule of the spec is RC_EPARSE, a packet of another
 * type is RC_EINVAL.  The QoS 2 flow (PUBREC, PUBREL, PUBCOMP) has no
 * decoder: the hub refuses QoS 2 as IoT Hub does (azure-device-wire.md
 * §6.7), and a reader that frames one of those closes the connection.
 */
#ifndef ROLLCALL_MQTT_H
#define ROLLCALL_MQTT_H

#include <stddef.h>
#include <stdint.h>

#include "rollcall/buf.h"
#include "rollcall/err.h"

/* §2.2.3: four bytes of 7 bits. */
#define RC_MQTT_REMAINING_MAX 268435455u
/* §2.2: one type byte and at most four remaining-length bytes. */
#define RC_MQTT_FIXED_MAX 5
/* §1.5.3: a two-byte length prefix; also the longest topic or filter. */
#define RC_MQTT_STR_MAX 65535u
#define RC_MQTT_TOPIC_MAX RC_MQTT_STR_MAX
/* Pairs accepted in one Azure property bag (rc_mqtt_props_next). */
#define RC_MQTT_PROPS_MAX 128

/* §2.2.1 control packet types. */
enum rc_mqtt_type {
	RC_MQTT_CONNECT = 1,
	RC_MQTT_CONNACK = 2,
	RC_MQTT_PUBLISH = 3,
	RC_MQTT_PUBACK = 4,
	RC_MQTT_PUBREC = 5,
	RC_MQTT_PUBREL = 6,
	RC_MQTT_PUBCOMP = 7,
	RC_MQTT_SUBSCRIBE = 8,
	RC_MQTT_SUBACK = 9,
	RC_MQTT_UNSUBSCRIBE = 10,
	RC_MQTT_UNSUBACK = 11,
	RC_MQTT_PINGREQ = 12,
	RC_MQTT_PINGRESP = 13,
	RC_MQTT_DISCONNECT = 14,
};

/* §3.2.2.3 CONNACK return codes. */
enum rc_mqtt_connack_code {
	RC_MQTT_CONNACK_ACCEPTED = 0,
	RC_MQTT_CONNACK_PROTOCOL = 1, /* unacceptable protocol version */
	RC_MQTT_CONNACK_IDENTIFIER = 2, /* identifier rejected */
	RC_MQTT_CONNACK_UNAVAILABLE = 3, /* server unavailable */
	RC_MQTT_CONNACK_BAD_AUTH = 4, /* bad user name or password */
	RC_MQTT_CONNACK_NOT_AUTHORIZED = 5,
};

/* §3.9.3 SUBACK return code for a refused filter. */
#define RC_MQTT_SUBACK_FAILURE 0x80

/* A UTF-8 string borrowed from a packet: not NUL-terminated, never has NUL. */
struct rc_mqtt_str {
	const char *p;
	size_t len;
};

/* Binary data borrowed from a packet. */
struct rc_mqtt_bin {
	const uint8_t *p;
	size_t len;
};

/* §2.2 fixed header. */
struct rc_mqtt_fixed {
	uint8_t type; /* enum rc_mqtt_type */
	uint8_t flags; /* low nibble of the first byte */
	size_t hdrlen; /* bytes of the fixed header, 2..5 */
	size_t remaining; /* §2.2.3 remaining length */
};

/* §3.1 CONNECT.  Also the input of rc_mqtt_encode_connect. */
struct rc_mqtt_connect {
	/*
	 * May be empty (§3.1.3.1); a server answers CONNACK 2 to an empty
	 * one without clean_session [MQTT-3.1.3-8].
	 */
	struct rc_mqtt_str client_id;
	struct rc_mqtt_str username; /* only if has_username */
	struct rc_mqtt_bin password; /* only if has_password */
	struct rc_mqtt_str will_topic; /* only if has_will */
	struct rc_mqtt_bin will_message; /* only if has_will */
	uint16_t keepalive; /* seconds, 0 = none (§3.1.2.10) */
	uint8_t clean_session;
	uint8_t has_username;
	uint8_t has_password;
	uint8_t has_will;
	uint8_t will_qos;
	uint8_t will_retain;
};

/* §3.2 CONNACK. */
struct rc_mqtt_connack {
	uint8_t session_present;
	uint8_t code; /* enum rc_mqtt_connack_code */
};

/* §3.3 PUBLISH.  Also the input of rc_mqtt_encode_publish. */
struct rc_mqtt_publish {
	struct rc_mqtt_str topic;
	struct rc_mqtt_bin payload;
	uint16_t packet_id; /* 0 when qos is 0 */
	uint8_t qos; /* 0..2: 2 is decoded so that a server can refuse it */
	uint8_t dup;
	uint8_t retain;
};

/*
 * §3.8 SUBSCRIBE, validated as a whole by the decoder; the filters are
 * then read one by one with rc_mqtt_subscribe_next.
 */
struct rc_mqtt_subscribe {
	uint16_t packet_id;
	size_t count; /* filters in the packet, at least one */
	struct rc_buf rest; /* the pairs not yet returned */
};

/* One requested subscription, for rc_mqtt_encode_subscribe. */
struct rc_mqtt_sub {
	struct rc_mqtt_str filter;
	uint8_t qos;
};

/* §3.10 UNSUBSCRIBE, read like SUBSCRIBE. */
struct rc_mqtt_unsubscribe {
	uint16_t packet_id;
	size_t count;
	struct rc_buf rest;
};

/* §3.9 SUBACK. */
struct rc_mqtt_suback {
	uint16_t packet_id;
	const uint8_t *codes; /* borrowed: 0, 1, 2 or RC_MQTT_SUBACK_FAILURE */
	size_t count;
};

/*
 * Framing (§2.2).  Looks at the first bytes of len available bytes and
 * says whether one complete packet is there.
 *
 * RC_OK: *hdr is its fixed header and *total (header + remaining length)
 * <= len.  RC_ETRUNC: more bytes are needed; once the fixed header itself
 * is complete, *hdr and *total are set anyway (so a reader can wait for
 * exactly *total bytes), else they are zero.  RC_EPARSE: a reserved packet
 * type, flags that §2.2.2 forbids for the type, or a remaining length with
 * a continuation bit on its fourth byte.  RC_ETOOBIG: the packet would be
 * longer than max_packet bytes (header included), found from the header
 * alone, before any body byte is needed.
 */
RC_MUST_CHECK int rc_mqtt_frame(const uint8_t *data, size_t len,
    size_t max_packet, struct rc_mqtt_fixed *hdr, size_t *total);

/*
 * Writes the §2.2.3 encoding of value to out; returns the number of bytes
 * (1..4), or 0 if value is larger than RC_MQTT_REMAINING_MAX.
 */
size_t rc_mqtt_remaining_encode(size_t value, uint8_t out[4]);

/* "CONNECT", "PUBLISH", ...; "RESERVED" for 0, 15 and anything else. */
const char *rc_mqtt_type_name(int type);

/*
 * Decoders of what a server receives.
 *
 * rc_mqtt_decode_connect: RC_EUNSUPPORTED when the protocol name and level
 * are well-formed but not "MQTT" level 4 (e.g. 3.1's "MQIsdp" or MQTT 5):
 * the server answers CONNACK 1 (§3.1.2.2).  The rest of the packet is then
 * not looked at.  Other broken rules (§3.1.2.3-§3.1.3) are RC_EPARSE.
 */
RC_MUST_CHECK int rc_mqtt_decode_connect(const uint8_t *data, size_t len,
    struct rc_mqtt_connect *out);
RC_MUST_CHECK int rc_mqtt_decode_publish(const uint8_t *data, size_t len,
    struct rc_mqtt_publish *out);
RC_MUST_CHECK int rc_mqtt_decode_puback(const uint8_t *data, size_t len,
    uint16_t *packet_id);
RC_MUST_CHECK int rc_mqtt_decode_subscribe(const uint8_t *data, size_t len,
    struct rc_mqtt_subscribe *out);
/*
 * The next filter and its requested QoS (0..2); RC_ENOENT after the last.
 * The filter borrows from the packet and is a valid §4.7 topic filter.
 */
RC_MUST_CHECK int rc_mqtt_subscribe_next(struct rc_mqtt_subscribe *,
    struct rc_mqtt_str *filter, uint8_t *qos);
RC_MUST_CHECK int rc_mqtt_decode_unsubscribe(const uint8_t *data, size_t len,
    struct rc_mqtt_unsubscribe *out);
RC_MUST_CHECK int rc_mqtt_unsubscribe_next(struct rc_mqtt_unsubscribe *,
    struct rc_mqtt_str *filter);
RC_MUST_CHECK int rc_mqtt_decode_pingreq(const uint8_t *data, size_t len);
RC_MUST_CHECK int rc_mqtt_decode_disconnect(const uint8_t *data, size_t len);

/* Decoders of what a client receives (PUBLISH and PUBACK are above). */
RC_MUST_CHECK int rc_mqtt_decode_connack(const uint8_t *data, size_t len,
    struct rc_mqtt_connack *out);
RC_MUST_CHECK int rc_mqtt_decode_suback(const uint8_t *data, size_t len,
    struct rc_mqtt_suback *out);
RC_MUST_CHECK int rc_mqtt_decode_unsuback(const uint8_t *data, size_t len,
    uint16_t *packet_id);
RC_MUST_CHECK int rc_mqtt_decode_pingresp(const uint8_t *data, size_t len);

/*
 * Encoders.  Each appends one packet to w.  Arguments that would make a
 * packet the decoders refuse are RC_EINVAL (bad UTF-8, a wildcard in a
 * topic name, a zero packet id where one is needed, an out-of-range QoS or
 * code); a string over RC_MQTT_STR_MAX bytes or a remaining length over
 * RC_MQTT_REMAINING_MAX is RC_ETOOBIG, and so is passing w's cap.  On
 * failure w is unchanged.
 */
RC_MUST_CHECK int rc_mqtt_encode_connack(struct rc_wbuf *w, int session_present,
    uint8_t code);
/* QoS 0..2; packet_id is written for QoS > 0 and must then be non-zero. */
RC_MUST_CHECK int rc_mqtt_encode_publish(struct rc_wbuf *w,
    const struct rc_mqtt_publish *);
RC_MUST_CHECK int rc_mqtt_encode_puback(struct rc_wbuf *w, uint16_t packet_id);
/* n >= 1 codes, each 0, 1, 2 or RC_MQTT_SUBACK_FAILURE. */
RC_MUST_CHECK int rc_mqtt_encode_suback(struct rc_wbuf *w, uint16_t packet_id,
    const uint8_t *codes, size_t n);
RC_MUST_CHECK int rc_mqtt_encode_unsuback(struct rc_wbuf *w,
    uint16_t packet_id);
RC_MUST_CHECK int rc_mqtt_encode_pingresp(struct rc_wbuf *w);
/* Protocol "MQTT" level 4; the flags come from the has_* fields. */
RC_MUST_CHECK int rc_mqtt_encode_connect(struct rc_wbuf *w,
    const struct rc_mqtt_connect *);
/* n >= 1 subscriptions, each a valid filter with QoS 0..2. */
RC_MUST_CHECK int rc_mqtt_encode_subscribe(struct rc_wbuf *w,
    uint16_t packet_id, const struct rc_mqtt_sub *subs, size_t n);
RC_MUST_CHECK int rc_mqtt_encode_unsubscribe(struct rc_wbuf *w,
    uint16_t packet_id, const struct rc_mqtt_str *filters, size_t n);
RC_MUST_CHECK int rc_mqtt_encode_pingreq(struct rc_wbuf *w);
RC_MUST_CHECK int rc_mqtt_encode_disconnect(struct rc_wbuf *w);

/*
 * Strings.
 *
 * rc_mqtt_utf8_check: RC_OK if the n bytes are well-formed UTF-8 (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF) without U+0000
 * (§1.5.3); RC_EPARSE otherwise.
 */
RC_MUST_CHECK int rc_mqtt_utf8_check(const void *p, size_t n);
/* A borrowed view of a C string. */
struct rc_mqtt_str rc_mqtt_cstr(const char *s);
/* 1 if s holds exactly the bytes of the C string c. */
int rc_mqtt_str_eq(const struct rc_mqtt_str *s, const char *c);
/* A NUL-terminated copy; the caller frees *out with rc_free. */
RC_MUST_CHECK int rc_mqtt_str_get1(const struct rc_mqtt_str *s, char **out);
/* A NUL-terminated copy into out; RC_ETOOBIG if it does not fit. */
RC_MUST_CHECK int rc_mqtt_str_copy(const struct rc_mqtt_str *s, char *out,
    size_t outsize);

/*
 * Topics (§4.7).
 *
 * rc_mqtt_topic_valid: a topic name (what PUBLISH carries): 1..65535 bytes
 * of valid UTF-8 without '+' or '#'.  rc_mqtt_filter_valid: a topic filter:
 * '#' only as the whole last level, '+' only as a whole level.  Both return
 * RC_OK or RC_EPARSE.
 */
RC_MUST_CHECK int rc_mqtt_topic_valid(const char *p, size_t n);
RC_MUST_CHECK int rc_mqtt_filter_valid(const char *p, size_t n);
/*
 * 1 if the topic name matches the filter (§4.7.1), else 0.  A filter that
 * starts with a wildcard does not match a topic that starts with '$'
 * (§4.7.2).  Matching is byte for byte (§4.7.3).  Defined for any bytes:
 * an invalid filter matches at most what its valid levels allow.
 */
int rc_mqtt_topic_match(const char *filter, size_t flen, const char *topic,
    size_t tlen);
/*
 * Splits an Azure request topic such as "$iothub/methods/POST/m/?$rid=1"
 * at its first "/?": *path is what precedes it ("$iothub/methods/POST/m"),
 * *query what follows ("$rid=1").  RC_ENOENT if there is no "/?".
 */
RC_MUST_CHECK int rc_mqtt_topic_split(const struct rc_mqtt_str *topic,
    struct rc_mqtt_str *path, struct rc_mqtt_str *query);

/*
 * Azure property bags (reference/azure-device-wire.md §6.3), such as
 * "%24.mid=1&%24.ct=application%2Fjson&alert=yes%20please": pairs
 * separated by '&', each split at its first '='.  Both sides are
 * percent-decoded (RFC 3986 §2.1) before the caller sees them, so the
 * system property "%24.mid" arrives as "$.mid".  '+' stays '+'.  Empty
 * pairs ("a=1&&b=2", a trailing '&') are skipped; a pair without '=' is a
 * key with an empty value.
 */
struct rc_mqtt_props {
	struct rc_buf in; /* what is left of the bag */
	size_t count; /* pairs returned so far */
	int err; /* sticky error, RC_OK while iterating */
};

void rc_mqtt_props_init(struct rc_mqtt_props *, const char *bag, size_t len);
/*
 * The next pair, decoded into key (keysize bytes with the NUL) and val
 * (valsize bytes with the NUL); *keylen and *vallen exclude the NUL.
 * RC_ENOENT after the last pair.  RC_EPARSE: a '%' not followed by two hex
 * digits, an encoded NUL, an empty key, or decoded bytes that are not
 * UTF-8.  RC_ETOOBIG: a decoded key or value longer than its buffer, or
 * more than RC_MQTT_PROPS_MAX pairs.  Errors are sticky: later calls
 * return the same error.
 */
RC_MUST_CHECK int rc_mqtt_props_next(struct rc_mqtt_props *, char *key,
    size_t keysize, size_t *keylen, char *val, size_t valsize, size_t *vallen);

#endif
