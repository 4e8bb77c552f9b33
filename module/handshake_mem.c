/* handshake_mem.c -- remember type-2s, compare type-3s (see handshake_mem.h).
 *
 * Runs for 401s only. The tokens are those the caller decoded once for the
 * classifier too (in->tokens); without them they are decoded here, on the
 * heap since a c-icap thread's stack is small. The
 * key is the correlation client id (address, or address|proxy user) and the
 * URL's host: the type-2s "this client was given for this host" (SPEC §2a).
 * A 407 is left alone: the handshake is then with a parent proxy, for every
 * host at once, which this key cannot follow. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handshake_mem.h"

/* Cheap test before any allocation: does the 401 carry an NTLM/Negotiate
 * token, or its request an NTLM/Negotiate Authorization? Most 401s (Basic,
 * anonymous offers) stop here. */
static bool has_ntlm_material(const struct classify_input *in)
{
    for (size_t i = 0; in->challenges != NULL && i < in->challenges->count; i++) {
        const struct challenge *c = &in->challenges->items[i];
        if ((c->scheme == SCHEME_NTLM || c->scheme == SCHEME_NEGOTIATE) && c->token != NULL && c->token_len > 0) {
            return true;
        }
    }
    if (in->authorization == NULL) {
        return false;
    }
    const char *a = in->authorization + strspn(in->authorization, " \t");
    enum auth_scheme scheme = challenge_scheme_of(a, strcspn(a, " \t"));
    return scheme == SCHEME_NTLM || scheme == SCHEME_NEGOTIATE;
}

/* Key of (client id, host of the URL); 0 when the URL has no host. */
static uint64_t key_of(const struct classify_input *in)
{
    char id[CORRSTORE_CLIENT_MAX];
    char host[256];
    if (in->url == NULL || classify_host_of_url(in->url, host, sizeof host) != 0) {
        return 0;
    }
    size_t idn = corrstore_client_id(in->client, in->proxy_user, id, sizeof id);
    return corrstore_key(id, idn, host, strlen(host));
}

int handshake_mem_run(struct corrstore *store, const struct classify_input *in, uint32_t now,
                      struct handshake_mem_result *out)
{
    memset(out, 0, sizeof *out);
    out->match = HANDSHAKE_UNKNOWN;
    if (store == NULL || in->status != 401 || !has_ntlm_material(in)) {
        return 0;
    }
    uint64_t key = key_of(in);
    if (key == 0) {
        return 0;
    }
    struct classify_tokens *own = NULL;
    const struct classify_tokens *tok = in->tokens;
    struct handshake_print *prints = malloc(sizeof *prints * (CORRSTORE_HS_PER_KEY + 1));
    int rc = 0;
    if (tok == NULL && (own = malloc(sizeof *own)) != NULL) {
        classify_read_tokens(in, own);
        tok = own;
    }
    if (tok == NULL || prints == NULL) {
        rc = -1;
        goto out;
    }
    if (tok->server.has_type2) {
        if (handshake_print_of_challenge(&tok->server.type2, in->client_connection, in->server_connection,
                                         &prints[0]) == 0) {
            if (corrstore_hs_record(store, key, &prints[0], now, &out->evicted) != 0) {
                out->store_error = true;
                rc = -1;
            } else {
                out->remembered = true;
            }
        }
        goto out;
    }
    if (!tok->cred.has_ntlm || tok->cred.ntlm.type != 3) {
        goto out;
    }
    struct handshake_print *answer = &prints[CORRSTORE_HS_PER_KEY];
    if (handshake_print_of_answer(&tok->cred.ntlm, in->client_connection, in->server_connection, answer) != 0) {
        goto out; /* NTLMv1 with no connection identity: nothing to compare */
    }
    bool incomplete;
    int n = corrstore_hs_lookup(store, key, now, prints, CORRSTORE_HS_PER_KEY, &incomplete);
    if (n < 0) {
        out->store_error = true;
        rc = -1;
        goto out;
    }
    out->compared = true;
    out->match = handshake_compare(answer, prints, (size_t)n);
    out->incomplete = incomplete;
    if (incomplete && out->match != HANDSHAKE_MATCHED && !(answer->has_timestamp && out->match != HANDSHAKE_SPLIT_NO_MATCH)) {
        /* Some of this key's type-2s were dropped for room: "none matches"
         * and the connection-only or name-only decisions may be about one
         * we no longer have. Only a split found by the exact timestamp of
         * the type-2 it answers stands. */
        out->match = HANDSHAKE_UNKNOWN;
    }
out:
    free(prints);
    free(own);
    return rc;
}
