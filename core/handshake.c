/* handshake.c -- build and compare type-2/type-3 fingerprints (see handshake.h).
 *
 * The decision, in order:
 *   1. nothing remembered for this client and host: UNKNOWN;
 *   2. the type-3 carries a blob (NTLMv2): find the remembered type-2 it
 *      names -- same MsvAvTimestamp where both have one (and the same
 *      computer name where both have one), else the same computer name. None:
 *      SPLIT_NO_MATCH (it answers a challenge this client was not given
 *      through us: another server behind a balancer, another child's memory
 *      lost, or a stale challenge). Found: compare the connections of that
 *      type-2 with the type-3's (step 4);
 *   3. no blob (NTLMv1, or a blob without AV pairs): only the connections
 *      can tell. A type-2 given on the type-3's client connection is taken
 *      as its challenge; none, while every remembered one names its client
 *      connection: SPLIT_CLIENT; connections unknown: UNKNOWN;
 *   4. client connections both known and different: SPLIT_CLIENT; else
 *      server connections both known and different: SPLIT_SERVER; else
 *      MATCHED.
 * A timestamp alone is strong (100 ns resolution, set per challenge); a
 * computer name alone only tells servers apart, so several challenges of one
 * server all "match" and the connections decide. Connection identities are
 * compared as the exact text Squid sent. */
#include <string.h>
#include <strings.h>

#include "handshake.h"

/* Copy a connection identity (NULL: unknown) into out, cut to fit. Squid
 * writes '-' for a logformat code it has no value for ("-:-" when there is
 * no server connection): unknown too. */
static void copy_conn(char *out, const char *conn)
{
    out[0] = '\0';
    if (conn != NULL && conn[0] != '-') {
        size_t n = strnlen(conn, HANDSHAKE_CONN_MAX - 1);
        memcpy(out, conn, n);
        out[n] = '\0';
    }
}

/* Fill the naming part of a print from AV pairs (NULL: none); false when
 * nothing names the challenge. Only MsvAvTimestamp counts as a timestamp: a
 * blob's own TimeStamp equals it when the server sent one (MS-NLMP
 * 3.1.5.1.2) and is the client's clock otherwise, which names nothing. */
static bool names_of(const struct ntlm_av *av, struct handshake_print *out)
{
    out->has_timestamp = av != NULL && av->has_timestamp;
    out->timestamp = out->has_timestamp ? av->timestamp : 0;
    out->computer[0] = '\0';
    if (av != NULL) {
        size_t n = strnlen(av->nb_computer, NTLM_NAME_MAX - 1);
        memcpy(out->computer, av->nb_computer, n);
        out->computer[n] = '\0';
    }
    return out->has_timestamp || out->computer[0] != '\0';
}

int handshake_print_of_challenge(const struct ntlm_info *type2, const char *client_conn,
                                 const char *server_conn, struct handshake_print *out)
{
    memset(out, 0, sizeof *out);
    if (type2 == NULL || type2->type != 2) {
        return -1;
    }
    bool named = names_of(type2->has_av ? &type2->av : NULL, out);
    copy_conn(out->client_conn, client_conn);
    copy_conn(out->server_conn, server_conn);
    return named ? 0 : -1;
}

int handshake_print_of_answer(const struct ntlm_info *type3, const char *client_conn,
                              const char *server_conn, struct handshake_print *out)
{
    memset(out, 0, sizeof *out);
    if (type3 == NULL || type3->type != 3) {
        return -1;
    }
    bool named = type3->has_blob &&
                 names_of(type3->has_av ? &type3->av : NULL, out);
    copy_conn(out->client_conn, client_conn);
    copy_conn(out->server_conn, server_conn);
    if (!named) {
        out->has_timestamp = false;
        out->computer[0] = '\0';
    }
    return named || out->client_conn[0] != '\0' || out->server_conn[0] != '\0' ? 0 : -1;
}

static bool names_anything(const struct handshake_print *p)
{
    return p->has_timestamp || p->computer[0] != '\0';
}

/* Does the answer a name the challenge g? NetBIOS names are case-blind. */
static bool answers(const struct handshake_print *a, const struct handshake_print *g)
{
    bool both_computer = a->computer[0] != '\0' && g->computer[0] != '\0';
    if (both_computer && strcasecmp(a->computer, g->computer) != 0) {
        return false;
    }
    if (a->has_timestamp && g->has_timestamp) {
        return a->timestamp == g->timestamp;
    }
    return both_computer;
}

static bool differ(const char *x, const char *y)
{
    return x[0] != '\0' && y[0] != '\0' && strcmp(x, y) != 0;
}

/* Step 4: the connections of a type-3 and of the type-2 it answers. */
static enum handshake_match by_connections(const struct handshake_print *a, const struct handshake_print *g)
{
    if (differ(a->client_conn, g->client_conn)) {
        return HANDSHAKE_SPLIT_CLIENT;
    }
    if (differ(a->server_conn, g->server_conn)) {
        return HANDSHAKE_SPLIT_SERVER;
    }
    return HANDSHAKE_MATCHED;
}

enum handshake_match handshake_compare(const struct handshake_print *answer,
                                       const struct handshake_print *given, size_t n)
{
    if (answer == NULL || given == NULL || n == 0) {
        return HANDSHAKE_UNKNOWN;
    }
    if (names_anything(answer)) {
        /* Several may "match" on the computer name alone: prefer one on the
         * same client connection, so a split is claimed only when none is. */
        const struct handshake_print *first = NULL;
        for (size_t i = 0; i < n; i++) {
            if (!answers(answer, &given[i])) {
                continue;
            }
            if (first == NULL) {
                first = &given[i];
            }
            if (answer->client_conn[0] != '\0' && strcmp(answer->client_conn, given[i].client_conn) == 0) {
                return by_connections(answer, &given[i]);
            }
        }
        return first != NULL ? by_connections(answer, first) : HANDSHAKE_SPLIT_NO_MATCH;
    }
    if (answer->client_conn[0] == '\0') {
        /* No blob and no client connection: a server connection alone cannot
         * say which challenge was answered. */
        return HANDSHAKE_UNKNOWN;
    }
    bool all_known = true;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(answer->client_conn, given[i].client_conn) == 0) {
            return by_connections(answer, &given[i]);
        }
        if (given[i].client_conn[0] == '\0') {
            all_known = false;
        }
    }
    return all_known ? HANDSHAKE_SPLIT_CLIENT : HANDSHAKE_UNKNOWN;
}

const char *handshake_split_side(enum handshake_match m)
{
    switch (m) {
    case HANDSHAKE_SPLIT_CLIENT:
        return "client";
    case HANDSHAKE_SPLIT_SERVER:
        return "server";
    case HANDSHAKE_SPLIT_NO_MATCH:
        return "no-match";
    case HANDSHAKE_UNKNOWN:
    case HANDSHAKE_MATCHED:
        break;
    }
    return NULL;
}
