/*
 * training: the directory and the awareness sessions; see training.h. Each
 * handler checks the caller's role (acl) and the shape of every field
 * (valid) in C, then submits one job: its reads or its write, and its audit
 * record, which commit together. A session is stored by training_save_tx()
 * (sql/006_training.sql), which re-checks the references (format, modules,
 * institutions, profiles) and the version of an edited session in the
 * database and raises typed errors, and is read back in the same job for
 * the answer. Trainers' names, titles and contact points are never logged
 * nor put in an error message: messages name fields, codes and ids only.
 */
#include "training.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acl.h"
#include "conn.h"
#include "log.h"
#include "req.h"
#include "server.h"
#include "valid.h"

#define TR_MSG_MAX 192
#define TR_CODE_MAX 40		/* bytes of a profile, module or format code */
#define TR_TITLE_MAX 200	/* bytes of a title */
#define TR_TRAINER_MAX 200	/* bytes of a trainer's name */
#define TR_TRAINERS_MAX 10	/* trainers per session */
#define TR_MODULES_MAX 32	/* modules per session */
#define TR_INSTITUTIONS_MAX 100 /* attending institutions per session */
#define TR_PROFILES_MAX 32	/* profiles per institution */
#define TR_COUNT_MAX 1000	/* participants of one profile */
#define TR_TOTAL_MAX 10000	/* participants of a session */
#define TR_DURATION_MAX 1440	/* minutes: one day */
#define TR_FIRST_DATE "2000-01-01"
#define TR_LIST_DEFAULT 100

#define TR_ACT_NETWORK_LIST "network.list"
#define TR_ACT_NETWORK_SHOW "network.show"
#define TR_ACT_ADD "training.add"
#define TR_ACT_EDIT "training.edit"
#define TR_ACT_LIST "training.list"
#define TR_ACT_SHOW "training.show"
#define TR_ACT_REFERENCE "training.reference"

#define EC_BAD_REQUEST MAILLAGE__ERROR_CODE__BAD_REQUEST
#define EC_FORBIDDEN MAILLAGE__ERROR_CODE__FORBIDDEN
#define EC_NOT_FOUND MAILLAGE__ERROR_CODE__NOT_FOUND
#define EC_INTERNAL MAILLAGE__ERROR_CODE__INTERNAL

/* ---- shared helpers ------------------------------------------------- */

/* A refusal being built: the field at fault and a message for humans. */
struct tr_bad {
	const char *field;
	char msg[TR_MSG_MAX];
};

static int tr_bad(struct tr_bad *b, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int tr_bad(struct tr_bad *b, const char *field, const char *fmt, ...)
{
	va_list ap;

	b->field = field;
	va_start(ap, fmt);
	vsnprintf(b->msg, sizeof(b->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static const char *tr_s(const char *s)
{
	return s != NULL ? s : "";
}

/* Blocks freed together once the answer is sent. */
struct tr_arena {
	void **blocks;
	size_t n, cap;
};

static void *tr_alloc(struct tr_arena *a, size_t nmemb, size_t size)
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

static void tr_arena_free(struct tr_arena *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->blocks[i]);
	free(a->blocks);
	memset(a, 0, sizeof(*a));
}

/* Split a comma-separated list of codes into a copy; 0, or -1 if OOM. */
static int tr_split(struct tr_arena *a, const char *csv, char ***out, size_t *n)
{
	size_t count = 1, len = strlen(csv), i;
	char *copy, *p, **v;

	*out = NULL;
	*n = 0;
	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		count += csv[i] == ',';
	copy = tr_alloc(a, len + 1, 1);
	v = tr_alloc(a, count, sizeof(*v));
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

/*
 * A context for a request once the caller's role may do `op`; NULL after
 * refusing (FORBIDDEN, audited) or when memory is exhausted.
 */
static struct req *tr_start(struct conn *c, const Maillage__Envelope *env,
			    const char *action, enum acl_op op)
{
	struct acl_subject s;
	struct req *r = req_new(c, env->request_id, action, 0);

	if (r == NULL) {
		req_oom(c, env->request_id);
		return NULL;
	}
	if (req_subject(c, &s) != 0 || acl_role_may(s.role, op) != ACL_ALLOW) {
		req_refuse(c, r, EC_FORBIDDEN, NULL,
			   "this account may not do this");
		req_free(r);
		return NULL;
	}
	return r;
}

/* Refuse (audited) and release the request. */
static void tr_refuse(struct conn *c, struct req *r, Maillage__ErrorCode code,
		      const char *field, const char *message)
{
	req_refuse(c, r, code, field, message);
	req_free(r);
}

static void tr_refuse_bad(struct conn *c, struct req *r, const struct tr_bad *b)
{
	tr_refuse(c, r, EC_BAD_REQUEST, b->field, b->msg);
}

/* A result that cannot be: logged (no values), answered INTERNAL. */
static void tr_internal(struct conn *c, const struct req *r, const char *what)
{
	log_warnx("conn %" PRIu64 " request %" PRIu64 " %s: %s", c->id,
		  r->request_id, r->action, what);
	req_refuse(c, r, EC_INTERNAL, NULL, "internal error");
}

/*
 * The latest date a session may have been held on: tomorrow in UTC, so
 * that "today" is accepted in every time zone of the network.
 */
static void tr_date_limit(char out[11])
{
	time_t t = time(NULL) + 86400;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 11, "%Y-%m-%d", &tm) != 10)
		snprintf(out, 11, "2100-12-31");
}

int training_valid_departement(const char *s)
{
	size_t n = strlen(s), i;

	if (strcmp(s, "2A") == 0 || strcmp(s, "2B") == 0)
		return 1;
	if (n < 2 || n > 3)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/*
 * The audit record of a request about session `training_id` (0: none), as
 * audit.c writes it plus the session: the statement, and its parameters
 * filled from the connection.
 */
static const char tr_audit_sql[] =
	"INSERT INTO audit_event (account_id, login, institution_code, role,"
	" action, outcome, peer, request_id, instance, cert_fingerprint,"
	" training_id) VALUES ($1::bigint, $2, $3, $4, $5, 'ok', $6,"
	" $7::bigint, $8, $9, $10::bigint)";

struct tr_audit {
	char account[24], reqid[24], training[24];
	const char *p[10];
};

static void tr_audit_fill(struct tr_audit *a, const struct conn *c,
			  const struct req *r, int64_t training_id)
{
	/* The column is a bigint: ids past 2^63 are stored wrapped. */
	snprintf(a->reqid, sizeof(a->reqid), "%" PRId64,
		 (int64_t)r->request_id);
	a->p[0] = req_fmt_int(a->account, c->account.id);
	a->p[1] = c->account.login;
	a->p[2] = c->account.institution;
	a->p[3] = conn_role_name(c->account.role);
	a->p[4] = r->action;
	a->p[5] = c->peer;
	a->p[6] = a->reqid;
	a->p[7] = c->srv->instance_id;
	a->p[8] = c->fingerprint[0] != '\0' ? c->fingerprint : NULL;
	a->p[9] =
		training_id > 0 ? req_fmt_int(a->training, training_id) : NULL;
}

/* ---- directory -------------------------------------------------------- */

static const char tr_directory_sql[] =
	"SELECT code, name, kind, departement, contact, enabled, connected,"
	" last_trained, sessions, participants, lapsed"
	" FROM network_directory($1, $2, $3, current_date) LIMIT $4::integer";

static const char tr_policy_sql[] =
	"SELECT coalesce(lapse_years, 0) FROM training_policy";

static void tr_entry(const PGresult *res, int row, Maillage__NetworkEntry *e)
{
	maillage__network_entry__init(e);
	e->code = req_str(res, row, 0);
	e->name = req_str(res, row, 1);
	e->kind = req_str(res, row, 2);
	e->departement = req_str(res, row, 3);
	e->contact = req_str(res, row, 4);
	e->enabled = req_bool(res, row, 5);
	e->connected = req_bool(res, row, 6);
	e->last_trained = req_str(res, row, 7);
	e->sessions = (uint32_t)req_int(res, row, 8);
	e->participants = (uint32_t)req_int(res, row, 9);
	e->lapsed = req_bool(res, row, 10);
}

static uint32_t tr_lapse_years(const PGresult *res)
{
	return PQntuples(res) == 1 ? (uint32_t)req_int(res, 0, 0) : 0;
}

static void tr_network_list_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__NetworkListResult lr = MAILLAGE__NETWORK_LIST_RESULT__INIT;
	Maillage__NetworkEntry *items = NULL, **ptrs = NULL;
	const PGresult *res;
	size_t used = 0, size;
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
		tr_entry(res, i, &items[i]);
		size = maillage__network_entry__get_packed_size(&items[i]);
		if (!req_fits(c, used, size)) {
			log_warnx("conn %" PRIu64 " request %" PRIu64
				  ": directory cut at %d of %d to fit a frame",
				  c->id, r->request_id, i, n);
			break;
		}
		used += size + 6;
		ptrs[lr.n_institutions++] = &items[i];
	}
	lr.institutions = ptrs;
	lr.lapse_years = tr_lapse_years(reply->results[1]);
	env.body_case = MAILLAGE__ENVELOPE__BODY_NETWORK_LIST_RESULT;
	env.network_list_result = &lr;
	req_reply(c, r, &env);
out:
	free(items);
	free(ptrs);
	req_free(r);
}

/* Kind and département filters; -1 with `b` filled. */
static int tr_check_filters(const char *kind, const char *dep, struct tr_bad *b)
{
	if (kind[0] != '\0' && acl_kind_from_name(kind) < 0)
		return tr_bad(b, "kind",
			      "unknown institution kind: association, "
			      "child_welfare, youth_justice, police, "
			      "gendarmerie, court, lawyer, health, education "
			      "or other");
	if (dep[0] != '\0' && !training_valid_departement(dep))
		return tr_bad(b, "departement",
			      "a département is two or three digits, 2A or "
			      "2B");
	return 0;
}

void training_network_list(struct conn *c, const Maillage__Envelope *env)
{
	const Maillage__NetworkList *m = env->network_list;
	const char *params[4];
	struct tr_bad b = {0};
	char limit[24];
	struct db_job *job;
	struct req *r;

	r = tr_start(c, env, TR_ACT_NETWORK_LIST, ACL_OP_NETWORK);
	if (r == NULL)
		return;
	if (tr_check_filters(tr_s(m->kind), tr_s(m->departement), &b) != 0) {
		tr_refuse_bad(c, r, &b);
		return;
	}
	params[0] = "";
	params[1] = tr_s(m->kind);
	params[2] = tr_s(m->departement);
	params[3] = req_fmt_int(limit, c->srv->cfg.list_limit_max);
	job = db_job_new();
	if (job != NULL && (db_job_add(job, tr_directory_sql, 4, params) != 0 ||
			    db_job_add(job, tr_policy_sql, 0, NULL) != 0 ||
			    req_audit_ok(job, c, r) != 0)) {
		db_job_free(job);
		job = NULL;
	}
	req_submit(c, r, job, tr_network_list_done);
}

static const char tr_network_guard_sql[] = "SELECT network_guard($1)";

static void tr_network_show_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__NetworkShowResult sr = MAILLAGE__NETWORK_SHOW_RESULT__INIT;
	Maillage__NetworkEntry e;

	if (c == NULL)
		goto out;
	if (reply->status != DB_OK) {
		req_db_failed(c, r, reply);
		goto out;
	}
	if (reply->nresults < 3 || PQntuples(reply->results[1]) != 1) {
		tr_internal(c, r, "the institution vanished");
		goto out;
	}
	tr_entry(reply->results[1], 0, &e);
	sr.institution = &e;
	sr.lapse_years = tr_lapse_years(reply->results[2]);
	env.body_case = MAILLAGE__ENVELOPE__BODY_NETWORK_SHOW_RESULT;
	env.network_show_result = &sr;
	req_reply(c, r, &env);
out:
	req_free(r);
}

void training_network_show(struct conn *c, const Maillage__Envelope *env)
{
	const char *code = tr_s(env->network_show->code);
	const char *params[4];
	struct db_job *job;
	struct req *r;

	r = tr_start(c, env, TR_ACT_NETWORK_SHOW, ACL_OP_NETWORK);
	if (r == NULL)
		return;
	if (!valid_institution_code(code)) {
		tr_refuse(c, r, EC_BAD_REQUEST, "code",
			  "an institution code is 2 to 32 characters among "
			  "a-z 0-9 _ -");
		return;
	}
	params[0] = code;
	params[1] = "";
	params[2] = "";
	params[3] = "1";
	job = db_job_new();
	if (job != NULL &&
	    (db_job_add(job, tr_network_guard_sql, 1, params) != 0 ||
	     db_job_add(job, tr_directory_sql, 4, params) != 0 ||
	     db_job_add(job, tr_policy_sql, 0, NULL) != 0 ||
	     req_audit_ok(job, c, r) != 0)) {
		db_job_free(job);
		job = NULL;
	}
	req_submit(c, r, job, tr_network_show_done);
}

/* ---- a session: checks -------------------------------------------------- */

/* The session's values as statement parameters (owned; NULL: SQL NULL). */
enum tr_param {
	TP_SESSION = 0,
	TP_VERSION,
	TP_ACCOUNT,
	TP_KEY,
	TP_HELD_ON,
	TP_DURATION,
	TP_FORMAT,
	TP_TITLE,
	TP_TRAINERS,
	TP_PRE,
	TP_POST,
	TP_MODULES,
	TP_INSTITUTIONS,
	TP_PROFILES,
	TP_COUNTS,
	TP_LOGIN,
	TP_INSTITUTION,
	TP_ROLE,
	TP_ACTION,
	TP_PEER,
	TP_REQID,
	TP_INSTANCE,
	TP_FINGERPRINT,
	TP_COUNT
};

struct tr_params {
	char *p[TP_COUNT];
};

static void tr_params_free(struct tr_params *tp)
{
	int i;

	for (i = 0; i < TP_COUNT; i++) {
		free(tp->p[i]);
		tp->p[i] = NULL;
	}
}

static int tr_param(struct tr_params *tp, enum tr_param i, const char *v)
{
	free(tp->p[i]);
	tp->p[i] = NULL;
	if (v == NULL)
		return 0;
	tp->p[i] = strdup(v);
	return tp->p[i] != NULL ? 0 : -1;
}

static int tr_param_int(struct tr_params *tp, enum tr_param i, int64_t v)
{
	char buf[24];

	return tr_param(tp, i, req_fmt_int(buf, v));
}

/* A growable string for array literals. */
struct tr_buf {
	char *s;
	size_t len, cap;
	int failed;
};

static void tr_buf_add(struct tr_buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap != 0 ? b->cap : 64;
		char *ns;

		while (cap < b->len + n + 1)
			cap *= 2;
		ns = realloc(b->s, cap);
		if (ns == NULL) {
			b->failed = 1;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void tr_buf_str(struct tr_buf *b, const char *s)
{
	tr_buf_add(b, s, strlen(s));
}

/*
 * Hand the buffer's string over to parameter `i` (the buffer is left
 * empty); -1 if memory ran out on the way.
 */
static int tr_buf_param(struct tr_params *tp, enum tr_param i, struct tr_buf *b)
{
	if (b->failed || b->s == NULL) {
		free(b->s);
		memset(b, 0, sizeof(*b));
		return -1;
	}
	free(tp->p[i]);
	tp->p[i] = b->s;
	memset(b, 0, sizeof(*b));
	return 0;
}

/* A text[] literal of any UTF-8 strings: each quoted, " and \ escaped. */
static void tr_buf_text_item(struct tr_buf *b, const char *s, int first)
{
	const char *p;

	tr_buf_str(b, first ? "\"" : ",\"");
	for (p = s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			tr_buf_add(b, "\\", 1);
		tr_buf_add(b, p, 1);
	}
	tr_buf_add(b, "\"", 1);
}

/* What the checks found, flattened for training_save_tx(). */
struct tr_session_check {
	struct tr_buf institutions, profiles, counts;
	size_t rows;
};

static void tr_session_check_free(struct tr_session_check *k)
{
	free(k->institutions.s);
	free(k->profiles.s);
	free(k->counts.s);
	memset(k, 0, sizeof(*k));
}

static int tr_check_line(const char *s, size_t max, const char *field,
			 struct tr_bad *b)
{
	if (!valid_text(s, max, 0))
		return tr_bad(b, field,
			      "%s is at most %zu bytes of UTF-8 on one line",
			      field, max);
	return 0;
}

static int tr_check_date(const char *held_on, struct tr_bad *b)
{
	char limit[11];

	if (held_on[0] == '\0')
		return tr_bad(b, "held_on",
			      "the date of the session is "
			      "required (held_on)");
	if (!valid_date(held_on))
		return tr_bad(b, "held_on",
			      "held_on is a real date YYYY-MM-DD");
	if (strcmp(held_on, TR_FIRST_DATE) < 0)
		return tr_bad(b, "held_on", "held_on is before " TR_FIRST_DATE);
	tr_date_limit(limit);
	if (strcmp(held_on, limit) > 0)
		return tr_bad(b, "held_on",
			      "held_on is in the future: record a session once "
			      "it has been held");
	return 0;
}

static int tr_check_modules(const Maillage__TrainingSession *s,
			    struct tr_bad *b)
{
	size_t i, j;

	if (s->n_modules == 0)
		return tr_bad(b, "modules", "at least one module is required");
	if (s->n_modules > TR_MODULES_MAX)
		return tr_bad(b, "modules", "at most %d modules",
			      TR_MODULES_MAX);
	for (i = 0; i < s->n_modules; i++) {
		const char *code = tr_s(s->modules[i]);

		if (!valid_code(code, TR_CODE_MAX))
			return tr_bad(b, "modules",
				      "module %zu is not a module code", i + 1);
		for (j = 0; j < i; j++)
			if (strcmp(code, tr_s(s->modules[j])) == 0)
				return tr_bad(b, "modules",
					      "module %s is listed twice",
					      code);
	}
	return 0;
}

static int tr_check_trainers(const Maillage__TrainingSession *s,
			     struct tr_bad *b)
{
	size_t i;

	if (s->n_trainers > TR_TRAINERS_MAX)
		return tr_bad(b, "trainers", "at most %d trainers",
			      TR_TRAINERS_MAX);
	for (i = 0; i < s->n_trainers; i++) {
		const char *t = tr_s(s->trainers[i]);

		if (t[0] == '\0')
			return tr_bad(b, "trainers", "trainer %zu is empty",
				      i + 1);
		if (!valid_text(t, TR_TRAINER_MAX, 0))
			return tr_bad(b, "trainers",
				      "trainer %zu is at most %d bytes of "
				      "UTF-8 on one line",
				      i + 1, TR_TRAINER_MAX);
	}
	return 0;
}

static int tr_check_score(int set, double v, const char *field,
			  struct tr_bad *b)
{
	if (set && (!isfinite(v) || v < 0.0 || v > 10.0))
		return tr_bad(b, field, "%s is a score from 0 to 10", field);
	return 0;
}

/* The participants of one institution, appended to the flat arrays. */
static int tr_check_participants(const Maillage__TrainingAttendance *at,
				 struct tr_session_check *k, long *total,
				 struct tr_bad *b)
{
	const char *inst = tr_s(at->institution);
	long sum = 0;
	size_t i, j;
	char num[16];

	if (at->n_participants == 0)
		return tr_bad(b, "participants",
			      "institution %s: the participants by profile "
			      "are required",
			      inst);
	if (at->n_participants > TR_PROFILES_MAX)
		return tr_bad(b, "participants",
			      "institution %s: at most %d profiles", inst,
			      TR_PROFILES_MAX);
	for (i = 0; i < at->n_participants; i++) {
		const Maillage__TrainingCount *tc = at->participants[i];
		const char *profile = tr_s(tc->profile);

		if (!valid_code(profile, TR_CODE_MAX))
			return tr_bad(b, "profile",
				      "institution %s: profile %zu is not a "
				      "profile code",
				      inst, i + 1);
		for (j = 0; j < i; j++)
			if (strcmp(profile,
				   tr_s(at->participants[j]->profile)) == 0)
				return tr_bad(b, "profile",
					      "institution %s: profile %s is "
					      "listed twice",
					      inst, profile);
		if (tc->count < 0)
			return tr_bad(b, "count",
				      "institution %s, profile %s: a number "
				      "of participants cannot be negative",
				      inst, profile);
		if (tc->count > TR_COUNT_MAX)
			return tr_bad(b, "count",
				      "institution %s, profile %s: at most %d "
				      "participants",
				      inst, profile, TR_COUNT_MAX);
		if (tc->count == 0)
			continue; /* nobody of that profile: nothing stored */
		sum += tc->count;
		snprintf(num, sizeof(num), "%d", (int)tc->count);
		tr_buf_str(&k->institutions, k->rows == 0 ? "{" : ",");
		tr_buf_str(&k->institutions, inst);
		tr_buf_str(&k->profiles, k->rows == 0 ? "{" : ",");
		tr_buf_str(&k->profiles, profile);
		tr_buf_str(&k->counts, k->rows == 0 ? "{" : ",");
		tr_buf_str(&k->counts, num);
		k->rows++;
	}
	if (sum == 0)
		return tr_bad(b, "count",
			      "institution %s: at least one participant is "
			      "required",
			      inst);
	*total += sum;
	return 0;
}

static int tr_check_attendance(const Maillage__TrainingSession *s,
			       struct tr_session_check *k, struct tr_bad *b)
{
	long total = 0;
	size_t i, j;

	if (s->n_attendance == 0)
		return tr_bad(b, "attendance",
			      "at least one attending institution is "
			      "required");
	if (s->n_attendance > TR_INSTITUTIONS_MAX)
		return tr_bad(b, "attendance", "at most %d institutions",
			      TR_INSTITUTIONS_MAX);
	for (i = 0; i < s->n_attendance; i++) {
		const char *inst = tr_s(s->attendance[i]->institution);

		if (!valid_institution_code(inst))
			return tr_bad(b, "institution",
				      "attending institution %zu is not an "
				      "institution code",
				      i + 1);
		for (j = 0; j < i; j++)
			if (strcmp(inst, tr_s(s->attendance[j]->institution)) ==
			    0)
				return tr_bad(b, "institution",
					      "institution %s is listed "
					      "twice",
					      inst);
		if (tr_check_participants(s->attendance[i], k, &total, b) != 0)
			return -1;
		if (total > TR_TOTAL_MAX)
			return tr_bad(b, "count",
				      "at most %d participants in a session",
				      TR_TOTAL_MAX);
	}
	tr_buf_str(&k->institutions, "}");
	tr_buf_str(&k->profiles, "}");
	tr_buf_str(&k->counts, "}");
	return 0;
}

/* Every field of a session, in the order of the message. */
static int tr_session_check(const Maillage__TrainingSession *s,
			    struct tr_session_check *k, struct tr_bad *b)
{
	if (s == NULL)
		return tr_bad(b, "session", "the session is missing");
	if (tr_check_date(tr_s(s->held_on), b) != 0)
		return -1;
	if (s->duration_minutes <= 0 || s->duration_minutes > TR_DURATION_MAX)
		return tr_bad(b, "duration_minutes",
			      "duration_minutes is from 1 to %d (one day: "
			      "record a longer training as one session a "
			      "day)",
			      TR_DURATION_MAX);
	if (tr_s(s->format)[0] == '\0')
		return tr_bad(b, "format",
			      "the format is required: on_site or remote");
	if (!valid_code(tr_s(s->format), TR_CODE_MAX))
		return tr_bad(b, "format", "unknown format: on_site or remote");
	if (tr_check_line(tr_s(s->title), TR_TITLE_MAX, "title", b) != 0 ||
	    tr_check_attendance(s, k, b) != 0 || tr_check_modules(s, b) != 0 ||
	    tr_check_trainers(s, b) != 0 ||
	    tr_check_score(s->pre_score_set, s->pre_score, "pre_score", b) !=
		    0 ||
	    tr_check_score(s->post_score_set, s->post_score, "post_score", b) !=
		    0)
		return -1;
	return 0;
}

/* ---- a session: the answer ------------------------------------------- */

#define TR_ID_EXPR                                                             \
	"coalesce($1::bigint, (SELECT k.id FROM training_session k"            \
	" WHERE k.created_by = $2::bigint AND k.idempotency_key = $3))"

static const char tr_read_session_sql[] =
	"SELECT s.id, to_char(s.held_on, 'YYYY-MM-DD'), s.duration_minutes,"
	" s.format, s.title, s.pre_score IS NOT NULL, coalesce(s.pre_score, 0),"
	" s.post_score IS NOT NULL, coalesce(s.post_score, 0), s.version,"
	" to_char(s.created_at AT TIME ZONE 'UTC',"
	" 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), cb.login,"
	" to_char(s.updated_at AT TIME ZONE 'UTC',"
	" 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ub.login,"
	" coalesce((SELECT string_agg(m.code, ',' ORDER BY m.position)"
	" FROM training_session_module sm"
	" JOIN training_module m ON m.code = sm.module"
	" WHERE sm.session_id = s.id), '')"
	" FROM training_session s JOIN account cb ON cb.id = s.created_by"
	" JOIN account ub ON ub.id = s.updated_by"
	" WHERE s.id = " TR_ID_EXPR;

static const char tr_read_attendance_sql[] =
	"SELECT i.code, i.name, i.kind, i.departement, a.profile,"
	" a.participants FROM training_attendance a"
	" JOIN institution i ON i.id = a.institution_id"
	" JOIN training_profile p ON p.code = a.profile"
	" WHERE a.session_id = " TR_ID_EXPR " ORDER BY i.code, p.position";

static const char tr_read_trainers_sql[] =
	"SELECT u.t FROM training_session s"
	" CROSS JOIN LATERAL unnest(s.trainers) WITH ORDINALITY AS u(t, n)"
	" WHERE s.id = " TR_ID_EXPR " ORDER BY u.n";

/* Append the three reads of the session (id, or the caller's key). */
static int tr_add_reads(struct db_job *job, const char *id, const char *account,
			const char *key)
{
	const char *params[3] = {id, account, key};

	if (db_job_add(job, tr_read_session_sql, 3, params) != 0 ||
	    db_job_add(job, tr_read_attendance_sql, 3, params) != 0 ||
	    db_job_add(job, tr_read_trainers_sql, 3, params) != 0)
		return -1;
	return 0;
}

/* The session from its three reads; 0, -1 if OOM, 1 if there is none. */
static int tr_build_session(struct tr_arena *a, const PGresult *rs,
			    const PGresult *ra, const PGresult *rt,
			    Maillage__TrainingSession *s)
{
	Maillage__TrainingAttendance *att, **attp;
	Maillage__TrainingCount *cnt, **cntp;
	int n = PQntuples(ra), nt = PQntuples(rt), i;
	size_t na = 0;
	uint32_t total = 0;

	maillage__training_session__init(s);
	if (PQntuples(rs) != 1)
		return 1;
	s->id = req_int(rs, 0, 0);
	s->held_on = req_str(rs, 0, 1);
	s->duration_minutes = (int32_t)req_int(rs, 0, 2);
	s->format = req_str(rs, 0, 3);
	s->title = req_str(rs, 0, 4);
	s->pre_score_set = req_bool(rs, 0, 5);
	s->pre_score = strtod(PQgetvalue(rs, 0, 6), NULL);
	s->post_score_set = req_bool(rs, 0, 7);
	s->post_score = strtod(PQgetvalue(rs, 0, 8), NULL);
	s->version = (uint32_t)req_int(rs, 0, 9);
	s->created_at = req_str(rs, 0, 10);
	s->created_by = req_str(rs, 0, 11);
	s->updated_at = req_str(rs, 0, 12);
	s->updated_by = req_str(rs, 0, 13);
	if (tr_split(a, req_str(rs, 0, 14), &s->modules, &s->n_modules) != 0)
		return -1;
	att = tr_alloc(a, (size_t)n, sizeof(*att));
	attp = tr_alloc(a, (size_t)n, sizeof(*attp));
	cnt = tr_alloc(a, (size_t)n, sizeof(*cnt));
	cntp = tr_alloc(a, (size_t)n, sizeof(*cntp));
	s->trainers = tr_alloc(a, (size_t)nt, sizeof(*s->trainers));
	if (att == NULL || attp == NULL || cnt == NULL || cntp == NULL ||
	    s->trainers == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		Maillage__TrainingAttendance *cur;

		if (na == 0 ||
		    strcmp(attp[na - 1]->institution, req_str(ra, i, 0)) != 0) {
			cur = &att[na];
			maillage__training_attendance__init(cur);
			cur->institution = req_str(ra, i, 0);
			cur->institution_name = req_str(ra, i, 1);
			cur->institution_kind = req_str(ra, i, 2);
			cur->departement = req_str(ra, i, 3);
			cur->participants = &cntp[i];
			attp[na++] = cur;
		}
		cur = attp[na - 1];
		maillage__training_count__init(&cnt[i]);
		cnt[i].profile = req_str(ra, i, 4);
		cnt[i].count = (int32_t)req_int(ra, i, 5);
		cntp[i] = &cnt[i];
		cur->n_participants++;
		total += (uint32_t)cnt[i].count;
	}
	s->attendance = attp;
	s->n_attendance = na;
	s->participants = total;
	for (i = 0; i < nt; i++)
		s->trainers[i] = req_str(rt, i, 0);
	s->n_trainers = (size_t)nt;
	return 0;
}

/* Answer with the session read by results first..first+2. */
static void tr_reply_session(struct conn *c, struct req *r,
			     const struct db_reply *reply, int first,
			     int replayed)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__TrainingResult tr = MAILLAGE__TRAINING_RESULT__INIT;
	Maillage__TrainingSession s;
	struct tr_arena a = {0};
	int rc;

	if (reply->nresults < first + 3) {
		tr_internal(c, r, "session reads missing");
		return;
	}
	rc = tr_build_session(&a, reply->results[first],
			      reply->results[first + 1],
			      reply->results[first + 2], &s);
	if (rc < 0) {
		req_oom(c, r->request_id);
	} else if (rc > 0) {
		tr_internal(c, r, "the session was not found after its write");
	} else {
		tr.session = &s;
		tr.replayed = replayed;
		env.body_case = MAILLAGE__ENVELOPE__BODY_TRAINING_RESULT;
		env.training_result = &tr;
		req_reply(c, r, &env);
	}
	tr_arena_free(&a);
}

/* ---- a session: add and edit -------------------------------------------- */

/*
 * The session and its audit record, in one statement: the audit row takes
 * the id training_save_tx() returns. Its columns are those audit.c fills,
 * plus the session.
 */
static const char tr_save_sql[] =
	"WITH r AS (SELECT * FROM training_save_tx($1::bigint, $2::integer,"
	" $3::bigint, $4, $5::date, $6::integer, $7, $8, $9::text[],"
	" $10::numeric, $11::numeric, $12::text[], $13::text[], $14::text[],"
	" $15::integer[])),"
	" a AS (INSERT INTO audit_event (account_id, login, institution_code,"
	" role, action, outcome, peer, request_id, instance, cert_fingerprint,"
	" training_id)"
	" SELECT $3::bigint, $16, $17, $18, $19, 'ok', $20, $21::bigint, $22,"
	" $23, r.session_id FROM r)"
	" SELECT session_id, version, replayed FROM r";

static void tr_saved_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);

	if (c == NULL)
		goto out;
	if (reply->status != DB_OK) {
		req_db_failed(c, r, reply);
		goto out;
	}
	if (reply->nresults < 1 || PQntuples(reply->results[0]) != 1) {
		tr_internal(c, r, "training_save_tx returned no row");
		goto out;
	}
	tr_reply_session(c, r, reply, 1, req_bool(reply->results[0], 0, 2));
out:
	req_free(r);
}

static int tr_params_session(struct tr_params *tp,
			     const Maillage__TrainingSession *s,
			     struct tr_session_check *k)
{
	struct tr_buf lit = {0};
	char score[32];
	size_t i;

	if (tr_param(tp, TP_HELD_ON, s->held_on) != 0 ||
	    tr_param_int(tp, TP_DURATION, s->duration_minutes) != 0 ||
	    tr_param(tp, TP_FORMAT, s->format) != 0 ||
	    tr_param(tp, TP_TITLE, tr_s(s->title)) != 0)
		return -1;
	tr_buf_str(&lit, "{");
	for (i = 0; i < s->n_trainers; i++)
		tr_buf_text_item(&lit, s->trainers[i], i == 0);
	tr_buf_str(&lit, "}");
	if (tr_buf_param(tp, TP_TRAINERS, &lit) != 0)
		goto oom;
	if (s->pre_score_set) {
		snprintf(score, sizeof(score), "%.2f", s->pre_score);
		if (tr_param(tp, TP_PRE, score) != 0)
			goto oom;
	}
	if (s->post_score_set) {
		snprintf(score, sizeof(score), "%.2f", s->post_score);
		if (tr_param(tp, TP_POST, score) != 0)
			goto oom;
	}
	for (i = 0; i < s->n_modules; i++) {
		tr_buf_str(&lit, i == 0 ? "{" : ",");
		tr_buf_str(&lit, s->modules[i]);
	}
	tr_buf_str(&lit, "}");
	if (tr_buf_param(tp, TP_MODULES, &lit) != 0 ||
	    tr_buf_param(tp, TP_INSTITUTIONS, &k->institutions) != 0 ||
	    tr_buf_param(tp, TP_PROFILES, &k->profiles) != 0 ||
	    tr_buf_param(tp, TP_COUNTS, &k->counts) != 0)
		return -1;
	return 0;
oom:
	free(lit.s);
	return -1;
}

static int tr_params_audit(struct tr_params *tp, const struct conn *c,
			   const struct req *r)
{
	struct tr_audit a;

	tr_audit_fill(&a, c, r, 0);
	if (tr_param(tp, TP_ACCOUNT, a.p[0]) != 0 ||
	    tr_param(tp, TP_LOGIN, a.p[1]) != 0 ||
	    tr_param(tp, TP_INSTITUTION, a.p[2]) != 0 ||
	    tr_param(tp, TP_ROLE, a.p[3]) != 0 ||
	    tr_param(tp, TP_ACTION, a.p[4]) != 0 ||
	    tr_param(tp, TP_PEER, a.p[5]) != 0 ||
	    tr_param(tp, TP_REQID, a.p[6]) != 0 ||
	    tr_param(tp, TP_INSTANCE, a.p[7]) != 0 ||
	    tr_param(tp, TP_FINGERPRINT, a.p[8]) != 0)
		return -1;
	return 0;
}

/*
 * Record (id 0) or replace session `id` read at `version`: checks, then
 * the write, its audit and the reads of the answer in one job.
 */
static void tr_save(struct conn *c, struct req *r, int64_t id, uint32_t version,
		    const char *key, const Maillage__TrainingSession *s)
{
	struct tr_session_check k = {0};
	struct tr_params tp = {{0}};
	struct tr_bad b = {0};
	struct db_job *job = NULL;
	int rc;

	if (tr_session_check(s, &k, &b) != 0) {
		tr_session_check_free(&k);
		tr_refuse_bad(c, r, &b);
		return;
	}
	rc = tr_params_session(&tp, s, &k) != 0 ||
	     tr_params_audit(&tp, c, r) != 0 ||
	     (id > 0 && tr_param_int(&tp, TP_SESSION, id) != 0) ||
	     tr_param_int(&tp, TP_VERSION, version) != 0 ||
	     (key != NULL && tr_param(&tp, TP_KEY, key) != 0);
	tr_session_check_free(&k);
	if (rc == 0)
		job = db_job_new();
	if (job != NULL &&
	    (db_job_add(job, tr_save_sql, TP_COUNT,
			(const char *const *)tp.p) != 0 ||
	     tr_add_reads(job, tp.p[TP_SESSION], tp.p[TP_ACCOUNT],
			  tp.p[TP_KEY]) != 0)) {
		db_job_free(job);
		job = NULL;
	}
	tr_params_free(&tp);
	req_submit(c, r, job, tr_saved_done);
}

void training_add(struct conn *c, const Maillage__Envelope *env)
{
	const Maillage__TrainingAdd *m = env->training_add;
	const char *key = tr_s(m->idempotency_key);
	struct req *r;

	r = tr_start(c, env, TR_ACT_ADD, ACL_OP_TRAINING_WRITE);
	if (r == NULL)
		return;
	if (key[0] == '\0') {
		tr_refuse(c, r, EC_BAD_REQUEST, "idempotency_key",
			  "an idempotency key is required");
		return;
	}
	if (!valid_idempotency_key(key)) {
		tr_refuse(c, r, EC_BAD_REQUEST, "idempotency_key",
			  "an idempotency key is 1 to 128 characters among "
			  "A-Z a-z 0-9 . _ : -");
		return;
	}
	tr_save(c, r, 0, 0, key, m->session);
}

void training_edit(struct conn *c, const Maillage__Envelope *env)
{
	const Maillage__TrainingEdit *m = env->training_edit;
	struct req *r;

	r = tr_start(c, env, TR_ACT_EDIT, ACL_OP_TRAINING_WRITE);
	if (r == NULL)
		return;
	if (m->id <= 0) {
		tr_refuse(c, r, EC_BAD_REQUEST, "id",
			  "a session id is required");
		return;
	}
	if (m->version == 0) {
		tr_refuse(c, r, EC_BAD_REQUEST, "version",
			  "the version of the session as read is required");
		return;
	}
	tr_save(c, r, m->id, m->version, NULL, m->session);
}

/* ---- show -------------------------------------------------------------- */

static const char tr_guard_sql[] = "SELECT training_session_guard($1::bigint)";

static void tr_show_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);

	if (c == NULL)
		goto out;
	if (reply->status != DB_OK) {
		req_db_failed(c, r, reply);
		goto out;
	}
	tr_reply_session(c, r, reply, 2, 0);
out:
	req_free(r);
}

void training_show(struct conn *c, const Maillage__Envelope *env)
{
	int64_t id = env->training_show->id;
	struct tr_audit a;
	char ids[24];
	const char *params[1];
	struct db_job *job;
	struct req *r;

	r = tr_start(c, env, TR_ACT_SHOW, ACL_OP_TRAINING_READ);
	if (r == NULL)
		return;
	if (id <= 0) {
		tr_refuse(c, r, EC_BAD_REQUEST, "id",
			  "a session id is required");
		return;
	}
	params[0] = req_fmt_int(ids, id);
	tr_audit_fill(&a, c, r, id);
	job = db_job_new();
	if (job != NULL && (db_job_add(job, tr_guard_sql, 1, params) != 0 ||
			    db_job_add(job, tr_audit_sql, 10, a.p) != 0 ||
			    tr_add_reads(job, params[0], NULL, NULL) != 0)) {
		db_job_free(job);
		job = NULL;
	}
	req_submit(c, r, job, tr_show_done);
}

/* ---- list -------------------------------------------------------------- */

static const char tr_list_sql[] =
	"SELECT id, held_on, format, duration_minutes, title, participants,"
	" institutions, modules, version"
	" FROM training_list($1::date, $2::date, $3, $4::bigint, $5::integer)";

static void tr_list_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__TrainingListResult lr = MAILLAGE__TRAINING_LIST_RESULT__INIT;
	Maillage__TrainingSummary *items, **ptrs;
	struct tr_arena a = {0};
	const PGresult *res;
	size_t used = 0, size;
	int i, n;

	if (c == NULL)
		goto out;
	if (reply->status != DB_OK) {
		req_db_failed(c, r, reply);
		goto out;
	}
	res = reply->results[0];
	n = PQntuples(res);
	items = tr_alloc(&a, (size_t)n, sizeof(*items));
	ptrs = tr_alloc(&a, (size_t)n, sizeof(*ptrs));
	if (items == NULL || ptrs == NULL)
		goto oom;
	for (i = 0; i < n; i++) {
		Maillage__TrainingSummary *it = &items[i];

		maillage__training_summary__init(it);
		it->id = req_int(res, i, 0);
		it->held_on = req_str(res, i, 1);
		it->format = req_str(res, i, 2);
		it->duration_minutes = (int32_t)req_int(res, i, 3);
		it->title = req_str(res, i, 4);
		it->participants = (uint32_t)req_int(res, i, 5);
		it->version = (uint32_t)req_int(res, i, 8);
		if (tr_split(&a, req_str(res, i, 6), &it->institutions,
			     &it->n_institutions) != 0 ||
		    tr_split(&a, req_str(res, i, 7), &it->modules,
			     &it->n_modules) != 0)
			goto oom;
		size = maillage__training_summary__get_packed_size(it);
		if (!req_fits(c, used, size)) {
			log_warnx("conn %" PRIu64 " request %" PRIu64
				  ": session list cut at %d of %d to fit a "
				  "frame",
				  c->id, r->request_id, i, n);
			break;
		}
		used += size + 6;
		ptrs[lr.n_sessions++] = it;
	}
	lr.sessions = ptrs;
	env.body_case = MAILLAGE__ENVELOPE__BODY_TRAINING_LIST_RESULT;
	env.training_list_result = &lr;
	req_reply(c, r, &env);
	goto out;
oom:
	req_oom(c, r->request_id);
out:
	tr_arena_free(&a);
	req_free(r);
}

static int tr_list_check(const struct conn *c, const Maillage__TrainingList *m,
			 struct tr_bad *b)
{
	const char *from = tr_s(m->from), *to = tr_s(m->to);
	const char *inst = tr_s(m->institution);

	if (from[0] != '\0' && !valid_date(from))
		return tr_bad(b, "from", "from is a real date YYYY-MM-DD");
	if (to[0] != '\0' && !valid_date(to))
		return tr_bad(b, "to", "to is a real date YYYY-MM-DD");
	if (from[0] != '\0' && to[0] != '\0' && strcmp(to, from) < 0)
		return tr_bad(b, "to", "to is before from");
	if (inst[0] != '\0' && !valid_institution_code(inst))
		return tr_bad(b, "institution", "not an institution code");
	if (m->limit > c->srv->cfg.list_limit_max)
		return tr_bad(b, "limit", "limit is at most %u",
			      c->srv->cfg.list_limit_max);
	if (m->before_id < 0)
		return tr_bad(b, "before_id",
			      "before_id is a session id, or 0");
	return 0;
}

void training_list(struct conn *c, const Maillage__Envelope *env)
{
	const Maillage__TrainingList *m = env->training_list;
	char before[24], limit[24];
	const char *params[5];
	struct tr_bad b = {0};
	struct db_job *job;
	struct req *r;

	r = tr_start(c, env, TR_ACT_LIST, ACL_OP_TRAINING_READ);
	if (r == NULL)
		return;
	if (tr_list_check(c, m, &b) != 0) {
		tr_refuse_bad(c, r, &b);
		return;
	}
	params[0] = tr_s(m->from)[0] != '\0' ? m->from : NULL;
	params[1] = tr_s(m->to)[0] != '\0' ? m->to : NULL;
	params[2] = tr_s(m->institution);
	params[3] = req_fmt_int(before, m->before_id);
	params[4] =
		req_fmt_int(limit, m->limit != 0 ? m->limit : TR_LIST_DEFAULT);
	job = db_job_new();
	if (job != NULL && (db_job_add(job, tr_list_sql, 5, params) != 0 ||
			    req_audit_ok(job, c, r) != 0)) {
		db_job_free(job);
		job = NULL;
	}
	req_submit(c, r, job, tr_list_done);
}

/* ---- reference lists ------------------------------------------------- */

static const char *const tr_reference_sql[4] = {
	"SELECT code, label_fr, label_en FROM training_profile"
	" ORDER BY position",
	"SELECT code, label_fr, label_en FROM training_module"
	" ORDER BY position",
	"SELECT code, label_fr, label_en FROM training_format"
	" ORDER BY position",
	"SELECT code, label_fr, label_en FROM report_kind_label"
	" ORDER BY position",
};

/* The rows of `res` as ReferenceItems; -1 if OOM. */
static int tr_reference_items(struct tr_arena *a, const PGresult *res,
			      Maillage__ReferenceItem ***out, size_t *n)
{
	int rows = PQntuples(res), i;
	Maillage__ReferenceItem *items =
		tr_alloc(a, (size_t)rows, sizeof(*items));
	Maillage__ReferenceItem **ptrs =
		tr_alloc(a, (size_t)rows, sizeof(*ptrs));

	if (items == NULL || ptrs == NULL)
		return -1;
	for (i = 0; i < rows; i++) {
		maillage__reference_item__init(&items[i]);
		items[i].code = req_str(res, i, 0);
		items[i].label_fr = req_str(res, i, 1);
		items[i].label_en = req_str(res, i, 2);
		ptrs[i] = &items[i];
	}
	*out = ptrs;
	*n = (size_t)rows;
	return 0;
}

static void tr_reference_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__TrainingReferenceResult rr =
		MAILLAGE__TRAINING_REFERENCE_RESULT__INIT;
	struct tr_arena a = {0};

	if (c == NULL)
		goto out;
	if (reply->status != DB_OK) {
		req_db_failed(c, r, reply);
		goto out;
	}
	if (tr_reference_items(&a, reply->results[0], &rr.profiles,
			       &rr.n_profiles) != 0 ||
	    tr_reference_items(&a, reply->results[1], &rr.modules,
			       &rr.n_modules) != 0 ||
	    tr_reference_items(&a, reply->results[2], &rr.formats,
			       &rr.n_formats) != 0 ||
	    tr_reference_items(&a, reply->results[3], &rr.kinds, &rr.n_kinds) !=
		    0) {
		req_oom(c, r->request_id);
		goto out;
	}
	env.body_case = MAILLAGE__ENVELOPE__BODY_TRAINING_REFERENCE_RESULT;
	env.training_reference_result = &rr;
	req_reply(c, r, &env);
out:
	tr_arena_free(&a);
	req_free(r);
}

void training_reference(struct conn *c, const Maillage__Envelope *env)
{
	struct db_job *job;
	struct req *r;
	int i;

	r = tr_start(c, env, TR_ACT_REFERENCE, ACL_OP_TRAINING_READ);
	if (r == NULL)
		return;
	job = db_job_new();
	for (i = 0; job != NULL && i < 4; i++) {
		if (db_job_add(job, tr_reference_sql[i], 0, NULL) != 0) {
			db_job_free(job);
			job = NULL;
		}
	}
	if (job != NULL && req_audit_ok(job, c, r) != 0) {
		db_job_free(job);
		job = NULL;
	}
	req_submit(c, r, job, tr_reference_done);
}
