#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>

#include "rctest.h"
#include "rollcall/err.h"
#include "rollcall/mem.h"

const char *
rctest_tmpdir(void)
{
	static char dir[512];
	const char *base;

	if (dir[0] != '\0')
		return dir;
	base = getenv("RC_TEST_TMP");
	if (base == NULL || *base == '\0')
		base = "/tmp";
	mkdir(base, 0700);
	snprintf(dir, sizeof(dir), "%s/rctest.XXXXXX", base);
	if (mkdtemp(dir) == NULL)
		fail_msg("mkdtemp %s: %s", dir, strerror(errno));
	return dir;
}

void
rctest_rmtree(const char *path)
{
	char sub[1024];
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (lstat(path, &st) == -1)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			rctest_rmtree(sub);
		}
		closedir(d);
	}
	rmdir(path);
}

const char *
rctest_path(const char *dir, const char *name)
{
	static char ring[8][1024];
	static int next;
	char *p;

	p = ring[next++ % 8];
	snprintf(p, sizeof(ring[0]), "%s/%s", dir, name);
	return p;
}

char *
rctest_read_file(const char *path, size_t *len)
{
	struct stat st;
	char *data;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("open %s: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) == -1)
		fail_msg("stat %s", path);
	data = rc_malloc((size_t)st.st_size + 1);
	assert_non_null(data);
	if (fread(data, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		fail_msg("read %s", path);
	data[st.st_size] = '\0';
	fclose(f);
	if (len != NULL)
		*len = (size_t)st.st_size;
	return data;
}

void
rctest_write_file(const char *path, const void *data, size_t len)
{
	FILE *f;

	if ((f = fopen(path, "wb")) == NULL)
		fail_msg("open %s: %s", path, strerror(errno));
	if (fwrite(data, 1, len, f) != len)
		fail_msg("write %s", path);
	fclose(f);
}

void
rctest_each_alloc(int (*fn)(void *), void *arg, int strict)
{
	unsigned long total, n;
	int rc;

	rc_mem_fail_after(0);
	rc = fn(arg);
	assert_int_equal(rc, RC_OK);
	total = rc_mem_count();
	for (n = 1; n <= total; n++) {
		rc_mem_fail_after(n);
		rc = fn(arg);
		rc_mem_fail_after(0);
		if (strict && rc == RC_OK)
			fail_msg("allocation %lu of %lu failed but the call "
			         "succeeded",
			    n, total);
		ERR_clear_error();
	}
}
