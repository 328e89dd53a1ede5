/*
 * The rollcall CLI: one file per command group (cmd_<group>.c), each with an
 * entry point that receives argv starting at the group name and dispatches
 * its own subcommands.  Exit codes are a contract: 0 success, 1 failure,
 * 2 usage error.
 */
#ifndef ROLLCALL_CLI_H
#define ROLLCALL_CLI_H

#include <stddef.h>
#include <stdint.h>

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

/* Largest file the CLI reads (certificates, CSRs, keys, configs). */
#define CLI_MAX_FILE (1024 * 1024)

struct cli_sub {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

/* Group entry points (argv[0] is the group name). */
int cmd_key(int argc, char **argv);
int cmd_ca(int argc, char **argv);
int cmd_cert(int argc, char **argv);
int cmd_sas(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_enrollment(int argc, char **argv);
int cmd_group(int argc, char **argv);
int cmd_registration(int argc, char **argv);
int cmd_cacert(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_device(int argc, char **argv);
int cmd_twin(int argc, char **argv);
int cmd_method(int argc, char **argv);
int cmd_job(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_roll(int argc, char **argv);
int cmd_disallow(int argc, char **argv);
int cmd_reissue(int argc, char **argv);
int cmd_report(int argc, char **argv);

/*
 * Runs the subcommand argv[1] of group argv[0] from subs (NULL-terminated);
 * prints the group's help for "--help", "help" or no subcommand.
 */
int cli_dispatch(const char *group, const struct cli_sub *subs, int argc,
    char **argv);

/* Prints "rollcall: <msg>" to stderr; returns CLI_FAIL. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the message and "try '<usage>'" hint; returns CLI_USAGE. */
int cli_usage(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Reads a whole file (at most CLI_MAX_FILE); caller frees with rc_free.
 * RC_EIO with errno set when it cannot be opened or read.
 */
int cli_read_file(const char *path, uint8_t **data, size_t *len);
/*
 * A duration: "30d", "12h", "90m", "600s" or plain seconds, at most 100
 * years; the seconds, or -1 when malformed.
 */
long long cli_parse_duration(const char *s);
/* Parses a --days style positive integer option; CLI_USAGE on error. */
int cli_parse_days(const char *usage, const char *s, int *out);

#endif
