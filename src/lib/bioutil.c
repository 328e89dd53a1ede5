/*
 * Memory BIO contents into our allocator (bioutil.h).
 */
#include "bioutil.h"
#include "rollcall/err.h"
#include "rollcall/mem.h"

int
rc_bio_get1_mem(BIO *bio, char **out, size_t *len)
{
	const char *p;
	long n;

	*out = NULL;
	*len = 0;
	if ((n = BIO_get_mem_data(bio, &p)) <= 0)
		return RC_ECRYPTO;
	if ((*out = rc_strndup(p, (size_t)n)) == NULL)
		return RC_ENOMEM;
	*len = (size_t)n;
	return RC_OK;
}
