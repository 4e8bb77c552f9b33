/* fuzz_util.h -- helpers shared by the libFuzzer targets: cut the fuzz input
 * into fields and copy them into exact-size heap buffers, so that AddressSanitizer
 * sees a read one byte past any field (a stack or static copy would hide it). */
#ifndef PROMPTCAUSE_FUZZ_UTIL_H
#define PROMPTCAUSE_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A cursor over the fuzz input. */
struct fuzz_in {
    const uint8_t *p;
    size_t n;
};

/* The next field up to sep (not included) or the end; *len gets its length.
 * Returns NULL when the input is used up. */
static inline const uint8_t *fuzz_field(struct fuzz_in *in, uint8_t sep, size_t *len)
{
    if (in->n == 0) {
        return NULL;
    }
    const uint8_t *start = in->p;
    const uint8_t *end = memchr(in->p, sep, in->n);
    size_t k = end ? (size_t)(end - in->p) : in->n;
    *len = k;
    in->p += end ? k + 1 : k;
    in->n -= end ? k + 1 : k;
    return start;
}

/* One byte, 0 when the input is used up. */
static inline uint8_t fuzz_byte(struct fuzz_in *in)
{
    if (in->n == 0) {
        return 0;
    }
    in->n--;
    return *in->p++;
}

/* An exact-size heap copy of p[0..n) (malloc(0) avoided: a 1-byte buffer
 * for an empty field, never read). Aborts when out of memory. */
static inline char *fuzz_dup(const void *p, size_t n)
{
    char *d = malloc(n ? n : 1);
    if (d == NULL) {
        abort();
    }
    if (n) {
        memcpy(d, p, n);
    }
    return d;
}

/* A NUL-terminated heap copy (for the APIs that take C strings); bytes after
 * an embedded NUL are simply not seen by them. */
static inline char *fuzz_strdup(const void *p, size_t n)
{
    char *d = malloc(n + 1);
    if (d == NULL) {
        abort();
    }
    memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

#endif
