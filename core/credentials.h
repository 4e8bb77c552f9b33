/* credentials.h -- what the client sent in Authorization / Proxy-Authorization.
 *
 * Classifies the scheme (SPEC §3 auth_sent) and extracts the identity the
 * event may log: the NTLM type-3 DOMAIN\user, the Digest username, or the Basic
 * user before the colon. The password never leaves this file. */
#ifndef PROMPTCAUSE_CREDENTIALS_H
#define PROMPTCAUSE_CREDENTIALS_H

#include <stdbool.h>
#include <stddef.h>

#include "kerberos.h"
#include "ntlm.h"

enum auth_sent {
    AUTH_SENT_NONE = 0,
    AUTH_SENT_BASIC,
    AUTH_SENT_DIGEST,
    AUTH_SENT_NTLM,
    AUTH_SENT_NEGOTIATE_KERBEROS,
    AUTH_SENT_NEGOTIATE_NTLM,
    AUTH_SENT_BEARER,
    AUTH_SENT_OTHER,
};

#define CREDENTIALS_USER_MAX 260 /* DOMAIN\user in UTF-8, NUL included */

struct credentials {
    enum auth_sent sent;
    char user[CREDENTIALS_USER_MAX]; /* "" when no identity could be read */
    int ntlm_type;                   /* NTLM message type carried, 0 if none */
    bool malformed;                  /* the value could not be fully decoded */
    /* SPEC §2a evidence, for core/reason.c: the NTLM message (bare or inside
     * SPNEGO) and the Kerberos token as read. Names only, nothing secret. */
    bool has_ntlm;                   /* ntlm is valid */
    struct ntlm_info ntlm;
    bool has_krb;                    /* krb is valid (krb_inspect accepted the token) */
    struct krb_token_info krb;       /* the AP-REQ's ticket: realm, sname, etype, kvno */
};

/* Inspect an Authorization header value (p, n; NULL or n == 0 means absent).
 * Always fills c; returns 0, or -1 when the value was present but malformed
 * (c->sent is still set from the scheme name). */
int credentials_inspect(const char *p, size_t n, struct credentials *c);

/* Event spelling of auth_sent ("none", "negotiate-ntlm", ...). */
const char *credentials_sent_name(enum auth_sent sent);

#endif
