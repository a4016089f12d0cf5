/*
 * policy: cached need-to-know matrices; see policy.h.
 */
#include "policy.h"

#include "db.h"
#include "log.h"
#include "server.h"

static const char policy_vis_sql[] =
	"SELECT visibility, institution_kind FROM visibility_rule";
static const char policy_lead_sql[] =
	"SELECT code, lead_reads FROM visibility_class";
static const char policy_basis_sql[] =
	"SELECT basis, institution_kind FROM basis_rule";

/* Fill `p` from the three results; -1 if a row names what acl ignores. */
static int policy_fill(struct acl_policy *p, const struct db_reply *reply)
{
	const PGresult *vis = reply->results[0];
	const PGresult *lead = reply->results[1];
	const PGresult *basis = reply->results[2];
	int i;

	acl_policy_clear(p);
	for (i = 0; i < PQntuples(vis); i++) {
		if (acl_policy_allow_visibility(p, PQgetvalue(vis, i, 0),
						PQgetvalue(vis, i, 1)) != 0)
			return -1;
	}
	for (i = 0; i < PQntuples(lead); i++) {
		if (acl_policy_set_lead_reads(p, PQgetvalue(lead, i, 0),
					      PQgetvalue(lead, i, 1)[0] ==
						      't') != 0)
			return -1;
	}
	for (i = 0; i < PQntuples(basis); i++) {
		if (acl_policy_allow_basis(p, PQgetvalue(basis, i, 0),
					   PQgetvalue(basis, i, 1)) != 0)
			return -1;
	}
	return 0;
}

static policy_done_fn *policy_done;

static void policy_finish(struct server *srv)
{
	policy_done_fn *done = policy_done;

	srv->policy_loading = 0;
	policy_done = NULL;
	if (done != NULL)
		done(srv, srv->policy_loaded);
}

static void policy_loaded(void *arg, const struct db_reply *reply)
{
	struct server *srv = arg;
	struct acl_policy p;

	if (reply->status != DB_OK || reply->nresults != 3) {
		log_warnx("policy: need-to-know matrices not loaded: %s %s",
			  db_status_name(reply->status), reply->sqlstate);
		policy_finish(srv);
		return;
	}
	if (policy_fill(&p, reply) != 0) {
		log_warnx("policy: a matrix row names an unknown class, basis "
			  "or kind; keeping the matrices in force");
		policy_finish(srv);
		return;
	}
	srv->policy = p;
	if (!srv->policy_loaded)
		log_info("policy: need-to-know matrices loaded");
	else
		log_info("policy: need-to-know matrices reloaded");
	srv->policy_loaded = 1;
	policy_finish(srv);
}

void policy_load(struct server *srv, policy_done_fn *done)
{
	struct db_job *job;

	if (srv->policy_loading || srv->db == NULL) {
		if (done != NULL && policy_done == NULL)
			policy_done = done;
		else if (done != NULL)
			done(srv, srv->policy_loaded);
		return;
	}
	job = db_job_new();
	if (job == NULL || db_job_add(job, policy_vis_sql, 0, NULL) != 0 ||
	    db_job_add(job, policy_lead_sql, 0, NULL) != 0 ||
	    db_job_add(job, policy_basis_sql, 0, NULL) != 0) {
		db_job_free(job);
		log_warnx("policy: out of memory");
		if (done != NULL)
			done(srv, srv->policy_loaded);
		return;
	}
	srv->policy_loading = 1;
	policy_done = done;
	db_submit(srv->db, job, policy_loaded, srv);
}

const struct acl_policy *policy_current(struct server *srv)
{
	if (!srv->policy_loaded) {
		policy_load(srv, NULL);
		return NULL;
	}
	return &srv->policy;
}
