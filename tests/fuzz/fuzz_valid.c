/*
 * fuzz_valid: the syntactic checks of client values (valid.h). The input,
 * cut at its first NUL, is given to every valid_* function; the UTF-8 and
 * date checks are compared with independent reference implementations
 * written here (a code-point decoder; timegm() for calendar dates), and
 * valid_array_literal() gets the input's lines that pass valid_code() and
 * an output buffer of a size taken from the input, allocated to exactly
 * that size so that a sanitizer sees one byte written too many; a literal
 * it builds must parse back to the same values.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "valid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr,                                        \
				"fuzz_valid: %s:%d: check failed: %s\n",       \
				__FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

/*
 * Reference for valid_text(): decode code points the long way (lead byte
 * gives the length, continuation bits are accumulated, then the value is
 * judged: not overlong, not a surrogate, at most U+10FFFF), and refuse C0
 * and C1 controls and DEL except tab, LF and CR when multiline.
 */
static int ref_text(const unsigned char *s, size_t len, size_t max,
		    int multiline)
{
	size_t i = 0, n, k;
	uint32_t cp, minimum;

	if (len > max)
		return 0;
	while (i < len) {
		unsigned char c = s[i];
		if (c < 0x80) {
			n = 1;
			cp = c;
			minimum = 0;
		} else if ((c & 0xe0) == 0xc0) {
			n = 2;
			cp = c & 0x1f;
			minimum = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 3;
			cp = c & 0x0f;
			minimum = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 4;
			cp = c & 0x07;
			minimum = 0x10000;
		} else {
			return 0;
		}
		if (len - i < n)
			return 0;
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < minimum || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
			if (!(multiline &&
			      (cp == '\t' || cp == '\n' || cp == '\r')))
				return 0;
		}
		i += n;
	}
	return 1;
}

static int ref_digits(const char *s, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + s[i] - '0';
	}
	return v;
}

/* Reference for valid_date(): timegm() must not normalise the date away. */
static int ref_date(const char *s)
{
	struct tm tm, out;
	time_t t;
	int y, m, d;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	y = ref_digits(s, 4);
	m = ref_digits(s + 5, 2);
	d = ref_digits(s + 8, 2);
	if (y < 1900 || y > 2100 || m < 1 || d < 1)
		return 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = 12;
	t = timegm(&tm);
	if (gmtime_r(&t, &out) == NULL)
		return 0;
	return out.tm_year == y - 1900 && out.tm_mon == m - 1 &&
	       out.tm_mday == d;
}

static int ref_partial_date(const char *s)
{
	size_t len = strlen(s);
	char buf[11];

	if (len == 4)
		return ref_digits(s, 4) >= 1900 && ref_digits(s, 4) <= 2100;
	if (len == 7) {
		memcpy(buf, s, 7);
		memcpy(buf + 7, "-01", 4);
		return ref_date(buf);
	}
	return ref_date(s);
}

/* Split the text on LF into at most 64 values that pass valid_code(). */
static size_t fuzz_codes(char *text, const char **vals, size_t cap)
{
	size_t n = 0;
	char *line = text, *nl;

	while (line != NULL && n < cap) {
		nl = strchr(line, '\n');
		if (nl != NULL)
			*nl = '\0';
		if (valid_code(line, 64))
			vals[n++] = line;
		line = nl != NULL ? nl + 1 : NULL;
	}
	return n;
}

static void fuzz_array_literal(char *text, size_t outlen)
{
	const char *vals[64];
	size_t n = fuzz_codes(text, vals, 64), i, need = 2;
	char *out = malloc(outlen > 0 ? outlen : 1);
	const char *p;

	if (out == NULL)
		return;
	for (i = 0; i < n; i++)
		need += strlen(vals[i]) + 2 + (i > 0);
	if (valid_array_literal(vals, n, out, outlen) == 0) {
		/* Fits with its NUL; parses back to the same values. */
		FUZZ_CHECK(need + 1 <= outlen);
		FUZZ_CHECK(strlen(out) == need);
		p = out;
		FUZZ_CHECK(*p++ == '{');
		for (i = 0; i < n; i++) {
			size_t len = strlen(vals[i]);
			if (i > 0)
				FUZZ_CHECK(*p++ == ',');
			FUZZ_CHECK(*p++ == '"');
			FUZZ_CHECK(strncmp(p, vals[i], len) == 0);
			p += len;
			FUZZ_CHECK(*p++ == '"');
		}
		FUZZ_CHECK(p[0] == '}' && p[1] == '\0');
	} else {
		FUZZ_CHECK(need + 1 > outlen);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	size_t len, max;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	len = strlen(s);

	FUZZ_CHECK(valid_text(s, SIZE_MAX, 1) ==
		   ref_text((const unsigned char *)s, len, SIZE_MAX, 1));
	FUZZ_CHECK(valid_text(s, SIZE_MAX, 0) ==
		   ref_text((const unsigned char *)s, len, SIZE_MAX, 0));
	max = size > 0 ? data[0] : 0;
	FUZZ_CHECK(valid_text(s, max, 1) ==
		   ref_text((const unsigned char *)s, len, max, 1));
	FUZZ_CHECK(valid_text(NULL, 0, 0) == 1);

	FUZZ_CHECK(valid_date(s) == ref_date(s));
	FUZZ_CHECK(valid_partial_date(s) == ref_partial_date(s));
	if (valid_date(s))
		FUZZ_CHECK(valid_instant(s));
	if (valid_instant(s)) {
		/* A date, or a date-time: it starts with a real date. */
		char day[11];
		FUZZ_CHECK(len >= 10);
		memcpy(day, s, 10);
		day[10] = '\0';
		FUZZ_CHECK(ref_date(day));
	}
	(void)valid_code(s, max);
	(void)valid_indicator_code(s);
	(void)valid_institution_code(s);
	(void)valid_idempotency_key(s);
	(void)valid_country(s);
	(void)valid_language(s);
	FUZZ_CHECK(valid_code(NULL, 10) == 0 && valid_date(NULL) == 0 &&
		   valid_instant(NULL) == 0);

	/* Output sizes from 0 to 1023, taken from the second and third bytes.
	 */
	fuzz_array_literal(s, size > 2 ? ((size_t)data[1] << 8 | data[2]) % 1024
				       : 0);
	free(s);
	return 0;
}
