/*
 * Fuzz target for the SAS parsers (sas.h).  The input is tried as a token
 * and as a connection string.  Invariants:
 *  - a failed parse leaves its output cleared;
 *  - a parsed token has every required field, and verifying it with a
 *    fixed key never crashes, whatever the result;
 *  - a parsed connection string yields a key, and a token made with that
 *    key for its HostName (if it fits in RC_SAS_MAX) parses again and
 *    verifies (round trip).
 */
#include <stdlib.h>
#include <string.h>

#include "rollcall/mem.h"
#include "rollcall/sas.h"

#define FUZZ_NOW 1700000000
#define FUZZ_SE 2000000000ULL

static const uint8_t fixed_key[32] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
    13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

static void
token(const uint8_t *data, size_t size)
{
	struct rc_sas_token t;
	int rc;

	if (rc_sas_parse((const char *)data, size, &t) != RC_OK) {
		if (t.sr != NULL || t.sr_raw != NULL || t.skn != NULL)
			abort();
		return;
	}
	if (t.sr == NULL || t.sr_raw == NULL || t.sr[0] == '\0')
		abort();
	rc = rc_sas_verify(&t, fixed_key, sizeof(fixed_key), "localhost",
	    FUZZ_NOW, 300);
	if (rc != RC_OK && rc != RC_EAUTH && rc != RC_EEXPIRED &&
	    rc != RC_ENOMEM)
		abort();
	rc_sas_token_clear(&t);
}

/* A connection string's own token must verify against its own host. */
static void
round_trip(const struct rc_connstr *cs)
{
	struct rc_sas_token t;
	uint8_t *key;
	size_t keylen;
	char *tok;
	int rc;

	if (rc_connstr_get1_key(cs, &key, &keylen) != RC_OK)
		abort();
	rc = rc_sas_token_new(cs->host, cs->key_name, key, keylen, FUZZ_SE,
	    &tok);
	if (rc == RC_ETOOBIG) {
		/* a long host or policy name need not fit in a token */
		rc_free_secret(key, keylen);
		return;
	}
	if (rc != RC_OK)
		abort();
	if (rc_sas_parse(tok, strlen(tok), &t) != RC_OK)
		abort();
	if (rc_sas_verify(&t, key, keylen, cs->host, FUZZ_NOW, 0) != RC_OK)
		abort();
	if (strcmp(t.sr, cs->host) != 0)
		abort();
	rc_sas_token_clear(&t);
	rc_free(tok);
	rc_free_secret(key, keylen);
}

static void
connstr(const uint8_t *data, size_t size)
{
	struct rc_connstr cs;

	if (rc_connstr_parse((const char *)data, size, &cs) != RC_OK) {
		if (cs.host != NULL || cs.key != NULL || cs.key_name != NULL ||
		    cs.device_id != NULL)
			abort();
		return;
	}
	if (cs.host == NULL || cs.key == NULL)
		abort();
	round_trip(&cs);
	rc_connstr_clear(&cs);
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	token(data, size);
	connstr(data, size);
	return 0;
}
