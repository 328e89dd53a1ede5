/*
 * What `rollcall enrollment` (individual enrollments) and `rollcall group`
 * (enrollment groups) share: the two differ only in the path, the ID
 * field, the certificate slots (clientCertificates: device leaves;
 * signingCertificates or caReferences: CAs) and a few options, so one
 * implementation serves both (enroll.c).
 */
#ifndef ROLLCALL_CLI_ENROLL_H
#define ROLLCALL_CLI_ENROLL_H

#include <jansson.h>

#include "client.h"

struct enroll_kind {
	const char *group; /* the CLI command: "enrollment", "group" */
	const char *noun; /* for messages: "enrollment", "group" */
	const char *path; /* "/enrollments/", "/enrollmentGroups/" */
	const char *id_field; /* "registrationId", "enrollmentGroupId" */
	const char *id_meta; /* in usage lines: "REG_ID", "GROUP_ID" */
	const char *slots; /* "clientCertificates", "signingCertificates" */
	int group_kind; /* 1 for groups: --ca-ref, no --device-id */
};

extern const struct enroll_kind enroll_individual;
extern const struct enroll_kind enroll_group;

int enroll_create(const struct enroll_kind *, int argc, char **argv);
int enroll_show(const struct enroll_kind *, int argc, char **argv);
int enroll_list(const struct enroll_kind *, int argc, char **argv);
int enroll_update(const struct enroll_kind *, int argc, char **argv);
int enroll_enable(const struct enroll_kind *, int argc, char **argv);
int enroll_disable(const struct enroll_kind *, int argc, char **argv);
int enroll_delete(const struct enroll_kind *, int argc, char **argv);

/* The --reprovision-policy names and the JSON they stand for. */
int enroll_reprov_parse(const char *name, int *update_hub, int *migrate);
/* The name for a reprovisionPolicy object; "-" if absent. */
const char *enroll_reprov_name(json_t *policy);

/*
 * The table of a list of enrollments or groups: ID, STATUS, PRIMARY
 * SHA-256 (first 16 hex digits, or "ca:NAME" for a CA reference),
 * SECONDARY, UPDATED.
 */
int enroll_table(const struct enroll_kind *, json_t *list, FILE *);

#endif
