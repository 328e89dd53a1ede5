/*
 * One TLS connection of a simulated device (run_int.h): a socket bound
 * to one of the loopback source addresses, a client SSL with the
 * device's certificate and key, a libevent bufferevent, and the client
 * half of MQTT 3.1.1 (include/rollcall/mqtt.h), of the DPS device API over
 * MQTT and HTTPS (reference/azure-device-wire.md §2-§5) and of the echo
 * baseline.  What a completed step means is run.c's business: this file
 * calls run_step() with an event and never decides what comes next.
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "run_int.h"
#include "rollcall/mem.h"
#include "rollcall/mqtt.h"

#define MQTT_MAX_PACKET (1024 * 1024)
#define PKT_CAP (256 * 1024)
#define ECHO_PROBE 64
#define DPS_API "2019-03-31"
#define HUB_API "2021-04-12"

static void on_read(struct bufferevent *, void *);
static void on_event(struct bufferevent *, short, void *);

static int
sock_open(struct load *L)
{
	struct sockaddr_in src;
	int fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	         0)) < 0)
		return -1;
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_addr = L->a->src[L->src_next++ % L->a->nsrc];
	/* The port is chosen at connect(), per 4-tuple (Linux 4.2+). */
	(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
	    sizeof(one));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

struct conn *
conn_open(struct load *L, size_t dev, enum load_proto proto, int role)
{
	struct load_dev *d = &L->f->dev[dev];
	struct conn *c;
	SSL *ssl = NULL;
	int fd = -1;

	if ((c = rc_calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->L = L;
	c->dev = dev;
	c->proto = proto;
	c->role = role;
	c->t0 = load_now_us();
	if ((fd = sock_open(L)) < 0 || (ssl = SSL_new(L->ctx)) == NULL ||
	    SSL_use_certificate(ssl, d->cert) != 1 ||
	    SSL_use_PrivateKey(ssl, d->key) != 1)
		goto fail;
	c->bev = bufferevent_openssl_socket_new(L->base, fd, ssl,
	    BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (c->bev == NULL)
		goto fail;
	ssl = NULL;
	fd = -1;
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&L->a->target,
	        sizeof(L->a->target)) != 0 ||
	    bufferevent_enable(c->bev, EV_READ) != 0)
		goto fail;
	return c;
fail:
	if (ssl != NULL)
		SSL_free(ssl);
	if (fd >= 0)
		close(fd);
	conn_free(c);
	return NULL;
}

void
conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	if (c->bev != NULL) {
		/* No close_notify: a device that goes away just closes. */
		SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

		if (ssl != NULL)
			SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN);
		bufferevent_free(c->bev);
	}
	if (c->timer != NULL)
		event_free(c->timer);
	rc_free(c->body);
	rc_free(c);
}

static void
write_wbuf(struct conn *c, struct rc_wbuf *w, int rc)
{
	if (rc == RC_OK)
		(void)bufferevent_write(c->bev, w->data, w->len);
	rc_wbuf_free(w);
}

static void
send_connect(struct conn *c)
{
	struct load *L = c->L;
	const char *id = L->f->dev[c->dev].id;
	struct rc_mqtt_connect m;
	struct rc_wbuf w;
	char user[512];

	memset(&m, 0, sizeof(m));
	if (c->proto == LOAD_PROTO_DPS_MQTT)
		snprintf(user, sizeof(user),
		    "%s/registrations/%s/api-version=" DPS_API
		    "&ClientVersion=rollcall-load",
		    L->a->scope, id);
	else if (c->proto == LOAD_PROTO_HUB)
		snprintf(user, sizeof(user), "%s/%s/?api-version=" HUB_API,
		    L->a->hub_host, id);
	else
		snprintf(user, sizeof(user), "%s", id);
	m.client_id = rc_mqtt_cstr(id);
	m.username = rc_mqtt_cstr(user);
	m.has_username = 1;
	m.clean_session = 1;
	m.keepalive = 600;
	rc_wbuf_init(&w, PKT_CAP);
	write_wbuf(c, &w, rc_mqtt_encode_connect(&w, &m));
}

void
conn_disconnect(struct conn *c)
{
	struct rc_wbuf w;

	rc_wbuf_init(&w, 16);
	write_wbuf(c, &w, rc_mqtt_encode_disconnect(&w));
}

/* The DPS register (or poll) over MQTT, rid = step number. */
static void
dps_mqtt_send(struct conn *c)
{
	struct rc_mqtt_publish p;
	struct rc_wbuf w;
	char topic[256];
	int rc;

	memset(&p, 0, sizeof(p));
	c->rid++;
	if (c->opid[0] == '\0')
		snprintf(topic, sizeof(topic),
		    "$dps/registrations/PUT/iotdps-register/?$rid=%ld", c->rid);
	else
		snprintf(topic, sizeof(topic),
		    "$dps/registrations/GET/iotdps-get-operationstatus/"
		    "?$rid=%ld&operationId=%s",
		    c->rid, c->opid);
	p.topic = rc_mqtt_cstr(topic);
	p.payload.p = (const uint8_t *)c->body;
	p.payload.len = c->body != NULL ? strlen(c->body) : 0;
	p.qos = 1;
	p.packet_id = ++c->pid == 0 ? ++c->pid : c->pid;
	rc_wbuf_init(&w, PKT_CAP);
	rc = rc_mqtt_encode_publish(&w, &p);
	write_wbuf(c, &w, rc);
}

static void
dps_http_send(struct conn *c)
{
	struct load *L = c->L;
	const char *id = L->f->dev[c->dev].id;
	size_t blen = c->body != NULL ? strlen(c->body) : 0;

	if (c->opid[0] == '\0')
		(void)evbuffer_add_printf(bufferevent_get_output(c->bev),
		    "PUT /%s/registrations/%s/register?api-version=" DPS_API
		    " HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json"
		    "\r\nContent-Length: %zu\r\n\r\n%s",
		    L->a->scope, id, L->a->hub_host, blen,
		    c->body != NULL ? c->body : "");
	else
		(void)evbuffer_add_printf(bufferevent_get_output(c->bev),
		    "GET "
		    "/%s/registrations/%s/operations/%s?api-version=" DPS_API
		    " HTTP/1.1\r\nHost: %s\r\nContent-Length: 0\r\n\r\n",
		    L->a->scope, id, c->opid, L->a->hub_host);
}

/* The next DPS request: the register, then polls. */
void
conn_dps_send(struct conn *c)
{
	if (c->proto == LOAD_PROTO_DPS_HTTP)
		dps_http_send(c);
	else
		dps_mqtt_send(c);
}

/* One QoS 1 telemetry message (a probe of the same size for echo). */
void
conn_publish(struct conn *c, const uint8_t *payload, size_t n)
{
	struct rc_mqtt_publish p;
	struct rc_wbuf w;
	char topic[128];

	memset(&p, 0, sizeof(p));
	snprintf(topic, sizeof(topic), "devices/%s/messages/events/",
	    c->L->f->dev[c->dev].id);
	p.topic = rc_mqtt_cstr(topic);
	p.payload.p = payload;
	p.payload.len = n;
	p.qos = 1;
	p.packet_id = ++c->pid == 0 ? ++c->pid : c->pid;
	rc_wbuf_init(&w, PKT_CAP);
	if (rc_mqtt_encode_publish(&w, &p) == RC_OK)
		c->echo_want += w.len;
	write_wbuf(c, &w, RC_OK);
}

static void
send_subscribe(struct conn *c)
{
	struct rc_mqtt_sub s;
	struct rc_wbuf w;

	s.filter = rc_mqtt_cstr("$dps/registrations/res/#");
	s.qos = 1;
	rc_wbuf_init(&w, 256);
	write_wbuf(c, &w, rc_mqtt_encode_subscribe(&w, 1, &s, 1));
}

static void
on_tls_up(struct conn *c)
{
	static const uint8_t probe[ECHO_PROBE];

	switch (c->proto) {
	case LOAD_PROTO_ECHO:
		c->echo_want = ECHO_PROBE;
		(void)bufferevent_write(c->bev, probe, sizeof(probe));
		break;
	case LOAD_PROTO_DPS_HTTP:
		dps_http_send(c);
		break;
	default:
		send_connect(c);
		break;
	}
}

/* A PUBLISH from the server: DPS replies (acknowledged if QoS 1). */
static int
got_publish(struct conn *c, const uint8_t *p, size_t n)
{
	struct rc_mqtt_publish pub;
	struct load_dps_op op;
	struct rc_wbuf w;
	struct step_info si;
	int rc;

	if (rc_mqtt_decode_publish(p, n, &pub) != RC_OK) {
		c->why = "bad PUBLISH";
		return -1;
	}
	if (pub.qos == 1) {
		rc_wbuf_init(&w, 16);
		write_wbuf(c, &w, rc_mqtt_encode_puback(&w, pub.packet_id));
	}
	memset(&si, 0, sizeof(si));
	if (load_dps_topic(pub.topic.p, pub.topic.len, &si.status, &si.rid,
	        &si.retry_after) != RC_OK) {
		c->why = "not a DPS reply topic";
		return -1;
	}
	if ((rc = load_dps_body(pub.payload.p, pub.payload.len, &op)) !=
	    RC_OK) {
		if (si.status == 429)
			return run_step(c, STEP_DPS, &si);
		if (getenv("LOAD_DEBUG") != NULL)
			fprintf(stderr, "%.*s\n", (int)pub.payload.len,
			    (const char *)pub.payload.p);
		c->why = "unreadable DPS reply body";
		return -1;
	}
	si.op = &op;
	rc = run_step(c, STEP_DPS, &si);
	rc_free(op.leaf);
	return rc;
}

static int
got_packet(struct conn *c, const struct rc_mqtt_fixed *h, const uint8_t *p,
    size_t n)
{
	struct rc_mqtt_connack ca;
	uint16_t id;

	switch (h->type) {
	case RC_MQTT_CONNACK:
		if (rc_mqtt_decode_connack(p, n, &ca) != RC_OK)
			return -1;
		c->connack_seen = 1;
		if (ca.code != 0)
			return run_step(c, STEP_REFUSED, NULL);
		if (c->proto == LOAD_PROTO_DPS_MQTT) {
			send_subscribe(c);
			return 0;
		}
		return run_step(c, STEP_CONNACK, NULL);
	case RC_MQTT_SUBACK:
		dps_mqtt_send(c);
		return 0;
	case RC_MQTT_PUBACK:
		if (rc_mqtt_decode_puback(p, n, &id) != RC_OK)
			return -1;
		return run_step(c, STEP_PUBACK, NULL);
	case RC_MQTT_PUBLISH:
		return got_publish(c, p, n);
	default:
		return 0;
	}
}

static int
read_mqtt(struct conn *c, struct evbuffer *in)
{
	struct rc_mqtt_fixed h;
	size_t len, total, peek;
	const uint8_t *p;
	int rc;

	while ((len = evbuffer_get_length(in)) > 0) {
		peek = len < RC_MQTT_FIXED_MAX ? len : RC_MQTT_FIXED_MAX;
		p = evbuffer_pullup(in, (ev_ssize_t)peek);
		rc = rc_mqtt_frame(p, peek, MQTT_MAX_PACKET, &h, &total);
		if (rc == RC_ETRUNC && total == 0)
			return 0;
		if (rc != RC_OK && rc != RC_ETRUNC) {
			c->why = "bad MQTT framing";
			return -1;
		}
		if (total > len)
			return 0;
		p = evbuffer_pullup(in, (ev_ssize_t)total);
		rc = got_packet(c, &h, p, total);
		if (rc != 0)
			return rc;
		evbuffer_drain(in, total);
	}
	return 0;
}

static int
read_http(struct conn *c, struct evbuffer *in)
{
	struct load_http_resp r;
	struct load_dps_op op;
	struct step_info si;
	size_t len = evbuffer_get_length(in);
	const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)len);
	int rc;

	if ((rc = load_http_parse(p, len, &r)) == RC_ETRUNC)
		return 0;
	if (rc != RC_OK) {
		c->why = "bad HTTP response";
		return -1;
	}
	memset(&si, 0, sizeof(si));
	si.status = r.status;
	si.retry_after = r.retry_after;
	if (load_dps_body(p + r.body_off, r.body_len, &op) == RC_OK)
		si.op = &op;
	else
		memset(&op, 0, sizeof(op));
	evbuffer_drain(in, r.total);
	rc = run_step(c, STEP_DPS, &si);
	rc_free(op.leaf);
	return rc;
}

static int
read_echo(struct conn *c, struct evbuffer *in)
{
	size_t len = evbuffer_get_length(in);
	int first;

	evbuffer_drain(in, len);
	c->echo_got += len;
	if (c->echo_want == 0 || c->echo_got < c->echo_want)
		return 0;
	c->echo_got -= c->echo_want;
	c->echo_want = 0;
	first = !c->connack_seen;
	c->connack_seen = 1;
	return run_step(c, first ? STEP_CONNACK : STEP_PUBACK, NULL);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	int rc;

	switch (c->proto) {
	case LOAD_PROTO_ECHO:
		rc = read_echo(c, in);
		break;
	case LOAD_PROTO_DPS_HTTP:
		rc = read_http(c, in);
		break;
	default:
		rc = read_mqtt(c, in);
		break;
	}
	/* > 0: run.c freed the connection; < 0: a protocol failure. */
	if (rc < 0)
		run_step(c, STEP_CLOSED, NULL);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		c->tls_us = load_now_us() - c->t0;
		on_tls_up(c);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		if (c->why == NULL)
			c->why = what & BEV_EVENT_EOF ? "closed by the server"
			    : c->tls_us == 0          ? "TLS or TCP failure"
			                              : "connection error";
		run_step(c, STEP_CLOSED, NULL);
	}
}
