/*
 * test_vault: sealing and opening stored values (server/vault.c): round
 * trips, the binding to column and row, tampering, unknown and rotated
 * keys, padding, the keyring file's syntax and permissions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hex.h"
#include "vault.h"

static char dir[] = "/tmp/test_vault.XXXXXX";

static void path_in(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void load_new(struct vault *v, const char *name)
{
	char path[256], err[256];
	uint32_t id = 0;

	path_in(path, sizeof(path), name);
	unlink(path);
	assert_int_equal(vault_keygen(path, 0, &id, err, sizeof(err)), 0);
	assert_int_equal(id, 1);
	assert_int_equal(vault_load(v, path, err, sizeof(err)), 0);
}

static void test_round_trip(void **state)
{
	struct vault v;
	char *hex, *out = NULL;
	int oom;

	(void)state;
	load_new(&v, "k1");
	hex = vault_seal(&v, "notice.body", "42", "Mohamed, né en 2009", &oom);
	assert_non_null(hex);
	assert_null(strstr(hex, "Mohamed"));
	assert_int_equal(vault_key_id(hex), 1);
	assert_int_equal(vault_open(&v, "notice.body", "42", hex, &out),
			 VAULT_OK);
	assert_string_equal(out, "Mohamed, né en 2009");
	vault_free_text(out);
	free(hex);
	assert_null(vault_seal(&v, "notice.body", "42", "", &oom));
	assert_int_equal(oom, 0);
	assert_null(vault_seal(&v, "notice.body", "42", NULL, &oom));
	assert_int_equal(oom, 0);
	vault_clear(&v);
}

static void test_binding(void **state)
{
	struct vault v;
	char *hex, *out = NULL;
	int oom;

	(void)state;
	load_new(&v, "k2");
	hex = vault_seal(&v, "identity_assertion.given_name", "7", "Ana", &oom);
	assert_non_null(hex);
	/* another row, another column: no longer opens */
	assert_int_equal(
		vault_open(&v, "identity_assertion.given_name", "8", hex, &out),
		VAULT_BAD);
	assert_null(out);
	assert_int_equal(vault_open(&v, "identity_assertion.family_name", "7",
				    hex, &out),
			 VAULT_BAD);
	assert_int_equal(
		vault_open(&v, "identity_assertion.given_name", "7", hex, &out),
		VAULT_OK);
	vault_free_text(out);
	free(hex);
	vault_clear(&v);
}

static void test_tamper(void **state)
{
	struct vault v;
	char *hex, *out = NULL;
	size_t i, n;
	int oom;

	(void)state;
	load_new(&v, "k3");
	hex = vault_seal(&v, "case_file.close_reason", "3", "placement", &oom);
	assert_non_null(hex);
	n = strlen(hex);
	/* every hex digit past the version, flipped, breaks the value */
	for (i = 4; i < n; i++) {
		char saved = hex[i];
		hex[i] = saved == '0' ? '1' : '0';
		assert_int_not_equal(vault_open(&v, "case_file.close_reason",
						"3", hex, &out),
				     VAULT_OK);
		assert_null(out);
		hex[i] = saved;
	}
	/* a character that is no hex digit, anywhere, is refused */
	for (i = 2; i < n; i++) {
		static const char junk[] = {'g', 'G', ' ', ':', 'x', '\x80'};
		char saved = hex[i];
		hex[i] = junk[i % sizeof(junk)];
		assert_int_equal(vault_open(&v, "case_file.close_reason", "3",
					    hex, &out),
				 VAULT_BAD);
		assert_null(out);
		hex[i] = saved;
	}
	/* upper-case digits are digits */
	for (i = 2; i < n; i++)
		hex[i] = (char)toupper((unsigned char)hex[i]);
	assert_int_equal(
		vault_open(&v, "case_file.close_reason", "3", hex, &out),
		VAULT_OK);
	assert_string_equal(out, "placement");
	vault_free_text(out);
	out = NULL;
	/* truncated, not hex, empty */
	hex[n - 2] = '\0';
	assert_int_equal(
		vault_open(&v, "case_file.close_reason", "3", hex, &out),
		VAULT_BAD);
	assert_int_equal(vault_open(&v, "c", "3", "\\xzz", &out), VAULT_BAD);
	assert_int_equal(vault_open(&v, "c", "3", "", &out), VAULT_BAD);
	assert_int_equal(vault_open(&v, "c", "3", "plain text", &out),
			 VAULT_BAD);
	free(hex);
	vault_clear(&v);
}

/* Sealed bytes as a bytea column read in binary format gives them. */
static void test_bytes(void **state)
{
	struct vault v;
	char *hex;
	unsigned char b[256];
	void *out = NULL;
	size_t n, i, len = 0;
	int oom;

	(void)state;
	load_new(&v, "k8");
	hex = vault_seal_raw(&v, "identity_encoding.rec", "9", "\x01\x00rec", 5,
			     &oom);
	assert_non_null(hex);
	n = (strlen(hex) - 2) / 2;
	assert_true(n <= sizeof(b));
	assert_int_equal(hex_decode(b, hex + 2, n), 0);
	assert_int_equal(vault_open_bytes(&v, "identity_encoding.rec", "9", b,
					  n, &out, &len),
			 VAULT_OK);
	assert_int_equal(len, 5);
	assert_memory_equal(out, "\x01\x00rec", 5);
	free(out);
	/* every byte, changed, breaks it; so do another row and a cut */
	for (i = 0; i < n; i++) {
		b[i] ^= 0x20;
		assert_int_not_equal(vault_open_bytes(&v,
						      "identity_encoding.rec",
						      "9", b, n, &out, &len),
				     VAULT_OK);
		assert_null(out);
		b[i] ^= 0x20;
	}
	assert_int_equal(vault_open_bytes(&v, "identity_encoding.rec", "10", b,
					  n, &out, &len),
			 VAULT_BAD);
	for (i = 0; i < n; i++)
		assert_int_not_equal(vault_open_bytes(&v,
						      "identity_encoding.rec",
						      "9", b, i, &out, &len),
				     VAULT_OK);
	assert_int_equal(vault_open_bytes(&v, "c", "9", NULL, 0, &out, &len),
			 VAULT_BAD);
	free(hex);
	vault_clear(&v);
}

/* The decoder of hex.c, on every byte value (a lax one would not be seen
 * through vault_open: the GCM tag refuses what it lets through). */
static void test_hex(void **state)
{
	unsigned char out[3];
	char two[3] = "00";
	int ch;

	(void)state;
	for (ch = 0; ch < 256; ch++) {
		int want = ch >= '0' && ch <= '9'   ? ch - '0'
			   : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
			   : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
						    : -1;

		assert_int_equal(hex_digit(ch), want);
		two[0] = (char)ch;
		two[1] = '7';
		assert_int_equal(hex_decode(out, two, 1), want < 0 ? -1 : 0);
		if (want >= 0)
			assert_int_equal(out[0], want << 4 | 7);
		two[0] = '7';
		two[1] = (char)ch;
		assert_int_equal(hex_decode(out, two, 1), want < 0 ? -1 : 0);
	}
	assert_int_equal(hex_decode(out, "0aFf80", 3), 0);
	assert_int_equal(out[0], 0x0a);
	assert_int_equal(out[1], 0xff);
	assert_int_equal(out[2], 0x80);
	assert_int_equal(hex_decode(out, "0aFg80", 3), -1);
}

static void test_padding(void **state)
{
	struct vault v;
	char *a, *b, *c;
	int oom;

	(void)state;
	load_new(&v, "k4");
	a = vault_seal(&v, "t.c", "1", "Ali", &oom);
	b = vault_seal(&v, "t.c", "1", "Alexandru-Ionut", &oom);
	c = vault_seal(&v, "t.c", "1", "Alexandru-Ionut1", &oom);
	assert_int_equal(strlen(a), strlen(b));
	assert_true(strlen(c) > strlen(b));
	/* same text twice: different values (random nonce) */
	free(c);
	c = vault_seal(&v, "t.c", "1", "Ali", &oom);
	assert_string_not_equal(a, c);
	free(a);
	free(b);
	free(c);
	vault_clear(&v);
}

static void test_rotation(void **state)
{
	struct vault v1, v2;
	char path[256], err[256], *old, *fresh, *out = NULL;
	uint32_t id = 0;
	int oom;

	(void)state;
	load_new(&v1, "k5");
	old = vault_seal(&v1, "t.c", "9", "texte", &oom);
	path_in(path, sizeof(path), "k5");
	assert_int_equal(vault_keygen(path, 1, &id, err, sizeof(err)), 0);
	assert_int_equal(id, 2);
	assert_int_equal(vault_load(&v2, path, err, sizeof(err)), 0);
	assert_int_equal(v2.active, 2);
	fresh = vault_seal(&v2, "t.c", "9", "texte", &oom);
	assert_int_equal(vault_key_id(fresh), 2);
	/* the new keyring opens both; the old one lacks key 2 */
	assert_int_equal(vault_open(&v2, "t.c", "9", old, &out), VAULT_OK);
	vault_free_text(out);
	assert_int_equal(vault_open(&v1, "t.c", "9", fresh, &out),
			 VAULT_UNKNOWN_KEY);
	/* the file was kept private */
	{
		struct stat st;
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 077, 0);
	}
	/* keygen without --add refuses to overwrite */
	assert_int_equal(vault_keygen(path, 0, &id, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "exists"));
	free(old);
	free(fresh);
	vault_clear(&v1);
	vault_clear(&v2);
}

static void test_keyring_file(void **state)
{
	static const char key[] = "00112233445566778899aabbccddeeff"
				  "00112233445566778899aabbccddeeff";
	char path[256], err[256], text[512];
	struct vault v;

	(void)state;
	path_in(path, sizeof(path), "ring");
	snprintf(text, sizeof(text), "# comment\n3 %s\n5 %s\nactive 3\n", key,
		 key);
	write_file(path, text, 0600);
	assert_int_equal(vault_load(&v, path, err, sizeof(err)), 0);
	assert_int_equal(v.n, 2);
	assert_int_equal(v.active, 3);
	vault_clear(&v);
	/* readable by others: refused, naming the fix */
	write_file(path, text, 0644);
	assert_int_equal(vault_load(&v, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "chmod 600"));
	/* syntax errors name the line */
	write_file(path, "1 abc\n", 0600);
	assert_int_equal(vault_load(&v, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":1:"));
	snprintf(text, sizeof(text), "1 %s\n1 %s\n", key, key);
	write_file(path, text, 0600);
	assert_int_equal(vault_load(&v, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "duplicate"));
	snprintf(text, sizeof(text), "1 %s\nactive 2\n", key);
	write_file(path, text, 0600);
	assert_int_equal(vault_load(&v, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "active key 2"));
	write_file(path, "# nothing\n", 0600);
	assert_int_equal(vault_load(&v, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no key"));
	unlink(path);
	assert_int_equal(vault_load(&v, path, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_binding),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_padding),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_keyring_file),
	};
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	{
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			rc = rc != 0 ? rc : 1;
	}
	return rc;
}
