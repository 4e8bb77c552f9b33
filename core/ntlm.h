/* ntlm.h -- inspect NTLMSSP messages (MS-NLMP) and SPNEGO tokens (RFC 4178).
 *
 * The proxy sees base64 tokens in Authorization and WWW-Authenticate headers.
 * We only need to know which message it is and, for a type-3 AUTHENTICATE,
 * who tried to log on. Every offset and length inside the message is checked
 * against the buffer: a lying message gives an error, never a read past it. */
#ifndef PROMPTCAUSE_NTLM_H
#define PROMPTCAUSE_NTLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NTLM_NAME_MAX 128 /* UTF-8 bytes kept per identity field, NUL included */

struct ntlm_info {
    int type;                       /* 1, 2 or 3 */
    char domain[NTLM_NAME_MAX];     /* type 3 only, UTF-8 */
    char user[NTLM_NAME_MAX];       /* type 3 only, UTF-8 */
    char workstation[NTLM_NAME_MAX];/* type 3 only, UTF-8 */
    bool unicode;                   /* type 3 strings were UTF-16LE */
};

/* Inspect a raw NTLMSSP message. Returns 0 and fills info, or -1 when msg is
 * not an NTLMSSP message or is malformed (then only info->type may be set). */
int ntlm_inspect(const uint8_t *msg, size_t n, struct ntlm_info *info);

enum spnego_mech {
    SPNEGO_UNKNOWN = 0,  /* not recognised / malformed */
    SPNEGO_KERBEROS,     /* Kerberos (incl. MS legacy OID) or a raw Kerberos AP-REQ */
    SPNEGO_NTLMSSP,      /* NTLMSSP wrapped in SPNEGO, or raw NTLMSSP sent as Negotiate */
};

struct spnego_info {
    enum spnego_mech mech;
    bool has_ntlm;          /* ntlm below is valid */
    struct ntlm_info ntlm;  /* the wrapped NTLMSSP message, when found */
};

/* Inspect a decoded Negotiate token (SPNEGO NegTokenInit/NegTokenResp, a raw
 * Kerberos GSS token, or raw NTLMSSP). Returns 0 when the mechanism was
 * recognised, -1 otherwise (info->mech is then SPNEGO_UNKNOWN). */
int spnego_inspect(const uint8_t *tok, size_t n, struct spnego_info *info);

#endif
