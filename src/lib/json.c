/*
 * Strict JSON over jansson (json.h has the rules).
 *
 * jansson does the parsing: duplicate keys (JSON_REJECT_DUPLICATES),
 * trailing bytes (its end-of-input check is left on), invalid UTF-8, the
 * \u0000 escape (JSON_ALLOW_NUL left off), top-level scalars
 * (JSON_DECODE_ANY left off) and numeric overflow.  Before it runs, one
 * pass through rc_buf enforces what jansson does not: the size cap, no
 * raw NUL byte, and at most RC_JSON_MAX_DEPTH nested containers (jansson
 * allows 2048 and recurses once per level).  The pass tracks strings
 * exactly for any input jansson would accept, so it never refuses valid
 * JSON within the limits; on malformed input its count may be off, and
 * jansson refuses that input anyway.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rollcall/buf.h"
#include "rollcall/json.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void
init(void)
{
	json_set_alloc_funcs(rc_malloc, rc_free);
}

void
rc_json_init(void)
{
	pthread_once(&init_once, init);
}

static int perr(char *err, size_t errlen, int rc, const char *fmt, ...)
    RC_FMT(4, 5);

static int
perr(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* The pre-pass: NUL bytes and nesting depth, positions as jansson counts. */
static int
prescan(const char *data, size_t len, char *err, size_t errlen)
{
	unsigned long line = 1, col = 0;
	int in_str = 0, esc = 0;
	size_t depth = 0;
	struct rc_buf b;
	uint8_t ch;

	rc_buf_init(&b, data, len);
	while (rc_buf_get_u8(&b, &ch) == RC_OK) {
		if (ch == '\n') {
			line++;
			col = 0;
		} else if ((ch & 0xc0) != 0x80) /* not a UTF-8 continuation */
			col++;
		if (ch == '\0')
			return perr(err, errlen, RC_EPARSE,
			    "line %lu column %lu: NUL byte", line, col);
		if (in_str) {
			if (esc)
				esc = 0;
			else if (ch == '\\')
				esc = 1;
			else if (ch == '"')
				in_str = 0;
		} else if (ch == '"')
			in_str = 1;
		else if ((ch == '[' || ch == '{') &&
		    ++depth > RC_JSON_MAX_DEPTH)
			return perr(err, errlen, RC_ETOOBIG,
			    "line %lu column %lu: nested deeper than %d", line,
			    col, RC_JSON_MAX_DEPTH);
		else if ((ch == ']' || ch == '}') && depth > 0)
			depth--;
	}
	return RC_OK;
}

int
rc_json_parse(const char *data, size_t len, size_t maxlen, json_t **out,
    char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *v;
	int rc;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (data == NULL)
		return perr(err, errlen, RC_EINVAL, "no input");
	if (len > maxlen)
		return perr(err, errlen, RC_ETOOBIG,
		    "%zu bytes, over the limit of %zu", len, maxlen);
	if ((rc = prescan(data, len, err, errlen)) != RC_OK)
		return rc;
	rc_json_init();
	if ((v = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		/* An empty text: jansson could not allocate its lexer. */
		if (json_error_code(&jerr) == json_error_out_of_memory ||
		    jerr.text[0] == '\0')
			return perr(err, errlen, RC_ENOMEM, "out of memory");
		return perr(err, errlen, RC_EPARSE, "line %d column %d: %s",
		    jerr.line, jerr.column, jerr.text);
	}
	if (!json_is_object(v) && !json_is_array(v)) {
		json_decref(v);
		return perr(err, errlen, RC_EPARSE,
		    "line 1 column 1: not an object or array");
	}
	*out = v;
	return RC_OK;
}

/* obj[key], with JSON null counted as missing. */
static int
member(json_t *obj, const char *key, int required, json_t **v)
{
	*v = NULL;
	if (!json_is_object(obj) || key == NULL)
		return RC_EINVAL;
	*v = json_object_get(obj, key);
	if (*v != NULL && !json_is_null(*v))
		return RC_OK;
	*v = NULL;
	return required ? RC_ENOENT : RC_OK;
}

int
rc_json_get_str(json_t *obj, const char *key, int required, const char **out)
{
	json_t *v;
	int rc;

	*out = NULL;
	if ((rc = member(obj, key, required, &v)) != RC_OK || v == NULL)
		return rc;
	if (!json_is_string(v))
		return RC_EPARSE;
	/* A string built with an embedded NUL would be silently cut short. */
	if (strlen(json_string_value(v)) != json_string_length(v))
		return RC_EPARSE;
	*out = json_string_value(v);
	return RC_OK;
}

int
rc_json_get_bool(json_t *obj, const char *key, int required, int def, int *out)
{
	json_t *v;
	int rc;

	*out = 0;
	if ((rc = member(obj, key, required, &v)) != RC_OK)
		return rc;
	if (v == NULL) {
		*out = def;
		return RC_OK;
	}
	if (!json_is_boolean(v))
		return RC_EPARSE;
	*out = json_is_true(v);
	return RC_OK;
}

int
rc_json_get_int(json_t *obj, const char *key, int required, long long min,
    long long max, long long *out)
{
	json_int_t i;
	json_t *v;
	int rc;

	*out = 0;
	if ((rc = member(obj, key, required, &v)) != RC_OK || v == NULL)
		return rc;
	if (!json_is_integer(v))
		return RC_EPARSE;
	i = json_integer_value(v);
	if (i < min || i > max)
		return RC_ERANGE;
	*out = i;
	return RC_OK;
}

static int
get_typed(json_t *obj, const char *key, int required, json_type type,
    json_t **out)
{
	json_t *v;
	int rc;

	*out = NULL;
	if ((rc = member(obj, key, required, &v)) != RC_OK || v == NULL)
		return rc;
	if (json_typeof(v) != type)
		return RC_EPARSE;
	*out = v;
	return RC_OK;
}

int
rc_json_get_obj(json_t *obj, const char *key, int required, json_t **out)
{
	return get_typed(obj, key, required, JSON_OBJECT, out);
}

int
rc_json_get_arr(json_t *obj, const char *key, int required, json_t **out)
{
	return get_typed(obj, key, required, JSON_ARRAY, out);
}

/*
 * UTF-8 as RFC 3629 §4 defines it: shortest forms only, no surrogates,
 * nothing above U+10FFFF.  jansson checks too, but its NULL result does
 * not tell bad text from a failed allocation.
 */
static int
utf8_ok(const char *s)
{
	const uint8_t *p = (const uint8_t *)s;
	uint8_t lo, hi;
	size_t i, n;

	while (*p != '\0') {
		lo = 0x80;
		hi = 0xbf;
		if (*p < 0x80)
			n = 0;
		else if (*p >= 0xc2 && *p <= 0xdf)
			n = 1;
		else if (*p >= 0xe0 && *p <= 0xef)
			n = 2;
		else if (*p >= 0xf0 && *p <= 0xf4)
			n = 3;
		else
			return 0;
		if (*p == 0xe0)
			lo = 0xa0;
		else if (*p == 0xed)
			hi = 0x9f;
		else if (*p == 0xf0)
			lo = 0x90;
		else if (*p == 0xf4)
			hi = 0x8f;
		/* A NUL fails each test, so nothing past it is read. */
		if (n > 0 && (p[1] < lo || p[1] > hi))
			return 0;
		for (i = 2; i <= n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return 0;
		p += n + 1;
	}
	return 1;
}

int
rc_json_set0(json_t *obj, const char *key, json_t *val)
{
	if (val == NULL)
		return RC_ENOMEM;
	if (!json_is_object(obj) || key == NULL || !utf8_ok(key)) {
		json_decref(val);
		return RC_EINVAL;
	}
	rc_json_init();
	/* json_object_set_new drops val if it fails. */
	if (json_object_set_new(obj, key, val) != 0)
		return RC_ENOMEM;
	return RC_OK;
}

int
rc_json_set_str(json_t *obj, const char *key, const char *val)
{
	if (val == NULL || !utf8_ok(val))
		return RC_EINVAL;
	rc_json_init();
	return rc_json_set0(obj, key, json_string(val));
}

int
rc_json_set_int(json_t *obj, const char *key, long long val)
{
	rc_json_init();
	return rc_json_set0(obj, key, json_integer(val));
}

int
rc_json_set_bool(json_t *obj, const char *key, int val)
{
	rc_json_init();
	return rc_json_set0(obj, key, json_boolean(val));
}

int
rc_json_dump(json_t *val, int pretty, char **out, size_t *len)
{
	size_t flags = JSON_ENCODE_ANY;
	char *s;

	*out = NULL;
	if (len != NULL)
		*len = 0;
	if (val == NULL)
		return RC_EINVAL;
	rc_json_init();
	flags |= pretty ? JSON_INDENT(2) : JSON_COMPACT;
	/* NULL also for a value that contains itself; only we build those. */
	if ((s = json_dumps(val, flags)) == NULL)
		return RC_ENOMEM;
	*out = s;
	if (len != NULL)
		*len = strlen(s);
	return RC_OK;
}
