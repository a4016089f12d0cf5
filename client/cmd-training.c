/*
 * cmd-training: the `maillage training ...` commands, the awareness
 * sessions (sensibilisations) the coordinators record: add, edit, list,
 * show, and the reference codes they use. This module owns the draft of a
 * session: read from a JSON file (--file, keys named as in the protocol,
 * the same shape `training show --json` prints), overridden by the
 * command-line options; for an edit, laid over the session as the server
 * holds it, sent back with the version read so that a concurrent edit is
 * refused rather than lost. Drafts are built before any connection (usage
 * errors cost none); the values themselves (dates, bounds, codes, known
 * institutions) are the server's to judge: a negative count or a score of
 * 11 goes to the server, which refuses it naming the field.
 */
#include "cmd.h"
#include "output.h"
#include "view.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#define TR_KEY_BYTES 16
/* Largest magnitude of a number the client puts on the wire. */
#define TR_NUMBER_MAX 1000000L
#define TR_LIMIT_DEFAULT 100u
#define TR_LIMIT_MAX 100000u

/* ---- the draft -------------------------------------------------------- */

struct tr_att {
	char *institution;
	struct cmd_strv profiles;
	long *counts; /* parallel to profiles.v */
};

struct tr_draft {
	char *key;
	int key_generated;
	char *held_on, *format, *title; /* NULL: not given */
	long duration;
	int has_duration;
	struct tr_att *att;
	size_t n_att;
	int has_att;
	struct cmd_strv modules;
	int has_modules;
	struct cmd_strv trainers;
	int has_trainers;
	int has_pre, pre_set, has_post, post_set;
	double pre, post;
	unsigned version; /* edit: --version, 0 when not given */
};

static int tr_oom(void)
{
	output_warnx(_("out of memory"));
	return MAILLAGE_EXIT_UNAVAILABLE;
}

static void tr_att_clear(struct tr_draft *d)
{
	size_t i;

	for (i = 0; i < d->n_att; i++) {
		free(d->att[i].institution);
		cmd_strv_free(&d->att[i].profiles);
		free(d->att[i].counts);
	}
	free(d->att);
	d->att = NULL;
	d->n_att = 0;
}

static void tr_draft_free(void *data)
{
	struct tr_draft *d = data;

	if (d == NULL)
		return;
	free(d->key);
	free(d->held_on);
	free(d->format);
	free(d->title);
	tr_att_clear(d);
	cmd_strv_free(&d->modules);
	cmd_strv_free(&d->trainers);
	free(d);
}

static int tr_set(char **dst, const char *v)
{
	char *copy = strdup(v);

	if (copy == NULL)
		return -1;
	free(*dst);
	*dst = copy;
	return 0;
}

/* A new attending institution; NULL when out of memory. */
static struct tr_att *tr_att_new(struct tr_draft *d, const char *inst)
{
	struct tr_att *a = realloc(d->att, (d->n_att + 1) * sizeof(*a));

	if (a == NULL)
		return NULL;
	d->att = a;
	a = &d->att[d->n_att];
	memset(a, 0, sizeof(*a));
	a->institution = strdup(inst);
	if (a->institution == NULL)
		return NULL;
	d->n_att++;
	return a;
}

static int tr_att_add(struct tr_att *a, const char *profile, long count)
{
	long *c = realloc(a->counts, (a->profiles.n + 1) * sizeof(*c));

	if (c == NULL)
		return -1;
	a->counts = c;
	if (cmd_strv_push(&a->profiles, profile) != 0)
		return -1;
	a->counts[a->profiles.n - 1] = count;
	return 0;
}

/* ---- parsing values --------------------------------------------------- */

/* A whole integer, within +-TR_NUMBER_MAX. */
static int tr_parse_long(const char *s, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0 || v > TR_NUMBER_MAX ||
	    v < -TR_NUMBER_MAX)
		return -1;
	*out = v;
	return 0;
}

/*
 * A duration: minutes ("90", "90m", "90min"), or hours and minutes ("3h",
 * "1h30", "1h30m"). A leading '-' is kept for the server to refuse.
 */
static int tr_parse_duration(const char *s, long *out)
{
	const char *p = s;
	long a = 0, b = 0;
	int neg = 0, digits = 0;

	if (*p == '-') {
		neg = 1;
		p++;
	}
	while (*p >= '0' && *p <= '9' && digits < 6) {
		a = a * 10 + (*p++ - '0');
		digits++;
	}
	if (digits == 0 || (*p >= '0' && *p <= '9'))
		return -1;
	if (*p == 'h') {
		p++;
		digits = 0;
		while (*p >= '0' && *p <= '9' && digits < 2) {
			b = b * 10 + (*p++ - '0');
			digits++;
		}
		if (b >= 60)
			return -1;
		if (digits > 0 && *p == 'm')
			p++;
		a = a * 60 + b;
	} else if (strcmp(p, "m") == 0 || strcmp(p, "min") == 0) {
		p += strlen(p);
	}
	if (*p != '\0')
		return -1;
	*out = neg ? -a : a;
	return 0;
}

/* A score: any finite number (its range is the server's to judge). */
static int tr_parse_score(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0 || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

/* "INST:PROFILE=N[,PROFILE=N...]" */
static int tr_parse_attendee(struct cmd_ctx *ctx, struct tr_draft *d,
			     const char *spec)
{
	const char *colon = strchr(spec, ':');
	struct cmd_strv items = {0};
	struct tr_att *a;
	char inst[64], sp[128];
	size_t i;
	int rc = MAILLAGE_EXIT_OK;

	output_clean(sp, sizeof(sp), spec);
	if (colon == NULL || colon == spec ||
	    (size_t)(colon - spec) >= sizeof(inst))
		return cmd_usage_error(
			ctx,
			_("--attendee %s: expected "
			  "INSTITUTION:PROFILE=N[,PROFILE=N...]"),
			sp);
	memcpy(inst, spec, (size_t)(colon - spec));
	inst[colon - spec] = '\0';
	if (cmd_strv_split(&items, colon + 1) != 0)
		return tr_oom();
	if (items.n == 0) {
		rc = cmd_usage_error(ctx,
				     _("--attendee %s: no PROFILE=N after the "
				       "institution"),
				     sp);
		goto out;
	}
	a = tr_att_new(d, inst);
	if (a == NULL) {
		rc = tr_oom();
		goto out;
	}
	for (i = 0; i < items.n; i++) {
		char *eq = strchr(items.v[i], '=');
		long n;

		if (eq == NULL || eq == items.v[i] ||
		    tr_parse_long(eq + 1, &n) != 0) {
			rc = cmd_usage_error(ctx,
					     _("--attendee %s: expected "
					       "PROFILE=N with N a number"),
					     sp);
			goto out;
		}
		*eq = '\0';
		if (tr_att_add(a, items.v[i], n) != 0) {
			rc = tr_oom();
			goto out;
		}
	}
out:
	cmd_strv_free(&items);
	return rc;
}

/* ---- session.json ----------------------------------------------------- */

static int tr_file_error(const char *path, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int tr_file_error(const char *path, const char *fmt, ...)
{
	char msg[512], p[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	output_warnx("%s: %s", output_clean(p, sizeof(p), path), msg);
	return MAILLAGE_EXIT_USAGE;
}

/* A JSON integer within +-TR_NUMBER_MAX. */
static int tr_json_long(json_t *v, long *out)
{
	json_int_t n;

	if (!json_is_integer(v))
		return -1;
	n = json_integer_value(v);
	if (n > TR_NUMBER_MAX || n < -TR_NUMBER_MAX)
		return -1;
	*out = (long)n;
	return 0;
}

/* A list of strings: an array, or (when `csv`) a comma-separated string. */
static int tr_json_strings(const char *path, const char *key, json_t *v,
			   int csv, struct cmd_strv *sv)
{
	json_t *item;
	size_t i;

	cmd_strv_free(sv);
	if (csv && json_is_string(v))
		return cmd_strv_split(sv, json_string_value(v)) != 0
			       ? tr_oom()
			       : MAILLAGE_EXIT_OK;
	if (!json_is_array(v))
		return tr_file_error(
			path, _("'%s' must be an array of strings"), key);
	json_array_foreach(v, i, item)
	{
		if (!json_is_string(item))
			return tr_file_error(path, _("'%s' must hold strings"),
					     key);
		if (cmd_strv_push(sv, json_string_value(item)) != 0)
			return tr_oom();
	}
	return MAILLAGE_EXIT_OK;
}

/* "participants": {"educator": 3, ...} or [{"profile", "count"}, ...] */
static int tr_json_participants(const char *path, struct tr_att *a, json_t *v)
{
	const char *profile;
	json_t *item, *n;
	size_t i;
	long count;

	if (json_is_object(v)) {
		json_object_foreach(v, profile, n)
		{
			if (tr_json_long(n, &count) != 0)
				return tr_file_error(
					path,
					_("participants of '%s': not a "
					  "number"),
					profile);
			if (tr_att_add(a, profile, count) != 0)
				return tr_oom();
		}
		return MAILLAGE_EXIT_OK;
	}
	if (!json_is_array(v))
		return tr_file_error(path, _("'participants' must be an object "
					     "{\"PROFILE\": N} or an array"));
	json_array_foreach(v, i, item)
	{
		json_t *p = json_object_get(item, "profile");

		n = json_object_get(item, "count");
		if (!json_is_string(p) || tr_json_long(n, &count) != 0)
			return tr_file_error(
				path,
				_("participants %zu: expected "
				  "{\"profile\": \"...\", \"count\": "
				  "N}"),
				i + 1);
		if (tr_att_add(a, json_string_value(p), count) != 0)
			return tr_oom();
	}
	return MAILLAGE_EXIT_OK;
}

/* Keys of an attendance entry that answers carry and files may keep. */
static int tr_answer_only(const char *key, const char *const *keys)
{
	size_t i;

	for (i = 0; keys[i] != NULL; i++)
		if (strcmp(keys[i], key) == 0)
			return 1;
	return 0;
}

static int tr_json_attendance(const char *path, struct tr_draft *d, json_t *v)
{
	static const char *const ignored[] = {"institution_name",
					      "institution_kind", "departement",
					      "total", NULL};
	json_t *item, *m;
	const char *key;
	size_t i;
	char k[64];
	int rc;

	if (!json_is_array(v))
		return tr_file_error(path, _("'attendance' must be an array"));
	tr_att_clear(d);
	json_array_foreach(v, i, item)
	{
		json_t *inst = json_object_get(item, "institution");
		struct tr_att *a;

		if (!json_is_object(item) || !json_is_string(inst))
			return tr_file_error(path,
					     _("attendance %zu: expected "
					       "{\"institution\": \"CODE\", "
					       "\"participants\": ...}"),
					     i + 1);
		a = tr_att_new(d, json_string_value(inst));
		if (a == NULL)
			return tr_oom();
		json_object_foreach(item, key, m)
		{
			if (strcmp(key, "institution") == 0 ||
			    tr_answer_only(key, ignored))
				continue;
			if (strcmp(key, "participants") != 0)
				return tr_file_error(
					path,
					_("attendance %zu: unknown key '%s'"),
					i + 1, output_clean(k, sizeof(k), key));
			rc = tr_json_participants(path, a, m);
			if (rc != MAILLAGE_EXIT_OK)
				return rc;
		}
	}
	d->has_att = 1;
	return MAILLAGE_EXIT_OK;
}

static int tr_json_score(const char *path, const char *key, json_t *v, int *has,
			 int *set, double *out)
{
	*has = 1;
	if (json_is_null(v)) {
		*set = 0;
		return MAILLAGE_EXIT_OK;
	}
	if (!json_is_number(v))
		return tr_file_error(path, _("'%s' must be a number or null"),
				     key);
	*set = 1;
	*out = json_number_value(v);
	return MAILLAGE_EXIT_OK;
}

static int tr_json_string(const char *path, const char *key, json_t *v,
			  char **dst)
{
	if (!json_is_string(v))
		return tr_file_error(path, _("'%s' must be a string"), key);
	return tr_set(dst, json_string_value(v)) != 0 ? tr_oom()
						      : MAILLAGE_EXIT_OK;
}

static int tr_json_member(struct tr_draft *d, const char *path, const char *key,
			  json_t *v)
{
	static const char *const ignored[] = {
		"id",	      "version",    "participants", "created_at",
		"created_by", "updated_at", "updated_by",   NULL};
	char k[64];

	if (strcmp(key, "held_on") == 0)
		return tr_json_string(path, key, v, &d->held_on);
	if (strcmp(key, "format") == 0)
		return tr_json_string(path, key, v, &d->format);
	if (strcmp(key, "title") == 0)
		return tr_json_string(path, key, v, &d->title);
	if (strcmp(key, "idempotency_key") == 0)
		return tr_json_string(path, key, v, &d->key);
	if (strcmp(key, "duration_minutes") == 0) {
		if (tr_json_long(v, &d->duration) != 0)
			return tr_file_error(path, _("'duration_minutes' must "
						     "be an integer"));
		d->has_duration = 1;
		return MAILLAGE_EXIT_OK;
	}
	if (strcmp(key, "attendance") == 0)
		return tr_json_attendance(path, d, v);
	if (strcmp(key, "modules") == 0) {
		d->has_modules = 1;
		return tr_json_strings(path, key, v, 1, &d->modules);
	}
	if (strcmp(key, "trainers") == 0) {
		d->has_trainers = 1;
		return tr_json_strings(path, key, v, 0, &d->trainers);
	}
	if (strcmp(key, "pre_score") == 0)
		return tr_json_score(path, key, v, &d->has_pre, &d->pre_set,
				     &d->pre);
	if (strcmp(key, "post_score") == 0)
		return tr_json_score(path, key, v, &d->has_post, &d->post_set,
				     &d->post);
	if (tr_answer_only(key, ignored))
		return MAILLAGE_EXIT_OK;
	return tr_file_error(path, _("unknown key '%s'"),
			     output_clean(k, sizeof(k), key));
}

static int tr_from_file(struct tr_draft *d, const char *path)
{
	json_error_t jerr;
	const char *key;
	json_t *doc, *v;
	int rc = MAILLAGE_EXIT_OK;

	if (strcmp(path, "-") == 0)
		doc = json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr);
	else
		doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		if (jerr.line > 0)
			return tr_file_error(path, _("line %d: %s"), jerr.line,
					     jerr.text);
		return tr_file_error(path, "%s", jerr.text);
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		return tr_file_error(path, _("expected a JSON object"));
	}
	json_object_foreach(doc, key, v)
	{
		rc = tr_json_member(d, path, key, v);
		if (rc != MAILLAGE_EXIT_OK)
			break;
	}
	json_decref(doc);
	return rc;
}

/* ---- options ---------------------------------------------------------- */

static int tr_from_options(struct cmd_ctx *ctx, struct tr_draft *d)
{
	const char *v;
	size_t i, n;
	int rc;

	if ((v = cmd_opt_value(ctx, "date")) != NULL &&
	    tr_set(&d->held_on, v) != 0)
		return tr_oom();
	if ((v = cmd_opt_value(ctx, "format")) != NULL &&
	    tr_set(&d->format, v) != 0)
		return tr_oom();
	if ((v = cmd_opt_value(ctx, "title")) != NULL &&
	    tr_set(&d->title, v) != 0)
		return tr_oom();
	if ((v = cmd_opt_value(ctx, "key")) != NULL && tr_set(&d->key, v) != 0)
		return tr_oom();
	if ((v = cmd_opt_value(ctx, "duration")) != NULL) {
		if (tr_parse_duration(v, &d->duration) != 0)
			return cmd_usage_error(
				ctx, _("--duration is minutes (90) or "
				       "hours and minutes (1h30, 3h)"));
		d->has_duration = 1;
	}
	n = cmd_opt_count(ctx, "attendee");
	if (n > 0) {
		tr_att_clear(d);
		d->has_att = 1;
		for (i = 0; i < n; i++) {
			rc = tr_parse_attendee(ctx, d,
					       cmd_opt_nth(ctx, "attendee", i));
			if (rc != MAILLAGE_EXIT_OK)
				return rc;
		}
	}
	if (cmd_opt_isset(ctx, "module")) {
		cmd_strv_free(&d->modules);
		d->has_modules = 1;
		if (cmd_opt_list(ctx, "module", &d->modules) != 0)
			return MAILLAGE_EXIT_UNAVAILABLE;
	}
	n = cmd_opt_count(ctx, "trainer");
	if (n > 0) {
		cmd_strv_free(&d->trainers);
		d->has_trainers = 1;
		for (i = 0; i < n; i++)
			if (cmd_strv_push(&d->trainers,
					  cmd_opt_nth(ctx, "trainer", i)) != 0)
				return tr_oom();
	}
	if (cmd_opt_isset(ctx, "no-trainers")) {
		cmd_strv_free(&d->trainers);
		d->has_trainers = 1;
	}
	if ((v = cmd_opt_value(ctx, "pre-score")) != NULL) {
		if (tr_parse_score(v, &d->pre) != 0)
			return cmd_usage_error(ctx,
					       _("--pre-score is a number"));
		d->has_pre = d->pre_set = 1;
	}
	if ((v = cmd_opt_value(ctx, "post-score")) != NULL) {
		if (tr_parse_score(v, &d->post) != 0)
			return cmd_usage_error(ctx,
					       _("--post-score is a number"));
		d->has_post = d->post_set = 1;
	}
	if (cmd_opt_isset(ctx, "no-scores")) {
		d->has_pre = d->has_post = 1;
		d->pre_set = d->post_set = 0;
	}
	return MAILLAGE_EXIT_OK;
}

static int tr_new_key(struct tr_draft *d)
{
	unsigned char raw[TR_KEY_BYTES];
	char hex[2 * TR_KEY_BYTES + 1];
	size_t i;

	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		output_warnx(_("cannot generate an idempotency key: no "
			       "randomness; give one with --key"));
		return MAILLAGE_EXIT_UNAVAILABLE;
	}
	for (i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	if (tr_set(&d->key, hex) != 0)
		return tr_oom();
	d->key_generated = 1;
	return MAILLAGE_EXIT_OK;
}

/* The draft of add or edit from --file then the options, into ctx->data. */
static int tr_draft_read(struct cmd_ctx *ctx, struct tr_draft **out)
{
	const char *file = cmd_opt_value(ctx, "file");
	struct tr_draft *d;
	int rc;

	if (cmd_opt_isset(ctx, "no-scores") &&
	    (cmd_opt_isset(ctx, "pre-score") ||
	     cmd_opt_isset(ctx, "post-score")))
		return cmd_usage_error(ctx,
				       _("--no-scores excludes --pre-score "
					 "and --post-score"));
	if (cmd_opt_isset(ctx, "no-trainers") && cmd_opt_isset(ctx, "trainer"))
		return cmd_usage_error(ctx,
				       _("--no-trainers excludes --trainer"));
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return tr_oom();
	ctx->data = d;
	ctx->data_free = tr_draft_free;
	if (file != NULL && (rc = tr_from_file(d, file)) != MAILLAGE_EXIT_OK)
		return rc;
	if ((rc = tr_from_options(ctx, d)) != MAILLAGE_EXIT_OK)
		return rc;
	*out = d;
	return MAILLAGE_EXIT_OK;
}

/* ---- the session on the wire --------------------------------------------- */

/* A session message over the draft's values (which it borrows). */
struct tr_msg {
	Maillage__TrainingSession s;
	Maillage__TrainingAttendance *att, **attp;
	Maillage__TrainingCount *cnt, **cntp;
};

static void tr_msg_free(struct tr_msg *m)
{
	free(m->att);
	free(m->attp);
	free(m->cnt);
	free(m->cntp);
	memset(m, 0, sizeof(*m));
}

static int32_t tr_i32(long v)
{
	return v > INT32_MAX   ? INT32_MAX
	       : v < INT32_MIN ? INT32_MIN
			       : (int32_t)v;
}

static int tr_msg_build(struct tr_msg *m, const struct tr_draft *d)
{
	size_t i, j, total = 0, k = 0;

	memset(m, 0, sizeof(*m));
	maillage__training_session__init(&m->s);
	for (i = 0; i < d->n_att; i++)
		total += d->att[i].profiles.n;
	m->att = calloc(d->n_att + 1, sizeof(*m->att));
	m->attp = calloc(d->n_att + 1, sizeof(*m->attp));
	m->cnt = calloc(total + 1, sizeof(*m->cnt));
	m->cntp = calloc(total + 1, sizeof(*m->cntp));
	if (m->att == NULL || m->attp == NULL || m->cnt == NULL ||
	    m->cntp == NULL) {
		tr_msg_free(m);
		return -1;
	}
	m->s.held_on = d->held_on != NULL ? d->held_on : "";
	m->s.duration_minutes = tr_i32(d->duration);
	m->s.format = d->format != NULL ? d->format : "";
	m->s.title = d->title != NULL ? d->title : "";
	for (i = 0; i < d->n_att; i++) {
		Maillage__TrainingAttendance *a = &m->att[i];

		maillage__training_attendance__init(a);
		a->institution = d->att[i].institution;
		a->participants = &m->cntp[k];
		for (j = 0; j < d->att[i].profiles.n; j++, k++) {
			maillage__training_count__init(&m->cnt[k]);
			m->cnt[k].profile = d->att[i].profiles.v[j];
			m->cnt[k].count = tr_i32(d->att[i].counts[j]);
			m->cntp[k] = &m->cnt[k];
		}
		a->n_participants = d->att[i].profiles.n;
		m->attp[i] = a;
	}
	m->s.attendance = m->attp;
	m->s.n_attendance = d->n_att;
	m->s.modules = d->modules.v;
	m->s.n_modules = d->modules.n;
	m->s.trainers = d->trainers.v;
	m->s.n_trainers = d->trainers.n;
	m->s.pre_score_set = d->pre_set;
	m->s.pre_score = d->pre;
	m->s.post_score_set = d->post_set;
	m->s.post_score = d->post;
	return 0;
}

/* The server's session as a draft (edit's starting point). */
static int tr_draft_from_session(struct tr_draft *d,
				 const Maillage__TrainingSession *s)
{
	size_t i, j;

	memset(d, 0, sizeof(*d));
	if (tr_set(&d->held_on, s->held_on) != 0 ||
	    tr_set(&d->format, s->format) != 0 ||
	    tr_set(&d->title, s->title) != 0)
		return -1;
	d->duration = s->duration_minutes;
	for (i = 0; i < s->n_attendance; i++) {
		const Maillage__TrainingAttendance *a = s->attendance[i];
		struct tr_att *ta = tr_att_new(d, a->institution);

		if (ta == NULL)
			return -1;
		for (j = 0; j < a->n_participants; j++)
			if (tr_att_add(ta, a->participants[j]->profile,
				       a->participants[j]->count) != 0)
				return -1;
	}
	for (i = 0; i < s->n_modules; i++)
		if (cmd_strv_push(&d->modules, s->modules[i]) != 0)
			return -1;
	for (i = 0; i < s->n_trainers; i++)
		if (cmd_strv_push(&d->trainers, s->trainers[i]) != 0)
			return -1;
	d->pre_set = s->pre_score_set;
	d->pre = s->pre_score;
	d->post_set = s->post_score_set;
	d->post = s->post_score;
	return 0;
}

static void tr_swap_strv(struct cmd_strv *a, struct cmd_strv *b)
{
	struct cmd_strv t = *a;

	*a = *b;
	*b = t;
}

static void tr_swap_str(char **a, char **b)
{
	char *t = *a;

	*a = *b;
	*b = t;
}

/* Lay what `over` gives over `base` (moving it: `over` is left spent). */
static void tr_draft_overlay(struct tr_draft *base, struct tr_draft *over)
{
	if (over->held_on != NULL)
		tr_swap_str(&base->held_on, &over->held_on);
	if (over->format != NULL)
		tr_swap_str(&base->format, &over->format);
	if (over->title != NULL)
		tr_swap_str(&base->title, &over->title);
	if (over->has_duration)
		base->duration = over->duration;
	if (over->has_att) {
		struct tr_att *a = base->att;
		size_t n = base->n_att;

		base->att = over->att;
		base->n_att = over->n_att;
		over->att = a;
		over->n_att = n;
	}
	if (over->has_modules)
		tr_swap_strv(&base->modules, &over->modules);
	if (over->has_trainers)
		tr_swap_strv(&base->trainers, &over->trainers);
	if (over->has_pre) {
		base->pre_set = over->pre_set;
		base->pre = over->pre;
	}
	if (over->has_post) {
		base->post_set = over->post_set;
		base->post = over->post;
	}
}

/* ---- rendering -------------------------------------------------------- */

static const char *tr_duration(char buf[32], int32_t minutes)
{
	if (minutes < 60)
		snprintf(buf, 32, _("%dmin"), (int)minutes);
	else
		snprintf(buf, 32, "%dh%02d", (int)(minutes / 60),
			 (int)(minutes % 60));
	return buf;
}

static json_t *tr_json_counts(const Maillage__TrainingAttendance *a,
			      long *total)
{
	json_t *arr = json_array();
	size_t i;

	*total = 0;
	for (i = 0; arr != NULL && i < a->n_participants; i++) {
		const Maillage__TrainingCount *c = a->participants[i];

		*total += c->count;
		if (json_array_append_new(
			    arr, json_pack("{s:o, s:i}", "profile",
					   output_jstr(c->profile), "count",
					   (int)c->count)) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return arr;
}

static json_t *tr_score_json(int set, double v)
{
	return set ? json_real(v) : json_null();
}

static json_t *tr_json_session(const Maillage__TrainingSession *s)
{
	json_t *att = json_array(), *o;
	size_t i;

	for (i = 0; att != NULL && i < s->n_attendance; i++) {
		const Maillage__TrainingAttendance *a = s->attendance[i];
		json_t *counts;
		long total;

		counts = tr_json_counts(a, &total);
		if (counts == NULL ||
		    json_array_append_new(
			    att, json_pack("{s:o, s:o, s:o, s:o, s:o, s:I}",
					   "institution",
					   output_jstr(a->institution),
					   "institution_name",
					   output_jstr(a->institution_name),
					   "institution_kind",
					   output_jstr(a->institution_kind),
					   "departement",
					   output_jstr(a->departement),
					   "participants", counts, "total",
					   (json_int_t)total)) != 0) {
			json_decref(att);
			att = NULL;
		}
	}
	if (att == NULL)
		return NULL;
	o = json_pack(
		"{s:I, s:o, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
		"s:I, s:I, s:o, s:o, s:o, s:o}",
		"id", (json_int_t)s->id, "held_on", output_jstr(s->held_on),
		"duration_minutes", (int)s->duration_minutes, "format",
		output_jstr(s->format), "title", output_jstr(s->title),
		"attendance", att, "modules",
		view_json_strings(s->modules, s->n_modules), "trainers",
		view_json_strings(s->trainers, s->n_trainers), "pre_score",
		tr_score_json(s->pre_score_set, s->pre_score), "post_score",
		tr_score_json(s->post_score_set, s->post_score), "version",
		(json_int_t)s->version, "participants",
		(json_int_t)s->participants, "created_at",
		output_jstr(s->created_at), "created_by",
		output_jstr(s->created_by), "updated_at",
		output_jstr(s->updated_at), "updated_by",
		output_jstr(s->updated_by));
	return o;
}

static void tr_session_text(const Maillage__TrainingSession *s)
{
	static const char *const headers[] = {N_("INSTITUTION"), N_("KIND"),
					      N_("DEP"), N_("PROFILE"),
					      N_("PARTICIPANTS")};
	struct view_table *t;
	char buf[128], dur[32];
	size_t i, j;

	printf("session %" PRId64 " (version %" PRIu32 ")\n", s->id,
	       s->version);
	output_field(_("held on"), s->held_on);
	snprintf(buf, sizeof(buf), "%s, %s",
		 tr_duration(dur, s->duration_minutes), s->format);
	output_field(_("duration and format"), buf);
	if (s->title[0] != '\0')
		output_field(_("title"), s->title);
	snprintf(buf, sizeof(buf), "%" PRIu32 " from %zu institution%s",
		 s->participants, s->n_attendance,
		 s->n_attendance == 1 ? "" : "s");
	output_field(_("participants"), buf);
	if (s->n_modules > 0) {
		printf(_("modules: "));
		for (i = 0; i < s->n_modules; i++)
			printf("%s%s", i > 0 ? ", " : "",
			       output_clean(buf, sizeof(buf), s->modules[i]));
		putchar('\n');
	}
	if (s->n_trainers > 0) {
		printf(_("trainers: "));
		for (i = 0; i < s->n_trainers; i++)
			printf("%s%s", i > 0 ? ", " : "",
			       output_clean(buf, sizeof(buf), s->trainers[i]));
		putchar('\n');
	}
	if (s->pre_score_set || s->post_score_set) {
		char pre[16] = "-", post[16] = "-";

		if (s->pre_score_set)
			snprintf(pre, sizeof(pre), "%.2f", s->pre_score);
		if (s->post_score_set)
			snprintf(post, sizeof(post), "%.2f", s->post_score);
		snprintf(buf, sizeof(buf), _("%s before, %s after (out of 10)"),
			 pre, post);
		output_field(_("self-assessment"), buf);
	}
	snprintf(buf, sizeof(buf), _("%s by %s"), s->created_at, s->created_by);
	output_field(_("recorded"), buf);
	if (s->version > 1) {
		snprintf(buf, sizeof(buf), _("%s by %s"), s->updated_at,
			 s->updated_by);
		output_field(_("last edited"), buf);
	}
	t = view_table_new(5, headers);
	if (t == NULL) {
		output_warnx(_("out of memory"));
		return;
	}
	for (i = 0; i < s->n_attendance; i++) {
		const Maillage__TrainingAttendance *a = s->attendance[i];

		for (j = 0; j < a->n_participants; j++) {
			const char *cells[5];
			char n[16];

			snprintf(n, sizeof(n), "%d",
				 (int)a->participants[j]->count);
			cells[0] = j == 0 ? a->institution : "";
			cells[1] = j == 0 ? a->institution_kind : "";
			cells[2] = j == 0 ? a->departement : "";
			cells[3] = a->participants[j]->profile;
			cells[4] = n;
			if (view_table_add(t, cells) != 0) {
				view_table_free(t);
				output_warnx(_("out of memory"));
				return;
			}
		}
	}
	putchar('\n');
	view_table_print(t, 2, 1);
	view_table_free(t);
}

/* Print the answer of add, edit or show. */
static int tr_print_result(struct cmd_ctx *ctx,
			   const Maillage__TrainingResult *r, const char *verb,
			   int replayed)
{
	const Maillage__TrainingSession *s = r->session;

	if (s == NULL) {
		output_warnx(_("the server answered without the session"));
		return MAILLAGE_EXIT_UNAVAILABLE;
	}
	if (ctx->json) {
		json_t *o = tr_json_session(s);

		if (o != NULL && verb != NULL &&
		    json_object_set_new(o, "replayed",
					json_boolean(replayed)) != 0) {
			json_decref(o);
			o = NULL;
		}
		return output_json(o);
	}
	if (verb != NULL) {
		if (replayed)
			printf(_("session %" PRId64
				 " had already been recorded "
				 "with this key (nothing new stored)\n"),
			       s->id);
		else
			printf("session %" PRId64 " %s: version %" PRIu32
			       "\n\n",
			       s->id, verb, s->version);
	}
	tr_session_text(s);
	return MAILLAGE_EXIT_OK;
}

/* ---- training add ------------------------------------------------------- */

static int cmd_training_add_check(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct tr_draft *d;
	int rc;

	(void)argc;
	(void)argv;
	if ((rc = tr_draft_read(ctx, &d)) != MAILLAGE_EXIT_OK)
		return rc;
	if (d->held_on == NULL)
		return cmd_usage_error(ctx, _("the date of the session is "
					      "missing (--date)"));
	if (!d->has_att || d->n_att == 0)
		return cmd_usage_error(ctx, _("no attending institution "
					      "(--attendee INST:PROFILE=N)"));
	if ((d->key == NULL || d->key[0] == '\0') &&
	    !cmd_opt_isset(ctx, "key") &&
	    (rc = tr_new_key(d)) != MAILLAGE_EXIT_OK)
		return rc;
	return MAILLAGE_EXIT_OK;
}

static int cmd_training_add_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct tr_draft *d = ctx->data;
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__TrainingAdd ta = MAILLAGE__TRAINING_ADD__INIT;
	const Maillage__TrainingResult *r;
	struct frame_msg *resp = NULL;
	struct tr_msg m;
	struct cerr err;
	int rc, retried = 0;

	(void)argc;
	(void)argv;
	if (tr_msg_build(&m, d) != 0)
		return tr_oom();
	ta.idempotency_key = d->key;
	ta.session = &m.s;
	req.body_case = MAILLAGE__ENVELOPE__BODY_TRAINING_ADD;
	req.training_add = &ta;
	rc = net_call(ctx->conn, &req, MAILLAGE__ENVELOPE__BODY_TRAINING_RESULT,
		      &resp, &err);
	if (rc != 0 && err.kind == CERR_NETWORK) {
		/* Lost before the answer: once more, same key. */
		retried = 1;
		rc = cmd_reconnect(ctx, &err);
		if (rc == 0)
			rc = net_call(ctx->conn, &req,
				      MAILLAGE__ENVELOPE__BODY_TRAINING_RESULT,
				      &resp, &err);
	}
	tr_msg_free(&m);
	if (rc != 0) {
		rc = cmd_fail(ctx, &err);
		if (rc == MAILLAGE_EXIT_UNAVAILABLE && err.kind != CERR_LOCAL &&
		    d->key_generated)
			output_warnx(_("the session may have been recorded; to "
				       "try again without risk of recording it "
				       "twice, add --key %s"),
				     d->key);
		return rc;
	}
	r = resp->env->training_result;
	rc = tr_print_result(ctx, r, "recorded",
			     r->replayed && !(retried && d->key_generated));
	frame_msg_free(resp);
	return rc;
}

static const struct cmd_option cmd_training_add_options[] = {
	{"date", 'd', "DATE", N_("the day the session was held (YYYY-MM-DD)")},
	{"duration", 0, "DURATION", N_("minutes (90) or hours (1h30, 3h)")},
	{"format", 0, "FORMAT", N_("on_site or remote")},
	{"title", 0, "TEXT", N_("a title (optional)")},
	{"attendee", 'a', "INST:PROFILE=N[,...]",
	 N_("an attending institution and its participants by profile "
	    "(repeatable)")},
	{"module", 'm', "CODE[,CODE...]", N_("a module covered (repeatable)")},
	{"trainer", 't', "NAME", N_("who ran the session (repeatable)")},
	{"no-trainers", 0, NULL, N_("no trainer (edit: remove them)")},
	{"pre-score", 0, "X", N_("self-assessment before, 0 to 10")},
	{"post-score", 0, "X", N_("self-assessment after, 0 to 10")},
	{"no-scores", 0, NULL, N_("no self-assessment (edit: remove them)")},
	{"key", 0, "KEY", N_("idempotency key (default: a random one)")},
	{"file", 'f', "FILE",
	 N_("read the session from a JSON file (-: stdin)")},
	{NULL, 0, NULL, NULL},
};

const struct cmd_entry cmd_training_add_entry = {
	.name = "training add",
	.alias = NULL,
	.usage = "--date DATE --duration DURATION --format on_site|remote\n"
		 "       --attendee INST:PROFILE=N[,PROFILE=N...]... "
		 "--module CODE...\n"
		 "       [--trainer NAME]... [--title TEXT] [--pre-score X "
		 "--post-score X]\n"
		 "       [--key KEY] [--file session.json]",
	.summary = N_("Record an awareness session (coordinators)"),
	.help = N_(
		"Records an awareness session that has been held: its date, "
		"duration and\n"
		"format, each attending institution with its number of "
		"participants by\n"
		"profile, the modules covered, the trainers, and optionally "
		"the mean\n"
		"self-assessment scores of the participants before and after "
		"(0 to 10).\n"
		"Participants are counted, never named. Only coordinators "
		"record sessions.\n"
		"\n"
		"Profiles: social_worker, educator, child_welfare_staff, "
		"youth_justice_staff,\n"
		"police_officer, gendarme, magistrate, lawyer, "
		"health_professional,\n"
		"volunteer, other. Modules: phenomenon, exploitation_forms, "
		"identification,\n"
		"reporting_legal, support, partnership. Formats: on_site, "
		"remote.\n"
		"'maillage training codes' lists them with their labels.\n"
		"\n"
		"--file reads the session from a JSON object with the "
		"protocol's names\n"
		"(the shape 'training show --json' prints): held_on, "
		"duration_minutes,\n"
		"format, title, attendance [{institution, participants "
		"{PROFILE: N} or\n"
		"[{profile, count}]}], modules, trainers, pre_score, "
		"post_score,\n"
		"idempotency_key. Options given as well override the file. "
		"Sent again\n"
		"with the same key, the session is stored once.\n"
		"\n"
		"With --json: the session as 'training show --json' prints "
		"it, and\n"
		"\"replayed\".\n"
		"\n"
		"Example:\n"
		"  $ maillage training add --date 2021-03-10 --duration 3h "
		"--format on_site \\\n"
		"      --attendee police75:police_officer=12 \\\n"
		"      --attendee ase75:social_worker=4,educator=3 \\\n"
		"      --module phenomenon,identification --trainer \"Équipe "
		"HLR\" \\\n"
		"      --pre-score 4.5 --post-score 7.5\n"
		"  session 1 recorded: version 1\n"),
	.exec = cmd_training_add_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_training_add_check,
	.options = cmd_training_add_options,
	.min_args = 0,
	.max_args = 0,
};

/* ---- training edit ------------------------------------------------------ */

static int cmd_training_edit_check(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct tr_draft *d;
	int64_t id;
	int rc;

	(void)argc;
	if (cmd_arg_id(ctx, "session id", argv[0], &id) != 0)
		return MAILLAGE_EXIT_USAGE;
	if (cmd_opt_isset(ctx, "key"))
		return cmd_usage_error(ctx, _("--key goes with training add"));
	if ((rc = tr_draft_read(ctx, &d)) != MAILLAGE_EXIT_OK)
		return rc;
	if (cmd_opt_isset(ctx, "version") &&
	    cmd_opt_uint(ctx, "version", 0, 1, UINT32_MAX, &d->version) != 0)
		return MAILLAGE_EXIT_USAGE;
	return MAILLAGE_EXIT_OK;
}

/* The session as the server holds it now; 0 or an exit code. */
static int tr_fetch(struct cmd_ctx *ctx, int64_t id, struct frame_msg **resp)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__TrainingShow ts = MAILLAGE__TRAINING_SHOW__INIT;
	struct cerr err;

	ts.id = id;
	req.body_case = MAILLAGE__ENVELOPE__BODY_TRAINING_SHOW;
	req.training_show = &ts;
	if (net_call(ctx->conn, &req, MAILLAGE__ENVELOPE__BODY_TRAINING_RESULT,
		     resp, &err) != 0)
		return cmd_fail(ctx, &err);
	if ((*resp)->env->training_result->session == NULL) {
		frame_msg_free(*resp);
		*resp = NULL;
		output_warnx(_("the server answered without the session"));
		return MAILLAGE_EXIT_UNAVAILABLE;
	}
	return MAILLAGE_EXIT_OK;
}

static int cmd_training_edit_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct tr_draft *over = ctx->data, base;
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__TrainingEdit te = MAILLAGE__TRAINING_EDIT__INIT;
	const Maillage__TrainingSession *cur;
	struct frame_msg *now = NULL, *resp = NULL;
	struct tr_msg m;
	struct cerr err;
	int rc;

	(void)argc;
	if (cmd_arg_id(ctx, "session id", argv[0], &te.id) != 0)
		return MAILLAGE_EXIT_USAGE;
	if ((rc = tr_fetch(ctx, te.id, &now)) != MAILLAGE_EXIT_OK)
		return rc;
	cur = now->env->training_result->session;
	te.version = over->version != 0 ? over->version : cur->version;
	if (tr_draft_from_session(&base, cur) != 0) {
		frame_msg_free(now);
		return tr_oom();
	}
	frame_msg_free(now);
	tr_draft_overlay(&base, over);
	if (tr_msg_build(&m, &base) != 0) {
		rc = tr_oom();
		goto out;
	}
	te.session = &m.s;
	req.body_case = MAILLAGE__ENVELOPE__BODY_TRAINING_EDIT;
	req.training_edit = &te;
	rc = net_call(ctx->conn, &req, MAILLAGE__ENVELOPE__BODY_TRAINING_RESULT,
		      &resp, &err);
	tr_msg_free(&m);
	if (rc != 0) {
		rc = cmd_fail(ctx, &err);
		goto out;
	}
	rc = tr_print_result(ctx, resp->env->training_result, "edited", 0);
	frame_msg_free(resp);
out:
	free(base.key);
	free(base.held_on);
	free(base.format);
	free(base.title);
	tr_att_clear(&base);
	cmd_strv_free(&base.modules);
	cmd_strv_free(&base.trainers);
	return rc;
}

static const struct cmd_option cmd_training_edit_options[] = {
	{"date", 'd', "DATE", N_("the day the session was held (YYYY-MM-DD)")},
	{"duration", 0, "DURATION", N_("minutes (90) or hours (1h30, 3h)")},
	{"format", 0, "FORMAT", N_("on_site or remote")},
	{"title", 0, "TEXT", N_("a title (\"\" to remove it)")},
	{"attendee", 'a', "INST:PROFILE=N[,...]",
	 N_("replaces the whole attendance (repeatable)")},
	{"module", 'm', "CODE[,CODE...]",
	 N_("replaces the modules covered (repeatable)")},
	{"trainer", 't', "NAME", N_("replaces the trainers (repeatable)")},
	{"no-trainers", 0, NULL, N_("remove the trainers")},
	{"pre-score", 0, "X", N_("self-assessment before, 0 to 10")},
	{"post-score", 0, "X", N_("self-assessment after, 0 to 10")},
	{"no-scores", 0, NULL, N_("remove the self-assessment scores")},
	{"version", 0, "N",
	 N_("refuse if the session is no longer at this version "
	    "(default: the version read just before)")},
	{"key", 0, "KEY", N_("(not for edit)")},
	{"file", 'f', "FILE", N_("read changes from a JSON file (-: stdin)")},
	{NULL, 0, NULL, NULL},
};

const struct cmd_entry cmd_training_edit_entry = {
	.name = "training edit",
	.alias = NULL,
	.usage = "SESSION [--date DATE] [--duration D] [--format F] [--title "
		 "T]\n"
		 "       [--attendee INST:PROFILE=N[,...]]... [--module "
		 "CODE]...\n"
		 "       [--trainer NAME]... [--pre-score X] [--post-score X] "
		 "[--no-scores]\n"
		 "       [--version N] [--file session.json]",
	.summary = N_("Correct a recorded awareness session (coordinators)"),
	.help = N_("Changes a recorded session: what the options or the file "
		   "give replaces\n"
		   "the session's value, the rest stays. --attendee, --module "
		   "and --trainer\n"
		   "replace the whole attendance, module list or trainer list. "
		   "The session\n"
		   "is replaced whole, in one transaction, with the version it "
		   "had when it\n"
		   "was read: if another coordinator changed it in between, "
		   "the edit is\n"
		   "refused (CONFLICT on \"version\") and nothing is changed; "
		   "show it again\n"
		   "and redo the edit. --file takes the shape of 'training "
		   "show --json',\n"
		   "so a session can be printed, corrected and sent back.\n"
		   "\n"
		   "With --json: the session as 'training show --json' prints "
		   "it, and\n"
		   "\"replayed\" (false).\n"
		   "\n"
		   "Example:\n"
		   "  $ maillage training edit 3 --attendee "
		   "police75:police_officer=14 \\\n"
		   "      --attendee ase75:social_worker=4\n"
		   "  session 3 edited: version 2\n"
		   "  $ maillage --json training show 3 > s.json; vi s.json\n"
		   "  $ maillage training edit 3 --file s.json\n"),
	.exec = cmd_training_edit_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_training_edit_check,
	.options = cmd_training_edit_options,
	.min_args = 1,
	.max_args = 1,
};

/* ---- training show ------------------------------------------------------ */

static int cmd_training_check_id(struct cmd_ctx *ctx, int argc, char **argv)
{
	int64_t id;

	(void)argc;
	return cmd_arg_id(ctx, "session id", argv[0], &id) != 0
		       ? MAILLAGE_EXIT_USAGE
		       : MAILLAGE_EXIT_OK;
}

static int cmd_training_show_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct frame_msg *resp = NULL;
	int64_t id;
	int rc;

	(void)argc;
	if (cmd_arg_id(ctx, "session id", argv[0], &id) != 0)
		return MAILLAGE_EXIT_USAGE;
	if ((rc = tr_fetch(ctx, id, &resp)) != MAILLAGE_EXIT_OK)
		return rc;
	rc = tr_print_result(ctx, resp->env->training_result, NULL, 0);
	frame_msg_free(resp);
	return rc;
}

const struct cmd_entry cmd_training_show_entry = {
	.name = "training show",
	.alias = NULL,
	.usage = "SESSION",
	.summary = N_("Show an awareness session (coordinators)"),
	.help = N_("Shows a recorded session: date, duration, format, title, "
		   "modules,\n"
		   "trainers, self-assessment scores, who recorded and last "
		   "edited it, and\n"
		   "the participants of each attending institution by "
		   "profile.\n"
		   "\n"
		   "With --json: {\"id\", \"held_on\", \"duration_minutes\", "
		   "\"format\", \"title\",\n"
		   "\"attendance\": [{\"institution\", \"institution_name\", "
		   "\"institution_kind\",\n"
		   "\"departement\", \"participants\": [{\"profile\", "
		   "\"count\"}], \"total\"}],\n"
		   "\"modules\", \"trainers\", \"pre_score\", \"post_score\" "
		   "(null when not given),\n"
		   "\"version\", \"participants\", \"created_at\", "
		   "\"created_by\", \"updated_at\",\n"
		   "\"updated_by\"}.\n"
		   "\n"
		   "Example:\n"
		   "  $ maillage training show 1\n"
		   "  session 1 (version 1)\n"
		   "  held on: 2021-03-10\n"
		   "  duration and format: 3h00, on_site\n"
		   "  ...\n"),
	.exec = cmd_training_show_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_training_check_id,
	.options = NULL,
	.min_args = 1,
	.max_args = 1,
};

/* ---- training list ------------------------------------------------------ */

struct tr_period {
	char from[16], to[16];
};

static int tr_list_opts(struct cmd_ctx *ctx, struct tr_period *p,
			unsigned *limit, int64_t *before)
{
	const char *from = cmd_opt_value(ctx, "from");
	const char *to = cmd_opt_value(ctx, "to");
	unsigned year;

	memset(p, 0, sizeof(*p));
	if (cmd_opt_isset(ctx, "year")) {
		if (from != NULL || to != NULL)
			return cmd_usage_error(ctx, _("--year excludes --from "
						      "and --to"));
		if (cmd_opt_uint(ctx, "year", 0, 1000, 9999, &year) != 0)
			return MAILLAGE_EXIT_USAGE;
		snprintf(p->from, sizeof(p->from), "%04u-01-01", year);
		snprintf(p->to, sizeof(p->to), "%04u-12-31", year);
	} else {
		if (from != NULL && strlen(from) >= sizeof(p->from))
			return cmd_usage_error(ctx, _("--from is YYYY-MM-DD"));
		if (to != NULL && strlen(to) >= sizeof(p->to))
			return cmd_usage_error(ctx, _("--to is YYYY-MM-DD"));
		snprintf(p->from, sizeof(p->from), "%s",
			 from != NULL ? from : "");
		snprintf(p->to, sizeof(p->to), "%s", to != NULL ? to : "");
	}
	if (cmd_opt_uint(ctx, "limit", TR_LIMIT_DEFAULT, 1, TR_LIMIT_MAX,
			 limit) != 0 ||
	    cmd_opt_id(ctx, "before", before) != 0)
		return MAILLAGE_EXIT_USAGE;
	return MAILLAGE_EXIT_OK;
}

static int cmd_training_list_check(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct tr_period p;
	unsigned limit;
	int64_t before;

	(void)argc;
	(void)argv;
	return tr_list_opts(ctx, &p, &limit, &before);
}

static int tr_list_json(const Maillage__TrainingListResult *r)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < r->n_sessions; i++) {
		const Maillage__TrainingSummary *s = r->sessions[i];

		if (json_array_append_new(
			    a,
			    json_pack(
				    "{s:I, s:o, s:o, s:i, s:o, s:I, s:o, "
				    "s:o, s:I}",
				    "id", (json_int_t)s->id, "held_on",
				    output_jstr(s->held_on), "format",
				    output_jstr(s->format), "duration_minutes",
				    (int)s->duration_minutes, "title",
				    output_jstr(s->title), "participants",
				    (json_int_t)s->participants, "institutions",
				    view_json_strings(s->institutions,
						      s->n_institutions),
				    "modules",
				    view_json_strings(s->modules, s->n_modules),
				    "version", (json_int_t)s->version)) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return output_json(a);
}

/* "a,b,c" of a list of codes, cut to fit `buf`. */
static const char *tr_join(char *buf, size_t size, char *const *v, size_t n)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < n && len + 1 < size; i++) {
		int w = snprintf(buf + len, size - len, "%s%s",
				 i > 0 ? "," : "", v[i]);
		if (w < 0)
			break;
		len += (size_t)w;
	}
	return buf;
}

static int tr_list_text(const Maillage__TrainingListResult *r)
{
	static const char *const headers[] = {
		N_("SESSION"),	N_("DATE"),	    N_("FORMAT"),
		N_("DURATION"), N_("PARTICIPANTS"), N_("INSTITUTIONS"),
		N_("MODULES"),	N_("TITLE"),
	};
	struct view_table *t;
	size_t i;

	if (r->n_sessions == 0) {
		printf(_("No sessions.\n"));
		return MAILLAGE_EXIT_OK;
	}
	t = view_table_new(8, headers);
	if (t == NULL)
		goto oom;
	for (i = 0; i < r->n_sessions; i++) {
		const Maillage__TrainingSummary *s = r->sessions[i];
		char id[24], dur[32], n[16], inst[512], mods[512];
		const char *cells[8];

		snprintf(id, sizeof(id), "%" PRId64, s->id);
		snprintf(n, sizeof(n), "%" PRIu32, s->participants);
		cells[0] = id;
		cells[1] = s->held_on;
		cells[2] = s->format;
		cells[3] = tr_duration(dur, s->duration_minutes);
		cells[4] = n;
		cells[5] = tr_join(inst, sizeof(inst), s->institutions,
				   s->n_institutions);
		cells[6] =
			tr_join(mods, sizeof(mods), s->modules, s->n_modules);
		cells[7] = s->title;
		if (view_table_add(t, cells) != 0)
			goto oom;
	}
	view_table_print(t, 0, 1);
	view_table_free(t);
	return MAILLAGE_EXIT_OK;
oom:
	view_table_free(t);
	return tr_oom();
}

static int cmd_training_list_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__TrainingList tl = MAILLAGE__TRAINING_LIST__INIT;
	struct frame_msg *resp = NULL;
	struct tr_period p;
	struct cerr err;
	unsigned limit;
	const char *v;
	int rc;

	(void)argc;
	(void)argv;
	if ((rc = tr_list_opts(ctx, &p, &limit, &tl.before_id)) !=
	    MAILLAGE_EXIT_OK)
		return rc;
	tl.from = p.from;
	tl.to = p.to;
	if ((v = cmd_opt_value(ctx, "institution")) != NULL)
		tl.institution = (char *)v;
	tl.limit = limit;
	req.body_case = MAILLAGE__ENVELOPE__BODY_TRAINING_LIST;
	req.training_list = &tl;
	if (net_call(ctx->conn, &req,
		     MAILLAGE__ENVELOPE__BODY_TRAINING_LIST_RESULT, &resp,
		     &err) != 0)
		return cmd_fail(ctx, &err);
	if (ctx->json)
		rc = tr_list_json(resp->env->training_list_result);
	else
		rc = tr_list_text(resp->env->training_list_result);
	frame_msg_free(resp);
	return rc;
}

static const struct cmd_option cmd_training_list_options[] = {
	{"year", 'y', "YEAR", N_("sessions held that year")},
	{"from", 0, "DATE", N_("sessions held on or after DATE")},
	{"to", 0, "DATE", N_("sessions held on or before DATE")},
	{"institution", 'i', "CODE", N_("sessions this institution attended")},
	{"limit", 'n', "N", N_("at most N sessions (default 100)")},
	{"before", 0, "SESSION", N_("the sessions after this one (paging)")},
	{NULL, 0, NULL, NULL},
};

const struct cmd_entry cmd_training_list_entry = {
	.name = "training list",
	.alias = NULL,
	.usage = "[--year YEAR | --from DATE --to DATE] [--institution CODE]\n"
		 "       [--limit N] [--before SESSION]",
	.summary = N_("List the awareness sessions (coordinators)"),
	.help = N_(
		"Lists the recorded sessions, newest first: id, date, "
		"format, duration,\n"
		"number of participants, attending institutions, modules and "
		"title.\n"
		"For the next page, pass the last id shown to --before.\n"
		"\n"
		"With --json: an array of {\"id\", \"held_on\", \"format\", "
		"\"duration_minutes\",\n"
		"\"title\", \"participants\", \"institutions\", \"modules\", "
		"\"version\"}.\n"
		"\n"
		"Example:\n"
		"  $ maillage training list --year 2021 --institution "
		"police75\n"
		"  SESSION  DATE        FORMAT   DURATION  PARTICIPANTS  "
		"INSTITUTIONS    ...\n"
		"  1        2021-03-10  on_site  3h00      19            "
		"ase75,police75 ...\n"),
	.exec = cmd_training_list_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_training_list_check,
	.options = cmd_training_list_options,
	.min_args = 0,
	.max_args = 0,
};

/* ---- training codes ------------------------------------------------------ */

static int cmd_training_codes_check(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *lang = cmd_opt_value(ctx, "lang");

	(void)argc;
	(void)argv;
	if (lang != NULL && strcmp(lang, "en") != 0 && strcmp(lang, "fr") != 0)
		return cmd_usage_error(ctx, _("--lang is en or fr"));
	return MAILLAGE_EXIT_OK;
}

static json_t *tr_json_items(Maillage__ReferenceItem **items, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++) {
		if (json_array_append_new(
			    a,
			    json_pack("{s:o, s:o, s:o}", "code",
				      output_jstr(items[i]->code), "label_fr",
				      output_jstr(items[i]->label_fr),
				      "label_en",
				      output_jstr(items[i]->label_en))) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

static int tr_codes_table(const char *title, Maillage__ReferenceItem **items,
			  size_t n, int french)
{
	static const char *const headers[] = {N_("CODE"), N_("LABEL")};
	struct view_table *t = view_table_new(2, headers);
	size_t i;

	if (t == NULL)
		return tr_oom();
	for (i = 0; i < n; i++) {
		const char *cells[2];

		cells[0] = items[i]->code;
		cells[1] = french ? items[i]->label_fr : items[i]->label_en;
		if (view_table_add(t, cells) != 0) {
			view_table_free(t);
			return tr_oom();
		}
	}
	printf("%s\n", title);
	view_table_print(t, 2, 0);
	view_table_free(t);
	return MAILLAGE_EXIT_OK;
}

static int cmd_training_codes_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__TrainingReference tr = MAILLAGE__TRAINING_REFERENCE__INIT;
	const Maillage__TrainingReferenceResult *r;
	const char *lang = cmd_opt_value(ctx, "lang");
	int french = lang != NULL ? strcmp(lang, "fr") == 0 : i18n_french();
	struct frame_msg *resp = NULL;
	struct cerr err;
	int rc;

	(void)argc;
	(void)argv;
	req.body_case = MAILLAGE__ENVELOPE__BODY_TRAINING_REFERENCE;
	req.training_reference = &tr;
	if (net_call(ctx->conn, &req,
		     MAILLAGE__ENVELOPE__BODY_TRAINING_REFERENCE_RESULT, &resp,
		     &err) != 0)
		return cmd_fail(ctx, &err);
	r = resp->env->training_reference_result;
	if (ctx->json) {
		rc = output_json(json_pack(
			"{s:o, s:o, s:o, s:o}", "profiles",
			tr_json_items(r->profiles, r->n_profiles), "modules",
			tr_json_items(r->modules, r->n_modules), "formats",
			tr_json_items(r->formats, r->n_formats), "kinds",
			tr_json_items(r->kinds, r->n_kinds)));
	} else {
		rc = tr_codes_table(french ? "Profils" : "Profiles",
				    r->profiles, r->n_profiles, french);
		if (rc == MAILLAGE_EXIT_OK)
			rc = tr_codes_table("Modules", r->modules, r->n_modules,
					    french);
		if (rc == MAILLAGE_EXIT_OK)
			rc = tr_codes_table(french ? "Formats" : "Formats",
					    r->formats, r->n_formats, french);
		if (rc == MAILLAGE_EXIT_OK)
			rc = tr_codes_table(french ? "Types d'institution"
						   : "Institution kinds",
					    r->kinds, r->n_kinds, french);
	}
	frame_msg_free(resp);
	return rc;
}

static const struct cmd_option cmd_training_codes_options[] = {
	{"lang", 0, "en|fr",
	 N_("language of the labels (default: that of the messages)")},
	{NULL, 0, NULL, NULL},
};

const struct cmd_entry cmd_training_codes_entry = {
	.name = "training codes",
	.alias = NULL,
	.usage = "[--lang en|fr]",
	.summary = N_("List the profiles, modules and formats of sessions"),
	.help = N_("Lists the reference codes a session uses, with their "
		   "labels: the\n"
		   "participants' profiles, the modules, the formats, and the "
		   "institution\n"
		   "kinds the reports break down by. They are data of the "
		   "server (a\n"
		   "migration adds to them; codes are never reused).\n"
		   "\n"
		   "With --json: {\"profiles\", \"modules\", \"formats\", "
		   "\"kinds\"}, each an array\n"
		   "of {\"code\", \"label_fr\", \"label_en\"}.\n"
		   "\n"
		   "Example:\n"
		   "  $ maillage training codes --lang fr\n"
		   "  Profils\n"
		   "    social_worker  Travailleur social\n"
		   "    ...\n"),
	.exec = cmd_training_codes_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_training_codes_check,
	.options = cmd_training_codes_options,
	.min_args = 0,
	.max_args = 0,
};
