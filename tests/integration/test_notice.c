/*
 * test_notice: integration tests of notices, cases and need to know (issue
 * 3) against the running fixture. They own the checks of every notice and
 * case operation through the `maillage` CLI (--json, parsed with jansson)
 * and, where the CLI cannot express a request or where the exact error field
 * matters, through raw protocol requests: sends by identity and by person
 * id, the inbox and its automatic `received`, every acknowledgement state
 * and transition, the case list filters, case show, parties, lead,
 * close/reopen and protection status; every access rule (a non-party gets
 * the NOT_FOUND of a nonexistent id; each visibility class against each
 * institution kind, with one partner institution of every kind enrolled by
 * `fixture.sh enrol-kinds`; FORBIDDEN for admins, auditors and partners
 * asking for coordinator operations); idempotent resends; concurrent sends
 * meeting on one case; and every bad input of the issue, each refused with
 * its typed error and field, nothing stored (row counts and states
 * unchanged) and a 'refused' audit record. Each test works on young persons
 * of its own, so that the tests do not depend on their order.
 *
 * Usage: test_notice [FILTER [SKIP_FILTER]] (cmocka glob patterns).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "itest.h"

/* An id no row will ever have. */
#define NO_SUCH_ID 999999999999LL
#define NO_SUCH_ID_STR "999999999999"

/*
 * The field named when the legal basis does not allow a recipient's kind (a
 * secret_partage notice to the police): the brief of these tests says "to".
 */
#define BASIS_FIELD "basis"

/* The notice text limit of the default configuration (bytes). */
#define TEXT_MAX 32768

/* A NULL-terminated argument list for the CLI. */
#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

#define EC(x) MAILLAGE__ERROR_CODE__##x

/* ---- small things ------------------------------------------------------ */

/* An id as a string; a few of them may be alive at once. */
static const char *ids(long long v)
{
	static char buf[64][24];
	static unsigned n;
	char *b = buf[n++ % 64];

	snprintf(b, sizeof(buf[0]), "%lld", v);
	return b;
}

/* A name no other test uses: PREFIX followed by random hex digits. */
static const char *fresh(char *buf, size_t n, const char *prefix)
{
	snprintf(buf, n, "%s%llx", prefix,
		 (unsigned long long)itest_unique_id());
	return buf;
}

/* Does `text` hold the number `v` as a whole token? */
static int has_number(const char *text, long long v)
{
	const char *num = ids(v), *p = text;
	size_t n = strlen(num);

	while ((p = strstr(p, num)) != NULL) {
		int before = p > text && p[-1] >= '0' && p[-1] <= '9';
		int after = p[n] >= '0' && p[n] <= '9';

		if (!before && !after)
			return 1;
		p += n;
	}
	return 0;
}

/* "YYYY-MM-DD" of today + `days`, UTC. */
static const char *utc_date(char buf[16], int days)
{
	time_t t = time(NULL) + (time_t)days * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 16, "%Y-%m-%d", &tm);
	return buf;
}

/* ---- the CLI ------------------------------------------------------------ */

static const char *cli_desc(const char *login, const char *const *args)
{
	static char buf[1024];
	size_t n;
	int i;

	snprintf(buf, sizeof(buf), "%s: maillage", login);
	for (i = 0; args[i] != NULL; i++) {
		n = strlen(buf);
		if (n + 2 >= sizeof(buf))
			break;
		snprintf(buf + n, sizeof(buf) - n, " %s", args[i]);
	}
	return buf;
}

/* Run `maillage --config LOGIN.conf [--json] ARGS...`; its exit status. */
static int cli_run(struct itest_output *out, const char *login, int json,
		   const char *const *args)
{
	const struct itest_env *e = itest_env();
	const char *argv[64];
	char conf[ITEST_PATH_MAX + 32];
	size_t n = 0, i;

	snprintf(conf, sizeof(conf), "%s/client/%s.conf", e->workdir, login);
	argv[n++] = e->client_bin;
	argv[n++] = "--config";
	argv[n++] = conf;
	if (json)
		argv[n++] = "--json";
	for (i = 0; args[i] != NULL; i++) {
		if (n + 1 >= sizeof(argv) / sizeof(argv[0]))
			fail_msg("too many CLI arguments");
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	return itest_run(argv, 60, out);
}

/* Run with --json; it must succeed and print one JSON document. */
static json_t *cli_ok(const char *login, const char *const *args)
{
	struct itest_output out;
	json_error_t jerr;
	json_t *doc;

	cli_run(&out, login, 1, args);
	if (out.status != 0)
		fail_msg("`%s`: exit status %d%s, expected 0\nstdout: %s\n"
			 "stderr: %s",
			 cli_desc(login, args), out.status,
			 out.timed_out ? " (timed out)" : "", out.out, out.err);
	doc = json_loads(out.out, 0, &jerr);
	if (doc == NULL)
		fail_msg("`%s`: output is not one JSON document (%s):\n%s",
			 cli_desc(login, args), jerr.text, out.out);
	itest_output_free(&out);
	return doc;
}

/*
 * Run with --json; the server must refuse (exit status 1) and the error
 * printed must name `code` and `field` (NULL: no field to check).
 */
static void cli_refused(const char *login, const char *const *args,
			const char *code, const char *field)
{
	struct itest_output out;

	cli_run(&out, login, 1, args);
	if (out.status != 1)
		fail_msg("`%s`: exit status %d%s, expected 1 (%s)\nstdout: %s\n"
			 "stderr: %s",
			 cli_desc(login, args), out.status,
			 out.timed_out ? " (timed out)" : "", code, out.out,
			 out.err);
	if (strstr(out.err, code) == NULL ||
	    (field != NULL && strstr(out.err, field) == NULL))
		fail_msg("`%s`: the error does not name %s%s%s:\n%s",
			 cli_desc(login, args), code,
			 field != NULL ? " and field " : "",
			 field != NULL ? field : "", out.err);
	itest_output_free(&out);
}

/* ---- JSON --------------------------------------------------------------- */

static json_t *jget(json_t *o, const char *key)
{
	json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;

	if (v == NULL) {
		char *s = json_dumps(o, JSON_COMPACT);

		fail_msg("JSON has no \"%s\": %.3000s", key,
			 s != NULL ? s : "(null)");
	}
	return v;
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = jget(o, key);

	if (!json_is_string(v))
		fail_msg("JSON \"%s\" is not a string", key);
	return json_string_value(v);
}

static int jbool(json_t *o, const char *key)
{
	json_t *v = jget(o, key);

	if (!json_is_boolean(v))
		fail_msg("JSON \"%s\" is not a boolean", key);
	return json_is_true(v);
}

static json_t *jarr(json_t *o, const char *key)
{
	json_t *v = jget(o, key);

	if (!json_is_array(v))
		fail_msg("JSON \"%s\" is not an array", key);
	return v;
}

/* The element of array `a` whose integer `key` is `id`, or NULL. */
static json_t *find_id(json_t *a, const char *key, long long id)
{
	size_t i;
	json_t *v;

	if (!json_is_array(a))
		fail_msg("expected a JSON array");
	json_array_foreach(a, i, v)
	{
		if (itest_jint(v, key) == id)
			return v;
	}
	return NULL;
}

/* The element of array `a` whose string `key` is `s`, or NULL. */
static json_t *find_str(json_t *a, const char *key, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v)
	{
		if (strcmp(jstr(v, key), s) == 0)
			return v;
	}
	return NULL;
}

/* Does the array of strings `a` hold `s`? */
static int has_string(json_t *a, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return 1;
	}
	return 0;
}

/* ---- notices and cases through the CLI ---------------------------------- */

struct sent {
	long long notice_id, case_id, person_id;
	int replayed, new_case, new_person;
};

static struct sent sent_json(json_t *doc)
{
	struct sent s;

	s.notice_id = itest_jint(doc, "notice_id");
	s.case_id = itest_jint(doc, "case_id");
	s.person_id = itest_jint(doc, "person_id");
	s.replayed = jbool(doc, "replayed");
	s.new_case = jbool(doc, "new_case");
	s.new_person = jbool(doc, "new_person");
	if (s.notice_id <= 0 || s.case_id <= 0 || s.person_id <= 0)
		fail_msg("notice send answered ids %lld/%lld/%lld", s.notice_id,
			 s.case_id, s.person_id);
	return s;
}

static struct sent cli_send(const char *login, const char *const *args)
{
	json_t *doc = cli_ok(login, args);
	struct sent s = sent_json(doc);

	json_decref(doc);
	return s;
}

/* A notice about a new young person (fresh names) from `login` to `to`. */
static struct sent send_new(const char *login, const char *kind, const char *to,
			    const char *vis)
{
	char given[48];
	struct sent s;

	fresh(given, sizeof(given), "Iona");
	s = cli_send(login, ARGS("notice", "send", "--kind", kind, "--to", to,
				 "--visibility", vis, "--given-name", given,
				 "--family-name", "Testescu"));
	if (!s.new_person || !s.new_case || s.replayed)
		fail_msg("a first notice about a new person: new_person %d "
			 "new_case %d replayed %d",
			 s.new_person, s.new_case, s.replayed);
	return s;
}

/* A notice about a known person. */
static struct sent send_about(const char *login, long long person,
			      const char *kind, const char *to, const char *vis)
{
	struct sent s;

	s = cli_send(login, ARGS("notice", "send", "--kind", kind, "--to", to,
				 "--visibility", vis, "--person", ids(person)));
	if (s.person_id != person || s.new_person || s.replayed)
		fail_msg("a notice about person %lld: person %lld "
			 "new_person %d replayed %d",
			 person, s.person_id, s.new_person, s.replayed);
	return s;
}

static json_t *case_show(const char *login, long long case_id)
{
	json_t *v = cli_ok(login, ARGS("case", "show", ids(case_id)));

	if (itest_jint(v, "case_id") != case_id)
		fail_msg("case show %lld answered case %lld", case_id,
			 itest_jint(v, "case_id"));
	return v;
}

/* The recipient `inst` of notice `notice_id` in a case view. */
static json_t *view_recipient(json_t *view, long long notice_id,
			      const char *inst)
{
	json_t *n = find_id(jarr(view, "notices"), "notice_id", notice_id);
	json_t *r;

	if (n == NULL)
		fail_msg("notice %lld missing from the case view", notice_id);
	r = find_str(jarr(n, "recipients"), "institution", inst);
	if (r == NULL)
		fail_msg("notice %lld has no recipient %s", notice_id, inst);
	return r;
}

static void expect_recipient(json_t *view, long long notice_id,
			     const char *inst, const char *state,
			     const char *reason)
{
	json_t *r = view_recipient(view, notice_id, inst);

	if (strcmp(jstr(r, "state"), state) != 0)
		fail_msg("notice %lld, recipient %s: state %s, expected %s",
			 notice_id, inst, jstr(r, "state"), state);
	if (reason != NULL && strcmp(jstr(r, "reason"), reason) != 0)
		fail_msg("notice %lld, recipient %s: reason %s, expected %s",
			 notice_id, inst, jstr(r, "reason"), reason);
}

/* The case's party codes from a CaseSummary (CLI JSON) hold `inst`? */
static int summary_has_party(json_t *summary, const char *inst)
{
	return has_string(jarr(summary, "parties"), inst);
}

/* The party `inst` of a case view, or NULL. */
static json_t *view_party(json_t *view, const char *inst)
{
	return find_str(jarr(view, "parties"), "institution", inst);
}

/* Number of events `what` (about `inst` when not NULL) in a case view. */
static int view_events(json_t *view, const char *what, const char *inst)
{
	size_t i;
	json_t *e;
	int n = 0;

	json_array_foreach(jarr(view, "events"), i, e)
	{
		if (strcmp(jstr(e, "what"), what) == 0 &&
		    (inst == NULL || strcmp(jstr(e, "institution"), inst) == 0))
			n++;
	}
	return n;
}

/* ---- the database -------------------------------------------------------- */

static void sql_str(char *out, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void sql_str(char *out, size_t n, const char *fmt, ...)
{
	char sql[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (itest_psql(sql, out, n) != 0)
		fail_msg("SQL failed: %s", sql);
}

/*
 * What a refused request must leave as it was: the number of rows of every
 * table it could write, and the states a write could change. Escalations
 * (written by the daemon on its own) are left out.
 */
static const char snapshot_sql[] =
	"SELECT concat_ws('|',"
	" (SELECT count(*) FROM person),"
	" (SELECT count(*) FROM identity_assertion),"
	" (SELECT count(*) FROM case_file),"
	" (SELECT count(*) FROM case_party),"
	" (SELECT count(*) FROM notice),"
	" (SELECT count(*) FROM notice_indicator),"
	" (SELECT count(*) FROM notice_recipient),"
	" (SELECT count(*) FROM case_event WHERE what <> 'escalated'),"
	" (SELECT count(*) FROM inst_event WHERE what <> 'escalation'),"
	" (SELECT md5(coalesce(string_agg(notice_id || ':' || institution_id"
	"  || ':' || state || ':' || coalesce(reason, '') || ':'"
	"  || coalesce(note, ''), ',' ORDER BY notice_id, institution_id), ''))"
	"  FROM notice_recipient),"
	" (SELECT md5(coalesce(string_agg(id || ':' || status || ':'"
	"  || protection_status || ':' || coalesce(lead_institution_id, 0)"
	"  || ':' || coalesce(close_reason, ''), ',' ORDER BY id), ''))"
	"  FROM case_file))";

static void snapshot(char *buf, size_t n)
{
	if (itest_psql(snapshot_sql, buf, n) != 0 || buf[0] == '\0')
		fail_msg("cannot take a snapshot of the database");
}

static void expect_unchanged(const char *before, const char *what)
{
	char after[512];

	snapshot(after, sizeof(after));
	if (strcmp(before, after) != 0)
		fail_msg("%s: the refused request changed the database:\n"
			 "before %s\nafter  %s",
			 what, before, after);
}

/* ---- raw protocol ---------------------------------------------------------
 */

/* The request id of the last raw request (for its audit record). */
static uint64_t last_rid;

static struct frame_msg *raw(struct itest_conn *c, Maillage__Envelope *env)
{
	struct frame_msg *m;

	env->request_id = itest_unique_id();
	last_rid = env->request_id;
	m = itest_request(c, env, ITEST_REPLY_MS);
	if (m == NULL)
		fail_msg("no answer to %s: %s", frame_body_name(env), c->error);
	return m;
}

static void expect_body(const struct frame_msg *m,
			Maillage__Envelope__BodyCase want, const char *what)
{
	if (m->env->body_case == want)
		return;
	if (m->env->body_case == MAILLAGE__ENVELOPE__BODY_ERROR)
		fail_msg("%s: answered by Error %s field \"%s\": %s", what,
			 itest_error_name(m->env->error->code),
			 m->env->error->field, m->env->error->message);
	fail_msg("%s: answered by %s", what, frame_body_name(m->env));
}

/* The answer must be Error `code` naming `field` (NULL: not checked). */
static void expect_error(const struct frame_msg *m, Maillage__ErrorCode code,
			 const char *field, const char *what)
{
	const Maillage__Error *e = m->env->error;

	if (m->env->body_case != MAILLAGE__ENVELOPE__BODY_ERROR)
		fail_msg("%s: expected Error %s (field \"%s\"), got %s", what,
			 itest_error_name(code), field != NULL ? field : "*",
			 frame_body_name(m->env));
	if (e->code != code ||
	    (field != NULL && strcmp(e->field != NULL ? e->field : "", field)))
		fail_msg("%s: expected Error %s field \"%s\", got Error %s "
			 "field \"%s\" (%s)",
			 what, itest_error_name(code),
			 field != NULL ? field : "*", itest_error_name(e->code),
			 e->field, e->message);
}

/*
 * The audit record of the last raw request: one row with this action and
 * outcome (and error code unless NULL). Refusals are audited in a job of
 * their own that may commit after the answer: wait for it (bounded).
 */
static void expect_audit(const char *login, const char *action,
			 const char *outcome, const char *code)
{
	char sql[1024], codecond[96] = "";
	int64_t deadline = itest_now_ms() + 15000;
	long long n;

	if (code != NULL)
		snprintf(codecond, sizeof(codecond), " AND error_code = '%s'",
			 code);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM audit_event WHERE request_id = %llu"
		 " AND login = '%s' AND action = '%s' AND outcome = '%s'%s",
		 (unsigned long long)last_rid, login, action, outcome,
		 codecond);
	for (;;) {
		n = itest_psql_int(sql);
		if (n != 0 || itest_now_ms() > deadline)
			break;
		itest_sleep_ms(100);
	}
	if (n != 1) {
		char all[512] = "";

		sql_str(all, sizeof(all),
			"SELECT coalesce(string_agg(login || ' ' || action || "
			"' ' || outcome || ' ' || coalesce(error_code, '-'), "
			"'; '), 'none') FROM audit_event WHERE request_id = "
			"%llu",
			(unsigned long long)last_rid);
		fail_msg("audit of request %llu: %lld rows with %s %s %s %s, "
			 "expected 1 (found: %s)",
			 (unsigned long long)last_rid, n, login, action,
			 outcome, code != NULL ? code : "", all);
	}
}

/*
 * Send `env` as `login` on `c`: it must be refused with `code` naming
 * `field`, change nothing in the database, and be audited as refused.
 */
static void refused(struct itest_conn *c, const char *login,
		    Maillage__Envelope *env, const char *action,
		    Maillage__ErrorCode code, const char *field,
		    const char *what)
{
	char before[512];
	struct frame_msg *m;

	snapshot(before, sizeof(before));
	m = raw(c, env);
	expect_error(m, code, field, what);
	frame_msg_free(m);
	expect_unchanged(before, what);
	expect_audit(login, action, "refused", itest_error_name(code));
}

/* One request of any kind, built in place. */
struct rq {
	Maillage__Envelope env;
	union {
		Maillage__Inbox inbox;
		Maillage__Ack ack;
		Maillage__CaseList list;
		Maillage__CaseShow show;
		Maillage__CasePartyChange party;
		Maillage__CaseLead lead;
		Maillage__CaseClose close;
		Maillage__CaseReopen reopen;
		Maillage__CaseStatus status;
		Maillage__Indicators indicators;
	} u;
	char *ind[4];
};

static Maillage__Envelope *rq_inbox(struct rq *q, int unacked, unsigned limit)
{
	maillage__envelope__init(&q->env);
	maillage__inbox__init(&q->u.inbox);
	q->u.inbox.unacked_only = unacked;
	q->u.inbox.limit = limit;
	q->env.body_case = MAILLAGE__ENVELOPE__BODY_INBOX;
	q->env.inbox = &q->u.inbox;
	return &q->env;
}

static Maillage__Envelope *rq_ack(struct rq *q, long long notice,
				  const char *state, const char *reason,
				  const char *note)
{
	maillage__envelope__init(&q->env);
	maillage__ack__init(&q->u.ack);
	q->u.ack.notice_id = notice;
	q->u.ack.state = (char *)state;
	if (reason != NULL)
		q->u.ack.reason = (char *)reason;
	if (note != NULL)
		q->u.ack.note = (char *)note;
	q->env.body_case = MAILLAGE__ENVELOPE__BODY_ACK;
	q->env.ack = &q->u.ack;
	return &q->env;
}

static Maillage__Envelope *rq_list(struct rq *q, const char *status,
				   const char *kind, const char *urgency,
				   const char *since)
{
	maillage__envelope__init(&q->env);
	maillage__case_list__init(&q->u.list);
	q->u.list.status = (char *)status;
	q->u.list.kind = (char *)kind;
	q->u.list.urgency = (char *)urgency;
	q->u.list.updated_since = (char *)since;
	q->u.list.limit = 1000;
	q->env.body_case = MAILLAGE__ENVELOPE__BODY_CASE_LIST;
	q->env.case_list = &q->u.list;
	return &q->env;
}

static Maillage__Envelope *rq_show(struct rq *q, long long case_id)
{
	maillage__envelope__init(&q->env);
	maillage__case_show__init(&q->u.show);
	q->u.show.case_id = case_id;
	q->env.body_case = MAILLAGE__ENVELOPE__BODY_CASE_SHOW;
	q->env.case_show = &q->u.show;
	return &q->env;
}

static Maillage__Envelope *rq_party(struct rq *q, long long case_id,
				    const char *inst, int remove)
{
	maillage__envelope__init(&q->env);
	maillage__case_party_change__init(&q->u.party);
	q->u.party.case_id = case_id;
	q->u.party.institution = (char *)inst;
	q->u.party.remove = remove;
	q->env.body_case = MAILLAGE__ENVELOPE__BODY_CASE_PARTY;
	q->env.case_party = &q->u.party;
	return &q->env;
}

static Maillage__Envelope *rq_lead(struct rq *q, long long case_id,
				   const char *inst)
{
	maillage__envelope__init(&q->env);
	maillage__case_lead__init(&q->u.lead);
	q->u.lead.case_id = case_id;
	q->u.lead.institution = (char *)inst;
	q->env.body_case = MAILLAGE__ENVELOPE__BODY_CASE_LEAD;
	q->env.case_lead = &q->u.lead;
	return &q->env;
}

static Maillage__Envelope *rq_close(struct rq *q, long long case_id,
				    const char *reason)
{
	maillage__envelope__init(&q->env);
	maillage__case_close__init(&q->u.close);
	q->u.close.case_id = case_id;
	q->u.close.reason = (char *)reason;
	q->env.body_case = MAILLAGE__ENVELOPE__BODY_CASE_CLOSE;
	q->env.case_close = &q->u.close;
	return &q->env;
}

static Maillage__Envelope *rq_reopen(struct rq *q, long long case_id)
{
	maillage__envelope__init(&q->env);
	maillage__case_reopen__init(&q->u.reopen);
	q->u.reopen.case_id = case_id;
	q->env.body_case = MAILLAGE__ENVELOPE__BODY_CASE_REOPEN;
	q->env.case_reopen = &q->u.reopen;
	return &q->env;
}

static Maillage__Envelope *rq_status(struct rq *q, long long case_id,
				     const char *status, const char *indicator)
{
	maillage__envelope__init(&q->env);
	maillage__case_status__init(&q->u.status);
	q->u.status.case_id = case_id;
	q->u.status.status = (char *)status;
	if (indicator != NULL) {
		q->ind[0] = (char *)indicator;
		q->u.status.indicators = q->ind;
		q->u.status.n_indicators = 1;
	}
	q->env.body_case = MAILLAGE__ENVELOPE__BODY_CASE_STATUS;
	q->env.case_status = &q->u.status;
	return &q->env;
}

static Maillage__Envelope *rq_indicators(struct rq *q, const char *category)
{
	maillage__envelope__init(&q->env);
	maillage__indicators__init(&q->u.indicators);
	q->u.indicators.category = (char *)category;
	q->env.body_case = MAILLAGE__ENVELOPE__BODY_INDICATORS;
	q->env.indicators = &q->u.indicators;
	return &q->env;
}

/* A NoticeSend built in place: a sighting about a new person by default. */
struct rawsend {
	Maillage__Envelope env;
	Maillage__NoticeSend m;
	Maillage__Identity id;
	char *to[8];
	char *ind[8];
	char *lang[4];
	char key[48];
	char given[48];
};

static Maillage__Envelope *rs_init(struct rawsend *s, const char *kind,
				   const char *to)
{
	memset(s, 0, sizeof(*s));
	maillage__envelope__init(&s->env);
	maillage__notice_send__init(&s->m);
	maillage__identity__init(&s->id);
	s->m.idempotency_key = (char *)fresh(s->key, sizeof(s->key), "raw-");
	s->m.kind = (char *)kind;
	s->m.to = s->to;
	if (to != NULL) {
		s->to[0] = (char *)to;
		s->m.n_to = 1;
	}
	s->m.indicators = s->ind;
	s->id.given_name = (char *)fresh(s->given, sizeof(s->given), "Raw");
	s->id.family_name = "Protocolova";
	s->id.languages = s->lang;
	s->m.identity = &s->id;
	s->env.body_case = MAILLAGE__ENVELOPE__BODY_NOTICE_SEND;
	s->env.notice_send = &s->m;
	return &s->env;
}

/* About a known person instead of a new identity. */
static void rs_person(struct rawsend *s, long long person)
{
	s->m.identity = NULL;
	s->m.person_id = person;
}

static void rs_to(struct rawsend *s, const char *to)
{
	s->to[s->m.n_to++] = (char *)to;
}

static void rs_indicator(struct rawsend *s, const char *code)
{
	s->ind[s->m.n_indicators++] = (char *)code;
}

/* Send; the answer must be NoticeSent. */
static struct sent raw_sent(struct itest_conn *c, struct rawsend *s,
			    const char *what)
{
	struct frame_msg *m = raw(c, &s->env);
	const Maillage__NoticeSent *ns;
	struct sent r;

	expect_body(m, MAILLAGE__ENVELOPE__BODY_NOTICE_SENT, what);
	ns = m->env->notice_sent;
	r.notice_id = ns->notice_id;
	r.case_id = ns->case_id;
	r.person_id = ns->person_id;
	r.replayed = ns->replayed;
	r.new_case = ns->new_case;
	r.new_person = ns->new_person;
	frame_msg_free(m);
	if (r.notice_id <= 0 || r.case_id <= 0 || r.person_id <= 0)
		fail_msg("%s: NoticeSent with ids %lld/%lld/%lld", what,
			 r.notice_id, r.case_id, r.person_id);
	return r;
}

/* A raw request that must succeed with body `want`; the caller frees. */
static struct frame_msg *raw_ok(struct itest_conn *c, Maillage__Envelope *env,
				Maillage__Envelope__BodyCase want,
				const char *what)
{
	struct frame_msg *m = raw(c, env);

	expect_body(m, want, what);
	return m;
}

/* The error answered to `env`, for comparing two refusals. */
struct answer {
	Maillage__ErrorCode code;
	char field[128];
	char message[512];
};

static struct answer raw_answer(struct itest_conn *c, Maillage__Envelope *env,
				const char *what)
{
	struct frame_msg *m = raw(c, env);
	struct answer a;

	if (m->env->body_case != MAILLAGE__ENVELOPE__BODY_ERROR)
		fail_msg("%s: expected an Error, got %s", what,
			 frame_body_name(m->env));
	a.code = m->env->error->code;
	snprintf(a.field, sizeof(a.field), "%s", m->env->error->field);
	snprintf(a.message, sizeof(a.message), "%s", m->env->error->message);
	frame_msg_free(m);
	return a;
}

/* Two refusals must be the same answer: code, field and message. */
static void expect_same_answer(const struct answer *a, const struct answer *b,
			       const char *what)
{
	if (a->code != b->code || strcmp(a->field, b->field) != 0 ||
	    strcmp(a->message, b->message) != 0)
		fail_msg("%s: the answers differ: %s \"%s\" \"%s\" vs %s "
			 "\"%s\" \"%s\"",
			 what, itest_error_name(a->code), a->field, a->message,
			 itest_error_name(b->code), b->field, b->message);
}

/* ---- institutions of every kind --------------------------------------- */

struct reader {
	const char *login;
	const char *institution;
	const char *kind;
};

/* One account for each institution kind (coord: a coordinator). */
static const struct reader readers[] = {
	{"coord", "hlr", "association"},   {"ase", "ase75", "child_welfare"},
	{"pjj", "pjj75", "youth_justice"}, {"police", "police75", "police"},
	{"juge", "tpe75", "court"},	   {"gend", "gend77", "gendarmerie"},
	{"sante", "hopital75", "health"},  {"avocat", "avocat75", "lawyer"},
	{"ecole", "ecole75", "education"}, {"autre", "autre75", "other"},
};

#define NREADERS (sizeof(readers) / sizeof(readers[0]))

/* The default visibility matrix of sql/002_notices.sql. */
static int class_readable(const char *vis, const char *kind)
{
	static const char *const social[] = {"association", "child_welfare",
					     "youth_justice", "court", NULL};
	static const char *const health[] = {"health", NULL};
	static const char *const judicial[] = {"police", "gendarmerie", "court",
					       "youth_justice", NULL};
	const char *const *list = NULL;
	size_t i;

	if (strcmp(vis, "general") == 0)
		return 1;
	if (strcmp(vis, "social") == 0)
		list = social;
	else if (strcmp(vis, "health") == 0)
		list = health;
	else if (strcmp(vis, "judicial") == 0)
		list = judicial;
	else
		fail_msg("unknown class %s", vis);
	for (i = 0; list[i] != NULL; i++)
		if (strcmp(list[i], kind) == 0)
			return 1;
	return 0;
}

/* ==== the scenario of the issue ========================================= */

/*
 * Done when, on the quickstart network, ase can send a referral about a new
 * young person to pjj75 and hlr, pjj sees it in its inbox and accepts it,
 * ase sees the acceptance in case show, police (not a party) gets NOT_FOUND
 * for that case, and coord sees it: all through the CLI.
 */
static void test_done_when(void **state)
{
	char given[48];
	struct sent s;
	json_t *inbox, *it, *ack, *view;
	struct itest_output out;
	const char *hlr_state;

	(void)state;
	fresh(given, sizeof(given), "Karim");
	/* the commands of README.md, with a name of this test's own */
	s = cli_send("ase",
		     ARGS("notice", "send", "--kind", "referral", "--to",
			  "pjj75,hlr", "--given-name", given, "--family-name",
			  "Benali", "--birth-date", "2009-03", "--sex", "M",
			  "--nationality", "MA", "--indicator", "CTRL_PHONE",
			  "--indicator", "OFF_MULTI_CITY", "--text",
			  "Interpellé trois fois ce mois-ci, dit devoir "
			  "rembourser une dette.",
			  "--informed", "yes"));
	assert_true(s.new_person);
	assert_true(s.new_case);
	assert_false(s.replayed);

	/* pjj sees it, received automatically on delivery */
	inbox = cli_ok("pjj", ARGS("inbox"));
	it = find_id(inbox, "notice_id", s.notice_id);
	if (it == NULL)
		fail_msg("notice %lld not in pjj's inbox", s.notice_id);
	assert_int_equal(itest_jint(it, "case_id"), s.case_id);
	assert_int_equal(itest_jint(it, "person_id"), s.person_id);
	assert_string_equal(jstr(it, "kind"), "referral");
	assert_string_equal(jstr(it, "from_institution"), "ase75");
	assert_string_equal(jstr(it, "state"), "received");
	assert_string_equal(jstr(it, "basis"), "secret_partage");
	assert_non_null(strstr(jstr(it, "person_label"), given));
	json_decref(inbox);

	/* pjj accepts */
	ack = cli_ok("pjj",
		     ARGS("ack", ids(s.notice_id), "--state", "accepted"));
	assert_int_equal(itest_jint(ack, "notice_id"), s.notice_id);
	assert_int_equal(itest_jint(ack, "case_id"), s.case_id);
	assert_string_equal(jstr(ack, "state"), "accepted");
	assert_string_equal(jstr(ack, "previous_state"), "received");
	json_decref(ack);

	/* ase sees the acceptance */
	view = case_show("ase", s.case_id);
	assert_int_equal(itest_jint(view, "person_id"), s.person_id);
	assert_string_equal(jstr(view, "status"), "open");
	expect_recipient(view, s.notice_id, "pjj75", "accepted", "");
	hlr_state = jstr(view_recipient(view, s.notice_id, "hlr"), "state");
	if (strcmp(hlr_state, "sent") != 0 && strcmp(hlr_state, "received"))
		fail_msg("hlr has not acknowledged, yet is %s", hlr_state);
	json_decref(view);

	/* police, not a party: NOT_FOUND */
	cli_refused("police", ARGS("case", "show", ids(s.case_id)), "NOT_FOUND",
		    NULL);

	/* coord sees it, in its case list too */
	view = case_show("coord", s.case_id);
	expect_recipient(view, s.notice_id, "pjj75", "accepted", "");
	json_decref(view);
	view = cli_ok("coord", ARGS("case", "list"));
	assert_non_null(find_id(view, "case_id", s.case_id));
	json_decref(view);

	/* and what a user reads without --json */
	cli_run(&out, "ase", 0, ARGS("case", "show", ids(s.case_id)));
	if (out.status != 0 || strstr(out.out, "pjj75") == NULL ||
	    strstr(out.out, "accepted") == NULL ||
	    strstr(out.out, given) == NULL)
		fail_msg("ase's case show (exit %d) does not show pjj75's "
			 "acceptance:\n%s%s",
			 out.status, out.out, out.err);
	itest_output_free(&out);
	cli_run(&out, "police", 0, ARGS("case", "show", ids(s.case_id)));
	assert_int_equal(out.status, 1);
	assert_non_null(strstr(out.err, "NOT_FOUND"));
	itest_output_free(&out);
}

/* Without --json, notice send prints the notice id and the case id. */
static void test_send_text_output(void **state)
{
	char given[48], key[48];
	struct itest_output out;
	long long notice, case_id;

	(void)state;
	fresh(given, sizeof(given), "Textu");
	fresh(key, sizeof(key), "text-");
	cli_run(&out, "ase", 0,
		ARGS("notice", "send", "--kind", "sighting", "--to", "pjj75",
		     "--given-name", given, "--family-name", "Plain", "--key",
		     key));
	if (out.status != 0)
		fail_msg("notice send: exit %d: %s", out.status, out.err);
	notice = itest_sql_int(
		"SELECT id FROM notice WHERE idempotency_key = '%s'", key);
	case_id = itest_sql_int("SELECT case_id FROM notice WHERE "
				"idempotency_key = '%s'",
				key);
	if (!has_number(out.out, notice) || !has_number(out.out, case_id))
		fail_msg("notice send does not print notice %lld and case "
			 "%lld:\n%s",
			 notice, case_id, out.out);
	itest_output_free(&out);
}

/* ==== notice send ======================================================= */

/* Every field of a send by identity lands in the case as it was given. */
static void test_send_identity(void **state)
{
	char given[48];
	struct sent s;
	json_t *view, *n, *idn, *a, *p;
	size_t i;
	int opened = 0, noticed = 0;

	(void)state;
	fresh(given, sizeof(given), "Mirela");
	s = cli_send(
		"ase",
		ARGS("notice", "send", "--kind", "sighting", "--to", "pjj75",
		     "--given-name", given, "--family-name", "Identitate",
		     "--birth-date", "2009-05", "--sex", "F", "--nationality",
		     "RO", "--languages", "ro,fr", "--place", "Gare du Nord",
		     "--indicator", "CTRL_ADULT_WATCH", "--indicator",
		     "OFF_REPEAT", "--urgency", "urgent", "--text",
		     "Vue deux fois avec un adulte.\nDeuxième ligne.",
		     "--informed", "no", "--informed-note", "Danger immédiat"));
	assert_true(s.new_person);
	assert_true(s.new_case);
	assert_false(s.replayed);

	view = case_show("ase", s.case_id);
	assert_int_equal(itest_jint(view, "person_id"), s.person_id);
	assert_string_equal(jstr(view, "status"), "open");
	assert_string_equal(jstr(view, "protection_status"), "spotted");
	assert_string_equal(jstr(view, "lead"), "");
	assert_string_equal(jstr(view, "last_kind"), "sighting");
	assert_string_equal(jstr(view, "last_urgency"), "urgent");
	assert_string_equal(jstr(view, "closed_at"), "");
	assert_non_null(strstr(jstr(view, "person_label"), given));

	/* parties: the sender and the recipient, none the lead */
	assert_int_equal(json_array_size(jarr(view, "parties")), 2);
	p = view_party(view, "ase75");
	assert_non_null(p);
	assert_string_equal(jstr(p, "kind"), "child_welfare");
	assert_false(jbool(p, "lead"));
	p = view_party(view, "pjj75");
	assert_non_null(p);
	assert_string_equal(jstr(p, "kind"), "youth_justice");

	/* the identity, asserted by ase75 with this notice */
	assert_int_equal(json_array_size(jarr(view, "identities")), 1);
	a = json_array_get(jarr(view, "identities"), 0);
	assert_string_equal(jstr(a, "asserted_by"), "ase75");
	assert_int_equal(itest_jint(a, "notice_id"), s.notice_id);
	idn = jget(a, "identity");
	assert_string_equal(jstr(idn, "given_name"), given);
	assert_string_equal(jstr(idn, "family_name"), "Identitate");
	assert_string_equal(jstr(idn, "birth_date"), "2009-05");
	assert_string_equal(jstr(idn, "sex"), "F");
	assert_string_equal(jstr(idn, "nationality"), "RO");
	assert_string_equal(jstr(idn, "place_seen"), "Gare du Nord");
	assert_int_equal(json_array_size(jarr(idn, "languages")), 2);
	assert_true(has_string(jarr(idn, "languages"), "ro"));
	assert_true(has_string(jarr(idn, "languages"), "fr"));

	/* the notice */
	assert_int_equal(json_array_size(jarr(view, "notices")), 1);
	n = find_id(jarr(view, "notices"), "notice_id", s.notice_id);
	assert_non_null(n);
	assert_string_equal(jstr(n, "kind"), "sighting");
	assert_string_equal(jstr(n, "urgency"), "urgent");
	assert_string_equal(jstr(n, "visibility"), "general");
	assert_string_equal(jstr(n, "basis"), "secret_partage");
	assert_string_equal(jstr(n, "informed"), "no");
	assert_string_equal(jstr(n, "informed_note"), "Danger immédiat");
	assert_string_equal(jstr(n, "from_institution"), "ase75");
	assert_string_equal(jstr(n, "from_login"), "ase");
	assert_string_equal(jstr(n, "text"),
			    "Vue deux fois avec un adulte.\nDeuxième ligne.");
	assert_int_equal(json_array_size(jarr(n, "indicators")), 2);
	assert_true(has_string(jarr(n, "indicators"), "CTRL_ADULT_WATCH"));
	assert_true(has_string(jarr(n, "indicators"), "OFF_REPEAT"));
	assert_int_equal(json_array_size(jarr(n, "recipients")), 1);
	expect_recipient(view, s.notice_id, "pjj75", "sent", "");
	assert_true(strlen(jstr(n, "sent_at")) == 20);

	/* the timeline: opened and notice, both with the notice */
	json_array_foreach(jarr(view, "events"), i, a)
	{
		if (strcmp(jstr(a, "what"), "opened") == 0) {
			opened++;
			assert_int_equal(itest_jint(a, "notice_id"),
					 s.notice_id);
			assert_string_equal(jstr(a, "by_institution"), "ase75");
		} else if (strcmp(jstr(a, "what"), "notice") == 0) {
			noticed++;
			assert_int_equal(itest_jint(a, "notice_id"),
					 s.notice_id);
		}
	}
	assert_int_equal(opened, 1);
	assert_int_equal(noticed, 1);
	json_decref(view);

	/* in the database */
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM notice_recipient WHERE "
			      "notice_id = %lld AND state = 'sent'",
			      s.notice_id),
		1);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM identity_assertion "
			      "WHERE person_id = %lld AND notice_id = %lld",
			      s.person_id, s.notice_id),
		1);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM notice WHERE id = %lld "
			      "AND informed = false",
			      s.notice_id),
		1);
}

/* A declared age instead of a birth date; informed yes; no text. */
static void test_send_declared_age(void **state)
{
	char given[48];
	struct sent s;
	json_t *view, *idn, *n;

	(void)state;
	fresh(given, sizeof(given), "Yassine");
	s = cli_send("ase",
		     ARGS("notice", "send", "--kind", "shelter", "--to", "hlr",
			  "--given-name", given, "--family-name", "Age",
			  "--declared-age", "15", "--age-declared-on",
			  "2025-01-10", "--sex", "M", "--informed", "yes"));
	view = case_show("ase", s.case_id);
	idn = jget(json_array_get(jarr(view, "identities"), 0), "identity");
	assert_int_equal(itest_jint(idn, "declared_age"), 15);
	assert_string_equal(jstr(idn, "age_declared_on"), "2025-01-10");
	assert_string_equal(jstr(idn, "birth_date"), "");
	assert_string_equal(jstr(idn, "sex"), "M");
	n = find_id(jarr(view, "notices"), "notice_id", s.notice_id);
	assert_non_null(n);
	assert_string_equal(jstr(n, "informed"), "yes");
	assert_string_equal(jstr(n, "text"), "");
	assert_string_equal(jstr(n, "urgency"), "normal");
	json_decref(view);
}

/* Write `content` to a new file under the fixture's directory. */
static void write_temp(char *path, size_t n, const char *suffix,
		       const char *content)
{
	FILE *f;

	snprintf(path, n, "%s/notice-%llx%s", itest_env()->workdir,
		 (unsigned long long)itest_unique_id(), suffix);
	f = fopen(path, "w");
	if (f == NULL || fputs(content, f) == EOF || fclose(f) != 0)
		fail_msg("cannot write %s", path);
}

/*
 * --file reads the notice from JSON with the protocol's names (options
 * override it); --text-file reads the free text; without --key each send
 * is a notice of its own.
 */
static void test_send_file(void **state)
{
	char given[48], key[48], json[1024], path[ITEST_PATH_MAX + 64];
	char tpath[ITEST_PATH_MAX + 64];
	static const char text[] = "Première ligne « citée ».\n"
				   "\tSeconde ligne, tabulée.\n";
	struct sent s, t, u;
	json_t *view, *n, *idn;

	(void)state;
	fresh(given, sizeof(given), "Fichier");
	fresh(key, sizeof(key), "file-");
	snprintf(json, sizeof(json),
		 "{\"kind\": \"referral\", \"to\": [\"pjj75\", \"hlr\"],"
		 " \"identity\": {\"given_name\": \"%s\","
		 " \"family_name\": \"Json\", \"birth_date\": \"2008\","
		 " \"languages\": [\"ar\"]},"
		 " \"indicators\": [\"CTRL_PHONE\"], \"urgency\": \"urgent\","
		 " \"visibility\": \"social\", \"text\": \"Du fichier.\","
		 " \"informed\": \"yes\", \"idempotency_key\": \"%s\"}",
		 given, key);
	write_temp(path, sizeof(path), ".json", json);
	s = cli_send("ase", ARGS("notice", "send", "--file", path, "--urgency",
				 "normal"));
	assert_true(s.new_person);
	assert_int_equal(itest_sql_int("SELECT id FROM notice WHERE "
				       "idempotency_key = '%s'",
				       key),
			 s.notice_id);
	view = case_show("ase", s.case_id);
	n = find_id(jarr(view, "notices"), "notice_id", s.notice_id);
	assert_non_null(n);
	assert_string_equal(jstr(n, "kind"), "referral");
	assert_string_equal(jstr(n, "urgency"), "normal");
	assert_string_equal(jstr(n, "visibility"), "social");
	assert_string_equal(jstr(n, "text"), "Du fichier.");
	assert_string_equal(jstr(n, "informed"), "yes");
	assert_true(has_string(jarr(n, "indicators"), "CTRL_PHONE"));
	assert_int_equal(json_array_size(jarr(n, "recipients")), 2);
	idn = jget(json_array_get(jarr(view, "identities"), 0), "identity");
	assert_string_equal(jstr(idn, "given_name"), given);
	assert_string_equal(jstr(idn, "birth_date"), "2008");
	assert_true(has_string(jarr(idn, "languages"), "ar"));
	json_decref(view);
	remove(path);

	write_temp(tpath, sizeof(tpath), ".txt", text);
	t = cli_send("ase", ARGS("notice", "send", "--kind", "followup", "--to",
				 "pjj75", "--person", ids(s.person_id),
				 "--text-file", tpath));
	u = cli_send("ase", ARGS("notice", "send", "--kind", "followup", "--to",
				 "pjj75", "--person", ids(s.person_id),
				 "--text-file", tpath));
	remove(tpath);
	assert_false(u.replayed);
	assert_true(t.notice_id != u.notice_id);
	view = case_show("pjj", s.case_id);
	n = find_id(jarr(view, "notices"), "notice_id", t.notice_id);
	assert_non_null(n);
	assert_string_equal(jstr(n, "text"), text);
	json_decref(view);
}

/*
 * By person id: a party's later notices join the open case; each kind gets
 * its default legal basis; a coordinator may write about any person; a
 * partner outside the person's cases gets the NOT_FOUND of a nonexistent
 * person.
 */
static void test_send_person_id(void **state)
{
	struct sent s, t, u, w;
	json_t *view, *n;
	struct itest_conn *c;
	struct rawsend rs;
	struct answer a, b;

	(void)state;
	s = send_new("ase", "sighting", "pjj75", "general");

	/* pjj, a party, writes about the same person: the same case */
	t = send_about("pjj", s.person_id, "signalement", "tpe75", "general");
	assert_int_equal(t.case_id, s.case_id);
	assert_false(t.new_case);
	u = send_about("pjj", s.person_id, "information_preoccupante", "ase75",
		       "general");
	assert_int_equal(u.case_id, s.case_id);

	/* coord, not a party, may write about any person */
	w = send_about("coord", s.person_id, "followup", "pjj75", "general");
	assert_int_equal(w.case_id, s.case_id);
	assert_false(w.new_case);

	view = case_show("ase", s.case_id);
	assert_int_equal(json_array_size(jarr(view, "notices")), 4);
	n = find_id(jarr(view, "notices"), "notice_id", t.notice_id);
	assert_non_null(n);
	assert_string_equal(jstr(n, "basis"), "signalement");
	assert_string_equal(jstr(n, "from_institution"), "pjj75");
	n = find_id(jarr(view, "notices"), "notice_id", u.notice_id);
	assert_non_null(n);
	assert_string_equal(jstr(n, "basis"), "information_preoccupante");
	n = find_id(jarr(view, "notices"), "notice_id", w.notice_id);
	assert_non_null(n);
	assert_string_equal(jstr(n, "basis"), "secret_partage");
	assert_string_equal(jstr(n, "from_institution"), "hlr");
	/* every sender and recipient became a party */
	assert_non_null(view_party(view, "tpe75"));
	assert_non_null(view_party(view, "hlr"));
	assert_int_equal(json_array_size(jarr(view, "parties")), 4);
	/* the identity is asserted once: later notices gave none */
	assert_int_equal(json_array_size(jarr(view, "identities")), 1);
	assert_string_equal(jstr(view, "last_kind"), "followup");
	json_decref(view);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM notice WHERE case_id = "
			      "%lld",
			      s.case_id),
		4);

	/* police is no party of this person's case: as if it did not exist */
	c = itest_session("police");
	rs_init(&rs, "signalement", "tpe75");
	rs_person(&rs, s.person_id);
	a = raw_answer(c, &rs.env, "police about another's person");
	assert_int_equal(a.code, EC(NOT_FOUND));
	assert_string_equal(a.field, "person_id");
	expect_audit("police", "notice.send", "refused", "NOT_FOUND");
	rs_init(&rs, "signalement", "tpe75");
	rs_person(&rs, NO_SUCH_ID);
	b = raw_answer(c, &rs.env, "police about a nonexistent person");
	expect_same_answer(&a, &b, "notice about a non-party / no person");
	itest_close(c);
}

/* ==== idempotency ======================================================== */

static void test_idempotent_resend(void **state)
{
	char given[48], key[48], before[512];
	const char *const *args;
	struct sent s, r, o;
	struct itest_conn *c;
	struct rawsend rs;

	(void)state;
	fresh(given, sizeof(given), "Idem");
	fresh(key, sizeof(key), "idem-");
	args = ARGS("notice", "send", "--kind", "runaway", "--to", "pjj75,hlr",
		    "--given-name", given, "--family-name", "Potent", "--key",
		    key, "--indicator", "MOB_RUNAWAY", "--text", "Fugue.");
	s = cli_send("ase", args);
	assert_false(s.replayed);
	snapshot(before, sizeof(before));
	r = cli_send("ase", args);
	assert_true(r.replayed);
	assert_false(r.new_case);
	assert_false(r.new_person);
	assert_int_equal(r.notice_id, s.notice_id);
	assert_int_equal(r.case_id, s.case_id);
	assert_int_equal(r.person_id, s.person_id);
	expect_unchanged(before, "resend with the same key");
	assert_int_equal(itest_sql_int("SELECT count(*) FROM notice WHERE "
				       "idempotency_key = '%s'",
				       key),
			 1);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM identity_assertion "
			      "WHERE person_id = %lld",
			      s.person_id),
		1);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM notice_recipient WHERE "
			      "notice_id = %lld",
			      s.notice_id),
		2);

	/* the same through the protocol, audited as a success */
	c = itest_session("ase");
	rs_init(&rs, "runaway", "pjj75");
	rs.m.idempotency_key = key;
	r = raw_sent(c, &rs, "raw resend");
	assert_true(r.replayed);
	assert_int_equal(r.notice_id, s.notice_id);
	assert_int_equal(r.case_id, s.case_id);
	expect_audit("ase", "notice.send", "ok", NULL);
	itest_close(c);
	expect_unchanged(before, "raw resend with the same key");

	/* the key is per account: pjj's notice under it is another one */
	o = cli_send("pjj",
		     ARGS("notice", "send", "--kind", "followup", "--to",
			  "ase75", "--person", ids(s.person_id), "--key", key));
	assert_false(o.replayed);
	assert_true(o.notice_id != s.notice_id);
	assert_int_equal(o.case_id, s.case_id);
	assert_int_equal(itest_sql_int("SELECT count(*) FROM notice WHERE "
				       "idempotency_key = '%s'",
				       key),
			 2);
}

/* Eight connections resend one key at once: one notice, the same ids. */
static void test_idempotent_concurrent(void **state)
{
	enum { N = 8 };
	struct itest_conn *c[N];
	struct rawsend rs[N];
	char key[48];
	int i, fresh_ones = 0;
	long long notice = 0, case_id = 0;

	(void)state;
	fresh(key, sizeof(key), "idemc-");
	for (i = 0; i < N; i++)
		c[i] = itest_session("ase");
	for (i = 0; i < N; i++) {
		rs_init(&rs[i], "sighting", "pjj75");
		rs[i].m.idempotency_key = key;
		rs[i].id.given_name = "Concurrent";
		rs[i].env.request_id = 1000 + (uint64_t)i;
		if (itest_send(c[i], &rs[i].env) != 0)
			fail_msg("send on connection %d: %s", i, c[i]->error);
	}
	for (i = 0; i < N; i++) {
		enum itest_recv_status st;
		struct frame_msg *m = itest_recv(c[i], ITEST_REPLY_MS, &st);
		const Maillage__NoticeSent *ns;

		if (m == NULL)
			fail_msg("connection %d: no answer (%d): %s", i, st,
				 c[i]->error);
		assert_int_equal(m->env->request_id, 1000 + i);
		expect_body(m, MAILLAGE__ENVELOPE__BODY_NOTICE_SENT,
			    "concurrent resend");
		ns = m->env->notice_sent;
		if (i == 0) {
			notice = ns->notice_id;
			case_id = ns->case_id;
		}
		assert_int_equal(ns->notice_id, notice);
		assert_int_equal(ns->case_id, case_id);
		if (!ns->replayed)
			fresh_ones++;
		frame_msg_free(m);
		itest_close(c[i]);
	}
	assert_int_equal(fresh_ones, 1);
	assert_int_equal(itest_sql_int("SELECT count(*) FROM notice WHERE "
				       "idempotency_key = '%s'",
				       key),
			 1);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM case_file WHERE id = "
			      "%lld",
			      case_id),
		1);
}

/* ==== concurrency: one open case per person ============================== */

/*
 * A person whose case was closed; eight connections send about them at the
 * same moment (different keys): they meet on one new open case.
 */
static void test_concurrent_sends_one_case(void **state)
{
	enum { N = 8 };
	struct itest_conn *c[N];
	struct rawsend rs[N];
	struct sent s;
	json_t *doc;
	int i, new_cases = 0;
	long long case_id = 0;

	(void)state;
	s = send_new("ase", "sighting", "pjj75", "general");
	doc = cli_ok("coord", ARGS("case", "close", ids(s.case_id), "--reason",
				   "Test: fermé avant une rafale"));
	assert_string_equal(jstr(doc, "status"), "closed");
	json_decref(doc);
	assert_int_equal(itest_sql_int("SELECT count(*) FROM case_file WHERE "
				       "person_id = %lld AND status = 'open'",
				       s.person_id),
			 0);

	for (i = 0; i < N; i++)
		c[i] = itest_session(i % 2 == 0 ? "ase" : "pjj");
	for (i = 0; i < N; i++) {
		rs_init(&rs[i], "sighting", i % 2 == 0 ? "pjj75" : "ase75");
		rs_person(&rs[i], s.person_id);
		rs[i].env.request_id = 2000 + (uint64_t)i;
	}
	for (i = 0; i < N; i++)
		if (itest_send(c[i], &rs[i].env) != 0)
			fail_msg("send on connection %d: %s", i, c[i]->error);
	for (i = 0; i < N; i++) {
		enum itest_recv_status st;
		struct frame_msg *m = itest_recv(c[i], ITEST_REPLY_MS, &st);
		const Maillage__NoticeSent *ns;

		if (m == NULL)
			fail_msg("connection %d: no answer (%d): %s", i, st,
				 c[i]->error);
		assert_int_equal(m->env->request_id, 2000 + i);
		expect_body(m, MAILLAGE__ENVELOPE__BODY_NOTICE_SENT,
			    "concurrent send");
		ns = m->env->notice_sent;
		if (case_id == 0)
			case_id = ns->case_id;
		if (ns->case_id != case_id)
			fail_msg("concurrent sends landed in cases %lld and "
				 "%lld",
				 case_id, (long long)ns->case_id);
		assert_int_equal(ns->person_id, s.person_id);
		assert_false(ns->replayed);
		assert_false(ns->new_person);
		if (ns->new_case)
			new_cases++;
		frame_msg_free(m);
		itest_close(c[i]);
	}
	assert_true(case_id != s.case_id);
	assert_int_equal(new_cases, 1);
	assert_int_equal(itest_sql_int("SELECT count(*) FROM case_file WHERE "
				       "person_id = %lld AND status = 'open'",
				       s.person_id),
			 1);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM notice WHERE case_id = "
			      "%lld",
			      case_id),
		N);
	assert_int_equal(itest_sql_int("SELECT count(*) FROM case_event WHERE "
				       "case_id = %lld AND what = 'opened'",
				       case_id),
			 1);
}

/* ==== inbox ============================================================== */

static void test_inbox(void **state)
{
	struct sent n1, n2, n3;
	json_t *inbox, *it, *ack;
	size_t i;
	int seen_acked = 0;
	long long prev_unacked = -1, prev_acked = -1;

	(void)state;
	n1 = send_new("ase", "referral", "pjj75", "general");
	n2 = send_about("ase", n1.person_id, "followup", "pjj75", "social");
	n3 = send_about("ase", n1.person_id, "hearing", "pjj75", "judicial");
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM notice_recipient WHERE "
			      "notice_id IN (%lld, %lld, %lld) AND state = "
			      "'sent'",
			      n1.notice_id, n2.notice_id, n3.notice_id),
		3);

	ack = cli_ok("pjj", ARGS("ack", ids(n1.notice_id), "--state", "read"));
	assert_string_equal(jstr(ack, "previous_state"), "sent");
	json_decref(ack);

	/* listing marks what was 'sent' as 'received' */
	inbox = cli_ok("pjj", ARGS("inbox", "--limit", "1000"));
	assert_true(json_is_array(inbox));
	it = find_id(inbox, "notice_id", n1.notice_id);
	assert_non_null(it);
	assert_string_equal(jstr(it, "state"), "read");
	it = find_id(inbox, "notice_id", n2.notice_id);
	assert_non_null(it);
	assert_string_equal(jstr(it, "state"), "received");
	assert_string_equal(jstr(it, "visibility"), "social");
	assert_int_equal(itest_jint(it, "case_id"), n1.case_id);
	it = find_id(inbox, "notice_id", n3.notice_id);
	assert_non_null(it);
	assert_string_equal(jstr(it, "state"), "received");
	assert_string_equal(jstr(it, "kind"), "hearing");
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM notice_recipient WHERE "
			      "notice_id IN (%lld, %lld) AND state = "
			      "'received'",
			      n2.notice_id, n3.notice_id),
		2);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM notice_recipient WHERE "
			      "notice_id = %lld AND state = 'read'",
			      n1.notice_id),
		1);

	/* unacknowledged first, then newest first */
	json_array_foreach(inbox, i, it)
	{
		const char *st = jstr(it, "state");
		long long id = itest_jint(it, "notice_id");
		int unacked =
			strcmp(st, "sent") == 0 || strcmp(st, "received") == 0;

		if (strcmp(st, "sent") == 0)
			fail_msg("the inbox shows notice %lld as sent", id);
		if (unacked) {
			if (seen_acked)
				fail_msg("unacknowledged notice %lld after an "
					 "acknowledged one",
					 id);
			if (prev_unacked >= 0 && id >= prev_unacked)
				fail_msg("inbox not newest first at %lld", id);
			prev_unacked = id;
		} else {
			seen_acked = 1;
			if (prev_acked >= 0 && id >= prev_acked)
				fail_msg("inbox not newest first at %lld", id);
			prev_acked = id;
		}
	}
	json_decref(inbox);

	/* --unacked leaves out what was acknowledged */
	inbox = cli_ok("pjj", ARGS("inbox", "--unacked", "--limit", "1000"));
	assert_null(find_id(inbox, "notice_id", n1.notice_id));
	assert_non_null(find_id(inbox, "notice_id", n2.notice_id));
	assert_non_null(find_id(inbox, "notice_id", n3.notice_id));
	json_array_foreach(inbox, i, it)
	{
		assert_string_equal(jstr(it, "state"), "received");
	}
	json_decref(inbox);

	/* --limit */
	inbox = cli_ok("pjj", ARGS("inbox", "--limit", "1"));
	assert_int_equal(json_array_size(inbox), 1);
	json_decref(inbox);

	/* others' inboxes do not show these notices */
	inbox = cli_ok("police", ARGS("inbox", "--limit", "1000"));
	assert_null(find_id(inbox, "notice_id", n1.notice_id));
	assert_null(find_id(inbox, "notice_id", n2.notice_id));
	json_decref(inbox);
	inbox = cli_ok("ase", ARGS("inbox", "--limit", "1000"));
	assert_null(find_id(inbox, "notice_id", n1.notice_id));
	json_decref(inbox);
}

/* The coordinator's institution receives notices too. */
static void test_inbox_coordinator(void **state)
{
	struct sent s;
	json_t *inbox, *it;

	(void)state;
	s = send_new("pjj", "referral", "hlr", "social");
	inbox = cli_ok("coord", ARGS("inbox", "--unacked", "--limit", "1000"));
	it = find_id(inbox, "notice_id", s.notice_id);
	assert_non_null(it);
	assert_string_equal(jstr(it, "from_institution"), "pjj75");
	assert_string_equal(jstr(it, "state"), "received");
	json_decref(inbox);
}

/* ==== acknowledgements =================================================== */

static void ack_ok(const char *login, long long notice, const char *st,
		   const char *reason, const char *note, const char *previous)
{
	json_t *doc;

	if (note != NULL)
		doc = cli_ok(login, ARGS("ack", ids(notice), "--state", st,
					 "--reason", reason, "--note", note));
	else if (reason != NULL)
		doc = cli_ok(login, ARGS("ack", ids(notice), "--state", st,
					 "--reason", reason));
	else
		doc = cli_ok(login, ARGS("ack", ids(notice), "--state", st));
	assert_int_equal(itest_jint(doc, "notice_id"), notice);
	assert_string_equal(jstr(doc, "state"), st);
	if (strcmp(jstr(doc, "previous_state"), previous) != 0)
		fail_msg("ack %lld %s: previous_state %s, expected %s", notice,
			 st, jstr(doc, "previous_state"), previous);
	json_decref(doc);
}

/* sent -> received -> read -> accepted -> done, and what may not follow. */
static void test_ack_forward(void **state)
{
	struct itest_conn *c;
	struct frame_msg *m;
	struct sent s;
	struct rq q;
	json_t *view;

	(void)state;
	s = send_new("ase", "referral", "pjj75", "general");
	c = itest_session("pjj");
	m = raw_ok(c, rq_ack(&q, s.notice_id, "received", NULL, NULL),
		   MAILLAGE__ENVELOPE__BODY_ACK_RESULT, "ack received");
	assert_int_equal(m->env->ack_result->notice_id, s.notice_id);
	assert_int_equal(m->env->ack_result->case_id, s.case_id);
	assert_string_equal(m->env->ack_result->state, "received");
	assert_string_equal(m->env->ack_result->previous_state, "sent");
	frame_msg_free(m);
	expect_audit("pjj", "ack", "ok", NULL);
	refused(c, "pjj", rq_ack(&q, s.notice_id, "received", NULL, NULL),
		"ack", EC(CONFLICT), "state", "received twice");

	ack_ok("pjj", s.notice_id, "read", NULL, NULL, "received");
	ack_ok("pjj", s.notice_id, "accepted", NULL, NULL, "read");
	refused(c, "pjj",
		rq_ack(&q, s.notice_id, "declined", "no_capacity", NULL), "ack",
		EC(CONFLICT), "state", "accepted -> declined");
	refused(c, "pjj", rq_ack(&q, s.notice_id, "read", NULL, NULL), "ack",
		EC(CONFLICT), "state", "accepted -> read");
	refused(c, "pjj", rq_ack(&q, s.notice_id, "accepted", NULL, NULL),
		"ack", EC(CONFLICT), "state", "accepted twice");
	refused(c, "pjj", rq_ack(&q, s.notice_id, "done", NULL, NULL), "ack",
		EC(BAD_REQUEST), "reason", "done without a reason");
	refused(c, "pjj", rq_ack(&q, s.notice_id, "done", "no_capacity", NULL),
		"ack", EC(BAD_REQUEST), "reason", "done with a decline reason");

	view = case_show("ase", s.case_id);
	expect_recipient(view, s.notice_id, "pjj75", "accepted", "");
	json_decref(view);

	ack_ok("pjj", s.notice_id, "done", "successful", NULL, "accepted");
	refused(c, "pjj", rq_ack(&q, s.notice_id, "done", "successful", NULL),
		"ack", EC(CONFLICT), "state", "done twice");
	refused(c, "pjj", rq_ack(&q, s.notice_id, "read", NULL, NULL), "ack",
		EC(CONFLICT), "state", "done -> read");
	itest_close(c);

	/* the sender sees where the recipient stands */
	view = case_show("ase", s.case_id);
	expect_recipient(view, s.notice_id, "pjj75", "done", "successful");
	json_decref(view);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM notice_recipient nr "
			      "JOIN account a ON a.id = nr.acked_by WHERE "
			      "nr.notice_id = %lld AND a.login = 'pjj'",
			      s.notice_id),
		1);
}

/* Moves that skip states, done from accepted with the other outcome. */
static void test_ack_skips(void **state)
{
	struct sent s, t;
	json_t *view;

	(void)state;
	s = send_new("ase", "referral", "pjj75", "general");
	ack_ok("pjj", s.notice_id, "accepted", NULL, NULL, "sent");
	ack_ok("pjj", s.notice_id, "done", "unsuccessful", NULL, "accepted");
	t = send_about("ase", s.person_id, "sighting", "pjj75", "general");
	ack_ok("pjj", t.notice_id, "done", "successful", NULL, "sent");
	view = case_show("ase", s.case_id);
	expect_recipient(view, s.notice_id, "pjj75", "done", "unsuccessful");
	expect_recipient(view, t.notice_id, "pjj75", "done", "successful");
	json_decref(view);
}

/* declined with each reason of the list; declined is final. */
static void test_ack_declined(void **state)
{
	static const char *const reasons[] = {"no_capacity", "not_competent",
					      "already_followed",
					      "unable_to_contact", "other"};
	struct itest_conn *c;
	struct sent first, s;
	struct rq q;
	json_t *view;
	size_t i;

	(void)state;
	first = send_new("ase", "referral", "pjj75", "general");
	c = itest_session("pjj");
	refused(c, "pjj", rq_ack(&q, first.notice_id, "declined", NULL, NULL),
		"ack", EC(BAD_REQUEST), "reason", "declined without a reason");
	refused(c, "pjj",
		rq_ack(&q, first.notice_id, "declined", "other", NULL), "ack",
		EC(BAD_REQUEST), "note", "declined other without a note");
	refused(c, "pjj",
		rq_ack(&q, first.notice_id, "declined", "successful", NULL),
		"ack", EC(BAD_REQUEST), "reason", "declined, successful");
	refused(c, "pjj",
		rq_ack(&q, first.notice_id, "declined", "bored", NULL), "ack",
		EC(BAD_REQUEST), "reason", "unknown reason");
	refused(c, "pjj",
		rq_ack(&q, first.notice_id, "read", "successful", NULL), "ack",
		EC(BAD_REQUEST), "reason", "read with a reason");
	refused(c, "pjj", rq_ack(&q, first.notice_id, "archived", NULL, NULL),
		"ack", EC(BAD_REQUEST), "state", "unknown state");
	refused(c, "pjj", rq_ack(&q, first.notice_id, "sent", NULL, NULL),
		"ack", EC(BAD_REQUEST), "state", "sent is no acknowledgement");
	refused(c, "pjj", rq_ack(&q, 0, "read", NULL, NULL), "ack",
		EC(BAD_REQUEST), "notice_id", "no notice id");

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		int other = strcmp(reasons[i], "other") == 0;

		s = i == 0 ? first
			   : send_about("ase", first.person_id, "referral",
					"pjj75", "general");
		ack_ok("pjj", s.notice_id, "declined", reasons[i],
		       other ? "Hors de notre ressort" : NULL, "sent");
		view = case_show("ase", s.case_id);
		expect_recipient(view, s.notice_id, "pjj75", "declined",
				 reasons[i]);
		if (other)
			assert_string_equal(
				jstr(view_recipient(view, s.notice_id, "pjj75"),
				     "note"),
				"Hors de notre ressort");
		json_decref(view);
		refused(c, "pjj",
			rq_ack(&q, s.notice_id, "done", "successful", NULL),
			"ack", EC(CONFLICT), "state", "declined -> done");
		refused(c, "pjj",
			rq_ack(&q, s.notice_id, "accepted", NULL, NULL), "ack",
			EC(CONFLICT), "state", "declined -> accepted");
	}
	itest_close(c);
}

/*
 * Acknowledging a notice not addressed to one's institution: NOT_FOUND,
 * the same answer as for a notice that does not exist.
 */
static void test_ack_not_addressed(void **state)
{
	static const char *const others[] = {"police", "ase", "coord", "juge"};
	struct sent s;
	struct rq q;
	size_t i;

	(void)state;
	s = send_new("ase", "referral", "pjj75", "general");
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		struct itest_conn *c = itest_session(others[i]);
		struct answer a, b;

		refused(c, others[i],
			rq_ack(&q, s.notice_id, "read", NULL, NULL), "ack",
			EC(NOT_FOUND), "notice_id", others[i]);
		a = raw_answer(c, rq_ack(&q, s.notice_id, "read", NULL, NULL),
			       "ack of another's notice");
		b = raw_answer(c, rq_ack(&q, NO_SUCH_ID, "read", NULL, NULL),
			       "ack of no notice");
		expect_same_answer(&a, &b, others[i]);
		itest_close(c);
	}
	cli_refused("police", ARGS("ack", ids(s.notice_id), "--state", "read"),
		    "NOT_FOUND", NULL);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM notice_recipient WHERE "
			      "notice_id = %lld AND state = 'sent'",
			      s.notice_id),
		1);
}

/* ==== case list ========================================================== */

/* Every case of a list must pass `check`; the ids must be in or out. */
static json_t *case_list(const char *login, const char *const *args)
{
	json_t *doc = cli_ok(login, args);

	if (!json_is_array(doc))
		fail_msg("case list --json is not an array");
	return doc;
}

static void expect_listed(json_t *list, long long case_id, int listed,
			  const char *what)
{
	int in = find_id(list, "case_id", case_id) != NULL;

	if (in != listed)
		fail_msg("%s: case %lld %s", what, case_id,
			 listed ? "missing" : "listed");
}

static void expect_all(json_t *list, const char *key, const char *value,
		       const char *what)
{
	size_t i;
	json_t *cs;

	json_array_foreach(list, i, cs)
	{
		if (strcmp(jstr(cs, key), value) != 0)
			fail_msg("%s: case %lld has %s %s", what,
				 itest_jint(cs, "case_id"), key, jstr(cs, key));
	}
}

static void test_case_list(void **state)
{
	struct sent a, b, c;
	json_t *l, *cs, *doc;
	char tomorrow[16];
	size_t i;

	(void)state;
	a = send_new("ase", "sighting", "pjj75", "general");
	b = cli_send("ase", ARGS("notice", "send", "--kind", "runaway", "--to",
				 "pjj75", "--urgency", "urgent", "--given-name",
				 "Listu", "--family-name", "Urgent"));
	c = send_new("ase", "shelter", "hlr", "general");
	doc = cli_ok("coord", ARGS("case", "close", ids(c.case_id), "--reason",
				   "Test: liste"));
	json_decref(doc);

	l = case_list("ase", ARGS("case", "list", "--limit", "1000"));
	expect_listed(l, a.case_id, 1, "all");
	expect_listed(l, b.case_id, 1, "all");
	expect_listed(l, c.case_id, 1, "all");
	cs = find_id(l, "case_id", a.case_id);
	assert_int_equal(itest_jint(cs, "person_id"), a.person_id);
	assert_string_equal(jstr(cs, "status"), "open");
	assert_string_equal(jstr(cs, "last_kind"), "sighting");
	assert_string_equal(jstr(cs, "last_urgency"), "normal");
	assert_true(summary_has_party(cs, "ase75"));
	assert_true(summary_has_party(cs, "pjj75"));
	/* every case listed is one of ase75's */
	json_array_foreach(l, i, cs)
	{
		if (!summary_has_party(cs, "ase75"))
			fail_msg("ase lists case %lld of which ase75 is no "
				 "party",
				 itest_jint(cs, "case_id"));
	}
	json_decref(l);

	l = case_list("ase", ARGS("case", "list", "--open", "--limit", "1000"));
	expect_listed(l, a.case_id, 1, "--open");
	expect_listed(l, c.case_id, 0, "--open");
	expect_all(l, "status", "open", "--open");
	json_decref(l);

	l = case_list("ase",
		      ARGS("case", "list", "--closed", "--limit", "1000"));
	expect_listed(l, a.case_id, 0, "--closed");
	expect_listed(l, c.case_id, 1, "--closed");
	expect_all(l, "status", "closed", "--closed");
	cs = find_id(l, "case_id", c.case_id);
	assert_string_equal(jstr(cs, "close_reason"), "Test: liste");
	assert_true(strlen(jstr(cs, "closed_at")) == 20);
	json_decref(l);

	l = case_list("ase", ARGS("case", "list", "--kind", "runaway",
				  "--limit", "1000"));
	expect_listed(l, a.case_id, 0, "--kind runaway");
	expect_listed(l, b.case_id, 1, "--kind runaway");
	expect_all(l, "last_kind", "runaway", "--kind runaway");
	json_decref(l);

	l = case_list("ase", ARGS("case", "list", "--urgency", "urgent",
				  "--limit", "1000"));
	expect_listed(l, a.case_id, 0, "--urgency urgent");
	expect_listed(l, b.case_id, 1, "--urgency urgent");
	expect_all(l, "last_urgency", "urgent", "--urgency urgent");
	json_decref(l);

	l = case_list("ase", ARGS("case", "list", "--since",
				  utc_date(tomorrow, 1), "--limit", "1000"));
	assert_int_equal(json_array_size(l), 0);
	json_decref(l);
	l = case_list("ase", ARGS("case", "list", "--since", "2000-01-01",
				  "--limit", "1000"));
	expect_listed(l, a.case_id, 1, "--since 2000-01-01");
	json_decref(l);
	l = case_list("ase",
		      ARGS("case", "list", "--since", "2000-01-01T00:00:00Z",
			   "--open", "--kind", "sighting", "--limit", "1000"));
	expect_listed(l, a.case_id, 1, "combined filters");
	expect_listed(l, b.case_id, 0, "combined filters");
	json_decref(l);

	l = case_list("ase", ARGS("case", "list", "--limit", "1"));
	assert_int_equal(json_array_size(l), 1);
	json_decref(l);

	/* police is no party: none of them; coord sees them all */
	l = case_list("police", ARGS("case", "list", "--limit", "1000"));
	expect_listed(l, a.case_id, 0, "police");
	expect_listed(l, b.case_id, 0, "police");
	expect_listed(l, c.case_id, 0, "police");
	json_decref(l);
	l = case_list("coord", ARGS("case", "list", "--limit", "1000"));
	expect_listed(l, a.case_id, 1, "coord");
	expect_listed(l, b.case_id, 1, "coord");
	expect_listed(l, c.case_id, 1, "coord");
	json_decref(l);
}

static void test_case_list_bad_filters(void **state)
{
	struct itest_conn *c = itest_session("ase");
	struct rq q;

	(void)state;
	refused(c, "ase", rq_list(&q, "pending", "", "", ""), "case.list",
		EC(BAD_REQUEST), "status", "unknown status filter");
	refused(c, "ase", rq_list(&q, "", "gossip", "", ""), "case.list",
		EC(BAD_REQUEST), "kind", "unknown kind filter");
	refused(c, "ase", rq_list(&q, "", "", "asap", ""), "case.list",
		EC(BAD_REQUEST), "urgency", "unknown urgency filter");
	refused(c, "ase", rq_list(&q, "", "", "", "yesterday"), "case.list",
		EC(BAD_REQUEST), "updated_since", "malformed date");
	refused(c, "ase", rq_list(&q, "", "", "", "2024-02-30"), "case.list",
		EC(BAD_REQUEST), "updated_since", "impossible date");
	itest_close(c);
}

/* ==== case show: party or not ============================================ */

static void test_case_show_non_party(void **state)
{
	static const char *const outsiders[] = {"police", "juge"};
	struct sent s;
	struct rq q;
	size_t i;
	json_t *view;

	(void)state;
	s = send_new("ase", "sighting", "pjj75", "general");
	view = case_show("pjj", s.case_id);
	assert_int_equal(itest_jint(view, "person_id"), s.person_id);
	json_decref(view);
	for (i = 0; i < sizeof(outsiders) / sizeof(outsiders[0]); i++) {
		struct itest_conn *c = itest_session(outsiders[i]);
		struct answer a, b;

		refused(c, outsiders[i], rq_show(&q, s.case_id), "case.show",
			EC(NOT_FOUND), "case_id", "show another's case");
		a = raw_answer(c, rq_show(&q, s.case_id), "non-party");
		b = raw_answer(c, rq_show(&q, NO_SUCH_ID), "no such case");
		expect_same_answer(&a, &b, "case show: non-party / no case");
		a = raw_answer(
			c, rq_status(&q, s.case_id, "presumed_victim", NULL),
			"non-party status");
		b = raw_answer(
			c, rq_status(&q, NO_SUCH_ID, "presumed_victim", NULL),
			"no such case status");
		assert_int_equal(a.code, EC(NOT_FOUND));
		expect_same_answer(&a, &b, "case status: non-party / no case");
		itest_close(c);
		cli_refused(outsiders[i], ARGS("case", "show", ids(s.case_id)),
			    "NOT_FOUND", NULL);
		cli_refused(outsiders[i], ARGS("case", "show", NO_SUCH_ID_STR),
			    "NOT_FOUND", NULL);
	}
}

/* ==== parties and lead =================================================== */

static void test_case_party(void **state)
{
	struct itest_conn *c;
	struct sent s;
	struct rq q;
	json_t *doc, *view;

	(void)state;
	s = send_new("ase", "sighting", "pjj75", "general");
	cli_refused("police", ARGS("case", "show", ids(s.case_id)), "NOT_FOUND",
		    NULL);

	doc = cli_ok("coord",
		     ARGS("case", "party", "add", ids(s.case_id), "police75"));
	assert_int_equal(itest_jint(doc, "case_id"), s.case_id);
	assert_true(summary_has_party(doc, "police75"));
	json_decref(doc);
	view = case_show("police", s.case_id);
	assert_non_null(view_party(view, "police75"));
	assert_int_equal(view_events(view, "party_added", "police75"), 1);
	json_decref(view);

	c = itest_session("coord");
	refused(c, "coord", rq_party(&q, s.case_id, "police75", 0),
		"case.party", EC(CONFLICT), "institution", "add a party twice");
	refused(c, "coord", rq_party(&q, s.case_id, "nosuch99", 0),
		"case.party", EC(BAD_REQUEST), "institution",
		"add an unknown institution");
	refused(c, "coord", rq_party(&q, s.case_id, "Not A Code", 0),
		"case.party", EC(BAD_REQUEST), "institution",
		"add a malformed code");
	refused(c, "coord", rq_party(&q, s.case_id, "", 0), "case.party",
		EC(BAD_REQUEST), "institution", "add no institution");
	refused(c, "coord", rq_party(&q, s.case_id, "ferme75", 0), "case.party",
		EC(BAD_REQUEST), "institution", "add a disabled institution");
	refused(c, "coord", rq_party(&q, NO_SUCH_ID, "tpe75", 0), "case.party",
		EC(NOT_FOUND), "case_id", "add to no case");

	doc = cli_ok("coord", ARGS("case", "party", "remove", ids(s.case_id),
				   "police75"));
	assert_false(summary_has_party(doc, "police75"));
	json_decref(doc);
	cli_refused("police", ARGS("case", "show", ids(s.case_id)), "NOT_FOUND",
		    NULL);
	refused(c, "coord", rq_party(&q, s.case_id, "police75", 1),
		"case.party", EC(CONFLICT), "institution",
		"remove a non-party");
	itest_close(c);

	view = case_show("ase", s.case_id);
	assert_null(view_party(view, "police75"));
	assert_int_equal(view_events(view, "party_removed", "police75"), 1);
	json_decref(view);
}

static void test_case_lead(void **state)
{
	struct itest_conn *c;
	struct sent s;
	struct rq q;
	json_t *doc, *view, *p;

	(void)state;
	s = send_new("ase", "sighting", "pjj75", "general");
	doc = cli_ok("coord", ARGS("case", "lead", ids(s.case_id), "pjj75"));
	assert_string_equal(jstr(doc, "lead"), "pjj75");
	json_decref(doc);
	view = case_show("ase", s.case_id);
	assert_string_equal(jstr(view, "lead"), "pjj75");
	assert_true(jbool(view_party(view, "pjj75"), "lead"));
	assert_false(jbool(view_party(view, "ase75"), "lead"));
	assert_int_equal(view_events(view, "lead_set", "pjj75"), 1);
	json_decref(view);

	c = itest_session("coord");
	refused(c, "coord", rq_lead(&q, s.case_id, "pjj75"), "case.lead",
		EC(CONFLICT), "institution", "the same lead again");
	refused(c, "coord", rq_lead(&q, s.case_id, "nosuch99"), "case.lead",
		EC(BAD_REQUEST), "institution", "unknown lead");
	refused(c, "coord", rq_lead(&q, s.case_id, "ferme75"), "case.lead",
		EC(BAD_REQUEST), "institution", "disabled lead");
	refused(c, "coord", rq_lead(&q, NO_SUCH_ID, "pjj75"), "case.lead",
		EC(NOT_FOUND), "case_id", "lead of no case");
	itest_close(c);

	/* a lead that is no party becomes one */
	doc = cli_ok("coord", ARGS("case", "lead", ids(s.case_id), "tpe75"));
	assert_string_equal(jstr(doc, "lead"), "tpe75");
	assert_true(summary_has_party(doc, "tpe75"));
	json_decref(doc);
	view = case_show("juge", s.case_id);
	p = view_party(view, "tpe75");
	assert_non_null(p);
	assert_true(jbool(p, "lead"));
	assert_false(jbool(view_party(view, "pjj75"), "lead"));
	assert_int_equal(view_events(view, "party_added", "tpe75"), 1);
	json_decref(view);

	/* removing the lead's party clears the lead */
	doc = cli_ok("coord",
		     ARGS("case", "party", "remove", ids(s.case_id), "tpe75"));
	assert_string_equal(jstr(doc, "lead"), "");
	json_decref(doc);
	view = case_show("ase", s.case_id);
	assert_string_equal(jstr(view, "lead"), "");
	json_decref(view);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM case_file WHERE id = "
			      "%lld AND lead_institution_id IS NULL",
			      s.case_id),
		1);
}

/* ==== close and reopen =================================================== */

static void test_case_close_reopen(void **state)
{
	struct itest_conn *c;
	struct sent s, t;
	struct rq q;
	json_t *doc, *view;

	(void)state;
	s = send_new("ase", "sighting", "pjj75", "general");
	c = itest_session("coord");
	refused(c, "coord", rq_close(&q, s.case_id, ""), "case.close",
		EC(BAD_REQUEST), "reason", "close without a reason");
	refused(c, "coord", rq_close(&q, s.case_id, "  \n"), "case.close",
		EC(BAD_REQUEST), "reason", "close with a blank reason");
	refused(c, "coord", rq_reopen(&q, s.case_id), "case.reopen",
		EC(CONFLICT), "case_id", "reopen an open case");
	refused(c, "coord", rq_close(&q, NO_SUCH_ID, "x"), "case.close",
		EC(NOT_FOUND), "case_id", "close no case");

	doc = cli_ok("coord", ARGS("case", "close", ids(s.case_id), "--reason",
				   "Mise à l'abri durable"));
	assert_string_equal(jstr(doc, "status"), "closed");
	assert_string_equal(jstr(doc, "close_reason"), "Mise à l'abri durable");
	assert_true(strlen(jstr(doc, "closed_at")) == 20);
	json_decref(doc);

	refused(c, "coord", rq_close(&q, s.case_id, "again"), "case.close",
		EC(CONFLICT), "case_id", "close a closed case");
	refused(c, "coord", rq_status(&q, s.case_id, "presumed_victim", NULL),
		"case.status", EC(CONFLICT), "case_id",
		"status of a closed case");
	refused(c, "coord", rq_party(&q, s.case_id, "tpe75", 0), "case.party",
		EC(CONFLICT), "case_id", "party of a closed case");
	refused(c, "coord", rq_lead(&q, s.case_id, "pjj75"), "case.lead",
		EC(CONFLICT), "case_id", "lead of a closed case");

	/* the closed case stays visible to its parties, with its timeline */
	view = case_show("pjj", s.case_id);
	assert_string_equal(jstr(view, "status"), "closed");
	assert_int_equal(view_events(view, "closed", NULL), 1);
	json_decref(view);

	doc = cli_ok("coord", ARGS("case", "reopen", ids(s.case_id)));
	assert_string_equal(jstr(doc, "status"), "open");
	assert_string_equal(jstr(doc, "closed_at"), "");
	assert_string_equal(jstr(doc, "close_reason"), "");
	json_decref(doc);
	refused(c, "coord", rq_reopen(&q, s.case_id), "case.reopen",
		EC(CONFLICT), "case_id", "reopen twice");
	view = case_show("ase", s.case_id);
	assert_int_equal(view_events(view, "reopened", NULL), 1);
	json_decref(view);

	/* closed again, a new notice opens a new case; the old one cannot
	 * be reopened while that one is open */
	doc = cli_ok("coord", ARGS("case", "close", ids(s.case_id), "--reason",
				   "Deuxième fermeture"));
	json_decref(doc);
	t = send_about("ase", s.person_id, "sighting", "pjj75", "general");
	assert_true(t.new_case);
	assert_true(t.case_id != s.case_id);
	refused(c, "coord", rq_reopen(&q, s.case_id), "case.reopen",
		EC(CONFLICT), "case_id", "reopen beside another open case");
	itest_close(c);
	assert_int_equal(itest_sql_int("SELECT count(*) FROM case_file WHERE "
				       "person_id = %lld AND status = 'open'",
				       s.person_id),
			 1);
}

/* ==== protection status ================================================== */

static void test_case_status(void **state)
{
	struct itest_conn *c;
	struct sent s;
	struct rq q;
	json_t *doc, *view, *e;
	size_t i;
	int found = 0;

	(void)state;
	/* police75 becomes a party through a signalement */
	s = send_new("ase", "signalement", "police75,tpe75", "general");
	doc = cli_ok("ase",
		     ARGS("case", "status", ids(s.case_id), "presumed_victim",
			  "--note", "Indices concordants", "--indicator",
			  "CTRL_ADULT_WATCH", "--indicator", "OFF_REPEAT"));
	assert_string_equal(jstr(doc, "protection_status"), "presumed_victim");
	json_decref(doc);

	view = case_show("ase", s.case_id);
	json_array_foreach(jarr(view, "events"), i, e)
	{
		if (strcmp(jstr(e, "what"), "status") != 0)
			continue;
		found++;
		assert_string_equal(jstr(e, "status"), "presumed_victim");
		assert_string_equal(jstr(e, "note"), "Indices concordants");
		assert_string_equal(jstr(e, "by_institution"), "ase75");
		assert_string_equal(jstr(e, "by_login"), "ase");
		assert_true(
			has_string(jarr(e, "indicators"), "CTRL_ADULT_WATCH"));
		assert_true(has_string(jarr(e, "indicators"), "OFF_REPEAT"));
		assert_true(strlen(jstr(e, "at")) == 20);
	}
	assert_int_equal(found, 1);
	json_decref(view);

	c = itest_session("ase");
	refused(c, "ase", rq_status(&q, s.case_id, "presumed_victim", NULL),
		"case.status", EC(CONFLICT), "status", "the same status again");
	refused(c, "ase", rq_status(&q, s.case_id, "identified", NULL),
		"case.status", EC(FORBIDDEN), "status",
		"identified by child welfare");
	refused(c, "ase", rq_status(&q, s.case_id, "rescued", NULL),
		"case.status", EC(BAD_REQUEST), "status", "unknown status");
	refused(c, "ase",
		rq_status(&q, s.case_id, "not_a_victim", "NO_SUCH_INDICATOR"),
		"case.status", EC(BAD_REQUEST), "indicators",
		"unknown indicator");
	refused(c, "ase",
		rq_status(&q, s.case_id, "not_a_victim", "ctrl_adult_watch"),
		"case.status", EC(BAD_REQUEST), "indicators",
		"malformed indicator");
	refused(c, "ase", rq_status(&q, 0, "not_a_victim", NULL), "case.status",
		EC(BAD_REQUEST), "case_id", "no case id");
	itest_close(c);
	c = itest_session("coord");
	refused(c, "coord", rq_status(&q, s.case_id, "identified", NULL),
		"case.status", EC(FORBIDDEN), "status",
		"identified by the coordinator of an association");
	itest_close(c);
	c = itest_session("juge");
	refused(c, "juge", rq_status(&q, s.case_id, "identified", NULL),
		"case.status", EC(FORBIDDEN), "status",
		"identified by a court");
	itest_close(c);

	/* police records the formal identification */
	doc = cli_ok("police", ARGS("case", "status", ids(s.case_id),
				    "identified", "--note", "PV 2026/118"));
	assert_string_equal(jstr(doc, "protection_status"), "identified");
	json_decref(doc);
	view = case_show("ase", s.case_id);
	assert_string_equal(jstr(view, "protection_status"), "identified");
	assert_int_equal(view_events(view, "status", NULL), 2);
	json_decref(view);

	/* the coordinator records any other status */
	doc = cli_ok("coord",
		     ARGS("case", "status", ids(s.case_id), "not_a_victim"));
	assert_string_equal(jstr(doc, "protection_status"), "not_a_victim");
	json_decref(doc);
}

/* Gendarmerie, like police, may record `identified`. */
static void test_case_status_gendarmerie(void **state)
{
	struct sent s;
	json_t *doc;

	(void)state;
	s = send_new("ase", "signalement", "gend77", "general");
	cli_refused("pjj", ARGS("case", "status", ids(s.case_id), "identified"),
		    "NOT_FOUND", NULL);
	doc = cli_ok("gend",
		     ARGS("case", "status", ids(s.case_id), "identified"));
	assert_string_equal(jstr(doc, "protection_status"), "identified");
	json_decref(doc);
}

/* ==== need to know: visibility class x institution kind ================== */

struct mnotice {
	long long id;
	const char *author; /* institution */
	const char *vis;
};

/* Which notices of `ns` the reader sees in the case, as the rules say. */
static void expect_visible(const struct reader *r, long long case_id,
			   const struct mnotice *ns, size_t n, const char *lead)
{
	json_t *view = case_show(r->login, case_id), *e;
	size_t i;

	for (i = 0; i < n; i++) {
		int want = strcmp(ns[i].author, r->institution) == 0 ||
			   class_readable(ns[i].vis, r->kind) ||
			   (lead != NULL && strcmp(lead, r->institution) == 0 &&
			    strcmp(ns[i].vis, "health") == 0);
		int got = find_id(jarr(view, "notices"), "notice_id",
				  ns[i].id) != NULL;

		if (want != got)
			fail_msg("%s (%s) %s %s's %s notice %lld", r->login,
				 r->kind, got ? "sees" : "does not see",
				 ns[i].author, ns[i].vis, ns[i].id);
	}
	/* no timeline entry of a notice it may not see */
	json_array_foreach(jarr(view, "events"), i, e)
	{
		long long nid = itest_jint(e, "notice_id");

		if (nid != 0 &&
		    find_id(jarr(view, "notices"), "notice_id", nid) == NULL)
			fail_msg("%s sees event %s of hidden notice %lld",
				 r->login, jstr(e, "what"), nid);
	}
	json_decref(view);
}

static void test_visibility_matrix(void **state)
{
	static const char *const classes[] = {"general", "social", "health",
					      "judicial"};
	/* the recipient each author addresses a notice of each class to */
	static const char *const ase_to[] = {"pjj75", "pjj75", "hopital75",
					     "pjj75"};
	static const char *const pjj_to[] = {"ase75", "ase75", "hopital75",
					     "tpe75"};
	static const char *const joiners[] = {"police75", "tpe75",   "gend77",
					      "avocat75", "ecole75", "autre75"};
	struct mnotice ns[9];
	struct itest_conn *c;
	struct rawsend rs;
	struct sent s;
	size_t i, n = 0;
	long long case_id;
	json_t *doc;

	(void)state;
	s = send_new("ase", "sighting", "pjj75", "general");
	case_id = s.case_id;
	ns[n++] = (struct mnotice){s.notice_id, "ase75", "general"};
	for (i = 0; i < sizeof(joiners) / sizeof(joiners[0]); i++) {
		doc = cli_ok("coord", ARGS("case", "party", "add",
					   ids(s.case_id), joiners[i]));
		json_decref(doc);
	}
	for (i = 1; i < 4; i++) {
		struct sent t = send_about("ase", s.person_id, "followup",
					   ase_to[i], classes[i]);

		assert_int_equal(t.case_id, s.case_id);
		ns[n++] = (struct mnotice){t.notice_id, "ase75", classes[i]};
	}
	for (i = 0; i < 4; i++) {
		struct sent t = send_about("pjj", s.person_id, "followup",
					   pjj_to[i], classes[i]);

		assert_int_equal(t.case_id, s.case_id);
		ns[n++] = (struct mnotice){t.notice_id, "pjj75", classes[i]};
	}
	for (i = 0; i < NREADERS; i++)
		expect_visible(&readers[i], s.case_id, ns, n, NULL);

	/* a health notice may not go to education, unless it leads */
	c = itest_session("ase");
	rs_init(&rs, "followup", "ecole75");
	rs_person(&rs, s.person_id);
	rs.m.visibility = "health";
	refused(c, "ase", &rs.env, "notice.send", EC(BAD_REQUEST), "to",
		"health notice to education");

	/* the lead reads health notices whatever its kind */
	doc = cli_ok("coord", ARGS("case", "lead", ids(s.case_id), "ecole75"));
	json_decref(doc);
	for (i = 0; i < NREADERS; i++)
		expect_visible(&readers[i], s.case_id, ns, n, "ecole75");
	rs_init(&rs, "followup", "ecole75");
	rs_person(&rs, s.person_id);
	rs.m.visibility = "health";
	s = raw_sent(c, &rs, "health notice to the lead");
	assert_int_equal(s.case_id, case_id);
	ns[n++] = (struct mnotice){s.notice_id, "ase75", "health"};
	itest_close(c);
	for (i = 0; i < NREADERS; i++)
		expect_visible(&readers[i], case_id, ns, n, "ecole75");
}

/*
 * A notice hidden from a reader takes with it the identity it asserted, and
 * its kind does not show in the reader's case summary.
 */
static void test_hidden_notice_identity(void **state)
{
	char given[48];
	struct sent s;
	json_t *doc, *view, *l, *cs;

	(void)state;
	fresh(given, sizeof(given), "Cachee");
	s = cli_send("ase",
		     ARGS("notice", "send", "--kind", "shelter", "--to",
			  "hopital75", "--visibility", "health", "--given-name",
			  given, "--family-name", "Sante"));
	doc = cli_ok("coord",
		     ARGS("case", "party", "add", ids(s.case_id), "pjj75"));
	json_decref(doc);

	view = case_show("pjj", s.case_id);
	assert_int_equal(json_array_size(jarr(view, "notices")), 0);
	assert_int_equal(json_array_size(jarr(view, "identities")), 0);
	assert_null(strstr(jstr(view, "person_label"), given));
	assert_string_equal(jstr(view, "last_kind"), "");
	json_decref(view);
	l = case_list("pjj", ARGS("case", "list", "--limit", "1000"));
	cs = find_id(l, "case_id", s.case_id);
	assert_non_null(cs);
	assert_null(strstr(jstr(cs, "person_label"), given));
	json_decref(l);

	/* the coordinator (an association) does not read health either */
	view = case_show("coord", s.case_id);
	assert_int_equal(json_array_size(jarr(view, "notices")), 0);
	assert_int_equal(json_array_size(jarr(view, "identities")), 0);
	json_decref(view);

	view = case_show("sante", s.case_id);
	assert_int_equal(json_array_size(jarr(view, "notices")), 1);
	assert_int_equal(json_array_size(jarr(view, "identities")), 1);
	assert_non_null(strstr(jstr(view, "person_label"), given));
	json_decref(view);
}

/* ==== roles ============================================================== */

/* Admins and auditors see no case content and change nothing. */
static void test_roles_content_blind(void **state)
{
	static const char *const logins[] = {"admin", "auditor"};
	struct sent s;
	size_t i;

	(void)state;
	s = send_new("ase", "referral", "hlr", "general");
	for (i = 0; i < 2; i++) {
		const char *l = logins[i];
		struct itest_conn *c = itest_session(l);
		struct rawsend rs;
		struct frame_msg *m;
		struct rq q;

		rs_init(&rs, "sighting", "pjj75");
		refused(c, l, &rs.env, "notice.send", EC(FORBIDDEN), NULL,
			"send");
		rs_init(&rs, "sighting", "pjj75");
		rs_person(&rs, s.person_id);
		refused(c, l, &rs.env, "notice.send", EC(FORBIDDEN), NULL,
			"send by person");
		refused(c, l, rq_inbox(&q, 0, 0), "inbox", EC(FORBIDDEN), NULL,
			"inbox");
		refused(c, l, rq_ack(&q, s.notice_id, "read", NULL, NULL),
			"ack", EC(FORBIDDEN), NULL, "ack");
		refused(c, l, rq_list(&q, "", "", "", ""), "case.list",
			EC(FORBIDDEN), NULL, "case list");
		refused(c, l, rq_show(&q, s.case_id), "case.show",
			EC(FORBIDDEN), NULL, "case show");
		refused(c, l, rq_party(&q, s.case_id, "pjj75", 0), "case.party",
			EC(FORBIDDEN), NULL, "party add");
		refused(c, l, rq_party(&q, s.case_id, "hlr", 1), "case.party",
			EC(FORBIDDEN), NULL, "party remove");
		refused(c, l, rq_lead(&q, s.case_id, "hlr"), "case.lead",
			EC(FORBIDDEN), NULL, "lead");
		refused(c, l, rq_close(&q, s.case_id, "x"), "case.close",
			EC(FORBIDDEN), NULL, "close");
		refused(c, l, rq_reopen(&q, s.case_id), "case.reopen",
			EC(FORBIDDEN), NULL, "reopen");
		refused(c, l, rq_status(&q, s.case_id, "presumed_victim", NULL),
			"case.status", EC(FORBIDDEN), NULL, "status");
		/* indicators: everyone */
		m = raw_ok(c, rq_indicators(&q, ""),
			   MAILLAGE__ENVELOPE__BODY_INDICATORS_RESULT,
			   "indicators");
		assert_true(m->env->indicators_result->n_indicators > 0);
		frame_msg_free(m);
		expect_audit(l, "indicators", "ok", NULL);
		itest_close(c);
		cli_refused(l, ARGS("case", "show", ids(s.case_id)),
			    "FORBIDDEN", NULL);
		cli_refused(l, ARGS("inbox"), "FORBIDDEN", NULL);
	}
}

/* Partners may not add or remove parties, set the lead, close or reopen. */
static void test_roles_partner_coordinator_ops(void **state)
{
	static const char *const partners[] = {"ase", "pjj", "police", "juge",
					       "sante"};
	struct sent s, closed;
	json_t *doc;
	size_t i;

	(void)state;
	s = send_new("ase", "signalement", "police75,tpe75", "general");
	closed = send_new("ase", "signalement", "police75,tpe75", "general");
	doc = cli_ok("coord",
		     ARGS("case", "party", "add", ids(s.case_id), "pjj75"));
	json_decref(doc);
	doc = cli_ok("coord", ARGS("case", "party", "add", ids(closed.case_id),
				   "pjj75"));
	json_decref(doc);
	doc = cli_ok("coord", ARGS("case", "close", ids(closed.case_id),
				   "--reason", "Test: rôles"));
	json_decref(doc);
	for (i = 0; i < sizeof(partners) / sizeof(partners[0]); i++) {
		const char *l = partners[i];
		struct itest_conn *c = itest_session(l);
		struct rq q;

		refused(c, l, rq_party(&q, s.case_id, "hlr", 0), "case.party",
			EC(FORBIDDEN), NULL, "partner adds a party");
		refused(c, l, rq_party(&q, s.case_id, "pjj75", 1), "case.party",
			EC(FORBIDDEN), NULL, "partner removes a party");
		refused(c, l, rq_lead(&q, s.case_id, "ase75"), "case.lead",
			EC(FORBIDDEN), NULL, "partner sets the lead");
		refused(c, l, rq_close(&q, s.case_id, "because"), "case.close",
			EC(FORBIDDEN), NULL, "partner closes");
		refused(c, l, rq_reopen(&q, closed.case_id), "case.reopen",
			EC(FORBIDDEN), NULL, "partner reopens");
		itest_close(c);
	}
	cli_refused(
		"ase",
		ARGS("case", "close", ids(s.case_id), "--reason", "Pas à moi"),
		"FORBIDDEN", NULL);
	cli_refused("ase", ARGS("case", "lead", ids(s.case_id), "ase75"),
		    "FORBIDDEN", NULL);
	cli_refused("pjj",
		    ARGS("case", "party", "add", ids(s.case_id), "ase75"),
		    "FORBIDDEN", NULL);
	cli_refused("police", ARGS("case", "reopen", ids(closed.case_id)),
		    "FORBIDDEN", NULL);
}

/* ==== indicators ========================================================= */

static void test_indicators(void **state)
{
	json_t *l, *it;
	size_t i, k;
	long long total, control;

	(void)state;
	total = itest_sql_int(
		"SELECT count(*) FROM indicator WHERE NOT retired");
	control = itest_sql_int(
		"SELECT count(*) FROM indicator WHERE NOT retired "
		"AND category = 'control'");
	for (k = 0; k < itest_demo_count; k++) {
		l = cli_ok(itest_demo_accounts[k].login, ARGS("indicators"));
		assert_true(json_is_array(l));
		assert_int_equal(json_array_size(l), total);
		json_decref(l);
	}
	l = cli_ok("ase", ARGS("indicators"));
	it = find_str(l, "code", "CTRL_DOCUMENTS");
	assert_non_null(it);
	assert_string_equal(jstr(it, "category"), "control");
	assert_string_equal(jstr(it, "strength"), "strong");
	assert_string_equal(jstr(it, "label_en"),
			    "Identity papers confiscated or held by someone "
			    "else");
	assert_true(strlen(jstr(it, "label_fr")) > 0);
	json_decref(l);

	l = cli_ok("pjj", ARGS("indicators", "--category", "control"));
	assert_int_equal(json_array_size(l), control);
	json_array_foreach(l, i, it)
	{
		assert_string_equal(jstr(it, "category"), "control");
	}
	json_decref(l);

	{
		struct itest_conn *c = itest_session("pjj");
		struct rq q;

		refused(c, "pjj", rq_indicators(&q, "gossip"), "indicators",
			EC(BAD_REQUEST), "category", "unknown category");
		itest_close(c);
	}
}

/* ==== bad input of notice send ============================================ */

/* One bad send from ase: refused with code and field, nothing stored. */
static void bad_send(struct itest_conn *c, struct rawsend *rs,
		     Maillage__ErrorCode code, const char *field,
		     const char *what)
{
	refused(c, "ase", &rs->env, "notice.send", code, field, what);
}

/* The legal basis and the recipients' kinds. */
static void test_bad_send_basis(void **state)
{
	struct itest_conn *c = itest_session("ase");
	struct rawsend rs;

	(void)state;
	/* a sighting defaults to secret_partage: not to the police */
	rs_init(&rs, "sighting", "police75");
	bad_send(c, &rs, EC(BAD_REQUEST), BASIS_FIELD,
		 "secret_partage to police");
	rs_init(&rs, "signalement", "tpe75");
	rs_to(&rs, "police75");
	rs.m.basis = "secret_partage";
	bad_send(c, &rs, EC(BAD_REQUEST), BASIS_FIELD,
		 "explicit secret_partage to police");
	rs_init(&rs, "sighting", "gend77");
	bad_send(c, &rs, EC(BAD_REQUEST), BASIS_FIELD,
		 "secret_partage to gendarmes");
	/* information_preoccupante reaches child welfare only */
	rs_init(&rs, "information_preoccupante", "pjj75");
	bad_send(c, &rs, EC(BAD_REQUEST), BASIS_FIELD,
		 "information_preoccupante to youth justice");
	/* a class the recipient's kind may not read */
	rs_init(&rs, "followup", "pjj75");
	rs.m.visibility = "health";
	bad_send(c, &rs, EC(BAD_REQUEST), "to",
		 "health notice to youth justice");
	rs_init(&rs, "signalement", "police75");
	rs.m.visibility = "social";
	bad_send(c, &rs, EC(BAD_REQUEST), "to", "social notice to police");
	rs_init(&rs, "followup", "hlr");
	rs.m.visibility = "judicial";
	bad_send(c, &rs, EC(BAD_REQUEST), "to",
		 "judicial notice to an "
		 "association");
	itest_close(c);

	/* the CLI reports the refusal */
	cli_refused("ase",
		    ARGS("notice", "send", "--kind", "sighting", "--to",
			 "police75", "--given-name", "Cli", "--family-name",
			 "Refus"),
		    "BAD_REQUEST", BASIS_FIELD);
}

/* Unknown codes and recipients. */
static void test_bad_send_codes(void **state)
{
	struct itest_conn *c = itest_session("ase");
	struct rawsend rs;

	(void)state;
	rs_init(&rs, "gossip", "pjj75");
	bad_send(c, &rs, EC(BAD_REQUEST), "kind", "unknown kind");
	rs_init(&rs, "", "pjj75");
	bad_send(c, &rs, EC(BAD_REQUEST), "kind", "no kind");
	rs_init(&rs, "sighting", "pjj75");
	rs.m.visibility = "secret";
	bad_send(c, &rs, EC(BAD_REQUEST), "visibility", "unknown visibility");
	rs_init(&rs, "sighting", "pjj75");
	rs.m.urgency = "asap";
	bad_send(c, &rs, EC(BAD_REQUEST), "urgency", "unknown urgency");
	rs_init(&rs, "sighting", "pjj75");
	rs.m.basis = "hearsay";
	bad_send(c, &rs, EC(BAD_REQUEST), "basis", "unknown basis");
	rs_init(&rs, "sighting", "pjj75");
	rs_indicator(&rs, "CTRL_ADULT_WATCH");
	rs_indicator(&rs, "NO_SUCH_INDICATOR");
	bad_send(c, &rs, EC(BAD_REQUEST), "indicators", "unknown indicator");
	rs_init(&rs, "sighting", "pjj75");
	rs_indicator(&rs, "ctrl adult watch");
	bad_send(c, &rs, EC(BAD_REQUEST), "indicators", "malformed indicator");
	rs_init(&rs, "sighting", "pjj75");
	rs_indicator(&rs, "OFF_REPEAT");
	rs_indicator(&rs, "OFF_REPEAT");
	bad_send(c, &rs, EC(BAD_REQUEST), "indicators", "indicator twice");
	rs_init(&rs, "sighting", "pjj75");
	rs_to(&rs, "nosuch99");
	bad_send(c, &rs, EC(BAD_REQUEST), "to", "unknown institution");
	rs_init(&rs, "sighting", "Not A Code");
	bad_send(c, &rs, EC(BAD_REQUEST), "to", "malformed institution");
	rs_init(&rs, "sighting", NULL);
	bad_send(c, &rs, EC(BAD_REQUEST), "to", "no recipient");
	rs_init(&rs, "sighting", "ferme75");
	bad_send(c, &rs, EC(BAD_REQUEST), "to", "disabled institution");
	rs_init(&rs, "sighting", "pjj75");
	rs_to(&rs, "ferme75");
	bad_send(c, &rs, EC(BAD_REQUEST), "to", "one disabled recipient");
	rs_init(&rs, "sighting", "ase75");
	bad_send(c, &rs, EC(BAD_REQUEST), "to", "to one's own institution");
	rs_init(&rs, "sighting", "pjj75");
	rs_to(&rs, "pjj75");
	bad_send(c, &rs, EC(BAD_REQUEST), "to", "recipient twice");
	itest_close(c);
	cli_refused("ase",
		    ARGS("notice", "send", "--kind", "sighting", "--to",
			 "nosuch99", "--given-name", "Cli", "--family-name",
			 "Inconnu"),
		    "BAD_REQUEST", "to");
}

/* The person, the key, the informed statement. */
static void test_bad_send_person_key(void **state)
{
	struct itest_conn *c = itest_session("ase");
	struct rawsend rs;
	struct sent s;

	(void)state;
	s = send_new("ase", "sighting", "pjj75", "general");
	rs_init(&rs, "sighting", "pjj75");
	rs.m.identity = NULL;
	bad_send(c, &rs, EC(BAD_REQUEST), "person",
		 "neither person nor "
		 "identity");
	rs_init(&rs, "sighting", "pjj75");
	rs.m.person_id = s.person_id;
	bad_send(c, &rs, EC(BAD_REQUEST), "person", "person and identity");
	rs_init(&rs, "sighting", "pjj75");
	rs_person(&rs, NO_SUCH_ID);
	bad_send(c, &rs, EC(NOT_FOUND), "person_id", "nonexistent person");
	rs_init(&rs, "sighting", "pjj75");
	rs.m.idempotency_key = "";
	bad_send(c, &rs, EC(BAD_REQUEST), "idempotency_key", "no key");
	rs_init(&rs, "sighting", "pjj75");
	rs.m.idempotency_key = "with space!";
	bad_send(c, &rs, EC(BAD_REQUEST), "idempotency_key", "malformed key");
	rs_init(&rs, "sighting", "pjj75");
	rs.m.informed = "maybe";
	bad_send(c, &rs, EC(BAD_REQUEST), "informed", "informed maybe");
	rs_init(&rs, "sighting", "pjj75");
	rs.m.informed = "no";
	bad_send(c, &rs, EC(BAD_REQUEST), "informed_note",
		 "not informed, no reason given");
	itest_close(c);
}

/* Text: the size limit, UTF-8. */
static void test_bad_send_text(void **state)
{
	struct itest_conn *c = itest_session("ase");
	struct rawsend rs;
	struct sent s;
	char *text = malloc(TEXT_MAX + 2);

	(void)state;
	assert_non_null(text);
	memset(text, 'a', TEXT_MAX + 1);
	text[TEXT_MAX + 1] = '\0';
	rs_init(&rs, "sighting", "pjj75");
	rs.m.text = text;
	bad_send(c, &rs, EC(BAD_REQUEST), "text", "text over 32 KiB");
	/* exactly at the limit: accepted and stored whole */
	text[TEXT_MAX] = '\0';
	rs_init(&rs, "sighting", "pjj75");
	rs.m.text = text;
	s = raw_sent(c, &rs, "text of exactly 32 KiB");
	/* sealed (vault.h): nothing in clear, the whole text read back */
	assert_int_equal(
		itest_sql_int("SELECT octet_length(body) FROM notice WHERE "
			      "id = %lld AND body_enc IS NOT NULL",
			      s.notice_id),
		0);
	{
		json_t *v = case_show("ase", s.case_id);
		json_t *n =
			find_id(jarr(v, "notices"), "notice_id", s.notice_id);
		assert_non_null(n);
		assert_int_equal(
			strlen(json_string_value(json_object_get(n, "text"))),
			TEXT_MAX);
		json_decref(v);
	}
	free(text);

	rs_init(&rs, "sighting", "pjj75");
	rs.m.text = "Vu \xff\xfe gare";
	bad_send(c, &rs, EC(BAD_REQUEST), "text", "invalid UTF-8 in the text");
	rs_init(&rs, "sighting", "pjj75");
	rs.m.text = "tronqu\xc3";
	bad_send(c, &rs, EC(BAD_REQUEST), "text", "truncated UTF-8 sequence");
	rs_init(&rs, "sighting", "pjj75");
	rs.m.text = "overlong \xc0\xaf";
	bad_send(c, &rs, EC(BAD_REQUEST), "text", "overlong UTF-8");
	rs_init(&rs, "sighting", "pjj75");
	rs.id.given_name = "Jo\xffn";
	bad_send(c, &rs, EC(BAD_REQUEST), "given_name",
		 "invalid UTF-8 in a name");
	rs_init(&rs, "sighting", "pjj75");
	rs.id.family_name = "Deux\nlignes";
	bad_send(c, &rs, EC(BAD_REQUEST), "family_name", "a name on two lines");
	rs_init(&rs, "sighting", "pjj75");
	rs.id.place_seen = "\xed\xa0\x80";
	bad_send(c, &rs, EC(BAD_REQUEST), "place_seen", "UTF-16 surrogate");
	itest_close(c);
}

/* Dates and the other identity fields. */
static void test_bad_send_identity(void **state)
{
	static const char *const bad_dates[] = {
		"2010-13-01", "2010-02-30",
		"01/02/2010", "2010-1",
		"2010-00",    "20100",
		"2999",	      "2010-05-01T00:00:00Z",
	};
	struct itest_conn *c = itest_session("ase");
	struct rawsend rs;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_dates) / sizeof(bad_dates[0]); i++) {
		rs_init(&rs, "sighting", "pjj75");
		rs.id.birth_date = (char *)bad_dates[i];
		bad_send(c, &rs, EC(BAD_REQUEST), "birth_date", bad_dates[i]);
	}
	rs_init(&rs, "sighting", "pjj75");
	rs.id.declared_age = 15;
	rs.id.age_declared_on = "2024-02-30";
	bad_send(c, &rs, EC(BAD_REQUEST), "age_declared_on",
		 "impossible declaration date");
	rs_init(&rs, "sighting", "pjj75");
	rs.id.declared_age = 15;
	rs.id.age_declared_on = "10 janvier";
	bad_send(c, &rs, EC(BAD_REQUEST), "age_declared_on",
		 "malformed declaration date");
	rs_init(&rs, "sighting", "pjj75");
	rs.id.age_declared_on = "2024-01-10";
	bad_send(c, &rs, EC(BAD_REQUEST), "age_declared_on",
		 "declaration date without an age");
	rs_init(&rs, "sighting", "pjj75");
	rs.id.declared_age = 15;
	rs.id.birth_date = "2010";
	bad_send(c, &rs, EC(BAD_REQUEST), "declared_age",
		 "birth date and declared age");
	rs_init(&rs, "sighting", "pjj75");
	rs.id.declared_age = 200;
	bad_send(c, &rs, EC(BAD_REQUEST), "declared_age", "age 200");
	rs_init(&rs, "sighting", "pjj75");
	rs.id.sex = "X";
	bad_send(c, &rs, EC(BAD_REQUEST), "sex", "sex X");
	rs_init(&rs, "sighting", "pjj75");
	rs.id.nationality = "fr";
	bad_send(c, &rs, EC(BAD_REQUEST), "nationality", "lower-case country");
	rs_init(&rs, "sighting", "pjj75");
	rs.id.nationality = "FRA";
	bad_send(c, &rs, EC(BAD_REQUEST), "nationality", "alpha-3 country");
	rs_init(&rs, "sighting", "pjj75");
	rs.lang[0] = "French";
	rs.id.n_languages = 1;
	bad_send(c, &rs, EC(BAD_REQUEST), "languages", "language name");
	rs_init(&rs, "sighting", "pjj75");
	memset(&rs.id, 0, sizeof(rs.id));
	maillage__identity__init(&rs.id);
	bad_send(c, &rs, EC(BAD_REQUEST), "identity", "empty identity");
	itest_close(c);
	cli_refused("ase",
		    ARGS("notice", "send", "--kind", "sighting", "--to",
			 "pjj75", "--given-name", "Cli", "--family-name",
			 "Date", "--birth-date", "2010-02-30"),
		    "BAD_REQUEST", "birth_date");
}

/* ======================================================================== */

static int group_setup(void **state)
{
	(void)state;
	(void)itest_env();
	/* one partner institution of each kind the demo network lacks */
	if (itest_fixture("enrol-kinds") != 0) {
		print_error("fixture.sh enrol-kinds failed\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_done_when),
		cmocka_unit_test(test_send_text_output),
		cmocka_unit_test(test_send_identity),
		cmocka_unit_test(test_send_declared_age),
		cmocka_unit_test(test_send_file),
		cmocka_unit_test(test_send_person_id),
		cmocka_unit_test(test_idempotent_resend),
		cmocka_unit_test(test_idempotent_concurrent),
		cmocka_unit_test(test_concurrent_sends_one_case),
		cmocka_unit_test(test_inbox),
		cmocka_unit_test(test_inbox_coordinator),
		cmocka_unit_test(test_ack_forward),
		cmocka_unit_test(test_ack_skips),
		cmocka_unit_test(test_ack_declined),
		cmocka_unit_test(test_ack_not_addressed),
		cmocka_unit_test(test_case_list),
		cmocka_unit_test(test_case_list_bad_filters),
		cmocka_unit_test(test_case_show_non_party),
		cmocka_unit_test(test_case_party),
		cmocka_unit_test(test_case_lead),
		cmocka_unit_test(test_case_close_reopen),
		cmocka_unit_test(test_case_status),
		cmocka_unit_test(test_case_status_gendarmerie),
		cmocka_unit_test(test_visibility_matrix),
		cmocka_unit_test(test_hidden_notice_identity),
		cmocka_unit_test(test_roles_content_blind),
		cmocka_unit_test(test_roles_partner_coordinator_ops),
		cmocka_unit_test(test_indicators),
		cmocka_unit_test(test_bad_send_basis),
		cmocka_unit_test(test_bad_send_codes),
		cmocka_unit_test(test_bad_send_person_key),
		cmocka_unit_test(test_bad_send_text),
		cmocka_unit_test(test_bad_send_identity),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	if (argc > 2)
		cmocka_set_skip_filter(argv[2]);
	return cmocka_run_group_tests_name("notice", tests, group_setup, NULL);
}
