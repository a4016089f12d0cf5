/*
 * cmd-help: `maillage help [COMMAND]`, the list of commands or the help of
 * one, both generated from the command table; and `maillage help --man`,
 * the COMMANDS section of maillage(1) generated from the same table, in the
 * light markup man/mkman.awk renders (so that the manual and the help
 * never disagree).
 */
#include "cmd.h"
#include "output.h"

#include <string.h>

/* `s` with its line breaks as blanks (a usage spread over lines). */
static void help_man_oneline(FILE *fp, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\n') {
			fputc(' ', fp);
			while (s[1] == ' ')
				s++;
		} else {
			fputc(*s, fp);
		}
	}
}

/*
 * A help text as markup: indented lines (examples) become literal blocks,
 * the rest stays text; a line that could read as markup is kept as text.
 */
static void help_man_text(FILE *fp, const char *h)
{
	while (*h != '\0') {
		size_t len = strcspn(h, "\n");

		if (h[0] == ' ')
			fprintf(fp, "  %.*s\n", (int)len, h);
		else if (len > 1 &&
			 (h[0] == '#' || h[0] == '@' || h[0] == '%' ||
			  (h[0] == '-' && h[1] == ' ')))
			fprintf(fp, "\\%.*s\n", (int)len, h);
		else
			fprintf(fp, "%.*s\n", (int)len, h);
		h += len;
		if (*h == '\n')
			h++;
	}
}

/*
 * One line per command for shell completion: its name, a tab, its long
 * options (those taking a value end with '='), the implicit ones included.
 */
static void help_commands(FILE *fp)
{
	const struct cmd_option *o;
	int i;

	for (i = 0; cmd_table[i] != NULL; i++) {
		const struct cmd_entry *e = cmd_table[i];

		fprintf(fp, "%s\t", e->name);
		for (o = e->options; o != NULL && o->name != NULL; o++)
			if (!cmd_option_implicit(o))
				fprintf(fp, "--%s%s ", o->name,
					o->arg != NULL ? "=" : "");
		fputs("--json --help\n", fp);
	}
}

static void help_man(FILE *fp)
{
	const struct cmd_option *o;
	int i;

	for (i = 0; cmd_table[i] != NULL; i++) {
		const struct cmd_entry *e = cmd_table[i];

		fprintf(fp, "## %s\n", e->name);
		fprintf(fp, "`maillage %s`", e->name);
		if (e->usage != NULL && e->usage[0] != '\0') {
			fputc(' ', fp);
			help_man_oneline(fp, e->usage);
		}
		fprintf(fp, "\n\n%s.\n\n", _(e->summary));
		for (o = e->options; o != NULL && o->name != NULL; o++) {
			if (cmd_option_implicit(o))
				continue;
			fputs("@ ", fp);
			if (o->short_name != 0)
				fprintf(fp, "`-%c`, ", o->short_name);
			fprintf(fp, "`--%s`", o->name);
			if (o->arg != NULL)
				fprintf(fp, " *%s*", o->arg);
			fprintf(fp, "\n%s\n", _(o->help));
		}
		if (e->help != NULL && e->help[0] != '\0') {
			fputc('\n', fp);
			help_man_text(fp, _(e->help));
		}
		fputc('\n', fp);
	}
}

static int cmd_help_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct cmd_entry *e;
	int consumed;
	char name[64];

	if (cmd_opt_isset(ctx, "commands")) {
		help_commands(stdout);
		return MAILLAGE_EXIT_OK;
	}
	if (cmd_opt_isset(ctx, "man")) {
		help_man(stdout);
		return MAILLAGE_EXIT_OK;
	}
	if (argc == 0) {
		cmd_print_overview(stdout);
		return MAILLAGE_EXIT_OK;
	}
	e = cmd_find(argc, argv, &consumed);
	if (e != NULL && consumed == argc) {
		cmd_print_help(stdout, e);
		return MAILLAGE_EXIT_OK;
	}
	if (e == NULL && cmd_print_group(stdout, argc, argv) == argc)
		return MAILLAGE_EXIT_OK;
	output_warnx(_("no command '%s'"),
		     output_clean(name, sizeof(name), argv[0]));
	fprintf(stderr, _("Run 'maillage help' for the list of commands.\n"));
	return MAILLAGE_EXIT_USAGE;
}

static const struct cmd_option cmd_help_options[] = {
	{"commands", 0, NULL,
	 N_("print each command and its options, for shell completion")},
	{"man", 0, NULL,
	 N_("print the commands as the source of the manual page maillage(1)")},
	{NULL, 0, NULL, NULL},
};

const struct cmd_entry cmd_help_entry = {
	.name = "help",
	.alias = NULL,
	.usage = "[COMMAND]",
	.summary = N_("Show the list of commands, or the help of one command"),
	.help = N_(
		"Without argument, lists the commands with their summary, "
		"the global\n"
		"options and the exit codes. With a command name, shows its "
		"usage,\n"
		"options and help; 'maillage COMMAND --help' does the same.\n"
		"\n"
		"Example:\n"
		"  maillage help ping\n"),
	.exec = cmd_help_exec,
	.flags = 0,
	.options = cmd_help_options,
	.min_args = 0,
	.max_args = -1,
};
