/*
 * The signer process (signer.h): real forks over test CAs made here, the
 * chain it returns, the CSR refusals it makes itself, the cap on days,
 * concurrent callers, and what happens when the child dies.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "rctest.h"
#include "rollcall/ca.h"
#include "rollcall/csr.h"
#include "rollcall/key.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"
#include "rollcall/x509.h"
#include "signer.h"

static struct rc_ca *root, *inter;
static char root_dir[512], inter_dir[512];
static EVP_PKEY *dev_key;

/* DER of a CSR for cn under key. */
static uint8_t *
csr_der(EVP_PKEY *key, const char *cn, size_t *len)
{
	X509_REQ *req;
	uint8_t *der;

	assert_int_equal(rc_csr_new(key, cn, &req), RC_OK);
	assert_int_equal(rc_csr_to_der(req, &der, len), RC_OK);
	X509_REQ_free(req);
	return der;
}

static int
sign_cn(struct signer *s, const char *csr_cn, const char *cn, int days,
    struct signer_result *res)
{
	uint8_t *der;
	size_t len;
	int rc;

	der = csr_der(dev_key, csr_cn, &len);
	rc = signer_sign(s, der, len, cn, days, res);
	rc_free(der);
	return rc;
}

static int64_t
lifetime_days(X509 *x)
{
	int days, secs;

	assert_true(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x),
	    X509_get0_notAfter(x)));
	return days;
}

static void
test_chain(void **state)
{
	struct signer_result res;
	STACK_OF(X509) *untrusted, *anchors;
	struct signer *s;
	char *cn, why[256];
	X509 *leaf;

	(void)state;
	assert_int_equal(signer_start(inter_dir, 30, &s), RC_OK);
	assert_true(signer_pid(s) > 0);
	assert_int_equal(sign_cn(s, "dev-1", "dev-1", 0, &res), RC_OK);
	assert_int_equal(res.refused, 0);
	assert_string_equal(res.why, "");
	/* leaf, intermediate, root: issuedCertificateChain's order */
	assert_int_equal(sk_X509_num(res.chain), 3);
	leaf = sk_X509_value(res.chain, 0);
	assert_int_equal(rc_x509_get1_cn(leaf, &cn), RC_OK);
	assert_string_equal(cn, "dev-1");
	rc_free(cn);
	assert_int_equal(X509_cmp(sk_X509_value(res.chain, 1), inter->cert), 0);
	assert_int_equal(X509_cmp(sk_X509_value(res.chain, 2), root->cert), 0);
	untrusted = sk_X509_new_null();
	anchors = sk_X509_new_null();
	assert_true(sk_X509_push(untrusted, sk_X509_value(res.chain, 1)));
	assert_true(sk_X509_push(anchors, sk_X509_value(res.chain, 2)));
	assert_int_equal(rc_x509_verify(leaf, untrusted, anchors, time(NULL),
	                     why, sizeof(why)),
	    RC_OK);
	sk_X509_free(untrusted);
	sk_X509_free(anchors);
	assert_int_equal(lifetime_days(leaf), 30);
	signer_result_clear(&res);
	assert_null(res.chain);
	signer_stop(s);
}

static void
test_root_and_days(void **state)
{
	struct signer_result res;
	struct signer *s;

	(void)state;
	assert_int_equal(signer_start(root_dir, 20, &s), RC_OK);
	assert_int_equal(sign_cn(s, "dev-2", "dev-2", 5, &res), RC_OK);
	assert_int_equal(sk_X509_num(res.chain), 2);
	assert_int_equal(X509_cmp(sk_X509_value(res.chain, 1), root->cert), 0);
	assert_int_equal(lifetime_days(sk_X509_value(res.chain, 0)), 5);
	signer_result_clear(&res);
	/* the child caps what it is asked for */
	assert_int_equal(sign_cn(s, "dev-2", "dev-2", 21, &res), RC_OK);
	assert_int_equal(lifetime_days(sk_X509_value(res.chain, 0)), 20);
	signer_result_clear(&res);
	assert_int_equal(sign_cn(s, "dev-2", "dev-2", -3, &res), RC_OK);
	assert_int_equal(lifetime_days(sk_X509_value(res.chain, 0)), 20);
	signer_result_clear(&res);
	signer_stop(s);
}

/* device-cert-validity: a cap in seconds, a minute at the least. */
static void
test_seconds(void **state)
{
	struct signer_result res;
	struct signer *s;
	int days, secs;
	X509 *leaf;

	(void)state;
	assert_int_equal(signer_start_secs(root_dir, RC_CA_SECS_MIN - 1, &s),
	    RC_EINVAL);
	assert_int_equal(signer_start_secs(root_dir, 90, &s), RC_OK);
	assert_int_equal(sign_cn(s, "dev-3", "dev-3", 0, &res), RC_OK);
	leaf = sk_X509_value(res.chain, 0);
	/* notBefore is back-dated by a tenth of so short a lifetime */
	assert_true(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(leaf),
	    X509_get0_notAfter(leaf)));
	assert_int_equal(days, 0);
	assert_int_equal(secs, 90 + 9);
	signer_result_clear(&res);
	/* a request in days is capped to the seconds */
	assert_int_equal(sign_cn(s, "dev-3", "dev-3", 2, &res), RC_OK);
	assert_int_equal(lifetime_days(sk_X509_value(res.chain, 0)), 0);
	signer_result_clear(&res);
	signer_stop(s);
}

static void
expect_refused(struct signer *s, const uint8_t *der, size_t len, const char *cn,
    int want, const char *why_has)
{
	struct signer_result res;

	assert_int_equal(signer_sign(s, der, len, cn, 0, &res), want);
	assert_int_equal(res.refused, 1);
	assert_null(res.chain);
	if (strstr(res.why, why_has) == NULL)
		fail_msg("why \"%s\" does not say \"%s\"", res.why, why_has);
}

static int
parse_rc(const void *p, size_t len)
{
	X509_REQ *req;
	int rc;

	rc = rc_csr_parse(p, len, &req);
	assert_int_not_equal(rc, RC_OK);
	return rc;
}

static void
test_refusals(void **state)
{
	struct signer_result res;
	struct signer *s;
	EVP_PKEY *weak;
	X509_REQ *req;
	uint8_t *der, *big;
	size_t len;

	(void)state;
	assert_int_equal(signer_start(inter_dir, 30, &s), RC_OK);
	der = csr_der(dev_key, "dev-3", &len);
	expect_refused(s, der, len, "DEV-3", RC_EINVAL,
	    "not the registration ID");
	/* a flipped bit in the signature */
	der[len - 1] ^= 0x01;
	expect_refused(s, der, len, "dev-3", RC_EBADSIG, "signature");
	/* the child reports what rc_csr_parse says */
	expect_refused(s, der, len - 1, "dev-3", parse_rc(der, len - 1),
	    "not a PKCS#10");
	expect_refused(s, (const uint8_t *)"\x30\x03garbage", 10, "dev-3",
	    parse_rc("\x30\x03garbage", 10), "not a PKCS#10");
	expect_refused(s, (const uint8_t *)"garbage", 7, "dev-3",
	    parse_rc("garbage", 7), "not a PKCS#10");
	expect_refused(s, der, 0, "dev-3", RC_EINVAL, "empty");
	expect_refused(s, NULL, 5, "dev-3", RC_EINVAL, "empty");
	big = rc_calloc(1, RC_CSR_MAX_INPUT + 1);
	expect_refused(s, big, RC_CSR_MAX_INPUT + 1, "dev-3", RC_ETOOBIG,
	    "larger");
	rc_free(big);
	expect_refused(s, der, len, "", RC_EINVAL, "cannot be a CN");
	rc_free(der);
	weak = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	assert_non_null(weak);
	req = X509_REQ_new();
	assert_true(X509_NAME_add_entry_by_NID(X509_REQ_get_subject_name(req),
	    NID_commonName, MBSTRING_UTF8, (const unsigned char *)"dev-3", -1,
	    -1, 0));
	assert_true(X509_REQ_set_pubkey(req, weak));
	assert_true(X509_REQ_sign(req, weak, EVP_sha256()) > 0);
	assert_int_equal(rc_csr_to_der(req, &der, &len), RC_OK);
	expect_refused(s, der, len, "dev-3", RC_EUNSUPPORTED, "RSA-1024");
	rc_free(der);
	X509_REQ_free(req);
	EVP_PKEY_free(weak);
	/* still serving after all that */
	assert_int_equal(sign_cn(s, "dev-3", "dev-3", 0, &res), RC_OK);
	signer_result_clear(&res);
	signer_stop(s);
}

static void
test_no_signer(void **state)
{
	struct signer_result res;
	struct signer *s = (struct signer *)&res;

	(void)state;
	assert_int_equal(sign_cn(NULL, "dev-4", "dev-4", 0, &res),
	    RC_EUNSUPPORTED);
	assert_int_equal(res.refused, 0);
	assert_non_null(strstr(res.why, "no device CA"));
	assert_int_equal(signer_start(rctest_path(rctest_tmpdir(), "none"), 30,
	                     &s),
	    RC_ENOENT);
	assert_null(s);
	assert_int_equal(signer_start(NULL, 30, &s), RC_EINVAL);
	assert_int_equal(signer_start(root_dir, 0, &s), RC_EINVAL);
	assert_int_equal(signer_start(root_dir, RC_CA_DAYS_MAX + 1, &s),
	    RC_EINVAL);
	assert_null(s);
	signer_stop(NULL);
	signer_result_clear(NULL);
	assert_int_equal(signer_pid(NULL), -1);
	assert_null(signer_running());
	signer_set_running(s);
}

static void
test_child_dies(void **state)
{
	struct signer_result res;
	struct signer *s;

	(void)state;
	assert_int_equal(signer_start(root_dir, 30, &s), RC_OK);
	assert_int_equal(kill(signer_pid(s), SIGKILL), 0);
	assert_int_equal(sign_cn(s, "dev-5", "dev-5", 0, &res), RC_EIO);
	assert_int_equal(res.refused, 0);
	assert_null(res.chain);
	assert_non_null(strstr(res.why, "signer process"));
	/* reaped, and reported the same way from then on */
	assert_int_equal(signer_pid(s), -1);
	assert_int_equal(sign_cn(s, "dev-5", "dev-5", 0, &res), RC_EIO);
	assert_non_null(strstr(res.why, "gone"));
	signer_stop(s);
}

/* The child holds stdin, stdout, stderr and the socket, nothing else. */
static void
test_child_fds(void **state)
{
	struct signer *s;
	struct dirent *de;
	char path[64];
	DIR *d;
	int n = 0;

	(void)state;
	assert_int_equal(signer_start(root_dir, 30, &s), RC_OK);
	signer_set_running(s);
	assert_ptr_equal(signer_running(), s);
	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)signer_pid(s));
	/* not dumpable: its /proc entries belong to root */
	if ((d = opendir(path)) == NULL) {
		assert_int_equal(errno, EACCES);
	} else {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				n++;
		closedir(d);
		assert_int_equal(n, 4);
	}
	signer_set_running(NULL);
	signer_stop(s);
}

#define NTHREADS 4
#define PER_THREAD 4

struct worker {
	struct signer *s;
	char serials[PER_THREAD][80];
	int fails;
};

static void *
worker(void *p)
{
	struct worker *w = p;
	struct signer_result res;
	struct rc_cert_info info;
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		if (sign_cn(w->s, "dev-6", "dev-6", 0, &res) != RC_OK ||
		    rc_x509_info(sk_X509_value(res.chain, 0), &info) != RC_OK) {
			w->fails++;
			signer_result_clear(&res);
			continue;
		}
		snprintf(w->serials[i], sizeof(w->serials[i]), "%s",
		    info.serial);
		rc_x509_info_clear(&info);
		signer_result_clear(&res);
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS];
	struct signer *s;
	int i, j, k, l;

	(void)state;
	assert_int_equal(signer_start(inter_dir, 30, &s), RC_OK);
	memset(w, 0, sizeof(w));
	for (i = 0; i < NTHREADS; i++) {
		w[i].s = s;
		assert_int_equal(pthread_create(&t[i], NULL, worker, &w[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (i = 0; i < NTHREADS; i++) {
		assert_int_equal(w[i].fails, 0);
		for (j = 0; j < PER_THREAD; j++)
			for (k = i; k < NTHREADS; k++)
				for (l = k == i ? j + 1 : 0; l < PER_THREAD;
				     l++)
					assert_string_not_equal(w[i].serials[j],
					    w[k].serials[l]);
	}
	signer_stop(s);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(root_dir, sizeof(root_dir), "%s",
	    rctest_path(rctest_tmpdir(), "root"));
	snprintf(inter_dir, sizeof(inter_dir), "%s",
	    rctest_path(rctest_tmpdir(), "inter"));
	if (rc_ca_new_root("signer test root", RC_KEY_P256, 60, &root) !=
	        RC_OK ||
	    rc_ca_new_intermediate(root, "signer test devices", RC_KEY_P384, 50,
	        &inter) != RC_OK ||
	    rc_ca_save(root, root_dir, 0) != RC_OK ||
	    rc_ca_save(inter, inter_dir, 0) != RC_OK ||
	    rc_key_gen(RC_KEY_P256, &dev_key) != RC_OK)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	rc_ca_free(root);
	rc_ca_free(inter);
	EVP_PKEY_free(dev_key);
	rctest_rmtree(rctest_tmpdir());
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chain),
	    cmocka_unit_test(test_root_and_days),
	    cmocka_unit_test(test_seconds),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_no_signer),
	    cmocka_unit_test(test_child_dies),
	    cmocka_unit_test(test_child_fds),
	    cmocka_unit_test(test_threads),
	};

	rc_log_init("test_daemon_signer", 1, 0);
	return cmocka_run_group_tests(tests, setup, teardown);
}
