/* tokfile.c -- read a captured token file for the unit tests (see tokfile.h).
 * Tokens are kept as files rather than C arrays so that the generator
 * scripts of tests/data/ can refresh them without touching the tests. */
#include "tokfile.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base64.h"

#ifndef PC_SRCDIR
#define PC_SRCDIR "."
#endif

/* Whole file into a malloc'd buffer; NULL when it cannot be read. */
static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;

    if (f == NULL)
        return NULL;
    for (;;) {
        size_t got;
        if (len == cap) {
            uint8_t *nb = realloc(buf, cap ? cap * 2 : 4096);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
            cap = cap ? cap * 2 : 4096;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    fclose(f);
    *n = len;
    return buf;
}

uint8_t *tokfile_load(const char *rel, size_t *n)
{
    const char *top = getenv("PC_TOP_SRCDIR");
    char path[4096];
    uint8_t *raw, *out;
    size_t rn = 0, rl = strlen(rel);

    if (top == NULL || top[0] == '\0')
        top = PC_SRCDIR;
    snprintf(path, sizeof path, "%s/tests/data/%s", top, rel);
    raw = slurp(path, &rn);
    if (raw == NULL)
        fail_msg("cannot read %s", path);
    if (rl > 4 && strcmp(rel + rl - 4, ".b64") == 0) {
        uint8_t *dec = malloc(rn ? rn : 1);
        long dn;
        assert_non_null(dec);
        while (rn > 0 && (raw[rn - 1] == '\n' || raw[rn - 1] == '\r'))
            rn--;
        dn = base64_decode((const char *)raw, rn, dec, rn ? rn : 1);
        free(raw);
        if (dn <= 0)
            fail_msg("%s does not decode as base64", path);
        raw = dec;
        rn = (size_t)dn;
    }
    out = malloc(rn ? rn : 1); /* exact size */
    assert_non_null(out);
    memcpy(out, raw, rn);
    free(raw);
    *n = rn;
    return out;
}
