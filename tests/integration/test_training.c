/*
 * test_training: integration tests of the partner network's directory, its
 * awareness sessions and the reports drawn from them (issue 7) against the
 * running fixture, through the `maillage` CLI (--json parsed with jansson,
 * and the table, CSV and HTML renderings). They own the checks of every
 * command (network list/show, training add/edit/list/show/codes, report
 * reach/impact), every access rule (every account reads the directory;
 * partners, auditors and admins are FORBIDDEN sessions and reports, with a
 * 'refused' audit record), every bad input of the issue (each refused with
 * its typed error and field, nothing stored), idempotent recording and
 * optimistic edits, the optional lapse policy of the directory, the reach
 * arithmetic of a fixture year checked against hand-computed totals, the
 * impact windows checked against notices and status changes inserted at
 * chosen instants around the first session (boundaries included),
 * small-count suppression, and the HTML pages: well-formed, self-contained
 * (no URL, no external resource), with SVG charts, escaping what the
 * server sends, and rendered by a real headless browser (Chromium) to a PNG
 * when one is installed.
 *
 * The sessions are recorded here, never by a migration. Each test works on
 * institutions of its own (fresh codes) or, for the reach of the fixture
 * year 2021, starts by removing that year's sessions, so that the tests do
 * not depend on their order or on a previous run.
 *
 * Usage: test_training [FILTER [SKIP_FILTER]] (cmocka glob patterns).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "itest.h"

/* A NULL-terminated argument list for the CLI. */
#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

#define NO_SUCH_ID "999999999999"

/* ---- small things ------------------------------------------------------ */

static const char *ids(long long v)
{
	static char buf[64][24];
	static unsigned n;
	char *b = buf[n++ % 64];

	snprintf(b, sizeof(buf[0]), "%lld", v);
	return b;
}

/* A code no other test uses: PREFIX followed by random hex digits. */
static const char *fresh(char *buf, size_t n, const char *prefix)
{
	snprintf(buf, n, "%s%llx", prefix,
		 (unsigned long long)(itest_unique_id() & 0xffffffffffULL));
	return buf;
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

/* snprintf that fails the test rather than truncate. */
static void fmt_path(char *buf, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fmt_path(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= n)
		fail_msg("path too long: %s", buf);
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

static int cli_run(struct itest_output *out, const char *login, int json,
		   const char *const *args)
{
	const struct itest_env *e = itest_env();
	const char *argv[96];
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

/* Run; it must succeed. The output is the caller's to free. */
static void cli_text(struct itest_output *out, const char *login,
		     const char *const *args)
{
	cli_run(out, login, 0, args);
	if (out->status != 0)
		fail_msg("`%s`: exit status %d%s, expected 0\nstdout: %s\n"
			 "stderr: %s",
			 cli_desc(login, args), out->status,
			 out->timed_out ? " (timed out)" : "", out->out,
			 out->err);
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
 * Run; the server must refuse (exit status 1) and the error printed must
 * name `code` and `field` (NULL: no field to check).
 */
static void cli_refused(const char *login, const char *const *args,
			const char *code, const char *field)
{
	struct itest_output out;
	char want[96];

	cli_run(&out, login, 1, args);
	if (out.status != 1)
		fail_msg("`%s`: exit status %d%s, expected 1 (%s)\nstdout: %s\n"
			 "stderr: %s",
			 cli_desc(login, args), out.status,
			 out.timed_out ? " (timed out)" : "", code, out.out,
			 out.err);
	snprintf(want, sizeof(want), "field %s]", field != NULL ? field : "");
	if (strstr(out.err, code) == NULL ||
	    (field != NULL && strstr(out.err, want) == NULL))
		fail_msg("`%s`: the error does not name %s%s%s:\n%s",
			 cli_desc(login, args), code,
			 field != NULL ? " and field " : "",
			 field != NULL ? field : "", out.err);
	itest_output_free(&out);
}

/* Run; it must be a usage error (exit status 2), before any exchange. */
static void cli_usage(const char *login, const char *const *args)
{
	struct itest_output out;

	cli_run(&out, login, 0, args);
	if (out.status != 2)
		fail_msg("`%s`: exit status %d, expected 2 (usage)\nstdout: "
			 "%s\nstderr: %s",
			 cli_desc(login, args), out.status, out.out, out.err);
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

static double jnum(json_t *o, const char *key)
{
	json_t *v = jget(o, key);

	if (!json_is_number(v))
		fail_msg("JSON \"%s\" is not a number", key);
	return json_number_value(v);
}

static json_t *jarr(json_t *o, const char *key)
{
	json_t *v = jget(o, key);

	if (!json_is_array(v))
		fail_msg("JSON \"%s\" is not an array", key);
	return v;
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

static json_t *must_find(json_t *a, const char *key, const char *s)
{
	json_t *v = find_str(a, key, s);

	if (v == NULL) {
		char *d = json_dumps(a, JSON_COMPACT);

		fail_msg("no element with %s = %s in %.3000s", key, s,
			 d != NULL ? d : "");
	}
	return v;
}

/* A count in a report: an integer, or the string of a hidden count. */
static void expect_count(json_t *o, const char *key, long long want,
			 const char *what)
{
	long long got = itest_jint(o, key);

	if (got != want)
		fail_msg("%s: %s is %lld, expected %lld", what, key, got, want);
}

static void expect_hidden(json_t *o, const char *key, const char *want,
			  const char *what)
{
	json_t *v = jget(o, key);

	if (!json_is_string(v) || strcmp(json_string_value(v), want) != 0) {
		char *d = json_dumps(v, JSON_ENCODE_ANY);

		fail_msg("%s: %s is %s, expected \"%s\"", what, key,
			 d != NULL ? d : "?", want);
	}
}

/* ---- the database -------------------------------------------------------- */

static void sql_do(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void sql_do(const char *fmt, ...)
{
	char sql[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (itest_psql(sql, NULL, 0) != 0)
		fail_msg("SQL failed: %s", sql);
}

/* A new institution (no account), its code in `code`. */
static const char *new_institution(char *code, size_t n, const char *prefix,
				   const char *kind, const char *dep,
				   const char *name)
{
	fresh(code, n, prefix);
	sql_do("INSERT INTO institution (code, name, kind, departement)"
	       " VALUES ('%s', $name$%s$name$, '%s', '%s')",
	       code, name, kind, dep);
	return code;
}

/* An account of institution `code` (which makes it connected). */
static void new_account(const char *code)
{
	sql_do("INSERT INTO account (login, institution_id, role,"
	       " cert_fingerprint) SELECT 'a' || i.code, i.id, 'partner',"
	       " md5(random()::text) || md5(random()::text)"
	       " FROM institution i WHERE i.code = '%s'",
	       code);
}

/* What a refused write must leave as it was: the session tables. */
static const char snapshot_sql[] =
	"SELECT concat_ws('|', (SELECT count(*) FROM training_session),"
	" (SELECT count(*) FROM training_attendance),"
	" (SELECT count(*) FROM training_session_module),"
	" (SELECT md5(coalesce(string_agg(id || ':' || version || ':' ||"
	" held_on || ':' || duration_minutes || ':' || format || ':' || title,"
	" ',' ORDER BY id), '')) FROM training_session),"
	" (SELECT md5(coalesce(string_agg(session_id || ':' || institution_id"
	" || ':' || profile || ':' || participants, ',' ORDER BY session_id,"
	" institution_id, profile), '')) FROM training_attendance))";

static void snapshot(char *buf, size_t n)
{
	if (itest_psql(snapshot_sql, buf, n) != 0 || buf[0] == '\0')
		fail_msg("cannot take a snapshot of the session tables");
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

/* ---- sessions --------------------------------------------------------------
 */

/* Record a session; its JSON (the caller frees it). */
static json_t *add_session(const char *const *args)
{
	json_t *s = cli_ok("coord", args);

	if (itest_jint(s, "id") <= 0 || itest_jint(s, "version") != 1 ||
	    jbool(s, "replayed"))
		fail_msg("training add answered id %lld version %lld",
			 itest_jint(s, "id"), itest_jint(s, "version"));
	return s;
}

static long long add_session_id(const char *const *args)
{
	json_t *s = add_session(args);
	long long id = itest_jint(s, "id");

	json_decref(s);
	return id;
}

/* Participants of `profile` at `inst` in a session's JSON, -1 if none. */
static long long session_count(json_t *s, const char *inst, const char *profile)
{
	json_t *a = find_str(jarr(s, "attendance"), "institution", inst);
	json_t *c;

	if (a == NULL)
		return -1;
	c = find_str(jarr(a, "participants"), "profile", profile);
	return c != NULL ? itest_jint(c, "count") : -1;
}

/* ---- HTML ------------------------------------------------------------------
 */

/*
 * Is `html` well-formed (every element closed in order, void elements
 * written <x ... />, every '&' an entity), self-contained (no URL, no
 * external resource, no script) and with at least one <svg>?
 */
static void html_check(const char *html, const char *what)
{
	static const char *const banned[] = {"http:",	"https:",  "//",
					     "src=",	"href=",   "url(",
					     "<script", "@import", NULL};
	static const char *const entities[] = {"&amp;",	 "&lt;",  "&gt;",
					       "&quot;", "&#39;", NULL};
	char stack[128][16];
	const char *p = html;
	int depth = 0, i;

	if (strncmp(html, "<!DOCTYPE html>", 15) != 0)
		fail_msg("%s: does not start with <!DOCTYPE html>", what);
	if (strstr(html, "<svg") == NULL)
		fail_msg("%s: no <svg> chart", what);
	for (i = 0; banned[i] != NULL; i++)
		if (strstr(html, banned[i]) != NULL)
			fail_msg("%s: holds \"%s\": not self-contained", what,
				 banned[i]);
	for (p = strchr(html, '&'); p != NULL; p = strchr(p + 1, '&')) {
		for (i = 0; entities[i] != NULL; i++)
			if (strncmp(p, entities[i], strlen(entities[i])) == 0)
				break;
		if (entities[i] == NULL)
			fail_msg("%s: a bare '&': %.40s", what, p);
	}
	p = html + 15;
	while ((p = strchr(p, '<')) != NULL) {
		const char *end = strchr(p, '>');
		char name[16];
		size_t n;
		int closing = p[1] == '/';

		if (end == NULL)
			fail_msg("%s: unterminated tag: %.40s", what, p);
		n = strcspn(p + 1 + closing, " \t\n/>");
		if (n == 0 || n >= sizeof(name))
			fail_msg("%s: bad tag: %.40s", what, p);
		memcpy(name, p + 1 + closing, n);
		name[n] = '\0';
		if (memchr(p + 1, '<', (size_t)(end - p - 1)) != NULL)
			fail_msg("%s: '<' inside a tag: %.60s", what, p);
		if (closing) {
			if (depth == 0 || strcmp(stack[depth - 1], name) != 0)
				fail_msg("%s: </%s> closes <%s>", what, name,
					 depth > 0 ? stack[depth - 1] : "");
			depth--;
		} else if (end[-1] != '/') {
			if (depth == 128)
				fail_msg("%s: nested too deep", what);
			memcpy(stack[depth++], name, n + 1);
		}
		p = end + 1;
	}
	if (depth != 0)
		fail_msg("%s: <%s> is never closed", what, stack[depth - 1]);
}

/* ======================================================================== */
/* The directory                                                            */

static void test_network_everyone_reads(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < itest_demo_count; i++) {
		const struct itest_demo *d = &itest_demo_accounts[i];
		json_t *doc = cli_ok(d->login, ARGS("network", "list"));
		json_t *a = jarr(doc, "institutions"), *e;
		size_t k;

		for (k = 0; k < itest_demo_count; k++) {
			e = must_find(a, "code",
				      itest_demo_accounts[k].institution);
			assert_string_equal(
				jstr(e, "name"),
				itest_demo_accounts[k].institution_name);
			assert_string_equal(
				jstr(e, "kind"),
				itest_demo_accounts[k].institution_kind);
			assert_string_equal(jstr(e, "departement"), "75");
			assert_true(jbool(e, "connected"));
			assert_true(jbool(e, "enabled"));
			(void)jstr(e, "contact");
			(void)jstr(e, "last_trained");
			(void)itest_jint(e, "sessions");
			(void)itest_jint(e, "participants");
			(void)jbool(e, "lapsed");
		}
		json_decref(doc);
		doc = cli_ok(d->login, ARGS("network", "show", "police75"));
		assert_string_equal(jstr(doc, "code"), "police75");
		assert_string_equal(jstr(doc, "kind"), "police");
		assert_true(jbool(doc, "connected"));
		json_decref(doc);
	}
}

static void test_network_filters_and_state(void **state)
{
	char lonely[48], off[48], dep[8], today[16], spec[96];
	struct itest_output out;
	json_t *doc, *a, *e;
	size_t i;

	(void)state;
	/* A département of its own: the filter must find exactly it. */
	snprintf(dep, sizeof(dep), "%d", (int)(100 + itest_unique_id() % 900));
	new_institution(lonely, sizeof(lonely), "tnl", "health", dep,
			"Permanence d'accès aux soins");
	new_institution(off, sizeof(off), "tnd", "health", dep,
			"Service fermé");
	new_account(off);
	sql_do("UPDATE institution SET enabled = false, contact = 'Accueil'"
	       " WHERE code = '%s'",
	       off);
	sql_do("UPDATE institution SET contact = 'Standard, 01 00 00 00 00'"
	       " WHERE code = '%s'",
	       lonely);

	doc = cli_ok("ase", ARGS("network", "list", "--departement", dep));
	a = jarr(doc, "institutions");
	/* the disabled one is not listed */
	assert_int_equal(json_array_size(a), 1);
	e = must_find(a, "code", lonely);
	assert_false(jbool(e, "connected")); /* no account */
	assert_string_equal(jstr(e, "last_trained"), "");
	assert_string_equal(jstr(e, "contact"), "Standard, 01 00 00 00 00");
	assert_int_equal(itest_jint(e, "sessions"), 0);
	assert_int_equal(itest_jint(doc, "lapse_years"), 0);
	json_decref(doc);

	doc = cli_ok("juge", ARGS("network", "list", "--kind", "police"));
	a = jarr(doc, "institutions");
	json_array_foreach(a, i, e)
	{
		assert_string_equal(jstr(e, "kind"), "police");
	}
	assert_non_null(find_str(a, "code", "police75"));
	json_decref(doc);

	/* a disabled institution is shown on request, as such */
	doc = cli_ok("pjj", ARGS("network", "show", off));
	assert_false(jbool(doc, "enabled"));
	assert_false(jbool(doc, "connected"));
	assert_string_equal(jstr(doc, "contact"), "Accueil");
	json_decref(doc);

	/* trained today: last_trained, sessions, participants */
	snprintf(spec, sizeof(spec), "%s:health_professional=3,other=2",
		 lonely);
	add_session_id(ARGS("training", "add", "--date", utc_date(today, 0),
			    "--duration", "45", "--format", "remote",
			    "--module", "phenomenon", "--attendee", spec));
	doc = cli_ok("ase", ARGS("network", "show", lonely));
	assert_string_equal(jstr(doc, "last_trained"), today);
	assert_int_equal(itest_jint(doc, "sessions"), 1);
	assert_int_equal(itest_jint(doc, "participants"), 5);
	assert_false(jbool(doc, "connected"));
	json_decref(doc);

	/* text output */
	cli_text(&out, "police", ARGS("network", "list", "--kind", "court"));
	assert_non_null(strstr(out.out, "tpe75"));
	assert_non_null(strstr(out.out, "CONNECTED"));
	itest_output_free(&out);
	cli_text(&out, "auditor", ARGS("network", "show", "hlr"));
	assert_non_null(strstr(out.out, "institution: hlr"));
	assert_non_null(strstr(out.out, "last trained:"));
	itest_output_free(&out);

	/* bad filters and codes */
	cli_refused("ase", ARGS("network", "list", "--kind", "wizard"),
		    "BAD_REQUEST", "kind");
	cli_refused("ase", ARGS("network", "list", "--departement", "9Z"),
		    "BAD_REQUEST", "departement");
	cli_usage("ase", ARGS("network", "list", "--departement", "7"));
	cli_refused("ase", ARGS("network", "show", "nosuchinstitution"),
		    "NOT_FOUND", "code");
	cli_refused("ase", ARGS("network", "show", "Bad Code!"), "BAD_REQUEST",
		    "code");
	cli_usage("ase", ARGS("network", "show"));
}

static void test_network_lapse_policy(void **state)
{
	char recent[48], old[48], never[48], date[16], spec[96];
	json_t *doc, *a;

	(void)state;
	new_institution(recent, sizeof(recent), "tlr", "education", "78",
			"Collège récent");
	new_institution(old, sizeof(old), "tlo", "education", "78",
			"Collège ancien");
	new_institution(never, sizeof(never), "tln", "education", "78",
			"Collège jamais formé");
	snprintf(spec, sizeof(spec), "%s:other=2", recent);
	add_session_id(ARGS("training", "add", "--date", utc_date(date, -30),
			    "--duration", "1h", "--format", "on_site",
			    "--module", "phenomenon", "--attendee", spec));
	snprintf(spec, sizeof(spec), "%s:other=2", old);
	add_session_id(ARGS("training", "add", "--date", "2015-06-01",
			    "--duration", "1h", "--format", "on_site",
			    "--module", "phenomenon", "--attendee", spec));

	/* off by default: nobody lapsed */
	doc = cli_ok("ase", ARGS("network", "list", "--departement", "78"));
	assert_int_equal(itest_jint(doc, "lapse_years"), 0);
	assert_false(jbool(must_find(jarr(doc, "institutions"), "code", old),
			   "lapsed"));
	json_decref(doc);

	sql_do("UPDATE training_policy SET lapse_years = 3");
	doc = cli_ok("ase", ARGS("network", "list", "--departement", "78"));
	a = jarr(doc, "institutions");
	assert_int_equal(itest_jint(doc, "lapse_years"), 3);
	assert_false(jbool(must_find(a, "code", recent), "lapsed"));
	assert_true(jbool(must_find(a, "code", old), "lapsed"));
	assert_true(jbool(must_find(a, "code", never), "lapsed"));
	assert_string_equal(jstr(must_find(a, "code", old), "last_trained"),
			    "2015-06-01");
	json_decref(doc);
	doc = cli_ok("police", ARGS("network", "show", old));
	assert_true(jbool(doc, "lapsed"));
	assert_int_equal(itest_jint(doc, "lapse_years"), 3);
	json_decref(doc);
	{
		struct itest_output out;

		cli_text(&out, "ase",
			 ARGS("network", "list", "--departement", "78"));
		assert_non_null(strstr(out.out, "LAPSED"));
		itest_output_free(&out);
	}
	{
		/* A coordinator adding a lapsed institution to a case is told;
		 * a recently trained one brings no note. */
		struct itest_output out;
		char case_id[32];

		doc = cli_ok("ase", ARGS("notice", "send", "--kind", "referral",
					 "--to", "pjj75", "--given-name",
					 "Lapse", "--family-name", "Policy"));
		snprintf(case_id, sizeof(case_id), "%lld",
			 itest_jint(doc, "case_id"));
		json_decref(doc);
		cli_text(&out, "coord",
			 ARGS("case", "party", "add", case_id, old));
		assert_non_null(strstr(out.err, "awareness session"));
		assert_non_null(strstr(out.err, "3 years"));
		itest_output_free(&out);
		cli_text(&out, "coord",
			 ARGS("case", "party", "add", case_id, recent));
		assert_null(strstr(out.err, "awareness session"));
		itest_output_free(&out);
	}
	sql_do("UPDATE training_policy SET lapse_years = NULL");
	doc = cli_ok("ase", ARGS("network", "show", old));
	assert_false(jbool(doc, "lapsed"));
	json_decref(doc);
}

/* ======================================================================== */
/* Sessions                                                                 */

static void test_training_add_show_list(void **state)
{
	char inst[48], spec1[96], spec2[96];
	struct itest_output out;
	json_t *s, *l, *e;
	long long id;

	(void)state;
	new_institution(inst, sizeof(inst), "tas", "lawyer", "92",
			"Barreau des Hauts-de-Seine");
	snprintf(spec1, sizeof(spec1), "%s:lawyer=7,other=1", inst);
	snprintf(spec2, sizeof(spec2), "%s",
		 "ase75:social_worker=4,educator=3");
	s = add_session(ARGS(
		"training", "add", "--date", "2020-05-04", "--duration", "2h30",
		"--format", "on_site", "--title", "Sensibilisation \"barreau\"",
		"--attendee", spec1, "--attendee", spec2, "--module", "support",
		"--module", "phenomenon,identification", "--trainer",
		"Équipe HLR", "--trainer", "Dr. O'Brien, psy", "--pre-score",
		"3.5", "--post-score", "8.25"));
	id = itest_jint(s, "id");
	assert_string_equal(jstr(s, "held_on"), "2020-05-04");
	assert_int_equal(itest_jint(s, "duration_minutes"), 150);
	assert_string_equal(jstr(s, "format"), "on_site");
	assert_string_equal(jstr(s, "title"), "Sensibilisation \"barreau\"");
	assert_int_equal(itest_jint(s, "participants"), 15);
	assert_int_equal(json_array_size(jarr(s, "attendance")), 2);
	assert_int_equal(session_count(s, inst, "lawyer"), 7);
	assert_int_equal(session_count(s, inst, "other"), 1);
	assert_int_equal(session_count(s, "ase75", "social_worker"), 4);
	assert_int_equal(session_count(s, "ase75", "educator"), 3);
	e = must_find(jarr(s, "attendance"), "institution", inst);
	assert_string_equal(jstr(e, "institution_kind"), "lawyer");
	assert_string_equal(jstr(e, "departement"), "92");
	assert_int_equal(itest_jint(e, "total"), 8);
	/* modules in the reference order, trainers as given */
	l = jarr(s, "modules");
	assert_int_equal(json_array_size(l), 3);
	assert_string_equal(json_string_value(json_array_get(l, 0)),
			    "phenomenon");
	assert_string_equal(json_string_value(json_array_get(l, 1)),
			    "identification");
	assert_string_equal(json_string_value(json_array_get(l, 2)), "support");
	l = jarr(s, "trainers");
	assert_int_equal(json_array_size(l), 2);
	assert_string_equal(json_string_value(json_array_get(l, 1)),
			    "Dr. O'Brien, psy");
	assert_true(fabs(jnum(s, "pre_score") - 3.5) < 1e-9);
	assert_true(fabs(jnum(s, "post_score") - 8.25) < 1e-9);
	assert_string_equal(jstr(s, "created_by"), "coord");
	json_decref(s);

	/* audited with the session's id */
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM audit_event WHERE"
			      " action = 'training.add' AND outcome = 'ok'"
			      " AND training_id = %lld",
			      id),
		1);

	s = cli_ok("coord", ARGS("training", "show", ids(id)));
	assert_int_equal(itest_jint(s, "id"), id);
	assert_int_equal(itest_jint(s, "participants"), 15);
	assert_int_equal(session_count(s, inst, "lawyer"), 7);
	json_decref(s);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM audit_event WHERE"
			      " action = 'training.show' AND outcome = 'ok'"
			      " AND training_id = %lld",
			      id),
		1);

	l = cli_ok("coord", ARGS("training", "list", "--institution", inst));
	assert_int_equal(json_array_size(l), 1);
	e = json_array_get(l, 0);
	assert_int_equal(itest_jint(e, "id"), id);
	assert_int_equal(itest_jint(e, "participants"), 15);
	assert_int_equal(json_array_size(jarr(e, "institutions")), 2);
	json_decref(l);
	l = cli_ok("coord", ARGS("training", "list", "--year", "2020"));
	assert_non_null(json_array_size(l) > 0 ? json_array_get(l, 0) : NULL);
	json_decref(l);
	l = cli_ok("coord", ARGS("training", "list", "--from", "2020-05-05",
				 "--institution", inst));
	assert_int_equal(json_array_size(l), 0);
	json_decref(l);

	cli_text(&out, "coord", ARGS("training", "show", ids(id)));
	assert_non_null(strstr(out.out, "2h30"));
	assert_non_null(strstr(out.out, "3.50 before, 8.25 after"));
	assert_non_null(strstr(out.out, inst));
	itest_output_free(&out);
	cli_text(&out, "coord",
		 ARGS("training", "list", "--institution", inst));
	assert_non_null(strstr(out.out, "2020-05-04"));
	itest_output_free(&out);

	cli_refused("coord", ARGS("training", "show", NO_SUCH_ID), "NOT_FOUND",
		    "id");
	cli_refused("coord", ARGS("training", "list", "--institution", "zzzz"),
		    "BAD_REQUEST", "institution");
	cli_refused("coord",
		    ARGS("training", "list", "--from", "2021-05-01", "--to",
			 "2021-01-01"),
		    "BAD_REQUEST", "to");
	cli_usage("coord", ARGS("training", "show", "abc"));
	cli_usage("coord", ARGS("training", "list", "--year", "2020", "--from",
				"2020-01-01"));
}

static void test_training_file_and_replay(void **state)
{
	char inst[48], path[ITEST_PATH_MAX], key[48], before[512];
	json_t *s, *again;
	long long id;
	FILE *f;

	(void)state;
	new_institution(inst, sizeof(inst), "tfi", "child_welfare", "91",
			"ASE de l'Essonne");
	fmt_path(path, sizeof(path), "%s/session-%s.json", itest_env()->workdir,
		 inst);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f,
		"{\"held_on\": \"2019-10-01\", \"duration_minutes\": 240,\n"
		" \"format\": \"remote\", \"title\": \"du fichier\",\n"
		" \"attendance\": [\n"
		"   {\"institution\": \"%s\", \"participants\":"
		" {\"child_welfare_staff\": 10, \"educator\": 2}},\n"
		"   {\"institution\": \"pjj75\", \"participants\":"
		" [{\"profile\": \"youth_justice_staff\", \"count\": 5}]}],\n"
		" \"modules\": [\"exploitation_forms\", \"reporting_legal\"],\n"
		" \"trainers\": [\"Formatrice A\"],\n"
		" \"pre_score\": 2, \"post_score\": null}\n",
		inst);
	fclose(f);
	fresh(key, sizeof(key), "key-");
	/* options override the file */
	s = add_session(ARGS("training", "add", "--file", path, "--title",
			     "de l'option", "--key", key));
	id = itest_jint(s, "id");
	assert_string_equal(jstr(s, "title"), "de l'option");
	assert_string_equal(jstr(s, "format"), "remote");
	assert_int_equal(itest_jint(s, "participants"), 17);
	assert_int_equal(session_count(s, inst, "child_welfare_staff"), 10);
	assert_int_equal(session_count(s, "pjj75", "youth_justice_staff"), 5);
	assert_true(fabs(jnum(s, "pre_score") - 2.0) < 1e-9);
	assert_true(json_is_null(jget(s, "post_score")));
	json_decref(s);

	/* the same key again: nothing new, the first session */
	snapshot(before, sizeof(before));
	again = cli_ok("coord",
		       ARGS("training", "add", "--file", path, "--key", key));
	assert_true(jbool(again, "replayed"));
	assert_int_equal(itest_jint(again, "id"), id);
	assert_string_equal(jstr(again, "title"), "de l'option");
	json_decref(again);
	expect_unchanged(before, "replayed add");

	/* a file that is not a session */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"held_on\": \"2019-10-01\", \"colour\": \"blue\"}\n", f);
	fclose(f);
	cli_usage("coord", ARGS("training", "add", "--file", path));
	unlink(path);
}

static void test_training_edit(void **state)
{
	char inst[48], spec[96], path[ITEST_PATH_MAX], before[512];
	json_t *s;
	long long id;
	FILE *f;
	char *dump;

	(void)state;
	new_institution(inst, sizeof(inst), "ted", "health", "94",
			"Hôpital du Val-de-Marne");
	snprintf(spec, sizeof(spec), "%s:health_professional=6", inst);
	id = add_session_id(ARGS("training", "add", "--date", "2018-02-02",
				 "--duration", "60", "--format", "on_site",
				 "--module", "support", "--attendee", spec,
				 "--pre-score", "5", "--post-score", "6"));

	snprintf(spec, sizeof(spec), "%s:health_professional=8,volunteer=2",
		 inst);
	s = cli_ok("coord", ARGS("training", "edit", ids(id), "--attendee",
				 spec, "--duration", "1h45"));
	assert_int_equal(itest_jint(s, "version"), 2);
	assert_int_equal(itest_jint(s, "duration_minutes"), 105);
	assert_int_equal(itest_jint(s, "participants"), 10);
	assert_int_equal(session_count(s, inst, "volunteer"), 2);
	/* what the edit did not name stays */
	assert_string_equal(jstr(s, "held_on"), "2018-02-02");
	assert_true(fabs(jnum(s, "pre_score") - 5.0) < 1e-9);
	assert_string_equal(jstr(s, "updated_by"), "coord");
	json_decref(s);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM audit_event WHERE"
			      " action = 'training.edit' AND outcome = 'ok'"
			      " AND training_id = %lld",
			      id),
		1);

	/* an edit based on version 1 is refused: nothing changes */
	snapshot(before, sizeof(before));
	cli_refused("coord",
		    ARGS("training", "edit", ids(id), "--version", "1",
			 "--duration", "30"),
		    "CONFLICT", "version");
	expect_unchanged(before, "stale edit");

	/* round trip: show --json, change, edit --file */
	s = cli_ok("coord", ARGS("training", "show", ids(id)));
	json_object_set_new(s, "title", json_string("corrigé"));
	json_object_set_new(s, "pre_score", json_null());
	json_object_set_new(s, "post_score", json_null());
	fmt_path(path, sizeof(path), "%s/edit-%s.json", itest_env()->workdir,
		 inst);
	dump = json_dumps(s, JSON_INDENT(2));
	json_decref(s);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(dump, f);
	fclose(f);
	free(dump);
	s = cli_ok("coord", ARGS("training", "edit", ids(id), "--file", path));
	unlink(path);
	assert_int_equal(itest_jint(s, "version"), 3);
	assert_string_equal(jstr(s, "title"), "corrigé");
	assert_true(json_is_null(jget(s, "pre_score")));
	assert_int_equal(itest_jint(s, "participants"), 10);
	json_decref(s);

	s = cli_ok("coord", ARGS("training", "edit", ids(id), "--pre-score",
				 "1", "--post-score", "9", "--no-trainers"));
	assert_int_equal(itest_jint(s, "version"), 4);
	assert_true(fabs(jnum(s, "post_score") - 9.0) < 1e-9);
	json_decref(s);
	s = cli_ok("coord", ARGS("training", "edit", ids(id), "--no-scores"));
	assert_true(json_is_null(jget(s, "pre_score")));
	assert_true(json_is_null(jget(s, "post_score")));
	json_decref(s);

	/* a bad edit stores nothing, the version stays */
	snapshot(before, sizeof(before));
	cli_refused("coord",
		    ARGS("training", "edit", ids(id), "--module", "nonsense"),
		    "BAD_REQUEST", "modules");
	expect_unchanged(before, "bad edit");
	cli_refused("coord",
		    ARGS("training", "edit", NO_SUCH_ID, "--duration", "30"),
		    "NOT_FOUND", "id");
	cli_usage("coord", ARGS("training", "edit", ids(id), "--key", "k"));
	cli_usage("coord", ARGS("training", "edit", ids(id), "--no-scores",
				"--pre-score", "3"));
}

static void test_training_codes(void **state)
{
	struct itest_output out;
	json_t *doc;

	(void)state;
	doc = cli_ok("coord", ARGS("training", "codes"));
	assert_int_equal(json_array_size(jarr(doc, "profiles")), 11);
	assert_int_equal(json_array_size(jarr(doc, "modules")), 6);
	assert_int_equal(json_array_size(jarr(doc, "formats")), 2);
	assert_int_equal(json_array_size(jarr(doc, "kinds")), 10);
	assert_string_equal(
		jstr(must_find(jarr(doc, "profiles"), "code", "gendarme"),
		     "label_en"),
		"Gendarme");
	assert_string_equal(
		jstr(must_find(jarr(doc, "formats"), "code", "remote"),
		     "label_fr"),
		"\xc3\x80 distance");
	json_decref(doc);
	cli_text(&out, "coord", ARGS("training", "codes", "--lang", "fr"));
	assert_non_null(strstr(out.out, "Travailleur social"));
	itest_output_free(&out);
}

/* Every bad input of a session: refused naming the field, nothing stored. */
static void test_training_bad_inputs(void **state)
{
	static const char *const ten[] = {"1", "2", "3", "4",  "5", "6",
					  "7", "8", "9", "10", "11"};
	char before[512], tomorrow2[16], title[256], spec[96], inst[48];
	const char *args[64];
	size_t n, i;

	(void)state;
	new_institution(inst, sizeof(inst), "tbd", "other", "13",
			"Mairie de secteur");
	snprintf(spec, sizeof(spec), "%s:other=3", inst);
	snapshot(before, sizeof(before));
#define BAD(field, ...)                                                        \
	cli_refused("coord",                                                   \
		    ARGS("training", "add", "--duration", "60", "--format",    \
			 "on_site", __VA_ARGS__),                              \
		    "BAD_REQUEST", field)
	BAD("held_on", "--date", utc_date(tomorrow2, 2), "--attendee", spec,
	    "--module", "phenomenon");
	BAD("held_on", "--date", "2021-02-30", "--attendee", spec, "--module",
	    "phenomenon");
	BAD("held_on", "--date", "1999-12-31", "--attendee", spec, "--module",
	    "phenomenon");
	BAD("held_on", "--date", "10/03/2021", "--attendee", spec, "--module",
	    "phenomenon");
	BAD("institution", "--date", "2021-03-10", "--attendee",
	    "nosuchinst:other=3", "--module", "phenomenon");
	/* one unknown institution after a known one: nothing stored */
	BAD("institution", "--date", "2021-03-10", "--attendee", spec,
	    "--attendee", "nosuchinst:other=3", "--module", "phenomenon");
	BAD("institution", "--date", "2021-03-10", "--attendee", spec,
	    "--attendee", spec, "--module", "phenomenon");
	BAD("profile", "--date", "2021-03-10", "--attendee",
	    "ase75:astronaut=3", "--module", "phenomenon");
	BAD("profile", "--date", "2021-03-10", "--attendee",
	    "ase75:educator=3,educator=2", "--module", "phenomenon");
	BAD("count", "--date", "2021-03-10", "--attendee", "ase75:educator=-3",
	    "--module", "phenomenon");
	BAD("count", "--date", "2021-03-10", "--attendee",
	    "ase75:educator=1001", "--module", "phenomenon");
	BAD("count", "--date", "2021-03-10", "--attendee",
	    "ase75:educator=0,other=0", "--module", "phenomenon");
	BAD("modules", "--date", "2021-03-10", "--attendee", spec, "--module",
	    "juggling");
	BAD("modules", "--date", "2021-03-10", "--attendee", spec, "--module",
	    "phenomenon,phenomenon");
	BAD("pre_score", "--date", "2021-03-10", "--attendee", spec, "--module",
	    "phenomenon", "--pre-score", "11");
	BAD("post_score", "--date", "2021-03-10", "--attendee", spec,
	    "--module", "phenomenon", "--post-score", "-0.5");
#undef BAD
	cli_refused("coord",
		    ARGS("training", "add", "--date", "2021-03-10", "--format",
			 "on_site", "--duration", "-30", "--attendee", spec,
			 "--module", "phenomenon"),
		    "BAD_REQUEST", "duration_minutes");
	cli_refused("coord",
		    ARGS("training", "add", "--date", "2021-03-10", "--format",
			 "on_site", "--duration", "0", "--attendee", spec,
			 "--module", "phenomenon"),
		    "BAD_REQUEST", "duration_minutes");
	cli_refused("coord",
		    ARGS("training", "add", "--date", "2021-03-10", "--format",
			 "on_site", "--duration", "25h", "--attendee", spec,
			 "--module", "phenomenon"),
		    "BAD_REQUEST", "duration_minutes");
	cli_refused("coord",
		    ARGS("training", "add", "--date", "2021-03-10", "--format",
			 "bus", "--duration", "60", "--attendee", spec,
			 "--module", "phenomenon"),
		    "BAD_REQUEST", "format");
	cli_refused("coord",
		    ARGS("training", "add", "--date", "2021-03-10",
			 "--duration", "60", "--attendee", spec, "--module",
			 "phenomenon"),
		    "BAD_REQUEST", "format");
	cli_refused("coord",
		    ARGS("training", "add", "--date", "2021-03-10", "--format",
			 "on_site", "--duration", "60", "--attendee", spec),
		    "BAD_REQUEST", "modules");
	memset(title, 'x', 201);
	title[201] = '\0';
	cli_refused("coord",
		    ARGS("training", "add", "--date", "2021-03-10", "--format",
			 "on_site", "--duration", "60", "--attendee", spec,
			 "--module", "phenomenon", "--title", title),
		    "BAD_REQUEST", "title");
	/* eleven trainers */
	n = 0;
	args[n++] = "training";
	args[n++] = "add";
	args[n++] = "--date";
	args[n++] = "2021-03-10";
	args[n++] = "--format";
	args[n++] = "on_site";
	args[n++] = "--duration";
	args[n++] = "60";
	args[n++] = "--attendee";
	args[n++] = spec;
	args[n++] = "--module";
	args[n++] = "phenomenon";
	for (i = 0; i < 11; i++) {
		args[n++] = "--trainer";
		args[n++] = ten[i];
	}
	args[n] = NULL;
	cli_refused("coord", args, "BAD_REQUEST", "trainers");
	expect_unchanged(before, "bad sessions");
	assert_true(
		itest_sql_int("SELECT count(*) FROM audit_event WHERE action ="
			      " 'training.add' AND outcome = 'refused' AND"
			      " error_code = 'BAD_REQUEST'") >= 20);

	/* usage errors, caught before any exchange */
	cli_usage("coord", ARGS("training", "add", "--duration", "60",
				"--format", "on_site", "--attendee", spec,
				"--module", "phenomenon"));
	cli_usage("coord",
		  ARGS("training", "add", "--date", "2021-03-10", "--duration",
		       "60", "--format", "on_site", "--module", "phenomenon"));
	cli_usage("coord", ARGS("training", "add", "--date", "2021-03-10",
				"--duration", "an hour", "--format", "on_site",
				"--attendee", spec, "--module", "phenomenon"));
	cli_usage("coord",
		  ARGS("training", "add", "--date", "2021-03-10", "--duration",
		       "60", "--format", "on_site", "--attendee", "ase75",
		       "--module", "phenomenon"));
	cli_usage("coord",
		  ARGS("training", "add", "--date", "2021-03-10", "--duration",
		       "60", "--format", "on_site", "--attendee",
		       "ase75:educator=many", "--module", "phenomenon"));
	cli_usage("coord",
		  ARGS("training", "add", "--date", "2021-03-10", "--duration",
		       "60", "--format", "on_site", "--attendee", spec,
		       "--module", "phenomenon", "--pre-score", "high"));
	expect_unchanged(before, "usage errors");
}

/* ======================================================================== */
/* Access                                                                   */

static void test_access_rules(void **state)
{
	static const char *const outsiders[] = {"ase",	"pjj",	 "police",
						"juge", "admin", "auditor"};
	char before[512];
	long long refused0, id;
	size_t i;

	(void)state;
	id = add_session_id(ARGS("training", "add", "--date", "2017-01-01",
				 "--duration", "60", "--format", "remote",
				 "--module", "partnership", "--attendee",
				 "hlr:volunteer=5"));
	snapshot(before, sizeof(before));
	refused0 = itest_sql_int(
		"SELECT count(*) FROM audit_event WHERE outcome ="
		" 'refused' AND error_code = 'FORBIDDEN' AND action"
		" IN ('training.add', 'training.edit',"
		" 'training.list', 'training.show',"
		" 'training.reference', 'report.reach',"
		" 'report.impact')");
	for (i = 0; i < sizeof(outsiders) / sizeof(outsiders[0]); i++) {
		const char *who = outsiders[i];

		cli_refused(who,
			    ARGS("training", "add", "--date", "2017-01-02",
				 "--duration", "60", "--format", "remote",
				 "--module", "partnership", "--attendee",
				 "hlr:volunteer=5"),
			    "FORBIDDEN", NULL);
		cli_refused(who, ARGS("training", "list"), "FORBIDDEN", NULL);
		cli_refused(who, ARGS("training", "show", ids(id)), "FORBIDDEN",
			    NULL);
		/* edit reads the session first: refused there */
		cli_refused(
			who,
			ARGS("training", "edit", ids(id), "--duration", "30"),
			"FORBIDDEN", NULL);
		cli_refused(who, ARGS("training", "codes"), "FORBIDDEN", NULL);
		cli_refused(who, ARGS("report", "reach", "--year", "2021"),
			    "FORBIDDEN", NULL);
		cli_refused(who, ARGS("report", "impact"), "FORBIDDEN", NULL);
		/* and the directory is theirs to read */
		json_decref(cli_ok(who, ARGS("network", "list")));
	}
	expect_unchanged(before, "forbidden requests");
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM audit_event WHERE"
			      " outcome = 'refused' AND error_code ="
			      " 'FORBIDDEN' AND action IN ('training.add',"
			      " 'training.edit', 'training.list',"
			      " 'training.show', 'training.reference',"
			      " 'report.reach', 'report.impact')"),
		refused0 + 6 * 7);
}

/* ======================================================================== */
/* Reach: the fixture year 2021, hand-computed                               */

struct want_row {
	const char *key;
	long long sessions, participants, institutions;
};

static void expect_rows(json_t *report, const char *section,
			const struct want_row *want, size_t n, size_t total)
{
	json_t *rows = jarr(report, section);
	char what[128];
	size_t i;

	if (total > 0 && json_array_size(rows) != total)
		fail_msg("%s has %zu rows, expected %zu", section,
			 json_array_size(rows), total);
	for (i = 0; i < n; i++) {
		json_t *r = must_find(rows, "key", want[i].key);

		snprintf(what, sizeof(what), "%s %s", section, want[i].key);
		expect_count(r, "sessions", want[i].sessions, what);
		expect_count(r, "participants", want[i].participants, what);
		expect_count(r, "institutions", want[i].institutions, what);
	}
}

/* The 2021 sessions of the hand-computed report; `gend` and `assoc` are
 * institutions of their own in départements 77 and 93. */
static void seed_2021(const char *gend, const char *assoc)
{
	char g[96], a[96];

	sql_do("DELETE FROM training_attendance WHERE session_id IN (SELECT id"
	       " FROM training_session WHERE held_on BETWEEN '2021-01-01' AND"
	       " '2021-12-31');"
	       " DELETE FROM training_session_module WHERE session_id IN"
	       " (SELECT id FROM training_session WHERE held_on BETWEEN"
	       " '2021-01-01' AND '2021-12-31');"
	       " DELETE FROM training_session WHERE held_on BETWEEN"
	       " '2021-01-01' AND '2021-12-31'");
	snprintf(g, sizeof(g), "%s:gendarme=9", gend);
	snprintf(a, sizeof(a), "%s:volunteer=3,other=1", assoc);
	/* S1 */
	add_session_id(ARGS("training", "add", "--date", "2021-03-10",
			    "--duration", "3h", "--format", "on_site",
			    "--attendee", "police75:police_officer=12",
			    "--attendee", "ase75:social_worker=4,educator=3",
			    "--module", "phenomenon,identification",
			    "--pre-score", "4", "--post-score", "7"));
	/* S2 */
	add_session_id(ARGS("training", "add", "--date", "2021-03-25",
			    "--duration", "120", "--format", "remote",
			    "--attendee", g, "--module", "reporting_legal",
			    "--pre-score", "5", "--post-score", "8"));
	/* S3 */
	add_session_id(ARGS("training", "add", "--date", "2021-11-02",
			    "--duration", "1h30", "--format", "remote",
			    "--attendee",
			    "ase75:educator=6,child_welfare_staff=2",
			    "--attendee", "pjj75:youth_justice_staff=5",
			    "--module", "partnership,support"));
	/* S4 */
	add_session_id(
		ARGS("training", "add", "--date", "2021-12-31", "--duration",
		     "60", "--format", "on_site", "--attendee", a, "--attendee",
		     "pjj75:youth_justice_staff=1", "--module", "phenomenon"));
	/* just outside the year */
	add_session_id(ARGS("training", "add", "--date", "2020-12-31",
			    "--duration", "60", "--format", "on_site",
			    "--attendee", "police75:police_officer=50",
			    "--module", "phenomenon"));
	add_session_id(ARGS("training", "add", "--date", "2022-01-01",
			    "--duration", "60", "--format", "on_site",
			    "--attendee", "ase75:educator=40", "--module",
			    "phenomenon"));
}

static void test_report_reach(void **state)
{
	static const struct want_row profiles[] = {
		{"social_worker", 1, 4, 1},
		{"educator", 2, 9, 1},
		{"child_welfare_staff", 1, 2, 1},
		{"youth_justice_staff", 2, 6, 1},
		{"police_officer", 1, 12, 1},
		{"gendarme", 1, 9, 1},
		{"magistrate", 0, 0, 0},
		{"lawyer", 0, 0, 0},
		{"health_professional", 0, 0, 0},
		{"volunteer", 1, 3, 1},
		{"other", 1, 1, 1},
	};
	static const struct want_row kinds[] = {
		{"association", 1, 4, 1},   {"child_welfare", 2, 15, 1},
		{"youth_justice", 2, 6, 1}, {"police", 1, 12, 1},
		{"gendarmerie", 1, 9, 1},   {"court", 0, 0, 0},
		{"lawyer", 0, 0, 0},	    {"health", 0, 0, 0},
		{"education", 0, 0, 0},	    {"other", 0, 0, 0},
	};
	static const struct want_row deps[] = {
		{"75", 3, 33, 3},
		{"77", 1, 9, 1},
		{"93", 1, 4, 1},
	};
	static const struct want_row modules[] = {
		{"phenomenon", 2, 24, 4},     {"exploitation_forms", 0, 0, 0},
		{"identification", 1, 19, 2}, {"reporting_legal", 1, 9, 1},
		{"support", 1, 13, 2},	      {"partnership", 1, 13, 2},
	};
	static const struct want_row formats[] = {
		{"on_site", 2, 24, 4},
		{"remote", 2, 22, 3},
	};
	static const struct want_row months[] = {
		{"2021-01", 0, 0, 0},  {"2021-02", 0, 0, 0},
		{"2021-03", 2, 28, 3}, {"2021-04", 0, 0, 0},
		{"2021-10", 0, 0, 0},  {"2021-11", 1, 13, 2},
		{"2021-12", 1, 5, 2},
	};
	char gend[48], assoc[48];
	struct itest_output out;
	json_t *r, *row;

	(void)state;
	new_institution(gend, sizeof(gend), "trg", "gendarmerie", "77",
			"Brigade de Melun");
	new_institution(assoc, sizeof(assoc), "tra", "association", "93",
			"Association de Saint-Denis");
	seed_2021(gend, assoc);

	r = cli_ok("coord", ARGS("report", "reach", "--year", "2021"));
	assert_string_equal(jstr(r, "from"), "2021-01-01");
	assert_string_equal(jstr(r, "to"), "2021-12-31");
	assert_false(jbool(r, "publishable"));
	expect_count(r, "sessions", 4, "reach 2021");
	expect_count(r, "participants", 46, "reach 2021");
	expect_count(r, "institutions", 5, "reach 2021");
	expect_count(r, "minutes", 450, "reach 2021");
	expect_count(r, "scored_sessions", 2, "reach 2021");
	/* (4*19 + 5*9) / 28 and (7*19 + 8*9) / 28, to two decimals */
	assert_true(fabs(jnum(r, "pre_score_mean") - 4.32) < 1e-9);
	assert_true(fabs(jnum(r, "post_score_mean") - 7.32) < 1e-9);
	expect_rows(r, "by_profile", profiles, 11, 11);
	expect_rows(r, "by_kind", kinds, 10, 10);
	expect_rows(r, "by_departement", deps, 3, 3);
	expect_rows(r, "by_module", modules, 6, 6);
	expect_rows(r, "by_format", formats, 2, 2);
	expect_rows(r, "by_month", months, 7, 12);
	row = must_find(jarr(r, "by_profile"), "key", "gendarme");
	assert_string_equal(jstr(row, "label_fr"), "Gendarme");
	json_decref(r);

	/* a period: March 2021 only */
	r = cli_ok("coord", ARGS("report", "reach", "--from", "2021-03-01",
				 "--to", "2021-03-31"));
	expect_count(r, "sessions", 2, "March 2021");
	expect_count(r, "participants", 28, "March 2021");
	assert_int_equal(json_array_size(jarr(r, "by_month")), 1);
	json_decref(r);

	/* publishable: people under 5 hidden, and one more where a lone
	 * small count could be deduced from the total */
	r = cli_ok("coord",
		   ARGS("report", "reach", "--year", "2021", "--publishable"));
	assert_true(jbool(r, "publishable"));
	expect_count(r, "participants", 46, "publishable");
	expect_count(r, "sessions", 4, "publishable");
	row = must_find(jarr(r, "by_profile"), "key", "social_worker");
	expect_hidden(row, "participants", "<5", "publishable social_worker");
	expect_count(row, "sessions", 1, "publishable social_worker");
	row = must_find(jarr(r, "by_profile"), "key", "other");
	expect_hidden(row, "participants", "<5", "publishable other");
	row = must_find(jarr(r, "by_profile"), "key", "educator");
	expect_count(row, "participants", 9, "publishable educator");
	row = must_find(jarr(r, "by_departement"), "key", "93");
	expect_hidden(row, "participants", "<5", "publishable 93");
	row = must_find(jarr(r, "by_departement"), "key", "77");
	expect_hidden(row, "participants", "*", "publishable 77");
	row = must_find(jarr(r, "by_departement"), "key", "75");
	expect_count(row, "participants", 33, "publishable 75");
	row = must_find(jarr(r, "by_kind"), "key", "association");
	expect_hidden(row, "participants", "<5", "publishable association");
	row = must_find(jarr(r, "by_kind"), "key", "youth_justice");
	expect_hidden(row, "participants", "*", "publishable youth_justice");
	row = must_find(jarr(r, "by_kind"), "key", "gendarmerie");
	expect_count(row, "participants", 9, "publishable gendarmerie");
	json_decref(r);

	/* CSV: the totals first, then the rows */
	cli_text(&out, "coord",
		 ARGS("report", "reach", "--year", "2021", "--format", "csv"));
	assert_non_null(
		strstr(out.out,
		       "section,key,label,sessions,participants,institutions\n"
		       "total,,Total,4,46,5\n"));
	assert_non_null(strstr(out.out, "profile,gendarme,Gendarme,1,9,1\n"));
	assert_non_null(strstr(out.out, "departement,75,75,3,33,3\n"));
	assert_non_null(strstr(out.out, "month,2021-03,2021-03,2,28,3\n"));
	itest_output_free(&out);
	cli_text(&out, "coord",
		 ARGS("report", "reach", "--year", "2021", "--format", "csv",
		      "--publishable", "--lang", "fr"));
	assert_non_null(strstr(out.out, "departement,93,93,1,<5,1\n"));
	assert_non_null(strstr(out.out, "departement,77,77,1,*,1\n"));
	assert_non_null(strstr(out.out, "profile,other,Autre,1,<5,1\n"));
	itest_output_free(&out);

	/* the table */
	cli_text(&out, "coord", ARGS("report", "reach", "--year", "2021"));
	assert_non_null(strstr(out.out, "Participants by profile"));
	assert_non_null(strstr(out.out, "participants: 46"));
	assert_non_null(strstr(out.out, "hours: 7h30"));
	itest_output_free(&out);

	/* the page */
	cli_text(&out, "coord",
		 ARGS("report", "reach", "--year", "2021", "--format", "html",
		      "--lang", "fr"));
	html_check(out.out, "reach html");
	assert_non_null(strstr(out.out, "<html lang=\"fr\">"));
	assert_non_null(strstr(out.out, "Participants par profil"));
	assert_true(strstr(out.out, "<svg") != NULL &&
		    strstr(strstr(out.out, "<svg") + 1, "<svg") != NULL);
	itest_output_free(&out);

	/* bad periods */
	cli_refused("coord",
		    ARGS("report", "reach", "--from", "2021-05-01", "--to",
			 "2021-04-30"),
		    "BAD_REQUEST", "to");
	cli_refused("coord",
		    ARGS("report", "reach", "--from", "2001-01-01", "--to",
			 "2021-12-31"),
		    "BAD_REQUEST", "to");
	cli_refused("coord",
		    ARGS("report", "reach", "--from", "2021-02-30", "--to",
			 "2021-12-31"),
		    "BAD_REQUEST", "from");
	cli_refused("coord", ARGS("report", "reach", "--year", "1999"),
		    "BAD_REQUEST", "year");
	cli_usage("coord", ARGS("report", "reach"));
	cli_usage("coord", ARGS("report", "reach", "--year", "2021", "--from",
				"2021-01-01", "--to", "2021-02-01"));
	cli_usage("coord",
		  ARGS("report", "reach", "--year", "2021", "--format", "pdf"));
	cli_usage("coord",
		  ARGS("report", "reach", "--year", "2021", "--lang", "de"));
	assert_true(
		itest_sql_int("SELECT count(*) FROM audit_event WHERE action ="
			      " 'report.reach' AND outcome = 'ok'") >= 7);
}

/* ======================================================================== */
/* Impact: notices and identifications around the first session               */

/* A notice sent by institution `code` at `at` (a timestamptz literal). */
static void notice_at(const char *code, const char *at)
{
	sql_do("WITH p AS (INSERT INTO person DEFAULT VALUES RETURNING id),"
	       " c AS (INSERT INTO case_file (person_id)"
	       " SELECT id FROM p RETURNING id, person_id)"
	       " INSERT INTO notice (case_id, person_id, sender_account_id,"
	       " sender_institution_id, idempotency_key, kind, urgency,"
	       " visibility, basis, created_at)"
	       " SELECT c.id, c.person_id, a.id, a.institution_id,"
	       " 'imp-' || md5(random()::text), 'sighting', 'normal',"
	       " 'general', 'secret_partage', '%s'::timestamptz"
	       " FROM c, account a JOIN institution i ON i.id = "
	       "a.institution_id"
	       " WHERE i.code = '%s'",
	       at, code);
}

/* A new case; its id. */
static long long new_case(void)
{
	return itest_sql_int("WITH p AS (INSERT INTO person DEFAULT VALUES"
			     " RETURNING id) INSERT INTO case_file (person_id)"
			     " SELECT id FROM p RETURNING id");
}

/* Institution `code` recorded protection status `st` on case `id` at `at`. */
static void status_at(long long id, const char *code, const char *st,
		      const char *at)
{
	sql_do("INSERT INTO case_event (case_id, at, what, by_institution_id,"
	       " status) SELECT %lld, '%s'::timestamptz, 'status', i.id, '%s'"
	       " FROM institution i WHERE i.code = '%s'",
	       id, at, st, code);
}

static void test_report_impact(void **state)
{
	char inst[48], other[48], spec[96], recent[16];
	struct itest_output out;
	long long c1, c2, c3, c4, c5, c6, c7;
	json_t *r, *row;

	(void)state;
	new_institution(inst, sizeof(inst), "tip", "police", "95",
			"Commissariat de Cergy");
	new_institution(other, sizeof(other), "tio", "association", "95",
			"Foyer <Les M\xc3\xbbriers> & \"Co\"");
	new_account(inst);
	new_account(other);

	/* first session 2023-03-15, a second one later */
	snprintf(spec, sizeof(spec), "%s:police_officer=7", inst);
	add_session_id(ARGS("training", "add", "--date", "2023-03-15",
			    "--duration", "2h", "--format", "on_site",
			    "--attendee", spec, "--module", "identification"));
	snprintf(spec, sizeof(spec), "%s:police_officer=3", inst);
	add_session_id(ARGS("training", "add", "--date", "2023-09-01",
			    "--duration", "2h", "--format", "on_site",
			    "--attendee", spec, "--module", "reporting_legal"));
	/* the other institution: trained ten days ago */
	snprintf(spec, sizeof(spec), "%s:volunteer=6", other);
	add_session_id(ARGS("training", "add", "--date", utc_date(recent, -10),
			    "--duration", "2h", "--format", "remote",
			    "--attendee", spec, "--module", "phenomenon"));

	/* before: [2022-03-15, 2023-03-15) Paris time */
	notice_at(inst, "2022-03-14 23:59:59 Europe/Paris"); /* outside */
	notice_at(inst, "2022-03-15 00:00:00 Europe/Paris"); /* before */
	notice_at(inst, "2023-01-10 12:00:00 Europe/Paris"); /* before */
	notice_at(inst, "2023-03-15 10:00:00 Europe/Paris"); /* the day */
	/* after: [2023-03-16, 2024-03-16) Paris time */
	notice_at(inst, "2023-03-16 00:00:00 Europe/Paris");  /* after */
	notice_at(inst, "2023-12-01 09:00:00 Europe/Paris");  /* after */
	notice_at(inst, "2024-03-15 23:59:59 Europe/Paris");  /* after */
	notice_at(inst, "2024-03-16 00:00:00 Europe/Paris");  /* outside */
	notice_at(other, "2023-06-01 12:00:00 Europe/Paris"); /* not inst */

	c1 = new_case();
	c2 = new_case();
	c3 = new_case();
	c4 = new_case();
	c5 = new_case();
	c6 = new_case();
	c7 = new_case();
	status_at(c1, inst, "presumed_victim", "2022-06-01 12:00 Europe/Paris");
	status_at(c2, inst, "presumed_victim", "2022-12-01 12:00 Europe/Paris");
	status_at(c2, inst, "identified", "2023-02-01 12:00 Europe/Paris");
	status_at(c3, inst, "presumed_victim", "2023-04-01 12:00 Europe/Paris");
	status_at(c3, inst, "identified", "2023-05-01 12:00 Europe/Paris");
	status_at(c4, inst, "spotted", "2023-06-01 12:00 Europe/Paris");
	status_at(c5, other, "presumed_victim",
		  "2023-07-01 12:00 Europe/Paris");
	status_at(c6, inst, "not_a_victim", "2023-08-01 12:00 Europe/Paris");
	status_at(c7, inst, "presumed_victim", "2023-03-15 12:00 Europe/Paris");

	r = cli_ok("coord", ARGS("report", "impact", "--departement", "95"));
	assert_int_equal(itest_jint(r, "window_months"), 12);
	row = must_find(jarr(r, "institutions"), "institution", inst);
	expect_count(row, "sessions", 2, inst);
	expect_count(row, "participants", 10, inst);
	assert_string_equal(jstr(row, "first_session"), "2023-03-15");
	assert_string_equal(jstr(row, "last_session"), "2023-09-01");
	expect_count(row, "notices_before", 2, inst);
	expect_count(row, "notices_after", 3, inst);
	expect_count(row, "identifications_before", 2, inst);
	expect_count(row, "identifications_after", 1, inst);
	/* 2023-03-16 to 2024-03-16 holds 29 February 2024 */
	expect_count(row, "after_days", 366, inst);
	assert_true(jbool(row, "after_complete"));
	row = must_find(jarr(r, "institutions"), "institution", other);
	expect_count(row, "notices_before", 0, other);
	expect_count(row, "identifications_before", 0, other);
	assert_false(jbool(row, "after_complete"));
	assert_true(itest_jint(row, "after_days") >= 8 &&
		    itest_jint(row, "after_days") <= 11);
	json_decref(r);

	/* filters */
	r = cli_ok("coord", ARGS("report", "impact", "--kind", "police",
				 "--departement", "95"));
	assert_non_null(find_str(jarr(r, "institutions"), "institution", inst));
	assert_null(find_str(jarr(r, "institutions"), "institution", other));
	json_decref(r);

	/* publishable: the institution's small counts are hidden */
	r = cli_ok("coord", ARGS("report", "impact", "--departement", "95",
				 "--publishable"));
	row = must_find(jarr(r, "institutions"), "institution", inst);
	expect_hidden(row, "notices_before", "<5", "publishable impact");
	expect_hidden(row, "notices_after", "<5", "publishable impact");
	expect_hidden(row, "identifications_after", "<5", "publishable impact");
	expect_count(row, "sessions", 2, "publishable impact");
	json_decref(r);

	/* CSV and table */
	cli_text(&out, "coord",
		 ARGS("report", "impact", "--departement", "95", "--format",
		      "csv"));
	{
		char line[256];

		snprintf(line, sizeof(line),
			 "%s,Commissariat de Cergy,police,95,2023-03-15,"
			 "2023-09-01,2,10,2,3,2,1,366\n",
			 inst);
		if (strstr(out.out, line) == NULL)
			fail_msg("impact CSV lacks \"%s\":\n%s", line, out.out);
	}
	itest_output_free(&out);
	cli_text(&out, "coord", ARGS("report", "impact", "--kind", "police"));
	assert_non_null(strstr(out.out, inst));
	assert_non_null(strstr(out.out, "NOTICES -12M"));
	itest_output_free(&out);

	/* the page: escaped names, well-formed, self-contained */
	cli_text(&out, "coord",
		 ARGS("report", "impact", "--departement", "95", "--format",
		      "html", "--publishable"));
	html_check(out.out, "impact html");
	assert_non_null(strstr(
		out.out,
		"Foyer &lt;Les M\xc3\xbbriers&gt; &amp; &quot;Co&quot;"));
	assert_null(strstr(out.out, "<Les"));
	itest_output_free(&out);

	cli_refused("coord", ARGS("report", "impact", "--kind", "wizard"),
		    "BAD_REQUEST", "kind");
	cli_refused("coord", ARGS("report", "impact", "--departement", "ABC"),
		    "BAD_REQUEST", "departement");
	cli_usage("coord", ARGS("report", "impact", "--format", "xml"));
	cli_usage("coord",
		  ARGS("--json", "report", "impact", "--format", "html"));
}

/* ======================================================================== */
/* A real browser                                                           */

/* The first of the known Chromium binaries on this machine, or NULL. */
static const char *chromium_path(void)
{
	static const char *const paths[] = {"/usr/bin/chromium",
					    "/usr/bin/chromium-browser",
					    "/usr/bin/google-chrome", NULL};
	const char *env = getenv("MAILLAGE_CHROMIUM");
	size_t i;

	if (env != NULL && env[0] != '\0')
		return access(env, X_OK) == 0 ? env : NULL;
	for (i = 0; paths[i] != NULL; i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

static void render_page(const char *chromium, const char *html,
			const char *name)
{
	const struct itest_env *e = itest_env();
	char page[ITEST_PATH_MAX], png[ITEST_PATH_MAX], url[ITEST_PATH_MAX + 8];
	char shot[ITEST_PATH_MAX + 16], profile[ITEST_PATH_MAX + 16];
	unsigned char sig[8];
	struct itest_output out;
	struct stat st;
	FILE *f;

	fmt_path(page, sizeof(page), "%s/%s.html", e->workdir, name);
	fmt_path(png, sizeof(png), "%s/%s.png", e->workdir, name);
	fmt_path(url, sizeof(url), "file://%s", page);
	fmt_path(shot, sizeof(shot), "--screenshot=%s", png);
	fmt_path(profile, sizeof(profile), "--user-data-dir=%s/chromium",
		 e->workdir);
	f = fopen(page, "w");
	assert_non_null(f);
	fputs(html, f);
	fclose(f);
	unlink(png);
	{
		const char *argv[] = {chromium,
				      "--headless",
				      "--no-sandbox",
				      "--disable-gpu",
				      "--no-first-run",
				      "--disable-extensions",
				      "--enable-logging=stderr",
				      "--v=0",
				      profile,
				      "--window-size=1000,2400",
				      shot,
				      url,
				      NULL};

		itest_run(argv, 120, &out);
	}
	if (out.status != 0)
		fail_msg("chromium exited %d on %s:\n%s", out.status, page,
			 out.err);
	/* nothing to fetch, nothing broken: no resource and no page error */
	if (strstr(out.err, "Failed to load resource") != NULL ||
	    strstr(out.err, "net::ERR_") != NULL ||
	    strstr(out.err, "Uncaught") != NULL)
		fail_msg("chromium reported errors on %s:\n%s", page, out.err);
	itest_output_free(&out);
	if (stat(png, &st) != 0 || st.st_size < 10000)
		fail_msg("chromium made no screenshot of %s (%s)", page, png);
	f = fopen(png, "rb");
	assert_non_null(f);
	assert_int_equal(fread(sig, 1, sizeof(sig), f), sizeof(sig));
	fclose(f);
	assert_memory_equal(sig, "\x89PNG\r\n\x1a\n", 8);
}

static void test_html_in_a_browser(void **state)
{
	const char *chromium = chromium_path();
	struct itest_output out;

	(void)state;
	if (chromium == NULL) {
		print_message("no Chromium installed (apt-get install "
			      "chromium): browser rendering skipped\n");
		skip();
	}
	cli_text(&out, "coord",
		 ARGS("report", "reach", "--year", "2021", "--format", "html",
		      "--lang", "fr", "--publishable"));
	render_page(chromium, out.out, "reach-2021");
	itest_output_free(&out);
	cli_text(&out, "coord", ARGS("report", "impact", "--format", "html"));
	render_page(chromium, out.out, "impact");
	itest_output_free(&out);
}

/* ======================================================================== */

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_network_everyone_reads),
		cmocka_unit_test(test_network_filters_and_state),
		cmocka_unit_test(test_network_lapse_policy),
		cmocka_unit_test(test_training_add_show_list),
		cmocka_unit_test(test_training_file_and_replay),
		cmocka_unit_test(test_training_edit),
		cmocka_unit_test(test_training_codes),
		cmocka_unit_test(test_training_bad_inputs),
		cmocka_unit_test(test_access_rules),
		cmocka_unit_test(test_report_reach),
		cmocka_unit_test(test_report_impact),
		cmocka_unit_test(test_html_in_a_browser),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	if (argc > 2)
		cmocka_set_skip_filter(argv[2]);
	return cmocka_run_group_tests_name("training", tests, NULL, NULL);
}
