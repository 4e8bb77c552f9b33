/* ntlm_build.c -- builds NTLMSSP and SPNEGO tokens for the parser tests.
 *
 * Written from MS-NLMP §2.2.1 and RFC 4178 §4.2 rather than from our own
 * inspector, so a misreading in ntlm.c is not mirrored here. Builders work in
 * small fixed buffers: test tokens are a few hundred bytes. */
#include "ntlm_build.h"

#include <string.h>

#define NB_TMP 4096

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static const uint8_t sig[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};

/* UTF-8 (assumed valid) to UTF-16LE. Returns bytes written, or 0 if it does not fit. */
static size_t utf8_to_utf16le(const char *s, uint8_t *out, size_t cap)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t o = 0;

    while (*p) {
        uint32_t cp;
        if (*p < 0x80) {
            cp = *p++;
        } else if ((*p & 0xE0) == 0xC0) {
            cp = (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F);
            p += 2;
        } else if ((*p & 0xF0) == 0xE0) {
            cp = (uint32_t)(p[0] & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
            p += 3;
        } else {
            cp = (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 |
                 (uint32_t)(p[2] & 0x3F) << 6 | (p[3] & 0x3F);
            p += 4;
        }
        if (cp >= 0x10000) {
            if (o + 4 > cap)
                return 0;
            cp -= 0x10000;
            put16(out + o, (uint16_t)(0xD800 | (cp >> 10)));
            put16(out + o + 2, (uint16_t)(0xDC00 | (cp & 0x3FF)));
            o += 4;
        } else {
            if (o + 2 > cap)
                return 0;
            put16(out + o, (uint16_t)cp);
            o += 2;
        }
    }
    return o;
}

size_t ntlm_build_type1(uint8_t *out, size_t cap, uint32_t flags)
{
    if (cap < 32)
        return 0;
    memset(out, 0, 32);
    memcpy(out, sig, 8);
    put32(out + 8, 1);
    put32(out + 12, flags);
    /* DomainName and Workstation security buffers empty, offsets at 32. */
    put32(out + 20, 32);
    put32(out + 28, 32);
    return 32;
}

size_t ntlm_build_type2(uint8_t *out, size_t cap, const char *target, bool unicode)
{
    size_t hdr = 48, tlen;

    if (cap < hdr)
        return 0;
    memset(out, 0, hdr);
    memcpy(out, sig, 8);
    put32(out + 8, 2);
    if (unicode) {
        tlen = utf8_to_utf16le(target, out + hdr, cap - hdr);
        if (tlen == 0 && target[0] != '\0')
            return 0;
    } else {
        tlen = strlen(target);
        if (tlen > cap - hdr)
            return 0;
        memcpy(out + hdr, target, tlen);
    }
    put16(out + 12, (uint16_t)tlen);
    put16(out + 14, (uint16_t)tlen);
    put32(out + 16, (uint32_t)hdr);
    put32(out + 20, 0x00028205u | (unicode ? 1u : 2u)); /* NTLM, target type domain */
    memcpy(out + 24, "\x01\x23\x45\x67\x89\xab\xcd\xef", 8); /* server challenge */
    /* TargetInfo empty at 40 */
    put32(out + 44, (uint32_t)hdr);
    return hdr + tlen;
}

/* Write one security buffer (len, maxlen, offset) at out[at]. */
static void secbuf(uint8_t *out, size_t at, size_t len, size_t off)
{
    put16(out + at, (uint16_t)len);
    put16(out + at + 2, (uint16_t)len);
    put32(out + at + 4, (uint32_t)off);
}

size_t ntlm_build_type3(uint8_t *out, size_t cap, const struct ntlm_build_type3 *o)
{
    /* sig, type, LM, NT, Domain, User, Workstation, SessionKey, Flags, Version, MIC */
    const size_t hdr = 88;
    const size_t at[NB_FIELDS] = {28, 36, 44};
    const char *str[NB_FIELDS] = {o->domain, o->user, o->workstation};
    size_t pos = hdr, f;

    if (cap < hdr)
        return 0;
    memset(out, 0, hdr);
    memcpy(out, sig, 8);
    put32(out + 8, 3);
    for (f = 0; f < NB_FIELDS; f++) {
        size_t len;
        if (o->raw[f] != NULL) {
            len = o->raw_len[f];
            if (len > cap - pos)
                return 0;
            memcpy(out + pos, o->raw[f], len);
        } else if (str[f] == NULL) {
            len = 0;
        } else if (o->unicode) {
            len = utf8_to_utf16le(str[f], out + pos, cap - pos);
            if (len == 0 && str[f][0] != '\0')
                return 0;
        } else {
            len = strlen(str[f]);
            if (len > cap - pos)
                return 0;
            memcpy(out + pos, str[f], len);
        }
        if (len > 0xFFFF)
            return 0;
        secbuf(out, at[f], len, pos);
        pos += len;
    }
    /* 24-byte LM and NT responses (content irrelevant to the inspector). */
    if (cap - pos < 48)
        return 0;
    memset(out + pos, 0x5a, 48);
    secbuf(out, 12, 24, pos);
    secbuf(out, 20, 24, pos + 24);
    pos += 48;
    secbuf(out, 52, 0, pos);
    /* NTLM, sign, extended session security, 128/56-bit, plus UNICODE or OEM. */
    put32(out + 60, (uint32_t)(0xa2888200u | (o->unicode ? 1u : 2u)));
    out[64] = 10; out[65] = 0; put16(out + 66, 19041); out[71] = 15; /* Windows 10 */
    for (f = 0; f < NB_FIELDS; f++)
        if (o->lie[f]) {
            put16(out + at[f], o->lie_len[f]);
            put16(out + at[f] + 2, o->lie_len[f]);
            put32(out + at[f] + 4, o->lie_offset[f]);
        }
    return pos;
}

/* ---- DER ----------------------------------------------------------------- */

/* tag, definite length, content -> out. Returns bytes written or 0. */
static size_t der(uint8_t *out, size_t cap, uint8_t tag, const uint8_t *content, size_t len)
{
    size_t h = 2;

    if (len >= 0x80)
        h = len <= 0xFF ? 3 : len <= 0xFFFF ? 4 : 5;
    if (len > 0xFFFFFF || cap < h || len > cap - h)
        return 0;
    out[0] = tag;
    if (h == 2) {
        out[1] = (uint8_t)len;
    } else {
        size_t k, nb = h - 2;
        out[1] = (uint8_t)(0x80 | nb);
        for (k = 0; k < nb; k++)
            out[2 + k] = (uint8_t)(len >> (8 * (nb - 1 - k)));
    }
    memmove(out + h, content, len);
    return h + len;
}

static const struct {
    const uint8_t *der;
    size_t len;
} oids[] = {
    [NB_OID_KRB5] = {(const uint8_t *)"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02", 9},
    [NB_OID_MSKRB5] = {(const uint8_t *)"\x2a\x86\x48\x82\xf7\x12\x01\x02\x02", 9},
    [NB_OID_NTLMSSP] = {(const uint8_t *)"\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a", 10},
    [NB_OID_NEGOEX] = {(const uint8_t *)"\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x1e", 10},
    [NB_OID_SPNEGO] = {(const uint8_t *)"\x2b\x06\x01\x05\x05\x02", 6},
};

/* Append a DER element to buf (used len *len, capacity cap). Returns 0 or -1. */
static int append(uint8_t *buf, size_t *len, size_t cap, uint8_t tag, const uint8_t *c, size_t clen)
{
    size_t w = der(buf + *len, cap - *len, tag, c, clen);
    if (w == 0)
        return -1;
    *len += w;
    return 0;
}

size_t spnego_build_init(uint8_t *out, size_t cap, const enum ntlm_build_oid *mechs, size_t nmechs,
                         const uint8_t *mech_token, size_t token_len)
{
    uint8_t a[NB_TMP], b[NB_TMP];
    size_t al = 0, bl = 0, k;

    for (k = 0; k < nmechs; k++) /* a = OID OID ... */
        if (append(a, &al, sizeof a, 0x06, oids[mechs[k]].der, oids[mechs[k]].len) != 0)
            return 0;
    if (append(b, &bl, sizeof b, 0x30, a, al) != 0) /* b = SEQUENCE OF OID */
        return 0;
    al = 0;
    if (append(a, &al, sizeof a, 0xa0, b, bl) != 0) /* a = mechTypes [0] */
        return 0;
    if (mech_token != NULL) {
        bl = 0;
        if (append(b, &bl, sizeof b, 0x04, mech_token, token_len) != 0 ||
            append(a, &al, sizeof a, 0xa2, b, bl) != 0)
            return 0;
    }
    bl = 0;
    if (append(b, &bl, sizeof b, 0x30, a, al) != 0) /* NegTokenInit SEQUENCE */
        return 0;
    al = 0;
    if (append(a, &al, sizeof a, 0x06, oids[NB_OID_SPNEGO].der, oids[NB_OID_SPNEGO].len) != 0 ||
        append(a, &al, sizeof a, 0xa0, b, bl) != 0)
        return 0;
    return der(out, cap, 0x60, a, al);
}

size_t spnego_build_resp(uint8_t *out, size_t cap, int neg_state, bool has_mech,
                         enum ntlm_build_oid mech, const uint8_t *token, size_t token_len)
{
    uint8_t a[NB_TMP], b[NB_TMP];
    size_t al = 0, bl;

    if (neg_state >= 0) {
        uint8_t st = (uint8_t)neg_state;
        bl = 0;
        if (append(b, &bl, sizeof b, 0x0a, &st, 1) != 0 || append(a, &al, sizeof a, 0xa0, b, bl) != 0)
            return 0;
    }
    if (has_mech) {
        bl = 0;
        if (append(b, &bl, sizeof b, 0x06, oids[mech].der, oids[mech].len) != 0 ||
            append(a, &al, sizeof a, 0xa1, b, bl) != 0)
            return 0;
    }
    if (token != NULL) {
        bl = 0;
        if (append(b, &bl, sizeof b, 0x04, token, token_len) != 0 ||
            append(a, &al, sizeof a, 0xa2, b, bl) != 0)
            return 0;
    }
    bl = 0;
    if (append(b, &bl, sizeof b, 0x30, a, al) != 0)
        return 0;
    return der(out, cap, 0xa1, b, bl);
}

size_t krb_build_gss(uint8_t *out, size_t cap)
{
    /* TOK_ID 01 00 (AP-REQ), then an [APPLICATION 14] AP-REQ stub:
     * SEQUENCE { pvno [0] INTEGER 5, msg-type [1] INTEGER 14 }. */
    static const uint8_t apreq[] = {0x01, 0x00, 0x6e, 0x0c, 0x30, 0x0a, 0xa0, 0x03, 0x02, 0x01,
                                    0x05, 0xa1, 0x03, 0x02, 0x01, 0x0e};
    uint8_t a[64];
    size_t al = 0;

    if (append(a, &al, sizeof a, 0x06, oids[NB_OID_KRB5].der, oids[NB_OID_KRB5].len) != 0)
        return 0;
    memcpy(a + al, apreq, sizeof apreq);
    al += sizeof apreq;
    return der(out, cap, 0x60, a, al);
}

size_t ntlm_build_base64(const uint8_t *in, size_t n, char *out, size_t cap)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t need = (n + 2) / 3 * 4, i, o = 0;

    if (cap <= need)
        return 0;
    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = tbl[v >> 18];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = tbl[(v >> 6) & 63];
        out[o++] = tbl[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = tbl[v >> 18];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = tbl[v >> 18];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = tbl[(v >> 6) & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}
