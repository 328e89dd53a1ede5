/*
 * rollcall-echo: the physical limit for docs/performance.md.  A minimal
 * mutual-TLS server: TLS 1.2 minimum, a client certificate required and
 * verified against one CA file, then every byte is sent back.  Nothing
 * else happens on a connection, so its handshake rate and memory per
 * connection are what any TLS server on this machine could do with the
 * same keys.  One libevent loop per thread (-j, default: one per CPU, as
 * rollcalld), each with its own SO_REUSEPORT listener, as rollcalld's
 * workers.
 *
 *	rollcall-echo -c CERT -k KEY -C CA [-a ADDR] [-p PORT] [-j N]
 *
 * Prints "rollcall-echo ready port=N" once it listens; SIGTERM stops it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "rollcall/enc.h"

#define THREADS_MAX 64

struct worker {
	pthread_t th;
	struct event_base *base;
	struct evconnlistener *lis;
	SSL_CTX *ctx;
};

static void
on_read(struct bufferevent *bev, void *arg)
{
	(void)arg;
	(void)bufferevent_write_buffer(bev, bufferevent_get_input(bev));
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		bufferevent_free(bev);
}

static void
on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct worker *w = arg;
	struct bufferevent *bev;
	SSL *ssl;
	int one = 1;

	(void)lis;
	(void)sa;
	(void)salen;
	/* As rollcalld: handshake flights must not wait for delayed ACKs. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((ssl = SSL_new(w->ctx)) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	bev = bufferevent_openssl_socket_new(w->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		evutil_closesocket(fd);
		return;
	}
	bufferevent_setcb(bev, on_read, NULL, on_event, w);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static SSL_CTX *
server_ctx(const char *cert, const char *key, const char *ca)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx,
	    SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		ERR_print_errors_fp(stderr);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static void *
run(void *arg)
{
	struct worker *w = arg;

	event_base_dispatch(w->base);
	return NULL;
}

static int
listen_on(struct worker *w, struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);

	if ((w->base = event_base_new()) == NULL)
		return -1;
	w->lis = evconnlistener_new_bind(w->base, on_accept, w,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT,
	    4096, (struct sockaddr *)sin, sizeof(*sin));
	if (w->lis == NULL)
		return -1;
	/* The first listener learns the port the kernel chose. */
	return getsockname(evconnlistener_get_fd(w->lis),
	    (struct sockaddr *)sin, &len);
}

static int
usage(void)
{
	fputs("usage: rollcall-echo -c CERT -k KEY -C CA [-a ADDR] [-p PORT] "
	      "[-j THREADS]\n",
	    stderr);
	return 2;
}

int
main(int argc, char **argv)
{
	static struct worker w[THREADS_MAX];
	const char *cert = NULL, *key = NULL, *ca = NULL, *addr = "127.0.0.1";
	long long port = 0, nth = sysconf(_SC_NPROCESSORS_ONLN);
	struct sockaddr_in sin;
	SSL_CTX *ctx;
	sigset_t ss;
	int ch, i, sig;

	while ((ch = getopt(argc, argv, "c:k:C:a:p:j:")) != -1) {
		switch (ch) {
		case 'c':
			cert = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'C':
			ca = optarg;
			break;
		case 'a':
			addr = optarg;
			break;
		case 'p':
			if (rc_strtonum(optarg, 0, 65535, &port) != RC_OK)
				return usage();
			break;
		case 'j':
			if (rc_strtonum(optarg, 1, THREADS_MAX, &nth) != RC_OK)
				return usage();
			break;
		default:
			return usage();
		}
	}
	if (cert == NULL || key == NULL || ca == NULL)
		return usage();
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		return usage();
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	pthread_sigmask(SIG_BLOCK, &ss, NULL);
	if ((ctx = server_ctx(cert, key, ca)) == NULL)
		return 1;
	for (i = 0; i < nth; i++) {
		w[i].ctx = ctx;
		if (listen_on(&w[i], &sin) != 0) {
			perror("rollcall-echo: listen");
			return 1;
		}
	}
	for (i = 0; i < nth; i++)
		if (pthread_create(&w[i].th, NULL, run, &w[i]) != 0)
			return 1;
	printf("rollcall-echo ready port=%u\n", (unsigned)ntohs(sin.sin_port));
	fflush(stdout);
	sigwait(&ss, &sig);
	return 0;
}
