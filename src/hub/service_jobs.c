/*
 * Jobs v2 over the hub service API (reference/azure-service-api.md §4.3):
 *
 *	PUT	/jobs/v2/{jobId}		create: answers status "queued"
 *	GET	/jobs/v2/{jobId}
 *	POST	/jobs/v2/{jobId}/cancel
 *	GET	/jobs/v2/query?jobType=&jobStatus=	(paged, an array)
 *
 * One runner thread per hub takes queued jobs whose startTime has come,
 * in job ID order, one at a time: running, then each device the
 * queryCondition selects (the IDs it names when it names them, else a
 * scan), then completed -- or failed when maxExecutionTimeInSeconds
 * passes, or cancelled when a cancel lands between two devices.  The
 * statistics are written after every device.  A job that was running
 * when the daemon stopped is taken up again from the start.
 */
#include <string.h>
#include <strings.h>
#include <time.h>

#include "hub/query.h"
#include "rollcall/json.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"
#include "service_impl.h"

#define RUNNER_WHO "hub-job-runner"
/* How often the runner looks for due jobs when nobody kicks it. */
#define RUNNER_TICK 1

struct stats {
	long long device, failed, succeeded, running, pending;
};

static json_t *
stats_json(const struct stats *s)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I}", "deviceCount",
	    (json_int_t)s->device, "failedCount", (json_int_t)s->failed,
	    "succeededCount", (json_int_t)s->succeeded, "runningCount",
	    (json_int_t)s->running, "pendingCount", (json_int_t)s->pending);
}

static int
job_to_json(const struct rc_hub_job *j, json_t **out)
{
	json_t *o;

	*out = NULL;
	o = json_pack("{s:s, s:s, s:s?, s:o, s:o, s:o, s:I, s:s, s:s?, s:O?, "
	              "s:O?, s:O?}",
	    "jobId", j->job_id, "type", j->type, "queryCondition",
	    j->query_condition, "createdTime", hub_time_json(j->created),
	    "startTime", hub_time_json(j->start_time), "endTime",
	    hub_time_json(j->end_time), "maxExecutionTimeInSeconds",
	    (json_int_t)j->max_execution_time, "status",
	    rc_hub_job_status_name(j->status), "failureReason",
	    j->failure_reason, "cloudToDeviceMethod", j->method, "updateTwin",
	    j->twin, "deviceJobStatistics", j->statistics);
	if (o == NULL)
		return RC_ENOMEM;
	*out = o;
	return RC_OK;
}

static void
reply_job(struct hub_req *r, int status, const struct rc_hub_job *j)
{
	json_t *o = NULL;

	if (job_to_json(j, &o) != RC_OK)
		hub_reply_error(r, 500, HUB_E_INTERNAL, "out of memory");
	else
		hub_reply_json(r, status, o);
	json_decref(o);
}

static int
job_err(struct hub_err *e, int rc, const char *id)
{
	if (rc == RC_ENOENT)
		return hub_err_set(e, rc, 404, HUB_E_NO_JOB, "Job %s not found",
		    id);
	if (rc == RC_EEXIST)
		return hub_err_set(e, rc, 409, HUB_E_JOB_EXISTS,
		    "Job %s already exists", id);
	if (rc == RC_ESTALE)
		return hub_err_set(e, rc, 400, HUB_E_ARGUMENT,
		    "Job %s has already ended", id);
	return hub_err_store(e, rc, id);
}

/* The body of PUT /jobs/v2/{id} into a job record. */
static int
job_in(struct hub_req *r, json_t *b, const char *id, struct rc_hub_job *j,
    struct hub_err *e)
{
	const char *s, *type;
	struct hub_query *q = NULL;
	char why[256];
	long long max;
	int rc;

	if (!json_is_object(b) || rc_json_get_str(b, "type", 1, &type) != RC_OK)
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "the body must be a job with a type");
	if ((s = json_string_value(json_object_get(b, "jobId"))) != NULL &&
	    strcmp(s, id) != 0)
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "jobId in the body does not match the path");
	j->hub = r->hs->hub;
	j->job_id = (char *)(uintptr_t)id;
	if (strcmp(type, RC_HUB_JOB_METHOD) == 0)
		j->method = json_object_get(b, "cloudToDeviceMethod");
	else if (strcmp(type, RC_HUB_JOB_TWIN) == 0)
		j->twin = json_object_get(b, "updateTwin");
	else
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "type must be scheduleDeviceMethod or scheduleUpdateTwin");
	j->type = (char *)(uintptr_t)type;
	if (!json_is_object(j->method) && !json_is_object(j->twin))
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "a %s job needs its %s object", type,
		    j->twin == NULL ? "cloudToDeviceMethod" : "updateTwin");
	if (j->method != NULL &&
	    json_string_value(json_object_get(j->method, "methodName")) == NULL)
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "cloudToDeviceMethod.methodName is missing");
	s = json_string_value(json_object_get(b, "queryCondition"));
	j->query_condition = (char *)(uintptr_t)(s != NULL ? s : "*");
	why[0] = '\0';
	rc = hub_query_parse_condition(j->query_condition,
	    strlen(j->query_condition), &q, why, sizeof(why));
	hub_query_free(q);
	if (rc != RC_OK)
		return hub_err_set(e, rc, 400, HUB_E_ARGUMENT,
		    "queryCondition: %s",
		    why[0] != '\0' ? why : rc_strerror(rc));
	s = json_string_value(json_object_get(b, "startTime"));
	j->start_time = (int64_t)time(NULL);
	if (s != NULL && hub_time_parse(s, &j->start_time) != RC_OK)
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "startTime must be an ISO 8601 UTC time");
	if (rc_json_get_int(b, "maxExecutionTimeInSeconds", 0, 0, 86400 * 30,
	        &max) != RC_OK)
		return hub_err_set(e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "maxExecutionTimeInSeconds must be 0..2592000");
	j->max_execution_time = max != 0 ? max : 3600;
	return RC_OK;
}

static void
job_put(struct hub_req *r, const char *id)
{
	struct rc_hub_job in, *out = NULL;
	struct rc_store_ctx ctx;
	struct hub_err e;
	json_t *body = NULL;
	int rc;

	if (!hub_need(r, RC_RIGHT_REGISTRY_WRITE | RC_RIGHT_SERVICE_CONNECT))
		return;
	memset(&in, 0, sizeof(in));
	rc = hub_body_json(r, &body, &e);
	if (rc == RC_ENOENT)
		rc = hub_err_set(&e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "the body must be a job");
	if (rc == RC_OK && (rc = job_in(r, body, id, &in, &e)) == RC_OK) {
		hub_store_ctx(r, NULL, &ctx);
		if ((rc = rc_store_hub_job_put(r->hs->store, &ctx, &in,
		         &out)) != RC_OK)
			job_err(&e, rc, id);
	}
	if (rc != RC_OK)
		hub_reply_err(r, &e);
	else {
		reply_job(r, 200, out);
		hub_jobs_kick(r->hs);
	}
	rc_hub_job_free(out);
	json_decref(body);
}

static void
job_get(struct hub_req *r, const char *id)
{
	struct rc_hub_job *j = NULL;
	struct hub_err e;
	int rc;

	if (!hub_need(r, RC_RIGHT_REGISTRY_READ | RC_RIGHT_SERVICE_CONNECT))
		return;
	if ((rc = rc_store_hub_job_get(r->hs->store, r->hs->hub, id, &j)) !=
	    RC_OK) {
		job_err(&e, rc, id);
		hub_reply_err(r, &e);
		return;
	}
	reply_job(r, 200, j);
	rc_hub_job_free(j);
}

static void
job_cancel(struct hub_req *r, const char *id)
{
	struct rc_hub_job *j = NULL;
	struct rc_store_ctx ctx;
	struct hub_err e;
	int rc;

	if (!hub_need(r, RC_RIGHT_REGISTRY_WRITE | RC_RIGHT_SERVICE_CONNECT))
		return;
	hub_store_ctx(r, NULL, &ctx);
	if ((rc = rc_store_hub_job_update(r->hs->store, &ctx, r->hs->hub, id,
	         RC_HUB_JOB_CANCELLED, NULL, NULL, &j)) != RC_OK) {
		job_err(&e, rc, id);
		hub_reply_err(r, &e);
		return;
	}
	reply_job(r, 200, j);
	rc_hub_job_free(j);
}

static int
status_of(const char *s)
{
	int i;

	for (i = RC_HUB_JOB_QUEUED; i <= RC_HUB_JOB_CANCELLED; i++)
		if (strcasecmp(s, rc_hub_job_status_name(i)) == 0)
			return i;
	return -2;
}

static void
job_query(struct hub_req *r)
{
	struct rc_hub_job **v = NULL;
	char type[64], st[32], *after = NULL, *next = NULL;
	struct hub_err e;
	json_t *arr = NULL, *o;
	size_t max, n = 0, i;
	int rc, status = -1, want_type;

	if (!hub_need(r, RC_RIGHT_REGISTRY_READ | RC_RIGHT_SERVICE_CONNECT))
		return;
	if ((rc = hub_page_in(r, &max, &after, &e)) != RC_OK)
		goto out;
	want_type = rc_http_query_param(r->http, "jobType", type,
	                sizeof(type)) == RC_OK;
	if (rc_http_query_param(r->http, "jobStatus", st, sizeof(st)) ==
	        RC_OK &&
	    (status = status_of(st)) == -2) {
		rc = hub_err_set(&e, RC_EINVAL, 400, HUB_E_ARGUMENT,
		    "unknown jobStatus");
		goto out;
	}
	if ((rc = rc_store_hub_job_list(r->hs->store, r->hs->hub, status, after,
	         max, &v, &n, &next)) != RC_OK ||
	    (arr = json_array()) == NULL) {
		hub_err_store(&e, rc != RC_OK ? rc : RC_ENOMEM, "-");
		rc = rc != RC_OK ? rc : RC_ENOMEM;
		goto out;
	}
	for (i = 0; rc == RC_OK && i < n; i++) {
		if (want_type && strcmp(v[i]->type, type) != 0)
			continue;
		if ((rc = job_to_json(v[i], &o)) != RC_OK ||
		    json_array_append_new(arr, o) != 0)
			rc = hub_err_set(&e, RC_ENOMEM, 500, HUB_E_INTERNAL,
			    "out of memory");
	}
out:
	if (rc != RC_OK)
		hub_reply_err(r, &e);
	else
		hub_page_reply(r, arr, "JobResponse", next);
	json_decref(arr);
	rc_hub_job_list_free(v, n);
	rc_free(after);
	rc_free(next);
}

void
hub_jobs(struct hub_req *r)
{
	enum rc_http_method m = r->http->method;

	if (r->nsegs < 3 || strcasecmp(r->segs[1], "v2") != 0 || r->nsegs > 4) {
		hub_reply_error(r, 404, HUB_E_NOT_FOUND, "no such path");
		return;
	}
	if (r->nsegs == 3 && strcasecmp(r->segs[2], "query") == 0 &&
	    m == RC_HTTP_GET)
		job_query(r);
	else if (r->nsegs == 4 && strcasecmp(r->segs[3], "cancel") == 0)
		m == RC_HTTP_POST ? job_cancel(r, r->segs[2])
		                  : hub_reply_method(r, "POST");
	else if (r->nsegs == 4)
		hub_reply_error(r, 404, HUB_E_NOT_FOUND, "no such path");
	else if (m == RC_HTTP_PUT)
		job_put(r, r->segs[2]);
	else if (m == RC_HTTP_GET)
		job_get(r, r->segs[2]);
	else
		hub_reply_method(r, "GET, PUT");
}

/* The runner. */

/* One device of a job: the method call or the twin update. */
static int
run_device(struct hub_service *hs, const struct rc_hub_job *j, const char *id)
{
	struct rc_hub_twin_patch p;
	struct rc_store_ctx ctx = {RUNNER_WHO, NULL};
	struct rc_hub_device *d = NULL;
	json_t *payload = NULL, *tw;
	char *req = NULL;
	long long t;
	int rc, status = 0;

	if (j->method != NULL) {
		t = json_integer_value(
		    json_object_get(j->method, "responseTimeoutInSeconds"));
		t = t > 0 && t <= HUB_METHOD_TIMEOUT_MAX
		    ? t
		    : HUB_METHOD_TIMEOUT_DEFAULT;
		tw = json_object_get(j->method, "payload");
		if ((req = json_dumps(tw != NULL ? tw : json_null(),
		         JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
			return RC_ENOMEM;
		rc = hub_method_call(hs, id,
		    json_string_value(json_object_get(j->method, "methodName")),
		    req, (int)t, &status, &payload);
		rc_free(req);
		json_decref(payload);
		/* A device that answers with an error status failed. */
		return rc == RC_OK && (status < 200 || status > 299) ? RC_EIO
		                                                     : rc;
	}
	memset(&p, 0, sizeof(p));
	p.tags = json_object_get(j->twin, "tags");
	tw = json_object_get(j->twin, "properties");
	p.desired = json_object_get(tw, "desired");
	if (!json_is_object(p.tags))
		p.tags = NULL;
	if (!json_is_object(p.desired))
		p.desired = NULL;
	rc = rc_store_hub_twin_update(hs->store, &ctx, hs->hub, id, &p, &d);
	if (rc == RC_OK && p.desired != NULL && hs->ops.desired_push != NULL)
		hs->ops.desired_push(hs->ops.arg, id, d->desired,
		    (long long)d->desired_version);
	rc_hub_device_free(d);
	return rc;
}

/* The IDs of the devices the job's condition selects, as a JSON array. */
static int
job_targets(struct hub_service *hs, const struct rc_hub_job *j, json_t **out)
{
	struct hub_query *q = NULL;
	char *after = NULL, *next = NULL;
	json_t *ids = NULL, *page = NULL, *t;
	const char *cond =
	    j->query_condition != NULL ? j->query_condition : "*";
	size_t i;
	int rc;

	*out = NULL;
	if ((rc = hub_query_parse_condition(cond, strlen(cond), &q, NULL, 0)) !=
	    RC_OK)
		return rc;
	if ((ids = json_array()) == NULL)
		rc = RC_ENOMEM;
	while (rc == RC_OK) {
		rc = hub_query_run(hs, q, after, HUB_PAGE_MAX, &page, &next);
		json_array_foreach(rc == RC_OK ? page : NULL, i, t)
		{
			if (json_array_append(ids,
			        json_object_get(t, "deviceId")) != 0)
				rc = RC_ENOMEM;
		}
		json_decref(page);
		page = NULL;
		rc_free(after);
		after = next;
		next = NULL;
		if (after == NULL)
			break;
	}
	rc_free(after);
	hub_query_free(q);
	if (rc != RC_OK) {
		json_decref(ids);
		return rc;
	}
	*out = ids;
	return RC_OK;
}

/* Writes status and statistics; RC_ESTALE when the job was cancelled. */
static int
job_status(struct hub_service *hs, const struct rc_hub_job *j,
    enum rc_hub_job_status st, const struct stats *s, const char *why)
{
	struct rc_store_ctx ctx = {RUNNER_WHO, NULL};
	struct rc_hub_job *out = NULL;
	json_t *js = stats_json(s);
	int rc;

	rc = rc_store_hub_job_update(hs->store, &ctx, hs->hub, j->job_id, st,
	    js, why, &out);
	json_decref(js);
	rc_hub_job_free(out);
	return rc;
}

static int
stopping(struct hub_service *hs)
{
	int stop;

	pthread_mutex_lock(&hs->job_mu);
	stop = hs->job_stop;
	pthread_mutex_unlock(&hs->job_mu);
	return stop;
}

static int
cancelled(struct hub_service *hs, const struct rc_hub_job *j)
{
	struct rc_hub_job *cur = NULL;
	int c;

	if (rc_store_hub_job_get(hs->store, hs->hub, j->job_id, &cur) != RC_OK)
		return 1;
	c = cur->status == RC_HUB_JOB_CANCELLED;
	rc_hub_job_free(cur);
	return c;
}

static void
run_job(struct hub_service *hs, const struct rc_hub_job *j)
{
	struct stats s = {0, 0, 0, 0, 0};
	json_t *ids = NULL;
	time_t end = time(NULL) + (time_t)j->max_execution_time;
	size_t i;
	int rc;

	rc_log_info("hub %s: job %s (%s) starts", hs->hub, j->job_id, j->type);
	if ((rc = job_targets(hs, j, &ids)) != RC_OK) {
		(void)job_status(hs, j, RC_HUB_JOB_FAILED, &s,
		    "the devices of the job could not be selected");
		return;
	}
	s.device = s.pending = (long long)json_array_size(ids);
	if (job_status(hs, j, RC_HUB_JOB_RUNNING, &s, NULL) != RC_OK)
		goto out;
	for (i = 0; i < json_array_size(ids); i++) {
		if (cancelled(hs, j) || stopping(hs))
			goto out;
		if (time(NULL) > end) {
			(void)job_status(hs, j, RC_HUB_JOB_FAILED, &s,
			    "maxExecutionTimeInSeconds passed");
			goto out;
		}
		s.pending--;
		s.running = 1;
		(void)job_status(hs, j, RC_HUB_JOB_RUNNING, &s, NULL);
		rc = run_device(hs, j,
		    json_string_value(json_array_get(ids, i)));
		s.running = 0;
		rc == RC_OK ? s.succeeded++ : s.failed++;
	}
	(void)job_status(hs, j, RC_HUB_JOB_COMPLETED, &s, NULL);
	rc_log_info("hub %s: job %s completed: %lld of %lld devices failed",
	    hs->hub, j->job_id, s.failed, s.device);
out:
	json_decref(ids);
}

/* The next due job (queued, or running from before a restart). */
static int
next_job(struct hub_service *hs, struct rc_hub_job **out)
{
	static const int order[] = {RC_HUB_JOB_RUNNING, RC_HUB_JOB_QUEUED};
	struct rc_hub_job **v = NULL;
	char *after = NULL, *next = NULL;
	size_t i, k, n = 0;
	int rc = RC_OK;

	*out = NULL;
	for (k = 0; k < 2 && *out == NULL && rc == RC_OK; k++) {
		do {
			rc = rc_store_hub_job_list(hs->store, hs->hub, order[k],
			    after, HUB_PAGE_MAX, &v, &n, &next);
			for (i = 0; rc == RC_OK && i < n && *out == NULL; i++)
				if (v[i]->start_time <= (int64_t)time(NULL)) {
					*out = v[i];
					v[i] = NULL;
				}
			rc_hub_job_list_free(v, n);
			v = NULL;
			n = 0;
			rc_free(after);
			after = next;
			next = NULL;
		} while (rc == RC_OK && *out == NULL && after != NULL);
		rc_free(after);
		after = NULL;
	}
	return rc;
}

static void *
runner(void *arg)
{
	struct hub_service *hs = arg;
	struct rc_hub_job *j;
	struct timespec until;

	for (;;) {
		pthread_mutex_lock(&hs->job_mu);
		while (!hs->job_stop && !hs->job_kick) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += RUNNER_TICK;
			if (pthread_cond_timedwait(&hs->job_cv, &hs->job_mu,
			        &until) != 0)
				break;
		}
		hs->job_kick = 0;
		if (hs->job_stop) {
			pthread_mutex_unlock(&hs->job_mu);
			return NULL;
		}
		pthread_mutex_unlock(&hs->job_mu);
		while (
		    !stopping(hs) && next_job(hs, &j) == RC_OK && j != NULL) {
			run_job(hs, j);
			rc_hub_job_free(j);
		}
	}
}

int
hub_jobs_start(struct hub_service *hs)
{
	if (pthread_create(&hs->job_thread, NULL, runner, hs) != 0)
		return RC_ENOMEM;
	hs->job_started = 1;
	return RC_OK;
}

void
hub_jobs_kick(struct hub_service *hs)
{
	pthread_mutex_lock(&hs->job_mu);
	hs->job_kick = 1;
	pthread_cond_signal(&hs->job_cv);
	pthread_mutex_unlock(&hs->job_mu);
}

void
hub_jobs_stop(struct hub_service *hs)
{
	if (!hs->job_started)
		return;
	pthread_mutex_lock(&hs->job_mu);
	hs->job_stop = 1;
	pthread_cond_signal(&hs->job_cv);
	pthread_mutex_unlock(&hs->job_mu);
	pthread_join(hs->job_thread, NULL);
	hs->job_started = 0;
}
