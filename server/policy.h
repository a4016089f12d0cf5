/*
 * policy: the need-to-know matrices as the database holds them
 * (visibility_class, visibility_rule, basis_rule), cached in the daemon.
 * This module owns loading them asynchronously (when the pool first
 * connects, on SIGHUP, and again when a request finds none loaded) and
 * handing the acl module the copy in force. A load replaces the copy only
 * when it is whole.
 */
#ifndef MAILLAGE_POLICY_H
#define MAILLAGE_POLICY_H

#include "acl.h"

struct server;

/*
 * Start a load (no-op if one is running); `done`, if not NULL, is called
 * when it ends, with 1 if the matrices in force are now loaded.
 */
typedef void policy_done_fn(struct server *srv, int loaded);
void policy_load(struct server *srv, policy_done_fn *done);

/*
 * The matrices in force, or NULL if none has been loaded yet (the caller
 * answers UNAVAILABLE; a load is started).
 */
const struct acl_policy *policy_current(struct server *srv);

#endif
