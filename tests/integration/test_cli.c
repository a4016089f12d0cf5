/*
 * test_cli: integration tests of the `maillage` command against the running
 * fixture. They own the checks of what a user sees: `whoami` (JSON parsed
 * with jansson, and text) for every demo account, `ping`, and the exit codes
 * of the contract: 0 success, 1 refused by the server (unenrolled or
 * disabled certificate), 2 usage or configuration error (unknown command,
 * missing configuration file), 3 connection or TLS failure (certificate of
 * another CA, expired, revoked).
 *
 * Usage: test_cli [FILTER [SKIP_FILTER]] (cmocka glob patterns).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "itest.h"

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

static const char *json_str(json_t *doc, const char *key)
{
	json_t *v = json_object_get(doc, key);

	if (!json_is_string(v))
		fail_msg("JSON has no string \"%s\"", key);
	return json_string_value(v);
}

static void test_whoami_json(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < itest_demo_count; i++) {
		const struct itest_demo *d = &itest_demo_accounts[i];
		char crt[ITEST_PATH_MAX], key[ITEST_PATH_MAX], fp[65];
		struct itest_output out;
		json_error_t jerr;
		json_t *doc;

		itest_client_files(d->login, crt, key);
		assert_int_equal(itest_cert_fingerprint(crt, fp), 0);
		itest_cli(&out, d->login, "--json", "whoami", NULL);
		expect_status(&out, 0, d->login);
		doc = json_loads(out.out, 0, &jerr);
		if (doc == NULL)
			fail_msg("%s: whoami --json is not JSON (%s): %s",
				 d->login, jerr.text, out.out);
		assert_true(json_is_object(doc));
		assert_string_equal(json_str(doc, "login"), d->login);
		assert_string_equal(json_str(doc, "institution"),
				    d->institution);
		assert_string_equal(json_str(doc, "role"), d->role_name);
		assert_string_equal(json_str(doc, "institution_name"),
				    d->institution_name);
		assert_string_equal(json_str(doc, "institution_kind"),
				    d->institution_kind);
		assert_string_equal(json_str(doc, "certificate_fingerprint"),
				    fp);
		json_decref(doc);
		itest_output_free(&out);
	}
}

static void test_whoami_text(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < itest_demo_count; i++) {
		const struct itest_demo *d = &itest_demo_accounts[i];
		struct itest_output out;

		itest_cli(&out, d->login, "whoami", NULL);
		expect_status(&out, 0, d->login);
		if (strstr(out.out, d->login) == NULL ||
		    strstr(out.out, d->institution) == NULL ||
		    strstr(out.out, d->role_name) == NULL)
			fail_msg("%s: whoami text lacks login, institution "
				 "or role:\n%s",
				 d->login, out.out);
		itest_output_free(&out);
	}
}

static void test_ping(void **state)
{
	struct itest_output out;
	json_error_t jerr;
	json_t *doc;

	(void)state;
	itest_cli(&out, "ase", "ping", NULL);
	expect_status(&out, 0, "ping");
	assert_true(out.out_len > 0);
	itest_output_free(&out);

	itest_cli(&out, "coord", "--json", "ping", NULL);
	expect_status(&out, 0, "--json ping");
	doc = json_loads(out.out, 0, &jerr);
	if (doc == NULL)
		fail_msg("ping --json is not JSON (%s): %s", jerr.text,
			 out.out);
	assert_true(json_is_object(doc));
	json_decref(doc);
	itest_output_free(&out);
}

static void test_help(void **state)
{
	struct itest_output out;

	(void)state;
	itest_cli(&out, NULL, "help", NULL);
	expect_status(&out, 0, "help");
	assert_non_null(strstr(out.out, "whoami"));
	itest_output_free(&out);
}

static void test_unknown_command(void **state)
{
	struct itest_output out;

	(void)state;
	itest_cli(&out, "ase", "frobnicate", NULL);
	expect_status(&out, 2, "unknown command");
	assert_true(out.err_len > 0);
	itest_output_free(&out);
}

static void test_no_command(void **state)
{
	struct itest_output out;

	(void)state;
	itest_cli(&out, "ase", NULL);
	expect_status(&out, 2, "no command");
	itest_output_free(&out);
}

static void test_unknown_option(void **state)
{
	struct itest_output out;

	(void)state;
	itest_cli(&out, "ase", "--no-such-option", "whoami", NULL);
	expect_status(&out, 2, "unknown option");
	itest_output_free(&out);
}

static void test_missing_config(void **state)
{
	const struct itest_env *e = itest_env();
	const char *argv[] = {e->client_bin, "--config",
			      "/nonexistent/maillage/client.conf", "whoami",
			      NULL};
	struct itest_output out;

	(void)state;
	itest_run(argv, 30, &out);
	/* A configuration error is a usage error. */
	expect_status(&out, 2, "missing configuration file");
	assert_true(out.err_len > 0);
	itest_output_free(&out);
}

static void test_unenrolled_refused(void **state)
{
	struct itest_output out;

	(void)state;
	itest_cli(&out, "unenrolled", "whoami", NULL);
	expect_status(&out, 1, "unenrolled certificate");
	itest_output_free(&out);
}

static void test_disabled_refused(void **state)
{
	struct itest_output out;

	(void)state;
	itest_cli(&out, "disabled", "ping", NULL);
	expect_status(&out, 1, "disabled account");
	itest_output_free(&out);
}

static void test_tls_refusals(void **state)
{
	static const char *const logins[] = {"rogue", "expired", "revoked"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(logins) / sizeof(logins[0]); i++) {
		struct itest_output out;

		itest_cli(&out, logins[i], "whoami", NULL);
		expect_status(&out, 3, logins[i]);
		assert_true(out.err_len > 0);
		itest_output_free(&out);
	}
}

static int group_setup(void **state)
{
	(void)state;
	(void)itest_env();
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whoami_json),
		cmocka_unit_test(test_whoami_text),
		cmocka_unit_test(test_ping),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_unknown_command),
		cmocka_unit_test(test_no_command),
		cmocka_unit_test(test_unknown_option),
		cmocka_unit_test(test_missing_config),
		cmocka_unit_test(test_unenrolled_refused),
		cmocka_unit_test(test_disabled_refused),
		cmocka_unit_test(test_tls_refusals),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	if (argc > 2)
		cmocka_set_skip_filter(argv[2]);
	return cmocka_run_group_tests_name("cli", tests, group_setup, NULL);
}
