/*
 * Fuzz target for rollcall-agent's state.json parser
 * (rc_agent_state_parse).  Invariants: no crash, leak or sanitizer
 * report; an accepted state names slot a or b, and its dump parses again
 * to the same state.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/agent.h"
#include "rollcall/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rc_agent_state s, t;
	char *text = NULL;
	size_t len;

	if (rc_agent_state_parse((const char *)data, size, &s) != RC_OK)
		return 0;
	if (s.active != 'a' && s.active != 'b')
		abort();
	if (rc_agent_state_dump(&s, &text, &len) != RC_OK)
		return 0;
	if (rc_agent_state_parse(text, len, &t) != RC_OK ||
	    memcmp(&s, &t, sizeof(s)) != 0)
		abort();
	rc_free(text);
	return 0;
}
