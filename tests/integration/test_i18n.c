/*
 * test_i18n: integration tests of what the `maillage` command says in each
 * language, against the running fixture: under LANG=fr_FR.UTF-8 and
 * LANG=C.UTF-8, a server refusal (the error code's meaning translated, the
 * code kept), table headers and indicator labels, `whoami` fields; the JSON
 * output identical in both; the directory cache written by `network list`
 * for shell completion; and `notice new` driven in a real terminal (tmux)
 * from the first question to the confirmation, the notice then read back;
 * colour on that terminal, and none with NO_COLOR.
 *
 * Usage: test_i18n [FILTER [SKIP_FILTER]] (cmocka glob patterns).
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

#include "itest.h"

/* The catalogues of the build tree, and a neutral environment. */
static void i18n_lang(const char *lang)
{
	const char *build = getenv("MAILLAGE_BUILD_DIR");
	char dir[ITEST_PATH_MAX];

	if (build != NULL) {
		snprintf(dir, sizeof(dir), "%s/locale", build);
		setenv("MAILLAGE_LOCALEDIR", dir, 1);
	}
	unsetenv("LC_ALL");
	unsetenv("LC_MESSAGES");
	unsetenv("LANGUAGE");
	setenv("LANG", lang, 1);
}

static void expect_in(const char *what, const char *hay, const char *needle)
{
	if (hay == NULL || strstr(hay, needle) == NULL)
		fail_msg("%s: no \"%s\" in:\n%s", what, needle,
			 hay != NULL ? hay : "(null)");
}

static void expect_status(const struct itest_output *out, int want,
			  const char *what)
{
	if (out->status != want)
		fail_msg("%s: exit status %d, expected %d\nstdout: %s\n"
			 "stderr: %s",
			 what, out->status, want, out->out, out->err);
}

static void test_refusal_translated(void **state)
{
	struct itest_output out;

	(void)state;
	i18n_lang("fr_FR.UTF-8");
	itest_cli(&out, "ase", "case", "show", "987654", NULL);
	expect_status(&out, 1, "case show (fr)");
	expect_in("case show (fr)", out.err,
		  "introuvable, ou non visible pour vous");
	expect_in("case show (fr)", out.err, "[NOT_FOUND");
	itest_output_free(&out);

	i18n_lang("C.UTF-8");
	itest_cli(&out, "ase", "case", "show", "987654", NULL);
	expect_status(&out, 1, "case show (C)");
	expect_in("case show (C)", out.err, "not found, or not visible to you");
	expect_in("case show (C)", out.err, "[NOT_FOUND");
	itest_output_free(&out);

	/* A role the server refuses: FORBIDDEN, in words. */
	i18n_lang("fr_FR.UTF-8");
	itest_cli(&out, "ase", "audit", "log", NULL);
	expect_status(&out, 1, "audit log as a partner (fr)");
	expect_in("audit log (fr)", out.err, "votre rôle ne le permet pas");
	itest_output_free(&out);
}

static void test_tables_and_labels(void **state)
{
	struct itest_output out;

	(void)state;
	i18n_lang("fr_FR.UTF-8");
	itest_cli(&out, "ase", "indicators", "--category", "control", NULL);
	expect_status(&out, 0, "indicators (fr)");
	expect_in("indicators (fr)", out.out, "CATÉGORIE");
	expect_in("indicators (fr)", out.out, "LIBELLÉ");
	expect_in("indicators (fr)", out.out, "Accompagné, surveillé");
	expect_in("indicators (fr)", out.out, "fort");
	itest_output_free(&out);

	i18n_lang("C.UTF-8");
	itest_cli(&out, "ase", "indicators", "--category", "control", NULL);
	expect_status(&out, 0, "indicators (C)");
	expect_in("indicators (C)", out.out, "CATEGORY");
	expect_in("indicators (C)", out.out, "Accompanied, watched");
	expect_in("indicators (C)", out.out, "strong");
	itest_output_free(&out);

	/* --lang still chooses the labels, whatever the locale. */
	itest_cli(&out, "ase", "indicators", "--category", "control", "--lang",
		  "fr", NULL);
	expect_status(&out, 0, "indicators --lang fr (C)");
	expect_in("indicators --lang fr (C)", out.out, "Accompagné");
	itest_output_free(&out);

	i18n_lang("fr_FR.UTF-8");
	itest_cli(&out, "ase", "whoami", NULL);
	expect_status(&out, 0, "whoami (fr)");
	expect_in("whoami (fr)", out.out, "identifiant : ase");
	expect_in("whoami (fr)", out.out, "rôle : partner");
	itest_output_free(&out);

	itest_cli(&out, "ase", "network", "list", NULL);
	expect_status(&out, 0, "network list (fr)");
	expect_in("network list (fr)", out.out, "CONNECTÉE");
	itest_output_free(&out);
}

/* The JSON output does not depend on the language. */
static void test_json_untranslated(void **state)
{
	struct itest_output fr, c;

	(void)state;
	i18n_lang("fr_FR.UTF-8");
	itest_cli(&fr, "ase", "--json", "indicators", NULL);
	i18n_lang("C.UTF-8");
	itest_cli(&c, "ase", "--json", "indicators", NULL);
	expect_status(&fr, 0, "indicators --json (fr)");
	expect_status(&c, 0, "indicators --json (C)");
	assert_string_equal(fr.out, c.out);
	expect_in("indicators --json", fr.out, "\"label_en\"");
	itest_output_free(&fr);
	itest_output_free(&c);

	i18n_lang("fr_FR.UTF-8");
	itest_cli(&fr, "ase", "--json", "whoami", NULL);
	expect_status(&fr, 0, "whoami --json (fr)");
	expect_in("whoami --json (fr)", fr.out, "\"login\": \"ase\"");
	expect_in("whoami --json (fr)", fr.out, "\"role\": \"partner\"");
	itest_output_free(&fr);
}

static void test_directory_cache(void **state)
{
	char dir[ITEST_PATH_MAX + 32], path[ITEST_PATH_MAX + 96], buf[4096];
	struct itest_output out;
	FILE *fp;
	size_t n;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/i18n-cache-%d", itest_env()->workdir,
		 (int)getpid());
	mkdir(dir, 0700);
	setenv("XDG_CACHE_HOME", dir, 1);
	i18n_lang("C.UTF-8");
	itest_cli(&out, "ase", "network", "list", NULL);
	expect_status(&out, 0, "network list");
	itest_output_free(&out);
	unsetenv("XDG_CACHE_HOME");
	snprintf(path, sizeof(path), "%s/maillage/institutions", dir);
	fp = fopen(path, "r");
	if (fp == NULL)
		fail_msg("network list wrote no %s", path);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	expect_in("directory cache", buf, "ase75\n");
	expect_in("directory cache", buf, "pjj75\n");
	expect_in("directory cache", buf, "hlr\n");
}

/* ---- notice new, in a terminal ------------------------------------------ */

struct tty {
	char socket[64]; /* tmux -L */
};

static void tty_tmux(const struct tty *t, struct itest_output *out,
		     const char *a1, const char *a2, const char *a3,
		     const char *a4, const char *a5)
{
	const char *argv[] = {
		"/usr/bin/tmux", "-L", t->socket, a1, a2, a3, a4, a5, NULL};

	itest_run(argv, 20, out);
}

/* Stop the tmux server and remove its socket. */
static void tty_stop(const struct tty *t)
{
	struct itest_output out;
	const char *dir = getenv("TMUX_TMPDIR");
	char path[ITEST_PATH_MAX];

	tty_tmux(t, &out, "kill-server", NULL, NULL, NULL, NULL);
	itest_output_free(&out);
	snprintf(path, sizeof(path), "%s/tmux-%u/%s",
		 dir != NULL && dir[0] != '\0' ? dir : "/tmp",
		 (unsigned)getuid(), t->socket);
	unlink(path);
}

static char *tty_screen(const struct tty *t)
{
	struct itest_output out;
	char *s;

	tty_tmux(t, &out, "capture-pane", "-p", "-J", "-S", "-300");
	/* capture-pane takes its target last: the only pane there is */
	s = out.out;
	out.out = NULL;
	itest_output_free(&out);
	return s;
}

/* Wait until the screen shows `text`; fail after 20 s. */
static void tty_wait(const struct tty *t, const char *text)
{
	int i;
	char *s = NULL;

	for (i = 0; i < 200; i++) {
		free(s);
		s = tty_screen(t);
		if (s != NULL && strstr(s, text) != NULL) {
			free(s);
			return;
		}
		usleep(100 * 1000);
	}
	fail_msg("the terminal never showed \"%s\":\n%s", text,
		 s != NULL ? s : "(nothing)");
}

static void tty_type(const struct tty *t, const char *keys)
{
	struct itest_output out;

	tty_tmux(t, &out, "send-keys", "-l", keys, NULL, NULL);
	itest_output_free(&out);
	tty_tmux(t, &out, "send-keys", "Enter", NULL, NULL, NULL);
	itest_output_free(&out);
}

static void test_notice_new_interactive(void **state)
{
	const struct itest_env *e = itest_env();
	const char *build = getenv("MAILLAGE_BUILD_DIR");
	char editor[ITEST_PATH_MAX + 32], cmd[6 * ITEST_PATH_MAX], *screen;
	char *p;
	struct itest_output out;
	struct tty t;
	long long before, after, notice_id;
	FILE *fp;

	(void)state;
	if (access("/usr/bin/tmux", X_OK) != 0)
		fail_msg("tmux is missing (deploy/install-deps installs it)");
	snprintf(t.socket, sizeof(t.socket), "maillage-itest-%d",
		 (int)getpid());
	/* The "editor" writes two lines above the template. */
	snprintf(editor, sizeof(editor), "%s/i18n-editor.sh", e->workdir);
	fp = fopen(editor, "w");
	assert_non_null(fp);
	fputs("#!/bin/sh\n"
	      "{ printf 'Vu gare du Nord avec deux adultes.\\n"
	      "Dit avoir 14 ans.\\n'; cat \"$1\"; } > \"$1.new\" &&\n"
	      "mv \"$1.new\" \"$1\"\n",
	      fp);
	fclose(fp);
	chmod(editor, 0700);
	before = itest_psql_int("SELECT count(*) FROM notice");

	snprintf(cmd, sizeof(cmd),
		 "env -u LC_ALL -u LANGUAGE LANG=fr_FR.UTF-8 TERM=xterm "
		 "NO_COLOR=1 MAILLAGE_LOCALEDIR='%s/locale' EDITOR='%s' "
		 "VISUAL= '%s' --config '%s/client/ase.conf' notice new; "
		 "echo EXIT=$?; sleep 60",
		 build != NULL ? build : "", editor, e->client_bin, e->workdir);
	{
		const char *argv[] = {"/usr/bin/tmux",
				      "-L",
				      t.socket,
				      "-f",
				      "/dev/null",
				      "new-session",
				      "-d",
				      "-x",
				      "160",
				      "-y",
				      "50",
				      cmd,
				      NULL};

		itest_run(argv, 20, &out);
		expect_status(&out, 0, "tmux new-session");
		itest_output_free(&out);
	}

	tty_wait(&t, "Type (numéro ou code) : ");
	tty_type(&t, "4"); /* referral */
	tty_wait(&t, "Destinataires (codes des institutions");
	tty_type(&t, "pjj75,hlr");
	tty_wait(&t, "Numéro du jeune s'il est déjà connu");
	tty_type(&t, "");
	tty_wait(&t, "Prénom : ");
	tty_type(&t, "Karim");
	tty_wait(&t, "Nom de famille : ");
	tty_type(&t, "Benali-Tty");
	tty_wait(&t, "Date de naissance");
	tty_type(&t, "2009-03");
	tty_wait(&t, "Sexe (F, M, ou vide) : ");
	tty_type(&t, "M");
	tty_wait(&t, "Nationalité (code ISO");
	tty_type(&t, "MA");
	tty_wait(&t, "Lieu où le jeune a été vu : ");
	tty_type(&t, "Gare du Nord");
	/* The checklist, by category, in French. */
	tty_wait(&t, "Signes de contrôle");
	tty_wait(&t, "Indicateurs (numéros ou codes");
	tty_type(&t, "CTRL_ADULT_WATCH,OFF_MULTI_CITY");
	tty_wait(&t, "Urgent ? [o/N] ");
	tty_type(&t, "o");
	tty_wait(&t, "Le jeune a-t-il été informé de ce partage ? [o/n] ");
	tty_type(&t, "o");
	tty_wait(&t, "Écrire un texte dans l'éditeur ? [O/n] ");
	tty_type(&t, "");
	tty_wait(&t, "Récapitulatif :");
	tty_wait(&t, "Envoyer cette transmission ? [o/N] ");
	screen = tty_screen(&t);
	expect_in("summary", screen, "orientation, demande de prise en charge");
	expect_in("summary", screen, "pjj75, hlr");
	expect_in("summary", screen, "CTRL_ADULT_WATCH, OFF_MULTI_CITY");
	expect_in("summary", screen, "Vu gare du Nord avec deux adultes.");
	expect_in("summary", screen, "urgente");
	free(screen);
	tty_type(&t, "o");
	tty_wait(&t, "EXIT=");
	screen = tty_screen(&t);
	expect_in("after confirmation", screen, "EXIT=0");
	notice_id = 0;
	for (p = strstr(screen, "transmission "); p != NULL && notice_id == 0;
	     p = strstr(p + 1, "transmission ")) {
		char word[32];

		if (sscanf(p, "transmission %lld %31s", &notice_id, word) !=
			    2 ||
		    strcmp(word, "envoyée") != 0)
			notice_id = 0;
	}
	if (notice_id == 0)
		fail_msg("no \"transmission N envoyée\" on:\n%s", screen);
	free(screen);
	tty_stop(&t);
	unlink(editor);

	after = itest_psql_int("SELECT count(*) FROM notice");
	assert_int_equal(after, before + 1);
	{
		char sql[256];

		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM notice WHERE id = %lld AND "
			 "kind = 'referral' AND urgency = 'urgent'",
			 notice_id);
		assert_int_equal(itest_psql_int(sql), 1);
		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM notice_recipient WHERE "
			 "notice_id = %lld",
			 notice_id);
		assert_int_equal(itest_psql_int(sql), 2);
	}

	/* Dates: the locale's format in French, RFC 3339 in C. */
	i18n_lang("fr_FR.UTF-8");
	itest_cli(&out, "pjj", "inbox", NULL);
	expect_status(&out, 0, "inbox (fr)");
	expect_in("inbox (fr)", out.out, "Benali-Tty");
	expect_in("inbox (fr): a dd/mm/yyyy date", out.out, "/20");
	itest_output_free(&out);
	i18n_lang("C.UTF-8");
	itest_cli(&out, "pjj", "inbox", NULL);
	expect_status(&out, 0, "inbox (C)");
	if (strstr(out.out, "/20") != NULL || strstr(out.out, "Z ") == NULL)
		fail_msg("inbox (C): dates are not RFC 3339:\n%s", out.out);
	itest_output_free(&out);
}

/* Start `maillage notice new` in a fresh tmux server, `env` before it. */
static void tty_start(struct tty *t, const char *env)
{
	static int serial;
	const struct itest_env *e = itest_env();
	const char *build = getenv("MAILLAGE_BUILD_DIR");
	char cmd[4 * ITEST_PATH_MAX];
	struct itest_output out;

	/* A server of its own each time: one being killed may linger. */
	snprintf(t->socket, sizeof(t->socket), "maillage-itest-c%d-%d",
		 (int)getpid(), ++serial);
	snprintf(cmd, sizeof(cmd),
		 "env -u LC_ALL -u LANGUAGE -u NO_COLOR LANG=C.UTF-8 "
		 "TERM=xterm MAILLAGE_LOCALEDIR='%s/locale' %s '%s' --config "
		 "'%s/client/ase.conf' notice new; sleep 60",
		 build != NULL ? build : "", env, e->client_bin, e->workdir);
	{
		const char *argv[] = {"/usr/bin/tmux",
				      "-L",
				      t->socket,
				      "-f",
				      "/dev/null",
				      "new-session",
				      "-d",
				      "-x",
				      "120",
				      "-y",
				      "40",
				      cmd,
				      NULL};

		itest_run(argv, 20, &out);
		expect_status(&out, 0, "tmux new-session");
		itest_output_free(&out);
	}
}

/* Colour on a terminal (the prompts are bold), none with NO_COLOR. */
static void test_colour(void **state)
{
	struct itest_output out;
	struct tty t;
	int with_no_color;

	(void)state;
	if (access("/usr/bin/tmux", X_OK) != 0)
		fail_msg("tmux is missing (deploy/install-deps installs it)");
	for (with_no_color = 0; with_no_color <= 1; with_no_color++) {
		tty_start(&t, with_no_color ? "NO_COLOR=1" : "");
		tty_wait(&t, "Kind (number or code): ");
		tty_tmux(&t, &out, "capture-pane", "-p", "-e", NULL, NULL);
		if (with_no_color && strstr(out.out, "\033[1m") != NULL)
			fail_msg("bold prompt despite NO_COLOR:\n%s", out.out);
		if (!with_no_color && strstr(out.out, "\033[1m") == NULL)
			fail_msg("no bold prompt on a terminal:\n%s", out.out);
		itest_output_free(&out);
		tty_stop(&t);
	}
}

/* Without a terminal, `notice new` points to `notice send`. */
static void test_notice_new_needs_terminal(void **state)
{
	struct itest_output out;

	(void)state;
	i18n_lang("C.UTF-8");
	itest_cli(&out, "ase", "notice", "new", NULL);
	expect_status(&out, 2, "notice new without a terminal");
	expect_in("notice new", out.err, "use 'notice send'");
	itest_output_free(&out);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusal_translated),
		cmocka_unit_test(test_tables_and_labels),
		cmocka_unit_test(test_json_untranslated),
		cmocka_unit_test(test_directory_cache),
		cmocka_unit_test(test_notice_new_needs_terminal),
		cmocka_unit_test(test_notice_new_interactive),
		cmocka_unit_test(test_colour),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	if (argc > 2)
		cmocka_set_skip_filter(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
