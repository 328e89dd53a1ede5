/* Placeholder until the 'cert' command group lands. */
#include "cli.h"

int
cmd_cert(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_fail("'cert' is not built yet");
}
