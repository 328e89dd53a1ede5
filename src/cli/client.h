/*
 * The CLI's HTTPS client of the rollcalld service APIs (DPS service API and
 * our own /certificates and /audit endpoints), over libcurl.
 *
 * Where the service is comes from, in this order: --connection-string,
 * --data DIR (the dps.connectionString of DIR/connections.json, written by
 * `rollcall init`), or the environment variable
 * ROLLCALL_DPS_CONNECTION_STRING.  Our own clients accept
 * HostName=host:port (the Azure SDKs do not: reference/azure-service-api.md
 * §1.1); without a port, --data's dps.httpsPort is used, else 443.
 *
 * Every request carries a fresh SAS token (sr = HostName without the port,
 * as the service SDKs sign it, §1.4, an IPv6 address in brackets; expiry
 * now + 3600 s).  The server
 * certificate is verified against --cacert FILE, else --data's
 * trustBundle (--data may be given with --connection-string for that),
 * else the system store.  Response bodies are capped at
 * CLIENT_MAX_BODY; an error response becomes one line
 * "rollcall: 412 Precondition Failed: <the body's message>".
 */
#ifndef ROLLCALL_CLI_CLIENT_H
#define ROLLCALL_CLI_CLIENT_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#define CLIENT_MAX_BODY (16 * 1024 * 1024)
#define CLIENT_ENV_CONNSTR "ROLLCALL_DPS_CONNECTION_STRING"
#define CLIENT_ENV_HUB_CONNSTR "ROLLCALL_HUB_CONNECTION_STRING"
/* Default whole-request timeout, seconds (--timeout). */
#define CLIENT_TIMEOUT 60
/* Items asked for per page when following continuations. */
#define CLIENT_PAGE 100

/* The options every service command takes, as getopt_long returns them. */
enum {
	CLIENT_OPT_CONNSTR = 0x1000,
	CLIENT_OPT_DATA,
	CLIENT_OPT_CACERT,
	CLIENT_OPT_JSON,
	CLIENT_OPT_TIMEOUT,
	CLIENT_OPT_HUB,
};

/* The common options, as entries of a struct option array. */
/* clang-format off */
#define CLIENT_LONGOPTS							\
	{"connection-string", required_argument, NULL, CLIENT_OPT_CONNSTR}, \
	{"data", required_argument, NULL, CLIENT_OPT_DATA},		\
	{"cacert", required_argument, NULL, CLIENT_OPT_CACERT},		\
	{"json", no_argument, NULL, CLIENT_OPT_JSON},			\
	{"timeout", required_argument, NULL, CLIENT_OPT_TIMEOUT},	\
	{"help", no_argument, NULL, 'h'}
/* clang-format on */
#define CLIENT_NLONGOPTS 6

#define CLIENT_USAGE                                                      \
	"[--connection-string CS | --data DIR] [--cacert FILE] [--json] " \
	"[--timeout SECONDS]"

/*
 * Hub commands (client_args.hub) talk to an IoT hub instead: the
 * connection string comes from --connection-string, --data DIR (the
 * connectionString of the hubs[] entry named by --hub, else the first; the
 * port is still dps.httpsPort: one listener serves both) or
 * ROLLCALL_HUB_CONNECTION_STRING.
 */
#define CLIENT_HUB_USAGE                                                      \
	"[--connection-string CS | --data DIR [--hub NAME]] [--cacert FILE] " \
	"[--json]"

struct client_opts {
	int hub_mode;
	const char *hub;
	const char *connstr;
	const char *data;
	const char *cacert;
	int json;
	long timeout;
};

/*
 * Stores a common option.  Returns 1 if c was one (and its value is
 * good), 0 if c is not a common option, CLI_USAGE (printed) for a bad
 * value.
 */
int client_opt(struct client_opts *, const char *usage, int c, const char *arg);

/*
 * getopt_long over the common options plus extra (ends with a NULL name;
 * at most CLIENT_MAX_EXTRA); every other option goes to fn(arg, usage, c,
 * optarg), which returns CLI_OK or CLI_USAGE.  Exactly noperands operands
 * are stored in operands[] (names[i] names each in messages).  --help
 * prints the usage to stdout and sets *help.  CLI_OK or CLI_USAGE
 * (printed).
 */
#define CLIENT_MAX_EXTRA 16
struct client_args {
	const char *usage;
	const char *shortopts; /* getopt's; NULL: "h" */
	const struct option *extra;
	int (*fn)(void *, const char *, int, const char *);
	void *arg;
	int noperands;
	const char *const *names;
	int hub; /* a hub command: takes --hub */
};

int client_getopt(const struct client_args *, int argc, char **argv,
    struct client_opts *co, const char **operands, int *help);

struct client;

/*
 * Resolves where the service is (see above) and prepares a connection.
 * Prints what is wrong and returns CLI_FAIL / CLI_USAGE; CLI_OK with *out
 * set (free with client_free).
 */
int client_open(const struct client_opts *, struct client **out);
void client_free(struct client *);

struct client_resp {
	long status;
	char *body; /* NUL-terminated; "" when empty */
	size_t len;
	json_t *json; /* the parsed body if it is JSON, else NULL */
	char *etag; /* ETag header, quotes as sent; NULL if absent */
	char *continuation; /* x-ms-continuation; NULL if absent */
};

void client_resp_clear(struct client_resp *);

/*
 * One request: method, path (already percent-encoded, starting with '/'),
 * an optional JSON body, an optional If-Match value and optional extra
 * header lines ("Name: value", the array ends with NULL).  CLI_OK when a
 * response came back, whatever its status (see client_ok); CLI_FAIL
 * (printed) when none did or it was too large.  *out is cleared on entry;
 * the caller releases it with client_resp_clear.
 */
int client_call(struct client *, const char *method, const char *path,
    json_t *body, const char *if_match, const char *const *headers,
    struct client_resp *out);

/*
 * CLI_OK for a 2xx response; otherwise prints the error line for it and
 * returns CLI_FAIL.
 */
int client_ok(const struct client_resp *);

/*
 * prefix + the ID percent-encoded as one path segment (as the SDKs'
 * encodeURIComponent) + suffix; caller frees *out with rc_free.
 */
int client_path(char **out, const char *prefix, const char *id,
    const char *suffix);

/*
 * Fetches every item of a query (POST path with {"query":"*"}), following
 * x-ms-continuation, stopping after max items (0: all).  *out is a JSON
 * array the caller owns.
 */
int client_query_all(struct client *, const char *path, size_t max,
    json_t **out);
/* The same with a query of its own ({"query": query}). */
int client_query(struct client *, const char *path, const char *query,
    size_t max, json_t **out);

/*
 * A certificate file (PEM or DER, exactly one certificate) as the JSON the
 * APIs take: {"certificate": "<PEM>"}.  Prints what is wrong.
 */
int client_cert_json(const char *path, json_t **out);

/* Prints JSON (--json output) to stdout, indented, with a newline. */
int client_print_json(json_t *);

/*
 * Pure parts, exposed for tests.
 *
 * client_base_url: from a HostName ("host", "host:port", "[v6]:port",
 * "v6") and the port to use when it has none, the base URL
 * ("https://host", with ":port" unless it is 443; no trailing slash) and
 * the SAS resource (the host without the port; an IPv6 address in
 * brackets, as the Host header has it).  RC_EPARSE for a malformed value or a port
 * outside 1..65535.  Caller frees both with rc_free.
 */
int client_base_url(const char *hostname, long default_port, char **base,
    char **sr);

/*
 * Reads what the CLI needs from connections.json text: the owner's
 * connection string, dps.httpsPort (-1 if absent; 0 means the server picks
 * a free port) and trustBundle (NULL if absent).  Caller frees the strings
 * with rc_free.
 */
int client_parse_connections(const char *text, size_t len, char **connstr,
    long *port, char **trust);
/*
 * The same for a hub: the connectionString of the hubs[] entry named hub
 * (case-insensitive; NULL: the first).
 */
int client_parse_hub_connections(const char *text, size_t len, const char *hub,
    char **connstr, long *port, char **trust);

/*
 * The error line (without "rollcall: ") for a response: "<status>
 * <reason>" and, when the body carries one, ": <message>".  The message is
 * taken from a DPS body ("message"), a hub body ("Message":
 * "ErrorCode:X;text") or a short text body; control characters become '?'.
 */
void client_error_line(long status, const char *body, size_t len, char *out,
    size_t outsize);
/* The reason phrase of an HTTP status (RFC 9110 §15); "" if unknown. */
const char *client_reason(long status);

/*
 * Human tables: aligned columns, a header row, cells cleaned of control
 * characters, widths counted in UTF-8 characters.  table_new and
 * table_add return RC_OK, RC_ENOMEM or RC_ETOOBIG.
 */
struct table;

int table_new(size_t ncols, const char *const *headers, struct table **out);
/* Appends a row of ncols cells (NULL prints as "-"); copies them. */
int table_add(struct table *, const char *const *cells);
size_t table_rows(const struct table *);
void table_print(const struct table *, FILE *);
void table_free(struct table *);

/* Writes s to f with control characters replaced by '?'. */
void print_clean(FILE *f, const char *s);

#endif
