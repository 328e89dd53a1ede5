/*
 * Direct methods (reference/azure-service-api.md §4.2) and the telemetry
 * log (rollcall's own GET /events, docs/api.md).
 *
 * A method call hands the request to the session layer and waits on a
 * condition variable for its answer.  The waiter and the session layer
 * share the wait record and the last of the two to let go frees it, so an
 * answer that arrives after the waiter gave up touches nothing freed.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "rollcall/enc.h"
#include "rollcall/json.h"
#include "rollcall/mem.h"
#include "service_impl.h"

/* Seconds the waiter allows beyond the method's own timeout. */
#define METHOD_GRACE 5
/* GET /events: default and largest page, longest long-poll. */
#define EVENTS_DEFAULT 100
#define EVENTS_MAX 1000
#define EVENTS_WAIT_MAX 60

struct wait {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs;
	int done;
	int rc;
	int status;
	json_t *payload;
};

static void
wait_unref(struct wait *w)
{
	int last;

	pthread_mutex_lock(&w->mu);
	last = --w->refs == 0;
	pthread_mutex_unlock(&w->mu);
	if (!last)
		return;
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	json_decref(w->payload);
	rc_free(w);
}

static void
method_done(void *arg, int rc, int status, const char *payload_json)
{
	struct wait *w = arg;
	json_t *p = NULL;

	if (rc == RC_OK && payload_json != NULL)
		p = json_loads(payload_json, JSON_DECODE_ANY, NULL);
	pthread_mutex_lock(&w->mu);
	w->done = 1;
	w->rc = rc;
	w->status = status;
	w->payload = p != NULL ? p : json_null();
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	wait_unref(w);
}

static void
deadline_in(struct timespec *ts, int seconds)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += seconds;
}

static struct wait *
wait_new(void)
{
	struct wait *w;
	pthread_condattr_t ca;

	if ((w = rc_calloc(1, sizeof(*w))) == NULL)
		return NULL;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	w->refs = 2;
	return w;
}

int
hub_method_call(struct hub_service *hs, const char *device_id,
    const char *method, const char *payload_json, int timeout_s, int *status,
    json_t **payload)
{
	struct timespec until;
	struct wait *w;
	int rc;

	*status = 0;
	*payload = NULL;
	if (hs->ops.method_invoke == NULL)
		return RC_ENOENT;
	if ((w = wait_new()) == NULL)
		return RC_ENOMEM;
	rc = hs->ops.method_invoke(hs->ops.arg, device_id, method, payload_json,
	    timeout_s, method_done, w);
	if (rc != RC_OK) {
		w->refs = 1; /* done will never be called */
		wait_unref(w);
		return rc;
	}
	deadline_in(&until, timeout_s + METHOD_GRACE);
	pthread_mutex_lock(&w->mu);
	while (!w->done &&
	    pthread_cond_timedwait(&w->cv, &w->mu, &until) != ETIMEDOUT)
		;
	rc = w->done ? w->rc : RC_EEXPIRED;
	if (rc == RC_OK) {
		*status = w->status;
		*payload = json_incref(w->payload);
	}
	pthread_mutex_unlock(&w->mu);
	wait_unref(w);
	return rc;
}

/* The method request body: methodName, payload, timeouts. */
static int
method_in(json_t *body, const char **name, char **payload, long long *timeout,
    struct hub_err *e)
{
	json_t *p;

	*payload = NULL;
	if (!json_is_object(body) ||
	    rc_json_get_str(body, "methodName", 1, name) != RC_OK ||
	    (*name)[0] == '\0')
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "the body must be {\"methodName\": \"...\", ...}");
	if (rc_json_get_int(body, "responseTimeoutInSeconds", 0, 0,
	        HUB_METHOD_TIMEOUT_MAX, timeout) != RC_OK)
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "responseTimeoutInSeconds must be 0..%d",
		    HUB_METHOD_TIMEOUT_MAX);
	if (*timeout == 0)
		*timeout = HUB_METHOD_TIMEOUT_DEFAULT;
	p = json_object_get(body, "payload");
	/* §4.2: no payload is sent to the device as null. */
	*payload = json_dumps(p != NULL ? p : json_null(),
	    JSON_COMPACT | JSON_ENCODE_ANY);
	if (*payload == NULL)
		return hub_err_set(e, RC_ENOMEM, 500, HUB_E_INTERNAL,
		    "out of memory");
	return RC_OK;
}

static int
method_result(struct hub_req *r, const char *id, int rc, int status,
    json_t *payload, struct hub_err *e)
{
	json_t *j;

	switch (rc) {
	case RC_OK:
		break;
	case RC_ENOENT:
		return hub_err_set(e, rc, 404, HUB_E_NOT_ONLINE,
		    "Timed out waiting for device %s to connect.", id);
	case RC_EEXPIRED:
		return hub_err_set(e, rc, 504, HUB_E_TIMEOUT,
		    "Timed out waiting for the response from device %s.", id);
	default:
		return hub_err_set(e, rc, 500, HUB_E_INTERNAL,
		    "the method call to device %s failed: %s", id,
		    rc_strerror(rc));
	}
	j = json_pack("{s:i, s:O}", "status", status, "payload", payload);
	hub_reply_json(r, 200, j);
	json_decref(j);
	return RC_OK;
}

void
hub_methods(struct hub_req *r, const char *id)
{
	struct rc_hub_device *d = NULL;
	struct hub_err e;
	json_t *body = NULL, *payload = NULL;
	const char *name;
	char *req_payload = NULL;
	long long timeout;
	int rc, status;

	if (r->http->method != RC_HTTP_POST) {
		hub_reply_method(r, "POST");
		return;
	}
	if (!hub_need(r, RC_RIGHT_SERVICE_CONNECT))
		return;
	rc = hub_body_json(r, &body, &e);
	if (rc == RC_ENOENT)
		rc = hub_err_set(&e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "the body must be a method request");
	if (rc != RC_OK ||
	    (rc = method_in(body, &name, &req_payload, &timeout, &e)) != RC_OK)
		goto out;
	if ((rc = rc_store_hub_device_get(r->hs->store, r->hs->hub, id, &d)) !=
	    RC_OK) {
		hub_err_store(&e, rc, id);
		goto out;
	}
	rc = hub_method_call(r->hs, id, name, req_payload, (int)timeout,
	    &status, &payload);
	rc = method_result(r, id, rc, status, payload, &e);
out:
	if (rc != RC_OK)
		hub_reply_err(r, &e);
	json_decref(body);
	json_decref(payload);
	rc_free(req_payload);
	rc_hub_device_free(d);
}

/* One event as the API shows it. */
static json_t *
event_json(const struct rc_hub_event *ev)
{
	json_t *j, *body = NULL;
	char *b64 = NULL;

	if (rc_b64_encode(ev->body, ev->body_len, &b64) != RC_OK)
		return NULL;
	if (ev->body_len > 0)
		body = json_loadb((const char *)ev->body, ev->body_len,
		    JSON_DECODE_ANY, NULL);
	j = json_pack("{s:I, s:s, s:o, s:O?, s:s, s:o*}", "sequenceNumber",
	    (json_int_t)ev->seq, "deviceId", ev->device_id, "enqueuedTime",
	    hub_time_json(ev->time), "properties", ev->props, "bodyBase64", b64,
	    "body", body);
	rc_free(b64);
	return j;
}

static int
query_num(struct hub_req *r, const char *name, long long min, long long max,
    long long *out, struct hub_err *e)
{
	char buf[24];
	int rc;

	rc = rc_http_query_param(r->http, name, buf, sizeof(buf));
	if (rc == RC_ENOENT)
		return RC_OK;
	if (rc != RC_OK || rc_strtonum(buf, min, max, out) != RC_OK)
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "%s must be a number from %lld to %lld", name, min, max);
	return RC_OK;
}

/*
 * Reads the log; with wait, sleeps until an append is announced
 * (hub_service_events_notify) or a second passes, and reads again, until
 * something comes or wait seconds are over.
 */
static int
events_read(struct hub_service *hs, long long after, long long max,
    long long wait, struct rc_hub_event ***v, size_t *n)
{
	struct timespec until;
	time_t end = time(NULL) + (time_t)wait;
	uint64_t gen;
	int rc;

	for (;;) {
		pthread_mutex_lock(&hs->ev_mu);
		gen = hs->ev_gen;
		pthread_mutex_unlock(&hs->ev_mu);
		rc = rc_store_hub_event_read(hs->store, hs->hub, after,
		    (size_t)max, v, n);
		if (rc != RC_OK || *n > 0 || time(NULL) >= end)
			return rc;
		rc_hub_event_list_free(*v, *n);
		*v = NULL;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_mutex_lock(&hs->ev_mu);
		if (hs->ev_gen == gen)
			pthread_cond_timedwait(&hs->ev_cv, &hs->ev_mu, &until);
		pthread_mutex_unlock(&hs->ev_mu);
	}
}

void
hub_events(struct hub_req *r)
{
	struct rc_hub_event **v = NULL;
	long long after = 0, max = EVENTS_DEFAULT, wait = 0;
	int64_t first = 0, last = 0;
	struct hub_err e;
	json_t *arr = NULL, *j = NULL;
	size_t i, n = 0;
	int rc;

	if (r->nsegs != 1) {
		hub_reply_error(r, 404, HUB_E_NOT_FOUND, "no such path");
		return;
	}
	if (r->http->method != RC_HTTP_GET) {
		hub_reply_method(r, "GET");
		return;
	}
	if (!hub_need(r, RC_RIGHT_SERVICE_CONNECT))
		return;
	if ((rc = query_num(r, "after", 0, INT64_MAX, &after, &e)) != RC_OK ||
	    (rc = query_num(r, "max", 1, EVENTS_MAX, &max, &e)) != RC_OK ||
	    (rc = query_num(r, "wait", 0, EVENTS_WAIT_MAX, &wait, &e)) != RC_OK)
		goto out;
	if ((rc = events_read(r->hs, after, max, wait, &v, &n)) != RC_OK ||
	    (rc = rc_store_hub_event_bounds(r->hs->store, r->hs->hub, &first,
	         &last)) != RC_OK ||
	    (arr = json_array()) == NULL) {
		hub_err_set(&e, rc, 500, HUB_E_INTERNAL, "the event log: %s",
		    rc_strerror(rc != RC_OK ? rc : RC_ENOMEM));
		rc = rc != RC_OK ? rc : RC_ENOMEM;
		goto out;
	}
	for (i = 0; rc == RC_OK && i < n; i++)
		if (json_array_append_new(arr, event_json(v[i])) != 0)
			rc = hub_err_set(&e, RC_ENOMEM, 500, HUB_E_INTERNAL,
			    "out of memory");
	if (rc == RC_OK)
		j = json_pack("{s:O, s:I, s:I, s:I}", "events", arr, "first",
		    (json_int_t)first, "last", (json_int_t)last, "next",
		    (json_int_t)(n > 0 ? v[n - 1]->seq : after));
out:
	if (rc != RC_OK)
		hub_reply_err(r, &e);
	else
		hub_reply_json(r, 200, j);
	json_decref(j);
	json_decref(arr);
	rc_hub_event_list_free(v, n);
}
