/*
 * Constructors, copies and destructors of the store's record types
 * (store.h).  Every free is NULL-safe and releases what the record owns.
 */
#include <string.h>

#include "rollcall/mem.h"
#include "store_int.h"

static int
dup_str(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL)
		return 1;
	*out = rc_strdup(s);
	return *out != NULL;
}

struct rc_store_cert *
rc_store_cert_dup(const struct rc_store_cert *c)
{
	struct rc_store_cert *d;

	if (c == NULL || (d = rc_calloc(1, sizeof(*d))) == NULL)
		return NULL;
	*d = *c;
	d->der = NULL;
	d->subject = d->issuer = d->serial = NULL;
	if ((d->der = rc_malloc(c->der_len)) == NULL)
		goto fail;
	if (c->der_len > 0)
		memcpy(d->der, c->der, c->der_len);
	if (!dup_str(c->subject, &d->subject) ||
	    !dup_str(c->issuer, &d->issuer) || !dup_str(c->serial, &d->serial))
		goto fail;
	return d;
fail:
	rc_store_cert_free(d);
	return NULL;
}

void
rc_store_cert_free(struct rc_store_cert *c)
{
	if (c == NULL)
		return;
	rc_free(c->der);
	rc_free(c->subject);
	rc_free(c->issuer);
	rc_free(c->serial);
	rc_free(c);
}

struct rc_enrollment *
rc_enrollment_new(enum rc_enrollment_kind kind)
{
	struct rc_enrollment *e;

	if ((e = rc_calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->kind = kind;
	e->enabled = 1;
	if ((e->doc = json_object()) == NULL) {
		rc_free(e);
		return NULL;
	}
	return e;
}

void
rc_enrollment_free(struct rc_enrollment *e)
{
	int i;

	if (e == NULL)
		return;
	rc_free(e->id);
	rc_free(e->device_id);
	for (i = 0; i < RC_SLOT_COUNT; i++) {
		rc_store_cert_free(e->certs[i]);
		rc_free(e->ca_refs[i]);
	}
	json_decref(e->doc);
	rc_free(e);
}

void
rc_enrollment_list_free(struct rc_enrollment **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		rc_enrollment_free(v[i]);
	rc_free(v);
}

void
rc_registration_free(struct rc_registration *r)
{
	if (r == NULL)
		return;
	rc_free(r->registration_id);
	rc_free(r->device_id);
	rc_free(r->assigned_hub);
	rc_free(r->status);
	rc_free(r->substatus);
	rc_free(r->enrollment_group_id);
	rc_free(r->error_message);
	rc_free(r->last_csr);
	json_decref(r->payload);
	rc_free(r);
}

void
rc_registration_list_free(struct rc_registration **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		rc_registration_free(v[i]);
	rc_free(v);
}

void
rc_ca_cert_free(struct rc_ca_cert *c)
{
	if (c == NULL)
		return;
	rc_free(c->name);
	rc_store_cert_free(c->cert);
	rc_free(c->verification_code);
	rc_free(c);
}

void
rc_ca_cert_list_free(struct rc_ca_cert **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		rc_ca_cert_free(v[i]);
	rc_free(v);
}

void
rc_audit_free(struct rc_audit *a)
{
	if (a == NULL)
		return;
	rc_free(a->who);
	rc_free(a->action);
	rc_free(a->object);
	rc_free(a->etag_before);
	rc_free(a->etag_after);
	rc_free(a);
}

void
rc_audit_list_free(struct rc_audit **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		rc_audit_free(v[i]);
	rc_free(v);
}
