/*
 * hostcmd: what the commands run on the server host (rotate-key, purge)
 * share: a blocking connection to the database (these commands run beside
 * the service, never inside its event loop), statements with their errors
 * reported on stderr, and the audit record of what the host did (no
 * account acted: peer "local:uid=N", instance the host name).
 */
#ifndef MAILLAGE_HOSTCMD_H
#define MAILLAGE_HOSTCMD_H

#include <libpq-fe.h>

#include "config.h"

/* Connect with [database] conninfo; NULL after a message naming `what`. */
PGconn *hostcmd_connect(const struct config *cfg, const char *what);

/*
 * Run one parameterised statement; the result (to PQclear), or NULL after
 * a message naming `what`.
 */
PGresult *hostcmd_exec(PGconn *pg, const char *sql, int n,
		       const char *const *params, const char *what);

/* Run a statement whose rows do not matter: 0, or -1 after a message. */
int hostcmd_ok(PGconn *pg, const char *sql, int n, const char *const *params,
	       const char *what);

/* One audit record of `action` by the host, about case `case_id` ("" or
 * NULL: none): 0, or -1 after a message. */
int hostcmd_audit(PGconn *pg, const char *action, const char *case_id);

#endif
