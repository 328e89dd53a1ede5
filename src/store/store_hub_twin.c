/*
 * Device twin documents (store.h): the rules a section obeys and JSON
 * merge patch (RFC 7386) over them.
 *
 * A section (tags, desired, reported) is a JSON object.  Its keys are
 * 1..RC_HUB_TWIN_MAX_KEY bytes without '.', '$', ' ' or control
 * characters (C0, DEL, C1): IoT Hub's rules, which also keep the "$version"
 * and "$metadata" the wire adds apart from stored keys.  Objects nest at
 * most RC_HUB_TWIN_MAX_DEPTH levels below the root (arrays count as a
 * level), which also bounds the recursion here.  In a patch a null member
 * means "delete this key"; a stored section holds no null member.  The
 * compact JSON of a stored section is at most RC_HUB_TWIN_MAX_BYTES.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "rollcall/mem.h"
#include "store_int.h"

static int
valid_key(const char *k)
{
	const unsigned char *p = (const unsigned char *)k;
	size_t i;

	for (i = 0; p[i] != '\0'; i++) {
		if (i == RC_HUB_TWIN_MAX_KEY)
			return 0;
		if (p[i] < 0x20 || p[i] == 0x7f || p[i] == '.' || p[i] == '$' ||
		    p[i] == ' ')
			return 0;
		/* U+0080..U+009F, C1 controls, are C2 80..C2 9F in UTF-8 */
		if (p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)
			return 0;
	}
	return i > 0;
}

/*
 * v at nesting level depth (the section's root is 0); nulls allowed as
 * members of objects when patch is set.
 */
static int
check_value(const json_t *v, int depth, int patch)
{
	const char *k;
	json_t *m;
	size_t i;

	if ((json_is_array(v) || json_is_object(v)) &&
	    depth > RC_HUB_TWIN_MAX_DEPTH)
		return RC_EINVAL;
	if (json_is_array(v)) {
		for (i = 0; i < json_array_size(v); i++) {
			m = json_array_get(v, i);
			if (!json_is_null(m) &&
			    check_value(m, depth + 1, 0) != RC_OK)
				return RC_EINVAL;
		}
		return RC_OK;
	}
	if (!json_is_object(v))
		return RC_OK;
	json_object_foreach((json_t *)v, k, m)
	{
		if (!valid_key(k))
			return RC_EINVAL;
		if (json_is_null(m) && !patch)
			return RC_EINVAL;
		if (check_value(m, depth + 1, patch) != RC_OK)
			return RC_EINVAL;
	}
	return RC_OK;
}

static int
check_section(const json_t *v, int patch)
{
	if (!json_is_object(v))
		return RC_EINVAL;
	return check_value(v, 0, patch);
}

/* RC_ETOOBIG above the cap; json_dumpb's 0 is a failure ("{}" is 2). */
static int
section_size(const json_t *v)
{
	size_t len;

	if ((len = json_dumpb(v, NULL, 0, JSON_COMPACT)) == 0)
		return RC_ENOMEM;
	return len <= RC_HUB_TWIN_MAX_BYTES ? RC_OK : RC_ETOOBIG;
}

int
rc_store_hub_twin_check(const json_t *section)
{
	int rc;

	if (section == NULL)
		return RC_OK;
	if ((rc = check_section(section, 0)) != RC_OK)
		return rc;
	return section_size(section);
}

/* RFC 7386 §2 MergePatch, for an object patch into the object target. */
static int
merge(json_t *target, const json_t *patch)
{
	const char *k;
	json_t *v, *cur;
	int rc;

	json_object_foreach((json_t *)patch, k, v)
	{
		if (json_is_null(v)) {
			json_object_del(target, k);
			continue;
		}
		if (!json_is_object(v)) {
			if (json_object_set_new(target, k, json_deep_copy(v)) !=
			    0)
				return RC_ENOMEM;
			continue;
		}
		cur = json_object_get(target, k);
		if (!json_is_object(cur)) {
			if ((cur = json_object()) == NULL ||
			    json_object_set_new(target, k, cur) != 0)
				return RC_ENOMEM;
		}
		if ((rc = merge(cur, v)) != RC_OK)
			return rc;
	}
	return RC_OK;
}

/*
 * The new value of one section into *out: old merged with patch, or patch
 * itself with replace.  *out NULL when patch is NULL (no change).
 */
static int
section_new(const json_t *old, const json_t *patch, int replace, json_t **out)
{
	json_t *v = NULL;
	int rc;

	*out = NULL;
	if (patch == NULL)
		return RC_OK;
	if ((rc = check_section(patch, !replace)) != RC_OK)
		return rc;
	if (replace || old == NULL)
		v = replace ? json_deep_copy(patch) : json_object();
	else
		v = json_deep_copy(old);
	if (v == NULL)
		return RC_ENOMEM;
	if (!replace && (rc = merge(v, patch)) != RC_OK)
		goto out;
	rc = section_size(v);
out:
	if (rc == RC_OK)
		*out = v;
	else
		json_decref(v);
	return rc;
}

static void
swap_in(json_t **slot, json_t *v)
{
	if (v == NULL)
		return;
	json_decref(*slot);
	*slot = v;
}

int
rc_store_hub_twin_apply(struct rc_hub_device *dev,
    const struct rc_hub_twin_patch *p)
{
	json_t *tags = NULL, *desired = NULL, *reported = NULL;
	int rc;

	if ((rc = section_new(dev->tags, p->tags, p->replace, &tags)) !=
	        RC_OK ||
	    (rc = section_new(dev->desired, p->desired, p->replace,
	         &desired)) != RC_OK ||
	    (rc = section_new(dev->reported, p->reported, 0, &reported)) !=
	        RC_OK)
		goto out;
	swap_in(&dev->tags, tags);
	swap_in(&dev->desired, desired);
	swap_in(&dev->reported, reported);
	tags = desired = reported = NULL;
	if (p->desired != NULL)
		dev->desired_version++;
	if (p->reported != NULL)
		dev->reported_version++;
	dev->twin_version++;
out:
	json_decref(tags);
	json_decref(desired);
	json_decref(reported);
	return rc;
}

int
rc_store_hub_generation_new(char out[24])
{
	unsigned char rnd[8];
	uint64_t v = 0;
	size_t i;

	out[0] = '\0';
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return RC_ECRYPTO;
	for (i = 0; i < sizeof(rnd); i++)
		v = v << 8 | rnd[i];
	/* 18 digits with no leading zero: 10^17 + v mod 9 * 10^17 */
	v = 100000000000000000ULL + v % 900000000000000000ULL;
	snprintf(out, 24, "%llu", (unsigned long long)v);
	return RC_OK;
}
