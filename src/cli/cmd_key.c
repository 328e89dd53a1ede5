/* Placeholder until the 'key' command group lands. */
#include "cli.h"

int
cmd_key(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_fail("'key' is not built yet");
}
