/*
 * cmd-audit: the `maillage audit ...` commands of the auditor role: the
 * log with its filters (table, CSV or JSON), who read a case, the export of
 * a stretch of the chain to a file a third party can check, and the
 * verification of the chain, live (fetched page by page) or offline from
 * an export, against a public key given out of band. The verification
 * itself is auditv's; the server only supplies the material.
 */
#include "auditv.h"
#include "cmd.h"
#include "output.h"
#include "view.h"

#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AUDIT_LIMIT_DEFAULT 100u
#define AUDIT_LIMIT_MAX 1000000u
#define AUDIT_PAGE 1000u      /* log records asked per request */
#define AUDIT_CHAIN_PAGE 500u /* chain positions asked per request */
#define AUDIT_PROBLEMS_SHOWN 20
#define AUDIT_PROBLEMS_JSON 100

/* ---- audit log ---------------------------------------------------------- */

enum audit_format { AUDIT_FMT_TABLE = 0, AUDIT_FMT_CSV, AUDIT_FMT_JSON };

static int audit_log_opts(struct cmd_ctx *ctx, Maillage__AuditLog *q,
			  unsigned *limit, enum audit_format *fmt)
{
	const char *f = cmd_opt_value(ctx, "format");
	const char *o = cmd_opt_value(ctx, "outcome");
	int64_t id;

	*fmt = ctx->json ? AUDIT_FMT_JSON : AUDIT_FMT_TABLE;
	if (f != NULL) {
		if (strcmp(f, "csv") == 0)
			*fmt = AUDIT_FMT_CSV;
		else if (strcmp(f, "json") == 0)
			*fmt = AUDIT_FMT_JSON;
		else if (strcmp(f, "table") == 0 && !ctx->json)
			*fmt = AUDIT_FMT_TABLE;
		else
			return cmd_usage_error(ctx, _("--format is table, csv "
						      "or json"));
	}
	if (o != NULL && strcmp(o, "ok") != 0 && strcmp(o, "refused") != 0 &&
	    strcmp(o, "error") != 0)
		return cmd_usage_error(ctx, _("--outcome is ok, refused or "
					      "error"));
	if (cmd_opt_isset(ctx, "before") && cmd_opt_isset(ctx, "after"))
		return cmd_usage_error(ctx, _("--before and --after exclude "
					      "each other"));
	if (cmd_opt_uint(ctx, "limit", AUDIT_LIMIT_DEFAULT, 1, AUDIT_LIMIT_MAX,
			 limit) != 0)
		return MAILLAGE_EXIT_USAGE;
	if (cmd_opt_id(ctx, "case", &id) != 0)
		return MAILLAGE_EXIT_USAGE;
	q->case_id = id;
	if (cmd_opt_id(ctx, "before", &id) != 0)
		return MAILLAGE_EXIT_USAGE;
	q->before_id = id;
	if (cmd_opt_id(ctx, "after", &id) != 0)
		return MAILLAGE_EXIT_USAGE;
	q->after_id = id;
	q->account = (char *)cmd_opt_value(ctx, "account");
	q->institution = (char *)cmd_opt_value(ctx, "institution");
	q->action = (char *)cmd_opt_value(ctx, "action");
	q->since = (char *)cmd_opt_value(ctx, "since");
	q->until = (char *)cmd_opt_value(ctx, "until");
	q->outcome = (char *)o;
	return MAILLAGE_EXIT_OK;
}

static int cmd_audit_log_check(struct cmd_ctx *ctx, int argc, char **argv)
{
	Maillage__AuditLog q = MAILLAGE__AUDIT_LOG__INIT;
	enum audit_format fmt;
	unsigned limit;

	(void)argc;
	(void)argv;
	return audit_log_opts(ctx, &q, &limit, &fmt);
}

/*
 * A CSV field: quoted when it holds a comma, quote or line break. Text
 * starting with = + - @ gets a leading quote, so that a spreadsheet does
 * not run it as a formula (the JSON export is the faithful one).
 */
static void audit_csv_field(const char *s, int text, int last)
{
	if (text && s != NULL && strchr("=+-@", s[0]) != NULL && s[0] != '\0')
		putchar('\'');
	if (s != NULL && strpbrk(s, ",\"\r\n") != NULL) {
		putchar('"');
		for (; *s != '\0'; s++) {
			if (*s == '"')
				putchar('"');
			putchar(*s);
		}
		putchar('"');
	} else if (s != NULL) {
		fputs(s, stdout);
	}
	putchar(last ? '\n' : ',');
}

static void audit_csv_header(void)
{
	int i;

	printf("id,");
	for (i = 0; i < AUDITV_NFIELDS; i++)
		printf("%s,", auditv_field_names[i]);
	printf("seal_seq,extra\n");
}

static void audit_csv_record(const Maillage__AuditRecord *r)
{
	struct auditv_recbuf b;
	char num[24], *extra = NULL;
	size_t len = 0, k;
	FILE *m;
	int i;

	(void)auditv_record_from_proto(r, &b);
	printf("%" PRId64 ",", r->id);
	for (i = 0; i < AUDITV_NFIELDS; i++)
		audit_csv_field(b.rec.value[i], !auditv_field_is_int[i], 0);
	snprintf(num, sizeof(num), "%" PRId64, r->seal_seq);
	audit_csv_field(r->seal_seq > 0 ? num : NULL, 0, 0);
	/* The other columns: name=value;name=value */
	m = open_memstream(&extra, &len);
	for (k = 0; m != NULL && k < r->n_extra; k++)
		fprintf(m, "%s%s=%s", k > 0 ? ";" : "", r->extra[k]->name,
			r->extra[k]->value);
	if (m != NULL)
		fclose(m);
	audit_csv_field(extra != NULL ? extra : "", 1, 1);
	free(extra);
}

static json_t *audit_log_json_record(const Maillage__AuditRecord *r)
{
	json_t *o = auditv_record_to_json(r);

	if (o != NULL &&
	    json_object_set_new(o, "seal_seq",
				r->seal_seq > 0 ? json_integer(r->seal_seq)
						: json_null()) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static const char *const audit_log_headers[] = {
	N_("ID"),   N_("AT"),	  N_("LOGIN"),	 N_("INSTITUTION"),
	N_("ROLE"), N_("ACTION"), N_("OUTCOME"), N_("ERROR"),
	N_("CASE"), N_("NOTICE"), N_("PERSON"),	 N_("PEER"),
};
#define AUDIT_LOG_COLS 12

static int audit_log_table_add(struct view_table *t,
			       const Maillage__AuditRecord *r)
{
	static const int fields[] = {-1, 0, 2, 3, 4, 5, 6, 7, 12, 13, 14, 8};
	struct auditv_recbuf b;
	const char *cells[AUDIT_LOG_COLS];
	char id[24];
	int i;

	(void)auditv_record_from_proto(r, &b);
	snprintf(id, sizeof(id), "%" PRId64, r->id);
	cells[0] = id;
	for (i = 1; i < AUDIT_LOG_COLS; i++) {
		const char *v = b.rec.value[fields[i]];
		cells[i] = v != NULL ? v : "-";
	}
	return view_table_add(t, cells);
}

static int cmd_audit_log_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	Maillage__AuditLog q = MAILLAGE__AUDIT_LOG__INIT;
	struct view_table *t = NULL;
	json_t *arr = NULL;
	enum audit_format fmt;
	unsigned limit, got = 0;
	int rc, ascending;

	(void)argc;
	(void)argv;
	if ((rc = audit_log_opts(ctx, &q, &limit, &fmt)) != MAILLAGE_EXIT_OK)
		return rc;
	ascending = q.after_id > 0;
	if (fmt == AUDIT_FMT_JSON && (arr = json_array()) == NULL)
		goto oom;
	if (fmt == AUDIT_FMT_TABLE &&
	    (t = view_table_new(AUDIT_LOG_COLS, audit_log_headers)) == NULL)
		goto oom;
	if (fmt == AUDIT_FMT_CSV)
		audit_csv_header();
	while (got < limit) {
		Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
		const Maillage__AuditLogResult *res;
		struct frame_msg *resp = NULL;
		struct cerr err;
		size_t i;
		int more;

		q.limit = limit - got < AUDIT_PAGE ? limit - got : AUDIT_PAGE;
		req.body_case = MAILLAGE__ENVELOPE__BODY_AUDIT_LOG;
		req.audit_log = &q;
		if (net_call(ctx->conn, &req,
			     MAILLAGE__ENVELOPE__BODY_AUDIT_LOG_RESULT, &resp,
			     &err) != 0) {
			view_table_free(t);
			json_decref(arr);
			return cmd_fail(ctx, &err);
		}
		res = resp->env->audit_log_result;
		for (i = 0; i < res->n_records && got < limit; i++, got++) {
			const Maillage__AuditRecord *r = res->records[i];

			if (fmt == AUDIT_FMT_CSV)
				audit_csv_record(r);
			else if (fmt == AUDIT_FMT_JSON &&
				 json_array_append_new(
					 arr, audit_log_json_record(r)) != 0)
				rc = -1;
			else if (fmt == AUDIT_FMT_TABLE &&
				 audit_log_table_add(t, r) != 0)
				rc = -1;
			if (ascending)
				q.after_id = r->id;
			else
				q.before_id = r->id;
		}
		more = res->more && res->n_records > 0;
		frame_msg_free(resp);
		if (rc != 0)
			goto oom;
		if (!more || output_closed())
			break;
	}
	if (fmt == AUDIT_FMT_JSON)
		return output_json(arr);
	if (fmt == AUDIT_FMT_TABLE) {
		if (view_table_rows(t) == 0)
			printf(_("No audit records.\n"));
		else
			view_table_print(t, 0, 1);
		view_table_free(t);
	}
	return output_flush();
oom:
	view_table_free(t);
	json_decref(arr);
	output_warnx(_("out of memory"));
	return MAILLAGE_EXIT_UNAVAILABLE;
}

static const struct cmd_option cmd_audit_log_options[] = {
	{"case", 'c', "CASE", N_("records about this case")},
	{"account", 'a', "LOGIN", N_("records of this account")},
	{"institution", 'i', "CODE", N_("records of this institution")},
	{"action", 0, "ACTION", N_("records of this action (e.g. case.show)")},
	{"since", 0, "TIME", N_("from this instant (YYYY-MM-DD or RFC 3339)")},
	{"until", 0, "TIME",
	 N_("before this instant (a date: to the end of that "
	    "day)")},
	{"outcome", 'o', "OUTCOME", N_("ok, refused or error")},
	{"limit", 'n', "N", N_("at most N records (default 100)")},
	{"before", 0, "ID", N_("records with a smaller id (paging back)")},
	{"after", 0, "ID", N_("records with a greater id, oldest first")},
	{"format", 'f', "FORMAT", N_("table (default), csv or json")},
	{NULL, 0, NULL, NULL},
};

const struct cmd_entry cmd_audit_log_entry = {
	.name = "audit log",
	.alias = NULL,
	.usage = "[--case CASE] [--account LOGIN] [--institution CODE]\n"
		 "       [--action ACTION] [--since TIME] [--until TIME]\n"
		 "       [--outcome ok|refused|error] [--limit N]\n"
		 "       [--before ID | --after ID] [--format table|csv|json]",
	.summary = N_("Search the audit trail (auditors)"),
	.help = N_(
		"Lists audit records, newest first (oldest first with "
		"--after), that\n"
		"match every filter given: one record per request, accepted "
		"or refused,\n"
		"with its time, account, institution, role, action, outcome, "
		"error code,\n"
		"peer address and the case, notice or person it was about. "
		"Records hold\n"
		"no names and no free text. Only the auditor role may read "
		"them.\n"
		"\n"
		"--format csv prints a header line, then one line per record "
		"(an empty\n"
		"field is NULL); --format json (or --json) an array of "
		"objects keyed\n"
		"\"id\", \"at\", \"account_id\", \"login\", "
		"\"institution_code\", \"role\",\n"
		"\"action\", \"outcome\", \"error_code\", \"peer\", "
		"\"request_id\", \"instance\",\n"
		"\"cert_fingerprint\", \"case_id\", \"notice_id\", "
		"\"person_id\", \"seal_seq\"\n"
		"(null where the column is NULL; seal_seq: the record's "
		"position in the\n"
		"chain, null while it is not sealed yet).\n"
		"\n"
		"Example:\n"
		"  $ maillage audit log --case 12 --outcome refused\n"
		"  ID   AT                           LOGIN  INSTITUTION  "
		"ROLE     ACTION     OUTCOME  ERROR      CASE ...\n"
		"  318  2026-11-28T14:03:07.123456Z  pjj    pjj75        "
		"partner  case.show  refused  NOT_FOUND  12   ...\n"
		"  $ maillage audit log --since 2026-11-01 --limit 100000 "
		"--format csv > nov.csv\n"),
	.exec = cmd_audit_log_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_audit_log_check,
	.options = cmd_audit_log_options,
	.min_args = 0,
	.max_args = 0,
};

/* ---- who read a case ---------------------------------------------------- */

static int cmd_audit_who_check(struct cmd_ctx *ctx, int argc, char **argv)
{
	int64_t id;

	(void)argc;
	return cmd_arg_id(ctx, "case id", argv[0], &id) != 0
		       ? MAILLAGE_EXIT_USAGE
		       : MAILLAGE_EXIT_OK;
}

static json_t *audit_who_json(const Maillage__AuditWhoReadResult *r)
{
	json_t *o = json_object(), *a = json_array();
	size_t i;
	int bad = o == NULL || a == NULL;

	for (i = 0; !bad && i < r->n_readers; i++) {
		const Maillage__AuditReader *d = r->readers[i];
		json_t *x = json_object();

		bad = x == NULL ||
		      json_object_set_new(x, "account_id",
					  json_integer(d->account_id)) != 0 ||
		      json_object_set_new(x, "login", output_jstr(d->login)) ||
		      json_object_set_new(x, "institution_code",
					  output_jstr(d->institution_code)) ||
		      json_object_set_new(x, "role", output_jstr(d->role)) ||
		      json_object_set_new(x, "action",
					  output_jstr(d->action)) ||
		      json_object_set_new(x, "count", json_integer(d->count)) ||
		      json_object_set_new(x, "first_at",
					  output_jstr(d->first_at)) ||
		      json_object_set_new(x, "last_at",
					  output_jstr(d->last_at)) ||
		      json_array_append_new(a, x) != 0;
	}
	if (bad ||
	    json_object_set_new(o, "case_id", json_integer(r->case_id)) != 0 ||
	    json_object_set_new(o, "read_actions",
				view_json_strings(r->read_actions,
						  r->n_read_actions)) != 0 ||
	    json_object_set_new(o, "readers", a) != 0 ||
	    json_object_set_new(o, "truncated", json_boolean(r->truncated))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int audit_who_text(const Maillage__AuditWhoReadResult *r, int all)
{
	static const char *const headers[] = {
		N_("LOGIN"), N_("INSTITUTION"), N_("ROLE"), N_("ACTION"),
		N_("COUNT"), N_("FIRST"),	N_("LAST")};
	struct view_table *t;
	size_t i;

	if (r->n_readers == 0) {
		printf(_("No account %s case %" PRId64 ".\n"),
		       all ? _("acted on") : _("read"), r->case_id);
		return MAILLAGE_EXIT_OK;
	}
	printf(_("case %" PRId64 ", %s:\n"), r->case_id,
	       all ? _("every action on it") : _("who read it"));
	t = view_table_new(7, headers);
	if (t == NULL)
		goto oom;
	for (i = 0; i < r->n_readers; i++) {
		const Maillage__AuditReader *d = r->readers[i];
		char count[16];
		const char *cells[7];

		snprintf(count, sizeof(count), "%u", d->count);
		cells[0] = d->login;
		cells[1] = d->institution_code;
		cells[2] = d->role;
		cells[3] = d->action;
		cells[4] = count;
		cells[5] = d->first_at;
		cells[6] = d->last_at;
		if (view_table_add(t, cells) != 0)
			goto oom;
	}
	view_table_print(t, 2, 1);
	view_table_free(t);
	if (r->truncated)
		printf(_("(more lines than shown: narrow with 'audit log "
			 "--case %" PRId64 "')\n"),
		       r->case_id);
	return MAILLAGE_EXIT_OK;
oom:
	view_table_free(t);
	output_warnx(_("out of memory"));
	return MAILLAGE_EXIT_UNAVAILABLE;
}

static int cmd_audit_who_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__AuditWhoRead q = MAILLAGE__AUDIT_WHO_READ__INIT;
	struct frame_msg *resp = NULL;
	struct cerr err;
	int rc;

	(void)argc;
	if (cmd_arg_id(ctx, "case id", argv[0], &q.case_id) != 0)
		return MAILLAGE_EXIT_USAGE;
	q.all_actions = cmd_opt_isset(ctx, "all");
	req.body_case = MAILLAGE__ENVELOPE__BODY_AUDIT_WHO_READ;
	req.audit_who_read = &q;
	if (net_call(ctx->conn, &req,
		     MAILLAGE__ENVELOPE__BODY_AUDIT_WHO_READ_RESULT, &resp,
		     &err) != 0)
		return cmd_fail(ctx, &err);
	if (ctx->json)
		rc = output_json(
			audit_who_json(resp->env->audit_who_read_result));
	else
		rc = audit_who_text(resp->env->audit_who_read_result,
				    q.all_actions);
	frame_msg_free(resp);
	return rc;
}

static const struct cmd_option cmd_audit_who_options[] = {
	{"all", 'a', NULL, N_("every action on the case, not only reads")},
	{NULL, 0, NULL, NULL},
};

const struct cmd_entry cmd_audit_who_read_entry = {
	.name = "audit who-read",
	.alias = NULL,
	.usage = "CASE [--all]",
	.summary = N_("Who read a case (auditors)"),
	.help = N_(
		"Lists the accounts that read a case, from the audit "
		"trail: one line\n"
		"per account and action, with how many times and when first "
		"and last.\n"
		"Reads are the actions listed in the database table "
		"audit_read_action\n"
		"(case.show; an audited event delivery would be one). "
		"--all lists every\n"
		"action that named the case (notices, acknowledgements, "
		"changes).\n"
		"Refused requests are not reads (see 'audit log --case "
		"CASE').\n"
		"\n"
		"With --json: {\"case_id\", \"read_actions\", \"readers\": "
		"[{\"account_id\",\n"
		"\"login\", \"institution_code\", \"role\", \"action\", "
		"\"count\", \"first_at\",\n"
		"\"last_at\"}], \"truncated\"}.\n"
		"\n"
		"Example:\n"
		"  $ maillage audit who-read 12\n"
		"  case 12, who read it:\n"
		"    LOGIN  INSTITUTION  ROLE         ACTION     COUNT  "
		"FIRST                        LAST\n"
		"    coord  ase75        coordinator  case.show  3      "
		"2026-11-28T14:03:07.123456Z  2026-11-29T09:12:44.000112Z\n"),
	.exec = cmd_audit_who_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_audit_who_check,
	.options = cmd_audit_who_options,
	.min_args = 1,
	.max_args = 1,
};

/* ---- fetching the chain ------------------------------------------------- */

/* Called with each page, in order; returns 0 to go on. */
typedef int audit_page_fn(void *arg, const Maillage__AuditChainPage *p);

/*
 * Fetch positions from..to (to 0: the head when the first page came) page
 * by page. *head_out: the target. An exit code.
 */
static int audit_fetch(struct cmd_ctx *ctx, int64_t from, int64_t to,
		       audit_page_fn *fn, void *arg, int64_t *target_out)
{
	int64_t target = to;
	int first = 1;

	for (;;) {
		Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
		Maillage__AuditChain q = MAILLAGE__AUDIT_CHAIN__INIT;
		const Maillage__AuditChainPage *p;
		struct frame_msg *resp = NULL;
		struct cerr err;
		int64_t next;
		int rc;

		q.from_seq = from;
		q.to_seq = target;
		q.limit = AUDIT_CHAIN_PAGE;
		req.body_case = MAILLAGE__ENVELOPE__BODY_AUDIT_CHAIN;
		req.audit_chain = &q;
		if (net_call(ctx->conn, &req,
			     MAILLAGE__ENVELOPE__BODY_AUDIT_CHAIN_PAGE, &resp,
			     &err) != 0)
			return cmd_fail(ctx, &err);
		p = resp->env->audit_chain_page;
		if (first && target == 0)
			target = p->head_seq;
		first = 0;
		*target_out = target;
		rc = fn(arg, p);
		next = p->to_seq + 1;
		frame_msg_free(resp);
		if (rc != 0)
			return rc;
		if (next <= from || target == 0 || next > target)
			return MAILLAGE_EXIT_OK;
		from = next;
	}
}

/* ---- export ------------------------------------------------------------- */

struct audit_export {
	FILE *f;
	int64_t nentries;
	json_t *checkpoints; /* array */
	json_t *unsealed;    /* array */
	json_t *keys;	     /* array */
	json_t *latest;	     /* object or null */
	int64_t head_seq;
	int64_t first_to; /* to_seq of the last page */
	int failed;
};

static int audit_json_has(const json_t *arr, const char *key, int64_t v)
{
	size_t i;
	json_t *x;

	json_array_foreach(arr, i, x)
	{
		if (json_integer_value(json_object_get(x, key)) == v)
			return 1;
	}
	return 0;
}

static int audit_export_page(void *arg, const Maillage__AuditChainPage *p)
{
	struct audit_export *x = arg;
	size_t i;

	x->head_seq = p->head_seq;
	if (p->to_seq > x->first_to)
		x->first_to = p->to_seq;
	if (json_array_size(x->keys) == 0) {
		for (i = 0; i < p->n_keys; i++)
			if (json_array_append_new(
				    x->keys, auditv_key_to_json(p->keys[i])) !=
			    0)
				x->failed = 1;
	}
	json_decref(x->latest);
	x->latest = p->latest_checkpoint != NULL
			    ? auditv_checkpoint_to_json(p->latest_checkpoint)
			    : json_null();
	if (x->latest == NULL)
		x->failed = 1;
	for (i = 0; i < p->n_checkpoints; i++) {
		if (audit_json_has(x->checkpoints, "seq",
				   p->checkpoints[i]->seq))
			continue;
		if (json_array_append_new(
			    x->checkpoints,
			    auditv_checkpoint_to_json(p->checkpoints[i])) != 0)
			x->failed = 1;
	}
	for (i = 0; i < p->n_unsealed; i++) {
		if (audit_json_has(x->unsealed, "id", p->unsealed[i]->id))
			continue;
		if (json_array_append_new(
			    x->unsealed,
			    auditv_record_to_json(p->unsealed[i])) != 0)
			x->failed = 1;
	}
	for (i = 0; i < p->n_entries; i++) {
		json_t *e = auditv_entry_to_json(p->entries[i]);
		char *s = e != NULL ? json_dumps(e, JSON_COMPACT) : NULL;

		if (s == NULL || fprintf(x->f, "%s\n  %s",
					 x->nentries > 0 ? "," : "", s) < 0)
			x->failed = 1;
		free(s);
		json_decref(e);
		x->nentries++;
	}
	if (x->failed) {
		output_warnx(_("cannot write the export (out of memory, "
			       "disk full, or a record that is not UTF-8)"));
		return MAILLAGE_EXIT_UNAVAILABLE;
	}
	return 0;
}

static void audit_now(char buf[40])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 40, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* --from and --to: positions, to 0 meaning the head. */
static int audit_range(struct cmd_ctx *ctx, int64_t *from, int64_t *to)
{
	if (cmd_opt_id(ctx, "from", from) != 0 ||
	    cmd_opt_id(ctx, "to", to) != 0)
		return MAILLAGE_EXIT_USAGE;
	if (*from == 0)
		*from = 1;
	if (*to != 0 && *to < *from)
		return cmd_usage_error(ctx, _("--to is before --from"));
	return MAILLAGE_EXIT_OK;
}

static int cmd_audit_export_check(struct cmd_ctx *ctx, int argc, char **argv)
{
	int64_t from, to;

	(void)argc;
	(void)argv;
	return audit_range(ctx, &from, &to);
}

static int cmd_audit_verify_check(struct cmd_ctx *ctx, int argc, char **argv)
{
	int64_t from, to;

	(void)argc;
	(void)argv;
	if (cmd_opt_isset(ctx, "file") &&
	    (cmd_opt_isset(ctx, "from") || cmd_opt_isset(ctx, "to")))
		return cmd_usage_error(ctx, _("--file verifies the whole file: "
					      "no --from or --to"));
	return audit_range(ctx, &from, &to);
}

static int cmd_audit_export_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct audit_export x;
	const char *path = cmd_opt_value(ctx, "output");
	char now[40], *tail = NULL;
	int64_t from, to, target = 0;
	json_t *rest = NULL;
	int rc;

	(void)argc;
	(void)argv;
	if ((rc = audit_range(ctx, &from, &to)) != MAILLAGE_EXIT_OK)
		return rc;
	memset(&x, 0, sizeof(x));
	x.checkpoints = json_array();
	x.unsealed = json_array();
	x.keys = json_array();
	x.latest = json_null();
	if (x.checkpoints == NULL || x.unsealed == NULL || x.keys == NULL) {
		rc = MAILLAGE_EXIT_UNAVAILABLE;
		output_warnx(_("out of memory"));
		goto out;
	}
	x.f = path != NULL ? fopen(path, "w") : stdout;
	if (x.f == NULL) {
		output_warnx("%s: %s", path, strerror(errno));
		rc = MAILLAGE_EXIT_USAGE;
		goto out;
	}
	audit_now(now);
	fprintf(x.f,
		"{\"format\": \"" AUDITV_EXPORT_FORMAT "\", \"version\": %d,\n"
		" \"exported_at\": \"%s\",\n \"entries\": [",
		AUDITV_EXPORT_VERSION, now);
	rc = audit_fetch(ctx, from, to, audit_export_page, &x, &target);
	if (rc != MAILLAGE_EXIT_OK)
		goto out;
	rest = json_pack("{s:I, s:I, s:I, s:O, s:O, s:O, s:O}", "from_seq",
			 (json_int_t)from, "to_seq",
			 (json_int_t)(x.nentries > 0 ? x.first_to : from - 1),
			 "head_seq", (json_int_t)x.head_seq, "keys", x.keys,
			 "latest_checkpoint", x.latest, "checkpoints",
			 x.checkpoints, "unsealed", x.unsealed);
	tail = rest != NULL ? json_dumps(rest, JSON_INDENT(1)) : NULL;
	/* The members after "entries": the object without its braces. */
	if (tail == NULL || strlen(tail) < 2) {
		output_warnx(_("out of memory"));
		rc = MAILLAGE_EXIT_UNAVAILABLE;
		goto out;
	}
	tail[strlen(tail) - 1] = '\0';
	if (fprintf(x.f, "\n ],\n%s}\n", tail + 2) < 0 || fflush(x.f) != 0 ||
	    ferror(x.f)) {
		output_warnx("%s: %s", path != NULL ? path : "stdout",
			     strerror(errno));
		rc = MAILLAGE_EXIT_UNAVAILABLE;
		goto out;
	}
	if (path != NULL) {
		if (ctx->json)
			rc = output_json(json_pack(
				"{s:s, s:I, s:I, s:I, s:I, s:I}", "file", path,
				"from_seq", (json_int_t)from, "to_seq",
				(json_int_t)(x.nentries > 0 ? x.first_to
							    : from - 1),
				"entries", (json_int_t)x.nentries,
				"checkpoints",
				(json_int_t)json_array_size(x.checkpoints),
				"unsealed",
				(json_int_t)json_array_size(x.unsealed)));
		else
			printf(_("exported seq %" PRId64 " to %" PRId64
				 " (%" PRId64 " records, %zu checkpoints, "
				 "%zu unsealed rows) to %s\n"),
			       from, x.nentries > 0 ? x.first_to : from - 1,
			       x.nentries, json_array_size(x.checkpoints),
			       json_array_size(x.unsealed), path);
	}
out:
	free(tail);
	json_decref(rest);
	json_decref(x.checkpoints);
	json_decref(x.unsealed);
	json_decref(x.keys);
	json_decref(x.latest);
	if (x.f != NULL && x.f != stdout && fclose(x.f) != 0 &&
	    rc == MAILLAGE_EXIT_OK) {
		output_warnx("%s: %s", path, strerror(errno));
		rc = MAILLAGE_EXIT_UNAVAILABLE;
	}
	if (rc != MAILLAGE_EXIT_OK && path != NULL && x.f != NULL)
		(void)remove(path);
	return rc;
}

static const struct cmd_option cmd_audit_export_options[] = {
	{"from", 0, "N", N_("first chain position (default 1)")},
	{"to", 0, "M", N_("last chain position (default: the head)")},
	{"output", 'o', "FILE",
	 N_("write the export to FILE (default: stdout)")},
	{NULL, 0, NULL, NULL},
};

const struct cmd_entry cmd_audit_export_entry = {
	.name = "audit export",
	.alias = NULL,
	.usage = "[--from N] [--to M] [--output FILE]",
	.summary = N_("Export the audit chain for offline verification"),
	.help = N_(
		"Writes chain positions N to M (seal order, 1 = the first "
		"record ever\n"
		"sealed) as one JSON document: each position's seal (leaf, "
		"hash, prev)\n"
		"with its audit record, the signed checkpoints in the range, "
		"the rows\n"
		"that no seal covers, the latest checkpoint and the server's "
		"public\n"
		"keys. A third party checks it with 'maillage audit verify "
		"--file FILE\n"
		"--pubkey KEY.pub', without any connection. End the range "
		"at a\n"
		"checkpoint's position to have every record in it covered by "
		"a\n"
		"signature. The format is in SECURITY.md (\"Audit\").\n"
		"\n"
		"Example:\n"
		"  $ maillage audit export --from 1 --to 5000 -o audit.json\n"
		"  exported seq 1 to 5000 (5000 records, 5 checkpoints, 0 "
		"unsealed rows) to audit.json\n"),
	.exec = cmd_audit_export_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_audit_export_check,
	.options = cmd_audit_export_options,
	.min_args = 0,
	.max_args = 0,
};

/* ---- verify ------------------------------------------------------------- */

static int audit_verify_page(void *arg, const Maillage__AuditChainPage *p)
{
	auditv_feed_page(arg, p);
	return 0;
}

static json_t *audit_verify_json(const struct auditv *v, int ok,
				 const char *source)
{
	const struct auditv_summary *s = auditv_summary(v);
	json_t *o, *probs = json_array();
	size_t i, n = auditv_nproblems(v);

	for (i = 0; probs != NULL && i < n && i < AUDIT_PROBLEMS_JSON; i++) {
		const struct auditv_problem *p = auditv_problem(v, i);

		if (json_array_append_new(
			    probs, json_pack("{s:s, s:I, s:I, s:o}", "kind",
					     auditv_kind_name(p->kind), "seq",
					     (json_int_t)p->seq, "audit_id",
					     (json_int_t)p->audit_id, "detail",
					     output_jstr(p->detail))) != 0) {
			json_decref(probs);
			probs = NULL;
		}
	}
	if (probs == NULL)
		return NULL;
	o = json_pack("{s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		      "s:o, s:s, s:o, s:b, s:I, s:o}",
		      "ok", ok, "source", source, "first_seq",
		      (json_int_t)s->first_seq, "last_seq",
		      (json_int_t)s->last_seq, "head_seq",
		      (json_int_t)s->head_seq, "entries",
		      (json_int_t)s->entries, "checkpoints",
		      (json_int_t)s->checkpoints, "checkpoints_ok",
		      (json_int_t)s->checkpoints_ok, "signed_up_to",
		      (json_int_t)s->signed_upto, "unsigned_tail",
		      (json_int_t)(s->last_seq > s->signed_upto
					   ? s->last_seq - s->signed_upto
					   : 0),
		      "signed_at", output_jstr(s->signed_at), "signed_head",
		      s->signed_head, "key_id", output_jstr(s->key_id),
		      "key_trusted", s->key_trusted, "problem_count",
		      (json_int_t)s->problems, "problems", probs);
	return o;
}

static void audit_verify_text(const struct auditv *v, int ok)
{
	const struct auditv_summary *s = auditv_summary(v);
	size_t i, n = auditv_nproblems(v);
	char at[64], key[96];

	if (s->entries == 0 && ok) {
		printf(_("Nothing to verify: the chain has no position in this "
			 "range (head: seq %" PRId64 ").\n"),
		       s->head_seq);
		return;
	}
	if (ok)
		printf(_("audit chain verified: seq %" PRId64 " to %" PRId64
			 " (%" PRId64 " records)\n"),
		       s->first_seq, s->last_seq, s->entries);
	else
		printf(ngettext("audit chain NOT verified: %" PRId64
				" problem in seq %" PRId64 " to %" PRId64 "\n",
				"audit chain NOT verified: %" PRId64
				" problems in seq %" PRId64 " to %" PRId64 "\n",
				(unsigned long)s->problems),
		       s->problems, s->first_seq, s->last_seq);
	if (n > 0) {
		const struct auditv_problem *p = auditv_problem(v, 0);
		char d[512];

		printf(_("first problem: seq %" PRId64 ": %s\n"), p->seq,
		       output_clean(d, sizeof(d), p->detail));
		for (i = 0; i < n && i < AUDIT_PROBLEMS_SHOWN; i++) {
			p = auditv_problem(v, i);
			printf(_("  seq %-8" PRId64 " %-24s %s\n"), p->seq,
			       auditv_kind_name(p->kind),
			       output_clean(d, sizeof(d), p->detail));
		}
		if ((int64_t)n > AUDIT_PROBLEMS_SHOWN ||
		    s->problems > (int64_t)n)
			printf(_("  ... (%" PRId64 " in all; --json lists "
				 "%d)\n"),
			       s->problems, AUDIT_PROBLEMS_JSON);
	}
	printf(_("checkpoints: %" PRId64 " in range, %" PRId64 " valid"),
	       s->checkpoints, s->checkpoints_ok);
	if (s->signed_upto > 0)
		printf(_("; signed up to seq %" PRId64 " at %s\n"
			 "signed head: seq %" PRId64 " %s\n"),
		       s->signed_upto,
		       output_clean(at, sizeof(at), s->signed_at),
		       s->signed_upto, s->signed_head);
	else
		printf(_("; no record of this range is covered by a valid "
			 "signature\n"));
	if (s->key_id[0] != '\0')
		printf(_("key: %s (%s)\n"),
		       output_clean(key, sizeof(key), s->key_id),
		       s->key_trusted ? _("trusted: given with --pubkey")
				      : _("NOT checked against a key you "
					  "trust: the one the source names; "
					  "compare its id, or use --pubkey"));
	if (s->signed_upto > 0 && s->last_seq > s->signed_upto)
		printf(ngettext("%" PRId64 " record after seq %" PRId64
				" is chained but not covered by a signed "
				"checkpoint yet.\n",
				"%" PRId64 " records after seq %" PRId64
				" are chained but not covered by a signed "
				"checkpoint yet.\n",
				(unsigned long)(s->last_seq - s->signed_upto)),
		       s->last_seq - s->signed_upto, s->signed_upto);
}

static int audit_verify_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *file = cmd_opt_value(ctx, "file");
	const char *pub = cmd_opt_value(ctx, "pubkey");
	EVP_PKEY *trusted = NULL;
	struct auditv *v = NULL;
	char err[512];
	int64_t from, to, target = 0;
	int rc, ok;

	(void)argc;
	(void)argv;
	if ((rc = audit_range(ctx, &from, &to)) != MAILLAGE_EXIT_OK)
		return rc;
	if (pub != NULL &&
	    (trusted = auditv_pubkey_load(pub, err, sizeof(err))) == NULL) {
		output_warnx("%s", err);
		return MAILLAGE_EXIT_USAGE;
	}
	if (file != NULL) {
		json_error_t jerr;
		json_t *doc = json_load_file(file, 0, &jerr);

		if (doc == NULL) {
			output_warnx("%s:%d: %s", file, jerr.line, jerr.text);
			rc = MAILLAGE_EXIT_USAGE;
			goto out;
		}
		v = auditv_verify_export(doc, trusted, err, sizeof(err));
		json_decref(doc);
		if (v == NULL) {
			output_warnx("%s: %s", file, err);
			rc = MAILLAGE_EXIT_USAGE;
			goto out;
		}
	} else {
		struct cerr cerr;
		int r;

		if (ctx->config_path == NULL) {
			output_warnx(
				_("no configuration file: set HOME or "
				  "XDG_CONFIG_HOME, or use --config FILE"));
			rc = MAILLAGE_EXIT_USAGE;
			goto out;
		}
		r = conf_load(ctx->config_path, &ctx->conf, &cerr);
		if (r != 0) {
			rc = output_error(&cerr);
			goto out;
		}
		if (net_connect(ctx->conf, "maillage/" MAILLAGE_VERSION,
				&ctx->conn, &cerr) != 0) {
			rc = output_error(&cerr);
			goto out;
		}
		v = auditv_new(trusted, from);
		if (v == NULL) {
			output_warnx(_("out of memory"));
			rc = MAILLAGE_EXIT_UNAVAILABLE;
			goto out;
		}
		rc = audit_fetch(ctx, from, to, audit_verify_page, v, &target);
		if (rc != MAILLAGE_EXIT_OK)
			goto out;
		auditv_finish(v);
	}
	ok = auditv_summary(v)->problems == 0;
	/* With a trusted key, a chain no signature covers proves nothing. */
	if (ok && trusted != NULL && auditv_summary(v)->entries > 0 &&
	    auditv_summary(v)->checkpoints_ok == 0)
		ok = 0;
	if (ctx->json)
		rc = output_json(audit_verify_json(
			v, ok, file != NULL ? "file" : "server"));
	else
		audit_verify_text(v, ok);
	if (rc == MAILLAGE_EXIT_OK && !ok) {
		output_warnx(_("the audit chain failed verification"));
		rc = MAILLAGE_EXIT_REFUSED;
	}
out:
	auditv_free(v);
	EVP_PKEY_free(trusted);
	return rc;
}

/*
 * The problems found are described in the user's language in text, but
 * the JSON output is never translated: the "detail" of each problem is
 * then written in the messages' source language.
 */
static int cmd_audit_verify_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *cur = setlocale(LC_MESSAGES, NULL);
	char *saved = ctx->json && cur != NULL ? strdup(cur) : NULL;
	int rc;

	if (saved != NULL)
		setlocale(LC_MESSAGES, "C");
	rc = audit_verify_run(ctx, argc, argv);
	if (saved != NULL) {
		setlocale(LC_MESSAGES, saved);
		free(saved);
	}
	return rc;
}

static const struct cmd_option cmd_audit_verify_options[] = {
	{"file", 'f', "FILE",
	 N_("verify this export, offline (no connection)")},
	{"pubkey", 'k', "KEY", N_("the server's public key (PEM) you trust")},
	{"from", 0, "N", N_("first chain position (default 1)")},
	{"to", 0, "M", N_("last chain position (default: the head)")},
	{NULL, 0, NULL, NULL},
};

const struct cmd_entry cmd_audit_verify_entry = {
	.name = "audit verify",
	.alias = NULL,
	.usage = "[--pubkey KEY.pub] [--from N] [--to M]\n"
		 "       maillage audit verify --file FILE --pubkey KEY.pub",
	.summary = N_("Verify the audit chain and its signed checkpoints"),
	.help = N_(
		"Recomputes every record's hash and every link of the "
		"chain, checks\n"
		"every checkpoint's Ed25519 signature and that the chain "
		"reaches each\n"
		"signed head, and names the first record that was modified, "
		"deleted,\n"
		"inserted or reordered (or the first seal or checkpoint "
		"that was\n"
		"tampered with). Without --file, the chain is fetched from "
		"the server\n"
		"page by page (auditor role); with --file, an export made by "
		"'audit\n"
		"export' is checked offline. --pubkey names the key every "
		"checkpoint\n"
		"must be signed with (the server's KEY.pub, obtained out of "
		"band);\n"
		"without it, the keys the source names are used and the "
		"output says so.\n"
		"Keep the signed head printed at the end: a later "
		"verification must\n"
		"find it again.\n"
		"\n"
		"Exit status 0 when everything verifies, 1 when anything "
		"does not (or,\n"
		"with --pubkey, when no record is covered by a valid "
		"signature).\n"
		"\n"
		"With --json: {\"ok\", \"source\", \"first_seq\", "
		"\"last_seq\", \"head_seq\",\n"
		"\"entries\", \"checkpoints\", \"checkpoints_ok\", "
		"\"signed_up_to\",\n"
		"\"unsigned_tail\", \"signed_at\", \"signed_head\", "
		"\"key_id\", \"key_trusted\",\n"
		"\"problem_count\", \"problems\": [{\"kind\", \"seq\", "
		"\"audit_id\", \"detail\"}]}\n"
		"(kinds: modified, deleted, inserted, reordered, "
		"seal_altered,\n"
		"link_broken, seal_missing, format_unknown, "
		"checkpoint_mismatch,\n"
		"checkpoint_bad_signature, checkpoint_unknown_key, "
		"checkpoint_missing,\n"
		"truncated), first problem first.\n"
		"\n"
		"Example:\n"
		"  $ maillage audit verify --file audit.json --pubkey "
		"audit-signing.key.pub\n"
		"  audit chain NOT verified: 1 problem in seq 1 to 5000\n"
		"  first problem: seq 318: record 318 (seq 318) no longer "
		"matches its seal: modified\n"),
	.exec = cmd_audit_verify_exec,
	.flags = 0,
	.check = cmd_audit_verify_check,
	.options = cmd_audit_verify_options,
	.min_args = 0,
	.max_args = 0,
};
