/*
 * Fuzz target for the base64 decoder: whatever decodes must survive an
 * encode/decode round trip unchanged, and the decoded length is bounded by
 * the cap.  (Input to output is not one-to-one: unused trailing bits of the
 * last quantum are ignored, as RFC 4648 §3.5 allows.)
 */
#include <stdlib.h>
#include <string.h>

#include "rollcall/enc.h"
#include "rollcall/mem.h"

#define CAP 65536

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *out, *again;
	size_t n, m;
	char *enc;

	if (rc_b64_decode((const char *)data, size, CAP, &out, &n) != RC_OK)
		return 0;
	if (n > CAP || rc_b64_encode(out, n, &enc) != RC_OK)
		abort();
	if (rc_b64_decode(enc, strlen(enc), CAP, &again, &m) != RC_OK)
		abort();
	if (m != n || (n > 0 && memcmp(out, again, n) != 0))
		abort();
	rc_free(again);
	rc_free(enc);
	rc_free(out);
	return 0;
}
