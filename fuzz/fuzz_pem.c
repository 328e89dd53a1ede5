/*
 * Fuzz target for certificate intake (PEM, DER, bare base64): the input
 * goes to rc_x509_parse and rc_x509_parse_chain, and every certificate
 * accepted goes through rc_x509_info, rc_x509_get1_cn and rc_x509_to_pem.
 * Invariants: a certificate rc_x509_parse accepts, rc_x509_parse_chain
 * accepts as exactly that one certificate; its PEM parses back to the same
 * thumbprint; no call leaves an error on OpenSSL's queue.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "rollcall/mem.h"
#include "rollcall/x509.h"

static void
inspect(X509 *x)
{
	struct rc_cert_info info;
	char tp[65], tp2[65];
	char *cn = NULL, *pem = NULL;
	X509 *back = NULL;
	json_t *j = NULL;
	size_t len;

	if (rc_x509_info(x, &info) == RC_OK) {
		if (rc_x509_info_to_json(&info, &j) == RC_OK)
			json_decref(j);
		rc_x509_info_clear(&info);
	}
	if (rc_x509_get1_cn(x, &cn) == RC_OK && strlen(cn) == 0)
		abort();
	rc_free(cn);
	if (rc_x509_to_pem(x, &pem, &len) != RC_OK)
		abort();
	if (rc_x509_parse(pem, len, &back) != RC_OK ||
	    rc_x509_thumbprint(x, 1, tp, sizeof(tp)) != RC_OK ||
	    rc_x509_thumbprint(back, 1, tp2, sizeof(tp2)) != RC_OK ||
	    !rc_x509_thumbprint_eq(tp, tp2))
		abort();
	X509_free(back);
	rc_free(pem);
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	STACK_OF(X509) *sk = NULL;
	X509 *x = NULL;
	int i, single, chain;

	single = rc_x509_parse(data, size, &x);
	if (single == RC_OK)
		inspect(x);
	chain = rc_x509_parse_chain(data, size, 16, &sk);
	if (chain == RC_OK)
		for (i = 0; i < sk_X509_num(sk); i++)
			inspect(sk_X509_value(sk, i));
	if (single == RC_OK &&
	    (chain != RC_OK || sk_X509_num(sk) != 1 ||
	        X509_cmp(x, sk_X509_value(sk, 0)) != 0))
		abort();
	if (ERR_peek_error() != 0)
		abort();
	X509_free(x);
	sk_X509_pop_free(sk, X509_free);
	return 0;
}
