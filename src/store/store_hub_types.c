/*
 * Constructors, copies and destructors of the hub records (store.h).
 * Every free is NULL-safe and releases what the record owns.
 */
#include <string.h>

#include "rollcall/mem.h"
#include "store_int.h"

struct rc_hub_device *
rc_hub_device_new(void)
{
	struct rc_hub_device *d;

	if ((d = rc_calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->enabled = 1;
	d->desired_version = d->reported_version = 1;
	d->tags = json_object();
	d->desired = json_object();
	d->reported = json_object();
	if (d->tags == NULL || d->desired == NULL || d->reported == NULL) {
		rc_hub_device_free(d);
		return NULL;
	}
	return d;
}

static int
dup_str(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL)
		return 1;
	return (*out = rc_strdup(s)) != NULL;
}

static int
dup_json(const json_t *v, json_t **out)
{
	*out = NULL;
	if (v == NULL)
		return 1;
	return (*out = json_deep_copy(v)) != NULL;
}

struct rc_hub_device *
rc_hub_device_dup(const struct rc_hub_device *d)
{
	struct rc_hub_device *c;

	if (d == NULL || (c = rc_calloc(1, sizeof(*c))) == NULL)
		return NULL;
	*c = *d;
	c->hub = c->device_id = c->status_reason = NULL;
	c->tags = c->desired = c->reported = NULL;
	if (!dup_str(d->hub, &c->hub) ||
	    !dup_str(d->device_id, &c->device_id) ||
	    !dup_str(d->status_reason, &c->status_reason) ||
	    !dup_json(d->tags, &c->tags) ||
	    !dup_json(d->desired, &c->desired) ||
	    !dup_json(d->reported, &c->reported)) {
		rc_hub_device_free(c);
		return NULL;
	}
	return c;
}

void
rc_hub_device_free(struct rc_hub_device *d)
{
	if (d == NULL)
		return;
	rc_free(d->hub);
	rc_free(d->device_id);
	rc_free(d->status_reason);
	json_decref(d->tags);
	json_decref(d->desired);
	json_decref(d->reported);
	rc_free(d);
}

void
rc_hub_device_list_free(struct rc_hub_device **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		rc_hub_device_free(v[i]);
	rc_free(v);
}

void
rc_hub_event_free(struct rc_hub_event *e)
{
	if (e == NULL)
		return;
	rc_free(e->hub);
	rc_free(e->device_id);
	json_decref(e->props);
	rc_free(e->body);
	rc_free(e);
}

void
rc_hub_event_list_free(struct rc_hub_event **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		rc_hub_event_free(v[i]);
	rc_free(v);
}

void
rc_hub_job_free(struct rc_hub_job *j)
{
	if (j == NULL)
		return;
	rc_free(j->hub);
	rc_free(j->job_id);
	rc_free(j->type);
	rc_free(j->query_condition);
	json_decref(j->method);
	json_decref(j->twin);
	rc_free(j->failure_reason);
	json_decref(j->statistics);
	rc_free(j);
}

void
rc_hub_job_list_free(struct rc_hub_job **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		rc_hub_job_free(v[i]);
	rc_free(v);
}

const char *
rc_hub_job_status_name(enum rc_hub_job_status st)
{
	switch (st) {
	case RC_HUB_JOB_QUEUED:
		return "queued";
	case RC_HUB_JOB_RUNNING:
		return "running";
	case RC_HUB_JOB_COMPLETED:
		return "completed";
	case RC_HUB_JOB_FAILED:
		return "failed";
	case RC_HUB_JOB_CANCELLED:
		return "cancelled";
	default:
		return "unknown";
	}
}
