/*
 * candv: how the client shows the candidate persons an identity may be
 * (after `notice send`, and for `person search`): a table of person, open
 * case, score and the per-field explanation, or the JSON array
 * [{"person_id", "score", "confident", "open_case_id", "explanation"}].
 */
#ifndef MAILLAGE_CANDV_H
#define MAILLAGE_CANDV_H

#include <jansson.h>
#include <stddef.h>

#include "maillage.pb-c.h"

/* The candidates as a JSON array (new reference; NULL if OOM). */
json_t *candv_json(Maillage__Candidate *const *c, size_t n);

/* Print them as text under `title` (nothing when n is 0). */
void candv_print(const char *title, Maillage__Candidate *const *c, size_t n);

#endif
