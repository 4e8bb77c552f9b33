/* handshake.h -- does a type-3 answer a challenge this client was given?
 * (SPEC §2a handshake-split).
 *
 * The legs of one NTLM handshake (type-2 in a 401, type-3 in the next
 * request) can reach different c-icap children and, when something between
 * browser and server drops the connection, different connections. MS-NLMP
 * copies the type-2's MsvAvTimestamp and computer name into the NTLMv2 client
 * blob, so a type-3 names the challenge it answers. A fingerprint holds only
 * those names and the connection identities Squid reports (§7): no
 * challenge, no response, nothing secret. The module keeps the fingerprints
 * of the type-2s it saw in the shared correlation store; this file only
 * builds and compares them, so it is pure and unit-tested. */
#ifndef PROMPTCAUSE_HANDSHAKE_H
#define PROMPTCAUSE_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntlm.h"

#define HANDSHAKE_CONN_MAX 64 /* "ip:port" as Squid's adaptation_meta sends it, NUL included */

/* One side of a handshake: what a type-2 said about itself, or what a
 * type-3's blob says it answers. "" / false when unknown. */
struct handshake_print {
    bool has_timestamp;
    uint64_t timestamp;                    /* MsvAvTimestamp (FILETIME) */
    char computer[NTLM_NAME_MAX];          /* MsvAvNbComputerName */
    char client_conn[HANDSHAKE_CONN_MAX];  /* X-Client-Connection of the transaction */
    char server_conn[HANDSHAKE_CONN_MAX];  /* X-Server-Connection of the transaction */
};

/* What the comparison of a type-3 with the remembered type-2s shows. */
enum handshake_match {
    HANDSHAKE_UNKNOWN = 0,    /* nothing to compare: no type-2 remembered, or no blob and no connections */
    HANDSHAKE_MATCHED,        /* answers a remembered type-2, on the same connections where known */
    HANDSHAKE_SPLIT_CLIENT,   /* answers a remembered type-2 but came on another client connection */
    HANDSHAKE_SPLIT_SERVER,   /* same client connection, but Squid used another server connection */
    HANDSHAKE_SPLIT_NO_MATCH, /* the blob matches none of the type-2s given to this client for this host */
};

/* Fingerprint of a type-2 CHALLENGE (type2->type == 2) seen on the given
 * connections (either may be NULL). Returns 0, or -1 when the challenge has
 * neither a timestamp nor a computer name (nothing to match later). */
int handshake_print_of_challenge(const struct ntlm_info *type2, const char *client_conn,
                                 const char *server_conn, struct handshake_print *out);

/* Fingerprint of a type-3 AUTHENTICATE (type3->type == 3). Returns 0, or -1
 * when it has no NTLMv2 blob and no connection identity is known. */
int handshake_print_of_answer(const struct ntlm_info *type3, const char *client_conn,
                              const char *server_conn, struct handshake_print *out);

/* Compare a type-3's fingerprint with the type-2s given to the same client
 * for the same host, newest first (n may be 0: UNKNOWN). A type-3 with a blob
 * is matched by MsvAvTimestamp (and computer name, case-blind), or by the
 * computer name alone when either side has no timestamp; found: its
 * connections decide MATCHED / SPLIT_CLIENT / SPLIT_SERVER (an unknown
 * connection on either side never makes a split); none: SPLIT_NO_MATCH. A
 * type-3 without a blob is matched by its client connection alone: none of
 * the given ones on it, all of them naming theirs: SPLIT_CLIENT; else
 * UNKNOWN. The caller decides what an incomplete memory allows (see
 * module/handshake_mem.c). */
enum handshake_match handshake_compare(const struct handshake_print *answer,
                                       const struct handshake_print *given, size_t n);

/* "client" / "server" / "no-match" for the SPLIT values, NULL otherwise. */
const char *handshake_split_side(enum handshake_match m);

#endif
