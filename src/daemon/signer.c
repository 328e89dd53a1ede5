/*
 * The signer process (signer.h): fork, the child's loop, and the
 * parent's side of the framing.
 *
 * Invariants of the framing (signer.h): a frame's length is checked
 * against the reader's maximum before anything is allocated; every field
 * inside is read through rc_buf and the frame must be consumed exactly;
 * the parent gives the child SIGNER_TIMEOUT_MS per answer, and a child
 * that misses it, closes, or sends a malformed answer is killed, since
 * the stream can no longer be trusted to be in step.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>

#include "rollcall/buf.h"
#include "rollcall/ca.h"
#include "rollcall/csr.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"
#include "rollcall/x509.h"
#include "signer.h"

/* Largest request: header fields, a CN in UTF-8, the CSR. */
#define REQ_MAX (4 + 2 + 4 * RC_CN_MAX + 4 + RC_CSR_MAX_INPUT)
/* Largest answer: header fields, why, the chain. */
#define ANS_MAX \
	(4 + 1 + 2 + 256 + 1 + SIGNER_MAX_CHAIN * (4 + RC_X509_MAX_CERT))
/* How long signer_stop waits for the child, in 10 ms steps. */
#define STOP_STEPS 300

struct signer {
	pthread_mutex_t lock;
	int fd; /* -1 once the child is gone */
	pid_t pid; /* -1 once reaped */
};

static struct signer *running;

/* The I/O below: whole frames over a stream socket. */

static int
write_all(int fd, const uint8_t *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		/* MSG_NOSIGNAL: a dead peer is an error, not SIGPIPE */
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return RC_EIO;
		p += n;
		len -= (size_t)n;
	}
	return RC_OK;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Reads exactly len bytes before deadline (ms on the monotonic clock; -1:
 * none).  RC_ENOENT for end of stream before the first byte, RC_EIO for
 * anything else that stops the read.
 */
static int
read_full(int fd, uint8_t *p, size_t len, int64_t deadline)
{
	struct pollfd pfd;
	size_t got = 0;
	ssize_t n;
	int wait;

	while (got < len) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		wait = -1;
		if (deadline >= 0 && (wait = (int)(deadline - now_ms())) < 0)
			return RC_EIO;
		if ((n = poll(&pfd, 1, wait)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return RC_EIO;
		if ((n = read(fd, p + got, len - got)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 && got == 0 ? RC_ENOENT : RC_EIO;
		got += (size_t)n;
	}
	return RC_OK;
}

/* One frame of at most max bytes; the caller frees *out. */
static int
read_frame(int fd, size_t max, int64_t deadline, uint8_t **out, size_t *len)
{
	uint8_t hdr[4];
	struct rc_buf b;
	uint32_t n;
	int rc;

	*out = NULL;
	*len = 0;
	if ((rc = read_full(fd, hdr, sizeof(hdr), deadline)) != RC_OK)
		return rc;
	rc_buf_init(&b, hdr, sizeof(hdr));
	if ((rc = rc_buf_get_u32be(&b, &n)) != RC_OK)
		return rc;
	if (n == 0 || n > max)
		return RC_ETOOBIG;
	if ((*out = rc_malloc(n)) == NULL)
		return RC_ENOMEM;
	if ((rc = read_full(fd, *out, n, deadline)) != RC_OK) {
		rc_free(*out);
		*out = NULL;
		return rc == RC_ENOENT ? RC_EIO : rc;
	}
	*len = n;
	return RC_OK;
}

static int
put_be(struct rc_wbuf *w, uint32_t v, int bytes)
{
	uint8_t b[4];
	int i;

	for (i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	return rc_wbuf_append(w, b, (size_t)bytes);
}

/* Sends w's content as one frame. */
static int
send_frame(int fd, const struct rc_wbuf *w)
{
	struct rc_wbuf h;
	int rc;

	rc_wbuf_init(&h, 4);
	if ((rc = put_be(&h, (uint32_t)w->len, 4)) == RC_OK)
		rc = write_all(fd, h.data, h.len);
	rc_wbuf_free(&h);
	if (rc == RC_OK)
		rc = write_all(fd, w->data, w->len);
	return rc;
}

/* The child. */

static int
put_cert(struct rc_wbuf *w, X509 *x)
{
	unsigned char *der = NULL;
	int n, rc;

	if ((n = i2d_X509(x, &der)) <= 0)
		return RC_ECRYPTO;
	if ((rc = put_be(w, (uint32_t)n, 4)) == RC_OK)
		rc = rc_wbuf_append(w, der, (size_t)n);
	OPENSSL_free(der);
	return rc;
}

/* Sends an answer: rc, refused, why and the chain (leaf, then ca's). */
static int
answer(int fd, int rc, int refused, const char *why, const struct rc_ca *ca,
    X509 *leaf)
{
	struct rc_wbuf w;
	size_t whylen = strlen(why);
	int i, n = 0, err;

	if (whylen > 255)
		whylen = 255;
	if (leaf != NULL)
		n = 2 + sk_X509_num(ca->parents);
	if (n > SIGNER_MAX_CHAIN)
		rc_fatalx("signer: the CA chain is longer than %d",
		    SIGNER_MAX_CHAIN);
	rc_wbuf_init(&w, ANS_MAX);
	if ((err = put_be(&w, (uint32_t)rc, 4)) != RC_OK ||
	    (err = put_be(&w, refused ? 1 : 0, 1)) != RC_OK ||
	    (err = put_be(&w, (uint32_t)whylen, 2)) != RC_OK ||
	    (err = rc_wbuf_append(&w, why, whylen)) != RC_OK ||
	    (err = put_be(&w, (uint32_t)n, 1)) != RC_OK)
		goto out;
	if (leaf != NULL &&
	    ((err = put_cert(&w, leaf)) != RC_OK ||
	        (err = put_cert(&w, ca->cert)) != RC_OK))
		goto out;
	for (i = 0; leaf != NULL && i < sk_X509_num(ca->parents); i++)
		if ((err = put_cert(&w, sk_X509_value(ca->parents, i))) !=
		    RC_OK)
			goto out;
	err = send_frame(fd, &w);
out:
	rc_wbuf_free(&w);
	return err;
}

/* The serial as hex, for the child's own log of what it signed. */
static void
log_issued(X509 *leaf, const char *cn, long secs)
{
	BIGNUM *bn;
	char *hex = NULL;

	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), NULL);
	if (bn != NULL)
		hex = BN_bn2hex(bn);
	rc_log_info("signer: issued serial %s to CN %s for %lds",
	    hex != NULL ? hex : "?", cn, secs);
	OPENSSL_free(hex);
	BN_free(bn);
}

/* A request's fields, borrowed from the frame. */
struct request {
	uint32_t secs; /* 0: the maximum */
	char cn[4 * RC_CN_MAX + 1];
	const uint8_t *csr;
	size_t csr_len;
};

static int
parse_request(const uint8_t *p, size_t len, struct request *r)
{
	struct rc_buf b;
	uint16_t cnlen;
	uint32_t csrlen;
	int rc;

	memset(r, 0, sizeof(*r));
	rc_buf_init(&b, p, len);
	if ((rc = rc_buf_get_u32be(&b, &r->secs)) != RC_OK ||
	    (rc = rc_buf_get_u16be(&b, &cnlen)) != RC_OK)
		return rc;
	if (cnlen >= sizeof(r->cn))
		return RC_ETOOBIG;
	if ((rc = rc_buf_get_bytes(&b, r->cn, cnlen)) != RC_OK ||
	    (rc = rc_buf_get_u32be(&b, &csrlen)) != RC_OK)
		return rc;
	r->cn[cnlen] = '\0';
	if (memchr(r->cn, '\0', cnlen) != NULL)
		return RC_EPARSE;
	if ((rc = rc_buf_get0_bytes(&b, csrlen, &r->csr)) != RC_OK)
		return rc;
	r->csr_len = csrlen;
	return rc_buf_remaining(&b) == 0 ? RC_OK : RC_EPARSE;
}

/* Checks and signs one request; answers it. */
static int
serve_one(int fd, const struct rc_ca *ca, long max_secs, const uint8_t *p,
    size_t len)
{
	struct request r;
	X509_REQ *req = NULL;
	X509 *leaf = NULL;
	char why[256] = "";
	long secs;
	int rc, refused = 1;

	if ((rc = parse_request(p, len, &r)) != RC_OK) {
		rc_log_warnx("signer: malformed request: %s", rc_strerror(rc));
		return answer(fd, rc, 0, "malformed signer request", ca, NULL);
	}
	secs = r.secs == 0 || r.secs > max_secs ? max_secs : (long)r.secs;
	if ((rc = rc_csr_parse(r.csr, r.csr_len, &req)) != RC_OK) {
		snprintf(why, sizeof(why),
		    "the CSR is not a PKCS#10 request "
		    "in DER: %s",
		    rc_strerror(rc));
		goto out;
	}
	if ((rc = rc_csr_check(req, r.cn, why, sizeof(why))) != RC_OK)
		goto out;
	refused = 0;
	if ((rc = rc_ca_sign_csr_secs(ca, req, secs, &leaf)) != RC_OK) {
		snprintf(why, sizeof(why), "the device CA cannot sign: %s",
		    rc_strerror(rc));
		rc_log_warnx("signer: %s", why);
		goto out;
	}
	log_issued(leaf, r.cn, secs);
out:
	rc = answer(fd, rc, refused && rc != RC_OK, why, ca, leaf);
	X509_free(leaf);
	X509_REQ_free(req);
	return rc;
}

/*
 * The child's process set-up: no core dumps or ptrace by the same user,
 * stdin and stdout on /dev/null, no descriptor but stderr and the socket
 * (moved to 3), and the terminal's and supervisor's signals ignored: the
 * child ends when the parent closes the socket, after the request in
 * flight.
 */
static void
child_setup(int fd)
{
	int null;

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		rc_fatal("signer: prctl");
	if (fd != 3 && (dup2(fd, 3) == -1 || close(fd) == -1))
		rc_fatal("signer: dup2");
	if (close_range(4, ~0U, 0) == -1)
		rc_fatal("signer: close_range");
	if ((null = open("/dev/null", O_RDWR)) == -1 ||
	    dup2(null, STDIN_FILENO) == -1 || dup2(null, STDOUT_FILENO) == -1)
		rc_fatal("signer: /dev/null");
	if (null > 3)
		close(null);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
}

static __attribute__((noreturn)) void
child_main(int fd, const char *ca_dir, long max_secs)
{
	struct rc_ca *ca = NULL;
	uint8_t *p;
	size_t len;
	int rc;

	child_setup(fd);
	fd = 3;
	rc = rc_ca_load(ca_dir, &ca);
	if (answer(fd, rc, 0, rc == RC_OK ? "" : "cannot load the device CA",
	        ca, NULL) != RC_OK ||
	    rc != RC_OK)
		_exit(1);
	while ((rc = read_frame(fd, REQ_MAX, -1, &p, &len)) == RC_OK) {
		rc = serve_one(fd, ca, max_secs, p, len);
		rc_free(p);
		if (rc != RC_OK)
			break;
	}
	if (rc != RC_ENOENT)
		rc_log_warnx("signer: stopping: %s", rc_strerror(rc));
	rc_ca_free(ca);
	_exit(rc == RC_ENOENT ? 0 : 1);
}

/* The parent. */

/* Kills (if still running) and reaps the child; the stream is unusable. */
static void
child_gone(struct signer *s, const char *why)
{
	int status = 0;

	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
	if (s->pid == -1)
		return;
	if (why != NULL)
		kill(s->pid, SIGKILL);
	while (waitpid(s->pid, &status, 0) == -1 && errno == EINTR)
		;
	if (why != NULL)
		rc_log_warnx("signer: pid %ld %s; signing is off until "
		             "rollcalld restarts",
		    (long)s->pid, why);
	s->pid = -1;
}

static int
parse_chain(struct rc_buf *b, struct signer_result *res)
{
	const uint8_t *der;
	uint32_t len;
	uint8_t n, i;
	X509 *x;
	int rc;

	if ((rc = rc_buf_get_u8(b, &n)) != RC_OK)
		return rc;
	if (n > SIGNER_MAX_CHAIN)
		return RC_ETOOBIG;
	if (n > 0 && (res->chain = sk_X509_new_null()) == NULL)
		return RC_ENOMEM;
	for (i = 0; i < n; i++) {
		if ((rc = rc_buf_get_u32be(b, &len)) != RC_OK ||
		    (rc = rc_buf_get0_bytes(b, len, &der)) != RC_OK ||
		    (rc = rc_x509_parse(der, len, &x)) != RC_OK)
			return rc;
		if (!sk_X509_push(res->chain, x)) {
			X509_free(x);
			return RC_ENOMEM;
		}
	}
	return rc_buf_remaining(b) == 0 ? RC_OK : RC_EPARSE;
}

/*
 * Reads one answer into res (hello: the first, which has no chain): RC_OK
 * and the child's code in *child_rc, or the error that makes the stream
 * unusable.
 */
static int
read_answer(struct signer *s, int hello, struct signer_result *res,
    int *child_rc)
{
	struct rc_buf b;
	uint8_t *p = NULL, refused;
	uint16_t whylen;
	uint32_t code;
	size_t len;
	int rc;

	*child_rc = RC_EIO;
	if ((rc = read_frame(s->fd, ANS_MAX, now_ms() + SIGNER_TIMEOUT_MS, &p,
	         &len)) != RC_OK)
		return rc;
	rc_buf_init(&b, p, len);
	if ((rc = rc_buf_get_u32be(&b, &code)) != RC_OK ||
	    (rc = rc_buf_get_u8(&b, &refused)) != RC_OK ||
	    (rc = rc_buf_get_u16be(&b, &whylen)) != RC_OK)
		goto out;
	if (whylen >= sizeof(res->why) || code >= RC_ERR_COUNT) {
		rc = RC_EPARSE;
		goto out;
	}
	if ((rc = rc_buf_get_bytes(&b, res->why, whylen)) != RC_OK)
		goto out;
	res->why[whylen] = '\0';
	res->refused = refused != 0;
	if ((rc = parse_chain(&b, res)) != RC_OK)
		goto out;
	/* a signature and certificates go together; the hello has none */
	if ((code == RC_OK && !hello) != (res->chain != NULL))
		rc = RC_EPARSE;
	*child_rc = (int)code;
out:
	rc_free(p);
	return rc;
}

int
signer_start(const char *ca_dir, int max_days, struct signer **out)
{
	*out = NULL;
	if (max_days < 1 || max_days > RC_CA_DAYS_MAX)
		return RC_EINVAL;
	return signer_start_secs(ca_dir, max_days * 86400L, out);
}

int
signer_start_secs(const char *ca_dir, long max_secs, struct signer **out)
{
	struct signer_result res;
	struct signer *s;
	int sv[2], rc, child_rc;

	*out = NULL;
	memset(&res, 0, sizeof(res));
	if (ca_dir == NULL || max_secs < RC_CA_SECS_MIN ||
	    max_secs > RC_CA_DAYS_MAX * 86400L)
		return RC_EINVAL;
	if ((s = rc_calloc(1, sizeof(*s))) == NULL)
		return RC_ENOMEM;
	s->fd = s->pid = -1;
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		rc_free(s);
		return RC_ENOMEM;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		rc_log_warn("signer: socketpair");
		signer_stop(s);
		return RC_EIO;
	}
	if ((s->pid = fork()) == -1) {
		rc_log_warn("signer: fork");
		close(sv[0]);
		close(sv[1]);
		signer_stop(s);
		return RC_EIO;
	}
	if (s->pid == 0)
		child_main(sv[1], ca_dir, max_secs);
	close(sv[1]);
	s->fd = sv[0];
	if ((rc = read_answer(s, 1, &res, &child_rc)) == RC_OK)
		rc = child_rc;
	else
		rc = RC_EIO;
	signer_result_clear(&res);
	if (rc != RC_OK) {
		signer_stop(s);
		return rc;
	}
	*out = s;
	return RC_OK;
}

static int
build_request(struct rc_wbuf *w, const uint8_t *csr, size_t csr_len,
    const char *cn, int days)
{
	int rc;

	/* in seconds on the wire; 0 (the maximum) for anything out of range */
	if ((rc = put_be(w,
	         days > 0 && days <= RC_CA_DAYS_MAX ? (uint32_t)days * 86400u
	                                            : 0,
	         4)) != RC_OK ||
	    (rc = put_be(w, (uint32_t)strlen(cn), 2)) != RC_OK ||
	    (rc = rc_wbuf_puts(w, cn)) != RC_OK ||
	    (rc = put_be(w, (uint32_t)csr_len, 4)) != RC_OK)
		return rc;
	return rc_wbuf_append(w, csr, csr_len);
}

/* The exchange itself, under the lock. */
static int
sign_locked(struct signer *s, const struct rc_wbuf *w,
    struct signer_result *res)
{
	int rc, child_rc;

	if (s->fd == -1) {
		snprintf(res->why, sizeof(res->why),
		    "the signer process is "
		    "gone");
		return RC_EIO;
	}
	if ((rc = send_frame(s->fd, w)) != RC_OK ||
	    (rc = read_answer(s, 0, res, &child_rc)) != RC_OK) {
		signer_result_clear(res);
		child_gone(s,
		    rc == RC_EIO || rc == RC_ENOENT ? "stopped answering"
		                                    : "answered nonsense");
		snprintf(res->why, sizeof(res->why),
		    "the signer process "
		    "failed");
		return RC_EIO;
	}
	return child_rc;
}

int
signer_sign(struct signer *s, const uint8_t *csr_der, size_t csr_len,
    const char *expect_cn, int days, struct signer_result *res)
{
	struct rc_wbuf w;
	int rc;

	memset(res, 0, sizeof(*res));
	if (s == NULL) {
		snprintf(res->why, sizeof(res->why),
		    "no device CA is "
		    "configured");
		return RC_EUNSUPPORTED;
	}
	res->refused = 1;
	if (csr_der == NULL || csr_len == 0 || csr_len > RC_CSR_MAX_INPUT) {
		snprintf(res->why, sizeof(res->why),
		    "the CSR is empty or "
		    "larger than %d bytes",
		    RC_CSR_MAX_INPUT);
		return csr_len > RC_CSR_MAX_INPUT ? RC_ETOOBIG : RC_EINVAL;
	}
	if ((rc = rc_csr_check_cn(expect_cn)) != RC_OK) {
		snprintf(res->why, sizeof(res->why),
		    "the registration ID "
		    "cannot be a CN");
		return rc;
	}
	res->refused = 0;
	rc_wbuf_init(&w, REQ_MAX);
	if ((rc = build_request(&w, csr_der, csr_len, expect_cn, days)) ==
	    RC_OK) {
		pthread_mutex_lock(&s->lock);
		rc = sign_locked(s, &w, res);
		pthread_mutex_unlock(&s->lock);
	}
	rc_wbuf_free(&w);
	return rc;
}

void
signer_result_clear(struct signer_result *res)
{
	if (res == NULL)
		return;
	sk_X509_pop_free(res->chain, X509_free);
	memset(res, 0, sizeof(*res));
}

void
signer_stop(struct signer *s)
{
	int i, status;

	if (s == NULL)
		return;
	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
	/* EOF ends the child's loop; give it time to finish a request */
	for (i = 0; s->pid != -1 && i < STOP_STEPS; i++) {
		if (waitpid(s->pid, &status, WNOHANG) == s->pid)
			s->pid = -1;
		else
			usleep(10000);
	}
	child_gone(s, s->pid != -1 ? "did not stop" : NULL);
	pthread_mutex_destroy(&s->lock);
	rc_free(s);
}

pid_t
signer_pid(const struct signer *s)
{
	return s != NULL ? s->pid : -1;
}

void
signer_set_running(struct signer *s)
{
	running = s;
}

struct signer *
signer_running(void)
{
	return running;
}
