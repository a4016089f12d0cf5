/*
 * audit: the audit trail's one writer. This module owns the shape of an
 * audit record (account, institution, action, outcome, error code, peer,
 * request id, target ids: never names or free text) and the parameterised
 * INSERT that puts it in the same database job as the request's effect, so
 * both commit or neither does. A refusal that has no effect gets a job of
 * its own through audit_submit().
 */
#ifndef MAILLAGE_AUDIT_H
#define MAILLAGE_AUDIT_H

#include <stdint.h>

#include "db.h"

struct conn;

struct audit_rec {
	const char *action;	/* e.g. "ping", "connect" */
	const char *outcome;	/* "ok", "refused", "error" */
	const char *error_code; /* e.g. "NOT_FOUND", or NULL */
	uint64_t request_id;
	int64_t case_id;   /* 0 = none */
	int64_t notice_id; /* 0 = none */
	int64_t person_id; /* 0 = none */
};

/* Append the INSERT for `rec`, on behalf of connection `c`, to `job`. */
int audit_job_add(struct db_job *job, const struct conn *c,
		  const struct audit_rec *rec);

/* Write `rec` in a job of its own (refusals without an effect). */
void audit_submit(struct conn *c, const struct audit_rec *rec);

#endif
