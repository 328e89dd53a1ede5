/*
 * Shared pieces of the rolling playbooks (roll.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "hub.h"
#include "roll.h"
#include "rollcall/mem.h"
#include "rollcall/x509.h"

int
roll_cert_sha256(const char *path, char out[65])
{
	uint8_t *data = NULL;
	X509 *x = NULL;
	size_t len;
	int rc;

	out[0] = '\0';
	if (cli_read_file(path, &data, &len) != RC_OK)
		return cli_fail("%s: cannot read it", path);
	rc = rc_x509_parse(data, len, &x);
	rc_free(data);
	if (rc != RC_OK)
		return cli_fail("%s: not one certificate (PEM or DER): %s",
		    path, rc_strerror(rc));
	rc = rc_x509_thumbprint(x, 1, out, 65);
	X509_free(x);
	return rc == RC_OK ? CLI_OK : cli_fail("%s: no thumbprint", path);
}

int
roll_get(struct client *cl, const char *prefix, const char *id, json_t **doc,
    char **etag)
{
	struct client_resp r;
	char *path = NULL;
	int ret;

	*doc = NULL;
	*etag = NULL;
	if (client_path(&path, prefix, id, "") != RC_OK)
		return cli_fail("out of memory");
	ret = client_call(cl, "GET", path, NULL, NULL, NULL, &r);
	rc_free(path);
	if (ret != CLI_OK)
		return ret;
	if (r.status != 404 && (ret = client_ok(&r)) == CLI_OK) {
		if (!json_is_object(r.json) || r.etag == NULL) {
			ret = cli_fail("GET %s%s: not an object with an ETag",
			    prefix, id);
		} else {
			*doc = json_incref(r.json);
			*etag = rc_strdup(r.etag);
		}
	}
	client_resp_clear(&r);
	return ret;
}

int
roll_put(struct client *cl, const char *prefix, const char *id, json_t *doc,
    const char *etag)
{
	struct client_resp r;
	char *path = NULL;
	int ret;

	if (client_path(&path, prefix, id, "") != RC_OK)
		return cli_fail("out of memory");
	ret = client_call(cl, "PUT", path, doc, etag, NULL, &r);
	rc_free(path);
	if (ret != CLI_OK)
		return ret;
	if (r.status == 412)
		ret = cli_fail("%s was changed by someone else meanwhile; "
		               "nothing was written, run the command again",
		    id);
	else
		ret = client_ok(&r);
	client_resp_clear(&r);
	return ret;
}

/* obj[key] as an object, made when absent. */
static json_t *
obj_at(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_object(v))
		return v;
	if (v != NULL && !json_is_null(v))
		return NULL;
	if (json_object_set_new(obj, key, json_object()) != 0)
		return NULL;
	return json_object_get(obj, key);
}

json_t *
roll_slots(json_t *doc, const char *slots)
{
	json_t *att = obj_at(doc, "attestation"), *x509;

	if (att == NULL || (x509 = obj_at(att, "x509")) == NULL)
		return NULL;
	return obj_at(x509, slots);
}

static json_t *
slot_info(json_t *slots, const char *slot)
{
	return json_object_get(json_object_get(slots, slot), "info");
}

const char *
roll_slot_sha256(json_t *slots, const char *slot)
{
	return json_string_value(
	    json_object_get(slot_info(slots, slot), "sha256Thumbprint"));
}

const char *
roll_slot_not_after(json_t *slots, const char *slot)
{
	const char *s = json_string_value(
	    json_object_get(slot_info(slots, slot), "notAfterUtc"));

	return s != NULL ? s : "";
}

int
roll_registration(struct client *cl, const char *id, json_t **reg)
{
	char *etag = NULL;
	int ret;

	ret = roll_get(cl, "/registrations/", id, reg, &etag);
	rc_free(etag);
	return ret;
}

/* The name of the hub whose host is host, from DIR/connections.json. */
static int
hub_name_of(const char *data, const char *host, char **name)
{
	char path[4096];
	uint8_t *text = NULL;
	json_t *j, *hubs, *h;
	size_t len, i;

	*name = NULL;
	if ((size_t)snprintf(path, sizeof(path), "%s/connections.json", data) >=
	        sizeof(path) ||
	    cli_read_file(path, &text, &len) != RC_OK)
		return cli_fail("%s: cannot read it", path);
	j = json_loadb((const char *)text, len, 0, NULL);
	rc_free(text);
	hubs = json_object_get(j, "hubs");
	json_array_foreach(hubs, i, h)
	{
		const char *hh = json_string_value(json_object_get(h, "host"));
		const char *n = json_string_value(json_object_get(h, "name"));

		if (hh != NULL && n != NULL && strcasecmp(hh, host) == 0) {
			*name = rc_strdup(n);
			break;
		}
	}
	json_decref(j);
	if (*name == NULL)
		return cli_fail("%s names no hub %s: the device's hub is not "
		                "one this data directory knows",
		    path, host);
	return CLI_OK;
}

int
roll_hub_opts(const struct client_opts *co, const char *host,
    struct client_opts *out, char **name)
{
	int ret;

	*out = *co;
	*name = NULL;
	out->hub_mode = 1;
	out->connstr = NULL;
	out->hub = NULL;
	if (co->data == NULL) {
		if (getenv(CLIENT_ENV_HUB_CONNSTR) == NULL)
			return cli_fail("the device is on hub %s: give --data "
			                "DIR or set %s to reach it",
			    host, CLIENT_ENV_HUB_CONNSTR);
		return CLI_OK;
	}
	if ((ret = hub_name_of(co->data, host, name)) != CLI_OK)
		return ret;
	out->hub = *name;
	return CLI_OK;
}

int
roll_hub_open(const struct client_opts *co, const char *host,
    struct client **out)
{
	struct client_opts h;
	char *name = NULL;
	int ret;

	*out = NULL;
	if ((ret = roll_hub_opts(co, host, &h, &name)) == CLI_OK)
		ret = client_open(&h, out);
	rc_free(name);
	return ret;
}

int
roll_block(struct client *cl, const char *sha256, const char *reason)
{
	struct client_resp r;
	json_t *body;
	char *path = NULL;
	int ret;

	if ((body = json_pack("{s:s}", "reason", reason)) == NULL ||
	    client_path(&path, "/blocklist/", sha256, "") != RC_OK) {
		json_decref(body);
		return cli_fail("out of memory");
	}
	ret = client_call(cl, "PUT", path, body, NULL, NULL, &r);
	if (ret == CLI_OK)
		ret = client_ok(&r);
	client_resp_clear(&r);
	json_decref(body);
	rc_free(path);
	return ret;
}
