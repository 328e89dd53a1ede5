/*
 * Shared plumbing of the CLI commands: dispatch, messages, files.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "rollcall/buf.h"
#include "rollcall/enc.h"
#include "rollcall/file.h"
#include "rollcall/mem.h"

static int
group_help(FILE *f, const char *group, const struct cli_sub *subs, int rc)
{
	const struct cli_sub *s;

	fprintf(f, "usage: rollcall %s <subcommand> [options]\n\n", group);
	for (s = subs; s->name != NULL; s++)
		fprintf(f, "  %-18s %s\n", s->name, s->summary);
	fprintf(f, "\n'rollcall %s <subcommand> --help' for its options.\n",
	    group);
	return rc;
}

int
cli_dispatch(const char *group, const struct cli_sub *subs, int argc,
    char **argv)
{
	const struct cli_sub *s;

	if (argc < 2)
		return group_help(stderr, group, subs, CLI_USAGE);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0)
		return group_help(stdout, group, subs, CLI_OK);
	for (s = subs; s->name != NULL; s++) {
		if (strcmp(argv[1], s->name) != 0)
			continue;
		optind = 1;
		opterr = 1;
		return s->fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "rollcall %s: unknown subcommand '%s'\n", group,
	    argv[1]);
	return group_help(stderr, group, subs, CLI_USAGE);
}

int
cli_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "rollcall: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return CLI_FAIL;
}

int
cli_usage(const char *usage, const char *fmt, ...)
{
	va_list ap;

	if (fmt != NULL) {
		fprintf(stderr, "rollcall: ");
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fprintf(stderr, "\n");
	}
	fprintf(stderr, "usage: %s\n", usage);
	return CLI_USAGE;
}

int
cli_read_file(const char *path, uint8_t **data, size_t *len)
{
	int rc;

	/* errno still says why when the file is missing or unreadable */
	rc = rc_file_read(path, CLI_MAX_FILE, data, len);
	return rc == RC_ENOENT ? RC_EIO : rc;
}

int
cli_parse_days(const char *usage, const char *s, int *out)
{
	long long v;

	*out = 0;
	if (rc_strtonum(s, 1, 36500, &v) != RC_OK)
		return cli_usage(usage,
		    "--days: '%s' is not a number of "
		    "days between 1 and 36500",
		    s);
	*out = (int)v;
	return CLI_OK;
}

#define DURATION_MAX (100LL * 365 * 86400)

long long
cli_parse_duration(const char *s)
{
	char num[24];
	size_t n = strlen(s);
	long long v, mul = 1;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 'd':
		mul = 86400;
		break;
	case 'h':
		mul = 3600;
		break;
	case 'm':
		mul = 60;
		break;
	case 's':
		break;
	default:
		n++; /* plain seconds: nothing to cut */
		break;
	}
	num[n - 1] = '\0';
	if (rc_strtonum(num, 0, DURATION_MAX / mul, &v) != RC_OK)
		return -1;
	return v * mul;
}
