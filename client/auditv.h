/*
 * auditv: verification of the audit chain, on the client's side. This
 * module owns an implementation of the chain's rules written from their
 * specification (SECURITY.md, "Audit"), independently of the daemon's
 * (server/seal.c; tests/unit/test_seal.c checks that both agree, with
 * known-answer vectors): the canonical serialisation of a row and its leaf
 * hash, the chain hash, the text a checkpoint signs, Ed25519 public keys
 * and their ids; the streaming verifier, which takes the chain in order
 * (from the server page by page, or from an export file) and names what is
 * wrong: a row modified, deleted, inserted or moved to another position, a
 * seal altered or missing, a checkpoint that does not match the chain, is
 * not signed by the trusted key, or has disappeared; and the JSON export
 * format (one document: keys, entries, checkpoints, unsealed rows) that a
 * third party verifies offline. No I/O but the files it is asked to read.
 */
#ifndef MAILLAGE_AUDITV_H
#define MAILLAGE_AUDITV_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "maillage.pb-c.h"

#define AUDITV_HASH_LEN 32
#define AUDITV_SIG_LEN 64
#define AUDITV_KEY_ID_LEN 64
#define AUDITV_NFIELDS 15
#define AUDITV_EXTRA_MAX 32 /* other columns a row may have */
#define AUDITV_FORMAT 1

/* Export documents: "format" and "version" of the JSON file. */
#define AUDITV_EXPORT_FORMAT "maillage-audit-export"
#define AUDITV_EXPORT_VERSION 1

/* ---- rows and hashes ---- */

/* Field names in canonical order: the columns, the proto and JSON keys. */
extern const char *const auditv_field_names[AUDITV_NFIELDS];
/* 1 where the field is an integer (rendered in decimal), 0 for text. */
extern const unsigned char auditv_field_is_int[AUDITV_NFIELDS];

/*
 * A row in canonical text: NUL-terminated values, NULL for SQL NULL; then
 * the other columns that are not NULL (any order: the leaf sorts them).
 */
struct auditv_record {
	int64_t id;
	const char *value[AUDITV_NFIELDS];
	size_t nextra;
	const char *extra_name[AUDITV_EXTRA_MAX];
	const char *extra_value[AUDITV_EXTRA_MAX];
};

/* A record with room for its integers rendered as text. */
struct auditv_recbuf {
	struct auditv_record rec;
	char num[AUDITV_NFIELDS][24];
};

/*
 * The canonical record of a protocol record (strings lent by `p`). 0, or
 * -1 when it has more than AUDITV_EXTRA_MAX other columns.
 */
int auditv_record_from_proto(const Maillage__AuditRecord *p,
			     struct auditv_recbuf *b);

/*
 * The canonical record of an export's JSON record (strings lent by `o`).
 * 0, or -1 with a reason in `err`.
 */
int auditv_record_from_json(const json_t *o, struct auditv_recbuf *b, char *err,
			    size_t errlen);

/*
 * A protocol record as JSON: "id", its fields by name (null where SQL
 * NULL) and "extra": {name: value} for the other columns.
 */
json_t *auditv_record_to_json(const Maillage__AuditRecord *p);

/* SHA-256 of the canonical serialisation. 0 or -1. */
int auditv_leaf(const struct auditv_record *r, uint8_t out[AUDITV_HASH_LEN]);

/* The chain hash at `seq`. 0 or -1. */
int auditv_chain_hash(int64_t seq, int64_t audit_id,
		      const uint8_t leaf[AUDITV_HASH_LEN],
		      const uint8_t prev[AUDITV_HASH_LEN],
		      uint8_t out[AUDITV_HASH_LEN]);

/* The text a checkpoint signs; its length, or -1 when it does not fit. */
int auditv_checkpoint_message(char *buf, size_t size, int64_t seq,
			      const uint8_t head[AUDITV_HASH_LEN],
			      const char *at, int64_t previous,
			      const char *key_id);

/* ---- keys ---- */

/* An Ed25519 public key from PEM text / a PEM file; NULL (err) if not. */
EVP_PKEY *auditv_pubkey_from_pem(const char *pem, char *err, size_t errlen);
EVP_PKEY *auditv_pubkey_load(const char *path, char *err, size_t errlen);

/* Hex SHA-256 of the raw public key. 0 or -1. */
int auditv_key_id(EVP_PKEY *key, char out[AUDITV_KEY_ID_LEN + 1]);

/* ---- the verifier ---- */

enum auditv_kind {
	AUDITV_MODIFIED = 0,   /* a row differs from what was sealed */
	AUDITV_DELETED,	       /* a sealed row is gone */
	AUDITV_INSERTED,       /* a row among sealed rows that no seal covers */
	AUDITV_REORDERED,      /* a row holds what was sealed elsewhere */
	AUDITV_SEAL_ALTERED,   /* a seal's hash does not follow from it */
	AUDITV_LINK_BROKEN,    /* a seal does not chain to the one before */
	AUDITV_SEAL_MISSING,   /* chain positions are missing */
	AUDITV_FORMAT_UNKNOWN, /* a seal of a format this client ignores */
	AUDITV_CHECKPOINT_MISMATCH, /* the chain is not the signed head */
	AUDITV_CHECKPOINT_BAD_SIGNATURE,
	AUDITV_CHECKPOINT_UNKNOWN_KEY, /* signed by a key not trusted */
	AUDITV_CHECKPOINT_MISSING,     /* a checkpoint named by a later one */
	AUDITV_TRUNCATED,	       /* the chain ends before a signed head */
	AUDITV_KIND_COUNT
};

/* "modified", "deleted", "inserted", "reordered", "seal_altered"... */
const char *auditv_kind_name(enum auditv_kind kind);

struct auditv_problem {
	enum auditv_kind kind;
	int64_t seq;	  /* chain position the problem is at (ordering) */
	int64_t audit_id; /* the row concerned, 0 if none */
	uint64_t found;	  /* order of discovery (ties) */
	char detail[256];
};

/* One chain position as the source gives it. */
struct auditv_entry {
	int64_t seq;
	int64_t audit_id;
	uint32_t format;
	const uint8_t *leaf, *hash, *prev;   /* AUDITV_HASH_LEN each, or ... */
	size_t leaf_len, hash_len, prev_len; /* ... other lengths: altered */
	const struct auditv_record *record;  /* NULL: the row is gone */
	int record_omitted; /* the row exists but was too large to send */
};

struct auditv_checkpoint {
	int64_t seq;
	int64_t previous;
	const uint8_t *head;
	size_t head_len;
	const char *at;
	const char *key_id;
	const uint8_t *sig;
	size_t sig_len;
};

struct auditv_summary {
	int64_t first_seq; /* first position verified, 0 if none */
	int64_t last_seq;
	int64_t entries;
	int64_t checkpoints;	/* checkpoints seen in the range */
	int64_t checkpoints_ok; /* matching the chain, signature valid */
	int64_t signed_upto;	/* last position a valid checkpoint covers */
	char signed_at[40];	/* that checkpoint's time */
	char signed_head[2 * AUDITV_HASH_LEN + 1]; /* and its head, hex */
	int64_t head_seq; /* the chain's head, as the source said */
	int key_trusted;  /* checked against a key given out of band */
	char key_id[AUDITV_KEY_ID_LEN + 1]; /* the key that signed */
	int64_t problems; /* all of them (only the first are kept) */
};

struct auditv;

/*
 * A verifier. `trusted` (borrowed, may be NULL) is the public key given
 * out of band: every checkpoint must be signed by it. Without it, the keys
 * the source names (auditv_add_key) are used, and the summary says so.
 * `from_seq` is where the source starts (1: the whole chain).
 */
struct auditv *auditv_new(EVP_PKEY *trusted, int64_t from_seq);
void auditv_free(struct auditv *v);

/* A key the source names. 0, or -1 (not an Ed25519 PEM key). */
int auditv_add_key(struct auditv *v, const char *key_id, const char *pem);

/* Checkpoints come before the entries they cover. */
void auditv_checkpoint(struct auditv *v, const struct auditv_checkpoint *cp);

/* The source's latest checkpoint and head, read together. */
void auditv_latest(struct auditv *v, const struct auditv_checkpoint *cp,
		   int64_t head_seq);

/* Rows no seal covers; before the entries of the same page. */
void auditv_unsealed(struct auditv *v, const struct auditv_record *r);

/* The next chain position, in order. */
void auditv_entry(struct auditv *v, const struct auditv_entry *e);

/* End of the source: settle what is pending, sort the problems. */
void auditv_finish(struct auditv *v);

const struct auditv_summary *auditv_summary(const struct auditv *v);
/* Problems kept, by position (the first is the first one); ok if none. */
size_t auditv_nproblems(const struct auditv *v);
const struct auditv_problem *auditv_problem(const struct auditv *v, size_t i);

/* Feed one page received from the server. */
void auditv_feed_page(struct auditv *v, const Maillage__AuditChainPage *p);

/* ---- the export file ---- */

/* JSON of the parts of a page, as the export file holds them. */
json_t *auditv_entry_to_json(const Maillage__AuditSealed *e);
json_t *auditv_checkpoint_to_json(const Maillage__AuditCheckpoint *cp);
json_t *auditv_key_to_json(const Maillage__AuditKey *k);

/*
 * Verify an export document. `trusted` as for auditv_new. Returns a
 * finished verifier, or NULL with a reason in `err` when the document is
 * not an export this client reads.
 */
struct auditv *auditv_verify_export(const json_t *doc, EVP_PKEY *trusted,
				    char *err, size_t errlen);

#endif
