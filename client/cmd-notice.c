/*
 * cmd-notice: `maillage notice send`, a notice about a young person to one
 * or more institutions. This module owns the draft of the notice: read
 * from a JSON file (--file, keys named as in the protocol), overridden by
 * the command-line options, the free text possibly read from a file, and
 * the idempotency key (random when not given). The draft is built and
 * checked before any connection (usage errors cost none); the values
 * themselves (codes, dates, limits, who may receive what) are the
 * server's to judge. A connection lost before the answer is retried once
 * with the same key, which the server stores at most once.
 */
#include "candv.h"
#include "cmd.h"
#include "output.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "view.h"

/* Largest free text read from a file; the server's own limit is lower. */
#define NOTICE_TEXT_FILE_MAX (4u * 1024 * 1024)
/* Bytes of randomness in a generated idempotency key (hex: twice). */
#define NOTICE_KEY_BYTES 16
/* Largest declared age the client accepts to put on the wire. */
#define NOTICE_AGE_MAX 999u

struct notice_draft {
	char *key, *kind, *urgency, *visibility, *text, *basis, *informed,
		*informed_note;
	struct cmd_strv to, indicators;
	int64_t person_id;
	/* identity */
	char *given_name, *family_name, *birth_date, *age_declared_on, *sex,
		*nationality, *place_seen;
	unsigned declared_age;
	struct cmd_strv languages;
	int key_generated;
};

/* String members, by their name in notice.json and in the protocol. */
struct notice_key {
	const char *name;
	size_t off;
};

static const struct notice_key notice_strings[] = {
	{"idempotency_key", offsetof(struct notice_draft, key)},
	{"kind", offsetof(struct notice_draft, kind)},
	{"urgency", offsetof(struct notice_draft, urgency)},
	{"visibility", offsetof(struct notice_draft, visibility)},
	{"text", offsetof(struct notice_draft, text)},
	{"basis", offsetof(struct notice_draft, basis)},
	{"informed_note", offsetof(struct notice_draft, informed_note)},
	{NULL, 0},
};

static const struct notice_key identity_strings[] = {
	{"given_name", offsetof(struct notice_draft, given_name)},
	{"family_name", offsetof(struct notice_draft, family_name)},
	{"birth_date", offsetof(struct notice_draft, birth_date)},
	{"age_declared_on", offsetof(struct notice_draft, age_declared_on)},
	{"sex", offsetof(struct notice_draft, sex)},
	{"nationality", offsetof(struct notice_draft, nationality)},
	{"place_seen", offsetof(struct notice_draft, place_seen)},
	{NULL, 0},
};

/* Options that set one string member of the draft. */
static const struct notice_key option_strings[] = {
	{"key", offsetof(struct notice_draft, key)},
	{"kind", offsetof(struct notice_draft, kind)},
	{"urgency", offsetof(struct notice_draft, urgency)},
	{"visibility", offsetof(struct notice_draft, visibility)},
	{"text", offsetof(struct notice_draft, text)},
	{"basis", offsetof(struct notice_draft, basis)},
	{"informed", offsetof(struct notice_draft, informed)},
	{"informed-note", offsetof(struct notice_draft, informed_note)},
	{"given-name", offsetof(struct notice_draft, given_name)},
	{"family-name", offsetof(struct notice_draft, family_name)},
	{"birth-date", offsetof(struct notice_draft, birth_date)},
	{"age-declared-on", offsetof(struct notice_draft, age_declared_on)},
	{"sex", offsetof(struct notice_draft, sex)},
	{"nationality", offsetof(struct notice_draft, nationality)},
	{"place", offsetof(struct notice_draft, place_seen)},
	{NULL, 0},
};

static char **notice_member(struct notice_draft *d, size_t off)
{
	return (char **)(void *)((char *)d + off);
}

static const char *notice_get(const struct notice_draft *d, size_t off)
{
	return *(char *const *)(const void *)((const char *)d + off);
}

static void notice_draft_free(void *data)
{
	struct notice_draft *d = data;
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; notice_strings[i].name != NULL; i++)
		free(*notice_member(d, notice_strings[i].off));
	for (i = 0; identity_strings[i].name != NULL; i++)
		free(*notice_member(d, identity_strings[i].off));
	free(d->informed);
	cmd_strv_free(&d->to);
	cmd_strv_free(&d->indicators);
	cmd_strv_free(&d->languages);
	free(d);
}

/* Replace *dst by a copy of v. 0, or -1 when out of memory. */
static int notice_set(char **dst, const char *v)
{
	char *copy = strdup(v);

	if (copy == NULL)
		return -1;
	free(*dst);
	*dst = copy;
	return 0;
}

static int notice_oom(void)
{
	output_warnx(_("out of memory"));
	return MAILLAGE_EXIT_UNAVAILABLE;
}

/* ---- notice.json ----------------------------------------------------- */

/* A usage error about the notice file: "maillage: FILE: why". */
static int notice_file_error(const char *path, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int notice_file_error(const char *path, const char *fmt, ...)
{
	char msg[512], p[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	output_warnx("%s: %s", output_clean(p, sizeof(p), path), msg);
	return MAILLAGE_EXIT_USAGE;
}

/* A string list: an array of strings, or one comma-separated string. */
static int notice_json_list(const char *path, const char *key, json_t *v,
			    struct cmd_strv *sv)
{
	json_t *item;
	size_t i;

	cmd_strv_free(sv);
	if (json_is_string(v))
		return cmd_strv_split(sv, json_string_value(v)) != 0
			       ? notice_oom()
			       : MAILLAGE_EXIT_OK;
	if (!json_is_array(v))
		return notice_file_error(path,
					 _("'%s' must be an array of strings "
					   "or a comma-separated string"),
					 key);
	json_array_foreach(v, i, item)
	{
		if (!json_is_string(item))
			return notice_file_error(
				path, _("'%s' must hold strings only"), key);
		if (cmd_strv_push(sv, json_string_value(item)) != 0)
			return notice_oom();
	}
	return MAILLAGE_EXIT_OK;
}

/* Set the string member named `key` in `keys`; 1 when there is none. */
static int notice_json_string(struct notice_draft *d,
			      const struct notice_key *keys, const char *path,
			      const char *key, json_t *v, int *rc)
{
	size_t i;

	for (i = 0; keys[i].name != NULL; i++)
		if (strcmp(keys[i].name, key) == 0)
			break;
	if (keys[i].name == NULL)
		return 1;
	if (!json_is_string(v))
		*rc = notice_file_error(path, _("'%s' must be a string"), key);
	else if (notice_set(notice_member(d, keys[i].off),
			    json_string_value(v)) != 0)
		*rc = notice_oom();
	else
		*rc = MAILLAGE_EXIT_OK;
	return 0;
}

/* One member of "identity". */
static int notice_json_identity_member(struct notice_draft *d, const char *path,
				       const char *key, json_t *v)
{
	int rc = MAILLAGE_EXIT_OK;
	char k[64];

	if (notice_json_string(d, identity_strings, path, key, v, &rc) == 0)
		return rc;
	if (strcmp(key, "languages") == 0)
		return notice_json_list(path, "identity.languages", v,
					&d->languages);
	if (strcmp(key, "declared_age") == 0) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > NOTICE_AGE_MAX)
			return notice_file_error(
				path,
				_("'identity.declared_age' must "
				  "be an integer from 0 to %u"),
				NOTICE_AGE_MAX);
		d->declared_age = (unsigned)json_integer_value(v);
		return MAILLAGE_EXIT_OK;
	}
	return notice_file_error(path, _("unknown key 'identity.%s'"),
				 output_clean(k, sizeof(k), key));
}

static int notice_json_identity(struct notice_draft *d, const char *path,
				json_t *obj)
{
	const char *key;
	json_t *v;
	int rc;

	if (!json_is_object(obj))
		return notice_file_error(path,
					 _("'identity' must be an object"));
	json_object_foreach(obj, key, v)
	{
		rc = notice_json_identity_member(d, path, key, v);
		if (rc != MAILLAGE_EXIT_OK)
			return rc;
	}
	return MAILLAGE_EXIT_OK;
}

/* `informed` may be "yes", "no", "" or a boolean. */
static int notice_json_informed(struct notice_draft *d, const char *path,
				json_t *v)
{
	const char *s;

	if (json_is_boolean(v))
		s = json_is_true(v) ? "yes" : "no";
	else if (json_is_string(v))
		s = json_string_value(v);
	else
		return notice_file_error(path, _("'informed' must be \"yes\", "
						 "\"no\" or a boolean"));
	return notice_set(&d->informed, s) != 0 ? notice_oom()
						: MAILLAGE_EXIT_OK;
}

static int notice_json_member(struct notice_draft *d, const char *path,
			      const char *key, json_t *v)
{
	int rc = MAILLAGE_EXIT_OK;
	char k[64];

	if (notice_json_string(d, notice_strings, path, key, v, &rc) == 0)
		return rc;
	if (strcmp(key, "to") == 0)
		return notice_json_list(path, key, v, &d->to);
	if (strcmp(key, "indicators") == 0)
		return notice_json_list(path, key, v, &d->indicators);
	if (strcmp(key, "identity") == 0)
		return notice_json_identity(d, path, v);
	if (strcmp(key, "informed") == 0)
		return notice_json_informed(d, path, v);
	if (strcmp(key, "person_id") == 0) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0)
			return notice_file_error(path,
						 _("'person_id' must be a "
						   "positive integer"));
		d->person_id = (int64_t)json_integer_value(v);
		return MAILLAGE_EXIT_OK;
	}
	return notice_file_error(path, _("unknown key '%s'"),
				 output_clean(k, sizeof(k), key));
}

static int notice_from_file(struct notice_draft *d, const char *path)
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
			return notice_file_error(path, _("line %d: %s"),
						 jerr.line, jerr.text);
		return notice_file_error(path, "%s", jerr.text);
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		return notice_file_error(path, _("expected a JSON object"));
	}
	json_object_foreach(doc, key, v)
	{
		rc = notice_json_member(d, path, key, v);
		if (rc != MAILLAGE_EXIT_OK)
			break;
	}
	json_decref(doc);
	return rc;
}

/* ---- options --------------------------------------------------------- */

/* The whole of `path` ('-': standard input) as a string, into *out. */
static int notice_read_text(struct cmd_ctx *ctx, const char *path, char **out)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t len = 0, cap = 0, n;
	char *buf = NULL, p[256];
	int rc = MAILLAGE_EXIT_OK;

	output_clean(p, sizeof(p), path);
	if (fp == NULL)
		return cmd_usage_error(ctx, _("cannot read %s: %s"), p,
				       strerror(errno));
	for (;;) {
		if (cap - len < 4096) {
			char *nb;

			cap = cap == 0 ? 8192 : cap * 2;
			nb = realloc(buf, cap + 1);
			if (nb == NULL) {
				rc = notice_oom();
				goto out;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
		if (len > NOTICE_TEXT_FILE_MAX) {
			rc = cmd_usage_error(ctx,
					     _("%s is larger than %u bytes"), p,
					     NOTICE_TEXT_FILE_MAX);
			goto out;
		}
		if (n == 0)
			break;
	}
	if (ferror(fp)) {
		rc = cmd_usage_error(ctx, _("cannot read %s: %s"), p,
				     strerror(errno));
		goto out;
	}
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL) {
		rc = cmd_usage_error(
			ctx, _("%s contains a NUL byte: not a text"), p);
		goto out;
	}
	*out = buf;
	buf = NULL;
out:
	free(buf);
	if (fp != stdin)
		fclose(fp);
	return rc;
}

/* Replace `sv` by the values of the repeatable option, when given. */
static int notice_opt_list(struct cmd_ctx *ctx, const char *name,
			   struct cmd_strv *sv)
{
	if (!cmd_opt_isset(ctx, name))
		return MAILLAGE_EXIT_OK;
	cmd_strv_free(sv);
	return cmd_opt_list(ctx, name, sv) != 0 ? MAILLAGE_EXIT_UNAVAILABLE
						: MAILLAGE_EXIT_OK;
}

static int notice_from_options(struct cmd_ctx *ctx, struct notice_draft *d)
{
	const char *v;
	size_t i;
	int rc;

	for (i = 0; option_strings[i].name != NULL; i++) {
		v = cmd_opt_value(ctx, option_strings[i].name);
		if (v != NULL &&
		    notice_set(notice_member(d, option_strings[i].off), v) != 0)
			return notice_oom();
	}
	if ((rc = notice_opt_list(ctx, "to", &d->to)) != MAILLAGE_EXIT_OK ||
	    (rc = notice_opt_list(ctx, "indicator", &d->indicators)) !=
		    MAILLAGE_EXIT_OK ||
	    (rc = notice_opt_list(ctx, "languages", &d->languages)) !=
		    MAILLAGE_EXIT_OK)
		return rc;
	if (cmd_opt_isset(ctx, "person") &&
	    cmd_opt_id(ctx, "person", &d->person_id) != 0)
		return MAILLAGE_EXIT_USAGE;
	if (cmd_opt_isset(ctx, "declared-age") &&
	    cmd_opt_uint(ctx, "declared-age", 0, 0, NOTICE_AGE_MAX,
			 &d->declared_age) != 0)
		return MAILLAGE_EXIT_USAGE;
	v = cmd_opt_value(ctx, "text-file");
	if (v != NULL) {
		free(d->text);
		d->text = NULL;
		rc = notice_read_text(ctx, v, &d->text);
		if (rc != MAILLAGE_EXIT_OK)
			return rc;
	}
	return MAILLAGE_EXIT_OK;
}

static int notice_new_key(struct notice_draft *d)
{
	unsigned char raw[NOTICE_KEY_BYTES];
	char hex[2 * NOTICE_KEY_BYTES + 1];
	size_t i;

	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		output_warnx(_("cannot generate an idempotency key: no "
			       "randomness; give one with --key"));
		return MAILLAGE_EXIT_UNAVAILABLE;
	}
	for (i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	if (notice_set(&d->key, hex) != 0)
		return notice_oom();
	d->key_generated = 1;
	return MAILLAGE_EXIT_OK;
}

static int notice_has_identity(const struct notice_draft *d)
{
	size_t i;

	for (i = 0; identity_strings[i].name != NULL; i++) {
		const char *s = notice_get(d, identity_strings[i].off);

		if (s != NULL && s[0] != '\0')
			return 1;
	}
	return d->declared_age > 0 || d->languages.n > 0;
}

/* What the server cannot be asked without: kind, recipients, person. */
static int notice_require(struct cmd_ctx *ctx, const struct notice_draft *d)
{
	if (d->kind == NULL || d->kind[0] == '\0')
		return cmd_usage_error(ctx, _("the kind of notice is missing "
					      "(--kind)"));
	if (d->to.n == 0)
		return cmd_usage_error(ctx,
				       _("no recipient institution (--to)"));
	if (d->person_id > 0 && notice_has_identity(d))
		return cmd_usage_error(
			ctx, _("give either an existing person "
			       "(--person) or an identity, not both"));
	if (d->person_id == 0 && !notice_has_identity(d))
		return cmd_usage_error(ctx,
				       _("the young person is missing: give "
					 "--person ID, or an identity "
					 "(--given-name, --family-name...)"));
	if (d->key == NULL || d->key[0] == '\0')
		return cmd_usage_error(ctx, _("the idempotency key is empty"));
	return MAILLAGE_EXIT_OK;
}

static int cmd_notice_send_check(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *file = cmd_opt_value(ctx, "file");
	const char *text_file = cmd_opt_value(ctx, "text-file");
	struct notice_draft *d;
	int rc;

	(void)argc;
	(void)argv;
	if (cmd_opt_isset(ctx, "text") && text_file != NULL)
		return cmd_usage_error(ctx, _("--text and --text-file exclude "
					      "each other"));
	if (file != NULL && text_file != NULL && strcmp(file, "-") == 0 &&
	    strcmp(text_file, "-") == 0)
		return cmd_usage_error(ctx, _("--file and --text-file cannot "
					      "both read standard input"));
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return notice_oom();
	ctx->data = d;
	ctx->data_free = notice_draft_free;
	if (file != NULL &&
	    (rc = notice_from_file(d, file)) != MAILLAGE_EXIT_OK)
		return rc;
	if ((rc = notice_from_options(ctx, d)) != MAILLAGE_EXIT_OK)
		return rc;
	if ((d->key == NULL || d->key[0] == '\0') &&
	    !cmd_opt_isset(ctx, "key") &&
	    (rc = notice_new_key(d)) != MAILLAGE_EXIT_OK)
		return rc;
	return notice_require(ctx, d);
}

/* ---- sending --------------------------------------------------------- */

static const char *notice_str(const char *s)
{
	return s != NULL ? s : "";
}

static int notice_print(struct cmd_ctx *ctx, const struct notice_draft *d,
			const Maillage__NoticeSent *r, int replayed)
{
	if (ctx->json) {
		json_t *doc = json_pack(
			"{s:I, s:I, s:I, s:b, s:b, s:b, s:o, s:o, s:I}",
			"notice_id", (json_int_t)r->notice_id, "case_id",
			(json_int_t)r->case_id, "person_id",
			(json_int_t)r->person_id, "replayed", replayed,
			"new_case", (int)r->new_case, "new_person",
			(int)r->new_person, "idempotency_key",
			output_jstr(d->key), "candidates",
			candv_json(r->candidates, r->n_candidates), "link_id",
			(json_int_t)r->link_id);

		return output_json(doc);
	}
	if (replayed)
		printf(_("notice %" PRId64 " had already been sent with this "
			 "key: case %" PRId64 ", person %" PRId64
			 " (nothing new stored)\n"),
		       r->notice_id, r->case_id, r->person_id);
	else if (r->new_case && r->new_person)
		printf(_("notice %" PRId64 " sent: case %" PRId64
			 ", person %" PRId64 " (new case, new person)\n"),
		       r->notice_id, r->case_id, r->person_id);
	else if (r->new_case)
		printf(_("notice %" PRId64 " sent: case %" PRId64
			 ", person %" PRId64 " (new case)\n"),
		       r->notice_id, r->case_id, r->person_id);
	else
		printf(_("notice %" PRId64 " sent: case %" PRId64
			 ", person %" PRId64 "\n"),
		       r->notice_id, r->case_id, r->person_id);
	if (r->link_id > 0) {
		printf(_("linked at once to person %" PRId64
			 " by the network's "
			 "policy (person link %" PRId64 "; a coordinator can "
			 "undo it)\n"),
		       r->person_id, r->link_id);
		candv_print(_("Candidates (best first):"), r->candidates,
			    r->n_candidates);
	} else {
		candv_print(_("This young person may be known already "
			      "(candidates, best first; a coordinator "
			      "decides):"),
			    r->candidates, r->n_candidates);
	}
	if (ctx->entry->options != NULL && cmd_opt_isset(ctx, "verbose")) {
		char k[256];

		printf(_("idempotency key: %s\n"),
		       output_clean(k, sizeof(k), d->key));
	}
	return MAILLAGE_EXIT_OK;
}

/*
 * Send the draft (both `notice send` and `notice new` end here) and print
 * the answer. Returns an exit code.
 */
static int notice_send_draft(struct cmd_ctx *ctx, const struct notice_draft *d)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__NoticeSend ns = MAILLAGE__NOTICE_SEND__INIT;
	Maillage__Identity id = MAILLAGE__IDENTITY__INIT;
	const Maillage__NoticeSent *r;
	struct frame_msg *resp = NULL;
	struct cerr err;
	int rc, retried = 0, replayed;

	ns.idempotency_key = d->key;
	ns.kind = d->kind;
	ns.n_to = d->to.n;
	ns.to = d->to.v;
	ns.person_id = d->person_id;
	if (notice_has_identity(d)) {
		id.given_name = (char *)notice_str(d->given_name);
		id.family_name = (char *)notice_str(d->family_name);
		id.birth_date = (char *)notice_str(d->birth_date);
		id.declared_age = d->declared_age;
		id.age_declared_on = (char *)notice_str(d->age_declared_on);
		id.sex = (char *)notice_str(d->sex);
		id.nationality = (char *)notice_str(d->nationality);
		id.n_languages = d->languages.n;
		id.languages = d->languages.v;
		id.place_seen = (char *)notice_str(d->place_seen);
		ns.identity = &id;
	}
	ns.n_indicators = d->indicators.n;
	ns.indicators = d->indicators.v;
	ns.urgency = (char *)notice_str(d->urgency);
	ns.visibility = (char *)notice_str(d->visibility);
	ns.text = (char *)notice_str(d->text);
	ns.basis = (char *)notice_str(d->basis);
	ns.informed = (char *)notice_str(d->informed);
	ns.informed_note = (char *)notice_str(d->informed_note);
	req.body_case = MAILLAGE__ENVELOPE__BODY_NOTICE_SEND;
	req.notice_send = &ns;

	rc = net_call(ctx->conn, &req, MAILLAGE__ENVELOPE__BODY_NOTICE_SENT,
		      &resp, &err);
	if (rc != 0 && err.kind == CERR_NETWORK) {
		/* Lost before the answer: once more, same key. */
		retried = 1;
		rc = cmd_reconnect(ctx, &err);
		if (rc == 0)
			rc = net_call(ctx->conn, &req,
				      MAILLAGE__ENVELOPE__BODY_NOTICE_SENT,
				      &resp, &err);
	}
	if (rc != 0) {
		rc = cmd_fail(ctx, &err);
		if (rc == MAILLAGE_EXIT_UNAVAILABLE && err.kind != CERR_LOCAL &&
		    d->key_generated)
			output_warnx(
				_("the notice may have been stored; to try "
				  "again without risk of sending it twice, "
				  "add --key %s"),
				d->key);
		return rc;
	}
	r = resp->env->notice_sent;
	/*
	 * A replay after our own retry with a key we made up is our first
	 * attempt having gone through: this command sent the notice.
	 */
	replayed = r->replayed && !(retried && d->key_generated);
	rc = notice_print(ctx, d, r, replayed);
	frame_msg_free(resp);
	return rc;
}

static int cmd_notice_send_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return notice_send_draft(ctx, ctx->data);
}

static const struct cmd_option cmd_notice_send_options[] = {
	{"kind", 'k', "KIND", N_("kind of notice (see below)")},
	{"to", 't', "INST[,INST...]",
	 N_("recipient institution codes (repeatable)")},
	{"person", 'p', "ID", N_("the young person, already known by this id")},
	{"given-name", 0, "NAME", N_("or a new identity: given name")},
	{"family-name", 0, "NAME", N_("family name")},
	{"birth-date", 0, "DATE",
	 N_("birth date: YYYY-MM-DD, YYYY-MM or YYYY")},
	{"declared-age", 0, "N", N_("age the young person gave")},
	{"age-declared-on", 0, "DATE",
	 N_("when that age was given (default: "
	    "today)")},
	{"sex", 0, "F|M", N_("sex")},
	{"nationality", 0, "CC", N_("nationality (ISO 3166 code: MA, RO...)")},
	{"languages", 0, "L[,L...]",
	 N_("languages spoken (ISO 639: ar, ro...)")},
	{"place", 0, "TEXT", N_("where the young person was seen")},
	{"indicator", 'i', "CODE[,CODE...]",
	 N_("trafficking indicator (repeatable)")},
	{"urgency", 'u', "URGENCY", N_("normal (default) or urgent")},
	{"visibility", 0, "CLASS",
	 N_("general (default), social, health or judicial")},
	{"text", 0, "TEXT", N_("free text")},
	{"text-file", 0, "PATH", N_("read the free text from PATH (-: stdin)")},
	{"basis", 'b', "BASIS", N_("legal basis (default: from the kind)")},
	{"informed", 0, "yes|no", N_("whether the young person was told")},
	{"informed-note", 0, "TEXT", N_("why not (needed with --informed no)")},
	{"key", 0, "KEY", N_("idempotency key (default: a random one)")},
	{"file", 'f', "FILE",
	 N_("read the notice from a JSON file (-: stdin)")},
	{"verbose", 'v', NULL, N_("also print the idempotency key")},
	{NULL, 0, NULL, NULL},
};

const struct cmd_entry cmd_notice_send_entry = {
	.name = "notice send",
	.alias = NULL,
	.usage = "--kind KIND --to INST[,INST...]\n"
		 "       (--person ID | --given-name G --family-name F ...)\n"
		 "       [--indicator CODE]... [--urgency U] [--visibility V]\n"
		 "       [--text T | --text-file PATH] [--basis B]\n"
		 "       [--informed yes|no [--informed-note T]] [--key KEY]\n"
		 "       [--file notice.json]",
	.summary = N_("Send a notice about a young person to institutions"),
	.help = N_(
		"Sends a notice to the institutions named by --to. The notice "
		"lands in the\n"
		"young person's open case (a new case if there is none); "
		"your institution\n"
		"and every recipient become parties to it. Prints the ids of "
		"the notice,\n"
		"the case and the person.\n"
		"\n"
		"The young person is either known (--person ID, as shown by "
		"'maillage\n"
		"inbox' or 'maillage case list') or described: names, birth "
		"date (or\n"
		"--declared-age N with --age-declared-on DATE), sex, "
		"nationality,\n"
		"languages, place seen. A description creates a new person.\n"
		"\n"
		"Kinds: sighting, information_preoccupante, signalement, "
		"referral,\n"
		"runaway, shelter, hearing, court_decision, followup, "
		"closure.\n"
		"Legal bases: secret_partage, information_preoccupante, "
		"signalement,\n"
		"requisition, consent; the server refuses a recipient the "
		"basis does\n"
		"not allow (by default the police only receive signalement "
		"and\n"
		"requisition). --informed says whether the young person (and "
		"the\n"
		"parents, where relevant) were told of the sharing; with "
		"'no', say why\n"
		"in --informed-note. Indicator codes: 'maillage indicators'.\n"
		"\n"
		"--file reads the notice from a JSON object with the "
		"protocol's names:\n"
		"kind, to, person_id, identity {given_name, family_name, "
		"birth_date,\n"
		"declared_age, age_declared_on, sex, nationality, languages, "
		"place_seen},\n"
		"indicators, urgency, visibility, text, basis, informed, "
		"informed_note,\n"
		"idempotency_key. Options given as well override the file.\n"
		"\n"
		"Each send carries an idempotency key: sent again with the "
		"same key, the\n"
		"notice is stored only once (the answer says so). Without "
		"--key a random\n"
		"one is made, shown with --verbose or --json, and on a "
		"failure that may\n"
		"have left the notice stored. A connection lost before the "
		"answer is\n"
		"retried once, with the same key.\n"
		"\n"
		"With --json: {\"notice_id\", \"case_id\", \"person_id\", "
		"\"replayed\",\n"
		"\"new_case\", \"new_person\", \"idempotency_key\", "
		"\"candidates\",\n"
		"\"link_id\"} (link_id: when the network's policy linked the "
		"young person\n"
		"at once to a known one, 0 otherwise).\n"
		"\n"
		"See also 'maillage notice new', which composes a notice step "
		"by step.\n"
		"\n"
		"Example:\n"
		"  $ maillage notice send --kind referral --to pjj75,hlr \\\n"
		"      --given-name Karim --family-name Benali --birth-date "
		"2009-03 \\\n"
		"      --sex M --nationality MA --indicator "
		"CTRL_PHONE,OFF_MULTI_CITY \\\n"
		"      --text \"Interpellé trois fois ce mois-ci.\" --informed "
		"yes\n"
		"  notice 1 sent: case 1, person 1 (new case, new person)\n"
		"  $ maillage notice send --file notice.json --urgency "
		"urgent\n"),
	.exec = cmd_notice_send_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_notice_send_check,
	.options = cmd_notice_send_options,
	.min_args = 0,
	.max_args = 0,
};

/* ---- notice new: the same notice, composed step by step -------------- */

/* Longest answer read at a prompt. */
#define NEW_LINE_MAX 4096

/*
 * Print `prompt` and read one line from standard input, blanks around it
 * trimmed, into a malloc'd *out. 0, or -1 at end of input or on error
 * (the composition is then abandoned).
 */
static int new_ask(const char *prompt, char **out)
{
	char *line = NULL, *start, *end;
	size_t cap = 0;
	ssize_t n;

	printf("%s%s%s", output_sgr(OUTPUT_BOLD), prompt,
	       output_sgr(OUTPUT_RESET));
	fflush(stdout);
	n = getline(&line, &cap, stdin);
	if (n < 0 || n > NEW_LINE_MAX) {
		free(line);
		return -1;
	}
	start = line;
	while (*start == ' ' || *start == '\t')
		start++;
	end = start + strlen(start);
	while (end > start && (end[-1] == '\n' || end[-1] == '\r' ||
			       end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	*out = strdup(start);
	free(line);
	return *out != NULL ? 0 : -1;
}

/* A yes/no answer: 1 yes, 0 no, `def` for an empty answer, -1 at EOF. */
static int new_yes_no(const char *prompt, int def)
{
	char *a = NULL;
	int r;

	for (;;) {
		if (new_ask(prompt, &a) != 0)
			return -1;
		/* TRANSLATORS: the first letters of yes and no, lower case,
		 * as the user answers them ("y" / "n"; French: "o" / "n"). */
		if (a[0] == '\0')
			r = def;
		else if (a[0] == 'y' || a[0] == 'Y' ||
			 strchr(_("y"), a[0] | 0x20) != NULL)
			r = 1;
		else if (a[0] == 'n' || a[0] == 'N' ||
			 strchr(_("n"), a[0] | 0x20) != NULL)
			r = 0;
		else
			r = -2;
		free(a);
		if (r != -2)
			return r;
	}
}

/* Ask until the answer is not empty (unless `optional`); into *dst. */
static int new_ask_into(const char *prompt, int optional, char **dst)
{
	char *a = NULL;

	for (;;) {
		if (new_ask(prompt, &a) != 0)
			return -1;
		if (a[0] != '\0' || optional)
			break;
		free(a);
	}
	free(*dst);
	*dst = a[0] != '\0' ? a : NULL;
	if (*dst == NULL)
		free(a);
	return 0;
}

static int new_kind(struct notice_draft *d)
{
	size_t i, n = 0;
	char *a = NULL;

	printf(_("Kind of notice:\n"));
	for (i = 0; i18n_notice_kinds[i].code != NULL; i++, n++)
		printf("  %2zu. %-26s %s\n", i + 1, i18n_notice_kinds[i].code,
		       _(i18n_notice_kinds[i].label));
	for (;;) {
		char *end;
		unsigned long k;

		if (new_ask(_("Kind (number or code): "), &a) != 0)
			return -1;
		k = strtoul(a, &end, 10);
		if (a[0] != '\0' && *end == '\0' && k >= 1 && k <= n) {
			free(a);
			return notice_set(&d->kind,
					  i18n_notice_kinds[k - 1].code);
		}
		for (i = 0; i < n; i++)
			if (strcmp(a, i18n_notice_kinds[i].code) == 0)
				break;
		if (i < n) {
			free(a);
			return notice_set(&d->kind, i18n_notice_kinds[i].code);
		}
		printf(_("No such kind: give a number from 1 to %zu.\n"), n);
		free(a);
	}
}

/* The directory, to choose the recipients from (best effort). */
static void new_show_directory(struct cmd_ctx *ctx)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__NetworkList nl = MAILLAGE__NETWORK_LIST__INIT;
	static const char *const headers[] = {N_("CODE"), N_("KIND"), N_("DEP"),
					      N_("NAME")};
	const Maillage__NetworkListResult *r;
	struct frame_msg *resp = NULL;
	struct view_table *t;
	struct cerr err;
	size_t i;

	req.body_case = MAILLAGE__ENVELOPE__BODY_NETWORK_LIST;
	req.network_list = &nl;
	if (net_call(ctx->conn, &req,
		     MAILLAGE__ENVELOPE__BODY_NETWORK_LIST_RESULT, &resp,
		     &err) != 0)
		return;
	r = resp->env->network_list_result;
	t = view_table_new(4, headers);
	for (i = 0; t != NULL && i < r->n_institutions; i++) {
		const Maillage__NetworkEntry *e = r->institutions[i];
		const char *cells[4] = {e->code, e->kind, e->departement,
					e->name};

		if (view_table_add(t, cells) != 0)
			break;
	}
	if (t != NULL) {
		printf(_("Institutions of the network:\n"));
		view_table_print(t, 2, 1);
	}
	view_table_free(t);
	frame_msg_free(resp);
}

static int new_recipients(struct cmd_ctx *ctx, struct notice_draft *d)
{
	char *a = NULL;

	new_show_directory(ctx);
	for (;;) {
		if (new_ask(_("Recipients (institution codes, "
			      "comma-separated): "),
			    &a) != 0)
			return -1;
		cmd_strv_free(&d->to);
		if (cmd_strv_split(&d->to, a) != 0) {
			free(a);
			return -1;
		}
		free(a);
		if (d->to.n > 0)
			return 0;
	}
}

static int new_person(struct notice_draft *d)
{
	char *a = NULL, *end;
	long long id;

	for (;;) {
		if (new_ask(_("The young person's number, if already known "
			      "(empty: describe a new person): "),
			    &a) != 0)
			return -1;
		if (a[0] == '\0')
			break;
		id = strtoll(a, &end, 10);
		free(a);
		if (*end == '\0' && id > 0) {
			d->person_id = id;
			return 0;
		}
		printf(_("A number, or nothing.\n"));
	}
	free(a);
	if (new_ask_into(_("Given name: "), 1, &d->given_name) != 0 ||
	    new_ask_into(_("Family name: "), 1, &d->family_name) != 0 ||
	    new_ask_into(_("Birth date (YYYY-MM-DD, YYYY-MM or YYYY; empty if "
			   "unknown): "),
			 1, &d->birth_date) != 0)
		return -1;
	if (d->birth_date == NULL) {
		char *age = NULL;

		if (new_ask(_("Age the young person gave (empty if none): "),
			    &age) != 0)
			return -1;
		d->declared_age = (unsigned)strtoul(age, &end, 10);
		if (*end != '\0' || d->declared_age > NOTICE_AGE_MAX)
			d->declared_age = 0;
		free(age);
	}
	if (new_ask_into(_("Sex (F, M, or empty): "), 1, &d->sex) != 0 ||
	    new_ask_into(_("Nationality (ISO code: MA, RO...; empty if "
			   "unknown): "),
			 1, &d->nationality) != 0 ||
	    new_ask_into(_("Where the young person was seen: "), 1,
			 &d->place_seen) != 0)
		return -1;
	if (!notice_has_identity(d)) {
		printf(_("Give at least one detail of the young person.\n"));
		return new_person(d);
	}
	return 0;
}

/* The checklist of indicators, by category; the chosen ones into d. */
static int new_indicators(struct cmd_ctx *ctx, struct notice_draft *d)
{
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__Indicators in = MAILLAGE__INDICATORS__INIT;
	const Maillage__IndicatorsResult *r;
	struct frame_msg *resp = NULL;
	struct cerr err;
	const char *cat = "";
	int french = i18n_french();
	size_t i, k;
	char *a = NULL;
	struct cmd_strv picked = {0};

	req.body_case = MAILLAGE__ENVELOPE__BODY_INDICATORS;
	req.indicators = &in;
	if (net_call(ctx->conn, &req,
		     MAILLAGE__ENVELOPE__BODY_INDICATORS_RESULT, &resp,
		     &err) != 0) {
		cmd_fail(ctx, &err);
		return -1;
	}
	r = resp->env->indicators_result;
	printf(_("Trafficking indicators observed:\n"));
	for (i = 0; i < r->n_indicators; i++) {
		const Maillage__Indicator *ind = r->indicators[i];
		char code[64], label[512];

		if (strcmp(cat, ind->category) != 0) {
			cat = ind->category;
			printf("  %s%s%s\n", output_sgr(OUTPUT_BOLD),
			       i18n_label(i18n_categories, cat),
			       output_sgr(OUTPUT_RESET));
		}
		printf("    %3zu. %-20s %s\n", i + 1,
		       output_clean(code, sizeof(code), ind->code),
		       output_clean(label, sizeof(label),
				    french ? ind->label_fr : ind->label_en));
	}
	for (;;) {
		int ok = 1;

		if (new_ask(_("Indicators (numbers or codes, comma-separated; "
			      "empty for none): "),
			    &a) != 0) {
			frame_msg_free(resp);
			return -1;
		}
		cmd_strv_free(&picked);
		if (cmd_strv_split(&picked, a) != 0)
			ok = 0;
		free(a);
		cmd_strv_free(&d->indicators);
		for (k = 0; ok && k < picked.n; k++) {
			char *end;
			unsigned long n = strtoul(picked.v[k], &end, 10);
			const char *code = NULL;

			if (*end == '\0' && n >= 1 && n <= r->n_indicators)
				code = r->indicators[n - 1]->code;
			for (i = 0; code == NULL && i < r->n_indicators; i++)
				if (strcmp(picked.v[k],
					   r->indicators[i]->code) == 0)
					code = r->indicators[i]->code;
			if (code == NULL) {
				char bad[64];

				printf(_("Unknown indicator '%s'.\n"),
				       output_clean(bad, sizeof(bad),
						    picked.v[k]));
				ok = 0;
			} else if (cmd_strv_push(&d->indicators, code) != 0) {
				ok = 0;
			}
		}
		if (ok)
			break;
	}
	cmd_strv_free(&picked);
	frame_msg_free(resp);
	return 0;
}

/* The free text, written in $VISUAL or $EDITOR (default vi). */
static int new_text(struct notice_draft *d)
{
	const char *editor = getenv("VISUAL"), *tmpdir = getenv("TMPDIR");
	char path[4096], *buf = NULL, *cmd = NULL, *line = NULL;
	size_t cap = 0, len = 0;
	ssize_t n;
	FILE *fp;
	int fd, status;

	if (editor == NULL || editor[0] == '\0')
		editor = getenv("EDITOR");
	if (editor == NULL || editor[0] == '\0')
		editor = "vi";
	snprintf(path, sizeof(path), "%s/maillage-notice-XXXXXX",
		 tmpdir != NULL && tmpdir[0] == '/' ? tmpdir : "/tmp");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	fp = fdopen(fd, "w");
	if (fp == NULL) {
		close(fd);
		unlink(path);
		return -1;
	}
	fprintf(fp, "\n%s",
		_("# Write the text of the notice above. Lines "
		  "starting with '#' are ignored.\n"
		  "# What was seen or said, by whom, when; only "
		  "what the recipients need\n"
		  "# to protect the young person.\n"));
	fclose(fp);
	/* As git does: the editor is a shell command, given the file. */
	cmd = malloc(strlen(editor) + 8);
	if (cmd == NULL) {
		unlink(path);
		return -1;
	}
	snprintf(cmd, strlen(editor) + 8, "%s \"$1\"", editor);
	fflush(stdout);
	{
		pid_t pid = fork();

		if (pid == 0) {
			execl("/bin/sh", "sh", "-c", cmd, "sh", path,
			      (char *)NULL);
			_exit(127);
		}
		free(cmd);
		if (pid < 0 || waitpid(pid, &status, 0) < 0 ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			output_warnx(_("the editor failed; nothing was sent"));
			unlink(path);
			return -1;
		}
	}
	fp = fopen(path, "r");
	unlink(path);
	if (fp == NULL)
		return -1;
	while ((n = getline(&line, &cap, fp)) >= 0) {
		char *nb;

		if (line[0] == '#')
			continue;
		if (len + (size_t)n > NOTICE_TEXT_FILE_MAX)
			break;
		nb = realloc(buf, len + (size_t)n + 1);
		if (nb == NULL)
			break;
		buf = nb;
		memcpy(buf + len, line, (size_t)n);
		len += (size_t)n;
		buf[len] = '\0';
	}
	free(line);
	fclose(fp);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	free(d->text);
	d->text = buf;
	return 0;
}

/* "  label   value", labels padded to one column whatever their script. */
static void new_summary_line(const char *label, const char *value)
{
	char v[1024];
	size_t cols = 0;
	const char *p;

	if (value == NULL || value[0] == '\0')
		return;
	for (p = label; *p != '\0'; p++)
		if (((unsigned char)*p & 0xc0) != 0x80)
			cols++;
	printf("  %s%*s %s\n", label, cols < 22 ? (int)(22 - cols) : 0, "",
	       output_clean(v, sizeof(v), value));
}

static void new_summary(const struct notice_draft *d)
{
	char buf[1024];
	size_t i, off = 0;

	printf("\n%s%s%s\n", output_sgr(OUTPUT_BOLD), _("Summary:"),
	       output_sgr(OUTPUT_RESET));
	new_summary_line(_("kind"), i18n_notice_kind(d->kind));
	for (i = 0, buf[0] = '\0'; i < d->to.n && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s",
					i > 0 ? ", " : "", d->to.v[i]);
	new_summary_line(_("recipients"), buf);
	if (d->person_id > 0) {
		snprintf(buf, sizeof(buf), "%lld", (long long)d->person_id);
		new_summary_line(_("person"), buf);
	}
	new_summary_line(_("given name"), d->given_name);
	new_summary_line(_("family name"), d->family_name);
	new_summary_line(_("birth date"), d->birth_date);
	if (d->declared_age > 0) {
		snprintf(buf, sizeof(buf), "%u", d->declared_age);
		new_summary_line(_("declared age"), buf);
	}
	new_summary_line(_("sex"), d->sex);
	new_summary_line(_("nationality"), d->nationality);
	new_summary_line(_("place seen"), d->place_seen);
	for (i = 0, off = 0, buf[0] = '\0';
	     i < d->indicators.n && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s",
					i > 0 ? ", " : "", d->indicators.v[i]);
	new_summary_line(_("indicators"), buf);
	new_summary_line(_("urgency"), strcmp(d->urgency, "urgent") == 0
					       ? _("urgent")
					       : _("normal"));
	new_summary_line(_("informed"),
			 strcmp(d->informed, "yes") == 0 ? _("yes") : _("no"));
	new_summary_line(_("why not"), d->informed_note);
	if (d->text != NULL && d->text[0] != '\0') {
		const char *p = d->text;

		printf("  %s\n", _("text:"));
		while (*p != '\0') {
			size_t len = strcspn(p, "\n");
			char *line = strndup(p, len);

			printf("    %s\n",
			       line != NULL
				       ? output_clean(buf, sizeof(buf), line)
				       : "");
			free(line);
			p += len;
			if (*p == '\n')
				p++;
		}
	}
	putchar('\n');
}

static int cmd_notice_new_check(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (!isatty(STDIN_FILENO))
		return cmd_usage_error(ctx,
				       _("'notice new' asks questions on a "
					 "terminal; in a script, use 'notice "
					 "send'"));
	return MAILLAGE_EXIT_OK;
}

static int cmd_notice_new_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct notice_draft *d;
	int urgent, informed, rc;

	(void)argc;
	(void)argv;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return notice_oom();
	ctx->data = d;
	ctx->data_free = notice_draft_free;
	printf(_("New notice. Answer each question; Ctrl-D abandons.\n\n"));
	if (new_kind(d) != 0 || (putchar('\n'), new_recipients(ctx, d)) != 0 ||
	    (putchar('\n'), new_person(d)) != 0 ||
	    (putchar('\n'), new_indicators(ctx, d)) != 0)
		goto abandoned;
	putchar('\n');
	urgent = new_yes_no(_("Urgent? [y/N] "), 0);
	if (urgent < 0)
		goto abandoned;
	if (notice_set(&d->urgency, urgent ? "urgent" : "normal") != 0)
		return notice_oom();
	informed = new_yes_no(_("Was the young person told of this sharing? "
				"[y/n] "),
			      -1);
	while (informed == -1 && !feof(stdin))
		informed = new_yes_no(_("Please answer y or n: "), -1);
	if (informed < 0)
		goto abandoned;
	if (notice_set(&d->informed, informed ? "yes" : "no") != 0)
		return notice_oom();
	if (!informed &&
	    new_ask_into(_("Why not? "), 0, &d->informed_note) != 0)
		goto abandoned;
	if (new_yes_no(_("Write a text in the editor? [Y/n] "), 1) == 1 &&
	    new_text(d) != 0)
		goto abandoned;
	if ((rc = notice_new_key(d)) != MAILLAGE_EXIT_OK)
		return rc;
	new_summary(d);
	switch (new_yes_no(_("Send this notice? [y/N] "), 0)) {
	case 1:
		return notice_send_draft(ctx, d);
	case 0:
		printf(_("Nothing was sent.\n"));
		return MAILLAGE_EXIT_OK;
	default:
		break;
	}
abandoned:
	putchar('\n');
	output_warnx(_("abandoned: nothing was sent"));
	return MAILLAGE_EXIT_USAGE;
}

static const struct cmd_option cmd_notice_new_options[] = {
	{"verbose", 'v', NULL, N_("also print the idempotency key")},
	{NULL, 0, NULL, NULL},
};

const struct cmd_entry cmd_notice_new_entry = {
	.name = "notice new",
	.alias = NULL,
	.usage = "",
	.summary = N_("Compose a notice step by step and send it"),
	.help = N_(
		"Asks, on the terminal, for everything a notice needs: its "
		"kind, the\n"
		"recipient institutions (the network's directory is shown), "
		"the young\n"
		"person (a known number, or a description), the trafficking "
		"indicators\n"
		"observed (the checklist, by category), the urgency, whether "
		"the young\n"
		"person was told, and the text, written in $VISUAL or $EDITOR "
		"(vi by\n"
		"default). Then shows a summary and sends only once you "
		"confirm; the\n"
		"notice goes exactly as with 'notice send', which scripts "
		"should use.\n"
		"Ctrl-D at any question abandons without sending anything.\n"
		"\n"
		"Example:\n"
		"  $ maillage notice new\n"
		"  Kind of notice:\n"
		"     1. sighting                   sighting (repérage)\n"
		"  ...\n"
		"  Send this notice? [y/N] y\n"
		"  notice 4 sent: case 3, person 3 (new case, new person)\n"),
	.exec = cmd_notice_new_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_notice_new_check,
	.options = cmd_notice_new_options,
	.min_args = 0,
	.max_args = 0,
};
