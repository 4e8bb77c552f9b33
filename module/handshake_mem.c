/* handshake_mem.c -- remember type-2s, compare type-3s (see handshake_mem.h).
 *
 * Runs for 401s only, which are rare next to the rest of the traffic, so the
 * decoded token gets its own heap block of its exact decoded size (tokens can
 * be up to Squid's 64 KiB header limit; ASan sees any read past them). The
 * key is the correlation client id (address, or address|proxy user) and the
 * URL's host: the type-2s "this client was given for this host" (SPEC §2a).
 * A 407 is left alone: the handshake is then with a parent proxy, for every
 * host at once, which this key cannot follow. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "handshake_mem.h"
#include "ntlm.h"

#define TOKEN_MAX 65536 /* base64 characters: Squid's whole request header limit */

/* Decode a base64 token and find the NTLM message in it (raw NTLMSSP for the
 * NTLM scheme; SPNEGO, or raw NTLMSSP, for Negotiate). Returns 1 and fills
 * info, 0 when it holds no readable NTLM message, -1 when out of memory. */
static int ntlm_of_token(enum auth_scheme scheme, const char *tok, size_t n, struct ntlm_info *info)
{
    if (tok == NULL || n == 0 || n > TOKEN_MAX) {
        return 0;
    }
    size_t cap = n / 4 * 3 + 3;
    uint8_t *raw = malloc(cap);
    if (raw == NULL) {
        return -1;
    }
    long len = base64_decode(tok, n, raw, cap);
    int found = 0;
    if (len > 0 && scheme == SCHEME_NTLM) {
        found = ntlm_inspect(raw, (size_t)len, info) == 0;
    } else if (len > 0 && scheme == SCHEME_NEGOTIATE) {
        struct spnego_info *si = malloc(sizeof *si);
        if (si == NULL) {
            free(raw);
            return -1;
        }
        if (spnego_inspect(raw, (size_t)len, si) == 0 && si->has_ntlm) {
            *info = si->ntlm;
            found = 1;
        }
        free(si);
    }
    free(raw);
    return found;
}

/* The first type-2 among the 401's challenges. Returns as ntlm_of_token. */
static int find_type2(const struct challenge_set *set, struct ntlm_info *info)
{
    for (size_t i = 0; set != NULL && i < set->count; i++) {
        const struct challenge *c = &set->items[i];
        if (c->scheme != SCHEME_NTLM && c->scheme != SCHEME_NEGOTIATE) {
            continue;
        }
        int rc = ntlm_of_token(c->scheme, c->token, c->token_len, info);
        if (rc != 0 && (rc < 0 || info->type == 2)) {
            return rc;
        }
    }
    return 0;
}

/* The type-3 in an Authorization value "NTLM <b64>" / "Negotiate <b64>".
 * Returns as ntlm_of_token. */
static int find_type3(const char *auth, struct ntlm_info *info)
{
    if (auth == NULL) {
        return 0;
    }
    auth += strspn(auth, " \t");
    size_t slen = strcspn(auth, " \t");
    enum auth_scheme scheme = challenge_scheme_of(auth, slen);
    if (scheme != SCHEME_NTLM && scheme != SCHEME_NEGOTIATE) {
        return 0;
    }
    const char *tok = auth + slen;
    tok += strspn(tok, " \t");
    size_t tlen = strcspn(tok, " \t");
    int rc = ntlm_of_token(scheme, tok, tlen, info);
    return rc > 0 && info->type != 3 ? 0 : rc;
}

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
    struct ntlm_info *info = malloc(sizeof *info);
    struct handshake_print *prints = malloc(sizeof *prints * (CORRSTORE_HS_PER_KEY + 1));
    int rc = 0;
    if (info == NULL || prints == NULL) {
        rc = -1;
        goto out;
    }
    int found = find_type2(in->challenges, info);
    if (found < 0) {
        rc = -1;
        goto out;
    }
    if (found > 0) {
        if (handshake_print_of_challenge(info, in->client_connection, in->server_connection, &prints[0]) == 0) {
            if (corrstore_hs_record(store, key, &prints[0], now, &out->evicted) != 0) {
                out->store_error = true;
                rc = -1;
            } else {
                out->remembered = true;
            }
        }
        goto out;
    }
    if ((found = find_type3(in->authorization, info)) <= 0) {
        rc = found;
        goto out;
    }
    struct handshake_print *answer = &prints[CORRSTORE_HS_PER_KEY];
    if (handshake_print_of_answer(info, in->client_connection, in->server_connection, answer) != 0) {
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
    free(info);
    return rc;
}
