/*
 * test_person: recognising the same young person behind different
 * identities, against the real daemon and PostgreSQL. A notice whose
 * identity is another spelling of a known person's (transliterated names,
 * birth day and month swapped) comes back with that person as a candidate
 * and the weight of each field; a partner learns only of persons of its
 * own cases; `maillage person search` ranks the known persons for
 * coordinators; candidate pairs wait in the review queue; nothing of the
 * names is stored in clear for matching.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

static char family[64];	 /* a family name of this run, spelt one way */
static char family2[64]; /* ... and another */
static long long p1, p2, p3, case1;

static const char *ids(long long v)
{
	static char buf[8][24];
	static int next;

	next = (next + 1) % 8;
	snprintf(buf[next], sizeof(buf[next]), "%lld", v);
	return buf[next];
}

/* `stem` followed by six letters of this run (a name no other run has). */
static void run_name(const char *stem, char *out, size_t len)
{
	unsigned long long u = (unsigned long long)itest_unique_id();
	size_t n;
	int i;

	snprintf(out, len, "%s", stem);
	for (i = 0; i < 6 && (n = strlen(out)) + 1 < len; i++) {
		out[n] = (char)('a' + (u >> (4 * i)) % 26);
		out[n + 1] = '\0';
	}
}

/* The candidate for person `p` in a JSON array, or NULL. */
static json_t *candidate(json_t *a, long long p)
{
	size_t i;
	json_t *c;

	json_array_foreach(a, i, c)
	{
		if (itest_jint(c, "person_id") == p)
			return c;
	}
	return NULL;
}

static void test_variant_spelling_is_proposed(void **state)
{
	unsigned long long u = (unsigned long long)itest_unique_id();
	json_t *s, *c;
	const char *expl;
	long long i;

	(void)state;
	/* family names made of this run's letters, spelt two ways */
	snprintf(family, sizeof(family), "Benalikov");
	snprintf(family2, sizeof(family2), "Benalikow");
	for (i = 0; i < 6; i++) {
		char l = (char)('a' + (u >> (4 * i)) % 26);
		size_t n = strlen(family);
		family[n] = l;
		family[n + 1] = '\0';
		family2[n] = l;
		family2[n + 1] = '\0';
	}
	s = itest_cli_json_ok("ase",
			      ITEST_ARGS("notice", "send", "--kind", "sighting",
					 "--to", "pjj75", "--given-name",
					 "Mohamed", "--family-name", family,
					 "--birth-date", "2009-03-12", "--sex",
					 "M", "--nationality", "MA"));
	p1 = itest_jint(s, "person_id");
	case1 = itest_jint(s, "case_id");
	assert_int_equal(json_array_size(json_object_get(s, "candidates")), 0);
	json_decref(s);

	/* another institution, another spelling, day and month swapped */
	s = itest_cli_json_ok("pjj",
			      ITEST_ARGS("notice", "send", "--kind", "sighting",
					 "--to", "ase75", "--given-name",
					 "Muhammad", "--family-name", family2,
					 "--birth-date", "2009-12-03", "--sex",
					 "M", "--nationality", "MA"));
	p2 = itest_jint(s, "person_id");
	assert_true(p2 != p1);
	c = candidate(json_object_get(s, "candidates"), p1);
	if (c == NULL)
		fail_msg("person %lld not proposed: %s", p1, json_dumps(s, 0));
	assert_int_equal(itest_jint(c, "open_case_id"), case1);
	expl = json_string_value(json_object_get(c, "explanation"));
	assert_non_null(strstr(expl, "given name"));
	assert_non_null(strstr(expl, "birth date"));
	assert_non_null(strstr(expl, "day and month swapped"));
	assert_null(strstr(expl, family));
	json_decref(s);

	/* seen elsewhere: the coordinators' stream has it, replayable */
	assert_true(itest_sql_int(
			    "SELECT count(*) FROM inst_event e JOIN account a "
			    "ON a.institution_id = e.institution_id WHERE "
			    "a.login = 'coord' AND e.what = 'seen_elsewhere' "
			    "AND e.case_id = %lld AND e.notice_id IS NULL",
			    case1) == 1);
	{
		const struct itest_env *e = itest_env();
		char conf[ITEST_PATH_MAX + 32], state_file[ITEST_PATH_MAX + 32];
		struct itest_output out;

		snprintf(conf, sizeof(conf), "%s/client/coord.conf",
			 e->workdir);
		snprintf(state_file, sizeof(state_file), "%s/person.watch",
			 e->workdir);
		{
			const char *argv[] = {e->client_bin,
					      "--config",
					      conf,
					      "--json",
					      "watch",
					      "--reset",
					      "--state-file",
					      state_file,
					      "--for",
					      "5",
					      NULL};
			itest_run(argv, 30, &out);
		}
		/* one JSON object per line: the event names the known case,
		 * the sender, and no notice */
		{
			char *line = out.out, *nl;
			int seen = 0;

			for (; line != NULL && *line != '\0'; line = nl) {
				json_t *ev;

				nl = strchr(line, '\n');
				if (nl != NULL)
					*nl++ = '\0';
				ev = json_loads(line, 0, NULL);
				if (ev != NULL &&
				    strcmp(itest_jstr(ev, "what"),
					   "seen_elsewhere") == 0 &&
				    itest_jint(ev, "case_id") == case1) {
					seen = 1;
					assert_string_equal(
						json_string_value(
							json_object_get(
								ev, "about")),
						"pjj75");
					assert_int_equal(
						itest_jint(ev, "notice_id"), 0);
				}
				json_decref(ev);
			}
			if (!seen)
				fail_msg("no seen_elsewhere event for case "
					 "%lld in: %s",
					 case1, out.out);
		}
		itest_output_free(&out);
	}

	/* waiting for a coordinator's review */
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM person_candidate WHERE "
			      "person_id = %lld AND other_person_id = %lld "
			      "AND state = 'open'",
			      p2, p1),
		1);
}

/* A partner learns only of the persons of its own cases. */
static void test_partner_sees_own_cases_only(void **state)
{
	json_t *s;

	(void)state;
	s = itest_cli_json_ok(
		"police",
		ITEST_ARGS("notice", "send", "--kind", "sighting", "--to",
			   "tpe75", "--given-name", "Mohamed", "--family-name",
			   family, "--birth-date", "2009-03-12", "--sex", "M"));
	p3 = itest_jint(s, "person_id");
	assert_int_equal(json_array_size(json_object_get(s, "candidates")), 0);
	json_decref(s);
	/* the coordinators' queue has the pairs all the same */
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM person_candidate WHERE "
			      "person_id = %lld AND other_person_id IN "
			      "(%lld, %lld)",
			      p3, p1, p2),
		2);
	s = itest_cli_json_ok("police",
			      ITEST_ARGS("person", "search", "--given-name",
					 "Mohamed", "--family-name", family));
	assert_non_null(candidate(json_object_get(s, "candidates"), p3));
	assert_null(candidate(json_object_get(s, "candidates"), p1));
	assert_null(candidate(json_object_get(s, "candidates"), p2));
	json_decref(s);
}

static void test_coordinator_search(void **state)
{
	json_t *s, *a;

	(void)state;
	s = itest_cli_json_ok("coord",
			      ITEST_ARGS("person", "search", "--given-name",
					 "Mohamed", "--family-name", family,
					 "--birth-date", "2009-03-12"));
	a = json_object_get(s, "candidates");
	assert_non_null(candidate(a, p1));
	assert_non_null(candidate(a, p2));
	assert_non_null(candidate(a, p3));
	/* the exact spelling and date first */
	assert_true(itest_jint(json_array_get(a, 0), "person_id") == p1 ||
		    itest_jint(json_array_get(a, 0), "person_id") == p3);
	assert_true(json_is_true(
		json_object_get(json_array_get(a, 0), "confident")));
	json_decref(s);
	/* --limit */
	s = itest_cli_json_ok("coord",
			      ITEST_ARGS("person", "search", "--given-name",
					 "Mohamed", "--family-name", family,
					 "--limit", "1"));
	assert_int_equal(json_array_size(json_object_get(s, "candidates")), 1);
	json_decref(s);
	/* someone else entirely */
	s = itest_cli_json_ok("coord",
			      ITEST_ARGS("person", "search", "--given-name",
					 "Ileana", "--family-name", "Zzyxwq",
					 "--birth-date", "1990"));
	assert_null(candidate(json_object_get(s, "candidates"), p1));
	json_decref(s);
}

/* The weight the explanation gives `field` ("given name: same name +6.1"). */
static double explained_weight(json_t *cand, const char *field)
{
	const char *e = json_string_value(json_object_get(cand, "explanation"));
	const char *at = e != NULL ? strstr(e, field) : NULL;
	const char *end = at != NULL ? strchr(at, ';') : NULL;
	const char *sign;

	if (at == NULL)
		fail_msg("no %s in the explanation", field);
	if (end == NULL)
		end = at + strlen(at);
	for (sign = end; sign > at && sign[-1] != ' '; sign--)
		;
	return strtod(sign, NULL);
}

/* Count the identities stored so far (the daemon counts every half
 * minute; a search reads the counts). */
static void count_names(void)
{
	int i;

	for (i = 0; i < 100; i++) {
		(void)itest_sql_int("SELECT identity_block_count_refresh()");
		if (itest_sql_int("SELECT count(*) FROM "
				  "identity_block_count_mark WHERE "
				  "last_identity >= (SELECT coalesce(max("
				  "identity_id), 0) FROM identity_encoding)") ==
		    1)
			return;
		itest_sleep_ms(100);
	}
	fail_msg("the identities' keys were not counted");
}

/* Searching "Name Family": the candidate person `p` (which must be). */
static json_t *search_for(const char *given, const char *fam, long long p)
{
	json_t *s, *c;

	s = itest_cli_json_ok("coord",
			      ITEST_ARGS("person", "search", "--given-name",
					 given, "--family-name", fam,
					 "--birth-date", "2008-05-06"));
	c = candidate(json_object_get(s, "candidates"), p);
	if (c == NULL)
		fail_msg("person %lld not found: %s", p, json_dumps(s, 0));
	json_incref(c);
	json_decref(s);
	return c;
}

/* A given name many stored identities share says less than a rare one:
 * the daemon weighs an agreement by how many hold the name (term
 * frequencies from the counts of its keys, sql/020), but not below ten
 * (a weight must not reveal whether anyone else sounds alike). */
static void test_common_name_weighs_less(void **state)
{
	char given[32], fam[32], other[48];
	double w_rare, w_common, s_rare, s_common, f_rare, f_common;
	long long p;
	json_t *s, *c;
	int k;

	(void)state;
	run_name("Quillonar", given, sizeof(given));
	run_name("Vendrakis", fam, sizeof(fam));
	s = itest_cli_json_ok("ase",
			      ITEST_ARGS("notice", "send", "--kind", "sighting",
					 "--to", "pjj75", "--given-name", given,
					 "--family-name", fam, "--birth-date",
					 "2008-05-06", "--sex", "M"));
	p = itest_jint(s, "person_id");
	json_decref(s);
	count_names();
	c = search_for(given, fam, p);
	w_rare = explained_weight(c, "given name");
	f_rare = explained_weight(c, "family name");
	s_rare = json_real_value(json_object_get(c, "score"));
	json_decref(c);

	/* thirty other children with that given name; after the first, the
	 * weight says nothing yet (fewer than 10 hold the name: whether one
	 * other does is not for the explanation to tell) */
	for (k = 0; k < 30; k++) {
		if (k == 1) {
			count_names();
			c = search_for(given, fam, p);
			if (explained_weight(c, "given name") != w_rare)
				fail_msg("one namesake moved the weight");
			json_decref(c);
		}
		snprintf(other, sizeof(other), "Ostrowak%c%c%s", 'a' + k % 26,
			 'a' + k / 26, fam + 9);
		s = itest_cli_json_ok(
			"ase",
			ITEST_ARGS("notice", "send", "--kind", "sighting",
				   "--to", "pjj75", "--given-name", given,
				   "--family-name", other, "--sex", "F",
				   "--birth-date", "1999"));
		json_decref(s);
	}
	count_names();
	c = search_for(given, fam, p);
	w_common = explained_weight(c, "given name");
	f_common = explained_weight(c, "family name");
	s_common = json_real_value(json_object_get(c, "score"));
	json_decref(c);
	if (!(w_common < w_rare - 0.5 && s_common < s_rare - 0.5))
		fail_msg("given name %.1f then %.1f, score %.2f then %.2f",
			 w_rare, w_common, s_rare, s_common);
	/* the family name, still rare, weighs about as before (only the
	 * number of identities counted moved) */
	if (!(f_common > f_rare - 0.3 && f_common < f_rare + 0.3))
		fail_msg("family name %.2f then %.2f", f_rare, f_common);
}

static void test_refusals(void **state)
{
	int status;
	char *err = NULL;
	json_t *doc;

	(void)state;
	doc = itest_cli_json(
		"auditor",
		ITEST_ARGS("person", "search", "--given-name", "Mohamed"),
		&status, &err);
	assert_int_equal(status, 1);
	assert_non_null(strstr(err, "FORBIDDEN"));
	json_decref(doc);
	free(err);
	doc = itest_cli_json("coord",
			     ITEST_ARGS("person", "search", "--given-name",
					"Mohamed", "--birth-date",
					"2009-13-45"),
			     &status, &err);
	assert_int_equal(status, 1);
	assert_non_null(strstr(err, "birth_date"));
	json_decref(doc);
	free(err);
	/* each search audited, without identity details */
	assert_true(
		itest_sql_int("SELECT count(*) FROM audit_event WHERE action = "
			      "'person.search' AND outcome = 'refused'") >= 2);
}

/* No name in clear for matching: sealed encodings and keyed keys. */
static void test_nothing_in_clear(void **state)
{
	char out[256];

	(void)state;
	assert_true(
		itest_sql_int("SELECT count(*) FROM identity_encoding ie JOIN "
			      "identity_assertion ia ON ia.id = ie.identity_id "
			      "WHERE ia.person_id = %lld",
			      p1) == 1);
	assert_true(itest_sql_int("SELECT count(*) FROM identity_block b JOIN "
				  "identity_encoding ie ON ie.identity_id = "
				  "b.identity_id WHERE ie.person_id = %lld",
				  p1) >= 4);
	snprintf(out, sizeof(out),
		 "SELECT count(*) FROM identity_encoding WHERE "
		 "position(convert_to('%s', 'UTF8') IN rec) > 0 OR "
		 "position(convert_to('Mohamed', 'UTF8') IN rec) > 0",
		 family);
	assert_int_equal(itest_psql_int(out), 0);
}

/* Everything a link may move, as one string: equal before and after. */
static void fingerprint(long long a, long long b, char *out, size_t len)
{
	char sql[2048];

	snprintf(sql, sizeof(sql),
		 "WITH c AS (SELECT id FROM case_file WHERE person_id IN "
		 "(%lld, %lld)) SELECT concat("
		 "(SELECT string_agg(id || ':' || case_id || ':' || person_id, "
		 "',' ORDER BY id) FROM notice WHERE case_id IN (SELECT id "
		 "FROM c)), '|',"
		 "(SELECT string_agg(id || ':' || case_id, ',' ORDER BY id) "
		 "FROM case_event WHERE case_id IN (SELECT id FROM c) AND what "
		 "NOT IN ('merged', 'unmerged')), '|',"
		 "(SELECT string_agg(case_id || ':' || institution_id, ',' "
		 "ORDER BY case_id, institution_id) FROM case_party WHERE "
		 "case_id IN (SELECT id FROM c)), '|',"
		 "(SELECT string_agg(id || ':' || person_id, ',' ORDER BY id) "
		 "FROM identity_assertion WHERE person_id IN (%lld, %lld)), "
		 "'|', (SELECT string_agg(id || ':' || person_id || ':' || "
		 "status, ',' ORDER BY id) FROM case_file WHERE id IN (SELECT "
		 "id FROM c)))",
		 a, b, a, b);
	assert_int_equal(itest_psql(sql, out, len), 0);
	assert_true(strlen(out) > 20);
}

static long long send_about(const char *login, const char *to,
			    const char *given, long long *case_id)
{
	json_t *s = itest_cli_json_ok(
		login,
		ITEST_ARGS("notice", "send", "--kind", "sighting", "--to", to,
			   "--given-name", given, "--family-name", family,
			   "--birth-date", "2011-05-06"));
	long long p = itest_jint(s, "person_id");

	*case_id = itest_jint(s, "case_id");
	json_decref(s);
	return p;
}

/*
 * The timeline entry `what` of case `case_id` as `login` reads it: its
 * other_case_id (-1: no such entry), checking its link id.
 */
static long long merge_entry(const char *login, long long case_id,
			     const char *what, long long link)
{
	json_t *v = itest_cli_json_ok(login,
				      ITEST_ARGS("case", "show", ids(case_id)));
	json_t *evs = json_object_get(v, "events"), *e;
	long long other = -1;
	size_t i;

	json_array_foreach(evs, i, e)
	{
		if (strcmp(itest_jstr(e, "what"), what) != 0)
			continue;
		assert_int_equal(itest_jint(e, "link_id"), link);
		other = itest_jint(e, "other_case_id");
	}
	json_decref(v);
	return other;
}

static void test_link_unlink_exactly(void **state)
{
	long long a, b, ca, cb, link;
	char before[8192], after[8192];
	json_t *l, *v;
	int status;
	char *err = NULL;

	(void)state;
	a = send_about("ase", "pjj75", "Amira", &ca);
	b = send_about("police", "tpe75", "Ameera", &cb);
	assert_true(ca != cb);
	fingerprint(a, b, before, sizeof(before));

	/* partners may not decide */
	json_decref(itest_cli_json(
		"ase",
		ITEST_ARGS("person", "link", ids(a), ids(b), "--reason", "x"),
		&status, &err));
	assert_int_equal(status, 1);
	assert_non_null(strstr(err, "FORBIDDEN"));
	free(err);

	l = itest_cli_json_ok("coord",
			      ITEST_ARGS("person", "link", ids(a), ids(b),
					 "--reason", "Meme photo, meme ecole"));
	link = itest_jint(l, "link_id");
	assert_int_equal(itest_jint(l, "open_case_id"), ca);
	assert_true(itest_jint(l, "moved") >= 3);
	json_decref(l);
	/* one person, one open case holding both timelines and parties */
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM notice WHERE case_id = "
			      "%lld",
			      ca),
		2);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM case_party WHERE "
			      "case_id = %lld AND institution_id IN "
			      "(SELECT id FROM institution WHERE code IN "
			      "('police75', 'tpe75'))",
			      ca),
		2);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM case_file WHERE id = "
			      "%lld AND status = 'closed'",
			      cb),
		1);
	v = itest_cli_json_ok("coord", ITEST_ARGS("case", "show", ids(ca)));
	assert_int_equal(json_array_size(json_object_get(v, "identities")), 2);
	json_decref(v);
	/* one person, both names, who said which */
	v = itest_cli_json_ok("coord", ITEST_ARGS("person", "show", ids(a)));
	assert_int_equal(json_array_size(json_object_get(v, "identities")), 2);
	{
		char *dump = json_dumps(v, 0);
		assert_non_null(strstr(dump, "Amira"));
		assert_non_null(strstr(dump, "Ameera"));
		assert_non_null(strstr(dump, "police75"));
		free(dump);
	}
	assert_int_equal(json_array_size(json_object_get(v, "cases")), 2);
	json_decref(v);
	v = itest_cli_json_ok("coord", ITEST_ARGS("person", "show", ids(b)));
	assert_int_equal(itest_jint(v, "merged_into"), a);
	assert_int_equal(json_array_size(json_object_get(v, "identities")), 0);
	json_decref(v);
	/* the police, party of the merged case, follows it */
	v = itest_cli_json_ok("police", ITEST_ARGS("case", "show", ids(ca)));
	json_decref(v);
	/*
	 * the kept case's timeline tells of the merge; the merged case is
	 * named to those who could see it (not to ase, no party of it)
	 */
	assert_int_equal(merge_entry("coord", ca, "merged", link), cb);
	assert_int_equal(merge_entry("police", ca, "merged", link), cb);
	assert_int_equal(merge_entry("ase", ca, "merged", link), 0);
	assert_int_equal(merge_entry("coord", ca, "unmerged", link), -1);
	{
		struct itest_output out;

		assert_int_equal(
			itest_cli(&out, "coord", "case", "show", ids(ca), NULL),
			0);
		assert_non_null(strstr(out.out, "merged into this case"));
		itest_output_free(&out);
	}
	/* linked persons cannot be linked again */
	json_decref(itest_cli_json("coord",
				   ITEST_ARGS("person", "link", ids(b), ids(a),
					      "--reason", "again"),
				   &status, &err));
	assert_int_equal(status, 1);
	assert_non_null(strstr(err, "CONFLICT"));
	free(err);

	l = itest_cli_json_ok("coord", ITEST_ARGS("person", "unlink", ids(link),
						  "--reason", "Deux freres"));
	assert_int_equal(itest_jint(l, "person_id"), a);
	assert_int_equal(itest_jint(l, "other_person_id"), b);
	json_decref(l);
	fingerprint(a, b, after, sizeof(after));
	assert_string_equal(before, after);
	/* both timelines tell of the separation, and keep the merge */
	assert_int_equal(merge_entry("coord", ca, "merged", link), cb);
	assert_int_equal(merge_entry("coord", ca, "unmerged", link), cb);
	assert_int_equal(merge_entry("coord", cb, "unmerged", link), ca);
	assert_int_equal(merge_entry("ase", ca, "unmerged", link), 0);
	/* apart again: ase is no party of b's case, b is unknown to it */
	json_decref(itest_cli_json("ase", ITEST_ARGS("person", "show", ids(b)),
				   &status, &err));
	assert_int_equal(status, 1);
	assert_non_null(strstr(err, "NOT_FOUND"));
	free(err);
	v = itest_cli_json_ok("ase", ITEST_ARGS("person", "show", ids(a)));
	assert_int_equal(json_array_size(json_object_get(v, "identities")), 1);
	json_decref(v);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM person WHERE id = %lld "
			      "AND merged_into IS NULL",
			      b),
		1);
	json_decref(itest_cli_json(
		"coord",
		ITEST_ARGS("person", "unlink", ids(link), "--reason", "again"),
		&status, &err));
	assert_int_equal(status, 1);
	assert_non_null(strstr(err, "CONFLICT"));
	free(err);
	/* audited with who and which persons (a record for each, so that
	 * either child's trail shows the link); the reasons sealed */
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM audit_event WHERE "
			      "action IN ('person.link', 'person.unlink') "
			      "AND outcome = 'ok' AND person_id = %lld",
			      a),
		2);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM audit_event x JOIN "
			      "audit_event y ON y.request_id = x.request_id "
			      "AND y.action = x.action AND y.login = x.login "
			      "AND y.outcome = 'ok' AND y.id = x.id + 1 "
			      "AND y.person_id = %lld WHERE x.action IN "
			      "('person.link', 'person.unlink') AND x.outcome "
			      "= 'ok' AND x.person_id = %lld",
			      b, a),
		2);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM person_link WHERE id = "
			      "%lld AND reason_enc IS NOT NULL AND "
			      "unlink_reason_enc IS NOT NULL AND "
			      "position(convert_to('photo', 'UTF8') IN "
			      "reason_enc) = 0",
			      link),
		1);
}

/* Links are undone last first; a merged person takes no new notice. */
static void test_chained_links(void **state)
{
	long long a, b, c3, ca, cb, cc, l1, l3;
	char before[8192], after[8192];
	json_t *l;
	int status;
	char *err = NULL;

	(void)state;
	a = send_about("ase", "pjj75", "Chaina", &ca);
	b = send_about("police", "tpe75", "Chainb", &cb);
	c3 = send_about("pjj", "hlr", "Chainc", &cc);
	fingerprint(a, b, before, sizeof(before));
	l = itest_cli_json_ok("coord", ITEST_ARGS("person", "link", ids(a),
						  ids(b), "--reason", "un"));
	l1 = itest_jint(l, "link_id");
	json_decref(l);
	l = itest_cli_json_ok("coord", ITEST_ARGS("person", "link", ids(c3),
						  ids(a), "--reason", "deux"));
	l3 = itest_jint(l, "link_id");
	json_decref(l);
	/* b and a are now c3's: a notice about a is refused */
	json_decref(itest_cli_json("ase",
				   ITEST_ARGS("notice", "send", "--kind",
					      "followup", "--to", "pjj75",
					      "--person", ids(a)),
				   &status, &err));
	assert_int_equal(status, 1);
	assert_non_null(strstr(err, "person_id"));
	free(err);
	/* the first link cannot be undone before the second */
	json_decref(itest_cli_json(
		"coord",
		ITEST_ARGS("person", "unlink", ids(l1), "--reason", "x"),
		&status, &err));
	assert_int_equal(status, 1);
	assert_non_null(strstr(err, "CONFLICT"));
	free(err);
	json_decref(itest_cli_json_ok(
		"coord",
		ITEST_ARGS("person", "unlink", ids(l3), "--reason", "trois")));
	json_decref(itest_cli_json_ok(
		"coord",
		ITEST_ARGS("person", "unlink", ids(l1), "--reason", "quatre")));
	fingerprint(a, b, after, sizeof(after));
	assert_string_equal(before, after);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM notice WHERE case_id = "
			      "%lld",
			      cc),
		1);
}

/* Close case `c` as coord. */
static void close_case(long long c)
{
	json_decref(
		itest_cli_json_ok("coord", ITEST_ARGS("case", "close", ids(c),
						      "--reason", "fin")));
}

/* Link b into a as coord; the link's id. */
static long long link_persons(long long a, long long b, long long *open_case)
{
	json_t *l = itest_cli_json_ok(
		"coord", ITEST_ARGS("person", "link", ids(a), ids(b),
				    "--reason", "meme enfant"));
	long long link = itest_jint(l, "link_id");

	*open_case = itest_jint(l, "open_case_id");
	json_decref(l);
	return link;
}

/* Undo link `link` as coord. */
static void unlink_persons(long long link)
{
	json_decref(itest_cli_json_ok("coord",
				      ITEST_ARGS("person", "unlink", ids(link),
						 "--reason", "deux enfants")));
}

/*
 * The kept case of a link may be purged once closed and past retention;
 * undoing the link then reopens the merged case, whose timeline says so
 * without naming the purged case (sql/023).
 */
static void test_unlink_after_kept_case_purged(void **state)
{
	long long a, b, ca, cb, link, open;

	(void)state;
	a = send_about("ase", "pjj75", "Purgea", &ca);
	b = send_about("police", "tpe75", "Purgeb", &cb);
	link = link_persons(a, b, &open);
	assert_int_equal(open, ca);
	close_case(ca);
	assert_int_equal(
		itest_sql_int("WITH u AS (UPDATE case_file SET closed_at = "
			      "now() - interval '10 years' WHERE id = %lld "
			      "RETURNING id) SELECT count(*) FROM u",
			      ca),
		1);
	assert_int_equal(itest_sql_int("SELECT purge_case(%lld, interval "
				       "'1 year', interval '1 year')::int",
				       ca),
			 1);
	unlink_persons(link);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM case_file WHERE id = "
			      "%lld AND status = 'open'",
			      cb),
		1);
	assert_int_equal(merge_entry("coord", cb, "unmerged", link), 0);
	assert_int_equal(itest_sql_int("SELECT count(*) FROM case_event WHERE "
				       "link_id = %lld AND what = 'unmerged'",
				       link),
			 1);
}

/*
 * A link that merged no case (the other person's case was closed) writes
 * no timeline entry, neither when made nor when undone (sql/015, 023).
 */
static void test_unlink_without_merge(void **state)
{
	long long a, b, ca, cb, link, open;

	(void)state;
	a = send_about("ase", "pjj75", "Nomergea", &ca);
	b = send_about("police", "tpe75", "Nomergeb", &cb);
	close_case(cb);
	link = link_persons(a, b, &open);
	assert_int_equal(open, ca);
	assert_int_equal(merge_entry("coord", ca, "merged", link), -1);
	unlink_persons(link);
	assert_int_equal(merge_entry("coord", ca, "unmerged", link), -1);
	assert_int_equal(merge_entry("coord", cb, "unmerged", link), -1);
}

static void test_review_queue(void **state)
{
	json_t *q;
	int status;
	char *err = NULL;

	(void)state;
	q = itest_cli_json_ok(
		"coord", ITEST_ARGS("person", "candidates", "--limit", "1000"));
	{
		size_t i;
		json_t *p;
		int found = 0;

		json_array_foreach(json_object_get(q, "pairs"), i, p)
		{
			found |= itest_jint(p, "person_id") == p3 &&
				 itest_jint(p, "other_person_id") == p1;
		}
		assert_true(found);
	}
	json_decref(q);
	q = itest_cli_json_ok("coord",
			      ITEST_ARGS("person", "dismiss", ids(p1), ids(p3),
					 "--reason", "Pas le meme age"));
	json_decref(q);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM person_candidate WHERE "
			      "person_id = %lld AND other_person_id = %lld "
			      "AND state = 'dismissed'",
			      p3, p1),
		1);
	json_decref(itest_cli_json("coord",
				   ITEST_ARGS("person", "dismiss", ids(p1),
					      ids(p3), "--reason", "again"),
				   &status, &err));
	assert_int_equal(status, 1);
	assert_non_null(strstr(err, "NOT_FOUND"));
	free(err);
	json_decref(itest_cli_json("ase", ITEST_ARGS("person", "candidates"),
				   &status, &err));
	assert_int_equal(status, 1);
	assert_non_null(strstr(err, "FORBIDDEN"));
	free(err);
}

/* Append `line` to the daemon's configuration (NULL: drop what was
 * appended), then restart it. */
static void daemon_conf_tail(const char *line)
{
	static long saved = -1;
	char path[ITEST_PATH_MAX + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/maillaged.conf", itest_env()->workdir);
	if (line != NULL) {
		f = fopen(path, "a");
		assert_non_null(f);
		assert_int_equal(fseek(f, 0, SEEK_END), 0);
		saved = ftell(f);
		fprintf(f, "%s\n", line);
		assert_int_equal(fclose(f), 0);
	} else if (saved >= 0) {
		assert_int_equal(truncate(path, saved), 0);
		saved = -1;
	} else {
		return;
	}
	assert_int_equal(itest_fixture("daemon-restart"), 0);
	itest_env_reload();
}

/*
 * With [identity] auto_link_threshold, a new identity matching one known
 * person well enough is linked at once: the notice lands in that person's
 * case, the link is audited and in the timeline, and a coordinator can
 * undo it.
 */
/* A sighting of Karima FAM, born 2010-07-21, from `login` to `to`. */
static json_t *send_karima(const char *login, const char *to, const char *fam)
{
	return itest_cli_json_ok(
		login,
		ITEST_ARGS("notice", "send", "--kind", "sighting", "--to", to,
			   "--given-name", "Karima", "--family-name", fam,
			   "--birth-date", "2010-07-21", "--sex", "F",
			   "--nationality", "DZ"));
}

static void test_policy_links_at_once(void **state)
{
	char fam[32];
	long long a, ca, n2, link;
	json_t *s, *v;

	(void)state;
	run_name("Haddadi", fam, sizeof(fam));
	s = send_karima("ase", "pjj75", fam);
	a = itest_jint(s, "person_id");
	ca = itest_jint(s, "case_id");
	assert_int_equal(itest_jint(s, "link_id"), 0);
	json_decref(s);

	/* max_candidates 1: the rule still sees every candidate */
	daemon_conf_tail("auto_link_threshold = 250\nmax_candidates = 1");
	s = send_karima("police", "tpe75", fam);
	link = itest_jint(s, "link_id");
	n2 = itest_jint(s, "notice_id");
	if (link <= 0)
		fail_msg("not linked: %s", json_dumps(s, 0));
	assert_int_equal(itest_jint(s, "person_id"), a);
	assert_int_equal(itest_jint(s, "case_id"), ca);
	assert_true(json_is_false(json_object_get(s, "new_person")));
	assert_true(json_is_false(json_object_get(s, "new_case")));
	assert_int_equal(
		itest_jint(json_array_get(json_object_get(s, "candidates"), 0),
			   "person_id"),
		a);
	json_decref(s);
	/* the notice is in the known child's case; the link is the policy's */
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM notice WHERE id = %lld "
			      "AND person_id = %lld AND case_id = %lld",
			      n2, a, ca),
		1);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM person_link WHERE id = "
			      "%lld AND kept_person = %lld AND linked_by IS "
			      "NULL AND reason_enc IS NULL AND "
			      "auto_notice_id = %lld AND auto_score >= 25",
			      link, a, n2),
		1);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM audit_event WHERE "
			      "action = 'person.autolink' AND outcome = "
			      "'ok' AND login = 'police' AND person_id = "
			      "%lld AND notice_id = %lld AND case_id = %lld",
			      a, n2, ca),
		1);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM person_candidate WHERE "
			      "other_person_id = %lld AND state = 'linked' "
			      "AND notice_id = %lld",
			      a, n2),
		1);
	{
		struct itest_output out;

		assert_int_equal(
			itest_cli(&out, "coord", "case", "show", ids(ca), NULL),
			0);
		assert_non_null(strstr(out.out, "the network's policy"));
		itest_output_free(&out);
	}
	/* coordinators find it on the person (others do not see links) */
	v = itest_cli_json_ok("coord", ITEST_ARGS("person", "show", ids(a)));
	{
		json_t *l = json_array_get(json_object_get(v, "links"), 0);

		assert_non_null(l);
		assert_int_equal(itest_jint(l, "link_id"), link);
		assert_true(json_is_true(json_object_get(l, "automatic")));
		assert_int_equal(itest_jint(l, "notice_id"), n2);
		assert_string_equal(itest_jstr(l, "linked_by"), "");
	}
	json_decref(v);
	v = itest_cli_json_ok("ase", ITEST_ARGS("person", "show", ids(a)));
	assert_int_equal(json_array_size(json_object_get(v, "links")), 0);
	json_decref(v);
	/* a coordinator undoes it like any link */
	v = itest_cli_json_ok("coord", ITEST_ARGS("person", "unlink", ids(link),
						  "--reason", "Homonymes"));
	assert_int_equal(itest_jint(v, "person_id"), a);
	json_decref(v);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM notice WHERE id = %lld "
			      "AND person_id <> %lld AND case_id <> %lld",
			      n2, a, ca),
		1);
	/* now two persons fit: nothing is linked, a coordinator decides */
	s = send_karima("ase", "pjj75", fam);
	assert_int_equal(itest_jint(s, "link_id"), 0);
	assert_true(json_is_true(json_object_get(s, "new_person")));
	assert_true(json_array_size(json_object_get(s, "candidates")) <= 1);
	json_decref(s);
}

/* Notice "Karima FAM" to `to` from session `ic`, not waiting for the
 * answer. */
static void send_karima_raw(struct itest_conn *ic, const char *to,
			    const char *fam)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__NoticeSend m = MAILLAGE__NOTICE_SEND__INIT;
	Maillage__Identity id = MAILLAGE__IDENTITY__INIT;
	char *dest[1], key[40];

	snprintf(key, sizeof(key), "gone-%llu",
		 (unsigned long long)itest_unique_id());
	m.idempotency_key = key;
	dest[0] = (char *)to;
	id.given_name = "Karima";
	id.family_name = (char *)fam;
	id.birth_date = "2010-07-21";
	id.sex = "F";
	id.nationality = "DZ";
	m.kind = "sighting";
	m.to = dest;
	m.n_to = 1;
	m.identity = &id;
	env.request_id = 7;
	env.body_case = MAILLAGE__ENVELOPE__BODY_NOTICE_SEND;
	env.notice_send = &m;
	assert_int_equal(itest_send(ic, &env), 0);
}

/* Wait (10 s at most) until `sql` counts `want`. */
static void wait_count(const char *sql, long long want)
{
	int i;

	for (i = 0; i < 100; i++) {
		if (itest_psql_int(sql) == want)
			return;
		itest_sleep_ms(100);
	}
	fail_msg("still not %lld: %s", want, sql);
}

/* The policy does not wait for the sender: a sender gone between the
 * store and the answer gets its notice linked all the same, audited on
 * its behalf. The store is held back by a lock on the notices so that
 * the connection closes while it waits. */
static void test_policy_links_sender_gone(void **state)
{
	const struct itest_env *e = itest_env();
	char fam[32], sql[512];
	const char *argv[] = {e->fixture, "psql", e->workdir,
			      "BEGIN; LOCK TABLE notice IN EXCLUSIVE MODE; "
			      "SELECT pg_sleep(3); COMMIT;",
			      NULL};
	struct itest_conn *ic;
	long long a;
	json_t *s;
	pid_t pid;
	int st;

	(void)state;
	run_name("Belkacemi", fam, sizeof(fam));
	s = send_karima("ase", "pjj75", fam);
	a = itest_jint(s, "person_id");
	json_decref(s);
	daemon_conf_tail("auto_link_threshold = 250");
	ic = itest_session("pjj");
	assert_non_null(ic);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	wait_count("SELECT count(*) FROM pg_locks WHERE relation = "
		   "'notice'::regclass AND mode = 'ExclusiveLock' AND granted",
		   1);
	send_karima_raw(ic, "ase75", fam);
	/* the store waits on the lock; the sender leaves */
	wait_count("SELECT count(*) FROM pg_locks WHERE relation = "
		   "'notice'::regclass AND NOT granted",
		   1);
	itest_close(ic);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM audit_event WHERE action = "
		 "'person.autolink' AND outcome = 'ok' AND login = 'pjj' AND "
		 "person_id = %lld",
		 a);
	wait_count(sql, 1);
	assert_int_equal(
		itest_sql_int(
			"SELECT count(*) FROM person_link l JOIN notice n "
			"ON n.id = l.auto_notice_id WHERE l.kept_person = "
			"%lld AND n.person_id = %lld",
			a, a),
		1);
}

static int policy_off(void **state)
{
	(void)state;
	daemon_conf_tail(NULL);
	return 0;
}

/*
 * A person's cases are found through an index whatever their status (the
 * person's page, a notice naming a person without an open case, the
 * retention sweep): sql/022. Planned with sequential scans off, so that the
 * fixture's small table still shows whether an index serves the query.
 */
static void test_cases_by_person_keyed(void **state)
{
	(void)state;
	itest_assert_plan_keyed("bigint",
				"SELECT cf.id, cf.status FROM case_file cf"
				" WHERE cf.person_id = $1 ORDER BY cf.id",
				"1", "case_file", "person_id", 1);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_variant_spelling_is_proposed),
		cmocka_unit_test(test_partner_sees_own_cases_only),
		cmocka_unit_test(test_coordinator_search),
		cmocka_unit_test(test_common_name_weighs_less),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_nothing_in_clear),
		cmocka_unit_test(test_link_unlink_exactly),
		cmocka_unit_test(test_chained_links),
		cmocka_unit_test(test_unlink_after_kept_case_purged),
		cmocka_unit_test(test_unlink_without_merge),
		cmocka_unit_test(test_review_queue),
		cmocka_unit_test(test_cases_by_person_keyed),
		cmocka_unit_test_teardown(test_policy_links_at_once,
					  policy_off),
		cmocka_unit_test_teardown(test_policy_links_sender_gone,
					  policy_off),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
