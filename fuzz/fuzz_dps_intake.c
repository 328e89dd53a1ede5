/*
 * Fuzz target for the DPS device intake (dpswire.h).  The input is
 *
 *	MQTT username LF
 *	MQTT PUBLISH topic LF
 *	METHOD SP path [? query] LF	(the HTTPS request line)
 *	register body			(the rest, bytes)
 *
 * and a missing line counts as empty.  Invariants: no crash or leak;
 * whatever is accepted is within its documented alphabet and bounds (a
 * registration ID passes rc_dpswire_regid_valid, a $rid is echoed into a
 * reply topic unchanged, a CSR starts a DER SEQUENCE); every refusal has
 * a message; a body that is accepted makes an operation status whose dump
 * is strict JSON again, and every refusal message makes an error body.
 */
#include <stdlib.h>
#include <string.h>

#include "rollcall/buf.h"
#include "rollcall/dpswire.h"
#include "rollcall/json.h"
#include "rollcall/mem.h"

#define LINE_MAX_LEN 4096

static void
check(int ok)
{
	if (!ok)
		abort();
}

/* The next line (without LF), or the rest when there is no LF. */
static void
next_line(struct rc_buf *b, const char **p, size_t *n)
{
	const uint8_t *q;

	if (rc_buf_get0_until(b, '\n', &q, n) != RC_OK) {
		*n = rc_buf_remaining(b);
		check(rc_buf_get0_bytes(b, *n, &q) == RC_OK);
	}
	*p = (const char *)q;
}

static void
refused(int rc, const char *why)
{
	check(rc != RC_OK && why[0] != '\0');
}

static void
username(const char *p, size_t n, char *regid)
{
	struct rc_dpswire_username u;
	char why[RC_DPSWIRE_WHY_SIZE];
	int rc;

	regid[0] = '\0';
	if ((rc = rc_dpswire_username(p, n, &u, why, sizeof(why))) != RC_OK) {
		refused(rc, why);
		check(u.registration_id[0] == '\0');
		return;
	}
	check(rc_dpswire_regid_valid(u.registration_id));
	check(u.scope[0] != '\0' && u.api_version[0] != '\0');
	memcpy(regid, u.registration_id, strlen(u.registration_id) + 1);
}

static void
topic(const char *p, size_t n)
{
	char why[RC_DPSWIRE_WHY_SIZE], reply[RC_DPSWIRE_TOPIC_SIZE];
	struct rc_dpswire_topic t;
	int rc;

	if ((rc = rc_dpswire_topic(p, n, &t, why, sizeof(why))) != RC_OK) {
		refused(rc, why);
		return;
	}
	check(t.rid[0] != '\0');
	check((t.op == RC_DPSWIRE_POLL) == (t.operation_id[0] != '\0'));
	check(rc_dpswire_reply_topic(202, t.rid, 3, reply, sizeof(reply)) ==
	    RC_OK);
	check(strstr(reply, t.rid) != NULL);
	check(rc_dpswire_reply_topic(200, t.rid, 0, reply, sizeof(reply)) ==
	    RC_OK);
}

static enum rc_http_method
method_of(const char *s)
{
	if (strcmp(s, "PUT") == 0)
		return RC_HTTP_PUT;
	if (strcmp(s, "GET") == 0)
		return RC_HTTP_GET;
	if (strcmp(s, "POST") == 0)
		return RC_HTTP_POST;
	return RC_HTTP_OTHER;
}

static void
http(const char *p, size_t n)
{
	char line[LINE_MAX_LEN], why[RC_DPSWIRE_WHY_SIZE], *sp, *q;
	struct rc_dpswire_http h;
	struct rc_http_req req;
	int rc;

	if (n >= sizeof(line) || memchr(p, '\0', n) != NULL)
		return;
	memcpy(line, p, n);
	line[n] = '\0';
	memset(&req, 0, sizeof(req));
	if ((sp = strchr(line, ' ')) == NULL)
		return;
	*sp = '\0';
	req.method = method_of(line);
	req.path = sp + 1;
	if ((q = strchr(sp + 1, '?')) != NULL) {
		*q = '\0';
		req.query = q + 1;
	}
	if ((rc = rc_dpswire_http(&req, &h, why, sizeof(why))) != RC_OK) {
		refused(rc, why);
		return;
	}
	check(rc_dpswire_regid_valid(h.registration_id));
	check((h.op == RC_DPSWIRE_POLL) == (h.operation_id[0] != '\0'));
}

/* An operation status around what the body gave; its dump parses. */
static void
reply(const struct rc_dpswire_register *r)
{
	struct rc_dpswire_state st = {.registration_id = r->registration_id,
	    .created = 1,
	    .assigned_hub = "hub.example",
	    .device_id = r->registration_id,
	    .payload = r->payload};
	json_t *j, *back;
	char *s;
	size_t n;

	check(rc_dpswire_op_json("o", RC_DPSWIRE_ASSIGNED, &st, &j) == RC_OK);
	check(rc_json_dump(j, 0, &s, &n) == RC_OK);
	check(rc_json_parse(s, n, n, &back, NULL, 0) == RC_OK);
	json_decref(back);
	rc_free(s);
	json_decref(j);
}

static void
body(const uint8_t *p, size_t n, const char *regid)
{
	struct rc_dpswire_register *r;
	char why[RC_DPSWIRE_WHY_SIZE];
	json_t *err;
	int rc;

	rc = rc_dpswire_register_parse(p, n, regid[0] != '\0' ? regid : NULL,
	    &r, why, sizeof(why));
	if (rc != RC_OK) {
		refused(rc, why);
		check(r == NULL);
		check(
		    rc_dpswire_error_json(400004, why, "t", 0, &err) == RC_OK);
		json_decref(err);
		return;
	}
	check(rc_dpswire_regid_valid(r->registration_id));
	check(regid[0] == '\0' || strcmp(regid, r->registration_id) == 0);
	check((r->csr == NULL) == (r->csr_len == 0));
	check(r->csr_len <= RC_DPSWIRE_CSR_MAX);
	check(r->csr == NULL || (r->csr_len >= 2 && r->csr[0] == 0x30));
	reply(r);
	rc_dpswire_register_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char regid[RC_DPSWIRE_REGID_MAX + 1];
	const char *p;
	struct rc_buf b;
	size_t n;

	rc_json_init();
	rc_buf_init(&b, data, size);
	next_line(&b, &p, &n);
	username(p, n, regid);
	next_line(&b, &p, &n);
	topic(p, n);
	next_line(&b, &p, &n);
	http(p, n);
	body(rc_buf_cur(&b), rc_buf_remaining(&b), regid);
	/* The body once more without an expected ID. */
	regid[0] = '\0';
	body(rc_buf_cur(&b), rc_buf_remaining(&b), regid);
	return 0;
}
