/* ntlm.c -- read NTLMSSP messages (MS-NLMP §2.2) and SPNEGO tokens (RFC 4178).
 *
 * SPEC §2a explains a failed integrated logon from what the handshake shows:
 * the server's type-2 (target name and type, its TargetInfo AV pairs), and
 * the client's type-3 (domain, user, workstation, the NT response's length
 * and, for NTLMv2, the AV pairs the client copied into its blob, with
 * MsvAvChannelBindings and MsvAvTargetName). Every security buffer and AV
 * pair is bounds-checked before use, names are converted to UTF-8 with
 * invalid sequences replaced and control characters masked, nothing secret
 * (challenge, proofs, session key) is copied out, and the SPNEGO DER is
 * read with der.c, an iterative walk over a fixed shape, never a recursive
 * decoder. */
#include "ntlm.h"

#include <string.h>

#include "der.h"

static const uint8_t ntlm_signature[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};

#define NTLMSSP_NEGOTIATE_UNICODE 0x00000001u

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* A fixed-capacity UTF-8 string that only ever holds whole characters. */
struct u8out {
    char *buf;
    size_t cap; /* bytes, NUL included */
    size_t len;
    bool full;
};

/* Append code point cp. Controls (C0, DEL, C1) become '?' because names end up
 * in log lines; surrogates and out-of-range values become U+FFFD. Once a
 * character does not fit, nothing more is appended, so truncation always lands
 * on a character boundary. */
static void u8_put(struct u8out *o, uint32_t cp)
{
    uint8_t tmp[4];
    size_t k;

    if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0))
        cp = '?';
    else if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        cp = 0xFFFD;
    if (cp < 0x80) {
        tmp[0] = (uint8_t)cp;
        k = 1;
    } else if (cp < 0x800) {
        tmp[0] = (uint8_t)(0xC0 | (cp >> 6));
        tmp[1] = (uint8_t)(0x80 | (cp & 0x3F));
        k = 2;
    } else if (cp < 0x10000) {
        tmp[0] = (uint8_t)(0xE0 | (cp >> 12));
        tmp[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        tmp[2] = (uint8_t)(0x80 | (cp & 0x3F));
        k = 3;
    } else {
        tmp[0] = (uint8_t)(0xF0 | (cp >> 18));
        tmp[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
        tmp[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        tmp[3] = (uint8_t)(0x80 | (cp & 0x3F));
        k = 4;
    }
    if (o->full || o->len + k >= o->cap) {
        o->full = true;
        return;
    }
    memcpy(o->buf + o->len, tmp, k);
    o->len += k;
    o->buf[o->len] = '\0';
}

/* UTF-16LE (even length) to UTF-8, pairing surrogates; a lone surrogate
 * becomes U+FFFD. */
static void utf16le_to_utf8(const uint8_t *p, size_t n, struct u8out *o)
{
    size_t i = 0;

    while (i + 1 < n && !o->full) {
        uint32_t u = le16(p + i);
        i += 2;
        if (u >= 0xD800 && u <= 0xDBFF && i + 1 < n) {
            uint32_t lo = le16(p + i);
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                i += 2;
            }
        }
        u8_put(o, u); /* lone surrogates are replaced inside */
    }
}

/* OEM code page strings: the code page is unknown to us, so take them as
 * Latin-1, which is right for ASCII and never produces invalid UTF-8. */
static void latin1_to_utf8(const uint8_t *p, size_t n, struct u8out *o)
{
    size_t i;

    for (i = 0; i < n && !o->full; i++)
        u8_put(o, p[i]);
}

/* Read the security buffer at msg[at] (len16, maxlen16, offset32) and convert
 * the string it points to into out. Returns 0, or -1 when the buffer lies
 * outside msg or a UTF-16 string has an odd length. */
static int read_secbuf(const uint8_t *msg, size_t n, size_t at, bool unicode, char *out, size_t cap)
{
    struct u8out o = {out, cap, 0, false};
    size_t len = le16(msg + at);
    size_t off = le32(msg + at + 4);

    out[0] = '\0';
    if (len == 0)
        return 0; /* empty field: its offset does not matter */
    if (off > n || len > n - off)
        return -1;
    if (unicode) {
        if (len % 2 != 0)
            return -1;
        utf16le_to_utf8(msg + off, len, &o);
    } else {
        latin1_to_utf8(msg + off, len, &o);
    }
    return 0;
}

/* ---- AV pairs (MS-NLMP §2.2.2.1) -------------------------------------------- */

enum {
    AV_EOL = 0,
    AV_NB_COMPUTER = 1,
    AV_NB_DOMAIN = 2,
    AV_DNS_COMPUTER = 3,
    AV_DNS_DOMAIN = 4,
    AV_DNS_TREE = 5,
    AV_FLAGS = 6,
    AV_TIMESTAMP = 7,
    AV_TARGET_NAME = 9,
    AV_CHANNEL_BINDINGS = 10,
};

/* Copy a UTF-16LE AV value into a name field, keeping the first occurrence
 * (a repeated pair cannot overwrite what an earlier one said). An odd last
 * byte is dropped. */
static void av_name(const uint8_t *p, size_t n, char *out, size_t cap)
{
    struct u8out o = {out, cap, 0, false};

    if (out[0] != '\0')
        return;
    utf16le_to_utf8(p, n, &o);
}

/* Walk the AV pair list p[0..n) into av. Stops at MsvAvEOL (av->complete) or
 * at the first pair whose length runs past n, keeping what came before: the
 * list is bounded by n, so a list that never ends cannot loop. Fixed-size
 * values (flags, timestamp, channel bindings) of the wrong size are ignored. */
static void av_parse(const uint8_t *p, size_t n, struct ntlm_av *av)
{
    size_t pos = 0;

    memset(av, 0, sizeof *av);
    while (n - pos >= 4) {
        unsigned id = le16(p + pos);
        size_t len = le16(p + pos + 2);
        const uint8_t *v = p + pos + 4;

        if (len > n - pos - 4)
            return; /* lying length: incomplete */
        pos += 4 + len;
        switch (id) {
        case AV_EOL:
            av->complete = true;
            return;
        case AV_NB_COMPUTER:
            av_name(v, len, av->nb_computer, sizeof av->nb_computer);
            break;
        case AV_NB_DOMAIN:
            av_name(v, len, av->nb_domain, sizeof av->nb_domain);
            break;
        case AV_DNS_COMPUTER:
            av_name(v, len, av->dns_computer, sizeof av->dns_computer);
            break;
        case AV_DNS_DOMAIN:
            av_name(v, len, av->dns_domain, sizeof av->dns_domain);
            break;
        case AV_DNS_TREE:
            av_name(v, len, av->dns_tree, sizeof av->dns_tree);
            break;
        case AV_TARGET_NAME:
            av_name(v, len, av->target_name, sizeof av->target_name);
            break;
        case AV_FLAGS:
            if (len == 4 && !av->has_flags) {
                av->has_flags = true;
                av->av_flags = le32(v);
            }
            break;
        case AV_TIMESTAMP:
            if (len == 8 && !av->has_timestamp) {
                av->has_timestamp = true;
                av->timestamp = (uint64_t)le32(v) | ((uint64_t)le32(v + 4) << 32);
            }
            break;
        case AV_CHANNEL_BINDINGS:
            if (len == 16 && !av->has_channel_bindings) {
                size_t k;
                av->has_channel_bindings = true;
                for (k = 0; k < len; k++)
                    if (v[k] != 0)
                        av->channel_bindings_nonzero = true;
            }
            break;
        default:
            break; /* MsvAvSingleHost and unknown ids: skipped */
        }
    }
}

/* Locate the payload of the security buffer at msg[at]: p and len, or -1 when
 * it lies outside msg. An empty buffer gives len 0 whatever its offset. */
static int secbuf_span(const uint8_t *msg, size_t n, size_t at, const uint8_t **p, size_t *len)
{
    size_t l = le16(msg + at);
    size_t off = le32(msg + at + 4);

    *p = NULL;
    *len = 0;
    if (l == 0)
        return 0;
    if (off > n || l > n - off)
        return -1;
    *p = msg + off;
    *len = l;
    return 0;
}

/* CHALLENGE (MS-NLMP §2.2.1.2): TargetName at 12, flags at 20, the server
 * challenge at 24 (never copied), TargetInfo at 40 when the message is long
 * enough (very old servers send the 32-byte form without it). Returns 0, or
 * -1 when a buffer lies outside the message. */
static int inspect_type2(const uint8_t *msg, size_t n, struct ntlm_info *info)
{
    const uint8_t *ti;
    size_t tilen;

    if (n < 32)
        return -1;
    info->flags = le32(msg + 20);
    info->unicode = (info->flags & NTLMSSP_NEGOTIATE_UNICODE) != 0;
    if (secbuf_span(msg, n, 12, &ti, &tilen) != 0)
        return -1;
    /* An odd-length UTF-16 name (or an OEM one under a wrong UNICODE flag)
     * leaves the name unknown; the rest of the challenge is still good. */
    (void)read_secbuf(msg, n, 12, info->unicode, info->target_name, sizeof info->target_name);
    if (n < 48)
        return 0;
    if (secbuf_span(msg, n, 40, &ti, &tilen) != 0) {
        info->target_name[0] = '\0';
        return -1;
    }
    if (tilen > 0) {
        info->has_av = true;
        av_parse(ti, tilen, &info->av);
    }
    return 0;
}

/* The NTLMv2 response (MS-NLMP §2.2.2.8): NTProofStr (16 bytes), then the
 * client challenge structure (§2.2.2.7): RespType 1, HiRespType 1, 6 reserved
 * bytes, TimeStamp (8), ChallengeFromClient (8), 4 reserved bytes, AV pairs.
 * Anything else (NTLMv1's 24 bytes, garbage) leaves has_blob false. Only the
 * timestamp and the AV pairs are kept: the proof and the client challenge
 * are secrets' material and are not copied. */
#define NTLMV2_BLOB_AV_AT (16 + 28)
static void inspect_blob(const uint8_t *nt, size_t len, struct ntlm_info *info)
{
    const uint8_t *b = nt + 16;

    if (len < NTLMV2_BLOB_AV_AT || b[0] != 1 || b[1] != 1)
        return;
    info->has_blob = true;
    info->blob_timestamp = (uint64_t)le32(b + 8) | ((uint64_t)le32(b + 12) << 32);
    info->has_av = true;
    av_parse(nt + NTLMV2_BLOB_AV_AT, len - NTLMV2_BLOB_AV_AT, &info->av);
}

/* AUTHENTICATE (MS-NLMP §2.2.1.3): six security buffers from offset 12 (LM,
 * NT, domain, user, workstation, session key), flags at 60. Returns 0, or -1
 * when a buffer lies outside the message (names then empty). */
static int inspect_type3(const uint8_t *msg, size_t n, struct ntlm_info *info)
{
    const uint8_t *lm, *nt;
    size_t lmlen, ntlen;

    if (n < 64)
        return -1;
    info->flags = le32(msg + 60);
    info->unicode = (info->flags & NTLMSSP_NEGOTIATE_UNICODE) != 0;
    if (secbuf_span(msg, n, 12, &lm, &lmlen) != 0 || secbuf_span(msg, n, 20, &nt, &ntlen) != 0)
        return -1;
    if (read_secbuf(msg, n, 28, info->unicode, info->domain, sizeof info->domain) != 0 ||
        read_secbuf(msg, n, 36, info->unicode, info->user, sizeof info->user) != 0 ||
        read_secbuf(msg, n, 44, info->unicode, info->workstation, sizeof info->workstation) != 0) {
        info->domain[0] = info->user[0] = info->workstation[0] = '\0';
        return -1;
    }
    info->lm_len = lmlen;
    info->nt_len = ntlen;
    /* MS-NLMP §3.3.1: anonymous is an empty user with an empty NT response
     * (the LM response is empty or one zero byte). */
    info->anonymous = info->user[0] == '\0' && ntlen == 0;
    if (ntlen > 24)
        inspect_blob(nt, ntlen, info);
    return 0;
}

/* Returns 0 and fills info, or -1 when msg is not a well-formed NTLMSSP
 * message (info->type is set when the header could be read). */
int ntlm_inspect(const uint8_t *msg, size_t n, struct ntlm_info *info)
{
    uint32_t type;
    int rc;

    memset(info, 0, sizeof *info);
    if (msg == NULL || n < 12 || memcmp(msg, ntlm_signature, sizeof ntlm_signature) != 0)
        return -1;
    type = le32(msg + 8);
    if (type < 1 || type > 3)
        return -1;
    info->type = (int)type;
    switch (type) {
    case 1: /* NEGOTIATE: flags at 12 */
        if (n < 16)
            return -1;
        info->flags = le32(msg + 12);
        return 0;
    case 2:
        rc = inspect_type2(msg, n, info);
        break;
    default:
        rc = inspect_type3(msg, n, info);
        break;
    }
    if (rc != 0) { /* keep only the type, as promised */
        memset(info, 0, sizeof *info);
        info->type = (int)type;
    }
    return rc;
}

/* ---- SPNEGO / GSS-API DER ------------------------------------------------ */

/* The DER itself is read by der.c (bounded, depth-counted); this part only
 * knows the SPNEGO shapes and which mechanism they name. */

/* DER contents of the OIDs we recognise. */
static const uint8_t oid_spnego[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};
static const uint8_t oid_krb5[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
static const uint8_t oid_mskrb5[] = {0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02};
static const uint8_t oid_krb5_u2u[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x03};
static const uint8_t oid_ntlmssp[] = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};

static bool elem_is(const struct der_elem *e, unsigned cls, bool constructed, uint32_t tag)
{
    return e->cls == cls && e->constructed == constructed && e->tag == tag;
}

static bool oid_is(const struct der_elem *e, const uint8_t *oid, size_t n)
{
    return elem_is(e, DER_UNIVERSAL, false, DER_TAG_OID) && e->len == n && memcmp(e->val, oid, n) == 0;
}

/* Mechanism named by an OID element; SPNEGO_UNKNOWN for others. */
static enum spnego_mech mech_of_oid(const struct der_elem *e)
{
    if (oid_is(e, oid_krb5, sizeof oid_krb5) || oid_is(e, oid_mskrb5, sizeof oid_mskrb5) ||
        oid_is(e, oid_krb5_u2u, sizeof oid_krb5_u2u))
        return SPNEGO_KERBEROS;
    if (oid_is(e, oid_ntlmssp, sizeof oid_ntlmssp))
        return SPNEGO_NTLMSSP;
    return SPNEGO_UNKNOWN;
}

static bool is_ntlmssp(const uint8_t *p, size_t n)
{
    return n >= sizeof ntlm_signature && memcmp(p, ntlm_signature, sizeof ntlm_signature) == 0;
}

/* A GSS InitialContextToken ([APPLICATION 0] { thisMech OID, innerToken })
 * for Kerberos, as sent raw or as the optimistic SPNEGO mechToken. */
static bool is_gss_kerberos(const uint8_t *p, size_t n)
{
    struct der_reader r, in;
    struct der_elem app, oid;

    der_init(&r, p, n);
    if (der_expect(&r, DER_APPLICATION, true, 0, &app) != 0 || der_enter(&r, &app, &in) != 0)
        return false;
    if (der_next(&in, &oid) != 0)
        return false;
    return mech_of_oid(&oid) == SPNEGO_KERBEROS;
}

/* Judge a mechToken / responseToken: NTLMSSP (filling info->ntlm), a Kerberos
 * GSS token, or unknown. */
static enum spnego_mech mech_of_token(const uint8_t *p, size_t n, struct spnego_info *info)
{
    if (is_ntlmssp(p, n)) {
        info->has_ntlm = ntlm_inspect(p, n, &info->ntlm) == 0;
        return SPNEGO_NTLMSSP;
    }
    if (is_gss_kerberos(p, n))
        return SPNEGO_KERBEROS;
    return SPNEGO_UNKNOWN;
}

/* Content of an [n] field that must hold an OCTET STRING; -1 if it does not. */
static int octet_string_in(const struct der_reader *r, const struct der_elem *field, struct der_elem *os)
{
    if (der_explicit(r, field, os) != 0 || !elem_is(os, DER_UNIVERSAL, false, DER_TAG_OCTET_STRING))
        return -1;
    return 0;
}

/* The fields of the SEQUENCE inside a NegTokenInit [0] / NegTokenResp [1]
 * choice: fills seq, or -1 when the choice does not hold one SEQUENCE. */
static int open_choice(const struct der_reader *r, const struct der_elem *choice, struct der_reader *seq)
{
    struct der_elem s;

    if (der_explicit(r, choice, &s) != 0 || !elem_is(&s, DER_UNIVERSAL, true, DER_TAG_SEQUENCE))
        return -1;
    return der_enter(r, &s, seq);
}

/* NegTokenInit ::= SEQUENCE { mechTypes [0], reqFlags [1], mechToken [2],
 * mechListMIC [3] } (NegTokenInit2 adds negHints [3], MIC [4]; unknown fields
 * are skipped). The first mechType decides, unless the optimistic mechToken
 * itself shows NTLMSSP or Kerberos. */
static enum spnego_mech neg_token_init(const struct der_reader *r, const struct der_elem *choice,
                                       struct spnego_info *info)
{
    struct der_reader seq;
    struct der_elem f;
    enum spnego_mech first = SPNEGO_UNKNOWN, tok = SPNEGO_UNKNOWN;
    bool have_first = false;
    int rc;

    if (open_choice(r, choice, &seq) != 0)
        return SPNEGO_UNKNOWN;
    while ((rc = der_next(&seq, &f)) == 0) {
        if (elem_is(&f, DER_CONTEXT, true, 0)) { /* mechTypes: SEQUENCE OF OID */
            struct der_reader list;
            struct der_elem l, oid;
            if (der_explicit(&seq, &f, &l) != 0 || !elem_is(&l, DER_UNIVERSAL, true, DER_TAG_SEQUENCE) ||
                der_enter(&seq, &l, &list) != 0)
                return SPNEGO_UNKNOWN;
            while ((rc = der_next(&list, &oid)) == 0) {
                if (!elem_is(&oid, DER_UNIVERSAL, false, DER_TAG_OID))
                    return SPNEGO_UNKNOWN;
                if (!have_first) {
                    first = mech_of_oid(&oid);
                    have_first = true;
                }
            }
            if (rc < 0)
                return SPNEGO_UNKNOWN;
        } else if (elem_is(&f, DER_CONTEXT, true, 2)) { /* mechToken */
            struct der_elem os;
            if (octet_string_in(&seq, &f, &os) != 0)
                return SPNEGO_UNKNOWN;
            tok = mech_of_token(os.val, os.len, info);
        }
    }
    if (rc < 0)
        return SPNEGO_UNKNOWN;
    return tok != SPNEGO_UNKNOWN ? tok : first;
}

/* NegTokenResp ::= SEQUENCE { negState [0], supportedMech [1],
 * responseToken [2], mechListMIC [3] }. The responseToken decides when it is
 * recognisable, else supportedMech. */
static enum spnego_mech neg_token_resp(const struct der_reader *r, const struct der_elem *choice,
                                       struct spnego_info *info)
{
    struct der_reader seq;
    struct der_elem f;
    enum spnego_mech sup = SPNEGO_UNKNOWN, tok = SPNEGO_UNKNOWN;
    int rc;

    if (open_choice(r, choice, &seq) != 0)
        return SPNEGO_UNKNOWN;
    while ((rc = der_next(&seq, &f)) == 0) {
        if (elem_is(&f, DER_CONTEXT, true, 1)) {
            struct der_elem oid;
            if (der_explicit(&seq, &f, &oid) != 0 || !elem_is(&oid, DER_UNIVERSAL, false, DER_TAG_OID))
                return SPNEGO_UNKNOWN;
            sup = mech_of_oid(&oid);
        } else if (elem_is(&f, DER_CONTEXT, true, 2)) {
            struct der_elem os;
            if (octet_string_in(&seq, &f, &os) != 0)
                return SPNEGO_UNKNOWN;
            tok = mech_of_token(os.val, os.len, info);
        }
    }
    if (rc < 0)
        return SPNEGO_UNKNOWN;
    return tok != SPNEGO_UNKNOWN ? tok : sup;
}

/* Returns 0 when the mechanism was recognised, -1 otherwise (mech UNKNOWN,
 * has_ntlm false). A recognised NTLMSSP whose message is malformed returns 0
 * with has_ntlm false. Trailing bytes after the outer element are ignored. */
int spnego_inspect(const uint8_t *tok, size_t n, struct spnego_info *info)
{
    struct der_reader r;
    struct der_elem outer;
    enum spnego_mech mech = SPNEGO_UNKNOWN;

    memset(info, 0, sizeof *info);
    if (tok == NULL || n == 0)
        return -1;
    der_init(&r, tok, n);
    if (is_ntlmssp(tok, n)) {
        mech = mech_of_token(tok, n, info);
    } else if (der_next(&r, &outer) == 0) {
        if (elem_is(&outer, DER_APPLICATION, true, 0)) { /* GSS InitialContextToken */
            struct der_reader in;
            struct der_elem oid, choice;
            if (der_enter(&r, &outer, &in) == 0 && der_next(&in, &oid) == 0 &&
                elem_is(&oid, DER_UNIVERSAL, false, DER_TAG_OID)) {
                if (oid_is(&oid, oid_spnego, sizeof oid_spnego)) {
                    if (der_next(&in, &choice) == 0) {
                        if (elem_is(&choice, DER_CONTEXT, true, 0))
                            mech = neg_token_init(&in, &choice, info);
                        else if (elem_is(&choice, DER_CONTEXT, true, 1))
                            mech = neg_token_resp(&in, &choice, info);
                    }
                } else {
                    mech = mech_of_oid(&oid); /* raw Kerberos AP-REQ */
                    if (mech == SPNEGO_NTLMSSP)
                        mech = mech_of_token(in.p + in.pos, in.n - in.pos, info);
                }
            }
        } else if (elem_is(&outer, DER_CONTEXT, true, 0)) { /* NegTokenInit without the GSS header */
            mech = neg_token_init(&r, &outer, info);
        } else if (elem_is(&outer, DER_CONTEXT, true, 1)) { /* NegTokenResp, the usual continuation */
            mech = neg_token_resp(&r, &outer, info);
        }
    }
    if (mech == SPNEGO_UNKNOWN) {
        memset(info, 0, sizeof *info);
        return -1;
    }
    info->mech = mech;
    return 0;
}
