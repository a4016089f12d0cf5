/*
 * fuzz_ident_norm: the identity normaliser of ident/ (norm.c and the name
 * helpers built on it). The first input byte chooses an output size, the
 * rest is a name as a partner typed it (any bytes, any script). Checked:
 *   - ident_norm_text: -1, or a NUL-terminated string of its return length,
 *     shorter than the output buffer (allocated to exactly that size), of
 *     [a-z0-9] words separated by single spaces (none leading or trailing);
 *     the same answer twice (the second from the cache), and the same text
 *     into a buffer of its size plus two (a trailing separator is written
 *     before it is trimmed); a buffer of its length only must fail;
 *   - ident_name_parse: -1, or at most IDENT_NAME_TOKENS tokens, each a
 *     non-empty [a-z0-9] string NUL-terminated inside its array;
 *   - ident_phonetic of every token, with a nationality taken from the
 *     input: a NUL-terminated key of its return length;
 *   - ident_date_parse of the input as text: on success a real date (or a
 *     partial one) with its year in 1900..2100.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ident.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr,                                        \
				"fuzz_ident_norm: %s:%d: check failed: %s\n",  \
				__FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

/* Largest output buffer tried (covers IDENT_NAME_INPUT_MAX inputs). */
#define FUZZ_OUT_MAX 1024

static ident_norm *fuzz_norm(void)
{
	static ident_norm *n;

	if (n == NULL) {
		char err[256];

		n = ident_norm_new(err, sizeof(err));
		if (n == NULL) {
			fprintf(stderr, "fuzz_ident_norm: %s\n", err);
			abort();
		}
	}
	return n;
}

/* Lower-case ASCII words separated by single spaces, nothing around. */
static void fuzz_check_words(const char *s, size_t len)
{
	size_t i;

	FUZZ_CHECK(strlen(s) == len);
	if (len == 0)
		return;
	FUZZ_CHECK(s[0] != ' ' && s[len - 1] != ' ');
	for (i = 0; i < len; i++) {
		char c = s[i];

		FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			   c == ' ');
		if (c == ' ')
			FUZZ_CHECK(s[i + 1] != ' ');
	}
}

/* ident_norm_text into a heap buffer of exactly `outlen` bytes. */
static int fuzz_norm_text(const char *s, size_t len, size_t outlen, char *copy,
			  unsigned *scripts)
{
	char *out = malloc(outlen);
	int r;

	FUZZ_CHECK(out != NULL);
	r = ident_norm_text(fuzz_norm(), s, len, out, outlen, scripts);
	if (r >= 0) {
		FUZZ_CHECK((size_t)r < outlen);
		fuzz_check_words(out, (size_t)r);
		if (copy != NULL)
			memcpy(copy, out, (size_t)r + 1);
	}
	free(out);
	return r;
}

static void fuzz_text(const char *s, size_t len, size_t outlen)
{
	static char first[FUZZ_OUT_MAX], again[FUZZ_OUT_MAX];
	unsigned sc1 = 0, sc2 = 0;
	int r1, r2;

	r1 = fuzz_norm_text(s, len, outlen, first, &sc1);
	r2 = fuzz_norm_text(s, len, outlen, again, &sc2);
	FUZZ_CHECK(r1 == r2);
	if (r1 < 0)
		return;
	FUZZ_CHECK(memcmp(first, again, (size_t)r1 + 1) == 0);
	FUZZ_CHECK(sc1 == sc2);
	FUZZ_CHECK((sc1 & ~(unsigned)(IDENT_TOK_ARABIC | IDENT_TOK_CYRILLIC |
				      IDENT_TOK_OTHER)) == 0);
	/* the room it needs (and a trailing separator), then too little */
	r2 = fuzz_norm_text(s, len, (size_t)r1 + 2, again, NULL);
	FUZZ_CHECK(r2 == r1);
	FUZZ_CHECK(memcmp(first, again, (size_t)r1 + 1) == 0);
	if (r1 > 0)
		FUZZ_CHECK(fuzz_norm_text(s, len, (size_t)r1, NULL, NULL) ==
			   -1);
}

static void fuzz_token(const ident_token *t)
{
	size_t len, i;

	FUZZ_CHECK(memchr(t->s, '\0', sizeof(t->s)) != NULL);
	len = strlen(t->s);
	FUZZ_CHECK(len > 0);
	for (i = 0; i < len; i++)
		FUZZ_CHECK((t->s[i] >= 'a' && t->s[i] <= 'z') ||
			   (t->s[i] >= '0' && t->s[i] <= '9'));
}

static void fuzz_phonetic(const ident_token *t, const char *nat)
{
	char key[64];
	int r;

	memset(key, 'x', sizeof(key));
	r = ident_phonetic(t, nat, key, sizeof(key));
	FUZZ_CHECK(r >= 0 && (size_t)r < sizeof(key));
	FUZZ_CHECK(key[r] == '\0' && strlen(key) == (size_t)r);
}

static void fuzz_name(const char *s, size_t len, const char *nat)
{
	ident_name name;
	int r, i;

	memset(&name, 0xa5, sizeof(name));
	r = ident_name_parse(fuzz_norm(), s, len, &name);
	if (r < 0)
		return;
	FUZZ_CHECK(r <= IDENT_NAME_TOKENS);
	FUZZ_CHECK(name.n == r);
	for (i = 0; i < r; i++) {
		fuzz_token(&name.t[i]);
		fuzz_phonetic(&name.t[i], nat);
		fuzz_phonetic(&name.t[i], NULL);
	}
}

static int fuzz_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static void fuzz_date(const char *s, size_t len)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30,
				      31, 31, 30, 31, 30, 31};
	char *z = malloc(len + 1);
	ident_date d;

	FUZZ_CHECK(z != NULL);
	memcpy(z, s, len);
	z[len] = '\0';
	memset(&d, 0xa5, sizeof(d));
	if (ident_date_parse(z, &d) == 0 && d.year != 0) {
		FUZZ_CHECK(d.year >= 1900 && d.year <= 2100);
		FUZZ_CHECK(d.month <= 12);
		FUZZ_CHECK(d.day == 0 || d.month != 0);
		if (d.day != 0)
			FUZZ_CHECK(d.day <=
				   mdays[d.month - 1] +
					   (d.month == 2 && fuzz_leap(d.year)));
	}
	free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 1;
	size_t len, outlen;
	char nat[3];

	if (size == 0)
		return 0;
	len = size - 1;
	outlen = 1 + (size_t)data[0] * 4; /* 1..1021 */
	fuzz_text(s, len, outlen);
	/* a nationality from the input's first letters, upper-cased */
	nat[0] = (char)('A' + data[0] % 26);
	nat[1] = (char)('A' + (data[0] / 26) % 26);
	nat[2] = '\0';
	fuzz_name(s, len, nat);
	fuzz_date(s, len);
	return 0;
}
