/*
 * The backend-independent half of the hub records (store.h): argument
 * checks and out-parameter clearing before a backend is called, and the
 * normalised copy of a device (upper-case thumbprints) a backend stores.
 *
 * A device ID is IoT Hub's (azure-service-api.md §4.1): 1..128 ASCII
 * letters, digits and - . + % _ # * ? ! ( ) , : = @ $ '.  It reaches MQTT
 * topics, URLs and logs, so the store refuses anything else whoever the
 * writer is.
 */
#include <string.h>

#include "rollcall/mem.h"
#include "store_int.h"

static const char id_punct[] = "-.+%_#*?!(),:=@$'";

int
rc_hub_device_id_valid(const char *id)
{
	size_t i;

	if (id == NULL || id[0] == '\0')
		return 0;
	for (i = 0; id[i] != '\0'; i++) {
		if (i == RC_HUB_MAX_DEVICE_ID)
			return 0;
		if ((id[i] >= 'a' && id[i] <= 'z') ||
		    (id[i] >= 'A' && id[i] <= 'Z') ||
		    (id[i] >= '0' && id[i] <= '9'))
			continue;
		if (strchr(id_punct, id[i]) == NULL)
			return 0;
	}
	return 1;
}

/*
 * Hub names and job IDs: printable ASCII without '/' (the separator of the
 * audit object), at most RC_HUB_MAX_NAME bytes.
 */
static int
valid_name(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (i == RC_HUB_MAX_NAME || s[i] <= ' ' || s[i] > '~' ||
		    s[i] == '/')
			return 0;
	}
	return 1;
}

static int
valid_ctx(const struct rc_store_ctx *ctx)
{
	return ctx != NULL && ctx->who != NULL && ctx->who[0] != '\0';
}

int
rc_store_hub_object(const char *hub, const char *id, char **out)
{
	size_t len;

	*out = NULL;
	len = strlen(hub) + 1 + strlen(id) + 1;
	if ((*out = rc_malloc(len)) == NULL)
		return RC_ENOMEM;
	memcpy(*out, hub, strlen(hub));
	(*out)[strlen(hub)] = '/';
	memcpy(*out + strlen(hub) + 1, id, strlen(id) + 1);
	return RC_OK;
}

/* A thumbprint slot: "" or 40 / 64 hex digits, copied upper-case. */
static int
norm_thumb(const char *in, char out[65])
{
	size_t len = strlen(in);

	out[0] = '\0';
	if (len == 0)
		return RC_OK;
	if (len != RC_STORE_SHA1_HEX && len != RC_STORE_SHA256_HEX)
		return RC_EINVAL;
	return rc_store_thumb_norm(in, len, out);
}

/*
 * The identity rules of rc_store_hub_device_put, and the normalised
 * thumbprints into p and s.
 */
static int
check_identity(const struct rc_hub_device *d, char p[65], char s[65])
{
	if (!valid_name(d->hub) || !rc_hub_device_id_valid(d->device_id))
		return RC_EINVAL;
	if (d->status_reason != NULL &&
	    strlen(d->status_reason) > RC_HUB_MAX_STATUS_REASON)
		return RC_EINVAL;
	if (norm_thumb(d->primary_thumb, p) != RC_OK ||
	    norm_thumb(d->secondary_thumb, s) != RC_OK)
		return RC_EINVAL;
	switch (d->auth) {
	case RC_HUB_AUTH_SELF_SIGNED:
		return p[0] != '\0' || s[0] != '\0' ? RC_OK : RC_EINVAL;
	case RC_HUB_AUTH_CA:
	case RC_HUB_AUTH_NONE:
		return p[0] == '\0' && s[0] == '\0' ? RC_OK : RC_EINVAL;
	default:
		return RC_EINVAL;
	}
}

int
rc_store_hub_device_put(struct rc_store *s, const struct rc_store_ctx *ctx,
    const struct rc_hub_device *in, struct rc_hub_device **out)
{
	struct rc_hub_device norm;
	int rc;

	*out = NULL;
	if (!valid_ctx(ctx) || in == NULL)
		return RC_EINVAL;
	norm = *in;
	if ((rc = check_identity(in, norm.primary_thumb,
	         norm.secondary_thumb)) != RC_OK)
		return rc;
	/* the initial twin of a create; an update ignores in's twin */
	if (ctx->if_match == NULL &&
	    ((rc = rc_store_hub_twin_check(in->tags)) != RC_OK ||
	        (rc = rc_store_hub_twin_check(in->desired)) != RC_OK))
		return rc;
	return s->ops->hub_device_put(s, ctx, &norm, out);
}

int
rc_store_hub_device_get(struct rc_store *s, const char *hub,
    const char *device_id, struct rc_hub_device **out)
{
	*out = NULL;
	if (!valid_name(hub) || !rc_hub_device_id_valid(device_id))
		return RC_EINVAL;
	return s->ops->hub_device_get(s, hub, device_id, out);
}

int
rc_store_hub_device_delete(struct rc_store *s, const struct rc_store_ctx *ctx,
    const char *hub, const char *device_id)
{
	if (!valid_ctx(ctx) || !valid_name(hub) ||
	    !rc_hub_device_id_valid(device_id))
		return RC_EINVAL;
	return s->ops->hub_device_delete(s, ctx, hub, device_id);
}

int
rc_store_hub_device_list(struct rc_store *s, const char *hub, const char *after,
    size_t max, struct rc_hub_device ***out, size_t *n, char **next)
{
	*out = NULL;
	*n = 0;
	*next = NULL;
	if (!valid_name(hub) || max == 0)
		return RC_EINVAL;
	return s->ops->hub_device_list(s, hub, after, max, out, n, next);
}

int
rc_store_hub_device_find_thumb(struct rc_store *s, const char *thumb,
    struct rc_hub_device ***out, size_t *n)
{
	char t[65];

	*out = NULL;
	*n = 0;
	if (thumb == NULL || thumb[0] == '\0' || norm_thumb(thumb, t) != RC_OK)
		return RC_EINVAL;
	return s->ops->hub_device_find_thumb(s, t, out, n);
}

int
rc_store_hub_device_touch(struct rc_store *s, const char *hub,
    const char *device_id, int64_t when)
{
	if (!valid_name(hub) || !rc_hub_device_id_valid(device_id) || when < 0)
		return RC_EINVAL;
	return s->ops->hub_device_touch(s, hub, device_id, when);
}

int
rc_store_hub_twin_update(struct rc_store *s, const struct rc_store_ctx *ctx,
    const char *hub, const char *device_id, const struct rc_hub_twin_patch *p,
    struct rc_hub_device **out)
{
	*out = NULL;
	if (!valid_ctx(ctx) || !valid_name(hub) ||
	    !rc_hub_device_id_valid(device_id) || p == NULL)
		return RC_EINVAL;
	if (p->tags == NULL && p->desired == NULL && p->reported == NULL)
		return RC_EINVAL;
	return s->ops->hub_twin_update(s, ctx, hub, device_id, p, out);
}

static int
event_ok(const struct rc_hub_event *in)
{
	if (in == NULL || !valid_name(in->hub) ||
	    !rc_hub_device_id_valid(in->device_id) || in->time < 0)
		return RC_EINVAL;
	if (in->props != NULL && !json_is_object(in->props))
		return RC_EINVAL;
	if (in->body == NULL && in->body_len > 0)
		return RC_EINVAL;
	if (in->body_len > RC_HUB_EVENT_MAX_BODY)
		return RC_ETOOBIG;
	return RC_OK;
}

int
rc_store_hub_event_append(struct rc_store *s, const struct rc_hub_event *in,
    size_t retain, int64_t *seq)
{
	return rc_store_hub_event_append_batch(s, &in, 1, retain, seq);
}

int
rc_store_hub_event_append_batch(struct rc_store *s,
    const struct rc_hub_event *const *in, size_t n, size_t retain,
    int64_t *seqs)
{
	size_t i;
	int rc;

	memset(seqs, 0, n * sizeof(*seqs));
	if (n == 0 || retain == 0)
		return RC_EINVAL;
	for (i = 0; i < n; i++)
		if ((rc = event_ok(in[i])) != RC_OK)
			return rc;
	return s->ops->hub_event_append(s, in, n, retain, seqs);
}

int
rc_store_hub_event_read(struct rc_store *s, const char *hub, int64_t after,
    size_t max, struct rc_hub_event ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!valid_name(hub) || after < 0 || max == 0)
		return RC_EINVAL;
	return s->ops->hub_event_read(s, hub, after, max, out, n);
}

int
rc_store_hub_event_bounds(struct rc_store *s, const char *hub, int64_t *first,
    int64_t *last)
{
	*first = 0;
	*last = 0;
	if (!valid_name(hub))
		return RC_EINVAL;
	return s->ops->hub_event_bounds(s, hub, first, last);
}

static int
valid_job(const struct rc_hub_job *j)
{
	if (j == NULL || !valid_name(j->hub) || !valid_name(j->job_id) ||
	    j->type == NULL || j->start_time < 0 || j->max_execution_time < 0)
		return 0;
	if (strcmp(j->type, RC_HUB_JOB_METHOD) == 0)
		return json_is_object(j->method) && j->twin == NULL;
	if (strcmp(j->type, RC_HUB_JOB_TWIN) == 0)
		return json_is_object(j->twin) && j->method == NULL;
	return 0;
}

int
rc_store_hub_job_put(struct rc_store *s, const struct rc_store_ctx *ctx,
    const struct rc_hub_job *in, struct rc_hub_job **out)
{
	*out = NULL;
	if (!valid_ctx(ctx) || !valid_job(in))
		return RC_EINVAL;
	if (in->statistics != NULL && !json_is_object(in->statistics))
		return RC_EINVAL;
	return s->ops->hub_job_put(s, ctx, in, out);
}

int
rc_store_hub_job_get(struct rc_store *s, const char *hub, const char *job_id,
    struct rc_hub_job **out)
{
	*out = NULL;
	if (!valid_name(hub) || !valid_name(job_id))
		return RC_EINVAL;
	return s->ops->hub_job_get(s, hub, job_id, out);
}

static int
valid_status(int status)
{
	return status >= RC_HUB_JOB_QUEUED && status <= RC_HUB_JOB_CANCELLED;
}

int
rc_store_hub_job_list(struct rc_store *s, const char *hub, int status,
    const char *after, size_t max, struct rc_hub_job ***out, size_t *n,
    char **next)
{
	*out = NULL;
	*n = 0;
	*next = NULL;
	if (!valid_name(hub) || max == 0 ||
	    (status != -1 && !valid_status(status)))
		return RC_EINVAL;
	return s->ops->hub_job_list(s, hub, status, after, max, out, n, next);
}

int
rc_store_hub_job_update(struct rc_store *s, const struct rc_store_ctx *ctx,
    const char *hub, const char *job_id, enum rc_hub_job_status status,
    const json_t *statistics, const char *failure_reason,
    struct rc_hub_job **out)
{
	*out = NULL;
	if (!valid_ctx(ctx) || !valid_name(hub) || !valid_name(job_id) ||
	    !valid_status((int)status))
		return RC_EINVAL;
	if (statistics != NULL && !json_is_object(statistics))
		return RC_EINVAL;
	return s->ops->hub_job_update(s, ctx, hub, job_id, status, statistics,
	    failure_reason, out);
}

int
rc_store_hub_job_next_ok(enum rc_hub_job_status from, enum rc_hub_job_status to)
{
	if (from == RC_HUB_JOB_COMPLETED || from == RC_HUB_JOB_FAILED ||
	    from == RC_HUB_JOB_CANCELLED)
		return 0;
	/* the enum lists the statuses in the order a job moves through */
	return to >= from;
}
