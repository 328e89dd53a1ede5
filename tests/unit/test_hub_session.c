/*
 * The hub's sessions in-process (src/hub/session.c, hub.c, device.c):
 * CONNECT decisions (CONNACK 0 / 5), subscriptions, the service-side
 * calls (method invoke and its response, timeout and session loss, C2D,
 * desired push), one connection per device, and the live disconnect when
 * a device's identity is deleted (seed rule S9).  The daemon's worker is
 * replaced by a struct hub_session_io that records what was posted.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "hub/hub.h"
#include "rctest.h"
#include "rollcall/enc.h"
#include "rollcall/json.h"
#include "rollcall/mem.h"
#include "testpki.h"

#define MAXPOSTS 32

struct posted {
	uint8_t *data;
	size_t len;
	const char *why;
	struct hub_session *s;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct posted posts[MAXPOSTS];
static size_t nposts;

static void
post(void *arg, struct hub_session *s, const void *data, size_t len,
    const char *why)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	assert_true(nposts < MAXPOSTS);
	posts[nposts].data = rc_malloc(len + 1);
	memcpy(posts[nposts].data, data != NULL ? data : "", len);
	posts[nposts].len = len;
	posts[nposts].why = why;
	posts[nposts].s = s;
	nposts++;
	pthread_mutex_unlock(&mu);
}

static const struct hub_session_io io = {post, NULL};

static void
posts_clear(void)
{
	size_t i;

	pthread_mutex_lock(&mu);
	for (i = 0; i < nposts; i++)
		rc_free(posts[i].data);
	nposts = 0;
	pthread_mutex_unlock(&mu);
}

struct fixture {
	char *dir;
	struct rc_store *st;
	struct hub *hub;
	EVP_PKEY *key;
	X509 *leaf, *other;
};

static struct fixture fx;

static void
put_device(const char *id, X509 *cert)
{
	struct rc_store_ctx ctx = {.who = "test", .if_match = NULL};
	struct rc_hub_device *d = rc_hub_device_new(), *out = NULL;
	unsigned char md[32];
	unsigned int n;

	assert_non_null(d);
	assert_int_equal(X509_digest(cert, EVP_sha256(), md, &n), 1);
	assert_int_equal(rc_hex_upper(md, n, d->primary_thumb,
	                     sizeof(d->primary_thumb)),
	    RC_OK);
	d->hub = rc_strdup("h1");
	d->device_id = rc_strdup(id);
	d->auth = RC_HUB_AUTH_SELF_SIGNED;
	assert_int_equal(rc_store_hub_device_put(fx.st, &ctx, d, &out), RC_OK);
	rc_hub_device_free(d);
	rc_hub_device_free(out);
}

static int
setup(void **state)
{
	struct testpki_opts o = TESTPKI_CA("dev1");
	struct hub_config hc;
	const char *host = "h.test";
	char uri[1024];

	(void)state;
	rc_json_init();
	fx.dir = rc_strdup(rctest_tmpdir());
	snprintf(uri, sizeof(uri), "sqlite:%s/hub.db", fx.dir);
	assert_int_equal(rc_store_open(uri, &fx.st), RC_OK);
	fx.key = testpki_key();
	o.ca = 0;
	o.keycertsign = 0;
	fx.leaf = testpki_cert(fx.key, &o);
	o.cn = "dev2";
	fx.other = testpki_cert(fx.key, &o);
	put_device("dev1", fx.leaf);
	put_device("dev2", fx.other);
	memset(&hc, 0, sizeof(hc));
	hc.name = "h1";
	hc.hostnames = &host;
	hc.nhostnames = 1;
	assert_int_equal(hub_new(&hc, fx.st, &fx.hub), RC_OK);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hub_free(fx.hub);
	posts_clear();
	rc_store_close(fx.st);
	X509_free(fx.leaf);
	X509_free(fx.other);
	EVP_PKEY_free(fx.key);
	rctest_rmtree(fx.dir);
	rc_free(fx.dir);
	return 0;
}

static struct hub_session *
session(X509 *leaf)
{
	struct hub_session_tls tls = {.leaf = leaf, .peer = "test"};
	struct hub_session *s;

	s = hub_session_new(&fx.hub, 1, &tls, &io, NULL);
	assert_non_null(s);
	return s;
}

static void
end(struct hub_session *s)
{
	hub_session_closed(s);
	hub_session_unref(s);
}

/* Feeds one encoded packet; returns the session's verdict, out its answer. */
static int
feed(struct hub_session *s, struct rc_wbuf *in, struct rc_wbuf *out)
{
	struct rc_mqtt_fixed hdr;
	size_t total;
	int rc;

	rc_wbuf_reset(out);
	assert_int_equal(rc_mqtt_frame(in->data, in->len, 1 << 20, &hdr,
	                     &total),
	    RC_OK);
	rc = hub_session_packet(s, &hdr, in->data, total, out);
	rc_wbuf_reset(in);
	return rc;
}

static int
connect_as(struct hub_session *s, const char *id, const char *user,
    uint8_t *code)
{
	struct rc_mqtt_connect c;
	struct rc_mqtt_connack ack;
	struct rc_wbuf in, out;
	int rc;

	memset(&c, 0, sizeof(c));
	c.client_id = rc_mqtt_cstr(id);
	c.username = rc_mqtt_cstr(user);
	c.has_username = 1;
	c.keepalive = 60;
	rc_wbuf_init(&in, 4096);
	rc_wbuf_init(&out, 4096);
	assert_int_equal(rc_mqtt_encode_connect(&in, &c), RC_OK);
	rc = feed(s, &in, &out);
	assert_int_equal(rc_mqtt_decode_connack(out.data, out.len, &ack),
	    RC_OK);
	*code = ack.code;
	rc_wbuf_free(&in);
	rc_wbuf_free(&out);
	return rc;
}

static int
publish(struct hub_session *s, const char *topic, const char *payload,
    uint8_t qos, struct rc_wbuf *out)
{
	struct rc_mqtt_publish p;
	struct rc_wbuf in;
	int rc;

	memset(&p, 0, sizeof(p));
	p.topic = rc_mqtt_cstr(topic);
	p.payload.p = (const uint8_t *)payload;
	p.payload.len = strlen(payload);
	p.qos = qos;
	p.packet_id = qos > 0 ? 7 : 0;
	rc_wbuf_init(&in, 4096);
	assert_int_equal(rc_mqtt_encode_publish(&in, &p), RC_OK);
	rc = feed(s, &in, out);
	rc_wbuf_free(&in);
	return rc;
}

static void
subscribe(struct hub_session *s, const char *filter, uint8_t qos, uint8_t want)
{
	struct rc_mqtt_sub sub = {rc_mqtt_cstr(filter), qos};
	struct rc_mqtt_suback ack;
	struct rc_wbuf in, out;

	rc_wbuf_init(&in, 4096);
	rc_wbuf_init(&out, 4096);
	assert_int_equal(rc_mqtt_encode_subscribe(&in, 3, &sub, 1), RC_OK);
	assert_int_equal(feed(s, &in, &out), RC_OK);
	assert_int_equal(rc_mqtt_decode_suback(out.data, out.len, &ack), RC_OK);
	assert_int_equal(ack.count, 1);
	assert_int_equal(ack.codes[0], want);
	rc_wbuf_free(&in);
	rc_wbuf_free(&out);
}

static struct hub_session *
connected(const char *id, X509 *leaf)
{
	struct hub_session *s = session(leaf);
	char user[128];
	uint8_t code;

	snprintf(user, sizeof(user), "h.test:8883/%s/?api-version=2021-04-12",
	    id);
	assert_int_equal(connect_as(s, id, user, &code), RC_OK);
	assert_int_equal(code, 0);
	return s;
}

static void
test_connect_refusals(void **state)
{
	struct hub_session *s;
	uint8_t code;

	(void)state;
	s = session(NULL);
	assert_int_equal(connect_as(s, "dev1", "h.test/dev1/?a=1", &code),
	    RC_EAUTH);
	assert_int_equal(code, 5);
	end(s);
	s = session(fx.leaf);
	assert_int_equal(connect_as(s, "dev2", "h.test/dev2/?a=1", &code),
	    RC_EAUTH);
	assert_int_equal(code, 5);
	end(s);
	s = session(fx.leaf);
	assert_int_equal(connect_as(s, "dev1", "h.test/dev2/?a=1", &code),
	    RC_EAUTH);
	assert_int_equal(code, 5);
	end(s);
	s = session(fx.leaf);
	assert_int_equal(connect_as(s, "dev1/mod", "h.test/dev1/?a=1", &code),
	    RC_EAUTH);
	assert_int_equal(code, 5);
	end(s);
	s = session(fx.leaf);
	assert_int_equal(connect_as(s, "nobody", "h.test/nobody/?", &code),
	    RC_EAUTH);
	assert_int_equal(code, 5);
	end(s);
	assert_int_equal(hub_device_connected(fx.hub, "dev1", NULL), 0);
}

static void
test_publish_rules(void **state)
{
	struct hub_session *s;
	struct rc_wbuf out;
	uint16_t id;

	(void)state;
	rc_wbuf_init(&out, 1 << 20);
	s = session(fx.leaf);
	assert_int_not_equal(publish(s, "devices/dev1/messages/events/", "x", 1,
	                         &out),
	    RC_OK);
	end(s);
	s = connected("dev1", fx.leaf);
	assert_int_equal(publish(s, "devices/dev1/messages/events/a=b", "x", 1,
	                     &out),
	    RC_OK);
	assert_int_equal(rc_mqtt_decode_puback(out.data, out.len, &id), RC_OK);
	assert_int_equal(id, 7);
	assert_int_equal(publish(s, "devices/dev1/messages/events/", "x", 2,
	                     &out),
	    RC_EUNSUPPORTED);
	assert_int_equal(publish(s, "devices/dev2/messages/events/", "x", 1,
	                     &out),
	    RC_EAUTH);
	subscribe(s, "devices/dev2/messages/devicebound/#", 1,
	    RC_MQTT_SUBACK_FAILURE);
	subscribe(s, "$iothub/twin/res/#", 2, 1);
	end(s);
	rc_wbuf_free(&out);
}

struct result {
	int calls;
	int status;
	char payload[64];
};

static void
done(void *arg, int status, const char *payload, size_t len)
{
	struct result *r = arg;

	pthread_mutex_lock(&mu);
	r->calls++;
	r->status = status;
	snprintf(r->payload, sizeof(r->payload), "%.*s", (int)len,
	    payload != NULL ? payload : "");
	pthread_mutex_unlock(&mu);
}

/* The PUBLISH of post i: its topic and payload as C strings. */
static void
posted_publish(size_t i, char *topic, size_t tsize, char *payload, size_t psize,
    uint8_t *qos)
{
	struct rc_mqtt_publish p;

	assert_true(i < nposts);
	assert_null(posts[i].why);
	assert_int_equal(rc_mqtt_decode_publish(posts[i].data, posts[i].len,
	                     &p),
	    RC_OK);
	assert_int_equal(rc_mqtt_str_copy(&p.topic, topic, tsize), RC_OK);
	snprintf(payload, psize, "%.*s", (int)p.payload.len,
	    (const char *)p.payload.p);
	*qos = p.qos;
}

static void
wait_calls(struct result *r, int n)
{
	int i;

	for (i = 0; i < 400; i++) {
		pthread_mutex_lock(&mu);
		if (r->calls >= n) {
			pthread_mutex_unlock(&mu);
			return;
		}
		pthread_mutex_unlock(&mu);
		usleep(10000);
	}
	fail_msg("done() not called");
}

static void
test_methods(void **state)
{
	struct result r1 = {0}, r2 = {0}, r3 = {0};
	char topic[256], payload[256];
	struct hub_session *s;
	struct rc_wbuf out;
	uint8_t qos;

	(void)state;
	posts_clear();
	rc_wbuf_init(&out, 1 << 20);
	s = connected("dev1", fx.leaf);
	assert_int_equal(hub_method_invoke(fx.hub, "dev1", "reboot", NULL, 5,
	                     done, &r1),
	    RC_ENOENT);
	assert_int_equal(hub_method_invoke(fx.hub, "nobody", "reboot", NULL, 5,
	                     done, &r1),
	    RC_ENOENT);
	subscribe(s, "$iothub/methods/POST/#", 0, 0);
	assert_int_equal(hub_method_invoke(fx.hub, "dev1", "a/b", NULL, 5, done,
	                     &r1),
	    RC_EINVAL);
	assert_int_equal(hub_method_invoke(fx.hub, "dev1", "reboot", NULL, 5,
	                     done, &r1),
	    RC_OK);
	posted_publish(0, topic, sizeof(topic), payload, sizeof(payload), &qos);
	assert_string_equal(topic, "$iothub/methods/POST/reboot/?$rid=1");
	assert_string_equal(payload, "null");
	assert_int_equal(qos, 0);
	assert_int_equal(publish(s, "$iothub/methods/res/201/?$rid=1",
	                     "{\"ok\":true}", 0, &out),
	    RC_OK);
	assert_int_equal(r1.calls, 1);
	assert_int_equal(r1.status, 201);
	assert_string_equal(r1.payload, "{\"ok\":true}");
	/* A late or repeated answer completes nothing. */
	assert_int_equal(publish(s, "$iothub/methods/res/200/?$rid=1", "{}", 0,
	                     &out),
	    RC_OK);
	assert_int_equal(r1.calls, 1);
	/* Timeout: 504 from the housekeeping thread. */
	assert_int_equal(hub_method_invoke(fx.hub, "dev1", "slow", "{\"a\":1}",
	                     1, done, &r2),
	    RC_OK);
	wait_calls(&r2, 1);
	assert_int_equal(r2.status, 504);
	/* The session goes: -1. */
	assert_int_equal(hub_method_invoke(fx.hub, "dev1", "m", "1", 60, done,
	                     &r3),
	    RC_OK);
	end(s);
	assert_int_equal(r3.calls, 1);
	assert_int_equal(r3.status, -1);
	assert_int_equal(hub_device_connected(fx.hub, "dev1", NULL), 0);
	rc_wbuf_free(&out);
	posts_clear();
}

static void
test_c2d_desired(void **state)
{
	char topic[256], payload[256];
	struct hub_session *s;
	int64_t since = 0;
	uint8_t qos;

	(void)state;
	posts_clear();
	s = connected("dev1", fx.leaf);
	assert_int_equal(hub_device_connected(fx.hub, "dev1", &since), 1);
	assert_true(since > 0);
	assert_int_equal(hub_c2d_send(fx.hub, "dev1", "", "hi", 2), RC_ENOENT);
	assert_int_equal(hub_desired_push(fx.hub, "dev1", "{}", 2), RC_ENOENT);
	subscribe(s, "devices/+/messages/devicebound/#", 1, 1);
	subscribe(s, "$iothub/twin/PATCH/properties/desired/#", 0, 0);
	assert_int_equal(hub_c2d_send(fx.hub, "dev1", "%24.mid=1", "hi", 2),
	    RC_OK);
	posted_publish(0, topic, sizeof(topic), payload, sizeof(payload), &qos);
	assert_string_equal(topic,
	    "devices/dev1/messages/devicebound/%24.mid=1");
	assert_string_equal(payload, "hi");
	assert_int_equal(qos, 1);
	assert_int_equal(hub_desired_push(fx.hub, "dev1",
	                     "{\"x\":1,\"$version\":2}", 2),
	    RC_OK);
	posted_publish(1, topic, sizeof(topic), payload, sizeof(payload), &qos);
	assert_string_equal(topic,
	    "$iothub/twin/PATCH/properties/desired/?$version=2");
	end(s);
	posts_clear();
}

static void
test_one_connection_per_device(void **state)
{
	struct hub_session *a, *b;

	(void)state;
	posts_clear();
	a = connected("dev1", fx.leaf);
	b = connected("dev1", fx.leaf);
	assert_int_equal(nposts, 1);
	assert_ptr_equal(posts[0].s, a);
	assert_non_null(posts[0].why);
	/* The old session's close does not take the new one off the table. */
	end(a);
	assert_int_equal(hub_device_connected(fx.hub, "dev1", NULL), 1);
	end(b);
	posts_clear();
}

static void
test_live_disconnect(void **state)
{
	struct rc_store_ctx ctx = {.who = "test", .if_match = NULL};
	struct hub_session *s, *other;
	size_t i;

	(void)state;
	posts_clear();
	s = connected("dev2", fx.other);
	other = connected("dev1", fx.leaf);
	assert_int_equal(hub_auth_store_delete(hub_get0_auth(fx.hub), fx.st,
	                     &ctx, "dev2"),
	    RC_OK);
	hub_credentials_changed(fx.hub, "dev2");
	assert_int_equal(nposts, 1);
	assert_ptr_equal(posts[0].s, s);
	assert_non_null(posts[0].why);
	assert_int_equal(hub_device_connected(fx.hub, "dev2", NULL), 0);
	/* Without the explicit call, the housekeeping tick finds it. */
	put_device("dev3", fx.other);
	assert_int_equal(hub_auth_store_delete(hub_get0_auth(fx.hub), fx.st,
	                     &ctx, "dev1"),
	    RC_OK);
	for (i = 0; i < 400 && hub_device_connected(fx.hub, "dev1", NULL); i++)
		usleep(10000);
	assert_int_equal(hub_device_connected(fx.hub, "dev1", NULL), 0);
	end(s);
	end(other);
	posts_clear();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_connect_refusals),
	    cmocka_unit_test(test_publish_rules),
	    cmocka_unit_test(test_methods),
	    cmocka_unit_test(test_c2d_desired),
	    cmocka_unit_test(test_one_connection_per_device),
	    cmocka_unit_test(test_live_disconnect),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
