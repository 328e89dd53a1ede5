/*
 * rollcall group: enrollment groups (a CA certificate covers many devices) over the DPS
 * service API; the work is in enroll.c.
 */
#include "cli.h"
#include "enroll.h"

static int
gr_create(int argc, char **argv)
{
	return enroll_create(&enroll_group, argc, argv);
}

static int
gr_show(int argc, char **argv)
{
	return enroll_show(&enroll_group, argc, argv);
}

static int
gr_list(int argc, char **argv)
{
	return enroll_list(&enroll_group, argc, argv);
}

static int
gr_update(int argc, char **argv)
{
	return enroll_update(&enroll_group, argc, argv);
}

static int
gr_enable(int argc, char **argv)
{
	return enroll_enable(&enroll_group, argc, argv);
}

static int
gr_disable(int argc, char **argv)
{
	return enroll_disable(&enroll_group, argc, argv);
}

static int
gr_delete(int argc, char **argv)
{
	return enroll_delete(&enroll_group, argc, argv);
}

int
cmd_group(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
	    {"create", gr_create, "create one (refuses to replace)"},
	    {"show", gr_show, "show one"},
	    {"list", gr_list, "list all (follows continuation pages)"},
	    {"update", gr_update,
	        "change certificates or policies (read-modify-write)"},
	    {"enable", gr_enable, "allow its certificates again"},
	    {"disable", gr_disable, "disallow its certificates"},
	    {"delete", gr_delete, "delete one"},
	    {NULL, NULL, NULL},
	};

	return cli_dispatch("group", subs, argc, argv);
}
