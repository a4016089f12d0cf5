/*
 * itest: helpers shared by the integration tests. This module owns what a
 * test needs to drive the real system that fixture.sh set up: the fixture's
 * environment (WORKDIR/env), a blocking-with-deadlines mTLS client built on
 * OpenSSL that speaks frames (or raw bytes) to maillaged, the detection of a
 * connection closed by the peer, and runners for the `maillage` CLI, for
 * fixture.sh commands and for SQL through `fixture.sh psql`. Every wait is
 * bounded by a timeout given by the caller. Helpers fail the current cmocka
 * test on a broken environment (missing file, cannot run a program), and
 * return a status where the outcome is what the test judges.
 */
#ifndef MAILLAGE_ITEST_H
#define MAILLAGE_ITEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>
#include <openssl/ssl.h>

#include "frame.h"

/* A NULL-terminated argument list, inline: ITEST_ARGS("case", "show"). */
#define ITEST_ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

#define ITEST_PATH_MAX 1024

/* Default wait for one reply from the daemon, in milliseconds. */
#define ITEST_REPLY_MS 10000

/* The fixture's environment, read from $MAILLAGE_ITEST_DIR/env. */
struct itest_env {
	char workdir[ITEST_PATH_MAX];
	char host[256];
	int port;
	char pki[ITEST_PATH_MAX];
	char pgdata[ITEST_PATH_MAX];
	char pghost[ITEST_PATH_MAX];
	char pgport[16];
	char db[ITEST_PATH_MAX]; /* a libpq URI */
	pid_t daemon_pid;
	char client_bin[ITEST_PATH_MAX];
	char daemon_bin[ITEST_PATH_MAX];
	char fixture[ITEST_PATH_MAX]; /* fixture.sh */
};

/*
 * The environment, loaded on first use (fails the test if it cannot be).
 * Also ignores SIGPIPE for the whole test process.
 */
const struct itest_env *itest_env(void);

/* Read WORKDIR/env again (after `fixture.sh daemon-restart`). */
const struct itest_env *itest_env_reload(void);

/* Paths of the client certificate and key of `login` under WORKDIR/pki. */
void itest_client_files(const char *login, char crt[ITEST_PATH_MAX],
			char key[ITEST_PATH_MAX]);

/* SHA-256 of the DER certificate in a PEM file, lowercase hex. 0 or -1. */
int itest_cert_fingerprint(const char *pem_path, char out[65]);

/* notAfter of the certificate in a PEM file, Unix seconds, or -1. */
int64_t itest_cert_not_after(const char *pem_path);

/* Monotonic clock, milliseconds. */
int64_t itest_now_ms(void);

/* Wall clock, milliseconds since the epoch. */
int64_t itest_wall_ms(void);

/* A request id unlikely to have been used before (for audit look-ups). */
uint64_t itest_unique_id(void);

/* The demo network's accounts, as seeded by the fixture. */
struct itest_demo {
	const char *login;
	const char *institution;
	const char *institution_name;
	const char *institution_kind;
	const char *departement;
	Maillage__Role role;
	const char *role_name; /* as in the database: partner, coordinator... */
};

extern const struct itest_demo itest_demo_accounts[];
extern const size_t itest_demo_count;

/* ---- mTLS client ---- */

enum itest_recv_status {
	ITEST_RECV_OK = 0,    /* a frame was decoded */
	ITEST_RECV_TIMEOUT,   /* nothing whole arrived in time */
	ITEST_RECV_CLOSED,    /* EOF, reset or TLS alert/error from the peer */
	ITEST_RECV_BAD_FRAME, /* the peer sent something that is not a frame */
};

struct itest_conn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	int handshake_ok; /* the client side finished the TLS handshake */
	int closed;	  /* EOF/error seen */
	char error[512];  /* why the handshake or the last I/O failed */
	uint8_t *buf;	  /* received bytes not yet returned as frames */
	size_t len, cap;
	struct frame_msg *welcome; /* set by itest_session() */
};

/*
 * Open TCP to the daemon and run the TLS handshake (deadline `timeout_ms`)
 * presenting `crt`/`key` (both NULL: no client certificate), trusting
 * WORKDIR/pki/ca.crt for the server. Never NULL; check ->handshake_ok and
 * ->error. With TLS 1.3 the client finishes its handshake before the server
 * has judged the client certificate: a refusal then shows as the first read
 * failing.
 */
struct itest_conn *itest_connect_files(const char *crt, const char *key,
				       int timeout_ms);

/* itest_connect_files() with WORKDIR/pki/clients/LOGIN.crt/.key. */
struct itest_conn *itest_connect(const char *login);

/*
 * Connect as `login`, send Hello (request_id 1) and require a Welcome (the
 * test fails otherwise); the Welcome stays in ->welcome.
 */
struct itest_conn *itest_session(const char *login);

void itest_close(struct itest_conn *c);

/* Send one Envelope as a frame / raw bytes. 0, or -1 (peer gone). */
int itest_send(struct itest_conn *c, const Maillage__Envelope *env);
int itest_send_raw(struct itest_conn *c, const void *buf, size_t n);

/*
 * Wait up to `timeout_ms` for one whole frame and decode it (the caller frees
 * it with frame_msg_free()). NULL with *st saying why otherwise.
 */
struct frame_msg *itest_recv(struct itest_conn *c, int timeout_ms,
			     enum itest_recv_status *st);

/*
 * Send `env` and wait for the frame answering its request_id (frames with
 * another id, such as pushed events, are skipped). NULL on timeout/close.
 */
struct frame_msg *itest_request(struct itest_conn *c,
				const Maillage__Envelope *env, int timeout_ms);

/* Requests built for the caller. */
struct frame_msg *itest_hello(struct itest_conn *c, uint64_t request_id);
struct frame_msg *itest_ping(struct itest_conn *c, uint64_t request_id,
			     const void *payload, size_t n);
struct frame_msg *itest_whoami(struct itest_conn *c, uint64_t request_id);

/*
 * Wait up to `timeout_ms` for the peer to close, discarding whatever it
 * sends. Returns the milliseconds waited until the close was seen, or -1 if
 * the connection was still open at the deadline.
 */
long itest_wait_closed(struct itest_conn *c, int timeout_ms);

/* The reply must be an Error with `code` (fails the test otherwise). */
void itest_assert_error(const struct frame_msg *m, Maillage__ErrorCode code);

/* Name of an error code, for messages. */
const char *itest_error_name(Maillage__ErrorCode code);

/* ---- plain TCP ---- */

/* A TCP connection to the daemon that says nothing. Fails the test if it
 * cannot connect. */
int itest_tcp_connect(void);

/* As itest_wait_closed() for a plain socket. */
long itest_fd_wait_closed(int fd, int timeout_ms);

/* ---- programs ---- */

struct itest_output {
	char *out; /* stdout, NUL-terminated */
	size_t out_len;
	char *err; /* stderr, NUL-terminated */
	size_t err_len;
	int status;    /* exit status, or -1 if killed by a signal */
	int timed_out; /* killed because it overran its timeout */
};

/*
 * Run argv (argv[0] a path) with stdin from /dev/null, capturing stdout and
 * stderr, killing it after `timeout_s`. Returns out->status.
 */
int itest_run(const char *const argv[], int timeout_s,
	      struct itest_output *out);

/*
 * Run `maillage --config WORKDIR/client/LOGIN.conf ARGS...` (NULL-terminated
 * ARGS; login NULL: no --config). Returns the exit status.
 */
int itest_cli(struct itest_output *out, const char *login, ...);

void itest_output_free(struct itest_output *out);

/*
 * `maillage --config WORKDIR/client/LOGIN.conf --json ARGS...` (args
 * NULL-terminated): its JSON document, or NULL when stdout is not JSON;
 * its exit status in *status, its stderr (to free) in *err if err is not
 * NULL.
 */
json_t *itest_cli_json(const char *login, const char *const *args, int *status,
		       char **err);

/* The same, which must exit 0 with a JSON document (else the test fails). */
json_t *itest_cli_json_ok(const char *login, const char *const *args);

/* Member `key` of a JSON object: an integer (else the test fails). */
long long itest_jint(const json_t *o, const char *key);

/* Member `key` of a JSON object as a string; "" when absent or not one. */
const char *itest_jstr(const json_t *o, const char *key);

/* Run `fixture.sh CMD WORKDIR`; returns its exit status. */
int itest_fixture(const char *cmd);

/*
 * Run SQL with `fixture.sh psql WORKDIR SQL`; the first line of output (may
 * be empty) goes to `out`. Returns the exit status.
 */
int itest_psql(const char *sql, char *out, size_t outlen);

/* The first value of a query as an integer, -1 when the query failed. */
long long itest_psql_int(const char *sql);

/* The same for a printf-style query, which must give a number >= 0 (else the
 * test fails). */
long long itest_sql_int(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* Sleep for `ms` milliseconds. */
void itest_sleep_ms(long ms);

/*
 * Fail unless the generic plan of `sql` (prepared with parameter `types`,
 * explained with `args`, as the daemon's pool runs it after a few runs)
 * reaches `table` only through a condition on `column`: no sequential scan
 * of it, no walk of a whole index, and no hashed sub-plan (a whole table in
 * a hash). `no_seqscan` plans with sequential scans disabled, so that a
 * small test table still shows whether an index serves the query.
 */
void itest_assert_plan_keyed(const char *types, const char *sql,
			     const char *args, const char *table,
			     const char *column, int no_seqscan);

/* Resident set size of the daemon in KiB, or -1. */
long itest_daemon_rss_kb(void);

/* Whether the daemon process of the environment is alive. */
int itest_daemon_alive(void);

#endif
