/*
 * Whole-file reads and atomic writes; see file.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rollcall/buf.h"
#include "rollcall/file.h"
#include "rollcall/mem.h"

int
rc_file_read(const char *path, size_t max, uint8_t **data, size_t *len)
{
	struct rc_wbuf w;
	uint8_t chunk[8192];
	struct stat st;
	ssize_t n;
	int fd, rc;

	*data = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? RC_ENOENT : RC_EIO;
	rc_wbuf_init(&w, max);
	if (fstat(fd, &st) == -1) {
		rc = RC_EIO;
		goto out;
	}
	if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > max) {
		rc = RC_ETOOBIG;
		goto out;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rc = RC_EIO;
			goto out;
		}
		if ((rc = rc_wbuf_append(&w, chunk, (size_t)n)) != RC_OK)
			goto out;
	}
	rc = rc_wbuf_detach(&w, (char **)data, len);
out:
	close(fd);
	rc_wbuf_free(&w);
	return rc;
}

static int
write_all(int fd, const uint8_t *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return RC_EIO;
		}
		p += n;
		len -= (size_t)n;
	}
	return RC_OK;
}

/* Makes the rename or link itself durable (the directory entry). */
static void
sync_dir(const char *path)
{
	char copy[4096];
	int dfd;

	if ((size_t)snprintf(copy, sizeof(copy), "%s", path) >= sizeof(copy))
		return;
	if ((dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return;
	(void)fsync(dfd);
	close(dfd);
}

/*
 * Moves the complete temporary file into place.  Without overwrite, link(2)
 * fails with EEXIST if path appeared meanwhile, where rename(2) would
 * silently replace it.  File systems without hard links get a check and a
 * rename instead: racy, but the best they allow.
 */
static int
publish(const char *tmp, const char *path, int overwrite)
{
	struct stat st;

	if (!overwrite && link(tmp, path) == 0) {
		(void)unlink(tmp);
		return RC_OK;
	}
	if (!overwrite && errno != EPERM && errno != EOPNOTSUPP &&
	    errno != ENOSYS)
		return errno == EEXIST ? RC_EEXIST : RC_EIO;
	if (!overwrite && lstat(path, &st) == 0)
		return RC_EEXIST;
	return rename(tmp, path) == -1 ? RC_EIO : RC_OK;
}

int
rc_file_write(const char *path, const void *data, size_t len, unsigned int mode,
    int overwrite)
{
	char tmp[4096];
	struct stat st;
	int fd = -1, rc;

	if (!overwrite && lstat(path, &st) == 0)
		return RC_EEXIST;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >=
	    sizeof(tmp))
		return RC_ETOOBIG;
	/* mkstemp creates the file with mode 0600 (O_EXCL, never wider). */
	if ((fd = mkstemp(tmp)) == -1)
		return errno == ENOENT ? RC_ENOENT : RC_EIO;
	if ((rc = write_all(fd, data, len)) != RC_OK)
		goto out;
	/* The final mode only once the content is complete (see file.h). */
	rc = RC_EIO;
	if (fsync(fd) == -1 || fchmod(fd, (mode_t)(mode & 07777)) == -1)
		goto out;
	rc = close(fd) == -1 ? RC_EIO : RC_OK;
	fd = -1;
	if (rc != RC_OK)
		goto out;
	if ((rc = publish(tmp, path, overwrite)) != RC_OK)
		goto out;
	sync_dir(path);
	return RC_OK;
out:
	if (fd != -1)
		close(fd);
	(void)unlink(tmp);
	return rc;
}

int
rc_file_mkdirs(const char *path, unsigned int mode)
{
	char buf[4096];
	size_t i, n;

	n = strlen(path);
	if (n == 0 || n >= sizeof(buf))
		return RC_EINVAL;
	memcpy(buf, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, (mode_t)mode) == -1 && errno != EEXIST)
			return RC_EIO;
		buf[i] = path[i];
	}
	return RC_OK;
}
