/*
 * test_valid: unit tests of the syntactic checks (server/valid.c), written
 * from server/valid.h. They own the UTF-8 cases (accents, 3- and 4-byte
 * forms, every ill-formed family: overlong, surrogate, above U+10FFFF,
 * truncated, stray continuation), control characters with and without
 * multiline, byte limits at and over the bound, the code shapes, calendar,
 * partial and instant dates, country and language shapes, and the array
 * literal builder with its buffer bound. The checks answer non-zero for
 * valid, 0 for invalid (as the request handlers use them).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "valid.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void expect_all(int (*check)(const char *), const char *what,
		       const char *const *vals, size_t n, int want)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!!check(vals[i]) != want)
			fail_msg("%s(\"%s\"): got %s, want %s", what, vals[i],
				 want ? "invalid" : "valid",
				 want ? "valid" : "invalid");
}

#define GOOD(check, vals) expect_all(check, #check, vals, NELEM(vals), 1)
#define BAD(check, vals) expect_all(check, #check, vals, NELEM(vals), 0)

/* A string of `n` copies of `c` followed by `tail` (n < 200). */
static const char *repeat(char *buf, size_t n, char c, const char *tail)
{
	memset(buf, c, n);
	strcpy(buf + n, tail);
	return buf;
}

/* ---- valid_text ---- */

static void text_ok(const char *s, int multiline)
{
	if (!valid_text(s, 1000, multiline))
		fail_msg("valid_text(\"%s\", multiline %d) refused", s,
			 multiline);
}

static void text_bad(const char *s, int multiline)
{
	size_t i;

	if (valid_text(s, 1000, multiline)) {
		char hex[200] = "";

		for (i = 0; s[i] != '\0' && i < 60; i++) {
			static const char digits[] = "0123456789abcdef";
			size_t o = strlen(hex);

			hex[o] = digits[(unsigned char)s[i] >> 4];
			hex[o + 1] = digits[(unsigned char)s[i] & 15];
			hex[o + 2] = ' ';
			hex[o + 3] = '\0';
		}
		fail_msg("valid_text(%s, multiline %d) accepted", hex,
			 multiline);
	}
}

static void text_bad_both(const char *s)
{
	text_bad(s, 0);
	text_bad(s, 1);
}

static void test_text_null_and_empty(void **state)
{
	(void)state;
	assert_true(valid_text(NULL, 0, 0));
	assert_true(valid_text(NULL, 10, 1));
	assert_true(valid_text("", 0, 0));
	assert_true(valid_text("", 10, 1));
}

static void test_text_ascii(void **state)
{
	(void)state;
	text_ok("Seen at Gare du Nord, 10 pm.", 0);
	text_ok("~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./", 0);
	text_ok(" ", 0);
}

static void test_text_multibyte(void **state)
{
	(void)state;
	/* French: é è ê à ç ô û ï œ Œ « » and a no-break space. */
	text_ok("\xc3\x89l\xc3\xa8ve \xc3\xa0 l'\xc3\xa9"
		"cole, gar\xc3\xa7on, ma\xc3\xaft"
		"re, c\xc5\x93ur, \xc5\x92uvre",
		0);
	text_ok("\xc2\xab for\xc3\xaat, h\xc3\xb4tel, s\xc3\xbbr "
		"\xc2\xbb\xc2\xa0!",
		0);
	text_ok("Ro\xc8\x99ia, Bucure\xc8\x99ti", 0); /* Romanian s-comma */
	text_ok("\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7", 0); /* Arabic */
	text_ok("\xe2\x82\xac 20", 0);		/* euro, 3 bytes */
	text_ok("\xe4\xb8\xad\xe6\x96\x87", 0); /* CJK */
	text_ok("\xf0\x9f\x98\x80", 0);		/* U+1F600 */
	text_ok("ok \xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd merci", 0);
}

static void test_text_boundaries(void **state)
{
	(void)state;
	text_ok("\xc2\xa0", 0);		/* U+00A0 */
	text_ok("\xdf\xbf", 0);		/* U+07FF, last 2-byte */
	text_ok("\xe0\xa0\x80", 0);	/* U+0800, first 3-byte */
	text_ok("\xed\x9f\xbf", 0);	/* U+D7FF, before surrogates */
	text_ok("\xee\x80\x80", 0);	/* U+E000, after surrogates */
	text_ok("\xef\xbf\xbd", 0);	/* U+FFFD */
	text_ok("\xef\xbf\xbf", 0);	/* U+FFFF */
	text_ok("\xf0\x90\x80\x80", 0); /* U+10000, first 4-byte */
	text_ok("\xf4\x8f\xbf\xbf", 0); /* U+10FFFF, the last */
}

static void test_text_overlong(void **state)
{
	(void)state;
	text_bad_both("\xc0\x80");		   /* NUL */
	text_bad_both("\xc0\xaf");		   /* '/' */
	text_bad_both("\xc1\xbf");		   /* U+007F */
	text_bad_both("\xc1\x81");		   /* 'A' */
	text_bad_both("\xe0\x80\x80");		   /* NUL in 3 */
	text_bad_both("\xe0\x80\xaf");		   /* '/' in 3 */
	text_bad_both("\xe0\x9f\xbf");		   /* U+07FF in 3 */
	text_bad_both("\xf0\x80\x80\x80");	   /* NUL in 4 */
	text_bad_both("\xf0\x80\x80\xaf");	   /* '/' in 4 */
	text_bad_both("\xf0\x8f\xbf\xbf");	   /* U+FFFF in 4 */
	text_bad_both("\xf8\x80\x80\x80\xaf");	   /* 5-byte */
	text_bad_both("\xfc\x80\x80\x80\x80\xaf"); /* 6-byte */
	text_bad_both("ok \xc0\xaf ok");
}

static void test_text_surrogates(void **state)
{
	(void)state;
	text_bad_both("\xed\xa0\x80"); /* U+D800 */
	text_bad_both("\xed\xad\xbf"); /* U+DB7F */
	text_bad_both("\xed\xae\x80"); /* U+DB80 */
	text_bad_both("\xed\xaf\xbf"); /* U+DBFF */
	text_bad_both("\xed\xb0\x80"); /* U+DC00 */
	text_bad_both("\xed\xbe\x80"); /* U+DF80 */
	text_bad_both("\xed\xbf\xbf"); /* U+DFFF */
	/* A CESU-8 pair for U+1F600. */
	text_bad_both("\xed\xa0\xbd\xed\xb8\x80");
	text_bad_both("a\xed\xa0\x80z");
}

static void test_text_above_max(void **state)
{
	(void)state;
	text_bad_both("\xf4\x90\x80\x80"); /* U+110000 */
	text_bad_both("\xf4\xbf\xbf\xbf"); /* U+13FFFF */
	text_bad_both("\xf5\x80\x80\x80");
	text_bad_both("\xf7\xbf\xbf\xbf"); /* U+1FFFFF */
	text_bad_both("\xf8\x88\x80\x80\x80");
	text_bad_both("\xfb\xbf\xbf\xbf\xbf");
	text_bad_both("\xfd\xbf\xbf\xbf\xbf\xbf");
	text_bad_both("\xfe");
	text_bad_both("\xff");
	text_bad_both("\xfe\xff");
	text_bad_both("abc\xff");
}

static void test_text_truncated(void **state)
{
	(void)state;
	text_bad_both("\xc3");
	text_bad_both("abc\xc3");
	text_bad_both("\xe2\x82");
	text_bad_both("\xe2");
	text_bad_both("\xf0\x9f\x98");
	text_bad_both("\xf0\x9f");
	text_bad_both("\xf0");
	/* Truncated, then more text. */
	text_bad_both("\xc3 x");
	text_bad_both("\xe2\x82x");
	text_bad_both("\xf0\x9f\x98 x");
	text_bad_both("\xf0\x9f\x98\xc3\xa9");
	text_bad_both("\xe2\xc3\xa9");
}

static void test_text_stray_continuation(void **state)
{
	(void)state;
	text_bad_both("\x80");
	text_bad_both("\xbf");
	text_bad_both("a\x80"
		      "b");
	text_bad_both("\xc3\xa9\xa9");	       /* one continuation too many */
	text_bad_both("\xe2\x82\xac\x80");     /* after a 3-byte */
	text_bad_both("\xf0\x9f\x98\x80\x80"); /* after a 4-byte */
	text_bad_both("\x80\x80\x80\x80");
}

static void test_text_controls(void **state)
{
	char s[4];
	int c;

	(void)state;
	for (c = 1; c < 0x20; c++) {
		s[0] = 'a';
		s[1] = (char)c;
		s[2] = 'b';
		s[3] = '\0';
		if (c == '\t' || c == '\n' || c == '\r') {
			text_ok(s, 1);
			text_bad(s, 0);
		} else {
			text_bad(s, 0);
			text_bad(s, 1);
		}
	}
	/* DEL is a control character too. */
	text_bad_both("a\x7f"
		      "b");
	text_ok("line 1\r\nline 2\n\tindented", 1);
	text_bad("line 1\nline 2", 0);
	text_bad("\t", 0);
	text_ok("\t", 1);
	text_ok("\n", 1);
	text_bad_both("\x1b[31m");
}

/* C1 controls U+0080..U+009F are control characters (Unicode Cc). */
static void test_text_c1_controls(void **state)
{
	(void)state;
	text_bad_both("\xc2\x80"); /* U+0080 */
	text_bad_both("\xc2\x85"); /* U+0085 NEL */
	text_bad_both("a\xc2\x9b"
		      "b");	   /* U+009B CSI */
	text_bad_both("\xc2\x9f"); /* U+009F */
}

static void test_text_length(void **state)
{
	char buf[300];

	(void)state;
	assert_true(valid_text("abc", 3, 0));
	assert_false(valid_text("abc", 2, 0));
	assert_false(valid_text("a", 0, 0));
	/* Bytes, not characters. */
	assert_true(valid_text("\xc3\xa9", 2, 0));
	assert_false(valid_text("\xc3\xa9", 1, 0));
	assert_true(valid_text("\xe2\x82\xac", 3, 0));
	assert_false(valid_text("\xe2\x82\xac", 2, 0));
	assert_true(valid_text("\xf0\x9f\x98\x80", 4, 0));
	assert_false(valid_text("\xf0\x9f\x98\x80", 3, 0));
	assert_true(valid_text("\xc3\xa9t\xc3\xa9", 5, 0)); /* 2 + 1 + 2 */
	assert_false(valid_text("\xc3\xa9t\xc3\xa9", 4, 0));
	repeat(buf, 200, 'x', "");
	assert_true(valid_text(buf, 200, 1));
	assert_false(valid_text(buf, 199, 1));
	assert_true(valid_text(buf, 201, 1));
	repeat(buf, 198, 'x', "\xc3\xa9");
	assert_true(valid_text(buf, 200, 0));
	assert_false(valid_text(buf, 199, 0));
	/* Multiline characters count too. */
	assert_true(valid_text("a\nb", 3, 1));
	assert_false(valid_text("a\nb", 2, 1));
}

/* ---- codes ---- */

static void test_code(void **state)
{
	char buf[300];

	(void)state;
	assert_true(valid_code("a", 1));
	assert_true(valid_code("referral", 40));
	assert_true(valid_code("information_preoccupante", 40));
	assert_true(valid_code("pjj75", 40));
	assert_true(valid_code("_", 40));
	assert_true(valid_code("0123456789", 40));
	assert_true(valid_code("abcdefghijklmnopqrstuvwxyz0123456789_", 40));
	assert_false(valid_code("", 40));
	assert_false(valid_code("Referral", 40));
	assert_false(valid_code("REFERRAL", 40));
	assert_false(valid_code("court-decision", 40));
	assert_false(valid_code("court decision", 40));
	assert_false(valid_code(" referral", 40));
	assert_false(valid_code("referral ", 40));
	assert_false(valid_code("a.b", 40));
	assert_false(valid_code("a/b", 40));
	assert_false(valid_code("a\nb", 40));
	assert_false(valid_code("d\xc3\xa9j\xc3\xa0", 40));
	/* The length bound. */
	repeat(buf, 40, 'a', "");
	assert_true(valid_code(buf, 40));
	assert_false(valid_code(buf, 39));
	assert_true(valid_code("ab", 2));
	assert_false(valid_code("abc", 2));
}

static void test_indicator_code(void **state)
{
	static const char *const good[] = {"REC_DECEPTION",
					   "REC_DEBT",
					   "CTRL_ADULT_WATCH",
					   "OFF_REPEAT",
					   "ID_NO_DOCUMENTS",
					   "MOB_RUNAWAY",
					   "SELF_NOT_VICTIM",
					   "A1",
					   "AB",
					   "A_",
					   "X9_Z",
					   "Z0000"};
	static const char *const bad[] = {
		"",	    "A",	   "1A",       "_A",	    "rec_debt",
		"Rec_debt", "REC-DEBT",	   "REC DEBT", "REC_DEBT ", " REC_DEBT",
		"REC.DEBT", "\xc3\x89TAT", "Ab"};
	char buf[300];

	(void)state;
	GOOD(valid_indicator_code, good);
	BAD(valid_indicator_code, bad);
	assert_true(valid_indicator_code(repeat(buf, 40, 'A', "")));
	assert_false(valid_indicator_code(repeat(buf, 41, 'A', "")));
	assert_true(valid_indicator_code(repeat(buf, 39, 'B', "9")));
	assert_false(valid_indicator_code(repeat(buf, 40, 'B', "9")));
}

static void test_institution_code(void **state)
{
	static const char *const good[] = {
		"ase", "pjj75",	  "hlr", "police",   "ab",	  "a-b",
		"a_b", "crip-93", "12",	 "tj_paris", "ase75-crip"};
	static const char *const bad[] = {
		"",    "a",   "ASE",  "Ase",  "a b",
		"a.b", "a/b", "ase ", " ase", "h\xc3\xb4pital",
		"a:b", "a\n"};
	char buf[300];

	(void)state;
	GOOD(valid_institution_code, good);
	BAD(valid_institution_code, bad);
	assert_true(valid_institution_code(repeat(buf, 32, 'a', "")));
	assert_false(valid_institution_code(repeat(buf, 33, 'a', "")));
	assert_true(valid_institution_code(repeat(buf, 31, 'a', "-")));
	assert_false(valid_institution_code(repeat(buf, 32, 'a', "-")));
}

static void test_idempotency_key(void **state)
{
	static const char *const good[] = {
		"k",
		"k1",
		"550e8400-e29b-41d4-a716-446655440000",
		"0123456789abcdef0123456789ABCDEF",
		"a.b:c-d",
		"a_b",
		"2024-05-01T12:00:00.123",
		"...",
		"::--"};
	static const char *const bad[] = {"",	 "a b",	      "a/b",  "a+b",
					  "a=b", "a,b",	      "a\tb", "k\n",
					  " k",	 "cl\xc3\xa9"};
	char buf[300];

	(void)state;
	GOOD(valid_idempotency_key, good);
	BAD(valid_idempotency_key, bad);
	assert_true(valid_idempotency_key(repeat(buf, 128, 'k', "")));
	assert_false(valid_idempotency_key(repeat(buf, 129, 'k', "")));
	assert_true(valid_idempotency_key(repeat(buf, 127, 'k', ":")));
	assert_false(valid_idempotency_key(repeat(buf, 128, 'k', ":")));
}

/* ---- dates ---- */

static void test_date_good(void **state)
{
	static const char *const good[] = {
		"2024-02-29", /* leap (divisible by 4) */
		"2000-02-29", /* leap (divisible by 400) */
		"2096-02-29", "2023-02-28", "1900-01-01", "2100-12-31",
		"1900-02-28", "2100-02-28", "2023-01-31", "2023-03-31",
		"2023-04-30", "2023-05-31", "2023-06-30", "2023-07-31",
		"2023-08-31", "2023-09-30", "2023-10-31", "2023-11-30",
		"2023-12-31", "2009-05-01"};

	(void)state;
	GOOD(valid_date, good);
}

static void test_date_bad(void **state)
{
	static const char *const bad[] = {
		"2023-02-29", /* not leap */
		"1900-02-29", /* divisible by 100, not by 400 */
		"2100-02-29", "2024-02-30", "2023-13-01", "2023-00-10",
		"2023-01-00", "2023-01-32", "2023-04-31", "2023-06-31",
		"2023-09-31", "2023-11-31", "1899-12-31", "2101-01-01",
		"0000-01-01", "9999-12-31",
		/* shapes */
		"", "2023", "2023-01", "2023-1-01", "2023-01-1", "23-01-01",
		"20230101", "2023/01/01", "2023.01.01", "01-01-2023",
		"2023-01-01T00:00:00Z", "2023-01-01 ", " 2023-01-01",
		"+2023-01-01", "02023-01-01", "2023-01-011", "2023-0a-01",
		"abcd-ef-gh", "2023--01-01", "2023-01-01\n", "2023-001-01",
		"2023-01--1"};

	(void)state;
	BAD(valid_date, bad);
}

static void test_partial_date(void **state)
{
	static const char *const good[] = {
		"2024",	      "1900",	    "2100",	  "2009",
		"2024-02",    "2024-12",    "1900-01",	  "2100-12",
		"2024-02-29", "2000-02-29", "2023-02-28", "2100-12-31"};
	static const char *const bad[] = {"",
					  "2023-02-29",
					  "1900-02-29",
					  "2024-13",
					  "2024-00",
					  "1899",
					  "2101",
					  "1899-12",
					  "2101-01",
					  "2101-01-01",
					  "24",
					  "202",
					  "20245",
					  "2024-",
					  "2024-2",
					  "2024-02-",
					  "2024-02-3",
					  "2024-1-01",
					  "2024-02-29T00:00:00Z",
					  "2024-02-300",
					  "abcd",
					  "2024 ",
					  " 2024",
					  "2024/02",
					  "-2024",
					  "2024-02-00",
					  "2024-04-31"};

	(void)state;
	GOOD(valid_partial_date, good);
	BAD(valid_partial_date, bad);
}

static void test_instant_good(void **state)
{
	static const char *const good[] = {"2024-05-01",
					   "2024-02-29",
					   "2024-05-01T12:34:56Z",
					   "2024-05-01T00:00:00Z",
					   "2024-05-01T23:59:59Z",
					   "2024-02-29T10:00:00Z",
					   "2024-05-01T12:34:56.1Z",
					   "2024-05-01T12:34:56.123Z",
					   "2024-05-01T12:34:56.123456789Z",
					   "2024-05-01T12:34:56+02:00",
					   "2024-05-01T12:34:56-05:30",
					   "2024-05-01T12:34:56+00:00",
					   "2024-05-01T12:34:56-00:00",
					   "2024-05-01T12:34:56+23:59",
					   "2024-05-01T12:34:56.5+01:00",
					   "2024-05-01T12:34:56.000-11:00"};

	(void)state;
	GOOD(valid_instant, good);
}

static void test_instant_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"2024-05-01T12:34:56", /* no zone */
		"2024-05-01T12:34Z",   /* no seconds */
		"2024-05-01T12Z",
		"2024-05-01T",
		"2024-05-01TZ",
		"2024-05-01T24:00:00Z", /* hour */
		"2024-05-01T12:60:00Z", /* minute */
		"2024-05-01T12:34:61Z", /* second */
		"2024-05-01T1:34:56Z",
		"2024-05-01T12:3:56Z",
		"2024-05-01T12:34:5Z",
		"2024-05-01T12:34:56.Z",  /* empty fraction */
		"2024-05-01T12:34:56,5Z", /* comma fraction */
		"2024-05-01T12:34:56.12aZ",
		"2024-05-01T12:34:56+0200",
		"2024-05-01T12:34:56+02",
		"2024-05-01T12:34:56+2:00",
		"2024-05-01T12:34:56+24:00",
		"2024-05-01T12:34:56+02:60",
		"2024-05-01T12:34:56ZZ",
		"2024-05-01T12:34:56Z ",
		" 2024-05-01T12:34:56Z",
		"2024-05-01T12:34:56Z+01:00",
		"2024-05-01 12:34:56Z", /* the header asks for T */
		"2024-05-01T12:34:56 Z",
		"2024-05-01T12:34:56X",
		"2023-02-29T00:00:00Z", /* not a real date */
		"2024-13-01T00:00:00Z",
		"2024-05-32T00:00:00Z",
		"2024-05",
		"2024",
		"20240501T123456Z",
		"2024-05-01T12:34:56.123+",
		"2024-05-01T12:34:56-"};

	(void)state;
	BAD(valid_instant, bad);
}

/* ---- country, language ---- */

static void test_country(void **state)
{
	static const char *const good[] = {"FR", "RO", "MA", "DZ", "AF", "ZZ"};
	static const char *const bad[] = {"",	"F",  "FRA", "fr",
					  "Fr", "fR", "F1",  "12",
					  "F ", " F", "F-",  "\xc3\x89T"};

	(void)state;
	GOOD(valid_country, good);
	BAD(valid_country, bad);
}

static void test_language(void **state)
{
	static const char *const good[] = {"fr",  "ro",	 "ar", "en",
					   "rom", "prs", "ber"};
	static const char *const bad[] = {
		"",	 "f",	  "fren", "FR",	 "Fr",	      "fR", "f1",
		"fr-FR", "fr_FR", "fr ",  " fr", "\xc3\xa9n", "ROM"};

	(void)state;
	GOOD(valid_language, good);
	BAD(valid_language, bad);
}

/* ---- array literal ---- */

static void test_array_literal(void **state)
{
	static const char *const two[] = {"a", "b"};
	static const char *const three[] = {"sighting", "referral", "closure"};
	static const char *const one[] = {"REC_DEBT"};
	char out[64];

	(void)state;
	assert_int_equal(valid_array_literal(two, 2, out, sizeof(out)), 0);
	assert_string_equal(out, "{\"a\",\"b\"}");
	assert_int_equal(valid_array_literal(three, 3, out, sizeof(out)), 0);
	assert_string_equal(out, "{\"sighting\",\"referral\",\"closure\"}");
	assert_int_equal(valid_array_literal(one, 1, out, sizeof(out)), 0);
	assert_string_equal(out, "{\"REC_DEBT\"}");
	assert_int_equal(valid_array_literal(two, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "{}");
	/* Only the first n values. */
	assert_int_equal(valid_array_literal(three, 2, out, sizeof(out)), 0);
	assert_string_equal(out, "{\"sighting\",\"referral\"}");
}

/* Exactly fitting (with the NUL) works; one byte less is -1, no overrun. */
static void test_array_literal_bounds(void **state)
{
	static const char *const two[] = {"a", "b"};
	static const char *const three[] = {"sighting", "referral", "closure"};
	char out[64];
	size_t len, i, j;

	(void)state;
	memset(out, '#', sizeof(out));
	assert_int_equal(valid_array_literal(two, 2, out, 10), 0);
	assert_string_equal(out, "{\"a\",\"b\"}");
	memset(out, '#', sizeof(out));
	assert_int_equal(valid_array_literal(two, 2, out, 9), -1);
	for (i = 9; i < sizeof(out); i++)
		assert_int_equal(out[i], '#');
	memset(out, '#', sizeof(out));
	assert_int_equal(valid_array_literal(two, 0, out, 3), 0);
	assert_string_equal(out, "{}");
	memset(out, '#', sizeof(out));
	assert_int_equal(valid_array_literal(two, 0, out, 2), -1);
	for (i = 2; i < sizeof(out); i++)
		assert_int_equal(out[i], '#');
	assert_int_equal(valid_array_literal(two, 0, out, 1), -1);
	memset(out, '#', sizeof(out));
	assert_int_equal(valid_array_literal(two, 0, out, 0), -1);
	assert_int_equal(valid_array_literal(two, 2, out, 0), -1);
	assert_int_equal(out[0], '#');

	len = strlen("{\"sighting\",\"referral\",\"closure\"}") + 1;
	for (i = 0; i < len; i++) {
		memset(out, '#', sizeof(out));
		if (valid_array_literal(three, 3, out, i) != -1)
			fail_msg("fitted in %zu bytes (needs %zu)", i, len);
		for (j = i; j < sizeof(out); j++)
			if (out[j] != '#')
				fail_msg("outlen %zu: byte %zu written", i, j);
	}
	memset(out, '#', sizeof(out));
	assert_int_equal(valid_array_literal(three, 3, out, len), 0);
	assert_string_equal(out, "{\"sighting\",\"referral\",\"closure\"}");
	for (i = len; i < sizeof(out); i++)
		assert_int_equal(out[i], '#');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_null_and_empty),
		cmocka_unit_test(test_text_ascii),
		cmocka_unit_test(test_text_multibyte),
		cmocka_unit_test(test_text_boundaries),
		cmocka_unit_test(test_text_overlong),
		cmocka_unit_test(test_text_surrogates),
		cmocka_unit_test(test_text_above_max),
		cmocka_unit_test(test_text_truncated),
		cmocka_unit_test(test_text_stray_continuation),
		cmocka_unit_test(test_text_controls),
		cmocka_unit_test(test_text_c1_controls),
		cmocka_unit_test(test_text_length),
		cmocka_unit_test(test_code),
		cmocka_unit_test(test_indicator_code),
		cmocka_unit_test(test_institution_code),
		cmocka_unit_test(test_idempotency_key),
		cmocka_unit_test(test_date_good),
		cmocka_unit_test(test_date_bad),
		cmocka_unit_test(test_partial_date),
		cmocka_unit_test(test_instant_good),
		cmocka_unit_test(test_instant_bad),
		cmocka_unit_test(test_country),
		cmocka_unit_test(test_language),
		cmocka_unit_test(test_array_literal),
		cmocka_unit_test(test_array_literal_bounds),
	};

	return cmocka_run_group_tests_name("valid", tests, NULL, NULL);
}
