/*
 * rollcall enrollment: individual enrollments (one device certificate each) over the DPS
 * service API; the work is in enroll.c.
 */
#include "cli.h"
#include "enroll.h"

static int
en_create(int argc, char **argv)
{
	return enroll_create(&enroll_individual, argc, argv);
}

static int
en_show(int argc, char **argv)
{
	return enroll_show(&enroll_individual, argc, argv);
}

static int
en_list(int argc, char **argv)
{
	return enroll_list(&enroll_individual, argc, argv);
}

static int
en_update(int argc, char **argv)
{
	return enroll_update(&enroll_individual, argc, argv);
}

static int
en_enable(int argc, char **argv)
{
	return enroll_enable(&enroll_individual, argc, argv);
}

static int
en_disable(int argc, char **argv)
{
	return enroll_disable(&enroll_individual, argc, argv);
}

static int
en_delete(int argc, char **argv)
{
	return enroll_delete(&enroll_individual, argc, argv);
}

int
cmd_enrollment(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
	    {"create", en_create, "create one (refuses to replace)"},
	    {"show", en_show, "show one"},
	    {"list", en_list, "list all (follows continuation pages)"},
	    {"update", en_update,
	        "change certificates or policies (read-modify-write)"},
	    {"enable", en_enable, "allow its certificates again"},
	    {"disable", en_disable, "disallow its certificates"},
	    {"delete", en_delete, "delete one"},
	    {NULL, NULL, NULL},
	};

	return cli_dispatch("enrollment", subs, argc, argv);
}
