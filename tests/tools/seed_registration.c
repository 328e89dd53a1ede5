/*
 * seed-registration STORE_URI REGISTRATION_ID [DEVICE_ID HUB]
 *
 * Writes an "assigned" registration state into a store, as a device
 * registration through DPS would, for tests of the service API that run
 * before (or without) a device.  The server may be running: the store is
 * safe for several processes (SQLite WAL with a busy timeout).
 */
#include <stdio.h>
#include <string.h>

#include "rollcall/store.h"

int
main(int argc, char **argv)
{
	struct rc_store_ctx ctx = {.who = "test-seed", .if_match = NULL};
	struct rc_registration reg, *out = NULL;
	struct rc_store *st = NULL;
	int rc;

	if (argc != 3 && argc != 5) {
		fprintf(stderr,
		    "usage: seed-registration STORE_URI REG_ID "
		    "[DEVICE_ID HUB]\n");
		return 2;
	}
	memset(&reg, 0, sizeof(reg));
	reg.registration_id = argv[2];
	reg.device_id = argc == 5 ? argv[3] : argv[2];
	reg.assigned_hub = argc == 5 ? argv[4] : "localhost";
	reg.status = "assigned";
	reg.substatus = "initialAssignment";
	if ((rc = rc_store_open(argv[1], &st)) != RC_OK) {
		fprintf(stderr, "seed-registration: open %s: %s\n", argv[1],
		    rc_strerror(rc));
		return 1;
	}
	rc = rc_store_registration_put(st, &ctx, &reg, &out);
	if (rc != RC_OK)
		fprintf(stderr, "seed-registration: %s\n", rc_strerror(rc));
	else
		printf("%s %s\n", out->registration_id, out->etag);
	rc_registration_free(out);
	rc_store_close(st);
	return rc == RC_OK ? 0 : 1;
}
