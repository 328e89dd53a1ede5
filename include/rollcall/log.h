/*
 * Logging in the manner of OpenBSD daemons: every line carries the process
 * name; *x variants omit errno, the others append strerror(errno).  Output
 * goes to stderr (foreground, -d) or syslog (daemon).  fatal/fatalx log and
 * exit(1): for broken invariants and bad startup configuration only, never
 * for network input (STYLE.md rule 8).
 *
 * Never log key material: log thumbprints, serials and names instead.
 */
#ifndef ROLLCALL_LOG_H
#define ROLLCALL_LOG_H

#include <stdarg.h>
#include <stdio.h>

#define RC_FMT(a, b) __attribute__((format(printf, a, b)))

/*
 * name: the process name put on every line.  to_stderr: 1 for stderr,
 * 0 for syslog(LOG_DAEMON).  verbose: 0 info, 1 debug.
 */
void rc_log_init(const char *name, int to_stderr, int verbose);
void rc_log_setverbose(int verbose);
int rc_log_getverbose(void);
/* Sends the lines to a file instead (tests); NULL returns to stderr. */
void rc_log_setfile(FILE *);

void rc_log_warn(const char *, ...) RC_FMT(1, 2);
void rc_log_warnx(const char *, ...) RC_FMT(1, 2);
void rc_log_info(const char *, ...) RC_FMT(1, 2);
void rc_log_debug(const char *, ...) RC_FMT(1, 2);
void rc_fatal(const char *, ...) RC_FMT(1, 2) __attribute__((noreturn));
void rc_fatalx(const char *, ...) RC_FMT(1, 2) __attribute__((noreturn));
/* OpenSSL's error queue, drained into one warn line after the message. */
void rc_log_ssl(const char *, ...) RC_FMT(1, 2);

#endif
