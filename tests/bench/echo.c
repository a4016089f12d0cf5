/*
 * echo: a bare mTLS echo server, the handshake ceiling of this machine. Its
 * TLS context is built like maillaged's (server/tls.c): TLS 1.3 only, no
 * session cache nor tickets (every handshake is full), the client
 * certificate required and verified against the CA and the CRL. It echoes
 * whatever it reads; nothing else.
 */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

static SSL_CTX *echo_ctx;

static SSL_CTX *echo_ctx_new(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	X509_STORE *store;
	X509_LOOKUP *lookup;
	STACK_OF(X509_NAME) * names;

	if (ctx == NULL)
		bench_die("SSL_CTX_new failed");
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_options(
		ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
			     SSL_OP_CIPHER_SERVER_PREFERENCE |
			     SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	if (SSL_CTX_use_certificate_chain_file(ctx, opts.server_crt) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, opts.server_key,
					SSL_FILETYPE_PEM) != 1)
		bench_die("cannot load --server-cert/--server-key");
	if (SSL_CTX_load_verify_locations(ctx, opts.ca, NULL) != 1)
		bench_die("cannot load --ca %s", opts.ca);
	names = SSL_load_client_CA_file(opts.ca);
	if (names != NULL)
		SSL_CTX_set_client_CA_list(ctx, names);
	if (opts.crl[0] != '\0') {
		store = SSL_CTX_get_cert_store(ctx);
		lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
		if (lookup == NULL ||
		    X509_load_crl_file(lookup, opts.crl, X509_FILETYPE_PEM) <=
			    0)
			bench_die("cannot load --crl %s", opts.crl);
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK |
						    X509_V_FLAG_CRL_CHECK_ALL);
	}
	SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	SSL_CTX_set_verify(
		ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_verify_depth(ctx, 4);
	return ctx;
}

static void echo_read(struct bufferevent *bev, void *arg)
{
	(void)arg;
	bufferevent_write_buffer(bev, bufferevent_get_input(bev));
}

static void echo_event(struct bufferevent *bev, short what, void *arg)
{
	(void)arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		ERR_clear_error();
		bufferevent_free(bev);
	}
}

static void echo_accept(struct evconnlistener *l, evutil_socket_t fd,
			struct sockaddr *sa, int salen, void *arg)
{
	struct bufferevent *bev;
	SSL *ssl = SSL_new(echo_ctx);

	(void)l;
	(void)sa;
	(void)salen;
	(void)arg;
	if (ssl == NULL) {
		evutil_closesocket(fd);
		return;
	}
	bev = bufferevent_openssl_socket_new(bench_base, fd, ssl,
					     BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		evutil_closesocket(fd);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	bufferevent_setcb(bev, echo_read, NULL, echo_event, NULL);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void echo_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	event_base_loopbreak(bench_base);
}

int echo_server(void)
{
	struct addrinfo hints, *ai = NULL;
	struct evconnlistener *l;
	struct event *sigterm, *sigint;
	char port[16];

	if (opts.server_crt[0] == '\0' || opts.server_key[0] == '\0' ||
	    opts.ca[0] == '\0')
		bench_die("echo-server needs --server-cert, --server-key and "
			  "--ca");
	echo_ctx = echo_ctx_new();
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", opts.port);
	if (getaddrinfo(opts.host, port, &hints, &ai) != 0 || ai == NULL)
		bench_die("cannot resolve %s", opts.host);
	l = evconnlistener_new_bind(bench_base, echo_accept, NULL,
				    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
					    LEV_OPT_CLOSE_ON_EXEC,
				    1024, ai->ai_addr, (int)ai->ai_addrlen);
	freeaddrinfo(ai);
	if (l == NULL)
		bench_die("cannot listen on %s:%d", opts.host, opts.port);
	sigterm = evsignal_new(bench_base, SIGTERM, echo_signal, NULL);
	sigint = evsignal_new(bench_base, SIGINT, echo_signal, NULL);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	bench_log("echo-server listening on %s:%d", opts.host, opts.port);
	event_base_dispatch(bench_base);
	evconnlistener_free(l);
	event_free(sigterm);
	event_free(sigint);
	SSL_CTX_free(echo_ctx);
	return 0;
}
