/*
 * test_auditv: unit tests of the audit chain verifier (client/auditv.c).
 * They own the verdicts on a synthetic chain of 50 records sealed and
 * checkpointed (every 10 positions) as the daemon does, fed as the server
 * sends it (pages of protocol messages) and as an export file (JSON): a
 * clean chain verifies and is signed up to its end; each kind of tampering
 * is named at the right position, first: a record modified, deleted,
 * inserted among sealed ones, two records swapped (reordered), a seal
 * altered or missing, the chain rewritten consistently after a row was
 * changed (only the signed checkpoint gives it away), a checkpoint signed
 * by another key or with a bad signature, a checkpoint removed, the end of
 * the chain cut off; and the export format is read back, refused when it
 * is not one, and its tampering caught.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auditv.h"

#define N 50
#define CP_EVERY 10
#define NCP (N / CP_EVERY)
#define PAGE 20

/* Audit ids are even: an odd id is free for an insertion. */
#define ID(seq) (100 + 2 * (int64_t)(seq))

struct chain {
	Maillage__AuditRecord rec[N + 1];
	char at[N + 1][48];
	char actions[N + 1][16];
	uint8_t leaf[N + 1][32], hash[N + 1][32], prev[N + 1][32];
	Maillage__AuditSealed ent[N + 1];
	Maillage__AuditSealed *entp[N + 1];
	Maillage__AuditCheckpoint cp[NCP];
	uint8_t cphead[NCP][32], cpsig[NCP][64];
	char cpat[NCP][32];
	char key_id[65];
	char pem[512];
	Maillage__AuditKey key;
	Maillage__AuditKey *keyp;
	Maillage__AuditRecord extra_rec; /* an inserted row */
	Maillage__AuditRecord *unsealed[1];
	size_t nunsealed;
	Maillage__AuditCheckpoint latest;
	int has_latest;
	int64_t head_seq;
};

static EVP_PKEY *key_a, *key_b;

static int setup(void **state)
{
	(void)state;
	key_a = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	key_b = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return key_a != NULL && key_b != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(key_a);
	EVP_PKEY_free(key_b);
	return 0;
}

static void record_init(struct chain *c, int seq)
{
	Maillage__AuditRecord *r = &c->rec[seq];

	maillage__audit_record__init(r);
	snprintf(c->at[seq], sizeof(c->at[seq]),
		 "2026-11-28T14:%02d:%02d.%06dZ", seq / 60, seq % 60,
		 seq * 1000);
	snprintf(c->actions[seq], sizeof(c->actions[seq]), "%s",
		 seq % 3 == 0 ? "case.show" : "ping");
	r->id = ID(seq);
	r->at = c->at[seq];
	r->account_id = 2;
	r->login = "ase";
	r->institution_code = "ase75";
	r->role = "partner";
	r->action = c->actions[seq];
	r->outcome = "ok";
	r->peer = "127.0.0.1:40000";
	r->request_id = seq;
	r->instance = "itest";
	r->case_id = seq % 3 == 0 ? 12 : 0;
	/* error_code, cert_fingerprint, notice_id, person_id: NULL; case_id
	 * too unless a case.show */
	r->null_mask = (1u << 7) | (1u << 11) | (1u << 13) | (1u << 14) |
		       (seq % 3 == 0 ? 0 : 1u << 12);
}

static void leaf_of(const Maillage__AuditRecord *r, uint8_t out[32])
{
	struct auditv_recbuf b;

	assert_int_equal(auditv_record_from_proto(r, &b), 0);
	assert_int_equal(auditv_leaf(&b.rec, out), 0);
}

/* Seal positions from..N again from their records (a consistent rewrite). */
static void reseal(struct chain *c, int from)
{
	static const uint8_t zero[32];
	int s;

	for (s = from; s <= N; s++) {
		leaf_of(&c->rec[s], c->leaf[s]);
		memcpy(c->prev[s], s == 1 ? zero : c->hash[s - 1], 32);
		assert_int_equal(auditv_chain_hash(s, ID(s), c->leaf[s],
						   c->prev[s], c->hash[s]),
				 0);
	}
}

static void sign_cp(struct chain *c, int i, EVP_PKEY *key, const char *key_id)
{
	Maillage__AuditCheckpoint *cp = &c->cp[i];
	char msg[512];
	size_t siglen = 64;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int n;

	n = auditv_checkpoint_message(msg, sizeof(msg), cp->seq, c->cphead[i],
				      cp->at, cp->previous, key_id);
	assert_true(n > 0);
	assert_int_equal(EVP_DigestSignInit(md, NULL, NULL, NULL, key), 1);
	assert_int_equal(EVP_DigestSign(md, c->cpsig[i], &siglen,
					(const unsigned char *)msg, (size_t)n),
			 1);
	EVP_MD_CTX_free(md);
	cp->key_id = (char *)key_id;
}

static void checkpoints(struct chain *c, EVP_PKEY *key)
{
	int i;

	for (i = 0; i < NCP; i++) {
		Maillage__AuditCheckpoint *cp = &c->cp[i];
		int64_t seq = (int64_t)(i + 1) * CP_EVERY;

		maillage__audit_checkpoint__init(cp);
		snprintf(c->cpat[i], sizeof(c->cpat[i]),
			 "2026-11-28T15:00:%02d.000000Z", i);
		memcpy(c->cphead[i], c->hash[seq], 32);
		cp->seq = seq;
		cp->previous = i == 0 ? 0 : seq - CP_EVERY;
		cp->at = c->cpat[i];
		cp->head.data = c->cphead[i];
		cp->head.len = 32;
		cp->signature.data = c->cpsig[i];
		cp->signature.len = 64;
		cp->instance = "itest";
		sign_cp(c, i, key, c->key_id);
	}
}

static struct chain *chain_new(void)
{
	struct chain *c = calloc(1, sizeof(*c));
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;
	int s;

	assert_non_null(c);
	for (s = 1; s <= N; s++)
		record_init(c, s);
	reseal(c, 1);
	for (s = 1; s <= N; s++) {
		Maillage__AuditSealed *e = &c->ent[s];

		maillage__audit_sealed__init(e);
		e->seq = s;
		e->audit_id = ID(s);
		e->format = 1;
		e->leaf.data = c->leaf[s];
		e->leaf.len = 32;
		e->hash.data = c->hash[s];
		e->hash.len = 32;
		e->prev.data = c->prev[s];
		e->prev.len = 32;
		e->record = &c->rec[s];
		c->entp[s] = e;
	}
	assert_int_equal(auditv_key_id(key_a, c->key_id), 0);
	assert_int_equal(PEM_write_bio_PUBKEY(b, key_a), 1);
	n = BIO_get_mem_data(b, &data);
	assert_true(n > 0 && (size_t)n < sizeof(c->pem));
	memcpy(c->pem, data, (size_t)n);
	BIO_free(b);
	maillage__audit_key__init(&c->key);
	c->key.key_id = c->key_id;
	c->key.public_key = c->pem;
	c->keyp = &c->key;
	checkpoints(c, key_a);
	c->head_seq = N;
	return c;
}

/* Feed the chain as the server would: pages of PAGE positions. */
static struct auditv *feed(struct chain *c, EVP_PKEY *trusted)
{
	struct auditv *v = auditv_new(trusted, 1);
	Maillage__AuditCheckpoint *cps[NCP];
	int from;

	assert_non_null(v);
	for (from = 1; from <= c->head_seq; from += PAGE) {
		Maillage__AuditChainPage p = MAILLAGE__AUDIT_CHAIN_PAGE__INIT;
		int to = from + PAGE - 1 < (int)c->head_seq ? from + PAGE - 1
							    : (int)c->head_seq;
		size_t i, ncp = 0;
		int s;

		p.from_seq = from;
		p.to_seq = to;
		p.head_seq = c->head_seq;
		p.n_keys = 1;
		p.keys = &c->keyp;
		p.latest_checkpoint =
			c->has_latest ? &c->latest : &c->cp[NCP - 1];
		for (i = 0; i < NCP; i++)
			if (c->cp[i].seq >= from && c->cp[i].seq <= to &&
			    c->cp[i].seq != 0)
				cps[ncp++] = &c->cp[i];
		p.n_checkpoints = ncp;
		p.checkpoints = cps;
		if (from == 1) {
			p.n_unsealed = c->nunsealed;
			p.unsealed = c->unsealed;
		}
		/* Entries that were removed (entp NULL) are skipped. */
		{
			Maillage__AuditSealed *ents[PAGE];
			size_t ne = 0;

			for (s = from; s <= to; s++)
				if (c->entp[s] != NULL)
					ents[ne++] = c->entp[s];
			p.n_entries = ne;
			p.entries = ents;
			auditv_feed_page(v, &p);
		}
	}
	auditv_finish(v);
	return v;
}

static void expect_ok(struct auditv *v)
{
	const struct auditv_summary *s = auditv_summary(v);

	if (auditv_nproblems(v) > 0)
		fail_msg("unexpected problem: %s at seq %" PRId64 ": %s",
			 auditv_kind_name(auditv_problem(v, 0)->kind),
			 auditv_problem(v, 0)->seq,
			 auditv_problem(v, 0)->detail);
	assert_int_equal(s->problems, 0);
}

/* The first problem must be `kind` at `seq` (about `audit_id`, if not 0). */
static void expect_first(struct auditv *v, enum auditv_kind kind, int64_t seq,
			 int64_t audit_id)
{
	const struct auditv_problem *p = auditv_problem(v, 0);

	if (p == NULL)
		fail_msg("expected %s at seq %" PRId64 ": no problem found",
			 auditv_kind_name(kind), seq);
	if (p->kind != kind || p->seq != seq ||
	    (audit_id != 0 && p->audit_id != audit_id))
		fail_msg("expected %s at seq %" PRId64 " (record %" PRId64
			 "), got %s at seq %" PRId64 " (record %" PRId64
			 "): %s",
			 auditv_kind_name(kind), seq, audit_id,
			 auditv_kind_name(p->kind), p->seq, p->audit_id,
			 p->detail);
}

/* ---- tests -----------------------------------------------------------------
 */

static void test_clean_chain(void **state)
{
	struct chain *c = chain_new();
	struct auditv *v;

	(void)state;
	v = feed(c, key_a);
	expect_ok(v);
	assert_int_equal(auditv_summary(v)->entries, N);
	assert_int_equal(auditv_summary(v)->first_seq, 1);
	assert_int_equal(auditv_summary(v)->last_seq, N);
	assert_int_equal(auditv_summary(v)->checkpoints, NCP);
	assert_int_equal(auditv_summary(v)->checkpoints_ok, NCP);
	assert_int_equal(auditv_summary(v)->signed_upto, N);
	assert_true(auditv_summary(v)->key_trusted);
	assert_string_equal(auditv_summary(v)->key_id, c->key_id);
	auditv_free(v);

	/* Without a trusted key: the source's key, said to be untrusted. */
	v = feed(c, NULL);
	expect_ok(v);
	assert_false(auditv_summary(v)->key_trusted);
	assert_string_equal(auditv_summary(v)->key_id, c->key_id);
	assert_int_equal(auditv_summary(v)->signed_upto, N);
	auditv_free(v);
	free(c);
}

static void test_modified(void **state)
{
	struct chain *c = chain_new();
	struct auditv *v;

	(void)state;
	c->rec[17].outcome = "refused";
	v = feed(c, key_a);
	expect_first(v, AUDITV_MODIFIED, 17, ID(17));
	assert_int_equal(auditv_summary(v)->problems, 1);
	/* Still signed: the seals and checkpoints were not touched. */
	assert_int_equal(auditv_summary(v)->signed_upto, N);
	auditv_free(v);

	/* NULL to "" is a modification too. */
	c->rec[17].outcome = "ok";
	c->rec[23].null_mask &= ~(1u << 7);
	c->rec[23].error_code = "";
	v = feed(c, key_a);
	expect_first(v, AUDITV_MODIFIED, 23, ID(23));
	auditv_free(v);
	free(c);
}

static void test_deleted(void **state)
{
	struct chain *c = chain_new();
	struct auditv *v;

	(void)state;
	c->ent[31].record = NULL;
	v = feed(c, key_a);
	expect_first(v, AUDITV_DELETED, 31, ID(31));
	assert_int_equal(auditv_summary(v)->problems, 1);
	auditv_free(v);
	free(c);
}

static void test_inserted(void **state)
{
	struct chain *c = chain_new();
	struct auditv *v;

	(void)state;
	/* A row whose id falls between records 12 and 13. */
	c->extra_rec = c->rec[12];
	c->extra_rec.id = ID(12) + 1;
	c->unsealed[0] = &c->extra_rec;
	c->nunsealed = 1;
	v = feed(c, key_a);
	expect_first(v, AUDITV_INSERTED, 13, ID(12) + 1);
	assert_non_null(strstr(auditv_problem(v, 0)->detail, "before record"));
	auditv_free(v);
	free(c);
}

static void test_reordered(void **state)
{
	struct chain *c = chain_new();
	Maillage__AuditRecord a, b;
	struct auditv *v;

	(void)state;
	/* Rows 20 and 21 swap ids: each holds the other's content. */
	a = c->rec[20];
	b = c->rec[21];
	a.id = ID(21);
	b.id = ID(20);
	c->rec[20] = b;
	c->rec[21] = a;
	v = feed(c, key_a);
	expect_first(v, AUDITV_REORDERED, 20, ID(20));
	assert_int_equal(auditv_problem(v, 1)->kind, AUDITV_REORDERED);
	assert_int_equal(auditv_problem(v, 1)->seq, 21);
	auditv_free(v);
	free(c);
}

static void test_seal_altered_and_missing(void **state)
{
	struct chain *c = chain_new();
	struct auditv *v;

	(void)state;
	c->hash[30][0] ^= 1;
	v = feed(c, key_a);
	expect_first(v, AUDITV_SEAL_ALTERED, 30, ID(30));
	auditv_free(v);
	c->hash[30][0] ^= 1;

	c->entp[33] = NULL; /* seal row deleted */
	v = feed(c, key_a);
	expect_first(v, AUDITV_SEAL_MISSING, 33, 0);
	auditv_free(v);
	c->entp[33] = &c->ent[33];

	/* A seal's link rewritten. */
	c->prev[8][5] ^= 0x80;
	v = feed(c, key_a);
	expect_first(v, AUDITV_SEAL_ALTERED, 8, ID(8));
	auditv_free(v);
	free(c);
}

/*
 * Row 25 changed and every seal after it recomputed: rows, leaves and
 * links agree; only the checkpoint at 30 (signed before) gives it away.
 */
static void test_consistent_rewrite(void **state)
{
	struct chain *c = chain_new();
	struct auditv *v;

	(void)state;
	c->rec[25].login = "pjj";
	reseal(c, 25);
	v = feed(c, key_a);
	expect_first(v, AUDITV_CHECKPOINT_MISMATCH, 21, 0);
	assert_non_null(strstr(auditv_problem(v, 0)->detail, "21 and 30"));
	assert_int_equal(auditv_summary(v)->signed_upto, 20);
	auditv_free(v);
	free(c);
}

static void test_checkpoint_other_key(void **state)
{
	struct chain *c = chain_new();
	char other_id[65];
	struct auditv *v;

	(void)state;
	/* Checkpoint 2 signed by key B, naming key B. */
	assert_int_equal(auditv_key_id(key_b, other_id), 0);
	sign_cp(c, 1, key_b, other_id);
	v = feed(c, key_a);
	expect_first(v, AUDITV_CHECKPOINT_UNKNOWN_KEY, 20, 0);
	assert_int_equal(auditv_summary(v)->problems, 1);
	auditv_free(v);

	/* Signed by key B but naming key A: the signature fails. */
	sign_cp(c, 1, key_b, c->key_id);
	v = feed(c, key_a);
	expect_first(v, AUDITV_CHECKPOINT_BAD_SIGNATURE, 20, 0);
	auditv_free(v);

	/* The whole chain checked against key B: every checkpoint refused. */
	sign_cp(c, 1, key_a, c->key_id);
	v = feed(c, key_b);
	expect_first(v, AUDITV_CHECKPOINT_UNKNOWN_KEY, 10, 0);
	assert_int_equal(auditv_summary(v)->problems, NCP);
	assert_int_equal(auditv_summary(v)->signed_upto, 0);
	auditv_free(v);

	/* The head signed changed after signing. */
	c->cphead[2][0] ^= 1;
	v = feed(c, key_a);
	expect_first(v, AUDITV_CHECKPOINT_BAD_SIGNATURE, 30, 0);
	auditv_free(v);
	free(c);
}

static void test_checkpoint_removed_and_truncated(void **state)
{
	struct chain *c = chain_new();
	struct auditv *v;

	(void)state;
	c->cp[1].seq = 0; /* the checkpoint at 20 is gone */
	v = feed(c, key_a);
	expect_first(v, AUDITV_CHECKPOINT_MISSING, 20, 0);
	auditv_free(v);
	c->cp[1].seq = 20;

	/* The last 8 seals removed: the head is 42, the last signed is 50. */
	c->head_seq = 42;
	v = feed(c, key_a);
	expect_first(v, AUDITV_TRUNCATED, 43, 0);
	auditv_free(v);

	/* A forged latest checkpoint does not count as proof. */
	c->latest = c->cp[NCP - 1];
	c->latest.seq = 60;
	c->has_latest = 1;
	c->head_seq = N;
	v = feed(c, key_a);
	expect_first(v, AUDITV_CHECKPOINT_BAD_SIGNATURE, 60, 0);
	auditv_free(v);
	free(c);
}

/* ---- the export file ------------------------------------------------------
 */

static json_t *export_doc(struct chain *c)
{
	json_t *ents = json_array(), *cps = json_array(), *keys = json_array();
	int s, i;

	for (s = 1; s <= N; s++)
		assert_int_equal(
			json_array_append_new(ents,
					      auditv_entry_to_json(c->entp[s])),
			0);
	for (i = 0; i < NCP; i++)
		assert_int_equal(
			json_array_append_new(
				cps, auditv_checkpoint_to_json(&c->cp[i])),
			0);
	assert_int_equal(
		json_array_append_new(keys, auditv_key_to_json(&c->key)), 0);
	return json_pack("{s:s, s:i, s:i, s:i, s:i, s:o, s:o, s:o, s:[], s:o}",
			 "format", AUDITV_EXPORT_FORMAT, "version",
			 AUDITV_EXPORT_VERSION, "from_seq", 1, "to_seq", N,
			 "head_seq", N, "keys", keys, "latest_checkpoint",
			 auditv_checkpoint_to_json(&c->cp[NCP - 1]),
			 "checkpoints", cps, "unsealed", "entries", ents);
}

static json_t *entry_record(json_t *doc, int seq)
{
	return json_object_get(json_array_get(json_object_get(doc, "entries"),
					      (size_t)(seq - 1)),
			       "record");
}

static void test_export_round_trip(void **state)
{
	struct chain *c = chain_new();
	char err[256], *text;
	json_t *doc = export_doc(c), *back;
	struct auditv *v;

	(void)state;
	assert_non_null(doc);
	/* Through text, as a file would be. */
	text = json_dumps(doc, 0);
	back = json_loads(text, 0, NULL);
	free(text);
	v = auditv_verify_export(back, key_a, err, sizeof(err));
	assert_non_null(v);
	expect_ok(v);
	assert_int_equal(auditv_summary(v)->signed_upto, N);
	auditv_free(v);

	/* A record changed in the file. */
	json_object_set_new(entry_record(back, 7), "action",
			    json_string("whoami"));
	v = auditv_verify_export(back, key_a, err, sizeof(err));
	assert_non_null(v);
	expect_first(v, AUDITV_MODIFIED, 7, ID(7));
	auditv_free(v);
	json_object_set_new(entry_record(back, 7), "action",
			    json_string(c->actions[7]));

	/* An extra column added to a record. */
	json_object_set_new(json_object_get(entry_record(back, 9), "extra"),
			    "target_account_id", json_string("3"));
	v = auditv_verify_export(back, key_a, err, sizeof(err));
	assert_non_null(v);
	expect_first(v, AUDITV_MODIFIED, 9, ID(9));
	auditv_free(v);
	json_object_del(json_object_get(entry_record(back, 9), "extra"),
			"target_account_id");

	/* Two entries swapped in the file. */
	{
		json_t *ents = json_object_get(back, "entries");
		json_t *e4 = json_incref(json_array_get(ents, 3));
		json_t *e5 = json_incref(json_array_get(ents, 4));

		json_array_set_new(ents, 3, e5);
		json_array_set_new(ents, 4, e4);
		v = auditv_verify_export(back, key_a, err, sizeof(err));
		assert_non_null(v);
		expect_first(v, AUDITV_LINK_BROKEN, 4, 0);
		auditv_free(v);
	}

	/* The wrong trusted key. */
	json_decref(back);
	v = auditv_verify_export(doc, key_b, err, sizeof(err));
	assert_non_null(v);
	expect_first(v, AUDITV_CHECKPOINT_UNKNOWN_KEY, 10, 0);
	auditv_free(v);

	/* Not an export. */
	json_object_set_new(doc, "version", json_integer(2));
	assert_null(auditv_verify_export(doc, key_a, err, sizeof(err)));
	assert_non_null(strstr(err, "not a maillage audit export"));
	json_object_set_new(doc, "version", json_integer(1));
	json_object_del(doc, "entries");
	assert_null(auditv_verify_export(doc, key_a, err, sizeof(err)));
	json_decref(doc);
	free(c);
}

/* A record's JSON: every field by name, null where SQL NULL, extras. */
static void test_record_json(void **state)
{
	struct chain *c = chain_new();
	Maillage__AuditColumn col = MAILLAGE__AUDIT_COLUMN__INIT;
	Maillage__AuditColumn *colp = &col;
	struct auditv_recbuf b;
	char err[128];
	json_t *o;
	uint8_t l1[32], l2[32];

	(void)state;
	col.name = "target_institution_id";
	col.value = "4";
	c->rec[3].n_extra = 1;
	c->rec[3].extra = &colp;
	o = auditv_record_to_json(&c->rec[3]);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(o, "id")), ID(3));
	assert_true(json_is_null(json_object_get(o, "error_code")));
	assert_true(json_is_null(json_object_get(o, "notice_id")));
	assert_int_equal(json_integer_value(json_object_get(o, "case_id")), 12);
	assert_string_equal(json_string_value(json_object_get(o, "action")),
			    "case.show");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(o, "extra"),
						  "target_institution_id")),
		"4");
	/* Back from JSON: the same leaf as from the protocol. */
	assert_int_equal(auditv_record_from_json(o, &b, err, sizeof(err)), 0);
	assert_int_equal(auditv_leaf(&b.rec, l1), 0);
	leaf_of(&c->rec[3], l2);
	assert_memory_equal(l1, l2, 32);
	/* A field of the wrong type is refused. */
	json_object_set_new(o, "case_id", json_string("12"));
	assert_int_equal(auditv_record_from_json(o, &b, err, sizeof(err)), -1);
	json_decref(o);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_chain),
		cmocka_unit_test(test_modified),
		cmocka_unit_test(test_deleted),
		cmocka_unit_test(test_inserted),
		cmocka_unit_test(test_reordered),
		cmocka_unit_test(test_seal_altered_and_missing),
		cmocka_unit_test(test_consistent_rewrite),
		cmocka_unit_test(test_checkpoint_other_key),
		cmocka_unit_test(test_checkpoint_removed_and_truncated),
		cmocka_unit_test(test_export_round_trip),
		cmocka_unit_test(test_record_json),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
