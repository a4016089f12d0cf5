/*
 * hex: decoding hexadecimal text, the one decoder of the daemon: key files
 * (data keyring, matching key), sealed values and audit hashes as
 * PostgreSQL returns bytea ("\x..."). A lookup table and no branch per
 * digit: a search opens a hundred sealed records of a kilobyte each.
 */
#ifndef MAILLAGE_HEX_H
#define MAILLAGE_HEX_H

#include <stddef.h>

/* The value of a hexadecimal digit (either case), or -1. */
int hex_digit(int ch);

/* n bytes from the 2n digits at `hex`: 0, or -1 on a non-digit. */
int hex_decode(unsigned char *out, const char *hex, size_t n);

#endif
