/*
 * cmd: command table, lookup, option parsing, help and the run of one
 * command; see cmd.h for what this module owns.
 */
#include "cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

#ifndef MAILLAGE_VERSION
#define MAILLAGE_VERSION "0.0.0"
#endif

/* The table: one line per command family. */
const struct cmd_entry *const cmd_table[] = {
	&cmd_help_entry,
	&cmd_ping_entry,
	&cmd_whoami_entry,
	&cmd_notice_send_entry,
	&cmd_notice_new_entry,
	&cmd_inbox_entry,
	&cmd_ack_entry,
	&cmd_case_list_entry,
	&cmd_case_show_entry,
	&cmd_case_status_entry,
	&cmd_case_party_add_entry,
	&cmd_case_party_remove_entry,
	&cmd_case_lead_entry,
	&cmd_case_close_entry,
	&cmd_case_reopen_entry,
	&cmd_indicators_entry,
	&cmd_watch_entry,
	&cmd_audit_log_entry,
	&cmd_audit_who_read_entry,
	&cmd_audit_export_entry,
	&cmd_audit_verify_entry,
	&cmd_network_list_entry,
	&cmd_network_show_entry,
	&cmd_training_add_entry,
	&cmd_training_edit_entry,
	&cmd_training_list_entry,
	&cmd_training_show_entry,
	&cmd_training_codes_entry,
	&cmd_report_reach_entry,
	&cmd_report_impact_entry,
	&cmd_admin_institution_add_entry,
	&cmd_admin_institution_list_entry,
	&cmd_admin_institution_disable_entry,
	&cmd_admin_institution_enable_entry,
	&cmd_admin_account_add_entry,
	&cmd_admin_account_list_entry,
	&cmd_admin_account_disable_entry,
	&cmd_admin_account_enable_entry,
	&cmd_admin_account_rotate_entry,
	&cmd_person_search_entry,
	&cmd_person_show_entry,
	&cmd_person_candidates_entry,
	&cmd_person_link_entry,
	&cmd_person_unlink_entry,
	&cmd_person_dismiss_entry,
	NULL,
};

/* Values getopt_long returns for the implicit --help and --json. */
#define CMD_OPT_HELP 'h'
#define CMD_OPT_JSON 'j'
/* Long options without a short name return CMD_OPT_BASE + their index. */
#define CMD_OPT_BASE 256

/*
 * Number of leading words of `name` equal to argv[0], argv[1]...; *len is
 * set to the length of that part of `name`.
 */
static int cmd_common_words(const char *name, int argc, char **argv,
			    size_t *len)
{
	const char *p = name;
	int i = 0;

	*len = 0;
	while (*p != '\0' && i < argc) {
		size_t n = strcspn(p, " ");

		if (strlen(argv[i]) != n || strncmp(argv[i], p, n) != 0)
			break;
		i++;
		*len = (size_t)(p - name) + n;
		p += n;
		while (*p == ' ')
			p++;
	}
	return i;
}

static int cmd_word_count(const char *name)
{
	int n = 0;

	while (*name != '\0') {
		while (*name == ' ')
			name++;
		if (*name == '\0')
			break;
		n++;
		name += strcspn(name, " ");
	}
	return n;
}

/* Number of argv words that make up `name`, or 0 when they do not match. */
static int cmd_match(const char *name, int argc, char **argv)
{
	size_t len;
	int n = cmd_common_words(name, argc, argv, &len);

	return n == cmd_word_count(name) ? n : 0;
}

const struct cmd_entry *cmd_find(int argc, char **argv, int *consumed)
{
	const struct cmd_entry *best = NULL;
	int best_n = 0, i, n;

	for (i = 0; cmd_table[i] != NULL; i++) {
		const struct cmd_entry *e = cmd_table[i];

		n = cmd_match(e->name, argc, argv);
		if (n == 0 && e->alias != NULL)
			n = cmd_match(e->alias, argc, argv);
		if (n > best_n) {
			best = e;
			best_n = n;
		}
	}
	*consumed = best_n;
	return best;
}

static int cmd_name_width(void)
{
	int i, w = 0;

	for (i = 0; cmd_table[i] != NULL; i++) {
		int n = (int)strlen(cmd_table[i]->name);

		if (n > w)
			w = n;
	}
	return w;
}

void cmd_print_overview(FILE *fp)
{
	int i, w = cmd_name_width();

	fprintf(fp, _("usage: maillage [--config FILE] [--json] COMMAND "
		      "[ARGUMENTS]\n"
		      "\n"
		      "Client of maillaged, the exchange between partner "
		      "institutions\n"
		      "around young people in danger.\n"
		      "\n"
		      "Commands:\n"));
	for (i = 0; cmd_table[i] != NULL; i++)
		fprintf(fp, "  %-*s  %s\n", w, cmd_table[i]->name,
			_(cmd_table[i]->summary));
	fprintf(fp,
		_("\n"
		  "Global options:\n"
		  "  -c, --config FILE  client configuration (default:\n"
		  "                     $XDG_CONFIG_HOME/maillage/client.conf, "
		  "else\n"
		  "                     ~/.config/maillage/client.conf)\n"
		  "  -j, --json         print one JSON document on standard "
		  "output\n"
		  "  -h, --help         show this help\n"
		  "  -V, --version      show the version\n"
		  "\n"
		  "'maillage help COMMAND' or 'maillage COMMAND --help' shows "
		  "the help of\n"
		  "a command.\n"
		  "\n"
		  "Exit status: 0 success; 1 refused or not found by the "
		  "server; 2 usage\n"
		  "or configuration error; 3 connection, TLS or protocol "
		  "failure, or the\n"
		  "server is unavailable.\n"));
}

static void cmd_print_usage_line(FILE *fp, const struct cmd_entry *e)
{
	fprintf(fp, _("usage: maillage %s%s%s\n"), e->name,
		e->usage != NULL && e->usage[0] != '\0' ? " " : "",
		e->usage != NULL ? e->usage : "");
}

void cmd_print_help(FILE *fp, const struct cmd_entry *e)
{
	const struct cmd_option *o;
	int w = (int)strlen("--help");

	cmd_print_usage_line(fp, e);
	if (e->alias != NULL)
		fprintf(fp, _("alias: maillage %s\n"), e->alias);
	fprintf(fp, _("\n%s.\n\nOptions:\n"), _(e->summary));
	for (o = e->options; o != NULL && o->name != NULL; o++) {
		int n = 2 + (int)strlen(o->name) +
			(o->arg != NULL ? 1 + (int)strlen(o->arg) : 0);

		if (n > w)
			w = n;
	}
	for (o = e->options; o != NULL && o->name != NULL; o++) {
		char spec[128];

		if (cmd_option_implicit(o))
			continue;

		snprintf(spec, sizeof(spec), "--%s%s%s", o->name,
			 o->arg != NULL ? " " : "",
			 o->arg != NULL ? o->arg : "");
		if (o->short_name != 0)
			fprintf(fp, "  -%c, %-*s  %s\n", o->short_name, w, spec,
				_(o->help));
		else
			fprintf(fp, "      %-*s  %s\n", w, spec, _(o->help));
	}
	fprintf(fp, "  -j, %-*s  %s\n", w, "--json",
		_("print JSON (also accepted before the command)"));
	fprintf(fp, "  -h, %-*s  %s\n", w, "--help", _("show this help"));
	if (e->help != NULL && e->help[0] != '\0') {
		const char *h = _(e->help);

		fprintf(fp, "\n%s", h);
		if (h[strlen(h) - 1] != '\n')
			fputc('\n', fp);
	}
}

int cmd_print_group(FILE *fp, int argc, char **argv)
{
	size_t len;
	int k, i, found;

	for (k = argc; k >= 1; k--) {
		found = 0;
		for (i = 0; cmd_table[i] != NULL; i++) {
			const struct cmd_entry *e = cmd_table[i];

			if (cmd_word_count(e->name) <= k ||
			    cmd_common_words(e->name, k, argv, &len) != k)
				continue;
			if (!found)
				fprintf(fp, _("Commands of '%.*s':\n"),
					(int)len, e->name);
			fprintf(fp, "  %-*s  %s\n", cmd_name_width(), e->name,
				_(e->summary));
			found = 1;
		}
		if (found)
			return k;
	}
	return 0;
}

int cmd_usage_error(const struct cmd_ctx *ctx, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	output_warnx("%s", msg);
	if (ctx->entry != NULL) {
		cmd_print_usage_line(stderr, ctx->entry);
		fprintf(stderr, _("Run 'maillage help %s' for more.\n"),
			ctx->entry->name);
	}
	return MAILLAGE_EXIT_USAGE;
}

int cmd_fail(struct cmd_ctx *ctx, const struct cerr *err)
{
	(void)ctx;
	return output_error(err);
}

int cmd_option_implicit(const struct cmd_option *o)
{
	return strcmp(o->name, "help") == 0 || strcmp(o->name, "json") == 0;
}

static const struct cmd_option *cmd_options(const struct cmd_ctx *ctx,
					    size_t *n)
{
	const struct cmd_option *o = ctx->entry->options;

	*n = 0;
	while (o != NULL && o[*n].name != NULL)
		(*n)++;
	return o;
}

/* Index of option `name` in the running entry; aborts on a typo. */
static size_t cmd_opt_index(const struct cmd_ctx *ctx, const char *name)
{
	const struct cmd_option *o;
	size_t n, i;

	o = cmd_options(ctx, &n);
	for (i = 0; i < n; i++)
		if (strcmp(o[i].name, name) == 0)
			return i;
	fprintf(stderr,
		_("maillage: internal error: command '%s' has no "
		  "option '%s'\n"),
		ctx->entry->name, name);
	abort();
}

size_t cmd_opt_count(const struct cmd_ctx *ctx, const char *name)
{
	size_t idx = cmd_opt_index(ctx, name), i, n = 0;

	for (i = 0; i < ctx->optc; i++)
		if (ctx->optv[i].index == idx)
			n++;
	return n;
}

int cmd_opt_isset(const struct cmd_ctx *ctx, const char *name)
{
	return cmd_opt_count(ctx, name) > 0;
}

const char *cmd_opt_nth(const struct cmd_ctx *ctx, const char *name, size_t nth)
{
	size_t idx = cmd_opt_index(ctx, name), i;

	for (i = 0; i < ctx->optc; i++)
		if (ctx->optv[i].index == idx && nth-- == 0)
			return ctx->optv[i].value;
	return NULL;
}

const char *cmd_opt_value(const struct cmd_ctx *ctx, const char *name)
{
	size_t n = cmd_opt_count(ctx, name);

	return n == 0 ? NULL : cmd_opt_nth(ctx, name, n - 1);
}

int cmd_opt_uint(const struct cmd_ctx *ctx, const char *name, unsigned def,
		 unsigned min, unsigned max, unsigned *out)
{
	const char *v = cmd_opt_value(ctx, name);
	unsigned long n = 0;
	size_t i;

	if (v == NULL) {
		*out = def;
		return 0;
	}
	for (i = 0; v[i] != '\0'; i++) {
		if (v[i] < '0' || v[i] > '9' || i >= 9)
			break;
		n = n * 10 + (unsigned long)(v[i] - '0');
	}
	if (i == 0 || v[i] != '\0' || n < min || n > max) {
		char buf[64];

		cmd_usage_error(ctx,
				_("invalid value '%s' for --%s (expected a "
				  "number from %u to %u)"),
				output_clean(buf, sizeof(buf), v), name, min,
				max);
		return -1;
	}
	*out = (unsigned)n;
	return 0;
}

int cmd_arg_id(const struct cmd_ctx *ctx, const char *what, const char *arg,
	       int64_t *out)
{
	char *end = NULL, buf[64];
	long long v;

	errno = 0;
	if (arg[0] >= '0' && arg[0] <= '9')
		v = strtoll(arg, &end, 10);
	else
		v = 0;
	if (end == NULL || *end != '\0' || errno != 0 || v <= 0) {
		cmd_usage_error(ctx,
				_("invalid %s '%s' (expected a positive "
				  "number)"),
				what, output_clean(buf, sizeof(buf), arg));
		return -1;
	}
	*out = (int64_t)v;
	return 0;
}

int cmd_opt_id(const struct cmd_ctx *ctx, const char *name, int64_t *out)
{
	const char *v = cmd_opt_value(ctx, name);
	char what[64];

	*out = 0;
	if (v == NULL)
		return 0;
	snprintf(what, sizeof(what), "--%s", name);
	return cmd_arg_id(ctx, what, v, out);
}

int cmd_strv_push(struct cmd_strv *sv, const char *s)
{
	char *copy;

	if (sv->n == sv->cap) {
		size_t cap = sv->cap == 0 ? 8 : sv->cap * 2;
		char **v = realloc(sv->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		sv->v = v;
		sv->cap = cap;
	}
	copy = strdup(s);
	if (copy == NULL)
		return -1;
	sv->v[sv->n++] = copy;
	return 0;
}

int cmd_strv_split(struct cmd_strv *sv, const char *s)
{
	while (*s != '\0') {
		size_t len = strcspn(s, ",");
		const char *start = s, *end = s + len;
		char *item;
		int r;

		while (start < end && (*start == ' ' || *start == '\t'))
			start++;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (end > start) {
			item = strndup(start, (size_t)(end - start));
			if (item == NULL)
				return -1;
			r = cmd_strv_push(sv, item);
			free(item);
			if (r != 0)
				return -1;
		}
		s += len;
		if (*s == ',')
			s++;
	}
	return 0;
}

void cmd_strv_free(struct cmd_strv *sv)
{
	size_t i;

	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

int cmd_opt_list(const struct cmd_ctx *ctx, const char *name,
		 struct cmd_strv *sv)
{
	size_t i, n = cmd_opt_count(ctx, name);

	for (i = 0; i < n; i++) {
		if (cmd_strv_split(sv, cmd_opt_nth(ctx, name, i)) != 0) {
			output_warnx(_("out of memory"));
			return -1;
		}
	}
	return 0;
}

/* Options of main.c, for a better message when given after a command. */
static int cmd_is_global_option(const char *arg)
{
	static const char *const globals[] = {"--config", "-c", "--version",
					      "-V"};
	size_t i, n;

	for (i = 0; i < sizeof(globals) / sizeof(globals[0]); i++) {
		n = strlen(globals[i]);
		if (strncmp(arg, globals[i], n) == 0 &&
		    (arg[n] == '\0' || arg[n] == '='))
			return 1;
	}
	return 0;
}

/*
 * Parse the options of ctx->entry from argv (argv[0] is the last word of the
 * command name). Returns -1 when the command must not run, with *rc set (0
 * after --help); else the index of the first positional argument.
 */
static int cmd_parse(struct cmd_ctx *ctx, int argc, char **argv, int *rc)
{
	const struct cmd_option *o;
	struct option *longopts;
	char *optstring, *p;
	size_t n, i, k;
	int c, first = -1;

	o = cmd_options(ctx, &n);
	longopts = calloc(n + 3, sizeof(*longopts));
	optstring = malloc(3 * n + 4);
	ctx->optv = calloc((size_t)argc, sizeof(*ctx->optv));
	if (longopts == NULL || optstring == NULL || ctx->optv == NULL) {
		output_warnx(_("out of memory"));
		*rc = MAILLAGE_EXIT_UNAVAILABLE;
		goto out;
	}
	p = optstring;
	*p++ = ':'; /* tell a missing value from an unknown option */
	for (i = 0, k = 0; i < n; i++) {
		if (cmd_option_implicit(&o[i]))
			continue; /* --help and --json are everyone's */
		longopts[k].name = o[i].name;
		longopts[k].has_arg =
			o[i].arg != NULL ? required_argument : no_argument;
		longopts[k].val = CMD_OPT_BASE + (int)i;
		k++;
		if (o[i].short_name != 0) {
			*p++ = (char)o[i].short_name;
			if (o[i].arg != NULL)
				*p++ = ':';
		}
	}
	longopts[k].name = "help";
	longopts[k].val = CMD_OPT_HELP;
	longopts[k + 1].name = "json";
	longopts[k + 1].val = CMD_OPT_JSON;
	*p++ = 'h';
	*p++ = 'j';
	*p = '\0';

	optind = 0; /* full reset of GNU getopt */
	opterr = 0;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		char buf[64];
		size_t idx;

		if (c == CMD_OPT_HELP) {
			cmd_print_help(stdout, ctx->entry);
			*rc = MAILLAGE_EXIT_OK;
			goto out;
		}
		if (c == CMD_OPT_JSON) {
			ctx->json = 1;
			continue;
		}
		if (c == '?' || c == ':') {
			const char *arg = argv[optind - 1];

			if (optopt != 0 && optopt < CMD_OPT_BASE &&
			    (arg[0] != '-' || arg[1] != '-'))
				snprintf(buf, sizeof(buf), "-%c", optopt);
			else
				output_clean(buf, sizeof(buf), arg);
			if (c == '?' && cmd_is_global_option(arg))
				*rc = cmd_usage_error(
					ctx,
					_("option '%s' is a global option: "
					  "give it before the command"),
					buf);
			else
				*rc = cmd_usage_error(
					ctx,
					c == '?' ? "unknown option '%s'"
						 : "option '%s' needs a value",
					buf);
			goto out;
		}
		if (c >= CMD_OPT_BASE) {
			idx = (size_t)(c - CMD_OPT_BASE);
		} else {
			for (idx = 0; idx < n; idx++)
				if (o[idx].short_name == c)
					break;
		}
		ctx->optv[ctx->optc].index = idx;
		ctx->optv[ctx->optc].value = optarg;
		ctx->optc++;
	}
	first = optind;
out:
	free(longopts);
	free(optstring);
	return first;
}

int cmd_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct cmd_entry *e;
	struct cerr err;
	int consumed, first, nargs, i, k, rc = MAILLAGE_EXIT_OK;
	char **args, name[128];

	e = cmd_find(argc, argv, &consumed);
	if (e == NULL) {
		output_clean(name, sizeof(name), argv[0]);
		k = cmd_print_group(stderr, argc, argv);
		for (i = 1; i < k; i++) {
			/* the group's name: "case party" */
			char word[64];
			size_t len = strlen(name);

			output_clean(word, sizeof(word), argv[i]);
			snprintf(name + len, sizeof(name) - len, " %s", word);
		}
		if (k > 0 && k == argc) {
			output_warnx(_("'%s' needs a command (see above)"),
				     name);
			return MAILLAGE_EXIT_USAGE;
		}
		if (k > 0) {
			char sub[64];

			output_warnx(_("'%s' has no command '%s' (see above)"),
				     name,
				     output_clean(sub, sizeof(sub), argv[k]));
			return MAILLAGE_EXIT_USAGE;
		}
		output_warnx(_("unknown command '%s'"), name);
		fprintf(stderr, _("Run 'maillage help' for the list of "
				  "commands.\n"));
		return MAILLAGE_EXIT_USAGE;
	}
	ctx->entry = e;
	argc -= consumed - 1;
	argv += consumed - 1;
	first = cmd_parse(ctx, argc, argv, &rc);
	if (first < 0)
		goto out;
	args = argv + first;
	nargs = argc - first;
	if (nargs < e->min_args) {
		rc = cmd_usage_error(ctx, _("too few arguments"));
		goto out;
	}
	if (e->max_args >= 0 && nargs > e->max_args) {
		char buf[64];

		rc = cmd_usage_error(
			ctx, _("unexpected argument '%s'"),
			output_clean(buf, sizeof(buf), args[e->max_args]));
		goto out;
	}
	if (e->check != NULL &&
	    (rc = e->check(ctx, nargs, args)) != MAILLAGE_EXIT_OK)
		goto out;
	if (e->flags & CMD_NEEDS_CONFIG) {
		int r;

		if (ctx->config_path == NULL) {
			output_warnx(
				_("no configuration file: set HOME or "
				  "XDG_CONFIG_HOME, or use --config FILE"));
			rc = MAILLAGE_EXIT_USAGE;
			goto out;
		}
		r = conf_load(ctx->config_path, &ctx->conf, &err);
		if (r != 0) {
			rc = output_error(&err);
			if (r == -2 && ctx->config_is_default)
				output_warnx(
					_("this is the default "
					  "configuration file; use --config "
					  "FILE to give another"));
			goto out;
		}
	}
	if ((e->flags & CMD_NEEDS_CONNECTION) == CMD_NEEDS_CONNECTION) {
		if (net_connect(ctx->conf, "maillage/" MAILLAGE_VERSION,
				&ctx->conn, &err) != 0) {
			rc = output_error(&err);
			goto out;
		}
	}
	rc = e->exec(ctx, nargs, args);
out:
	net_close(ctx->conn);
	ctx->conn = NULL;
	conf_free(ctx->conf);
	ctx->conf = NULL;
	if (ctx->data != NULL && ctx->data_free != NULL)
		ctx->data_free(ctx->data);
	ctx->data = NULL;
	ctx->data_free = NULL;
	free(ctx->optv);
	ctx->optv = NULL;
	ctx->optc = 0;
	return rc;
}

int cmd_reconnect(struct cmd_ctx *ctx, struct cerr *err)
{
	net_close(ctx->conn);
	ctx->conn = NULL;
	return net_connect(ctx->conf, "maillage/" MAILLAGE_VERSION, &ctx->conn,
			   err);
}
