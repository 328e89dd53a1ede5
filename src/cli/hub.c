/*
 * Shared pieces of the hub commands: see hub.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "hub.h"
#include "rollcall/json.h"
#include "rollcall/err.h"
#include "rollcall/mem.h"

int
hub_call_on(struct client *cl, const char *method, const char *prefix,
    const char *id, const char *suffix, json_t *body, const char *if_match,
    json_t **out, long *status)
{
	struct client_resp r;
	char *path = NULL;
	int ret;

	*out = NULL;
	*status = 0;
	memset(&r, 0, sizeof(r));
	if (id == NULL)
		path = rc_strdup(prefix);
	else if (client_path(&path, prefix, id, suffix) != RC_OK)
		path = NULL;
	if (path == NULL)
		return cli_fail("out of memory");
	if ((ret = client_call(cl, method, path, body, if_match, NULL, &r)) ==
	    CLI_OK) {
		*status = r.status;
		if ((ret = client_ok(&r)) == CLI_OK)
			*out = json_incref(r.json);
	}
	client_resp_clear(&r);
	rc_free(path);
	return ret;
}

int
hub_call(const struct client_opts *co, const char *method, const char *prefix,
    const char *id, const char *suffix, json_t *body, const char *if_match,
    json_t **out, char **etag)
{
	struct client *cl = NULL;
	struct client_resp r;
	char *path = NULL;
	int ret;

	*out = NULL;
	if (etag != NULL)
		*etag = NULL;
	memset(&r, 0, sizeof(r));
	if ((ret = client_open(co, &cl)) != CLI_OK)
		return ret;
	if (id == NULL)
		path = rc_strdup(prefix);
	else if (client_path(&path, prefix, id, suffix) != RC_OK)
		path = NULL;
	if (path == NULL)
		ret = cli_fail("out of memory");
	else if ((ret = client_call(cl, method, path, body, if_match, NULL,
	              &r)) == CLI_OK &&
	    (ret = client_ok(&r)) == CLI_OK) {
		if (etag != NULL && r.etag != NULL &&
		    (*etag = rc_strdup(r.etag)) == NULL)
			ret = cli_fail("out of memory");
		else
			*out = json_incref(r.json);
	}
	client_resp_clear(&r);
	rc_free(path);
	client_free(cl);
	return ret;
}

void
hub_field(const char *label, json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	char *dump = NULL;
	char num[64];
	const char *s = NULL;

	if (json_is_string(v))
		s = json_string_value(v);
	else if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld",
		    (long long)json_integer_value(v));
		s = num;
	} else if (json_is_boolean(v))
		s = json_is_true(v) ? "true" : "false";
	else if (v != NULL && !json_is_null(v))
		s = dump = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	printf("%-20s", label);
	print_clean(stdout, s != NULL && *s != '\0' ? s : "-");
	putchar('\n');
	rc_free(dump);
}

int
hub_json_arg(const char *usage, const char *opt, const char *val, int object,
    json_t **out)
{
	json_t *j = NULL;

	*out = NULL;
	if ((j = json_loadb(val, strlen(val),
	         JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return cli_usage(usage, "--%s: not JSON", opt);
	if (object && !json_is_object(j)) {
		json_decref(j);
		return cli_usage(usage, "--%s: not a JSON object", opt);
	}
	*out = j;
	return CLI_OK;
}

int
hub_thumbprint_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n != 40 && n != 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

int
hub_error_code(const char *body, size_t len, char *out, size_t outsize)
{
	json_t *root = NULL;
	const char *m;
	size_t i = 0;

	if (outsize == 0)
		return 0;
	out[0] = '\0';
	if (body == NULL || len == 0 ||
	    rc_json_parse(body, len, len, &root, NULL, 0) != RC_OK)
		return 0;
	m = json_string_value(json_object_get(root, "Message"));
	if (m != NULL && strncmp(m, "ErrorCode:", 10) == 0) {
		for (m += 10; isalnum((unsigned char)m[i]) && i + 1 < outsize;
		     i++)
			out[i] = m[i];
		/* A name cut short is no name. */
		if (isalnum((unsigned char)m[i]))
			i = 0;
		out[i] = '\0';
	}
	json_decref(root);
	return i > 0;
}
