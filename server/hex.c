/*
 * hex: decoding hexadecimal text; see hex.h.
 */
#include "hex.h"

/* A digit's value + 1 (0: not a digit). */
static const unsigned char hex_tab[256] = {
	['0'] = 1,  ['1'] = 2,	['2'] = 3,  ['3'] = 4,	['4'] = 5,  ['5'] = 6,
	['6'] = 7,  ['7'] = 8,	['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12,
	['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16, ['A'] = 11, ['B'] = 12,
	['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

int hex_digit(int ch)
{
	return (int)hex_tab[(unsigned char)ch] - 1;
}

int hex_decode(unsigned char *out, const char *hex, size_t n)
{
	const unsigned char *h = (const unsigned char *)hex;
	unsigned bad = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned hi = hex_tab[h[2 * i]];
		unsigned lo = hex_tab[h[2 * i + 1]];
		bad |= (hi == 0) | (lo == 0);
		out[i] = (unsigned char)((hi - 1) << 4 | (lo - 1));
	}
	return bad ? -1 : 0;
}
