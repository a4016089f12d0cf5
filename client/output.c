/*
 * output: text and JSON output, error printing, escaping of server strings;
 * see output.h for what this module owns.
 */
#include "output.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <locale.h>
#include <time.h>
#include <unistd.h>

/* Length of the valid UTF-8 sequence at s, or 0 when it is not valid. */
static size_t output_utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n, i;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0; /* also stops at the NUL */
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * Append the escaped form of `s` to `out` (capacity `size`, NUL included);
 * returns the length the full escape needs, like snprintf.
 */
static size_t output_escape(char *out, size_t size, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	size_t len = 0, used = 0;
	int full = 0;

	while (*p != '\0') {
		char tmp[8];
		const char *piece = tmp;
		size_t n, plen;

		n = output_utf8_len(p);
		if (n == 0) {
			snprintf(tmp, sizeof(tmp), "\\x%02x", *p);
			n = 1;
		} else if (n == 1 && (*p < 0x20 || *p == 0x7f)) {
			if (*p == '\n')
				piece = "\\n";
			else if (*p == '\t')
				piece = "\\t";
			else if (*p == '\r')
				piece = "\\r";
			else
				snprintf(tmp, sizeof(tmp), "\\x%02x", *p);
		} else if (n == 1 && *p == '\\') {
			piece = "\\\\";
		} else if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0) {
			/* U+0080..U+009F: C1 controls (CSI is U+009B) */
			snprintf(tmp, sizeof(tmp), "\\u%04x",
				 (unsigned)(p[1] & 0x3f) | 0x80u);
		} else {
			memcpy(tmp, p, n);
			tmp[n] = '\0';
		}
		plen = strlen(piece);
		if (out != NULL && !full && used + plen < size) {
			memcpy(out + used, piece, plen);
			used += plen;
		} else {
			full = 1; /* keep whole pieces only */
		}
		len += plen;
		p += n;
	}
	if (out != NULL && size > 0)
		out[used] = '\0';
	return len;
}

char *output_sanitize(const char *s)
{
	size_t n = output_escape(NULL, 0, s);
	char *out = malloc(n + 1);

	if (out != NULL)
		output_escape(out, n + 1, s);
	return out;
}

const char *output_clean(char *buf, size_t size, const char *s)
{
	size_t n;

	if (size == 0)
		return "";
	n = output_escape(buf, size, s);
	if (n >= size && size > 4) {
		/* Make room for "...", not inside a UTF-8 sequence. */
		size_t end = strlen(buf);

		if (end > size - 4)
			end = size - 4;

		while (end > 0 && ((unsigned char)buf[end] & 0xc0) == 0x80)
			end--;
		memcpy(buf + end, "...", 4);
	}
	return buf;
}

void output_field(const char *label, const char *value)
{
	char *v = output_sanitize(value);

	/* TRANSLATORS: a label and its value ("status: open"). */
	printf(_("%s: %s\n"), label, v != NULL ? v : _("(out of memory)"));
	free(v);
}

json_t *output_jstr(const char *s)
{
	const unsigned char *p;
	json_t *j;
	char *copy, *q;

	if (s == NULL)
		s = "";
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0)
			break;
	if (*p == '\0' && (j = json_string(s)) != NULL)
		return j;
	/*
	 * Invalid UTF-8 or C1 controls (which jansson would pass through
	 * raw): replace each bad byte or control by U+FFFD (3 bytes).
	 */
	copy = malloc(strlen(s) * 3 + 1);
	if (copy == NULL)
		return NULL;
	for (p = (const unsigned char *)s, q = copy; *p != '\0';) {
		size_t n = output_utf8_len(p);

		if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0) {
			memcpy(q, "\xef\xbf\xbd", 3);
			q += 3;
			p += 2;
		} else if (n == 0) {
			memcpy(q, "\xef\xbf\xbd", 3);
			q += 3;
			p++;
		} else {
			memcpy(q, p, n);
			q += n;
			p += n;
		}
	}
	*q = '\0';
	j = json_string(copy);
	free(copy);
	return j;
}

json_t *output_jtime(const char *rendered)
{
	if (rendered == NULL || strcmp(rendered, "invalid") == 0 ||
	    rendered[0] == '\0')
		return json_null();
	return json_string(rendered);
}

/* Set once standard output fails: 1 reader gone (EPIPE), 2 write error. */
static int output_stdout_state;

int output_flush(void)
{
	int failed, e;

	if (output_stdout_state != 0) {
		clearerr(stdout);
		return output_stdout_state == 1 ? MAILLAGE_EXIT_OK
						: MAILLAGE_EXIT_UNAVAILABLE;
	}
	errno = 0;
	failed = fflush(stdout) != 0 || ferror(stdout);
	e = errno;
	if (!failed)
		return MAILLAGE_EXIT_OK;
	clearerr(stdout);
	if (e == EPIPE) {
		/* A reader that went away (`| head`) is no error. */
		output_stdout_state = 1;
		return MAILLAGE_EXIT_OK;
	}
	output_stdout_state = 2;
	fprintf(stderr, _("maillage: cannot write output%s%s\n"),
		e != 0 ? ": " : "", e != 0 ? strerror(e) : "");
	return MAILLAGE_EXIT_UNAVAILABLE;
}

int output_closed(void)
{
	return output_stdout_state != 0;
}

int output_json(json_t *doc)
{
	int rc;

	if (doc == NULL) {
		output_warnx(_("out of memory building the JSON output"));
		return MAILLAGE_EXIT_UNAVAILABLE;
	}
	rc = json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
	json_decref(doc);
	if (rc == 0)
		fputc('\n', stdout);
	return output_flush();
}

int output_error(const struct cerr *err)
{
	char *msg = output_sanitize(err->message);
	const char *m = msg != NULL ? msg : _("(out of memory)");

	fflush(stdout);
	if (err->kind == CERR_SERVER) {
		char *field = output_sanitize(err->field);

		/* The code's meaning in the user's language, then the
		 * server's own words (English) when it gave any. */
		if (m[0] == '\0')
			fprintf(stderr, "maillage: %s [%s",
				i18n_error_code(err->code),
				cerr_code_name(err->code));
		else
			fprintf(stderr, "maillage: %s: %s [%s",
				i18n_error_code(err->code), m,
				cerr_code_name(err->code));
		if (field != NULL && field[0] != '\0')
			fprintf(stderr, _(", field %s"), field);
		fputs("]\n", stderr);
		free(field);
	} else {
		fprintf(stderr, "maillage: %s\n", m);
	}
	free(msg);
	return cerr_exit_code(err);
}

void output_warnx(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("maillage: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char *output_format_time(char buf[OUTPUT_TIME_MAX], int64_t secs,
				      int frac_ms, int with_ms)
{
	/* 0001-01-01 .. 9999-12-31, in seconds since the epoch */
	const int64_t lo = -62135596800LL, hi = 253402300799LL;
	struct tm tm;
	time_t t;
	size_t n;

	if (secs < lo || secs > hi) {
		snprintf(buf, OUTPUT_TIME_MAX, "invalid");
		return buf;
	}
	t = (time_t)secs;
	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(buf, OUTPUT_TIME_MAX, "invalid");
		return buf;
	}
	if (strftime(buf, OUTPUT_TIME_MAX, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(buf, OUTPUT_TIME_MAX, "invalid");
		return buf;
	}
	n = strlen(buf);
	if (with_ms)
		snprintf(buf + n, OUTPUT_TIME_MAX - n, ".%03dZ", frac_ms);
	else
		snprintf(buf + n, OUTPUT_TIME_MAX - n, "Z");
	return buf;
}

const char *output_time_ms(char buf[OUTPUT_TIME_MAX], int64_t ms)
{
	int64_t secs = ms / 1000, frac = ms % 1000;

	if (frac < 0) {
		frac += 1000;
		secs--;
	}
	return output_format_time(buf, secs, (int)frac, 1);
}

const char *output_time_secs(char buf[OUTPUT_TIME_MAX], int64_t secs)
{
	return output_format_time(buf, secs, 0, 0);
}

const char *output_role(int role)
{
	switch (role) {
	case MAILLAGE__ROLE__PARTNER:
		return "partner";
	case MAILLAGE__ROLE__COORDINATOR:
		return "coordinator";
	case MAILLAGE__ROLE__AUDITOR:
		return "auditor";
	case MAILLAGE__ROLE__ADMIN:
		return "admin";
	default:
		return "unknown";
	}
}

const char *output_date(char buf[OUTPUT_DATE_MAX], const char *rfc3339)
{
	const char *loc = setlocale(LC_TIME, NULL);
	struct tm tm, local;
	time_t t;
	const char *rest;
	int used = 0;

	output_clean(buf, OUTPUT_DATE_MAX, rfc3339);
	if (rfc3339 == NULL || loc == NULL || strcmp(loc, "C") == 0 ||
	    strcmp(loc, "POSIX") == 0 || strncmp(loc, "C.", 2) == 0)
		return buf;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(rfc3339, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year,
		   &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
		   &used) != 6 ||
	    used != 19)
		return buf;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	rest = rfc3339 + used;
	if (*rest == '.') {
		rest++;
		while (*rest >= '0' && *rest <= '9')
			rest++;
	}
	if (strcmp(rest, "Z") != 0 && strcmp(rest, "+00:00") != 0)
		return buf;
	t = timegm(&tm);
	if (t == (time_t)-1 || localtime_r(&t, &local) == NULL)
		return buf;
		/* %x %X: the locale's date and time, without a weekday. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-y2k"
	if (strftime(buf, OUTPUT_DATE_MAX, "%x %X", &local) == 0)
#pragma GCC diagnostic pop
		output_clean(buf, OUTPUT_DATE_MAX, rfc3339);
	return buf;
}

int output_color(void)
{
	static int cached = -1;
	const char *no = getenv("NO_COLOR"), *term = getenv("TERM");

	if (cached < 0)
		cached = isatty(STDOUT_FILENO) &&
			 (no == NULL || no[0] == '\0') && term != NULL &&
			 strcmp(term, "dumb") != 0;
	return cached;
}

const char *output_sgr(enum output_style style)
{
	if (!output_color())
		return "";
	switch (style) {
	case OUTPUT_BOLD:
		return "\033[1m";
	case OUTPUT_URGENT:
		return "\033[1;31m";
	case OUTPUT_DIM:
		return "\033[2m";
	case OUTPUT_RESET:
	default:
		return "\033[0m";
	}
}
