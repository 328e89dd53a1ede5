/*
 * The DPS registration engine (dps/prov.h) and its two transports, DPS
 * over MQTT (dps/msession.h) and over HTTPS (dps/device_api.h), on a real
 * store and test PKI.  No hub is linked, so every accepted registration
 * ends "failed" with errorCode 400208 (hub not specified): what is under
 * test here is the intake, the refusals and the operation's life; the
 * assignment itself is proven end to end by tests/interop/dps_device and
 * tests/e2e/dps_device.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/x509.h>

#include "dps/device_api.h"
#include "dps/dps.h"
#include "dps/msession.h"
#include "dps/prov.h"
#include "rctest.h"
#include "rollcall/json.h"
#include "rollcall/mem.h"
#include "rollcall/mqtt.h"
#include "testpki.h"

#define SCOPE "0ne0000ABCD"

struct fx {
	struct rc_store *store;
	struct dps *dps;
	struct dps_prov *prov;
	EVP_PKEY *rk, *k1, *k2;
	X509 *root, *stranger;
	STACK_OF(X509) *dev1, *dev2, *nobody;
};

static STACK_OF(X509) *
chain_of(X509 *leaf)
{
	STACK_OF(X509) *c = sk_X509_new_null();

	assert_non_null(c);
	assert_true(sk_X509_push(c, leaf) > 0);
	return c;
}

/* The group, through the DPS service API as an operator would make it. */
static void
put_group(struct fx *f, const char *id, X509 *signer, int enabled)
{
	struct rc_principal who = {"test", ~0u};
	struct rc_http_resp resp;
	struct rc_http_req req;
	char path[64], *pem, *body;
	json_t *j;

	pem = testpki_pem(signer, NULL);
	j = json_pack("{s:s, s:s, s:{s:s, s:{s:{s:{s:s}}}}}",
	    "enrollmentGroupId", id, "provisioningStatus",
	    enabled ? "enabled" : "disabled", "attestation", "type", "x509",
	    "x509", "signingCertificates", "primary", "certificate", pem);
	body = json_dumps(j, JSON_COMPACT);
	snprintf(path, sizeof(path), "/enrollmentGroups/%s", id);
	memset(&req, 0, sizeof(req));
	req.method = RC_HTTP_PUT;
	req.path = path;
	req.query = "api-version=2021-10-01";
	req.host = "localhost";
	req.peer = "127.0.0.1:1";
	req.headers[0].name = "Content-Type";
	req.headers[0].value = "application/json";
	req.nheaders = 1;
	req.body = (const uint8_t *)body;
	req.body_len = strlen(body);
	rc_http_resp_init(&resp, 1 << 20);
	dps_service_handle(f->dps, &req, &who, &resp);
	assert_int_equal(resp.status, 200);
	rc_http_resp_free(&resp);
	free(body);
	json_decref(j);
	rc_free(pem);
}

static int
setup(void **state)
{
	static int n;
	struct dps_prov_config pc;
	struct dps_config dc;
	struct testpki_opts o;
	struct fx *f;
	char uri[512];

	f = rc_calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(uri, sizeof(uri), "sqlite:%s",
	    rctest_path(rctest_tmpdir(), n++ == 0 ? "p0.db" : "pn.db"));
	unlink(uri + 7);
	assert_int_equal(rc_store_open(uri, &f->store), RC_OK);
	memset(&dc, 0, sizeof(dc));
	dc.id_scope = SCOPE;
	assert_int_equal(dps_new(&dc, f->store, &f->dps), RC_OK);
	f->rk = testpki_key();
	f->k1 = testpki_key();
	f->k2 = testpki_key();
	o = TESTPKI_CA("fleet root");
	f->root = testpki_cert(f->rk, &o);
	o = TESTPKI_CA("stranger root");
	f->stranger = testpki_cert(f->k2, &o);
	o = TESTPKI_LEAF("dev-1", f->root, f->rk);
	f->dev1 = chain_of(testpki_cert(f->k1, &o));
	o = TESTPKI_LEAF("dev-2", f->root, f->rk);
	f->dev2 = chain_of(testpki_cert(f->k2, &o));
	o = TESTPKI_LEAF("nobody", f->stranger, f->k2);
	f->nobody = chain_of(testpki_cert(f->k1, &o));
	put_group(f, "fleet", f->root, 1);
	memset(&pc, 0, sizeof(pc));
	pc.id_scope = SCOPE;
	pc.retry_after = 1;
	assert_int_equal(dps_prov_new(&pc, f->store, &f->prov), RC_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	dps_prov_free(f->prov);
	dps_free(f->dps);
	rc_store_close(f->store);
	sk_X509_pop_free(f->dev1, X509_free);
	sk_X509_pop_free(f->dev2, X509_free);
	sk_X509_pop_free(f->nobody, X509_free);
	X509_free(f->root);
	X509_free(f->stranger);
	EVP_PKEY_free(f->rk);
	EVP_PKEY_free(f->k1);
	EVP_PKEY_free(f->k2);
	rc_free(f);
	return 0;
}

static const char *
str(json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));

	return s != NULL ? s : "";
}

static void
reg(struct fx *f, STACK_OF(X509) *chain, const char *id, const char *body,
    struct dps_answer *a)
{
	dps_prov_register(f->prov, DPS_MQTT, chain, id, (const uint8_t *)body,
	    strlen(body), a);
}

/* Polls until the operation is finished; returns the last answer. */
static void
poll_done(struct fx *f, STACK_OF(X509) *chain, const char *id, const char *opid,
    struct dps_answer *a)
{
	int i;

	for (i = 0; i < 500; i++) {
		dps_prov_poll(f->prov, chain, id, opid, a);
		if (a->status != 202)
			return;
		dps_answer_free(a);
		usleep(10000);
	}
	fail_msg("operation %s never finished", opid);
}

static void
test_register_and_poll(void **state)
{
	struct fx *f = *state;
	struct dps_answer a, b;
	char opid[128];
	json_t *rs;

	reg(f, f->dev1, "dev-1", "{\"registrationId\":\"dev-1\"}", &a);
	assert_int_equal(a.status, 202);
	assert_true(a.retry_after >= 1);
	assert_string_equal(str(a.body, "status"), "assigning");
	snprintf(opid, sizeof(opid), "%s", str(a.body, "operationId"));
	assert_true(strlen(opid) > 10);
	dps_answer_free(&a);

	/* Another device may not read the operation. */
	dps_prov_poll(f->prov, f->dev2, "dev-1", opid, &b);
	assert_int_equal(b.status, 401);
	assert_int_equal(json_integer_value(
	                     json_object_get(b.body, "errorCode")),
	    401002);
	dps_answer_free(&b);

	/* No hub is linked: the assignment fails, as registrationState. */
	poll_done(f, f->dev1, "dev-1", opid, &a);
	assert_int_equal(a.status, 200);
	assert_string_equal(str(a.body, "status"), "failed");
	assert_string_equal(str(a.body, "operationId"), opid);
	rs = json_object_get(a.body, "registrationState");
	assert_int_equal(json_integer_value(json_object_get(rs, "errorCode")),
	    400208);
	assert_non_null(strstr(str(rs, "errorMessage"), "hub"));
	dps_answer_free(&a);

	/* An unknown operation, of a device with no assigned record. */
	dps_prov_poll(f->prov, f->dev1, "dev-1", "1.2.3", &a);
	assert_int_equal(a.status, 404);
	dps_answer_free(&a);
}

static void
test_refusals(void **state)
{
	struct fx *f = *state;
	static const struct {
		int chain; /* 0 none, 1 dev1, 2 nobody */
		const char *id, *body;
		int status, code;
		const char *says;
	} rows[] = {
	    {0, "dev-1", "{}", 401, 401002, "certificate"},
	    {1, "dev-2", "{}", 401, 401002, "registration ID"},
	    {2, "nobody", "{}", 401, 401002, "enrollment"},
	    {1, "dev-1", "{\"registrationId\":\"dev-2\"}", 400, 400001, ""},
	    {1, "dev-1", "{\"registrationId\":", 400, 400001, ""},
	    {1, "dev-1", "[1]", 400, 400001, ""},
	    {1, "dev-1", "{\"csr\":\"***\"}", 400, 400001, ""},
	    {1, "dev-1", "{\"csr\":\"MIIB\"}", 400, 400001, "csr"},
	};
	struct dps_answer a;
	STACK_OF(X509) *c;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		c = rows[i].chain == 0   ? NULL
		    : rows[i].chain == 1 ? f->dev1
		                         : f->nobody;
		reg(f, c, rows[i].id, rows[i].body, &a);
		if (a.status != rows[i].status)
			fail_msg("row %zu: %d", i, a.status);
		assert_int_equal(json_integer_value(
		                     json_object_get(a.body, "errorCode")),
		    rows[i].code);
		if (strstr(str(a.body, "message"), rows[i].says) == NULL)
			fail_msg("row %zu: message '%s'", i,
			    str(a.body, "message"));
		dps_answer_free(&a);
	}
	/* A poll needs a certificate too. */
	dps_prov_poll(f->prov, NULL, "dev-1", "x", &a);
	assert_int_equal(a.status, 401);
	dps_answer_free(&a);
}

static void
test_disabled_group(void **state)
{
	struct fx *f = *state;
	struct dps_answer a;

	put_group(f, "fleet", f->root, 0);
	reg(f, f->dev1, "dev-1", "{}", &a);
	assert_int_equal(a.status, 401);
	assert_non_null(strstr(str(a.body, "message"), "disabled"));
	dps_answer_free(&a);
}

/*
 * A device that registers again while its registration is queued gets the
 * same operation; another device gets its own.  No assigners here, so
 * everything stays queued.
 */
static void
test_same_operation(void **state)
{
	struct fx *f = *state;
	struct dps_prov_config pc;
	struct dps_answer a, b, c;

	dps_prov_free(f->prov);
	memset(&pc, 0, sizeof(pc));
	pc.id_scope = SCOPE;
	pc.assigners = -1;
	assert_int_equal(dps_prov_new(&pc, f->store, &f->prov), RC_OK);
	reg(f, f->dev2, "dev-2", "{}", &a);
	reg(f, f->dev2, "dev-2", "{\"registrationId\":\"dev-2\"}", &b);
	reg(f, f->dev1, "dev-1", "{}", &c);
	assert_int_equal(a.status, 202);
	assert_int_equal(b.status, 202);
	assert_int_equal(c.status, 202);
	assert_string_equal(str(a.body, "operationId"),
	    str(b.body, "operationId"));
	assert_string_not_equal(str(a.body, "operationId"),
	    str(c.body, "operationId"));
	dps_answer_free(&a);
	dps_answer_free(&b);
	/* Still queued: the poll says so. */
	dps_prov_poll(f->prov, f->dev1, "dev-1", str(c.body, "operationId"),
	    &a);
	assert_int_equal(a.status, 202);
	assert_string_equal(str(a.body, "status"), "assigning");
	dps_answer_free(&a);
	dps_answer_free(&c);
}

/* --- DPS over MQTT ------------------------------------------------------ */

/* Frames pkt and hands it to the session; the output in out. */
static int
feed(struct dps_msession *s, const struct rc_wbuf *pkt, struct rc_wbuf *out)
{
	struct rc_mqtt_fixed hdr;
	size_t total;

	assert_int_equal(rc_mqtt_frame(pkt->data, pkt->len, 1 << 20, &hdr,
	                     &total),
	    RC_OK);
	assert_int_equal(total, pkt->len);
	out->len = 0;
	return dps_msession_packet(s, &hdr, pkt->data, pkt->len, out);
}

static void
connect_pkt(struct rc_wbuf *w, const char *client, const char *user)
{
	struct rc_mqtt_connect c;

	memset(&c, 0, sizeof(c));
	c.client_id = rc_mqtt_cstr(client);
	c.clean_session = 1;
	c.keepalive = 60;
	if (user != NULL) {
		c.has_username = 1;
		c.username = rc_mqtt_cstr(user);
	}
	w->len = 0;
	assert_int_equal(rc_mqtt_encode_connect(w, &c), RC_OK);
}

static void
publish_pkt(struct rc_wbuf *w, const char *topic, const char *body, int qos)
{
	struct rc_mqtt_publish p;

	memset(&p, 0, sizeof(p));
	p.topic = rc_mqtt_cstr(topic);
	p.payload.p = (const uint8_t *)body;
	p.payload.len = strlen(body);
	p.qos = (uint8_t)qos;
	p.packet_id = qos > 0 ? 7 : 0;
	w->len = 0;
	assert_int_equal(rc_mqtt_encode_publish(w, &p), RC_OK);
}

#define USER(id) SCOPE "/registrations/" id "/api-version=2019-03-31"

static void
test_mqtt_connect(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *client, *user;
		int cert;
	} refused[] = {
	    {"dev-1", USER("dev-1"), 0}, /* no certificate */
	    {"dev-2", USER("dev-1"), 1}, /* ClientId is another ID */
	    {"dev-1", "0neOTHER0/registrations/dev-1/api-version=1", 1},
	    {"dev-1", SCOPE "/registrations/dev-1/", 1}, /* no api-version */
	};
	struct dps_msession *s;
	struct rc_wbuf in, out;
	size_t i;

	rc_wbuf_init(&in, 4096);
	rc_wbuf_init(&out, 65536);
	connect_pkt(&in, "dev-1", USER("dev-1"));
	assert_true(dps_msession_is_dps(f->prov, in.data, in.len));
	connect_pkt(&in, "dev-1", "hub.example/dev-1/?api-version=2021-04-12");
	assert_false(dps_msession_is_dps(f->prov, in.data, in.len));
	connect_pkt(&in, "dev-1", NULL);
	assert_false(dps_msession_is_dps(f->prov, in.data, in.len));
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		s = dps_msession_new(f->prov, refused[i].cert ? f->dev1 : NULL,
		    "test");
		connect_pkt(&in, refused[i].client, refused[i].user);
		assert_int_not_equal(feed(s, &in, &out), RC_OK);
		/* CONNACK 5 */
		assert_int_equal(out.len, 4);
		assert_int_equal(out.data[0], 0x20);
		assert_int_equal(out.data[3], 5);
		dps_msession_free(s);
	}
	/* Anything before CONNECT closes. */
	s = dps_msession_new(f->prov, f->dev1, "test");
	publish_pkt(&in, "$dps/registrations/PUT/iotdps-register/?$rid=1", "{}",
	    0);
	assert_int_not_equal(feed(s, &in, &out), RC_OK);
	dps_msession_free(s);
	rc_wbuf_free(&in);
	rc_wbuf_free(&out);
}

/* The reply topic and JSON body of the PUBLISH at the end of out. */
static json_t *
reply_of(const struct rc_wbuf *out, size_t at, char *topic, size_t tsize)
{
	struct rc_mqtt_publish p;
	struct rc_mqtt_fixed hdr;
	size_t total;

	assert_int_equal(rc_mqtt_frame(out->data + at, out->len - at, 1 << 20,
	                     &hdr, &total),
	    RC_OK);
	assert_int_equal(hdr.type, RC_MQTT_PUBLISH);
	assert_int_equal(rc_mqtt_decode_publish(out->data + at, total, &p),
	    RC_OK);
	assert_true(p.topic.len < tsize);
	memcpy(topic, p.topic.p, p.topic.len);
	topic[p.topic.len] = '\0';
	return json_loadb((const char *)p.payload.p, p.payload.len, 0, NULL);
}

static void
test_mqtt_session(void **state)
{
	struct fx *f = *state;
	struct dps_msession *s;
	struct rc_wbuf in, out;
	char topic[256], poll[256];
	struct rc_mqtt_sub subs[2];
	json_t *j;

	subs[0].filter = rc_mqtt_cstr("$dps/registrations/res/#");
	subs[0].qos = 1;
	subs[1].filter = rc_mqtt_cstr("devices/dev-1/messages/#");
	subs[1].qos = 1;

	rc_wbuf_init(&in, 4096);
	rc_wbuf_init(&out, 65536);
	s = dps_msession_new(f->prov, f->dev1, "test");
	assert_int_equal(dps_msession_timeout(s), 0);
	connect_pkt(&in, "dev-1", USER("dev-1") "&ClientVersion=test%2F1");
	assert_int_equal(feed(s, &in, &out), RC_OK);
	assert_int_equal(out.data[3], 0);
	assert_int_equal(dps_msession_timeout(s), 90);

	/* SUBSCRIBE: the reply filter at QoS 1, anything else refused. */
	in.len = 0;
	assert_int_equal(rc_mqtt_encode_subscribe(&in, 3, subs, 2), RC_OK);
	assert_int_equal(feed(s, &in, &out), RC_OK);
	assert_int_equal(out.len, 6);
	assert_int_equal(out.data[4], 1);
	assert_int_equal(out.data[5], 0x80);

	/* Register at QoS 1: PUBACK, then 202 with the $rid echoed. */
	publish_pkt(&in, "$dps/registrations/PUT/iotdps-register/?$rid=a-1%7Cb",
	    "{}", 1);
	assert_int_equal(feed(s, &in, &out), RC_OK);
	assert_int_equal(out.data[0], 0x40);
	j = reply_of(&out, 4, topic, sizeof(topic));
	assert_string_equal(topic,
	    "$dps/registrations/res/202/?$rid=a-1%7Cb&retry-after=1");
	snprintf(poll, sizeof(poll),
	    "$dps/registrations/GET/iotdps-get-operationstatus/"
	    "?$rid=2&operationId=%s",
	    str(j, "operationId"));
	json_decref(j);

	/* Poll at QoS 0, until the operation ends. */
	do {
		usleep(10000);
		publish_pkt(&in, poll, " ", 0);
		assert_int_equal(feed(s, &in, &out), RC_OK);
		j = reply_of(&out, 0, topic, sizeof(topic));
		if (strncmp(topic, "$dps/registrations/res/202/", 27) != 0)
			break;
		json_decref(j);
	} while (1);
	assert_string_equal(topic, "$dps/registrations/res/200/?$rid=2");
	assert_string_equal(str(j, "status"), "failed");
	json_decref(j);

	/* PINGREQ, UNSUBSCRIBE, then a foreign topic closes. */
	in.len = 0;
	assert_int_equal(rc_mqtt_encode_pingreq(&in), RC_OK);
	assert_int_equal(feed(s, &in, &out), RC_OK);
	assert_int_equal(out.data[0], 0xd0);
	publish_pkt(&in, "devices/dev-1/messages/events/", "{}", 0);
	assert_int_not_equal(feed(s, &in, &out), RC_OK);
	dps_msession_free(s);

	/* QoS 2 closes. */
	s = dps_msession_new(f->prov, f->dev1, "test");
	connect_pkt(&in, "dev-1", USER("dev-1"));
	assert_int_equal(feed(s, &in, &out), RC_OK);
	publish_pkt(&in, "$dps/registrations/PUT/iotdps-register/?$rid=1", "{}",
	    2);
	assert_int_not_equal(feed(s, &in, &out), RC_OK);
	dps_msession_free(s);
	rc_wbuf_free(&in);
	rc_wbuf_free(&out);
}

/* --- DPS over HTTPS ----------------------------------------------------- */

static int
http(struct fx *f, enum rc_http_method m, const char *path, const char *query,
    STACK_OF(X509) *chain, const char *body, char *retry, size_t rsize)
{
	struct rc_http_resp resp;
	struct rc_http_req req;
	size_t i;
	int status;

	memset(&req, 0, sizeof(req));
	req.method = m;
	req.path = path;
	req.query = query;
	req.host = "localhost";
	req.peer = "127.0.0.1:1";
	req.peer_chain = chain;
	req.body = (const uint8_t *)body;
	req.body_len = body != NULL ? strlen(body) : 0;
	rc_http_resp_init(&resp, 1 << 20);
	dps_device_handle(f->prov, &req, &resp);
	status = resp.status;
	if (retry != NULL) {
		retry[0] = '\0';
		for (i = 0; i < resp.nheaders; i++)
			if (strcmp(resp.headers[i][0], "retry-after") == 0)
				snprintf(retry, rsize, "%s",
				    resp.headers[i][1]);
	}
	/* Every answer is JSON. */
	assert_true(resp.body.len > 0);
	assert_true(resp.body.data[0] == '{');
	rc_http_resp_free(&resp);
	return status;
}

static void
test_https(void **state)
{
	struct fx *f = *state;
	const char *reg = "/" SCOPE "/registrations/dev-1/register";
	const char *q = "api-version=2019-03-31";
	char retry[16];

	assert_int_equal(http(f, RC_HTTP_PUT, reg, q, f->dev1, "{}", retry,
	                     sizeof(retry)),
	    202);
	assert_string_equal(retry, "1");
	assert_int_equal(http(f, RC_HTTP_PUT, reg, q, NULL, "{}", NULL, 0),
	    401);
	assert_int_equal(http(f, RC_HTTP_PUT,
	                     "/0neOTHER00/registrations/dev-1/register", q,
	                     f->dev1, "{}", NULL, 0),
	    404);
	assert_int_equal(http(f, RC_HTTP_POST, reg, q, f->dev1, "{}", NULL, 0),
	    405);
	assert_int_equal(http(f, RC_HTTP_PUT, reg, NULL, f->dev1, "{}", NULL,
	                     0),
	    400);
	assert_int_equal(http(f, RC_HTTP_PUT,
	                     "/" SCOPE "/registrations/dev%00/register", q,
	                     f->dev1, "{}", NULL, 0),
	    400);
	/* node's poll: a GET with a body, which is ignored. */
	assert_int_equal(http(f, RC_HTTP_GET,
	                     "/" SCOPE "/registrations/dev-1/operations/9.x", q,
	                     f->dev1, "{}", NULL, 0),
	    404);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_register_and_poll, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_disabled_group, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_same_operation, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_mqtt_connect, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mqtt_session, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_https, setup, teardown),
	};
	int rc;

	rc_json_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rctest_rmtree(rctest_tmpdir());
	return rc;
}
