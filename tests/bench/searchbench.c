/*
 * searchbench: identity search at scale. `load` generates N identities
 * (the identity library's generator: names from the shipped lists, with
 * the errors of real records) and stores them as the daemon would, sealed
 * encodings and keyed blocking keys, straight into the database with COPY
 * (the keys and the database are the daemon's, read from its
 * configuration). `run` then sends `maillage person search` requests for
 * other observations of the same persons over mTLS from C concurrent
 * clients and prints the latency of the answers, side by side with the
 * same candidate query run by libpq alone (the database's share).
 *
 *   maillage-searchbench load DAEMON.conf N [SEED]
 *   maillage-searchbench run DAEMON.conf CLIENT.conf QUERIES CLIENTS [SEED]
 *
 * Output: "RESULT search key=value ..." lines, as maillage-bench prints;
 * `run` also writes searchbench-scores.txt, the first candidate's score of
 * each answer and whether it was the person searched (1) or not (0), for
 * precision and recall at any threshold.
 * The generated files (searchbench-*.csv, *.lat) go to the directory of
 * DAEMON.conf.
 */
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cerr.h"
#include "conf.h"
#include "config.h"
#include "ident.h"
#include "match.h"
#include "net.h"
#include "vault.h"

#define SB_COPY_BUF (1 << 20)

/* Print "searchbench: WHAT: DETAIL" and exit 1. */
static void sb_die(const char *what, const char *detail)
{
	fprintf(stderr, "searchbench: %s: %s\n", what, detail);
	exit(1);
}

static double sb_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sb_keys(const struct config *cfg, struct vault *v)
{
	char err[512] = "";

	if (vault_load(v, cfg->data_keyring, err, sizeof(err)) != 0 ||
	    match_init(cfg, err, sizeof(err)) != 0 || !match_enabled())
		sb_die("keys", err[0] ? err : "no [identity] matching_key");
}

static PGconn *sb_db(const struct config *cfg)
{
	PGconn *pg = PQconnectdb(cfg->db_conninfo);

	if (PQstatus(pg) != CONNECTION_OK)
		sb_die("database", PQerrorMessage(pg));
	return pg;
}

static void sb_exec(PGconn *pg, const char *sql)
{
	PGresult *r = PQexec(pg, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		sb_die("error", PQerrorMessage(pg));
	PQclear(r);
}

static long long sb_int(PGconn *pg, const char *sql)
{
	PGresult *r = PQexec(pg, sql);
	long long v;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		sb_die("error", PQerrorMessage(pg));
	v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}

/* Generate the two observation files of `n` and `q` persons. */
static void sb_generate(size_t n, size_t q, uint64_t seed, const char *left,
			const char *right, const char *truth)
{
	ident_gen_opts o;
	ident_norm *norm;
	const ident_names *names;
	char err[512];

	norm = ident_norm_new(err, sizeof(err));
	names = norm != NULL ? ident_names_builtin(norm, err, sizeof(err))
			     : NULL;
	if (names == NULL)
		sb_die("names", err);
	ident_gen_opts_default(&o);
	o.seed = seed;
	o.n_left = n;
	o.n_right = q;
	o.overlap = 1.0;
	if (ident_gen(names, norm, &o, left, right, truth, err, sizeof(err)) !=
	    0)
		sb_die("generate", err);
	ident_norm_free(norm);
}

static void sb_clear(const ident_row *r, ident_clear *c)
{
	memset(c, 0, sizeof(*c));
	c->given_name = r->given_name;
	c->family_name = r->family_name;
	c->birth = r->birth;
	c->sex = r->sex;
	snprintf(c->nat, sizeof(c->nat), "%.2s",
		 r->nationality != NULL ? r->nationality : "");
}

/* A COPY stream of one table, flushed in blocks. */
struct sb_copy {
	PGconn *pg;
	char *buf;
	size_t used;
};

static void sb_copy_start(struct sb_copy *cp, PGconn *pg, const char *sql)
{
	PGresult *r = PQexec(pg, sql);

	if (PQresultStatus(r) != PGRES_COPY_IN)
		sb_die("error", PQerrorMessage(pg));
	PQclear(r);
	cp->pg = pg;
	cp->used = 0;
	cp->buf = malloc(SB_COPY_BUF);
	if (cp->buf == NULL)
		sb_die("error", "out of memory");
}

static void sb_copy_flush(struct sb_copy *cp)
{
	if (cp->used > 0 && PQputCopyData(cp->pg, cp->buf, (int)cp->used) != 1)
		sb_die("copy", PQerrorMessage(cp->pg));
	cp->used = 0;
}

static void sb_copy_line(struct sb_copy *cp, const char *line)
{
	size_t n = strlen(line);

	if (cp->used + n > SB_COPY_BUF)
		sb_copy_flush(cp);
	memcpy(cp->buf + cp->used, line, n);
	cp->used += n;
}

static void sb_copy_end(struct sb_copy *cp)
{
	PGresult *r;

	sb_copy_flush(cp);
	if (PQputCopyEnd(cp->pg, NULL) != 1)
		sb_die("copy end", PQerrorMessage(cp->pg));
	r = PQgetResult(cp->pg);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		sb_die("copy", PQerrorMessage(cp->pg));
	PQclear(r);
	free(cp->buf);
}

/* Store every row of `t` as the daemon does; ids from base + 1. */
static void sb_store(PGconn *pg, const struct vault *v, const ident_table *t,
		     long long base, long long inst, long long account)
{
	struct sb_copy enc, blk;
	struct match_query *q = malloc(sizeof(*q));
	char line[256], id[24], *sealed, *row;
	size_t i;
	int k, oom;

	if (q == NULL)
		sb_die("error", "out of memory");
	sb_copy_start(&enc, pg, "COPY person (id) FROM STDIN");
	for (i = 0; i < t->n; i++) {
		snprintf(line, sizeof(line), "%lld\n", base + (long long)i + 1);
		sb_copy_line(&enc, line);
	}
	sb_copy_end(&enc);
	sb_copy_start(&enc, pg,
		      "COPY identity_assertion (id, person_id, institution_id,"
		      " account_id, has_name) FROM STDIN");
	for (i = 0; i < t->n; i++) {
		long long n = base + (long long)i + 1;
		snprintf(line, sizeof(line), "%lld\t%lld\t%lld\t%lld\tt\n", n,
			 n, inst, account);
		sb_copy_line(&enc, line);
	}
	sb_copy_end(&enc);
	sb_copy_start(&enc, pg,
		      "COPY identity_encoding (identity_id, person_id, rec)"
		      " FROM STDIN");
	for (i = 0; i < t->n; i++) {
		ident_clear c;
		long long n = base + (long long)i + 1;

		sb_clear(&t->rows[i], &c);
		snprintf(id, sizeof(id), "%lld", n);
		if (match_encode_clear(&c, q) != 0)
			continue;
		sealed = match_seal(v, id, &q->rec, &oom);
		if (sealed == NULL)
			sb_die("error", "seal failed");
		/* COPY text: the bytea's backslash doubled */
		row = malloc(strlen(sealed) + 64);
		if (row == NULL)
			sb_die("error", "out of memory");
		sprintf(row, "%lld\t%lld\t\\%s\n", n, n, sealed);
		sb_copy_line(&enc, row);
		free(row);
		free(sealed);
	}
	sb_copy_end(&enc);
	sb_copy_start(&blk, pg,
		      "COPY identity_block (key, identity_id) FROM STDIN");
	for (i = 0; i < t->n; i++) {
		ident_clear c;
		long long n = base + (long long)i + 1;

		sb_clear(&t->rows[i], &c);
		if (match_encode_clear(&c, q) != 0)
			continue;
		/* the stored keys, without repeats */
		for (k = 0; k < q->nkeys; k++) {
			int j, dup = 0;
			for (j = 0; j < k && !dup; j++)
				dup = q->keys[j] == q->keys[k];
			if (dup)
				continue;
			snprintf(line, sizeof(line), "%" PRId64 "\t%lld\n",
				 (int64_t)q->keys[k], n);
			sb_copy_line(&blk, line);
		}
	}
	sb_copy_end(&blk);
	free(q);
}

/*
 * The path of the run's file `name`, in the directory of the daemon's
 * configuration (the bench's work directory): two runs on other daemons
 * do not meet, and nothing goes to a predictable name in /tmp.
 */
static void sb_path(char *buf, size_t len, const char *daemon_conf,
		    const char *name)
{
	const char *slash = strrchr(daemon_conf, '/');
	int dir = slash != NULL ? (int)(slash - daemon_conf) : 1;

	if ((size_t)snprintf(buf, len, "%.*s/%s", dir,
			     slash != NULL ? daemon_conf : ".", name) >= len)
		sb_die("path too long", daemon_conf);
}

/* An id with a number (a person id), sorted by id for bsearch. */
struct sb_idn {
	char *id;
	long long n;
};

static int sb_idn_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sb_idn *)a)->id,
		      ((const struct sb_idn *)b)->id);
}

/*
 * The person stored for each searched (right) row, from the truth file
 * (left_id,right_id) and the left rows' person ids (base + row + 1), as
 * "right_id,person_id" lines to `expect`: what `run` checks the answers
 * against.
 */
static void sb_expect_write(const ident_table *left, long long base,
			    const char *truth, const char *expect)
{
	struct sb_idn *ix = calloc(left->n + 1, sizeof(*ix)), key, *hit;
	FILE *in = fopen(truth, "r"), *out = fopen(expect, "w");
	char l[64], r[64];
	size_t i;

	if (ix == NULL || in == NULL || out == NULL)
		sb_die("expected persons", truth);
	for (i = 0; i < left->n; i++) {
		ix[i].id = left->rows[i].id;
		ix[i].n = base + (long long)i + 1;
	}
	qsort(ix, left->n, sizeof(*ix), sb_idn_cmp);
	if (fscanf(in, "%*[^\n]") != 0) /* the header */
		sb_die("expected persons", truth);
	while (fscanf(in, " %63[^,],%63s", l, r) == 2) {
		key.id = l;
		hit = bsearch(&key, ix, left->n, sizeof(*ix), sb_idn_cmp);
		if (hit != NULL)
			fprintf(out, "%s,%lld\n", r, hit->n);
	}
	fclose(in);
	if (fclose(out) != 0)
		sb_die("expected persons", expect);
	free(ix);
}

/* The expected person of each row of `t` (0: none), from `expect`. */
static long long *sb_expect_read(const ident_table *t, const char *expect)
{
	struct sb_idn *ix = NULL, key, *hit;
	long long *out = calloc(t->n + 1, sizeof(*out)), n;
	size_t cnt = 0, cap = 0, i;
	FILE *in = fopen(expect, "r");
	char r[64];

	if (out == NULL || in == NULL)
		sb_die("expected persons (run `load` first)", expect);
	while (fscanf(in, " %63[^,],%lld", r, &n) == 2) {
		if (cnt == cap) {
			struct sb_idn *g;

			cap = cap ? 2 * cap : 1024;
			g = realloc(ix, cap * sizeof(*ix));
			if (g == NULL)
				sb_die("error", "out of memory");
			ix = g;
		}
		ix[cnt].id = strdup(r);
		if (ix[cnt].id == NULL)
			sb_die("error", "out of memory");
		ix[cnt++].n = n;
	}
	fclose(in);
	if (cnt > 0)
		qsort(ix, cnt, sizeof(*ix), sb_idn_cmp);
	for (i = 0; i < t->n && cnt > 0; i++) {
		key.id = t->rows[i].id;
		hit = bsearch(&key, ix, cnt, sizeof(*ix), sb_idn_cmp);
		out[i] = hit != NULL ? hit->n : 0;
	}
	for (i = 0; i < cnt; i++)
		free(ix[i].id);
	free(ix);
	return out;
}

static int sb_load(const char *daemon_conf, size_t n, uint64_t seed)
{
	struct config cfg;
	struct vault v;
	ident_table t = {0};
	char err[512], left[4096], right[4096], truth[4096], expect[4096];
	double t0, t1;
	long long base, inst, account, stored;
	PGconn *pg;

	if (config_load(daemon_conf, &cfg, err, sizeof(err)) != 0)
		sb_die("error", err);
	sb_keys(&cfg, &v);
	t0 = sb_now_ms();
	sb_path(left, sizeof(left), daemon_conf, "searchbench-left.csv");
	sb_path(right, sizeof(right), daemon_conf, "searchbench-right.csv");
	sb_path(truth, sizeof(truth), daemon_conf, "searchbench-truth.csv");
	sb_generate(n, 1000, seed, left, right, truth);
	if (ident_table_read(left, &t, err, sizeof(err)) != 0)
		sb_die("error", err);
	pg = sb_db(&cfg);
	inst = sb_int(pg, "SELECT min(id) FROM institution");
	account = sb_int(pg, "SELECT min(id) FROM account");
	sb_exec(pg, "BEGIN");
	base = sb_int(pg, "SELECT greatest((SELECT coalesce(max(id), 0) FROM "
			  "person), (SELECT coalesce(max(id), 0) FROM "
			  "identity_assertion))");
	sb_store(pg, &v, &t, base, inst, account);
	sb_path(expect, sizeof(expect), daemon_conf, "searchbench-expect.csv");
	sb_expect_write(&t, base, truth, expect);
	sb_exec(pg, "SELECT setval('person_id_seq', (SELECT max(id) FROM "
		    "person)), setval('identity_assertion_id_seq', (SELECT "
		    "max(id) FROM identity_assertion))");
	sb_exec(pg, "COMMIT");
	sb_exec(pg, "SELECT identity_block_count_refresh()");
	sb_exec(pg, "ANALYZE identity_block");
	sb_exec(pg, "ANALYZE identity_encoding");
	t1 = sb_now_ms();
	stored = sb_int(pg, "SELECT count(*) FROM identity_encoding");
	printf("RESULT search-load stored=%lld added=%zu seconds=%.1f "
	       "blocks=%lld\n",
	       stored, t.n, (t1 - t0) / 1e3,
	       sb_int(pg, "SELECT count(*) FROM identity_block"));
	PQfinish(pg);
	ident_table_free(&t);
	vault_clear(&v);
	return 0;
}

/* "YYYY-MM-DD", "YYYY-MM", "YYYY" or "" of a parsed date. */
static void sb_date(const ident_date *d, char *out, size_t len)
{
	if (d->year == 0)
		out[0] = '\0';
	else if (d->month == 0)
		snprintf(out, len, "%04u", d->year);
	else if (d->day == 0)
		snprintf(out, len, "%04u-%02u", d->year, d->month);
	else
		snprintf(out, len, "%04u-%02u-%02u", d->year, d->month, d->day);
}

static int sb_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double sb_q(const double *v, size_t n, double q)
{
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);

	return n == 0 ? 0 : v[i < n ? i : n - 1];
}

/*
 * One client: its share of the queries; to `out`, per answer, its latency
 * (ms), its candidates, whether the first is the expected person,
 * whether it is among them, whether the first is a confident match, and
 * its score.
 */
static void sb_client(const char *client_conf, const ident_table *t,
		      const long long *expect, size_t from, size_t to,
		      FILE *out)
{
	struct conf *conf = NULL;
	struct net_conn *nc = NULL;
	struct cerr err;
	size_t i;

	if (conf_load(client_conf, &conf, &err) != 0 ||
	    net_connect(conf, "maillage-searchbench", &nc, &err) != 0)
		sb_die("connect", err.message);
	for (i = from; i < to; i++) {
		Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
		Maillage__PersonSearch ps = MAILLAGE__PERSON_SEARCH__INIT;
		Maillage__Identity id = MAILLAGE__IDENTITY__INIT;
		struct frame_msg *resp = NULL;
		const ident_row *r = &t->rows[i % t->n];
		char date[16];
		double t0;

		sb_date(&r->birth, date, sizeof(date));
		id.given_name = r->given_name != NULL ? r->given_name : "";
		id.family_name = r->family_name != NULL ? r->family_name : "";
		id.birth_date = date;
		id.sex = r->sex == IDENT_SEX_M	 ? "M"
			 : r->sex == IDENT_SEX_F ? "F"
						 : "";
		id.nationality = r->nationality != NULL ? r->nationality : "";
		if (id.given_name[0] == '\0' && id.family_name[0] == '\0')
			continue;
		ps.identity = &id;
		req.body_case = MAILLAGE__ENVELOPE__BODY_PERSON_SEARCH;
		req.person_search = &ps;
		t0 = sb_now_ms();
		if (net_call(nc, &req,
			     MAILLAGE__ENVELOPE__BODY_PERSON_SEARCH_RESULT,
			     &resp, &err) != 0) {
			if (err.kind != CERR_SERVER)
				sb_die("search", err.message);
			continue; /* e.g. nothing to match on */
		}
		{
			const Maillage__PersonSearchResult *res =
				resp->env->person_search_result;
			long long want = expect[i % t->n];
			int first = 0, listed = 0;
			size_t k;

			for (k = 0; k < res->n_candidates; k++) {
				if (want == 0 ||
				    res->candidates[k]->person_id != want)
					continue;
				listed = 1;
				first = k == 0;
			}
			fprintf(out, "%.3f %zu %d %d %d %.2f\n",
				sb_now_ms() - t0, res->n_candidates, first,
				listed,
				res->n_candidates > 0 &&
					res->candidates[0]->confident,
				res->n_candidates > 0
					? res->candidates[0]->score
					: 0.0);
		}
		frame_msg_free(resp);
	}
	net_close(nc);
	conf_free(conf);
}

/* The database alone: identity_candidates for the same keys, one client. */
static double sb_db_only(const struct config *cfg, const ident_table *t,
			 size_t nq, double *lat)
{
	PGconn *pg = sb_db(cfg);
	struct match_query *q = malloc(sizeof(*q));
	size_t i, n = 0;

	if (q == NULL)
		sb_die("error", "out of memory");
	for (i = 0; i < nq; i++) {
		ident_clear c;
		const char *p[1];
		char *keys;
		PGresult *r;
		double t0;

		sb_clear(&t->rows[i % t->n], &c);
		if (match_encode_clear(&c, q) != 0)
			continue;
		keys = match_keys_literal(q->qkeys, q->nqkeys);
		p[0] = keys;
		t0 = sb_now_ms();
		r = PQexecParams(pg,
				 "SELECT identity_id, person_id, rec FROM "
				 "identity_candidates($1::bigint[], 0, 0, "
				 "true, " MATCH_SCAN_MAX ")",
				 1, NULL, p, NULL, NULL, 1);
		if (PQresultStatus(r) != PGRES_TUPLES_OK)
			sb_die("error", PQerrorMessage(pg));
		lat[n++] = sb_now_ms() - t0;
		PQclear(r);
		free(keys);
	}
	free(q);
	PQfinish(pg);
	qsort(lat, n, sizeof(*lat), sb_cmp);
	return (double)n;
}

static int sb_run(const char *daemon_conf, const char *client_conf, size_t nq,
		  int clients)
{
	struct config cfg;
	struct vault v;
	ident_table t = {0};
	char err[512], path[4096], right[4096];
	double *lat = calloc(nq + 1, sizeof(double)), *dblat;
	size_t n = 0, found = 0, nd, right_first = 0, wrong_first = 0,
	       listed = 0;
	size_t conf_right = 0, conf_wrong = 0;
	long long *expect;
	int first, in, conf;
	double score;
	FILE *scores;
	double t0, wall, ms;
	int i, status;

	if (lat == NULL || config_load(daemon_conf, &cfg, err, sizeof(err)))
		sb_die("error", "config");
	sb_keys(&cfg, &v);
	sb_path(right, sizeof(right), daemon_conf, "searchbench-right.csv");
	if (ident_table_read(right, &t, err, sizeof(err)) != 0)
		sb_die("right file (run `load` first)", err);
	sb_path(path, sizeof(path), daemon_conf, "searchbench-expect.csv");
	expect = sb_expect_read(&t, path);
	sb_path(path, sizeof(path), daemon_conf, "searchbench-scores.txt");
	scores = fopen(path, "w");
	if (scores == NULL)
		sb_die("scores", path);
	t0 = sb_now_ms();
	for (i = 0; i < clients; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			FILE *f;
			char name[48];

			snprintf(name, sizeof(name), "searchbench-%d.lat", i);
			sb_path(path, sizeof(path), daemon_conf, name);
			f = fopen(path, "w");
			if (f == NULL)
				_exit(1);
			sb_client(client_conf, &t, expect,
				  nq * (size_t)i / clients,
				  nq * (size_t)(i + 1) / clients, f);
			fclose(f);
			_exit(0);
		}
	}
	for (i = 0; i < clients; i++)
		if (wait(&status) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			sb_die("error", "a client failed");
	wall = sb_now_ms() - t0;
	for (i = 0; i < clients; i++) {
		FILE *f;
		size_t c;
		char name[48];

		snprintf(name, sizeof(name), "searchbench-%d.lat", i);
		sb_path(path, sizeof(path), daemon_conf, name);
		f = fopen(path, "r");
		while (f != NULL && n < nq &&
		       fscanf(f, "%lf %zu %d %d %d %lf", &ms, &c, &first, &in,
			      &conf, &score) == 6) {
			if (c > 0)
				fprintf(scores, "%.2f %d\n", score, first);
			lat[n++] = ms;
			found += c > 0;
			right_first += first != 0;
			wrong_first += c > 0 && !first;
			listed += in != 0;
			conf_right += conf && first;
			conf_wrong += conf && !first;
		}
		if (f != NULL)
			fclose(f);
		unlink(path);
	}
	if (fclose(scores) != 0)
		sb_die("scores", "write");
	qsort(lat, n, sizeof(*lat), sb_cmp);
	dblat = calloc(nq + 1, sizeof(double));
	nd = dblat != NULL ? (size_t)sb_db_only(&cfg, &t, nq, dblat) : 0;
	printf("RESULT search clients=%d queries=%zu found=%zu right_first=%zu "
	       "wrong_first=%zu listed=%zu confident_right=%zu "
	       "confident_wrong=%zu per_s=%.0f "
	       "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f db_p50_ms=%.2f "
	       "db_p99_ms=%.2f\n",
	       clients, n, found, right_first, wrong_first, listed, conf_right,
	       conf_wrong, (double)n / (wall / 1e3), sb_q(lat, n, 0.5),
	       sb_q(lat, n, 0.99), n ? lat[n - 1] : 0.0, sb_q(dblat, nd, 0.5),
	       sb_q(dblat, nd, 0.99));
	free(lat);
	free(dblat);
	free(expect);
	ident_table_free(&t);
	vault_clear(&v);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "load") == 0)
		return sb_load(argv[2], strtoul(argv[3], NULL, 10),
			       argc > 4 ? strtoull(argv[4], NULL, 10) : 1);
	if (argc >= 6 && strcmp(argv[1], "run") == 0)
		return sb_run(argv[2], argv[3], strtoul(argv[4], NULL, 10),
			      atoi(argv[5]));
	fprintf(stderr,
		"usage: maillage-searchbench load DAEMON.conf N "
		"[SEED]\n"
		"       maillage-searchbench run DAEMON.conf CLIENT.conf "
		"QUERIES CLIENTS\n");
	return 2;
}
