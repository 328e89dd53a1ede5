/*
 * Device topic routing (topics.h).  Input: a PUBLISH topic or SUBSCRIBE
 * filter already checked by the MQTT codec (valid UTF-8, no NUL).  The
 * device's own ID is compared byte for byte (IoT Hub device IDs are
 * case-sensitive); a query's keys are percent-decoded before they are
 * compared, so "%24rid" is "$rid".
 */
#include <string.h>

#include "hub/topics.h"

#define TELEMETRY_MID "/messages/events"
#define C2D_TAIL "/messages/devicebound/#"
#define TWIN_GET "$iothub/twin/GET"
#define TWIN_REPORTED "$iothub/twin/PATCH/properties/reported"
#define METHOD_RES "$iothub/methods/res/"
/* Longest decoded property key and value of a bag. */
#define BAG_KEY_MAX 256
#define BAG_VAL_MAX 4096

/* Consumes the literal s from the front of *p (len *n); 1 if it was there. */
static int
eat(const char **p, size_t *n, const char *s)
{
	size_t l = strlen(s);

	if (*n < l || memcmp(*p, s, l) != 0)
		return 0;
	*p += l;
	*n -= l;
	return 1;
}

static int
is_telemetry(const char *id, const struct rc_mqtt_str *t, struct hub_topic *out)
{
	const char *p = t->p;
	size_t n = t->len;

	if (!eat(&p, &n, "devices/") || !eat(&p, &n, id) ||
	    !eat(&p, &n, TELEMETRY_MID))
		return 0;
	/* "/events" alone, or "/events/" followed by the bag (§6.3). */
	if (n == 0 || eat(&p, &n, "/")) {
		out->bag.p = p;
		out->bag.len = n;
		return 1;
	}
	return 0;
}

int
hub_query_rid(const struct rc_mqtt_str *query, char rid[HUB_RID_MAX + 1])
{
	struct rc_mqtt_props it;
	char key[64], val[HUB_RID_MAX + 1];
	size_t kl, vl;
	int rc;

	rid[0] = '\0';
	rc_mqtt_props_init(&it, query->p, query->len);
	while ((rc = rc_mqtt_props_next(&it, key, sizeof(key), &kl, val,
	            sizeof(val), &vl)) != RC_ENOENT) {
		/* Errors are sticky: a key or value too long ends the scan. */
		if (rc != RC_OK)
			return RC_EPARSE;
		if (strcmp(key, "$rid") != 0)
			continue;
		if (vl == 0)
			return RC_EPARSE;
		memcpy(rid, val, vl + 1);
		return RC_OK;
	}
	return RC_EPARSE;
}

/* "123" of "$iothub/methods/res/123": exactly three digits (RFC 9110 §15). */
static int
parse_status(const struct rc_mqtt_str *s, int *status)
{
	int i, v = 0;

	if (s->len != 3)
		return RC_EPARSE;
	for (i = 0; i < 3; i++) {
		if (s->p[i] < '0' || s->p[i] > '9')
			return RC_EPARSE;
		v = v * 10 + (s->p[i] - '0');
	}
	if (v < 100)
		return RC_EPARSE;
	*status = v;
	return RC_OK;
}

static int
classify_request(const struct rc_mqtt_str *path, struct hub_topic *out)
{
	struct rc_mqtt_str st;
	const char *p = path->p;
	size_t n = path->len;

	if (rc_mqtt_str_eq(path, TWIN_GET)) {
		out->kind = HUB_TOPIC_TWIN_GET;
		return RC_OK;
	}
	if (rc_mqtt_str_eq(path, TWIN_REPORTED)) {
		out->kind = HUB_TOPIC_TWIN_REPORTED;
		return RC_OK;
	}
	if (!eat(&p, &n, METHOD_RES))
		return RC_ENOENT;
	st.p = p;
	st.len = n;
	if (parse_status(&st, &out->status) != RC_OK)
		return RC_EPARSE;
	out->kind = HUB_TOPIC_METHOD_RES;
	return RC_OK;
}

int
hub_topic_parse(const char *device_id, const struct rc_mqtt_str *topic,
    struct hub_topic *out)
{
	struct rc_mqtt_str path, query;
	int rc;

	memset(out, 0, sizeof(*out));
	out->kind = HUB_TOPIC_FORBIDDEN;
	if (is_telemetry(device_id, topic, out)) {
		out->kind = HUB_TOPIC_TELEMETRY;
		return RC_OK;
	}
	if (rc_mqtt_topic_split(topic, &path, &query) != RC_OK)
		return RC_OK;
	if ((rc = classify_request(&path, out)) == RC_ENOENT)
		return RC_OK;
	if (rc == RC_OK)
		rc = hub_query_rid(&query, out->rid);
	if (rc != RC_OK) {
		memset(out, 0, sizeof(*out));
		out->kind = HUB_TOPIC_FORBIDDEN;
		return RC_EPARSE;
	}
	return RC_OK;
}

static int
is_c2d_filter(const char *id, const struct rc_mqtt_str *f)
{
	const char *p = f->p;
	size_t n = f->len;

	if (!eat(&p, &n, "devices/"))
		return 0;
	/* Embedded C subscribes with '+' in place of its ID (§6.4). */
	if (!eat(&p, &n, "+") && !eat(&p, &n, id))
		return 0;
	return n == strlen(C2D_TAIL) && memcmp(p, C2D_TAIL, n) == 0;
}

unsigned
hub_filter_class(const char *device_id, const struct rc_mqtt_str *filter)
{
	if (rc_mqtt_str_eq(filter, "$iothub/methods/POST/#"))
		return HUB_SUB_METHODS;
	if (rc_mqtt_str_eq(filter, "$iothub/twin/res/#"))
		return HUB_SUB_TWIN_RES;
	if (rc_mqtt_str_eq(filter, "$iothub/twin/PATCH/properties/desired/#"))
		return HUB_SUB_DESIRED;
	if (is_c2d_filter(device_id, filter))
		return HUB_SUB_C2D;
	return 0;
}

int
hub_bag_to_json(const struct rc_mqtt_str *bag, json_t **out)
{
	struct rc_mqtt_props it;
	char key[BAG_KEY_MAX], val[BAG_VAL_MAX];
	size_t kl, vl;
	json_t *o = NULL;
	int rc;

	*out = NULL;
	if (bag->len == 0)
		return RC_OK;
	if ((o = json_object()) == NULL)
		return RC_ENOMEM;
	rc_mqtt_props_init(&it, bag->p, bag->len);
	while ((rc = rc_mqtt_props_next(&it, key, sizeof(key), &kl, val,
	            sizeof(val), &vl)) == RC_OK) {
		if (json_object_set_new(o, key, json_stringn(val, vl)) != 0) {
			rc = RC_ENOMEM;
			goto out;
		}
	}
	if (rc != RC_ENOENT)
		goto out;
	rc = RC_OK;
	if (json_object_size(o) > 0) {
		*out = o;
		o = NULL;
	}
out:
	json_decref(o);
	return rc;
}
