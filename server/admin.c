/*
 * admin: institutions, accounts, cutting connections, bootstrap; see
 * admin.h.
 *
 * Each request checks the caller's role (acl), then the shape of every
 * field (and a certificate against the CA store) in C, then submits one
 * job: the effect through a function of sql/008_admin.sql (which re-checks
 * what a concurrent request could have changed and raises typed errors),
 * the audit record, and the row as it now stands for the answer. The audit
 * record is written here rather than by audit.c because it names the
 * target account and institution (ids looked up from the login and the
 * code in the same transaction, so that an account created by the job is
 * named too); refusals are recorded the same way.
 *
 * Cutting: triggers on account and institution NOTIFY maillage_admin with
 * the id concerned, on commit, whoever made the change. Each instance walks
 * its connections and cuts those of that account or institution at once
 * (conn_revoke: Error UNAUTHENTICATED, then close). A connection that was
 * authenticating while the change committed, or a notification lost with a
 * database connection, is caught by a sweep: one query that says which of
 * the live connections would no longer authenticate, run a second after a
 * notification (again while connections are authenticating, a few times)
 * and whenever the pool subscribes again.
 */
#include "admin.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acl.h"
#include "audit.h"
#include "config.h"
#include "conn.h"
#include "db.h"
#include "log.h"
#include "req.h"
#include "server.h"
#include "valid.h"

#define ADMIN_CHANNEL "maillage_admin"
#define ADMIN_LINE_CHARS 200 /* name, contact, display name */
#define ADMIN_LINE_BYTES 800
#define ADMIN_LOGIN_MAX 64
#define ADMIN_CODE_MAX 32
#define ADMIN_LIST_DEFAULT 100
#define ADMIN_MSG_MAX 192
#define ADMIN_SWEEP_DELAY_MS 1000 /* after a notification */
#define ADMIN_SWEEP_SOON_MS 100	  /* after a subscription */
#define ADMIN_SWEEP_RETRIES 5	  /* while connections authenticate */
#define ADMIN_SWEEP_CHUNK 1000	  /* connections per sweep query */

#define ADMIN_ACT_INST_ADD "admin.institution.add"
#define ADMIN_ACT_INST_LIST "admin.institution.list"
#define ADMIN_ACT_INST_ENABLE "admin.institution.enable"
#define ADMIN_ACT_INST_DISABLE "admin.institution.disable"
#define ADMIN_ACT_ACC_ADD "admin.account.add"
#define ADMIN_ACT_ACC_LIST "admin.account.list"
#define ADMIN_ACT_ACC_ENABLE "admin.account.enable"
#define ADMIN_ACT_ACC_DISABLE "admin.account.disable"
#define ADMIN_ACT_ACC_ROTATE "admin.account.rotate"
#define ADMIN_ACT_BOOTSTRAP "admin.bootstrap"
#define ADMIN_ACT_REVOKED "session.revoked"

#define EC_BAD_REQUEST MAILLAGE__ERROR_CODE__BAD_REQUEST
#define EC_FORBIDDEN MAILLAGE__ERROR_CODE__FORBIDDEN
#define EC_INTERNAL MAILLAGE__ERROR_CODE__INTERNAL
#define EC_NONE MAILLAGE__ERROR_CODE__ERROR_CODE_UNSPECIFIED

/* Closes "to_char(column": the instant in RFC 3339 UTC. */
#define ADMIN_UTC " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* The columns of an AdminInstitution, from institution i. */
#define ADMIN_INST_SELECT                                                      \
	"SELECT i.code, i.name, i.kind, i.departement,"                        \
	" coalesce(i.contact, ''), i.enabled, count(a.id),"                    \
	" count(a.id) FILTER (WHERE a.enabled),"                               \
	" to_char(i.created_at" ADMIN_UTC ","                                  \
	" to_char(i.updated_at" ADMIN_UTC                                      \
	" FROM institution i LEFT JOIN account a"                              \
	" ON a.institution_id = i.id "

/* The columns of an AdminAccount, from account a and institution i. */
#define ADMIN_ACC_SELECT                                                       \
	"SELECT a.login, i.code, a.role, coalesce(a.display_name, ''),"        \
	" a.enabled, i.enabled, a.cert_fingerprint,"                           \
	" coalesce(to_char(a.cert_not_after" ADMIN_UTC ", ''),"                \
	" to_char(a.created_at" ADMIN_UTC ","                                  \
	" to_char(a.updated_at" ADMIN_UTC                                      \
	" FROM account a JOIN institution i ON i.id = a.institution_id "

static const char admin_inst_one_sql[] =
	ADMIN_INST_SELECT "WHERE i.code = $1 GROUP BY i.id";
static const char admin_inst_list_sql[] =
	ADMIN_INST_SELECT "WHERE i.code > $1 GROUP BY i.id ORDER BY i.code"
			  " LIMIT $2::integer";
static const char admin_acc_one_sql[] = ADMIN_ACC_SELECT "WHERE a.login = $1";
static const char admin_acc_list_sql[] =
	ADMIN_ACC_SELECT "WHERE ($1 = '' OR i.code = $1) AND a.login > $2"
			 " ORDER BY a.login LIMIT $3::integer";

/*
 * The audit record of an admin request: audit.c's columns, plus the
 * account (by login, $12) and institution (by code, $13, else the
 * account's) the request is about.
 */
static const char admin_audit_sql[] =
	"INSERT INTO audit_event (account_id, login, institution_code, role,"
	" action, outcome, error_code, peer, request_id, instance,"
	" cert_fingerprint, target_account_id, target_institution_id)"
	" SELECT $1::bigint, $2, $3, $4, $5, $6, $7, $8, $9::bigint, $10, $11,"
	" ta.id, coalesce(ti.id, ta.institution_id)"
	" FROM (SELECT 1) AS one"
	" LEFT JOIN account ta ON ta.login = $12"
	" LEFT JOIN institution ti ON ti.code = $13";

/* What a request context keeps: its targets (valid shapes only). */
struct admin_req {
	char login[ADMIN_LOGIN_MAX + 1];
	char code[ADMIN_CODE_MAX + 1];
	int add;	/* an add: "changed" is always true */
	uint32_t limit; /* a list: the page size */
};

/* A refusal being built: the field at fault and a message for humans. */
struct admin_bad {
	const char *field;
	char msg[ADMIN_MSG_MAX];
};

static int admin_bad(struct admin_bad *b, const char *field, const char *fmt,
		     ...) __attribute__((format(printf, 3, 4)));

static int admin_bad(struct admin_bad *b, const char *field, const char *fmt,
		     ...)
{
	va_list ap;

	b->field = field;
	va_start(ap, fmt);
	vsnprintf(b->msg, sizeof(b->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static const char *admin_s(const char *s)
{
	return s != NULL ? s : "";
}

static struct admin_req *admin_data(const struct req *r)
{
	return r->data;
}

/* ---- shapes ---------------------------------------------------------- */

static int admin_valid_login(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 2 || n > ADMIN_LOGIN_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '_' || ch == '-'))
			return 0;
	}
	return 1;
}

static int admin_valid_departement(const char *s)
{
	size_t n = strlen(s), i;

	if (strcmp(s, "2A") == 0 || strcmp(s, "2B") == 0)
		return 1;
	if (n < 2 || n > 3)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* One line of text of at most ADMIN_LINE_CHARS characters ("" allowed). */
static int admin_valid_line(const char *s)
{
	size_t chars = 0;

	if (!valid_text(s, ADMIN_LINE_BYTES, 0))
		return 0;
	for (; *s != '\0'; s++)
		chars += ((unsigned char)*s & 0xc0) != 0x80;
	return chars <= ADMIN_LINE_CHARS;
}

/* Not empty and not only blanks. */
static int admin_nonblank(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isspace((unsigned char)*s))
			return 1;
	return 0;
}

static int admin_check_institution(const char *code, const char *name,
				   const char *kind, const char *dep,
				   const char *contact, struct admin_bad *b)
{
	if (!valid_institution_code(code))
		return admin_bad(b, "code",
				 "an institution code is 2 to 32 characters "
				 "among a-z, 0-9, '_' and '-'");
	if (!admin_nonblank(name) || !admin_valid_line(name))
		return admin_bad(b, "name",
				 "a name is one line of 1 to 200 characters");
	if (acl_kind_from_name(kind) < 0)
		return admin_bad(
			b, "kind",
			"unknown institution kind: association, "
			"child_welfare, youth_justice, police, "
			"gendarmerie, court, lawyer, health, education "
			"or other");
	if (!admin_valid_departement(dep))
		return admin_bad(b, "departement",
				 "a département is two or three digits, 2A or "
				 "2B");
	if (!admin_valid_line(contact))
		return admin_bad(b, "contact",
				 "a contact is one line of at most 200 "
				 "characters");
	return 0;
}

static int admin_check_login(const char *login, struct admin_bad *b)
{
	if (!admin_valid_login(login))
		return admin_bad(b, "login",
				 "a login is 2 to 64 characters among a-z, "
				 "0-9, '.', '_' and '-'");
	return 0;
}

/* ---- certificates ---------------------------------------------------- */

static const char *admin_verify_reason(int err)
{
	switch (err) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "the certificate has expired";
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return "the certificate is not valid yet";
	case X509_V_ERR_CERT_REVOKED:
		return "the certificate is revoked";
	case X509_V_ERR_INVALID_PURPOSE:
		return "not a client certificate (extendedKeyUsage "
		       "clientAuth is required)";
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
		return "the certificate is not signed by the network CA";
	default:
		return NULL;
	}
}

static int admin_cert_fail(char *msg, size_t msglen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int admin_cert_fail(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	ERR_clear_error();
	return -1;
}

/* Whether `needle` occurs in the `len` bytes at `hay`. */
static int admin_contains(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; n <= len && i <= len - n; i++)
		if (memcmp(hay + i, needle, n) == 0)
			return 1;
	return 0;
}

static int admin_cert_verify(X509_STORE *store, X509 *x, char *msg,
			     size_t msglen)
{
	X509_STORE_CTX *sc = X509_STORE_CTX_new();
	const char *why;
	int ok, err;

	if (sc == NULL || !X509_STORE_CTX_init(sc, store, x, NULL)) {
		X509_STORE_CTX_free(sc);
		return admin_cert_fail(msg, msglen, "out of memory");
	}
	X509_STORE_CTX_set_purpose(sc, X509_PURPOSE_SSL_CLIENT);
	ok = X509_verify_cert(sc);
	err = X509_STORE_CTX_get_error(sc);
	X509_STORE_CTX_free(sc);
	if (ok == 1)
		return 0;
	why = admin_verify_reason(err);
	if (why != NULL)
		return admin_cert_fail(msg, msglen, "%s", why);
	return admin_cert_fail(msg, msglen,
			       "the certificate does not verify: %s",
			       X509_verify_cert_error_string(err));
}

int admin_cert_check(X509_STORE *store, const char *pem, size_t len,
		     struct admin_cert *out, char *msg, size_t msglen)
{
	X509 *x = NULL, *more = NULL;
	BIO *bio;
	int64_t t;
	struct tm tm;
	time_t tt;
	int rc = -1;

	if (len == 0)
		return admin_cert_fail(msg, msglen,
				       "a certificate (PEM) is required");
	if (len > ADMIN_CERT_MAX)
		return admin_cert_fail(msg, msglen,
				       "a certificate is at most %d bytes of "
				       "PEM",
				       ADMIN_CERT_MAX);
	if (admin_contains(pem, len, "PRIVATE KEY"))
		return admin_cert_fail(msg, msglen,
				       "this holds a private key: give the "
				       "certificate alone, and never send a "
				       "private key");
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL)
		return admin_cert_fail(msg, msglen, "out of memory");
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (x != NULL)
		more = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (x == NULL) {
		admin_cert_fail(msg, msglen, "not a PEM certificate");
		goto out;
	}
	if (more != NULL) {
		admin_cert_fail(msg, msglen,
				"give one certificate, not a chain");
		goto out;
	}
	ERR_clear_error();
	if (X509_check_ca(x) != 0) {
		admin_cert_fail(msg, msglen,
				"a CA certificate, not a client certificate");
		goto out;
	}
	if (admin_cert_verify(store, x, msg, msglen) != 0)
		goto out;
	t = cert_not_after(x);
	tt = (time_t)t;
	if (cert_fingerprint(x, out->fingerprint) != 0 || t < 0 ||
	    gmtime_r(&tt, &tm) == NULL ||
	    strftime(out->not_after, sizeof(out->not_after),
		     "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		admin_cert_fail(msg, msglen, "unreadable certificate");
		goto out;
	}
	rc = 0;
out:
	X509_free(x);
	X509_free(more);
	ERR_clear_error();
	return rc;
}

/* ---- audit and answers ------------------------------------------------- */

/* Append the audit record of `r` with `outcome` (and `error_code`). */
static int admin_audit_add(struct db_job *job, const struct conn *c,
			   const struct req *r, const char *outcome,
			   const char *error_code)
{
	const struct admin_req *d = admin_data(r);
	char account[24], reqid[24];
	const char *p[13];

	/* The column is a bigint: ids past 2^63 are stored wrapped. */
	snprintf(reqid, sizeof(reqid), "%" PRId64, (int64_t)r->request_id);
	p[0] = req_fmt_int(account, c->account.id);
	p[1] = c->account.login;
	p[2] = c->account.institution;
	p[3] = conn_role_name(c->account.role);
	p[4] = r->action;
	p[5] = outcome;
	p[6] = error_code;
	p[7] = c->peer;
	p[8] = reqid;
	p[9] = c->srv->instance_id;
	p[10] = c->fingerprint[0] != '\0' ? c->fingerprint : NULL;
	p[11] = d->login[0] != '\0' ? d->login : NULL;
	p[12] = d->code[0] != '\0' ? d->code : NULL;
	return db_job_add(job, admin_audit_sql, 13, p);
}

static void admin_audit_done(void *arg, const struct db_reply *reply)
{
	(void)arg;
	if (reply->status != DB_OK)
		log_warnx("admin: refusal record not written: %s %s",
			  db_status_name(reply->status), reply->sqlstate);
}

/* Refuse `r` (audited with its targets), answer, free `r`. */
static void admin_refuse(struct conn *c, struct req *r,
			 Maillage__ErrorCode code, const char *field,
			 const char *message)
{
	struct db_job *job = db_job_new();

	if (job != NULL && admin_audit_add(job, c, r, "refused",
					   conn_error_code_name(code)) == 0) {
		db_submit(c->srv->db, job, admin_audit_done, NULL);
	} else {
		db_job_free(job);
		log_warnx("admin: out of memory for a refusal record");
	}
	conn_send_error(c, r->request_id, code, field, message);
	conn_request_done(c);
	req_free(r);
}

static void admin_refuse_bad(struct conn *c, struct req *r,
			     const struct admin_bad *b)
{
	admin_refuse(c, r, EC_BAD_REQUEST, b->field, b->msg);
}

/* The code of a typed error raised by a SQL function, or EC_NONE. */
static Maillage__ErrorCode admin_typed_code(const char *sqlstate)
{
	if (strcmp(sqlstate, "MG400") == 0)
		return MAILLAGE__ERROR_CODE__BAD_REQUEST;
	if (strcmp(sqlstate, "MG403") == 0)
		return MAILLAGE__ERROR_CODE__FORBIDDEN;
	if (strcmp(sqlstate, "MG404") == 0)
		return MAILLAGE__ERROR_CODE__NOT_FOUND;
	if (strcmp(sqlstate, "MG409") == 0)
		return MAILLAGE__ERROR_CODE__CONFLICT;
	return EC_NONE;
}

/*
 * A job that did not commit: a typed error is refused here with the
 * targets in the audit record; anything else goes to req_db_failed().
 * Frees `r`.
 */
static void admin_db_failed(struct conn *c, struct req *r,
			    const struct db_reply *reply)
{
	Maillage__ErrorCode code = EC_NONE;
	const char *msg = NULL;

	if (reply->status == DB_SQL_ERROR)
		code = admin_typed_code(reply->sqlstate);
	if (code == EC_NONE) {
		req_db_failed(c, r, reply);
		req_free(r);
		return;
	}
	if (reply->failed_stmt >= 0 && reply->failed_stmt < reply->nresults &&
	    reply->results[reply->failed_stmt] != NULL)
		msg = PQresultErrorField(reply->results[reply->failed_stmt],
					 PG_DIAG_MESSAGE_PRIMARY);
	admin_refuse(c, r, code, reply->constraint,
		     msg != NULL ? msg : "request refused");
}

/* A result that cannot be: logged (no values), answered INTERNAL. */
static void admin_internal(struct conn *c, struct req *r, const char *what)
{
	log_warnx("conn %" PRIu64 " request %" PRIu64 " %s: %s", c->id,
		  r->request_id, r->action, what);
	admin_refuse(c, r, EC_INTERNAL, NULL, "internal error");
}

/*
 * A context for a request about account `login` and/or institution `code`
 * (kept for the audit record when their shapes are valid), once the
 * caller's role may administer; NULL after refusing (FORBIDDEN, audited)
 * or when memory is exhausted.
 */
static struct req *admin_begin(struct conn *c, const Maillage__Envelope *env,
			       const char *action, const char *login,
			       const char *code)
{
	struct req *r =
		req_new(c, env->request_id, action, sizeof(struct admin_req));
	struct admin_req *d;
	struct acl_subject s;

	if (r == NULL) {
		req_oom(c, env->request_id);
		return NULL;
	}
	d = admin_data(r);
	if (login != NULL && admin_valid_login(login))
		snprintf(d->login, sizeof(d->login), "%s", login);
	if (code != NULL && valid_institution_code(code))
		snprintf(d->code, sizeof(d->code), "%s", code);
	if (req_subject(c, &s) != 0 ||
	    acl_role_may(s.role, ACL_OP_ADMIN) != ACL_ALLOW) {
		admin_refuse(c, r, EC_FORBIDDEN, NULL,
			     "only administrators manage institutions and "
			     "accounts");
		return NULL;
	}
	return r;
}

/* The limit of a list request: 0 with *out, or -1 with `b` filled. */
static int admin_limit(const struct conn *c, uint32_t limit, uint32_t *out,
		       struct admin_bad *b)
{
	uint32_t max = c->srv->cfg.list_limit_max;

	if (limit > max)
		return admin_bad(b, "limit", "at most %" PRIu32 " per page",
				 max);
	*out = limit != 0
		       ? limit
		       : (ADMIN_LIST_DEFAULT < max ? ADMIN_LIST_DEFAULT : max);
	return 0;
}

/* Submit `job` (NULL: building it failed: INTERNAL) with `done`. */
static void admin_submit(struct conn *c, struct req *r, struct db_job *job,
			 db_done_fn *done)
{
	(void)req_submit(c, r, job, done);
}

/* A job of the statements, then the 'ok' audit record, then `view`. */
static struct db_job *admin_job(const struct conn *c, const struct req *r,
				const char *effect, int n, const char *const *p,
				const char *view, const char *view_key)
{
	struct db_job *job = db_job_new();

	if (job != NULL && (db_job_add(job, effect, n, p) != 0 ||
			    admin_audit_add(job, c, r, "ok", NULL) != 0 ||
			    db_job_add(job, view, 1, &view_key) != 0)) {
		db_job_free(job);
		job = NULL;
	}
	return job;
}

/* ---- institutions ------------------------------------------------------ */

static void admin_inst_read(const PGresult *res, int row,
			    Maillage__AdminInstitution *e)
{
	maillage__admin_institution__init(e);
	e->code = req_str(res, row, 0);
	e->name = req_str(res, row, 1);
	e->kind = req_str(res, row, 2);
	e->departement = req_str(res, row, 3);
	e->contact = req_str(res, row, 4);
	e->enabled = req_bool(res, row, 5);
	e->accounts = (uint32_t)req_int(res, row, 6);
	e->enabled_accounts = (uint32_t)req_int(res, row, 7);
	e->created_at = req_str(res, row, 8);
	e->updated_at = req_str(res, row, 9);
}

/* Answer of add and set: [0] effect, [1] audit, [2] the institution. */
static void admin_inst_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__AdminInstitutionResult ir =
		MAILLAGE__ADMIN_INSTITUTION_RESULT__INIT;
	Maillage__AdminInstitution e;

	if (c == NULL) {
		req_free(r);
		return;
	}
	if (reply->status != DB_OK) {
		admin_db_failed(c, r, reply);
		return;
	}
	if (reply->nresults < 3 || PQntuples(reply->results[0]) != 1 ||
	    PQntuples(reply->results[2]) != 1) {
		admin_internal(c, r, "the institution vanished");
		return;
	}
	admin_inst_read(reply->results[2], 0, &e);
	ir.institution = &e;
	ir.changed = admin_data(r)->add || req_bool(reply->results[0], 0, 0);
	env.body_case = MAILLAGE__ENVELOPE__BODY_ADMIN_INSTITUTION_RESULT;
	env.admin_institution_result = &ir;
	req_reply(c, r, &env);
	req_free(r);
}

void admin_institution_add(struct conn *c, const Maillage__Envelope *env)
{
	static const char sql[] =
		"SELECT admin_institution_add($1, $2, $3, $4, $5)";
	const Maillage__AdminInstitutionAdd *m = env->admin_institution_add;
	const char *p[5];
	struct admin_bad b = {0};
	struct req *r;

	r = admin_begin(c, env, ADMIN_ACT_INST_ADD, NULL, admin_s(m->code));
	if (r == NULL)
		return;
	p[0] = admin_s(m->code);
	p[1] = admin_s(m->name);
	p[2] = admin_s(m->kind);
	p[3] = admin_s(m->departement);
	p[4] = admin_s(m->contact);
	if (admin_check_institution(p[0], p[1], p[2], p[3], p[4], &b) != 0) {
		admin_refuse_bad(c, r, &b);
		return;
	}
	admin_data(r)->add = 1;
	admin_submit(c, r, admin_job(c, r, sql, 5, p, admin_inst_one_sql, p[0]),
		     admin_inst_done);
}

void admin_institution_set(struct conn *c, const Maillage__Envelope *env)
{
	static const char sql[] =
		"SELECT admin_institution_set($1, $2::boolean, $3::bigint)";
	const Maillage__AdminInstitutionSet *m = env->admin_institution_set;
	const char *code = admin_s(m->code);
	char caller[24];
	const char *p[3];
	struct admin_bad b = {0};
	struct req *r;

	r = admin_begin(c, env,
			m->enabled ? ADMIN_ACT_INST_ENABLE
				   : ADMIN_ACT_INST_DISABLE,
			NULL, code);
	if (r == NULL)
		return;
	if (!valid_institution_code(code)) {
		admin_bad(&b, "code",
			  "an institution code is 2 to 32 characters among "
			  "a-z, 0-9, '_' and '-'");
		admin_refuse_bad(c, r, &b);
		return;
	}
	p[0] = code;
	p[1] = m->enabled ? "true" : "false";
	p[2] = req_fmt_int(caller, c->account.institution_id);
	admin_submit(c, r, admin_job(c, r, sql, 3, p, admin_inst_one_sql, code),
		     admin_inst_done);
}

static void admin_inst_list_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__AdminInstitutionListResult lr =
		MAILLAGE__ADMIN_INSTITUTION_LIST_RESULT__INIT;
	Maillage__AdminInstitution *items = NULL, **ptrs = NULL;
	const PGresult *res;
	uint32_t limit = 0;
	size_t used = 0, size;
	int i, n;

	if (c == NULL)
		goto out;
	if (reply->status != DB_OK) {
		admin_db_failed(c, r, reply);
		return;
	}
	res = reply->results[0];
	n = PQntuples(res);
	limit = admin_data(r)->limit;
	items = calloc((size_t)n + 1, sizeof(*items));
	ptrs = calloc((size_t)n + 1, sizeof(*ptrs));
	if (items == NULL || ptrs == NULL) {
		req_oom(c, r->request_id);
		goto out;
	}
	for (i = 0; i < n && (uint32_t)i < limit; i++) {
		admin_inst_read(res, i, &items[i]);
		size = maillage__admin_institution__get_packed_size(&items[i]);
		if (!req_fits(c, used, size))
			break;
		used += size + 6;
		ptrs[lr.n_institutions++] = &items[i];
	}
	lr.institutions = ptrs;
	lr.more = i < n;
	env.body_case = MAILLAGE__ENVELOPE__BODY_ADMIN_INSTITUTION_LIST_RESULT;
	env.admin_institution_list_result = &lr;
	req_reply(c, r, &env);
out:
	free(items);
	free(ptrs);
	req_free(r);
}

void admin_institution_list(struct conn *c, const Maillage__Envelope *env)
{
	const Maillage__AdminInstitutionList *m = env->admin_institution_list;
	const char *after = admin_s(m->after);
	struct admin_bad b = {0};
	char lim[24];
	const char *p[2];
	struct db_job *job;
	uint32_t limit = 0;
	struct req *r;

	r = admin_begin(c, env, ADMIN_ACT_INST_LIST, NULL, NULL);
	if (r == NULL)
		return;
	if (after[0] != '\0' && !valid_institution_code(after)) {
		admin_bad(&b, "after", "not an institution code");
		admin_refuse_bad(c, r, &b);
		return;
	}
	if (admin_limit(c, m->limit, &limit, &b) != 0) {
		admin_refuse_bad(c, r, &b);
		return;
	}
	admin_data(r)->limit = limit;
	p[0] = after;
	p[1] = req_fmt_int(lim, (int64_t)limit + 1);
	job = db_job_new();
	if (job != NULL && (db_job_add(job, admin_inst_list_sql, 2, p) != 0 ||
			    admin_audit_add(job, c, r, "ok", NULL) != 0)) {
		db_job_free(job);
		job = NULL;
	}
	admin_submit(c, r, job, admin_inst_list_done);
}

/* ---- accounts -------------------------------------------------------- */

static void admin_acc_read(const PGresult *res, int row,
			   Maillage__AdminAccount *e)
{
	maillage__admin_account__init(e);
	e->login = req_str(res, row, 0);
	e->institution = req_str(res, row, 1);
	e->role = req_str(res, row, 2);
	e->display_name = req_str(res, row, 3);
	e->enabled = req_bool(res, row, 4);
	e->institution_enabled = req_bool(res, row, 5);
	e->cert_fingerprint = req_str(res, row, 6);
	e->cert_not_after = req_str(res, row, 7);
	e->created_at = req_str(res, row, 8);
	e->updated_at = req_str(res, row, 9);
}

/* Answer of add, set and rotate: [0] effect, [1] audit, [2] the account. */
static void admin_acc_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__AdminAccountResult ar = MAILLAGE__ADMIN_ACCOUNT_RESULT__INIT;
	Maillage__AdminAccount e;
	const PGresult *effect;

	if (c == NULL) {
		req_free(r);
		return;
	}
	if (reply->status != DB_OK) {
		admin_db_failed(c, r, reply);
		return;
	}
	if (reply->nresults < 3 || PQntuples(reply->results[2]) != 1) {
		admin_internal(c, r, "the account vanished");
		return;
	}
	effect = reply->results[0];
	admin_acc_read(reply->results[2], 0, &e);
	ar.account = &e;
	/* add returns an id, rotate nothing (a change), set a boolean. */
	ar.changed = admin_data(r)->add ||
		     strcmp(r->action, ADMIN_ACT_ACC_ROTATE) == 0 ||
		     (PQntuples(effect) == 1 && req_bool(effect, 0, 0));
	env.body_case = MAILLAGE__ENVELOPE__BODY_ADMIN_ACCOUNT_RESULT;
	env.admin_account_result = &ar;
	req_reply(c, r, &env);
	req_free(r);
}

/* The certificate of a request: 0 and `out`, or -1 with `b` filled. */
static int admin_request_cert(const struct conn *c, const char *pem,
			      struct admin_cert *out, struct admin_bad *b)
{
	X509_STORE *store = SSL_CTX_get_cert_store(c->srv->ssl_ctx);

	b->field = "cert";
	if (store == NULL) {
		snprintf(b->msg, sizeof(b->msg), "no CA store loaded");
		return -1;
	}
	return admin_cert_check(store, pem, strlen(pem), out, b->msg,
				sizeof(b->msg));
}

void admin_account_add(struct conn *c, const Maillage__Envelope *env)
{
	static const char sql[] = "SELECT admin_account_add($1, $2, $3, $4,"
				  " $5::timestamptz, $6)";
	const Maillage__AdminAccountAdd *m = env->admin_account_add;
	const char *login = admin_s(m->login);
	struct admin_bad b = {0};
	struct admin_cert cert;
	const char *p[6];
	struct req *r;

	r = admin_begin(c, env, ADMIN_ACT_ACC_ADD, login,
			admin_s(m->institution));
	if (r == NULL)
		return;
	if (admin_check_login(login, &b) != 0 ||
	    (!valid_institution_code(admin_s(m->institution)) &&
	     admin_bad(&b, "institution", "not an institution code") != 0) ||
	    (acl_role_from_name(admin_s(m->role)) < 0 &&
	     admin_bad(&b, "role",
		       "a role is partner, coordinator, auditor or admin") !=
		     0) ||
	    (!admin_valid_line(admin_s(m->display_name)) &&
	     admin_bad(&b, "display_name",
		       "a display name is one line of at most 200 "
		       "characters") != 0) ||
	    admin_request_cert(c, admin_s(m->cert), &cert, &b) != 0) {
		admin_refuse_bad(c, r, &b);
		return;
	}
	p[0] = login;
	p[1] = m->institution;
	p[2] = m->role;
	p[3] = cert.fingerprint;
	p[4] = cert.not_after;
	p[5] = admin_s(m->display_name);
	admin_data(r)->add = 1;
	admin_submit(c, r, admin_job(c, r, sql, 6, p, admin_acc_one_sql, login),
		     admin_acc_done);
}

void admin_account_set(struct conn *c, const Maillage__Envelope *env)
{
	static const char sql[] =
		"SELECT admin_account_set($1, $2::boolean, $3::bigint)";
	const Maillage__AdminAccountSet *m = env->admin_account_set;
	const char *login = admin_s(m->login);
	struct admin_bad b = {0};
	char caller[24];
	const char *p[3];
	struct req *r;

	r = admin_begin(c, env,
			m->enabled ? ADMIN_ACT_ACC_ENABLE
				   : ADMIN_ACT_ACC_DISABLE,
			login, NULL);
	if (r == NULL)
		return;
	if (admin_check_login(login, &b) != 0) {
		admin_refuse_bad(c, r, &b);
		return;
	}
	p[0] = login;
	p[1] = m->enabled ? "true" : "false";
	p[2] = req_fmt_int(caller, c->account.id);
	admin_submit(c, r, admin_job(c, r, sql, 3, p, admin_acc_one_sql, login),
		     admin_acc_done);
}

void admin_account_rotate(struct conn *c, const Maillage__Envelope *env)
{
	static const char sql[] = "SELECT admin_account_rotate($1, $2,"
				  " $3::timestamptz, $4::bigint)";
	const Maillage__AdminAccountRotate *m = env->admin_account_rotate;
	const char *login = admin_s(m->login);
	struct admin_bad b = {0};
	struct admin_cert cert;
	char caller[24];
	const char *p[4];
	struct req *r;

	r = admin_begin(c, env, ADMIN_ACT_ACC_ROTATE, login, NULL);
	if (r == NULL)
		return;
	if (admin_check_login(login, &b) != 0 ||
	    admin_request_cert(c, admin_s(m->cert), &cert, &b) != 0) {
		admin_refuse_bad(c, r, &b);
		return;
	}
	p[0] = login;
	p[1] = cert.fingerprint;
	p[2] = cert.not_after;
	p[3] = req_fmt_int(caller, c->account.id);
	admin_submit(c, r, admin_job(c, r, sql, 4, p, admin_acc_one_sql, login),
		     admin_acc_done);
}

static void admin_acc_list_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__AdminAccountListResult lr =
		MAILLAGE__ADMIN_ACCOUNT_LIST_RESULT__INIT;
	Maillage__AdminAccount *items = NULL, **ptrs = NULL;
	const PGresult *res;
	uint32_t limit = 0;
	size_t used = 0, size;
	int i, n;

	if (c == NULL)
		goto out;
	if (reply->status != DB_OK) {
		admin_db_failed(c, r, reply);
		return;
	}
	res = reply->results[1];
	n = PQntuples(res);
	limit = admin_data(r)->limit;
	items = calloc((size_t)n + 1, sizeof(*items));
	ptrs = calloc((size_t)n + 1, sizeof(*ptrs));
	if (items == NULL || ptrs == NULL) {
		req_oom(c, r->request_id);
		goto out;
	}
	for (i = 0; i < n && (uint32_t)i < limit; i++) {
		admin_acc_read(res, i, &items[i]);
		size = maillage__admin_account__get_packed_size(&items[i]);
		if (!req_fits(c, used, size))
			break;
		used += size + 6;
		ptrs[lr.n_accounts++] = &items[i];
	}
	lr.accounts = ptrs;
	lr.more = i < n;
	env.body_case = MAILLAGE__ENVELOPE__BODY_ADMIN_ACCOUNT_LIST_RESULT;
	env.admin_account_list_result = &lr;
	req_reply(c, r, &env);
out:
	free(items);
	free(ptrs);
	req_free(r);
}

void admin_account_list(struct conn *c, const Maillage__Envelope *env)
{
	static const char guard_sql[] =
		"SELECT admin_institution_guard($1) WHERE $1 <> ''";
	const Maillage__AdminAccountList *m = env->admin_account_list;
	const char *inst = admin_s(m->institution);
	const char *after = admin_s(m->after);
	struct admin_bad b = {0};
	char lim[24];
	const char *p[3];
	struct db_job *job;
	uint32_t limit = 0;
	struct req *r;

	r = admin_begin(c, env, ADMIN_ACT_ACC_LIST, NULL, inst);
	if (r == NULL)
		return;
	if ((inst[0] != '\0' && !valid_institution_code(inst) &&
	     admin_bad(&b, "institution", "not an institution code") != 0) ||
	    (after[0] != '\0' && !admin_valid_login(after) &&
	     admin_bad(&b, "after", "not a login") != 0) ||
	    admin_limit(c, m->limit, &limit, &b) != 0) {
		admin_refuse_bad(c, r, &b);
		return;
	}
	admin_data(r)->limit = limit;
	p[0] = inst;
	p[1] = after;
	p[2] = req_fmt_int(lim, (int64_t)limit + 1);
	job = db_job_new();
	if (job != NULL && (db_job_add(job, guard_sql, 1, p) != 0 ||
			    db_job_add(job, admin_acc_list_sql, 3, p) != 0 ||
			    admin_audit_add(job, c, r, "ok", NULL) != 0)) {
		db_job_free(job);
		job = NULL;
	}
	admin_submit(c, r, job, admin_acc_list_done);
}

/* ---- cutting connections ------------------------------------------------ */

static struct {
	struct server *srv;
	struct event *sweep;
	unsigned retries;   /* sweeps left while connections authenticate */
	unsigned running;   /* sweep queries in flight */
	int again;	    /* a sweep was asked for meanwhile */
	int authenticating; /* connections seen authenticating */
} adm;

/* One sweep query: the connections it asks about, by position. */
struct admin_sweep_job {
	size_t n;
	uint64_t conn_ids[ADMIN_SWEEP_CHUNK];
	int64_t account_ids[ADMIN_SWEEP_CHUNK];
};

/* Cut `c`, with an audit record of its own account, for `message`. */
static void admin_cut(struct conn *c, const char *message)
{
	struct audit_rec rec = {0};

	rec.action = ADMIN_ACT_REVOKED;
	rec.outcome = "refused";
	rec.error_code = "UNAUTHENTICATED";
	audit_submit(c, &rec);
	conn_revoke(c, message);
}

static void admin_sweep_schedule(unsigned ms)
{
	struct timeval tv = {(time_t)(ms / 1000),
			     (suseconds_t)(ms % 1000) * 1000};

	if (adm.sweep == NULL)
		return;
	if (adm.running > 0) {
		adm.again = 1;
		return;
	}
	if (!evtimer_pending(adm.sweep, NULL))
		evtimer_add(adm.sweep, &tv);
}

/* What a notification names, and the connections it cuts. */
struct admin_match {
	char kind;	  /* 'a' 'r' account, 'i' 'k' institution */
	int64_t id;	  /* account or institution id */
	const char *keep; /* 'a' with a fingerprint: spare that one */
	const char *message;
	unsigned cut;
};

static void admin_match_conn(struct conn *c, void *arg)
{
	struct admin_match *k = arg;
	int64_t id;

	if (c->state != CONN_READY || !c->authenticated)
		return;
	id = k->kind == 'i' || k->kind == 'k' ? c->account.institution_id
					      : c->account.id;
	if (id != k->id ||
	    (k->keep != NULL && strcmp(c->fingerprint, k->keep) == 0))
		return;
	admin_cut(c, k->message);
	k->cut++;
}

/* "a:ID", "a:ID:FP", "r:ID", "i:ID", "k:ID": 0, or -1 if malformed. */
static int admin_parse(const char *payload, struct admin_match *k)
{
	char fp[CERT_FINGERPRINT_LEN + 1];
	const char *p;
	char *end;

	memset(k, 0, sizeof(*k));
	if (strchr("arik", payload[0]) == NULL || payload[0] == '\0' ||
	    payload[1] != ':')
		return -1;
	k->kind = payload[0];
	errno = 0;
	k->id = strtoll(payload + 2, &end, 10);
	if (errno != 0 || end == payload + 2 || k->id <= 0)
		return -1;
	p = end;
	if (*p == ':' && k->kind == 'a' &&
	    cert_fingerprint_normalize(p + 1, fp) == 0 &&
	    strcmp(fp, p + 1) == 0) {
		k->keep = p + 1;
		k->message = "certificate replaced";
		return 0;
	}
	if (*p != '\0')
		return -1;
	switch (k->kind) {
	case 'a':
		k->message = "account disabled";
		break;
	case 'r':
		k->message = "account changed: connect again";
		break;
	case 'i':
		k->message = "institution disabled";
		break;
	default:
		k->message = "institution changed: connect again";
		break;
	}
	return 0;
}

static void admin_notified(void *arg, const char *payload)
{
	struct admin_match k;

	(void)arg;
	if (payload == NULL) {
		/* Subscribed (again): what was missed is found by a sweep. */
		admin_sweep_schedule(ADMIN_SWEEP_SOON_MS);
		return;
	}
	if (admin_parse(payload, &k) != 0) {
		log_warnx("admin: malformed notification ignored");
		return;
	}
	conn_foreach(admin_match_conn, &k);
	if (k.cut > 0)
		log_notice("admin: %u connection%s cut (%c:%" PRId64 ")", k.cut,
			   k.cut > 1 ? "s" : "", k.kind, k.id);
	adm.retries = ADMIN_SWEEP_RETRIES;
	admin_sweep_schedule(ADMIN_SWEEP_DELAY_MS);
}

static const char *admin_sweep_message(const char *reason)
{
	if (strcmp(reason, "institution") == 0)
		return "institution disabled";
	if (strcmp(reason, "certificate") == 0)
		return "certificate replaced";
	return "account disabled";
}

static void admin_sweep_done(void *arg, const struct db_reply *reply)
{
	struct admin_sweep_job *sj = arg;
	const PGresult *res;
	int i, n;

	if (adm.running > 0)
		adm.running--;
	if (reply->status != DB_OK) {
		log_warnx("admin: sweep failed: %s %s",
			  db_status_name(reply->status), reply->sqlstate);
		free(sj);
		return;
	}
	res = reply->results[0];
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		int64_t pos = req_int(res, i, 0);
		struct conn *c;

		if (pos < 1 || (size_t)pos > sj->n)
			continue;
		c = conn_find(sj->conn_ids[pos - 1]);
		if (c != NULL && c->state == CONN_READY &&
		    c->account.id == sj->account_ids[pos - 1])
			admin_cut(c, admin_sweep_message(req_str(res, i, 1)));
	}
	if (n > 0)
		log_notice("admin: sweep cut %d connection%s", n,
			   n > 1 ? "s" : "");
	free(sj);
	if (adm.running == 0 && adm.again) {
		adm.again = 0;
		admin_sweep_schedule(0);
	}
}

/* Gathers the ready connections into sweep queries. */
struct admin_sweep_walk {
	struct admin_sweep_job *cur;
	struct admin_sweep_job *full[64];
	size_t nfull;
	int oom;
};

static void admin_sweep_collect(struct conn *c, void *arg)
{
	struct admin_sweep_walk *w = arg;

	if (c->state == CONN_AUTH)
		adm.authenticating = 1;
	if (c->state != CONN_READY || !c->authenticated || w->oom)
		return;
	if (w->cur != NULL && w->cur->n == ADMIN_SWEEP_CHUNK) {
		if (w->nfull == sizeof(w->full) / sizeof(w->full[0])) {
			w->oom = 1; /* more than 64000: the rest next time */
			return;
		}
		w->full[w->nfull++] = w->cur;
		w->cur = NULL;
	}
	if (w->cur == NULL && (w->cur = calloc(1, sizeof(*w->cur))) == NULL) {
		w->oom = 1;
		return;
	}
	w->cur->conn_ids[w->cur->n] = c->id;
	w->cur->account_ids[w->cur->n] = c->account.id;
	w->cur->n++;
}

/* The two array literals of a sweep query, from the live connections. */
static int admin_sweep_submit(struct admin_sweep_job *sj)
{
	static const char sql[] =
		"SELECT pos, reason FROM admin_sweep($1::bigint[], $2::text[])";
	size_t ids_len = sj->n * 21 + 3, fps_len = sj->n * 65 + 3, i, a = 0,
	       f = 0;
	char *ids = malloc(ids_len), *fps = malloc(fps_len);
	const char *p[2];
	struct db_job *job = db_job_new();

	if (ids == NULL || fps == NULL || job == NULL)
		goto fail;
	ids[a++] = '{';
	fps[f++] = '{';
	for (i = 0; i < sj->n; i++) {
		struct conn *c = conn_find(sj->conn_ids[i]);
		const char *fp = c != NULL ? c->fingerprint : "";

		a += (size_t)snprintf(ids + a, ids_len - a, "%s%" PRId64,
				      i > 0 ? "," : "", sj->account_ids[i]);
		/* fingerprints are hex: no quoting needed; "" if gone */
		f += (size_t)snprintf(fps + f, fps_len - f, "%s%s",
				      i > 0 ? "," : "",
				      fp[0] != '\0' ? fp : "\"\"");
	}
	snprintf(ids + a, ids_len - a, "}");
	snprintf(fps + f, fps_len - f, "}");
	p[0] = ids;
	p[1] = fps;
	if (db_job_add(job, sql, 2, p) != 0)
		goto fail;
	free(ids);
	free(fps);
	adm.running++;
	db_submit(adm.srv->db, job, admin_sweep_done, sj);
	return 0;
fail:
	free(ids);
	free(fps);
	db_job_free(job);
	free(sj);
	return -1;
}

static void admin_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct admin_sweep_walk w;
	size_t i;

	(void)fd;
	(void)what;
	(void)arg;
	if (db_pool_up(adm.srv->db) == 0)
		return; /* the next subscription sweeps */
	memset(&w, 0, sizeof(w));
	adm.authenticating = 0;
	conn_foreach(admin_sweep_collect, &w);
	if (w.cur != NULL && w.nfull < sizeof(w.full) / sizeof(w.full[0]))
		w.full[w.nfull++] = w.cur;
	else
		free(w.cur);
	for (i = 0; i < w.nfull; i++)
		if (admin_sweep_submit(w.full[i]) != 0)
			log_warnx("admin: out of memory for a sweep");
	/*
	 * A connection authenticating now may have read its account before
	 * the change committed: look again in a moment, a few times.
	 */
	if (adm.authenticating && adm.retries > 0) {
		adm.retries--;
		admin_sweep_schedule(ADMIN_SWEEP_DELAY_MS);
	}
}

int admin_start(struct server *srv)
{
	memset(&adm, 0, sizeof(adm));
	adm.srv = srv;
	adm.sweep = evtimer_new(srv->base, admin_sweep_cb, NULL);
	if (adm.sweep == NULL ||
	    db_pool_listen(srv->db, ADMIN_CHANNEL, admin_notified, NULL) != 0) {
		admin_stop();
		return -1;
	}
	return 0;
}

void admin_stop(void)
{
	if (adm.sweep != NULL)
		event_free(adm.sweep);
	adm.sweep = NULL;
}

/* ---- bootstrap-admin ------------------------------------------------- */

struct admin_boot {
	const char *login, *code, *cert_path, *name, *kind, *dep, *contact,
		*display;
	struct admin_cert cert;
	char peer[48];
	char instance[64];
};

static void admin_boot_usage(FILE *f)
{
	fprintf(f,
		"usage: maillaged [-c FILE] bootstrap-admin LOGIN "
		"--institution "
		"CODE\n"
		"           --cert FILE.pem [--display-name NAME]\n"
		"           [--name NAME --kind KIND --departement DEP "
		"[--contact TEXT]]\n"
		"\n"
		"Create an admin account LOGIN of institution CODE, bound to "
		"the client\n"
		"certificate FILE.pem (issued by the network CA of [tls] ca), "
		"straight in\n"
		"the database of [database] conninfo: run it on the server "
		"host, for the\n"
		"first admin or when no admin can connect. With --name, --kind "
		"and\n"
		"--departement, the institution is created if it does not "
		"exist.\n");
}

static X509_STORE *admin_boot_store(const struct config *cfg)
{
	X509_STORE *store = X509_STORE_new();
	X509_LOOKUP *lookup;

	if (store == NULL || X509_STORE_load_file(store, cfg->tls_ca) != 1) {
		fprintf(stderr,
			"maillaged: bootstrap-admin: cannot load CA %s\n",
			cfg->tls_ca);
		goto fail;
	}
	if (cfg->tls_crl[0] != '\0') {
		lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
		if (lookup == NULL ||
		    X509_load_crl_file(lookup, cfg->tls_crl,
				       X509_FILETYPE_PEM) <= 0) {
			fprintf(stderr,
				"maillaged: bootstrap-admin: cannot load CRL "
				"%s\n",
				cfg->tls_crl);
			goto fail;
		}
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK |
						    X509_V_FLAG_CRL_CHECK_ALL);
	}
	return store;
fail:
	ERR_clear_error();
	X509_STORE_free(store);
	return NULL;
}

/* Read the certificate file and check it; 0, or -1 (printed). */
static int admin_boot_cert(const struct config *cfg, struct admin_boot *b)
{
	char buf[ADMIN_CERT_MAX + 1], msg[ADMIN_MSG_MAX];
	X509_STORE *store;
	size_t n;
	FILE *f = fopen(b->cert_path, "r");
	int rc;

	if (f == NULL) {
		fprintf(stderr, "maillaged: bootstrap-admin: %s: %s\n",
			b->cert_path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	store = admin_boot_store(cfg);
	if (store == NULL)
		return -1;
	rc = admin_cert_check(store, buf, n, &b->cert, msg, sizeof(msg));
	X509_STORE_free(store);
	if (rc != 0)
		fprintf(stderr, "maillaged: bootstrap-admin: --cert %s: %s\n",
			b->cert_path, msg);
	return rc;
}

static int admin_boot_args(int argc, char **argv, struct admin_boot *b)
{
	static const struct option opts[] = {
		{"institution", required_argument, NULL, 'i'},
		{"cert", required_argument, NULL, 'C'},
		{"name", required_argument, NULL, 'n'},
		{"kind", required_argument, NULL, 'k'},
		{"departement", required_argument, NULL, 'd'},
		{"contact", required_argument, NULL, 't'},
		{"display-name", required_argument, NULL, 'D'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct admin_bad bad = {0};
	int ch;

	optind = 0; /* full reset of GNU getopt */
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			b->code = optarg;
			break;
		case 'C':
			b->cert_path = optarg;
			break;
		case 'n':
			b->name = optarg;
			break;
		case 'k':
			b->kind = optarg;
			break;
		case 'd':
			b->dep = optarg;
			break;
		case 't':
			b->contact = optarg;
			break;
		case 'D':
			b->display = optarg;
			break;
		case 'h':
			admin_boot_usage(stdout);
			return 0;
		default:
			admin_boot_usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || b->code == NULL || b->cert_path == NULL) {
		admin_boot_usage(stderr);
		return 2;
	}
	b->login = argv[optind];
	if (admin_check_login(b->login, &bad) != 0)
		goto bad;
	if (!valid_institution_code(b->code)) {
		admin_bad(&bad, "institution", "not an institution code");
		goto bad;
	}
	if (b->name != NULL || b->kind != NULL || b->dep != NULL ||
	    b->contact != NULL) {
		if (b->name == NULL || b->kind == NULL || b->dep == NULL) {
			admin_bad(&bad, "name",
				  "--name, --kind and --departement go "
				  "together");
			goto bad;
		}
		if (admin_check_institution(b->code, b->name, b->kind, b->dep,
					    admin_s(b->contact), &bad) != 0)
			goto bad;
	}
	if (b->display != NULL && !admin_valid_line(b->display)) {
		admin_bad(&bad, "display-name",
			  "one line of at most 200 characters");
		goto bad;
	}
	return -1;
bad:
	if (strcmp(bad.field, "login") == 0)
		fprintf(stderr, "maillaged: bootstrap-admin: LOGIN: %s\n",
			bad.msg);
	else
		fprintf(stderr, "maillaged: bootstrap-admin: --%s: %s\n",
			bad.field, bad.msg);
	return 2;
}

/* Run a statement; its result, or NULL after printing the error. */
static PGresult *admin_boot_exec(PGconn *pg, const char *sql, int n,
				 const char *const *p, const char *what)
{
	PGresult *res = PQexecParams(pg, sql, n, NULL, p, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	const char *field, *msg;

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;
	field = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
	msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	/* the request fields of a typed error, as options of this command */
	if (field != NULL && strcmp(field, "login") == 0)
		field = "LOGIN: ";
	else if (field != NULL && strcmp(field, "cert") == 0)
		field = "--cert: ";
	else if (field != NULL && (strcmp(field, "code") == 0 ||
				   strcmp(field, "institution") == 0))
		field = "--institution: ";
	else
		field = "";
	fprintf(stderr, "maillaged: bootstrap-admin: %s: %s%s\n", what, field,
		msg != NULL ? msg : PQerrorMessage(pg));
	PQclear(res);
	return NULL;
}

static int admin_boot_ok(PGconn *pg, const char *sql, int n,
			 const char *const *p, const char *what)
{
	PGresult *res = admin_boot_exec(pg, sql, n, p, what);

	PQclear(res);
	return res != NULL ? 0 : -1;
}

/* An audit record of the bootstrap: no account acted, the host did. */
static int admin_boot_audit(PGconn *pg, const struct admin_boot *b,
			    const char *action)
{
	static const char sql[] =
		"INSERT INTO audit_event (action, outcome, peer, instance,"
		" target_account_id, target_institution_id)"
		" SELECT $1, 'ok', $2, $3, ta.id, ti.id"
		" FROM (SELECT 1) AS one"
		" LEFT JOIN account ta ON ta.login = $4"
		" LEFT JOIN institution ti ON ti.code = $5";
	const char *p[5];

	p[0] = action;
	p[1] = b->peer;
	p[2] = b->instance;
	p[3] = strcmp(action, ADMIN_ACT_BOOTSTRAP) == 0 ? b->login : NULL;
	p[4] = b->code;
	return admin_boot_ok(pg, sql, 5, p, "audit");
}

/* The institution: exists (enabled or not), or created. 0, or -1. */
static int admin_boot_institution(PGconn *pg, const struct admin_boot *b)
{
	static const char find[] =
		"SELECT enabled FROM institution WHERE code = $1";
	static const char add[] =
		"SELECT admin_institution_add($1, $2, $3, $4, $5)";
	const char *p[5] = {b->code, b->name, b->kind, b->dep,
			    admin_s(b->contact)};
	PGresult *res = admin_boot_exec(pg, find, 1, p, "institution");
	int exists, enabled;

	if (res == NULL)
		return -1;
	exists = PQntuples(res) == 1;
	enabled = exists && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (exists) {
		if (b->name != NULL)
			fprintf(stderr,
				"maillaged: bootstrap-admin: institution %s "
				"exists: --name, --kind, --departement and "
				"--contact ignored\n",
				b->code);
		if (!enabled)
			fprintf(stderr,
				"maillaged: bootstrap-admin: warning: "
				"institution %s is disabled: its accounts "
				"cannot connect until it is enabled\n",
				b->code);
		return 0;
	}
	if (b->name == NULL) {
		fprintf(stderr,
			"maillaged: bootstrap-admin: no institution %s: give "
			"--name, --kind and --departement to create it\n",
			b->code);
		return -1;
	}
	if (admin_boot_ok(pg, add, 5, p, "institution") != 0 ||
	    admin_boot_audit(pg, b, ADMIN_ACT_INST_ADD) != 0)
		return -1;
	printf("institution %s created\n", b->code);
	return 0;
}

static int admin_boot_run(PGconn *pg, const struct admin_boot *b)
{
	static const char check[] =
		"SELECT to_regproc('admin_account_add') IS NOT NULL";
	static const char add[] = "SELECT admin_account_add($1, $2, 'admin',"
				  " $3, $4::timestamptz, $5)";
	const char *p[5] = {b->login, b->code, b->cert.fingerprint,
			    b->cert.not_after, admin_s(b->display)};
	PGresult *res;
	int migrated;

	res = admin_boot_exec(pg, check, 0, NULL, "schema");
	if (res == NULL)
		return -1;
	migrated = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (!migrated) {
		fprintf(stderr, "maillaged: bootstrap-admin: the database is "
				"not migrated: run `maillaged migrate` "
				"first\n");
		return -1;
	}
	if (admin_boot_ok(pg, "BEGIN", 0, NULL, "begin") != 0)
		return -1;
	if (admin_boot_institution(pg, b) != 0 ||
	    admin_boot_ok(pg, add, 5, p, "account") != 0 ||
	    admin_boot_audit(pg, b, ADMIN_ACT_BOOTSTRAP) != 0 ||
	    admin_boot_ok(pg, "COMMIT", 0, NULL, "commit") != 0) {
		PQclear(PQexec(pg, "ROLLBACK"));
		return -1;
	}
	printf("admin %s created at %s\n"
	       "certificate %s, valid until %s\n",
	       b->login, b->code, b->cert.fingerprint, b->cert.not_after);
	return 0;
}

int admin_bootstrap(const struct config *cfg, int argc, char **argv)
{
	struct admin_boot b;
	PGconn *pg;
	int rc;

	memset(&b, 0, sizeof(b));
	rc = admin_boot_args(argc, argv, &b);
	if (rc >= 0)
		return rc;
	if (cfg->db_conninfo[0] == '\0' || cfg->tls_ca[0] == '\0') {
		fprintf(stderr, "maillaged: bootstrap-admin: [database] "
				"conninfo and [tls] ca are required\n");
		return 2;
	}
	if (admin_boot_cert(cfg, &b) != 0)
		return 1;
	snprintf(b.peer, sizeof(b.peer), "local:uid=%ld", (long)getuid());
	if (cfg->instance_id[0] != '\0') {
		snprintf(b.instance, sizeof(b.instance), "%s",
			 cfg->instance_id);
	} else {
		char host[48] = "localhost";
		gethostname(host, sizeof(host) - 1);
		snprintf(b.instance, sizeof(b.instance), "%s", host);
	}
	pg = PQconnectdb(cfg->db_conninfo);
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr,
			"maillaged: bootstrap-admin: cannot connect: %s",
			PQerrorMessage(pg));
		PQfinish(pg);
		return 1;
	}
	PQclear(PQexec(pg, "SET client_min_messages = warning"));
	rc = admin_boot_run(pg, &b) == 0 ? 0 : 1;
	PQfinish(pg);
	return rc;
}
