/* challenge.h -- parse WWW-Authenticate / Proxy-Authenticate (RFC 9110 §11).
 *
 * A 401 may carry several header lines, each with several comma-separated
 * challenges, each a scheme followed by a token68 or auth-params. The parser
 * never allocates: it fills a fixed-size set, keeps pointers into the caller's
 * header text for tokens, copies the realm (unescaped, truncated) and stops at
 * fixed bounds so hostile input costs O(header size). */
#ifndef PROMPTCAUSE_CHALLENGE_H
#define PROMPTCAUSE_CHALLENGE_H

#include <stdbool.h>
#include <stddef.h>

#define CHALLENGE_MAX 16        /* challenges kept per response */
#define CHALLENGE_REALM_MAX 256 /* realm bytes kept, NUL included */
#define CHALLENGE_NAME_MAX 32   /* scheme name bytes kept, NUL included */

enum auth_scheme {
    SCHEME_OTHER = 0,
    SCHEME_BASIC,
    SCHEME_DIGEST,
    SCHEME_NTLM,
    SCHEME_NEGOTIATE,
    SCHEME_BEARER,
};

struct challenge {
    enum auth_scheme scheme;
    char name[CHALLENGE_NAME_MAX]; /* scheme as sent, truncated */
    const char *token;             /* token68 inside the caller's text, or NULL */
    size_t token_len;
    char realm[CHALLENGE_REALM_MAX]; /* "" when absent */
    bool has_realm;
};

struct challenge_set {
    struct challenge items[CHALLENGE_MAX];
    size_t count;
    bool malformed; /* something could not be parsed; what could is kept */
    bool truncated; /* more than CHALLENGE_MAX challenges were offered */
};

/* Reset a set before feeding it header lines. */
void challenge_set_init(struct challenge_set *set);

/* Parse one header field value (p, n; need not be NUL-terminated) and append its
 * challenges to set. Token pointers point into p, so p must outlive set.
 * Returns 0 when the whole value parsed, -1 when it was malformed (set->malformed
 * is then true and the challenges read before the fault are kept). */
int challenge_parse(struct challenge_set *set, const char *p, size_t n);

/* Map a scheme name (case-insensitive) to its enum; unknown names give SCHEME_OTHER. */
enum auth_scheme challenge_scheme_of(const char *name, size_t n);

/* True when any challenge in set uses scheme. */
bool challenge_offers(const struct challenge_set *set, enum auth_scheme scheme);

/* First challenge with scheme, or NULL. */
const struct challenge *challenge_find(const struct challenge_set *set, enum auth_scheme scheme);

/* Canonical spelling of a scheme for events ("Basic", "Negotiate", ...);
 * SCHEME_OTHER gives NULL (use the challenge's own name). */
const char *challenge_scheme_name(enum auth_scheme scheme);

#endif
