/*
 * acl: access decisions and reference lists; see acl.h.
 */
#include "acl.h"

#include <stddef.h>
#include <string.h>

static const char *const acl_role_names[ACL_ROLE_COUNT] = {
	"partner", "coordinator", "auditor", "admin"};

static const char *const acl_kind_names[ACL_KIND_COUNT] = {
	"association", "child_welfare", "youth_justice", "police",
	"gendarmerie", "court",		"lawyer",	 "health",
	"education",   "other"};

static const char *const acl_vis_names[ACL_VIS_COUNT] = {"general", "social",
							 "health", "judicial"};

static const char *const acl_basis_names[ACL_BASIS_COUNT] = {
	"secret_partage", "information_preoccupante", "signalement",
	"requisition", "consent"};

static const char *const acl_nk_names[ACL_NK_COUNT] = {
	"sighting",    "information_preoccupante",
	"signalement", "referral",
	"runaway",     "shelter",
	"hearing",     "court_decision",
	"followup",    "closure"};

static const char *const acl_urgency_names[ACL_URGENCY_COUNT] = {"normal",
								 "urgent"};

static const char *const acl_status_names[ACL_STATUS_COUNT] = {
	"spotted", "presumed_victim", "identified", "not_a_victim"};

static const char *const acl_ack_names[ACL_ACK_COUNT] = {
	"sent", "received", "read", "accepted", "declined", "done"};

static const char *const acl_reason_names[ACL_REASON_COUNT] = {
	"",
	"no_capacity",
	"not_competent",
	"already_followed",
	"unable_to_contact",
	"other",
	"successful",
	"unsuccessful"};

static const char *const acl_op_names[ACL_OP_COUNT] = {
	"notice.send",	 "inbox",	  "ack",
	"case.list",	 "case.show",	  "case.party",
	"case.lead",	 "case.close",	  "case.reopen",
	"case.status",	 "indicators",	  "watch",
	"network",	 "training.read", "training.write",
	"report",	 "audit",	  "admin",
	"person.search", "person.link"};

static int acl_lookup(const char *const *names, int n, const char *name)
{
	int i;

	if (name == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (strcmp(names[i], name) == 0)
			return i;
	}
	return -1;
}

static const char *acl_name(const char *const *names, int n, int v)
{
	return v >= 0 && v < n ? names[v] : NULL;
}

#define ACL_NAMES(prefix, type, table, count)                                  \
	int acl_##prefix##_from_name(const char *name)                         \
	{                                                                      \
		return acl_lookup(table, count, name);                         \
	}                                                                      \
	const char *acl_##prefix##_name(type v)                                \
	{                                                                      \
		return acl_name(table, count, (int)v);                         \
	}

ACL_NAMES(role, enum acl_role, acl_role_names, ACL_ROLE_COUNT)
ACL_NAMES(kind, enum acl_kind, acl_kind_names, ACL_KIND_COUNT)
ACL_NAMES(visibility, enum acl_visibility, acl_vis_names, ACL_VIS_COUNT)
ACL_NAMES(basis, enum acl_basis, acl_basis_names, ACL_BASIS_COUNT)
ACL_NAMES(notice_kind, enum acl_notice_kind, acl_nk_names, ACL_NK_COUNT)
ACL_NAMES(urgency, enum acl_urgency, acl_urgency_names, ACL_URGENCY_COUNT)
ACL_NAMES(status, enum acl_status, acl_status_names, ACL_STATUS_COUNT)
ACL_NAMES(ack, enum acl_ack, acl_ack_names, ACL_ACK_COUNT)
ACL_NAMES(reason, enum acl_reason, acl_reason_names, ACL_REASON_COUNT)

const char *acl_op_name(enum acl_op op)
{
	return acl_name(acl_op_names, ACL_OP_COUNT, (int)op);
}

/* ---- policy ---------------------------------------------------------- */

void acl_policy_clear(struct acl_policy *p)
{
	memset(p, 0, sizeof(*p));
}

static void acl_allow_kinds(unsigned char row[ACL_KIND_COUNT],
			    const enum acl_kind *kinds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		row[kinds[i]] = 1;
}

#define ACL_ALLOW_KINDS(row, ...)                                              \
	do {                                                                   \
		static const enum acl_kind k_[] = {__VA_ARGS__};               \
		acl_allow_kinds(row, k_, sizeof(k_) / sizeof(k_[0]));          \
	} while (0)

void acl_policy_defaults(struct acl_policy *p)
{
	int k;

	acl_policy_clear(p);
	for (k = 0; k < ACL_KIND_COUNT; k++)
		p->visibility[ACL_VIS_GENERAL][k] = 1;
	ACL_ALLOW_KINDS(p->visibility[ACL_VIS_SOCIAL], ACL_KIND_ASSOCIATION,
			ACL_KIND_CHILD_WELFARE, ACL_KIND_YOUTH_JUSTICE,
			ACL_KIND_COURT);
	ACL_ALLOW_KINDS(p->visibility[ACL_VIS_HEALTH], ACL_KIND_HEALTH);
	ACL_ALLOW_KINDS(p->visibility[ACL_VIS_JUDICIAL], ACL_KIND_POLICE,
			ACL_KIND_GENDARMERIE, ACL_KIND_COURT,
			ACL_KIND_YOUTH_JUSTICE);
	p->lead_reads[ACL_VIS_HEALTH] = 1;

	ACL_ALLOW_KINDS(p->basis[ACL_BASIS_SECRET_PARTAGE],
			ACL_KIND_ASSOCIATION, ACL_KIND_CHILD_WELFARE,
			ACL_KIND_YOUTH_JUSTICE, ACL_KIND_COURT, ACL_KIND_HEALTH,
			ACL_KIND_EDUCATION);
	ACL_ALLOW_KINDS(p->basis[ACL_BASIS_INFORMATION_PREOCCUPANTE],
			ACL_KIND_CHILD_WELFARE);
	ACL_ALLOW_KINDS(p->basis[ACL_BASIS_SIGNALEMENT], ACL_KIND_COURT,
			ACL_KIND_CHILD_WELFARE, ACL_KIND_POLICE,
			ACL_KIND_GENDARMERIE);
	ACL_ALLOW_KINDS(p->basis[ACL_BASIS_REQUISITION], ACL_KIND_POLICE,
			ACL_KIND_GENDARMERIE, ACL_KIND_COURT);
	ACL_ALLOW_KINDS(p->basis[ACL_BASIS_CONSENT], ACL_KIND_ASSOCIATION,
			ACL_KIND_CHILD_WELFARE, ACL_KIND_YOUTH_JUSTICE,
			ACL_KIND_COURT, ACL_KIND_LAWYER, ACL_KIND_HEALTH,
			ACL_KIND_EDUCATION, ACL_KIND_OTHER);
}

int acl_policy_allow_visibility(struct acl_policy *p, const char *visibility,
				const char *kind)
{
	int v = acl_visibility_from_name(visibility);
	int k = acl_kind_from_name(kind);

	if (v < 0 || k < 0)
		return -1;
	p->visibility[v][k] = 1;
	return 0;
}

int acl_policy_set_lead_reads(struct acl_policy *p, const char *visibility,
			      int lead_reads)
{
	int v = acl_visibility_from_name(visibility);

	if (v < 0)
		return -1;
	p->lead_reads[v] = lead_reads != 0;
	return 0;
}

int acl_policy_allow_basis(struct acl_policy *p, const char *basis,
			   const char *kind)
{
	int b = acl_basis_from_name(basis);
	int k = acl_kind_from_name(kind);

	if (b < 0 || k < 0)
		return -1;
	p->basis[b][k] = 1;
	return 0;
}

enum acl_basis acl_default_basis(enum acl_notice_kind kind)
{
	switch (kind) {
	case ACL_NK_SIGNALEMENT:
		return ACL_BASIS_SIGNALEMENT;
	case ACL_NK_INFORMATION_PREOCCUPANTE:
		return ACL_BASIS_INFORMATION_PREOCCUPANTE;
	default:
		return ACL_BASIS_SECRET_PARTAGE;
	}
}

/* ---- decisions ------------------------------------------------------- */

static int acl_role_valid(enum acl_role role)
{
	return (int)role >= 0 && role < ACL_ROLE_COUNT;
}

static int acl_kind_valid(enum acl_kind kind)
{
	return (int)kind >= 0 && kind < ACL_KIND_COUNT;
}

enum acl_decision acl_role_may(enum acl_role role, enum acl_op op)
{
	if (!acl_role_valid(role) || (int)op < 0 || op >= ACL_OP_COUNT)
		return ACL_DENY_FORBIDDEN;
	switch (op) {
	case ACL_OP_INDICATORS:
	case ACL_OP_NETWORK:
		return ACL_ALLOW;
	case ACL_OP_AUDIT:
		return role == ACL_ROLE_AUDITOR ? ACL_ALLOW
						: ACL_DENY_FORBIDDEN;
	case ACL_OP_ADMIN:
		return role == ACL_ROLE_ADMIN ? ACL_ALLOW : ACL_DENY_FORBIDDEN;
	case ACL_OP_CASE_PARTY:
	case ACL_OP_CASE_LEAD:
	case ACL_OP_CASE_CLOSE:
	case ACL_OP_CASE_REOPEN:
	case ACL_OP_TRAINING_READ:
	case ACL_OP_TRAINING_WRITE:
	case ACL_OP_REPORT:
	case ACL_OP_PERSON_LINK:
		return role == ACL_ROLE_COORDINATOR ? ACL_ALLOW
						    : ACL_DENY_FORBIDDEN;
	default:
		/* Notices, inbox, cases, watch, person search. */
		return role == ACL_ROLE_COORDINATOR || role == ACL_ROLE_PARTNER
			       ? ACL_ALLOW
			       : ACL_DENY_FORBIDDEN;
	}
}

enum acl_decision acl_case_visible(const struct acl_subject *s)
{
	switch (s->role) {
	case ACL_ROLE_COORDINATOR:
		return ACL_ALLOW;
	case ACL_ROLE_PARTNER:
		return s->is_party ? ACL_ALLOW : ACL_DENY_NOT_FOUND;
	default:
		return ACL_DENY_FORBIDDEN;
	}
}

enum acl_decision acl_notice_readable(const struct acl_policy *p,
				      const struct acl_subject *s,
				      enum acl_visibility v, int is_author)
{
	enum acl_decision d = acl_case_visible(s);

	if (d != ACL_ALLOW)
		return d;
	if ((int)v < 0 || v >= ACL_VIS_COUNT || !acl_kind_valid(s->kind))
		return ACL_DENY_NOT_FOUND;
	if (is_author)
		return ACL_ALLOW;
	if (p->visibility[v][s->kind])
		return ACL_ALLOW;
	if (s->is_lead && p->lead_reads[v])
		return ACL_ALLOW;
	return ACL_DENY_NOT_FOUND;
}

enum acl_decision acl_recipient_allowed(const struct acl_policy *p,
					enum acl_basis b, enum acl_visibility v,
					enum acl_kind k, int is_lead)
{
	if ((int)b < 0 || b >= ACL_BASIS_COUNT || (int)v < 0 ||
	    v >= ACL_VIS_COUNT || !acl_kind_valid(k))
		return ACL_DENY_INVALID;
	if (!p->basis[b][k])
		return ACL_DENY_INVALID;
	if (p->visibility[v][k] || (is_lead && p->lead_reads[v]))
		return ACL_ALLOW;
	return ACL_DENY_INVALID;
}

enum acl_decision acl_status_change(const struct acl_subject *s,
				    enum acl_status st)
{
	enum acl_decision d;

	if ((int)st < 0 || st >= ACL_STATUS_COUNT)
		return ACL_DENY_INVALID;
	d = acl_case_visible(s);
	if (d != ACL_ALLOW)
		return d;
	if (st != ACL_STATUS_IDENTIFIED)
		return ACL_ALLOW;
	/* Formal identification belongs to police and gendarmerie. */
	if (s->kind != ACL_KIND_POLICE && s->kind != ACL_KIND_GENDARMERIE)
		return ACL_DENY_FORBIDDEN;
	return ACL_ALLOW;
}

static int acl_reason_fits(enum acl_ack to, enum acl_reason reason)
{
	switch (to) {
	case ACL_ACK_DECLINED:
		return reason >= ACL_REASON_NO_CAPACITY &&
		       reason <= ACL_REASON_OTHER;
	case ACL_ACK_DONE:
		return reason == ACL_REASON_SUCCESSFUL ||
		       reason == ACL_REASON_UNSUCCESSFUL;
	default:
		return reason == ACL_REASON_NONE;
	}
}

enum acl_decision acl_ack_transition(enum acl_ack from, enum acl_ack to,
				     enum acl_reason reason, const char **field)
{
	*field = "state";
	if ((int)from < 0 || from >= ACL_ACK_COUNT || (int)to < 0 ||
	    to >= ACL_ACK_COUNT || to == ACL_ACK_SENT)
		return ACL_DENY_INVALID;
	if (from == ACL_ACK_DECLINED || from == ACL_ACK_DONE || to <= from)
		return ACL_DENY_INVALID;
	if (from == ACL_ACK_ACCEPTED && to == ACL_ACK_DECLINED)
		return ACL_DENY_INVALID;
	if ((int)reason < 0 || reason >= ACL_REASON_COUNT ||
	    !acl_reason_fits(to, reason)) {
		*field = "reason";
		return ACL_DENY_INVALID;
	}
	*field = NULL;
	return ACL_ALLOW;
}

int acl_case_transition(int is_open, int closing)
{
	return is_open ? closing != 0 : closing == 0;
}
