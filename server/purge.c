/*
 * purge: removal of closed cases past retention; see purge.h. A batch
 * lists the due cases (purge_due), then purges each in its own
 * transaction (purge_case re-checks under lock that the case is still
 * closed and due, so that a concurrent reopen wins) with its audit record.
 * The listing holds no content: ids, status, closure date, counts.
 */
#include "purge.h"

#include <stdio.h>
#include <string.h>

#include "hostcmd.h"

static const char purge_due_sql[] =
	"SELECT case_id, person_id, protection_status, closed_at, notices,"
	" identities, person_goes"
	" FROM purge_due(make_interval(days => $1::integer),"
	" make_interval(days => $2::integer), $3::integer)";

static const char purge_case_sql[] =
	"SELECT purge_case($1::bigint, make_interval(days => $2::integer),"
	" make_interval(days => $3::integer))";

struct purge_opts {
	int dry_run;
	char closed[16], not_victim[16], batch[16];
};

static void purge_print_row(const PGresult *res, int i, const char *verb)
{
	printf("%s case %s (person %s%s): %s, closed %s, %s notices, "
	       "%s identities\n",
	       verb, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
	       PQgetvalue(res, i, 6)[0] == 't' ? ", removed" : "",
	       PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
	       PQgetvalue(res, i, 4), PQgetvalue(res, i, 5));
}

/* Purge one listed case with its audit record: 1 done, 0 skipped, -1. */
static int purge_one(PGconn *pg, const struct purge_opts *o,
		     const PGresult *due, int i)
{
	const char *params[3] = {PQgetvalue(due, i, 0), o->closed,
				 o->not_victim};
	PGresult *res;
	int done;

	if (hostcmd_ok(pg, "BEGIN", 0, NULL, "purge") != 0)
		return -1;
	res = hostcmd_exec(pg, purge_case_sql, 3, params, "purge");
	done = res != NULL && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (res == NULL ||
	    (done && hostcmd_audit(pg, "storage.purge", params[0]) != 0) ||
	    hostcmd_ok(pg, "COMMIT", 0, NULL, "purge") != 0) {
		PQclear(PQexec(pg, "ROLLBACK"));
		return -1;
	}
	purge_print_row(due, i, done ? "purged" : "kept (reopened meanwhile)");
	return done;
}

/* One batch: the cases listed (0: none left), or -1. */
static int purge_batch(PGconn *pg, const struct purge_opts *o, long *purged)
{
	const char *params[3] = {o->closed, o->not_victim, o->batch};
	PGresult *due = hostcmd_exec(pg, purge_due_sql, 3, params, "purge");
	int i, n, rc;

	if (due == NULL)
		return -1;
	n = PQntuples(due);
	for (i = 0; i < n; i++) {
		if (o->dry_run) {
			purge_print_row(due, i, "would purge");
			continue;
		}
		rc = purge_one(pg, o, due, i);
		if (rc < 0) {
			n = -1;
			break;
		}
		*purged += rc;
	}
	PQclear(due);
	return n;
}

int purge_run(const struct config *cfg, int argc, char **argv)
{
	struct purge_opts o;
	long purged = 0;
	PGconn *pg;
	int n;

	memset(&o, 0, sizeof(o));
	if (argc > 1 || (argc == 1 && strcmp(argv[0], "--dry-run") != 0)) {
		fprintf(stderr, "usage: maillaged purge [--dry-run]\n");
		return 2;
	}
	o.dry_run = argc == 1;
	snprintf(o.closed, sizeof(o.closed), "%u",
		 (unsigned)cfg->retention_closed_days);
	snprintf(o.not_victim, sizeof(o.not_victim), "%u",
		 (unsigned)cfg->retention_not_victim_days);
	/* A dry run lists every due case at once. */
	snprintf(o.batch, sizeof(o.batch), "%u",
		 o.dry_run ? 1000000u : (unsigned)cfg->purge_batch);
	pg = hostcmd_connect(cfg, "purge");
	if (pg == NULL)
		return 1;
	do {
		n = purge_batch(pg, &o, &purged);
	} while (!o.dry_run && n > 0);
	PQfinish(pg);
	if (n < 0)
		return 1;
	if (o.dry_run)
		printf("purge --dry-run: %d cases past retention (closed %s "
		       "days, not a victim %s days); nothing changed\n",
		       n, o.closed, o.not_victim);
	else
		printf("purge: %ld cases purged (closed %s days, not a "
		       "victim %s days)\n",
		       purged, o.closed, o.not_victim);
	return 0;
}
