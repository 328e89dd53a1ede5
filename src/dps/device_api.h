/* DPS over HTTPS: the device API's requests (device_api.c). */
#ifndef ROLLCALL_DPS_DEVICE_API_H
#define ROLLCALL_DPS_DEVICE_API_H

#include "dps/prov.h"
#include "rollcall/http.h"

/*
 * Answers a request whose first path segment is the ID scope; resp was
 * set up with rc_http_resp_init and is always filled.  Thread-safe.
 */
void dps_device_handle(struct dps_prov *, const struct rc_http_req *,
    struct rc_http_resp *);

#endif
