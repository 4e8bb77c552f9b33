/* kerberos.h -- read the Kerberos messages inside Negotiate tokens (RFC 4120,
 * RFC 4121, RFC 4178), for SPEC §2a.
 *
 * A client's `Authorization: Negotiate` token carries an AP-REQ whose ticket
 * keeps its realm, service name, encryption type and key version in clear; a
 * server's `WWW-Authenticate: Negotiate` token may carry a KRB-ERROR saying why
 * it could not accept the ticket. A small bounded DER reader walks exactly the
 * shapes needed: every length is checked against the buffer, nesting is
 * limited, and garbage gives -1 with the unknown parts empty, never a crash.
 * Nothing secret is copied out: no authenticator, no cipher text. */
#ifndef PROMPTCAUSE_KERBEROS_H
#define PROMPTCAUSE_KERBEROS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KRB_NAME_MAX 256 /* UTF-8 bytes kept per realm/principal, NUL included */

/* The ticket of an AP-REQ (RFC 4120 §5.3, §5.5.1). "" / false when unknown. */
struct krb_ticket {
    char realm[KRB_NAME_MAX];   /* Ticket.realm, e.g. "CORP.EXAMPLE" */
    char sname[KRB_NAME_MAX];   /* Ticket.sname components joined by '/', e.g. "HTTP/intranet.corp.example" */
    bool has_etype;
    int32_t etype;              /* Ticket.enc-part.etype */
    bool has_kvno;
    uint32_t kvno;              /* Ticket.enc-part.kvno */
};

/* A KRB-ERROR (RFC 4120 §5.9.1). */
struct krb_error {
    int32_t error_code;         /* e.g. 41 KRB_AP_ERR_MODIFIED */
    char realm[KRB_NAME_MAX];   /* KRB-ERROR.realm (of sname) */
    char sname[KRB_NAME_MAX];   /* KRB-ERROR.sname joined by '/' */
};

enum krb_token_kind {
    KRB_TOKEN_UNKNOWN = 0,
    KRB_TOKEN_AP_REQ,           /* client token: ticket filled */
    KRB_TOKEN_AP_REP,           /* server accepted (mutual authentication) */
    KRB_TOKEN_KRB_ERROR,        /* server refused: error filled */
    KRB_TOKEN_NTLMSSP,          /* the mechanism token is NTLMSSP, not Kerberos */
    KRB_TOKEN_NONE,             /* a NegTokenResp without a mechanism token */
};

/* SPNEGO negState of a NegTokenResp (RFC 4178 §4.2.2); -1 when absent. */
enum krb_neg_state {
    KRB_NEG_ABSENT = -1,
    KRB_NEG_ACCEPT_COMPLETED = 0,
    KRB_NEG_ACCEPT_INCOMPLETE = 1,
    KRB_NEG_REJECT = 2,
    KRB_NEG_REQUEST_MIC = 3,
};

struct krb_token_info {
    enum krb_token_kind kind;
    enum krb_neg_state neg_state;
    struct krb_ticket ticket;   /* KRB_TOKEN_AP_REQ */
    struct krb_error error;     /* KRB_TOKEN_KRB_ERROR */
};

/* Inspect a decoded Negotiate token: a SPNEGO NegTokenInit or NegTokenResp,
 * or a raw GSS Kerberos token (RFC 4121 §4.1: OID, 2-byte TOK_ID, message),
 * down to the AP-REQ, AP-REP or KRB-ERROR. Returns 0 when a Kerberos message
 * (or NTLMSSP, or an empty NegTokenResp) was recognised and info->kind says
 * which, -1 otherwise (info->kind is KRB_TOKEN_UNKNOWN, the rest empty). */
int krb_inspect(const uint8_t *tok, size_t n, struct krb_token_info *info);

/* RFC 4120 §7.5.9 name of an error code ("KRB_AP_ERR_MODIFIED"), or NULL for
 * a code it does not list. */
const char *krb_error_name(int32_t code);

#endif
