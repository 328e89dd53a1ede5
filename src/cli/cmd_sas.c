/* Placeholder until the 'sas' command group lands. */
#include "cli.h"

int
cmd_sas(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_fail("'sas' is not built yet");
}
