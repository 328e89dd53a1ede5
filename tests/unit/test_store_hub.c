/*
 * The store's hub records (store.h): device identities and twins, the
 * telemetry log, jobs.  Written against the public interface only, like
 * test_store.c, so that every backend runs it.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "rctest.h"
#include "rollcall/json.h"
#include "rollcall/mem.h"
#include "rollcall/store.h"

struct fx {
	char uri[1024];
	struct rc_store *s;
};

static const struct rc_store_ctx owner = {"iothubowner", NULL};
static const struct rc_store_ctx any = {"iothubowner", "*"};

#define SHA1_A "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
#define SHA256_A \
	"aa00000000000000000000000000000000000000000000000000000000000001"
#define SHA256_B \
	"bb00000000000000000000000000000000000000000000000000000000000002"

static int
setup(void **state)
{
	static int n;
	struct fx *f;

	f = rc_calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->uri, sizeof(f->uri), "sqlite:%s",
	    rctest_path(rctest_tmpdir(), "hub"));
	snprintf(f->uri + strlen(f->uri), sizeof(f->uri) - strlen(f->uri),
	    "-%d.db", ++n);
	assert_int_equal(rc_store_open(f->uri, &f->s), RC_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	rc_store_close(f->s);
	rc_free(f);
	return 0;
}

static void
reopen(struct fx *f)
{
	rc_store_close(f->s);
	f->s = NULL;
	assert_int_equal(rc_store_open(f->uri, &f->s), RC_OK);
}

static json_t *
js(const char *text)
{
	json_error_t err;
	json_t *v;

	v = json_loads(text, JSON_DECODE_ANY, &err);
	if (v == NULL)
		fail_msg("bad test JSON %s: %s", text, err.text);
	return v;
}

static void
assert_json(const json_t *v, const char *text)
{
	json_t *want = js(text);

	if (!json_equal(v, want)) {
		char *got = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);

		fail_msg("JSON %s, expected %s", got, text);
	}
	json_decref(want);
}

static struct rc_hub_device *
make_dev(const char *hub, const char *id, enum rc_hub_auth auth, const char *p,
    const char *s)
{
	struct rc_hub_device *d;

	d = rc_hub_device_new();
	assert_non_null(d);
	d->hub = rc_strdup(hub);
	d->device_id = rc_strdup(id);
	d->auth = auth;
	snprintf(d->primary_thumb, sizeof(d->primary_thumb), "%s",
	    p != NULL ? p : "");
	snprintf(d->secondary_thumb, sizeof(d->secondary_thumb), "%s",
	    s != NULL ? s : "");
	return d;
}

/* Puts d and frees it; returns the store's answer. */
static int
put_dev(struct rc_store *s, const struct rc_store_ctx *ctx,
    struct rc_hub_device *d)
{
	struct rc_hub_device *out = (struct rc_hub_device *)d;
	int rc;

	rc = rc_store_hub_device_put(s, ctx, d, &out);
	if (rc == RC_OK)
		assert_non_null(out);
	else
		assert_null(out);
	rc_hub_device_free(out);
	rc_hub_device_free(d);
	return rc;
}

static struct rc_hub_device *
get_dev(struct rc_store *s, const char *hub, const char *id)
{
	struct rc_hub_device *d = NULL;

	assert_int_equal(rc_store_hub_device_get(s, hub, id, &d), RC_OK);
	return d;
}

static int
twin(struct rc_store *s, const struct rc_store_ctx *ctx, const char *id,
    const char *tags, const char *desired, const char *reported, int replace)
{
	struct rc_hub_twin_patch p = {NULL, NULL, NULL, replace};
	struct rc_hub_device *out = NULL;
	json_t *t = NULL, *d = NULL, *r = NULL;
	int rc;

	p.tags = t = tags != NULL ? js(tags) : NULL;
	p.desired = d = desired != NULL ? js(desired) : NULL;
	p.reported = r = reported != NULL ? js(reported) : NULL;
	rc = rc_store_hub_twin_update(s, ctx, "hub1", id, &p, &out);
	if (rc == RC_OK)
		assert_non_null(out);
	else
		assert_null(out);
	rc_hub_device_free(out);
	json_decref(t);
	json_decref(d);
	json_decref(r);
	return rc;
}

static struct rc_audit **
audit_rows(struct rc_store *s, size_t *n)
{
	struct rc_audit **v = NULL;

	assert_int_equal(rc_store_audit_list(s, 0, 100000, &v, n), RC_OK);
	return v;
}

static size_t
audit_count(struct rc_store *s)
{
	struct rc_audit **v;
	size_t n;

	v = audit_rows(s, &n);
	rc_audit_list_free(v, n);
	return n;
}

static void
test_device_create(void **state)
{
	struct fx *f = *state;
	struct rc_hub_device *in, *out = NULL, *got;
	size_t i;

	in = make_dev("Hub1", "dev-1", RC_HUB_AUTH_SELF_SIGNED, SHA1_A,
	    SHA256_B);
	in->status_reason = rc_strdup("provisioned");
	in->capabilities_iot_edge = 1;
	json_object_set_new(in->tags, "site", json_string("berlin"));
	json_object_set_new(in->desired, "interval", json_integer(30));
	json_object_set_new(in->reported, "ignored", json_true());
	assert_int_equal(rc_store_hub_device_put(f->s, &owner, in, &out),
	    RC_OK);
	assert_string_equal(out->hub, "Hub1");
	assert_string_equal(out->device_id, "dev-1");
	assert_int_equal(out->auth, RC_HUB_AUTH_SELF_SIGNED);
	/* thumbprints come back upper-case */
	assert_string_equal(out->primary_thumb,
	    "0A1B2C3D4E5F60718293A4B5C6D7E8F901234567");
	assert_int_equal(strlen(out->secondary_thumb), 64);
	assert_string_equal(out->secondary_thumb + 60, "0002");
	assert_int_equal(out->secondary_thumb[0], 'B');
	assert_int_equal(out->enabled, 1);
	assert_string_equal(out->status_reason, "provisioned");
	assert_int_equal(out->capabilities_iot_edge, 1);
	assert_int_equal(strlen(out->generation_id), 18);
	for (i = 0; i < 18; i++)
		assert_true(out->generation_id[i] >= '0' &&
		    out->generation_id[i] <= '9');
	assert_int_equal(out->etag[0], '"');
	assert_int_equal(out->twin_etag[0], '"');
	assert_string_not_equal(out->etag, out->twin_etag);
	assert_true(out->created > 0);
	assert_int_equal(out->created, out->updated);
	assert_int_equal(out->last_activity, 0);
	assert_json(out->tags, "{\"site\":\"berlin\"}");
	assert_json(out->desired, "{\"interval\":30}");
	/* the device reports; a create cannot */
	assert_json(out->reported, "{}");
	assert_int_equal(out->desired_version, 1);
	assert_int_equal(out->reported_version, 1);
	assert_int_equal(out->twin_version, 1);

	/* the hub name is a host name: any case finds it */
	got = get_dev(f->s, "HUB1", "dev-1");
	assert_string_equal(got->hub, "Hub1");
	assert_string_equal(got->etag, out->etag);
	assert_string_equal(got->generation_id, out->generation_id);
	assert_string_equal(got->primary_thumb, out->primary_thumb);
	assert_json(got->tags, "{\"site\":\"berlin\"}");
	rc_hub_device_free(got);
	got = (struct rc_hub_device *)in;
	assert_int_equal(rc_store_hub_device_get(f->s, "hub2", "dev-1", &got),
	    RC_ENOENT);
	assert_null(got);
	rc_hub_device_free(in);
	rc_hub_device_free(out);
}

static void
test_device_conflict(void **state)
{
	struct fx *f = *state;
	struct rc_hub_device *got;
	size_t n;

	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("hub1", "d", RC_HUB_AUTH_CA, NULL, NULL)),
	    RC_OK);
	n = audit_count(f->s);
	/* IoT Hub's PUT without If-Match: 409, and nothing changes */
	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("hub1", "d", RC_HUB_AUTH_SELF_SIGNED,
	                         SHA256_A, NULL)),
	    RC_EEXIST);
	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("HUB1", "d", RC_HUB_AUTH_CA, NULL, NULL)),
	    RC_EEXIST);
	assert_int_equal(audit_count(f->s), n);
	got = get_dev(f->s, "hub1", "d");
	assert_int_equal(got->auth, RC_HUB_AUTH_CA);
	rc_hub_device_free(got);
	/* the same ID in another hub is another device */
	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("hub2", "d", RC_HUB_AUTH_CA, NULL, NULL)),
	    RC_OK);
}

static void
test_device_if_match(void **state)
{
	struct fx *f = *state;
	struct rc_hub_device *first, *in, *out = NULL;
	struct rc_store_ctx ctx = {"service", NULL};

	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("hub1", "d", RC_HUB_AUTH_SELF_SIGNED,
	                         SHA256_A, NULL)),
	    RC_OK);
	assert_int_equal(twin(f->s, &owner, "d", "{\"t\":1}", NULL, NULL, 0),
	    RC_OK);
	first = get_dev(f->s, "hub1", "d");

	/* "*" updates whatever the etag; the twin and creation stay */
	in = make_dev("hub1", "d", RC_HUB_AUTH_SELF_SIGNED, SHA256_A, SHA256_B);
	in->enabled = 0;
	in->status_reason = rc_strdup("rolled");
	/* an update ignores the twin, even one a create would refuse */
	json_object_set_new(in->tags, "ignored", json_true());
	json_object_set_new(in->desired, "$bad", json_null());
	assert_int_equal(rc_store_hub_device_put(f->s, &any, in, &out), RC_OK);
	assert_string_not_equal(out->etag, first->etag);
	assert_string_equal(out->generation_id, first->generation_id);
	assert_int_equal(out->created, first->created);
	assert_int_equal(out->enabled, 0);
	assert_string_equal(out->status_reason, "rolled");
	assert_int_equal(strlen(out->secondary_thumb), 64);
	assert_json(out->tags, "{\"t\":1}");
	assert_string_equal(out->twin_etag, first->twin_etag);
	assert_int_equal(out->twin_version, first->twin_version);

	/* an old etag is stale; the current one matches */
	ctx.if_match = first->etag;
	assert_int_equal(put_dev(f->s, &ctx, rc_hub_device_dup(in)), RC_ESTALE);
	ctx.if_match = out->etag;
	assert_int_equal(put_dev(f->s, &ctx, rc_hub_device_dup(in)), RC_OK);
	assert_int_equal(put_dev(f->s, &ctx, rc_hub_device_dup(in)), RC_ESTALE);
	/* an update of a missing device */
	rc_free(in->device_id);
	in->device_id = rc_strdup("missing");
	assert_int_equal(put_dev(f->s, &any, rc_hub_device_dup(in)), RC_ENOENT);
	rc_hub_device_free(first);
	rc_hub_device_free(in);
	rc_hub_device_free(out);
}

static void
test_device_delete(void **state)
{
	struct fx *f = *state;
	struct rc_hub_device *d, *again;
	struct rc_store_ctx ctx = {"service", "\"0000000000000000\""};

	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("hub1", "d", RC_HUB_AUTH_CA, NULL, NULL)),
	    RC_OK);
	d = get_dev(f->s, "hub1", "d");
	assert_int_equal(rc_store_hub_device_delete(f->s, &ctx, "hub1", "d"),
	    RC_ESTALE);
	ctx.if_match = d->etag;
	assert_int_equal(rc_store_hub_device_delete(f->s, &ctx, "hub1", "d"),
	    RC_OK);
	assert_int_equal(rc_store_hub_device_get(f->s, "hub1", "d", &again),
	    RC_ENOENT);
	assert_int_equal(rc_store_hub_device_delete(f->s, &any, "hub1", "d"),
	    RC_ENOENT);
	assert_int_equal(rc_store_hub_device_delete(f->s, &owner, "hub1", "d"),
	    RC_ENOENT);
	/* created again, it is another generation of the device */
	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("hub1", "d", RC_HUB_AUTH_CA, NULL, NULL)),
	    RC_OK);
	again = get_dev(f->s, "hub1", "d");
	assert_string_not_equal(again->generation_id, d->generation_id);
	assert_int_equal(rc_store_hub_device_delete(f->s, &owner, "hub1", "d"),
	    RC_OK);
	rc_hub_device_free(d);
	rc_hub_device_free(again);
}

static void
test_case_sensitive(void **state)
{
	struct fx *f = *state;
	struct rc_hub_device *a, *b;

	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("hub1", "Device1",
	                         RC_HUB_AUTH_SELF_SIGNED, SHA256_A, NULL)),
	    RC_OK);
	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("hub1", "device1",
	                         RC_HUB_AUTH_SELF_SIGNED, SHA256_B, NULL)),
	    RC_OK);
	a = get_dev(f->s, "hub1", "Device1");
	b = get_dev(f->s, "hub1", "device1");
	assert_string_equal(a->device_id, "Device1");
	assert_string_equal(b->device_id, "device1");
	assert_string_not_equal(a->primary_thumb, b->primary_thumb);
	rc_hub_device_free(a);
	rc_hub_device_free(b);
	assert_int_equal(rc_store_hub_device_get(f->s, "hub1", "DEVICE1", &a),
	    RC_ENOENT);
	assert_int_equal(rc_store_hub_device_delete(f->s, &any, "hub1",
	                     "device1"),
	    RC_OK);
	a = get_dev(f->s, "hub1", "Device1");
	rc_hub_device_free(a);
	assert_int_equal(twin(f->s, &owner, "device1", "{}", NULL, NULL, 0),
	    RC_ENOENT);
}

static void
test_device_id_valid(void **state)
{
	char id[RC_HUB_MAX_DEVICE_ID + 2];

	(void)state;
	assert_true(rc_hub_device_id_valid("a"));
	assert_true(rc_hub_device_id_valid("Dev-1.x+%_#*?!(),:=@$'"));
	memset(id, 'x', sizeof(id));
	id[RC_HUB_MAX_DEVICE_ID] = '\0';
	assert_true(rc_hub_device_id_valid(id));
	id[RC_HUB_MAX_DEVICE_ID] = 'x';
	id[RC_HUB_MAX_DEVICE_ID + 1] = '\0';
	assert_false(rc_hub_device_id_valid(id));
	assert_false(rc_hub_device_id_valid(NULL));
	assert_false(rc_hub_device_id_valid(""));
	assert_false(rc_hub_device_id_valid("a/b"));
	assert_false(rc_hub_device_id_valid("a b"));
	assert_false(rc_hub_device_id_valid("a\nb"));
	assert_false(rc_hub_device_id_valid("caf\xc3\xa9"));
	assert_false(rc_hub_device_id_valid("a\"b"));
}

/* Each malformed identity is refused before anything is written. */
static void
test_device_invalid(void **state)
{
	struct fx *f = *state;
	struct rc_store_ctx nobody = {"", NULL};
	struct rc_hub_device *d, *out = NULL;

	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("hub1", "a/b", RC_HUB_AUTH_CA, NULL,
	                         NULL)),
	    RC_EINVAL);
	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("", "a", RC_HUB_AUTH_CA, NULL, NULL)),
	    RC_EINVAL);
	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("h/1", "a", RC_HUB_AUTH_CA, NULL, NULL)),
	    RC_EINVAL);
	/* selfSigned needs a thumbprint; the others may not have one */
	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("hub1", "a", RC_HUB_AUTH_SELF_SIGNED,
	                         NULL, NULL)),
	    RC_EINVAL);
	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("hub1", "a", RC_HUB_AUTH_CA, SHA256_A,
	                         NULL)),
	    RC_EINVAL);
	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("hub1", "a", RC_HUB_AUTH_NONE, NULL,
	                         SHA1_A)),
	    RC_EINVAL);
	/* 39, 41 and 63 digits, a non-hex digit */
	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("hub1", "a", RC_HUB_AUTH_SELF_SIGNED,
	                         SHA1_A + 1, NULL)),
	    RC_EINVAL);
	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("hub1", "a", RC_HUB_AUTH_SELF_SIGNED,
	                         SHA1_A "0", NULL)),
	    RC_EINVAL);
	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("hub1", "a", RC_HUB_AUTH_SELF_SIGNED,
	                         NULL, SHA256_A + 1)),
	    RC_EINVAL);
	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("hub1", "a", RC_HUB_AUTH_SELF_SIGNED,
	                         "0a1b2c3d4e5f60718293a4b5c6d7e8f90123456g",
	                         NULL)),
	    RC_EINVAL);
	d = make_dev("hub1", "a", (enum rc_hub_auth)7, NULL, NULL);
	assert_int_equal(put_dev(f->s, &owner, d), RC_EINVAL);
	d = make_dev("hub1", "a", RC_HUB_AUTH_CA, NULL, NULL);
	d->status_reason = rc_calloc(1, RC_HUB_MAX_STATUS_REASON + 2);
	memset(d->status_reason, 'r', RC_HUB_MAX_STATUS_REASON + 1);
	assert_int_equal(put_dev(f->s, &owner, d), RC_EINVAL);
	/* an initial twin follows the twin rules */
	d = make_dev("hub1", "a", RC_HUB_AUTH_CA, NULL, NULL);
	json_object_set_new(d->tags, "$bad", json_true());
	assert_int_equal(put_dev(f->s, &owner, d), RC_EINVAL);
	d = make_dev("hub1", "a", RC_HUB_AUTH_CA, NULL, NULL);
	json_object_set_new(d->desired, "gone", json_null());
	assert_int_equal(put_dev(f->s, &owner, d), RC_EINVAL);
	d = make_dev("hub1", "a", RC_HUB_AUTH_CA, NULL, NULL);
	json_decref(d->tags);
	d->tags = json_array();
	assert_int_equal(put_dev(f->s, &owner, d), RC_EINVAL);

	d = make_dev("hub1", "a", RC_HUB_AUTH_CA, NULL, NULL);
	assert_int_equal(rc_store_hub_device_put(f->s, &nobody, d, &out),
	    RC_EINVAL);
	assert_int_equal(rc_store_hub_device_put(f->s, NULL, d, &out),
	    RC_EINVAL);
	assert_int_equal(rc_store_hub_device_put(f->s, &owner, NULL, &out),
	    RC_EINVAL);
	assert_null(out);
	rc_hub_device_free(d);
	assert_int_equal(rc_store_hub_device_get(f->s, "hub1", "a", &out),
	    RC_ENOENT);
	assert_int_equal(rc_store_hub_device_get(f->s, "hub1", "", &out),
	    RC_EINVAL);
	assert_int_equal(rc_store_hub_device_get(f->s, NULL, "a", &out),
	    RC_EINVAL);
	assert_int_equal(rc_store_hub_device_delete(f->s, &nobody, "hub1", "a"),
	    RC_EINVAL);
	assert_int_equal(audit_count(f->s), 0);
}

static void
test_twin_merge(void **state)
{
	struct fx *f = *state;
	struct rc_hub_device *before, *d;

	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("hub1", "d", RC_HUB_AUTH_CA, NULL, NULL)),
	    RC_OK);
	before = get_dev(f->s, "hub1", "d");
	assert_int_equal(twin(f->s, &owner, "d",
	                     "{\"a\":1,\"b\":{\"c\":2,\"d\":3},\"s\":\"x\"}",
	                     "{\"fw\":{\"version\":\"1.0\",\"url\":\"u\"}}",
	                     NULL, 0),
	    RC_OK);
	/* null deletes (also a key that is not there), objects merge deeply,
	 * arrays and scalars replace, an object replaces a scalar and the
	 * other way round, and nulls nested in a new object vanish */
	assert_int_equal(twin(f->s, &owner, "d",
	                     "{\"b\":{\"c\":null,\"e\":4},\"zz\":null,\"s\":{"
	                     "\"t\":1},"
	                     "\"a\":[1,null],\"n\":{\"m\":{\"x\":null,\"y\":"
	                     "true}}}",
	                     "{\"fw\":{\"url\":null,\"size\":7},\"mode\":"
	                     "\"on\"}",
	                     NULL, 0),
	    RC_OK);
	d = get_dev(f->s, "hub1", "d");
	assert_json(d->tags,
	    "{\"a\":[1,null],\"b\":{\"d\":3,\"e\":4},\"s\":{\"t\":1},"
	    "\"n\":{\"m\":{\"y\":true}}}");
	assert_json(d->desired,
	    "{\"fw\":{\"version\":\"1.0\",\"size\":7},\"mode\":\"on\"}");
	assert_int_equal(d->desired_version, 3);
	assert_int_equal(d->reported_version, 1);
	assert_int_equal(d->twin_version, 3);
	assert_string_not_equal(d->twin_etag, before->twin_etag);
	/* the identity is untouched by twin updates */
	assert_string_equal(d->etag, before->etag);
	assert_int_equal(d->updated, before->updated);
	rc_hub_device_free(d);

	/* tags alone leave desired_version; reported counts on its own */
	assert_int_equal(twin(f->s, &owner, "d", "{\"s\":\"y\"}", NULL, NULL,
	                     0),
	    RC_OK);
	assert_int_equal(twin(f->s, &owner, "d", NULL, NULL,
	                     "{\"fw\":{\"state\":\"ok\"},\"t\":null}", 0),
	    RC_OK);
	assert_int_equal(twin(f->s, &owner, "d", NULL, NULL,
	                     "{\"fw\":{\"at\":5}}", 0),
	    RC_OK);
	d = get_dev(f->s, "hub1", "d");
	assert_int_equal(d->desired_version, 3);
	assert_int_equal(d->reported_version, 3);
	assert_int_equal(d->twin_version, 6);
	assert_json(d->reported, "{\"fw\":{\"state\":\"ok\",\"at\":5}}");
	assert_json(d->tags,
	    "{\"a\":[1,null],\"b\":{\"d\":3,\"e\":4},\"s\":\"y\","
	    "\"n\":{\"m\":{\"y\":true}}}");
	rc_hub_device_free(d);
	rc_hub_device_free(before);
}

static void
test_twin_if_match(void **state)
{
	struct fx *f = *state;
	struct rc_store_ctx ctx = {"service", NULL};
	struct rc_hub_device *d, *e;

	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("hub1", "d", RC_HUB_AUTH_CA, NULL, NULL)),
	    RC_OK);
	d = get_dev(f->s, "hub1", "d");
	/* the device etag is not the twin's */
	ctx.if_match = d->etag;
	assert_int_equal(twin(f->s, &ctx, "d", "{\"a\":1}", NULL, NULL, 0),
	    RC_ESTALE);
	ctx.if_match = d->twin_etag;
	assert_int_equal(twin(f->s, &ctx, "d", "{\"a\":1}", NULL, NULL, 0),
	    RC_OK);
	assert_int_equal(twin(f->s, &ctx, "d", "{\"a\":2}", NULL, NULL, 0),
	    RC_ESTALE);
	assert_int_equal(twin(f->s, &any, "d", "{\"a\":2}", NULL, NULL, 0),
	    RC_OK);
	assert_int_equal(twin(f->s, &any, "nope", "{\"a\":2}", NULL, NULL, 0),
	    RC_ENOENT);
	e = get_dev(f->s, "hub1", "d");
	assert_json(e->tags, "{\"a\":2}");
	rc_hub_device_free(d);
	rc_hub_device_free(e);
}

static void
test_twin_replace(void **state)
{
	struct fx *f = *state;
	struct rc_hub_device *d;

	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("hub1", "d", RC_HUB_AUTH_CA, NULL, NULL)),
	    RC_OK);
	assert_int_equal(twin(f->s, &owner, "d", "{\"a\":1,\"b\":2}",
	                     "{\"x\":{\"y\":1}}", "{\"r\":1}", 0),
	    RC_OK);
	assert_int_equal(twin(f->s, &owner, "d", "{\"c\":{\"d\":3}}", "{}",
	                     NULL, 1),
	    RC_OK);
	d = get_dev(f->s, "hub1", "d");
	assert_json(d->tags, "{\"c\":{\"d\":3}}");
	assert_json(d->desired, "{}");
	assert_json(d->reported, "{\"r\":1}");
	assert_int_equal(d->desired_version, 3);
	assert_int_equal(d->reported_version, 2);
	rc_hub_device_free(d);
	/* a replacement holds no null; reported is always a patch */
	assert_int_equal(twin(f->s, &owner, "d", "{\"a\":null}", NULL, NULL, 1),
	    RC_EINVAL);
	assert_int_equal(twin(f->s, &owner, "d", NULL, NULL, "{\"r\":null}", 1),
	    RC_OK);
	d = get_dev(f->s, "hub1", "d");
	assert_json(d->reported, "{}");
	assert_json(d->tags, "{\"c\":{\"d\":3}}");
	rc_hub_device_free(d);
}

/* A nest of depth objects: {"k":{"k":...{}}} */
static char *
nest(int depth)
{
	char *s;
	int i;

	s = rc_calloc(1, (size_t)depth * 6 + 3);
	assert_non_null(s);
	for (i = 0; i < depth; i++)
		memcpy(s + strlen(s), "{\"k\":", 5);
	memcpy(s + strlen(s), "{}", 2);
	for (i = 0; i < depth; i++)
		s[strlen(s)] = '}';
	return s;
}

static void
test_twin_invalid(void **state)
{
	static const char *bad[] = {
	    "{\"a.b\":1}",
	    "{\"$version\":1}",
	    "{\"a b\":1}",
	    "{\"\":1}",
	    "{\"a\\u0001\":1}",
	    "{\"a\\u007f\":1}",
	    "{\"a\\u0085\":1}",
	    "{\"ok\":{\"x$\":1}}",
	    "{\"ok\":[{\"x.y\":1}]}",
	    "{\"ok\":[{\"x\":null}]}",
	    "[1]",
	    "1",
	    "null",
	};
	struct fx *f = *state;
	struct rc_hub_device *before, *after, *out = NULL;
	struct rc_hub_twin_patch p = {NULL, NULL, NULL, 0};
	json_t *big;
	char *text, key[RC_HUB_TWIN_MAX_KEY + 8];
	size_t i;

	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("hub1", "d", RC_HUB_AUTH_CA, NULL, NULL)),
	    RC_OK);
	assert_int_equal(twin(f->s, &owner, "d", "{\"keep\":1}", NULL, NULL, 0),
	    RC_OK);
	before = get_dev(f->s, "hub1", "d");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(twin(f->s, &owner, "d", bad[i], NULL, NULL, 0),
		    RC_EINVAL);
		assert_int_equal(twin(f->s, &owner, "d", NULL, NULL, bad[i], 0),
		    RC_EINVAL);
	}
	/* all three sections NULL */
	assert_int_equal(rc_store_hub_twin_update(f->s, &owner, "hub1", "d", &p,
	                     &out),
	    RC_EINVAL);
	assert_int_equal(rc_store_hub_twin_update(f->s, &owner, "hub1", "d",
	                     NULL, &out),
	    RC_EINVAL);
	/* depth: RC_HUB_TWIN_MAX_DEPTH nested objects below the root, + 1 */
	text = nest(RC_HUB_TWIN_MAX_DEPTH);
	assert_int_equal(twin(f->s, &owner, "d", NULL, text, NULL, 0), RC_OK);
	rc_free(text);
	text = nest(RC_HUB_TWIN_MAX_DEPTH + 1);
	assert_int_equal(twin(f->s, &owner, "d", NULL, text, NULL, 0),
	    RC_EINVAL);
	rc_free(text);
	/* key length: the maximum, and one more */
	memset(key, 'k', sizeof(key));
	key[RC_HUB_TWIN_MAX_KEY] = '\0';
	big = json_object();
	json_object_set_new(big, key, json_true());
	p.tags = big;
	assert_int_equal(rc_store_hub_twin_update(f->s, &owner, "hub1", "d", &p,
	                     &out),
	    RC_OK);
	rc_hub_device_free(out);
	json_decref(big);
	key[RC_HUB_TWIN_MAX_KEY] = 'k';
	key[RC_HUB_TWIN_MAX_KEY + 1] = '\0';
	big = json_object();
	json_object_set_new(big, key, json_true());
	p.tags = big;
	assert_int_equal(rc_store_hub_twin_update(f->s, &owner, "hub1", "d", &p,
	                     &out),
	    RC_EINVAL);
	json_decref(big);
	/* size: a section that would grow over the cap */
	text = rc_calloc(1, RC_HUB_TWIN_MAX_BYTES);
	memset(text, 'v', RC_HUB_TWIN_MAX_BYTES - 1);
	big = json_pack("{s:s}", "big", text);
	p.tags = NULL;
	p.reported = big;
	assert_int_equal(rc_store_hub_twin_update(f->s, &owner, "hub1", "d", &p,
	                     &out),
	    RC_ETOOBIG);
	assert_null(out);
	json_decref(big);
	rc_free(text);
	/* nothing of the refused updates was stored */
	after = get_dev(f->s, "hub1", "d");
	assert_json(after->reported, "{}");
	assert_int_equal(after->reported_version, before->reported_version);
	rc_hub_device_free(before);
	rc_hub_device_free(after);
}

/* Pages through hub1, checking order; returns the number of devices. */
static size_t
page_all(struct rc_store *s, const char *hub, size_t max, char ids[][16],
    size_t cap)
{
	struct rc_hub_device **v;
	char *after = NULL, *next;
	size_t n, i, total = 0;

	for (;;) {
		assert_int_equal(rc_store_hub_device_list(s, hub, after, max,
		                     &v, &n, &next),
		    RC_OK);
		assert_true(n <= max);
		for (i = 0; i < n; i++) {
			assert_true(total < cap);
			snprintf(ids[total], 16, "%s", v[i]->device_id);
			if (total > 0)
				assert_true(
				    strcmp(ids[total - 1], ids[total]) < 0);
			total++;
		}
		rc_hub_device_list_free(v, n);
		rc_free(after);
		after = next;
		if (next == NULL)
			break;
		assert_int_equal(n, max);
	}
	return total;
}

static void
test_list_paging(void **state)
{
	struct fx *f = *state;
	struct rc_hub_device **v = NULL;
	char ids[32][16], id[16], *next = NULL;
	size_t n = 5;
	int i;

	for (i = 0; i < 25; i++) {
		snprintf(id, sizeof(id), "%c-%02d", i % 2 ? 'a' : 'B', i);
		assert_int_equal(put_dev(f->s, &owner,
		                     make_dev("hub1", id, RC_HUB_AUTH_CA, NULL,
		                         NULL)),
		    RC_OK);
	}
	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("hub2", "other", RC_HUB_AUTH_CA, NULL,
	                         NULL)),
	    RC_OK);
	assert_int_equal(page_all(f->s, "hub1", 10, ids, 32), 25);
	/* byte order: upper case first */
	assert_string_equal(ids[0], "B-00");
	assert_string_equal(ids[12], "B-24");
	assert_string_equal(ids[13], "a-01");
	assert_int_equal(page_all(f->s, "HUB1", 25, ids, 32), 25);
	assert_int_equal(page_all(f->s, "hub1", 1, ids, 32), 25);
	assert_int_equal(page_all(f->s, "hub2", 3, ids, 32), 1);
	assert_string_equal(ids[0], "other");
	/* an empty hub, and a token past the end */
	assert_int_equal(rc_store_hub_device_list(f->s, "hub3", NULL, 10, &v,
	                     &n, &next),
	    RC_OK);
	assert_int_equal(n, 0);
	assert_null(v);
	assert_null(next);
	assert_int_equal(rc_store_hub_device_list(f->s, "hub1", "zzz", 10, &v,
	                     &n, &next),
	    RC_OK);
	assert_int_equal(n, 0);
	assert_int_equal(rc_store_hub_device_list(f->s, "hub1", NULL, 0, &v, &n,
	                     &next),
	    RC_EINVAL);
}

static void
test_find_thumb(void **state)
{
	struct fx *f = *state;
	struct rc_hub_device **v = NULL;
	size_t n = 9;

	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("hub2", "x", RC_HUB_AUTH_SELF_SIGNED,
	                         SHA256_A, NULL)),
	    RC_OK);
	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("hub1", "y", RC_HUB_AUTH_SELF_SIGNED,
	                         SHA1_A, SHA256_A)),
	    RC_OK);
	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("hub1", "z", RC_HUB_AUTH_SELF_SIGNED,
	                         SHA256_B, NULL)),
	    RC_OK);
	/* lower-case in, both slots, in (hub, device) order */
	assert_int_equal(rc_store_hub_device_find_thumb(f->s, SHA256_A, &v, &n),
	    RC_OK);
	assert_int_equal(n, 2);
	assert_string_equal(v[0]->hub, "hub1");
	assert_string_equal(v[0]->device_id, "y");
	assert_string_equal(v[1]->hub, "hub2");
	rc_hub_device_list_free(v, n);
	assert_int_equal(rc_store_hub_device_find_thumb(f->s,
	                     "0A1B2C3D4E5F60718293A4B5C6D7E8F901234567", &v,
	                     &n),
	    RC_OK);
	assert_int_equal(n, 1);
	assert_string_equal(v[0]->device_id, "y");
	rc_hub_device_list_free(v, n);
	assert_int_equal(rc_store_hub_device_find_thumb(f->s,
	                     "cc00000000000000000000000000000000000000000000000"
	                     "000000000000003",
	                     &v, &n),
	    RC_OK);
	assert_int_equal(n, 0);
	assert_null(v);
	/* a roll moves the thumbprint out of the index */
	assert_int_equal(put_dev(f->s, &any,
	                     make_dev("hub1", "y", RC_HUB_AUTH_SELF_SIGNED,
	                         SHA256_B, NULL)),
	    RC_OK);
	assert_int_equal(rc_store_hub_device_find_thumb(f->s, SHA256_A, &v, &n),
	    RC_OK);
	assert_int_equal(n, 1);
	rc_hub_device_list_free(v, n);
	assert_int_equal(rc_store_hub_device_find_thumb(f->s, SHA256_A + 1, &v,
	                     &n),
	    RC_EINVAL);
	assert_int_equal(rc_store_hub_device_find_thumb(f->s, "", &v, &n),
	    RC_EINVAL);
}

static void
test_touch(void **state)
{
	struct fx *f = *state;
	struct rc_hub_device *a, *b;
	size_t n;

	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("hub1", "d", RC_HUB_AUTH_CA, NULL, NULL)),
	    RC_OK);
	a = get_dev(f->s, "hub1", "d");
	n = audit_count(f->s);
	assert_int_equal(rc_store_hub_device_touch(f->s, "hub1", "d",
	                     1700000123),
	    RC_OK);
	b = get_dev(f->s, "hub1", "d");
	assert_int_equal(b->last_activity, 1700000123);
	assert_string_equal(a->etag, b->etag);
	assert_int_equal(audit_count(f->s), n);
	assert_int_equal(rc_store_hub_device_touch(f->s, "hub1", "D", 1),
	    RC_ENOENT);
	assert_int_equal(rc_store_hub_device_touch(f->s, "hub1", "d", -1),
	    RC_EINVAL);
	rc_hub_device_free(a);
	rc_hub_device_free(b);
}

static int
append(struct rc_store *s, const char *hub, const char *dev, const char *body,
    const char *props, size_t retain, int64_t *seq)
{
	struct rc_hub_event e;
	int rc;

	memset(&e, 0, sizeof(e));
	e.hub = (char *)hub;
	e.device_id = (char *)dev;
	e.body = (uint8_t *)body;
	e.body_len = body != NULL ? strlen(body) : 0;
	e.props = props != NULL ? js(props) : NULL;
	rc = rc_store_hub_event_append(s, &e, retain, seq);
	json_decref(e.props);
	return rc;
}

static void
test_events_retention(void **state)
{
	struct fx *f = *state;
	struct rc_hub_event **v = NULL;
	int64_t seq, prev = 0, first, last;
	size_t n, audits;
	char body[32];
	int i;

	audits = audit_count(f->s);
	for (i = 1; i <= 150; i++) {
		snprintf(body, sizeof(body), "{\"n\":%d}", i);
		assert_int_equal(append(f->s, "hub1", "dev", body,
		                     "{\"app\":\"x\",\"$.ct\":\"json\"}", 100,
		                     &seq),
		    RC_OK);
		assert_int_equal(seq, prev + 1);
		prev = seq;
	}
	/* telemetry is not audited */
	assert_int_equal(audit_count(f->s), audits);
	assert_int_equal(rc_store_hub_event_bounds(f->s, "HUB1", &first, &last),
	    RC_OK);
	assert_int_equal(first, 51);
	assert_int_equal(last, 150);
	assert_int_equal(rc_store_hub_event_read(f->s, "hub1", 0, 1000, &v, &n),
	    RC_OK);
	assert_int_equal(n, 100);
	assert_int_equal(v[0]->seq, 51);
	assert_int_equal(v[99]->seq, 150);
	for (i = 1; i < 100; i++)
		assert_int_equal(v[i]->seq, v[i - 1]->seq + 1);
	assert_string_equal(v[0]->device_id, "dev");
	assert_string_equal(v[0]->hub, "hub1");
	assert_int_equal(v[0]->body_len, strlen("{\"n\":51}"));
	assert_memory_equal(v[0]->body, "{\"n\":51}", v[0]->body_len);
	assert_json(v[0]->props, "{\"app\":\"x\",\"$.ct\":\"json\"}");
	assert_true(v[0]->time > 0);
	rc_hub_event_list_free(v, n);
	/* paging by seq */
	assert_int_equal(rc_store_hub_event_read(f->s, "hub1", 140, 3, &v, &n),
	    RC_OK);
	assert_int_equal(n, 3);
	assert_int_equal(v[0]->seq, 141);
	rc_hub_event_list_free(v, n);
	assert_int_equal(rc_store_hub_event_read(f->s, "hub1", 150, 3, &v, &n),
	    RC_OK);
	assert_int_equal(n, 0);
	assert_null(v);
	/* a smaller retention trims at the next append */
	assert_int_equal(append(f->s, "hub1", "dev", "", NULL, 10, &seq),
	    RC_OK);
	assert_int_equal(seq, 151);
	assert_int_equal(rc_store_hub_event_bounds(f->s, "hub1", &first, &last),
	    RC_OK);
	assert_int_equal(first, 142);
	assert_int_equal(last, 151);
	assert_int_equal(rc_store_hub_event_read(f->s, "hub1", 150, 3, &v, &n),
	    RC_OK);
	assert_int_equal(n, 1);
	assert_int_equal(v[0]->body_len, 0);
	assert_null(v[0]->props);
	rc_hub_event_list_free(v, n);
}

/* Group commit: several events, of two hubs, in one transaction. */
static void
test_events_batch(void **state)
{
	struct fx *f = *state;
	struct rc_hub_event e[4], **v = NULL;
	const struct rc_hub_event *in[4];
	int64_t seqs[4], first, last;
	size_t i, n;

	memset(e, 0, sizeof(e));
	for (i = 0; i < 4; i++) {
		e[i].hub = (char *)(i == 2 ? "hub2" : "hub1");
		e[i].device_id = (char *)"dev";
		e[i].body = (uint8_t *)"b";
		e[i].body_len = 1;
		in[i] = &e[i];
	}
	assert_int_equal(rc_store_hub_event_append_batch(f->s, in, 4, 100,
	                     seqs),
	    RC_OK);
	assert_int_equal(seqs[0], 1);
	assert_int_equal(seqs[1], 2);
	assert_int_equal(seqs[2], 1); /* hub2 counts on its own */
	assert_int_equal(seqs[3], 3);
	/* one bad event: nothing of the batch is stored */
	e[1].device_id = (char *)"";
	assert_int_equal(rc_store_hub_event_append_batch(f->s, in, 4, 100,
	                     seqs),
	    RC_EINVAL);
	assert_int_equal(seqs[0], 0);
	e[1].device_id = (char *)"dev";
	e[3].body_len = RC_HUB_EVENT_MAX_BODY + 1;
	assert_int_equal(rc_store_hub_event_append_batch(f->s, in, 4, 100,
	                     seqs),
	    RC_ETOOBIG);
	assert_int_equal(rc_store_hub_event_bounds(f->s, "hub1", &first, &last),
	    RC_OK);
	assert_int_equal(last, 3);
	assert_int_equal(rc_store_hub_event_append_batch(f->s, in, 0, 100,
	                     seqs),
	    RC_EINVAL);
	/* retention applies within the batch */
	e[3].body_len = 1;
	assert_int_equal(rc_store_hub_event_append_batch(f->s, in, 4, 2, seqs),
	    RC_OK);
	assert_int_equal(rc_store_hub_event_read(f->s, "hub1", 0, 10, &v, &n),
	    RC_OK);
	assert_int_equal(n, 2);
	assert_int_equal(v[0]->seq, 5);
	assert_int_equal(v[1]->seq, 6);
	rc_hub_event_list_free(v, n);
}

static void
test_events_hubs(void **state)
{
	struct fx *f = *state;
	struct rc_hub_event e, **v = NULL;
	int64_t seq = 7, first, last;
	size_t n;

	assert_int_equal(rc_store_hub_event_bounds(f->s, "hub1", &first, &last),
	    RC_OK);
	assert_int_equal(first, 0);
	assert_int_equal(last, 0);
	assert_int_equal(append(f->s, "hub1", "a", "1", NULL, 5, &seq), RC_OK);
	assert_int_equal(append(f->s, "hub1", "a", "2", NULL, 5, &seq), RC_OK);
	/* every hub counts from 1 */
	assert_int_equal(append(f->s, "hub2", "b", "x", NULL, 5, &seq), RC_OK);
	assert_int_equal(seq, 1);
	assert_int_equal(rc_store_hub_event_read(f->s, "hub2", 0, 10, &v, &n),
	    RC_OK);
	assert_int_equal(n, 1);
	assert_string_equal(v[0]->device_id, "b");
	rc_hub_event_list_free(v, n);
	/* retention 1 keeps only the newest */
	assert_int_equal(append(f->s, "hub1", "a", "3", NULL, 1, &seq), RC_OK);
	assert_int_equal(rc_store_hub_event_bounds(f->s, "hub1", &first, &last),
	    RC_OK);
	assert_int_equal(first, 3);
	assert_int_equal(last, 3);

	memset(&e, 0, sizeof(e));
	e.hub = "hub1";
	e.device_id = "a";
	e.time = 1234;
	assert_int_equal(rc_store_hub_event_append(f->s, &e, 0, &seq),
	    RC_EINVAL);
	assert_int_equal(seq, 0);
	assert_int_equal(rc_store_hub_event_append(f->s, &e, 3, &seq), RC_OK);
	assert_int_equal(rc_store_hub_event_read(f->s, "hub1", 3, 10, &v, &n),
	    RC_OK);
	assert_int_equal(v[0]->time, 1234);
	rc_hub_event_list_free(v, n);
	e.body_len = RC_HUB_EVENT_MAX_BODY + 1;
	e.body = rc_calloc(1, e.body_len);
	assert_int_equal(rc_store_hub_event_append(f->s, &e, 3, &seq),
	    RC_ETOOBIG);
	e.body_len--;
	assert_int_equal(rc_store_hub_event_append(f->s, &e, 3, &seq), RC_OK);
	rc_free(e.body);
	e.body = NULL;
	e.props = json_array();
	assert_int_equal(rc_store_hub_event_append(f->s, &e, 3, &seq),
	    RC_EINVAL);
	json_decref(e.props);
	e.props = NULL;
	e.device_id = "a b";
	assert_int_equal(rc_store_hub_event_append(f->s, &e, 3, &seq),
	    RC_EINVAL);
	assert_int_equal(rc_store_hub_event_read(f->s, "hub1", -1, 10, &v, &n),
	    RC_EINVAL);
	assert_int_equal(rc_store_hub_event_read(f->s, "hub1", 0, 0, &v, &n),
	    RC_EINVAL);
}

static struct rc_hub_job *
make_job(const char *id, const char *type)
{
	struct rc_hub_job *j;

	j = rc_calloc(1, sizeof(*j));
	assert_non_null(j);
	j->hub = rc_strdup("hub1");
	j->job_id = rc_strdup(id);
	j->type = rc_strdup(type);
	j->query_condition = rc_strdup("deviceId IN ['a','b']");
	if (strcmp(type, RC_HUB_JOB_TWIN) == 0)
		j->twin = js("{\"tags\":{\"x\":1},\"etag\":\"*\"}");
	else
		j->method = js("{\"methodName\":\"reboot\",\"payload\":null,"
		               "\"responseTimeoutInSeconds\":30}");
	j->start_time = 1700000000;
	j->max_execution_time = 3600;
	j->status = RC_HUB_JOB_COMPLETED; /* ignored */
	return j;
}

static int
job_update(struct rc_store *s, const char *id, enum rc_hub_job_status st,
    const char *stats, const char *reason)
{
	struct rc_hub_job *out = NULL;
	json_t *v = stats != NULL ? js(stats) : NULL;
	int rc;

	rc =
	    rc_store_hub_job_update(s, &owner, "hub1", id, st, v, reason, &out);
	if (rc == RC_OK)
		assert_non_null(out);
	else
		assert_null(out);
	rc_hub_job_free(out);
	json_decref(v);
	return rc;
}

static void
test_jobs(void **state)
{
	struct fx *f = *state;
	struct rc_hub_job *in, *out = NULL, **v = NULL;
	char *next = NULL, *after;
	size_t n, audits;

	in = make_job("job1", RC_HUB_JOB_METHOD);
	assert_int_equal(rc_store_hub_job_put(f->s, &owner, in, &out), RC_OK);
	assert_int_equal(out->status, RC_HUB_JOB_QUEUED);
	assert_string_equal(out->type, RC_HUB_JOB_METHOD);
	assert_string_equal(out->query_condition, "deviceId IN ['a','b']");
	assert_json(out->method,
	    "{\"methodName\":\"reboot\",\"payload\":null,"
	    "\"responseTimeoutInSeconds\":30}");
	assert_null(out->twin);
	assert_int_equal(out->start_time, 1700000000);
	assert_int_equal(out->max_execution_time, 3600);
	assert_true(out->created > 0);
	assert_int_equal(out->end_time, 0);
	rc_hub_job_free(out);
	assert_int_equal(rc_store_hub_job_put(f->s, &owner, in, &out),
	    RC_EEXIST);
	assert_null(out);
	rc_hub_job_free(in);
	in = make_job("Job1", RC_HUB_JOB_TWIN);
	assert_int_equal(rc_store_hub_job_put(f->s, &owner, in, &out), RC_OK);
	rc_hub_job_free(out);
	rc_hub_job_free(in);

	audits = audit_count(f->s);
	assert_int_equal(job_update(f->s, "job1", RC_HUB_JOB_RUNNING,
	                     "{\"deviceCount\":2,\"pendingCount\":2}", NULL),
	    RC_OK);
	assert_int_equal(audit_count(f->s), audits + 1);
	/* statistics alone: no audit row */
	assert_int_equal(job_update(f->s, "job1", RC_HUB_JOB_RUNNING,
	                     "{\"deviceCount\":2,\"succeededCount\":1}", NULL),
	    RC_OK);
	assert_int_equal(audit_count(f->s), audits + 1);
	assert_int_equal(job_update(f->s, "job1", RC_HUB_JOB_QUEUED, NULL,
	                     NULL),
	    RC_ESTALE);
	assert_int_equal(job_update(f->s, "job1", RC_HUB_JOB_COMPLETED, NULL,
	                     NULL),
	    RC_OK);
	assert_int_equal(rc_store_hub_job_get(f->s, "hub1", "job1", &out),
	    RC_OK);
	assert_int_equal(out->status, RC_HUB_JOB_COMPLETED);
	assert_true(out->end_time > 0);
	assert_json(out->statistics,
	    "{\"deviceCount\":2,\"succeededCount\":1}");
	rc_hub_job_free(out);
	/* final is final */
	assert_int_equal(job_update(f->s, "job1", RC_HUB_JOB_CANCELLED, NULL,
	                     NULL),
	    RC_ESTALE);
	assert_int_equal(job_update(f->s, "job1", RC_HUB_JOB_COMPLETED, NULL,
	                     NULL),
	    RC_ESTALE);
	/* queued straight to cancelled, with a reason */
	assert_int_equal(job_update(f->s, "Job1", RC_HUB_JOB_CANCELLED, NULL,
	                     "cancelled by user"),
	    RC_OK);
	assert_int_equal(rc_store_hub_job_get(f->s, "hub1", "Job1", &out),
	    RC_OK);
	assert_string_equal(out->failure_reason, "cancelled by user");
	assert_string_equal(rc_hub_job_status_name(out->status), "cancelled");
	assert_json(out->twin, "{\"tags\":{\"x\":1},\"etag\":\"*\"}");
	rc_hub_job_free(out);
	assert_int_equal(job_update(f->s, "job2", RC_HUB_JOB_RUNNING, NULL,
	                     NULL),
	    RC_ENOENT);

	/* lists: job ID order (byte order), a status filter, paging */
	assert_int_equal(rc_store_hub_job_list(f->s, "hub1", -1, NULL, 1, &v,
	                     &n, &next),
	    RC_OK);
	assert_int_equal(n, 1);
	assert_string_equal(v[0]->job_id, "Job1");
	assert_string_equal(next, "Job1");
	rc_hub_job_list_free(v, n);
	after = next;
	assert_int_equal(rc_store_hub_job_list(f->s, "hub1", -1, after, 1, &v,
	                     &n, &next),
	    RC_OK);
	assert_int_equal(n, 1);
	assert_string_equal(v[0]->job_id, "job1");
	assert_null(next);
	rc_hub_job_list_free(v, n);
	rc_free(after);
	assert_int_equal(rc_store_hub_job_list(f->s, "hub1",
	                     RC_HUB_JOB_COMPLETED, NULL, 10, &v, &n, &next),
	    RC_OK);
	assert_int_equal(n, 1);
	assert_string_equal(v[0]->job_id, "job1");
	rc_hub_job_list_free(v, n);
	assert_int_equal(rc_store_hub_job_list(f->s, "hub1", RC_HUB_JOB_QUEUED,
	                     NULL, 10, &v, &n, &next),
	    RC_OK);
	assert_int_equal(n, 0);
	assert_int_equal(rc_store_hub_job_list(f->s, "hub1", 9, NULL, 10, &v,
	                     &n, &next),
	    RC_EINVAL);
}

static void
test_jobs_invalid(void **state)
{
	struct fx *f = *state;
	struct rc_hub_job *j, *out = NULL;

	j = make_job("j", RC_HUB_JOB_METHOD);
	rc_free(j->type);
	j->type = rc_strdup("scheduleSomething");
	assert_int_equal(rc_store_hub_job_put(f->s, &owner, j, &out),
	    RC_EINVAL);
	rc_free(j->type);
	j->type = rc_strdup(RC_HUB_JOB_TWIN);
	/* a twin job with a method and no twin */
	assert_int_equal(rc_store_hub_job_put(f->s, &owner, j, &out),
	    RC_EINVAL);
	j->twin = json_object();
	assert_int_equal(rc_store_hub_job_put(f->s, &owner, j, &out),
	    RC_EINVAL);
	json_decref(j->method);
	j->method = NULL;
	j->start_time = -1;
	assert_int_equal(rc_store_hub_job_put(f->s, &owner, j, &out),
	    RC_EINVAL);
	j->start_time = 0;
	rc_free(j->job_id);
	j->job_id = rc_strdup("a/b");
	assert_int_equal(rc_store_hub_job_put(f->s, &owner, j, &out),
	    RC_EINVAL);
	rc_free(j->job_id);
	j->job_id = rc_strdup("ok");
	assert_int_equal(rc_store_hub_job_put(f->s, &owner, j, &out), RC_OK);
	rc_hub_job_free(out);
	rc_hub_job_free(j);
	assert_int_equal(job_update(f->s, "ok", (enum rc_hub_job_status)5, NULL,
	                     NULL),
	    RC_EINVAL);
	assert_int_equal(job_update(f->s, "ok", RC_HUB_JOB_RUNNING, "[]", NULL),
	    RC_EINVAL);
}

static void
test_audit(void **state)
{
	static const char *actions[] = {
	    "hubdevice.put",
	    "hubdevice.put",
	    "twin.patch",
	    "twin.replace",
	    "twin.report",
	    "hubdevice.delete",
	    "job.put",
	    "job.status",
	};
	struct fx *f = *state;
	struct rc_store_ctx dev = {"device:Dev", NULL};
	struct rc_hub_job *j, *out = NULL;
	struct rc_audit **v;
	int64_t bad = -1;
	size_t n, i;

	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("Hub1", "Dev", RC_HUB_AUTH_CA, NULL,
	                         NULL)),
	    RC_OK);
	assert_int_equal(put_dev(f->s, &any,
	                     make_dev("hub1", "Dev", RC_HUB_AUTH_SELF_SIGNED,
	                         SHA256_A, NULL)),
	    RC_OK);
	assert_int_equal(twin(f->s, &owner, "Dev", "{\"a\":1}", NULL, NULL, 0),
	    RC_OK);
	assert_int_equal(twin(f->s, &owner, "Dev", NULL, "{}", NULL, 1), RC_OK);
	assert_int_equal(twin(f->s, &dev, "Dev", NULL, NULL, "{\"r\":1}", 0),
	    RC_OK);
	assert_int_equal(rc_store_hub_device_delete(f->s, &owner, "hub1",
	                     "Dev"),
	    RC_OK);
	j = make_job("j1", RC_HUB_JOB_METHOD);
	assert_int_equal(rc_store_hub_job_put(f->s, &owner, j, &out), RC_OK);
	rc_hub_job_free(out);
	rc_hub_job_free(j);
	assert_int_equal(job_update(f->s, "j1", RC_HUB_JOB_RUNNING, NULL, NULL),
	    RC_OK);

	v = audit_rows(f->s, &n);
	assert_int_equal(n, sizeof(actions) / sizeof(actions[0]));
	for (i = 0; i < n; i++)
		assert_string_equal(v[i]->action, actions[i]);
	/* the object names the hub as first written, and the device */
	assert_string_equal(v[0]->object, "Hub1/Dev");
	assert_string_equal(v[0]->etag_before, "");
	assert_string_equal(v[1]->etag_before, v[0]->etag_after);
	/* twin rows chain the twin's etags, not the identity's */
	assert_int_equal(v[2]->etag_before[0], '"');
	assert_string_not_equal(v[2]->etag_before, v[1]->etag_after);
	assert_string_equal(v[3]->etag_before, v[2]->etag_after);
	assert_string_equal(v[4]->who, "device:Dev");
	assert_string_equal(v[5]->etag_before, v[1]->etag_after);
	assert_string_equal(v[5]->etag_after, "");
	assert_string_equal(v[6]->object, "hub1/j1");
	rc_audit_list_free(v, n);
	assert_int_equal(rc_store_audit_verify(f->s, &bad), RC_OK);
}

static void
test_reopen(void **state)
{
	struct fx *f = *state;
	struct rc_hub_device *d;
	struct rc_hub_job *j, *out = NULL;
	struct rc_hub_event **v = NULL;
	int64_t seq;
	size_t n;

	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("hub1", "d", RC_HUB_AUTH_SELF_SIGNED,
	                         SHA256_A, SHA1_A)),
	    RC_OK);
	assert_int_equal(twin(f->s, &owner, "d", "{\"t\":1}", "{\"x\":1}",
	                     "{\"r\":{\"s\":true}}", 0),
	    RC_OK);
	assert_int_equal(rc_store_hub_device_touch(f->s, "hub1", "d", 99),
	    RC_OK);
	assert_int_equal(append(f->s, "hub1", "d", "m1", NULL, 100, &seq),
	    RC_OK);
	assert_int_equal(append(f->s, "hub1", "d", "m2", NULL, 100, &seq),
	    RC_OK);
	j = make_job("j", RC_HUB_JOB_TWIN);
	assert_int_equal(rc_store_hub_job_put(f->s, &owner, j, &out), RC_OK);
	rc_hub_job_free(out);
	rc_hub_job_free(j);
	reopen(f);

	d = get_dev(f->s, "hub1", "d");
	assert_int_equal(d->auth, RC_HUB_AUTH_SELF_SIGNED);
	assert_int_equal(strlen(d->primary_thumb), 64);
	assert_int_equal(strlen(d->secondary_thumb), 40);
	assert_json(d->tags, "{\"t\":1}");
	assert_json(d->desired, "{\"x\":1}");
	assert_json(d->reported, "{\"r\":{\"s\":true}}");
	assert_int_equal(d->desired_version, 2);
	assert_int_equal(d->reported_version, 2);
	assert_int_equal(d->last_activity, 99);
	rc_hub_device_free(d);
	assert_int_equal(rc_store_hub_event_read(f->s, "hub1", 0, 10, &v, &n),
	    RC_OK);
	assert_int_equal(n, 2);
	assert_memory_equal(v[1]->body, "m2", 2);
	rc_hub_event_list_free(v, n);
	/* the log continues where it was */
	assert_int_equal(append(f->s, "hub1", "d", "m3", NULL, 100, &seq),
	    RC_OK);
	assert_int_equal(seq, 3);
	assert_int_equal(rc_store_hub_job_get(f->s, "hub1", "j", &out), RC_OK);
	assert_int_equal(out->status, RC_HUB_JOB_QUEUED);
	rc_hub_job_free(out);
}

static void
test_dup(void **state)
{
	struct rc_hub_device *d, *c;

	(void)state;
	assert_null(rc_hub_device_dup(NULL));
	d = make_dev("hub1", "d", RC_HUB_AUTH_SELF_SIGNED, SHA256_A, NULL);
	d->status_reason = rc_strdup("why");
	json_object_set_new(d->tags, "a", json_integer(1));
	c = rc_hub_device_dup(d);
	assert_non_null(c);
	assert_ptr_not_equal(c->tags, d->tags);
	assert_true(json_equal(c->tags, d->tags));
	assert_string_equal(c->status_reason, "why");
	assert_string_equal(c->primary_thumb, d->primary_thumb);
	rc_hub_device_free(c);
	rc_hub_device_free(d);
	rc_hub_device_free(NULL);
	rc_hub_device_list_free(NULL, 3);
	rc_hub_event_free(NULL);
	rc_hub_event_list_free(NULL, 1);
	rc_hub_job_free(NULL);
	rc_hub_job_list_free(NULL, 1);
}

#define NTHREADS 4
#define PER_THREAD 20

struct worker {
	struct rc_store *s;
	int idx;
	int failures;
};

/* Reports and appends; no cmocka asserts off the main thread. */
static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct rc_hub_twin_patch p = {NULL, NULL, NULL, 0};
	struct rc_hub_device *out;
	struct rc_hub_event e;
	char key[16];
	int64_t seq;
	int i;

	memset(&e, 0, sizeof(e));
	e.hub = "hub1";
	e.device_id = "d";
	for (i = 0; i < PER_THREAD; i++) {
		json_t *r = json_object();

		snprintf(key, sizeof(key), "t%d", w->idx);
		json_object_set_new(r, key, json_integer(i));
		p.reported = r;
		out = NULL;
		if (rc_store_hub_twin_update(w->s, &owner, "hub1", "d", &p,
		        &out) != RC_OK)
			w->failures++;
		rc_hub_device_free(out);
		json_decref(r);
		if (rc_store_hub_event_append(w->s, &e, 1000, &seq) != RC_OK)
			w->failures++;
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct fx *f = *state;
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS];
	struct rc_hub_device *d;
	int64_t first, last, bad;
	int i;

	assert_int_equal(put_dev(f->s, &owner,
	                     make_dev("hub1", "d", RC_HUB_AUTH_CA, NULL, NULL)),
	    RC_OK);
	for (i = 0; i < NTHREADS; i++) {
		w[i].s = f->s;
		w[i].idx = i;
		w[i].failures = 0;
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]),
		    0);
	}
	for (i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}
	d = get_dev(f->s, "hub1", "d");
	/* no update lost: every report counted, each thread's last kept */
	assert_int_equal(d->reported_version, 1 + NTHREADS * PER_THREAD);
	assert_int_equal(json_object_size(d->reported), NTHREADS);
	assert_int_equal(json_integer_value(json_object_get(d->reported, "t0")),
	    PER_THREAD - 1);
	rc_hub_device_free(d);
	assert_int_equal(rc_store_hub_event_bounds(f->s, "hub1", &first, &last),
	    RC_OK);
	assert_int_equal(first, 1);
	assert_int_equal(last, NTHREADS * PER_THREAD);
	assert_int_equal(rc_store_audit_verify(f->s, &bad), RC_OK);
}

struct alloc_arg {
	struct rc_store *s;
	struct rc_hub_device *dev;
	struct rc_hub_job *job;
	json_t *tags, *reported;
	int n;
};

/* create, update, get, list, twin, delete of a fresh device */
static int
device_ops(void *p)
{
	struct alloc_arg *a = p;
	struct rc_hub_twin_patch tp = {a->tags, a->tags, a->reported, 0};
	struct rc_hub_device *out = NULL, *got = NULL, **v = NULL;
	char id[32], *next = NULL;
	size_t n = 0;
	int rc;

	snprintf(id, sizeof(id), "dev-%d", a->n++);
	rc_free(a->dev->device_id);
	if ((a->dev->device_id = rc_strdup(id)) == NULL)
		return RC_ENOMEM;
	if ((rc = rc_store_hub_device_put(a->s, &owner, a->dev, &out)) !=
	        RC_OK ||
	    (rc = rc_store_hub_device_get(a->s, "hub1", id, &got)) != RC_OK ||
	    (rc = rc_store_hub_device_list(a->s, "hub1", NULL, 2, &v, &n,
	         &next)) != RC_OK)
		goto out;
	rc_hub_device_free(out);
	out = NULL;
	if ((rc = rc_store_hub_twin_update(a->s, &owner, "hub1", id, &tp,
	         &out)) != RC_OK)
		goto out;
	rc = rc_store_hub_device_delete(a->s, &owner, "hub1", id);
out:
	rc_hub_device_free(out);
	rc_hub_device_free(got);
	rc_hub_device_list_free(v, n);
	rc_free(next);
	return rc;
}

static int
other_ops(void *p)
{
	struct alloc_arg *a = p;
	struct rc_hub_event e, **ev = NULL;
	struct rc_hub_job *out = NULL, **jv = NULL;
	char id[32], *next = NULL;
	size_t en = 0, jn = 0;
	int64_t seq;
	int rc;

	memset(&e, 0, sizeof(e));
	e.hub = "hub1";
	e.device_id = "d";
	e.props = a->reported;
	e.body = (uint8_t *)"body";
	e.body_len = 4;
	snprintf(id, sizeof(id), "job-%d", a->n++);
	rc_free(a->job->job_id);
	if ((a->job->job_id = rc_strdup(id)) == NULL)
		return RC_ENOMEM;
	if ((rc = rc_store_hub_event_append(a->s, &e, 3, &seq)) != RC_OK ||
	    (rc = rc_store_hub_event_read(a->s, "hub1", 0, 10, &ev, &en)) !=
	        RC_OK ||
	    (rc = rc_store_hub_job_put(a->s, &owner, a->job, &out)) != RC_OK ||
	    (rc = rc_store_hub_job_list(a->s, "hub1", -1, NULL, 1, &jv, &jn,
	         &next)) != RC_OK)
		goto out;
	rc_hub_job_free(out);
	out = NULL;
	rc = rc_store_hub_job_update(a->s, &owner, "hub1", id,
	    RC_HUB_JOB_RUNNING, a->reported, "r", &out);
out:
	rc_hub_event_list_free(ev, en);
	rc_hub_job_free(out);
	rc_hub_job_list_free(jv, jn);
	rc_free(next);
	return rc;
}

static void
test_each_alloc(void **state)
{
	struct fx *f = *state;
	struct alloc_arg a;
	int64_t bad;

	memset(&a, 0, sizeof(a));
	a.s = f->s;
	a.dev = make_dev("hub1", "x", RC_HUB_AUTH_SELF_SIGNED, SHA256_A, NULL);
	a.dev->status_reason = rc_strdup("r");
	json_object_set_new(a.dev->tags, "t", json_integer(1));
	a.tags = js("{\"a\":{\"b\":null,\"c\":[1,2]},\"d\":\"e\"}");
	a.reported = js("{\"x\":{\"y\":1}}");
	a.job = make_job("j", RC_HUB_JOB_METHOD);
	rctest_each_alloc(device_ops, &a, 1);
	rctest_each_alloc(other_ops, &a, 1);
	assert_int_equal(rc_store_audit_verify(f->s, &bad), RC_OK);
	rc_hub_device_free(a.dev);
	rc_hub_job_free(a.job);
	json_decref(a.tags);
	json_decref(a.reported);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_device_create),
	    T(test_device_conflict),
	    T(test_device_if_match),
	    T(test_device_delete),
	    T(test_case_sensitive),
	    cmocka_unit_test(test_device_id_valid),
	    T(test_device_invalid),
	    T(test_twin_merge),
	    T(test_twin_if_match),
	    T(test_twin_replace),
	    T(test_twin_invalid),
	    T(test_list_paging),
	    T(test_find_thumb),
	    T(test_touch),
	    T(test_events_retention),
	    T(test_events_hubs),
	    T(test_events_batch),
	    T(test_jobs),
	    T(test_jobs_invalid),
	    T(test_audit),
	    T(test_reopen),
	    cmocka_unit_test(test_dup),
	    T(test_threads),
	    T(test_each_alloc),
	};
	int rc;

	rc_json_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rctest_rmtree(rctest_tmpdir());
	return rc;
}
