/*
 * Unit tests for rollcalld's router and SAS authentication
 * (src/daemon/router.c, auth.c), in-process with a stand-in service: Host
 * checks, the placeholder routes and their error bodies, and tokens that
 * are good, expired, tampered, for another host or another policy; and
 * the error answers given before routing (router_error), including
 * evhttp's own answers replaced in the output buffer (httpd.c).
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "daemon.h"
#include "rctest.h"
#include "rollcall/enc.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"
#include "rollcall/sas.h"

#define KEY_A "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY_B "HyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4="
#define NOW ((time_t)1800000000)

static char dir[512];
static struct config cfg;
static struct router router;
static int handled;
static const char *handled_policy;

static int
svc_match(void *arg, const struct rc_http_req *req)
{
	(void)arg;
	return strncmp(req->path, "/enrollments", 12) == 0;
}

static void
svc_handle(void *arg, const struct rc_http_req *req,
    const struct rc_principal *who, struct rc_http_resp *resp)
{
	(void)arg;
	(void)req;
	handled++;
	handled_policy = who->policy;
	rc_http_resp_status(resp, 204);
}

static void
svc_unauthorized(struct rc_http_resp *resp, const char *message)
{
	(void)message;
	rc_http_resp_status(resp, 401);
}

static time_t
fixed_now(time_t *t)
{
	if (t != NULL)
		*t = NOW;
	return NOW;
}

static int
setup(void **state)
{
	struct role_service svc;
	char text[2048], err[512], cert[600], key[600];

	(void)state;
	snprintf(dir, sizeof(dir), "%s", rctest_tmpdir());
	snprintf(cert, sizeof(cert), "%s/c.pem", dir);
	snprintf(key, sizeof(key), "%s/c.key", dir);
	rctest_write_file(cert, "x", 1);
	rctest_write_file(key, "x", 1);
	chmod(key, 0600);
	snprintf(text, sizeof(text),
	    "hostname dps.example.com\nid-scope 0ne0012ABCD\n"
	    "tls-cert %s\ntls-key %s\n"
	    "dps-policy owner EnrollmentRead,EnrollmentWrite %s\n"
	    "dps-policy reader EnrollmentRead %s\n"
	    "hub myhub hub.example.com\n",
	    cert, key, KEY_A, KEY_B);
	if (config_parse("t.conf", text, strlen(text), &cfg, err,
	        sizeof(err)) != RC_OK)
		fail_msg("%s", err);
	router_init(&router, &cfg);
	router.now = fixed_now;
	memset(&svc, 0, sizeof(svc));
	svc.name = "test";
	svc.match = svc_match;
	svc.handle = svc_handle;
	svc.unauthorized = svc_unauthorized;
	svc.policies = cfg.dps_policies;
	svc.npolicies = cfg.ndps_policies;
	assert_int_equal(router_add_service(&router, &svc), RC_OK);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	config_free(&cfg);
	rctest_rmtree(dir);
	return 0;
}

static void
req_init(struct rc_http_req *req, const char *host, const char *path,
    const char *auth)
{
	memset(req, 0, sizeof(*req));
	req->method = RC_HTTP_GET;
	req->host = host;
	req->path = path;
	req->peer = "192.0.2.7:5555";
	if (auth != NULL) {
		req->headers[0].name = "authorization";
		req->headers[0].value = auth;
		req->nheaders = 1;
	}
}

/* Routes one request; returns the status, the body left in body. */
static int
route(const char *host, const char *path, const char *auth, char *body,
    size_t bodysize)
{
	struct rc_http_resp resp;
	struct rc_http_req req;
	int status;

	req_init(&req, host, path, auth);
	rc_http_resp_init(&resp, 1 << 16);
	router_handle(&router, &req, &resp);
	status = resp.status;
	if (body != NULL)
		snprintf(body, bodysize, "%s",
		    resp.body.data != NULL ? (char *)resp.body.data : "");
	rc_http_resp_free(&resp);
	return status;
}

static char *
token(const char *sr, const char *skn, const char *key_b64, time_t se)
{
	uint8_t *key;
	size_t keylen;
	char *t, *h;

	assert_int_equal(rc_b64_decode(key_b64, strlen(key_b64), 64, &key,
	                     &keylen),
	    RC_OK);
	assert_int_equal(rc_sas_token_new(sr, skn, key, keylen, (uint64_t)se,
	                     &t),
	    RC_OK);
	rc_free(key);
	h = rc_strdup(t); /* rc_sas_token_new gives the full header value */
	rc_free(t);
	return h;
}

static void
test_hosts(void **state)
{
	(void)state;
	assert_true(router_host_ok(&cfg, "localhost"));
	assert_true(router_host_ok(&cfg, "LocalHost"));
	assert_true(router_host_ok(&cfg, "dps.example.com"));
	assert_true(router_host_ok(&cfg, "DPS.example.COM"));
	assert_true(router_host_ok(&cfg, "hub.example.com"));
	assert_true(router_host_ok(&cfg, "127.0.0.1"));
	assert_true(router_host_ok(&cfg, "10.1.2.3"));
	assert_true(router_host_ok(&cfg, "[::1]"));
	assert_true(router_host_ok(&cfg, "::1"));
	assert_false(router_host_ok(&cfg, NULL));
	assert_false(router_host_ok(&cfg, ""));
	assert_false(router_host_ok(&cfg, "evil.example.com"));
	assert_false(router_host_ok(&cfg, "dps.example.com.evil"));
	assert_false(router_host_ok(&cfg, "[::1"));
	assert_false(router_host_ok(&cfg, "[not-ip]"));
	assert_false(router_host_ok(&cfg, "127.0.0.1.example"));
}

static void
test_not_found(void **state)
{
	char body[1024];
	json_t *j;

	(void)state;
	/* Unknown host: the same 404 as an unknown path, even for a
	 * service path, and the handler never runs. */
	handled = 0;
	assert_int_equal(route("evil.example.com", "/enrollments/x", NULL, body,
	                     sizeof(body)),
	    404);
	assert_int_equal(handled, 0);
	assert_non_null(j = json_loads(body, 0, NULL));
	assert_int_equal(json_integer_value(json_object_get(j, "errorCode")),
	    404000);
	json_decref(j);
	assert_int_equal(route(NULL, "/enrollments/x", NULL, NULL, 0), 404);
	assert_int_equal(route("localhost", "/nothing", NULL, NULL, 0), 404);
	assert_int_equal(route("localhost", "/", NULL, NULL, 0), 404);
	/* The device API of our ID scope, any case. */
	assert_int_equal(route("localhost",
	                     "/0ne0012ABCD/registrations/d1/register", NULL,
	                     body, sizeof(body)),
	    404);
	assert_non_null(strstr(body, "\"errorCode\":404000"));
	assert_int_equal(route("localhost", "/0NE0012abcd/registrations/d1",
	                     NULL, NULL, 0),
	    404);
	/* The hub service API: a body the hub SDK can parse. */
	assert_int_equal(route("hub.example.com", "/devices/d1", NULL, body,
	                     sizeof(body)),
	    404);
	assert_non_null(j = json_loads(body, 0, NULL));
	assert_memory_equal(json_string_value(json_object_get(j, "Message")),
	    "ErrorCode:NotFound;", 19);
	json_decref(j);
	assert_int_equal(route("localhost", "/twins/d1", NULL, NULL, 0), 404);
	assert_int_equal(route("localhost", "/jobs/v2/x", NULL, NULL, 0), 404);
}

static void
test_auth(void **state)
{
	char *t;
	size_t n;

	(void)state;
	handled = 0;
	/* No token, not a SAS token. */
	assert_int_equal(route("localhost", "/enrollments/x", NULL, NULL, 0),
	    401);
	assert_int_equal(route("localhost", "/enrollments/x", "Bearer abc",
	                     NULL, 0),
	    401);
	assert_int_equal(route("localhost", "/enrollments/x",
	                     "SharedAccessSignature sr=x", NULL, 0),
	    401);
	assert_int_equal(handled, 0);
	/* Good: signed for the host it is sent to. */
	t = token("localhost", "owner", KEY_A, NOW + 3600);
	assert_int_equal(route("localhost", "/enrollments/x", t, NULL, 0), 204);
	assert_string_equal(handled_policy, "owner");
	/* Signed for a name that is not configured, sent to an address. */
	assert_int_equal(route("127.0.0.1", "/enrollments/x", t, NULL, 0), 401);
	rc_free(t);
	/* Signed for a configured name, reached by address. */
	t = token("dps.example.com", "owner", KEY_A, NOW + 3600);
	assert_int_equal(route("127.0.0.1", "/enrollments/x", t, NULL, 0), 204);
	rc_free(t);
	t = token("dps.example.com", "reader", KEY_B, NOW + 60);
	assert_int_equal(route("[::1]", "/enrollments/x", t, NULL, 0), 204);
	assert_string_equal(handled_policy, "reader");
	rc_free(t);
	assert_int_equal(handled, 3);
	/* A resource that is not ours. */
	t = token("other.example.com", "owner", KEY_A, NOW + 3600);
	assert_int_equal(route("localhost", "/enrollments/x", t, NULL, 0), 401);
	rc_free(t);
	/* The wrong key for the policy, an unknown policy, no policy. */
	t = token("localhost", "owner", KEY_B, NOW + 3600);
	assert_int_equal(route("localhost", "/enrollments/x", t, NULL, 0), 401);
	rc_free(t);
	t = token("localhost", "nobody", KEY_A, NOW + 3600);
	assert_int_equal(route("localhost", "/enrollments/x", t, NULL, 0), 401);
	rc_free(t);
	t = token("localhost", NULL, KEY_A, NOW + 3600);
	assert_int_equal(route("localhost", "/enrollments/x", t, NULL, 0), 401);
	rc_free(t);
	/* Expired beyond the skew; expired within it. */
	t = token("localhost", "owner", KEY_A, NOW - SAS_SKEW_SECONDS - 1);
	assert_int_equal(route("localhost", "/enrollments/x", t, NULL, 0), 401);
	rc_free(t);
	t = token("localhost", "owner", KEY_A, NOW - SAS_SKEW_SECONDS + 5);
	assert_int_equal(route("localhost", "/enrollments/x", t, NULL, 0), 204);
	rc_free(t);
	/* Tampered: one character of the signature changed. */
	t = token("localhost", "owner", KEY_A, NOW + 3600);
	n = (size_t)(strstr(t, "sig=") - t) + 6;
	t[n] = t[n] == 'A' ? 'B' : 'A';
	assert_int_equal(route("localhost", "/enrollments/x", t, NULL, 0), 401);
	rc_free(t);
	assert_int_equal(handled, 4);
}

static void
test_refusal_log(void **state)
{
	char *t, *log, *sig;
	const char *path = rctest_path(dir, "log");
	FILE *f;

	(void)state;
	assert_non_null(f = fopen(path, "w"));
	rc_log_setfile(f);
	t = token("localhost", "owner", KEY_B, NOW + 3600);
	assert_int_equal(route("localhost", "/enrollments/x", t, NULL, 0), 401);
	t[strlen(t) - 1] = '\0';
	rc_log_setfile(NULL);
	fclose(f);
	log = rctest_read_file(path, NULL);
	/* One line: peer, policy, reason; never the signature. */
	assert_non_null(strstr(log, "192.0.2.7:5555"));
	assert_non_null(strstr(log, "owner"));
	assert_non_null(strstr(log, "does not match"));
	sig = strstr(t, "sig=") + 4;
	sig[8] = '\0';
	assert_null(strstr(log, sig));
	assert_non_null(strchr(log, '\n'));
	assert_null(strchr(strchr(log, '\n') + 1, '\n'));
	rc_free(log);
	rc_free(t);
}

/* The error body in resp: its errorCode; the header must match. */
static json_int_t
error_code(const struct rc_http_resp *resp)
{
	json_int_t code;
	char want[16];
	json_t *j;
	size_t i;

	assert_non_null(j = json_loadb((const char *)resp->body.data,
	                    resp->body.len, 0, NULL));
	assert_non_null(json_object_get(j, "trackingId"));
	assert_string_equal(json_string_value(
	                        json_object_get(j, "timestampUtc")),
	    "2027-01-15T08:00:00Z");
	code = json_integer_value(json_object_get(j, "errorCode"));
	json_decref(j);
	snprintf(want, sizeof(want), "%lld", (long long)code);
	for (i = 0; i < resp->nheaders; i++)
		if (strcasecmp(resp->headers[i][0], "x-ms-error-code") == 0)
			assert_string_equal(resp->headers[i][1], want);
	return code;
}

static void
test_router_error(void **state)
{
	static const int status[] = {400, 413, 431, 501, 500};
	static const json_int_t code[] = {400001, 413001, 431001, 501000,
	    500000};
	struct rc_http_resp resp;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(status) / sizeof(status[0]); i++) {
		rc_http_resp_init(&resp, 1 << 16);
		router_error(&router, &resp, status[i]);
		assert_int_equal(resp.status, status[i]);
		assert_int_equal(error_code(&resp), code[i]);
		if (status[i] == 413)
			assert_non_null(strstr((const char *)resp.body.data,
			    "larger than 1048576 bytes (max-body)"));
		rc_http_resp_free(&resp);
	}
}

/* evhttp 2.1's own error page for 413, as evhttp_send_error writes it. */
#define PAGE_413                                                      \
	"<HTML><HEAD>\n<TITLE>413 Request Entity Too Large</TITLE>\n" \
	"</HEAD><BODY>\n<H1>Request Entity Too Large</H1>\n</BODY></HTML>\n"

static char *
out_text(struct evbuffer *out)
{
	size_t n = evbuffer_get_length(out);
	char *s = rc_malloc(n + 1);

	assert_non_null(s);
	assert_int_equal(evbuffer_copyout(out, s, n), (ev_ssize_t)n);
	s[n] = '\0';
	return s;
}

static void
test_own_answer(void **state)
{
	static const char *const kept[] = {
	    "HTTP/1.1 100 Continue\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	    "HTTP/1.1 4x3 Bad\r\nContent-Length: 0\r\n\r\n",
	    "HTTP/1.1 4130 Too Large\r\nContent-Length: 0\r\n\r\n",
	    "HTTP/1.1 400 Bad\r\nContent-Length: zz\r\n\r\n",
	    "HTTP/1.1 400 Bad\r\nContent-Length: 99999999999\r\n\r\n",
	    "HTTP/1.1 400 Bad\r\nContent-Length: 5\r\n\r\nabc",
	    "HTTP/1.1 400 Bad\r\nContent-Length: 0\r\n",
	    "ICY 400 Bad\r\n\r\n",
	};
	struct httpd_ctx hc = {&router, 0, NULL};
	struct evbuffer *out;
	const char *body;
	char head[256], *s;
	size_t i, n;
	json_t *j;

	(void)state;
	assert_non_null(out = evbuffer_new());
	snprintf(head, sizeof(head),
	    "HTTP/1.1 413 Request Entity Too Large\r\n"
	    "Content-Type: text/html\r\nConnection: close\r\n"
	    "Content-Length: %zu\r\n\r\n",
	    strlen(PAGE_413));
	/* Piece by piece, as evhttp adds it: left alone until complete. */
	evbuffer_add(out, head, 20);
	httpd_own_answer(&hc, out);
	evbuffer_add(out, head + 20, strlen(head) - 20);
	httpd_own_answer(&hc, out);
	evbuffer_add(out, PAGE_413, 10);
	httpd_own_answer(&hc, out);
	assert_int_equal(evbuffer_get_length(out), strlen(head) + 10);
	evbuffer_add(out, PAGE_413 + 10, strlen(PAGE_413) - 10);
	httpd_own_answer(&hc, out);
	s = out_text(out);
	assert_memory_equal(s, "HTTP/1.1 413 Payload Too Large\r\n", 32);
	assert_non_null(strstr(s, "\r\nContent-Type: application/json"));
	assert_non_null(strstr(s, "\r\nx-ms-error-code: 413001\r\n"));
	assert_non_null(strstr(s, "\r\nConnection: close\r\n"));
	assert_non_null(body = strstr(s, "\r\n\r\n"));
	assert_non_null(strstr(s, "\r\nDate: "));
	body += 4;
	assert_non_null(j = json_loads(body, 0, NULL));
	assert_int_equal(json_integer_value(json_object_get(j, "errorCode")),
	    413001);
	json_decref(j);
	snprintf(head, sizeof(head), "Content-Length: %zu\r\n", strlen(body));
	assert_non_null(strstr(s, head));
	rc_free(s);
	evbuffer_drain(out, evbuffer_get_length(out));

	/* Not an error answer, or not a complete or readable one: kept. */
	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		evbuffer_add(out, kept[i], strlen(kept[i]));
		httpd_own_answer(&hc, out);
		s = out_text(out);
		assert_string_equal(s, kept[i]);
		rc_free(s);
		evbuffer_drain(out, evbuffer_get_length(out));
	}
	/* A header block longer than any of evhttp's. */
	evbuffer_add_printf(out, "HTTP/1.1 400 Bad Request\r\nX: ");
	for (i = 0; i < 300; i++)
		evbuffer_add_printf(out, "0123456789");
	evbuffer_add_printf(out, "\r\nContent-Length: 0\r\n\r\n");
	n = evbuffer_get_length(out);
	httpd_own_answer(&hc, out);
	assert_int_equal(evbuffer_get_length(out), n);
	evbuffer_free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hosts),
	    cmocka_unit_test(test_not_found),
	    cmocka_unit_test(test_auth),
	    cmocka_unit_test(test_refusal_log),
	    cmocka_unit_test(test_router_error),
	    cmocka_unit_test(test_own_answer),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
