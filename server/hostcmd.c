/*
 * hostcmd: blocking database access for host commands; see hostcmd.h.
 */
#include "hostcmd.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

PGconn *hostcmd_connect(const struct config *cfg, const char *what)
{
	PGconn *pg;

	if (cfg->db_conninfo[0] == '\0') {
		fprintf(stderr,
			"maillaged: %s: [database] conninfo is "
			"required\n",
			what);
		return NULL;
	}
	pg = PQconnectdb(cfg->db_conninfo);
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "maillaged: %s: cannot connect: %s", what,
			PQerrorMessage(pg));
		PQfinish(pg);
		return NULL;
	}
	/* An operator's command may run long: no statement_timeout that a
	 * service's or role's settings give the daemon's own connections. */
	PQclear(PQexec(pg, "SET client_min_messages = warning"));
	PQclear(PQexec(pg, "SET statement_timeout = 0"));
	return pg;
}

PGresult *hostcmd_exec(PGconn *pg, const char *sql, int n,
		       const char *const *params, const char *what)
{
	PGresult *res = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;
	fprintf(stderr, "maillaged: %s: %s", what, PQerrorMessage(pg));
	PQclear(res);
	return NULL;
}

int hostcmd_ok(PGconn *pg, const char *sql, int n, const char *const *params,
	       const char *what)
{
	PGresult *res = hostcmd_exec(pg, sql, n, params, what);

	PQclear(res);
	return res != NULL ? 0 : -1;
}

int hostcmd_audit(PGconn *pg, const char *action, const char *case_id)
{
	static const char sql[] =
		"INSERT INTO audit_event (action, outcome, peer, instance,"
		" case_id) VALUES ($1, 'ok', $2, $3, $4::bigint)";
	char peer[32], host[64] = "localhost";
	const char *p[4];

	snprintf(peer, sizeof(peer), "local:uid=%u", (unsigned)getuid());
	gethostname(host, sizeof(host) - 1);
	p[0] = action;
	p[1] = peer;
	p[2] = host;
	p[3] = case_id != NULL && case_id[0] != '\0' ? case_id : NULL;
	return hostcmd_ok(pg, sql, 4, p, "audit");
}
