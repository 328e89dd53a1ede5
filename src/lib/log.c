/*
 * Logging backend.  Lines are formatted into one buffer and written with a
 * single call, so lines from worker threads do not interleave.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <openssl/err.h>

#include "rollcall/log.h"

#define LINE_MAX_LEN 2048

static const char *procname = "rollcall";
static int use_stderr = 1;
static int verbosity;
static FILE *logfile;

void
rc_log_init(const char *name, int to_stderr, int verbose)
{
	procname = name;
	use_stderr = to_stderr;
	verbosity = verbose;
	if (!use_stderr)
		openlog(name, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
rc_log_setverbose(int verbose)
{
	verbosity = verbose;
}

int
rc_log_getverbose(void)
{
	return verbosity;
}

void
rc_log_setfile(FILE *f)
{
	logfile = f;
}

static void __attribute__((format(printf, 3, 0)))
vlog(int pri, const char *suffix, const char *fmt, va_list ap)
{
	char line[LINE_MAX_LEN];
	int n;

	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	if (!use_stderr) {
		if (suffix != NULL)
			syslog(pri, "%s: %s", line, suffix);
		else
			syslog(pri, "%s", line);
		return;
	}
	fprintf(logfile != NULL ? logfile : stderr, "%s: %s%s%s\n", procname,
	    line, suffix != NULL ? ": " : "", suffix != NULL ? suffix : "");
}

#define LOGFN(fn, pri, withsuffix, level)                              \
	void fn(const char *fmt, ...)                                  \
	{                                                              \
		const char *sfx = withsuffix ? strerror(errno) : NULL; \
		va_list ap;                                            \
                                                                       \
		if (verbosity < level)                                 \
			return;                                        \
		va_start(ap, fmt);                                     \
		vlog(pri, sfx, fmt, ap);                               \
		va_end(ap);                                            \
	}

LOGFN(rc_log_warn, LOG_WARNING, 1, 0)
LOGFN(rc_log_warnx, LOG_WARNING, 0, 0)
LOGFN(rc_log_info, LOG_INFO, 0, 0)
LOGFN(rc_log_debug, LOG_DEBUG, 0, 1)

void
rc_fatal(const char *fmt, ...)
{
	const char *sfx = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, sfx, fmt, ap);
	va_end(ap);
	exit(1);
}

void
rc_fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

void
rc_log_ssl(const char *fmt, ...)
{
	char reason[256];
	unsigned long e;
	va_list ap;

	e = ERR_get_error();
	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	else
		snprintf(reason, sizeof(reason), "no OpenSSL error");
	while (ERR_get_error() != 0)
		continue;
	va_start(ap, fmt);
	vlog(LOG_WARNING, reason, fmt, ap);
	va_end(ap);
}
