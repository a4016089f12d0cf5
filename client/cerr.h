/*
 * cerr: the outcome of a client operation. This module owns the exit codes of
 * the `maillage` command (the one place they are defined) and the typed error
 * every client module fills in: what went wrong (configuration, network, TLS,
 * a certificate refused by the server, a protocol violation, or a typed
 * Error sent by the server with its code, message and field), and how that
 * kind maps to an exit code.
 */
#ifndef MAILLAGE_CERR_H
#define MAILLAGE_CERR_H

#include "maillage.pb-c.h"

/* Exit codes of `maillage` (see also the overview printed by `help`). */
#define MAILLAGE_EXIT_OK 0
/* The server answered with an Error other than UNAVAILABLE/TIMEOUT:
 * refused, forbidden, not found, conflict, bad request... */
#define MAILLAGE_EXIT_REFUSED 1
/* Bad invocation (unknown command/option, bad argument) or a client
 * configuration that cannot be used (missing file, key or value). */
#define MAILLAGE_EXIT_USAGE 2
/* No exchange possible: connection, TLS or protocol failure, certificate
 * refused by the server, or the server said UNAVAILABLE/TIMEOUT. */
#define MAILLAGE_EXIT_UNAVAILABLE 3

enum cerr_kind {
	CERR_NONE = 0,
	CERR_USAGE,	   /* bad invocation */
	CERR_CONFIG,	   /* unusable configuration or local file */
	CERR_LOCAL,	   /* local failure: memory, output, clock */
	CERR_NETWORK,	   /* resolve, connect, connection lost */
	CERR_TIMEOUT,	   /* no answer within the configured timeout */
	CERR_TLS,	   /* handshake or verification of the server */
	CERR_CERT_REFUSED, /* the server refused our client certificate */
	CERR_PROTOCOL,	   /* the server's frames make no sense to us */
	CERR_SERVER	   /* a typed Error from the server */
};

#define CERR_MESSAGE_MAX 512
#define CERR_FIELD_MAX 128

struct cerr {
	enum cerr_kind kind;
	int code; /* Maillage__ErrorCode, when kind == CERR_SERVER */
	char message[CERR_MESSAGE_MAX];
	char field[CERR_FIELD_MAX];
};

/* Set kind and message (printf-style, truncated to fit). */
void cerr_set(struct cerr *e, enum cerr_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Fill `e` from an Error received from the server (strings truncated). */
void cerr_from_server(struct cerr *e, const Maillage__Error *pe);

/* Exit code for `e` (MAILLAGE_EXIT_OK when e->kind is CERR_NONE). */
int cerr_exit_code(const struct cerr *e);

/* Name of an ErrorCode value ("NOT_FOUND"), "UNKNOWN" if out of range. */
const char *cerr_code_name(int code);

#endif
