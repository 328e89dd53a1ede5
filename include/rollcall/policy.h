/*
 * Shared access policies: a name, a key and the rights it grants.  A
 * service call is authorized when its SharedAccessSignature verifies with
 * the key of the policy it names (skn) and that policy has the right the
 * operation needs (DESIGN.md §5 "Authorization").
 *
 * Rights names are Azure's (reference/azure-service-api.md §1.4): DPS
 * ServiceConfig, EnrollmentRead, EnrollmentWrite, RegistrationStatusRead,
 * RegistrationStatusWrite; hub RegistryRead, RegistryWrite, ServiceConnect,
 * DeviceConnect.
 */
#ifndef ROLLCALL_POLICY_H
#define ROLLCALL_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "rollcall/err.h"

enum rc_right {
	RC_RIGHT_SERVICE_CONFIG = 1u << 0,
	RC_RIGHT_ENROLLMENT_READ = 1u << 1,
	RC_RIGHT_ENROLLMENT_WRITE = 1u << 2,
	RC_RIGHT_REGISTRATION_READ = 1u << 3,
	RC_RIGHT_REGISTRATION_WRITE = 1u << 4,
	RC_RIGHT_REGISTRY_READ = 1u << 8,
	RC_RIGHT_REGISTRY_WRITE = 1u << 9,
	RC_RIGHT_SERVICE_CONNECT = 1u << 10,
	RC_RIGHT_DEVICE_CONNECT = 1u << 11,
};

#define RC_RIGHTS_DPS_ALL                                            \
	(RC_RIGHT_SERVICE_CONFIG | RC_RIGHT_ENROLLMENT_READ |        \
	    RC_RIGHT_ENROLLMENT_WRITE | RC_RIGHT_REGISTRATION_READ | \
	    RC_RIGHT_REGISTRATION_WRITE)
#define RC_RIGHTS_HUB_ALL                                   \
	(RC_RIGHT_REGISTRY_READ | RC_RIGHT_REGISTRY_WRITE | \
	    RC_RIGHT_SERVICE_CONNECT | RC_RIGHT_DEVICE_CONNECT)

struct rc_policy {
	char *name;
	uint8_t *key; /* raw (base64-decoded) */
	size_t keylen;
	unsigned rights;
};

/* Who made an authorized call: borrowed from the policy table. */
struct rc_principal {
	const char *policy;
	unsigned rights;
};

/*
 * Parses a comma-separated list of right names (case-insensitive, no
 * spaces) into a mask; RC_EPARSE names the first unknown one in bad (if
 * non-NULL, at most badsize bytes).
 */
RC_MUST_CHECK int rc_rights_parse(const char *list, unsigned *out, char *bad,
    size_t badsize);
/* Writes the names of the rights in mask, comma-separated. */
RC_MUST_CHECK int rc_rights_format(unsigned mask, char *out, size_t outsize);

/*
 * Builds a policy from its name, rights list and base64 key (at least 16
 * and at most 64 bytes decoded).  Caller frees with rc_policy_clear.
 */
RC_MUST_CHECK int rc_policy_set(struct rc_policy *, const char *name,
    const char *rights, const char *key_b64);
/* Clears the key material and frees. */
void rc_policy_clear(struct rc_policy *);

#endif
