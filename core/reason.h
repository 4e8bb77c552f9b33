/* reason.h -- SPEC §2a: why an integrated (NTLM / Negotiate) logon failed.
 *
 * The classifier knows that a 401 refused credentials; this file says why,
 * from what the handshake put on the wire: the client's type-3 or AP-REQ
 * (struct credentials), the server's type-2 or Negotiate token in the 401
 * (struct reason_server), the module's comparison of the type-3 with the
 * challenges it remembers (enum handshake_match) and the URL. It is pure and
 * allocates nothing, so the module and the probe give the same diagnosis. */
#ifndef PROMPTCAUSE_REASON_H
#define PROMPTCAUSE_REASON_H

#include <stdbool.h>
#include <stddef.h>

#include "challenge.h"
#include "credentials.h"
#include "event.h"
#include "handshake.h"
#include "kerberos.h"
#include "ntlm.h"

/* What the server's challenges in this 401 said. false / empty when absent
 * or unreadable. */
struct reason_server {
    bool has_type2;
    struct ntlm_info type2;        /* NTLM type-2, bare or inside Negotiate */
    bool ntlm_challenge;           /* an NTLM-scheme challenge holds a type-2
                                      (SPEC §2 rule 2), also one too long to read whole */
    bool has_krb;
    struct krb_token_info krb;     /* the Negotiate token, read by krb_inspect */
};

/* Read the tokens of the NTLM and Negotiate challenges of set (may be NULL)
 * into out. Never fails: a token that does not decode, or is longer than the
 * stack buffer used (4 KiB decoded), leaves its part unknown -- except that
 * an NTLM token too long to read whole is still judged a type-2 or not by
 * the signature and type in its first 48 bytes (ntlm_challenge). */
void reason_read_server(const struct challenge_set *set, struct reason_server *out);

/* True when the server's Negotiate token ends the handshake instead of
 * continuing it: a KRB-ERROR, or a NegTokenResp with negState reject or
 * accept-completed (a 401 after a completed logon is a refusal too). */
bool reason_server_refused(const struct reason_server *s);

struct reason_input {
    const struct credentials *cred;      /* what the client sent; not NULL */
    const struct reason_server *server;  /* not NULL */
    enum handshake_match handshake;      /* module's handshake memory */
    const char *url;                     /* absolute URL, may be NULL */
    const char *host;                    /* lower-case host of url, "" unknown */
    bool names_ok;                       /* UserNames log: the hint may name the workstation */
};

#define REASON_HINT_MAX 400

struct reason_result {
    enum event_reason reason;            /* REASON_NONE: nothing more visible */
    char server_domain[128];             /* "" unknown */
    char spn[EVENT_SHORT_MAX];           /* "HTTP/host@REALM", "" unknown */
    char krb_error[40];                  /* RFC 4120 name, "" unknown */
    char hint[REASON_HINT_MAX];          /* "" when reason is REASON_NONE */
};

/* Diagnose a credentials-rejected 401: the first reason of SPEC §2a's table
 * that applies, its hint, and the fields that could be read (filled whatever
 * the reason). Never fails. */
void reason_diagnose(const struct reason_input *in, struct reason_result *out);

/* The same for a handshake step (type-2 or continuation sent): the only
 * reason is handshake-split (the module saw the legs on different
 * connections); server_domain comes from the type-2. */
void reason_diagnose_handshake(const struct reason_input *in, struct reason_result *out);

#endif
