/*
 * Shared helpers for the cmocka unit tests.
 */
#ifndef RCTEST_H
#define RCTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/*
 * A fresh private directory for one test executable, under $RC_TEST_TMP (or
 * /tmp); removed with rctest_rmtree.  Returns a static path.
 */
const char *rctest_tmpdir(void);
void rctest_rmtree(const char *path);
/* dir + "/" + name, in a static ring of buffers (valid for 8 calls). */
const char *rctest_path(const char *dir, const char *name);

/* Whole-file helpers; the caller frees with rc_free. */
char *rctest_read_file(const char *path, size_t *len);
void rctest_write_file(const char *path, const void *data, size_t len);

/*
 * Fail-Nth-allocation runner (curl's torture test): runs fn once normally
 * (it must return RC_OK), counting allocations, then once more for each
 * allocation n, with the nth and all later allocations failing; each of
 * those runs must return an error other than RC_OK, and must not crash or
 * leak (ASan/LSan check that).  fn must release whatever it made.
 *
 * strict = 0 is for code whose allocations partly happen inside OpenSSL
 * (after rc_mem_hook_openssl()): OpenSSL may absorb a failed allocation of
 * its own and still succeed, so only "no crash, no leak" is checked there.
 */
void rctest_each_alloc(int (*fn)(void *), void *arg, int strict);

#endif
