/*
 * tls: the daemon's TLS policy. This module owns the server SSL_CTX: TLS 1.3
 * (1.2 with AEAD suites only when configured), the server certificate and
 * key, the network CA that every client certificate must chain to, the CRL
 * checked for the whole chain when configured, and the client certificate
 * requirement. A reload builds a complete new context; the caller swaps it in
 * only when it is whole, so live connections keep the one they started with.
 */
#ifndef MAILLAGE_TLS_H
#define MAILLAGE_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

#include "config.h"

SSL_CTX *tls_server_ctx_new(const struct config *cfg, char *err, size_t errlen);

/*
 * Human-readable reason for a failed handshake on `ssl`, given the last
 * OpenSSL error code seen on it (0 if none). Contains no peer data.
 */
const char *tls_failure_reason(SSL *ssl, unsigned long err, char *buf,
			       size_t len);

#endif
