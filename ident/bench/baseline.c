/*
 * baseline: the plain "afternoon-quality" linker of issue 5, kept as the
 * benchmark's yardstick: Jaro-Winkler on the given and family names (after
 * the same Unicode folding as ours, so only name knowledge differs),
 * Soundex blocking (family name, given name: two passes), birth date
 * tolerances, a weighted sum, and greedy one-to-one assignment. No
 * variant groups, phonetic classes, term frequencies or m/u estimation.
 */
#include "linkq.h"

#include <stdlib.h>
#include <string.h>

static void soundex(const char *s, char out[5])
{
	static const char code[] = "01230120022455012623010202";
	int o = 0;
	char last = 0;
	for (; *s && (*s < 'a' || *s > 'z'); s++)
		;
	if (!*s) {
		strcpy(out, "0000");
		return;
	}
	out[o++] = (char)(*s - 'a' + 'A');
	last = code[*s - 'a'];
	for (s++; *s && o < 4; s++) {
		char c;
		if (*s < 'a' || *s > 'z')
			continue;
		c = code[*s - 'a'];
		if (c != '0' && c != last)
			out[o++] = c;
		if (*s != 'h' && *s != 'w')
			last = c;
	}
	while (o < 4)
		out[o++] = '0';
	out[4] = 0;
}

double bl_jaro_winkler(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), match = 0, t = 0, k = 0;
	char ma[64] = {0}, mb[64] = {0};
	size_t win;
	double j;
	if (la == 0 || lb == 0)
		return 0.0;
	if (la > 63)
		la = 63;
	if (lb > 63)
		lb = 63;
	win = (la > lb ? la : lb) / 2;
	win = win > 0 ? win - 1 : 0;
	for (size_t i = 0; i < la; i++) {
		size_t lo = i > win ? i - win : 0;
		size_t hi = i + win + 1 < lb ? i + win + 1 : lb;
		for (size_t x = lo; x < hi; x++) {
			if (!mb[x] && a[i] == b[x]) {
				ma[i] = mb[x] = 1;
				match++;
				break;
			}
		}
	}
	if (match == 0)
		return 0.0;
	for (size_t i = 0; i < la; i++) {
		if (!ma[i])
			continue;
		while (!mb[k])
			k++;
		if (a[i] != b[k])
			t++;
		k++;
	}
	j = ((double)match / (double)la + (double)match / (double)lb +
	     ((double)match - (double)t / 2.0) / (double)match) /
	    3.0;
	{
		size_t p = 0;
		while (p < 4 && p < la && p < lb && a[p] == b[p])
			p++;
		j += (double)p * 0.1 * (1.0 - j);
	}
	return j;
}

struct brec {
	char given[128], family[128];
	char sg[5], sf[5];
	ident_date birth;
	uint8_t sex;
};

static void prep(ident_norm *n, const ident_row *r, struct brec *b)
{
	memset(b, 0, sizeof *b);
	if (r->given_name)
		ident_norm_text(n, r->given_name, strlen(r->given_name),
				b->given, sizeof b->given, NULL);
	if (r->family_name)
		ident_norm_text(n, r->family_name, strlen(r->family_name),
				b->family, sizeof b->family, NULL);
	soundex(b->given, b->sg);
	soundex(b->family, b->sf);
	b->birth = r->birth;
	b->sex = r->sex;
}

static double date_sim(const ident_date *a, const ident_date *b)
{
	int l = ident_birth_level(a, b);
	switch (l) {
	case IDENT_BL_EXACT:
		return 1.0;
	case IDENT_BL_SWAP:
	case IDENT_BL_DAYMON:
	case IDENT_BL_YEAR:
		return 0.6;
	case IDENT_BL_PARTIAL:
	case IDENT_BL_PARTIAL_YEAR:
	case IDENT_BL_AGE:
		return 0.5;
	case IDENT_MISSING:
		return 0.3;
	default:
		return 0.0;
	}
}

static double bscore(const struct brec *a, const struct brec *b)
{
	double g = bl_jaro_winkler(a->given, b->given);
	double f = bl_jaro_winkler(a->family, b->family);
	double s = 0.35 * g + 0.35 * f + 0.25 * date_sim(&a->birth, &b->birth);
	if (a->sex && b->sex)
		s += a->sex == b->sex ? 0.05 : -0.05;
	else
		s += 0.025;
	return s;
}

static int cmp_bp(const void *x, const void *y)
{
	const struct lq_pair *a = x, *b = y;
	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	if (a->a != b->a)
		return a->a < b->a ? -1 : 1;
	return a->b < b->b ? -1 : a->b > b->b;
}

/* Candidate pairs with score >= min_score, sorted best first. */
int baseline_candidates(ident_norm *n, const ident_table *l,
			const ident_table *r, double min_score,
			struct lq_pair **out, size_t *nout)
{
	int dedupe = r == NULL;
	const ident_table *s = dedupe ? l : r;
	struct brec *bl = calloc(l->n + 1, sizeof *bl);
	struct brec *bs = dedupe ? bl : calloc(s->n + 1, sizeof *bs);
	uint32_t *stamp = calloc(s->n + 1, sizeof *stamp);
	struct lq_pair *p = NULL;
	size_t np = 0, cap = 0;
	/* Soundex index: 26*7*7*7 codes, two passes */
	size_t ncode = 26 * 10 * 10 * 10;
	size_t *head[2], *next[2];
	int rc = -1;

	head[0] = head[1] = next[0] = next[1] = NULL;
	if (!bl || !bs || !stamp)
		goto out;
	for (size_t i = 0; i < l->n; i++)
		prep(n, &l->rows[i], &bl[i]);
	if (!dedupe)
		for (size_t i = 0; i < s->n; i++)
			prep(n, &s->rows[i], &bs[i]);
	for (int pass = 0; pass < 2; pass++) {
		head[pass] = malloc(ncode * sizeof(size_t));
		next[pass] = malloc((s->n + 1) * sizeof(size_t));
		if (!head[pass] || !next[pass])
			goto out;
		for (size_t c = 0; c < ncode; c++)
			head[pass][c] = SIZE_MAX;
		for (size_t j = 0; j < s->n; j++) {
			const char *sx = pass ? bs[j].sg : bs[j].sf;
			size_t c = (size_t)(sx[0] - 'A') * 1000 +
				   (size_t)(sx[1] - '0') * 100 +
				   (size_t)(sx[2] - '0') * 10 +
				   (size_t)(sx[3] - '0');
			if (sx[0] < 'A' || sx[0] > 'Z')
				continue;
			next[pass][j] = head[pass][c];
			head[pass][c] = j;
		}
	}
	for (size_t i = 0; i < l->n; i++) {
		for (int pass = 0; pass < 2; pass++) {
			const char *sx = pass ? bl[i].sg : bl[i].sf;
			size_t c;
			if (sx[0] < 'A' || sx[0] > 'Z')
				continue;
			c = (size_t)(sx[0] - 'A') * 1000 +
			    (size_t)(sx[1] - '0') * 100 +
			    (size_t)(sx[2] - '0') * 10 + (size_t)(sx[3] - '0');
			for (size_t j = head[pass][c]; j != SIZE_MAX;
			     j = next[pass][j]) {
				double sc;
				if (stamp[j] == i + 1 || (dedupe && j <= i))
					continue;
				stamp[j] = (uint32_t)(i + 1);
				sc = bscore(&bl[i], &bs[j]);
				if (sc < min_score)
					continue;
				if (np == cap) {
					size_t nc = cap ? cap * 2 : 4096;
					struct lq_pair *q =
						realloc(p, nc * sizeof *q);
					if (q == NULL)
						goto out;
					p = q;
					cap = nc;
				}
				p[np].a = (uint32_t)i;
				p[np].b = (uint32_t)j;
				p[np++].score = sc;
			}
		}
	}
	qsort(p, np, sizeof *p, cmp_bp);
	*out = p;
	*nout = np;
	p = NULL;
	rc = 0;
out:
	for (int pass = 0; pass < 2; pass++) {
		free(head[pass]);
		free(next[pass]);
	}
	free(p);
	free(stamp);
	if (!dedupe)
		free(bs);
	free(bl);
	return rc;
}
