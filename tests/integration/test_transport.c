/*
 * test_transport: integration tests of the daemon's transport against the
 * running fixture (real TLS, real PostgreSQL). They own the "bad input" list:
 * certificates that must be refused at the TLS layer (none, another CA,
 * expired, revoked), certificates that must be refused by the account
 * look-up (unenrolled, disabled) with an audit row, framing violations (2 GiB
 * header, zero length, garbage, random bytes), silent clients cut at the
 * handshake timeout, requests before Hello; and the happy path: Welcome for
 * every demo account, ping, whoami, one audit row per request, and the
 * survival of a PostgreSQL outage without a restart.
 *
 * Usage: test_transport [FILTER [SKIP_FILTER]] (cmocka glob patterns).
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

#include "itest.h"

/* The fixture's daemon: handshake_timeout = 2 s, max_frame = 1 MiB. */
#define FIXTURE_MAX_FRAME (1024u * 1024u)

/* ---- helpers ---- */

/*
 * A connection that must be refused by TLS: either the handshake fails, or
 * (TLS 1.3, the client finishes first) the first read fails; in no case a
 * frame, let alone a Welcome, arrives.
 */
static void assert_tls_refused(struct itest_conn *c, const char *who)
{
	enum itest_recv_status st;
	struct frame_msg *m;

	if (!c->handshake_ok) {
		print_message("%s: handshake refused (%s)\n", who, c->error);
		return;
	}
	(void)itest_hello(c, 1); /* may fail: the peer may be gone */
	if (c->closed) {
		print_message("%s: refused after handshake (%s)\n", who,
			      c->error);
		return;
	}
	m = itest_recv(c, ITEST_REPLY_MS, &st);
	if (m != NULL) {
		const char *body = frame_body_name(m->env);

		if (m->env->body_case == MAILLAGE__ENVELOPE__BODY_ERROR)
			fail_msg("%s: accepted by TLS and refused by an Error "
				 "%s; expected a TLS refusal",
				 who, itest_error_name(m->env->error->code));
		fail_msg("%s: not refused, got %s", who, body);
	}
	if (st == ITEST_RECV_TIMEOUT)
		fail_msg("%s: connection neither refused nor answered", who);
	print_message("%s: refused after handshake (%s)\n", who, c->error);
}

/* The connection must close within `ms` (after whatever it still sends). */
static void assert_closes(struct itest_conn *c, int ms, const char *what)
{
	long t = itest_wait_closed(c, ms);

	if (t < 0)
		fail_msg("%s: connection still open after %d ms", what, ms);
}

/* A fresh, well-behaved client still gets a pong with database_ok. */
static void assert_daemon_serves(void)
{
	struct itest_conn *c = itest_session("ase");
	struct frame_msg *m = itest_ping(c, 2, "still there", 11);

	assert_non_null(m);
	assert_int_equal(m->env->body_case, MAILLAGE__ENVELOPE__BODY_PONG);
	assert_true(m->env->pong->database_ok);
	frame_msg_free(m);
	itest_close(c);
}

static long long audit_count(const char *where)
{
	char sql[1024];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit_event WHERE %s",
		 where);
	return itest_psql_int(sql);
}

/* ---- refused at the TLS layer ---- */

static void test_no_client_certificate(void **state)
{
	struct itest_conn *c = itest_connect_files(NULL, NULL, ITEST_REPLY_MS);

	(void)state;
	assert_tls_refused(c, "no certificate");
	itest_close(c);
	assert_daemon_serves();
}

static void test_rogue_ca(void **state)
{
	char crt[ITEST_PATH_MAX + 64], key[ITEST_PATH_MAX + 64];
	struct itest_conn *c;

	(void)state;
	snprintf(crt, sizeof(crt), "%s/otherca/clients/rogue.crt",
		 itest_env()->workdir);
	snprintf(key, sizeof(key), "%s/otherca/clients/rogue.key",
		 itest_env()->workdir);
	if (access(crt, R_OK) != 0)
		fail_msg("fixture did not make %s", crt);
	c = itest_connect_files(crt, key, ITEST_REPLY_MS);
	assert_tls_refused(c, "rogue (other CA, CN=ase)");
	itest_close(c);
}

static void test_expired_certificate(void **state)
{
	struct itest_conn *c = itest_connect("expired");

	(void)state;
	assert_tls_refused(c, "expired");
	itest_close(c);
}

static void test_revoked_certificate(void **state)
{
	struct itest_conn *c = itest_connect("revoked");

	(void)state;
	assert_tls_refused(c, "revoked");
	itest_close(c);
	assert_daemon_serves();
}

/* ---- refused by the account look-up ---- */

static void check_unauthenticated(const char *login)
{
	char crt[ITEST_PATH_MAX], key[ITEST_PATH_MAX];
	char fp[65], where[512];
	long long before, after = -1;
	struct itest_conn *c;
	struct frame_msg *m;
	int64_t deadline;

	itest_client_files(login, crt, key);
	assert_int_equal(itest_cert_fingerprint(crt, fp), 0);
	snprintf(where, sizeof(where),
		 "action = 'connect' AND outcome = 'refused' AND "
		 "cert_fingerprint = '%s'",
		 fp);
	before = audit_count(where);
	assert_true(before >= 0);

	c = itest_connect(login);
	if (!c->handshake_ok)
		fail_msg("%s: TLS handshake failed (%s); the certificate is "
			 "valid and must pass TLS",
			 login, c->error);
	m = itest_hello(c, 1);
	if (m == NULL)
		fail_msg("%s: no Error before close (%s)", login, c->error);
	itest_assert_error(m, MAILLAGE__ERROR_CODE__UNAUTHENTICATED);
	assert_int_equal(m->env->request_id, 1);
	frame_msg_free(m);
	assert_closes(c, 5000, login);
	itest_close(c);

	/* The refusal is audited (allow the row a few seconds to land). */
	deadline = itest_now_ms() + 5000;
	while (itest_now_ms() < deadline) {
		after = audit_count(where);
		if (after > before)
			break;
		usleep(200 * 1000);
	}
	if (after != before + 1)
		fail_msg("%s: expected one audit row (connect, refused, "
			 "fingerprint %s), found %lld new",
			 login, fp, after - before);
}

static void test_unenrolled(void **state)
{
	(void)state;
	check_unauthenticated("unenrolled");
}

static void test_disabled_account(void **state)
{
	(void)state;
	check_unauthenticated("disabled");
}

/* ---- framing violations ---- */

static void test_frame_too_large(void **state)
{
	static const uint8_t header[4] = {0x80, 0x00, 0x00, 0x00};
	struct itest_conn *c = itest_session("ase");
	struct frame_msg *m;
	enum itest_recv_status st;
	long rss0, rss1;

	(void)state;
	rss0 = itest_daemon_rss_kb();
	assert_true(rss0 > 0);
	assert_int_equal(itest_send_raw(c, header, sizeof(header)), 0);
	m = itest_recv(c, ITEST_REPLY_MS, &st);
	if (m == NULL)
		fail_msg("no Error before close (%s)", c->error);
	itest_assert_error(m, MAILLAGE__ERROR_CODE__FRAME_TOO_LARGE);
	frame_msg_free(m);
	assert_closes(c, 5000, "2 GiB header");
	itest_close(c);

	rss1 = itest_daemon_rss_kb();
	print_message("daemon VmRSS %ld kB -> %ld kB\n", rss0, rss1);
	assert_true(rss1 > 0);
	assert_true(rss1 - rss0 < 64 * 1024);
	assert_daemon_serves();
}

static void test_frame_just_over_max(void **state)
{
	/* max_frame + 1 is refused from the header too. */
	uint8_t header[4];
	struct itest_conn *c = itest_session("pjj");
	struct frame_msg *m;
	enum itest_recv_status st;

	(void)state;
	frame_put_header(header, FIXTURE_MAX_FRAME + 1);
	assert_int_equal(itest_send_raw(c, header, sizeof(header)), 0);
	m = itest_recv(c, ITEST_REPLY_MS, &st);
	if (m == NULL)
		fail_msg("no Error before close (%s)", c->error);
	itest_assert_error(m, MAILLAGE__ERROR_CODE__FRAME_TOO_LARGE);
	frame_msg_free(m);
	assert_closes(c, 5000, "max_frame + 1");
	itest_close(c);
}

static void test_frame_of_exactly_max(void **state)
{
	/*
	 * A frame of exactly max_frame bytes is a frame: whatever the daemon
	 * thinks of a ping that large, it is not FRAME_TOO_LARGE and the
	 * body is read and judged.
	 */
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__Ping ping = MAILLAGE__PING__INIT;
	struct itest_conn *c = itest_session("coord");
	size_t plen = FIXTURE_MAX_FRAME - 16;
	uint8_t *payload = calloc(1, FIXTURE_MAX_FRAME);
	struct frame_msg *m;

	(void)state;
	assert_non_null(payload);
	ping.payload.data = payload;
	env.request_id = 41;
	env.body_case = MAILLAGE__ENVELOPE__BODY_PING;
	env.ping = &ping;
	for (;;) {
		size_t n;

		ping.payload.len = plen;
		n = maillage__envelope__get_packed_size(&env);
		if (n == FIXTURE_MAX_FRAME)
			break;
		assert_true(n < FIXTURE_MAX_FRAME);
		plen++;
	}
	m = itest_request(c, &env, ITEST_REPLY_MS);
	free(payload);
	if (m == NULL)
		fail_msg("no reply to a frame of exactly max_frame (%s)",
			 c->error);
	if (m->env->body_case == MAILLAGE__ENVELOPE__BODY_ERROR) {
		print_message("frame of max_frame bytes: Error %s\n",
			      itest_error_name(m->env->error->code));
		assert_int_not_equal(m->env->error->code,
				     MAILLAGE__ERROR_CODE__FRAME_TOO_LARGE);
		assert_int_not_equal(m->env->error->code,
				     MAILLAGE__ERROR_CODE__PROTOCOL_ERROR);
	}
	frame_msg_free(m);
	itest_close(c);
}

static void test_zero_length_frame(void **state)
{
	static const uint8_t header[4] = {0, 0, 0, 0};
	struct itest_conn *c = itest_session("ase");
	struct frame_msg *m;
	enum itest_recv_status st;

	(void)state;
	assert_int_equal(itest_send_raw(c, header, sizeof(header)), 0);
	m = itest_recv(c, ITEST_REPLY_MS, &st);
	if (m == NULL)
		fail_msg("no Error before close (%s)", c->error);
	itest_assert_error(m, MAILLAGE__ERROR_CODE__PROTOCOL_ERROR);
	frame_msg_free(m);
	assert_closes(c, 5000, "zero-length frame");
	itest_close(c);
}

static void test_undecodable_frame(void **state)
{
	/* A 2-byte body with wire type 7: not protobuf. */
	static const uint8_t frame[] = {0, 0, 0, 2, 0x0f, 0x00};
	struct itest_conn *c = itest_session("ase");
	struct frame_msg *m;
	enum itest_recv_status st;

	(void)state;
	assert_int_equal(itest_send_raw(c, frame, sizeof(frame)), 0);
	m = itest_recv(c, ITEST_REPLY_MS, &st);
	if (m == NULL)
		fail_msg("no Error before close (%s)", c->error);
	itest_assert_error(m, MAILLAGE__ERROR_CODE__PROTOCOL_ERROR);
	frame_msg_free(m);
	assert_closes(c, 5000, "undecodable frame");
	itest_close(c);
}

static void fill_random(uint8_t *p, size_t n)
{
	FILE *f = fopen("/dev/urandom", "r");

	assert_non_null(f);
	assert_int_equal(fread(p, 1, n, f), n);
	fclose(f);
}

static void random_bytes(struct itest_conn *c, const char *what)
{
	const size_t n = 64 * 1024;
	uint8_t *junk = malloc(n);

	assert_non_null(junk);
	fill_random(junk, n);
	/* Make sure the first header is not by chance a sane length. */
	junk[0] |= 0x40;
	/* The daemon may cut us before all is written: fine. */
	(void)itest_send_raw(c, junk, n);
	free(junk);
	assert_closes(c, 10000, what);
}

static void test_random_bytes_after_hello(void **state)
{
	struct itest_conn *c = itest_session("police");

	(void)state;
	random_bytes(c, "64 KiB of random bytes after Hello");
	itest_close(c);
	assert_daemon_serves();
}

static void test_random_bytes_before_hello(void **state)
{
	struct itest_conn *c = itest_connect("police");

	(void)state;
	assert_true(c->handshake_ok);
	random_bytes(c, "64 KiB of random bytes instead of Hello");
	itest_close(c);
	assert_daemon_serves();
}

/* ---- silent clients ---- */

static void test_silent_tcp(void **state)
{
	int fd = itest_tcp_connect();
	long t = itest_fd_wait_closed(fd, 10000);

	(void)state;
	close(fd);
	print_message("silent TCP client closed after %ld ms\n", t);
	if (t < 0)
		fail_msg("silent TCP client still connected after 10 s");
	assert_in_range(t, 1000, 6000);
}

static void test_silent_after_tls(void **state)
{
	struct itest_conn *c = itest_connect("juge");
	long t;

	(void)state;
	assert_true(c->handshake_ok);
	t = itest_wait_closed(c, 10000);
	print_message("client silent after TLS closed after %ld ms\n", t);
	itest_close(c);
	if (t < 0)
		fail_msg("client without Hello still connected after 10 s");
	assert_in_range(t, 1000, 6000);
}

/* ---- order ---- */

static void test_request_before_hello(void **state)
{
	struct itest_conn *c = itest_connect("ase");
	struct frame_msg *m;

	(void)state;
	assert_true(c->handshake_ok);
	m = itest_ping(c, 5, "early", 5);
	if (m == NULL)
		fail_msg("no Error before close (%s)", c->error);
	itest_assert_error(m, MAILLAGE__ERROR_CODE__PROTOCOL_ERROR);
	frame_msg_free(m);
	assert_closes(c, 5000, "request before Hello");
	itest_close(c);
}

static void test_whoami_before_hello(void **state)
{
	struct itest_conn *c = itest_connect("ase");
	struct frame_msg *m;

	(void)state;
	assert_true(c->handshake_ok);
	m = itest_whoami(c, 6);
	if (m == NULL)
		fail_msg("no Error before close (%s)", c->error);
	itest_assert_error(m, MAILLAGE__ERROR_CODE__PROTOCOL_ERROR);
	frame_msg_free(m);
	assert_closes(c, 5000, "whoami before Hello");
	itest_close(c);
}

/* ---- happy path ---- */

static void check_account(const Maillage__Account *a,
			  const struct itest_demo *d)
{
	assert_non_null(a);
	assert_string_equal(a->login, d->login);
	assert_string_equal(a->institution, d->institution);
	assert_int_equal(a->role, d->role);
	assert_string_equal(a->institution_name, d->institution_name);
	assert_string_equal(a->institution_kind, d->institution_kind);
	assert_string_equal(a->departement, d->departement);
}

static void test_welcome_each_account(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < itest_demo_count; i++) {
		const struct itest_demo *d = &itest_demo_accounts[i];
		struct itest_conn *c = itest_session(d->login);
		const Maillage__Welcome *w = c->welcome->env->welcome;

		assert_int_equal(w->protocol_version, 1);
		assert_true(w->server_name[0] != '\0');
		assert_true(w->instance_id[0] != '\0');
		assert_int_equal(w->max_frame, FIXTURE_MAX_FRAME);
		check_account(w->account, d);
		itest_close(c);
	}
}

static void test_ping(void **state)
{
	uint8_t payload[256];
	struct itest_conn *c = itest_session("ase");
	struct frame_msg *m;
	int64_t now;
	size_t n;

	(void)state;
	fill_random(payload, sizeof(payload));
	payload[0] = 0;
	for (n = 0; n <= sizeof(payload); n += 64) {
		size_t len = n;

		m = itest_ping(c, 100 + n, payload, len);
		if (m == NULL)
			fail_msg("no pong (%s)", c->error);
		if (m->env->body_case == MAILLAGE__ENVELOPE__BODY_ERROR)
			fail_msg("ping of %zu bytes: Error %s (%s)", len,
				 itest_error_name(m->env->error->code),
				 m->env->error->message);
		assert_int_equal(m->env->body_case,
				 MAILLAGE__ENVELOPE__BODY_PONG);
		assert_int_equal(m->env->request_id, 100 + n);
		assert_int_equal(m->env->pong->payload.len, len);
		if (len > 0)
			assert_memory_equal(m->env->pong->payload.data, payload,
					    len);
		assert_true(m->env->pong->database_ok);
		now = itest_wall_ms();
		/* Server clock: the same host, so within a few minutes. */
		assert_true(m->env->pong->server_time_ms > now - 300000 &&
			    m->env->pong->server_time_ms < now + 300000);
		frame_msg_free(m);
	}
	itest_close(c);
}

static void test_pipelined_requests(void **state)
{
	/* Several requests sent at once are all answered, ids preserved. */
	struct itest_conn *c = itest_session("pjj");
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__Ping ping = MAILLAGE__PING__INIT;
	int seen[10] = {0};
	uint64_t id;
	int i;

	(void)state;
	env.body_case = MAILLAGE__ENVELOPE__BODY_PING;
	env.ping = &ping;
	for (id = 1000; id < 1010; id++) {
		env.request_id = id;
		assert_int_equal(itest_send(c, &env), 0);
	}
	for (i = 0; i < 10; i++) {
		enum itest_recv_status st;
		struct frame_msg *m = itest_recv(c, ITEST_REPLY_MS, &st);

		if (m == NULL)
			fail_msg("reply %d of 10 missing (%s)", i, c->error);
		assert_int_equal(m->env->body_case,
				 MAILLAGE__ENVELOPE__BODY_PONG);
		assert_in_range(m->env->request_id, 1000, 1009);
		seen[m->env->request_id - 1000]++;
		frame_msg_free(m);
	}
	for (i = 0; i < 10; i++)
		assert_int_equal(seen[i], 1);
	itest_close(c);
}

static void test_whoami(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < itest_demo_count; i++) {
		const struct itest_demo *d = &itest_demo_accounts[i];
		char crt[ITEST_PATH_MAX], key[ITEST_PATH_MAX], fp[65];
		struct itest_conn *c = itest_session(d->login);
		struct frame_msg *m = itest_whoami(c, 77);
		const Maillage__WhoAmIResult *r;

		itest_client_files(d->login, crt, key);
		assert_int_equal(itest_cert_fingerprint(crt, fp), 0);
		if (m == NULL)
			fail_msg("%s: no whoami reply (%s)", d->login,
				 c->error);
		assert_int_equal(m->env->body_case,
				 MAILLAGE__ENVELOPE__BODY_WHOAMI_RESULT);
		assert_int_equal(m->env->request_id, 77);
		r = m->env->whoami_result;
		check_account(r->account, d);
		assert_string_equal(r->certificate_fingerprint, fp);
		assert_true(r->peer_address[0] != '\0');
		assert_true(r->certificate_not_after ==
			    itest_cert_not_after(crt));
		frame_msg_free(m);
		itest_close(c);
	}
}

static void test_ping_audited(void **state)
{
	struct itest_conn *c = itest_session("ase");
	uint64_t rid = itest_unique_id();
	char where[512];
	long long total0, total1, mine;
	struct frame_msg *m;

	(void)state;
	snprintf(where, sizeof(where), "request_id = %llu",
		 (unsigned long long)rid);
	assert_int_equal(audit_count(where), 0);
	total0 = audit_count("true");
	assert_true(total0 >= 0);

	m = itest_ping(c, rid, "audit me", 8);
	assert_non_null(m);
	assert_int_equal(m->env->body_case, MAILLAGE__ENVELOPE__BODY_PONG);
	frame_msg_free(m);

	/* The reply is sent after the commit: the row is there already. */
	assert_int_equal(audit_count(where), 1);
	snprintf(where, sizeof(where),
		 "request_id = %llu AND action = 'ping' AND outcome = 'ok' "
		 "AND login = 'ase' AND institution_code = 'ase75' AND "
		 "role = 'partner' AND account_id IS NOT NULL AND "
		 "peer IS NOT NULL AND peer <> ''",
		 (unsigned long long)rid);
	mine = audit_count(where);
	if (mine != 1) {
		char row[1024], sql[256];

		snprintf(sql, sizeof(sql),
			 "SELECT row_to_json(a) FROM audit_event a "
			 "WHERE request_id = %llu",
			 (unsigned long long)rid);
		itest_psql(sql, row, sizeof(row));
		fail_msg("audit row of the ping is not as expected: %s", row);
	}
	total1 = audit_count("true");
	assert_true(total1 >= total0 + 1);

	/* A second ping, a second row. */
	m = itest_ping(c, rid, "again", 5);
	assert_non_null(m);
	frame_msg_free(m);
	snprintf(where, sizeof(where), "request_id = %llu AND action = 'ping'",
		 (unsigned long long)rid);
	assert_int_equal(audit_count(where), 2);
	itest_close(c);
}

static void test_whoami_audited(void **state)
{
	struct itest_conn *c = itest_session("juge");
	uint64_t rid = itest_unique_id();
	char where[512];
	struct frame_msg *m;

	(void)state;
	m = itest_whoami(c, rid);
	assert_non_null(m);
	assert_int_equal(m->env->body_case,
			 MAILLAGE__ENVELOPE__BODY_WHOAMI_RESULT);
	frame_msg_free(m);
	snprintf(where, sizeof(where),
		 "request_id = %llu AND action = 'whoami' AND outcome = 'ok' "
		 "AND login = 'juge' AND institution_code = 'tpe75'",
		 (unsigned long long)rid);
	assert_int_equal(audit_count(where), 1);
	itest_close(c);
}

/* ---- robustness ---- */

static void test_many_connections(void **state)
{
	enum { N = 50 };
	struct itest_conn *c[N];
	int i;

	(void)state;
	for (i = 0; i < N; i++)
		c[i] = itest_session(
			itest_demo_accounts[i % itest_demo_count].login);
	for (i = 0; i < N; i++) {
		struct frame_msg *m =
			itest_ping(c[i], 10 + (uint64_t)i, "m", 1);

		if (m == NULL)
			fail_msg("connection %d: no pong (%s)", i, c[i]->error);
		assert_int_equal(m->env->body_case,
				 MAILLAGE__ENVELOPE__BODY_PONG);
		frame_msg_free(m);
	}
	for (i = 0; i < N; i++)
		itest_close(c[i]);
	assert_daemon_serves();
}

static void test_close_with_request_in_flight(void **state)
{
	/* The client leaves while its request waits on PostgreSQL. */
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__Ping ping = MAILLAGE__PING__INIT;
	Maillage__WhoAmI who = MAILLAGE__WHO_AM_I__INIT;
	int i;

	(void)state;
	for (i = 0; i < 30; i++) {
		struct itest_conn *c = itest_session("coord");

		env.request_id = 2;
		if (i % 2 == 0) {
			env.body_case = MAILLAGE__ENVELOPE__BODY_PING;
			env.ping = &ping;
		} else {
			env.body_case = MAILLAGE__ENVELOPE__BODY_WHOAMI;
			env.whoami = &who;
		}
		assert_int_equal(itest_send(c, &env), 0);
		itest_close(c);
	}
	/* Hello in flight too. */
	for (i = 0; i < 10; i++) {
		struct itest_conn *c = itest_connect("admin");
		Maillage__Hello hello = MAILLAGE__HELLO__INIT;

		assert_true(c->handshake_ok);
		hello.protocol_version = 1;
		env.request_id = 1;
		env.body_case = MAILLAGE__ENVELOPE__BODY_HELLO;
		env.hello = &hello;
		assert_int_equal(itest_send(c, &env), 0);
		itest_close(c);
	}
	usleep(500 * 1000);
	assert_true(itest_daemon_alive());
	assert_daemon_serves();
}

static void test_partial_frame_then_close(void **state)
{
	/* A header announcing 100 bytes, 10 of them, then goodbye. */
	uint8_t frame[FRAME_HEADER_LEN + 10];
	int i;

	(void)state;
	memset(frame, 0, sizeof(frame));
	frame_put_header(frame, 100);
	for (i = 0; i < 5; i++) {
		struct itest_conn *c = itest_session("pjj");

		assert_int_equal(itest_send_raw(c, frame, sizeof(frame)), 0);
		itest_close(c);
	}
	usleep(200 * 1000);
	assert_true(itest_daemon_alive());
	assert_daemon_serves();
}

static void test_frame_in_pieces(void **state)
{
	/* A ping delivered one byte per TLS record is still one request. */
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__Ping ping = MAILLAGE__PING__INIT;
	struct itest_conn *c = itest_session("police");
	enum itest_recv_status st;
	struct frame_msg *m;
	uint8_t *buf = NULL;
	size_t n = 0, i;

	(void)state;
	ping.payload.data = (uint8_t *)"bit by bit";
	ping.payload.len = 10;
	env.request_id = 31;
	env.body_case = MAILLAGE__ENVELOPE__BODY_PING;
	env.ping = &ping;
	assert_int_equal(frame_encode(&env, FRAME_DEFAULT_MAX, &buf, &n), 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(itest_send_raw(c, buf + i, 1), 0);
		usleep(5 * 1000);
	}
	free(buf);
	m = itest_recv(c, ITEST_REPLY_MS, &st);
	if (m == NULL)
		fail_msg("no pong (%s)", c->error);
	assert_int_equal(m->env->body_case, MAILLAGE__ENVELOPE__BODY_PONG);
	assert_int_equal(m->env->request_id, 31);
	assert_int_equal(m->env->pong->payload.len, 10);
	frame_msg_free(m);
	itest_close(c);
}

/* ---- PostgreSQL outage ---- */

/* Ping until `want` (PONG or ERROR/UNAVAILABLE) or the deadline. */
static int ping_until(struct itest_conn *c, int want_pong, int timeout_ms,
		      uint64_t *rid)
{
	int64_t deadline = itest_now_ms() + timeout_ms;

	while (itest_now_ms() < deadline) {
		struct frame_msg *m = itest_ping(c, (*rid)++, "pg", 2);
		int ok;

		if (m == NULL)
			fail_msg("connection lost during the outage (%s)",
				 c->error);
		if (want_pong)
			ok = m->env->body_case ==
				     MAILLAGE__ENVELOPE__BODY_PONG &&
			     m->env->pong->database_ok;
		else
			ok = m->env->body_case ==
				     MAILLAGE__ENVELOPE__BODY_ERROR &&
			     m->env->error->code ==
				     MAILLAGE__ERROR_CODE__UNAVAILABLE;
		if (!ok && m->env->body_case == MAILLAGE__ENVELOPE__BODY_ERROR)
			print_message("ping: Error %s (%s)\n",
				      itest_error_name(m->env->error->code),
				      m->env->error->message);
		frame_msg_free(m);
		if (ok)
			return 1;
		usleep(500 * 1000);
	}
	return 0;
}

static int pg_down_teardown(void **state)
{
	(void)state;
	/* Whatever happened, leave PostgreSQL running for the others. */
	if (itest_psql_int("SELECT 1") == 1)
		return 0;
	return itest_fixture("pg-start") == 0 ? 0 : -1;
}

static void test_pg_down_unavailable_then_recovers(void **state)
{
	const pid_t pid = itest_env_reload()->daemon_pid;
	struct itest_conn *c = itest_session("ase");
	struct itest_conn *c2;
	uint64_t rid = 5000;
	struct frame_msg *m;

	(void)state;
	assert_true(ping_until(c, 1, 5000, &rid));
	if (itest_fixture("pg-stop") != 0)
		fail_msg("fixture.sh pg-stop failed");

	if (!ping_until(c, 0, 20000, &rid))
		fail_msg("no Error UNAVAILABLE within 20 s of stopping "
			 "PostgreSQL");
	/* The connection stays usable: another request, another answer. */
	m = itest_ping(c, rid++, "x", 1);
	if (m == NULL)
		fail_msg("connection closed after UNAVAILABLE (%s)", c->error);
	frame_msg_free(m);
	assert_true(itest_daemon_alive());

	if (itest_fixture("pg-start") != 0)
		fail_msg("fixture.sh pg-start failed");
	if (!ping_until(c, 1, 30000, &rid))
		fail_msg("pings on the same connection still fail 30 s "
			 "after PostgreSQL came back");

	/* New connections work too (Hello needs the account look-up). */
	c2 = itest_session("pjj");
	m = itest_ping(c2, 1, "new", 3);
	assert_non_null(m);
	assert_int_equal(m->env->body_case, MAILLAGE__ENVELOPE__BODY_PONG);
	assert_true(m->env->pong->database_ok);
	frame_msg_free(m);
	itest_close(c2);
	itest_close(c);

	/* Never restarted. */
	assert_true(itest_daemon_alive());
	assert_int_equal(itest_env_reload()->daemon_pid, pid);
}

static int group_setup(void **state)
{
	(void)state;
	(void)itest_env();
	if (!itest_daemon_alive()) {
		print_error("the fixture's daemon (pid %ld) is not running\n",
			    (long)itest_env()->daemon_pid);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (!itest_daemon_alive()) {
		print_error("the daemon died during the tests\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_welcome_each_account),
		cmocka_unit_test(test_ping),
		cmocka_unit_test(test_pipelined_requests),
		cmocka_unit_test(test_whoami),
		cmocka_unit_test(test_ping_audited),
		cmocka_unit_test(test_whoami_audited),
		cmocka_unit_test(test_no_client_certificate),
		cmocka_unit_test(test_rogue_ca),
		cmocka_unit_test(test_expired_certificate),
		cmocka_unit_test(test_revoked_certificate),
		cmocka_unit_test(test_unenrolled),
		cmocka_unit_test(test_disabled_account),
		cmocka_unit_test(test_frame_too_large),
		cmocka_unit_test(test_frame_just_over_max),
		cmocka_unit_test(test_frame_of_exactly_max),
		cmocka_unit_test(test_zero_length_frame),
		cmocka_unit_test(test_undecodable_frame),
		cmocka_unit_test(test_random_bytes_after_hello),
		cmocka_unit_test(test_random_bytes_before_hello),
		cmocka_unit_test(test_silent_tcp),
		cmocka_unit_test(test_silent_after_tls),
		cmocka_unit_test(test_request_before_hello),
		cmocka_unit_test(test_whoami_before_hello),
		cmocka_unit_test(test_many_connections),
		cmocka_unit_test(test_close_with_request_in_flight),
		cmocka_unit_test(test_partial_frame_then_close),
		cmocka_unit_test(test_frame_in_pieces),
		cmocka_unit_test_teardown(
			test_pg_down_unavailable_then_recovers,
			pg_down_teardown),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	if (argc > 2)
		cmocka_set_skip_filter(argv[2]);
	return cmocka_run_group_tests_name("transport", tests, group_setup,
					   group_teardown);
}
