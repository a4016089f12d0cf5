/*
 * test_admin: integration tests of the administration (issue 6, admin part)
 * against the running fixture. They own the checks of what an admin does
 * and what it does to others: every `maillage admin ...` command run as
 * the demo network's admin (text and JSON), the typed refusals (bad code,
 * unknown kind, bad département, duplicate code or login, a certificate
 * bound twice, not issued by the network CA, expired, revoked, not a
 * client certificate, a CA), FORBIDDEN for every other role, an admin
 * that reads no case, a disabled account cut off mid-connection (the
 * Error frame, then the close) and refused afterwards until enabled, a
 * replaced certificate (old one cut and refused, new one accepted), a
 * disabled institution cutting all its accounts, a cut on the second
 * instance of the cluster, a change made straight in PostgreSQL cutting
 * too, the audit records naming their targets, and `maillaged
 * bootstrap-admin` on an empty database and on the live one.
 *
 * Institutions, accounts and certificates are created per run with a tag
 * (so the binary may run twice on one fixture); certificates come from
 * deploy/pki in WORKDIR/pki (and WORKDIR/otherca for a foreign CA).
 *
 * Usage: test_admin [FILTER [SKIP_FILTER]] (cmocka glob patterns).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "itest.h"

/* A cut must reach the connection within this (it takes milliseconds). */
#define CUT_WAIT_MS 5000

static char tag[16];
static int daemon2_running;

/* ---- helpers ---------------------------------------------------------- */

/* snprintf into `buf`, failing the test when it does not fit. */
static const char *fmt(char *buf, size_t n, const char *f, ...)
	__attribute__((format(printf, 3, 4)));

static const char *fmt(char *buf, size_t n, const char *f, ...)
{
	va_list ap;
	int r;

	va_start(ap, f);
	r = vsnprintf(buf, n, f, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= n)
		fail_msg("test_admin: a string does not fit in %zu bytes", n);
	return buf;
}

/* The exit status must be `want`; show what the command said otherwise. */
static void expect_status(const struct itest_output *out, int want,
			  const char *what)
{
	if (out->status != want)
		fail_msg("%s: exit status %d, expected %d%s\nstdout: %s\n"
			 "stderr: %s",
			 what, out->status, want,
			 out->timed_out ? " (timed out)" : "", out->out,
			 out->err);
}

/* A refusal by the server: exit 1 and "[CODE, field F]" on stderr. */
static void expect_refused(struct itest_output *out, const char *code,
			   const char *field, const char *what)
{
	char want[128];

	expect_status(out, 1, what);
	if (field != NULL)
		fmt(want, sizeof(want), "[%s, field %s]", code, field);
	else
		fmt(want, sizeof(want), "[%s]", code);
	if (strstr(out->err, want) == NULL)
		fail_msg("%s: expected %s on stderr, got: %s", what, want,
			 out->err);
	itest_output_free(out);
}

static void expect_ok(struct itest_output *out, const char *what)
{
	expect_status(out, 0, what);
	itest_output_free(out);
}

static json_t *json_of(const struct itest_output *out, const char *what)
{
	json_error_t jerr;
	json_t *doc = json_loads(out->out, 0, &jerr);

	if (doc == NULL)
		fail_msg("%s: not JSON (%s): %s", what, jerr.text, out->out);
	return doc;
}

static const char *json_str(json_t *doc, const char *key)
{
	json_t *v = json_object_get(doc, key);

	if (!json_is_string(v))
		fail_msg("JSON has no string \"%s\"", key);
	return json_string_value(v);
}

static int json_flag(json_t *doc, const char *key)
{
	json_t *v = json_object_get(doc, key);

	if (!json_is_boolean(v))
		fail_msg("JSON has no boolean \"%s\"", key);
	return json_is_true(v);
}

/* `prefix` and the run's tag: a code or login of this run. */
static const char *tagged(char *buf, size_t n, const char *prefix)
{
	fmt(buf, n, "%s%s", prefix, tag);
	return buf;
}

/* deploy/pki client DIR LOGIN INST [--expired]: a certificate and key. */
static void pki_client(const char *dir, const char *login, const char *inst,
		       int expired)
{
	const char *src = getenv("MAILLAGE_SOURCE_DIR");
	char pki[ITEST_PATH_MAX], path[ITEST_PATH_MAX];
	const char *argv[8];
	struct itest_output out;
	size_t n = 0;

	if (src == NULL)
		fail_msg("MAILLAGE_SOURCE_DIR is not set");
	fmt(pki, sizeof(pki), "%s/deploy/pki", src);
	fmt(path, sizeof(path), "%s/%s", itest_env()->workdir, dir);
	argv[n++] = pki;
	argv[n++] = "client";
	argv[n++] = path;
	argv[n++] = login;
	argv[n++] = inst;
	if (expired)
		argv[n++] = "--expired";
	argv[n] = NULL;
	itest_run(argv, 60, &out);
	expect_status(&out, 0, "deploy/pki client");
	itest_output_free(&out);
}

/* WORKDIR/DIR/clients/LOGIN.crt */
static const char *cert_path(char buf[ITEST_PATH_MAX], const char *dir,
			     const char *login)
{
	fmt(buf, ITEST_PATH_MAX, "%s/%s/clients/%s.crt", itest_env()->workdir,
	    dir, login);
	return buf;
}

/*
 * A client configuration WORKDIR/client/LOGIN.conf for a certificate of
 * WORKDIR/pki/clients: admin's, with the certificate and key replaced.
 */
static void write_client_conf(const char *login)
{
	const struct itest_env *e = itest_env();
	char src[ITEST_PATH_MAX], dst[ITEST_PATH_MAX], line[1024];
	FILE *in, *out;

	fmt(src, sizeof(src), "%s/client/admin.conf", e->workdir);
	fmt(dst, sizeof(dst), "%s/client/%s.conf", e->workdir, login);
	in = fopen(src, "r");
	out = fopen(dst, "w");
	if (in == NULL || out == NULL)
		fail_msg("cannot write %s", dst);
	while (fgets(line, sizeof(line), in) != NULL) {
		if (strncmp(line, "certificate =", 13) == 0)
			fprintf(out, "certificate = %s/clients/%s.crt\n",
				e->pki, login);
		else if (strncmp(line, "private_key =", 13) == 0)
			fprintf(out, "private_key = %s/clients/%s.key\n",
				e->pki, login);
		else
			fputs(line, out);
	}
	fclose(in);
	fclose(out);
}

/*
 * Connect with the certificate of `login` (WORKDIR/pki/clients) and say
 * Hello: the connection when welcomed, NULL when refused (UNAUTHENTICATED,
 * or the connection closed).
 */
static struct itest_conn *try_session(const char *login)
{
	char crt[ITEST_PATH_MAX], key[ITEST_PATH_MAX];
	struct itest_conn *c;
	struct frame_msg *m;

	itest_client_files(login, crt, key);
	c = itest_connect_files(crt, key, ITEST_REPLY_MS);
	if (!c->handshake_ok) {
		itest_close(c);
		return NULL;
	}
	m = itest_hello(c, 1);
	if (m != NULL &&
	    m->env->body_case == MAILLAGE__ENVELOPE__BODY_WELCOME) {
		c->welcome = m;
		return c;
	}
	if (m != NULL)
		itest_assert_error(m, MAILLAGE__ERROR_CODE__UNAUTHENTICATED);
	frame_msg_free(m);
	itest_close(c);
	return NULL;
}

static struct itest_conn *session_ok(const char *login)
{
	struct itest_conn *c = try_session(login);

	if (c == NULL)
		fail_msg("%s could not open a session", login);
	return c;
}

static void session_refused(const char *login)
{
	struct itest_conn *c = try_session(login);

	if (c != NULL) {
		itest_close(c);
		fail_msg("%s opened a session, expected UNAUTHENTICATED",
			 login);
	}
}

/* The connection works: a WhoAmI is answered with `login`. */
static void session_alive(struct itest_conn *c, const char *login)
{
	struct frame_msg *m = itest_whoami(c, itest_unique_id());

	if (m == NULL ||
	    m->env->body_case != MAILLAGE__ENVELOPE__BODY_WHOAMI_RESULT)
		fail_msg("%s: whoami not answered", login);
	assert_string_equal(m->env->whoami_result->account->login, login);
	frame_msg_free(m);
}

/*
 * The connection is cut: an Error UNAUTHENTICATED with request_id 0 and
 * `message`, then the close, within CUT_WAIT_MS. Returns the milliseconds.
 */
static long expect_cut(struct itest_conn *c, const char *message,
		       const char *what)
{
	int64_t start = itest_now_ms();
	enum itest_recv_status st;
	struct frame_msg *m;
	long closed;

	for (;;) {
		int left = (int)(start + CUT_WAIT_MS - itest_now_ms());

		if (left <= 0)
			fail_msg("%s: not cut within %d ms", what, CUT_WAIT_MS);
		m = itest_recv(c, left, &st);
		if (m == NULL)
			fail_msg("%s: no Error before the close (%d: %s)", what,
				 (int)st, c->error);
		if (m->env->body_case == MAILLAGE__ENVELOPE__BODY_ERROR)
			break;
		frame_msg_free(m); /* an event or a late answer */
	}
	assert_int_equal(m->env->request_id, 0);
	itest_assert_error(m, MAILLAGE__ERROR_CODE__UNAUTHENTICATED);
	if (strcmp(m->env->error->message, message) != 0)
		fail_msg("%s: cut with \"%s\", expected \"%s\"", what,
			 m->env->error->message, message);
	frame_msg_free(m);
	closed = itest_wait_closed(c, CUT_WAIT_MS);
	if (closed < 0)
		fail_msg("%s: Error received but the connection stays open",
			 what);
	return (long)(itest_now_ms() - start);
}

/* An institution CODE with an account per login of `logins` (partners). */
static void make_institution(const char *code, const char *const *logins,
			     size_t n)
{
	struct itest_output out;
	char crt[ITEST_PATH_MAX];
	size_t i;

	itest_cli(&out, "admin", "admin", "institution", "add", code, "--name",
		  "Institution de test", "--kind", "association",
		  "--departement", "93", NULL);
	expect_ok(&out, "institution add");
	for (i = 0; i < n; i++) {
		pki_client("pki", logins[i], code, 0);
		itest_cli(&out, "admin", "admin", "account", "add", logins[i],
			  "--institution", code, "--role",
			  i % 2 == 0 ? "partner" : "coordinator", "--cert",
			  cert_path(crt, "pki", logins[i]), NULL);
		expect_ok(&out, "account add");
	}
}

/* ---- institutions ------------------------------------------------------ */

static void test_institution_commands(void **state)
{
	struct itest_output out;
	char code[40], sql[1024];
	json_t *doc, *a;
	size_t i;
	int found = 0;

	(void)state;
	tagged(code, sizeof(code), "ti");
	itest_cli(&out, "admin", "--json", "admin", "institution", "add", code,
		  "--name", "Accueil de jour \xc3\xa9tudiant", "--kind",
		  "association", "--departement", "2A", "--contact",
		  "permanence sociale", NULL);
	expect_status(&out, 0, "institution add --json");
	doc = json_of(&out, "institution add");
	assert_string_equal(json_str(doc, "code"), code);
	assert_string_equal(json_str(doc, "name"),
			    "Accueil de jour \xc3\xa9tudiant");
	assert_string_equal(json_str(doc, "kind"), "association");
	assert_string_equal(json_str(doc, "departement"), "2A");
	assert_string_equal(json_str(doc, "contact"), "permanence sociale");
	assert_true(json_flag(doc, "enabled"));
	assert_true(json_flag(doc, "changed"));
	json_decref(doc);
	itest_output_free(&out);

	/* list, text and JSON */
	itest_cli(&out, "admin", "admin", "institution", "list", NULL);
	expect_status(&out, 0, "institution list");
	assert_non_null(strstr(out.out, "CODE"));
	assert_non_null(strstr(out.out, code));
	assert_non_null(strstr(out.out, "hlr"));
	itest_output_free(&out);
	itest_cli(&out, "admin", "admin", "institution", "list", "--json",
		  NULL);
	expect_status(&out, 0, "institution list --json");
	doc = json_of(&out, "institution list");
	a = json_object_get(doc, "institutions");
	assert_true(json_is_array(a));
	for (i = 0; i < json_array_size(a); i++) {
		json_t *e = json_array_get(a, i);
		if (strcmp(json_str(e, "code"), "hlr") == 0) {
			/* coord, admin, auditor (and bootstrapped ones) */
			assert_true(json_integer_value(json_object_get(
					    e, "accounts")) >= 3);
			found |= 1;
		}
		if (strcmp(json_str(e, "code"), code) == 0)
			found |= 2;
	}
	assert_int_equal(found, 3);
	json_decref(doc);
	itest_output_free(&out);

	/* disable, again (no change), enable */
	itest_cli(&out, "admin", "--json", "admin", "institution", "disable",
		  code, NULL);
	expect_status(&out, 0, "institution disable");
	doc = json_of(&out, "institution disable");
	assert_false(json_flag(doc, "enabled"));
	assert_true(json_flag(doc, "changed"));
	json_decref(doc);
	itest_output_free(&out);
	itest_cli(&out, "admin", "admin", "institution", "disable", code, NULL);
	expect_status(&out, 0, "institution disable again");
	assert_non_null(strstr(out.out, "(no change)"));
	assert_non_null(strstr(out.out, "enabled: no"));
	itest_output_free(&out);
	itest_cli(&out, "admin", "admin", "institution", "enable", code, NULL);
	expect_status(&out, 0, "institution enable");
	assert_non_null(strstr(out.out, "enabled: yes"));
	itest_output_free(&out);

	/* typed refusals */
	itest_cli(&out, "admin", "admin", "institution", "add", code, "--name",
		  "x", "--kind", "association", "--departement", "75", NULL);
	expect_refused(&out, "CONFLICT", "code", "duplicate code");
	itest_cli(&out, "admin", "admin", "institution", "add", "Bad Code",
		  "--name", "x", "--kind", "association", "--departement", "75",
		  NULL);
	expect_refused(&out, "BAD_REQUEST", "code", "bad code");
	itest_cli(&out, "admin", "admin", "institution", "add", "x", "--name",
		  "x", "--kind", "association", "--departement", "75", NULL);
	expect_refused(&out, "BAD_REQUEST", "code", "short code");
	itest_cli(&out, "admin", "admin", "institution", "add",
		  tagged(code, sizeof(code), "tk"), "--name", "x", "--kind",
		  "ngo", "--departement", "75", NULL);
	expect_refused(&out, "BAD_REQUEST", "kind", "unknown kind");
	itest_cli(&out, "admin", "admin", "institution", "add", code, "--name",
		  "x", "--kind", "police", "--departement", "2C", NULL);
	expect_refused(&out, "BAD_REQUEST", "departement", "bad departement");
	itest_cli(&out, "admin", "admin", "institution", "add", code, "--name",
		  "two\nlines", "--kind", "police", "--departement", "75",
		  NULL);
	expect_refused(&out, "BAD_REQUEST", "name", "name on two lines");
	itest_cli(&out, "admin", "admin", "institution", "add", code, "--kind",
		  "police", "--departement", "75", NULL);
	expect_status(&out, 2, "add without --name");
	itest_output_free(&out);
	itest_cli(&out, "admin", "admin", "institution", "disable",
		  "nosuchinst", NULL);
	expect_refused(&out, "NOT_FOUND", "code", "disable unknown");
	itest_cli(&out, "admin", "admin", "institution", "disable", "hlr",
		  NULL);
	expect_refused(&out, "CONFLICT", "code", "disable own institution");
	assert_int_equal(itest_psql_int("SELECT count(*) FROM institution "
					"WHERE code = 'hlr' AND enabled"),
			 1);

	/* audited, with the target institution and no name */
	tagged(code, sizeof(code), "ti");
	fmt(sql, sizeof(sql),
	    "SELECT count(*) FROM audit_event e JOIN institution i"
	    " ON i.id = e.target_institution_id WHERE i.code = '%s'"
	    " AND e.login = 'admin' AND e.outcome = 'ok' AND e.action IN"
	    " ('admin.institution.add', 'admin.institution.disable',"
	    " 'admin.institution.enable')",
	    code);
	assert_int_equal(itest_psql_int(sql), 4);
	assert_true(
		itest_psql_int("SELECT count(*) FROM audit_event e JOIN "
			       "institution i ON i.id = "
			       "e.target_institution_id WHERE i.code = "
			       "'hlr' AND e.action = "
			       "'admin.institution.disable' AND e.outcome = "
			       "'refused' AND e.error_code = 'CONFLICT'") >= 1);
}

/* ---- accounts -------------------------------------------------------- */

static void test_account_commands(void **state)
{
	struct itest_output out;
	char code[40], login[40], login2[40], other[40], crt[ITEST_PATH_MAX],
		fp[65], sql[1024];
	struct itest_conn *c;
	json_t *doc, *a;
	size_t i;
	int found = 0;

	(void)state;
	tagged(code, sizeof(code), "ta");
	tagged(login, sizeof(login), "ua");
	tagged(login2, sizeof(login2), "ub");
	tagged(other, sizeof(other), "uo");
	itest_cli(&out, "admin", "admin", "institution", "add", code, "--name",
		  "Service de test", "--kind", "child_welfare", "--departement",
		  "974", NULL);
	expect_ok(&out, "institution add");
	pki_client("pki", login, code, 0);
	pki_client("pki", login2, code, 0);
	pki_client("otherca", other, code, 0);

	itest_cli(&out, "admin", "--json", "admin", "account", "add", login,
		  "--institution", code, "--role", "partner", "--cert",
		  cert_path(crt, "pki", login), "--display-name",
		  "R\xc3\xa9"
		  "f\xc3\xa9rente de test",
		  NULL);
	expect_status(&out, 0, "account add");
	doc = json_of(&out, "account add");
	assert_int_equal(itest_cert_fingerprint(crt, fp), 0);
	assert_string_equal(json_str(doc, "login"), login);
	assert_string_equal(json_str(doc, "institution"), code);
	assert_string_equal(json_str(doc, "role"), "partner");
	assert_string_equal(json_str(doc, "cert_fingerprint"), fp);
	assert_int_equal(strlen(json_str(doc, "cert_not_after")), 20);
	assert_true(json_flag(doc, "enabled"));
	assert_true(json_flag(doc, "institution_enabled"));
	json_decref(doc);
	itest_output_free(&out);
	c = session_ok(login);
	session_alive(c, login);
	itest_close(c);

	/* list, all and by institution */
	itest_cli(&out, "admin", "admin", "account", "list", NULL);
	expect_status(&out, 0, "account list");
	assert_non_null(strstr(out.out, login));
	assert_non_null(strstr(out.out, "auditor"));
	itest_output_free(&out);
	itest_cli(&out, "admin", "--json", "admin", "account", "list",
		  "--institution", code, NULL);
	expect_status(&out, 0, "account list --institution");
	doc = json_of(&out, "account list");
	a = json_object_get(doc, "accounts");
	assert_int_equal(json_array_size(a), 1);
	for (i = 0; i < json_array_size(a); i++)
		if (strcmp(json_str(json_array_get(a, i), "login"), login) == 0)
			found = 1;
	assert_true(found);
	json_decref(doc);
	itest_output_free(&out);
	itest_cli(&out, "admin", "admin", "account", "list", "--institution",
		  "nosuchinst", NULL);
	expect_refused(&out, "NOT_FOUND", "institution", "list unknown");

	/* typed refusals */
	itest_cli(&out, "admin", "admin", "account", "add", login,
		  "--institution", code, "--role", "partner", "--cert",
		  cert_path(crt, "pki", login2), NULL);
	expect_refused(&out, "CONFLICT", "login", "duplicate login");
	itest_cli(&out, "admin", "admin", "account", "add", login2,
		  "--institution", code, "--role", "partner", "--cert",
		  cert_path(crt, "pki", login), NULL);
	expect_refused(&out, "CONFLICT", "cert", "certificate bound twice");
	itest_cli(&out, "admin", "admin", "account", "add", login2,
		  "--institution", code, "--role", "partner", "--cert",
		  cert_path(crt, "otherca", other), NULL);
	expect_refused(&out, "BAD_REQUEST", "cert", "foreign CA");
	itest_cli(&out, "admin", "admin", "account", "add", login2,
		  "--institution", code, "--role", "partner", "--cert",
		  cert_path(crt, "otherca", "rogue"), NULL);
	expect_refused(&out, "BAD_REQUEST", "cert", "same-name CA");
	itest_cli(&out, "admin", "admin", "account", "add", login2,
		  "--institution", code, "--role", "partner", "--cert",
		  cert_path(crt, "pki", "expired"), NULL);
	expect_status(&out, 1, "expired");
	assert_non_null(strstr(out.err, "expired"));
	expect_refused(&out, "BAD_REQUEST", "cert", "expired");
	itest_cli(&out, "admin", "admin", "account", "add", login2,
		  "--institution", code, "--role", "partner", "--cert",
		  cert_path(crt, "pki", "revoked"), NULL);
	expect_status(&out, 1, "revoked");
	assert_non_null(strstr(out.err, "revoked"));
	expect_refused(&out, "BAD_REQUEST", "cert", "revoked");
	fmt(crt, sizeof(crt), "%s/server.crt", itest_env()->pki);
	itest_cli(&out, "admin", "admin", "account", "add", login2,
		  "--institution", code, "--role", "partner", "--cert", crt,
		  NULL);
	expect_refused(&out, "BAD_REQUEST", "cert", "server certificate");
	fmt(crt, sizeof(crt), "%s/ca.crt", itest_env()->pki);
	itest_cli(&out, "admin", "admin", "account", "add", login2,
		  "--institution", code, "--role", "partner", "--cert", crt,
		  NULL);
	expect_refused(&out, "BAD_REQUEST", "cert", "CA certificate");
	itest_cli(&out, "admin", "admin", "account", "add", login2,
		  "--institution", code, "--role", "boss", "--cert",
		  cert_path(crt, "pki", login2), NULL);
	expect_refused(&out, "BAD_REQUEST", "role", "unknown role");
	itest_cli(&out, "admin", "admin", "account", "add", "A",
		  "--institution", code, "--role", "partner", "--cert",
		  cert_path(crt, "pki", login2), NULL);
	expect_refused(&out, "BAD_REQUEST", "login", "bad login");
	itest_cli(&out, "admin", "admin", "account", "add", login2,
		  "--institution", "nosuchinst", "--role", "partner", "--cert",
		  cert_path(crt, "pki", login2), NULL);
	expect_refused(&out, "NOT_FOUND", "institution", "unknown institution");
	fmt(crt, sizeof(crt), "%s/clients/%s.key", itest_env()->pki, login2);
	itest_cli(&out, "admin", "admin", "account", "add", login2,
		  "--institution", code, "--role", "partner", "--cert", crt,
		  NULL);
	expect_status(&out, 2, "a key file, not a certificate");
	itest_output_free(&out);
	itest_cli(&out, "admin", "admin", "account", "disable", "nosuchlogin",
		  NULL);
	expect_refused(&out, "NOT_FOUND", "login", "disable unknown");
	itest_cli(&out, "admin", "admin", "account", "disable", "admin", NULL);
	expect_refused(&out, "CONFLICT", "login", "disable own account");
	itest_cli(&out, "admin", "admin", "account", "rotate", "admin",
		  "--cert", cert_path(crt, "pki", login2), NULL);
	expect_refused(&out, "CONFLICT", "login", "rotate own certificate");
	/* login2 was never added: none of the refusals stored anything */
	fmt(sql, sizeof(sql), "SELECT count(*) FROM account WHERE login = '%s'",
	    login2);
	assert_int_equal(itest_psql_int(sql), 0);

	/* a coordinator and an auditor, added through the CLI too */
	itest_cli(&out, "admin", "admin", "account", "add", login2,
		  "--institution", code, "--role", "auditor", "--cert",
		  cert_path(crt, "pki", login2), NULL);
	expect_status(&out, 0, "auditor add");
	assert_non_null(strstr(out.out, "role: auditor"));
	itest_output_free(&out);
	c = session_ok(login2);
	session_alive(c, login2);
	itest_close(c);

	/* the add is audited with both targets */
	fmt(sql, sizeof(sql),
	    "SELECT count(*) FROM audit_event e JOIN account a ON a.id ="
	    " e.target_account_id WHERE a.login = '%s' AND"
	    " e.target_institution_id = a.institution_id AND e.action ="
	    " 'admin.account.add' AND e.outcome = 'ok'",
	    login);
	assert_int_equal(itest_psql_int(sql), 1);
}

/* ---- roles ------------------------------------------------------------- */

/* Every admin request as `login`: FORBIDDEN. */
static void forbidden_raw(const char *login)
{
	struct itest_conn *c = itest_session(login);
	Maillage__AdminInstitutionAdd ia =
		MAILLAGE__ADMIN_INSTITUTION_ADD__INIT;
	Maillage__AdminInstitutionList il =
		MAILLAGE__ADMIN_INSTITUTION_LIST__INIT;
	Maillage__AdminInstitutionSet is =
		MAILLAGE__ADMIN_INSTITUTION_SET__INIT;
	Maillage__AdminAccountAdd aa = MAILLAGE__ADMIN_ACCOUNT_ADD__INIT;
	Maillage__AdminAccountList al = MAILLAGE__ADMIN_ACCOUNT_LIST__INIT;
	Maillage__AdminAccountSet as = MAILLAGE__ADMIN_ACCOUNT_SET__INIT;
	Maillage__AdminAccountRotate ar = MAILLAGE__ADMIN_ACCOUNT_ROTATE__INIT;
	int i;

	ia.code = "forbidden";
	ia.name = "x";
	ia.kind = "association";
	ia.departement = "75";
	is.code = "ase75";
	aa.login = "forbidden";
	aa.institution = "ase75";
	aa.role = "admin";
	as.login = "ase";
	ar.login = "ase";
	for (i = 0; i < 7; i++) {
		Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
		struct frame_msg *m;

		env.request_id = itest_unique_id();
		switch (i) {
		case 0:
			env.body_case =
				MAILLAGE__ENVELOPE__BODY_ADMIN_INSTITUTION_ADD;
			env.admin_institution_add = &ia;
			break;
		case 1:
			env.body_case =
				MAILLAGE__ENVELOPE__BODY_ADMIN_INSTITUTION_LIST;
			env.admin_institution_list = &il;
			break;
		case 2:
			env.body_case =
				MAILLAGE__ENVELOPE__BODY_ADMIN_INSTITUTION_SET;
			env.admin_institution_set = &is;
			break;
		case 3:
			env.body_case =
				MAILLAGE__ENVELOPE__BODY_ADMIN_ACCOUNT_ADD;
			env.admin_account_add = &aa;
			break;
		case 4:
			env.body_case =
				MAILLAGE__ENVELOPE__BODY_ADMIN_ACCOUNT_LIST;
			env.admin_account_list = &al;
			break;
		case 5:
			env.body_case =
				MAILLAGE__ENVELOPE__BODY_ADMIN_ACCOUNT_SET;
			env.admin_account_set = &as;
			break;
		default:
			env.body_case =
				MAILLAGE__ENVELOPE__BODY_ADMIN_ACCOUNT_ROTATE;
			env.admin_account_rotate = &ar;
			break;
		}
		m = itest_request(c, &env, ITEST_REPLY_MS);
		if (m == NULL)
			fail_msg("%s: admin request %d not answered", login, i);
		assert_int_equal(m->env->request_id, env.request_id);
		itest_assert_error(m, MAILLAGE__ERROR_CODE__FORBIDDEN);
		frame_msg_free(m);
	}
	itest_close(c);
}

static void test_forbidden_to_others(void **state)
{
	static const char *const logins[] = {"coord", "ase", "police",
					     "auditor"};
	struct itest_output out;
	char sql[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(logins) / sizeof(logins[0]); i++)
		forbidden_raw(logins[i]);
	itest_cli(&out, "coord", "admin", "institution", "list", NULL);
	expect_refused(&out, "FORBIDDEN", NULL, "coordinator lists");
	itest_cli(&out, "auditor", "admin", "account", "disable", "ase", NULL);
	expect_refused(&out, "FORBIDDEN", NULL, "auditor disables");
	itest_cli(&out, "ase", "admin", "institution", "disable", "hlr", NULL);
	expect_refused(&out, "FORBIDDEN", NULL, "partner disables");
	assert_int_equal(itest_psql_int("SELECT count(*) FROM account a JOIN "
					"institution i ON i.id = "
					"a.institution_id WHERE a.login = "
					"'ase' AND a.enabled AND i.enabled"),
			 1);
	assert_int_equal(itest_psql_int("SELECT count(*) FROM institution "
					"WHERE code = 'forbidden'"),
			 0);
	/* refusals audited, naming the target */
	fmt(sql, sizeof(sql),
	    "SELECT count(*) FROM audit_event e JOIN account a ON a.id ="
	    " e.target_account_id WHERE e.login = 'auditor' AND a.login ="
	    " 'ase' AND e.action = 'admin.account.disable' AND e.outcome"
	    " = 'refused' AND e.error_code = 'FORBIDDEN'");
	assert_true(itest_psql_int(sql) >= 2);
}

static void test_admin_reads_no_case(void **state)
{
	struct itest_output out;

	(void)state;
	itest_cli(&out, "admin", "case", "list", NULL);
	expect_refused(&out, "FORBIDDEN", NULL, "admin case list");
	itest_cli(&out, "admin", "case", "show", "1", NULL);
	expect_refused(&out, "FORBIDDEN", NULL, "admin case show");
	itest_cli(&out, "admin", "inbox", NULL);
	expect_refused(&out, "FORBIDDEN", NULL, "admin inbox");
	itest_cli(&out, "admin", "watch", "--no-reconnect", "--count", "1",
		  NULL);
	expect_status(&out, 1, "admin watch");
	itest_output_free(&out);
}

/* ---- cutting live connections ----------------------------------------- */

static void test_disable_cuts_account(void **state)
{
	const char *logins[1];
	struct itest_output out;
	struct itest_conn *c, *other;
	char code[40], login[40];
	long ms;

	(void)state;
	tagged(code, sizeof(code), "tc");
	logins[0] = tagged(login, sizeof(login), "uc");
	make_institution(code, logins, 1);
	c = session_ok(login);
	session_alive(c, login);
	other = itest_session("ase"); /* must survive */

	itest_cli(&out, "admin", "admin", "account", "disable", login, NULL);
	expect_status(&out, 0, "account disable");
	assert_non_null(strstr(out.out, "enabled: no"));
	itest_output_free(&out);
	ms = expect_cut(c, "account disabled", "disabled account");
	print_message("disabled account cut after %ld ms\n", ms);
	itest_close(c);
	session_refused(login);
	session_alive(other, "ase");

	/* again: no change, no error */
	itest_cli(&out, "admin", "admin", "account", "disable", login, NULL);
	expect_status(&out, 0, "account disable again");
	assert_non_null(strstr(out.out, "(no change)"));
	itest_output_free(&out);

	itest_cli(&out, "admin", "--json", "admin", "account", "enable", login,
		  NULL);
	expect_status(&out, 0, "account enable");
	itest_output_free(&out);
	c = session_ok(login);
	session_alive(c, login);
	itest_close(c);
	session_alive(other, "ase");
	itest_close(other);

	/* the cut is audited under the account cut, the disable names it */
	assert_int_equal(itest_sql_int("SELECT count(*) FROM audit_event WHERE"
				       " login = '%s' AND action = "
				       "'session.revoked' AND error_code = "
				       "'UNAUTHENTICATED'",
				       login),
			 1);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM audit_event e JOIN"
			      " account a ON a.id = e.target_account_id"
			      " WHERE a.login = '%s' AND e.action IN"
			      " ('admin.account.disable',"
			      " 'admin.account.enable') AND e.outcome ="
			      " 'ok'",
			      login),
		3);
}

static void test_rotate_certificate(void **state)
{
	const char *logins[1];
	struct itest_output out;
	struct itest_conn *c;
	char code[40], login[40], fresh[40], crt[ITEST_PATH_MAX], fp[65];
	json_t *doc;
	FILE *f;

	(void)state;
	tagged(code, sizeof(code), "tr");
	logins[0] = tagged(login, sizeof(login), "ur");
	make_institution(code, logins, 1);
	c = session_ok(login);
	session_alive(c, login);

	/* a new certificate for the same login: WORKDIR/pki/clients/FRESH */
	tagged(fresh, sizeof(fresh), "ur2");
	pki_client("pki", fresh, code, 0);
	itest_cli(&out, "admin", "--json", "admin", "account", "rotate", login,
		  "--cert", cert_path(crt, "pki", fresh), NULL);
	expect_status(&out, 0, "account rotate");
	doc = json_of(&out, "account rotate");
	assert_int_equal(itest_cert_fingerprint(crt, fp), 0);
	assert_string_equal(json_str(doc, "cert_fingerprint"), fp);
	assert_true(json_flag(doc, "changed"));
	json_decref(doc);
	itest_output_free(&out);
	expect_cut(c, "certificate replaced", "old certificate");
	itest_close(c);
	session_refused(login); /* the old certificate */
	c = session_ok(fresh);	/* the new one opens the account's session */
	assert_string_equal(c->welcome->env->welcome->account->login, login);
	itest_close(c);

	/* the same certificate again; a file with a key and a certificate */
	itest_cli(&out, "admin", "admin", "account", "rotate", login, "--cert",
		  cert_path(crt, "pki", fresh), NULL);
	expect_refused(&out, "CONFLICT", "cert", "rotate to the same");
	fmt(crt, sizeof(crt), "%s/client/%s-both.pem", itest_env()->workdir,
	    login);
	f = fopen(crt, "w");
	assert_non_null(f);
	{
		char part[ITEST_PATH_MAX], line[512];
		const char *ext[] = {"key", "crt"};
		int k;

		for (k = 0; k < 2; k++) {
			FILE *in;

			fmt(part, sizeof(part), "%s/clients/%s.%s",
			    itest_env()->pki, login, ext[k]);
			in = fopen(part, "r");
			assert_non_null(in);
			while (fgets(line, sizeof(line), in) != NULL)
				fputs(line, f);
			fclose(in);
		}
	}
	fclose(f);
	/* only the certificate goes: the old one, valid and unbound now */
	itest_cli(&out, "admin", "admin", "account", "rotate", login, "--cert",
		  crt, NULL);
	expect_status(&out, 0, "rotate back, key and certificate file");
	itest_output_free(&out);
	c = session_ok(login);
	itest_close(c);
	session_refused(fresh);
	assert_int_equal(
		itest_sql_int("SELECT count(*) FROM audit_event e JOIN"
			      " account a ON a.id = e.target_account_id"
			      " WHERE a.login = '%s' AND e.action ="
			      " 'admin.account.rotate'",
			      login),
		3);
}

static void test_disable_institution_cuts_all(void **state)
{
	const char *logins[2];
	struct itest_output out;
	struct itest_conn *c[2], *other;
	char code[40], l0[40], l1[40];
	int i;

	(void)state;
	tagged(code, sizeof(code), "td");
	logins[0] = tagged(l0, sizeof(l0), "ud0");
	logins[1] = tagged(l1, sizeof(l1), "ud1");
	make_institution(code, logins, 2);
	for (i = 0; i < 2; i++)
		c[i] = session_ok(logins[i]);
	other = itest_session("pjj");

	itest_cli(&out, "admin", "admin", "institution", "disable", code, NULL);
	expect_status(&out, 0, "institution disable");
	itest_output_free(&out);
	for (i = 0; i < 2; i++) {
		expect_cut(c[i], "institution disabled", logins[i]);
		itest_close(c[i]);
		session_refused(logins[i]);
	}
	session_alive(other, "pjj");

	itest_cli(&out, "admin", "admin", "account", "list", "--institution",
		  code, NULL);
	expect_status(&out, 0, "account list");
	assert_non_null(strstr(out.out, "no (institution)"));
	itest_output_free(&out);

	itest_cli(&out, "admin", "admin", "institution", "enable", code, NULL);
	expect_ok(&out, "institution enable");
	for (i = 0; i < 2; i++) {
		c[i] = session_ok(logins[i]);
		session_alive(c[i], logins[i]);
		itest_close(c[i]);
	}
	itest_close(other);
}

/* Straight in PostgreSQL (deploy/enrol, a DBA): the triggers cut too. */
static void test_database_change_cuts(void **state)
{
	const char *logins[2];
	struct itest_conn *c[2];
	char code[40], l0[40], l1[40], sql[256];
	int i;

	(void)state;
	tagged(code, sizeof(code), "tq");
	logins[0] = tagged(l0, sizeof(l0), "uq0");
	logins[1] = tagged(l1, sizeof(l1), "uq1");
	make_institution(code, logins, 2);
	for (i = 0; i < 2; i++)
		c[i] = session_ok(logins[i]);

	fmt(sql, sizeof(sql),
	    "UPDATE account SET enabled = false WHERE login = '%s'", l0);
	assert_int_equal(itest_psql(sql, NULL, 0), 0);
	expect_cut(c[0], "account disabled", "disabled in SQL");
	itest_close(c[0]);

	/* a role changed under a live connection: cut, and back with it */
	fmt(sql, sizeof(sql),
	    "UPDATE account SET role = 'partner' WHERE login = '%s'", l1);
	assert_int_equal(itest_psql(sql, NULL, 0), 0);
	expect_cut(c[1], "account changed: connect again", "role changed");
	itest_close(c[1]);
	c[1] = session_ok(l1);
	assert_int_equal(c[1]->welcome->env->welcome->account->role,
			 MAILLAGE__ROLE__PARTNER);
	itest_close(c[1]);
}

/*
 * A change that announced nothing (triggers bypassed, as with a restore):
 * the sweep that follows any notification finds the connection that no
 * longer authenticates. A malformed notification is ignored.
 */
static void test_sweep_catches_silent_change(void **state)
{
	const char *logins[1];
	struct itest_conn *c;
	char code[40], login[40], sql[512];

	(void)state;
	tagged(code, sizeof(code), "ts");
	logins[0] = tagged(login, sizeof(login), "us");
	make_institution(code, logins, 1);
	c = session_ok(login);
	fmt(sql, sizeof(sql),
	    "SET session_replication_role = replica; UPDATE account SET"
	    " enabled = false WHERE login = '%s'",
	    login);
	assert_int_equal(itest_psql(sql, NULL, 0), 0);
	session_alive(c, login); /* nobody was told */
	assert_int_equal(
		itest_psql("NOTIFY maillage_admin, 'garbage'", NULL, 0), 0);
	assert_int_equal(itest_psql("NOTIFY maillage_admin, "
				    "'a:9000000000000000'",
				    NULL, 0),
			 0);
	expect_cut(c, "account disabled", "sweep");
	itest_close(c);
	session_refused(login);
	assert_true(itest_daemon_alive());
}

/* The second instance of the fixture: its port, from WORKDIR/.state. */
static int instance2_port(void)
{
	char path[ITEST_PATH_MAX], line[256];
	int port = 0;
	FILE *f;

	fmt(path, sizeof(path), "%s/.state", itest_env()->workdir);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "MAILLAGE_PORT2=", 15) == 0)
			port = atoi(line + 15);
	fclose(f);
	if (port <= 0)
		fail_msg("no MAILLAGE_PORT2 in %s", path);
	return port;
}

/*
 * A session on the second instance. itest connects to the environment's
 * port: point it at the second instance for the connection only.
 */
static struct itest_conn *session_instance2(const char *login, int port2)
{
	struct itest_env *e = (struct itest_env *)itest_env();
	int port = e->port;
	struct itest_conn *c;

	e->port = port2;
	c = try_session(login);
	e->port = port;
	if (c == NULL)
		fail_msg("%s: no session on the second instance", login);
	assert_string_equal(c->welcome->env->welcome->instance_id, "itest2");
	return c;
}

static void test_cut_on_other_instance(void **state)
{
	const char *logins[2];
	struct itest_output out;
	struct itest_conn *c[2];
	char code[40], l0[40], l1[40];
	int port2;

	(void)state;
	tagged(code, sizeof(code), "tm");
	logins[0] = tagged(l0, sizeof(l0), "um0");
	logins[1] = tagged(l1, sizeof(l1), "um1");
	make_institution(code, logins, 2);
	if (itest_fixture("daemon2-start") != 0)
		fail_msg("fixture.sh daemon2-start failed");
	daemon2_running = 1;
	port2 = instance2_port();
	c[0] = session_instance2(l0, port2);
	c[1] = session_instance2(l1, port2);

	/* through instance 1, cut on instance 2 */
	itest_cli(&out, "admin", "admin", "account", "disable", l0, NULL);
	expect_ok(&out, "account disable");
	expect_cut(c[0], "account disabled", "account, other instance");
	itest_close(c[0]);
	session_alive(c[1], l1);
	itest_cli(&out, "admin", "admin", "institution", "disable", code, NULL);
	expect_ok(&out, "institution disable");
	expect_cut(c[1], "institution disabled", "institution, other instance");
	itest_close(c[1]);
	assert_true(itest_psql_int("SELECT count(*) FROM audit_event WHERE "
				   "action = 'session.revoked' AND instance "
				   "= 'itest2'") >= 2);
	if (itest_fixture("daemon2-stop") != 0)
		fail_msg("fixture.sh daemon2-stop failed");
	daemon2_running = 0;
}

/* ---- bootstrap-admin ------------------------------------------------- */

/* Run maillaged -c CONF bootstrap-admin ARGS... (NULL-terminated). */
static int bootstrap(struct itest_output *out, const char *conf, ...)
{
	const char *argv[24];
	const char *arg;
	size_t n = 0;
	va_list ap;

	argv[n++] = itest_env()->daemon_bin;
	argv[n++] = "-c";
	argv[n++] = conf;
	va_start(ap, conf);
	while ((arg = va_arg(ap, const char *)) != NULL && n < 23)
		argv[n++] = arg;
	va_end(ap);
	argv[n] = NULL;
	return itest_run(argv, 60, out);
}

/* psql on database `db` of the fixture's cluster; first line to `out`. */
static int psql_db(const char *db, const char *sql, char *out, size_t len)
{
	const struct itest_env *e = itest_env();
	const char *pgbin = getenv("MAILLAGE_PGBIN");
	char psql[ITEST_PATH_MAX];
	const char *argv[16];
	struct itest_output o;
	int rc;

	fmt(psql, sizeof(psql), "%s/psql",
	    pgbin != NULL ? pgbin : "/usr/lib/postgresql/15/bin");
	argv[0] = psql;
	argv[1] = "-XAtq";
	argv[2] = "-v";
	argv[3] = "ON_ERROR_STOP=1";
	argv[4] = "-h";
	argv[5] = e->pghost;
	argv[6] = "-p";
	argv[7] = e->pgport;
	argv[8] = "-U";
	argv[9] = "maillage";
	argv[10] = "-d";
	argv[11] = db;
	argv[12] = "-c";
	argv[13] = sql;
	argv[14] = NULL;
	rc = itest_run(argv, 60, &o);
	if (rc != 0)
		print_error("psql %s: %s\n", db, o.err);
	if (out != NULL && len > 0)
		fmt(out, len, "%.*s", (int)strcspn(o.out, "\n"), o.out);
	itest_output_free(&o);
	return rc;
}

/* maillaged.conf with another database: WORKDIR/NAME.conf. */
static void write_daemon_conf(const char *name, const char *db)
{
	const struct itest_env *e = itest_env();
	char src[ITEST_PATH_MAX], dst[ITEST_PATH_MAX], line[1024];
	FILE *in, *out;

	fmt(src, sizeof(src), "%s/maillaged.conf", e->workdir);
	fmt(dst, sizeof(dst), "%s/%s.conf", e->workdir, name);
	in = fopen(src, "r");
	out = fopen(dst, "w");
	if (in == NULL || out == NULL)
		fail_msg("cannot write %s", dst);
	while (fgets(line, sizeof(line), in) != NULL) {
		char *p = strstr(line, "dbname=maillage ");

		if (strncmp(line, "conninfo =", 10) == 0 && p != NULL) {
			fprintf(out, "%.*sdbname=%s %s", (int)(p - line), line,
				db, p + strlen("dbname=maillage "));
			continue;
		}
		fputs(line, out);
	}
	fclose(in);
	fclose(out);
}

static void test_bootstrap_empty_database(void **state)
{
	const struct itest_env *e = itest_env();
	struct itest_output out;
	char db[40], conf[ITEST_PATH_MAX], sql[1024], val[1024], login[40],
		crt[ITEST_PATH_MAX], fp[65], rogue[ITEST_PATH_MAX];

	(void)state;
	tagged(db, sizeof(db), "boot");
	fmt(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", db);
	assert_int_equal(psql_db("postgres", sql, NULL, 0), 0);
	fmt(sql, sizeof(sql), "CREATE DATABASE %s", db);
	assert_int_equal(psql_db("postgres", sql, NULL, 0), 0);
	write_daemon_conf(db, db);
	fmt(conf, sizeof(conf), "%s/%s.conf", e->workdir, db);
	tagged(login, sizeof(login), "boss");
	pki_client("pki", login, "reseau", 0);
	cert_path(crt, "pki", login);

	/* not migrated yet */
	bootstrap(&out, conf, "bootstrap-admin", login, "--institution",
		  "reseau", "--cert", crt, "--name", "R\xc3\xa9seau", "--kind",
		  "association", "--departement", "75", NULL);
	expect_status(&out, 1, "bootstrap before migrate");
	assert_non_null(strstr(out.err, "migrate"));
	itest_output_free(&out);
	{
		const char *argv[] = {e->daemon_bin, "-c", conf, "migrate",
				      NULL};
		itest_run(argv, 120, &out);
		expect_ok(&out, "migrate");
	}
	/* usage, unknown institution, foreign certificate */
	bootstrap(&out, conf, "bootstrap-admin", login, "--cert", crt, NULL);
	expect_status(&out, 2, "no --institution");
	itest_output_free(&out);
	bootstrap(&out, conf, "bootstrap-admin", login, "--institution",
		  "reseau", "--cert", crt, NULL);
	expect_status(&out, 1, "institution to create, no --name");
	assert_non_null(strstr(out.err, "--name"));
	itest_output_free(&out);
	fmt(rogue, sizeof(rogue), "%s/otherca/clients/rogue.crt", e->workdir);
	bootstrap(&out, conf, "bootstrap-admin", login, "--institution",
		  "reseau", "--cert", rogue, "--name", "R\xc3\xa9seau",
		  "--kind", "association", "--departement", "75", NULL);
	expect_status(&out, 1, "foreign certificate");
	assert_non_null(strstr(out.err, "not signed by the network CA"));
	itest_output_free(&out);

	/* the first admin, and its institution */
	bootstrap(&out, conf, "bootstrap-admin", login, "--institution",
		  "reseau", "--cert", crt, "--name", "R\xc3\xa9seau", "--kind",
		  "association", "--departement", "75", "--display-name",
		  "Administration", NULL);
	expect_status(&out, 0, "bootstrap-admin");
	assert_non_null(strstr(out.out, "institution reseau created"));
	itest_output_free(&out);
	assert_int_equal(itest_cert_fingerprint(crt, fp), 0);
	assert_int_equal(
		psql_db(db,
			"SELECT a.login || '|' || a.role || '|' || i.code || "
			"'|' || i.kind || '|' || a.enabled || '|' || "
			"a.cert_fingerprint || '|' || "
			"(a.cert_not_after IS NOT NULL) FROM account a JOIN "
			"institution i ON i.id = a.institution_id",
			val, sizeof(val)),
		0);
	fmt(sql, sizeof(sql), "%s|admin|reseau|association|true|%s|true", login,
	    fp);
	assert_string_equal(val, sql);
	assert_int_equal(
		psql_db(db,
			"SELECT string_agg(action || ':' || outcome || ':' || "
			"coalesce(target_account_id::text, '-') || ':' || "
			"coalesce(target_institution_id::text, '-'), ',' ORDER "
			"BY id) FROM audit_event",
			val, sizeof(val)),
		0);
	assert_string_equal(val, "admin.institution.add:ok:-:1,"
				 "admin.bootstrap:ok:1:1");

	/* twice: the login exists */
	bootstrap(&out, conf, "bootstrap-admin", login, "--institution",
		  "reseau", "--cert", crt, NULL);
	expect_status(&out, 1, "bootstrap twice");
	assert_non_null(strstr(out.err, "exists"));
	itest_output_free(&out);

	fmt(sql, sizeof(sql), "DROP DATABASE %s", db);
	assert_int_equal(psql_db("postgres", sql, NULL, 0), 0);
}

/* On the live database: the new admin connects and administers. */
static void test_bootstrap_live(void **state)
{
	const struct itest_env *e = itest_env();
	struct itest_output out;
	char conf[ITEST_PATH_MAX], login[40], crt[ITEST_PATH_MAX];

	(void)state;
	fmt(conf, sizeof(conf), "%s/maillaged.conf", e->workdir);
	tagged(login, sizeof(login), "boot");
	pki_client("pki", login, "hlr", 0);
	write_client_conf(login);
	itest_cli(&out, login, "whoami", NULL);
	expect_status(&out, 1, "before bootstrap");
	itest_output_free(&out);
	bootstrap(&out, conf, "bootstrap-admin", login, "--institution", "hlr",
		  "--cert", cert_path(crt, "pki", login), NULL);
	expect_status(&out, 0, "bootstrap-admin");
	itest_output_free(&out);
	itest_cli(&out, login, "admin", "institution", "list", NULL);
	expect_status(&out, 0, "the new admin lists");
	assert_non_null(strstr(out.out, "hlr"));
	itest_output_free(&out);
	/* an admin like any other */
	itest_cli(&out, login, "admin", "account", "disable", login, NULL);
	expect_refused(&out, "CONFLICT", "login", "own account");
	itest_cli(&out, "admin", "admin", "account", "disable", login, NULL);
	expect_ok(&out, "disable the bootstrapped admin");
	itest_cli(&out, login, "whoami", NULL);
	expect_status(&out, 1, "disabled");
	itest_output_free(&out);
}

/* ---- main ---------------------------------------------------------------- */

static int group_setup(void **state)
{
	(void)state;
	fmt(tag, sizeof(tag), "x%05ld",
	    ((long)getpid() ^ (long)time(NULL)) % 100000);
	(void)itest_env();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (daemon2_running)
		itest_fixture("daemon2-stop");
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_institution_commands),
		cmocka_unit_test(test_account_commands),
		cmocka_unit_test(test_forbidden_to_others),
		cmocka_unit_test(test_admin_reads_no_case),
		cmocka_unit_test(test_disable_cuts_account),
		cmocka_unit_test(test_rotate_certificate),
		cmocka_unit_test(test_disable_institution_cuts_all),
		cmocka_unit_test(test_database_change_cuts),
		cmocka_unit_test(test_sweep_catches_silent_change),
		cmocka_unit_test(test_cut_on_other_instance),
		cmocka_unit_test(test_bootstrap_empty_database),
		cmocka_unit_test(test_bootstrap_live),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	if (argc > 2)
		cmocka_set_skip_filter(argv[2]);
	return cmocka_run_group_tests_name("admin", tests, group_setup,
					   group_teardown);
}
