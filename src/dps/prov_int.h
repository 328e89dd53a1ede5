/*
 * Internals of the registration engine shared by prov.c (operations,
 * answers) and assign.c (what an assigner thread does for one).
 */
#ifndef ROLLCALL_DPS_PROV_INT_H
#define ROLLCALL_DPS_PROV_INT_H

#include <sys/queue.h>

#include <pthread.h>
#include <time.h>

#include "dps/prov.h"
#include "rollcall/attest.h"
#include "rollcall/dpswire.h"

enum op_state { OP_QUEUED, OP_ASSIGNED, OP_FAILED };

struct op {
	char id[RC_DPSWIRE_OPID_SIZE];
	char regid[RC_DPSWIRE_REGID_MAX + 1];
	enum op_state state;
	time_t finished; /* 0 while queued */
	time_t last_poll;
	/* Inputs, dropped once assigned. */
	STACK_OF(X509) *chain;
	struct rc_attest_view view;
	struct rc_attest_result res;
	json_t *payload;
	uint8_t *csr;
	size_t csr_len;
	/* Outcome: the registration record, and the chain issued for a CSR. */
	struct rc_registration *rec;
	char **issued; /* base64 DER, leaf first */
	size_t nissued;
	int error_code;
	char error_message[256];
	LIST_ENTRY(op) bucket; /* by id */
	LIST_ENTRY(op) rbucket; /* by registration ID */
	TAILQ_ENTRY(op) queue;
	TAILQ_ENTRY(op) age;
};

#define OP_BUCKETS 4096

struct dps_prov {
	char *id_scope;
	struct rc_store *store;
	struct rc_hublink *const *links;
	size_t nlinks;
	dps_sign_fn *sign;
	void *sign_arg;
	int retry_after;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	LIST_HEAD(, op) ops[OP_BUCKETS];
	LIST_HEAD(, op) regs[OP_BUCKETS];
	TAILQ_HEAD(, op) queue; /* waiting for an assigner */
	TAILQ_HEAD(, op) ages; /* every op, oldest first */
	size_t nops;
	size_t nqueued;
	int stopping;
	pthread_t *threads;
	size_t nthreads;
};

/* FNV-1a of a string: operation table buckets, hashed allocation. */
uint32_t dps_hash(const char *);

/*
 * Runs the assignment of op (an assigner thread, no lock held): fills
 * op->rec or op->error_code / error_message.
 */
void assign_run(struct dps_prov *, struct op *);

#endif
