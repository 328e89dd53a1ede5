/*
 * The store's side of attestation (attest.h): reads everything rc_attest
 * may look at for one registration.  Groups are read whole because a
 * group is found by the certificate that signed the top of the presented
 * chain, which no thumbprint index can answer; individual enrollments and
 * holders of presented certificates are indexed lookups.
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

static int
gather_holders(struct rc_store *s, STACK_OF(X509) *chain,
    struct rc_attest_view *v)
{
	struct rc_enrollment *e;
	enum rc_slot slot;
	char sha256[65];
	int i, n, rc;

	n = chain == NULL ? 0 : sk_X509_num(chain);
	if (n > RC_ATTEST_MAX_CHAIN)
		n = RC_ATTEST_MAX_CHAIN;
	if (n <= 0)
		return RC_OK;
	if ((v->holders = rc_calloc((size_t)n, sizeof(*v->holders))) == NULL)
		return RC_ENOMEM;
	for (i = 0; i < n; i++) {
		if ((rc = rc_x509_thumbprint(sk_X509_value(chain, i), 1, sha256,
		         sizeof(sha256))) != RC_OK)
			return rc;
		rc = rc_store_enrollment_find_cert(s, sha256, &e, &slot);
		if (rc == RC_ENOENT)
			continue;
		if (rc != RC_OK)
			return rc;
		v->holders[v->nholders++] = e;
	}
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
	    (rc = gather_holders(s, chain, &v)) != RC_OK)
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
	memset(v, 0, sizeof(*v));
}
