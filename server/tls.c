/*
 * tls: server TLS context construction; see tls.h.
 */
#include "tls.h"

#include "keyfile.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

/* TLS 1.2 suites when 1.2 is allowed: ECDHE with AEAD only. */
#define TLS12_CIPHERS                                                          \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"           \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"           \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"

static int tls_fail(char *err, size_t errlen, const char *what,
		    const char *path)
{
	unsigned long e = ERR_peek_last_error();
	char buf[256];

	ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s%s%s: %s", what, path ? " " : "",
		 path ? path : "", e ? buf : "failed");
	ERR_clear_error();
	return -1;
}

static int tls_load_crl(SSL_CTX *ctx, const char *path, char *err,
			size_t errlen)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	X509_LOOKUP *lookup;
	int n;

	lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
	if (lookup == NULL)
		return tls_fail(err, errlen, "cannot set up CRL lookup", NULL);
	n = X509_load_crl_file(lookup, path, X509_FILETYPE_PEM);
	if (n <= 0)
		return tls_fail(err, errlen, "cannot load CRL", path);
	X509_STORE_set_flags(store,
			     X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	return 0;
}

static int tls_load_ca(SSL_CTX *ctx, const char *path, char *err, size_t errlen)
{
	STACK_OF(X509_NAME) * names;

	if (!SSL_CTX_load_verify_locations(ctx, path, NULL))
		return tls_fail(err, errlen, "cannot load CA", path);
	names = SSL_load_client_CA_file(path);
	if (names == NULL)
		return tls_fail(err, errlen, "cannot read CA names", path);
	SSL_CTX_set_client_CA_list(ctx, names);
	return 0;
}

SSL_CTX *tls_server_ctx_new(const struct config *cfg, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL) {
		tls_fail(err, errlen, "cannot create TLS context", NULL);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, cfg->tls_min_version == 12
						   ? TLS1_2_VERSION
						   : TLS1_3_VERSION);
	SSL_CTX_set_options(
		ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
			     SSL_OP_CIPHER_SERVER_PREFERENCE |
			     SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_TICKET);
	/* Idle connections keep no record buffers (about 14 KiB each). */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	if (cfg->tls_min_version == 12 &&
	    !SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS))
		goto fail_cipher;
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_certificate) !=
	    1) {
		tls_fail(err, errlen, "cannot load certificate",
			 cfg->tls_certificate);
		goto fail;
	}
	if (keyfile_check(cfg->tls_private_key, "TLS private key", err,
			  errlen) != 0)
		goto fail;
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_private_key,
					SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		tls_fail(err, errlen, "cannot load private key",
			 cfg->tls_private_key);
		goto fail;
	}
	if (tls_load_ca(ctx, cfg->tls_ca, err, errlen) != 0)
		goto fail;
	if (cfg->tls_crl[0] != '\0' &&
	    tls_load_crl(ctx, cfg->tls_crl, err, errlen) != 0)
		goto fail;
	SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	SSL_CTX_set_verify(
		ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_verify_depth(ctx, 4);
	return ctx;
fail_cipher:
	tls_fail(err, errlen, "cannot set TLS 1.2 ciphers", NULL);
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

const char *tls_failure_reason(SSL *ssl, unsigned long err, char *buf,
			       size_t len)
{
	long v = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
	unsigned long e = err != 0 ? err : ERR_peek_last_error();

	if (v != X509_V_OK) {
		snprintf(buf, len, "certificate verification failed: %s",
			 X509_verify_cert_error_string(v));
		return buf;
	}
	if (e != 0) {
		const char *r = ERR_reason_error_string(e);
		snprintf(buf, len, "%s", r != NULL ? r : "TLS error");
		return buf;
	}
	snprintf(buf, len, "connection closed during handshake");
	return buf;
}
