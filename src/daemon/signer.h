/*
 * The signer: the only process that holds the device CA's private key
 * (issue 5, DESIGN.md §3; OpenBSD acme-client's keyproc is the model).
 *
 * rollcalld forks it at startup, before any worker thread exists and
 * before privileges are dropped.  The child loads CA_DIR/ca.key
 * (rc_ca_load), refuses to be ptraced or dumped (PR_SET_DUMPABLE 0), keeps
 * only stderr for its log and one end of a socketpair, and then signs
 * CSRs, one request at a time, until the socket closes.  The parent never
 * reads the key.  The child trusts nothing a request says beyond the
 * expected CN and the validity: it parses and checks the CSR itself
 * (rc_csr_check) and caps the days at the maximum it was started with.
 *
 * Framing on the socketpair (all integers big-endian):
 *   request   u32 length, then u32 seconds, u16 cn length, cn,
 *             u32 csr length, csr DER;
 *   answer    u32 length, then u32 rc, u8 refused, u16 why length, why,
 *             u8 count, count x (u32 length, certificate DER).
 * The first answer, unasked, reports whether the CA loaded (count 0).
 * The chain in an answer is issuedCertificateChain's (azure-device-wire.md
 * §5): the new leaf first, then the CA's certificate, then its issuers,
 * ending at the root.
 */
#ifndef ROLLCALLD_SIGNER_H
#define ROLLCALLD_SIGNER_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "rollcall/err.h"

/* Most certificates in an answer (leaf, CA, its issuers). */
#define SIGNER_MAX_CHAIN 8
/* How long an answer may take before the signer is declared broken. */
#define SIGNER_TIMEOUT_MS 10000

struct signer;

struct signer_result {
	/*
	 * 1 when the CSR itself was refused (the device's fault: why is a
	 * message for the device naming the rule); 0 for the server's own
	 * failures (no signer, signer gone, CA unusable).
	 */
	int refused;
	char why[256];
	/* leaf first, ending at the root; the caller frees with
	 * sk_X509_pop_free(chain, X509_free) */
	STACK_OF(X509) *chain;
};

/*
 * Forks the signer for the CA in ca_dir; max_days (1..RC_CA_DAYS_MAX)
 * caps the validity of every certificate it issues and is the default.
 * Returns once the child has loaded the CA: rc_ca_load's error (logged by
 * the child with the reason) if it could not, RC_EIO if the child could
 * not be started or did not answer in time.  Call it while the process
 * has one thread.  The caller stops it with signer_stop.
 */
RC_MUST_CHECK int signer_start(const char *ca_dir, int max_days,
    struct signer **out);
/*
 * signer_start with the cap in seconds (RC_CA_SECS_MIN to RC_CA_DAYS_MAX
 * days): rollcalld's device-cert-validity, which may be as short as a
 * minute so that tests watch devices renew.
 */
RC_MUST_CHECK int signer_start_secs(const char *ca_dir, long max_secs,
    struct signer **out);

/*
 * Signs one CSR (DER, at most RC_CSR_MAX_INPUT bytes) whose CN must be
 * expect_cn, valid for days (0 or more than the maximum: the maximum).
 * Thread-safe: requests are serialised.  *res is cleared on entry; on
 * RC_OK res->chain holds the chain.  Otherwise the error, res->refused
 * and res->why say what happened: the CSR checks' codes (rc_csr_check,
 * RC_EPARSE, RC_ETRUNC, RC_ETOOBIG) with refused set; RC_EUNSUPPORTED
 * for a NULL signer (no device CA configured); RC_EIO when the signer
 * died, timed out or answered nonsense, after which it is stopped and
 * every later call fails the same way (it is not restarted: the key file
 * may no longer be readable after the privilege drop).
 */
RC_MUST_CHECK int signer_sign(struct signer *, const uint8_t *csr_der,
    size_t csr_len, const char *expect_cn, int days, struct signer_result *res);

/* Frees res->chain and clears *res; NULL-safe. */
void signer_result_clear(struct signer_result *);

/*
 * Closes the socket, waits for the child to exit (it finishes a request
 * in flight first), kills it if it does not within a few seconds, and
 * frees s.  NULL-safe.
 */
void signer_stop(struct signer *);

/* The child's pid, or -1 once it is gone. */
pid_t signer_pid(const struct signer *);

/*
 * The signer rollcalld runs, for the roles (the DPS assigner signs CSRs
 * through it): set once at startup before the workers start, cleared at
 * stop; NULL when no device CA is configured.
 */
void signer_set_running(struct signer *);
struct signer *signer_running(void);

#endif
