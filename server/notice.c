/*
 * notice: the requests about referral notices; see notice.h. Each handler
 * checks the caller's role (acl) and the shape of every field (valid) in C,
 * reads what its decision needs in a first read-only job, decides with acl,
 * then submits its effect and its audit record in one job. Sending ends in
 * notice_send_tx() and acknowledging in notice_ack_tx() (sql/003), which
 * re-check in the database what a concurrent request could have changed
 * and raise typed errors. Names and free texts are never logged nor put in
 * an error message: messages name fields, codes and ids only.
 */
#include "notice.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acl.h"
#include "audit.h"
#include "conn.h"
#include "log.h"
#include "match.h"
#include "policy.h"
#include "req.h"
#include "server.h"
#include "valid.h"

#include <openssl/crypto.h>

#define NOTICE_NAME_MAX 200 /* bytes of a name or of a place */
#define NOTICE_NOTE_MAX 2000
#define NOTICE_LANGUAGES_MAX 8
#define NOTICE_AGE_MAX 30
#define NOTICE_LIST_DEFAULT 100
#define NOTICE_INDICATOR_ROWS_MAX 2000
#define NOTICE_CATEGORY_MAX 40
#define NOTICE_MSG_MAX 192

#define NOTICE_ACT_SEND "notice.send"
#define NOTICE_ACT_INBOX "inbox"
#define NOTICE_ACT_ACK "ack"
#define NOTICE_ACT_INDICATORS "indicators"

#define EC_BAD_REQUEST MAILLAGE__ERROR_CODE__BAD_REQUEST
#define EC_NOT_FOUND MAILLAGE__ERROR_CODE__NOT_FOUND
#define EC_CONFLICT MAILLAGE__ERROR_CODE__CONFLICT
#define EC_UNAVAILABLE MAILLAGE__ERROR_CODE__UNAVAILABLE
#define EC_INTERNAL MAILLAGE__ERROR_CODE__INTERNAL
#define EC_NONE MAILLAGE__ERROR_CODE__ERROR_CODE_UNSPECIFIED

/* ---- shared helpers ------------------------------------------------- */

/* A refusal being built: the field at fault and a message for humans. */
struct notice_bad {
	const char *field;
	char msg[NOTICE_MSG_MAX];
};

static int notice_bad(struct notice_bad *b, const char *field, const char *fmt,
		      ...) __attribute__((format(printf, 3, 4)));

static int notice_bad(struct notice_bad *b, const char *field, const char *fmt,
		      ...)
{
	va_list ap;

	b->field = field;
	va_start(ap, fmt);
	vsnprintf(b->msg, sizeof(b->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static const char *notice_s(const char *s)
{
	return s != NULL ? s : "";
}

/* The caller as acl sees it, when its role may do `op`; else refused. */
static int notice_subject(struct conn *c, uint64_t request_id,
			  const char *action, enum acl_op op,
			  struct acl_subject *s)
{
	if (req_subject(c, s) != 0 || acl_role_may(s->role, op) != ACL_ALLOW) {
		req_refuse_early(c, request_id, action,
				 MAILLAGE__ERROR_CODE__FORBIDDEN, NULL,
				 "this account may not do this");
		return -1;
	}
	return 0;
}

/* The need-to-know matrices, or NULL after refusing with UNAVAILABLE. */
static const struct acl_policy *
notice_policy(struct conn *c, uint64_t request_id, const char *action)
{
	const struct acl_policy *p = policy_current(c->srv);

	if (p == NULL)
		req_refuse_early(c, request_id, action, EC_UNAVAILABLE, NULL,
				 "access rules not loaded yet, retry later");
	return p;
}

/* A result that cannot be: logged (no values), answered INTERNAL. */
static void notice_internal(struct conn *c, const struct req *r,
			    const char *what)
{
	log_warnx("conn %" PRIu64 " request %" PRIu64 " %s: %s", c->id,
		  r->request_id, r->action, what);
	req_refuse(c, r, EC_INTERNAL, NULL, "internal error");
}

/*
 * The latest calendar date a client may state: tomorrow in UTC, so that
 * "today" is accepted in every time zone of the network.
 */
static void notice_date_limit(char out[11])
{
	time_t t = time(NULL) + 86400;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 11, "%Y-%m-%d", &tm) != 10)
		snprintf(out, 11, "2100-12-31");
}

/* The array literal of `n` checked codes, allocated; NULL if no memory. */
static char *notice_literal(char *const *vals, size_t n)
{
	size_t len = 3, i;
	char *out;

	for (i = 0; i < n; i++)
		len += strlen(vals[i]) + 3; /* quotes and separator */
	out = malloc(len);
	if (out != NULL &&
	    valid_array_literal((const char *const *)vals, n, out, len) != 0) {
		free(out);
		out = NULL;
	}
	return out;
}

/* ---- notice send: checks ---------------------------------------------- */

/* What the checks found, by code. */
struct notice_codes {
	enum acl_notice_kind kind;
	enum acl_urgency urgency;
	enum acl_visibility visibility;
	enum acl_basis basis;
	const char *informed; /* "t", "f" or NULL */
};

static int notice_check_key(const char *key, struct notice_bad *b)
{
	if (key[0] == '\0')
		return notice_bad(b, "idempotency_key",
				  "an idempotency key is required");
	if (!valid_idempotency_key(key))
		return notice_bad(b, "idempotency_key",
				  "an idempotency key is 1 to 128 characters "
				  "among A-Z a-z 0-9 . _ : -");
	return 0;
}

static int notice_check_to(const struct conn *c, const Maillage__NoticeSend *m,
			   struct notice_bad *b)
{
	size_t i, j;

	if (m->n_to == 0)
		return notice_bad(b, "to",
				  "at least one recipient institution is "
				  "required");
	if (m->n_to > c->srv->cfg.notice_recipients_max)
		return notice_bad(b, "to", "at most %u recipient institutions",
				  c->srv->cfg.notice_recipients_max);
	for (i = 0; i < m->n_to; i++) {
		const char *code = notice_s(m->to[i]);
		if (!valid_institution_code(code))
			return notice_bad(b, "to",
					  "recipient %zu is not an institution "
					  "code",
					  i + 1);
		if (strcmp(code, c->account.institution) == 0)
			return notice_bad(b, "to",
					  "a notice cannot be addressed to the "
					  "sender's own institution");
		for (j = 0; j < i; j++) {
			if (strcmp(code, notice_s(m->to[j])) == 0)
				return notice_bad(b, "to",
						  "institution %s is listed "
						  "twice",
						  code);
		}
	}
	return 0;
}

static int notice_check_indicators(const struct conn *c,
				   const Maillage__NoticeSend *m,
				   struct notice_bad *b)
{
	size_t i, j;

	if (m->n_indicators > c->srv->cfg.notice_indicators_max)
		return notice_bad(b, "indicators", "at most %u indicators",
				  c->srv->cfg.notice_indicators_max);
	for (i = 0; i < m->n_indicators; i++) {
		const char *code = notice_s(m->indicators[i]);
		if (!valid_indicator_code(code))
			return notice_bad(b, "indicators",
					  "indicator %zu is not an indicator "
					  "code",
					  i + 1);
		for (j = 0; j < i; j++) {
			if (strcmp(code, notice_s(m->indicators[j])) == 0)
				return notice_bad(b, "indicators",
						  "indicator %s is listed "
						  "twice",
						  code);
		}
	}
	return 0;
}

static int notice_check_line(const char *s, const char *field,
			     struct notice_bad *b)
{
	if (!valid_text(s, NOTICE_NAME_MAX, 0))
		return notice_bad(b, field,
				  "%s is at most %d bytes of UTF-8 on one line",
				  field, NOTICE_NAME_MAX);
	return 0;
}

/* Does the identity say anything at all? */
static int notice_identity_given(const Maillage__Identity *id)
{
	return notice_s(id->given_name)[0] != '\0' ||
	       notice_s(id->family_name)[0] != '\0' ||
	       notice_s(id->birth_date)[0] != '\0' || id->declared_age != 0 ||
	       notice_s(id->age_declared_on)[0] != '\0' ||
	       notice_s(id->sex)[0] != '\0' ||
	       notice_s(id->nationality)[0] != '\0' || id->n_languages > 0 ||
	       notice_s(id->place_seen)[0] != '\0';
}

static int notice_check_age(const Maillage__Identity *id, const char *limit,
			    struct notice_bad *b)
{
	const char *bd = notice_s(id->birth_date);
	const char *on = notice_s(id->age_declared_on);

	if (bd[0] != '\0') {
		if (!valid_partial_date(bd))
			return notice_bad(b, "birth_date",
					  "birth_date is YYYY, YYYY-MM or "
					  "YYYY-MM-DD, a real date");
		if (strncmp(bd, limit, strlen(bd)) > 0)
			return notice_bad(b, "birth_date",
					  "birth_date is in the future");
		if (id->declared_age != 0)
			return notice_bad(b, "declared_age",
					  "give birth_date or declared_age, "
					  "not both");
	}
	if (id->declared_age > NOTICE_AGE_MAX)
		return notice_bad(b, "declared_age",
				  "declared_age is between 1 and %d",
				  NOTICE_AGE_MAX);
	if (on[0] != '\0') {
		if (id->declared_age == 0)
			return notice_bad(b, "age_declared_on",
					  "age_declared_on goes with "
					  "declared_age");
		if (!valid_date(on))
			return notice_bad(b, "age_declared_on",
					  "age_declared_on is a real date "
					  "YYYY-MM-DD");
		if (strcmp(on, limit) > 0)
			return notice_bad(b, "age_declared_on",
					  "age_declared_on is in the future");
	}
	return 0;
}

static int notice_check_languages(const Maillage__Identity *id,
				  struct notice_bad *b)
{
	size_t i, j;

	if (id->n_languages > NOTICE_LANGUAGES_MAX)
		return notice_bad(b, "languages", "at most %d languages",
				  NOTICE_LANGUAGES_MAX);
	for (i = 0; i < id->n_languages; i++) {
		const char *l = notice_s(id->languages[i]);
		if (!valid_language(l))
			return notice_bad(b, "languages",
					  "language %zu is not an ISO 639 code "
					  "in lower case",
					  i + 1);
		for (j = 0; j < i; j++) {
			if (strcmp(l, notice_s(id->languages[j])) == 0)
				return notice_bad(b, "languages",
						  "language %s is listed twice",
						  l);
		}
	}
	return 0;
}

static int notice_check_identity(const Maillage__Identity *id,
				 struct notice_bad *b)
{
	const char *sex = notice_s(id->sex);
	const char *nat = notice_s(id->nationality);
	char limit[11];

	if (!notice_identity_given(id))
		return notice_bad(b, "identity",
				  "the identity is empty: give at least one of "
				  "its fields");
	notice_date_limit(limit);
	if (notice_check_line(id->given_name, "given_name", b) != 0 ||
	    notice_check_line(id->family_name, "family_name", b) != 0 ||
	    notice_check_age(id, limit, b) != 0)
		return -1;
	if (sex[0] != '\0' && strcmp(sex, "F") != 0 && strcmp(sex, "M") != 0)
		return notice_bad(b, "sex", "sex is F, M or empty");
	if (nat[0] != '\0' && !valid_country(nat))
		return notice_bad(b, "nationality",
				  "nationality is an ISO 3166-1 alpha-2 code "
				  "in upper case");
	if (notice_check_languages(id, b) != 0 ||
	    notice_check_line(id->place_seen, "place_seen", b) != 0)
		return -1;
	return 0;
}

static int notice_check_person(const Maillage__NoticeSend *m,
			       struct notice_bad *b)
{
	if (m->person_id < 0)
		return notice_bad(b, "person_id", "a person id is positive");
	if (m->person_id > 0 && m->identity != NULL)
		return notice_bad(b, "person",
				  "give person_id or identity, not both");
	if (m->person_id == 0 && m->identity == NULL)
		return notice_bad(b, "person",
				  "give person_id or identity: the notice "
				  "must be about someone");
	if (m->identity != NULL)
		return notice_check_identity(m->identity, b);
	return 0;
}

static int notice_check_codes(const Maillage__NoticeSend *m,
			      struct notice_codes *k, struct notice_bad *b)
{
	const char *urgency = notice_s(m->urgency);
	const char *vis = notice_s(m->visibility);
	const char *basis = notice_s(m->basis);
	int v;

	v = acl_notice_kind_from_name(notice_s(m->kind));
	if (v < 0)
		return notice_bad(b, "kind", "%s",
				  notice_s(m->kind)[0] == '\0'
					  ? "the notice kind is required"
					  : "unknown notice kind");
	k->kind = (enum acl_notice_kind)v;
	v = urgency[0] == '\0' ? ACL_URGENCY_NORMAL
			       : acl_urgency_from_name(urgency);
	if (v < 0)
		return notice_bad(b, "urgency", "urgency is normal or urgent");
	k->urgency = (enum acl_urgency)v;
	v = vis[0] == '\0' ? ACL_VIS_GENERAL : acl_visibility_from_name(vis);
	if (v < 0)
		return notice_bad(b, "visibility",
				  "visibility is general, social, health or "
				  "judicial");
	k->visibility = (enum acl_visibility)v;
	v = basis[0] == '\0' ? (int)acl_default_basis(k->kind)
			     : acl_basis_from_name(basis);
	if (v < 0)
		return notice_bad(b, "basis", "unknown legal basis");
	k->basis = (enum acl_basis)v;
	return 0;
}

static int notice_check_informed(const Maillage__NoticeSend *m,
				 struct notice_codes *k, struct notice_bad *b)
{
	const char *informed = notice_s(m->informed);
	const char *note = notice_s(m->informed_note);

	if (informed[0] == '\0')
		k->informed = NULL;
	else if (strcmp(informed, "yes") == 0)
		k->informed = "t";
	else if (strcmp(informed, "no") == 0)
		k->informed = "f";
	else
		return notice_bad(b, "informed",
				  "informed is yes, no or empty");
	if (!valid_text(note, NOTICE_NOTE_MAX, 1))
		return notice_bad(b, "informed_note",
				  "informed_note is at most %d bytes of UTF-8 "
				  "text",
				  NOTICE_NOTE_MAX);
	if (k->informed != NULL && k->informed[0] == 'f' && note[0] == '\0')
		return notice_bad(b, "informed_note",
				  "informed \"no\" needs informed_note: why "
				  "the young person was not informed");
	return 0;
}

static int notice_check_text(const struct conn *c, const char *text,
			     struct notice_bad *b)
{
	uint32_t max = c->srv->cfg.notice_text_max;

	if (strlen(text) > max)
		return notice_bad(b, "text", "the text is longer than %u bytes",
				  max);
	if (!valid_text(text, max, 1))
		return notice_bad(b, "text",
				  "the text is UTF-8 without control "
				  "characters other than tab and line breaks");
	return 0;
}

/* Every field, in the order of the message; -1 with `b` filled. */
static int notice_send_check(const struct conn *c,
			     const Maillage__NoticeSend *m,
			     struct notice_codes *k, struct notice_bad *b)
{
	if (notice_check_key(notice_s(m->idempotency_key), b) != 0 ||
	    notice_check_codes(m, k, b) != 0 || notice_check_to(c, m, b) != 0 ||
	    notice_check_person(m, b) != 0 ||
	    notice_check_indicators(c, m, b) != 0 ||
	    notice_check_text(c, notice_s(m->text), b) != 0 ||
	    notice_check_informed(m, k, b) != 0)
		return -1;
	return 0;
}

/* ---- notice send: jobs ------------------------------------------------ */

/* Parameters of notice_send_sql, in order. */
enum notice_param {
	NP_NOTICE_ID = 0,
	NP_IDENTITY_ID,
	NP_ACCOUNT,
	NP_KEY,
	NP_PERSON,
	NP_KIND,
	NP_URGENCY,
	NP_VISIBILITY,
	NP_BASIS,
	NP_INFORMED,
	NP_INFORMED_NOTE,
	NP_BODY,
	NP_RECIPIENTS,
	NP_INDICATORS,
	NP_REQUIRE_PARTY,
	NP_LEAD,
	NP_HAS_NAME,
	NP_GIVEN_NAME,
	NP_FAMILY_NAME,
	NP_BIRTH_DATE,
	NP_DECLARED_AGE,
	NP_AGE_DECLARED_ON,
	NP_SEX,
	NP_NATIONALITY,
	NP_LANGUAGES,
	NP_PLACE_SEEN,
	NP_LOGIN,
	NP_INSTITUTION,
	NP_ROLE,
	NP_PEER,
	NP_REQUEST_ID,
	NP_INSTANCE,
	NP_FINGERPRINT,
	NP_ACTION,
	NP_COUNT
};

/*
 * The notice and its audit record, in one statement: the audit row takes
 * the ids notice_send_tx() returns. Its columns are those audit.c fills.
 */
static const char notice_send_sql[] =
	"WITH r AS (SELECT * FROM notice_send_tx($1::bigint, $2::bigint,"
	" $3::bigint, $4, $5::bigint, $6, $7, $8, $9, $10::boolean, $11::bytea,"
	" $12::bytea, $13::bigint[], $14::text[], $15::boolean, $16::bigint,"
	" $17::boolean, $18::bytea, $19::bytea, $20::bytea, $21::smallint,"
	" $22::date, $23, $24, $25::text[], $26::bytea)),"
	" a AS (INSERT INTO audit_event (account_id, login, institution_code,"
	" role, action, outcome, error_code, peer, request_id, instance,"
	" cert_fingerprint, case_id, notice_id, person_id)"
	" SELECT $3::bigint, $27, $28, $29, $34, 'ok', NULL, $30, $31::bigint,"
	" $32, $33, r.case_id, r.notice_id, r.person_id FROM r)"
	" SELECT notice_id, case_id, person_id, replayed, new_case, new_person"
	" FROM r";

/* Facts: each recipient code, in order, with its institution if any. */
static const char notice_facts_to_sql[] =
	"SELECT t.code, i.id, i.kind, i.enabled"
	" FROM unnest($1::text[]) WITH ORDINALITY AS t(code, n)"
	" LEFT JOIN institution i ON i.code = t.code ORDER BY t.n";

/* Facts: the first indicator code that is unknown (true) or retired. */
static const char notice_facts_ind_sql[] =
	"SELECT t.code, d.code IS NULL"
	" FROM unnest($1::text[]) WITH ORDINALITY AS t(code, n)"
	" LEFT JOIN indicator d ON d.code = t.code"
	" WHERE d.code IS NULL OR d.retired ORDER BY t.n LIMIT 1";

/* Facts: the person, whether the caller's institution is a party of its
 * open case (or, when it has none, of one of its closed cases: the notice
 * then opens a new case), its open case and that case's lead. */
static const char notice_facts_person_sql[] =
	"SELECT p.id, CASE WHEN oc.id IS NOT NULL THEN EXISTS (SELECT 1"
	" FROM case_party cp WHERE cp.case_id = oc.id"
	" AND cp.institution_id = a.institution_id)"
	" ELSE EXISTS (SELECT 1 FROM case_file cf"
	" JOIN case_party cp ON cp.case_id = cf.id"
	" WHERE cf.person_id = p.id AND cp.institution_id = a.institution_id)"
	" END, oc.id, oc.lead_institution_id"
	" FROM person p JOIN account a ON a.id = $2::bigint"
	" LEFT JOIN case_file oc ON oc.person_id = p.id AND oc.status = 'open'"
	" WHERE p.id = $1::bigint";

/* Facts: the ids of the notice and identity rows, drawn now so that their
 * sealed texts name them (vault.h); unused ids are lost, as sequences do. */
static const char notice_facts_ids_sql[] =
	"SELECT nextval('notice_id_seq'), nextval('identity_assertion_id_seq')";

/* Facts: a notice already stored under the caller's key. */
static const char notice_facts_key_sql[] =
	"SELECT n.id, n.case_id, n.person_id FROM notice n"
	" WHERE n.sender_account_id = $1::bigint AND n.idempotency_key = $2";

/* The candidates found for the new identity (match.h). */
struct notice_match {
	struct match_candidate c[MATCH_CANDIDATES_MAX];
	int n;
};

/* The state of a send between its two jobs (the req's extra bytes). */
struct notice_send {
	char *p[NP_COUNT]; /* notice_send_sql parameters, owned; NULL: NULL */
	char *to_codes;	   /* recipient codes, as an array literal */
	size_t n_to;
	int64_t person_id; /* 0: a new person from the identity */
	enum acl_basis basis;
	enum acl_visibility visibility;
	struct acl_subject subject;
	struct server *srv;
	int64_t inst_id;      /* the sender's institution */
	struct audit_who who; /* the sender, for a record after it left */
	/* a new identity to store and search (match.h), or NULL */
	struct match_query *mq;
	char *match_rec;	  /* its encoding, sealed for its row */
	char *match_keys;	  /* stored blocking keys, bigint[] literal */
	char *match_qkeys;	  /* the keys that meet stored ones */
	char *match_ckeys;	  /* its names' counting keys */
	struct notice_match *nm;  /* ranked, while the policy links (or NULL) */
	int new_case, new_person; /* what the store said, for the answer */
};

static void notice_send_free(struct req *r)
{
	struct notice_send *st = r->data;
	int i;

	for (i = 0; i < NP_COUNT; i++)
		vault_free_text(st->p[i]);
	if (st->mq != NULL)
		OPENSSL_cleanse(st->mq, sizeof(*st->mq));
	free(st->mq);
	free(st->match_rec);
	free(st->match_keys);
	free(st->match_qkeys);
	free(st->match_ckeys);
	free(st->nm);
	free(st->to_codes);
	req_free(r);
}

static void notice_send_submit(struct conn *c, struct req *r,
			       struct db_job *job, db_done_fn *done)
{
	if (job == NULL) {
		req_oom(c, r->request_id);
		notice_send_free(r);
		return;
	}
	db_submit(c->srv->db, job, done, r);
}

/* Set parameter `i` to a copy of `v` ("" and NULL: SQL NULL); -1 if OOM. */
static int notice_param(struct notice_send *st, enum notice_param i,
			const char *v)
{
	free(st->p[i]);
	st->p[i] = NULL;
	if (v == NULL || v[0] == '\0')
		return 0;
	st->p[i] = strdup(v);
	return st->p[i] != NULL ? 0 : -1;
}

static int notice_param_int(struct notice_send *st, enum notice_param i,
			    int64_t v)
{
	char buf[24];

	return notice_param(st, i, req_fmt_int(buf, v));
}

static int notice_params_identity(struct notice_send *st,
				  const Maillage__Identity *id)
{
	char age[16];

	if (id == NULL) {
		st->p[NP_LANGUAGES] = strdup("{}");
		return st->p[NP_LANGUAGES] != NULL ? 0 : -1;
	}
	snprintf(age, sizeof(age), "%u", (unsigned)id->declared_age);
	st->p[NP_LANGUAGES] = notice_literal(id->languages, id->n_languages);
	if (st->p[NP_LANGUAGES] == NULL ||
	    notice_param(st, NP_GIVEN_NAME, id->given_name) != 0 ||
	    notice_param(st, NP_FAMILY_NAME, id->family_name) != 0 ||
	    notice_param(st, NP_BIRTH_DATE, id->birth_date) != 0 ||
	    notice_param(st, NP_DECLARED_AGE,
			 id->declared_age != 0 ? age : NULL) != 0 ||
	    notice_param(st, NP_AGE_DECLARED_ON, id->age_declared_on) != 0 ||
	    notice_param(st, NP_SEX, id->sex) != 0 ||
	    notice_param(st, NP_NATIONALITY, id->nationality) != 0 ||
	    notice_param(st, NP_PLACE_SEEN, id->place_seen) != 0)
		return -1;
	return 0;
}

/* What the audit record says of the caller, as audit.c writes it. */
static int notice_params_audit(struct notice_send *st, const struct conn *c,
			       uint64_t request_id)
{
	char reqid[24];

	/* The column is a bigint: ids past 2^63 are stored wrapped. */
	snprintf(reqid, sizeof(reqid), "%" PRId64, (int64_t)request_id);
	if (notice_param(st, NP_LOGIN, c->account.login) != 0 ||
	    notice_param(st, NP_INSTITUTION, c->account.institution) != 0 ||
	    notice_param(st, NP_ROLE, conn_role_name(c->account.role)) != 0 ||
	    notice_param(st, NP_PEER, c->peer) != 0 ||
	    notice_param(st, NP_REQUEST_ID, reqid) != 0 ||
	    notice_param(st, NP_INSTANCE, c->srv->instance_id) != 0 ||
	    notice_param(st, NP_FINGERPRINT, c->fingerprint) != 0 ||
	    notice_param(st, NP_ACTION, NOTICE_ACT_SEND) != 0)
		return -1;
	return 0;
}

/* Everything the two jobs need that the request says; -1 if OOM. */
static int notice_send_params(struct notice_send *st, const struct conn *c,
			      const Maillage__NoticeSend *m,
			      const struct notice_codes *k, uint64_t request_id)
{
	struct acl_subject outsider = st->subject;

	/* A caller that sees only its own cases must be a party. */
	outsider.is_party = 0;
	st->to_codes = notice_literal(m->to, m->n_to);
	st->p[NP_INDICATORS] = notice_literal(m->indicators, m->n_indicators);
	if (st->to_codes == NULL || st->p[NP_INDICATORS] == NULL ||
	    notice_param_int(st, NP_ACCOUNT, c->account.id) != 0 ||
	    notice_param(st, NP_KEY, m->idempotency_key) != 0 ||
	    (m->person_id > 0 &&
	     notice_param_int(st, NP_PERSON, m->person_id) != 0) ||
	    notice_param(st, NP_KIND, acl_notice_kind_name(k->kind)) != 0 ||
	    notice_param(st, NP_URGENCY, acl_urgency_name(k->urgency)) != 0 ||
	    notice_param(st, NP_VISIBILITY,
			 acl_visibility_name(k->visibility)) != 0 ||
	    notice_param(st, NP_BASIS, acl_basis_name(k->basis)) != 0 ||
	    notice_param(st, NP_INFORMED, k->informed) != 0 ||
	    notice_param(st, NP_INFORMED_NOTE, m->informed_note) != 0 ||
	    notice_param(st, NP_BODY, m->text) != 0 ||
	    notice_param(st, NP_REQUIRE_PARTY,
			 acl_case_visible(&outsider) == ACL_ALLOW ? "f"
								  : "t") != 0 ||
	    notice_params_identity(st, m->identity) != 0 ||
	    notice_params_audit(st, c, request_id) != 0)
		return -1;
	return 0;
}

static struct db_job *notice_send_facts_job(const struct notice_send *st)
{
	struct db_job *job = db_job_new();
	const char *person = st->p[NP_PERSON] != NULL ? st->p[NP_PERSON] : "0";
	const char *to[1] = {st->to_codes};
	const char *ind[1] = {st->p[NP_INDICATORS]};
	const char *per[2] = {person, st->p[NP_ACCOUNT]};
	const char *key[2] = {st->p[NP_ACCOUNT], st->p[NP_KEY]};

	if (job == NULL || db_job_add(job, notice_facts_to_sql, 1, to) != 0 ||
	    db_job_add(job, notice_facts_ind_sql, 1, ind) != 0 ||
	    db_job_add(job, notice_facts_person_sql, 2, per) != 0 ||
	    db_job_add(job, notice_facts_key_sql, 2, key) != 0 ||
	    db_job_add(job, notice_facts_ids_sql, 0, NULL) != 0) {
		db_job_free(job);
		return NULL;
	}
	return job;
}

/* The encoding of the new identity, then the known ones it may be. */
static const char notice_match_put_sql[] =
	"SELECT identity_encoding_put($1::bigint, $2::bytea, $3::bigint[])";
static const char notice_match_find_sql[] =
	"SELECT identity_id, person_id, rec, visible, open_case_id,"
	" any_open_case_id FROM identity_candidates($1::bigint[], (SELECT "
	"ia.person_id"
	" FROM identity_assertion ia WHERE ia.id = $2::bigint), $3::bigint,"
	" $4::boolean, " MATCH_SCAN_MAX ")";

/* Candidate pairs for the coordinators' review, derived after commit. */
static const char notice_match_queue_sql[] =
	"INSERT INTO person_candidate (person_id, other_person_id, score,"
	" notice_id)"
	" SELECT $1::bigint, o.p, o.s, $4::bigint"
	" FROM unnest($2::bigint[], $3::real[]) AS o(p, s)"
	" WHERE EXISTS (SELECT 1 FROM person WHERE id = o.p)"
	" ON CONFLICT (person_id, other_person_id) DO UPDATE"
	" SET score = greatest(person_candidate.score, EXCLUDED.score)";

static int notice_match_add(struct db_job *job, const struct notice_send *st)
{
	char inst[24];
	const char *put[3] = {st->p[NP_IDENTITY_ID], st->match_rec,
			      st->match_keys};
	const char *find[4] = {st->match_qkeys, st->p[NP_IDENTITY_ID],
			       req_fmt_int(inst, st->inst_id),
			       st->p[NP_REQUIRE_PARTY] != NULL &&
					       st->p[NP_REQUIRE_PARTY][0] == 'f'
				       ? "t"
				       : "f"};

	if (db_job_add(job, notice_match_put_sql, 3, put) != 0 ||
	    db_job_add(job, notice_match_find_sql, 4, find) != 0 ||
	    db_job_binary(job) != 0 ||
	    db_job_add(job, MATCH_COUNTS_SQL, 1,
		       (const char *const *)&st->match_ckeys) != 0 ||
	    db_job_binary(job) != 0)
		return -1;
	return 0;
}

static struct db_job *notice_send_write_job(const struct notice_send *st)
{
	struct db_job *job = db_job_new();

	if (job == NULL ||
	    db_job_add(job, notice_send_sql, NP_COUNT,
		       (const char *const *)st->p) != 0 ||
	    (st->match_rec != NULL && notice_match_add(job, st) != 0) ||
	    db_job_group(job) != 0) {
		db_job_free(job);
		return NULL;
	}
	return job;
}

static void notice_send_reply(struct conn *c, const struct req *r, int replayed,
			      int new_case, int new_person,
			      const struct notice_match *nm, int64_t link)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__NoticeSent sent = MAILLAGE__NOTICE_SENT__INIT;
	Maillage__Candidate items[MATCH_CANDIDATES_MAX];
	Maillage__Candidate *ptrs[MATCH_CANDIDATES_MAX];
	const struct notice_send *st = r->data;
	int i;

	for (i = 0; nm != NULL && i < nm->n; i++) {
		const struct match_candidate *m = &nm->c[i];

		/* only persons the sender may learn of */
		if (!m->visible)
			continue;
		maillage__candidate__init(&items[sent.n_candidates]);
		items[sent.n_candidates].person_id = m->person_id;
		items[sent.n_candidates].score = m->score;
		items[sent.n_candidates].explanation = (char *)m->explanation;
		items[sent.n_candidates].open_case_id = m->open_case_id;
		items[sent.n_candidates].confident =
			m->score * 10.0 >=
			(double)st->srv->cfg.confident_threshold;
		ptrs[sent.n_candidates] = &items[sent.n_candidates];
		sent.n_candidates++;
	}
	sent.candidates = ptrs;

	sent.notice_id = r->notice_id;
	sent.case_id = r->case_id;
	sent.person_id = r->person_id;
	sent.replayed = replayed != 0;
	sent.new_case = new_case != 0;
	sent.new_person = new_person != 0;
	sent.link_id = link;
	env.body_case = MAILLAGE__ENVELOPE__BODY_NOTICE_SENT;
	env.notice_sent = &sent;
	req_reply(c, r, &env);
}

/* A confident match of a person with an open case: seen elsewhere. */
static const char notice_seen_sql[] =
	"SELECT seen_elsewhere_emit($1::bigint, $2::bigint)";

static int notice_match_seen(struct db_job *job, const struct server *srv,
			     int64_t sender, const struct notice_match *nm)
{
	char cbuf[24], sbuf[24];
	const char *params[2];
	int i;

	params[1] = req_fmt_int(sbuf, sender);
	for (i = 0; i < nm->n; i++) {
		if (nm->c[i].any_case_id == 0 ||
		    nm->c[i].score * 10.0 <
			    (double)srv->cfg.confident_threshold)
			continue;
		params[0] = req_fmt_int(cbuf, nm->c[i].any_case_id);
		if (db_job_add(job, notice_seen_sql, 2, params) != 0)
			return -1;
	}
	return 0;
}

/*
 * Put the candidate pairs of a new person in the review queue, and tell
 * the lead and the coordinators of a confidently matched open case.
 */
static void notice_match_queue(struct server *srv, int64_t person,
			       int64_t notice, int64_t sender,
			       const struct notice_match *nm)
{
	char pbuf[24], nbuf[24], ids[MATCH_CANDIDATES_MAX * 22 + 4];
	char scores[MATCH_CANDIDATES_MAX * 16 + 4];
	const char *params[4];
	struct db_job *job;
	size_t ui = 1, us = 1;
	int i;

	if (nm->n == 0)
		return;
	ids[0] = '{';
	scores[0] = '{';
	for (i = 0; i < nm->n; i++) {
		ui += (size_t)snprintf(ids + ui, sizeof(ids) - ui, "%s%" PRId64,
				       i ? "," : "", nm->c[i].person_id);
		us += (size_t)snprintf(scores + us, sizeof(scores) - us,
				       "%s%.2f", i ? "," : "", nm->c[i].score);
	}
	snprintf(ids + ui, sizeof(ids) - ui, "}");
	snprintf(scores + us, sizeof(scores) - us, "}");
	params[0] = req_fmt_int(pbuf, person);
	params[1] = ids;
	params[2] = scores;
	params[3] = req_fmt_int(nbuf, notice);
	job = db_job_new();
	if (job == NULL ||
	    db_job_add(job, notice_match_queue_sql, 4, params) != 0 ||
	    notice_match_seen(job, srv, sender, nm) != 0) {
		db_job_free(job);
		log_warnx("notice %" PRId64 ": candidate pairs not queued "
			  "(out of memory)",
			  notice);
		return;
	}
	db_submit(srv->db, job, NULL, NULL);
}

/* Rank the candidates the write job found (results 2, with the names'
 * counts in results 3). 0, or -1. */
static int notice_match_rank(const struct notice_send *st,
			     const struct db_reply *reply,
			     struct notice_match *nm)
{
	nm->n = 0;
	if (st->match_rec == NULL || reply->nresults != 4)
		return 0;
	/*
	 * With links by policy, every candidate up to MATCH_CANDIDATES_MAX:
	 * the rule is "exactly one at that score", whatever max_candidates
	 * the answer is cut to.
	 */
	nm->n = match_rank(&st->srv->vault, st->mq, reply->results[3],
			   reply->results[2], 0,
			   st->srv->cfg.candidate_threshold / 10.0, 0, nm->c,
			   st->srv->cfg.auto_link_threshold > 0
				   ? MATCH_CANDIDATES_MAX
				   : (int)st->srv->cfg.max_candidates);
	return nm->n < 0 ? -1 : 0;
}

/*
 * The network's policy links a new person at once ([identity]
 * auto_link_threshold, match_auto_link): the link, its audit record
 * ("person.autolink", naming the kept person and the notice), and the
 * answer once committed. A link refused (the known person was linked
 * meanwhile, say) leaves the pair in the review queue; the notice is
 * stored either way. The policy does not depend on the sender waiting:
 * a sender gone before the answer gets its notice linked all the same,
 * audited on its behalf (st->who).
 */
static const char notice_autolink_sql[] =
	"SELECT link_id, open_case_id FROM person_autolink_tx($1::bigint,"
	" $2::bigint, $3::bigint, $4::real, $5::bigint)";

/* The audit record of the policy's link of the new person into c[0]. */
static void notice_autolink_rec(const struct req *r,
				const struct match_candidate *m,
				const char *outcome, struct audit_rec *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->action = "person.autolink";
	rec->outcome = outcome;
	rec->request_id = r->request_id;
	rec->case_id = m->any_case_id;
	rec->notice_id = r->notice_id;
	rec->person_id = m->person_id;
}

static void notice_autolink_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);
	struct notice_send *st = r->data;
	struct audit_rec rec;
	int64_t link = 0;

	if (reply->status == DB_OK && reply->nresults >= 1 &&
	    PQntuples(reply->results[0]) == 1) {
		int64_t was = r->case_id;

		link = req_int(reply->results[0], 0, 0);
		if (req_int(reply->results[0], 0, 1) != 0)
			r->case_id = req_int(reply->results[0], 0, 1);
		r->person_id = st->nm->c[0].person_id;
		/* the sender's case is that person's now; no new person */
		st->nm->c[0].visible = 1;
		st->nm->c[0].open_case_id = r->case_id;
		st->new_person = 0;
		st->new_case = st->new_case && r->case_id == was;
	} else {
		log_notice("notice %" PRId64 ": not linked by the policy (%s "
			   "%s); the pair waits for review",
			   r->notice_id, db_status_name(reply->status),
			   reply->sqlstate);
		/* the attempt is audited, its failure too */
		notice_autolink_rec(r, &st->nm->c[0], "error", &rec);
		audit_submit_who(st->srv, &st->who, &rec);
	}
	if (c != NULL)
		notice_send_reply(c, r, 0, st->new_case, st->new_person, st->nm,
				  link);
	notice_send_free(r);
}

/*
 * Link the new person into nm->c[0] (match_auto_link chose it: the only
 * candidate at the policy's score, so the best). 0 when submitted (the
 * answer follows, if the sender is still there), -1 to answer at once
 * without a link.
 */
static int notice_autolink(struct req *r, const struct notice_match *nm,
			   int new_case, int new_person)
{
	struct notice_send *st = r->data;
	char keep[24], merge[24], notice[24], score[32], sender[24];
	const char *params[5];
	struct audit_rec rec;
	struct db_job *job;

	if (nm->n < 1 || (st->nm = malloc(sizeof(*st->nm))) == NULL)
		return -1;
	*st->nm = *nm;
	params[0] = req_fmt_int(keep, nm->c[0].person_id);
	params[1] = req_fmt_int(merge, r->person_id);
	params[2] = req_fmt_int(notice, r->notice_id);
	snprintf(score, sizeof(score), "%.2f", nm->c[0].score);
	params[3] = score;
	params[4] = req_fmt_int(sender, st->inst_id);
	notice_autolink_rec(r, &nm->c[0], "ok", &rec);
	job = db_job_new();
	if (job == NULL ||
	    db_job_add(job, notice_autolink_sql, 5, params) != 0 ||
	    audit_job_add_who(job, st->srv, &st->who, &rec) != 0) {
		db_job_free(job);
		free(st->nm);
		st->nm = NULL;
		return -1;
	}
	st->new_case = new_case;
	st->new_person = new_person;
	db_submit(st->srv->db, job, notice_autolink_done, r);
	return 0;
}

static void notice_send_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);
	struct notice_send *st = r->data;
	struct notice_match nm;
	const PGresult *res;
	int link = -1;

	nm.n = 0;
	if (reply->status == DB_OK && reply->nresults >= 1 &&
	    PQntuples(reply->results[0]) == 1 &&
	    !req_bool(reply->results[0], 0, 3) &&
	    notice_match_rank(st, reply, &nm) == 0) {
		link = match_auto_link(&st->srv->cfg, nm.c, nm.n,
				       req_bool(reply->results[0], 0, 5));
		if (nm.n > (int)st->srv->cfg.max_candidates)
			nm.n = (int)st->srv->cfg.max_candidates;
		notice_match_queue(st->srv, req_int(reply->results[0], 0, 2),
				   req_int(reply->results[0], 0, 0),
				   st->inst_id, &nm);
	}
	if (reply->status != DB_OK) {
		if (c != NULL)
			req_db_failed(c, r, reply);
		goto out;
	}
	res = reply->results[0];
	if (reply->nresults < 1 || PQntuples(res) != 1) {
		if (c != NULL)
			notice_internal(c, r, "notice_send_tx returned no row");
		goto out;
	}
	r->notice_id = req_int(res, 0, 0);
	r->case_id = req_int(res, 0, 1);
	r->person_id = req_int(res, 0, 2);
	log_debug("request %" PRIu64 ": notice %" PRId64 " in case %" PRId64
		  "%s",
		  r->request_id, r->notice_id, r->case_id,
		  req_bool(res, 0, 3) ? " (replayed)" : "");
	if (nm.n < 0) {
		/* stored and committed: answer without candidates */
		nm.n = 0;
	}
	if (link == 0 && notice_autolink(r, &nm, req_bool(res, 0, 4),
					 req_bool(res, 0, 5)) == 0)
		return; /* answered once linked */
	if (c != NULL)
		notice_send_reply(c, r, req_bool(res, 0, 3),
				  req_bool(res, 0, 4), req_bool(res, 0, 5), &nm,
				  0);
out:
	notice_send_free(r);
}

static void notice_send_replay_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);

	if (c == NULL)
		goto out;
	if (reply->status != DB_OK)
		req_db_failed(c, r, reply);
	else
		notice_send_reply(c, r, 1, 0, 0, NULL, 0);
out:
	notice_send_free(r);
}

/* The key was used: answer with the stored ids, audit, store nothing. */
static void notice_send_replay(struct conn *c, struct req *r,
			       const PGresult *res)
{
	struct db_job *job = db_job_new();

	r->notice_id = req_int(res, 0, 0);
	r->case_id = req_int(res, 0, 1);
	r->person_id = req_int(res, 0, 2);
	if (job != NULL && req_audit_ok(job, c, r) != 0) {
		db_job_free(job);
		job = NULL;
	}
	notice_send_submit(c, r, job, notice_send_replay_done);
}

/* Recipients: each one an enabled institution. */
static Maillage__ErrorCode notice_decide_known(const PGresult *to,
					       const PGresult *ind,
					       struct notice_bad *b)
{
	int i;

	for (i = 0; i < PQntuples(to); i++) {
		const char *code = PQgetvalue(to, i, 0);
		if (PQgetisnull(to, i, 1)) {
			notice_bad(b, "to", "unknown institution %s", code);
			return EC_BAD_REQUEST;
		}
		if (!req_bool(to, i, 3)) {
			notice_bad(b, "to", "institution %s is disabled", code);
			return EC_BAD_REQUEST;
		}
	}
	if (PQntuples(ind) > 0) {
		if (req_bool(ind, 0, 1))
			notice_bad(b, "indicators", "unknown indicator %s",
				   PQgetvalue(ind, 0, 0));
		else
			notice_bad(b, "indicators", "indicator %s is retired",
				   PQgetvalue(ind, 0, 0));
		return EC_BAD_REQUEST;
	}
	return EC_NONE;
}

/* An existing person: the caller must see one of its cases. */
static Maillage__ErrorCode notice_decide_person(const struct notice_send *st,
						const PGresult *per,
						int64_t *lead,
						struct notice_bad *b)
{
	struct acl_subject s = st->subject;

	*lead = 0;
	if (st->person_id == 0)
		return EC_NONE;
	if (PQntuples(per) == 1) {
		s.is_party = req_bool(per, 0, 1);
		if (acl_case_visible(&s) == ACL_ALLOW) {
			*lead = req_int(per, 0, 3);
			return EC_NONE;
		}
	}
	notice_bad(b, "person_id", "no such person");
	return EC_NOT_FOUND;
}

/*
 * Each recipient allowed by the legal basis and able to read the class
 * (acl). *lead_used: one of them reads it only as the case's lead.
 */
static Maillage__ErrorCode
notice_decide_recipients(const struct acl_policy *p,
			 const struct notice_send *st, const PGresult *to,
			 int64_t lead, int *lead_used, struct notice_bad *b)
{
	int i;

	*lead_used = 0;
	for (i = 0; i < PQntuples(to); i++) {
		const char *code = PQgetvalue(to, i, 0);
		const char *kname = PQgetvalue(to, i, 2);
		int kind = acl_kind_from_name(kname);
		int is_lead = lead > 0 && req_int(to, i, 1) == lead;

		if (kind < 0) {
			notice_bad(b, "to",
				   "institution %s is of no known kind", code);
			return EC_BAD_REQUEST;
		}
		if (acl_recipient_allowed(p, st->basis, st->visibility,
					  (enum acl_kind)kind,
					  is_lead) == ACL_ALLOW) {
			if (is_lead && !p->visibility[st->visibility][kind])
				*lead_used = 1;
			continue;
		}
		if (!p->basis[st->basis][kind])
			notice_bad(b, "basis",
				   "legal basis %s does not allow addressing "
				   "%s (%s)",
				   acl_basis_name(st->basis), code, kname);
		else
			notice_bad(b, "to", "%s (%s) may not read %s notices",
				   code, kname,
				   acl_visibility_name(st->visibility));
		return EC_BAD_REQUEST;
	}
	return EC_NONE;
}

/* The recipients' ids as a bigint[] literal, into the write's params. */
static int notice_recipient_ids(struct notice_send *st, const PGresult *to)
{
	size_t len = (size_t)PQntuples(to) * 22 + 3, used = 1;
	char *out = malloc(len);
	int i;

	if (out == NULL)
		return -1;
	out[0] = '{';
	for (i = 0; i < PQntuples(to); i++)
		used += (size_t)snprintf(out + used, len - used, "%s%" PRId64,
					 i > 0 ? "," : "", req_int(to, i, 1));
	snprintf(out + used, len - used, "}");
	free(st->p[NP_RECIPIENTS]);
	st->p[NP_RECIPIENTS] = out;
	return 0;
}

/* Decide from the facts; EC_NONE when the write may go. */
static Maillage__ErrorCode notice_send_decide(struct conn *c, struct req *r,
					      const struct db_reply *reply,
					      struct notice_bad *b)
{
	struct notice_send *st = r->data;
	const PGresult *to = reply->results[0];
	const struct acl_policy *p = policy_current(c->srv);
	Maillage__ErrorCode code;
	int64_t lead;
	int lead_used;

	if (p == NULL) {
		notice_bad(b, NULL, "access rules not loaded yet, retry later");
		return EC_UNAVAILABLE;
	}
	if ((size_t)PQntuples(to) != st->n_to) {
		notice_bad(b, NULL, "internal error");
		return EC_INTERNAL;
	}
	code = notice_decide_known(to, reply->results[1], b);
	if (code == EC_NONE)
		code = notice_decide_person(st, reply->results[2], &lead, b);
	if (code == EC_NONE)
		code = notice_decide_recipients(p, st, to, lead, &lead_used, b);
	if (code != EC_NONE)
		return code;
	if (notice_recipient_ids(st, to) != 0 ||
	    (lead_used && notice_param_int(st, NP_LEAD, lead) != 0)) {
		notice_bad(b, NULL, "out of memory");
		return EC_INTERNAL;
	}
	return EC_NONE;
}

/* Replace clear parameter `i` by its value sealed for `column` of `row`. */
static int notice_seal_param(const struct vault *v, struct notice_send *st,
			     enum notice_param i, const char *column,
			     const char *row)
{
	char *sealed;
	int oom;

	if (st->p[i] == NULL)
		return 0;
	sealed = vault_seal(v, column, row, st->p[i], &oom);
	vault_free_text(st->p[i]);
	st->p[i] = sealed;
	return oom ? -1 : 0;
}

/*
 * Take the drawn row ids (`ids`: notice, identity) and seal the free texts
 * and identity details for their rows; the clear copies are cleansed.
 */
static int notice_send_seal(const struct vault *v, struct notice_send *st,
			    const PGresult *ids)
{
	const char *nid = PQgetvalue(ids, 0, 0), *iid = PQgetvalue(ids, 0, 1);
	int named =
		st->p[NP_GIVEN_NAME] != NULL || st->p[NP_FAMILY_NAME] != NULL;

	if (notice_param(st, NP_NOTICE_ID, nid) != 0 ||
	    notice_param(st, NP_IDENTITY_ID, iid) != 0 ||
	    notice_param(st, NP_HAS_NAME, named ? "t" : "f") != 0 ||
	    notice_seal_param(v, st, NP_BODY, "notice.body", nid) != 0 ||
	    notice_seal_param(v, st, NP_INFORMED_NOTE, "notice.informed_note",
			      nid) != 0 ||
	    notice_seal_param(v, st, NP_GIVEN_NAME,
			      "identity_assertion.given_name", iid) != 0 ||
	    notice_seal_param(v, st, NP_FAMILY_NAME,
			      "identity_assertion.family_name", iid) != 0 ||
	    notice_seal_param(v, st, NP_BIRTH_DATE,
			      "identity_assertion.birth_date", iid) != 0 ||
	    notice_seal_param(v, st, NP_PLACE_SEEN,
			      "identity_assertion.place_seen", iid) != 0)
		return -1;
	if (st->mq != NULL) {
		int oom;

		st->match_rec = match_seal(v, iid, &st->mq->rec, &oom);
		st->match_keys =
			match_keys_literal(st->mq->keys, st->mq->nkeys);
		st->match_qkeys =
			match_keys_literal(st->mq->qkeys, st->mq->nqkeys);
		st->match_ckeys = match_count_keys_literal(st->mq);
		if (st->match_rec == NULL || st->match_keys == NULL ||
		    st->match_qkeys == NULL || st->match_ckeys == NULL)
			return -1;
	}
	return 0;
}

static void notice_send_facts_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);
	struct notice_bad b = {0};
	Maillage__ErrorCode code;

	if (c == NULL)
		goto out;
	if (reply->status != DB_OK) {
		req_db_failed(c, r, reply);
		goto out;
	}
	if (reply->nresults != 5 || PQntuples(reply->results[4]) != 1) {
		notice_internal(c, r, "facts job returned too few results");
		goto out;
	}
	if (PQntuples(reply->results[3]) > 0) {
		notice_send_replay(c, r, reply->results[3]);
		return;
	}
	code = notice_send_decide(c, r, reply, &b);
	if (code != EC_NONE) {
		req_refuse(c, r, code, b.field, b.msg);
		goto out;
	}
	if (notice_send_seal(&c->srv->vault, r->data, reply->results[4]) != 0) {
		req_oom(c, r->request_id);
		goto out;
	}
	notice_send_submit(c, r, notice_send_write_job(r->data),
			   notice_send_done);
	return;
out:
	notice_send_free(r);
}

void notice_send(struct conn *c, const Maillage__Envelope *env)
{
	const Maillage__NoticeSend *m = env->notice_send;
	struct notice_codes k = {0};
	struct notice_bad b = {0};
	struct acl_subject s;
	struct notice_send *st;
	struct req *r;

	if (notice_subject(c, env->request_id, NOTICE_ACT_SEND,
			   ACL_OP_NOTICE_SEND, &s) != 0)
		return;
	if (notice_send_check(c, m, &k, &b) != 0) {
		req_refuse_early(c, env->request_id, NOTICE_ACT_SEND,
				 EC_BAD_REQUEST, b.field, b.msg);
		return;
	}
	if (notice_policy(c, env->request_id, NOTICE_ACT_SEND) == NULL)
		return;
	r = req_new(c, env->request_id, NOTICE_ACT_SEND, sizeof(*st));
	if (r == NULL) {
		req_oom(c, env->request_id);
		return;
	}
	st = r->data;
	st->n_to = m->n_to;
	st->person_id = m->person_id;
	st->basis = k.basis;
	st->visibility = k.visibility;
	st->subject = s;
	st->srv = c->srv;
	st->inst_id = c->account.institution_id;
	audit_who_of(c, &st->who);
	r->person_id = m->person_id;
	if (m->person_id == 0 && match_enabled()) {
		st->mq = malloc(sizeof(*st->mq));
		if (st->mq != NULL && match_encode(m->identity, st->mq) != 0) {
			free(st->mq);
			st->mq = NULL; /* nothing to match on: no name */
		}
	}
	if (notice_send_params(st, c, m, &k, env->request_id) != 0) {
		req_oom(c, env->request_id);
		notice_send_free(r);
		return;
	}
	notice_send_submit(c, r, notice_send_facts_job(st),
			   notice_send_facts_done);
}

/* ---- inbox ------------------------------------------------------------ */

/*
 * The notices addressed to the caller's institution that it may read
 * (case visible: $4 sees every case, else a party; class readable by its
 * kind $5, or as the case's lead $6), unacknowledged first, then newest;
 * 'sent' rows become 'received'. The label is the names the notice gave,
 * else the latest names the caller may read of the person.
 */
static const char notice_inbox_sql[] =
	"WITH me AS (SELECT a.institution_id AS iid FROM account a"
	" WHERE a.id = $1::bigint),"
	" sel AS (SELECT nr.notice_id, nr.state FROM notice_recipient nr"
	" JOIN me ON nr.institution_id = me.iid"
	" JOIN notice n ON n.id = nr.notice_id"
	" JOIN case_file cf ON cf.id = n.case_id"
	" WHERE ($2::bigint = 0 OR nr.notice_id < $2::bigint)"
	" AND (NOT $3::boolean OR nr.state IN ('sent', 'received'))"
	" AND ($4::boolean OR EXISTS (SELECT 1 FROM case_party cp"
	" WHERE cp.case_id = n.case_id AND cp.institution_id = me.iid))"
	" AND (n.sender_institution_id = me.iid"
	" OR n.visibility = ANY ($5::text[])"
	" OR (n.visibility = ANY ($6::text[])"
	" AND cf.lead_institution_id = me.iid))"
	" ORDER BY (nr.state IN ('sent', 'received')) DESC, nr.notice_id DESC"
	" LIMIT $7::integer FOR UPDATE OF nr),"
	" upd AS (UPDATE notice_recipient nr SET state = 'received',"
	" updated_at = now() FROM sel, me"
	" WHERE nr.notice_id = sel.notice_id AND nr.institution_id = me.iid"
	" AND nr.state = 'sent' RETURNING nr.notice_id)"
	" SELECT n.id, n.case_id, n.person_id, n.kind, n.urgency, n.visibility,"
	" n.basis, si.code,"
	" to_char(n.created_at AT TIME ZONE 'UTC',"
	" 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	" CASE WHEN sel.state = 'sent' THEN 'received' ELSE sel.state END,"
	" coalesce(lbl.label, ''), lbl.id, lbl.given_name_enc,"
	" lbl.family_name_enc"
	" FROM sel JOIN notice n ON n.id = sel.notice_id"
	" JOIN institution si ON si.id = n.sender_institution_id"
	" CROSS JOIN me"
	" LEFT JOIN LATERAL (SELECT btrim(concat_ws(' ', ia.given_name,"
	" ia.family_name)) AS label, ia.id, ia.given_name_enc,"
	" ia.family_name_enc FROM identity_assertion ia"
	" LEFT JOIN notice an ON an.id = ia.notice_id"
	" LEFT JOIN case_file acf ON acf.id = an.case_id"
	" WHERE ia.person_id = n.person_id"
	" AND ia.has_name"
	" AND (ia.notice_id = n.id OR ia.institution_id = me.iid"
	" OR (($4::boolean OR EXISTS (SELECT 1 FROM case_party cp"
	" WHERE cp.case_id = an.case_id AND cp.institution_id = me.iid))"
	" AND (an.sender_institution_id = me.iid"
	" OR an.visibility = ANY ($5::text[])"
	" OR (an.visibility = ANY ($6::text[])"
	" AND acf.lead_institution_id = me.iid))))"
	" ORDER BY (ia.notice_id IS NOT DISTINCT FROM n.id) DESC, ia.id DESC"
	" LIMIT 1) lbl ON true"
	" ORDER BY (sel.state IN ('sent', 'received')) DESC, n.id DESC";

/* The classes `s` reads as a party ($5), and as the case's lead ($6). */
static int notice_readable_classes(const struct acl_policy *p,
				   const struct acl_subject *subject,
				   char *plain, char *lead, size_t len)
{
	const char *pv[ACL_VIS_COUNT], *lv[ACL_VIS_COUNT];
	struct acl_subject s = *subject;
	size_t np = 0, nl = 0;
	int v;

	for (v = 0; v < ACL_VIS_COUNT; v++) {
		s.is_party = 1;
		s.is_lead = 0;
		if (acl_notice_readable(p, &s, (enum acl_visibility)v, 0) ==
		    ACL_ALLOW)
			pv[np++] = acl_visibility_name((enum acl_visibility)v);
		s.is_lead = 1;
		if (acl_notice_readable(p, &s, (enum acl_visibility)v, 0) ==
		    ACL_ALLOW)
			lv[nl++] = acl_visibility_name((enum acl_visibility)v);
	}
	if (valid_array_literal(pv, np, plain, len) != 0 ||
	    valid_array_literal(lv, nl, lead, len) != 0)
		return -1;
	return 0;
}

static void notice_inbox_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__InboxResult ir = MAILLAGE__INBOX_RESULT__INIT;
	Maillage__NoticeSummary *items = NULL, **ptrs = NULL;
	char **labels = NULL;
	const PGresult *res;
	size_t used = 0, size;
	int i, n = 0;

	if (c == NULL)
		goto out;
	if (reply->status != DB_OK) {
		req_db_failed(c, r, reply);
		goto out;
	}
	res = reply->results[0];
	n = PQntuples(res);
	if (n > 0) {
		items = calloc((size_t)n, sizeof(*items));
		ptrs = calloc((size_t)n, sizeof(*ptrs));
		labels = calloc((size_t)n, sizeof(*labels));
		if (items == NULL || ptrs == NULL || labels == NULL) {
			req_oom(c, r->request_id);
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		if (req_person_label(&c->srv->vault, res, i, 10, &labels[i]) !=
		    0) {
			notice_internal(c, r, "a person label does not open");
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		Maillage__NoticeSummary *it = &items[i];
		maillage__notice_summary__init(it);
		it->notice_id = req_int(res, i, 0);
		it->case_id = req_int(res, i, 1);
		it->person_id = req_int(res, i, 2);
		it->kind = req_str(res, i, 3);
		it->urgency = req_str(res, i, 4);
		it->visibility = req_str(res, i, 5);
		it->basis = req_str(res, i, 6);
		it->from_institution = req_str(res, i, 7);
		it->sent_at = req_str(res, i, 8);
		it->state = req_str(res, i, 9);
		it->person_label =
			labels[i] != NULL ? labels[i] : req_str(res, i, 10);
		size = maillage__notice_summary__get_packed_size(it);
		if (!req_fits(c, used, size)) {
			log_warnx("conn %" PRIu64 " request %" PRIu64
				  ": inbox cut at %d of %d notices to fit a "
				  "frame",
				  c->id, r->request_id, i, n);
			break;
		}
		used += size + 6;
		ptrs[ir.n_notices++] = it;
	}
	ir.notices = ptrs;
	env.body_case = MAILLAGE__ENVELOPE__BODY_INBOX_RESULT;
	env.inbox_result = &ir;
	req_reply(c, r, &env);
out:
	for (i = 0; labels != NULL && i < n; i++)
		vault_free_text(labels[i]);
	free(labels);
	free(items);
	free(ptrs);
	req_free(r);
}

void notice_inbox(struct conn *c, const Maillage__Envelope *env)
{
	const Maillage__Inbox *m = env->inbox;
	const struct acl_policy *p;
	char account[24], before[24], limit[24], plain[64], lead[64];
	const char *params[7];
	struct acl_subject s, outsider;
	struct db_job *job;
	struct req *r;
	uint32_t n = m->limit != 0 ? m->limit : NOTICE_LIST_DEFAULT;

	if (notice_subject(c, env->request_id, NOTICE_ACT_INBOX, ACL_OP_INBOX,
			   &s) != 0)
		return;
	if (n > c->srv->cfg.list_limit_max) {
		char msg[NOTICE_MSG_MAX];
		snprintf(msg, sizeof(msg), "limit is at most %u",
			 c->srv->cfg.list_limit_max);
		req_refuse_early(c, env->request_id, NOTICE_ACT_INBOX,
				 EC_BAD_REQUEST, "limit", msg);
		return;
	}
	if (m->before_id < 0) {
		req_refuse_early(c, env->request_id, NOTICE_ACT_INBOX,
				 EC_BAD_REQUEST, "before_id",
				 "before_id is a notice id, or 0");
		return;
	}
	p = notice_policy(c, env->request_id, NOTICE_ACT_INBOX);
	if (p == NULL)
		return;
	outsider = s;
	outsider.is_party = 0;
	if (notice_readable_classes(p, &s, plain, lead, sizeof(plain)) != 0) {
		req_oom(c, env->request_id);
		return;
	}
	r = req_new(c, env->request_id, NOTICE_ACT_INBOX, 0);
	if (r == NULL) {
		req_oom(c, env->request_id);
		return;
	}
	params[0] = req_fmt_int(account, c->account.id);
	params[1] = req_fmt_int(before, m->before_id);
	params[2] = m->unacked_only ? "t" : "f";
	params[3] = acl_case_visible(&outsider) == ACL_ALLOW ? "t" : "f";
	params[4] = plain;
	params[5] = lead;
	params[6] = req_fmt_int(limit, n);
	job = db_job_new();
	if (job != NULL && (db_job_add(job, notice_inbox_sql, 7, params) != 0 ||
			    req_audit_ok(job, c, r) != 0)) {
		db_job_free(job);
		job = NULL;
	}
	req_submit(c, r, job, notice_inbox_done);
}

/* ---- ack -------------------------------------------------------------- */

/* Facts: the caller's institution's row for the notice, and what acl
 * needs to decide whether it may read it. */
static const char notice_ack_facts_sql[] =
	"SELECT nr.state, n.case_id, n.person_id, n.visibility,"
	" EXISTS (SELECT 1 FROM case_party cp WHERE cp.case_id = n.case_id"
	" AND cp.institution_id = nr.institution_id),"
	" coalesce(cf.lead_institution_id = nr.institution_id, false),"
	" n.sender_institution_id = nr.institution_id"
	" FROM notice_recipient nr JOIN notice n ON n.id = nr.notice_id"
	" JOIN case_file cf ON cf.id = n.case_id"
	" WHERE nr.notice_id = $1::bigint AND nr.institution_id ="
	" (SELECT a.institution_id FROM account a WHERE a.id = $2::bigint)";

static const char notice_ack_sql[] =
	"SELECT notice_ack_tx($1::bigint, $2::bigint, $3::text[], $4, $5,"
	" $6::bytea)";

/* An ack between its jobs: the write is built, its audit comes later. */
struct notice_ack {
	struct db_job *write;
	struct acl_subject subject;
	enum acl_ack to;
	enum acl_reason reason;
};

static void notice_ack_free(struct req *r)
{
	struct notice_ack *st = r->data;

	db_job_free(st->write);
	req_free(r);
}

static void notice_ack_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct notice_ack *st = r->data;
	struct conn *c = req_conn(r);
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__AckResult ar = MAILLAGE__ACK_RESULT__INIT;

	if (c == NULL)
		goto out;
	if (reply->status != DB_OK) {
		req_db_failed(c, r, reply);
		goto out;
	}
	if (reply->nresults < 1 || PQntuples(reply->results[0]) != 1) {
		notice_internal(c, r, "notice_ack_tx returned no row");
		goto out;
	}
	ar.notice_id = r->notice_id;
	ar.case_id = r->case_id;
	ar.state = (char *)acl_ack_name(st->to);
	ar.previous_state = req_str(reply->results[0], 0, 0);
	env.body_case = MAILLAGE__ENVELOPE__BODY_ACK_RESULT;
	env.ack_result = &ar;
	req_reply(c, r, &env);
out:
	notice_ack_free(r);
}

/* May the caller move its row from the state it has to the one asked? */
static Maillage__ErrorCode notice_ack_decide(struct conn *c, struct req *r,
					     const PGresult *res,
					     struct notice_bad *b)
{
	struct notice_ack *st = r->data;
	const struct acl_policy *p = policy_current(c->srv);
	struct acl_subject s = st->subject;
	const char *field = NULL;
	int from, vis;

	if (p == NULL) {
		notice_bad(b, NULL, "access rules not loaded yet, retry later");
		return EC_UNAVAILABLE;
	}
	if (PQntuples(res) != 1) {
		notice_bad(b, "notice_id", "no such notice");
		return EC_NOT_FOUND;
	}
	from = acl_ack_from_name(PQgetvalue(res, 0, 0));
	vis = acl_visibility_from_name(PQgetvalue(res, 0, 3));
	s.is_party = req_bool(res, 0, 4);
	s.is_lead = req_bool(res, 0, 5);
	if (from < 0 || vis < 0 ||
	    acl_notice_readable(p, &s, (enum acl_visibility)vis,
				req_bool(res, 0, 6)) != ACL_ALLOW) {
		notice_bad(b, "notice_id", "no such notice");
		return EC_NOT_FOUND;
	}
	r->case_id = req_int(res, 0, 1);
	r->person_id = req_int(res, 0, 2);
	if (acl_ack_transition((enum acl_ack)from, st->to, st->reason,
			       &field) == ACL_ALLOW)
		return EC_NONE;
	if (field != NULL && strcmp(field, "reason") == 0) {
		if (st->to == ACL_ACK_DECLINED)
			notice_bad(b, "reason",
				   "declined needs a reason: no_capacity, "
				   "not_competent, already_followed, "
				   "unable_to_contact or other");
		else if (st->to == ACL_ACK_DONE)
			notice_bad(b, "reason",
				   "done needs a reason: successful or "
				   "unsuccessful");
		else
			notice_bad(b, "reason", "%s takes no reason",
				   acl_ack_name(st->to));
		return EC_BAD_REQUEST;
	}
	notice_bad(b, "state", "the acknowledgement cannot move from %s to %s",
		   acl_ack_name((enum acl_ack)from), acl_ack_name(st->to));
	return EC_CONFLICT;
}

static void notice_ack_facts_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct notice_ack *st = r->data;
	struct conn *c = req_conn(r);
	struct notice_bad b = {0};
	Maillage__ErrorCode code;
	struct db_job *job;

	if (c == NULL)
		goto out;
	if (reply->status != DB_OK) {
		req_db_failed(c, r, reply);
		goto out;
	}
	code = notice_ack_decide(c, r, reply->results[0], &b);
	if (code != EC_NONE) {
		req_refuse(c, r, code, b.field, b.msg);
		goto out;
	}
	job = st->write;
	st->write = NULL;
	if (req_audit_ok(job, c, r) != 0) {
		db_job_free(job);
		job = NULL;
	}
	if (job == NULL) {
		req_oom(c, r->request_id);
		goto out;
	}
	db_submit(c->srv->db, job, notice_ack_done, r);
	return;
out:
	notice_ack_free(r);
}

/* The request's own fields; -1 with `b` filled. */
static int notice_ack_check(const Maillage__Ack *m, struct notice_ack *st,
			    struct notice_bad *b)
{
	int v;

	if (m->notice_id <= 0)
		return notice_bad(b, "notice_id", "a notice id is positive");
	v = acl_ack_from_name(notice_s(m->state));
	if (v < 0 || v == ACL_ACK_SENT)
		return notice_bad(b, "state",
				  "state is received, read, accepted, declined "
				  "or done");
	st->to = (enum acl_ack)v;
	v = acl_reason_from_name(notice_s(m->reason));
	if (v < 0)
		return notice_bad(b, "reason", "unknown reason");
	st->reason = (enum acl_reason)v;
	if (!valid_text(notice_s(m->note), NOTICE_NOTE_MAX, 1))
		return notice_bad(b, "note",
				  "note is at most %d bytes of UTF-8 text",
				  NOTICE_NOTE_MAX);
	if (st->reason == ACL_REASON_OTHER && notice_s(m->note)[0] == '\0')
		return notice_bad(b, "note", "reason other needs a note");
	return 0;
}

/* The write, minus its audit record: the states it may move from. */
static struct db_job *notice_ack_write_job(const struct conn *c,
					   const Maillage__Ack *m,
					   const struct notice_ack *st)
{
	const char *from[ACL_ACK_COUNT], *params[6], *field;
	char notice[24], account[24], lit[128], row[64], *note;
	struct db_job *job;
	size_t n = 0;
	int f, oom;

	for (f = 0; f < ACL_ACK_COUNT; f++) {
		if (acl_ack_transition((enum acl_ack)f, st->to, st->reason,
				       &field) == ACL_ALLOW)
			from[n++] = acl_ack_name((enum acl_ack)f);
	}
	if (valid_array_literal(from, n, lit, sizeof(lit)) != 0)
		return NULL;
	params[0] = req_fmt_int(notice, m->notice_id);
	params[1] = req_fmt_int(account, c->account.id);
	params[2] = lit;
	params[3] = acl_ack_name(st->to);
	params[4] = st->reason != ACL_REASON_NONE ? acl_reason_name(st->reason)
						  : NULL;
	/* The note is sealed for its row: (notice, recipient institution). */
	snprintf(row, sizeof(row), "%" PRId64 "/%" PRId64, m->notice_id,
		 c->account.institution_id);
	note = vault_seal(&c->srv->vault, "notice_recipient.note", row,
			  notice_s(m->note), &oom);
	if (oom)
		return NULL;
	params[5] = note;
	job = db_job_new();
	if (job != NULL && db_job_add(job, notice_ack_sql, 6, params) != 0) {
		db_job_free(job);
		job = NULL;
	}
	free(note);
	return job;
}

void notice_ack(struct conn *c, const Maillage__Envelope *env)
{
	const Maillage__Ack *m = env->ack;
	struct notice_ack chk = {0}, *st;
	struct notice_bad b = {0};
	const char *params[2];
	char notice[24], account[24];
	struct db_job *job;
	struct req *r;

	if (notice_subject(c, env->request_id, NOTICE_ACT_ACK, ACL_OP_ACK,
			   &chk.subject) != 0)
		return;
	if (notice_ack_check(m, &chk, &b) != 0) {
		req_refuse_early(c, env->request_id, NOTICE_ACT_ACK,
				 EC_BAD_REQUEST, b.field, b.msg);
		return;
	}
	if (notice_policy(c, env->request_id, NOTICE_ACT_ACK) == NULL)
		return;
	r = req_new(c, env->request_id, NOTICE_ACT_ACK, sizeof(*st));
	if (r == NULL) {
		req_oom(c, env->request_id);
		return;
	}
	st = r->data;
	*st = chk;
	r->notice_id = m->notice_id;
	st->write = notice_ack_write_job(c, m, st);
	params[0] = req_fmt_int(notice, m->notice_id);
	params[1] = req_fmt_int(account, c->account.id);
	job = db_job_new();
	if (st->write == NULL || job == NULL ||
	    db_job_add(job, notice_ack_facts_sql, 2, params) != 0) {
		db_job_free(job);
		req_oom(c, env->request_id);
		notice_ack_free(r);
		return;
	}
	db_submit(c->srv->db, job, notice_ack_facts_done, r);
}

/* ---- indicators ------------------------------------------------------- */

static const char notice_indicators_sql[] =
	"SELECT code, category, label_fr, label_en, strength"
	" FROM notice_indicator_list($1, $2::integer)";

static void notice_indicators_done(void *arg, const struct db_reply *reply)
{
	struct req *r = arg;
	struct conn *c = req_conn(r);
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__IndicatorsResult ir = MAILLAGE__INDICATORS_RESULT__INIT;
	Maillage__Indicator *items = NULL, **ptrs = NULL;
	const PGresult *res;
	size_t used = 0, size;
	int i, n;

	if (c == NULL)
		goto out;
	if (reply->status != DB_OK) {
		req_db_failed(c, r, reply);
		goto out;
	}
	res = reply->results[0];
	n = PQntuples(res);
	if (n > 0) {
		items = calloc((size_t)n, sizeof(*items));
		ptrs = calloc((size_t)n, sizeof(*ptrs));
		if (items == NULL || ptrs == NULL) {
			req_oom(c, r->request_id);
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		Maillage__Indicator *it = &items[i];
		maillage__indicator__init(it);
		it->code = req_str(res, i, 0);
		it->category = req_str(res, i, 1);
		it->label_fr = req_str(res, i, 2);
		it->label_en = req_str(res, i, 3);
		it->strength = req_str(res, i, 4);
		size = maillage__indicator__get_packed_size(it);
		if (!req_fits(c, used, size)) {
			log_warnx("conn %" PRIu64 " request %" PRIu64
				  ": indicators cut at %d of %d to fit a frame",
				  c->id, r->request_id, i, n);
			break;
		}
		used += size + 6;
		ptrs[ir.n_indicators++] = it;
	}
	ir.indicators = ptrs;
	env.body_case = MAILLAGE__ENVELOPE__BODY_INDICATORS_RESULT;
	env.indicators_result = &ir;
	req_reply(c, r, &env);
out:
	free(items);
	free(ptrs);
	req_free(r);
}

void notice_indicators(struct conn *c, const Maillage__Envelope *env)
{
	const char *category = notice_s(env->indicators->category);
	char max[24];
	const char *params[2];
	struct acl_subject s;
	struct db_job *job;
	struct req *r;

	if (notice_subject(c, env->request_id, NOTICE_ACT_INDICATORS,
			   ACL_OP_INDICATORS, &s) != 0)
		return;
	if (category[0] != '\0' && !valid_code(category, NOTICE_CATEGORY_MAX)) {
		req_refuse_early(c, env->request_id, NOTICE_ACT_INDICATORS,
				 EC_BAD_REQUEST, "category",
				 "unknown indicator category");
		return;
	}
	r = req_new(c, env->request_id, NOTICE_ACT_INDICATORS, 0);
	if (r == NULL) {
		req_oom(c, env->request_id);
		return;
	}
	params[0] = category;
	params[1] = req_fmt_int(max, NOTICE_INDICATOR_ROWS_MAX);
	job = db_job_new();
	if (job != NULL &&
	    (db_job_add(job, notice_indicators_sql, 2, params) != 0 ||
	     req_audit_ok(job, c, r) != 0)) {
		db_job_free(job);
		job = NULL;
	}
	req_submit(c, r, job, notice_indicators_done);
}
