/*
 * report: the reach and impact reports; see report.h. Each handler checks
 * the caller's role (acl) and its filters (valid), then submits one job
 * with the report's reads and its audit record. The arithmetic is SQL's
 * (report_reach_totals(), report_reach_rows(), report_impact_rows() in
 * sql/006_training.sql); this module shapes the answer and bounds it to a
 * frame.
 */
#include "report.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acl.h"
#include "conn.h"
#include "log.h"
#include "req.h"
#include "server.h"
#include "training.h"
#include "valid.h"

#define RP_ACT_REACH "report.reach"
#define RP_ACT_IMPACT "report.impact"
#define RP_YEAR_MIN 2000
#define RP_YEAR_MAX 2100
#define RP_SPAN_YEARS 10 /* longest period of a reach report */
#define RP_WINDOW_MONTHS 12
#define RP_FRAME_SLACK 64
#define RP_MSG_MAX 160

#define EC_BAD_REQUEST MAILLAGE__ERROR_CODE__BAD_REQUEST
#define EC_FORBIDDEN MAILLAGE__ERROR_CODE__FORBIDDEN

static const char *rp_s(const char *s)
{
	return s != NULL ? s : "";
}

/* A context once the caller's role may read reports; NULL when refused. */
static struct req *rp_start(struct conn *c, const Maillage__Envelope *env,
			    const char *action, size_t extra)
{
	struct acl_subject s;
	struct req *r = req_new(c, env->request_id, action, extra);

	if (r == NULL) {
		req_oom(c, env->request_id);
		return NULL;
	}
	if (req_subject(c, &s) != 0 ||
	    acl_role_may(s.role, ACL_OP_REPORT) != ACL_ALLOW) {
		req_refuse(c, r, EC_FORBIDDEN, NULL,
			   "this account may not do this");
		req_free(r);
		return NULL;
	}
	return r;
}

static void rp_refuse(struct conn *c, struct req *r, const char *field,
		      const char *msg)
{
	req_refuse(c, r, EC_BAD_REQUEST, field, msg);
	req_free(r);
}

static void rp_now(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "1970-01-01T00:00:00Z");
}

/* ---- reach ------------------------------------------------------------- */

static const char rp_totals_sql[] =
	"SELECT sessions, participants, institutions, minutes, scored_sessions,"
	" coalesce(pre_mean, 0), coalesce(post_mean, 0)"
	" FROM report_reach_totals($1::date, $2::date)";

static const char rp_rows_sql[] =
	"SELECT section, key, label_fr, label_en, sessions, participants,"
	" institutions FROM report_reach_rows($1::date, $2::date)";

/* The period asked for: a year, or from and to. */
struct rp_period {
	char from[11], to[11];
};

static const char *rp_period_check(const Maillage__ReportReach *m,
				   struct rp_period *p, char *msg, size_t len)
{
	const char *from = rp_s(m->from), *to = rp_s(m->to);
	int fy, ty;

	if (m->year != 0) {
		if (from[0] != '\0' || to[0] != '\0') {
			snprintf(msg, len,
				 "give a year, or from and to, not "
				 "both");
			return "year";
		}
		if (m->year < RP_YEAR_MIN || m->year > RP_YEAR_MAX) {
			snprintf(msg, len, "year is from %d to %d", RP_YEAR_MIN,
				 RP_YEAR_MAX);
			return "year";
		}
		snprintf(p->from, sizeof(p->from), "%04d-01-01", (int)m->year);
		snprintf(p->to, sizeof(p->to), "%04d-12-31", (int)m->year);
		return NULL;
	}
	if (from[0] == '\0' && to[0] == '\0') {
		snprintf(msg, len, "a year, or from and to, is required");
		return "year";
	}
	if (!valid_date(from)) {
		snprintf(msg, len, "from is a real date YYYY-MM-DD");
		return "from";
	}
	if (!valid_date(to)) {
		snprintf(msg, len, "to is a real date YYYY-MM-DD");
		return "to";
	}
	if (strcmp(to, from) < 0) {
		snprintf(msg, len, "to is before from");
		return "to";
	}
	fy = atoi(from);
	ty = atoi(to);
	if (ty - fy >= RP_SPAN_YEARS) {
		snprintf(msg, len, "a period is at most %d years",
			 RP_SPAN_YEARS);
		return "to";
	}
	snprintf(p->from, sizeof(p->from), "%s", from);
	snprintf(p->to, sizeof(p->to), "%s", to);
	return NULL;
}

/* One section of the rows, in order, as ReportRows from `pool`. */
static size_t rp_section(const PGresult *res, const char *section,
			 Maillage__ReportRow *pool, size_t *used,
			 Maillage__ReportRow **ptrs)
{
	int n = PQntuples(res), i;
	size_t k = 0;

	for (i = 0; i < n; i++) {
		Maillage__ReportRow *row;

		if (strcmp(PQgetvalue(res, i, 0), section) != 0)
			continue;
		row = &pool[(*used)++];
		maillage__report_row__init(row);
		row->key = req_str(res, i, 1);
		row->label_fr = req_str(res, i, 2);
		row->label_en = req_str(res, i, 3);
		row->sessions = (uint32_t)req_int(res, i, 4);
		row->participants = (uint32_t)req_int(res, i, 5);
		row->institutions = (uint32_t)req_int(res, i, 6);
		ptrs[k++] = row;
	}
	return k;
}

struct rp_reach {
	struct rp_period period;
};

static void rp_reach_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct rp_reach *st = r->data;
	struct conn *c = req_conn(r);
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__ReachReport rr = MAILLAGE__REACH_REPORT__INIT;
	Maillage__ReportRow *pool = NULL, **ptrs = NULL;
	const PGresult *tot, *rows;
	size_t used = 0, n;
	char now[32];

	if (c == NULL)
		goto out;
	if (reply->status != DB_OK) {
		req_db_failed(c, r, reply);
		goto out;
	}
	tot = reply->results[0];
	rows = reply->results[1];
	if (PQntuples(tot) != 1) {
		req_refuse(c, r, MAILLAGE__ERROR_CODE__INTERNAL, NULL,
			   "internal error");
		goto out;
	}
	n = (size_t)PQntuples(rows);
	pool = calloc(n + 1, sizeof(*pool));
	ptrs = calloc(n + 1, sizeof(*ptrs));
	if (pool == NULL || ptrs == NULL) {
		req_oom(c, r->request_id);
		goto out;
	}
	rr.from = st->period.from;
	rr.to = st->period.to;
	rr.sessions = (uint32_t)req_int(tot, 0, 0);
	rr.participants = (uint32_t)req_int(tot, 0, 1);
	rr.institutions = (uint32_t)req_int(tot, 0, 2);
	rr.minutes = (uint32_t)req_int(tot, 0, 3);
	rr.scored_sessions = (uint32_t)req_int(tot, 0, 4);
	rr.pre_score_mean = strtod(PQgetvalue(tot, 0, 5), NULL);
	rr.post_score_mean = strtod(PQgetvalue(tot, 0, 6), NULL);
	/* Each section takes its slice of ptrs, in the order of the rows. */
	{
		Maillage__ReportRow **p = ptrs;

		rr.by_profile = p;
		rr.n_by_profile = rp_section(rows, "profile", pool, &used, p);
		p += rr.n_by_profile;
		rr.by_kind = p;
		rr.n_by_kind = rp_section(rows, "kind", pool, &used, p);
		p += rr.n_by_kind;
		rr.by_departement = p;
		rr.n_by_departement =
			rp_section(rows, "departement", pool, &used, p);
		p += rr.n_by_departement;
		rr.by_module = p;
		rr.n_by_module = rp_section(rows, "module", pool, &used, p);
		p += rr.n_by_module;
		rr.by_format = p;
		rr.n_by_format = rp_section(rows, "format", pool, &used, p);
		p += rr.n_by_format;
		rr.by_month = p;
		rr.n_by_month = rp_section(rows, "month", pool, &used, p);
	}
	rp_now(now);
	rr.generated_at = now;
	if (maillage__reach_report__get_packed_size(&rr) + RP_FRAME_SLACK >
	    c->srv->cfg.max_frame) {
		req_refuse(c, r, MAILLAGE__ERROR_CODE__BAD_REQUEST, "to",
			   "the report does not fit a frame: ask for a "
			   "shorter period");
		goto out;
	}
	env.body_case = MAILLAGE__ENVELOPE__BODY_REACH_REPORT;
	env.reach_report = &rr;
	req_reply(c, r, &env);
out:
	free(pool);
	free(ptrs);
	req_free(r);
}

void report_reach(struct conn *c, const Maillage__Envelope *env)
{
	const Maillage__ReportReach *m = env->report_reach;
	struct rp_period period;
	struct rp_reach *st;
	char msg[RP_MSG_MAX];
	const char *field, *params[2];
	struct db_job *job;
	struct req *r;

	r = rp_start(c, env, RP_ACT_REACH, sizeof(*st));
	if (r == NULL)
		return;
	field = rp_period_check(m, &period, msg, sizeof(msg));
	if (field != NULL) {
		rp_refuse(c, r, field, msg);
		return;
	}
	st = r->data;
	st->period = period;
	params[0] = st->period.from;
	params[1] = st->period.to;
	job = db_job_new();
	if (job != NULL && (db_job_add(job, rp_totals_sql, 2, params) != 0 ||
			    db_job_add(job, rp_rows_sql, 2, params) != 0 ||
			    req_audit_ok(job, c, r) != 0)) {
		db_job_free(job);
		job = NULL;
	}
	req_submit(c, r, job, rp_reach_done);
}

/* ---- impact ------------------------------------------------------------ */

static const char rp_impact_sql[] =
	"SELECT code, name, kind, departement, sessions, participants,"
	" first_session, last_session, notices_before, notices_after,"
	" identifications_before, identifications_after, after_days"
	" FROM report_impact_rows($1, $2, now()) LIMIT $3::integer";

static void rp_impact_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__ImpactReport ir = MAILLAGE__IMPACT_REPORT__INIT;
	Maillage__ImpactRow *items = NULL, **ptrs = NULL;
	const PGresult *res;
	size_t used = 0, size;
	char now[32];
	int i, n;

	if (c == NULL)
		goto out;
	if (reply->status != DB_OK) {
		req_db_failed(c, r, reply);
		goto out;
	}
	res = reply->results[0];
	n = PQntuples(res);
	items = calloc((size_t)n + 1, sizeof(*items));
	ptrs = calloc((size_t)n + 1, sizeof(*ptrs));
	if (items == NULL || ptrs == NULL) {
		req_oom(c, r->request_id);
		goto out;
	}
	for (i = 0; i < n; i++) {
		Maillage__ImpactRow *it = &items[i];

		maillage__impact_row__init(it);
		it->institution = req_str(res, i, 0);
		it->name = req_str(res, i, 1);
		it->kind = req_str(res, i, 2);
		it->departement = req_str(res, i, 3);
		it->sessions = (uint32_t)req_int(res, i, 4);
		it->participants = (uint32_t)req_int(res, i, 5);
		it->first_session = req_str(res, i, 6);
		it->last_session = req_str(res, i, 7);
		it->notices_before = (uint32_t)req_int(res, i, 8);
		it->notices_after = (uint32_t)req_int(res, i, 9);
		it->identifications_before = (uint32_t)req_int(res, i, 10);
		it->identifications_after = (uint32_t)req_int(res, i, 11);
		it->after_days = (uint32_t)req_int(res, i, 12);
		size = maillage__impact_row__get_packed_size(it);
		if (c->srv->cfg.max_frame <= RP_FRAME_SLACK ||
		    used + size + 6 > c->srv->cfg.max_frame - RP_FRAME_SLACK) {
			log_warnx("conn %" PRIu64 " request %" PRIu64
				  ": impact report cut at %d of %d to fit a "
				  "frame",
				  c->id, r->request_id, i, n);
			break;
		}
		used += size + 6;
		ptrs[ir.n_institutions++] = it;
	}
	ir.institutions = ptrs;
	ir.window_months = RP_WINDOW_MONTHS;
	rp_now(now);
	ir.generated_at = now;
	env.body_case = MAILLAGE__ENVELOPE__BODY_IMPACT_REPORT;
	env.impact_report = &ir;
	req_reply(c, r, &env);
out:
	free(items);
	free(ptrs);
	req_free(r);
}

void report_impact(struct conn *c, const Maillage__Envelope *env)
{
	const Maillage__ReportImpact *m = env->report_impact;
	const char *kind = rp_s(m->kind), *dep = rp_s(m->departement);
	const char *params[3];
	char limit[24];
	struct db_job *job;
	struct req *r;

	r = rp_start(c, env, RP_ACT_IMPACT, 0);
	if (r == NULL)
		return;
	if (kind[0] != '\0' && acl_kind_from_name(kind) < 0) {
		rp_refuse(c, r, "kind", "unknown institution kind");
		return;
	}
	if (dep[0] != '\0' && !training_valid_departement(dep)) {
		rp_refuse(c, r, "departement",
			  "a département is two or three digits, 2A or 2B");
		return;
	}
	params[0] = kind;
	params[1] = dep;
	params[2] = req_fmt_int(limit, c->srv->cfg.list_limit_max);
	job = db_job_new();
	if (job != NULL && (db_job_add(job, rp_impact_sql, 3, params) != 0 ||
			    req_audit_ok(job, c, r) != 0)) {
		db_job_free(job);
		job = NULL;
	}
	req_submit(c, r, job, rp_impact_done);
}
