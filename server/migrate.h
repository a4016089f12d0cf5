/*
 * migrate: the schema's history. This module owns applying the SQL files
 * sql/NNN_name.sql in order, each in one transaction together with its row
 * in schema_migrations (version, name, SHA-256 of the file), under an
 * advisory lock so that two instances never migrate at once, and refusing
 * to go on when an applied file has changed since. It runs from the command
 * line before the daemon starts, never on the request path, so it uses
 * libpq's blocking calls.
 */
#ifndef MAILLAGE_MIGRATE_H
#define MAILLAGE_MIGRATE_H

#include "config.h"

/* Returns 0 when the schema is up to date (after applying), else 1. */
int migrate_run(const struct config *cfg, int dry_run);

#endif
