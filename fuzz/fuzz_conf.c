/*
 * Fuzz target for the config parser (conf.h), over a table that uses
 * every type and flag.  Invariants: no crash, leak or sanitizer report;
 * every error message starts with the file name; and a file that parses
 * dumps to a text that parses again to the same config, which shows as
 * the same dump (secrets and unset options are comments in a dump, so
 * comment lines are left out of the comparison).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/conf.h"

struct cfg {
	char *listen;
	long long port;
	struct rc_strlist roles;
	char *data_dir;
	struct rc_strlist hub_key;
	int level;
	struct rc_strlist hubs;
	struct rc_strlist tags;
	int verbose;
	long long max_body;
	long long timeout;
	long long offset;
	char *password;
	char *name;
};

static const char *const levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const roles[] = {"dps", "hub", "ca", NULL};

#define OFF(f) offsetof(struct cfg, f)

static const struct rc_conf_opt table[] = {
    {.name = "listen",
        .type = RC_CONF_STRING,
        .offset = OFF(listen),
        .def = "127.0.0.1"},
    {.name = "https-port",
        .type = RC_CONF_INT,
        .offset = OFF(port),
        .min = 1,
        .max = 65535,
        .def = "443"},
    {.name = "roles",
        .type = RC_CONF_LIST,
        .offset = OFF(roles),
        .def = "dps hub ca",
        .choices = roles},
    {.name = "data-dir",
        .type = RC_CONF_PATH,
        .offset = OFF(data_dir),
        .def = "/var/lib/rollcall",
        .flags = RC_CONF_REQUIRED},
    {.name = "hub-key",
        .type = RC_CONF_LIST,
        .offset = OFF(hub_key),
        .min = 2,
        .max = 2,
        .flags = RC_CONF_SECRET | RC_CONF_REPEAT},
    {.name = "log-level",
        .type = RC_CONF_ENUM,
        .offset = OFF(level),
        .def = "info",
        .choices = levels},
    {.name = "hub",
        .type = RC_CONF_LIST,
        .offset = OFF(hubs),
        .min = 1,
        .max = 1,
        .flags = RC_CONF_REPEAT},
    {.name = "tags",
        .type = RC_CONF_LIST,
        .offset = OFF(tags),
        .min = 1,
        .max = 4,
        .flags = RC_CONF_REPEAT},
    {.name = "verbose",
        .type = RC_CONF_BOOL,
        .offset = OFF(verbose),
        .def = "no",
        .flags = RC_CONF_REPEAT},
    {.name = "max-body",
        .type = RC_CONF_SIZE,
        .offset = OFF(max_body),
        .def = "1m"},
    {.name = "timeout",
        .type = RC_CONF_DURATION,
        .offset = OFF(timeout),
        .min = 1,
        .max = 7 * 86400,
        .def = "30s"},
    {.name = "offset", .type = RC_CONF_INT, .offset = OFF(offset)},
    {.name = "password",
        .type = RC_CONF_STRING,
        .offset = OFF(password),
        .flags = RC_CONF_SECRET},
    {.name = "name", .type = RC_CONF_STRING, .offset = OFF(name)},
    {.name = NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The dump without its comment lines. */
static char *
dump(const struct cfg *c, size_t *len)
{
	char *out = NULL, *r, *w, *nl;
	FILE *f;

	if ((f = open_memstream(&out, len)) == NULL)
		abort();
	if (rc_conf_dump(table, c, f) != RC_OK)
		abort();
	fclose(f);
	for (r = w = out; *r != '\0'; r = nl + 1) {
		if ((nl = strchr(r, '\n')) == NULL)
			abort();
		if (*r == '#')
			continue;
		memmove(w, r, (size_t)(nl - r) + 1);
		w += nl - r + 1;
	}
	*w = '\0';
	*len = (size_t)(w - out);
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], *d1 = NULL, *d2 = NULL;
	struct cfg a, b;
	size_t l1, l2;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (rc_conf_defaults(table, &a) != RC_OK ||
	    rc_conf_defaults(table, &b) != RC_OK)
		abort();
	if (rc_conf_parse(table, &a, (const char *)data, size, "f.conf", err,
	        sizeof(err)) != RC_OK) {
		if (strncmp(err, "f.conf:", 7) != 0)
			abort();
		goto out;
	}
	d1 = dump(&a, &l1);
	if (rc_conf_parse(table, &b, d1, l1, "dump", err, sizeof(err)) !=
	    RC_OK) {
		fprintf(stderr, "dump does not parse: %s\n%s", err, d1);
		abort();
	}
	d2 = dump(&b, &l2);
	if (l1 != l2 || memcmp(d1, d2, l1) != 0) {
		fprintf(stderr, "dumps differ:\n%s----\n%s", d1, d2);
		abort();
	}
out:
	free(d1);
	free(d2);
	rc_conf_free(table, &a);
	rc_conf_free(table, &b);
	return 0;
}
