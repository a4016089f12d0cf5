/*
 * test_storage: encryption at rest and retention against the real daemon and
 * PostgreSQL. Texts and identities sent through the CLI are read back
 * whole, while a pg_dump of the database holds none of them; a sealed value
 * moved to another row no longer opens; `maillaged rotate-key` moves every
 * value (and clear values stored before encryption) to a new key with
 * everything still readable; a keyring readable by others stops the
 * daemon; `maillaged purge` removes exactly the cases past retention, which
 * --dry-run lists first, and audits each.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "itest.h"

#define NSECRETS 9

/* The texts of the first test, looked for in the dump. */
static char secrets[NSECRETS][96];
static long long sealed_case;

/* ---- helpers ------------------------------------------------------------ */

static const char *ids(long long v)
{
	static char buf[8][24];
	static int next;

	next = (next + 1) % 8;
	snprintf(buf[next], sizeof(buf[next]), "%lld", v);
	return buf[next];
}

/* `maillaged -c WORKDIR/maillaged.conf ARGS`: exit status, output kept. */
static int daemon_cmd(struct itest_output *out, const char *a1, const char *a2,
		      const char *a3)
{
	const struct itest_env *e = itest_env();
	char conf[ITEST_PATH_MAX + 32];
	const char *argv[7];

	snprintf(conf, sizeof(conf), "%s/maillaged.conf", e->workdir);
	argv[0] = e->daemon_bin;
	argv[1] = "-c";
	argv[2] = conf;
	argv[3] = a1;
	argv[4] = a2;
	argv[5] = a2 != NULL ? a3 : NULL;
	argv[6] = NULL;
	return itest_run(argv, 120, out);
}

static void sql_do(const char *fmt, ...)
{
	char sql[2048], out[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (itest_psql(sql, out, sizeof(out)) != 0)
		fail_msg("SQL failed: %s", sql);
}

/* A new person's notice from ase to pjj75; the reply. */
static json_t *send_named(const char *given, const char *family,
			  const char *text)
{
	return itest_cli_json_ok(
		"ase", ITEST_ARGS("notice", "send", "--kind", "sighting",
				  "--to", "pjj75", "--given-name", given,
				  "--family-name", family, "--birth-date",
				  "2010-02-03", "--text", text));
}

/* Whether `needle` occurs in the file at `path`. */
static int file_has(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	static char buf[1 << 16];
	size_t n, keep = strlen(needle), have = 0;
	int found = 0;

	assert_non_null(f);
	while (!found &&
	       (n = fread(buf + have, 1, sizeof(buf) - 1 - have, f)) > 0) {
		buf[have + n] = '\0';
		found = memmem(buf, have + n, needle, keep) != NULL;
		/* keep the tail, for a needle across two reads */
		if (have + n > keep) {
			memmove(buf, buf + have + n - keep, keep);
			have = keep;
		}
	}
	fclose(f);
	return found;
}

/* ---- sealed texts ---------------------------------------------------------
 */

static void fill_secrets(void)
{
	unsigned long long u = (unsigned long long)itest_unique_id();
	static const char *const what[NSECRETS - 1] = {
		"Zoltanvault",	   "Krasnovault",	"Texte secret ",
		"Gare discrete ",  "Pas informe car ",	"Note accuse ",
		"Note de statut ", "Raison de cloture "};
	int i;

	for (i = 0; i < NSECRETS - 1; i++)
		snprintf(secrets[i], sizeof(secrets[i]), "%s%llx", what[i], u);
	snprintf(secrets[NSECRETS - 1], sizeof(secrets[0]), "2010-02-03");
}

static void test_round_trip_and_dump(void **state)
{
	const struct itest_env *e = itest_env();
	char dump[ITEST_PATH_MAX + 32];
	json_t *sent, *view, *n, *ia, *ev;
	struct itest_output out;
	long long notice;
	size_t i;

	(void)state;
	fill_secrets();
	sent = itest_cli_json_ok(
		"ase",
		ITEST_ARGS("notice", "send", "--kind", "referral", "--to",
			   "pjj75", "--given-name", secrets[0], "--family-name",
			   secrets[1], "--birth-date", secrets[8], "--place",
			   secrets[3], "--text", secrets[2], "--informed", "no",
			   "--informed-note", secrets[4]));
	notice = itest_jint(sent, "notice_id");
	sealed_case = itest_jint(sent, "case_id");
	json_decref(sent);
	json_decref(itest_cli_json_ok(
		"pjj", ITEST_ARGS("ack", ids(notice), "--state", "declined",
				  "--reason", "other", "--note", secrets[5])));
	json_decref(itest_cli_json_ok(
		"coord", ITEST_ARGS("case", "status", ids(sealed_case),
				    "presumed_victim", "--note", secrets[6])));
	json_decref(itest_cli_json_ok(
		"coord", ITEST_ARGS("case", "close", ids(sealed_case),
				    "--reason", secrets[7])));

	/* read back whole by those entitled */
	view = itest_cli_json_ok("coord",
				 ITEST_ARGS("case", "show", ids(sealed_case)));
	n = json_array_get(json_object_get(view, "notices"), 0);
	assert_string_equal(itest_jstr(n, "text"), secrets[2]);
	assert_string_equal(itest_jstr(n, "informed_note"), secrets[4]);
	assert_string_equal(
		itest_jstr(json_array_get(json_object_get(n, "recipients"), 0),
			   "note"),
		secrets[5]);
	ia = json_object_get(
		json_array_get(json_object_get(view, "identities"), 0),
		"identity");
	assert_string_equal(itest_jstr(ia, "given_name"), secrets[0]);
	assert_string_equal(itest_jstr(ia, "family_name"), secrets[1]);
	assert_string_equal(itest_jstr(ia, "birth_date"), secrets[8]);
	assert_string_equal(itest_jstr(ia, "place_seen"), secrets[3]);
	assert_string_equal(itest_jstr(view, "close_reason"), secrets[7]);
	assert_non_null(strstr(itest_jstr(view, "person_label"), secrets[0]));
	{
		int status_note = 0, close_note = 0;
		json_array_foreach(json_object_get(view, "events"), i, ev)
		{
			status_note |=
				strcmp(itest_jstr(ev, "note"), secrets[6]) == 0;
			close_note |=
				strcmp(itest_jstr(ev, "note"), secrets[7]) == 0;
		}
		assert_true(status_note && close_note);
	}
	json_decref(view);

	/* nothing of it in clear in the database */
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM notice WHERE id = %lld"
			      " AND body = '' AND informed_note IS NULL"
			      " AND body_enc IS NOT NULL"
			      " AND informed_note_enc IS NOT NULL",
			      notice),
		1);
	snprintf(dump, sizeof(dump), "%s/vault-dump.sql", e->workdir);
	{
		const char *argv[] = {"/usr/lib/postgresql/15/bin/pg_dump",
				      "-d",
				      e->db,
				      "-f",
				      dump,
				      NULL};
		assert_int_equal(itest_run(argv, 120, &out), 0);
		itest_output_free(&out);
	}
	for (i = 0; i < NSECRETS - 1; i++)
		if (file_has(dump, secrets[i]))
			fail_msg("the dump holds \"%s\" in clear", secrets[i]);
	/* the dump is the database's: the account logins are there */
	assert_true(file_has(dump, "pjj75"));
	unlink(dump);
}

/* A sealed value copied to another row does not open there. */
static void test_moved_value(void **state)
{
	json_t *a, *b;
	long long na, nb, ca;
	char saved[4096];
	struct itest_output out;

	(void)state;
	a = send_named("Moved", "Alpha", "Premier texte");
	b = send_named("Moved", "Beta", "Second texte");
	na = itest_jint(a, "notice_id");
	nb = itest_jint(b, "notice_id");
	ca = itest_jint(a, "case_id");
	json_decref(a);
	json_decref(b);
	{
		char sql[256];
		snprintf(sql, sizeof(sql),
			 "SELECT encode(body_enc, 'hex') FROM notice "
			 "WHERE id = %lld",
			 na);
		assert_int_equal(itest_psql(sql, saved, sizeof(saved)), 0);
	}
	sql_do("UPDATE notice SET body_enc = (SELECT body_enc FROM notice "
	       "WHERE id = %lld) WHERE id = %lld",
	       nb, na);
	assert_int_equal(itest_cli(&out, "ase", "case", "show", ids(ca), NULL),
			 1);
	assert_non_null(strstr(out.err, "INTERNAL"));
	assert_null(strstr(out.out, "Second texte"));
	itest_output_free(&out);
	assert_true(itest_daemon_alive());
	sql_do("UPDATE notice SET body_enc = decode('%s', 'hex') "
	       "WHERE id = %lld",
	       saved, na);
	assert_int_equal(itest_cli(&out, "ase", "case", "show", ids(ca), NULL),
			 0);
	assert_non_null(strstr(out.out, "Premier texte"));
	itest_output_free(&out);
}

/* The count of sealed values under a key other than `key`. */
static long long sealed_not_under(int key)
{
	return itest_sql_int("SELECT (SELECT count(*) FROM notice WHERE "
			     "vault_key_id(body_enc)"
			     " <> %d OR vault_key_id(informed_note_enc) <> %d)"
			     " + (SELECT count(*) FROM identity_assertion WHERE"
			     " vault_key_id(given_name_enc) <> %d"
			     " OR vault_key_id(family_name_enc) <> %d"
			     " OR vault_key_id(birth_date_enc) <> %d"
			     " OR vault_key_id(place_seen_enc) <> %d)"
			     " + (SELECT count(*) FROM notice_recipient"
			     " WHERE vault_key_id(note_enc) <> %d)"
			     " + (SELECT count(*) FROM case_file"
			     " WHERE vault_key_id(close_reason_enc) <> %d)"
			     " + (SELECT count(*) FROM case_event"
			     " WHERE vault_key_id(note_enc) <> %d)"
			     " + (SELECT count(*) FROM identity_encoding"
			     " WHERE vault_key_id(rec) <> %d)"
			     " + (SELECT count(*) FROM person_link"
			     " WHERE vault_key_id(reason_enc) <> %d"
			     " OR vault_key_id(unlink_reason_enc) <> %d)"
			     " + (SELECT count(*) FROM person_candidate"
			     " WHERE vault_key_id(reason_enc) <> %d)",
			     key, key, key, key, key, key, key, key, key, key,
			     key, key, key);
}

static long long clear_values(void)
{
	return itest_sql_int(
		"SELECT (SELECT count(*) FROM notice WHERE body <> ''"
		" OR informed_note IS NOT NULL)"
		" + (SELECT count(*) FROM identity_assertion WHERE"
		" given_name IS NOT NULL OR family_name IS NOT NULL"
		" OR birth_date IS NOT NULL OR place_seen IS NOT NULL)"
		" + (SELECT count(*) FROM notice_recipient WHERE note IS NOT "
		"NULL)"
		" + (SELECT count(*) FROM case_file WHERE close_reason IS NOT "
		"NULL)"
		" + (SELECT count(*) FROM case_event WHERE note IS NOT NULL)");
}

static void test_rotate_key(void **state)
{
	const struct itest_env *e = itest_env();
	char keys[ITEST_PATH_MAX + 32];
	struct itest_output out;
	json_t *s, *view;
	char *dump;
	long long legacy_notice, legacy_case, fresh;
	int i;

	(void)state;
	assert_non_null(secrets[0][0] != '\0' ? secrets[0] : NULL);
	/* a clear text as stored before encryption at rest */
	s = send_named("Legacy", "Gamma", "sera remplace");
	legacy_notice = itest_jint(s, "notice_id");
	legacy_case = itest_jint(s, "case_id");
	json_decref(s);
	sql_do("UPDATE notice SET body = 'Ancien texte en clair', body_enc = "
	       "NULL WHERE id = %lld",
	       legacy_notice);
	assert_true(sealed_not_under(1) == 0);

	/* a second key, active once the daemon reloads */
	snprintf(keys, sizeof(keys), "%s/data.keys", e->workdir);
	{
		const char *argv[] = {e->daemon_bin, "data-keygen", "--add",
				      keys, NULL};
		assert_int_equal(itest_run(argv, 30, &out), 0);
		assert_non_null(strstr(out.out, "data key 2 is active"));
		itest_output_free(&out);
	}
	assert_int_equal(kill(e->daemon_pid, SIGHUP), 0);
	for (i = 0; i < 50; i++) {
		s = send_named("After", "Reload", "apres rechargement");
		fresh = itest_jint(s, "notice_id");
		json_decref(s);
		if (itest_sql_int("SELECT vault_key_id(body_enc) FROM notice "
				  "WHERE id = %lld",
				  fresh) == 2)
			break;
		usleep(100 * 1000);
	}
	assert_true(i < 50);
	assert_true(sealed_not_under(2) > 0);
	/* matching encodings are sealed too, and rotate with the rest */
	assert_true(itest_sql_int("SELECT count(*) FROM identity_encoding") >
		    0);

	assert_int_equal(daemon_cmd(&out, "rotate-key", "--batch", "7"), 0);
	assert_non_null(strstr(out.out, "1 clear values sealed"));
	itest_output_free(&out);
	assert_int_equal(sealed_not_under(2), 0);
	assert_int_equal(clear_values(), 0);

	/* everything still reads */
	view = itest_cli_json_ok("coord",
				 ITEST_ARGS("case", "show", ids(sealed_case)));
	dump = json_dumps(view, 0);
	assert_non_null(dump);
	assert_non_null(strstr(dump, secrets[2]));
	assert_non_null(strstr(dump, secrets[7]));
	free(dump);
	json_decref(view);
	assert_int_equal(
		itest_cli(&out, "ase", "case", "show", ids(legacy_case), NULL),
		0);
	assert_non_null(strstr(out.out, "Ancien texte en clair"));
	itest_output_free(&out);
	/* a second run has nothing left to do */
	assert_int_equal(daemon_cmd(&out, "rotate-key", NULL, NULL), 0);
	assert_non_null(strstr(out.out, "0 values re-sealed, 0 clear"));
	itest_output_free(&out);
	assert_int_equal(itest_sql_int("SELECT count(*) FROM audit_event WHERE "
				       "action = 'storage.rotate_key'"),
			 2);
}

static void test_keyring_permissions(void **state)
{
	const struct itest_env *e = itest_env();
	char keys[ITEST_PATH_MAX + 32];
	struct itest_output out;

	(void)state;
	snprintf(keys, sizeof(keys), "%s/data.keys", e->workdir);
	assert_int_equal(chmod(keys, 0640), 0);
	assert_int_equal(daemon_cmd(&out, "check", NULL, NULL), 1);
	assert_non_null(strstr(out.err, "chmod 600"));
	itest_output_free(&out);
	assert_int_equal(chmod(keys, 0600), 0);
	assert_int_equal(daemon_cmd(&out, "check", NULL, NULL), 0);
	itest_output_free(&out);
}

/* ---- retention ------------------------------------------------------------
 */

/* A closed case of a new person, closed `ago` ago (SQL interval). */
static long long closed_case(const char *family, const char *status,
			     const char *ago)
{
	json_t *s = send_named("Purge", family, "a purger peut-etre");
	long long c = itest_jint(s, "case_id");

	json_decref(s);
	if (status != NULL)
		json_decref(itest_cli_json_ok(
			"coord", ITEST_ARGS("case", "status", ids(c), status)));
	if (ago != NULL) {
		json_decref(itest_cli_json_ok(
			"coord", ITEST_ARGS("case", "close", ids(c), "--reason",
					    "fin")));
		sql_do("UPDATE case_file SET closed_at = now() - interval '%s'"
		       " WHERE id = %lld",
		       ago, c);
	}
	return c;
}

static long long case_rows(long long c)
{
	return itest_sql_int(
		"SELECT (SELECT count(*) FROM case_file WHERE id = %lld)"
		" + (SELECT count(*) FROM notice WHERE case_id = %lld)"
		" + (SELECT count(*) FROM case_event WHERE case_id = "
		"%lld)"
		" + (SELECT count(*) FROM case_party WHERE case_id = "
		"%lld)"
		" + (SELECT count(*) FROM identity_assertion ia JOIN "
		"case_file cf ON cf.person_id = ia.person_id WHERE "
		"cf.id = %lld)",
		c, c, c, c, c);
}

static void test_purge(void **state)
{
	long long old = closed_case("Old", NULL, "6 years");
	long long nav = closed_case("Nav", "not_a_victim", "2 years");
	long long recent = closed_case("Recent", NULL, "1 year");
	long long open = closed_case("Open", NULL, NULL);
	long long person_old, before[4];
	char line[64];
	struct itest_output out;
	long long c[4] = {old, nav, recent, open};
	int i;

	(void)state;
	sql_do("UPDATE case_file SET opened_at = now() - interval '9 years' "
	       "WHERE id = %lld",
	       open);
	person_old = itest_sql_int(
		"SELECT person_id FROM case_file WHERE id = %lld", old);
	for (i = 0; i < 4; i++) {
		before[i] = case_rows(c[i]);
		assert_true(before[i] > 3);
	}

	assert_int_equal(daemon_cmd(&out, "purge", "--dry-run", NULL), 0);
	for (i = 0; i < 4; i++) {
		snprintf(line, sizeof(line), "would purge case %lld ", c[i]);
		assert_true((strstr(out.out, line) != NULL) == (i < 2));
	}
	itest_output_free(&out);
	for (i = 0; i < 4; i++)
		assert_int_equal(case_rows(c[i]), before[i]);

	assert_int_equal(daemon_cmd(&out, "purge", NULL, NULL), 0);
	for (i = 0; i < 2; i++) {
		snprintf(line, sizeof(line), "purged case %lld ", c[i]);
		assert_non_null(strstr(out.out, line));
	}
	itest_output_free(&out);
	assert_int_equal(case_rows(old), 0);
	assert_int_equal(case_rows(nav), 0);
	assert_int_equal(case_rows(recent), before[2]);
	assert_int_equal(case_rows(open), before[3]);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM person WHERE id = %lld",
			      person_old),
		0);
	for (i = 0; i < 2; i++)
		assert_int_equal(
			itest_sql_int("SELECT count(*) FROM audit_event "
				      "WHERE action = 'storage.purge' AND "
				      "case_id = %lld",
				      c[i]),
			1);
	/* the audit of the purged cases stays */
	assert_true(itest_sql_int(
			    "SELECT count(*) FROM audit_event WHERE case_id = "
			    "%lld AND action <> 'storage.purge'",
			    old) > 0);
	assert_int_equal(daemon_cmd(&out, "purge", "--dry-run", NULL), 0);
	assert_non_null(strstr(out.out, "0 cases past retention"));
	itest_output_free(&out);
	/* the purged case is gone for readers too */
	assert_int_equal(
		itest_cli(&out, "coord", "case", "show", ids(old), NULL), 1);
	assert_non_null(strstr(out.err, "NOT_FOUND"));
	itest_output_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_and_dump),
		cmocka_unit_test(test_moved_value),
		cmocka_unit_test(test_rotate_key),
		cmocka_unit_test(test_keyring_permissions),
		cmocka_unit_test(test_purge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
