/*
 * net: the client's connection to maillaged. This module owns a blocking
 * exchange over mutually authenticated TLS (the socket is non-blocking
 * underneath so that every step honours the configured timeout): TCP
 * connect, TLS handshake (1.2 minimum with AEAD suites only, 1.3 preferred)
 * verifying the server against `ca` and `server_name`, presentation of the
 * client certificate, the Hello/Welcome opening, then requests matched to
 * their responses by request id. Frames received are bounded by
 * FRAME_DEFAULT_MAX before their body is awaited. With TLS 1.3 the server
 * judges the client certificate after the client saw the handshake end: a
 * refusal arrives as an alert on the first read and is reported as
 * CERR_CERT_REFUSED. Pushed events (request_id 0) met while waiting for a
 * response go to an optional callback, or are dropped.
 */
#ifndef MAILLAGE_NET_H
#define MAILLAGE_NET_H

#include <stdint.h>

#include "cerr.h"
#include "conf.h"
#include "frame.h"

#define NET_PROTOCOL_VERSION 1u

struct net_conn;

/*
 * Called for each pushed event (request_id 0) received while a request
 * waits; `msg` is only lent for the duration of the call.
 */
typedef void (*net_event_cb)(struct net_conn *conn, const struct frame_msg *msg,
			     void *arg);

/*
 * Connect to the server of `conf`, say Hello as `client_name`, and wait for
 * Welcome. 0 and *out, or -1 with `err` set (CERR_SERVER when the server
 * answered Hello with an Error, e.g. UNAUTHENTICATED).
 */
int net_connect(const struct conf *conf, const char *client_name,
		struct net_conn **out, struct cerr *err);

/* Close (sends close_notify, does not wait) and free; NULL is fine. */
void net_close(struct net_conn *conn);

/* The Welcome received from the server (never NULL on a connected conn). */
const Maillage__Welcome *net_welcome(const struct net_conn *conn);

/* "TLSv1.3" etc. */
const char *net_tls_version(const struct net_conn *conn);

void net_set_event_cb(struct net_conn *conn, net_event_cb cb, void *arg);

/*
 * Send `req` with the next request id (req->request_id is overwritten) and
 * wait up to the configured timeout for the response with that id. 0 and
 * *resp (free with frame_msg_free), or -1 with `err` set; a server Error is
 * CERR_SERVER with its code, message and field. After a failure other than
 * CERR_SERVER the connection is unusable.
 */
int net_request(struct net_conn *conn, Maillage__Envelope *req,
		struct frame_msg **resp, struct cerr *err);

/*
 * net_request() that also requires the response body to be `expect`,
 * failing with CERR_PROTOCOL otherwise.
 */
int net_call(struct net_conn *conn, Maillage__Envelope *req,
	     Maillage__Envelope__BodyCase expect, struct frame_msg **resp,
	     struct cerr *err);

/*
 * Receive the next frame, whatever it is (response or event), waiting up to
 * `timeout_ms` (-1: forever). 0 and *msg, 1 on timeout (nothing received),
 * or -1 with `err` set (connection closed or broken).
 */
int net_recv(struct net_conn *conn, int timeout_ms, struct frame_msg **msg,
	     struct cerr *err);

#endif
