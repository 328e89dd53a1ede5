/*
 * The hub link client (src/dps/hublink.c) against the documented wire of
 * the hub service API (docs/api.md, reference/azure-service-api.md §1,
 * §4): a small HTTPS server thread on 127.0.0.1, with a certificate for
 * hub1.test from a test root made now, records each request (method,
 * target, headers, body) and answers from a script.  The tests check what
 * the client sent (SAS token verified with the key, If-Match, body) and
 * what it made of the answers.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "rctest.h"
#include "rollcall/ca.h"
#include "rollcall/enc.h"
#include "rollcall/hublink.h"
#include "rollcall/json.h"
#include "rollcall/mem.h"
#include "rollcall/sas.h"

#define HOST "hub1.test"
#define KEY_B64 "c2VjcmV0LWtleS1vZi10aGUtaHViLXBvbGljeS0xMjM="
#define CS                                                         \
	"HostName=" HOST ";SharedAccessKeyName=registryReadWrite;" \
	"SharedAccessKey=" KEY_B64
#define T64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define T40 "0123456789ABCDEF0123456789ABCDEF01234567"
#define MAX_SCRIPT 16

struct canned {
	int status;
	const char *body; /* NULL: none */
	const char *ctype; /* NULL: application/json */
	int hang; /* read the request, never answer */
	size_t big; /* send a body of this many bytes instead */
};

struct seen {
	char method[16];
	char target[1024];
	char headers[8192];
	char body[65536];
	size_t body_len;
};

struct srv {
	int fd;
	int port;
	SSL_CTX *ctx;
	pthread_t th;
	pthread_mutex_t mu;
	struct canned script[MAX_SCRIPT];
	size_t nscript;
	size_t next;
	struct seen seen[MAX_SCRIPT];
	size_t nseen;
	int stop;
};

static struct rc_ca *root, *other_root;
static char ca_file[600], other_ca_file[600];
static struct srv srv;

/* "METHOD TARGET HTTP/1.1" of s->headers into method and target. */
static int
request_line(struct seen *s)
{
	const char *sp1, *sp2;

	if ((sp1 = strchr(s->headers, ' ')) == NULL ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL ||
	    (size_t)(sp1 - s->headers) >= sizeof(s->method) ||
	    (size_t)(sp2 - sp1 - 1) >= sizeof(s->target))
		return -1;
	memcpy(s->method, s->headers, (size_t)(sp1 - s->headers));
	memcpy(s->target, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	return 0;
}

/* Reads one request into s; 0 on success. */
static int
read_request(SSL *ssl, struct seen *s)
{
	static char buf[sizeof(s->headers) + sizeof(s->body)];
	size_t len = 0, hlen, clen = 0;
	char *end, *cl;
	int n;

	memset(s, 0, sizeof(*s));
	for (;;) {
		buf[len] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL)
			break;
		if (len + 1 >= sizeof(s->headers) ||
		    (n = SSL_read(ssl, buf + len,
		         (int)(sizeof(s->headers) - 1 - len))) <= 0)
			return -1;
		len += (size_t)n;
	}
	hlen = (size_t)(end - buf) + 4;
	memcpy(s->headers, buf, hlen);
	if ((cl = strcasestr(s->headers, "\r\ncontent-length:")) != NULL)
		clen = strtoul(cl + 17, NULL, 10);
	if (clen >= sizeof(s->body))
		return -1;
	while (len - hlen < clen) {
		if ((n = SSL_read(ssl, buf + len,
		         (int)(clen - (len - hlen)))) <= 0)
			return -1;
		len += (size_t)n;
	}
	memcpy(s->body, buf + hlen, clen);
	s->body_len = clen;
	return request_line(s);
}

static void
write_all(SSL *ssl, const char *p, size_t n)
{
	int w;

	while (n > 0 && (w = SSL_write(ssl, p, (int)n)) > 0) {
		p += w;
		n -= (size_t)w;
	}
}

static void
answer(SSL *ssl, const struct canned *c)
{
	char head[512], *big = NULL;
	const char *body = c->body != NULL ? c->body : "";
	size_t blen = strlen(body);
	char drain[256];

	if (c->hang) {
		while (SSL_read(ssl, drain, sizeof(drain)) > 0)
			;
		return;
	}
	if (c->big > 0) {
		assert_non_null(big = malloc(c->big));
		memset(big, ' ', c->big);
		big[0] = '{';
		big[c->big - 1] = '}';
		body = big;
		blen = c->big;
	}
	snprintf(head, sizeof(head),
	    "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n",
	    c->status, c->ctype != NULL ? c->ctype : "application/json", blen);
	write_all(ssl, head, strlen(head));
	write_all(ssl, body, blen);
	free(big);
}

static void
serve_one(int cfd)
{
	struct timeval tv = {5, 0};
	struct canned c = {500, NULL, NULL, 0, 0};
	struct seen s;
	SSL *ssl;

	setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if ((ssl = SSL_new(srv.ctx)) == NULL)
		return;
	SSL_set_fd(ssl, cfd);
	if (SSL_accept(ssl) == 1 && read_request(ssl, &s) == 0) {
		pthread_mutex_lock(&srv.mu);
		if (srv.nseen < MAX_SCRIPT)
			srv.seen[srv.nseen++] = s;
		if (srv.next < srv.nscript)
			c = srv.script[srv.next++];
		pthread_mutex_unlock(&srv.mu);
		answer(ssl, &c);
		SSL_shutdown(ssl);
	}
	SSL_free(ssl);
}

static void *
serve(void *arg)
{
	struct pollfd pfd;
	int cfd, stop;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&srv.mu);
		stop = srv.stop;
		pthread_mutex_unlock(&srv.mu);
		if (stop)
			break;
		pfd.fd = srv.fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		if ((cfd = accept(srv.fd, NULL, NULL)) < 0)
			continue;
		serve_one(cfd);
		close(cfd);
	}
	return NULL;
}

static void
srv_start(void)
{
	static const char *const sans[] = {"DNS:" HOST, "IP:127.0.0.1"};
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	X509 *cert;
	EVP_PKEY *key;

	assert_int_equal(rc_ca_server_cert(root, NULL, sans, 2, RC_KEY_P256, 1,
	                     &cert, &key),
	    RC_OK);
	assert_non_null(srv.ctx = SSL_CTX_new(TLS_server_method()));
	assert_int_equal(SSL_CTX_use_certificate(srv.ctx, cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(srv.ctx, key), 1);
	X509_free(cert);
	EVP_PKEY_free(key);
	assert_true((srv.fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(srv.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(srv.fd, 16), 0);
	assert_int_equal(getsockname(srv.fd, (struct sockaddr *)&sa, &salen),
	    0);
	srv.port = ntohs(sa.sin_port);
	pthread_mutex_init(&srv.mu, NULL);
	assert_int_equal(pthread_create(&srv.th, NULL, serve, NULL), 0);
}

static void
srv_stop(void)
{
	pthread_mutex_lock(&srv.mu);
	srv.stop = 1;
	pthread_mutex_unlock(&srv.mu);
	pthread_join(srv.th, NULL);
	close(srv.fd);
	SSL_CTX_free(srv.ctx);
	pthread_mutex_destroy(&srv.mu);
}

/* Sets the answers of the next requests and forgets what was seen. */
static void
script(const struct canned *c, size_t n)
{
	assert_true(n <= MAX_SCRIPT);
	pthread_mutex_lock(&srv.mu);
	memcpy(srv.script, c, n * sizeof(*c));
	srv.nscript = n;
	srv.next = 0;
	srv.nseen = 0;
	pthread_mutex_unlock(&srv.mu);
}

static size_t
nseen(void)
{
	size_t n;

	pthread_mutex_lock(&srv.mu);
	n = srv.nseen;
	pthread_mutex_unlock(&srv.mu);
	return n;
}

/* The value of header name in s, copied into out; NULL if absent. */
static const char *
header(const struct seen *s, const char *name, char *out, size_t outsize)
{
	const char *p = s->headers, *eol, *v;
	size_t n = strlen(name);

	while ((eol = strstr(p, "\r\n")) != NULL && eol != p) {
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			v = p + n + 1;
			while (*v == ' ')
				v++;
			snprintf(out, outsize, "%.*s", (int)(eol - v), v);
			return out;
		}
		p = eol + 2;
	}
	return NULL;
}

/* Checks the request's SAS token with the policy key, for HOST. */
static void
check_auth(const struct seen *s)
{
	struct rc_sas_token tok;
	uint8_t *key = NULL;
	size_t keylen;
	char v[RC_SAS_MAX];

	assert_non_null(header(s, "Authorization", v, sizeof(v)));
	memset(&tok, 0, sizeof(tok));
	assert_int_equal(rc_sas_parse(v, strlen(v), &tok), RC_OK);
	assert_string_equal(tok.sr, HOST);
	assert_string_equal(tok.skn, "registryReadWrite");
	assert_true(tok.se <= (uint64_t)time(NULL) + RC_HUBLINK_TOKEN_TTL + 1);
	assert_int_equal(rc_b64_decode(KEY_B64, strlen(KEY_B64), 64, &key,
	                     &keylen),
	    RC_OK);
	assert_int_equal(rc_sas_verify(&tok, key, keylen, HOST, time(NULL), 0),
	    RC_OK);
	rc_free(key);
	rc_sas_token_clear(&tok);
}

/* Checks request i: method, target, If-Match (NULL: absent), auth. */
static const struct seen *
check_req(size_t i, const char *method, const char *target, const char *im)
{
	const struct seen *s;
	char v[256];

	assert_true(i < nseen());
	s = &srv.seen[i];
	assert_string_equal(s->method, method);
	assert_string_equal(s->target, target);
	assert_non_null(header(s, "Host", v, sizeof(v)));
	assert_string_equal(v, HOST);
	if (im == NULL) {
		assert_null(header(s, "If-Match", v, sizeof(v)));
	} else {
		assert_non_null(header(s, "If-Match", v, sizeof(v)));
		assert_string_equal(v, im);
	}
	if (s->body_len > 0) {
		assert_non_null(header(s, "Content-Type", v, sizeof(v)));
		assert_string_equal(v, "application/json; charset=utf-8");
	}
	check_auth(s);
	return s;
}

static json_t *
body_json(const struct seen *s)
{
	json_t *j;

	assert_non_null(j = json_loadb(s->body, s->body_len, 0, NULL));
	return j;
}

static struct rc_hublink *
link_new(void)
{
	struct rc_hublink *hl = NULL;
	char cto[64];

	snprintf(cto, sizeof(cto), "127.0.0.1:%d", srv.port);
	assert_int_equal(rc_hublink_parse(CS, cto, ca_file, &hl, NULL, 0),
	    RC_OK);
	return hl;
}

#define DEVICE_JSON(id, thumb)                                              \
	"{\"deviceId\":\"" id "\",\"generationId\":\"638000000000000001\"," \
	"\"etag\":\"NDU2\",\"connectionState\":\"Disconnected\","           \
	"\"status\":\"enabled\",\"statusReason\":null,"                     \
	"\"lastActivityTime\":\"0001-01-01T00:00:00Z\","                    \
	"\"cloudToDeviceMessageCount\":0,\"authentication\":"               \
	"{\"symmetricKey\":{\"primaryKey\":null,\"secondaryKey\":null},"    \
	"\"x509Thumbprint\":{\"primaryThumbprint\":\"" thumb "\","          \
	"\"secondaryThumbprint\":null},\"type\":\"selfSigned\"},"           \
	"\"capabilities\":{\"iotEdge\":false}}"
#define NOT_FOUND                                                           \
	"{\"Message\":\"ErrorCode:DeviceNotFound;Device dev:1 not found\"," \
	"\"ExceptionMessage\":\"Tracking ID:1-TimeStamp:x\"}"
#define TWIN_JSON(id)                                                       \
	"{\"deviceId\":\"" id "\",\"etag\":\"AAAAAAAAAAE=\",\"version\":3," \
	"\"tags\":{\"site\":\"a\"},\"properties\":{\"desired\":{\"x\":1,"   \
	"\"$version\":2},\"reported\":{\"fw\":\"1.0\",\"$version\":5}}}"

static void
parse_ok(const char *cs, const char *cto, const char *host)
{
	struct rc_hublink *hl = NULL;
	char why[256];

	assert_int_equal(rc_hublink_parse(cs, cto, NULL, &hl, why, sizeof(why)),
	    RC_OK);
	assert_string_equal(rc_hublink_get0_host(hl), host);
	assert_string_equal(why, "");
	rc_hublink_free(hl);
}

static void
parse_bad(const char *cs, const char *cto, const char *why_has)
{
	struct rc_hublink *hl = (void *)1;
	char why[256];

	assert_int_equal(rc_hublink_parse(cs, cto, NULL, &hl, why, sizeof(why)),
	    RC_EPARSE);
	assert_null(hl);
	assert_non_null(strstr(why, why_has));
	/* The key never shows in a message. */
	assert_null(strstr(why, KEY_B64));
	assert_null(strstr(why, "c2Vj"));
}

static void
test_parse(void **state)
{
	struct rc_hublink *hl = NULL;
	char cs[2048], host[300];

	(void)state;
	parse_ok(CS, NULL, HOST);
	parse_ok(CS, "127.0.0.1:8443", HOST);
	parse_ok(CS, "localhost:1", HOST);
	parse_ok(CS, "[::1]:65535", HOST);
	parse_ok("SharedAccessKey=" KEY_B64 ";HostName=h-1_b.example:8443;"
	         "SharedAccessKeyName=p;",
	    NULL, "h-1_b.example");
	parse_bad("HostName=" HOST ";SharedAccessKey=" KEY_B64, NULL,
	    "SharedAccessKeyName");
	parse_bad("HostName=" HOST ";SharedAccessKeyName=p", NULL,
	    "connection string");
	parse_bad("SharedAccessKeyName=p;SharedAccessKey=" KEY_B64, NULL,
	    "connection string");
	parse_bad("HostName=" HOST ";SharedAccessKeyName=p;SharedAccessKey=!",
	    NULL, "connection string");
	parse_bad("garbage", NULL, "connection string");
	parse_bad("", NULL, "connection string");
	parse_bad("HostName=[::1];SharedAccessKeyName=p;"
	          "SharedAccessKey=" KEY_B64,
	    NULL, "HostName");
	parse_bad("HostName=h:0;SharedAccessKeyName=p;SharedAccessKey=" KEY_B64,
	    NULL, "HostName");
	parse_bad("HostName=h:65536;SharedAccessKeyName=p;"
	          "SharedAccessKey=" KEY_B64,
	    NULL, "HostName");
	parse_bad("HostName=h:;SharedAccessKeyName=p;SharedAccessKey=" KEY_B64,
	    NULL, "HostName");
	parse_bad("HostName=:1;SharedAccessKeyName=p;SharedAccessKey=" KEY_B64,
	    NULL, "HostName");
	parse_bad(CS, "127.0.0.1", "connect-to");
	parse_bad(CS, "127.0.0.1:0", "connect-to");
	parse_bad(CS, "127.0.0.1:65536", "connect-to");
	parse_bad(CS, ":443", "connect-to");
	parse_bad(CS, "a b:443", "connect-to");
	parse_bad(CS, "[::1]", "connect-to");
	parse_bad(CS, "[zz]:1", "connect-to");
	parse_bad(CS, "[::1]:", "connect-to");
	parse_bad(CS, "h:1:2", "connect-to");
	/* A 254-byte host name is one too many. */
	memset(cs, 0, sizeof(cs));
	snprintf(cs, sizeof(cs),
	    "HostName=%0254d;SharedAccessKeyName=p;"
	    "SharedAccessKey=" KEY_B64,
	    0);
	parse_bad(cs, NULL, "HostName");
	snprintf(cs, sizeof(cs),
	    "HostName=%0253d;SharedAccessKeyName=p;"
	    "SharedAccessKey=" KEY_B64,
	    0);
	snprintf(host, sizeof(host), "%0253d", 0);
	parse_ok(cs, NULL, host);
	assert_int_equal(rc_hublink_parse(NULL, NULL, NULL, &hl, NULL, 0),
	    RC_EINVAL);
	assert_int_equal(rc_hublink_parse(CS, NULL, NULL, &hl, NULL, 0), RC_OK);
	assert_int_equal(rc_hublink_set_timeout(hl, 0), RC_EINVAL);
	assert_int_equal(rc_hublink_set_timeout(hl, 3601), RC_EINVAL);
	assert_int_equal(rc_hublink_set_timeout(hl, 3600), RC_OK);
	assert_int_equal(rc_hublink_set_timeout(hl, 1), RC_OK);
	rc_hublink_free(hl);
	rc_hublink_free(NULL);
}

static json_t *
jparse(const char *s)
{
	json_t *j;

	assert_non_null(j = json_loads(s, 0, NULL));
	return j;
}

static void
body_eq(json_t *got, const char *want)
{
	json_t *w = jparse(want);

	if (!json_equal(got, w)) {
		char *g = json_dumps(got, JSON_COMPACT);

		fprintf(stderr, "got  %s\nwant %s\n", g, want);
		rc_free(g);
		fail();
	}
	json_decref(w);
}

static json_t *
x5(json_t *dev)
{
	return json_object_get(json_object_get(dev, "authentication"),
	    "x509Thumbprint");
}

static void
test_device_body(void **state)
{
	json_t *j = (void *)1;

	(void)state;
	assert_int_equal(rc_hublink_device_body("d", T64, NULL, &j), RC_OK);
	body_eq(j,
	    "{\"deviceId\":\"d\",\"status\":\"enabled\","
	    "\"statusReason\":null,\"authentication\":{\"type\":"
	    "\"selfSigned\",\"x509Thumbprint\":{\"primaryThumbprint\":"
	    "\"" T64 "\",\"secondaryThumbprint\":null}},"
	    "\"capabilities\":{\"iotEdge\":false}}");
	json_decref(j);
	assert_int_equal(rc_hublink_device_body("d", T64, "", &j), RC_OK);
	assert_true(
	    json_is_null(json_object_get(x5(j), "secondaryThumbprint")));
	json_decref(j);
	assert_int_equal(rc_hublink_device_body("d", T64, T40, &j), RC_OK);
	assert_string_equal(json_string_value(
	                        json_object_get(x5(j), "secondaryThumbprint")),
	    T40);
	json_decref(j);
	/* 63 and 65 digits, a non-hex digit, none, an empty ID. */
	assert_int_equal(rc_hublink_device_body("d", T64 + 1, NULL, &j),
	    RC_EINVAL);
	assert_null(j);
	assert_int_equal(rc_hublink_device_body("d", T64 "0", NULL, &j),
	    RC_EINVAL);
	assert_int_equal(rc_hublink_device_body("d",
	                     "g123456789abcdef0123456789abcdef0123456789abcdef0"
	                     "123456789abcdef",
	                     NULL, &j),
	    RC_EINVAL);
	assert_int_equal(rc_hublink_device_body("d", T64, T40 "0", &j),
	    RC_EINVAL);
	assert_int_equal(rc_hublink_device_body("d", "", NULL, &j), RC_EINVAL);
	assert_int_equal(rc_hublink_device_body("d", NULL, NULL, &j),
	    RC_EINVAL);
	assert_int_equal(rc_hublink_device_body("", T64, NULL, &j), RC_EINVAL);
}

static int
device_parse_one(const char *text, struct rc_hublink_device *d)
{
	json_t *j = jparse(text);
	int rc = rc_hublink_device_parse(j, d);

	json_decref(j);
	return rc;
}

static void
test_device_parse(void **state)
{
	struct rc_hublink_device d;
	char id129[200];

	(void)state;
	assert_int_equal(device_parse_one(DEVICE_JSON("dev:1", T64), &d),
	    RC_OK);
	assert_string_equal(d.device_id, "dev:1");
	assert_string_equal(d.auth_type, "selfSigned");
	assert_string_equal(d.primary_thumb,
	    "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF");
	assert_string_equal(d.secondary_thumb, "");
	assert_string_equal(d.etag, "NDU2");
	assert_string_equal(d.generation_id, "638000000000000001");
	assert_int_equal(d.enabled, 1);
	assert_int_equal(device_parse_one("{\"deviceId\":\"x\",\"status\":"
	                                  "\"disabled\",\"etag\":"
	                                  "\"\\\"q\\\"\"}",
	                     &d),
	    RC_OK);
	assert_int_equal(d.enabled, 0);
	assert_string_equal(d.etag, "q");
	assert_string_equal(d.auth_type, "");
	/* Not a Device. */
	assert_int_equal(device_parse_one("{}", &d), RC_EPARSE);
	assert_int_equal(device_parse_one("[]", &d), RC_EPARSE);
	assert_int_equal(device_parse_one("{\"deviceId\":\"\"}", &d),
	    RC_EPARSE);
	assert_int_equal(device_parse_one("{\"deviceId\":1}", &d), RC_EPARSE);
	assert_int_equal(device_parse_one("{\"deviceId\":\"x\",\"status\":1}",
	                     &d),
	    RC_EPARSE);
	assert_int_equal(device_parse_one("{\"deviceId\":\"x\","
	                                  "\"authentication\":[]}",
	                     &d),
	    RC_EPARSE);
	assert_int_equal(device_parse_one(DEVICE_JSON("x", "0123"), &d),
	    RC_EPARSE);
	assert_int_equal(device_parse_one(DEVICE_JSON("x", T64 "0"), &d),
	    RC_EPARSE);
	assert_string_equal(d.device_id, "");
	/* 128 characters fit, 129 do not. */
	memset(id129, 'a', 129);
	snprintf(id129 + 128, sizeof(id129) - 128, "\"}");
	{
		char text[256];

		snprintf(text, sizeof(text), "{\"deviceId\":\"%s", id129);
		assert_int_equal(device_parse_one(text, &d), RC_OK);
		id129[128] = 'a';
		snprintf(id129 + 129, sizeof(id129) - 129, "\"}");
		snprintf(text, sizeof(text), "{\"deviceId\":\"%s", id129);
		assert_int_equal(device_parse_one(text, &d), RC_EPARSE);
	}
}

static void
test_import_body(void **state)
{
	json_t *t, *b = (void *)1;

	(void)state;
	t = jparse(TWIN_JSON("d"));
	assert_int_equal(rc_hublink_import_body(t, &b), RC_OK);
	body_eq(b,
	    "{\"tags\":{\"site\":\"a\"},\"properties\":{\"desired\":"
	    "{\"x\":1,\"$version\":2},\"reported\":{\"fw\":\"1.0\","
	    "\"$version\":5}}}");
	json_decref(b);
	json_decref(t);
	t = jparse("{\"properties\":{\"reported\":{\"a\":1},\"desired\":null},"
	           "\"tags\":null}");
	assert_int_equal(rc_hublink_import_body(t, &b), RC_OK);
	body_eq(b, "{\"properties\":{\"reported\":{\"a\":1}}}");
	json_decref(b);
	json_decref(t);
	t = jparse("{\"tags\":{}}");
	assert_int_equal(rc_hublink_import_body(t, &b), RC_OK);
	body_eq(b, "{\"tags\":{}}");
	json_decref(b);
	json_decref(t);
	t = jparse("{\"deviceId\":\"d\",\"properties\":{}}");
	assert_int_equal(rc_hublink_import_body(t, &b), RC_EINVAL);
	assert_null(b);
	json_decref(t);
	t = jparse("{\"properties\":[]}");
	assert_int_equal(rc_hublink_import_body(t, &b), RC_EINVAL);
	json_decref(t);
	t = jparse("{\"tags\":1}");
	assert_int_equal(rc_hublink_import_body(t, &b), RC_EINVAL);
	json_decref(t);
	t = jparse("[]");
	assert_int_equal(rc_hublink_import_body(t, &b), RC_EINVAL);
	json_decref(t);
	assert_int_equal(rc_hublink_import_body(NULL, &b), RC_EINVAL);
}

/* Every allocation of the pure parts fails in turn. */
static int
alloc_pure(void *arg)
{
	struct rc_hublink_device d;
	struct rc_hublink *hl = NULL;
	json_t *t = NULL, *b = NULL, *dev = NULL;
	int rc;

	(void)arg;
	if ((rc = rc_hublink_parse(CS, "127.0.0.1:1", ca_file, &hl, NULL, 0)) !=
	        RC_OK ||
	    (rc = rc_json_parse(TWIN_JSON("d"), strlen(TWIN_JSON("d")), 4096,
	         &t, NULL, 0)) != RC_OK ||
	    (rc = rc_hublink_import_body(t, &b)) != RC_OK ||
	    (rc = rc_hublink_device_body("d", T64, T40, &dev)) != RC_OK ||
	    (rc = rc_hublink_device_parse(dev, &d)) != RC_OK)
		goto out;
out:
	rc_hublink_free(hl);
	json_decref(t);
	json_decref(b);
	json_decref(dev);
	return rc;
}

static void
test_alloc(void **state)
{
	(void)state;
	rctest_each_alloc(alloc_pure, NULL, 1);
}

#define Q "?api-version=" RC_HUBLINK_API_VERSION

static void
test_device_get(void **state)
{
	struct canned c[] = {
	    {200, DEVICE_JSON("dev:1", T64), NULL, 0, 0},
	    {404, NOT_FOUND, NULL, 0, 0},
	};
	struct rc_hublink_status st;
	struct rc_hublink_device d;
	struct rc_hublink *hl = link_new();

	(void)state;
	script(c, 2);
	assert_int_equal(rc_hublink_device_get(hl, "dev:1", &d, &st), RC_OK);
	assert_int_equal(st.http_status, 200);
	assert_string_equal(d.device_id, "dev:1");
	assert_string_equal(d.etag, "NDU2");
	/* encodeURIComponent's form of the ID (§1.2: the SDK's). */
	check_req(0, "GET", "/devices/dev%3A1" Q, NULL);
	assert_int_equal(srv.seen[0].body_len, 0);
	assert_int_equal(rc_hublink_device_get(hl, "dev:1", &d, &st),
	    RC_ENOENT);
	assert_int_equal(st.http_status, 404);
	assert_string_equal(st.message,
	    "hub answered 404: DeviceNotFound: Device dev:1 not found");
	assert_string_equal(d.device_id, "");
	assert_int_equal(rc_hublink_device_get(hl, "", &d, NULL), RC_EINVAL);
	assert_int_equal(nseen(), 2);
	rc_hublink_free(hl);
}

static void
check_put_body(size_t i, const char *id)
{
	json_t *b = body_json(&srv.seen[i]);

	assert_string_equal(json_string_value(json_object_get(b, "deviceId")),
	    id);
	assert_string_equal(json_string_value(json_object_get(b, "status")),
	    "enabled");
	assert_string_equal(json_string_value(
	                        json_object_get(json_object_get(b,
	                                            "authentication"),
	                            "type")),
	    "selfSigned");
	json_decref(b);
}

static void
test_device_put(void **state)
{
	struct canned create[] = {{200, DEVICE_JSON("d", T64), NULL, 0, 0}};
	struct canned update[] = {
	    {409, "{\"Message\":\"ErrorCode:DeviceAlreadyExists;x\"}", NULL, 0,
	        0},
	    {200, DEVICE_JSON("d", T64), NULL, 0, 0},
	};
	struct canned race[] = {
	    {409, NULL, NULL, 0, 0},
	    {404, NOT_FOUND, NULL, 0, 0},
	    {200, DEVICE_JSON("d", T64), NULL, 0, 0},
	};
	struct canned endless[] = {
	    {409, NULL, NULL, 0, 0},
	    {404, NULL, NULL, 0, 0},
	    {409, NULL, NULL, 0, 0},
	};
	struct rc_hublink_device d;
	struct rc_hublink *hl = link_new();
	int created = -1;

	(void)state;
	script(create, 1);
	assert_int_equal(rc_hublink_device_put(hl, "d", T64, NULL, &d, &created,
	                     NULL),
	    RC_OK);
	assert_int_equal(created, 1);
	assert_string_equal(d.primary_thumb,
	    "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF");
	check_req(0, "PUT", "/devices/d" Q, NULL);
	check_put_body(0, "d");
	assert_int_equal(nseen(), 1);

	script(update, 2);
	assert_int_equal(rc_hublink_device_put(hl, "d", T64, T40, NULL,
	                     &created, NULL),
	    RC_OK);
	assert_int_equal(created, 0);
	check_req(0, "PUT", "/devices/d" Q, NULL);
	/* Registry.update's If-Match, quotes included (§4.1). */
	check_req(1, "PUT", "/devices/d" Q, "\"*\"");
	check_put_body(1, "d");
	assert_int_equal(srv.seen[0].body_len, srv.seen[1].body_len);

	script(race, 3);
	assert_int_equal(rc_hublink_device_put(hl, "d", T64, NULL, &d, &created,
	                     NULL),
	    RC_OK);
	assert_int_equal(created, 1);
	check_req(2, "PUT", "/devices/d" Q, NULL);

	script(endless, 3);
	assert_int_equal(rc_hublink_device_put(hl, "d", T64, NULL, &d, &created,
	                     NULL),
	    RC_EIO);
	assert_int_equal(created, 0);
	assert_int_equal(nseen(), 3);

	/* Refused before anything is sent. */
	script(create, 1);
	assert_int_equal(rc_hublink_device_put(hl, "d", "nothex", NULL, &d,
	                     &created, NULL),
	    RC_EINVAL);
	assert_int_equal(nseen(), 0);
	rc_hublink_free(hl);
}

static void
test_device_delete(void **state)
{
	struct canned c[] = {
	    {204, NULL, NULL, 0, 0},
	    {404, NOT_FOUND, NULL, 0, 0},
	};
	struct rc_hublink_status st;
	struct rc_hublink *hl = link_new();

	(void)state;
	script(c, 2);
	assert_int_equal(rc_hublink_device_delete(hl, "a b/c", &st), RC_OK);
	assert_int_equal(st.http_status, 204);
	check_req(0, "DELETE", "/devices/a%20b%2Fc" Q, "\"*\"");
	assert_int_equal(rc_hublink_device_delete(hl, "a b/c", &st), RC_ENOENT);
	rc_hublink_free(hl);
}

static void
test_twins(void **state)
{
	struct canned c[] = {
	    {200, TWIN_JSON("d"), NULL, 0, 0},
	    {200, TWIN_JSON("d"), NULL, 0, 0},
	    {200, TWIN_JSON("d"), NULL, 0, 0},
	    {200, TWIN_JSON("other"), NULL, 0, 0},
	};
	struct rc_hublink *hl = link_new();
	json_t *t = NULL, *tags, *desired, *b;

	(void)state;
	script(c, 4);
	assert_int_equal(rc_hublink_twin_get(hl, "d", &t, NULL), RC_OK);
	check_req(0, "GET", "/twins/d" Q, NULL);
	assert_string_equal(json_string_value(json_object_get(t, "etag")),
	    "AAAAAAAAAAE=");

	tags = jparse("{\"site\":\"b\"}");
	desired = jparse("{\"interval\":30}");
	assert_int_equal(rc_hublink_twin_patch(hl, "d", tags, desired, NULL,
	                     NULL),
	    RC_OK);
	b = body_json(check_req(1, "PATCH", "/twins/d" Q, NULL));
	body_eq(b,
	    "{\"tags\":{\"site\":\"b\"},\"properties\":{\"desired\":"
	    "{\"interval\":30}}}");
	json_decref(b);

	/* What one hub's twin_get gave, into another: the import. */
	assert_int_equal(rc_hublink_twin_import(hl, "d", t, NULL, NULL), RC_OK);
	b = body_json(check_req(2, "PUT", "/twins/d/import" Q, NULL));
	body_eq(b,
	    "{\"tags\":{\"site\":\"a\"},\"properties\":{\"desired\":"
	    "{\"x\":1,\"$version\":2},\"reported\":{\"fw\":\"1.0\","
	    "\"$version\":5}}}");
	json_decref(b);
	json_decref(t);
	t = NULL;

	/* An answer about another device is not believed. */
	assert_int_equal(rc_hublink_twin_get(hl, "d", &t, NULL), RC_EPARSE);
	assert_null(t);
	assert_int_equal(rc_hublink_twin_patch(hl, "d", NULL, NULL, NULL, NULL),
	    RC_EINVAL);
	assert_int_equal(rc_hublink_twin_patch(hl, "d", desired,
	                     json_object_get(desired, "interval"), NULL, NULL),
	    RC_EINVAL);
	assert_int_equal(rc_hublink_twin_import(hl, "d", tags, NULL, NULL),
	    RC_EINVAL);
	assert_int_equal(nseen(), 4);
	json_decref(tags);
	json_decref(desired);
	rc_hublink_free(hl);
}

static int
get_status(struct rc_hublink *hl, struct rc_hublink_status *st)
{
	struct rc_hublink_device d;

	return rc_hublink_device_get(hl, "d", &d, st);
}

static void
test_errors(void **state)
{
	struct canned c[] = {
	    {401,
	        "{\"Message\":\"ErrorCode:IotHubUnauthorizedAccess;"
	        "Unauthorized\"}",
	        NULL, 0, 0},
	    {403, NULL, NULL, 0, 0},
	    {412, NULL, NULL, 0, 0},
	    {400, "{\"Message\":\"plain\"}", NULL, 0, 0},
	    {413, NULL, NULL, 0, 0},
	    {500, "oops\x1b[2J\n", "text/plain", 0, 0},
	    {503, "[1]", NULL, 0, 0},
	    {200, "not json", NULL, 0, 0},
	    {200, "[1,2]", NULL, 0, 0},
	    {200, "{\"no\":\"deviceId\"}", NULL, 0, 0},
	    {200, NULL, NULL, 0, RC_HUBLINK_MAX_BODY + 1},
	    {200, NULL, NULL, 1, 0},
	};
	struct rc_hublink_status st;
	struct rc_hublink *hl = link_new();

	(void)state;
	script(c, sizeof(c) / sizeof(c[0]));
	assert_int_equal(get_status(hl, &st), RC_EAUTH);
	assert_string_equal(st.message,
	    "hub answered 401: IotHubUnauthorizedAccess: Unauthorized");
	assert_int_equal(get_status(hl, &st), RC_EAUTH);
	assert_string_equal(st.message, "hub answered 403");
	assert_int_equal(get_status(hl, &st), RC_ESTALE);
	assert_int_equal(get_status(hl, &st), RC_EINVAL);
	assert_string_equal(st.message, "hub answered 400: plain");
	assert_int_equal(get_status(hl, &st), RC_ETOOBIG);
	assert_int_equal(get_status(hl, &st), RC_EIO);
	/* A terminal escape in a body is defused. */
	assert_string_equal(st.message, "hub answered 500: oops?[2J?");
	assert_int_equal(get_status(hl, &st), RC_EIO);
	assert_string_equal(st.message, "hub answered 503: (no message)");
	assert_int_equal(get_status(hl, &st), RC_EPARSE);
	assert_int_equal(st.http_status, 200);
	assert_int_equal(get_status(hl, &st), RC_EPARSE);
	assert_int_equal(get_status(hl, &st), RC_EPARSE);
	assert_string_equal(st.message, "the hub's answer is not a Device");
	assert_int_equal(get_status(hl, &st), RC_ETOOBIG);
	assert_int_equal(rc_hublink_set_timeout(hl, 1), RC_OK);
	assert_int_equal(get_status(hl, &st), RC_EIO);
	assert_int_equal(st.http_status, 0);
	assert_non_null(strstr(st.message, "GET devices: "));
	rc_hublink_free(hl);
}

static void
test_tls_and_routes(void **state)
{
	struct canned c[] = {{200, DEVICE_JSON("d", T64), NULL, 0, 0}};
	struct rc_hublink_status st;
	struct rc_hublink *hl = NULL;
	char cs[512], cto[64];

	(void)state;
	snprintf(cto, sizeof(cto), "127.0.0.1:%d", srv.port);
	/* Another root: the server's certificate is refused. */
	script(c, 1);
	assert_int_equal(rc_hublink_parse(CS, cto, other_ca_file, &hl, NULL, 0),
	    RC_OK);
	assert_int_equal(get_status(hl, &st), RC_EIO);
	assert_int_equal(st.http_status, 0);
	assert_int_equal(nseen(), 0);
	rc_hublink_free(hl);
	/* No certificate for this name, even at the right address. */
	assert_int_equal(rc_hublink_parse("HostName=other.test;"
	                                  "SharedAccessKeyName=p;"
	                                  "SharedAccessKey=" KEY_B64,
	                     cto, ca_file, &hl, NULL, 0),
	    RC_OK);
	assert_int_equal(get_status(hl, &st), RC_EIO);
	assert_int_equal(nseen(), 0);
	rc_hublink_free(hl);
	/* A port in HostName and no connect-to: the URL names it. */
	snprintf(cs, sizeof(cs),
	    "HostName=127.0.0.1:%d;SharedAccessKeyName=p;SharedAccessKey="
	    "%s",
	    srv.port, KEY_B64);
	assert_int_equal(rc_hublink_parse(cs, NULL, ca_file, &hl, NULL, 0),
	    RC_OK);
	assert_string_equal(rc_hublink_get0_host(hl), "127.0.0.1");
	assert_int_equal(get_status(hl, &st), RC_OK);
	assert_int_equal(nseen(), 1);
	rc_hublink_free(hl);
}

static void
test_refused(void **state)
{
	struct rc_hublink_status st;
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	struct rc_hublink *hl = NULL;
	char cto[64];
	int fd;

	(void)state;
	/* A port that was just free: nothing listens there. */
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &salen), 0);
	close(fd);
	snprintf(cto, sizeof(cto), "127.0.0.1:%d", ntohs(sa.sin_port));
	assert_int_equal(rc_hublink_parse(CS, cto, ca_file, &hl, NULL, 0),
	    RC_OK);
	assert_int_equal(get_status(hl, &st), RC_EIO);
	assert_int_equal(st.http_status, 0);
	assert_non_null(strstr(st.message, "GET devices: "));
	rc_hublink_free(hl);
}

struct worker {
	struct rc_hublink *hl;
	int ok;
};

static void *
worker(void *arg)
{
	struct worker *w = arg;
	struct rc_hublink_device d;
	int i;

	for (i = 0; i < 4; i++)
		if (rc_hublink_device_get(w->hl, "d", &d, NULL) == RC_OK &&
		    strcmp(d.device_id, "d") == 0)
			w->ok++;
	return NULL;
}

/* One link, used by several threads at once. */
static void
test_threads(void **state)
{
	struct canned c[12];
	struct worker w[3];
	pthread_t th[3];
	struct rc_hublink *hl = link_new();
	size_t i;

	(void)state;
	for (i = 0; i < 12; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].status = 200;
		c[i].body = DEVICE_JSON("d", T64);
	}
	script(c, 12);
	for (i = 0; i < 3; i++) {
		w[i].hl = hl;
		w[i].ok = 0;
		assert_int_equal(pthread_create(&th[i], NULL, worker, &w[i]),
		    0);
	}
	for (i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].ok, 4);
	}
	assert_int_equal(nseen(), 12);
	rc_hublink_free(hl);
}

static int
setup_all(void **state)
{
	X509 *certs[1];

	(void)state;
	assert_int_equal(rc_ca_new_root("Hublink Test Root", RC_KEY_P256, 2,
	                     &root),
	    RC_OK);
	assert_int_equal(rc_ca_new_root("Other Root", RC_KEY_P256, 2,
	                     &other_root),
	    RC_OK);
	snprintf(ca_file, sizeof(ca_file), "%s",
	    rctest_path(rctest_tmpdir(), "ca.pem"));
	snprintf(other_ca_file, sizeof(other_ca_file), "%s",
	    rctest_path(rctest_tmpdir(), "other.pem"));
	certs[0] = root->cert;
	assert_int_equal(rc_ca_write_pem(ca_file, certs, 1, 1), RC_OK);
	certs[0] = other_root->cert;
	assert_int_equal(rc_ca_write_pem(other_ca_file, certs, 1, 1), RC_OK);
	srv_start();
	return 0;
}

static int
teardown_all(void **state)
{
	(void)state;
	srv_stop();
	rc_ca_free(root);
	rc_ca_free(other_root);
	rctest_rmtree(rctest_tmpdir());
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_device_body),
	    cmocka_unit_test(test_device_parse),
	    cmocka_unit_test(test_import_body),
	    cmocka_unit_test(test_alloc),
	    cmocka_unit_test(test_device_get),
	    cmocka_unit_test(test_device_put),
	    cmocka_unit_test(test_device_delete),
	    cmocka_unit_test(test_twins),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_tls_and_routes),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_threads),
	};

	/* The server thread writes to peers that may have hung up. */
	signal(SIGPIPE, SIG_IGN);
	rc_json_init();
	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
