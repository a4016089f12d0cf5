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
	output_warnx("out of memory");
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
					 "'%s' must be an array of strings "
					 "or a comma-separated string",
					 key);
	json_array_foreach(v, i, item)
	{
		if (!json_is_string(item))
			return notice_file_error(
				path, "'%s' must hold strings only", key);
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
		*rc = notice_file_error(path, "'%s' must be a string", key);
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
			return notice_file_error(path,
						 "'identity.declared_age' must "
						 "be an integer from 0 to %u",
						 NOTICE_AGE_MAX);
		d->declared_age = (unsigned)json_integer_value(v);
		return MAILLAGE_EXIT_OK;
	}
	return notice_file_error(path, "unknown key 'identity.%s'",
				 output_clean(k, sizeof(k), key));
}

static int notice_json_identity(struct notice_draft *d, const char *path,
				json_t *obj)
{
	const char *key;
	json_t *v;
	int rc;

	if (!json_is_object(obj))
		return notice_file_error(path, "'identity' must be an object");
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
		return notice_file_error(path, "'informed' must be \"yes\", "
					       "\"no\" or a boolean");
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
			return notice_file_error(path, "'person_id' must be a "
						       "positive integer");
		d->person_id = (int64_t)json_integer_value(v);
		return MAILLAGE_EXIT_OK;
	}
	return notice_file_error(path, "unknown key '%s'",
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
			return notice_file_error(path, "line %d: %s", jerr.line,
						 jerr.text);
		return notice_file_error(path, "%s", jerr.text);
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		return notice_file_error(path, "expected a JSON object");
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
		return cmd_usage_error(ctx, "cannot read %s: %s", p,
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
			rc = cmd_usage_error(ctx, "%s is larger than %u bytes",
					     p, NOTICE_TEXT_FILE_MAX);
			goto out;
		}
		if (n == 0)
			break;
	}
	if (ferror(fp)) {
		rc = cmd_usage_error(ctx, "cannot read %s: %s", p,
				     strerror(errno));
		goto out;
	}
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL) {
		rc = cmd_usage_error(ctx, "%s contains a NUL byte: not a text",
				     p);
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
		output_warnx("cannot generate an idempotency key: no "
			     "randomness; give one with --key");
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
		return cmd_usage_error(ctx, "the kind of notice is missing "
					    "(--kind)");
	if (d->to.n == 0)
		return cmd_usage_error(ctx, "no recipient institution (--to)");
	if (d->person_id > 0 && notice_has_identity(d))
		return cmd_usage_error(ctx,
				       "give either an existing person "
				       "(--person) or an identity, not both");
	if (d->person_id == 0 && !notice_has_identity(d))
		return cmd_usage_error(ctx, "the young person is missing: give "
					    "--person ID, or an identity "
					    "(--given-name, --family-name...)");
	if (d->key == NULL || d->key[0] == '\0')
		return cmd_usage_error(ctx, "the idempotency key is empty");
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
		return cmd_usage_error(ctx, "--text and --text-file exclude "
					    "each other");
	if (file != NULL && text_file != NULL && strcmp(file, "-") == 0 &&
	    strcmp(text_file, "-") == 0)
		return cmd_usage_error(ctx, "--file and --text-file cannot "
					    "both read standard input");
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
		json_t *doc = json_pack("{s:I, s:I, s:I, s:b, s:b, s:b, s:o}",
					"notice_id", (json_int_t)r->notice_id,
					"case_id", (json_int_t)r->case_id,
					"person_id", (json_int_t)r->person_id,
					"replayed", replayed, "new_case",
					(int)r->new_case, "new_person",
					(int)r->new_person, "idempotency_key",
					output_jstr(d->key));

		return output_json(doc);
	}
	if (replayed)
		printf("notice %" PRId64 " had already been sent with this "
		       "key: case %" PRId64 ", person %" PRId64
		       " (nothing new stored)\n",
		       r->notice_id, r->case_id, r->person_id);
	else if (r->new_case && r->new_person)
		printf("notice %" PRId64 " sent: case %" PRId64
		       ", person %" PRId64 " (new case, new person)\n",
		       r->notice_id, r->case_id, r->person_id);
	else if (r->new_case)
		printf("notice %" PRId64 " sent: case %" PRId64
		       ", person %" PRId64 " (new case)\n",
		       r->notice_id, r->case_id, r->person_id);
	else
		printf("notice %" PRId64 " sent: case %" PRId64
		       ", person %" PRId64 "\n",
		       r->notice_id, r->case_id, r->person_id);
	if (cmd_opt_isset(ctx, "verbose")) {
		char k[256];

		printf("idempotency key: %s\n",
		       output_clean(k, sizeof(k), d->key));
	}
	return MAILLAGE_EXIT_OK;
}

static int cmd_notice_send_exec(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct notice_draft *d = ctx->data;
	Maillage__Envelope req = MAILLAGE__ENVELOPE__INIT;
	Maillage__NoticeSend ns = MAILLAGE__NOTICE_SEND__INIT;
	Maillage__Identity id = MAILLAGE__IDENTITY__INIT;
	const Maillage__NoticeSent *r;
	struct frame_msg *resp = NULL;
	struct cerr err;
	int rc, retried = 0, replayed;

	(void)argc;
	(void)argv;
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
			output_warnx("the notice may have been stored; to try "
				     "again without risk of sending it twice, "
				     "add --key %s",
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

static const struct cmd_option cmd_notice_send_options[] = {
	{"kind", 'k', "KIND", "kind of notice (see below)"},
	{"to", 't', "INST[,INST...]",
	 "recipient institution codes (repeatable)"},
	{"person", 'p', "ID", "the young person, already known by this id"},
	{"given-name", 0, "NAME", "or a new identity: given name"},
	{"family-name", 0, "NAME", "family name"},
	{"birth-date", 0, "DATE", "birth date: YYYY-MM-DD, YYYY-MM or YYYY"},
	{"declared-age", 0, "N", "age the young person gave"},
	{"age-declared-on", 0, "DATE",
	 "when that age was given (default: "
	 "today)"},
	{"sex", 0, "F|M", "sex"},
	{"nationality", 0, "CC", "nationality (ISO 3166 code: MA, RO...)"},
	{"languages", 0, "L[,L...]", "languages spoken (ISO 639: ar, ro...)"},
	{"place", 0, "TEXT", "where the young person was seen"},
	{"indicator", 'i', "CODE[,CODE...]",
	 "trafficking indicator (repeatable)"},
	{"urgency", 'u', "URGENCY", "normal (default) or urgent"},
	{"visibility", 0, "CLASS",
	 "general (default), social, health or judicial"},
	{"text", 0, "TEXT", "free text"},
	{"text-file", 0, "PATH", "read the free text from PATH (-: stdin)"},
	{"basis", 'b', "BASIS", "legal basis (default: from the kind)"},
	{"informed", 0, "yes|no", "whether the young person was told"},
	{"informed-note", 0, "TEXT", "why not (needed with --informed no)"},
	{"key", 0, "KEY", "idempotency key (default: a random one)"},
	{"file", 'f', "FILE", "read the notice from a JSON file (-: stdin)"},
	{"verbose", 'v', NULL, "also print the idempotency key"},
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
	.summary = "Send a notice about a young person to institutions",
	.help = "Sends a notice to the institutions named by --to. The notice "
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
		"\"new_case\", \"new_person\", \"idempotency_key\"}.\n"
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
		"urgent\n",
	.exec = cmd_notice_send_exec,
	.flags = CMD_NEEDS_CONNECTION,
	.check = cmd_notice_send_check,
	.options = cmd_notice_send_options,
	.min_args = 0,
	.max_args = 0,
};
