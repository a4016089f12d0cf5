/*
 * seal: canonical serialisation, chain hashes, the signing key and the
 * sealer; see seal.h.
 *
 * A cycle is two database jobs. The first reads the chain's head (seq,
 * hash, highest sealed id, last checkpoint and its age, pending gaps) and
 * the rows to seal: those the sealer was waiting for (audit_seal_gap) and
 * the next `seal_batch` rows above the highest sealed id, in id order. The
 * callback hashes them, notes the ids missing between them (gaps), decides
 * whether a checkpoint is due and signs it, then submits the second job:
 * audit_seal_append(), which re-checks the head under the advisory lock and
 * writes everything, or nothing when another instance moved the head. A
 * full batch runs the next cycle at once, so a backlog is sealed at the
 * speed of the database, not of the timer.
 */
#include "seal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "hex.h"
#include "keyfile.h"
#include "log.h"
#include "server.h"

#define SEAL_GAPS_MAX 1000 /* ids noted missing per cycle, at most */
#define SEAL_CP_MSG_MAX 512

const char *const seal_field_names[SEAL_NFIELDS] = {
	"at",	   "account_id", "login",     "institution_code",
	"role",	   "action",	 "outcome",   "error_code",
	"peer",	   "request_id", "instance",  "cert_fingerprint",
	"case_id", "notice_id",	 "person_id",
};

const unsigned char seal_field_is_int[SEAL_NFIELDS] = {
	0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 1, 1,
};

static const char seal_leaf_domain[] = "maillage-audit-record-v1";
static const char seal_chain_domain[] = "maillage-audit-chain-v1";

/* ---- canonical serialisation and hashes ------------------------------- */

void seal_hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

static void seal_put_u32(uint8_t out[4], uint32_t v)
{
	out[0] = (uint8_t)(v >> 24);
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8);
	out[3] = (uint8_t)v;
}

static void seal_put_u64(uint8_t out[8], uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		out[i] = (uint8_t)v;
		v >>= 8;
	}
}

void seal_record_read(const PGresult *res, int row, int col,
		      struct seal_record *r)
{
	int i, x = col + 1 + SEAL_NFIELDS;

	r->id = strtoll(PQgetvalue(res, row, col), NULL, 10);
	for (i = 0; i < SEAL_NFIELDS; i++) {
		if (PQgetisnull(res, row, col + 1 + i)) {
			r->value[i] = NULL;
			r->len[i] = 0;
		} else {
			r->value[i] = PQgetvalue(res, row, col + 1 + i);
			r->len[i] = (size_t)PQgetlength(res, row, col + 1 + i);
		}
	}
	r->extra = PQgetisnull(res, row, x) ? NULL : PQgetvalue(res, row, x);
}

/* Decode `n` hex digits at `s` into a new buffer (NUL-terminated). */
static char *seal_unhex_dup(const char *s, size_t n, size_t *len)
{
	char *out;

	if (n % 2 != 0 || (out = malloc(n / 2 + 1)) == NULL)
		return NULL;
	if (hex_decode((unsigned char *)out, s, n / 2) != 0) {
		free(out);
		return NULL;
	}
	out[n / 2] = '\0';
	*len = n / 2;
	return out;
}

int seal_extra_walk(const char *extra,
		    int (*fn)(void *arg, const char *name, size_t nlen,
			      const char *value, size_t vlen),
		    void *arg)
{
	const char *p = extra;

	while (p != NULL && *p != '\0') {
		size_t n = strcspn(p, ":"), v, nlen = 0, vlen = 0;
		char *name, *value;
		int rc;

		if (p[n] != ':')
			return -1;
		v = strcspn(p + n + 1, ",");
		name = seal_unhex_dup(p, n, &nlen);
		value = seal_unhex_dup(p + n + 1, v, &vlen);
		rc = name != NULL && value != NULL
			     ? fn(arg, name, nlen, value, vlen)
			     : -1;
		free(name);
		free(value);
		if (rc != 0)
			return -1;
		p += n + 1 + v;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int seal_leaf_extra(void *arg, const char *name, size_t nlen,
			   const char *value, size_t vlen)
{
	EVP_MD_CTX *md = arg;
	uint8_t tag[5];

	if (nlen > UINT32_MAX || vlen > UINT32_MAX)
		return -1;
	tag[0] = 2;
	seal_put_u32(tag + 1, (uint32_t)nlen);
	if (EVP_DigestUpdate(md, tag, 5) != 1 ||
	    EVP_DigestUpdate(md, name, nlen) != 1)
		return -1;
	seal_put_u32(tag, (uint32_t)vlen);
	if (EVP_DigestUpdate(md, tag, 4) != 1 ||
	    EVP_DigestUpdate(md, value, vlen) != 1)
		return -1;
	return 0;
}

int seal_leaf(const struct seal_record *r, uint8_t out[SEAL_HASH_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t tag[5];
	int i, ok;

	if (md == NULL)
		return -1;
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(md, seal_leaf_domain, sizeof(seal_leaf_domain)) ==
		     1;
	for (i = 0; ok && i < SEAL_NFIELDS; i++) {
		if (r->value[i] == NULL) {
			tag[0] = 0;
			ok = EVP_DigestUpdate(md, tag, 1) == 1;
			continue;
		}
		if (r->len[i] > UINT32_MAX) {
			ok = 0;
			break;
		}
		tag[0] = 1;
		seal_put_u32(tag + 1, (uint32_t)r->len[i]);
		ok = EVP_DigestUpdate(md, tag, 5) == 1 &&
		     EVP_DigestUpdate(md, r->value[i], r->len[i]) == 1;
	}
	ok = ok && seal_extra_walk(r->extra, seal_leaf_extra, md) == 0;
	ok = ok && EVP_DigestFinal_ex(md, out, NULL) == 1;
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

int seal_chain_hash(int64_t seq, int64_t audit_id,
		    const uint8_t leaf[SEAL_HASH_LEN],
		    const uint8_t prev[SEAL_HASH_LEN],
		    uint8_t out[SEAL_HASH_LEN])
{
	uint8_t buf[sizeof(seal_chain_domain) + 16 + 2 * SEAL_HASH_LEN];
	size_t n = sizeof(seal_chain_domain);
	unsigned int len = 0;

	/* The domain string with its terminating NUL, as in the spec. */
	memcpy(buf, seal_chain_domain, n);
	seal_put_u64(buf + n, (uint64_t)seq);
	seal_put_u64(buf + n + 8, (uint64_t)audit_id);
	memcpy(buf + n + 16, leaf, SEAL_HASH_LEN);
	memcpy(buf + n + 16 + SEAL_HASH_LEN, prev, SEAL_HASH_LEN);
	if (EVP_Digest(buf, sizeof(buf), out, &len, EVP_sha256(), NULL) != 1 ||
	    len != SEAL_HASH_LEN)
		return -1;
	return 0;
}

int seal_checkpoint_message(char *buf, size_t size, int64_t seq,
			    const uint8_t head[SEAL_HASH_LEN], const char *at,
			    int64_t previous, const char *key_id)
{
	char hex[2 * SEAL_HASH_LEN + 1];
	int n;

	seal_hex(head, SEAL_HASH_LEN, hex);
	n = snprintf(buf, size,
		     "maillage-audit-checkpoint-v1\n"
		     "seq=%" PRId64 "\n"
		     "head=%s\n"
		     "at=%s\n"
		     "previous=%" PRId64 "\n"
		     "key=%s\n",
		     seq, hex, at, previous, key_id);
	return (n < 0 || (size_t)n >= size) ? -1 : n;
}

/* ---- the signing key --------------------------------------------------- */

static void seal_ssl_error(char *err, size_t errlen, const char *what,
			   const char *path)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "";

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	snprintf(err, errlen, "%s: %s%s%s", path, what, buf[0] ? ": " : "",
		 buf);
}

EVP_PKEY *seal_key_load(const char *path, char *err, size_t errlen)
{
	EVP_PKEY *key;
	FILE *f;
	int fd;

	fd = keyfile_open(path, "audit signing key", err, errlen);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (key == NULL) {
		seal_ssl_error(err, errlen, "not a PEM private key", path);
		return NULL;
	}
	if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
		snprintf(err, errlen, "%s: not an Ed25519 key", path);
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

int seal_key_id(EVP_PKEY *key, char out[SEAL_KEY_ID_LEN + 1])
{
	uint8_t raw[32], md[SEAL_HASH_LEN];
	size_t len = sizeof(raw);
	unsigned int mdlen = 0;

	if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1 || len != 32 ||
	    EVP_Digest(raw, len, md, &mdlen, EVP_sha256(), NULL) != 1) {
		ERR_clear_error();
		return -1;
	}
	seal_hex(md, SEAL_HASH_LEN, out);
	return 0;
}

/* Create `path` with `mode`, refusing an existing file. */
static FILE *seal_create(const char *path, mode_t mode, char *err,
			 size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	FILE *f;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	/* The umask may have removed bits; it must not have added any. */
	(void)fchmod(fd, mode);
	f = fdopen(fd, "w");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		(void)unlink(path);
	}
	return f;
}

int seal_keygen(const char *path, char key_id[SEAL_KEY_ID_LEN + 1], char *err,
		size_t errlen)
{
	char pub[CONFIG_PATH_MAX + 8];
	EVP_PKEY *key;
	FILE *f;
	int ok;

	if (snprintf(pub, sizeof(pub), "%s.pub", path) >= (int)sizeof(pub)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (key == NULL) {
		seal_ssl_error(err, errlen, "key generation failed", path);
		return -1;
	}
	if (seal_key_id(key, key_id) != 0) {
		snprintf(err, errlen, "%s: cannot compute the key id", path);
		EVP_PKEY_free(key);
		return -1;
	}
	f = seal_create(path, 0600, err, errlen);
	if (f == NULL) {
		EVP_PKEY_free(key);
		return -1;
	}
	ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1;
	ok = fclose(f) == 0 && ok;
	if (!ok) {
		seal_ssl_error(err, errlen, "cannot write the key", path);
		(void)unlink(path);
		EVP_PKEY_free(key);
		return -1;
	}
	f = seal_create(pub, 0644, err, errlen);
	if (f == NULL) {
		(void)unlink(path);
		EVP_PKEY_free(key);
		return -1;
	}
	ok = PEM_write_PUBKEY(f, key) == 1;
	ok = fclose(f) == 0 && ok;
	EVP_PKEY_free(key);
	if (!ok) {
		seal_ssl_error(err, errlen, "cannot write the public key", pub);
		(void)unlink(pub);
		(void)unlink(path);
		return -1;
	}
	return 0;
}

int seal_check_config(const struct config *cfg, char *err, size_t errlen)
{
	EVP_PKEY *key;

	if (cfg->audit_signing_key[0] == '\0')
		return 0;
	key = seal_key_load(cfg->audit_signing_key, err, errlen);
	if (key == NULL)
		return -1;
	EVP_PKEY_free(key);
	return 0;
}

/* The PEM SubjectPublicKeyInfo of `key`, malloc'd, or NULL. */
static char *seal_public_pem(EVP_PKEY *key)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long n;

	if (b == NULL)
		return NULL;
	if (PEM_write_bio_PUBKEY(b, key) == 1) {
		n = BIO_get_mem_data(b, &data);
		if (n > 0 && (out = malloc((size_t)n + 1)) != NULL) {
			memcpy(out, data, (size_t)n);
			out[n] = '\0';
		}
	}
	BIO_free(b);
	return out;
}

/* ---- the sealer -------------------------------------------------------- */

static struct {
	struct server *srv;
	int active;
	int running; /* a cycle's job is in flight */
	struct event *timer;
	struct event *again;
	EVP_PKEY *key;
	char key_id[SEAL_KEY_ID_LEN + 1];
	char *pub_pem;
	int key_registered;
	int failing;		/* the last cycle failed (warned once) */
	int64_t unknown_logged; /* columns not covered, as last logged */
	/* the cycle in flight */
	int64_t batch_rows;
	int batch_full;
	int registering;
	/* a backlog being caught up, for the throughput line */
	uint64_t run_rows;
	int64_t run_start_ms;
	unsigned run_batches;
	uint64_t sealed_total;
} seal;

/* One row of the first job, sorted into chain order. */
struct seal_row {
	int row; /* in the result */
	int64_t id;
};

static const char seal_state_sql[] =
	"SELECT coalesce(h.seq, 0), encode(h.hash, 'hex'),"
	" coalesce((SELECT max(audit_id) FROM audit_seal), 0),"
	" coalesce(c.seq, 0),"
	" (extract(epoch FROM clock_timestamp() - c.at) * 1000)::bigint,"
	" (SELECT count(*) FROM audit_seal_gap)"
	" FROM (SELECT 1) AS one"
	" LEFT JOIN LATERAL (SELECT seq, hash FROM audit_seal"
	" ORDER BY seq DESC LIMIT 1) h ON true"
	" LEFT JOIN LATERAL (SELECT seq, at FROM audit_checkpoint"
	" ORDER BY seq DESC LIMIT 1) c ON true";

static const char seal_rows_sql[] =
	"(SELECT " SEAL_SQL_RECORD_SEALER " FROM audit_event e"
	" WHERE e.id IN (SELECT audit_id FROM audit_seal_gap)"
	" AND e.id <= (SELECT coalesce(max(audit_id), 0) FROM audit_seal)"
	" ORDER BY e.id LIMIT $1::integer)"
	" UNION ALL "
	"(SELECT " SEAL_SQL_RECORD_SEALER " FROM audit_event e"
	" WHERE e.id > (SELECT coalesce(max(audit_id), 0) FROM audit_seal)"
	" ORDER BY e.id LIMIT $1::integer)";

/* After the rows, in the same transaction: see SEAL_SQL_UNKNOWN_COLUMNS. */
static const char seal_columns_sql[] = SEAL_SQL_UNKNOWN_COLUMNS;

static const char seal_key_sql[] =
	"INSERT INTO audit_key (key_id, public_key, instance)"
	" VALUES ($1, $2, $3) ON CONFLICT (key_id) DO NOTHING";

static const char seal_append_sql[] =
	"SELECT status, sealed, expired FROM audit_seal_append($1::bigint,"
	" $2::bytea, $3::bigint, $4::bigint[], $5::bytea, $6::bytea,"
	" $7::bigint[], $8::timestamptz, $9, $10::bytea, $11)";

static int64_t seal_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Now in UTC, "YYYY-MM-DDTHH:MM:SS.ffffffZ". */
static void seal_now_text(char buf[40])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
		 (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
		 tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
		 tm.tm_sec % 100, (int)(ts.tv_nsec / 1000) % 1000000);
}

static int seal_unhex(const char *s, uint8_t *out, size_t n)
{
	size_t i;

	if (strlen(s) != 2 * n)
		return -1;
	for (i = 0; i < 2 * n; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
					       : -1;
		if (v < 0)
			return -1;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(v << 4);
		else
			out[i / 2] |= (uint8_t)v;
	}
	return 0;
}

/* A growable string for the long parameters of the second job. */
struct seal_buf {
	char *s;
	size_t len, cap;
	int failed;
};

static void seal_buf_add(struct seal_buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap != 0 ? b->cap : 256;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->s, cap);
		if (p == NULL) {
			b->failed = 1;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void seal_buf_str(struct seal_buf *b, const char *s)
{
	seal_buf_add(b, s, strlen(s));
}

static void seal_buf_int(struct seal_buf *b, int64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%s%" PRId64, b->len > 1 ? "," : "", v);
	seal_buf_str(b, num);
}

static int seal_row_cmp(const void *a, const void *b)
{
	const struct seal_row *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static void seal_cycle_failed(const char *what, const struct db_reply *reply)
{
	if (reply->status == DB_UNAVAILABLE) {
		log_debug("audit: sealer: %s: database unavailable", what);
		return;
	}
	if (!seal.failing)
		log_warnx("audit: sealer: %s failed: %s %s", what,
			  db_status_name(reply->status), reply->sqlstate);
	seal.failing = 1;
}

static void seal_schedule_again(void)
{
	if (seal.active && seal.again != NULL)
		event_active(seal.again, EV_TIMEOUT, 0);
}

/* A batch was written: account for it and for the backlog run. */
static void seal_account(int64_t n, int full)
{
	seal.sealed_total += (uint64_t)n;
	if (full) {
		if (seal.run_batches == 0) {
			seal.run_start_ms = seal_mono_ms();
			seal.run_rows = 0;
		}
		seal.run_batches++;
		seal.run_rows += (uint64_t)n;
		return;
	}
	if (seal.run_batches >= 2) {
		int64_t ms = seal_mono_ms() - seal.run_start_ms;
		uint64_t rows = seal.run_rows + (uint64_t)n;

		log_info("audit: sealed a backlog of %" PRIu64 " rows in "
			 "%" PRId64 " ms (%.0f rows/s)",
			 rows, ms,
			 ms > 0 ? (double)rows * 1000.0 / (double)ms : 0.0);
	}
	seal.run_batches = 0;
}

static void seal_append_done(void *arg, const struct db_reply *reply)
{
	const PGresult *res;
	const char *status;
	int64_t sealed, expired;
	int last;

	(void)arg;
	if (!seal.active)
		return;
	seal.running = 0;
	if (reply->status != DB_OK) {
		seal_cycle_failed("writing the seals", reply);
		return;
	}
	if (seal.registering)
		seal.key_registered = 1;
	last = reply->nresults - 1;
	res = reply->results[last];
	if (PQntuples(res) != 1) {
		log_warnx("audit: sealer: unexpected answer");
		return;
	}
	status = PQgetvalue(res, 0, 0);
	sealed = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	expired = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	if (seal.failing)
		log_info("audit: sealer: working again");
	seal.failing = 0;
	if (strcmp(status, "ok") != 0) {
		/* Another instance sealed meanwhile, or holds the lock. */
		log_debug("audit: sealer: %s, reading again", status);
		return;
	}
	if (expired > 0)
		log_debug("audit: %" PRId64 " missing audit id%s will not "
			  "appear (rolled back)",
			  expired, expired > 1 ? "s" : "");
	if (sealed > 0)
		log_debug("audit: sealed %" PRId64 " row%s", sealed,
			  sealed > 1 ? "s" : "");
	seal_account(sealed, seal.batch_full);
	if (seal.batch_full)
		seal_schedule_again();
}

/* What the first job found. */
struct seal_state {
	int64_t head_seq;
	uint8_t head[SEAL_HASH_LEN];
	int has_head;
	int64_t hw; /* highest sealed id */
	int64_t last_cp;
	int64_t cp_age_ms; /* -1: no checkpoint yet */
	int64_t gaps_pending;
};

static int seal_read_state(const PGresult *res, struct seal_state *st)
{
	if (PQntuples(res) != 1)
		return -1;
	memset(st, 0, sizeof(*st));
	st->head_seq = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	st->has_head = !PQgetisnull(res, 0, 1);
	if (st->has_head &&
	    seal_unhex(PQgetvalue(res, 0, 1), st->head, SEAL_HASH_LEN) != 0)
		return -1;
	if (st->head_seq > 0 && !st->has_head)
		return -1;
	st->hw = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	st->last_cp = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	st->cp_age_ms = PQgetisnull(res, 0, 4)
				? -1
				: strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	st->gaps_pending = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
	return 0;
}

/*
 * 0 when every column of audit_event is covered by the hash of the rows
 * just read; else nothing may be sealed: the log says so once per count.
 */
static int seal_unknown_columns(const PGresult *res)
{
	int64_t n = -1;

	if (PQntuples(res) == 1)
		n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	if (n < 0) {
		log_warnx("audit: sealer: unexpected answer");
		return -1;
	}
	if (n == 0) {
		if (seal.unknown_logged != 0)
			log_info("audit: sealer: every column of audit_event "
				 "is covered again");
		seal.unknown_logged = 0;
		return 0;
	}
	if (n != seal.unknown_logged)
		log_warnx("audit: sealer: audit_event has %" PRId64
			  " column%s the audit hash does not cover (added "
			  "outside maillaged's migrations?); nothing is "
			  "sealed until %s removed",
			  n, n == 1 ? "" : "s", n == 1 ? "it is" : "they are");
	seal.unknown_logged = n;
	return -1;
}

/*
 * The rows in chain order (the awaited ones first, then the new ones by
 * id), and the ids missing among the new ones into `gaps`. Returns the
 * number of rows, or -1.
 */
static int seal_order(const PGresult *res, const struct seal_state *st,
		      struct seal_row **out, struct seal_buf *gaps)
{
	int n = PQntuples(res), i, nold = 0, ngaps = 0;
	struct seal_row *rows;
	int64_t prev;

	*out = NULL;
	if (n == 0)
		return 0;
	rows = calloc((size_t)n, sizeof(*rows));
	if (rows == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		rows[i].row = i;
		rows[i].id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		nold += rows[i].id <= st->hw;
	}
	qsort(rows, (size_t)n, sizeof(*rows), seal_row_cmp);
	prev = st->hw;
	for (i = nold; i < n; i++) {
		int64_t id = rows[i].id;

		if (id - prev - 1 > SEAL_GAPS_MAX - ngaps) {
			log_notice("audit: ids %" PRId64 " to %" PRId64
				   " skipped by the sequence; not waiting "
				   "for them",
				   prev + 1, id - 1);
		} else {
			for (prev++; prev < id; prev++, ngaps++)
				seal_buf_int(gaps, prev);
		}
		prev = id;
	}
	*out = rows;
	return n;
}

static int seal_checkpoint_due(const struct seal_state *st, int64_t new_head)
{
	const struct config *cfg = &seal.srv->cfg;

	if (seal.key == NULL || new_head <= st->last_cp)
		return 0;
	/* The age is the database's clock minus ours: a skew makes it off. */
	return st->last_cp == 0 ||
	       (uint64_t)(new_head - st->last_cp) >= cfg->checkpoint_rows ||
	       (st->cp_age_ms >= 0 &&
		(uint64_t)st->cp_age_ms >= cfg->checkpoint_interval_ms);
}

/* Sign the checkpoint of `head` at `seq`: its time and signature in hex. */
static int seal_sign(int64_t seq, const uint8_t head[SEAL_HASH_LEN],
		     int64_t previous, char at[40],
		     char sig_hex[2 + 2 * SEAL_SIG_LEN + 1])
{
	char msg[SEAL_CP_MSG_MAX];
	uint8_t sig[SEAL_SIG_LEN];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *md;
	int n, ok;

	seal_now_text(at);
	n = seal_checkpoint_message(msg, sizeof(msg), seq, head, at, previous,
				    seal.key_id);
	md = EVP_MD_CTX_new();
	if (n < 0 || md == NULL) {
		EVP_MD_CTX_free(md);
		return -1;
	}
	ok = EVP_DigestSignInit(md, NULL, NULL, NULL, seal.key) == 1 &&
	     EVP_DigestSign(md, sig, &siglen, (const unsigned char *)msg,
			    (size_t)n) == 1 &&
	     siglen == SEAL_SIG_LEN;
	EVP_MD_CTX_free(md);
	if (!ok) {
		ERR_clear_error();
		return -1;
	}
	sig_hex[0] = '\\';
	sig_hex[1] = 'x';
	seal_hex(sig, SEAL_SIG_LEN, sig_hex + 2);
	return 0;
}

/* Build and submit the second job; 0, or -1 (nothing submitted). */
static int seal_write(const struct seal_state *st, const PGresult *res,
		      const struct seal_row *rows, int n, struct seal_buf *gaps)
{
	struct seal_buf ids = {0}, leaves = {0}, hashes = {0};
	char head_seq[24], last_cp[24], head_hex[2 + 2 * SEAL_HASH_LEN + 1];
	char at[40], sig_hex[2 + 2 * SEAL_SIG_LEN + 1], hex[65];
	uint8_t prev[SEAL_HASH_LEN], leaf[SEAL_HASH_LEN];
	const char *params[11];
	struct db_job *job = NULL;
	int i, cp = 0, rc = -1;

	memset(prev, 0, sizeof(prev));
	if (st->has_head)
		memcpy(prev, st->head, SEAL_HASH_LEN);
	seal_buf_str(&ids, "{");
	seal_buf_str(&leaves, "\\x");
	seal_buf_str(&hashes, "\\x");
	for (i = 0; i < n; i++) {
		struct seal_record r;

		seal_record_read(res, rows[i].row, 0, &r);
		if (seal_leaf(&r, leaf) != 0 ||
		    seal_chain_hash(st->head_seq + 1 + i, r.id, leaf, prev,
				    prev) != 0)
			goto out;
		seal_buf_int(&ids, r.id);
		seal_hex(leaf, SEAL_HASH_LEN, hex);
		seal_buf_add(&leaves, hex, 2 * SEAL_HASH_LEN);
		seal_hex(prev, SEAL_HASH_LEN, hex);
		seal_buf_add(&hashes, hex, 2 * SEAL_HASH_LEN);
	}
	seal_buf_str(&ids, "}");
	seal_buf_str(gaps, "}");
	if (ids.failed || leaves.failed || hashes.failed || gaps->failed)
		goto out;
	if (seal_checkpoint_due(st, st->head_seq + n)) {
		cp = seal_sign(st->head_seq + n, prev, st->last_cp, at,
			       sig_hex) == 0;
		if (!cp)
			log_warnx("audit: cannot sign a checkpoint");
	}
	if (n == 0 && !cp && st->gaps_pending == 0 && gaps->len <= 2 &&
	    (seal.key == NULL || seal.key_registered)) {
		rc = 1; /* nothing to write */
		goto out;
	}
	job = db_job_new();
	if (job == NULL)
		goto out;
	seal.registering = 0;
	if (seal.key != NULL && !seal.key_registered) {
		params[0] = seal.key_id;
		params[1] = seal.pub_pem;
		params[2] = seal.srv->instance_id;
		if (db_job_add(job, seal_key_sql, 3, params) != 0)
			goto out;
		seal.registering = 1;
	}
	snprintf(head_seq, sizeof(head_seq), "%" PRId64, st->head_seq);
	snprintf(last_cp, sizeof(last_cp), "%" PRId64, st->last_cp);
	head_hex[0] = '\\';
	head_hex[1] = 'x';
	seal_hex(st->head, SEAL_HASH_LEN, head_hex + 2);
	params[0] = head_seq;
	params[1] = st->has_head ? head_hex : NULL;
	params[2] = last_cp;
	params[3] = ids.s;
	params[4] = leaves.s;
	params[5] = hashes.s;
	params[6] = gaps->s;
	params[7] = cp ? at : NULL;
	params[8] = cp ? seal.key_id : NULL;
	params[9] = cp ? sig_hex : NULL;
	params[10] = seal.srv->instance_id;
	if (db_job_add(job, seal_append_sql, 11, params) != 0)
		goto out;
	seal.batch_rows = n;
	seal.running = 1;
	db_submit(seal.srv->db, job, seal_append_done, NULL);
	job = NULL;
	rc = 0;
out:
	db_job_free(job);
	free(ids.s);
	free(leaves.s);
	free(hashes.s);
	return rc;
}

static void seal_read_done(void *arg, const struct db_reply *reply)
{
	struct seal_state st;
	struct seal_buf gaps = {0};
	struct seal_row *rows = NULL;
	int n, rc;

	(void)arg;
	if (!seal.active)
		return;
	seal.running = 0;
	if (reply->status != DB_OK) {
		seal_cycle_failed("reading the rows to seal", reply);
		return;
	}
	if (reply->nresults != 3 ||
	    seal_read_state(reply->results[0], &st) != 0) {
		log_warnx("audit: sealer: unexpected chain state");
		return;
	}
	if (seal_unknown_columns(reply->results[2]) != 0)
		return;
	seal_buf_str(&gaps, "{");
	n = seal_order(reply->results[1], &st, &rows, &gaps);
	if (n < 0) {
		log_warnx("audit: sealer: out of memory");
		free(gaps.s);
		return;
	}
	/* Either part of the read may have been full. */
	seal.batch_full = n >= (int)seal.srv->cfg.seal_batch;
	rc = seal_write(&st, reply->results[1], rows, n, &gaps);
	if (rc < 0)
		log_warnx("audit: sealer: cannot build the seals");
	else if (rc > 0)
		seal_account(0, 0);
	free(rows);
	free(gaps.s);
}

static void seal_tick(evutil_socket_t fd, short what, void *arg)
{
	char batch[24];
	const char *params[1];
	struct db_job *job;

	(void)fd;
	(void)what;
	(void)arg;
	if (!seal.active || seal.running || seal.srv->draining ||
	    db_pool_up(seal.srv->db) == 0)
		return;
	snprintf(batch, sizeof(batch), "%u", seal.srv->cfg.seal_batch);
	params[0] = batch;
	job = db_job_new();
	if (job == NULL || db_job_add(job, seal_state_sql, 0, NULL) != 0 ||
	    db_job_add(job, seal_rows_sql, 1, params) != 0 ||
	    db_job_add(job, seal_columns_sql, 0, NULL) != 0) {
		db_job_free(job);
		return;
	}
	seal.running = 1;
	db_submit(seal.srv->db, job, seal_read_done, NULL);
}

int seal_start(struct server *srv)
{
	const struct config *cfg = &srv->cfg;
	struct timeval tv = {(time_t)(cfg->seal_interval_ms / 1000),
			     (suseconds_t)(cfg->seal_interval_ms % 1000) *
				     1000};
	char err[CONFIG_ERR_MAX];

	memset(&seal, 0, sizeof(seal));
	seal.srv = srv;
	if (cfg->audit_signing_key[0] != '\0') {
		seal.key =
			seal_key_load(cfg->audit_signing_key, err, sizeof(err));
		if (seal.key == NULL) {
			log_error("[audit] signing_key: %s", err);
			return -1;
		}
		seal.pub_pem = seal_public_pem(seal.key);
		if (seal.pub_pem == NULL ||
		    seal_key_id(seal.key, seal.key_id) != 0) {
			log_error("[audit] signing_key: cannot derive the "
				  "public key");
			seal_stop();
			return -1;
		}
		log_notice("audit: checkpoints signed with key %s",
			   seal.key_id);
	} else {
		log_warnx("audit: no [audit] signing_key: the audit trail is "
			  "sealed but no checkpoint is signed");
	}
	seal.timer = event_new(srv->base, -1, EV_PERSIST, seal_tick, NULL);
	seal.again = event_new(srv->base, -1, 0, seal_tick, NULL);
	if (seal.timer == NULL || seal.again == NULL ||
	    event_add(seal.timer, &tv) != 0) {
		seal_stop();
		return -1;
	}
	seal.active = 1;
	return 0;
}

void seal_stop(void)
{
	seal.active = 0;
	if (seal.timer != NULL)
		event_free(seal.timer);
	if (seal.again != NULL)
		event_free(seal.again);
	seal.timer = seal.again = NULL;
	EVP_PKEY_free(seal.key);
	seal.key = NULL;
	free(seal.pub_pem);
	seal.pub_pem = NULL;
}

uint64_t seal_sealed_total(void)
{
	return seal.sealed_total;
}
