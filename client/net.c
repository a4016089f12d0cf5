/*
 * net: blocking mTLS connection to maillaged with timeouts, Hello/Welcome,
 * request/response matching; see net.h for what this module owns.
 *
 * The socket is non-blocking and every wait goes through net_wait() with a
 * deadline, so that connect, handshake, reads and writes all honour the
 * configured timeout without SO_RCVTIMEO games under OpenSSL.
 */
#include "net.h"

#include "i18n.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define NET_RBUF_INITIAL 16384u
#define NET_RBUF_MAX (FRAME_HEADER_LEN + FRAME_DEFAULT_MAX)
/* TLS 1.2 suites: forward secrecy and AEAD only. */
#define NET_TLS12_CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL"

enum net_state {
	NET_HANDSHAKE, /* TCP + TLS handshake in progress */
	NET_HELLO,     /* Hello sent, waiting for Welcome */
	NET_READY,     /* requests may be sent */
	NET_BROKEN     /* a failure left the stream unusable */
};

struct net_conn {
	enum net_state state;
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	const char *server;	 /* borrowed from the conf, for messages */
	const char *server_name; /* idem */
	int timeout_ms;
	uint64_t next_id;
	uint32_t send_max;
	int alert; /* fatal alert received from the server, -1 if none */

	uint8_t *rbuf;
	size_t rlen, rcap;

	struct frame_msg *welcome;
	net_event_cb event_cb;
	void *event_arg;
};

/* Results of the internal waits and reads besides 0 and -1. */
#define NET_TIMEOUT 1
#define NET_EOF 2

static int64_t net_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t net_deadline(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : net_now_ms() + timeout_ms;
}

/* Wait for `events` on the socket. 0 ready, NET_TIMEOUT, or -1. */
static int net_wait(struct net_conn *c, short events, int64_t deadline,
		    struct cerr *err)
{
	struct pollfd pfd;
	int left, rc;

	for (;;) {
		if (deadline < 0) {
			left = -1;
		} else {
			int64_t d = deadline - net_now_ms();

			if (d <= 0)
				return NET_TIMEOUT;
			left = d > 3600000 ? 3600000 : (int)d;
		}
		pfd.fd = c->fd;
		pfd.events = events;
		pfd.revents = 0;
		rc = poll(&pfd, 1, left);
		if (rc > 0)
			return 0; /* errors and hangups surface in the I/O */
		if (rc < 0 && errno != EINTR) {
			cerr_set(err, CERR_LOCAL, _("poll: %s"),
				 strerror(errno));
			return -1;
		}
	}
}

/* The first OpenSSL error of the queue as text; clears the queue. */
static const char *net_ssl_reason(char *buf, size_t size)
{
	unsigned long e = ERR_get_error();
	const char *r;

	ERR_clear_error();
	if (e == 0)
		return _("unknown TLS error");
	r = ERR_reason_error_string(e);
	if (r != NULL)
		return r;
	ERR_error_string_n(e, buf, size);
	return buf;
}

/* Alerts by which a server says it does not accept our certificate. */
static int net_alert_is_cert_refusal(int desc)
{
	switch (desc) {
	case SSL_AD_BAD_CERTIFICATE:
	case SSL_AD_UNSUPPORTED_CERTIFICATE:
	case SSL_AD_CERTIFICATE_REVOKED:
	case SSL_AD_CERTIFICATE_EXPIRED:
	case SSL_AD_CERTIFICATE_UNKNOWN:
	case SSL_AD_UNKNOWN_CA:
	case SSL_AD_ACCESS_DENIED:
	case SSL_AD_CERTIFICATE_REQUIRED:
		return 1;
	default:
		return 0;
	}
}

static void net_info_cb(const SSL *ssl, int where, int ret)
{
	struct net_conn *c;

	/* SSL_CB_READ_ALERT shares a bit with SSL_CB_WRITE_ALERT. */
	if ((where & SSL_CB_READ_ALERT) != SSL_CB_READ_ALERT ||
	    (ret >> 8) != SSL3_AL_FATAL)
		return;
	c = SSL_get_app_data(ssl);
	if (c != NULL && c->alert < 0)
		c->alert = ret & 0xff;
}

static const char *net_alert_text(int desc)
{
	return SSL_alert_desc_string_long(SSL3_AL_FATAL << 8 | desc);
}

/* Describe a failed TLS operation (SSL_ERROR_SSL) in `err`. */
static void net_tls_fail(struct net_conn *c, struct cerr *err)
{
	char buf[256];
	long vr;

	if (c->alert >= 0) {
		/*
		 * With TLS 1.3 the server judges our certificate after our
		 * side of the handshake is over: any fatal alert before the
		 * Welcome is its verdict on the certificate.
		 */
		if (net_alert_is_cert_refusal(c->alert) ||
		    c->state == NET_HELLO)
			cerr_set(err, CERR_CERT_REFUSED,
				 _("server %s refused the client certificate "
				   "(TLS alert: %s)"),
				 c->server, net_alert_text(c->alert));
		else
			cerr_set(err, CERR_TLS,
				 _("TLS alert from server %s: %s"), c->server,
				 net_alert_text(c->alert));
		ERR_clear_error();
		return;
	}
	if (c->state == NET_HANDSHAKE &&
	    (vr = SSL_get_verify_result(c->ssl)) != X509_V_OK) {
		cerr_set(
			err, CERR_TLS,
			_("cannot verify the certificate of server %s as '%s': "
			  "%s"),
			c->server, c->server_name,
			X509_verify_cert_error_string(vr));
		ERR_clear_error();
		return;
	}
	cerr_set(err, CERR_TLS, _("TLS failure with server %s: %s"), c->server,
		 net_ssl_reason(buf, sizeof(buf)));
}

/*
 * After an SSL call returned `ret` <= 0: wait as OpenSSL asks and return 0
 * to retry; NET_EOF when the server closed; NET_TIMEOUT; -1 with `err` set.
 */
static int net_ssl_retry(struct net_conn *c, int ret, int64_t deadline,
			 struct cerr *err)
{
	int e = SSL_get_error(c->ssl, ret);

	switch (e) {
	case SSL_ERROR_WANT_READ:
		return net_wait(c, POLLIN, deadline, err);
	case SSL_ERROR_WANT_WRITE:
		return net_wait(c, POLLOUT, deadline, err);
	case SSL_ERROR_ZERO_RETURN:
		return NET_EOF;
	case SSL_ERROR_SYSCALL:
		if (c->alert >= 0) {
			net_tls_fail(c, err);
			return -1;
		}
		if (ERR_peek_error() == 0 && (ret == 0 || errno == 0)) {
			ERR_clear_error();
			return NET_EOF;
		}
		if (ERR_peek_error() != 0) {
			net_tls_fail(c, err);
			return -1;
		}
		cerr_set(err, CERR_NETWORK, _("connection to %s lost: %s"),
			 c->server, strerror(errno));
		return -1;
	case SSL_ERROR_SSL:
	default:
		net_tls_fail(c, err);
		return -1;
	}
}

static void net_timeout_error(struct net_conn *c, const char *doing,
			      struct cerr *err)
{
	cerr_set(err, CERR_TIMEOUT, _("timed out %s server %s (after %d s)"),
		 doing, c->server, c->timeout_ms / 1000);
}

static void net_eof_error(struct net_conn *c, struct cerr *err)
{
	if (c->state == NET_HELLO)
		cerr_set(
			err, CERR_CERT_REFUSED,
			_("server %s closed the connection before answering "
			  "Hello (it may have refused the client certificate)"),
			c->server);
	else
		cerr_set(err, CERR_NETWORK,
			 _("server %s closed the connection"), c->server);
}

static int net_tcp_connect(struct net_conn *c, const struct conf *conf,
			   int64_t deadline, struct cerr *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	int rc, saved = 0, timed_out = 0, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(conf->host, conf->port, &hints, &res);
	if (rc != 0) {
		cerr_set(err, CERR_NETWORK, _("cannot resolve %s: %s"),
			 conf->host,
			 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		socklen_t len = sizeof(saved);

		c->fd = socket(ai->ai_family,
			       ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			       ai->ai_protocol);
		if (c->fd < 0) {
			saved = errno;
			continue;
		}
		if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		saved = errno;
		if (saved == EINPROGRESS) {
			rc = net_wait(c, POLLOUT, deadline, err);
			if (rc < 0) {
				freeaddrinfo(res);
				return -1;
			}
			if (rc == NET_TIMEOUT) {
				timed_out = 1;
				saved = ETIMEDOUT;
			} else if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR,
					      &saved, &len) != 0) {
				saved = errno;
			} else if (saved == 0) {
				break;
			}
		}
		close(c->fd);
		c->fd = -1;
		if (timed_out)
			break;
	}
	freeaddrinfo(res);
	if (c->fd < 0) {
		if (timed_out)
			net_timeout_error(c, _("connecting to"), err);
		else
			cerr_set(err, CERR_NETWORK,
				 _("cannot connect to server %s: %s"),
				 c->server, strerror(saved));
		return -1;
	}
	/* Requests are small and answered one at a time: no Nagle. */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

static int net_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1; /* no prompting: the key file must not be encrypted */
}

static int net_check_file(const char *path, const char *what, struct cerr *err)
{
	FILE *fp = fopen(path, "r");

	if (fp == NULL) {
		cerr_set(err, CERR_CONFIG, _("cannot read %s %s: %s"), what,
			 path, strerror(errno));
		return -1;
	}
	fclose(fp);
	return 0;
}

/* The TLS context: versions, ciphers, CA, our certificate and key. */
static int net_tls_context(struct net_conn *c, const struct conf *conf,
			   struct cerr *err)
{
	char buf[256];

	if (net_check_file(conf->ca, "CA certificate", err) != 0 ||
	    net_check_file(conf->certificate, "certificate", err) != 0 ||
	    net_check_file(conf->private_key, "private key", err) != 0)
		return -1;
	ERR_clear_error();
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (c->ctx == NULL) {
		cerr_set(err, CERR_LOCAL, _("cannot create a TLS context: %s"),
			 net_ssl_reason(buf, sizeof(buf)));
		return -1;
	}
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(c->ctx, SSL_OP_NO_RENEGOTIATION |
					    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_info_callback(c->ctx, net_info_cb);
	SSL_CTX_set_default_passwd_cb(c->ctx, net_no_passphrase);
	if (SSL_CTX_set_cipher_list(c->ctx, NET_TLS12_CIPHERS) != 1) {
		cerr_set(err, CERR_LOCAL, _("cannot set TLS 1.2 ciphers: %s"),
			 net_ssl_reason(buf, sizeof(buf)));
		return -1;
	}
	if (SSL_CTX_load_verify_locations(c->ctx, conf->ca, NULL) != 1) {
		cerr_set(err, CERR_CONFIG,
			 _("cannot load CA certificate %s: %s"), conf->ca,
			 net_ssl_reason(buf, sizeof(buf)));
		return -1;
	}
	if (SSL_CTX_use_certificate_chain_file(c->ctx, conf->certificate) !=
	    1) {
		cerr_set(err, CERR_CONFIG, _("cannot load certificate %s: %s"),
			 conf->certificate, net_ssl_reason(buf, sizeof(buf)));
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(c->ctx, conf->private_key,
					SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) ==
		    X509_R_KEY_VALUES_MISMATCH) {
			ERR_clear_error();
			cerr_set(err, CERR_CONFIG,
				 _("private key %s does not match certificate "
				   "%s"),
				 conf->private_key, conf->certificate);
			return -1;
		}
		cerr_set(err, CERR_CONFIG,
			 _("cannot load private key %s: %s (an unencrypted PEM "
			   "key is expected)"),
			 conf->private_key, net_ssl_reason(buf, sizeof(buf)));
		return -1;
	}
	if (SSL_CTX_check_private_key(c->ctx) != 1) {
		ERR_clear_error();
		cerr_set(err, CERR_CONFIG,
			 _("private key %s does not match certificate %s"),
			 conf->private_key, conf->certificate);
		return -1;
	}
	return 0;
}

/* The TLS session on the connected socket, checking `server_name`. */
static int net_tls_session(struct net_conn *c, const struct conf *conf,
			   struct cerr *err)
{
	char buf[256];
	unsigned char ip[sizeof(struct in6_addr)];
	int is_ip;

	c->ssl = SSL_new(c->ctx);
	if (c->ssl == NULL) {
		cerr_set(err, CERR_LOCAL, _("cannot create a TLS session: %s"),
			 net_ssl_reason(buf, sizeof(buf)));
		return -1;
	}
	SSL_set_app_data(c->ssl, c);
	is_ip = inet_pton(AF_INET, conf->server_name, ip) == 1 ||
		inet_pton(AF_INET6, conf->server_name, ip) == 1;
	if (is_ip) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl),
						  conf->server_name) != 1) {
			cerr_set(err, CERR_CONFIG, _("invalid server_name %s"),
				 conf->server_name);
			return -1;
		}
	} else {
		SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(c->ssl, conf->server_name) != 1 ||
		    SSL_set_tlsext_host_name(c->ssl, conf->server_name) != 1) {
			ERR_clear_error();
			cerr_set(err, CERR_CONFIG, _("invalid server_name %s"),
				 conf->server_name);
			return -1;
		}
	}
	if (SSL_set_fd(c->ssl, c->fd) != 1) {
		cerr_set(err, CERR_LOCAL, _("cannot attach the socket: %s"),
			 net_ssl_reason(buf, sizeof(buf)));
		return -1;
	}
	return 0;
}

static int net_handshake(struct net_conn *c, int64_t deadline, struct cerr *err)
{
	int ret, rc;

	for (;;) {
		ERR_clear_error();
		ret = SSL_connect(c->ssl);
		if (ret == 1)
			return 0;
		rc = net_ssl_retry(c, ret, deadline, err);
		if (rc == 0)
			continue;
		if (rc == NET_TIMEOUT)
			net_timeout_error(c, _("in the TLS handshake with"),
					  err);
		else if (rc == NET_EOF)
			cerr_set(err, CERR_TLS,
				 _("server %s closed the connection during the "
				   "TLS handshake"),
				 c->server);
		return -1;
	}
}

static int net_write_all(struct net_conn *c, const uint8_t *buf, size_t len,
			 int64_t deadline, struct cerr *err)
{
	int ret, rc;

	while (len > 0) {
		int n = len > 65536 ? 65536 : (int)len;

		ERR_clear_error();
		ret = SSL_write(c->ssl, buf, n);
		if (ret > 0) {
			buf += ret;
			len -= (size_t)ret;
			continue;
		}
		rc = net_ssl_retry(c, ret, deadline, err);
		if (rc == 0)
			continue;
		if (rc == NET_TIMEOUT)
			net_timeout_error(c, _("sending to"), err);
		else if (rc == NET_EOF)
			net_eof_error(c, err);
		return -1;
	}
	return 0;
}

/*
 * Read one frame. 0 and *out; NET_TIMEOUT when `deadline` passed with no
 * complete frame (the bytes read so far are kept); -1 with `err` set.
 */
static int net_read_frame(struct net_conn *c, int64_t deadline,
			  struct frame_msg **out, struct cerr *err)
{
	uint32_t len = 0;
	int ret, rc;

	*out = NULL;
	for (;;) {
		enum frame_status st =
			frame_peek(c->rbuf, c->rlen, FRAME_DEFAULT_MAX, &len);
		size_t need;

		if (st == FRAME_READY) {
			size_t total = FRAME_HEADER_LEN + (size_t)len;

			*out = frame_decode(c->rbuf + FRAME_HEADER_LEN, len);
			if (*out == NULL) {
				cerr_set(err, CERR_PROTOCOL,
					 _("undecodable frame of %u bytes from "
					   "server %s"),
					 len, c->server);
				return -1;
			}
			memmove(c->rbuf, c->rbuf + total, c->rlen - total);
			c->rlen -= total;
			return 0;
		}
		if (st == FRAME_TOO_LARGE) {
			cerr_set(err, CERR_PROTOCOL,
				 _("server %s announced a frame of %u bytes "
				   "(this client accepts at most %u)"),
				 c->server, len, FRAME_DEFAULT_MAX);
			return -1;
		}
		if (st == FRAME_EMPTY) {
			cerr_set(err, CERR_PROTOCOL,
				 _("empty frame from server %s"), c->server);
			return -1;
		}
		/* FRAME_NEED_MORE: make room for the whole frame. */
		need = c->rlen >= FRAME_HEADER_LEN
			       ? FRAME_HEADER_LEN + (size_t)len
			       : FRAME_HEADER_LEN;
		if (need < NET_RBUF_INITIAL)
			need = NET_RBUF_INITIAL;
		if (need > NET_RBUF_MAX)
			need = NET_RBUF_MAX;
		if (c->rcap < need) {
			uint8_t *nb = realloc(c->rbuf, need);

			if (nb == NULL) {
				cerr_set(err, CERR_LOCAL, _("out of memory"));
				return -1;
			}
			c->rbuf = nb;
			c->rcap = need;
		}
		ERR_clear_error();
		ret = SSL_read(c->ssl, c->rbuf + c->rlen,
			       (int)(c->rcap - c->rlen));
		if (ret > 0) {
			c->rlen += (size_t)ret;
			continue;
		}
		rc = net_ssl_retry(c, ret, deadline, err);
		if (rc == 0)
			continue;
		if (rc == NET_EOF)
			net_eof_error(c, err);
		if (rc == NET_TIMEOUT)
			return NET_TIMEOUT;
		return -1;
	}
}

static void net_fail(struct net_conn *c)
{
	c->state = NET_BROKEN;
}

/*
 * Sending Hello failed on a reset connection: with TLS 1.3 the server may
 * have judged our certificate, sent its alert (or an Error) and closed while
 * Hello was on its way. Read what it said, if anything, to report that
 * instead of the reset.
 */
static void net_hello_verdict(struct net_conn *c, int64_t deadline,
			      struct cerr *err)
{
	struct frame_msg *msg = NULL;
	struct cerr rerr;
	int rc;

	memset(&rerr, 0, sizeof(rerr));
	rc = net_read_frame(c, deadline, &msg, &rerr);
	if (rc == 0) {
		if (msg->env->body_case == MAILLAGE__ENVELOPE__BODY_ERROR)
			cerr_from_server(err, msg->env->error);
		frame_msg_free(msg);
	} else if (rc < 0 &&
		   (rerr.kind == CERR_CERT_REFUSED || rerr.kind == CERR_TLS)) {
		*err = rerr;
	}
}

/* A connection lost before Welcome: most likely our certificate. */
static void net_hello_hint(struct cerr *err)
{
	char was[CERR_MESSAGE_MAX];

	if (err->kind != CERR_NETWORK)
		return;
	snprintf(was, sizeof(was), "%s", err->message);
	cerr_set(err, CERR_CERT_REFUSED,
		 _("%s, before Welcome: the server may have refused the client "
		   "certificate"),
		 was);
}

/* Send `req` with the next id; returns the id, 0 on failure. */
static uint64_t net_send(struct net_conn *c, Maillage__Envelope *req,
			 int64_t deadline, struct cerr *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	req->request_id = c->next_id++;
	if (frame_encode(req, c->send_max, &buf, &len) != 0) {
		cerr_set(err, CERR_LOCAL,
			 _("cannot encode the %s request (larger than the %u "
			   "bytes the server accepts?)"),
			 frame_body_name(req), c->send_max);
		return 0;
	}
	rc = net_write_all(c, buf, len, deadline, err);
	free(buf);
	if (rc != 0) {
		if (c->state == NET_HELLO && err->kind == CERR_NETWORK) {
			net_hello_verdict(c, deadline, err);
			net_hello_hint(err);
		}
		net_fail(c);
		return 0;
	}
	return req->request_id;
}

/* Wait for the response to `id`, passing events on. */
static int net_await(struct net_conn *c, uint64_t id, int64_t deadline,
		     struct frame_msg **resp, struct cerr *err)
{
	struct frame_msg *msg;
	int rc;

	for (;;) {
		rc = net_read_frame(c, deadline, &msg, err);
		if (rc == NET_TIMEOUT) {
			net_timeout_error(c, _("waiting for an answer from"),
					  err);
			net_fail(c);
			return -1;
		}
		if (rc != 0) {
			net_fail(c);
			return -1;
		}
		if (msg->env->request_id == id) {
			if (msg->env->body_case ==
			    MAILLAGE__ENVELOPE__BODY_ERROR) {
				cerr_from_server(err, msg->env->error);
				frame_msg_free(msg);
				return -1;
			}
			*resp = msg;
			return 0;
		}
		if (msg->env->request_id != 0) {
			cerr_set(err, CERR_PROTOCOL,
				 _("server %s answered request %llu while "
				   "request %llu was waiting"),
				 c->server,
				 (unsigned long long)msg->env->request_id,
				 (unsigned long long)id);
			frame_msg_free(msg);
			net_fail(c);
			return -1;
		}
		if (msg->env->body_case == MAILLAGE__ENVELOPE__BODY_ERROR) {
			/* An error about the connection itself (framing). */
			cerr_from_server(err, msg->env->error);
			frame_msg_free(msg);
			net_fail(c);
			return -1;
		}
		if (c->event_cb != NULL)
			c->event_cb(c, msg, c->event_arg);
		frame_msg_free(msg);
	}
}

static int net_hello(struct net_conn *c, const char *client_name,
		     int64_t deadline, struct cerr *err)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__Hello hello = MAILLAGE__HELLO__INIT;
	struct frame_msg *msg = NULL;
	const Maillage__Welcome *w;
	uint64_t id;

	hello.protocol_version = NET_PROTOCOL_VERSION;
	hello.client_name = (char *)client_name;
	env.body_case = MAILLAGE__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	c->state = NET_HELLO;
	id = net_send(c, &env, deadline, err);
	if (id == 0)
		return -1;
	if (net_await(c, id, deadline, &msg, err) != 0) {
		net_hello_hint(err);
		net_fail(c);
		return -1;
	}
	if (msg->env->body_case != MAILLAGE__ENVELOPE__BODY_WELCOME ||
	    msg->env->welcome->account == NULL) {
		cerr_set(err, CERR_PROTOCOL,
			 _("server %s answered Hello with %s instead of "
			   "Welcome"),
			 c->server, frame_body_name(msg->env));
		frame_msg_free(msg);
		net_fail(c);
		return -1;
	}
	w = msg->env->welcome;
	if (w->protocol_version != NET_PROTOCOL_VERSION) {
		cerr_set(err, CERR_PROTOCOL,
			 _("server %s speaks protocol version %u, this client "
			   "version %u"),
			 c->server, w->protocol_version, NET_PROTOCOL_VERSION);
		frame_msg_free(msg);
		net_fail(c);
		return -1;
	}
	/* Bounded: never trust an announced size beyond our own ceiling. */
	c->send_max = w->max_frame == 0 ? FRAME_DEFAULT_MAX : w->max_frame;
	if (c->send_max > FRAME_ABSOLUTE_MAX)
		c->send_max = FRAME_ABSOLUTE_MAX;
	c->welcome = msg;
	c->state = NET_READY;
	return 0;
}

int net_connect(const struct conf *conf, const char *client_name,
		struct net_conn **out, struct cerr *err)
{
	struct net_conn *c;
	int64_t deadline;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		cerr_set(err, CERR_LOCAL, _("out of memory"));
		return -1;
	}
	c->fd = -1;
	c->alert = -1;
	c->state = NET_HANDSHAKE;
	c->server = conf->server;
	c->server_name = conf->server_name;
	c->timeout_ms = (int)conf->timeout * 1000;
	c->next_id = 1;
	c->send_max = FRAME_DEFAULT_MAX;
	deadline = net_deadline(c->timeout_ms);

	/* Local files first: a configuration error needs no server. */
	if (net_tls_context(c, conf, err) != 0 ||
	    net_tcp_connect(c, conf, deadline, err) != 0 ||
	    net_tls_session(c, conf, err) != 0 ||
	    net_handshake(c, deadline, err) != 0 ||
	    net_hello(c, client_name, deadline, err) != 0) {
		net_close(c);
		return -1;
	}
	*out = c;
	return 0;
}

void net_close(struct net_conn *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL) {
		if (c->state == NET_READY)
			SSL_shutdown(c->ssl); /* close_notify, no wait */
		SSL_free(c->ssl);
	}
	SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	ERR_clear_error();
	frame_msg_free(c->welcome);
	free(c->rbuf);
	free(c);
}

const Maillage__Welcome *net_welcome(const struct net_conn *c)
{
	return c->welcome != NULL ? c->welcome->env->welcome : NULL;
}

const char *net_tls_version(const struct net_conn *c)
{
	return SSL_get_version(c->ssl);
}

void net_set_event_cb(struct net_conn *c, net_event_cb cb, void *arg)
{
	c->event_cb = cb;
	c->event_arg = arg;
}

int net_request(struct net_conn *c, Maillage__Envelope *req,
		struct frame_msg **resp, struct cerr *err)
{
	int64_t deadline = net_deadline(c->timeout_ms);
	uint64_t id;

	*resp = NULL;
	if (c->state != NET_READY) {
		cerr_set(err, CERR_LOCAL,
			 _("the connection to server %s is no longer usable"),
			 c->server);
		return -1;
	}
	id = net_send(c, req, deadline, err);
	if (id == 0)
		return -1;
	return net_await(c, id, deadline, resp, err);
}

int net_call(struct net_conn *c, Maillage__Envelope *req,
	     Maillage__Envelope__BodyCase expect, struct frame_msg **resp,
	     struct cerr *err)
{
	if (net_request(c, req, resp, err) != 0)
		return -1;
	if ((*resp)->env->body_case != expect) {
		cerr_set(err, CERR_PROTOCOL, _("server %s answered %s with %s"),
			 c->server, frame_body_name(req),
			 frame_body_name((*resp)->env));
		frame_msg_free(*resp);
		*resp = NULL;
		return -1;
	}
	return 0;
}

int net_recv(struct net_conn *c, int timeout_ms, struct frame_msg **msg,
	     struct cerr *err)
{
	int rc;

	*msg = NULL;
	if (c->state != NET_READY) {
		cerr_set(err, CERR_LOCAL,
			 _("the connection to server %s is no longer usable"),
			 c->server);
		return -1;
	}
	rc = net_read_frame(c, net_deadline(timeout_ms), msg, err);
	if (rc < 0)
		net_fail(c);
	return rc;
}
