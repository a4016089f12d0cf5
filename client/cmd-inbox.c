/*
 * cmd-inbox: `maillage inbox`, the notices addressed to the caller's
 * institution (unacknowledged first, then newest first; listing them marks
 * them received), and `maillage ack`, the acknowledgement of one of them
 * (received, read, accepted, declined with a reason, done with an
 * outcome). Which transitions are allowed is the server's to decide.
 */
#include "cmd.h"
#include "output.h"
#include "view.h"

#include <inttypes.h>
#include <stdlib.h>

#define INBOX_LIMIT_DEFAULT 100u
#define INBOX_LIMIT_MAX 100000u

/* ---- inbox ----------------------------------------------------------- */

static int cmd_inbox_check(struct cmd_ctx *ctx, int argc, char **argv)
{
	unsigned limit;
	int64_t before;

	(void)argc;
	(void)argv;
	if (cmd_opt_uint(ctx, "limit", INBOX_LIMIT_DEFAULT, 1, INBOX_LIMIT_MAX,
			 &limit) != 0 ||
	    cmd_opt_id(ctx, "before", &before) != 0)
		return MAILLAGE_EXIT_USAGE;
	return MAILLAGE_EXIT_OK;
}

static int inbox_print_json(const Maillage__InboxResult *r)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < r->n_notices; i++) {
		if (json_array_append_new(
			    a, view_json_notice_summary(r->notices[i])) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return output_json(a);
}

static int inbox_print_text(const Maillage__InboxResult *r)
{
	static const char *const headers[] = {
		N_("NOTICE"), N_("SENT"),    N_("FROM"),
		N_("KIND"),   N_("URGENCY"), N_("STATE"),
		N_("CASE"),   N_("PERSON"),  N_("NAME"),
	};
	struct view_table *t;
	size_t i;

	if (r->n_notices == 0) {
		printf(_("No notices.\n"));
		return MAILLAGE_EXIT_OK;
	}
	t = view_table_new(9, headers);
	if (t == NULL)
		goto oom;
	for (i = 0; i < r->n_notices; i++) {
		const Maillage__NoticeSummary *n = r->notices[i];
		char id[24], cid[24], pid[24], sent[OUTPUT_DATE_MAX];
		const char *cells[9];

		snprintf(id, sizeof(id), "%" PRId64, n->notice_id);
		snprintf(cid, sizeof(cid), "%" PRId64, n->case_id);
		snprintf(pid, sizeof(pid), "%" PRId64, n->person_id);
		cells[0] = id;
		cells[1] = output_date(sent, n->sent_at);
		cells[2] = n->from_institution;
		cells[3] = n->kind;
		cells[4] = n->urgency;
		cells[5] = n->state;
		cells[6] = cid;
		cells[7] = pid;
		cells[8] = n->person_label;
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

static int cmd_inbox_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__Inbox in = MAILLAGE__INBOX__INIT;
	struct frame_msg *resp = NULL;
	struct cerr err;
	unsigned limit;
	int64_t before;
	int rc;

	(void)argc;
	(void)argv;
	if (cmd_opt_uint(ctx, "limit", INBOX_LIMIT_DEFAULT, 1, INBOX_LIMIT_MAX,
			 &limit) != 0 ||
	    cmd_opt_id(ctx, "before", &before) != 0)
		return MAILLAGE_EXIT_USAGE;
	in.unacked_only = cmd_opt_isset(ctx, "unacked");
	in.limit = limit;
	in.before_id = before;
	req.body_case = MAILLAGE__ENVELOPE__BODY_INBOX;
	req.inbox = &in;
	if (net_call(ctx->conn, &req, MAILLAGE__ENVELOPE__BODY_INBOX_RESULT,
		     &resp, &err) != 0)
		return cmd_fail(ctx, &err);
	if (ctx->json)
		rc = inbox_print_json(resp->env->inbox_result);
	else
		rc = inbox_print_text(resp->env->inbox_result);
	frame_msg_free(resp);
	return rc;
}

static const struct cmd_option cmd_inbox_options[] = {
	{"unacked", 'u', NULL, N_("only notices still sent or received")},
	{"limit", 'n', "N", N_("at most N notices (default 100)")},
	{"before", 0, "NOTICE",
	 N_("only notices older than this one (paging)")},
	{NULL, 0, NULL, NULL},
};

const struct cmd_entry cmd_inbox_entry = {
	.name = "inbox",
	.alias = NULL,
	.usage = "[--unacked] [--limit N] [--before NOTICE]",
	.summary = N_("List the notices addressed to your institution"),
	.help = N_(
		"Lists the notices sent to your institution: those not yet "
		"acknowledged\n"
		"beyond 'received' first, then the newest first. Listing "
		"them marks the\n"
		"new ones as received by your institution (their senders see "
		"it). Answer\n"
		"with 'maillage ack'; see the whole case with 'maillage case "
		"show CASE'.\n"
		"\n"
		"With --json: an array of {\"notice_id\", \"case_id\", "
		"\"person_id\", \"kind\",\n"
		"\"urgency\", \"visibility\", \"basis\", \"from_institution\", "
		"\"sent_at\",\n"
		"\"state\", \"person_label\"}.\n"
		"\n"
		"Example:\n"
		"  $ maillage inbox --unacked\n"
		"  NOTICE  SENT                  FROM   KIND      URGENCY  "
		"STATE     CASE  PERSON  NAME\n"
		"  1       2026-11-28T14:03:07Z  ase75  referral  normal   "
		"received  1     1       Karim Benali\n"),
	.exec = cmd_inbox_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_inbox_check,
	.options = cmd_inbox_options,
	.min_args = 0,
	.max_args = 0,
};

/* ---- ack ------------------------------------------------------------- */

static int cmd_ack_check(struct cmd_ctx *ctx, int argc, char **argv)
{
	int64_t id;

	(void)argc;
	if (cmd_arg_id(ctx, "notice id", argv[0], &id) != 0)
		return MAILLAGE_EXIT_USAGE;
	if (cmd_opt_value(ctx, "state") == NULL)
		return cmd_usage_error(ctx, _("the new state is missing "
					      "(--state)"));
	return MAILLAGE_EXIT_OK;
}

static int ack_print(struct cmd_ctx *ctx, const Maillage__AckResult *r)
{
	char st[64], prev[64];

	if (ctx->json) {
		json_t *doc = json_pack("{s:I, s:I, s:o, s:o}", "notice_id",
					(json_int_t)r->notice_id, "case_id",
					(json_int_t)r->case_id, "state",
					output_jstr(r->state), "previous_state",
					output_jstr(r->previous_state));

		return output_json(doc);
	}
	output_clean(st, sizeof(st), r->state);
	output_clean(prev, sizeof(prev), r->previous_state);
	if (prev[0] != '\0')
		printf(_("notice %" PRId64 " (case %" PRId64 "): %s, was %s\n"),
		       r->notice_id, r->case_id, st, prev);
	else
		printf(_("notice %" PRId64 " (case %" PRId64 "): %s\n"),
		       r->notice_id, r->case_id, st);
	return MAILLAGE_EXIT_OK;
}

static int cmd_ack_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__Ack ack = MAILLAGE__ACK__INIT;
	struct frame_msg *resp = NULL;
	const char *reason = cmd_opt_value(ctx, "reason");
	const char *note = cmd_opt_value(ctx, "note");
	struct cerr err;
	int rc;

	(void)argc;
	if (cmd_arg_id(ctx, "notice id", argv[0], &ack.notice_id) != 0)
		return MAILLAGE_EXIT_USAGE;
	ack.state = (char *)cmd_opt_value(ctx, "state");
	if (reason != NULL)
		ack.reason = (char *)reason;
	if (note != NULL)
		ack.note = (char *)note;
	req.body_case = MAILLAGE__ENVELOPE__BODY_ACK;
	req.ack = &ack;
	if (net_call(ctx->conn, &req, MAILLAGE__ENVELOPE__BODY_ACK_RESULT,
		     &resp, &err) != 0)
		return cmd_fail(ctx, &err);
	rc = ack_print(ctx, resp->env->ack_result);
	frame_msg_free(resp);
	return rc;
}

static const struct cmd_option cmd_ack_options[] = {
	{"state", 's', "STATE",
	 N_("received, read, accepted, declined or done")},
	{"reason", 'r', "REASON", N_("why declined, or the outcome when done")},
	{"note", 0, "TEXT", N_("free text (needed with --reason other)")},
	{NULL, 0, NULL, NULL},
};

const struct cmd_entry cmd_ack_entry = {
	.name = "ack",
	.alias = NULL,
	.usage = "NOTICE --state received|read|accepted|declined|done\n"
		 "       [--reason R] [--note T]",
	.summary = N_("Acknowledge a notice addressed to your institution"),
	.help = N_(
		"Records where your institution stands on a notice it "
		"received; the\n"
		"sender sees it in 'maillage case show'. States: received "
		"(automatic\n"
		"when the notice is listed), read, accepted, declined, done. "
		"A referral\n"
		"stays open until accepted or declined.\n"
		"\n"
		"Declining needs --reason: no_capacity, not_competent, "
		"already_followed,\n"
		"unable_to_contact, or other with a --note. Done needs the "
		"outcome as\n"
		"--reason: successful or unsuccessful.\n"
		"\n"
		"With --json: {\"notice_id\", \"case_id\", \"state\", "
		"\"previous_state\"}.\n"
		"\n"
		"Example:\n"
		"  $ maillage ack 1 --state accepted\n"
		"  notice 1 (case 1): accepted, was received\n"
		"  $ maillage ack 2 --state declined --reason other --note "
		"\"Hors secteur\"\n"),
	.exec = cmd_ack_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_ack_check,
	.options = cmd_ack_options,
	.min_args = 1,
	.max_args = 1,
};
