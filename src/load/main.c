/*
 * rollcall-load: simulated devices against rollcalld, Mosquitto or the
 * echo baseline (load.h, docs/performance.md).
 */
#include <stdio.h>

#include "load.h"
#include "rollcall/json.h"
#include "rollcall/log.h"

static int
certs(const struct load_args *a)
{
	struct load_fleet f;
	uint64_t t0 = load_now_us();
	double secs;
	int rc;

	if ((rc = load_fleet_make(a->ca_dir, a->prefix, (size_t)a->count,
	         a->shared_key, &f)) != RC_OK) {
		fprintf(stderr, "rollcall-load: certs: %s\n", rc_strerror(rc));
		return 1;
	}
	rc = load_fleet_save(&f, a->certs);
	secs = (double)(load_now_us() - t0) / 1e6;
	if (rc == RC_OK)
		printf("RESULT label=%s mode=certs n=%zu secs=%.2f key=%s\n",
		    a->label[0] != '\0' ? a->label : "-", f.n, secs,
		    a->shared_key ? "shared-p256" : "per-device-p256");
	else
		fprintf(stderr, "rollcall-load: %s: %s\n", a->certs,
		    rc_strerror(rc));
	load_fleet_clear(&f);
	return rc == RC_OK ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct load_args a;
	struct load_fleet f;
	char why[256];
	int rc;

	rc_json_init();
	rc_log_init("rollcall-load", 1, 0);
	if ((rc = load_args_parse(argc, argv, &a, why, sizeof(why))) ==
	    RC_ENOENT) {
		load_usage();
		return 0;
	}
	if (rc != RC_OK) {
		fprintf(stderr, "rollcall-load: %s\n", why);
		load_usage();
		return 2;
	}
	if (a.mode == LOAD_CERTS)
		return certs(&a);
	if ((rc = load_fleet_load(a.certs, (size_t)a.first, (size_t)a.count,
	         &f)) != RC_OK) {
		fprintf(stderr, "rollcall-load: %s: %s\n", a.certs,
		    rc_strerror(rc));
		return 1;
	}
	if (a.mode == LOAD_IMPORT)
		rc = load_import(&a, &f) == RC_OK ? 0 : 1;
	else
		rc = load_run(&a, &f);
	load_fleet_clear(&f);
	return rc;
}
