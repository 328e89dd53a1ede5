/*
 * Fuzz target for the request path of the DPS service API: the input is
 * a small HTTP-like text,
 *
 *	METHOD SP target LF		(target = path [? query])
 *	Name: value LF			(0 to RC_HTTP_MAX_HEADERS)
 *	LF
 *	body				(the rest, bytes)
 *
 * turned into a struct rc_http_req and answered by dps_service_handle for
 * a principal holding every DPS right, against one SQLite store in a
 * temporary directory made on the first call (and removed at exit).
 * Invariants: no crash or leak; every answer has a status in 200..599,
 * and a body only with a JSON Content-Type.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dps/dps.h"
#include "rollcall/buf.h"

#define LINE_MAX_LEN 4096

static char dir[64];
static struct rc_store *store;
static struct dps *dps;

static void
cleanup(void)
{
	char path[512];
	struct dirent *de;
	DIR *d;

	dps_free(dps);
	rc_store_close(store);
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

static void
init(void)
{
	struct dps_config cfg = {.id_scope = "0ne00000001",
	    .max_body = 64 * 1024};
	char uri[128];

	snprintf(dir, sizeof(dir), "/tmp/fuzz_http_path.XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(uri, sizeof(uri), "sqlite:%s/fuzz.db", dir);
	if (rc_store_open(uri, &store) != RC_OK ||
	    dps_new(&cfg, store, &dps) != RC_OK)
		abort();
	atexit(cleanup);
}

static enum rc_http_method
method_of(const char *s)
{
	static const struct {
		const char *name;
		enum rc_http_method m;
	} ms[] = {{"GET", RC_HTTP_GET}, {"HEAD", RC_HTTP_HEAD},
	    {"PUT", RC_HTTP_PUT}, {"POST", RC_HTTP_POST},
	    {"DELETE", RC_HTTP_DELETE}, {"PATCH", RC_HTTP_PATCH}};
	size_t i;

	for (i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
		if (strcmp(s, ms[i].name) == 0)
			return ms[i].m;
	return RC_HTTP_OTHER;
}

/* One line as a NUL-terminated copy in a slot of lines[]; 0 at the end. */
static int
next_line(struct rc_buf *b, char *out, size_t outsize)
{
	const uint8_t *p;
	size_t n;

	if (rc_buf_get0_until(b, '\n', &p, &n) != RC_OK || n >= outsize ||
	    memchr(p, '\0', n) != NULL)
		return 0;
	memcpy(out, p, n);
	out[n] = '\0';
	return 1;
}

static void
check(const struct rc_http_resp *resp)
{
	size_t i;

	if (resp->status < 200 || resp->status > 599)
		abort();
	if (resp->body.len == 0)
		return;
	for (i = 0; i < resp->nheaders; i++)
		if (strcmp(resp->headers[i][0], "Content-Type") == 0 &&
		    strstr(resp->headers[i][1], "application/json") != NULL)
			return;
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char lines[RC_HTTP_MAX_HEADERS + 1][LINE_MAX_LEN];
	struct rc_principal who = {"fuzz", RC_RIGHTS_DPS_ALL};
	struct rc_http_resp resp;
	struct rc_http_req req;
	char *sp, *q, *colon;
	struct rc_buf b;
	size_t n = 0;

	if (dps == NULL)
		init();
	memset(&req, 0, sizeof(req));
	rc_buf_init(&b, data, size);
	if (!next_line(&b, lines[0], sizeof(lines[0])) ||
	    (sp = strchr(lines[0], ' ')) == NULL)
		return 0;
	*sp = '\0';
	req.method = method_of(lines[0]);
	req.path = sp + 1;
	if ((q = strchr(sp + 1, '?')) != NULL) {
		*q = '\0';
		req.query = q + 1;
	}
	while (n < RC_HTTP_MAX_HEADERS &&
	    next_line(&b, lines[n + 1], sizeof(lines[0])) &&
	    lines[n + 1][0] != '\0') {
		if ((colon = strchr(lines[n + 1], ':')) == NULL)
			continue;
		*colon++ = '\0';
		while (*colon == ' ')
			colon++;
		req.headers[n].name = lines[n + 1];
		req.headers[n].value = colon;
		n++;
	}
	req.nheaders = n;
	req.body = rc_buf_cur(&b);
	req.body_len = rc_buf_remaining(&b);
	req.host = "localhost";
	req.peer = "fuzz";
	(void)dps_service_match(&req);
	rc_http_resp_init(&resp, 4 * 1024 * 1024);
	dps_service_handle(dps, &req, &who, &resp);
	check(&resp);
	/* For looking at what a corpus reaches: FUZZ_VERBOSE=1. */
	if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "%d %s %.*s\n", resp.status, req.path,
		    (int)(resp.body.len < 200 ? resp.body.len : 200),
		    (const char *)resp.body.data);
	rc_http_resp_free(&resp);
	return 0;
}
