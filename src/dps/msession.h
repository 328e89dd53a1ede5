/*
 * DPS over MQTT: one device connection's protocol state (msession.c).
 * The daemon hands every framed packet to dps_msession_packet and writes
 * what it appends to out; any result but RC_OK means: send what is in
 * out, then close.
 */
#ifndef ROLLCALL_DPS_MSESSION_H
#define ROLLCALL_DPS_MSESSION_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "dps/prov.h"
#include "rollcall/buf.h"
#include "rollcall/mqtt.h"

struct dps_msession;

/*
 * 1 if the CONNECT packet pkt (whole, fixed header included) is for this
 * DPS: its username starts with "{idScope}/registrations/".  Anything
 * else (a hub device) is not ours.
 */
int dps_msession_is_dps(const struct dps_prov *, const uint8_t *pkt,
    size_t len);

/* chain: the TLS peer chain, leaf first, or NULL; up-referenced. */
struct dps_msession *dps_msession_new(struct dps_prov *, STACK_OF(X509) *chain,
    const char *peer);
void dps_msession_free(struct dps_msession *);

RC_MUST_CHECK int dps_msession_packet(struct dps_msession *,
    const struct rc_mqtt_fixed *, const uint8_t *pkt, size_t len,
    struct rc_wbuf *out);
/* Seconds of silence allowed: 0 before CONNECT, else 1.5 x keepalive. */
int dps_msession_timeout(const struct dps_msession *);

#endif
