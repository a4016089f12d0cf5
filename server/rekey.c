/*
 * rekey: re-sealing stored texts under the active data key; see rekey.h.
 *
 * The sealed columns are listed once, in rekey_targets, with the row key
 * each value is bound to (vault.h) and the clear column that held the
 * same text before encryption at rest. A batch selects the rows holding a
 * value under another key or a clear text (FOR UPDATE, so a concurrent
 * request waits for the batch, never sees a half-written row), opens and
 * re-seals each value of the row, empties the clear column, and commits.
 * A value that does not open stops the command: it is named (table,
 * column, row), never skipped, since a skipped row would match again.
 */
#include "rekey.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostcmd.h"
#include "vault.h"

#define REKEY_COLS_MAX 4
#define REKEY_SQL_MAX 2048

struct rekey_col {
	const char *enc;    /* sealed column */
	const char *legacy; /* clear column of before encryption, or NULL */
	const char *empty;  /* what the clear column becomes */
	const char *aad;    /* the column name the value is bound to */
	int raw;	    /* binary data, not text */
};

struct rekey_target {
	const char *table;
	const char *key;   /* the row key, as vault binds it (SQL, text) */
	const char *match; /* the row of key $1 */
	struct rekey_col cols[REKEY_COLS_MAX];
};

static const struct rekey_target rekey_targets[] = {
	{"notice",
	 "id::text",
	 "id = $1::bigint",
	 {{"body_enc", "body", "''", "notice.body", 0},
	  {"informed_note_enc", "informed_note", "NULL", "notice.informed_note",
	   0}}},
	{"identity_assertion",
	 "id::text",
	 "id = $1::bigint",
	 {{"given_name_enc", "given_name", "NULL",
	   "identity_assertion.given_name", 0},
	  {"family_name_enc", "family_name", "NULL",
	   "identity_assertion.family_name", 0},
	  {"birth_date_enc", "birth_date", "NULL",
	   "identity_assertion.birth_date", 0},
	  {"place_seen_enc", "place_seen", "NULL",
	   "identity_assertion.place_seen", 0}}},
	{"notice_recipient",
	 "notice_id::text || '/' || institution_id::text",
	 "notice_id = split_part($1, '/', 1)::bigint"
	 " AND institution_id = split_part($1, '/', 2)::bigint",
	 {{"note_enc", "note", "NULL", "notice_recipient.note", 0}}},
	{"case_file",
	 "id::text",
	 "id = $1::bigint",
	 {{"close_reason_enc", "close_reason", "NULL", "case_file.close_reason",
	   0}}},
	{"case_event",
	 "id::text",
	 "id = $1::bigint",
	 {{"note_enc", "note", "NULL", "case_event.note", 0}}},
	{"identity_encoding",
	 "identity_id::text",
	 "identity_id = $1::bigint",
	 {{"rec", NULL, NULL, "identity_encoding.rec", 1}}},
	{"person_link",
	 "id::text",
	 "id = $1::bigint",
	 {{"reason_enc", NULL, NULL, "person_link.reason", 0},
	  {"unlink_reason_enc", NULL, NULL, "person_link.unlink_reason", 0}}},
	{"person_candidate",
	 "least(person_id, other_person_id)::text || '/' ||"
	 " greatest(person_id, other_person_id)::text",
	 "least(person_id, other_person_id) = split_part($1, '/', 1)::bigint"
	 " AND greatest(person_id, other_person_id) ="
	 " split_part($1, '/', 2)::bigint",
	 {{"reason_enc", NULL, NULL, "person_candidate.reason", 0}}},
};

#define REKEY_NTARGETS (sizeof(rekey_targets) / sizeof(rekey_targets[0]))

struct rekey_counts {
	long resealed; /* values moved to the active key */
	long sealed;   /* clear values sealed */
};

static int rekey_ncols(const struct rekey_target *t)
{
	int n = 0;

	while (n < REKEY_COLS_MAX && t->cols[n].enc != NULL)
		n++;
	return n;
}

/* The batch's SELECT: key, then per column the sealed and clear values. */
static const char *rekey_legacy(const struct rekey_col *c)
{
	return c->legacy != NULL ? c->legacy : "NULL::text";
}

/*
 * Append to the statement being built; once it would not fit, *used stays
 * at `len` and the statement is refused by its builder.
 */
static void rekey_cat(char *sql, size_t len, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void rekey_cat(char *sql, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*used >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(sql + *used, len - *used, fmt, ap);
	va_end(ap);
	*used = n < 0 || (size_t)n >= len - *used ? len : *used + (size_t)n;
}

/* The batch's SELECT: key, then per column the sealed and clear values. */
static int rekey_select_sql(const struct rekey_target *t, char *sql, size_t len)
{
	size_t used = 0;
	int i, n = rekey_ncols(t);

	rekey_cat(sql, len, &used, "SELECT %s", t->key);
	for (i = 0; i < n; i++)
		rekey_cat(sql, len, &used, ", %s, coalesce(%s, '')",
			  t->cols[i].enc, rekey_legacy(&t->cols[i]));
	rekey_cat(sql, len, &used, " FROM %s WHERE", t->table);
	for (i = 0; i < n; i++)
		rekey_cat(sql, len, &used,
			  "%s vault_key_id(%s) <> $1::integer"
			  " OR coalesce(%s, '') <> ''",
			  i > 0 ? " OR" : "", t->cols[i].enc,
			  rekey_legacy(&t->cols[i]));
	/* NO KEY: new rows may still reference these meanwhile */
	rekey_cat(sql, len, &used,
		  " ORDER BY %s LIMIT $2::integer FOR NO KEY UPDATE", t->key);
	return used < len ? 0 : -1;
}

static int rekey_update_sql(const struct rekey_target *t, char *sql, size_t len)
{
	size_t used = 0;
	int i, n = rekey_ncols(t);

	rekey_cat(sql, len, &used, "UPDATE %s SET", t->table);
	for (i = 0; i < n; i++) {
		rekey_cat(sql, len, &used, "%s %s = $%d::bytea",
			  i > 0 ? "," : "", t->cols[i].enc, i + 2);
		if (t->cols[i].legacy != NULL)
			rekey_cat(sql, len, &used, ", %s = %s",
				  t->cols[i].legacy, t->cols[i].empty);
	}
	rekey_cat(sql, len, &used, " WHERE %s", t->match);
	return used < len ? 0 : -1;
}

/* Open a value (sealed, or clear from before) of column `c`. */
static enum vault_status rekey_open(const struct vault *v,
				    const struct rekey_col *c, const char *key,
				    const char *sealed, const char *legacy,
				    void **plain, size_t *len)
{
	enum vault_status st;

	if (c->raw)
		return vault_open_raw(v, c->aad, key, sealed, plain, len);
	st = vault_open_or(v, c->aad, key, sealed, legacy, (char **)plain);
	*len = st == VAULT_OK ? strlen(*plain) : 0;
	return st;
}

/* Open one value of the row and seal it again: *out (NULL: none). */
static int rekey_value(const struct vault *v, const struct rekey_target *t,
		       int col, const PGresult *res, int row, char **out,
		       struct rekey_counts *k)
{
	const struct rekey_col *c = &t->cols[col];
	const char *key = PQgetvalue(res, row, 0);
	const char *sealed = PQgetvalue(res, row, 1 + 2 * col);
	const char *legacy = PQgetvalue(res, row, 2 + 2 * col);
	enum vault_status st;
	void *plain = NULL;
	size_t len = 0;
	int oom;

	*out = NULL;
	if (sealed[0] == '\0' && legacy[0] == '\0')
		return 0; /* nothing in this column */
	st = rekey_open(v, c, key, sealed, legacy, &plain, &len);
	if (st != VAULT_OK) {
		fprintf(stderr,
			"maillaged: rotate-key: %s of row %s does not open (%s)"
			"; nothing more done\n",
			c->aad, key,
			st == VAULT_UNKNOWN_KEY
				? "its key is not in the keyring"
			: st == VAULT_NOMEM ? "out of memory"
					    : "altered or not sealed here");
		return -1;
	}
	*out = vault_seal_raw(v, c->aad, key, plain, len, &oom);
	OPENSSL_cleanse(plain, len);
	free(plain);
	if (oom)
		return -1;
	if (sealed[0] != '\0')
		k->resealed++;
	else
		k->sealed++;
	return 0;
}

/* Re-seal one row: 0, or -1 after a message. */
static int rekey_row(PGconn *pg, const struct vault *v,
		     const struct rekey_target *t, const char *update,
		     const PGresult *res, int row, struct rekey_counts *k)
{
	char *vals[REKEY_COLS_MAX] = {0};
	const char *params[REKEY_COLS_MAX + 1];
	int i, n = rekey_ncols(t), rc = -1;

	params[0] = PQgetvalue(res, row, 0);
	for (i = 0; i < n; i++) {
		if (rekey_value(v, t, i, res, row, &vals[i], k) != 0)
			goto out;
		params[i + 1] = vals[i];
	}
	rc = hostcmd_ok(pg, update, n + 1, params, "rotate-key: update");
out:
	for (i = 0; i < n; i++)
		free(vals[i]);
	return rc;
}

/* One batch of `t`: the rows done (0: the table is done), or -1. */
static int rekey_batch(PGconn *pg, const struct vault *v,
		       const struct rekey_target *t, const char *batch,
		       struct rekey_counts *k)
{
	char select[REKEY_SQL_MAX], update[REKEY_SQL_MAX], active[16];
	const char *params[2];
	PGresult *res;
	int i, n;

	if (rekey_select_sql(t, select, sizeof(select)) != 0 ||
	    rekey_update_sql(t, update, sizeof(update)) != 0) {
		fprintf(stderr,
			"maillaged: rotate-key: statement for %s too "
			"long\n",
			t->table);
		return -1;
	}
	snprintf(active, sizeof(active), "%" PRIu32, v->active);
	params[0] = active;
	params[1] = batch;
	if (hostcmd_ok(pg, "BEGIN", 0, NULL, "rotate-key") != 0)
		return -1;
	res = hostcmd_exec(pg, select, 2, params, "rotate-key: select");
	n = res != NULL ? PQntuples(res) : -1;
	for (i = 0; i < n; i++)
		if (rekey_row(pg, v, t, update, res, i, k) != 0)
			n = -1;
	PQclear(res);
	if (n < 0 || hostcmd_ok(pg, n > 0 ? "COMMIT" : "ROLLBACK", 0, NULL,
				"rotate-key: commit") != 0) {
		PQclear(PQexec(pg, "ROLLBACK"));
		return -1;
	}
	return n;
}

static int rekey_parse(int argc, char **argv, long *batch)
{
	char *end;

	*batch = 500;
	if (argc == 0)
		return 0;
	if (argc == 2 && strcmp(argv[0], "--batch") == 0) {
		*batch = strtol(argv[1], &end, 10);
		if (*end == '\0' && *batch >= 1 && *batch <= 100000)
			return 0;
	}
	fprintf(stderr, "usage: maillaged rotate-key [--batch N] (N: 1 to "
			"100000 rows per transaction, default 500)\n");
	return -1;
}

int rekey_run(const struct config *cfg, int argc, char **argv)
{
	struct rekey_counts k = {0, 0};
	char err[CONFIG_ERR_MAX], batch[24];
	struct vault v;
	PGconn *pg;
	long size;
	size_t i;
	int n = 0;

	if (rekey_parse(argc, argv, &size) != 0)
		return 2;
	if (vault_load(&v, cfg->data_keyring, err, sizeof(err)) != 0) {
		fprintf(stderr, "maillaged: [storage] data_keyring: %s\n", err);
		return 1;
	}
	pg = hostcmd_connect(cfg, "rotate-key");
	snprintf(batch, sizeof(batch), "%ld", size);
	for (i = 0; pg != NULL && n >= 0 && i < REKEY_NTARGETS; i++)
		while ((n = rekey_batch(pg, &v, &rekey_targets[i], batch, &k)) >
		       0)
			;
	if (pg != NULL && n >= 0)
		n = hostcmd_audit(pg, "storage.rotate_key", NULL);
	if (pg != NULL && n >= 0)
		printf("rotate-key: active key %" PRIu32 "; %ld values "
		       "re-sealed, %ld clear values sealed\n",
		       v.active, k.resealed, k.sealed);
	PQfinish(pg);
	vault_clear(&v);
	return pg != NULL && n >= 0 ? 0 : 1;
}
