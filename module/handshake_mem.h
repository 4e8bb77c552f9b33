/* handshake_mem.h -- the service's handshake memory (SPEC §2a handshake-split).
 *
 * On a 401 whose challenge carries an NTLM type-2 (plain NTLM, or inside
 * Negotiate) its fingerprint is kept in the shared correlation store under
 * (client id, host); on a 401 to a request that carried a type-3, the
 * fingerprints given to that client for that host are compared with the
 * type-3's. Between the classify input and the store only: no c-icap header,
 * so the unit tests run it against a real store. */
#ifndef PROMPTCAUSE_HANDSHAKE_MEM_H
#define PROMPTCAUSE_HANDSHAKE_MEM_H

#include <stdbool.h>
#include <stdint.h>

#include "classify.h"
#include "corrstore.h"
#include "handshake.h"

struct handshake_mem_result {
    bool remembered;       /* a type-2 fingerprint was stored */
    bool compared;         /* a type-3 was looked up */
    enum handshake_match match; /* the comparison (HANDSHAKE_UNKNOWN when none) */
    bool incomplete;       /* some of the key's fingerprints were dropped for room:
                              then only a split proven by the exact timestamp is kept */
    unsigned evicted;      /* live fingerprints of other keys dropped for room */
    bool store_error;      /* the store's lock could not be taken */
};

/* Look at one 401 (in->status; anything else is ignored) at time now (a
 * corrstore_now() second): remember its type-2, or compare its request's
 * type-3. Fills out. Returns 0, or -1 on an internal error (out of memory,
 * the store's lock), which the caller counts; out->match is then
 * HANDSHAKE_UNKNOWN. store may be NULL (no memory: nothing done). The tokens
 * are read from in->tokens, or decoded here when it is NULL. */
int handshake_mem_run(struct corrstore *store, const struct classify_input *in, uint32_t now,
                      struct handshake_mem_result *out);

#endif
