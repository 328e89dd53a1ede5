/*
 * Whole-file reads and atomic writes for the library (keys, certificates,
 * CA directories).  A write never leaves a half-written file behind: the
 * data goes to a temporary file in the same directory, created with mode
 * 0600, which is fsync'ed and then renamed (or linked) into place.
 */
#ifndef ROLLCALL_FILE_H
#define ROLLCALL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "rollcall/err.h"

/*
 * Reads the whole file at path.  RC_ENOENT if it does not exist,
 * RC_ETOOBIG if it holds more than max bytes, RC_EIO otherwise.  *data
 * (NUL-terminated, not counted in *len) is the caller's, freed with
 * rc_free.
 */
RC_MUST_CHECK int rc_file_read(const char *path, size_t max, uint8_t **data,
    size_t *len);

/*
 * Writes len bytes to path atomically with the given permission bits.  The
 * file never has a wider mode than min(mode, 0600) before its content is
 * complete, so a key written with 0600 is never readable by others, not
 * even briefly.  Without overwrite an existing path is RC_EEXIST and is
 * left alone (checked atomically with link(2) where the file system has
 * hard links).
 */
RC_MUST_CHECK int rc_file_write(const char *path, const void *data, size_t len,
    unsigned int mode, int overwrite);

/*
 * mkdir -p: creates path and any missing parents with mode; existing
 * directories are left as they are.  RC_EIO (errno set) on failure.
 */
RC_MUST_CHECK int rc_file_mkdirs(const char *path, unsigned int mode);

#endif
