/*
 * Policy rights as Azure names them; see policy.h.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "rollcall/enc.h"
#include "rollcall/mem.h"
#include "rollcall/policy.h"

static const struct {
	const char *name;
	unsigned bit;
} rights[] = {
    {"ServiceConfig", RC_RIGHT_SERVICE_CONFIG},
    {"EnrollmentRead", RC_RIGHT_ENROLLMENT_READ},
    {"EnrollmentWrite", RC_RIGHT_ENROLLMENT_WRITE},
    {"RegistrationStatusRead", RC_RIGHT_REGISTRATION_READ},
    {"RegistrationStatusWrite", RC_RIGHT_REGISTRATION_WRITE},
    {"RegistryRead", RC_RIGHT_REGISTRY_READ},
    {"RegistryWrite", RC_RIGHT_REGISTRY_WRITE},
    {"ServiceConnect", RC_RIGHT_SERVICE_CONNECT},
    {"DeviceConnect", RC_RIGHT_DEVICE_CONNECT},
};

#define NRIGHTS (sizeof(rights) / sizeof(rights[0]))
#define KEY_MIN 16
#define KEY_MAX 64

int
rc_rights_parse(const char *list, unsigned *out, char *bad, size_t badsize)
{
	const char *p, *comma;
	unsigned mask = 0;
	size_t i, n;

	*out = 0;
	if (bad != NULL && badsize > 0)
		bad[0] = '\0';
	if (list == NULL || *list == '\0')
		return RC_EPARSE;
	for (p = list;; p = comma + 1) {
		comma = strchr(p, ',');
		n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		for (i = 0; i < NRIGHTS; i++)
			if (strlen(rights[i].name) == n &&
			    strncasecmp(rights[i].name, p, n) == 0)
				break;
		if (i == NRIGHTS) {
			if (bad != NULL && badsize > 0)
				snprintf(bad, badsize, "%.*s", (int)n, p);
			return RC_EPARSE;
		}
		mask |= rights[i].bit;
		if (comma == NULL)
			break;
	}
	*out = mask;
	return RC_OK;
}

int
rc_rights_format(unsigned mask, char *out, size_t outsize)
{
	size_t i, used = 0;
	int n;

	if (outsize == 0)
		return RC_ETOOBIG;
	out[0] = '\0';
	for (i = 0; i < NRIGHTS; i++) {
		if ((mask & rights[i].bit) == 0)
			continue;
		n = snprintf(out + used, outsize - used, "%s%s",
		    used > 0 ? "," : "", rights[i].name);
		if (n < 0 || (size_t)n >= outsize - used)
			return RC_ETOOBIG;
		used += (size_t)n;
	}
	return RC_OK;
}

int
rc_policy_set(struct rc_policy *p, const char *name, const char *rightlist,
    const char *key_b64)
{
	int rc;

	memset(p, 0, sizeof(*p));
	if (name == NULL || *name == '\0' || key_b64 == NULL)
		return RC_EINVAL;
	if ((rc = rc_rights_parse(rightlist, &p->rights, NULL, 0)) != RC_OK)
		goto out;
	if ((rc = rc_b64_decode(key_b64, strlen(key_b64), KEY_MAX, &p->key,
	         &p->keylen)) != RC_OK)
		goto out;
	if (p->keylen < KEY_MIN) {
		rc = RC_EINVAL;
		goto out;
	}
	if ((p->name = rc_strdup(name)) == NULL)
		rc = RC_ENOMEM;
out:
	if (rc != RC_OK)
		rc_policy_clear(p);
	return rc;
}

void
rc_policy_clear(struct rc_policy *p)
{
	rc_free(p->name);
	rc_free_secret(p->key, p->keylen);
	memset(p, 0, sizeof(*p));
}
