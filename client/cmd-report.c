/*
 * cmd-report: `maillage report reach` and `maillage report impact`, the
 * coordinators' reports on the awareness sessions, for the annual activity
 * report. This module owns their four renderings (a table for the
 * terminal, CSV, JSON with the protocol's field names, and one
 * self-contained HTML page with inline SVG charts drawn by svg.c: no
 * script, no external resource, printable) and the small-count
 * suppression of --publishable reports: a count of people (participants;
 * notices and identifications, which are about young people) from 1 to 4
 * is shown as "<5", and when a column of a breakdown has exactly one such
 * cell, the smallest other non-zero cell of that column is hidden too
 * ("*"), so that the small one cannot be deduced from the total. Counts of
 * sessions and institutions single no one out and stay as they are. The
 * figures are the server's; nothing is computed here but the impact
 * report's sums.
 */
#include "cmd.h"
#include "output.h"
#include "svg.h"
#include "view.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define RP_SMALL 5 /* counts under this are suppressed when publishable */
#define RP_SUP_SMALL 1
#define RP_SUP_SECONDARY 2

enum rp_format { RP_TABLE = 0, RP_CSV, RP_JSON, RP_HTML };

struct rp_opts {
	enum rp_format format;
	int publishable;
	int fr;
};

/* Text in the report's language. */
#define RP_T(o, en_text, fr_text) ((o)->fr ? (fr_text) : (en_text))

/* ---- counts as they may be shown ---------------------------------------- */

struct rp_cell {
	long v;
	int sup; /* 0, RP_SUP_SMALL or RP_SUP_SECONDARY */
};

static struct rp_cell rp_cell(long v, int publishable)
{
	struct rp_cell c = {v, 0};

	if (publishable && v > 0 && v < RP_SMALL)
		c.sup = RP_SUP_SMALL;
	return c;
}

/*
 * Secondary suppression of a column: with exactly one small cell hidden,
 * the smallest other non-zero shown cell is hidden too.
 */
static void rp_column(struct rp_cell **cells, size_t n)
{
	size_t i, hidden = 0, best = n;

	for (i = 0; i < n; i++)
		hidden += cells[i]->sup != 0;
	if (hidden != 1)
		return;
	for (i = 0; i < n; i++) {
		if (cells[i]->sup != 0 || cells[i]->v == 0)
			continue;
		if (best == n || cells[i]->v < cells[best]->v)
			best = i;
	}
	if (best < n)
		cells[best]->sup = RP_SUP_SECONDARY;
}

static const char *rp_text(char buf[24], const struct rp_cell *c)
{
	if (c->sup == RP_SUP_SMALL)
		return "<5";
	if (c->sup == RP_SUP_SECONDARY)
		return "*";
	snprintf(buf, 24, "%ld", c->v);
	return buf;
}

static json_t *rp_json(const struct rp_cell *c)
{
	char buf[24];

	if (c->sup != 0)
		return json_string(rp_text(buf, c));
	return json_integer((json_int_t)c->v);
}

/* The length of its bar in a chart: none when hidden. */
static double rp_bar(const struct rp_cell *c)
{
	return c->sup != 0 ? -1.0 : (double)c->v;
}

/* ---- CSV -------------------------------------------------------------- */

/*
 * One CSV field: quoted when it holds a separator, a quote or a line
 * break; a leading = + - @ (a formula to a spreadsheet) is neutralised
 * with a quote mark. Server strings are sanitized first.
 */
static void rp_csv_field(const char *s, int last)
{
	char *clean = output_sanitize(s != NULL ? s : "");
	const char *p;
	int quote;

	if (clean == NULL) {
		fputs(last ? "\n" : ",", stdout);
		return;
	}
	quote = strpbrk(clean, ",\"\r\n") != NULL;
	if (quote)
		putchar('"');
	if (strchr("=+-@", clean[0]) != NULL && clean[0] != '\0')
		putchar('\'');
	for (p = clean; *p != '\0'; p++) {
		if (*p == '"')
			putchar('"');
		putchar(*p);
	}
	if (quote)
		putchar('"');
	fputs(last ? "\n" : ",", stdout);
	free(clean);
}

static void rp_csv_cell(const struct rp_cell *c, int last)
{
	char buf[24];

	rp_csv_field(rp_text(buf, c), last);
}

/* ---- HTML ------------------------------------------------------------- */

static const char rp_css[] =
	"body{font-family:sans-serif;margin:2em auto;max-width:60em;"
	"color:#1a202c}\n"
	"h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em;"
	"border-bottom:1px solid #cbd5e0}\n"
	"table{border-collapse:collapse;margin:.5em 0;font-size:.85em}\n"
	"th,td{border:1px solid #cbd5e0;padding:.2em .6em;text-align:left}\n"
	"td.n{text-align:right}\n"
	".chart{display:block;max-width:100%;height:auto}\n"
	".chart .label{font-size:11px;fill:#2d3748}\n"
	".chart .value{font-size:11px;fill:#1a202c}\n"
	".note{color:#4a5568;font-size:.9em}\n"
	"@media print{section{break-inside:avoid}}\n";

static void rp_html_head(const struct rp_opts *o, const char *title)
{
	printf("<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n"
	       "<meta charset=\"utf-8\" />\n"
	       "<meta name=\"viewport\" content=\"width=device-width, "
	       "initial-scale=1\" />\n<title>",
	       o->fr ? "fr" : "en");
	svg_text(stdout, title);
	printf("</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>", rp_css);
	svg_text(stdout, title);
	fputs("</h1>\n", stdout);
}

static void rp_html_note(const struct rp_opts *o)
{
	if (!o->publishable)
		return;
	fputs("<p class=\"note\">", stdout);
	svg_text(stdout,
		 RP_T(o,
		      "Publishable version: counts of people from 1 to 4 are "
		      "shown as <5; a count marked * is hidden so that a "
		      "small one cannot be deduced from the total.",
		      "Version publiable : les effectifs de personnes de 1 à "
		      "4 sont affichés <5 ; un effectif marqué * est masqué "
		      "pour qu'un petit effectif ne puisse pas être déduit "
		      "du total."));
	fputs("</p>\n", stdout);
}

static void rp_html_foot(void)
{
	fputs("</body>\n</html>\n", stdout);
}

static void rp_html_th(const char *s)
{
	fputs("<th>", stdout);
	svg_text(stdout, s);
	fputs("</th>", stdout);
}

static void rp_html_td(const char *s)
{
	fputs("<td>", stdout);
	svg_text(stdout, s);
	fputs("</td>", stdout);
}

static void rp_html_tdn(const struct rp_cell *c)
{
	char buf[24];

	fputs("<td class=\"n\">", stdout);
	svg_text(stdout, rp_text(buf, c));
	fputs("</td>", stdout);
}

/* ---- options ---------------------------------------------------------- */

static int rp_opts_read(struct cmd_ctx *ctx, struct rp_opts *o)
{
	const char *f = cmd_opt_value(ctx, "format");
	const char *lang = cmd_opt_value(ctx, "lang");

	memset(o, 0, sizeof(*o));
	if (f == NULL)
		o->format = ctx->json ? RP_JSON : RP_TABLE;
	else if (strcmp(f, "table") == 0)
		o->format = RP_TABLE;
	else if (strcmp(f, "csv") == 0)
		o->format = RP_CSV;
	else if (strcmp(f, "json") == 0)
		o->format = RP_JSON;
	else if (strcmp(f, "html") == 0)
		o->format = RP_HTML;
	else
		return cmd_usage_error(
			ctx, _("--format is table, csv, json or html"));
	if (ctx->json && o->format != RP_JSON)
		return cmd_usage_error(ctx, _("--json goes with --format json "
					      "only"));
	if (lang != NULL && strcmp(lang, "en") != 0 && strcmp(lang, "fr") != 0)
		return cmd_usage_error(ctx, _("--lang is en or fr"));
	/* Tables and pages follow the user's language; CSV and JSON stay
	 * in English unless asked. */
	if (lang != NULL)
		o->fr = strcmp(lang, "fr") == 0;
	else
		o->fr = (o->format == RP_TABLE || o->format == RP_HTML) &&
			i18n_french();
	o->publishable = cmd_opt_isset(ctx, "publishable");
	return MAILLAGE_EXIT_OK;
}

static int rp_oom(void)
{
	output_warnx(_("out of memory"));
	return MAILLAGE_EXIT_UNAVAILABLE;
}

/* ---- report reach: the model ------------------------------------------ */

enum rp_section_id {
	RS_PROFILE = 0,
	RS_KIND,
	RS_DEPARTEMENT,
	RS_MODULE,
	RS_FORMAT,
	RS_MONTH,
	RS_COUNT
};

struct rp_row {
	const Maillage__ReportRow *src;
	struct rp_cell sessions, participants, institutions;
};

struct rp_section {
	const char *json;		 /* "by_profile" */
	const char *csv;		 /* "profile" */
	const char *title_en, *title_fr; /* heading */
	const char *key_en, *key_fr;	 /* header of the key column */
	int with_label;			 /* labels differ from keys */
	int chart_sessions;		 /* chart the sessions (else people) */
	int vertical;			 /* a time series */
	struct rp_row *rows;
	size_t n;
};

struct rp_reach {
	const Maillage__ReachReport *r;
	struct rp_cell sessions, participants, institutions;
	struct rp_section s[RS_COUNT];
};

static const struct rp_section rp_sections[RS_COUNT] = {
	{"by_profile", "profile", "Participants by profile",
	 "Participants par profil", "PROFILE", "PROFIL", 1, 0, 0, NULL, 0},
	{"by_kind", "kind", "Participants by institution kind",
	 "Participants par type d'institution", "KIND", "TYPE", 1, 0, 0, NULL,
	 0},
	{"by_departement", "departement", "Participants by département",
	 "Participants par département", "DEPARTEMENT", "DÉPARTEMENT", 0, 0, 0,
	 NULL, 0},
	{"by_module", "module", "Sessions by module", "Sessions par module",
	 "MODULE", "MODULE", 1, 1, 0, NULL, 0},
	{"by_format", "format", "Sessions by format", "Sessions par format",
	 "FORMAT", "FORMAT", 1, 1, 0, NULL, 0},
	{"by_month", "month", "Participants by month", "Participants par mois",
	 "MONTH", "MOIS", 0, 0, 1, NULL, 0},
};

static void rp_reach_free(struct rp_reach *m)
{
	size_t i;

	for (i = 0; i < RS_COUNT; i++)
		free(m->s[i].rows);
}

static int rp_section_fill(struct rp_section *s, Maillage__ReportRow **rows,
			   size_t n, int publishable)
{
	struct rp_cell **col;
	size_t i;

	s->rows = calloc(n + 1, sizeof(*s->rows));
	col = calloc(n + 1, sizeof(*col));
	if (s->rows == NULL || col == NULL) {
		free(col);
		return -1;
	}
	s->n = n;
	/* Sessions and institutions single no one out: shown as they are. */
	for (i = 0; i < n; i++) {
		s->rows[i].src = rows[i];
		s->rows[i].sessions = rp_cell(rows[i]->sessions, 0);
		s->rows[i].participants =
			rp_cell(rows[i]->participants, publishable);
		s->rows[i].institutions = rp_cell(rows[i]->institutions, 0);
		col[i] = &s->rows[i].participants;
	}
	rp_column(col, n);
	free(col);
	return 0;
}

static int rp_reach_model(struct rp_reach *m, const Maillage__ReachReport *r,
			  int publishable)
{
	Maillage__ReportRow **rows[RS_COUNT] = {r->by_profile,	   r->by_kind,
						r->by_departement, r->by_module,
						r->by_format,	   r->by_month};
	size_t n[RS_COUNT] = {r->n_by_profile,	   r->n_by_kind,
			      r->n_by_departement, r->n_by_module,
			      r->n_by_format,	   r->n_by_month};
	size_t i;

	memset(m, 0, sizeof(*m));
	m->r = r;
	m->sessions = rp_cell(r->sessions, 0);
	m->participants = rp_cell(r->participants, publishable);
	m->institutions = rp_cell(r->institutions, 0);
	for (i = 0; i < RS_COUNT; i++) {
		m->s[i] = rp_sections[i];
		m->s[i].rows = NULL;
		if (rp_section_fill(&m->s[i], rows[i], n[i], publishable) != 0)
			return -1;
	}
	return 0;
}

static const char *rp_label(const struct rp_opts *o,
			    const Maillage__ReportRow *r)
{
	return o->fr ? r->label_fr : r->label_en;
}

static const char *rp_hours(char buf[32], uint32_t minutes)
{
	snprintf(buf, 32, "%uh%02u", (unsigned)(minutes / 60),
		 (unsigned)(minutes % 60));
	return buf;
}

/* ---- report reach: renderings ----------------------------------------- */

static int rp_reach_table(const struct rp_opts *o, const struct rp_reach *m)
{
	const Maillage__ReachReport *r = m->r;
	char a[24], b[24], c[24], h[32];
	size_t i, j;

	printf("%s %s %s %s\n", RP_T(o, "Reach from", "Portée du"), r->from,
	       RP_T(o, "to", "au"), r->to);
	printf("%s: %s  %s: %s  %s: %s  %s: %s\n",
	       RP_T(o, "sessions", "sessions"), rp_text(a, &m->sessions),
	       RP_T(o, "participants", "participants"),
	       rp_text(b, &m->participants),
	       RP_T(o, "institutions", "institutions"),
	       rp_text(c, &m->institutions), RP_T(o, "hours", "heures"),
	       rp_hours(h, r->minutes));
	if (r->scored_sessions > 0)
		printf("%s: %.2f %s, %.2f %s (%s: %" PRIu32 ")\n",
		       RP_T(o, "self-assessment", "auto-évaluation"),
		       r->pre_score_mean, RP_T(o, "before", "avant"),
		       r->post_score_mean, RP_T(o, "after", "après"),
		       RP_T(o, "mean weighted by participants, sessions",
			    "moyenne pondérée par les participants, sessions"),
		       r->scored_sessions);
	for (i = 0; i < RS_COUNT; i++) {
		const struct rp_section *s = &m->s[i];
		const char *headers[5];
		struct view_table *t;
		size_t k = 0;

		headers[k++] = RP_T(o, s->key_en, s->key_fr);
		if (s->with_label)
			headers[k++] = RP_T(o, "LABEL", "LIBELLÉ");
		headers[k++] = "SESSIONS";
		headers[k++] = "PARTICIPANTS";
		headers[k++] = "INSTITUTIONS";
		t = view_table_new(k, headers);
		if (t == NULL)
			return rp_oom();
		for (j = 0; j < s->n; j++) {
			const char *cells[5];
			size_t q = 0;

			cells[q++] = s->rows[j].src->key;
			if (s->with_label)
				cells[q++] = rp_label(o, s->rows[j].src);
			cells[q++] = rp_text(a, &s->rows[j].sessions);
			cells[q++] = rp_text(b, &s->rows[j].participants);
			cells[q++] = rp_text(c, &s->rows[j].institutions);
			if (view_table_add(t, cells) != 0) {
				view_table_free(t);
				return rp_oom();
			}
		}
		printf("\n%s\n", RP_T(o, s->title_en, s->title_fr));
		if (s->n == 0)
			printf("  %s\n", RP_T(o, "(none)", "(aucun)"));
		else
			view_table_print(t, 2, 1);
		view_table_free(t);
	}
	if (o->publishable)
		printf("\n%s\n",
		       RP_T(o,
			    "Publishable: counts from 1 to 4 shown as <5; * "
			    "hidden so that a small count cannot be deduced "
			    "from the total.",
			    "Publiable : effectifs de 1 à 4 affichés <5 ; * "
			    "masqué pour qu'un petit effectif ne puisse pas "
			    "être déduit du total."));
	return MAILLAGE_EXIT_OK;
}

static int rp_reach_csv(const struct rp_opts *o, const struct rp_reach *m)
{
	size_t i, j;

	fputs("section,key,label,sessions,participants,institutions\n", stdout);
	rp_csv_field("total", 0);
	rp_csv_field("", 0);
	rp_csv_field(RP_T(o, "Total", "Total"), 0);
	rp_csv_cell(&m->sessions, 0);
	rp_csv_cell(&m->participants, 0);
	rp_csv_cell(&m->institutions, 1);
	for (i = 0; i < RS_COUNT; i++) {
		const struct rp_section *s = &m->s[i];

		for (j = 0; j < s->n; j++) {
			rp_csv_field(s->csv, 0);
			rp_csv_field(s->rows[j].src->key, 0);
			rp_csv_field(rp_label(o, s->rows[j].src), 0);
			rp_csv_cell(&s->rows[j].sessions, 0);
			rp_csv_cell(&s->rows[j].participants, 0);
			rp_csv_cell(&s->rows[j].institutions, 1);
		}
	}
	return output_flush();
}

static int rp_reach_json(const struct rp_opts *o, const struct rp_reach *m)
{
	const Maillage__ReachReport *r = m->r;
	json_t *doc;
	size_t i, j;

	doc = json_pack(
		"{s:o, s:o, s:o, s:b, s:o, s:o, s:o, s:I, s:I, s:o, s:o}",
		"from", output_jstr(r->from), "to", output_jstr(r->to),
		"generated_at", output_jstr(r->generated_at), "publishable",
		o->publishable, "sessions", rp_json(&m->sessions),
		"participants", rp_json(&m->participants), "institutions",
		rp_json(&m->institutions), "minutes", (json_int_t)r->minutes,
		"scored_sessions", (json_int_t)r->scored_sessions,
		"pre_score_mean",
		r->scored_sessions > 0 ? json_real(r->pre_score_mean)
				       : json_null(),
		"post_score_mean",
		r->scored_sessions > 0 ? json_real(r->post_score_mean)
				       : json_null());
	for (i = 0; doc != NULL && i < RS_COUNT; i++) {
		const struct rp_section *s = &m->s[i];
		json_t *a = json_array();

		for (j = 0; a != NULL && j < s->n; j++) {
			const struct rp_row *row = &s->rows[j];

			if (json_array_append_new(
				    a,
				    json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}",
					      "key", output_jstr(row->src->key),
					      "label_fr",
					      output_jstr(row->src->label_fr),
					      "label_en",
					      output_jstr(row->src->label_en),
					      "sessions",
					      rp_json(&row->sessions),
					      "participants",
					      rp_json(&row->participants),
					      "institutions",
					      rp_json(&row->institutions))) !=
			    0) {
				json_decref(a);
				a = NULL;
			}
		}
		if (a == NULL || json_object_set_new(doc, s->json, a) != 0) {
			json_decref(doc);
			doc = NULL;
		}
	}
	return output_json(doc);
}

static void rp_html_section(const struct rp_opts *o, const struct rp_section *s)
{
	const char *title = RP_T(o, s->title_en, s->title_fr);
	struct svg_bar *bars = calloc(s->n + 1, sizeof(*bars));
	char(*shown)[24] = calloc(s->n + 1, sizeof(*shown));
	size_t j;

	fputs("<section>\n<h2>", stdout);
	svg_text(stdout, title);
	fputs("</h2>\n", stdout);
	if (bars != NULL && shown != NULL && s->n > 0) {
		for (j = 0; j < s->n; j++) {
			const struct rp_cell *c =
				s->chart_sessions ? &s->rows[j].sessions
						  : &s->rows[j].participants;

			bars[j].label = s->with_label
						? rp_label(o, s->rows[j].src)
						: s->rows[j].src->key;
			bars[j].value = rp_bar(c);
			bars[j].shown = rp_text(shown[j], c);
		}
		if (s->vertical)
			svg_vbars(stdout, title, bars, s->n);
		else
			svg_hbars(stdout, title, bars, s->n);
	}
	free(bars);
	free(shown);
	fputs("<table>\n<tr>", stdout);
	rp_html_th(RP_T(o, s->key_en, s->key_fr));
	if (s->with_label)
		rp_html_th(RP_T(o, "Label", "Libellé"));
	rp_html_th("Sessions");
	rp_html_th("Participants");
	rp_html_th("Institutions");
	fputs("</tr>\n", stdout);
	for (j = 0; j < s->n; j++) {
		fputs("<tr>", stdout);
		rp_html_td(s->rows[j].src->key);
		if (s->with_label)
			rp_html_td(rp_label(o, s->rows[j].src));
		rp_html_tdn(&s->rows[j].sessions);
		rp_html_tdn(&s->rows[j].participants);
		rp_html_tdn(&s->rows[j].institutions);
		fputs("</tr>\n", stdout);
	}
	fputs("</table>\n</section>\n", stdout);
}

static int rp_reach_html(const struct rp_opts *o, const struct rp_reach *m)
{
	const Maillage__ReachReport *r = m->r;
	char h[32], buf[64];
	size_t i;

	rp_html_head(o, RP_T(o, "Awareness sessions: reach",
			     "Sensibilisations : portée"));
	fputs("<p>", stdout);
	svg_text(stdout, RP_T(o, "From ", "Du "));
	svg_text(stdout, r->from);
	svg_text(stdout, RP_T(o, " to ", " au "));
	svg_text(stdout, r->to);
	svg_text(stdout, RP_T(o, " (generated ", " (établi le "));
	svg_text(stdout, r->generated_at);
	fputs(")</p>\n<table>\n<tr>", stdout);
	rp_html_th("Sessions");
	rp_html_tdn(&m->sessions);
	fputs("</tr>\n<tr>", stdout);
	rp_html_th("Participants");
	rp_html_tdn(&m->participants);
	fputs("</tr>\n<tr>", stdout);
	rp_html_th("Institutions");
	rp_html_tdn(&m->institutions);
	fputs("</tr>\n<tr>", stdout);
	rp_html_th(RP_T(o, "Hours", "Heures"));
	rp_html_td(rp_hours(h, r->minutes));
	fputs("</tr>\n", stdout);
	if (r->scored_sessions > 0) {
		fputs("<tr>", stdout);
		rp_html_th(RP_T(o, "Self-assessment before / after (out of 10)",
				"Auto-évaluation avant / après (sur 10)"));
		snprintf(buf, sizeof(buf), "%.2f / %.2f", r->pre_score_mean,
			 r->post_score_mean);
		rp_html_td(buf);
		fputs("</tr>\n", stdout);
	}
	fputs("</table>\n", stdout);
	rp_html_note(o);
	for (i = 0; i < RS_COUNT; i++)
		rp_html_section(o, &m->s[i]);
	rp_html_foot();
	return output_flush();
}

/* ---- report reach: the command ---------------------------------------- */

struct rp_period {
	int32_t year;
	const char *from, *to;
};

static int rp_reach_opts(struct cmd_ctx *ctx, struct rp_period *p)
{
	unsigned year;

	memset(p, 0, sizeof(*p));
	p->from = cmd_opt_value(ctx, "from");
	p->to = cmd_opt_value(ctx, "to");
	if (cmd_opt_isset(ctx, "year")) {
		if (p->from != NULL || p->to != NULL)
			return cmd_usage_error(ctx, _("--year excludes --from "
						      "and --to"));
		if (cmd_opt_uint(ctx, "year", 0, 1, 9999, &year) != 0)
			return MAILLAGE_EXIT_USAGE;
		p->year = (int32_t)year;
		return MAILLAGE_EXIT_OK;
	}
	if (p->from == NULL || p->to == NULL)
		return cmd_usage_error(ctx,
				       _("give --year YEAR, or --from DATE "
					 "and --to DATE"));
	return MAILLAGE_EXIT_OK;
}

static int cmd_report_reach_check(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct rp_period p;
	struct rp_opts o;
	int rc;

	(void)argc;
	(void)argv;
	if ((rc = rp_opts_read(ctx, &o)) != MAILLAGE_EXIT_OK)
		return rc;
	return rp_reach_opts(ctx, &p);
}

static int cmd_report_reach_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__ReportReach rr = MAILLAGE__REPORT_REACH__INIT;
	struct frame_msg *resp = NULL;
	struct rp_reach m;
	struct rp_period p;
	struct rp_opts o;
	struct cerr err;
	int rc;

	(void)argc;
	(void)argv;
	if ((rc = rp_opts_read(ctx, &o)) != MAILLAGE_EXIT_OK ||
	    (rc = rp_reach_opts(ctx, &p)) != MAILLAGE_EXIT_OK)
		return rc;
	rr.year = p.year;
	rr.from = (char *)(p.from != NULL ? p.from : "");
	rr.to = (char *)(p.to != NULL ? p.to : "");
	req.body_case = MAILLAGE__ENVELOPE__BODY_REPORT_REACH;
	req.report_reach = &rr;
	if (net_call(ctx->conn, &req, MAILLAGE__ENVELOPE__BODY_REACH_REPORT,
		     &resp, &err) != 0)
		return cmd_fail(ctx, &err);
	if (rp_reach_model(&m, resp->env->reach_report, o.publishable) != 0) {
		rc = rp_oom();
	} else {
		switch (o.format) {
		case RP_CSV:
			rc = rp_reach_csv(&o, &m);
			break;
		case RP_JSON:
			rc = rp_reach_json(&o, &m);
			break;
		case RP_HTML:
			rc = rp_reach_html(&o, &m);
			break;
		default:
			rc = rp_reach_table(&o, &m);
			break;
		}
	}
	rp_reach_free(&m);
	frame_msg_free(resp);
	return rc;
}

static const struct cmd_option cmd_report_reach_options[] = {
	{"year", 'y', "YEAR", N_("the sessions held that year")},
	{"from", 0, "DATE", N_("or those held from DATE...")},
	{"to", 0, "DATE", N_("...to DATE (at most ten years)")},
	{"format", 'F', "FORMAT", N_("table (default), csv, json or html")},
	{"publishable", 'p', NULL, N_("hide counts under 5 (see below)")},
	{"lang", 0, "en|fr",
	 N_("language of the labels (default: that of the messages; en for csv "
	    "and json)")},
	{NULL, 0, NULL, NULL},
};

const struct cmd_entry cmd_report_reach_entry = {
	.name = "report reach",
	.alias = NULL,
	.usage = "(--year YEAR | --from DATE --to DATE)\n"
		 "       [--format table|csv|json|html] [--publishable] "
		 "[--lang en|fr]",
	.summary =
		N_("Report the reach of the awareness sessions (coordinators)"),
	.help = N_(
		"Reports the awareness sessions held in a year or a period: "
		"sessions,\n"
		"people trained, institutions reached and hours, the mean "
		"self-assessment\n"
		"scores (weighted by participants), and the breakdowns: "
		"participants by\n"
		"profile, by institution kind, by département and by month; "
		"sessions by\n"
		"module and by format. Each row also tells the sessions and "
		"the distinct\n"
		"institutions it counts.\n"
		"\n"
		"--format html prints one self-contained page (inline SVG "
		"charts, no\n"
		"script, nothing fetched from elsewhere) to open or print; "
		"csv prints\n"
		"section,key,label,sessions,participants,institutions rows, "
		"the first\n"
		"one the totals. --publishable, for a report that leaves the "
		"coordinators'\n"
		"hands: every count of participants from 1 to 4 is shown as "
		"\"<5\", and\n"
		"where a column has exactly one such count, the smallest "
		"other one is\n"
		"hidden as \"*\" (counts of sessions and institutions stay "
		"as they are).\n"
		"\n"
		"With --json (or --format json): {\"from\", \"to\", "
		"\"generated_at\",\n"
		"\"publishable\", \"sessions\", \"participants\", "
		"\"institutions\", \"minutes\",\n"
		"\"scored_sessions\", \"pre_score_mean\", "
		"\"post_score_mean\", \"by_profile\",\n"
		"\"by_kind\", \"by_departement\", \"by_module\", "
		"\"by_format\", \"by_month\"}, each\n"
		"breakdown an array of {\"key\", \"label_fr\", \"label_en\", "
		"\"sessions\",\n"
		"\"participants\", \"institutions\"}; a hidden count is the "
		"string \"<5\" or \"*\".\n"
		"\n"
		"Example:\n"
		"  $ maillage report reach --year 2021 --format html --lang "
		"fr > portee-2021.html\n"
		"  $ maillage report reach --year 2021 --publishable --format "
		"csv\n"),
	.exec = cmd_report_reach_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_report_reach_check,
	.options = cmd_report_reach_options,
	.min_args = 0,
	.max_args = 0,
};

/* ---- report impact ------------------------------------------------------ */

enum rp_impact_col {
	RI_SESSIONS = 0,
	RI_PARTICIPANTS,
	RI_NOTICES_BEFORE,
	RI_NOTICES_AFTER,
	RI_IDENT_BEFORE,
	RI_IDENT_AFTER,
	RI_COUNT
};

static const char *const rp_impact_json[RI_COUNT] = {
	"sessions",	 "participants",	   "notices_before",
	"notices_after", "identifications_before", "identifications_after",
};

struct rp_impact {
	const Maillage__ImpactReport *r;
	struct rp_cell (*cells)[RI_COUNT]; /* per institution */
	struct rp_cell total[RI_COUNT];	   /* sums of the rows */
	size_t n;
};

static long rp_impact_value(const Maillage__ImpactRow *row, int col)
{
	switch (col) {
	case RI_SESSIONS:
		return row->sessions;
	case RI_PARTICIPANTS:
		return row->participants;
	case RI_NOTICES_BEFORE:
		return row->notices_before;
	case RI_NOTICES_AFTER:
		return row->notices_after;
	case RI_IDENT_BEFORE:
		return row->identifications_before;
	default:
		return row->identifications_after;
	}
}

static int rp_impact_model(struct rp_impact *m, const Maillage__ImpactReport *r,
			   int publishable)
{
	struct rp_cell **col;
	size_t i;
	int k;

	memset(m, 0, sizeof(*m));
	m->r = r;
	m->n = r->n_institutions;
	m->cells = calloc(m->n + 1, sizeof(*m->cells));
	col = calloc(m->n + 1, sizeof(*col));
	if (m->cells == NULL || col == NULL) {
		free(col);
		return -1;
	}
	for (k = 0; k < RI_COUNT; k++) {
		long sum = 0;

		for (i = 0; i < m->n; i++) {
			long v = rp_impact_value(r->institutions[i], k);

			sum += v;
			/* Sessions single no one out. */
			m->cells[i][k] =
				rp_cell(v, publishable && k != RI_SESSIONS);
			col[i] = &m->cells[i][k];
		}
		rp_column(col, m->n);
		m->total[k] = rp_cell(sum, publishable && k != RI_SESSIONS);
	}
	free(col);
	return 0;
}

static int rp_impact_complete(const Maillage__ImpactRow *row)
{
	return row->after_days >= 365;
}

static int rp_impact_table(const struct rp_opts *o, const struct rp_impact *m)
{
	static const char *const headers[] = {
		N_("INSTITUTION"),  N_("KIND"),	      N_("DEP"),
		N_("SESSIONS"),	    N_("PEOPLE"),     N_("FIRST SESSION"),
		N_("NOTICES -12M"), N_("+12M"),	      N_("IDENT -12M"),
		N_("+12M"),	    N_("AFTER DAYS"), N_("NAME"),
	};
	struct view_table *t = view_table_new(12, headers);
	char v[RI_COUNT][24], days[16];
	size_t i;
	int k;

	if (t == NULL)
		return rp_oom();
	for (i = 0; i <= m->n; i++) {
		const Maillage__ImpactRow *row =
			i < m->n ? m->r->institutions[i] : NULL;
		const struct rp_cell *cells = i < m->n ? m->cells[i] : m->total;
		const char *c[12];

		for (k = 0; k < RI_COUNT; k++)
			rp_text(v[k], &cells[k]);
		if (row != NULL)
			snprintf(days, sizeof(days), "%" PRIu32 "%s",
				 row->after_days,
				 rp_impact_complete(row) ? "" : "*");
		c[0] = row != NULL ? row->institution
				   : RP_T(o, "(sum)", "(somme)");
		c[1] = row != NULL ? row->kind : "";
		c[2] = row != NULL ? row->departement : "";
		c[3] = row != NULL ? v[RI_SESSIONS] : "";
		c[4] = v[RI_PARTICIPANTS];
		c[5] = row != NULL ? row->first_session : "";
		c[6] = v[RI_NOTICES_BEFORE];
		c[7] = v[RI_NOTICES_AFTER];
		c[8] = v[RI_IDENT_BEFORE];
		c[9] = v[RI_IDENT_AFTER];
		c[10] = row != NULL ? days : "";
		c[11] = row != NULL ? row->name : "";
		if (view_table_add(t, c) != 0) {
			view_table_free(t);
			return rp_oom();
		}
	}
	printf("%s\n\n",
	       RP_T(o,
		    "Impact: for each trained institution, the notices it sent "
		    "and the cases it\nidentified (presumed_victim or "
		    "identified) in the 12 months before its first\nsession "
		    "and the 12 months after (* after window not over yet).",
		    "Impact : pour chaque institution formée, les notices "
		    "envoyées et les\nsituations identifiées (victime présumée "
		    "ou identifiée) dans les 12 mois avant\nsa première "
		    "session et les 12 mois après (* période après en "
		    "cours)."));
	if (m->n == 0)
		printf("%s\n", RP_T(o, "No trained institution.",
				    "Aucune institution formée."));
	else
		view_table_print(t, 0, 1);
	view_table_free(t);
	if (o->publishable)
		printf("\n%s\n", RP_T(o,
				      "Publishable: counts from 1 to 4 shown "
				      "as <5; * hidden.",
				      "Publiable : effectifs de 1 à 4 affichés "
				      "<5 ; * masqué."));
	return MAILLAGE_EXIT_OK;
}

static int rp_impact_csv(const struct rp_impact *m)
{
	size_t i;
	char days[16];
	int k;

	fputs("institution,name,kind,departement,first_session,last_session,"
	      "sessions,participants,notices_before,notices_after,"
	      "identifications_before,identifications_after,after_days\n",
	      stdout);
	for (i = 0; i < m->n; i++) {
		const Maillage__ImpactRow *row = m->r->institutions[i];

		rp_csv_field(row->institution, 0);
		rp_csv_field(row->name, 0);
		rp_csv_field(row->kind, 0);
		rp_csv_field(row->departement, 0);
		rp_csv_field(row->first_session, 0);
		rp_csv_field(row->last_session, 0);
		for (k = 0; k < RI_COUNT; k++)
			rp_csv_cell(&m->cells[i][k], 0);
		snprintf(days, sizeof(days), "%" PRIu32, row->after_days);
		rp_csv_field(days, 1);
	}
	return output_flush();
}

static int rp_impact_json_doc(const struct rp_opts *o,
			      const struct rp_impact *m)
{
	json_t *a = json_array(), *tot = json_object(), *doc;
	size_t i;
	int k;

	for (i = 0; a != NULL && i < m->n; i++) {
		const Maillage__ImpactRow *row = m->r->institutions[i];
		json_t *it = json_pack(
			"{s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:b}",
			"institution", output_jstr(row->institution), "name",
			output_jstr(row->name), "kind", output_jstr(row->kind),
			"departement", output_jstr(row->departement),
			"first_session", output_jstr(row->first_session),
			"last_session", output_jstr(row->last_session),
			"after_days", (json_int_t)row->after_days,
			"after_complete", rp_impact_complete(row));

		for (k = 0; it != NULL && k < RI_COUNT; k++)
			if (json_object_set_new(it, rp_impact_json[k],
						rp_json(&m->cells[i][k])) !=
			    0) {
				json_decref(it);
				it = NULL;
			}
		if (it == NULL || json_array_append_new(a, it) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	for (k = 0; tot != NULL && k < RI_COUNT; k++)
		if (k != RI_SESSIONS &&
		    json_object_set_new(tot, rp_impact_json[k],
					rp_json(&m->total[k])) != 0) {
			json_decref(tot);
			tot = NULL;
		}
	if (a == NULL || tot == NULL) {
		json_decref(a);
		json_decref(tot);
		return output_json(NULL);
	}
	doc = json_pack("{s:o, s:I, s:o, s:b, s:o}", "institutions", a,
			"window_months", (json_int_t)m->r->window_months,
			"generated_at", output_jstr(m->r->generated_at),
			"publishable", o->publishable, "totals", tot);
	return output_json(doc);
}

static void rp_impact_chart(const struct rp_opts *o, const struct rp_impact *m,
			    const char *title, int before, int after)
{
	struct svg_pair *p = calloc(m->n + 1, sizeof(*p));
	char(*shown)[2][24] = calloc(m->n + 1, sizeof(*shown));
	size_t i;

	if (p != NULL && shown != NULL) {
		for (i = 0; i < m->n; i++) {
			p[i].label = m->r->institutions[i]->institution;
			p[i].a = rp_bar(&m->cells[i][before]);
			p[i].b = rp_bar(&m->cells[i][after]);
			p[i].shown_a =
				rp_text(shown[i][0], &m->cells[i][before]);
			p[i].shown_b =
				rp_text(shown[i][1], &m->cells[i][after]);
		}
		fputs("<section>\n<h2>", stdout);
		svg_text(stdout, title);
		fputs("</h2>\n", stdout);
		svg_pairs(stdout, title,
			  RP_T(o, "12 months before", "12 mois avant"),
			  RP_T(o, "12 months after", "12 mois après"), p, m->n);
		fputs("</section>\n", stdout);
	}
	free(p);
	free(shown);
}

static int rp_impact_html(const struct rp_opts *o, const struct rp_impact *m)
{
	size_t i;
	char days[16];
	int k;

	rp_html_head(o, RP_T(o, "Awareness sessions: impact",
			     "Sensibilisations : impact"));
	fputs("<p>", stdout);
	svg_text(stdout,
		 RP_T(o,
		      "For each institution whose staff attended a session: "
		      "the notices it sent and the cases it identified "
		      "(protection status recorded as presumed victim or "
		      "identified) in the 12 months before its first session "
		      "and in the 12 months after it (the day of the session "
		      "itself counts in neither). Counts only. Generated ",
		      "Pour chaque institution dont des personnels ont suivi "
		      "une session : les notices envoyées et les situations "
		      "identifiées (statut de protection enregistré comme "
		      "victime présumée ou identifiée) dans les 12 mois avant "
		      "sa première session et dans les 12 mois après (le jour "
		      "de la session n'est compté dans aucune des deux "
		      "périodes). Effectifs seulement. Établi le "));
	svg_text(stdout, m->r->generated_at);
	fputs(".</p>\n", stdout);
	rp_html_note(o);
	if (m->n > 0) {
		rp_impact_chart(o, m,
				RP_T(o, "Notices sent", "Notices envoyées"),
				RI_NOTICES_BEFORE, RI_NOTICES_AFTER);
		rp_impact_chart(o, m,
				RP_T(o, "Identifications", "Identifications"),
				RI_IDENT_BEFORE, RI_IDENT_AFTER);
	}
	fputs("<section>\n<h2>", stdout);
	svg_text(stdout, RP_T(o, "By institution", "Par institution"));
	fputs("</h2>\n<table>\n<tr>", stdout);
	rp_html_th("Institution");
	rp_html_th(RP_T(o, "Kind", "Type"));
	rp_html_th(RP_T(o, "Dép.", "Dép."));
	rp_html_th(RP_T(o, "First session", "Première session"));
	rp_html_th("Sessions");
	rp_html_th(RP_T(o, "People trained", "Personnes formées"));
	rp_html_th(RP_T(o, "Notices before", "Notices avant"));
	rp_html_th(RP_T(o, "Notices after", "Notices après"));
	rp_html_th(RP_T(o, "Identifications before", "Identifications avant"));
	rp_html_th(RP_T(o, "Identifications after", "Identifications après"));
	rp_html_th(RP_T(o, "Days after", "Jours après"));
	fputs("</tr>\n", stdout);
	for (i = 0; i < m->n; i++) {
		const Maillage__ImpactRow *row = m->r->institutions[i];

		fputs("<tr>", stdout);
		rp_html_td(row->name[0] != '\0' ? row->name : row->institution);
		rp_html_td(row->kind);
		rp_html_td(row->departement);
		rp_html_td(row->first_session);
		for (k = 0; k < RI_COUNT; k++)
			rp_html_tdn(&m->cells[i][k]);
		snprintf(days, sizeof(days), "%" PRIu32 "%s", row->after_days,
			 rp_impact_complete(row) ? "" : "*");
		rp_html_td(days);
		fputs("</tr>\n", stdout);
	}
	fputs("<tr>", stdout);
	rp_html_th(RP_T(o, "Sum of the rows", "Somme des lignes"));
	rp_html_td("");
	rp_html_td("");
	rp_html_td("");
	rp_html_td("");
	for (k = RI_PARTICIPANTS; k < RI_COUNT; k++)
		rp_html_tdn(&m->total[k]);
	rp_html_td("");
	fputs("</tr>\n</table>\n<p class=\"note\">", stdout);
	svg_text(stdout, RP_T(o,
			      "* the 12 months after the first session are "
			      "not over yet.",
			      "* les 12 mois après la première session ne "
			      "sont pas encore écoulés."));
	fputs("</p>\n</section>\n", stdout);
	rp_html_foot();
	return output_flush();
}

static int cmd_report_impact_check(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct rp_opts o;

	(void)argc;
	(void)argv;
	return rp_opts_read(ctx, &o);
}

static int cmd_report_impact_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__ReportImpact ri = MAILLAGE__REPORT_IMPACT__INIT;
	struct frame_msg *resp = NULL;
	struct rp_impact m;
	struct rp_opts o;
	struct cerr err;
	const char *v;
	int rc;

	(void)argc;
	(void)argv;
	if ((rc = rp_opts_read(ctx, &o)) != MAILLAGE_EXIT_OK)
		return rc;
	if ((v = cmd_opt_value(ctx, "kind")) != NULL)
		ri.kind = (char *)v;
	if ((v = cmd_opt_value(ctx, "departement")) != NULL)
		ri.departement = (char *)v;
	req.body_case = MAILLAGE__ENVELOPE__BODY_REPORT_IMPACT;
	req.report_impact = &ri;
	if (net_call(ctx->conn, &req, MAILLAGE__ENVELOPE__BODY_IMPACT_REPORT,
		     &resp, &err) != 0)
		return cmd_fail(ctx, &err);
	if (rp_impact_model(&m, resp->env->impact_report, o.publishable) != 0) {
		rc = rp_oom();
	} else {
		switch (o.format) {
		case RP_CSV:
			rc = rp_impact_csv(&m);
			break;
		case RP_JSON:
			rc = rp_impact_json_doc(&o, &m);
			break;
		case RP_HTML:
			rc = rp_impact_html(&o, &m);
			break;
		default:
			rc = rp_impact_table(&o, &m);
			break;
		}
	}
	free(m.cells);
	frame_msg_free(resp);
	return rc;
}

static const struct cmd_option cmd_report_impact_options[] = {
	{"kind", 'k', "KIND", N_("only institutions of this kind")},
	{"departement", 'd', "DEP",
	 N_("only institutions of this département")},
	{"format", 'F', "FORMAT", N_("table (default), csv, json or html")},
	{"publishable", 'p', NULL,
	 N_("hide counts of participants, notices and identifications under "
	    "5")},
	{"lang", 0, "en|fr",
	 N_("language of the texts (default: that of the messages; en for csv "
	    "and json)")},
	{NULL, 0, NULL, NULL},
};

const struct cmd_entry cmd_report_impact_entry = {
	.name = "report impact",
	.alias = NULL,
	.usage = "[--kind KIND] [--departement DEP]\n"
		 "       [--format table|csv|json|html] [--publishable] "
		 "[--lang en|fr]",
	.summary = N_("Report notices and identifications around training "
		      "(coordinators)"),
	.help = N_(
		"For each institution whose staff attended at least one "
		"session: the\n"
		"sessions attended, the people trained, and around its first "
		"session\n"
		"(day D, Paris time) the notices it sent and the "
		"identifications it\n"
		"contributed to in the 12 months before, [D-12 months, D), "
		"and the 12\n"
		"months after, [D+1, D+1+12 months). An identification is a "
		"case whose\n"
		"protection status the institution recorded as "
		"presumed_victim or\n"
		"identified, counted once per case and period. AFTER DAYS "
		"tells how much\n"
		"of the after period has passed (365: complete). Counts "
		"only: no young\n"
		"person, case or notice is named. The last row sums the "
		"rows.\n"
		"\n"
		"Formats and --publishable as for 'report reach'.\n"
		"\n"
		"With --json (or --format json): {\"institutions\": "
		"[{\"institution\", \"name\",\n"
		"\"kind\", \"departement\", \"first_session\", "
		"\"last_session\", \"sessions\",\n"
		"\"participants\", \"notices_before\", \"notices_after\",\n"
		"\"identifications_before\", \"identifications_after\", "
		"\"after_days\",\n"
		"\"after_complete\"}], \"totals\": {...}, "
		"\"window_months\", \"generated_at\",\n"
		"\"publishable\"}.\n"
		"\n"
		"Example:\n"
		"  $ maillage report impact --kind police\n"
		"  $ maillage report impact --format html --publishable > "
		"impact.html\n"),
	.exec = cmd_report_impact_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_report_impact_check,
	.options = cmd_report_impact_options,
	.min_args = 0,
	.max_args = 0,
};
