/*
 * The listening sockets: one per (listen address, port).  They are bound
 * once, by the main thread, before privileges are dropped; every worker
 * then accepts on its own dup of each (worker.c), so port 0 (the kernel's
 * pick) is the same port for all workers.
 *
 * With port 0 the first address of a family gets a kernel-chosen port and
 * the other addresses of that family reuse it, so one port number reaches
 * the server on every listen address, as a configured port would.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"

#define BACKLOG 511

static int
parse_addr(const char *s, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
		return RC_OK;
	}
	if (inet_pton(AF_INET6, s, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return RC_OK;
	}
	return RC_EPARSE;
}

void
sockaddr_format(const struct sockaddr *sa, char *out, size_t outsize)
{
	char host[INET6_ADDRSTRLEN];
	const void *a;
	int port;

	if (sa->sa_family == AF_INET6) {
		a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	} else if (sa->sa_family == AF_INET) {
		a = &((const struct sockaddr_in *)sa)->sin_addr;
		port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
	} else {
		snprintf(out, outsize, "-");
		return;
	}
	if (inet_ntop(sa->sa_family, a, host, sizeof(host)) == NULL) {
		snprintf(out, outsize, "-");
		return;
	}
	snprintf(out, outsize, sa->sa_family == AF_INET6 ? "[%s]:%d" : "%s:%d",
	    host, port);
}

/* The bound address of a listening socket. */
static void
format_bound(int fd, char *out, size_t outsize)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		rc_fatal("getsockname");
	sockaddr_format((struct sockaddr *)&ss, out, outsize);
}

static int
bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		rc_fatal("getsockname");
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static int
bind_one(const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, on = 1;

	if (parse_addr(addr, port, &ss, &len) != RC_OK)
		rc_fatalx("listen %s: not an IP address", addr);
	fd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		rc_fatal("listen %s: socket", addr);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		rc_fatal("listen %s: SO_REUSEADDR", addr);
	/* "::" means IPv6 only; 0.0.0.0 is listed separately if wanted. */
	if (ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1)
		rc_fatal("listen %s: IPV6_V6ONLY", addr);
	if (bind(fd, (struct sockaddr *)&ss, len) == -1)
		rc_fatal("listen %s port %d", addr, port);
	if (listen(fd, BACKLOG) == -1)
		rc_fatal("listen %s port %d: listen", addr, port);
	return fd;
}

static int
family_of(const char *addr)
{
	return strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
}

/* Binds the port on every listen address, appending to l[*n]. */
static void
open_port(const struct config *cfg, enum listener_kind kind, int port,
    struct listener *l, size_t *n)
{
	int fam_port[2] = {port, port}, fi;
	size_t i;

	for (i = 0; i < cfg->listen.n; i++) {
		fi = family_of(cfg->listen.v[i]) == AF_INET6;
		l[*n].kind = kind;
		l[*n].fd = bind_one(cfg->listen.v[i], fam_port[fi]);
		if (fam_port[fi] == 0)
			fam_port[fi] = bound_port(l[*n].fd);
		format_bound(l[*n].fd, l[*n].addr, sizeof(l[*n].addr));
		rc_log_info("listening on %s (%s)", l[*n].addr,
		    kind == LISTEN_HTTPS ? "https" : "mqtt");
		(*n)++;
	}
}

void
listeners_open(const struct config *cfg, struct listener **out, size_t *n)
{
	struct listener *l;

	*out = NULL;
	*n = 0;
	if ((l = rc_calloc(2 * cfg->listen.n, sizeof(*l))) == NULL)
		rc_fatalx("listeners: out of memory");
	open_port(cfg, LISTEN_HTTPS, (int)cfg->https_port, l, n);
	open_port(cfg, LISTEN_MQTT, (int)cfg->mqtt_port, l, n);
	*out = l;
}

void
listeners_close(struct listener *l, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (l[i].fd != -1)
			close(l[i].fd);
	rc_free(l);
}

static const char *
first_of(const struct listener *l, size_t n, enum listener_kind kind)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (l[i].kind == kind)
			return l[i].addr;
	return "-";
}

void
listeners_ready(const struct listener *l, size_t n)
{
	printf("rollcalld ready https=%s mqtt=%s\n",
	    first_of(l, n, LISTEN_HTTPS), first_of(l, n, LISTEN_MQTT));
	if (fflush(stdout) != 0)
		rc_log_warn("stdout");
}
