/*
 * The fleet roll engine (fleet.h).
 *
 * Waves: the canary wave first (o->canary devices), then waves of o->wave.
 * Within a wave, o->parallel threads each take the next device, wait for
 * their turn under the pace (o->rate invocations per second, one shared
 * schedule) and call POST /twins/{id}/methods on their own client.  A
 * device counts as rolled when it answers with a status 200..299.  After
 * each wave the failure rate of this run so far is compared with
 * o->max_failures; past it the roll stops before the next wave.
 *
 * The state file, rewritten atomically after every wave, maps each device
 * to "done" or "failed"; a new run with the same file skips the "done"
 * ones, so an interrupted roll resumes where it was.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "fleet.h"
#include "rollcall/enc.h"
#include "rollcall/file.h"
#include "rollcall/json.h"
#include "rollcall/mem.h"

#define STATE_MAX (64 * 1024 * 1024)

struct fleet {
	const struct client_opts *hub;
	const struct fleet_opts *o;
	json_t *state; /* {"method": M, "devices": {id: "done"|"failed"}} */
	const char **todo; /* this wave's devices */
	size_t ntodo, next;
	double next_at; /* monotonic time of the next allowed call */
	size_t ok, failed, done_before, total;
	int bar;
	double start;
	pthread_mutex_t mu;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
fleet_parse_ratio(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno != 0 || !isfinite(v))
		return -1;
	if (*end == '%' && end[1] == '\0')
		v /= 100;
	else if (*end != '\0')
		return -1;
	return v >= 0 && v <= 1 ? v : -1;
}

/* Waits for this call's turn under the pace.  Lock held on entry/exit. */
static void
pace(struct fleet *f)
{
	double t, wait;

	if (f->o->rate <= 0)
		return;
	t = now_s();
	if (f->next_at < t)
		f->next_at = t;
	wait = f->next_at - t;
	f->next_at += 1.0 / f->o->rate;
	if (wait <= 0)
		return;
	pthread_mutex_unlock(&f->mu);
	usleep((useconds_t)(wait * 1e6));
	pthread_mutex_lock(&f->mu);
}

/* One invocation: "" on success, else why it failed. */
static void
invoke(struct client *cl, const struct fleet_opts *o, const char *id, char *why,
    size_t whysize)
{
	struct client_resp r;
	char *path = NULL;
	json_t *req, *st;
	long long status;

	why[0] = '\0';
	req = json_pack("{s:s, s:O?, s:i}", "methodName", o->method, "payload",
	    o->payload, "responseTimeoutInSeconds", o->method_timeout);
	if (req == NULL ||
	    client_path(&path, "/twins/", id, "/methods") != RC_OK) {
		snprintf(why, whysize, "out of memory");
		goto out;
	}
	if (client_call(cl, "POST", path, req, NULL, NULL, &r) != CLI_OK) {
		snprintf(why, whysize, "no answer from the hub");
		goto out;
	}
	st = json_object_get(r.json, "status");
	status = json_is_integer(st) ? (long long)json_integer_value(st) : 0;
	if (r.status == 404)
		snprintf(why, whysize, "not online");
	else if (r.status == 504)
		snprintf(why, whysize, "no answer within %d s",
		    o->method_timeout);
	else if (r.status / 100 != 2)
		client_error_line(r.status, r.body, r.len, why, whysize);
	else if (status < 200 || status > 299)
		snprintf(why, whysize, "the device answered %lld", status);
	client_resp_clear(&r);
out:
	json_decref(req);
	rc_free(path);
}

static void
progress(struct fleet *f, const char *id, const char *why)
{
	size_t n = f->ok + f->failed + f->done_before, width = 30, fill;
	json_t *j;
	char *line;
	size_t len;

	if (!f->bar) {
		j = json_pack("{s:s, s:s, s:s, s:s*}", "event", "device",
		    "deviceId", id, "result", why[0] == '\0' ? "ok" : "failed",
		    "error", why[0] == '\0' ? NULL : why);
		if (j != NULL && rc_json_dump(j, 0, &line, &len) == RC_OK) {
			printf("%s\n", line);
			rc_free(line);
		}
		json_decref(j);
		fflush(stdout);
		return;
	}
	fill = f->total > 0 ? n * width / f->total : width;
	printf("\r[");
	for (size_t i = 0; i < width; i++)
		putchar(i < fill ? '#' : ' ');
	printf("] %zu/%zu  ok %zu  failed %zu ", n, f->total, f->ok, f->failed);
	fflush(stdout);
}

static void *
worker(void *arg)
{
	struct fleet *f = arg;
	struct client *cl = NULL;
	char why[256];
	const char *id;

	if (client_open(f->hub, &cl) != CLI_OK)
		return NULL;
	pthread_mutex_lock(&f->mu);
	while (f->next < f->ntodo) {
		id = f->todo[f->next++];
		pace(f);
		pthread_mutex_unlock(&f->mu);
		invoke(cl, f->o, id, why, sizeof(why));
		pthread_mutex_lock(&f->mu);
		if (why[0] == '\0')
			f->ok++;
		else
			f->failed++;
		json_object_set_new(json_object_get(f->state, "devices"), id,
		    json_string(why[0] == '\0' ? "done" : "failed"));
		progress(f, id, why);
	}
	pthread_mutex_unlock(&f->mu);
	client_free(cl);
	return NULL;
}

static int
run_wave(struct fleet *f, const char **ids, size_t n)
{
	pthread_t t[64];
	size_t i, nt = f->o->parallel;

	if (nt == 0)
		nt = 1;
	if (nt > n)
		nt = n;
	if (nt > 64)
		nt = 64;
	f->todo = ids;
	f->ntodo = n;
	f->next = 0;
	for (i = 0; i < nt; i++)
		if (pthread_create(&t[i], NULL, worker, f) != 0)
			break;
	if (i == 0)
		return cli_fail("cannot start a thread");
	while (i-- > 0)
		pthread_join(t[i], NULL);
	if (f->next < f->ntodo)
		return cli_fail("the hub could not be reached");
	return CLI_OK;
}

/* The state of an earlier run with this file, or a new one. */
static int
state_load(const struct fleet_opts *o, json_t **out)
{
	uint8_t *text = NULL;
	json_t *j = NULL;
	size_t len;
	int rc;

	*out = NULL;
	if (o->state != NULL) {
		rc = rc_file_read(o->state, STATE_MAX, &text, &len);
		if (rc != RC_OK && rc != RC_ENOENT)
			return cli_fail("%s: cannot read it", o->state);
		if (rc == RC_OK) {
			j = json_loadb((const char *)text, len, 0, NULL);
			rc_free(text);
			if (!json_is_object(json_object_get(j, "devices")) ||
			    !json_is_string(json_object_get(j, "method"))) {
				json_decref(j);
				return cli_fail("%s: not a fleet roll state "
				                "file",
				    o->state);
			}
			if (strcmp(json_string_value(
			               json_object_get(j, "method")),
			        o->method) != 0) {
				json_decref(j);
				return cli_fail("%s: a roll with another "
				                "method; use another --state",
				    o->state);
			}
		}
	}
	if (j == NULL &&
	    (j = json_pack("{s:s, s:{}}", "method", o->method, "devices")) ==
	        NULL)
		return cli_fail("out of memory");
	*out = j;
	return CLI_OK;
}

static int
state_save(const struct fleet *f)
{
	char *text;
	size_t len;
	int rc;

	if (f->o->state == NULL)
		return CLI_OK;
	if (rc_json_dump(f->state, 1, &text, &len) != RC_OK)
		return cli_fail("out of memory");
	rc = rc_file_write(f->o->state, text, len, 0600, 1);
	rc_free(text);
	return rc == RC_OK ? CLI_OK
	                   : cli_fail("%s: cannot write it", f->o->state);
}

static void
wave_line(struct fleet *f, size_t wave, size_t n, int canary)
{
	if (f->bar) {
		printf("\n");
		return;
	}
	printf("{\"event\":\"wave\",\"wave\":%zu,\"canary\":%s,\"devices\":%zu,"
	       "\"ok\":%zu,\"failed\":%zu}\n",
	    wave, canary ? "true" : "false", n, f->ok, f->failed);
	fflush(stdout);
}

static int
waves(struct fleet *f, const char **ids, size_t n, struct fleet_result *res)
{
	size_t at = 0, size, wave = 0, tried;
	int ret = CLI_OK;

	while (at < n && ret == CLI_OK) {
		size =
		    wave == 0 && f->o->canary > 0 ? f->o->canary : f->o->wave;
		if (size == 0 || size > n - at)
			size = n - at;
		ret = run_wave(f, ids + at, size);
		at += size;
		if (state_save(f) != CLI_OK)
			ret = CLI_FAIL;
		wave++;
		wave_line(f, wave, size, wave == 1 && f->o->canary > 0);
		tried = f->ok + f->failed;
		if (tried > 0 &&
		    (double)f->failed / (double)tried > f->o->max_failures) {
			res->aborted = at < n;
			if (res->aborted)
				fprintf(stderr,
				    "rollcall: stopping: %zu of %zu devices "
				    "failed (more than %.1f%%); the state "
				    "file keeps what was done\n",
				    f->failed, tried, f->o->max_failures * 100);
			break;
		}
	}
	return ret;
}

int
fleet_run(const struct client_opts *hub, json_t *devices,
    const struct fleet_opts *o, struct fleet_result *res)
{
	struct fleet f;
	const char **ids = NULL;
	json_t *v, *done;
	size_t i, n = 0;
	int ret;

	memset(res, 0, sizeof(*res));
	memset(&f, 0, sizeof(f));
	f.hub = hub;
	f.o = o;
	f.bar = !o->json && isatty(STDOUT_FILENO);
	f.start = now_s();
	pthread_mutex_init(&f.mu, NULL);
	if ((ret = state_load(o, &f.state)) != CLI_OK)
		goto out;
	done = json_object_get(f.state, "devices");
	if ((ids = rc_calloc(json_array_size(devices) + 1, sizeof(*ids))) ==
	    NULL) {
		ret = cli_fail("out of memory");
		goto out;
	}
	json_array_foreach(devices, i, v)
	{
		const char *id = json_string_value(v);
		const char *st = id != NULL
		    ? json_string_value(json_object_get(done, id))
		    : NULL;

		if (id == NULL)
			continue;
		if (st != NULL && strcmp(st, "done") == 0)
			f.done_before++;
		else
			ids[n++] = id;
	}
	f.total = n + f.done_before;
	ret = waves(&f, ids, n, res);
out:
	res->total = f.total;
	res->skipped = f.done_before;
	res->ok = f.ok;
	res->failed = f.failed;
	res->seconds = now_s() - f.start;
	if (ret == CLI_OK && (f.failed > 0 || res->aborted))
		ret = CLI_FAIL;
	rc_free(ids);
	json_decref(f.state);
	pthread_mutex_destroy(&f.mu);
	return ret;
}
