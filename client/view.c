/*
 * view: rendering of notices, cases and indicators to JSON and text; see
 * view.h for what this module owns.
 */
#include "view.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "output.h"

/* Size of the buffers short server strings (codes, times, names) go to. */
#define VIEW_SHORT 256

/* ---- tables ---------------------------------------------------------- */

struct view_table {
	size_t ncols;
	const char **headers; /* translated */
	char **cells;	      /* nrows * ncols, escaped */
	size_t nrows;
	size_t cap; /* rows */
};

/* Columns a terminal gives to an escaped (valid UTF-8) string. */
static size_t view_width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

struct view_table *view_table_new(size_t ncols, const char *const *headers)
{
	struct view_table *t = calloc(1, sizeof(*t));
	size_t i;

	if (t == NULL)
		return NULL;
	t->ncols = ncols;
	t->headers = calloc(ncols, sizeof(*t->headers));
	if (t->headers == NULL) {
		free(t);
		return NULL;
	}
	for (i = 0; i < ncols; i++)
		t->headers[i] = _(headers[i]);
	return t;
}

int view_table_add(struct view_table *t, const char *const *cells)
{
	size_t i, base;

	if (t->nrows == t->cap) {
		size_t cap = t->cap == 0 ? 16 : t->cap * 2;
		char **c = realloc(t->cells, cap * t->ncols * sizeof(*c));

		if (c == NULL)
			return -1;
		t->cells = c;
		t->cap = cap;
	}
	base = t->nrows * t->ncols;
	for (i = 0; i < t->ncols; i++) {
		t->cells[base + i] = output_sanitize(cells[i]);
		if (t->cells[base + i] == NULL) {
			while (i-- > 0)
				free(t->cells[base + i]);
			return -1;
		}
	}
	t->nrows++;
	return 0;
}

size_t view_table_rows(const struct view_table *t)
{
	return t->nrows;
}

/*
 * Print the first `cols` columns of the escaped `s`, ending with an
 * ellipsis when it is wider; returns the columns printed.
 */
static size_t view_put_cut(const char *s, size_t cols)
{
	size_t w = view_width(s), n = 0;
	const char *p = s;

	if (w <= cols) {
		fputs(s, stdout);
		return w;
	}
	if (cols == 0)
		return 0;
	while (*p != '\0') {
		const char *q = p + 1;

		while (((unsigned char)*q & 0xc0) == 0x80)
			q++;
		if (n + 1 >= cols)
			break;
		fwrite(p, 1, (size_t)(q - p), stdout);
		n++;
		p = q;
	}
	fputs("\xe2\x80\xa6", stdout); /* ellipsis */
	return n + 1;
}

/* One line: cells padded to `widths`, no trailing blanks. */
static void view_table_line(const struct view_table *t, const size_t *widths,
			    int indent, const char *const *cells)
{
	size_t i, pending = (size_t)indent;

	for (i = 0; i < t->ncols; i++) {
		const char *c = cells[i];

		if (c[0] != '\0') {
			size_t w;

			printf("%*s", (int)pending, "");
			w = view_put_cut(c, widths[i]);
			pending = 0;
			if (i + 1 < t->ncols)
				pending = widths[i] - w + 2;
		} else if (i + 1 < t->ncols) {
			pending += widths[i] + 2;
		}
	}
	putchar('\n');
}

/*
 * Columns of the terminal standard output writes to: $COLUMNS, else the
 * terminal's size; 0 when it is not a terminal or the size is unknown.
 */
static size_t view_terminal_width(void)
{
	const char *env = getenv("COLUMNS");
	struct winsize ws;
	char *end;
	long n;

	if (!isatty(STDOUT_FILENO))
		return 0;
	if (env != NULL && env[0] != '\0') {
		n = strtol(env, &end, 10);
		if (*end == '\0' && n > 0 && n < 10000)
			return (size_t)n;
	}
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 0;
}

/*
 * Narrow the widest columns, one at a time, until the table fits the
 * terminal: a column keeps at least VIEW_MIN_COLUMN columns and its whole
 * header (its cells are cut with an ellipsis when printed). A table that
 * still does not fit is left to the terminal to wrap.
 */
#define VIEW_MIN_COLUMN 8
static void view_table_fit(const struct view_table *t, size_t *widths,
			   int indent, int with_headers)
{
	size_t term = view_terminal_width(), total, i, widest, floor, lo;

	if (term == 0 || t->ncols == 0)
		return;
	for (;;) {
		total = (size_t)indent + 2 * (t->ncols - 1);
		widest = t->ncols;
		floor = 0;
		for (i = 0; i < t->ncols; i++) {
			total += widths[i];
			lo = with_headers ? view_width(t->headers[i]) : 0;
			if (lo < VIEW_MIN_COLUMN)
				lo = VIEW_MIN_COLUMN;
			if (widths[i] > lo && (widest == t->ncols ||
					       widths[i] > widths[widest])) {
				widest = i;
				floor = lo;
			}
		}
		if (total <= term || widest == t->ncols)
			return;
		widths[widest] -= total - term < widths[widest] - floor
					  ? total - term
					  : widths[widest] - floor;
	}
}

void view_table_print(const struct view_table *t, int indent, int with_headers)
{
	size_t *widths = calloc(t->ncols, sizeof(*widths));
	size_t r, i, w;

	if (widths == NULL) {
		output_warnx(_("out of memory"));
		return;
	}
	for (i = 0; i < t->ncols; i++) {
		widths[i] = with_headers ? view_width(t->headers[i]) : 0;
		for (r = 0; r < t->nrows; r++) {
			w = view_width(t->cells[r * t->ncols + i]);
			if (w > widths[i])
				widths[i] = w;
		}
	}
	view_table_fit(t, widths, indent, with_headers);
	if (with_headers)
		view_table_line(t, widths, indent,
				(const char *const *)t->headers);
	for (r = 0; r < t->nrows; r++)
		view_table_line(t, widths, indent,
				(const char *const *)&t->cells[r * t->ncols]);
	free(widths);
}

void view_table_free(struct view_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->headers);
	free(t);
}

/* ---- JSON ------------------------------------------------------------ */

/*
 * Builders: each adds one key to `o` and returns 0, or -1 when the value
 * could not be made (out of memory); the caller sums the failures.
 */
static int vj_str(json_t *o, const char *key, const char *v)
{
	return json_object_set_new(o, key, output_jstr(v)) != 0 ? -1 : 0;
}

static int vj_int(json_t *o, const char *key, int64_t v)
{
	return json_object_set_new(o, key, json_integer((json_int_t)v)) != 0
		       ? -1
		       : 0;
}

static int vj_bool(json_t *o, const char *key, int v)
{
	return json_object_set_new(o, key, json_boolean(v)) != 0 ? -1 : 0;
}

/* Set `v` (reference stolen, may be NULL) under `key`. */
static int vj_obj(json_t *o, const char *key, json_t *v)
{
	return json_object_set_new(o, key, v) != 0 ? -1 : 0;
}

/* `o` when nothing failed, else NULL (and `o` released). */
static json_t *vj_done(json_t *o, int failed)
{
	if (failed != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *view_json_strings(char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	if (a == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (json_array_append_new(a, output_jstr(v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

json_t *view_json_identity(const Maillage__Identity *id)
{
	static const Maillage__Identity none = MAILLAGE__IDENTITY__INIT;
	json_t *o = json_object();
	int f = 0;

	if (o == NULL)
		return NULL;
	if (id == NULL)
		id = &none;
	f |= vj_str(o, "given_name", id->given_name);
	f |= vj_str(o, "family_name", id->family_name);
	f |= vj_str(o, "birth_date", id->birth_date);
	f |= vj_int(o, "declared_age", id->declared_age);
	f |= vj_str(o, "age_declared_on", id->age_declared_on);
	f |= vj_str(o, "sex", id->sex);
	f |= vj_str(o, "nationality", id->nationality);
	f |= vj_obj(o, "languages",
		    view_json_strings(id->languages, id->n_languages));
	f |= vj_str(o, "place_seen", id->place_seen);
	return vj_done(o, f);
}

json_t *view_json_notice_summary(const Maillage__NoticeSummary *n)
{
	json_t *o = json_object();
	int f = 0;

	if (o == NULL)
		return NULL;
	f |= vj_int(o, "notice_id", n->notice_id);
	f |= vj_int(o, "case_id", n->case_id);
	f |= vj_int(o, "person_id", n->person_id);
	f |= vj_str(o, "kind", n->kind);
	f |= vj_str(o, "urgency", n->urgency);
	f |= vj_str(o, "visibility", n->visibility);
	f |= vj_str(o, "basis", n->basis);
	f |= vj_str(o, "from_institution", n->from_institution);
	f |= vj_str(o, "sent_at", n->sent_at);
	f |= vj_str(o, "state", n->state);
	f |= vj_str(o, "person_label", n->person_label);
	return vj_done(o, f);
}

/* The CaseSummary keys into `o`, parties as codes when `with_parties`. */
static int view_json_summary_into(json_t *o, const Maillage__CaseSummary *s,
				  int with_parties)
{
	int f = 0;

	f |= vj_int(o, "case_id", s->case_id);
	f |= vj_int(o, "person_id", s->person_id);
	f |= vj_str(o, "person_label", s->person_label);
	f |= vj_str(o, "status", s->status);
	f |= vj_str(o, "protection_status", s->protection_status);
	f |= vj_str(o, "lead", s->lead);
	f |= vj_str(o, "last_kind", s->last_kind);
	f |= vj_str(o, "last_urgency", s->last_urgency);
	f |= vj_str(o, "opened_at", s->opened_at);
	f |= vj_str(o, "updated_at", s->updated_at);
	f |= vj_str(o, "closed_at", s->closed_at);
	f |= vj_str(o, "close_reason", s->close_reason);
	if (with_parties)
		f |= vj_obj(o, "parties",
			    view_json_strings(s->parties, s->n_parties));
	return f;
}

json_t *view_json_case_summary(const Maillage__CaseSummary *s)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	return vj_done(o, view_json_summary_into(o, s, 1));
}

static json_t *view_json_party(const Maillage__Party *p)
{
	json_t *o = json_object();
	int f = 0;

	if (o == NULL)
		return NULL;
	f |= vj_str(o, "institution", p->institution);
	f |= vj_str(o, "name", p->name);
	f |= vj_str(o, "kind", p->kind);
	f |= vj_str(o, "since", p->since);
	f |= vj_bool(o, "lead", p->lead);
	return vj_done(o, f);
}

static json_t *view_json_assertion(const Maillage__IdentityAssertion *a)
{
	json_t *o = json_object();
	int f = 0;

	if (o == NULL)
		return NULL;
	f |= vj_int(o, "id", a->id);
	f |= vj_obj(o, "identity", view_json_identity(a->identity));
	f |= vj_str(o, "asserted_by", a->asserted_by);
	f |= vj_str(o, "asserted_at", a->asserted_at);
	f |= vj_int(o, "notice_id", a->notice_id);
	return vj_done(o, f);
}

static json_t *view_json_recipient(const Maillage__Recipient *r)
{
	json_t *o = json_object();
	int f = 0;

	if (o == NULL)
		return NULL;
	f |= vj_str(o, "institution", r->institution);
	f |= vj_str(o, "state", r->state);
	f |= vj_str(o, "reason", r->reason);
	f |= vj_str(o, "note", r->note);
	f |= vj_str(o, "updated_at", r->updated_at);
	return vj_done(o, f);
}

static json_t *view_json_notice(const Maillage__NoticeView *n)
{
	json_t *o = json_object(), *rs = json_array();
	size_t i;
	int f = 0;

	if (o == NULL || rs == NULL) {
		json_decref(o);
		json_decref(rs);
		return NULL;
	}
	f |= vj_int(o, "notice_id", n->notice_id);
	f |= vj_str(o, "kind", n->kind);
	f |= vj_str(o, "urgency", n->urgency);
	f |= vj_str(o, "visibility", n->visibility);
	f |= vj_str(o, "basis", n->basis);
	f |= vj_str(o, "informed", n->informed);
	f |= vj_str(o, "informed_note", n->informed_note);
	f |= vj_str(o, "from_institution", n->from_institution);
	f |= vj_str(o, "from_login", n->from_login);
	f |= vj_str(o, "sent_at", n->sent_at);
	f |= vj_str(o, "text", n->text);
	f |= vj_obj(o, "indicators",
		    view_json_strings(n->indicators, n->n_indicators));
	for (i = 0; i < n->n_recipients; i++)
		if (json_array_append_new(
			    rs, view_json_recipient(n->recipients[i])) != 0)
			f = -1;
	f |= vj_obj(o, "recipients", rs);
	return vj_done(o, f);
}

static json_t *view_json_event(const Maillage__CaseEvent *e)
{
	json_t *o = json_object();
	int f = 0;

	if (o == NULL)
		return NULL;
	f |= vj_str(o, "at", e->at);
	f |= vj_str(o, "what", e->what);
	f |= vj_str(o, "by_institution", e->by_institution);
	f |= vj_str(o, "by_login", e->by_login);
	f |= vj_str(o, "institution", e->institution);
	f |= vj_str(o, "status", e->status);
	f |= vj_str(o, "note", e->note);
	f |= vj_obj(o, "indicators",
		    view_json_strings(e->indicators, e->n_indicators));
	f |= vj_int(o, "notice_id", e->notice_id);
	f |= vj_int(o, "other_case_id", e->other_case_id);
	f |= vj_int(o, "link_id", e->link_id);
	return vj_done(o, f);
}

json_t *view_json_case_view(const Maillage__CaseView *v)
{
	static const Maillage__CaseSummary none = MAILLAGE__CASE_SUMMARY__INIT;
	json_t *o = json_object(), *a;
	size_t i;
	int f = 0;

	if (o == NULL)
		return NULL;
	f |= view_json_summary_into(o, v->summary != NULL ? v->summary : &none,
				    0);
	a = json_array();
	for (i = 0; a != NULL && i < v->n_parties; i++)
		if (json_array_append_new(a, view_json_party(v->parties[i])))
			f = -1;
	f |= vj_obj(o, "parties", a);
	a = json_array();
	for (i = 0; a != NULL && i < v->n_identities; i++)
		if (json_array_append_new(
			    a, view_json_assertion(v->identities[i])))
			f = -1;
	f |= vj_obj(o, "identities", a);
	a = json_array();
	for (i = 0; a != NULL && i < v->n_notices; i++)
		if (json_array_append_new(a, view_json_notice(v->notices[i])))
			f = -1;
	f |= vj_obj(o, "notices", a);
	a = json_array();
	for (i = 0; a != NULL && i < v->n_events; i++)
		if (json_array_append_new(a, view_json_event(v->events[i])))
			f = -1;
	f |= vj_obj(o, "events", a);
	return vj_done(o, f);
}

json_t *view_json_indicator(const Maillage__Indicator *ind)
{
	json_t *o = json_object();
	int f = 0;

	if (o == NULL)
		return NULL;
	f |= vj_str(o, "code", ind->code);
	f |= vj_str(o, "category", ind->category);
	f |= vj_str(o, "label_fr", ind->label_fr);
	f |= vj_str(o, "label_en", ind->label_en);
	f |= vj_str(o, "strength", ind->strength);
	return vj_done(o, f);
}

/* ---- text ------------------------------------------------------------ */

static int view_empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

/* "label: value" after `indent` spaces, unless value is empty. */
static void view_field(int indent, const char *label, const char *value)
{
	char *v;

	if (view_empty(value))
		return;
	v = output_sanitize(value);
	printf(_("%*s%s: %s\n"), indent, "", label,
	       v != NULL ? v : _("(out of memory)"));
	free(v);
}

/* "label: a, b, c" after `indent` spaces, unless there is none. */
static void view_list(int indent, const char *label, char *const *v, size_t n)
{
	size_t i;

	if (n == 0)
		return;
	printf(_("%*s%s: "), indent, "", label);
	for (i = 0; i < n; i++) {
		char buf[VIEW_SHORT];

		printf("%s%s", i > 0 ? ", " : "",
		       output_clean(buf, sizeof(buf), v[i]));
	}
	putchar('\n');
}

/*
 * Free text, line by line, each escaped and after `indent` spaces; blank
 * lines stay empty and those at the end are dropped.
 */
static void view_text_block(int indent, const char *text)
{
	const char *p = text, *end = text + strlen(text);

	while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	while (p < end) {
		size_t len = strcspn(p, "\n");
		char *line, *clean;

		if (p + len > end)
			len = (size_t)(end - p);
		if (len > 0 && p[len - 1] == '\r')
			len--; /* CRLF: the line break, not a control */
		line = strndup(p, len);
		clean = line != NULL ? output_sanitize(line) : NULL;
		if (clean != NULL && clean[0] == '\0')
			putchar('\n');
		else
			printf("%*s%s\n", indent, "",
			       clean != NULL ? clean : _("(out of memory)"));
		free(clean);
		free(line);
		p += strcspn(p, "\n");
		if (*p == '\n')
			p++;
	}
}

/* "inst (login)", or "inst" alone, escaped into buf. */
static const char *view_who(char *buf, size_t size, const char *inst,
			    const char *login)
{
	char i[VIEW_SHORT], l[VIEW_SHORT];

	output_clean(i, sizeof(i), inst);
	output_clean(l, sizeof(l), login);
	if (l[0] != '\0')
		snprintf(buf, size, "%s (%s)", i, l);
	else
		snprintf(buf, size, "%s", i);
	return buf;
}

static void view_summary(const Maillage__CaseSummary *s, int with_parties)
{
	char label[VIEW_SHORT], kind[VIEW_SHORT], urg[VIEW_SHORT];

	output_clean(label, sizeof(label), s->person_label);
	if (label[0] != '\0')
		printf(_("case %" PRId64 ": %s (person %" PRId64 ")\n"),
		       s->case_id, label, s->person_id);
	else
		printf(_("case %" PRId64 ": person %" PRId64 "\n"), s->case_id,
		       s->person_id);
	view_field(0, _("status"), s->status);
	view_field(0, _("protection status"), s->protection_status);
	view_field(0, _("lead"), view_empty(s->lead) ? _("none") : s->lead);
	if (with_parties)
		view_list(0, _("parties"), s->parties, s->n_parties);
	output_clean(kind, sizeof(kind), s->last_kind);
	output_clean(urg, sizeof(urg), s->last_urgency);
	if (kind[0] != '\0' && urg[0] != '\0')
		printf(_("last notice: %s (%s)\n"), kind, urg);
	else
		view_field(0, _("last notice"), s->last_kind);
	view_field(0, _("opened"), s->opened_at);
	view_field(0, _("updated"), s->updated_at);
	view_field(0, _("closed"), s->closed_at);
	view_field(0, _("close reason"), s->close_reason);
}

void view_case_summary_text(const Maillage__CaseSummary *s)
{
	view_summary(s, 1);
}

static void view_identities(const Maillage__CaseView *v)
{
	size_t i;

	if (v->n_identities == 0) {
		printf(_("\nIdentities: none\n"));
		return;
	}
	printf(_("\nIdentities:\n"));
	for (i = 0; i < v->n_identities; i++) {
		const Maillage__IdentityAssertion *a = v->identities[i];
		const Maillage__Identity *id = a->identity;
		char at[VIEW_SHORT], by[VIEW_SHORT];

		output_clean(at, sizeof(at), a->asserted_at);
		output_clean(by, sizeof(by), a->asserted_by);
		if (a->notice_id > 0)
			printf(_("  %s  by %s (notice %" PRId64 ")\n"), at, by,
			       a->notice_id);
		else
			printf(_("  %s  by %s\n"), at, by);
		if (id == NULL)
			continue;
		view_field(6, _("given name"), id->given_name);
		view_field(6, _("family name"), id->family_name);
		view_field(6, _("birth date"), id->birth_date);
		if (id->declared_age > 0 && !view_empty(id->age_declared_on)) {
			char on[VIEW_SHORT];

			printf(_("      declared age: %u (on %s)\n"),
			       id->declared_age,
			       output_clean(on, sizeof(on),
					    id->age_declared_on));
		} else if (id->declared_age > 0) {
			printf(_("      declared age: %u\n"), id->declared_age);
		}
		view_field(6, _("sex"), id->sex);
		view_field(6, _("nationality"), id->nationality);
		view_list(6, _("languages"), id->languages, id->n_languages);
		view_field(6, _("place seen"), id->place_seen);
	}
}

static void view_parties(const Maillage__CaseView *v)
{
	static const char *const headers[] = {N_("INSTITUTION"), N_("KIND"),
					      N_("SINCE"), N_("NAME")};
	struct view_table *t;
	size_t i;

	if (v->n_parties == 0) {
		printf(_("\nParties: none\n"));
		return;
	}
	t = view_table_new(4, headers);
	if (t == NULL)
		goto oom;
	for (i = 0; i < v->n_parties; i++) {
		const Maillage__Party *p = v->parties[i];
		char code[VIEW_SHORT], since[OUTPUT_DATE_MAX];
		const char *cells[4];

		/* The code is escaped again by the table: no harm. */
		if (p->lead)
			snprintf(code, sizeof(code), _("%s (lead)"),
				 p->institution);
		else
			snprintf(code, sizeof(code), "%s", p->institution);
		cells[0] = code;
		cells[1] = p->kind;
		cells[2] = output_date(since, p->since);
		cells[3] = p->name;
		if (view_table_add(t, cells) != 0)
			goto oom;
	}
	printf(_("\nParties:\n"));
	view_table_print(t, 2, 1);
	view_table_free(t);
	return;
oom:
	view_table_free(t);
	output_warnx(_("out of memory"));
}

static void view_recipients(const Maillage__NoticeView *n)
{
	static const char *const headers[] = {N_("INSTITUTION"), N_("STATE"),
					      N_("SINCE"), N_("REASON"),
					      N_("NOTE")};
	struct view_table *t;
	size_t i;

	if (n->n_recipients == 0)
		return;
	t = view_table_new(5, headers);
	if (t == NULL)
		goto oom;
	for (i = 0; i < n->n_recipients; i++) {
		const Maillage__Recipient *r = n->recipients[i];
		char since[OUTPUT_DATE_MAX];
		const char *cells[5];

		cells[0] = r->institution;
		cells[1] = r->state;
		cells[2] = output_date(since, r->updated_at);
		cells[3] = r->reason;
		cells[4] = r->note;
		if (view_table_add(t, cells) != 0)
			goto oom;
	}
	printf(_("      recipients:\n"));
	view_table_print(t, 8, 1);
	view_table_free(t);
	return;
oom:
	view_table_free(t);
	output_warnx(_("out of memory"));
}

static void view_notice(const Maillage__NoticeView *n)
{
	char at[VIEW_SHORT], kind[VIEW_SHORT], who[2 * VIEW_SHORT + 4];
	char urg[VIEW_SHORT], vis[VIEW_SHORT], basis[VIEW_SHORT];

	output_date(at, n->sent_at);
	output_clean(kind, sizeof(kind), i18n_notice_kind(n->kind));
	view_who(who, sizeof(who), n->from_institution, n->from_login);
	printf(_("  %s  notice %" PRId64 ": %s from %s\n"), at, n->notice_id,
	       kind, who);
	output_clean(urg, sizeof(urg), n->urgency);
	output_clean(vis, sizeof(vis), n->visibility);
	output_clean(basis, sizeof(basis), n->basis);
	printf(_("      urgency: %s; visibility: %s; basis: %s\n"), urg, vis,
	       basis);
	if (!view_empty(n->informed) && !view_empty(n->informed_note)) {
		char inf[VIEW_SHORT];
		char *note = output_sanitize(n->informed_note);

		printf(_("      informed: %s (%s)\n"),
		       output_clean(inf, sizeof(inf), n->informed),
		       note != NULL ? note : "");
		free(note);
	} else {
		view_field(6, _("informed"), n->informed);
	}
	view_list(6, _("indicators"), n->indicators, n->n_indicators);
	if (!view_empty(n->text)) {
		printf(_("      text:\n"));
		view_text_block(8, n->text);
	}
	view_recipients(n);
}

/* A merge of two persons' cases, or its undoing (sql/015). */
static void view_merge_event(const Maillage__CaseEvent *e, const char *by)
{
	int merged = strcmp(e->what, "merged") == 0;

	if (by[0] == '\0') /* a link made by the network's policy */
		by = _("the network's policy");

	if (e->other_case_id > 0 && merged)
		printf(_("case %" PRId64 " merged into this case (person link "
			 "%" PRId64 ") by %s\n"),
		       e->other_case_id, e->link_id, by);
	else if (merged)
		printf(_("another case merged into this case (person link "
			 "%" PRId64 ") by %s\n"),
		       e->link_id, by);
	else if (e->other_case_id > 0)
		printf(_("separated from case %" PRId64 " (person link "
			 "%" PRId64 " undone) by %s\n"),
		       e->other_case_id, e->link_id, by);
	else
		printf(_("separated from another case (person link %" PRId64
			 " undone) by %s\n"),
		       e->link_id, by);
}

static void view_event(const Maillage__CaseEvent *e)
{
	char at[VIEW_SHORT], by[2 * VIEW_SHORT + 4], inst[VIEW_SHORT];
	char what[VIEW_SHORT], st[VIEW_SHORT];

	output_date(at, e->at);
	output_clean(inst, sizeof(inst), e->institution);
	output_clean(what, sizeof(what), e->what);
	output_clean(st, sizeof(st), e->status);
	view_who(by, sizeof(by), e->by_institution, e->by_login);
	printf("  %s  ", at);
	if (strcmp(e->what, "opened") == 0)
		printf(_("case opened by %s\n"), by);
	else if (strcmp(e->what, "party_added") == 0)
		printf(_("party %s added by %s\n"), inst, by);
	else if (strcmp(e->what, "party_removed") == 0)
		printf(_("party %s removed by %s\n"), inst, by);
	else if (strcmp(e->what, "lead_set") == 0 && inst[0] != '\0')
		printf(_("lead set to %s by %s\n"), inst, by);
	else if (strcmp(e->what, "lead_set") == 0)
		printf(_("lead cleared by %s\n"), by);
	else if (strcmp(e->what, "closed") == 0)
		printf(_("case closed by %s\n"), by);
	else if (strcmp(e->what, "reopened") == 0)
		printf(_("case reopened by %s\n"), by);
	else if (strcmp(e->what, "status") == 0)
		printf(_("protection status set to %s by %s\n"), st, by);
	else if (strcmp(e->what, "merged") == 0 ||
		 strcmp(e->what, "unmerged") == 0)
		view_merge_event(e, by);
	else if (e->notice_id > 0)
		printf(_("%s (notice %" PRId64 ") by %s\n"), what, e->notice_id,
		       by);
	else
		printf(_("%s by %s\n"), what, by);
	if (strcmp(e->what, "closed") == 0)
		view_field(6, _("reason"), e->note);
	else
		view_field(6, _("note"), e->note);
	view_list(6, _("indicators"), e->indicators, e->n_indicators);
}

/*
 * One entry of the timeline: a notice or an event. Entries go by time,
 * then by the order of the server's events; a notice takes the place of
 * its "notice" event when there is one (which then is not shown itself),
 * else comes after the events of the same time.
 */
struct view_entry {
	const char *at;
	size_t order;
	size_t index; /* in notices[] or events[] */
	int is_notice;
};

static int view_entry_cmp(const void *a, const void *b)
{
	const struct view_entry *x = a, *y = b;
	int c = strcmp(x->at, y->at);

	if (c != 0)
		return c;
	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return 0;
}

/* Index in notices[] of the notice a "notice" event is about, or -1. */
static long view_event_notice(const Maillage__CaseView *v,
			      const Maillage__CaseEvent *e)
{
	size_t i;

	if (strcmp(e->what, "notice") != 0 || e->notice_id <= 0)
		return -1;
	for (i = 0; i < v->n_notices; i++)
		if (v->notices[i]->notice_id == e->notice_id)
			return (long)i;
	return -1;
}

static void view_timeline(const Maillage__CaseView *v)
{
	struct view_entry *ent;
	unsigned char *placed;
	size_t i, n = 0;
	long j;

	ent = calloc(v->n_notices + v->n_events + 1, sizeof(*ent));
	placed = calloc(v->n_notices + 1, 1);
	if (ent == NULL || placed == NULL) {
		free(ent);
		free(placed);
		output_warnx(_("out of memory"));
		return;
	}
	for (i = 0; i < v->n_events; i++) {
		j = view_event_notice(v, v->events[i]);
		ent[n].at = v->events[i]->at;
		ent[n].order = i;
		if (j >= 0 && !placed[j]) {
			placed[j] = 1;
			ent[n].index = (size_t)j;
			ent[n++].is_notice = 1;
		} else if (j < 0) {
			ent[n].index = i;
			ent[n++].is_notice = 0;
		}
	}
	for (i = 0; i < v->n_notices; i++) {
		if (placed[i])
			continue;
		ent[n].at = v->notices[i]->sent_at;
		ent[n].order = v->n_events + i;
		ent[n].index = i;
		ent[n++].is_notice = 1;
	}
	qsort(ent, n, sizeof(*ent), view_entry_cmp);
	printf(n == 0 ? _("\nTimeline: empty\n") : _("\nTimeline:\n"));
	for (i = 0; i < n; i++) {
		if (ent[i].is_notice)
			view_notice(v->notices[ent[i].index]);
		else
			view_event(v->events[ent[i].index]);
	}
	free(placed);
	free(ent);
}

void view_case_view_text(const Maillage__CaseView *v)
{
	static const Maillage__CaseSummary none = MAILLAGE__CASE_SUMMARY__INIT;

	view_summary(v->summary != NULL ? v->summary : &none, 0);
	view_identities(v);
	view_parties(v);
	view_timeline(v);
}
