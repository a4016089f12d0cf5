/* linkq: the identity linkage quality benchmark (see ident/README.md). */
#ifndef MAILLAGE_IDENT_LINKQ_H
#define MAILLAGE_IDENT_LINKQ_H

#include "ident.h"

struct lq_pair {
	uint32_t a, b;
	double score;
};

double bl_jaro_winkler(const char *a, const char *b);
int baseline_candidates(ident_norm *n, const ident_table *l,
			const ident_table *r, double min_score,
			struct lq_pair **out, size_t *nout);

#endif
