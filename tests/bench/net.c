/*
 * net: the generator's mTLS client connections on libevent's OpenSSL
 * bufferevents, and the maillage framing on top; see bench.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

static struct sockaddr_storage net_addr;
static socklen_t net_addrlen;

static void net_resolve(void)
{
	struct addrinfo hints, *ai = NULL;
	char port[16];
	int rc;

	if (net_addrlen != 0)
		return;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", opts.port);
	rc = getaddrinfo(opts.host, port, &hints, &ai);
	if (rc != 0 || ai == NULL)
		bench_die("cannot resolve %s:%d: %s", opts.host, opts.port,
			  gai_strerror(rc));
	memcpy(&net_addr, ai->ai_addr, ai->ai_addrlen);
	net_addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
}

static void net_ssl_die(const char *what, const char *path)
{
	char buf[256];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	bench_die("%s %s: %s", what, path != NULL ? path : "", buf);
}

SSL_CTX *bench_client_ctx(const char *crt, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		net_ssl_die("SSL_CTX_new", NULL);
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	/* Every connection makes a full handshake, as a new client does. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	if (SSL_CTX_load_verify_locations(ctx, opts.ca, NULL) != 1)
		net_ssl_die("cannot load CA", opts.ca);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (crt != NULL && crt[0] != '\0') {
		if (SSL_CTX_use_certificate_chain_file(ctx, crt) != 1)
			net_ssl_die("cannot load certificate", crt);
		if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) !=
			    1 ||
		    SSL_CTX_check_private_key(ctx) != 1)
			net_ssl_die("cannot load key", key);
	}
	return ctx;
}

void bench_load_certs(void)
{
	int i;

	if (opts.ca[0] == '\0')
		bench_die("--ca is required");
	for (i = 0; i < opts.ncerts; i++)
		opts.certs[i].ctx =
			bench_client_ctx(opts.certs[i].crt, opts.certs[i].key);
	if (opts.has_sender)
		opts.sender.ctx =
			bench_client_ctx(opts.sender.crt, opts.sender.key);
}

/* ---- connections ---------------------------------------------------- */

static void bconn_close(struct bconn *c, const char *why)
{
	c->state = BCONN_CLOSED;
	if (c->ops->closed != NULL)
		c->ops->closed(c, why);
	bconn_free(c);
}

static void bconn_read_cb(struct bufferevent *bev, void *arg)
{
	struct bconn *c = arg;

	if (c->state == BCONN_OPEN && c->ops->readable != NULL)
		c->ops->readable(c, bufferevent_get_input(bev));
}

static void bconn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct bconn *c = arg;
	char why[256];
	unsigned long e, last = 0;
	int err;

	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;
		evutil_socket_t fd = bufferevent_getfd(bev);

		if (fd >= 0)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				   sizeof(one));
		c->state = BCONN_OPEN;
		c->t_open = bench_now_ns();
		if (c->ops->open != NULL)
			c->ops->open(c);
		return;
	}
	err = EVUTIL_SOCKET_ERROR();
	while ((e = bufferevent_get_openssl_error(bev)) != 0)
		last = e;
	/* libevent queues SSL_get_error() codes (< 256) beside real errors. */
	if (last >= 256 && !ERR_SYSTEM_ERROR(last)) {
		ERR_error_string_n(last, why, sizeof(why));
	} else if ((what & BEV_EVENT_EOF) && c->state == BCONN_OPEN) {
		snprintf(why, sizeof(why), "closed by the server");
	} else if (what & BEV_EVENT_EOF) {
		snprintf(why, sizeof(why),
			 "refused, or closed during the TLS handshake");
	} else if (err != 0) {
		snprintf(why, sizeof(why), "%s",
			 evutil_socket_error_to_string(err));
	} else {
		snprintf(why, sizeof(why), "connection failed or reset");
	}
	ERR_clear_error();
	bconn_close(c, why);
}

struct bconn *bconn_new(SSL_CTX *ctx, const struct bconn_ops *ops, void *user,
			int index)
{
	struct bconn *c;
	SSL *ssl;

	net_resolve();
	c = calloc(1, sizeof(*c));
	ssl = SSL_new(ctx);
	if (c == NULL || ssl == NULL) {
		free(c);
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_tlsext_host_name(ssl, opts.server_name);
	SSL_set1_host(ssl, opts.server_name);
	c->ops = ops;
	c->user = user;
	c->index = index;
	c->state = BCONN_CONNECTING;
	c->t_start = bench_now_ns();
	c->bev = bufferevent_openssl_socket_new(bench_base, -1, ssl,
						BUFFEREVENT_SSL_CONNECTING,
						BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		SSL_free(ssl);
		free(c);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	bufferevent_setcb(c->bev, bconn_read_cb, NULL, bconn_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&net_addr,
				       (int)net_addrlen) != 0) {
		bufferevent_free(c->bev);
		free(c);
		return NULL;
	}
	return c;
}

void bconn_free(struct bconn *c)
{
	evutil_socket_t fd;

	if (c == NULL)
		return;
	fd = bufferevent_getfd(c->bev);
	if (fd >= 0) {
		/* Reset rather than close: thousands of connections a second
		 * would otherwise fill the port range with TIME_WAIT. */
		struct linger lg = {1, 0};
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	bufferevent_free(c->bev);
	free(c);
}

void bconn_write(struct bconn *c, const void *data, size_t len)
{
	bufferevent_write(c->bev, data, len);
}

void bconn_send(struct bconn *c, Maillage__Envelope *env)
{
	uint8_t *buf;
	size_t len;

	if (frame_encode(env, FRAME_DEFAULT_MAX, &buf, &len) != 0)
		bench_die("cannot encode a %s", frame_body_name(env));
	bufferevent_write(c->bev, buf, len);
	free(buf);
}

int bconn_frame(struct evbuffer *in, struct frame_msg **msg)
{
	uint8_t hdr[FRAME_HEADER_LEN];
	size_t avail = evbuffer_get_length(in);
	uint32_t len = 0;
	unsigned char *p;

	*msg = NULL;
	if (avail < FRAME_HEADER_LEN)
		return 0;
	evbuffer_copyout(in, hdr, FRAME_HEADER_LEN);
	switch (frame_peek(hdr, avail, FRAME_ABSOLUTE_MAX, &len)) {
	case FRAME_NEED_MORE:
		return 0;
	case FRAME_READY:
		break;
	default:
		return -1;
	}
	p = evbuffer_pullup(in, (ev_ssize_t)(FRAME_HEADER_LEN + len));
	if (p == NULL)
		return -1;
	*msg = frame_decode(p + FRAME_HEADER_LEN, len);
	evbuffer_drain(in, FRAME_HEADER_LEN + len);
	return *msg != NULL ? 1 : -1;
}

void bconn_hello(struct bconn *c, uint64_t request_id)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__Hello h = MAILLAGE__HELLO__INIT;

	h.protocol_version = MAILLAGE__PROTOCOL_VERSION__PROTOCOL_VERSION_1;
	h.client_name = (char *)"maillage-bench/0.1";
	env.request_id = request_id;
	env.body_case = MAILLAGE__ENVELOPE__BODY_HELLO;
	env.hello = &h;
	bconn_send(c, &env);
}
