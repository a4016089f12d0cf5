/*
 * test_config: unit tests of the daemon configuration (server/config.c).
 * They own the checks of the defaults, of a complete valid file, of every
 * bound and every refusal (each error must name the offending key or
 * section), of the listen address forms, of the resolution of relative paths
 * against the file's directory, and of the cross-option validation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#define MIB (1024u * 1024u)

static const char full_config[] =
	"; maillaged configuration used by the tests\n"
	"[server]\n"
	"listen = 192.0.2.10:8443        ; host:port\n"
	"instance_id = demo-1\n"
	"max_frame = 2097152\n"
	"max_connections = 500\n"
	"handshake_timeout = 3\n"
	"idle_timeout = 120\n"
	"output_limit = 1048576\n"
	"drain_timeout = 5\n"
	"log_level = debug\n"
	"pidfile = /run/maillaged.pid\n"
	"\n"
	"[tls]\n"
	"certificate = pki/server.crt\n"
	"private_key = /etc/maillage/pki/server.key\n"
	"ca = pki/ca.crt\n"
	"crl = pki/crl.pem\n"
	"min_version = 1.2\n"
	"\n"
	"[database]\n"
	"conninfo = host=/tmp/pg port=5432 dbname=maillage user=maillage\n"
	"pool_size = 8\n"
	"connect_timeout = 7\n"
	"query_timeout = 20\n"
	"migrations_dir = /usr/share/maillage/sql\n"
	"[storage]\n"
	"data_keyring = /etc/maillage/data.keys\n"
	"[retention]\n"
	"closed_days = 3650\n"
	"not_a_victim_days = 180\n"
	"purge_batch = 10\n";

/* Load `text` with base "/etc/maillage"; on failure `err` holds why. */
static int load(const char *text, struct config *cfg, char *err, size_t errlen)
{
	err[0] = '\0';
	return config_load_string(text, "/etc/maillage", cfg, err, errlen);
}

static void expect_ok(const char *text, struct config *cfg)
{
	char err[CONFIG_ERR_MAX];

	if (load(text, cfg, err, sizeof(err)) != 0)
		fail_msg("refused \"%s\": %s", text, err);
}

/* `text` must be refused with an error that contains `word`. */
static void expect_refused(const char *text, const char *word)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX];

	if (load(text, &cfg, err, sizeof(err)) == 0)
		fail_msg("accepted \"%s\"", text);
	if (strstr(err, word) == NULL)
		fail_msg("error for \"%s\" does not name %s: \"%s\"", text,
			 word, err);
}

static void test_defaults(void **state)
{
	struct config cfg;

	(void)state;
	memset(&cfg, 0x5a, sizeof(cfg));
	config_defaults(&cfg);
	assert_string_equal(cfg.listen_host, "127.0.0.1");
	assert_int_equal(cfg.listen_port, 7443);
	assert_int_equal(cfg.max_frame, 1048576);
	assert_int_equal(cfg.max_connections, 10000);
	assert_int_equal(cfg.handshake_timeout, 10);
	assert_int_equal(cfg.idle_timeout, 600);
	assert_int_equal(cfg.output_limit, 4194304);
	assert_int_equal(cfg.drain_timeout, 10);
	assert_int_equal(cfg.log_level, CONFIG_LOG_INFO);
	assert_string_equal(cfg.pidfile, "");
	assert_string_equal(cfg.tls_certificate, "");
	assert_string_equal(cfg.tls_private_key, "");
	assert_string_equal(cfg.tls_ca, "");
	assert_string_equal(cfg.tls_crl, "");
	assert_int_equal(cfg.tls_min_version, 13);
	assert_string_equal(cfg.db_conninfo, "");
	assert_int_equal(cfg.db_pool_size, 4);
	assert_int_equal(cfg.db_connect_timeout, 5);
	assert_int_equal(cfg.db_query_timeout, 10);
}

static void test_empty_string_gives_defaults(void **state)
{
	struct config cfg, def;

	(void)state;
	config_defaults(&def);
	expect_ok("", &cfg);
	assert_string_equal(cfg.listen_host, def.listen_host);
	assert_int_equal(cfg.listen_port, def.listen_port);
	assert_int_equal(cfg.max_frame, def.max_frame);
	assert_int_equal(cfg.tls_min_version, def.tls_min_version);
	assert_string_equal(cfg.migrations_dir, def.migrations_dir);
}

static void test_full_file(void **state)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX];

	(void)state;
	expect_ok(full_config, &cfg);
	assert_string_equal(cfg.listen_host, "192.0.2.10");
	assert_int_equal(cfg.listen_port, 8443);
	assert_string_equal(cfg.instance_id, "demo-1");
	assert_int_equal(cfg.max_frame, 2 * MIB);
	assert_int_equal(cfg.max_connections, 500);
	assert_int_equal(cfg.handshake_timeout, 3);
	assert_int_equal(cfg.idle_timeout, 120);
	assert_int_equal(cfg.output_limit, MIB);
	assert_int_equal(cfg.drain_timeout, 5);
	assert_int_equal(cfg.log_level, CONFIG_LOG_DEBUG);
	assert_string_equal(cfg.pidfile, "/run/maillaged.pid");
	assert_string_equal(cfg.tls_certificate,
			    "/etc/maillage/pki/server.crt");
	assert_string_equal(cfg.tls_private_key,
			    "/etc/maillage/pki/server.key");
	assert_string_equal(cfg.tls_ca, "/etc/maillage/pki/ca.crt");
	assert_string_equal(cfg.tls_crl, "/etc/maillage/pki/crl.pem");
	assert_int_equal(cfg.tls_min_version, 12);
	assert_string_equal(cfg.db_conninfo,
			    "host=/tmp/pg port=5432 dbname=maillage "
			    "user=maillage");
	assert_int_equal(cfg.db_pool_size, 8);
	assert_int_equal(cfg.db_connect_timeout, 7);
	assert_int_equal(cfg.db_query_timeout, 20);
	assert_string_equal(cfg.migrations_dir, "/usr/share/maillage/sql");
	assert_string_equal(cfg.data_keyring, "/etc/maillage/data.keys");
	assert_int_equal(cfg.retention_closed_days, 3650);
	assert_int_equal(cfg.retention_not_victim_days, 180);
	assert_int_equal(cfg.purge_batch, 10);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), 0);
}

static void test_file_on_disk(void **state)
{
	char dir[] = "/tmp/maillage-test-config-XXXXXX";
	char path[CONFIG_PATH_MAX + 32], expect[CONFIG_PATH_MAX + 32];
	char err[CONFIG_ERR_MAX];
	struct config cfg;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/maillaged.conf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(full_config, f);
	fclose(f);

	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), 0);
	/* Relative paths resolve against the file's directory. */
	snprintf(expect, sizeof(expect), "%s/pki/server.crt", dir);
	assert_string_equal(cfg.tls_certificate, expect);
	snprintf(expect, sizeof(expect), "%s/pki/ca.crt", dir);
	assert_string_equal(cfg.tls_ca, expect);
	assert_string_equal(cfg.tls_private_key,
			    "/etc/maillage/pki/server.key");

	/* An error names the file, the line and the key. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[server]\nlisten = 127.0.0.1:7443\nmax_frame = 0\n", f);
	fclose(f);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "max_frame"));
	assert_non_null(strstr(err, ":3:"));

	unlink(path);
	rmdir(dir);

	/* A missing file is an error naming it. */
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
}

static void test_max_frame_bounds(void **state)
{
	struct config cfg;

	(void)state;
	expect_refused("[server]\nmax_frame = 0\n", "max_frame");
	expect_refused("[server]\nmax_frame = 67108865\n", "max_frame");
	expect_refused("[server]\nmax_frame = 4294967296\n", "max_frame");
	expect_refused("[server]\nmax_frame = 99999999999999999999999\n",
		       "max_frame");
	expect_refused("[server]\nmax_frame = -1\n", "max_frame");
	expect_refused("[server]\nmax_frame = 1M\n", "max_frame");
	expect_refused("[server]\nmax_frame = \n", "max_frame");
	expect_refused("[server]\nmax_frame = 0x100000\n", "max_frame");
	expect_ok("[server]\nmax_frame = 67108864\n", &cfg);
	assert_int_equal(cfg.max_frame, 64 * MIB);
	expect_ok("[server]\nmax_frame = 1048576\n", &cfg);
	assert_int_equal(cfg.max_frame, MIB);
}

static void test_other_integer_bounds(void **state)
{
	(void)state;
	expect_refused("[server]\nmax_connections = 0\n", "max_connections");
	expect_refused("[server]\nhandshake_timeout = 0\n",
		       "handshake_timeout");
	expect_refused("[server]\nidle_timeout = 0\n", "idle_timeout");
	expect_refused("[server]\nidle_timeout = ten\n", "idle_timeout");
	expect_refused("[database]\npool_size = 0\n", "pool_size");
	expect_refused("[database]\nquery_timeout = 0\n", "query_timeout");
	expect_refused("[database]\nconnect_timeout = 0\n", "connect_timeout");
}

static void test_listen_forms(void **state)
{
	struct config cfg;

	(void)state;
	expect_ok("[server]\nlisten = 127.0.0.1:7443\n", &cfg);
	assert_string_equal(cfg.listen_host, "127.0.0.1");
	assert_int_equal(cfg.listen_port, 7443);

	expect_ok("[server]\nlisten = [::1]:7443\n", &cfg);
	assert_string_equal(cfg.listen_host, "::1");
	assert_int_equal(cfg.listen_port, 7443);

	expect_ok("[server]\nlisten = localhost:7443\n", &cfg);
	assert_string_equal(cfg.listen_host, "localhost");
	assert_int_equal(cfg.listen_port, 7443);

	expect_ok("[server]\nlisten = 0.0.0.0:1\n", &cfg);
	assert_string_equal(cfg.listen_host, "0.0.0.0");
	assert_int_equal(cfg.listen_port, 1);

	expect_ok("[server]\nlisten = [::]:65535\n", &cfg);
	assert_string_equal(cfg.listen_host, "::");
	assert_int_equal(cfg.listen_port, 65535);
}

static void test_listen_refused(void **state)
{
	(void)state;
	expect_refused("[server]\nlisten = 127.0.0.1:0\n", "listen");
	expect_refused("[server]\nlisten = 127.0.0.1:70000\n", "listen");
	expect_refused("[server]\nlisten = 127.0.0.1:65536\n", "listen");
	expect_refused("[server]\nlisten = 127.0.0.1\n", "listen");
	expect_refused("[server]\nlisten = 127.0.0.1:\n", "listen");
	expect_refused("[server]\nlisten = localhost\n", "listen");
	expect_refused("[server]\nlisten = [::1]\n", "listen");
	expect_refused("[server]\nlisten = [::1\n", "listen");
	expect_refused("[server]\nlisten = :7443\n", "listen");
	expect_refused("[server]\nlisten = []:7443\n", "listen");
	expect_refused("[server]\nlisten = host:port\n", "listen");
	expect_refused("[server]\nlisten = \n", "listen");
}

static void test_unknown_key_and_section(void **state)
{
	(void)state;
	expect_refused("[server]\nlisten = 127.0.0.1:7443\nbogus_key = 1\n",
		       "bogus_key");
	expect_refused("[tls]\nmax_frame = 1048576\n", "max_frame");
	expect_refused("[bogus_section]\nlisten = 127.0.0.1:7443\n",
		       "bogus_section");
	/* A key before any section belongs to no known section. */
	expect_refused("listen = 127.0.0.1:7443\n", "");
}

static void test_error_names_line(void **state)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(load("[server]\n\n; comment\nlog_level = loud\n", &cfg,
			      err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "log_level"));
	assert_non_null(strstr(err, ":4:"));
}

static void test_log_level(void **state)
{
	static const struct {
		const char *name;
		enum config_log_level level;
	} levels[] = {
		{"debug", CONFIG_LOG_DEBUG},   {"info", CONFIG_LOG_INFO},
		{"notice", CONFIG_LOG_NOTICE}, {"warning", CONFIG_LOG_WARNING},
		{"error", CONFIG_LOG_ERROR},
	};
	char text[128];
	struct config cfg;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		snprintf(text, sizeof(text), "[server]\nlog_level = %s\n",
			 levels[i].name);
		expect_ok(text, &cfg);
		assert_int_equal(cfg.log_level, levels[i].level);
		assert_string_equal(config_log_level_name(levels[i].level),
				    levels[i].name);
	}
	expect_refused("[server]\nlog_level = loud\n", "log_level");
	expect_refused("[server]\nlog_level = \n", "log_level");
	expect_refused("[server]\nlog_level = warn\n", "log_level");
}

static void test_min_version(void **state)
{
	struct config cfg;

	(void)state;
	expect_ok("[tls]\nmin_version = 1.3\n", &cfg);
	assert_int_equal(cfg.tls_min_version, 13);
	expect_ok("[tls]\nmin_version = 1.2\n", &cfg);
	assert_int_equal(cfg.tls_min_version, 12);
	expect_refused("[tls]\nmin_version = 1.1\n", "min_version");
	expect_refused("[tls]\nmin_version = 1.0\n", "min_version");
	expect_refused("[tls]\nmin_version = 1.4\n", "min_version");
	expect_refused("[tls]\nmin_version = 13\n", "min_version");
}

static void test_relative_paths(void **state)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX];

	(void)state;
	assert_int_equal(config_load_string("[tls]\ncertificate = a/b.crt\n"
					    "private_key = /abs/k.key\n"
					    "ca = ca.crt\n"
					    "[database]\n"
					    "migrations_dir = ../sql\n",
					    "/srv/maillage", &cfg, err,
					    sizeof(err)),
			 0);
	assert_string_equal(cfg.tls_certificate, "/srv/maillage/a/b.crt");
	assert_string_equal(cfg.tls_private_key, "/abs/k.key");
	assert_string_equal(cfg.tls_ca, "/srv/maillage/ca.crt");
	assert_string_equal(cfg.migrations_dir, "/srv/maillage/../sql");
}

static void test_validate_required(void **state)
{
	static const struct {
		const char *text;
		const char *missing;
	} steps[] = {
		{"", "certificate"},
		{"[tls]\ncertificate = s.crt\n", "private_key"},
		{"[tls]\ncertificate = s.crt\nprivate_key = s.key\n", "ca"},
		{"[tls]\ncertificate = s.crt\nprivate_key = s.key\n"
		 "ca = ca.crt\n",
		 "conninfo"},
		{"[tls]\ncertificate = s.crt\nprivate_key = s.key\n"
		 "ca = ca.crt\n[database]\nconninfo = dbname=maillage\n",
		 "data_keyring"},
	};
	struct config cfg;
	char err[CONFIG_ERR_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		expect_ok(steps[i].text, &cfg);
		err[0] = '\0';
		assert_int_equal(config_validate(&cfg, err, sizeof(err)), -1);
		if (strstr(err, steps[i].missing) == NULL)
			fail_msg("validate error does not name %s: \"%s\"",
				 steps[i].missing, err);
	}
	expect_ok("[tls]\ncertificate = s.crt\nprivate_key = s.key\n"
		  "ca = ca.crt\n[database]\nconninfo = dbname=maillage\n"
		  "[storage]\ndata_keyring = keys\n",
		  &cfg);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), 0);
	/* The CRL is optional. */
	assert_string_equal(cfg.tls_crl, "");
}

static void test_small_error_buffer(void **state)
{
	struct config cfg;
	char err[8];

	(void)state;
	memset(err, 'x', sizeof(err));
	assert_int_equal(config_load_string("[server]\nmax_frame = 0\n", "/",
					    &cfg, err, sizeof(err)),
			 -1);
	/* Truncated, never overrun. */
	assert_true(memchr(err, '\0', sizeof(err)) != NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_string_gives_defaults),
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_file_on_disk),
		cmocka_unit_test(test_max_frame_bounds),
		cmocka_unit_test(test_other_integer_bounds),
		cmocka_unit_test(test_listen_forms),
		cmocka_unit_test(test_listen_refused),
		cmocka_unit_test(test_unknown_key_and_section),
		cmocka_unit_test(test_error_names_line),
		cmocka_unit_test(test_log_level),
		cmocka_unit_test(test_min_version),
		cmocka_unit_test(test_relative_paths),
		cmocka_unit_test(test_validate_required),
		cmocka_unit_test(test_small_error_buffer),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
