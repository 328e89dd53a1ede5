/*
 * Table-driven config files (conf.h has the syntax and the table).
 *
 * Format, per line: blanks, a keyword, then words; a word is bare (no
 * blanks, no '"') or "quoted" (\" and \\ the only escapes, and a blank or
 * the end of the line must follow the closing quote); a '#' starting a
 * word starts a comment.
 *
 * Invariants enforced here:
 * - the input is at most RC_CONF_MAX_FILE bytes and every line at most
 *   RC_CONF_MAX_LINE bytes (without its LF or CRLF): over either is an
 *   error, never a truncation;
 * - no NUL or other control byte (tab excepted) gets into a value, so a
 *   value is a C string that can be logged and dumped back unchanged;
 * - all bytes are read through struct rc_buf; the words of a line are
 *   unquoted into one scratch buffer of fixed size, large enough for any
 *   line within the cap (a word's unquoted form is never longer than its
 *   text, and each word adds one NUL), so nothing grows while parsing;
 * - a value never appears in an error message of a SECRET option, and
 *   the scratch buffer, the file buffer and freed secrets are wiped.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rollcall/buf.h"
#include "rollcall/conf.h"
#include "rollcall/enc.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"

#define SCRATCH (RC_CONF_MAX_LINE + 2)
#define SHOWN 64 /* bytes of a bad word quoted back in a message */

struct ctx {
	const char *name; /* file name for messages */
	unsigned long line; /* 0: the message is about the whole file */
	char *err;
	size_t errlen;
	char *words; /* the words of the current line, each NUL-ended */
	size_t wlen;
	size_t nwords;
	int saw_secret;
	unsigned long first[RC_CONF_MAX_OPTS]; /* line an option was set on */
};

static const struct {
	const char *word;
	int val;
} bools[] = {
    {"yes", 1},
    {"no", 0},
    {"true", 1},
    {"false", 0},
    {"on", 1},
    {"off", 0},
};

static void
ctx_init(struct ctx *c, const char *name, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	c->name = name == NULL ? "config" : name;
	c->err = err;
	c->errlen = err == NULL ? 0 : errlen;
	if (c->errlen > 0)
		err[0] = '\0';
}

static int fail(struct ctx *c, int rc, const char *fmt, ...) RC_FMT(3, 4);

/* Writes "FILE:LINE: reason" (or "FILE: reason") to err; returns rc. */
static int
fail(struct ctx *c, int rc, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (c->errlen == 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->line > 0)
		snprintf(c->err, c->errlen, "%s:%lu: %s", c->name, c->line,
		    msg);
	else
		snprintf(c->err, c->errlen, "%s: %s", c->name, msg);
	return rc;
}

static int
is_blank(uint8_t ch)
{
	return ch == ' ' || ch == '\t';
}

static int
is_ctrl(uint8_t ch)
{
	return (ch < 0x20 && ch != '\t') || ch == 0x7f;
}

/* ASCII-only, so that matching does not depend on the locale. */
static int
lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

static int
same_word(const char *a, const char *b)
{
	while (*a != '\0' && lower((uint8_t)*a) == lower((uint8_t)*b)) {
		a++;
		b++;
	}
	return *a == '\0' && *b == '\0';
}

static const char *
next_word(const char *w)
{
	return w + strlen(w) + 1;
}

static void *
field(const struct rc_conf_opt *o, void *cfg)
{
	return (char *)cfg + o->offset;
}

static const void *
cfield(const struct rc_conf_opt *o, const void *cfg)
{
	return (const char *)cfg + o->offset;
}

static void
free_str(const struct rc_conf_opt *o, char *s)
{
	if (s != NULL && (o->flags & RC_CONF_SECRET))
		rc_free_secret(s, strlen(s));
	else
		rc_free(s);
}

static void
free_list(const struct rc_conf_opt *o, struct rc_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free_str(o, l->v[i]);
	rc_free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Frees what the option's field holds and zeroes it. */
static void
reset(const struct rc_conf_opt *o, void *cfg)
{
	void *f = field(o, cfg);

	switch (o->type) {
	case RC_CONF_STRING:
	case RC_CONF_PATH:
		free_str(o, *(char **)f);
		*(char **)f = NULL;
		break;
	case RC_CONF_LIST:
		free_list(o, f);
		break;
	case RC_CONF_BOOL:
	case RC_CONF_ENUM:
		*(int *)f = 0;
		break;
	case RC_CONF_INT:
	case RC_CONF_SIZE:
	case RC_CONF_DURATION:
		*(long long *)f = 0;
		break;
	default:
		break;
	}
}

static int
entry_ok(const struct rc_conf_opt *o)
{
	switch (o->type) {
	case RC_CONF_STRING:
	case RC_CONF_PATH:
	case RC_CONF_BOOL:
		return 1;
	case RC_CONF_ENUM:
		return o->choices != NULL && o->choices[0] != NULL;
	case RC_CONF_LIST:
		return o->min >= 0 && o->max >= 0 &&
		    (o->max == 0 || o->min <= o->max);
	case RC_CONF_INT:
		return o->min <= o->max;
	case RC_CONF_SIZE:
	case RC_CONF_DURATION:
		return o->min >= 0 && o->min <= o->max;
	default:
		return 0;
	}
}

static int
check_table(struct ctx *c, const struct rc_conf_opt *t)
{
	size_t i;

	if (t == NULL)
		return fail(c, RC_EINVAL, "no config table");
	for (i = 0; t[i].name != NULL; i++) {
		if (i >= RC_CONF_MAX_OPTS)
			return fail(c, RC_EINVAL,
			    "config table over %d entries", RC_CONF_MAX_OPTS);
		if (!entry_ok(&t[i]))
			return fail(c, RC_EINVAL, "bad config table entry '%s'",
			    t[i].name);
	}
	return RC_OK;
}

/* Joins the choices of o with sep into buf (truncated if need be). */
static const char *
join_choices(const struct rc_conf_opt *o, const char *sep, char *buf,
    size_t size)
{
	size_t i, n = 0;
	int w;

	buf[0] = '\0';
	for (i = 0; o->choices[i] != NULL && n < size; i++) {
		w = snprintf(buf + n, size - n, "%s%s", i > 0 ? sep : "",
		    o->choices[i]);
		if (w < 0)
			break;
		n += (size_t)w;
	}
	return buf;
}

/* The index of word in o->choices, or -1. */
static int
find_choice(const struct rc_conf_opt *o, const char *word)
{
	int i;

	for (i = 0; o->choices[i] != NULL && i < INT_MAX; i++)
		if (same_word(word, o->choices[i]))
			return i;
	return -1;
}

static int
not_a_choice(struct ctx *c, const struct rc_conf_opt *o, const char *word)
{
	char buf[256];

	join_choices(o, " ", buf, sizeof(buf));
	if (o->flags & RC_CONF_SECRET)
		return fail(c, RC_EPARSE, "'%s': value is not one of: %s",
		    o->name, buf);
	return fail(c, RC_EPARSE, "'%s': '%.*s' is not one of: %s", o->name,
	    SHOWN, word, buf);
}

/*
 * Tokenizer: the words of one line into c->words.
 */

static int
put(struct ctx *c, uint8_t ch)
{
	if (c->wlen >= SCRATCH)
		return fail(c, RC_ETOOBIG, "line longer than %d bytes",
		    RC_CONF_MAX_LINE);
	c->words[c->wlen++] = (char)ch;
	return RC_OK;
}

static int
bare(struct ctx *c, struct rc_buf *b)
{
	uint8_t ch;
	int rc;

	while (rc_buf_get_u8(b, &ch) == RC_OK && !is_blank(ch)) {
		if (ch == '"')
			return fail(c, RC_EPARSE,
			    "quote inside a word (quote the whole word)");
		if ((rc = put(c, ch)) != RC_OK)
			return rc;
	}
	return RC_OK;
}

/* After a backslash inside quotes: only \" and \\ mean anything. */
static int
unescape(struct ctx *c, struct rc_buf *b, uint8_t *ch)
{
	if (rc_buf_get_u8(b, ch) != RC_OK)
		return fail(c, RC_EPARSE, "unterminated quote");
	if (*ch != '"' && *ch != '\\')
		return fail(c, RC_EPARSE,
		    "bad escape '\\%c' (only \\\" and \\\\ are escapes)", *ch);
	return RC_OK;
}

static int
quoted(struct ctx *c, struct rc_buf *b)
{
	uint8_t ch;
	int rc;

	if ((rc = rc_buf_get_u8(b, &ch)) != RC_OK) /* the opening quote */
		return rc;
	for (;;) {
		if (rc_buf_get_u8(b, &ch) != RC_OK)
			return fail(c, RC_EPARSE, "unterminated quote");
		if (ch == '"')
			break;
		if (ch == '\\' && (rc = unescape(c, b, &ch)) != RC_OK)
			return rc;
		if ((rc = put(c, ch)) != RC_OK)
			return rc;
	}
	if (rc_buf_peek_u8(b, &ch) == RC_OK && !is_blank(ch))
		return fail(c, RC_EPARSE, "text after closing quote");
	return RC_OK;
}

static int
split(struct ctx *c, const uint8_t *p, size_t n)
{
	struct rc_buf b;
	uint8_t ch;
	int rc;

	c->wlen = 0;
	c->nwords = 0;
	rc_buf_init(&b, p, n);
	for (;;) {
		while (rc_buf_peek_u8(&b, &ch) == RC_OK && is_blank(ch))
			if ((rc = rc_buf_skip(&b, 1)) != RC_OK)
				return rc;
		if (rc_buf_peek_u8(&b, &ch) != RC_OK || ch == '#')
			return RC_OK;
		rc = ch == '"' ? quoted(c, &b) : bare(c, &b);
		if (rc != RC_OK || (rc = put(c, '\0')) != RC_OK)
			return rc;
		c->nwords++;
	}
}

static int
check_line(struct ctx *c, const uint8_t *p, size_t n)
{
	size_t i;

	if (n > RC_CONF_MAX_LINE)
		return fail(c, RC_ETOOBIG, "line longer than %d bytes",
		    RC_CONF_MAX_LINE);
	for (i = 0; i < n; i++) {
		if (p[i] == '\0')
			return fail(c, RC_EPARSE, "NUL byte");
		if (is_ctrl(p[i]))
			return fail(c, RC_EPARSE, "control character 0x%02x",
			    p[i]);
	}
	return RC_OK;
}

/*
 * Value setters, one per type.  Each checks the words first and changes
 * the field only once nothing can fail any more.
 */

static int
set_string(struct ctx *c, const struct rc_conf_opt *o, void *cfg,
    const char *word)
{
	char **f = field(o, cfg);
	char *s;

	if (o->type == RC_CONF_PATH && *word == '\0')
		return fail(c, RC_EPARSE, "'%s' must not be empty", o->name);
	if ((s = rc_strdup(word)) == NULL)
		return fail(c, RC_ENOMEM, "out of memory");
	free_str(o, *f);
	*f = s;
	return RC_OK;
}

static void
bounds(const struct rc_conf_opt *o, long long *lo, long long *hi)
{
	*lo = o->min;
	*hi = o->max;
	if (o->min != 0 || o->max != 0)
		return;
	*lo = o->type == RC_CONF_INT ? LLONG_MIN : 0;
	*hi = LLONG_MAX;
}

/* The multiplier of a SIZE or DURATION suffix, 0 if ch is none. */
static long long
unit(enum rc_conf_type type, int ch)
{
	static const char sz[] = "kmg", du[] = "smhd";
	static const long long szm[] = {1LL << 10, 1LL << 20, 1LL << 30};
	static const long long dum[] = {1, 60, 3600, 86400};
	const char *hit;

	if (ch == '\0')
		return 0;
	if (type == RC_CONF_SIZE && (hit = strchr(sz, lower(ch))) != NULL)
		return szm[hit - sz];
	if (type == RC_CONF_DURATION && (hit = strchr(du, lower(ch))) != NULL)
		return dum[hit - du];
	return 0;
}

/*
 * Parses digits with an optional unit suffix; the word is copied so that
 * the suffix can be cut off.  RC_EPARSE or RC_ERANGE (overflow included).
 */
static int
scaled(enum rc_conf_type type, const char *word, long long *out)
{
	char num[SCRATCH];
	size_t len;
	long long mult = 1, v;
	int rc;

	*out = 0;
	len = strnlen(word, sizeof(num) - 1);
	memcpy(num, word, len);
	num[len] = '\0';
	if (len > 0 && unit(type, (uint8_t)num[len - 1]) != 0)
		mult = unit(type, (uint8_t)num[--len]);
	num[len] = '\0';
	if ((rc = rc_strtonum(num, 0, LLONG_MAX, &v)) != RC_OK)
		return rc;
	if (v > LLONG_MAX / mult)
		return RC_ERANGE;
	*out = v * mult;
	return RC_OK;
}

static int
set_number(struct ctx *c, const struct rc_conf_opt *o, void *cfg,
    const char *word)
{
	static const char *const what[] = {[RC_CONF_INT] = "an integer",
	    [RC_CONF_SIZE] = "a size (a number, then k, m or g)",
	    [RC_CONF_DURATION] = "a duration (a number, then s, m, h or d)"};
	static const char *const units[] = {[RC_CONF_INT] = "",
	    [RC_CONF_SIZE] = " bytes",
	    [RC_CONF_DURATION] = " seconds"};
	long long lo, hi, v;
	int rc;

	bounds(o, &lo, &hi);
	if (o->type == RC_CONF_INT)
		rc = rc_strtonum(word, lo, hi, &v);
	else if ((rc = scaled(o->type, word, &v)) == RC_OK &&
	    (v < lo || v > hi))
		rc = RC_ERANGE;
	if (rc == RC_ERANGE)
		return fail(c, rc, "'%s' must be in %lld..%lld%s", o->name, lo,
		    hi, units[o->type]);
	if (rc != RC_OK && (o->flags & RC_CONF_SECRET))
		return fail(c, rc, "'%s': value is not %s", o->name,
		    what[o->type]);
	if (rc != RC_OK)
		return fail(c, rc, "'%s': '%.*s' is not %s", o->name, SHOWN,
		    word, what[o->type]);
	*(long long *)field(o, cfg) = v;
	return RC_OK;
}

static int
set_bool(struct ctx *c, const struct rc_conf_opt *o, void *cfg,
    const char *word)
{
	size_t i;

	for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		if (same_word(word, bools[i].word)) {
			*(int *)field(o, cfg) = bools[i].val;
			return RC_OK;
		}
	}
	return fail(c, RC_EPARSE,
	    "'%s': '%.*s' is not yes, no, true, false, on or off", o->name,
	    SHOWN, (o->flags & RC_CONF_SECRET) ? "<redacted>" : word);
}

static int
set_enum(struct ctx *c, const struct rc_conf_opt *o, void *cfg,
    const char *word)
{
	int i;

	if ((i = find_choice(o, word)) < 0)
		return not_a_choice(c, o, word);
	*(int *)field(o, cfg) = i;
	return RC_OK;
}

/* The number of words a LIST line must have, as lo..hi (hi 0: no limit). */
static int
list_count(struct ctx *c, const struct rc_conf_opt *o, size_t n)
{
	long long lo = o->min > 0 ? o->min : 1, hi = o->max;

	if (n == 0)
		return fail(c, RC_EPARSE, "'%s' needs a value", o->name);
	if ((long long)n >= lo && (hi == 0 || (long long)n <= hi))
		return RC_OK;
	if (lo == hi)
		return fail(c, RC_EPARSE, "'%s' takes %lld value%s, not %zu",
		    o->name, lo, lo == 1 ? "" : "s", n);
	if (hi == 0)
		return fail(c, RC_EPARSE,
		    "'%s' takes at least %lld values, not %zu", o->name, lo, n);
	return fail(c, RC_EPARSE, "'%s' takes %lld to %lld values, not %zu",
	    o->name, lo, hi, n);
}

/* Copies n words into v (the canonical spelling where there are choices). */
static int
copy_words(const struct rc_conf_opt *o, char **v, const char *w, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++, w = next_word(w)) {
		if (o->choices != NULL)
			v[i] = rc_strdup(o->choices[find_choice(o, w)]);
		else
			v[i] = rc_strdup(w);
		if (v[i] == NULL)
			break;
	}
	if (i == n)
		return RC_OK;
	while (i-- > 0)
		free_str(o, v[i]);
	return RC_ENOMEM;
}

static int
set_list(struct ctx *c, const struct rc_conf_opt *o, void *cfg,
    const char *args, size_t n, int replace)
{
	struct rc_strlist *l = field(o, cfg);
	const char *w;
	size_t i, keep;
	char **v;
	int rc;

	if ((rc = list_count(c, o, n)) != RC_OK)
		return rc;
	for (i = 0, w = args; o->choices != NULL && i < n; i++) {
		if (find_choice(o, w) < 0)
			return not_a_choice(c, o, w);
		w = next_word(w);
	}
	keep = replace ? 0 : l->n;
	if (keep > SIZE_MAX - n ||
	    (v = rc_reallocarray(NULL, keep + n, sizeof(*v))) == NULL)
		return fail(c, RC_ENOMEM, "out of memory");
	if (copy_words(o, v + keep, args, n) != RC_OK) {
		rc_free(v);
		return fail(c, RC_ENOMEM, "out of memory");
	}
	if (keep > 0)
		memcpy(v, l->v, keep * sizeof(*v));
	if (replace)
		free_list(o, l);
	else
		rc_free(l->v);
	l->v = v;
	l->n = keep + n;
	return RC_OK;
}

/* Gives option o the n words at args; replace: a list starts afresh. */
static int
assign(struct ctx *c, const struct rc_conf_opt *o, void *cfg, const char *args,
    size_t n, int replace)
{
	if (o->type == RC_CONF_LIST)
		return set_list(c, o, cfg, args, n, replace);
	if (n == 0)
		return fail(c, RC_EPARSE, "'%s' needs a value", o->name);
	if (n > 1)
		return fail(c, RC_EPARSE,
		    "'%s' takes one value, not %zu (quote a value with blanks)",
		    o->name, n);
	switch (o->type) {
	case RC_CONF_STRING:
	case RC_CONF_PATH:
		return set_string(c, o, cfg, args);
	case RC_CONF_INT:
	case RC_CONF_SIZE:
	case RC_CONF_DURATION:
		return set_number(c, o, cfg, args);
	case RC_CONF_BOOL:
		return set_bool(c, o, cfg, args);
	case RC_CONF_ENUM:
		return set_enum(c, o, cfg, args);
	default:
		return fail(c, RC_EINVAL, "'%s': bad type", o->name);
	}
}

/* Levenshtein distance, ASCII case folded; SIZE_MAX for long words. */
static size_t
distance(const char *a, const char *b)
{
	size_t row[33], la = strlen(a), lb = strlen(b), i, j, diag, up, best;

	if (la >= 33 || lb >= 33)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			up = row[j];
			best = diag +
			    (lower((uint8_t)a[i - 1]) !=
			        lower((uint8_t)b[j - 1]));
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static int
unknown(struct ctx *c, const struct rc_conf_opt *t, const char *kw)
{
	size_t i, d, best = SIZE_MAX, hit = 0;

	for (i = 0; t[i].name != NULL; i++) {
		if ((d = distance(kw, t[i].name)) < best) {
			best = d;
			hit = i;
		}
	}
	if (best <= 2 && best < strlen(kw))
		return fail(c, RC_EPARSE,
		    "unknown keyword '%.*s' (did you mean '%s'?)", SHOWN, kw,
		    t[hit].name);
	return fail(c, RC_EPARSE, "unknown keyword '%.*s'", SHOWN, kw);
}

/* Applies the words of the current line: keyword, then its values. */
static int
keyword(struct ctx *c, const struct rc_conf_opt *t, void *cfg)
{
	const char *kw = c->words;
	size_t i;
	int rc;

	for (i = 0; t[i].name != NULL; i++)
		if (same_word(kw, t[i].name))
			break;
	if (t[i].name == NULL)
		return unknown(c, t, kw);
	if (c->first[i] != 0 && !(t[i].flags & RC_CONF_REPEAT))
		return fail(c, RC_EPARSE, "'%s' already set on line %lu",
		    t[i].name, c->first[i]);
	rc = assign(c, &t[i], cfg, next_word(kw), c->nwords - 1,
	    c->first[i] == 0);
	if (rc != RC_OK)
		return rc;
	if (c->first[i] == 0)
		c->first[i] = c->line;
	if (t[i].flags & RC_CONF_SECRET)
		c->saw_secret = 1;
	return RC_OK;
}

/* The next line, without its LF or CRLF; the last may lack the LF. */
static void
next_line(struct rc_buf *b, const uint8_t **p, size_t *n)
{
	if (rc_buf_get0_until(b, '\n', p, n) != RC_OK) {
		*n = rc_buf_remaining(b);
		if (rc_buf_get0_bytes(b, *n, p) != RC_OK)
			*n = 0;
	}
	if (*n > 0 && (*p)[*n - 1] == '\r')
		(*n)--;
}

static int
parse_lines(struct ctx *c, const struct rc_conf_opt *t, void *cfg,
    const char *data, size_t len)
{
	const uint8_t *p;
	struct rc_buf b;
	size_t n, i;
	int rc;

	rc_buf_init(&b, data, len);
	while (rc_buf_remaining(&b) > 0) {
		c->line++;
		next_line(&b, &p, &n);
		if ((rc = check_line(c, p, n)) != RC_OK ||
		    (rc = split(c, p, n)) != RC_OK)
			return rc;
		if (c->nwords > 0 && (rc = keyword(c, t, cfg)) != RC_OK)
			return rc;
	}
	c->line = 0;
	for (i = 0; t[i].name != NULL; i++)
		if ((t[i].flags & RC_CONF_REQUIRED) && c->first[i] == 0)
			return fail(c, RC_EPARSE, "missing required '%s'",
			    t[i].name);
	return RC_OK;
}

static int
parse_text(const struct rc_conf_opt *t, void *cfg, const char *data, size_t len,
    struct ctx *c)
{
	int rc;

	if ((rc = check_table(c, t)) != RC_OK)
		return rc;
	if (cfg == NULL || (data == NULL && len > 0))
		return fail(c, RC_EINVAL, "bad arguments");
	if (len > RC_CONF_MAX_FILE)
		return fail(c, RC_ETOOBIG, "larger than %d bytes",
		    RC_CONF_MAX_FILE);
	if ((c->words = rc_malloc(SCRATCH)) == NULL)
		return fail(c, RC_ENOMEM, "out of memory");
	rc = parse_lines(c, t, cfg, data, len);
	rc_free_secret(c->words, SCRATCH);
	c->words = NULL;
	return rc;
}

int
rc_conf_parse(const struct rc_conf_opt *table, void *cfg, const char *data,
    size_t len, const char *name, char *err, size_t errlen)
{
	struct ctx c;

	ctx_init(&c, name, err, errlen);
	return parse_text(table, cfg, data, len, &c);
}

static int
set_default(struct ctx *c, const struct rc_conf_opt *o, void *cfg)
{
	size_t n = strlen(o->def);
	int rc;

	if ((rc = check_line(c, (const uint8_t *)o->def, n)) != RC_OK ||
	    (rc = split(c, (const uint8_t *)o->def, n)) != RC_OK)
		return rc;
	return assign(c, o, cfg, c->words, c->nwords, 1);
}

int
rc_conf_defaults(const struct rc_conf_opt *t, void *cfg)
{
	char err[600];
	struct ctx c;
	size_t i;
	int rc;

	ctx_init(&c, "config defaults", err, sizeof(err));
	if ((rc = check_table(&c, t)) != RC_OK)
		goto out;
	if (cfg == NULL) {
		rc = fail(&c, RC_EINVAL, "no config struct");
		goto out;
	}
	if ((c.words = rc_malloc(SCRATCH)) == NULL) {
		rc = fail(&c, RC_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; t[i].name != NULL; i++) {
		reset(&t[i], cfg);
		if (t[i].def != NULL &&
		    (rc = set_default(&c, &t[i], cfg)) != RC_OK)
			goto out;
	}
out:
	rc_free_secret(c.words, SCRATCH);
	if (rc == RC_OK || rc == RC_ENOMEM)
		return rc;
	rc_log_warnx("%s", err);
	return RC_EINVAL;
}

void
rc_conf_free(const struct rc_conf_opt *t, void *cfg)
{
	size_t i;

	if (t == NULL || cfg == NULL)
		return;
	for (i = 0; t[i].name != NULL && i < RC_CONF_MAX_OPTS; i++)
		reset(&t[i], cfg);
}

/*
 * Loading a file.
 */

static int
perms_ok(struct ctx *c, mode_t mode)
{
	if ((mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) == 0)
		return RC_OK;
	return fail(c, RC_EAUTH,
	    "mode %04o lets group or others read or write a file of secrets "
	    "(chmod 600 it)",
	    (unsigned)(mode & 07777));
}

int
rc_conf_check_perms(const char *path, char *err, size_t errlen)
{
	struct ctx c;
	struct stat st;

	ctx_init(&c, path, err, errlen);
	if (path == NULL)
		return fail(&c, RC_EINVAL, "no path");
	if (stat(path, &st) == -1)
		return fail(&c, RC_EIO, "%s", strerror(errno));
	return perms_ok(&c, st.st_mode);
}

/* Reads exactly size bytes into buf; a file that changed meanwhile fails. */
static int
read_all(struct ctx *c, int fd, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	while (got <= size) {
		n = read(fd, buf + got, size + 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return fail(c, RC_EIO, "%s", strerror(errno));
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got != size)
		return fail(c, RC_EIO, "changed while being read");
	return RC_OK;
}

int
rc_conf_load(const struct rc_conf_opt *t, void *cfg, const char *path,
    char *err, size_t errlen)
{
	struct stat st;
	struct ctx c;
	char *data = NULL;
	size_t size = 0;
	int fd = -1, rc;

	ctx_init(&c, path, err, errlen);
	if (path == NULL)
		return fail(&c, RC_EINVAL, "no path");
	/* O_NONBLOCK: a FIFO must not hang the open; it is refused below. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1 || fstat(fd, &st) == -1) {
		rc = fail(&c, RC_EIO, "%s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = fail(&c, RC_EIO, "not a regular file");
		goto out;
	}
	if (st.st_size > RC_CONF_MAX_FILE) {
		rc = fail(&c, RC_ETOOBIG, "larger than %d bytes",
		    RC_CONF_MAX_FILE);
		goto out;
	}
	size = (size_t)st.st_size;
	if ((data = rc_malloc(size + 1)) == NULL) {
		rc = fail(&c, RC_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = read_all(&c, fd, data, size)) != RC_OK ||
	    (rc = parse_text(t, cfg, data, size, &c)) != RC_OK)
		goto out;
	if (c.saw_secret)
		rc = perms_ok(&c, st.st_mode);
out:
	rc_free_secret(data, size + 1);
	if (fd != -1)
		close(fd);
	return rc;
}

/*
 * Dump: the effective config written back as a config file.
 */

/*
 * Quotes only where a bare word cannot say it, so a dumped word is never
 * longer than the text it was parsed from (a bare backslash is literal).
 */
static int
needs_quotes(const char *s)
{
	if (*s == '\0' || *s == '#')
		return 1;
	return strpbrk(s, " \t\"") != NULL;
}

static int
representable(const char *s)
{
	for (; *s != '\0'; s++)
		if (is_ctrl((uint8_t)*s))
			return 0;
	return 1;
}

static void
put_word(FILE *f, const char *s)
{
	if (!needs_quotes(s)) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/*
 * A list in as many lines as its word bounds allow (one word per line if
 * one is enough), the words spread evenly: every line stays within
 * lo..hi, as the original lines were, and short.
 */
static int
dump_list(FILE *f, const struct rc_conf_opt *o, const struct rc_strlist *l)
{
	size_t i, j, k, line, lines = 1, lo = o->min > 0 ? (size_t)o->min : 1;

	for (i = 0; i < l->n; i++)
		if (!representable(l->v[i])) {
			fprintf(f, "# %s <unrepresentable>\n", o->name);
			return RC_EINVAL;
		}
	if ((o->flags & RC_CONF_REPEAT) && l->n / lo > 0)
		lines = l->n / lo;
	for (i = 0, line = 0; line < lines; line++) {
		k = l->n / lines + (line < l->n % lines);
		fputs(o->name, f);
		for (j = 0; j < k; j++) {
			fputc(' ', f);
			put_word(f, l->v[i++]);
		}
		fputc('\n', f);
	}
	return RC_OK;
}

/* A size or duration in the largest unit that divides it. */
static void
dump_scaled(FILE *f, const struct rc_conf_opt *o, long long v)
{
	static const char sz[] = "gmk", du[] = "dhm";
	const char *u = o->type == RC_CONF_SIZE ? sz : du;

	for (; *u != '\0'; u++) {
		if (v != 0 && v % unit(o->type, *u) == 0) {
			fprintf(f, "%s %lld%c\n", o->name,
			    v / unit(o->type, *u), *u);
			return;
		}
	}
	fprintf(f, "%s %lld\n", o->name, v);
}

static int
is_set(const struct rc_conf_opt *o, const void *fp)
{
	if (o->type == RC_CONF_STRING || o->type == RC_CONF_PATH)
		return *(char *const *)fp != NULL;
	if (o->type == RC_CONF_LIST)
		return ((const struct rc_strlist *)fp)->n > 0;
	return 1;
}

static int
dump_opt(FILE *f, const struct rc_conf_opt *o, const void *cfg)
{
	const void *fp = cfield(o, cfg);
	const char *s;
	int i;

	if (!is_set(o, fp)) {
		fprintf(f, "# %s (not set)\n", o->name);
		return RC_OK;
	}
	if (o->flags & RC_CONF_SECRET) {
		fprintf(f, "# %s <redacted>\n", o->name);
		return RC_OK;
	}
	switch (o->type) {
	case RC_CONF_STRING:
	case RC_CONF_PATH:
		s = *(char *const *)fp;
		if (!representable(s)) {
			fprintf(f, "# %s <unrepresentable>\n", o->name);
			return RC_EINVAL;
		}
		fprintf(f, "%s ", o->name);
		put_word(f, s);
		fputc('\n', f);
		return RC_OK;
	case RC_CONF_INT:
		fprintf(f, "%s %lld\n", o->name, *(const long long *)fp);
		return RC_OK;
	case RC_CONF_SIZE:
	case RC_CONF_DURATION:
		dump_scaled(f, o, *(const long long *)fp);
		return RC_OK;
	case RC_CONF_BOOL:
		fprintf(f, "%s %s\n", o->name, *(const int *)fp ? "yes" : "no");
		return RC_OK;
	case RC_CONF_ENUM:
		for (i = 0; o->choices[i] != NULL && i != *(const int *)fp; i++)
			;
		if (o->choices[i] == NULL) {
			fprintf(f, "# %s <invalid>\n", o->name);
			return RC_EINVAL;
		}
		fprintf(f, "%s %s\n", o->name, o->choices[i]);
		return RC_OK;
	case RC_CONF_LIST:
		return dump_list(f, o, fp);
	default:
		return RC_EINVAL;
	}
}

int
rc_conf_dump(const struct rc_conf_opt *t, const void *cfg, FILE *f)
{
	struct ctx c;
	size_t i;
	int rc, bad = RC_OK;

	ctx_init(&c, NULL, NULL, 0);
	if ((rc = check_table(&c, t)) != RC_OK || cfg == NULL || f == NULL)
		return RC_EINVAL;
	for (i = 0; t[i].name != NULL; i++)
		if ((rc = dump_opt(f, &t[i], cfg)) != RC_OK)
			bad = rc;
	if (fflush(f) != 0 || ferror(f))
		return RC_EIO;
	return bad;
}

/*
 * Documentation: one line per keyword.
 */

static void
doc_bounds(FILE *f, const char *what, const struct rc_conf_opt *o)
{
	if (o->min == 0 && o->max == 0)
		fprintf(f, "<%s>", what);
	else
		fprintf(f, "<%s %lld..%lld>", what, o->min, o->max);
}

static void
doc_list(FILE *f, const struct rc_conf_opt *o)
{
	char buf[256], word[260];
	long long i, lo = o->min > 0 ? o->min : 1;

	if (o->choices != NULL)
		snprintf(word, sizeof(word), "{%s}",
		    join_choices(o, "|", buf, sizeof(buf)));
	else
		snprintf(word, sizeof(word), "<word>");
	for (i = 0; i < lo; i++)
		fprintf(f, "%s%s", i > 0 ? " " : "", word);
	if (o->max == 0 || o->max > lo)
		fputs("...", f);
	if (o->max > lo)
		fprintf(f, " (at most %lld)", o->max);
}

static void
doc_syntax(FILE *f, const struct rc_conf_opt *o)
{
	char buf[256];

	switch (o->type) {
	case RC_CONF_STRING:
		fputs("<string>", f);
		break;
	case RC_CONF_PATH:
		fputs("<path>", f);
		break;
	case RC_CONF_INT:
		doc_bounds(f, "integer", o);
		break;
	case RC_CONF_SIZE:
		doc_bounds(f, "size", o);
		break;
	case RC_CONF_DURATION:
		doc_bounds(f, "duration", o);
		break;
	case RC_CONF_BOOL:
		fputs("yes|no", f);
		break;
	case RC_CONF_ENUM:
		fputs(join_choices(o, "|", buf, sizeof(buf)), f);
		break;
	case RC_CONF_LIST:
		doc_list(f, o);
		break;
	default:
		break;
	}
}

static void
doc_opt(FILE *f, const struct rc_conf_opt *o)
{
	static const struct {
		unsigned flag;
		const char *name;
	} flags[] = {{RC_CONF_REQUIRED, "required"},
	    {RC_CONF_REPEAT, "repeatable"}, {RC_CONF_SECRET, "secret"}};
	const char *sep = " [";
	size_t i;

	fprintf(f, "%s ", o->name);
	doc_syntax(f, o);
	if (o->def != NULL)
		fprintf(f, " (default %s)", o->def);
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (o->flags & flags[i].flag) {
			fprintf(f, "%s%s", sep, flags[i].name);
			sep = ", ";
		}
	}
	if (sep[0] == ',')
		fputc(']', f);
	if (o->help != NULL)
		fprintf(f, ": %s", o->help);
	fputc('\n', f);
}

int
rc_conf_doc(const struct rc_conf_opt *t, FILE *f)
{
	struct ctx c;
	size_t i;

	ctx_init(&c, NULL, NULL, 0);
	if (check_table(&c, t) != RC_OK || f == NULL)
		return RC_EINVAL;
	for (i = 0; t[i].name != NULL; i++)
		doc_opt(f, &t[i]);
	if (fflush(f) != 0 || ferror(f))
		return RC_EIO;
	return RC_OK;
}
