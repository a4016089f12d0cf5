/*
 * names: name knowledge (transliteration and nickname groups) and the
 * language-aware phonetic key.
 *
 * The data file (ident/data/names.tsv, see ident/data/LICENSES.md) keeps
 * raw spellings; they are normalised here, at load time, by the same code
 * as the queries, so the groups stay valid when normalisation changes.
 */
#include "ident.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The embedded data file (ident/data/names.tsv). */
__asm__(".section .rodata\n"
	".global ident_names_tsv\n"
	".type ident_names_tsv, @object\n"
	".balign 16\n"
	"ident_names_tsv:\n"
	".incbin \"" IDENT_NAMES_TSV "\"\n"
	".global ident_names_tsv_end\n"
	"ident_names_tsv_end:\n"
	".byte 0\n"
	".previous\n");
extern const char ident_names_tsv[];
extern const char ident_names_tsv_end[];

struct key_entry {
	char *key;
	int gid[IDENT_MAX_GROUPS];
	float share[IDENT_MAX_GROUPS];
	int n;
};

struct group {
	char *gid;
	char *native;
	ident_names_spelling *sp;
	size_t nsp;
};

struct ident_names {
	/* open addressing, power-of-two size */
	struct key_entry *keys;
	size_t kcap, kn;
	struct group *groups;
	size_t ngroups, gcap;
	/* the Arabic groups (indices into groups), for the generator */
	size_t *ar;
	size_t nar, arcap;
	ident_names_entry *fore, *sur;
	size_t nfore, nsur, forecap, surcap;
	char *text; /* a copy of the file, cut into strings */
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

static struct key_entry *key_find(const ident_names *k, const char *key)
{
	size_t mask = k->kcap - 1;
	for (size_t i = hash_str(key) & mask;; i = (i + 1) & mask) {
		struct key_entry *e = &k->keys[i];
		if (e->key == NULL)
			return NULL;
		if (strcmp(e->key, key) == 0)
			return e;
	}
}

static int key_grow(ident_names *k)
{
	size_t ncap = k->kcap ? k->kcap * 2 : 8192;
	struct key_entry *nk = calloc(ncap, sizeof *nk);
	if (nk == NULL)
		return -1;
	for (size_t i = 0; i < k->kcap; i++) {
		struct key_entry *e = &k->keys[i];
		if (e->key == NULL)
			continue;
		size_t j = hash_str(e->key) & (ncap - 1);
		while (nk[j].key)
			j = (j + 1) & (ncap - 1);
		nk[j] = *e;
	}
	free(k->keys);
	k->keys = nk;
	k->kcap = ncap;
	return 0;
}

static int key_add(ident_names *k, const char *key, int gid, float share)
{
	struct key_entry *e;
	if (strlen(key) < 2)
		return 0;
	if ((k->kn + 1) * 2 > k->kcap && key_grow(k) < 0)
		return -1;
	e = key_find(k, key);
	if (e == NULL) {
		size_t mask = k->kcap - 1;
		size_t i = hash_str(key) & mask;
		while (k->keys[i].key)
			i = (i + 1) & mask;
		e = &k->keys[i];
		e->key = strdup(key);
		if (e->key == NULL)
			return -1;
		k->kn++;
	}
	for (int i = 0; i < e->n; i++) {
		if (e->gid[i] == gid) {
			if (share > e->share[i])
				e->share[i] = share;
			return 0;
		}
	}
	/* keep the IDENT_MAX_GROUPS groups where this spelling weighs most */
	if (e->n < IDENT_MAX_GROUPS) {
		e->gid[e->n] = gid;
		e->share[e->n++] = share;
	} else {
		int lo = 0;
		for (int i = 1; i < e->n; i++)
			if (e->share[i] < e->share[lo])
				lo = i;
		if (share <= e->share[lo])
			return 0;
		e->gid[lo] = gid;
		e->share[lo] = share;
	}
	return 0;
}

/* Register every token of a spelling under a group. */
static int add_spelling(ident_names *k, ident_norm *n, const char *s, int gid,
			float share)
{
	ident_name nm;
	if (ident_name_parse(n, s, strlen(s), &nm) < 0)
		return 0; /* a bad spelling in the data is skipped */
	for (int i = 0; i < nm.n; i++) {
		char key[IDENT_TOKEN_MAX + 1];
		snprintf(key, sizeof key, "%s%s",
			 (nm.t[i].flags & IDENT_TOK_ARABIC) ? "^" : "",
			 nm.t[i].s);
		if (key_add(k, key, gid, share) < 0)
			return -1;
	}
	return 0;
}

#define GROW(arr, n, cap)                                                      \
	do {                                                                   \
		if ((n) == (cap)) {                                            \
			size_t nc_ = (cap) ? (cap)*2 : 64;                     \
			void *p_ = realloc((arr), nc_ * sizeof *(arr));        \
			if (p_ == NULL)                                        \
				goto oom;                                      \
			(arr) = p_;                                            \
			(cap) = nc_;                                           \
		}                                                              \
	} while (0)

static int split_tabs(char *line, char **f, int max)
{
	int n = 0;
	char *p = line;
	while (n < max) {
		f[n++] = p;
		p = strchr(p, '\t');
		if (p == NULL)
			break;
		*p++ = 0;
	}
	return n;
}

ident_names *ident_names_load(ident_norm *n, const char *data, size_t len,
			      char *err, size_t errlen)
{
	ident_names *k = calloc(1, sizeof *k);
	char *line, *next;
	unsigned long lineno = 0;

	if (k == NULL)
		goto oom;
	k->text = malloc(len + 1);
	if (k->text == NULL)
		goto oom;
	memcpy(k->text, data, len);
	k->text[len] = 0;
	if (key_grow(k) < 0)
		goto oom;
	for (line = k->text; line && *line; line = next) {
		char *f[512];
		int nf;
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		lineno++;
		if (line[0] == '#' || line[0] == 0)
			continue;
		nf = split_tabs(line, f, 512);
		if (f[0][0] == 'G' && nf >= 4) {
			struct group *g;
			unsigned total = 0;
			int gi;
			GROW(k->groups, k->ngroups, k->gcap);
			gi = (int)k->ngroups;
			g = &k->groups[k->ngroups++];
			memset(g, 0, sizeof *g);
			g->gid = f[1];
			g->native = strcmp(f[2], "-") ? f[2] : NULL;
			g->sp = calloc((size_t)(nf - 3), sizeof *g->sp);
			if (g->sp == NULL)
				goto oom;
			for (int i = 3; i < nf; i++) {
				char *c = strrchr(f[i], ':');
				unsigned cnt = 1;
				if (c) {
					*c = 0;
					cnt = (unsigned)strtoul(c + 1, NULL,
								10);
				}
				g->sp[g->nsp].s = f[i];
				g->sp[g->nsp++].count = cnt;
				total += cnt;
			}
			for (size_t i = 0; i < g->nsp; i++) {
				float sh = total ? (float)g->sp[i].count /
							   (float)total
						 : 1.0f;
				if (add_spelling(k, n, g->sp[i].s, gi, sh) < 0)
					goto oom;
			}
			if (g->native &&
			    add_spelling(k, n, g->native, gi, 1.0f) < 0)
				goto oom;
			if (strncmp(g->gid, "ar:", 3) == 0) {
				GROW(k->ar, k->nar, k->arcap);
				k->ar[k->nar++] = (size_t)gi;
			}
		} else if (f[0][0] == 'K' && nf >= 3) {
			struct group *g;
			int gi;
			GROW(k->groups, k->ngroups, k->gcap);
			gi = (int)k->ngroups;
			g = &k->groups[k->ngroups++];
			memset(g, 0, sizeof *g);
			g->gid = f[1];
			for (int i = 2; i < nf; i++)
				if (add_spelling(k, n, f[i], gi,
						 i == 2 ? 1.0f : 0.5f) < 0)
					goto oom;
		} else if (f[0][0] == 'F' && nf >= 5) {
			GROW(k->fore, k->nfore, k->forecap);
			k->fore[k->nfore].country = f[1];
			k->fore[k->nfore].sex = f[2][0];
			k->fore[k->nfore].name = f[3];
			k->fore[k->nfore++].native =
				strcmp(f[4], "-") ? f[4] : NULL;
		} else if (f[0][0] == 'S' && nf >= 4) {
			GROW(k->sur, k->nsur, k->surcap);
			k->sur[k->nsur].country = f[1];
			k->sur[k->nsur].sex = 0;
			k->sur[k->nsur].name = f[2];
			k->sur[k->nsur++].native =
				strcmp(f[3], "-") ? f[3] : NULL;
		} else {
			snprintf(err, errlen, "names data: line %lu: malformed",
				 lineno);
			ident_names_free(k);
			return NULL;
		}
	}
	return k;
oom:
	snprintf(err, errlen, "out of memory");
	ident_names_free(k);
	return NULL;
}

void ident_names_free(ident_names *k)
{
	if (k == NULL)
		return;
	for (size_t i = 0; i < k->kcap; i++)
		free(k->keys[i].key);
	free(k->keys);
	for (size_t i = 0; i < k->ngroups; i++)
		free(k->groups[i].sp);
	free(k->groups);
	free(k->ar);
	free(k->fore);
	free(k->sur);
	free(k->text);
	free(k);
}

static pthread_mutex_t builtin_lock = PTHREAD_MUTEX_INITIALIZER;
static ident_names *builtin;

const ident_names *ident_names_builtin(ident_norm *n, char *err, size_t errlen)
{
	ident_names *k;
	pthread_mutex_lock(&builtin_lock);
	if (builtin == NULL)
		/* the two symbols delimit one .incbin blob */
		builtin = ident_names_load(
			n, ident_names_tsv,
			/* cppcheck-suppress comparePointers */
			(size_t)(ident_names_tsv_end - ident_names_tsv), err,
			errlen);
	k = builtin;
	pthread_mutex_unlock(&builtin_lock);
	return k;
}

int ident_names_groups(const ident_names *k, const ident_token *t,
		       const char **gids, int max)
{
	char key[IDENT_TOKEN_MAX + 1];
	const struct key_entry *e;
	int n = 0;

	if (k == NULL)
		return 0;
	snprintf(key, sizeof key, "%s%s",
		 (t->flags & IDENT_TOK_ARABIC) ? "^" : "", t->s);
	e = key_find(k, key);
	if (e == NULL)
		return 0;
	for (int i = 0; i < e->n && n < max; i++)
		gids[n++] = k->groups[e->gid[i]].gid;
	return n;
}

size_t ident_names_forenames(const ident_names *k,
			     const ident_names_entry **out)
{
	*out = k->fore;
	return k->nfore;
}

size_t ident_names_surnames(const ident_names *k, const ident_names_entry **out)
{
	*out = k->sur;
	return k->nsur;
}

const char *ident_names_group(const ident_names *k, size_t i,
			      const ident_names_spelling **sp, size_t *nsp)
{
	const struct group *g;
	if (i >= k->nar)
		return NULL;
	g = &k->groups[k->ar[i]];
	*sp = g->sp;
	*nsp = g->nsp;
	return g->native;
}

long ident_names_group_of(const ident_names *k, ident_norm *n,
			  const char *latin)
{
	ident_name nm;
	const struct key_entry *e;
	if (ident_name_parse(n, latin, strlen(latin), &nm) < 1)
		return -1;
	e = key_find(k, nm.t[0].s);
	if (e == NULL)
		return -1;
	for (int i = 0; i < e->n; i++) {
		for (size_t j = 0; j < k->nar; j++)
			if (k->ar[j] == (size_t)e->gid[i])
				return (long)j;
	}
	return -1;
}

/* ---------------------------------------------------------------------- */
/* Phonetic key                                                           */
/* ---------------------------------------------------------------------- */

enum lang { L_ANY, L_BALKAN, L_ALBANIAN, L_TURKISH, L_ROMANIAN };

static enum lang lang_of(const char *nat)
{
	static const char *const balkan[] = {"BA", "RS", "HR", "ME",
					     "MK", "SI", NULL};
	if (nat == NULL || nat[0] == 0)
		return L_ANY;
	for (int i = 0; balkan[i]; i++)
		if (strcmp(nat, balkan[i]) == 0)
			return L_BALKAN;
	if (strcmp(nat, "AL") == 0 || strcmp(nat, "XK") == 0)
		return L_ALBANIAN;
	if (strcmp(nat, "TR") == 0)
		return L_TURKISH;
	if (strcmp(nat, "RO") == 0 || strcmp(nat, "MD") == 0)
		return L_ROMANIAN;
	return L_ANY;
}

static int is_vowel(char c)
{
	return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' ||
	       c == 'y';
}

/* "abd" + optional linking vowel and article (abdel, abdul, abder-r...):
 * returns the length of the prefix to skip after "abd", or -1. */
static int abd_prefix(const char *s)
{
	size_t i = 3;
	if (strncmp(s, "abd", 3) != 0 || strlen(s) < 5)
		return -1;
	while (is_vowel(s[i]) && s[i] != 'y')
		i++;
	if (i > 3 && s[i] == 'l' && s[i + 1] != 0)
		return (int)i + 1; /* abdel-, abdul-, abdoul- */
	if (i > 3 && s[i] && s[i] == s[i + 1])
		return (int)i + 1; /* abder-rahman, abdes-salam */
	return (int)i;
}

int ident_phonetic(const ident_token *t, const char *nat, char *out,
		   size_t outlen)
{
	const char *s = t->s;
	enum lang lg = lang_of(nat);
	int arabic = (t->flags & IDENT_TOK_ARABIC) != 0;
	size_t o = 0, len;
	char last = 0;
	int ap;

	if (outlen < 2) {
		if (outlen)
			out[0] = 0;
		return 0;
	}
#define PUT(c)                                                                 \
	do {                                                                   \
		char c_ = (c);                                                 \
		if (c_ != last && o + 1 < outlen)                              \
			out[o++] = c_;                                         \
		last = c_;                                                     \
	} while (0)
	ap = abd_prefix(s);
	if (ap > 0) {
		PUT('A');
		PUT('B');
		PUT('T');
		s += ap;
	}
	len = strlen(s);
	for (size_t i = 0; i < len;) {
		char c = s[i], n1 = s[i + 1], n2 = n1 ? s[i + 2] : 0;
		int first = (i == 0 && ap <= 0);
		/* vowels, and y/j/w read as vowels */
		if (c == 'o' && n1 == 'u' && is_vowel(n2) && n2 != 'y') {
			PUT('F'); /* French ou + vowel: Oualid = Walid */
			i += 2;
			continue;
		}
		if (is_vowel(c) && c != 'y') {
			if (first)
				PUT('A');
			else
				last = 0; /* a vowel separates repeats */
			i++;
			continue;
		}
		if (c == 'y' ||
		    (c == 'j' && (lg == L_BALKAN || lg == L_ALBANIAN))) {
			if (first)
				PUT('J'); /* Yusuf = Jusuf = Youssef */
			else
				last = 0; /* Lejla = Leila = Leyla */
			i++;
			continue;
		}
		if (c == 'w' && arabic && !first) {
			last = 0; /* ywsf: w as the vowel u */
			i++;
			continue;
		}
		if (c == 'h' && i + 1 == len && i > 0 && is_vowel(s[i - 1])) {
			i++; /* Fatimah = Fatima, Sarah = Sara */
			continue;
		}
		/* multi-letter spellings */
		if (c == 's' && n1 == 'c' && n2 == 'h') {
			PUT('S');
			i += 3;
			continue;
		}
		if ((c == 't' && n1 == 's' && n2 == 'c' && s[i + 3] == 'h') ||
		    (c == 't' && n1 == 'c' && n2 == 'h')) {
			PUT('S');
			i += (n1 == 's') ? 4 : 3;
			continue;
		}
		if ((c == 'd' && (n1 == 'j' || n1 == 'z')) ||
		    (c == 'x' && n1 == 'h' && lg == L_ALBANIAN) ||
		    (c == 'g' && n1 == 'j')) {
			PUT('J');
			i += (c == 'd' && n1 == 'z' && n2 == 'h') ? 3 : 2;
			continue;
		}
		if (n1 == 'h' &&
		    (c == 'k' || c == 'g' || c == 'p' || c == 't' || c == 'd' ||
		     c == 's' || c == 'c' || c == 'z')) {
			static const char map[] = "k:H g:J p:F t:T d:T s:S "
						  "z:S";
			char cl = 'S';
			const char *m = strchr(map, c);
			if (m)
				cl = m[2];
			if (c == 'c')
				cl = (lg == L_ROMANIAN) ? 'K' : 'S';
			PUT(cl);
			i += 2;
			continue;
		}
		if ((c == 't' && (n1 == 's' || n1 == 'z')) ||
		    (c == 'c' && n1 == 'k')) {
			PUT(c == 't' ? 'S' : 'K');
			i += 2;
			continue;
		}
		switch (c) {
		case 'b':
		case 'p':
			PUT('B');
			break;
		case 'f':
		case 'v':
		case 'w':
			PUT('F');
			break;
		case 'd':
		case 't':
			PUT('T');
			break;
		case 'g':
		case 'j':
			PUT('J');
			break;
		case 'k':
			PUT('K');
			break;
		case 'q':
			PUT(lg == L_ALBANIAN ? 'S' : 'K');
			break;
		case 'c':
			if (lg == L_TURKISH)
				PUT('J');
			else if (lg == L_BALKAN || lg == L_ALBANIAN ||
				 n1 == 'e' || n1 == 'i' || n1 == 'y' ||
				 (n1 == 0 && i > 0 && s[i - 1] == 'i'))
				PUT('S'); /* Nikolic = Nikolić = Nikolitch */
			else
				PUT('K');
			break;
		case 's':
		case 'z':
			PUT('S');
			break;
		case 'x':
			PUT('K');
			PUT('S');
			break;
		case 'h':
			PUT('H');
			break;
		case 'l':
		case 'm':
		case 'n':
		case 'r':
			PUT((char)(c - 'a' + 'A'));
			break;
		default:
			if (c >= '0' && c <= '9')
				PUT(c);
			break;
		}
		i++;
	}
#undef PUT
	out[o] = 0;
	return (int)o;
}
