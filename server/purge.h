/*
 * purge: `maillaged purge [--dry-run]`, run on the server host beside the
 * service (from cron or a systemd timer). It removes the closed cases past
 * their retention period ([retention] closed_days, not_a_victim_days):
 * their notices, identities, timeline and parties (sql/013_retention.sql),
 * one case per transaction with its audit record (action storage.purge),
 * in batches of [retention] purge_batch cases. --dry-run lists what would
 * go and changes nothing. The audit trail is kept.
 */
#ifndef MAILLAGE_PURGE_H
#define MAILLAGE_PURGE_H

#include "config.h"

/* Run the command (argv: its options); the process exit status. */
int purge_run(const struct config *cfg, int argc, char **argv);

#endif
