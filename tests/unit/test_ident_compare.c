/*
 * ident comparison levels (names, birth dates, nationalities, each level),
 * swapped names, several given names, the Fellegi-Sunter weights with term
 * frequencies, the explanation text, EM and self-training of m.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ident.h"

static ident_enc *E;

static int setup(void **state)
{
	static const uint8_t key[IDENT_KEY_LEN] =
		"test key for ident compare...";
	char err[256];
	ident_norm *n = ident_norm_new(err, sizeof err);
	const ident_names *k;
	(void)state;
	if (n == NULL)
		return -1;
	k = ident_names_builtin(n, err, sizeof err);
	ident_norm_free(n);
	E = k ? ident_enc_new(key, k, err, sizeof err) : NULL;
	return E ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	ident_enc_free(E);
	return 0;
}

static void rec(const char *given, const char *family, const char *birth,
		const char *nat, ident_rec *r)
{
	ident_clear c;
	memset(&c, 0, sizeof c);
	c.given_name = given;
	c.family_name = family;
	assert_int_equal(ident_date_parse(birth ? birth : "", &c.birth), 0);
	if (nat)
		memcpy(c.nat, nat, 2);
	assert_int_equal(ident_encode(E, &c, r), 0);
}

static int token_level(const char *a, const char *b)
{
	ident_rec x, y;
	uint64_t code;
	rec(NULL, a, NULL, NULL, &x);
	rec(NULL, b, NULL, NULL, &y);
	return ident_token_level(&x.family[0], &y.family[0], &code);
}

static void test_name_levels(void **state)
{
	(void)state;
	assert_int_equal(token_level("Mohamed", "MOHAMED"), IDENT_NL_EXACT);
	assert_int_equal(token_level("Hodžić", "Hodzic"), IDENT_NL_EXACT);
	assert_int_equal(token_level("Mohamed", "Muhammad"), IDENT_NL_VARIANT);
	assert_int_equal(token_level("Hussein", "Hocine"), IDENT_NL_VARIANT);
	assert_int_equal(token_level("Nikolic", "Nikolitch"), IDENT_NL_PHON);
	assert_int_equal(token_level("Kovacevic", "Kovacecic"), IDENT_NL_TYPO);
	assert_int_equal(token_level("Terzic", "Terzoc"), IDENT_NL_TYPO);
	assert_int_equal(token_level("Marcovitz", "Markowicz"), IDENT_NL_WEAK);
	assert_int_equal(token_level("Popescu", "Hasanovic"), IDENT_NL_DIFF);
	/* one typo in a long name is a close spelling even when the
	 * consonant skeleton agrees too */
	assert_int_equal(token_level("Huseyinaj", "Huseayinaj"), IDENT_NL_TYPO);
}

static ident_date D(const char *s)
{
	ident_date d;
	assert_int_equal(ident_date_parse(s, &d), 0);
	return d;
}

static void test_birth_levels(void **state)
{
	ident_date a, b, age;
	(void)state;
	a = D("2010-03-07");
	b = D("2010-03-07");
	assert_int_equal(ident_birth_level(&a, &b), IDENT_BL_EXACT);
	b = D("20100703");
	assert_int_equal(ident_birth_level(&a, &b), IDENT_BL_SWAP);
	b = D("2010-03-17");
	assert_int_equal(ident_birth_level(&a, &b), IDENT_BL_DAYMON);
	b = D("2011-03-07");
	assert_int_equal(ident_birth_level(&a, &b), IDENT_BL_YEAR);
	b = D("2000-03-07"); /* one digit */
	assert_int_equal(ident_birth_level(&a, &b), IDENT_BL_YEAR);
	b = D("2010-03");
	assert_int_equal(ident_birth_level(&a, &b), IDENT_BL_PARTIAL);
	b = D("2010");
	assert_int_equal(ident_birth_level(&a, &b), IDENT_BL_PARTIAL_YEAR);
	b = D("2010-01-01"); /* the registrations' 1 January */
	assert_int_equal(ident_birth_level(&a, &b), IDENT_BL_PARTIAL_YEAR);
	b = D("2010-04");
	assert_int_equal(ident_birth_level(&a, &b), IDENT_BL_NEAR);
	b = D("2009");
	assert_int_equal(ident_birth_level(&a, &b), IDENT_BL_NEAR);
	b = D("2011-07-03"); /* day and month swapped and a year off */
	assert_int_equal(ident_birth_level(&a, &b), IDENT_BL_YEAR);
	assert_int_equal(ident_date_from_age(13, "2023-06-01", &age), 0);
	assert_int_equal(ident_birth_level(&a, &age), IDENT_BL_AGE);
	assert_int_equal(ident_date_from_age(14, "2023-06-01", &age), 0);
	assert_int_equal(ident_birth_level(&a, &age), IDENT_BL_NEAR);
	b = D("2009-08-20");
	assert_int_equal(ident_birth_level(&a, &b), IDENT_BL_CLOSE);
	b = D("2004-11-20");
	assert_int_equal(ident_birth_level(&a, &b), IDENT_BL_DIFF);
	assert_int_equal(ident_date_from_age(5, "2023-06-01", &age), 0);
	assert_int_equal(ident_birth_level(&a, &age), IDENT_BL_DIFF);
	b = D("");
	assert_int_equal(ident_birth_level(&a, &b), IDENT_MISSING);
	/* malformed dates are refused */
	assert_int_equal(ident_date_parse("2010-02-30", &b), -1);
	assert_int_equal(ident_date_parse("2010-13", &b), -1);
	assert_int_equal(ident_date_parse("10/03/2010", &b), -1);
	assert_int_equal(ident_date_parse("1850", &b), -1);
}

static void test_other_fields(void **state)
{
	ident_rec a, b;
	ident_cmp c;
	(void)state;
	rec("Ana", "Popa", "2010", "RO", &a);
	rec("Ana", "Popa", "2010", "MD", &b);
	a.sex = IDENT_SEX_F;
	b.sex = IDENT_SEX_F;
	ident_compare(NULL, &a, &b, &c);
	assert_int_equal(c.lvl[IDENT_F_SEX], IDENT_SAME);
	assert_int_equal(c.lvl[IDENT_F_NAT], IDENT_NAT_NEAR);
	memcpy(b.nat, "MA", 3);
	ident_compare(NULL, &a, &b, &c);
	assert_int_equal(c.lvl[IDENT_F_NAT], IDENT_DIFF);
	/* nationalities given for one another */
	assert_int_equal(ident_nat_level("MA", "DZ"), IDENT_NAT_NEAR);
	assert_int_equal(ident_nat_level("XK", "AL"), IDENT_NAT_NEAR);
	assert_int_equal(ident_nat_level("BA", "RS"), IDENT_NAT_NEAR);
	assert_int_equal(ident_nat_level("EG", "LY"), IDENT_NAT_NEAR);
	assert_int_equal(ident_nat_level("RO", "AF"), IDENT_DIFF);
	assert_int_equal(ident_nat_level("DZ", "DZ"), IDENT_SAME);
	assert_int_equal(ident_nat_level("A", "AD"), IDENT_DIFF);
	b.sex = IDENT_SEX_UNKNOWN;
	b.nat[0] = 0;
	ident_compare(NULL, &a, &b, &c);
	assert_int_equal(c.lvl[IDENT_F_SEX], IDENT_MISSING);
	assert_int_equal(c.lvl[IDENT_F_NAT], IDENT_MISSING);
}

static void test_swapped_and_several_given(void **state)
{
	ident_rec a, b, d;
	ident_cmp c;
	ident_model m;
	double s_swap, s_diff;
	(void)state;
	ident_model_default(&m);
	rec("Amina", "Hasanovic", "2011-05-02", "BA", &a);
	rec("Hasanović", "Amina", "2011-05-02", "BA", &b);
	ident_compare(NULL, &a, &b, &c);
	s_swap = ident_score(&m, NULL, &c, NULL);
	assert_int_equal(c.swapped, 1);
	assert_true(s_swap > 20);
	rec("Lejla", "Hasanovic", "2011-05-02", "BA", &d);
	ident_compare(NULL, &a, &d, &c);
	s_diff = ident_score(&m, NULL, &c, NULL);
	assert_true(s_diff < s_swap - 10);
	/* several given names: one of them is enough */
	rec("Mohamed Amine", "Benali", "2009", "DZ", &a);
	rec("Amine", "Ben Ali", "2009", "DZ", &b);
	ident_compare(NULL, &a, &b, &c);
	assert_int_equal(c.lvl[IDENT_F_GIVEN], IDENT_NL_EXACT);
	assert_int_equal(c.lvl[IDENT_F_FAMILY], IDENT_NL_EXACT);
	/* several on both sides, one agreeing, the others not: another
	 * person (a brother with the same second name) */
	rec("Ali Asaf", "Gashi", "2009", "AL", &a);
	rec("Omer Asaf", "Gashi", "2009", "AL", &b);
	ident_compare(NULL, &a, &b, &c);
	assert_int_equal(c.lvl[IDENT_F_GIVEN], IDENT_NL_PART);
	rec("Ali Asaf", "Gashi", "2009", "AL", &a);
	rec("Asaf Aly", "Gashi", "2009", "AL", &b);
	ident_compare(NULL, &a, &b, &c);
	assert_true(c.lvl[IDENT_F_GIVEN] <= IDENT_NL_PHON);
}

static void test_term_frequency(void **state)
{
	ident_rec a, b, x, y, other;
	ident_cmp c1, c2;
	ident_model m;
	ident_tf *tf = ident_tf_new();
	double w1[IDENT_NFIELDS], w2[IDENT_NFIELDS];
	(void)state;
	ident_model_default(&m);
	rec("Mohamed", "Zeroual", "2010-04-04", NULL, &a);
	rec("Mohamed", "Zeroual", "2010-04-04", NULL, &b);
	rec("Abdelwahab", "Zeroual", "2010-04-04", NULL, &x);
	rec("Abdelwahab", "Zeroual", "2010-04-04", NULL, &y);
	/* Mohamed is one name in five; Abdelwahab once */
	for (int i = 0; i < 2000; i++) {
		char g[32];
		snprintf(g, sizeof g, "Name%c%c", 'a' + i % 26,
			 'a' + (i / 26) % 26);
		rec(i % 5 == 0 ? "Mohamed" : g, "Other", NULL, NULL, &other);
		ident_tf_add(tf, &other);
	}
	ident_tf_add(tf, &x);
	ident_compare(tf, &a, &b, &c1);
	ident_compare(tf, &x, &y, &c2);
	ident_score(&m, tf, &c1, w1);
	ident_score(&m, tf, &c2, w2);
	assert_true(w1[IDENT_F_GIVEN] + 3 < w2[IDENT_F_GIVEN]);
	ident_tf_free(tf);

	/* a value held only by the two records compared is rare: it
	 * weighs at least the average agreement, not "2 in N" */
	tf = ident_tf_new();
	for (int i = 0; i < 3000; i++) {
		char g[32];
		snprintf(g, sizeof g, "Name%c%c%c", 'a' + i % 26,
			 'a' + (i / 26) % 26, 'a' + (i / 676) % 26);
		rec(g, "Other", NULL, NULL, &other);
		ident_tf_add(tf, &other);
	}
	ident_tf_add(tf, &x);
	ident_tf_add(tf, &y);
	ident_compare(tf, &x, &y, &c2);
	ident_score(&m, tf, &c2, w2);
	assert_true(w2[IDENT_F_GIVEN] >=
		    log2(m.m[IDENT_F_GIVEN][IDENT_NL_EXACT] /
			 m.u[IDENT_F_GIVEN][IDENT_NL_EXACT]) -
			    0.01);
	/* a query not counted in the table: only the stored one is */
	ident_tf_set_self(tf, 1);
	ident_score(&m, tf, &c2, w1);
	assert_true(w1[IDENT_F_GIVEN] < w2[IDENT_F_GIVEN]);
	ident_tf_free(tf);
}

/* The daemon's table: names only, counted by their keys. */
static double given_weight(const ident_tf *tf, const ident_rec *q,
			   const ident_rec *stored, double *birth)
{
	ident_model m;
	ident_cmp c;
	double w[IDENT_NFIELDS];

	ident_model_default(&m);
	ident_compare(tf, q, stored, &c);
	ident_score(&m, tf, &c, w);
	if (birth != NULL)
		*birth = w[IDENT_F_BIRTH];
	return w[IDENT_F_GIVEN];
}

static void test_names_table(void **state)
{
	ident_rec q, stored, joined;
	uint64_t keys[IDENT_NAME_KEYS], bkeys[IDENT_MAX_BLOCK_KEYS];
	uint64_t counts[IDENT_NAME_KEYS] = {0};
	double plain, common, rare, b0, b1;
	ident_tf *tf;
	int nb, found;
	(void)state;

	rec("Mohamed", "Zeroual", "2010-04-04", "MA", &q);
	rec("Mohamed", "Zeroual", "2010-04-04", "MA", &stored);
	/* the counting key of a name is its stored 'S' blocking key */
	ident_name_count_keys(E, &q, keys);
	nb = ident_block_keys(E, &stored, 0, bkeys, IDENT_MAX_BLOCK_KEYS);
	for (int i = 0; i < 2; i++) {
		found = 0;
		for (int j = 0; j < nb; j++)
			found |= bkeys[j] == keys[i];
		assert_true(found);
	}
	assert_true(keys[0] != 0 && keys[1] != 0 && keys[0] != keys[1]);
	for (int i = 2; i < IDENT_NAME_KEYS; i++)
		assert_true(keys[i] == 0);
	/* a query does not hold the 'S' keys of complete records: the
	 * counts are read by key, not through blocking */
	nb = ident_block_keys(E, &q, 1, bkeys, IDENT_MAX_BLOCK_KEYS);
	for (int j = 0; j < nb; j++)
		assert_true(bkeys[j] != keys[0]);
	/* the same name under another record: the same key */
	rec("Mohamed", "Other", NULL, NULL, &joined);
	ident_name_count_keys(E, &joined, bkeys);
	assert_true(bkeys[0] == keys[0]);

	plain = given_weight(NULL, &q, &stored, &b0);
	/* one stored identity in five is a Mohamed: weighs less */
	counts[0] = 20000;
	counts[1] = 3;
	tf = ident_tf_new_names(100000);
	ident_tf_put_names(tf, &q, counts);
	common = given_weight(tf, &q, &stored, &b1);
	assert_true(common < plain - 1.9); /* at most TF_DOWN: 2 bits */
	/* what the table does not hold (the date) is weighed by u alone,
	 * not as a rare value */
	assert_true(fabs(b1 - b0) < 1e-9);
	ident_tf_free(tf);
	/* a rare name weighs more than the average agreement */
	counts[0] = 2;
	tf = ident_tf_new_names(100000);
	ident_tf_put_names(tf, &q, counts);
	rare = given_weight(tf, &q, &stored, NULL);
	assert_true(rare > plain + 1);
	ident_tf_free(tf);
	/* a name not counted yet (no row): as without the table */
	counts[0] = 0;
	tf = ident_tf_new_names(100000);
	ident_tf_put_names(tf, &q, counts);
	assert_true(fabs(given_weight(tf, &q, &stored, NULL) - plain) < 1e-9);
	ident_tf_free(tf);
	/* no identity counted: no adjustment at all */
	counts[0] = 5;
	tf = ident_tf_new_names(0);
	ident_tf_put_names(tf, &q, counts);
	assert_true(fabs(given_weight(tf, &q, &stored, NULL) - plain) < 1e-9);
	ident_tf_free(tf);
}

static void test_explain(void **state)
{
	ident_rec a, b;
	ident_cmp c;
	ident_model m;
	ident_name na[2], nb[2];
	char ex[512];
	ident_norm *n = ident_enc_norm(E);
	(void)state;
	ident_model_default(&m);
	rec("Karim", "Muhammad", "2010-03-07", "MA", &a);
	rec("Karim", "Mohamed", "2010-07-03", "MA", &b);
	ident_name_parse(n, "Karim", 5, &na[0]);
	ident_name_parse(n, "Muhammad", 8, &na[1]);
	ident_name_parse(n, "Karim", 5, &nb[0]);
	ident_name_parse(n, "Mohamed", 7, &nb[1]);
	ident_compare(NULL, &a, &b, &c);
	ident_explain(&m, NULL, &c, na, nb, ex, sizeof ex);
	assert_non_null(strstr(ex, "given name: same name +"));
	assert_non_null(strstr(ex, "family name: same name in another "
				   "spelling (muhammad / mohamed) +"));
	assert_non_null(strstr(ex, "birth date: day and month swapped +"));
	assert_non_null(strstr(ex, "nationality: same +"));
}

static void test_em(void **state)
{
	/* EM on a mixture recovers that agreement goes with matches */
	ident_model m;
	ident_cmp *v = calloc(4000, sizeof *v);
	(void)state;
	ident_model_default(&m);
	for (int i = 0; i < 4000; i++) {
		int match = i < 400;
		v[i].lvl[IDENT_F_GIVEN] =
			(int8_t)(match ? (i % 10 ? IDENT_NL_EXACT
						 : IDENT_NL_TYPO)
				       : (i % 50 ? IDENT_NL_DIFF
						 : IDENT_NL_EXACT));
		v[i].lvl[IDENT_F_FAMILY] =
			(int8_t)(match ? IDENT_NL_EXACT
				       : (i % 7 ? IDENT_NL_DIFF
						: IDENT_NL_EXACT));
		v[i].lvl[IDENT_F_BIRTH] =
			(int8_t)(match ? IDENT_BL_EXACT : IDENT_BL_DIFF);
		v[i].lvl[IDENT_F_SEX] = IDENT_MISSING;
		v[i].lvl[IDENT_F_NAT] = IDENT_MISSING;
		v[i].xlvl[0] = v[i].xlvl[1] = IDENT_NL_DIFF;
	}
	/* u from "random pairs" (the non-matches stand in for them) */
	ident_model_estimate_u(&m, v + 400, 3600);
	ident_model_em(&m, v, 4000, 100);
	assert_true(m.lambda > 0.08 && m.lambda < 0.12);
	assert_true(m.m[IDENT_F_BIRTH][IDENT_BL_EXACT] > 0.9);
	free(v);
}

static void test_fit(void **state)
{
	/* self-training: in this data one date in three has day and
	 * month swapped, far more than the built-in m says; the names
	 * and the nationality alone make those pairs sure */
	ident_model m;
	ident_cmp *v = calloc(3000, sizeof *v);
	double before;
	(void)state;
	ident_model_default(&m);
	before = m.m[IDENT_F_BIRTH][IDENT_BL_SWAP];
	for (int i = 0; i < 3000; i++) {
		int match = i < 600;
		v[i].lvl[IDENT_F_GIVEN] =
			(int8_t)(match ? IDENT_NL_EXACT : IDENT_NL_DIFF);
		v[i].lvl[IDENT_F_FAMILY] =
			(int8_t)(match || i % 9 == 0 ? IDENT_NL_EXACT
						     : IDENT_NL_DIFF);
		v[i].lvl[IDENT_F_BIRTH] =
			(int8_t)(match ? (i % 3 ? IDENT_BL_EXACT
						: IDENT_BL_SWAP)
				       : IDENT_BL_DIFF);
		v[i].lvl[IDENT_F_SEX] = IDENT_MISSING;
		v[i].lvl[IDENT_F_NAT] = (int8_t)IDENT_SAME;
		v[i].xlvl[0] = v[i].xlvl[1] = IDENT_NL_DIFF;
	}
	ident_model_fit(&m, NULL, v, NULL, 3000, 12.0, 10);
	assert_true(before < 0.1);
	assert_true(m.m[IDENT_F_BIRTH][IDENT_BL_SWAP] > 0.2);
	assert_true(m.m[IDENT_F_BIRTH][IDENT_BL_EXACT] > 0.5);
	/* no level ruled out */
	for (int l = 0; l < IDENT_BIRTH_LEVELS; l++)
		assert_true(m.m[IDENT_F_BIRTH][l] >= 0.0009);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_levels),
		cmocka_unit_test(test_birth_levels),
		cmocka_unit_test(test_other_fields),
		cmocka_unit_test(test_swapped_and_several_given),
		cmocka_unit_test(test_term_frequency),
		cmocka_unit_test(test_names_table),
		cmocka_unit_test(test_explain),
		cmocka_unit_test(test_em),
		cmocka_unit_test(test_fit),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
