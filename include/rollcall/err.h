/*
 * Error codes of librollcall.  One X-macro list is the only place a code is
 * defined; it generates the enum and rc_strerror().
 */
#ifndef ROLLCALL_ERR_H
#define ROLLCALL_ERR_H

#define RC_MUST_CHECK __attribute__((warn_unused_result))

#define RC_ERRORS(X)                                      \
	X(RC_OK, "success")                               \
	X(RC_ENOMEM, "out of memory")                     \
	X(RC_EINVAL, "invalid argument")                  \
	X(RC_ETRUNC, "input truncated")                   \
	X(RC_ETOOBIG, "size limit exceeded")              \
	X(RC_EPARSE, "malformed input")                   \
	X(RC_EIO, "input/output error")                   \
	X(RC_ENOENT, "not found")                         \
	X(RC_EEXIST, "already exists")                    \
	X(RC_ECRYPTO, "cryptographic operation failed")   \
	X(RC_EBADSIG, "signature does not verify")        \
	X(RC_EEXPIRED, "certificate expired")             \
	X(RC_ENOTYETVALID, "certificate not yet valid")   \
	X(RC_EUNKNOWNISSUER, "unknown issuer")            \
	X(RC_ENOTCA, "issuer is not a CA")                \
	X(RC_EPATHLEN, "path length constraint exceeded") \
	X(RC_EUNTRUSTED, "certificate chain not trusted") \
	X(RC_EAUTH, "not authorized")                     \
	X(RC_ERANGE, "value out of range")                \
	X(RC_EUNSUPPORTED, "not supported")               \
	X(RC_ESTALE, "precondition failed: etag does not match")

enum rc_err {
#define RC_ERR_ENUM(code, text) code,
	RC_ERRORS(RC_ERR_ENUM)
#undef RC_ERR_ENUM
	    RC_ERR_COUNT
};

/* A static string describing err; never NULL, also for unknown codes. */
const char *rc_strerror(int err);

/* The code's name ("RC_ENOMEM"), for logs and tests. */
const char *rc_errname(int err);

#endif
