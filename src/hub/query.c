/*
 * The IoT Hub device query language, rollcall's subset (query.h; the
 * user's view is docs/query.md).  Keywords are case-insensitive:
 *
 *	query    = SELECT '*' FROM devices [WHERE cond]
 *	condtext = '*' | cond				(a job's queryCondition)
 *	cond     = and {OR and}
 *	and      = unary {AND unary}
 *	unary    = NOT unary | primary
 *	primary  = '(' cond ')' | IS_DEFINED '(' field ')' | pred
 *	pred     = operand cmpop operand
 *		 | operand [NOT] IN list | operand NIN list
 *	list     = '[' literal {',' literal} ']'
 *	operand  = field | literal
 *	literal  = string | number | TRUE | FALSE | NULL
 *	cmpop    = '=' | '!=' | '<>' | '<' | '<=' | '>' | '>='
 *	field    = [devices.] (deviceId | status | connectionState | ...
 *		   | tags.path | properties.desired.path
 *		   | properties.reported.path)
 *
 * A field is one token: names of [A-Za-z0-9_$] joined by dots, the first
 * not starting with a digit.  Strings are in '...' or "..." with the
 * escapes of the Azure query-language docs (\' \" \\ \uXXXX) and JSON's
 * \/ \b \f \n \r \t.  Numbers are -?digits[.digits][(e|E)[+-]digits] or
 * -?0x hex digits (the docs' hexadecimal_literal).
 *
 * Evaluation is three-valued, as in the Cosmos DB SQL the IoT Hub
 * language follows: a missing property is undefined; comparing undefined,
 * an object or an array, or two values of different JSON types, is
 * undefined; ordering is defined on numbers and on strings only; NOT
 * keeps undefined, AND and OR are SQL's; a device matches only on true.
 * x IN [a, b] is x = a OR x = b, and x NIN [...] is NOT (x IN [...]).
 *
 * Invariants enforced here:
 * - the text is read through struct rc_buf, at most HUB_QUERY_MAX_TEXT
 *   bytes, with no NUL byte and no \u0000 escape, so every string of the
 *   tree is a C string;
 * - recursion is bounded: every '(' and NOT adds a level, at most
 *   HUB_QUERY_MAX_DEPTH; AND and OR build one node with a list of
 *   operands, so a long chain is a long list, never a deep tree, and
 *   evaluation recurses no deeper than the parser did;
 * - IN lists hold at most HUB_QUERY_MAX_IN values and paths at most
 *   HUB_QUERY_MAX_PATH names below their root;
 * - the tree and its strings live in one arena owned by the query: its
 *   size is a constant times the text length, a failed parse frees it in
 *   one call, and evaluation allocates nothing and writes nothing.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/query.h"
#include "rollcall/buf.h"
#include "rollcall/enc.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"

#define CHUNK_MIN 4096
#define ALIGN _Alignof(max_align_t)
#define SHOWN 40 /* bytes of the query quoted back in a message */

/* Names of the twin's top level that hold one value (§4.4's Twin). */
static const char *const scalars[] = {
    "deviceId",
    "etag",
    "deviceEtag",
    "version",
    "status",
    "statusReason",
    "statusUpdateTime",
    "connectionState",
    "lastActivityTime",
    "cloudToDeviceMessageCount",
    "authenticationType",
};

/* Words that are never a field, so a misplaced one is named as such. */
static const char *const keywords[] = {
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "NIN",
    "IS_DEFINED",
};

enum vtype { V_UNDEF, V_NULL, V_BOOL, V_INT, V_REAL, V_STR, V_OTHER };

struct val {
	enum vtype t;
	int b;
	long long i;
	double d;
	const char *s;
	size_t slen;
};

/* The keys leading from the twin's top to the value. */
struct field {
	const char **keys;
	size_t nkeys;
};

struct operand {
	int is_field;
	struct field f;
	struct val v;
};

struct item {
	struct val v;
	struct item *next;
};

enum nkind { N_ALL, N_AND, N_OR, N_NOT, N_CMP, N_IN, N_NIN, N_DEFINED };
enum cmpop { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };
enum tv { TV_FALSE, TV_TRUE, TV_UNDEF };

struct node {
	enum nkind kind;
	enum cmpop op;
	struct node *kids; /* AND, OR: operands; NOT: the one operand */
	struct node *next; /* sibling in the parent's kids */
	struct operand lhs; /* CMP, IN, NIN; DEFINED: the field */
	struct operand rhs; /* CMP */
	struct item *list; /* IN, NIN */
};

struct chunk {
	struct chunk *next;
	size_t used;
	size_t size;
	max_align_t data[];
};

struct hub_query {
	struct chunk *chunks;
	struct node *root;
	int have_ids;
	const char **ids;
	size_t nids;
};

enum tkind {
	T_EOF,
	T_WORD,
	T_STR,
	T_NUM,
	T_LPAREN,
	T_RPAREN,
	T_LBRACK,
	T_RBRACK,
	T_COMMA,
	T_STAR,
	T_OP,
};

struct tok {
	enum tkind k;
	enum cmpop op;
	size_t pos;
	const char *raw; /* the token's bytes in the text */
	size_t len;
	struct val v; /* T_STR, T_NUM */
};

struct parser {
	struct hub_query *q;
	const char *text;
	size_t len;
	struct rc_buf b;
	struct tok t;
	struct tok prev; /* k == T_EOF before the first token */
	char *err;
	size_t errlen;
};

/*
 * Arena.
 */

static void *
arena_alloc(struct hub_query *q, size_t n)
{
	size_t need = (n + ALIGN - 1) & ~(ALIGN - 1);
	struct chunk *c = q->chunks;
	void *p;

	if (c == NULL || c->size - c->used < need) {
		size_t size = need > CHUNK_MIN ? need : CHUNK_MIN;

		if ((c = rc_malloc(sizeof(*c) + size)) == NULL)
			return NULL;
		c->next = q->chunks;
		c->used = 0;
		c->size = size;
		q->chunks = c;
	}
	p = (char *)c->data + c->used;
	c->used += need;
	memset(p, 0, n);
	return p;
}

void
hub_query_free(struct hub_query *q)
{
	struct chunk *c, *next;

	if (q == NULL)
		return;
	for (c = q->chunks; c != NULL; c = next) {
		next = c->next;
		rc_free(c);
	}
	rc_free(q);
}

/*
 * Messages.
 */

/* "column C", or "line L, column C" when the text has several lines. */
static void
where(const struct parser *p, size_t pos, char *out, size_t outsize)
{
	const uint8_t *s;
	size_t line = 1, start = 0, n;
	struct rc_buf b;

	rc_buf_init(&b, p->text, pos);
	while (rc_buf_get0_until(&b, '\n', &s, &n) == RC_OK) {
		line++;
		start = b.off;
	}
	if (memchr(p->text, '\n', p->len) == NULL)
		snprintf(out, outsize, "column %zu", pos - start + 1);
	else
		snprintf(out, outsize, "line %zu, column %zu", line,
		    pos - start + 1);
}

/* At most SHOWN bytes of s in quotes, anything unprintable as '?'. */
static void
quote(const char *s, size_t n, char *out, size_t outsize)
{
	char shown[SHOWN + 1];
	size_t i, k = n > SHOWN ? SHOWN : n;

	for (i = 0; i < k; i++)
		shown[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	shown[k] = '\0';
	snprintf(out, outsize, "'%s%s'", shown, n > k ? "..." : "");
}

static void
describe(const struct tok *t, char *out, size_t outsize)
{
	if (t->k == T_EOF)
		snprintf(out, outsize, "end of input");
	else if (t->k == T_STR)
		snprintf(out, outsize, "a string");
	else
		quote(t->raw, t->len, out, outsize);
}

static int fail(struct parser *, int rc, size_t pos, const char *fmt, ...)
    RC_FMT(4, 5);

/* Writes "<where>: <reason>" to err; returns rc. */
static int
fail(struct parser *p, int rc, size_t pos, const char *fmt, ...)
{
	char msg[256], at[64];
	va_list ap;

	if (p->errlen == 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	where(p, pos, at, sizeof(at));
	snprintf(p->err, p->errlen, "%s: %s", at, msg);
	return rc;
}

/* "expected <what> [after <previous token>], found <this token>". */
static int
expected(struct parser *p, const char *what)
{
	char found[SHOWN + 16], prev[SHOWN + 16];

	describe(&p->t, found, sizeof(found));
	if (p->prev.k == T_EOF)
		return fail(p, RC_EPARSE, p->t.pos, "expected %s, found %s",
		    what, found);
	describe(&p->prev, prev, sizeof(prev));
	return fail(p, RC_EPARSE, p->t.pos, "expected %s after %s, found %s",
	    what, prev, found);
}

static int
nomem(struct parser *p)
{
	if (p->errlen > 0)
		snprintf(p->err, p->errlen, "out of memory");
	return RC_ENOMEM;
}

/*
 * Lexer: one token of lookahead in p->t.  Bytes are looked at with peek
 * (bounds-checked against the cursor) and consumed with take.
 */

static int
peek(const struct parser *p, size_t ahead)
{
	if (rc_buf_remaining(&p->b) <= ahead)
		return -1;
	return rc_buf_cur(&p->b)[ahead];
}

static int
take(struct parser *p, enum tkind k, size_t n)
{
	const uint8_t *raw;
	int rc;

	if ((rc = rc_buf_get0_bytes(&p->b, n, &raw)) != RC_OK)
		return rc;
	p->t.k = k;
	p->t.raw = (const char *)raw;
	p->t.len = n;
	return RC_OK;
}

static int
is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static int
is_alpha(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int
is_name(int ch)
{
	return is_alpha(ch) || is_digit(ch) || ch == '_' || ch == '$';
}

static int
hexval(int ch)
{
	if (is_digit(ch))
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* ASCII-only, so that matching does not depend on the locale. */
static int
same(const char *s, size_t n, const char *word)
{
	size_t i;
	int a, b;

	if (strlen(word) != n)
		return 0;
	for (i = 0; i < n; i++) {
		a = (uint8_t)s[i];
		b = (uint8_t)word[i];
		if (a >= 'A' && a <= 'Z')
			a += 'a' - 'A';
		if (b >= 'A' && b <= 'Z')
			b += 'a' - 'A';
		if (a != b)
			return 0;
	}
	return 1;
}

static int
lex_word(struct parser *p)
{
	size_t n = 0;

	for (;;) {
		while (is_name(peek(p, n)))
			n++;
		if (peek(p, n) != '.')
			break;
		if (!is_name(peek(p, n + 1)))
			return fail(p, RC_EPARSE, p->t.pos + n + 1,
			    "expected a property name after '.'");
		n++;
	}
	return take(p, T_WORD, n);
}

/* Four hex digits at s (n bytes remain there), as a code point. */
static int
hex4(const char *s, size_t n, long *cp)
{
	size_t i;
	int h;

	*cp = 0;
	if (n < 4)
		return RC_EPARSE;
	for (i = 0; i < 4; i++) {
		if ((h = hexval((uint8_t)s[i])) < 0)
			return RC_EPARSE;
		*cp = *cp * 16 + h;
	}
	return RC_OK;
}

static size_t
put_utf8(long cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * \uXXXX at s[0] (n bytes remain), with its low surrogate if it is a
 * high one (RFC 8259 §7); *used is the escape text consumed.  The UTF-8
 * form (at most 4 bytes) is never longer than the escape (6 or 12).
 */
static int
unescape_u(struct parser *p, size_t pos, const char *s, size_t n, size_t *used,
    long *cp)
{
	long lo;

	if (hex4(s + 2, n - 2, cp) != RC_OK)
		return fail(p, RC_EPARSE, pos,
		    "expected 4 hex digits after \\u");
	*used = 6;
	if (*cp == 0)
		return fail(p, RC_EPARSE, pos, "\\u0000 (NUL) is not allowed");
	if (*cp >= 0xdc00 && *cp <= 0xdfff)
		return fail(p, RC_EPARSE, pos,
		    "unpaired surrogate in \\u escape");
	if (*cp < 0xd800 || *cp > 0xdbff)
		return RC_OK;
	if (n < 12 || s[6] != '\\' || s[7] != 'u' ||
	    hex4(s + 8, n - 8, &lo) != RC_OK || lo < 0xdc00 || lo > 0xdfff)
		return fail(p, RC_EPARSE, pos,
		    "unpaired surrogate in \\u escape");
	*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
	*used = 12;
	return RC_OK;
}

/* One escape at s[0] == '\\' (n >= 2 bytes remain); appends to out. */
static int
unescape(struct parser *p, size_t pos, const char *s, size_t n, char *out,
    size_t *olen, size_t *used)
{
	static const char from[] = "'\"\\/bfnrt", to[] = "'\"\\/\b\f\n\r\t";
	const char *e;
	long cp;
	int rc;

	if (s[1] == 'u') {
		if ((rc = unescape_u(p, pos, s, n, used, &cp)) != RC_OK)
			return rc;
		*olen += put_utf8(cp, out + *olen);
		return RC_OK;
	}
	if (s[1] == '\0' || (e = strchr(from, s[1])) == NULL) {
		if (s[1] >= 0x20 && s[1] < 0x7f)
			return fail(p, RC_EPARSE, pos, "unknown escape '\\%c'",
			    s[1]);
		return fail(p, RC_EPARSE, pos, "unknown escape");
	}
	out[(*olen)++] = to[e - from];
	*used = 2;
	return RC_OK;
}

/* The body of a string token (between its quotes) into the arena. */
static int
decode_string(struct parser *p, const char *s, size_t n, size_t pos)
{
	size_t i = 0, olen = 0, used = 0;
	char *out;
	int rc;

	if ((out = arena_alloc(p->q, n + 1)) == NULL)
		return nomem(p);
	while (i < n) {
		if (s[i] != '\\') {
			out[olen++] = s[i++];
			continue;
		}
		rc = unescape(p, pos + i, s + i, n - i, out, &olen, &used);
		if (rc != RC_OK)
			return rc;
		i += used;
	}
	out[olen] = '\0';
	p->t.v.t = V_STR;
	p->t.v.s = out;
	p->t.v.slen = olen;
	return RC_OK;
}

static int
lex_string(struct parser *p)
{
	int quote_ch = peek(p, 0), ch;
	size_t n = 1;
	int rc;

	for (;;) {
		if ((ch = peek(p, n)) == -1)
			return fail(p, RC_EPARSE, p->t.pos,
			    "unterminated string");
		if (ch == '\0')
			return fail(p, RC_EPARSE, p->t.pos + n, "NUL byte");
		if (ch == quote_ch)
			break;
		/* A backslash always takes the next byte with it. */
		n += ch == '\\' && peek(p, n + 1) > 0 ? 2 : 1;
	}
	if ((rc = take(p, T_STR, n + 1)) != RC_OK)
		return rc;
	return decode_string(p, p->t.raw + 1, n - 1, p->t.pos + 1);
}

/* Length of -?0x<hex> or -?digits[.digits][e[+-]digits] at the cursor. */
static int
number_len(struct parser *p, size_t *len, int *is_real, int *is_hex)
{
	size_t n = peek(p, 0) == '-' ? 1 : 0, d;

	*is_real = *is_hex = 0;
	if (peek(p, n) == '0' &&
	    (peek(p, n + 1) == 'x' || peek(p, n + 1) == 'X')) {
		*is_hex = 1;
		for (n += 2, d = n; hexval(peek(p, n)) >= 0; n++)
			;
		if (n == d)
			return fail(p, RC_EPARSE, p->t.pos + n,
			    "expected a hex digit after 0x");
	} else {
		while (is_digit(peek(p, n)))
			n++;
		if (peek(p, n) == '.') {
			*is_real = 1;
			if (!is_digit(peek(p, ++n)))
				return fail(p, RC_EPARSE, p->t.pos + n,
				    "expected a digit after '.'");
			while (is_digit(peek(p, n)))
				n++;
		}
		if (peek(p, n) == 'e' || peek(p, n) == 'E') {
			*is_real = 1;
			n++;
			if (peek(p, n) == '+' || peek(p, n) == '-')
				n++;
			if (!is_digit(peek(p, n)))
				return fail(p, RC_EPARSE, p->t.pos + n,
				    "expected a digit in the exponent");
			while (is_digit(peek(p, n)))
				n++;
		}
	}
	if (is_name(peek(p, n)) || peek(p, n) == '.')
		return fail(p, RC_EPARSE, p->t.pos, "malformed number");
	*len = n;
	return RC_OK;
}

static int
hex_value(struct parser *p, const char *s, size_t n, long long *out)
{
	size_t i = s[0] == '-' ? 3 : 2;
	long long v = 0;
	int h;

	for (; i < n; i++) {
		h = hexval((uint8_t)s[i]);
		if (v > (LLONG_MAX - h) / 16)
			return fail(p, RC_EPARSE, p->t.pos,
			    "number out of range");
		v = v * 16 + h;
	}
	*out = s[0] == '-' ? -v : v;
	return RC_OK;
}

/* The number token's value: integer if it fits a long long, else real. */
static int
number_value(struct parser *p, int is_real, int is_hex)
{
	struct val *v = &p->t.v;
	char *copy;
	int rc;

	if (is_hex) {
		v->t = V_INT;
		return hex_value(p, p->t.raw, p->t.len, &v->i);
	}
	if ((copy = arena_alloc(p->q, p->t.len + 1)) == NULL)
		return nomem(p);
	memcpy(copy, p->t.raw, p->t.len);
	if (!is_real) {
		v->t = V_INT;
		rc = rc_strtonum(copy, LLONG_MIN, LLONG_MAX, &v->i);
		if (rc != RC_ERANGE)
			return rc;
	}
	/* strtod reads the C locale's '.': rollcall never calls setlocale. */
	errno = 0;
	v->t = V_REAL;
	v->d = strtod(copy, NULL);
	if (errno == ERANGE && isinf(v->d))
		return fail(p, RC_EPARSE, p->t.pos, "number out of range");
	return RC_OK;
}

static int
lex_number(struct parser *p)
{
	int is_real, is_hex, rc;
	size_t n = 0;

	if ((rc = number_len(p, &n, &is_real, &is_hex)) != RC_OK)
		return rc;
	if ((rc = take(p, T_NUM, n)) != RC_OK)
		return rc;
	return number_value(p, is_real, is_hex);
}

/*
 * The comparison operator at the cursor, longest first; 0 if none.
 */
static size_t
op_len(const struct parser *p, enum cmpop *op)
{
	static const struct {
		const char *text;
		enum cmpop op;
	} ops[] = {{"!=", OP_NE}, {"<>", OP_NE}, {"<=", OP_LE}, {">=", OP_GE},
	    {"=", OP_EQ}, {"<", OP_LT}, {">", OP_GT}};
	size_t i, n;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		n = strlen(ops[i].text);
		if (peek(p, 0) == ops[i].text[0] &&
		    (n == 1 || peek(p, 1) == ops[i].text[1])) {
			*op = ops[i].op;
			return n;
		}
	}
	return 0;
}

static int
lex_punct(struct parser *p, int ch)
{
	static const char chars[] = "()[],*";
	static const enum tkind kinds[] = {T_LPAREN, T_RPAREN, T_LBRACK,
	    T_RBRACK, T_COMMA, T_STAR};
	const char *c;
	size_t n;

	if ((n = op_len(p, &p->t.op)) > 0)
		return take(p, T_OP, n);
	if (ch != '\0' && (c = strchr(chars, ch)) != NULL)
		return take(p, kinds[c - chars], 1);
	if (ch == '\0')
		return fail(p, RC_EPARSE, p->t.pos, "NUL byte");
	if (ch == '!')
		return fail(p, RC_EPARSE, p->t.pos, "expected '=' after '!'");
	if (ch >= 0x20 && ch < 0x7f)
		return fail(p, RC_EPARSE, p->t.pos, "unexpected character '%c'",
		    ch);
	return fail(p, RC_EPARSE, p->t.pos, "unexpected byte 0x%02x", ch);
}

/* Moves to the next token. */
static int
next(struct parser *p)
{
	int ch;

	p->prev = p->t;
	while (
	    (ch = peek(p, 0)) == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
		if (rc_buf_skip(&p->b, 1) != RC_OK)
			return RC_EPARSE;
	memset(&p->t, 0, sizeof(p->t));
	p->t.pos = p->b.off;
	if (ch == -1)
		return take(p, T_EOF, 0);
	if (is_alpha(ch) || ch == '_' || ch == '$')
		return lex_word(p);
	if (ch == '\'' || ch == '"')
		return lex_string(p);
	if (is_digit(ch) || (ch == '-' && is_digit(peek(p, 1))))
		return lex_number(p);
	return lex_punct(p, ch);
}

/*
 * Parser.
 */

static int
is_kw(const struct parser *p, const char *kw)
{
	return p->t.k == T_WORD && same(p->t.raw, p->t.len, kw);
}

static int
new_node(struct parser *p, enum nkind k, struct node **out)
{
	if ((*out = arena_alloc(p->q, sizeof(**out))) == NULL)
		return nomem(p);
	(*out)->kind = k;
	return RC_OK;
}

static char *
arena_strndup(struct hub_query *q, const char *s, size_t n)
{
	char *d;

	if ((d = arena_alloc(q, n + 1)) != NULL)
		memcpy(d, s, n);
	return d;
}

struct seg {
	const char *s;
	size_t n;
};

/* Splits the word token at its dots; RC_ETOOBIG past max names. */
static int
split_path(struct parser *p, struct seg *segs, size_t max, size_t *nsegs)
{
	const char *s = p->t.raw, *dot, *end = p->t.raw + p->t.len;

	*nsegs = 0;
	for (;;) {
		if (*nsegs == max)
			return fail(p, RC_ETOOBIG, p->t.pos,
			    "property path deeper than %d names",
			    HUB_QUERY_MAX_PATH);
		dot = memchr(s, '.', (size_t)(end - s));
		segs[*nsegs].s = s;
		segs[*nsegs].n = (size_t)((dot == NULL ? end : dot) - s);
		(*nsegs)++;
		if (dot == NULL)
			return RC_OK;
		s = dot + 1;
	}
}

/*
 * The keys of a field: the fixed head (canonical spelling, matched
 * without regard to case) then the user's path, case-sensitive as twin
 * property names are (reference §4.4).
 */
static int
build_field(struct parser *p, struct field *f, const char *const *head,
    size_t nhead, const struct seg *path, size_t npath)
{
	size_t i;

	if (npath > HUB_QUERY_MAX_PATH)
		return fail(p, RC_ETOOBIG, p->t.pos,
		    "property path deeper than %d names", HUB_QUERY_MAX_PATH);
	f->nkeys = nhead + npath;
	if ((f->keys = arena_alloc(p->q, f->nkeys * sizeof(*f->keys))) == NULL)
		return nomem(p);
	for (i = 0; i < nhead; i++)
		f->keys[i] = head[i];
	for (i = 0; i < npath; i++)
		if ((f->keys[nhead + i] =
		            arena_strndup(p->q, path[i].s, path[i].n)) == NULL)
			return nomem(p);
	return RC_OK;
}

static int
unknown_field(struct parser *p)
{
	char name[SHOWN + 16];

	quote(p->t.raw, p->t.len, name, sizeof(name));
	return fail(p, RC_EPARSE, p->t.pos,
	    "unknown field %s: expected deviceId, status, connectionState, "
	    "tags.<path> or properties.desired|reported.<path>",
	    name);
}

static int
resolve_field(struct parser *p, struct field *f)
{
	static const char *const props[][2] = {{"properties", "desired"},
	    {"properties", "reported"}};
	static const char *const tags[] = {"tags"};
	struct seg segs[HUB_QUERY_MAX_PATH + 4], *s = segs;
	size_t n, i;
	int rc;

	if ((rc = split_path(p, segs, HUB_QUERY_MAX_PATH + 4, &n)) != RC_OK)
		return rc;
	if (n > 1 && same(s->s, s->n, "devices")) {
		s++;
		n--;
	}
	for (i = 0; n == 1 && i < sizeof(scalars) / sizeof(scalars[0]); i++)
		if (same(s->s, s->n, scalars[i]))
			return build_field(p, f, &scalars[i], 1, NULL, 0);
	if (n > 1 && same(s->s, s->n, "tags"))
		return build_field(p, f, tags, 1, s + 1, n - 1);
	for (i = 0; n > 2 && i < 2; i++)
		if (same(s->s, s->n, "properties") &&
		    same(s[1].s, s[1].n, props[i][1]))
			return build_field(p, f, props[i], 2, s + 2, n - 2);
	return unknown_field(p);
}

static int
parse_literal(struct parser *p, struct val *v, const char *what)
{
	if (p->t.k == T_STR || p->t.k == T_NUM)
		*v = p->t.v;
	else if (is_kw(p, "true") || is_kw(p, "false")) {
		v->t = V_BOOL;
		v->b = is_kw(p, "true");
	} else if (is_kw(p, "null"))
		v->t = V_NULL;
	else
		return expected(p, what);
	return next(p);
}

static int
is_reserved(const struct parser *p)
{
	size_t i;

	for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (is_kw(p, keywords[i]))
			return 1;
	return 0;
}

static int
parse_operand(struct parser *p, struct operand *o, const char *what)
{
	int rc;

	if (p->t.k != T_WORD || is_kw(p, "true") || is_kw(p, "false") ||
	    is_kw(p, "null"))
		return parse_literal(p, &o->v, what);
	if (is_reserved(p))
		return expected(p, what);
	if ((rc = resolve_field(p, &o->f)) != RC_OK)
		return rc;
	o->is_field = 1;
	return next(p);
}

static int
parse_list(struct parser *p, struct node *n)
{
	struct item **tail = &n->list;
	size_t count = 0;
	int rc;

	if (p->t.k != T_LBRACK)
		return expected(p, "'['");
	if ((rc = next(p)) != RC_OK)
		return rc;
	for (;;) {
		if (count == HUB_QUERY_MAX_IN)
			return fail(p, RC_ETOOBIG, p->t.pos,
			    "more than %d values in the list",
			    HUB_QUERY_MAX_IN);
		if ((*tail = arena_alloc(p->q, sizeof(**tail))) == NULL)
			return nomem(p);
		rc = parse_literal(p, &(*tail)->v,
		    "a value (string, number, true, false or null)");
		if (rc != RC_OK)
			return rc;
		tail = &(*tail)->next;
		count++;
		if (p->t.k == T_RBRACK)
			return next(p);
		if (p->t.k != T_COMMA)
			return expected(p, "',' or ']'");
		if ((rc = next(p)) != RC_OK)
			return rc;
	}
}

static enum cmpop
flip(enum cmpop op)
{
	switch (op) {
	case OP_LT:
		return OP_GT;
	case OP_LE:
		return OP_GE;
	case OP_GT:
		return OP_LT;
	case OP_GE:
		return OP_LE;
	default:
		return op;
	}
}

/* After the left operand: the operator and what it takes. */
static int
parse_rest(struct parser *p, struct node *n)
{
	int rc;

	if (p->t.k == T_OP) {
		n->kind = N_CMP;
		n->op = p->t.op;
		if ((rc = next(p)) != RC_OK)
			return rc;
		return parse_operand(p, &n->rhs, "a value");
	}
	if (is_kw(p, "NOT")) {
		if ((rc = next(p)) != RC_OK)
			return rc;
		if (!is_kw(p, "IN"))
			return expected(p, "IN");
		n->kind = N_NIN;
	} else if (is_kw(p, "IN") || is_kw(p, "NIN"))
		n->kind = is_kw(p, "IN") ? N_IN : N_NIN;
	else
		return expected(p,
		    "an operator (=, !=, <>, <, <=, >, >=, IN or NIN)");
	if ((rc = next(p)) != RC_OK)
		return rc;
	return parse_list(p, n);
}

static int
parse_predicate(struct parser *p, struct node **out)
{
	struct operand tmp;
	struct node *n;
	int rc;

	if ((rc = new_node(p, N_CMP, &n)) != RC_OK)
		return rc;
	if ((rc = parse_operand(p, &n->lhs, "a condition")) != RC_OK ||
	    (rc = parse_rest(p, n)) != RC_OK)
		return rc;
	/* A literal on the left is turned around: 'x' = deviceId. */
	if (n->kind == N_CMP && !n->lhs.is_field && n->rhs.is_field) {
		tmp = n->lhs;
		n->lhs = n->rhs;
		n->rhs = tmp;
		n->op = flip(n->op);
	}
	*out = n;
	return RC_OK;
}

static int
parse_defined(struct parser *p, struct node **out)
{
	struct node *n;
	int rc;

	if ((rc = new_node(p, N_DEFINED, &n)) != RC_OK ||
	    (rc = next(p)) != RC_OK)
		return rc;
	if (p->t.k != T_LPAREN)
		return expected(p, "'('");
	if ((rc = next(p)) != RC_OK)
		return rc;
	if (p->t.k != T_WORD || is_reserved(p))
		return expected(p, "a field");
	if ((rc = resolve_field(p, &n->lhs.f)) != RC_OK ||
	    (rc = next(p)) != RC_OK)
		return rc;
	n->lhs.is_field = 1;
	if (p->t.k != T_RPAREN)
		return expected(p, "')'");
	*out = n;
	return next(p);
}

static int parse_or(struct parser *, int depth, struct node **);

static int
too_deep(struct parser *p)
{
	return fail(p, RC_ETOOBIG, p->t.pos, "nested deeper than %d levels",
	    HUB_QUERY_MAX_DEPTH);
}

static int
parse_primary(struct parser *p, int depth, struct node **out)
{
	char at[64], found[SHOWN + 16];
	size_t open = p->t.pos;
	int rc;

	if (is_kw(p, "IS_DEFINED"))
		return parse_defined(p, out);
	if (p->t.k != T_LPAREN)
		return parse_predicate(p, out);
	if (depth >= HUB_QUERY_MAX_DEPTH)
		return too_deep(p);
	if ((rc = next(p)) != RC_OK ||
	    (rc = parse_or(p, depth + 1, out)) != RC_OK)
		return rc;
	if (p->t.k != T_RPAREN) {
		where(p, open, at, sizeof(at));
		describe(&p->t, found, sizeof(found));
		return fail(p, RC_EPARSE, p->t.pos,
		    "expected AND, OR or ')' to close the '(' at %s, found %s",
		    at, found);
	}
	return next(p);
}

static int
parse_unary(struct parser *p, int depth, struct node **out)
{
	struct node *n;
	int rc;

	if (!is_kw(p, "NOT"))
		return parse_primary(p, depth, out);
	if (depth >= HUB_QUERY_MAX_DEPTH)
		return too_deep(p);
	if ((rc = new_node(p, N_NOT, &n)) != RC_OK || (rc = next(p)) != RC_OK ||
	    (rc = parse_unary(p, depth + 1, &n->kids)) != RC_OK)
		return rc;
	*out = n;
	return RC_OK;
}

typedef int (*subparse)(struct parser *, int, struct node **);

/* sub {kw sub}: one n-ary node if kw occurs, else the single operand. */
static int
parse_chain(struct parser *p, int depth, const char *kw, enum nkind kind,
    subparse sub, struct node **out)
{
	struct node *first, *n, **tail;
	int rc;

	if ((rc = sub(p, depth, &first)) != RC_OK)
		return rc;
	if (!is_kw(p, kw)) {
		*out = first;
		return RC_OK;
	}
	if ((rc = new_node(p, kind, &n)) != RC_OK)
		return rc;
	n->kids = first;
	tail = &first->next;
	while (is_kw(p, kw)) {
		if ((rc = next(p)) != RC_OK ||
		    (rc = sub(p, depth, tail)) != RC_OK)
			return rc;
		tail = &(*tail)->next;
	}
	*out = n;
	return RC_OK;
}

static int
parse_and(struct parser *p, int depth, struct node **out)
{
	return parse_chain(p, depth, "AND", N_AND, parse_unary, out);
}

static int
parse_or(struct parser *p, int depth, struct node **out)
{
	return parse_chain(p, depth, "OR", N_OR, parse_and, out);
}

/* SELECT * FROM devices [WHERE cond] */
static int
parse_select(struct parser *p)
{
	int rc;

	if (!is_kw(p, "SELECT"))
		return expected(p, "SELECT");
	if ((rc = next(p)) != RC_OK)
		return rc;
	if (p->t.k != T_STAR)
		return expected(p, "'*' (only SELECT * is supported)");
	if ((rc = next(p)) != RC_OK)
		return rc;
	if (!is_kw(p, "FROM"))
		return expected(p, "FROM");
	if ((rc = next(p)) != RC_OK)
		return rc;
	if (!is_kw(p, "devices"))
		return expected(p, "devices (only FROM devices is supported)");
	if ((rc = next(p)) != RC_OK)
		return rc;
	if (p->t.k == T_EOF)
		return new_node(p, N_ALL, &p->q->root);
	if (!is_kw(p, "WHERE"))
		return expected(p, "WHERE or end of input");
	if ((rc = next(p)) != RC_OK ||
	    (rc = parse_or(p, 0, &p->q->root)) != RC_OK)
		return rc;
	if (p->t.k != T_EOF)
		return expected(p, "AND, OR or end of input");
	return RC_OK;
}

/* cond, or '*' for every device */
static int
parse_cond_text(struct parser *p)
{
	int rc;

	if (p->t.k == T_STAR) {
		if ((rc = next(p)) != RC_OK)
			return rc;
		if (p->t.k != T_EOF)
			return expected(p, "end of input");
		return new_node(p, N_ALL, &p->q->root);
	}
	if ((rc = parse_or(p, 0, &p->q->root)) != RC_OK)
		return rc;
	if (p->t.k != T_EOF)
		return expected(p, "AND, OR or end of input");
	return RC_OK;
}

/*
 * Device IDs named outright (query.h): deviceId = 'x', deviceId IN [...],
 * or an OR of those.
 */

static int
is_device_id(const struct operand *o)
{
	return o->is_field && o->f.nkeys == 1 &&
	    strcmp(o->f.keys[0], "deviceId") == 0;
}

static int
names_ids(const struct node *n)
{
	if (n->kind == N_CMP)
		return n->op == OP_EQ && is_device_id(&n->lhs) &&
		    !n->rhs.is_field;
	return n->kind == N_IN && is_device_id(&n->lhs);
}

/* Appends the string values n names to ids (NULL: only counts). */
static size_t
collect_ids(const struct node *n, const char **ids, size_t k)
{
	const struct item *it;

	if (n->kind == N_CMP) {
		if (n->rhs.v.t == V_STR && ids != NULL)
			ids[k] = n->rhs.v.s;
		return k + (n->rhs.v.t == V_STR);
	}
	for (it = n->list; it != NULL; it = it->next) {
		if (it->v.t == V_STR && ids != NULL)
			ids[k] = it->v.s;
		k += it->v.t == V_STR;
	}
	return k;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
find_ids(struct parser *p)
{
	struct hub_query *q = p->q;
	const struct node *n, *one;
	size_t k = 0, i, j;

	/* The root has no sibling, so one node or a list walks the same. */
	one = q->root->kind == N_OR ? q->root->kids : q->root;
	for (n = one; n != NULL; n = n->next)
		if (!names_ids(n))
			return RC_OK;
	for (n = one; n != NULL; n = n->next)
		k = collect_ids(n, NULL, k);
	if ((q->ids = arena_alloc(q, (k + 1) * sizeof(*q->ids))) == NULL)
		return nomem(p);
	k = 0;
	for (n = one; n != NULL; n = n->next)
		k = collect_ids(n, q->ids, k);
	qsort(q->ids, k, sizeof(*q->ids), cmp_str);
	for (i = j = 0; i < k; i++)
		if (j == 0 || strcmp(q->ids[j - 1], q->ids[i]) != 0)
			q->ids[j++] = q->ids[i];
	q->nids = j;
	q->have_ids = 1;
	return RC_OK;
}

static int
parse(const char *text, size_t len, int whole, struct hub_query **out,
    char *err, size_t errlen)
{
	struct parser p;
	int rc;

	memset(&p, 0, sizeof(p));
	p.err = err;
	p.errlen = err == NULL ? 0 : errlen;
	if (p.errlen > 0)
		err[0] = '\0';
	if (out != NULL)
		*out = NULL;
	if (out == NULL || (text == NULL && len > 0))
		return RC_EINVAL;
	p.text = text == NULL ? "" : text;
	p.len = len;
	if (len > HUB_QUERY_MAX_TEXT) {
		if (p.errlen > 0)
			snprintf(err, errlen, "query longer than %d bytes",
			    HUB_QUERY_MAX_TEXT);
		return RC_ETOOBIG;
	}
	if ((p.q = rc_calloc(1, sizeof(*p.q))) == NULL)
		return nomem(&p);
	rc_buf_init(&p.b, p.text, len);
	if ((rc = next(&p)) != RC_OK)
		goto out;
	rc = whole ? parse_select(&p) : parse_cond_text(&p);
	if (rc == RC_OK)
		rc = find_ids(&p);
out:
	if (rc != RC_OK) {
		hub_query_free(p.q);
		return rc;
	}
	*out = p.q;
	return RC_OK;
}

int
hub_query_parse(const char *text, size_t len, struct hub_query **out, char *err,
    size_t errlen)
{
	return parse(text, len, 1, out, err, errlen);
}

int
hub_query_parse_condition(const char *text, size_t len, struct hub_query **out,
    char *err, size_t errlen)
{
	return parse(text, len, 0, out, err, errlen);
}

int
hub_query_device_ids(const struct hub_query *q, const char ***ids, size_t *n)
{
	if (ids != NULL)
		*ids = NULL;
	if (n != NULL)
		*n = 0;
	if (q == NULL || ids == NULL || n == NULL)
		return RC_EINVAL;
	if (!q->have_ids)
		return RC_ENOENT;
	*ids = q->ids;
	*n = q->nids;
	return RC_OK;
}

/*
 * Evaluation.
 */

static const json_t *
lookup(const json_t *dev, const struct field *f)
{
	const json_t *cur = dev;
	size_t i;

	for (i = 0; i < f->nkeys && cur != NULL; i++)
		cur = json_is_object(cur) ? json_object_get(cur, f->keys[i])
		                          : NULL;
	return cur;
}

static struct val
value_of(const json_t *dev, const struct operand *o)
{
	struct val v = {0};
	const json_t *j;

	if (!o->is_field)
		return o->v;
	if ((j = lookup(dev, &o->f)) == NULL)
		return v; /* V_UNDEF */
	switch (json_typeof(j)) {
	case JSON_STRING:
		v.t = V_STR;
		v.s = json_string_value(j);
		v.slen = json_string_length(j);
		break;
	case JSON_INTEGER:
		v.t = V_INT;
		v.i = json_integer_value(j);
		break;
	case JSON_REAL:
		v.t = V_REAL;
		v.d = json_real_value(j);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		v.t = V_BOOL;
		v.b = json_is_true(j);
		break;
	case JSON_NULL:
		v.t = V_NULL;
		break;
	default:
		v.t = V_OTHER;
		break;
	}
	return v;
}

static int
is_number(const struct val *v)
{
	return v->t == V_INT || v->t == V_REAL;
}

/* -1, 0, 1; both are numbers. */
static int
cmp_numbers(const struct val *a, const struct val *b)
{
	double x, y;

	if (a->t == V_INT && b->t == V_INT)
		return (a->i > b->i) - (a->i < b->i);
	x = a->t == V_INT ? (double)a->i : a->d;
	y = b->t == V_INT ? (double)b->i : b->d;
	return (x > y) - (x < y);
}

/* Bytewise, which for UTF-8 is code point order. */
static int
cmp_strings(const struct val *a, const struct val *b)
{
	size_t n = a->slen < b->slen ? a->slen : b->slen;
	int c = memcmp(a->s, b->s, n);

	if (c != 0)
		return c < 0 ? -1 : 1;
	return (a->slen > b->slen) - (a->slen < b->slen);
}

static enum tv
compare(enum cmpop op, const struct val *a, const struct val *b)
{
	int c;

	if (a->t == V_UNDEF || a->t == V_OTHER || b->t == V_UNDEF ||
	    b->t == V_OTHER)
		return TV_UNDEF;
	if (is_number(a) && is_number(b))
		c = cmp_numbers(a, b);
	else if (a->t != b->t)
		return TV_UNDEF;
	else if (a->t == V_STR)
		c = cmp_strings(a, b);
	else if (op != OP_EQ && op != OP_NE)
		return TV_UNDEF; /* null and booleans have no order */
	else
		c = a->t == V_BOOL ? a->b != b->b : 0;
	switch (op) {
	case OP_EQ:
		return c == 0 ? TV_TRUE : TV_FALSE;
	case OP_NE:
		return c != 0 ? TV_TRUE : TV_FALSE;
	case OP_LT:
		return c < 0 ? TV_TRUE : TV_FALSE;
	case OP_LE:
		return c <= 0 ? TV_TRUE : TV_FALSE;
	case OP_GT:
		return c > 0 ? TV_TRUE : TV_FALSE;
	default:
		return c >= 0 ? TV_TRUE : TV_FALSE;
	}
}

static enum tv not(enum tv v) {
	return v == TV_UNDEF ? TV_UNDEF
	    : v == TV_TRUE   ? TV_FALSE
	                     : TV_TRUE;
}

static enum tv
eval_in(const struct node *n, const json_t *dev)
{
	struct val a = value_of(dev, &n->lhs);
	const struct item *it;
	enum tv res = TV_FALSE, r;

	for (it = n->list; it != NULL; it = it->next) {
		if ((r = compare(OP_EQ, &a, &it->v)) == TV_TRUE)
			return TV_TRUE;
		if (r == TV_UNDEF)
			res = TV_UNDEF;
	}
	return res;
}

static enum tv eval_node(const struct node *, const json_t *);

/* AND stops at the first false, OR at the first true (stop). */
static enum tv
eval_chain(const struct node *n, const json_t *dev, enum tv stop)
{
	enum tv res = not(stop), r;
	const struct node *k;

	for (k = n->kids; k != NULL; k = k->next) {
		if ((r = eval_node(k, dev)) == stop)
			return stop;
		if (r == TV_UNDEF)
			res = TV_UNDEF;
	}
	return res;
}

static enum tv
eval_node(const struct node *n, const json_t *dev)
{
	struct val a, b;

	switch (n->kind) {
	case N_ALL:
		return TV_TRUE;
	case N_AND:
		return eval_chain(n, dev, TV_FALSE);
	case N_OR:
		return eval_chain(n, dev, TV_TRUE);
	case N_NOT:
		return not(eval_node(n->kids, dev));
	case N_CMP:
		a = value_of(dev, &n->lhs);
		b = value_of(dev, &n->rhs);
		return compare(n->op, &a, &b);
	case N_IN:
		return eval_in(n, dev);
	case N_NIN:
		return not(eval_in(n, dev));
	case N_DEFINED:
		return lookup(dev, &n->lhs.f) != NULL ? TV_TRUE : TV_FALSE;
	default:
		rc_fatalx("query: node kind %d", (int)n->kind);
	}
}

int
hub_query_eval(const struct hub_query *q, const json_t *device, int *match)
{
	if (match != NULL)
		*match = 0;
	if (q == NULL || q->root == NULL || match == NULL ||
	    !json_is_object(device))
		return RC_EINVAL;
	*match = eval_node(q->root, device) == TV_TRUE;
	return RC_OK;
}
