/* fuzz_challenge.c -- WWW-Authenticate / Proxy-Authenticate parsing: each
 * '\n'-separated piece of the input is one header line of the same 401, fed
 * to challenge_parse in an exact-size buffer; then the set's invariants. */
#include <assert.h>
#include <string.h>

#include "challenge.h"
#include "fuzz_util.h"

#define LINES_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };
    struct challenge_set set;
    char *lines[LINES_MAX];
    size_t nlines = 0, len;
    const uint8_t *f;

    challenge_set_init(&set);
    while (nlines < LINES_MAX && (f = fuzz_field(&in, '\n', &len)) != NULL) {
        lines[nlines] = fuzz_dup(f, len);
        int rc = challenge_parse(&set, lines[nlines], len);
        assert(rc == 0 || set.malformed);
        nlines++;
    }
    assert(set.count <= CHALLENGE_MAX);
    for (size_t i = 0; i < set.count; i++) {
        const struct challenge *c = &set.items[i];
        assert(memchr(c->name, '\0', sizeof c->name) != NULL);
        assert(memchr(c->realm, '\0', sizeof c->realm) != NULL);
        if (c->token != NULL) {
            /* ASan checks that the whole token is inside a live line buffer. */
            volatile char sum = 0;
            for (size_t k = 0; k < c->token_len; k++) {
                sum ^= c->token[k];
            }
            (void)sum;
        }
        assert(challenge_scheme_of(c->name, strlen(c->name)) == c->scheme || c->scheme == SCHEME_OTHER ||
               strlen(c->name) == CHALLENGE_NAME_MAX - 1);
        (void)challenge_offers(&set, c->scheme);
        (void)challenge_find(&set, c->scheme);
        (void)challenge_scheme_name(c->scheme);
    }
    for (size_t k = 0; k < nlines; k++) {
        free(lines[k]);
    }
    return 0;
}
