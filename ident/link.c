/*
 * link: batch linkage of encoded records (two files, or one deduplicated).
 *
 * 1. term frequencies of the name, date and nationality codes over both
 *    inputs;
 * 2. a blocking index of the stored side (keyed blocking keys, see
 *    ident_block_keys), queried with each record of the other side, so a
 *    record is compared only with those sharing at least one key (one
 *    wrong field does not hide a true match: the keys use different
 *    fields); keys shared by more than BLOCK_CAP records are skipped;
 * 3. u from random pairs; m by self-training on the candidate pairs that
 *    are sure without the field (ident_model_fit), or by EM on request;
 * 4. Fellegi-Sunter scores, lowered by the competing candidates of either
 *    record (a record has one partner at most: two strong candidates
 *    make each of them less likely), the threshold, and
 * 5. two files: a one-to-one assignment, best score first (a record is
 *    linked at most once, so a leftover never takes a weaker partner
 *    whose own match is taken); one file: the clusters of the linked
 *    records, whose pairs are all proposed when the cluster is small
 *    (ident_cluster).
 */
#include "ident.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOCK_CAP 2000
#define U_SAMPLE 100000
#define EM_MIN_PAIRS 500
/* the weight of the other fields that makes a pair a sure match for the
 * self-training of m */
#define FIT_CONF 12.0
/* two records this alike are not competing candidates of a third */
#define COMPETE_SAME 10.0
/* the least number of records the prior of a pair is computed for */
#define COMPETE_MIN_N 1000
/* an implied pair whose own comparison weighs less is not proposed */
#define IMPLIED_MIN 5.0

void ident_link_opts_default(ident_link_opts *o)
{
	memset(o, 0, sizeof *o);
	o->threshold = IDENT_DEFAULT_THRESHOLD;
	o->em = 0;
	o->fit = 1;
	o->one_to_one = 1;
	o->cluster = 1;
	o->compete = 1;
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

/*
 * Competing candidates (two files): a record has at most one partner on
 * the other side, so the odds of a -> b fall when a has other strong
 * candidates c: posterior odds = LR(a,b) pi / (1 + sum_c LR(a,c) pi), with
 * pi, the prior odds of a pair, about 1 / (2 n) for n records on the
 * other side (half the records have a partner; n at least COMPETE_MIN_N).
 * Likewise for b. The
 * score keeps its scale (a log2 likelihood ratio) and loses
 * log2(1 + sum_c LR(a,c) pi) + log2(1 + sum_d LR(d,b) pi).
 */
static double prior_bits(size_t n)
{
	/* a small file is read as one of COMPETE_MIN_N records, so that
	 * a score means the same there as in the files the threshold was
	 * chosen on (a tiny file would make every namesake a strong
	 * competitor) */
	return log2(2.0 * (double)(n > COMPETE_MIN_N ? n : COMPETE_MIN_N));
}

static void compete(ident_pair *cand, size_t ncand, size_t nl, size_t ns)
{
	double ka = prior_bits(ns), kb = prior_bits(nl);
	double *sa = calloc(nl + 1, sizeof *sa),
	       *sb = calloc(ns + 1, sizeof *sb);
	if (!sa || !sb) {
		free(sa);
		free(sb);
		return;
	}
	for (size_t c = 0; c < ncand; c++) {
		sa[cand[c].a] += exp2(cand[c].score - ka);
		sb[cand[c].b] += exp2(cand[c].score - kb);
	}
	for (size_t c = 0; c < ncand; c++) {
		double oa = sa[cand[c].a] - exp2(cand[c].score - ka);
		double ob = sb[cand[c].b] - exp2(cand[c].score - kb);
		float pen = (float)(log2(1 + (oa > 0 ? oa : 0)) +
				    log2(1 + (ob > 0 ? ob : 0)));
		cand[c].score -= pen;
		cand[c].compete = pen;
	}
	free(sa);
	free(sb);
}

/* the scores of the candidate pairs by (a, b), a < b (dedupe) */
struct pairmap {
	uint64_t *k;
	float *v;
	size_t cap;
};

static uint64_t pm_key(uint32_t a, uint32_t b)
{
	return a < b ? (uint64_t)a << 32 | b : (uint64_t)b << 32 | a;
}

static size_t pm_slot(const struct pairmap *m, uint64_t k)
{
	uint64_t h = k * 0x9E3779B97F4A7C15ULL;
	size_t i = (size_t)(h >> 20) & (m->cap - 1);
	while (m->k[i] != UINT64_MAX && m->k[i] != k)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static int cmp_adj_owner(const void *x, const void *y)
{
	const uint32_t *a = x, *b = y;
	return a[0] < b[0] ? -1 : a[0] > b[0];
}

/*
 * Competing candidates in one file: as compete(), but c competes with b
 * for a only when b and c are not themselves alike (their own score is
 * below COMPETE_SAME, or they were not compared): the duplicates of one
 * person do not compete, two namesakes born years apart do.
 */
static int compete_dedupe(ident_pair *cand, size_t ncand, size_t n)
{
	double k = prior_bits(n);
	struct pairmap pm = {0};
	uint32_t(*ad)[3] = NULL; /* owner, other, score bits */
	size_t *start = NULL, nad = 0;
	int rc = -1;

	pm.cap = 16;
	while (pm.cap < ncand * 2 + 2)
		pm.cap *= 2;
	pm.k = malloc(pm.cap * sizeof *pm.k);
	pm.v = malloc(pm.cap * sizeof *pm.v);
	ad = malloc((2 * ncand + 1) * sizeof *ad);
	start = calloc(n + 2, sizeof *start);
	if (!pm.k || !pm.v || !ad || !start)
		goto out;
	memset(pm.k, 0xff, pm.cap * sizeof *pm.k);
	for (size_t c = 0; c < ncand; c++) {
		uint64_t key = pm_key(cand[c].a, cand[c].b);
		size_t i = pm_slot(&pm, key);
		pm.k[i] = key;
		pm.v[i] = cand[c].score;
		if (cand[c].score < k - 4)
			continue; /* weighs less than 1/16 */
		for (int side = 0; side < 2; side++) {
			ad[nad][0] = side ? cand[c].b : cand[c].a;
			ad[nad][1] = side ? cand[c].a : cand[c].b;
			memcpy(&ad[nad][2], &cand[c].score, sizeof(float));
			nad++;
		}
	}
	qsort(ad, nad, sizeof *ad, cmp_adj_owner);
	for (size_t i = 0; i < nad; i++)
		start[ad[i][0] + 1] = i + 1;
	for (size_t r = 1; r <= n; r++)
		if (start[r] < start[r - 1])
			start[r] = start[r - 1];
	for (size_t c = 0; c < ncand; c++) {
		double pen = 0;
		for (int side = 0; side < 2; side++) {
			uint32_t self = side ? cand[c].b : cand[c].a;
			uint32_t mate = side ? cand[c].a : cand[c].b;
			double sum = 0;
			for (size_t i = self ? start[self] : 0;
			     i < start[self + 1]; i++) {
				uint32_t o = ad[i][1];
				float s, so = -1e30f;
				size_t slot;
				if (ad[i][0] != self || o == mate)
					continue;
				memcpy(&s, &ad[i][2], sizeof s);
				slot = pm_slot(&pm, pm_key(mate, o));
				if (pm.k[slot] != UINT64_MAX)
					so = pm.v[slot];
				if (so >= COMPETE_SAME)
					continue;
				sum += exp2(s - k);
			}
			pen += log2(1 + sum);
		}
		cand[c].compete = (float)pen;
	}
	for (size_t c = 0; c < ncand; c++)
		cand[c].score -= cand[c].compete;
	rc = 0;
out:
	free(pm.k);
	free(pm.v);
	free(ad);
	free(start);
	return rc;
}

/* m by self-training on the candidate pairs that are the best of both
 * their records (see ident_model_fit). */
static int fit_model(ident_link_result *res, ident_pair *cand, size_t ncand,
		     size_t nl, size_t ns, int dedupe)
{
	size_t nb = dedupe ? nl : ns;
	float *ba = malloc((nl + 1) * sizeof *ba);
	float *bb = malloc((nb + 1) * sizeof *bb);
	uint8_t *mutual = malloc(ncand);
	ident_cmp *v = malloc(ncand * sizeof *v);
	int rc = -1;
	if (!ba || !bb || !mutual || !v)
		goto out;
	for (size_t i = 0; i <= nl; i++)
		ba[i] = -1e30f;
	for (size_t i = 0; i <= nb; i++)
		bb[i] = -1e30f;
	for (size_t c = 0; c < ncand; c++) {
		float s = (float)ident_score(&res->model, res->tf, &cand[c].cmp,
					     NULL);
		uint32_t a = cand[c].a, b = cand[c].b;
		cand[c].score = s;
		if (s > ba[a])
			ba[a] = s;
		if (dedupe) {
			if (s > ba[b])
				ba[b] = s;
		} else if (s > bb[b]) {
			bb[b] = s;
		}
	}
	for (size_t c = 0; c < ncand; c++) {
		uint32_t a = cand[c].a, b = cand[c].b;
		float s = cand[c].score;
		mutual[c] = s >= ba[a] && s >= (dedupe ? ba[b] : bb[b]);
		v[c] = cand[c].cmp;
	}
	ident_model_fit(&res->model, res->tf, v, mutual, ncand, FIT_CONF, 5);
	rc = 0;
out:
	free(ba);
	free(bb);
	free(mutual);
	free(v);
	return rc;
}

/* The names' table of IDENT_TF_NAMES: every record's name counting keys
 * counted once per record (as identity_block holds them), then each
 * record's tokens put with their counts. Both files count, as in the
 * full table, and the pair's own two records are not counted (as the
 * daemon does not count the stored one it compares with). */
static ident_tf *link_tf_names(ident_enc *e, const ident_rec *left, size_t nl,
			       const ident_rec *right, size_t nr)
{
	ident_tf *keys = ident_tf_new(), *t;
	uint64_t k[IDENT_NAME_KEYS], cnt[IDENT_NAME_KEYS];
	size_t n = nl + (right != NULL ? nr : 0);

	t = ident_tf_new_names((double)n);
	if (keys == NULL || t == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		const ident_rec *r = i < nl ? &left[i] : &right[i - nl];
		ident_name_count_keys(e, r, k);
		for (int j = 0; j < IDENT_NAME_KEYS; j++) {
			int dup = 0;
			for (int p = 0; p < j; p++)
				dup |= k[p] == k[j];
			if (!dup)
				ident_tf_count(keys, k[j]);
		}
	}
	for (size_t i = 0; i < n; i++) {
		const ident_rec *r = i < nl ? &left[i] : &right[i - nl];
		ident_name_count_keys(e, r, k);
		for (int j = 0; j < IDENT_NAME_KEYS; j++)
			cnt[j] = (uint64_t)ident_tf_get(keys, k[j]);
		ident_tf_put_names(t, r, cnt);
	}
	ident_tf_free(keys);
	ident_tf_set_self(t, 2);
	return t;
fail:
	ident_tf_free(keys);
	ident_tf_free(t);
	return NULL;
}

/* The term frequencies of `mode` (IDENT_TF_*) in *out (NULL for none). */
static int link_tf(ident_enc *e, const ident_rec *left, size_t nl,
		   const ident_rec *right, size_t nr, int mode, ident_tf **out)
{
	*out = NULL;
	if (mode == IDENT_TF_NONE)
		return 0;
	if (mode == IDENT_TF_NAMES) {
		*out = link_tf_names(e, left, nl, right, nr);
		return *out != NULL ? 0 : -1;
	}
	*out = ident_tf_new();
	if (*out == NULL)
		return -1;
	for (size_t i = 0; i < nl; i++)
		ident_tf_add(*out, &left[i]);
	for (size_t i = 0; right != NULL && i < nr; i++)
		ident_tf_add(*out, &right[i]);
	return 0;
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
	if (link_tf(e, left, nl, right, nr, o->tf, &res->tf) != 0)
		return -1;

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
				cand[ncand].score = 0;
				cand[ncand].via = 0;
				cand[ncand].compete = 0;
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

	if (o->fit && ncand > 0 &&
	    fit_model(res, cand, ncand, nl, ns, dedupe) < 0)
		goto out;

	/* score, competing candidates, cut, sort */
	{
		size_t k = 0;
		for (size_t c = 0; c < ncand; c++)
			cand[c].score = (float)ident_score(&res->model, res->tf,
							   &cand[c].cmp, NULL);
		if (!dedupe && o->compete)
			compete(cand, ncand, nl, ns);
		if (dedupe && o->compete && compete_dedupe(cand, ncand, nl) < 0)
			goto out;
		for (size_t c = 0; c < ncand; c++)
			if (cand[c].score >= o->threshold)
				cand[k++] = cand[c];
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
	if (o->cluster && dedupe) {
		ident_pair *cl;
		size_t ncl;
		if (ident_cluster(&res->model, left, nl, res->tf, cand, ncand,
				  o->threshold, &cl, &ncl) < 0)
			goto out;
		free(cand);
		cand = cl;
		ncand = ncl;
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

static uint32_t uf_find(uint32_t *up, uint32_t x)
{
	while (up[x] != x) {
		up[x] = up[up[x]];
		x = up[x];
	}
	return x;
}

static int cmp_u32pair(const void *a, const void *b)
{
	const uint32_t *x = a, *y = b;
	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return x[1] < y[1] ? -1 : x[1] > y[1];
}

int ident_cluster(const ident_model *m_, const ident_rec *r, size_t n,
		  const ident_tf *tf, const ident_pair *pairs, size_t np,
		  double threshold, ident_pair **out, size_t *nout)
{
	enum { K = IDENT_CLUSTER_MAX };
	uint32_t *up = malloc((n + 1) * sizeof *up);
	uint32_t *size = calloc(n + 1, sizeof *size);
	uint32_t(*memb)[2] = malloc((n + 1) * sizeof *memb);
	uint32_t(*proot)[2] = NULL;
	size_t cap = np + 16, k = 0, k0;
	ident_pair *res = malloc(cap * sizeof *res);
	int rc = -1;

	*out = NULL;
	*nout = 0;
	if (!up || !size || !memb || !res)
		goto out;
	for (size_t i = 0; i < n; i++)
		up[i] = (uint32_t)i;
	for (size_t p = 0; p < np; p++) {
		uint32_t x, y;
		if (pairs[p].score < threshold)
			continue;
		res[k++] = pairs[p];
		x = uf_find(up, pairs[p].a);
		y = uf_find(up, pairs[p].b);
		if (x != y)
			up[x] = y;
	}
	/* the members of each cluster, grouped by root */
	for (size_t i = 0; i < n; i++) {
		memb[i][0] = uf_find(up, (uint32_t)i);
		memb[i][1] = (uint32_t)i;
		size[memb[i][0]]++;
	}
	qsort(memb, n, sizeof *memb, cmp_u32pair);
	proot = malloc((k + 1) * sizeof *proot);
	if (proot == NULL)
		goto out;
	for (size_t p = 0; p < k; p++) {
		proot[p][0] = uf_find(up, res[p].a);
		proot[p][1] = (uint32_t)p;
	}
	qsort(proot, k, sizeof *proot, cmp_u32pair);
	k0 = k;
	for (size_t i = 0, pi = 0; i < n;) {
		uint32_t root = memb[i][0], m = size[root];
		float d[K][K];
		uint32_t via[K][K];
		uint8_t dir[K][K];
		uint32_t ix[K];
		if (m < 3 || m > K) {
			i += m;
			continue;
		}
		for (uint32_t x = 0; x < m; x++) {
			ix[x] = memb[i + x][1];
			for (uint32_t y = 0; y < m; y++) {
				d[x][y] = -1e30f;
				via[x][y] = 0;
				dir[x][y] = 0;
			}
		}
		i += m;
		/* the direct links: the pairs of this root, in proot */
		while (pi < k0 && proot[pi][0] < root)
			pi++;
		for (; pi < k0 && proot[pi][0] == root; pi++) {
			const ident_pair *q = &res[proot[pi][1]];
			int x = -1, y = -1;
			for (uint32_t t = 0; t < m; t++) {
				if (ix[t] == q->a)
					x = (int)t;
				if (ix[t] == q->b)
					y = (int)t;
			}
			if (x >= 0 && y >= 0) {
				dir[x][y] = dir[y][x] = 1;
				if (q->score > d[x][y])
					d[x][y] = d[y][x] = q->score;
			}
		}
		/* the strongest chain: maximin paths (Floyd-Warshall) */
		for (uint32_t t = 0; t < m; t++)
			for (uint32_t x = 0; x < m; x++)
				for (uint32_t y = 0; y < m; y++) {
					float c = d[x][t] < d[t][y] ? d[x][t]
								    : d[t][y];
					if (x != y && c > d[x][y]) {
						d[x][y] = c;
						via[x][y] = ix[t] + 1;
					}
				}
		for (uint32_t x = 0; x < m; x++)
			for (uint32_t y = 0; y < m; y++) {
				ident_pair *q;
				if (ix[x] >= ix[y] || via[x][y] == 0 ||
				    dir[x][y])
					continue;
				if (k == cap) {
					size_t nc = cap * 2;
					ident_pair *nr =
						realloc(res, nc * sizeof *nr);
					if (nr == NULL)
						goto out;
					res = nr;
					cap = nc;
				}
				q = &res[k++];
				memset(q, 0, sizeof *q);
				q->a = ix[x];
				q->b = ix[y];
				q->score = d[x][y];
				q->via = via[x][y];
				ident_compare(tf, &r[q->a], &r[q->b], &q->cmp);
				if (m_ && ident_score(m_, tf, &q->cmp, NULL) <
						  IMPLIED_MIN)
					k--;
			}
	}
	qsort(res, k, sizeof *res, cmp_pair);
	*out = res;
	*nout = k;
	res = NULL;
	rc = 0;
out:
	free(up);
	free(size);
	free(memb);
	free(proot);
	free(res);
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
