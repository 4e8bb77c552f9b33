/* ntlm_build.h -- test helper: build NTLMSSP messages (MS-NLMP §2.2) and
 * SPNEGO/GSS wrappers (RFC 4178, RFC 2743 §3.1) so the inspectors can be fed
 * well-formed, truncated and lying tokens without captured traffic.
 *
 * Every builder writes into out (capacity cap) and returns the length written,
 * or 0 when it does not fit or an argument is invalid. */
#ifndef PROMPTCAUSE_NTLM_BUILD_H
#define PROMPTCAUSE_NTLM_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Type 1 NEGOTIATE with the given flags and no domain/workstation payload. */
size_t ntlm_build_type1(uint8_t *out, size_t cap, uint32_t flags);

/* Type 2 CHALLENGE with a target name (UTF-16LE when unicode, else bytes as given). */
size_t ntlm_build_type2(uint8_t *out, size_t cap, const char *target, bool unicode);

enum ntlm_build_field { NB_DOMAIN = 0, NB_USER, NB_WORKSTATION, NB_FIELDS };

/* Type 3 AUTHENTICATE. Strings are UTF-8 and are written as UTF-16LE
 * (surrogate pairs included) when unicode, else copied byte for byte as OEM.
 * raw[f] (with raw_len[f]) replaces a field's bytes verbatim, for invalid
 * UTF-16. The lie_* members overwrite a field's security buffer after
 * building, to produce offsets/lengths that point outside the message. */
struct ntlm_build_type3 {
    const char *domain, *user, *workstation;
    bool unicode;
    const uint8_t *raw[NB_FIELDS];
    size_t raw_len[NB_FIELDS];
    bool lie[NB_FIELDS];
    uint16_t lie_len[NB_FIELDS];
    uint32_t lie_offset[NB_FIELDS];
};
size_t ntlm_build_type3(uint8_t *out, size_t cap, const struct ntlm_build_type3 *o);

/* Mechanism OIDs, as DER contents (without tag and length). */
enum ntlm_build_oid { NB_OID_KRB5 = 0, NB_OID_MSKRB5, NB_OID_NTLMSSP, NB_OID_NEGOEX, NB_OID_SPNEGO };

/* GSS InitialContextToken [APPLICATION 0] { SPNEGO OID, NegTokenInit [0] {
 * mechTypes [0] (the listed OIDs), mechToken [2] (when mech_token != NULL) } }. */
size_t spnego_build_init(uint8_t *out, size_t cap, const enum ntlm_build_oid *mechs, size_t nmechs,
                         const uint8_t *mech_token, size_t token_len);

/* NegTokenResp [1] { negState [0] (when neg_state >= 0), supportedMech [1]
 * (when has_mech), responseToken [2] (when token != NULL) }. */
size_t spnego_build_resp(uint8_t *out, size_t cap, int neg_state, bool has_mech,
                         enum ntlm_build_oid mech, const uint8_t *token, size_t token_len);

/* A raw Kerberos GSS token: [APPLICATION 0] { krb5 OID, 01 00, a stub AP-REQ }. */
size_t krb_build_gss(uint8_t *out, size_t cap);

/* Standard base64 with padding, NUL-terminated. Returns the length, or 0 when
 * out is too small. */
size_t ntlm_build_base64(const uint8_t *in, size_t n, char *out, size_t cap);

#endif
