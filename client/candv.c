/*
 * candv: rendering of candidate persons; see candv.h.
 */
#include "candv.h"

#include <inttypes.h>
#include <stdio.h>

#include "i18n.h"
#include "output.h"

json_t *candv_json(Maillage__Candidate *const *c, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++) {
		json_t *o = json_pack(
			"{s:I, s:f, s:b, s:I, s:o}", "person_id",
			(json_int_t)c[i]->person_id, "score", c[i]->score,
			"confident", (int)c[i]->confident, "open_case_id",
			(json_int_t)c[i]->open_case_id, "explanation",
			output_jstr(c[i]->explanation));
		if (o == NULL || json_array_append_new(a, o) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

void candv_print(const char *title, Maillage__Candidate *const *c, size_t n)
{
	char expl[512];
	size_t i;

	if (n == 0)
		return;
	printf("%s\n", title);
	for (i = 0; i < n; i++) {
		printf(_("  person %" PRId64 "%s  score %.1f%s\n"),
		       c[i]->person_id, "", c[i]->score,
		       c[i]->confident ? _(" (confident)") : "");
		if (c[i]->open_case_id != 0)
			printf(_("    open case %" PRId64 "\n"),
			       c[i]->open_case_id);
		printf("    %s\n",
		       output_clean(expl, sizeof(expl), c[i]->explanation));
	}
}
