/*
 * PKCS#10 requests (RFC 2986), made here or received from devices.
 *
 * Input formats rc_csr_parse accepts, chosen by the first bytes:
 *   raw DER     first byte 0x30 (SEQUENCE);
 *   PEM         contains "-----BEGIN "; text before the boundary is
 *               ignored (RFC 7468 section 5.2 explanatory text), the label
 *               is "CERTIFICATE REQUEST" or "NEW CERTIFICATE REQUEST", the
 *               body is base64 without headers, only whitespace may follow
 *               the matching "-----END <label>-----";
 *   base64      anything else: the DER in base64 with whitespace allowed,
 *               as Azure DPS carries it in the registration `csr` field.
 * Invariants: at most RC_CSR_MAX_INPUT bytes are looked at; the DER is one
 * SEQUENCE whose definite, minimally encoded length (X.690 section 10.1)
 * covers exactly the decoded bytes: shorter data is RC_ETRUNC, longer is
 * trailing garbage (RC_EPARSE); the request version is 1 (value 0).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "bioutil.h"
#include "rollcall/buf.h"
#include "rollcall/csr.h"
#include "rollcall/enc.h"
#include "rollcall/mem.h"

/*
 * Number of characters of strict UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF) without NUL; -1 if s is not that.
 */
static long
utf8_chars(const uint8_t *s, size_t n)
{
	size_t i = 0, j, k;
	uint32_t cp;
	long count = 0;

	while (i < n) {
		if (s[i] == 0)
			return -1;
		if (s[i] < 0x80) {
			i++;
			count++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			k = 1;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			k = 2;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			k = 3;
		else
			return -1;
		if (n - i - 1 < k)
			return -1;
		cp = s[i] & (0x3f >> k);
		for (j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return -1;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return -1;
		i += k + 1;
		count++;
	}
	return count;
}

int
rc_csr_check_cn(const char *cn)
{
	long n;

	if (cn == NULL || *cn == '\0')
		return RC_EINVAL;
	if ((n = utf8_chars((const uint8_t *)cn, strlen(cn))) < 0)
		return RC_EINVAL;
	return n > RC_CN_MAX ? RC_ETOOBIG : RC_OK;
}

int
rc_csr_new(EVP_PKEY *key, const char *cn, X509_REQ **out)
{
	X509_REQ *req;
	int rc;

	*out = NULL;
	if ((rc = rc_csr_check_cn(cn)) != RC_OK)
		return rc;
	if ((req = X509_REQ_new()) == NULL)
		return RC_ENOMEM;
	rc = RC_ECRYPTO;
	if (!X509_REQ_set_version(req, X509_REQ_VERSION_1))
		goto out;
	if (!X509_NAME_add_entry_by_NID(X509_REQ_get_subject_name(req),
	        NID_commonName, MBSTRING_UTF8, (const unsigned char *)cn, -1,
	        -1, 0))
		goto out;
	if (!X509_REQ_set_pubkey(req, key))
		goto out;
	if (X509_REQ_sign(req, key, EVP_sha256()) <= 0)
		goto out;
	*out = req;
	req = NULL;
	rc = RC_OK;
out:
	X509_REQ_free(req);
	return rc;
}

/*
 * The outer SEQUENCE: tag 0x30 and a definite length in its shortest form.
 * Sets *total to header + content length.
 */
static int
der_outer(const uint8_t *p, size_t len, size_t *total)
{
	struct rc_buf b;
	uint8_t tag, l, octet;
	size_t n = 0, i;

	*total = 0;
	rc_buf_init(&b, p, len);
	if (rc_buf_get_u8(&b, &tag) != RC_OK || rc_buf_get_u8(&b, &l) != RC_OK)
		return RC_ETRUNC;
	if (tag != 0x30 || l == 0x80 || l == 0xff)
		return RC_EPARSE;
	if (l < 0x80)
		n = l;
	for (i = 0; l > 0x80 && i < (size_t)(l & 0x7f); i++) {
		if (i == 3)
			return RC_EPARSE; /* over 16 MiB: never a CSR */
		if (rc_buf_get_u8(&b, &octet) != RC_OK)
			return RC_ETRUNC;
		if (i == 0 && octet == 0)
			return RC_EPARSE; /* not minimal */
		n = n << 8 | octet;
	}
	if (l == 0x81 && n < 0x80)
		return RC_EPARSE; /* not minimal */
	*total = b.off + n;
	return RC_OK;
}

static int
parse_der(const uint8_t *der, size_t len, X509_REQ **out)
{
	const unsigned char *p = der;
	X509_REQ *req;
	size_t total;
	int rc;

	if (len == 0)
		return RC_EPARSE; /* nothing at all is not a truncation */
	if ((rc = der_outer(der, len, &total)) != RC_OK)
		return rc;
	if (total > len)
		return RC_ETRUNC;
	if (total < len)
		return RC_EPARSE;
	if ((req = d2i_X509_REQ(NULL, &p, (long)len)) == NULL)
		return RC_EPARSE;
	if (p != der + len || X509_REQ_get_version(req) != X509_REQ_VERSION_1) {
		X509_REQ_free(req);
		return RC_EPARSE;
	}
	*out = req;
	return RC_OK;
}

/* Moves b past the next occurrence of s; RC_EPARSE if there is none. */
static int
skip_past(struct rc_buf *b, const char *s, const uint8_t **at)
{
	const uint8_t *p;
	size_t n = strlen(s);

	*at = NULL;
	if ((p = memmem(rc_buf_cur(b), rc_buf_remaining(b), s, n)) == NULL)
		return RC_EPARSE;
	*at = p;
	return rc_buf_skip(b, (size_t)(p - rc_buf_cur(b)) + n);
}

static int
starts_with(const struct rc_buf *b, const char *s)
{
	size_t n = strlen(s);

	return rc_buf_remaining(b) >= n && memcmp(rc_buf_cur(b), s, n) == 0;
}

/*
 * Skips whitespace.  to_newline: up to and including the end of the line,
 * and fails if anything else comes first; otherwise up to the end of the
 * input, and fails if anything else is left.
 */
static int
skip_space(struct rc_buf *b, int to_newline)
{
	uint8_t c;

	while (rc_buf_peek_u8(b, &c) == RC_OK) {
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
			return 0;
		if (rc_buf_skip(b, 1) != RC_OK)
			return 0;
		if (to_newline && c == '\n')
			return 1;
	}
	return !to_newline;
}

/* Decoding errors are the input's fault, except running out of memory. */
static int
b64_to_der(const uint8_t *in, size_t len, uint8_t **der, size_t *derlen)
{
	int rc;

	rc =
	    rc_b64_decode((const char *)in, len, RC_CSR_MAX_INPUT, der, derlen);
	return rc == RC_OK || rc == RC_ENOMEM ? rc : RC_EPARSE;
}

/* The base64 body between the encapsulation boundaries, decoded. */
static int
pem_unwrap(const uint8_t *data, size_t len, uint8_t **der, size_t *derlen)
{
	static const char *const labels[] = {"CERTIFICATE REQUEST-----",
	    "NEW CERTIFICATE REQUEST-----"};
	const uint8_t *at, *body;
	struct rc_buf b;
	char endline[64];
	size_t i;
	int rc;

	rc_buf_init(&b, data, len);
	if ((rc = skip_past(&b, "-----BEGIN ", &at)) != RC_OK)
		return rc;
	for (i = 0; i < 2 && !starts_with(&b, labels[i]); i++)
		continue;
	if (i == 2)
		return RC_EPARSE;
	if (rc_buf_skip(&b, strlen(labels[i])) != RC_OK || !skip_space(&b, 1))
		return RC_EPARSE;
	body = rc_buf_cur(&b);
	if ((size_t)snprintf(endline, sizeof(endline), "-----END %s",
	        labels[i]) >= sizeof(endline))
		return RC_EPARSE;
	if ((rc = skip_past(&b, endline, &at)) != RC_OK)
		return rc;
	if (!skip_space(&b, 0))
		return RC_EPARSE;
	return b64_to_der(body, (size_t)(at - body), der, derlen);
}

int
rc_csr_parse(const void *data, size_t len, X509_REQ **out)
{
	const uint8_t *in = data;
	uint8_t *der = NULL;
	size_t derlen;
	int rc;

	*out = NULL;
	if (len > RC_CSR_MAX_INPUT)
		return RC_ETOOBIG;
	if (in == NULL || len == 0)
		return RC_EPARSE;
	ERR_set_mark();
	if (in[0] == 0x30) {
		rc = parse_der(in, len, out);
		goto out;
	}
	if (memmem(in, len, "-----BEGIN ", 11) != NULL)
		rc = pem_unwrap(in, len, &der, &derlen);
	else
		rc = b64_to_der(in, len, &der, &derlen);
	if (rc == RC_OK)
		rc = parse_der(der, derlen, out);
out:
	ERR_pop_to_mark();
	rc_free(der);
	return rc;
}

int
rc_csr_verify(X509_REQ *req)
{
	EVP_PKEY *pk;
	int mdnid, pknid, ok;

	if ((pk = X509_REQ_get0_pubkey(req)) == NULL)
		return RC_EBADSIG;
	/* RSA-PSS and EdDSA have no digest here (NID_undef): fine */
	if (!OBJ_find_sigid_algs(X509_REQ_get_signature_nid(req), &mdnid,
	        &pknid))
		return RC_EUNSUPPORTED;
	if (mdnid == NID_md2 || mdnid == NID_md4 || mdnid == NID_md5 ||
	    mdnid == NID_sha1)
		return RC_EUNSUPPORTED;
	ERR_set_mark();
	ok = X509_REQ_verify(req, pk);
	ERR_pop_to_mark();
	return ok == 1 ? RC_OK : RC_EBADSIG;
}

/* Text of a CN as it came: any ASN.1 string type, converted to UTF-8. */
static int
cn_text(const ASN1_STRING *s, char **cn)
{
	unsigned char *utf = NULL;
	long chars;
	int n, rc;

	*cn = NULL;
	ERR_set_mark();
	n = ASN1_STRING_to_UTF8(&utf, s);
	ERR_pop_to_mark();
	if (n < 0)
		return RC_EPARSE;
	chars = utf8_chars(utf, (size_t)n);
	if (chars <= 0)
		rc = RC_EPARSE;
	else if (chars > RC_CN_MAX)
		rc = RC_ETOOBIG;
	else if ((*cn = rc_strndup((char *)utf, (size_t)n)) == NULL)
		rc = RC_ENOMEM;
	else
		rc = RC_OK;
	OPENSSL_free(utf);
	return rc;
}

int
rc_csr_get1_cn(X509_REQ *req, char **cn)
{
	const X509_NAME *name;
	int idx;

	*cn = NULL;
	name = X509_REQ_get_subject_name(req);
	if ((idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1)) < 0)
		return RC_ENOENT;
	/* Two CNs: which one is the registration ID?  Neither. */
	if (X509_NAME_get_index_by_NID(name, NID_commonName, idx) >= 0)
		return RC_EPARSE;
	return cn_text(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx)),
	    cn);
}

int
rc_csr_get1_pubkey(X509_REQ *req, EVP_PKEY **out)
{
	*out = X509_REQ_get_pubkey(req);
	return *out == NULL ? RC_EPARSE : RC_OK;
}

int
rc_csr_to_pem(X509_REQ *req, char **out, size_t *len)
{
	BIO *bio;
	int rc = RC_ECRYPTO;

	*out = NULL;
	*len = 0;
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return RC_ENOMEM;
	if (PEM_write_bio_X509_REQ(bio, req))
		rc = rc_bio_get1_mem(bio, out, len);
	BIO_free(bio);
	return rc;
}

int
rc_csr_to_der(X509_REQ *req, uint8_t **out, size_t *len)
{
	unsigned char *p;
	int n;

	*out = NULL;
	*len = 0;
	if ((n = i2d_X509_REQ(req, NULL)) <= 0)
		return RC_ECRYPTO;
	if ((*out = rc_malloc((size_t)n)) == NULL)
		return RC_ENOMEM;
	p = *out;
	if (i2d_X509_REQ(req, &p) != n) {
		rc_free(*out);
		*out = NULL;
		return RC_ECRYPTO;
	}
	*len = (size_t)n;
	return RC_OK;
}

/* snprintf into why, which may be NULL. */
static void
say(char *why, size_t whylen, const char *msg)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", msg);
}

/*
 * The key types a device certificate from a CSR may have (issue 5: EC
 * P-256 and P-384, as the DPS preview's SDKs make them; RSA of at least
 * 2048 bits).  name gets the key's description for the refusal.
 */
static int
check_key(X509_REQ *req, char *name, size_t namelen)
{
	char group[80];
	EVP_PKEY *pk;
	int nid;

	snprintf(name, namelen, "unreadable");
	if ((pk = X509_REQ_get0_pubkey(req)) == NULL)
		return RC_EUNSUPPORTED;
	if (EVP_PKEY_is_a(pk, "RSA")) {
		snprintf(name, namelen, "RSA-%d", EVP_PKEY_get_bits(pk));
		return EVP_PKEY_get_bits(pk) >= 2048 ? RC_OK : RC_EUNSUPPORTED;
	}
	if (!EVP_PKEY_is_a(pk, "EC")) {
		snprintf(name, namelen, "%s",
		    EVP_PKEY_get0_type_name(pk) != NULL
		        ? EVP_PKEY_get0_type_name(pk)
		        : "of unknown type");
		return RC_EUNSUPPORTED;
	}
	if (!EVP_PKEY_get_group_name(pk, group, sizeof(group), NULL)) {
		snprintf(name, namelen, "EC on an explicit curve");
		return RC_EUNSUPPORTED;
	}
	snprintf(name, namelen, "EC %s", group);
	nid = OBJ_txt2nid(group);
	if (nid == NID_X9_62_prime256v1 || nid == NID_secp384r1)
		return RC_OK;
	return RC_EUNSUPPORTED;
}

static int
check_cn(X509_REQ *req, const char *expect_cn, char *why, size_t whylen)
{
	char *cn = NULL;
	int rc;

	rc = rc_csr_get1_cn(req, &cn);
	switch (rc) {
	case RC_OK:
		break;
	case RC_ENOENT:
		say(why, whylen, "the CSR subject has no CN");
		return rc;
	case RC_ETOOBIG:
		say(why, whylen,
		    "the CSR subject CN is longer than 64 "
		    "characters");
		return rc;
	case RC_ENOMEM:
		say(why, whylen, "out of memory");
		return rc;
	default:
		say(why, whylen,
		    "the CSR subject must have exactly one CN, "
		    "non-empty UTF-8");
		return rc;
	}
	/* Seed rule S2: the certificate's CN is the registration ID. */
	if (strcmp(cn, expect_cn) != 0) {
		say(why, whylen,
		    "the CSR subject CN is not the registration "
		    "ID");
		rc = RC_EINVAL;
	}
	rc_free(cn);
	return rc;
}

int
rc_csr_check(X509_REQ *req, const char *expect_cn, char *why, size_t whylen)
{
	char key[96], msg[192];
	int rc;

	say(why, whylen, "");
	if (req == NULL || rc_csr_check_cn(expect_cn) != RC_OK) {
		say(why, whylen, "no CSR or no valid expected CN");
		return RC_EINVAL;
	}
	if ((rc = rc_csr_verify(req)) != RC_OK) {
		say(why, whylen,
		    rc == RC_EUNSUPPORTED
		        ? "the CSR is signed with a weak or unknown digest "
		          "(SHA-256 or better required)"
		        : "the CSR signature does not verify");
		return rc;
	}
	if ((rc = check_cn(req, expect_cn, why, whylen)) != RC_OK)
		return rc;
	if ((rc = check_key(req, key, sizeof(key))) != RC_OK) {
		snprintf(msg, sizeof(msg),
		    "the CSR key is %s; accepted are "
		    "EC P-256, EC P-384 and RSA of at least 2048 bits",
		    key);
		say(why, whylen, msg);
	}
	return rc;
}
