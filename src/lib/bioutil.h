/*
 * Internal to librollcall: moving what OpenSSL wrote into a memory BIO into
 * memory of our allocator.
 */
#ifndef ROLLCALL_BIOUTIL_H
#define ROLLCALL_BIOUTIL_H

#include <stddef.h>

#include <openssl/bio.h>

#include "rollcall/err.h"

/*
 * Copies the content of a memory BIO into a NUL-terminated string the
 * caller frees with rc_free (or rc_free_secret(*out, *len) for secrets).
 * RC_ECRYPTO if the BIO is empty.
 */
RC_MUST_CHECK int rc_bio_get1_mem(BIO *, char **out, size_t *len);

#endif
