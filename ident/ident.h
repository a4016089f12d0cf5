/*
 * ident: identity resolution across aliases, without names in clear.
 *
 * Pipeline (see ident/README.md):
 *   clear identity --norm--> tokens --names/phonetic--> keys
 *                  --encode (keyed)--> ident_rec  (what a database stores)
 *   ident_rec x ident_rec --compare--> levels --model--> score, explanation
 *   ident_rec --block--> keyed blocking keys (candidate search)
 *
 * Only ident_rec (keyed codes, Bloom filters, and the non-name fields) is
 * needed to match: names in clear never leave the encoder.
 */
#ifndef MAILLAGE_IDENT_H
#define MAILLAGE_IDENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---------------------------------------------------------------------- */
/* Normalisation (norm.c)                                                 */
/* ---------------------------------------------------------------------- */

#define IDENT_TOKEN_MAX 32  /* bytes of one normalised token, with NUL */
#define IDENT_NAME_TOKENS 6 /* tokens kept per name field, joined form too */
#define IDENT_NAME_INPUT_MAX 256 /* bytes of one name field in UTF-8 */

enum ident_tok_flag {
	IDENT_TOK_ARABIC = 1, /* came from Arabic script (unvowelled) */
	IDENT_TOK_CYRILLIC = 2,
	IDENT_TOK_JOINED = 4, /* all tokens of the field glued together */
	IDENT_TOK_OTHER = 8,  /* another non-Latin script */
};

typedef struct ident_token {
	char s[IDENT_TOKEN_MAX]; /* [a-z0-9]+ */
	uint8_t flags;
} ident_token;

typedef struct ident_name {
	ident_token t[IDENT_NAME_TOKENS];
	int n;
} ident_name;

typedef struct ident_norm ident_norm;

/* A normaliser (an ICU transliterator and a small cache). Not thread-safe:
 * one per thread. NULL on failure, with a message in err. */
ident_norm *ident_norm_new(char *err, size_t errlen);
void ident_norm_free(ident_norm *n);

/*
 * Normalise UTF-8 text to lower-case ASCII: any script to Latin (ICU
 * Any-Latin), diacritics folded (Latin-ASCII, with đ -> dj), case folded,
 * apostrophes dropped, every other non-alphanumeric turned into one space.
 * `*scripts` (may be NULL) gets IDENT_TOK_ARABIC/CYRILLIC/OTHER bits of the
 * scripts seen. Returns the length written, or -1 (invalid UTF-8, or the
 * result does not fit).
 */
int ident_norm_text(ident_norm *n, const char *s, size_t len, char *out,
		    size_t outlen, unsigned *scripts);

/*
 * Parse one name field into matching tokens: normalise, split, drop the
 * particles al/el/ul/ben/bin/ibn/bint/bent/ould on their own (they stay in
 * the joined form), glue "abd"/"abdel"/"abdul"/"abd al" to the next token,
 * and add the joined form when the field has several words. Returns the
 * number of tokens, or -1 on invalid input.
 */
int ident_name_parse(ident_norm *n, const char *s, size_t len, ident_name *out);

/* ---------------------------------------------------------------------- */
/* Name knowledge (names.c)                                               */
/* ---------------------------------------------------------------------- */

#define IDENT_MAX_GROUPS 3 /* variant groups kept per token */

typedef struct ident_names ident_names;

/*
 * The name knowledge shipped in the tree (ident/data/names.tsv, embedded in
 * the library): transliteration variant groups and nickname groups. The
 * result is shared and read-only; it lives until ident_names_release().
 * NULL on failure.
 */
const ident_names *ident_names_builtin(ident_norm *n, char *err, size_t errlen);
/* Load from a buffer in the names.tsv format (tests, other data). */
ident_names *ident_names_load(ident_norm *n, const char *data, size_t len,
			      char *err, size_t errlen);
void ident_names_free(ident_names *k);

/* Group ids (stable strings such as "ar:محمد" or "nn:alexander") of a
 * normalised token; returns how many were written (<= max). */
int ident_names_groups(const ident_names *k, const ident_token *t,
		       const char **gids, int max);

/* Generator material kept in the data file (gen.c). */
typedef struct ident_names_entry {
	const char *country; /* ISO 3166 alpha-2 */
	char sex;	     /* 'M', 'F', or 0 for surnames */
	const char *name;    /* Latin, UTF-8, as in the source */
	const char *native;  /* native script form or NULL */
} ident_names_entry;
typedef struct ident_names_spelling {
	const char *s;
	unsigned count;
} ident_names_spelling;
size_t ident_names_forenames(const ident_names *k,
			     const ident_names_entry **out);
size_t ident_names_surnames(const ident_names *k,
			    const ident_names_entry **out);
/* The Arabic-script variant groups: native form and Latin spellings with
 * counts (NULL when the index is out of range). */
const char *ident_names_group(const ident_names *k, size_t i,
			      const ident_names_spelling **sp, size_t *nsp);
/* The index of the first Arabic variant group holding this Latin spelling
 * (normalised comparison), or -1. */
long ident_names_group_of(const ident_names *k, ident_norm *n,
			  const char *latin);

/*
 * The language-aware phonetic key of a token: a consonant skeleton with
 * classes that merge the romanisation conventions met in this population
 * (French ou/dj/ch, English sh/j, Turkish c, Balkan j and c, Albanian xh/q,
 * Romanian ce/ge, Egyptian g; d/t final devoicing; kh/h; q/k). `nat` (ISO
 * alpha-2 or NULL) selects the reading of ambiguous letters. Writes a NUL
 * terminated key into out and returns its length.
 */
int ident_phonetic(const ident_token *t, const char *nat, char *out,
		   size_t outlen);

/* ---------------------------------------------------------------------- */
/* Dates                                                                  */
/* ---------------------------------------------------------------------- */

typedef struct ident_date {
	uint16_t year; /* 0: unknown */
	uint8_t month; /* 0: unknown */
	uint8_t day;   /* 0: unknown */
	/* declared age: birth year in [ylo, yhi] (0 when none) */
	uint16_t ylo, yhi;
} ident_date;

/* YYYY-MM-DD, YYYYMMDD, YYYY-MM, YYYYMM, YYYY or empty (all real dates,
 * years 1900..2100). 0 on success, -1 when malformed. */
int ident_date_parse(const char *s, ident_date *d);
/* A declared age at a date (YYYY-MM-DD): the birth year range. */
int ident_date_from_age(int age, const char *at, ident_date *d);

/* ---------------------------------------------------------------------- */
/* Keyed encodings (encode.c)                                             */
/* ---------------------------------------------------------------------- */

#define IDENT_KEY_LEN 32
#define IDENT_TOK_BLOOM_WORDS 4 /* 256 bits: 128-bit core + complement */
#define IDENT_CLK_WORDS 16	/* 1024 bits: 512-bit core + complement */

/* A keyed encoding of one name token. */
typedef struct ident_tok_enc {
	uint64_t exact;			/* HMAC of the normalised token */
	uint64_t phon;			/* HMAC of the phonetic key */
	uint64_t grp[IDENT_MAX_GROUPS]; /* HMAC of the variant groups */
	uint64_t bloom[IDENT_TOK_BLOOM_WORDS]; /* balanced bigram filter */
	uint8_t ngrp;
	uint8_t flags; /* IDENT_TOK_* */
} ident_tok_enc;

enum ident_sex { IDENT_SEX_UNKNOWN = 0, IDENT_SEX_M = 1, IDENT_SEX_F = 2 };

/* What a database stores to match one identity assertion: no name in
 * clear. */
typedef struct ident_rec {
	ident_tok_enc given[IDENT_NAME_TOKENS];
	ident_tok_enc family[IDENT_NAME_TOKENS];
	uint8_t ngiven, nfamily;
	uint8_t sex; /* enum ident_sex */
	char nat[3]; /* ISO alpha-2 upper case, or "" */
	ident_date birth;
	uint64_t clk[IDENT_CLK_WORDS]; /* record-level balanced CLK */
} ident_rec;

/* An identity in clear, as read from a notice or a CSV row. */
typedef struct ident_clear {
	const char *given_name;	 /* UTF-8, may be NULL */
	const char *family_name; /* UTF-8, may be NULL */
	ident_date birth;
	uint8_t sex;
	char nat[3];
} ident_clear;

typedef struct ident_enc ident_enc;

/*
 * An encoder keyed with the network secret (kept outside the database).
 * The sub-keys for codes, Bloom filters, the filter permutation and the
 * blocking keys are derived from it with HMAC-SHA256. `names` may be NULL
 * (no variant groups). Not thread-safe: one per thread.
 */
ident_enc *ident_enc_new(const uint8_t key[IDENT_KEY_LEN],
			 const ident_names *names, char *err, size_t errlen);
void ident_enc_free(ident_enc *e);
ident_norm *ident_enc_norm(ident_enc *e);

/* Encode one identity. 0 on success, -1 on invalid UTF-8. */
int ident_encode(ident_enc *e, const ident_clear *c, ident_rec *out);

/* HMAC-SHA256 of msg under the encoder's code key, truncated to 64 bits
 * (exposed for tests and for the blocking keys). */
uint64_t ident_enc_code(ident_enc *e, char domain, const void *msg, size_t len);

/* Dice coefficient of two balanced filters of `words` 64-bit words. */
double ident_dice(const uint64_t *a, const uint64_t *b, size_t words);

/* ---------------------------------------------------------------------- */
/* Blocking (block.c)                                                     */
/* ---------------------------------------------------------------------- */

#define IDENT_MAX_BLOCK_KEYS 192

/*
 * The keyed blocking keys of a record. A stored record gets its keys with
 * `query` = 0; a query gets the keys that can meet them (with `query` = 1,
 * the birth year is also tried one year off). Keys: pairs of phonetic or
 * group codes of the names (either order, so swapped names meet), each
 * name code with the birth year, each name code with the sex and the
 * nationality, each name code alone between a weak record (no birth year
 * or an empty name field) and any other (stored and query keys differ, so
 * two complete records never meet this way), the birth date with day and
 * month in either order, and bands of the record-level CLK (typos in every
 * name). Some keys of common names are held by many records: a search
 * skips the keys held by more than a few thousand stored records, as
 * ident_link does (2,000).
 */
int ident_block_keys(ident_enc *e, const ident_rec *r, int query,
		     uint64_t *keys, int max);

/* Name counting keys: one per name token (given names, then family
 * names), keys[i] the 'S' blocking key of token i's phonetic code, 0 for
 * a token without one. It is among every stored record's keys (unless
 * the record has more than IDENT_MAX_BLOCK_KEYS), so the number of stored
 * records holding it is the frequency of that pronunciation. */
#define IDENT_NAME_KEYS (2 * IDENT_NAME_TOKENS)
void ident_name_count_keys(ident_enc *e, const ident_rec *r,
			   uint64_t keys[IDENT_NAME_KEYS]);

/* ---------------------------------------------------------------------- */
/* Comparison and Fellegi-Sunter scoring (compare.c, model.c)             */
/* ---------------------------------------------------------------------- */

enum ident_field {
	IDENT_F_GIVEN,
	IDENT_F_FAMILY,
	IDENT_F_BIRTH,
	IDENT_F_SEX,
	IDENT_F_NAT,
	IDENT_NFIELDS
};

/* Name levels, best first. */
enum ident_name_level {
	IDENT_NL_EXACT,	  /* same normalised token */
	IDENT_NL_VARIANT, /* same transliteration or nickname group */
	IDENT_NL_TYPO,	  /* bigram Dice >= IDENT_DICE_TYPO */
	IDENT_NL_PHON,	  /* same phonetic key, spelt further apart */
	IDENT_NL_PART,	  /* both sides have several names, only one agrees */
	IDENT_NL_WEAK,	  /* bigram Dice >= IDENT_DICE_WEAK */
	IDENT_NL_DIFF,
	IDENT_NAME_LEVELS
};

/* Birth date levels, best first. */
enum ident_birth_level {
	IDENT_BL_EXACT,	  /* same full date */
	IDENT_BL_SWAP,	  /* day and month swapped */
	IDENT_BL_DAYMON,  /* same year, one of day/month differs */
	IDENT_BL_YEAR,	  /* same day and month, year off by one or a digit */
	IDENT_BL_PARTIAL, /* one side year-month, compatible to the month */
	IDENT_BL_PARTIAL_YEAR, /* one side a year alone, the same year */
	IDENT_BL_AGE,	/* a declared age compatible with the other side */
	IDENT_BL_NEAR,	/* a partial date or declared age one year off */
	IDENT_BL_CLOSE, /* full dates within 400 days otherwise */
	IDENT_BL_DIFF,
	IDENT_BIRTH_LEVELS
};

/* Sex and nationality levels; IDENT_NAT_NEAR for nationalities often
 * given for one another (neighbours: Morocco / Algeria, Bosnia / Serbia,
 * Albania / Kosovo, Romania / Moldova...). */
enum { IDENT_SAME = 0, IDENT_DIFF = 1, IDENT_NAT_NEAR = 2 };

#define IDENT_MAX_LEVELS 10
#define IDENT_MISSING (-1)

extern const double IDENT_DICE_TYPO;
extern const double IDENT_DICE_WEAK;

/* A comparison vector: one level per field (IDENT_MISSING when a side has
 * no value), the name levels also crosswise (given against family), the
 * codes on which names or dates agreed (for the term-frequency
 * adjustment) and which tokens agreed (for explanations in clear). */
typedef struct ident_cmp {
	int8_t lvl[IDENT_NFIELDS];
	int8_t xlvl[2];	 /* given x family, family x given */
	uint8_t swapped; /* set by ident_score: the crosswise reading won */
	uint8_t at[4],
		bt[4]; /* token indices: given, family, xgiven, xfamily */
	uint64_t tf[IDENT_NFIELDS];
	uint64_t xtf[2];
} ident_cmp;

typedef struct ident_model {
	double m[IDENT_NFIELDS][IDENT_MAX_LEVELS];
	double u[IDENT_NFIELDS][IDENT_MAX_LEVELS];
	double swap_penalty; /* log2 weight of a crosswise name comparison */
	double lambda;	     /* share of matches among candidate pairs */
} ident_model;

int ident_field_levels(int field);
const char *ident_field_name(int field);
const char *ident_level_name(int field, int level);

/* Built-in m/u probabilities (estimated from generated data, see
 * README): the prior of self-training and EM, and the model to use when
 * there is too little data (a search among stored records). */
void ident_model_default(ident_model *m);

/* Term frequencies of codes (names, dates) in the data being matched. */
typedef struct ident_tf ident_tf;
ident_tf *ident_tf_new(void);
void ident_tf_free(ident_tf *t);
void ident_tf_add(ident_tf *t, const ident_rec *r);
/* How many records of a compared pair the table counts: 2 (the default,
 * as in ident_link, where both sides were added) or 1 (a query that was
 * not added, as in a search of stored records). The term-frequency weight
 * counts only the other records holding the value. */
void ident_tf_set_self(ident_tf *t, int n);
/* Relative frequency of a code in its field (0 when unseen; 1 for a code
 * a names table, ident_tf_new_names, does not hold). */
double ident_tf_freq(const ident_tf *t, int field, uint64_t code);
/*
 * A table of the names' frequencies only, as a search among stored
 * records can know them without reading them: `records` stored records,
 * and for each name token of a query (ident_tf_put_names) the number of
 * stored records holding its pronunciation (the count of its
 * ident_name_count_keys key). A token's spelling and its pronunciation
 * both get that count (at most as rare as its pronunciation: never
 * weighed as rarer than it is). Codes the table does not hold (variant
 * groups, dates, nationalities) are weighed by the model's u alone, not
 * as rare values.
 */
ident_tf *ident_tf_new_names(double records);
void ident_tf_put_names(ident_tf *t, const ident_rec *r,
			const uint64_t counts[IDENT_NAME_KEYS]);
/* Count one more record holding `code` (a general counter; 0 ignored). */
void ident_tf_count(ident_tf *t, uint64_t code);
/* How many records hold `code`, as counted or put. */
double ident_tf_get(const ident_tf *t, uint64_t code);

/* Compare two encoded records (tf, may be NULL, breaks ties between
 * agreeing names towards the rarer). */
void ident_compare(const ident_tf *tf, const ident_rec *a, const ident_rec *b,
		   ident_cmp *out);

/* The level of two name tokens, and the code they agree on. */
int ident_token_level(const ident_tok_enc *a, const ident_tok_enc *b,
		      uint64_t *code);
/* The level of two nationalities (ISO alpha-2): IDENT_SAME, IDENT_NAT_NEAR
 * or IDENT_DIFF. */
int ident_nat_level(const char *a, const char *b);
/* The level of two birth dates. */
int ident_birth_level(const ident_date *a, const ident_date *b);

/* The weight of each field (log2 m/u, term-frequency adjusted when tf is
 * not NULL) into w (may be NULL) and their sum; sets c->swapped. */
double ident_score(const ident_model *m, const ident_tf *tf, ident_cmp *c,
		   double w[IDENT_NFIELDS]);

/*
 * The explanation: "family name: same name in another spelling +6.1; ..."
 * (after ident_score). `names_a`/`names_b` (may be NULL): the clear
 * normalised names of the two records, to show which tokens agreed.
 * Returns the length (snprintf-like).
 */
int ident_explain(const ident_model *m, const ident_tf *tf, ident_cmp *c,
		  const ident_name *names_a, const ident_name *names_b,
		  char *out, size_t outlen);

/*
 * Estimate m (and lambda) by expectation-maximisation on the comparison
 * vectors of unlabelled candidate pairs, keeping u (estimated from random
 * pairs with ident_model_estimate_u). Returns the iterations run.
 */
int ident_model_em(ident_model *m, const ident_cmp *v, size_t n, int max_iter);
/*
 * Estimate m from the data by self-training, field by field: the pairs
 * that the other fields alone make confident matches (weights without
 * this field >= conf, and with it too; `mutual`, may be NULL, keeps only
 * pairs that are each side's best candidate) show how this field agrees
 * between records of one person. No level's m falls below 0.1 %. Under
 * conditional independence, selecting on the other fields does not bias it (a
 * "leave one field out" hard EM; unlike EM on every candidate pair, relatives
 * do not become the match class). The current m is a prior worth 100 pairs per
 * field. Returns the iterations.
 */
int ident_model_fit(ident_model *m, const ident_tf *tf, ident_cmp *v,
		    const uint8_t *mutual, size_t n, double conf, int max_iter);
/* u from comparisons of random (almost surely unmatched) pairs. */
void ident_model_estimate_u(ident_model *m, const ident_cmp *v, size_t n);
void ident_model_print(const ident_model *m, FILE *f);

/* ---------------------------------------------------------------------- */
/* CSV input (csv.c)                                                      */
/* ---------------------------------------------------------------------- */

#define IDENT_CSV_MAX_RECORD 65536 /* bytes of one record */
#define IDENT_CSV_MAX_FIELDS 256

typedef struct ident_csv ident_csv;

/* RFC 4180 reader: quoted fields (with "" and line breaks), CRLF or LF, a
 * UTF-8 BOM skipped, records of at most max_record bytes. */
ident_csv *ident_csv_new(FILE *f, const char *name, size_t max_record);
void ident_csv_free(ident_csv *c);
/* 1: a record in *fields and *n (valid until the next call); 0: end of file;
 * -1: error, message (naming the file and line) in ident_csv_error(). */
int ident_csv_next(ident_csv *c, char ***fields, size_t *n);
const char *ident_csv_error(const ident_csv *c);
/* The line on which the last record began (1-based). */
unsigned long ident_csv_line(const ident_csv *c);

/* An identity row of an input file. */
typedef struct ident_row {
	char *id;
	char *given_name, *family_name;
	char *nationality;
	ident_date birth;
	uint8_t sex;
} ident_row;

typedef struct ident_table {
	ident_row *rows;
	size_t n, cap;
	char *name;
} ident_table;

/*
 * Read an input file: header with `id` (required), given_name,
 * family_name, birth_date, sex, nationality, and optionally declared_age
 * with declared_on (a declared age when birth_date is empty); other
 * columns ignored. Every value must be valid UTF-8; ids unique and
 * non-empty. -1 on error with "FILE:LINE: message" in err.
 */
int ident_table_read(const char *path, ident_table *t, char *err,
		     size_t errlen);
void ident_table_free(ident_table *t);

/* ---------------------------------------------------------------------- */
/* Linkage (link.c)                                                       */
/* ---------------------------------------------------------------------- */

typedef struct ident_pair {
	uint32_t a, b; /* row indices (left, right; or a < b in dedupe) */
	float score;
	ident_cmp cmp;
	/* dedupe: 0 for a direct link, else 1 + the index of a record that
	 * both are linked to (the pair was implied by the cluster, and its
	 * score is that of the weakest link on the way) */
	uint32_t via;
	/* two files: what other strong candidates of either record took
	 * off the score (log2), 0 when none */
	float compete;
} ident_pair;

typedef struct ident_link_opts {
	double threshold; /* minimum score proposed */
	int em;		  /* re-estimate m by EM on the input */
	int fit;	  /* re-estimate m by self-training (the default) */
	int one_to_one;	  /* assignment (left/right mode) */
	int cluster;	  /* dedupe: pairs implied by the clusters too */
	int compete;	  /* two files: competing candidates lower a score */
	int verbose;	  /* statistics on stderr */
	int tf;		  /* IDENT_TF_*: the term frequencies used */
} ident_link_opts;

/* Term frequencies of ident_link: every code of every record (the
 * default), none, or the names' pronunciations only, counted by their
 * keys as the daemon's search counts them (for measuring it). */
enum { IDENT_TF_FULL = 0, IDENT_TF_NONE = 1, IDENT_TF_NAMES = 2 };

typedef struct ident_link_result {
	ident_pair *pairs; /* best first */
	size_t n;
	ident_model model;
	ident_tf *tf;
	size_t candidates; /* pairs compared */
	double seconds_encode, seconds_match;
} ident_link_result;

/* Default threshold of maillage-link (log2 likelihood ratio). */
#define IDENT_DEFAULT_THRESHOLD 16.0

void ident_link_opts_default(ident_link_opts *o);
/*
 * Link encoded records: `right` NULL for deduplication of `left`.
 * 0 on success.
 */
int ident_link(ident_enc *e, const ident_rec *left, size_t nl,
	       const ident_rec *right, size_t nr, const ident_link_opts *o,
	       ident_link_result *res);
void ident_link_result_free(ident_link_result *r);

#define IDENT_CLUSTER_MAX 8 /* records of a cluster that implies pairs */

/*
 * Deduplication clusters: the pairs of `pairs` (a < b, any order) scoring
 * at least `threshold` link records into clusters (connected components).
 * In a cluster of at most IDENT_CLUSTER_MAX records, every two records
 * are proposed, a pair not linked directly with the score of the
 * strongest chain between them (its weakest link) and `via` set, unless
 * its own comparison under model `m` (may be NULL) is evidence against;
 * larger clusters (chains of doubtful links) imply nothing. The result, in
 * *out (malloc'd, best first), holds the direct pairs above the threshold
 * and the implied ones. 0 on success.
 */
int ident_cluster(const ident_model *m, const ident_rec *r, size_t n,
		  const ident_tf *tf, const ident_pair *pairs, size_t np,
		  double threshold, ident_pair **out, size_t *nout);

/* Encode a table (the clear rows) into records. */
int ident_encode_table(ident_enc *e, const ident_table *t, ident_rec **out,
		       char *err, size_t errlen);

/* ---------------------------------------------------------------------- */
/* Test identities (gen.c)                                                */
/* ---------------------------------------------------------------------- */

typedef struct ident_gen_opts {
	uint64_t seed;
	size_t n_left, n_right; /* records on each side */
	double overlap;		/* share of left persons also on the right */
	double error_scale;	/* 1.0: the default error rates */
} ident_gen_opts;

void ident_gen_opts_default(ident_gen_opts *o);
/*
 * Generate two CSV files (left, right) of observations of the same
 * population, with the errors of issue 5, and the truth file of the pairs
 * (left_id,right_id). When right_path is NULL, one file with duplicates
 * (dedupe) and truth pairs id1,id2 within it.
 */
int ident_gen(const ident_names *k, ident_norm *n, const ident_gen_opts *o,
	      const char *left_path, const char *right_path,
	      const char *truth_path, char *err, size_t errlen);

#endif
