/*
 * cmd-person: `maillage person search`, the known young persons an
 * identity may be, ranked by score with the weight of each field. The
 * identity is given as for `notice send`; nothing is stored. Coordinators
 * search every person; partners the persons of their institution's cases.
 */
#include "candv.h"
#include "cmd.h"
#include "output.h"
#include "view.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static const char *person_opt(const struct cmd_ctx *ctx, const char *name)
{
	const char *v = cmd_opt_value(ctx, name);

	return v != NULL ? v : "";
}

static int cmd_person_search_check(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (!cmd_opt_isset(ctx, "given-name") &&
	    !cmd_opt_isset(ctx, "family-name"))
		return cmd_usage_error(ctx, _("give --given-name or "
					      "--family-name"));
	return MAILLAGE_EXIT_OK;
}

static int cmd_person_search_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__PersonSearch ps = MAILLAGE__PERSON_SEARCH__INIT;
	Maillage__Identity id = MAILLAGE__IDENTITY__INIT;
	const Maillage__PersonSearchResult *r;
	struct frame_msg *resp = NULL;
	struct cerr err;
	unsigned age = 0, limit = 0;
	int rc = MAILLAGE_EXIT_OK;

	(void)argc;
	(void)argv;
	if (cmd_opt_uint(ctx, "declared-age", 0, 0, 30, &age) != 0 ||
	    cmd_opt_uint(ctx, "limit", 0, 1, 20, &limit) != 0)
		return MAILLAGE_EXIT_USAGE;
	id.given_name = (char *)person_opt(ctx, "given-name");
	id.family_name = (char *)person_opt(ctx, "family-name");
	id.birth_date = (char *)person_opt(ctx, "birth-date");
	id.declared_age = age;
	id.age_declared_on = (char *)person_opt(ctx, "age-declared-on");
	id.sex = (char *)person_opt(ctx, "sex");
	id.nationality = (char *)person_opt(ctx, "nationality");
	ps.identity = &id;
	ps.limit = limit;
	req.body_case = MAILLAGE__ENVELOPE__BODY_PERSON_SEARCH;
	req.person_search = &ps;
	if (net_call(ctx->conn, &req,
		     MAILLAGE__ENVELOPE__BODY_PERSON_SEARCH_RESULT, &resp,
		     &err) != 0)
		return cmd_fail(ctx, &err);
	r = resp->env->person_search_result;
	if (ctx->json)
		rc = output_json(
			json_pack("{s:o}", "candidates",
				  candv_json(r->candidates, r->n_candidates)));
	else if (r->n_candidates == 0)
		printf(_("no known person matches this identity\n"));
	else
		candv_print(_("Known persons this identity may be, best "
			      "first:"),
			    r->candidates, r->n_candidates);
	frame_msg_free(resp);
	return rc;
}

static const struct cmd_option cmd_person_search_options[] = {
	{"given-name", 0, "NAME", N_("given name(s)")},
	{"family-name", 0, "NAME", N_("family name")},
	{"birth-date", 0, "DATE",
	 N_("birth date: YYYY-MM-DD, YYYY-MM or YYYY")},
	{"declared-age", 0, "N", N_("age the young person gave")},
	{"age-declared-on", 0, "DATE",
	 N_("when that age was given (YYYY-MM-DD)")},
	{"sex", 0, "F|M", N_("sex")},
	{"nationality", 0, "CC", N_("nationality (ISO 3166 code: MA, RO...)")},
	{"limit", 'n', "N", N_("at most N persons (1 to 20)")},
	{NULL, 0, NULL, NULL},
};

const struct cmd_entry cmd_person_search_entry = {
	.name = "person search",
	.alias = NULL,
	.usage = "(--given-name G | --family-name F) [--birth-date D] "
		 "[--sex F|M] [--nationality CC] [--limit N]",
	.summary = N_("Find the known young persons an identity may be"),
	.help = N_("Searches the young persons known to the network for one "
		   "who may be the\n"
		   "identity given, whatever the spelling: names are "
		   "compared after\n"
		   "transliteration and by sound, given and family names "
		   "also crosswise,\n"
		   "birth dates tolerate a swapped day and month or a year "
		   "off. Each\n"
		   "candidate comes with its score and the weight of each "
		   "field. Nothing\n"
		   "is stored and no name leaves the server in clear. "
		   "Coordinators search\n"
		   "every person; partners the persons of their "
		   "institution's cases.\n"
		   "\n"
		   "With --json: {\"candidates\": [{\"person_id\", "
		   "\"score\", \"confident\",\n"
		   "\"open_case_id\", \"explanation\"}]}.\n"
		   "\n"
		   "Example:\n"
		   "  $ maillage person search --given-name Mohamed "
		   "--family-name Benali \\\n"
		   "      --birth-date 2009-03-12\n"
		   "  Known persons this identity may be, best first:\n"
		   "    person 12  score 31.2 (confident)\n"
		   "      open case 7\n"
		   "      given name: same name in another spelling +6.1; "
		   "family name: same\n"
		   "      name +9.8; birth date: day and month swapped "
		   "+3.2; sex: same +0.4\n"),
	.exec = cmd_person_search_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_person_search_check,
	.options = cmd_person_search_options,
	.min_args = 0,
	.max_args = 0,
};

/* ---- coordinators' decisions ------------------------------------------ */

static int person_reason(struct cmd_ctx *ctx, const char **out)
{
	*out = cmd_opt_value(ctx, "reason");
	if (*out == NULL || (*out)[0] == '\0')
		return cmd_usage_error(ctx, _("--reason is required: why"));
	return MAILLAGE_EXIT_OK;
}

/* Send `req`, expect `want`; *resp to free. An exit code. */
static int person_call(struct cmd_ctx *ctx, Maillage__Envelope *req,
		       Maillage__Envelope__BodyCase want,
		       struct frame_msg **resp)
{
	struct cerr err;

	if (net_call(ctx->conn, req, want, resp, &err) != 0)
		return cmd_fail(ctx, &err);
	return MAILLAGE_EXIT_OK;
}

static int cmd_person_link_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__PersonLink pl = MAILLAGE__PERSON_LINK__INIT;
	const Maillage__PersonLinked *r;
	struct frame_msg *resp = NULL;
	const char *reason;
	int rc;

	(void)argc;
	if (cmd_arg_id(ctx, _("person id"), argv[0], &pl.person_id) != 0 ||
	    cmd_arg_id(ctx, _("person id"), argv[1], &pl.other_person_id) != 0)
		return MAILLAGE_EXIT_USAGE;
	rc = person_reason(ctx, &reason);
	if (rc != MAILLAGE_EXIT_OK)
		return rc;
	pl.reason = (char *)reason;
	req.body_case = MAILLAGE__ENVELOPE__BODY_PERSON_LINK;
	req.person_link = &pl;
	rc = person_call(ctx, &req, MAILLAGE__ENVELOPE__BODY_PERSON_LINKED,
			 &resp);
	if (rc != MAILLAGE_EXIT_OK)
		return rc;
	r = resp->env->person_linked;
	if (ctx->json)
		rc = output_json(json_pack(
			"{s:I, s:I, s:I, s:I, s:i}", "link_id",
			(json_int_t)r->link_id, "person_id",
			(json_int_t)r->person_id, "other_person_id",
			(json_int_t)r->other_person_id, "open_case_id",
			(json_int_t)r->open_case_id, "moved", (int)r->moved));
	else {
		printf(_("link %" PRId64 ": person %" PRId64
			 " is now known as person %" PRId64 "\n"),
		       r->link_id, r->other_person_id, r->person_id);
		if (r->open_case_id != 0)
			printf(_("open case: %" PRId64 "\n"), r->open_case_id);
		printf(_("undo with: maillage person unlink %" PRId64
			 " --reason ...\n"),
		       r->link_id);
	}
	frame_msg_free(resp);
	return rc;
}

static int cmd_person_unlink_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__PersonUnlink pu = MAILLAGE__PERSON_UNLINK__INIT;
	const Maillage__PersonUnlinked *r;
	struct frame_msg *resp = NULL;
	const char *reason;
	int rc;

	(void)argc;
	if (cmd_arg_id(ctx, _("link id"), argv[0], &pu.link_id) != 0)
		return MAILLAGE_EXIT_USAGE;
	rc = person_reason(ctx, &reason);
	if (rc != MAILLAGE_EXIT_OK)
		return rc;
	pu.reason = (char *)reason;
	req.body_case = MAILLAGE__ENVELOPE__BODY_PERSON_UNLINK;
	req.person_unlink = &pu;
	rc = person_call(ctx, &req, MAILLAGE__ENVELOPE__BODY_PERSON_UNLINKED,
			 &resp);
	if (rc != MAILLAGE_EXIT_OK)
		return rc;
	r = resp->env->person_unlinked;
	if (ctx->json)
		rc = output_json(json_pack(
			"{s:I, s:I, s:I}", "link_id", (json_int_t)r->link_id,
			"person_id", (json_int_t)r->person_id,
			"other_person_id", (json_int_t)r->other_person_id));
	else
		printf(_("link %" PRId64 " undone: persons %" PRId64
			 " and %" PRId64 " are apart again\n"),
		       r->link_id, r->person_id, r->other_person_id);
	frame_msg_free(resp);
	return rc;
}

static int cmd_person_dismiss_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__PersonDismiss pd = MAILLAGE__PERSON_DISMISS__INIT;
	struct frame_msg *resp = NULL;
	const char *reason;
	int rc;

	(void)argc;
	if (cmd_arg_id(ctx, _("person id"), argv[0], &pd.person_id) != 0 ||
	    cmd_arg_id(ctx, _("person id"), argv[1], &pd.other_person_id) != 0)
		return MAILLAGE_EXIT_USAGE;
	rc = person_reason(ctx, &reason);
	if (rc != MAILLAGE_EXIT_OK)
		return rc;
	pd.reason = (char *)reason;
	req.body_case = MAILLAGE__ENVELOPE__BODY_PERSON_DISMISS;
	req.person_dismiss = &pd;
	rc = person_call(ctx, &req, MAILLAGE__ENVELOPE__BODY_PERSON_DISMISSED,
			 &resp);
	if (rc != MAILLAGE_EXIT_OK)
		return rc;
	if (ctx->json)
		rc = output_json(json_pack(
			"{s:I, s:I}", "person_id", (json_int_t)pd.person_id,
			"other_person_id", (json_int_t)pd.other_person_id));
	else
		printf(_("persons %" PRId64 " and %" PRId64
			 ": not the same young person (left the queue)\n"),
		       pd.person_id, pd.other_person_id);
	frame_msg_free(resp);
	return rc;
}

static int cmd_person_candidates_exec(struct cmd_ctx *ctx, int argc,
				      char **argv)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__PersonCandidates pc = MAILLAGE__PERSON_CANDIDATES__INIT;
	const Maillage__PersonCandidateList *r;
	struct frame_msg *resp = NULL;
	unsigned limit = 0;
	json_t *a;
	size_t i;
	int rc;

	(void)argc;
	(void)argv;
	if (cmd_opt_uint(ctx, "limit", 0, 1, 100000, &limit) != 0)
		return MAILLAGE_EXIT_USAGE;
	pc.limit = limit;
	req.body_case = MAILLAGE__ENVELOPE__BODY_PERSON_CANDIDATES;
	req.person_candidates = &pc;
	rc = person_call(ctx, &req,
			 MAILLAGE__ENVELOPE__BODY_PERSON_CANDIDATE_LIST, &resp);
	if (rc != MAILLAGE_EXIT_OK)
		return rc;
	r = resp->env->person_candidate_list;
	if (ctx->json) {
		a = json_array();
		for (i = 0; a != NULL && i < r->n_pairs; i++) {
			const Maillage__CandidatePair *p = r->pairs[i];
			json_array_append_new(
				a,
				json_pack("{s:I, s:I, s:f, s:I, s:o, s:I, s:I}",
					  "person_id", (json_int_t)p->person_id,
					  "other_person_id",
					  (json_int_t)p->other_person_id,
					  "score", p->score, "notice_id",
					  (json_int_t)p->notice_id, "found_at",
					  output_jtime(p->found_at),
					  "person_case_id",
					  (json_int_t)p->person_case_id,
					  "other_case_id",
					  (json_int_t)p->other_case_id));
		}
		rc = output_json(json_pack("{s:o}", "pairs", a));
	} else if (r->n_pairs == 0) {
		printf(_("no candidate pair waits for review\n"));
	} else {
		printf(_("%-8s %-8s %6s %-8s %-8s %s\n"), _("person"),
		       _("may be"), _("score"), _("case"), _("case"),
		       _("found"));
		for (i = 0; i < r->n_pairs; i++) {
			const Maillage__CandidatePair *p = r->pairs[i];
			printf("%-8" PRId64 " %-8" PRId64 " %6.1f %-8" PRId64
			       " %-8" PRId64 " %s\n",
			       p->person_id, p->other_person_id, p->score,
			       p->person_case_id, p->other_case_id,
			       p->found_at);
		}
	}
	frame_msg_free(resp);
	return rc;
}

static const struct cmd_option cmd_person_reason_options[] = {
	{"reason", 'r', "TEXT",
	 N_("why (required; stored encrypted, never in the audit)")},
	{"json", 'j', NULL,
	 N_("print JSON (also accepted before the command)")},
	{"help", 'h', NULL, N_("show this help")},
	{NULL, 0, NULL, NULL},
};

static const struct cmd_option cmd_person_candidates_options[] = {
	{"limit", 'n', "N", N_("at most N pairs (default 50)")},
	{"json", 'j', NULL,
	 N_("print JSON (also accepted before the command)")},
	{"help", 'h', NULL, N_("show this help")},
	{NULL, 0, NULL, NULL},
};

const struct cmd_entry cmd_person_link_entry = {
	.name = "person link",
	.alias = NULL,
	.usage = "PERSON OTHER --reason TEXT",
	.summary = N_("Record that two persons are one young person "
		      "(coordinators)"),
	.help = N_("Links OTHER into PERSON: OTHER's identities, notices and "
		   "cases become\n"
		   "PERSON's. When both have an open case, OTHER's notices, "
		   "timeline and\n"
		   "parties join PERSON's open case and OTHER's case is "
		   "closed. Every row\n"
		   "moved is recorded, so that `maillage person unlink` "
		   "undoes the link\n"
		   "exactly; what is added afterwards stays with PERSON. The "
		   "reason is\n"
		   "required, stored encrypted; the audit records who linked "
		   "which persons.\n"
		   "\n"
		   "With --json: {\"link_id\", \"person_id\", "
		   "\"other_person_id\", \"open_case_id\",\n"
		   "\"moved\"}.\n"
		   "\n"
		   "Example:\n"
		   "  $ maillage person link 12 31 --reason \"same photo, "
		   "same school\"\n"
		   "  link 4: person 31 is now known as person 12\n"
		   "  open case: 7\n"
		   "  undo with: maillage person unlink 4 --reason ...\n"),
	.exec = cmd_person_link_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.options = cmd_person_reason_options,
	.min_args = 2,
	.max_args = 2,
};

const struct cmd_entry cmd_person_unlink_entry = {
	.name = "person unlink",
	.alias = NULL,
	.usage = "LINK --reason TEXT",
	.summary = N_("Undo a link between two persons (coordinators)"),
	.help = N_("Puts back exactly what `maillage person link` moved: "
		   "identities,\n"
		   "notices, timeline entries and parties return to the "
		   "linked person, and\n"
		   "its case, if the link closed it, is open again.\n"
		   "\n"
		   "Example:\n"
		   "  $ maillage person unlink 4 --reason \"two brothers\"\n"
		   "  link 4 undone: persons 12 and 31 are apart again\n"),
	.exec = cmd_person_unlink_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.options = cmd_person_reason_options,
	.min_args = 1,
	.max_args = 1,
};

const struct cmd_entry cmd_person_dismiss_entry = {
	.name = "person dismiss",
	.alias = NULL,
	.usage = "PERSON OTHER --reason TEXT",
	.summary = N_("Record that a candidate pair is two young persons "
		      "(coordinators)"),
	.help = N_("Takes the pair out of the review queue of `maillage "
		   "person candidates`.\n"
		   "\n"
		   "Example:\n"
		   "  $ maillage person dismiss 31 12 --reason \"not the "
		   "same age at all\"\n"),
	.exec = cmd_person_dismiss_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.options = cmd_person_reason_options,
	.min_args = 2,
	.max_args = 2,
};

const struct cmd_entry cmd_person_candidates_entry = {
	.name = "person candidates",
	.alias = NULL,
	.usage = "[--limit N]",
	.summary = N_("List the candidate pairs waiting for review "
		      "(coordinators)"),
	.help = N_("Pairs of persons that may be one young person, found "
		   "when a notice's\n"
		   "identity was searched, best score first, with their open "
		   "cases. Decide\n"
		   "each with `maillage person link` or `maillage person "
		   "dismiss`.\n"
		   "\n"
		   "With --json: {\"pairs\": [{\"person_id\", "
		   "\"other_person_id\", \"score\",\n"
		   "\"notice_id\", \"found_at\", \"person_case_id\", "
		   "\"other_case_id\"}]}.\n"
		   "\n"
		   "Example:\n"
		   "  $ maillage person candidates\n"
		   "  person   may be    score case     case     found\n"
		   "  31       12         27.4 9        7        "
		   "2026-11-29T05:40:12Z\n"),
	.exec = cmd_person_candidates_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.options = cmd_person_candidates_options,
	.min_args = 0,
	.max_args = 0,
};

/* ---- person show ------------------------------------------------------ */

static json_t *person_json_links(const Maillage__PersonView *v)
{
	json_t *links = json_array();
	size_t i;

	for (i = 0; links != NULL && i < v->n_links; i++) {
		const Maillage__PersonLinkInfo *l = v->links[i];
		json_array_append_new(
			links,
			json_pack(
				"{s:I, s:I, s:I, s:o, s:o, s:b, s:f, s:I, s:o}",
				"link_id", (json_int_t)l->link_id,
				"kept_person_id", (json_int_t)l->kept_person_id,
				"merged_person_id",
				(json_int_t)l->merged_person_id, "linked_at",
				output_jtime(l->linked_at), "linked_by",
				output_jstr(l->linked_by), "automatic",
				(int)l->automatic, "score", l->score,
				"notice_id", (json_int_t)l->notice_id,
				"unlinked_at", output_jtime(l->unlinked_at)));
	}
	return links;
}

static void person_print_link(const Maillage__PersonLinkInfo *l)
{
	char at[OUTPUT_DATE_MAX], un[OUTPUT_DATE_MAX], by[64];

	output_date(at, l->linked_at);
	output_clean(by, sizeof(by), l->linked_by);
	printf(_("  link %" PRId64 ": person %" PRId64 " into %" PRId64
		 ", %s, "),
	       l->link_id, l->merged_person_id, l->kept_person_id, at);
	if (l->automatic)
		printf(_("by the network's policy (score %.1f, notice "
			 "%" PRId64 ")"),
		       l->score, l->notice_id);
	else
		printf(_("by %s"), by);
	if (l->unlinked_at != NULL && l->unlinked_at[0] != '\0') {
		output_date(un, l->unlinked_at);
		printf(_(", undone %s"), un);
	}
	printf("\n");
}

static json_t *person_json_view(const Maillage__PersonView *v)
{
	json_t *ids = json_array(), *cases = json_array();
	size_t i;

	for (i = 0; ids != NULL && i < v->n_identities; i++) {
		const Maillage__IdentityAssertion *a = v->identities[i];
		json_array_append_new(
			ids,
			json_pack("{s:I, s:o, s:o, s:o, s:I}", "id",
				  (json_int_t)a->id, "identity",
				  view_json_identity(a->identity),
				  "asserted_by", output_jstr(a->asserted_by),
				  "asserted_at", output_jtime(a->asserted_at),
				  "notice_id", (json_int_t)a->notice_id));
	}
	for (i = 0; cases != NULL && i < v->n_cases; i++) {
		const Maillage__PersonCase *c = v->cases[i];
		json_array_append_new(
			cases,
			json_pack("{s:I, s:o, s:o, s:o, s:o}", "case_id",
				  (json_int_t)c->case_id, "status",
				  output_jstr(c->status), "protection_status",
				  output_jstr(c->protection_status),
				  "opened_at", output_jtime(c->opened_at),
				  "closed_at", output_jtime(c->closed_at)));
	}
	return json_pack("{s:I, s:I, s:o, s:o, s:o}", "person_id",
			 (json_int_t)v->person_id, "merged_into",
			 (json_int_t)v->merged_into, "identities", ids, "cases",
			 cases, "links", person_json_links(v));
}

static void person_print_identity(const Maillage__IdentityAssertion *a)
{
	const Maillage__Identity *id = a->identity;
	char g[256], f[256], b[64], by[64], at[OUTPUT_DATE_MAX];

	output_clean(g, sizeof(g), id != NULL ? id->given_name : "");
	output_clean(f, sizeof(f), id != NULL ? id->family_name : "");
	output_clean(b, sizeof(b), id != NULL ? id->birth_date : "");
	output_clean(by, sizeof(by), a->asserted_by);
	output_date(at, a->asserted_at);
	printf("  %s%s%s", g, g[0] != '\0' && f[0] != '\0' ? " " : "", f);
	if (b[0] != '\0')
		printf(_(", born %s"), b);
	else if (id != NULL && id->declared_age != 0)
		printf(_(", said to be %u"), (unsigned)id->declared_age);
	if (id != NULL && id->sex != NULL && id->sex[0] != '\0')
		printf(", %s", id->sex);
	if (id != NULL && id->nationality != NULL && id->nationality[0])
		printf(", %s", id->nationality);
	printf(_(" (said by %s, %s"), by, at);
	if (a->notice_id != 0)
		printf(_(", notice %" PRId64), a->notice_id);
	printf(")\n");
}

static int cmd_person_show_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__PersonShow ps = MAILLAGE__PERSON_SHOW__INIT;
	const Maillage__PersonView *v;
	struct frame_msg *resp = NULL;
	size_t i;
	int rc;

	(void)argc;
	if (cmd_arg_id(ctx, _("person id"), argv[0], &ps.person_id) != 0)
		return MAILLAGE_EXIT_USAGE;
	req.body_case = MAILLAGE__ENVELOPE__BODY_PERSON_SHOW;
	req.person_show = &ps;
	rc = person_call(ctx, &req, MAILLAGE__ENVELOPE__BODY_PERSON_VIEW,
			 &resp);
	if (rc != MAILLAGE_EXIT_OK)
		return rc;
	v = resp->env->person_view;
	if (ctx->json) {
		rc = output_json(person_json_view(v));
	} else {
		printf(_("person %" PRId64 "\n"), v->person_id);
		if (v->merged_into != 0)
			printf(_("linked into person %" PRId64 "\n"),
			       v->merged_into);
		printf(_("known as:\n"));
		if (v->n_identities == 0)
			printf(_("  (no identity you may read)\n"));
		for (i = 0; i < v->n_identities; i++)
			person_print_identity(v->identities[i]);
		printf(_("cases:\n"));
		for (i = 0; i < v->n_cases; i++)
			printf(_("  case %" PRId64 "  %s  %s  opened %s%s%s\n"),
			       v->cases[i]->case_id, v->cases[i]->status,
			       v->cases[i]->protection_status,
			       v->cases[i]->opened_at,
			       v->cases[i]->closed_at[0] ? _("  closed ") : "",
			       v->cases[i]->closed_at);
		if (v->n_links > 0)
			printf(_("links (undo one with 'maillage person unlink "
				 "LINK'):\n"));
		for (i = 0; i < v->n_links; i++)
			person_print_link(v->links[i]);
	}
	frame_msg_free(resp);
	return rc;
}

static const struct cmd_option cmd_person_show_options[] = {
	{"json", 'j', NULL,
	 N_("print JSON (also accepted before the command)")},
	{"help", 'h', NULL, N_("show this help")},
	{NULL, 0, NULL, NULL},
};

const struct cmd_entry cmd_person_show_entry = {
	.name = "person show",
	.alias = NULL,
	.usage = "PERSON",
	.summary = N_("Show a young person's known identities and cases"),
	.help = N_("Every identity asserted of the person that you may read "
		   "(who said which\n"
		   "name, birth date or age, and when), oldest first, and "
		   "the person's cases\n"
		   "that you may see. Linking never rewrites an identity: a "
		   "person linked\n"
		   "with others shows all its names.\n"
		   "\n"
		   "With --json: {\"person_id\", \"merged_into\", "
		   "\"identities\": [{\"id\",\n"
		   "\"identity\": {...}, \"asserted_by\", \"asserted_at\", "
		   "\"notice_id\"}],\n"
		   "\"cases\": [{\"case_id\", \"status\", "
		   "\"protection_status\", \"opened_at\",\n"
		   "\"closed_at\"}], \"links\": [{\"link_id\", "
		   "\"kept_person_id\",\n"
		   "\"merged_person_id\", \"linked_at\", \"linked_by\", "
		   "\"automatic\", \"score\",\n"
		   "\"notice_id\", \"unlinked_at\"}]}. Coordinators also see "
		   "the person's links,\n"
		   "those of the network's policy included (others get an "
		   "empty list).\n"
		   "\n"
		   "Example:\n"
		   "  $ maillage person show 12\n"
		   "  person 12\n"
		   "  known as:\n"
		   "    Mohamed Benali, born 2009-03-12, M, MA (said by "
		   "ase75, 2026-11-02, notice 40)\n"
		   "    Muhammad Benaly, born 2009-12-03, M, MA (said by "
		   "pjj75, 2026-11-20, notice 41)\n"
		   "  cases:\n"
		   "    case 7  open  presumed_victim  opened "
		   "2026-11-02T10:12:00Z\n"),
	.exec = cmd_person_show_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.options = cmd_person_show_options,
	.min_args = 1,
	.max_args = 1,
};
