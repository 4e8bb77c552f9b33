/* fuzz_urlres.c -- URL reference resolution and normalisation. Input:
 * flags byte, output-size byte, then "base\nref". The output buffer is
 * exactly the size the fuzzer chose (1..256, or 8 KiB), so a write past a
 * too-small buffer is caught; a result must be NUL-terminated with the
 * length reported, normalising a normalised URL must not change it, and
 * urlres_resolve_normal against the normalised base gives urlres_resolve's
 * result. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "fuzz_util.h"
#include "urlres.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_out(int rc, const char *out, size_t out_size, size_t out_len)
{
    assert(rc == URLRES_OK || rc == URLRES_EBASE || rc == URLRES_ESPACE || rc == URLRES_ENOMEM);
    if (rc == URLRES_OK) {
        assert(out_len < out_size);
        assert(out[out_len] == '\0');
    }
    assert(urlres_strerror(rc) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };
    uint8_t flags = fuzz_byte(&in);
    uint8_t sz = fuzz_byte(&in);
    size_t out_size = sz == 0 ? 8192 : sz;
    size_t base_len = 0, ref_len = 0;
    const uint8_t *b = fuzz_field(&in, '\n', &base_len);
    const uint8_t *r = b ? fuzz_field(&in, '\n', &ref_len) : NULL;
    if (r == NULL) {
        /* a single field: the rest of the input, as ref, after an empty base */
        r = b;
        ref_len = base_len;
        b = (const uint8_t *)"";
        base_len = 0;
    }
    char *base = fuzz_dup(b, base_len);
    char *ref = fuzz_dup(r ? r : (const uint8_t *)"", ref_len);
    char *out = malloc(out_size);
    size_t out_len = 0;
    if (out == NULL) {
        abort();
    }

    unsigned f = (flags & 1) ? URLRES_STRICT : 0;
    int rc = urlres_resolve(base, base_len, ref, ref_len, f, out, out_size, &out_len);
    check_out(rc, out, out_size, out_len);

    (void)urlres_is_absolute(ref, ref_len);
    size_t sl = urlres_scheme_len(ref, ref_len);
    assert(sl <= ref_len);

    if (rc == URLRES_OK && f == 0) {
        /* normalisation is idempotent on its own output */
        char *again = malloc(out_size);
        size_t again_len = 0;
        if (again == NULL) {
            abort();
        }
        char *copy = fuzz_dup(out, out_len);
        int rc2 = urlres_normalise(copy, out_len, again, out_size, &again_len);
        check_out(rc2, again, out_size, again_len);
        assert(rc2 != URLRES_EBASE);
        if (rc2 == URLRES_OK && (again_len != out_len || memcmp(again, out, out_len) != 0)) {
            fprintf(stderr, "urlres: normalising a resolved URL changed it:\n  %s\n  %s\n", out, again);
            abort();
        }
        free(copy);
        free(again);
    }

    {
        /* the quick join for a normalised base gives urlres_resolve's result */
        char nb[1024], want[1024], got[1024];
        size_t nb_len = 0, want_len = 0, got_len = 0;
        if (urlres_normalise(base, base_len, nb, sizeof nb, &nb_len) == URLRES_OK) {
            int rw = urlres_resolve(nb, nb_len, ref, ref_len, 0, want, sizeof want, &want_len);
            int rg = urlres_resolve_normal(nb, nb_len, ref, ref_len, got, sizeof got, &got_len);
            if (rw != rg || (rw == URLRES_OK && (want_len != got_len || memcmp(want, got, got_len) != 0))) {
                fprintf(stderr, "urlres: quick join differs for base %s: %d %s / %d %s\n", nb, rw,
                        rw == URLRES_OK ? want : "", rg, rg == URLRES_OK ? got : "");
                abort();
            }
        }
    }

    out_len = 0;
    rc = urlres_normalise(ref, ref_len, out, out_size, &out_len);
    check_out(rc, out, out_size, out_len);

    free(out);
    free(ref);
    free(base);
    return 0;
}
