/*
 * view: how `maillage` shows the notices, cases and indicators the server
 * returns. This module owns their rendering to JSON (one object per
 * protocol message, keyed by the proto field names in snake_case; ids are
 * integers; every key is always present, with "" or 0 when the server left
 * the field empty, as on the wire) and to text for humans (aligned tables
 * for lists, label: value blocks, the timeline of a case interleaving its
 * notices and events by time). Every string from the server goes through
 * output.h's escaping; multi-line free text keeps its line breaks in text
 * output, each line escaped and indented.
 */
#ifndef MAILLAGE_VIEW_H
#define MAILLAGE_VIEW_H

#include <jansson.h>
#include <stddef.h>

#include "maillage.pb-c.h"

/* ---- tables ---------------------------------------------------------- */

struct view_table;

/* A table of `ncols` columns under `headers` (ours: not escaped). */
struct view_table *view_table_new(size_t ncols, const char *const *headers);

/*
 * Add a row of ncols cells (server strings: escaped here; NULL is "").
 * 0, or -1 when out of memory.
 */
int view_table_add(struct view_table *t, const char *const *cells);

/* Number of rows added. */
size_t view_table_rows(const struct view_table *t);

/*
 * Print on stdout, each line after `indent` spaces, columns two spaces
 * apart, the last one not padded; headers only when `with_headers`.
 */
void view_table_print(const struct view_table *t, int indent, int with_headers);

void view_table_free(struct view_table *t);

/* ---- JSON ------------------------------------------------------------ */

/* An array of the strings (NULL when out of memory). */
json_t *view_json_strings(char *const *v, size_t n);

json_t *view_json_identity(const Maillage__Identity *id);
json_t *view_json_notice_summary(const Maillage__NoticeSummary *n);
json_t *view_json_case_summary(const Maillage__CaseSummary *s);
/*
 * The case flattened: the CaseSummary keys, then "parties" (Party objects,
 * replacing the summary's list of codes), "identities", "notices" (with
 * their "recipients") and "events".
 */
json_t *view_json_case_view(const Maillage__CaseView *v);
json_t *view_json_indicator(const Maillage__Indicator *ind);

/* ---- text ------------------------------------------------------------ */

/* "label: value" lines of a case summary (person, status, lead...). */
void view_case_summary_text(const Maillage__CaseSummary *s);

/* The whole case: summary, identities, parties, timeline. */
void view_case_view_text(const Maillage__CaseView *v);

#endif
