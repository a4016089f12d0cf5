/*
 * csv: a bounded RFC 4180 reader and the identity table of maillage-link.
 *
 * Quoted fields may hold commas, "" and line breaks; CRLF and LF both end
 * a record; a UTF-8 byte-order mark is skipped; a record longer than the
 * bound, a NUL byte or an unterminated quote is an error that names the
 * file and line, and reading stops there (no resynchronisation guesses).
 */
#include "ident.h"

#include <ctype.h>
#include <strings.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct ident_csv {
	FILE *f;
	char *name;
	size_t max;
	char *buf; /* the fields of the current record, NUL-separated */
	size_t len;
	char **fields;
	size_t nfields;
	unsigned long line, rec_line;
	int started, eof, failed;
	char err[256];
	unsigned char in[65536];
	size_t in_pos, in_len;
};

ident_csv *ident_csv_new(FILE *f, const char *name, size_t max_record)
{
	ident_csv *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	c->f = f;
	c->name = strdup(name ? name : "-");
	c->max = max_record ? max_record : IDENT_CSV_MAX_RECORD;
	c->buf = malloc(c->max + IDENT_CSV_MAX_FIELDS + 2);
	c->fields = calloc(IDENT_CSV_MAX_FIELDS, sizeof *c->fields);
	if (c->name == NULL || c->buf == NULL || c->fields == NULL) {
		ident_csv_free(c);
		return NULL;
	}
	c->line = 1;
	return c;
}

void ident_csv_free(ident_csv *c)
{
	if (c == NULL)
		return;
	free(c->name);
	free(c->buf);
	free(c->fields);
	free(c);
}

const char *ident_csv_error(const ident_csv *c)
{
	return c->err;
}

unsigned long ident_csv_line(const ident_csv *c)
{
	return c->rec_line;
}

static int getb(ident_csv *c)
{
	if (c->in_pos == c->in_len) {
		if (c->eof)
			return EOF;
		c->in_len = fread(c->in, 1, sizeof c->in, c->f);
		c->in_pos = 0;
		if (c->in_len == 0) {
			c->eof = 1;
			return EOF;
		}
	}
	return c->in[c->in_pos++];
}

static void ungetb(ident_csv *c)
{
	c->in_pos--;
}

static int fail(ident_csv *c, unsigned long line, const char *msg)
{
	snprintf(c->err, sizeof c->err, "%s:%lu: %s", c->name, line, msg);
	c->failed = 1;
	return -1;
}

static int put(ident_csv *c, int ch)
{
	if (c->len >= c->max + c->nfields)
		return -1;
	c->buf[c->len++] = (char)ch;
	return 0;
}

static int end_field(ident_csv *c, size_t start)
{
	if (c->nfields >= IDENT_CSV_MAX_FIELDS)
		return -1;
	c->buf[c->len++] = 0;
	c->fields[c->nfields++] = c->buf + start;
	return 0;
}

int ident_csv_next(ident_csv *c, char ***fields, size_t *n)
{
	int ch;
	char msg[96];

	if (c->failed)
		return -1;
	if (!c->started) {
		c->started = 1;
		if ((ch = getb(c)) == 0xEF) {
			if (getb(c) != 0xBB || getb(c) != 0xBF)
				return fail(c, 1, "malformed byte-order mark");
		} else if (ch != EOF) {
			ungetb(c);
		}
	}
	for (;;) {
		size_t start;
		int quoted = 0, after_quote = 0, any = 0;
		c->len = 0;
		c->nfields = 0;
		c->rec_line = c->line;
		start = 0;
		for (;;) {
			ch = getb(c);
			if (ch == EOF) {
				if (quoted && !after_quote)
					return fail(
						c, c->rec_line,
						"unterminated quoted field");
				if (!any)
					return 0;
				break;
			}
			if (ch == 0)
				return fail(c, c->line, "NUL byte");
			if (quoted && !after_quote) {
				if (ch == '"') {
					int nx = getb(c);
					if (nx == '"') {
						if (put(c, '"') < 0)
							goto toolong;
						continue;
					}
					if (nx != EOF)
						ungetb(c);
					after_quote = 1;
					continue;
				}
				if (ch == '\n')
					c->line++;
				if (put(c, ch) < 0)
					goto toolong;
				continue;
			}
			if (ch == '\r') {
				int nx = getb(c);
				if (nx != '\n' && nx != EOF)
					ungetb(c);
				ch = '\n';
			}
			if (ch == '\n') {
				c->line++;
				break;
			}
			any = 1;
			if (ch == ',') {
				if (end_field(c, start) < 0)
					goto toomany;
				start = c->len;
				quoted = after_quote = 0;
				continue;
			}
			if (after_quote) {
				if (ch == ' ' || ch == '\t')
					continue;
				return fail(c, c->line,
					    "unexpected character after a "
					    "closing quote");
			}
			if (ch == '"' && c->len == start) {
				/* a quote after leading blanks opens too */
				quoted = 1;
				continue;
			}
			if (ch == '"' && !quoted) {
				int only_blanks = 1;
				for (size_t i = start; i < c->len; i++)
					if (c->buf[i] != ' ' &&
					    c->buf[i] != '\t')
						only_blanks = 0;
				if (only_blanks) {
					c->len = start;
					quoted = 1;
					continue;
				}
			}
			if (put(c, ch) < 0)
				goto toolong;
			any = 1;
		}
		if (!any && c->len == 0 && !quoted)
			continue; /* an empty line */
		if (end_field(c, start) < 0)
			goto toomany;
		*fields = c->fields;
		*n = c->nfields;
		return 1;
	}
toolong:
	snprintf(msg, sizeof msg, "record longer than %zu bytes", c->max);
	return fail(c, c->rec_line, msg);
toomany:
	snprintf(msg, sizeof msg, "more than %d fields", IDENT_CSV_MAX_FIELDS);
	return fail(c, c->rec_line, msg);
}

/* ---------------------------------------------------------------------- */
/* Dates                                                                  */
/* ---------------------------------------------------------------------- */

static int digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int month_days(int y, int m)
{
	static const int D[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return D[m - 1];
}

int ident_date_parse(const char *s, ident_date *d)
{
	size_t n = s ? strlen(s) : 0;
	int y = 0, m = 0, dd = 0;
	memset(d, 0, sizeof *d);
	if (n == 0)
		return 0;
	if (n == 10 && s[4] == '-' && s[7] == '-') {
		y = digits(s, 4);
		m = digits(s + 5, 2);
		dd = digits(s + 8, 2);
	} else if (n == 8) {
		y = digits(s, 4);
		m = digits(s + 4, 2);
		dd = digits(s + 6, 2);
	} else if (n == 7 && s[4] == '-') {
		y = digits(s, 4);
		m = digits(s + 5, 2);
	} else if (n == 6) {
		y = digits(s, 4);
		m = digits(s + 4, 2);
	} else if (n == 4) {
		y = digits(s, 4);
	} else {
		return -1;
	}
	if (y < 1900 || y > 2100 || m < 0 || dd < 0)
		return -1;
	if ((n == 10 || n == 8) &&
	    (m < 1 || m > 12 || dd < 1 || dd > month_days(y, m)))
		return -1;
	if ((n == 7 || n == 6) && (m < 1 || m > 12))
		return -1;
	d->year = (uint16_t)y;
	d->month = (uint8_t)m;
	d->day = (uint8_t)dd;
	return 0;
}

int ident_date_from_age(int age, const char *at, ident_date *d)
{
	ident_date a;
	if (age < 0 || age > 120 || ident_date_parse(at, &a) < 0 || !a.year)
		return -1;
	memset(d, 0, sizeof *d);
	/* aged `age` on that date: born in the year before or the year of */
	d->ylo = (uint16_t)(a.year - age - 1);
	d->yhi = (uint16_t)(a.year - age);
	if (a.month == 12 && a.day == 31)
		d->ylo = d->yhi;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Identity tables                                                        */
/* ---------------------------------------------------------------------- */

enum col {
	C_ID,
	C_GIVEN,
	C_FAMILY,
	C_BIRTH,
	C_SEX,
	C_NAT,
	C_AGE,
	C_AGE_AT,
	NCOLS
};

static const char *const COLS[NCOLS] = {
	"id",  "given_name",  "family_name",  "birth_date",
	"sex", "nationality", "declared_age", "declared_on"};

static char *trim(char *s)
{
	char *e;
	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = 0;
	return s;
}

static int utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned c = *p, k;
		uint32_t cp;
		if (c < 0x80) {
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
				return 0;
			p++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			k = 1;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			k = 2;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			k = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		for (unsigned j = 1; j <= k; j++) {
			if ((p[j] & 0xC0) != 0x80)
				return 0;
			cp = cp << 6 | (p[j] & 0x3F);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		p += k + 1;
	}
	return 1;
}

static int parse_sex(const char *s, uint8_t *out)
{
	static const char *const M[] = {"m",   "male", "h", "homme",
					"man", "boy",  NULL};
	static const char *const F[] = {"f",	 "female", "w", "femme",
					"woman", "girl",   NULL};
	static const char *const U[] = {"", "u", "x", "unknown", "?", NULL};
	for (int i = 0; M[i]; i++)
		if (strcasecmp(s, M[i]) == 0)
			return *out = IDENT_SEX_M, 0;
	for (int i = 0; F[i]; i++)
		if (strcasecmp(s, F[i]) == 0)
			return *out = IDENT_SEX_F, 0;
	for (int i = 0; U[i]; i++)
		if (strcasecmp(s, U[i]) == 0)
			return *out = IDENT_SEX_UNKNOWN, 0;
	return -1;
}

/* ids: a string set for the uniqueness check */
struct idset {
	char **s;
	size_t cap, n;
};

static uint64_t fnv_s(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

/* 1: added, 0: already there, -1: out of memory */
static int idset_add(struct idset *set, char *s)
{
	size_t mask;
	if ((set->n + 1) * 2 > set->cap) {
		size_t ncap = set->cap ? set->cap * 2 : 1024;
		char **ns = calloc(ncap, sizeof *ns);
		if (ns == NULL)
			return -1;
		for (size_t i = 0; i < set->cap; i++) {
			if (!set->s[i])
				continue;
			size_t j = fnv_s(set->s[i]) & (ncap - 1);
			while (ns[j])
				j = (j + 1) & (ncap - 1);
			ns[j] = set->s[i];
		}
		free(set->s);
		set->s = ns;
		set->cap = ncap;
	}
	mask = set->cap - 1;
	for (size_t i = fnv_s(s) & mask;; i = (i + 1) & mask) {
		if (set->s[i] == NULL) {
			set->s[i] = s;
			set->n++;
			return 1;
		}
		if (strcmp(set->s[i], s) == 0)
			return 0;
	}
}

static char *dup_or_null(const char *s)
{
	return *s ? strdup(s) : NULL;
}

int ident_table_read(const char *path, ident_table *t, char *err, size_t errlen)
{
	FILE *f;
	ident_csv *c;
	char **fl;
	size_t nf;
	int col[NCOLS], r, rc = -1;
	struct idset ids = {0};
	const char *name = path;

	memset(t, 0, sizeof *t);
	if (strcmp(path, "-") == 0) {
		f = stdin;
		name = "<stdin>";
	} else {
		f = fopen(path, "rb");
	}
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	t->name = strdup(name);
	c = ident_csv_new(f, name, IDENT_CSV_MAX_RECORD);
	if (c == NULL || t->name == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	r = ident_csv_next(c, &fl, &nf);
	if (r < 0) {
		snprintf(err, errlen, "%s", ident_csv_error(c));
		goto out;
	}
	if (r == 0) {
		snprintf(err, errlen, "%s:1: empty file (a header is required)",
			 name);
		goto out;
	}
	for (int k = 0; k < NCOLS; k++)
		col[k] = -1;
	for (size_t i = 0; i < nf; i++) {
		char *h = trim(fl[i]);
		for (int k = 0; k < NCOLS; k++)
			if (col[k] < 0 && strcasecmp(h, COLS[k]) == 0)
				col[k] = (int)i;
	}
	if (col[C_ID] < 0) {
		snprintf(err, errlen, "%s:%lu: the header has no id column",
			 name, ident_csv_line(c));
		goto out;
	}
	while ((r = ident_csv_next(c, &fl, &nf)) == 1) {
		unsigned long line = ident_csv_line(c);
		const char *v[NCOLS];
		ident_row row;
		memset(&row, 0, sizeof row);
		for (int k = 0; k < NCOLS; k++) {
			v[k] = col[k] >= 0 && (size_t)col[k] < nf
				       ? trim(fl[col[k]])
				       : "";
			if (!utf8_ok(v[k])) {
				snprintf(err, errlen,
					 "%s:%lu: invalid UTF-8 in column %s",
					 name, line, COLS[k]);
				goto out;
			}
		}
		if (!*v[C_ID]) {
			snprintf(err, errlen, "%s:%lu: empty id", name, line);
			goto out;
		}
		if (ident_date_parse(v[C_BIRTH], &row.birth) < 0) {
			snprintf(err, errlen,
				 "%s:%lu: bad birth_date \"%.40s\" (expected "
				 "YYYY-MM-DD, YYYYMMDD, YYYY-MM, YYYY or "
				 "empty)",
				 name, line, v[C_BIRTH]);
			goto out;
		}
		if (!row.birth.year && *v[C_AGE]) {
			char *end;
			long age = strtol(v[C_AGE], &end, 10);
			if (*end || end == v[C_AGE] ||
			    ident_date_from_age((int)age, v[C_AGE_AT],
						&row.birth) < 0) {
				snprintf(err, errlen,
					 "%s:%lu: bad declared_age/declared_on "
					 "(an age 0..120 and a date "
					 "YYYY-MM-DD)",
					 name, line);
				goto out;
			}
		}
		if (parse_sex(v[C_SEX], &row.sex) < 0) {
			snprintf(err, errlen,
				 "%s:%lu: bad sex \"%.20s\" (expected M, F or "
				 "empty)",
				 name, line, v[C_SEX]);
			goto out;
		}
		if (*v[C_NAT] && (strlen(v[C_NAT]) != 2 ||
				  !isalpha((unsigned char)v[C_NAT][0]) ||
				  !isalpha((unsigned char)v[C_NAT][1]))) {
			snprintf(err, errlen,
				 "%s:%lu: bad nationality \"%.20s\" (expected "
				 "an ISO 3166 alpha-2 code or empty)",
				 name, line, v[C_NAT]);
			goto out;
		}
		row.id = strdup(v[C_ID]);
		row.given_name = dup_or_null(v[C_GIVEN]);
		row.family_name = dup_or_null(v[C_FAMILY]);
		row.nationality = dup_or_null(v[C_NAT]);
		if (row.id == NULL) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		if (row.nationality) {
			row.nationality[0] = (char)toupper(
				(unsigned char)row.nationality[0]);
			row.nationality[1] = (char)toupper(
				(unsigned char)row.nationality[1]);
		}
		if (t->n == t->cap) {
			size_t nc = t->cap ? t->cap * 2 : 1024;
			ident_row *nr = realloc(t->rows, nc * sizeof *nr);
			if (nr == NULL) {
				snprintf(err, errlen, "out of memory");
				free(row.id);
				free(row.given_name);
				free(row.family_name);
				free(row.nationality);
				goto out;
			}
			t->rows = nr;
			t->cap = nc;
		}
		t->rows[t->n++] = row;
		switch (idset_add(&ids, row.id)) {
		case 0:
			snprintf(err, errlen, "%s:%lu: duplicate id \"%.40s\"",
				 name, line, row.id);
			goto out;
		case -1:
			snprintf(err, errlen, "out of memory");
			goto out;
		default:
			break;
		}
	}
	if (r < 0) {
		snprintf(err, errlen, "%s", ident_csv_error(c));
		goto out;
	}
	rc = 0;
out:
	free(ids.s);
	ident_csv_free(c);
	if (f != stdin)
		fclose(f);
	if (rc < 0)
		ident_table_free(t);
	return rc;
}

void ident_table_free(ident_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->rows[i].id);
		free(t->rows[i].given_name);
		free(t->rows[i].family_name);
		free(t->rows[i].nationality);
	}
	free(t->rows);
	free(t->name);
	memset(t, 0, sizeof *t);
}
