/*
 * The agent's state on disk (docs/agent.md, "State layout"):
 *
 *	STATE/state.json	{"version":1, "active":"a"|"b",
 *				 "assignedHub":S, "deviceId":S,
 *				 "lastRoll":{"kind":S, "result":S,
 *				             "reason":S, "at":N},
 *				 "rolling":N}
 *	STATE/a/chain.pem	the slot's certificate and its issuers
 *	STATE/a/key.pem		its key (file keystore), or key.uri (token)
 *	STATE/b/...		the other slot
 *
 * state.json is strict JSON (json.h), at most RC_AGENT_STATE_MAX bytes;
 * "version" must be 1 and "active" "a" or "b"; every string fits its
 * field and holds no control characters (they end up in log lines);
 * numbers are non-negative times.  Unknown members are ignored, so a
 * newer agent may add some.  Every file is written by rc_file_write
 * (temporary file, fsync, rename, fsync of the directory): the active
 * pointer moves only by replacing state.json whole, after the slot it
 * names is complete.
 */
#include <string.h>

#include "agent_int.h"
#include "rollcall/buf.h"
#include "rollcall/file.h"
#include "rollcall/json.h"
#include "rollcall/mem.h"
#include "rollcall/x509.h"

static int
get_text(json_t *o, const char *key, int required, char *out, size_t size)
{
	const char *s;
	size_t n, i;
	int rc;

	out[0] = '\0';
	if ((rc = rc_json_get_str(o, key, required, &s)) != RC_OK)
		return rc == RC_ENOENT ? RC_EPARSE : rc;
	if (s == NULL)
		return RC_OK;
	if ((n = strlen(s)) >= size)
		return RC_EPARSE;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return RC_EPARSE;
	memcpy(out, s, n + 1);
	return RC_OK;
}

static int
get_time(json_t *o, const char *key, time_t *out)
{
	long long v;
	int rc;

	if ((rc = rc_json_get_int(o, key, 0, 0, (long long)1 << 40, &v)) !=
	    RC_OK)
		return RC_EPARSE;
	*out = (time_t)v;
	return RC_OK;
}

static int
parse_roll(json_t *root, struct rc_agent_state *s)
{
	json_t *r;

	if (rc_json_get_obj(root, "lastRoll", 0, &r) != RC_OK)
		return RC_EPARSE;
	if (r == NULL)
		return RC_OK;
	if (get_text(r, "kind", 1, s->roll_kind, sizeof(s->roll_kind)) !=
	        RC_OK ||
	    get_text(r, "result", 1, s->roll_result, sizeof(s->roll_result)) !=
	        RC_OK ||
	    get_text(r, "reason", 0, s->roll_reason, sizeof(s->roll_reason)) !=
	        RC_OK ||
	    get_time(r, "at", &s->roll_at) != RC_OK)
		return RC_EPARSE;
	return RC_OK;
}

int
rc_agent_state_parse(const char *data, size_t len, struct rc_agent_state *out)
{
	struct rc_agent_state s;
	json_t *root = NULL;
	char active[2];
	long long v;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	if ((rc = rc_json_parse(data, len, RC_AGENT_STATE_MAX, &root, NULL,
	         0)) != RC_OK)
		return rc;
	rc = RC_EPARSE;
	if (!json_is_object(root) ||
	    rc_json_get_int(root, "version", 1, 1, 1, &v) != RC_OK)
		goto out;
	if (get_text(root, "active", 1, active, sizeof(active)) != RC_OK ||
	    (active[0] != 'a' && active[0] != 'b'))
		goto out;
	s.active = active[0];
	if (get_text(root, "assignedHub", 0, s.hub, sizeof(s.hub)) != RC_OK ||
	    get_text(root, "deviceId", 0, s.device_id, sizeof(s.device_id)) !=
	        RC_OK ||
	    get_time(root, "rolling", &s.roll_started) != RC_OK ||
	    parse_roll(root, &s) != RC_OK)
		goto out;
	*out = s;
	rc = RC_OK;
out:
	json_decref(root);
	return rc;
}

int
rc_agent_state_dump(const struct rc_agent_state *s, char **out, size_t *len)
{
	json_t *root, *r = NULL;
	char active[2] = {s->active, '\0'};
	int rc;

	*out = NULL;
	if ((root = json_object()) == NULL)
		return RC_ENOMEM;
	if ((rc = rc_json_set_int(root, "version", 1)) != RC_OK ||
	    (rc = rc_json_set_str(root, "active", active)) != RC_OK ||
	    (rc = rc_json_set_str(root, "assignedHub", s->hub)) != RC_OK ||
	    (rc = rc_json_set_str(root, "deviceId", s->device_id)) != RC_OK ||
	    (rc = rc_json_set_int(root, "rolling",
	         (long long)s->roll_started)) != RC_OK)
		goto out;
	if (s->roll_kind[0] != '\0') {
		if ((rc = rc_json_set0(root, "lastRoll", r = json_object())) !=
		        RC_OK ||
		    (rc = rc_json_set_str(r, "kind", s->roll_kind)) != RC_OK ||
		    (rc = rc_json_set_str(r, "result", s->roll_result)) !=
		        RC_OK ||
		    (rc = rc_json_set_str(r, "reason", s->roll_reason)) !=
		        RC_OK ||
		    (rc = rc_json_set_int(r, "at", (long long)s->roll_at)) !=
		        RC_OK)
			goto out;
	}
	rc = rc_json_dump(root, 1, out, len);
out:
	json_decref(root);
	return rc;
}

static int
state_path(const char *dir, char *out, size_t size)
{
	int n = snprintf(out, size, "%s/state.json", dir);

	return n < 0 || (size_t)n >= size ? RC_ETOOBIG : RC_OK;
}

int
rc_agent_state_load(const char *dir, struct rc_agent_state *out)
{
	char path[AGENT_PATH_MAX];
	uint8_t *data = NULL;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = state_path(dir, path, sizeof(path))) != RC_OK ||
	    (rc = rc_file_read(path, RC_AGENT_STATE_MAX, &data, &len)) != RC_OK)
		return rc;
	rc = rc_agent_state_parse((const char *)data, len, out);
	rc_free(data);
	return rc;
}

int
agent_write_file(const char *path, const void *p, size_t n)
{
	return rc_file_write(path, p, n, 0600, 1);
}

int
rc_agent_state_save(const char *dir, const struct rc_agent_state *s)
{
	char path[AGENT_PATH_MAX], *text = NULL;
	size_t len;
	int rc;

	if ((rc = state_path(dir, path, sizeof(path))) != RC_OK ||
	    (rc = rc_agent_state_dump(s, &text, &len)) != RC_OK)
		return rc;
	rc = agent_write_file(path, text, len);
	rc_free(text);
	return rc;
}

int
agent_slot_dir(const char *state, char slot, char *out, size_t outsize)
{
	int n = snprintf(out, outsize, "%s/%c", state, slot);

	if (n < 0 || (size_t)n >= outsize)
		return RC_ETOOBIG;
	return rc_file_mkdirs(out, 0700);
}

int
agent_slot_put_chain(const char *state, char slot, STACK_OF(X509) *chain)
{
	struct rc_wbuf w;
	char dir[AGENT_PATH_MAX], path[AGENT_PATH_MAX + 16], *pem;
	int rc = RC_OK, i;

	rc_wbuf_init(&w, RC_X509_MAX_CHAIN);
	if ((rc = agent_slot_dir(state, slot, dir, sizeof(dir))) != RC_OK)
		goto out;
	for (i = 0; i < sk_X509_num(chain) && rc == RC_OK; i++) {
		if ((rc = rc_x509_to_pem(sk_X509_value(chain, i), &pem,
		         NULL)) != RC_OK)
			goto out;
		rc = rc_wbuf_puts(&w, pem);
		rc_free(pem);
	}
	if (rc != RC_OK)
		goto out;
	snprintf(path, sizeof(path), "%s/chain.pem", dir);
	rc = agent_write_file(path, w.data, w.len);
out:
	rc_wbuf_free(&w);
	return rc;
}

int
agent_slot_load(const struct rc_agent_conf *c, char name,
    struct agent_slot *out)
{
	char dir[AGENT_PATH_MAX];
	int rc;

	memset(out, 0, sizeof(*out));
	out->name = name;
	if ((rc = agent_slot_dir(c->state_dir, name, dir, sizeof(dir))) !=
	    RC_OK)
		return rc;
	if (snprintf(out->ident.chain, sizeof(out->ident.chain),
	        "%.1000s/chain.pem", dir) >= (int)sizeof(out->ident.chain)) {
		rc = RC_ETOOBIG;
		goto out;
	}
	if ((rc = rc_x509_load_file(out->ident.chain, &out->chain)) != RC_OK)
		goto out;
	if (sk_X509_num(out->chain) > RC_AGENT_CHAIN_MAX) {
		rc = RC_ETOOBIG;
		goto out;
	}
	rc = agent_key_load(c, name, &out->key, &out->ident);
out:
	if (rc != RC_OK)
		agent_slot_clear(out);
	return rc;
}

void
agent_slot_clear(struct agent_slot *s)
{
	if (s->chain != NULL)
		sk_X509_pop_free(s->chain, X509_free);
	EVP_PKEY_free(s->key);
	memset(s, 0, sizeof(*s));
}
