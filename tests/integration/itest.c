/*
 * itest: integration test helpers (fixture environment, mTLS frame client,
 * program runners); see itest.h for what this module owns.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "itest.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#ifndef ITEST_FIXTURE_DEFAULT
#define ITEST_FIXTURE_DEFAULT "tests/integration/fixture.sh"
#endif
#ifndef ITEST_DIR_DEFAULT
#define ITEST_DIR_DEFAULT "build/itest"
#endif

static struct itest_env itest_the_env;
static int itest_env_loaded;

const struct itest_demo itest_demo_accounts[] = {
	{"coord", "hlr", "Hors la rue", "association", "75",
	 MAILLAGE__ROLE__COORDINATOR, "coordinator"},
	{"ase", "ase75", "Aide sociale \xc3\xa0 l'enfance de Paris",
	 "child_welfare", "75", MAILLAGE__ROLE__PARTNER, "partner"},
	{"pjj", "pjj75", "Protection judiciaire de la jeunesse de Paris",
	 "youth_justice", "75", MAILLAGE__ROLE__PARTNER, "partner"},
	{"police", "police75", "Brigade de protection des mineurs de Paris",
	 "police", "75", MAILLAGE__ROLE__PARTNER, "partner"},
	{"juge", "tpe75", "Tribunal pour enfants de Paris", "court", "75",
	 MAILLAGE__ROLE__PARTNER, "partner"},
	{"admin", "hlr", "Hors la rue", "association", "75",
	 MAILLAGE__ROLE__ADMIN, "admin"},
	{"auditor", "hlr", "Hors la rue", "association", "75",
	 MAILLAGE__ROLE__AUDITOR, "auditor"},
};

const size_t itest_demo_count =
	sizeof(itest_demo_accounts) / sizeof(itest_demo_accounts[0]);

/* ---- time ---- */

int64_t itest_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t itest_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int itest_remaining(int64_t deadline)
{
	int64_t left = deadline - itest_now_ms();

	if (left <= 0)
		return 0;
	return left > INT32_MAX ? INT32_MAX : (int)left;
}

uint64_t itest_unique_id(void)
{
	uint64_t v = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
			v = 0;
		close(fd);
	}
	if (v == 0)
		v = (uint64_t)itest_wall_ms() ^ ((uint64_t)getpid() << 32);
	/* Positive in a bigint and exact in a JSON number. */
	v &= (UINT64_C(1) << 48) - 1;
	return v == 0 ? 1 : v;
}

/* ---- environment ---- */

static void itest_copy(char *dst, size_t size, const char *src,
		       const char *what)
{
	if (snprintf(dst, size, "%s", src) >= (int)size)
		fail_msg("itest: %s too long: %s", what, src);
}

static void itest_env_set(struct itest_env *e, const char *key, const char *val)
{
	if (strcmp(key, "MAILLAGE_HOST") == 0)
		itest_copy(e->host, sizeof(e->host), val, key);
	else if (strcmp(key, "MAILLAGE_PORT") == 0)
		e->port = atoi(val);
	else if (strcmp(key, "MAILLAGE_PKI") == 0)
		itest_copy(e->pki, sizeof(e->pki), val, key);
	else if (strcmp(key, "MAILLAGE_PGDATA") == 0)
		itest_copy(e->pgdata, sizeof(e->pgdata), val, key);
	else if (strcmp(key, "MAILLAGE_PGHOST") == 0)
		itest_copy(e->pghost, sizeof(e->pghost), val, key);
	else if (strcmp(key, "MAILLAGE_PGPORT") == 0)
		itest_copy(e->pgport, sizeof(e->pgport), val, key);
	else if (strcmp(key, "MAILLAGE_DB") == 0)
		itest_copy(e->db, sizeof(e->db), val, key);
	else if (strcmp(key, "MAILLAGE_DAEMON_PID") == 0)
		e->daemon_pid = (pid_t)atol(val);
	else if (strcmp(key, "MAILLAGE_CLIENT_BIN") == 0)
		itest_copy(e->client_bin, sizeof(e->client_bin), val, key);
	else if (strcmp(key, "MAILLAGE_DAEMON_BIN") == 0)
		itest_copy(e->daemon_bin, sizeof(e->daemon_bin), val, key);
	else if (strcmp(key, "MAILLAGE_WORKDIR") == 0)
		itest_copy(e->workdir, sizeof(e->workdir), val, key);
}

/* Strip a trailing newline/CR and one level of matching quotes. */
static char *itest_unquote(char *v)
{
	size_t n = strlen(v);

	while (n > 0 && (v[n - 1] == '\n' || v[n - 1] == '\r'))
		v[--n] = '\0';
	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		v[n - 1] = '\0';
		return v + 1;
	}
	return v;
}

const struct itest_env *itest_env_reload(void)
{
	struct itest_env e;
	const char *dir = getenv("MAILLAGE_ITEST_DIR");
	const char *fixture = getenv("MAILLAGE_FIXTURE");
	char path[ITEST_PATH_MAX + 8];
	char line[4096];
	FILE *f;

	signal(SIGPIPE, SIG_IGN);
	memset(&e, 0, sizeof(e));
	if (dir == NULL || dir[0] == '\0')
		dir = ITEST_DIR_DEFAULT;
	if (fixture == NULL || fixture[0] == '\0')
		fixture = ITEST_FIXTURE_DEFAULT;
	itest_copy(e.workdir, sizeof(e.workdir), dir, "MAILLAGE_ITEST_DIR");
	itest_copy(e.fixture, sizeof(e.fixture), fixture, "MAILLAGE_FIXTURE");
	snprintf(path, sizeof(path), "%s/env", dir);
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("itest: cannot read %s: %s (did itest_setup run?)",
			 path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		char *eq = strchr(line, '=');
		char *key = line;

		if (line[0] == '#' || eq == NULL)
			continue;
		*eq = '\0';
		if (strncmp(key, "export ", 7) == 0)
			key += 7;
		itest_env_set(&e, key, itest_unquote(eq + 1));
	}
	fclose(f);
	if (e.host[0] == '\0' || e.port <= 0 || e.pki[0] == '\0' ||
	    e.client_bin[0] == '\0' || e.daemon_pid <= 0)
		fail_msg("itest: %s lacks MAILLAGE_HOST, MAILLAGE_PORT, "
			 "MAILLAGE_PKI, MAILLAGE_CLIENT_BIN or "
			 "MAILLAGE_DAEMON_PID",
			 path);
	itest_the_env = e;
	itest_env_loaded = 1;
	return &itest_the_env;
}

const struct itest_env *itest_env(void)
{
	if (!itest_env_loaded)
		return itest_env_reload();
	return &itest_the_env;
}

void itest_client_files(const char *login, char crt[ITEST_PATH_MAX],
			char key[ITEST_PATH_MAX])
{
	const struct itest_env *e = itest_env();

	if (snprintf(crt, ITEST_PATH_MAX, "%s/clients/%s.crt", e->pki, login) >=
		    ITEST_PATH_MAX ||
	    snprintf(key, ITEST_PATH_MAX, "%s/clients/%s.key", e->pki, login) >=
		    ITEST_PATH_MAX)
		fail_msg("itest: path too long for %s", login);
}

static X509 *itest_read_cert(const char *pem_path)
{
	FILE *f = fopen(pem_path, "r");
	X509 *x;

	if (f == NULL)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

int itest_cert_fingerprint(const char *pem_path, char out[65])
{
	X509 *x = itest_read_cert(pem_path);
	unsigned char *der = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	int len;

	if (x == NULL)
		return -1;
	len = i2d_X509(x, &der);
	X509_free(x);
	if (len <= 0)
		return -1;
	if (!EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != 32) {
		OPENSSL_free(der);
		return -1;
	}
	OPENSSL_free(der);
	for (i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int64_t itest_cert_not_after(const char *pem_path)
{
	X509 *x = itest_read_cert(pem_path);
	struct tm tm;
	int64_t t = -1;

	if (x == NULL)
		return -1;
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
		t = (int64_t)timegm(&tm);
	X509_free(x);
	return t;
}

/* ---- sockets ---- */

/* Non-blocking TCP connection to the daemon, or -1 with `err` set. */
static int itest_tcp_open(int timeout_ms, char *err, size_t errlen)
{
	const struct itest_env *e = itest_env();
	struct addrinfo hints, *res = NULL, *ai;
	char port[16];
	int64_t deadline = itest_now_ms() + timeout_ms;
	int fd = -1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%d", e->port);
	rc = getaddrinfo(e->host, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "getaddrinfo %s: %s", e->host,
			 gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct pollfd pfd;
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		fd = socket(ai->ai_family,
			    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno != EINPROGRESS) {
			snprintf(err, errlen, "connect: %s", strerror(errno));
			close(fd);
			fd = -1;
			continue;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		rc = poll(&pfd, 1, itest_remaining(deadline));
		if (rc == 1 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 &&
		    soerr == 0)
			break;
		snprintf(err, errlen, "connect: %s",
			 rc == 0 ? "timed out" : strerror(soerr));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

int itest_tcp_connect(void)
{
	char err[256] = "";
	int fd = itest_tcp_open(ITEST_REPLY_MS, err, sizeof(err));

	if (fd < 0)
		fail_msg("itest: cannot connect to the daemon: %s", err);
	return fd;
}

long itest_fd_wait_closed(int fd, int timeout_ms)
{
	int64_t start = itest_now_ms();
	int64_t deadline = start + timeout_ms;
	char buf[4096];

	for (;;) {
		struct pollfd pfd = {fd, POLLIN, 0};
		ssize_t n;
		int rc = poll(&pfd, 1, itest_remaining(deadline));

		if (rc == 0)
			return -1;
		if (rc < 0 && errno != EINTR)
			return -1;
		n = read(fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return (long)(itest_now_ms() - start);
	}
}

/* ---- TLS client ---- */

static void itest_ssl_error(struct itest_conn *c, const char *what, int e)
{
	unsigned long code = ERR_peek_last_error();
	char buf[256] = "";

	if (code != 0)
		ERR_error_string_n(code, buf, sizeof(buf));
	else if (e == SSL_ERROR_SYSCALL)
		snprintf(buf, sizeof(buf), "%s",
			 errno != 0 ? strerror(errno) : "unexpected EOF");
	else if (e == SSL_ERROR_ZERO_RETURN)
		snprintf(buf, sizeof(buf), "close_notify");
	snprintf(c->error, sizeof(c->error), "%s: SSL error %d: %s", what, e,
		 buf);
	ERR_clear_error();
}

/* Wait for `events` on the connection until `deadline`. 1 ready, 0 late. */
static int itest_wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd = {fd, events, 0};
		int rc = poll(&pfd, 1, itest_remaining(deadline));

		if (rc > 0)
			return 1;
		if (rc == 0)
			return 0;
		if (errno != EINTR)
			return 1; /* let the I/O call report the error */
	}
}

struct itest_conn *itest_connect_files(const char *crt, const char *key,
				       int timeout_ms)
{
	const struct itest_env *e = itest_env();
	struct itest_conn *c = calloc(1, sizeof(*c));
	int64_t deadline = itest_now_ms() + timeout_ms;
	char ca[ITEST_PATH_MAX + 16];

	assert_non_null(c);
	c->fd = -1;
	snprintf(ca, sizeof(ca), "%s/ca.crt", e->pki);
	c->ctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(c->ctx);
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	if (SSL_CTX_load_verify_locations(c->ctx, ca, NULL) != 1)
		fail_msg("itest: cannot load %s", ca);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	if (crt != NULL && SSL_CTX_use_certificate_chain_file(c->ctx, crt) != 1)
		fail_msg("itest: cannot load client certificate %s", crt);
	if (key != NULL &&
	    SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM) != 1)
		fail_msg("itest: cannot load client key %s", key);

	c->fd = itest_tcp_open(timeout_ms, c->error, sizeof(c->error));
	if (c->fd < 0)
		fail_msg("itest: cannot connect to the daemon: %s", c->error);
	c->ssl = SSL_new(c->ctx);
	assert_non_null(c->ssl);
	SSL_set_fd(c->ssl, c->fd);
	SSL_set_tlsext_host_name(c->ssl, "localhost");
	ERR_clear_error();
	for (;;) {
		int r = SSL_connect(c->ssl), err;

		if (r == 1) {
			c->handshake_ok = 1;
			break;
		}
		err = SSL_get_error(c->ssl, r);
		if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
			short ev =
				err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
			if (!itest_wait_fd(c->fd, ev, deadline)) {
				snprintf(c->error, sizeof(c->error),
					 "TLS handshake timed out");
				break;
			}
			continue;
		}
		itest_ssl_error(c, "handshake", err);
		c->closed = 1;
		break;
	}
	return c;
}

struct itest_conn *itest_connect(const char *login)
{
	char crt[ITEST_PATH_MAX], key[ITEST_PATH_MAX];

	if (login == NULL)
		return itest_connect_files(NULL, NULL, ITEST_REPLY_MS);
	itest_client_files(login, crt, key);
	if (access(crt, R_OK) != 0 || access(key, R_OK) != 0)
		fail_msg("itest: no certificate for %s (%s)", login, crt);
	return itest_connect_files(crt, key, ITEST_REPLY_MS);
}

void itest_close(struct itest_conn *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->ctx != NULL)
		SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	frame_msg_free(c->welcome);
	free(c->buf);
	free(c);
}

int itest_send_raw(struct itest_conn *c, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	int64_t deadline = itest_now_ms() + ITEST_REPLY_MS;

	if (!c->handshake_ok || c->closed)
		return -1;
	ERR_clear_error();
	while (n > 0) {
		int chunk = n > 16384 ? 16384 : (int)n;
		int r = SSL_write(c->ssl, p, chunk), err;

		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		err = SSL_get_error(c->ssl, r);
		if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
			short ev =
				err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
			if (!itest_wait_fd(c->fd, ev, deadline)) {
				snprintf(c->error, sizeof(c->error),
					 "write timed out");
				return -1;
			}
			continue;
		}
		itest_ssl_error(c, "write", err);
		return -1;
	}
	return 0;
}

int itest_send(struct itest_conn *c, const Maillage__Envelope *env)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	int rc;

	if (frame_encode(env, FRAME_ABSOLUTE_MAX, &buf, &n) != 0)
		fail_msg("itest: cannot encode a %s envelope",
			 frame_body_name(env));
	rc = itest_send_raw(c, buf, n);
	free(buf);
	return rc;
}

/*
 * Read what is available into c->buf, waiting until `deadline`.
 * ITEST_RECV_OK when bytes were added.
 */
static enum itest_recv_status itest_fill(struct itest_conn *c, int64_t deadline)
{
	if (!c->handshake_ok || c->closed)
		return ITEST_RECV_CLOSED;
	ERR_clear_error();
	for (;;) {
		int r, err;

		if (c->cap - c->len < 16384) {
			size_t ncap = c->cap == 0 ? 65536 : 2 * c->cap;
			uint8_t *nb = realloc(c->buf, ncap);

			assert_non_null(nb);
			c->buf = nb;
			c->cap = ncap;
		}
		errno = 0;
		r = SSL_read(c->ssl, c->buf + c->len,
			     (int)(c->cap - c->len > INT32_MAX
					   ? INT32_MAX
					   : c->cap - c->len));
		if (r > 0) {
			c->len += (size_t)r;
			return ITEST_RECV_OK;
		}
		err = SSL_get_error(c->ssl, r);
		if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
			short ev =
				err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
			if (!itest_wait_fd(c->fd, ev, deadline))
				return ITEST_RECV_TIMEOUT;
			continue;
		}
		itest_ssl_error(c, "read", err);
		c->closed = 1;
		return ITEST_RECV_CLOSED;
	}
}

struct frame_msg *itest_recv(struct itest_conn *c, int timeout_ms,
			     enum itest_recv_status *st)
{
	int64_t deadline = itest_now_ms() + timeout_ms;
	enum itest_recv_status dummy;

	if (st == NULL)
		st = &dummy;
	for (;;) {
		uint32_t n = 0;
		enum frame_status fs =
			frame_peek(c->buf, c->len, FRAME_ABSOLUTE_MAX, &n);
		enum itest_recv_status rs;

		if (fs == FRAME_READY) {
			struct frame_msg *m =
				frame_decode(c->buf + FRAME_HEADER_LEN, n);

			c->len -= FRAME_HEADER_LEN + n;
			memmove(c->buf, c->buf + FRAME_HEADER_LEN + n, c->len);
			if (m == NULL) {
				snprintf(c->error, sizeof(c->error),
					 "undecodable frame of %u bytes", n);
				*st = ITEST_RECV_BAD_FRAME;
				return NULL;
			}
			*st = ITEST_RECV_OK;
			return m;
		}
		if (fs != FRAME_NEED_MORE) {
			snprintf(c->error, sizeof(c->error),
				 "bad frame header (length %u)", n);
			*st = ITEST_RECV_BAD_FRAME;
			return NULL;
		}
		rs = itest_fill(c, deadline);
		if (rs != ITEST_RECV_OK) {
			*st = rs;
			return NULL;
		}
	}
}

struct frame_msg *itest_request(struct itest_conn *c,
				const Maillage__Envelope *env, int timeout_ms)
{
	int64_t deadline = itest_now_ms() + timeout_ms;

	if (itest_send(c, env) != 0)
		return NULL;
	for (;;) {
		enum itest_recv_status st;
		struct frame_msg *m =
			itest_recv(c, itest_remaining(deadline), &st);

		if (m == NULL)
			return NULL;
		if (m->env->request_id == env->request_id)
			return m;
		/* An error with no request id concerns us too; events not. */
		if (m->env->request_id == 0 &&
		    m->env->body_case == MAILLAGE__ENVELOPE__BODY_ERROR)
			return m;
		frame_msg_free(m);
	}
}

struct frame_msg *itest_hello(struct itest_conn *c, uint64_t request_id)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__Hello hello = MAILLAGE__HELLO__INIT;

	hello.protocol_version = MAILLAGE__PROTOCOL_VERSION__PROTOCOL_VERSION_1;
	hello.client_name = "maillage-itest/0.1";
	env.request_id = request_id;
	env.body_case = MAILLAGE__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	return itest_request(c, &env, ITEST_REPLY_MS);
}

struct frame_msg *itest_ping(struct itest_conn *c, uint64_t request_id,
			     const void *payload, size_t n)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__Ping ping = MAILLAGE__PING__INIT;

	ping.payload.data = (uint8_t *)payload;
	ping.payload.len = n;
	env.request_id = request_id;
	env.body_case = MAILLAGE__ENVELOPE__BODY_PING;
	env.ping = &ping;
	return itest_request(c, &env, ITEST_REPLY_MS);
}

struct frame_msg *itest_whoami(struct itest_conn *c, uint64_t request_id)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__WhoAmI who = MAILLAGE__WHO_AM_I__INIT;

	env.request_id = request_id;
	env.body_case = MAILLAGE__ENVELOPE__BODY_WHOAMI;
	env.whoami = &who;
	return itest_request(c, &env, ITEST_REPLY_MS);
}

struct itest_conn *itest_session(const char *login)
{
	struct itest_conn *c = itest_connect(login);
	struct frame_msg *m;

	if (!c->handshake_ok)
		fail_msg("itest: TLS handshake as %s failed: %s", login,
			 c->error);
	m = itest_hello(c, 1);
	if (m == NULL)
		fail_msg("itest: no reply to hello as %s: %s", login, c->error);
	if (m->env->body_case != MAILLAGE__ENVELOPE__BODY_WELCOME) {
		const char *what = frame_body_name(m->env);

		if (m->env->body_case == MAILLAGE__ENVELOPE__BODY_ERROR)
			fail_msg("itest: hello as %s answered by Error %s: %s",
				 login, itest_error_name(m->env->error->code),
				 m->env->error->message);
		fail_msg("itest: hello as %s answered by %s", login, what);
	}
	assert_int_equal(m->env->request_id, 1);
	c->welcome = m;
	return c;
}

long itest_wait_closed(struct itest_conn *c, int timeout_ms)
{
	int64_t start = itest_now_ms();
	int64_t deadline = start + timeout_ms;

	if (c->closed || !c->handshake_ok)
		return 0;
	for (;;) {
		enum itest_recv_status st = itest_fill(c, deadline);

		c->len = 0; /* discard */
		if (st == ITEST_RECV_CLOSED)
			return (long)(itest_now_ms() - start);
		if (st == ITEST_RECV_TIMEOUT)
			return -1;
	}
}

const char *itest_error_name(Maillage__ErrorCode code)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
		&maillage__error_code__descriptor, (int)code);

	return v != NULL ? v->name : "(unknown code)";
}

void itest_assert_error(const struct frame_msg *m, Maillage__ErrorCode code)
{
	if (m == NULL)
		fail_msg("expected Error %s, got nothing",
			 itest_error_name(code));
	if (m->env->body_case != MAILLAGE__ENVELOPE__BODY_ERROR)
		fail_msg("expected Error %s, got %s", itest_error_name(code),
			 frame_body_name(m->env));
	if (m->env->error->code != code)
		fail_msg("expected Error %s, got Error %s (\"%s\")",
			 itest_error_name(code),
			 itest_error_name(m->env->error->code),
			 m->env->error->message);
}

/* ---- programs ---- */

static void itest_append(char **buf, size_t *len, size_t *cap, const char *data,
			 size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t ncap = *cap == 0 ? 4096 : *cap;
		char *nb;

		while (*len + n + 1 > ncap)
			ncap *= 2;
		nb = realloc(*buf, ncap);
		assert_non_null(nb);
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
}

/* Read what `fd` has now into the buffer. 0 at EOF/error, 1 otherwise. */
static int itest_drain(int fd, char **buf, size_t *len, size_t *cap)
{
	char chunk[4096];
	ssize_t n = read(fd, chunk, sizeof(chunk));

	if (n > 0) {
		itest_append(buf, len, cap, chunk, (size_t)n);
		return 1;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	return 0;
}

int itest_run(const char *const argv[], int timeout_s, struct itest_output *out)
{
	int po[2], pe[2];
	pid_t pid;
	size_t ocap = 0, ecap = 0;
	int64_t deadline = itest_now_ms() + (int64_t)timeout_s * 1000;
	int wst = 0, exited = 0;

	memset(out, 0, sizeof(*out));
	itest_append(&out->out, &out->out_len, &ocap, "", 0);
	itest_append(&out->err, &out->err_len, &ecap, "", 0);
	if (pipe(po) != 0 || pipe(pe) != 0)
		fail_msg("itest: pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		fail_msg("itest: fork: %s", strerror(errno));
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]);
		close(pe[0]);
		close(po[1]);
		close(pe[1]);
		signal(SIGPIPE, SIG_DFL);
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	fcntl(po[0], F_SETFL, O_NONBLOCK);
	fcntl(pe[0], F_SETFL, O_NONBLOCK);
	fcntl(po[0], F_SETFD, FD_CLOEXEC);
	fcntl(pe[0], F_SETFD, FD_CLOEXEC);
	/*
	 * Read until the program has exited (not until EOF: a daemon it
	 * started in the background may hold the pipes open).
	 */
	for (;;) {
		struct pollfd pfd[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
		int left = itest_remaining(deadline);
		int rc, i;

		if (!exited && waitpid(pid, &wst, WNOHANG) == pid)
			exited = 1;
		if (!exited && left == 0) {
			out->timed_out = 1;
			kill(pid, SIGKILL);
			while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
				;
			exited = 1;
		}
		rc = poll(pfd, 2, exited ? 0 : (left < 100 ? left : 100));
		if (rc <= 0) {
			if (exited)
				break; /* nothing more is waiting */
			continue;
		}
		for (i = 0; i < 2; i++) {
			int *fd = i == 0 ? &po[0] : &pe[0];
			int more;

			if (*fd < 0 || pfd[i].revents == 0)
				continue;
			if (i == 0)
				more = itest_drain(*fd, &out->out,
						   &out->out_len, &ocap);
			else
				more = itest_drain(*fd, &out->err,
						   &out->err_len, &ecap);
			if (!more) {
				close(*fd);
				*fd = -1;
			}
		}
	}
	if (po[0] >= 0)
		close(po[0]);
	if (pe[0] >= 0)
		close(pe[0]);
	out->status =
		(!out->timed_out && WIFEXITED(wst)) ? WEXITSTATUS(wst) : -1;
	return out->status;
}

void itest_output_free(struct itest_output *out)
{
	free(out->out);
	free(out->err);
	out->out = out->err = NULL;
}

int itest_cli(struct itest_output *out, const char *login, ...)
{
	const struct itest_env *e = itest_env();
	const char *argv[40];
	char conf[ITEST_PATH_MAX + 32];
	size_t n = 0;
	const char *arg;
	va_list ap;

	argv[n++] = e->client_bin;
	if (login != NULL) {
		snprintf(conf, sizeof(conf), "%s/client/%s.conf", e->workdir,
			 login);
		argv[n++] = "--config";
		argv[n++] = conf;
	}
	va_start(ap, login);
	while ((arg = va_arg(ap, const char *)) != NULL) {
		if (n + 1 >= sizeof(argv) / sizeof(argv[0]))
			fail_msg("itest: too many CLI arguments");
		argv[n++] = arg;
	}
	va_end(ap);
	argv[n] = NULL;
	return itest_run(argv, 60, out);
}

json_t *itest_cli_json(const char *login, const char *const *args, int *status,
		       char **err)
{
	const struct itest_env *e = itest_env();
	const char *argv[48];
	char conf[ITEST_PATH_MAX + 32];
	struct itest_output out;
	json_t *doc;
	size_t n = 0, i;

	snprintf(conf, sizeof(conf), "%s/client/%s.conf", e->workdir, login);
	argv[n++] = e->client_bin;
	argv[n++] = "--config";
	argv[n++] = conf;
	argv[n++] = "--json";
	for (i = 0; args[i] != NULL; i++) {
		if (n + 1 >= sizeof(argv) / sizeof(argv[0]))
			fail_msg("itest: too many CLI arguments");
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	*status = itest_run(argv, 120, &out);
	doc = json_loads(out.out, 0, NULL);
	if (err != NULL) {
		*err = strdup(out.err);
		if (*err == NULL)
			fail_msg("itest: out of memory");
	}
	itest_output_free(&out);
	return doc;
}

json_t *itest_cli_json_ok(const char *login, const char *const *args)
{
	char *err = NULL;
	int status;
	json_t *doc = itest_cli_json(login, args, &status, &err);

	if (status != 0 || doc == NULL)
		fail_msg("maillage %s %s as %s: exit %d, %s: %s", args[0],
			 args[1] != NULL ? args[1] : "", login, status,
			 doc == NULL ? "no JSON" : "JSON", err);
	free(err);
	return doc;
}

long long itest_jint(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		fail_msg("no integer \"%s\" in the JSON document", key);
	return (long long)json_integer_value(v);
}

const char *itest_jstr(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v != NULL ? v : "";
}

int itest_fixture(const char *cmd)
{
	const struct itest_env *e = itest_env();
	const char *argv[] = {e->fixture, cmd, e->workdir, NULL};
	struct itest_output out;
	int rc = itest_run(argv, 180, &out);

	if (rc != 0)
		print_message("fixture.sh %s exited %d:\n%s%s\n", cmd, rc,
			      out.out, out.err);
	itest_output_free(&out);
	return rc;
}

int itest_psql(const char *sql, char *outbuf, size_t outlen)
{
	const struct itest_env *e = itest_env();
	const char *argv[] = {e->fixture, "psql", e->workdir, sql, NULL};
	struct itest_output out;
	int rc = itest_run(argv, 60, &out);

	if (outbuf != NULL && outlen > 0) {
		size_t n = strcspn(out.out, "\n");

		if (n >= outlen)
			n = outlen - 1;
		memcpy(outbuf, out.out, n);
		outbuf[n] = '\0';
	}
	if (rc != 0)
		print_message("psql (%s) exited %d: %s\n", sql, rc, out.err);
	itest_output_free(&out);
	return rc;
}

long long itest_psql_int(const char *sql)
{
	char buf[64];
	char *end;
	long long v;

	if (itest_psql(sql, buf, sizeof(buf)) != 0 || buf[0] == '\0')
		return -1;
	v = strtoll(buf, &end, 10);
	if (*end != '\0')
		return -1;
	return v;
}

long long itest_sql_int(const char *fmt, ...)
{
	char sql[4096];
	long long v;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(sql))
		fail_msg("itest: query too long");
	v = itest_psql_int(sql);
	if (v < 0)
		fail_msg("query failed or gave no number: %s", sql);
	return v;
}

void itest_assert_plan_keyed(const char *types, const char *sql,
			     const char *args, const char *table,
			     const char *column, int no_seqscan)
{
	static char q[16384];
	int n;

	/* One DO block, which raises with the offending plan line. */
	n = snprintf(
		q, sizeof(q),
		"DO $f$ DECLARE r text; scan text; seen boolean := false; "
		"BEGIN "
		"PERFORM set_config('plan_cache_mode', 'force_generic_plan', "
		"true); "
		"PERFORM set_config('enable_seqscan', '%s', true); "
		"EXECUTE $q$PREPARE itest_plan(%s) AS %s$q$; "
		"FOR r IN EXECUTE $q$EXPLAIN (VERBOSE) EXECUTE "
		"itest_plan(%s)$q$ "
		"LOOP "
		"IF r ~ '^\\s*->' AND scan IS NOT NULL THEN "
		"RAISE EXCEPTION 'whole table read: %%', scan; END IF; "
		"IF r LIKE '%%hashed SubPlan%%' THEN "
		"RAISE EXCEPTION 'hashed sub-plan: %%', r; END IF; "
		"IF r LIKE '%%Scan%%on public.%s %%' THEN scan := r; "
		"seen := true; "
		"ELSIF r LIKE '%%Cond: (%%.%s = %%' THEN scan := NULL; END IF; "
		"END LOOP; IF scan IS NOT NULL THEN "
		"RAISE EXCEPTION 'whole table read: %%', scan; END IF; "
		"IF NOT seen THEN RAISE EXCEPTION 'no scan of %s'; END IF; "
		"END $f$",
		no_seqscan ? "off" : "on", types, sql, args, table, column,
		table);
	if (n < 0 || (size_t)n >= sizeof(q))
		fail_msg("itest: plan check too long");
	if (itest_psql(q, NULL, 0) != 0)
		fail_msg("the plan of [%s] fails its check on %s (above)", sql,
			 table);
}

void itest_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

long itest_daemon_rss_kb(void)
{
	char path[64], line[256];
	FILE *f;
	long kb = -1;

	snprintf(path, sizeof(path), "/proc/%ld/status",
		 (long)itest_env()->daemon_pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kb = strtol(line + 6, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

int itest_daemon_alive(void)
{
	char path[64], buf[512], *rparen;
	FILE *f;
	size_t n;

	/* Alive means present and not a zombie waiting to be reaped. */
	snprintf(path, sizeof(path), "/proc/%ld/stat",
		 (long)itest_env()->daemon_pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	rparen = strrchr(buf, ')');
	if (rparen == NULL || rparen[1] != ' ')
		return 0;
	return rparen[2] != 'Z' && rparen[2] != 'X';
}
