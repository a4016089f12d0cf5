/*
 * output: what `maillage` writes. This module owns the two output modes (one
 * JSON document per command on stdout through jansson, or text lines), the
 * printing of errors on stderr as "maillage: <message>", and the treatment
 * of every string that came from the server: in text it is escaped so that
 * no control character (C0, DEL, C1) or invalid UTF-8 reaches the terminal;
 * in JSON it is made valid UTF-8 and jansson escapes the rest. Also the
 * shared renderings of times and enum values.
 */
#ifndef MAILLAGE_OUTPUT_H
#define MAILLAGE_OUTPUT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cerr.h"
#include "i18n.h"

/* Size of a buffer for output_time_*(): "2026-11-28T17:00:00.123Z". */
#define OUTPUT_TIME_MAX 32

/*
 * Escape `s` for a terminal: C0 controls (newlines included), DEL, C1
 * controls and bytes that are not valid UTF-8 become \n, \t, \xNN or \u00NN;
 * backslash becomes "\\". malloc'd; NULL only when out of memory. NULL `s`
 * is taken as "".
 */
char *output_sanitize(const char *s);

/* Same into a caller's buffer, truncated with "..." when it does not fit. */
const char *output_clean(char *buf, size_t size, const char *s);

/* Print "label: value\n" on stdout, value sanitized. */
void output_field(const char *label, const char *value);

/*
 * A JSON string for a server-provided `s` (NULL taken as ""), with invalid
 * UTF-8 bytes and C1 controls replaced by U+FFFD (jansson escapes C0
 * controls itself). NULL only when out of memory.
 */
json_t *output_jstr(const char *s);

/* A time rendered by output_time_*() as a JSON string, null if invalid. */
json_t *output_jtime(const char *rendered);

/*
 * Print `doc` (reference stolen; NULL means its construction failed) as one
 * JSON document on stdout, and flush. Returns an exit code.
 */
int output_json(json_t *doc);

/*
 * Flush stdout. A write error is reported once on stderr and gives
 * MAILLAGE_EXIT_UNAVAILABLE; a reader that went away (EPIPE, as with
 * `| head`) is no error. Returns an exit code.
 */
int output_flush(void);

/* Whether stdout failed or lost its reader: a command may stop writing. */
int output_closed(void);

/*
 * Print `err` on stderr as "maillage: <message>", plus the code and field
 * of a server Error; return its exit code.
 */
int output_error(const struct cerr *err);

/* Print "maillage: <message>" on stderr (message is ours: not escaped). */
void output_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Render a Unix time as ISO 8601 UTC: in milliseconds as
 * "2026-11-28T17:00:00.123Z", in seconds as "2026-11-28T17:00:00Z". Returns
 * buf; "invalid" for a time outside years 1..9999.
 */
const char *output_time_ms(char buf[OUTPUT_TIME_MAX], int64_t ms);
const char *output_time_secs(char buf[OUTPUT_TIME_MAX], int64_t secs);

/* Size of a buffer for output_date(). */
#define OUTPUT_DATE_MAX 64
/*
 * A time the server sent as RFC 3339 UTC ("2026-11-28T14:03:07Z", with or
 * without fraction), for a human: in the C or POSIX locale it stays as it
 * is; in another, it is shown in local time in that locale's format
 * (strftime %x %X: "28/11/2026 15:03:07" in French). Anything else (a date
 * alone, an invalid time) is copied unchanged, cleaned for the terminal.
 * Returns buf.
 */
const char *output_date(char buf[OUTPUT_DATE_MAX], const char *rfc3339);

/*
 * Whether to colour standard output: it is a terminal, NO_COLOR is unset
 * or empty (https://no-color.org) and TERM is not "dumb".
 */
int output_color(void);
/* The SGR sequence of a style when colouring, else "". */
enum output_style { OUTPUT_RESET, OUTPUT_BOLD, OUTPUT_URGENT, OUTPUT_DIM };
const char *output_sgr(enum output_style style);

/* "partner", "coordinator", "auditor", "admin", or "unknown". */
const char *output_role(int role);

#endif
