/*
 * What a device may publish and subscribe to on a hub, as pure functions
 * (reference/azure-device-wire.md §6.3-§6.6; DESIGN.md §5
 * "Authorization": a device touches only its own topics).
 *
 * A device publishes to exactly these topics; anything else, including
 * another device's telemetry topic, is HUB_TOPIC_FORBIDDEN and closes its
 * connection:
 *
 *	devices/{id}/messages/events/{bag}		telemetry
 *	$iothub/twin/GET/?$rid={rid}			twin read
 *	$iothub/twin/PATCH/properties/reported/?$rid={rid}
 *	$iothub/methods/res/{status}/?$rid={rid}	method response
 *
 * It may subscribe to the filters of hub_filter_class; other filters get
 * SUBACK 0x80.
 */
#ifndef ROLLCALL_HUB_TOPICS_H
#define ROLLCALL_HUB_TOPICS_H

#include <stddef.h>

#include <jansson.h>

#include "rollcall/err.h"
#include "rollcall/mqtt.h"

/* Longest $rid accepted from a device (node sends UUIDs, C numbers). */
#define HUB_RID_MAX 128

enum hub_topic_kind {
	HUB_TOPIC_FORBIDDEN,
	HUB_TOPIC_TELEMETRY,
	HUB_TOPIC_TWIN_GET,
	HUB_TOPIC_TWIN_REPORTED,
	HUB_TOPIC_METHOD_RES,
};

struct hub_topic {
	enum hub_topic_kind kind;
	struct rc_mqtt_str bag; /* telemetry: the property bag, may be empty */
	char rid[HUB_RID_MAX + 1]; /* twin and method topics */
	int status; /* method response: 100..999 */
};

/*
 * Classifies a PUBLISH topic of the device device_id.  RC_OK with
 * out->kind set (HUB_TOPIC_FORBIDDEN for a topic that is not the
 * device's); RC_EPARSE for one of the device's topics with a missing,
 * empty or over-long $rid, or a method status that is not a number of
 * three digits.
 */
RC_MUST_CHECK int hub_topic_parse(const char *device_id,
    const struct rc_mqtt_str *topic, struct hub_topic *out);

/* Subscription classes, as bits of a session's subscription set. */
#define HUB_SUB_METHODS 0x1u /* $iothub/methods/POST/# */
#define HUB_SUB_TWIN_RES 0x2u /* $iothub/twin/res/# */
#define HUB_SUB_DESIRED 0x4u /* $iothub/twin/PATCH/properties/desired/# */
#define HUB_SUB_C2D 0x8u /* devices/{id or +}/messages/devicebound/# */

/* The class of a SUBSCRIBE filter of device_id, 0 if refused. */
unsigned hub_filter_class(const char *device_id,
    const struct rc_mqtt_str *filter);

/*
 * The $rid of a query such as "$rid=12&$version=3" into rid; RC_EPARSE if
 * absent, empty, longer than HUB_RID_MAX or badly encoded.
 */
RC_MUST_CHECK int hub_query_rid(const struct rc_mqtt_str *query,
    char rid[HUB_RID_MAX + 1]);

/*
 * A telemetry property bag as a JSON object of decoded keys and values
 * ("%24.mid=1" gives {"$.mid":"1"}); an empty bag gives NULL.  RC_EPARSE
 * or RC_ETOOBIG as rc_mqtt_props_next; the caller owns *out.
 */
RC_MUST_CHECK int hub_bag_to_json(const struct rc_mqtt_str *bag, json_t **out);

#endif
