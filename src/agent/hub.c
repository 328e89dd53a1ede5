/*
 * The hub session (reference/azure-device-wire.md §6): MQTT 3.1.1 with
 * ClientId = deviceId and username "{hub}/{deviceId}/?api-version=...",
 * telemetry on devices/{id}/messages/events/ (QoS 1), reported twin
 * patches on $iothub/twin/PATCH/properties/reported/?$rid=N (QoS 0), and
 * direct methods on $iothub/methods/POST/{name}/?$rid={rid}, answered on
 * $iothub/methods/res/{status}/?$rid={rid} with a JSON body (§6.5).  A
 * method that changes the certificate is answered first and carried out
 * by the main loop (agent.c), since it replaces this very session.
 */
#include <string.h>
#include <time.h>

#include "agent_int.h"
#include "rollcall/json.h"
#include "rollcall/log.h"
#include "rollcall/mem.h"
#include "rollcall/x509.h"

#define HUB_API "2021-04-12"

static void
method_reply(struct rc_agent *a, const char *rid, int status, const char *key,
    const char *msg)
{
	char topic[256], *body = NULL;
	json_t *o;
	size_t len;

	if ((o = json_object()) == NULL)
		return;
	if (rc_json_set_str(o, key, msg) == RC_OK &&
	    rc_json_dump(o, 0, &body, &len) == RC_OK &&
	    snprintf(topic, sizeof(topic), "$iothub/methods/res/%d/?$rid=%s",
	        status, rid) < (int)sizeof(topic) &&
	    agent_mqtt_pub(&a->hub, topic, body, len, 0) != RC_OK)
		rc_log_warnx("hub: cannot answer method (rid %s)", rid);
	rc_free(body);
	json_decref(o);
}

/* "{name}/?$rid={rid}" after the methods prefix. */
static int
split_method(const char *t, char *name, size_t nsize, char *rid, size_t rsize)
{
	const char *q = strstr(t, "/?$rid=");
	size_t n;

	if (q == NULL || q == t || (size_t)(q - t) >= nsize)
		return RC_EPARSE;
	memcpy(name, t, (size_t)(q - t));
	name[q - t] = '\0';
	q += 7;
	if ((n = strlen(q)) == 0 || n >= rsize || strchr(q, '&') != NULL)
		return RC_EPARSE;
	memcpy(rid, q, n + 1);
	return RC_OK;
}

static void
on_method(struct rc_agent *a, const char *t, const void *p, size_t n)
{
	struct rc_agent_method_req req;
	char name[128], rid[129], why[256];
	int rc;

	if (split_method(t, name, sizeof(name), rid, sizeof(rid)) != RC_OK) {
		rc_log_warnx("hub: method topic not understood: %.200s", t);
		return;
	}
	rc_log_info("hub: method %s (rid %s)", name, rid);
	rc = rc_agent_method_parse(name, p, n, &req, why, sizeof(why));
	if (rc != RC_OK) {
		rc_log_warnx("hub: method %s refused: %s", name, why);
		method_reply(a, rid, rc == RC_ENOENT ? 404 : 400, "error", why);
		return;
	}
	if (a->action.pending) {
		method_reply(a, rid, 409, "error", "a roll is in progress");
		rc_agent_method_clear(&req);
		return;
	}
	if (req.method == RC_AGENT_M_INSTALL &&
	    rc_agent_check_chain(req.chain, a->slot.key,
	        a->conf->registration_id, a->anchors, time(NULL), why,
	        sizeof(why)) != RC_OK) {
		rc_log_warnx("hub: installCertificate refused: %s", why);
		method_reply(a, rid, 400, "error", why);
		rc_agent_method_clear(&req);
		return;
	}
	method_reply(a, rid, 200, "status", "accepted");
	a->action.req = req;
	a->action.pending = 1;
	/*
	 * The session stays up a moment so that the reply is delivered to
	 * the service caller before the action replaces the session (the
	 * hub answers DeviceNotOnline for a device that left first).
	 */
	a->action.at = time(NULL) + 2;
}

/*
 * "{status}/?$rid={rid}[&$version=N]": a reported patch is acknowledged
 * by a 2xx with its rid; until then it is sent again (a patch sent just
 * after CONNACK may reach the hub before the session is registered).
 */
static void
on_twin_res(struct rc_agent *a, const char *t)
{
	const char *p = strstr(t, "$rid=");
	char want[32];
	size_t n;

	if (p == NULL || a->report_rid == 0)
		return;
	p += 5;
	n = strcspn(p, "&");
	snprintf(want, sizeof(want), "%lu", a->report_rid);
	if (n != strlen(want) || memcmp(p, want, n) != 0)
		return;
	if (t[0] == '2') {
		a->report_rid = 0;
		return;
	}
	rc_log_warnx("hub: reported properties refused: %.100s", t);
}

static void
hub_msg(void *arg, const char *topic, const void *p, size_t n)
{
	static const char methods[] = "$iothub/methods/POST/";
	struct rc_agent *a = arg;

	if (strncmp(topic, methods, sizeof(methods) - 1) == 0)
		on_method(a, topic + sizeof(methods) - 1, p, n);
	else if (strncmp(topic, "$iothub/twin/res/", 17) == 0)
		on_twin_res(a, topic + 17);
}

static void hub_ack(void *, int);
static void resend_unacked(struct rc_agent *);

int
agent_hub_connect(struct rc_agent *a, const struct agent_slot *s, int *connack)
{
	const struct rc_agent_conf *c = a->conf;
	char user[512];
	int rc, port;

	port = c->hub_port != 0              ? (int)c->hub_port
	    : c->transport == RC_AGENT_HTTPS ? 8883
	                                     : (int)c->dps_port;
	snprintf(user, sizeof(user), "%s/%s/?api-version=" HUB_API, a->st.hub,
	    a->st.device_id);
	a->hub.on_msg = hub_msg;
	a->hub.on_ack = hub_ack;
	a->hub.arg = a;
	if ((rc = agent_mqtt_open(&a->hub, c, &s->ident, a->st.hub, port,
	         a->st.device_id, user, connack)) != RC_OK)
		return rc;
	if ((rc = agent_mqtt_sub(&a->hub, "$iothub/methods/POST/#", 0)) !=
	        RC_OK ||
	    (rc = agent_mqtt_sub(&a->hub, "$iothub/twin/res/#", 0)) != RC_OK) {
		agent_mqtt_close(&a->hub);
		return rc;
	}
	a->connected = 1;
	resend_unacked(a);
	return RC_OK;
}

void
agent_hub_close(struct rc_agent *a)
{
	agent_mqtt_close(&a->hub);
	a->connected = 0;
}

static int
publish_json(struct rc_agent *a, const char *topic, json_t *o, int qos)
{
	char *body = NULL;
	size_t len;
	int rc;

	if ((rc = rc_json_dump(o, 0, &body, &len)) == RC_OK)
		rc = agent_mqtt_pub(&a->hub, topic, body, len, qos);
	rc_free(body);
	return rc;
}

/* One telemetry message {"seq", "time"} at QoS 1; *mid is its packet. */
static int
send_telemetry(struct rc_agent *a, unsigned long seq, time_t t, int *mid)
{
	char topic[256];
	json_t *o;
	int rc;

	snprintf(topic, sizeof(topic), "devices/%s/messages/events/",
	    a->st.device_id);
	if ((o = json_object()) == NULL)
		return RC_ENOMEM;
	if ((rc = rc_json_set_int(o, "seq", (long long)seq)) == RC_OK &&
	    (rc = rc_json_set_int(o, "time", (long long)t)) == RC_OK)
		rc = publish_json(a, topic, o, 1);
	json_decref(o);
	*mid = a->hub.last_mid;
	return rc;
}

/* hub PUBACK: that message is stored at the hub. */
static void
hub_ack(void *arg, int mid)
{
	struct rc_agent *a = arg;
	size_t i;

	for (i = 0; i < a->nunacked; i++) {
		if (a->unacked[i].mid != mid)
			continue;
		memmove(&a->unacked[i], &a->unacked[i + 1],
		    (a->nunacked - i - 1) * sizeof(a->unacked[0]));
		a->nunacked--;
		return;
	}
}

int
agent_hub_telemetry(struct rc_agent *a)
{
	struct agent_unacked *u;
	time_t t = time(NULL);
	int rc, mid = 0;

	if ((rc = send_telemetry(a, ++a->seq, t, &mid)) != RC_OK)
		return rc;
	if (a->nunacked == AGENT_UNACKED_MAX) {
		rc_log_warnx("hub: %d messages unacknowledged; the oldest "
		             "(%lu) is not kept for sending again",
		    AGENT_UNACKED_MAX, a->unacked[0].seq);
		hub_ack(a, a->unacked[0].mid);
	}
	u = &a->unacked[a->nunacked++];
	u->mid = mid;
	u->seq = a->seq;
	u->time = t;
	rc_log_debug("hub: telemetry %lu sent", a->seq);
	return RC_OK;
}

/* After a reconnect: what the hub never acknowledged goes again. */
static void
resend_unacked(struct rc_agent *a)
{
	size_t i;
	int mid;

	for (i = 0; i < a->nunacked; i++) {
		if (send_telemetry(a, a->unacked[i].seq, a->unacked[i].time,
		        &mid) != RC_OK)
			break;
		a->unacked[i].mid = mid;
	}
	if (i > 0)
		rc_log_info("hub: sent %zu unacknowledged message(s) again", i);
}

/* {"thumbprint", "notBefore", "notAfter", "slot", "lastRoll"}. */
static int
cert_json(struct rc_agent *a, json_t *cert)
{
	struct rc_cert_info info;
	char slot[2] = {a->slot.name, '\0'};
	json_t *roll;
	int rc;

	if ((rc = rc_x509_info(sk_X509_value(a->slot.chain, 0), &info)) !=
	    RC_OK)
		return rc;
	if ((rc = rc_json_set_str(cert, "thumbprint", info.sha256)) != RC_OK ||
	    (rc = rc_json_set_str(cert, "notBefore", info.not_before)) !=
	        RC_OK ||
	    (rc = rc_json_set_str(cert, "notAfter", info.not_after)) != RC_OK ||
	    (rc = rc_json_set_str(cert, "slot", slot)) != RC_OK)
		goto out;
	if (a->st.roll_kind[0] == '\0')
		goto out;
	if ((rc = rc_json_set0(cert, "lastRoll", roll = json_object())) !=
	        RC_OK ||
	    (rc = rc_json_set_str(roll, "kind", a->st.roll_kind)) != RC_OK ||
	    (rc = rc_json_set_str(roll, "result", a->st.roll_result)) !=
	        RC_OK ||
	    (rc = rc_json_set_str(roll, "reason", a->st.roll_reason)) !=
	        RC_OK ||
	    (rc = rc_json_set_int(roll, "at", (long long)a->st.roll_at)) !=
	        RC_OK)
		goto out;
out:
	rc_x509_info_clear(&info);
	return rc;
}

int
agent_hub_report(struct rc_agent *a)
{
	char topic[128];
	json_t *o, *cert;
	int rc;

	snprintf(topic, sizeof(topic),
	    "$iothub/twin/PATCH/properties/reported/?$rid=%lu", ++a->rid);
	if ((o = json_object()) == NULL)
		return RC_ENOMEM;
	if ((rc = rc_json_set0(o, "certificate", cert = json_object())) ==
	        RC_OK &&
	    (rc = cert_json(a, cert)) == RC_OK)
		rc = publish_json(a, topic, o, 0);
	json_decref(o);
	a->report_rid = a->rid;
	a->report_next = time(NULL) + 3;
	return rc;
}
