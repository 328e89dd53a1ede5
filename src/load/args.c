/*
 * The command line of rollcall-load (load.h):
 *
 *	rollcall-load MODE [options]
 *
 * Numbers are decimal with an optional k (10^3) or m (10^6) suffix;
 * durations are milliseconds with an optional ms, s or m suffix.  Every
 * value is bounded here, so the run never sees a count it cannot hold.
 * Source addresses must lie in 127.0.0.0/8: benchmark traffic stays on
 * loopback.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "load.h"
#include "rollcall/enc.h"

#define WHY(...) snprintf(why, whylen, __VA_ARGS__)

static const char *const modes[] = {"certs", "import", "register", "connect",
    "hold", "telemetry", "roll"};
static const char *const protos[] = {"hub", "mqtt", "dps-mqtt", "dps-http",
    "echo"};

void
load_usage(void)
{
	fputs("usage: rollcall-load MODE [options]\n"
	      "modes: certs import register connect hold telemetry roll\n"
	      "  -n, --count N          devices (10k suffixes allowed)\n"
	      "      --first I          first device index (0)\n"
	      "  -c, --concurrency N    operations in flight (100)\n"
	      "  -t, --duration D       hold/telemetry/roll length (10s)\n"
	      "  -p, --proto P          hub mqtt dps-mqtt dps-http echo\n"
	      "  -a, --target A:P       server address (127.0.0.1:8883)\n"
	      "  -s, --src A[-B]        loopback source addresses\n"
	      "      --certs FILE       the fleet (made by `certs`)\n"
	      "      --ca DIR           signing CA (ca.pem, ca.key)\n"
	      "      --trust FILE       the server's root\n"
	      "      --shared-key       one P-256 key for all devices\n"
	      "      --prefix S         device ID prefix (dev-)\n"
	      "      --id-scope S       DPS ID scope\n"
	      "      --hub-host H       hub host name (127.0.0.1)\n"
	      "      --connection-string S  hub owner policy (import)\n"
	      "      --csr              register with a CSR\n"
	      "      --poll D           DPS poll delay (server's retry-after)\n"
	      "      --interval D       roll: telemetry period (5s)\n"
	      "      --timeout D        per operation (30s)\n"
	      "      --payload N        telemetry bytes (64)\n"
	      "      --server-pid PID   report the server's RSS and CPU\n"
	      "      --label S          name of the RESULT line\n",
	    stdout);
}

/* Decimal with an optional k or m suffix. */
int
load_parse_count(const char *s, long min, long max, long *out)
{
	char num[24];
	size_t n = strlen(s);
	long long v, mul = 1;

	*out = 0;
	if (n == 0 || n >= sizeof(num))
		return RC_EPARSE;
	memcpy(num, s, n + 1);
	if (num[n - 1] == 'k' || num[n - 1] == 'K')
		mul = 1000;
	else if (num[n - 1] == 'm' || num[n - 1] == 'M')
		mul = 1000000;
	if (mul != 1)
		num[--n] = '\0';
	if (rc_strtonum(num, 0, 1000000000000LL, &v) != RC_OK)
		return RC_EPARSE;
	if (v > max / mul || v * mul < min)
		return RC_ERANGE;
	*out = (long)(v * mul);
	return RC_OK;
}

/* Milliseconds with an optional ms, s or m suffix. */
int
load_parse_ms(const char *s, long min, long max, long *out)
{
	char num[24];
	size_t n = strlen(s), k = 0;
	long long v, mul = 1;

	*out = 0;
	if (n == 0 || n >= sizeof(num))
		return RC_EPARSE;
	memcpy(num, s, n + 1);
	if (n > 2 && strcmp(num + n - 2, "ms") == 0)
		k = 2;
	else if (num[n - 1] == 's')
		k = 1, mul = 1000;
	else if (num[n - 1] == 'm')
		k = 1, mul = 60000;
	num[n - k] = '\0';
	if (rc_strtonum(num, 0, 1000000000LL, &v) != RC_OK)
		return RC_EPARSE;
	if (v > max / mul || v * mul < min)
		return RC_ERANGE;
	*out = (long)(v * mul);
	return RC_OK;
}

int
load_parse_target(const char *s, struct sockaddr_in *out)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	long long port;

	memset(out, 0, sizeof(*out));
	if (colon == NULL || (size_t)(colon - s) >= sizeof(host) || colon == s)
		return RC_EPARSE;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (rc_strtonum(colon + 1, 1, 65535, &port) != RC_OK ||
	    inet_pton(AF_INET, host, &out->sin_addr) != 1) {
		memset(out, 0, sizeof(*out));
		return RC_EPARSE;
	}
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	return RC_OK;
}

static int
loopback(const char *s, struct in_addr *a)
{
	if (inet_pton(AF_INET, s, a) != 1 || (ntohl(a->s_addr) >> 24) != 127)
		return RC_EPARSE;
	return RC_OK;
}

int
load_parse_srcs(const char *s, struct in_addr *out, size_t max, size_t *n)
{
	char lo[INET_ADDRSTRLEN];
	const char *dash = strchr(s, '-');
	struct in_addr a, b;
	uint32_t i, ha, hb;

	*n = 0;
	if (dash == NULL)
		dash = s + strlen(s);
	if ((size_t)(dash - s) >= sizeof(lo))
		return RC_EPARSE;
	memcpy(lo, s, (size_t)(dash - s));
	lo[dash - s] = '\0';
	if (loopback(lo, &a) != RC_OK)
		return RC_EPARSE;
	b = a;
	if (*dash == '-' && loopback(dash + 1, &b) != RC_OK)
		return RC_EPARSE;
	ha = ntohl(a.s_addr);
	hb = ntohl(b.s_addr);
	if (hb < ha || (ha >> 8) != (hb >> 8))
		return RC_EPARSE;
	if (hb - ha + 1 > max)
		return RC_ERANGE;
	for (i = ha; i <= hb; i++)
		out[i - ha].s_addr = htonl(i);
	*n = hb - ha + 1;
	return RC_OK;
}

static int
lookup(const char *s, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

static void
defaults(struct load_args *a)
{
	memset(a, 0, sizeof(*a));
	a->count = 1000;
	a->concurrency = 100;
	a->duration_ms = 10000;
	a->interval_ms = 5000;
	a->timeout_ms = 30000;
	a->payload = 64;
	a->poll_ms = -1;
	a->hub_host = "127.0.0.1";
	a->label = "";
	snprintf(a->prefix, sizeof(a->prefix), "dev-");
	a->target.sin_family = AF_INET;
	a->target.sin_port = htons(8883);
	a->target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->src[0].s_addr = htonl(INADDR_LOOPBACK);
	a->nsrc = 1;
}

enum {
	O_FIRST = 256,
	O_CERTS,
	O_CA,
	O_TRUST,
	O_SHARED,
	O_PREFIX,
	O_SCOPE,
	O_HUBHOST,
	O_CONNSTR,
	O_CSR,
	O_POLL,
	O_INTERVAL,
	O_TIMEOUT,
	O_PAYLOAD,
	O_PID,
	O_LABEL,
};

static const struct option longopts[] = {
    {"count", required_argument, NULL, 'n'},
    {"concurrency", required_argument, NULL, 'c'},
    {"duration", required_argument, NULL, 't'},
    {"proto", required_argument, NULL, 'p'},
    {"target", required_argument, NULL, 'a'},
    {"src", required_argument, NULL, 's'},
    {"help", no_argument, NULL, 'h'},
    {"first", required_argument, NULL, O_FIRST},
    {"certs", required_argument, NULL, O_CERTS},
    {"ca", required_argument, NULL, O_CA},
    {"trust", required_argument, NULL, O_TRUST},
    {"shared-key", no_argument, NULL, O_SHARED},
    {"prefix", required_argument, NULL, O_PREFIX},
    {"id-scope", required_argument, NULL, O_SCOPE},
    {"hub-host", required_argument, NULL, O_HUBHOST},
    {"connection-string", required_argument, NULL, O_CONNSTR},
    {"csr", no_argument, NULL, O_CSR},
    {"poll", required_argument, NULL, O_POLL},
    {"interval", required_argument, NULL, O_INTERVAL},
    {"timeout", required_argument, NULL, O_TIMEOUT},
    {"payload", required_argument, NULL, O_PAYLOAD},
    {"server-pid", required_argument, NULL, O_PID},
    {"label", required_argument, NULL, O_LABEL},
    {NULL, 0, NULL, 0},
};

/* Options whose value is kept as given. */
static int
string_option(int ch, const char *v, struct load_args *a, char *why,
    size_t whylen)
{
	switch (ch) {
	case O_CERTS:
		a->certs = v;
		return RC_OK;
	case O_CA:
		a->ca_dir = v;
		return RC_OK;
	case O_TRUST:
		a->trust = v;
		return RC_OK;
	case O_SCOPE:
		a->scope = v;
		return RC_OK;
	case O_HUBHOST:
		a->hub_host = v;
		return RC_OK;
	case O_CONNSTR:
		a->connstr = v;
		return RC_OK;
	case O_LABEL:
		a->label = v;
		return RC_OK;
	case O_SHARED:
		a->shared_key = 1;
		return RC_OK;
	case O_CSR:
		a->csr = 1;
		return RC_OK;
	default:
		WHY("unknown option");
		return RC_EINVAL;
	}
}

/* One option with its argument; RC_EINVAL with why on a bad value. */
static int
option(int ch, const char *v, struct load_args *a, char *why, size_t whylen)
{
	long poll;
	int i;

	switch (ch) {
	case 'n':
		if (load_parse_count(v, 1, LOAD_DEVICES_MAX, &a->count) !=
		    RC_OK)
			return WHY("bad count: %s", v), RC_EINVAL;
		return RC_OK;
	case O_FIRST:
		if (load_parse_count(v, 0, LOAD_DEVICES_MAX, &a->first) !=
		    RC_OK)
			return WHY("bad first index: %s", v), RC_EINVAL;
		return RC_OK;
	case 'c':
		if (load_parse_count(v, 1, 100000, &a->concurrency) != RC_OK)
			return WHY("bad concurrency: %s", v), RC_EINVAL;
		return RC_OK;
	case 't':
		if (load_parse_ms(v, 0, 86400000, &a->duration_ms) != RC_OK)
			return WHY("bad duration: %s", v), RC_EINVAL;
		return RC_OK;
	case O_INTERVAL:
		if (load_parse_ms(v, 10, 3600000, &a->interval_ms) != RC_OK)
			return WHY("bad interval: %s", v), RC_EINVAL;
		return RC_OK;
	case O_TIMEOUT:
		if (load_parse_ms(v, 100, 3600000, &a->timeout_ms) != RC_OK)
			return WHY("bad timeout: %s", v), RC_EINVAL;
		return RC_OK;
	case O_POLL:
		if (load_parse_ms(v, 0, 60000, &poll) != RC_OK)
			return WHY("bad poll delay: %s", v), RC_EINVAL;
		a->poll_ms = (int)poll;
		return RC_OK;
	case O_PAYLOAD:
		if (load_parse_count(v, 0, 65536, &a->payload) != RC_OK)
			return WHY("bad payload size: %s", v), RC_EINVAL;
		return RC_OK;
	case O_PID:
		if (load_parse_count(v, 1, 4194304, &a->server_pid) != RC_OK)
			return WHY("bad pid: %s", v), RC_EINVAL;
		return RC_OK;
	case 'p':
		if ((i = lookup(v, protos, 5)) < 0)
			return WHY("unknown protocol: %s", v), RC_EINVAL;
		a->proto = (enum load_proto)i;
		return RC_OK;
	case 'a':
		if (load_parse_target(v, &a->target) != RC_OK)
			return WHY("bad target (want A.B.C.D:PORT): %s", v),
			       RC_EINVAL;
		return RC_OK;
	case 's':
		if (load_parse_srcs(v, a->src, LOAD_SRC_MAX, &a->nsrc) != RC_OK)
			return WHY("bad source addresses (127.x.y.a-127.x.y.b, "
			           "at most %d): %s",
			           LOAD_SRC_MAX, v),
			       RC_EINVAL;
		return RC_OK;
	case O_PREFIX:
		if (strlen(v) == 0 || strlen(v) > LOAD_PREFIX_MAX ||
		    strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-.") !=
		        strlen(v))
			return WHY("bad prefix (1..%d of [a-z0-9.-]): %s",
			           LOAD_PREFIX_MAX, v),
			       RC_EINVAL;
		snprintf(a->prefix, sizeof(a->prefix), "%s", v);
		return RC_OK;
	default:
		return string_option(ch, v, a, why, whylen);
	}
}

/* What each mode cannot run without. */
static int
check(const struct load_args *a, char *why, size_t whylen)
{
	if (a->certs == NULL)
		return WHY("--certs FILE is required"), RC_EINVAL;
	if (a->mode == LOAD_CERTS) {
		if (a->ca_dir == NULL)
			return WHY("certs: --ca DIR is required"), RC_EINVAL;
		return RC_OK;
	}
	if (a->mode == LOAD_IMPORT) {
		if (a->connstr == NULL)
			return WHY("import: --connection-string is required"),
			       RC_EINVAL;
		return RC_OK;
	}
	if (a->trust == NULL)
		return WHY("--trust FILE is required"), RC_EINVAL;
	if ((a->mode == LOAD_REGISTER || a->mode == LOAD_ROLL) &&
	    a->proto != LOAD_PROTO_ECHO && a->scope == NULL)
		return WHY("--id-scope is required for DPS"), RC_EINVAL;
	if (a->mode == LOAD_REGISTER && a->proto != LOAD_PROTO_DPS_MQTT &&
	    a->proto != LOAD_PROTO_DPS_HTTP && a->proto != LOAD_PROTO_ECHO)
		return WHY("register: --proto dps-mqtt, dps-http or echo"),
		       RC_EINVAL;
	if ((a->mode == LOAD_CONNECT || a->mode == LOAD_HOLD ||
	        a->mode == LOAD_TELEMETRY) &&
	    (a->proto == LOAD_PROTO_DPS_MQTT ||
	        a->proto == LOAD_PROTO_DPS_HTTP))
		return WHY("this mode speaks to a hub, a broker or echo"),
		       RC_EINVAL;
	if (a->mode == LOAD_ROLL && a->proto != LOAD_PROTO_HUB)
		return WHY("roll: --proto hub (DPS is on the same port)"),
		       RC_EINVAL;
	return RC_OK;
}

int
load_args_parse(int argc, char **argv, struct load_args *a, char *why,
    size_t whylen)
{
	int ch, m, rc;

	defaults(a);
	if (argc < 2)
		return WHY("a mode is required"), RC_EINVAL;
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return RC_ENOENT;
	if ((m = lookup(argv[1], modes, 7)) < 0)
		return WHY("unknown mode: %s", argv[1]), RC_EINVAL;
	a->mode = (enum load_mode)m;
	if (a->mode == LOAD_REGISTER || a->mode == LOAD_ROLL)
		a->proto =
		    a->mode == LOAD_ROLL ? LOAD_PROTO_HUB : LOAD_PROTO_DPS_MQTT;
	/* optind 0 resets glibc's getopt, so the parser can run again. */
	argc--;
	argv++;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:n:c:t:p:a:s:h", longopts,
	            NULL)) != -1) {
		if (ch == 'h')
			return RC_ENOENT;
		if (ch == '?' || ch == ':') {
			WHY("%s: %s",
			    ch == '?' ? "unknown option" : "missing value",
			    argv[optind - 1]);
			return RC_EINVAL;
		}
		if ((rc = option(ch, optarg, a, why, whylen)) != RC_OK)
			return rc;
	}
	if (optind != argc)
		return WHY("unexpected argument: %s", argv[optind]), RC_EINVAL;
	if (a->first + a->count > LOAD_DEVICES_MAX)
		return WHY("first + count over %d", LOAD_DEVICES_MAX),
		       RC_EINVAL;
	return check(a, why, whylen);
}
