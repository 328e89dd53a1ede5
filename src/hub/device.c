/*
 * What a connected device publishes (azure-device-wire.md §6.3, §6.5,
 * §6.6): telemetry into the hub's event log, twin reads and reported
 * patches against the store, method responses to the waiting invoker.
 *
 * Telemetry at QoS 1 is acknowledged only after the store committed it:
 * a PUBACK the device saw means the event survives a crash (DESIGN.md §5
 * "Durability").  Where the daemon offers it (hub_session_io.event) the
 * event is committed with the others of the same loop pass and the PUBACK
 * follows that commit.  A store failure closes the connection without a
 * PUBACK, so the device sends again.  Twin errors carry the status in the
 * topic and {"errorCode","message"} in the body: node looks only at the
 * body, C only at the status (§6.6).
 */
#include <stdio.h>
#include <string.h>

#include "hub/hub_int.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"

static void
forbid_log(struct hub_session *s, const struct rc_mqtt_str *t, const char *why)
{
	rc_log_info("hub %s: %s: device %s: %s '%.*s': closing",
	    hub_name(s->hub), s->peer, s->device_id, why,
	    (int)(t->len > 200 ? 200 : t->len), t->p);
}

static int
telemetry(struct hub_session *s, const struct rc_mqtt_publish *pub,
    const struct hub_topic *t, struct rc_wbuf *out)
{
	struct rc_hub_event ev;
	int64_t seq;
	json_t *props = NULL;
	int rc;

	if (pub->payload.len > RC_HUB_EVENT_MAX_BODY) {
		forbid_log(s, &pub->topic, "message over 256 KiB on");
		return RC_ETOOBIG;
	}
	if ((rc = hub_bag_to_json(&t->bag, &props)) != RC_OK) {
		forbid_log(s, &pub->topic, "bad property bag in");
		return rc;
	}
	memset(&ev, 0, sizeof(ev));
	ev.hub = (char *)hub_name(s->hub);
	ev.device_id = s->device_id;
	ev.props = props;
	ev.body = (uint8_t *)pub->payload.p;
	ev.body_len = pub->payload.len;
	if (s->io->event != NULL &&
	    s->io->event(s->io_arg, s, hub_get0_store(s->hub),
	        s->hub->event_retain, &ev, pub->qos, pub->packet_id) == RC_OK) {
		json_decref(props);
		return RC_OK;
	}
	rc = rc_store_hub_event_append(hub_get0_store(s->hub), &ev,
	    s->hub->event_retain, &seq);
	json_decref(props);
	if (rc != RC_OK) {
		rc_log_warnx("hub %s: device %s: telemetry not stored: %s",
		    hub_name(s->hub), s->device_id, rc_strerror(rc));
		return rc;
	}
	if (pub->qos == 1)
		return rc_mqtt_encode_puback(out, pub->packet_id);
	return RC_OK;
}

/* Appends a PUBLISH at QoS 0 of body on topic to out. */
static int
reply(struct rc_wbuf *out, const char *topic, const char *body)
{
	struct rc_mqtt_publish pub;

	memset(&pub, 0, sizeof(pub));
	pub.topic = rc_mqtt_cstr(topic);
	pub.payload.p = (const uint8_t *)body;
	pub.payload.len = strlen(body);
	return rc_mqtt_encode_publish(out, &pub);
}

static int
twin_error(struct rc_wbuf *out, const char *rid, int status, int code,
    const char *msg)
{
	char topic[HUB_RID_MAX + 64], body[256];

	snprintf(topic, sizeof(topic), "$iothub/twin/res/%d/?$rid=%s", status,
	    rid);
	snprintf(body, sizeof(body), "{\"errorCode\":%d,\"message\":\"%s\"}",
	    code, msg);
	return reply(out, topic, body);
}

/* A twin section with its "$version", as the GET reply carries it. */
static json_t *
section(const json_t *doc, int64_t version)
{
	json_t *o;

	if ((o = json_deep_copy(doc)) == NULL)
		return NULL;
	if (json_object_set_new(o, "$version", json_integer(version)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int
twin_get(struct hub_session *s, const struct hub_topic *t, struct rc_wbuf *out)
{
	struct rc_hub_device *dev = NULL;
	char topic[HUB_RID_MAX + 64], *body = NULL;
	json_t *doc = NULL;
	int rc;

	rc = rc_store_hub_device_get(hub_get0_store(s->hub), hub_name(s->hub),
	    s->device_id, &dev);
	if (rc != RC_OK) {
		rc = twin_error(out, t->rid, rc == RC_ENOENT ? 404 : 500,
		    rc == RC_ENOENT ? 404001 : 500001, "twin not available");
		goto out;
	}
	doc = json_pack("{s:o*,s:o*}", "desired",
	    section(dev->desired, dev->desired_version), "reported",
	    section(dev->reported, dev->reported_version));
	if (doc == NULL || (body = json_dumps(doc, JSON_COMPACT)) == NULL) {
		rc = RC_ENOMEM;
		goto out;
	}
	snprintf(topic, sizeof(topic), "$iothub/twin/res/200/?$rid=%s", t->rid);
	rc = reply(out, topic, body);
out:
	rc_free(body);
	json_decref(doc);
	rc_hub_device_free(dev);
	return rc;
}

static int
twin_reported(struct hub_session *s, const struct rc_mqtt_publish *pub,
    const struct hub_topic *t, struct rc_wbuf *out)
{
	struct rc_hub_twin_patch patch;
	struct rc_store_ctx ctx;
	struct rc_hub_device *dev = NULL;
	char topic[HUB_RID_MAX + 64], who[RC_HUB_MAX_DEVICE_ID + 8];
	json_t *j;
	int rc;

	j = json_loadb((const char *)pub->payload.p, pub->payload.len,
	    JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return twin_error(out, t->rid, 400, 400004,
		    "reported properties must be a JSON object");
	}
	memset(&patch, 0, sizeof(patch));
	patch.reported = j;
	snprintf(who, sizeof(who), "device:%s", s->device_id);
	ctx.who = who;
	ctx.if_match = NULL;
	rc = rc_store_hub_twin_update(hub_get0_store(s->hub), &ctx,
	    hub_name(s->hub), s->device_id, &patch, &dev);
	json_decref(j);
	if (rc == RC_EINVAL || rc == RC_ETOOBIG)
		return twin_error(out, t->rid, 400, 400004,
		    rc == RC_ETOOBIG ? "twin too large"
		                     : "invalid reported properties");
	if (rc != RC_OK)
		return twin_error(out, t->rid, 500, 500001, "twin not updated");
	snprintf(topic, sizeof(topic),
	    "$iothub/twin/res/204/?$rid=%s&$version=%lld", t->rid,
	    (long long)dev->reported_version);
	rc_hub_device_free(dev);
	return reply(out, topic, "");
}

int
hub_device_publish(struct hub_session *s, const struct rc_mqtt_publish *pub,
    struct rc_wbuf *out)
{
	struct hub_topic t;

	if (hub_topic_parse(s->device_id, &pub->topic, &t) != RC_OK) {
		forbid_log(s, &pub->topic, "bad request ID in");
		return RC_EPARSE;
	}
	switch (t.kind) {
	case HUB_TOPIC_TELEMETRY:
		return telemetry(s, pub, &t, out);
	case HUB_TOPIC_TWIN_GET:
		return twin_get(s, &t, out);
	case HUB_TOPIC_TWIN_REPORTED:
		return twin_reported(s, pub, &t, out);
	case HUB_TOPIC_METHOD_RES:
		hub_method_complete(s->hub, s->sid, t.rid, t.status,
		    pub->payload.p, pub->payload.len);
		return RC_OK;
	default:
		forbid_log(s, &pub->topic, "publish to a topic not its own:");
		return RC_EAUTH;
	}
}
