/*
 * Inside hub authentication: what the credential cache (auth_cache.c)
 * holds per device and hands to the check (auth.c).
 */
#ifndef ROLLCALL_HUB_AUTH_INT_H
#define ROLLCALL_HUB_AUTH_INT_H

#include "hub/auth.h"

#define HUB_AUTH_SHA1_LEN 20
#define HUB_AUTH_SHA256_LEN 32

/* What decides authentication, and its generation. */
struct hub_auth_cred {
	enum rc_hub_auth auth;
	int enabled;
	uint64_t generation;
	/* primary [0] and secondary [1] digests; length 0, 20 or 32 */
	unsigned char thumb[2][HUB_AUTH_SHA256_LEN];
	unsigned char thumb_len[2];
};

/* The credentials of a stored device record (generation left 0). */
RC_MUST_CHECK int hub_auth_cred_fill(const struct rc_hub_device *,
    struct hub_auth_cred *out);
/* 1 and a copy of the device's credentials, or 0 if it is unknown. */
int hub_auth_cache_lookup(struct hub_auth_cache *, const char *device_id,
    struct hub_auth_cred *out);

#endif
