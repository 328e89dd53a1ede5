/*
 * The audit chain (store.h): row n's hash is SHA-256 over a length-prefixed
 * encoding of row n-1's hash and row n's fields; row 1 chains from 64 '0'
 * digits.  Each field is written as an 8-byte big-endian length and its
 * bytes, so no choice of field contents can make two different rows encode
 * alike.  Editing a row changes its hash; deleting one leaves a gap in seq
 * and a prev_hash that no longer matches: either way verification stops at
 * the first row after the change.  Removing the newest rows is not visible
 * in the chain alone; a copy of the newest hash kept elsewhere shows it.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "rollcall/enc.h"
#include "store_int.h"

#define AUDIT_VERIFY_PAGE 512

static const char zero_hash[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

static int
put_field(EVP_MD_CTX *md, const char *s)
{
	unsigned char len[8];
	uint64_t n;
	int i;

	if (s == NULL)
		s = "";
	n = strlen(s);
	for (i = 7; i >= 0; i--) {
		len[i] = (unsigned char)(n & 0xff);
		n >>= 8;
	}
	if (EVP_DigestUpdate(md, len, sizeof(len)) != 1 ||
	    EVP_DigestUpdate(md, s, strlen(s)) != 1)
		return RC_ECRYPTO;
	return RC_OK;
}

int
rc_audit_hash(const struct rc_audit *a, char out[65])
{
	unsigned char digest[32];
	char seq[24], tm[24];
	const char *f[8];
	EVP_MD_CTX *md = NULL;
	size_t i;
	int rc = RC_ECRYPTO;

	out[0] = '\0';
	if (a->who == NULL || a->action == NULL || a->object == NULL)
		return RC_EINVAL;
	snprintf(seq, sizeof(seq), "%lld", (long long)a->seq);
	snprintf(tm, sizeof(tm), "%lld", (long long)a->time);
	f[0] = a->prev_hash;
	f[1] = seq;
	f[2] = tm;
	f[3] = a->who;
	f[4] = a->action;
	f[5] = a->object;
	f[6] = a->etag_before;
	f[7] = a->etag_after;
	if ((md = EVP_MD_CTX_new()) == NULL) {
		rc = RC_ENOMEM;
		goto out;
	}
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	for (i = 0; i < 8; i++) {
		if ((rc = put_field(md, f[i])) != RC_OK)
			goto out;
	}
	rc = RC_ECRYPTO;
	if (EVP_DigestFinal_ex(md, digest, NULL) != 1)
		goto out;
	rc = rc_hex_upper(digest, sizeof(digest), out, 65);
out:
	EVP_MD_CTX_free(md);
	return rc;
}

const char *
rc_store_audit_genesis(void)
{
	return zero_hash;
}

/* Checks one row against its predecessor's hash and the expected seq. */
static int
verify_row(const struct rc_audit *a, int64_t expect, const char *prev)
{
	char h[65];
	int rc;

	if (a->seq != expect || strcmp(a->prev_hash, prev) != 0)
		return RC_EBADSIG;
	if ((rc = rc_audit_hash(a, h)) != RC_OK)
		return rc == RC_EINVAL ? RC_EBADSIG : rc;
	return strcmp(h, a->hash) == 0 ? RC_OK : RC_EBADSIG;
}

/*
 * Page by page, so that a long log does not hold the store for the whole
 * walk: rows are append-only, so pages read at different times still form
 * one chain.
 */
int
rc_store_audit_verify(struct rc_store *s, int64_t *bad_seq)
{
	struct rc_audit **rows = NULL;
	char prev[65];
	int64_t expect = 1;
	size_t n = 0, i;
	int rc;

	*bad_seq = 0;
	memcpy(prev, zero_hash, sizeof(prev));
	for (;;) {
		rc = rc_store_audit_list(s, expect - 1, AUDIT_VERIFY_PAGE,
		    &rows, &n);
		if (rc != RC_OK || n == 0)
			break;
		for (i = 0; i < n && rc == RC_OK; i++) {
			if ((rc = verify_row(rows[i], expect, prev)) != RC_OK) {
				*bad_seq = rows[i]->seq;
				break;
			}
			memcpy(prev, rows[i]->hash, sizeof(prev));
			expect++;
		}
		rc_audit_list_free(rows, n);
		if (rc != RC_OK)
			break;
	}
	return rc;
}
