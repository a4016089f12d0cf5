/*
 * maillage-link: batch identity linkage of CSV files with the ident
 * library (the same code as the server's person search).
 *
 *   maillage-link --left A.csv --right B.csv [--threshold W] [--explain]
 *   maillage-link --dedupe A.csv [--threshold W] [--explain]
 *
 * Names are encoded with a key (--key-file, else a random one for this
 * run) and matched on the encodings only; the clear names are used again
 * for --explain's "(muhammad / mohamed)" notes.
 */
#include "ident.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: maillage-link --left A.csv --right B.csv [options]\n"
		"       maillage-link --dedupe A.csv [options]\n"
		"\n"
		"Proposes the pairs of rows that are the same person, best "
		"first, as CSV\n"
		"left_id,right_id,score[,explanation] on stdout. Two files "
		"are linked one to\n"
		"one (a row is proposed at most once), and a row's other "
		"likely candidates\n"
		"lower its scores; --dedupe lists every pair above the "
		"threshold within one\n"
		"file, with the pairs of small clusters of rows linked "
		"together.\n"
		"\n"
		"Input: UTF-8 CSV with a header; columns id (required), "
		"given_name,\n"
		"family_name, birth_date (YYYY-MM-DD, YYYYMMDD, YYYY-MM, YYYY "
		"or empty),\n"
		"sex (M/F), nationality (ISO alpha-2), and optionally "
		"declared_age with\n"
		"declared_on (YYYY-MM-DD); other columns are ignored.\n"
		"\n"
		"Options:\n"
		"  --threshold W   minimum score, a log2 likelihood ratio "
		"(default %.1f)\n"
		"  --explain       add the per-field weights as a fourth "
		"column\n"
		"  --key-file F    network key (32 bytes, raw or 64 hex "
		"digits); default:\n"
		"                  a random key for this run\n"
		"  --em            re-estimate m by EM on the input's "
		"candidate pairs\n"
		"                  (default: m by self-training from the "
		"built-in values;\n"
		"                  u always comes from the input)\n"
		"  --stats         counts, timings and the model on stderr\n"
		"  -h, --help      this help\n"
		"\n"
		"Example:\n"
		"  maillage-link --left shelter.csv --right police.csv "
		"--explain > pairs.csv\n",
		IDENT_DEFAULT_THRESHOLD);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int read_key(const char *path, uint8_t key[IDENT_KEY_LEN])
{
	FILE *f = fopen(path, "rb");
	unsigned char buf[130];
	size_t n;
	if (f == NULL) {
		fprintf(stderr, "maillage-link: %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n == IDENT_KEY_LEN) {
		memcpy(key, buf, IDENT_KEY_LEN);
		return 0;
	}
	if (n == 2 * IDENT_KEY_LEN) {
		for (int i = 0; i < IDENT_KEY_LEN; i++) {
			unsigned v;
			char h[3] = {(char)buf[2 * i], (char)buf[2 * i + 1], 0};
			char *end;
			v = (unsigned)strtoul(h, &end, 16);
			if (*end) {
				fprintf(stderr,
					"maillage-link: %s: not hexadecimal\n",
					path);
				return -1;
			}
			key[i] = (uint8_t)v;
		}
		return 0;
	}
	fprintf(stderr,
		"maillage-link: %s: the key must be 32 bytes or 64 hex "
		"digits\n",
		path);
	return -1;
}

static void put_csv(FILE *f, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void names_of(ident_norm *n, const ident_row *r, ident_name nm[2])
{
	const char *g = r->given_name ? r->given_name : "";
	const char *f = r->family_name ? r->family_name : "";
	if (ident_name_parse(n, g, strlen(g), &nm[0]) < 0)
		nm[0].n = 0;
	if (ident_name_parse(n, f, strlen(f), &nm[1]) < 0)
		nm[1].n = 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"left", required_argument, NULL, 'l'},
		{"right", required_argument, NULL, 'r'},
		{"dedupe", required_argument, NULL, 'd'},
		{"threshold", required_argument, NULL, 't'},
		{"explain", no_argument, NULL, 'e'},
		{"key-file", required_argument, NULL, 'k'},
		{"em", no_argument, NULL, 'E'},
		{"stats", no_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	const char *lpath = NULL, *rpath = NULL, *dpath = NULL, *kpath = NULL;
	int explain = 0, stats = 0, c;
	ident_link_opts o;
	uint8_t key[IDENT_KEY_LEN];
	char err[512];
	ident_table lt = {0}, rt = {0};
	ident_rec *lr = NULL, *rr = NULL;
	ident_enc *e = NULL;
	const ident_names *names;
	ident_norm *norm;
	ident_link_result res;
	double t0, t1;
	int rc = 1;

	ident_link_opts_default(&o);
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			lpath = optarg;
			break;
		case 'r':
			rpath = optarg;
			break;
		case 'd':
			dpath = optarg;
			break;
		case 't': {
			char *end;
			o.threshold = strtod(optarg, &end);
			if (*end || end == optarg) {
				fprintf(stderr,
					"maillage-link: --threshold: not a "
					"number: %s\n",
					optarg);
				return 2;
			}
			break;
		}
		case 'e':
			explain = 1;
			break;
		case 'k':
			kpath = optarg;
			break;
		case 'E':
			o.em = 1;
			break;
		case 's':
			stats = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc ||
	    !((lpath && rpath && !dpath) || (dpath && !lpath && !rpath))) {
		usage(stderr);
		return 2;
	}
	if (kpath) {
		if (read_key(kpath, key) < 0)
			return 1;
	} else if (RAND_bytes(key, sizeof key) != 1) {
		fprintf(stderr, "maillage-link: no random key\n");
		return 1;
	}
	t0 = now();
	if (ident_table_read(dpath ? dpath : lpath, &lt, err, sizeof err) < 0 ||
	    (rpath && ident_table_read(rpath, &rt, err, sizeof err) < 0)) {
		fprintf(stderr, "maillage-link: %s\n", err);
		goto out;
	}
	norm = ident_norm_new(err, sizeof err);
	if (norm == NULL) {
		fprintf(stderr, "maillage-link: %s\n", err);
		goto out;
	}
	names = ident_names_builtin(norm, err, sizeof err);
	if (names == NULL ||
	    (e = ident_enc_new(key, names, err, sizeof err)) == NULL) {
		fprintf(stderr, "maillage-link: %s\n", err);
		ident_norm_free(norm);
		goto out;
	}
	ident_norm_free(norm);
	memset(key, 0, sizeof key);
	if (ident_encode_table(e, &lt, &lr, err, sizeof err) < 0 ||
	    (rpath && ident_encode_table(e, &rt, &rr, err, sizeof err) < 0)) {
		fprintf(stderr, "maillage-link: %s\n", err);
		goto out;
	}
	t1 = now();
	if (ident_link(e, lr, lt.n, rpath ? rr : NULL, rt.n, &o, &res) < 0) {
		fprintf(stderr, "maillage-link: out of memory\n");
		goto out;
	}
	printf("left_id,right_id,score%s\n", explain ? ",explanation" : "");
	for (size_t i = 0; i < res.n; i++) {
		ident_pair *p = &res.pairs[i];
		const ident_row *a = &lt.rows[p->a];
		const ident_row *b = rpath ? &rt.rows[p->b] : &lt.rows[p->b];
		put_csv(stdout, a->id);
		putchar(',');
		put_csv(stdout, b->id);
		printf(",%.2f", p->score);
		if (explain) {
			char ex[1024];
			ident_name na[2], nb[2];
			names_of(ident_enc_norm(e), a, na);
			names_of(ident_enc_norm(e), b, nb);
			int len = ident_explain(&res.model, res.tf, &p->cmp, na,
						nb, ex, sizeof ex);
			if (len < 0 || (size_t)len >= sizeof ex)
				len = (int)strlen(ex);
			if (p->compete >= 0.05f)
				len += snprintf(ex + len,
						sizeof ex - (size_t)len,
						"; other likely candidates of "
						"these rows %+.1f",
						-(double)p->compete);
			if (p->via && (size_t)len < sizeof ex)
				snprintf(ex + len, sizeof ex - (size_t)len,
					 "; proposed through %s (same "
					 "person as both), with the score of "
					 "the weaker link",
					 lt.rows[p->via - 1].id);
			putchar(',');
			put_csv(stdout, ex);
		}
		putchar('\n');
	}
	if (stats) {
		fprintf(stderr,
			"maillage-link: %zu x %zu records, %zu candidate "
			"pairs, %zu proposed; read+encode %.3f s, match "
			"%.3f s, total %.3f s\n",
			lt.n, rpath ? rt.n : lt.n, res.candidates, res.n,
			t1 - t0, res.seconds_match, now() - t0);
		ident_model_print(&res.model, stderr);
	}
	ident_link_result_free(&res);
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	free(lr);
	free(rr);
	ident_enc_free(e);
	ident_table_free(&lt);
	ident_table_free(&rt);
	return rc;
}
