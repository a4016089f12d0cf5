/*
 * auditlog: the auditor's requests; see auditlog.h. Each handler checks
 * the role with acl (FORBIDDEN, audited), then the shape of every field
 * (BAD_REQUEST naming it, audited), then runs one job: its reads and the
 * audit record of the request. Rows are read in the canonical text of
 * seal.h (SEAL_SQL_RECORD), so that what the client hashes is exactly what
 * the sealer hashed. Replies are cut to fit in a frame: a log page says
 * `more`, a chain page ends earlier (the client asks from there).
 */
#include "auditlog.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acl.h"
#include "conn.h"
#include "frame.h"
#include "log.h"
#include "req.h"
#include "seal.h"
#include "server.h"
#include "valid.h"

#define AL_LOG_DEFAULT 100
#define AL_WHO_MAX 1000
#define AL_CHAIN_MAX 500    /* positions per chain page */
#define AL_UNSEALED_MAX 100 /* unsealed rows per chain page */
#define AL_KEYS_MAX 16
#define AL_INSTANT_MAX 64   /* bytes of a since/until */
#define AL_FRAME_SLACK 4096 /* envelope bytes around a page */
#define AL_ITEM_OVERHEAD 6  /* tag and length of a repeated message */

#define EC_BAD_REQUEST MAILLAGE__ERROR_CODE__BAD_REQUEST
#define EC_FORBIDDEN MAILLAGE__ERROR_CODE__FORBIDDEN
#define EC_INTERNAL MAILLAGE__ERROR_CODE__INTERNAL

#define AL_TIME_FMT "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'"

/* ---- allocation arena --------------------------------------------------- */

struct al_arena {
	void **blocks;
	size_t n, cap;
};

static void *al_alloc(struct al_arena *a, size_t nmemb, size_t size)
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

static void al_arena_free(struct al_arena *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->blocks[i]);
	free(a->blocks);
	memset(a, 0, sizeof(*a));
}

/* ---- shared ---------------------------------------------------------------
 */

/* Largest reply body worth building: the frame limit, client's included. */
static size_t al_budget(const struct conn *c)
{
	size_t m = c->srv->cfg.max_frame;

	if (m > FRAME_DEFAULT_MAX)
		m = FRAME_DEFAULT_MAX;
	return m > 2 * AL_FRAME_SLACK ? m - AL_FRAME_SLACK : m / 2;
}

/* The auditor role, or refused (audited) and NULL; else a new request. */
static struct req *al_start(struct conn *c, const Maillage__Envelope *env,
			    const char *action, size_t extra)
{
	struct acl_subject s;
	struct req *r;

	if (req_subject(c, &s) != 0 ||
	    acl_role_may(s.role, ACL_OP_AUDIT) != ACL_ALLOW) {
		req_refuse_early(c, env->request_id, action, EC_FORBIDDEN, NULL,
				 "only auditors read the audit trail");
		return NULL;
	}
	r = req_new(c, env->request_id, action, extra);
	if (r == NULL)
		req_oom(c, env->request_id);
	return r;
}

static void al_refuse(struct conn *c, struct req *r, Maillage__ErrorCode code,
		      const char *field, const char *message)
{
	req_refuse(c, r, code, field, message);
	req_free(r);
}

static const char *al_s(const char *s)
{
	return s != NULL ? s : "";
}

/* A login: [a-z0-9._-]{2,64}. */
static int al_valid_login(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 2 || n > 64)
		return 0;
	for (i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '_' || ch == '-'))
			return 0;
	}
	return 1;
}

/* An audit action: [a-z_.]{1,64}. */
static int al_valid_action(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 1 || n > 64)
		return 0;
	for (i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || ch == '.' || ch == '_'))
			return 0;
	}
	return 1;
}

struct al_extra {
	struct al_arena *a;
	Maillage__AuditColumn **cols;
	size_t n, cap;
};

static int al_extra_add(void *arg, const char *name, size_t nlen,
			const char *value, size_t vlen)
{
	struct al_extra *x = arg;
	Maillage__AuditColumn *col;
	char *n, *v;

	if (x->n == x->cap) {
		size_t cap = x->cap != 0 ? x->cap * 2 : 4;
		Maillage__AuditColumn **cols =
			al_alloc(x->a, cap, sizeof(*cols));
		if (cols == NULL)
			return -1;
		if (x->n > 0)
			memcpy(cols, x->cols, x->n * sizeof(*cols));
		x->cols = cols;
		x->cap = cap;
	}
	col = al_alloc(x->a, 1, sizeof(*col));
	n = al_alloc(x->a, nlen + 1, 1);
	v = al_alloc(x->a, vlen + 1, 1);
	if (col == NULL || n == NULL || v == NULL)
		return -1;
	memcpy(n, name, nlen);
	memcpy(v, value, vlen);
	maillage__audit_column__init(col);
	col->name = n;
	col->value = v;
	x->cols[x->n++] = col;
	return 0;
}

/*
 * An AuditRecord from the SEAL_SQL_RECORD columns at `col` of `row`
 * (strings point into `res` or `a`). 0, or -1 when memory is exhausted.
 */
static int al_record(struct al_arena *a, const PGresult *res, int row, int col,
		     Maillage__AuditRecord *rec)
{
	struct al_extra x = {a, NULL, 0, 0};
	int xcol = col + 1 + SEAL_NFIELDS;
	uint32_t mask = 0;
	int i;

#define AL_STR(f)                                                              \
	(PQgetisnull(res, row, col + 1 + (f))                                  \
		 ? ""                                                          \
		 : req_str(res, row, col + 1 + (f)))
#define AL_INT(f) req_int(res, row, col + 1 + (f))

	maillage__audit_record__init(rec);
	rec->id = req_int(res, row, col);
	for (i = 0; i < SEAL_NFIELDS; i++)
		if (PQgetisnull(res, row, col + 1 + i))
			mask |= 1u << i;
	rec->null_mask = mask;
	rec->at = AL_STR(SEAL_F_AT);
	rec->account_id = AL_INT(SEAL_F_ACCOUNT_ID);
	rec->login = AL_STR(SEAL_F_LOGIN);
	rec->institution_code = AL_STR(SEAL_F_INSTITUTION_CODE);
	rec->role = AL_STR(SEAL_F_ROLE);
	rec->action = AL_STR(SEAL_F_ACTION);
	rec->outcome = AL_STR(SEAL_F_OUTCOME);
	rec->error_code = AL_STR(SEAL_F_ERROR_CODE);
	rec->peer = AL_STR(SEAL_F_PEER);
	rec->request_id = AL_INT(SEAL_F_REQUEST_ID);
	rec->instance = AL_STR(SEAL_F_INSTANCE);
	rec->cert_fingerprint = AL_STR(SEAL_F_CERT_FINGERPRINT);
	rec->case_id = AL_INT(SEAL_F_CASE_ID);
	rec->notice_id = AL_INT(SEAL_F_NOTICE_ID);
	rec->person_id = AL_INT(SEAL_F_PERSON_ID);
#undef AL_STR
#undef AL_INT
	if (!PQgetisnull(res, row, xcol) &&
	    seal_extra_walk(PQgetvalue(res, row, xcol), al_extra_add, &x) != 0)
		return -1;
	rec->n_extra = x.n;
	rec->extra = x.cols;
	return 0;
}

/* ---- audit log ------------------------------------------------------------
 */

struct al_log_state {
	char since[AL_INSTANT_MAX + 16];
	char until[AL_INSTANT_MAX + 16];
	uint32_t limit;
};

#define AL_LOG_WHERE                                                           \
	" FROM audit_event e LEFT JOIN audit_seal s ON s.audit_id = e.id"      \
	" WHERE ($1::bigint IS NULL OR e.case_id = $1::bigint)"                \
	" AND ($2::text IS NULL OR e.login = $2)"                              \
	" AND ($3::text IS NULL OR e.institution_code = $3)"                   \
	" AND ($4::text IS NULL OR e.action = $4)"                             \
	" AND ($5::timestamptz IS NULL OR e.at >= $5::timestamptz)"            \
	" AND ($6::timestamptz IS NULL OR e.at < $6::timestamptz)"             \
	" AND ($7::text IS NULL OR e.outcome = $7)"

static const char al_log_desc_sql[] =
	"SELECT " SEAL_SQL_RECORD ", coalesce(s.seq, 0)" AL_LOG_WHERE
	" AND ($8::bigint IS NULL OR e.id < $8::bigint)"
	" ORDER BY e.id DESC LIMIT $9::integer";

static const char al_log_asc_sql[] =
	"SELECT " SEAL_SQL_RECORD ", coalesce(s.seq, 0)" AL_LOG_WHERE
	" AND ($8::bigint IS NULL OR e.id > $8::bigint)"
	" ORDER BY e.id LIMIT $9::integer";

/*
 * `in` (valid_instant) as an instant for PostgreSQL: a calendar date is
 * midnight UTC of that day, or of the next one when `end_of_day`.
 */
static int al_instant(const char *in, int end_of_day, char *out, size_t n)
{
	struct tm tm;
	time_t t;

	if (!valid_date(in)) {
		snprintf(out, n, "%s", in);
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	if (sscanf(in, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) !=
	    3)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	if (end_of_day)
		t += 86400;
	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT00:00:00Z", &tm);
	return 0;
}

/* 0 when the filters are well formed; else refused (and `r` freed). */
static int al_log_check(struct conn *c, struct req *r,
			const Maillage__AuditLog *m)
{
	struct al_log_state *st = r->data;
	const char *account = al_s(m->account), *inst = al_s(m->institution);
	const char *action = al_s(m->action), *outcome = al_s(m->outcome);
	const char *since = al_s(m->since), *until = al_s(m->until);

	if (m->case_id < 0) {
		al_refuse(c, r, EC_BAD_REQUEST, "case_id",
			  "case_id is a case id, or 0");
		return -1;
	}
	if (account[0] != '\0' && !al_valid_login(account)) {
		al_refuse(c, r, EC_BAD_REQUEST, "account", "not a login");
		return -1;
	}
	if (inst[0] != '\0' && !valid_institution_code(inst)) {
		al_refuse(c, r, EC_BAD_REQUEST, "institution",
			  "not an institution code");
		return -1;
	}
	if (action[0] != '\0' && !al_valid_action(action)) {
		al_refuse(c, r, EC_BAD_REQUEST, "action",
			  "not an audit action");
		return -1;
	}
	if (outcome[0] != '\0' && strcmp(outcome, "ok") != 0 &&
	    strcmp(outcome, "refused") != 0 && strcmp(outcome, "error") != 0) {
		al_refuse(c, r, EC_BAD_REQUEST, "outcome",
			  "outcome is ok, refused or error");
		return -1;
	}
	if (since[0] != '\0' &&
	    (strlen(since) > AL_INSTANT_MAX || !valid_instant(since) ||
	     al_instant(since, 0, st->since, sizeof(st->since)) != 0)) {
		al_refuse(c, r, EC_BAD_REQUEST, "since",
			  "since is YYYY-MM-DD or an RFC 3339 instant");
		return -1;
	}
	if (until[0] != '\0' &&
	    (strlen(until) > AL_INSTANT_MAX || !valid_instant(until) ||
	     al_instant(until, 1, st->until, sizeof(st->until)) != 0)) {
		al_refuse(c, r, EC_BAD_REQUEST, "until",
			  "until is YYYY-MM-DD or an RFC 3339 instant");
		return -1;
	}
	if (m->before_id < 0 || m->after_id < 0) {
		al_refuse(c, r, EC_BAD_REQUEST,
			  m->before_id < 0 ? "before_id" : "after_id",
			  "an audit id, or 0");
		return -1;
	}
	if (m->before_id > 0 && m->after_id > 0) {
		al_refuse(c, r, EC_BAD_REQUEST, "after_id",
			  "before_id and after_id exclude each other");
		return -1;
	}
	/* More than the list limit is not an error: `more` says so. */
	st->limit = m->limit != 0 ? m->limit : AL_LOG_DEFAULT;
	if (st->limit > c->srv->cfg.list_limit_max)
		st->limit = c->srv->cfg.list_limit_max;
	return 0;
}

static void al_log_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct al_log_state *st = r->data;
	struct conn *c = req_conn(r);
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__AuditLogResult out = MAILLAGE__AUDIT_LOG_RESULT__INIT;
	Maillage__AuditRecord *recs = NULL, **ptrs = NULL;
	struct al_arena a = {0};
	const PGresult *res;
	size_t budget, used = 0;
	int n, i;

	if (c == NULL)
		goto out;
	if (reply->status != DB_OK) {
		req_db_failed(c, r, reply);
		goto out;
	}
	res = reply->results[0];
	n = PQntuples(res);
	if (n > (int)st->limit) {
		n = (int)st->limit;
		out.more = 1;
	}
	recs = al_alloc(&a, (size_t)n, sizeof(*recs));
	ptrs = al_alloc(&a, (size_t)n, sizeof(*ptrs));
	for (i = 0; recs != NULL && ptrs != NULL && i < n; i++)
		if (al_record(&a, res, i, 0, &recs[i]) != 0)
			break;
	if (recs == NULL || ptrs == NULL || i < n) {
		conn_send_error(c, r->request_id, EC_INTERNAL, NULL,
				"out of memory");
		conn_request_done(c);
		goto out;
	}
	budget = al_budget(c);
	for (i = 0; i < n; i++) {
		size_t sz;

		recs[i].seal_seq = req_int(res, i, SEAL_SQL_NCOLS);
		sz = maillage__audit_record__get_packed_size(&recs[i]) +
		     AL_ITEM_OVERHEAD;
		if (used + sz > budget) {
			out.more = 1;
			break;
		}
		used += sz;
		ptrs[i] = &recs[i];
	}
	out.n_records = (size_t)i;
	out.records = ptrs;
	env.body_case = MAILLAGE__ENVELOPE__BODY_AUDIT_LOG_RESULT;
	env.audit_log_result = &out;
	req_reply(c, r, &env);
out:
	al_arena_free(&a);
	req_free(r);
}

void auditlog_log(struct conn *c, const Maillage__Envelope *env)
{
	const Maillage__AuditLog *m = env->audit_log;
	struct al_log_state *st;
	char case_id[24], page[24], limit[24];
	const char *params[9];
	struct db_job *job;
	struct req *r;

	r = al_start(c, env, "audit.log", sizeof(*st));
	if (r == NULL)
		return;
	r->case_id = m->case_id > 0 ? m->case_id : 0;
	if (al_log_check(c, r, m) != 0)
		return;
	st = r->data;
	params[0] = m->case_id > 0 ? req_fmt_int(case_id, m->case_id) : NULL;
	params[1] = al_s(m->account)[0] != '\0' ? m->account : NULL;
	params[2] = al_s(m->institution)[0] != '\0' ? m->institution : NULL;
	params[3] = al_s(m->action)[0] != '\0' ? m->action : NULL;
	params[4] = st->since[0] != '\0' ? st->since : NULL;
	params[5] = st->until[0] != '\0' ? st->until : NULL;
	params[6] = al_s(m->outcome)[0] != '\0' ? m->outcome : NULL;
	if (m->after_id > 0)
		params[7] = req_fmt_int(page, m->after_id);
	else if (m->before_id > 0)
		params[7] = req_fmt_int(page, m->before_id);
	else
		params[7] = NULL;
	/* One more than asked: whether there is more to page through. */
	params[8] = req_fmt_int(limit, (int64_t)st->limit + 1);
	job = db_job_new();
	if (job != NULL &&
	    (db_job_add(job, m->after_id > 0 ? al_log_asc_sql : al_log_desc_sql,
			9, params) != 0 ||
	     req_audit_ok(job, c, r) != 0)) {
		db_job_free(job);
		job = NULL;
	}
	req_submit(c, r, job, al_log_done);
}

/* ---- who read a case ------------------------------------------------------
 */

static const char al_who_sql[] =
	"SELECT coalesce(e.account_id, 0), coalesce(e.login, ''),"
	" coalesce(e.institution_code, ''), coalesce(e.role, ''), e.action,"
	" count(*), to_char(min(e.at) AT TIME ZONE 'UTC', " AL_TIME_FMT "),"
	" to_char(max(e.at) AT TIME ZONE 'UTC', " AL_TIME_FMT ")"
	" FROM audit_event e"
	" WHERE e.case_id = $1::bigint AND e.outcome = 'ok'"
	" AND ($2::boolean OR e.action IN"
	" (SELECT action FROM audit_read_action))"
	" GROUP BY e.account_id, e.login, e.institution_code, e.role, e.action"
	" ORDER BY min(e.at), e.login, e.action LIMIT 1001";

static const char al_read_actions_sql[] =
	"SELECT action FROM audit_read_action ORDER BY action";

static void al_who_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__AuditWhoReadResult out =
		MAILLAGE__AUDIT_WHO_READ_RESULT__INIT;
	Maillage__AuditReader *rd = NULL, **ptrs = NULL;
	char **actions = NULL;
	const PGresult *res, *ra;
	size_t budget, used = 0;
	int n, na, i;

	if (c == NULL)
		goto out;
	if (reply->status != DB_OK) {
		req_db_failed(c, r, reply);
		goto out;
	}
	res = reply->results[0];
	ra = reply->results[1];
	n = PQntuples(res);
	na = PQntuples(ra);
	if (n > AL_WHO_MAX) {
		n = AL_WHO_MAX;
		out.truncated = 1;
	}
	rd = calloc((size_t)(n > 0 ? n : 1), sizeof(*rd));
	ptrs = calloc((size_t)(n > 0 ? n : 1), sizeof(*ptrs));
	actions = calloc((size_t)(na > 0 ? na : 1), sizeof(*actions));
	if (rd == NULL || ptrs == NULL || actions == NULL) {
		conn_send_error(c, r->request_id, EC_INTERNAL, NULL,
				"out of memory");
		conn_request_done(c);
		goto out;
	}
	for (i = 0; i < na; i++)
		actions[i] = req_str(ra, i, 0);
	budget = al_budget(c);
	for (i = 0; i < n; i++) {
		size_t sz;

		maillage__audit_reader__init(&rd[i]);
		rd[i].account_id = req_int(res, i, 0);
		rd[i].login = req_str(res, i, 1);
		rd[i].institution_code = req_str(res, i, 2);
		rd[i].role = req_str(res, i, 3);
		rd[i].action = req_str(res, i, 4);
		rd[i].count = (uint32_t)req_int(res, i, 5);
		rd[i].first_at = req_str(res, i, 6);
		rd[i].last_at = req_str(res, i, 7);
		sz = maillage__audit_reader__get_packed_size(&rd[i]) +
		     AL_ITEM_OVERHEAD;
		if (used + sz > budget) {
			out.truncated = 1;
			break;
		}
		used += sz;
		ptrs[i] = &rd[i];
	}
	out.case_id = r->case_id;
	out.n_readers = (size_t)i;
	out.readers = ptrs;
	out.n_read_actions = (size_t)na;
	out.read_actions = actions;
	env.body_case = MAILLAGE__ENVELOPE__BODY_AUDIT_WHO_READ_RESULT;
	env.audit_who_read_result = &out;
	req_reply(c, r, &env);
out:
	free(rd);
	free(ptrs);
	free(actions);
	req_free(r);
}

void auditlog_who_read(struct conn *c, const Maillage__Envelope *env)
{
	const Maillage__AuditWhoRead *m = env->audit_who_read;
	char case_id[24];
	const char *params[2];
	struct db_job *job;
	struct req *r;

	r = al_start(c, env, "audit.who_read", 0);
	if (r == NULL)
		return;
	r->case_id = m->case_id > 0 ? m->case_id : 0;
	if (m->case_id <= 0) {
		al_refuse(c, r, EC_BAD_REQUEST, "case_id",
			  "a case id is required");
		return;
	}
	params[0] = req_fmt_int(case_id, m->case_id);
	params[1] = m->all_actions ? "t" : "f";
	job = db_job_new();
	if (job != NULL &&
	    (db_job_add(job, al_who_sql, 2, params) != 0 ||
	     db_job_add(job, al_read_actions_sql, 0, NULL) != 0 ||
	     req_audit_ok(job, c, r) != 0)) {
		db_job_free(job);
		job = NULL;
	}
	req_submit(c, r, job, al_who_done);
}

/* ---- a page of the chain --------------------------------------------------
 */

struct al_chain_state {
	int64_t from;
	int64_t end; /* last position asked */
};

#define AL_CP_COLUMNS                                                          \
	"cp.seq, encode(cp.head, 'hex'), to_char(cp.at AT TIME ZONE "          \
	"'UTC', " AL_TIME_FMT                                                  \
	"), cp.previous, cp.key_id, encode(cp.signature, 'hex'), "             \
	"coalesce(cp.instance, '')"

static const char al_chain_state_sql[] =
	"SELECT coalesce((SELECT max(seq) FROM audit_seal), 0), " AL_CP_COLUMNS
	" FROM (SELECT 1) AS one LEFT JOIN LATERAL (SELECT * FROM"
	" audit_checkpoint ORDER BY seq DESC LIMIT 1) cp ON true";

/* One index look-up per sealed row (OFFSET 0 keeps the planner from
 * hashing the whole audit_event table for every page). */
static const char al_chain_entries_sql[] =
	"SELECT s.seq, s.audit_id, s.format, encode(s.leaf, 'hex'),"
	" encode(s.hash, 'hex'), encode(s.prev, 'hex'), " SEAL_SQL_RECORD
	" FROM audit_seal s LEFT JOIN LATERAL (SELECT * FROM audit_event e0"
	" WHERE e0.id = s.audit_id OFFSET 0) e ON true"
	" WHERE s.seq BETWEEN $1::bigint AND $2::bigint ORDER BY s.seq";

static const char al_chain_cps_sql[] =
	"SELECT " AL_CP_COLUMNS " FROM audit_checkpoint cp"
	" WHERE cp.seq BETWEEN $1::bigint AND $2::bigint ORDER BY cp.seq";

/*
 * The rows of the page's id range that no seal covers and the sealer is not
 * waiting for. The range starts after the id sealed just before the page
 * (from the very first id for the first page), so that consecutive pages
 * leave no id out, and ends at the highest id the page seals.
 */
static const char al_chain_unsealed_sql[] =
	"SELECT " SEAL_SQL_RECORD " FROM audit_event e"
	" WHERE e.id > coalesce((SELECT audit_id FROM audit_seal"
	" WHERE seq = $1::bigint - 1), '-9223372036854775808'::bigint)"
	" AND e.id <= (SELECT max(audit_id) FROM audit_seal"
	" WHERE seq BETWEEN $1::bigint AND $2::bigint)"
	" AND NOT EXISTS (SELECT 1 FROM audit_seal s WHERE s.audit_id = e.id)"
	" AND NOT EXISTS (SELECT 1 FROM audit_seal_gap g"
	" WHERE g.audit_id = e.id)"
	" ORDER BY e.id LIMIT 101";

static const char al_chain_keys_sql[] =
	"SELECT key_id, public_key, to_char(first_seen AT TIME ZONE "
	"'UTC', " AL_TIME_FMT "), coalesce(instance, '') FROM audit_key"
	" ORDER BY first_seen, key_id LIMIT 16";

/* Hex text to bytes in the arena; an empty value on bad input. */
static ProtobufCBinaryData al_bytes(struct al_arena *a, const char *hex)
{
	ProtobufCBinaryData b = {0, NULL};
	size_t n = strlen(hex), i;
	uint8_t *p;

	if (n % 2 != 0 || (p = al_alloc(a, n / 2, 1)) == NULL)
		return b;
	for (i = 0; i < n; i++) {
		char ch = hex[i];
		int v = ch >= '0' && ch <= '9'	 ? ch - '0'
			: ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
						 : 0;
		if (i % 2 == 0)
			p[i / 2] = (uint8_t)(v << 4);
		else
			p[i / 2] |= (uint8_t)v;
	}
	b.len = n / 2;
	b.data = p;
	return b;
}

/* A checkpoint from AL_CP_COLUMNS at `col` of `row`. */
static void al_checkpoint(struct al_arena *a, const PGresult *res, int row,
			  int col, Maillage__AuditCheckpoint *cp)
{
	maillage__audit_checkpoint__init(cp);
	cp->seq = req_int(res, row, col);
	cp->head = al_bytes(a, PQgetvalue(res, row, col + 1));
	cp->at = req_str(res, row, col + 2);
	cp->previous = req_int(res, row, col + 3);
	cp->key_id = req_str(res, row, col + 4);
	cp->signature = al_bytes(a, PQgetvalue(res, row, col + 5));
	cp->instance = req_str(res, row, col + 6);
}

/* Build the page into `out`; 0, or -1 when memory is exhausted. */
static int al_chain_page(struct al_arena *a, const struct conn *c,
			 const struct al_chain_state *st,
			 const struct db_reply *reply,
			 Maillage__AuditChainPage *out)
{
	const PGresult *rst = reply->results[0], *ren = reply->results[1];
	const PGresult *rcp = reply->results[2], *run = reply->results[3];
	const PGresult *rk = reply->results[4];
	int nen = PQntuples(ren), ncp = PQntuples(rcp), nun = PQntuples(run);
	int nk = PQntuples(rk), i, j, k;
	size_t budget = al_budget(c), used;
	int64_t head, end;

	head = req_int(rst, 0, 0);
	end = st->end < head ? st->end : head;
	out->from_seq = st->from;
	out->head_seq = head;
	if (!PQgetisnull(rst, 0, 1)) {
		out->latest_checkpoint =
			al_alloc(a, 1, sizeof(*out->latest_checkpoint));
		if (out->latest_checkpoint == NULL)
			return -1;
		al_checkpoint(a, rst, 0, 1, out->latest_checkpoint);
	}
	if (nk > AL_KEYS_MAX)
		nk = AL_KEYS_MAX;
	out->keys = al_alloc(a, (size_t)nk, sizeof(*out->keys));
	if (out->keys == NULL)
		return -1;
	for (i = 0; i < nk; i++) {
		Maillage__AuditKey *key = al_alloc(a, 1, sizeof(*key));
		if (key == NULL)
			return -1;
		maillage__audit_key__init(key);
		key->key_id = req_str(rk, i, 0);
		key->public_key = req_str(rk, i, 1);
		key->first_seen = req_str(rk, i, 2);
		key->instance = req_str(rk, i, 3);
		out->keys[i] = key;
	}
	out->n_keys = (size_t)nk;
	used = maillage__audit_chain_page__get_packed_size(out);

	out->entries = al_alloc(a, (size_t)nen, sizeof(*out->entries));
	out->checkpoints = al_alloc(a, (size_t)ncp, sizeof(*out->checkpoints));
	if (out->entries == NULL || out->checkpoints == NULL)
		return -1;
	/* Entries in order, each with the checkpoint at its position. */
	for (i = 0, j = 0; i < nen; i++) {
		Maillage__AuditSealed *e = al_alloc(a, 1, sizeof(*e));
		Maillage__AuditRecord *rec = al_alloc(a, 1, sizeof(*rec));
		Maillage__AuditCheckpoint *cp = NULL;
		int64_t seq = req_int(ren, i, 0);
		size_t sz;

		if (e == NULL || rec == NULL)
			return -1;
		if (seq > end)
			break;
		maillage__audit_sealed__init(e);
		e->seq = seq;
		e->audit_id = req_int(ren, i, 1);
		e->format = (uint32_t)req_int(ren, i, 2);
		e->leaf = al_bytes(a, PQgetvalue(ren, i, 3));
		e->hash = al_bytes(a, PQgetvalue(ren, i, 4));
		e->prev = al_bytes(a, PQgetvalue(ren, i, 5));
		if (!PQgetisnull(ren, i, 6)) {
			if (al_record(a, ren, i, 6, rec) != 0)
				return -1;
			e->record = rec;
		}
		while (j < ncp && req_int(rcp, j, 0) < seq)
			j++; /* a checkpoint where no seal is: tampering */
		if (j < ncp && req_int(rcp, j, 0) == seq) {
			cp = al_alloc(a, 1, sizeof(*cp));
			if (cp == NULL)
				return -1;
			al_checkpoint(a, rcp, j, 0, cp);
		}
		sz = maillage__audit_sealed__get_packed_size(e) +
		     AL_ITEM_OVERHEAD;
		if (cp != NULL)
			sz += maillage__audit_checkpoint__get_packed_size(cp) +
			      AL_ITEM_OVERHEAD;
		if (used + sz > budget) {
			if (out->n_entries > 0)
				break;
			/* A single row larger than a frame: say so. */
			sz -= maillage__audit_sealed__get_packed_size(e);
			e->record = NULL;
			e->record_omitted = 1;
			sz += maillage__audit_sealed__get_packed_size(e);
		}
		used += sz;
		out->entries[out->n_entries++] = e;
		if (cp != NULL)
			out->checkpoints[out->n_checkpoints++] = cp;
	}
	out->to_seq = out->n_entries > 0
			      ? out->entries[out->n_entries - 1]->seq
			      : (end >= st->from ? end : st->from - 1);
	/* Checkpoints at positions with no seal, within the page. */
	for (k = 0; k < ncp; k++) {
		int64_t seq = req_int(rcp, k, 0);
		size_t m;
		int seen = 0;

		if (seq > out->to_seq)
			break;
		for (m = 0; m < out->n_checkpoints; m++)
			seen |= out->checkpoints[m]->seq == seq;
		if (!seen) {
			Maillage__AuditCheckpoint *cp =
				al_alloc(a, 1, sizeof(*cp));
			if (cp == NULL)
				return -1;
			al_checkpoint(a, rcp, k, 0, cp);
			used += maillage__audit_checkpoint__get_packed_size(
					cp) +
				AL_ITEM_OVERHEAD;
			out->checkpoints[out->n_checkpoints++] = cp;
		}
	}
	if (nun > AL_UNSEALED_MAX) {
		nun = AL_UNSEALED_MAX;
		out->unsealed_truncated = 1;
	}
	out->unsealed = al_alloc(a, (size_t)nun, sizeof(*out->unsealed));
	if (out->unsealed == NULL)
		return -1;
	for (i = 0; i < nun; i++) {
		Maillage__AuditRecord *rec = al_alloc(a, 1, sizeof(*rec));
		size_t sz;

		if (rec == NULL || al_record(a, run, i, 0, rec) != 0)
			return -1;
		sz = maillage__audit_record__get_packed_size(rec) +
		     AL_ITEM_OVERHEAD;
		if (used + sz > budget) {
			out->unsealed_truncated = 1;
			break;
		}
		used += sz;
		out->unsealed[out->n_unsealed++] = rec;
	}
	return 0;
}

static void al_chain_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct al_chain_state *st = r->data;
	struct conn *c = req_conn(r);
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__AuditChainPage out = MAILLAGE__AUDIT_CHAIN_PAGE__INIT;
	struct al_arena a = {0};

	if (c == NULL)
		goto out;
	if (reply->status != DB_OK) {
		req_db_failed(c, r, reply);
		goto out;
	}
	if (reply->nresults < 5 || PQntuples(reply->results[0]) != 1 ||
	    al_chain_page(&a, c, st, reply, &out) != 0) {
		conn_send_error(c, r->request_id, EC_INTERNAL, NULL,
				"out of memory");
		conn_request_done(c);
		goto out;
	}
	env.body_case = MAILLAGE__ENVELOPE__BODY_AUDIT_CHAIN_PAGE;
	env.audit_chain_page = &out;
	req_reply(c, r, &env);
out:
	al_arena_free(&a);
	req_free(r);
}

void auditlog_chain(struct conn *c, const Maillage__Envelope *env)
{
	const Maillage__AuditChain *m = env->audit_chain;
	struct al_chain_state *st;
	char from[24], end[24];
	const char *params[2];
	struct db_job *job;
	struct req *r;
	uint32_t limit;

	r = al_start(c, env, "audit.chain", sizeof(*st));
	if (r == NULL)
		return;
	if (m->from_seq < 0) {
		al_refuse(c, r, EC_BAD_REQUEST, "from_seq",
			  "from_seq is a chain position (1 = the first)");
		return;
	}
	if (m->to_seq < 0 || (m->to_seq > 0 && m->to_seq < m->from_seq)) {
		al_refuse(c, r, EC_BAD_REQUEST, "to_seq",
			  "to_seq is 0 (the head) or at least from_seq");
		return;
	}
	st = r->data;
	st->from = m->from_seq > 0 ? m->from_seq : 1;
	limit = m->limit > 0 && m->limit < AL_CHAIN_MAX ? m->limit
							: AL_CHAIN_MAX;
	st->end = st->from + (int64_t)limit - 1;
	if (m->to_seq > 0 && m->to_seq < st->end)
		st->end = m->to_seq;
	params[0] = req_fmt_int(from, st->from);
	params[1] = req_fmt_int(end, st->end);
	job = db_job_new();
	if (job != NULL &&
	    (db_job_add(job, al_chain_state_sql, 0, NULL) != 0 ||
	     db_job_add(job, al_chain_entries_sql, 2, params) != 0 ||
	     db_job_add(job, al_chain_cps_sql, 2, params) != 0 ||
	     db_job_add(job, al_chain_unsealed_sql, 2, params) != 0 ||
	     db_job_add(job, al_chain_keys_sql, 0, NULL) != 0 ||
	     req_audit_ok(job, c, r) != 0)) {
		db_job_free(job);
		job = NULL;
	}
	req_submit(c, r, job, al_chain_done);
}
