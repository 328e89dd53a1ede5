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
	struct rc_wbuf w;
	uint8_t chunk[8192];
	size_t n;
	FILE *f;
	int rc;

	*data = NULL;
	*len = 0;
	if ((f = fopen(path, "rb")) == NULL)
		return RC_EIO;
	rc_wbuf_init(&w, CLI_MAX_FILE);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if ((rc = rc_wbuf_append(&w, chunk, n)) != RC_OK)
			goto out;
	if (ferror(f)) {
		rc = RC_EIO;
		goto out;
	}
	rc = rc_wbuf_detach(&w, (char **)data, len);
out:
	fclose(f);
	rc_wbuf_free(&w);
	return rc;
}

int
cli_write_file(const char *path, const void *data, size_t len, int mode,
    int overwrite)
{
	char tmp[4096], dircopy[4096];
	const uint8_t *p = data;
	ssize_t n;
	int fd = -1, dfd = -1, rc = RC_EIO;

	if (!overwrite && access(path, F_OK) == 0)
		return RC_EEXIST;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >=
	    sizeof(tmp))
		return RC_ETOOBIG;
	if ((fd = mkstemp(tmp)) == -1)
		return RC_EIO;
	if (fchmod(fd, (mode_t)mode) == -1)
		goto out;
	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) == -1)
		goto out;
	if (close(fd) == -1) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (!overwrite && link(tmp, path) == -1) {
		rc = errno == EEXIST ? RC_EEXIST : RC_EIO;
		goto out;
	}
	if (overwrite && rename(tmp, path) == -1)
		goto out;
	if (!overwrite)
		unlink(tmp);
	snprintf(dircopy, sizeof(dircopy), "%s", path);
	if ((dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY)) != -1) {
		fsync(dfd);
		close(dfd);
	}
	return RC_OK;
out:
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return rc;
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
