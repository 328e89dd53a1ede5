/*
 * The fleet's credentials (load.h): N device certificates signed in bulk
 * by a CA directory (rollcall ca layout), each through a PKCS#10 request
 * and rc_ca_sign_csr, so they carry exactly the extensions rollcall's
 * own issuance gives.  Keys are EC P-256, one per device or, with
 * --shared-key, one for the whole fleet (TLS cost is the same; only the
 * making is faster).
 *
 * The fleet file is PEM: a first line "rollcall-load fleet N SHARED
 * PREFIX", then with SHARED = 1 one private key and N certificates, else
 * N pairs of certificate and key.  It is read back in the same order.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "load.h"
#include "rollcall/ca.h"
#include "rollcall/enc.h"
#include "rollcall/key.h"
#include "rollcall/mem.h"

#define FLEET_DAYS 30

static int
make_req(const char *id, EVP_PKEY *key, X509_REQ **out)
{
	X509_REQ *req;
	X509_NAME *name;

	*out = NULL;
	if ((req = X509_REQ_new()) == NULL)
		return RC_ENOMEM;
	name = X509_REQ_get_subject_name(req);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	        (const unsigned char *)id, -1, -1, 0) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1 ||
	    X509_REQ_sign(req, key, EVP_sha256()) <= 0) {
		X509_REQ_free(req);
		return RC_ECRYPTO;
	}
	*out = req;
	return RC_OK;
}

int
load_csr_b64(const char *id, EVP_PKEY *key, char **out)
{
	X509_REQ *req = NULL;
	unsigned char *der = NULL;
	int n, rc;

	*out = NULL;
	if ((rc = make_req(id, key, &req)) != RC_OK)
		return rc;
	if ((n = i2d_X509_REQ(req, &der)) <= 0)
		rc = RC_ECRYPTO;
	else
		rc = rc_b64_encode(der, (size_t)n, out);
	OPENSSL_free(der);
	X509_REQ_free(req);
	return rc;
}

int
load_thumbprint(X509 *x, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;

	out[0] = '\0';
	if (X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32)
		return RC_ECRYPTO;
	return rc_hex_upper(md, 32, out, 65);
}

static int
make_one(const struct rc_ca *ca, struct load_dev *d, EVP_PKEY *shared)
{
	X509_REQ *req = NULL;
	int rc;

	if (shared != NULL)
		d->key = shared;
	else if ((rc = rc_key_gen(RC_KEY_P256, &d->key)) != RC_OK)
		return rc;
	if ((rc = make_req(d->id, d->key, &req)) != RC_OK)
		return rc;
	rc = rc_ca_sign_csr(ca, req, FLEET_DAYS, &d->cert);
	X509_REQ_free(req);
	return rc;
}

static int
fleet_alloc(struct load_fleet *f, const char *prefix, size_t first, size_t n)
{
	size_t i;

	memset(f, 0, sizeof(*f));
	if ((f->dev = rc_calloc(n, sizeof(*f->dev))) == NULL)
		return RC_ENOMEM;
	f->n = n;
	for (i = 0; i < n; i++)
		snprintf(f->dev[i].id, sizeof(f->dev[i].id), "%s%zu", prefix,
		    first + i);
	return RC_OK;
}

int
load_fleet_make(const char *ca_dir, const char *prefix, size_t n,
    int shared_key, struct load_fleet *out)
{
	struct rc_ca *ca = NULL;
	size_t i;
	int rc;

	if ((rc = fleet_alloc(out, prefix, 0, n)) != RC_OK)
		return rc;
	if ((rc = rc_ca_load(ca_dir, &ca)) != RC_OK)
		goto out;
	if (shared_key && (rc = rc_key_gen(RC_KEY_P256, &out->shared)) != RC_OK)
		goto out;
	for (i = 0; i < n; i++)
		if ((rc = make_one(ca, &out->dev[i], out->shared)) != RC_OK)
			goto out;
out:
	rc_ca_free(ca);
	if (rc != RC_OK)
		load_fleet_clear(out);
	return rc;
}

int
load_fleet_save(const struct load_fleet *f, const char *path)
{
	BIO *b;
	size_t i;
	int ok;

	if ((b = BIO_new_file(path, "w")) == NULL)
		return RC_EIO;
	ok = BIO_printf(b, "rollcall-load fleet %zu %d %s\n", f->n,
	         f->shared != NULL, f->n > 0 ? f->dev[0].id : "-") > 0;
	if (ok && f->shared != NULL)
		ok = PEM_write_bio_PrivateKey(b, f->shared, NULL, NULL, 0, NULL,
		    NULL);
	for (i = 0; ok && i < f->n; i++) {
		ok = PEM_write_bio_X509(b, f->dev[i].cert);
		if (ok && f->shared == NULL)
			ok = PEM_write_bio_PrivateKey(b, f->dev[i].key, NULL,
			    NULL, 0, NULL, NULL);
	}
	ok = ok && BIO_flush(b) == 1;
	BIO_free(b);
	return ok ? RC_OK : RC_EIO;
}

/* The first line: count, shared flag and the first device's ID. */
static int
fleet_header(BIO *b, size_t *n, int *shared, char *prefix, size_t psize)
{
	char line[128], *sp[3], *p;
	long long v, s;
	size_t k, i = 0;

	if (BIO_gets(b, line, sizeof(line)) <= 0 ||
	    strncmp(line, "rollcall-load fleet ", 20) != 0)
		return RC_EPARSE;
	line[strcspn(line, "\n")] = '\0';
	for (p = line + 20; i < 3 && p != NULL; i++) {
		sp[i] = p;
		if ((p = strchr(p, ' ')) != NULL)
			*p++ = '\0';
	}
	if (i != 3 || rc_strtonum(sp[0], 0, LOAD_DEVICES_MAX, &v) != RC_OK ||
	    rc_strtonum(sp[1], 0, 1, &s) != RC_OK)
		return RC_EPARSE;
	/* The prefix is the first ID without its trailing "0". */
	k = strlen(sp[2]);
	if (k < 2 || sp[2][k - 1] != '0' || k - 1 >= psize)
		return RC_EPARSE;
	memcpy(prefix, sp[2], k - 1);
	prefix[k - 1] = '\0';
	*n = (size_t)v;
	*shared = (int)s;
	return RC_OK;
}

/*
 * Passes over a device's PEM blocks without decoding them: decoding a
 * key costs OpenSSL 3.0 far more than reading its lines, and a run that
 * starts at --first 10000 would otherwise spend seconds on devices it
 * never uses.
 */
static int
skip_dev(BIO *b, int shared)
{
	char line[256];
	int ends = 0, want = shared ? 1 : 2;

	while (ends < want) {
		if (BIO_gets(b, line, sizeof(line)) <= 0)
			return RC_EPARSE;
		if (strncmp(line, "-----END ", 9) == 0)
			ends++;
	}
	return RC_OK;
}

static int
read_dev(BIO *b, int shared, X509 **x, EVP_PKEY **k)
{
	if ((*x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL)
		return RC_EPARSE;
	if (!shared &&
	    (*k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)) == NULL)
		return RC_EPARSE;
	return RC_OK;
}

int
load_fleet_load(const char *path, size_t first, size_t n,
    struct load_fleet *out)
{
	char prefix[LOAD_PREFIX_MAX + 1];
	size_t total, i;
	int shared, rc;
	BIO *b;

	memset(out, 0, sizeof(*out));
	if ((b = BIO_new_file(path, "r")) == NULL)
		return RC_ENOENT;
	if ((rc = fleet_header(b, &total, &shared, prefix, sizeof(prefix))) !=
	        RC_OK ||
	    (rc = first + n > total ? RC_ERANGE : RC_OK) != RC_OK ||
	    (rc = fleet_alloc(out, prefix, first, n)) != RC_OK)
		goto out;
	if (shared &&
	    (out->shared = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)) ==
	        NULL) {
		rc = RC_EPARSE;
		goto out;
	}
	for (i = 0; i < first + n; i++) {
		X509 *x = NULL;
		EVP_PKEY *k = NULL;

		if (i < first) {
			if ((rc = skip_dev(b, shared)) != RC_OK)
				goto out;
			continue;
		}
		if ((rc = read_dev(b, shared, &x, &k)) != RC_OK) {
			X509_free(x);
			goto out;
		}
		out->dev[i - first].cert = x;
		out->dev[i - first].key = shared ? out->shared : k;
	}
out:
	BIO_free(b);
	if (rc != RC_OK)
		load_fleet_clear(out);
	return rc;
}

void
load_fleet_clear(struct load_fleet *f)
{
	size_t i;

	for (i = 0; f->dev != NULL && i < f->n; i++) {
		X509_free(f->dev[i].cert);
		X509_free(f->dev[i].new_cert);
		EVP_PKEY_free(f->dev[i].new_key);
		if (f->dev[i].key != f->shared)
			EVP_PKEY_free(f->dev[i].key);
	}
	EVP_PKEY_free(f->shared);
	rc_free(f->dev);
	memset(f, 0, sizeof(*f));
}
