/*
 * The parsers of the rolling playbook commands: --max-failures ratios
 * (fleet.h) and --within durations (cli.h).
 */
#include <stdio.h>
#include <string.h>

#include "rctest.h"

#include "cli.h"
#include "fleet.h"

static void
test_ratio(void **state)
{
	static const struct {
		const char *in;
		double want;
	} rows[] = {
	    {"10%", 0.1},
	    {"0%", 0},
	    {"100%", 1},
	    {"0.25", 0.25},
	    {"1", 1},
	    {"0", 0},
	    {"2.5%", 0.025},
	    {"101%", -1},
	    {"1.5", -1},
	    {"-1%", -1},
	    {"", -1},
	    {"%", -1},
	    {"10%%", -1},
	    {"10 %", -1},
	    {"ten", -1},
	    {"nan", -1},
	    {"inf", -1},
	    {"1e400", -1},
	    {"0x10", -1},
	};
	size_t i;
	double got;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		got = fleet_parse_ratio(rows[i].in);
		if (got < rows[i].want - 1e-9 || got > rows[i].want + 1e-9)
			fail_msg("'%s': %g, want %g", rows[i].in, got,
			    rows[i].want);
	}
}

static void
test_duration(void **state)
{
	static const struct {
		const char *in;
		long long want;
	} rows[] = {
	    {"30d", 30LL * 86400},
	    {"12h", 12LL * 3600},
	    {"90m", 5400},
	    {"600s", 600},
	    {"600", 600},
	    {"0d", 0},
	    {"36500d", 36500LL * 86400},
	    {"36501d", -1},
	    {"3153600000", 3153600000LL},
	    {"3153600001", -1},
	    {"", -1},
	    {"d", -1},
	    {"1w", -1},
	    {"-1d", -1},
	    {"1.5d", -1},
	    {" 1d", -1},
	    {"1d ", -1},
	    {"99999999999999999999999d", -1},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (cli_parse_duration(rows[i].in) != rows[i].want)
			fail_msg("'%s': %lld, want %lld", rows[i].in,
			    cli_parse_duration(rows[i].in), rows[i].want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ratio),
	    cmocka_unit_test(test_duration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
