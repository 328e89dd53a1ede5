/*
 * rollcall.conf: the table of rollcalld's keywords and the checks the
 * table cannot express.
 *
 * The conf module (conf.h) owns the syntax: one keyword per line, its
 * words, "quoted" words, '#' comments, types and bounds.  This file adds
 * the rules that span words or touch the system:
 * - listen addresses are IP literals, host names are DNS names or IP
 *   literals, the two ports differ unless 0;
 * - the ID scope (a path segment of the device API) is letters and digits;
 * - each dps-policy / hub-policy line builds a policy (rc_policy_set): its
 *   rights belong to the role, its key is base64 of 16..64 bytes, names
 *   are unique; a hub-policy names a declared hub;
 * - tls-cert, tls-key, trust-bundle are readable regular files, device-ca
 *   a directory, and tls-key is not open to group or others (a key anyone
 *   else can read must be assumed leaked);
 * so a daemon that passed config_load starts or fails only on resources
 * (ports, store).  Every message names FILE:LINE of the offending line
 * when the keyword appears in the file.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "rollcall/ca.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"

static const char *const role_names[] = {"dps", "hub", "ca", NULL};
static const char *const log_levels[] = {"info", "debug", NULL};

#define OPT(kw, type, field, min, max, def, choices, flags, help)        \
	{                                                                \
		kw, type, offsetof(struct config, field), min, max, def, \
		    choices, flags, help                                 \
	}

static const struct rc_conf_opt table[] = {
    OPT("listen", RC_CONF_LIST, listen, 0, 0, "0.0.0.0", NULL, RC_CONF_REPEAT,
        "IP addresses to bind (both ports on each)"),
    OPT("https-port", RC_CONF_INT, https_port, 0, 65535, "443", NULL, 0,
        "HTTPS port (service and device APIs); 0 picks a free one"),
    OPT("mqtt-port", RC_CONF_INT, mqtt_port, 0, 65535, "8883", NULL, 0,
        "MQTT over TLS port; 0 picks a free one"),
    OPT("hostname", RC_CONF_LIST, hostname, 0, 0, "localhost", NULL,
        RC_CONF_REPEAT,
        "host names the server answers to; the first is the default"),
    OPT("id-scope", RC_CONF_STRING, id_scope, 0, 0, NULL, NULL, 0,
        "DPS ID scope (first path segment of the device API)"),
    OPT("store", RC_CONF_STRING, store, 0, 0,
        "sqlite:/var/lib/rollcall/rollcall.db", NULL, 0,
        "the store (sqlite:/path/rollcall.db)"),
    OPT("tls-cert", RC_CONF_PATH, tls_cert, 0, 0, NULL, NULL, RC_CONF_REQUIRED,
        "server certificate and its chain (PEM)"),
    OPT("tls-key", RC_CONF_PATH, tls_key, 0, 0, NULL, NULL, RC_CONF_REQUIRED,
        "server private key (PEM, mode 0600)"),
    OPT("trust-bundle", RC_CONF_PATH, trust_bundle, 0, 0, NULL, NULL, 0,
        "CA certificates clients trust (for reference)"),
    OPT("device-ca", RC_CONF_PATH, device_ca, 0, 0, NULL, NULL, 0,
        "directory of the device-signing CA"),
    OPT("device-cert-validity", RC_CONF_DURATION, device_cert_validity,
        RC_CA_SECS_MIN, RC_CA_DAYS_MAX * 86400LL, "365d", NULL, 0,
        "lifetime of the device certificates the CA issues from CSRs"),
    OPT("roles", RC_CONF_LIST, roles, 0, 0, "dps hub ca", role_names, 0,
        "roles to run"),
    OPT("workers", RC_CONF_INT, workers, 0, 1024, "0", NULL, 0,
        "worker threads; 0 = one per CPU"),
    OPT("max-body", RC_CONF_SIZE, max_body, 1024, 64LL << 20, "1m", NULL, 0,
        "largest request body (413 above it)"),
    OPT("request-timeout", RC_CONF_DURATION, request_timeout, 1, 3600, "30s",
        NULL, 0, "time allowed to send a request's header and body"),
    OPT("mqtt-max-packet", RC_CONF_SIZE, mqtt_max_packet, 1024, 16LL << 20,
        "260k", NULL, 0,
        "largest MQTT packet a device may send (256 KiB of telemetry "
        "and its topic fit the default)"),
    OPT("mqtt-connect-timeout", RC_CONF_DURATION, mqtt_connect_timeout, 1, 300,
        "10s", NULL, 0, "time a device has to send CONNECT after TLS"),
    OPT("log-level", RC_CONF_ENUM, log_level, 0, 0, "info", log_levels, 0,
        "log verbosity"),
    OPT("dps-policy", RC_CONF_LIST, dps_policy, 3, 3, NULL, NULL,
        RC_CONF_REPEAT | RC_CONF_SECRET,
        "DPS shared access policy: NAME RIGHTS KEY"),
    OPT("hub", RC_CONF_LIST, hub, 2, 2, NULL, NULL, RC_CONF_REPEAT,
        "a hub: NAME HOSTNAME"),
    OPT("hub-policy", RC_CONF_LIST, hub_policy, 4, 4, NULL, NULL,
        RC_CONF_REPEAT | RC_CONF_SECRET,
        "hub shared access policy: HUB NAME RIGHTS KEY"),
    OPT("link-hub", RC_CONF_LIST, link_hub, 1, 1, NULL, NULL,
        RC_CONF_REPEAT | RC_CONF_SECRET,
        "a hub DPS assigns devices to: its service connection string "
        "(HostName=...;SharedAccessKeyName=...;SharedAccessKey=...), with "
        "RegistryWrite; the first is the default"),
    OPT("user", RC_CONF_STRING, user, 0, 0, NULL, NULL, 0,
        "user to run as after binding (when started as root)"),
    {NULL, 0, 0, 0, 0, NULL, NULL, 0, NULL},
};

/* Where messages point: the file's name and, once needed, its text. */
struct src {
	const char *name;
	const char *text;
	size_t len;
	char *owned; /* text read back from path for line numbers */
	const char *path;
	char *err;
	size_t errlen;
};

static void
src_text(struct src *s)
{
	struct stat st;
	ssize_t r;
	int fd;

	if (s->text != NULL || s->path == NULL)
		return;
	if ((fd = open(s->path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	if (fstat(fd, &st) == 0 && st.st_size >= 0 &&
	    st.st_size <= RC_CONF_MAX_FILE &&
	    (s->owned = rc_malloc((size_t)st.st_size + 1)) != NULL) {
		r = read(fd, s->owned, (size_t)st.st_size);
		s->len = r > 0 ? (size_t)r : 0;
		s->text = s->owned;
	}
	close(fd);
}

/* Does the line [p, end) start with keyword kw and hold word (if set)? */
static int
line_is(const char *p, const char *end, const char *kw, const char *word)
{
	size_t kwlen = strlen(kw), wlen;
	const char *q;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if ((size_t)(end - p) < kwlen || strncasecmp(p, kw, kwlen) != 0)
		return 0;
	p += kwlen;
	if (p < end && *p != ' ' && *p != '\t' && *p != '\r')
		return 0;
	if (word == NULL)
		return 1;
	wlen = strlen(word);
	for (q = p; wlen > 0 && (size_t)(end - q) >= wlen; q++)
		if (memcmp(q, word, wlen) == 0)
			return 1;
	return 0;
}

/*
 * The line number of the nth line setting kw (or of the first one holding
 * word); 0 when the keyword is not in the text (a default value).
 */
static unsigned long
src_line(struct src *s, const char *kw, size_t nth, const char *word)
{
	const char *p, *end, *nl;
	unsigned long line = 0;

	src_text(s);
	if (s->text == NULL)
		return 0;
	end = s->text + s->len;
	for (p = s->text; p < end; p = nl + 1) {
		line++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (!line_is(p, nl, kw, word))
			continue;
		if (word != NULL || nth-- == 0)
			return line;
	}
	return 0;
}

static int cfail(struct src *s, const char *kw, size_t nth, const char *word,
    const char *fmt, ...) RC_FMT(5, 6);

/* "FILE:LINE: kw: reason", or "FILE: kw: reason"; returns RC_EPARSE. */
static int
cfail(struct src *s, const char *kw, size_t nth, const char *word,
    const char *fmt, ...)
{
	unsigned long line;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	line = src_line(s, kw, nth, word);
	if (line > 0)
		snprintf(s->err, s->errlen, "%s:%lu: %s: %s", s->name, line, kw,
		    msg);
	else
		snprintf(s->err, s->errlen, "%s: %s: %s", s->name, kw, msg);
	return RC_EPARSE;
}

static int
is_ip(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* RFC 1123 §2.1 host names: labels of letters, digits and '-'. */
static int
is_dns_name(const char *s)
{
	size_t len = strlen(s), label = 0, i;

	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
		if ((label == 0 && s[i] == '-') || ++label > 63)
			return 0;
	}
	return label > 0 && s[len - 1] != '-';
}

static int
is_word(const char *s, size_t max, const char *extra)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    (extra == NULL || strchr(extra, s[i]) == NULL))
			return 0;
	return 1;
}

static int
check_net(struct config *c, struct src *s)
{
	size_t i;

	for (i = 0; i < c->listen.n; i++)
		if (!is_ip(c->listen.v[i]))
			return cfail(s, "listen", 0, c->listen.v[i],
			    "'%s' is not an IP address", c->listen.v[i]);
	for (i = 0; i < c->hostname.n; i++)
		if (!is_ip(c->hostname.v[i]) && !is_dns_name(c->hostname.v[i]))
			return cfail(s, "hostname", 0, c->hostname.v[i],
			    "'%s' is not a host name or IP address",
			    c->hostname.v[i]);
	if (c->https_port != 0 && c->https_port == c->mqtt_port)
		return cfail(s, "mqtt-port", 0, NULL,
		    "same port as https-port (%lld)", c->mqtt_port);
	return RC_OK;
}

static int
check_roles(struct config *c, struct src *s)
{
	size_t i;

	c->roles_mask = 0;
	for (i = 0; i < c->roles.n; i++) {
		if (strcasecmp(c->roles.v[i], "dps") == 0)
			c->roles_mask |= ROLE_DPS;
		else if (strcasecmp(c->roles.v[i], "hub") == 0)
			c->roles_mask |= ROLE_HUB;
		else
			c->roles_mask |= ROLE_CA;
	}
	if ((c->roles_mask & ROLE_DPS) == 0)
		return RC_OK;
	if (c->id_scope == NULL)
		return cfail(s, "id-scope", 0, NULL,
		    "required when the dps role runs");
	if (!is_word(c->id_scope, 64, NULL))
		return cfail(s, "id-scope", 0, NULL,
		    "'%s' is not 1..64 letters and digits", c->id_scope);
	return RC_OK;
}

static int
check_file(struct src *s, const char *kw, const char *path, int dir,
    int private)
{
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return cfail(s, kw, 0, NULL, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) == -1) {
		close(fd);
		return cfail(s, kw, 0, NULL, "%s: %s", path, strerror(errno));
	}
	close(fd);
	if (dir && !S_ISDIR(st.st_mode))
		return cfail(s, kw, 0, NULL, "%s: not a directory", path);
	if (!dir && !S_ISREG(st.st_mode))
		return cfail(s, kw, 0, NULL, "%s: not a regular file", path);
	if (private && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		return cfail(s, kw, 0, NULL,
		    "%s: mode %03o lets group or others in (chmod 600)", path,
		    (unsigned)(st.st_mode & 0777));
	return RC_OK;
}

static int
check_files(struct config *c, struct src *s)
{
	int rc;

	if ((rc = check_file(s, "tls-cert", c->tls_cert, 0, 0)) != RC_OK)
		return rc;
	if ((rc = check_file(s, "tls-key", c->tls_key, 0, 1)) != RC_OK)
		return rc;
	if (c->trust_bundle != NULL &&
	    (rc = check_file(s, "trust-bundle", c->trust_bundle, 0, 0)) !=
	        RC_OK)
		return rc;
	if (c->device_ca != NULL &&
	    (rc = check_file(s, "device-ca", c->device_ca, 1, 0)) != RC_OK)
		return rc;
	return RC_OK;
}

/*
 * Builds policy p from words (name, rights, key) of the nth kw line;
 * rights must lie within allowed.
 */
static int
make_policy(struct src *s, const char *kw, size_t nth, char *const *w,
    unsigned allowed, struct rc_policy *p)
{
	unsigned mask;
	char bad[64];
	int rc;

	if (!is_word(w[0], 64, "-_."))
		return cfail(s, kw, nth, NULL,
		    "policy name '%.64s' is not 1..64 of [A-Za-z0-9._-]", w[0]);
	if (rc_rights_parse(w[1], &mask, bad, sizeof(bad)) != RC_OK)
		return cfail(s, kw, nth, NULL, "%s: unknown right '%s'", w[0],
		    bad);
	if ((mask & ~allowed) != 0)
		return cfail(s, kw, nth, NULL,
		    "%s: a right in '%s' does not belong to this role", w[0],
		    w[1]);
	rc = rc_policy_set(p, w[0], w[1], w[2]);
	if (rc == RC_ENOMEM)
		return cfail(s, kw, nth, NULL, "out of memory");
	if (rc != RC_OK)
		return cfail(s, kw, nth, NULL,
		    "%s: key is not base64 of 16 to 64 bytes", w[0]);
	return RC_OK;
}

static int
dup_policy(const struct rc_policy *p, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(p[i].name, name) == 0)
			return 1;
	return 0;
}

static int
check_dps_policies(struct config *c, struct src *s)
{
	size_t i, n = c->dps_policy.n / 3;
	int rc;

	if (n == 0)
		return RC_OK;
	if ((c->dps_policies = rc_calloc(n, sizeof(*c->dps_policies))) == NULL)
		return cfail(s, "dps-policy", 0, NULL, "out of memory");
	for (i = 0; i < n; i++) {
		if (dup_policy(c->dps_policies, i, c->dps_policy.v[3 * i]))
			return cfail(s, "dps-policy", i, NULL,
			    "policy '%s' given twice", c->dps_policy.v[3 * i]);
		if ((rc = make_policy(s, "dps-policy", i,
		         &c->dps_policy.v[3 * i], RC_RIGHTS_DPS_ALL,
		         &c->dps_policies[i])) != RC_OK)
			return rc;
		c->ndps_policies++;
	}
	return RC_OK;
}

static struct config_hub *
find_hub(struct config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nhubs; i++)
		if (strcasecmp(c->hubs[i].name, name) == 0)
			return &c->hubs[i];
	return NULL;
}

static int
check_hubs(struct config *c, struct src *s)
{
	size_t i, n = c->hub.n / 2;
	char **w;

	if (n == 0)
		return RC_OK;
	if ((c->hubs = rc_calloc(n, sizeof(*c->hubs))) == NULL)
		return cfail(s, "hub", 0, NULL, "out of memory");
	for (i = 0; i < n; i++) {
		w = &c->hub.v[2 * i];
		if (!is_word(w[0], 50, "-"))
			return cfail(s, "hub", i, NULL,
			    "hub name '%.64s' is not 1..50 of [A-Za-z0-9-]",
			    w[0]);
		if (find_hub(c, w[0]) != NULL)
			return cfail(s, "hub", i, NULL, "hub '%s' given twice",
			    w[0]);
		if (!is_ip(w[1]) && !is_dns_name(w[1]))
			return cfail(s, "hub", i, NULL,
			    "'%s' is not a host name or IP address", w[1]);
		c->hubs[i].name = w[0];
		c->hubs[i].host = w[1];
		c->nhubs++;
	}
	return RC_OK;
}

static int
check_hub_policies(struct config *c, struct src *s)
{
	struct config_hub *h;
	struct rc_policy *np;
	size_t i, n = c->hub_policy.n / 4;
	char **w;
	int rc;

	for (i = 0; i < n; i++) {
		w = &c->hub_policy.v[4 * i];
		if ((h = find_hub(c, w[0])) == NULL)
			return cfail(s, "hub-policy", i, NULL,
			    "no 'hub %s' line declares this hub", w[0]);
		if (dup_policy(h->policies, h->npolicies, w[1]))
			return cfail(s, "hub-policy", i, NULL,
			    "policy '%s' given twice for hub %s", w[1], w[0]);
		np =
		    rc_reallocarray(h->policies, h->npolicies + 1, sizeof(*np));
		if (np == NULL)
			return cfail(s, "hub-policy", i, NULL, "out of memory");
		h->policies = np;
		if ((rc = make_policy(s, "hub-policy", i, &w[1],
		         RC_RIGHTS_HUB_ALL, &h->policies[h->npolicies])) !=
		    RC_OK)
			return rc;
		h->npolicies++;
	}
	return RC_OK;
}

static int
check(struct config *c, struct src *s)
{
	int rc;

	if ((rc = check_net(c, s)) != RC_OK)
		return rc;
	if ((rc = check_roles(c, s)) != RC_OK)
		return rc;
	if ((rc = check_dps_policies(c, s)) != RC_OK)
		return rc;
	if ((rc = check_hubs(c, s)) != RC_OK)
		return rc;
	if ((rc = check_hub_policies(c, s)) != RC_OK)
		return rc;
	return check_files(c, s);
}

static void
src_init(struct src *s, const char *name, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->err = err;
	s->errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';
}

int
config_parse(const char *name, const char *text, size_t len, struct config *cfg,
    char *err, size_t errlen)
{
	struct src s;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	src_init(&s, name, err, errlen);
	s.text = text;
	s.len = len;
	if ((rc = rc_conf_defaults(table, cfg)) != RC_OK) {
		snprintf(err, errlen, "%s: bad built-in defaults", name);
		goto out;
	}
	if ((rc = rc_conf_parse(table, cfg, text, len, name, err, errlen)) !=
	    RC_OK)
		goto out;
	rc = check(cfg, &s);
out:
	if (rc != RC_OK)
		config_free(cfg);
	return rc;
}

int
config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
	struct src s;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	src_init(&s, path, err, errlen);
	s.path = path;
	if ((rc = rc_conf_defaults(table, cfg)) != RC_OK) {
		snprintf(err, errlen, "%s: bad built-in defaults", path);
		goto out;
	}
	if ((rc = rc_conf_load(table, cfg, path, err, errlen)) != RC_OK)
		goto out;
	rc = check(cfg, &s);
out:
	if (s.owned != NULL)
		rc_free_secret(s.owned, s.len + 1);
	if (rc != RC_OK)
		config_free(cfg);
	return rc;
}

void
config_free(struct config *cfg)
{
	size_t i, j;

	for (i = 0; i < cfg->ndps_policies; i++)
		rc_policy_clear(&cfg->dps_policies[i]);
	rc_free(cfg->dps_policies);
	for (i = 0; i < cfg->nhubs; i++) {
		for (j = 0; j < cfg->hubs[i].npolicies; j++)
			rc_policy_clear(&cfg->hubs[i].policies[j]);
		rc_free(cfg->hubs[i].policies);
	}
	rc_free(cfg->hubs);
	rc_conf_free(table, cfg);
	memset(cfg, 0, sizeof(*cfg));
}

int
config_workers(const struct config *cfg)
{
	long n;

	if (cfg->workers > 0)
		return (int)cfg->workers;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	return n > 64 ? 64 : (int)n;
}
