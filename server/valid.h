/*
 * valid: syntactic checks of what clients send, shared by the request
 * handlers. This module owns the rules for the shape of a value (UTF-8
 * well-formedness without control characters, lengths in bytes, reference
 * codes, calendar dates and partial birth dates, instants, ISO country and
 * language codes, idempotency keys) and the building of a PostgreSQL array
 * literal from values that have passed a code check. Pure functions: no
 * I/O, no allocation.
 */
#ifndef MAILLAGE_VALID_H
#define MAILLAGE_VALID_H

#include <stddef.h>

/*
 * Well-formed UTF-8 (no overlong forms, no surrogates, nothing above
 * U+10FFFF), at most `max` bytes, and no control character other than
 * (when `multiline`) tab, LF and CR. NULL is valid (empty).
 */
int valid_text(const char *s, size_t max, int multiline);

/* A reference code: 1..`max` bytes of [a-z0-9_] (lower) */
int valid_code(const char *s, size_t max);
/* An indicator code: [A-Z][A-Z0-9_]{1,39} */
int valid_indicator_code(const char *s);
/* An institution code: [a-z0-9_-]{2,32} */
int valid_institution_code(const char *s);
/* An idempotency key: 1..128 bytes of [A-Za-z0-9._:-] */
int valid_idempotency_key(const char *s);

/* A real calendar date YYYY-MM-DD (years 1900..2100). */
int valid_date(const char *s);
/* YYYY, YYYY-MM or YYYY-MM-DD, each part real (years 1900..2100). */
int valid_partial_date(const char *s);
/* YYYY-MM-DD or RFC 3339 YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM). */
int valid_instant(const char *s);
/* ISO 3166-1 alpha-2 shape: two upper-case letters. */
int valid_country(const char *s);
/* ISO 639-1/-3 shape: two or three lower-case letters. */
int valid_language(const char *s);

/*
 * Write the PostgreSQL array literal {"a","b","c"} of `n` values that each
 * passed a code check (no quote or backslash inside) into `out`; quoting
 * keeps a code spelled NULL a string. 0, or -1 if it does not fit.
 */
int valid_array_literal(const char *const *vals, size_t n, char *out,
			size_t outlen);

#endif
