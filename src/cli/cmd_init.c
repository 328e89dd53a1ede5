/*
 * rollcall init DIR: a ready data directory for rollcalld.
 *
 *	DIR/rollcall.conf		0600, the server's config
 *	DIR/connections.json		0600, what clients need (--json prints it)
 *	DIR/ca/root/{ca.pem,ca.key}	root CA
 *	DIR/ca/devices/{ca.pem,ca.key,chain.pem}  device-signing intermediate
 *	DIR/ca/root.pem			trust bundle for clients
 *	DIR/tls/{server.pem,server.key}	server certificate (issued by the root)
 *
 * Directories are 0700 and keys 0600.  Every path written into the config
 * is absolute, so rollcalld can be started from anywhere.  The SAS keys are
 * 32 random bytes each, like Azure's; the ID scope is "0ne" and 8 random
 * upper-case hex digits, the shape DPS uses.  rollcalld creates the
 * database itself on its first start: the CLI never opens the store.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "cli.h"
#include "client.h"
#include "init.h"
#include "rollcall/ca.h"
#include "rollcall/enc.h"
#include "rollcall/file.h"
#include "rollcall/json.h"
#include "rollcall/key.h"
#include "rollcall/mem.h"

#define USAGE                                                               \
	"rollcall init DIR [--hostname NAME]... [--listen ADDR]... "        \
	"[--https-port N] [--mqtt-port N] [--hub NAME[=HOST]]... [--json] " \
	"[--force]"

const struct init_policy init_dps_policies[INIT_NDPS] = {
    {"provisioningserviceowner",
        "ServiceConfig,EnrollmentRead,EnrollmentWrite,"
        "RegistrationStatusRead,RegistrationStatusWrite"},
    {"enrollmentread", "EnrollmentRead,RegistrationStatusRead"},
    {"enrollmentwrite", "EnrollmentWrite,RegistrationStatusWrite"},
};

const struct init_policy init_hub_policies[INIT_NHUBPOL] = {
    {"iothubowner", "RegistryRead,RegistryWrite,ServiceConnect,DeviceConnect"},
    {"service", "ServiceConnect"},
    {"registryRead", "RegistryRead"},
    {"registryReadWrite", "RegistryRead,RegistryWrite"},
};

int
init_is_ip(const char *s)
{
	unsigned char addr[16];

	return inet_pton(AF_INET, s, addr) == 1 ||
	    inet_pton(AF_INET6, s, addr) == 1;
}

/* A DNS name of letters, digits and '-' labels (RFC 1123 §2.1). */
static int
is_dns_name(const char *s)
{
	size_t label = 0, n = strlen(s), i;

	if (n == 0 || n > INIT_HOST_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)s[i]) &&
		    (s[i] != '-' || label == 0))
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && s[n - 1] != '-';
}

static int
is_hub_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > INIT_HUB_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
	return 1;
}

static int
parse_port(const char *opt, const char *s, long *out)
{
	long long v;

	if (rc_strtonum(s, 0, 65535, &v) != RC_OK)
		return cli_usage(USAGE, "%s: '%s' is not a port (0-65535)", opt,
		    s);
	*out = (long)v;
	return CLI_OK;
}

/* --hub NAME[=HOST]; HOST is filled in later when absent. */
static int
parse_hub(struct init_opts *o, const char *s)
{
	const char *eq = strchr(s, '=');
	size_t n = eq != NULL ? (size_t)(eq - s) : strlen(s), i;
	struct init_hub *h;

	if (o->nhubs == INIT_MAX_HUBS)
		return cli_usage(USAGE, "--hub: at most %d hubs",
		    INIT_MAX_HUBS);
	if (!is_hub_name(s, n))
		return cli_usage(USAGE,
		    "--hub: '%.*s' is not a hub name (letters, digits, '-', "
		    "at most %d)",
		    (int)n, s, INIT_HUB_NAME_MAX);
	if (eq != NULL && !is_dns_name(eq + 1) && !init_is_ip(eq + 1))
		return cli_usage(USAGE, "--hub: '%s' is not a host name",
		    eq + 1);
	for (i = 0; i < o->nhubs; i++)
		if (strlen(o->hubs[i].name) == n &&
		    strncasecmp(o->hubs[i].name, s, n) == 0)
			return cli_usage(USAGE, "--hub: '%.*s' given twice",
			    (int)n, s);
	h = &o->hubs[o->nhubs++];
	snprintf(h->name, sizeof(h->name), "%.*s", (int)n, s);
	if (eq != NULL)
		snprintf(h->host, sizeof(h->host), "%s", eq + 1);
	return CLI_OK;
}

/* --hostname takes DNS names and IP addresses; --listen addresses only. */
static int
add_word(const char **v, size_t *n, size_t max, const char *opt, int ip_only,
    const char *s)
{
	if (*n == max)
		return cli_usage(USAGE, "%s: given more than %zu times", opt,
		    max);
	if (!init_is_ip(s) && (ip_only || !is_dns_name(s)))
		return cli_usage(USAGE, "%s: '%s' is not %s", opt, s,
		    ip_only ? "an IP address" : "a DNS name or an IP address");
	v[(*n)++] = s;
	return CLI_OK;
}

/* The hub named after the first host name's first label. */
static void
default_hub(struct init_opts *o)
{
	const char *first = o->hosts[0];
	size_t n = strcspn(first, ".");

	if (init_is_ip(first) || !is_hub_name(first, n)) {
		first = "hub";
		n = 3;
	}
	snprintf(o->hubs[0].name, sizeof(o->hubs[0].name), "%.*s", (int)n,
	    first);
	o->nhubs = 1;
}

static void
fill_defaults(struct init_opts *o)
{
	size_t i;

	if (o->nhosts == 0)
		o->hosts[o->nhosts++] = "localhost";
	if (o->nlisten == 0)
		o->listen[o->nlisten++] = "0.0.0.0";
	if (o->nhubs == 0)
		default_hub(o);
	for (i = 0; i < o->nhubs; i++)
		if (o->hubs[i].host[0] == '\0')
			snprintf(o->hubs[i].host, sizeof(o->hubs[i].host), "%s",
			    o->hosts[0]);
}

static int
parse_one(struct init_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'H':
		return add_word(o->hosts, &o->nhosts, INIT_MAX_HOSTS,
		    "--hostname", 0, arg);
	case 'l':
		return add_word(o->listen, &o->nlisten, INIT_MAX_LISTEN,
		    "--listen", 1, arg);
	case 'p':
		return parse_port("--https-port", arg, &o->https_port);
	case 'm':
		return parse_port("--mqtt-port", arg, &o->mqtt_port);
	case 'b':
		return parse_hub(o, arg);
	case 'j':
		o->json = 1;
		return CLI_OK;
	case 'f':
		o->force = 1;
		return CLI_OK;
	case 'h':
		o->help = 1;
		return CLI_OK;
	default:
		return cli_usage(USAGE, NULL);
	}
}

int
init_parse_opts(int argc, char **argv, struct init_opts *o)
{
	static const struct option longopts[] = {
	    {"hostname", required_argument, NULL, 'H'},
	    {"listen", required_argument, NULL, 'l'},
	    {"https-port", required_argument, NULL, 'p'},
	    {"mqtt-port", required_argument, NULL, 'm'},
	    {"hub", required_argument, NULL, 'b'},
	    {"json", no_argument, NULL, 'j'},
	    {"force", no_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c, ret;

	memset(o, 0, sizeof(*o));
	o->https_port = 443;
	o->mqtt_port = 8883;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1)
		if ((ret = parse_one(o, c, optarg)) != CLI_OK)
			return ret;
	if (o->help)
		return CLI_OK;
	if (argc - optind != 1)
		return cli_usage(USAGE,
		    argc - optind == 0 ? "the data directory is missing"
		                       : "one data directory only");
	o->dir = argv[optind];
	if (*o->dir == '\0')
		return cli_usage(USAGE, "the data directory is empty");
	fill_defaults(o);
	return CLI_OK;
}

static int
add_san(char *buf, size_t bufsize, size_t *used, const char **out, size_t *n,
    const char *name)
{
	const char *type = init_is_ip(name) ? "IP:" : "DNS:";
	size_t i, len;
	int w;

	for (i = 0; i < *n; i++)
		if (strncmp(out[i], type, strlen(type)) == 0 &&
		    strcasecmp(out[i] + strlen(type), name) == 0)
			return RC_OK;
	if (*n == INIT_MAX_SANS)
		return RC_ETOOBIG;
	w = snprintf(buf + *used, bufsize - *used, "%s%s", type, name);
	if (w < 0 || (len = (size_t)w) >= bufsize - *used)
		return RC_ETOOBIG;
	out[(*n)++] = buf + *used;
	*used += len + 1;
	return RC_OK;
}

int
init_sans(const struct init_opts *o, char *buf, size_t bufsize,
    const char **out, size_t *n)
{
	static const char *fixed[] = {"localhost", "127.0.0.1", "::1"};
	size_t used = 0, i;
	int rc;

	*n = 0;
	for (i = 0; i < 3; i++)
		if ((rc = add_san(buf, bufsize, &used, out, n, fixed[i])) !=
		    RC_OK)
			return rc;
	for (i = 0; i < o->nhosts; i++)
		if ((rc = add_san(buf, bufsize, &used, out, n, o->hosts[i])) !=
		    RC_OK)
			return rc;
	for (i = 0; i < o->nhubs; i++)
		if ((rc = add_san(buf, bufsize, &used, out, n,
		         o->hubs[i].host)) != RC_OK)
			return rc;
	return RC_OK;
}

static int
random_key(char **out)
{
	uint8_t raw[INIT_KEY_BYTES];
	int rc;

	*out = NULL;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return RC_ECRYPTO;
	rc = rc_b64_encode(raw, sizeof(raw), out);
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
}

void
init_keys_clear(struct init_keys *k)
{
	size_t i, j;

	for (i = 0; i < INIT_NDPS; i++)
		if (k->dps[i] != NULL)
			rc_free_secret(k->dps[i], strlen(k->dps[i]));
	for (i = 0; i < INIT_MAX_HUBS; i++)
		for (j = 0; j < INIT_NHUBPOL; j++)
			if (k->hub[i][j] != NULL)
				rc_free_secret(k->hub[i][j],
				    strlen(k->hub[i][j]));
	memset(k, 0, sizeof(*k));
}

int
init_keys_new(const struct init_opts *o, struct init_keys *k)
{
	uint8_t scope[4];
	size_t i, j;
	int rc;

	memset(k, 0, sizeof(*k));
	if (RAND_bytes(scope, sizeof(scope)) != 1)
		return RC_ECRYPTO;
	memcpy(k->id_scope, "0ne", 3);
	if ((rc = rc_hex_upper(scope, sizeof(scope), k->id_scope + 3,
	         sizeof(k->id_scope) - 3)) != RC_OK)
		goto out;
	for (i = 0; i < INIT_NDPS; i++)
		if ((rc = random_key(&k->dps[i])) != RC_OK)
			goto out;
	for (i = 0; i < o->nhubs; i++)
		for (j = 0; j < INIT_NHUBPOL; j++)
			if ((rc = random_key(&k->hub[i][j])) != RC_OK)
				goto out;
	return RC_OK;
out:
	init_keys_clear(k);
	return rc;
}

/*
 * One config word: quoted when it holds a blank, '#', a quote or a
 * backslash (the conf module's syntax: inside quotes only \" and \\).
 */
static int
conf_word(struct rc_wbuf *w, const char *s)
{
	int rc;

	if (strpbrk(s, " \t#\"\\") == NULL)
		return rc_wbuf_puts(w, s);
	if ((rc = rc_wbuf_putc(w, '"')) != RC_OK)
		return rc;
	for (; *s != '\0'; s++) {
		if ((*s == '"' || *s == '\\') &&
		    (rc = rc_wbuf_putc(w, '\\')) != RC_OK)
			return rc;
		if ((rc = rc_wbuf_putc(w, (uint8_t)*s)) != RC_OK)
			return rc;
	}
	return rc_wbuf_putc(w, '"');
}

/* "keyword <absdir><rel>\n" */
static int
conf_path(struct rc_wbuf *w, const char *kw, const char *absdir,
    const char *rel, const char *prefix)
{
	char path[4096];
	int rc;

	if ((size_t)snprintf(path, sizeof(path), "%s%s%s", prefix, absdir,
	        rel) >= sizeof(path))
		return RC_ETOOBIG;
	if ((rc = rc_wbuf_printf(w, "%s ", kw)) != RC_OK ||
	    (rc = conf_word(w, path)) != RC_OK)
		return rc;
	return rc_wbuf_putc(w, '\n');
}

static int
conf_listen(const struct init_opts *o, struct rc_wbuf *w)
{
	size_t i;
	int rc;

	for (i = 0; i < o->nlisten; i++)
		if ((rc = rc_wbuf_printf(w, "listen %s\n", o->listen[i])) !=
		    RC_OK)
			return rc;
	if ((rc = rc_wbuf_printf(w, "https-port %ld\nmqtt-port %ld\n",
	         o->https_port, o->mqtt_port)) != RC_OK)
		return rc;
	for (i = 0; i < o->nhosts; i++)
		if ((rc = rc_wbuf_printf(w, "hostname %s\n", o->hosts[i])) !=
		    RC_OK)
			return rc;
	return RC_OK;
}

static int
conf_files(struct rc_wbuf *w, const char *absdir)
{
	int rc;

	if ((rc = conf_path(w, "store", absdir, "/rollcall.db", "sqlite:")) !=
	        RC_OK ||
	    (rc = conf_path(w, "tls-cert", absdir, "/tls/server.pem", "")) !=
	        RC_OK ||
	    (rc = conf_path(w, "tls-key", absdir, "/tls/server.key", "")) !=
	        RC_OK ||
	    (rc = conf_path(w, "trust-bundle", absdir, "/ca/root.pem", "")) !=
	        RC_OK ||
	    (rc = conf_path(w, "device-ca", absdir, "/ca/devices", "")) !=
	        RC_OK)
		return rc;
	return RC_OK;
}

/*
 * DPS assigns devices to the hubs made here, through their service API
 * with the registryReadWrite policy, like any linked hub (DESIGN.md §1).
 */
static int
conf_links(const struct init_opts *o, const struct init_keys *k,
    struct rc_wbuf *w)
{
	size_t i, j;
	int rc;

	for (j = 0; j < INIT_NHUBPOL; j++)
		if (strcmp(init_hub_policies[j].name, "registryReadWrite") == 0)
			break;
	if (j == INIT_NHUBPOL)
		return RC_EINVAL;
	for (i = 0; i < o->nhubs; i++)
		if ((rc = rc_wbuf_printf(w,
		         "link-hub \"HostName=%s;SharedAccessKeyName=%s;"
		         "SharedAccessKey=%s\"\n",
		         o->hubs[i].host, init_hub_policies[j].name,
		         k->hub[i][j])) != RC_OK)
			return rc;
	return RC_OK;
}

static int
conf_policies(const struct init_opts *o, const struct init_keys *k,
    struct rc_wbuf *w)
{
	size_t i, j;
	int rc;

	for (i = 0; i < INIT_NDPS; i++)
		if ((rc = rc_wbuf_printf(w, "dps-policy %s %s %s\n",
		         init_dps_policies[i].name, init_dps_policies[i].rights,
		         k->dps[i])) != RC_OK)
			return rc;
	for (i = 0; i < o->nhubs; i++) {
		if ((rc = rc_wbuf_printf(w, "hub %s %s\n", o->hubs[i].name,
		         o->hubs[i].host)) != RC_OK)
			return rc;
		for (j = 0; j < INIT_NHUBPOL; j++)
			if ((rc = rc_wbuf_printf(w, "hub-policy %s %s %s %s\n",
			         o->hubs[i].name, init_hub_policies[j].name,
			         init_hub_policies[j].rights, k->hub[i][j])) !=
			    RC_OK)
				return rc;
	}
	return conf_links(o, k, w);
}

int
init_conf_text(const struct init_opts *o, const struct init_keys *k,
    const char *absdir, struct rc_wbuf *w)
{
	int rc;

	if ((rc = rc_wbuf_puts(w,
	         "# rollcalld configuration, written by `rollcall init`.\n"
	         "# It holds secrets (the policy keys): keep it 0600.\n")) !=
	        RC_OK ||
	    (rc = conf_listen(o, w)) != RC_OK ||
	    (rc = rc_wbuf_printf(w, "id-scope %s\n", k->id_scope)) != RC_OK ||
	    (rc = conf_files(w, absdir)) != RC_OK ||
	    (rc = rc_wbuf_puts(w,
	         "roles dps hub ca\nworkers 0\nmax-body 1m\n"
	         "request-timeout 30s\nlog-level info\n")) != RC_OK ||
	    (rc = conf_policies(o, k, w)) != RC_OK)
		return rc;
	return RC_OK;
}

/* A connection string as the Azure SDKs take it (HostName without port). */
static json_t *
connstr(const char *host, const char *policy, const char *key)
{
	char cs[1024];

	if ((size_t)snprintf(cs, sizeof(cs),
	        "HostName=%s;SharedAccessKeyName=%s;SharedAccessKey=%s", host,
	        policy, key) >= sizeof(cs))
		return NULL;
	return json_string(cs);
}

/* {"connectionString": first, "connectionStrings": {name: cs, ...}} */
static int
add_connstrs(json_t *obj, const char *host, const struct init_policy *pol,
    size_t n, char *const *keys)
{
	json_t *all;
	size_t i;

	if (json_object_set_new(obj, "connectionString",
	        connstr(host, pol[0].name, keys[0])) != 0 ||
	    json_object_set_new(obj, "connectionStrings", json_object()) != 0)
		return RC_ENOMEM;
	all = json_object_get(obj, "connectionStrings");
	for (i = 0; i < n; i++)
		if (json_object_set_new(all, pol[i].name,
		        connstr(host, pol[i].name, keys[i])) != 0)
			return RC_ENOMEM;
	return RC_OK;
}

static json_t *
ca_paths(const char *absdir, const char *sub)
{
	char cert[PATH_MAX], key[PATH_MAX], dir[PATH_MAX];

	if ((size_t)snprintf(dir, sizeof(dir), "%s/ca/%s", absdir, sub) >=
	        sizeof(dir) ||
	    (size_t)snprintf(cert, sizeof(cert), "%s/ca/%s/ca.pem", absdir,
	        sub) >= sizeof(cert) ||
	    (size_t)snprintf(key, sizeof(key), "%s/ca/%s/ca.key", absdir,
	        sub) >= sizeof(key))
		return NULL;
	return json_pack("{s:s, s:s, s:s}", "cert", cert, "key", key, "dir",
	    dir);
}

static int
add_hubs(json_t *root, const struct init_opts *o, const struct init_keys *k)
{
	json_t *hubs, *h;
	size_t i;
	int rc;

	if ((hubs = json_array()) == NULL ||
	    json_object_set_new(root, "hubs", hubs) != 0)
		return RC_ENOMEM;
	for (i = 0; i < o->nhubs; i++) {
		if ((h = json_pack("{s:s, s:s}", "name", o->hubs[i].name,
		         "host", o->hubs[i].host)) == NULL ||
		    json_array_append_new(hubs, h) != 0)
			return RC_ENOMEM;
		if ((rc = add_connstrs(h, o->hubs[i].host, init_hub_policies,
		         INIT_NHUBPOL, k->hub[i])) != RC_OK)
			return rc;
	}
	return RC_OK;
}

int
init_connections_json(const struct init_opts *o, const struct init_keys *k,
    const char *absdir, json_t **out)
{
	char trust[PATH_MAX];
	json_t *root, *dps;
	int rc = RC_ENOMEM;

	*out = NULL;
	if ((size_t)snprintf(trust, sizeof(trust), "%s/ca/root.pem", absdir) >=
	    sizeof(trust))
		return RC_ETOOBIG;
	if ((root = json_pack("{s:s}", "idScope", k->id_scope)) == NULL ||
	    (dps = json_pack("{s:s, s:I, s:I}", "host", o->hosts[0],
	         "httpsPort", (json_int_t)o->https_port, "mqttPort",
	         (json_int_t)o->mqtt_port)) == NULL ||
	    json_object_set_new(root, "dps", dps) != 0)
		goto out;
	if ((rc = add_connstrs(dps, o->hosts[0], init_dps_policies, INIT_NDPS,
	         k->dps)) != RC_OK ||
	    (rc = add_hubs(root, o, k)) != RC_OK)
		goto out;
	rc = RC_ENOMEM;
	if (json_object_set_new(root, "trustBundle", json_string(trust)) != 0 ||
	    json_object_set_new(root, "deviceCa",
	        ca_paths(absdir, "devices")) != 0 ||
	    json_object_set_new(root, "rootCa", ca_paths(absdir, "root")) != 0)
		goto out;
	*out = root;
	return RC_OK;
out:
	json_decref(root);
	return rc;
}

static int
is_empty_dir(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int empty = 1;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while (empty && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return empty;
}

/* mkdir, or an existing directory made private (0700). */
static int
private_dir(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return cli_fail("cannot create %s: %s", path, strerror(errno));
	if (stat(path, &st) == -1 || !S_ISDIR(st.st_mode))
		return cli_fail("%s exists and is not a directory", path);
	if (chmod(path, 0700) == -1)
		return cli_fail("cannot chmod %s: %s", path, strerror(errno));
	return CLI_OK;
}

static int
sub_path(char *out, size_t outsize, const char *absdir, const char *rel)
{
	if ((size_t)snprintf(out, outsize, "%s/%s", absdir, rel) >= outsize)
		return cli_fail("%s/%s: path too long", absdir, rel);
	return CLI_OK;
}

/* Creates DIR (or accepts an empty one, or any with --force). */
static int
prepare_dir(const struct init_opts *o, char *absdir, size_t size)
{
	char real[PATH_MAX], sub[PATH_MAX];
	struct stat st;
	size_t i;
	int ret;

	if (stat(o->dir, &st) == 0 && S_ISDIR(st.st_mode) && !o->force &&
	    !is_empty_dir(o->dir))
		return cli_fail("%s is not empty (an existing data "
		                "directory?); "
		                "--force replaces its keys, certificates and "
		                "config",
		    o->dir);
	if ((ret = private_dir(o->dir)) != CLI_OK)
		return ret;
	if (realpath(o->dir, real) == NULL)
		return cli_fail("%s: %s", o->dir, strerror(errno));
	for (i = 0; real[i] != '\0'; i++)
		if ((unsigned char)real[i] < 0x20 || real[i] == 0x7f)
			return cli_fail("%s: the path holds a control "
			                "character",
			    o->dir);
	if ((size_t)snprintf(absdir, size, "%s", real) >= size)
		return cli_fail("%s: path too long", real);
	if ((ret = sub_path(sub, sizeof(sub), absdir, "ca")) != CLI_OK ||
	    (ret = private_dir(sub)) != CLI_OK ||
	    (ret = sub_path(sub, sizeof(sub), absdir, "tls")) != CLI_OK ||
	    (ret = private_dir(sub)) != CLI_OK)
		return ret;
	return CLI_OK;
}

static int
pki_fail(const char *what, int rc)
{
	return cli_fail("%s: %s", what, rc_strerror(rc));
}

/* The server certificate, issued by the root, with every name (init.h). */
static int
make_server_cert(const struct init_opts *o, const struct rc_ca *root,
    const char *absdir)
{
	char names[INIT_MAX_SANS * (INIT_HOST_MAX + 8)];
	char cert_path[PATH_MAX], key_path[PATH_MAX];
	const char *sans[INIT_MAX_SANS];
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	size_t n;
	int rc, ret;

	if ((ret = sub_path(cert_path, sizeof(cert_path), absdir,
	         "tls/server.pem")) != CLI_OK ||
	    (ret = sub_path(key_path, sizeof(key_path), absdir,
	         "tls/server.key")) != CLI_OK)
		return ret;
	if ((rc = init_sans(o, names, sizeof(names), sans, &n)) != RC_OK)
		return pki_fail("server certificate names", rc);
	if ((rc = rc_ca_server_cert(root, o->hosts[0], sans, n, RC_KEY_P256,
	         RC_CA_DAYS_SERVER, &cert, &key)) != RC_OK) {
		ret = pki_fail("server certificate", rc);
		goto out;
	}
	/* The key first: a certificate without its key is of no use. */
	if ((rc = rc_key_save(key, key_path, o->force)) != RC_OK ||
	    (rc = rc_ca_write_chain(cert_path, root, cert, o->force)) !=
	        RC_OK) {
		ret = pki_fail(rc == RC_EEXIST ? "tls/server.* exists"
		                               : "writing tls/server.*",
		    rc);
		goto out;
	}
	ret = CLI_OK;
out:
	X509_free(cert);
	EVP_PKEY_free(key);
	return ret;
}

static int
save_ca(const struct rc_ca *ca, const char *absdir, const char *rel, int force)
{
	char dir[PATH_MAX];
	int rc, ret;

	if ((ret = sub_path(dir, sizeof(dir), absdir, rel)) != CLI_OK)
		return ret;
	if ((rc = rc_ca_save(ca, dir, force)) != RC_OK)
		return pki_fail(dir, rc);
	return CLI_OK;
}

/* Root CA, device-signing intermediate, trust bundle, server cert. */
static int
make_pki(const struct init_opts *o, const struct init_keys *k,
    const char *absdir)
{
	struct rc_ca *root = NULL, *dev = NULL;
	char cn[64], bundle[PATH_MAX];
	int rc, ret = CLI_FAIL;

	snprintf(cn, sizeof(cn), "rollcall root CA %s", k->id_scope);
	if ((rc = rc_ca_new_root(cn, RC_KEY_P256, RC_CA_DAYS_ROOT, &root)) !=
	    RC_OK) {
		ret = pki_fail("root CA", rc);
		goto out;
	}
	snprintf(cn, sizeof(cn), "rollcall device CA %s", k->id_scope);
	if ((rc = rc_ca_new_intermediate(root, cn, RC_KEY_P256,
	         RC_CA_DAYS_INTERMEDIATE, &dev)) != RC_OK) {
		ret = pki_fail("device CA", rc);
		goto out;
	}
	if ((ret = save_ca(root, absdir, "ca/root", o->force)) != CLI_OK ||
	    (ret = save_ca(dev, absdir, "ca/devices", o->force)) != CLI_OK ||
	    (ret = sub_path(bundle, sizeof(bundle), absdir, "ca/root.pem")) !=
	        CLI_OK)
		goto out;
	if ((rc = rc_ca_write_pem(bundle, &root->cert, 1, o->force)) != RC_OK) {
		ret = pki_fail(bundle, rc);
		goto out;
	}
	ret = make_server_cert(o, root, absdir);
out:
	rc_ca_free(root);
	rc_ca_free(dev);
	return ret;
}

static int
write_conf(const struct init_opts *o, const struct init_keys *k,
    const char *absdir)
{
	char path[PATH_MAX];
	struct rc_wbuf w;
	int rc, ret;

	if ((ret = sub_path(path, sizeof(path), absdir, "rollcall.conf")) !=
	    CLI_OK)
		return ret;
	rc_wbuf_init(&w, CLI_MAX_FILE);
	if ((rc = init_conf_text(o, k, absdir, &w)) != RC_OK ||
	    (rc = rc_file_write(path, w.data, w.len, 0600, o->force)) != RC_OK)
		ret = cli_fail("%s: %s", path, rc_strerror(rc));
	rc_wbuf_free_secret(&w);
	return ret;
}

static int
write_connections(const struct init_opts *o, const struct init_keys *k,
    const char *absdir, json_t **out)
{
	char path[PATH_MAX], *text = NULL;
	size_t len = 0;
	int rc, ret;

	*out = NULL;
	if ((ret = sub_path(path, sizeof(path), absdir, "connections.json")) !=
	    CLI_OK)
		return ret;
	if ((rc = init_connections_json(o, k, absdir, out)) != RC_OK ||
	    (rc = rc_json_dump(*out, 1, &text, &len)) != RC_OK ||
	    (rc = rc_file_write(path, text, len, 0600, o->force)) != RC_OK)
		ret = cli_fail("%s: %s", path, rc_strerror(rc));
	if (text != NULL)
		rc_free_secret(text, len);
	return ret;
}

static void
print_summary(const struct init_opts *o, const struct init_keys *k,
    const char *absdir)
{
	size_t i;

	printf("data directory %s is ready\n\n", absdir);
	printf("  start the server  rollcalld -d -f %s/rollcall.conf\n",
	    absdir);
	printf("  ID scope          %s\n", k->id_scope);
	printf("  DPS               %s (https %ld, mqtt %ld)\n", o->hosts[0],
	    o->https_port, o->mqtt_port);
	for (i = 0; i < o->nhubs; i++)
		printf("  hub               %s at %s\n", o->hubs[i].name,
		    o->hubs[i].host);
	printf("  trust bundle      %s/ca/root.pem\n", absdir);
	printf("  device CA         %s/ca/devices\n", absdir);
	printf("  connections       %s/connections.json "
	       "(secrets; `rollcall init --json` prints it)\n",
	    absdir);
	printf("\n  try: rollcall enrollment list --data %s\n", absdir);
}

static int
help(void)
{
	printf("usage: %s\n\n"
	       "Makes a data directory for rollcalld: a root CA, a device-"
	       "signing CA,\na server TLS certificate, SAS policy keys, "
	       "rollcall.conf and connections.json.\n\n"
	       "  --hostname NAME    a name (or IP) clients use; repeatable; "
	       "the first\n"
	       "                     is the DPS and default hub host "
	       "(default localhost)\n"
	       "  --listen ADDR      address to listen on; repeatable "
	       "(default 0.0.0.0)\n"
	       "  --https-port N     default 443 (0: any free port)\n"
	       "  --mqtt-port N      default 8883 (0: any free port)\n"
	       "  --hub NAME[=HOST]  a hub; repeatable (default: one, named "
	       "after the\n"
	       "                     first host name, on that host)\n"
	       "  --json             print connections.json\n"
	       "  --force            replace an existing data directory's "
	       "files\n",
	    USAGE);
	return CLI_OK;
}

int
cmd_init(int argc, char **argv)
{
	char absdir[PATH_MAX];
	struct init_opts o;
	struct init_keys k;
	json_t *conn = NULL;
	int ret;

	memset(&k, 0, sizeof(k));
	if ((ret = init_parse_opts(argc, argv, &o)) != CLI_OK)
		return ret;
	if (o.help)
		return help();
	if ((ret = prepare_dir(&o, absdir, sizeof(absdir))) != CLI_OK)
		return ret;
	if (init_keys_new(&o, &k) != RC_OK)
		return cli_fail("cannot make random keys");
	if ((ret = make_pki(&o, &k, absdir)) != CLI_OK ||
	    (ret = write_connections(&o, &k, absdir, &conn)) != CLI_OK ||
	    (ret = write_conf(&o, &k, absdir)) != CLI_OK)
		goto out;
	if (o.json)
		ret = client_print_json(conn);
	else
		print_summary(&o, &k, absdir);
out:
	json_decref(conn);
	init_keys_clear(&k);
	return ret;
}
