/*
 * main: entry point of `maillage`, the command-line client of maillaged.
 * This module owns the global options (--config, --json, --help,
 * --version), which stop at the first non-option word, the command; the
 * command itself is looked up and run by the cmd module.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "i18n.h"
#include "conf.h"
#include "output.h"

#ifndef MAILLAGE_VERSION
#define MAILLAGE_VERSION "0.0.0"
#endif

static void main_short_usage(void)
{
	fprintf(stderr, _("usage: maillage [--config FILE] [--json] COMMAND "
			  "[ARGUMENTS]\n"
			  "Run 'maillage help' for the list of commands.\n"));
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct cmd_ctx ctx;
	char *default_path = NULL, buf[64];
	int c, rc, flush_rc;

	i18n_init();
	signal(SIGPIPE, SIG_IGN);
	memset(&ctx, 0, sizeof(ctx));
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:c:jhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ctx.config_path = optarg;
			break;
		case 'j':
			ctx.json = 1;
			break;
		case 'h':
			cmd_print_overview(stdout);
			return MAILLAGE_EXIT_OK;
		case 'V':
			printf("maillage %s\n", MAILLAGE_VERSION);
			return MAILLAGE_EXIT_OK;
		case ':':
			output_warnx(_("option '%s' needs a value"),
				     output_clean(buf, sizeof(buf),
						  argv[optind - 1]));
			main_short_usage();
			return MAILLAGE_EXIT_USAGE;
		default:
			if (optopt != 0 && argv[optind - 1][1] != '-')
				output_warnx(_("unknown option '-%c'"), optopt);
			else
				output_warnx(_("unknown option '%s'"),
					     output_clean(buf, sizeof(buf),
							  argv[optind - 1]));
			main_short_usage();
			return MAILLAGE_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		output_warnx(_("no command given"));
		main_short_usage();
		return MAILLAGE_EXIT_USAGE;
	}
	if (ctx.config_path == NULL) {
		default_path = conf_default_path();
		ctx.config_path = default_path;
		ctx.config_is_default = 1;
	}
	rc = cmd_run(&ctx, argc - optind, argv + optind);
	free(default_path);
	flush_rc = output_flush();
	if (rc == MAILLAGE_EXIT_OK)
		rc = flush_rc;
	return rc;
}
