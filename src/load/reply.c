/*
 * What rollcall-load reads from a server (load.h):
 *
 * - the DPS reply topic "$dps/registrations/res/{status}/?$rid={rid}
 *   [&retry-after={seconds}]" (reference/azure-device-wire.md §2.4): the
 *   status is three digits, the rid a decimal number (this client sends
 *   only numbers), retry-after 0..3600; other parameters are ignored;
 * - the RegistrationOperationStatus body (§4): operationId, status and
 *   registrationState.issuedCertificateChain[0] (§5, base64 DER);
 * - an HTTP/1.1 response (RFC 9112): a status line, at most
 *   LOAD_HTTP_HEAD_MAX bytes of header with Content-Length required (the
 *   DPS device API always sends it; chunked bodies are refused), a body
 *   of at most LOAD_HTTP_BODY_MAX bytes.
 *
 * Every read goes through rc_buf or a bounded copy; nothing is trusted.
 */
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "load.h"
#include "rollcall/buf.h"
#include "rollcall/enc.h"
#include "rollcall/mem.h"

#define DPS_RES "$dps/registrations/res/"
#define PARAM_MAX 64

/* "digits" of at most 9 characters into [min, max]. */
static int
number(const char *p, size_t n, long min, long max, long *out)
{
	char tmp[10];
	long long v;

	if (n == 0 || n >= sizeof(tmp))
		return RC_EPARSE;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	if (rc_strtonum(tmp, min, max, &v) != RC_OK)
		return RC_EPARSE;
	*out = (long)v;
	return RC_OK;
}

/* One "key=value" of the query; unknown keys are ignored. */
static int
topic_param(const char *p, size_t n, long *rid, int *have_rid, long *ra)
{
	const char *eq = memchr(p, '=', n);
	size_t k;

	if (eq == NULL)
		return RC_OK;
	k = (size_t)(eq - p);
	if (k == 4 && memcmp(p, "$rid", 4) == 0) {
		if (*have_rid)
			return RC_EPARSE;
		*have_rid = 1;
		return number(eq + 1, n - k - 1, 0, 999999999, rid);
	}
	if (k == 11 && memcmp(p, "retry-after", 11) == 0)
		return number(eq + 1, n - k - 1, 0, 3600, ra);
	return RC_OK;
}

int
load_dps_topic(const char *topic, size_t len, int *status, long *rid,
    int *retry_after)
{
	size_t pre = sizeof(DPS_RES) - 1, off, end;
	long st, ra = 0;
	int have_rid = 0;

	*status = 0;
	*rid = 0;
	*retry_after = 0;
	if (len < pre || memcmp(topic, DPS_RES, pre) != 0)
		return RC_ENOENT;
	if (len < pre + 5 || memcmp(topic + pre + 3, "/?", 2) != 0 ||
	    number(topic + pre, 3, 100, 599, &st) != RC_OK)
		return RC_EPARSE;
	for (off = pre + 5; off < len; off = end + 1) {
		const char *amp = memchr(topic + off, '&', len - off);

		end = amp == NULL ? len : (size_t)(amp - topic);
		if (end - off > PARAM_MAX ||
		    topic_param(topic + off, end - off, rid, &have_rid, &ra) !=
		        RC_OK)
			return RC_EPARSE;
	}
	if (!have_rid) {
		*rid = 0;
		return RC_EPARSE;
	}
	*status = (int)st;
	*retry_after = (int)ra;
	return RC_OK;
}

static int
opid_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= LOAD_OPID_MAX &&
	    strspn(s,
	        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	        "0123456789.-") == n;
}

/* registrationState.issuedCertificateChain[0], when there is one. */
static int
chain_leaf(json_t *root, struct load_dps_op *out)
{
	json_t *chain, *first;
	const char *s;

	chain = json_object_get(json_object_get(root, "registrationState"),
	    "issuedCertificateChain");
	if (chain == NULL)
		return RC_OK;
	if (!json_is_array(chain) ||
	    (first = json_array_get(chain, 0)) == NULL ||
	    (s = json_string_value(first)) == NULL)
		return RC_EPARSE;
	return rc_b64_decode(s, strlen(s), 16384, &out->leaf, &out->leaf_len);
}

int
load_dps_body(const uint8_t *p, size_t len, struct load_dps_op *out)
{
	json_t *root;
	const char *opid, *status;
	int rc = RC_EPARSE;

	memset(out, 0, sizeof(*out));
	if (len > LOAD_HTTP_BODY_MAX)
		return RC_ETOOBIG;
	if ((root = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES,
	         NULL)) == NULL)
		return RC_EPARSE;
	opid = json_string_value(json_object_get(root, "operationId"));
	status = json_string_value(json_object_get(root, "status"));
	if (!json_is_object(root) || opid == NULL || status == NULL ||
	    !opid_valid(opid))
		goto out;
	snprintf(out->operation_id, sizeof(out->operation_id), "%s", opid);
	out->assigned = strcmp(status, "assigned") == 0 ? 1
	    : strcmp(status, "assigning") == 0          ? 0
	                                                : -1;
	if ((rc = chain_leaf(root, out)) != RC_OK) {
		rc = rc == RC_ENOMEM ? rc : RC_EPARSE;
		goto out;
	}
	rc = RC_OK;
out:
	if (rc != RC_OK)
		memset(out, 0, sizeof(*out));
	json_decref(root);
	return rc;
}

/* "HTTP/1.1 200 Reason": the status. */
static int
status_line(struct rc_buf *b, int *status)
{
	const uint8_t *line;
	size_t n;
	long st;

	if (rc_buf_get0_until(b, '\n', &line, &n) != RC_OK)
		return RC_ETRUNC;
	if (n < 12 || memcmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ' ||
	    (line[9 + 3] != ' ' && line[9 + 3] != '\r') ||
	    number((const char *)line + 9, 3, 100, 599, &st) != RC_OK)
		return RC_EPARSE;
	*status = (int)st;
	return RC_OK;
}

/* Header "Name: value" (value trimmed) into the response. */
static int
header(const uint8_t *line, size_t n, struct load_http_resp *r, long *clen)
{
	const uint8_t *colon = memchr(line, ':', n);
	const char *v;
	size_t k, vn;
	long x = 0;

	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (colon == NULL || colon == line)
		return RC_EPARSE;
	k = (size_t)(colon - line);
	v = (const char *)colon + 1;
	vn = n - k - 1;
	while (vn > 0 && (*v == ' ' || *v == '\t'))
		v++, vn--;
	while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
		vn--;
	if (k == 14 &&
	    strncasecmp((const char *)line, "content-length", k) == 0) {
		if (*clen >= 0 || number(v, vn, 0, 999999999, &x) != RC_OK)
			return RC_EPARSE;
		if (x > LOAD_HTTP_BODY_MAX)
			return RC_ETOOBIG;
		*clen = x;
	} else if (k == 11 &&
	    strncasecmp((const char *)line, "retry-after", k) == 0) {
		if (number(v, vn, 0, 3600, &x) != RC_OK)
			return RC_EPARSE;
		r->retry_after = (int)x;
	} else if (k == 17 &&
	    strncasecmp((const char *)line, "transfer-encoding", k) == 0)
		return RC_EPARSE;
	return RC_OK;
}

int
load_http_parse(const uint8_t *p, size_t len, struct load_http_resp *out)
{
	struct rc_buf b;
	const uint8_t *line;
	size_t n, avail = len < LOAD_HTTP_HEAD_MAX ? len : LOAD_HTTP_HEAD_MAX;
	long clen = -1;
	int rc;

	memset(out, 0, sizeof(*out));
	rc_buf_init(&b, p, avail);
	if ((rc = status_line(&b, &out->status)) != RC_OK)
		goto fail;
	for (;;) {
		if (rc_buf_get0_until(&b, '\n', &line, &n) != RC_OK) {
			rc = RC_ETRUNC;
			goto fail;
		}
		if (n == 0 || (n == 1 && line[0] == '\r'))
			break;
		if ((rc = header(line, n, out, &clen)) != RC_OK)
			goto fail;
	}
	if (clen < 0) {
		rc = RC_EPARSE;
		goto fail;
	}
	out->body_off = b.off;
	out->body_len = (size_t)clen;
	out->total = b.off + (size_t)clen;
	if (len < out->total) {
		rc = RC_ETRUNC;
		goto fail;
	}
	return RC_OK;
fail:
	if (rc == RC_ETRUNC && avail == LOAD_HTTP_HEAD_MAX && out->total == 0)
		rc = RC_ETOOBIG;
	memset(out, 0, sizeof(*out));
	return rc;
}
