/*
 * Private keys: generation, PKCS#8 PEM files, parsing.  Only the key types
 * rollcall issues certificates for exist here: ECDSA P-256 (the default,
 * DESIGN.md section 5) and P-384, RSA 2048 and 3072.
 */
#ifndef ROLLCALL_KEY_H
#define ROLLCALL_KEY_H

#include <stddef.h>

#include <openssl/evp.h>

#include "rollcall/err.h"

enum rc_key_type {
	RC_KEY_P256,
	RC_KEY_P384,
	RC_KEY_RSA2048,
	RC_KEY_RSA3072,
};

/* Largest key file rc_key_load reads and rc_key_parse accepts. */
#define RC_KEY_MAX_INPUT (64 * 1024)

/* "p256", "p384", "rsa2048", "rsa3072" (exactly).  RC_EINVAL otherwise. */
RC_MUST_CHECK int rc_key_type_parse(const char *name, enum rc_key_type *out);
/* The name rc_key_type_parse accepts; "?" for an unknown value. */
const char *rc_key_type_name(enum rc_key_type);

/* A fresh key; the caller owns *out (EVP_PKEY_free). */
RC_MUST_CHECK int rc_key_gen(enum rc_key_type, EVP_PKEY **out);

/*
 * Writes the key as unencrypted PKCS#8 PEM ("PRIVATE KEY") with mode 0600
 * from the moment the file exists, atomically (file.h).  RC_EEXIST if path
 * exists and overwrite is 0.
 */
RC_MUST_CHECK int rc_key_save(EVP_PKEY *, const char *path, int overwrite);

/*
 * Parses one private key: PEM (PKCS#8 "PRIVATE KEY", or the traditional
 * "EC PRIVATE KEY" / "RSA PRIVATE KEY") or DER.  Encrypted keys are refused
 * (RC_EUNSUPPORTED: nothing ever prompts for a passphrase), as are key
 * algorithms other than EC and RSA.  Input above RC_KEY_MAX_INPUT is
 * RC_ETOOBIG.  The caller owns *out.
 */
RC_MUST_CHECK int rc_key_parse(const void *data, size_t len, EVP_PKEY **out);
/* rc_key_parse of a file; RC_ENOENT if it does not exist. */
RC_MUST_CHECK int rc_key_load(const char *path, EVP_PKEY **out);

/*
 * The PKCS#8 PEM text of the key; *out (NUL-terminated) is the caller's and
 * holds a secret: free it with rc_free_secret(*out, *len).
 */
RC_MUST_CHECK int rc_key_to_pem(EVP_PKEY *, char **out, size_t *len);

/* 1 for an RSA key, 0 otherwise (keyEncipherment goes only to RSA keys). */
int rc_key_is_rsa(const EVP_PKEY *);

#endif
