/*
 * req: request contexts and uniform answers; see req.h.
 */
#include "req.h"

#include "vault.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "audit.h"
#include "conn.h"
#include "log.h"
#include "server.h"

struct req *req_new(const struct conn *c, uint64_t request_id,
		    const char *action, size_t extra)
{
	struct req *r;

	if (extra > SIZE_MAX - sizeof(*r))
		return NULL;
	r = calloc(1, sizeof(*r) + extra);
	if (r == NULL)
		return NULL;
	r->conn_id = c->id;
	r->request_id = request_id;
	r->action = action;
	r->data = extra > 0 ? (void *)(r + 1) : NULL;
	return r;
}

void req_free(struct req *r)
{
	free(r);
}

struct conn *req_conn(const struct req *r)
{
	return conn_find(r->conn_id);
}

static void req_audit_refusal(struct conn *c, const struct req *r,
			      const char *outcome, Maillage__ErrorCode code)
{
	struct audit_rec rec = {0};

	rec.action = r->action;
	rec.outcome = outcome;
	rec.error_code = conn_error_code_name(code);
	rec.request_id = r->request_id;
	rec.case_id = r->case_id;
	rec.notice_id = r->notice_id;
	rec.person_id = r->person_id;
	audit_submit(c, &rec);
}

void req_refuse(struct conn *c, const struct req *r, Maillage__ErrorCode code,
		const char *field, const char *message)
{
	req_audit_refusal(c, r, "refused", code);
	conn_send_error(c, r->request_id, code, field, message);
	conn_request_done(c);
}

void req_refuse_early(struct conn *c, uint64_t request_id, const char *action,
		      Maillage__ErrorCode code, const char *field,
		      const char *message)
{
	struct req r;

	memset(&r, 0, sizeof(r));
	r.conn_id = c->id;
	r.request_id = request_id;
	r.action = action;
	req_refuse(c, &r, code, field, message);
}

void req_oom(struct conn *c, uint64_t request_id)
{
	conn_send_error(c, request_id, MAILLAGE__ERROR_CODE__INTERNAL, NULL,
			"out of memory");
	conn_request_done(c);
}

/* The code of a typed error raised by a SQL function, or 0. */
static Maillage__ErrorCode req_typed_code(const char *sqlstate)
{
	static const struct {
		const char *state;
		Maillage__ErrorCode code;
	} map[] = {
		{"MG400", MAILLAGE__ERROR_CODE__BAD_REQUEST},
		{"MG403", MAILLAGE__ERROR_CODE__FORBIDDEN},
		{"MG404", MAILLAGE__ERROR_CODE__NOT_FOUND},
		{"MG409", MAILLAGE__ERROR_CODE__CONFLICT},
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(sqlstate, map[i].state) == 0)
			return map[i].code;
	}
	return MAILLAGE__ERROR_CODE__ERROR_CODE_UNSPECIFIED;
}

static const char *req_error_message(const struct db_reply *reply)
{
	const PGresult *res;
	const char *msg;

	if (reply->failed_stmt < 0 || reply->failed_stmt >= reply->nresults)
		return "request refused";
	res = reply->results[reply->failed_stmt];
	msg = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
			  : NULL;
	return msg != NULL ? msg : "request refused";
}

void req_db_failed(struct conn *c, const struct req *r,
		   const struct db_reply *reply)
{
	Maillage__ErrorCode code;

	if (reply->status == DB_SQL_ERROR) {
		code = req_typed_code(reply->sqlstate);
		if (code != MAILLAGE__ERROR_CODE__ERROR_CODE_UNSPECIFIED) {
			req_refuse(c, r, code, reply->constraint,
				   req_error_message(reply));
			return;
		}
		log_warnx("conn %" PRIu64 " request %" PRIu64
			  " %s: SQL error %s (statement %d)",
			  c->id, r->request_id, r->action, reply->sqlstate,
			  reply->failed_stmt);
		if (strncmp(reply->sqlstate, "53", 2) == 0) {
			/* disk full, out of memory or connections: retry */
			req_audit_refusal(c, r, "error",
					  MAILLAGE__ERROR_CODE__UNAVAILABLE);
			conn_send_error(c, r->request_id,
					MAILLAGE__ERROR_CODE__UNAVAILABLE, NULL,
					"the database is short of space or "
					"resources; nothing was stored, retry "
					"later");
			conn_request_done(c);
			return;
		}
		req_audit_refusal(c, r, "error",
				  MAILLAGE__ERROR_CODE__INTERNAL);
		conn_send_error(c, r->request_id,
				MAILLAGE__ERROR_CODE__INTERNAL, NULL,
				"internal error");
		conn_request_done(c);
		return;
	}
	code = reply->status == DB_TIMEOUT ? MAILLAGE__ERROR_CODE__TIMEOUT
					   : MAILLAGE__ERROR_CODE__UNAVAILABLE;
	if (reply->status == DB_TIMEOUT)
		req_audit_refusal(c, r, "error", code);
	conn_send_error(c, r->request_id, code, NULL,
			reply->status == DB_TIMEOUT
				? "the database did not answer in time"
				: "database unavailable, retry later");
	conn_request_done(c);
}

int req_audit_ok(struct db_job *job, const struct conn *c, const struct req *r)
{
	struct audit_rec rec = {0};

	rec.action = r->action;
	rec.outcome = "ok";
	rec.request_id = r->request_id;
	rec.case_id = r->case_id;
	rec.notice_id = r->notice_id;
	rec.person_id = r->person_id;
	return audit_job_add(job, c, &rec);
}

int req_submit(struct conn *c, struct req *r, struct db_job *job,
	       db_done_fn *done)
{
	if (job == NULL) {
		req_oom(c, r->request_id);
		req_free(r);
		return -1;
	}
	db_submit(c->srv->db, job, done, r);
	return 0;
}

void req_reply(struct conn *c, const struct req *r, Maillage__Envelope *env)
{
	env->request_id = r->request_id;
	conn_send(c, env);
	conn_request_done(c);
}

int req_subject(const struct conn *c, struct acl_subject *s)
{
	int kind = acl_kind_from_name(c->account.institution_kind);
	int role;

	switch (c->account.role) {
	case MAILLAGE__ROLE__PARTNER:
		role = ACL_ROLE_PARTNER;
		break;
	case MAILLAGE__ROLE__COORDINATOR:
		role = ACL_ROLE_COORDINATOR;
		break;
	case MAILLAGE__ROLE__AUDITOR:
		role = ACL_ROLE_AUDITOR;
		break;
	case MAILLAGE__ROLE__ADMIN:
		role = ACL_ROLE_ADMIN;
		break;
	default:
		return -1;
	}
	if (kind < 0)
		return -1;
	memset(s, 0, sizeof(*s));
	s->role = (enum acl_role)role;
	s->kind = (enum acl_kind)kind;
	return 0;
}

int64_t req_int(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return 0;
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

int req_bool(const PGresult *res, int row, int col)
{
	return !PQgetisnull(res, row, col) &&
	       PQgetvalue(res, row, col)[0] == 't';
}

char *req_str(const PGresult *res, int row, int col)
{
	/* libpq returns "" for NULL; protobuf-c wants a mutable pointer. */
	return PQgetvalue(res, row, col);
}

/* Envelope bytes around a list; each item costs a tag and a length. */
#define REQ_FRAME_SLACK 64
#define REQ_ITEM_OVERHEAD 6

int req_fits(const struct conn *c, size_t used, size_t item)
{
	size_t max = c->srv->cfg.max_frame;

	return max > REQ_FRAME_SLACK &&
	       used + item + REQ_ITEM_OVERHEAD <= max - REQ_FRAME_SLACK;
}

const char *req_fmt_int(char buf[24], int64_t v)
{
	snprintf(buf, 24, "%" PRId64, v);
	return buf;
}

int req_open(const struct vault *v, const PGresult *res, int row, int col,
	     int legacy, const char *column, const char *key, char **out)
{
	enum vault_status st;

	st = vault_open_or(v, column, key, PQgetvalue(res, row, col),
			   legacy >= 0 ? PQgetvalue(res, row, legacy) : NULL,
			   out);
	if (st == VAULT_OK)
		return 0;
	if (st != VAULT_NOMEM)
		log_warnx("stored value %s of row %s does not open: %s", column,
			  key,
			  st == VAULT_UNKNOWN_KEY
				  ? "its key is not in the keyring"
				  : "altered or not sealed here");
	return -1;
}

/* `s` without its leading and trailing blanks: start and length. */
static const char *req_trim(const char *s, size_t *len)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	*len = n;
	return s;
}

int req_person_label(const struct vault *v, const PGresult *res, int row,
		     int col, char **out)
{
	char *given = NULL, *family = NULL, *label = NULL;
	const char *key = PQgetvalue(res, row, col + 1), *g, *f;
	size_t lg, lf;
	int rc = -1;

	*out = NULL;
	if (PQgetisnull(res, row, col + 1))
		return 0; /* no named assertion */
	if (req_open(v, res, row, col + 2, col, "identity_assertion.given_name",
		     key, &given) != 0 ||
	    req_open(v, res, row, col + 3, -1, "identity_assertion.family_name",
		     key, &family) != 0)
		goto out;
	g = req_trim(given, &lg);
	f = req_trim(family, &lf);
	rc = 0;
	if (lg + lf == 0)
		goto out;
	label = malloc(lg + lf + 2);
	if (label == NULL) {
		rc = -1;
		goto out;
	}
	memcpy(label, g, lg);
	label[lg] = ' ';
	memcpy(label + lg + (lg > 0 && lf > 0), f, lf);
	label[lg + (lg > 0 && lf > 0) + lf] = '\0';
	*out = label;
out:
	vault_free_text(given);
	vault_free_text(family);
	return rc;
}
