/*
 * cert: certificate identity. This module owns how a client certificate is
 * turned into the key that maps it to an account: the SHA-256 digest of its
 * DER encoding, written as 64 lowercase hex digits, and the normalisation of
 * fingerprints given by people (colons, upper case, "sha256:" prefix).
 */
#ifndef MAILLAGE_CERT_H
#define MAILLAGE_CERT_H

#include <openssl/x509.h>
#include <stdint.h>

#define CERT_FINGERPRINT_LEN 64

/* Write the fingerprint of `cert` (65 bytes with NUL). 0 or -1. */
int cert_fingerprint(X509 *cert, char out[CERT_FINGERPRINT_LEN + 1]);

/*
 * Normalise a fingerprint typed by a person: accepts an optional "sha256:"
 * or "SHA256 Fingerprint=" prefix, colons, upper or lower case. 0, or -1 if
 * it is not exactly 32 bytes of hex.
 */
int cert_fingerprint_normalize(const char *in,
			       char out[CERT_FINGERPRINT_LEN + 1]);

/* Unix time at which `cert` stops being valid, or -1. */
int64_t cert_not_after(X509 *cert);

#endif
