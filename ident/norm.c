/*
 * norm: Unicode normalisation of names with ICU, and their tokenisation.
 *
 * Any script goes to Latin with ICU's Any-Latin (Arabic comes out
 * unvowelled: محمد -> mhmd; Cyrillic fully: Јовановић -> jovanovic), then
 * Latin-ASCII folds the diacritics (Romanian ș ț ă â î, Bosnian č ć š ž,
 * Turkish ı İ ş ğ, Albanian ë ç), with đ -> dj first as Bosnians write it
 * without diacritics, and Lower folds case. Pure ASCII input takes a fast
 * path that gives the same result without ICU.
 */
#include "ident.h"

#include <stdlib.h>
#include <string.h>

#include <unicode/ustring.h>
#include <unicode/utf16.h>
#include <unicode/utrans.h>

#define CACHE_SLOTS 4096

struct cache_slot {
	uint64_t h;
	uint16_t inlen;
	int16_t outlen;
	uint8_t scripts;
	char in[IDENT_NAME_INPUT_MAX];
	char out[IDENT_NAME_INPUT_MAX * 2];
};

struct ident_norm {
	UTransliterator *tr;
	struct cache_slot *cache;
};

/* ʿ (ain) and ʾ (hamza) only come out of Arabic: they stand for a vowel
 * onset in Latin spellings (عمر -> ʿmr ~ Omar). */
static const char RULES[] = ":: NFC ;"
			    "đ > dj ; Đ > Dj ;"
			    "ʿ > a ; ʾ > a ;"
			    ":: Any-Latin ;"
			    "ʿ > a ; ʾ > a ; đ > dj ; Đ > Dj ;"
			    ":: Latin-ASCII ;"
			    ":: Lower ;";

ident_norm *ident_norm_new(char *err, size_t errlen)
{
	ident_norm *n = calloc(1, sizeof *n);
	UChar rules[256];
	int32_t rlen = 0;
	UErrorCode st = U_ZERO_ERROR;
	UParseError pe;

	if (n == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	u_strFromUTF8(rules, (int32_t)(sizeof rules / sizeof rules[0]), &rlen,
		      RULES, -1, &st);
	if (U_SUCCESS(st)) {
		static const UChar id[] = {'m', 'a', 'i', 'l', 'l', 'a', 'g',
					   'e', '-', 'n', 'o', 'r', 'm', 0};
		n->tr = utrans_openU(id, -1, UTRANS_FORWARD, rules, rlen, &pe,
				     &st);
	}
	if (U_FAILURE(st) || n->tr == NULL) {
		snprintf(err, errlen, "ICU transliterator: %s",
			 u_errorName(st));
		free(n);
		return NULL;
	}
	n->cache = calloc(CACHE_SLOTS, sizeof *n->cache);
	if (n->cache == NULL) {
		utrans_close(n->tr);
		free(n);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return n;
}

void ident_norm_free(ident_norm *n)
{
	if (n == NULL)
		return;
	utrans_close(n->tr);
	free(n->cache);
	free(n);
}

static uint64_t fnv(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static int is_apostrophe(uint32_t c)
{
	return c == '\'' || c == '`' || c == 0x2019 || c == 0x2018 ||
	       c == 0xB4 || c == 0x2BB || c == 0x2BC;
}

/* Append the ASCII form of one folded character: [a-z0-9] kept, A-Z
 * lowered, apostrophes dropped, anything else one space. */
static int emit(char *out, size_t outlen, size_t *o, uint32_t c)
{
	char ch;

	if (c >= 'A' && c <= 'Z')
		c += 'a' - 'A';
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		ch = (char)c;
	else if (is_apostrophe(c))
		return 0;
	else
		ch = ' ';
	if (ch == ' ' && (*o == 0 || out[*o - 1] == ' '))
		return 0;
	if (*o + 1 >= outlen)
		return -1;
	out[(*o)++] = ch;
	return 0;
}

static unsigned script_of(UChar32 c)
{
	if ((c >= 0x600 && c <= 0x6FF) || (c >= 0x750 && c <= 0x77F) ||
	    (c >= 0x8A0 && c <= 0x8FF) || (c >= 0xFB50 && c <= 0xFDFF) ||
	    (c >= 0xFE70 && c <= 0xFEFF))
		return IDENT_TOK_ARABIC;
	if (c >= 0x400 && c <= 0x52F)
		return IDENT_TOK_CYRILLIC;
	if (c < 0x250 || (c >= 0x1E00 && c <= 0x1EFF) || c < 0x370)
		return 0;
	if (u_isalpha(c))
		return IDENT_TOK_OTHER;
	return 0;
}

static int norm_icu(ident_norm *n, const char *s, size_t len, char *out,
		    size_t outlen, unsigned *scripts)
{
	UChar buf[IDENT_NAME_INPUT_MAX * 4];
	int32_t ulen = 0, limit, cap = (int32_t)(sizeof buf / sizeof buf[0]);
	UErrorCode st = U_ZERO_ERROR;
	size_t o = 0;
	unsigned sc = 0;

	u_strFromUTF8(buf, cap, &ulen, s, (int32_t)len, &st);
	if (U_FAILURE(st))
		return -1;
	for (int32_t i = 0; i < ulen;) {
		UChar32 c;
		U16_NEXT(buf, i, ulen, c);
		sc |= script_of(c);
	}
	limit = ulen;
	utrans_transUChars(n->tr, buf, &ulen, cap, 0, &limit, &st);
	if (U_FAILURE(st))
		return -1;
	for (int32_t i = 0; i < ulen;) {
		UChar32 c;
		U16_NEXT(buf, i, ulen, c);
		if (emit(out, outlen, &o, (uint32_t)c) < 0)
			return -1;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = 0;
	if (scripts)
		*scripts = sc;
	return (int)o;
}

/* Strict UTF-8 validation (no overlongs, surrogates, > U+10FFFF). */
static int utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned c = s[i];
		size_t k;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xC2 && c <= 0xDF) {
			k = 1;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			k = 2;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			k = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (i + k >= len)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + j] & 0x3F);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += k + 1;
	}
	return 1;
}

int ident_norm_text(ident_norm *n, const char *s, size_t len, char *out,
		    size_t outlen, unsigned *scripts)
{
	int ascii = 1;
	struct cache_slot *slot;
	uint64_t h;
	int r;
	unsigned sc = 0;

	if (outlen == 0)
		return -1;
	if (scripts)
		*scripts = 0;
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] >= 0x80) {
			ascii = 0;
			break;
		}
	}
	if (ascii) {
		size_t o = 0;
		for (size_t i = 0; i < len; i++) {
			if (emit(out, outlen, &o, (unsigned char)s[i]) < 0)
				return -1;
		}
		while (o > 0 && out[o - 1] == ' ')
			o--;
		out[o] = 0;
		return (int)o;
	}
	if (!utf8_valid((const unsigned char *)s, len))
		return -1;
	if (len > IDENT_NAME_INPUT_MAX)
		return norm_icu(n, s, len, out, outlen, scripts);
	h = fnv(s, len);
	slot = &n->cache[h % CACHE_SLOTS];
	if (slot->h == h && slot->inlen == len && slot->outlen >= 0 &&
	    memcmp(slot->in, s, len) == 0 && (size_t)slot->outlen < outlen) {
		memcpy(out, slot->out, (size_t)slot->outlen + 1);
		if (scripts)
			*scripts = slot->scripts;
		return slot->outlen;
	}
	r = norm_icu(n, s, len, out, outlen, &sc);
	if (scripts)
		*scripts = sc;
	if (r >= 0 && (size_t)r < sizeof slot->out) {
		slot->h = h;
		slot->inlen = (uint16_t)len;
		memcpy(slot->in, s, len);
		memcpy(slot->out, out, (size_t)r + 1);
		slot->outlen = (int16_t)r;
		slot->scripts = (uint8_t)sc;
	}
	return r;
}

static int is_particle(const char *w)
{
	static const char *const P[] = {"al",	"el",  "ul",   "ben",
					"bin",	"ibn", "bint", "bent",
					"ould", "ait", "wuld", NULL};
	for (int i = 0; P[i]; i++)
		if (strcmp(w, P[i]) == 0)
			return 1;
	return 0;
}

/* abd, abdel, abdul, abdal, abdu, abdou, abdoul: "servant of", always
 * followed by one of the names of God. */
static int is_abd(const char *w)
{
	static const char *const A[] = {"abd",	"abdel", "abdul",  "abdal",
					"abdu", "abdou", "abdoul", "abdel",
					"abdi", NULL};
	for (int i = 0; A[i]; i++)
		if (strcmp(w, A[i]) == 0)
			return 1;
	return 0;
}

static void tok_set(ident_token *t, const char *s, size_t len, uint8_t flags)
{
	if (len >= IDENT_TOKEN_MAX)
		len = IDENT_TOKEN_MAX - 1;
	memcpy(t->s, s, len);
	t->s[len] = 0;
	t->flags = flags;
}

int ident_name_parse(ident_norm *n, const char *s, size_t len, ident_name *out)
{
	char buf[IDENT_NAME_INPUT_MAX * 2];
	char *words[16];
	int nw = 0, r;
	unsigned scripts = 0;
	uint8_t fl;
	char joined[IDENT_TOKEN_MAX * 2];
	size_t jl = 0;

	memset(out, 0, sizeof *out);
	if (s == NULL || len == 0)
		return 0;
	if (len > IDENT_NAME_INPUT_MAX)
		len = IDENT_NAME_INPUT_MAX; /* names are short; cut, not fail */
	r = ident_norm_text(n, s, len, buf, sizeof buf, &scripts);
	if (r < 0)
		return -1;
	fl = (uint8_t)(scripts & (IDENT_TOK_ARABIC | IDENT_TOK_CYRILLIC |
				  IDENT_TOK_OTHER));
	for (char *p = strtok(buf, " "); p && nw < 16; p = strtok(NULL, " "))
		words[nw++] = p;
	/* Arabic script writes the article attached: الرحمن -> alrhmn. */
	if (fl & IDENT_TOK_ARABIC) {
		for (int i = 0; i < nw; i++) {
			if (strncmp(words[i], "al", 2) == 0 &&
			    strlen(words[i]) > 4)
				words[i] += 2;
		}
	}
	for (int i = 0; i < nw; i++) {
		size_t wl = strlen(words[i]);
		if (jl + wl < sizeof joined) {
			memcpy(joined + jl, words[i], wl);
			jl += wl;
		}
	}
	for (int i = 0; i < nw && out->n < IDENT_NAME_TOKENS - 1; i++) {
		const char *w = words[i];
		if (is_abd(w) && i + 1 < nw) {
			char merged[IDENT_TOKEN_MAX * 3];
			int j = i + 1;
			size_t ml;
			ml = (size_t)snprintf(merged, sizeof merged, "%s", w);
			if (is_particle(words[j]) && j + 1 < nw)
				ml += (size_t)snprintf(merged + ml,
						       sizeof merged - ml, "%s",
						       words[j++]);
			if (ml < sizeof merged)
				ml += (size_t)snprintf(merged + ml,
						       sizeof merged - ml, "%s",
						       words[j]);
			if (ml >= sizeof merged)
				ml = sizeof merged - 1;
			tok_set(&out->t[out->n++], merged, ml, fl);
			i = j;
			continue;
		}
		if (is_particle(w) && nw > 1)
			continue;
		tok_set(&out->t[out->n++], w, strlen(w), fl);
	}
	/* a particle glued to the name (Benali, Elamrani): the name alone
	 * too */
	for (int i = 0, n0 = out->n; i < n0 && out->n < IDENT_NAME_TOKENS - 1;
	     i++) {
		static const char *const G[] = {"ben", "el", "al", NULL};
		const char *w = out->t[i].s;
		for (int g = 0; G[g]; g++) {
			size_t gl = strlen(G[g]);
			if (strncmp(w, G[g], gl) == 0 && strlen(w) >= gl + 3) {
				tok_set(&out->t[out->n++], w + gl,
					strlen(w + gl),
					(uint8_t)(out->t[i].flags |
						  IDENT_TOK_JOINED));
				break;
			}
		}
	}
	if (nw >= 2 && jl > 0) {
		int dup = 0;
		joined[jl < sizeof joined ? jl : sizeof joined - 1] = 0;
		if (jl >= IDENT_TOKEN_MAX)
			jl = IDENT_TOKEN_MAX - 1;
		for (int i = 0; i < out->n; i++)
			if (strncmp(out->t[i].s, joined, jl) == 0 &&
			    out->t[i].s[jl] == 0)
				dup = 1;
		if (!dup)
			tok_set(&out->t[out->n++], joined, jl,
				(uint8_t)(fl | IDENT_TOK_JOINED));
	}
	return out->n;
}
