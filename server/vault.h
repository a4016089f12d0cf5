/*
 * vault: encryption at rest of free texts and identity details. The data
 * keys live in a keyring file outside the database (path in the
 * configuration, checked by keyfile.c: readable by the daemon's user
 * only); each stored value is sealed with AES-256-GCM under the keyring's
 * active key, carries that key's id, and is bound by its associated data
 * to the column and the row it belongs to, so that a value copied to
 * another row or column no longer opens. The database sees only bytea
 * values in PostgreSQL's hex text form ("\x..."), which is how they travel
 * as query parameters and results.
 *
 * Sealed value: version (1 byte, 1) | key id (4 bytes, big endian) |
 * nonce (12 random bytes) | ciphertext | tag (16 bytes). The plaintext is
 * padded (ISO/IEC 7816-4) to a multiple of 16 bytes so that lengths leak
 * less. Associated data: "maillage-vault/1", the column ("notice.body"),
 * the row key ("42"), each NUL-terminated, then the 5 header bytes.
 */
#ifndef MAILLAGE_VAULT_H
#define MAILLAGE_VAULT_H

#include <stddef.h>
#include <stdint.h>

#define VAULT_KEYS_MAX 64
#define VAULT_KEY_LEN 32

struct vault_key {
	uint32_t id;
	unsigned char key[VAULT_KEY_LEN];
};

struct vault {
	uint32_t active; /* id of the key that seals new values */
	size_t n;
	struct vault_key keys[VAULT_KEYS_MAX];
};

enum vault_status {
	VAULT_OK = 0,
	VAULT_BAD,	   /* not a sealed value, or it does not authenticate */
	VAULT_UNKNOWN_KEY, /* sealed under a key the keyring lacks */
	VAULT_NOMEM
};

/*
 * Read the keyring at `path` into `v`: lines "ID HEX64" (ID 1 to
 * 2147483647, HEX64 a 256-bit key), one line "active ID", '#' comments.
 * Refuses a file others may read. 0, or -1 with `err` set.
 */
int vault_load(struct vault *v, const char *path, char *err, size_t errlen);

/* Forget the keys (cleansed). */
void vault_clear(struct vault *v);

/*
 * Create the keyring `path` with one new random key (add == 0; the file
 * must not exist), or append a new key to it and make it the active one
 * (add != 0). The file is written with mode 600 and replaced atomically.
 * The new key's id in *id. 0, or -1 with `err` set.
 */
int vault_keygen(const char *path, int add, uint32_t *id, char *err,
		 size_t errlen);

/*
 * Seal `plain` (NUL-terminated; NULL or "": the result is NULL, no value)
 * for `column` of the row `row` under the active key. Returns the value in
 * hex text form, to free; NULL also when out of memory: then *oom is set.
 */
char *vault_seal(const struct vault *v, const char *column, const char *row,
		 const char *plain, int *oom);

/* The same for `len` bytes of binary data (len 0: NULL, no value). */
char *vault_seal_raw(const struct vault *v, const char *column, const char *row,
		     const void *data, size_t len, int *oom);

/*
 * Open a value in hex text form (`hex`, as PostgreSQL returns a bytea) of
 * `column` of row `row`. On VAULT_OK, *out is the NUL-terminated plaintext
 * to free (with vault_free_text).
 */
enum vault_status vault_open(const struct vault *v, const char *column,
			     const char *row, const char *hex, char **out);

/*
 * Open `sealed` when it is a value ("" or NULL: none), else take `legacy`
 * (a clear value stored before encryption at rest; NULL: ""). On VAULT_OK,
 * *out is a NUL-terminated copy to free with vault_free_text.
 */
enum vault_status vault_open_or(const struct vault *v, const char *column,
				const char *row, const char *sealed,
				const char *legacy, char **out);

/* Open binary data: *out (to free) and its length. */
enum vault_status vault_open_raw(const struct vault *v, const char *column,
				 const char *row, const char *hex, void **out,
				 size_t *len);

/* The same, from the sealed bytes themselves (a bytea column read in
 * binary format). */
enum vault_status vault_open_bytes(const struct vault *v, const char *column,
				   const char *row, const unsigned char *b,
				   size_t n, void **out, size_t *len);

/* The key id of a sealed value in hex text form; 0 if not one. */
uint32_t vault_key_id(const char *hex);

/* Cleanse and free a plaintext. */
void vault_free_text(char *s);

#endif
