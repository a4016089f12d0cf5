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

#include "cert.h"
#include "db.h"

struct conn;
struct server;

struct audit_rec {
	const char *action;	/* e.g. "ping", "connect" */
	const char *outcome;	/* "ok", "refused", "error" */
	const char *error_code; /* e.g. "NOT_FOUND", or NULL */
	uint64_t request_id;
	int64_t case_id;   /* 0 = none */
	int64_t notice_id; /* 0 = none */
	int64_t person_id; /* 0 = none */
};

/* On whose behalf a record is written: a connection's account, peer and
 * certificate, copied (audit_who_of) for work that goes on after the
 * connection is gone (a link the network's policy makes once a notice is
 * stored). */
struct audit_who {
	int authenticated;
	int64_t account_id;
	char login[65];
	char institution[33];
	const char *role; /* a static name */
	char peer[64];
	char fingerprint[CERT_FINGERPRINT_LEN + 1];
};

void audit_who_of(const struct conn *c, struct audit_who *w);

/* Append the INSERT for `rec`, on behalf of connection `c`, to `job`. */
int audit_job_add(struct db_job *job, const struct conn *c,
		  const struct audit_rec *rec);
/* The same on behalf of `w`, from server `srv`. */
int audit_job_add_who(struct db_job *job, const struct server *srv,
		      const struct audit_who *w, const struct audit_rec *rec);

/* Write `rec` in a job of its own (refusals without an effect). */
void audit_submit(struct conn *c, const struct audit_rec *rec);
void audit_submit_who(struct server *srv, const struct audit_who *w,
		      const struct audit_rec *rec);

#endif
