/*
 * A fleet roll (`rollcall roll fleet`, and the re-issue step of `rollcall
 * roll group --reason breach`): one direct method (reprovision or
 * rollCertificate, seed rule S11) invoked on many devices of one hub in
 * paced waves, a canary wave first, stopping when the failure rate passes
 * a threshold, resumable from a state file.
 */
#ifndef ROLLCALL_CLI_FLEET_H
#define ROLLCALL_CLI_FLEET_H

#include <stddef.h>

#include <jansson.h>

#include "client.h"

struct fleet_opts {
	const char *method; /* the direct method's name */
	json_t *payload; /* its payload, or NULL */
	int method_timeout; /* seconds the device has to answer */
	double rate; /* invocations per second; 0: as fast as allowed */
	size_t wave; /* devices per wave */
	size_t canary; /* devices in the first wave */
	double max_failures; /* 0..1: stop once failed / tried passes it */
	size_t parallel; /* invocations in flight at once */
	const char *state; /* the state file (resume), or NULL */
	int json; /* JSON lines even on a terminal */
};

struct fleet_result {
	size_t total; /* devices of the roll */
	size_t skipped; /* already done in an earlier run (state file) */
	size_t ok;
	size_t failed;
	int aborted; /* the failure rate passed max_failures */
	double seconds;
};

/*
 * Rolls the devices (a JSON array of device IDs) of the hub that hub
 * opens clients for.  Progress goes to stdout: a bar on a terminal, JSON
 * lines otherwise (or with o->json).  CLI_OK when every device succeeded
 * (or was done before), CLI_FAIL otherwise; *res says what happened.
 */
int fleet_run(const struct client_opts *hub, json_t *devices,
    const struct fleet_opts *o, struct fleet_result *res);

/*
 * Parses the --max-failures value: "10%" or "0.1" (0..1).  -1 when
 * malformed.
 */
double fleet_parse_ratio(const char *s);

#endif
