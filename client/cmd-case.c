/*
 * cmd-case: the `maillage case ...` commands, on the joint follow-up cases:
 * list and show (what the caller may see: coordinators every case,
 * partners those their institution is a party to), the protection status,
 * and the coordinators' changes (parties, lead institution, close,
 * reopen). Every change answers with the case as it now stands, printed
 * the same way for all of them. Who may do what is the server's decision.
 */
#include "cmd.h"
#include "output.h"
#include "view.h"

#include <inttypes.h>
#include <stdlib.h>

#define CASE_LIMIT_DEFAULT 100u
#define CASE_LIMIT_MAX 100000u

/* ---- case list ------------------------------------------------------- */

static int case_list_opts(struct cmd_ctx *ctx, unsigned *limit, int64_t *before)
{
	if (cmd_opt_isset(ctx, "open") && cmd_opt_isset(ctx, "closed"))
		return cmd_usage_error(ctx,
				       _("--open and --closed exclude each "
					 "other"));
	if (cmd_opt_uint(ctx, "limit", CASE_LIMIT_DEFAULT, 1, CASE_LIMIT_MAX,
			 limit) != 0 ||
	    cmd_opt_id(ctx, "before", before) != 0)
		return MAILLAGE_EXIT_USAGE;
	return MAILLAGE_EXIT_OK;
}

static int cmd_case_list_check(struct cmd_ctx *ctx, int argc, char **argv)
{
	unsigned limit;
	int64_t before;

	(void)argc;
	(void)argv;
	return case_list_opts(ctx, &limit, &before);
}

static int case_list_json(const Maillage__CaseListResult *r)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < r->n_cases; i++) {
		if (json_array_append_new(
			    a, view_json_case_summary(r->cases[i])) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return output_json(a);
}

static int case_list_text(const Maillage__CaseListResult *r)
{
	static const char *const headers[] = {
		N_("CASE"),    N_("STATUS"),  N_("PROTECTION"),
		N_("LAST"),    N_("URGENCY"), N_("LEAD"),
		N_("UPDATED"), N_("PERSON"),  N_("NAME"),
	};
	struct view_table *t;
	size_t i;

	if (r->n_cases == 0) {
		printf(_("No cases.\n"));
		return MAILLAGE_EXIT_OK;
	}
	t = view_table_new(9, headers);
	if (t == NULL)
		goto oom;
	for (i = 0; i < r->n_cases; i++) {
		const Maillage__CaseSummary *s = r->cases[i];
		char cid[24], pid[24], updated[OUTPUT_DATE_MAX];
		const char *cells[9];

		snprintf(cid, sizeof(cid), "%" PRId64, s->case_id);
		snprintf(pid, sizeof(pid), "%" PRId64, s->person_id);
		cells[0] = cid;
		cells[1] = s->status;
		cells[2] = s->protection_status;
		cells[3] = s->last_kind;
		cells[4] = s->last_urgency;
		cells[5] = s->lead;
		cells[6] = output_date(updated, s->updated_at);
		cells[7] = pid;
		cells[8] = s->person_label;
		if (view_table_add(t, cells) != 0)
			goto oom;
	}
	view_table_print(t, 0, 1);
	view_table_free(t);
	return MAILLAGE_EXIT_OK;
oom:
	view_table_free(t);
	output_warnx(_("out of memory"));
	return MAILLAGE_EXIT_UNAVAILABLE;
}

static int cmd_case_list_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__CaseList cl = MAILLAGE__CASE_LIST__INIT;
	struct frame_msg *resp = NULL;
	const char *v;
	struct cerr err;
	unsigned limit;
	int64_t before;
	int rc;

	(void)argc;
	(void)argv;
	if ((rc = case_list_opts(ctx, &limit, &before)) != MAILLAGE_EXIT_OK)
		return rc;
	if (cmd_opt_isset(ctx, "open"))
		cl.status = "open";
	else if (cmd_opt_isset(ctx, "closed"))
		cl.status = "closed";
	if ((v = cmd_opt_value(ctx, "kind")) != NULL)
		cl.kind = (char *)v;
	if ((v = cmd_opt_value(ctx, "urgency")) != NULL)
		cl.urgency = (char *)v;
	if ((v = cmd_opt_value(ctx, "since")) != NULL)
		cl.updated_since = (char *)v;
	cl.limit = limit;
	cl.before_id = before;
	req.body_case = MAILLAGE__ENVELOPE__BODY_CASE_LIST;
	req.case_list = &cl;
	if (net_call(ctx->conn, &req, MAILLAGE__ENVELOPE__BODY_CASE_LIST_RESULT,
		     &resp, &err) != 0)
		return cmd_fail(ctx, &err);
	if (ctx->json)
		rc = case_list_json(resp->env->case_list_result);
	else
		rc = case_list_text(resp->env->case_list_result);
	frame_msg_free(resp);
	return rc;
}

static const struct cmd_option cmd_case_list_options[] = {
	{"open", 'o', NULL, N_("only open cases")},
	{"closed", 0, NULL, N_("only closed cases")},
	{"kind", 'k', "KIND",
	 N_("only cases whose last notice is of this kind")},
	{"urgency", 'u', "URGENCY",
	 N_("only cases whose last notice is urgent "
	    "or normal")},
	{"since", 0, "DATE",
	 N_("only cases updated since (YYYY-MM-DD or "
	    "RFC 3339)")},
	{"limit", 'n', "N", N_("at most N cases (default 100)")},
	{"before", 0, "CASE", N_("only cases with a smaller id (paging)")},
	{NULL, 0, NULL, NULL},
};

const struct cmd_entry cmd_case_list_entry = {
	.name = "case list",
	.alias = NULL,
	.usage = "[--open|--closed] [--kind KIND] [--urgency U]\n"
		 "       [--since DATE] [--limit N] [--before CASE]",
	.summary = N_("List the cases you may see"),
	.help = N_(
		"Lists the joint follow-up cases: every case of the network "
		"for a\n"
		"coordinator, the cases your institution is a party to for a "
		"partner.\n"
		"Filters: open or closed, kind and urgency of the last "
		"notice, updated\n"
		"since a date.\n"
		"\n"
		"With --json: an array of {\"case_id\", \"person_id\", "
		"\"person_label\",\n"
		"\"status\", \"protection_status\", \"lead\", \"last_kind\", "
		"\"last_urgency\",\n"
		"\"opened_at\", \"updated_at\", \"closed_at\", "
		"\"close_reason\", \"parties\"}.\n"
		"\n"
		"Example:\n"
		"  $ maillage case list --open --urgency urgent\n"
		"  CASE  STATUS  PROTECTION  LAST     URGENCY  LEAD  UPDATED   "
		" "
		"           PERSON  NAME\n"
		"  3     open    spotted     runaway  urgent         "
		"2026-11-28T14:03:07Z  3       Ana Petrescu\n"),
	.exec = cmd_case_list_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_case_list_check,
	.options = cmd_case_list_options,
	.min_args = 0,
	.max_args = 0,
};

/* ---- case show ------------------------------------------------------- */

static int cmd_case_check_id(struct cmd_ctx *ctx, int argc, char **argv)
{
	int64_t id;

	(void)argc;
	return cmd_arg_id(ctx, "case id", argv[0], &id) != 0
		       ? MAILLAGE_EXIT_USAGE
		       : MAILLAGE_EXIT_OK;
}

static int cmd_case_show_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__CaseShow cs = MAILLAGE__CASE_SHOW__INIT;
	struct frame_msg *resp = NULL;
	struct cerr err;
	int rc = MAILLAGE_EXIT_OK;

	(void)argc;
	if (cmd_arg_id(ctx, "case id", argv[0], &cs.case_id) != 0)
		return MAILLAGE_EXIT_USAGE;
	req.body_case = MAILLAGE__ENVELOPE__BODY_CASE_SHOW;
	req.case_show = &cs;
	if (net_call(ctx->conn, &req, MAILLAGE__ENVELOPE__BODY_CASE_VIEW, &resp,
		     &err) != 0)
		return cmd_fail(ctx, &err);
	if (ctx->json)
		rc = output_json(view_json_case_view(resp->env->case_view));
	else
		view_case_view_text(resp->env->case_view);
	frame_msg_free(resp);
	return rc;
}

const struct cmd_entry cmd_case_show_entry = {
	.name = "case show",
	.alias = NULL,
	.usage = "CASE",
	.summary = N_("Show a case: identities, parties, timeline"),
	.help = N_(
		"Shows a case you may see: the young person's status and "
		"the case's,\n"
		"the identities given for the person, the parties (the lead "
		"institution\n"
		"marked), then the timeline: the notices you may read, each "
		"with where\n"
		"every recipient stands, and the case's events (parties, "
		"lead, status,\n"
		"closing), by time. Notices of a class your institution may "
		"not read are\n"
		"left out. A case you may not see is answered as not found.\n"
		"\n"
		"With --json: {\"case_id\", \"person_id\", \"person_label\", "
		"\"status\",\n"
		"\"protection_status\", \"lead\", \"last_kind\", "
		"\"last_urgency\", \"opened_at\",\n"
		"\"updated_at\", \"closed_at\", \"close_reason\",\n"
		"\"parties\": [{\"institution\", \"name\", \"kind\", "
		"\"since\", \"lead\"}],\n"
		"\"identities\": [{\"id\", \"identity\": {...}, "
		"\"asserted_by\", \"asserted_at\",\n"
		"\"notice_id\"}],\n"
		"\"notices\": [{\"notice_id\", \"kind\", \"urgency\", "
		"\"visibility\", \"basis\",\n"
		"\"informed\", \"informed_note\", \"from_institution\", "
		"\"from_login\", \"sent_at\",\n"
		"\"text\", \"indicators\", \"recipients\": [{\"institution\", "
		"\"state\", \"reason\",\n"
		"\"note\", \"updated_at\"}]}],\n"
		"\"events\": [{\"at\", \"what\", \"by_institution\", "
		"\"by_login\", \"institution\",\n"
		"\"status\", \"note\", \"indicators\", \"notice_id\"}]}.\n"
		"\n"
		"Example:\n"
		"  $ maillage case show 1\n"
		"  case 1: Karim Benali (person 1)\n"
		"  status: open\n"
		"  protection status: spotted\n"
		"  ...\n"
		"  Timeline:\n"
		"    2026-11-28T14:03:07Z  case opened by ase75 (ase)\n"
		"    2026-11-28T14:03:07Z  notice 1: referral from ase75 "
		"(ase)\n"
		"        ...\n"
		"        recipients:\n"
		"          INSTITUTION  STATE     SINCE\n"
		"          pjj75        accepted  2026-11-28T15:10:42Z\n"
		"          hlr          received  2026-11-28T14:20:03Z\n"),
	.exec = cmd_case_show_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_case_check_id,
	.options = NULL,
	.min_args = 1,
	.max_args = 1,
};

/* ---- changes --------------------------------------------------------- */

enum case_change {
	CASE_PARTY_ADD,
	CASE_PARTY_REMOVE,
	CASE_LEAD,
	CASE_CLOSE,
	CASE_REOPEN,
	CASE_STATUS,
};

/* The line that tells what was done, then the case as it now stands. */
static void case_updated_text(enum case_change what, const char *inst,
			      const Maillage__CaseSummary *s)
{
	char i[128], st[64];

	output_clean(i, sizeof(i), inst);
	output_clean(st, sizeof(st), s->protection_status);
	switch (what) {
	case CASE_PARTY_ADD:
		printf(_("case %" PRId64 ": %s is now a party.\n"), s->case_id,
		       i);
		break;
	case CASE_PARTY_REMOVE:
		printf(_("case %" PRId64 ": %s is no longer a party.\n"),
		       s->case_id, i);
		break;
	case CASE_LEAD:
		printf(_("case %" PRId64 ": %s is now the lead institution.\n"),
		       s->case_id, i);
		break;
	case CASE_CLOSE:
		printf(_("case %" PRId64 " closed.\n"), s->case_id);
		break;
	case CASE_REOPEN:
		printf(_("case %" PRId64 " reopened.\n"), s->case_id);
		break;
	case CASE_STATUS:
		printf(_("case %" PRId64 ": protection status is now %s.\n"),
		       s->case_id, st);
		break;
	}
	printf("\n");
	view_case_summary_text(s);
}

/* Send a case-changing request and print the CaseUpdated answer. */
static int case_update(struct cmd_ctx *ctx, Maillage__Envelope *req,
		       enum case_change what, const char *inst)
{
	static const Maillage__CaseSummary none = MAILLAGE__CASE_SUMMARY__INIT;
	const Maillage__CaseSummary *s;
	struct frame_msg *resp = NULL;
	struct cerr err;
	int rc = MAILLAGE_EXIT_OK;

	if (net_call(ctx->conn, req, MAILLAGE__ENVELOPE__BODY_CASE_UPDATED,
		     &resp, &err) != 0)
		return cmd_fail(ctx, &err);
	s = resp->env->case_updated->summary;
	if (s == NULL)
		s = &none;
	if (ctx->json)
		rc = output_json(view_json_case_summary(s));
	else
		case_updated_text(what, inst, s);
	frame_msg_free(resp);
	return rc;
}

/* CASE INST of party add/remove and lead. */
static int cmd_case_check_id_inst(struct cmd_ctx *ctx, int argc, char **argv)
{
	int64_t id;

	(void)argc;
	if (cmd_arg_id(ctx, "case id", argv[0], &id) != 0)
		return MAILLAGE_EXIT_USAGE;
	if (argv[1][0] == '\0')
		return cmd_usage_error(ctx, _("the institution code is empty"));
	return MAILLAGE_EXIT_OK;
}

static int case_party(struct cmd_ctx *ctx, char **argv, int remove)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__CasePartyChange pc = MAILLAGE__CASE_PARTY_CHANGE__INIT;

	if (cmd_arg_id(ctx, "case id", argv[0], &pc.case_id) != 0)
		return MAILLAGE_EXIT_USAGE;
	pc.institution = argv[1];
	pc.remove = remove;
	req.body_case = MAILLAGE__ENVELOPE__BODY_CASE_PARTY;
	req.case_party = &pc;
	return case_update(ctx, &req,
			   remove ? CASE_PARTY_REMOVE : CASE_PARTY_ADD,
			   argv[1]);
}

/*
 * The network's training policy: tell the coordinator when the institution
 * just added has had nobody at an awareness session for the policy's
 * years (a note on stderr; the directory says the same).
 */
static void case_party_lapse_note(struct cmd_ctx *ctx, const char *inst)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__NetworkShow ns = MAILLAGE__NETWORK_SHOW__INIT;
	const Maillage__NetworkShowResult *r;
	struct frame_msg *resp = NULL;
	struct cerr err;

	ns.code = (char *)inst;
	req.body_case = MAILLAGE__ENVELOPE__BODY_NETWORK_SHOW;
	req.network_show = &ns;
	if (net_call(ctx->conn, &req,
		     MAILLAGE__ENVELOPE__BODY_NETWORK_SHOW_RESULT, &resp,
		     &err) != 0)
		return;
	r = resp->env->network_show_result;
	if (r->institution != NULL && r->institution->lapsed) {
		char code[64];

		output_warnx(_("note: nobody at %s has attended an awareness "
			       "session in the last %u years"),
			     output_clean(code, sizeof(code), inst),
			     r->lapse_years);
	}
	frame_msg_free(resp);
}

static int cmd_case_party_add_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	int rc;

	(void)argc;
	rc = case_party(ctx, argv, 0);
	if (rc == MAILLAGE_EXIT_OK)
		case_party_lapse_note(ctx, argv[1]);
	return rc;
}

static int cmd_case_party_remove_exec(struct cmd_ctx *ctx, int argc,
				      char **argv)
{
	(void)argc;
	return case_party(ctx, argv, 1);
}

const struct cmd_entry cmd_case_party_add_entry = {
	.name = "case party add",
	.alias = NULL,
	.usage = "CASE INST",
	.summary = N_("Add a party to a case (coordinators)"),
	.help = N_("Adds the institution INST (its code) to the parties of the "
		   "case: it\n"
		   "then sees the case and the notices its kind may read. For "
		   "coordinators.\n"
		   "\n"
		   "With --json: the case as it now stands, as one element of "
		   "'case "
		   "list --json'.\n"
		   "\n"
		   "Example:\n"
		   "  $ maillage case party add 1 tpe75\n"
		   "  case 1: tpe75 is now a party.\n"),
	.exec = cmd_case_party_add_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_case_check_id_inst,
	.options = NULL,
	.min_args = 2,
	.max_args = 2,
};

const struct cmd_entry cmd_case_party_remove_entry = {
	.name = "case party remove",
	.alias = NULL,
	.usage = "CASE INST",
	.summary = N_("Remove a party from a case (coordinators)"),
	.help = N_("Removes the institution INST from the parties of the case: "
		   "it no\n"
		   "longer sees the case. Removing the lead institution leaves "
		   "the case\n"
		   "without a lead. For coordinators.\n"
		   "\n"
		   "With --json: the case as it now stands, as one element of "
		   "'case "
		   "list --json'.\n"
		   "\n"
		   "Example:\n"
		   "  $ maillage case party remove 1 hlr\n"
		   "  case 1: hlr is no longer a party.\n"),
	.exec = cmd_case_party_remove_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_case_check_id_inst,
	.options = NULL,
	.min_args = 2,
	.max_args = 2,
};

static int cmd_case_lead_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__CaseLead cl = MAILLAGE__CASE_LEAD__INIT;

	(void)argc;
	if (cmd_arg_id(ctx, "case id", argv[0], &cl.case_id) != 0)
		return MAILLAGE_EXIT_USAGE;
	cl.institution = argv[1];
	req.body_case = MAILLAGE__ENVELOPE__BODY_CASE_LEAD;
	req.case_lead = &cl;
	return case_update(ctx, &req, CASE_LEAD, argv[1]);
}

const struct cmd_entry cmd_case_lead_entry = {
	.name = "case lead",
	.alias = NULL,
	.usage = "CASE INST",
	.summary = N_("Set the lead institution of a case (coordinators)"),
	.help = N_(
		"Makes INST the lead institution (référent) of the case, "
		"adding it to\n"
		"the parties if it is not one yet. The lead institution also "
		"reads the\n"
		"health notices. For coordinators.\n"
		"\n"
		"With --json: the case as it now stands, as one element of "
		"'case "
		"list --json'.\n"
		"\n"
		"Example:\n"
		"  $ maillage case lead 1 ase75\n"
		"  case 1: ase75 is now the lead institution.\n"),
	.exec = cmd_case_lead_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_case_check_id_inst,
	.options = NULL,
	.min_args = 2,
	.max_args = 2,
};

static int cmd_case_close_check(struct cmd_ctx *ctx, int argc, char **argv)
{
	int rc = cmd_case_check_id(ctx, argc, argv);

	if (rc != MAILLAGE_EXIT_OK)
		return rc;
	if (cmd_opt_value(ctx, "reason") == NULL)
		return cmd_usage_error(ctx, _("closing a case needs a reason "
					      "(--reason)"));
	return MAILLAGE_EXIT_OK;
}

static int cmd_case_close_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__CaseClose cc = MAILLAGE__CASE_CLOSE__INIT;

	(void)argc;
	if (cmd_arg_id(ctx, "case id", argv[0], &cc.case_id) != 0)
		return MAILLAGE_EXIT_USAGE;
	cc.reason = (char *)cmd_opt_value(ctx, "reason");
	req.body_case = MAILLAGE__ENVELOPE__BODY_CASE_CLOSE;
	req.case_close = &cc;
	return case_update(ctx, &req, CASE_CLOSE, NULL);
}

static const struct cmd_option cmd_case_close_options[] = {
	{"reason", 'r', "TEXT", N_("why the case is closed (required)")},
	{NULL, 0, NULL, NULL},
};

const struct cmd_entry cmd_case_close_entry = {
	.name = "case close",
	.alias = NULL,
	.usage = "CASE --reason TEXT",
	.summary = N_("Close a case, with a reason (coordinators)"),
	.help = N_("Closes the case; the reason goes to its timeline. A new "
		   "notice about\n"
		   "the same young person then opens a new case. For "
		   "coordinators.\n"
		   "\n"
		   "With --json: the case as it now stands, as one element of "
		   "'case "
		   "list --json'.\n"
		   "\n"
		   "Example:\n"
		   "  $ maillage case close 1 --reason \"Pris en charge "
		   "durablement "
		   "par l'ASE\"\n"
		   "  case 1 closed.\n"),
	.exec = cmd_case_close_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_case_close_check,
	.options = cmd_case_close_options,
	.min_args = 1,
	.max_args = 1,
};

static int cmd_case_reopen_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__CaseReopen cr = MAILLAGE__CASE_REOPEN__INIT;

	(void)argc;
	if (cmd_arg_id(ctx, "case id", argv[0], &cr.case_id) != 0)
		return MAILLAGE_EXIT_USAGE;
	req.body_case = MAILLAGE__ENVELOPE__BODY_CASE_REOPEN;
	req.case_reopen = &cr;
	return case_update(ctx, &req, CASE_REOPEN, NULL);
}

const struct cmd_entry cmd_case_reopen_entry = {
	.name = "case reopen",
	.alias = NULL,
	.usage = "CASE",
	.summary = N_("Reopen a closed case (coordinators)"),
	.help = N_("Reopens a closed case, unless the young person has another "
		   "open case\n"
		   "by now. For coordinators.\n"
		   "\n"
		   "With --json: the case as it now stands, as one element of "
		   "'case "
		   "list --json'.\n"
		   "\n"
		   "Example:\n"
		   "  $ maillage case reopen 1\n"
		   "  case 1 reopened.\n"),
	.exec = cmd_case_reopen_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_case_check_id,
	.options = NULL,
	.min_args = 1,
	.max_args = 1,
};

/* ---- case status ----------------------------------------------------- */

static int cmd_case_status_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__CaseStatus cs = MAILLAGE__CASE_STATUS__INIT;
	struct cmd_strv ind = {NULL, 0, 0};
	const char *note = cmd_opt_value(ctx, "note");
	int rc;

	(void)argc;
	if (cmd_arg_id(ctx, "case id", argv[0], &cs.case_id) != 0)
		return MAILLAGE_EXIT_USAGE;
	if (cmd_opt_list(ctx, "indicator", &ind) != 0)
		return MAILLAGE_EXIT_UNAVAILABLE;
	cs.status = argv[1];
	if (note != NULL)
		cs.note = (char *)note;
	cs.n_indicators = ind.n;
	cs.indicators = ind.v;
	req.body_case = MAILLAGE__ENVELOPE__BODY_CASE_STATUS;
	req.case_status = &cs;
	rc = case_update(ctx, &req, CASE_STATUS, NULL);
	cmd_strv_free(&ind);
	return rc;
}

static const struct cmd_option cmd_case_status_options[] = {
	{"note", 0, "TEXT", N_("what the change rests on")},
	{"indicator", 'i', "CODE[,CODE...]",
	 N_("trafficking indicator behind it (repeatable)")},
	{NULL, 0, NULL, NULL},
};

const struct cmd_entry cmd_case_status_entry = {
	.name = "case status",
	.alias = NULL,
	.usage = "CASE spotted|presumed_victim|identified|not_a_victim\n"
		 "       [--note T] [--indicator CODE]...",
	.summary = N_("Record the young person's protection status"),
	.help = N_(
		"Records the protection status of the young person of the "
		"case:\n"
		"spotted, presumed_victim, identified (formal identification "
		"as a\n"
		"victim of trafficking: police and gendarmerie accounts only) "
		"or\n"
		"not_a_victim. The change, who made it, the note and the "
		"indicators\n"
		"behind it appear in the case's timeline.\n"
		"\n"
		"With --json: the case as it now stands, as one element of "
		"'case "
		"list --json'.\n"
		"\n"
		"Example:\n"
		"  $ maillage case status 1 presumed_victim --indicator "
		"CTRL_QUOTA,REC_DEBT \\\n"
		"      --note \"Doit rapporter 300 euros par jour\"\n"
		"  case 1: protection status is now presumed_victim.\n"),
	.exec = cmd_case_status_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_case_check_id,
	.options = cmd_case_status_options,
	.min_args = 2,
	.max_args = 2,
};
