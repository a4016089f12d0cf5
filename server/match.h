/*
 * match: recognising the same young person behind different identities,
 * for the daemon. It wraps the identity library (ident/: normalisation,
 * keyed encodings, blocking keys, Fellegi-Sunter scores) keyed with the
 * network's matching secret ([identity] matching_key, a file outside the
 * database), so that the database holds, per identity assertion, only the
 * record's keyed encoding (sealed by vault.c) and its keyed blocking keys
 * (64-bit HMACs): no name, no date in clear. A search turns an identity
 * into the blocking keys that can meet stored ones; the candidates the
 * database returns are opened and scored here, one best score per person,
 * with the per-field explanation of the weights.
 */
#ifndef MAILLAGE_MATCH_H
#define MAILLAGE_MATCH_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ident.h"
#include "maillage.pb-c.h"
#include "vault.h"

#define MATCH_EXPLAIN_MAX 400
#define MATCH_CANDIDATES_MAX 20
/* Stored identities scored per search, those sharing most keys first. */
#define MATCH_SCAN_MAX "100"

/* An identity ready to be stored and searched. */
struct match_query {
	ident_rec rec;
	uint64_t keys[IDENT_MAX_BLOCK_KEYS]; /* stored with the record */
	int nkeys;
	uint64_t qkeys[IDENT_MAX_BLOCK_KEYS]; /* that can meet stored ones */
	int nqkeys;
	uint64_t ckeys[IDENT_NAME_KEYS]; /* counting keys of its names */
	int nckeys;
};

/*
 * How common the query's names are among the stored identities
 * (identity_name_counts, sql/020): the statement to add to a search's
 * job, in binary format, with match_count_keys_literal(q) as $1; its
 * result goes to match_rank, which weighs an agreement on a common name
 * less (term frequencies, ident_tf_new_names).
 */
#define MATCH_COUNTS_SQL "SELECT ord, n FROM identity_name_counts($1::bigint[])"
/* q's counting keys as a bigint[] literal (to free); NULL if OOM. */
char *match_count_keys_literal(const struct match_query *q);

struct match_candidate {
	int64_t person_id;
	int64_t identity_id; /* the stored identity that scored best */
	double score;
	int visible;	      /* the caller may learn of this person */
	int64_t open_case_id; /* the person's open case the caller sees, or 0 */
	int64_t any_case_id;  /* the person's open case (never sent), or 0 */
	ident_cmp cmp;	      /* the comparison, for the explanation */
	char explanation[MATCH_EXPLAIN_MAX];
};

/*
 * The network's policy on linking without a coordinator ([identity]
 * auto_link_threshold, in tenths; 0, the default: never). The candidate
 * (index in c[0..n-1], ranked best first) that the new person of a notice
 * is linked to at once, or -1. Only a person the notice created
 * (new_person), and only when exactly one candidate reaches both the
 * policy's threshold and the confident one: two persons that both look
 * like the child are for a coordinator to tell apart.
 */
int match_auto_link(const struct config *cfg, const struct match_candidate *c,
		    int n, int new_person);

/* Load the matching key and the name knowledge; 0, or -1 with `err`.
 * Without [identity] matching_key, matching is off (match_enabled 0). */
int match_init(const struct config *cfg, char *err, size_t errlen);
int match_enabled(void);
void match_free(void);

/* Count the new identities' blocking keys every half minute (the search
 * skips very large blocks; sql/012). 0, or -1. */
struct server;
int match_start(struct server *srv);
void match_stop(void);

/* Write a new matching key (64 hex digits, mode 600) to `path`. */
int match_keygen(const char *path, char *err, size_t errlen);

/*
 * Encode `id` (names, birth date or declared age, sex, nationality).
 * 0, or -1 when it has no name to match on or is not valid UTF-8.
 */
int match_encode(const Maillage__Identity *id, struct match_query *q);

/* The same from an identity already parsed (names, date, sex, nat). */
int match_encode_clear(const ident_clear *c, struct match_query *q);

/* The keys as a PostgreSQL bigint[] literal (to free); NULL if OOM. */
char *match_keys_literal(const uint64_t *keys, int n);

/* The record sealed for identity row `identity_id` (hex text, to free). */
char *match_seal(const struct vault *v, const char *identity_id,
		 const ident_rec *rec, int *oom);

/*
 * Score the candidate rows of `res`, read in binary format (db_job_binary:
 * the sealed records come as their bytes, not as hexadecimal text twice
 * their size; columns from `col`: identity id, person id, sealed record,
 * visible, open case id the caller sees, any open case id) against `q`,
 * with the names' frequencies of `counts` (MATCH_COUNTS_SQL's rows in
 * binary format; NULL: none); keep the best identity per person scoring at
 * least `threshold`, best first, at most `max`. Returns how many, or -1
 * when a record does not open or a row is malformed (logged).
 */
int match_rank(const struct vault *v, const struct match_query *q,
	       const PGresult *counts, const PGresult *res, int col,
	       double threshold, int visible_only, struct match_candidate *out,
	       int max);

#endif
