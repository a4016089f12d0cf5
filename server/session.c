/*
 * session: authentication, Ping and WhoAmI; see session.h.
 */
#include "session.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "audit.h"
#include "conn.h"
#include "log.h"
#include "server.h"

#define SESSION_PING_MAX 256

/*
 * Look the certificate up and record the attempt in one statement: the
 * audit row is written whatever the outcome; the account row comes back
 * only when the account and its institution are enabled.
 */
static const char session_auth_sql[] =
	"WITH a AS ("
	" SELECT ac.id, ac.login, ac.role, coalesce(ac.display_name, '') AS "
	"display_name, i.code, i.name, i.kind, i.departement,"
	" i.id AS institution_id,"
	" (ac.enabled AND i.enabled) AS ok"
	" FROM account ac JOIN institution i ON i.id = ac.institution_id"
	" WHERE ac.cert_fingerprint = $1),"
	" ins AS ("
	" INSERT INTO audit_event (account_id, login, institution_code, role,"
	" action, outcome, error_code, peer, request_id, instance,"
	" cert_fingerprint)"
	" SELECT a.id, a.login, a.code, a.role, 'connect',"
	" CASE WHEN coalesce(a.ok, false) THEN 'ok' ELSE 'refused' END,"
	" CASE WHEN coalesce(a.ok, false) THEN NULL ELSE 'UNAUTHENTICATED' END,"
	" $2, $3::bigint, $4, $1"
	" FROM (SELECT 1) AS one LEFT JOIN a ON true)"
	" SELECT id, login, role, display_name, code, name, kind, departement,"
	" institution_id FROM a WHERE a.ok";

struct session_req {
	uint64_t conn_id;
	uint64_t request_id;
	size_t payload_len;
	uint8_t payload[SESSION_PING_MAX];
};

static struct session_req *session_req_new(const struct conn *c,
					   uint64_t request_id)
{
	struct session_req *r = calloc(1, sizeof(*r));

	if (r != NULL) {
		r->conn_id = c->id;
		r->request_id = request_id;
	}
	return r;
}

static Maillage__Role session_role(const char *name)
{
	if (strcmp(name, "partner") == 0)
		return MAILLAGE__ROLE__PARTNER;
	if (strcmp(name, "coordinator") == 0)
		return MAILLAGE__ROLE__COORDINATOR;
	if (strcmp(name, "auditor") == 0)
		return MAILLAGE__ROLE__AUDITOR;
	if (strcmp(name, "admin") == 0)
		return MAILLAGE__ROLE__ADMIN;
	return MAILLAGE__ROLE__ROLE_UNSPECIFIED;
}

static void session_copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src != NULL ? src : "");
}

static void session_load_account(struct conn *c, const PGresult *res)
{
	struct conn_account *a = &c->account;

	a->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	session_copy(a->login, sizeof(a->login), PQgetvalue(res, 0, 1));
	a->role = session_role(PQgetvalue(res, 0, 2));
	session_copy(a->display_name, sizeof(a->display_name),
		     PQgetvalue(res, 0, 3));
	session_copy(a->institution, sizeof(a->institution),
		     PQgetvalue(res, 0, 4));
	session_copy(a->institution_name, sizeof(a->institution_name),
		     PQgetvalue(res, 0, 5));
	session_copy(a->institution_kind, sizeof(a->institution_kind),
		     PQgetvalue(res, 0, 6));
	session_copy(a->departement, sizeof(a->departement),
		     PQgetvalue(res, 0, 7));
	a->institution_id = strtoll(PQgetvalue(res, 0, 8), NULL, 10);
	c->authenticated = 1;
}

static void session_fill_account(const struct conn *c, Maillage__Account *a)
{
	a->login = (char *)c->account.login;
	a->institution = (char *)c->account.institution;
	a->role = c->account.role;
	a->institution_name = (char *)c->account.institution_name;
	a->institution_kind = (char *)c->account.institution_kind;
	a->departement = (char *)c->account.departement;
	a->display_name = (char *)c->account.display_name;
}

static void session_send_welcome(struct conn *c, uint64_t request_id)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__Welcome w = MAILLAGE__WELCOME__INIT;
	Maillage__Account a = MAILLAGE__ACCOUNT__INIT;

	session_fill_account(c, &a);
	w.protocol_version = MAILLAGE__PROTOCOL_VERSION__PROTOCOL_VERSION_1;
	w.server_name = (char *)SERVER_NAME;
	w.account = &a;
	w.max_frame = c->srv->cfg.max_frame;
	w.instance_id = c->srv->instance_id;
	env.request_id = request_id;
	env.body_case = MAILLAGE__ENVELOPE__BODY_WELCOME;
	env.welcome = &w;
	conn_send(c, &env);
}

static void session_auth_done(void *arg, const struct db_reply *reply)
{
	struct session_req *r = arg;
	struct conn *c = conn_find(r->conn_id);
	const PGresult *res;

	if (c == NULL)
		goto out;
	if (reply->status != DB_OK) {
		log_warnx("conn %" PRIu64 " %s: authentication: database %s",
			  c->id, c->peer, db_status_name(reply->status));
		conn_send_error(c, r->request_id,
				reply->status == DB_SQL_ERROR
					? MAILLAGE__ERROR_CODE__INTERNAL
					: MAILLAGE__ERROR_CODE__UNAVAILABLE,
				NULL, "service temporarily unavailable");
		conn_close(c, "authentication unavailable");
		goto out;
	}
	res = reply->results[0];
	if (PQntuples(res) != 1) {
		log_info("conn %" PRIu64 " %s: certificate %s maps to no "
			 "enabled account",
			 c->id, c->peer, c->fingerprint);
		conn_send_error(c, r->request_id,
				MAILLAGE__ERROR_CODE__UNAUTHENTICATED, NULL,
				"certificate not enrolled or account disabled");
		conn_close(c, "unauthenticated");
		goto out;
	}
	session_load_account(c, res);
	session_send_welcome(c, r->request_id);
	conn_authenticated(c);
out:
	free(r);
}

void session_authenticate(struct conn *c, uint64_t request_id)
{
	struct session_req *r = session_req_new(c, request_id);
	struct db_job *job = db_job_new();
	char reqid[24];
	const char *params[4];

	snprintf(reqid, sizeof(reqid), "%" PRId64, (int64_t)request_id);
	params[0] = c->fingerprint;
	params[1] = c->peer;
	params[2] = reqid;
	params[3] = c->srv->instance_id;
	if (r == NULL || job == NULL ||
	    db_job_add(job, session_auth_sql, 4, params) != 0) {
		free(r);
		db_job_free(job);
		conn_send_error(c, request_id, MAILLAGE__ERROR_CODE__INTERNAL,
				NULL, "out of memory");
		conn_close(c, "out of memory");
		return;
	}
	db_submit(c->srv->db, job, session_auth_done, r);
}

/* ---- requests ------------------------------------------------------ */

static Maillage__ErrorCode session_db_error(const struct db_reply *reply)
{
	return reply->status == DB_SQL_ERROR
		       ? MAILLAGE__ERROR_CODE__INTERNAL
		       : MAILLAGE__ERROR_CODE__UNAVAILABLE;
}

/* Submit a job holding only the audit record of an accepted request. */
static void session_submit_audited(struct conn *c, struct session_req *r,
				   const char *action, db_done_fn *done)
{
	struct audit_rec rec = {0};
	struct db_job *job = db_job_new();

	rec.action = action;
	rec.outcome = "ok";
	rec.request_id = r->request_id;
	if (job == NULL || audit_job_add(job, c, &rec) != 0) {
		db_job_free(job);
		conn_send_error(c, r->request_id,
				MAILLAGE__ERROR_CODE__INTERNAL, NULL,
				"out of memory");
		free(r);
		conn_request_done(c);
		return;
	}
	db_submit(c->srv->db, job, done, r);
}

static int64_t session_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void session_ping_done(void *arg, const struct db_reply *reply)
{
	struct session_req *r = arg;
	struct conn *c = conn_find(r->conn_id);
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__Pong pong = MAILLAGE__PONG__INIT;

	if (c == NULL)
		goto out;
	if (reply->status != DB_OK) {
		conn_send_error(c, r->request_id, session_db_error(reply), NULL,
				"database unavailable");
		conn_request_done(c);
		goto out;
	}
	pong.payload.data = r->payload;
	pong.payload.len = r->payload_len;
	pong.server_time_ms = session_now_ms();
	pong.database_ok = 1;
	env.request_id = r->request_id;
	env.body_case = MAILLAGE__ENVELOPE__BODY_PONG;
	env.pong = &pong;
	conn_send(c, &env);
	conn_request_done(c);
out:
	free(r);
}

void session_ping(struct conn *c, const Maillage__Envelope *env)
{
	struct session_req *r;

	if (env->ping->payload.len > SESSION_PING_MAX) {
		struct audit_rec rec = {0};
		rec.action = "ping";
		rec.outcome = "refused";
		rec.error_code = "BAD_REQUEST";
		rec.request_id = env->request_id;
		audit_submit(c, &rec);
		conn_send_error(c, env->request_id,
				MAILLAGE__ERROR_CODE__BAD_REQUEST, "payload",
				"ping payload is limited to 256 bytes");
		conn_request_done(c);
		return;
	}
	r = session_req_new(c, env->request_id);
	if (r == NULL) {
		conn_send_error(c, env->request_id,
				MAILLAGE__ERROR_CODE__INTERNAL, NULL,
				"out of memory");
		conn_request_done(c);
		return;
	}
	r->payload_len = env->ping->payload.len;
	if (r->payload_len > 0)
		memcpy(r->payload, env->ping->payload.data, r->payload_len);
	session_submit_audited(c, r, "ping", session_ping_done);
}

static void session_whoami_done(void *arg, const struct db_reply *reply)
{
	struct session_req *r = arg;
	struct conn *c = conn_find(r->conn_id);
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__WhoAmIResult w = MAILLAGE__WHO_AM_IRESULT__INIT;
	Maillage__Account a = MAILLAGE__ACCOUNT__INIT;

	if (c == NULL)
		goto out;
	if (reply->status != DB_OK) {
		conn_send_error(c, r->request_id, session_db_error(reply), NULL,
				"database unavailable");
		conn_request_done(c);
		goto out;
	}
	session_fill_account(c, &a);
	w.account = &a;
	w.certificate_fingerprint = c->fingerprint;
	w.peer_address = c->peer;
	w.certificate_not_after = c->cert_not_after;
	env.request_id = r->request_id;
	env.body_case = MAILLAGE__ENVELOPE__BODY_WHOAMI_RESULT;
	env.whoami_result = &w;
	conn_send(c, &env);
	conn_request_done(c);
out:
	free(r);
}

void session_whoami(struct conn *c, const Maillage__Envelope *env)
{
	struct session_req *r = session_req_new(c, env->request_id);

	if (r == NULL) {
		conn_send_error(c, env->request_id,
				MAILLAGE__ERROR_CODE__INTERNAL, NULL,
				"out of memory");
		conn_request_done(c);
		return;
	}
	session_submit_audited(c, r, "whoami", session_whoami_done);
}
