/*
 * match: the daemon's side of identity matching; see match.h. The
 * encoder, the name knowledge and the model are built once at start and
 * used from the event loop only (the library's encoder is not
 * thread-safe; the daemon has one thread). Term frequencies without
 * reading the stored records: a search's job also reads how many stored
 * identities share the pronunciation of each of its names (the counts of
 * their 'S' blocking keys, sql/020), and an agreement on a common name
 * weighs less (ident_tf_new_names).
 */
#include "match.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hex.h"
#include "keyfile.h"
#include "log.h"
#include "server.h"

#include <event2/event.h>

#define MATCH_REC_VERSION 1

#define MATCH_COUNT_SECS 30
/*
 * A name held by fewer stored identities is weighed as if not counted
 * (by u): its weight would otherwise tell a caller, through the
 * explanation, whether any other identity in the network (persons it may
 * not learn of included) sounds like it. Common names, the point of the
 * counts, are far above it.
 */
#define MATCH_TF_MIN_COUNT 10

static const char match_count_sql[] = "SELECT identity_block_count_refresh()";

int match_auto_link(const struct config *cfg, const struct match_candidate *c,
		    int n, int new_person)
{
	uint32_t need = cfg->auto_link_threshold;
	int i, found = -1;

	if (need == 0 || !new_person)
		return -1;
	if (need < cfg->confident_threshold)
		need = cfg->confident_threshold;
	for (i = 0; i < n; i++) {
		if (c[i].score * 10.0 < (double)need)
			continue;
		if (found >= 0)
			return -1; /* two of them: a coordinator decides */
		found = i;
	}
	return found;
}

static struct {
	struct server *srv;
	struct event *timer;
	ident_norm *norm;
	const ident_names *names;
	ident_enc *enc;
	ident_model model;
} match;

/* The key file: 64 hex digits, then optional blanks. */
static int match_read_key(const char *path, uint8_t key[IDENT_KEY_LEN],
			  char *err, size_t errlen)
{
	char buf[2 * IDENT_KEY_LEN + 16];
	ssize_t n;
	int fd, i;

	fd = keyfile_open(path, "matching key", err, errlen);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 2 * IDENT_KEY_LEN) {
		snprintf(err, errlen, "%s: not a matching key (64 hex digits)",
			 path);
		return -1;
	}
	i = hex_decode(key, buf, IDENT_KEY_LEN);
	OPENSSL_cleanse(buf, sizeof(buf));
	if (i != 0) {
		OPENSSL_cleanse(key, IDENT_KEY_LEN);
		snprintf(err, errlen, "%s: not a matching key (64 hex digits)",
			 path);
		return -1;
	}
	return 0;
}

int match_init(const struct config *cfg, char *err, size_t errlen)
{
	uint8_t key[IDENT_KEY_LEN];

	if (cfg->matching_key[0] == '\0')
		return 0;
	if (match_read_key(cfg->matching_key, key, err, errlen) != 0)
		return -1;
	match.norm = ident_norm_new(err, errlen);
	if (match.norm != NULL)
		match.names = ident_names_builtin(match.norm, err, errlen);
	if (match.names != NULL)
		match.enc = ident_enc_new(key, match.names, err, errlen);
	OPENSSL_cleanse(key, sizeof(key));
	if (match.enc == NULL) {
		match_free();
		return -1;
	}
	ident_model_default(&match.model);
	return 0;
}

int match_enabled(void)
{
	return match.enc != NULL;
}

static void match_count_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db_job *job = db_job_new();

	(void)fd;
	(void)what;
	(void)arg;
	if (job != NULL && db_job_add(job, match_count_sql, 0, NULL) == 0)
		db_submit(match.srv->db, job, NULL, NULL);
	else
		db_job_free(job);
}

int match_start(struct server *srv)
{
	struct timeval tv = {MATCH_COUNT_SECS, 0};

	if (match.enc == NULL)
		return 0;
	match.srv = srv;
	match.timer =
		event_new(srv->base, -1, EV_PERSIST, match_count_cb, NULL);
	if (match.timer == NULL || event_add(match.timer, &tv) != 0)
		return -1;
	return 0;
}

void match_stop(void)
{
	if (match.timer != NULL)
		event_free(match.timer);
	match.timer = NULL;
}

void match_free(void)
{
	match_stop();
	ident_enc_free(match.enc);
	ident_norm_free(match.norm);
	memset(&match, 0, sizeof(match));
}

int match_keygen(const char *path, char *err, size_t errlen)
{
	uint8_t key[IDENT_KEY_LEN];
	char hex[2 * IDENT_KEY_LEN + 2];
	int fd, i, ok;

	if (RAND_bytes(key, sizeof(key)) != 1) {
		snprintf(err, errlen, "no random bytes");
		return -1;
	}
	for (i = 0; i < IDENT_KEY_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	hex[2 * IDENT_KEY_LEN] = '\n';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ok = fd >= 0 &&
	     write(fd, hex, sizeof(hex) - 1) == (ssize_t)(sizeof(hex) - 1);
	if (fd >= 0 && close(fd) != 0)
		ok = 0;
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(hex, sizeof(hex));
	if (!ok) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static const char *match_s(const char *s)
{
	return s != NULL ? s : "";
}

int match_encode(const Maillage__Identity *id, struct match_query *q)
{
	ident_clear c;

	memset(q, 0, sizeof(*q));
	memset(&c, 0, sizeof(c));
	if (match.enc == NULL || id == NULL ||
	    (match_s(id->given_name)[0] == '\0' &&
	     match_s(id->family_name)[0] == '\0'))
		return -1;
	c.given_name = id->given_name;
	c.family_name = id->family_name;
	if (match_s(id->birth_date)[0] != '\0')
		(void)ident_date_parse(id->birth_date, &c.birth);
	else if (id->declared_age != 0 && match_s(id->age_declared_on)[0])
		(void)ident_date_from_age((int)id->declared_age,
					  id->age_declared_on, &c.birth);
	c.sex = strcmp(match_s(id->sex), "M") == 0   ? IDENT_SEX_M
		: strcmp(match_s(id->sex), "F") == 0 ? IDENT_SEX_F
						     : IDENT_SEX_UNKNOWN;
	snprintf(c.nat, sizeof(c.nat), "%.2s", match_s(id->nationality));
	return match_encode_clear(&c, q);
}

int match_encode_clear(const ident_clear *c, struct match_query *q)
{
	memset(q, 0, sizeof(*q));
	if (match.enc == NULL || ident_encode(match.enc, c, &q->rec) != 0)
		return -1;
	q->nkeys = ident_block_keys(match.enc, &q->rec, 0, q->keys,
				    IDENT_MAX_BLOCK_KEYS);
	q->nqkeys = ident_block_keys(match.enc, &q->rec, 1, q->qkeys,
				     IDENT_MAX_BLOCK_KEYS);
	ident_name_count_keys(match.enc, &q->rec, q->ckeys);
	q->nckeys = q->rec.ngiven + q->rec.nfamily;
	if (q->nckeys > IDENT_NAME_KEYS)
		q->nckeys = IDENT_NAME_KEYS;
	return q->nkeys > 0 && q->nqkeys > 0 ? 0 : -1;
}

char *match_keys_literal(const uint64_t *keys, int n)
{
	size_t cap = (size_t)n * 22 + 3, used = 1;
	char *s = malloc(cap);
	int i;

	if (s == NULL)
		return NULL;
	s[0] = '{';
	for (i = 0; i < n; i++)
		used += (size_t)snprintf(s + used, cap - used, "%s%" PRId64,
					 i > 0 ? "," : "", (int64_t)keys[i]);
	snprintf(s + used, cap - used, "}");
	return s;
}

char *match_count_keys_literal(const struct match_query *q)
{
	return match_keys_literal(q->ckeys, q->nckeys);
}

char *match_seal(const struct vault *v, const char *identity_id,
		 const ident_rec *rec, int *oom)
{
	unsigned char buf[1 + sizeof(ident_rec)];

	buf[0] = MATCH_REC_VERSION;
	memcpy(buf + 1, rec, sizeof(*rec));
	return vault_seal_raw(v, "identity_encoding.rec", identity_id, buf,
			      sizeof(buf), oom);
}

/* Open a stored record (its sealed bytes); 0, or -1 (logged) when it
 * does not open. */
static int match_open(const struct vault *v, const char *identity_id,
		      const unsigned char *sealed, size_t n, ident_rec *rec)
{
	void *buf = NULL;
	size_t len = 0;
	enum vault_status st;

	st = vault_open_bytes(v, "identity_encoding.rec", identity_id, sealed,
			      n, &buf, &len);
	if (st != VAULT_OK || len != 1 + sizeof(*rec) ||
	    ((unsigned char *)buf)[0] != MATCH_REC_VERSION) {
		log_warnx("stored value identity_encoding.rec of row %s does "
			  "not open",
			  identity_id);
		if (buf != NULL)
			OPENSSL_cleanse(buf, len);
		free(buf);
		return -1;
	}
	memcpy(rec, (unsigned char *)buf + 1, sizeof(*rec));
	OPENSSL_cleanse(buf, len);
	free(buf);
	return 0;
}

/* A bigint column in binary format: 0, or -1 if NULL or not 8 bytes. */
static int match_col_int8(const PGresult *res, int row, int col, int64_t *v)
{
	const unsigned char *p;
	uint64_t u = 0;
	int i;

	if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != 8)
		return -1;
	p = (const unsigned char *)PQgetvalue(res, row, col);
	for (i = 0; i < 8; i++)
		u = u << 8 | p[i];
	*v = (int64_t)u;
	return 0;
}

/* A boolean column in binary format: 1, 0, or -1 if NULL or malformed. */
static int match_col_bool(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != 1)
		return -1;
	return PQgetvalue(res, row, col)[0] != 0;
}

/* One candidate row's columns; 0, or -1 when malformed. */
static int match_row(const PGresult *res, int i, int col,
		     struct match_candidate *c)
{
	int visible = match_col_bool(res, i, col + 3);

	memset(c, 0, sizeof(*c));
	if (visible < 0 || match_col_int8(res, i, col, &c->identity_id) != 0 ||
	    match_col_int8(res, i, col + 1, &c->person_id) != 0 ||
	    match_col_int8(res, i, col + 4, &c->open_case_id) != 0 ||
	    match_col_int8(res, i, col + 5, &c->any_case_id) != 0 ||
	    PQgetisnull(res, i, col + 2) || PQfformat(res, col + 2) != 1)
		return -1;
	c->visible = visible;
	return 0;
}

/* Insert `c` into the best-first list `out` of `*n` (at most `max`),
 * keeping one entry per person. */
static void match_keep(struct match_candidate *out, int *n, int max,
		       const struct match_candidate *c)
{
	int i, at;

	for (i = 0; i < *n; i++) {
		if (out[i].person_id != c->person_id)
			continue;
		if (out[i].score >= c->score)
			return;
		memmove(&out[i], &out[i + 1],
			(size_t)(*n - i - 1) * sizeof(*out));
		(*n)--;
		break;
	}
	for (at = 0; at < *n && out[at].score >= c->score; at++)
		;
	if (at >= max)
		return;
	if (*n == max)
		(*n)--;
	memmove(&out[at + 1], &out[at], (size_t)(*n - at) * sizeof(*out));
	out[at] = *c;
	(*n)++;
}

/*
 * The names' frequencies of `counts` (rows ord, n: ord 0 the identities
 * counted, ord i >= 1 the count of q's i-th counting key) as a table of
 * term frequencies in *out (NULL when `counts` is NULL). 0, or -1 when
 * a row is malformed or out of memory.
 */
static int match_tf(const struct match_query *q, const PGresult *counts,
		    ident_tf **out)
{
	uint64_t n[IDENT_NAME_KEYS] = {0};
	int64_t ord, v, records = -1;
	int i;

	*out = NULL;
	if (counts == NULL)
		return 0;
	for (i = 0; i < PQntuples(counts); i++) {
		if (match_col_int8(counts, i, 0, &ord) != 0 ||
		    match_col_int8(counts, i, 1, &v) != 0 || ord < 0 ||
		    ord > q->nckeys || v < 0)
			return -1;
		if (ord == 0)
			records = v;
		else if (v >= MATCH_TF_MIN_COUNT)
			n[ord - 1] = (uint64_t)v;
	}
	if (records < 0)
		return -1;
	*out = ident_tf_new_names((double)records);
	if (*out == NULL)
		return -1;
	ident_tf_put_names(*out, &q->rec, n);
	return 0;
}

int match_rank(const struct vault *v, const struct match_query *q,
	       const PGresult *counts, const PGresult *res, int col,
	       double threshold, int visible_only, struct match_candidate *out,
	       int max)
{
	int rows = PQntuples(res), i, n = 0;
	struct match_candidate c;
	ident_tf *tf;
	char iid[24];
	ident_rec rec;
	ident_cmp cmp;

	if (match_tf(q, counts, &tf) != 0) {
		log_warnx("identity candidates: malformed name counts");
		return -1;
	}
	memset(&rec, 0, sizeof(rec));
	for (i = 0; i < rows; i++) {
		if (match_row(res, i, col, &c) != 0) {
			log_warnx("identity candidates: malformed row");
			n = -1;
			break;
		}
		if (visible_only && !c.visible)
			continue;
		snprintf(iid, sizeof(iid), "%" PRId64, c.identity_id);
		if (match_open(
			    v, iid,
			    (const unsigned char *)PQgetvalue(res, i, col + 2),
			    (size_t)PQgetlength(res, i, col + 2), &rec) != 0) {
			n = -1;
			break;
		}
		ident_compare(tf, &q->rec, &rec, &cmp);
		c.score = ident_score(&match.model, tf, &cmp, NULL);
		if (c.score < threshold)
			continue;
		c.cmp = cmp;
		match_keep(out, &n, max, &c);
	}
	/* explained once ranked: only the candidates kept */
	for (i = 0; i < n; i++)
		(void)ident_explain(&match.model, tf, &out[i].cmp, NULL, NULL,
				    out[i].explanation,
				    sizeof(out[i].explanation));
	OPENSSL_cleanse(&rec, sizeof(rec));
	ident_tf_free(tf);
	return n;
}
