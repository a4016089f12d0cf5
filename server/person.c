/*
 * person: the person requests; see person.h. A search validates the
 * identity as a notice's would be, encodes it (match_encode: keyed, no
 * name leaves this process), asks the database for the stored identities
 * sharing a blocking key (identity_candidates, sql/012) with whether the
 * caller may learn of each person, and how common its names are
 * (identity_name_counts, sql/020), and scores them (match_rank); persons
 * the caller may not learn of are left out of the answer.
 */
#include "person.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "audit.h"
#include "casefile.h"
#include "log.h"
#include "match.h"
#include "policy.h"
#include "req.h"
#include "server.h"
#include "valid.h"

#include <openssl/crypto.h>

#define EC_BAD_REQUEST MAILLAGE__ERROR_CODE__BAD_REQUEST
#define EC_FORBIDDEN MAILLAGE__ERROR_CODE__FORBIDDEN
#define EC_UNAVAILABLE MAILLAGE__ERROR_CODE__UNAVAILABLE
#define EC_INTERNAL MAILLAGE__ERROR_CODE__INTERNAL

#define PERSON_ACT_SEARCH "person.search"
#define PERSON_ACT_LINK "person.link"
#define PERSON_ACT_UNLINK "person.unlink"
#define PERSON_ACT_CANDIDATES "person.candidates"
#define PERSON_ACT_DISMISS "person.dismiss"
#define PERSON_ACT_SHOW "person.show"
#define PERSON_SHOW_MAX 500
#define PERSON_REASON_MAX 2000
#define EC_NOT_FOUND MAILLAGE__ERROR_CODE__NOT_FOUND
#define PERSON_NAME_MAX 200

static const char person_search_sql[] =
	"SELECT identity_id, person_id, rec, visible, open_case_id,"
	" any_open_case_id FROM identity_candidates($1::bigint[], 0, "
	"$2::bigint, $3::boolean,"
	" " MATCH_SCAN_MAX ")";

struct person_search_state {
	struct match_query q;
	unsigned limit;
};

static const char *person_s(const char *s)
{
	return s != NULL ? s : "";
}

/* The identity's fields: NULL, or the name of the first bad one. */
static const char *person_check_identity(const Maillage__Identity *id,
					 const char **msg)
{
	*msg = "a name of at most 200 bytes of UTF-8 on one line";
	if (!valid_text(person_s(id->given_name), PERSON_NAME_MAX, 0))
		return "given_name";
	if (!valid_text(person_s(id->family_name), PERSON_NAME_MAX, 0))
		return "family_name";
	*msg = "give given_name or family_name";
	if (person_s(id->given_name)[0] == '\0' &&
	    person_s(id->family_name)[0] == '\0')
		return "given_name";
	*msg = "birth_date is YYYY, YYYY-MM or YYYY-MM-DD";
	if (person_s(id->birth_date)[0] != '\0' &&
	    !valid_partial_date(id->birth_date))
		return "birth_date";
	*msg = "declared_age is 0 to 30, with age_declared_on YYYY-MM-DD";
	if (id->declared_age > 30 ||
	    (person_s(id->age_declared_on)[0] != '\0' &&
	     !valid_date(id->age_declared_on)))
		return "declared_age";
	*msg = "sex is F, M or empty";
	if (person_s(id->sex)[0] != '\0' && strcmp(id->sex, "F") != 0 &&
	    strcmp(id->sex, "M") != 0)
		return "sex";
	*msg = "nationality is an ISO 3166 alpha-2 code";
	if (person_s(id->nationality)[0] != '\0' &&
	    !valid_country(id->nationality))
		return "nationality";
	return NULL;
}

static void person_search_free(struct req *r)
{
	req_free(r);
}

static void person_search_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);
	struct person_search_state *st = r->data;
	struct match_candidate cand[MATCH_CANDIDATES_MAX];
	Maillage__Candidate items[MATCH_CANDIDATES_MAX];
	Maillage__Candidate *ptrs[MATCH_CANDIDATES_MAX];
	Maillage__PersonSearchResult res = MAILLAGE__PERSON_SEARCH_RESULT__INIT;
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	int n, i;

	if (c == NULL)
		goto out;
	if (reply->status != DB_OK) {
		req_db_failed(c, r, reply);
		goto out;
	}
	/* only the persons the caller may learn of compete for the places */
	n = reply->nresults < 2
		    ? -1
		    : match_rank(&c->srv->vault, &st->q, reply->results[1],
				 reply->results[0], 0,
				 c->srv->cfg.candidate_threshold / 10.0, 1,
				 cand, MATCH_CANDIDATES_MAX);
	if (n < 0) {
		log_warnx("conn %" PRIu64 " request %" PRIu64
			  ": a stored identity does not open",
			  c->id, r->request_id);
		req_refuse(c, r, EC_INTERNAL, NULL, "internal error");
		goto out;
	}
	for (i = 0; i < n && res.n_candidates < st->limit; i++) {
		Maillage__Candidate *it = &items[res.n_candidates];

		if (!cand[i].visible)
			continue;
		maillage__candidate__init(it);
		it->person_id = cand[i].person_id;
		it->score = cand[i].score;
		it->explanation = cand[i].explanation;
		it->open_case_id = cand[i].open_case_id;
		it->confident = cand[i].score * 10.0 >=
				(double)c->srv->cfg.confident_threshold;
		ptrs[res.n_candidates++] = it;
	}
	res.candidates = ptrs;
	env.body_case = MAILLAGE__ENVELOPE__BODY_PERSON_SEARCH_RESULT;
	env.person_search_result = &res;
	req_reply(c, r, &env);
out:
	person_search_free(r);
}

/* Refuse before any job: audited, released. */
static void person_refuse(struct conn *c, struct req *r,
			  Maillage__ErrorCode code, const char *field,
			  const char *msg)
{
	req_refuse(c, r, code, field, msg);
	req_free(r);
}

static struct db_job *person_search_job(const struct conn *c,
					const struct req *r,
					const struct acl_subject *s)
{
	const struct person_search_state *st = r->data;
	struct acl_subject outsider = *s;
	char inst[24], *keys, *ckeys;
	const char *params[3];
	struct db_job *job;

	outsider.is_party = 0;
	keys = match_keys_literal(st->q.qkeys, st->q.nqkeys);
	ckeys = match_count_keys_literal(&st->q);
	params[0] = keys;
	params[1] = req_fmt_int(inst, c->account.institution_id);
	params[2] = acl_case_visible(&outsider) == ACL_ALLOW ? "t" : "f";
	job = db_job_new();
	if (keys == NULL || ckeys == NULL || job == NULL ||
	    db_job_add(job, person_search_sql, 3, params) != 0 ||
	    db_job_binary(job) != 0 ||
	    db_job_add(job, MATCH_COUNTS_SQL, 1, (const char *const *)&ckeys) !=
		    0 ||
	    db_job_binary(job) != 0 || req_audit_ok(job, c, r) != 0) {
		db_job_free(job);
		job = NULL;
	}
	free(keys);
	free(ckeys);
	return job;
}

void person_search(struct conn *c, const Maillage__Envelope *env)
{
	const Maillage__PersonSearch *m = env->person_search;
	struct person_search_state *st;
	const char *field, *msg;
	struct acl_subject s;
	struct req *r;

	r = req_new(c, env->request_id, PERSON_ACT_SEARCH, sizeof(*st));
	if (r == NULL) {
		req_oom(c, env->request_id);
		return;
	}
	st = r->data;
	if (req_subject(c, &s) != 0 ||
	    acl_role_may(s.role, ACL_OP_PERSON_SEARCH) != ACL_ALLOW) {
		person_refuse(c, r, EC_FORBIDDEN, NULL,
			      "this account may not do this");
		return;
	}
	if (m->identity == NULL) {
		person_refuse(c, r, EC_BAD_REQUEST, "identity",
			      "an identity is required");
		return;
	}
	field = person_check_identity(m->identity, &msg);
	if (field != NULL) {
		person_refuse(c, r, EC_BAD_REQUEST, field, msg);
		return;
	}
	if (m->limit > c->srv->cfg.max_candidates) {
		person_refuse(c, r, EC_BAD_REQUEST, "limit",
			      "limit is above the network's maximum");
		return;
	}
	if (!match_enabled()) {
		person_refuse(c, r, EC_UNAVAILABLE, NULL,
			      "identity matching is not configured on this "
			      "server");
		return;
	}
	if (match_encode(m->identity, &st->q) != 0) {
		person_refuse(c, r, EC_BAD_REQUEST, "given_name",
			      "nothing in these names to match on");
		return;
	}
	st->limit = m->limit != 0 ? m->limit : c->srv->cfg.max_candidates;
	req_submit(c, r, person_search_job(c, r, &s), person_search_done);
}

/* ---- coordinators' decisions ------------------------------------------- */

/* Start a decision request: the req, or NULL after refusing. */
static struct req *person_decision_start(struct conn *c, uint64_t request_id,
					 const char *action, size_t extra)
{
	struct acl_subject s;
	struct req *r = req_new(c, request_id, action, extra);

	if (r == NULL) {
		req_oom(c, request_id);
		return NULL;
	}
	if (req_subject(c, &s) != 0 ||
	    acl_role_may(s.role, ACL_OP_PERSON_LINK) != ACL_ALLOW) {
		person_refuse(c, r, EC_FORBIDDEN, NULL,
			      "this account may not do this");
		return NULL;
	}
	return r;
}

/* A reason is required: 0, or -1 after refusing. */
static int person_check_reason(struct conn *c, struct req *r,
			       const char *reason)
{
	const char *p = person_s(reason);

	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p == '\0') {
		person_refuse(c, r, EC_BAD_REQUEST, "reason",
			      "a reason is required");
		return -1;
	}
	if (!valid_text(reason, PERSON_REASON_MAX, 1)) {
		person_refuse(c, r, EC_BAD_REQUEST, "reason",
			      "the reason is at most 2000 bytes of UTF-8 text");
		return -1;
	}
	return 0;
}

static int person_check_ids(struct conn *c, struct req *r, int64_t a, int64_t b)
{
	if (a <= 0) {
		person_refuse(c, r, EC_BAD_REQUEST, "person_id",
			      "person_id is a positive id");
		return -1;
	}
	if (b <= 0) {
		person_refuse(c, r, EC_BAD_REQUEST, "other_person_id",
			      "other_person_id is a positive id");
		return -1;
	}
	return 0;
}

/*
 * Submit one statement with its audit record, and, for a decision about
 * two persons (`other` > 0: link, unlink, dismiss), a second record naming
 * the other one, so that an auditor looking up either child finds the
 * decision (same action, account and request id).
 */
static void person_submit(struct conn *c, struct req *r, const char *sql, int n,
			  const char *const *params, int64_t other,
			  db_done_fn *done)
{
	struct db_job *job = db_job_new();
	struct audit_rec rec = {0};

	rec.action = r->action;
	rec.outcome = "ok";
	rec.request_id = r->request_id;
	rec.person_id = other;
	if (job != NULL && (db_job_add(job, sql, n, params) != 0 ||
			    req_audit_ok(job, c, r) != 0 ||
			    (other > 0 && audit_job_add(job, c, &rec) != 0))) {
		db_job_free(job);
		job = NULL;
	}
	req_submit(c, r, job, done);
}

/* The first result, which must have one row; else refused INTERNAL. */
static const PGresult *person_one_row(struct conn *c, struct req *r,
				      const struct db_reply *reply)
{
	if (reply->status != DB_OK) {
		req_db_failed(c, r, reply);
		return NULL;
	}
	if (reply->nresults < 1 || PQntuples(reply->results[0]) != 1) {
		log_warnx("conn %" PRIu64 " request %" PRIu64
			  " %s: unexpected result",
			  c->id, r->request_id, r->action);
		req_refuse(c, r, EC_INTERNAL, NULL, "internal error");
		return NULL;
	}
	return reply->results[0];
}

struct person_link_state {
	int64_t other;
	int64_t link; /* drawn ahead: the reason is sealed for it */
	char reason[PERSON_REASON_MAX + 1];
};

static const char person_link_id_sql[] = "SELECT nextval('person_link_id_seq')";
static const char person_link_sql[] =
	"SELECT coalesce(open_case_id, 0), moved FROM person_link_tx("
	"$1::bigint, $2::bigint, $3::bigint, $4::bigint, $5::bytea)";

static void person_link_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);
	struct person_link_state *st = r->data;
	Maillage__PersonLinked pl = MAILLAGE__PERSON_LINKED__INIT;
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	const PGresult *res;

	if (c != NULL && (res = person_one_row(c, r, reply)) != NULL) {
		pl.link_id = st->link;
		pl.person_id = r->person_id;
		pl.other_person_id = st->other;
		pl.open_case_id = req_int(res, 0, 0);
		pl.moved = (uint32_t)req_int(res, 0, 1);
		env.body_case = MAILLAGE__ENVELOPE__BODY_PERSON_LINKED;
		env.person_linked = &pl;
		req_reply(c, r, &env);
	}
	OPENSSL_cleanse(st->reason, sizeof(st->reason));
	req_free(r);
}

/* The link's id is drawn: seal the reason for it, then link. */
static void person_link_id_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);
	struct person_link_state *st = r->data;
	char keep[24], other[24], account[24], *reason;
	const char *params[5];
	const PGresult *res;
	int oom;

	if (c == NULL || (res = person_one_row(c, r, reply)) == NULL) {
		OPENSSL_cleanse(st->reason, sizeof(st->reason));
		req_free(r);
		return;
	}
	params[0] = PQgetvalue(res, 0, 0);
	reason = vault_seal(&c->srv->vault, "person_link.reason", params[0],
			    st->reason, &oom);
	OPENSSL_cleanse(st->reason, sizeof(st->reason));
	if (reason == NULL) {
		req_oom(c, r->request_id);
		req_free(r);
		return;
	}
	st->link = req_int(res, 0, 0);
	params[1] = req_fmt_int(keep, r->person_id);
	params[2] = req_fmt_int(other, st->other);
	params[3] = req_fmt_int(account, c->account.id);
	params[4] = reason;
	person_submit(c, r, person_link_sql, 5, params, st->other,
		      person_link_done);
	free(reason);
}

void person_link(struct conn *c, const Maillage__Envelope *env)
{
	const Maillage__PersonLink *m = env->person_link;
	struct person_link_state *st;
	struct db_job *job;
	struct req *r;

	r = person_decision_start(c, env->request_id, PERSON_ACT_LINK,
				  sizeof(*st));
	if (r == NULL ||
	    person_check_ids(c, r, m->person_id, m->other_person_id) != 0 ||
	    person_check_reason(c, r, m->reason) != 0)
		return;
	st = r->data;
	st->other = m->other_person_id;
	snprintf(st->reason, sizeof(st->reason), "%s", m->reason);
	r->person_id = m->person_id;
	job = db_job_new();
	if (job != NULL && db_job_add(job, person_link_id_sql, 0, NULL) != 0) {
		db_job_free(job);
		job = NULL;
	}
	req_submit(c, r, job, person_link_id_done);
}

static const char person_unlink_sql[] =
	"SELECT kept_person, merged_person FROM person_unlink_tx($1::bigint,"
	" $2::bigint, $3::bytea)";

static void person_unlink_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);
	Maillage__PersonUnlinked pu = MAILLAGE__PERSON_UNLINKED__INIT;
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	const PGresult *res;
	const int64_t *link = r->data; /* the state's first member */

	if (c != NULL && (res = person_one_row(c, r, reply)) != NULL) {
		pu.link_id = *link;
		pu.person_id = req_int(res, 0, 0);
		pu.other_person_id = req_int(res, 0, 1);
		env.body_case = MAILLAGE__ENVELOPE__BODY_PERSON_UNLINKED;
		env.person_unlinked = &pu;
		req_reply(c, r, &env);
	}
	req_free(r);
}

struct person_unlink_state {
	int64_t link;
	char reason[PERSON_REASON_MAX + 1];
};

static const char person_unlink_facts_sql[] =
	"SELECT kept_person, merged_person FROM person_link WHERE id = "
	"$1::bigint";

/* The link's persons are known: the audit names both; unlink. */
static void person_unlink_facts_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);
	struct person_unlink_state *st = r->data;
	char link[24], account[24], *reason = NULL;
	const char *params[3];
	int oom;

	if (c == NULL)
		goto out;
	if (reply->status != DB_OK) {
		req_db_failed(c, r, reply);
		goto out;
	}
	if (PQntuples(reply->results[0]) != 1) {
		OPENSSL_cleanse(st->reason, sizeof(st->reason));
		person_refuse(c, r, EC_NOT_FOUND, "link_id", "no such link");
		return;
	}
	r->person_id = req_int(reply->results[0], 0, 0);
	params[0] = req_fmt_int(link, st->link);
	params[1] = req_fmt_int(account, c->account.id);
	reason = vault_seal(&c->srv->vault, "person_link.unlink_reason",
			    params[0], st->reason, &oom);
	OPENSSL_cleanse(st->reason, sizeof(st->reason));
	if (reason == NULL) {
		req_oom(c, r->request_id);
		goto out;
	}
	params[2] = reason;
	person_submit(c, r, person_unlink_sql, 3, params,
		      req_int(reply->results[0], 0, 1), person_unlink_done);
	free(reason);
	return;
out:
	OPENSSL_cleanse(st->reason, sizeof(st->reason));
	req_free(r);
}

void person_unlink(struct conn *c, const Maillage__Envelope *env)
{
	const Maillage__PersonUnlink *m = env->person_unlink;
	struct person_unlink_state *st;
	char link[24];
	const char *params[1];
	struct db_job *job;
	struct req *r;

	r = person_decision_start(c, env->request_id, PERSON_ACT_UNLINK,
				  sizeof(*st));
	if (r == NULL)
		return;
	if (m->link_id <= 0) {
		person_refuse(c, r, EC_BAD_REQUEST, "link_id",
			      "link_id is a positive id");
		return;
	}
	if (person_check_reason(c, r, m->reason) != 0)
		return;
	st = r->data;
	st->link = m->link_id;
	snprintf(st->reason, sizeof(st->reason), "%s", m->reason);
	params[0] = req_fmt_int(link, m->link_id);
	job = db_job_new();
	if (job != NULL &&
	    db_job_add(job, person_unlink_facts_sql, 1, params) != 0) {
		db_job_free(job);
		job = NULL;
	}
	req_submit(c, r, job, person_unlink_facts_done);
}

static const char person_dismiss_sql[] =
	"SELECT person_dismiss_tx($1::bigint, $2::bigint, $3::bigint,"
	" $4::bytea)";

static void person_dismiss_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);
	Maillage__PersonDismissed pd = MAILLAGE__PERSON_DISMISSED__INIT;
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	int64_t *other = r->data;

	if (c != NULL && person_one_row(c, r, reply) != NULL) {
		pd.person_id = r->person_id;
		pd.other_person_id = *other;
		env.body_case = MAILLAGE__ENVELOPE__BODY_PERSON_DISMISSED;
		env.person_dismissed = &pd;
		req_reply(c, r, &env);
	}
	req_free(r);
}

void person_dismiss(struct conn *c, const Maillage__Envelope *env)
{
	const Maillage__PersonDismiss *m = env->person_dismiss;
	char a[24], b[24], account[24], pair[64], *reason;
	const char *params[4];
	struct req *r;
	int oom;

	r = person_decision_start(c, env->request_id, PERSON_ACT_DISMISS,
				  sizeof(int64_t));
	if (r == NULL ||
	    person_check_ids(c, r, m->person_id, m->other_person_id) != 0 ||
	    person_check_reason(c, r, m->reason) != 0)
		return;
	r->person_id = m->person_id;
	*(int64_t *)r->data = m->other_person_id;
	/* the pair's row, whichever order it was stored in */
	snprintf(pair, sizeof(pair), "%" PRId64 "/%" PRId64,
		 m->person_id < m->other_person_id ? m->person_id
						   : m->other_person_id,
		 m->person_id < m->other_person_id ? m->other_person_id
						   : m->person_id);
	reason = vault_seal(&c->srv->vault, "person_candidate.reason", pair,
			    m->reason, &oom);
	if (reason == NULL) {
		req_oom(c, r->request_id);
		req_free(r);
		return;
	}
	params[0] = req_fmt_int(a, m->person_id);
	params[1] = req_fmt_int(b, m->other_person_id);
	params[2] = req_fmt_int(account, c->account.id);
	params[3] = reason;
	person_submit(c, r, person_dismiss_sql, 4, params, m->other_person_id,
		      person_dismiss_done);
	free(reason);
}

static const char person_candidates_sql[] =
	"SELECT pc.person_id, pc.other_person_id, pc.score,"
	" coalesce(pc.notice_id, 0),"
	" to_char(pc.found_at AT TIME ZONE 'UTC',"
	" 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	" coalesce((SELECT cf.id FROM case_file cf WHERE cf.person_id ="
	" pc.person_id AND cf.status = 'open'), 0),"
	" coalesce((SELECT cf.id FROM case_file cf WHERE cf.person_id ="
	" pc.other_person_id AND cf.status = 'open'), 0)"
	" FROM person_candidate pc WHERE pc.state = 'open'"
	" ORDER BY pc.score DESC, pc.found_at DESC LIMIT $1::integer";

static void person_candidates_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);
	Maillage__PersonCandidateList pl =
		MAILLAGE__PERSON_CANDIDATE_LIST__INIT;
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__CandidatePair *items = NULL, **ptrs = NULL;
	const PGresult *res;
	size_t used = 0;
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
		size_t size;

		maillage__candidate_pair__init(&items[i]);
		items[i].person_id = req_int(res, i, 0);
		items[i].other_person_id = req_int(res, i, 1);
		items[i].score = strtod(PQgetvalue(res, i, 2), NULL);
		items[i].notice_id = req_int(res, i, 3);
		items[i].found_at = req_str(res, i, 4);
		items[i].person_case_id = req_int(res, i, 5);
		items[i].other_case_id = req_int(res, i, 6);
		size = maillage__candidate_pair__get_packed_size(&items[i]);
		if (!req_fits(c, used, size)) {
			log_warnx("conn %" PRIu64 " request %" PRIu64
				  ": candidate pairs cut at %d of %d to fit a "
				  "frame",
				  c->id, r->request_id, i, n);
			break;
		}
		used += size;
		ptrs[pl.n_pairs++] = &items[i];
	}
	pl.pairs = ptrs;
	env.body_case = MAILLAGE__ENVELOPE__BODY_PERSON_CANDIDATE_LIST;
	env.person_candidate_list = &pl;
	req_reply(c, r, &env);
out:
	free(items);
	free(ptrs);
	req_free(r);
}

void person_candidates(struct conn *c, const Maillage__Envelope *env)
{
	const Maillage__PersonCandidates *m = env->person_candidates;
	char limit[24];
	const char *params[1];
	struct req *r;

	r = person_decision_start(c, env->request_id, PERSON_ACT_CANDIDATES, 0);
	if (r == NULL)
		return;
	if (m->limit > c->srv->cfg.list_limit_max) {
		person_refuse(c, r, EC_BAD_REQUEST, "limit",
			      "limit is above the server's maximum");
		return;
	}
	params[0] = req_fmt_int(limit, m->limit != 0 ? m->limit : 50);
	person_submit(c, r, person_candidates_sql, 1, params, 0,
		      person_candidates_done);
}

/* ---- person show -----------------------------------------------------------
 */

static const char person_facts_sql[] =
	"SELECT coalesce(p.merged_into, 0), EXISTS (SELECT 1 FROM case_file cf"
	" JOIN case_party cp ON cp.case_id = cf.id WHERE cf.person_id = p.id"
	" AND cp.institution_id = $2::bigint)"
	" FROM person p WHERE p.id = $1::bigint";

static const char person_identities_sql[] = CASEFILE_IDENTITY_SELECT
	" WHERE ia.person_id = $1::bigint ORDER BY ia.id LIMIT 500";

static const char person_cases_sql[] =
	"SELECT cf.id, cf.status, cf.protection_status,"
	" to_char(cf.opened_at AT TIME ZONE 'UTC',"
	" 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	" coalesce(to_char(cf.closed_at AT TIME ZONE 'UTC',"
	" 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''),"
	" EXISTS (SELECT 1 FROM case_party cp WHERE cp.case_id = cf.id"
	" AND cp.institution_id = $2::bigint),"
	" coalesce(cf.lead_institution_id = $2::bigint, false)"
	" FROM case_file cf WHERE cf.person_id = $1::bigint ORDER BY cf.id"
	" LIMIT 500";

/* The person's links, for coordinators (who link and unlink). */
static const char person_links_sql[] =
	"SELECT l.id, l.kept_person, l.merged_person,"
	" to_char(l.linked_at AT TIME ZONE 'UTC',"
	" 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), coalesce(a.login, ''),"
	" l.auto_notice_id IS NOT NULL OR l.linked_by IS NULL,"
	" coalesce(l.auto_score, 0), coalesce(l.auto_notice_id, 0),"
	" coalesce(to_char(l.unlinked_at AT TIME ZONE 'UTC',"
	" 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '')"
	" FROM person_link l LEFT JOIN account a ON a.id = l.linked_by"
	" WHERE l.kept_person = $1::bigint OR l.merged_person = $1::bigint"
	" ORDER BY l.id DESC LIMIT 100";

struct person_show_state {
	struct acl_subject s;
	int64_t merged_into;
	int with_links; /* the caller links and unlinks */
};

/* Everything the reply points to, freed at once. */
struct person_show_view {
	char *texts[PERSON_SHOW_MAX * 4];
	size_t ntexts;
	Maillage__IdentityAssertion ia[PERSON_SHOW_MAX];
	Maillage__Identity id[PERSON_SHOW_MAX];
	Maillage__IdentityAssertion *iap[PERSON_SHOW_MAX];
	Maillage__PersonCase pc[PERSON_SHOW_MAX];
	Maillage__PersonCase *pcp[PERSON_SHOW_MAX];
	Maillage__PersonLinkInfo pl[PERSON_SHOW_MAX];
	Maillage__PersonLinkInfo *plp[PERSON_SHOW_MAX];
};

static void person_show_view_free(struct person_show_view *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->ntexts; i++)
		vault_free_text(v->texts[i]);
	free(v);
}

/* Open one sealed field into the view: *out. 0 or -1. */
static int person_open(struct person_show_view *v, const struct vault *vault,
		       const PGresult *res, int i, int col, int legacy,
		       const char *column, char **out)
{
	char *plain;

	if (req_open(vault, res, i, col, legacy, column, PQgetvalue(res, i, 0),
		     &plain) != 0)
		return -1;
	v->texts[v->ntexts++] = plain;
	*out = plain;
	return 0;
}

static int
person_show_identities(const struct conn *c, const struct acl_policy *p,
		       const struct acl_subject *s, const PGresult *res,
		       struct person_show_view *v, Maillage__PersonView *pv)
{
	int n = PQntuples(res), i;

	for (i = 0; i < n && i < PERSON_SHOW_MAX; i++) {
		Maillage__IdentityAssertion *ia = &v->ia[pv->n_identities];
		Maillage__Identity *id = &v->id[pv->n_identities];

		if (!casefile_identity_readable(p, s, c->account.institution_id,
						res, i))
			continue;
		maillage__identity_assertion__init(ia);
		maillage__identity__init(id);
		if (person_open(v, &c->srv->vault, res, i, 18, 1,
				"identity_assertion.given_name",
				&id->given_name) != 0 ||
		    person_open(v, &c->srv->vault, res, i, 19, 2,
				"identity_assertion.family_name",
				&id->family_name) != 0 ||
		    person_open(v, &c->srv->vault, res, i, 20, 3,
				"identity_assertion.birth_date",
				&id->birth_date) != 0 ||
		    person_open(v, &c->srv->vault, res, i, 21, 9,
				"identity_assertion.place_seen",
				&id->place_seen) != 0)
			return -1;
		id->declared_age = (uint32_t)req_int(res, i, 4);
		id->age_declared_on = req_str(res, i, 5);
		id->sex = req_str(res, i, 6);
		id->nationality = req_str(res, i, 7);
		ia->id = req_int(res, i, 0);
		ia->identity = id;
		ia->asserted_by = req_str(res, i, 10);
		ia->asserted_at = req_str(res, i, 11);
		ia->notice_id = req_int(res, i, 12);
		v->iap[pv->n_identities++] = ia;
	}
	pv->identities = v->iap;
	return 0;
}

static void person_show_cases(const struct acl_subject *subject,
			      const PGresult *res, struct person_show_view *v,
			      Maillage__PersonView *pv)
{
	int n = PQntuples(res), i;

	for (i = 0; i < n && i < PERSON_SHOW_MAX; i++) {
		Maillage__PersonCase *pc = &v->pc[pv->n_cases];
		struct acl_subject s = *subject;

		s.is_party = req_bool(res, i, 5);
		s.is_lead = req_bool(res, i, 6);
		if (acl_case_visible(&s) != ACL_ALLOW)
			continue;
		maillage__person_case__init(pc);
		pc->case_id = req_int(res, i, 0);
		pc->status = req_str(res, i, 1);
		pc->protection_status = req_str(res, i, 2);
		pc->opened_at = req_str(res, i, 3);
		pc->closed_at = req_str(res, i, 4);
		v->pcp[pv->n_cases++] = pc;
	}
	pv->cases = v->pcp;
}

static void person_show_links(const PGresult *res, struct person_show_view *v,
			      Maillage__PersonView *pv)
{
	int n = PQntuples(res), i;

	for (i = 0; i < n && i < PERSON_SHOW_MAX; i++) {
		Maillage__PersonLinkInfo *pl = &v->pl[i];

		maillage__person_link_info__init(pl);
		pl->link_id = req_int(res, i, 0);
		pl->kept_person_id = req_int(res, i, 1);
		pl->merged_person_id = req_int(res, i, 2);
		pl->linked_at = req_str(res, i, 3);
		pl->linked_by = req_str(res, i, 4);
		pl->automatic = req_bool(res, i, 5);
		pl->score = strtod(PQgetvalue(res, i, 6), NULL);
		pl->notice_id = req_int(res, i, 7);
		pl->unlinked_at = req_str(res, i, 8);
		v->plp[pv->n_links++] = pl;
	}
	pv->links = v->plp;
}

static void person_show_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);
	struct person_show_state *st = r->data;
	Maillage__PersonView pv = MAILLAGE__PERSON_VIEW__INIT;
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	struct person_show_view *v = NULL;
	const struct acl_policy *p;

	if (c == NULL)
		goto out;
	if (reply->status != DB_OK) {
		req_db_failed(c, r, reply);
		goto out;
	}
	p = policy_current(c->srv);
	v = calloc(1, sizeof(*v));
	if (p == NULL || v == NULL || reply->nresults < 2) {
		req_refuse(c, r, p == NULL ? EC_UNAVAILABLE : EC_INTERNAL, NULL,
			   p == NULL
				   ? "access rules not loaded yet, retry later"
				   : "internal error");
		goto out;
	}
	pv.person_id = r->person_id;
	pv.merged_into = st->merged_into;
	if (person_show_identities(c, p, &st->s, reply->results[0], v, &pv) !=
	    0) {
		log_warnx("conn %" PRIu64 " request %" PRIu64
			  ": an identity does not open",
			  c->id, r->request_id);
		req_refuse(c, r, EC_INTERNAL, NULL, "internal error");
		goto out;
	}
	person_show_cases(&st->s, reply->results[1], v, &pv);
	if (st->with_links && reply->nresults >= 3)
		person_show_links(reply->results[2], v, &pv);
	/* a small frame limit: the oldest identities give way */
	while (pv.n_identities > 0 &&
	       !req_fits(c, 0, maillage__person_view__get_packed_size(&pv))) {
		pv.identities++;
		pv.n_identities--;
	}
	env.body_case = MAILLAGE__ENVELOPE__BODY_PERSON_VIEW;
	env.person_view = &pv;
	req_reply(c, r, &env);
out:
	person_show_view_free(v);
	req_free(r);
}

static void person_facts_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);
	struct person_show_state *st = r->data;
	char id[24], inst[24];
	const char *params[2];
	struct acl_subject outsider;
	struct db_job *job;

	if (c == NULL) {
		req_free(r);
		return;
	}
	if (reply->status != DB_OK) {
		req_db_failed(c, r, reply);
		req_free(r);
		return;
	}
	outsider = st->s;
	outsider.is_party = PQntuples(reply->results[0]) == 1 &&
			    req_bool(reply->results[0], 0, 1);
	/* unknown, or none of its cases visible: the same answer */
	if (PQntuples(reply->results[0]) != 1 ||
	    acl_case_visible(&outsider) != ACL_ALLOW) {
		person_refuse(c, r, EC_NOT_FOUND, "person_id",
			      "no such person");
		return;
	}
	st->merged_into = req_int(reply->results[0], 0, 0);
	st->with_links =
		acl_role_may(st->s.role, ACL_OP_PERSON_LINK) == ACL_ALLOW;
	params[0] = req_fmt_int(id, r->person_id);
	params[1] = req_fmt_int(inst, c->account.institution_id);
	job = db_job_new();
	if (job != NULL &&
	    (db_job_add(job, person_identities_sql, 2, params) != 0 ||
	     db_job_add(job, person_cases_sql, 2, params) != 0 ||
	     (st->with_links &&
	      db_job_add(job, person_links_sql, 1, params) != 0) ||
	     req_audit_ok(job, c, r) != 0)) {
		db_job_free(job);
		job = NULL;
	}
	req_submit(c, r, job, person_show_done);
}

void person_show(struct conn *c, const Maillage__Envelope *env)
{
	const Maillage__PersonShow *m = env->person_show;
	struct person_show_state *st;
	char id[24], inst[24];
	const char *params[2];
	struct db_job *job;
	struct req *r;

	r = req_new(c, env->request_id, PERSON_ACT_SHOW, sizeof(*st));
	if (r == NULL) {
		req_oom(c, env->request_id);
		return;
	}
	st = r->data;
	if (req_subject(c, &st->s) != 0 ||
	    acl_role_may(st->s.role, ACL_OP_PERSON_SEARCH) != ACL_ALLOW) {
		person_refuse(c, r, EC_FORBIDDEN, NULL,
			      "this account may not do this");
		return;
	}
	if (m->person_id <= 0) {
		person_refuse(c, r, EC_BAD_REQUEST, "person_id",
			      "person_id is a positive id");
		return;
	}
	r->person_id = m->person_id;
	params[0] = req_fmt_int(id, m->person_id);
	params[1] = req_fmt_int(inst, c->account.institution_id);
	job = db_job_new();
	if (job != NULL && db_job_add(job, person_facts_sql, 2, params) != 0) {
		db_job_free(job);
		job = NULL;
	}
	req_submit(c, r, job, person_facts_done);
}
