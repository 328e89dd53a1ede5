/*
 * X.509 certificate intake, inspection and chain verification.
 *
 * Input forms, told apart by their first bytes:
 *  - DER (RFC 5280 §4.1): the input starts with a SEQUENCE tag (0x30) and
 *    is one certificate.  The certificate must span the whole input (no
 *    trailing bytes) and the input must be its DER: re-encoding the parsed
 *    certificate gives back the same bytes (no BER lengths), so a
 *    thumbprint is always the hash of the bytes that were presented.
 *  - PEM (RFC 7468): text with at least one "-----BEGIN <label>-----" line.
 *    Boundary lines may carry surrounding whitespace, nothing else.  Text
 *    outside blocks is ignored (RFC 7468 §2 explanatory text).  A line that
 *    starts with "-----" inside a block must be the END line with the same
 *    label, otherwise the block is malformed: a truncated block is an error,
 *    never silently merged with the next one.  Only the label CERTIFICATE
 *    (RFC 7468 §5.1) holds a certificate; others (keys, the legacy
 *    "X509 CERTIFICATE", OpenSSL's "TRUSTED CERTIFICATE") are other
 *    blocks.  A CERTIFICATE body is base64 only (no RFC 1421 headers) and
 *    decodes to DER as above.
 *  - Anything else is bare base64 of the DER (the Azure C# SDK sends
 *    Convert.ToBase64String of the certificate), whitespace allowed.
 *
 * A certificate whose standard extensions OpenSSL cannot decode (the
 * X509v3 cache marks it invalid) is malformed too: no later check could
 * trust its basicConstraints or keyUsage.
 *
 * Sizes: one certificate's input or DER is at most RC_X509_MAX_CERT bytes;
 * a chain input at most RC_X509_MAX_CHAIN bytes.
 *
 * Errors OpenSSL queues while handling a certificate are drained before
 * returning: an error left there by untrusted input would surface later in
 * an unrelated SSL_get_error() on the same thread.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "rollcall/buf.h"
#include "rollcall/enc.h"
#include "rollcall/mem.h"
#include "rollcall/x509.h"

#define DER_SEQUENCE 0x30
#define PEM_MAX_LABEL 64

/*
 * Azure's name form: RFC 2253 order and escaping, but ", " between RDNs
 * and UTF-8 left unescaped (X509CertificateInfo.subjectName).
 */
#define NAME_FLAGS                                                   \
	((ASN1_STRFLGS_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) |            \
	    XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_DN_REV | XN_FLAG_FN_SN | \
	    XN_FLAG_DUMP_UNKNOWN_FIELDS)

static const char pem_begin[] = "-----BEGIN ";
static const char pem_end[] = "-----END ";
static const char pem_dashes[] = "-----";
static const char pem_cert_label[] = "CERTIFICATE";

struct pem_block {
	const uint8_t *label;
	size_t labellen;
	const uint8_t *body;
	size_t bodylen;
};

/* Drains the error queue; RC_ENOMEM if an allocation failed, else fallback. */
static int
ossl_fail(int fallback)
{
	unsigned long e;
	int rc = fallback;

	while ((e = ERR_get_error()) != 0)
		if (ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE)
			rc = RC_ENOMEM;
	return rc;
}

/*
 * One UTF-8 character (RFC 3629 §4: shortest form, no surrogates, at most
 * U+10FFFF); *used is its length in bytes.
 */
static int
utf8_char(const uint8_t *s, size_t n, size_t *used)
{
	uint32_t cp, min;
	size_t k, need;

	*used = 0;
	if (s[0] < 0x80) {
		*used = 1;
		return RC_OK;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 1, cp = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		need = 2, cp = s[0] & 0x0f, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return RC_EPARSE;
	}
	if (n - 1 < need)
		return RC_EPARSE;
	for (k = 1; k <= need; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return RC_EPARSE;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return RC_EPARSE;
	*used = need + 1;
	return RC_OK;
}

/* Counts the characters of valid, NUL-free UTF-8. */
static int
utf8_count(const void *p, size_t n, size_t *nchars)
{
	const uint8_t *s = p;
	size_t i = 0, used, count = 0;
	int rc;

	*nchars = 0;
	while (i < n) {
		if (s[i] == '\0')
			return RC_EPARSE;
		if ((rc = utf8_char(s + i, n - i, &used)) != RC_OK)
			return rc;
		i += used;
		count++;
	}
	*nchars = count;
	return RC_OK;
}

static int
is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	    c == '\v';
}

static int
all_space(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_space(p[i]))
			return 0;
	return 1;
}

/*
 * DER of exactly one certificate, nothing after it, and nothing that a
 * re-encoding would change.
 */
static int
der_to_x509(const uint8_t *der, size_t len, X509 **out)
{
	const unsigned char *p = der;
	unsigned char *re = NULL;
	X509 *x = NULL;
	int n, rc;

	*out = NULL;
	if (len > RC_X509_MAX_CERT)
		return RC_ETOOBIG;
	if (len == 0)
		return RC_EPARSE;
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL) {
		rc = ossl_fail(RC_EPARSE);
		goto out;
	}
	if ((size_t)(p - der) != len) {
		rc = RC_EPARSE;
		goto out;
	}
	if ((n = i2d_X509(x, &re)) < 0) {
		rc = ossl_fail(RC_EPARSE);
		goto out;
	}
	if ((size_t)n != len || memcmp(re, der, len) != 0) {
		rc = RC_EPARSE;
		goto out;
	}
	/* Extensions that do not decode (RFC 5280 §4.2) make it malformed. */
	if ((X509_get_extension_flags(x) & EXFLAG_INVALID) != 0) {
		rc = ossl_fail(RC_EPARSE);
		goto out;
	}
	*out = x;
	x = NULL;
	rc = RC_OK;
out:
	OPENSSL_free(re);
	X509_free(x);
	return rc;
}

/* Base64 text (a PEM body, or a bare base64 certificate) to X509. */
static int
b64_to_x509(const uint8_t *text, size_t len, X509 **out)
{
	uint8_t *der = NULL;
	size_t derlen;
	int rc;

	*out = NULL;
	if ((rc = rc_b64_decode((const char *)text, len, RC_X509_MAX_CERT, &der,
	         &derlen)) != RC_OK)
		return rc;
	rc = der_to_x509(der, derlen, out);
	rc_free(der);
	return rc;
}

/* The next line without its terminator and surrounding whitespace. */
static int
next_line(struct rc_buf *b, const uint8_t **line, size_t *len)
{
	const uint8_t *p;
	size_t n;
	int rc;

	*line = NULL;
	*len = 0;
	if (rc_buf_remaining(b) == 0)
		return RC_ENOENT;
	if (rc_buf_get0_until(b, '\n', &p, &n) != RC_OK) {
		n = rc_buf_remaining(b);
		if ((rc = rc_buf_get0_bytes(b, n, &p)) != RC_OK)
			return rc;
	}
	while (n > 0 && is_space(p[0]))
		p++, n--;
	while (n > 0 && is_space(p[n - 1]))
		n--;
	*line = p;
	*len = n;
	return RC_OK;
}

static int
has_prefix(const uint8_t *p, size_t n, const char *prefix)
{
	size_t plen = strlen(prefix);

	return n >= plen && memcmp(p, prefix, plen) == 0;
}

/*
 * A boundary line "<tag><label>-----" with a label of printable ASCII
 * (RFC 7468 §3) of 1 to PEM_MAX_LABEL characters.
 */
static int
boundary(const uint8_t *line, size_t n, const char *tag, const uint8_t **label,
    size_t *labellen)
{
	size_t i, tlen = strlen(tag), dlen = strlen(pem_dashes);

	*label = NULL;
	*labellen = 0;
	if (n < tlen + dlen + 1 || n - tlen - dlen > PEM_MAX_LABEL ||
	    !has_prefix(line, n, tag) ||
	    memcmp(line + n - dlen, pem_dashes, dlen) != 0)
		return RC_EPARSE;
	for (i = tlen; i < n - dlen; i++)
		if (line[i] < 0x20 || line[i] > 0x7e)
			return RC_EPARSE;
	*label = line + tlen;
	*labellen = n - tlen - dlen;
	return RC_OK;
}

/* Skips to the next BEGIN line; RC_ENOENT if there is none. */
static int
pem_begin_line(struct rc_buf *b, struct pem_block *blk)
{
	const uint8_t *line;
	size_t n;

	while (next_line(b, &line, &n) == RC_OK) {
		if (has_prefix(line, n, pem_begin))
			return boundary(line, n, pem_begin, &blk->label,
			    &blk->labellen);
	}
	return RC_ENOENT;
}

/*
 * The next PEM block.  RC_ENOENT when no BEGIN line is left; RC_EPARSE for
 * a malformed BEGIN line, a block without its END line, or a line starting
 * with "-----" that is not the END line of the open block.
 */
static int
pem_next(struct rc_buf *b, struct pem_block *blk)
{
	const uint8_t *line, *label, *body, *start;
	size_t n, labellen;
	int rc;

	memset(blk, 0, sizeof(*blk));
	if ((rc = pem_begin_line(b, blk)) != RC_OK)
		return rc;
	body = rc_buf_cur(b);
	for (;;) {
		start = rc_buf_cur(b);
		if (next_line(b, &line, &n) != RC_OK)
			return RC_EPARSE;
		if (!has_prefix(line, n, pem_dashes))
			continue;
		if (boundary(line, n, pem_end, &label, &labellen) != RC_OK ||
		    labellen != blk->labellen ||
		    memcmp(label, blk->label, labellen) != 0)
			return RC_EPARSE;
		blk->body = body;
		blk->bodylen = (size_t)(start - body);
		return RC_OK;
	}
}

static int
is_cert_block(const struct pem_block *blk)
{
	return blk->labellen == strlen(pem_cert_label) &&
	    memcmp(blk->label, pem_cert_label, blk->labellen) == 0;
}

/*
 * Decodes every CERTIFICATE block onto sk (RC_ETOOBIG past max); blocks of
 * other types are counted in *nother and skipped.
 */
static int
pem_walk(const uint8_t *data, size_t len, size_t max, STACK_OF(X509) *sk,
    size_t *nother)
{
	struct pem_block blk;
	struct rc_buf b;
	X509 *x;
	int rc;

	*nother = 0;
	rc_buf_init(&b, data, len);
	while ((rc = pem_next(&b, &blk)) == RC_OK) {
		if (!is_cert_block(&blk)) {
			(*nother)++;
			continue;
		}
		if ((size_t)sk_X509_num(sk) >= max)
			return RC_ETOOBIG;
		if ((rc = b64_to_x509(blk.body, blk.bodylen, &x)) != RC_OK)
			return rc;
		if (sk_X509_push(sk, x) == 0) {
			X509_free(x);
			return ossl_fail(RC_ENOMEM);
		}
	}
	return rc == RC_ENOENT ? RC_OK : rc;
}

int
rc_x509_parse(const void *data, size_t len, X509 **out)
{
	const uint8_t *p = data;
	STACK_OF(X509) *sk = NULL;
	size_t nother;
	int rc;

	*out = NULL;
	if (p == NULL && len > 0)
		return RC_EINVAL;
	if (len > RC_X509_MAX_CERT)
		return RC_ETOOBIG;
	if (len == 0 || all_space(p, len))
		return RC_EPARSE;
	if (p[0] == DER_SEQUENCE)
		return der_to_x509(p, len, out);
	if ((sk = sk_X509_new_null()) == NULL)
		return ossl_fail(RC_ENOMEM);
	rc = pem_walk(p, len, 1, sk, &nother);
	if (rc == RC_ETOOBIG)
		rc = RC_EPARSE; /* a second certificate */
	if (rc != RC_OK)
		goto out;
	if (sk_X509_num(sk) == 0 && nother == 0) {
		rc = b64_to_x509(p, len, out);
		goto out;
	}
	if (sk_X509_num(sk) != 1 || nother != 0) {
		rc = RC_EPARSE;
		goto out;
	}
	*out = sk_X509_pop(sk);
out:
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

int
rc_x509_parse_chain(const void *data, size_t len, size_t max_certs,
    STACK_OF(X509) **out)
{
	const uint8_t *p = data;
	STACK_OF(X509) *sk = NULL;
	X509 *x = NULL;
	size_t nother;
	int rc;

	*out = NULL;
	if ((p == NULL && len > 0) || max_certs == 0)
		return RC_EINVAL;
	if (len > RC_X509_MAX_CHAIN)
		return RC_ETOOBIG;
	if (len == 0 || all_space(p, len))
		return RC_ENOENT;
	if ((sk = sk_X509_new_null()) == NULL)
		return ossl_fail(RC_ENOMEM);
	if (p[0] == DER_SEQUENCE) {
		rc = der_to_x509(p, len, &x);
	} else {
		if ((rc = pem_walk(p, len, max_certs, sk, &nother)) != RC_OK)
			goto out;
		if (sk_X509_num(sk) == 0 && nother > 0)
			rc = RC_ENOENT;
		else if (sk_X509_num(sk) == 0)
			rc = b64_to_x509(p, len, &x);
	}
	if (rc != RC_OK)
		goto out;
	if (x != NULL && sk_X509_push(sk, x) == 0) {
		rc = ossl_fail(RC_ENOMEM);
		goto out;
	}
	x = NULL;
	*out = sk;
	sk = NULL;
out:
	X509_free(x);
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

int
rc_x509_load_file(const char *path, STACK_OF(X509) **out)
{
	struct rc_wbuf w;
	uint8_t chunk[8192];
	size_t n;
	FILE *f;
	int rc;

	*out = NULL;
	if ((f = fopen(path, "rb")) == NULL)
		return RC_EIO;
	rc_wbuf_init(&w, RC_X509_MAX_CHAIN);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if ((rc = rc_wbuf_append(&w, chunk, n)) != RC_OK)
			goto out;
	if (ferror(f)) {
		rc = RC_EIO;
		goto out;
	}
	rc = rc_x509_parse_chain(w.data, w.len, RC_X509_MAX_FILE_CERTS, out);
out:
	fclose(f);
	rc_wbuf_free(&w);
	return rc;
}

/* A name in Azure's form (NAME_FLAGS); valid UTF-8 without NUL. */
static int
name_text(const X509_NAME *name, char **out)
{
	BIO *bio = NULL;
	char *p = NULL;
	size_t nchars;
	long n;
	int rc;

	*out = NULL;
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return ossl_fail(RC_ENOMEM);
	if (X509_NAME_print_ex(bio, name, 0, NAME_FLAGS) < 0) {
		rc = ossl_fail(RC_EPARSE);
		goto out;
	}
	if ((n = BIO_get_mem_data(bio, &p)) < 0) {
		rc = ossl_fail(RC_ENOMEM);
		goto out;
	}
	if (n == 0)
		p = "";
	if ((rc = utf8_count(p, (size_t)n, &nchars)) != RC_OK)
		goto out;
	if ((*out = rc_strndup(p, (size_t)n)) == NULL)
		rc = RC_ENOMEM;
out:
	BIO_free(bio);
	return rc;
}

/* Upper-case hex of the serial's magnitude, as openssl x509 -serial. */
static int
serial_text(const ASN1_INTEGER *ai, char **out)
{
	const unsigned char *d = ASN1_STRING_get0_data(ai);
	size_t n = (size_t)ASN1_STRING_length(ai), neg, size;
	char *s;
	int rc;

	*out = NULL;
	if (n == 0)
		return (*out = rc_strdup("00")) == NULL ? RC_ENOMEM : RC_OK;
	neg = ASN1_STRING_type(ai) == V_ASN1_NEG_INTEGER;
	size = 2 * n + neg + 1;
	if ((s = rc_malloc(size)) == NULL)
		return RC_ENOMEM;
	s[0] = '-';
	if ((rc = rc_hex_upper(d, n, s + neg, size - neg)) != RC_OK) {
		rc_free(s);
		return rc;
	}
	*out = s;
	return RC_OK;
}

/* "YYYY-MM-DDTHH:MM:SSZ" (UTC) and the time_t of an ASN.1 time. */
static int
time_text(const ASN1_TIME *t, char *out, size_t outsize, time_t *tt)
{
	struct tm tm;
	int n;

	out[0] = '\0';
	*tt = 0;
	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return ossl_fail(RC_EPARSE);
	n = snprintf(out, outsize, "%04d-%02d-%02dT%02d:%02d:%02dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec);
	if (n < 0 || (size_t)n >= outsize) {
		out[0] = '\0';
		return RC_EPARSE;
	}
	*tt = timegm(&tm);
	return RC_OK;
}

int
rc_x509_info(X509 *x, struct rc_cert_info *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (x == NULL)
		return RC_EINVAL;
	rc = name_text(X509_get_subject_name(x), &out->subject);
	if (rc != RC_OK)
		goto out;
	rc = name_text(X509_get_issuer_name(x), &out->issuer);
	if (rc != RC_OK)
		goto out;
	rc = rc_x509_thumbprint(x, 0, out->sha1, sizeof(out->sha1));
	if (rc != RC_OK)
		goto out;
	rc = rc_x509_thumbprint(x, 1, out->sha256, sizeof(out->sha256));
	if (rc != RC_OK)
		goto out;
	rc = serial_text(X509_get0_serialNumber(x), &out->serial);
	if (rc != RC_OK)
		goto out;
	rc = time_text(X509_get0_notBefore(x), out->not_before,
	    sizeof(out->not_before), &out->not_before_t);
	if (rc != RC_OK)
		goto out;
	rc = time_text(X509_get0_notAfter(x), out->not_after,
	    sizeof(out->not_after), &out->not_after_t);
	if (rc != RC_OK)
		goto out;
	out->version = (int)X509_get_version(x) + 1;
out:
	if (rc != RC_OK)
		rc_x509_info_clear(out);
	ossl_fail(RC_OK); /* X509_digest may cache extensions and complain */
	return rc;
}

void
rc_x509_info_clear(struct rc_cert_info *info)
{
	if (info == NULL)
		return;
	rc_free(info->subject);
	rc_free(info->issuer);
	rc_free(info->serial);
	memset(info, 0, sizeof(*info));
}

static int
json_set_text(json_t *o, const char *key, const char *val)
{
	size_t nchars;

	if (val == NULL)
		return RC_EINVAL;
	if (utf8_count(val, strlen(val), &nchars) != RC_OK)
		return RC_EPARSE;
	if (json_object_set_new(o, key, json_string(val)) != 0)
		return RC_ENOMEM;
	return RC_OK;
}

int
rc_x509_info_to_json(const struct rc_cert_info *info, json_t **out)
{
	const struct {
		const char *key, *val;
	} f[] = {
	    {"subjectName", info->subject},
	    {"sha1Thumbprint", info->sha1},
	    {"sha256Thumbprint", info->sha256},
	    {"issuerName", info->issuer},
	    {"notBeforeUtc", info->not_before},
	    {"notAfterUtc", info->not_after},
	    {"serialNumber", info->serial},
	};
	json_t *o;
	size_t i;
	int rc = RC_OK;

	*out = NULL;
	if ((o = json_object()) == NULL)
		return RC_ENOMEM;
	for (i = 0; i < sizeof(f) / sizeof(f[0]) && rc == RC_OK; i++)
		rc = json_set_text(o, f[i].key, f[i].val);
	if (rc == RC_OK &&
	    json_object_set_new(o, "version", json_integer(info->version)) != 0)
		rc = RC_ENOMEM;
	if (rc != RC_OK) {
		json_decref(o);
		return rc;
	}
	*out = o;
	return RC_OK;
}

/* The subject's only CN entry; RC_ENOENT none, RC_EPARSE several. */
static int
only_cn(X509 *x, const ASN1_STRING **s)
{
	const X509_NAME *name = X509_get_subject_name(x);
	int i;

	*s = NULL;
	if ((i = X509_NAME_get_index_by_NID(name, NID_commonName, -1)) < 0)
		return RC_ENOENT;
	if (X509_NAME_get_index_by_NID(name, NID_commonName, i) >= 0)
		return RC_EPARSE;
	*s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
	return *s == NULL ? RC_EPARSE : RC_OK;
}

int
rc_x509_get1_cn(X509 *x, char **cn)
{
	const ASN1_STRING *s;
	unsigned char *u = NULL;
	size_t nchars;
	int n, rc;

	*cn = NULL;
	if (x == NULL)
		return RC_EINVAL;
	if ((rc = only_cn(x, &s)) != RC_OK)
		return rc;
	if ((n = ASN1_STRING_to_UTF8(&u, s)) < 0) {
		rc = ossl_fail(RC_EPARSE);
		goto out;
	}
	if ((rc = utf8_count(u, (size_t)n, &nchars)) != RC_OK)
		goto out;
	if (nchars == 0) {
		rc = RC_EPARSE;
		goto out;
	}
	if (nchars > RC_X509_MAX_CN) {
		rc = RC_ETOOBIG;
		goto out;
	}
	if ((*cn = rc_strndup((const char *)u, (size_t)n)) == NULL)
		rc = RC_ENOMEM;
out:
	OPENSSL_free(u);
	return rc;
}

int
rc_x509_thumbprint(X509 *x, int sha256, char *out, size_t outsize)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n;

	if (outsize > 0)
		out[0] = '\0';
	if (x == NULL)
		return RC_EINVAL;
	if (outsize < (sha256 ? 65u : 41u))
		return RC_ETOOBIG;
	if (!X509_digest(x, sha256 ? EVP_sha256() : EVP_sha1(), md, &n))
		return ossl_fail(RC_ECRYPTO);
	return rc_hex_upper(md, n, out, outsize);
}

/* ASCII lower case without a data-dependent branch or table. */
static unsigned char
fold(unsigned char c)
{
	unsigned char upper = (unsigned char)(c - 'A') < 26;

	return (unsigned char)(c | upper << 5);
}

int
rc_x509_thumbprint_eq(const char *a, const char *b)
{
	unsigned char diff = 0;
	size_t i, n;

	if (a == NULL || b == NULL)
		return 0;
	n = strlen(a);
	if (n == 0 || strlen(b) != n)
		return 0;
	for (i = 0; i < n; i++)
		diff |= fold((unsigned char)a[i]) ^ fold((unsigned char)b[i]);
	return diff == 0;
}

static int
verify_code(int err)
{
	switch (err) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return RC_EEXPIRED;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return RC_ENOTYETVALID;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		return RC_EUNKNOWNISSUER;
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
		return RC_EBADSIG;
	case X509_V_ERR_INVALID_CA:
	case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
		return RC_ENOTCA;
	case X509_V_ERR_PATH_LENGTH_EXCEEDED:
		return RC_EPATHLEN;
	case X509_V_ERR_OUT_OF_MEM:
		return RC_ENOMEM;
	default:
		return RC_EUNTRUSTED;
	}
}

static void
verify_why(X509_STORE_CTX *ctx, int err, char *why, size_t whylen)
{
	X509 *cur = X509_STORE_CTX_get_current_cert(ctx);
	int depth = X509_STORE_CTX_get_error_depth(ctx);
	const char *reason = X509_verify_cert_error_string(err);
	char *name = NULL;

	if (why == NULL || whylen == 0)
		return;
	if (cur == NULL ||
	    name_text(X509_get_subject_name(cur), &name) != RC_OK)
		snprintf(why, whylen, "certificate at depth %d: %s", depth,
		    reason);
	else
		snprintf(why, whylen, "certificate \"%s\" at depth %d: %s",
		    name, depth, reason);
	rc_free(name);
}

/* A store holding exactly the anchors: no lookup method, no files. */
static int
anchor_store(STACK_OF(X509) *anchors, X509_STORE **out)
{
	X509_STORE *store;
	int i;

	*out = NULL;
	if ((store = X509_STORE_new()) == NULL)
		return ossl_fail(RC_ENOMEM);
	for (i = 0; i < sk_X509_num(anchors); i++) {
		if (!X509_STORE_add_cert(store, sk_X509_value(anchors, i))) {
			X509_STORE_free(store);
			return ossl_fail(RC_ENOMEM);
		}
	}
	*out = store;
	return RC_OK;
}

int
rc_x509_verify(X509 *leaf, STACK_OF(X509) *untrusted, STACK_OF(X509) *anchors,
    time_t at, char *why, size_t whylen)
{
	X509_STORE_CTX *ctx = NULL;
	X509_VERIFY_PARAM *param;
	X509_STORE *store = NULL;
	int err, rc;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (leaf == NULL)
		return RC_EINVAL;
	if ((rc = anchor_store(anchors, &store)) != RC_OK)
		goto out;
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    !X509_STORE_CTX_init(ctx, store, leaf, untrusted)) {
		rc = ossl_fail(RC_ENOMEM);
		goto out;
	}
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(param, at);
	if (!X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN)) {
		rc = ossl_fail(RC_ENOMEM);
		goto out;
	}
	if (X509_verify_cert(ctx) == 1) {
		rc = RC_OK;
		goto out;
	}
	err = X509_STORE_CTX_get_error(ctx);
	rc = err == X509_V_OK ? ossl_fail(RC_ECRYPTO) : verify_code(err);
	verify_why(ctx, err, why, whylen);
out:
	ossl_fail(RC_OK);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}

/* Appends the base64 text in lines of 64 characters (RFC 7468 §2). */
static int
put_wrapped(struct rc_wbuf *w, const char *b64)
{
	size_t i, n = strlen(b64), k;
	int rc;

	for (i = 0; i < n; i += k) {
		k = n - i < 64 ? n - i : 64;
		if ((rc = rc_wbuf_append(w, b64 + i, k)) != RC_OK ||
		    (rc = rc_wbuf_putc(w, '\n')) != RC_OK)
			return rc;
	}
	return RC_OK;
}

int
rc_x509_to_pem(X509 *x, char **out, size_t *len)
{
	unsigned char *der = NULL;
	char *b64 = NULL;
	struct rc_wbuf w;
	int n, rc;

	*out = NULL;
	if (len != NULL)
		*len = 0;
	if (x == NULL)
		return RC_EINVAL;
	if ((n = i2d_X509(x, &der)) <= 0)
		return ossl_fail(RC_ECRYPTO);
	rc_wbuf_init(&w, (size_t)n * 2 + 128);
	if ((rc = rc_b64_encode(der, (size_t)n, &b64)) != RC_OK ||
	    (rc = rc_wbuf_printf(&w, "%s%s-----\n", pem_begin,
	         pem_cert_label)) != RC_OK ||
	    (rc = put_wrapped(&w, b64)) != RC_OK ||
	    (rc = rc_wbuf_printf(&w, "%s%s-----\n", pem_end, pem_cert_label)) !=
	        RC_OK)
		goto out;
	rc = rc_wbuf_detach(&w, out, len);
out:
	OPENSSL_free(der);
	rc_free(b64);
	rc_wbuf_free(&w);
	return rc;
}
