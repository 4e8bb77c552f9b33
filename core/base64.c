/* base64.c -- strict standard-alphabet base64 decoding (RFC 4648 §4).
 *
 * Authorization tokens are attacker-controlled, so the decoder accepts only the
 * standard alphabet with optional trailing '=' padding, never whitespace or the
 * URL-safe alphabet, and never writes past the caller's capacity. */
#include "base64.h"

/* Value of a base64 digit, or -1 for anything outside the standard alphabet. */
static int b64_value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

/* Returns the decoded length, or -1 on a bad character, a misplaced or excess
 * '=', a length that cannot be base64 (one digit left over), or overflow of cap.
 * Non-zero bits left over in the last digit are ignored, as most decoders do:
 * rejecting them would buy nothing for classification. */
long base64_decode(const char *src, size_t n, uint8_t *out, size_t cap)
{
    size_t digits = n, pad = 0, i, o = 0;
    uint32_t acc = 0;
    unsigned nacc = 0;

    if (src == NULL && n > 0)
        return -1;
    /* Padding only at the end, at most two, and only so the total is a multiple of 4. */
    while (digits > 0 && src[digits - 1] == '=') {
        digits--;
        pad++;
    }
    if (pad > 2 || (pad > 0 && n % 4 != 0))
        return -1;
    if (digits % 4 == 1)
        return -1;
    if ((digits / 4) * 3 + (digits % 4 ? digits % 4 - 1 : 0) > cap)
        return -1;
    for (i = 0; i < digits; i++) {
        int v = b64_value((unsigned char)src[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        if (++nacc == 4) {
            out[o++] = (uint8_t)(acc >> 16);
            out[o++] = (uint8_t)(acc >> 8);
            out[o++] = (uint8_t)acc;
            acc = 0;
            nacc = 0;
        }
    }
    if (nacc == 2) {
        out[o++] = (uint8_t)(acc >> 4);
    } else if (nacc == 3) {
        out[o++] = (uint8_t)(acc >> 10);
        out[o++] = (uint8_t)(acc >> 2);
    }
    return (long)o;
}
