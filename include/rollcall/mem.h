/*
 * The allocator of librollcall.  All heap memory goes through these wrappers
 * so that tests can make the Nth allocation fail (curl's torture mode) and
 * check that every error path unwinds cleanly.
 */
#ifndef ROLLCALL_MEM_H
#define ROLLCALL_MEM_H

#include <stddef.h>

/* Each returns NULL on failure (or when the test mode says so). */
void *rc_malloc(size_t n);
void *rc_calloc(size_t nmemb, size_t size);
void *rc_realloc(void *p, size_t n);
/* reallocarray semantics: NULL on multiplication overflow. */
void *rc_reallocarray(void *p, size_t nmemb, size_t size);
char *rc_strdup(const char *s);
char *rc_strndup(const char *s, size_t n);
/* NULL-safe. */
void rc_free(void *p);
/* Zeroes n bytes (not optimised away) and frees; for key material. */
void rc_free_secret(void *p, size_t n);

/*
 * Test mode: the nth allocation from now on (1-based) and every one after it
 * fails.  0 turns the mode off.  rc_mem_count() is the number of allocations
 * made since the last rc_mem_fail_after() call, so a test can first measure
 * a run and then fail each allocation in turn.
 */
void rc_mem_fail_after(unsigned long n);
unsigned long rc_mem_count(void);

/*
 * Route OpenSSL's allocations through the same counter (so the fail-Nth mode
 * also reaches inside libcrypto).  Must run before any other OpenSSL call;
 * returns 0 if OpenSSL refused.
 */
int rc_mem_hook_openssl(void);

#endif
