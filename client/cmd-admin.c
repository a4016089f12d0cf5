/*
 * cmd-admin: the `maillage admin ...` commands, for accounts of role admin:
 * the institutions of the network (add, list, disable, enable) and their
 * accounts (add, list, disable, enable, rotate: bind to another
 * certificate). This module owns reading the certificate an admin gives
 * (the first PEM CERTIFICATE block of the file, alone: a private key in the
 * same file is never sent), the paging of the lists (the commands ask
 * until the server says there is no more), and the rendering of
 * institutions and accounts as text and as JSON (keys named as in the
 * protocol). Whether a certificate is acceptable is the server's to judge
 * (issued by the network CA, a client certificate, not expired): it
 * answers BAD_REQUEST on "cert" saying why.
 */
#include "cmd.h"
#include "output.h"
#include "view.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define ADMIN_CERT_FILE_MAX 65536u
#define ADMIN_PAGES_MAX 100000u

static const char admin_pem_begin[] = "-----BEGIN CERTIFICATE-----";
static const char admin_pem_end[] = "-----END CERTIFICATE-----";

static int admin_oom(void)
{
	output_warnx(_("out of memory"));
	return MAILLAGE_EXIT_UNAVAILABLE;
}

static const char *admin_yes(int b)
{
	return b ? _("yes") : _("no");
}

/* ---- the certificate ------------------------------------------------- */

static void admin_free_data(void *data)
{
	free(data);
}

/*
 * Read the certificate of option --cert into ctx->data: the first PEM
 * certificate block of the file, and nothing else. Before any connection.
 */
static int admin_read_cert(struct cmd_ctx *ctx)
{
	const char *path = cmd_opt_value(ctx, "cert");
	char p[256], *buf, *begin, *end, *pem;
	size_t len, n;
	FILE *fp;

	if (path == NULL)
		return cmd_usage_error(ctx, _("--cert FILE.pem is required"));
	output_clean(p, sizeof(p), path);
	fp = fopen(path, "rb");
	if (fp == NULL)
		return cmd_usage_error(ctx, _("cannot read %s: %s"), p,
				       strerror(errno));
	buf = malloc(ADMIN_CERT_FILE_MAX + 1);
	if (buf == NULL) {
		fclose(fp);
		return admin_oom();
	}
	len = fread(buf, 1, ADMIN_CERT_FILE_MAX + 1, fp);
	n = ferror(fp);
	fclose(fp);
	if (n != 0 || len > ADMIN_CERT_FILE_MAX) {
		free(buf);
		return cmd_usage_error(ctx, "%s: %s", p,
				       n != 0 ? _("read error")
					      : _("larger than 64 KiB: not a "
						  "certificate"));
	}
	buf[len] = '\0';
	begin = memchr(buf, '\0', len) == NULL ? strstr(buf, admin_pem_begin)
					       : NULL;
	end = begin != NULL ? strstr(begin, admin_pem_end) : NULL;
	if (begin == NULL || end == NULL) {
		free(buf);
		return cmd_usage_error(
			ctx,
			_("%s holds no PEM certificate (-----BEGIN "
			  "CERTIFICATE-----)"),
			p);
	}
	end += strlen(admin_pem_end);
	n = (size_t)(end - begin);
	pem = malloc(n + 2);
	if (pem == NULL) {
		free(buf);
		return admin_oom();
	}
	memcpy(pem, begin, n);
	pem[n] = '\n';
	pem[n + 1] = '\0';
	free(buf);
	ctx->data = pem;
	ctx->data_free = admin_free_data;
	return MAILLAGE_EXIT_OK;
}

/* ---- institutions ---------------------------------------------------- */

static json_t *admin_json_institution(const Maillage__AdminInstitution *e)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:b, s:I, s:I, s:o, s:o}",
			 "code", output_jstr(e->code), "name",
			 output_jstr(e->name), "kind", output_jstr(e->kind),
			 "departement", output_jstr(e->departement), "contact",
			 output_jstr(e->contact), "enabled", (int)e->enabled,
			 "accounts", (json_int_t)e->accounts,
			 "enabled_accounts", (json_int_t)e->enabled_accounts,
			 "created_at", output_jstr(e->created_at), "updated_at",
			 output_jstr(e->updated_at));
}

static void admin_text_institution(const Maillage__AdminInstitution *e)
{
	char n[64];

	output_field(_("institution"), e->code);
	output_field(_("name"), e->name);
	output_field(_("kind"), e->kind);
	output_field(_("departement"), e->departement);
	output_field(_("contact"), e->contact[0] != '\0' ? e->contact : "-");
	output_field(_("enabled"), admin_yes(e->enabled));
	snprintf(n, sizeof(n), "%" PRIu32 " (%" PRIu32 " enabled)", e->accounts,
		 e->enabled_accounts);
	output_field(_("accounts"), n);
	output_field(_("created"), e->created_at);
	output_field(_("updated"), e->updated_at);
}

/* Send `req`, expect an AdminInstitutionResult, print it. */
static int admin_institution_call(struct cmd_ctx *ctx, Maillage__Envelope *req,
				  const char *done)
{
	const Maillage__AdminInstitutionResult *r;
	struct frame_msg *resp = NULL;
	struct cerr err;
	int rc = MAILLAGE_EXIT_OK;

	if (net_call(ctx->conn, req,
		     MAILLAGE__ENVELOPE__BODY_ADMIN_INSTITUTION_RESULT, &resp,
		     &err) != 0)
		return cmd_fail(ctx, &err);
	r = resp->env->admin_institution_result;
	if (r->institution == NULL) {
		output_warnx(_("the server answered without the institution"));
		rc = MAILLAGE_EXIT_UNAVAILABLE;
	} else if (ctx->json) {
		json_t *o = admin_json_institution(r->institution);

		if (o != NULL &&
		    json_object_set_new(o, "changed",
					json_boolean(r->changed)) != 0) {
			json_decref(o);
			o = NULL;
		}
		rc = output_json(o);
	} else {
		char code[80];

		printf(_("institution %s %s%s\n"),
		       output_clean(code, sizeof(code), r->institution->code),
		       done, r->changed ? "" : _(" (no change)"));
		admin_text_institution(r->institution);
	}
	frame_msg_free(resp);
	return rc;
}

static int cmd_admin_institution_add_check(struct cmd_ctx *ctx, int argc,
					   char **argv)
{
	(void)argc;
	(void)argv;
	if (cmd_opt_value(ctx, "name") == NULL ||
	    cmd_opt_value(ctx, "kind") == NULL ||
	    cmd_opt_value(ctx, "departement") == NULL)
		return cmd_usage_error(ctx,
				       _("--name, --kind and --departement "
					 "are required"));
	return MAILLAGE_EXIT_OK;
}

static int cmd_admin_institution_add_exec(struct cmd_ctx *ctx, int argc,
					  char **argv)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__AdminInstitutionAdd m = MAILLAGE__ADMIN_INSTITUTION_ADD__INIT;
	const char *v;

	(void)argc;
	m.code = argv[0];
	m.name = (char *)cmd_opt_value(ctx, "name");
	m.kind = (char *)cmd_opt_value(ctx, "kind");
	m.departement = (char *)cmd_opt_value(ctx, "departement");
	if ((v = cmd_opt_value(ctx, "contact")) != NULL)
		m.contact = (char *)v;
	req.body_case = MAILLAGE__ENVELOPE__BODY_ADMIN_INSTITUTION_ADD;
	req.admin_institution_add = &m;
	return admin_institution_call(ctx, &req, _("added"));
}

static const struct cmd_option cmd_admin_institution_add_options[] = {
	{"name", 'n', "NAME",
	 N_("its name (one line, at most 200 characters)")},
	{"kind", 'k', "KIND",
	 N_("association, child_welfare, youth_justice, police, gendarmerie, "
	    "court, lawyer, health, education or other")},
	{"departement", 'd', "DEP", N_("its département: 75, 974, 2A...")},
	{"contact", 0, "TEXT", N_("a contact point (a function or a service)")},
	{NULL, 0, NULL, NULL},
};

const struct cmd_entry cmd_admin_institution_add_entry = {
	.name = "admin institution add",
	.alias = NULL,
	.usage = "CODE --name NAME --kind KIND --departement DEP "
		 "[--contact TEXT]",
	.summary = N_("Add an institution to the network (admin)"),
	.help = N_(
		"Adds an institution, enabled, without accounts yet (see "
		"'admin account add').\n"
		"CODE is 2 to 32 characters among a-z, 0-9, '_' and '-'; it "
		"cannot change\n"
		"later. An existing code is a CONFLICT.\n"
		"\n"
		"With --json: the institution {\"code\", \"name\", \"kind\", "
		"\"departement\",\n"
		"\"contact\", \"enabled\", \"accounts\", \"enabled_accounts\", "
		"\"created_at\",\n"
		"\"updated_at\"} and \"changed\".\n"
		"\n"
		"Example:\n"
		"  $ maillage admin institution add mna93 --name \"Accueil "
		"MNA Seine-Saint-Denis\" \\\n"
		"        --kind association --departement 93\n"
		"  institution mna93 added\n"
		"  ...\n"),
	.exec = cmd_admin_institution_add_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_admin_institution_add_check,
	.options = cmd_admin_institution_add_options,
	.min_args = 1,
	.max_args = 1,
};

static int admin_institution_set(struct cmd_ctx *ctx, const char *code,
				 int enabled)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__AdminInstitutionSet m = MAILLAGE__ADMIN_INSTITUTION_SET__INIT;

	m.code = (char *)code;
	m.enabled = enabled;
	req.body_case = MAILLAGE__ENVELOPE__BODY_ADMIN_INSTITUTION_SET;
	req.admin_institution_set = &m;
	return admin_institution_call(ctx, &req,
				      enabled ? _("enabled") : _("disabled"));
}

static int cmd_admin_institution_disable_exec(struct cmd_ctx *ctx, int argc,
					      char **argv)
{
	(void)argc;
	return admin_institution_set(ctx, argv[0], 0);
}

static int cmd_admin_institution_enable_exec(struct cmd_ctx *ctx, int argc,
					     char **argv)
{
	(void)argc;
	return admin_institution_set(ctx, argv[0], 1);
}

const struct cmd_entry cmd_admin_institution_disable_entry = {
	.name = "admin institution disable",
	.alias = NULL,
	.usage = "CODE",
	.summary = N_("Disable an institution: none of its accounts may "
		      "connect (admin)"),
	.help = N_(
		"Disables the institution: its accounts can no longer "
		"connect, and those\n"
		"connected are cut at once, on every instance of the server "
		"(they receive\n"
		"UNAUTHENTICATED \"institution disabled\"). Its cases, notices "
		"and audit\n"
		"records stay. An admin cannot disable their own institution "
		"(CONFLICT).\n"
		"Disabling again is no error (\"no change\").\n"
		"\n"
		"Example:\n"
		"  $ maillage admin institution disable mna93\n"
		"  institution mna93 disabled\n"
		"  ...\n"),
	.exec = cmd_admin_institution_disable_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = NULL,
	.options = NULL,
	.min_args = 1,
	.max_args = 1,
};

const struct cmd_entry cmd_admin_institution_enable_entry = {
	.name = "admin institution enable",
	.alias = NULL,
	.usage = "CODE",
	.summary = N_("Enable an institution again (admin)"),
	.help = N_("Enables the institution: its enabled accounts may connect "
		   "again.\n"
		   "\n"
		   "Example:\n"
		   "  $ maillage admin institution enable mna93\n"
		   "  institution mna93 enabled\n"
		   "  ...\n"),
	.exec = cmd_admin_institution_enable_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = NULL,
	.options = NULL,
	.min_args = 1,
	.max_args = 1,
};

static int admin_institution_list_print(struct cmd_ctx *ctx,
					struct frame_msg **pages, size_t npages)
{
	static const char *const headers[] = {N_("CODE"),     N_("KIND"),
					      N_("DEP"),      N_("ENABLED"),
					      N_("ACCOUNTS"), N_("NAME")};
	struct view_table *t = NULL;
	json_t *a = NULL;
	size_t p, i, n = 0;

	if (ctx->json && (a = json_array()) == NULL)
		return admin_oom();
	if (!ctx->json && (t = view_table_new(6, headers)) == NULL)
		return admin_oom();
	for (p = 0; p < npages; p++) {
		const Maillage__AdminInstitutionListResult *r =
			pages[p]->env->admin_institution_list_result;

		for (i = 0; i < r->n_institutions; i++, n++) {
			const Maillage__AdminInstitution *e =
				r->institutions[i];
			char acc[32];
			const char *cells[6];

			if (a != NULL) {
				if (json_array_append_new(
					    a, admin_json_institution(e)) != 0)
					goto oom;
				continue;
			}
			snprintf(acc, sizeof(acc), "%" PRIu32 "/%" PRIu32,
				 e->enabled_accounts, e->accounts);
			cells[0] = e->code;
			cells[1] = e->kind;
			cells[2] = e->departement;
			cells[3] = admin_yes(e->enabled);
			cells[4] = acc;
			cells[5] = e->name;
			if (view_table_add(t, cells) != 0)
				goto oom;
		}
	}
	if (a != NULL)
		return output_json(json_pack("{s:o}", "institutions", a));
	if (n == 0)
		printf(_("No institutions.\n"));
	else
		view_table_print(t, 0, 1);
	view_table_free(t);
	return MAILLAGE_EXIT_OK;
oom:
	json_decref(a);
	view_table_free(t);
	return admin_oom();
}

/* Free the pages of a list. */
static void admin_pages_free(struct frame_msg **pages, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		frame_msg_free(pages[i]);
	free(pages);
}

/* Append `m` to the pages; 0, or -1 when out of memory (m freed). */
static int admin_pages_push(struct frame_msg ***pages, size_t *n,
			    struct frame_msg *m)
{
	struct frame_msg **np = realloc(*pages, (*n + 1) * sizeof(*np));

	if (np == NULL) {
		frame_msg_free(m);
		return -1;
	}
	np[(*n)++] = m;
	*pages = np;
	return 0;
}

static int cmd_admin_institution_list_exec(struct cmd_ctx *ctx, int argc,
					   char **argv)
{
	struct frame_msg **pages = NULL, *resp;
	char after[64] = "";
	size_t npages = 0;
	struct cerr err;
	int rc;

	(void)argc;
	(void)argv;
	for (;;) {
		Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
		Maillage__AdminInstitutionList m =
			MAILLAGE__ADMIN_INSTITUTION_LIST__INIT;
		const Maillage__AdminInstitutionListResult *r;

		m.after = after;
		req.body_case = MAILLAGE__ENVELOPE__BODY_ADMIN_INSTITUTION_LIST;
		req.admin_institution_list = &m;
		if (net_call(
			    ctx->conn, &req,
			    MAILLAGE__ENVELOPE__BODY_ADMIN_INSTITUTION_LIST_RESULT,
			    &resp, &err) != 0) {
			admin_pages_free(pages, npages);
			return cmd_fail(ctx, &err);
		}
		if (admin_pages_push(&pages, &npages, resp) != 0) {
			admin_pages_free(pages, npages);
			return admin_oom();
		}
		r = resp->env->admin_institution_list_result;
		if (!r->more)
			break;
		if (r->n_institutions == 0 || npages >= ADMIN_PAGES_MAX) {
			admin_pages_free(pages, npages);
			output_warnx(
				_("the server keeps saying there is more"));
			return MAILLAGE_EXIT_UNAVAILABLE;
		}
		snprintf(after, sizeof(after), "%s",
			 r->institutions[r->n_institutions - 1]->code);
	}
	rc = admin_institution_list_print(ctx, pages, npages);
	admin_pages_free(pages, npages);
	return rc;
}

const struct cmd_entry cmd_admin_institution_list_entry = {
	.name = "admin institution list",
	.alias = NULL,
	.usage = "",
	.summary = N_("List every institution, enabled or not (admin)"),
	.help = N_(
		"Lists the institutions of the network by code, enabled or "
		"not, with\n"
		"their accounts (enabled/all).\n"
		"\n"
		"With --json: {\"institutions\": [{\"code\", \"name\", "
		"\"kind\", \"departement\",\n"
		"\"contact\", \"enabled\", \"accounts\", \"enabled_accounts\", "
		"\"created_at\",\n"
		"\"updated_at\"}]}.\n"
		"\n"
		"Example:\n"
		"  $ maillage admin institution list\n"
		"  CODE   KIND           DEP  ENABLED  ACCOUNTS  NAME\n"
		"  ase75  child_welfare  75   yes      1/1       Aide sociale "
		"à l'enfance...\n"
		"  hlr    association    75   yes      3/3       Hors la "
		"rue\n"),
	.exec = cmd_admin_institution_list_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = NULL,
	.options = NULL,
	.min_args = 0,
	.max_args = 0,
};

/* ---- accounts -------------------------------------------------------- */

static json_t *admin_json_account(const Maillage__AdminAccount *e)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:b, s:b, s:o, s:o, s:o, s:o}",
			 "login", output_jstr(e->login), "institution",
			 output_jstr(e->institution), "role",
			 output_jstr(e->role), "display_name",
			 output_jstr(e->display_name), "enabled",
			 (int)e->enabled, "institution_enabled",
			 (int)e->institution_enabled, "cert_fingerprint",
			 output_jstr(e->cert_fingerprint), "cert_not_after",
			 output_jstr(e->cert_not_after), "created_at",
			 output_jstr(e->created_at), "updated_at",
			 output_jstr(e->updated_at));
}

static void admin_text_account(const Maillage__AdminAccount *e)
{
	output_field(_("login"), e->login);
	output_field(_("institution"), e->institution);
	output_field(_("role"), e->role);
	output_field(_("display name"),
		     e->display_name[0] != '\0' ? e->display_name : "-");
	output_field(_("enabled"), admin_yes(e->enabled));
	output_field(_("institution enabled"),
		     admin_yes(e->institution_enabled));
	output_field(_("certificate"), e->cert_fingerprint);
	output_field(_("certificate valid until"), e->cert_not_after[0] != '\0'
							   ? e->cert_not_after
							   : _("unknown"));
	output_field(_("created"), e->created_at);
	output_field(_("updated"), e->updated_at);
}

/* Send `req`, expect an AdminAccountResult, print it. */
static int admin_account_call(struct cmd_ctx *ctx, Maillage__Envelope *req,
			      const char *done)
{
	const Maillage__AdminAccountResult *r;
	struct frame_msg *resp = NULL;
	struct cerr err;
	int rc = MAILLAGE_EXIT_OK;

	if (net_call(ctx->conn, req,
		     MAILLAGE__ENVELOPE__BODY_ADMIN_ACCOUNT_RESULT, &resp,
		     &err) != 0)
		return cmd_fail(ctx, &err);
	r = resp->env->admin_account_result;
	if (r->account == NULL) {
		output_warnx(_("the server answered without the account"));
		rc = MAILLAGE_EXIT_UNAVAILABLE;
	} else if (ctx->json) {
		json_t *o = admin_json_account(r->account);

		if (o != NULL &&
		    json_object_set_new(o, "changed",
					json_boolean(r->changed)) != 0) {
			json_decref(o);
			o = NULL;
		}
		rc = output_json(o);
	} else {
		char login[80];

		printf(_("account %s %s%s\n"),
		       output_clean(login, sizeof(login), r->account->login),
		       done, r->changed ? "" : _(" (no change)"));
		admin_text_account(r->account);
	}
	frame_msg_free(resp);
	return rc;
}

static int cmd_admin_account_add_check(struct cmd_ctx *ctx, int argc,
				       char **argv)
{
	(void)argc;
	(void)argv;
	if (cmd_opt_value(ctx, "institution") == NULL ||
	    cmd_opt_value(ctx, "role") == NULL)
		return cmd_usage_error(ctx,
				       _("--institution, --role and --cert "
					 "are required"));
	return admin_read_cert(ctx);
}

static int cmd_admin_account_add_exec(struct cmd_ctx *ctx, int argc,
				      char **argv)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__AdminAccountAdd m = MAILLAGE__ADMIN_ACCOUNT_ADD__INIT;
	const char *v;

	(void)argc;
	m.login = argv[0];
	m.institution = (char *)cmd_opt_value(ctx, "institution");
	m.role = (char *)cmd_opt_value(ctx, "role");
	m.cert = ctx->data;
	if ((v = cmd_opt_value(ctx, "display-name")) != NULL)
		m.display_name = (char *)v;
	req.body_case = MAILLAGE__ENVELOPE__BODY_ADMIN_ACCOUNT_ADD;
	req.admin_account_add = &m;
	return admin_account_call(ctx, &req, _("added"));
}

static const struct cmd_option cmd_admin_account_add_options[] = {
	{"institution", 'i', "CODE", N_("the institution it acts for")},
	{"role", 'r', "ROLE", N_("partner, coordinator, auditor or admin")},
	{"cert", 0, "FILE.pem",
	 N_("its client certificate, issued by the network CA")},
	{"display-name", 0, "NAME", N_("who it is (one line)")},
	{NULL, 0, NULL, NULL},
};

const struct cmd_entry cmd_admin_account_add_entry = {
	.name = "admin account add",
	.alias = NULL,
	.usage = "LOGIN --institution CODE --role ROLE --cert FILE.pem "
		 "[--display-name NAME]",
	.summary = N_("Add an account bound to a client certificate (admin)"),
	.help = N_(
		"Adds an account, enabled, of the institution CODE, bound to "
		"the client\n"
		"certificate in FILE.pem by the SHA-256 fingerprint of its DER "
		"form. Only\n"
		"the first certificate of the file is sent (never a private "
		"key). The\n"
		"server refuses, naming the field \"cert\", a certificate that "
		"is not\n"
		"issued by the network CA, is not a client certificate, is "
		"expired or\n"
		"revoked, or is bound to another account already (CONFLICT). "
		"LOGIN is 2\n"
		"to 64 characters among a-z, 0-9, '.', '_' and '-'; an "
		"existing login is\n"
		"a CONFLICT. Issue the certificate with deploy/pki client "
		"(README).\n"
		"\n"
		"With --json: the account {\"login\", \"institution\", "
		"\"role\", \"display_name\",\n"
		"\"enabled\", \"institution_enabled\", \"cert_fingerprint\", "
		"\"cert_not_after\",\n"
		"\"created_at\", \"updated_at\"} and \"changed\".\n"
		"\n"
		"Example:\n"
		"  $ maillage admin account add educ93 --institution mna93 "
		"--role partner \\\n"
		"        --cert educ93.crt --display-name \"Éducatrice, "
		"accueil de jour\"\n"
		"  account educ93 added\n"
		"  ...\n"),
	.exec = cmd_admin_account_add_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_admin_account_add_check,
	.options = cmd_admin_account_add_options,
	.min_args = 1,
	.max_args = 1,
};

static int admin_account_set(struct cmd_ctx *ctx, const char *login,
			     int enabled)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__AdminAccountSet m = MAILLAGE__ADMIN_ACCOUNT_SET__INIT;

	m.login = (char *)login;
	m.enabled = enabled;
	req.body_case = MAILLAGE__ENVELOPE__BODY_ADMIN_ACCOUNT_SET;
	req.admin_account_set = &m;
	return admin_account_call(ctx, &req,
				  enabled ? _("enabled") : _("disabled"));
}

static int cmd_admin_account_disable_exec(struct cmd_ctx *ctx, int argc,
					  char **argv)
{
	(void)argc;
	return admin_account_set(ctx, argv[0], 0);
}

static int cmd_admin_account_enable_exec(struct cmd_ctx *ctx, int argc,
					 char **argv)
{
	(void)argc;
	return admin_account_set(ctx, argv[0], 1);
}

const struct cmd_entry cmd_admin_account_disable_entry = {
	.name = "admin account disable",
	.alias = NULL,
	.usage = "LOGIN",
	.summary = N_("Disable an account and cut its connections (admin)"),
	.help = N_("Disables the account: its certificate no longer opens a "
		   "session, and its\n"
		   "live connections are cut at once, on every instance of the "
		   "server (they\n"
		   "receive UNAUTHENTICATED \"account disabled\"). An admin "
		   "cannot disable\n"
		   "their own account (CONFLICT). Disabling again is no error "
		   "(\"no change\").\n"
		   "\n"
		   "Example:\n"
		   "  $ maillage admin account disable educ93\n"
		   "  account educ93 disabled\n"
		   "  ...\n"),
	.exec = cmd_admin_account_disable_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = NULL,
	.options = NULL,
	.min_args = 1,
	.max_args = 1,
};

const struct cmd_entry cmd_admin_account_enable_entry = {
	.name = "admin account enable",
	.alias = NULL,
	.usage = "LOGIN",
	.summary = N_("Enable an account again (admin)"),
	.help = N_("Enables the account: its certificate opens sessions again "
		   "(if its\n"
		   "institution is enabled).\n"
		   "\n"
		   "Example:\n"
		   "  $ maillage admin account enable educ93\n"
		   "  account educ93 enabled\n"
		   "  ...\n"),
	.exec = cmd_admin_account_enable_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = NULL,
	.options = NULL,
	.min_args = 1,
	.max_args = 1,
};

static int cmd_admin_account_rotate_check(struct cmd_ctx *ctx, int argc,
					  char **argv)
{
	(void)argc;
	(void)argv;
	return admin_read_cert(ctx);
}

static int cmd_admin_account_rotate_exec(struct cmd_ctx *ctx, int argc,
					 char **argv)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__AdminAccountRotate m = MAILLAGE__ADMIN_ACCOUNT_ROTATE__INIT;

	(void)argc;
	m.login = argv[0];
	m.cert = ctx->data;
	req.body_case = MAILLAGE__ENVELOPE__BODY_ADMIN_ACCOUNT_ROTATE;
	req.admin_account_rotate = &m;
	return admin_account_call(ctx, &req, _("bound to a new certificate"));
}

static const struct cmd_option cmd_admin_account_rotate_options[] = {
	{"cert", 0, "FILE.pem",
	 N_("the new client certificate, issued by the network CA")},
	{NULL, 0, NULL, NULL},
};

const struct cmd_entry cmd_admin_account_rotate_entry = {
	.name = "admin account rotate",
	.alias = NULL,
	.usage = "LOGIN --cert FILE.pem",
	.summary = N_("Bind an account to another certificate (admin)"),
	.help = N_(
		"Binds the account to the client certificate in FILE.pem "
		"(renewal, or a\n"
		"lost or compromised key): the old certificate stops working "
		"at once and\n"
		"the connections made with it are cut on every instance "
		"(\"certificate\n"
		"replaced\"). The certificate is checked as for 'admin account "
		"add'. An\n"
		"admin's own certificate is replaced by another admin "
		"(CONFLICT), or on\n"
		"the server host with maillaged bootstrap-admin (README). "
		"Revoke the old\n"
		"certificate too (deploy/pki revoke) when its key may be "
		"compromised.\n"
		"\n"
		"Example:\n"
		"  $ maillage admin account rotate educ93 --cert "
		"educ93-2027.crt\n"
		"  account educ93 bound to a new certificate\n"
		"  ...\n"),
	.exec = cmd_admin_account_rotate_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_admin_account_rotate_check,
	.options = cmd_admin_account_rotate_options,
	.min_args = 1,
	.max_args = 1,
};

static int admin_account_list_print(struct cmd_ctx *ctx,
				    struct frame_msg **pages, size_t npages)
{
	static const char *const headers[] = {
		N_("LOGIN"),	   N_("INSTITUTION"), N_("ROLE"),
		N_("ENABLED"),	   N_("CERTIFICATE"), N_("VALID UNTIL"),
		N_("DISPLAY NAME")};
	struct view_table *t = NULL;
	json_t *a = NULL;
	size_t p, i, n = 0;

	if (ctx->json && (a = json_array()) == NULL)
		return admin_oom();
	if (!ctx->json && (t = view_table_new(7, headers)) == NULL)
		return admin_oom();
	for (p = 0; p < npages; p++) {
		const Maillage__AdminAccountListResult *r =
			pages[p]->env->admin_account_list_result;

		for (i = 0; i < r->n_accounts; i++, n++) {
			const Maillage__AdminAccount *e = r->accounts[i];
			char fp[24], until[16];
			const char *cells[7];

			if (a != NULL) {
				if (json_array_append_new(
					    a, admin_json_account(e)) != 0)
					goto oom;
				continue;
			}
			/* enough of the fingerprint to tell them apart */
			snprintf(fp, sizeof(fp), "%.16s", e->cert_fingerprint);
			snprintf(until, sizeof(until), "%.10s",
				 e->cert_not_after[0] != '\0'
					 ? e->cert_not_after
					 : _("unknown"));
			cells[0] = e->login;
			cells[1] = e->institution;
			cells[2] = e->role;
			cells[3] = !e->enabled ? _("no")
				   : !e->institution_enabled
					   ? _("no (institution)")
					   : _("yes");
			cells[4] = fp;
			cells[5] = until;
			cells[6] = e->display_name;
			if (view_table_add(t, cells) != 0)
				goto oom;
		}
	}
	if (a != NULL)
		return output_json(json_pack("{s:o}", "accounts", a));
	if (n == 0)
		printf(_("No accounts.\n"));
	else
		view_table_print(t, 0, 1);
	view_table_free(t);
	return MAILLAGE_EXIT_OK;
oom:
	json_decref(a);
	view_table_free(t);
	return admin_oom();
}

static int cmd_admin_account_list_exec(struct cmd_ctx *ctx, int argc,
				       char **argv)
{
	const char *inst = cmd_opt_value(ctx, "institution");
	struct frame_msg **pages = NULL, *resp;
	char after[80] = "";
	size_t npages = 0;
	struct cerr err;
	int rc;

	(void)argc;
	(void)argv;
	for (;;) {
		Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
		Maillage__AdminAccountList m =
			MAILLAGE__ADMIN_ACCOUNT_LIST__INIT;
		const Maillage__AdminAccountListResult *r;

		if (inst != NULL)
			m.institution = (char *)inst;
		m.after = after;
		req.body_case = MAILLAGE__ENVELOPE__BODY_ADMIN_ACCOUNT_LIST;
		req.admin_account_list = &m;
		if (net_call(ctx->conn, &req,
			     MAILLAGE__ENVELOPE__BODY_ADMIN_ACCOUNT_LIST_RESULT,
			     &resp, &err) != 0) {
			admin_pages_free(pages, npages);
			return cmd_fail(ctx, &err);
		}
		if (admin_pages_push(&pages, &npages, resp) != 0) {
			admin_pages_free(pages, npages);
			return admin_oom();
		}
		r = resp->env->admin_account_list_result;
		if (!r->more)
			break;
		if (r->n_accounts == 0 || npages >= ADMIN_PAGES_MAX) {
			admin_pages_free(pages, npages);
			output_warnx(
				_("the server keeps saying there is more"));
			return MAILLAGE_EXIT_UNAVAILABLE;
		}
		snprintf(after, sizeof(after), "%s",
			 r->accounts[r->n_accounts - 1]->login);
	}
	rc = admin_account_list_print(ctx, pages, npages);
	admin_pages_free(pages, npages);
	return rc;
}

static const struct cmd_option cmd_admin_account_list_options[] = {
	{"institution", 'i', "CODE",
	 N_("only the accounts of this institution")},
	{NULL, 0, NULL, NULL},
};

const struct cmd_entry cmd_admin_account_list_entry = {
	.name = "admin account list",
	.alias = NULL,
	.usage = "[--institution CODE]",
	.summary = N_("List the accounts, enabled or not (admin)"),
	.help = N_(
		"Lists the accounts by login, enabled or not: institution, "
		"role, whether\n"
		"it may connect (ENABLED \"no (institution)\": the account is "
		"enabled, its\n"
		"institution is not), the start of its certificate's SHA-256 "
		"fingerprint\n"
		"and its expiry (\"unknown\" for accounts enrolled with "
		"deploy/enrol).\n"
		"An unknown --institution is NOT_FOUND.\n"
		"\n"
		"With --json: {\"accounts\": [{\"login\", \"institution\", "
		"\"role\",\n"
		"\"display_name\", \"enabled\", \"institution_enabled\", "
		"\"cert_fingerprint\",\n"
		"\"cert_not_after\", \"created_at\", \"updated_at\"}]} (whole "
		"fingerprints).\n"
		"\n"
		"Example:\n"
		"  $ maillage admin account list --institution hlr\n"
		"  LOGIN    INSTITUTION  ROLE         ENABLED  CERTIFICATE     "
		"  "
		"VALID UNTIL  DISPLAY NAME\n"
		"  admin    hlr          admin        yes      "
		"3f0c9a7e55d1b2c4  "
		"unknown      Administration du réseau\n"),
	.exec = cmd_admin_account_list_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = NULL,
	.options = cmd_admin_account_list_options,
	.min_args = 0,
	.max_args = 0,
};
