/*
 * test_seal: unit tests of the audit chain's rules (server/seal.c, and the
 * client's independent implementation in client/auditv.c). They own the
 * known-answer vectors of the canonical serialisation (fixed fields with
 * NULLs, empty strings, negative integers and UTF-8; the extra columns that
 * later migrations add, sorted by name), of the chain hash and of the
 * checkpoint text and its Ed25519 signature: the expected values were
 * computed from SECURITY.md's specification alone, with Python's hashlib
 * and the `cryptography` package (RFC 8032's first test key), so that a
 * third party's implementation can be checked against them too. Both C
 * implementations must give exactly these values. They also own the
 * signing key's file handling: generation (modes 600 and 644, no
 * overwrite), loading, refusal of a key its group or others may read, and
 * the key id both sides derive.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auditv.h"
#include "seal.h"

/* ---- the vectors (see the header comment) -------------------------------- */

#define LEAF_A                                                                 \
	"9477f2c1a46199e05655ecf940419c893d951ec929c74daa529d21c52a156247"
#define LEAF_B                                                                 \
	"9ac8f5bda8c7bf42e7b15db5e7d44075cea4483596247030fc69212c91f4cdc3"
#define LEAF_C                                                                 \
	"d3b199e7cbba5718f2f6425911a9a4693b715397efcaf85ce8f9ce4246335952"
#define HASH_1                                                                 \
	"2c56845fbf64061d886ef081d7282d1423ebb0544d9c01e738cb9c4273103909"
#define HASH_2                                                                 \
	"6a2c566749193e54849a98ee3b97dde1a9b0336e49c4ea33067b1c5f28a73a1e"
#define HASH_3                                                                 \
	"2ad043db2e413ccb818610cb73c61e4af9a3752284cfd0354920ec7a41ad09af"
#define SEED "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
#define KEY_ID                                                                 \
	"21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9"
#define CP_AT "2026-11-28T14:03:08.000001Z"
#define SIG                                                                    \
	"1f8f8eb9e56e69ee3c56e7062bcd853ceea4e84c6d36daec55b4b4cb9e09a9c1"     \
	"3f1b45c0a8860288ec6ddd0b3013226ab5c0aa6fc75386b92dd617998c45f10a"
#define PUB_PEM                                                                \
	"-----BEGIN PUBLIC KEY-----\n"                                         \
	"MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"       \
	"-----END PUBLIC KEY-----\n"

/* Record A: id 42; B: A's fields and two extra columns; C: id -5. */
static const char *const fields_a[SEAL_NFIELDS] = {
	"2026-11-28T14:03:07.123456Z",
	"7",
	"ase",
	"ase75",
	"partner",
	"case.show",
	"ok",
	NULL,
	"127.0.0.1:5000",
	"-3",
	"paris-1",
	NULL,
	"12",
	NULL,
	"9",
};

static const char *const fields_c[SEAL_NFIELDS] = {
	"2026-11-28T14:03:07.000000Z",
	NULL,
	"",
	NULL,
	NULL,
	"connect",
	"refused",
	"UNAUTHENTICATED",
	"[::1]:443 \xc3\xa9",
	NULL,
	NULL,
	"abababababababababababababababababababababababababababababababab",
	NULL,
	NULL,
	NULL,
};

static void hex(const uint8_t *in, size_t n, char *out)
{
	seal_hex(in, n, out);
}

static void unhex(const char *s, uint8_t *out, size_t n)
{
	size_t i;

	assert_int_equal(strlen(s), 2 * n);
	for (i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* "HEXNAME:HEXVALUE" as the daemon's SQL writes an extra column. */
static void extra_pair(char *out, size_t size, const char *name,
		       const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);

	assert_true(2 * (nl + vl) + 2 <= size);
	seal_hex((const uint8_t *)name, nl, out);
	out[2 * nl] = ':';
	seal_hex((const uint8_t *)value, vl, out + 2 * nl + 1);
}

static void server_record(struct seal_record *r, int64_t id,
			  const char *const *fields, const char *extra)
{
	int i;

	memset(r, 0, sizeof(*r));
	r->id = id;
	for (i = 0; i < SEAL_NFIELDS; i++) {
		r->value[i] = fields[i];
		r->len[i] = fields[i] != NULL ? strlen(fields[i]) : 0;
	}
	r->extra = extra;
}

static void client_record(struct auditv_record *r, int64_t id,
			  const char *const *fields)
{
	int i;

	memset(r, 0, sizeof(*r));
	r->id = id;
	for (i = 0; i < AUDITV_NFIELDS; i++)
		r->value[i] = fields[i];
}

/* ---- tests -----------------------------------------------------------------
 */

static void test_field_lists_agree(void **state)
{
	int i;

	(void)state;
	assert_int_equal(SEAL_NFIELDS, AUDITV_NFIELDS);
	for (i = 0; i < SEAL_NFIELDS; i++) {
		assert_string_equal(seal_field_names[i], auditv_field_names[i]);
		assert_int_equal(seal_field_is_int[i], auditv_field_is_int[i]);
	}
}

/*
 * The quoted names of the first "ARRAY[...]" after `marker` in `sql`, into
 * names[max][64]; their number.
 */
static int array_names(const char *sql, const char *marker, char names[][64],
		       int max)
{
	const char *p = strstr(sql, marker), *end, *q;
	int n = 0;

	assert_non_null(p);
	p = strstr(p, "ARRAY[");
	assert_non_null(p);
	end = strchr(p, ']');
	assert_non_null(end);
	for (p = strchr(p, '\''); p != NULL && p < end;
	     p = strchr(q + 1, '\'')) {
		q = strchr(p + 1, '\'');
		assert_non_null(q);
		assert_true(q - p - 1 < 64 && n < max);
		snprintf(names[n++], 64, "%.*s", (int)(q - p - 1), p + 1);
	}
	return n;
}

static int has_name(char names[][64], int n, const char *name)
{
	int i, found = 0;

	for (i = 0; i < n; i++)
		found += strcmp(names[i], name) == 0;
	return found;
}

/*
 * The column lists agree: the generic read leaves out exactly id and the
 * fields; the sealer's catalog check knows exactly id, the fields and
 * SEAL_EXTRA_NAMES; SEAL_SQL_EXTRA_ANY tests exactly SEAL_EXTRA_NAMES.
 */
static void test_extra_lists_agree(void **state)
{
	char extra[8][64], skipped[64][64], known[64][64], want[80];
	const char *p;
	int nx, ns, nk, i, tested = 0;

	(void)state;
	nx = array_names("ARRAY[" SEAL_EXTRA_NAMES "]", "", extra, 8);
	assert_true(nx >= 3);
	ns = array_names(SEAL_SQL_EXTRA, "to_jsonb", skipped, 64);
	nk = array_names(SEAL_SQL_UNKNOWN_COLUMNS, "attname", known, 64);
	assert_int_equal(ns, 1 + SEAL_NFIELDS);
	assert_int_equal(nk, 1 + SEAL_NFIELDS + nx);
	assert_int_equal(has_name(skipped, ns, "id"), 1);
	assert_int_equal(has_name(known, nk, "id"), 1);
	for (i = 0; i < SEAL_NFIELDS; i++) {
		assert_int_equal(has_name(skipped, ns, seal_field_names[i]), 1);
		assert_int_equal(has_name(known, nk, seal_field_names[i]), 1);
	}
	for (i = 0; i < nx; i++) {
		assert_int_equal(has_name(known, nk, extra[i]), 1);
		snprintf(want, sizeof(want), "e.%.63s,", extra[i]);
		if (strstr(SEAL_SQL_EXTRA_ANY, want) == NULL) {
			snprintf(want, sizeof(want), "e.%.63s)", extra[i]);
			assert_non_null(strstr(SEAL_SQL_EXTRA_ANY, want));
		}
	}
	for (p = strstr(SEAL_SQL_EXTRA_ANY, "e."); p != NULL;
	     p = strstr(p + 2, "e."))
		tested++;
	assert_int_equal(tested, nx);
}

static void test_leaf_vectors_server(void **state)
{
	struct seal_record r;
	uint8_t leaf[32];
	char h[65], extra[600], p1[256], p2[256];

	(void)state;
	server_record(&r, 42, fields_a, NULL);
	assert_int_equal(seal_leaf(&r, leaf), 0);
	hex(leaf, 32, h);
	assert_string_equal(h, LEAF_A);

	/* The daemon's SQL sorts the extra columns by name. */
	extra_pair(p1, sizeof(p1), "target_account_id", "8");
	extra_pair(p2, sizeof(p2), "target_institution_id", "5");
	snprintf(extra, sizeof(extra), "%s,%s", p1, p2);
	server_record(&r, 43, fields_a, extra);
	assert_int_equal(seal_leaf(&r, leaf), 0);
	hex(leaf, 32, h);
	assert_string_equal(h, LEAF_B);

	server_record(&r, -5, fields_c, NULL);
	assert_int_equal(seal_leaf(&r, leaf), 0);
	hex(leaf, 32, h);
	assert_string_equal(h, LEAF_C);

	/* The id is not in the leaf (the chain hash carries it). */
	server_record(&r, 4242, fields_a, NULL);
	assert_int_equal(seal_leaf(&r, leaf), 0);
	hex(leaf, 32, h);
	assert_string_equal(h, LEAF_A);

	/* A malformed extra list is an error, not a silent hash. */
	server_record(&r, 42, fields_a, "zz:00");
	assert_int_equal(seal_leaf(&r, leaf), -1);
	server_record(&r, 42, fields_a, "6162");
	assert_int_equal(seal_leaf(&r, leaf), -1);
}

static void test_leaf_vectors_client(void **state)
{
	struct auditv_record r;
	uint8_t leaf[32];
	char h[65];

	(void)state;
	client_record(&r, 42, fields_a);
	assert_int_equal(auditv_leaf(&r, leaf), 0);
	hex(leaf, 32, h);
	assert_string_equal(h, LEAF_A);

	/* Extra columns in any order: the leaf sorts them. */
	client_record(&r, 43, fields_a);
	r.nextra = 2;
	r.extra_name[0] = "target_institution_id";
	r.extra_value[0] = "5";
	r.extra_name[1] = "target_account_id";
	r.extra_value[1] = "8";
	assert_int_equal(auditv_leaf(&r, leaf), 0);
	hex(leaf, 32, h);
	assert_string_equal(h, LEAF_B);

	client_record(&r, -5, fields_c);
	assert_int_equal(auditv_leaf(&r, leaf), 0);
	hex(leaf, 32, h);
	assert_string_equal(h, LEAF_C);
}

/* NULL and "" differ; so do a value and the same bytes split elsewhere. */
static void test_leaf_distinguishes(void **state)
{
	const char *f[SEAL_NFIELDS];
	struct auditv_record r;
	uint8_t base[32], leaf[32];

	(void)state;
	memcpy(f, fields_a, sizeof(f));
	client_record(&r, 1, f);
	assert_int_equal(auditv_leaf(&r, base), 0);

	f[SEAL_F_ERROR_CODE] = "";
	client_record(&r, 1, f);
	assert_int_equal(auditv_leaf(&r, leaf), 0);
	assert_memory_not_equal(base, leaf, 32);

	memcpy(f, fields_a, sizeof(f));
	f[SEAL_F_LOGIN] = "as";
	f[SEAL_F_INSTITUTION_CODE] = "ease75";
	client_record(&r, 1, f);
	assert_int_equal(auditv_leaf(&r, leaf), 0);
	assert_memory_not_equal(base, leaf, 32);

	/* An extra column that is present changes the leaf. */
	client_record(&r, 1, fields_a);
	r.nextra = 1;
	r.extra_name[0] = "target_account_id";
	r.extra_value[0] = "";
	assert_int_equal(auditv_leaf(&r, leaf), 0);
	assert_memory_not_equal(base, leaf, 32);
}

static void test_chain_vectors(void **state)
{
	uint8_t zero[32] = {0}, la[32], lb[32], lc[32], h1[32], h2[32], h3[32];
	uint8_t s[32];
	char h[65];

	(void)state;
	unhex(LEAF_A, la, 32);
	unhex(LEAF_B, lb, 32);
	unhex(LEAF_C, lc, 32);
	assert_int_equal(seal_chain_hash(1, 42, la, zero, h1), 0);
	hex(h1, 32, h);
	assert_string_equal(h, HASH_1);
	assert_int_equal(seal_chain_hash(2, 43, lb, h1, h2), 0);
	hex(h2, 32, h);
	assert_string_equal(h, HASH_2);
	assert_int_equal(seal_chain_hash(3, -5, lc, h2, h3), 0);
	hex(h3, 32, h);
	assert_string_equal(h, HASH_3);

	assert_int_equal(auditv_chain_hash(1, 42, la, zero, s), 0);
	assert_memory_equal(s, h1, 32);
	assert_int_equal(auditv_chain_hash(2, 43, lb, h1, s), 0);
	assert_memory_equal(s, h2, 32);
	assert_int_equal(auditv_chain_hash(3, -5, lc, h2, s), 0);
	assert_memory_equal(s, h3, 32);

	/* Position and id are bound: the same leaf elsewhere differs. */
	assert_int_equal(seal_chain_hash(2, 42, la, zero, s), 0);
	assert_memory_not_equal(s, h1, 32);
	assert_int_equal(seal_chain_hash(1, 41, la, zero, s), 0);
	assert_memory_not_equal(s, h1, 32);
}

static EVP_PKEY *vector_key(void)
{
	uint8_t seed[32];
	EVP_PKEY *k;

	unhex(SEED, seed, 32);
	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	assert_non_null(k);
	return k;
}

static void test_checkpoint_vector(void **state)
{
	static const char expected[] = "maillage-audit-checkpoint-v1\n"
				       "seq=3\n"
				       "head=" HASH_3 "\n"
				       "at=" CP_AT "\n"
				       "previous=0\n"
				       "key=" KEY_ID "\n";
	uint8_t head[32], sig[64], want[64];
	char m1[512], m2[512], id[65];
	size_t siglen = sizeof(sig);
	EVP_PKEY *k = vector_key(), *pub;
	EVP_MD_CTX *md;
	int n1, n2;

	(void)state;
	assert_int_equal(seal_key_id(k, id), 0);
	assert_string_equal(id, KEY_ID);
	unhex(HASH_3, head, 32);
	n1 = seal_checkpoint_message(m1, sizeof(m1), 3, head, CP_AT, 0, id);
	n2 = auditv_checkpoint_message(m2, sizeof(m2), 3, head, CP_AT, 0, id);
	assert_int_equal(n1, (int)strlen(expected));
	assert_string_equal(m1, expected);
	assert_int_equal(n2, n1);
	assert_string_equal(m2, expected);
	assert_int_equal(seal_checkpoint_message(m1, 64, 3, head, CP_AT, 0, id),
			 -1);

	/* Ed25519 is deterministic: the signature is the vector's. */
	md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestSignInit(md, NULL, NULL, NULL, k), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &siglen,
					(const unsigned char *)m2, (size_t)n2),
			 1);
	EVP_MD_CTX_free(md);
	unhex(SIG, want, 64);
	assert_int_equal(siglen, 64);
	assert_memory_equal(sig, want, 64);

	/* The client reads the public key and derives the same id. */
	pub = auditv_pubkey_from_pem(PUB_PEM, m1, sizeof(m1));
	assert_non_null(pub);
	assert_int_equal(auditv_key_id(pub, id), 0);
	assert_string_equal(id, KEY_ID);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(k);
}

/* A fresh directory for key files. */
static void tmpdir(char out[64])
{
	snprintf(out, 64, "/tmp/test_seal.XXXXXX");
	assert_non_null(mkdtemp(out));
}

static void test_keygen_and_load(void **state)
{
	char dir[64], path[128], pub[140], id[65], id2[65], err[512];
	struct stat st;
	EVP_PKEY *k, *p;

	(void)state;
	tmpdir(dir);
	snprintf(path, sizeof(path), "%s/signing.key", dir);
	snprintf(pub, sizeof(pub), "%s.pub", path);
	assert_int_equal(seal_keygen(path, id, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(pub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);

	k = seal_key_load(path, err, sizeof(err));
	assert_non_null(k);
	assert_int_equal(seal_key_id(k, id2), 0);
	assert_string_equal(id, id2);
	p = auditv_pubkey_load(pub, err, sizeof(err));
	assert_non_null(p);
	assert_int_equal(auditv_key_id(p, id2), 0);
	assert_string_equal(id, id2);
	EVP_PKEY_free(k);
	EVP_PKEY_free(p);

	/* No overwrite of an existing key. */
	assert_int_equal(seal_keygen(path, id2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "exists"));

	/* Readable by the group or others: refused. */
	assert_int_equal(chmod(path, 0640), 0);
	assert_null(seal_key_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, "group or others"));
	assert_int_equal(chmod(path, 0604), 0);
	assert_null(seal_key_load(path, err, sizeof(err)));
	assert_int_equal(chmod(path, 0400), 0);
	k = seal_key_load(path, err, sizeof(err));
	assert_non_null(k);
	EVP_PKEY_free(k);

	/* A public key, or a missing file, is not a signing key. */
	assert_int_equal(chmod(pub, 0600), 0);
	assert_null(seal_key_load(pub, err, sizeof(err)));
	assert_null(seal_key_load("/nonexistent/key", err, sizeof(err)));
	/* A private key is not a public one for the client. */
	assert_null(auditv_pubkey_load(path, err, sizeof(err)));

	unlink(path);
	unlink(pub);
	rmdir(dir);
}

/* A non-Ed25519 key is refused by both sides. */
static void test_wrong_key_type(void **state)
{
	char dir[64], path[128], err[512];
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	FILE *f;

	(void)state;
	assert_non_null(ec);
	tmpdir(dir);
	snprintf(path, sizeof(path), "%s/ec.key", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(PEM_write_PrivateKey(f, ec, NULL, NULL, 0, NULL, NULL),
			 1);
	fclose(f);
	assert_null(seal_key_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, "Ed25519"));
	EVP_PKEY_free(ec);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_field_lists_agree),
		cmocka_unit_test(test_extra_lists_agree),
		cmocka_unit_test(test_leaf_vectors_server),
		cmocka_unit_test(test_leaf_vectors_client),
		cmocka_unit_test(test_leaf_distinguishes),
		cmocka_unit_test(test_chain_vectors),
		cmocka_unit_test(test_checkpoint_vector),
		cmocka_unit_test(test_keygen_and_load),
		cmocka_unit_test(test_wrong_key_type),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
