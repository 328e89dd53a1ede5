/*
 * rollcall-load: one process, one libevent loop, thousands of simulated
 * devices speaking mutual TLS to rollcalld (DPS and hub), to Mosquitto or
 * to the echo baseline (bench/echo_server.c).
 *
 * The parts: args.c reads the command line; reply.c reads what servers
 * answer (DPS reply topics and bodies, HTTP/1.1 responses); pki.c makes
 * and stores the devices' certificates; conn.c is one TLS connection and
 * its protocol; run.c drives a mode over the fleet; stats.c keeps the
 * latencies.  Only args.c and reply.c read untrusted or user bytes, and
 * have unit tests (tests/unit/test_load_*.c).
 */
#ifndef ROLLCALL_LOAD_H
#define ROLLCALL_LOAD_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "rollcall/err.h"

enum load_mode {
	LOAD_CERTS, /* make the fleet's certificates and store them */
	LOAD_IMPORT, /* create the fleet's hub identities (bulk import) */
	LOAD_REGISTER,
	LOAD_CONNECT,
	LOAD_HOLD,
	LOAD_TELEMETRY,
	LOAD_ROLL,
};

/* What the other end speaks. */
enum load_proto {
	LOAD_PROTO_HUB, /* rollcalld hub: Azure username, devices/{id}/... */
	LOAD_PROTO_MQTT, /* a plain MQTT broker (Mosquitto) */
	LOAD_PROTO_DPS_MQTT, /* rollcalld DPS device API over MQTT */
	LOAD_PROTO_DPS_HTTP, /* rollcalld DPS device API over HTTPS */
	LOAD_PROTO_ECHO, /* bench/echo_server.c: bytes come back */
};

#define LOAD_SRC_MAX 64 /* loopback source addresses */
#define LOAD_DEVICES_MAX 1000000
#define LOAD_PREFIX_MAX 32

struct load_args {
	enum load_mode mode;
	enum load_proto proto;
	struct sockaddr_in target;
	struct in_addr src[LOAD_SRC_MAX];
	size_t nsrc;
	long count; /* devices (-n) */
	long first; /* index of the first device used (--first) */
	long concurrency; /* operations in flight (-c) */
	long duration_ms; /* hold / telemetry / roll: how long (-t) */
	long interval_ms; /* roll: telemetry period per device */
	long timeout_ms; /* one operation */
	long payload; /* telemetry payload bytes */
	long server_pid; /* read its RSS and CPU (--server-pid) */
	int shared_key; /* one P-256 key for every device (--shared-key) */
	int csr; /* register with a CSR (--csr) */
	int poll_ms; /* DPS poll delay; -1 = the server's retry-after */
	const char *certs; /* --certs FILE */
	const char *ca_dir; /* --ca DIR: ca.pem + ca.key (certs mode) */
	const char *trust; /* --trust FILE: the server's root */
	const char *scope; /* --id-scope */
	const char *hub_host; /* --hub-host (username, Host header) */
	const char *connstr; /* --connection-string (import mode) */
	const char *label; /* --label: names the RESULT line */
	char prefix[LOAD_PREFIX_MAX + 1]; /* device IDs: prefix + index */
};

/*
 * Parses argv (argv[0] is the program, argv[1] the mode).  RC_EINVAL with
 * a message in why for anything wrong; RC_ENOENT for --help (the caller
 * prints the usage).  *a is reset on entry and filled with defaults.
 */
RC_MUST_CHECK int load_args_parse(int argc, char **argv, struct load_args *a,
    char *why, size_t whylen);
/* "10000", "10k", "2m" (10^3, 10^6) into [min, max]. */
RC_MUST_CHECK int load_parse_count(const char *s, long min, long max,
    long *out);
/* "250ms", "30s", "2m", or plain milliseconds, into [min, max] ms. */
RC_MUST_CHECK int load_parse_ms(const char *s, long min, long max, long *out);
/* "127.0.0.1:8883" (IPv4 loopback or any IPv4 address, port 1..65535). */
RC_MUST_CHECK int load_parse_target(const char *s, struct sockaddr_in *out);
/*
 * "127.0.0.2-127.0.0.9" or one address: at most LOAD_SRC_MAX addresses
 * of 127.0.0.0/8 (benchmark traffic stays on loopback), in one /24.
 */
RC_MUST_CHECK int load_parse_srcs(const char *s, struct in_addr *out,
    size_t max, size_t *n);
void load_usage(void);

/* Replies (reply.c). */
#define LOAD_OPID_MAX 128

/*
 * "$dps/registrations/res/{status}/?$rid={rid}[&retry-after={n}]": the
 * status (100..599), the rid and the retry-after in seconds (0 if absent,
 * at most 3600).  RC_ENOENT for another topic, RC_EPARSE if malformed.
 */
RC_MUST_CHECK int load_dps_topic(const char *topic, size_t len, int *status,
    long *rid, int *retry_after);

/* The parts of a RegistrationOperationStatus a device acts on. */
struct load_dps_op {
	char operation_id[LOAD_OPID_MAX + 1];
	int assigned; /* 1: "assigned", 0: "assigning", -1: anything else */
	uint8_t *leaf; /* issuedCertificateChain[0] as DER, or NULL */
	size_t leaf_len;
};

/*
 * Reads the JSON body; RC_EPARSE if it is not an object with an
 * operationId of [A-Za-z0-9.-] and a string status, or has a chain whose
 * first element is not base64.  The caller frees leaf with rc_free.
 */
RC_MUST_CHECK int load_dps_body(const uint8_t *p, size_t len,
    struct load_dps_op *out);

/* One HTTP/1.1 response, framed by Content-Length (RFC 9112 §6). */
struct load_http_resp {
	int status;
	int retry_after; /* seconds, 0 if absent */
	size_t body_off;
	size_t body_len;
	size_t total; /* header + body */
};

#define LOAD_HTTP_HEAD_MAX 16384
#define LOAD_HTTP_BODY_MAX (1024 * 1024)

/*
 * RC_ETRUNC: not all there yet; RC_EPARSE: a bad status line, header or
 * length, or no Content-Length (every DPS answer has one); RC_ETOOBIG:
 * a header over LOAD_HTTP_HEAD_MAX or a body over LOAD_HTTP_BODY_MAX.
 */
RC_MUST_CHECK int load_http_parse(const uint8_t *p, size_t len,
    struct load_http_resp *out);

/* Latencies (stats.c), in microseconds. */
struct load_lat {
	uint32_t *v;
	size_t n, size;
};

void load_lat_add(struct load_lat *, uint64_t usec);
/* The q-th quantile (0..1) in ms after sorting; 0 when empty. */
double load_lat_quantile(struct load_lat *, double q);
void load_lat_free(struct load_lat *);

/* Devices and their credentials (pki.c). */
struct load_dev {
	char id[LOAD_PREFIX_MAX + 16];
	X509 *cert;
	EVP_PKEY *key; /* owned unless the fleet shares one */
	X509 *new_cert; /* roll: what DPS issued */
	EVP_PKEY *new_key;
};

struct load_fleet {
	struct load_dev *dev;
	size_t n;
	EVP_PKEY *shared; /* non-NULL in shared-key mode */
};

RC_MUST_CHECK int load_fleet_make(const char *ca_dir, const char *prefix,
    size_t n, int shared_key, struct load_fleet *out);
RC_MUST_CHECK int load_fleet_save(const struct load_fleet *, const char *path);
/* Reads devices [first, first + n) of a file load_fleet_save wrote. */
RC_MUST_CHECK int load_fleet_load(const char *path, size_t first, size_t n,
    struct load_fleet *out);
void load_fleet_clear(struct load_fleet *);
/* A DER PKCS#10 request with CN = id signed by key, base64. */
RC_MUST_CHECK int load_csr_b64(const char *id, EVP_PKEY *key, char **out);

/* The SHA-256 thumbprint in upper-case hex (out: 65 bytes). */
RC_MUST_CHECK int load_thumbprint(X509 *, char out[65]);

/* import.c: hub identities through POST /devices, 100 at a time. */
RC_MUST_CHECK int load_import(const struct load_args *,
    const struct load_fleet *);

/* run.c */
int load_run(const struct load_args *, struct load_fleet *);

/* Monotonic time in microseconds. */
uint64_t load_now_us(void);

#endif
