/*
 * vault: AES-256-GCM sealing of stored texts under a keyring; see vault.h.
 * Everything here is synchronous and short (one EVP cipher run per value),
 * fit for the event loop. The keyring is read at start and on SIGHUP, and
 * written only by the `data-keygen` command.
 */
#include "vault.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hex.h"
#include "keyfile.h"

#define VAULT_VERSION 1
#define VAULT_HDR 5
#define VAULT_NONCE 12
#define VAULT_TAG 16
#define VAULT_PAD 16
#define VAULT_AAD_MAGIC "maillage-vault/1"
/* A value is at most a notice text (1 MiB by the limits) and padding. */
#define VAULT_PLAIN_MAX (2u * 1024u * 1024u)

/* ---- keyring file -------------------------------------------------------- */

static int vault_parse_id(const char *s, uint32_t *id)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > 0x7fffffffUL)
		return -1;
	*id = (uint32_t)v;
	return 0;
}

static const struct vault_key *vault_find(const struct vault *v, uint32_t id)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (v->keys[i].id == id)
			return &v->keys[i];
	return NULL;
}

/* One line of the keyring: 0, or -1 with the reason in `why`. */
static int vault_parse_line(struct vault *v, char *line, const char **why)
{
	char *a = strtok(line, " \t\r\n"), *b = strtok(NULL, " \t\r\n");
	struct vault_key *k;
	uint32_t id;

	if (a == NULL || a[0] == '#')
		return 0;
	*why = "expected \"ID HEX64\" or \"active ID\"";
	if (b == NULL || strtok(NULL, " \t\r\n") != NULL)
		return -1;
	if (strcmp(a, "active") == 0) {
		*why = "a second \"active\" line";
		if (v->active != 0)
			return -1;
		*why = "bad key id after \"active\"";
		if (vault_parse_id(b, &v->active) != 0)
			return -1;
		return 0;
	}
	*why = "bad key id (1 to 2147483647)";
	if (vault_parse_id(a, &id) != 0)
		return -1;
	*why = "duplicate key id";
	if (vault_find(v, id) != NULL)
		return -1;
	*why = "too many keys";
	if (v->n == VAULT_KEYS_MAX)
		return -1;
	*why = "the key is not 64 hexadecimal digits";
	if (strlen(b) != 2 * VAULT_KEY_LEN)
		return -1;
	k = &v->keys[v->n];
	if (hex_decode(k->key, b, VAULT_KEY_LEN) != 0) {
		OPENSSL_cleanse(k->key, sizeof(k->key));
		return -1;
	}
	k->id = id;
	v->n++;
	OPENSSL_cleanse(b, strlen(b));
	return 0;
}

static int vault_parse_file(struct vault *v, FILE *f, const char *path,
			    char *err, size_t errlen)
{
	char line[256];
	const char *why = "";
	int lineno = 0;

	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s:%d: line too long", path,
				 lineno);
			return -1;
		}
		if (vault_parse_line(v, line, &why) != 0) {
			OPENSSL_cleanse(line, sizeof(line));
			snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
			return -1;
		}
	}
	OPENSSL_cleanse(line, sizeof(line));
	if (v->n == 0) {
		snprintf(err, errlen,
			 "%s: no key (make one with `maillaged "
			 "data-keygen FILE`)",
			 path);
		return -1;
	}
	if (v->active == 0)
		v->active = v->keys[v->n - 1].id;
	if (vault_find(v, v->active) == NULL) {
		snprintf(err, errlen,
			 "%s: the active key %" PRIu32 " is not in the file",
			 path, v->active);
		return -1;
	}
	return 0;
}

int vault_load(struct vault *v, const char *path, char *err, size_t errlen)
{
	FILE *f;
	int fd, rc;

	memset(v, 0, sizeof(*v));
	fd = keyfile_open(path, "data keyring", err, errlen);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	rc = vault_parse_file(v, f, path, err, errlen);
	fclose(f);
	if (rc != 0)
		vault_clear(v);
	return rc;
}

void vault_clear(struct vault *v)
{
	OPENSSL_cleanse(v, sizeof(*v));
	v->n = 0;
	v->active = 0;
}

static int vault_write_file(const struct vault *v, const char *path,
			    int exclusive, char *err, size_t errlen)
{
	char tmp[4096];
	size_t i, j;
	FILE *f;
	int fd, ok;

	if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fprintf(f, "# maillage data keys (maillaged data-keygen): ID KEY; "
		   "keep every key\n# that still seals stored values "
		   "(maillaged rotate-key moves them to the\n# active "
		   "one). Never store this file in the database.\n");
	for (i = 0; i < v->n; i++) {
		fprintf(f, "%" PRIu32 " ", v->keys[i].id);
		for (j = 0; j < VAULT_KEY_LEN; j++)
			fprintf(f, "%02x", v->keys[i].key[j]);
		fputc('\n', f);
	}
	fprintf(f, "active %" PRIu32 "\n", v->active);
	ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
	ok = (fclose(f) == 0) && ok;
	/* a new keyring never replaces a file created meanwhile */
	if (ok && exclusive)
		ok = link(tmp, path) == 0;
	else if (ok)
		ok = rename(tmp, path) == 0;
	if (!ok) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (exclusive)
		unlink(tmp);
	return 0;
}

int vault_keygen(const char *path, int add, uint32_t *id, char *err,
		 size_t errlen)
{
	struct vault v;
	struct vault_key *k;
	size_t i;
	int rc;

	memset(&v, 0, sizeof(v));
	if (add && vault_load(&v, path, err, errlen) != 0)
		return -1;
	if (!add && access(path, F_OK) == 0) {
		snprintf(err, errlen, "%s exists: use --add to add a key",
			 path);
		return -1;
	}
	if (v.n == VAULT_KEYS_MAX) {
		snprintf(err, errlen, "%s: already %d keys", path,
			 VAULT_KEYS_MAX);
		vault_clear(&v);
		return -1;
	}
	k = &v.keys[v.n];
	k->id = 1;
	for (i = 0; i < v.n; i++)
		if (v.keys[i].id >= k->id)
			k->id = v.keys[i].id + 1;
	if (k->id > 0x7fffffffu) {
		snprintf(err, errlen, "%s: no key id left", path);
		vault_clear(&v);
		return -1;
	}
	if (RAND_bytes(k->key, VAULT_KEY_LEN) != 1) {
		snprintf(err, errlen, "no random bytes");
		vault_clear(&v);
		return -1;
	}
	v.n++;
	v.active = k->id;
	*id = k->id;
	rc = vault_write_file(&v, path, !add, err, errlen);
	vault_clear(&v);
	return rc;
}

/* ---- sealing --------------------------------------------------------------
 */

/* The associated data: magic, column, row, header; its length. */
static size_t vault_aad(unsigned char *buf, size_t cap, const char *column,
			const char *row, const unsigned char *hdr)
{
	size_t lm = sizeof(VAULT_AAD_MAGIC), lc = strlen(column) + 1,
	       lr = strlen(row) + 1;

	if (lm + lc + lr + VAULT_HDR > cap)
		return 0;
	memcpy(buf, VAULT_AAD_MAGIC, lm);
	memcpy(buf + lm, column, lc);
	memcpy(buf + lm + lc, row, lr);
	memcpy(buf + lm + lc + lr, hdr, VAULT_HDR);
	return lm + lc + lr + VAULT_HDR;
}

/*
 * AES-256-GCM of `in` (n bytes) into `out` (n bytes) with `tag`
 * (encrypt) or checking it (decrypt). 0 or -1.
 */
static int vault_gcm(int enc, const unsigned char *key,
		     const unsigned char *nonce, const unsigned char *aad,
		     size_t naad, const unsigned char *in, size_t n,
		     unsigned char *out, unsigned char *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int len = 0, ok;

	if (ctx == NULL)
		return -1;
	ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) ==
		     1 &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, VAULT_NONCE,
				 NULL) == 1 &&
	     EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) == 1 &&
	     EVP_CipherUpdate(ctx, NULL, &len, aad, (int)naad) == 1 &&
	     EVP_CipherUpdate(ctx, out, &len, in, (int)n) == 1;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, VAULT_TAG,
					 tag) == 1;
	ok = ok && EVP_CipherFinal_ex(ctx, out + len, &len) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, VAULT_TAG,
					 tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

static char *vault_to_hex(const unsigned char *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(2 * n + 3);
	size_t i;

	if (s == NULL)
		return NULL;
	s[0] = '\\';
	s[1] = 'x';
	for (i = 0; i < n; i++) {
		s[2 + 2 * i] = digits[b[i] >> 4];
		s[3 + 2 * i] = digits[b[i] & 15];
	}
	s[2 + 2 * n] = '\0';
	return s;
}

/* Decode "\x..." into a new buffer; NULL if malformed (or OOM: *oom). */
static unsigned char *vault_from_hex(const char *hex, size_t *n, int *oom)
{
	size_t len;
	unsigned char *b;

	*oom = 0;
	if (hex == NULL || hex[0] != '\\' || hex[1] != 'x')
		return NULL;
	len = strlen(hex + 2);
	if (len % 2 != 0 || len / 2 < VAULT_HDR + VAULT_NONCE + VAULT_TAG ||
	    len / 2 > VAULT_PLAIN_MAX + 64)
		return NULL;
	b = malloc(len / 2);
	if (b == NULL) {
		*oom = 1;
		return NULL;
	}
	if (hex_decode(b, hex + 2, len / 2) != 0) {
		free(b);
		return NULL;
	}
	*n = len / 2;
	return b;
}

char *vault_seal(const struct vault *v, const char *column, const char *row,
		 const char *plain, int *oom)
{
	*oom = 0;
	if (plain == NULL || plain[0] == '\0')
		return NULL;
	return vault_seal_raw(v, column, row, plain, strlen(plain), oom);
}

char *vault_seal_raw(const struct vault *v, const char *column, const char *row,
		     const void *plain, size_t len, int *oom)
{
	const struct vault_key *k = vault_find(v, v->active);
	unsigned char aad[512], *buf, *pt;
	size_t padded, naad, total;
	char *hex = NULL;

	*oom = 0;
	if (plain == NULL || len == 0)
		return NULL;
	padded = (len / VAULT_PAD + 1) * VAULT_PAD;
	total = VAULT_HDR + VAULT_NONCE + padded + VAULT_TAG;
	buf = malloc(total);
	pt = calloc(1, padded);
	if (k == NULL || len > VAULT_PLAIN_MAX || buf == NULL || pt == NULL)
		goto fail;
	memcpy(pt, plain, len);
	pt[len] = 0x80;
	buf[0] = VAULT_VERSION;
	buf[1] = (unsigned char)(k->id >> 24);
	buf[2] = (unsigned char)(k->id >> 16);
	buf[3] = (unsigned char)(k->id >> 8);
	buf[4] = (unsigned char)k->id;
	naad = vault_aad(aad, sizeof(aad), column, row, buf);
	if (naad == 0 || RAND_bytes(buf + VAULT_HDR, VAULT_NONCE) != 1 ||
	    vault_gcm(1, k->key, buf + VAULT_HDR, aad, naad, pt, padded,
		      buf + VAULT_HDR + VAULT_NONCE,
		      buf + VAULT_HDR + VAULT_NONCE + padded) != 0)
		goto fail;
	hex = vault_to_hex(buf, total);
fail:
	if (pt != NULL)
		OPENSSL_cleanse(pt, padded);
	free(pt);
	free(buf);
	if (hex == NULL)
		*oom = 1;
	return hex;
}

uint32_t vault_key_id(const char *hex)
{
	uint32_t id = 0;
	int i;

	if (hex == NULL || strncmp(hex, "\\x01", 4) != 0 ||
	    strlen(hex) < 2 + 2 * VAULT_HDR)
		return 0;
	for (i = 0; i < 8; i++) {
		int d = hex_digit(hex[4 + i]);
		if (d < 0)
			return 0;
		id = id << 4 | (uint32_t)d;
	}
	return id;
}

/* Strip the ISO/IEC 7816-4 padding: the plaintext's length, or -1. */
static long vault_unpad(const unsigned char *pt, size_t n)
{
	while (n > 0 && pt[n - 1] == 0)
		n--;
	if (n == 0 || pt[n - 1] != 0x80)
		return -1;
	return (long)(n - 1);
}

enum vault_status vault_open(const struct vault *v, const char *column,
			     const char *row, const char *hex, char **out)
{
	size_t len;

	return vault_open_raw(v, column, row, hex, (void **)out, &len);
}

enum vault_status vault_open_bytes(const struct vault *v, const char *column,
				   const char *row, const unsigned char *b,
				   size_t n, void **out, size_t *olen)
{
	const struct vault_key *k;
	unsigned char aad[512], tag[VAULT_TAG], *pt = NULL;
	size_t ct, naad;
	enum vault_status st = VAULT_BAD;
	uint32_t key_id;
	long len;

	*out = NULL;
	if (b == NULL || n < VAULT_HDR + VAULT_NONCE + VAULT_TAG ||
	    n > VAULT_PLAIN_MAX + 64)
		return VAULT_BAD;
	ct = n - VAULT_HDR - VAULT_NONCE - VAULT_TAG;
	memcpy(tag, b + VAULT_HDR + VAULT_NONCE + ct, VAULT_TAG);
	key_id = (uint32_t)b[1] << 24 | (uint32_t)b[2] << 16 |
		 (uint32_t)b[3] << 8 | (uint32_t)b[4];
	k = b[0] == VAULT_VERSION ? vault_find(v, key_id) : NULL;
	if (b[0] != VAULT_VERSION || ct == 0 || ct % VAULT_PAD != 0) {
		st = VAULT_BAD;
	} else if (k == NULL) {
		st = VAULT_UNKNOWN_KEY;
	} else if ((pt = malloc(ct + 1)) == NULL) {
		st = VAULT_NOMEM;
	} else if ((naad = vault_aad(aad, sizeof(aad), column, row, b)) != 0 &&
		   vault_gcm(0, k->key, b + VAULT_HDR, aad, naad,
			     b + VAULT_HDR + VAULT_NONCE, ct, pt, tag) == 0 &&
		   (len = vault_unpad(pt, ct)) >= 0) {
		pt[len] = '\0';
		*out = pt;
		*olen = (size_t)len;
		pt = NULL;
		st = VAULT_OK;
	}
	if (pt != NULL) {
		OPENSSL_cleanse(pt, ct);
		free(pt);
	}
	return st;
}

enum vault_status vault_open_raw(const struct vault *v, const char *column,
				 const char *row, const char *hex, void **out,
				 size_t *olen)
{
	unsigned char *b;
	size_t n = 0;
	enum vault_status st;
	int oom;

	*out = NULL;
	b = vault_from_hex(hex, &n, &oom);
	if (b == NULL)
		return oom ? VAULT_NOMEM : VAULT_BAD;
	st = vault_open_bytes(v, column, row, b, n, out, olen);
	free(b);
	return st;
}

enum vault_status vault_open_or(const struct vault *v, const char *column,
				const char *row, const char *sealed,
				const char *legacy, char **out)
{
	if (sealed != NULL && sealed[0] != '\0')
		return vault_open(v, column, row, sealed, out);
	*out = strdup(legacy != NULL ? legacy : "");
	return *out != NULL ? VAULT_OK : VAULT_NOMEM;
}

void vault_free_text(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}
