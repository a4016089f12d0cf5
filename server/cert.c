/*
 * cert: certificate fingerprints and validity; see cert.h.
 */
#include "cert.h"

#include <ctype.h>
#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char cert_hex[] = "0123456789abcdef";

int cert_fingerprint(X509 *cert, char out[CERT_FINGERPRINT_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	unsigned int i;

	if (cert == NULL || !X509_digest(cert, EVP_sha256(), md, &len) ||
	    len != CERT_FINGERPRINT_LEN / 2)
		return -1;
	for (i = 0; i < len; i++) {
		out[2 * i] = cert_hex[md[i] >> 4];
		out[2 * i + 1] = cert_hex[md[i] & 0xf];
	}
	out[CERT_FINGERPRINT_LEN] = '\0';
	return 0;
}

int cert_fingerprint_normalize(const char *in,
			       char out[CERT_FINGERPRINT_LEN + 1])
{
	static const char *const prefixes[] = {"sha256 fingerprint=",
					       "sha256:"};
	size_t n = 0;
	size_t i;

	if (in == NULL)
		return -1;
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t plen = strlen(prefixes[i]);
		if (strncasecmp(in, prefixes[i], plen) == 0) {
			in += plen;
			break;
		}
	}
	for (; *in != '\0'; in++) {
		if (*in == ':')
			continue;
		if (!isxdigit((unsigned char)*in) || n == CERT_FINGERPRINT_LEN)
			return -1;
		out[n++] = (char)tolower((unsigned char)*in);
	}
	if (n != CERT_FINGERPRINT_LEN)
		return -1;
	out[n] = '\0';
	return 0;
}

int64_t cert_not_after(X509 *cert)
{
	const ASN1_TIME *t;
	struct tm tm;

	if (cert == NULL)
		return -1;
	t = X509_get0_notAfter(cert);
	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	return (int64_t)timegm(&tm);
}
