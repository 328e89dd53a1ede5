/*
 * The store's side of attestation (attest.h): reads everything rc_attest
 * may look at for one registration.  Groups are read whole because a
 * group is found by the certificate that signed the top of the presented
 * chain, which no thumbprint index can answer; individual enrollments,
 * holders of presented certificates and blocklist entries are indexed
 * lookups.
 */
#include <string.h>

#include "rollcall/attest.h"
#include "rollcall/mem.h"
#include "rollcall/x509.h"

#define GROUP_PAGE 100

static int
gather_individual(struct rc_store *s, const char *id, struct rc_attest_view *v)
{
	int rc;

	if (!rc_attest_id_valid(id))
		return RC_OK;
	rc = rc_store_enrollment_get(s, RC_ENROLLMENT_INDIVIDUAL, id,
	    &v->individual);
	return rc == RC_ENOENT ? RC_OK : rc;
}

/* Appends a page of n enrollments to the view's groups, taking them. */
static int
take_page(struct rc_attest_view *v, struct rc_enrollment **page, size_t n)
{
	struct rc_enrollment **g;

	if (n == 0)
		return RC_OK;
	if ((g = rc_reallocarray(v->groups, v->ngroups + n, sizeof(*g))) ==
	    NULL)
		return RC_ENOMEM;
	v->groups = g;
	memcpy(g + v->ngroups, page, n * sizeof(*g));
	v->ngroups += n;
	return RC_OK;
}

static int
gather_groups(struct rc_store *s, struct rc_attest_view *v)
{
	struct rc_enrollment **page = NULL;
	char *after = NULL, *next = NULL;
	size_t n = 0;
	int rc;

	do {
		rc_free(after);
		after = next;
		next = NULL;
		if ((rc = rc_store_enrollment_list(s, RC_ENROLLMENT_GROUP,
		         after, GROUP_PAGE, &page, &n, &next)) != RC_OK)
			goto out;
		if ((rc = take_page(v, page, n)) != RC_OK)
			goto out;
		rc_free(page);
		page = NULL;
		n = 0;
	} while (next != NULL);
out:
	rc_enrollment_list_free(page, n);
	rc_free(after);
	rc_free(next);
	return rc;
}

/* Adds sha256 to the view's blocked list if it is on the blocklist. */
static int
gather_blocked(struct rc_store *s, const char *sha256, struct rc_attest_view *v)
{
	struct rc_blocked_cert *b = NULL;
	char(*grown)[65];
	int rc;

	if ((rc = rc_store_blocklist_get(s, sha256, &b)) != RC_OK)
		return rc == RC_ENOENT ? RC_OK : rc;
	grown =
	    rc_reallocarray(v->blocked, v->nblocked + 1, sizeof(*v->blocked));
	if (grown == NULL) {
		rc_blocked_cert_free(b);
		return RC_ENOMEM;
	}
	v->blocked = grown;
	memcpy(v->blocked[v->nblocked++], b->sha256, sizeof(*v->blocked));
	rc_blocked_cert_free(b);
	return RC_OK;
}

/* The holder and the blocklist entry of one presented certificate. */
static int
gather_one(struct rc_store *s, X509 *x, struct rc_attest_view *v)
{
	struct rc_enrollment *e;
	enum rc_slot slot;
	char sha256[65];
	int rc;

	if ((rc = rc_x509_thumbprint(x, 1, sha256, sizeof(sha256))) != RC_OK)
		return rc;
	rc = rc_store_enrollment_find_cert(s, sha256, &e, &slot);
	if (rc == RC_OK)
		v->holders[v->nholders++] = e;
	else if (rc != RC_ENOENT)
		return rc;
	return gather_blocked(s, sha256, v);
}

static int
gather_chain(struct rc_store *s, STACK_OF(X509) *chain,
    struct rc_attest_view *v)
{
	int i, n, rc;

	n = chain == NULL ? 0 : sk_X509_num(chain);
	if (n > RC_ATTEST_MAX_CHAIN)
		n = RC_ATTEST_MAX_CHAIN;
	if (n <= 0)
		return RC_OK;
	if ((v->holders = rc_calloc((size_t)n, sizeof(*v->holders))) == NULL)
		return RC_ENOMEM;
	for (i = 0; i < n; i++)
		if ((rc = gather_one(s, sk_X509_value(chain, i), v)) != RC_OK)
			return rc;
	return RC_OK;
}

/*
 * The blocklist entries of the groups' own certificates and of the CA
 * certificates: one indexed lookup each, as many as the groups read whole
 * above, so the cost stays of the same order.
 */
static int
gather_anchors(struct rc_store *s, struct rc_attest_view *v)
{
	size_t i;
	int slot, rc;

	for (i = 0; i < v->ngroups; i++)
		for (slot = 0; slot < RC_SLOT_COUNT; slot++)
			if (v->groups[i]->certs[slot] != NULL &&
			    (rc = gather_blocked(s,
			         v->groups[i]->certs[slot]->sha256, v)) !=
			        RC_OK)
				return rc;
	for (i = 0; i < v->ncas; i++)
		if (v->cas[i]->cert != NULL &&
		    (rc = gather_blocked(s, v->cas[i]->cert->sha256, v)) !=
		        RC_OK)
			return rc;
	return RC_OK;
}

int
rc_attest_gather(struct rc_store *s, STACK_OF(X509) *chain,
    const char *registration_id, struct rc_attest_view *out)
{
	struct rc_attest_view v;
	int rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (s == NULL || out == NULL)
		return RC_EINVAL;
	memset(&v, 0, sizeof(v));
	if ((rc = gather_individual(s, registration_id, &v)) != RC_OK ||
	    (rc = gather_groups(s, &v)) != RC_OK ||
	    (rc = rc_store_ca_cert_list(s, &v.cas, &v.ncas)) != RC_OK ||
	    (rc = gather_chain(s, chain, &v)) != RC_OK ||
	    (rc = gather_anchors(s, &v)) != RC_OK)
		goto out;
	*out = v;
	memset(&v, 0, sizeof(v));
out:
	rc_attest_view_free(&v);
	return rc;
}

void
rc_attest_view_free(struct rc_attest_view *v)
{
	if (v == NULL)
		return;
	rc_enrollment_free(v->individual);
	rc_enrollment_list_free(v->groups, v->ngroups);
	rc_ca_cert_list_free(v->cas, v->ncas);
	rc_enrollment_list_free(v->holders, v->nholders);
	rc_free(v->blocked);
	memset(v, 0, sizeof(*v));
}
