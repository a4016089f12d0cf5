/*
 * ident keyed encodings: same input and key give the same codes, another
 * key unrelated ones; Dice of balanced Bloom filters is high for spelling
 * variants and low for unrelated names; the filters have a constant
 * Hamming weight; blocking keys depend on the key and find true pairs of
 * generated data (blocking recall).
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

static const uint8_t KEY1[IDENT_KEY_LEN] = "first network key for the tests";
static const uint8_t KEY2[IDENT_KEY_LEN] = "second network key, unrelated!!";
static const ident_names *K;
static ident_enc *E1, *E2;

static int setup(void **state)
{
	char err[256];
	ident_norm *n = ident_norm_new(err, sizeof err);
	(void)state;
	if (n == NULL)
		return -1;
	K = ident_names_builtin(n, err, sizeof err);
	ident_norm_free(n);
	if (K == NULL)
		return -1;
	E1 = ident_enc_new(KEY1, K, err, sizeof err);
	E2 = ident_enc_new(KEY2, K, err, sizeof err);
	return E1 && E2 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	ident_enc_free(E1);
	ident_enc_free(E2);
	return 0;
}

static void enc(ident_enc *e, const char *given, const char *family,
		ident_rec *r)
{
	ident_clear c;
	memset(&c, 0, sizeof c);
	c.given_name = given;
	c.family_name = family;
	ident_date_parse("2010-04-05", &c.birth);
	assert_int_equal(ident_encode(e, &c, r), 0);
}

static int popcount(const uint64_t *w, size_t n)
{
	int p = 0;
	for (size_t i = 0; i < n; i++)
		p += __builtin_popcountll(w[i]);
	return p;
}

static void test_same_key_same_code(void **state)
{
	ident_rec a, b;
	uint64_t ka[IDENT_MAX_BLOCK_KEYS], kb[IDENT_MAX_BLOCK_KEYS];
	int na, nb;
	(void)state;
	enc(E1, "Amina", "Hodžić", &a);
	enc(E1, "Amina", "Hodžić", &b);
	assert_memory_equal(&a, &b, sizeof a);
	na = ident_block_keys(E1, &a, 0, ka, IDENT_MAX_BLOCK_KEYS);
	nb = ident_block_keys(E1, &b, 0, kb, IDENT_MAX_BLOCK_KEYS);
	assert_true(na > 0);
	assert_int_equal(na, nb);
	assert_memory_equal(ka, kb, (size_t)na * sizeof ka[0]);
	assert_int_equal(ident_enc_code(E1, 'E', "x", 1),
			 ident_enc_code(E1, 'E', "x", 1));
}

static void test_other_key_unrelated(void **state)
{
	ident_rec a, b;
	uint64_t ka[IDENT_MAX_BLOCK_KEYS], kb[IDENT_MAX_BLOCK_KEYS];
	int na, nb;
	double d;
	(void)state;
	enc(E1, "Amina", "Hodžić", &a);
	enc(E2, "Amina", "Hodžić", &b);
	assert_true(a.given[0].exact != b.given[0].exact);
	assert_true(a.given[0].phon != b.given[0].phon);
	assert_true(a.family[0].exact != b.family[0].exact);
	/* filters under two keys look like two unrelated names */
	d = ident_dice(a.family[0].bloom, b.family[0].bloom,
		       IDENT_TOK_BLOOM_WORDS);
	assert_true(d < IDENT_DICE_WEAK);
	d = ident_dice(a.clk, b.clk, IDENT_CLK_WORDS);
	assert_true(d < 0.65);
	na = ident_block_keys(E1, &a, 0, ka, IDENT_MAX_BLOCK_KEYS);
	nb = ident_block_keys(E2, &b, 0, kb, IDENT_MAX_BLOCK_KEYS);
	for (int i = 0; i < na; i++)
		for (int j = 0; j < nb; j++)
			assert_true(ka[i] != kb[j]);
	assert_true(ident_enc_code(E1, 'E', "x", 1) !=
		    ident_enc_code(E2, 'E', "x", 1));
}

static void test_dice(void **state)
{
	ident_rec a, b, c, s1, s2;
	(void)state;
	enc(E1, "Mohamed", "Kovačević", &a);
	enc(E1, "Mohammed", "Kovacevic", &b);
	enc(E1, "Zoran", "Popescu", &c);
	/* balanced: every filter has half its bits set */
	assert_int_equal(popcount(a.given[0].bloom, IDENT_TOK_BLOOM_WORDS),
			 IDENT_TOK_BLOOM_WORDS * 32);
	assert_int_equal(popcount(c.given[0].bloom, IDENT_TOK_BLOOM_WORDS),
			 IDENT_TOK_BLOOM_WORDS * 32);
	assert_int_equal(popcount(a.clk, IDENT_CLK_WORDS),
			 IDENT_CLK_WORDS * 32);
	assert_true(ident_dice(a.given[0].bloom, b.given[0].bloom,
			       IDENT_TOK_BLOOM_WORDS) >= IDENT_DICE_TYPO);
	assert_true(ident_dice(a.given[0].bloom, c.given[0].bloom,
			       IDENT_TOK_BLOOM_WORDS) < IDENT_DICE_WEAK);
	/* record level: variants close, unrelated far, swap invariant */
	assert_true(ident_dice(a.clk, b.clk, IDENT_CLK_WORDS) > 0.8);
	assert_true(ident_dice(a.clk, c.clk, IDENT_CLK_WORDS) < 0.65);
	enc(E1, "Amina", "Hodzic", &s1);
	enc(E1, "Hodzic", "Amina", &s2);
	assert_true(ident_dice(s1.clk, s2.clk, IDENT_CLK_WORDS) > 0.99);
}

static int share_key(const ident_rec *a, const ident_rec *b)
{
	uint64_t ka[IDENT_MAX_BLOCK_KEYS], kb[IDENT_MAX_BLOCK_KEYS];
	int na = ident_block_keys(E1, a, 1, ka, IDENT_MAX_BLOCK_KEYS);
	int nb = ident_block_keys(E1, b, 0, kb, IDENT_MAX_BLOCK_KEYS);
	for (int i = 0; i < na; i++)
		for (int j = 0; j < nb; j++)
			if (ka[i] == kb[j])
				return 1;
	return 0;
}

static void test_blocking_swaps_and_years(void **state)
{
	ident_rec a, b;
	ident_clear c;
	(void)state;
	enc(E1, "Amina", "Hodzic", &a);
	enc(E1, "Hodžić", "Amina", &b);
	assert_true(share_key(&a, &b));
	memset(&c, 0, sizeof c);
	c.given_name = "Yusuf";
	c.family_name = "Benali";
	ident_date_parse("2011-02-03", &c.birth);
	ident_encode(E1, &c, &a);
	c.given_name = "Youssef";
	c.family_name = "Ben Aly";
	ident_date_parse("2010-02-03", &c.birth);
	ident_encode(E1, &c, &b);
	assert_true(share_key(&a, &b));
	/* a typo in one name and no date on one side: the other name
	 * with the sex and nationality */
	memset(&c, 0, sizeof c);
	c.given_name = "Greer";
	c.family_name = "Ahmed";
	c.sex = IDENT_SEX_M;
	memcpy(c.nat, "MA", 2);
	ident_date_parse("2010-11-17", &c.birth);
	ident_encode(E1, &c, &a);
	c.family_name = "Amed";
	ident_date_parse("", &c.birth);
	ident_encode(E1, &c, &b);
	assert_true(share_key(&a, &b));
	assert_true(share_key(&b, &a));
	/* a weak record (one name, nothing else) meets a complete one by
	 * that name, whichever side queries */
	memset(&c, 0, sizeof c);
	c.given_name = "Abdallah";
	ident_encode(E1, &c, &b);
	c.family_name = "Elhashem";
	ident_date_parse("2005-08-20", &c.birth);
	ident_encode(E1, &c, &a);
	assert_true(share_key(&a, &b));
	assert_true(share_key(&b, &a));
	/* two complete records with one name in common and nothing else
	 * do not meet */
	memset(&c, 0, sizeof c);
	c.given_name = "Abdallah";
	c.family_name = "Zeroual";
	ident_date_parse("1995-01-20", &c.birth);
	ident_encode(E1, &c, &b);
	assert_false(share_key(&a, &b));
}

static void test_blocking_recall(void **state)
{
	char dir[] = "/tmp/ident-test-XXXXXX", l[64], r[64], t[64], err[512];
	ident_gen_opts o;
	ident_table lt, rt;
	ident_rec *lr, *rr;
	ident_csv *csv;
	FILE *f;
	char **fl;
	size_t nf, total = 0, found = 0;
	ident_norm *n = ident_enc_norm(E1);
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(l, sizeof l, "%s/l.csv", dir);
	snprintf(r, sizeof r, "%s/r.csv", dir);
	snprintf(t, sizeof t, "%s/t.csv", dir);
	ident_gen_opts_default(&o);
	o.n_left = o.n_right = 1500;
	o.seed = 7;
	assert_int_equal(ident_gen(K, n, &o, l, r, t, err, sizeof err), 0);
	assert_int_equal(ident_table_read(l, &lt, err, sizeof err), 0);
	assert_int_equal(ident_table_read(r, &rt, err, sizeof err), 0);
	assert_int_equal(ident_encode_table(E1, &lt, &lr, err, sizeof err), 0);
	assert_int_equal(ident_encode_table(E1, &rt, &rr, err, sizeof err), 0);
	f = fopen(t, "r");
	csv = ident_csv_new(f, t, 0);
	assert_int_equal(ident_csv_next(csv, &fl, &nf), 1); /* header */
	while (ident_csv_next(csv, &fl, &nf) == 1) {
		/* ids L000123 / R000123: find the rows */
		size_t a = SIZE_MAX, b = SIZE_MAX;
		for (size_t i = 0; i < lt.n; i++)
			if (strcmp(lt.rows[i].id, fl[0]) == 0)
				a = i;
		for (size_t i = 0; i < rt.n; i++)
			if (strcmp(rt.rows[i].id, fl[1]) == 0)
				b = i;
		assert_true(a != SIZE_MAX && b != SIZE_MAX);
		total++;
		found += (size_t)share_key(&lr[a], &rr[b]);
	}
	ident_csv_free(csv);
	fclose(f);
	print_message("blocking recall: %zu / %zu\n", found, total);
	assert_true(total > 800);
	/* 99.2% with seed 7 (the misses: every name and the date
	 * changed) */
	assert_true((double)found / (double)total >= 0.985);
	free(lr);
	free(rr);
	ident_table_free(&lt);
	ident_table_free(&rt);
	unlink(l);
	unlink(r);
	unlink(t);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_key_same_code),
		cmocka_unit_test(test_other_key_unrelated),
		cmocka_unit_test(test_dice),
		cmocka_unit_test(test_blocking_swaps_and_years),
		cmocka_unit_test(test_blocking_recall),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
