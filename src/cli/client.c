/*
 * The CLI's HTTPS client of the service APIs (see client.h).
 *
 * What comes back from the server is untrusted: bodies are capped at
 * CLIENT_MAX_BODY while they arrive, header lines are read through rc_buf
 * and kept only when printable, JSON goes through the json module's strict
 * parser, and any server text printed to a terminal has its control
 * characters replaced (an error message must not be able to move the
 * cursor or forge a second line).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "cli.h"
#include "client.h"
#include "rollcall/buf.h"
#include "rollcall/enc.h"
#include "rollcall/json.h"
#include "rollcall/mem.h"
#include "rollcall/sas.h"
#include "rollcall/x509.h"

#define CLIENT_TOKEN_TTL 3600
#define CLIENT_CONNECT_TIMEOUT 10
/* Longest header value kept (ETag, continuation token). */
#define CLIENT_MAX_HDR 4096
/* Pages followed at most by one query: a loop guard, not a quota. */
#define CLIENT_MAX_PAGES 100000

struct client {
	CURL *curl;
	char *base;
	char *sr;
	char *key_name;
	uint8_t *key;
	size_t keylen;
	char *cafile;
	long timeout;
	char errbuf[CURL_ERROR_SIZE];
};

int
client_opt(struct client_opts *o, const char *usage, int c, const char *arg)
{
	long long v;

	switch (c) {
	case CLIENT_OPT_CONNSTR:
		o->connstr = arg;
		return 1;
	case CLIENT_OPT_DATA:
		o->data = arg;
		return 1;
	case CLIENT_OPT_HUB:
		o->hub = arg;
		return 1;
	case CLIENT_OPT_CACERT:
		o->cacert = arg;
		return 1;
	case CLIENT_OPT_JSON:
		o->json = 1;
		return 1;
	case CLIENT_OPT_TIMEOUT:
		if (rc_strtonum(arg, 1, 3600, &v) != RC_OK)
			return cli_usage(usage,
			    "--timeout: '%s' is not a number of seconds "
			    "between 1 and 3600",
			    arg);
		o->timeout = (long)v;
		return 1;
	default:
		return 0;
	}
}

static int
check_operands(const struct client_args *a, int argc, char **argv,
    const char **operands)
{
	int i, n = argc - optind;

	if (n > a->noperands)
		return cli_usage(a->usage, "unexpected argument '%s'",
		    argv[optind + a->noperands]);
	if (n < a->noperands)
		return cli_usage(a->usage, "%s is missing", a->names[n]);
	for (i = 0; i < n; i++)
		operands[i] = argv[optind + i];
	return CLI_OK;
}

int
client_getopt(const struct client_args *a, int argc, char **argv,
    struct client_opts *co, const char **operands, int *help)
{
	struct option longopts[CLIENT_NLONGOPTS + CLIENT_MAX_EXTRA + 2] = {
	    CLIENT_LONGOPTS};
	static const struct option hubopt = {"hub", required_argument, NULL,
	    CLIENT_OPT_HUB};
	size_t n = CLIENT_NLONGOPTS, i;
	int c, ret;

	memset(co, 0, sizeof(*co));
	*help = 0;
	co->hub_mode = a->hub;
	if (a->hub)
		longopts[n++] = hubopt;
	for (i = 0; a->extra != NULL && a->extra[i].name != NULL &&
	     i < CLIENT_MAX_EXTRA;
	     i++)
		longopts[n++] = a->extra[i];
	while ((c = getopt_long(argc, argv,
	            a->shortopts != NULL ? a->shortopts : "h", longopts,
	            NULL)) != -1) {
		if (c == 'h') {
			*help = 1;
			printf("usage: %s\n", a->usage);
			return CLI_OK;
		}
		if ((ret = client_opt(co, a->usage, c, optarg)) == 1)
			continue;
		if (ret != 0)
			return ret;
		if (a->fn == NULL || c == '?' || c == ':')
			return cli_usage(a->usage, NULL);
		if ((ret = a->fn(a->arg, a->usage, c, optarg)) != CLI_OK)
			return ret;
	}
	return check_operands(a, argc, argv, operands);
}

/* The port after "host:" or "]:"; 0 when there is none. */
static int
split_port(const char *s, size_t *hostlen, long *port)
{
	const char *colon;
	long long v;

	*port = 0;
	*hostlen = strlen(s);
	if (s[0] == '[') {
		if ((colon = strchr(s, ']')) == NULL)
			return RC_EPARSE;
		*hostlen = (size_t)(colon - s) + 1;
		if (colon[1] == '\0')
			return RC_OK;
		if (colon[1] != ':')
			return RC_EPARSE;
		colon++;
	} else if ((colon = strchr(s, ':')) == NULL ||
	    strchr(colon + 1, ':') != NULL) {
		/* No colon, or a bare IPv6 address: no port. */
		return RC_OK;
	}
	*hostlen = (size_t)(colon - s);
	if (rc_strtonum(colon + 1, 1, 65535, &v) != RC_OK)
		return RC_EPARSE;
	*port = (long)v;
	return RC_OK;
}

/* A DNS name or IPv4 literal, or an IPv6 literal (which has colons). */
static int
valid_host(const char *h, size_t n)
{
	unsigned char addr[16];
	char v6[INET6_ADDRSTRLEN];
	size_t i;

	if (n == 0 || n > 253)
		return 0;
	if (memchr(h, ':', n) != NULL) {
		if (n >= sizeof(v6))
			return 0;
		memcpy(v6, h, n);
		v6[n] = '\0';
		return inet_pton(AF_INET6, v6, addr) == 1;
	}
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)h[i]) &&
		    strchr(".-_", h[i]) == NULL)
			return 0;
	return 1;
}

int
client_base_url(const char *hostname, long default_port, char **base, char **sr)
{
	const char *h = hostname;
	char portstr[8] = "";
	size_t n;
	long port;
	int v6, rc;

	*base = NULL;
	*sr = NULL;
	if ((rc = split_port(hostname, &n, &port)) != RC_OK)
		return rc;
	if (h[0] == '[') {
		h++;
		n -= 2;
	}
	if (!valid_host(h, n))
		return RC_EPARSE;
	if (port == 0)
		port = default_port;
	if (port < 1 || port > 65535)
		return RC_EPARSE;
	/* 443 stays implicit, so the Host header is what the SDKs send. */
	if (port != 443)
		snprintf(portstr, sizeof(portstr), ":%ld", port);
	v6 = memchr(h, ':', n) != NULL;
	/*
	 * An IPv6 literal is signed as the Host header carries it (RFC 9110
	 * §7.2, RFC 3986 §3.2.2: in brackets), so the server can match it.
	 */
	*sr = v6 ? rc_malloc(n + 3) : rc_strndup(h, n);
	if (*sr == NULL)
		return RC_ENOMEM;
	if (v6)
		snprintf(*sr, n + 3, "[%.*s]", (int)n, h);
	if ((*base = rc_malloc(n + 32)) == NULL) {
		rc_free(*sr);
		*sr = NULL;
		return RC_ENOMEM;
	}
	snprintf(*base, n + 32, "https://%s%.*s%s%s", v6 ? "[" : "", (int)n, h,
	    v6 ? "]" : "", portstr);
	return RC_OK;
}

/*
 * The service entry of connections.json: "dps", or the hubs[] entry named
 * hub (NULL: the first).  Borrowed from root; NULL if none.
 */
static json_t *
service_entry(json_t *root, int hub_mode, const char *hub)
{
	json_t *h;
	size_t i;

	if (!hub_mode)
		return json_object_get(root, "dps");
	json_array_foreach(json_object_get(root, "hubs"), i, h)
	{
		const char *name =
		    json_string_value(json_object_get(h, "name"));

		if (hub == NULL || (name != NULL && strcasecmp(name, hub) == 0))
			return h;
	}
	return NULL;
}

static int
parse_connections(const char *text, size_t len, int hub_mode, const char *hub,
    char **connstr, long *port, char **trust)
{
	json_t *root = NULL, *dps, *svc;
	const char *cs, *tb;
	json_int_t p = -1;
	int rc;

	*connstr = NULL;
	*port = 0;
	*trust = NULL;
	if ((rc = rc_json_parse(text, len, CLI_MAX_FILE, &root, NULL, 0)) !=
	    RC_OK)
		goto out;
	rc = RC_EPARSE;
	dps = json_object_get(root, "dps");
	if ((svc = service_entry(root, hub_mode, hub)) == NULL ||
	    (cs = json_string_value(
	         json_object_get(svc, "connectionString"))) == NULL)
		goto out;
	if (json_object_get(dps, "httpsPort") != NULL &&
	    (!json_is_integer(json_object_get(dps, "httpsPort")) ||
	        (p = json_integer_value(json_object_get(dps, "httpsPort"))) <
	            0 ||
	        p > 65535))
		goto out;
	tb = json_string_value(json_object_get(root, "trustBundle"));
	rc = RC_ENOMEM;
	if ((*connstr = rc_strdup(cs)) == NULL ||
	    (tb != NULL && (*trust = rc_strdup(tb)) == NULL)) {
		rc_free(*connstr);
		*connstr = NULL;
		goto out;
	}
	*port = (long)p;
	rc = RC_OK;
out:
	json_decref(root);
	return rc;
}

int
client_parse_connections(const char *text, size_t len, char **connstr,
    long *port, char **trust)
{
	return parse_connections(text, len, 0, NULL, connstr, port, trust);
}

int
client_parse_hub_connections(const char *text, size_t len, const char *hub,
    char **connstr, long *port, char **trust)
{
	return parse_connections(text, len, 1, hub, connstr, port, trust);
}

const char *
client_reason(long status)
{
	static const struct {
		long status;
		const char *reason;
	} reasons[] = {
	    {200, "OK"},
	    {201, "Created"},
	    {204, "No Content"},
	    {400, "Bad Request"},
	    {401, "Unauthorized"},
	    {403, "Forbidden"},
	    {404, "Not Found"},
	    {405, "Method Not Allowed"},
	    {408, "Request Timeout"},
	    {409, "Conflict"},
	    {411, "Length Required"},
	    {412, "Precondition Failed"},
	    {413, "Content Too Large"},
	    {415, "Unsupported Media Type"},
	    {429, "Too Many Requests"},
	    {500, "Internal Server Error"},
	    {501, "Not Implemented"},
	    {502, "Bad Gateway"},
	    {503, "Service Unavailable"},
	    {504, "Gateway Timeout"},
	};
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return "";
}

/*
 * The message a body carries: DPS {"message": ...}, hub {"Message":
 * "ErrorCode:X;text"} (azure-service-api.md §1.3, §2.1), else the body
 * itself when it is short text.  Borrowed from root or body; NULL if none.
 */
static const char *
body_message(json_t *root, const char *body, size_t len, size_t *mlen)
{
	const char *m, *semi;

	if ((m = json_string_value(json_object_get(root, "message"))) == NULL &&
	    (m = json_string_value(json_object_get(root, "Message"))) != NULL &&
	    strncmp(m, "ErrorCode:", 10) == 0 &&
	    (semi = strchr(m, ';')) != NULL && semi[1] != '\0')
		m = semi + 1;
	if (m != NULL) {
		*mlen = strlen(m);
		return m;
	}
	if (root != NULL || len == 0 || len > 512 || body[0] == '<')
		return NULL;
	*mlen = len;
	return body;
}

void
client_error_line(long status, const char *body, size_t len, char *out,
    size_t outsize)
{
	const char *reason = client_reason(status), *m;
	json_t *root = NULL;
	size_t mlen = 0, i, at;
	int n;

	if (outsize == 0)
		return;
	if (body != NULL && len > 0 &&
	    rc_json_parse(body, len, len, &root, NULL, 0) != RC_OK)
		root = NULL;
	n = snprintf(out, outsize, "%ld%s%s", status, *reason ? " " : "",
	    reason);
	if (n < 0 || (size_t)n >= outsize || body == NULL ||
	    (m = body_message(root, body, len, &mlen)) == NULL)
		goto out;
	at = (size_t)n;
	for (i = 0; i < mlen && m[i] != '\0' && at + 3 < outsize; i++) {
		if (i == 0) {
			out[at++] = ':';
			out[at++] = ' ';
		}
		out[at++] =
		    (unsigned char)m[i] < 0x20 || m[i] == 0x7f ? '?' : m[i];
	}
	/* Trailing newlines of a text body turned into '?': drop them. */
	while (at > (size_t)n && out[at - 1] == '?' && i > 0 &&
	    (m[i - 1] == '\n' || m[i - 1] == '\r')) {
		at--;
		i--;
	}
	out[at] = '\0';
out:
	json_decref(root);
}

void
print_clean(FILE *f, const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

static void
key_clear(struct client *cl)
{
	rc_free_secret(cl->key, cl->keylen);
	cl->key = NULL;
	cl->keylen = 0;
}

void
client_free(struct client *cl)
{
	if (cl == NULL)
		return;
	if (cl->curl != NULL) {
		curl_easy_cleanup(cl->curl);
		curl_global_cleanup();
	}
	key_clear(cl);
	rc_free(cl->base);
	rc_free(cl->sr);
	rc_free(cl->key_name);
	rc_free(cl->cafile);
	rc_free(cl);
}

/* Reads DIR/connections.json; prints what is wrong. */
static int
read_data_dir(const struct client_opts *o, char **connstr, long *port,
    char **trust)
{
	const char *dir = o->data;
	char path[4096];
	uint8_t *text = NULL;
	size_t len;
	int rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/connections.json", dir) >=
	    sizeof(path))
		return cli_fail("--data: path too long");
	if ((rc = cli_read_file(path, &text, &len)) != RC_OK)
		return cli_fail("%s: %s", path, rc_strerror(rc));
	rc = parse_connections((const char *)text, len, o->hub_mode, o->hub,
	    connstr, port, trust);
	/* It holds every policy's key. */
	rc_free_secret(text, len);
	if (rc != RC_OK && o->hub_mode)
		return cli_fail("%s: no connection string of hub '%s' in it "
		                "(%s)",
		    path, o->hub != NULL ? o->hub : "(the first)",
		    rc_strerror(rc));
	if (rc != RC_OK)
		return cli_fail("%s: no dps.connectionString in it (%s)", path,
		    rc_strerror(rc));
	return CLI_OK;
}

/* Fills cl from the connection string; prints what is wrong. */
static int
use_connstr(struct client *cl, const char *cs, long port)
{
	struct rc_connstr c;
	int rc, ret = CLI_FAIL;

	memset(&c, 0, sizeof(c));
	if ((rc = rc_connstr_parse(cs, strlen(cs), &c)) != RC_OK) {
		/* Never echo it: it holds the key. */
		cli_fail("the connection string does not parse (%s); it "
		         "looks like HostName=HOST[:PORT];"
		         "SharedAccessKeyName=NAME;SharedAccessKey=BASE64",
		    rc_strerror(rc));
		goto out;
	}
	if (c.key_name == NULL) {
		cli_fail("the connection string has no SharedAccessKeyName");
		goto out;
	}
	if ((rc = client_base_url(c.host, port, &cl->base, &cl->sr)) != RC_OK) {
		if (port == 0)
			cli_fail("the data directory's https-port is 0 (any "
			         "free port): give the port the server "
			         "printed in --connection-string "
			         "HostName=%s:PORT;...",
			    c.host);
		else
			cli_fail("HostName '%s' is not HOST or HOST:PORT (%s)",
			    c.host, rc_strerror(rc));
		goto out;
	}
	if ((cl->key_name = rc_strdup(c.key_name)) == NULL ||
	    rc_connstr_get1_key(&c, &cl->key, &cl->keylen) != RC_OK) {
		cli_fail("out of memory");
		goto out;
	}
	ret = CLI_OK;
out:
	rc_connstr_clear(&c);
	return ret;
}

/* Picks the connection string and trust bundle (client.h's order). */
static int
resolve(struct client *cl, const struct client_opts *o)
{
	char *data_cs = NULL, *trust = NULL;
	const char *cs = o->connstr;
	const char *env =
	    o->hub_mode ? CLIENT_ENV_HUB_CONNSTR : CLIENT_ENV_CONNSTR;
	long port = -1;
	int ret;

	if (o->data != NULL &&
	    (ret = read_data_dir(o, &data_cs, &port, &trust)) != CLI_OK)
		goto out;
	if (cs == NULL)
		cs = data_cs;
	if (cs == NULL)
		cs = getenv(env);
	if (cs == NULL || *cs == '\0') {
		ret = cli_fail("no service to talk to: give "
		               "--connection-string CS or --data DIR, or set "
		               "%s",
		    env);
		goto out;
	}
	if ((ret = use_connstr(cl, cs, port < 0 ? 443 : port)) != CLI_OK)
		goto out;
	if (o->cacert != NULL && (cl->cafile = rc_strdup(o->cacert)) == NULL) {
		ret = cli_fail("out of memory");
		goto out;
	}
	if (o->cacert == NULL && trust != NULL) {
		cl->cafile = trust;
		trust = NULL;
	}
	ret = CLI_OK;
out:
	if (data_cs != NULL)
		rc_free_secret(data_cs, strlen(data_cs));
	rc_free(trust);
	return ret;
}

int
client_open(const struct client_opts *o, struct client **out)
{
	struct client *cl;
	int ret;

	*out = NULL;
	if ((cl = rc_calloc(1, sizeof(*cl))) == NULL)
		return cli_fail("out of memory");
	cl->timeout = o->timeout > 0 ? o->timeout : CLIENT_TIMEOUT;
	if ((ret = resolve(cl, o)) != CLI_OK)
		goto out;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		ret = cli_fail("libcurl does not initialize");
		goto out;
	}
	if ((cl->curl = curl_easy_init()) == NULL) {
		curl_global_cleanup();
		ret = cli_fail("libcurl does not initialize");
		goto out;
	}
	*out = cl;
	return CLI_OK;
out:
	client_free(cl);
	return ret;
}

void
client_resp_clear(struct client_resp *r)
{
	rc_free(r->body);
	json_decref(r->json);
	rc_free(r->etag);
	rc_free(r->continuation);
	memset(r, 0, sizeof(*r));
}

struct sink {
	struct rc_wbuf body;
	int too_big;
	char *etag;
	char *continuation;
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;

	if (rc_wbuf_append(&s->body, p, size * n) != RC_OK) {
		s->too_big = 1;
		return 0;
	}
	return size * n;
}

/* A header value worth keeping: printable, bounded, trimmed. */
static char *
header_value(struct rc_buf *b)
{
	const uint8_t *v = rc_buf_cur(b);
	size_t n = rc_buf_remaining(b), i;

	while (n > 0 &&
	    (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' ||
	        v[n - 1] == '\t'))
		n--;
	while (n > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	if (n == 0 || n > CLIENT_MAX_HDR)
		return NULL;
	for (i = 0; i < n; i++)
		if (v[i] < 0x20 || v[i] >= 0x7f)
			return NULL;
	return rc_strndup((const char *)v, n);
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	const uint8_t *name;
	struct rc_buf b;
	size_t nlen;
	char **slot = NULL;

	rc_buf_init(&b, p, size * n);
	if (rc_buf_get0_until(&b, ':', &name, &nlen) != RC_OK)
		return size * n;
	if (nlen == 4 && strncasecmp((const char *)name, "etag", 4) == 0)
		slot = &s->etag;
	else if (nlen == 17 &&
	    strncasecmp((const char *)name, "x-ms-continuation", 17) == 0)
		slot = &s->continuation;
	if (slot != NULL) {
		rc_free(*slot);
		*slot = header_value(&b);
	}
	return size * n;
}

static int
add_header(struct curl_slist **list, const char *name, const char *value)
{
	struct curl_slist *l;
	struct rc_wbuf w;
	char *line = NULL;
	int rc;

	rc_wbuf_init(&w, RC_SAS_MAX + 256);
	if ((rc = rc_wbuf_printf(&w, "%s: %s", name, value)) != RC_OK ||
	    (rc = rc_wbuf_detach(&w, &line, NULL)) != RC_OK)
		goto out;
	if ((l = curl_slist_append(*list, line)) == NULL) {
		rc = RC_ENOMEM;
		goto out;
	}
	*list = l;
out:
	rc_wbuf_free(&w);
	rc_free(line);
	return rc;
}

/* Authorization (a fresh token), Accept, Content-Type, If-Match, extras. */
static int
request_headers(struct client *cl, int has_body, const char *if_match,
    const char *const *extra, struct curl_slist **out)
{
	struct curl_slist *l = NULL;
	char *token = NULL;
	size_t i;
	int rc;

	*out = NULL;
	if ((rc = rc_sas_token_new(cl->sr, cl->key_name, cl->key, cl->keylen,
	         (uint64_t)time(NULL) + CLIENT_TOKEN_TTL, &token)) != RC_OK ||
	    (rc = add_header(&l, "Authorization", token)) != RC_OK ||
	    (rc = add_header(&l, "Accept", "application/json")) != RC_OK ||
	    (rc = add_header(&l, "Expect", "")) != RC_OK)
		goto out;
	if (has_body &&
	    (rc = add_header(&l, "Content-Type",
	         "application/json; charset=utf-8")) != RC_OK)
		goto out;
	if (if_match != NULL &&
	    (rc = add_header(&l, "If-Match", if_match)) != RC_OK)
		goto out;
	for (i = 0; extra != NULL && extra[i] != NULL; i++)
		if ((l = curl_slist_append(l, extra[i])) == NULL) {
			rc = RC_ENOMEM;
			goto out;
		}
	*out = l;
	l = NULL;
out:
	curl_slist_free_all(l);
	rc_free(token);
	return rc;
}

static void
setup(struct client *cl, const char *method, const char *url,
    struct curl_slist *hdrs, const char *body, size_t len, struct sink *s)
{
	CURL *c = cl->curl;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cl->cafile != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, cl->cafile);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
	    cl->timeout < CLIENT_CONNECT_TIMEOUT ? cl->timeout
	                                         : CLIENT_CONNECT_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, cl->timeout);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cl->errbuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "rollcall/" RC_VERSION);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "GET") != 0 && strcmp(method, "DELETE") != 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, s);
}

/* Moves what arrived into out and parses a JSON body. */
static int
collect(struct client *cl, struct sink *s, struct client_resp *out)
{
	const char *ctype = NULL;
	char why[128];
	int rc;

	curl_easy_getinfo(cl->curl, CURLINFO_RESPONSE_CODE, &out->status);
	curl_easy_getinfo(cl->curl, CURLINFO_CONTENT_TYPE, &ctype);
	if ((rc = rc_wbuf_detach(&s->body, &out->body, &out->len)) != RC_OK)
		return cli_fail("out of memory");
	out->etag = s->etag;
	out->continuation = s->continuation;
	s->etag = s->continuation = NULL;
	if (out->len == 0 || ctype == NULL ||
	    strcasestr(ctype, "application/json") == NULL)
		return CLI_OK;
	if ((rc = rc_json_parse(out->body, out->len, CLIENT_MAX_BODY,
	         &out->json, why, sizeof(why))) != RC_OK &&
	    out->status >= 200 && out->status < 300)
		return cli_fail("the server answered %ld with malformed JSON "
		                "(%s)",
		    out->status, why);
	return CLI_OK;
}

int
client_call(struct client *cl, const char *method, const char *path,
    json_t *body, const char *if_match, const char *const *headers,
    struct client_resp *out)
{
	struct curl_slist *hdrs = NULL;
	char *url = NULL, *text = NULL;
	struct sink s;
	size_t len = 0;
	CURLcode cc;
	int rc, ret = CLI_FAIL;

	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	rc_wbuf_init(&s.body, CLIENT_MAX_BODY);
	cl->errbuf[0] = '\0';
	if ((url = rc_malloc(strlen(cl->base) + strlen(path) + 1)) == NULL ||
	    (body != NULL && rc_json_dump(body, 0, &text, &len) != RC_OK) ||
	    (rc = request_headers(cl, body != NULL, if_match, headers,
	         &hdrs)) != RC_OK) {
		cli_fail("cannot build the request");
		goto out;
	}
	memcpy(url, cl->base, strlen(cl->base));
	memcpy(url + strlen(cl->base), path, strlen(path) + 1);
	setup(cl, method, url, hdrs, text, len, &s);
	if ((cc = curl_easy_perform(cl->curl)) != CURLE_OK) {
		if (s.too_big)
			cli_fail("%s %s: the response is larger than %d bytes",
			    method, path, CLIENT_MAX_BODY);
		else
			cli_fail("%s: %s%s", cl->base,
			    cl->errbuf[0] ? cl->errbuf : curl_easy_strerror(cc),
			    cc == CURLE_PEER_FAILED_VERIFICATION
			        ? " (--cacert FILE or --data DIR names the "
			          "trust bundle)"
			        : "");
		goto out;
	}
	if ((ret = collect(cl, &s, out)) != CLI_OK)
		client_resp_clear(out);
out:
	curl_slist_free_all(hdrs);
	rc_free(url);
	rc_free(text);
	rc_free(s.etag);
	rc_free(s.continuation);
	rc_wbuf_free(&s.body);
	return ret;
}

int
client_ok(const struct client_resp *r)
{
	char line[512];

	if (r->status >= 200 && r->status < 300)
		return CLI_OK;
	client_error_line(r->status, r->body, r->len, line, sizeof(line));
	return cli_fail("%s", line);
}

int
client_path(char **out, const char *prefix, const char *id, const char *suffix)
{
	struct rc_wbuf w;
	char *enc = NULL;
	int rc;

	*out = NULL;
	rc_wbuf_init(&w, 8192);
	if ((rc = rc_sas_urlencode(id, strlen(id), &enc)) != RC_OK ||
	    (rc = rc_wbuf_printf(&w, "%s%s%s", prefix, enc, suffix)) != RC_OK ||
	    (rc = rc_wbuf_detach(&w, out, NULL)) != RC_OK)
		goto out;
out:
	rc_free(enc);
	rc_wbuf_free(&w);
	return rc;
}

/* Appends up to room (0: all) items of page to all; adds the count to *got. */
static int
take_page(json_t *all, json_t *page, size_t room, size_t *got)
{
	size_t i, n = json_array_size(page);

	if (room != 0 && n > room)
		n = room;
	for (i = 0; i < n; i++)
		if (json_array_append(all, json_array_get(page, i)) != 0)
			return cli_fail("out of memory");
	*got += n;
	return CLI_OK;
}

static int
query_page(struct client *cl, const char *path, const char *query, size_t want,
    const char *cont, struct client_resp *r)
{
	char count[64], contline[CLIENT_MAX_HDR + 32];
	const char *hdrs[3] = {count, NULL, NULL};
	json_t *q;
	int ret;

	snprintf(count, sizeof(count), "x-ms-max-item-count: %zu", want);
	if (cont != NULL) {
		snprintf(contline, sizeof(contline), "x-ms-continuation: %s",
		    cont);
		hdrs[1] = contline;
	}
	if ((q = json_pack("{s:s}", "query", query)) == NULL)
		return cli_fail("out of memory");
	ret = client_call(cl, "POST", path, q, NULL, hdrs, r);
	json_decref(q);
	if (ret != CLI_OK || (ret = client_ok(r)) != CLI_OK)
		return ret;
	if (!json_is_array(r->json))
		return cli_fail("POST %s: the server did not answer with a "
		                "JSON array",
		    path);
	return CLI_OK;
}

int
client_query_all(struct client *cl, const char *path, size_t max, json_t **out)
{
	return client_query(cl, path, "*", max, out);
}

int
client_query(struct client *cl, const char *path, const char *query, size_t max,
    json_t **out)
{
	struct client_resp r;
	json_t *all;
	char *cont = NULL;
	size_t got = 0, want, pages;
	int ret = CLI_FAIL;

	*out = NULL;
	memset(&r, 0, sizeof(r));
	if ((all = json_array()) == NULL)
		return cli_fail("out of memory");
	for (pages = 0; pages < CLIENT_MAX_PAGES; pages++) {
		want = max != 0 && max - got < CLIENT_PAGE ? max - got
		                                           : CLIENT_PAGE;
		if ((ret = query_page(cl, path, query, want, cont, &r)) !=
		    CLI_OK)
			goto out;
		if ((ret = take_page(all, r.json, max == 0 ? 0 : max - got,
		         &got)) != CLI_OK)
			goto out;
		rc_free(cont);
		cont = r.continuation;
		r.continuation = NULL;
		/* An empty page that promises more would loop forever. */
		if (cont == NULL || (max != 0 && got >= max) ||
		    json_array_size(r.json) == 0)
			break;
		client_resp_clear(&r);
	}
	*out = all;
	all = NULL;
	ret = CLI_OK;
out:
	client_resp_clear(&r);
	rc_free(cont);
	json_decref(all);
	return ret;
}

int
client_cert_json(const char *path, json_t **out)
{
	uint8_t *data = NULL;
	char *pem = NULL;
	X509 *x = NULL;
	size_t len;
	int rc, ret = CLI_FAIL;

	*out = NULL;
	if ((rc = cli_read_file(path, &data, &len)) != RC_OK) {
		cli_fail("%s: %s", path, rc_strerror(rc));
		goto out;
	}
	if ((rc = rc_x509_parse(data, len, &x)) != RC_OK) {
		cli_fail("%s: not one certificate (PEM or DER): %s", path,
		    rc_strerror(rc));
		goto out;
	}
	if ((rc = rc_x509_to_pem(x, &pem, NULL)) != RC_OK ||
	    (*out = json_pack("{s:s}", "certificate", pem)) == NULL) {
		cli_fail("%s: %s", path, rc_strerror(rc));
		goto out;
	}
	ret = CLI_OK;
out:
	rc_free(data);
	rc_free(pem);
	X509_free(x);
	return ret;
}

int
client_print_json(json_t *j)
{
	char *text = NULL;
	size_t len;
	int ret = CLI_OK;

	if (rc_json_dump(j, 1, &text, &len) != RC_OK)
		return cli_fail("out of memory");
	if (fwrite(text, 1, len, stdout) != len || fputc('\n', stdout) == EOF)
		ret = cli_fail("cannot write the JSON output");
	rc_free(text);
	return ret;
}
