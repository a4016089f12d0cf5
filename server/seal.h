/*
 * seal: the tamper-evident audit chain, on the daemon's side. This module
 * owns the canonical serialisation of an audit_event row and the hashes
 * that chain the rows (format 1, specified in SECURITY.md, "Audit"), the
 * text of a checkpoint that is signed, the Ed25519 signing key (generated
 * by `maillaged audit-keygen`, refused at start when group or others may
 * read it), and the sealer: a periodic background job on the database pool
 * that reads the rows not sealed yet, hashes them here and appends them to
 * audit_seal through audit_seal_append() (sql/007_audit_chain.sql), one
 * transaction per batch under an advisory lock, so several instances may
 * run and the requests' own transactions never wait for the chain. Every
 * checkpoint_rows rows or checkpoint_interval_ms, an instance with a key
 * appends a signed checkpoint. The sealer writes no audit rows of its own
 * and never blocks the event loop. Without a key it seals but signs
 * nothing (a warning at start).
 */
#ifndef MAILLAGE_SEAL_H
#define MAILLAGE_SEAL_H

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

struct server;
struct config;

#define SEAL_HASH_LEN 32
#define SEAL_SIG_LEN 64
#define SEAL_KEY_ID_LEN 64 /* hex characters */
#define SEAL_FORMAT 1

/* The canonical fields of an audit row, in the order they are hashed. */
enum seal_field {
	SEAL_F_AT = 0,
	SEAL_F_ACCOUNT_ID,
	SEAL_F_LOGIN,
	SEAL_F_INSTITUTION_CODE,
	SEAL_F_ROLE,
	SEAL_F_ACTION,
	SEAL_F_OUTCOME,
	SEAL_F_ERROR_CODE,
	SEAL_F_PEER,
	SEAL_F_REQUEST_ID,
	SEAL_F_INSTANCE,
	SEAL_F_CERT_FINGERPRINT,
	SEAL_F_CASE_ID,
	SEAL_F_NOTICE_ID,
	SEAL_F_PERSON_ID,
	SEAL_NFIELDS
};

/* Column names, and whether each field is an integer (else text). */
extern const char *const seal_field_names[SEAL_NFIELDS];
extern const unsigned char seal_field_is_int[SEAL_NFIELDS];

/*
 * The columns of audit_event besides id and the fields: those later
 * migrations added (006, 008). A migration adding a column to audit_event
 * names it in both lists.
 */
#define SEAL_EXTRA_NAMES                                                       \
	"'training_id', 'target_account_id', 'target_institution_id'"
#define SEAL_SQL_EXTRA_ANY                                                     \
	"num_nonnulls(e.training_id, e.target_account_id, "                    \
	"e.target_institution_id) > 0"

/*
 * How many columns of audit_event are neither id, nor a field, nor one of
 * SEAL_EXTRA_NAMES (one value). The sealer reads it in the job that read
 * the rows, after them: their read holds a lock that keeps the table's
 * columns as they are until the job ends.
 */
#define SEAL_SQL_UNKNOWN_COLUMNS                                               \
	"SELECT count(*) FROM pg_attribute a"                                  \
	" WHERE a.attrelid = 'audit_event'::regclass AND a.attnum > 0"         \
	" AND NOT a.attisdropped AND a.attname <> ALL (ARRAY['id', 'at',"      \
	" 'account_id', 'login', 'institution_code', 'role', 'action',"        \
	" 'outcome', 'error_code', 'peer', 'request_id', 'instance',"          \
	" 'cert_fingerprint', 'case_id', 'notice_id', "                        \
	"'person_id', " SEAL_EXTRA_NAMES "]::name[])"

/* e.id, then the fields in seal_field order, `at` as canonical text. */
#define SEAL_SQL_FIELDS                                                        \
	"e.id, to_char(e.at AT TIME ZONE 'UTC', "                              \
	"'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), e.account_id, e.login, "        \
	"e.institution_code, e.role, e.action, e.outcome, e.error_code, "      \
	"e.peer, e.request_id, e.instance, e.cert_fingerprint, e.case_id, "    \
	"e.notice_id, e.person_id"

/* Every other column of `e` that is not NULL, whatever its name. */
#define SEAL_SQL_EXTRA                                                         \
	"(SELECT string_agg(encode(convert_to("                                \
	"x.key, 'UTF8'), 'hex') || ':' || encode(convert_to(x.value, "         \
	"'UTF8'), 'hex'), ',' ORDER BY convert_to(x.key, 'UTF8')) FROM "       \
	"jsonb_each_text(to_jsonb(e) - ARRAY['id', 'at', 'account_id', "       \
	"'login', 'institution_code', 'role', 'action', 'outcome', "           \
	"'error_code', 'peer', 'request_id', 'instance', 'cert_fingerprint', " \
	"'case_id', 'notice_id', 'person_id']) AS x WHERE x.value IS NOT "     \
	"NULL)"

/*
 * The select list that reads one audit_event row `e` in canonical text:
 * e.id, then the fields in seal_field order (NULL stays NULL; `at` as
 * "YYYY-MM-DDTHH:MM:SS.ffffffZ" in UTC), then the row's other columns
 * (those later migrations add) that are not NULL, as text (to_jsonb's
 * rendering), sorted by name: "HEXNAME:HEXVALUE,..." (UTF-8 bytes in
 * hex), or NULL when there is none. SEAL_SQL_NCOLS columns. What `audit
 * log` and `audit verify` read: any column counts, known or not.
 */
#define SEAL_SQL_RECORD SEAL_SQL_FIELDS ", " SEAL_SQL_EXTRA

/*
 * The same for the sealer, which reads every row once, as it is written:
 * the other columns (a conversion of the whole row, most of the cost of
 * reading one) only for a row where one of SEAL_EXTRA_NAMES is set. The
 * sealer seals nothing while SEAL_SQL_UNKNOWN_COLUMNS counts a column, so
 * both reads give the same text for every row it seals.
 */
#define SEAL_SQL_RECORD_SEALER                                                 \
	SEAL_SQL_FIELDS ", CASE WHEN " SEAL_SQL_EXTRA_ANY                      \
			" THEN " SEAL_SQL_EXTRA " END"
#define SEAL_SQL_NCOLS (2 + SEAL_NFIELDS)

/* One row in canonical text: values point into someone else's memory. */
struct seal_record {
	int64_t id;
	const char *value[SEAL_NFIELDS]; /* NULL: SQL NULL */
	size_t len[SEAL_NFIELDS];
	const char *extra; /* "HEXNAME:HEXVALUE,...", sorted; NULL: none */
};

/*
 * Walk `extra`: call fn(arg, name, namelen, value, valuelen) with each
 * column decoded (into buffers of the walk, valid during the call). 0, or
 * -1 when `extra` is malformed or memory is exhausted.
 */
int seal_extra_walk(const char *extra,
		    int (*fn)(void *arg, const char *name, size_t nlen,
			      const char *value, size_t vlen),
		    void *arg);

/* Read the SEAL_SQL_NCOLS columns from `col` of `row` (values lent). */
void seal_record_read(const PGresult *res, int row, int col,
		      struct seal_record *r);

/* The leaf hash of a row: SHA-256 of its canonical serialisation. */
int seal_leaf(const struct seal_record *r, uint8_t out[SEAL_HASH_LEN]);

/* The chain hash at `seq` of the row `audit_id` with `leaf` after `prev`. */
int seal_chain_hash(int64_t seq, int64_t audit_id,
		    const uint8_t leaf[SEAL_HASH_LEN],
		    const uint8_t prev[SEAL_HASH_LEN],
		    uint8_t out[SEAL_HASH_LEN]);

/*
 * The text a checkpoint's signature covers, into buf (NUL-terminated).
 * Returns its length (without the NUL), or -1 if it does not fit.
 */
int seal_checkpoint_message(char *buf, size_t size, int64_t seq,
			    const uint8_t head[SEAL_HASH_LEN], const char *at,
			    int64_t previous, const char *key_id);

/* Lowercase hex of `n` bytes into out (2n + 1 bytes). */
void seal_hex(const uint8_t *in, size_t n, char *out);

/* ---- the signing key ---- */

/*
 * Load an Ed25519 private key (PEM) from `path`, refusing a file that is
 * not a regular file or that its group or others may access. NULL with a
 * message in `err`.
 */
EVP_PKEY *seal_key_load(const char *path, char *err, size_t errlen);

/* The key id (hex SHA-256 of the raw public key) of `key`. 0 or -1. */
int seal_key_id(EVP_PKEY *key, char out[SEAL_KEY_ID_LEN + 1]);

/*
 * Generate a key: `path` (PKCS#8 PEM, mode 600) and `path`.pub (public key,
 * PEM SubjectPublicKeyInfo, mode 644); neither may exist. 0, or -1 with a
 * message in `err`; the key id in `key_id`.
 */
int seal_keygen(const char *path, char key_id[SEAL_KEY_ID_LEN + 1], char *err,
		size_t errlen);

/* `maillaged check`: the configured key, if any, loads. 0 or -1 (err). */
int seal_check_config(const struct config *cfg, char *err, size_t errlen);

/* ---- the sealer ---- */

/*
 * Load the key (a configured key that cannot be used is an error: -1,
 * logged) and start the periodic sealer. Without a key, warn and seal only.
 */
int seal_start(struct server *srv);
void seal_stop(void);

/* Rows this instance has sealed since start (logs, tests). */
uint64_t seal_sealed_total(void);

#endif
