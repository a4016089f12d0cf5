/*
 * audit: builds and submits audit_event rows; see audit.h.
 */
#include "audit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "log.h"
#include "server.h"

static const char audit_insert_sql[] =
	"INSERT INTO audit_event (account_id, login, institution_code, role, "
	"action, outcome, error_code, peer, request_id, instance, "
	"cert_fingerprint, case_id, notice_id, person_id) "
	"VALUES ($1::bigint, $2, $3, $4, $5, $6, $7, $8, $9::bigint, $10, $11, "
	"$12::bigint, $13::bigint, $14::bigint)";

static const char *audit_id(char *buf, size_t len, int64_t id)
{
	if (id <= 0)
		return NULL;
	snprintf(buf, len, "%" PRId64, id);
	return buf;
}

void audit_who_of(const struct conn *c, struct audit_who *w)
{
	const struct conn_account *a = &c->account;

	memset(w, 0, sizeof(*w));
	w->authenticated = c->authenticated;
	if (c->authenticated) {
		w->account_id = a->id;
		snprintf(w->login, sizeof(w->login), "%s", a->login);
		snprintf(w->institution, sizeof(w->institution), "%s",
			 a->institution);
		w->role = conn_role_name(a->role);
	}
	snprintf(w->peer, sizeof(w->peer), "%s", c->peer);
	snprintf(w->fingerprint, sizeof(w->fingerprint), "%s", c->fingerprint);
}

int audit_job_add_who(struct db_job *job, const struct server *srv,
		      const struct audit_who *w, const struct audit_rec *rec)
{
	char account[24], reqid[24], case_id[24], notice_id[24], person_id[24];
	const char *params[14];

	/* The column is a bigint: ids past 2^63 are stored wrapped. */
	snprintf(reqid, sizeof(reqid), "%" PRId64, (int64_t)rec->request_id);
	params[0] = w->authenticated
			    ? audit_id(account, sizeof(account), w->account_id)
			    : NULL;
	params[1] = w->authenticated ? w->login : NULL;
	params[2] = w->authenticated ? w->institution : NULL;
	params[3] = w->authenticated ? w->role : NULL;
	params[4] = rec->action;
	params[5] = rec->outcome;
	params[6] = rec->error_code;
	params[7] = w->peer;
	params[8] = reqid;
	params[9] = srv->instance_id;
	params[10] = w->fingerprint[0] != '\0' ? w->fingerprint : NULL;
	params[11] = audit_id(case_id, sizeof(case_id), rec->case_id);
	params[12] = audit_id(notice_id, sizeof(notice_id), rec->notice_id);
	params[13] = audit_id(person_id, sizeof(person_id), rec->person_id);
	return db_job_add(job, audit_insert_sql, 14, params);
}

int audit_job_add(struct db_job *job, const struct conn *c,
		  const struct audit_rec *rec)
{
	struct audit_who w;

	audit_who_of(c, &w);
	return audit_job_add_who(job, c->srv, &w, rec);
}

static void audit_done(void *arg, const struct db_reply *reply)
{
	(void)arg;
	if (reply->status != DB_OK)
		log_warnx("audit: refusal record not written: %s %s",
			  db_status_name(reply->status), reply->sqlstate);
}

void audit_submit_who(struct server *srv, const struct audit_who *w,
		      const struct audit_rec *rec)
{
	struct db_job *job = db_job_new();

	if (job == NULL || audit_job_add_who(job, srv, w, rec) != 0) {
		log_warnx("audit: out of memory for refusal record");
		db_job_free(job);
		return;
	}
	db_submit(srv->db, job, audit_done, NULL);
}

void audit_submit(struct conn *c, const struct audit_rec *rec)
{
	struct audit_who w;

	audit_who_of(c, &w);
	audit_submit_who(c->srv, &w, rec);
}
