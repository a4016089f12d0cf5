/*
 * gen: realistic test identities for the linkage benchmark and tests.
 *
 * A population of minors from the countries of this caseload (Maghreb,
 * Egypt, Libya, Iraq; Romania, Bosnia, Serbia, Albania, Kosovo), with
 * names drawn from the common forenames and surnames of these countries
 * and from the Arabic transliteration groups (ident/data/names.tsv), and
 * siblings (same family name, nationality, close birth dates). Each
 * institution records its own observation of a person, with the errors
 * of issue 5: another romanisation (Mohamed / Muhammad / Mehmet), native
 * script (Arabic, Serbian Cyrillic), dropped diacritics, typos, capitals,
 * particles (Ben Ali / Benali / Ali), a dropped second given name,
 * swapped given and family names, a birth year off by one, day and month
 * swapped, another day, partial dates, a declared age instead of a date,
 * the 1 January of registrations without a date, missing values, another
 * nationality claimed. Partial overlap: some persons appear on one side
 * only.
 */
#include "ident.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void ident_gen_opts_default(ident_gen_opts *o)
{
	memset(o, 0, sizeof *o);
	o->seed = 1;
	o->n_left = 5000;
	o->n_right = 5000;
	o->overlap = 0.6;
	o->error_scale = 1.0;
}

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static double unif(struct rng *r)
{
	return (double)(rnd(r) >> 11) / 9007199254740992.0;
}

static size_t pick(struct rng *r, size_t n)
{
	return n ? (size_t)(rnd(r) % n) : 0;
}

struct gname {
	const char *latin; /* canonical spelling */
	long grp;	   /* Arabic variant group, or -1 */
	const char *native;
};

struct person {
	struct gname given[2];
	int ngiven;
	struct gname family;
	const char *particle; /* "Ben", "El" or NULL */
	char nat[3];
	char sex;
	int y, m, d;
	char derived[128]; /* a family name formed from a forename */
};

struct pools {
	const ident_names *k;
	/* per country and sex: indices into the forenames */
	const ident_names_entry *fore, *sur;
	size_t nfore, nsur;
	long *fore_grp;
	size_t *arab_sur; /* Arabic groups usable as family names */
	size_t narab_sur;
};

static const struct {
	const char *cc;
	double w;
	int arab;
} COUNTRIES[] = {
	{"MA", 14, 1}, {"DZ", 12, 1}, {"TN", 5, 1},  {"EG", 8, 1},
	{"LY", 3, 1},  {"IQ", 5, 1},  {"RO", 16, 0}, {"BA", 8, 0},
	{"RS", 7, 0},  {"AL", 10, 0}, {"XK", 12, 0},
};
#define NCOUNTRIES (sizeof COUNTRIES / sizeof COUNTRIES[0])

/* the country whose name list stands in for one without a list */
static const char *list_country(const char *cc, int forenames)
{
	if (forenames && strcmp(cc, "XK") == 0)
		return "AL";
	if (!forenames && strcmp(cc, "RO") == 0)
		return "RO";
	return cc;
}

static int is_arab(const char *cc)
{
	for (size_t i = 0; i < NCOUNTRIES; i++)
		if (strcmp(COUNTRIES[i].cc, cc) == 0)
			return COUNTRIES[i].arab;
	return 0;
}

static int strongly_arabic(const char *s)
{
	/* ح ع خ ق ط ص ض ظ غ: letters of Arabic-origin names */
	static const char *const L[] = {"ح", "ع", "خ", "ق", "ط",
					"ص", "ض", "ظ", "غ", NULL};
	for (int i = 0; L[i]; i++)
		if (strstr(s, L[i]))
			return 1;
	return 0;
}

static int pools_init(const ident_names *k, ident_norm *n, struct pools *p)
{
	const ident_names_spelling *sp;
	size_t nsp;
	const char *native;
	memset(p, 0, sizeof *p);
	p->k = k;
	p->nfore = ident_names_forenames(k, &p->fore);
	p->nsur = ident_names_surnames(k, &p->sur);
	p->fore_grp = calloc(p->nfore + 1, sizeof *p->fore_grp);
	if (p->fore_grp == NULL)
		return -1;
	for (size_t i = 0; i < p->nfore; i++)
		p->fore_grp[i] = ident_names_group_of(k, n, p->fore[i].name);
	for (size_t i = 0; (native = ident_names_group(k, i, &sp, &nsp)); i++) {
		unsigned total = 0;
		for (size_t j = 0; j < nsp; j++)
			total += sp[j].count;
		if (total >= 10 && strongly_arabic(native)) {
			size_t *np = realloc(p->arab_sur,
					     (p->narab_sur + 1) * sizeof *np);
			if (np == NULL)
				return -1;
			p->arab_sur = np;
			p->arab_sur[p->narab_sur++] = i;
		}
	}
	return 0;
}

static void pools_free(struct pools *p)
{
	free(p->fore_grp);
	free(p->arab_sur);
}

static const char *pick_country(struct rng *r)
{
	double tot = 0, x;
	for (size_t i = 0; i < NCOUNTRIES; i++)
		tot += COUNTRIES[i].w;
	x = unif(r) * tot;
	for (size_t i = 0; i < NCOUNTRIES; i++) {
		if (x < COUNTRIES[i].w)
			return COUNTRIES[i].cc;
		x -= COUNTRIES[i].w;
	}
	return COUNTRIES[0].cc;
}

/* Where the forenames of a country's children come from: its own list
 * (twice) and the lists of its region. */
static const struct {
	const char *cc;
	const char *pool[8];
} REGIONS[] = {
	{"RO", {"RO", "RO", "MD", NULL}},
	{"BA", {"BA", "BA", "ME", "TR", "HR", NULL}},
	{"RS", {"RS", "RS", "ME", "MK", "HR", NULL}},
	{"AL", {"AL", "AL", "TR", "MK", NULL}},
	{"XK", {"AL", "AL", "TR", "MK", NULL}},
	{"MA", {"MA", "MA", "DZ", "TN", "EG", "LY", "IQ", "JO"}},
	{"DZ", {"DZ", "DZ", "MA", "TN", "EG", "LY", "IQ", "LB"}},
	{"TN", {"TN", "TN", "MA", "DZ", "EG", "LY", "IQ", "JO"}},
	{"EG", {"EG", "EG", "MA", "DZ", "LY", "IQ", "JO", "LB"}},
	{"LY", {"LY", "LY", "MA", "DZ", "EG", "IQ", "JO", "LB"}},
	{"IQ", {"IQ", "IQ", "MA", "DZ", "EG", "LY", "JO", "LB"}},
};

static int pick_forename(struct rng *r, const struct pools *p, const char *cc,
			 char sex, struct gname *out)
{
	size_t cand[1024], nc = 0;
	const char *const *pool = NULL;
	const char *self[2] = {cc, NULL};
	for (size_t i = 0; i < sizeof REGIONS / sizeof REGIONS[0]; i++)
		if (strcmp(REGIONS[i].cc, cc) == 0)
			pool = REGIONS[i].pool;
	if (pool == NULL)
		pool = self;
	for (int k = 0; k < 8 && pool[k]; k++) {
		for (size_t i = 0; i < p->nfore && nc < 1024; i++) {
			const ident_names_entry *f = &p->fore[i];
			if (f->sex == sex && strcmp(f->country, pool[k]) == 0)
				cand[nc++] = i;
		}
	}
	if (nc == 0)
		return -1;
	/* beyond the top names of the region: for Arab children, any name
	 * of the Arabic groups; for the others, the forenames of all the
	 * countries in the data */
	if (unif(r) < 0.6) {
		if (is_arab(cc) && p->narab_sur) {
			const ident_names_spelling *sp;
			size_t nsp, g = p->arab_sur[pick(r, p->narab_sur)];
			out->native = ident_names_group(p->k, g, &sp, &nsp);
			out->latin = sp[0].s;
			out->grp = (long)g;
			return 0;
		}
		nc = 0;
		for (size_t i = 0; i < p->nfore && nc < 1024; i++)
			if (p->fore[i].sex == sex &&
			    !is_arab(p->fore[i].country))
				cand[nc++] = i;
	}
	size_t i = cand[pick(r, nc)];
	out->latin = p->fore[i].name;
	out->native = p->fore[i].native;
	out->grp = p->fore_grp[i];
	return 0;
}

/* A family name formed from a forename, as most in the region are:
 * Ion -> Ionescu, Marko -> Marković, Hamza -> Hamzić, Hasan -> Hasani,
 * Adem -> Ademaj. Written into buf (kept in the person's arena). */
static void derived_surname(struct rng *r, const char *cc, const char *fn,
			    char *buf, size_t cap)
{
	char stem[96];
	size_t n;
	int vowel_end;
	snprintf(stem, sizeof stem, "%.60s", fn);
	n = strlen(stem);
	vowel_end = n > 0 && strchr("aeiouy", stem[n - 1]) != NULL;
	if (strcmp(cc, "RO") == 0 || strcmp(cc, "MD") == 0) {
		static const char *const SUF[] = {"escu", "eanu", "ache", "uc"};
		if (vowel_end && n > 3)
			stem[--n] = 0;
		snprintf(buf, cap, "%s%s", stem, SUF[pick(r, 4)]);
	} else if (strcmp(cc, "AL") == 0 || strcmp(cc, "XK") == 0) {
		snprintf(buf, cap, "%s%s", stem,
			 vowel_end ? "j" : (unif(r) < 0.7 ? "i" : "aj"));
	} else {
		if (vowel_end && n > 3) {
			stem[--n] = 0;
			snprintf(buf, cap, "%s%s", stem,
				 unif(r) < 0.5 ? "ić" : "ović");
		} else {
			snprintf(buf, cap, "%s%s", stem,
				 (n && strchr("jcčćšžđ", stem[n - 1]))
					 ? "ević"
					 : "ović");
		}
	}
}

static void make_person(struct rng *r, const ident_names *k,
			const struct pools *p, struct person *ps)
{
	const char *cc = pick_country(r);
	memset(ps, 0, sizeof *ps);
	memcpy(ps->nat, cc, 2);
	ps->sex = unif(r) < 0.6 ? 'M' : 'F';
	if (pick_forename(r, p, cc, ps->sex, &ps->given[0]) < 0)
		pick_forename(r, p, "MA", ps->sex, &ps->given[0]);
	ps->ngiven = 1;
	if (unif(r) < (is_arab(cc) ? 0.2 : 0.05) &&
	    pick_forename(r, p, cc, ps->sex, &ps->given[1]) == 0 &&
	    strcmp(ps->given[1].latin, ps->given[0].latin) != 0)
		ps->ngiven = 2;
	if (is_arab(cc)) {
		double x = unif(r);
		if (x < 0.45 && p->narab_sur) {
			const ident_names_spelling *sp;
			size_t nsp, g = p->arab_sur[pick(r, p->narab_sur)];
			ps->family.native = ident_names_group(k, g, &sp, &nsp);
			ps->family.latin = sp[0].s;
			ps->family.grp = (long)g;
		} else {
			/* a patronymic: the father's or grandfather's name */
			pick_forename(r, p, cc, 'M', &ps->family);
			if (x > 0.80)
				ps->particle = "Ben";
			else if (x > 0.72)
				ps->particle = "El";
		}
	} else {
		size_t cand[256], nc = 0;
		const char *lc = list_country(cc, 0);
		for (size_t i = 0; i < p->nsur && nc < 256; i++)
			if (strcmp(p->sur[i].country, lc) == 0 ||
			    (strcmp(lc, "RO") == 0 &&
			     strcmp(p->sur[i].country, "MD") == 0))
				cand[nc++] = i;
		size_t i = nc ? cand[pick(r, nc)] : pick(r, p->nsur);
		struct gname father;
		ps->family.latin = p->sur[i].name;
		ps->family.native = p->sur[i].native;
		ps->family.grp = -1;
		if (unif(r) < 0.5 &&
		    pick_forename(r, p, cc, 'M', &father) == 0) {
			derived_surname(r, cc, father.latin, ps->derived,
					sizeof ps->derived);
			ps->family.latin = ps->derived;
			ps->family.native = NULL;
		}
	}
	ps->y = 2006 + (int)pick(r, 9);
	ps->m = 1 + (int)pick(r, 12);
	ps->d = 1 + (int)pick(r, 28);
}

/* ---------------------------------------------------------------------- */
/* Observation errors                                                     */
/* ---------------------------------------------------------------------- */

/* Fold the diacritics a keyboard without them loses. */
static void strip_diacritics(const char *in, char *out, size_t outlen)
{
	static const char *const M[][2] = {
		{"č", "c"}, {"ć", "c"},	 {"š", "s"}, {"ž", "z"}, {"đ", "dj"},
		{"Č", "C"}, {"Ć", "C"},	 {"Š", "S"}, {"Ž", "Z"}, {"Đ", "Dj"},
		{"ș", "s"}, {"ş", "s"},	 {"ț", "t"}, {"ţ", "t"}, {"ă", "a"},
		{"â", "a"}, {"î", "i"},	 {"Ș", "S"}, {"Ț", "T"}, {"Î", "I"},
		{"ë", "e"}, {"ç", "c"},	 {"Ç", "C"}, {"é", "e"}, {"è", "e"},
		{"ï", "i"}, {"û", "u"},	 {"ô", "o"}, {"ü", "u"}, {"ö", "o"},
		{"Ë", "E"}, {NULL, NULL}};
	size_t o = 0;
	while (*in && o + 3 < outlen) {
		int done = 0;
		for (int i = 0; M[i][0]; i++) {
			size_t l = strlen(M[i][0]);
			if (strncmp(in, M[i][0], l) == 0) {
				size_t rl = strlen(M[i][1]);
				memcpy(out + o, M[i][1], rl);
				o += rl;
				in += l;
				done = 1;
				break;
			}
		}
		if (!done)
			out[o++] = *in++;
	}
	out[o] = 0;
}

static int ascii_only(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* One keyboard error in an ASCII word. */
static void typo(struct rng *r, char *s, size_t cap)
{
	size_t n = strlen(s);
	size_t i;
	int kind = (int)pick(r, 4);
	if (n < 3 || !ascii_only(s))
		return;
	i = 1 + pick(r, n - 1); /* first letter kept, as people do */
	switch (kind) {
	case 0: /* substitution */
		s[i] = (char)('a' + pick(r, 26));
		break;
	case 1: /* deletion */
		memmove(s + i, s + i + 1, n - i);
		break;
	case 2: /* insertion */
		if (n + 2 < cap) {
			memmove(s + i + 1, s + i, n - i + 1);
			s[i] = (char)('a' + pick(r, 26));
		}
		break;
	default: /* transposition */
		if (i + 1 < n) {
			char t = s[i];
			s[i] = s[i + 1];
			s[i + 1] = t;
		}
		break;
	}
}

static void capitalise(char *s)
{
	if (s[0] >= 'a' && s[0] <= 'z')
		s[0] = (char)(s[0] - 'a' + 'A');
}

static void upper(char *s)
{
	if (!ascii_only(s))
		return;
	for (; *s; s++)
		if (*s >= 'a' && *s <= 'z')
			*s = (char)(*s - 'a' + 'A');
}

/* The spelling an institution writes down for one name. */
static void render(struct rng *r, const ident_names *k, const struct gname *g,
		   const char *nat, double es, char *out, size_t cap)
{
	const char *s = g->latin;
	char tmp[128];
	int arab = is_arab(nat);
	if (g->grp >= 0 && unif(r) < 0.55 * es) {
		const ident_names_spelling *sp;
		size_t nsp;
		unsigned tot = 0, x;
		ident_names_group(k, (size_t)g->grp, &sp, &nsp);
		for (size_t i = 0; i < nsp; i++)
			tot += sp[i].count;
		x = tot ? (unsigned)pick(r, tot) : 0;
		for (size_t i = 0; i < nsp; i++) {
			if (x < sp[i].count) {
				s = sp[i].s;
				break;
			}
			x -= sp[i].count;
		}
	}
	if (g->native && arab && unif(r) < 0.06 * es) {
		snprintf(out, cap, "%s", g->native);
		return;
	}
	if (g->native && strcmp(nat, "RS") == 0 && unif(r) < 0.25 * es) {
		snprintf(out, cap, "%s", g->native);
		return;
	}
	if (!ascii_only(s) && unif(r) < 0.5 * es) {
		strip_diacritics(s, tmp, sizeof tmp);
		s = tmp;
	}
	snprintf(out, cap, "%s", s);
	capitalise(out);
	if (unif(r) < 0.08 * es)
		typo(r, out, cap);
}

struct obs {
	char given[400], family[400];
	char birth[48];
	int age;
	char age_at[48];
	char sex[2];
	char nat[3];
};

static const char *claimed_nat(struct rng *r, const char *nat)
{
	static const char *const SWAP[][2] = {
		{"MA", "DZ"}, {"DZ", "MA"}, {"TN", "DZ"}, {"EG", "LY"},
		{"LY", "EG"}, {"IQ", "SY"}, {"RO", "MD"}, {"BA", "RS"},
		{"RS", "BA"}, {"AL", "XK"}, {"XK", "AL"}};
	(void)r;
	for (size_t i = 0; i < sizeof SWAP / sizeof SWAP[0]; i++)
		if (strcmp(SWAP[i][0], nat) == 0)
			return SWAP[i][1];
	return nat;
}

static void observe(struct rng *r, const ident_names *k, const struct person *p,
		    double es, struct obs *o)
{
	char g1[160], fam[160];
	double x;
	int y = p->y, m = p->m, d = p->d;

	memset(o, 0, sizeof *o);
	render(r, k, &p->given[0], p->nat, es, g1, sizeof g1);
	if (p->ngiven == 2 && unif(r) > 0.35 * es) {
		char g2[160];
		render(r, k, &p->given[1], p->nat, es, g2, sizeof g2);
		snprintf(o->given, sizeof o->given, "%s %s", g1, g2);
	} else {
		snprintf(o->given, sizeof o->given, "%s", g1);
	}
	render(r, k, &p->family, p->nat, es, fam, sizeof fam);
	if (p->particle) {
		x = unif(r);
		if (x < 0.3 * es) {
			char low[160];
			snprintf(low, sizeof low, "%s", fam);
			if (ascii_only(low) && low[0] >= 'A' && low[0] <= 'Z')
				low[0] = (char)(low[0] - 'A' + 'a');
			snprintf(o->family, sizeof o->family, "%s%s",
				 p->particle, low);
		} else if (x < 0.5 * es) {
			snprintf(o->family, sizeof o->family, "%s", fam);
		} else if (x < 0.6 * es) {
			snprintf(o->family, sizeof o->family, "%s-%s",
				 p->particle, fam);
		} else {
			snprintf(o->family, sizeof o->family, "%s %s",
				 p->particle, fam);
		}
	} else {
		snprintf(o->family, sizeof o->family, "%s", fam);
	}
	if (unif(r) < 0.3)
		upper(o->family);
	if (unif(r) < 0.06 * es) {
		char t[400];
		memcpy(t, o->given, sizeof t);
		memcpy(o->given, o->family, sizeof t);
		memcpy(o->family, t, sizeof t);
	}
	if (unif(r) < 0.02 * es)
		o->given[0] = 0;
	if (unif(r) < 0.02 * es)
		o->family[0] = 0;

	/* birth date */
	x = unif(r) / es;
	if (x < 0.08) {
		y += unif(r) < 0.5 ? -1 : 1;
		snprintf(o->birth, sizeof o->birth, "%04d-%02d-%02d", y, m, d);
	} else if (x < 0.15) {
		if (d <= 12)
			snprintf(o->birth, sizeof o->birth, "%04d-%02d-%02d", y,
				 d, m);
		else
			snprintf(o->birth, sizeof o->birth, "%04d-%02d-%02d", y,
				 m, d);
	} else if (x < 0.19) {
		int nd = 1 + (int)pick(r, 28);
		snprintf(o->birth, sizeof o->birth, "%04d-%02d-%02d", y, m, nd);
	} else if (x < 0.22) {
		snprintf(o->birth, sizeof o->birth, "%04d-%02d", y, m);
	} else if (x < 0.26) {
		snprintf(o->birth, sizeof o->birth, "%04d", y);
	} else if (x < 0.31) {
		/* a declared age on the day of the observation */
		int oy = 2023 + (int)pick(r, 2), om = 1 + (int)pick(r, 12);
		int od = 1 + (int)pick(r, 28);
		int age = oy - y - ((om < m || (om == m && od < d)) ? 1 : 0);
		if (unif(r) < 0.3)
			age += unif(r) < 0.5 ? -1 : 1; /* coached */
		o->age = age;
		snprintf(o->age_at, sizeof o->age_at, "%04d-%02d-%02d", oy, om,
			 od);
	} else if (x < 0.34) {
		snprintf(o->birth, sizeof o->birth, "%04d-01-01", y);
	} else if (x < 0.38) {
		o->birth[0] = 0;
	} else {
		snprintf(o->birth, sizeof o->birth, "%04d-%02d-%02d", y, m, d);
	}
	if (o->age == 0)
		o->age = -1;
	x = unif(r);
	if (x < 0.05 * es)
		o->sex[0] = 0;
	else if (x < 0.06 * es)
		o->sex[0] = p->sex == 'M' ? 'F' : 'M';
	else
		o->sex[0] = p->sex;
	x = unif(r);
	if (x < 0.10 * es)
		o->nat[0] = 0;
	else if (x < 0.15 * es)
		memcpy(o->nat, claimed_nat(r, p->nat), 3);
	else
		memcpy(o->nat, p->nat, 3);
}

static void csv_field(FILE *f, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void write_obs(FILE *f, const char *id, const struct obs *o)
{
	fprintf(f, "%s,", id);
	csv_field(f, o->given);
	fputc(',', f);
	csv_field(f, o->family);
	fprintf(f, ",%s,%s,%s,", o->birth, o->sex, o->nat);
	if (o->age >= 0)
		fprintf(f, "%d,%s", o->age, o->age_at);
	else
		fputc(',', f);
	fputc('\n', f);
}

static void shuffle(struct rng *r, size_t *a, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = pick(r, i);
		size_t t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

static const char HEADER[] = "id,given_name,family_name,birth_date,sex,"
			     "nationality,declared_age,declared_on\n";

int ident_gen(const ident_names *k, ident_norm *n, const ident_gen_opts *o,
	      const char *left_path, const char *right_path,
	      const char *truth_path, char *err, size_t errlen)
{
	struct rng r = {o->seed * 0x2545F4914F6CDD1DULL + 1};
	struct pools p;
	struct person *pop = NULL;
	size_t shared = (size_t)(o->overlap * (double)o->n_left + 0.5);
	size_t npop, *lorder = NULL, *rorder = NULL;
	FILE *fl = NULL, *fr = NULL, *ft = NULL;
	double es = o->error_scale > 0 ? o->error_scale : 1.0;
	int rc = -1;

	if (right_path && shared > o->n_right)
		shared = o->n_right;
	if (pools_init(k, n, &p) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	npop = right_path ? o->n_left + o->n_right - shared : o->n_left;
	pop = calloc(npop + 1, sizeof *pop);
	lorder = calloc(npop + 1, sizeof *lorder);
	rorder = calloc(npop + 1, sizeof *rorder);
	if (pop == NULL || lorder == NULL || rorder == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < npop; i++) {
		make_person(&r, k, &p, &pop[i]);
		/* one in ten is a sibling of the person before */
		if (i > 0 && unif(&r) < 0.1) {
			struct person *b = &pop[i - 1];
			pop[i].family = b->family;
			pop[i].particle = b->particle;
			memcpy(pop[i].nat, b->nat, 3);
			if (pick_forename(&r, &p, b->nat, pop[i].sex,
					  &pop[i].given[0]) < 0)
				pop[i].given[0] = b->given[0];
			pop[i].y = b->y + (unif(&r) < 0.5 ? -1 : 1) *
						  (1 + (int)pick(&r, 3));
		}
	}
	fl = fopen(left_path, "w");
	ft = fopen(truth_path, "w");
	if (right_path)
		fr = fopen(right_path, "w");
	if (fl == NULL || ft == NULL || (right_path && fr == NULL)) {
		snprintf(err, errlen, "cannot write the generated files");
		goto out;
	}
	fputs(HEADER, fl);
	if (right_path) {
		/* persons [0, shared) on both sides, [shared, n_left) left
		 * only, the rest right only */
		size_t nr = 0;
		struct obs ob;
		char id[32];
		for (size_t i = 0; i < o->n_left; i++)
			lorder[i] = i;
		for (size_t i = 0; i < shared; i++)
			rorder[nr++] = i;
		for (size_t i = o->n_left; i < npop; i++)
			rorder[nr++] = i;
		shuffle(&r, lorder, o->n_left);
		shuffle(&r, rorder, nr);
		fputs(HEADER, fr);
		fputs("left_id,right_id\n", ft);
		for (size_t i = 0; i < o->n_left; i++) {
			observe(&r, k, &pop[lorder[i]], es, &ob);
			snprintf(id, sizeof id, "L%06zu", lorder[i]);
			write_obs(fl, id, &ob);
		}
		for (size_t i = 0; i < nr; i++) {
			observe(&r, k, &pop[rorder[i]], es, &ob);
			snprintf(id, sizeof id, "R%06zu", rorder[i]);
			write_obs(fr, id, &ob);
		}
		for (size_t i = 0; i < shared; i++)
			fprintf(ft, "L%06zu,R%06zu\n", i, i);
	} else {
		/* dedupe: the overlap share of persons has 2-3 records */
		size_t nrec = 0, cap = o->n_left;
		size_t *who = calloc(cap + 1, sizeof *who);
		size_t *order = calloc(cap + 1, sizeof *order);
		struct obs ob;
		char id[32];
		if (who == NULL || order == NULL) {
			free(who);
			free(order);
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		for (size_t i = 0; nrec < cap; i++) {
			int copies = unif(&r) < o->overlap
					     ? 2 + (unif(&r) < 0.3)
					     : 1;
			for (int c = 0; c < copies && nrec < cap; c++)
				who[nrec++] = i % npop;
		}
		for (size_t i = 0; i < nrec; i++)
			order[i] = i;
		shuffle(&r, order, nrec);
		fputs("id1,id2\n", ft);
		for (size_t i = 0; i < nrec; i++) {
			observe(&r, k, &pop[who[order[i]]], es, &ob);
			snprintf(id, sizeof id, "D%06zu", order[i]);
			write_obs(fl, id, &ob);
		}
		for (size_t i = 0; i < nrec; i++)
			for (size_t j = i + 1; j < nrec; j++)
				if (who[i] == who[j])
					fprintf(ft, "D%06zu,D%06zu\n", i, j);
		free(who);
		free(order);
	}
	rc = 0;
out:
	if (fl && fclose(fl) != 0)
		rc = -1;
	if (fr && fclose(fr) != 0)
		rc = -1;
	if (ft && fclose(ft) != 0)
		rc = -1;
	free(pop);
	free(lorder);
	free(rorder);
	pools_free(&p);
	return rc;
}
