/*
 * Internals of the hub service API shared by its files (service*.c): the
 * role's state, the per-request context, the error answer and the JSON
 * shapes of devices and twins.
 */
#ifndef ROLLCALL_HUB_SERVICE_IMPL_H
#define ROLLCALL_HUB_SERVICE_IMPL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hub/service.h"

#define HUB_DEFAULT_MAX_BODY (1024 * 1024)
/* Page sizes of list, query and jobs query (x-ms-max-item-count). */
#define HUB_PAGE_DEFAULT 100
#define HUB_PAGE_MAX 1000
/* reference/azure-service-api.md §4.1: bulk import takes 1..100 items. */
#define HUB_BULK_MAX 100
/* §4.2: default and longest direct method timeout. */
#define HUB_METHOD_TIMEOUT_DEFAULT 30
#define HUB_METHOD_TIMEOUT_MAX 300
#define HUB_MSG_MAX 512

/* Error names of §4.5 (the SDK reads them from Message). */
#define HUB_E_ARGUMENT "ArgumentInvalid"
#define HUB_E_UNAUTHORIZED "IotHubUnauthorizedAccess"
#define HUB_E_NO_DEVICE "DeviceNotFound"
#define HUB_E_NO_JOB "JobNotFound"
#define HUB_E_NOT_FOUND "NotFound"
#define HUB_E_EXISTS "DeviceAlreadyExists"
#define HUB_E_JOB_EXISTS "JobAlreadyExists"
#define HUB_E_PRECONDITION "PreconditionFailed"
#define HUB_E_NOT_ONLINE "DeviceNotOnline"
#define HUB_E_TIMEOUT "GatewayTimeout"
#define HUB_E_TOO_LARGE "RequestEntityTooLarge"
#define HUB_E_MEDIA_TYPE "UnsupportedMediaType"
#define HUB_E_METHOD "MethodNotAllowed"
#define HUB_E_INTERNAL "ServerError"

/* A refusal on its way to an error body (or a bulk errors[] entry). */
struct hub_err {
	int status;
	const char *code;
	char msg[HUB_MSG_MAX];
};

struct hub_service {
	char *hub;
	char *host;
	struct hub_auth_cache *cache;
	struct hub_session_ops ops; /* zeroed when none was given */
	size_t max_body;
	struct rc_store *store;

	/* GET /events long-polls wait for ev_gen to move. */
	pthread_mutex_t ev_mu;
	pthread_cond_t ev_cv;
	uint64_t ev_gen;

	/* The job runner (service_jobs.c). */
	pthread_mutex_t job_mu;
	pthread_cond_t job_cv;
	pthread_t job_thread;
	int job_started;
	int job_stop;
	int job_kick;
};

/* One request on its way through the router. */
struct hub_req {
	struct hub_service *hs;
	const struct rc_http_req *http;
	const struct rc_principal *who;
	struct rc_http_resp *resp;
	const char *segs[5]; /* decoded path segments */
	size_t nsegs;
};

/* service.c: answers and shared helpers. */
void hub_reply_err(struct hub_req *, const struct hub_err *);
void hub_reply_error(struct hub_req *, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* status with j (not stolen); on failure a 500. */
void hub_reply_json(struct hub_req *, int status, json_t *j);
/* 200 with j and an ETag header (etag as the store keeps it, quoted). */
void hub_reply_etag(struct hub_req *, json_t *j, const char *etag);
void hub_reply_method(struct hub_req *, const char *allow);
/* 1 if the principal holds one of any; otherwise answers 401, 0. */
int hub_need(struct hub_req *, unsigned any);
int hub_err_set(struct hub_err *, int rc, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The error of a store call on a device that failed with rc. */
int hub_err_store(struct hub_err *, int rc, const char *device_id);
/*
 * The request body as JSON (*out caller's; any type), or an error in e:
 * 413, 415, 400 with the line and column.  RC_ENOENT with e unset for an
 * empty body.
 */
RC_MUST_CHECK int hub_body_json(struct hub_req *, json_t **out,
    struct hub_err *e);
/*
 * If-Match as the store takes it: NULL when absent, "*" for * or "*",
 * otherwise the entity-tag with its double quotes (added when the client
 * sent a bare value).  Written into buf.
 */
const char *hub_if_match(const struct hub_req *, char *buf, size_t bufsize);
void hub_store_ctx(const struct hub_req *, const char *if_match,
    struct rc_store_ctx *ctx);
/* ISO 8601 UTC time; 0 gives Azure's "never", 0001-01-01T00:00:00Z. */
json_t *hub_time_json(int64_t t);
/* Parses an ISO 8601 UTC time (YYYY-MM-DDTHH:MM:SS[.fff]Z); RC_EPARSE. */
RC_MUST_CHECK int hub_time_parse(const char *s, int64_t *out);
/* The etag without its quotes, as a JSON string (Azure's shape). */
json_t *hub_etag_json(const char *etag);
/* Paging headers in; *after caller frees (NULL: first page). */
RC_MUST_CHECK int hub_page_in(struct hub_req *, size_t *max, char **after,
    struct hub_err *e);
/* 200 with items and x-ms-continuation when next is non-NULL. */
void hub_page_reply(struct hub_req *, json_t *items, const char *item_type,
    const char *next);
/* 1 if the device has a live session. */
int hub_connected(struct hub_service *, const char *device_id);

/* service_json.c: the wire shapes. */
RC_MUST_CHECK int hub_device_to_json(struct hub_service *,
    const struct rc_hub_device *, json_t **out);
RC_MUST_CHECK int hub_twin_to_json(struct hub_service *,
    const struct rc_hub_device *, json_t **out);
/*
 * A Device body into a record for hub (path_id may be NULL: the body's
 * deviceId, or id_key's value, is then required).  RC_EINVAL with e set.
 */
RC_MUST_CHECK int hub_device_from_json(struct hub_service *, json_t *body,
    const char *path_id, const char *id_key, struct rc_hub_device **out,
    struct hub_err *e);

/* Handlers, by resource. */
void hub_devices(struct hub_req *);
void hub_twins(struct hub_req *);
/* PUT /twins/{id}/import: rollcall's whole-twin write. */
void hub_twin_import(struct hub_req *, const char *device_id);
void hub_query(struct hub_req *);
void hub_methods(struct hub_req *, const char *device_id);
void hub_jobs(struct hub_req *);
void hub_events(struct hub_req *);

/* service_jobs.c: the runner thread. */
RC_MUST_CHECK int hub_jobs_start(struct hub_service *);
void hub_jobs_stop(struct hub_service *);
void hub_jobs_kick(struct hub_service *);
/*
 * Calls a method on one device and waits for the answer: *status and
 * *payload (caller's) on RC_OK; RC_ENOENT offline, RC_EEXPIRED timeout.
 */
RC_MUST_CHECK int hub_method_call(struct hub_service *, const char *device_id,
    const char *method, const char *payload_json, int timeout_s, int *status,
    json_t **payload);
/*
 * The twin-shaped JSON the query language evaluates for every device of
 * the hub selected by q, after the device ID after, at most max; *next
 * set when more may follow.
 */
struct hub_query;
RC_MUST_CHECK int hub_query_run(struct hub_service *, const struct hub_query *,
    const char *after, size_t max, json_t **out, char **next);

#endif
