/*
 * Fuzz target for the CSR reader (csr.h): rc_csr_parse over any bytes; a
 * request it accepts goes through the signature check, CN extraction and
 * DER re-encoding.  Invariants: no crash or leak; a CN that comes back is
 * non-empty and within RC_CN_MAX characters; what we encode, we parse
 * again, and its signature still verifies if the original's did.
 */
#include <stdlib.h>
#include <string.h>

#include "rollcall/csr.h"
#include "rollcall/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
reencode(X509_REQ *req, int verified)
{
	X509_REQ *again;
	uint8_t *der;
	size_t len;

	if (rc_csr_to_der(req, &der, &len) != RC_OK)
		return;
	if (rc_csr_parse(der, len, &again) != RC_OK)
		abort();
	if (verified && rc_csr_verify(again) != RC_OK)
		abort();
	X509_REQ_free(again);
	rc_free(der);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	X509_REQ *req;
	char *cn;
	int verified;

	if (rc_csr_parse(data, size, &req) != RC_OK)
		return 0;
	verified = rc_csr_verify(req) == RC_OK;
	if (rc_csr_get1_cn(req, &cn) == RC_OK) {
		if (cn[0] == '\0' || strlen(cn) > 4 * RC_CN_MAX)
			abort();
		rc_free(cn);
	}
	reencode(req, verified);
	X509_REQ_free(req);
	return 0;
}
