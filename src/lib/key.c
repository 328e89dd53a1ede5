/*
 * Private keys (key.h).
 *
 * Parsing accepts one unencrypted EC or RSA private key, PEM or DER, of at
 * most RC_KEY_MAX_INPUT bytes; DER must be consumed exactly (no trailing
 * bytes).  Nothing here ever asks for a passphrase: OpenSSL's default
 * callback would prompt on the terminal, so ours refuses.
 */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "bioutil.h"
#include "rollcall/file.h"
#include "rollcall/key.h"
#include "rollcall/mem.h"

static const char *const type_names[] = {
    [RC_KEY_P256] = "p256",
    [RC_KEY_P384] = "p384",
    [RC_KEY_RSA2048] = "rsa2048",
    [RC_KEY_RSA3072] = "rsa3072",
};

#define NTYPES (sizeof(type_names) / sizeof(type_names[0]))

int
rc_key_type_parse(const char *name, enum rc_key_type *out)
{
	size_t i;

	*out = RC_KEY_P256;
	if (name == NULL)
		return RC_EINVAL;
	for (i = 0; i < NTYPES; i++) {
		if (strcmp(name, type_names[i]) == 0) {
			*out = (enum rc_key_type)i;
			return RC_OK;
		}
	}
	return RC_EINVAL;
}

const char *
rc_key_type_name(enum rc_key_type t)
{
	if ((size_t)t >= NTYPES)
		return "?";
	return type_names[t];
}

int
rc_key_gen(enum rc_key_type t, EVP_PKEY **out)
{
	EVP_PKEY *k;

	*out = NULL;
	switch (t) {
	case RC_KEY_P256:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case RC_KEY_P384:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case RC_KEY_RSA2048:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	case RC_KEY_RSA3072:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
		break;
	default:
		return RC_EINVAL;
	}
	if (k == NULL)
		return RC_ECRYPTO;
	*out = k;
	return RC_OK;
}

int
rc_key_is_rsa(const EVP_PKEY *k)
{
	return k != NULL && EVP_PKEY_is_a(k, "RSA");
}

int
rc_key_to_pem(EVP_PKEY *k, char **out, size_t *len)
{
	BIO *bio;
	int rc;

	*out = NULL;
	*len = 0;
	/* secmem: the BIO's buffer is cleansed when it is freed */
	if ((bio = BIO_new(BIO_s_secmem())) == NULL)
		return RC_ENOMEM;
	/* OpenSSL 3 writes PKCS#8 ("PRIVATE KEY") here. */
	if (!PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL)) {
		rc = RC_ECRYPTO;
		goto out;
	}
	rc = rc_bio_get1_mem(bio, out, len);
out:
	BIO_free(bio);
	return rc;
}

int
rc_key_save(EVP_PKEY *k, const char *path, int overwrite)
{
	size_t len;
	char *pem;
	int rc;

	if ((rc = rc_key_to_pem(k, &pem, &len)) != RC_OK)
		return rc;
	rc = rc_file_write(path, pem, len, 0600, overwrite);
	rc_free_secret(pem, len);
	return rc;
}

static int
no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;
}

static EVP_PKEY *
parse_pem(const void *data, size_t len)
{
	EVP_PKEY *k;
	BIO *bio;

	if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL)
		return NULL;
	k = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	return k;
}

static EVP_PKEY *
parse_der(const void *data, size_t len)
{
	const unsigned char *p = data;
	EVP_PKEY *k;

	if ((k = d2i_AutoPrivateKey(NULL, &p, (long)len)) == NULL)
		return NULL;
	if (p != (const unsigned char *)data + len) {
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

int
rc_key_parse(const void *data, size_t len, EVP_PKEY **out)
{
	EVP_PKEY *k;
	int pem;

	*out = NULL;
	if (len > RC_KEY_MAX_INPUT)
		return RC_ETOOBIG;
	if (data == NULL || len == 0)
		return RC_EPARSE;
	pem = memmem(data, len, "-----BEGIN ", 11) != NULL;
	/* "ENCRYPTED PRIVATE KEY" (PKCS#8) or "Proc-Type: 4,ENCRYPTED" */
	if (pem && memmem(data, len, "ENCRYPTED", 9) != NULL)
		return RC_EUNSUPPORTED;
	ERR_set_mark();
	k = pem ? parse_pem(data, len) : parse_der(data, len);
	ERR_pop_to_mark();
	if (k == NULL)
		return RC_EPARSE;
	if (!EVP_PKEY_is_a(k, "EC") && !EVP_PKEY_is_a(k, "RSA")) {
		EVP_PKEY_free(k);
		return RC_EUNSUPPORTED;
	}
	*out = k;
	return RC_OK;
}

int
rc_key_load(const char *path, EVP_PKEY **out)
{
	uint8_t *data;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = rc_file_read(path, RC_KEY_MAX_INPUT, &data, &len)) != RC_OK)
		return rc;
	rc = rc_key_parse(data, len, out);
	rc_free_secret(data, len);
	return rc;
}
