/*
 * ident CSV reader and identity tables: quoted fields, CRLF, BOM, line
 * numbers; and the clear errors of issue 5 (missing id column, bad dates,
 * invalid UTF-8, a 10 MB line), each naming the line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ident.h"

static char path[64];

static const char *write_file(const char *content, size_t len)
{
	FILE *f;
	snprintf(path, sizeof path, "/tmp/ident-csv-test-%d.csv",
		 (int)getpid());
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, len, f), len);
	fclose(f);
	return path;
}

static void test_reader(void **state)
{
	static const char data[] = "\xEF\xBB\xBF"
				   "a,b,c\r\n"
				   "1,\"x, y\",\"say \"\"hi\"\"\"\r\n"
				   "\r\n"
				   "2,\"two\nlines\",\r\n"
				   "3,last,no newline";
	FILE *f;
	ident_csv *c;
	char **fl;
	size_t n;
	(void)state;
	f = fmemopen((void *)data, sizeof data - 1, "rb");
	c = ident_csv_new(f, "mem", 0);
	assert_int_equal(ident_csv_next(c, &fl, &n), 1);
	assert_int_equal(n, 3);
	assert_string_equal(fl[0], "a"); /* the BOM is skipped */
	assert_int_equal(ident_csv_line(c), 1);
	assert_int_equal(ident_csv_next(c, &fl, &n), 1);
	assert_string_equal(fl[1], "x, y");
	assert_string_equal(fl[2], "say \"hi\"");
	assert_int_equal(ident_csv_line(c), 2);
	assert_int_equal(ident_csv_next(c, &fl, &n), 1); /* blank skipped */
	assert_int_equal(ident_csv_line(c), 4);
	assert_string_equal(fl[1], "two\nlines");
	assert_string_equal(fl[2], "");
	assert_int_equal(ident_csv_next(c, &fl, &n), 1);
	assert_int_equal(ident_csv_line(c), 6);
	assert_string_equal(fl[2], "no newline");
	assert_int_equal(ident_csv_next(c, &fl, &n), 0);
	ident_csv_free(c);
	fclose(f);
}

static void test_reader_errors(void **state)
{
	static const char unterminated[] = "a,b\n1,\"open\n2,3\n";
	static const char after_quote[] = "a,b\n1,\"x\"y\n";
	FILE *f;
	ident_csv *c;
	char **fl;
	size_t n;
	(void)state;
	f = fmemopen((void *)unterminated, sizeof unterminated - 1, "rb");
	c = ident_csv_new(f, "u.csv", 0);
	assert_int_equal(ident_csv_next(c, &fl, &n), 1);
	assert_int_equal(ident_csv_next(c, &fl, &n), -1);
	assert_string_equal(ident_csv_error(c),
			    "u.csv:2: unterminated quoted field");
	ident_csv_free(c);
	fclose(f);
	f = fmemopen((void *)after_quote, sizeof after_quote - 1, "rb");
	c = ident_csv_new(f, "q.csv", 0);
	assert_int_equal(ident_csv_next(c, &fl, &n), 1);
	assert_int_equal(ident_csv_next(c, &fl, &n), -1);
	assert_non_null(strstr(ident_csv_error(c), "q.csv:2: unexpected"));
	ident_csv_free(c);
	fclose(f);
}

static void expect_error(const char *content, size_t len, const char *msg)
{
	ident_table t;
	char err[512], want[600];
	const char *p = write_file(content, len);
	assert_int_equal(ident_table_read(p, &t, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:%s", p, msg);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("got \"%s\", want \"%s...\"", err, want);
	unlink(p);
}

static void test_table(void **state)
{
	static const char ok[] =
		"ID, given_name ,family_name,birth_date,sex,nationality,other,"
		"declared_age,declared_on\n"
		"a1,Amina,Hodžić,2010-03-07,F,ba,x,,\n"
		"a2,\"Mohamed Amine\",Ben Ali,20090102,m,DZ,,,\n"
		"a3,Ion,Popa,,,,,13,2023-06-01\n"
		"a4,,,2011-05,,,,,\n";
	ident_table t;
	char err[512];
	const char *p = write_file(ok, sizeof ok - 1);
	(void)state;
	assert_int_equal(ident_table_read(p, &t, err, sizeof err), 0);
	assert_int_equal(t.n, 4);
	assert_string_equal(t.rows[0].given_name, "Amina");
	assert_string_equal(t.rows[0].nationality, "BA");
	assert_int_equal(t.rows[0].sex, IDENT_SEX_F);
	assert_int_equal(t.rows[1].birth.year, 2009);
	assert_int_equal(t.rows[1].birth.day, 2);
	assert_int_equal(t.rows[2].birth.year, 0);
	assert_int_equal(t.rows[2].birth.ylo, 2009);
	assert_int_equal(t.rows[2].birth.yhi, 2010);
	assert_int_equal(t.rows[3].birth.month, 5);
	assert_null(t.rows[3].given_name);
	ident_table_free(&t);
	unlink(p);
}

static void test_table_errors(void **state)
{
	static const char noid[] = "name,birth_date\nx,2010\n";
	static const char baddate[] =
		"id,birth_date\n1,2010-01-02\n2,2010-02-30\n";
	static const char badutf[] = "id,given_name\n1,ok\n2,caf\xC3\n";
	static const char dup[] = "id\n1\n2\n1\n";
	static const char emptyid[] = "id,given_name\n1,a\n,b\n";
	static const char badsex[] = "id,sex\n1,M\n2,yes\n";
	static const char badnat[] = "id,nationality\n1,Morocco\n";
	size_t big = 10u * 1024 * 1024;
	char *line;
	(void)state;
	expect_error(noid, sizeof noid - 1, "1: the header has no id column");
	expect_error(baddate, sizeof baddate - 1,
		     "3: bad birth_date \"2010-02-30\"");
	expect_error(badutf, sizeof badutf - 1,
		     "3: invalid UTF-8 in column given_name");
	expect_error(dup, sizeof dup - 1, "4: duplicate id \"1\"");
	expect_error(emptyid, sizeof emptyid - 1, "3: empty id");
	expect_error(badsex, sizeof badsex - 1, "3: bad sex");
	expect_error(badnat, sizeof badnat - 1, "2: bad nationality");
	expect_error("", 0, "1: empty file");
	/* a 10 MB line: refused, not read into memory */
	line = malloc(big + 64);
	assert_non_null(line);
	memcpy(line, "id,given_name\n1,a\n2,", 20);
	memset(line + 20, 'x', big);
	line[20 + big] = '\n';
	expect_error(line, big + 21, "3: record longer than 65536 bytes");
	free(line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reader),
		cmocka_unit_test(test_reader_errors),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_table_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
