/*
 * ident-linkq: quality and speed of maillage-link against the plain
 * baseline linker, on generated identities (ident/gen.c) and on the FEBRL
 * deduplication sets (names and birth dates only).
 *
 *   ident-linkq [--n 5000] [--overlap 0.6] [--seed 1] [--febrl DIR]
 *               [--work DIR] [--threshold W] [--sweep] [--fit]
 *
 * Prints Markdown tables: precision, recall, F1 of ours at its default
 * threshold, of the baseline at its best-F1 threshold (the most generous
 * reading of it), and the time of 5,000 x 5,000 (read, encode, link).
 */
#include "linkq.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef IDENT_TOP
#define IDENT_TOP "."
#endif

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------------- */
/* Truth                                                                  */
/* ---------------------------------------------------------------------- */

struct idmap {
	char **id;
	uint32_t *idx;
	size_t cap;
};

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

static int idmap_build(struct idmap *m, const ident_table *t)
{
	m->cap = 16;
	while (m->cap < t->n * 2 + 2)
		m->cap *= 2;
	m->id = calloc(m->cap, sizeof *m->id);
	m->idx = calloc(m->cap, sizeof *m->idx);
	if (!m->id || !m->idx)
		return -1;
	for (size_t i = 0; i < t->n; i++) {
		size_t j = fnv(t->rows[i].id) & (m->cap - 1);
		while (m->id[j])
			j = (j + 1) & (m->cap - 1);
		m->id[j] = t->rows[i].id;
		m->idx[j] = (uint32_t)i;
	}
	return 0;
}

static long idmap_get(const struct idmap *m, const char *id)
{
	for (size_t j = fnv(id) & (m->cap - 1); m->id[j];
	     j = (j + 1) & (m->cap - 1))
		if (strcmp(m->id[j], id) == 0)
			return m->idx[j];
	return -1;
}

static void idmap_free(struct idmap *m)
{
	free(m->id);
	free(m->idx);
}

struct truth {
	uint64_t *p;
	size_t n;
	int dedupe;
};

static uint64_t pkey(uint32_t a, uint32_t b, int dedupe)
{
	if (dedupe && a > b) {
		uint32_t t = a;
		a = b;
		b = t;
	}
	return (uint64_t)a << 32 | b;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int truth_has(const struct truth *t, uint32_t a, uint32_t b)
{
	uint64_t k = pkey(a, b, t->dedupe);
	return bsearch(&k, t->p, t->n, sizeof k, cmp_u64) != NULL;
}

static int truth_read(const char *path, const ident_table *l,
		      const ident_table *r, struct truth *t)
{
	FILE *f = fopen(path, "rb");
	ident_csv *c;
	char **fl;
	size_t nf, cap = 1024;
	struct idmap ml = {0}, mr = {0};
	int first = 1, rc;

	memset(t, 0, sizeof *t);
	t->dedupe = r == NULL;
	if (f == NULL)
		return -1;
	c = ident_csv_new(f, path, 0);
	t->p = malloc(cap * sizeof *t->p);
	if (!c || !t->p || idmap_build(&ml, l) < 0 ||
	    (r && idmap_build(&mr, r) < 0))
		return -1;
	while ((rc = ident_csv_next(c, &fl, &nf)) == 1) {
		long a, b;
		if (first) {
			first = 0;
			continue;
		}
		if (nf < 2)
			continue;
		for (size_t i = 0; i < 2; i++) {
			char *s = fl[i];
			while (*s == ' ')
				s++;
			fl[i] = s;
		}
		a = idmap_get(&ml, fl[0]);
		b = idmap_get(r ? &mr : &ml, fl[1]);
		if (a < 0 || b < 0)
			continue;
		if (t->n == cap) {
			cap *= 2;
			uint64_t *np = realloc(t->p, cap * sizeof *np);
			if (np == NULL)
				return -1;
			t->p = np;
		}
		t->p[t->n++] = pkey((uint32_t)a, (uint32_t)b, t->dedupe);
	}
	qsort(t->p, t->n, sizeof *t->p, cmp_u64);
	ident_csv_free(c);
	fclose(f);
	idmap_free(&ml);
	idmap_free(&mr);
	return rc < 0 ? -1 : 0;
}

struct prf {
	double p, r, f1;
	size_t tp, fp, fn;
};

static struct prf evaluate(const struct truth *t, const struct lq_pair *p,
			   size_t n, double thr)
{
	struct prf e = {0};
	for (size_t i = 0; i < n; i++) {
		if (p[i].score < thr)
			continue;
		if (truth_has(t, p[i].a, p[i].b))
			e.tp++;
		else
			e.fp++;
	}
	e.fn = t->n > e.tp ? t->n - e.tp : 0;
	e.p = (e.tp + e.fp) ? (double)e.tp / (double)(e.tp + e.fp) : 1.0;
	e.r = t->n ? (double)e.tp / (double)t->n : 1.0;
	e.f1 = e.p + e.r > 0 ? 2 * e.p * e.r / (e.p + e.r) : 0;
	return e;
}

/* greedy one-to-one on a best-first list, in place */
static size_t greedy(struct lq_pair *p, size_t n, size_t nl, size_t nr)
{
	uint8_t *ua = calloc(nl + 1, 1), *ub = calloc(nr + 1, 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (ua[p[i].a] || ub[p[i].b])
			continue;
		ua[p[i].a] = ub[p[i].b] = 1;
		p[k++] = p[i];
	}
	free(ua);
	free(ub);
	return k;
}

/* ---------------------------------------------------------------------- */
/* Runs                                                                   */
/* ---------------------------------------------------------------------- */

struct run {
	const char *name;
	struct prf ours, ours_em, base;
	double base_thr;
	struct prf best, best995; /* ours: best F1, best F1 at P >= 0.995 */
	double best_thr, best995_thr;
	struct prf base_p995; /* baseline where its precision >= 0.995 */
	double base_p995_thr;
	double seconds;
	size_t candidates;
	size_t block_found, block_total; /* true pairs sharing a key */
	size_t block_lost; /* true pairs without a key above the threshold */
	size_t thin;	   /* true pairs agreeing on at most one of given
			    * name, family name, birth date */
};

static int use_em;

static const uint8_t BENCH_KEY[IDENT_KEY_LEN] =
	"maillage ident-linkq bench key!";

/* How many of given name, family name and birth date agree in a true
 * pair, at any level above "similar" (names, directly or crosswise) and
 * above "within 400 days" (dates). A pair with one or none is, on these
 * fields, a namesake or a stranger: no linker can propose it without
 * also proposing pairs that are not the same person. */
static int evidence(const ident_cmp *c)
{
	int direct = 0, cross = 0, names, ok;
#define NAME_OK(l) ((l) != IDENT_MISSING && (l) <= IDENT_NL_PART)
	direct = NAME_OK(c->lvl[IDENT_F_GIVEN]) +
		 NAME_OK(c->lvl[IDENT_F_FAMILY]);
	cross = NAME_OK(c->xlvl[0]) + NAME_OK(c->xlvl[1]);
#undef NAME_OK
	names = direct > cross ? direct : cross;
	ok = c->lvl[IDENT_F_BIRTH] != IDENT_MISSING &&
	     c->lvl[IDENT_F_BIRTH] <= IDENT_BL_NEAR;
	return names + ok;
}

/* Ours at a threshold: in dedupe, with the pairs its clusters imply. */
struct cl_ctx {
	int dedupe;
	const ident_rec *r;
	size_t n;
	ident_link_result *res;
	const struct truth *t;
	struct lq_pair *p;
};

static int no_cluster, no_compete;
static int tf_mode; /* IDENT_TF_*: --tf */

static struct prf eval_at(struct cl_ctx *c, double thr)
{
	ident_pair *q;
	size_t nq;
	struct lq_pair *lp;
	struct prf e;
	if (!c->dedupe ||
	    ident_cluster(&c->res->model, c->r, c->n, c->res->tf, c->res->pairs,
			  c->res->n, thr, &q, &nq) < 0)
		return evaluate(c->t, c->p, c->res->n, thr);
	lp = calloc(nq + 1, sizeof *lp);
	for (size_t i = 0; lp && i < nq; i++) {
		lp[i].a = q[i].a;
		lp[i].b = q[i].b;
		lp[i].score = q[i].score;
	}
	e = lp ? evaluate(c->t, lp, nq, thr)
	       : evaluate(c->t, c->p, c->res->n, thr);
	free(lp);
	free(q);
	return e;
}

static int run_ours(const ident_names *names, const char *lpath,
		    const char *rpath, const char *tpath, double thr, int sweep,
		    struct run *out, ident_model *fitted)
{
	char err[512];
	ident_table lt = {0}, rt = {0};
	ident_rec *lr = NULL, *rr = NULL;
	ident_enc *e;
	ident_link_opts o;
	ident_link_result res;
	struct truth t;
	struct lq_pair *p;
	struct cl_ctx cl;
	double t0 = now();

	e = ident_enc_new(BENCH_KEY, names, err, sizeof err);
	if (e == NULL || ident_table_read(lpath, &lt, err, sizeof err) < 0 ||
	    (rpath && ident_table_read(rpath, &rt, err, sizeof err) < 0) ||
	    ident_encode_table(e, &lt, &lr, err, sizeof err) < 0 ||
	    (rpath && ident_encode_table(e, &rt, &rr, err, sizeof err) < 0)) {
		fprintf(stderr, "ident-linkq: %s\n", err);
		return -1;
	}
	ident_link_opts_default(&o);
	o.em = use_em;
	o.threshold = -10.0; /* cut below, at each threshold */
	o.cluster = 0;	     /* clustered below, at each threshold */
	o.compete = !no_compete;
	o.tf = tf_mode;
	if (ident_link(e, lr, lt.n, rpath ? rr : NULL, rt.n, &o, &res) < 0)
		return -1;
	out->seconds = now() - t0;
	out->candidates = res.candidates;
	if (truth_read(tpath, &lt, rpath ? &rt : NULL, &t) < 0) {
		fprintf(stderr, "ident-linkq: %s: unreadable truth\n", tpath);
		return -1;
	}
	p = calloc(res.n + 1, sizeof *p);
	for (size_t i = 0; i < res.n; i++) {
		p[i].a = res.pairs[i].a;
		p[i].b = res.pairs[i].b;
		p[i].score = res.pairs[i].score;
	}
	/* blocking recall: true pairs sharing a key (query a, stored b) */
	out->block_found = out->block_lost = 0;
	for (size_t i = 0; i < t.n; i++) {
		uint32_t a = (uint32_t)(t.p[i] >> 32), b = (uint32_t)t.p[i];
		uint64_t ka[IDENT_MAX_BLOCK_KEYS], kb[IDENT_MAX_BLOCK_KEYS];
		int na = ident_block_keys(e, &lr[a], 1, ka,
					  IDENT_MAX_BLOCK_KEYS);
		int nb = ident_block_keys(e, rpath ? &rr[b] : &lr[b], 0, kb,
					  IDENT_MAX_BLOCK_KEYS);
		int hit = 0;
		for (int x = 0; x < na && !hit; x++)
			for (int y = 0; y < nb && !hit; y++)
				hit = ka[x] == kb[y];
		if (!hit && !rpath) {
			/* dedupe queries go both ways */
			na = ident_block_keys(e, &lr[b], 1, ka,
					      IDENT_MAX_BLOCK_KEYS);
			nb = ident_block_keys(e, &lr[a], 0, kb,
					      IDENT_MAX_BLOCK_KEYS);
			for (int x = 0; x < na && !hit; x++)
				for (int y = 0; y < nb && !hit; y++)
					hit = ka[x] == kb[y];
		}
		out->block_found += (size_t)hit;
		{
			ident_cmp c;
			ident_compare(NULL, &lr[a], rpath ? &rr[b] : &lr[b],
				      &c);
			out->thin += evidence(&c) <= 1;
		}
		if (!hit) {
			/* would it have been proposed? */
			ident_cmp c;
			ident_compare(res.tf, &lr[a], rpath ? &rr[b] : &lr[b],
				      &c);
			if (ident_score(&res.model, res.tf, &c, NULL) >= thr)
				out->block_lost++;
		}
		if (!hit && getenv("LINKQ_MISSED")) {
			const ident_row *x = &lt.rows[a];
			const ident_row *y = rpath ? &rt.rows[b] : &lt.rows[b];
			fprintf(stderr,
				"missed: %s | %s | %d-%d-%d %d-%d | %s | %s | "
				"%d-%d-%d %d-%d\n",
				x->given_name ? x->given_name : "",
				x->family_name ? x->family_name : "",
				x->birth.year, x->birth.month, x->birth.day,
				x->birth.ylo, x->birth.yhi,
				y->given_name ? y->given_name : "",
				y->family_name ? y->family_name : "",
				y->birth.year, y->birth.month, y->birth.day,
				y->birth.ylo, y->birth.yhi);
		}
	}
	out->block_total = t.n;
	cl.dedupe = rpath == NULL && !no_cluster;
	cl.r = lr;
	cl.n = lt.n;
	cl.res = &res;
	cl.t = &t;
	cl.p = p;
	out->ours = eval_at(&cl, thr);
	/* the best F1, and the best F1 where precision >= 0.995 */
	out->best.f1 = out->best995.f1 = -1;
	for (double w = -10; w <= 40; w += 0.25) {
		struct prf e2 = eval_at(&cl, w);
		if (e2.f1 > out->best.f1) {
			out->best = e2;
			out->best_thr = w;
		}
		if (e2.p >= 0.995 && e2.f1 > out->best995.f1) {
			out->best995 = e2;
			out->best995_thr = w;
		}
	}
	if (sweep) {
		printf("\n%s, ours, threshold sweep:\n\n", out->name);
		printf("| threshold | precision | recall | F1 | FP | FN |\n");
		printf("|---|---|---|---|---|---|\n");
		for (double w = 4; w <= 24; w += 2) {
			struct prf e2 = eval_at(&cl, w);
			printf("| %.0f | %.4f | %.4f | %.4f | %zu | %zu |\n", w,
			       e2.p, e2.r, e2.f1, e2.fp, e2.fn);
		}
	}
	if (getenv("LINKQ_ERRORS")) {
		/* the mistakes, for tuning: FP as proposed, FN as missed */
		FILE *f = fopen(getenv("LINKQ_ERRORS"), "a");
		if (f)
			fprintf(f, "# %s%s\n", out->name,
				use_em ? " (EM)" : "");
		for (size_t i = 0; f && i < res.n; i++) {
			char ex[1024];
			ident_pair *q = &res.pairs[i];
			const ident_row *a = &lt.rows[q->a];
			const ident_row *b =
				rpath ? &rt.rows[q->b] : &lt.rows[q->b];
			if (q->score < thr || truth_has(&t, q->a, q->b))
				continue;
			ident_explain(&res.model, res.tf, &q->cmp, NULL, NULL,
				      ex, sizeof ex);
			fprintf(f,
				"FP %.1f | %s %s %d-%d-%d | %s %s %d-%d-%d | "
				"%s\n",
				q->score, a->given_name ? a->given_name : "",
				a->family_name ? a->family_name : "",
				a->birth.year, a->birth.month, a->birth.day,
				b->given_name ? b->given_name : "",
				b->family_name ? b->family_name : "",
				b->birth.year, b->birth.month, b->birth.day,
				ex);
		}
		for (size_t i = 0; f && i < t.n; i++) {
			uint32_t a = (uint32_t)(t.p[i] >> 32);
			uint32_t b = (uint32_t)t.p[i];
			int found = 0;
			for (size_t j = 0; j < res.n && !found; j++)
				if (res.pairs[j].score >= thr &&
				    pkey(res.pairs[j].a, res.pairs[j].b,
					 t.dedupe) == t.p[i])
					found = 1;
			if (!found) {
				const ident_row *ra = &lt.rows[a];
				const ident_row *rb =
					rpath ? &rt.rows[b] : &lt.rows[b];
				ident_cmp c;
				char ex[1024];
				double s;
				ident_compare(res.tf, &lr[a],
					      rpath ? &rr[b] : &lr[b], &c);
				s = ident_score(&res.model, res.tf, &c, NULL);
				ident_explain(&res.model, res.tf, &c, NULL,
					      NULL, ex, sizeof ex);
				fprintf(f,
					"FN %.1f | %s %s %d-%d-%d %d-%d | %s "
					"%s %d-%d-%d %d-%d | %s\n",
					s, ra->given_name ? ra->given_name : "",
					ra->family_name ? ra->family_name : "",
					ra->birth.year, ra->birth.month,
					ra->birth.day, ra->birth.ylo,
					ra->birth.yhi,
					rb->given_name ? rb->given_name : "",
					rb->family_name ? rb->family_name : "",
					rb->birth.year, rb->birth.month,
					rb->birth.day, rb->birth.ylo,
					rb->birth.yhi, ex);
			}
		}
		if (f)
			fclose(f);
	}
	if (fitted) {
		/* labelled m from the true pairs, u from random pairs */
		size_t nt = t.n, k = 0;
		ident_cmp *v = calloc(nt + 1, sizeof *v);
		ident_model m0;
		ident_model_default(&m0);
		*fitted = res.model;
		for (size_t i = 0; i < nt; i++) {
			uint32_t a = (uint32_t)(t.p[i] >> 32);
			uint32_t b = (uint32_t)t.p[i];
			ident_compare(NULL, &lr[a], rpath ? &rr[b] : &lr[b],
				      &v[k++]);
		}
		for (int f = 0; f < IDENT_NFIELDS; f++) {
			double cnt[IDENT_MAX_LEVELS] = {0}, tot = 0;
			for (size_t i = 0; i < k; i++) {
				int8_t lv = v[i].lvl[f];
				if (f <= IDENT_F_FAMILY) {
					ident_score(&m0, NULL, &v[i], NULL);
					if (v[i].swapped == 1)
						lv = v[i].xlvl[f];
					else if (v[i].swapped >= 2)
						lv = v[i].swapped - 2 == f
							     ? v[i].xlvl[f]
							     : IDENT_MISSING;
				}
				if (lv == IDENT_MISSING)
					continue;
				cnt[lv] += 1;
				tot += 1;
			}
			for (int l = 0; l < ident_field_levels(f); l++)
				fitted->m[f][l] =
					(cnt[l] + 0.5) /
					(tot + 0.5 * ident_field_levels(f));
		}
		free(v);
	}
	free(p);
	free(t.p);
	ident_link_result_free(&res);
	free(lr);
	free(rr);
	ident_table_free(&lt);
	ident_table_free(&rt);
	ident_enc_free(e);
	return 0;
}

static int run_baseline(ident_norm *n, const char *lpath, const char *rpath,
			const char *tpath, struct run *out)
{
	char err[512];
	ident_table lt = {0}, rt = {0};
	struct lq_pair *p = NULL;
	size_t np = 0;
	struct truth t;

	if (ident_table_read(lpath, &lt, err, sizeof err) < 0 ||
	    (rpath && ident_table_read(rpath, &rt, err, sizeof err) < 0)) {
		fprintf(stderr, "ident-linkq: %s\n", err);
		return -1;
	}
	if (baseline_candidates(n, &lt, rpath ? &rt : NULL, 0.5, &p, &np) < 0 ||
	    truth_read(tpath, &lt, rpath ? &rt : NULL, &t) < 0)
		return -1;
	if (rpath)
		np = greedy(p, np, lt.n, rt.n);
	out->base.f1 = -1;
	out->base_p995.f1 = -1;
	for (double thr = 0.60; thr <= 0.995; thr += 0.005) {
		struct prf e = evaluate(&t, p, np, thr);
		if (e.f1 > out->base.f1) {
			out->base = e;
			out->base_thr = thr;
		}
		if (e.p >= 0.995 && out->base_p995.f1 < 0) {
			out->base_p995 = e;
			out->base_p995_thr = thr;
		}
	}
	free(p);
	free(t.p);
	ident_table_free(&lt);
	ident_table_free(&rt);
	return 0;
}

/* FEBRL dataset -> our CSV (names and birth dates only). */
static int febrl_convert(const char *in, const char *out, size_t *bad_dates)
{
	FILE *f = fopen(in, "rb"), *o;
	ident_csv *c;
	char **fl;
	size_t nf;
	int first = 1, rc;
	if (f == NULL)
		return -1;
	o = fopen(out, "w");
	c = ident_csv_new(f, in, 0);
	if (o == NULL || c == NULL)
		return -1;
	fputs("id,given_name,family_name,birth_date\n", o);
	*bad_dates = 0;
	while ((rc = ident_csv_next(c, &fl, &nf)) == 1) {
		ident_date d;
		char *v[11];
		if (first) {
			first = 0;
			continue;
		}
		if (nf < 11)
			continue;
		for (int i = 0; i < 11; i++) {
			char *s = fl[i];
			while (*s == ' ')
				s++;
			v[i] = s;
		}
		if (ident_date_parse(v[9], &d) < 0) {
			(*bad_dates)++;
			v[9] = "";
		}
		fprintf(o, "%s,%s,%s,%s\n", v[0], v[1], v[2], v[9]);
	}
	ident_csv_free(c);
	fclose(f);
	fclose(o);
	return rc < 0 ? -1 : 0;
}

static void print_run(const struct run *r)
{
	printf("| %s | %.4f | %.4f | **%.4f** | %.4f / %.4f / %.4f | %.4f | "
	       "%.4f | %.4f (at %.3f) | %.4f / %.4f (at %.3f) |\n",
	       r->name, r->ours.p, r->ours.r, r->ours.f1, r->ours_em.p,
	       r->ours_em.r, r->ours_em.f1, r->base.p, r->base.r, r->base.f1,
	       r->base_thr, r->base_p995.p, r->base_p995.r, r->base_p995_thr);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"n", required_argument, NULL, 'n'},
		{"overlap", required_argument, NULL, 'o'},
		{"seed", required_argument, NULL, 's'},
		{"febrl", required_argument, NULL, 'f'},
		{"work", required_argument, NULL, 'w'},
		{"threshold", required_argument, NULL, 't'},
		{"sweep", no_argument, NULL, 'S'},
		{"fit", no_argument, NULL, 'F'},
		{"no-febrl", no_argument, NULL, 'N'},
		{"em", no_argument, NULL, 'E'},
		{"no-cluster", no_argument, NULL, 'C'},
		{"no-compete", no_argument, NULL, 'K'},
		{"errors", required_argument, NULL, 'e'},
		{"tf", required_argument, NULL, 'T'},
		{NULL, 0, NULL, 0}};
	ident_gen_opts go;
	const char *febrl = IDENT_TOP "/../shared/data/febrl";
	char work[256] = "", err[512], lp[300], rp[300], tp[300];
	double thr = IDENT_DEFAULT_THRESHOLD;
	int sweep = 0, fit = 0, nofebrl = 0, c;
	ident_norm *norm;
	const ident_names *names;
	struct run runs[5];
	int nruns = 0;
	ident_model fitted;

	ident_gen_opts_default(&go);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			go.n_left = go.n_right = strtoul(optarg, NULL, 10);
			break;
		case 'o':
			go.overlap = strtod(optarg, NULL);
			break;
		case 's':
			go.seed = strtoull(optarg, NULL, 10);
			break;
		case 'f':
			febrl = optarg;
			break;
		case 'w':
			snprintf(work, sizeof work, "%s", optarg);
			break;
		case 't':
			thr = strtod(optarg, NULL);
			break;
		case 'S':
			sweep = 1;
			break;
		case 'F':
			fit = 1;
			break;
		case 'N':
			nofebrl = 1;
			break;
		case 'E':
			use_em = 1;
			break;
		case 'C':
			no_cluster = 1;
			break;
		case 'K':
			no_compete = 1;
			break;
		case 'e':
			go.error_scale = strtod(optarg, NULL);
			break;
		case 'T':
			tf_mode = strcmp(optarg, "none") == 0 ? IDENT_TF_NONE
				  : strcmp(optarg, "names") == 0
					  ? IDENT_TF_NAMES
					  : IDENT_TF_FULL;
			break;
		default:
			fprintf(stderr,
				"usage: ident-linkq [--n N] [--overlap F] "
				"[--seed S] [--errors SCALE] [--febrl "
				"DIR|--no-febrl] [--work "
				"DIR] [--threshold W] [--sweep] [--fit] "
				"[--no-cluster] [--no-compete] "
				"[--tf full|names|none]\n");
			return 2;
		}
	}
	if (!work[0]) {
		snprintf(work, sizeof work, "/tmp/ident-linkq-XXXXXX");
		if (mkdtemp(work) == NULL) {
			perror("mkdtemp");
			return 1;
		}
	} else {
		mkdir(work, 0700);
	}
	norm = ident_norm_new(err, sizeof err);
	names = norm ? ident_names_builtin(norm, err, sizeof err) : NULL;
	if (names == NULL) {
		fprintf(stderr, "ident-linkq: %s\n", err);
		return 1;
	}
	snprintf(lp, sizeof lp, "%s/left.csv", work);
	snprintf(rp, sizeof rp, "%s/right.csv", work);
	snprintf(tp, sizeof tp, "%s/truth.csv", work);
	if (ident_gen(names, norm, &go, lp, rp, tp, err, sizeof err) < 0) {
		fprintf(stderr, "ident-linkq: %s\n", err);
		return 1;
	}
	memset(runs, 0, sizeof runs);
	{
		static char name[96];
		snprintf(name, sizeof name,
			 "generated %zu x %zu, overlap %.0f%%, seed %llu",
			 go.n_left, go.n_right, go.overlap * 100,
			 (unsigned long long)go.seed);
		runs[nruns].name = name;
		struct run em = runs[nruns];
		use_em = 1;
		if (run_ours(names, lp, rp, tp, thr, 0, &em, NULL) < 0)
			return 1;
		use_em = 0;
		runs[nruns].ours_em = em.ours;
		if (run_ours(names, lp, rp, tp, thr, sweep, &runs[nruns],
			     fit ? &fitted : NULL) < 0 ||
		    run_baseline(norm, lp, rp, tp, &runs[nruns]) < 0)
			return 1;
		nruns++;
	}
	{
		/* one generated file with duplicates (dedupe) */
		static char name[96];
		char dp[300], dt[300];
		snprintf(dp, sizeof dp, "%s/dedupe.csv", work);
		snprintf(dt, sizeof dt, "%s/dedupe-truth.csv", work);
		if (ident_gen(names, norm, &go, dp, NULL, dt, err, sizeof err) <
		    0) {
			fprintf(stderr, "ident-linkq: %s\n", err);
			return 1;
		}
		snprintf(name, sizeof name, "generated %zu (dedupe), seed %llu",
			 go.n_left, (unsigned long long)go.seed);
		runs[nruns].name = name;
		{
			struct run em = runs[nruns];
			use_em = 1;
			if (run_ours(names, dp, NULL, dt, thr, 0, &em, NULL) <
			    0)
				return 1;
			use_em = 0;
			runs[nruns].ours_em = em.ours;
		}
		if (run_ours(names, dp, NULL, dt, thr, sweep, &runs[nruns],
			     NULL) < 0 ||
		    run_baseline(norm, dp, NULL, dt, &runs[nruns]) < 0)
			return 1;
		nruns++;
	}
	for (int d = 1; d <= 3 && !nofebrl; d++) {
		static char names_buf[3][64];
		char in[512], tin[512], out[300];
		size_t bad;
		snprintf(in, sizeof in, "%s/dataset%d.csv", febrl, d);
		snprintf(tin, sizeof tin, "%s/true_pairs_dataset%d.csv", febrl,
			 d);
		snprintf(out, sizeof out, "%s/febrl%d.csv", work, d);
		if (access(in, R_OK) != 0) {
			fprintf(stderr,
				"ident-linkq: %s: not found, FEBRL "
				"skipped\n",
				in);
			break;
		}
		if (febrl_convert(in, out, &bad) < 0)
			return 1;
		snprintf(names_buf[d - 1], sizeof names_buf[d - 1],
			 "FEBRL dataset%d (dedupe)", d);
		runs[nruns].name = names_buf[d - 1];
		{
			struct run em = runs[nruns];
			use_em = 1;
			if (run_ours(names, out, NULL, tin, thr, 0, &em, NULL) <
			    0)
				return 1;
			use_em = 0;
			runs[nruns].ours_em = em.ours;
		}
		if (run_ours(names, out, NULL, tin, thr, sweep, &runs[nruns],
			     NULL) < 0 ||
		    run_baseline(norm, out, NULL, tin, &runs[nruns]) < 0)
			return 1;
		nruns++;
	}
	printf("\nIdentity linkage quality (ours at threshold %.1f, built-in "
	       "m, and with EM; baseline at its best-F1 threshold, and where "
	       "its precision first reaches 0.995):\n\n",
	       thr);
	printf("| data | precision | recall | F1 | with EM: P / R / F1 | "
	       "baseline precision | baseline recall | baseline F1 | "
	       "baseline P/R at P>=0.995 |\n");
	printf("|---|---|---|---|---|---|---|---|---|\n");
	for (int i = 0; i < nruns; i++)
		print_run(&runs[i]);
	printf("\nOurs at the threshold of its best F1, and of its best F1 "
	       "with precision >= 0.995:\n\n");
	printf("| data | best F1: threshold | P | R | F1 | P >= 0.995: "
	       "threshold | P | R | F1 |\n|---|---|---|---|---|---|---|---|"
	       "---|\n");
	for (int i = 0; i < nruns; i++)
		printf("| %s | %.2f | %.4f | %.4f | **%.4f** | %.2f | %.4f | "
		       "%.4f | **%.4f** |\n",
		       runs[i].name, runs[i].best_thr, runs[i].best.p,
		       runs[i].best.r, runs[i].best.f1, runs[i].best995_thr,
		       runs[i].best995.p, runs[i].best995.r,
		       runs[i].best995.f1);
	printf("\n| data | ours: candidate pairs | blocking recall | true "
	       "pairs missed by blocking and scoring >= %.1f | true pairs "
	       "agreeing on one of given name, family name, birth date at "
	       "most | ours: read+encode+link (s) |\n"
	       "|---|---|---|---|---|---|\n",
	       thr);
	for (int i = 0; i < nruns; i++)
		printf("| %s | %zu | %.4f | %zu | %zu of %zu (%.1f %%) | %.3f "
		       "|\n",
		       runs[i].name, runs[i].candidates,
		       runs[i].block_total ? (double)runs[i].block_found /
						     (double)runs[i].block_total
					   : 1.0,
		       runs[i].block_lost, runs[i].thin, runs[i].block_total,
		       runs[i].block_total ? 100.0 * (double)runs[i].thin /
						     (double)runs[i].block_total
					   : 0.0,
		       runs[i].seconds);
	if (fit) {
		printf("\nLabelled m (true pairs), u (random pairs) on the "
		       "generated data:\n\n```\n");
		ident_model_print(&fitted, stdout);
		printf("```\n");
	}
	printf("\n(work files in %s)\n", work);
	ident_norm_free(norm);
	return 0;
}
