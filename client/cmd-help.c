/*
 * cmd-help: `maillage help [COMMAND]`, the list of commands or the help of
 * one, both generated from the command table.
 */
#include "cmd.h"
#include "output.h"

static int cmd_help_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct cmd_entry *e;
	int consumed;
	char name[64];

	(void)ctx;
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
	output_warnx("no command '%s'",
		     output_clean(name, sizeof(name), argv[0]));
	fprintf(stderr, "Run 'maillage help' for the list of commands.\n");
	return MAILLAGE_EXIT_USAGE;
}

const struct cmd_entry cmd_help_entry = {
	.name = "help",
	.alias = NULL,
	.usage = "[COMMAND]",
	.summary = "Show the list of commands, or the help of one command",
	.help = "Without argument, lists the commands with their summary, "
		"the global\n"
		"options and the exit codes. With a command name, shows its "
		"usage,\n"
		"options and help; 'maillage COMMAND --help' does the same.\n"
		"\n"
		"Example:\n"
		"  maillage help ping\n",
	.exec = cmd_help_exec,
	.flags = 0,
	.options = NULL,
	.min_args = 0,
	.max_args = -1,
};
