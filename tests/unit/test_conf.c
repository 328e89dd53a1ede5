/* Unit tests for the table-driven config parser (conf.h). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rctest.h"
#include "rollcall/conf.h"
#include "rollcall/mem.h"

struct cfg {
	char *listen;
	long long https_port;
	long long mqtt_port;
	struct rc_strlist roles;
	char *data_dir;
	char *tls_cert;
	struct rc_strlist hub_key;
	int log_level;
	struct rc_strlist hubs;
	int verbose;
	long long max_body;
	long long timeout;
	char *password;
	long long pin;
	char *motd;
};

static const char *const levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const role_names[] = {"dps", "hub", "ca", NULL};

#define OFF(f) offsetof(struct cfg, f)

static const struct rc_conf_opt table[] = {
    {.name = "listen",
        .type = RC_CONF_STRING,
        .offset = OFF(listen),
        .def = "127.0.0.1",
        .help = "address to listen on"},
    {.name = "https-port",
        .type = RC_CONF_INT,
        .offset = OFF(https_port),
        .min = 1,
        .max = 65535,
        .def = "443",
        .help = "HTTPS port"},
    {.name = "mqtt-port",
        .type = RC_CONF_INT,
        .offset = OFF(mqtt_port),
        .min = 1,
        .max = 65535,
        .def = "8883",
        .help = "MQTT port"},
    {.name = "roles",
        .type = RC_CONF_LIST,
        .offset = OFF(roles),
        .def = "dps hub ca",
        .choices = role_names,
        .help = "roles to run"},
    {.name = "data-dir",
        .type = RC_CONF_PATH,
        .offset = OFF(data_dir),
        .def = "/var/lib/rollcall",
        .help = "state directory"},
    {.name = "tls-cert",
        .type = RC_CONF_PATH,
        .offset = OFF(tls_cert),
        .flags = RC_CONF_REQUIRED,
        .help = "server certificate"},
    {.name = "hub-key",
        .type = RC_CONF_LIST,
        .offset = OFF(hub_key),
        .min = 2,
        .max = 2,
        .flags = RC_CONF_SECRET | RC_CONF_REPEAT,
        .help = "hub policy name and key"},
    {.name = "log-level",
        .type = RC_CONF_ENUM,
        .offset = OFF(log_level),
        .def = "info",
        .choices = levels,
        .help = "log detail"},
    {.name = "hub",
        .type = RC_CONF_LIST,
        .offset = OFF(hubs),
        .min = 1,
        .max = 1,
        .flags = RC_CONF_REPEAT,
        .help = "a hub to serve"},
    {.name = "verbose",
        .type = RC_CONF_BOOL,
        .offset = OFF(verbose),
        .def = "no",
        .flags = RC_CONF_REPEAT},
    {.name = "max-body",
        .type = RC_CONF_SIZE,
        .offset = OFF(max_body),
        .min = 1,
        .max = 1LL << 30,
        .def = "1m",
        .help = "body cap"},
    {.name = "timeout",
        .type = RC_CONF_DURATION,
        .offset = OFF(timeout),
        .min = 1,
        .max = 7 * 86400,
        .def = "30s"},
    {.name = "password",
        .type = RC_CONF_STRING,
        .offset = OFF(password),
        .flags = RC_CONF_SECRET},
    {.name = "pin",
        .type = RC_CONF_INT,
        .offset = OFF(pin),
        .max = 9999,
        .flags = RC_CONF_SECRET},
    {.name = "motd", .type = RC_CONF_STRING, .offset = OFF(motd)},
    {.name = NULL},
};

#define CERT "tls-cert /etc/c.pem\n"

static int
parse(struct cfg *c, const char *text, size_t len, char *err, size_t errlen)
{
	int rc;

	memset(c, 0, sizeof(*c));
	rc = rc_conf_defaults(table, c);
	assert_int_equal(rc, RC_OK);
	return rc_conf_parse(table, c, text, len, "t.conf", err, errlen);
}

static void
parse_ok(struct cfg *c, const char *text)
{
	char err[512];
	int rc;

	rc = parse(c, text, strlen(text), err, sizeof(err));
	if (rc != RC_OK)
		fail_msg("%s: %s", rc_errname(rc), err);
}

/* The input fails with code rc and exactly the message msg. */
static void
expect(const char *text, size_t len, int rc, const char *msg)
{
	char err[512];
	struct cfg c;

	assert_int_equal(parse(&c, text, len, err, sizeof(err)), rc);
	assert_string_equal(err, msg);
	rc_conf_free(table, &c);
}

static void
expect_s(const char *text, int rc, const char *msg)
{
	expect(text, strlen(text), rc, msg);
}

static void
assert_list(const struct rc_strlist *l, size_t n, const char *const *want)
{
	size_t i;

	assert_int_equal(l->n, n);
	for (i = 0; i < n; i++)
		assert_string_equal(l->v[i], want[i]);
}

static void
test_full_file(void **state)
{
	static const char text[] =
	    "# rollcalld.conf\r\n"
	    "\r\n"
	    "  listen\t0.0.0.0   \r\n"
	    "https-port 8443 # a comment\n"
	    "MQTT-PORT 1883\n"
	    "roles hub CA\n"
	    "data-dir \"/srv/roll call\"\n"
	    "tls-cert /etc/server.pem\n"
	    "hub-key iothubowner \"c2VjcmV0\"\n"
	    "hub-key service c2VydmljZQ==\n"
	    "log-level DEBUG\n"
	    "hub myhub\n"
	    "\thub   otherhub\n"
	    "verbose on\n"
	    "max-body 2k\n"
	    "timeout 5m\n"
	    "password \"p#ss word\"\n"
	    "pin 1234\n"
	    "motd a#b\n"
	    "   # trailing comment, no newline at the end";
	static const char *const roles[] = {"hub", "ca"};
	static const char *const keys[] = {"iothubowner", "c2VjcmV0", "service",
	    "c2VydmljZQ=="};
	static const char *const hubs[] = {"myhub", "otherhub"};
	struct cfg c;

	(void)state;
	parse_ok(&c, text);
	assert_string_equal(c.listen, "0.0.0.0");
	assert_int_equal(c.https_port, 8443);
	assert_int_equal(c.mqtt_port, 1883);
	assert_list(&c.roles, 2, roles);
	assert_string_equal(c.data_dir, "/srv/roll call");
	assert_string_equal(c.tls_cert, "/etc/server.pem");
	assert_list(&c.hub_key, 4, keys);
	assert_int_equal(c.log_level, 3);
	assert_list(&c.hubs, 2, hubs);
	assert_int_equal(c.verbose, 1);
	assert_int_equal(c.max_body, 2048);
	assert_int_equal(c.timeout, 300);
	assert_string_equal(c.password, "p#ss word");
	assert_int_equal(c.pin, 1234);
	assert_string_equal(c.motd, "a#b");
	rc_conf_free(table, &c);
}

static void
test_defaults(void **state)
{
	static const char *const roles[] = {"dps", "hub", "ca"};
	struct cfg c, zero;

	(void)state;
	parse_ok(&c, CERT);
	assert_string_equal(c.listen, "127.0.0.1");
	assert_int_equal(c.https_port, 443);
	assert_int_equal(c.mqtt_port, 8883);
	assert_list(&c.roles, 3, roles);
	assert_string_equal(c.data_dir, "/var/lib/rollcall");
	assert_int_equal(c.hub_key.n, 0);
	assert_int_equal(c.log_level, 2);
	assert_int_equal(c.hubs.n, 0);
	assert_int_equal(c.verbose, 0);
	assert_int_equal(c.max_body, 1 << 20);
	assert_int_equal(c.timeout, 30);
	assert_null(c.password);
	assert_null(c.motd);
	/* Defaults again over a used struct: frees, then resets. */
	assert_int_equal(rc_conf_defaults(table, &c), RC_OK);
	assert_null(c.tls_cert);
	rc_conf_free(table, &c);
	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(&c, &zero, sizeof(c));
}

static void
test_unknown_keyword(void **state)
{
	char line[128], want[128];

	(void)state;
	expect_s(CERT "http-port 80\n", RC_EPARSE,
	    "t.conf:2: unknown keyword 'http-port' (did you mean "
	    "'https-port'?)");
	expect_s(CERT "hubs x\n", RC_EPARSE,
	    "t.conf:2: unknown keyword 'hubs' (did you mean 'hub'?)");
	expect_s(CERT "bogus 1\n", RC_EPARSE,
	    "t.conf:2: unknown keyword 'bogus'");
	/* A long keyword is cut to 64 bytes in the message. */
	memset(line, 'a', 100);
	memcpy(line + 100, " 1\n", 4);
	memset(want, 0, sizeof(want));
	memcpy(want, "t.conf:1: unknown keyword '", 27);
	memset(want + 27, 'a', 64);
	want[27 + 64] = '\'';
	expect_s(line, RC_EPARSE, want);
}

static void
test_word_counts(void **state)
{
	(void)state;
	expect_s(CERT "https-port\n", RC_EPARSE,
	    "t.conf:2: 'https-port' needs a value");
	expect_s(CERT "https-port   # nothing\n", RC_EPARSE,
	    "t.conf:2: 'https-port' needs a value");
	expect_s(CERT "https-port 1 2\n", RC_EPARSE,
	    "t.conf:2: 'https-port' takes one value, not 2 (quote a value "
	    "with blanks)");
	expect_s(CERT "listen a b c\n", RC_EPARSE,
	    "t.conf:2: 'listen' takes one value, not 3 (quote a value with "
	    "blanks)");
	expect_s(CERT "roles\n", RC_EPARSE, "t.conf:2: 'roles' needs a value");
	expect_s(CERT "hub-key onlyname\n", RC_EPARSE,
	    "t.conf:2: 'hub-key' takes 2 values, not 1");
	expect_s(CERT "hub-key a b c\n", RC_EPARSE,
	    "t.conf:2: 'hub-key' takes 2 values, not 3");
	expect_s(CERT "hub a b\n", RC_EPARSE,
	    "t.conf:2: 'hub' takes 1 value, not 2");
}

static void
test_int_bounds(void **state)
{
	struct cfg c;

	(void)state;
	parse_ok(&c, CERT "https-port 1\nmqtt-port 65535\n");
	assert_int_equal(c.https_port, 1);
	assert_int_equal(c.mqtt_port, 65535);
	rc_conf_free(table, &c);
	expect_s(CERT "https-port 0\n", RC_ERANGE,
	    "t.conf:2: 'https-port' must be in 1..65535");
	expect_s(CERT "https-port 65536\n", RC_ERANGE,
	    "t.conf:2: 'https-port' must be in 1..65535");
	expect_s(CERT "https-port -1\n", RC_ERANGE,
	    "t.conf:2: 'https-port' must be in 1..65535");
	expect_s(CERT "https-port 99999999999999999999999\n", RC_ERANGE,
	    "t.conf:2: 'https-port' must be in 1..65535");
	expect_s(CERT "https-port abc\n", RC_EPARSE,
	    "t.conf:2: 'https-port': 'abc' is not an integer");
	expect_s(CERT "https-port +80\n", RC_EPARSE,
	    "t.conf:2: 'https-port': '+80' is not an integer");
	expect_s(CERT "https-port 0x50\n", RC_EPARSE,
	    "t.conf:2: 'https-port': '0x50' is not an integer");
	expect_s(CERT "https-port 80k\n", RC_EPARSE,
	    "t.conf:2: 'https-port': '80k' is not an integer");
	expect_s(CERT "https-port \"\"\n", RC_EPARSE,
	    "t.conf:2: 'https-port': '' is not an integer");
}

static void
test_sizes(void **state)
{
	static const struct {
		const char *text;
		long long want;
	} ok[] = {{"1", 1}, {"512", 512}, {"2k", 2048}, {"2K", 2048},
	    {"3m", 3 << 20}, {"1g", 1LL << 30}, {"1024m", 1LL << 30},
	    {"0001k", 1024}};
	char text[128];
	size_t i;
	struct cfg c;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), CERT "max-body %s\n", ok[i].text);
		parse_ok(&c, text);
		assert_int_equal(c.max_body, ok[i].want);
		rc_conf_free(table, &c);
	}
	expect_s(CERT "max-body 0\n", RC_ERANGE,
	    "t.conf:2: 'max-body' must be in 1..1073741824 bytes");
	expect_s(CERT "max-body 1025m\n", RC_ERANGE,
	    "t.conf:2: 'max-body' must be in 1..1073741824 bytes");
	expect_s(CERT "max-body 1073741825\n", RC_ERANGE,
	    "t.conf:2: 'max-body' must be in 1..1073741824 bytes");
	/* Overflow of the multiplication and of the number itself. */
	expect_s(CERT "max-body 9223372036854775807k\n", RC_ERANGE,
	    "t.conf:2: 'max-body' must be in 1..1073741824 bytes");
	expect_s(CERT "max-body 9007199254740992g\n", RC_ERANGE,
	    "t.conf:2: 'max-body' must be in 1..1073741824 bytes");
	expect_s(CERT "max-body 99999999999999999999\n", RC_ERANGE,
	    "t.conf:2: 'max-body' must be in 1..1073741824 bytes");
	expect_s(CERT "max-body 1x\n", RC_EPARSE,
	    "t.conf:2: 'max-body': '1x' is not a size (a number, then k, m "
	    "or g)");
	expect_s(CERT "max-body k\n", RC_EPARSE,
	    "t.conf:2: 'max-body': 'k' is not a size (a number, then k, m "
	    "or g)");
	expect_s(CERT "max-body 1kb\n", RC_EPARSE,
	    "t.conf:2: 'max-body': '1kb' is not a size (a number, then k, m "
	    "or g)");
	expect_s(CERT "max-body 1s\n", RC_EPARSE,
	    "t.conf:2: 'max-body': '1s' is not a size (a number, then k, m "
	    "or g)");
}

static void
test_durations(void **state)
{
	static const struct {
		const char *text;
		long long want;
	} ok[] = {{"45", 45}, {"45s", 45}, {"5m", 300}, {"5M", 300},
	    {"2h", 7200}, {"1d", 86400}, {"7d", 7 * 86400}};
	char text[128];
	size_t i;
	struct cfg c;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), CERT "timeout %s\n", ok[i].text);
		parse_ok(&c, text);
		assert_int_equal(c.timeout, ok[i].want);
		rc_conf_free(table, &c);
	}
	expect_s(CERT "timeout 0s\n", RC_ERANGE,
	    "t.conf:2: 'timeout' must be in 1..604800 seconds");
	expect_s(CERT "timeout 604801\n", RC_ERANGE,
	    "t.conf:2: 'timeout' must be in 1..604800 seconds");
	expect_s(CERT "timeout 8d\n", RC_ERANGE,
	    "t.conf:2: 'timeout' must be in 1..604800 seconds");
	expect_s(CERT "timeout 9223372036854775807d\n", RC_ERANGE,
	    "t.conf:2: 'timeout' must be in 1..604800 seconds");
	expect_s(CERT "timeout 5w\n", RC_EPARSE,
	    "t.conf:2: 'timeout': '5w' is not a duration (a number, then s, "
	    "m, h or d)");
	expect_s(CERT "timeout 1h30m\n", RC_EPARSE,
	    "t.conf:2: 'timeout': '1h30m' is not a duration (a number, then "
	    "s, m, h or d)");
}

static void
test_bools(void **state)
{
	static const struct {
		const char *text;
		int want;
	} ok[] = {{"yes", 1}, {"no", 0}, {"true", 1}, {"false", 0}, {"on", 1},
	    {"off", 0}, {"YES", 1}, {"Off", 0}};
	char text[128];
	size_t i;
	struct cfg c;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), CERT "verbose %s\n", ok[i].text);
		parse_ok(&c, text);
		assert_int_equal(c.verbose, ok[i].want);
		rc_conf_free(table, &c);
	}
	expect_s(CERT "verbose maybe\n", RC_EPARSE,
	    "t.conf:2: 'verbose': 'maybe' is not yes, no, true, false, on or "
	    "off");
	expect_s(CERT "verbose 1\n", RC_EPARSE,
	    "t.conf:2: 'verbose': '1' is not yes, no, true, false, on or off");
	/* A repeatable scalar: the last line wins. */
	parse_ok(&c, CERT "verbose yes\nverbose no\n");
	assert_int_equal(c.verbose, 0);
	rc_conf_free(table, &c);
}

static void
test_choices(void **state)
{
	static const char *const roles[] = {"ca", "dps"};
	struct cfg c;

	(void)state;
	parse_ok(&c, CERT "log-level Warn\nroles CA dps\n");
	assert_int_equal(c.log_level, 1);
	assert_list(&c.roles, 2, roles); /* canonical spelling kept */
	rc_conf_free(table, &c);
	expect_s(CERT "log-level loud\n", RC_EPARSE,
	    "t.conf:2: 'log-level': 'loud' is not one of: error warn info "
	    "debug");
	expect_s(CERT "log-level \"\"\n", RC_EPARSE,
	    "t.conf:2: 'log-level': '' is not one of: error warn info debug");
	expect_s(CERT "roles dps cloud\n", RC_EPARSE,
	    "t.conf:2: 'roles': 'cloud' is not one of: dps hub ca");
}

static void
test_duplicates_and_required(void **state)
{
	(void)state;
	expect_s(CERT "https-port 1\n\nhttps-port 2\n", RC_EPARSE,
	    "t.conf:4: 'https-port' already set on line 2");
	expect_s(CERT "roles dps\nroles hub\n", RC_EPARSE,
	    "t.conf:3: 'roles' already set on line 2");
	expect_s(CERT CERT, RC_EPARSE,
	    "t.conf:2: 'tls-cert' already set on line 1");
	expect_s("", RC_EPARSE, "t.conf: missing required 'tls-cert'");
	expect_s("listen ::1\n# tls-cert /x\n", RC_EPARSE,
	    "t.conf: missing required 'tls-cert'");
	expect_s(CERT "data-dir \"\"\n", RC_EPARSE,
	    "t.conf:2: 'data-dir' must not be empty");
}

static void
test_repeat_lists(void **state)
{
	static const char *const hubs[] = {"a", "b", "c"};
	static const char *const keys[] = {"n1", "k1", "n2", "k2"};
	struct cfg c;

	(void)state;
	parse_ok(&c,
	    "hub a\n" CERT "hub b\nhub c\nhub-key n1 k1\n"
	    "hub-key n2 k2\n");
	assert_list(&c.hubs, 3, hubs);
	assert_list(&c.hub_key, 4, keys);
	/* A second parse over the same struct starts the lists afresh. */
	assert_int_equal(rc_conf_parse(table, &c, CERT "hub z\n",
	                     strlen(CERT "hub z\n"), "u.conf", NULL, 0),
	    RC_OK);
	assert_int_equal(c.hubs.n, 1);
	assert_string_equal(c.hubs.v[0], "z");
	assert_int_equal(c.hub_key.n, 4);
	rc_conf_free(table, &c);
}

static void
test_quoting(void **state)
{
	static const struct {
		const char *line, *want;
	} ok[] = {
	    {"motd \"a b # c\"", "a b # c"},
	    {"motd \"q\\\"uote\\\\\"", "q\"uote\\"},
	    {"motd \"\"", ""},
	    {"motd a#b", "a#b"},
	    {"motd x # comment", "x"},
	    {"motd \"x\" #y", "x"},
	    {"motd back\\slash", "back\\slash"},
	    {"motd \"tab\there\"", "tab\there"},
	    {"motd \xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9"},
	    {"\"motd\" kw-quoted", "kw-quoted"},
	};
	char text[256];
	size_t i;
	struct cfg c;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), CERT "%s\n", ok[i].line);
		parse_ok(&c, text);
		assert_string_equal(c.motd, ok[i].want);
		rc_conf_free(table, &c);
	}
	expect_s(CERT "motd \"abc\n", RC_EPARSE,
	    "t.conf:2: unterminated quote");
	expect_s(CERT "motd \"abc\\\"\n", RC_EPARSE,
	    "t.conf:2: unterminated quote");
	expect_s(CERT "motd \"abc\\", RC_EPARSE,
	    "t.conf:2: unterminated quote");
	expect_s(CERT "motd \"a\\nb\"\n", RC_EPARSE,
	    "t.conf:2: bad escape '\\n' (only \\\" and \\\\ are escapes)");
	expect_s(CERT "motd \"a\"b\n", RC_EPARSE,
	    "t.conf:2: text after closing quote");
	expect_s(CERT "motd \"a\"#b\n", RC_EPARSE,
	    "t.conf:2: text after closing quote");
	expect_s(CERT "motd a\"b\"\n", RC_EPARSE,
	    "t.conf:2: quote inside a word (quote the whole word)");
}

static void
test_bytes(void **state)
{
	static const char nul[] = CERT "motd a\0b\n";

	(void)state;
	expect(nul, sizeof(nul) - 1, RC_EPARSE, "t.conf:2: NUL byte");
	expect_s(CERT "motd a\x01"
	              "b\n",
	    RC_EPARSE, "t.conf:2: control character 0x01");
	expect_s(CERT "motd a\rb\n", RC_EPARSE,
	    "t.conf:2: control character 0x0d");
	expect_s(CERT "motd ab\r\r\n", RC_EPARSE,
	    "t.conf:2: control character 0x0d");
	expect_s(CERT "motd a\x7f\n", RC_EPARSE,
	    "t.conf:2: control character 0x7f");
	expect_s(CERT "# \x1b[31m in a comment too\n", RC_EPARSE,
	    "t.conf:2: control character 0x1b");
}

/* A line of exactly n bytes setting motd, then the line ending. */
static char *
long_line(size_t n, const char *eol, size_t *len)
{
	size_t pre = strlen(CERT "motd "), total;
	char *s;

	total = pre + (n - 5) + strlen(eol);
	s = rc_malloc(total + 1);
	assert_non_null(s);
	memcpy(s, CERT "motd ", pre);
	memset(s + pre, 'a', n - 5);
	memcpy(s + pre + n - 5, eol, strlen(eol) + 1);
	*len = total;
	return s;
}

static void
test_line_cap(void **state)
{
	char err[512];
	struct cfg c;
	size_t len;
	char *s;

	(void)state;
	s = long_line(RC_CONF_MAX_LINE, "\r\n", &len);
	assert_int_equal(parse(&c, s, len, err, sizeof(err)), RC_OK);
	assert_int_equal(strlen(c.motd), RC_CONF_MAX_LINE - 5);
	rc_conf_free(table, &c);
	rc_free(s);
	s = long_line(RC_CONF_MAX_LINE + 1, "", &len);
	expect(s, len, RC_ETOOBIG, "t.conf:2: line longer than 4096 bytes");
	rc_free(s);
	s = long_line(RC_CONF_MAX_LINE + 1, "\n", &len);
	expect(s, len, RC_ETOOBIG, "t.conf:2: line longer than 4096 bytes");
	rc_free(s);
}

static void
test_file_cap(void **state)
{
	size_t len = RC_CONF_MAX_FILE + 1, i;
	char err[512];
	struct cfg c;
	char *s;

	(void)state;
	s = rc_malloc(len);
	assert_non_null(s);
	/* Comment lines up to exactly the cap, the required line first. */
	memset(s, '#', len);
	memcpy(s, CERT, strlen(CERT));
	for (i = 1000; i < len; i += 1000)
		s[i] = '\n';
	s[RC_CONF_MAX_FILE - 1] = '\n';
	assert_int_equal(parse(&c, s, RC_CONF_MAX_FILE, err, sizeof(err)),
	    RC_OK);
	rc_conf_free(table, &c);
	expect(s, len, RC_ETOOBIG, "t.conf: larger than 1048576 bytes");
	rc_free(s);
}

static void
test_secret_messages(void **state)
{
	(void)state;
	expect_s(CERT "pin 12345\n", RC_ERANGE,
	    "t.conf:2: 'pin' must be in 0..9999");
	expect_s(CERT "pin s3cr3t\n", RC_EPARSE,
	    "t.conf:2: 'pin': value is not an integer");
}

/* Parses text, dumps it, parses the dump: every non-secret field agrees. */
static void
test_dump_round_trip(void **state)
{
	static const char text[] =
	    "listen \"::1 x\"\nhttps-port 8443\nroles ca\n"
	    "data-dir \"/a \\\"b\\\" \\\\c\"\n" CERT
	    "hub-key owner SECRETKEY\nlog-level warn\nhub h1\nhub \"#h2\"\n"
	    "verbose yes\nmax-body 3m\ntimeout 90\npassword hunter2\n"
	    "pin 4321\nmotd \"\"\n";
	struct cfg a, b;
	char err[512], *out = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	parse_ok(&a, text);
	assert_non_null(f = open_memstream(&out, &len));
	assert_int_equal(rc_conf_dump(table, &a, f), RC_OK);
	fclose(f);
	assert_null(strstr(out, "SECRETKEY"));
	assert_null(strstr(out, "hunter2"));
	assert_null(strstr(out, "4321"));
	assert_non_null(strstr(out, "# hub-key <redacted>\n"));
	assert_non_null(strstr(out, "# password <redacted>\n"));
	assert_non_null(strstr(out, "max-body 3m\n"));
	assert_non_null(strstr(out, "timeout 90\n"));
	assert_non_null(strstr(out, "hub \"#h2\"\n"));
	assert_int_equal(parse(&b, out, len, err, sizeof(err)), RC_OK);
	assert_string_equal(a.listen, b.listen);
	assert_int_equal(a.https_port, b.https_port);
	assert_int_equal(a.mqtt_port, b.mqtt_port);
	assert_list(&b.roles, a.roles.n, (const char *const *)a.roles.v);
	assert_string_equal(a.data_dir, b.data_dir);
	assert_string_equal(a.tls_cert, b.tls_cert);
	assert_int_equal(a.log_level, b.log_level);
	assert_list(&b.hubs, a.hubs.n, (const char *const *)a.hubs.v);
	assert_int_equal(a.verbose, b.verbose);
	assert_int_equal(a.max_body, b.max_body);
	assert_int_equal(a.timeout, b.timeout);
	assert_string_equal(a.motd, b.motd);
	/* Secrets were not written, so they are back at their defaults. */
	assert_int_equal(b.hub_key.n, 0);
	assert_null(b.password);
	assert_int_equal(b.pin, 0);
	free(out);
	rc_conf_free(table, &a);
	rc_conf_free(table, &b);
}

static void
test_dump_unset_and_bad(void **state)
{
	char *out = NULL;
	size_t len = 0;
	struct cfg c;
	FILE *f;

	(void)state;
	parse_ok(&c, CERT);
	assert_non_null(f = open_memstream(&out, &len));
	assert_int_equal(rc_conf_dump(table, &c, f), RC_OK);
	fclose(f);
	assert_non_null(strstr(out, "# hub (not set)\n"));
	assert_non_null(strstr(out, "# motd (not set)\n"));
	assert_non_null(strstr(out, "roles dps hub ca\n"));
	assert_non_null(strstr(out, "log-level info\n"));
	free(out);
	/* Values a program set that no config file can hold. */
	c.log_level = 9;
	c.motd = rc_strdup("two\nlines");
	assert_non_null(f = open_memstream(&out, &len));
	assert_int_equal(rc_conf_dump(table, &c, f), RC_EINVAL);
	fclose(f);
	assert_non_null(strstr(out, "# log-level <invalid>\n"));
	assert_non_null(strstr(out, "# motd <unrepresentable>\n"));
	free(out);
	rc_conf_free(table, &c);
}

static void
test_doc(void **state)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_non_null(f = open_memstream(&out, &len));
	assert_int_equal(rc_conf_doc(table, f), RC_OK);
	fclose(f);
	assert_non_null(strstr(out,
	    "listen <string> (default 127.0.0.1): "
	    "address to listen on\n"));
	assert_non_null(strstr(out,
	    "https-port <integer 1..65535> (default "
	    "443): HTTPS port\n"));
	assert_non_null(strstr(out,
	    "roles {dps|hub|ca}... (default dps hub "
	    "ca): roles to run\n"));
	assert_non_null(strstr(out,
	    "tls-cert <path> [required]: server "
	    "certificate\n"));
	assert_non_null(strstr(out,
	    "hub-key <word> <word> [repeatable, "
	    "secret]: hub policy name and key\n"));
	assert_non_null(strstr(out,
	    "log-level error|warn|info|debug "
	    "(default info): log detail\n"));
	assert_non_null(strstr(out,
	    "verbose yes|no (default no) "
	    "[repeatable]\n"));
	assert_non_null(strstr(out,
	    "max-body <size 1..1073741824> (default "
	    "1m): body cap\n"));
	assert_non_null(strstr(out,
	    "timeout <duration 1..604800> (default "
	    "30s)\n"));
	assert_non_null(strstr(out, "pin <integer 0..9999> [secret]\n"));
	free(out);
}

static void
test_bad_tables(void **state)
{
	static const struct rc_conf_opt no_choices[] =
	    {{.name = "x", .type = RC_CONF_ENUM, .offset = 0}, {.name = NULL}};
	static const struct rc_conf_opt bad_range[] =
	    {{.name = "x", .type = RC_CONF_INT, .min = 5, .max = 1},
	        {.name = NULL}};
	static const struct rc_conf_opt bad_def[] =
	    {{.name = "x", .type = RC_CONF_INT, .max = 10, .def = "11"},
	        {.name = NULL}};
	long long buf[4] = {0};
	char err[512];

	(void)state;
	assert_int_equal(rc_conf_defaults(no_choices, buf), RC_EINVAL);
	assert_int_equal(rc_conf_parse(no_choices, buf, "", 0, "t.conf", err,
	                     sizeof(err)),
	    RC_EINVAL);
	assert_string_equal(err, "t.conf: bad config table entry 'x'");
	assert_int_equal(rc_conf_defaults(bad_range, buf), RC_EINVAL);
	assert_int_equal(rc_conf_defaults(bad_def, buf), RC_EINVAL);
	assert_int_equal(rc_conf_defaults(NULL, buf), RC_EINVAL);
	assert_int_equal(rc_conf_doc(no_choices, stdout), RC_EINVAL);
	assert_int_equal(rc_conf_parse(table, buf, NULL, 1, "t.conf", err,
	                     sizeof(err)),
	    RC_EINVAL);
}

static void
write_conf(const char *path, const char *text, mode_t mode)
{
	rctest_write_file(path, text, strlen(text));
	assert_int_equal(chmod(path, mode), 0);
}

static void
test_load(void **state)
{
	const char *dir = rctest_tmpdir(), *path, *plain, *big;
	char err[1024], want[1024];
	size_t len;
	struct cfg c;
	char *s;

	(void)state;
	path = rctest_path(dir, "secret.conf");
	plain = rctest_path(dir, "plain.conf");
	big = rctest_path(dir, "big.conf");
	write_conf(path, CERT "hub-key owner K\n", 0600);
	memset(&c, 0, sizeof(c));
	assert_int_equal(rc_conf_defaults(table, &c), RC_OK);
	assert_int_equal(rc_conf_load(table, &c, path, err, sizeof(err)),
	    RC_OK);
	assert_int_equal(c.hub_key.n, 2);
	assert_int_equal(rc_conf_check_perms(path, err, sizeof(err)), RC_OK);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(rc_conf_load(table, &c, path, err, sizeof(err)),
	    RC_EAUTH);
	snprintf(want, sizeof(want),
	    "%s: mode 0640 lets group or others read or write a file of "
	    "secrets (chmod 600 it)",
	    path);
	assert_string_equal(err, want);
	assert_int_equal(rc_conf_check_perms(path, err, sizeof(err)), RC_EAUTH);
	assert_int_equal(chmod(path, 0602), 0);
	assert_int_equal(rc_conf_load(table, &c, path, err, sizeof(err)),
	    RC_EAUTH);
	rc_conf_free(table, &c);

	/* No secret in the file: any mode will do. */
	write_conf(plain, CERT "hub h\n", 0644);
	assert_int_equal(rc_conf_load(table, &c, plain, err, sizeof(err)),
	    RC_OK);
	rc_conf_free(table, &c);

	/* A parse error names the file. */
	write_conf(plain, CERT "nope\n", 0644);
	assert_int_equal(rc_conf_load(table, &c, plain, err, sizeof(err)),
	    RC_EPARSE);
	snprintf(want, sizeof(want), "%s:2: unknown keyword 'nope'", plain);
	assert_string_equal(err, want);
	rc_conf_free(table, &c);

	assert_int_equal(rc_conf_load(table, &c, dir, err, sizeof(err)),
	    RC_EIO);
	snprintf(want, sizeof(want), "%s: not a regular file", dir);
	assert_string_equal(err, want);
	assert_int_equal(rc_conf_load(table, &c, rctest_path(dir, "none"), err,
	                     sizeof(err)),
	    RC_EIO);
	assert_non_null(strstr(err, "No such file or directory"));
	assert_int_equal(rc_conf_check_perms(rctest_path(dir, "none"), err,
	                     sizeof(err)),
	    RC_EIO);

	len = RC_CONF_MAX_FILE + 1;
	s = rc_malloc(len);
	assert_non_null(s);
	memset(s, '\n', len);
	rctest_write_file(big, s, len);
	rc_free(s);
	assert_int_equal(rc_conf_load(table, &c, big, err, sizeof(err)),
	    RC_ETOOBIG);
	snprintf(want, sizeof(want), "%s: larger than 1048576 bytes", big);
	assert_string_equal(err, want);
	rc_conf_free(table, &c);
}

static const char alloc_text[] =
    "listen \"0.0.0.0\"\nroles hub ca\n" CERT "hub-key a b\nhub-key c d\n"
    "hub x\nhub y\nlog-level debug\nmotd \"m o t d\"\npassword p\n";

static int
alloc_parse(void *arg)
{
	struct cfg c;
	int rc;

	(void)arg;
	memset(&c, 0, sizeof(c));
	if ((rc = rc_conf_defaults(table, &c)) == RC_OK)
		rc = rc_conf_parse(table, &c, alloc_text, strlen(alloc_text),
		    "t.conf", NULL, 0);
	rc_conf_free(table, &c);
	return rc;
}

static int
alloc_load(void *arg)
{
	struct cfg c;
	int rc;

	memset(&c, 0, sizeof(c));
	if ((rc = rc_conf_defaults(table, &c)) == RC_OK)
		rc = rc_conf_load(table, &c, arg, NULL, 0);
	rc_conf_free(table, &c);
	return rc;
}

static void
test_each_alloc(void **state)
{
	const char *dir = rctest_tmpdir(), *path;

	(void)state;
	rctest_each_alloc(alloc_parse, NULL, 1);
	path = rctest_path(dir, "alloc.conf");
	write_conf(path, alloc_text, 0600);
	rctest_each_alloc(alloc_load, (void *)path, 1);
}

static int
teardown(void **state)
{
	(void)state;
	rctest_rmtree(rctest_tmpdir());
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_file),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_unknown_keyword),
	    cmocka_unit_test(test_word_counts),
	    cmocka_unit_test(test_int_bounds),
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_bools),
	    cmocka_unit_test(test_choices),
	    cmocka_unit_test(test_duplicates_and_required),
	    cmocka_unit_test(test_repeat_lists),
	    cmocka_unit_test(test_quoting),
	    cmocka_unit_test(test_bytes),
	    cmocka_unit_test(test_line_cap),
	    cmocka_unit_test(test_file_cap),
	    cmocka_unit_test(test_secret_messages),
	    cmocka_unit_test(test_dump_round_trip),
	    cmocka_unit_test(test_dump_unset_and_bad),
	    cmocka_unit_test(test_doc),
	    cmocka_unit_test(test_bad_tables),
	    cmocka_unit_test(test_load),
	    cmocka_unit_test(test_each_alloc),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
