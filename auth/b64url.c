/* SPDX-License-Identifier: MIT */
/* Strict base64url and standard base64 codecs (RFC 4648 §4 and §5). */
#include <string.h>

#include "auth.h"

#define B64_BAD 0xff

static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Decoding tables: 0..63 for an alphabet byte, B64_BAD for anything else
 * (including '=', which each decoder handles itself). */
/* clang-format off */
static const unsigned char url_table[256] = {
#define B B64_BAD
	B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
	B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
	B, B, B, B, B, B, B, B, B, B, B, B, B, 62, B, B,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, B, B, B, B, B, B,
	B, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, B, B, B, B, 63,
	B, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, B, B, B, B, B,
	B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
	B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
	B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
	B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
	B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
	B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
	B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
	B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
};

static const unsigned char std_table[256] = {
	B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
	B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
	B, B, B, B, B, B, B, B, B, B, B, 62, B, B, B, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, B, B, B, B, B, B,
	B, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, B, B, B, B, B,
	B, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, B, B, B, B, B,
	B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
	B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
	B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
	B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
	B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
	B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
	B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
	B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B,
#undef B
};
/* clang-format on */

/*
 * Decodes |in_len| alphabet characters (no padding) through |table|. A
 * final group of one character is impossible, and the bits a final group
 * of two or three characters leaves unused must be zero (RFC 4648 §3.5):
 * otherwise several strings would decode to the same bytes and a token
 * would be malleable.
 */
static int
decode_groups(const unsigned char *table, const char *in, size_t in_len,
    unsigned char *out, size_t out_cap, size_t *out_len)
{
	size_t rem = in_len % 4, need, i, o = 0;
	unsigned char v[4];

	if (rem == 1)
		return -1;
	need = in_len / 4 * 3 + (rem ? rem - 1 : 0);
	if (need > out_cap || (in_len > 0 && out == NULL))
		return -1;
	for (i = 0; i + 4 <= in_len; i += 4) {
		v[0] = table[(unsigned char)in[i]];
		v[1] = table[(unsigned char)in[i + 1]];
		v[2] = table[(unsigned char)in[i + 2]];
		v[3] = table[(unsigned char)in[i + 3]];
		if ((v[0] | v[1] | v[2] | v[3]) & 0xc0)
			return -1;
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		out[o++] = (unsigned char)(v[1] << 4 | v[2] >> 2);
		out[o++] = (unsigned char)(v[2] << 6 | v[3]);
	}
	if (rem >= 2) {
		v[0] = table[(unsigned char)in[i]];
		v[1] = table[(unsigned char)in[i + 1]];
		v[2] = rem == 3 ? table[(unsigned char)in[i + 2]] : 0;
		if ((v[0] | v[1] | v[2]) & 0xc0)
			return -1;
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (rem == 2) {
			if (v[1] & 0x0f)
				return -1;
		} else {
			out[o++] = (unsigned char)(v[1] << 4 | v[2] >> 2);
			if (v[2] & 0x03)
				return -1;
		}
	}
	*out_len = o;
	return 0;
}

int
b64url_decode(const char *in, size_t in_len, unsigned char *out, size_t out_cap,
    size_t *out_len)
{
	if ((in == NULL && in_len > 0) || out_len == NULL ||
	    (out == NULL && out_cap > 0))
		return -1;
	return decode_groups(url_table, in, in_len, out, out_cap, out_len);
}

int
b64url_encode(const unsigned char *in, size_t in_len, char *out, size_t out_cap,
    size_t *out_len)
{
	size_t need, i, o = 0;
	unsigned int v;

	if ((in == NULL && in_len > 0) || out == NULL || out_len == NULL)
		return -1;
	if (in_len > (SIZE_MAX - 4) / 4 * 3)
		return -1;
	need = in_len / 3 * 4 + (in_len % 3 ? in_len % 3 + 1 : 0);
	if (need >= out_cap)
		return -1;
	for (i = 0; i + 3 <= in_len; i += 3) {
		v = (unsigned int)in[i] << 16 | (unsigned int)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = url_alphabet[v >> 18 & 63];
		out[o++] = url_alphabet[v >> 12 & 63];
		out[o++] = url_alphabet[v >> 6 & 63];
		out[o++] = url_alphabet[v & 63];
	}
	if (in_len - i == 1) {
		v = (unsigned int)in[i] << 16;
		out[o++] = url_alphabet[v >> 18 & 63];
		out[o++] = url_alphabet[v >> 12 & 63];
	} else if (in_len - i == 2) {
		v = (unsigned int)in[i] << 16 | (unsigned int)in[i + 1] << 8;
		out[o++] = url_alphabet[v >> 18 & 63];
		out[o++] = url_alphabet[v >> 12 & 63];
		out[o++] = url_alphabet[v >> 6 & 63];
	}
	out[o] = '\0';
	*out_len = o;
	return 0;
}

int
b64std_decode(const char *in, size_t in_len, unsigned char *out, size_t out_cap,
    size_t *out_len)
{
	size_t pad = 0;

	if ((in == NULL && in_len > 0) || out_len == NULL ||
	    (out == NULL && out_cap > 0))
		return -1;
	/* Padding is mandatory (RFC 4648 §4): whole groups of four, with at
	 * most two '=' and only at the very end. */
	if (in_len % 4 != 0)
		return -1;
	if (in_len >= 1 && in[in_len - 1] == '=')
		pad++;
	if (in_len >= 2 && in[in_len - 2] == '=')
		pad++;
	if (pad == 1 && in_len >= 2 && in[in_len - 2] == '=')
		return -1;
	/* Any other '=' falls out as a non-alphabet byte in decode_groups. */
	return decode_groups(std_table, in, in_len - pad, out, out_cap,
	    out_len);
}
