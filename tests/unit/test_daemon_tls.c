/*
 * Unit tests for rollcalld's TLS policy (src/daemon/tls.c), in-process:
 * a server SSL from tls_ctx_new and a client SSL talk over a socketpair.
 * The PKI (root, intermediate, server and client leaves) is made at test
 * time.
 */
#include <sys/socket.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "daemon.h"
#include "rctest.h"
#include "rollcall/ca.h"
#include "rollcall/key.h"

static char dir[512];
static struct rc_ca *root, *inter;
static X509 *client_cert;
static EVP_PKEY *client_key;
static struct config cfg;
static SSL_CTX *server_ctx;

struct client_opts {
	int min, max;
	const char *ciphers; /* TLS 1.2 list, NULL: default */
	const char *groups;
	int with_cert;
	SSL_SESSION *session;
	int no_ticket;
};

static int
setup(void **state)
{
	static const char *const sans[] = {"DNS:localhost", "IP:127.0.0.1"};
	static char cert_path[600], key_path[600];
	X509 *cert;
	EVP_PKEY *key;

	(void)state;
	snprintf(dir, sizeof(dir), "%s", rctest_tmpdir());
	assert_int_equal(rc_ca_new_root("tls test root", RC_KEY_P256, 2, &root),
	    RC_OK);
	assert_int_equal(rc_ca_new_intermediate(root, "tls test intermediate",
	                     RC_KEY_P256, 2, &inter),
	    RC_OK);
	assert_int_equal(rc_ca_server_cert(inter, NULL, sans, 2, RC_KEY_P256, 2,
	                     &cert, &key),
	    RC_OK);
	snprintf(cert_path, sizeof(cert_path), "%s/server.pem", dir);
	snprintf(key_path, sizeof(key_path), "%s/server.key", dir);
	assert_int_equal(rc_ca_write_chain(cert_path, inter, cert, 1), RC_OK);
	assert_int_equal(rc_key_save(key, key_path, 1), RC_OK);
	X509_free(cert);
	EVP_PKEY_free(key);
	assert_int_equal(rc_ca_issue(inter, "device-1", RC_KEY_P256, 2,
	                     &client_cert, &client_key),
	    RC_OK);
	cfg.tls_cert = cert_path;
	cfg.tls_key = key_path;
	assert_non_null(server_ctx = tls_ctx_new(&cfg, 1));
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	SSL_CTX_free(server_ctx);
	X509_free(client_cert);
	EVP_PKEY_free(client_key);
	rc_ca_free(inter);
	rc_ca_free(root);
	rctest_rmtree(dir);
	return 0;
}

static SSL_CTX *
client_ctx(const struct client_opts *o)
{
	SSL_CTX *ctx;

	assert_non_null(ctx = SSL_CTX_new(TLS_client_method()));
	/* Level 0 lets the client offer what the server must refuse. */
	SSL_CTX_set_security_level(ctx, 0);
	assert_int_equal(SSL_CTX_set_min_proto_version(ctx, o->min), 1);
	assert_int_equal(SSL_CTX_set_max_proto_version(ctx, o->max), 1);
	if (o->ciphers != NULL)
		assert_int_equal(SSL_CTX_set_cipher_list(ctx, o->ciphers), 1);
	if (o->groups != NULL)
		assert_int_equal(SSL_CTX_set1_groups_list(ctx, o->groups), 1);
	assert_int_equal(X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx),
	                     root->cert),
	    1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (o->no_ticket)
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	if (o->with_cert) {
		assert_int_equal(SSL_CTX_use_certificate(ctx, client_cert), 1);
		assert_int_equal(SSL_CTX_use_PrivateKey(ctx, client_key), 1);
		assert_int_equal(SSL_CTX_add1_chain_cert(ctx, inter->cert), 1);
	}
	return ctx;
}

static int
step(SSL *ssl, int *done)
{
	int r, e;

	if (*done)
		return 1;
	if ((r = SSL_do_handshake(ssl)) == 1) {
		*done = 1;
		return 1;
	}
	e = SSL_get_error(ssl, r);
	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
}

/*
 * One handshake; returns 1 on success with *client and *server (caller
 * frees), 0 on failure.
 */
static int
handshake(const struct client_opts *o, SSL **client, SSL **server)
{
	int sv[2], cdone = 0, sdone = 0, i, rc = 0;
	SSL_CTX *cctx = client_ctx(o);
	SSL *c, *s;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	assert_non_null(c = SSL_new(cctx));
	assert_non_null(s = SSL_new(server_ctx));
	SSL_CTX_free(cctx);
	SSL_set_fd(c, sv[0]);
	SSL_set_fd(s, sv[1]);
	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	assert_int_equal(SSL_set1_host(c, "localhost"), 1);
	if (o->session != NULL)
		SSL_set_session(c, o->session);
	for (i = 0; i < 100 && !(cdone && sdone); i++)
		if (step(c, &cdone) < 0 || step(s, &sdone) < 0)
			break;
	rc = cdone && sdone;
	ERR_clear_error();
	*client = c;
	*server = s;
	return rc;
}

/* Closes as two well-behaved peers would, keeping sessions resumable. */
static void
close_pair(SSL *c, SSL *s)
{
	SSL_set_shutdown(c, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_set_shutdown(s, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	close(SSL_get_fd(c));
	close(SSL_get_fd(s));
	SSL_free(c);
	SSL_free(s);
}

static void
test_versions(void **state)
{
	struct client_opts o = {TLS1_3_VERSION, TLS1_3_VERSION, NULL, NULL, 0,
	    NULL, 0};
	SSL *c, *s;

	(void)state;
	assert_true(handshake(&o, &c, &s));
	assert_int_equal(SSL_version(s), TLS1_3_VERSION);
	/* The client built the chain to the root: the intermediate was sent. */
	assert_int_equal(SSL_get_verify_result(c), X509_V_OK);
	close_pair(c, s);
	o.min = o.max = TLS1_2_VERSION;
	assert_true(handshake(&o, &c, &s));
	assert_int_equal(SSL_version(s), TLS1_2_VERSION);
	close_pair(c, s);
	o.min = TLS1_VERSION;
	o.max = TLS1_1_VERSION;
	o.ciphers = "DEFAULT@SECLEVEL=0";
	assert_false(handshake(&o, &c, &s));
	close_pair(c, s);
}

static void
test_key_exchange(void **state)
{
	struct client_opts o = {TLS1_2_VERSION, TLS1_2_VERSION,
	    "AES128-GCM-SHA256", NULL, 0, NULL, 0};
	SSL *c, *s;

	(void)state;
	/* No ECDHE: no forward secrecy, refused. */
	assert_false(handshake(&o, &c, &s));
	close_pair(c, s);
	/* CBC suites are not offered either. */
	o.ciphers = "ECDHE-ECDSA-AES128-SHA";
	assert_false(handshake(&o, &c, &s));
	close_pair(c, s);
	/* Groups: X25519 and P-256 only. */
	o.ciphers = NULL;
	o.groups = "P-384";
	assert_false(handshake(&o, &c, &s));
	close_pair(c, s);
	o.groups = "P-256";
	assert_true(handshake(&o, &c, &s));
	close_pair(c, s);
	o.min = o.max = TLS1_3_VERSION;
	o.groups = "X25519";
	assert_true(handshake(&o, &c, &s));
	close_pair(c, s);
}

static void
test_client_cert(void **state)
{
	struct client_opts o = {TLS1_2_VERSION, TLS1_3_VERSION, NULL, NULL, 0,
	    NULL, 0};
	STACK_OF(X509) *chain;
	SSL *c, *s;

	(void)state;
	/* Asked for but not required. */
	assert_true(handshake(&o, &c, &s));
	assert_null(tls_peer_chain(s));
	close_pair(c, s);
	/* Leaf first, then what the client sent with it. */
	o.with_cert = 1;
	assert_true(handshake(&o, &c, &s));
	assert_non_null(chain = tls_peer_chain(s));
	assert_int_equal(sk_X509_num(chain), 2);
	assert_int_equal(X509_cmp(sk_X509_value(chain, 0), client_cert), 0);
	assert_int_equal(X509_cmp(sk_X509_value(chain, 1), inter->cert), 0);
	sk_X509_free(chain);
	close_pair(c, s);
}

static void
test_resumption(void **state)
{
	struct client_opts o = {TLS1_2_VERSION, TLS1_2_VERSION, NULL, NULL, 0,
	    NULL, 0};
	SSL_SESSION *sess;
	SSL *c, *s;

	(void)state;
	assert_true(handshake(&o, &c, &s));
	assert_int_equal(SSL_session_reused(c), 0);
	assert_non_null(sess = SSL_get1_session(c));
	close_pair(c, s);
	o.session = sess;
	assert_true(handshake(&o, &c, &s));
	assert_int_equal(SSL_session_reused(c), 1);
	close_pair(c, s);
	SSL_SESSION_free(sess);
	/* By session ID, for clients that do not take tickets. */
	o.session = NULL;
	o.no_ticket = 1;
	assert_true(handshake(&o, &c, &s));
	assert_non_null(sess = SSL_get1_session(c));
	assert_int_not_equal(SSL_SESSION_has_ticket(sess), 1);
	close_pair(c, s);
	o.session = sess;
	assert_true(handshake(&o, &c, &s));
	assert_int_equal(SSL_session_reused(c), 1);
	close_pair(c, s);
	SSL_SESSION_free(sess);
}

static void
test_bad_identity(void **state)
{
	struct config bad = cfg;
	char other_key[600], none[600];
	EVP_PKEY *k;

	(void)state;
	/* A key that is not the certificate's. */
	snprintf(other_key, sizeof(other_key), "%s/other.key", dir);
	assert_int_equal(rc_key_gen(RC_KEY_P256, &k), RC_OK);
	assert_int_equal(rc_key_save(k, other_key, 1), RC_OK);
	EVP_PKEY_free(k);
	bad.tls_key = other_key;
	assert_null(tls_ctx_new(&bad, 0));
	/* Files that are not there, or not PEM. */
	bad.tls_key = cfg.tls_key;
	snprintf(none, sizeof(none), "%s/none.pem", dir);
	bad.tls_cert = none;
	assert_null(tls_ctx_new(&bad, 0));
	bad.tls_cert = cfg.tls_key;
	assert_null(tls_ctx_new(&bad, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_versions),
	    cmocka_unit_test(test_key_exchange),
	    cmocka_unit_test(test_client_cert),
	    cmocka_unit_test(test_resumption),
	    cmocka_unit_test(test_bad_identity),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
