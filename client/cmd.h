/*
 * cmd: the command table of `maillage`, tmux-style. This module owns the
 * table of commands (each family file exports a const struct cmd_entry
 * per command, declared below and listed in cmd_table[] in cmd.c), the
 * lookup of a command by name or alias, the parsing of its options and
 * arguments from the entry's declaration (so that -h/--help, --json,
 * unknown options and argument counts are handled the same way for all),
 * the help text generated from the entries, and the run of a command:
 * configuration and connection are set up for it when its flags ask for
 * them, and torn down after.
 *
 * Names are matched exactly (or by alias): no prefix matching, so that a
 * script keeps working when commands are added. A name may have several
 * words ("notice send"), matched against as many arguments; `maillage
 * notice` alone then lists the commands of the group.
 *
 * Adding a command family: write client/cmd-foo.c exporting one
 * `const struct cmd_entry cmd_foo_entry` per command, declare them below
 * and add them to cmd_table[] in cmd.c (client/CMakeLists.txt picks up
 * cmd-*.c). --json is accepted after the command name as well as before.
 * Helpers shared by the commands live here too: positive ids given as
 * arguments, repeatable comma-separated options, reconnection.
 */
#ifndef MAILLAGE_CMD_H
#define MAILLAGE_CMD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cerr.h"
#include "conf.h"
#include "i18n.h"
#include "net.h"

/* Flags of a cmd_entry. */
#define CMD_NEEDS_CONFIG 0x1u	  /* load the client configuration */
#define CMD_NEEDS_CONNECTION 0x3u /* and connect (implies the config) */

/*
 * One option of a command; arrays end with an entry whose name is NULL.
 * -h/--help and -j/--json are taken by every command.
 */
struct cmd_option {
	const char *name; /* long name, without "--" */
	int short_name;	  /* 0 for none */
	const char *arg;  /* placeholder of its value ("N"), NULL: a flag */
	const char *help; /* one line */
};

struct cmd_optval {
	size_t index;	   /* in the entry's options[] */
	const char *value; /* NULL for a flag */
};

struct cmd_ctx {
	const char *config_path; /* --config, or the default */
	int config_is_default;
	int json; /* --json */
	const struct cmd_entry *entry;
	struct conf *conf;	 /* set when the entry needs the config */
	struct net_conn *conn;	 /* set when it needs the connection */
	struct cmd_optval *optv; /* options given, in order */
	size_t optc;
	/*
	 * What the entry's check prepared for its exec (e.g. a request read
	 * from files), and how to free it; cmd_run frees it after exec.
	 */
	void *data;
	void (*data_free)(void *data);
};

/* A growable list of malloc'd strings. */
struct cmd_strv {
	char **v;
	size_t n;
	size_t cap;
};

struct cmd_entry {
	const char *name;    /* may have several words: "notice send" */
	const char *alias;   /* or NULL */
	const char *usage;   /* after the name: "[--count N]" */
	const char *summary; /* one line, for the list */
	const char *help;    /* paragraphs, with an example */
	/*
	 * Run with the positional arguments left after the options (argv[0]
	 * is the first of them, not the command name). Returns an exit code
	 * (MAILLAGE_EXIT_*), having printed any error itself.
	 */
	int (*exec)(struct cmd_ctx *ctx, int argc, char **argv);
	unsigned flags;
	/*
	 * Optional: validate options and arguments before the configuration
	 * is read and the connection made, so that a usage error costs no
	 * connection. Same arguments as exec; returns MAILLAGE_EXIT_OK to go
	 * on, or an exit code after printing the error (cmd_usage_error).
	 */
	int (*check)(struct cmd_ctx *ctx, int argc, char **argv);
	const struct cmd_option *options; /* NULL when none */
	int min_args;			  /* positional arguments */
	int max_args;			  /* -1: no maximum */
};

/* The table, NULL-terminated, in the order of the help list. */
extern const struct cmd_entry *const cmd_table[];

/* Command families (one line each; keep in the order of cmd_table). */
extern const struct cmd_entry cmd_help_entry;
extern const struct cmd_entry cmd_ping_entry;
extern const struct cmd_entry cmd_whoami_entry;
extern const struct cmd_entry cmd_notice_send_entry;
extern const struct cmd_entry cmd_notice_new_entry;
extern const struct cmd_entry cmd_inbox_entry;
extern const struct cmd_entry cmd_ack_entry;
extern const struct cmd_entry cmd_case_list_entry;
extern const struct cmd_entry cmd_case_show_entry;
extern const struct cmd_entry cmd_case_status_entry;
extern const struct cmd_entry cmd_case_party_add_entry;
extern const struct cmd_entry cmd_case_party_remove_entry;
extern const struct cmd_entry cmd_case_lead_entry;
extern const struct cmd_entry cmd_case_close_entry;
extern const struct cmd_entry cmd_case_reopen_entry;
extern const struct cmd_entry cmd_indicators_entry;
extern const struct cmd_entry cmd_watch_entry;
extern const struct cmd_entry cmd_audit_log_entry;
extern const struct cmd_entry cmd_audit_who_read_entry;
extern const struct cmd_entry cmd_audit_export_entry;
extern const struct cmd_entry cmd_audit_verify_entry;
extern const struct cmd_entry cmd_network_list_entry;
extern const struct cmd_entry cmd_network_show_entry;
extern const struct cmd_entry cmd_training_add_entry;
extern const struct cmd_entry cmd_training_edit_entry;
extern const struct cmd_entry cmd_training_list_entry;
extern const struct cmd_entry cmd_training_show_entry;
extern const struct cmd_entry cmd_training_codes_entry;
extern const struct cmd_entry cmd_report_reach_entry;
extern const struct cmd_entry cmd_report_impact_entry;
extern const struct cmd_entry cmd_person_search_entry;
extern const struct cmd_entry cmd_person_show_entry;
extern const struct cmd_entry cmd_person_candidates_entry;
extern const struct cmd_entry cmd_person_link_entry;
extern const struct cmd_entry cmd_person_unlink_entry;
extern const struct cmd_entry cmd_person_dismiss_entry;
extern const struct cmd_entry cmd_admin_institution_add_entry;
extern const struct cmd_entry cmd_admin_institution_list_entry;
extern const struct cmd_entry cmd_admin_institution_disable_entry;
extern const struct cmd_entry cmd_admin_institution_enable_entry;
extern const struct cmd_entry cmd_admin_account_add_entry;
extern const struct cmd_entry cmd_admin_account_list_entry;
extern const struct cmd_entry cmd_admin_account_disable_entry;
extern const struct cmd_entry cmd_admin_account_enable_entry;
extern const struct cmd_entry cmd_admin_account_rotate_entry;

/*
 * The entry named by the first words of argv (longest name first), and in
 * *consumed the number of words it took; NULL if none.
 */
const struct cmd_entry *cmd_find(int argc, char **argv, int *consumed);

/*
 * Run the command in argv (argv[0] is its first word): lookup, options,
 * help, configuration, connection, exec, cleanup. Returns the exit code.
 */
int cmd_run(struct cmd_ctx *ctx, int argc, char **argv);

/* General usage and the list of commands. */
void cmd_print_overview(FILE *fp);
/* Usage, summary, options and help text of one command. */
void cmd_print_help(FILE *fp, const struct cmd_entry *entry);
/*
 * If the first words of argv name a group ("notice" for "notice send",
 * ...), print its commands and return the number of words of the group
 * name; else 0.
 */
int cmd_print_group(FILE *fp, int argc, char **argv);

/* Print "maillage: <why>" and the command's usage line; returns 2. */
int cmd_usage_error(const struct cmd_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print `err` and return its exit code. */
int cmd_fail(struct cmd_ctx *ctx, const struct cerr *err);

/*
 * Whether an entry's option is one every command has already (--help,
 * --json): such a declaration is ignored, the implicit one applies.
 */
int cmd_option_implicit(const struct cmd_option *o);

/* Options given to the running command, by long name. */
int cmd_opt_isset(const struct cmd_ctx *ctx, const char *name);
/* Last value given for `name`, or NULL. */
const char *cmd_opt_value(const struct cmd_ctx *ctx, const char *name);
/* Number of times `name` was given, and its i-th value (repeatable). */
size_t cmd_opt_count(const struct cmd_ctx *ctx, const char *name);
const char *cmd_opt_nth(const struct cmd_ctx *ctx, const char *name, size_t i);
/*
 * Value of `name` as an unsigned in [min, max], `def` when absent. 0, or
 * -1 after printing a usage error (the command returns
 * MAILLAGE_EXIT_USAGE).
 */
int cmd_opt_uint(const struct cmd_ctx *ctx, const char *name, unsigned def,
		 unsigned min, unsigned max, unsigned *out);

/*
 * `arg`, the argument called `what` ("case id"), as a positive id
 * (1 to 2^63-1). 0, or -1 after printing a usage error.
 */
int cmd_arg_id(const struct cmd_ctx *ctx, const char *what, const char *arg,
	       int64_t *out);

/* Value of option `name` as an id (see cmd_arg_id), 0 when absent. */
int cmd_opt_id(const struct cmd_ctx *ctx, const char *name, int64_t *out);

/* Append a copy of `s`. 0, or -1 when out of memory. */
int cmd_strv_push(struct cmd_strv *sv, const char *s);
/*
 * Append the items of the comma-separated `s`, blanks around them
 * trimmed, empty ones skipped. 0, or -1 when out of memory.
 */
int cmd_strv_split(struct cmd_strv *sv, const char *s);
void cmd_strv_free(struct cmd_strv *sv);

/*
 * All the values of the repeatable option `name`, each split at commas
 * ("--to a,b --to c": a, b, c), appended to `sv`. 0, or -1 when out of
 * memory (printed).
 */
int cmd_opt_list(const struct cmd_ctx *ctx, const char *name,
		 struct cmd_strv *sv);

/*
 * Close ctx->conn and connect again (after a lost connection). 0, or -1
 * with `err` set.
 */
int cmd_reconnect(struct cmd_ctx *ctx, struct cerr *err);

#endif
