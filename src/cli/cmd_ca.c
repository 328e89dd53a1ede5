/* Placeholder until the 'ca' command group lands. */
#include "cli.h"

int
cmd_ca(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_fail("'ca' is not built yet");
}
