/*
 * req: what every request handler shares between the moment it sends a job
 * to the database and the callback that answers. This module owns the
 * request context (the connection id to find the connection again, the
 * request id, the audit action and the target ids known so far), the
 * uniform answers (a refusal audited in a job of its own, a failed database
 * job mapped to UNAVAILABLE, TIMEOUT or INTERNAL, a typed error raised by a
 * SQL function mapped to its code and field), and small readers of result
 * values. It decides nothing about access: see acl.
 */
#ifndef MAILLAGE_REQ_H
#define MAILLAGE_REQ_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "maillage.pb-c.h"

struct conn;

struct req {
	uint64_t conn_id;
	uint64_t request_id;
	const char *action; /* audit action, a static string */
	int64_t case_id;    /* audit targets, 0 = none */
	int64_t notice_id;
	int64_t person_id;
	void *data; /* `extra` zeroed bytes owned by the req, or NULL */
};

/*
 * A context for a request of `c`, with `extra` zeroed bytes at ->data.
 * NULL when memory is exhausted: the caller answers with req_oom().
 */
struct req *req_new(const struct conn *c, uint64_t request_id,
		    const char *action, size_t extra);
void req_free(struct req *r);

/* The live connection of `r`, or NULL if it has gone. */
struct conn *req_conn(const struct req *r);

/*
 * Refuse: write a 'refused' audit record (action, targets, error code) in a
 * job of its own, send the typed error naming `field` (may be NULL), and
 * count the request as answered. Never frees `r`.
 */
void req_refuse(struct conn *c, const struct req *r, Maillage__ErrorCode code,
		const char *field, const char *message);

/* The same before any context exists (validation of the request). */
void req_refuse_early(struct conn *c, uint64_t request_id, const char *action,
		      Maillage__ErrorCode code, const char *field,
		      const char *message);

/* Out of memory before a job could be submitted: INTERNAL, done. */
void req_oom(struct conn *c, uint64_t request_id);

/*
 * A job that did not commit. When a SQL function raised one of the typed
 * errors below, answer with its code and field (and audit the refusal);
 * otherwise UNAVAILABLE (no database), TIMEOUT, or INTERNAL (any other SQL
 * error, logged with its SQLSTATE, never with its parameters), audited as
 * 'error' when the database can still take the record. Counts the request
 * as answered. Never frees `r`.
 *
 * SQL functions raise typed errors as
 *   RAISE EXCEPTION 'text for humans' USING ERRCODE = 'MG400',
 *         CONSTRAINT = 'field';
 * with MG400 BAD_REQUEST, MG403 FORBIDDEN, MG404 NOT_FOUND, MG409 CONFLICT;
 * the CONSTRAINT item carries the field name (may be omitted). The message
 * text must not contain personal data: it goes to the client as is.
 */
void req_db_failed(struct conn *c, const struct req *r,
		   const struct db_reply *reply);

/* Append the 'ok' audit record of `r` (its action and targets) to `job`. */
int req_audit_ok(struct db_job *job, const struct conn *c, const struct req *r);

/*
 * Submit `job` (ownership passes) with `done(r, reply)`; if `job` is NULL
 * (building it failed), answer INTERNAL, free `r` and return -1.
 */
int req_submit(struct conn *c, struct req *r, struct db_job *job,
	       db_done_fn *done);

/* Send `env` as the answer to `r` (request_id filled in), count it done. */
void req_reply(struct conn *c, const struct req *r, Maillage__Envelope *env);

/*
 * The caller's role and institution kind for acl decisions (is_party and
 * is_lead zero: the handler sets them from what the database says).
 * -1 if the account's role or kind is unknown to acl (then refuse).
 */
struct acl_subject;
int req_subject(const struct conn *c, struct acl_subject *s);

/* ---- result readers: NULL values read as 0 / "" ---- */

int64_t req_int(const PGresult *res, int row, int col);
int req_bool(const PGresult *res, int row, int col); /* 't' -> 1 */
/* The value as a char * for a protobuf field (points into `res`). */
char *req_str(const PGresult *res, int row, int col);
/*
 * Whether one more list item of `item` packed bytes, after `used` bytes of
 * items, still fits in a reply frame of the connection (with room for the
 * envelope around the list).
 */
int req_fits(const struct conn *c, size_t used, size_t item);

/* Format an int64 for a statement parameter. */
const char *req_fmt_int(char buf[24], int64_t v);

/*
 * Open the sealed value of `column` (vault.h) in column `col` of `row`,
 * bound to the row key `key`, or take the clear value stored before
 * encryption in column `legacy` (-1: none). *out to free with
 * vault_free_text(). A value that does not open is logged (column and row
 * key, never content) and returned as VAULT_BAD / VAULT_UNKNOWN_KEY.
 */
struct vault;
int req_open(const struct vault *v, const PGresult *res, int row, int col,
	     int legacy, const char *column, const char *key, char **out);

/*
 * The person label of a result whose columns from `col` are: the clear
 * label stored before encryption, the identity assertion's id, its sealed
 * given and family names. *out: "given family", or NULL when none; 0, or
 * -1 when a name does not open or memory is short.
 */
int req_person_label(const struct vault *v, const PGresult *res, int row,
		     int col, char **out);

#endif
