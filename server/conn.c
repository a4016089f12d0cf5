/*
 * conn: client connections, framing and their state machine; see conn.h.
 */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dispatch.h"
#include "events.h"
#include "frame.h"
#include "log.h"
#include "server.h"
#include "session.h"
#include "tls.h"

#define CONN_CLOSE_GRACE_SEC 5
#define CONN_LINGER_SEC 2
/* The largest frame written without the bufferevent: one TLS record. */
#define CONN_DIRECT_WRITE_MAX 16384

static const char *const conn_state_names[] = {
	"handshake", "hello", "auth", "ready", "closing", "linger"};

/* Live connections: a slot table for lookup by id, a list for iteration. */
static struct conn **conn_slots;
static uint32_t conn_nslots;
static uint32_t *conn_free_slots; /* a stack of the free slots */
static uint32_t conn_nfree;
static uint32_t conn_generation;
static unsigned conn_live;
static TAILQ_HEAD(, conn) conn_list = TAILQ_HEAD_INITIALIZER(conn_list);

static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_write_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);
static void conn_free(struct conn *c);

const char *conn_role_name(Maillage__Role role)
{
	switch (role) {
	case MAILLAGE__ROLE__PARTNER:
		return "partner";
	case MAILLAGE__ROLE__COORDINATOR:
		return "coordinator";
	case MAILLAGE__ROLE__AUDITOR:
		return "auditor";
	case MAILLAGE__ROLE__ADMIN:
		return "admin";
	default:
		return "none";
	}
}

const char *conn_error_code_name(Maillage__ErrorCode code)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
		&maillage__error_code__descriptor, (int)code);

	return v != NULL ? v->name : "ERROR_CODE_UNSPECIFIED";
}

static void conn_set_state(struct conn *c, enum conn_state state)
{
	if (c->state == state)
		return;
	log_debug("conn %" PRIu64 " %s: %s -> %s", c->id, c->peer,
		  conn_state_names[c->state], conn_state_names[state]);
	c->state = state;
}

/* ---- table --------------------------------------------------------- */

/* Grow the table; the new slots go on the free stack, lowest on top. */
static int conn_table_grow(void)
{
	uint32_t n = conn_nslots == 0 ? 64 : conn_nslots * 2, i;
	struct conn **s = realloc(conn_slots, n * sizeof(*s));
	uint32_t *f;

	if (s == NULL)
		return -1;
	conn_slots = s;
	f = realloc(conn_free_slots, n * sizeof(*f));
	if (f == NULL)
		return -1;
	conn_free_slots = f;
	memset(s + conn_nslots, 0, (n - conn_nslots) * sizeof(*s));
	for (i = n; i > conn_nslots; i--)
		conn_free_slots[conn_nfree++] = i - 1;
	conn_nslots = n;
	return 0;
}

static int conn_table_put(struct conn *c)
{
	uint32_t i;

	if (conn_nfree == 0 && conn_table_grow() != 0)
		return -1;
	i = conn_free_slots[--conn_nfree];
	conn_slots[i] = c;
	c->id = ((uint64_t)++conn_generation << 32) | i;
	TAILQ_INSERT_TAIL(&conn_list, c, entry);
	conn_live++;
	return 0;
}

static void conn_table_del(struct conn *c)
{
	uint32_t slot = (uint32_t)(c->id & 0xffffffffu);

	if (slot < conn_nslots && conn_slots[slot] == c) {
		conn_slots[slot] = NULL;
		conn_free_slots[conn_nfree++] = slot;
	}
	TAILQ_REMOVE(&conn_list, c, entry);
	conn_live--;
}

struct conn *conn_find(uint64_t id)
{
	uint32_t slot = (uint32_t)(id & 0xffffffffu);

	if (slot >= conn_nslots || conn_slots[slot] == NULL ||
	    conn_slots[slot]->id != id)
		return NULL;
	return conn_slots[slot];
}

unsigned conn_count(void)
{
	return conn_live;
}

/* ---- output -------------------------------------------------------- */

/*
 * The output limit is reached: queue one small Error saying so past the
 * limit (a client that reads slowly learns why; one that never reads holds
 * it only for the close grace period) and close. A subscriber resumes from
 * its last sequence number when it reconnects.
 */
static void conn_send_limit_reason(struct conn *c)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__Error err = MAILLAGE__ERROR__INIT;
	uint8_t *buf;
	size_t len;

	err.code = MAILLAGE__ERROR_CODE__RATE_LIMITED;
	err.message = (char *)"output limit reached: the client does not read "
			      "fast enough; reconnect and resume";
	err.field = (char *)"";
	env.body_case = MAILLAGE__ENVELOPE__BODY_ERROR;
	env.error = &err;
	if (frame_encode(&env, c->srv->cfg.max_frame, &buf, &len) == 0) {
		bufferevent_write(c->bev, buf, len);
		free(buf);
	}
	conn_close(c, "output limit reached");
}

/*
 * A frame for a connection with nothing queued goes straight to SSL_write:
 * libevent's OpenSSL bufferevent would copy it into its output buffer,
 * register the socket for writing (epoll_ctl), write it on the next loop
 * turn and unregister it (epoll_ctl again), which is half of what a
 * delivery to a subscriber costs. Returns how many bytes were written (all or
 * none: partial writes are not enabled). Anything else (the socket full,
 * the session wanting to read first, an error) leaves the frame to the
 * bufferevent, which retries the same record as OpenSSL requires (the
 * frame is alone and contiguous in the empty output buffer, and libevent
 * sets SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER) or reports the error.
 */
static size_t conn_write_direct(struct conn *c, struct evbuffer *out,
				const uint8_t *buf, size_t len)
{
	SSL *ssl;
	int r;

	if (c->state == CONN_HANDSHAKE || len == 0 ||
	    len > CONN_DIRECT_WRITE_MAX || evbuffer_get_length(out) != 0)
		return 0;
	ssl = bufferevent_openssl_get_ssl(c->bev);
	if (ssl == NULL)
		return 0;
	r = SSL_write(ssl, buf, (int)len);
	if (r > 0)
		return (size_t)r;
	ERR_clear_error();
	return 0;
}

int conn_send_frame(struct conn *c, const uint8_t *buf, size_t len)
{
	struct evbuffer *out;
	size_t done;

	if (c->state == CONN_CLOSING || c->state == CONN_LINGER)
		return -1;
	out = bufferevent_get_output(c->bev);
	done = conn_write_direct(c, out, buf, len);
	if (done == len)
		return 0;
	buf += done;
	len -= done;
	if (evbuffer_get_length(out) + len > c->srv->cfg.output_limit) {
		log_warnx("conn %" PRIu64 " %s: output limit reached "
			  "(the client does not read), closing",
			  c->id, c->peer);
		conn_send_limit_reason(c);
		return -1;
	}
	if (bufferevent_write(c->bev, buf, len) != 0) {
		/*
		 * A frame lost breaks the stream (and OpenSSL may hold the
		 * start of its record, to be retried with the same bytes):
		 * the connection cannot go on.
		 */
		log_warnx("conn %" PRIu64 ": write failed (no memory), closing",
			  c->id);
		conn_close(c, "write failed");
		return -1;
	}
	return 0;
}

void conn_send(struct conn *c, Maillage__Envelope *env)
{
	uint8_t *buf;
	size_t len;

	if (c->state == CONN_CLOSING || c->state == CONN_LINGER)
		return;
	if (frame_encode(env, c->srv->cfg.max_frame, &buf, &len) != 0) {
		log_warnx("conn %" PRIu64 ": reply %s too large or no memory",
			  c->id, frame_body_name(env));
		/* Answer the request all the same, with a small error. */
		if (env->request_id != 0 &&
		    env->body_case != MAILLAGE__ENVELOPE__BODY_ERROR)
			conn_send_error(c, env->request_id,
					MAILLAGE__ERROR_CODE__INTERNAL, NULL,
					"the answer exceeds the frame limit");
		return;
	}
	conn_send_frame(c, buf, len);
	free(buf);
}

void conn_send_error(struct conn *c, uint64_t request_id,
		     Maillage__ErrorCode code, const char *field,
		     const char *message)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__Error err = MAILLAGE__ERROR__INIT;

	err.code = code;
	err.message = (char *)(message != NULL ? message : "");
	err.field = (char *)(field != NULL ? field : "");
	env.request_id = request_id;
	env.body_case = MAILLAGE__ENVELOPE__BODY_ERROR;
	env.error = &err;
	log_debug("conn %" PRIu64 ": request %" PRIu64 " -> %s%s%s", c->id,
		  request_id, conn_error_code_name(code),
		  field != NULL ? " field " : "", field != NULL ? field : "");
	conn_send(c, &env);
}

/* ---- closing ------------------------------------------------------- */

static void conn_free(struct conn *c)
{
	log_debug("conn %" PRIu64 " %s: freed", c->id, c->peer);
	events_unsubscribe(c);
	conn_table_del(c);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	free(c);
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->state == CONN_HANDSHAKE || c->state == CONN_HELLO)
		log_info("conn %" PRIu64 " %s: handshake timeout", c->id,
			 c->peer);
	conn_free(c);
}

static void conn_timer_set(struct conn *c, unsigned sec)
{
	struct timeval tv = {(time_t)sec, 0};

	evtimer_add(c->timer, &tv);
}

/* Replies flushed: say close_notify, half-close, and drain the peer. */
static void conn_linger(struct conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	evutil_socket_t fd = bufferevent_getfd(c->bev);

	conn_set_state(c, CONN_LINGER);
	if (ssl != NULL) {
		(void)SSL_shutdown(ssl);
		ERR_clear_error();
	}
	if (fd >= 0)
		(void)shutdown(fd, SHUT_WR);
	bufferevent_setcb(c->bev, conn_read_cb, NULL, conn_event_cb, c);
	bufferevent_enable(c->bev, EV_READ);
	conn_timer_set(c, CONN_LINGER_SEC);
}

void conn_close(struct conn *c, const char *why)
{
	if (c->state == CONN_CLOSING || c->state == CONN_LINGER)
		return;
	log_debug("conn %" PRIu64 " %s: closing: %s", c->id, c->peer, why);
	conn_set_state(c, CONN_CLOSING);
	bufferevent_disable(c->bev, EV_READ);
	evtimer_del(c->timer);
	conn_timer_set(c, CONN_CLOSE_GRACE_SEC);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_linger(c);
	else
		bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb,
				  conn_event_cb, c);
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (c->state == CONN_CLOSING &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_linger(c);
}

/* Error reply, then close: for framing violations and refusals. */
static void conn_fail(struct conn *c, uint64_t request_id,
		      Maillage__ErrorCode code, const char *message)
{
	conn_send_error(c, request_id, code, NULL, message);
	conn_close(c, conn_error_code_name(code));
}

void conn_revoke(struct conn *c, const char *message)
{
	if (c->state == CONN_CLOSING || c->state == CONN_LINGER)
		return;
	log_info("conn %" PRIu64 " %s: cut: %s", c->id, c->peer, message);
	conn_fail(c, 0, MAILLAGE__ERROR_CODE__UNAUTHENTICATED, message);
}

void conn_foreach(void (*fn)(struct conn *c, void *arg), void *arg)
{
	struct conn *c, *next;

	for (c = TAILQ_FIRST(&conn_list); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		fn(c, arg);
	}
}

/* ---- requests ------------------------------------------------------ */

void conn_request_done(struct conn *c)
{
	if (c->inflight > 0)
		c->inflight--;
	if (c->read_paused && c->inflight < CONN_MAX_INFLIGHT &&
	    c->state == CONN_READY) {
		c->read_paused = 0;
		bufferevent_enable(c->bev, EV_READ);
	}
	if (c->srv->draining && c->inflight == 0)
		conn_close(c, "shutting down");
}

void conn_set_watching(struct conn *c)
{
	bufferevent_set_timeouts(c->bev, NULL, NULL);
}

size_t conn_output_pending(const struct conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev));
}

void conn_authenticated(struct conn *c)
{
	struct timeval idle = {(time_t)c->srv->cfg.idle_timeout, 0};

	evtimer_del(c->timer);
	conn_set_state(c, CONN_READY);
	log_info("conn %" PRIu64 " %s: authenticated as %s (%s, %s)", c->id,
		 c->peer, c->account.login, c->account.institution,
		 conn_role_name(c->account.role));
	bufferevent_set_timeouts(c->bev, &idle, NULL);
	bufferevent_enable(c->bev, EV_READ);
	if (c->srv->draining)
		conn_close(c, "shutting down");
}

static void conn_handle_hello(struct conn *c, const Maillage__Envelope *env)
{
	const Maillage__Hello *h = env->hello;

	if (h->protocol_version !=
	    MAILLAGE__PROTOCOL_VERSION__PROTOCOL_VERSION_1) {
		conn_fail(c, env->request_id,
			  MAILLAGE__ERROR_CODE__UNSUPPORTED_VERSION,
			  "protocol version 1 is the only one spoken");
		return;
	}
	conn_set_state(c, CONN_AUTH);
	bufferevent_disable(c->bev, EV_READ);
	session_authenticate(c, env->request_id);
}

static void conn_handle(struct conn *c, const Maillage__Envelope *env)
{
	if (c->state == CONN_HELLO) {
		if (env->body_case != MAILLAGE__ENVELOPE__BODY_HELLO) {
			conn_fail(c, env->request_id,
				  MAILLAGE__ERROR_CODE__PROTOCOL_ERROR,
				  "the first message must be hello");
			return;
		}
		conn_handle_hello(c, env);
		return;
	}
	if (env->body_case == MAILLAGE__ENVELOPE__BODY_HELLO) {
		conn_send_error(c, env->request_id,
				MAILLAGE__ERROR_CODE__PROTOCOL_ERROR, "hello",
				"hello was already received");
		return;
	}
	c->inflight++;
	if (c->inflight >= CONN_MAX_INFLIGHT) {
		c->read_paused = 1;
		bufferevent_disable(c->bev, EV_READ);
	}
	dispatch_request(c, env);
}

/*
 * Take one frame off the input if a whole one is there. Returns 1 when a
 * frame was handled and another may follow, 0 to wait for more bytes, -1
 * when the connection is being closed.
 */
static int conn_read_frame(struct conn *c, struct evbuffer *in)
{
	size_t avail = evbuffer_get_length(in);
	uint8_t hdr[FRAME_HEADER_LEN];
	uint32_t body_len = 0;
	struct frame_msg *msg;
	unsigned char *p;

	if (avail < FRAME_HEADER_LEN)
		return 0;
	evbuffer_copyout(in, hdr, FRAME_HEADER_LEN);
	switch (frame_peek(hdr, avail, c->srv->cfg.max_frame, &body_len)) {
	case FRAME_NEED_MORE:
		return 0;
	case FRAME_TOO_LARGE:
		log_info("conn %" PRIu64 " %s: frame of %" PRIu32
			 " bytes refused (max %" PRIu32 ")",
			 c->id, c->peer, body_len, c->srv->cfg.max_frame);
		conn_fail(c, 0, MAILLAGE__ERROR_CODE__FRAME_TOO_LARGE,
			  "frame exceeds the server's maximum size");
		return -1;
	case FRAME_EMPTY:
		conn_fail(c, 0, MAILLAGE__ERROR_CODE__PROTOCOL_ERROR,
			  "empty frame");
		return -1;
	case FRAME_READY:
		break;
	}
	p = evbuffer_pullup(in, (ev_ssize_t)(FRAME_HEADER_LEN + body_len));
	msg = p != NULL ? frame_decode(p + FRAME_HEADER_LEN, body_len) : NULL;
	evbuffer_drain(in, FRAME_HEADER_LEN + body_len);
	if (msg == NULL) {
		log_info("conn %" PRIu64 " %s: undecodable frame", c->id,
			 c->peer);
		conn_fail(c, 0, MAILLAGE__ERROR_CODE__PROTOCOL_ERROR,
			  "undecodable frame");
		return -1;
	}
	conn_handle(c, msg->env);
	frame_msg_free(msg);
	return 1;
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint64_t id = c->id;

	if (c->state == CONN_LINGER || c->state == CONN_CLOSING) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	/* Handling a frame may free the connection: re-find it by id. */
	while (conn_find(id) == c &&
	       (c->state == CONN_HELLO || c->state == CONN_READY) &&
	       !c->read_paused) {
		if (conn_read_frame(c, in) <= 0)
			break;
	}
}

static void conn_handshake_done(struct conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	X509 *cert = ssl != NULL ? SSL_get0_peer_certificate(ssl) : NULL;

	if (cert == NULL || cert_fingerprint(cert, c->fingerprint) != 0) {
		log_info("conn %" PRIu64 " %s: no usable client certificate",
			 c->id, c->peer);
		conn_free(c);
		return;
	}
	c->cert_not_after = cert_not_after(cert);
	log_debug("conn %" PRIu64 " %s: TLS %s established, certificate %s",
		  c->id, c->peer, SSL_get_version(ssl), c->fingerprint);
	conn_set_state(c, CONN_HELLO);
	conn_read_cb(c->bev, c);
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	char reason[256];

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		conn_handshake_done(c);
		return;
	}
	if (c->state == CONN_HANDSHAKE && (what & BEV_EVENT_ERROR)) {
		unsigned long e, last = 0;
		while ((e = bufferevent_get_openssl_error(c->bev)) != 0)
			last = e;
		log_info("conn %" PRIu64 " %s: TLS handshake failed: %s", c->id,
			 c->peer,
			 tls_failure_reason(bufferevent_openssl_get_ssl(c->bev),
					    last, reason, sizeof(reason)));
		ERR_clear_error();
		conn_free(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		log_info("conn %" PRIu64 " %s: idle timeout", c->id, c->peer);
		conn_close(c, "idle timeout");
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		log_debug("conn %" PRIu64 " %s: closed by peer (%s)", c->id,
			  c->peer, conn_state_names[c->state]);
		ERR_clear_error();
		conn_free(c);
	}
}

/* ---- accept -------------------------------------------------------- */

static void conn_format_peer(const struct sockaddr *sa, int salen, char *out,
			     size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	(void)salen;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(out, len, "%s:%u", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(out, len, "[%s]:%u", host, port);
	} else {
		snprintf(out, len, "local");
	}
}

void conn_accept(struct server *srv, evutil_socket_t fd,
		 const struct sockaddr *sa, int salen)
{
	struct conn *c;
	SSL *ssl;

	if (srv->draining || conn_live >= srv->cfg.max_connections) {
		log_warnx("connection refused: %s",
			  srv->draining ? "shutting down"
					: "max_connections reached");
		evutil_closesocket(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	ssl = c != NULL ? SSL_new(srv->ssl_ctx) : NULL;
	if (ssl == NULL || conn_table_put(c) != 0) {
		log_warnx("connection refused: out of memory");
		SSL_free(ssl);
		free(c);
		evutil_closesocket(fd);
		return;
	}
	c->srv = srv;
	c->state = CONN_HANDSHAKE;
	conn_format_peer(sa, salen, c->peer, sizeof(c->peer));
	if (srv->cfg.send_buffer > 0) {
		int sz = (int)srv->cfg.send_buffer;
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) != 0)
			log_debug("conn %" PRIu64 ": SO_SNDBUF: %s", c->id,
				  strerror(errno));
	}
	c->bev = bufferevent_openssl_socket_new(
		srv->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
		BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	c->timer = evtimer_new(srv->base, conn_timer_cb, c);
	if (c->bev == NULL || c->timer == NULL) {
		if (c->bev == NULL) {
			SSL_free(ssl);
			evutil_closesocket(fd);
		}
		conn_free(c);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	bufferevent_setwatermark(c->bev, EV_READ, 0,
				 FRAME_HEADER_LEN + srv->cfg.max_frame);
	bufferevent_setcb(c->bev, conn_read_cb, NULL, conn_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	conn_timer_set(c, srv->cfg.handshake_timeout);
	log_debug("conn %" PRIu64 " %s: accepted", c->id, c->peer);
}

/* ---- shutdown ------------------------------------------------------ */

void conn_drain_all(struct server *srv)
{
	struct conn *c, *next;

	(void)srv;
	for (c = TAILQ_FIRST(&conn_list); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->state == CONN_HANDSHAKE || c->state == CONN_HELLO)
			conn_free(c);
		else if (c->state == CONN_READY && c->inflight == 0)
			conn_close(c, "shutting down");
	}
}

void conn_free_all(void)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&conn_list)) != NULL)
		conn_free(c);
	free(conn_slots);
	free(conn_free_slots);
	conn_slots = NULL;
	conn_free_slots = NULL;
	conn_nslots = conn_nfree = 0;
}
