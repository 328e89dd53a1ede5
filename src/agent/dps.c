/*
 * One DPS registration (reference/azure-device-wire.md §2-§5), over MQTT
 * or HTTPS, attested by the TLS client certificate of ident, with a CSR
 * when renewing (§5).  Polls while the service says "assigning", after
 * its retry-after (1 to 60 seconds here), until op-timeout.  Reply topics
 * are read as "$dps/registrations/res/{status}/?{query}" with $rid and
 * retry-after in the query; a reply with another $rid is not ours.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "agent_int.h"
#include "rollcall/buf.h"
#include "rollcall/csr.h"
#include "rollcall/enc.h"
#include "rollcall/json.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"

#define API_VERSION "2025-07-01-preview"
#define CLIENT_VERSION "rollcall-agent%%2F0.1" /* a format */

/* The register body: {"registrationId": ..., "csr": base64 DER}. */
static int
register_body(const char *regid, X509_REQ *csr, char **out, size_t *len)
{
	json_t *o;
	uint8_t *der = NULL;
	size_t dlen;
	char *b64 = NULL;
	int rc;

	*out = NULL;
	if ((o = json_object()) == NULL)
		return RC_ENOMEM;
	if ((rc = rc_json_set_str(o, "registrationId", regid)) != RC_OK)
		goto out;
	if (csr != NULL &&
	    ((rc = rc_csr_to_der(csr, &der, &dlen)) != RC_OK ||
	        (rc = rc_b64_encode(der, dlen, &b64)) != RC_OK ||
	        (rc = rc_json_set_str(o, "csr", b64)) != RC_OK))
		goto out;
	rc = rc_json_dump(o, 0, out, len);
out:
	rc_free(der);
	rc_free(b64);
	json_decref(o);
	return rc;
}

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* MQTT. */

struct mwait {
	char rid[32];
	int status; /* 0: nothing yet */
	int retry_after;
	char *body;
	size_t len;
};

/* "{status}/?$rid=R&retry-after=N" after the reply prefix. */
static void
read_reply_topic(const char *t, struct mwait *w, int *status, int *retry)
{
	const char *q, *p;
	char rid[32];
	size_t n;

	*status = 0;
	*retry = 0;
	if ((q = strstr(t, "/?")) == NULL || q - t > 3 || q - t < 3)
		return;
	if ((p = strstr(q, "$rid=")) == NULL)
		return;
	p += 5;
	n = strcspn(p, "&");
	if (n == 0 || n >= sizeof(rid))
		return;
	memcpy(rid, p, n);
	rid[n] = '\0';
	if (strcmp(rid, w->rid) != 0)
		return;
	*status = (t[0] - '0') * 100 + (t[1] - '0') * 10 + (t[2] - '0');
	if ((p = strstr(q, "retry-after=")) != NULL)
		*retry = (int)strtol(p + 12, NULL, 10);
}

static void
dps_msg(void *arg, const char *topic, const void *p, size_t n)
{
	static const char prefix[] = "$dps/registrations/res/";
	struct mwait *w = arg;
	int status, retry;

	if (strncmp(topic, prefix, sizeof(prefix) - 1) != 0 || w->status != 0)
		return;
	read_reply_topic(topic + sizeof(prefix) - 1, w, &status, &retry);
	if (status < 100 || status > 599)
		return;
	if ((w->body = rc_malloc(n + 1)) == NULL)
		return;
	memcpy(w->body, p, n);
	w->body[n] = '\0';
	w->len = n;
	w->retry_after = retry;
	w->status = status;
}

/* Publishes topic + body and waits for the answer to it. */
static int
mqtt_ask(struct agent_mqtt *q, struct mwait *w, unsigned long rid,
    const char *opid, const char *body, size_t len, long long deadline)
{
	char topic[512];
	int rc, n;

	rc_free(w->body);
	memset(w, 0, sizeof(*w));
	snprintf(w->rid, sizeof(w->rid), "%lu", rid);
	if (opid == NULL)
		n = snprintf(topic, sizeof(topic),
		    "$dps/registrations/PUT/iotdps-register/?$rid=%s", w->rid);
	else
		n = snprintf(topic, sizeof(topic),
		    "$dps/registrations/GET/iotdps-get-operationstatus/"
		    "?$rid=%s&operationId=%s",
		    w->rid, opid);
	if (n < 0 || n >= (int)sizeof(topic))
		return RC_ETOOBIG;
	if ((rc = agent_mqtt_pub(q, topic, body, len, 1)) != RC_OK)
		return rc;
	while (w->status == 0 && mono_ms() < deadline)
		if ((rc = agent_mqtt_loop(q, 100)) != RC_OK)
			return rc;
	return w->status == 0 ? RC_EIO : RC_OK;
}

/* Runs the network for ms (the retry-after wait). */
static int
mqtt_wait(struct agent_mqtt *q, long long ms)
{
	long long end = mono_ms() + ms;
	int rc;

	while (mono_ms() < end)
		if ((rc = agent_mqtt_loop(q, 100)) != RC_OK)
			return rc;
	return RC_OK;
}

static int
clamp_retry(int s)
{
	return s < 1 ? 1 : s > 60 ? 60 : s;
}

/* The answer in w as a reply; RC_EAGAIN-like: *again for 202/429/5xx. */
static int
take_reply(struct mwait *w, struct rc_agent_dps_reply *r, int *again)
{
	int rc;

	*again = 0;
	if (w->status >= 429 || w->status == 202) {
		if (w->status == 202 &&
		    (rc = rc_agent_dps_reply_parse(w->body, w->len, r)) !=
		        RC_OK)
			return rc;
		*again = 1;
		return RC_OK;
	}
	if ((rc = rc_agent_dps_reply_parse(w->body, w->len, r)) != RC_OK)
		return rc;
	if (w->status >= 300)
		r->status = RC_AGENT_DPS_FAILED;
	return RC_OK;
}

static int
mqtt_register(struct rc_agent *a, const struct agent_ident *id,
    const char *body, size_t len, struct rc_agent_dps_reply *r)
{
	const struct rc_agent_conf *c = a->conf;
	struct agent_mqtt q = {0};
	struct mwait w = {0};
	char user[512];
	long long deadline = mono_ms() + c->op_timeout * 1000;
	int rc, connack, again = 1;

	snprintf(user, sizeof(user),
	    "%s/registrations/%s/api-version=" API_VERSION
	    "&ClientVersion=" CLIENT_VERSION,
	    c->id_scope, c->registration_id);
	q.on_msg = dps_msg;
	q.arg = &w;
	if ((rc = agent_mqtt_open(&q, c, id, c->dps_host, (int)c->dps_port,
	         c->registration_id, user, &connack)) != RC_OK) {
		rc_log_warnx("dps: connect to %s:%lld refused (CONNACK %d)",
		    c->dps_host, c->dps_port, connack);
		return rc;
	}
	if ((rc = agent_mqtt_sub(&q, "$dps/registrations/res/#", 1)) != RC_OK)
		goto out;
	rc = mqtt_ask(&q, &w, ++a->rid, NULL, body, len, deadline);
	while (rc == RC_OK && (rc = take_reply(&w, r, &again)) == RC_OK &&
	    again && mono_ms() < deadline) {
		rc_log_debug("dps: status %d, again in %ds", w.status,
		    clamp_retry(w.retry_after));
		if ((rc = mqtt_wait(&q, clamp_retry(w.retry_after) * 1000LL)) !=
		    RC_OK)
			break;
		if (w.status == 202)
			rc = mqtt_ask(&q, &w, ++a->rid, r->operation_id, " ", 1,
			    deadline);
		else
			rc = mqtt_ask(&q, &w, ++a->rid, NULL, body, len,
			    deadline);
		if (rc == RC_OK)
			rc_agent_dps_reply_clear(r);
	}
	if (rc == RC_OK && again)
		rc = RC_EIO;
out:
	rc_free(w.body);
	agent_mqtt_close(&q);
	return rc;
}

/* HTTPS (§3). */

struct hresp {
	struct rc_wbuf body;
	int retry_after;
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct hresp *h = arg;

	if (rc_wbuf_append(&h->body, p, size * n) != RC_OK)
		return 0;
	return size * n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct hresp *h = arg;
	size_t len = size * n;

	if (len > 12 && strncasecmp(p, "retry-after:", 12) == 0)
		h->retry_after = (int)strtol(p + 12, NULL, 10);
	return len;
}

static int
http_call(const struct rc_agent_conf *c, const struct agent_ident *id,
    const char *url, const char *body, struct hresp *h, long *status)
{
	struct curl_slist *hdr = NULL;
	CURL *cu;
	CURLcode cc;

	*status = 0;
	rc_wbuf_reset(&h->body);
	h->retry_after = 0;
	if ((cu = curl_easy_init()) == NULL)
		return RC_ENOMEM;
	hdr = curl_slist_append(hdr, "content-type: application/json");
	hdr = curl_slist_append(hdr, "accept: application/json");
	curl_easy_setopt(cu, CURLOPT_URL, url);
	curl_easy_setopt(cu, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(cu, CURLOPT_CAINFO, c->trust_bundle);
	curl_easy_setopt(cu, CURLOPT_SSLCERT, id->chain);
	curl_easy_setopt(cu, CURLOPT_SSLKEY, id->key);
	if (id->engine) {
		curl_easy_setopt(cu, CURLOPT_SSLENGINE, "pkcs11");
		curl_easy_setopt(cu, CURLOPT_SSLKEYTYPE, "ENG");
	}
	curl_easy_setopt(cu, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(cu, CURLOPT_TIMEOUT, (long)c->op_timeout);
	curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(cu, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(cu, CURLOPT_HEADERDATA, h);
	if (body != NULL) {
		curl_easy_setopt(cu, CURLOPT_CUSTOMREQUEST, "PUT");
		curl_easy_setopt(cu, CURLOPT_POSTFIELDS, body);
	}
	if ((cc = curl_easy_perform(cu)) == CURLE_OK)
		curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, status);
	else
		rc_log_warnx("dps: %s: %s", url, curl_easy_strerror(cc));
	curl_slist_free_all(hdr);
	curl_easy_cleanup(cu);
	return cc == CURLE_OK ? RC_OK : RC_EIO;
}

static int
http_register(struct rc_agent *a, const struct agent_ident *id,
    const char *body, struct rc_agent_dps_reply *r)
{
	const struct rc_agent_conf *c = a->conf;
	struct hresp h;
	struct mwait w = {0};
	char url[1024], poll[1024], opid[129];
	long status;
	long long deadline = mono_ms() + c->op_timeout * 1000;
	int rc, again = 1;

	rc_wbuf_init(&h.body, RC_AGENT_DPS_REPLY_MAX);
	snprintf(url, sizeof(url),
	    "https://%s:%lld/%s/registrations/%s/"
	    "register?api-version=" API_VERSION,
	    c->dps_host, c->dps_port, c->id_scope, c->registration_id);
	rc = http_call(c, id, url, body, &h, &status);
	for (;;) {
		if (rc != RC_OK)
			break;
		w.status = (int)status;
		w.body = (char *)h.body.data;
		w.len = h.body.len;
		w.retry_after = h.retry_after;
		if ((rc = take_reply(&w, r, &again)) != RC_OK || !again ||
		    mono_ms() >= deadline)
			break;
		sleep((unsigned)clamp_retry(h.retry_after));
		snprintf(opid, sizeof(opid), "%s", r->operation_id);
		rc_agent_dps_reply_clear(r);
		if (w.status != 202) {
			rc = http_call(c, id, url, body, &h, &status);
			continue;
		}
		snprintf(poll, sizeof(poll),
		    "https://%s:%lld/%s/registrations/%s/operations/%s"
		    "?api-version=" API_VERSION,
		    c->dps_host, c->dps_port, c->id_scope, c->registration_id,
		    opid);
		rc = http_call(c, id, poll, NULL, &h, &status);
	}
	if (rc == RC_OK && again)
		rc = RC_EIO;
	rc_wbuf_free(&h.body);
	return rc;
}

int
agent_dps_register(struct rc_agent *a, const struct agent_ident *id,
    X509_REQ *csr, struct rc_agent_dps_reply *r)
{
	char *body = NULL;
	size_t len;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = register_body(a->conf->registration_id, csr, &body, &len)) !=
	    RC_OK)
		return rc;
	rc_log_info("dps: registering %s over %s%s", a->conf->registration_id,
	    a->conf->transport == RC_AGENT_HTTPS ? "https" : "mqtt",
	    csr != NULL ? " with a CSR" : "");
	if (a->conf->transport == RC_AGENT_HTTPS)
		rc = http_register(a, id, body, r);
	else
		rc = mqtt_register(a, id, body, len, r);
	rc_free(body);
	return rc;
}
