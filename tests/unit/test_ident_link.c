/*
 * End to end: maillage-link on small files with the exact pairs expected
 * (variants, swapped names, Cyrillic, partial dates, a declared age, a
 * namesake that must not be linked, persons on one side only), its
 * --dedupe mode, its errors; and the library on generated data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ident.h"

#ifndef MAILLAGE_LINK_BIN
#define MAILLAGE_LINK_BIN "maillage-link"
#endif

static char dir[] = "/tmp/ident-link-test-XXXXXX";
static char lpath[96], rpath[96], kpath[96], dpath[96];

static const char LEFT[] =
	"id,given_name,family_name,birth_date,sex,nationality,declared_age,"
	"declared_on\n"
	"l1,Mohamed,Benali,2010-03-07,M,DZ,,\n"
	"l2,Amina,Hodžić,2009-11-20,F,BA,,\n"
	"l3,Иван,Петров,2011-05-05,M,RS,,\n"
	"l4,Youssef,El Amrani,2008-02-14,M,MA,,\n"
	"l5,Ana Maria,Popescu,2012-06-30,F,RO,,\n"
	"l6,Karim,Zeroual,2010-01-15,M,DZ,,\n"
	"l7,Lejla,Hasanović,2011-08-08,F,BA,,\n";

static const char RIGHT[] =
	"id,given_name,family_name,birth_date,sex,nationality,declared_age,"
	"declared_on\n"
	"r1,Muhammad,Ben Ali,2010-07-03,M,DZ,,\n"
	"r2,HODZIC,Amina,2009-11-20,F,BA,,\n"
	"r3,Ivan,Petrov,2011,M,RS,,\n"
	"r4,Yusuf,Amrani,,M,MA,15,2023-06-01\n"
	"r5,Ana,POPESCU,2013-06-30,F,RO,,\n"
	"r6,Sara,Haddad,2012-02-02,F,MA,,\n"
	"r7,Lejla,Hasanović,2004-02-11,F,BA,,\n";

static void put(const char *p, const char *s)
{
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(s, f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(lpath, sizeof lpath, "%s/left.csv", dir);
	snprintf(rpath, sizeof rpath, "%s/right.csv", dir);
	snprintf(kpath, sizeof kpath, "%s/key", dir);
	snprintf(dpath, sizeof dpath, "%s/both.csv", dir);
	put(lpath, LEFT);
	put(rpath, RIGHT);
	put(kpath, "000102030405060708090a0b0c0d0e0f"
		   "101112131415161718191a1b1c1d1e1f\n");
	{
		/* one file holding both, for --dedupe */
		FILE *f = fopen(dpath, "w");
		fputs(LEFT, f);
		fputs(strchr(RIGHT, '\n') + 1, f);
		fclose(f);
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[256];
	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Run maillage-link; its stdout in out, exit status returned. */
static int run(const char *args, char *out, size_t outlen)
{
	char cmd[1024];
	FILE *p;
	size_t n;
	int st;
	snprintf(cmd, sizeof cmd, "%s %s 2>&1", MAILLAGE_LINK_BIN, args);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, outlen - 1, p);
	out[n] = 0;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_left_right_exact_pairs(void **state)
{
	char args[512], out[8192];
	char *line, *save;
	const char *want[] = {"l1,r1", "l2,r2", "l3,r3", "l4,r4", "l5,r5"};
	int seen[5] = {0}, lines = 0;
	double prev = 1e9;
	(void)state;
	snprintf(args, sizeof args, "--left %s --right %s --key-file %s", lpath,
		 rpath, kpath);
	assert_int_equal(run(args, out, sizeof out), 0);
	line = strtok_r(out, "\n", &save);
	assert_string_equal(line, "left_id,right_id,score");
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		int found = 0;
		double score = atof(strrchr(line, ',') + 1);
		assert_true(score <= prev); /* best first */
		prev = score;
		for (int i = 0; i < 5; i++) {
			if (strncmp(line, want[i], strlen(want[i])) == 0 &&
			    line[strlen(want[i])] == ',') {
				seen[i]++;
				found = 1;
			}
		}
		if (!found)
			fail_msg("unexpected pair: %s", line);
		lines++;
	}
	assert_int_equal(lines, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(seen[i], 1);
}

static void test_explain(void **state)
{
	char args[512], out[8192];
	(void)state;
	snprintf(args, sizeof args,
		 "--left %s --right %s --key-file %s --explain", lpath, rpath,
		 kpath);
	assert_int_equal(run(args, out, sizeof out), 0);
	assert_non_null(strstr(out, "left_id,right_id,score,explanation\n"));
	assert_non_null(strstr(out, "given name: same name in another "
				    "spelling (mohamed / muhammad)"));
	assert_non_null(strstr(out, "birth date: day and month swapped"));
	assert_non_null(strstr(out, "(given and family names swapped)"));
	assert_non_null(strstr(out, "birth date: declared age compatible"));
}

static void test_dedupe(void **state)
{
	char args[512], out[8192];
	(void)state;
	snprintf(args, sizeof args, "--dedupe %s --key-file %s", dpath, kpath);
	assert_int_equal(run(args, out, sizeof out), 0);
	assert_non_null(strstr(out, "l1,r1,"));
	assert_non_null(strstr(out, "l2,r2,"));
	assert_null(strstr(out, "l7,r7,"));
	assert_null(strstr(out, "l6,"));
}

static void test_errors(void **state)
{
	char args[512], out[8192];
	char bad[128];
	(void)state;
	assert_int_equal(
		run("--left /nonexistent.csv --right /x.csv", out, sizeof out),
		1);
	assert_non_null(strstr(out, "/nonexistent.csv: No such file"));
	snprintf(bad, sizeof bad, "%s/bad.csv", dir);
	put(bad, "id,birth_date\nx,2010\ny,31/12/2010\n");
	snprintf(args, sizeof args, "--dedupe %s", bad);
	assert_int_equal(run(args, out, sizeof out), 1);
	assert_non_null(strstr(out, "bad.csv:3: bad birth_date"));
	assert_int_equal(run("--left a.csv", out, sizeof out), 2); /* usage */
}

static void test_generated(void **state)
{
	char l[128], r[128], t[128], err[512];
	static const uint8_t key[IDENT_KEY_LEN] =
		"end to end key for the tests..";
	ident_gen_opts o;
	ident_table lt, rt;
	ident_rec *lr, *rr;
	ident_enc *e;
	ident_link_opts lo;
	ident_link_result res;
	ident_norm *n = ident_norm_new(err, sizeof err);
	const ident_names *k = ident_names_builtin(n, err, sizeof err);
	size_t tp = 0;
	(void)state;
	snprintf(l, sizeof l, "%s/gl.csv", dir);
	snprintf(r, sizeof r, "%s/gr.csv", dir);
	snprintf(t, sizeof t, "%s/gt.csv", dir);
	ident_gen_opts_default(&o);
	o.n_left = o.n_right = 600;
	o.seed = 3;
	assert_int_equal(ident_gen(k, n, &o, l, r, t, err, sizeof err), 0);
	assert_int_equal(ident_table_read(l, &lt, err, sizeof err), 0);
	assert_int_equal(ident_table_read(r, &rt, err, sizeof err), 0);
	e = ident_enc_new(key, k, err, sizeof err);
	assert_non_null(e);
	assert_int_equal(ident_encode_table(e, &lt, &lr, err, sizeof err), 0);
	assert_int_equal(ident_encode_table(e, &rt, &rr, err, sizeof err), 0);
	ident_link_opts_default(&lo);
	assert_int_equal(ident_link(e, lr, lt.n, rr, rt.n, &lo, &res), 0);
	/* the generator's truth: L000123 is R000123 */
	for (size_t i = 0; i < res.n; i++)
		if (strcmp(lt.rows[res.pairs[i].a].id + 1,
			   rt.rows[res.pairs[i].b].id + 1) == 0)
			tp++;
	print_message("generated 600 x 600: %zu proposed, %zu right, of "
		      "360\n",
		      res.n, tp);
	assert_true(res.n > 0);
	assert_true((double)tp / (double)res.n >= 0.98); /* precision */
	assert_true((double)tp / 360.0 >= 0.75);	 /* recall */
	ident_link_result_free(&res);
	free(lr);
	free(rr);
	ident_table_free(&lt);
	ident_table_free(&rt);
	ident_enc_free(e);
	ident_norm_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_left_right_exact_pairs),
		cmocka_unit_test(test_explain),
		cmocka_unit_test(test_dedupe),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_generated),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
