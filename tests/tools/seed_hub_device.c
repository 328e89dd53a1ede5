/*
 * seed-hub-device STORE_URI HUB DEVICE_ID THUMBPRINT [disabled]
 * seed-hub-device events STORE_URI HUB
 *
 * The first form creates a selfSigned hub device identity in a store, as
 * the hub service API will; the second prints the hub's telemetry log,
 * one JSON object per line ({"seq","deviceId","properties","body"}),
 * for e2e tests that run before the hub service API exists.  The server
 * may be running: the store is safe for several processes.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "rollcall/json.h"
#include "rollcall/mem.h"
#include "rollcall/store.h"

static int
put(struct rc_store *st, char **argv, int disabled)
{
	struct rc_store_ctx ctx = {.who = "test-seed", .if_match = NULL};
	struct rc_hub_device *dev, *out = NULL;
	int rc;

	if ((dev = rc_hub_device_new()) == NULL)
		return RC_ENOMEM;
	dev->hub = argv[0];
	dev->device_id = argv[1];
	dev->auth = RC_HUB_AUTH_SELF_SIGNED;
	snprintf(dev->primary_thumb, sizeof(dev->primary_thumb), "%s", argv[2]);
	dev->enabled = !disabled;
	rc = rc_store_hub_device_put(st, &ctx, dev, &out);
	dev->hub = NULL;
	dev->device_id = NULL;
	rc_hub_device_free(dev);
	if (rc == RC_OK)
		printf("%s %s\n", out->device_id, out->etag);
	rc_hub_device_free(out);
	return rc;
}

static int
events(struct rc_store *st, const char *hub)
{
	struct rc_hub_event **v = NULL;
	size_t n = 0, i;
	json_t *o;
	char *s;
	int rc;

	if ((rc = rc_store_hub_event_read(st, hub, 0, 1000, &v, &n)) != RC_OK)
		return rc;
	for (i = 0; i < n; i++) {
		o = json_pack("{s:I,s:s,s:O?,s:s%}", "seq",
		    (json_int_t)v[i]->seq, "deviceId", v[i]->device_id,
		    "properties", v[i]->props, "body", (const char *)v[i]->body,
		    v[i]->body_len);
		if (o != NULL && (s = json_dumps(o, JSON_COMPACT)) != NULL) {
			printf("%s\n", s);
			rc_free(s);
		}
		json_decref(o);
	}
	rc_hub_event_list_free(v, n);
	return RC_OK;
}

int
main(int argc, char **argv)
{
	struct rc_store *st = NULL;
	int rc, ev = argc == 4 && strcmp(argv[1], "events") == 0;

	if (!ev && argc != 5 && argc != 6) {
		fprintf(stderr,
		    "usage: seed-hub-device STORE_URI HUB DEVICE_ID "
		    "THUMBPRINT [disabled]\n"
		    "       seed-hub-device events STORE_URI HUB\n");
		return 2;
	}
	rc_json_init();
	if ((rc = rc_store_open(argv[ev ? 2 : 1], &st)) != RC_OK) {
		fprintf(stderr, "seed-hub-device: open: %s\n", rc_strerror(rc));
		return 1;
	}
	if (ev)
		rc = events(st, argv[3]);
	else
		rc = put(st, &argv[2], argc == 6);
	if (rc != RC_OK)
		fprintf(stderr, "seed-hub-device: %s\n", rc_strerror(rc));
	rc_store_close(st);
	return rc == RC_OK ? 0 : 1;
}
