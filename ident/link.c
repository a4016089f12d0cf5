/*
 * link: batch linkage of encoded records (two files, or one deduplicated).
 *
 * 1. term frequencies of the name and date codes over both inputs;
 * 2. a blocking index of the stored side (keyed blocking keys, see
 *    ident_block_keys), queried with each record of the other side, so a
 *    record is compared only with those sharing at least one key (one
 *    wrong field does not hide a true match: the keys use different
 *    fields); keys shared by more than BLOCK_CAP records are skipped;
 * 3. u from random pairs, m by EM on the candidate pairs;
 * 4. Fellegi-Sunter scores, the threshold, and (two files) a one-to-one
 *    assignment, best score first: a record is linked at most once, so a
 *    leftover never takes a weaker partner whose own match is taken.
 */
#include "ident.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOCK_CAP 2000
#define U_SAMPLE 100000
#define EM_MIN_PAIRS 500

void ident_link_opts_default(ident_link_opts *o)
{
	memset(o, 0, sizeof *o);
	o->threshold = IDENT_DEFAULT_THRESHOLD;
	o->em = 0;
	o->one_to_one = 1;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct posting {
	uint64_t key;
	uint32_t idx;
};

static int cmp_posting(const void *a, const void *b)
{
	const struct posting *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

struct index {
	struct posting *p;
	size_t n;
};

static int index_build(ident_enc *e, const ident_rec *r, size_t n,
		       struct index *ix)
{
	size_t cap = n * 24 + 16;
	uint64_t keys[IDENT_MAX_BLOCK_KEYS];
	ix->p = malloc(cap * sizeof *ix->p);
	ix->n = 0;
	if (ix->p == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int nk = ident_block_keys(e, &r[i], 0, keys,
					  IDENT_MAX_BLOCK_KEYS);
		if (ix->n + (size_t)nk > cap) {
			size_t nc = cap * 2 + (size_t)nk;
			struct posting *np = realloc(ix->p, nc * sizeof *np);
			if (np == NULL)
				return -1;
			ix->p = np;
			cap = nc;
		}
		for (int k = 0; k < nk; k++) {
			ix->p[ix->n].key = keys[k];
			ix->p[ix->n++].idx = (uint32_t)i;
		}
	}
	qsort(ix->p, ix->n, sizeof *ix->p, cmp_posting);
	return 0;
}

/* [lo, hi) of the postings of key */
static void index_find(const struct index *ix, uint64_t key, size_t *lo,
		       size_t *hi)
{
	size_t a = 0, b = ix->n;
	while (a < b) {
		size_t mid = a + (b - a) / 2;
		if (ix->p[mid].key < key)
			a = mid + 1;
		else
			b = mid;
	}
	*lo = a;
	b = a;
	while (b < ix->n && ix->p[b].key == key)
		b++;
	*hi = b;
}

static int cmp_pair(const void *a, const void *b)
{
	const ident_pair *x = a, *y = b;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	if (x->a != y->a)
		return x->a < y->a ? -1 : 1;
	return x->b < y->b ? -1 : x->b > y->b;
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

int ident_link(ident_enc *e, const ident_rec *left, size_t nl,
	       const ident_rec *right, size_t nr, const ident_link_opts *o,
	       ident_link_result *res)
{
	int dedupe = right == NULL;
	const ident_rec *stored = dedupe ? left : right;
	size_t ns = dedupe ? nl : nr;
	struct index ix = {0};
	uint32_t *stamp = NULL;
	ident_pair *cand = NULL;
	size_t ncand = 0, capcand = 0;
	ident_cmp *sample = NULL;
	size_t nsample = 0;
	uint64_t seed = 0x6d61696c6c616765ULL;
	double t0 = now();
	int rc = -1;

	memset(res, 0, sizeof *res);
	ident_model_default(&res->model);
	res->tf = ident_tf_new();
	if (res->tf == NULL)
		return -1;
	for (size_t i = 0; i < nl; i++)
		ident_tf_add(res->tf, &left[i]);
	for (size_t i = 0; !dedupe && i < nr; i++)
		ident_tf_add(res->tf, &right[i]);

	if (index_build(e, stored, ns, &ix) < 0)
		goto out;
	stamp = calloc(ns + 1, sizeof *stamp);
	if (stamp == NULL)
		goto out;
	for (size_t i = 0; i < nl; i++) {
		uint64_t keys[IDENT_MAX_BLOCK_KEYS];
		int nk = ident_block_keys(e, &left[i], 1, keys,
					  IDENT_MAX_BLOCK_KEYS);
		for (int k = 0; k < nk; k++) {
			size_t lo, hi;
			index_find(&ix, keys[k], &lo, &hi);
			if (hi - lo > BLOCK_CAP)
				continue;
			for (size_t p = lo; p < hi; p++) {
				uint32_t j = ix.p[p].idx;
				if (stamp[j] == i + 1)
					continue;
				stamp[j] = (uint32_t)(i + 1);
				if (dedupe && j <= i)
					continue;
				if (ncand == capcand) {
					size_t nc =
						capcand ? capcand * 2 : 1 << 16;
					ident_pair *np =
						realloc(cand, nc * sizeof *np);
					if (np == NULL)
						goto out;
					cand = np;
					capcand = nc;
				}
				cand[ncand].a = (uint32_t)i;
				cand[ncand].b = j;
				ident_compare(res->tf, &left[i], &stored[j],
					      &cand[ncand].cmp);
				ncand++;
			}
		}
	}
	res->candidates = ncand;

	/* u from random pairs */
	if (nl > 1 && ns > 1) {
		sample = malloc(U_SAMPLE * sizeof *sample);
		if (sample == NULL)
			goto out;
		/* every pair when there are few (a pair counts once), else a
		 * random sample */
		int all = (double)nl * (double)ns <= U_SAMPLE;
		for (size_t s = 0; s < U_SAMPLE; s++) {
			size_t i = all ? s / ns : rng_next(&seed) % nl;
			size_t j = all ? s % ns : rng_next(&seed) % ns;
			if (i >= nl)
				break;
			if (dedupe && i == j)
				continue;
			ident_compare(NULL, &left[i], &stored[j],
				      &sample[nsample++]);
		}
		ident_model_estimate_u(&res->model, sample, nsample);
	}
	if (o->em && ncand >= EM_MIN_PAIRS) {
		ident_cmp *v = malloc(ncand * sizeof *v);
		if (v == NULL)
			goto out;
		for (size_t c = 0; c < ncand; c++)
			v[c] = cand[c].cmp;
		ident_model_em(&res->model, v, ncand, 100);
		free(v);
	}

	/* score, cut, sort */
	{
		size_t k = 0;
		for (size_t c = 0; c < ncand; c++) {
			double s = ident_score(&res->model, res->tf,
					       &cand[c].cmp, NULL);
			if (s < o->threshold)
				continue;
			cand[c].score = (float)s;
			cand[k++] = cand[c];
		}
		ncand = k;
		qsort(cand, ncand, sizeof *cand, cmp_pair);
	}
	if (o->one_to_one && !dedupe) {
		uint8_t *ua = calloc(nl + 1, 1), *ub = calloc(ns + 1, 1);
		size_t k = 0;
		if (ua == NULL || ub == NULL) {
			free(ua);
			free(ub);
			goto out;
		}
		for (size_t c = 0; c < ncand; c++) {
			if (ua[cand[c].a] || ub[cand[c].b])
				continue;
			ua[cand[c].a] = ub[cand[c].b] = 1;
			cand[k++] = cand[c];
		}
		ncand = k;
		free(ua);
		free(ub);
	}
	res->pairs = cand;
	res->n = ncand;
	cand = NULL;
	rc = 0;
out:
	res->seconds_match = now() - t0;
	free(ix.p);
	free(stamp);
	free(cand);
	free(sample);
	if (rc < 0) {
		ident_tf_free(res->tf);
		res->tf = NULL;
	}
	return rc;
}

void ident_link_result_free(ident_link_result *r)
{
	free(r->pairs);
	ident_tf_free(r->tf);
	memset(r, 0, sizeof *r);
}

int ident_encode_table(ident_enc *e, const ident_table *t, ident_rec **out,
		       char *err, size_t errlen)
{
	ident_rec *r = calloc(t->n ? t->n : 1, sizeof *r);
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < t->n; i++) {
		const ident_row *row = &t->rows[i];
		ident_clear c;
		memset(&c, 0, sizeof c);
		c.given_name = row->given_name;
		c.family_name = row->family_name;
		c.birth = row->birth;
		c.sex = row->sex;
		if (row->nationality)
			memcpy(c.nat, row->nationality, 2);
		if (ident_encode(e, &c, &r[i]) < 0) {
			snprintf(err, errlen,
				 "%s: row %zu (id %s): invalid name", t->name,
				 i + 1, row->id);
			free(r);
			return -1;
		}
	}
	*out = r;
	return 0;
}
