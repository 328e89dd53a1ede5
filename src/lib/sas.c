/*
 * Connection strings and SharedAccessSignature tokens
 * (reference/azure-service-api.md §1.4, §1.5).
 *
 * Connection string:  item *( ";" item ),  item = name "=" value, split at
 * the first '='.  Enforced: at most RC_SAS_MAX bytes, no control bytes,
 * each known name at most once with a non-empty printable value, HostName
 * and SharedAccessKey present, HostName made of host-name characters, the
 * key base64 of 1..RC_SAS_KEY_MAX bytes.
 *
 * Token:  "SharedAccessSignature" SP field *( "&" field ),
 *         field = name "=" 1*( VCHAR except "&" ).
 * Enforced: at most RC_SAS_MAX bytes; only sr, sig, skn, se, none twice,
 * sr, sig and se present; strict percent-decoding (RFC 3986 §2.1) with no
 * '+'-as-space and no decoded NUL; sig canonical base64 of 32 bytes; se
 * canonical decimal, so that printing the parsed value gives back the
 * exact string that was signed.
 */
#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "rollcall/buf.h"
#include "rollcall/enc.h"
#include "rollcall/mem.h"
#include "rollcall/sas.h"

#define SAS_SCHEME "SharedAccessSignature"
#define SAS_MAC_LEN 32
#define SAS_SIG_B64_LEN 44 /* 43 digits and one '=' for 32 bytes */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

enum { F_SR = 1, F_SIG = 2, F_SKN = 4, F_SE = 8 };

static int
is_vchar(uint8_t c)
{
	return c > 0x20 && c < 0x7f;
}

static int
is_unreserved(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

static int
hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static uint8_t
ascii_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + ('a' - 'A')) : c;
}

/* Locale-independent strncasecmp for equality. */
static int
ascii_ncaseeq(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (ascii_lower((uint8_t)a[i]) != ascii_lower((uint8_t)b[i]))
			return 0;
		if (a[i] == '\0')
			return 1;
	}
	return 1;
}

static int
all_vchar(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_vchar(p[i]))
			return 0;
	return 1;
}

/*
 * The next item up to sep, or the rest of the input if sep does not occur
 * (then *last is set).
 */
static int
next_item(struct rc_buf *b, uint8_t sep, const uint8_t **p, size_t *n,
    int *last)
{
	*last = 0;
	if (rc_buf_get0_until(b, sep, p, n) == RC_OK)
		return RC_OK;
	*last = 1;
	*n = rc_buf_remaining(b);
	return rc_buf_get0_bytes(b, *n, p);
}

/* Splits name=value at the first '='; neither side may be empty. */
static int
split_pair(const uint8_t *p, size_t n, const uint8_t **name, size_t *nlen,
    const uint8_t **val, size_t *vlen)
{
	const uint8_t *eq;

	if ((eq = memchr(p, '=', n)) == NULL || eq == p || eq == p + n - 1)
		return RC_EPARSE;
	*name = p;
	*nlen = (size_t)(eq - p);
	*val = eq + 1;
	*vlen = n - *nlen - 1;
	return RC_OK;
}

static int
name_is(const uint8_t *name, size_t nlen, const char *want)
{
	return nlen == strlen(want) && memcmp(name, want, nlen) == 0;
}

/* RFC 3986 §2.1; '+' is an ordinary character here, not a space. */
static int
pct_decode(const uint8_t *p, size_t n, char **out)
{
	struct rc_wbuf w;
	size_t i;
	int hi, lo, rc;
	uint8_t c;

	*out = NULL;
	rc_wbuf_init(&w, n);
	for (i = 0; i < n; i++) {
		c = p[i];
		if (c == '%') {
			if (n - i < 3 || (hi = hexval(p[i + 1])) < 0 ||
			    (lo = hexval(p[i + 2])) < 0) {
				rc = RC_EPARSE;
				goto out;
			}
			c = (uint8_t)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0') {
			rc = RC_EPARSE;
			goto out;
		}
		if ((rc = rc_wbuf_putc(&w, c)) != RC_OK)
			goto out;
	}
	rc = rc_wbuf_detach(&w, out, NULL);
out:
	rc_wbuf_free(&w);
	return rc;
}

int
rc_sas_urlencode(const char *s, size_t n, char **out)
{
	static const char hex[] = "0123456789ABCDEF";
	struct rc_wbuf w;
	char esc[3];
	size_t i;
	uint8_t c;
	int rc;

	*out = NULL;
	if (s == NULL)
		return RC_EINVAL;
	if (n > RC_SAS_MAX)
		return RC_ETOOBIG;
	rc_wbuf_init(&w, 3 * n);
	for (i = 0; i < n; i++) {
		c = (uint8_t)s[i];
		if (is_unreserved(c)) {
			rc = rc_wbuf_putc(&w, c);
		} else {
			esc[0] = '%';
			esc[1] = hex[c >> 4];
			esc[2] = hex[c & 15];
			rc = rc_wbuf_append(&w, esc, sizeof(esc));
		}
		if (rc != RC_OK)
			goto out;
	}
	rc = rc_wbuf_detach(&w, out, NULL);
out:
	rc_wbuf_free(&w);
	return rc;
}

/* HMAC-SHA256(key, res "\n" se): the string-to-sign of §1.4. */
static int
sas_mac(const uint8_t *key, size_t keylen, const char *res, uint64_t se,
    uint8_t mac[SAS_MAC_LEN])
{
	struct rc_wbuf msg;
	unsigned int maclen = 0;
	int rc;

	rc_wbuf_init(&msg, 4 * RC_SAS_MAX);
	if ((rc = rc_wbuf_printf(&msg, "%s\n%" PRIu64, res, se)) != RC_OK)
		goto out;
	if (HMAC(EVP_sha256(), key, (int)keylen, msg.data, msg.len, mac,
	        &maclen) == NULL ||
	    maclen != SAS_MAC_LEN) {
		rc = RC_ECRYPTO;
		goto out;
	}
	rc = RC_OK;
out:
	rc_wbuf_free(&msg);
	return rc;
}

/* ---- connection strings ---- */

static const struct {
	const char *name;
	size_t off;
} connstr_fields[] = {
    {"HostName", offsetof(struct rc_connstr, host)},
    {"SharedAccessKeyName", offsetof(struct rc_connstr, key_name)},
    {"SharedAccessKey", offsetof(struct rc_connstr, key)},
    {"DeviceId", offsetof(struct rc_connstr, device_id)},
};

static int
connstr_item(struct rc_connstr *cs, const uint8_t *p, size_t n)
{
	const uint8_t *name, *val;
	size_t i, nlen, vlen;
	char **slot;
	int rc;

	if (n == 0)
		return RC_OK; /* "a;;b" and a trailing ';', as the SDKs allow */
	if ((rc = split_pair(p, n, &name, &nlen, &val, &vlen)) != RC_OK)
		return rc;
	for (i = 0; i < sizeof(connstr_fields) / sizeof(connstr_fields[0]); i++)
		if (name_is(name, nlen, connstr_fields[i].name))
			break;
	if (i == sizeof(connstr_fields) / sizeof(connstr_fields[0]))
		return RC_OK; /* GatewayHostName, ModuleId, x509, ... */
	slot = (char **)((char *)cs + connstr_fields[i].off);
	/* The SDKs keep the last duplicate; a second value is a mistake. */
	if (*slot != NULL || !all_vchar(val, vlen))
		return RC_EPARSE;
	if ((*slot = rc_strndup((const char *)val, vlen)) == NULL)
		return RC_ENOMEM;
	return RC_OK;
}

static int
valid_host(const char *h)
{
	for (; *h != '\0'; h++)
		if (!is_unreserved((uint8_t)*h) && *h != ':' && *h != '[' &&
		    *h != ']')
			return 0;
	return 1;
}

static int
connstr_check(const struct rc_connstr *cs)
{
	uint8_t *key = NULL;
	size_t keylen = 0;
	int rc;

	if (cs->host == NULL || cs->key == NULL || !valid_host(cs->host))
		return RC_EPARSE;
	if ((rc = rc_connstr_get1_key(cs, &key, &keylen)) != RC_OK)
		return rc;
	rc_free_secret(key, keylen);
	return RC_OK;
}

int
rc_connstr_parse(const char *s, size_t len, struct rc_connstr *out)
{
	struct rc_connstr cs = {NULL, NULL, NULL, NULL};
	const uint8_t *p;
	struct rc_buf b;
	size_t i, n;
	int last, rc;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return RC_EINVAL;
	if (len > RC_SAS_MAX)
		return RC_ETOOBIG;
	for (i = 0; i < len; i++)
		if ((uint8_t)s[i] < 0x20 || (uint8_t)s[i] == 0x7f)
			return RC_EPARSE;
	rc_buf_init(&b, s, len);
	do {
		if ((rc = next_item(&b, ';', &p, &n, &last)) != RC_OK ||
		    (rc = connstr_item(&cs, p, n)) != RC_OK)
			goto out;
	} while (!last);
	if ((rc = connstr_check(&cs)) != RC_OK)
		goto out;
	*out = cs;
	return RC_OK;
out:
	rc_connstr_clear(&cs);
	return rc;
}

void
rc_connstr_clear(struct rc_connstr *cs)
{
	if (cs == NULL)
		return;
	rc_free(cs->host);
	rc_free(cs->key_name);
	if (cs->key != NULL)
		rc_free_secret(cs->key, strlen(cs->key));
	rc_free(cs->device_id);
	memset(cs, 0, sizeof(*cs));
}

int
rc_connstr_get1_key(const struct rc_connstr *cs, uint8_t **key, size_t *keylen)
{
	int rc;

	*key = NULL;
	*keylen = 0;
	if (cs == NULL || cs->key == NULL)
		return RC_EINVAL;
	rc = rc_b64_decode(cs->key, strlen(cs->key), RC_SAS_KEY_MAX, key,
	    keylen);
	if (rc == RC_ETOOBIG)
		rc = RC_EPARSE;
	if (rc != RC_OK)
		return rc;
	if (*keylen == 0) {
		rc_free_secret(*key, 0);
		*key = NULL;
		return RC_EPARSE;
	}
	return RC_OK;
}

/* ---- tokens ---- */

/* 1..20 digits, no sign, no leading zero, at most UINT64_MAX. */
static int
parse_se(const uint8_t *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	unsigned d;
	size_t i;

	*out = 0;
	if (n == 0 || n > 20 || (p[0] == '0' && n > 1))
		return RC_EPARSE;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return RC_EPARSE;
		d = (unsigned)(p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return RC_EPARSE;
		v = v * 10 + d;
	}
	*out = v;
	return RC_OK;
}

/*
 * rc_b64_decode skips whitespace and ignores the two unused low bits of
 * the last digit; a signature is held to one spelling: 43 digits, the
 * last with those bits zero, then '='.
 */
static int
canonical_sig_b64(const char *s)
{
	const char *d;

	if (strlen(s) != SAS_SIG_B64_LEN || s[SAS_SIG_B64_LEN - 1] != '=' ||
	    strspn(s, b64_alphabet) != SAS_SIG_B64_LEN - 1)
		return 0;
	d = strchr(b64_alphabet, s[SAS_SIG_B64_LEN - 2]);
	return ((d - b64_alphabet) & 3) == 0;
}

static int
parse_sig(const uint8_t *p, size_t n, uint8_t sig[SAS_MAC_LEN])
{
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	char *b64 = NULL;
	int rc;

	if ((rc = pct_decode(p, n, &b64)) != RC_OK)
		goto out;
	if (!canonical_sig_b64(b64)) {
		rc = RC_EPARSE;
		goto out;
	}
	if ((rc = rc_b64_decode(b64, SAS_SIG_B64_LEN, SAS_MAC_LEN, &raw,
	         &rawlen)) != RC_OK)
		goto out;
	if (rawlen != SAS_MAC_LEN) {
		rc = RC_EPARSE;
		goto out;
	}
	memcpy(sig, raw, SAS_MAC_LEN);
out:
	rc_free(raw);
	rc_free(b64);
	return rc;
}

static int
token_field(struct rc_sas_token *t, const uint8_t *p, size_t n, unsigned *seen)
{
	const uint8_t *name, *val;
	size_t nlen, vlen;
	unsigned f;
	int rc;

	if ((rc = split_pair(p, n, &name, &nlen, &val, &vlen)) != RC_OK)
		return rc;
	if (!all_vchar(val, vlen))
		return RC_EPARSE;
	if (name_is(name, nlen, "sr"))
		f = F_SR;
	else if (name_is(name, nlen, "sig"))
		f = F_SIG;
	else if (name_is(name, nlen, "skn"))
		f = F_SKN;
	else if (name_is(name, nlen, "se"))
		f = F_SE;
	else
		return RC_EPARSE;
	if (*seen & f)
		return RC_EPARSE;
	*seen |= f;
	switch (f) {
	case F_SR:
		if ((t->sr_raw = rc_strndup((const char *)val, vlen)) == NULL)
			return RC_ENOMEM;
		return pct_decode(val, vlen, &t->sr);
	case F_SIG:
		return parse_sig(val, vlen, t->sig);
	case F_SKN:
		return pct_decode(val, vlen, &t->skn);
	default:
		return parse_se(val, vlen, &t->se);
	}
}

/* The auth-scheme is case-insensitive (RFC 7235 §2.1); one SP follows. */
static int
skip_scheme(struct rc_buf *b)
{
	const size_t n = sizeof(SAS_SCHEME) - 1;
	const uint8_t *p;

	if (rc_buf_get0_bytes(b, n + 1, &p) != RC_OK)
		return RC_EPARSE;
	if (!ascii_ncaseeq((const char *)p, SAS_SCHEME, n) || p[n] != ' ')
		return RC_EPARSE;
	return RC_OK;
}

int
rc_sas_parse(const char *s, size_t len, struct rc_sas_token *out)
{
	struct rc_sas_token t;
	const uint8_t *p;
	struct rc_buf b;
	unsigned seen = 0;
	size_t n;
	int last, rc;

	memset(out, 0, sizeof(*out));
	memset(&t, 0, sizeof(t));
	if (s == NULL)
		return RC_EINVAL;
	if (len > RC_SAS_MAX)
		return RC_ETOOBIG;
	rc_buf_init(&b, s, len);
	if ((rc = skip_scheme(&b)) != RC_OK)
		goto out;
	do {
		if ((rc = next_item(&b, '&', &p, &n, &last)) != RC_OK ||
		    (rc = token_field(&t, p, n, &seen)) != RC_OK)
			goto out;
	} while (!last);
	if ((seen & (F_SR | F_SIG | F_SE)) != (F_SR | F_SIG | F_SE)) {
		rc = RC_EPARSE;
		goto out;
	}
	*out = t;
	return RC_OK;
out:
	rc_sas_token_clear(&t);
	return rc;
}

void
rc_sas_token_clear(struct rc_sas_token *t)
{
	if (t == NULL)
		return;
	rc_free(t->sr);
	rc_free(t->sr_raw);
	rc_free(t->skn);
	memset(t, 0, sizeof(*t));
}

/* Printable, no space, no '&': it must survive as one token field. */
static int
valid_sr(const char *sr)
{
	size_t n;

	n = strnlen(sr, RC_SAS_MAX + 1);
	return n > 0 && n <= RC_SAS_MAX && all_vchar((const uint8_t *)sr, n) &&
	    memchr(sr, '&', n) == NULL;
}

/* The SDKs' field order: sr, sig, skn, se. */
static int
put_fields(struct rc_wbuf *w, const char *sr, const char *sig, const char *skn,
    uint64_t se)
{
	int rc;

	if ((rc = rc_wbuf_printf(w, SAS_SCHEME " sr=%s&sig=%s", sr, sig)) !=
	    RC_OK)
		return rc;
	if (skn != NULL && (rc = rc_wbuf_printf(w, "&skn=%s", skn)) != RC_OK)
		return rc;
	return rc_wbuf_printf(w, "&se=%" PRIu64, se);
}

int
rc_sas_token_new(const char *sr, const char *key_name, const uint8_t *key,
    size_t keylen, uint64_t expiry, char **out)
{
	uint8_t mac[SAS_MAC_LEN];
	char *b64 = NULL, *sig = NULL, *skn = NULL;
	struct rc_wbuf w;
	int rc;

	*out = NULL;
	rc_wbuf_init(&w, RC_SAS_MAX);
	if (sr == NULL || !valid_sr(sr) || key == NULL || keylen == 0 ||
	    keylen > RC_SAS_KEY_MAX || expiry == 0) {
		rc = RC_EINVAL;
		goto out;
	}
	/* The SDK leaves skn out when the policy name is falsy. */
	if (key_name != NULL && *key_name != '\0' &&
	    (rc = rc_sas_urlencode(key_name, strlen(key_name), &skn)) != RC_OK)
		goto out;
	if ((rc = sas_mac(key, keylen, sr, expiry, mac)) != RC_OK ||
	    (rc = rc_b64_encode(mac, sizeof(mac), &b64)) != RC_OK ||
	    (rc = rc_sas_urlencode(b64, strlen(b64), &sig)) != RC_OK)
		goto out;
	if ((rc = put_fields(&w, sr, sig, skn, expiry)) != RC_OK)
		goto out;
	rc = rc_wbuf_detach(&w, out, NULL);
out:
	rc_free(b64);
	rc_free(sig);
	rc_free(skn);
	rc_wbuf_free(&w);
	return rc;
}

/*
 * The MAC over sr as transmitted (what the SDKs sign), else over the
 * documented string-to-sign, the lower-case URL-encoded resource URI.
 */
static int
check_mac(const struct rc_sas_token *t, const uint8_t *key, size_t keylen)
{
	uint8_t mac[SAS_MAC_LEN];
	char *lower = NULL, *alt = NULL;
	size_t i;
	int rc;

	if ((rc = sas_mac(key, keylen, t->sr_raw, t->se, mac)) != RC_OK)
		return rc;
	if (CRYPTO_memcmp(mac, t->sig, SAS_MAC_LEN) == 0)
		return RC_OK;
	if ((lower = rc_strdup(t->sr)) == NULL)
		return RC_ENOMEM;
	for (i = 0; lower[i] != '\0'; i++)
		lower[i] = (char)ascii_lower((uint8_t)lower[i]);
	if ((rc = rc_sas_urlencode(lower, i, &alt)) != RC_OK)
		goto out;
	rc = RC_EAUTH;
	if (strcmp(alt, t->sr_raw) == 0)
		goto out; /* the same string already failed */
	if ((rc = sas_mac(key, keylen, alt, t->se, mac)) != RC_OK)
		goto out;
	rc = CRYPTO_memcmp(mac, t->sig, SAS_MAC_LEN) == 0 ? RC_OK : RC_EAUTH;
out:
	rc_free(lower);
	rc_free(alt);
	return rc;
}

/* sr is host itself or a path below it: "host" or "host/...". */
static int
resource_in_host(const char *sr, const char *host)
{
	size_t n;

	n = strlen(host);
	if (strlen(sr) < n || !ascii_ncaseeq(sr, host, n))
		return 0;
	if (sr[n] == '\0')
		return 1;
	return sr[n] == '/' && sr[n + 1] != '\0';
}

int
rc_sas_verify(const struct rc_sas_token *t, const uint8_t *key, size_t keylen,
    const char *host, time_t now, int skew_seconds)
{
	int rc;

	if (t == NULL || t->sr == NULL || t->sr_raw == NULL || key == NULL ||
	    keylen == 0 || keylen > RC_SAS_KEY_MAX || host == NULL ||
	    *host == '\0' || now < 0 || skew_seconds < 0)
		return RC_EINVAL;
	if ((rc = check_mac(t, key, keylen)) != RC_OK)
		return rc;
	if (!resource_in_host(t->sr, host))
		return RC_EAUTH;
	/* Valid strictly before se; now >= 0 and skew >= 0: no overflow. */
	if (now - skew_seconds >= 0 && t->se <= (uint64_t)(now - skew_seconds))
		return RC_EEXPIRED;
	return RC_OK;
}
