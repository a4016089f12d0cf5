/*
 * dispatch: the table of requests an authenticated connection may send.
 * This module owns the mapping from an Envelope body to its handler and its
 * audit action name, and the answer to a body that is not a request. Access
 * decisions are not made here: handlers ask the acl module.
 */
#ifndef MAILLAGE_DISPATCH_H
#define MAILLAGE_DISPATCH_H

#include "maillage.pb-c.h"

struct conn;

/* Route one request of a READY connection; always answers eventually. */
void dispatch_request(struct conn *c, const Maillage__Envelope *env);

#endif
