/*
 * Joins the hub service API (service.h) to the device sessions (hub.h):
 * fills a struct hub_session_ops whose calls go to a struct hub.
 */
#ifndef ROLLCALL_HUB_SESSION_OPS_H
#define ROLLCALL_HUB_SESSION_OPS_H

#include "hub/hub.h"
#include "hub/service.h"

/* ops->arg borrows hub, which must outlive every use of ops. */
void hub_session_ops_fill(struct hub *, struct hub_session_ops *ops);

#endif
