/*
 * auditv: client-side verification of the audit chain; see auditv.h.
 *
 * The verifier keeps what a stream needs and no more: the hash of the last
 * position (links), the checkpoints of the range sorted by position, a
 * ring of the last AV_RING leaves (to recognise a row that was moved: its
 * content is that of a seal nearby), the mismatches still waiting for a
 * seal further on that would explain them, the rows no seal covers until a
 * position is found for them, and the problems (the first AV_PROBLEMS_MAX
 * kept, all counted).
 */
#include "auditv.h"

#include "i18n.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AV_RING 65536	      /* recent leaves kept for reorder checks */
#define AV_RING_SEARCHES 1000 /* mismatches looked up in the ring */
#define AV_PENDING_MAX 256    /* mismatches awaiting a later seal */
#define AV_PROBLEMS_MAX 10000 /* problems kept */
#define AV_KEYS_MAX 16
#define AV_UNSEALED_MAX 10000 /* distinct unsealed rows tracked */
#define AV_MSG_MAX 512

const char *const auditv_field_names[AUDITV_NFIELDS] = {
	"at",	   "account_id", "login",     "institution_code",
	"role",	   "action",	 "outcome",   "error_code",
	"peer",	   "request_id", "instance",  "cert_fingerprint",
	"case_id", "notice_id",	 "person_id",
};

const unsigned char auditv_field_is_int[AUDITV_NFIELDS] = {
	0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 1, 1,
};

static const char *const av_kind_names[AUDITV_KIND_COUNT] = {
	"modified",
	"deleted",
	"inserted",
	"reordered",
	"seal_altered",
	"link_broken",
	"seal_missing",
	"format_unknown",
	"checkpoint_mismatch",
	"checkpoint_bad_signature",
	"checkpoint_unknown_key",
	"checkpoint_missing",
	"truncated",
};

const char *auditv_kind_name(enum auditv_kind kind)
{
	return (unsigned)kind < AUDITV_KIND_COUNT ? av_kind_names[kind]
						  : "unknown";
}

/* ---- canonical serialisation -------------------------------------------- */

static void av_hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

/* Decode lowercase or uppercase hex; its byte length, or -1. */
static long av_unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = strlen(s), i;

	if (n % 2 != 0 || n / 2 > max)
		return -1;
	for (i = 0; i < n; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (v < 0)
			return -1;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(v << 4);
		else
			out[i / 2] |= (uint8_t)v;
	}
	return (long)(n / 2);
}

static void av_put_u32(uint8_t out[4], size_t n)
{
	out[0] = (uint8_t)(n >> 24);
	out[1] = (uint8_t)(n >> 16);
	out[2] = (uint8_t)(n >> 8);
	out[3] = (uint8_t)n;
}

/* Byte order of names: memcmp, a proper prefix first. */
static int av_name_cmp(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	int c = memcmp(a, b, na < nb ? na : nb);

	return c != 0 ? c : (na > nb) - (na < nb);
}

/* The other columns, sorted by name: 0x02, name and value, each sized. */
static int av_leaf_extra(EVP_MD_CTX *md, const struct auditv_record *r)
{
	size_t order[AUDITV_EXTRA_MAX], i, j, n = r->nextra;

	if (n > AUDITV_EXTRA_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		size_t k = i;

		while (k > 0 && av_name_cmp(r->extra_name[order[k - 1]],
					    r->extra_name[i]) > 0) {
			order[k] = order[k - 1];
			k--;
		}
		order[k] = i;
	}
	for (j = 0; j < n; j++) {
		const char *name = r->extra_name[order[j]];
		const char *value = r->extra_value[order[j]];
		size_t nl = strlen(name), vl = strlen(value);
		uint8_t head[5];

		if (nl > 0xffffffffu || vl > 0xffffffffu)
			return -1;
		head[0] = 0x02;
		av_put_u32(head + 1, nl);
		if (EVP_DigestUpdate(md, head, 5) != 1 ||
		    EVP_DigestUpdate(md, name, nl) != 1)
			return -1;
		av_put_u32(head, vl);
		if (EVP_DigestUpdate(md, head, 4) != 1 ||
		    EVP_DigestUpdate(md, value, vl) != 1)
			return -1;
	}
	return 0;
}

int auditv_leaf(const struct auditv_record *r, uint8_t out[AUDITV_HASH_LEN])
{
	static const char domain[] = "maillage-audit-record-v1";
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int i, ok;

	if (md == NULL)
		return -1;
	/* The domain string and its terminating NUL byte. */
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(md, domain, strlen(domain) + 1) == 1;
	for (i = 0; ok && i < AUDITV_NFIELDS; i++) {
		const char *v = r->value[i];
		uint8_t head[5];
		size_t n;

		if (v == NULL) {
			head[0] = 0x00;
			ok = EVP_DigestUpdate(md, head, 1) == 1;
			continue;
		}
		n = strlen(v);
		if (n > 0xffffffffu) {
			ok = 0;
			break;
		}
		head[0] = 0x01;
		head[1] = (uint8_t)(n >> 24);
		head[2] = (uint8_t)(n >> 16);
		head[3] = (uint8_t)(n >> 8);
		head[4] = (uint8_t)n;
		ok = EVP_DigestUpdate(md, head, 5) == 1 &&
		     EVP_DigestUpdate(md, v, n) == 1;
	}
	ok = ok && av_leaf_extra(md, r) == 0;
	ok = ok && EVP_DigestFinal_ex(md, out, NULL) == 1;
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

int auditv_chain_hash(int64_t seq, int64_t audit_id,
		      const uint8_t leaf[AUDITV_HASH_LEN],
		      const uint8_t prev[AUDITV_HASH_LEN],
		      uint8_t out[AUDITV_HASH_LEN])
{
	static const char domain[] = "maillage-audit-chain-v1";
	uint8_t num[16];
	uint64_t s = (uint64_t)seq, a = (uint64_t)audit_id;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int i, ok;

	if (md == NULL)
		return -1;
	for (i = 0; i < 8; i++) {
		num[i] = (uint8_t)(s >> (56 - 8 * i));
		num[8 + i] = (uint8_t)(a >> (56 - 8 * i));
	}
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(md, domain, strlen(domain) + 1) == 1 &&
	     EVP_DigestUpdate(md, num, sizeof(num)) == 1 &&
	     EVP_DigestUpdate(md, leaf, AUDITV_HASH_LEN) == 1 &&
	     EVP_DigestUpdate(md, prev, AUDITV_HASH_LEN) == 1 &&
	     EVP_DigestFinal_ex(md, out, NULL) == 1;
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

int auditv_checkpoint_message(char *buf, size_t size, int64_t seq,
			      const uint8_t head[AUDITV_HASH_LEN],
			      const char *at, int64_t previous,
			      const char *key_id)
{
	char hex[2 * AUDITV_HASH_LEN + 1];
	int n;

	av_hex(head, AUDITV_HASH_LEN, hex);
	n = snprintf(buf, size,
		     "maillage-audit-checkpoint-v1\nseq=%" PRId64
		     "\nhead=%s\nat=%s\nprevious=%" PRId64 "\nkey=%s\n",
		     seq, hex, at, previous, key_id);
	return (n < 0 || (size_t)n >= size) ? -1 : n;
}

/* ---- records ------------------------------------------------------------ */

int auditv_record_from_proto(const Maillage__AuditRecord *p,
			     struct auditv_recbuf *b)
{
	const char *str[AUDITV_NFIELDS] = {
		p->at,	 NULL,	    p->login,	 p->institution_code,
		p->role, p->action, p->outcome,	 p->error_code,
		p->peer, NULL,	    p->instance, p->cert_fingerprint,
		NULL,	 NULL,	    NULL};
	int64_t num[AUDITV_NFIELDS] = {0};
	int i;

	num[1] = p->account_id;
	num[9] = p->request_id;
	num[12] = p->case_id;
	num[13] = p->notice_id;
	num[14] = p->person_id;
	b->rec.id = p->id;
	for (i = 0; i < AUDITV_NFIELDS; i++) {
		if (p->null_mask & (1u << i)) {
			b->rec.value[i] = NULL;
		} else if (auditv_field_is_int[i]) {
			snprintf(b->num[i], sizeof(b->num[i]), "%" PRId64,
				 num[i]);
			b->rec.value[i] = b->num[i];
		} else {
			b->rec.value[i] = str[i] != NULL ? str[i] : "";
		}
	}
	b->rec.nextra = 0;
	if (p->n_extra > AUDITV_EXTRA_MAX)
		return -1;
	for (i = 0; i < (int)p->n_extra; i++) {
		b->rec.extra_name[i] =
			p->extra[i]->name != NULL ? p->extra[i]->name : "";
		b->rec.extra_value[i] =
			p->extra[i]->value != NULL ? p->extra[i]->value : "";
	}
	b->rec.nextra = p->n_extra;
	return 0;
}

int auditv_record_from_json(const json_t *o, struct auditv_recbuf *b, char *err,
			    size_t errlen)
{
	const json_t *id = json_object_get(o, "id"), *extra, *v;
	const char *key;
	int i;

	if (!json_is_object(o) || !json_is_integer(id)) {
		snprintf(err, errlen, _("a record without an integer \"id\""));
		return -1;
	}
	b->rec.id = (int64_t)json_integer_value(id);
	for (i = 0; i < AUDITV_NFIELDS; i++) {
		v = json_object_get(o, auditv_field_names[i]);
		if (v == NULL) {
			snprintf(err, errlen,
				 _("record %" PRId64 " lacks \"%s\""),
				 b->rec.id, auditv_field_names[i]);
			return -1;
		}
		if (json_is_null(v)) {
			b->rec.value[i] = NULL;
		} else if (auditv_field_is_int[i] && json_is_integer(v)) {
			snprintf(b->num[i], sizeof(b->num[i]),
				 "%" JSON_INTEGER_FORMAT,
				 json_integer_value(v));
			b->rec.value[i] = b->num[i];
		} else if (!auditv_field_is_int[i] && json_is_string(v)) {
			b->rec.value[i] = json_string_value(v);
		} else {
			snprintf(err, errlen,
				 _("record %" PRId64 ": \"%s\" is not %s"),
				 b->rec.id, auditv_field_names[i],
				 auditv_field_is_int[i] ? "an integer or null"
							: "a string or null");
			return -1;
		}
	}
	b->rec.nextra = 0;
	extra = json_object_get(o, "extra");
	if (extra != NULL && !json_is_object(extra)) {
		snprintf(err, errlen,
			 _("record %" PRId64 ": \"extra\" is not an object"),
			 b->rec.id);
		return -1;
	}
	json_object_foreach((json_t *)extra, key, v)
	{
		if (json_is_null(v))
			continue;
		if (!json_is_string(v) || b->rec.nextra >= AUDITV_EXTRA_MAX) {
			snprintf(err, errlen,
				 _("record %" PRId64 ": extra column \"%.64s\" "
				   "is not a string (or too many columns)"),
				 b->rec.id, key);
			return -1;
		}
		b->rec.extra_name[b->rec.nextra] = key;
		b->rec.extra_value[b->rec.nextra] = json_string_value(v);
		b->rec.nextra++;
	}
	return 0;
}

json_t *auditv_record_to_json(const Maillage__AuditRecord *p)
{
	struct auditv_recbuf b;
	json_t *o = json_object(), *x = json_object();
	size_t k;
	int i;

	if (o == NULL || x == NULL || auditv_record_from_proto(p, &b) != 0) {
		json_decref(x);
		goto fail;
	}
	for (k = 0; k < b.rec.nextra; k++) {
		if (json_object_set_new(x, b.rec.extra_name[k],
					json_string(b.rec.extra_value[k])) !=
		    0) {
			json_decref(x);
			goto fail;
		}
	}
	if (json_object_set_new(o, "id", json_integer(p->id)) != 0) {
		json_decref(x);
		goto fail;
	}
	for (i = 0; i < AUDITV_NFIELDS; i++) {
		json_t *v;

		if (b.rec.value[i] == NULL)
			v = json_null();
		else if (auditv_field_is_int[i])
			v = json_integer(strtoll(b.rec.value[i], NULL, 10));
		else
			v = json_string(b.rec.value[i]);
		/* json_string refuses invalid UTF-8: no faithful export. */
		if (v == NULL ||
		    json_object_set_new(o, auditv_field_names[i], v) != 0) {
			json_decref(x);
			goto fail;
		}
	}
	if (json_object_set_new(o, "extra", x) != 0)
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* ---- keys --------------------------------------------------------------- */

static EVP_PKEY *av_check_ed25519(EVP_PKEY *k, char *err, size_t errlen)
{
	if (k == NULL) {
		ERR_clear_error();
		snprintf(err, errlen, _("not a PEM public key"));
		return NULL;
	}
	if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(k);
		snprintf(err, errlen, _("not an Ed25519 public key"));
		return NULL;
	}
	return k;
}

EVP_PKEY *auditv_pubkey_from_pem(const char *pem, char *err, size_t errlen)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k;

	if (b == NULL) {
		snprintf(err, errlen, _("out of memory"));
		return NULL;
	}
	k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	BIO_free(b);
	return av_check_ed25519(k, err, errlen);
}

EVP_PKEY *auditv_pubkey_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;
	char why[128];

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	k = av_check_ed25519(k, why, sizeof(why));
	if (k == NULL)
		snprintf(err, errlen, "%s: %s", path, why);
	return k;
}

int auditv_key_id(EVP_PKEY *key, char out[AUDITV_KEY_ID_LEN + 1])
{
	uint8_t raw[32], md[AUDITV_HASH_LEN];
	size_t len = sizeof(raw);
	unsigned int mdlen = 0;

	if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1 || len != 32 ||
	    EVP_Digest(raw, len, md, &mdlen, EVP_sha256(), NULL) != 1) {
		ERR_clear_error();
		return -1;
	}
	av_hex(md, AUDITV_HASH_LEN, out);
	return 0;
}

static int av_verify_sig(EVP_PKEY *key, const char *msg, size_t len,
			 const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok;

	if (md == NULL)
		return 0;
	ok = EVP_DigestVerifyInit(md, NULL, NULL, NULL, key) == 1 &&
	     EVP_DigestVerify(md, sig, siglen, (const unsigned char *)msg,
			      len) == 1;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok;
}

/* ---- the verifier ------------------------------------------------------- */

struct av_key {
	char id[AUDITV_KEY_ID_LEN + 1];
	EVP_PKEY *pkey;
};

struct av_cp {
	int64_t seq;
	int64_t previous;
	uint8_t head[AUDITV_HASH_LEN];
	int head_ok; /* head had the right length */
	char at[40];
	char key_id[AUDITV_KEY_ID_LEN + 1];
	int valid; /* signed by an acceptable key, signature good */
};

struct av_ring {
	uint8_t leaf[AUDITV_HASH_LEN];
	int64_t seq;
	int64_t audit_id;
};

struct av_pending {
	size_t problem;
	uint8_t leaf[AUDITV_HASH_LEN]; /* what the row now holds */
	int64_t seq;
	int64_t audit_id;
};

struct av_inserted {
	int64_t id;
	size_t problem; /* SIZE_MAX: not kept */
	int placed;
};

struct auditv {
	EVP_PKEY *trusted;
	char trusted_id[AUDITV_KEY_ID_LEN + 1];
	int64_t from_seq;
	int64_t expected_last;
	struct av_key keys[AV_KEYS_MAX];
	size_t nkeys;
	struct av_cp *cps; /* sorted by seq */
	size_t ncps, capcps;
	int have_last;
	int64_t last_seq;
	uint8_t last_hash[AUDITV_HASH_LEN];
	int64_t last_valid_cp;
	int64_t last_cp_passed; /* last checkpoint met, matching or not */
	int64_t first_since_cp; /* first problem after it, or INT64_MAX */
	struct av_ring *ring;
	size_t ring_n, ring_pos;
	unsigned ring_searches;
	struct av_pending pend[AV_PENDING_MAX];
	size_t npend;
	struct av_inserted *ins; /* sorted by id */
	size_t nins, capins, nunplaced;
	struct auditv_problem *probs;
	size_t nprobs, capprobs;
	int truncated_reported;
	int finished;
	struct auditv_summary sum;
};

static size_t av_problem(struct auditv *v, enum auditv_kind kind, int64_t seq,
			 int64_t audit_id, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static size_t av_problem(struct auditv *v, enum auditv_kind kind, int64_t seq,
			 int64_t audit_id, const char *fmt, ...)
{
	struct auditv_problem *p;
	va_list ap;

	v->sum.problems++;
	if (v->nprobs == v->capprobs) {
		size_t cap = v->capprobs != 0 ? v->capprobs * 2 : 16;
		struct auditv_problem *np;

		if (v->nprobs >= AV_PROBLEMS_MAX)
			return SIZE_MAX;
		np = realloc(v->probs, cap * sizeof(*np));
		if (np == NULL)
			return SIZE_MAX;
		v->probs = np;
		v->capprobs = cap;
	}
	p = &v->probs[v->nprobs];
	p->kind = kind;
	p->seq = seq;
	p->audit_id = audit_id;
	p->found = v->nprobs;
	if (seq > v->last_cp_passed && seq < v->first_since_cp)
		v->first_since_cp = seq;
	va_start(ap, fmt);
	vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	va_end(ap);
	return v->nprobs++;
}

struct auditv *auditv_new(EVP_PKEY *trusted, int64_t from_seq)
{
	struct auditv *v = calloc(1, sizeof(*v));

	if (v == NULL)
		return NULL;
	v->ring = calloc(AV_RING, sizeof(*v->ring));
	if (v->ring == NULL) {
		free(v);
		return NULL;
	}
	v->trusted = trusted;
	if (trusted != NULL) {
		if (auditv_key_id(trusted, v->trusted_id) != 0) {
			auditv_free(v);
			return NULL;
		}
		v->sum.key_trusted = 1;
		memcpy(v->sum.key_id, v->trusted_id, sizeof(v->sum.key_id));
	}
	v->from_seq = from_seq > 0 ? from_seq : 1;
	v->first_since_cp = INT64_MAX;
	return v;
}

void auditv_free(struct auditv *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->nkeys; i++)
		EVP_PKEY_free(v->keys[i].pkey);
	free(v->cps);
	free(v->ring);
	free(v->ins);
	free(v->probs);
	free(v);
}

int auditv_add_key(struct auditv *v, const char *key_id, const char *pem)
{
	char err[128], id[AUDITV_KEY_ID_LEN + 1];
	EVP_PKEY *k;
	size_t i;

	for (i = 0; i < v->nkeys; i++)
		if (strcmp(v->keys[i].id, key_id) == 0)
			return 0;
	if (v->nkeys >= AV_KEYS_MAX)
		return -1;
	k = auditv_pubkey_from_pem(pem, err, sizeof(err));
	if (k == NULL)
		return -1;
	/* The id is derived from the key, not taken from the source. */
	if (auditv_key_id(k, id) != 0 || strcmp(id, key_id) != 0) {
		EVP_PKEY_free(k);
		return -1;
	}
	memcpy(v->keys[v->nkeys].id, id, sizeof(id));
	v->keys[v->nkeys].pkey = k;
	v->nkeys++;
	return 0;
}

static EVP_PKEY *av_find_key(const struct auditv *v, const char *key_id)
{
	size_t i;

	for (i = 0; i < v->nkeys; i++)
		if (strcmp(v->keys[i].id, key_id) == 0)
			return v->keys[i].pkey;
	return NULL;
}

/*
 * Whether the checkpoint is signed by an acceptable key with a good
 * signature; reports why not (once per checkpoint: the caller dedups).
 */
static int av_cp_signed(struct auditv *v, const struct auditv_checkpoint *cp,
			int report)
{
	char msg[AV_MSG_MAX];
	const char *key_id = cp->key_id != NULL ? cp->key_id : "";
	EVP_PKEY *key;
	int n;

	if (v->trusted != NULL) {
		if (strcmp(key_id, v->trusted_id) != 0) {
			if (report)
				av_problem(v, AUDITV_CHECKPOINT_UNKNOWN_KEY,
					   cp->seq, 0,
					   _("the checkpoint at seq %" PRId64
					     " is signed by key %.64s, not by "
					     "the trusted key %.16s..."),
					   cp->seq, key_id, v->trusted_id);
			return 0;
		}
		key = v->trusted;
	} else {
		key = av_find_key(v, key_id);
		if (key == NULL) {
			if (report)
				av_problem(
					v, AUDITV_CHECKPOINT_UNKNOWN_KEY,
					cp->seq, 0,
					_("the checkpoint at seq %" PRId64
					  " is signed by key %.64s, which the "
					  "source does not provide"),
					cp->seq, key_id);
			return 0;
		}
	}
	n = cp->head_len == AUDITV_HASH_LEN
		    ? auditv_checkpoint_message(msg, sizeof(msg), cp->seq,
						cp->head,
						cp->at != NULL ? cp->at : "",
						cp->previous, key_id)
		    : -1;
	if (n < 0 || cp->sig_len != AUDITV_SIG_LEN ||
	    !av_verify_sig(key, msg, (size_t)n, cp->sig, cp->sig_len)) {
		if (report)
			av_problem(v, AUDITV_CHECKPOINT_BAD_SIGNATURE, cp->seq,
				   0,
				   _("the signature of the checkpoint at seq "
				     "%" PRId64 " does not verify"),
				   cp->seq);
		return 0;
	}
	return 1;
}

static long av_cp_find(const struct auditv *v, int64_t seq)
{
	size_t lo = 0, hi = v->ncps;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->cps[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < v->ncps && v->cps[lo].seq == seq ? (long)lo : -1 - (long)lo;
}

void auditv_checkpoint(struct auditv *v, const struct auditv_checkpoint *cp)
{
	struct av_cp *c;
	long pos = av_cp_find(v, cp->seq);
	size_t at;

	if (pos >= 0 || cp->seq < v->from_seq)
		return; /* seen already (overlapping pages), or outside */
	if (v->ncps == v->capcps) {
		size_t cap = v->capcps != 0 ? v->capcps * 2 : 64;
		struct av_cp *n = realloc(v->cps, cap * sizeof(*n));

		if (n == NULL)
			return;
		v->cps = n;
		v->capcps = cap;
	}
	at = (size_t)(-1 - pos);
	memmove(&v->cps[at + 1], &v->cps[at], (v->ncps - at) * sizeof(*c));
	v->ncps++;
	c = &v->cps[at];
	memset(c, 0, sizeof(*c));
	c->seq = cp->seq;
	c->previous = cp->previous;
	c->head_ok = cp->head_len == AUDITV_HASH_LEN;
	if (c->head_ok)
		memcpy(c->head, cp->head, AUDITV_HASH_LEN);
	snprintf(c->at, sizeof(c->at), "%s", cp->at != NULL ? cp->at : "");
	snprintf(c->key_id, sizeof(c->key_id), "%s",
		 cp->key_id != NULL ? cp->key_id : "");
	v->sum.checkpoints++;
	c->valid = av_cp_signed(v, cp, 1);
	if (c->valid && v->trusted == NULL)
		memcpy(v->sum.key_id, c->key_id, sizeof(v->sum.key_id));
}

void auditv_latest(struct auditv *v, const struct auditv_checkpoint *cp,
		   int64_t head_seq)
{
	if (head_seq > v->sum.head_seq)
		v->sum.head_seq = head_seq;
	if (cp == NULL || cp->seq <= head_seq || v->truncated_reported)
		return;
	/* Only a genuine checkpoint proves that the chain was longer. */
	if (!av_cp_signed(v, cp, 1))
		return;
	v->truncated_reported = 1;
	av_problem(v, AUDITV_TRUNCATED, head_seq + 1, 0,
		   _("the checkpoint signed at %s covers seq %" PRId64
		     ", but the chain ends at seq %" PRId64
		     ": its last records were removed"),
		   cp->at != NULL ? cp->at : "?", cp->seq, head_seq);
}

/* Where an unsealed row is in the sorted list, or where it would go. */
static long av_ins_find(const struct auditv *v, int64_t id)
{
	size_t lo = 0, hi = v->nins;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->ins[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < v->nins && v->ins[lo].id == id ? (long)lo : -1 - (long)lo;
}

void auditv_unsealed(struct auditv *v, const struct auditv_record *r)
{
	long pos = av_ins_find(v, r->id);
	struct av_inserted *in;
	size_t at;

	if (pos >= 0)
		return; /* reported by an earlier page */
	if (v->nins >= AV_UNSEALED_MAX) {
		v->sum.problems++;
		return;
	}
	if (v->nins == v->capins) {
		size_t cap = v->capins != 0 ? v->capins * 2 : 16;
		struct av_inserted *n = realloc(v->ins, cap * sizeof(*n));

		if (n == NULL)
			return;
		v->ins = n;
		v->capins = cap;
	}
	at = (size_t)(-1 - pos);
	memmove(&v->ins[at + 1], &v->ins[at], (v->nins - at) * sizeof(*in));
	v->nins++;
	in = &v->ins[at];
	in->id = r->id;
	in->placed = 0;
	/* Position settled by the first later seal of a greater id. */
	in->problem = av_problem(v, AUDITV_INSERTED, INT64_MAX, r->id,
				 _("record %" PRId64 " (%s, %s) is in no seal: "
				   "inserted behind the sealer's back"),
				 r->id, r->value[5] != NULL ? r->value[5] : "-",
				 r->value[0] != NULL ? r->value[0] : "-");
	v->nunplaced++;
}

/* Settle the position of the unsealed rows with an id below `e`'s. */
static void av_place_inserted(struct auditv *v, const struct auditv_entry *e)
{
	size_t i;

	if (v->nunplaced == 0)
		return;
	for (i = 0; i < v->nins && v->ins[i].id < e->audit_id; i++) {
		struct av_inserted *in = &v->ins[i];
		size_t len;

		if (in->placed)
			continue;
		in->placed = 1;
		v->nunplaced--;
		if (in->problem == SIZE_MAX)
			continue;
		v->probs[in->problem].seq = e->seq;
		len = strlen(v->probs[in->problem].detail);
		snprintf(v->probs[in->problem].detail + len,
			 sizeof(v->probs[0].detail) - len,
			 _(" (before record %" PRId64 " at seq %" PRId64 ")"),
			 e->audit_id, e->seq);
	}
}

static void av_ring_push(struct auditv *v, const uint8_t *leaf, int64_t seq,
			 int64_t audit_id)
{
	struct av_ring *r = &v->ring[v->ring_pos];

	memcpy(r->leaf, leaf, AUDITV_HASH_LEN);
	r->seq = seq;
	r->audit_id = audit_id;
	v->ring_pos = (v->ring_pos + 1) % AV_RING;
	if (v->ring_n < AV_RING)
		v->ring_n++;
}

static const struct av_ring *av_ring_find(struct auditv *v, const uint8_t *leaf)
{
	size_t i;

	if (v->ring_searches >= AV_RING_SEARCHES)
		return NULL;
	v->ring_searches++;
	for (i = 0; i < v->ring_n; i++)
		if (memcmp(v->ring[i].leaf, leaf, AUDITV_HASH_LEN) == 0)
			return &v->ring[i];
	return NULL;
}

/* A pending mismatch is explained by this seal: the row was moved. */
static void av_resolve_pending(struct auditv *v, const struct auditv_entry *e)
{
	size_t i = 0;

	while (i < v->npend) {
		struct av_pending *p = &v->pend[i];

		if (memcmp(p->leaf, e->leaf, AUDITV_HASH_LEN) != 0) {
			i++;
			continue;
		}
		if (p->problem != SIZE_MAX) {
			struct auditv_problem *pr = &v->probs[p->problem];

			pr->kind = AUDITV_REORDERED;
			snprintf(pr->detail, sizeof(pr->detail),
				 _("record %" PRId64 " (seq %" PRId64
				   ") holds what was sealed as record %" PRId64
				   " at seq %" PRId64 ": rows were reordered"),
				 p->audit_id, p->seq, e->audit_id, e->seq);
		}
		v->pend[i] = v->pend[--v->npend];
	}
}

static void av_check_row(struct auditv *v, const struct auditv_entry *e)
{
	uint8_t leaf[AUDITV_HASH_LEN];
	const struct av_ring *hit;
	size_t pr;

	if (e->record == NULL) {
		if (e->record_omitted)
			av_problem(v, AUDITV_MODIFIED, e->seq, e->audit_id,
				   _("record %" PRId64 " is larger than any "
				     "audit record can be: it was altered"),
				   e->audit_id);
		else
			av_problem(v, AUDITV_DELETED, e->seq, e->audit_id,
				   _("record %" PRId64
				     ", sealed at seq %" PRId64
				     ", is gone: deleted"),
				   e->audit_id, e->seq);
		return;
	}
	if (e->record->id != e->audit_id) {
		av_problem(v, AUDITV_MODIFIED, e->seq, e->audit_id,
			   _("seq %" PRId64 " seals record %" PRId64
			     " but the source gives record %" PRId64),
			   e->seq, e->audit_id, e->record->id);
		return;
	}
	if (e->leaf_len != AUDITV_HASH_LEN || auditv_leaf(e->record, leaf) != 0)
		return; /* reported as an altered seal */
	if (memcmp(leaf, e->leaf, AUDITV_HASH_LEN) == 0)
		return;
	hit = av_ring_find(v, leaf);
	if (hit != NULL) {
		av_problem(v, AUDITV_REORDERED, e->seq, e->audit_id,
			   _("record %" PRId64 " (seq %" PRId64
			     ") holds what was sealed as record %" PRId64
			     " at seq %" PRId64 ": rows were reordered"),
			   e->audit_id, e->seq, hit->audit_id, hit->seq);
		return;
	}
	pr = av_problem(v, AUDITV_MODIFIED, e->seq, e->audit_id,
			_("record %" PRId64 " (seq %" PRId64
			  ") no longer matches its seal: modified"),
			e->audit_id, e->seq);
	if (v->npend < AV_PENDING_MAX) {
		struct av_pending *p = &v->pend[v->npend++];

		p->problem = pr;
		memcpy(p->leaf, leaf, AUDITV_HASH_LEN);
		p->seq = e->seq;
		p->audit_id = e->audit_id;
	}
}

/* A checkpoint at this position: does the chain reach its head? */
static void av_check_cp(struct auditv *v, const struct auditv_entry *e,
			int hash_ok)
{
	long i = av_cp_find(v, e->seq);
	struct av_cp *c;

	if (i < 0)
		return;
	c = &v->cps[i];
	if (!c->valid)
		return; /* proves nothing; reported when it came */
	if (!c->head_ok || !hash_ok ||
	    memcmp(c->head, e->hash, AUDITV_HASH_LEN) != 0) {
		/*
		 * Rewritten somewhere since the last checkpoint met: where
		 * another problem shows it, else from the start of that span.
		 */
		int64_t from = v->last_cp_passed > 0 ? v->last_cp_passed + 1
						     : v->sum.first_seq;
		int64_t at = v->first_since_cp < from	   ? from
			     : v->first_since_cp <= e->seq ? v->first_since_cp
							   : from;
		av_problem(v, AUDITV_CHECKPOINT_MISMATCH, at, 0,
			   _("the chain at seq %" PRId64 " is not the head "
			     "signed at %s: records between seq %" PRId64
			     " and %" PRId64 " were rewritten"),
			   e->seq, c->at, from, e->seq);
		v->last_cp_passed = e->seq;
		v->first_since_cp = INT64_MAX;
		return;
	}
	v->last_cp_passed = e->seq;
	v->first_since_cp = INT64_MAX;
	v->last_valid_cp = e->seq;
	v->sum.checkpoints_ok++;
	v->sum.signed_upto = e->seq;
	memcpy(v->sum.signed_at, c->at, sizeof(v->sum.signed_at));
	av_hex(c->head, AUDITV_HASH_LEN, v->sum.signed_head);
}

void auditv_entry(struct auditv *v, const struct auditv_entry *e)
{
	static const uint8_t zero[AUDITV_HASH_LEN];
	uint8_t h[AUDITV_HASH_LEN];
	int sizes_ok = e->leaf_len == AUDITV_HASH_LEN &&
		       e->hash_len == AUDITV_HASH_LEN &&
		       e->prev_len == AUDITV_HASH_LEN;
	int hash_ok = sizes_ok;

	if (v->sum.entries == 0) {
		v->sum.first_seq = e->seq;
		if (e->seq > v->from_seq)
			av_problem(v, AUDITV_SEAL_MISSING, v->from_seq, 0,
				   _("chain positions %" PRId64 " to %" PRId64
				     " are missing"),
				   v->from_seq, e->seq - 1);
	} else if (e->seq <= v->last_seq) {
		av_problem(v, AUDITV_LINK_BROKEN, e->seq, e->audit_id,
			   _("seq %" PRId64 " comes after seq %" PRId64
			     ": the seals are out of order"),
			   e->seq, v->last_seq);
	} else if (e->seq > v->last_seq + 1) {
		av_problem(v, AUDITV_SEAL_MISSING, v->last_seq + 1, 0,
			   _("chain positions %" PRId64 " to %" PRId64
			     " are missing"),
			   v->last_seq + 1, e->seq - 1);
	}
	if (!sizes_ok) {
		av_problem(v, AUDITV_SEAL_ALTERED, e->seq, e->audit_id,
			   _("the seal at seq %" PRId64 " has hashes of the "
			     "wrong size"),
			   e->seq);
	} else if (e->format != AUDITV_FORMAT) {
		hash_ok = 0;
		av_problem(v, AUDITV_FORMAT_UNKNOWN, e->seq, e->audit_id,
			   _("the seal at seq %" PRId64 " is of format %u, "
			     "which this client cannot check"),
			   e->seq, e->format);
	} else if (auditv_chain_hash(e->seq, e->audit_id, e->leaf, e->prev,
				     h) != 0 ||
		   memcmp(h, e->hash, AUDITV_HASH_LEN) != 0) {
		hash_ok = 0;
		av_problem(v, AUDITV_SEAL_ALTERED, e->seq, e->audit_id,
			   _("the seal at seq %" PRId64 " (record %" PRId64
			     ") does not hash to its stored value: altered"),
			   e->seq, e->audit_id);
	}
	if (sizes_ok && e->seq == 1 &&
	    memcmp(e->prev, zero, AUDITV_HASH_LEN) != 0)
		av_problem(v, AUDITV_LINK_BROKEN, e->seq, e->audit_id,
			   _("the first seal does not start the chain"));
	else if (sizes_ok && v->have_last && e->seq == v->last_seq + 1 &&
		 memcmp(e->prev, v->last_hash, AUDITV_HASH_LEN) != 0)
		av_problem(v, AUDITV_LINK_BROKEN, e->seq, e->audit_id,
			   _("the seal at seq %" PRId64 " does not follow the "
			     "one at seq %" PRId64 ": the chain was cut there"),
			   e->seq, v->last_seq);
	if (sizes_ok)
		av_resolve_pending(v, e);
	av_place_inserted(v, e);
	if (sizes_ok && e->format == AUDITV_FORMAT)
		av_check_row(v, e);
	if (sizes_ok)
		av_ring_push(v, e->leaf, e->seq, e->audit_id);
	av_check_cp(v, e, hash_ok);
	if (e->seq > v->last_seq || !v->have_last) {
		v->last_seq = e->seq;
		v->sum.last_seq = e->seq;
		if (sizes_ok)
			memcpy(v->last_hash, e->hash, AUDITV_HASH_LEN);
		else
			memset(v->last_hash, 0, AUDITV_HASH_LEN);
		v->have_last = 1;
	}
	v->sum.entries++;
}

static int av_problem_cmp(const void *a, const void *b)
{
	const struct auditv_problem *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->found < y->found ? -1 : x->found > y->found;
}

/* Checkpoints name the one before them: none may be missing. */
static void av_check_cp_links(struct auditv *v)
{
	size_t i;

	for (i = 0; i < v->ncps; i++) {
		const struct av_cp *c = &v->cps[i];

		if (!c->valid)
			continue;
		if (c->previous >= v->from_seq &&
		    av_cp_find(v, c->previous) < 0)
			av_problem(v, AUDITV_CHECKPOINT_MISSING, c->previous, 0,
				   _("the checkpoint at seq %" PRId64
				     ", named by the one at seq %" PRId64
				     ", is gone"),
				   c->previous, c->seq);
		else if (i > 0 && v->cps[i - 1].valid &&
			 c->previous != v->cps[i - 1].seq &&
			 (c->previous >= v->from_seq ||
			  v->cps[i - 1].seq >= v->from_seq))
			av_problem(v, AUDITV_CHECKPOINT_MISSING, c->seq, 0,
				   _("the checkpoint at seq %" PRId64
				     " follows seq %" PRId64
				     ", not the checkpoint at seq %" PRId64),
				   c->seq, c->previous, v->cps[i - 1].seq);
	}
}

void auditv_finish(struct auditv *v)
{
	size_t i;

	if (v->finished)
		return;
	v->finished = 1;
	if (v->expected_last > v->last_seq && v->sum.entries > 0)
		av_problem(v, AUDITV_SEAL_MISSING, v->last_seq + 1, 0,
			   _("chain positions %" PRId64 " to %" PRId64
			     " are missing"),
			   v->last_seq + 1, v->expected_last);
	for (i = 0; i < v->nins; i++) {
		struct av_inserted *in = &v->ins[i];

		if (!in->placed && in->problem != SIZE_MAX)
			v->probs[in->problem].seq = v->last_seq + 1;
	}
	av_check_cp_links(v);
	if (v->nprobs > 1) /* qsort wants a real array, even when empty */
		qsort(v->probs, v->nprobs, sizeof(*v->probs), av_problem_cmp);
}

const struct auditv_summary *auditv_summary(const struct auditv *v)
{
	return &v->sum;
}

size_t auditv_nproblems(const struct auditv *v)
{
	return v->nprobs;
}

const struct auditv_problem *auditv_problem(const struct auditv *v, size_t i)
{
	return i < v->nprobs ? &v->probs[i] : NULL;
}

/* ---- pages from the server ---------------------------------------------- */

static void av_cp_from_proto(const Maillage__AuditCheckpoint *p,
			     struct auditv_checkpoint *cp)
{
	cp->seq = p->seq;
	cp->previous = p->previous;
	cp->head = p->head.data;
	cp->head_len = p->head.len;
	cp->at = p->at;
	cp->key_id = p->key_id;
	cp->sig = p->signature.data;
	cp->sig_len = p->signature.len;
}

void auditv_feed_page(struct auditv *v, const Maillage__AuditChainPage *p)
{
	struct auditv_checkpoint cp;
	struct auditv_recbuf rb;
	size_t i;

	for (i = 0; i < p->n_keys; i++)
		(void)auditv_add_key(v, p->keys[i]->key_id,
				     p->keys[i]->public_key);
	if (p->latest_checkpoint != NULL) {
		av_cp_from_proto(p->latest_checkpoint, &cp);
		auditv_latest(v, &cp, p->head_seq);
	} else {
		auditv_latest(v, NULL, p->head_seq);
	}
	for (i = 0; i < p->n_checkpoints; i++) {
		av_cp_from_proto(p->checkpoints[i], &cp);
		auditv_checkpoint(v, &cp);
	}
	for (i = 0; i < p->n_unsealed; i++) {
		if (auditv_record_from_proto(p->unsealed[i], &rb) == 0)
			auditv_unsealed(v, &rb.rec);
	}
	for (i = 0; i < p->n_entries; i++) {
		const Maillage__AuditSealed *s = p->entries[i];
		struct auditv_entry e;

		memset(&e, 0, sizeof(e));
		e.seq = s->seq;
		e.audit_id = s->audit_id;
		e.format = s->format;
		e.leaf = s->leaf.data;
		e.leaf_len = s->leaf.len;
		e.hash = s->hash.data;
		e.hash_len = s->hash.len;
		e.prev = s->prev.data;
		e.prev_len = s->prev.len;
		e.record_omitted = s->record_omitted;
		if (s->record != NULL) {
			/* Too many columns for this client: judged altered. */
			if (auditv_record_from_proto(s->record, &rb) == 0)
				e.record = &rb.rec;
			else
				e.record_omitted = 1;
		}
		auditv_entry(v, &e);
	}
	if (p->to_seq > v->expected_last)
		v->expected_last = p->to_seq;
}

/* ---- the export file ---------------------------------------------------- */

static json_t *av_jhex(const ProtobufCBinaryData *b)
{
	char *s = malloc(2 * b->len + 1);
	json_t *j;

	if (s == NULL)
		return NULL;
	av_hex(b->data, b->len, s);
	j = json_string(s);
	free(s);
	return j;
}

/* Set every key of a NULL-terminated list; the object, or NULL. */
static json_t *av_jobj(json_t *o, const char *const *keys, json_t **vals,
		       size_t n)
{
	size_t i;
	int bad = o == NULL;

	for (i = 0; i < n; i++) {
		if (vals[i] == NULL || bad ||
		    json_object_set_new(o, keys[i], vals[i]) != 0) {
			bad = 1;
			json_decref(vals[i]);
		}
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *auditv_entry_to_json(const Maillage__AuditSealed *e)
{
	static const char *const keys[] = {"seq",    "audit_id",      "format",
					   "leaf",   "hash",	      "prev",
					   "record", "record_omitted"};
	json_t *vals[8];

	vals[0] = json_integer(e->seq);
	vals[1] = json_integer(e->audit_id);
	vals[2] = json_integer(e->format);
	vals[3] = av_jhex(&e->leaf);
	vals[4] = av_jhex(&e->hash);
	vals[5] = av_jhex(&e->prev);
	vals[6] = e->record != NULL ? auditv_record_to_json(e->record)
				    : json_null();
	vals[7] = json_boolean(e->record_omitted);
	return av_jobj(json_object(), keys, vals, 8);
}

json_t *auditv_checkpoint_to_json(const Maillage__AuditCheckpoint *cp)
{
	static const char *const keys[] = {"seq",      "head",	 "at",
					   "previous", "key_id", "signature",
					   "instance"};
	json_t *vals[7];

	vals[0] = json_integer(cp->seq);
	vals[1] = av_jhex(&cp->head);
	vals[2] = json_string(cp->at != NULL ? cp->at : "");
	vals[3] = json_integer(cp->previous);
	vals[4] = json_string(cp->key_id != NULL ? cp->key_id : "");
	vals[5] = av_jhex(&cp->signature);
	vals[6] = json_string(cp->instance != NULL ? cp->instance : "");
	return av_jobj(json_object(), keys, vals, 7);
}

json_t *auditv_key_to_json(const Maillage__AuditKey *k)
{
	static const char *const keys[] = {"key_id", "public_key", "first_seen",
					   "instance"};
	json_t *vals[4];

	vals[0] = json_string(k->key_id != NULL ? k->key_id : "");
	vals[1] = json_string(k->public_key != NULL ? k->public_key : "");
	vals[2] = json_string(k->first_seen != NULL ? k->first_seen : "");
	vals[3] = json_string(k->instance != NULL ? k->instance : "");
	return av_jobj(json_object(), keys, vals, 4);
}

static int64_t av_jint(const json_t *o, const char *key, int *bad)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v)) {
		*bad = 1;
		return 0;
	}
	return (int64_t)json_integer_value(v);
}

static const char *av_jstr(const json_t *o, const char *key, int *bad)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v)) {
		*bad = 1;
		return "";
	}
	return json_string_value(v);
}

/* Hex of `key` into buf; its length (a bad value has length 0). */
static size_t av_jbytes(const json_t *o, const char *key, uint8_t *buf,
			size_t max, int *bad)
{
	long n = av_unhex(av_jstr(o, key, bad), buf, max);

	return n > 0 ? (size_t)n : 0;
}

static int av_json_cp(const json_t *o, struct auditv_checkpoint *cp,
		      uint8_t head[64], uint8_t sig[128])
{
	int bad = !json_is_object(o);

	if (bad)
		return -1;
	cp->seq = av_jint(o, "seq", &bad);
	cp->previous = av_jint(o, "previous", &bad);
	cp->head_len = av_jbytes(o, "head", head, 64, &bad);
	cp->head = head;
	cp->at = av_jstr(o, "at", &bad);
	cp->key_id = av_jstr(o, "key_id", &bad);
	cp->sig_len = av_jbytes(o, "signature", sig, 128, &bad);
	cp->sig = sig;
	return bad ? -1 : 0;
}

struct auditv *auditv_verify_export(const json_t *doc, EVP_PKEY *trusted,
				    char *err, size_t errlen)
{
	const json_t *keys, *cps, *uns, *ents, *latest, *x;
	uint8_t head[64], sig[128], leaf[64], hash[64], prev[64];
	struct auditv_checkpoint cp;
	struct auditv_recbuf rb;
	struct auditv *v;
	int64_t from, to, headseq;
	size_t i;
	int bad = 0;

	if (!json_is_object(doc) ||
	    strcmp(av_jstr(doc, "format", &bad), AUDITV_EXPORT_FORMAT) != 0 ||
	    av_jint(doc, "version", &bad) != AUDITV_EXPORT_VERSION || bad) {
		snprintf(err, errlen,
			 "not a maillage audit export (format "
			 "\"" AUDITV_EXPORT_FORMAT "\", version 1)");
		return NULL;
	}
	from = av_jint(doc, "from_seq", &bad);
	to = av_jint(doc, "to_seq", &bad);
	headseq = av_jint(doc, "head_seq", &bad);
	keys = json_object_get(doc, "keys");
	cps = json_object_get(doc, "checkpoints");
	uns = json_object_get(doc, "unsealed");
	ents = json_object_get(doc, "entries");
	latest = json_object_get(doc, "latest_checkpoint");
	if (bad || !json_is_array(keys) || !json_is_array(cps) ||
	    !json_is_array(uns) || !json_is_array(ents)) {
		snprintf(err, errlen,
			 _("the export lacks from_seq, to_seq, "
			   "head_seq, keys, checkpoints, unsealed "
			   "or entries"));
		return NULL;
	}
	v = auditv_new(trusted, from);
	if (v == NULL) {
		snprintf(err, errlen, _("out of memory"));
		return NULL;
	}
	json_array_foreach(keys, i, x)
	{
		int kb = 0;
		const char *id = av_jstr(x, "key_id", &kb);
		const char *pem = av_jstr(x, "public_key", &kb);

		if (!kb)
			(void)auditv_add_key(v, id, pem);
	}
	if (json_is_object(latest)) {
		if (av_json_cp(latest, &cp, head, sig) == 0)
			auditv_latest(v, &cp, headseq);
	} else {
		auditv_latest(v, NULL, headseq);
	}
	json_array_foreach(cps, i, x)
	{
		if (av_json_cp(x, &cp, head, sig) != 0) {
			snprintf(err, errlen, _("checkpoint %zu is malformed"),
				 i);
			auditv_free(v);
			return NULL;
		}
		auditv_checkpoint(v, &cp);
	}
	json_array_foreach(uns, i, x)
	{
		if (auditv_record_from_json(x, &rb, err, errlen) != 0) {
			auditv_free(v);
			return NULL;
		}
		auditv_unsealed(v, &rb.rec);
	}
	json_array_foreach(ents, i, x)
	{
		const json_t *rec = json_object_get(x, "record");
		struct auditv_entry e;
		int eb = !json_is_object(x);

		memset(&e, 0, sizeof(e));
		if (!eb) {
			e.seq = av_jint(x, "seq", &eb);
			e.audit_id = av_jint(x, "audit_id", &eb);
			e.format = (uint32_t)av_jint(x, "format", &eb);
			e.leaf_len = av_jbytes(x, "leaf", leaf, 64, &eb);
			e.hash_len = av_jbytes(x, "hash", hash, 64, &eb);
			e.prev_len = av_jbytes(x, "prev", prev, 64, &eb);
			e.leaf = leaf;
			e.hash = hash;
			e.prev = prev;
			e.record_omitted = json_is_true(
				json_object_get(x, "record_omitted"));
		}
		if (eb ||
		    (rec != NULL && !json_is_null(rec) &&
		     auditv_record_from_json(rec, &rb, err, errlen) != 0)) {
			if (eb)
				snprintf(err, errlen,
					 _("entry %zu is malformed"), i);
			auditv_free(v);
			return NULL;
		}
		if (rec != NULL && !json_is_null(rec))
			e.record = &rb.rec;
		auditv_entry(v, &e);
	}
	v->expected_last = to;
	auditv_finish(v);
	return v;
}
