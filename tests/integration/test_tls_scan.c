/*
 * test_tls_scan: testssl.sh (Debian's testssl) against the running daemon,
 * as an outside auditor would scan it: protocols, every cipher suite,
 * forward secrecy, the known vulnerabilities, and the server certificate
 * (judged against the network CA). The scan presents a client certificate:
 * testssl 3.0 has no option for it, so it is given an openssl wrapper that
 * adds -cert/-key to every s_client it runs.
 *   - tls13: the fixture's daemon (default configuration): TLS 1.3 only;
 *   - tls12: a second daemon on the same cluster with min_version = 1.2:
 *     TLS 1.2 and 1.3, TLS 1.2 only with ECDHE key exchange and AEAD.
 * Both: every offered suite is AEAD and no finding has severity MEDIUM or
 * above, but for one that is known and accepted: testssl marks HIGH a
 * server certificate naming neither a CRL nor an OCSP responder; clients
 * trust only the network's own CA, and a compromised server key is
 * answered by re-issuing the network's certificates (see SECURITY.md).
 * Refusal of a client without certificate, or with a revoked one, is
 * test_transport's.
 *
 * The scan is bounded: a restricted set of checks (-p -e -f -U, and -S for
 * the default daemon), connect and openssl timeouts, and a deadline after
 * which testssl is killed. Skipped when testssl is not installed.
 *
 * Usage: test_tls_scan [FILTER [SKIP_FILTER]] (cmocka glob patterns).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "itest.h"

/* Longest a whole testssl run may take before it is killed. */
#define SCAN_TIMEOUT_S 420

/* The scan's files, under WORKDIR/tlsscan. */
struct scan_files {
	char dir[ITEST_PATH_MAX + 16];
	char openssl[ITEST_PATH_MAX + 48];
	char json[ITEST_PATH_MAX + 48];
	char log[ITEST_PATH_MAX + 48];
};

static const char *scan_testssl(void)
{
	static const char *const paths[] = {"/usr/bin/testssl",
					    "/usr/bin/testssl.sh",
					    "/usr/local/bin/testssl.sh"};
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

static void scan_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* WORKDIR/tlsscan with the openssl wrapper presenting coord's cert. */
static void scan_prepare(struct scan_files *f, const char *name)
{
	const struct itest_env *e = itest_env();
	char crt[ITEST_PATH_MAX], key[ITEST_PATH_MAX];
	FILE *w;

	snprintf(f->dir, sizeof(f->dir), "%s/tlsscan", e->workdir);
	if (mkdir(f->dir, 0700) != 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", f->dir, strerror(errno));
	snprintf(f->openssl, sizeof(f->openssl), "%s/openssl", f->dir);
	snprintf(f->json, sizeof(f->json), "%s/%s.json", f->dir, name);
	snprintf(f->log, sizeof(f->log), "%s/%s.log", f->dir, name);
	itest_client_files("coord", crt, key);
	w = fopen(f->openssl, "w");
	if (w == NULL)
		fail_msg("cannot write %s", f->openssl);
	fprintf(w,
		"#!/bin/sh\n"
		"# openssl for testssl: s_client presents a client "
		"certificate\n"
		"if [ \"$1\" = s_client ]; then\n"
		"\tshift\n"
		"\texec /usr/bin/openssl s_client -cert '%s' -key '%s' "
		"\"$@\"\n"
		"fi\n"
		"exec /usr/bin/openssl \"$@\"\n",
		crt, key);
	fclose(w);
	if (chmod(f->openssl, 0700) != 0)
		fail_msg("chmod %s: %s", f->openssl, strerror(errno));
	unlink(f->json); /* testssl refuses to overwrite it */
}

/* Run testssl against 127.0.0.1:port; the JSON findings, parsed. */
static json_t *scan_run(const struct scan_files *f, int port, int with_cert)
{
	const struct itest_env *e = itest_env();
	const char *testssl = scan_testssl();
	char target[64], ca[ITEST_PATH_MAX + 16];
	const char *argv[32];
	struct itest_output out;
	json_error_t jerr;
	json_t *doc;
	FILE *lf;
	int n = 0, rc;

	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	snprintf(ca, sizeof(ca), "%s/ca.crt", e->pki);
	argv[n++] = testssl;
	argv[n++] = "--quiet";
	argv[n++] = "--color";
	argv[n++] = "0";
	argv[n++] = "--warnings";
	argv[n++] = "off";
	argv[n++] = "--connect-timeout";
	argv[n++] = "10";
	argv[n++] = "--openssl-timeout";
	argv[n++] = "10";
	argv[n++] = "--openssl";
	argv[n++] = f->openssl;
	argv[n++] = "--add-ca";
	argv[n++] = ca;
	argv[n++] = "-p"; /* protocols */
	argv[n++] = "-e"; /* every cipher suite */
	argv[n++] = "-f"; /* forward secrecy */
	argv[n++] = "-U"; /* vulnerabilities */
	if (with_cert)
		argv[n++] = "-S"; /* server defaults and certificate */
	argv[n++] = "--jsonfile";
	argv[n++] = f->json;
	argv[n++] = target;
	argv[n] = NULL;
	/* No GOST engine: testssl would otherwise report its own openssl's
	 * lack of one (engine_problem, WARN) on a machine without
	 * libengine-gost-openssl; the daemon offers no GOST suite anyway. */
	if (setenv("NO_ENGINE", "true", 1) != 0)
		fail_msg("setenv NO_ENGINE: %s", strerror(errno));
	rc = itest_run(argv, SCAN_TIMEOUT_S, &out);
	lf = fopen(f->log, "w");
	if (lf != NULL) {
		fputs(out.out, lf);
		fputs(out.err, lf);
		fclose(lf);
	}
	if (out.timed_out)
		fail_msg("testssl overran %d s (output in %s)", SCAN_TIMEOUT_S,
			 f->log);
	print_message("testssl against %s exited %d (output in %s)\n", target,
		      rc, f->log);
	itest_output_free(&out);
	doc = json_load_file(f->json, 0, &jerr);
	if (doc == NULL || !json_is_array(doc))
		fail_msg("no JSON findings in %s: %s", f->json, jerr.text);
	return doc;
}

static const char *scan_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

/* The finding of check `id`, or NULL. */
static const char *scan_finding(json_t *doc, const char *id)
{
	size_t i;
	json_t *o;

	json_array_foreach(doc, i, o)
	{
		if (strcmp(scan_str(o, "id"), id) == 0)
			return scan_str(o, "finding");
	}
	return NULL;
}

static void scan_expect_protocol(json_t *doc, const char *id, int offered)
{
	const char *f = scan_finding(doc, id);

	if (f == NULL)
		fail_msg("testssl reported nothing on %s", id);
	if (offered ? strncmp(f, "offered", 7) != 0
		    : strncmp(f, "not offered", 11) != 0)
		fail_msg("%s: \"%s\", expected %s", id, f,
			 offered ? "offered" : "not offered");
}

/*
 * Every suite found by -e ("cipher_xHHHH": hexcode, OpenSSL name, key
 * exchange, encryption, bits, IANA name) is AEAD; a TLS 1.2 one (OpenSSL
 * names of TLS 1.3 suites start with TLS_) has ECDHE key exchange.
 * Returns the number of suites.
 */
static int scan_check_ciphers(json_t *doc, int *tls12)
{
	size_t i;
	json_t *o;
	int n = 0;

	*tls12 = 0;
	json_array_foreach(doc, i, o)
	{
		char hex[16], name[128], kx[32], kbits[16], enc[32];

		if (strncmp(scan_str(o, "id"), "cipher_x", 8) != 0)
			continue;
		if (sscanf(scan_str(o, "finding"), "%15s %127s %31s %15s %31s",
			   hex, name, kx, kbits, enc) != 5)
			fail_msg("unexpected cipher finding: %s",
				 scan_str(o, "finding"));
		n++;
		if (strcmp(enc, "AESGCM") != 0 &&
		    strcmp(enc, "ChaCha20") != 0 && strcmp(enc, "AESCCM") != 0)
			fail_msg("suite %s (%s) is not AEAD", name, enc);
		if (strncmp(name, "TLS_", 4) != 0) {
			(*tls12)++;
			if (strncmp(name, "ECDHE-", 6) != 0 ||
			    strncmp(kx, "ECDH", 4) != 0)
				fail_msg("TLS 1.2 suite %s without ECDHE",
					 name);
		}
	}
	return n;
}

/* No finding at MEDIUM or above (nor a scan problem), but the accepted. */
static void scan_check_severity(json_t *doc)
{
	static const char *const bad[] = {"MEDIUM", "HIGH", "CRITICAL", "WARN",
					  "FATAL"};
	size_t i, k;
	json_t *o;
	int failed = 0;

	json_array_foreach(doc, i, o)
	{
		const char *id = scan_str(o, "id"),
			   *sev = scan_str(o, "severity");

		for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			if (strcmp(sev, bad[k]) != 0)
				continue;
			if (strcmp(id, "cert_revocation") == 0) {
				print_message("accepted: %s %s: %s\n", id, sev,
					      scan_str(o, "finding"));
				continue;
			}
			print_message("finding %s %s: %s\n", id, sev,
				      scan_str(o, "finding"));
			failed++;
		}
	}
	if (failed)
		fail_msg("%d finding(s) of severity MEDIUM or above", failed);
}

/* ---- a second daemon with min_version = 1.2 ---- */

static int scan_free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		fail_msg("cannot find a free port: %s", strerror(errno));
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int scan_port_open(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	if (fd < 0)
		return 0;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/*
 * WORKDIR/maillaged-tls12.conf: the fixture's configuration on another
 * port, another instance id, and min_version = 1.2.
 */
static void scan_write_conf(const char *path, int port)
{
	const struct itest_env *e = itest_env();
	char src[ITEST_PATH_MAX + 32], line[1024];
	FILE *in, *out;

	snprintf(src, sizeof(src), "%s/maillaged.conf", e->workdir);
	in = fopen(src, "r");
	out = fopen(path, "w");
	if (in == NULL || out == NULL)
		fail_msg("cannot copy %s to %s", src, path);
	while (fgets(line, sizeof(line), in) != NULL) {
		if (strncmp(line, "listen =", 8) == 0)
			fprintf(out, "listen = 127.0.0.1:%d\n", port);
		else if (strncmp(line, "instance_id =", 13) == 0)
			fprintf(out, "instance_id = itest-tls12\n");
		else if (strncmp(line, "min_version", 11) != 0)
			fputs(line, out);
		if (strncmp(line, "[tls]", 5) == 0)
			fprintf(out, "min_version = 1.2\n");
	}
	fclose(in);
	fclose(out);
}

/*
 * Start it; its stderr goes to WORKDIR/maillaged2.log, which the fixture's
 * teardown searches for sanitizer reports like the main daemon's log.
 */
static pid_t scan_daemon_start(int port)
{
	const struct itest_env *e = itest_env();
	char conf[ITEST_PATH_MAX + 32], log[ITEST_PATH_MAX + 32];
	int64_t deadline;
	pid_t pid;

	snprintf(conf, sizeof(conf), "%s/maillaged-tls12.conf", e->workdir);
	snprintf(log, sizeof(log), "%s/maillaged2.log", e->workdir);
	scan_write_conf(conf, port);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		int nfd = open("/dev/null", O_RDWR);

		if (lfd < 0 || nfd < 0)
			_exit(127);
		dup2(nfd, 0);
		dup2(nfd, 1);
		dup2(lfd, 2);
		execl(e->daemon_bin, e->daemon_bin, "-c", conf, (char *)NULL);
		_exit(127);
	}
	deadline = itest_now_ms() + 30000;
	while (!scan_port_open(port)) {
		int st;

		if (waitpid(pid, &st, WNOHANG) == pid)
			fail_msg("the TLS 1.2 daemon exited at start (see %s)",
				 log);
		if (itest_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			fail_msg("the TLS 1.2 daemon does not listen (see %s)",
				 log);
		}
		scan_sleep_ms(100);
	}
	return pid;
}

static pid_t scan_daemon_pid = -1;

static void scan_daemon_stop(void)
{
	int64_t deadline = itest_now_ms() + 60000;
	int st;

	if (scan_daemon_pid <= 0)
		return;
	kill(scan_daemon_pid, SIGTERM);
	while (waitpid(scan_daemon_pid, &st, WNOHANG) != scan_daemon_pid) {
		if (itest_now_ms() > deadline) {
			kill(scan_daemon_pid, SIGKILL);
			waitpid(scan_daemon_pid, &st, 0);
			break;
		}
		scan_sleep_ms(100);
	}
	scan_daemon_pid = -1;
}

static int scan_teardown(void **state)
{
	(void)state;
	scan_daemon_stop();
	return 0;
}

/* ==== tests ============================================================== */

static void test_tls13(void **state)
{
	struct scan_files f;
	json_t *doc;
	int n, tls12;

	(void)state;
	if (scan_testssl() == NULL) {
		print_message("testssl is not installed (deploy/install-deps "
			      "installs it): skipped\n");
		skip();
	}
	scan_prepare(&f, "tls13");
	doc = scan_run(&f, itest_env()->port, 1);
	scan_expect_protocol(doc, "SSLv2", 0);
	scan_expect_protocol(doc, "SSLv3", 0);
	scan_expect_protocol(doc, "TLS1", 0);
	scan_expect_protocol(doc, "TLS1_1", 0);
	scan_expect_protocol(doc, "TLS1_2", 0);
	scan_expect_protocol(doc, "TLS1_3", 1);
	n = scan_check_ciphers(doc, &tls12);
	print_message("%d cipher suites offered, all TLS 1.3 AEAD\n", n);
	assert_true(n > 0);
	assert_int_equal(tls12, 0);
	/* the certificate, judged against the network CA */
	assert_non_null(scan_finding(doc, "cert_chain_of_trust"));
	scan_check_severity(doc);
	json_decref(doc);
}

static void test_tls12(void **state)
{
	struct scan_files f;
	json_t *doc;
	int n, tls12, port;

	(void)state;
	if (scan_testssl() == NULL) {
		print_message("testssl is not installed: skipped\n");
		skip();
	}
	port = scan_free_port();
	scan_daemon_pid = scan_daemon_start(port);
	scan_prepare(&f, "tls12");
	doc = scan_run(&f, port, 0);
	scan_daemon_stop();
	scan_expect_protocol(doc, "SSLv2", 0);
	scan_expect_protocol(doc, "SSLv3", 0);
	scan_expect_protocol(doc, "TLS1", 0);
	scan_expect_protocol(doc, "TLS1_1", 0);
	scan_expect_protocol(doc, "TLS1_2", 1);
	scan_expect_protocol(doc, "TLS1_3", 1);
	n = scan_check_ciphers(doc, &tls12);
	print_message("%d cipher suites offered, %d of them TLS 1.2 (ECDHE, "
		      "AEAD)\n",
		      n, tls12);
	assert_true(tls12 > 0);
	scan_check_severity(doc);
	json_decref(doc);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls13),
		cmocka_unit_test_teardown(test_tls12, scan_teardown),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	if (argc > 2)
		cmocka_set_skip_filter(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
