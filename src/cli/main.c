/*
 * rollcall: the operator CLI.  This file only picks the command group.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "rollcall/json.h"
#include "rollcall/log.h"

struct group {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
};

static const struct group groups[] = {
    {"key", cmd_key, "generate private keys"},
    {"ca", cmd_ca,
        "offline certificate authority: roots, intermediates, "
        "leaves, CRLs"},
    {"cert", cmd_cert, "inspect and verify certificates, make CSRs"},
    {"sas", cmd_sas, "shared access signature tokens"},
    {"init", cmd_init, "make a data directory for rollcalld"},
    {"enrollment", cmd_enrollment, "individual enrollments (DPS)"},
    {"group", cmd_group, "enrollment groups (DPS)"},
    {"registration", cmd_registration, "registration states (DPS)"},
    {"ca-cert", cmd_cacert, "verified CA certificates (DPS)"},
    {"audit", cmd_audit, "the audit log: tail, verify"},
    {"device", cmd_device, "device identities (hub)"},
    {"twin", cmd_twin, "device twins (hub)"},
    {"method", cmd_method, "direct methods (hub)"},
    {"job", cmd_job, "jobs over many devices (hub)"},
    {"events", cmd_events, "telemetry events (hub)"},
    {"roll", cmd_roll, "certificate rolls: individual, group, fleet"},
    {"disallow", cmd_disallow, "keep a device or a certificate out"},
    {"reissue", cmd_reissue,
        "sign a device's retained CSR and push the certificate"},
    {"report", cmd_report, "reports: expiring certificates"},
    {NULL, NULL, NULL},
};

static int
usage(FILE *f, int rc)
{
	const struct group *g;

	fprintf(f,
	    "usage: rollcall <command> <subcommand> [options]\n\n"
	    "commands:\n");
	for (g = groups; g->name != NULL; g++)
		fprintf(f, "  %-13s %s\n", g->name, g->summary);
	fprintf(f, "\n'rollcall <command> --help' lists the subcommands.\n");
	return rc;
}

int
main(int argc, char **argv)
{
	const struct group *g;

	/* Before any jansson call: its memory then comes from rc_malloc. */
	rc_json_init();
	rc_log_init("rollcall", 1, 0);
	if (argc < 2)
		return usage(stderr, CLI_USAGE);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0)
		return usage(stdout, CLI_OK);
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("rollcall %s\n", RC_VERSION);
		return CLI_OK;
	}
	for (g = groups; g->name != NULL; g++)
		if (strcmp(argv[1], g->name) == 0)
			return g->fn(argc - 1, argv + 1);
	fprintf(stderr, "rollcall: unknown command '%s'\n", argv[1]);
	return usage(stderr, CLI_USAGE);
}
