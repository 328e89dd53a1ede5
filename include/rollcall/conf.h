/*
 * Configuration files of the form `keyword value...`, driven by one
 * declarative table per program (after Redis's config.c): the table says
 * which keywords exist, the type, bounds, default and help of each, and
 * where its value lives in the program's config struct.  Parsing,
 * validation, defaults, the effective-config dump and the documentation
 * all come from that one table, so they cannot drift apart.
 *
 *	# rollcalld.conf
 *	listen      127.0.0.1
 *	https-port  443
 *	roles       dps hub ca
 *	hub-key     iothubowner "c2VjcmV0"
 *	hub         myhub
 *	hub         otherhub
 *
 * Syntax: one keyword per line followed by its words, separated by blanks
 * (space, tab).  A word may be "double quoted" (then it may hold blanks and
 * '#'; inside quotes \" and \\ are the only escapes).  A '#' at the start
 * of a word starts a comment running to the end of the line; elsewhere in
 * a word it is an ordinary character.  Keywords and the words of BOOL and
 * ENUM values match case-insensitively.  Lines end in LF or CRLF; the
 * last line needs no newline.  Limits: RC_CONF_MAX_LINE bytes per line,
 * RC_CONF_MAX_FILE bytes per file; NUL and other control characters
 * (except tab) are refused.
 *
 * Value storage, by type (the field at `offset` in the config struct):
 *	RC_CONF_STRING	char *, owned; NULL while unset
 *	RC_CONF_PATH	char *, like STRING but never empty.  Kept as
 *			written: a relative path is relative to the working
 *			directory of the program, not to the config file
 *	RC_CONF_INT	long long in [min, max]
 *	RC_CONF_BOOL	int, 0 or 1: yes/no, true/false, on/off
 *	RC_CONF_ENUM	int, index into choices (a NULL-terminated array)
 *	RC_CONF_LIST	struct rc_strlist: the words of the line.  min..max
 *			bound the number of words on one line (min 0 counts
 *			as 1; max 0: no upper bound; a default is one such
 *			line).  With choices, every word must be one of
 *			them.  With RC_CONF_REPEAT each further line appends
 *			its words; the first line of a parse replaces the
 *			default.  A repeated fixed-size line (min == max) is
 *			how a table spells a list of tuples: `hub-key NAME
 *			KEY` with min = max = 2 gives v = {name1, key1,
 *			name2, key2, ...}
 *	RC_CONF_SIZE	long long bytes; suffix k, m or g (binary: 2^10,
 *			2^20, 2^30), case-insensitive
 *	RC_CONF_DURATION long long seconds; suffix s, m, h or d
 * For INT, SIZE and DURATION, min = max = 0 means no bound beyond the
 * type's own (SIZE and DURATION are never negative).
 *
 * A keyword given twice is an error unless it has RC_CONF_REPEAT (lists
 * append, other types: the last line wins).
 *
 * Error messages are "FILE:LINE: reason" ("FILE: reason" for whole-file
 * problems) and are written to err; the return codes are RC_EPARSE
 * (syntax, unknown keyword, wrong word count, bad value, duplicate,
 * missing required keyword), RC_ERANGE (number outside min..max or
 * overflowing), RC_ETOOBIG (line or file over its cap), RC_ENOMEM,
 * RC_EIO (reading the file), RC_EAUTH (file permissions, see
 * rc_conf_load) and RC_EINVAL (a bad table or argument: a program bug).
 */
#ifndef ROLLCALL_CONF_H
#define ROLLCALL_CONF_H

#include <stddef.h>
#include <stdio.h>

#include "rollcall/err.h"

#define RC_CONF_MAX_LINE 4096 /* bytes, without the line ending */
#define RC_CONF_MAX_FILE (1024 * 1024)
#define RC_CONF_MAX_OPTS 128 /* entries of one table */

enum rc_conf_type {
	RC_CONF_STRING,
	RC_CONF_PATH,
	RC_CONF_INT,
	RC_CONF_BOOL,
	RC_CONF_ENUM,
	RC_CONF_LIST,
	RC_CONF_SIZE,
	RC_CONF_DURATION,
};

/* The value is a secret: dumped redacted, cleared from memory when freed. */
#define RC_CONF_SECRET 0x1u
/* A parse that does not set the keyword fails ("missing required"). */
#define RC_CONF_REQUIRED 0x2u
/* The keyword may appear more than once (see above). */
#define RC_CONF_REPEAT 0x4u

struct rc_conf_opt {
	const char *name; /* NULL ends the table */
	enum rc_conf_type type;
	size_t offset; /* offsetof() the field in the config struct */
	long long min, max;
	const char *def; /* default, as it would be written in a file */
	const char *const *choices; /* ENUM, or a LIST's allowed words */
	unsigned flags;
	const char *help; /* one line, for rc_conf_doc */
};

struct rc_strlist {
	char **v;
	size_t n;
};

/*
 * Sets every option of cfg to its default (an option without one becomes
 * NULL, 0 or empty), freeing what the fields held.  cfg must start zeroed
 * (or hold values from this table).  A default that does not parse is a
 * table bug: it is logged and RC_EINVAL returned.
 */
RC_MUST_CHECK int rc_conf_defaults(const struct rc_conf_opt *table, void *cfg);

/*
 * Parses len bytes of config text into cfg (normally prepared by
 * rc_conf_defaults; options not in the text keep their values).  name is
 * the file name used in messages.  On failure err holds the message and
 * cfg may be partly updated: it must still be freed with rc_conf_free, and
 * a program reloading its config parses into a fresh struct and swaps.
 */
RC_MUST_CHECK int rc_conf_parse(const struct rc_conf_opt *table, void *cfg,
    const char *data, size_t len, const char *name, char *err, size_t errlen);

/*
 * Reads the file at path (a regular file of at most RC_CONF_MAX_FILE
 * bytes) and parses it as rc_conf_parse does.  If the file sets a SECRET
 * option and group or others may read or write it, the load fails with
 * RC_EAUTH, as OpenSSH refuses an open private key: the secrets must be
 * assumed leaked, and a config someone else can rewrite is not ours.
 */
RC_MUST_CHECK int rc_conf_load(const struct rc_conf_opt *table, void *cfg,
    const char *path, char *err, size_t errlen);

/*
 * The permission check of rc_conf_load on its own: RC_EAUTH (with the
 * message in err) if group or others may read or write path, RC_EIO if
 * it cannot be stat'ed, else RC_OK.
 */
RC_MUST_CHECK int rc_conf_check_perms(const char *path, char *err,
    size_t errlen);

/*
 * Writes every option with its effective value, one line each, in table
 * order, as a config file: parsed again (over rc_conf_defaults) it gives
 * the same config.  Unset options and secrets are written as comments
 * ("# hub-key <redacted>"), so a re-parse leaves those at their defaults.
 * A repeatable list is written over as many lines as its word bounds
 * allow (`hub a` / `hub b`; tuples one per line), which keeps the lines
 * as short as those it was parsed from.
 * RC_EIO if writing fails; RC_EINVAL if a value set by the program holds
 * a character no config file can (it is written as a comment too).
 */
RC_MUST_CHECK int rc_conf_dump(const struct rc_conf_opt *table, const void *cfg,
    FILE *f);

/*
 * One line per keyword for documentation and man pages:
 *	https-port <integer 1..65535> (default 443): HTTPS listener port
 *	roles <word>... {dps|hub|ca} (default dps hub ca): roles to run
 *	hub-key <word> <word> [repeatable, secret]: ...
 */
RC_MUST_CHECK int rc_conf_doc(const struct rc_conf_opt *table, FILE *f);

/* Frees the strings and lists of cfg (wiping secrets) and zeroes it all. */
void rc_conf_free(const struct rc_conf_opt *table, void *cfg);

#endif
