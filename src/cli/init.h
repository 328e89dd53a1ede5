/*
 * `rollcall init DIR`: the parts of cmd_init.c that tests reach directly
 * (option parsing, the server certificate's names, the text of
 * rollcall.conf and connections.json).
 */
#ifndef ROLLCALL_CLI_INIT_H
#define ROLLCALL_CLI_INIT_H

#include <stddef.h>

#include <jansson.h>

#include "rollcall/buf.h"

#define INIT_MAX_HOSTS 32
#define INIT_MAX_LISTEN 16
#define INIT_MAX_HUBS 16
#define INIT_HUB_NAME_MAX 50
#define INIT_HOST_MAX 253
/* localhost, 127.0.0.1, ::1, the host names and the hubs' hosts. */
#define INIT_MAX_SANS (3 + INIT_MAX_HOSTS + INIT_MAX_HUBS)
#define INIT_NDPS 3
#define INIT_NHUBPOL 4
/* Random bytes in each SAS key, as Azure's keys have. */
#define INIT_KEY_BYTES 32

struct init_hub {
	char name[INIT_HUB_NAME_MAX + 1];
	char host[INIT_HOST_MAX + 1];
};

struct init_opts {
	const char *dir;
	const char *hosts[INIT_MAX_HOSTS]; /* borrowed from argv */
	size_t nhosts;
	const char *listen[INIT_MAX_LISTEN];
	size_t nlisten;
	long https_port;
	long mqtt_port;
	struct init_hub hubs[INIT_MAX_HUBS];
	size_t nhubs;
	int json;
	int force;
	int help;
};

/* A SAS policy init writes: its name and Azure rights list. */
struct init_policy {
	const char *name;
	const char *rights;
};

extern const struct init_policy init_dps_policies[INIT_NDPS];
extern const struct init_policy init_hub_policies[INIT_NHUBPOL];

/* The secrets and identity of a new data directory. */
struct init_keys {
	char id_scope[12]; /* "0ne" + 8 upper-case hex */
	char *dps[INIT_NDPS]; /* base64, in init_dps_policies order */
	char *hub[INIT_MAX_HUBS][INIT_NHUBPOL];
};

/*
 * Parses `init` arguments (argv[0] is "init").  Defaults: host
 * "localhost", listen 0.0.0.0, ports 443 and 8883, one hub named after the
 * first host name's first label on the first host name.  --hub
 * NAME[=HOST] (HOST defaults to the first host name).  CLI_OK (o->help
 * set for --help) or CLI_USAGE, printed.
 */
int init_parse_opts(int argc, char **argv, struct init_opts *o);

/* 1 if s is an IPv4 or IPv6 address literal. */
int init_is_ip(const char *s);

/*
 * The server certificate's subjectAltNames, "DNS:name" or "IP:addr", each
 * once: localhost, 127.0.0.1, ::1, the host names, the hubs' hosts.  The
 * strings are written to buf (size bufsize) and out points into it.
 */
int init_sans(const struct init_opts *, char *buf, size_t bufsize,
    const char **out, size_t *n);

/* Fresh random keys and ID scope; release with init_keys_clear. */
int init_keys_new(const struct init_opts *, struct init_keys *out);
void init_keys_clear(struct init_keys *);

/* The text of DIR/rollcall.conf; absdir is the absolute data directory. */
int init_conf_text(const struct init_opts *, const struct init_keys *,
    const char *absdir, struct rc_wbuf *out);

/* The content of DIR/connections.json; caller owns *out. */
int init_connections_json(const struct init_opts *, const struct init_keys *,
    const char *absdir, json_t **out);

#endif
