/*
 * conn: one client connection and its state machine. This module owns the
 * lifecycle of a connection from accept to free: TLS handshake, the Hello
 * that must come first, authentication of the certificate against the
 * accounts, the ready state in which requests are dispatched, and the
 * graceful close (flush, close_notify, linger). Every state change goes
 * through conn_set_state(), which logs it. It also owns the framing of the
 * byte stream (limits checked before a body is awaited), the output limit
 * that cuts a client which does not read, the handshake and idle timeouts,
 * and the table that maps a connection id to a live connection, which is how
 * database callbacks find their connection (never by a raw pointer).
 */
#ifndef MAILLAGE_CONN_H
#define MAILLAGE_CONN_H

#include <event2/bufferevent.h>
#include <stdint.h>
#include <sys/queue.h>

#include "cert.h"
#include "maillage.pb-c.h"

struct server;
struct events_sub;

enum conn_state {
	CONN_HANDSHAKE = 0, /* TLS handshake in progress */
	CONN_HELLO,	    /* handshake done, waiting for Hello */
	CONN_AUTH,	    /* Hello received, account lookup running */
	CONN_READY,	    /* authenticated: requests are served */
	CONN_CLOSING,	    /* flushing the last replies */
	CONN_LINGER	    /* close_notify sent, draining the peer */
};

/* Requests one connection may have in flight before reading pauses. */
#define CONN_MAX_INFLIGHT 32

struct conn_account {
	int64_t id;
	int64_t institution_id;
	char login[65];
	char institution[33];
	Maillage__Role role;
	char institution_name[201];
	char institution_kind[32];
	char departement[4];
	char display_name[201];
};

struct conn {
	uint64_t id;
	struct server *srv;
	struct bufferevent *bev;
	enum conn_state state;
	char peer[64];
	char fingerprint[CERT_FINGERPRINT_LEN + 1];
	int64_t cert_not_after;
	int authenticated;
	struct conn_account account;
	unsigned inflight;
	int read_paused;
	struct event *timer;	/* handshake deadline, then close deadline */
	struct events_sub *sub; /* set while the connection watches events */
	TAILQ_ENTRY(conn) entry;
};

/* Listener callback target: take ownership of an accepted socket. */
void conn_accept(struct server *srv, evutil_socket_t fd,
		 const struct sockaddr *sa, int salen);

/* Live connection with this id, or NULL if it is gone. */
struct conn *conn_find(uint64_t id);

/* Encode and queue `env`; cuts the connection if its output limit is hit. */
void conn_send(struct conn *c, Maillage__Envelope *env);
/*
 * Queue one frame encoded already (shared by many connections, copied):
 * 0, or -1 when it was not queued (closing, or the output limit was hit
 * and the connection is being cut).
 */
int conn_send_frame(struct conn *c, const uint8_t *buf, size_t len);
void conn_send_error(struct conn *c, uint64_t request_id,
		     Maillage__ErrorCode code, const char *field,
		     const char *message);

/* A request of `c` has been answered: account for it. */
void conn_request_done(struct conn *c);

/* Authentication finished (from session.c). */
void conn_authenticated(struct conn *c);

/* Stop the idle timeout: the connection watches events and may stay quiet. */
void conn_set_watching(struct conn *c);

/* Bytes queued to the peer and not yet written. */
size_t conn_output_pending(const struct conn *c);

/* Flush what is queued, then close. */
void conn_close(struct conn *c, const char *why);

/*
 * Cut `c` at once (an account disabled, a certificate replaced): send an
 * Error UNAUTHENTICATED with `message` (request_id 0), then close. Replies
 * to requests still in flight are dropped. Nothing if already closing.
 */
void conn_revoke(struct conn *c, const char *message);

/*
 * Call fn(c, arg) for every live connection, in any state. fn may cut or
 * close `c` (conn_revoke, conn_close), never free it.
 */
void conn_foreach(void (*fn)(struct conn *c, void *arg), void *arg);

/* Close every connection once its in-flight requests are answered. */
void conn_drain_all(struct server *srv);
unsigned conn_count(void);
/* Free every connection at once (final shutdown). */
void conn_free_all(void);

const char *conn_role_name(Maillage__Role role);
const char *conn_error_code_name(Maillage__ErrorCode code);

#endif
