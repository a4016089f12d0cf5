/*
 * acl: every access decision of the daemon, in one pure module. It owns the
 * reference lists that decisions are made on (roles, institution kinds,
 * notice kinds, urgencies, visibility classes, legal bases, protection
 * statuses, acknowledgement states and reasons) and the rules: which role may
 * perform which operation, who may see a case, who may read a notice of a
 * visibility class (the visibility matrix), which legal basis may reach
 * which institution kind (the basis matrix), who may record which protection
 * status, and which acknowledgement follows which. The two matrices are data
 * (struct acl_policy), loaded from the database by the policy module; the
 * defaults here mirror sql/002_notices.sql and serve the unit tests. No I/O,
 * no allocation, no global state: every function is a function of its
 * arguments.
 */
#ifndef MAILLAGE_ACL_H
#define MAILLAGE_ACL_H

enum acl_role {
	ACL_ROLE_PARTNER = 0,
	ACL_ROLE_COORDINATOR,
	ACL_ROLE_AUDITOR,
	ACL_ROLE_ADMIN,
	ACL_ROLE_COUNT
};

enum acl_kind {
	ACL_KIND_ASSOCIATION = 0,
	ACL_KIND_CHILD_WELFARE,
	ACL_KIND_YOUTH_JUSTICE,
	ACL_KIND_POLICE,
	ACL_KIND_GENDARMERIE,
	ACL_KIND_COURT,
	ACL_KIND_LAWYER,
	ACL_KIND_HEALTH,
	ACL_KIND_EDUCATION,
	ACL_KIND_OTHER,
	ACL_KIND_COUNT
};

enum acl_visibility {
	ACL_VIS_GENERAL = 0,
	ACL_VIS_SOCIAL,
	ACL_VIS_HEALTH,
	ACL_VIS_JUDICIAL,
	ACL_VIS_COUNT
};

enum acl_basis {
	ACL_BASIS_SECRET_PARTAGE = 0,
	ACL_BASIS_INFORMATION_PREOCCUPANTE,
	ACL_BASIS_SIGNALEMENT,
	ACL_BASIS_REQUISITION,
	ACL_BASIS_CONSENT,
	ACL_BASIS_COUNT
};

enum acl_notice_kind {
	ACL_NK_SIGHTING = 0,
	ACL_NK_INFORMATION_PREOCCUPANTE,
	ACL_NK_SIGNALEMENT,
	ACL_NK_REFERRAL,
	ACL_NK_RUNAWAY,
	ACL_NK_SHELTER,
	ACL_NK_HEARING,
	ACL_NK_COURT_DECISION,
	ACL_NK_FOLLOWUP,
	ACL_NK_CLOSURE,
	ACL_NK_COUNT
};

enum acl_urgency {
	ACL_URGENCY_NORMAL = 0,
	ACL_URGENCY_URGENT,
	ACL_URGENCY_COUNT
};

enum acl_status {
	ACL_STATUS_SPOTTED = 0,
	ACL_STATUS_PRESUMED_VICTIM,
	ACL_STATUS_IDENTIFIED,
	ACL_STATUS_NOT_A_VICTIM,
	ACL_STATUS_COUNT
};

/* Acknowledgement states, in their order: a state only moves forward. */
enum acl_ack {
	ACL_ACK_SENT = 0,
	ACL_ACK_RECEIVED,
	ACL_ACK_READ,
	ACL_ACK_ACCEPTED,
	ACL_ACK_DECLINED,
	ACL_ACK_DONE,
	ACL_ACK_COUNT
};

enum acl_reason {
	ACL_REASON_NONE = 0,
	ACL_REASON_NO_CAPACITY,
	ACL_REASON_NOT_COMPETENT,
	ACL_REASON_ALREADY_FOLLOWED,
	ACL_REASON_UNABLE_TO_CONTACT,
	ACL_REASON_OTHER,
	ACL_REASON_SUCCESSFUL,
	ACL_REASON_UNSUCCESSFUL,
	ACL_REASON_COUNT
};

/* Operations a request may ask for. */
enum acl_op {
	ACL_OP_NOTICE_SEND = 0,
	ACL_OP_INBOX,
	ACL_OP_ACK,
	ACL_OP_CASE_LIST,
	ACL_OP_CASE_SHOW,
	ACL_OP_CASE_PARTY, /* add or remove a party */
	ACL_OP_CASE_LEAD,
	ACL_OP_CASE_CLOSE,
	ACL_OP_CASE_REOPEN,
	ACL_OP_CASE_STATUS,
	ACL_OP_INDICATORS,
	ACL_OP_WATCH,	       /* receive the institution's events */
	ACL_OP_NETWORK,	       /* read the directory of institutions */
	ACL_OP_TRAINING_READ,  /* awareness sessions */
	ACL_OP_TRAINING_WRITE, /* record or edit a session */
	ACL_OP_REPORT,	       /* reach and impact reports */
	ACL_OP_AUDIT,	       /* read and verify the audit trail */
	ACL_OP_ADMIN,	       /* institutions and accounts */
	ACL_OP_PERSON_SEARCH,  /* search and show persons */
	ACL_OP_PERSON_LINK,    /* link, unlink, review candidates */
	ACL_OP_COUNT
};

/* The outcome of a decision, and the error a refusal maps to. */
enum acl_decision {
	ACL_ALLOW = 0,
	ACL_DENY_FORBIDDEN, /* the role may never do this: FORBIDDEN */
	ACL_DENY_NOT_FOUND, /* not visible to the caller: NOT_FOUND */
	ACL_DENY_INVALID    /* the request asks for what the rules bar:
			       BAD_REQUEST naming the field */
};

/* The two need-to-know matrices, as stored in the database. */
struct acl_policy {
	/* visibility[v][k]: parties of kind k read notices of class v. */
	unsigned char visibility[ACL_VIS_COUNT][ACL_KIND_COUNT];
	/* lead_reads[v]: the lead institution reads class v whatever its kind
	 */
	unsigned char lead_reads[ACL_VIS_COUNT];
	/* basis[b][k]: a notice on basis b may be addressed to kind k. */
	unsigned char basis[ACL_BASIS_COUNT][ACL_KIND_COUNT];
};

/* Who is asking, as far as one case is concerned. */
struct acl_subject {
	enum acl_role role;
	enum acl_kind kind; /* kind of the caller's institution */
	int is_party; /* the caller's institution is a party of the case */
	int is_lead;  /* ... and its lead institution */
};

/* ---- names <-> codes: -1 for an unknown name; NULL for a bad code ---- */

int acl_role_from_name(const char *name);
const char *acl_role_name(enum acl_role role);
int acl_kind_from_name(const char *name);
const char *acl_kind_name(enum acl_kind kind);
int acl_visibility_from_name(const char *name);
const char *acl_visibility_name(enum acl_visibility v);
int acl_basis_from_name(const char *name);
const char *acl_basis_name(enum acl_basis b);
int acl_notice_kind_from_name(const char *name);
const char *acl_notice_kind_name(enum acl_notice_kind k);
int acl_urgency_from_name(const char *name);
const char *acl_urgency_name(enum acl_urgency u);
int acl_status_from_name(const char *name);
const char *acl_status_name(enum acl_status s);
int acl_ack_from_name(const char *name);
const char *acl_ack_name(enum acl_ack a);
int acl_reason_from_name(const char *name); /* "" -> ACL_REASON_NONE */
const char *acl_reason_name(enum acl_reason r);
const char *acl_op_name(enum acl_op op);

/* ---- policy ---- */

/* The defaults of sql/002_notices.sql. */
void acl_policy_defaults(struct acl_policy *p);
/* Everything denied (the policy module fills it from rows). */
void acl_policy_clear(struct acl_policy *p);
/* Allow one cell by names; 0, or -1 for an unknown name. */
int acl_policy_allow_visibility(struct acl_policy *p, const char *visibility,
				const char *kind);
int acl_policy_set_lead_reads(struct acl_policy *p, const char *visibility,
			      int lead_reads);
int acl_policy_allow_basis(struct acl_policy *p, const char *basis,
			   const char *kind);

/* The default legal basis of a notice kind (signalement for a signalement,
 * information_preoccupante for one, secret_partage otherwise). */
enum acl_basis acl_default_basis(enum acl_notice_kind kind);

/* ---- decisions ---- */

/*
 * May `role` perform `op` at all (before looking at any case)? Partners and
 * coordinators work on notices and cases (coordinators alone change cases,
 * link persons, record trainings and read reports); auditors read the audit
 * trail and admins manage institutions and accounts, neither reading any
 * case content; everyone reads the indicator list and the directory.
 */
enum acl_decision acl_role_may(enum acl_role role, enum acl_op op);

/*
 * May the subject see the case (its summary, parties, identities)?
 * Coordinators see every case; partners the cases their institution is a
 * party to; auditors and admins no case content. ACL_DENY_NOT_FOUND for a
 * partner outside the case, ACL_DENY_FORBIDDEN for the content-blind roles.
 */
enum acl_decision acl_case_visible(const struct acl_subject *s);

/*
 * May the subject read a notice of class `v` in a case it may see?
 * `is_author`: the subject's institution sent the notice (always reads it).
 * Otherwise the visibility matrix for the subject's kind, or lead_reads when
 * the subject's institution leads the case. Applies to coordinators too:
 * seeing every case does not mean reading every class.
 */
enum acl_decision acl_notice_readable(const struct acl_policy *p,
				      const struct acl_subject *s,
				      enum acl_visibility v, int is_author);

/*
 * May a notice on basis `b`, of class `v`, be addressed to an institution of
 * kind `k` (that leads the case: `is_lead`)? The basis matrix must allow the
 * kind, and the recipient must be able to read the notice (visibility matrix
 * or lead_reads). ACL_DENY_INVALID otherwise (BAD_REQUEST on "to").
 */
enum acl_decision acl_recipient_allowed(const struct acl_policy *p,
					enum acl_basis b, enum acl_visibility v,
					enum acl_kind k, int is_lead);

/*
 * May the subject record protection status `st` on a case? Coordinators and
 * partners of a party institution may record spotted, presumed_victim and
 * not_a_victim; `identified` (formal identification as a victim) only
 * accounts of police or gendarmerie institutions that are parties, or
 * coordinators of such an institution. A partner outside the case:
 * ACL_DENY_NOT_FOUND; `identified` by another kind: ACL_DENY_FORBIDDEN.
 */
enum acl_decision acl_status_change(const struct acl_subject *s,
				    enum acl_status st);

/*
 * May a recipient move its acknowledgement from `from` to `to` with
 * `reason`? Forward only, in the order of enum acl_ack (sent < received <
 * read < accepted < declined < done), except that accepted cannot become
 * declined; declined and done are final; the same state again is refused.
 * `declined` needs one of the decline reasons, `done` successful or
 * unsuccessful, the others no reason. ACL_DENY_INVALID with *field set to
 * "state" (not a forward move) or "reason" (missing or wrong reason).
 */
enum acl_decision acl_ack_transition(enum acl_ack from, enum acl_ack to,
				     enum acl_reason reason,
				     const char **field);

/* A closed case may be reopened, an open one closed: 1 if `closing` fits. */
int acl_case_transition(int is_open, int closing);

#endif
