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

/* NegotiateFlags bits of a type-2 CHALLENGE that say what the target is. */
#define NTLM_FLAG_TARGET_TYPE_DOMAIN 0x00010000u
#define NTLM_FLAG_TARGET_TYPE_SERVER 0x00020000u

/* The AV pairs (MS-NLMP §2.2.2.1) of a type-2 TargetInfo, or of the NTLMv2
 * client blob of a type-3 (where the client copied the server's). "" / false
 * when absent. Names are UTF-8, cut at a character boundary. */
struct ntlm_av {
    char nb_computer[NTLM_NAME_MAX];  /* MsvAvNbComputerName */
    char nb_domain[NTLM_NAME_MAX];    /* MsvAvNbDomainName */
    char dns_computer[NTLM_NAME_MAX]; /* MsvAvDnsComputerName */
    char dns_domain[NTLM_NAME_MAX];   /* MsvAvDnsDomainName */
    char dns_tree[NTLM_NAME_MAX];     /* MsvAvDnsTreeName */
    char target_name[NTLM_NAME_MAX];  /* MsvAvTargetName (blob only), e.g. "HTTP/intranet" */
    bool has_timestamp;
    uint64_t timestamp;               /* MsvAvTimestamp, a FILETIME */
    bool has_flags;
    uint32_t av_flags;                /* MsvAvFlags */
    bool has_channel_bindings;
    bool channel_bindings_nonzero;    /* MsvAvChannelBindings present and not all zero */
    bool complete;                    /* MsvAvEOL reached inside the buffer */
};

struct ntlm_info {
    int type;                       /* 1, 2 or 3 */
    char domain[NTLM_NAME_MAX];     /* type 3 only, UTF-8 */
    char user[NTLM_NAME_MAX];       /* type 3 only, UTF-8 */
    char workstation[NTLM_NAME_MAX];/* type 3 only, UTF-8 */
    bool unicode;                   /* type 3 strings were UTF-16LE */
    uint32_t flags;                 /* NegotiateFlags (types 2 and 3; type 1 too) */
    /* type 2 */
    char target_name[NTLM_NAME_MAX]; /* TargetName: the domain or server name */
    /* type 2: TargetInfo; type 3: the AV pairs of the NTLMv2 blob */
    bool has_av;
    struct ntlm_av av;
    /* type 3 */
    size_t nt_len;                  /* NtChallengeResponse length: 24 is NTLMv1 */
    size_t lm_len;
    bool anonymous;                 /* empty user and empty NT response (MS-NLMP §3.2.5.1.2) */
    bool has_blob;                  /* an NTLMv2 client challenge (blob) was read */
    uint64_t blob_timestamp;        /* its TimeStamp (FILETIME) */
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
