/*
 * The registration engine's operations (prov.h): intake, attestation,
 * the operation table, the assigner threads and the answers.
 *
 * Locking: one mutex guards the table, the queue and every op's state.
 * An op being assigned is owned by its assigner (state OP_QUEUED, off the
 * queue) until it sets the outcome under the lock; an op is freed only
 * under the lock, and only once it is finished, so a poll never sees one
 * half-done.
 *
 * Bounds: at most OP_MAX operations exist for MQTT devices; past that a
 * register is answered 429 + retry-after, which every MQTT SDK retries.
 * node's HTTPS client takes any status >= 300 as final, so HTTPS devices
 * are still queued (and told to wait longer) up to OP_MAX_HTTPS, and only
 * then refused with 503.  The queue is the registration rate limit: the
 * assigners work at the pace the hubs allow, and retry-after grows with
 * the queue (RETRY_PER_QUEUED).  Finished operations are kept OP_TTL
 * seconds for the device's last poll.
 */
#include <string.h>
#include <strings.h>

#include <openssl/x509.h>

#include "prov_int.h"
#include "rollcall/csr.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"
#include "rollcall/x509.h"

#define OP_MAX 100000
#define OP_MAX_HTTPS (2 * OP_MAX)
#define OP_TTL 600
/* One more second of retry-after per this many queued operations. */
#define RETRY_PER_QUEUED 200
#define RETRY_AFTER_MAX 60
#define RETRY_AFTER_DEFAULT 2
#define ASSIGNERS_DEFAULT 8

/* Extended error codes (reference/azure-device-wire.md §4). */
#define E_BAD_REQUEST 400001
#define E_NOT_FOUND 404001
#define E_UNAUTHORIZED 401002
#define E_BUSY 429001
#define E_FULL 503001
#define E_INTERNAL 500001

uint32_t
dps_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static unsigned
bucket_of(const char *id)
{
	return dps_hash(id) % OP_BUCKETS;
}

static void
op_free(struct op *op)
{
	size_t i;

	if (op == NULL)
		return;
	if (op->chain != NULL)
		sk_X509_pop_free(op->chain, X509_free);
	rc_attest_view_free(&op->view);
	json_decref(op->payload);
	rc_free(op->csr);
	rc_registration_free(op->rec);
	for (i = 0; i < op->nissued; i++)
		rc_free(op->issued[i]);
	rc_free(op->issued);
	rc_free(op);
}

/* Drops finished operations older than OP_TTL.  Lock held. */
static void
expire(struct dps_prov *p, time_t now)
{
	struct op *op, *next;

	for (op = TAILQ_FIRST(&p->ages); op != NULL; op = next) {
		next = TAILQ_NEXT(op, age);
		if (op->state == OP_QUEUED || now - op->finished < OP_TTL)
			continue;
		LIST_REMOVE(op, bucket);
		LIST_REMOVE(op, rbucket);
		TAILQ_REMOVE(&p->ages, op, age);
		p->nops--;
		op_free(op);
	}
}

/* Lock held. */
static struct op *
find(struct dps_prov *p, const char *id)
{
	struct op *op;

	LIST_FOREACH(op, &p->ops[bucket_of(id)], bucket)
	if (strcmp(op->id, id) == 0)
		return op;
	return NULL;
}

/* The operation still in the works for this device, if any.  Lock held. */
static struct op *
find_queued(struct dps_prov *p, const char *regid, const char *leaf_sha256)
{
	struct op *op;

	LIST_FOREACH(op, &p->regs[bucket_of(regid)], rbucket)
	if (op->state == OP_QUEUED && strcmp(op->regid, regid) == 0 &&
	    strcmp(op->res.leaf_sha256, leaf_sha256) == 0)
		return op;
	return NULL;
}

/* Seconds a device should wait before it polls.  Lock held. */
static int
retry_after(const struct dps_prov *p)
{
	size_t n = (size_t)p->retry_after + p->nqueued / RETRY_PER_QUEUED;

	return n > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : (int)n;
}

static void *
assigner_main(void *arg)
{
	struct dps_prov *p = arg;
	struct op *op;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stopping && TAILQ_EMPTY(&p->queue))
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stopping)
			break;
		op = TAILQ_FIRST(&p->queue);
		TAILQ_REMOVE(&p->queue, op, queue);
		p->nqueued--;
		pthread_mutex_unlock(&p->mu);
		assign_run(p, op);
		pthread_mutex_lock(&p->mu);
		op->state = op->rec != NULL && op->error_code == 0 ? OP_ASSIGNED
		                                                   : OP_FAILED;
		op->finished = time(NULL);
		/* The inputs are not needed any more; the outcome stays. */
		sk_X509_pop_free(op->chain, X509_free);
		op->chain = NULL;
		rc_attest_view_free(&op->view);
		op->res.enrollment = NULL;
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int
dps_prov_new(const struct dps_prov_config *cfg, struct rc_store *store,
    struct dps_prov **out)
{
	struct dps_prov *p;
	size_t i, n;
	int e;

	*out = NULL;
	if (cfg->id_scope == NULL)
		return RC_EINVAL;
	if ((p = rc_calloc(1, sizeof(*p))) == NULL ||
	    (p->id_scope = rc_strdup(cfg->id_scope)) == NULL) {
		rc_free(p);
		return RC_ENOMEM;
	}
	p->store = store;
	p->links = cfg->links;
	p->nlinks = cfg->nlinks;
	p->sign = cfg->sign;
	p->sign_arg = cfg->sign_arg;
	p->retry_after =
	    cfg->retry_after > 0 ? cfg->retry_after : RETRY_AFTER_DEFAULT;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	for (i = 0; i < OP_BUCKETS; i++) {
		LIST_INIT(&p->ops[i]);
		LIST_INIT(&p->regs[i]);
	}
	TAILQ_INIT(&p->queue);
	TAILQ_INIT(&p->ages);
	n = cfg->assigners > 0    ? (size_t)cfg->assigners
	    : cfg->assigners == 0 ? ASSIGNERS_DEFAULT
	                          : 0;
	if ((p->threads = rc_calloc(n + 1, sizeof(*p->threads))) == NULL) {
		dps_prov_free(p);
		return RC_ENOMEM;
	}
	for (i = 0; i < n; i++) {
		if ((e = pthread_create(&p->threads[i], NULL, assigner_main,
		         p)) != 0) {
			rc_log_warnx("dps: cannot start an assigner: %s",
			    strerror(e));
			dps_prov_free(p);
			return RC_ENOMEM;
		}
		p->nthreads++;
	}
	*out = p;
	return RC_OK;
}

void
dps_prov_free(struct dps_prov *p)
{
	struct op *op;
	size_t i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	while ((op = TAILQ_FIRST(&p->ages)) != NULL) {
		TAILQ_REMOVE(&p->ages, op, age);
		op_free(op);
	}
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	rc_free(p->threads);
	rc_free(p->id_scope);
	rc_free(p);
}

const char *
dps_prov_id_scope(const struct dps_prov *p)
{
	return p->id_scope;
}

void
dps_answer_free(struct dps_answer *a)
{
	json_decref(a->body);
	memset(a, 0, sizeof(*a));
}

void
dps_answer_error(struct dps_answer *a, int code, const char *message)
{
	memset(a, 0, sizeof(*a));
	a->status = code / 1000;
	if (rc_dpswire_error_json(code, message, NULL, time(NULL), &a->body) !=
	    RC_OK) {
		a->status = 500;
		a->body = json_object();
	}
	if (code == E_BUSY || code == E_FULL)
		a->retry_after = RETRY_AFTER_MAX;
}

static void
answer_op(struct dps_answer *a, const char *opid, enum rc_dpswire_status st,
    const struct rc_dpswire_state *state, int status, int retry_after)
{
	memset(a, 0, sizeof(*a));
	if (rc_dpswire_op_json(opid, st, state, &a->body) != RC_OK) {
		dps_answer_error(a, E_INTERNAL,
		    "the answer could not be built");
		return;
	}
	a->status = status;
	a->retry_after = retry_after;
}

/*
 * A CSR in a register body must be one the CA would sign: refused here,
 * before anything is queued, with the reason (the signer checks again).
 */
static int
csr_ok(const uint8_t *der, size_t len, const char *regid, char *why,
    size_t whysize)
{
	X509_REQ *req = NULL;
	int rc;

	if ((rc = rc_csr_parse(der, len, &req)) != RC_OK) {
		snprintf(why, whysize, "csr: not a DER PKCS#10 request");
		return rc;
	}
	rc = rc_csr_check(req, regid, why, whysize);
	X509_REQ_free(req);
	return rc;
}

/* Takes what the op needs from reg and view; they are left empty. */
static struct op *
op_new(struct dps_prov *p, STACK_OF(X509) *chain, const char *regid,
    struct rc_dpswire_register *reg, struct rc_attest_view *view,
    const struct rc_attest_result *res)
{
	struct op *op;

	if ((op = rc_calloc(1, sizeof(*op))) == NULL)
		return NULL;
	if (rc_dpswire_opid_new(op->id) != RC_OK ||
	    (op->chain = X509_chain_up_ref(chain)) == NULL) {
		op_free(op);
		return NULL;
	}
	(void)p;
	snprintf(op->regid, sizeof(op->regid), "%s", regid);
	op->view = *view;
	memset(view, 0, sizeof(*view));
	op->res = *res;
	op->payload = reg->payload;
	reg->payload = NULL;
	op->csr = reg->csr;
	op->csr_len = reg->csr_len;
	reg->csr = NULL;
	return op;
}

void
dps_prov_register(struct dps_prov *p, enum dps_transport tr,
    STACK_OF(X509) *chain, const char *regid, const uint8_t *body, size_t len,
    struct dps_answer *a)
{
	struct rc_dpswire_register *reg = NULL;
	struct op *dup;
	struct rc_attest_view view;
	struct rc_attest_result res;
	char why[RC_DPSWIRE_WHY_SIZE];
	struct op *op = NULL;
	int rc;

	memset(&view, 0, sizeof(view));
	if (chain == NULL || sk_X509_num(chain) == 0) {
		dps_answer_error(a, E_UNAUTHORIZED,
		    "a client certificate is required (X.509 attestation)");
		return;
	}
	if (rc_dpswire_register_parse(body, len, regid, &reg, why,
	        sizeof(why)) != RC_OK) {
		dps_answer_error(a, E_BAD_REQUEST, why);
		return;
	}
	if ((rc = rc_attest_gather(p->store, chain, regid, &view)) != RC_OK) {
		rc_log_warnx("dps: %s: reading enrollments: %s", regid,
		    rc_strerror(rc));
		dps_answer_error(a, E_INTERNAL,
		    "the enrollments could not be read");
		goto out;
	}
	if ((rc = rc_attest(chain, regid, time(NULL), &view, &res)) != RC_OK) {
		dps_answer_error(a, E_INTERNAL, "attestation failed");
		goto out;
	}
	if (res.reason != RC_ATTEST_OK) {
		rc_log_info("dps: %s: refused (%s): %s", regid,
		    rc_attest_reason_name(res.reason), res.detail);
		dps_answer_error(a, E_UNAUTHORIZED, res.message);
		goto out;
	}
	if (reg->csr != NULL &&
	    csr_ok(reg->csr, reg->csr_len, regid, why, sizeof(why)) != RC_OK) {
		rc_log_info("dps: %s: CSR refused: %s", regid, why);
		dps_answer_error(a, E_BAD_REQUEST, why);
		goto out;
	}
	if ((op = op_new(p, chain, regid, reg, &view, &res)) == NULL) {
		dps_answer_error(a, E_INTERNAL, "out of memory");
		goto out;
	}
	pthread_mutex_lock(&p->mu);
	expire(p, time(NULL));
	if ((dup = find_queued(p, regid, res.leaf_sha256)) != NULL) {
		answer_op(a, dup->id, RC_DPSWIRE_ASSIGNING, NULL, 202,
		    retry_after(p));
		pthread_mutex_unlock(&p->mu);
		goto out;
	}
	if (p->nops >= (tr == DPS_MQTT ? OP_MAX : OP_MAX_HTTPS)) {
		pthread_mutex_unlock(&p->mu);
		rc_log_warnx("dps: %s: %zu registrations in progress, refusing",
		    regid, p->nops);
		if (tr == DPS_MQTT)
			dps_answer_error(a, E_BUSY,
			    "too many registrations in progress");
		else
			dps_answer_error(a, E_FULL,
			    "too many registrations in progress");
		goto out;
	}
	LIST_INSERT_HEAD(&p->ops[bucket_of(op->id)], op, bucket);
	LIST_INSERT_HEAD(&p->regs[bucket_of(op->regid)], op, rbucket);
	TAILQ_INSERT_TAIL(&p->ages, op, age);
	TAILQ_INSERT_TAIL(&p->queue, op, queue);
	p->nops++;
	p->nqueued++;
	pthread_cond_signal(&p->cv);
	rc_log_info("dps: %s: attested (%s %s), operation %s", regid,
	    res.enrollment->kind == RC_ENROLLMENT_GROUP ? "group"
	                                                : "enrollment",
	    res.enrollment->id, op->id);
	answer_op(a, op->id, RC_DPSWIRE_ASSIGNING, NULL, 202, retry_after(p));
	op = NULL;
	pthread_mutex_unlock(&p->mu);
out:
	op_free(op);
	rc_attest_view_free(&view);
	rc_dpswire_register_free(reg);
}

/* The registrationState of a finished op.  Lock held. */
static void
answer_done(const struct op *op, struct dps_answer *a)
{
	const struct rc_registration *r = op->rec;
	struct rc_dpswire_state st;

	memset(&st, 0, sizeof(st));
	st.registration_id = op->regid;
	if (r != NULL) {
		st.created = (time_t)r->created;
		st.updated = (time_t)r->updated;
		st.etag = r->etag;
		st.substatus = r->substatus;
		st.enrollment_group_id = r->enrollment_group_id;
		st.assigned_hub = r->assigned_hub;
		st.device_id = r->device_id;
	}
	if (op->state == OP_FAILED) {
		st.error_code =
		    op->error_code != 0 ? op->error_code : E_INTERNAL;
		st.error_message = op->error_message;
		st.assigned_hub = NULL;
		st.device_id = NULL;
		answer_op(a, op->id, RC_DPSWIRE_FAILED, &st, 200, 0);
		return;
	}
	st.issued_chain = (const char *const *)op->issued;
	st.nissued = op->nissued;
	answer_op(a, op->id, RC_DPSWIRE_ASSIGNED, &st, 200, 0);
}

/*
 * No such operation (a restart, or expired): the registration record
 * answers when it was assigned to this very certificate.
 */
static void
answer_from_record(struct dps_prov *p, STACK_OF(X509) *chain, const char *regid,
    const char *opid, struct dps_answer *a)
{
	struct rc_registration *r = NULL;
	struct rc_dpswire_state st;
	char sha[65];

	if (rc_x509_thumbprint(sk_X509_value(chain, 0), 1, sha, sizeof(sha)) !=
	        RC_OK ||
	    rc_store_registration_get(p->store, regid, &r) != RC_OK ||
	    strcmp(r->status, "assigned") != 0 ||
	    !rc_x509_thumbprint_eq(r->cert_sha256, sha)) {
		rc_registration_free(r);
		dps_answer_error(a, E_NOT_FOUND, "no such operation");
		return;
	}
	memset(&st, 0, sizeof(st));
	st.registration_id = r->registration_id;
	st.created = (time_t)r->created;
	st.updated = (time_t)r->updated;
	st.etag = r->etag;
	st.substatus = r->substatus;
	st.enrollment_group_id = r->enrollment_group_id;
	st.assigned_hub = r->assigned_hub;
	st.device_id = r->device_id;
	answer_op(a, opid, RC_DPSWIRE_ASSIGNED, &st, 200, 0);
	rc_registration_free(r);
}

void
dps_prov_poll(struct dps_prov *p, STACK_OF(X509) *chain, const char *regid,
    const char *opid, struct dps_answer *a)
{
	char cn[RC_DPSWIRE_REGID_MAX + 1], *leaf_cn = NULL;
	struct op *op;

	if (chain == NULL || sk_X509_num(chain) == 0) {
		dps_answer_error(a, E_UNAUTHORIZED,
		    "a client certificate is required (X.509 attestation)");
		return;
	}
	/* Only the device an operation is for may read it. */
	if (rc_x509_get1_cn(sk_X509_value(chain, 0), &leaf_cn) != RC_OK ||
	    strcmp(leaf_cn, regid) != 0) {
		rc_free(leaf_cn);
		dps_answer_error(a, E_UNAUTHORIZED,
		    "the certificate's CN is not the registration ID");
		return;
	}
	rc_free(leaf_cn);
	snprintf(cn, sizeof(cn), "%s", regid);
	pthread_mutex_lock(&p->mu);
	if ((op = find(p, opid)) == NULL || strcmp(op->regid, cn) != 0) {
		pthread_mutex_unlock(&p->mu);
		answer_from_record(p, chain, regid, opid, a);
		return;
	}
	op->last_poll = time(NULL);
	if (op->state == OP_QUEUED)
		answer_op(a, op->id, RC_DPSWIRE_ASSIGNING, NULL, 202,
		    retry_after(p));
	else
		answer_done(op, a);
	pthread_mutex_unlock(&p->mu);
}
