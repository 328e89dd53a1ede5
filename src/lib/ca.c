/*
 * CA lifecycle: making roots and intermediates, the CA directory on disk
 * (ca.h), and PEM output of certificates, chains and CRLs.
 *
 * rc_ca_load reads files an operator may have edited or copied from
 * elsewhere: ca.pem must hold exactly one certificate, ca.key one key that
 * belongs to it, chain.pem (optional) must start with that same
 * certificate, each following one being the issuer of the one before.  Each file is read whole, bounded by RC_CA_MAX_FILE.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "bioutil.h"
#include "ca_int.h"
#include "rollcall/csr.h"
#include "rollcall/file.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"

#define PATH_SIZE 4096

static int
ca_alloc(struct rc_ca **out)
{
	struct rc_ca *ca;

	*out = NULL;
	if ((ca = rc_calloc(1, sizeof(*ca))) == NULL)
		return RC_ENOMEM;
	if ((ca->parents = sk_X509_new_null()) == NULL) {
		rc_free(ca);
		return RC_ENOMEM;
	}
	*out = ca;
	return RC_OK;
}

void
rc_ca_free(struct rc_ca *ca)
{
	if (ca == NULL)
		return;
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	sk_X509_pop_free(ca->parents, X509_free);
	rc_free(ca);
}

static int
push1(STACK_OF(X509) *sk, X509 *x)
{
	if (!X509_up_ref(x))
		return RC_ECRYPTO;
	if (!sk_X509_push(sk, x)) {
		X509_free(x);
		return RC_ENOMEM;
	}
	return RC_OK;
}

int
rc_ca_new_root(const char *cn, enum rc_key_type t, int days, struct rc_ca **out)
{
	static const struct rc_ca_profile root = {1, -1, NULL, NULL};
	struct rc_ca *ca;
	int rc;

	*out = NULL;
	if ((rc = rc_csr_check_cn(cn)) != RC_OK ||
	    (rc = rc_ca_check_days(days)) != RC_OK)
		return rc;
	if ((rc = ca_alloc(&ca)) != RC_OK)
		return rc;
	if ((rc = rc_key_gen(t, &ca->key)) != RC_OK)
		goto out;
	if ((rc = rc_ca_make_cert(NULL, ca->key, ca->key, cn, DAYS_SECS(days),
	         &root, &ca->cert)) != RC_OK)
		goto out;
	*out = ca;
	ca = NULL;
out:
	rc_ca_free(ca);
	return rc;
}

/* See ca.h on path length. */
static int
child_pathlen(X509 *parent, int *pathlen)
{
	long pl = X509_get_pathlen(parent);

	*pathlen = 0;
	if (pl == 0)
		return RC_EPATHLEN;
	if (pl > 0)
		*pathlen = pl - 1 > 1000 ? 1000 : (int)(pl - 1);
	return RC_OK;
}

int
rc_ca_new_intermediate(const struct rc_ca *parent, const char *cn,
    enum rc_key_type t, int days, struct rc_ca **out)
{
	struct rc_ca_profile p = {1, 0, NULL, NULL};
	struct rc_ca *ca;
	int i, rc;

	*out = NULL;
	if ((rc = rc_ca_check_issuer(parent)) != RC_OK ||
	    (rc = rc_csr_check_cn(cn)) != RC_OK ||
	    (rc = rc_ca_check_days(days)) != RC_OK ||
	    (rc = child_pathlen(parent->cert, &p.pathlen)) != RC_OK)
		return rc;
	if ((rc = ca_alloc(&ca)) != RC_OK)
		return rc;
	if ((rc = rc_key_gen(t, &ca->key)) != RC_OK)
		goto out;
	if ((rc = rc_ca_make_cert(parent, NULL, ca->key, cn, DAYS_SECS(days),
	         &p, &ca->cert)) != RC_OK)
		goto out;
	if ((rc = push1(ca->parents, parent->cert)) != RC_OK)
		goto out;
	for (i = 0; i < sk_X509_num(parent->parents); i++)
		if ((rc = push1(ca->parents,
		         sk_X509_value(parent->parents, i))) != RC_OK)
			goto out;
	*out = ca;
	ca = NULL;
out:
	rc_ca_free(ca);
	return rc;
}

static int
ca_path(char *buf, const char *dir, const char *name)
{
	if ((size_t)snprintf(buf, PATH_SIZE, "%s/%s", dir, name) >= PATH_SIZE)
		return RC_ETOOBIG;
	return RC_OK;
}

/* Every certificate of a PEM file, in order; at least one. */
static int
read_certs(const char *path, STACK_OF(X509) **out)
{
	STACK_OF(X509) *sk = NULL;
	BIO *bio = NULL;
	uint8_t *data;
	unsigned long e;
	size_t len;
	X509 *x;
	int rc;

	*out = NULL;
	if ((rc = rc_file_read(path, RC_CA_MAX_FILE, &data, &len)) != RC_OK)
		return rc;
	rc = RC_ENOMEM;
	if ((sk = sk_X509_new_null()) == NULL ||
	    (bio = BIO_new_mem_buf(data, (int)len)) == NULL)
		goto out;
	ERR_set_mark();
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			break;
		}
	/* the loop ends well only by running out of PEM blocks */
	e = ERR_peek_last_error();
	ERR_pop_to_mark();
	if (x != NULL)
		goto out;
	rc = RC_EPARSE;
	if (sk_X509_num(sk) == 0 || ERR_GET_LIB(e) != ERR_LIB_PEM ||
	    ERR_GET_REASON(e) != PEM_R_NO_START_LINE)
		goto out;
	*out = sk;
	sk = NULL;
	rc = RC_OK;
out:
	BIO_free(bio);
	sk_X509_pop_free(sk, X509_free);
	rc_free(data);
	return rc;
}

static int
load_cert(const char *dir, struct rc_ca *ca)
{
	STACK_OF(X509) *certs;
	char path[PATH_SIZE];
	int rc;

	if ((rc = ca_path(path, dir, "ca.pem")) != RC_OK)
		return rc;
	if ((rc = read_certs(path, &certs)) != RC_OK) {
		rc_log_warnx("%s: %s", path, rc_strerror(rc));
		return rc;
	}
	if (sk_X509_num(certs) != 1) {
		rc_log_warnx("%s: holds %d certificates, not one", path,
		    sk_X509_num(certs));
		rc = RC_EPARSE;
	} else
		ca->cert = sk_X509_shift(certs);
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

static int
load_key(const char *dir, struct rc_ca *ca)
{
	char path[PATH_SIZE];
	int rc;

	if ((rc = ca_path(path, dir, "ca.key")) != RC_OK)
		return rc;
	if ((rc = rc_key_load(path, &ca->key)) != RC_OK) {
		rc_log_warnx("%s: %s", path, rc_strerror(rc));
		return rc;
	}
	ERR_set_mark();
	rc = X509_check_private_key(ca->cert, ca->key) == 1 ? RC_OK : RC_EINVAL;
	ERR_pop_to_mark();
	if (rc != RC_OK)
		rc_log_warnx("%s: not the key of the certificate in ca.pem",
		    path);
	return rc;
}

/* Each certificate names the next as its issuer (name, AKI, keyUsage). */
static int
links_ok(X509 *cert, STACK_OF(X509) *parents)
{
	X509 *child = cert, *parent;
	int i;

	for (i = 0; i < sk_X509_num(parents); i++, child = parent) {
		parent = sk_X509_value(parents, i);
		if (X509_check_issued(parent, child) != X509_V_OK)
			return 0;
	}
	return 1;
}

static int
load_chain(const char *dir, struct rc_ca *ca)
{
	STACK_OF(X509) *certs;
	char path[PATH_SIZE];
	X509 *first;
	int rc;

	if ((rc = ca_path(path, dir, "chain.pem")) != RC_OK)
		return rc;
	if ((rc = read_certs(path, &certs)) == RC_ENOENT)
		return RC_OK;
	if (rc != RC_OK) {
		rc_log_warnx("%s: %s", path, rc_strerror(rc));
		return rc;
	}
	first = sk_X509_shift(certs);
	if (X509_cmp(first, ca->cert) != 0 || !links_ok(ca->cert, certs)) {
		rc_log_warnx("%s: not ca.pem's certificate followed by its "
		             "issuers",
		    path);
		rc = RC_EPARSE;
		sk_X509_pop_free(certs, X509_free);
	} else {
		sk_X509_pop_free(ca->parents, X509_free);
		ca->parents = certs;
	}
	X509_free(first);
	return rc;
}

int
rc_ca_load(const char *dir, struct rc_ca **out)
{
	struct rc_ca *ca;
	int rc;

	*out = NULL;
	if ((rc = ca_alloc(&ca)) != RC_OK)
		return rc;
	if ((rc = load_cert(dir, ca)) != RC_OK ||
	    (rc = load_key(dir, ca)) != RC_OK ||
	    (rc = load_chain(dir, ca)) != RC_OK)
		goto out;
	*out = ca;
	ca = NULL;
out:
	rc_ca_free(ca);
	return rc;
}

static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* chain.pem: the CA's certificate, then all of its parents. */
static int
write_full_chain(const char *path, const struct rc_ca *ca, int overwrite)
{
	X509 **v;
	size_t n, i;
	int rc;

	n = 1 + (size_t)sk_X509_num(ca->parents);
	if ((v = rc_reallocarray(NULL, n, sizeof(*v))) == NULL)
		return RC_ENOMEM;
	v[0] = ca->cert;
	for (i = 1; i < n; i++)
		v[i] = sk_X509_value(ca->parents, (int)i - 1);
	rc = rc_ca_write_pem(path, v, n, overwrite);
	rc_free(v);
	return rc;
}

static int
save_files(const struct rc_ca *ca, const char *paths[3], int overwrite,
    int *written)
{
	int rc;

	*written = 0;
	if ((rc = rc_key_save(ca->key, paths[0], overwrite)) != RC_OK)
		return rc;
	*written = 1;
	if ((rc = rc_ca_write_pem(paths[1], &ca->cert, 1, overwrite)) != RC_OK)
		return rc;
	*written = 2;
	if (sk_X509_num(ca->parents) == 0) {
		/* a stale chain.pem would no longer start with ca.pem */
		if (unlink(paths[2]) == -1 && errno != ENOENT)
			return RC_EIO;
		return RC_OK;
	}
	if ((rc = write_full_chain(paths[2], ca, overwrite)) != RC_OK)
		return rc;
	*written = 3;
	return RC_OK;
}

int
rc_ca_save(const struct rc_ca *ca, const char *dir, int overwrite)
{
	char key[PATH_SIZE], pem[PATH_SIZE], chain[PATH_SIZE];
	const char *paths[3] = {key, pem, chain};
	int i, rc, written;

	if (ca == NULL || ca->cert == NULL || ca->key == NULL)
		return RC_EINVAL;
	if ((rc = ca_path(key, dir, "ca.key")) != RC_OK ||
	    (rc = ca_path(pem, dir, "ca.pem")) != RC_OK ||
	    (rc = ca_path(chain, dir, "chain.pem")) != RC_OK)
		return rc;
	if ((rc = rc_file_mkdirs(dir, 0700)) != RC_OK)
		return rc;
	if (!overwrite && (exists(key) || exists(pem) || exists(chain)))
		return RC_EEXIST;
	rc = save_files(ca, paths, overwrite, &written);
	/* leave no half CA behind (files we replaced are gone anyway) */
	for (i = 0; rc != RC_OK && !overwrite && i < written; i++)
		(void)unlink(paths[i]);
	return rc;
}

int
rc_ca_write_pem(const char *path, X509 *const *certs, size_t n, int overwrite)
{
	char *pem = NULL;
	size_t len, i;
	BIO *bio;
	int rc = RC_ECRYPTO;

	if (certs == NULL || n == 0)
		return RC_EINVAL;
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return RC_ENOMEM;
	for (i = 0; i < n; i++)
		if (!PEM_write_bio_X509(bio, certs[i]))
			goto out;
	if ((rc = rc_bio_get1_mem(bio, &pem, &len)) != RC_OK)
		goto out;
	rc = rc_file_write(path, pem, len, 0644, overwrite);
out:
	BIO_free(bio);
	rc_free(pem);
	return rc;
}

int
rc_ca_write_chain(const char *path, const struct rc_ca *ca, X509 *leaf,
    int overwrite)
{
	X509 **v, *x;
	size_t n = 0;
	int i, rc;

	if ((v = rc_reallocarray(NULL, (size_t)sk_X509_num(ca->parents) + 2,
	         sizeof(*v))) == NULL)
		return RC_ENOMEM;
	if (leaf != NULL)
		v[n++] = leaf;
	/* peers hold the root already; sending it only costs bytes */
	for (i = -1; i < sk_X509_num(ca->parents); i++) {
		x = i < 0 ? ca->cert : sk_X509_value(ca->parents, i);
		if (X509_self_signed(x, 0) != 1)
			v[n++] = x;
	}
	rc = n == 0 ? RC_EINVAL : rc_ca_write_pem(path, v, n, overwrite);
	rc_free(v);
	return rc;
}

int
rc_ca_write_crl(const char *path, X509_CRL *crl, int overwrite)
{
	char *pem = NULL;
	size_t len;
	BIO *bio;
	int rc = RC_ECRYPTO;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return RC_ENOMEM;
	if (PEM_write_bio_X509_CRL(bio, crl) &&
	    (rc = rc_bio_get1_mem(bio, &pem, &len)) == RC_OK)
		rc = rc_file_write(path, pem, len, 0644, overwrite);
	BIO_free(bio);
	rc_free(pem);
	return rc;
}
