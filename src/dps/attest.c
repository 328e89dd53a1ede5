/*
 * The attestation engine (attest.h): seed rules S13 in order, S9 (the
 * blocklist), S12, S6, S7.
 *
 * Input: the certificates a device presented in its TLS handshake, leaf
 * first.  The handshake asked for them but judged nothing (DESIGN.md §5),
 * so every certificate here is untrusted: a group is found on the chain
 * by an identical certificate or by a signature that verifies with its
 * key, never by a name alone, and it then decides only after a full path
 * verification from the leaf up to its own certificate.  The enrollments
 * and CA certificates come from the store, which checked them when they
 * were written.  A group certificate that cannot be read (out of memory,
 * or a damaged store) fails the whole decision with an error: skipping
 * it could let a group farther up the chain accept a device the skipped
 * one would have refused.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "rollcall/attest.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"
#include "rollcall/x509.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

struct att {
	STACK_OF(X509) *chain;
	X509 *leaf;
	int n; /* certificates presented */
	char sha256[RC_ATTEST_MAX_CHAIN][65];
	const char *id;
	time_t now;
	const struct rc_attest_view *view;
	struct rc_attest_result *res;
	int decided;
};

/* A group's slot as a certificate, and its depth on the presented chain. */
struct cand {
	const struct rc_enrollment *group;
	enum rc_slot slot;
	const struct rc_ca_cert *ca; /* through a CA reference, else NULL */
	const struct rc_store_cert *sc;
	X509 *x;
	int depth;
};

static void decide(struct att *, enum rc_attest_reason,
    const struct rc_enrollment *, enum rc_slot, const char *, ...) RC_FMT(5, 6);
static void note(struct att *, const char *, ...) RC_FMT(2, 3);

static const char *const reason_names[] = {
#define RC_ATTEST_NAME(code, name) name,
    RC_ATTEST_REASONS(RC_ATTEST_NAME)
#undef RC_ATTEST_NAME
};

static const char *const slot_names[] = {"primary", "secondary"};

const char *
rc_attest_reason_name(enum rc_attest_reason r)
{
	if ((unsigned)r >= NITEMS(reason_names))
		return "unknown";
	return reason_names[r];
}

int
rc_attest_id_valid(const char *id)
{
	size_t i;
	char c;

	if (id == NULL || id[0] == '\0')
		return 0;
	for (i = 0; (c = id[i]) != '\0'; i++) {
		if (i >= RC_ATTEST_MAX_ID)
			return 0;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		    c == '_' || c == ':')
			continue;
		return 0;
	}
	return 1;
}

static void
decide(struct att *a, enum rc_attest_reason reason,
    const struct rc_enrollment *e, enum rc_slot slot, const char *fmt, ...)
{
	va_list ap;

	a->decided = 1;
	a->res->reason = reason;
	a->res->enrollment = e;
	a->res->slot = slot;
	va_start(ap, fmt);
	(void)vsnprintf(a->res->message, sizeof(a->res->message), fmt, ap);
	va_end(ap);
}

static void
note(struct att *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(a->res->detail, sizeof(a->res->detail), fmt, ap);
	va_end(ap);
}

/* Device-chosen text for a log line: printable ASCII only, bounded. */
static void
printable(const char *s, char *out, size_t outsize)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < outsize; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[i] = '\0';
}

static const char *
kind_name(const struct rc_enrollment *e)
{
	return e->kind == RC_ENROLLMENT_GROUP ? "group" : "individual";
}

/* Rule 1: something to judge, and a well-formed registration ID. */
static void
step_shape(struct att *a)
{
	a->n = a->chain == NULL ? 0 : sk_X509_num(a->chain);
	if (a->n <= 0)
		decide(a, RC_ATTEST_NO_CHAIN, NULL, RC_SLOT_PRIMARY,
		    "no client certificate was presented");
	else if (a->n > RC_ATTEST_MAX_CHAIN)
		decide(a, RC_ATTEST_CHAIN_TOO_LONG, NULL, RC_SLOT_PRIMARY,
		    "more than %d certificates were presented",
		    RC_ATTEST_MAX_CHAIN);
	else if (!rc_attest_id_valid(a->id))
		decide(a, RC_ATTEST_BAD_REGISTRATION_ID, NULL, RC_SLOT_PRIMARY,
		    "the registration ID must be 1 to %d characters of "
		    "letters, digits, '.', '-', '_' and ':'",
		    RC_ATTEST_MAX_ID);
}

/* Thumbprints of every presented certificate, the leaf's also for res. */
static int
prepare(struct att *a)
{
	X509 *x;
	int i, rc;

	for (i = 0; i < a->n; i++) {
		if ((x = sk_X509_value(a->chain, i)) == NULL)
			return RC_EINVAL;
		if ((rc = rc_x509_thumbprint(x, 1, a->sha256[i],
		         sizeof(a->sha256[i]))) != RC_OK)
			return rc;
	}
	a->leaf = sk_X509_value(a->chain, 0);
	memcpy(a->res->leaf_sha256, a->sha256[0], sizeof(a->sha256[0]));
	return rc_x509_thumbprint(a->leaf, 0, a->res->leaf_sha1,
	    sizeof(a->res->leaf_sha1));
}

/* Rule 2 (S2, S13): CN = registration ID, byte for byte. */
static int
step_cn(struct att *a)
{
	char *cn = NULL, shown[RC_X509_MAX_CN * 4 + 1];
	int rc;

	rc = rc_x509_get1_cn(a->leaf, &cn);
	if (rc == RC_ENOMEM)
		return rc;
	if (rc != RC_OK) {
		decide(a, RC_ATTEST_CN_MISMATCH, NULL, RC_SLOT_PRIMARY,
		    "the certificate has no usable subject CN (%s); it must "
		    "equal the registration ID",
		    rc_strerror(rc));
		return RC_OK;
	}
	if (strcmp(cn, a->id) != 0) {
		decide(a, RC_ATTEST_CN_MISMATCH, NULL, RC_SLOT_PRIMARY,
		    "the registration ID does not equal the certificate's "
		    "subject CN (case-sensitive)");
		printable(cn, shown, sizeof(shown));
		note(a, "CN \"%s\", registration ID \"%s\"", shown, a->id);
	}
	rc_free(cn);
	return RC_OK;
}

/*
 * Rule 2b (S9): a blocklisted certificate anywhere on the presented chain
 * refuses, before any enrollment is looked at: a compromised CA must not
 * admit devices through a group that still names it, nor a compromised
 * leaf through an individual enrollment that still holds it.
 */
static int
is_blocked(const struct rc_attest_view *v, const char *sha256)
{
	size_t j;

	for (j = 0; j < v->nblocked; j++)
		if (rc_x509_thumbprint_eq(v->blocked[j], sha256))
			return 1;
	return 0;
}

static int
step_blocked(struct att *a)
{
	int i;

	for (i = 0; i < a->n; i++) {
		if (!is_blocked(a->view, a->sha256[i]))
			continue;
		decide(a, RC_ATTEST_BLOCKED, NULL, RC_SLOT_PRIMARY,
		    "the certificate has been revoked");
		note(a,
		    "the certificate at depth %d (SHA-256 %s) is on the "
		    "blocklist",
		    i, a->sha256[i]);
		break;
	}
	return RC_OK;
}

/*
 * Rule 3: the leaf's own validity, notBefore <= now < notAfter.  RFC 5280
 * §4.1.2.5 includes notAfter, but OpenSSL's path verification (rule 6)
 * does not; the leaf follows OpenSSL so that an individual and a group
 * enrollment agree on the same second.
 */
static int
step_validity(struct att *a)
{
	int nb, na;

	nb = ASN1_TIME_cmp_time_t(X509_get0_notBefore(a->leaf), a->now);
	na = ASN1_TIME_cmp_time_t(X509_get0_notAfter(a->leaf), a->now);
	if (nb == -2 || na == -2)
		decide(a, RC_ATTEST_CHAIN_INVALID, NULL, RC_SLOT_PRIMARY,
		    "the certificate's validity cannot be read");
	else if (nb > 0)
		decide(a, RC_ATTEST_NOT_YET_VALID, NULL, RC_SLOT_PRIMARY,
		    "the certificate is not yet valid");
	else if (na <= 0)
		decide(a, RC_ATTEST_EXPIRED, NULL, RC_SLOT_PRIMARY,
		    "the certificate has expired");
	return RC_OK;
}

static const struct rc_ca_cert *
find_ca(const struct rc_attest_view *v, const char *name)
{
	size_t i;

	for (i = 0; i < v->ncas; i++)
		if (v->cas[i] != NULL && v->cas[i]->name != NULL &&
		    v->cas[i]->cert != NULL &&
		    strcasecmp(v->cas[i]->name, name) == 0)
			return v->cas[i];
	return NULL;
}

/* The certificate a slot stands for: its own, or the referenced CA's. */
static const struct rc_store_cert *
slot_cert(const struct rc_attest_view *v, const struct rc_enrollment *e,
    enum rc_slot slot, const struct rc_ca_cert **ca)
{
	*ca = NULL;
	if (e->certs[slot] != NULL)
		return e->certs[slot];
	if (e->kind != RC_ENROLLMENT_GROUP || e->ca_refs[slot] == NULL ||
	    (*ca = find_ca(v, e->ca_refs[slot])) == NULL)
		return NULL;
	return (*ca)->cert;
}

/* S12 for one enrollment: decides if it is disabled and holds a cert. */
static void
held_disabled(struct att *a, const struct rc_enrollment *e)
{
	const struct rc_store_cert *c;
	const struct rc_ca_cert *ca;
	int slot, i;

	if (e == NULL || e->enabled)
		return;
	if (e->kind == RC_ENROLLMENT_INDIVIDUAL && e->id != NULL &&
	    strcasecmp(e->id, a->id) == 0)
		return;
	for (slot = 0; slot < RC_SLOT_COUNT && !a->decided; slot++) {
		if ((c = slot_cert(a->view, e, slot, &ca)) == NULL)
			continue;
		for (i = 0; i < a->n; i++) {
			if (!rc_x509_thumbprint_eq(c->sha256, a->sha256[i]))
				continue;
			decide(a, RC_ATTEST_DISABLED_CERT, e, slot,
			    "the certificate at depth %d is in a disabled "
			    "enrollment",
			    i);
			a->res->ca_name = ca != NULL ? ca->name : NULL;
			note(a,
			    "%s enrollment \"%s\" (disabled) holds it in "
			    "its %s slot",
			    kind_name(e), e->id, slot_names[slot]);
			break;
		}
	}
}

/* Rule 4 (S12). */
static int
step_disabled(struct att *a)
{
	const struct rc_attest_view *v = a->view;
	size_t i;

	for (i = 0; i < v->ngroups && !a->decided; i++)
		held_disabled(a, v->groups[i]);
	for (i = 0; i < v->nholders && !a->decided; i++)
		held_disabled(a, v->holders[i]);
	return RC_OK;
}

/* Rule 5 (S13, S6): the individual enrollment decides when there is one. */
static int
step_individual(struct att *a)
{
	const struct rc_enrollment *e = a->view->individual;
	int slot;

	if (e == NULL)
		return RC_OK;
	if (!e->enabled) {
		decide(a, RC_ATTEST_INDIVIDUAL_DISABLED, e, RC_SLOT_PRIMARY,
		    "the individual enrollment for this registration ID is "
		    "disabled");
		return RC_OK;
	}
	for (slot = 0; slot < RC_SLOT_COUNT; slot++) {
		if (e->certs[slot] != NULL &&
		    rc_x509_thumbprint_eq(e->certs[slot]->sha256,
		        a->sha256[0])) {
			decide(a, RC_ATTEST_OK, e, slot, "accepted");
			note(a, "individual enrollment \"%s\", %s slot", e->id,
			    slot_names[slot]);
			return RC_OK;
		}
	}
	decide(a, RC_ATTEST_INDIVIDUAL_NO_MATCH, e, RC_SLOT_PRIMARY,
	    "the certificate is neither the primary nor the secondary "
	    "certificate of the individual enrollment for this registration "
	    "ID");
	return RC_OK;
}

/*
 * issuer signed x: names chain and the signature verifies with its key.
 * An allocation failure inside X509_verify also reads as "not signed"
 * (OpenSSL 3 does not tell the two apart).
 */
static int
signed_by(X509 *x, X509 *issuer)
{
	EVP_PKEY *k;
	int ok;

	if (X509_NAME_cmp(X509_get_subject_name(issuer),
	        X509_get_issuer_name(x)) != 0 ||
	    (k = X509_get0_pubkey(issuer)) == NULL)
		return 0;
	ok = X509_verify(x, k) == 1;
	ERR_clear_error();
	return ok;
}

/*
 * The depth x takes on the presented chain: i if it is the certificate at
 * depth i, i + 1 if it signed it; the lowest such, -1 if none.
 */
static int
chain_depth(const struct att *a, X509 *x)
{
	X509 *y;
	int i;

	for (i = 0; i < a->n; i++) {
		y = sk_X509_value(a->chain, i);
		if (X509_cmp(x, y) == 0)
			return i;
		if (signed_by(y, x))
			return i + 1;
	}
	return -1;
}

/* Closer to the leaf wins; at the same depth a disabled group (S12). */
static int
better(const struct cand *c, const struct cand *best)
{
	if (best->x == NULL)
		return 1;
	if (c->depth != best->depth)
		return c->depth < best->depth;
	return !c->group->enabled && best->group->enabled;
}

/* Makes a group's slot the best candidate if it is on the chain and wins. */
static int
consider(struct att *a, const struct rc_enrollment *g, enum rc_slot slot,
    struct cand *best)
{
	const struct rc_store_cert *sc;
	struct cand c;
	int rc;

	memset(&c, 0, sizeof(c));
	if ((sc = slot_cert(a->view, g, slot, &c.ca)) == NULL)
		return RC_OK;
	c.sc = sc;
	if ((rc = rc_x509_parse(sc->der, sc->der_len, &c.x)) != RC_OK) {
		rc_log_warnx("attest: the %s certificate of group \"%s\" "
		             "cannot be read (%s)",
		    slot_names[slot], g->id, rc_strerror(rc));
		return rc;
	}
	c.group = g;
	c.slot = slot;
	if ((c.depth = chain_depth(a, c.x)) >= 0 && better(&c, best)) {
		X509_free(best->x);
		*best = c;
		return RC_OK;
	}
	X509_free(c.x);
	return RC_OK;
}

/* basicConstraints cA TRUE, and keyCertSign if keyUsage is present. */
static int
is_ca(X509 *x)
{
	uint32_t f = X509_get_extension_flags(x);

	if ((f & EXFLAG_INVALID) != 0 || (f & EXFLAG_BCONS) == 0 ||
	    (f & EXFLAG_CA) == 0)
		return 0;
	return (f & EXFLAG_KUSAGE) == 0 ||
	    (X509_get_key_usage(x) & KU_KEY_CERT_SIGN) != 0;
}

/* The leaf up to anchor, the other presented certificates in between. */
static int
verify_to(struct att *a, X509 *anchor, char *why, size_t whylen)
{
	STACK_OF(X509) *untrusted = NULL, *anchors = NULL;
	int i, rc = RC_ENOMEM;

	if ((untrusted = sk_X509_new_null()) == NULL ||
	    (anchors = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(anchors, anchor))
		goto out;
	for (i = 1; i < a->n; i++)
		if (!sk_X509_push(untrusted, sk_X509_value(a->chain, i)))
			goto out;
	rc = rc_x509_verify(a->leaf, untrusted, anchors, a->now, why, whylen);
out:
	sk_X509_free(untrusted);
	sk_X509_free(anchors);
	return rc;
}

static void
note_group(struct att *a, const struct cand *c, const char *why)
{
	note(a, "group \"%s\", %s slot%s%s%s, at depth %d%s%s", c->group->id,
	    slot_names[c->slot], c->ca != NULL ? ", CA \"" : "",
	    c->ca != NULL ? c->ca->name : "", c->ca != NULL ? "\"" : "",
	    c->depth, why[0] != '\0' ? ": " : "", why);
}

/* Rule 6 for the group that was found: it decides. */
static int
judge(struct att *a, const struct cand *c)
{
	const struct rc_enrollment *g = c->group;
	char why[256] = "";
	int rc = RC_OK;

	if (c->depth == 0)
		decide(a, RC_ATTEST_CHAIN_INVALID, g, c->slot,
		    "the certificate is enrolled as a group's signing "
		    "certificate, not as a device certificate");
	else if (!g->enabled)
		decide(a, RC_ATTEST_GROUP_DISABLED, g, c->slot,
		    "the enrollment group covering this certificate is "
		    "disabled");
	else if (is_blocked(a->view, c->sc->sha256))
		decide(a, RC_ATTEST_BLOCKED, g, c->slot,
		    "the certificate has been revoked");
	else if (c->ca != NULL && !c->ca->verified)
		decide(a, RC_ATTEST_CA_UNVERIFIED, g, c->slot,
		    "the enrollment group covering this certificate refers "
		    "to a CA certificate that is not verified");
	else if (!is_ca(c->x))
		decide(a, RC_ATTEST_CHAIN_INVALID, g, c->slot,
		    "the enrollment group's signing certificate is not a CA "
		    "(basicConstraints cA and keyCertSign)");
	else if ((rc = verify_to(a, c->x, why, sizeof(why))) == RC_ENOMEM)
		return rc;
	else if (rc != RC_OK)
		decide(a, RC_ATTEST_CHAIN_INVALID, g, c->slot,
		    "the certificate chain does not verify up to the "
		    "enrollment group's signing certificate: %s",
		    rc_strerror(rc));
	else
		decide(a, RC_ATTEST_OK, g, c->slot, "accepted");
	a->res->ca_name = c->ca != NULL ? c->ca->name : NULL;
	note_group(a, c, why);
	return RC_OK;
}

/* Rule 6 (S13, S7): the group nearest the leaf on the chain decides. */
static int
step_groups(struct att *a)
{
	const struct rc_attest_view *v = a->view;
	struct cand best;
	size_t i;
	int slot, rc = RC_OK;

	memset(&best, 0, sizeof(best));
	for (i = 0; i < v->ngroups && rc == RC_OK; i++) {
		if (v->groups[i] == NULL)
			continue;
		for (slot = 0; slot < RC_SLOT_COUNT && rc == RC_OK; slot++)
			rc = consider(a, v->groups[i], slot, &best);
	}
	if (rc == RC_OK && best.x != NULL)
		rc = judge(a, &best);
	X509_free(best.x);
	return rc;
}

static int
view_ok(const struct rc_attest_view *v, const char *id)
{
	const struct rc_enrollment *e = v->individual;

	return e == NULL ||
	    (e->kind == RC_ENROLLMENT_INDIVIDUAL && e->id != NULL &&
	        strcasecmp(e->id, id) == 0);
}

int
rc_attest(STACK_OF(X509) *chain, const char *registration_id, time_t now,
    const struct rc_attest_view *view, struct rc_attest_result *res)
{
	static int (*const steps[])(struct att *) = {step_cn, step_blocked,
	    step_validity, step_disabled, step_individual, step_groups};
	struct att a;
	size_t i;
	int rc = RC_OK;

	if (res != NULL)
		memset(res, 0, sizeof(*res));
	if (registration_id == NULL || view == NULL || res == NULL ||
	    !view_ok(view, registration_id))
		return RC_EINVAL;
	memset(&a, 0, sizeof(a));
	a.chain = chain;
	a.id = registration_id;
	a.now = now;
	a.view = view;
	a.res = res;
	step_shape(&a);
	if (!a.decided && (rc = prepare(&a)) != RC_OK)
		goto out;
	for (i = 0; i < NITEMS(steps) && !a.decided; i++)
		if ((rc = steps[i](&a)) != RC_OK)
			goto out;
	if (!a.decided)
		decide(&a, RC_ATTEST_NO_ENROLLMENT, NULL, RC_SLOT_PRIMARY,
		    "no enrollment covers this certificate");
out:
	if (rc != RC_OK)
		memset(res, 0, sizeof(*res));
	return rc;
}
