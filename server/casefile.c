/*
 * casefile: the requests about joint follow-up cases; see casefile.h. Every
 * handler checks the caller's role with acl first (FORBIDDEN), then the
 * shape of each field with valid (BAD_REQUEST naming it). Listing is one
 * job: the summaries of the cases the caller may see (casefile_summaries()
 * in sql/004, given the visibility classes acl lets the caller read) and
 * the audit record. Every request about one case first reads the case's
 * facts (does it exist, is the caller's institution a party, its lead) and
 * decides with acl (a case the caller may not see is NOT_FOUND, exactly as
 * a case that does not exist); then one job reads or changes it: showing
 * re-checks visibility under a lock, reads the whole file and writes the
 * audit record, and the notices the caller may not read are dropped here in
 * C with their recipients, indicators, identities and timeline entries;
 * a change is one call of a casefile_*_tx() function (sql/004, which
 * re-checks under a lock what a concurrent request could have changed and
 * raises typed errors), the resulting summary and the audit record, one
 * transaction. Names and free texts are never logged nor put in a message.
 */
#include "casefile.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "conn.h"
#include "log.h"
#include "policy.h"
#include "req.h"
#include "server.h"
#include "valid.h"

#define CF_TEXT_MAX 2000    /* bytes of a close reason or a status note */
#define CF_LIST_DEFAULT 100 /* cases per list when the request says 0 */
#define CF_FRAME_SLACK 64   /* envelope bytes around a list or a view */
#define CF_ITEM_OVERHEAD 6  /* tag and length of a repeated message */
#define CF_MSG_MAX 160

#define EC_BAD_REQUEST MAILLAGE__ERROR_CODE__BAD_REQUEST
#define EC_FORBIDDEN MAILLAGE__ERROR_CODE__FORBIDDEN
#define EC_NOT_FOUND MAILLAGE__ERROR_CODE__NOT_FOUND
#define EC_UNAVAILABLE MAILLAGE__ERROR_CODE__UNAVAILABLE
#define EC_INTERNAL MAILLAGE__ERROR_CODE__INTERNAL

/* ---- allocation arena --------------------------------------------------- */

/* Every block a reply is built from, freed at once when it has been sent. */
struct cf_arena {
	void **blocks;
	size_t n, cap;
};

static void *cf_alloc(struct cf_arena *a, size_t nmemb, size_t size)
{
	void *p;

	if (a->n == a->cap) {
		size_t cap = a->cap != 0 ? a->cap * 2 : 16;
		void **blocks = realloc(a->blocks, cap * sizeof(*blocks));
		if (blocks == NULL)
			return NULL;
		a->blocks = blocks;
		a->cap = cap;
	}
	p = calloc(nmemb != 0 ? nmemb : 1, size);
	if (p != NULL)
		a->blocks[a->n++] = p;
	return p;
}

static void cf_arena_free(struct cf_arena *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->blocks[i]);
	free(a->blocks);
	memset(a, 0, sizeof(*a));
}

/*
 * Split a comma-separated list of codes (as string_agg or array_to_string
 * wrote it) into a copy; 0, or -1 if memory is exhausted.
 */
static int cf_split(struct cf_arena *a, const char *csv, char ***out, size_t *n)
{
	size_t count = 1, len = strlen(csv), i;
	char *copy, *p, **v;

	*out = NULL;
	*n = 0;
	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		count += csv[i] == ',';
	copy = cf_alloc(a, len + 1, 1);
	v = cf_alloc(a, count, sizeof(*v));
	if (copy == NULL || v == NULL)
		return -1;
	memcpy(copy, csv, len + 1);
	for (p = copy, i = 0; i < count; i++) {
		char *comma = strchr(p, ',');
		v[i] = p;
		if (comma == NULL)
			break;
		*comma = '\0';
		p = comma + 1;
	}
	*out = v;
	*n = count;
	return 0;
}

/* ---- request state and uniform answers ---------------------------------- */

/* What a request about one case carries from its handler to its callbacks. */
struct cf_state {
	enum acl_op op;
	struct acl_subject s;
	enum acl_status status;	    /* case.status */
	int remove;		    /* case.party */
	char institution[33];	    /* case.party, case.lead */
	const char *indicators;	    /* case.status: array literal */
	char text[CF_TEXT_MAX + 1]; /* close reason or status note, or "" */
	int64_t event_id; /* close, status: the timeline row, drawn ahead */
};

static const char *cf_s(const char *s)
{
	return s != NULL ? s : "";
}

/* Refuse (audited) and release the request. */
static void cf_refuse(struct conn *c, struct req *r, Maillage__ErrorCode code,
		      const char *field, const char *message)
{
	req_refuse(c, r, code, field, message);
	req_free(r);
}

static void cf_internal(struct conn *c, struct req *r, const char *what)
{
	log_warnx("conn %" PRIu64 " request %" PRIu64 " %s: %s", c->id,
		  r->request_id, r->action, what);
	cf_refuse(c, r, EC_INTERNAL, NULL, "internal error");
}

/* A denial by acl as the error it maps to; `field` for BAD_REQUEST. */
static void cf_deny(struct conn *c, struct req *r, enum acl_decision d,
		    const char *field)
{
	switch (d) {
	case ACL_DENY_FORBIDDEN:
		cf_refuse(c, r, EC_FORBIDDEN, field,
			  "this account may not do this");
		break;
	case ACL_DENY_INVALID:
		cf_refuse(c, r, EC_BAD_REQUEST, field,
			  "the rules do not allow this");
		break;
	default:
		cf_refuse(c, r, EC_NOT_FOUND, "case_id", "no such case");
		break;
	}
}

/*
 * A context for a request about `case_id` (0: none) with `extra` bytes of
 * state, once the caller's role may do `op`; NULL when refused.
 */
static struct req *cf_start(struct conn *c, const Maillage__Envelope *env,
			    enum acl_op op, int64_t case_id, size_t extra,
			    struct acl_subject *s)
{
	struct req *r = req_new(c, env->request_id, acl_op_name(op), extra);

	if (r == NULL) {
		req_oom(c, env->request_id);
		return NULL;
	}
	r->case_id = case_id > 0 ? case_id : 0;
	if (req_subject(c, s) != 0 || acl_role_may(s->role, op) != ACL_ALLOW) {
		cf_refuse(c, r, EC_FORBIDDEN, NULL,
			  "this account may not do this");
		return NULL;
	}
	return r;
}

/* The need-to-know matrices, or NULL after refusing with UNAVAILABLE. */
static const struct acl_policy *cf_policy(struct conn *c, struct req *r)
{
	const struct acl_policy *p = policy_current(c->srv);

	if (p == NULL)
		cf_refuse(c, r, EC_UNAVAILABLE, NULL,
			  "access rules not loaded yet, retry later");
	return p;
}

/* 0 if `case_id` can name a case; else refused. */
static int cf_check_case_id(struct conn *c, struct req *r, int64_t case_id)
{
	if (case_id > 0)
		return 0;
	cf_refuse(c, r, EC_BAD_REQUEST, "case_id", "a case id is required");
	return -1;
}

/*
 * Does acl let `s` see only the cases its institution is a party of (and
 * not every case)? That is what the SQL guards re-check.
 */
static int cf_require_party(const struct acl_subject *s)
{
	struct acl_subject outsider = *s;

	outsider.is_party = 0;
	outsider.is_lead = 0;
	return acl_case_visible(&outsider) != ACL_ALLOW;
}

/*
 * The array literals of the visibility classes `s` reads in a case it may
 * see, as a party (`plain`) and as the case's lead (`lead`).
 */
static int cf_classes(const struct acl_policy *p, const struct acl_subject *s,
		      char *plain, char *lead, size_t len)
{
	const char *pv[ACL_VIS_COUNT], *lv[ACL_VIS_COUNT];
	struct acl_subject t = *s;
	size_t np = 0, nl = 0;
	int v;

	for (v = 0; v < ACL_VIS_COUNT; v++) {
		t.is_party = 1;
		t.is_lead = 0;
		if (acl_notice_readable(p, &t, (enum acl_visibility)v, 0) ==
		    ACL_ALLOW)
			pv[np++] = acl_visibility_name((enum acl_visibility)v);
		t.is_lead = 1;
		if (acl_notice_readable(p, &t, (enum acl_visibility)v, 0) ==
		    ACL_ALLOW)
			lv[nl++] = acl_visibility_name((enum acl_visibility)v);
	}
	if (valid_array_literal(pv, np, plain, len) != 0 ||
	    valid_array_literal(lv, nl, lead, len) != 0)
		return -1;
	return 0;
}

/* Room for one more item of `item` bytes in a reply already `used` long. */
static int cf_fits(const struct conn *c, size_t used, size_t item)
{
	size_t max = c->srv->cfg.max_frame;

	return max > CF_FRAME_SLACK &&
	       used + item + CF_ITEM_OVERHEAD <= max - CF_FRAME_SLACK;
}

/* ---- summaries -------------------------------------------------------- */

/*
 * Parameters: $1 caller's institution, $2 sees every case, $3 classes read
 * as a party, $4 as the lead, $5 one case or 0, $6 status, $7 kind, $8
 * urgency, $9 updated since (NULL: any), $10 before case id, $11 limit.
 */
static const char cf_summaries_sql[] =
	"SELECT * FROM casefile_summaries($1::bigint, $2::boolean,"
	" $3::text[], $4::text[], $5::bigint, $6, $7, $8, $9::timestamptz,"
	" $10::bigint, $11::integer)";

/* The same for one case (the answer to a change). */
static const char cf_summary_one_sql[] =
	"SELECT * FROM casefile_summaries($1::bigint, $2::boolean,"
	" $3::text[], $4::text[], $5::bigint, '', '', '', NULL, 0, 1)";

/*
 * Open the sealed value of `column` in column `col` of `row` (the clear
 * value stored before encryption in `legacy`, -1: none), bound to row key
 * `key`, into the arena: *field. -1 when it does not open (*bad set) or
 * memory is short.
 */
static int cf_open(struct cf_arena *a, const struct vault *vault,
		   const PGresult *res, int row, int col, int legacy,
		   const char *column, const char *key, char **field, int *bad)
{
	char *plain;
	size_t n;

	if (req_open(vault, res, row, col, legacy, column, key, &plain) != 0) {
		*bad = 1;
		return -1;
	}
	n = strlen(plain) + 1;
	*field = cf_alloc(a, n, 1);
	if (*field != NULL)
		memcpy(*field, plain, n);
	vault_free_text(plain);
	return *field != NULL ? 0 : -1;
}

/* Fill `cs` from row `row` of a casefile_summaries() result. */
static int cf_summary_row(struct cf_arena *a, const struct vault *vault,
			  const PGresult *res, int row,
			  Maillage__CaseSummary *cs, int *bad)
{
	char *label = NULL;
	size_t n;

	maillage__case_summary__init(cs);
	cs->case_id = req_int(res, row, 0);
	cs->person_id = req_int(res, row, 1);
	cs->status = req_str(res, row, 2);
	cs->protection_status = req_str(res, row, 3);
	cs->lead = req_str(res, row, 4);
	cs->last_kind = req_str(res, row, 5);
	cs->last_urgency = req_str(res, row, 6);
	cs->opened_at = req_str(res, row, 7);
	cs->updated_at = req_str(res, row, 8);
	cs->closed_at = req_str(res, row, 9);
	cs->person_label = req_str(res, row, 12);
	if (cf_open(a, vault, res, row, 16, 10, "case_file.close_reason",
		    PQgetvalue(res, row, 0), &cs->close_reason, bad) != 0)
		return -1;
	if (req_person_label(vault, res, row, 12, &label) != 0) {
		*bad = 1;
		return -1;
	}
	if (label != NULL) {
		n = strlen(label) + 1;
		cs->person_label = cf_alloc(a, n, 1);
		if (cs->person_label != NULL)
			memcpy(cs->person_label, label, n);
		vault_free_text(label);
		if (cs->person_label == NULL)
			return -1;
	}
	return cf_split(a, req_str(res, row, 11), &cs->parties, &cs->n_parties);
}

/* ---- case list ---------------------------------------------------------- */

static void cf_list_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__CaseListResult lr = MAILLAGE__CASE_LIST_RESULT__INIT;
	Maillage__CaseSummary *items, **ptrs;
	struct cf_arena a = {0};
	const PGresult *res;
	size_t used = 0, size;
	int i, n, bad = 0;

	if (c == NULL)
		goto out;
	if (reply->status != DB_OK) {
		req_db_failed(c, r, reply);
		goto out;
	}
	res = reply->results[0];
	n = PQntuples(res);
	items = cf_alloc(&a, (size_t)n, sizeof(*items));
	ptrs = cf_alloc(&a, (size_t)n, sizeof(*ptrs));
	if (items == NULL || ptrs == NULL) {
		req_oom(c, r->request_id);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (cf_summary_row(&a, &c->srv->vault, res, i, &items[i],
				   &bad) != 0) {
			if (bad) {
				cf_internal(c, r,
					    "stored content does not open");
				r = NULL;
			} else {
				req_oom(c, r->request_id);
			}
			goto out;
		}
		size = maillage__case_summary__get_packed_size(&items[i]);
		if (!cf_fits(c, used, size)) {
			log_warnx("conn %" PRIu64 " request %" PRIu64
				  ": case list cut at %d of %d cases to fit a "
				  "frame",
				  c->id, r->request_id, i, n);
			break;
		}
		used += size + CF_ITEM_OVERHEAD;
		ptrs[lr.n_cases++] = &items[i];
	}
	lr.cases = ptrs;
	env.body_case = MAILLAGE__ENVELOPE__BODY_CASE_LIST_RESULT;
	env.case_list_result = &lr;
	req_reply(c, r, &env);
out:
	cf_arena_free(&a);
	req_free(r);
}

/* The list filters, checked; -1 after refusing. */
static int cf_list_check(struct conn *c, struct req *r,
			 const Maillage__CaseList *m, uint32_t *limit)
{
	const char *status = cf_s(m->status), *kind = cf_s(m->kind);
	const char *urgency = cf_s(m->urgency), *since = cf_s(m->updated_since);
	char msg[CF_MSG_MAX];

	if (status[0] != '\0' && strcmp(status, "open") != 0 &&
	    strcmp(status, "closed") != 0) {
		cf_refuse(c, r, EC_BAD_REQUEST, "status",
			  "status is open, closed or empty");
		return -1;
	}
	if (kind[0] != '\0' && acl_notice_kind_from_name(kind) < 0) {
		cf_refuse(c, r, EC_BAD_REQUEST, "kind", "unknown notice kind");
		return -1;
	}
	if (urgency[0] != '\0' && acl_urgency_from_name(urgency) < 0) {
		cf_refuse(c, r, EC_BAD_REQUEST, "urgency", "unknown urgency");
		return -1;
	}
	if (since[0] != '\0' && !valid_instant(since)) {
		cf_refuse(c, r, EC_BAD_REQUEST, "updated_since",
			  "updated_since is YYYY-MM-DD or an RFC 3339 instant");
		return -1;
	}
	*limit = m->limit != 0 ? m->limit : CF_LIST_DEFAULT;
	if (*limit > c->srv->cfg.list_limit_max) {
		snprintf(msg, sizeof(msg), "limit is at most %u",
			 c->srv->cfg.list_limit_max);
		cf_refuse(c, r, EC_BAD_REQUEST, "limit", msg);
		return -1;
	}
	if (m->before_id < 0) {
		cf_refuse(c, r, EC_BAD_REQUEST, "before_id",
			  "before_id is a case id, or 0");
		return -1;
	}
	return 0;
}

void casefile_list(struct conn *c, const Maillage__Envelope *env)
{
	const Maillage__CaseList *m = env->case_list;
	const struct acl_policy *p;
	char inst[24], before[24], limit_s[24], plain[64], lead[64];
	char since[32];
	const char *params[11];
	struct acl_subject s;
	struct db_job *job;
	struct req *r;
	uint32_t limit;

	r = cf_start(c, env, ACL_OP_CASE_LIST, 0, 0, &s);
	if (r == NULL || cf_list_check(c, r, m, &limit) != 0)
		return;
	p = cf_policy(c, r);
	if (p == NULL)
		return;
	if (cf_classes(p, &s, plain, lead, sizeof(plain)) != 0) {
		cf_internal(c, r, "visibility classes do not fit");
		return;
	}
	params[0] = req_fmt_int(inst, c->account.institution_id);
	params[1] = cf_require_party(&s) ? "f" : "t";
	params[2] = plain;
	params[3] = lead;
	params[4] = "0";
	params[5] = cf_s(m->status);
	params[6] = cf_s(m->kind);
	params[7] = cf_s(m->urgency);
	params[8] = NULL;
	if (cf_s(m->updated_since)[0] != '\0') {
		/* A calendar date is midnight UTC, whatever the session's zone
		 */
		if (valid_date(m->updated_since)) {
			snprintf(since, sizeof(since), "%sT00:00:00Z",
				 m->updated_since);
			params[8] = since;
		} else {
			params[8] = m->updated_since;
		}
	}
	params[9] = req_fmt_int(before, m->before_id);
	params[10] = req_fmt_int(limit_s, limit);
	job = db_job_new();
	if (job != NULL &&
	    (db_job_add(job, cf_summaries_sql, 11, params) != 0 ||
	     req_audit_ok(job, c, r) != 0)) {
		db_job_free(job);
		job = NULL;
	}
	req_submit(c, r, job, cf_list_done);
}

/* ---- facts of one case -------------------------------------------------- */

/* The id of the timeline entry a close or status change writes, drawn
 * ahead so that its sealed note names its row (vault.h). */
static const char cf_event_id_sql[] = "SELECT nextval('case_event_id_seq')";

static const char cf_facts_sql[] =
	"SELECT cf.person_id, EXISTS (SELECT 1 FROM case_party cp"
	" WHERE cp.case_id = cf.id AND cp.institution_id = $2::bigint),"
	" coalesce(cf.lead_institution_id = $2::bigint, false)"
	" FROM case_file cf WHERE cf.id = $1::bigint";

static db_done_fn cf_facts_done;

/* Read the facts of r->case_id, then go on in cf_facts_done(). */
static void cf_submit_facts(struct conn *c, struct req *r)
{
	char case_id[24], inst[24];
	const char *params[2];
	struct db_job *job = db_job_new();

	const struct cf_state *st = r->data;
	int draw = st->op == ACL_OP_CASE_CLOSE || st->op == ACL_OP_CASE_STATUS;

	params[0] = req_fmt_int(case_id, r->case_id);
	params[1] = req_fmt_int(inst, c->account.institution_id);
	if (job != NULL &&
	    (db_job_add(job, cf_facts_sql, 2, params) != 0 ||
	     (draw && db_job_add(job, cf_event_id_sql, 0, NULL) != 0))) {
		db_job_free(job);
		job = NULL;
	}
	req_submit(c, r, job, cf_facts_done);
}

/* ---- case show ---------------------------------------------------------- */

static const char cf_show_guard_sql[] =
	"SELECT casefile_guard($1::bigint, $2::bigint, $3::boolean)";

/*
 * The show job reads the case, then what the view is made of; a case
 * keeps its newest 1000 notices, 500 identities and 5000 timeline entries
 * (newest first: the view lists them oldest first), the frame the rest.
 */
static const char cf_show_case_sql[] =
	"SELECT cf.id, cf.person_id, cf.status, cf.protection_status,"
	" coalesce(li.code, ''),"
	" to_char(cf.opened_at AT TIME ZONE 'UTC',"
	" 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	" to_char(cf.updated_at AT TIME ZONE 'UTC',"
	" 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	" coalesce(to_char(cf.closed_at AT TIME ZONE 'UTC',"
	" 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''),"
	" coalesce(cf.close_reason, ''),"
	" EXISTS (SELECT 1 FROM case_party cp WHERE cp.case_id = cf.id"
	" AND cp.institution_id = $2::bigint),"
	" coalesce(cf.lead_institution_id = $2::bigint, false),"
	" cf.close_reason_enc"
	" FROM case_file cf"
	" LEFT JOIN institution li ON li.id = cf.lead_institution_id"
	" WHERE cf.id = $1::bigint";

static const char cf_show_parties_sql[] =
	"SELECT i.code, i.name, i.kind,"
	" to_char(cp.since AT TIME ZONE 'UTC', "
	"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	" coalesce(cf.lead_institution_id = i.id, false)"
	" FROM case_party cp JOIN institution i ON i.id = cp.institution_id"
	" JOIN case_file cf ON cf.id = cp.case_id"
	" WHERE cp.case_id = $1::bigint ORDER BY i.code";

static const char cf_show_notices_sql[] =
	"SELECT n.id, n.kind, n.urgency, n.visibility, n.basis,"
	" CASE n.informed WHEN true THEN 'yes' WHEN false THEN 'no'"
	" ELSE '' END, coalesce(n.informed_note, ''),"
	" n.sender_institution_id, si.code, sa.login,"
	" to_char(n.created_at AT TIME ZONE 'UTC',"
	" 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), n.body, n.informed_note_enc,"
	" n.body_enc"
	" FROM notice n JOIN institution si ON si.id = n.sender_institution_id"
	" JOIN account sa ON sa.id = n.sender_account_id"
	" WHERE n.case_id = $1::bigint ORDER BY n.id DESC LIMIT 1000";

/* Recipients and indicators of the notices the statement above reads. */
static const char cf_show_recipients_sql[] =
	"SELECT nr.notice_id, i.code, nr.state, coalesce(nr.reason, ''),"
	" coalesce(nr.note, ''),"
	" to_char(nr.updated_at AT TIME ZONE 'UTC',"
	" 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), nr.note_enc, nr.institution_id"
	" FROM notice_recipient nr"
	" JOIN institution i ON i.id = nr.institution_id"
	" WHERE nr.notice_id IN (SELECT n.id FROM notice n"
	" WHERE n.case_id = $1::bigint ORDER BY n.id DESC LIMIT 1000)"
	" ORDER BY nr.notice_id, i.code";

static const char cf_show_indicators_sql[] =
	"SELECT ni.notice_id, ni.code FROM notice_indicator ni"
	" WHERE ni.notice_id IN (SELECT n.id FROM notice n"
	" WHERE n.case_id = $1::bigint ORDER BY n.id DESC LIMIT 1000)"
	" ORDER BY ni.notice_id, ni.code";

/*
 * Every identity asserted of the case's person, with what decides whether
 * the caller may read it: who asserted it, and the notice it came with (its
 * class, its author, and what the caller's institution is to that notice's
 * case, which may be another case of the person).
 */
static const char cf_show_identities_sql[] = CASEFILE_IDENTITY_SELECT
	" WHERE ia.person_id = (SELECT c.person_id FROM case_file c"
	" WHERE c.id = $1::bigint)"
	" ORDER BY ia.id DESC LIMIT 500";

static const char cf_show_events_sql[] =
	"SELECT to_char(ce.at AT TIME ZONE 'UTC',"
	" 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	" ce.what, coalesce(bi.code, ''), coalesce(ba.login, ''),"
	" coalesce(ii.code, ''), coalesce(ce.status, ''),"
	" coalesce(ce.note, ''), array_to_string(ce.indicators, ','),"
	" coalesce(ce.notice_id, 0), ce.note_enc, ce.id,"
	" coalesce(ce.other_case_id, 0), coalesce(ce.link_id, 0),"
	" EXISTS (SELECT 1 FROM case_party op WHERE op.case_id ="
	" ce.other_case_id AND op.institution_id = $2::bigint)"
	" FROM case_event ce"
	" LEFT JOIN institution bi ON bi.id = ce.by_institution_id"
	" LEFT JOIN account ba ON ba.id = ce.by_account_id"
	" LEFT JOIN institution ii ON ii.id = ce.institution_id"
	" WHERE ce.case_id = $1::bigint ORDER BY ce.id DESC LIMIT 5000";

enum {
	CF_R_GUARD = 0,
	CF_R_CASE,
	CF_R_PARTIES,
	CF_R_NOTICES,
	CF_R_RECIPIENTS,
	CF_R_INDICATORS,
	CF_R_IDENTITIES,
	CF_R_EVENTS,
	CF_R_COUNT
};

static struct db_job *cf_show_job(const struct conn *c, const struct req *r)
{
	const struct cf_state *st = r->data;
	char case_id[24], inst[24];
	const char *params[3];
	struct db_job *job = db_job_new();

	params[0] = req_fmt_int(case_id, r->case_id);
	params[1] = req_fmt_int(inst, c->account.institution_id);
	params[2] = cf_require_party(&st->s) ? "t" : "f";
	if (job == NULL)
		return NULL;
	if (db_job_add(job, cf_show_guard_sql, 3, params) != 0 ||
	    db_job_add(job, cf_show_case_sql, 2, params) != 0 ||
	    db_job_add(job, cf_show_parties_sql, 1, params) != 0 ||
	    db_job_add(job, cf_show_notices_sql, 1, params) != 0 ||
	    db_job_add(job, cf_show_recipients_sql, 1, params) != 0 ||
	    db_job_add(job, cf_show_indicators_sql, 1, params) != 0 ||
	    db_job_add(job, cf_show_identities_sql, 2, params) != 0 ||
	    db_job_add(job, cf_show_events_sql, 2, params) != 0 ||
	    req_audit_ok(job, c, r) != 0) {
		db_job_free(job);
		return NULL;
	}
	return job;
}

/* The view being built from the results of the show job. */
struct cf_view {
	struct cf_arena a;
	const struct acl_policy *p;
	struct acl_subject s; /* with what the caller is to this case */
	int64_t inst;	      /* the caller's institution */
	const PGresult *notices;
	int *vidx; /* per notices row: index in view.notices, or -1 */
	const struct vault *vault;
	int bad; /* a stored value did not open */
	Maillage__CaseView view;
	Maillage__CaseSummary summary;
};

/* The row of notice `id` in the notices result (newest first), or -1. */
static int cf_notice_row(const struct cf_view *v, int64_t id)
{
	int lo = 0, hi = PQntuples(v->notices) - 1;

	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		int64_t at = req_int(v->notices, mid, 0);
		if (at == id)
			return mid;
		if (at > id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* The view's notice `id`, or NULL when the caller may not read it. */
static Maillage__NoticeView *cf_view_notice(const struct cf_view *v, int64_t id)
{
	int row = cf_notice_row(v, id);

	if (row < 0 || v->vidx[row] < 0)
		return NULL;
	return v->view.notices[v->vidx[row]];
}

/* May the caller read a notice of class `vis` written by `author`? */
static int cf_readable(const struct cf_view *v, const struct acl_subject *s,
		       const char *vis, int64_t author)
{
	int cls = acl_visibility_from_name(vis);

	return cls >= 0 &&
	       acl_notice_readable(v->p, s, (enum acl_visibility)cls,
				   author == v->inst) == ACL_ALLOW;
}

static int cf_view_notices(struct cf_view *v)
{
	const PGresult *res = v->notices;
	int n = PQntuples(res), i;
	Maillage__NoticeView *items;

	v->vidx = cf_alloc(&v->a, (size_t)n, sizeof(*v->vidx));
	items = cf_alloc(&v->a, (size_t)n, sizeof(*items));
	v->view.notices = cf_alloc(&v->a, (size_t)n, sizeof(*v->view.notices));
	if (v->vidx == NULL || items == NULL || v->view.notices == NULL)
		return -1;
	/* Oldest first: the rows come newest first. */
	for (i = n - 1; i >= 0; i--) {
		Maillage__NoticeView *nv = &items[v->view.n_notices];

		v->vidx[i] = -1;
		if (!cf_readable(v, &v->s, PQgetvalue(res, i, 3),
				 req_int(res, i, 7)))
			continue;
		maillage__notice_view__init(nv);
		nv->notice_id = req_int(res, i, 0);
		nv->kind = req_str(res, i, 1);
		nv->urgency = req_str(res, i, 2);
		nv->visibility = req_str(res, i, 3);
		nv->basis = req_str(res, i, 4);
		nv->informed = req_str(res, i, 5);
		nv->from_institution = req_str(res, i, 8);
		nv->from_login = req_str(res, i, 9);
		nv->sent_at = req_str(res, i, 10);
		if (cf_open(&v->a, v->vault, res, i, 12, 6,
			    "notice.informed_note", PQgetvalue(res, i, 0),
			    &nv->informed_note, &v->bad) != 0 ||
		    cf_open(&v->a, v->vault, res, i, 13, 11, "notice.body",
			    PQgetvalue(res, i, 0), &nv->text, &v->bad) != 0)
			return -1;
		v->vidx[i] = (int)v->view.n_notices;
		v->view.notices[v->view.n_notices++] = nv;
	}
	return 0;
}

/* Recipients (column 0 of `res` is the notice id) of the readable notices. */
static int cf_view_recipients(struct cf_view *v, const PGresult *res)
{
	int n = PQntuples(res), i;
	Maillage__Recipient *items;
	Maillage__NoticeView *nv;
	char key[64];

	items = cf_alloc(&v->a, (size_t)n, sizeof(*items));
	if (items == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		nv = cf_view_notice(v, req_int(res, i, 0));
		if (nv != NULL)
			nv->n_recipients++;
	}
	for (i = 0; i < (int)v->view.n_notices; i++) {
		nv = v->view.notices[i];
		if (nv->n_recipients == 0)
			continue;
		nv->recipients = cf_alloc(&v->a, nv->n_recipients,
					  sizeof(*nv->recipients));
		if (nv->recipients == NULL)
			return -1;
		nv->n_recipients = 0;
	}
	for (i = 0; i < n; i++) {
		Maillage__Recipient *rc = &items[i];

		nv = cf_view_notice(v, req_int(res, i, 0));
		if (nv == NULL)
			continue;
		maillage__recipient__init(rc);
		rc->institution = req_str(res, i, 1);
		rc->state = req_str(res, i, 2);
		rc->reason = req_str(res, i, 3);
		rc->updated_at = req_str(res, i, 5);
		snprintf(key, sizeof(key), "%s/%s", PQgetvalue(res, i, 0),
			 PQgetvalue(res, i, 7));
		if (cf_open(&v->a, v->vault, res, i, 6, 4,
			    "notice_recipient.note", key, &rc->note,
			    &v->bad) != 0)
			return -1;
		nv->recipients[nv->n_recipients++] = rc;
	}
	return 0;
}

static int cf_view_indicators(struct cf_view *v, const PGresult *res)
{
	int n = PQntuples(res), i;
	Maillage__NoticeView *nv;

	for (i = 0; i < n; i++) {
		nv = cf_view_notice(v, req_int(res, i, 0));
		if (nv != NULL)
			nv->n_indicators++;
	}
	for (i = 0; i < (int)v->view.n_notices; i++) {
		nv = v->view.notices[i];
		if (nv->n_indicators == 0)
			continue;
		nv->indicators = cf_alloc(&v->a, nv->n_indicators,
					  sizeof(*nv->indicators));
		if (nv->indicators == NULL)
			return -1;
		nv->n_indicators = 0;
	}
	for (i = 0; i < n; i++) {
		nv = cf_view_notice(v, req_int(res, i, 0));
		if (nv != NULL)
			nv->indicators[nv->n_indicators++] = req_str(res, i, 1);
	}
	return 0;
}

/*
 * May the caller read identity row `i`? Its own institution's assertions
 * always; others only with a notice the caller may read, judged in that
 * notice's case (columns 14-17: class, author, party, lead).
 */
int casefile_identity_readable(const struct acl_policy *p,
			       const struct acl_subject *subject, int64_t inst,
			       const PGresult *res, int i)
{
	struct acl_subject s = *subject;
	int vis;

	if (req_int(res, i, 13) == inst)
		return 1;
	if (req_int(res, i, 12) == 0)
		return 0;
	s.is_party = req_bool(res, i, 16);
	s.is_lead = req_bool(res, i, 17);
	if (acl_case_visible(&s) != ACL_ALLOW)
		return 0;
	vis = acl_visibility_from_name(PQgetvalue(res, i, 14));
	return vis >= 0 &&
	       acl_notice_readable(p, &s, (enum acl_visibility)vis,
				   req_int(res, i, 15) == inst) == ACL_ALLOW;
}

static int cf_identity_readable(const struct cf_view *v, const PGresult *res,
				int i)
{
	return casefile_identity_readable(v->p, &v->s, v->inst, res, i);
}

/* "given family" of a readable assertion, or NULL when it has no name. */
static char *cf_label(struct cf_arena *a, const char *given, const char *family,
		      int *oom)
{
	size_t lg, lf;
	char *label, *start, *end;

	while (*given == ' ')
		given++;
	while (*family == ' ')
		family++;
	lg = strlen(given);
	lf = strlen(family);
	while (lg > 0 && given[lg - 1] == ' ')
		lg--;
	while (lf > 0 && family[lf - 1] == ' ')
		lf--;
	if (lg + lf == 0)
		return NULL;
	label = cf_alloc(a, lg + lf + 2, 1);
	if (label == NULL) {
		*oom = 1;
		return NULL;
	}
	memcpy(label, given, lg);
	start = label + lg;
	if (lg > 0 && lf > 0)
		*start++ = ' ';
	memcpy(start, family, lf);
	end = start + lf;
	*end = '\0';
	return label;
}

/* The sealed details of identity row `i` (key: its id, column 0). */
static int cf_view_identity_texts(struct cf_view *v, const PGresult *res, int i,
				  Maillage__Identity *id)
{
	const char *key = PQgetvalue(res, i, 0);

	if (cf_open(&v->a, v->vault, res, i, 18, 1,
		    "identity_assertion.given_name", key, &id->given_name,
		    &v->bad) != 0 ||
	    cf_open(&v->a, v->vault, res, i, 19, 2,
		    "identity_assertion.family_name", key, &id->family_name,
		    &v->bad) != 0 ||
	    cf_open(&v->a, v->vault, res, i, 20, 3,
		    "identity_assertion.birth_date", key, &id->birth_date,
		    &v->bad) != 0 ||
	    cf_open(&v->a, v->vault, res, i, 21, 9,
		    "identity_assertion.place_seen", key, &id->place_seen,
		    &v->bad) != 0)
		return -1;
	return 0;
}

static int cf_view_identities(struct cf_view *v, const PGresult *res)
{
	int n = PQntuples(res), i, oom = 0;
	Maillage__IdentityAssertion *items;
	Maillage__Identity *ids;

	items = cf_alloc(&v->a, (size_t)n, sizeof(*items));
	ids = cf_alloc(&v->a, (size_t)n, sizeof(*ids));
	v->view.identities =
		cf_alloc(&v->a, (size_t)n, sizeof(*v->view.identities));
	if (items == NULL || ids == NULL || v->view.identities == NULL)
		return -1;
	for (i = n - 1; i >= 0; i--) {
		size_t k = v->view.n_identities;
		Maillage__IdentityAssertion *ia = &items[k];
		Maillage__Identity *id = &ids[k];
		char *label;

		if (!cf_identity_readable(v, res, i))
			continue;
		maillage__identity_assertion__init(ia);
		maillage__identity__init(id);
		ia->id = req_int(res, i, 0);
		if (cf_view_identity_texts(v, res, i, id) != 0)
			return -1;
		id->declared_age = (uint32_t)req_int(res, i, 4);
		id->age_declared_on = req_str(res, i, 5);
		id->sex = req_str(res, i, 6);
		id->nationality = req_str(res, i, 7);
		if (cf_split(&v->a, PQgetvalue(res, i, 8), &id->languages,
			     &id->n_languages) != 0)
			return -1;
		ia->identity = id;
		ia->asserted_by = req_str(res, i, 10);
		ia->asserted_at = req_str(res, i, 11);
		ia->notice_id = req_int(res, i, 12);
		v->view.identities[v->view.n_identities++] = ia;
		/* The newest readable names label the person. */
		label = cf_label(&v->a, id->given_name, id->family_name, &oom);
		if (oom)
			return -1;
		if (label != NULL)
			v->summary.person_label = label;
	}
	return 0;
}

/*
 * The other case a merge entry names (row i of the events result), or 0
 * when the caller could not see that case: it is named to its parties and
 * to those who see every case.
 */
static int64_t cf_other_case(const struct cf_view *v, const PGresult *res,
			     int i)
{
	struct acl_subject other = v->s;

	other.is_party = req_bool(res, i, 13);
	other.is_lead = 0;
	if (acl_case_visible(&other) != ACL_ALLOW)
		return 0;
	return req_int(res, i, 11);
}

static int cf_view_events(struct cf_view *v, const PGresult *res)
{
	int n = PQntuples(res), i;
	Maillage__CaseEvent *items;

	items = cf_alloc(&v->a, (size_t)n, sizeof(*items));
	v->view.events = cf_alloc(&v->a, (size_t)n, sizeof(*v->view.events));
	if (items == NULL || v->view.events == NULL)
		return -1;
	for (i = n - 1; i >= 0; i--) {
		Maillage__CaseEvent *ev = &items[v->view.n_events];
		int64_t notice_id = req_int(res, i, 8);
		const char *what = PQgetvalue(res, i, 1);

		int hidden =
			notice_id != 0 && cf_view_notice(v, notice_id) == NULL;

		if (hidden) {
			/*
			 * A notice the caller may not read: its entries go
			 * with it; the case's opening stays, without it or
			 * its author, and an escalation stays without the
			 * notice (a lapsed runaway alert concerns every
			 * party), naming the recipient that did not read.
			 */
			if (strcmp(what, "opened") != 0 &&
			    strcmp(what, "escalated") != 0)
				continue;
			notice_id = 0;
		}
		maillage__case_event__init(ev);
		ev->at = req_str(res, i, 0);
		ev->what = req_str(res, i, 1);
		ev->by_institution = hidden ? (char *)"" : req_str(res, i, 2);
		ev->by_login = hidden ? (char *)"" : req_str(res, i, 3);
		ev->institution = req_str(res, i, 4);
		ev->status = req_str(res, i, 5);
		if (cf_open(&v->a, v->vault, res, i, 9, 6, "case_event.note",
			    PQgetvalue(res, i, 10), &ev->note, &v->bad) != 0)
			return -1;
		if (cf_split(&v->a, PQgetvalue(res, i, 7), &ev->indicators,
			     &ev->n_indicators) != 0)
			return -1;
		ev->notice_id = notice_id;
		ev->other_case_id = cf_other_case(v, res, i);
		ev->link_id = req_int(res, i, 12);
		v->view.events[v->view.n_events++] = ev;
	}
	return 0;
}

static int cf_view_parties(struct cf_view *v, const PGresult *res)
{
	int n = PQntuples(res), i;
	Maillage__Party *items;
	Maillage__CaseSummary *cs = &v->summary;

	items = cf_alloc(&v->a, (size_t)n, sizeof(*items));
	v->view.parties = cf_alloc(&v->a, (size_t)n, sizeof(*v->view.parties));
	cs->parties = cf_alloc(&v->a, (size_t)n, sizeof(*cs->parties));
	if (items == NULL || v->view.parties == NULL || cs->parties == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		Maillage__Party *pa = &items[i];

		maillage__party__init(pa);
		pa->institution = req_str(res, i, 0);
		pa->name = req_str(res, i, 1);
		pa->kind = req_str(res, i, 2);
		pa->since = req_str(res, i, 3);
		pa->lead = req_bool(res, i, 4);
		v->view.parties[v->view.n_parties++] = pa;
		cs->parties[cs->n_parties++] = pa->institution;
	}
	return 0;
}

/* The summary of the case row; last kind and urgency once notices are in. */
static void cf_view_summary(struct cf_view *v, const PGresult *res)
{
	Maillage__CaseSummary *cs = &v->summary;

	cs->case_id = req_int(res, 0, 0);
	cs->person_id = req_int(res, 0, 1);
	cs->status = req_str(res, 0, 2);
	cs->protection_status = req_str(res, 0, 3);
	cs->lead = req_str(res, 0, 4);
	cs->opened_at = req_str(res, 0, 5);
	cs->updated_at = req_str(res, 0, 6);
	cs->closed_at = req_str(res, 0, 7);
	v->s.is_party = req_bool(res, 0, 9);
	v->s.is_lead = req_bool(res, 0, 10);
}

static size_t cf_msg_size(const void *msg)
{
	return protobuf_c_message_get_packed_size(
		(const ProtobufCMessage *)msg);
}

/*
 * Drop the oldest of `*n` items at `*items` until about `excess` bytes are
 * gone (at least one item if any); returns the number dropped.
 */
static size_t cf_drop_oldest(void *items, size_t *n, size_t excess)
{
	void ***list = items;
	size_t dropped = 0, gone = 0;

	while (dropped < *n && (gone < excess || dropped == 0)) {
		gone += cf_msg_size((*list)[dropped]) + CF_ITEM_OVERHEAD;
		dropped++;
	}
	*list += dropped;
	*n -= dropped;
	return dropped;
}

/*
 * Fit the view in a frame: the oldest notices go first, then the oldest
 * timeline entries, then the oldest identities. 0, or -1 if even the bare
 * case does not fit.
 */
static int cf_view_fit(const struct conn *c, const struct req *r,
		       struct cf_view *v)
{
	size_t max = c->srv->cfg.max_frame, size, notices, events, ids;
	Maillage__CaseView *view = &v->view;

	if (max <= CF_FRAME_SLACK)
		return -1;
	max -= CF_FRAME_SLACK;
	notices = view->n_notices;
	events = view->n_events;
	ids = view->n_identities;
	while ((size = maillage__case_view__get_packed_size(view)) > max) {
		if (view->n_notices > 0)
			cf_drop_oldest(&view->notices, &view->n_notices,
				       size - max);
		else if (view->n_events > 0)
			cf_drop_oldest(&view->events, &view->n_events,
				       size - max);
		else if (view->n_identities > 0)
			cf_drop_oldest(&view->identities, &view->n_identities,
				       size - max);
		else
			return -1;
	}
	if (notices != view->n_notices || events != view->n_events ||
	    ids != view->n_identities)
		log_warnx("conn %" PRIu64 " request %" PRIu64 ": case %" PRId64
			  " cut to fit a frame: notices %zu "
			  "of %zu, entries %zu of %zu, identities %zu of %zu",
			  c->id, r->request_id, r->case_id, view->n_notices,
			  notices, view->n_events, events, view->n_identities,
			  ids);
	return 0;
}

/* Build the view from the show job's results; -1 if memory is exhausted. */
static int cf_view_build(struct cf_view *v, const struct db_reply *reply)
{
	const PGresult *const *res = (const PGresult *const *)reply->results;
	Maillage__NoticeView *last;

	v->notices = res[CF_R_NOTICES];
	if (cf_open(&v->a, v->vault, res[CF_R_CASE], 0, 11, 8,
		    "case_file.close_reason", PQgetvalue(res[CF_R_CASE], 0, 0),
		    &v->summary.close_reason, &v->bad) != 0 ||
	    cf_view_parties(v, res[CF_R_PARTIES]) != 0 ||
	    cf_view_notices(v) != 0 ||
	    cf_view_recipients(v, res[CF_R_RECIPIENTS]) != 0 ||
	    cf_view_indicators(v, res[CF_R_INDICATORS]) != 0 ||
	    cf_view_identities(v, res[CF_R_IDENTITIES]) != 0 ||
	    cf_view_events(v, res[CF_R_EVENTS]) != 0)
		return -1;
	if (v->view.n_notices > 0) {
		last = v->view.notices[v->view.n_notices - 1];
		v->summary.last_kind = last->kind;
		v->summary.last_urgency = last->urgency;
	}
	return 0;
}

static void cf_show_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);
	const struct cf_state *st = r->data;
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	struct cf_view v;

	memset(&v, 0, sizeof(v));
	if (c == NULL)
		goto out;
	if (reply->status != DB_OK) {
		req_db_failed(c, r, reply);
		goto out;
	}
	if (reply->nresults != CF_R_COUNT + 1 ||
	    PQntuples(reply->results[CF_R_CASE]) != 1) {
		cf_internal(c, r, "case show: unexpected result");
		r = NULL;
		goto out;
	}
	v.p = policy_current(c->srv);
	if (v.p == NULL) {
		cf_refuse(c, r, EC_UNAVAILABLE, NULL,
			  "access rules not loaded yet, retry later");
		r = NULL;
		goto out;
	}
	v.s = st->s;
	v.inst = c->account.institution_id;
	maillage__case_view__init(&v.view);
	maillage__case_summary__init(&v.summary);
	cf_view_summary(&v, reply->results[CF_R_CASE]);
	if (acl_case_visible(&v.s) != ACL_ALLOW) {
		/* casefile_guard() held the party row: cannot happen. */
		cf_internal(c, r, "case show: visibility changed under lock");
		r = NULL;
		goto out;
	}
	v.vault = &c->srv->vault;
	if (cf_view_build(&v, reply) != 0) {
		if (v.bad) {
			cf_internal(c, r, "stored content does not open");
			r = NULL;
		} else {
			req_oom(c, r->request_id);
		}
		goto out;
	}
	v.view.summary = &v.summary;
	if (cf_view_fit(c, r, &v) != 0) {
		cf_internal(c, r, "case show: the case does not fit a frame");
		r = NULL;
		goto out;
	}
	env.body_case = MAILLAGE__ENVELOPE__BODY_CASE_VIEW;
	env.case_view = &v.view;
	req_reply(c, r, &env);
out:
	cf_arena_free(&v.a);
	req_free(r);
}

void casefile_show(struct conn *c, const Maillage__Envelope *env)
{
	const Maillage__CaseShow *m = env->case_show;
	struct cf_state *st;
	struct acl_subject s;
	struct req *r;

	r = cf_start(c, env, ACL_OP_CASE_SHOW, m->case_id, sizeof(*st), &s);
	if (r == NULL || cf_check_case_id(c, r, m->case_id) != 0 ||
	    cf_policy(c, r) == NULL)
		return;
	st = r->data;
	st->op = ACL_OP_CASE_SHOW;
	st->s = s;
	st->indicators = "{}";
	cf_submit_facts(c, r);
}

/* ---- changes ------------------------------------------------------------ */

static const char cf_party_sql[] =
	"SELECT casefile_party_tx($1::bigint, $2::bigint, $3::boolean, $4,"
	" $5::boolean)";
static const char cf_lead_sql[] =
	"SELECT casefile_lead_tx($1::bigint, $2::bigint, $3::boolean, $4)";
static const char cf_close_sql[] =
	"SELECT casefile_close_tx($1::bigint, $2::bigint, $3::boolean,"
	" $4::bytea, $5::bigint, $6::bytea)";
static const char cf_reopen_sql[] =
	"SELECT casefile_reopen_tx($1::bigint, $2::bigint, $3::boolean)";
static const char cf_status_sql[] =
	"SELECT casefile_status_tx($1::bigint, $2::bigint, $3::boolean, $4,"
	" $5::bytea, $6::text[], $7::bigint)";

/*
 * Close: the reason sealed for the case row and, again, for the timeline
 * entry (both rows keep it: the case until it is reopened).
 */
static int cf_close_add(struct db_job *job, const struct conn *c,
			const struct cf_state *st, const char **params)
{
	char event[24], *reason, *note;
	int oom_r, oom_n, rc = -1;

	reason = vault_seal(&c->srv->vault, "case_file.close_reason", params[0],
			    st->text, &oom_r);
	note = vault_seal(&c->srv->vault, "case_event.note",
			  req_fmt_int(event, st->event_id), st->text, &oom_n);
	if (!oom_r && !oom_n) {
		params[3] = reason;
		params[4] = event;
		params[5] = note;
		rc = db_job_add(job, cf_close_sql, 6, params);
	}
	free(reason);
	free(note);
	return rc;
}

static int cf_status_add(struct db_job *job, const struct conn *c,
			 const struct cf_state *st, const char **params)
{
	char event[24], *note;
	int oom, rc = -1;

	note = vault_seal(&c->srv->vault, "case_event.note",
			  req_fmt_int(event, st->event_id), st->text, &oom);
	if (!oom) {
		params[3] = acl_status_name(st->status);
		params[4] = note;
		params[5] = st->indicators;
		params[6] = event;
		rc = db_job_add(job, cf_status_sql, 7, params);
	}
	free(note);
	return rc;
}

/* Append the change's statement for the request's state to `job`. */
static int cf_change_add(struct db_job *job, const struct conn *c,
			 const struct req *r)
{
	const struct cf_state *st = r->data;
	char case_id[24], account[24];
	const char *params[7];

	params[0] = req_fmt_int(case_id, r->case_id);
	params[1] = req_fmt_int(account, c->account.id);
	params[2] = cf_require_party(&st->s) ? "t" : "f";
	switch (st->op) {
	case ACL_OP_CASE_PARTY:
		params[3] = st->institution;
		params[4] = st->remove ? "t" : "f";
		return db_job_add(job, cf_party_sql, 5, params);
	case ACL_OP_CASE_LEAD:
		params[3] = st->institution;
		return db_job_add(job, cf_lead_sql, 4, params);
	case ACL_OP_CASE_CLOSE:
		return cf_close_add(job, c, st, params);
	case ACL_OP_CASE_REOPEN:
		return db_job_add(job, cf_reopen_sql, 3, params);
	case ACL_OP_CASE_STATUS:
		return cf_status_add(job, c, st, params);
	default:
		return -1;
	}
}

/* The change, the case's summary as it then stands, the audit record. */
static struct db_job *cf_change_job(const struct conn *c, const struct req *r,
				    const struct acl_policy *p)
{
	const struct cf_state *st = r->data;
	char inst[24], case_id[24], plain[64], lead[64];
	const char *params[5];
	struct db_job *job;

	if (cf_classes(p, &st->s, plain, lead, sizeof(plain)) != 0)
		return NULL;
	params[0] = req_fmt_int(inst, c->account.institution_id);
	params[1] = cf_require_party(&st->s) ? "f" : "t";
	params[2] = plain;
	params[3] = lead;
	params[4] = req_fmt_int(case_id, r->case_id);
	job = db_job_new();
	if (job == NULL)
		return NULL;
	if (cf_change_add(job, c, r) != 0 ||
	    db_job_add(job, cf_summary_one_sql, 5, params) != 0 ||
	    req_audit_ok(job, c, r) != 0) {
		db_job_free(job);
		return NULL;
	}
	return job;
}

static void cf_change_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__CaseUpdated cu = MAILLAGE__CASE_UPDATED__INIT;
	Maillage__CaseSummary cs;
	struct cf_arena a = {0};
	int bad = 0;

	if (c == NULL)
		goto out;
	if (reply->status != DB_OK) {
		req_db_failed(c, r, reply);
		goto out;
	}
	if (reply->nresults < 2 || PQntuples(reply->results[1]) != 1) {
		cf_internal(c, r, "case change: no summary");
		r = NULL;
		goto out;
	}
	if (cf_summary_row(&a, &c->srv->vault, reply->results[1], 0, &cs,
			   &bad) != 0) {
		if (bad) {
			cf_internal(c, r, "stored content does not open");
			r = NULL;
		} else {
			req_oom(c, r->request_id);
		}
		goto out;
	}
	cu.summary = &cs;
	env.body_case = MAILLAGE__ENVELOPE__BODY_CASE_UPDATED;
	env.case_updated = &cu;
	req_reply(c, r, &env);
out:
	cf_arena_free(&a);
	req_free(r);
}

/* ---- facts decided ------------------------------------------------------ */

static void cf_facts_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);
	struct cf_state *st = r->data;
	const struct acl_policy *p;
	const PGresult *res;
	enum acl_decision d;
	int show = st->op == ACL_OP_CASE_SHOW;

	if (c == NULL) {
		req_free(r);
		return;
	}
	if (reply->status != DB_OK) {
		req_db_failed(c, r, reply);
		req_free(r);
		return;
	}
	res = reply->results[0];
	if (PQntuples(res) != 1) {
		cf_refuse(c, r, EC_NOT_FOUND, "case_id", "no such case");
		return;
	}
	st->s.is_party = req_bool(res, 0, 1);
	st->s.is_lead = req_bool(res, 0, 2);
	d = acl_case_visible(&st->s);
	if (d != ACL_ALLOW) {
		cf_deny(c, r, d == ACL_DENY_FORBIDDEN ? d : ACL_DENY_NOT_FOUND,
			NULL);
		return;
	}
	if (st->op == ACL_OP_CASE_STATUS) {
		d = acl_status_change(&st->s, st->status);
		if (d != ACL_ALLOW) {
			cf_deny(c, r, d, "status");
			return;
		}
	}
	r->person_id = req_int(res, 0, 0);
	if (reply->nresults > 1 && PQntuples(reply->results[1]) == 1)
		st->event_id = req_int(reply->results[1], 0, 0);
	p = cf_policy(c, r);
	if (p == NULL)
		return;
	req_submit(c, r, show ? cf_show_job(c, r) : cf_change_job(c, r, p),
		   show ? cf_show_done : cf_change_done);
}

/* ---- change handlers ------------------------------------------------------
 */

/*
 * Start a change of case `case_id` by `op`, with `tail` more bytes for the
 * indicator literal of a status change; NULL when refused.
 */
static struct req *cf_change_start(struct conn *c,
				   const Maillage__Envelope *env,
				   enum acl_op op, int64_t case_id, size_t tail)
{
	struct cf_state *st;
	struct acl_subject s;
	struct req *r;

	r = cf_start(c, env, op, case_id, sizeof(*st) + tail, &s);
	if (r == NULL || cf_check_case_id(c, r, case_id) != 0)
		return NULL;
	st = r->data;
	st->op = op;
	st->s = s;
	st->indicators = "{}";
	return r;
}

/* Check the institution code of a party or lead change; -1 if refused. */
static int cf_check_institution(struct conn *c, struct req *r, const char *code)
{
	struct cf_state *st = r->data;

	if (code[0] == '\0') {
		cf_refuse(c, r, EC_BAD_REQUEST, "institution",
			  "an institution code is required");
		return -1;
	}
	if (!valid_institution_code(code)) {
		cf_refuse(c, r, EC_BAD_REQUEST, "institution",
			  "not an institution code");
		return -1;
	}
	snprintf(st->institution, sizeof(st->institution), "%s", code);
	return 0;
}

/* The change is well-formed: read the facts once the rules are loaded. */
static void cf_change_go(struct conn *c, struct req *r)
{
	if (cf_policy(c, r) != NULL)
		cf_submit_facts(c, r);
}

void casefile_party(struct conn *c, const Maillage__Envelope *env)
{
	const Maillage__CasePartyChange *m = env->case_party;
	struct req *r;

	r = cf_change_start(c, env, ACL_OP_CASE_PARTY, m->case_id, 0);
	if (r == NULL || cf_check_institution(c, r, cf_s(m->institution)) != 0)
		return;
	((struct cf_state *)r->data)->remove = m->remove != 0;
	cf_change_go(c, r);
}

void casefile_lead(struct conn *c, const Maillage__Envelope *env)
{
	const Maillage__CaseLead *m = env->case_lead;
	struct req *r;

	r = cf_change_start(c, env, ACL_OP_CASE_LEAD, m->case_id, 0);
	if (r == NULL || cf_check_institution(c, r, cf_s(m->institution)) != 0)
		return;
	cf_change_go(c, r);
}

/* Only spaces, tabs and line breaks (or nothing)? */
static int cf_blank(const char *s)
{
	return s[strspn(s, " \t\r\n")] == '\0';
}

/*
 * Check a close reason (`required`) or a status note, and keep it in the
 * request's state; -1 if refused.
 */
static int cf_check_text(struct conn *c, struct req *r, const char *text,
			 const char *field, int required)
{
	struct cf_state *st = r->data;
	char msg[CF_MSG_MAX];

	if (required && cf_blank(text)) {
		snprintf(msg, sizeof(msg), "a %s is required", field);
		cf_refuse(c, r, EC_BAD_REQUEST, field, msg);
		return -1;
	}
	if (!valid_text(text, CF_TEXT_MAX, 1)) {
		snprintf(msg, sizeof(msg),
			 "the %s must be UTF-8 text of at most %d bytes", field,
			 CF_TEXT_MAX);
		cf_refuse(c, r, EC_BAD_REQUEST, field, msg);
		return -1;
	}
	snprintf(st->text, sizeof(st->text), "%s", text);
	return 0;
}

void casefile_close(struct conn *c, const Maillage__Envelope *env)
{
	const Maillage__CaseClose *m = env->case_close;
	struct req *r;

	r = cf_change_start(c, env, ACL_OP_CASE_CLOSE, m->case_id, 0);
	if (r == NULL || cf_check_text(c, r, cf_s(m->reason), "reason", 1) != 0)
		return;
	cf_change_go(c, r);
}

void casefile_reopen(struct conn *c, const Maillage__Envelope *env)
{
	const Maillage__CaseReopen *m = env->case_reopen;
	struct req *r;

	r = cf_change_start(c, env, ACL_OP_CASE_REOPEN, m->case_id, 0);
	if (r == NULL)
		return;
	cf_change_go(c, r);
}

/* Bytes of the array literal of the request's indicators (0: too many). */
static size_t cf_status_literal_len(const struct conn *c,
				    const Maillage__CaseStatus *m)
{
	size_t i, len = 3;

	if (m->n_indicators > c->srv->cfg.notice_indicators_max)
		return 0;
	for (i = 0; i < m->n_indicators; i++)
		len += strlen(cf_s(m->indicators[i])) + 3; /* "", separator */
	return len;
}

/* Check the indicator codes and write their literal after the state. */
static int cf_check_indicators(struct conn *c, struct req *r,
			       const Maillage__CaseStatus *m, size_t len)
{
	struct cf_state *st = r->data;
	char msg[CF_MSG_MAX], *lit = (char *)(st + 1);
	size_t i;

	if (len == 0) {
		snprintf(msg, sizeof(msg), "at most %u indicators",
			 c->srv->cfg.notice_indicators_max);
		cf_refuse(c, r, EC_BAD_REQUEST, "indicators", msg);
		return -1;
	}
	for (i = 0; i < m->n_indicators; i++) {
		if (!valid_indicator_code(m->indicators[i])) {
			cf_refuse(c, r, EC_BAD_REQUEST, "indicators",
				  "not an indicator code");
			return -1;
		}
	}
	if (valid_array_literal((const char *const *)m->indicators,
				m->n_indicators, lit, len) != 0) {
		cf_internal(c, r, "case status: indicator literal");
		return -1;
	}
	st->indicators = lit;
	return 0;
}

void casefile_status(struct conn *c, const Maillage__Envelope *env)
{
	const Maillage__CaseStatus *m = env->case_status;
	size_t len = cf_status_literal_len(c, m);
	struct cf_state *st;
	struct req *r;
	int status;

	r = cf_change_start(c, env, ACL_OP_CASE_STATUS, m->case_id, len);
	if (r == NULL)
		return;
	st = r->data;
	status = acl_status_from_name(cf_s(m->status));
	if (status < 0) {
		cf_refuse(c, r, EC_BAD_REQUEST, "status",
			  "status is spotted, presumed_victim, identified or "
			  "not_a_victim");
		return;
	}
	st->status = (enum acl_status)status;
	if (cf_check_text(c, r, cf_s(m->note), "note", 0) != 0 ||
	    cf_check_indicators(c, r, m, len) != 0)
		return;
	cf_change_go(c, r);
}
