/*
 * cmd-indicators: `maillage indicators`, the reference list of trafficking
 * indicators (code, category, strength, French and English labels) that
 * notices and status changes cite, as the server holds it.
 */
#include "cmd.h"
#include "output.h"
#include "view.h"

#include <string.h>

static int cmd_indicators_check(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *lang = cmd_opt_value(ctx, "lang");

	(void)argc;
	(void)argv;
	if (lang != NULL && strcmp(lang, "en") != 0 && strcmp(lang, "fr") != 0)
		return cmd_usage_error(ctx, _("--lang is en or fr"));
	return MAILLAGE_EXIT_OK;
}

static int indicators_json(const Maillage__IndicatorsResult *r)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < r->n_indicators; i++) {
		if (json_array_append_new(
			    a, view_json_indicator(r->indicators[i])) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return output_json(a);
}

static int indicators_text(const Maillage__IndicatorsResult *r, int french)
{
	static const char *const headers[] = {N_("CODE"), N_("CATEGORY"),
					      N_("STRENGTH"), N_("LABEL")};
	struct view_table *t;
	size_t i;

	if (r->n_indicators == 0) {
		printf(_("No indicators.\n"));
		return MAILLAGE_EXIT_OK;
	}
	t = view_table_new(4, headers);
	if (t == NULL)
		goto oom;
	for (i = 0; i < r->n_indicators; i++) {
		const Maillage__Indicator *ind = r->indicators[i];
		const char *cells[4];

		cells[0] = ind->code;
		cells[1] = ind->category;
		cells[2] = i18n_label(i18n_strengths, ind->strength);
		cells[3] = french ? ind->label_fr : ind->label_en;
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

static int cmd_indicators_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__Indicators in = MAILLAGE__INDICATORS__INIT;
	const char *cat = cmd_opt_value(ctx, "category");
	const char *lang = cmd_opt_value(ctx, "lang");
	struct frame_msg *resp = NULL;
	struct cerr err;
	int rc;

	(void)argc;
	(void)argv;
	if (cat != NULL)
		in.category = (char *)cat;
	req.body_case = MAILLAGE__ENVELOPE__BODY_INDICATORS;
	req.indicators = &in;
	if (net_call(ctx->conn, &req,
		     MAILLAGE__ENVELOPE__BODY_INDICATORS_RESULT, &resp,
		     &err) != 0)
		return cmd_fail(ctx, &err);
	if (ctx->json)
		rc = indicators_json(resp->env->indicators_result);
	else
		rc = indicators_text(resp->env->indicators_result,
				     lang != NULL ? strcmp(lang, "fr") == 0
						  : i18n_french());
	frame_msg_free(resp);
	return rc;
}

static const struct cmd_option cmd_indicators_options[] = {
	{"category", 'c', "CATEGORY",
	 N_("only this category (control, "
	    "identity...)")},
	{"lang", 0, "en|fr",
	 N_("language of the labels (default: that of the messages)")},
	{NULL, 0, NULL, NULL},
};

const struct cmd_entry cmd_indicators_entry = {
	.name = "indicators",
	.alias = NULL,
	.usage = "[--category CATEGORY] [--lang en|fr]",
	.summary = N_("List the trafficking indicators notices may cite"),
	.help = N_(
		"Lists the reference list of trafficking indicators: signs of "
		"recruitment,\n"
		"of control, of forced offending, of mobility, of doubts on "
		"age or\n"
		"identity, of health or danger... Each has a code (what "
		"'notice send\n"
		"--indicator' and 'case status --indicator' take), a "
		"category, a\n"
		"strength (strong, medium, weak) and labels in French and "
		"English.\n"
		"Every account may list them.\n"
		"\n"
		"With --json: an array of {\"code\", \"category\", "
		"\"label_fr\", \"label_en\",\n"
		"\"strength\"}.\n"
		"\n"
		"Example:\n"
		"  $ maillage indicators --category control --lang fr\n"
		"  CODE              CATEGORY  STRENGTH  LABEL\n"
		"  CTRL_ADULT_WATCH  control   strong    Accompagné, surveillé "
		"ou attendu...\n"),
	.exec = cmd_indicators_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_indicators_check,
	.options = cmd_indicators_options,
	.min_args = 0,
	.max_args = 0,
};
