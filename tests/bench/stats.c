/*
 * stats: clocks, latency samples and quantiles, CPU and memory readings of
 * the measured processes (from /proc); see bench.h.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

int64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void bench_log(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "maillage-bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void bench_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "maillage-bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* ---- samples -------------------------------------------------------- */

void samples_add(struct bench_samples *s, double ms)
{
	if (s->n == s->cap) {
		size_t cap = s->cap == 0 ? 4096 : s->cap * 2;
		double *v = realloc(s->v, cap * sizeof(*v));
		if (v == NULL)
			bench_die("out of memory for samples");
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = ms;
}

static int samples_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest value with at least q of the samples <= it. */
double samples_quantile(struct bench_samples *s, double q)
{
	size_t rank;

	if (s->n == 0)
		return 0;
	qsort(s->v, s->n, sizeof(*s->v), samples_cmp);
	rank = (size_t)(q * (double)s->n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > s->n)
		rank = s->n;
	return s->v[rank - 1];
}

double samples_max(const struct bench_samples *s)
{
	double m = 0;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->v[i] > m)
			m = s->v[i];
	return m;
}

void samples_free(struct bench_samples *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* ---- /proc ------------------------------------------------------------ */

/* CPU time of every thread of `pid` from schedstat (nanoseconds), or -1. */
static double proc_sched_s(pid_t pid)
{
	char path[96];
	struct dirent *d;
	unsigned long long ns, sum = 0;
	DIR *dir;
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (dir == NULL)
		return -1;
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.20s/schedstat",
			 (int)pid, d->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		if (fscanf(f, "%llu", &ns) == 1) {
			sum += ns;
			n++;
		}
		fclose(f);
	}
	closedir(dir);
	return n > 0 ? (double)sum / 1e9 : -1;
}

static double proc_cpu_s(pid_t pid)
{
	char path[64], buf[2048], *p;
	unsigned long long ut = 0, st = 0;
	double sched;
	FILE *f;
	size_t n;

	if (pid <= 0)
		return 0;
	/* Nanoseconds where the kernel keeps them; clock ticks otherwise. */
	sched = proc_sched_s(pid);
	if (sched >= 0)
		return sched;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after the command name, which may hold spaces. */
	p = strrchr(buf, ')');
	if (p == NULL ||
	    sscanf(p + 2,
		   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
		   &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double machine_busy_s(void)
{
	unsigned long long v[10] = {0};
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (f == NULL)
		return 0;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
		   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n < 8)
		return 0;
	/* user nice system [idle] [iowait] irq softirq steal */
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) /
	       (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* cutime + cstime: the CPU of the children a process has waited for. */
static double proc_children_s(pid_t pid)
{
	char path[64], buf[2048], *p;
	long long cut = 0, cst = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (p == NULL ||
	    sscanf(p + 2,
		   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %lld "
		   "%lld",
		   &cut, &cst) != 2)
		return 0;
	return (double)(cut + cst) / (double)sysconf(_SC_CLK_TCK);
}

/* The postmaster and its children (backends, background processes). */
static double pg_cpu_s(pid_t postmaster)
{
	char path[64], buf[512], *p;
	struct dirent *d;
	double sum;
	DIR *dir;
	FILE *f;
	size_t n;
	int ppid;

	if (postmaster <= 0)
		return 0;
	/* Its own time, and that of the children it has reaped. */
	sum = proc_cpu_s(postmaster) + proc_children_s(postmaster);
	dir = opendir("/proc");
	if (dir == NULL)
		return sum;
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/stat", d->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		p = strrchr(buf, ')');
		if (p != NULL && sscanf(p + 2, "%*c %d", &ppid) == 1 &&
		    ppid == (int)postmaster)
			sum += proc_cpu_s((pid_t)atoi(d->d_name));
	}
	closedir(dir);
	return sum;
}

void cpu_mark(struct bench_cpu *c)
{
	c->server_s = proc_cpu_s(opts.server_pid);
	c->pg_s = pg_cpu_s(opts.pg_pid);
	c->self_s = self_cpu_s();
	c->machine_s = machine_busy_s();
	c->wall_s = (double)bench_now_ns() / 1e9;
}

void cpu_since(const struct bench_cpu *start, struct bench_cpu *delta)
{
	struct bench_cpu now;

	cpu_mark(&now);
	delta->server_s = now.server_s - start->server_s;
	delta->pg_s = now.pg_s - start->pg_s;
	delta->self_s = now.self_s - start->self_s;
	delta->machine_s = now.machine_s - start->machine_s;
	delta->wall_s = now.wall_s - start->wall_s;
}

long proc_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kib = strtol(line + 6, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kib;
}

void samples_print(struct bench_samples *s, const char *prefix)
{
	printf(" %sp50_ms=%.3f %sp99_ms=%.3f %sp999_ms=%.3f %smax_ms=%.3f",
	       prefix, samples_quantile(s, 0.50), prefix,
	       samples_quantile(s, 0.99), prefix, samples_quantile(s, 0.999),
	       prefix, samples_max(s));
}

void cpu_print(const struct bench_cpu *d, double ops)
{
	double other = d->machine_s - d->server_s - d->pg_s - d->self_s;
	double w = d->wall_s > 0 ? 100.0 / d->wall_s : 0;

	if (ops <= 0)
		ops = 1;
	if (other < 0)
		other = 0;
	printf(" server_cpu_us=%.1f pg_cpu_us=%.1f gen_cpu_us=%.1f "
	       "other_cpu_us=%.1f server_cpu_pct=%.1f pg_cpu_pct=%.1f "
	       "gen_cpu_pct=%.1f other_cpu_pct=%.1f",
	       d->server_s * 1e6 / ops, d->pg_s * 1e6 / ops,
	       d->self_s * 1e6 / ops, other * 1e6 / ops, d->server_s * w,
	       d->pg_s * w, d->self_s * w, other * w);
}

const char *result_word(const char *s)
{
	static char buf[256];
	size_t i;

	if (s == NULL || s[0] == '\0')
		return "-";
	for (i = 0; s[i] != '\0' && i + 1 < sizeof(buf); i++)
		buf[i] = (s[i] == ' ' || s[i] == '=' || s[i] == '\t' ||
			  s[i] == '\n')
				 ? '_'
				 : s[i];
	buf[i] = '\0';
	return buf;
}

void spread_print(const double *first, const double *last, int n)
{
	struct bench_samples f = {0}, d = {0};
	int k;

	for (k = 0; k < n; k++) {
		if (first[k] < 0)
			continue;
		samples_add(&f, first[k]);
		samples_add(&d, last[k] - first[k]);
	}
	printf(" first_p50_ms=%.3f spread_p50_ms=%.3f",
	       samples_quantile(&f, 0.5), samples_quantile(&d, 0.5));
	samples_free(&f);
	samples_free(&d);
}
