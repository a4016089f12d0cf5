/*
 * cmd-whoami: `maillage whoami`, the account, institution and role the
 * server recognised from the client certificate, with the certificate's
 * fingerprint and end of validity.
 */
#include "cmd.h"
#include "output.h"

#include <stdlib.h>

static int cmd_whoami_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__WhoAmI who = MAILLAGE__WHO_AM_I__INIT;
	const Maillage__WhoAmIResult *r;
	const Maillage__Account *a;
	struct frame_msg *resp = NULL;
	struct cerr err;
	char until[OUTPUT_TIME_MAX];
	int rc = MAILLAGE_EXIT_OK;

	(void)argc;
	(void)argv;
	req.body_case = MAILLAGE__ENVELOPE__BODY_WHOAMI;
	req.whoami = &who;
	if (net_call(ctx->conn, &req, MAILLAGE__ENVELOPE__BODY_WHOAMI_RESULT,
		     &resp, &err) != 0)
		return cmd_fail(ctx, &err);
	r = resp->env->whoami_result;
	a = r->account;
	if (a == NULL) {
		cerr_set(&err, CERR_PROTOCOL,
			 _("the server's answer to whoami has no account"));
		frame_msg_free(resp);
		return cmd_fail(ctx, &err);
	}
	output_time_secs(until, r->certificate_not_after);
	if (ctx->json) {
		json_t *doc = json_pack(
			"{s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			"login", output_jstr(a->login), "institution",
			output_jstr(a->institution), "role",
			output_role(a->role), "institution_name",
			output_jstr(a->institution_name), "institution_kind",
			output_jstr(a->institution_kind), "departement",
			output_jstr(a->departement), "display_name",
			output_jstr(a->display_name), "certificate_fingerprint",
			output_jstr(r->certificate_fingerprint),
			"certificate_not_after", output_jtime(until),
			"peer_address", output_jstr(r->peer_address));

		rc = output_json(doc);
	} else {
		char *inst = output_sanitize(a->institution);
		char *iname = output_sanitize(a->institution_name);

		output_field(_("login"), a->login);
		if (inst != NULL && iname != NULL && iname[0] != '\0')
			printf(_("institution: %s (%s)\n"), inst, iname);
		else
			output_field(_("institution"), a->institution);
		output_field(_("kind"), a->institution_kind);
		output_field(_("departement"), a->departement);
		output_field(_("role"), output_role(a->role));
		output_field(_("certificate"), r->certificate_fingerprint);
		output_field(_("valid until"), until);
		free(inst);
		free(iname);
	}
	frame_msg_free(resp);
	return rc;
}

const struct cmd_entry cmd_whoami_entry = {
	.name = "whoami",
	.alias = NULL,
	.usage = "",
	.summary = N_("Show the account the server recognises from your "
		      "certificate"),
	.help = N_("Asks the server which account, institution and role your "
		   "client\n"
		   "certificate maps to, and shows the certificate's SHA-256 "
		   "fingerprint\n"
		   "and the end of its validity. The answer comes from the "
		   "server: it is\n"
		   "what the network knows you as, not what the local "
		   "configuration says.\n"
		   "\n"
		   "Example:\n"
		   "  $ maillage whoami\n"
		   "  login: ase\n"
		   "  institution: ase75 (Aide sociale à l'enfance de Paris)\n"
		   "  kind: child_welfare\n"
		   "  departement: 75\n"
		   "  role: partner\n"
		   "  certificate: 3f1c...e9\n"
		   "  valid until: 2027-11-28T17:00:00Z\n"),
	.exec = cmd_whoami_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.options = NULL,
	.min_args = 0,
	.max_args = 0,
};
