/*
 * rollcall sas: make and check SharedAccessSignature tokens with the key of
 * a connection string (reference/azure-service-api.md §1.4, §1.5).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "rollcall/enc.h"
#include "rollcall/mem.h"
#include "rollcall/sas.h"

#define SAS_ENV_CS "ROLLCALL_CONNECTION_STRING"
#define SAS_TTL_MAX (100LL * 366 * 24 * 3600)
#define SAS_AT_MAX 253402300799LL /* 9999-12-31T23:59:59Z */
#define SAS_SKEW_MAX (24 * 3600)

static const char token_usage[] = "rollcall sas token --connection-string CS "
                                  "[--ttl SECONDS] [--resource SR]";
static const char verify_usage[] =
    "rollcall sas verify --connection-string CS [--at UNIX_SECONDS] "
    "[--host HOST] [--skew SECONDS] TOKEN";

static const char token_help[] =
    "Prints a SharedAccessSignature token signed with the connection\n"
    "string's SharedAccessKey, in the form the Azure service SDKs send.\n"
    "\n"
    "  --connection-string CS  HostName=..;SharedAccessKeyName=..;"
    "SharedAccessKey=..\n"
    "                          (default: $" SAS_ENV_CS ")\n"
    "  --ttl SECONDS           lifetime from now (default 3600)\n"
    "  --resource SR           resource URI, put in the token and signed\n"
    "                          exactly as given (default: HostName)\n"
    "\n"
    "$" SAS_ENV_CS " keeps the key out of the process list.\n";

static const char verify_help[] =
    "Checks a token against the connection string's key: prints 'valid'\n"
    "and exits 0, or prints 'not valid: <reason>' and exits 1.\n"
    "\n"
    "  --connection-string CS  as for 'token' (default: $" SAS_ENV_CS ")\n"
    "  --at UNIX_SECONDS       the time to check at (default: now)\n"
    "  --host HOST             the host the token must be for (default:\n"
    "                          HostName); sr may also be HOST/<path>\n"
    "  --skew SECONDS          tolerated clock skew (default 0)\n"
    "  TOKEN                   'SharedAccessSignature sr=..&sig=..&se=..'\n";

struct sas_args {
	const char *cs;
	const char *resource;
	const char *host;
	const char *token;
	long long ttl;
	long long at;
	long long skew;
};

static int
help(const char *usage, const char *text)
{
	printf("usage: %s\n\n%s", usage, text);
	return CLI_OK;
}

/* The connection string and its decoded key; CLI_USAGE if unusable. */
static int
load_key(const char *usage, const char *arg, struct rc_connstr *cs,
    uint8_t **key, size_t *keylen)
{
	int rc;

	if (arg == NULL)
		arg = getenv(SAS_ENV_CS);
	if (arg == NULL)
		return cli_usage(usage,
		    "--connection-string or $" SAS_ENV_CS " is required");
	if ((rc = rc_connstr_parse(arg, strlen(arg), cs)) != RC_OK)
		return cli_usage(usage, "connection string: %s",
		    rc_strerror(rc));
	if ((rc = rc_connstr_get1_key(cs, key, keylen)) != RC_OK) {
		rc_connstr_clear(cs);
		return cli_fail("connection string key: %s", rc_strerror(rc));
	}
	return CLI_OK;
}

static int
number(const char *usage, const char *opt, const char *s, long long min,
    long long max, long long *out)
{
	if (rc_strtonum(s, min, max, out) != RC_OK)
		return cli_usage(usage,
		    "%s: '%s' is not a number in %lld..%lld", opt, s, min, max);
	return CLI_OK;
}

static int
token_args(int argc, char **argv, struct sas_args *a)
{
	static const struct option opts[] = {
	    {"connection-string", required_argument, NULL, 'c'},
	    {"ttl", required_argument, NULL, 't'},
	    {"resource", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch, ret;

	a->ttl = 3600;
	while ((ch = getopt_long(argc, argv, "c:t:r:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			a->cs = optarg;
			break;
		case 't':
			ret = number(token_usage, "--ttl", optarg, 1,
			    SAS_TTL_MAX, &a->ttl);
			if (ret != CLI_OK)
				return ret;
			break;
		case 'r':
			a->resource = optarg;
			break;
		case 'h':
			return -1;
		default:
			return cli_usage(token_usage, NULL);
		}
	}
	if (optind != argc)
		return cli_usage(token_usage, "unexpected argument '%s'",
		    argv[optind]);
	return CLI_OK;
}

static int
sas_token(int argc, char **argv)
{
	struct sas_args a = {0};
	struct rc_connstr cs;
	uint8_t *key = NULL;
	size_t keylen = 0;
	char *tok = NULL;
	int rc, ret;

	if ((ret = token_args(argc, argv, &a)) == -1)
		return help(token_usage, token_help);
	if (ret != CLI_OK)
		return ret;
	if ((ret = load_key(token_usage, a.cs, &cs, &key, &keylen)) != CLI_OK)
		return ret;
	rc = rc_sas_token_new(a.resource != NULL ? a.resource : cs.host,
	    cs.key_name, key, keylen, (uint64_t)time(NULL) + (uint64_t)a.ttl,
	    &tok);
	if (rc == RC_OK) {
		printf("%s\n", tok);
		ret = CLI_OK;
	} else if (rc == RC_EINVAL && a.resource != NULL) {
		ret = cli_usage(token_usage,
		    "--resource: not usable in a token "
		    "(printable, no spaces, no '&')");
	} else {
		ret = cli_fail("token: %s", rc_strerror(rc));
	}
	rc_free(tok);
	rc_free_secret(key, keylen);
	rc_connstr_clear(&cs);
	return ret;
}

static int
verify_args(int argc, char **argv, struct sas_args *a)
{
	static const struct option opts[] = {
	    {"connection-string", required_argument, NULL, 'c'},
	    {"at", required_argument, NULL, 'a'},
	    {"host", required_argument, NULL, 'H'},
	    {"skew", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch, ret = CLI_OK;

	a->at = -1;
	while ((ch = getopt_long(argc, argv, "c:a:H:s:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			a->cs = optarg;
			break;
		case 'a':
			ret = number(verify_usage, "--at", optarg, 0,
			    SAS_AT_MAX, &a->at);
			break;
		case 'H':
			a->host = optarg;
			break;
		case 's':
			ret = number(verify_usage, "--skew", optarg, 0,
			    SAS_SKEW_MAX, &a->skew);
			break;
		case 'h':
			return -1;
		default:
			return cli_usage(verify_usage, NULL);
		}
		if (ret != CLI_OK)
			return ret;
	}
	if (argc - optind != 1)
		return cli_usage(verify_usage, "exactly one TOKEN is required");
	a->token = argv[optind];
	return CLI_OK;
}

/*
 * The library lumps a bad signature and a foreign resource together (a
 * peer learns nothing); an operator is told which: a token that verifies
 * against its own resource was signed correctly.
 */
static const char *
why(int rc, const struct rc_sas_token *t, const uint8_t *key, size_t keylen,
    time_t at, int skew)
{
	switch (rc) {
	case RC_EEXPIRED:
		return "expired";
	case RC_EAUTH:
		rc = rc_sas_verify(t, key, keylen, t->sr, at, skew);
		if (rc == RC_OK || rc == RC_EEXPIRED)
			return "resource is not the host";
		return "signature does not match the key";
	default:
		return rc_strerror(rc);
	}
}

static int
sas_verify(int argc, char **argv)
{
	struct sas_args a = {0};
	struct rc_sas_token t;
	struct rc_connstr cs;
	uint8_t *key = NULL;
	size_t keylen = 0;
	time_t at;
	int rc, ret;

	if ((ret = verify_args(argc, argv, &a)) == -1)
		return help(verify_usage, verify_help);
	if (ret != CLI_OK)
		return ret;
	if ((ret = load_key(verify_usage, a.cs, &cs, &key, &keylen)) != CLI_OK)
		return ret;
	at = a.at >= 0 ? (time_t)a.at : time(NULL);
	rc = rc_sas_parse(a.token, strlen(a.token), &t);
	if (rc == RC_OK)
		rc = rc_sas_verify(&t, key, keylen,
		    a.host != NULL ? a.host : cs.host, at, (int)a.skew);
	if (rc == RC_OK) {
		printf("valid\n");
		ret = CLI_OK;
	} else if (rc == RC_EPARSE || rc == RC_ETOOBIG) {
		printf("not valid: malformed token (%s)\n", rc_strerror(rc));
		ret = CLI_FAIL;
	} else {
		printf("not valid: %s\n",
		    why(rc, &t, key, keylen, at, (int)a.skew));
		ret = CLI_FAIL;
	}
	rc_sas_token_clear(&t);
	rc_free_secret(key, keylen);
	rc_connstr_clear(&cs);
	return ret;
}

int
cmd_sas(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
	    {"token", sas_token,
	        "print a token signed with a connection string"},
	    {"verify", sas_verify, "check a token against a connection string"},
	    {NULL, NULL, NULL},
	};

	return cli_dispatch("sas", subs, argc, argv);
}
