/*
 * encode: keyed, privacy-preserving encodings of identities.
 *
 * A network secret K (32 bytes, kept outside the database) keys every
 * encoding; sub-keys are HMAC-SHA256(K, label). Per name token we keep:
 *  - exact/phonetic/group codes: HMAC-SHA256 under the code key,
 *    truncated to 64 bits. Equal names give equal codes, so their
 *    frequencies show; they serve agreement levels and term frequencies.
 *  - a Bloom filter of the token's bigrams ("_mohamed_" -> _m mo ... d_),
 *    positions from HMAC-SHA256 under the Bloom key ("random hashing",
 *    not double hashing, which Niedermeyer et al. 2014 broke), compared
 *    with the Dice coefficient: tolerant of typos (Schnell, Bachteler &
 *    Reiher 2009, "Privacy-preserving record linkage using Bloom filters").
 * Per record, a record-level filter (a CLK, "cryptographic long-term key",
 * Schnell 2011; as in clkhash/anonlink) of the bigrams of all names and of
 * their phonetic and group codes: order-free, so swapped names keep their
 * Dice; used for LSH blocking and shown in explanations.
 *
 * Hardening against frequency attacks (the attacker holds the database,
 * not the key): keyed hashing (no dictionary attack without K); balanced
 * filters (Berger, Schnell: the filter is concatenated with its
 * complement and the bits permuted with a keyed permutation, so every
 * filter has the same Hamming weight and a name's length does not show);
 * per-field and per-purpose salts (each sub-key is derived with a
 * different label, so a token filter and the CLK of the same name share no
 * pattern). Codes of a single value keep their frequencies by design (they
 * are what term-frequency weighting needs): they are only as safe as K.
 */
#include "ident.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define TOK_CORE_BITS 128
#define TOK_K 8 /* bit positions per bigram in a token filter */
#define CLK_CORE_BITS 512
#define CLK_K 10	/* per bigram in the CLK */
#define CLK_K_CODE 12	/* per phonetic/group code in the CLK */
#define BIGRAM_ALPHA 37 /* a-z, 0-9, '_' */
#define TOK_CACHE 16384
#define LSH_BANDS 8 /* CLK bands used as blocking keys */
#define LSH_BITS 18 /* core bits per band */

struct hmac {
	EVP_MD_CTX *inner, *outer, *tmp;
};

struct tok_cache_slot {
	char s[IDENT_TOKEN_MAX];
	uint8_t flags, lang, used;
	ident_tok_enc enc;
};

struct ident_enc {
	ident_norm *norm;
	const ident_names *names;
	struct hmac code, block;
	/* bit positions of each bigram, token filter and CLK */
	uint8_t tok_pos[BIGRAM_ALPHA * BIGRAM_ALPHA][TOK_K];
	uint16_t clk_pos[BIGRAM_ALPHA * BIGRAM_ALPHA][CLK_K];
	uint16_t tok_perm[2 * TOK_CORE_BITS];
	uint16_t clk_perm[2 * CLK_CORE_BITS];
	uint64_t clk_code_salt;
	uint16_t lsh[LSH_BANDS][LSH_BITS]; /* CLK core bits sampled */
	struct tok_cache_slot *cache;
};

static int hmac_init(struct hmac *h, const uint8_t *key, size_t keylen)
{
	uint8_t ipad[64], opad[64], k[64];
	const EVP_MD *md = EVP_sha256();

	memset(k, 0, sizeof k);
	if (keylen > sizeof k) {
		unsigned int l = 0;
		EVP_Digest(key, keylen, k, &l, md, NULL);
	} else {
		memcpy(k, key, keylen);
	}
	for (int i = 0; i < 64; i++) {
		ipad[i] = k[i] ^ 0x36;
		opad[i] = k[i] ^ 0x5c;
	}
	h->inner = EVP_MD_CTX_new();
	h->outer = EVP_MD_CTX_new();
	h->tmp = EVP_MD_CTX_new();
	if (!h->inner || !h->outer || !h->tmp ||
	    !EVP_DigestInit_ex(h->inner, md, NULL) ||
	    !EVP_DigestUpdate(h->inner, ipad, 64) ||
	    !EVP_DigestInit_ex(h->outer, md, NULL) ||
	    !EVP_DigestUpdate(h->outer, opad, 64))
		return -1;
	return 0;
}

static void hmac_free(struct hmac *h)
{
	EVP_MD_CTX_free(h->inner);
	EVP_MD_CTX_free(h->outer);
	EVP_MD_CTX_free(h->tmp);
}

/* HMAC-SHA256 with the pads hashed once (RFC 2104). */
static void hmac_run(struct hmac *h, const void *msg, size_t len,
		     uint8_t out[32])
{
	uint8_t ih[32];
	unsigned int l;
	EVP_MD_CTX_copy_ex(h->tmp, h->inner);
	EVP_DigestUpdate(h->tmp, msg, len);
	EVP_DigestFinal_ex(h->tmp, ih, &l);
	EVP_MD_CTX_copy_ex(h->tmp, h->outer);
	EVP_DigestUpdate(h->tmp, ih, sizeof ih);
	EVP_DigestFinal_ex(h->tmp, out, &l);
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static int derive(const uint8_t key[IDENT_KEY_LEN], const char *label,
		  struct hmac *out)
{
	struct hmac master;
	uint8_t sub[32];
	int r;
	if (hmac_init(&master, key, IDENT_KEY_LEN) < 0) {
		hmac_free(&master);
		return -1;
	}
	hmac_run(&master, label, strlen(label), sub);
	hmac_free(&master);
	r = hmac_init(out, sub, sizeof sub);
	memset(sub, 0, sizeof sub);
	return r;
}

/* A keyed permutation of n positions (Fisher-Yates on an HMAC stream). */
static void keyed_perm(struct hmac *h, const char *label, uint16_t *perm,
		       unsigned n)
{
	uint8_t blk[32];
	unsigned used = 32;
	uint32_t ctr = 0;
	for (unsigned i = 0; i < n; i++)
		perm[i] = (uint16_t)i;
	for (unsigned i = n - 1; i > 0; i--) {
		uint32_t r;
		if (used + 4 > 32) {
			char msg[64];
			int l = snprintf(msg, sizeof msg, "%s/%u", label,
					 ctr++);
			hmac_run(h, msg, (size_t)l, blk);
			used = 0;
		}
		r = (uint32_t)blk[used] | (uint32_t)blk[used + 1] << 8 |
		    (uint32_t)blk[used + 2] << 16 |
		    (uint32_t)blk[used + 3] << 24;
		used += 4;
		unsigned j = (unsigned)(r % (i + 1));
		uint16_t t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
}

static int alpha_idx(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '0' && c <= '9')
		return 26 + (c - '0');
	return 36;
}

static char alpha_chr(int i)
{
	return i < 26 ? (char)('a' + i) : i < 36 ? (char)('0' + i - 26) : '_';
}

ident_enc *ident_enc_new(const uint8_t key[IDENT_KEY_LEN],
			 const ident_names *names, char *err, size_t errlen)
{
	ident_enc *e = calloc(1, sizeof *e);
	struct hmac bloom, clk, perm;
	uint8_t d[32];

	if (e == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->norm = ident_norm_new(err, errlen);
	e->cache = calloc(TOK_CACHE, sizeof *e->cache);
	if (e->norm == NULL || e->cache == NULL) {
		ident_enc_free(e);
		return NULL;
	}
	e->names = names;
	memset(&bloom, 0, sizeof bloom);
	memset(&clk, 0, sizeof clk);
	memset(&perm, 0, sizeof perm);
	if (derive(key, "maillage-ident v1 code", &e->code) < 0 ||
	    derive(key, "maillage-ident v1 block", &e->block) < 0 ||
	    derive(key, "maillage-ident v1 token bloom", &bloom) < 0 ||
	    derive(key, "maillage-ident v1 clk", &clk) < 0 ||
	    derive(key, "maillage-ident v1 permutation", &perm) < 0) {
		snprintf(err, errlen, "HMAC-SHA256 unavailable");
		hmac_free(&bloom);
		hmac_free(&clk);
		hmac_free(&perm);
		ident_enc_free(e);
		return NULL;
	}
	for (int i = 0; i < BIGRAM_ALPHA; i++) {
		for (int j = 0; j < BIGRAM_ALPHA; j++) {
			char bg[2] = {alpha_chr(i), alpha_chr(j)};
			int b = i * BIGRAM_ALPHA + j;
			hmac_run(&bloom, bg, 2, d);
			for (int k = 0; k < TOK_K; k++)
				e->tok_pos[b][k] =
					(uint8_t)(d[k] % TOK_CORE_BITS);
			hmac_run(&clk, bg, 2, d);
			for (int k = 0; k < CLK_K; k++)
				e->clk_pos[b][k] =
					(uint16_t)(((unsigned)d[2 * k] |
						    (unsigned)d[2 * k + 1]
							    << 8) %
						   CLK_CORE_BITS);
		}
	}
	hmac_run(&clk, "code salt", 9, d);
	e->clk_code_salt = le64(d);
	keyed_perm(&perm, "token", e->tok_perm, 2 * TOK_CORE_BITS);
	for (int b = 0; b < LSH_BANDS; b++) {
		uint16_t p[CLK_CORE_BITS];
		char lab[32];
		snprintf(lab, sizeof lab, "lsh %d", b);
		keyed_perm(&perm, lab, p, CLK_CORE_BITS);
		memcpy(e->lsh[b], p, sizeof e->lsh[b]);
	}
	keyed_perm(&perm, "clk", e->clk_perm, 2 * CLK_CORE_BITS);
	hmac_free(&bloom);
	hmac_free(&clk);
	hmac_free(&perm);
	memset(d, 0, sizeof d);
	return e;
}

void ident_enc_free(ident_enc *e)
{
	if (e == NULL)
		return;
	hmac_free(&e->code);
	hmac_free(&e->block);
	ident_norm_free(e->norm);
	free(e->cache);
	free(e);
}

ident_norm *ident_enc_norm(ident_enc *e)
{
	return e->norm;
}

uint64_t ident_enc_code(ident_enc *e, char domain, const void *msg, size_t len)
{
	uint8_t buf[256], d[32];
	if (len > sizeof buf - 1)
		len = sizeof buf - 1;
	buf[0] = (uint8_t)domain;
	memcpy(buf + 1, msg, len);
	hmac_run(&e->code, buf, len + 1, d);
	return le64(d);
}

/* Blocking keys have their own sub-key. */
static uint64_t block_code(ident_enc *e, char kind, uint64_t a, uint64_t b,
			   uint32_t c)
{
	uint8_t msg[21], d[32];
	msg[0] = (uint8_t)kind;
	for (int i = 0; i < 8; i++) {
		msg[1 + i] = (uint8_t)(a >> (8 * i));
		msg[9 + i] = (uint8_t)(b >> (8 * i));
	}
	for (int i = 0; i < 4; i++)
		msg[17 + i] = (uint8_t)(c >> (8 * i));
	hmac_run(&e->block, msg, sizeof msg, d);
	return le64(d);
}

static void set_bit(uint64_t *w, unsigned i)
{
	w[i >> 6] |= 1ULL << (i & 63);
}

static int get_bit(const uint64_t *w, unsigned i)
{
	return (int)((w[i >> 6] >> (i & 63)) & 1);
}

/* core bits -> core ++ complement, permuted */
static void balance(const uint64_t *core, unsigned nbits, const uint16_t *perm,
		    uint64_t *out)
{
	memset(out, 0, 2 * nbits / 8);
	for (unsigned i = 0; i < nbits; i++) {
		if (get_bit(core, i))
			set_bit(out, perm[i]);
		else
			set_bit(out, perm[nbits + i]);
	}
}

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static void bigrams(const char *s, void (*fn)(void *, int), void *arg)
{
	size_t n = strlen(s);
	int prev = 36;
	for (size_t i = 0; i <= n; i++) {
		int c = i < n ? alpha_idx(s[i]) : 36;
		fn(arg, prev * BIGRAM_ALPHA + c);
		prev = c;
	}
}

struct tok_fill {
	const ident_enc *e;
	uint64_t core[TOK_CORE_BITS / 64];
};

static void tok_bigram(void *arg, int b)
{
	struct tok_fill *f = arg;
	for (int k = 0; k < TOK_K; k++)
		set_bit(f->core, f->e->tok_pos[b][k]);
}

struct clk_fill {
	const ident_enc *e;
	uint64_t core[CLK_CORE_BITS / 64];
};

static void clk_bigram(void *arg, int b)
{
	struct clk_fill *f = arg;
	for (int k = 0; k < CLK_K; k++)
		set_bit(f->core, f->e->clk_pos[b][k]);
}

static void clk_code(struct clk_fill *f, uint64_t code)
{
	uint64_t x = code ^ f->e->clk_code_salt;
	if (code == 0)
		return;
	for (int k = 0; k < CLK_K_CODE; k++)
		set_bit(f->core, (unsigned)(splitmix(&x) % CLK_CORE_BITS));
}

static uint8_t lang_class(const char *nat)
{
	/* only what changes the phonetic key matters for the cache */
	if (nat == NULL || !nat[0])
		return 0;
	return (uint8_t)((nat[0] * 31 + nat[1]) & 0xFF) | 1;
}

static void encode_token(ident_enc *e, const ident_token *t, const char *nat,
			 ident_tok_enc *out)
{
	uint8_t lc = lang_class(nat);
	uint64_t h = 1469598103934665603ULL;
	struct tok_cache_slot *slot;
	const char *gids[IDENT_MAX_GROUPS];
	char phon[IDENT_TOKEN_MAX], ex[IDENT_TOKEN_MAX + 1];
	struct tok_fill tf;
	int ng, pl;

	for (const char *p = t->s; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 1099511628211ULL;
	}
	h ^= (uint64_t)t->flags << 8 | lc;
	h *= 1099511628211ULL;
	slot = &e->cache[h % TOK_CACHE];
	if (slot->used && slot->flags == t->flags && slot->lang == lc &&
	    strcmp(slot->s, t->s) == 0) {
		*out = slot->enc;
		return;
	}
	memset(out, 0, sizeof *out);
	out->flags = t->flags;
	snprintf(ex, sizeof ex, "%s%s",
		 (t->flags & IDENT_TOK_ARABIC) ? "^" : "", t->s);
	out->exact = ident_enc_code(e, 'E', ex, strlen(ex));
	pl = ident_phonetic(t, nat, phon, sizeof phon);
	out->phon = pl > 0 ? ident_enc_code(e, 'P', phon, (size_t)pl) : 0;
	ng = ident_names_groups(e->names, t, gids, IDENT_MAX_GROUPS);
	for (int i = 0; i < ng; i++)
		out->grp[i] = ident_enc_code(e, 'G', gids[i], strlen(gids[i]));
	out->ngrp = (uint8_t)ng;
	memset(&tf, 0, sizeof tf);
	tf.e = e;
	bigrams(t->s, tok_bigram, &tf);
	balance(tf.core, TOK_CORE_BITS, e->tok_perm, out->bloom);
	slot->used = 1;
	slot->flags = t->flags;
	slot->lang = lc;
	snprintf(slot->s, sizeof slot->s, "%s", t->s);
	slot->enc = *out;
}

int ident_encode(ident_enc *e, const ident_clear *c, ident_rec *out)
{
	ident_name g, f;
	struct clk_fill cf;
	const char *nat = c->nat[0] ? c->nat : NULL;

	memset(out, 0, sizeof *out);
	if (ident_name_parse(e->norm, c->given_name,
			     c->given_name ? strlen(c->given_name) : 0,
			     &g) < 0 ||
	    ident_name_parse(e->norm, c->family_name,
			     c->family_name ? strlen(c->family_name) : 0,
			     &f) < 0)
		return -1;
	memset(&cf, 0, sizeof cf);
	cf.e = e;
	for (int i = 0; i < g.n; i++) {
		encode_token(e, &g.t[i], nat, &out->given[i]);
		if (!(g.t[i].flags & IDENT_TOK_JOINED)) {
			bigrams(g.t[i].s, clk_bigram, &cf);
			clk_code(&cf, out->given[i].phon);
			clk_code(&cf, out->given[i].grp[0]);
		}
	}
	for (int i = 0; i < f.n; i++) {
		encode_token(e, &f.t[i], nat, &out->family[i]);
		if (!(f.t[i].flags & IDENT_TOK_JOINED)) {
			bigrams(f.t[i].s, clk_bigram, &cf);
			clk_code(&cf, out->family[i].phon);
			clk_code(&cf, out->family[i].grp[0]);
		}
	}
	out->ngiven = (uint8_t)g.n;
	out->nfamily = (uint8_t)f.n;
	if (g.n + f.n > 0)
		balance(cf.core, CLK_CORE_BITS, e->clk_perm, out->clk);
	out->sex = c->sex;
	memcpy(out->nat, c->nat, sizeof out->nat);
	out->nat[2] = 0;
	out->birth = c->birth;
	return 0;
}

/* bits set (SWAR: the portable build has no popcnt instruction, and
 * libgcc's table lookup is slower) */
static unsigned popcount64(uint64_t x)
{
	x = x - ((x >> 1) & 0x5555555555555555ULL);
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
	return (unsigned)((x * 0x0101010101010101ULL) >> 56);
}

double ident_dice(const uint64_t *a, const uint64_t *b, size_t words)
{
	unsigned both = 0, na = 0, nb = 0;
	for (size_t i = 0; i < words; i++) {
		both += popcount64(a[i] & b[i]);
		na += popcount64(a[i]);
		nb += popcount64(b[i]);
	}
	if (na + nb == 0)
		return 0.0;
	return 2.0 * both / (na + nb);
}

/* ---------------------------------------------------------------------- */
/* Blocking keys                                                          */
/* ---------------------------------------------------------------------- */

static int add_key(uint64_t *keys, int n, int max, uint64_t k)
{
	for (int i = 0; i < n; i++)
		if (keys[i] == k)
			return n;
	if (n < max)
		keys[n++] = k;
	return n;
}

int ident_block_keys(ident_enc *e, const ident_rec *r, int query,
		     uint64_t *keys, int max)
{
	int n = 0, ng = r->ngiven < 3 ? r->ngiven : 3;
	int nf = r->nfamily < 3 ? r->nfamily : 3;
	int ylo = 0, yhi = -1;
	const ident_date *d = &r->birth;

	/* a pair of name codes, in either order (swapped names meet) */
	for (int i = 0; i < ng; i++) {
		for (int j = 0; j < nf; j++) {
			const ident_tok_enc *a = &r->given[i],
					    *b = &r->family[j];
			if (a->phon && b->phon)
				n = add_key(
					keys, n, max,
					block_code(e, 'N',
						   a->phon < b->phon ? a->phon
								     : b->phon,
						   a->phon < b->phon ? b->phon
								     : a->phon,
						   0));
			if (a->ngrp && b->ngrp)
				n = add_key(keys, n, max,
					    block_code(e, 'V',
						       a->grp[0] < b->grp[0]
							       ? a->grp[0]
							       : b->grp[0],
						       a->grp[0] < b->grp[0]
							       ? b->grp[0]
							       : a->grp[0],
						       0));
		}
	}
	/* each name with the birth year (one year off for a query) */
	if (d->year) {
		ylo = yhi = d->year;
	} else if (d->ylo) {
		ylo = d->ylo;
		yhi = d->yhi;
	}
	if (query && yhi >= ylo) {
		ylo--;
		yhi++;
	}
	if (yhi - ylo > 4)
		yhi = ylo + 4;
	for (int y = ylo; y <= yhi; y++) {
		for (int i = 0; i < r->ngiven + r->nfamily; i++) {
			const ident_tok_enc *t =
				i < r->ngiven ? &r->given[i]
					      : &r->family[i - r->ngiven];
			if (t->phon)
				n = add_key(keys, n, max,
					    block_code(e, 'Y', t->phon, 0,
						       (uint32_t)y));
		}
	}
	/* each name with the sex and the nationality: a typo in the other
	 * name and no usable birth date */
	if (r->sex && r->nat[0]) {
		uint32_t sn = (uint32_t)r->sex << 16 |
			      (uint32_t)(uint8_t)r->nat[0] << 8 |
			      (uint8_t)r->nat[1];
		for (int i = 0; i < r->ngiven + r->nfamily; i++) {
			const ident_tok_enc *t =
				i < r->ngiven ? &r->given[i]
					      : &r->family[i - r->ngiven];
			if (t->phon && !(t->flags & IDENT_TOK_JOINED))
				n = add_key(keys, n, max,
					    block_code(e, 'X', t->phon, 0, sn));
		}
	}
	/* each name alone between a weak record (no birth year, or one
	 * name field empty) and any other: keys 'S' stored for every
	 * record and queried by weak ones, 'T' stored for weak records and
	 * queried by every one (two complete records never meet here) */
	{
		int weak = !d->year || !r->ngiven || !r->nfamily;
		for (int i = 0; i < r->ngiven + r->nfamily; i++) {
			const ident_tok_enc *t =
				i < r->ngiven ? &r->given[i]
					      : &r->family[i - r->ngiven];
			if (!t->phon || (t->flags & IDENT_TOK_JOINED))
				continue;
			if (!query || weak)
				n = add_key(keys, n, max,
					    block_code(e, 'S', t->phon, 0, 0));
			if (query || weak)
				n = add_key(keys, n, max,
					    block_code(e, 'T', t->phon, 0, 0));
		}
	}
	/* the full birth date, day and month in either order */
	if (d->year && d->month && d->day) {
		unsigned lo = d->month < d->day ? d->month : d->day;
		unsigned hi = d->month < d->day ? d->day : d->month;
		for (int dy = query ? -1 : 0; dy <= (query ? 1 : 0); dy++)
			n = add_key(keys, n, max,
				    block_code(e, 'D', (uint64_t)(d->year + dy),
					       lo, hi));
	}
	/* bands of the record-level CLK: typos in every name */
	if (r->ngiven + r->nfamily > 0) {
		for (int b = 0; b < LSH_BANDS; b++) {
			uint64_t bits = 0;
			for (int k = 0; k < LSH_BITS; k++)
				bits = bits << 1 |
				       (uint64_t)get_bit(
					       r->clk,
					       e->clk_perm[e->lsh[b][k]]);
			n = add_key(keys, n, max,
				    block_code(e, 'L', bits, 0, (uint32_t)b));
		}
	}
	return n;
}

void ident_name_count_keys(ident_enc *e, const ident_rec *r,
			   uint64_t keys[IDENT_NAME_KEYS])
{
	memset(keys, 0, IDENT_NAME_KEYS * sizeof keys[0]);
	for (int i = 0; i < r->ngiven + r->nfamily && i < IDENT_NAME_KEYS;
	     i++) {
		const ident_tok_enc *t = i < r->ngiven
						 ? &r->given[i]
						 : &r->family[i - r->ngiven];
		/* as the 'S' keys of ident_block_keys */
		if (t->phon && !(t->flags & IDENT_TOK_JOINED))
			keys[i] = block_code(e, 'S', t->phon, 0, 0);
	}
}
