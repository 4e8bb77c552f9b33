/* base64.h -- strict decoding of token68 credentials and NTLM/SPNEGO blobs.
 * Small enough that a library dependency would cost more than it saves. */
#ifndef PROMPTCAUSE_BASE64_H
#define PROMPTCAUSE_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Decode standard base64 (padding optional, no whitespace) of src[0..n) into
 * out (capacity cap). Returns the decoded length, or -1 on a bad character,
 * bad length, or when the output would exceed cap. */
long base64_decode(const char *src, size_t n, uint8_t *out, size_t cap);

#endif
