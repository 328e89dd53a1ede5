/*
 * Durability (store.h, DESIGN.md §5): a change the store acknowledged
 * survives kill -9.  A child process puts enrollments in a loop and writes
 * the number of each acknowledged one to a pipe; the parent kills it with
 * SIGKILL at a moment of the child's choosing (mid-write, most likely),
 * reopens the store and checks that every acknowledged enrollment is there
 * and that the audit chain still verifies.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rctest.h"
#include "rollcall/mem.h"
#include "rollcall/store.h"

#define ACKS_BEFORE_KILL 200
#define MAX_ACKS 100000

static const struct rc_store_ctx owner = {"iothubowner", NULL};

static struct rc_enrollment *
make(uint32_t i)
{
	struct rc_enrollment *e;
	struct rc_store_cert *c;

	if ((e = rc_enrollment_new(RC_ENROLLMENT_INDIVIDUAL)) == NULL ||
	    (e->id = rc_calloc(1, 32)) == NULL ||
	    (c = e->certs[0] = rc_calloc(1, sizeof(*c))) == NULL ||
	    (c->der = rc_malloc(4)) == NULL)
		_exit(3);
	snprintf(e->id, 32, "dev-%u", i);
	memcpy(c->der, &i, 4);
	c->der_len = 4;
	snprintf(c->sha1, sizeof(c->sha1), "%040X", i);
	snprintf(c->sha256, sizeof(c->sha256), "%064X", i);
	return e;
}

/* The child: no cmocka here, only _exit with a code. */
static void
child(const char *uri, int ack)
{
	struct rc_enrollment *e, *out;
	struct rc_store *s;
	uint32_t i;

	if (rc_store_open(uri, &s) != RC_OK)
		_exit(2);
	for (i = 0; i < MAX_ACKS; i++) {
		e = make(i);
		out = NULL;
		if (rc_store_enrollment_put(s, &owner, e, &out, NULL) != RC_OK)
			_exit(4);
		rc_enrollment_free(out);
		rc_enrollment_free(e);
		if (write(ack, &i, sizeof(i)) != (ssize_t)sizeof(i))
			_exit(5);
	}
	_exit(6);
}

/* Reads one ack; 0 at end of file. */
static int
read_ack(int fd, uint32_t *v)
{
	size_t got = 0;
	ssize_t r;

	while (got < sizeof(*v)) {
		r = read(fd, (char *)v + got, sizeof(*v) - got);
		if (r == -1 && errno == EINTR)
			continue;
		assert_true(r >= 0);
		if (r == 0) {
			assert_int_equal(got, 0);
			return 0;
		}
		got += (size_t)r;
	}
	return 1;
}

static void
check_after(const char *uri, uint32_t acked)
{
	struct rc_enrollment *in, *e = NULL;
	struct rc_audit **v = NULL;
	struct rc_store *s = NULL;
	char id[32];
	int64_t bad = -1;
	uint32_t i;
	size_t n;

	assert_int_equal(rc_store_open(uri, &s), RC_OK);
	for (i = 0; i < acked; i++) {
		snprintf(id, sizeof(id), "DEV-%u", i);
		assert_int_equal(rc_store_enrollment_get(s,
		                     RC_ENROLLMENT_INDIVIDUAL, id, &e),
		    RC_OK);
		rc_enrollment_free(e);
	}
	assert_int_equal(rc_store_audit_verify(s, &bad), RC_OK);
	assert_int_equal(rc_store_audit_list(s, 0, MAX_ACKS, &v, &n), RC_OK);
	/* at most one put was committed but not yet acknowledged */
	assert_true(n == acked || n == acked + 1);
	rc_audit_list_free(v, n);
	/* the chain goes on from where it was cut */
	in = make(MAX_ACKS + 1);
	assert_int_equal(rc_store_enrollment_put(s, &owner, in, &e, NULL),
	    RC_OK);
	rc_enrollment_free(in);
	rc_enrollment_free(e);
	assert_int_equal(rc_store_audit_verify(s, &bad), RC_OK);
	rc_store_close(s);
}

static void
test_kill9(void **state)
{
	char uri[1100];
	uint32_t v, acked = 0;
	int fds[2], status;
	pid_t pid;

	(void)state;
	snprintf(uri, sizeof(uri), "sqlite:%s",
	    rctest_path(rctest_tmpdir(), "crash.db"));
	assert_int_equal(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		child(uri, fds[1]);
	}
	assert_true(pid > 0);
	close(fds[1]);
	while (acked < ACKS_BEFORE_KILL && read_ack(fds[0], &v)) {
		assert_int_equal(v, acked);
		acked++;
	}
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* acks written between the last read and the kill count too */
	while (read_ack(fds[0], &v)) {
		assert_int_equal(v, acked);
		acked++;
	}
	close(fds[0]);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_true(acked >= ACKS_BEFORE_KILL);
	check_after(uri, acked);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kill9),
	};
	int rc;

	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rctest_rmtree(rctest_tmpdir());
	return rc;
}
