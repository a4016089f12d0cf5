/*
 * Unit tests of match_auto_link(): the network's policy on linking a new
 * person without a coordinator ([identity] auto_link_threshold), every
 * case of its rule.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "config.h"
#include "match.h"

static struct config cfg;

static void set(uint32_t auto_link, uint32_t confident)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.candidate_threshold = 160;
	cfg.confident_threshold = confident;
	cfg.auto_link_threshold = auto_link;
}

static void scores(struct match_candidate *c, const double *s, int n)
{
	int i;

	memset(c, 0, sizeof(*c) * (size_t)n);
	for (i = 0; i < n; i++) {
		c[i].person_id = 100 + i;
		c[i].score = s[i];
	}
}

static void test_never_by_default(void **state)
{
	struct match_candidate c[1];
	const double s[] = {99.0};

	(void)state;
	set(0, 250);
	scores(c, s, 1);
	assert_int_equal(match_auto_link(&cfg, c, 1, 1), -1);
}

static void test_one_confident_candidate(void **state)
{
	struct match_candidate c[3];
	const double s[] = {31.0, 18.0, 16.5};

	(void)state;
	set(300, 250);
	scores(c, s, 3);
	assert_int_equal(match_auto_link(&cfg, c, 3, 1), 0);
	/* exactly at the threshold */
	c[0].score = 30.0;
	assert_int_equal(match_auto_link(&cfg, c, 3, 1), 0);
	/* just under it */
	c[0].score = 29.99;
	assert_int_equal(match_auto_link(&cfg, c, 3, 1), -1);
}

static void test_only_a_new_person(void **state)
{
	struct match_candidate c[1];
	const double s[] = {40.0};

	(void)state;
	set(300, 250);
	scores(c, s, 1);
	/* a notice about a known person links nothing */
	assert_int_equal(match_auto_link(&cfg, c, 1, 0), -1);
}

static void test_two_above_is_for_a_coordinator(void **state)
{
	struct match_candidate c[2];
	const double s[] = {40.0, 30.5};

	(void)state;
	set(300, 250);
	scores(c, s, 2);
	assert_int_equal(match_auto_link(&cfg, c, 2, 1), -1);
	/* the second under the policy's threshold: the first is linked */
	c[1].score = 29.0;
	assert_int_equal(match_auto_link(&cfg, c, 2, 1), 0);
}

static void test_never_below_confident(void **state)
{
	struct match_candidate c[2];
	const double s[] = {22.0, 21.0};

	(void)state;
	/* a policy threshold under the confident one counts as that one */
	set(200, 250);
	scores(c, s, 2);
	assert_int_equal(match_auto_link(&cfg, c, 2, 1), -1);
	c[0].score = 26.0;
	assert_int_equal(match_auto_link(&cfg, c, 2, 1), 0);
	/* and the one linked is the one above, wherever it is ranked */
	c[0].score = 21.0;
	c[1].score = 26.0;
	assert_int_equal(match_auto_link(&cfg, c, 2, 1), 1);
}

static void test_no_candidates(void **state)
{
	(void)state;
	set(300, 250);
	assert_int_equal(match_auto_link(&cfg, NULL, 0, 1), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_never_by_default),
		cmocka_unit_test(test_one_confident_candidate),
		cmocka_unit_test(test_only_a_new_person),
		cmocka_unit_test(test_two_above_is_for_a_coordinator),
		cmocka_unit_test(test_never_below_confident),
		cmocka_unit_test(test_no_candidates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
