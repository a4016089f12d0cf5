/*
 * test_acl: unit tests of the access module (server/acl.c), written from its
 * contract (server/acl.h, sql/002_notices.sql, issue 3). They own the
 * explicit expected tables of both default need-to-know matrices (one test
 * per cell of the visibility matrix and of the legal-basis matrix, plus
 * lead_reads and the author rule), the role x operation table, case
 * visibility, notice readability, recipient checks, protection-status
 * changes, acknowledgement transitions, case close/reopen, every name <->
 * code list with unknown names, the policy setters by name and the proof
 * that a custom policy (the matrices are data) changes the decisions.
 * Expected values are spelled out here, never derived from the module.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "acl.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the expected tables, copied by hand from sql/002_notices.sql ---- */

static const char *const role_names[ACL_ROLE_COUNT] = {"partner", "coordinator",
						       "auditor", "admin"};

static const char *const kind_names[ACL_KIND_COUNT] = {
	"association", "child_welfare", "youth_justice", "police",
	"gendarmerie", "court",		"lawyer",	 "health",
	"education",   "other"};

static const char *const vis_names[ACL_VIS_COUNT] = {"general", "social",
						     "health", "judicial"};

static const char *const basis_names[ACL_BASIS_COUNT] = {
	"secret_partage", "information_preoccupante", "signalement",
	"requisition", "consent"};

static const char *const nk_names[ACL_NK_COUNT] = {
	"sighting",    "information_preoccupante",
	"signalement", "referral",
	"runaway",     "shelter",
	"hearing",     "court_decision",
	"followup",    "closure"};

static const char *const urgency_names[ACL_URGENCY_COUNT] = {"normal",
							     "urgent"};

static const char *const status_names[ACL_STATUS_COUNT] = {
	"spotted", "presumed_victim", "identified", "not_a_victim"};

static const char *const ack_names[ACL_ACK_COUNT] = {
	"sent", "received", "read", "accepted", "declined", "done"};

/* Index 0 (ACL_REASON_NONE) is checked on its own: "" -> NONE. */
static const char *const reason_names[ACL_REASON_COUNT] = {NULL,
							   "no_capacity",
							   "not_competent",
							   "already_followed",
							   "unable_to_contact",
							   "other",
							   "successful",
							   "unsuccessful"};

/*
 * visibility_rule: general -> every kind; social -> association, child
 * welfare, youth justice, court; health -> health; judicial -> police,
 * gendarmerie, court, youth justice.
 */
static const unsigned char exp_vis[ACL_VIS_COUNT][ACL_KIND_COUNT] = {
	/*	       assoc cw yj police gend court lawyer health educ other */
	[ACL_VIS_GENERAL] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
	[ACL_VIS_SOCIAL] = {1, 1, 1, 0, 0, 1, 0, 0, 0, 0},
	[ACL_VIS_HEALTH] = {0, 0, 0, 0, 0, 0, 0, 1, 0, 0},
	[ACL_VIS_JUDICIAL] = {0, 0, 1, 1, 1, 1, 0, 0, 0, 0},
};

/* visibility_class.lead_reads: only health. */
static const unsigned char exp_lead_reads[ACL_VIS_COUNT] = {
	[ACL_VIS_GENERAL] = 0,
	[ACL_VIS_SOCIAL] = 0,
	[ACL_VIS_HEALTH] = 1,
	[ACL_VIS_JUDICIAL] = 0,
};

/* basis_rule. */
static const unsigned char exp_basis[ACL_BASIS_COUNT][ACL_KIND_COUNT] = {
	/*	       assoc cw yj police gend court lawyer health educ other */
	[ACL_BASIS_SECRET_PARTAGE] = {1, 1, 1, 0, 0, 1, 0, 1, 1, 0},
	[ACL_BASIS_INFORMATION_PREOCCUPANTE] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 0},
	[ACL_BASIS_SIGNALEMENT] = {0, 1, 0, 1, 1, 1, 0, 0, 0, 0},
	[ACL_BASIS_REQUISITION] = {0, 0, 0, 1, 1, 1, 0, 0, 0, 0},
	[ACL_BASIS_CONSENT] = {1, 1, 1, 0, 0, 1, 1, 1, 1, 1},
};

/* Issue 3 rules: role x operation. A: allow, F: forbidden. */
#define A ACL_ALLOW
#define F ACL_DENY_FORBIDDEN
static const enum acl_decision exp_role_may[ACL_ROLE_COUNT][ACL_OP_COUNT] = {
	/* send inbox ack list show party lead close reopen status indic
	 * watch network tr.read tr.write report audit admin p.search p.link */
	[ACL_ROLE_PARTNER] = {A, A, A, A, A, F, F, F, F, A,
			      A, A, A, F, F, F, F, F, A, F},
	[ACL_ROLE_COORDINATOR] = {A, A, A, A, A, A, A, A, A, A,
				  A, A, A, A, A, A, F, F, A, A},
	[ACL_ROLE_AUDITOR] = {F, F, F, F, F, F, F, F, F, F,
			      A, F, A, F, F, F, A, F, F, F},
	[ACL_ROLE_ADMIN] = {F, F, F, F, F, F, F, F, F, F,
			    A, F, A, F, F, F, F, A, F, F},
};
#undef A
#undef F

/*
 * The allowed acknowledgement moves (from -> to), spelled out: forward in
 * the order sent < received < read < accepted < declined < done, except
 * accepted -> declined; declined and done final; never the same state.
 */
static const unsigned char exp_ack_move[ACL_ACK_COUNT][ACL_ACK_COUNT] = {
	/*	       to: sent recv read acc decl done */
	[ACL_ACK_SENT] = {0, 1, 1, 1, 1, 1},
	[ACL_ACK_RECEIVED] = {0, 0, 1, 1, 1, 1},
	[ACL_ACK_READ] = {0, 0, 0, 1, 1, 1},
	[ACL_ACK_ACCEPTED] = {0, 0, 0, 0, 0, 1},
	[ACL_ACK_DECLINED] = {0, 0, 0, 0, 0, 0},
	[ACL_ACK_DONE] = {0, 0, 0, 0, 0, 0},
};

/* The reasons each target state takes (the others take ACL_REASON_NONE). */
static const unsigned char exp_ack_reason[ACL_ACK_COUNT][ACL_REASON_COUNT] = {
	/*	 none nocap notcomp already unable other succ unsucc */
	[ACL_ACK_SENT] = {1, 0, 0, 0, 0, 0, 0, 0},
	[ACL_ACK_RECEIVED] = {1, 0, 0, 0, 0, 0, 0, 0},
	[ACL_ACK_READ] = {1, 0, 0, 0, 0, 0, 0, 0},
	[ACL_ACK_ACCEPTED] = {1, 0, 0, 0, 0, 0, 0, 0},
	[ACL_ACK_DECLINED] = {0, 1, 1, 1, 1, 1, 0, 0},
	[ACL_ACK_DONE] = {0, 0, 0, 0, 0, 0, 1, 1},
};

/* ---- helpers ---- */

static struct acl_subject subject(enum acl_role role, enum acl_kind kind,
				  int is_party, int is_lead)
{
	struct acl_subject s;

	memset(&s, 0, sizeof(s));
	s.role = role;
	s.kind = kind;
	s.is_party = is_party;
	s.is_lead = is_lead;
	return s;
}

static struct acl_policy defaults(void)
{
	struct acl_policy p;

	memset(&p, 0xa5, sizeof(p));
	acl_policy_defaults(&p);
	return p;
}

static struct acl_policy cleared(void)
{
	struct acl_policy p;

	memset(&p, 0xff, sizeof(p));
	acl_policy_clear(&p);
	return p;
}

static const char *dname(enum acl_decision d)
{
	switch (d) {
	case ACL_ALLOW:
		return "ALLOW";
	case ACL_DENY_FORBIDDEN:
		return "DENY_FORBIDDEN";
	case ACL_DENY_NOT_FOUND:
		return "DENY_NOT_FOUND";
	case ACL_DENY_INVALID:
		return "DENY_INVALID";
	}
	return "?";
}

/* May the case be seen, by the rules of issue 3 (not by the module)? */
static int exp_case_visible(enum acl_role role, int is_party)
{
	return role == ACL_ROLE_COORDINATOR ||
	       (role == ACL_ROLE_PARTNER && is_party);
}

static int exp_readable(const unsigned char vis[ACL_VIS_COUNT][ACL_KIND_COUNT],
			const unsigned char lead_reads[ACL_VIS_COUNT],
			enum acl_visibility v, enum acl_kind k, int is_lead,
			int is_author)
{
	return is_author || vis[v][k] || (is_lead && lead_reads[v]);
}

static int
exp_recipient(const unsigned char vis[ACL_VIS_COUNT][ACL_KIND_COUNT],
	      const unsigned char lead_reads[ACL_VIS_COUNT],
	      const unsigned char basis[ACL_BASIS_COUNT][ACL_KIND_COUNT],
	      enum acl_basis b, enum acl_visibility v, enum acl_kind k,
	      int is_lead)
{
	return basis[b][k] && (vis[v][k] || (is_lead && lead_reads[v]));
}

/*
 * Every readability check of a visible case for readers of kind `k` under
 * policy `p`, against the expected tables.
 */
static void
check_readable(const struct acl_policy *p,
	       const unsigned char vis[ACL_VIS_COUNT][ACL_KIND_COUNT],
	       const unsigned char lead_reads[ACL_VIS_COUNT],
	       enum acl_visibility v, enum acl_kind k)
{
	static const struct {
		enum acl_role role;
		int is_party;
	} readers[] = {
		{ACL_ROLE_PARTNER, 1},
		{ACL_ROLE_COORDINATOR, 1},
		{ACL_ROLE_COORDINATOR, 0},
	};
	size_t i;
	int lead, author;

	for (i = 0; i < NELEM(readers); i++) {
		for (lead = 0; lead <= readers[i].is_party; lead++) {
			for (author = 0; author <= 1; author++) {
				struct acl_subject s =
					subject(readers[i].role, k,
						readers[i].is_party, lead);
				enum acl_decision d =
					acl_notice_readable(p, &s, v, author);
				int want = exp_readable(vis, lead_reads, v, k,
							lead, author);

				if ((d == ACL_ALLOW) != want)
					fail_msg("readable(role %s, kind %s, "
						 "party %d, lead %d, vis %s, "
						 "author %d): got %s, want %s",
						 role_names[readers[i].role],
						 kind_names[k],
						 readers[i].is_party, lead,
						 vis_names[v], author, dname(d),
						 want ? "ALLOW" : "a denial");
			}
		}
	}
}

static void
check_recipient(const struct acl_policy *p,
		const unsigned char vis[ACL_VIS_COUNT][ACL_KIND_COUNT],
		const unsigned char lead_reads[ACL_VIS_COUNT],
		const unsigned char basis[ACL_BASIS_COUNT][ACL_KIND_COUNT],
		enum acl_basis b, enum acl_visibility v, enum acl_kind k)
{
	int lead;

	for (lead = 0; lead <= 1; lead++) {
		enum acl_decision d = acl_recipient_allowed(p, b, v, k, lead);
		enum acl_decision want =
			exp_recipient(vis, lead_reads, basis, b, v, k, lead)
				? ACL_ALLOW
				: ACL_DENY_INVALID;

		if (d != want)
			fail_msg("recipient_allowed(basis %s, vis %s, kind %s, "
				 "lead %d): got %s, want %s",
				 basis_names[b], vis_names[v], kind_names[k],
				 lead, dname(d), dname(want));
	}
}

/* ---- one test per cell of the default visibility matrix ---- */

static void check_vis_cell(enum acl_visibility v, enum acl_kind k)
{
	struct acl_policy p = defaults();
	enum acl_basis b;

	if (!!p.visibility[v][k] != exp_vis[v][k])
		fail_msg("default visibility[%s][%s] = %d, want %d",
			 vis_names[v], kind_names[k], p.visibility[v][k],
			 exp_vis[v][k]);
	check_readable(&p, exp_vis, exp_lead_reads, v, k);
	for (b = 0; b < ACL_BASIS_COUNT; b++)
		check_recipient(&p, exp_vis, exp_lead_reads, exp_basis, b, v,
				k);
}

#define FOR_KINDS(X, a)                                                        \
	X(a, ASSOCIATION)                                                      \
	X(a, CHILD_WELFARE)                                                    \
	X(a, YOUTH_JUSTICE)                                                    \
	X(a, POLICE)                                                           \
	X(a, GENDARMERIE)                                                      \
	X(a, COURT)                                                            \
	X(a, LAWYER)                                                           \
	X(a, HEALTH)                                                           \
	X(a, EDUCATION)                                                        \
	X(a, OTHER)

#define FOR_VIS_CELLS(X)                                                       \
	FOR_KINDS(X, GENERAL)                                                  \
	FOR_KINDS(X, SOCIAL)                                                   \
	FOR_KINDS(X, HEALTH)                                                   \
	FOR_KINDS(X, JUDICIAL)

#define FOR_BASIS_CELLS(X)                                                     \
	FOR_KINDS(X, SECRET_PARTAGE)                                           \
	FOR_KINDS(X, INFORMATION_PREOCCUPANTE)                                 \
	FOR_KINDS(X, SIGNALEMENT)                                              \
	FOR_KINDS(X, REQUISITION)                                              \
	FOR_KINDS(X, CONSENT)

#define DEFINE_VIS_TEST(v, k)                                                  \
	static void test_vis_##v##_##k(void **state)                           \
	{                                                                      \
		(void)state;                                                   \
		check_vis_cell(ACL_VIS_##v, ACL_KIND_##k);                     \
	}
FOR_VIS_CELLS(DEFINE_VIS_TEST)

/* ---- one test per cell of the default legal-basis matrix ---- */

static void check_basis_cell(enum acl_basis b, enum acl_kind k)
{
	struct acl_policy p = defaults();
	enum acl_visibility v;
	enum acl_decision d;

	if (!!p.basis[b][k] != exp_basis[b][k])
		fail_msg("default basis[%s][%s] = %d, want %d", basis_names[b],
			 kind_names[k], p.basis[b][k], exp_basis[b][k]);
	/* A general notice is readable by every kind: the basis decides. */
	d = acl_recipient_allowed(&p, b, ACL_VIS_GENERAL, k, 0);
	if (d != (exp_basis[b][k] ? ACL_ALLOW : ACL_DENY_INVALID))
		fail_msg("recipient_allowed(%s, general, %s, 0) = %s",
			 basis_names[b], kind_names[k], dname(d));
	for (v = 0; v < ACL_VIS_COUNT; v++)
		check_recipient(&p, exp_vis, exp_lead_reads, exp_basis, b, v,
				k);
}

#define DEFINE_BASIS_TEST(b, k)                                                \
	static void test_basis_##b##_##k(void **state)                         \
	{                                                                      \
		(void)state;                                                   \
		check_basis_cell(ACL_BASIS_##b, ACL_KIND_##k);                 \
	}
FOR_BASIS_CELLS(DEFINE_BASIS_TEST)

/* ---- lead_reads and the author rule, per visibility class ---- */

static void check_lead_reads(enum acl_visibility v)
{
	struct acl_policy p = defaults();
	enum acl_kind k;

	if (!!p.lead_reads[v] != exp_lead_reads[v])
		fail_msg("default lead_reads[%s] = %d, want %d", vis_names[v],
			 p.lead_reads[v], exp_lead_reads[v]);
	for (k = 0; k < ACL_KIND_COUNT; k++) {
		struct acl_subject lead = subject(ACL_ROLE_PARTNER, k, 1, 1);
		struct acl_subject plain = subject(ACL_ROLE_PARTNER, k, 1, 0);
		int want = exp_vis[v][k] || exp_lead_reads[v];

		if ((acl_notice_readable(&p, &lead, v, 0) == ACL_ALLOW) != want)
			fail_msg("lead of kind %s reading %s: want %d",
				 kind_names[k], vis_names[v], want);
		if ((acl_notice_readable(&p, &plain, v, 0) == ACL_ALLOW) !=
		    exp_vis[v][k])
			fail_msg("non-lead of kind %s reading %s: want %d",
				 kind_names[k], vis_names[v], exp_vis[v][k]);
	}
}

static void test_lead_reads_general(void **state)
{
	(void)state;
	check_lead_reads(ACL_VIS_GENERAL);
}

static void test_lead_reads_social(void **state)
{
	(void)state;
	check_lead_reads(ACL_VIS_SOCIAL);
}

static void test_lead_reads_health(void **state)
{
	(void)state;
	check_lead_reads(ACL_VIS_HEALTH);
}

static void test_lead_reads_judicial(void **state)
{
	(void)state;
	check_lead_reads(ACL_VIS_JUDICIAL);
}

/* The author's institution reads its own notice whatever the matrix says. */
static void test_author_always_reads(void **state)
{
	struct acl_policy pols[2];
	size_t i;
	enum acl_visibility v;
	enum acl_kind k;
	int lead;

	(void)state;
	pols[0] = defaults();
	pols[1] = cleared();
	for (i = 0; i < NELEM(pols); i++)
		for (v = 0; v < ACL_VIS_COUNT; v++)
			for (k = 0; k < ACL_KIND_COUNT; k++)
				for (lead = 0; lead <= 1; lead++) {
					struct acl_subject ps = subject(
						ACL_ROLE_PARTNER, k, 1, lead);
					struct acl_subject cs =
						subject(ACL_ROLE_COORDINATOR, k,
							lead, lead);

					if (acl_notice_readable(&pols[i], &ps,
								v, 1) !=
						    ACL_ALLOW ||
					    acl_notice_readable(&pols[i], &cs,
								v,
								1) != ACL_ALLOW)
						fail_msg("author of kind %s "
							 "denied %s (policy "
							 "%zu, lead %d)",
							 kind_names[k],
							 vis_names[v], i, lead);
				}
}

/* The whole default policy struct, cell by cell. */
static void test_defaults_struct(void **state)
{
	struct acl_policy p = defaults();
	enum acl_visibility v;
	enum acl_basis b;
	enum acl_kind k;

	(void)state;
	for (v = 0; v < ACL_VIS_COUNT; v++) {
		assert_int_equal(!!p.lead_reads[v], exp_lead_reads[v]);
		for (k = 0; k < ACL_KIND_COUNT; k++)
			assert_int_equal(!!p.visibility[v][k], exp_vis[v][k]);
	}
	for (b = 0; b < ACL_BASIS_COUNT; b++)
		for (k = 0; k < ACL_KIND_COUNT; k++)
			assert_int_equal(!!p.basis[b][k], exp_basis[b][k]);
}

/* Police and gendarmerie receive only signalement and requisition. */
static void test_police_gendarmerie_bases(void **state)
{
	struct acl_policy p = defaults();
	static const enum acl_kind pk[] = {ACL_KIND_POLICE,
					   ACL_KIND_GENDARMERIE};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(pk); i++) {
		assert_int_equal(
			acl_recipient_allowed(&p, ACL_BASIS_SECRET_PARTAGE,
					      ACL_VIS_GENERAL, pk[i], 0),
			ACL_DENY_INVALID);
		assert_int_equal(acl_recipient_allowed(
					 &p, ACL_BASIS_INFORMATION_PREOCCUPANTE,
					 ACL_VIS_GENERAL, pk[i], 0),
				 ACL_DENY_INVALID);
		assert_int_equal(acl_recipient_allowed(&p, ACL_BASIS_CONSENT,
						       ACL_VIS_GENERAL, pk[i],
						       0),
				 ACL_DENY_INVALID);
		assert_int_equal(
			acl_recipient_allowed(&p, ACL_BASIS_SIGNALEMENT,
					      ACL_VIS_JUDICIAL, pk[i], 0),
			ACL_ALLOW);
		assert_int_equal(
			acl_recipient_allowed(&p, ACL_BASIS_REQUISITION,
					      ACL_VIS_GENERAL, pk[i], 1),
			ACL_ALLOW);
		/* Allowed basis, but the class is unreadable for them. */
		assert_int_equal(
			acl_recipient_allowed(&p, ACL_BASIS_SIGNALEMENT,
					      ACL_VIS_SOCIAL, pk[i], 0),
			ACL_DENY_INVALID);
		assert_int_equal(
			acl_recipient_allowed(&p, ACL_BASIS_SIGNALEMENT,
					      ACL_VIS_HEALTH, pk[i], 0),
			ACL_DENY_INVALID);
		/* ... unless they lead the case (health: lead_reads). */
		assert_int_equal(
			acl_recipient_allowed(&p, ACL_BASIS_SIGNALEMENT,
					      ACL_VIS_HEALTH, pk[i], 1),
			ACL_ALLOW);
	}
}

/* acl_recipient_allowed for every basis x visibility x kind x is_lead. */
static void test_recipient_allowed_all(void **state)
{
	struct acl_policy p = defaults();
	enum acl_basis b;
	enum acl_visibility v;
	enum acl_kind k;

	(void)state;
	for (b = 0; b < ACL_BASIS_COUNT; b++)
		for (v = 0; v < ACL_VIS_COUNT; v++)
			for (k = 0; k < ACL_KIND_COUNT; k++)
				check_recipient(&p, exp_vis, exp_lead_reads,
						exp_basis, b, v, k);
}

/* ---- roles ---- */

static void check_role_may(enum acl_role role)
{
	enum acl_op op;

	for (op = 0; op < ACL_OP_COUNT; op++) {
		enum acl_decision d = acl_role_may(role, op);

		if (d != exp_role_may[role][op])
			fail_msg("role_may(%s, %s): got %s, want %s",
				 role_names[role],
				 acl_op_name(op) ? acl_op_name(op) : "?",
				 dname(d), dname(exp_role_may[role][op]));
	}
}

static void test_role_may_partner(void **state)
{
	(void)state;
	check_role_may(ACL_ROLE_PARTNER);
}

static void test_role_may_coordinator(void **state)
{
	(void)state;
	check_role_may(ACL_ROLE_COORDINATOR);
}

static void test_role_may_auditor(void **state)
{
	(void)state;
	check_role_may(ACL_ROLE_AUDITOR);
}

static void test_role_may_admin(void **state)
{
	(void)state;
	check_role_may(ACL_ROLE_ADMIN);
}

/* Everyone may list the indicators. */
static void test_role_may_indicators_everyone(void **state)
{
	enum acl_role r;

	(void)state;
	for (r = 0; r < ACL_ROLE_COUNT; r++)
		assert_int_equal(acl_role_may(r, ACL_OP_INDICATORS), ACL_ALLOW);
}

/* Deny by default: an operation or role outside the lists is not allowed. */
static void test_role_may_out_of_range(void **state)
{
	enum acl_role r;
	enum acl_op op;

	(void)state;
	for (r = 0; r < ACL_ROLE_COUNT; r++)
		assert_int_not_equal(acl_role_may(r, ACL_OP_COUNT), ACL_ALLOW);
	for (op = 0; op < ACL_OP_COUNT; op++)
		assert_int_not_equal(acl_role_may(ACL_ROLE_COUNT, op),
				     ACL_ALLOW);
}

/* ---- case visibility: role x party x lead (x kind) ---- */

static void test_case_visible(void **state)
{
	enum acl_role r;
	enum acl_kind k;
	int party, lead;

	(void)state;
	for (r = 0; r < ACL_ROLE_COUNT; r++)
		for (k = 0; k < ACL_KIND_COUNT; k++)
			for (party = 0; party <= 1; party++)
				for (lead = 0; lead <= party; lead++) {
					struct acl_subject s =
						subject(r, k, party, lead);
					enum acl_decision want, d;

					if (r == ACL_ROLE_AUDITOR ||
					    r == ACL_ROLE_ADMIN)
						want = ACL_DENY_FORBIDDEN;
					else if (exp_case_visible(r, party))
						want = ACL_ALLOW;
					else
						want = ACL_DENY_NOT_FOUND;
					d = acl_case_visible(&s);
					if (d != want)
						fail_msg("case_visible(%s, %s, "
							 "party %d, lead %d): "
							 "got %s, want %s",
							 role_names[r],
							 kind_names[k], party,
							 lead, dname(d),
							 dname(want));
				}
}

static void test_case_visible_examples(void **state)
{
	struct acl_subject police =
		subject(ACL_ROLE_PARTNER, ACL_KIND_POLICE, 0, 0);
	struct acl_subject pjj =
		subject(ACL_ROLE_PARTNER, ACL_KIND_YOUTH_JUSTICE, 1, 0);
	struct acl_subject coord =
		subject(ACL_ROLE_COORDINATOR, ACL_KIND_ASSOCIATION, 0, 0);
	struct acl_subject admin =
		subject(ACL_ROLE_ADMIN, ACL_KIND_OTHER, 1, 1);

	(void)state;
	assert_int_equal(acl_case_visible(&police), ACL_DENY_NOT_FOUND);
	assert_int_equal(acl_case_visible(&pjj), ACL_ALLOW);
	assert_int_equal(acl_case_visible(&coord), ACL_ALLOW);
	assert_int_equal(acl_case_visible(&admin), ACL_DENY_FORBIDDEN);
}

/* ---- notice readability ---- */

/*
 * Every role x kind x visibility x party x lead x author, for subjects that
 * may see the case: author, or the matrix, or lead_reads for the lead.
 */
static void test_notice_readable_all(void **state)
{
	struct acl_policy p = defaults();
	enum acl_role r;
	enum acl_kind k;
	enum acl_visibility v;
	int party, lead, author;

	(void)state;
	for (r = 0; r < ACL_ROLE_COUNT; r++)
		for (k = 0; k < ACL_KIND_COUNT; k++)
			for (v = 0; v < ACL_VIS_COUNT; v++)
				for (party = 0; party <= 1; party++)
					for (lead = 0; lead <= party; lead++)
						for (author = 0; author <= 1;
						     author++) {
							struct acl_subject s =
								subject(r, k,
									party,
									lead);
							enum acl_decision d;
							int want;

							if (!exp_case_visible(
								    r, party))
								continue;
							want = exp_readable(
								exp_vis,
								exp_lead_reads,
								v, k, lead,
								author);
							d = acl_notice_readable(
								&p, &s, v,
								author);
							if ((d == ACL_ALLOW) !=
							    want)
								fail_msg(
									"readab"
									"le(%s,"
									" %s, "
									"%s, "
									"party "
									"%d, "
									"lead "
									"%d, "
									"author"
									" %d): "
									"got "
									"%s",
									role_names
										[r],
									kind_names
										[k],
									vis_names
										[v],
									party,
									lead,
									author,
									dname(d));
						}
}

/* Seeing every case does not mean reading every class. */
static void test_coordinator_needs_matrix(void **state)
{
	struct acl_policy p = defaults();
	struct acl_subject hlr =
		subject(ACL_ROLE_COORDINATOR, ACL_KIND_ASSOCIATION, 0, 0);

	(void)state;
	assert_int_equal(acl_notice_readable(&p, &hlr, ACL_VIS_GENERAL, 0),
			 ACL_ALLOW);
	assert_int_equal(acl_notice_readable(&p, &hlr, ACL_VIS_SOCIAL, 0),
			 ACL_ALLOW);
	assert_int_not_equal(acl_notice_readable(&p, &hlr, ACL_VIS_HEALTH, 0),
			     ACL_ALLOW);
	assert_int_not_equal(acl_notice_readable(&p, &hlr, ACL_VIS_JUDICIAL, 0),
			     ACL_ALLOW);
	assert_int_equal(acl_notice_readable(&p, &hlr, ACL_VIS_JUDICIAL, 1),
			 ACL_ALLOW);
}

/*
 * Defensive: a subject that may not see the case (auditor, admin, partner
 * outside the case) never reads a notice of it, whatever the flags.
 */
static void test_notice_readable_outside_visible_case(void **state)
{
	struct acl_policy p = defaults();
	enum acl_role r;
	enum acl_kind k;
	enum acl_visibility v;
	int party, lead, author;

	(void)state;
	for (r = 0; r < ACL_ROLE_COUNT; r++)
		for (k = 0; k < ACL_KIND_COUNT; k++)
			for (v = 0; v < ACL_VIS_COUNT; v++)
				for (party = 0; party <= 1; party++)
					for (lead = 0; lead <= party; lead++)
						for (author = 0; author <= 1;
						     author++) {
							struct acl_subject s =
								subject(r, k,
									party,
									lead);
							enum acl_decision d;

							if (exp_case_visible(
								    r, party))
								continue;
							d = acl_notice_readable(
								&p, &s, v,
								author);
							if (d == ACL_ALLOW)
								fail_msg(
									"readab"
									"le(%s,"
									" %s, "
									"%s, "
									"party "
									"%d, "
									"lead "
									"%d, "
									"author"
									" %d) "
									"allowe"
									"d "
									"outsid"
									"e a "
									"visibl"
									"e "
									"case",
									role_names
										[r],
									kind_names
										[k],
									vis_names
										[v],
									party,
									lead,
									author);
						}
}

/* ---- protection status ---- */

static enum acl_decision exp_status(enum acl_role r, enum acl_kind k, int party,
				    enum acl_status st)
{
	int pg = k == ACL_KIND_POLICE || k == ACL_KIND_GENDARMERIE;

	if (r == ACL_ROLE_AUDITOR || r == ACL_ROLE_ADMIN)
		return ACL_DENY_FORBIDDEN;
	if (r == ACL_ROLE_PARTNER && !party)
		return ACL_DENY_NOT_FOUND;
	if (st == ACL_STATUS_IDENTIFIED && !pg)
		return ACL_DENY_FORBIDDEN;
	return ACL_ALLOW;
}

/* Every role x kind x party (x lead) x status. */
static void test_status_change_all(void **state)
{
	enum acl_role r;
	enum acl_kind k;
	enum acl_status st;
	int party, lead;

	(void)state;
	for (r = 0; r < ACL_ROLE_COUNT; r++)
		for (k = 0; k < ACL_KIND_COUNT; k++)
			for (party = 0; party <= 1; party++)
				for (lead = 0; lead <= party; lead++)
					for (st = 0; st < ACL_STATUS_COUNT;
					     st++) {
						struct acl_subject s = subject(
							r, k, party, lead);
						enum acl_decision want =
							exp_status(r, k, party,
								   st);
						enum acl_decision d =
							acl_status_change(&s,
									  st);

						if (d != want)
							fail_msg(
								"status_change("
								"%s, %s, party "
								"%d, lead %d, "
								"%s): got %s, "
								"want %s",
								role_names[r],
								kind_names[k],
								party, lead,
								status_names
									[st],
								dname(d),
								dname(want));
					}
}

static void test_status_identified(void **state)
{
	struct acl_subject s;

	(void)state;
	s = subject(ACL_ROLE_PARTNER, ACL_KIND_POLICE, 1, 0);
	assert_int_equal(acl_status_change(&s, ACL_STATUS_IDENTIFIED),
			 ACL_ALLOW);
	s = subject(ACL_ROLE_PARTNER, ACL_KIND_GENDARMERIE, 1, 1);
	assert_int_equal(acl_status_change(&s, ACL_STATUS_IDENTIFIED),
			 ACL_ALLOW);
	s = subject(ACL_ROLE_PARTNER, ACL_KIND_CHILD_WELFARE, 1, 1);
	assert_int_equal(acl_status_change(&s, ACL_STATUS_IDENTIFIED),
			 ACL_DENY_FORBIDDEN);
	assert_int_equal(acl_status_change(&s, ACL_STATUS_PRESUMED_VICTIM),
			 ACL_ALLOW);
	/* A police partner outside the case: the case does not exist. */
	s = subject(ACL_ROLE_PARTNER, ACL_KIND_POLICE, 0, 0);
	assert_int_equal(acl_status_change(&s, ACL_STATUS_IDENTIFIED),
			 ACL_DENY_NOT_FOUND);
	/* A coordinator of an association. */
	s = subject(ACL_ROLE_COORDINATOR, ACL_KIND_ASSOCIATION, 0, 0);
	assert_int_equal(acl_status_change(&s, ACL_STATUS_IDENTIFIED),
			 ACL_DENY_FORBIDDEN);
	assert_int_equal(acl_status_change(&s, ACL_STATUS_NOT_A_VICTIM),
			 ACL_ALLOW);
}

/*
 * Reading of "or coordinators of such an institution": a coordinator of a
 * police or gendarmerie institution records `identified` on any case (a
 * coordinator needs no party membership).
 */
static void test_status_identified_coordinator_police(void **state)
{
	struct acl_subject s;

	(void)state;
	s = subject(ACL_ROLE_COORDINATOR, ACL_KIND_POLICE, 1, 0);
	assert_int_equal(acl_status_change(&s, ACL_STATUS_IDENTIFIED),
			 ACL_ALLOW);
	s = subject(ACL_ROLE_COORDINATOR, ACL_KIND_GENDARMERIE, 0, 0);
	assert_int_equal(acl_status_change(&s, ACL_STATUS_IDENTIFIED),
			 ACL_ALLOW);
}

/* ---- acknowledgements ---- */

static int is_reason_for(enum acl_ack to, enum acl_reason r)
{
	return exp_ack_reason[to][r];
}

static const char *reason_label(enum acl_reason r)
{
	return r == ACL_REASON_NONE ? "(none)" : reason_names[r];
}

static void check_ack_from(enum acl_ack from)
{
	enum acl_ack to;
	enum acl_reason r;

	for (to = 0; to < ACL_ACK_COUNT; to++)
		for (r = 0; r < ACL_REASON_COUNT; r++) {
			const char *field = NULL;
			enum acl_decision d =
				acl_ack_transition(from, to, r, &field);
			int move = exp_ack_move[from][to];
			int reason = is_reason_for(to, r);

			if (move && reason) {
				if (d != ACL_ALLOW)
					fail_msg("ack %s -> %s (%s): got %s",
						 ack_names[from], ack_names[to],
						 reason_label(r), dname(d));
				continue;
			}
			if (d != ACL_DENY_INVALID || field == NULL)
				fail_msg("ack %s -> %s (%s): got %s, field %s, "
					 "want DENY_INVALID",
					 ack_names[from], ack_names[to],
					 reason_label(r), dname(d),
					 field ? field : "NULL");
			if (!move && reason && strcmp(field, "state") != 0)
				fail_msg("ack %s -> %s (%s): field %s, want "
					 "state",
					 ack_names[from], ack_names[to],
					 reason_label(r), field);
			if (move && !reason && strcmp(field, "reason") != 0)
				fail_msg("ack %s -> %s (%s): field %s, want "
					 "reason",
					 ack_names[from], ack_names[to],
					 reason_label(r), field);
			/* Both wrong: either field names a real fault. */
			if (!move && !reason && strcmp(field, "state") != 0 &&
			    strcmp(field, "reason") != 0)
				fail_msg("ack %s -> %s (%s): field %s",
					 ack_names[from], ack_names[to],
					 reason_label(r), field);
		}
}

static void test_ack_from_sent(void **state)
{
	(void)state;
	check_ack_from(ACL_ACK_SENT);
}

static void test_ack_from_received(void **state)
{
	(void)state;
	check_ack_from(ACL_ACK_RECEIVED);
}

static void test_ack_from_read(void **state)
{
	(void)state;
	check_ack_from(ACL_ACK_READ);
}

static void test_ack_from_accepted(void **state)
{
	(void)state;
	check_ack_from(ACL_ACK_ACCEPTED);
}

static void test_ack_from_declined(void **state)
{
	(void)state;
	check_ack_from(ACL_ACK_DECLINED);
}

static void test_ack_from_done(void **state)
{
	(void)state;
	check_ack_from(ACL_ACK_DONE);
}

/* The story, step by step. */
static void test_ack_examples(void **state)
{
	const char *field;

	(void)state;
	field = NULL;
	assert_int_equal(acl_ack_transition(ACL_ACK_SENT, ACL_ACK_RECEIVED,
					    ACL_REASON_NONE, &field),
			 ACL_ALLOW);
	assert_int_equal(acl_ack_transition(ACL_ACK_RECEIVED, ACL_ACK_ACCEPTED,
					    ACL_REASON_NONE, &field),
			 ACL_ALLOW);
	assert_int_equal(acl_ack_transition(ACL_ACK_ACCEPTED, ACL_ACK_DONE,
					    ACL_REASON_SUCCESSFUL, &field),
			 ACL_ALLOW);
	assert_int_equal(acl_ack_transition(ACL_ACK_READ, ACL_ACK_DECLINED,
					    ACL_REASON_OTHER, &field),
			 ACL_ALLOW);
	field = NULL;
	assert_int_equal(acl_ack_transition(ACL_ACK_ACCEPTED, ACL_ACK_DECLINED,
					    ACL_REASON_NO_CAPACITY, &field),
			 ACL_DENY_INVALID);
	assert_non_null(field);
	assert_string_equal(field, "state");
	field = NULL;
	assert_int_equal(acl_ack_transition(ACL_ACK_READ, ACL_ACK_READ,
					    ACL_REASON_NONE, &field),
			 ACL_DENY_INVALID);
	assert_non_null(field);
	assert_string_equal(field, "state");
	field = NULL;
	assert_int_equal(acl_ack_transition(ACL_ACK_READ, ACL_ACK_RECEIVED,
					    ACL_REASON_NONE, &field),
			 ACL_DENY_INVALID);
	assert_non_null(field);
	assert_string_equal(field, "state");
	field = NULL;
	assert_int_equal(acl_ack_transition(ACL_ACK_READ, ACL_ACK_DECLINED,
					    ACL_REASON_NONE, &field),
			 ACL_DENY_INVALID);
	assert_non_null(field);
	assert_string_equal(field, "reason");
	field = NULL;
	assert_int_equal(acl_ack_transition(ACL_ACK_ACCEPTED, ACL_ACK_DONE,
					    ACL_REASON_NO_CAPACITY, &field),
			 ACL_DENY_INVALID);
	assert_non_null(field);
	assert_string_equal(field, "reason");
	field = NULL;
	assert_int_equal(acl_ack_transition(ACL_ACK_SENT, ACL_ACK_READ,
					    ACL_REASON_SUCCESSFUL, &field),
			 ACL_DENY_INVALID);
	assert_non_null(field);
	assert_string_equal(field, "reason");
}

/* ---- close / reopen ---- */

static void test_case_transition(void **state)
{
	(void)state;
	assert_int_equal(acl_case_transition(1, 1), 1); /* close open */
	assert_int_equal(acl_case_transition(0, 0), 1); /* reopen closed */
	assert_int_equal(acl_case_transition(0, 1), 0); /* close closed */
	assert_int_equal(acl_case_transition(1, 0), 0); /* reopen open */
}

/* ---- names <-> codes ---- */

/* Names that are not in any list, or not spelled exactly. */
static void check_unknown(int (*from)(const char *), const char *name)
{
	char buf[128];
	size_t n = strlen(name);

	assert_int_equal(from(""), -1);
	assert_int_equal(from("x"), -1);
	assert_int_equal(from("unknown"), -1);
	/* Upper case initial. */
	snprintf(buf, sizeof(buf), "%s", name);
	buf[0] = (char)(buf[0] - 'a' + 'A');
	if (from(buf) != -1)
		fail_msg("\"%s\" accepted", buf);
	/* Trailing and leading space, suffix, prefix. */
	snprintf(buf, sizeof(buf), "%s ", name);
	if (from(buf) != -1)
		fail_msg("\"%s\" accepted", buf);
	snprintf(buf, sizeof(buf), " %s", name);
	if (from(buf) != -1)
		fail_msg("\"%s\" accepted", buf);
	snprintf(buf, sizeof(buf), "%sx", name);
	if (from(buf) != -1)
		fail_msg("\"%s\" accepted", buf);
	snprintf(buf, sizeof(buf), "%.*s", (int)(n - 1), name);
	if (from(buf) != -1)
		fail_msg("\"%s\" accepted", buf);
}

#define CHECK_LIST(names, count, from, to, type)                               \
	do {                                                                   \
		int i_;                                                        \
		for (i_ = 0; i_ < (count); i_++) {                             \
			const char *n_ = to((type)i_);                         \
			if (from((names)[i_]) != i_)                           \
				fail_msg(#from "(\"%s\") = %d, want %d",       \
					 (names)[i_], from((names)[i_]), i_);  \
			if (n_ == NULL || strcmp(n_, (names)[i_]) != 0)        \
				fail_msg(#to "(%d) = %s, want %s", i_,         \
					 n_ ? n_ : "NULL", (names)[i_]);       \
			check_unknown(from, (names)[i_]);                      \
		}                                                              \
		assert_null(to((type)(count)));                                \
		assert_null(to((type)-1));                                     \
	} while (0)

static void test_names_role(void **state)
{
	(void)state;
	CHECK_LIST(role_names, ACL_ROLE_COUNT, acl_role_from_name,
		   acl_role_name, enum acl_role);
}

static void test_names_kind(void **state)
{
	(void)state;
	CHECK_LIST(kind_names, ACL_KIND_COUNT, acl_kind_from_name,
		   acl_kind_name, enum acl_kind);
	assert_int_equal(acl_kind_from_name("general"), -1);
	assert_int_equal(acl_kind_from_name("child-welfare"), -1);
}

static void test_names_visibility(void **state)
{
	(void)state;
	CHECK_LIST(vis_names, ACL_VIS_COUNT, acl_visibility_from_name,
		   acl_visibility_name, enum acl_visibility);
	assert_int_equal(acl_visibility_from_name("police"), -1);
}

static void test_names_basis(void **state)
{
	(void)state;
	CHECK_LIST(basis_names, ACL_BASIS_COUNT, acl_basis_from_name,
		   acl_basis_name, enum acl_basis);
	assert_int_equal(acl_basis_from_name("referral"), -1);
}

static void test_names_notice_kind(void **state)
{
	(void)state;
	CHECK_LIST(nk_names, ACL_NK_COUNT, acl_notice_kind_from_name,
		   acl_notice_kind_name, enum acl_notice_kind);
	assert_int_equal(acl_notice_kind_from_name("secret_partage"), -1);
}

static void test_names_urgency(void **state)
{
	(void)state;
	CHECK_LIST(urgency_names, ACL_URGENCY_COUNT, acl_urgency_from_name,
		   acl_urgency_name, enum acl_urgency);
	assert_int_equal(acl_urgency_from_name("high"), -1);
}

static void test_names_status(void **state)
{
	(void)state;
	CHECK_LIST(status_names, ACL_STATUS_COUNT, acl_status_from_name,
		   acl_status_name, enum acl_status);
	assert_int_equal(acl_status_from_name("open"), -1);
}

static void test_names_ack(void **state)
{
	(void)state;
	CHECK_LIST(ack_names, ACL_ACK_COUNT, acl_ack_from_name, acl_ack_name,
		   enum acl_ack);
	assert_int_equal(acl_ack_from_name("acknowledged"), -1);
}

static void test_names_reason(void **state)
{
	const char *none;
	int i;

	(void)state;
	assert_int_equal(acl_reason_from_name(""), ACL_REASON_NONE);
	for (i = 1; i < ACL_REASON_COUNT; i++) {
		const char *n = acl_reason_name((enum acl_reason)i);

		if (acl_reason_from_name(reason_names[i]) != i)
			fail_msg("reason \"%s\" -> %d", reason_names[i],
				 acl_reason_from_name(reason_names[i]));
		if (n == NULL || strcmp(n, reason_names[i]) != 0)
			fail_msg("reason %d named %s, want %s", i,
				 n ? n : "NULL", reason_names[i]);
	}
	/* Not "": the empty name is NONE, not unknown. */
	assert_int_equal(acl_reason_from_name("x"), -1);
	/* NONE is a code: it has a name, and that name maps back. */
	none = acl_reason_name(ACL_REASON_NONE);
	assert_non_null(none);
	assert_int_equal(acl_reason_from_name(none), ACL_REASON_NONE);
	assert_null(acl_reason_name(ACL_REASON_COUNT));
	assert_null(acl_reason_name((enum acl_reason) - 1));
	assert_int_equal(acl_reason_from_name("Other"), -1);
	assert_int_equal(acl_reason_from_name("success"), -1);
}

/* check_unknown() tries "", which the reason list maps to NONE. */
static int reason_from_nonempty(const char *name)
{
	return name[0] == '\0' ? -1 : acl_reason_from_name(name);
}

static void test_names_reason_unknown(void **state)
{
	int i;

	(void)state;
	for (i = 1; i < ACL_REASON_COUNT; i++)
		check_unknown(reason_from_nonempty, reason_names[i]);
}

static void test_names_op(void **state)
{
	int i, j;

	(void)state;
	for (i = 0; i < ACL_OP_COUNT; i++) {
		const char *n = acl_op_name((enum acl_op)i);

		if (n == NULL || n[0] == '\0')
			fail_msg("op %d has no name", i);
		for (j = 0; j < i; j++)
			if (strcmp(n, acl_op_name((enum acl_op)j)) == 0)
				fail_msg("ops %d and %d both named %s", j, i,
					 n);
	}
	assert_null(acl_op_name(ACL_OP_COUNT));
	assert_null(acl_op_name((enum acl_op) - 1));
}

/* ---- default basis per notice kind ---- */

static void test_default_basis(void **state)
{
	static const enum acl_basis want[ACL_NK_COUNT] = {
		[ACL_NK_SIGHTING] = ACL_BASIS_SECRET_PARTAGE,
		[ACL_NK_INFORMATION_PREOCCUPANTE] =
			ACL_BASIS_INFORMATION_PREOCCUPANTE,
		[ACL_NK_SIGNALEMENT] = ACL_BASIS_SIGNALEMENT,
		[ACL_NK_REFERRAL] = ACL_BASIS_SECRET_PARTAGE,
		[ACL_NK_RUNAWAY] = ACL_BASIS_SECRET_PARTAGE,
		[ACL_NK_SHELTER] = ACL_BASIS_SECRET_PARTAGE,
		[ACL_NK_HEARING] = ACL_BASIS_SECRET_PARTAGE,
		[ACL_NK_COURT_DECISION] = ACL_BASIS_SECRET_PARTAGE,
		[ACL_NK_FOLLOWUP] = ACL_BASIS_SECRET_PARTAGE,
		[ACL_NK_CLOSURE] = ACL_BASIS_SECRET_PARTAGE,
	};
	int k;

	(void)state;
	for (k = 0; k < ACL_NK_COUNT; k++)
		if (acl_default_basis((enum acl_notice_kind)k) != want[k])
			fail_msg("default basis of %s: got %d, want %s",
				 nk_names[k],
				 acl_default_basis((enum acl_notice_kind)k),
				 basis_names[want[k]]);
}

/* ---- policy: clear, setters by name, custom policies ---- */

static void test_policy_clear(void **state)
{
	struct acl_policy p = cleared();
	enum acl_visibility v;
	enum acl_basis b;
	enum acl_kind k;
	int lead;

	(void)state;
	for (v = 0; v < ACL_VIS_COUNT; v++) {
		assert_int_equal(p.lead_reads[v], 0);
		for (k = 0; k < ACL_KIND_COUNT; k++)
			assert_int_equal(p.visibility[v][k], 0);
	}
	for (b = 0; b < ACL_BASIS_COUNT; b++)
		for (k = 0; k < ACL_KIND_COUNT; k++)
			assert_int_equal(p.basis[b][k], 0);
	/* Everything denied but the author rule. */
	for (v = 0; v < ACL_VIS_COUNT; v++)
		for (k = 0; k < ACL_KIND_COUNT; k++)
			for (lead = 0; lead <= 1; lead++) {
				struct acl_subject s =
					subject(ACL_ROLE_PARTNER, k, 1, lead);
				struct acl_subject c = subject(
					ACL_ROLE_COORDINATOR, k, 1, lead);

				assert_int_not_equal(
					acl_notice_readable(&p, &s, v, 0),
					ACL_ALLOW);
				assert_int_not_equal(
					acl_notice_readable(&p, &c, v, 0),
					ACL_ALLOW);
				for (b = 0; b < ACL_BASIS_COUNT; b++)
					assert_int_equal(
						acl_recipient_allowed(&p, b, v,
								      k, lead),
						ACL_DENY_INVALID);
			}
}

/* Every valid name pair sets exactly its cell, and returns 0. */
static void test_policy_allow_by_names(void **state)
{
	int v, b, k;

	(void)state;
	for (v = 0; v < ACL_VIS_COUNT; v++)
		for (k = 0; k < ACL_KIND_COUNT; k++) {
			struct acl_policy p = cleared();
			struct acl_policy want = cleared();

			want.visibility[v][k] = 1;
			assert_int_equal(
				acl_policy_allow_visibility(&p, vis_names[v],
							    kind_names[k]),
				0);
			assert_true(p.visibility[v][k] != 0);
			p.visibility[v][k] = 1;
			if (memcmp(&p, &want, sizeof(p)) != 0)
				fail_msg("allow_visibility(%s, %s) changed "
					 "other cells",
					 vis_names[v], kind_names[k]);
		}
	for (b = 0; b < ACL_BASIS_COUNT; b++)
		for (k = 0; k < ACL_KIND_COUNT; k++) {
			struct acl_policy p = cleared();
			struct acl_policy want = cleared();

			want.basis[b][k] = 1;
			assert_int_equal(acl_policy_allow_basis(&p,
								basis_names[b],
								kind_names[k]),
					 0);
			assert_true(p.basis[b][k] != 0);
			p.basis[b][k] = 1;
			if (memcmp(&p, &want, sizeof(p)) != 0)
				fail_msg("allow_basis(%s, %s) changed other "
					 "cells",
					 basis_names[b], kind_names[k]);
		}
	for (v = 0; v < ACL_VIS_COUNT; v++) {
		struct acl_policy p = cleared();
		struct acl_policy want = cleared();

		want.lead_reads[v] = 1;
		assert_int_equal(acl_policy_set_lead_reads(&p, vis_names[v], 1),
				 0);
		assert_true(p.lead_reads[v] != 0);
		p.lead_reads[v] = 1;
		assert_memory_equal(&p, &want, sizeof(p));
		assert_int_equal(acl_policy_set_lead_reads(&p, vis_names[v], 0),
				 0);
		assert_int_equal(p.lead_reads[v], 0);
	}
}

/* Unknown names: -1 and the policy untouched. */
static void test_policy_unknown_names(void **state)
{
	static const char *const bad_vis[] = {"",	  "secret", "General",
					      "general ", "genera", "police"};
	static const char *const bad_kind[] = {
		"", "pompiers", "Police", "police ", "polic", "general"};
	static const char *const bad_basis[] = {"", "consent ", "Consent",
						"secret-partage", "health"};
	struct acl_policy p = defaults();
	struct acl_policy orig = defaults();
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(bad_vis); i++) {
		if (acl_policy_allow_visibility(&p, bad_vis[i], "police") != -1)
			fail_msg("allow_visibility(\"%s\", police) accepted",
				 bad_vis[i]);
		if (acl_policy_set_lead_reads(&p, bad_vis[i], 1) != -1)
			fail_msg("set_lead_reads(\"%s\") accepted", bad_vis[i]);
	}
	for (i = 0; i < NELEM(bad_kind); i++) {
		if (acl_policy_allow_visibility(&p, "health", bad_kind[i]) !=
		    -1)
			fail_msg("allow_visibility(health, \"%s\") accepted",
				 bad_kind[i]);
		if (acl_policy_allow_basis(&p, "secret_partage", bad_kind[i]) !=
		    -1)
			fail_msg("allow_basis(secret_partage, \"%s\") accepted",
				 bad_kind[i]);
	}
	for (i = 0; i < NELEM(bad_basis); i++)
		if (acl_policy_allow_basis(&p, bad_basis[i], "police") != -1)
			fail_msg("allow_basis(\"%s\", police) accepted",
				 bad_basis[i]);
	assert_memory_equal(&p, &orig, sizeof(p));
}

/* Cleared, then one visibility cell: exactly that cell reads. */
static void test_custom_one_visibility_cell(void **state)
{
	struct acl_policy p = cleared();
	unsigned char vis[ACL_VIS_COUNT][ACL_KIND_COUNT];
	unsigned char lead[ACL_VIS_COUNT];
	enum acl_visibility v;
	enum acl_kind k;

	(void)state;
	memset(vis, 0, sizeof(vis));
	memset(lead, 0, sizeof(lead));
	assert_int_equal(acl_policy_allow_visibility(&p, "health", "police"),
			 0);
	vis[ACL_VIS_HEALTH][ACL_KIND_POLICE] = 1;
	for (v = 0; v < ACL_VIS_COUNT; v++)
		for (k = 0; k < ACL_KIND_COUNT; k++)
			check_readable(&p, vis, lead, v, k);
}

/* Cleared, then a basis and a visibility cell: one recipient kind fits. */
static void test_custom_recipient(void **state)
{
	struct acl_policy p = cleared();
	unsigned char vis[ACL_VIS_COUNT][ACL_KIND_COUNT];
	unsigned char lead[ACL_VIS_COUNT];
	unsigned char basis[ACL_BASIS_COUNT][ACL_KIND_COUNT];
	enum acl_visibility v;
	enum acl_basis b;
	enum acl_kind k;

	(void)state;
	memset(vis, 0, sizeof(vis));
	memset(lead, 0, sizeof(lead));
	memset(basis, 0, sizeof(basis));
	assert_int_equal(acl_policy_allow_basis(&p, "secret_partage", "police"),
			 0);
	basis[ACL_BASIS_SECRET_PARTAGE][ACL_KIND_POLICE] = 1;
	/* The basis alone is not enough: police cannot read anything. */
	assert_int_equal(acl_recipient_allowed(&p, ACL_BASIS_SECRET_PARTAGE,
					       ACL_VIS_GENERAL, ACL_KIND_POLICE,
					       0),
			 ACL_DENY_INVALID);
	assert_int_equal(acl_policy_allow_visibility(&p, "general", "police"),
			 0);
	vis[ACL_VIS_GENERAL][ACL_KIND_POLICE] = 1;
	assert_int_equal(acl_recipient_allowed(&p, ACL_BASIS_SECRET_PARTAGE,
					       ACL_VIS_GENERAL, ACL_KIND_POLICE,
					       0),
			 ACL_ALLOW);
	/* lead_reads on judicial lets a police lead receive judicial. */
	assert_int_equal(acl_policy_set_lead_reads(&p, "judicial", 1), 0);
	lead[ACL_VIS_JUDICIAL] = 1;
	assert_int_equal(acl_recipient_allowed(&p, ACL_BASIS_SECRET_PARTAGE,
					       ACL_VIS_JUDICIAL,
					       ACL_KIND_POLICE, 1),
			 ACL_ALLOW);
	assert_int_equal(acl_recipient_allowed(&p, ACL_BASIS_SECRET_PARTAGE,
					       ACL_VIS_JUDICIAL,
					       ACL_KIND_POLICE, 0),
			 ACL_DENY_INVALID);
	for (b = 0; b < ACL_BASIS_COUNT; b++)
		for (v = 0; v < ACL_VIS_COUNT; v++)
			for (k = 0; k < ACL_KIND_COUNT; k++)
				check_recipient(&p, vis, lead, basis, b, v, k);
}

/* Edits of the default policy data change the decisions. */
static void test_custom_edit_defaults(void **state)
{
	struct acl_policy p = defaults();
	struct acl_subject police =
		subject(ACL_ROLE_PARTNER, ACL_KIND_POLICE, 1, 0);
	struct acl_subject doctor_lead =
		subject(ACL_ROLE_PARTNER, ACL_KIND_ASSOCIATION, 1, 1);

	(void)state;
	assert_int_equal(acl_notice_readable(&p, &police, ACL_VIS_GENERAL, 0),
			 ACL_ALLOW);
	p.visibility[ACL_VIS_GENERAL][ACL_KIND_POLICE] = 0;
	assert_int_not_equal(
		acl_notice_readable(&p, &police, ACL_VIS_GENERAL, 0),
		ACL_ALLOW);
	assert_int_equal(acl_recipient_allowed(&p, ACL_BASIS_SIGNALEMENT,
					       ACL_VIS_GENERAL, ACL_KIND_POLICE,
					       0),
			 ACL_DENY_INVALID);

	assert_int_equal(
		acl_notice_readable(&p, &doctor_lead, ACL_VIS_HEALTH, 0),
		ACL_ALLOW);
	assert_int_equal(acl_policy_set_lead_reads(&p, "health", 0), 0);
	assert_int_not_equal(
		acl_notice_readable(&p, &doctor_lead, ACL_VIS_HEALTH, 0),
		ACL_ALLOW);
	assert_int_equal(acl_recipient_allowed(&p, ACL_BASIS_CONSENT,
					       ACL_VIS_HEALTH,
					       ACL_KIND_ASSOCIATION, 1),
			 ACL_DENY_INVALID);

	p.basis[ACL_BASIS_CONSENT][ACL_KIND_POLICE] = 1;
	assert_int_equal(acl_recipient_allowed(&p, ACL_BASIS_CONSENT,
					       ACL_VIS_JUDICIAL,
					       ACL_KIND_POLICE, 0),
			 ACL_ALLOW);
}

/* ---- the test list ---- */

#define VIS_TEST(v, k) cmocka_unit_test(test_vis_##v##_##k),
#define BASIS_TEST(b, k) cmocka_unit_test(test_basis_##b##_##k),

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* clang-format off */
		FOR_VIS_CELLS(VIS_TEST)
		FOR_BASIS_CELLS(BASIS_TEST)
		/* clang-format on */
		cmocka_unit_test(test_lead_reads_general),
		cmocka_unit_test(test_lead_reads_social),
		cmocka_unit_test(test_lead_reads_health),
		cmocka_unit_test(test_lead_reads_judicial),
		cmocka_unit_test(test_author_always_reads),
		cmocka_unit_test(test_defaults_struct),
		cmocka_unit_test(test_police_gendarmerie_bases),
		cmocka_unit_test(test_recipient_allowed_all),
		cmocka_unit_test(test_role_may_partner),
		cmocka_unit_test(test_role_may_coordinator),
		cmocka_unit_test(test_role_may_auditor),
		cmocka_unit_test(test_role_may_admin),
		cmocka_unit_test(test_role_may_indicators_everyone),
		cmocka_unit_test(test_role_may_out_of_range),
		cmocka_unit_test(test_case_visible),
		cmocka_unit_test(test_case_visible_examples),
		cmocka_unit_test(test_notice_readable_all),
		cmocka_unit_test(test_coordinator_needs_matrix),
		cmocka_unit_test(test_notice_readable_outside_visible_case),
		cmocka_unit_test(test_status_change_all),
		cmocka_unit_test(test_status_identified),
		cmocka_unit_test(test_status_identified_coordinator_police),
		cmocka_unit_test(test_ack_from_sent),
		cmocka_unit_test(test_ack_from_received),
		cmocka_unit_test(test_ack_from_read),
		cmocka_unit_test(test_ack_from_accepted),
		cmocka_unit_test(test_ack_from_declined),
		cmocka_unit_test(test_ack_from_done),
		cmocka_unit_test(test_ack_examples),
		cmocka_unit_test(test_case_transition),
		cmocka_unit_test(test_names_role),
		cmocka_unit_test(test_names_kind),
		cmocka_unit_test(test_names_visibility),
		cmocka_unit_test(test_names_basis),
		cmocka_unit_test(test_names_notice_kind),
		cmocka_unit_test(test_names_urgency),
		cmocka_unit_test(test_names_status),
		cmocka_unit_test(test_names_ack),
		cmocka_unit_test(test_names_reason),
		cmocka_unit_test(test_names_reason_unknown),
		cmocka_unit_test(test_names_op),
		cmocka_unit_test(test_default_basis),
		cmocka_unit_test(test_policy_clear),
		cmocka_unit_test(test_policy_allow_by_names),
		cmocka_unit_test(test_policy_unknown_names),
		cmocka_unit_test(test_custom_one_visibility_cell),
		cmocka_unit_test(test_custom_recipient),
		cmocka_unit_test(test_custom_edit_defaults),
	};

	return cmocka_run_group_tests_name("acl", tests, NULL, NULL);
}
