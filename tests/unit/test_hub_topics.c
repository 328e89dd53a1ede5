/*
 * Device topic routing and authorization (src/hub/topics.c): which
 * PUBLISH topics and SUBSCRIBE filters belong to a device, $rid parsing,
 * property bags (azure-device-wire.md §6.3-§6.6).
 */
#include <string.h>

#include "hub/topics.h"
#include "rctest.h"
#include "rollcall/json.h"
#include "rollcall/mem.h"

static int
parse(const char *dev, const char *topic, struct hub_topic *t)
{
	struct rc_mqtt_str s = rc_mqtt_cstr(topic);

	return hub_topic_parse(dev, &s, t);
}

static enum hub_topic_kind
kind(const char *dev, const char *topic)
{
	struct hub_topic t;

	assert_int_equal(parse(dev, topic, &t), RC_OK);
	return t.kind;
}

static void
test_telemetry(void **state)
{
	struct hub_topic t;

	(void)state;
	assert_int_equal(parse("dev1", "devices/dev1/messages/events/a=1", &t),
	    RC_OK);
	assert_int_equal(t.kind, HUB_TOPIC_TELEMETRY);
	assert_int_equal(t.bag.len, 3);
	assert_memory_equal(t.bag.p, "a=1", 3);
	assert_int_equal(parse("dev1", "devices/dev1/messages/events/", &t),
	    RC_OK);
	assert_int_equal(t.kind, HUB_TOPIC_TELEMETRY);
	assert_int_equal(t.bag.len, 0);
	assert_int_equal(kind("dev1", "devices/dev1/messages/events"),
	    HUB_TOPIC_TELEMETRY);
	/* Another device, a prefix of the ID, a longer ID, case. */
	assert_int_equal(kind("dev1", "devices/dev2/messages/events/"),
	    HUB_TOPIC_FORBIDDEN);
	assert_int_equal(kind("dev1", "devices/dev/messages/events/"),
	    HUB_TOPIC_FORBIDDEN);
	assert_int_equal(kind("dev1", "devices/dev10/messages/events/"),
	    HUB_TOPIC_FORBIDDEN);
	assert_int_equal(kind("dev1", "devices/DEV1/messages/events/"),
	    HUB_TOPIC_FORBIDDEN);
	assert_int_equal(kind("dev1", "devices/dev1/messages/eventsX"),
	    HUB_TOPIC_FORBIDDEN);
	assert_int_equal(kind("dev1", "devices/dev1/messages/devicebound/"),
	    HUB_TOPIC_FORBIDDEN);
	assert_int_equal(kind("dev1", "devices/dev1"), HUB_TOPIC_FORBIDDEN);
	assert_int_equal(kind("dev1", "x"), HUB_TOPIC_FORBIDDEN);
}

static void
test_requests(void **state)
{
	struct hub_topic t;

	(void)state;
	assert_int_equal(parse("d", "$iothub/twin/GET/?$rid=12", &t), RC_OK);
	assert_int_equal(t.kind, HUB_TOPIC_TWIN_GET);
	assert_string_equal(t.rid, "12");
	assert_int_equal(parse("d",
	                     "$iothub/twin/PATCH/properties/reported/"
	                     "?$rid=ab-c&$version=4",
	                     &t),
	    RC_OK);
	assert_int_equal(t.kind, HUB_TOPIC_TWIN_REPORTED);
	assert_string_equal(t.rid, "ab-c");
	assert_int_equal(parse("d", "$iothub/methods/res/200/?$rid=9", &t),
	    RC_OK);
	assert_int_equal(t.kind, HUB_TOPIC_METHOD_RES);
	assert_int_equal(t.status, 200);
	assert_string_equal(t.rid, "9");
	/* An encoded key is decoded before it is compared. */
	assert_int_equal(parse("d", "$iothub/twin/GET/?x=1&%24rid=u", &t),
	    RC_OK);
	assert_string_equal(t.rid, "u");
	/* The device's own request topics with a bad rid or status. */
	assert_int_equal(parse("d", "$iothub/twin/GET/?$rid=", &t), RC_EPARSE);
	assert_int_equal(t.kind, HUB_TOPIC_FORBIDDEN);
	assert_int_equal(parse("d", "$iothub/twin/GET/?x=1", &t), RC_EPARSE);
	assert_int_equal(parse("d", "$iothub/twin/GET/?$rid=%zz", &t),
	    RC_EPARSE);
	assert_int_equal(parse("d", "$iothub/methods/res/20/?$rid=1", &t),
	    RC_EPARSE);
	assert_int_equal(parse("d", "$iothub/methods/res/2000/?$rid=1", &t),
	    RC_EPARSE);
	assert_int_equal(parse("d", "$iothub/methods/res/abc/?$rid=1", &t),
	    RC_EPARSE);
	assert_int_equal(parse("d", "$iothub/methods/res/099/?$rid=1", &t),
	    RC_EPARSE);
	/* Topics a device may not publish to. */
	assert_int_equal(kind("d", "$iothub/twin/GET"), HUB_TOPIC_FORBIDDEN);
	assert_int_equal(kind("d", "$iothub/methods/POST/m/?$rid=1"),
	    HUB_TOPIC_FORBIDDEN);
	assert_int_equal(kind("d", "$iothub/twin/res/200/?$rid=1"),
	    HUB_TOPIC_FORBIDDEN);
	assert_int_equal(kind("d",
	                     "$iothub/twin/PATCH/properties/desired/"
	                     "?$rid=1"),
	    HUB_TOPIC_FORBIDDEN);
}

static void
test_rid_limits(void **state)
{
	char topic[HUB_RID_MAX + 64], rid[HUB_RID_MAX + 2];
	struct hub_topic t;

	(void)state;
	memset(rid, 'r', HUB_RID_MAX);
	rid[HUB_RID_MAX] = '\0';
	snprintf(topic, sizeof(topic), "$iothub/twin/GET/?$rid=%s", rid);
	assert_int_equal(parse("d", topic, &t), RC_OK);
	assert_int_equal(strlen(t.rid), HUB_RID_MAX);
	/* max + 1 */
	rid[HUB_RID_MAX] = 'r';
	rid[HUB_RID_MAX + 1] = '\0';
	snprintf(topic, sizeof(topic), "$iothub/twin/GET/?$rid=%s", rid);
	assert_int_equal(parse("d", topic, &t), RC_EPARSE);
}

static unsigned
cls(const char *dev, const char *filter)
{
	struct rc_mqtt_str f = rc_mqtt_cstr(filter);

	return hub_filter_class(dev, &f);
}

static void
test_filters(void **state)
{
	(void)state;
	assert_int_equal(cls("d1", "$iothub/methods/POST/#"), HUB_SUB_METHODS);
	assert_int_equal(cls("d1", "$iothub/twin/res/#"), HUB_SUB_TWIN_RES);
	assert_int_equal(cls("d1", "$iothub/twin/PATCH/properties/desired/#"),
	    HUB_SUB_DESIRED);
	assert_int_equal(cls("d1", "devices/d1/messages/devicebound/#"),
	    HUB_SUB_C2D);
	assert_int_equal(cls("d1", "devices/+/messages/devicebound/#"),
	    HUB_SUB_C2D);
	assert_int_equal(cls("d1", "devices/d2/messages/devicebound/#"), 0);
	assert_int_equal(cls("d1", "devices/d1/messages/devicebound/+"), 0);
	assert_int_equal(cls("d1", "devices/d1/messages/devicebound/#x"), 0);
	assert_int_equal(cls("d1", "devices/#"), 0);
	assert_int_equal(cls("d1", "#"), 0);
	assert_int_equal(cls("d1", "$iothub/#"), 0);
	assert_int_equal(cls("d1", "devices/d1/messages/events/#"), 0);
}

static void
test_bag(void **state)
{
	struct rc_mqtt_str b;
	json_t *j = NULL;

	(void)state;
	b = rc_mqtt_cstr("%24.mid=m1&%24.ct=application%2Fjson&a=yes%20please");
	assert_int_equal(hub_bag_to_json(&b, &j), RC_OK);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "$.mid")),
	    "m1");
	assert_string_equal(json_string_value(json_object_get(j, "$.ct")),
	    "application/json");
	assert_string_equal(json_string_value(json_object_get(j, "a")),
	    "yes please");
	json_decref(j);
	b = rc_mqtt_cstr("");
	assert_int_equal(hub_bag_to_json(&b, &j), RC_OK);
	assert_null(j);
	b = rc_mqtt_cstr("&&");
	assert_int_equal(hub_bag_to_json(&b, &j), RC_OK);
	assert_null(j);
	b = rc_mqtt_cstr("a=%2");
	assert_int_equal(hub_bag_to_json(&b, &j), RC_EPARSE);
	assert_null(j);
	b = rc_mqtt_cstr("a=%00");
	assert_int_equal(hub_bag_to_json(&b, &j), RC_EPARSE);
	b = rc_mqtt_cstr("=v");
	assert_int_equal(hub_bag_to_json(&b, &j), RC_EPARSE);
}

static int
alloc_bag(void *arg)
{
	struct rc_mqtt_str b = rc_mqtt_cstr(arg);
	json_t *j = NULL;
	int rc;

	rc = hub_bag_to_json(&b, &j);
	json_decref(j);
	return rc;
}

static void
test_each_alloc(void **state)
{
	(void)state;
	rctest_each_alloc(alloc_bag, "%24.mid=1&k=v&x=y", 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_telemetry),
	    cmocka_unit_test(test_requests),
	    cmocka_unit_test(test_rid_limits),
	    cmocka_unit_test(test_filters),
	    cmocka_unit_test(test_bag),
	    cmocka_unit_test(test_each_alloc),
	};

	rc_json_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
