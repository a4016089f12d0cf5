/*
 * compare: comparison levels of encoded identities, Fellegi-Sunter
 * weights with term-frequency adjustment, EM estimation of m, and the
 * explanation text.
 *
 * Fellegi & Sunter (1969): for a comparison vector g, the weight of the
 * evidence is log2 P(g | match) / P(g | non-match), a sum over fields of
 * log2(m_l / u_l) under conditional independence. u (chance agreement)
 * is estimated from random pairs; m by EM on the unlabelled candidate
 * pairs (Winkler 1988; as Splink does), starting from the built-in values.
 * Term frequencies (Winkler): agreeing on a value of relative frequency f
 * weighs log2(m_l / f) instead of log2(m_l / u_l), so "Mohamed" counts
 * less than a rare name; f is smoothed towards u_l on small data.
 */
#include "ident.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const double IDENT_DICE_TYPO = 0.80;
const double IDENT_DICE_WEAK = 0.70;

static const int NLEVELS[IDENT_NFIELDS] = {IDENT_NAME_LEVELS, IDENT_NAME_LEVELS,
					   IDENT_BIRTH_LEVELS, 2, 3};

int ident_field_levels(int field)
{
	return NLEVELS[field];
}

const char *ident_field_name(int field)
{
	static const char *const N[] = {"given name", "family name",
					"birth date", "sex", "nationality"};
	return N[field];
}

const char *ident_level_name(int field, int level)
{
	static const char *const NAME[] = {"same name",
					   "same name in another spelling",
					   "close spelling (typo)",
					   "same pronunciation",
					   "one of several names",
					   "similar spelling",
					   "different"};
	static const char *const BIRTH[] = {
		"same date",
		"day and month swapped",
		"day or month differs",
		"year off",
		"same year and month (partial date)",
		"same year (partial date)",
		"declared age compatible",
		"partial date or age one year off",
		"within about a year",
		"different"};
	static const char *const SAME[] = {"same", "different",
					   "neighbouring country"};
	if (level == IDENT_MISSING)
		return "not given";
	switch (field) {
	case IDENT_F_GIVEN:
	case IDENT_F_FAMILY:
		return NAME[level];
	case IDENT_F_BIRTH:
		return BIRTH[level];
	default:
		return SAME[level];
	}
}

/* ---------------------------------------------------------------------- */
/* Term frequencies                                                       */
/* ---------------------------------------------------------------------- */

struct tf_slot {
	uint64_t code;
	uint32_t count;
};

struct ident_tf {
	struct tf_slot *s;
	size_t cap, n;
	double records;
	double self; /* records of a compared pair counted in the table */
	int names;   /* names only: a code not held is not a rare one */
};

ident_tf *ident_tf_new(void)
{
	ident_tf *t = calloc(1, sizeof *t);
	if (t == NULL)
		return NULL;
	t->cap = 1 << 14;
	t->self = 2;
	t->s = calloc(t->cap, sizeof *t->s);
	if (t->s == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

void ident_tf_free(ident_tf *t)
{
	if (t == NULL)
		return;
	free(t->s);
	free(t);
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static void tf_bump(ident_tf *t, uint64_t code)
{
	size_t mask;
	if (code == 0)
		return;
	if ((t->n + 1) * 2 > t->cap) {
		size_t ncap = t->cap * 2;
		struct tf_slot *ns = calloc(ncap, sizeof *ns);
		if (ns == NULL)
			return;
		for (size_t i = 0; i < t->cap; i++) {
			if (t->s[i].code == 0)
				continue;
			size_t j = mix(t->s[i].code) & (ncap - 1);
			while (ns[j].code)
				j = (j + 1) & (ncap - 1);
			ns[j] = t->s[i];
		}
		free(t->s);
		t->s = ns;
		t->cap = ncap;
	}
	mask = t->cap - 1;
	for (size_t i = mix(code) & mask;; i = (i + 1) & mask) {
		if (t->s[i].code == code) {
			t->s[i].count++;
			return;
		}
		if (t->s[i].code == 0) {
			t->s[i].code = code;
			t->s[i].count = 1;
			t->n++;
			return;
		}
	}
}

static uint64_t date_code(const ident_date *d)
{
	if (!d->year || !d->month || !d->day)
		return 0;
	return 0xD000000000000000ULL | (uint64_t)d->year << 16 |
	       (uint64_t)d->month << 8 | d->day;
}

static uint64_t nat_code(const char *nat)
{
	if (!nat[0])
		return 0;
	return 0xE000000000000000ULL | (uint64_t)(uint8_t)nat[0] << 8 |
	       (uint8_t)nat[1];
}

void ident_tf_add(ident_tf *t, const ident_rec *r)
{
	/* each code once per record */
	uint64_t seen[3 * IDENT_NAME_TOKENS * (2 + IDENT_MAX_GROUPS)];
	int ns = 0;
	for (int i = 0; i < r->ngiven + r->nfamily; i++) {
		const ident_tok_enc *k = i < r->ngiven
						 ? &r->given[i]
						 : &r->family[i - r->ngiven];
		uint64_t c[2 + IDENT_MAX_GROUPS] = {k->exact, k->phon};
		for (int g = 0; g < k->ngrp; g++)
			c[2 + g] = k->grp[g];
		for (int j = 0; j < 2 + k->ngrp; j++) {
			int dup = 0;
			for (int s = 0; s < ns; s++)
				if (seen[s] == c[j])
					dup = 1;
			if (!dup && ns < (int)(sizeof seen / sizeof seen[0])) {
				seen[ns++] = c[j];
				tf_bump(t, c[j]);
			}
		}
	}
	tf_bump(t, date_code(&r->birth));
	tf_bump(t, nat_code(r->nat));
	t->records += 1;
}

/* The slot of `code`, or SIZE_MAX when the table does not hold it. */
static size_t tf_find(const ident_tf *t, uint64_t code)
{
	size_t mask = t->cap - 1;
	if (code == 0)
		return SIZE_MAX;
	for (size_t i = mix(code) & mask;; i = (i + 1) & mask) {
		if (t->s[i].code == code)
			return i;
		if (t->s[i].code == 0)
			return SIZE_MAX;
	}
}

static double tf_count(const ident_tf *t, uint64_t code)
{
	size_t i = tf_find(t, code);
	return i != SIZE_MAX ? t->s[i].count : 0;
}

void ident_tf_count(ident_tf *t, uint64_t code)
{
	tf_bump(t, code);
}

double ident_tf_get(const ident_tf *t, uint64_t code)
{
	return t != NULL ? tf_count(t, code) : 0;
}

ident_tf *ident_tf_new_names(double records)
{
	ident_tf *t = calloc(1, sizeof *t);
	if (t == NULL)
		return NULL;
	t->cap = 64; /* a query's tokens; grows like any table */
	t->s = calloc(t->cap, sizeof *t->s);
	if (t->s == NULL) {
		free(t);
		return NULL;
	}
	t->records = records > 0 ? records : 0;
	t->self = 1; /* the query is not among the stored records */
	t->names = 1;
	return t;
}

/* Hold `code` with `count` records (the larger if already held). */
static void tf_put(ident_tf *t, uint64_t code, uint32_t count)
{
	size_t i;

	if (code == 0)
		return;
	i = tf_find(t, code);
	if (i == SIZE_MAX) {
		tf_bump(t, code);
		i = tf_find(t, code);
		if (i == SIZE_MAX)
			return; /* out of memory: left to u */
	}
	if (t->s[i].count < count)
		t->s[i].count = count;
}

void ident_tf_put_names(ident_tf *t, const ident_rec *r,
			const uint64_t counts[IDENT_NAME_KEYS])
{
	for (int i = 0; i < r->ngiven + r->nfamily && i < IDENT_NAME_KEYS;
	     i++) {
		const ident_tok_enc *k = i < r->ngiven
						 ? &r->given[i]
						 : &r->family[i - r->ngiven];
		uint32_t c = counts[i] > UINT32_MAX ? UINT32_MAX
						    : (uint32_t)counts[i];
		if (c == 0)
			continue; /* no key, or not counted yet */
		tf_put(t, k->exact, c);
		tf_put(t, k->phon, c);
	}
}

void ident_tf_set_self(ident_tf *t, int n)
{
	t->self = n < 0 ? 0 : n > 2 ? 2 : n;
}

double ident_tf_freq(const ident_tf *t, int field, uint64_t code)
{
	(void)field;
	if (t == NULL || t->records <= 0)
		return 0;
	/* a names table knows nothing of a code it does not hold: not the
	 * rarest (ties go to the names it has counted) */
	if (t->names && tf_find(t, code) == SIZE_MAX)
		return 1.0;
	return tf_count(t, code) / t->records;
}

/* ---------------------------------------------------------------------- */
/* Levels                                                                 */
/* ---------------------------------------------------------------------- */

int ident_token_level(const ident_tok_enc *a, const ident_tok_enc *b,
		      uint64_t *code)
{
	double d;
	*code = 0;
	if (a->exact == b->exact) {
		*code = a->exact;
		return IDENT_NL_EXACT;
	}
	for (int i = 0; i < a->ngrp; i++) {
		for (int j = 0; j < b->ngrp; j++) {
			if (a->grp[i] == b->grp[j]) {
				*code = a->grp[i];
				return IDENT_NL_VARIANT;
			}
		}
	}
	/* a close spelling first: a shared consonant skeleton is common
	 * (its term frequency weighs it down), one typo is not */
	d = ident_dice(a->bloom, b->bloom, IDENT_TOK_BLOOM_WORDS);
	if (d >= IDENT_DICE_TYPO)
		return IDENT_NL_TYPO;
	if (a->phon && a->phon == b->phon) {
		*code = a->phon;
		return IDENT_NL_PHON;
	}
	if (d >= IDENT_DICE_WEAK)
		return IDENT_NL_WEAK;
	return IDENT_NL_DIFF;
}

static int real_tokens(const ident_tok_enc *t, int n)
{
	int k = 0;
	for (int i = 0; i < n; i++)
		k += !(t[i].flags & IDENT_TOK_JOINED);
	return k;
}

static int field_level(const ident_tf *tf, const ident_tok_enc *a, int na,
		       const ident_tok_enc *b, int nb, uint64_t *code,
		       uint8_t *ai, uint8_t *bi)
{
	int best = IDENT_MISSING;
	double bestf = 2.0;
	*code = 0;
	*ai = *bi = 0;
	for (int i = 0; i < na; i++) {
		for (int j = 0; j < nb; j++) {
			uint64_t c;
			int l = ident_token_level(&a[i], &b[j], &c);
			double f = c && tf ? ident_tf_freq(tf, 0, c) : 1.0;
			if (best == IDENT_MISSING || l < best ||
			    (l == best && f < bestf)) {
				best = l;
				bestf = f;
				*code = c;
				*ai = (uint8_t)i;
				*bi = (uint8_t)j;
			}
		}
	}
	/* several names on both sides ("Ali Asaf" / "Omer Asaf"): one
	 * agreeing and all the others different is another person */
	if (best != IDENT_MISSING && best <= IDENT_NL_PHON &&
	    !(a[*ai].flags & IDENT_TOK_JOINED) &&
	    !(b[*bi].flags & IDENT_TOK_JOINED) && real_tokens(a, na) >= 2 &&
	    real_tokens(b, nb) >= 2) {
		int other = 0;
		for (int i = 0; i < na && !other; i++) {
			for (int j = 0; j < nb && !other; j++) {
				uint64_t c;
				if (i == *ai || j == *bi ||
				    (a[i].flags & IDENT_TOK_JOINED) ||
				    (b[j].flags & IDENT_TOK_JOINED))
					continue;
				other = ident_token_level(&a[i], &b[j], &c) <=
					IDENT_NL_PHON;
			}
		}
		if (!other) {
			best = IDENT_NL_PART;
			*code = 0;
		}
	}
	return best;
}

static int days_from_civil(int y, unsigned m, unsigned d)
{
	/* Howard Hinnant's algorithm */
	y -= m <= 2;
	int era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int)doe - 719468;
}

static int one_digit_apart(int a, int b)
{
	int diff = 0;
	for (int i = 0; i < 4; i++) {
		if (a % 10 != b % 10)
			diff++;
		a /= 10;
		b /= 10;
	}
	return diff == 1;
}

int ident_birth_level(const ident_date *a0, const ident_date *b0)
{
	/* 1 January is what registrations write when only the year is
	 * known: it counts as the year alone */
	ident_date ca = *a0, cb = *b0;
	const ident_date *a = &ca, *b = &cb;
	if (ca.month == 1 && ca.day == 1)
		ca.month = ca.day = 0;
	if (cb.month == 1 && cb.day == 1)
		cb.month = cb.day = 0;
	if (a0->year && b0->year && a0->month == b0->month &&
	    a0->day == b0->day && a0->year == b0->year && a0->month)
		return a0->day ? IDENT_BL_EXACT : IDENT_BL_PARTIAL;
	int afull = a->year && a->month && a->day;
	int bfull = b->year && b->month && b->day;
	if ((!a->year && !a->ylo) || (!b->year && !b->ylo))
		return IDENT_MISSING;
	if (afull && bfull) {
		int dy = abs((int)a->year - (int)b->year);
		long dd;
		if (a->year == b->year && a->month == b->month &&
		    a->day == b->day)
			return IDENT_BL_EXACT;
		if (a->year == b->year && a->month == b->day &&
		    a->day == b->month)
			return IDENT_BL_SWAP;
		if (a->year == b->year &&
		    (a->month == b->month || a->day == b->day))
			return IDENT_BL_DAYMON;
		if (a->month == b->month && a->day == b->day &&
		    (dy == 1 || one_digit_apart(a->year, b->year)))
			return IDENT_BL_YEAR;
		/* two errors of the same kinds at once: day and month
		 * swapped and a year off */
		if (a->month == b->day && a->day == b->month && dy == 1)
			return IDENT_BL_YEAR;
		dd = labs((long)days_from_civil(a->year, a->month, a->day) -
			  (long)days_from_civil(b->year, b->month, b->day));
		return dd <= 400 ? IDENT_BL_CLOSE : IDENT_BL_DIFF;
	}
	if (a->year && b->year) {
		/* at least one partial */
		int dy = abs((int)a->year - (int)b->year);
		if (dy == 0 && a->month && b->month && a->month == b->month)
			return IDENT_BL_PARTIAL;
		if (dy == 0 && (!a->month || !b->month))
			return IDENT_BL_PARTIAL_YEAR;
		return dy <= 1 ? IDENT_BL_NEAR : IDENT_BL_DIFF;
	}
	/* a declared age on one side at least */
	{
		int alo = a->year ? a->year : a->ylo;
		int ahi = a->year ? a->year : a->yhi;
		int blo = b->year ? b->year : b->ylo;
		int bhi = b->year ? b->year : b->yhi;
		if (alo <= bhi && blo <= ahi)
			return IDENT_BL_AGE;
		if (alo <= bhi + 1 && blo <= ahi + 1)
			return IDENT_BL_NEAR;
		return IDENT_BL_DIFF;
	}
}

int ident_nat_level(const char *a, const char *b)
{
	/* nationalities given for one another: neighbours, one former
	 * country, or a claim the exploiters coach (ISO alpha-2 groups) */
	static const char *const NEAR[] = {
		"MA DZ TN LY EH",
		"LY EG SD TD",
		"EG SD PS JO",
		"IQ SY JO LB PS",
		"SY TR IQ",
		"AF IR PK TJ",
		"BA RS HR ME SI MK XK",
		"AL XK MK ME GR",
		"RO MD UA",
		"BG MK RO",
		"NG GH CM CI",
		"SN ML GN GM MR",
		"ER ET SO SD",
		"RU UA BY MD GE",
		"VN CN",
	};
	if (strcmp(a, b) == 0)
		return IDENT_SAME;
	if (strlen(a) != 2 || strlen(b) != 2)
		return IDENT_DIFF;
	for (size_t i = 0; i < sizeof NEAR / sizeof NEAR[0]; i++) {
		/* codes sit at offsets 0, 3, 6... */
		int ina = 0, inb = 0;
		for (const char *p = NEAR[i]; p[0] && p[1]; p += p[2] ? 3 : 2) {
			ina |= p[0] == a[0] && p[1] == a[1];
			inb |= p[0] == b[0] && p[1] == b[1];
		}
		if (ina && inb)
			return IDENT_NAT_NEAR;
	}
	return IDENT_DIFF;
}

void ident_compare(const ident_tf *tf, const ident_rec *a, const ident_rec *b,
		   ident_cmp *out)
{
	memset(out, 0, sizeof *out);
	out->lvl[IDENT_F_GIVEN] = (int8_t)field_level(
		tf, a->given, a->ngiven, b->given, b->ngiven,
		&out->tf[IDENT_F_GIVEN], &out->at[0], &out->bt[0]);
	out->lvl[IDENT_F_FAMILY] = (int8_t)field_level(
		tf, a->family, a->nfamily, b->family, b->nfamily,
		&out->tf[IDENT_F_FAMILY], &out->at[1], &out->bt[1]);
	out->xlvl[0] = (int8_t)field_level(tf, a->given, a->ngiven, b->family,
					   b->nfamily, &out->xtf[0],
					   &out->at[2], &out->bt[2]);
	out->xlvl[1] = (int8_t)field_level(tf, a->family, a->nfamily, b->given,
					   b->ngiven, &out->xtf[1], &out->at[3],
					   &out->bt[3]);
	out->lvl[IDENT_F_BIRTH] =
		(int8_t)ident_birth_level(&a->birth, &b->birth);
	out->tf[IDENT_F_BIRTH] = out->lvl[IDENT_F_BIRTH] == IDENT_BL_EXACT
					 ? date_code(&a->birth)
					 : 0;
	if (a->sex && b->sex)
		out->lvl[IDENT_F_SEX] =
			a->sex == b->sex ? IDENT_SAME : IDENT_DIFF;
	else
		out->lvl[IDENT_F_SEX] = IDENT_MISSING;
	if (a->nat[0] && b->nat[0])
		out->lvl[IDENT_F_NAT] = (int8_t)ident_nat_level(a->nat, b->nat);
	else
		out->lvl[IDENT_F_NAT] = IDENT_MISSING;
	if (out->lvl[IDENT_F_NAT] == IDENT_SAME)
		out->tf[IDENT_F_NAT] = nat_code(a->nat);
}

/* ---------------------------------------------------------------------- */
/* Weights                                                                */
/* ---------------------------------------------------------------------- */

/* The term-frequency adjustment stays within +4 / -2 bits of the
 * average: a rare value says more, a common one (a skeleton shared by all
 * the Mohameds) still says something. */
#define TF_UP 16.0
#define TF_DOWN 4.0
/* Pseudo-records for smoothing term frequencies towards u. */
#define TF_PRIOR 1000.0

static double weight(const ident_model *m, const ident_tf *tf, int field,
		     int level, uint64_t code)
{
	double mm, uu;
	if (level == IDENT_MISSING)
		return 0.0;
	mm = m->m[field][level];
	uu = m->u[field][level];
	if (tf && code && tf->records > 0 &&
	    (!tf->names || tf_find(tf, code) != SIZE_MAX) &&
	    (field == IDENT_F_BIRTH ? level == IDENT_BL_EXACT
	     : field == IDENT_F_NAT
		     ? level == IDENT_SAME
		     : (field <= IDENT_F_FAMILY && level <= IDENT_NL_PHON))) {
		/* how often another record holds the value: the two
		 * records compared are not counted (a value seen only in
		 * this pair is rare, not "1 in N") */
		double cnt = tf_count(tf, code) - tf->self;
		double f = ((cnt > 0 ? cnt : 0) + TF_PRIOR * uu) /
			   (tf->records + TF_PRIOR);
		if (f < uu / TF_UP)
			f = uu / TF_UP;
		if (f > uu * TF_DOWN)
			f = uu * TF_DOWN;
		uu = f;
	}
	return log2(mm / uu);
}

/*
 * How the names are read: 0 straight (given with given, family with
 * family), 1 crosswise (given and family swapped), 2 and 3 when one side
 * has one name field only: its name compared with the other field of the
 * other side (a given name written as the family name, or the reverse).
 */
static int orientation(const ident_model *m, const ident_tf *tf,
		       const ident_cmp *c, double *wg, double *wf)
{
	double sg = weight(m, tf, IDENT_F_GIVEN, c->lvl[IDENT_F_GIVEN],
			   c->tf[IDENT_F_GIVEN]);
	double sf = weight(m, tf, IDENT_F_FAMILY, c->lvl[IDENT_F_FAMILY],
			   c->tf[IDENT_F_FAMILY]);
	double xg = weight(m, tf, IDENT_F_GIVEN, c->xlvl[0], c->xtf[0]);
	double xf = weight(m, tf, IDENT_F_FAMILY, c->xlvl[1], c->xtf[1]);
	double best = sg + sf;
	int o = 0;
	*wg = sg;
	*wf = sf;
	if (c->xlvl[0] != IDENT_MISSING && c->xlvl[1] != IDENT_MISSING) {
		if (xg + xf + m->swap_penalty > best) {
			*wg = xg + m->swap_penalty / 2;
			*wf = xf + m->swap_penalty / 2;
			return 1;
		}
		return 0;
	}
	/* one field missing somewhere: a lone name may sit in the other
	 * field (its weight counted once, as the field it matched) */
	if (c->xlvl[0] != IDENT_MISSING && xg + m->swap_penalty / 2 > best) {
		best = xg + m->swap_penalty / 2;
		*wg = best;
		*wf = 0;
		o = 2;
	}
	if (c->xlvl[1] != IDENT_MISSING && xf + m->swap_penalty / 2 > best) {
		best = xf + m->swap_penalty / 2;
		*wg = 0;
		*wf = best;
		o = 3;
	}
	return o;
}

double ident_score(const ident_model *m, const ident_tf *tf, ident_cmp *c,
		   double w[IDENT_NFIELDS])
{
	double ww[IDENT_NFIELDS], sum = 0;
	c->swapped = (uint8_t)orientation(m, tf, c, &ww[IDENT_F_GIVEN],
					  &ww[IDENT_F_FAMILY]);
	for (int f = IDENT_F_BIRTH; f < IDENT_NFIELDS; f++)
		ww[f] = weight(m, tf, f, c->lvl[f], c->tf[f]);
	for (int f = 0; f < IDENT_NFIELDS; f++)
		sum += ww[f];
	if (w)
		memcpy(w, ww, sizeof ww);
	return sum;
}

int ident_explain(const ident_model *m, const ident_tf *tf, ident_cmp *c,
		  const ident_name *names_a, const ident_name *names_b,
		  char *out, size_t outlen)
{
	double w[IDENT_NFIELDS];
	size_t o = 0;
	int r;

	ident_score(m, tf, c, w);
	if (outlen)
		out[0] = 0;
	for (int f = 0; f < IDENT_NFIELDS; f++) {
		int lvl = c->lvl[f], k = f;
		const char *note = "";
		char extra[96] = "";
		if (f <= IDENT_F_FAMILY && c->swapped == 1) {
			lvl = c->xlvl[f];
			k = 2 + f;
			note = " (given and family names swapped)";
		} else if (f <= IDENT_F_FAMILY && c->swapped >= 2) {
			/* the lone name, with the field it matched */
			k = c->swapped == 2 ? 2 : 3;
			lvl = f == k - 2 ? c->xlvl[k - 2] : IDENT_MISSING;
			note = " (written in the other name field)";
		}
		if (lvl == IDENT_MISSING)
			continue;
		if (f <= IDENT_F_FAMILY && names_a && names_b &&
		    lvl != IDENT_NL_EXACT && lvl != IDENT_NL_DIFF) {
			const ident_name *na = &names_a[k >= 2 ? k - 2 : k];
			const ident_name *nb =
				&names_b[k >= 2 ? 1 - (k - 2) : k];
			if (c->at[k] < na->n && c->bt[k] < nb->n)
				snprintf(extra, sizeof extra, " (%s / %s)",
					 na->t[c->at[k]].s, nb->t[c->bt[k]].s);
		}
		r = snprintf(out + o, o < outlen ? outlen - o : 0,
			     "%s%s: %s%s%s %+.1f", o ? "; " : "",
			     ident_field_name(f), ident_level_name(f, lvl),
			     extra, note, w[f]);
		if (r > 0)
			o += (size_t)r;
	}
	return (int)o;
}

/* ---------------------------------------------------------------------- */
/* Model                                                                  */
/* ---------------------------------------------------------------------- */

void ident_model_default(ident_model *m)
{
	/* Estimated on generated data (ident-linkq --fit, seed 1); EM on the
	 * input refines m, random pairs of the input give u. */
	static const double M[IDENT_NFIELDS][IDENT_MAX_LEVELS] = {
		{0.66118, 0.20964, 0.08514, 0.02237, 0.00191, 0.01439, 0.00538},
		{0.72785, 0.14592, 0.09204, 0.01571, 0.00052, 0.01468, 0.00328},
		/* a date other than these errors: rarer in the generated
		 * data than in the field, kept at 0.3 % */
		{0.48359, 0.03950, 0.05321, 0.12500, 0.04455, 0.12428, 0.08171,
		 0.03878, 0.00812, 0.00300},
		{0.97990, 0.02010},
		/* a nationality other than a neighbour's is rare in the
		 * generated data, not in the field: kept at 1 % */
		{0.88500, 0.01000, 0.10500},
	};
	static const double U[IDENT_NFIELDS][IDENT_MAX_LEVELS] = {
		{0.002447, 0.001385, 0.003416, 0.001949, 0.000218, 0.035929,
		 0.954660},
		{0.001879, 0.000384, 0.002190, 0.001495, 0.000033, 0.021807,
		 0.972215},
		{0.000400, 0.000065, 0.007468, 0.001036, 0.000531, 0.015624,
		 0.019135, 0.060612, 0.147370, 0.747755},
		{0.514889, 0.485111},
		{0.103056, 0.734530, 0.162414},
	};
	memset(m, 0, sizeof *m);
	memcpy(m->m, M, sizeof M);
	memcpy(m->u, U, sizeof U);
	m->swap_penalty = -2.0;
	m->lambda = 0.05;
}

void ident_model_print(const ident_model *m, FILE *f)
{
	fprintf(f, "lambda %.4f swap_penalty %.2f\n", m->lambda,
		m->swap_penalty);
	for (int fi = 0; fi < IDENT_NFIELDS; fi++) {
		fprintf(f, "%-12s", ident_field_name(fi));
		for (int l = 0; l < NLEVELS[fi]; l++)
			fprintf(f, " %d:m=%.5f,u=%.6f(%+.1f)", l, m->m[fi][l],
				m->u[fi][l], log2(m->m[fi][l] / m->u[fi][l]));
		fprintf(f, "\n");
	}
}

/* The levels read with the orientation the model prefers. */
static void oriented(const ident_model *m, const ident_cmp *c, int8_t *lv)
{
	double wg, wf;
	memcpy(lv, c->lvl, IDENT_NFIELDS);
	switch (orientation(m, NULL, c, &wg, &wf)) {
	case 1:
		lv[IDENT_F_GIVEN] = c->xlvl[0];
		lv[IDENT_F_FAMILY] = c->xlvl[1];
		break;
	case 2:
		lv[IDENT_F_GIVEN] = c->xlvl[0];
		lv[IDENT_F_FAMILY] = IDENT_MISSING;
		break;
	case 3:
		lv[IDENT_F_GIVEN] = IDENT_MISSING;
		lv[IDENT_F_FAMILY] = c->xlvl[1];
		break;
	default:
		break;
	}
}

void ident_model_estimate_u(ident_model *m, const ident_cmp *v, size_t n)
{
	/* the built-in u as a prior worth ALPHA pairs */
	const double ALPHA = 2000;
	double cnt[IDENT_NFIELDS][IDENT_MAX_LEVELS] = {{0}};
	double tot[IDENT_NFIELDS] = {0};
	for (size_t i = 0; i < n; i++) {
		for (int f = 0; f < IDENT_NFIELDS; f++) {
			int l = v[i].lvl[f];
			if (l == IDENT_MISSING)
				continue;
			cnt[f][l] += 1;
			tot[f] += 1;
		}
	}
	for (int f = 0; f < IDENT_NFIELDS; f++)
		for (int l = 0; l < NLEVELS[f]; l++)
			m->u[f][l] = (cnt[f][l] + ALPHA * m->u[f][l]) /
				     (tot[f] + ALPHA);
}

int ident_model_em(ident_model *m, const ident_cmp *v, size_t n, int max_iter)
{
	/* the current m as a prior worth ALPHA matches */
	const double ALPHA = 50;
	ident_model prior = *m;
	int8_t *lv;
	int it;

	if (n == 0)
		return 0;
	lv = malloc(n * IDENT_NFIELDS);
	if (lv == NULL)
		return 0;
	for (it = 0; it < max_iter; it++) {
		double cnt[IDENT_NFIELDS][IDENT_MAX_LEVELS] = {{0}};
		double tot[IDENT_NFIELDS] = {0}, sg = 0, delta = 0;
		double lm = log(m->lambda), lu = log(1 - m->lambda);
		for (size_t i = 0; i < n; i++) {
			int8_t *l = lv + i * IDENT_NFIELDS;
			double pm = lm, pu = lu, g;
			oriented(m, &v[i], l);
			for (int f = 0; f < IDENT_NFIELDS; f++) {
				if (l[f] == IDENT_MISSING)
					continue;
				pm += log(m->m[f][l[f]]);
				pu += log(m->u[f][l[f]]);
			}
			g = 1.0 / (1.0 + exp(pu - pm));
			sg += g;
			for (int f = 0; f < IDENT_NFIELDS; f++) {
				if (l[f] == IDENT_MISSING)
					continue;
				cnt[f][l[f]] += g;
				tot[f] += g;
			}
		}
		for (int f = 0; f < IDENT_NFIELDS; f++) {
			for (int l = 0; l < NLEVELS[f]; l++) {
				double nm =
					(cnt[f][l] + ALPHA * prior.m[f][l]) /
					(tot[f] + ALPHA);
				delta += fabs(nm - m->m[f][l]);
				m->m[f][l] = nm;
			}
		}
		m->lambda = (sg + 1) / ((double)n + 2);
		if (delta < 1e-5)
			break;
	}
	free(lv);
	return it;
}

/* the least m of a level after self-training */
#define FIT_M_FLOOR 0.001

int ident_model_fit(ident_model *m, const ident_tf *tf, ident_cmp *v,
		    const uint8_t *mutual, size_t n, double conf, int max_iter)
{
	/* the built-in m as a prior worth ALPHA pairs per field */
	const double ALPHA = 100;
	ident_model prior = *m;
	int it;

	if (n == 0)
		return 0;
	for (it = 0; it < max_iter; it++) {
		double cnt[IDENT_NFIELDS][IDENT_MAX_LEVELS] = {{0}};
		double tot[IDENT_NFIELDS] = {0}, delta = 0;
		for (size_t i = 0; i < n; i++) {
			double w[IDENT_NFIELDS], sum;
			int8_t lv[IDENT_NFIELDS];
			if (mutual && !mutual[i])
				continue;
			/* confident with this field too: namesakes (names
			 * alone confident) born years apart stay out, at the
			 * cost of under-counting the worst levels, which the
			 * prior and the floor below keep possible */
			sum = ident_score(m, tf, &v[i], w);
			if (sum < conf)
				continue;
			oriented(m, &v[i], lv);
			for (int f = 0; f < IDENT_NFIELDS; f++) {
				double rest = sum - w[f];
				if (lv[f] == IDENT_MISSING || rest < conf)
					continue;
				cnt[f][lv[f]] += 1;
				tot[f] += 1;
			}
		}
		for (int f = 0; f < IDENT_NFIELDS; f++) {
			double nm[IDENT_MAX_LEVELS], sum = 0;
			for (int l = 0; l < NLEVELS[f]; l++) {
				nm[l] = (cnt[f][l] + ALPHA * prior.m[f][l]) /
					(tot[f] + ALPHA);
				/* no level is ruled out for one person: a
				 * single field never vetoes a match alone */
				if (nm[l] < FIT_M_FLOOR)
					nm[l] = FIT_M_FLOOR;
				sum += nm[l];
			}
			for (int l = 0; l < NLEVELS[f]; l++) {
				delta += fabs(nm[l] / sum - m->m[f][l]);
				m->m[f][l] = nm[l] / sum;
			}
		}
		if (delta < 1e-3)
			break;
	}
	return it;
}
