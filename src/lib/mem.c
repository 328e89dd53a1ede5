/*
 * The one place raw malloc/free are called (STYLE.md rule 7).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "rollcall/mem.h"

static unsigned long fail_at; /* 0: never fail */
static unsigned long count;

static int
should_fail(void)
{
	count++;
	return fail_at != 0 && count >= fail_at;
}

void
rc_mem_fail_after(unsigned long n)
{
	fail_at = n;
	count = 0;
}

unsigned long
rc_mem_count(void)
{
	return count;
}

void *
rc_malloc(size_t n)
{
	if (should_fail())
		return NULL;
	return malloc(n == 0 ? 1 : n);
}

void *
rc_calloc(size_t nmemb, size_t size)
{
	if (should_fail())
		return NULL;
	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	return calloc(nmemb, size);
}

void *
rc_realloc(void *p, size_t n)
{
	if (should_fail())
		return NULL;
	return realloc(p, n == 0 ? 1 : n);
}

void *
rc_reallocarray(void *p, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		return NULL;
	return rc_realloc(p, nmemb * size);
}

char *
rc_strndup(const char *s, size_t n)
{
	size_t len;
	char *d;

	len = strnlen(s, n);
	if ((d = rc_malloc(len + 1)) == NULL)
		return NULL;
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

char *
rc_strdup(const char *s)
{
	size_t len;
	char *d;

	len = strlen(s);
	if ((d = rc_malloc(len + 1)) == NULL)
		return NULL;
	memcpy(d, s, len + 1);
	return d;
}

void
rc_free(void *p)
{
	free(p);
}

void
rc_free_secret(void *p, size_t n)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, n);
	free(p);
}

static void *
ossl_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return rc_malloc(n);
}

static void *
ossl_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return rc_realloc(p, n);
}

static void
ossl_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	free(p);
}

int
rc_mem_hook_openssl(void)
{
	return CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free);
}
