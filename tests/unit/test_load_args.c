/* Unit tests for rollcall-load's command line (src/load/args.c). */
#include <arpa/inet.h>
#include <string.h>

#include "load.h"
#include "rctest.h"

#define ARGV(...) ((char *[]){"rollcall-load", __VA_ARGS__, NULL})

static int
argc_of(char **v)
{
	int n = 0;

	while (v[n] != NULL)
		n++;
	return n;
}

static int
parse(int argc, char **argv, struct load_args *a, char *why)
{
	return load_args_parse(argc, argv, a, why, 256);
}

static void
test_counts(void **state)
{
	long v;

	(void)state;
	assert_int_equal(load_parse_count("10000", 1, 1000000, &v), RC_OK);
	assert_int_equal(v, 10000);
	assert_int_equal(load_parse_count("10k", 1, 1000000, &v), RC_OK);
	assert_int_equal(v, 10000);
	assert_int_equal(load_parse_count("1m", 1, 1000000, &v), RC_OK);
	assert_int_equal(v, 1000000);
	assert_int_equal(load_parse_count("1000001", 1, 1000000, &v),
	    RC_ERANGE);
	assert_int_equal(v, 0);
	assert_int_equal(load_parse_count("2m", 1, 1000000, &v), RC_ERANGE);
	assert_int_equal(load_parse_count("0", 1, 10, &v), RC_ERANGE);
	assert_int_equal(load_parse_count("", 1, 10, &v), RC_EPARSE);
	assert_int_equal(load_parse_count("k", 1, 10, &v), RC_EPARSE);
	assert_int_equal(load_parse_count("-5", 0, 10, &v), RC_EPARSE);
	assert_int_equal(load_parse_count("5x", 0, 10, &v), RC_EPARSE);
	assert_int_equal(load_parse_count(" 5", 0, 10, &v), RC_EPARSE);
	assert_int_equal(load_parse_count("99999999999999999999999", 0, 10, &v),
	    RC_EPARSE);
}

static void
test_durations(void **state)
{
	long v;

	(void)state;
	assert_int_equal(load_parse_ms("250ms", 0, 100000, &v), RC_OK);
	assert_int_equal(v, 250);
	assert_int_equal(load_parse_ms("30s", 0, 100000, &v), RC_OK);
	assert_int_equal(v, 30000);
	assert_int_equal(load_parse_ms("1m", 0, 100000, &v), RC_OK);
	assert_int_equal(v, 60000);
	assert_int_equal(load_parse_ms("1500", 0, 100000, &v), RC_OK);
	assert_int_equal(v, 1500);
	assert_int_equal(load_parse_ms("2m", 0, 100000, &v), RC_ERANGE);
	assert_int_equal(load_parse_ms("5ms", 10, 100000, &v), RC_ERANGE);
	assert_int_equal(load_parse_ms("s", 0, 100000, &v), RC_EPARSE);
	assert_int_equal(load_parse_ms("ms", 0, 100000, &v), RC_EPARSE);
	assert_int_equal(load_parse_ms("1h", 0, 100000, &v), RC_EPARSE);
	assert_int_equal(load_parse_ms("", 0, 100000, &v), RC_EPARSE);
}

static void
test_target(void **state)
{
	struct sockaddr_in sin;

	(void)state;
	assert_int_equal(load_parse_target("127.0.0.1:8883", &sin), RC_OK);
	assert_int_equal(ntohs(sin.sin_port), 8883);
	assert_int_equal(ntohl(sin.sin_addr.s_addr), 0x7f000001);
	assert_int_equal(load_parse_target("127.0.0.1:0", &sin), RC_EPARSE);
	assert_int_equal(sin.sin_family, 0);
	assert_int_equal(load_parse_target("127.0.0.1:65536", &sin), RC_EPARSE);
	assert_int_equal(load_parse_target("127.0.0.1", &sin), RC_EPARSE);
	assert_int_equal(load_parse_target(":80", &sin), RC_EPARSE);
	assert_int_equal(load_parse_target("localhost:80", &sin), RC_EPARSE);
	assert_int_equal(load_parse_target("127.0.0.1:", &sin), RC_EPARSE);
	assert_int_equal(load_parse_target("127.000000000000000000.0.1:80",
	                     &sin),
	    RC_EPARSE);
}

static void
test_srcs(void **state)
{
	struct in_addr a[LOAD_SRC_MAX];
	size_t n;

	(void)state;
	assert_int_equal(load_parse_srcs("127.0.0.2-127.0.0.9", a, LOAD_SRC_MAX,
	                     &n),
	    RC_OK);
	assert_int_equal(n, 8);
	assert_int_equal(ntohl(a[7].s_addr), 0x7f000009);
	assert_int_equal(load_parse_srcs("127.0.0.5", a, LOAD_SRC_MAX, &n),
	    RC_OK);
	assert_int_equal(n, 1);
	/* Off loopback, reversed, across a /24, too many, garbage. */
	assert_int_equal(load_parse_srcs("10.0.0.1", a, LOAD_SRC_MAX, &n),
	    RC_EPARSE);
	assert_int_equal(n, 0);
	assert_int_equal(load_parse_srcs("127.0.0.9-127.0.0.2", a, LOAD_SRC_MAX,
	                     &n),
	    RC_EPARSE);
	assert_int_equal(load_parse_srcs("127.0.0.2-127.0.1.2", a, LOAD_SRC_MAX,
	                     &n),
	    RC_EPARSE);
	assert_int_equal(load_parse_srcs("127.0.0.1-127.0.0.65", a,
	                     LOAD_SRC_MAX, &n),
	    RC_ERANGE);
	assert_int_equal(load_parse_srcs("127.0.0.1-", a, LOAD_SRC_MAX, &n),
	    RC_EPARSE);
	assert_int_equal(load_parse_srcs("-127.0.0.1", a, LOAD_SRC_MAX, &n),
	    RC_EPARSE);
	assert_int_equal(load_parse_srcs("127.0.0.1-10.0.0.1", a, LOAD_SRC_MAX,
	                     &n),
	    RC_EPARSE);
}

static void
test_args_ok(void **state)
{
	char why[256];
	struct load_args a;
	char **v = ARGV("register", "-p", "dps-http", "-n", "2k", "-c", "50",
	    "--certs", "f.pem", "--trust", "r.pem", "--id-scope", "0ne1",
	    "--poll", "100ms", "-s", "127.0.0.2-127.0.0.3", "--csr");

	(void)state;
	assert_int_equal(parse(argc_of(v), v, &a, why), RC_OK);
	assert_int_equal(a.mode, LOAD_REGISTER);
	assert_int_equal(a.proto, LOAD_PROTO_DPS_HTTP);
	assert_int_equal(a.count, 2000);
	assert_int_equal(a.concurrency, 50);
	assert_int_equal(a.poll_ms, 100);
	assert_int_equal(a.nsrc, 2);
	assert_int_equal(a.csr, 1);
	assert_string_equal(a.scope, "0ne1");
	/* Parsing twice gives the same answer (getopt is reset). */
	v = ARGV("connect", "-p", "mqtt", "--certs", "f", "--trust", "t");
	assert_int_equal(parse(argc_of(v), v, &a, why), RC_OK);
	assert_int_equal(a.proto, LOAD_PROTO_MQTT);
	assert_int_equal(a.count, 1000);
	assert_int_equal(a.poll_ms, -1);
	assert_int_equal(ntohs(a.target.sin_port), 8883);
}

static void
expect_bad(int argc, char **argv, const char *needle)
{
	char why[256] = "";
	struct load_args a;

	assert_int_equal(parse(argc, argv, &a, why), RC_EINVAL);
	if (strstr(why, needle) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", why, needle);
}

static void
test_args_bad(void **state)
{
	char **v;
	char why[256];
	struct load_args a;

	(void)state;
	v = ARGV("fly");
	expect_bad(argc_of(v), v, "unknown mode");
	v = ARGV("connect", "--bogus", "--certs", "f", "--trust", "t");
	expect_bad(argc_of(v), v, "unknown option");
	v = ARGV("connect", "--certs");
	expect_bad(argc_of(v), v, "missing value");
	v = ARGV("connect", "-n", "0", "--certs", "f", "--trust", "t");
	expect_bad(argc_of(v), v, "bad count");
	v = ARGV("connect", "-n", "1000001", "--certs", "f", "--trust", "t");
	expect_bad(argc_of(v), v, "bad count");
	v = ARGV("connect", "--first", "999999", "-n", "2", "--certs", "f",
	    "--trust", "t");
	expect_bad(argc_of(v), v, "first + count");
	v = ARGV("connect", "-p", "amqp", "--certs", "f", "--trust", "t");
	expect_bad(argc_of(v), v, "unknown protocol");
	v = ARGV("connect", "-s", "192.168.1.1", "--certs", "f", "--trust",
	    "t");
	expect_bad(argc_of(v), v, "source addresses");
	v = ARGV("connect", "--prefix", "Dev_", "--certs", "f", "--trust", "t");
	expect_bad(argc_of(v), v, "bad prefix");
	v = ARGV("connect", "--trust", "t");
	expect_bad(argc_of(v), v, "--certs");
	v = ARGV("connect", "--certs", "f");
	expect_bad(argc_of(v), v, "--trust");
	v = ARGV("register", "--certs", "f", "--trust", "t");
	expect_bad(argc_of(v), v, "--id-scope");
	v = ARGV("register", "-p", "hub", "--certs", "f", "--trust", "t",
	    "--id-scope", "s");
	expect_bad(argc_of(v), v, "register:");
	v = ARGV("hold", "-p", "dps-mqtt", "--certs", "f", "--trust", "t");
	expect_bad(argc_of(v), v, "hub, a broker");
	v = ARGV("certs", "--certs", "f");
	expect_bad(argc_of(v), v, "--ca");
	v = ARGV("import", "--certs", "f");
	expect_bad(argc_of(v), v, "--connection-string");
	v = ARGV("connect", "--certs", "f", "--trust", "t", "extra");
	expect_bad(argc_of(v), v, "unexpected argument");
	v = ARGV("connect", "--timeout", "5ms", "--certs", "f", "--trust", "t");
	expect_bad(argc_of(v), v, "bad timeout");
	v = (char *[]){"rollcall-load", NULL};
	expect_bad(1, v, "a mode is required");
	v = ARGV("--help");
	assert_int_equal(parse(argc_of(v), v, &a, why), RC_ENOENT);
	v = ARGV("connect", "--help");
	assert_int_equal(parse(argc_of(v), v, &a, why), RC_ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_counts),
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_target),
	    cmocka_unit_test(test_srcs),
	    cmocka_unit_test(test_args_ok),
	    cmocka_unit_test(test_args_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
