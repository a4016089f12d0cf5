/*
 * test_audit: integration tests of the tamper-evident audit trail (issue 6,
 * audit) against the running fixture, whose daemon seals every 100 ms and
 * signs a checkpoint every 500 ms with WORKDIR/audit/signing.key. They own:
 * the auditor-only access (partners, coordinators and admins get FORBIDDEN
 * for every audit request, and the refusal is audited); the log filters
 * (case, account, institution, action, time window, outcome, paging, CSV),
 * each compared row for row with the same query run in SQL; who read a
 * case; the verification of the live chain against the public key; tamper
 * tests that change, delete, insert and reorder audit_event rows directly
 * in PostgreSQL (triggers bypassed with session_replication_role, as the
 * cluster's superuser) and expect `audit verify` to name the right record
 * first, each undone afterwards so that the chain verifies again;
 * checkpoints signed by another key (in the database and in an export)
 * rejected, and a chain checked against the wrong key refused; the export
 * verified offline, without configuration or connection, and its
 * tampering caught; a daemon without a key that seals without signing,
 * and a key that its group may read refused by `maillaged check`; two
 * instances sealing one chain; and the sealer's throughput on a backlog of
 * 50000 rows, printed (rows/s).
 *
 * Usage: test_audit [FILTER [SKIP_FILTER]] (cmocka glob patterns).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "itest.h"

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NO_SUCH_CASE "999999999999"
#define BENCH_ROWS 50000

/* ---- small things ------------------------------------------------------ */

static const char *ids(long long v)
{
	static char buf[64][24];
	static unsigned n;
	char *b = buf[n++ % 64];

	snprintf(b, sizeof(buf[0]), "%lld", v);
	return b;
}

static const char *work_path(const char *rel)
{
	static char buf[8][ITEST_PATH_MAX + 64];
	static unsigned n;
	char *b = buf[n++ % 8];

	snprintf(b, sizeof(buf[0]), "%s/%s", itest_env()->workdir, rel);
	return b;
}

static const char *pubkey(void)
{
	return work_path("audit/signing.key.pub");
}

/* SQL with a formatted text; the first line of output in `out`. */
static int sqlf(char *out, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int sqlf(char *out, size_t n, const char *fmt, ...)
{
	char sql[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return itest_psql(sql, out, n);
}

static long long sql_int(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static long long sql_int(const char *fmt, ...)
{
	char sql[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return itest_psql_int(sql);
}

/* SQL that must succeed (tampering runs as the superuser). */
static void sql_must(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void sql_must(const char *fmt, ...)
{
	char sql[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (itest_psql(sql, NULL, 0) != 0)
		fail_msg("SQL failed: %s", sql);
}

/* ---- the CLI ------------------------------------------------------------ */

/*
 * Run `maillage [--config CONF] [--json] ARGS...`; conf NULL: none. Its
 * exit status.
 */
static int cli_conf(struct itest_output *out, const char *conf, int json,
		    const char *const *args)
{
	const struct itest_env *e = itest_env();
	const char *argv[64];
	size_t n = 0, i;

	argv[n++] = e->client_bin;
	if (conf != NULL) {
		argv[n++] = "--config";
		argv[n++] = conf;
	}
	if (json)
		argv[n++] = "--json";
	for (i = 0; args[i] != NULL; i++) {
		if (n + 1 >= sizeof(argv) / sizeof(argv[0]))
			fail_msg("too many CLI arguments");
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	return itest_run(argv, 120, out);
}

static const char *conf_of(const char *login)
{
	static char buf[4][ITEST_PATH_MAX + 64];
	static unsigned n;
	char *b = buf[n++ % 4];

	snprintf(b, sizeof(buf[0]), "%s/client/%s.conf", itest_env()->workdir,
		 login);
	return b;
}

static const char *desc(const char *who, const char *const *args)
{
	static char buf[1024];
	size_t n;
	int i;

	snprintf(buf, sizeof(buf), "%s: maillage", who != NULL ? who : "-");
	for (i = 0; args[i] != NULL; i++) {
		n = strlen(buf);
		if (n + 2 >= sizeof(buf))
			break;
		snprintf(buf + n, sizeof(buf) - n, " %s", args[i]);
	}
	return buf;
}

/* Run with --json as `login`; exit status `want`; the JSON on stdout. */
static json_t *cli_json(const char *login, int want, const char *const *args)
{
	struct itest_output out;
	json_error_t jerr;
	json_t *doc;

	cli_conf(&out, login != NULL ? conf_of(login) : NULL, 1, args);
	if (out.status != want)
		fail_msg("`%s`: exit status %d%s, expected %d\nstdout: %s\n"
			 "stderr: %s",
			 desc(login, args), out.status,
			 out.timed_out ? " (timed out)" : "", want, out.out,
			 out.err);
	doc = json_loads(out.out, 0, &jerr);
	if (doc == NULL)
		fail_msg("`%s`: not one JSON document (%s):\n%s",
			 desc(login, args), jerr.text, out.out);
	itest_output_free(&out);
	return doc;
}

/* Run as `login` (text); must exit `want`; output kept in *out. */
static void cli_text(struct itest_output *out, const char *login, int want,
		     const char *const *args)
{
	cli_conf(out, login != NULL ? conf_of(login) : NULL, 0, args);
	if (out->status != want)
		fail_msg("`%s`: exit status %d%s, expected %d\nstdout: %s\n"
			 "stderr: %s",
			 desc(login, args), out->status,
			 out->timed_out ? " (timed out)" : "", want, out->out,
			 out->err);
}

/* The command must be refused with FORBIDDEN. */
static void cli_forbidden(const char *login, const char *const *args)
{
	struct itest_output out;

	cli_text(&out, login, 1, args);
	if (strstr(out.err, "FORBIDDEN") == NULL)
		fail_msg("`%s`: expected FORBIDDEN, got: %s", desc(login, args),
			 out.err);
	itest_output_free(&out);
}

static const char *jstr(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		fail_msg("no string \"%s\"", key);
	return json_string_value(v);
}

/* ---- the chain ----------------------------------------------------------- */

/* Wait until every row up to the current last id is sealed (and signed). */
static void wait_sealed(int signed_too)
{
	long long max = sql_int("SELECT coalesce(max(id), 0) FROM audit_event");
	int64_t deadline = itest_now_ms() + 30000;

	for (;;) {
		long long left = sql_int(
			"SELECT count(*) FROM audit_event e WHERE e.id <= %lld "
			"AND e.id > 0 AND NOT EXISTS (SELECT 1 FROM audit_seal "
			"s WHERE s.audit_id = e.id)",
			max);
		long long unsigned_ =
			signed_too
				? sql_int("SELECT count(*) FROM audit_seal "
					  "WHERE seq > coalesce((SELECT "
					  "max(seq) FROM audit_checkpoint), 0)")
				: 0;

		if (left == 0 && unsigned_ == 0)
			return;
		if (itest_now_ms() > deadline)
			fail_msg("rows up to id %lld not sealed (%lld left) or "
				 "not signed (%lld) after 30 s",
				 max, left, unsigned_);
		itest_sleep_ms(100);
	}
}

/* `audit verify --json [--pubkey KEY]` as the auditor; its document. */
static json_t *verify(const char *key, int want)
{
	if (key != NULL)
		return cli_json("auditor", want,
				ARGS("audit", "verify", "--pubkey", key));
	return cli_json("auditor", want, ARGS("audit", "verify"));
}

/* The first problem must be `kind` at `seq` about `audit_id` (0: any). */
static void expect_problem(json_t *doc, const char *kind, long long seq,
			   long long audit_id)
{
	json_t *p = json_array_get(json_object_get(doc, "problems"), 0);

	if (json_is_true(json_object_get(doc, "ok")) || p == NULL)
		fail_msg("verification passed; expected %s at seq %lld", kind,
			 seq);
	if (strcmp(jstr(p, "kind"), kind) != 0 || itest_jint(p, "seq") != seq ||
	    (audit_id != 0 && itest_jint(p, "audit_id") != audit_id))
		fail_msg("expected %s at seq %lld (record %lld), got %s at seq "
			 "%lld (record %lld): %s",
			 kind, seq, audit_id, jstr(p, "kind"),
			 itest_jint(p, "seq"), itest_jint(p, "audit_id"),
			 jstr(p, "detail"));
}

static void expect_verified(void)
{
	json_t *doc = verify(pubkey(), 0);

	assert_true(json_is_true(json_object_get(doc, "ok")));
	assert_int_equal(itest_jint(doc, "problem_count"), 0);
	assert_true(json_is_true(json_object_get(doc, "key_trusted")));
	assert_true(itest_jint(doc, "signed_up_to") > 0);
	json_decref(doc);
}

static long long seal_seq(long long audit_id)
{
	return sql_int("SELECT seq FROM audit_seal WHERE audit_id = %lld",
		       audit_id);
}

/* ---- a case with readers, made once ----------------------------------------
 */

static long long the_case;
static long long max_before; /* last audit id when the activity ended */
static char act_since[64];   /* time of its first audit row */

static void make_activity(void)
{
	json_t *doc;
	char given[48];
	struct itest_output out;
	long long first;

	if (the_case > 0)
		return;
	first = sql_int("SELECT coalesce(max(id), 0) FROM audit_event") + 1;
	snprintf(given, sizeof(given), "Audit%llx",
		 (unsigned long long)itest_unique_id());
	doc = cli_json("ase", 0,
		       ARGS("notice", "send", "--kind", "referral", "--to",
			    "pjj75", "--given-name", given, "--family-name",
			    "Testescu"));
	the_case = itest_jint(doc, "case_id");
	json_decref(doc);
	doc = cli_json("coord", 0, ARGS("case", "show", ids(the_case)));
	json_decref(doc);
	doc = cli_json("coord", 0, ARGS("case", "show", ids(the_case)));
	json_decref(doc);
	doc = cli_json("ase", 0, ARGS("case", "show", ids(the_case)));
	json_decref(doc);
	/* Not a party: refused as not found, audited with the case id. */
	cli_text(&out, "police", 1, ARGS("case", "show", ids(the_case)));
	itest_output_free(&out);
	/* The recipient looks at its inbox. */
	cli_text(&out, "pjj", 0, ARGS("inbox"));
	itest_output_free(&out);
	max_before = sql_int("SELECT max(id) FROM audit_event");
	assert_int_equal(
		sqlf(act_since, sizeof(act_since),
		     "SELECT to_char(min(at) AT TIME ZONE 'UTC', "
		     "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM audit_event "
		     "WHERE id >= %lld",
		     first),
		0);
}

/* ---- access
 * ------------------------------------------------------------------ */

static void test_auditor_only(void **state)
{
	static const char *const logins[] = {"ase", "coord", "admin"};
	size_t i;

	(void)state;
	make_activity();
	for (i = 0; i < sizeof(logins) / sizeof(logins[0]); i++) {
		long long before = sql_int(
			"SELECT count(*) FROM audit_event WHERE login = '%s' "
			"AND action LIKE 'audit.%%' AND outcome = 'refused' "
			"AND error_code = 'FORBIDDEN'",
			logins[i]);

		cli_forbidden(logins[i], ARGS("audit", "log"));
		cli_forbidden(logins[i],
			      ARGS("audit", "who-read", ids(the_case)));
		cli_forbidden(logins[i], ARGS("audit", "verify"));
		cli_forbidden(logins[i], ARGS("audit", "export", "--to", "5"));
		/* Each refusal is audited (a job of its own: allow it time). */
		for (int t = 0;; t++) {
			long long after = sql_int(
				"SELECT count(*) FROM audit_event WHERE login "
				"= '%s' AND action LIKE 'audit.%%' AND "
				"outcome = 'refused' AND error_code = "
				"'FORBIDDEN'",
				logins[i]);
			if (after == before + 4)
				break;
			if (t > 50)
				fail_msg("%s: %lld refusals audited, expected "
					 "4",
					 logins[i], after - before);
			itest_sleep_ms(100);
		}
	}
}

/* ---- the log
 * ----------------------------------------------------------------- */

/* The ids the CLI printed, "a,b,c" (newest first unless ascending). */
static void ids_of(json_t *arr, char *out, size_t n)
{
	size_t i, len = 0;
	json_t *r;

	out[0] = '\0';
	json_array_foreach(arr, i, r)
	{
		len += (size_t)snprintf(out + len, n - len, "%s%lld",
					i > 0 ? "," : "", itest_jint(r, "id"));
		if (len >= n)
			fail_msg("too many ids");
	}
}

/* The log with `args` (bounded by --before) equals the SQL `where`. */
static void expect_log(const char *where, const char *const *args)
{
	static char truth[65536], got[65536];
	const char *argv[40];
	json_t *doc;
	size_t n = 0, i;

	assert_int_equal(sqlf(truth, sizeof(truth),
			      "SELECT coalesce(string_agg(id::text, ',' "
			      "ORDER BY id DESC), '') FROM audit_event e "
			      "WHERE e.id <= %lld AND (%s)",
			      max_before, where),
			 0);
	argv[n++] = "audit";
	argv[n++] = "log";
	argv[n++] = "--before";
	argv[n++] = ids(max_before + 1);
	argv[n++] = "--limit";
	argv[n++] = "100000";
	for (i = 0; args[i] != NULL; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	doc = cli_json("auditor", 0, argv);
	ids_of(doc, got, sizeof(got));
	if (strcmp(truth, got) != 0)
		fail_msg("`audit log ...` where %s:\nexpected %s\ngot      %s",
			 where, truth, got);
	if (truth[0] == '\0')
		fail_msg("the filter %s matches nothing: a useless check",
			 where);
	json_decref(doc);
}

static void test_log_filters(void **state)
{
	char where[512], t1[64], t2[64];
	long long first_show;

	(void)state;
	make_activity();
	snprintf(where, sizeof(where), "case_id = %lld", the_case);
	expect_log(where, ARGS("--case", ids(the_case)));
	/* Since the activity began: the earlier suites' rows are many. */
	snprintf(where, sizeof(where), "login = 'coord' AND at >= '%s'",
		 act_since);
	expect_log(where, ARGS("--account", "coord", "--since", act_since));
	snprintf(where, sizeof(where),
		 "institution_code = 'pjj75' AND at >= '%s'", act_since);
	expect_log(where, ARGS("--institution", "pjj75", "--since", act_since));
	snprintf(where, sizeof(where), "action = 'case.show' AND at >= '%s'",
		 act_since);
	expect_log(where, ARGS("--action", "case.show", "--since", act_since));
	snprintf(where, sizeof(where), "case_id = %lld AND outcome = 'refused'",
		 the_case);
	expect_log(where,
		   ARGS("--case", ids(the_case), "--outcome", "refused"));
	snprintf(where, sizeof(where),
		 "outcome = 'refused' AND login = 'police' AND at >= '%s'",
		 act_since);
	expect_log(where, ARGS("--outcome", "refused", "--account", "police",
			       "--since", act_since));
	snprintf(where, sizeof(where),
		 "case_id = %lld AND action = 'case.show' AND "
		 "institution_code = 'hlr'",
		 the_case);
	expect_log(where, ARGS("--case", ids(the_case), "--action", "case.show",
			       "--institution", "hlr"));

	/* A time window: from coord's first read, to ase's. */
	first_show = sql_int("SELECT min(id) FROM audit_event WHERE case_id = "
			     "%lld AND action = 'case.show'",
			     the_case);
	assert_int_equal(
		sqlf(t1, sizeof(t1),
		     "SELECT to_char(at AT TIME ZONE 'UTC', "
		     "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM audit_event "
		     "WHERE id = %lld",
		     first_show),
		0);
	assert_int_equal(
		sqlf(t2, sizeof(t2),
		     "SELECT to_char(max(at) AT TIME ZONE 'UTC', "
		     "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM audit_event "
		     "WHERE case_id = %lld AND login = 'ase' AND action = "
		     "'case.show'",
		     the_case),
		0);
	snprintf(where, sizeof(where), "at >= '%s' AND at < '%s'", t1, t2);
	expect_log(where, ARGS("--since", t1, "--until", t2));

	/* Paging: the newest 2, then oldest first after an id. */
	{
		json_t *doc = cli_json("auditor", 0,
				       ARGS("audit", "log", "--case",
					    ids(the_case), "--limit", "2",
					    "--before", ids(max_before + 1)));
		char truth[256], got[256];

		assert_int_equal(json_array_size(doc), 2);
		ids_of(doc, got, sizeof(got));
		sqlf(truth, sizeof(truth),
		     "SELECT string_agg(id::text, ',' ORDER BY id DESC) FROM "
		     "(SELECT id FROM audit_event WHERE case_id = %lld AND "
		     "id <= %lld ORDER BY id DESC LIMIT 2) x",
		     the_case, max_before);
		assert_string_equal(got, truth);
		json_decref(doc);

		doc = cli_json("auditor", 0,
			       ARGS("audit", "log", "--case", ids(the_case),
				    "--after", ids(first_show), "--limit",
				    "2"));
		ids_of(doc, got, sizeof(got));
		sqlf(truth, sizeof(truth),
		     "SELECT string_agg(id::text, ',' ORDER BY id) FROM "
		     "(SELECT id FROM audit_event WHERE case_id = %lld AND "
		     "id > %lld ORDER BY id LIMIT 2) x",
		     the_case, first_show);
		assert_string_equal(got, truth);
		json_decref(doc);
	}

	/* Bad filters are refused by the server, naming the field. */
	{
		struct itest_output out;

		cli_text(&out, "auditor", 1,
			 ARGS("audit", "log", "--institution", "NOT VALID"));
		assert_non_null(strstr(out.err, "institution"));
		itest_output_free(&out);
		cli_text(&out, "auditor", 1,
			 ARGS("audit", "log", "--since", "yesterday"));
		assert_non_null(strstr(out.err, "since"));
		itest_output_free(&out);
		cli_text(&out, "auditor", 2,
			 ARGS("audit", "log", "--outcome", "maybe"));
		itest_output_free(&out);
	}
}

static void test_log_csv(void **state)
{
	struct itest_output out;
	long long n, lines = 0;
	char *p;

	(void)state;
	make_activity();
	cli_text(&out, "auditor", 0,
		 ARGS("audit", "log", "--case", ids(the_case), "--format",
		      "csv", "--before", ids(max_before + 1)));
	n = sql_int("SELECT count(*) FROM audit_event WHERE case_id = %lld "
		    "AND id <= %lld",
		    the_case, max_before);
	for (p = out.out; *p != '\0'; p++)
		lines += *p == '\n';
	assert_int_equal(lines, n + 1);
	assert_true(strncmp(out.out,
			    "id,at,account_id,login,institution_code,role,"
			    "action,outcome,error_code,peer,request_id,"
			    "instance,cert_fingerprint,case_id,notice_id,"
			    "person_id,seal_seq,extra\n",
			    strlen("id,at,account_id")) == 0);
	/* The police's refusal: NULL error code would be empty; here set. */
	assert_non_null(strstr(out.out, ",police,police75,partner,case.show,"
					"refused,NOT_FOUND,"));
	itest_output_free(&out);
}

static void test_who_read(void **state)
{
	json_t *doc, *r;
	size_t i;
	int coord = 0, ase = 0;

	(void)state;
	make_activity();
	doc = cli_json("auditor", 0, ARGS("audit", "who-read", ids(the_case)));
	assert_int_equal(itest_jint(doc, "case_id"), the_case);
	json_array_foreach(json_object_get(doc, "readers"), i, r)
	{
		if (strcmp(jstr(r, "action"), "case.show") != 0)
			fail_msg("who-read lists action %s", jstr(r, "action"));
		if (strcmp(jstr(r, "login"), "coord") == 0) {
			coord = 1;
			assert_int_equal(itest_jint(r, "count"), 2);
			assert_string_equal(jstr(r, "institution_code"), "hlr");
		} else if (strcmp(jstr(r, "login"), "ase") == 0) {
			ase = 1;
			assert_int_equal(itest_jint(r, "count"), 1);
		} else if (strcmp(jstr(r, "login"), "police") == 0) {
			fail_msg("a refused read is listed as a read");
		}
	}
	assert_true(coord && ase);
	json_decref(doc);

	doc = cli_json("auditor", 0,
		       ARGS("audit", "who-read", ids(the_case), "--all"));
	ase = 0;
	json_array_foreach(json_object_get(doc, "readers"), i, r)
	{
		if (strcmp(jstr(r, "login"), "ase") == 0 &&
		    strcmp(jstr(r, "action"), "notice.send") == 0)
			ase = 1;
	}
	assert_true(ase);
	json_decref(doc);

	/* A case nobody read. */
	doc = cli_json("auditor", 0, ARGS("audit", "who-read", NO_SUCH_CASE));
	assert_int_equal(json_array_size(json_object_get(doc, "readers")), 0);
	json_decref(doc);
}

/* ---- verification and tampering --------------------------------------------
 */

static void test_verify_clean(void **state)
{
	struct itest_output out;
	json_t *doc;

	(void)state;
	make_activity();
	wait_sealed(1);
	expect_verified();
	/* Without --pubkey: verified, but said to be against the server's key.
	 */
	doc = verify(NULL, 0);
	assert_true(json_is_true(json_object_get(doc, "ok")));
	assert_true(json_is_false(json_object_get(doc, "key_trusted")));
	json_decref(doc);
	cli_text(&out, "auditor", 0,
		 ARGS("audit", "verify", "--pubkey", pubkey()));
	assert_non_null(strstr(out.out, "audit chain verified"));
	assert_non_null(strstr(out.out, "signed head: seq"));
	itest_output_free(&out);
}

/* The sealed row of coord's first read of the case. */
static long long target_row(void)
{
	long long id = sql_int("SELECT min(id) FROM audit_event WHERE case_id "
			       "= %lld AND login = 'coord' AND action = "
			       "'case.show'",
			       the_case);

	assert_true(id > 0);
	assert_true(seal_seq(id) > 0);
	return id;
}

static void test_tamper_modify(void **state)
{
	long long id, seq;
	json_t *doc;

	(void)state;
	make_activity();
	wait_sealed(1);
	id = target_row();
	seq = seal_seq(id);
	sql_must("SET session_replication_role = replica; UPDATE audit_event "
		 "SET outcome = 'refused', error_code = 'FORBIDDEN' WHERE id = "
		 "%lld",
		 id);
	doc = verify(pubkey(), 1);
	sql_must("SET session_replication_role = replica; UPDATE audit_event "
		 "SET outcome = 'ok', error_code = NULL WHERE id = %lld",
		 id);
	expect_problem(doc, "modified", seq, id);
	json_decref(doc);

	/* A timestamp moved by a microsecond. */
	sql_must("SET session_replication_role = replica; UPDATE audit_event "
		 "SET at = at + interval '1 microsecond' WHERE id = %lld",
		 id);
	doc = verify(pubkey(), 1);
	sql_must("SET session_replication_role = replica; UPDATE audit_event "
		 "SET at = at - interval '1 microsecond' WHERE id = %lld",
		 id);
	expect_problem(doc, "modified", seq, id);
	json_decref(doc);
	expect_verified();
}

static void test_tamper_delete(void **state)
{
	long long id, seq;
	json_t *doc;

	(void)state;
	make_activity();
	wait_sealed(1);
	id = target_row();
	seq = seal_seq(id);
	sql_must("DROP TABLE IF EXISTS audit_tamper_keep; CREATE TABLE "
		 "audit_tamper_keep AS SELECT * FROM audit_event WHERE id = "
		 "%lld",
		 id);
	sql_must("SET session_replication_role = replica; DELETE FROM "
		 "audit_event WHERE id = %lld",
		 id);
	doc = verify(pubkey(), 1);
	sql_must("INSERT INTO audit_event SELECT * FROM audit_tamper_keep; "
		 "DROP TABLE audit_tamper_keep");
	expect_problem(doc, "deleted", seq, id);
	json_decref(doc);
	expect_verified();
}

static void test_tamper_insert(void **state)
{
	long long gap, seq, gap_id = 0;
	int64_t deadline;
	json_t *doc;
	struct itest_output out;

	(void)state;
	make_activity();
	/* An id taken and never used: a rolled-back request. */
	gap = sql_int("SELECT nextval('audit_event_id_seq')");
	assert_true(gap > 0);
	cli_text(&out, "ase", 0, ARGS("ping"));
	itest_output_free(&out);
	/* The sealer passes it, waits for it, then gives up on it. */
	deadline = itest_now_ms() + 30000;
	for (;;) {
		long long past = sql_int("SELECT count(*) FROM audit_seal "
					 "WHERE audit_id > %lld",
					 gap);
		long long waiting = sql_int("SELECT count(*) FROM "
					    "audit_seal_gap WHERE audit_id = "
					    "%lld",
					    gap);

		if (waiting > 0)
			gap_id = gap;
		if (past > 0 && waiting == 0 && gap_id != 0)
			break;
		if (itest_now_ms() > deadline)
			fail_msg("the sealer did not pass and drop id %lld "
				 "(past %lld, waiting %lld, seen %lld)",
				 gap, past, waiting, gap_id);
		itest_sleep_ms(100);
	}
	wait_sealed(1);
	seq = sql_int("SELECT min(seq) FROM audit_seal WHERE audit_id > %lld",
		      gap);
	/* A forged record slipped into the hole. */
	sql_must("INSERT INTO audit_event (id, at, account_id, login, "
		 "institution_code, role, action, outcome, peer, request_id, "
		 "instance) SELECT %lld, at, account_id, login, "
		 "institution_code, role, 'case.show', 'ok', peer, 7, instance "
		 "FROM audit_event WHERE id = %lld",
		 gap, target_row());
	doc = verify(pubkey(), 1);
	sql_must("SET session_replication_role = replica; DELETE FROM "
		 "audit_event WHERE id = %lld",
		 gap);
	expect_problem(doc, "inserted", seq, gap);
	json_decref(doc);
	expect_verified();
}

static void test_tamper_reorder(void **state)
{
	long long a, b, sa, sb;
	json_t *doc;

	(void)state;
	make_activity();
	wait_sealed(1);
	/* coord's two reads of the case change places. */
	a = target_row();
	b = sql_int("SELECT max(id) FROM audit_event WHERE case_id = %lld AND "
		    "login = 'coord' AND action = 'case.show'",
		    the_case);
	assert_true(b > a);
	sa = seal_seq(a);
	sb = seal_seq(b);
	assert_true(sa > 0 && sb > sa);
	sql_must("SET session_replication_role = replica; UPDATE audit_event "
		 "SET id = -%lld WHERE id = %lld; UPDATE audit_event SET id = "
		 "%lld WHERE id = %lld; UPDATE audit_event SET id = %lld WHERE "
		 "id = -%lld",
		 a, a, a, b, b, a);
	doc = verify(pubkey(), 1);
	sql_must("SET session_replication_role = replica; UPDATE audit_event "
		 "SET id = -%lld WHERE id = %lld; UPDATE audit_event SET id = "
		 "%lld WHERE id = %lld; UPDATE audit_event SET id = %lld WHERE "
		 "id = -%lld",
		 a, a, a, b, b, a);
	expect_problem(doc, "reordered", sa, a);
	{
		json_t *p = json_array_get(json_object_get(doc, "problems"), 1);
		assert_string_equal(jstr(p, "kind"), "reordered");
		assert_int_equal(itest_jint(p, "seq"), sb);
	}
	json_decref(doc);
	expect_verified();
}

/*
 * Columns added to audit_event by later migrations (the administration's
 * target_account_id, when present) are in the chain too: a change there is
 * a modification.
 */
/*
 * The audit row's rules on action and cert_fingerprint (sql/001, written
 * without a regular expression by sql/024) accept and refuse the same
 * values as the patterns did. The values are SQL expressions; each insert
 * is rolled back.
 */
static int audit_row_ok(const char *action, const char *fp)
{
	const struct itest_env *e = itest_env();
	char sql[1024], err[512];
	const char *argv[] = {e->fixture, "psql", e->workdir, sql, NULL};
	struct itest_output out;
	int rc, refused;

	snprintf(sql, sizeof(sql),
		 "BEGIN; INSERT INTO audit_event (action, outcome, "
		 "cert_fingerprint) VALUES (%s, 'ok', %s); ROLLBACK",
		 action, fp);
	rc = itest_run(argv, 60, &out);
	refused = rc != 0 && strstr(out.err, "violates check constraint "
					     "\"audit_event_") != NULL;
	snprintf(err, sizeof(err), "%s", out.err);
	itest_output_free(&out);
	if (rc != 0 && !refused) /* the test's SQL, not the rule */
		fail_msg("%s: %s", sql, err);
	return rc == 0;
}

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_row_checks(void **state)
{
	static const char *const good[] = {
		"'a'",	 "'event.deliver'", "'admin.account.enable'",
		"'x_y'", "repeat('a', 64)",
	};
	static const char *const bad[] = {
		"''",	   "'Notice.send'", "'notice-send'", "'notice send'",
		"'n1'",	   "'é'",	    "'noticé'",	     "repeat('a', 65)",
		"E'a\\n'", "E'\\na'",	    "E'a\\t'",	     "'a' || chr(305)",
	};
	static const char *const good_fp[] = {"NULL", "'" HEX64 "'"};
	static const char *const bad_fp[] = {
		"''",
		"upper('" HEX64 "')",
		"'" HEX64 "a'",
		"substr('" HEX64 "', 2)",
		"overlay('" HEX64 "' placing 'g' from 64)",
		"overlay('" HEX64 "' placing 'é' from 64)",
		"E'" HEX64 "\\n'",
		"E'\\n" HEX64 "'",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(audit_row_ok(good[i], "NULL"));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(audit_row_ok(bad[i], "NULL"));
	for (i = 0; i < sizeof(good_fp) / sizeof(good_fp[0]); i++)
		assert_true(audit_row_ok("'x'", good_fp[i]));
	for (i = 0; i < sizeof(bad_fp) / sizeof(bad_fp[0]); i++)
		assert_false(audit_row_ok("'x'", bad_fp[i]));
}

static void test_tamper_extra_column(void **state)
{
	long long id, seq, target;
	json_t *doc, *rec;

	(void)state;
	if (sql_int("SELECT count(*) FROM information_schema.columns WHERE "
		    "table_name = 'audit_event' AND column_name = "
		    "'target_account_id'") != 1) {
		print_message("no column target_account_id: skipped\n");
		return;
	}
	/* A row that names a target (as an admin request's does). */
	id = sql_int("INSERT INTO audit_event (action, outcome, instance, "
		     "target_account_id) VALUES ('admin.account.enable', 'ok', "
		     "'itest-extra', 4) RETURNING id");
	assert_true(id > 0);
	wait_sealed(1);
	seq = seal_seq(id);
	doc = cli_json(
		"auditor", 0,
		ARGS("audit", "log", "--after", ids(id - 1), "--limit", "1"));
	rec = json_array_get(doc, 0);
	assert_int_equal(itest_jint(rec, "id"), id);
	assert_string_equal(
		jstr(json_object_get(rec, "extra"), "target_account_id"), "4");
	json_decref(doc);
	expect_verified();
	target = 5;
	sql_must("SET session_replication_role = replica; UPDATE audit_event "
		 "SET target_account_id = %lld WHERE id = %lld",
		 target, id);
	doc = verify(pubkey(), 1);
	sql_must("SET session_replication_role = replica; UPDATE audit_event "
		 "SET target_account_id = 4 WHERE id = %lld",
		 id);
	expect_problem(doc, "modified", seq, id);
	json_decref(doc);
	expect_verified();
}

/* Whether the daemon's log has, past byte `from`, a line holding `needle`. */
static int daemon_logged(long from, const char *needle)
{
	char line[1024];
	FILE *log = fopen(work_path("maillaged.log"), "r");
	int found = 0;

	if (log == NULL)
		return 0;
	if (fseek(log, from, SEEK_SET) == 0)
		while (!found && fgets(line, sizeof(line), log) != NULL)
			found = strstr(line, needle) != NULL;
	fclose(log);
	return found;
}

/* The daemon's log's size: where what is logged next begins. */
static long daemon_log_end(void)
{
	struct stat st;

	return stat(work_path("maillaged.log"), &st) == 0 ? (long)st.st_size
							  : 0;
}

/*
 * A column of audit_event the hash would not cover (added outside the
 * migrations) stops the sealer: no row is sealed while it is there, and
 * the log says why; once it is gone, the rows are sealed and verify.
 */
static void test_unknown_column_stops_sealing(void **state)
{
	static const char warning[] = "the audit hash does not cover";
	int64_t deadline;
	long long id;
	long mark;

	(void)state;
	wait_sealed(0);
	mark = daemon_log_end();
	sql_must("ALTER TABLE audit_event ADD COLUMN itest_note text");
	id = sql_int("INSERT INTO audit_event (action, outcome, instance, "
		     "itest_note) VALUES ('itest.unknown', 'ok', 'itest', "
		     "'x') RETURNING id");
	assert_true(id > 0);
	deadline = itest_now_ms() + 30000;
	while (!daemon_logged(mark, warning) && itest_now_ms() < deadline)
		itest_sleep_ms(100);
	assert_true(daemon_logged(mark, warning));
	/* the sealer has run since the insert, and refused */
	assert_int_equal(sql_int("SELECT count(*) FROM audit_seal WHERE "
				 "audit_id >= %lld",
				 id),
			 0);
	sql_must("ALTER TABLE audit_event DROP COLUMN itest_note");
	wait_sealed(1);
	assert_true(daemon_logged(mark, "is covered again"));
	expect_verified();
}

/* Whatever happened above, the column goes (the others need the sealer). */
static int drop_unknown_column(void **state)
{
	(void)state;
	sql_must("ALTER TABLE audit_event DROP COLUMN IF EXISTS itest_note");
	return 0;
}

/*
 * A column added to sealed rows changes what `audit verify` hashes, even on
 * a row where none of the columns the migrations added is set.
 */
static void test_tamper_new_column(void **state)
{
	long long id, seq;
	json_t *doc;

	(void)state;
	id = sql_int("INSERT INTO audit_event (action, outcome, instance) "
		     "VALUES ('itest.plain', 'ok', 'itest') RETURNING id");
	assert_true(id > 0);
	wait_sealed(1);
	seq = seal_seq(id);
	expect_verified();
	sql_must("ALTER TABLE audit_event ADD COLUMN itest_note text");
	sql_must("SET session_replication_role = replica; UPDATE audit_event "
		 "SET itest_note = 'x' WHERE id = %lld",
		 id);
	doc = verify(pubkey(), 1);
	sql_must("ALTER TABLE audit_event DROP COLUMN itest_note");
	expect_problem(doc, "modified", seq, id);
	json_decref(doc);
	expect_verified();
}

/* ---- keys -------------------------------------------------------------------
 */

/* A second key, made by `maillaged audit-keygen` in WORKDIR/audit. */
static const char *other_key(void)
{
	static char path[ITEST_PATH_MAX + 64];
	const struct itest_env *e = itest_env();
	struct itest_output out;

	snprintf(path, sizeof(path), "%s/audit/other.key", e->workdir);
	if (access(path, R_OK) != 0) {
		const char *argv[] = {e->daemon_bin, "audit-keygen", path,
				      NULL};

		if (itest_run(argv, 30, &out) != 0)
			fail_msg("audit-keygen: %s", out.err);
		assert_non_null(strstr(out.out, "key id:"));
		itest_output_free(&out);
	}
	return path;
}

static void hex(const uint8_t *in, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", in[i]);
}

/* Key id (hex SHA-256 of the raw public key) of a private key file. */
static EVP_PKEY *load_key(const char *path, char id[65])
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;
	uint8_t raw[32], md[32];
	size_t len = 32;
	unsigned int mdlen;

	assert_non_null(f);
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(k);
	assert_int_equal(EVP_PKEY_get_raw_public_key(k, raw, &len), 1);
	assert_int_equal(EVP_Digest(raw, 32, md, &mdlen, EVP_sha256(), NULL),
			 1);
	hex(md, 32, id);
	return k;
}

/* The signature, in hex, of the checkpoint text by `key` naming `key_id`. */
static void sign_checkpoint(EVP_PKEY *key, long long seq, const char *head,
			    const char *at, long long previous,
			    const char *key_id, char sig_hex[129])
{
	char msg[512];
	uint8_t sig[64];
	size_t siglen = 64;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int n;

	n = snprintf(msg, sizeof(msg),
		     "maillage-audit-checkpoint-v1\nseq=%lld\nhead=%s\nat=%s\n"
		     "previous=%lld\nkey=%s\n",
		     seq, head, at, previous, key_id);
	assert_int_equal(EVP_DigestSignInit(md, NULL, NULL, NULL, key), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &siglen,
					(const unsigned char *)msg, (size_t)n),
			 1);
	EVP_MD_CTX_free(md);
	hex(sig, 64, sig_hex);
}

static void test_checkpoint_other_key(void **state)
{
	char other_id[65], trusted_id[65], head[80], at[64], keep[256];
	char sig[129], other_pub[ITEST_PATH_MAX + 80];
	long long seq, previous;
	EVP_PKEY *other, *trusted;
	json_t *doc;

	(void)state;
	make_activity();
	wait_sealed(1);
	other = load_key(other_key(), other_id);
	trusted = load_key(work_path("audit/signing.key"), trusted_id);
	snprintf(other_pub, sizeof(other_pub), "%s.pub", other_key());

	/* The whole chain against the wrong key: the first checkpoint. */
	seq = sql_int("SELECT min(seq) FROM audit_checkpoint");
	doc = verify(other_pub, 1);
	expect_problem(doc, "checkpoint_unknown_key", seq, 0);
	json_decref(doc);

	/* A checkpoint in the database re-signed by the other key. */
	seq = sql_int("SELECT seq FROM audit_checkpoint ORDER BY seq LIMIT 1 "
		      "OFFSET 1");
	assert_true(seq > 0);
	previous = sql_int("SELECT previous FROM audit_checkpoint WHERE seq = "
			   "%lld",
			   seq);
	assert_int_equal(sqlf(head, sizeof(head),
			      "SELECT encode(head, 'hex') FROM "
			      "audit_checkpoint WHERE seq = %lld",
			      seq),
			 0);
	assert_int_equal(sqlf(at, sizeof(at),
			      "SELECT to_char(at AT TIME ZONE 'UTC', "
			      "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM "
			      "audit_checkpoint WHERE seq = %lld",
			      seq),
			 0);
	assert_int_equal(sqlf(keep, sizeof(keep),
			      "SELECT encode(signature, 'hex') FROM "
			      "audit_checkpoint WHERE seq = %lld",
			      seq),
			 0);
	/* Our text of the signed message is the daemon's: it verifies. */
	sign_checkpoint(trusted, seq, head, at, previous, trusted_id, sig);
	assert_string_equal(sig, keep);

	sign_checkpoint(other, seq, head, at, previous, other_id, sig);
	sql_must("SET session_replication_role = replica; UPDATE "
		 "audit_checkpoint SET key_id = '%s', signature = "
		 "decode('%s', 'hex') WHERE seq = %lld",
		 other_id, sig, seq);
	doc = verify(pubkey(), 1);
	expect_problem(doc, "checkpoint_unknown_key", seq, 0);
	json_decref(doc);

	/* Signed by the other key while naming the trusted one. */
	sign_checkpoint(other, seq, head, at, previous, trusted_id, sig);
	sql_must("SET session_replication_role = replica; UPDATE "
		 "audit_checkpoint SET key_id = '%s', signature = "
		 "decode('%s', 'hex') WHERE seq = %lld",
		 trusted_id, sig, seq);
	doc = verify(pubkey(), 1);
	sql_must("SET session_replication_role = replica; UPDATE "
		 "audit_checkpoint SET key_id = '%s', signature = "
		 "decode('%s', 'hex') WHERE seq = %lld",
		 trusted_id, keep, seq);
	expect_problem(doc, "checkpoint_bad_signature", seq, 0);
	json_decref(doc);
	EVP_PKEY_free(other);
	EVP_PKEY_free(trusted);
	expect_verified();
}

/* ---- export and offline verification ----------------------------------------
 */

static void test_export_offline(void **state)
{
	const char *file = work_path("audit/export.json");
	struct itest_output out;
	long long to, id, seq;
	json_t *doc, *ents, *e;
	json_error_t jerr;
	size_t i;

	(void)state;
	make_activity();
	wait_sealed(1);
	to = sql_int("SELECT max(seq) FROM audit_checkpoint");
	assert_true(to > 0);
	cli_text(&out, "auditor", 0,
		 ARGS("audit", "export", "--from", "1", "--to", ids(to),
		      "--output", file));
	assert_non_null(strstr(out.out, "exported seq 1 to"));
	itest_output_free(&out);

	/* Offline: no configuration, no connection. */
	doc = cli_json(
		NULL, 0,
		ARGS("audit", "verify", "--file", file, "--pubkey", pubkey()));
	assert_true(json_is_true(json_object_get(doc, "ok")));
	assert_string_equal(jstr(doc, "source"), "file");
	assert_int_equal(itest_jint(doc, "last_seq"), to);
	assert_int_equal(itest_jint(doc, "signed_up_to"), to);
	json_decref(doc);

	/* A record changed in the file. */
	id = target_row();
	seq = seal_seq(id);
	doc = json_load_file(file, 0, &jerr);
	assert_non_null(doc);
	ents = json_object_get(doc, "entries");
	assert_int_equal(json_array_size(ents), to);
	e = json_array_get(ents, (size_t)(seq - 1));
	assert_int_equal(itest_jint(e, "audit_id"), id);
	json_object_set_new(json_object_get(e, "record"), "login",
			    json_string("pjj"));
	assert_int_equal(json_dump_file(doc, file, 0), 0);
	json_decref(doc);
	doc = cli_json(
		NULL, 1,
		ARGS("audit", "verify", "--file", file, "--pubkey", pubkey()));
	expect_problem(doc, "modified", seq, id);
	json_decref(doc);

	/* A checkpoint of the file re-signed by another key. */
	cli_text(&out, "auditor", 0,
		 ARGS("audit", "export", "--to", ids(to), "--output", file));
	itest_output_free(&out);
	{
		char other_id[65], sig[129];
		EVP_PKEY *other = load_key(other_key(), other_id);
		json_t *cp;
		long long cseq = 0;

		doc = json_load_file(file, 0, &jerr);
		assert_non_null(doc);
		json_array_foreach(json_object_get(doc, "checkpoints"), i, cp)
		{
			if (i != 0)
				continue;
			cseq = itest_jint(cp, "seq");
			sign_checkpoint(
				other, cseq, jstr(cp, "head"), jstr(cp, "at"),
				itest_jint(cp, "previous"), other_id, sig);
			json_object_set_new(cp, "key_id",
					    json_string(other_id));
			json_object_set_new(cp, "signature", json_string(sig));
		}
		assert_int_equal(json_dump_file(doc, file, 0), 0);
		json_decref(doc);
		EVP_PKEY_free(other);
		doc = cli_json(NULL, 1,
			       ARGS("audit", "verify", "--file", file,
				    "--pubkey", pubkey()));
		expect_problem(doc, "checkpoint_unknown_key", cseq, 0);
		json_decref(doc);
	}

	/* Not an export at all. */
	{
		json_t *bogus = json_pack("{s:s}", "format", "x");

		assert_non_null(bogus);
		assert_int_equal(json_dump_file(bogus, file, 0), 0);
		json_decref(bogus);
	}
	cli_text(&out, NULL, 2,
		 ARGS("audit", "verify", "--file", file, "--pubkey", pubkey()));
	assert_non_null(strstr(out.err, "not a maillage audit export"));
	itest_output_free(&out);
	unlink(file);
}

/* ---- the daemon's key
 * ----------------------------------------------------------- */

/* Rewrite maillaged.conf without (or back with) the signing_key line. */
static void conf_signing_key(int on)
{
	const char *conf = work_path("maillaged.conf");
	char line[ITEST_PATH_MAX + 64], *buf = NULL;
	size_t len = 0;
	FILE *in = fopen(conf, "r"), *out;

	assert_non_null(in);
	out = open_memstream(&buf, &len);
	while (fgets(line, sizeof(line), in) != NULL) {
		if (strncmp(line, "signing_key", 11) == 0 ||
		    strncmp(line, ";signing_key", 12) == 0)
			fprintf(out, "%ssigning_key = %s\n", on ? "" : ";",
				work_path("audit/signing.key"));
		else
			fputs(line, out);
	}
	fclose(in);
	fclose(out);
	in = fopen(conf, "w");
	assert_non_null(in);
	fputs(buf, in);
	fclose(in);
	free(buf);
}

static void test_daemon_without_key(void **state)
{
	struct itest_output out;
	long long cps;
	FILE *log;
	char line[1024];
	int warned = 0;

	(void)state;
	make_activity();
	conf_signing_key(0);
	if (itest_fixture("daemon-restart") != 0) {
		conf_signing_key(1);
		fail_msg("daemon-restart without a key failed");
	}
	itest_env_reload();
	cps = sql_int("SELECT count(*) FROM audit_checkpoint");
	cli_text(&out, "ase", 0, ARGS("ping"));
	itest_output_free(&out);
	wait_sealed(0);
	itest_sleep_ms(1500); /* three checkpoint intervals: none may come */
	assert_int_equal(sql_int("SELECT count(*) FROM audit_checkpoint"), cps);
	log = fopen(work_path("maillaged.log"), "r");
	assert_non_null(log);
	while (fgets(line, sizeof(line), log) != NULL)
		if (strstr(line, "no [audit] signing_key") != NULL)
			warned = 1;
	fclose(log);
	conf_signing_key(1);
	assert_int_equal(itest_fixture("daemon-restart"), 0);
	itest_env_reload();
	assert_true(warned);
	/* The tail sealed meanwhile is signed by the next checkpoint. */
	wait_sealed(1);
	expect_verified();
}

static void test_key_permissions(void **state)
{
	const struct itest_env *e = itest_env();
	const char *conf = work_path("audit/check.conf");
	const char *key = work_path("audit/loose.key");
	char line[ITEST_PATH_MAX + 64];
	struct itest_output out;
	FILE *in, *o;
	const char *argv[] = {e->daemon_bin, "-c", conf, "check", NULL};

	(void)state;
	unlink(key);
	unlink(work_path("audit/loose.key.pub"));
	{
		const char *kg[] = {e->daemon_bin, "audit-keygen", key, NULL};
		assert_int_equal(itest_run(kg, 30, &out), 0);
		itest_output_free(&out);
	}
	in = fopen(work_path("maillaged.conf"), "r");
	o = fopen(conf, "w");
	assert_non_null(in);
	assert_non_null(o);
	while (fgets(line, sizeof(line), in) != NULL) {
		if (strncmp(line, "signing_key", 11) == 0)
			fprintf(o, "signing_key = %s\n", key);
		else
			fputs(line, o);
	}
	fclose(in);
	fclose(o);
	assert_int_equal(itest_run(argv, 30, &out), 0);
	itest_output_free(&out);
	assert_int_equal(chmod(key, 0640), 0);
	assert_int_equal(itest_run(argv, 30, &out), 1);
	assert_non_null(strstr(out.err, "group or others"));
	itest_output_free(&out);
	unlink(key);
	unlink(work_path("audit/loose.key.pub"));
	unlink(conf);
}

/* ---- two instances
 * ------------------------------------------------------------- */

static void test_two_instances(void **state)
{
	char conf2[ITEST_PATH_MAX + 64];
	struct itest_output out;
	int i;

	(void)state;
	make_activity();
	assert_int_equal(itest_fixture("daemon2-start"), 0);
	snprintf(conf2, sizeof(conf2), "%s/client2/pjj.conf",
		 itest_env()->workdir);
	for (i = 0; i < 60; i++) {
		cli_text(&out, "ase", 0, ARGS("ping"));
		itest_output_free(&out);
		cli_conf(&out, conf2, 0, ARGS("ping"));
		assert_int_equal(out.status, 0);
		itest_output_free(&out);
	}
	wait_sealed(1);
	assert_int_equal(itest_fixture("daemon2-stop"), 0);
	/* One chain: every row once, positions without a hole. */
	assert_int_equal(sql_int("SELECT count(*) - count(DISTINCT audit_id) "
				 "FROM audit_seal"),
			 0);
	assert_int_equal(sql_int("SELECT max(seq) - count(*) FROM audit_seal"),
			 0);
	expect_verified();
}

/* ---- throughput
 * ----------------------------------------------------------------- */

static void test_seal_throughput(void **state)
{
	long long first, last, head0;
	int64_t t0, t1, deadline;
	double rate;

	(void)state;
	wait_sealed(0);
	head0 = sql_int("SELECT max(seq) FROM audit_seal");
	first = sql_int("SELECT max(id) FROM audit_event") + 1;
	sql_must("INSERT INTO audit_event (action, outcome, instance) SELECT "
		 "'bench', 'ok', 'itest-bench' FROM generate_series(1, %d)",
		 BENCH_ROWS);
	t0 = itest_now_ms();
	last = sql_int("SELECT max(id) FROM audit_event");
	assert_true(last - first + 1 >= BENCH_ROWS);
	deadline = t0 + 120000;
	while (sql_int("SELECT count(*) FROM audit_seal WHERE audit_id = %lld",
		       last) != 1) {
		if (itest_now_ms() > deadline)
			fail_msg("%d rows not sealed in 120 s", BENCH_ROWS);
		itest_sleep_ms(20);
	}
	t1 = itest_now_ms();
	rate = (double)BENCH_ROWS * 1000.0 /
	       (double)(t1 - t0 > 0 ? t1 - t0 : 1);
	print_message("sealed %d rows in %lld ms: %.0f rows/s (chain from seq "
		      "%lld)\n",
		      BENCH_ROWS, (long long)(t1 - t0), rate, head0);
	/* A figure, not a check: tests never assert on timing. */
	wait_sealed(1);
	{
		int64_t v0 = itest_now_ms();
		expect_verified();
		print_message(
			"verified the whole chain (%lld positions) in %lld "
			"ms\n",
			sql_int("SELECT max(seq) FROM audit_seal"),
			(long long)(itest_now_ms() - v0));
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auditor_only),
		cmocka_unit_test(test_log_filters),
		cmocka_unit_test(test_log_csv),
		cmocka_unit_test(test_who_read),
		cmocka_unit_test(test_verify_clean),
		cmocka_unit_test(test_tamper_modify),
		cmocka_unit_test(test_tamper_delete),
		cmocka_unit_test(test_tamper_insert),
		cmocka_unit_test(test_tamper_reorder),
		cmocka_unit_test(test_tamper_extra_column),
		cmocka_unit_test(test_row_checks),
		cmocka_unit_test_teardown(test_unknown_column_stops_sealing,
					  drop_unknown_column),
		cmocka_unit_test_teardown(test_tamper_new_column,
					  drop_unknown_column),
		cmocka_unit_test(test_checkpoint_other_key),
		cmocka_unit_test(test_export_offline),
		cmocka_unit_test(test_key_permissions),
		cmocka_unit_test(test_daemon_without_key),
		cmocka_unit_test(test_two_instances),
		cmocka_unit_test(test_seal_throughput),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	if (argc > 2)
		cmocka_set_skip_filter(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
