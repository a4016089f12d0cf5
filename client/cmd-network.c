/*
 * cmd-network: `maillage network list` and `maillage network show`, the
 * directory of the partner network that every account may read: each
 * institution's code, name, kind, département and contact point, whether
 * it is connected (has enabled accounts), when its staff last attended an
 * awareness session, and, when the network policy is on, whether that was
 * too long ago ("lapsed").
 */
#include "cmd.h"
#include "output.h"
#include "view.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static json_t *network_json_entry(const Maillage__NetworkEntry *e)
{
	json_t *o = json_pack(
		"{s:o, s:o, s:o, s:o, s:o, s:b, s:b, s:o, s:I, s:I, s:b}",
		"code", output_jstr(e->code), "name", output_jstr(e->name),
		"kind", output_jstr(e->kind), "departement",
		output_jstr(e->departement), "contact", output_jstr(e->contact),
		"enabled", (int)e->enabled, "connected", (int)e->connected,
		"last_trained", output_jstr(e->last_trained), "sessions",
		(json_int_t)e->sessions, "participants",
		(json_int_t)e->participants, "lapsed", (int)e->lapsed);

	return o;
}

/* ---- network list ----------------------------------------------------- */

static int network_list_json(const Maillage__NetworkListResult *r)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < r->n_institutions; i++) {
		if (json_array_append_new(
			    a, network_json_entry(r->institutions[i])) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	if (a == NULL)
		return output_json(NULL);
	return output_json(json_pack("{s:o, s:I}", "institutions", a,
				     "lapse_years",
				     (json_int_t)r->lapse_years));
}

static int network_list_text(const Maillage__NetworkListResult *r)
{
	static const char *const headers[] = {
		N_("CODE"),    N_("KIND"),     N_("DEP"),  N_("CONNECTED"),
		N_("TRAINED"), N_("SESSIONS"), N_("NAME"), N_("CONTACT"),
	};
	static const char *const headers_policy[] = {
		N_("CODE"),	 N_("KIND"),	N_("DEP"),
		N_("CONNECTED"), N_("TRAINED"), N_("SESSIONS"),
		N_("LAPSED"),	 N_("NAME"),	N_("CONTACT"),
	};
	int policy = r->lapse_years > 0;
	size_t ncols = policy ? 9 : 8, i;
	struct view_table *t;

	if (r->n_institutions == 0) {
		printf(_("No institutions.\n"));
		return MAILLAGE_EXIT_OK;
	}
	t = view_table_new(ncols, policy ? headers_policy : headers);
	if (t == NULL)
		goto oom;
	for (i = 0; i < r->n_institutions; i++) {
		const Maillage__NetworkEntry *e = r->institutions[i];
		const char *cells[9];
		char sessions[16];
		size_t k = 0;

		snprintf(sessions, sizeof(sessions), "%" PRIu32, e->sessions);
		cells[k++] = e->code;
		cells[k++] = e->kind;
		cells[k++] = e->departement;
		cells[k++] = e->connected ? _("yes") : _("no");
		cells[k++] = e->last_trained[0] != '\0' ? e->last_trained
							: _("never");
		cells[k++] = sessions;
		if (policy)
			cells[k++] = e->lapsed ? _("yes") : _("no");
		cells[k++] = e->name;
		cells[k++] = e->contact;
		if (view_table_add(t, cells) != 0)
			goto oom;
	}
	view_table_print(t, 0, 1);
	view_table_free(t);
	if (policy)
		printf("\nLapsed: none of its staff attended a session in the "
		       "last %" PRIu32 " years.\n",
		       r->lapse_years);
	return MAILLAGE_EXIT_OK;
oom:
	view_table_free(t);
	output_warnx(_("out of memory"));
	return MAILLAGE_EXIT_UNAVAILABLE;
}

static int cmd_network_list_check(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *dep = cmd_opt_value(ctx, "departement");

	(void)argc;
	(void)argv;
	if (dep != NULL && (strlen(dep) < 2 || strlen(dep) > 3))
		return cmd_usage_error(ctx, _("--departement is a département "
					      "code: 75, 93, 2A..."));
	return MAILLAGE_EXIT_OK;
}

/*
 * The directory's codes, one a line, in $XDG_CACHE_HOME/maillage/institutions
 * (else ~/.cache/...), for shell completion. Best effort: a failure is
 * silent, and only plain codes (a-z, 0-9, '_', '-') are written.
 */
static void network_cache_write(const Maillage__NetworkListResult *r)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char dir[4096], path[4200], tmp[4300];
	FILE *fp;
	size_t i;
	int fd;

	if (xdg != NULL && xdg[0] == '/')
		snprintf(dir, sizeof(dir), "%s/maillage", xdg);
	else if (home != NULL && home[0] == '/')
		snprintf(dir, sizeof(dir), "%s/.cache/maillage", home);
	else
		return;
	if (strlen(dir) > sizeof(dir) - 2)
		return;
	snprintf(path, sizeof(path), "%.*s", (int)(strrchr(dir, '/') - dir),
		 dir);
	(void)mkdir(path, 0700);
	(void)mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/institutions", dir);
	snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	fp = fdopen(fd, "w");
	if (fp == NULL) {
		close(fd);
		unlink(tmp);
		return;
	}
	for (i = 0; i < r->n_institutions; i++) {
		const char *c = r->institutions[i]->code;

		if (c[0] != '\0' &&
		    c[strspn(c, "abcdefghijklmnopqrstuvwxyz0123456789_-")] ==
			    '\0')
			fprintf(fp, "%s\n", c);
	}
	if (fclose(fp) != 0 || rename(tmp, path) != 0)
		unlink(tmp);
}

static int cmd_network_list_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__NetworkList nl = MAILLAGE__NETWORK_LIST__INIT;
	struct frame_msg *resp = NULL;
	const char *v;
	struct cerr err;
	int rc;

	(void)argc;
	(void)argv;
	if ((v = cmd_opt_value(ctx, "kind")) != NULL)
		nl.kind = (char *)v;
	if ((v = cmd_opt_value(ctx, "departement")) != NULL)
		nl.departement = (char *)v;
	req.body_case = MAILLAGE__ENVELOPE__BODY_NETWORK_LIST;
	req.network_list = &nl;
	if (net_call(ctx->conn, &req,
		     MAILLAGE__ENVELOPE__BODY_NETWORK_LIST_RESULT, &resp,
		     &err) != 0)
		return cmd_fail(ctx, &err);
	if (!cmd_opt_isset(ctx, "kind") && !cmd_opt_isset(ctx, "departement"))
		network_cache_write(resp->env->network_list_result);
	if (ctx->json)
		rc = network_list_json(resp->env->network_list_result);
	else
		rc = network_list_text(resp->env->network_list_result);
	frame_msg_free(resp);
	return rc;
}

static const struct cmd_option cmd_network_list_options[] = {
	{"kind", 'k', "KIND",
	 N_("only institutions of this kind (association, "
	    "child_welfare, police...)")},
	{"departement", 'd', "DEP",
	 N_("only institutions of this département")},
	{NULL, 0, NULL, NULL},
};

const struct cmd_entry cmd_network_list_entry = {
	.name = "network list",
	.alias = NULL,
	.usage = "[--kind KIND] [--departement DEP]",
	.summary = N_("List the institutions of the partner network"),
	.help = N_(
		"Lists the enabled institutions of the network, by "
		"département and kind:\n"
		"code, kind, département, whether the institution is "
		"connected (it has\n"
		"enabled accounts), the date its staff last attended an "
		"awareness session\n"
		"and how many they attended, its name and contact point. "
		"Every account\n"
		"may read the directory. When the network policy is on "
		"(see README), a\n"
		"LAPSED column tells the institutions none of whose staff "
		"attended a\n"
		"session in the policy's number of years.\n"
		"\n"
		"Kinds: association, child_welfare, youth_justice, police, "
		"gendarmerie,\n"
		"court, lawyer, health, education, other.\n"
		"\n"
		"With --json: {\"institutions\": [{\"code\", \"name\", "
		"\"kind\", \"departement\",\n"
		"\"contact\", \"enabled\", \"connected\", \"last_trained\", "
		"\"sessions\",\n"
		"\"participants\", \"lapsed\"}], \"lapse_years\"} "
		"(lapse_years 0: the\n"
		"policy is off).\n"
		"\n"
		"Example:\n"
		"  $ maillage network list --departement 75\n"
		"  CODE   KIND           DEP  CONNECTED  TRAINED     SESSIONS  "
		"NAME\n"
		"  hlr    association    75   yes        never       0         "
		"Hors la rue\n"
		"  ase75  child_welfare  75   yes        2021-03-10  2         "
		"Aide sociale...\n"),
	.exec = cmd_network_list_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_network_list_check,
	.options = cmd_network_list_options,
	.min_args = 0,
	.max_args = 0,
};

/* ---- network show ----------------------------------------------------- */

static void network_show_text(const Maillage__NetworkShowResult *r)
{
	const Maillage__NetworkEntry *e = r->institution;
	char n[32];

	output_field(_("institution"), e->code);
	output_field(_("name"), e->name);
	output_field(_("kind"), e->kind);
	output_field(_("departement"), e->departement);
	output_field(_("contact"), e->contact[0] != '\0' ? e->contact : "-");
	output_field(_("enabled"), e->enabled ? _("yes") : _("no"));
	output_field(_("connected"), e->connected ? _("yes") : _("no"));
	output_field(_("last trained"),
		     e->last_trained[0] != '\0' ? e->last_trained : _("never"));
	snprintf(n, sizeof(n), "%" PRIu32, e->sessions);
	output_field(_("sessions attended"), n);
	snprintf(n, sizeof(n), "%" PRIu32, e->participants);
	output_field(_("people trained"), n);
	if (r->lapse_years > 0) {
		snprintf(n, sizeof(n), "%s (policy: %" PRIu32 " years)",
			 e->lapsed ? _("yes") : _("no"), r->lapse_years);
		output_field(_("lapsed"), n);
	}
}

static int cmd_network_show_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__NetworkShow ns = MAILLAGE__NETWORK_SHOW__INIT;
	const Maillage__NetworkShowResult *r;
	struct frame_msg *resp = NULL;
	struct cerr err;
	int rc = MAILLAGE_EXIT_OK;

	(void)argc;
	ns.code = argv[0];
	req.body_case = MAILLAGE__ENVELOPE__BODY_NETWORK_SHOW;
	req.network_show = &ns;
	if (net_call(ctx->conn, &req,
		     MAILLAGE__ENVELOPE__BODY_NETWORK_SHOW_RESULT, &resp,
		     &err) != 0)
		return cmd_fail(ctx, &err);
	r = resp->env->network_show_result;
	if (r->institution == NULL) {
		output_warnx(_("the server answered without the institution"));
		rc = MAILLAGE_EXIT_UNAVAILABLE;
	} else if (ctx->json) {
		json_t *o = network_json_entry(r->institution);

		if (o != NULL &&
		    json_object_set_new(o, "lapse_years",
					json_integer(r->lapse_years)) != 0) {
			json_decref(o);
			o = NULL;
		}
		rc = output_json(o);
	} else {
		network_show_text(r);
	}
	frame_msg_free(resp);
	return rc;
}

const struct cmd_entry cmd_network_show_entry = {
	.name = "network show",
	.alias = NULL,
	.usage = "CODE",
	.summary = N_("Show one institution of the partner network"),
	.help = N_(
		"Shows an institution of the directory, enabled or not: "
		"code, name, kind,\n"
		"département, contact point, whether it is enabled and "
		"connected (it has\n"
		"enabled accounts), when its staff last attended an awareness "
		"session,\n"
		"how many sessions they attended and how many people were "
		"trained, and,\n"
		"when the network policy is on, whether its training has "
		"lapsed.\n"
		"\n"
		"With --json: {\"code\", \"name\", \"kind\", \"departement\", "
		"\"contact\",\n"
		"\"enabled\", \"connected\", \"last_trained\", \"sessions\", "
		"\"participants\",\n"
		"\"lapsed\", \"lapse_years\"}.\n"
		"\n"
		"Example:\n"
		"  $ maillage network show police75\n"
		"  institution: police75\n"
		"  name: Brigade de protection des mineurs de Paris\n"
		"  kind: police\n"
		"  ...\n"),
	.exec = cmd_network_show_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = NULL,
	.options = NULL,
	.min_args = 1,
	.max_args = 1,
};
