/*
 * Fuzz target for what rollcall-agent reads from the network: direct
 * method payloads (rc_agent_method_parse, for each method name chosen by
 * the first byte) and DPS replies (rc_agent_dps_reply_parse, the rest of
 * the input).  Invariants: no crash, leak or sanitizer report; an
 * accepted install carries 1..RC_AGENT_CHAIN_MAX certificates; an
 * accepted assignment names a hub and a device.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"rollCertificate", "reprovision",
	    "installCertificate", "other"};
	struct rc_agent_method_req m;
	struct rc_agent_dps_reply r;
	char why[256];

	if (size < 1)
		return 0;
	if (rc_agent_method_parse(names[data[0] & 3], data + 1, size - 1, &m,
	        why, sizeof(why)) == RC_OK &&
	    m.method == RC_AGENT_M_INSTALL &&
	    (sk_X509_num(m.chain) < 1 ||
	        sk_X509_num(m.chain) > RC_AGENT_CHAIN_MAX))
		abort();
	rc_agent_method_clear(&m);
	if (rc_agent_dps_reply_parse(data + 1, size - 1, &r) == RC_OK &&
	    r.status == RC_AGENT_DPS_ASSIGNED &&
	    (r.hub[0] == '\0' || r.device_id[0] == '\0'))
		abort();
	rc_agent_dps_reply_clear(&r);
	return 0;
}
