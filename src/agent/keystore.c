/*
 * The file keystore: a slot's key is STATE/<slot>/key.pem, PKCS#8, mode
 * 0600, written whole by rc_key_save (temporary file, fsync, rename).  A
 * keystore that is a pkcs11: URI keeps its keys in the token instead
 * (keystore_pkcs11.c) and the slot holds only key.uri.
 */
#include <string.h>

#include "agent_int.h"
#include "rollcall/file.h"
#include "rollcall/key.h"
#include "rollcall/mem.h"

static int
is_token(const struct rc_agent_conf *c)
{
	return strncmp(c->keystore, "pkcs11:", 7) == 0;
}

static int
key_path(const struct rc_agent_conf *c, char slot, char *out, size_t size)
{
	char dir[AGENT_PATH_MAX];
	int rc, n;

	if ((rc = agent_slot_dir(c->state_dir, slot, dir, sizeof(dir))) !=
	    RC_OK)
		return rc;
	n = snprintf(out, size, "%s/key.pem", dir);
	return n < 0 || (size_t)n >= size ? RC_ETOOBIG : RC_OK;
}

int
agent_key_new(const struct rc_agent_conf *c, char slot, EVP_PKEY **pub)
{
	char path[AGENT_PATH_MAX];
	enum rc_key_type t;
	EVP_PKEY *k = NULL;
	int rc;

	*pub = NULL;
	if (is_token(c))
		return agent_p11_key_new(c, slot, pub);
	if ((rc = rc_key_type_parse(c->key_type, &t)) != RC_OK ||
	    (rc = key_path(c, slot, path, sizeof(path))) != RC_OK ||
	    (rc = rc_key_gen(t, &k)) != RC_OK)
		return rc;
	if ((rc = rc_key_save(k, path, 1)) != RC_OK) {
		EVP_PKEY_free(k);
		return rc;
	}
	*pub = k;
	return RC_OK;
}

/* Copies the PEM at from into slot's key.pem. */
static int
copy_key(const struct rc_agent_conf *c, const char *from, char slot)
{
	char path[AGENT_PATH_MAX];
	EVP_PKEY *k = NULL;
	int rc;

	if ((rc = key_path(c, slot, path, sizeof(path))) != RC_OK ||
	    (rc = rc_key_load(from, &k)) != RC_OK)
		return rc;
	rc = rc_key_save(k, path, 1);
	EVP_PKEY_free(k);
	return rc;
}

int
agent_key_copy(const struct rc_agent_conf *c, char from, char to)
{
	char path[AGENT_PATH_MAX];
	int rc;

	if (is_token(c))
		return agent_p11_key_copy(c, from, to);
	if ((rc = key_path(c, from, path, sizeof(path))) != RC_OK)
		return rc;
	return copy_key(c, path, to);
}

int
agent_key_import(const struct rc_agent_conf *c, char slot, const char *pem)
{
	if (is_token(c))
		return agent_p11_key_import(c, slot, pem);
	return copy_key(c, pem, slot);
}

int
agent_key_load(const struct rc_agent_conf *c, char slot, EVP_PKEY **key,
    struct agent_ident *id)
{
	int rc;

	*key = NULL;
	if (is_token(c))
		return agent_p11_key_load(c, slot, key, id);
	id->engine = 0;
	if ((rc = key_path(c, slot, id->key, sizeof(id->key))) != RC_OK)
		return rc;
	return rc_key_load(id->key, key);
}
