/*
 * valid: syntactic checks of client values; see valid.h.
 */
#include "valid.h"

#include <stdint.h>
#include <string.h>

/* Length of the UTF-8 sequence at s (well-formed, RFC 3629), or 0. */
static size_t valid_utf8_seq(const unsigned char *s, size_t left)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return left >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80;
		unsigned char hi = c == 0xed ? 0x9f : 0xbf;
		if (left < 3 || s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80)
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80;
		unsigned char hi = c == 0xf4 ? 0x8f : 0xbf;
		if (left < 4 || s[1] < lo || s[1] > hi ||
		    (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		return 4;
	}
	return 0;
}

static int valid_control_ok(unsigned char c, int multiline)
{
	if (c >= 0x20 && c != 0x7f)
		return 1;
	return multiline && (c == '\t' || c == '\n' || c == '\r');
}

int valid_text(const char *s, size_t max, int multiline)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len, i = 0, n;

	if (s == NULL)
		return 1;
	len = strlen(s);
	if (len > max)
		return 0;
	while (i < len) {
		n = valid_utf8_seq(p + i, len - i);
		if (n == 0)
			return 0;
		if (n == 1 && !valid_control_ok(p[i], multiline))
			return 0;
		/* C1 controls U+0080..U+009F. */
		if (n == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0)
			return 0;
		i += n;
	}
	return 1;
}

static int valid_charset(const char *s, size_t min, size_t max,
			 const char *extra, int lower, int upper, int digit)
{
	size_t len, i;

	if (s == NULL)
		return 0;
	len = strlen(s);
	if (len < min || len > max)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];
		if (lower && c >= 'a' && c <= 'z')
			continue;
		if (upper && c >= 'A' && c <= 'Z')
			continue;
		if (digit && c >= '0' && c <= '9')
			continue;
		if (c != '\0' && strchr(extra, c) != NULL)
			continue;
		return 0;
	}
	return 1;
}

int valid_code(const char *s, size_t max)
{
	return valid_charset(s, 1, max, "_", 1, 0, 1);
}

int valid_indicator_code(const char *s)
{
	return valid_charset(s, 2, 40, "_", 0, 1, 1) && s[0] >= 'A' &&
	       s[0] <= 'Z';
}

int valid_institution_code(const char *s)
{
	return valid_charset(s, 2, 32, "_-", 1, 0, 1);
}

int valid_idempotency_key(const char *s)
{
	return valid_charset(s, 1, 128, "._:-", 1, 1, 1);
}

/* Parse exactly `n` digits at s; -1 if they are not all digits. */
static int valid_digits(const char *s, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int valid_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int valid_days_in(int y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30,
				     31, 31, 30, 31, 30, 31};

	return m == 2 && valid_leap(y) ? 29 : days[m - 1];
}

/* Year, month, day of a prefix of s with `parts` parts; 0 or -1. */
static int valid_ymd(const char *s, int parts)
{
	int y, m, d;

	y = valid_digits(s, 4);
	if (y < 1900 || y > 2100)
		return -1;
	if (parts == 1)
		return 0;
	if (s[4] != '-')
		return -1;
	m = valid_digits(s + 5, 2);
	if (m < 1 || m > 12)
		return -1;
	if (parts == 2)
		return 0;
	if (s[7] != '-')
		return -1;
	d = valid_digits(s + 8, 2);
	if (d < 1 || d > valid_days_in(y, m))
		return -1;
	return 0;
}

int valid_date(const char *s)
{
	return s != NULL && strlen(s) == 10 && valid_ymd(s, 3) == 0;
}

int valid_partial_date(const char *s)
{
	size_t len;

	if (s == NULL)
		return 0;
	len = strlen(s);
	if (len == 4)
		return valid_ymd(s, 1) == 0;
	if (len == 7)
		return valid_ymd(s, 2) == 0;
	return len == 10 && valid_ymd(s, 3) == 0;
}

/* HH:MM (and :SS when `seconds`) at s, in range; 0 or -1. */
static int valid_hms(const char *s, int seconds)
{
	int h = valid_digits(s, 2), m, sec;

	if (h < 0 || h > 23 || s[2] != ':')
		return -1;
	m = valid_digits(s + 3, 2);
	if (m < 0 || m > 59)
		return -1;
	if (!seconds)
		return 0;
	if (s[5] != ':')
		return -1;
	sec = valid_digits(s + 6, 2);
	return sec < 0 || sec > 60 ? -1 : 0;
}

int valid_instant(const char *s)
{
	const char *p;

	if (valid_date(s))
		return 1;
	if (s == NULL || strlen(s) < 20 || valid_ymd(s, 3) != 0 ||
	    (s[10] != 'T' && s[10] != 't') || valid_hms(s + 11, 1) != 0)
		return 0;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
		return 1;
	if ((*p == '+' || *p == '-') && strlen(p) == 6)
		return valid_hms(p + 1, 0) == 0;
	return 0;
}

int valid_country(const char *s)
{
	return valid_charset(s, 2, 2, "", 0, 1, 0);
}

int valid_language(const char *s)
{
	return valid_charset(s, 2, 3, "", 1, 0, 0);
}

int valid_array_literal(const char *const *vals, size_t n, char *out,
			size_t outlen)
{
	size_t used = 0, i, len;

	if (outlen < 3)
		return -1;
	out[used++] = '{';
	for (i = 0; i < n; i++) {
		len = strlen(vals[i]);
		/* separator, quoted value, then room for "}" and the NUL */
		if (used + (i > 0) + len + 2 + 2 > outlen)
			return -1;
		if (i > 0)
			out[used++] = ',';
		/* Quoted, so that a code spelled NULL stays a string. */
		out[used++] = '"';
		memcpy(out + used, vals[i], len);
		used += len;
		out[used++] = '"';
	}
	out[used++] = '}';
	out[used] = '\0';
	return 0;
}
