/*
 * The server side of TLS (DESIGN.md §5 "TLS"): TLS 1.2 minimum and 1.3,
 * ECDHE only (forward secrecy), AEAD ciphers only on 1.2, session
 * resumption by cache and tickets (reconnect storms after a roll are the
 * norm: a resumed handshake skips the signature and the certificate).
 *
 * Client certificates: a listener that serves devices asks for one but
 * never fails the handshake over it.  The verify callback accepts
 * everything, because the answer to a bad certificate must be the
 * protocol's own (DPS 401002, hub CONNACK 5) so the SDKs report it; the
 * role checks the chain against its enrollments after the handshake.
 */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "daemon.h"
#include "rollcall/log.h"

/* Mozilla "intermediate" TLS 1.2 suites; 1.3 keeps OpenSSL's defaults. */
#define TLS12_CIPHERS                    \
	"ECDHE-ECDSA-AES128-GCM-SHA256:" \
	"ECDHE-RSA-AES128-GCM-SHA256:"   \
	"ECDHE-ECDSA-AES256-GCM-SHA384:" \
	"ECDHE-RSA-AES256-GCM-SHA384:"   \
	"ECDHE-ECDSA-CHACHA20-POLY1305:" \
	"ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_GROUPS "X25519:P-256"
/* Sessions from another program with the same key cannot resume here. */
#define SESSION_ID_CONTEXT "rollcalld"
#define SESSION_CACHE_SIZE (20 * 1024)

static int
accept_any(int preverify, X509_STORE_CTX *ctx)
{
	(void)preverify;
	(void)ctx;
	return 1;
}

static int
set_policy(SSL_CTX *ctx)
{
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
		rc_log_ssl("tls: protocol versions");
		return RC_ECRYPTO;
	}
	if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
		rc_log_ssl("tls: cipher list");
		return RC_ECRYPTO;
	}
	if (SSL_CTX_set1_groups_list(ctx, TLS_GROUPS) != 1) {
		rc_log_ssl("tls: groups %s", TLS_GROUPS);
		return RC_ECRYPTO;
	}
	/* RFC 5746 secure renegotiation is still a DoS lever: refuse it. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	/*
	 * Idle devices are the common case (DESIGN.md §5): give the 2 x 16 KiB
	 * record buffers back while a connection has nothing to read or write
	 * (bench/idle_memory.mjs measures the effect).
	 */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(ctx, SESSION_CACHE_SIZE);
	if (SSL_CTX_set_session_id_context(ctx,
	        (const unsigned char *)SESSION_ID_CONTEXT,
	        sizeof(SESSION_ID_CONTEXT) - 1) != 1) {
		rc_log_ssl("tls: session id context");
		return RC_ECRYPTO;
	}
	return RC_OK;
}

static int
set_identity(SSL_CTX *ctx, const struct config *cfg)
{
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1) {
		rc_log_ssl("tls: %s", cfg->tls_cert);
		return RC_ECRYPTO;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) !=
	    1) {
		rc_log_ssl("tls: %s", cfg->tls_key);
		return RC_ECRYPTO;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		rc_log_ssl("tls: %s does not match %s", cfg->tls_key,
		    cfg->tls_cert);
		return RC_ECRYPTO;
	}
	return RC_OK;
}

SSL_CTX *
tls_ctx_new(const struct config *cfg, int request_client_cert)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		rc_log_ssl("tls: SSL_CTX_new");
		return NULL;
	}
	if (set_policy(ctx) != RC_OK || set_identity(ctx, cfg) != RC_OK) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (request_client_cert)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any);
	return ctx;
}

STACK_OF(X509) *
tls_peer_chain(SSL *ssl)
{
	STACK_OF(X509) *sent, *out;
	X509 *leaf;
	int i;

	if ((leaf = SSL_get0_peer_certificate(ssl)) == NULL)
		return NULL;
	if ((out = sk_X509_new_null()) == NULL || !sk_X509_push(out, leaf))
		goto fail;
	/* The server side's peer chain leaves the leaf out (SSL_get_peer_cert_chain(3)). */
	sent = SSL_get_peer_cert_chain(ssl);
	for (i = 0; sent != NULL && i < sk_X509_num(sent); i++)
		if (!sk_X509_push(out, sk_X509_value(sent, i)))
			goto fail;
	return out;
fail:
	sk_X509_free(out);
	return NULL;
}
