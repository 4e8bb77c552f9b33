/* kerberos.c -- read the Kerberos messages inside Negotiate tokens (see
 * kerberos.h), for SPEC §2a.
 *
 * The shapes walked, all through der.c and each level checked:
 *   SPNEGO   [APPLICATION 0] { OID 1.3.6.1.5.5.2, NegTokenInit [0] }
 *            NegTokenResp [1] (also a bare NegTokenInit [0])
 *   GSS krb5 [APPLICATION 0] { OID 1.2.840.113554.1.2.2 (or the MS legacy
 *            1.2.840.48018.1.2.2), TOK_ID (2 raw bytes), message }  RFC 4121 §4.1
 *   message  AP-REQ [APPLICATION 14], AP-REP [APPLICATION 15],
 *            KRB-ERROR [APPLICATION 30]                              RFC 4120 §5
 * Only names, numbers and types are copied out; authenticators, cipher
 * texts and checksums are never touched beyond their headers. */
#include "kerberos.h"

#include <string.h>

#include "der.h"

static const uint8_t oid_spnego[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};
static const uint8_t oid_krb5[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
static const uint8_t oid_mskrb5[] = {0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02};
static const uint8_t ntlmssp_sig[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};

/* Application tags and message types of RFC 4120 (equal by design). */
#define KRB_AP_REQ 14
#define KRB_AP_REP 15
#define KRB_ERROR 30
#define KRB_TICKET 1

static bool elem_is(const struct der_elem *e, unsigned cls, bool constructed, uint32_t tag)
{
    return e->cls == cls && e->constructed == constructed && e->tag == tag;
}

/* ---- names ----------------------------------------------------------------- */

/* A fixed-capacity output string that only ever holds whole characters. */
struct name_out {
    char *buf;
    size_t cap; /* NUL included */
    size_t len;
    bool full;
};

static void name_put(struct name_out *o, const char *s, size_t k)
{
    if (o->full || o->len + k >= o->cap) {
        o->full = true;
        return;
    }
    memcpy(o->buf + o->len, s, k);
    o->len += k;
    o->buf[o->len] = '\0';
}

/* Length of the well-formed UTF-8 sequence at p[0..n) (shortest form, no
 * surrogates, at most U+10FFFF), or 0 when it is not one. */
static size_t utf8_seq(const uint8_t *p, size_t n)
{
    size_t k, i;
    uint32_t cp, min;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xC2 && p[0] <= 0xDF) {
        k = 2, cp = p[0] & 0x1Fu, min = 0x80;
    } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        k = 3, cp = p[0] & 0x0Fu, min = 0x800;
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        k = 4, cp = p[0] & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (k > n)
        return 0;
    for (i = 1; i < k; i++) {
        if ((p[i] & 0xC0u) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return k;
}

/* Append a KerberosString (GeneralString, in practice ASCII or UTF-8).
 * The names end up in log lines and JSON, so control characters (C0, DEL)
 * become '?', and so does every byte that does not start valid UTF-8. */
static void name_append(struct name_out *o, const uint8_t *p, size_t n)
{
    size_t i = 0;

    while (i < n && !o->full) {
        size_t k = utf8_seq(p + i, n - i);
        if (k == 0 || (k == 1 && (p[i] < 0x20 || p[i] == 0x7F))) {
            name_put(o, "?", 1);
            i++;
        } else {
            name_put(o, (const char *)p + i, k);
            i += k;
        }
    }
}

/* A string element Kerberos may use for names: GeneralString by the ASN.1,
 * UTF8String or IA5String from lenient encoders. */
static bool is_krb_string(const struct der_elem *e)
{
    return e->cls == DER_UNIVERSAL && !e->constructed &&
           (e->tag == DER_TAG_GENERALSTRING || e->tag == DER_TAG_UTF8STRING || e->tag == DER_TAG_IA5STRING);
}

/* Realm ::= KerberosString, into out. Returns 0, or -1. */
static int read_realm(const struct der_elem *e, char *out, size_t cap)
{
    struct name_out o = {out, cap, 0, false};

    out[0] = '\0';
    if (!is_krb_string(e))
        return -1;
    name_append(&o, e->val, e->len);
    return 0;
}

/* PrincipalName ::= SEQUENCE { name-type [0] Int32, name-string [1]
 * SEQUENCE OF KerberosString }: the components joined by '/' into out.
 * Returns 0, or -1 when the shape is wrong (out is then ""). */
static int read_principal(const struct der_reader *r, const struct der_elem *e, char *out, size_t cap)
{
    struct name_out o = {out, cap, 0, false};
    struct der_reader seq, list;
    struct der_elem f, inner, s;
    bool have_names = false;
    size_t count = 0;
    int rc;

    out[0] = '\0';
    if (e->cls != DER_UNIVERSAL || !e->constructed || e->tag != DER_TAG_SEQUENCE || der_enter(r, e, &seq) != 0)
        return -1;
    while ((rc = der_next(&seq, &f)) == 0) {
        if (f.cls != DER_CONTEXT || f.tag != 1)
            continue; /* name-type and extensions: not needed */
        if (have_names || der_explicit(&seq, &f, &inner) != 0 || !elem_is(&inner, DER_UNIVERSAL, true, DER_TAG_SEQUENCE) ||
            der_enter(&seq, &inner, &list) != 0)
            goto err;
        have_names = true;
        while ((rc = der_next(&list, &s)) == 0) {
            if (!is_krb_string(&s))
                goto err;
            if (count++ > 0)
                name_put(&o, "/", 1);
            name_append(&o, s.val, s.len);
        }
        if (rc < 0)
            goto err;
    }
    if (rc < 0 || !have_names)
        goto err;
    return 0;
err:
    out[0] = '\0';
    return -1;
}

/* ---- numbers ---------------------------------------------------------------- */

/* An [n] { INTEGER } field as an int64. Returns 0, or -1. */
static int read_int_field(const struct der_reader *r, const struct der_elem *f, int64_t *v)
{
    struct der_elem inner;

    if (der_explicit(r, f, &inner) != 0 || inner.cls != DER_UNIVERSAL || inner.constructed ||
        inner.tag != DER_TAG_INTEGER)
        return -1;
    return der_int64(&inner, v);
}

/* An Int32 field. Returns 0, or -1 when absent from range. */
static int read_int32_field(const struct der_reader *r, const struct der_elem *f, int32_t *v)
{
    int64_t x;

    if (read_int_field(r, f, &x) != 0 || x < INT32_MIN || x > INT32_MAX)
        return -1;
    *v = (int32_t)x;
    return 0;
}

/* Check pvno [0] = 5 and msg-type [1] = type among a message's fields. */
static int check_header_field(const struct der_reader *r, const struct der_elem *f, int type, unsigned *seen)
{
    int64_t v;

    if (f->cls != DER_CONTEXT || f->tag > 1)
        return 0;
    if (read_int_field(r, f, &v) != 0 || v != (f->tag == 0 ? 5 : type))
        return -1;
    *seen |= 1u << f->tag;
    return 0;
}

/* Open a message [APPLICATION type] SEQUENCE: fills seq with a reader over
 * the SEQUENCE's fields. Returns 0, or -1. */
static int open_message(const struct der_reader *r, const struct der_elem *app, struct der_reader *seq)
{
    struct der_elem s;

    if (der_explicit(r, app, &s) != 0 || s.cls != DER_UNIVERSAL || !s.constructed || s.tag != DER_TAG_SEQUENCE)
        return -1;
    return der_enter(r, &s, seq) != 0 ? -1 : 0;
}

/* ---- messages --------------------------------------------------------------- */

/* EncryptedData ::= SEQUENCE { etype [0] Int32, kvno [1] UInt32 OPTIONAL,
 * cipher [2] OCTET STRING }. A kvno encoded as a negative 32-bit number
 * (seen from encoders that treat it as Int32) is taken modulo 2^32.
 * Returns 0, or -1 without etype. */
static int read_enc_part(const struct der_reader *r, const struct der_elem *e, struct krb_ticket *t)
{
    struct der_reader seq;
    struct der_elem f;
    int64_t v;
    int rc;

    if (e->cls != DER_UNIVERSAL || !e->constructed || e->tag != DER_TAG_SEQUENCE || der_enter(r, e, &seq) != 0)
        return -1;
    while ((rc = der_next(&seq, &f)) == 0) {
        if (f.cls != DER_CONTEXT)
            continue;
        if (f.tag == 0) {
            if (t->has_etype || read_int32_field(&seq, &f, &t->etype) != 0)
                return -1;
            t->has_etype = true;
        } else if (f.tag == 1) {
            if (t->has_kvno || read_int_field(&seq, &f, &v) != 0 || v < INT32_MIN || v > (int64_t)UINT32_MAX)
                return -1;
            t->kvno = (uint32_t)(v & 0xFFFFFFFF);
            t->has_kvno = true;
        }
    }
    return rc < 0 || !t->has_etype ? -1 : 0;
}

/* Ticket ::= [APPLICATION 1] SEQUENCE { tkt-vno [0] 5, realm [1],
 * sname [2] PrincipalName, enc-part [3] EncryptedData }. Returns 0, or -1
 * when a field is malformed or missing. */
static int read_ticket(const struct der_reader *r, const struct der_elem *app, struct krb_ticket *t)
{
    struct der_reader seq;
    struct der_elem f, inner;
    unsigned seen = 0;
    int rc;

    if (app->cls != DER_APPLICATION || app->tag != KRB_TICKET || open_message(r, app, &seq) != 0)
        return -1;
    while ((rc = der_next(&seq, &f)) == 0) {
        if (f.cls != DER_CONTEXT || f.tag > 3)
            continue;
        if ((seen & (1u << f.tag)) || der_explicit(&seq, &f, &inner) != 0)
            return -1;
        seen |= 1u << f.tag;
        switch (f.tag) {
        case 0: {
            int64_t v;
            if (!elem_is(&inner, DER_UNIVERSAL, false, DER_TAG_INTEGER) || der_int64(&inner, &v) != 0 || v != 5)
                return -1;
            break;
        }
        case 1:
            if (read_realm(&inner, t->realm, sizeof t->realm) != 0)
                return -1;
            break;
        case 2:
            if (read_principal(&seq, &inner, t->sname, sizeof t->sname) != 0)
                return -1;
            break;
        default:
            if (read_enc_part(&seq, &inner, t) != 0)
                return -1;
            break;
        }
    }
    return rc < 0 || seen != 0xFu ? -1 : 0;
}

/* AP-REQ ::= [APPLICATION 14] SEQUENCE { pvno [0], msg-type [1],
 * ap-options [2], ticket [3] Ticket, authenticator [4] }. Only the ticket
 * is read. Returns 0, or -1. */
static int read_ap_req(const struct der_reader *r, const struct der_elem *app, struct krb_token_info *info)
{
    struct der_reader seq;
    struct der_elem f, inner;
    unsigned seen = 0;
    bool have_ticket = false;
    int rc;

    if (open_message(r, app, &seq) != 0)
        return -1;
    while ((rc = der_next(&seq, &f)) == 0) {
        if (check_header_field(&seq, &f, KRB_AP_REQ, &seen) != 0)
            return -1;
        if (f.cls == DER_CONTEXT && f.tag == 3) {
            if (have_ticket || der_explicit(&seq, &f, &inner) != 0 || read_ticket(&seq, &inner, &info->ticket) != 0)
                return -1;
            have_ticket = true;
        }
    }
    if (rc < 0 || seen != 3u || !have_ticket)
        return -1;
    info->kind = KRB_TOKEN_AP_REQ;
    return 0;
}

/* AP-REP ::= [APPLICATION 15] SEQUENCE { pvno [0], msg-type [1],
 * enc-part [2] }: only its header is checked. Returns 0, or -1. */
static int read_ap_rep(const struct der_reader *r, const struct der_elem *app, struct krb_token_info *info)
{
    struct der_reader seq;
    struct der_elem f;
    unsigned seen = 0;
    int rc;

    if (open_message(r, app, &seq) != 0)
        return -1;
    while ((rc = der_next(&seq, &f)) == 0)
        if (check_header_field(&seq, &f, KRB_AP_REP, &seen) != 0)
            return -1;
    if (rc < 0 || seen != 3u)
        return -1;
    info->kind = KRB_TOKEN_AP_REP;
    return 0;
}

/* KRB-ERROR ::= [APPLICATION 30] SEQUENCE { pvno [0], msg-type [1],
 * ctime [2] OPTIONAL, cusec [3] OPTIONAL, stime [4], susec [5],
 * error-code [6] Int32, crealm [7] OPTIONAL, cname [8] OPTIONAL,
 * realm [9], sname [10], e-text [11] OPTIONAL, e-data [12] OPTIONAL }.
 * error-code, realm and sname are required. Returns 0, or -1. */
static int read_krb_error(const struct der_reader *r, const struct der_elem *app, struct krb_token_info *info)
{
    struct der_reader seq;
    struct der_elem f, inner;
    unsigned seen = 0;
    bool code = false, realm = false, sname = false;
    int rc;

    if (open_message(r, app, &seq) != 0)
        return -1;
    while ((rc = der_next(&seq, &f)) == 0) {
        if (check_header_field(&seq, &f, KRB_ERROR, &seen) != 0)
            return -1;
        if (f.cls != DER_CONTEXT)
            continue;
        if (f.tag == 6) {
            if (code || read_int32_field(&seq, &f, &info->error.error_code) != 0)
                return -1;
            code = true;
        } else if (f.tag == 9) {
            if (realm || der_explicit(&seq, &f, &inner) != 0 ||
                read_realm(&inner, info->error.realm, sizeof info->error.realm) != 0)
                return -1;
            realm = true;
        } else if (f.tag == 10) {
            if (sname || der_explicit(&seq, &f, &inner) != 0 ||
                read_principal(&seq, &inner, info->error.sname, sizeof info->error.sname) != 0)
                return -1;
            sname = true;
        }
    }
    if (rc < 0 || seen != 3u || !code || !realm || !sname)
        return -1;
    info->kind = KRB_TOKEN_KRB_ERROR;
    return 0;
}

/* A bare Kerberos message element. Returns 0, or -1 for anything else. */
static int read_krb_message(const struct der_reader *r, const struct der_elem *e, struct krb_token_info *info)
{
    if (e->cls != DER_APPLICATION || !e->constructed)
        return -1;
    switch (e->tag) {
    case KRB_AP_REQ:
        return read_ap_req(r, e, info);
    case KRB_AP_REP:
        return read_ap_rep(r, e, info);
    case KRB_ERROR:
        return read_krb_error(r, e, info);
    default:
        return -1;
    }
}

/* ---- GSS-API and SPNEGO --------------------------------------------------- */

static bool oid_is(const struct der_elem *e, const uint8_t *oid, size_t n)
{
    return e->cls == DER_UNIVERSAL && !e->constructed && e->tag == DER_TAG_OID && e->len == n &&
           memcmp(e->val, oid, n) == 0;
}

static bool is_krb5_oid(const struct der_elem *e)
{
    return oid_is(e, oid_krb5, sizeof oid_krb5) || oid_is(e, oid_mskrb5, sizeof oid_mskrb5);
}

/* The rest of a GSS Kerberos token after its OID (RFC 4121 §4.1): TOK_ID
 * 01 00 AP-REQ, 02 00 AP-REP, 03 00 KRB-ERROR, then that message, which
 * must be the one the TOK_ID names and the last thing in the token.
 * Returns 0, or -1. */
static int read_gss_krb5(const struct der_reader *app, struct krb_token_info *info)
{
    struct der_reader msg;
    struct der_elem m;
    const uint8_t *p = app->p + app->pos;
    size_t n = app->n - app->pos;
    uint32_t want;

    if (n < 2 || p[1] != 0x00)
        return -1;
    switch (p[0]) {
    case 0x01:
        want = KRB_AP_REQ;
        break;
    case 0x02:
        want = KRB_AP_REP;
        break;
    case 0x03:
        want = KRB_ERROR;
        break;
    default:
        return -1;
    }
    msg = *app;
    msg.pos += 2;
    if (der_next(&msg, &m) != 0 || !der_at_end(&msg) || m.cls != DER_APPLICATION || m.tag != want)
        return -1;
    return read_krb_message(&msg, &m, info);
}

/* Judge a SPNEGO mechToken / responseToken (the contents of its OCTET
 * STRING, read one level below r): NTLMSSP, a GSS Kerberos token or a bare
 * Kerberos message. Returns 0, or -1. */
static int read_mech_token(const struct der_reader *r, const struct der_elem *os, struct krb_token_info *info)
{
    struct der_reader in;
    struct der_elem e;

    if (os->len >= sizeof ntlmssp_sig && memcmp(os->val, ntlmssp_sig, sizeof ntlmssp_sig) == 0) {
        info->kind = KRB_TOKEN_NTLMSSP;
        return 0;
    }
    if (der_enter(r, os, &in) != 0 || der_next(&in, &e) != 0)
        return -1;
    if (e.cls == DER_APPLICATION && e.constructed && e.tag == 0) {
        struct der_reader gss;
        struct der_elem oid;
        if (der_enter(&in, &e, &gss) != 0 || der_next(&gss, &oid) != 0 || !is_krb5_oid(&oid))
            return -1; /* SPNEGO inside SPNEGO is not a thing */
        return read_gss_krb5(&gss, info);
    }
    return read_krb_message(&in, &e, info);
}

/* The OCTET STRING inside a [2] mechToken / responseToken field. */
static int octet_string_field(const struct der_reader *r, const struct der_elem *f, struct der_elem *os)
{
    if (der_explicit(r, f, os) != 0 || os->cls != DER_UNIVERSAL || os->constructed || os->tag != DER_TAG_OCTET_STRING)
        return -1;
    return 0;
}

/* NegTokenInit ::= SEQUENCE { mechTypes [0] SEQUENCE OF OID, reqFlags [1],
 * mechToken [2] OCTET STRING, mechListMIC [3] } (NegTokenInit2's negHints
 * and MIC are skipped like any other field). The mechToken decides; without
 * one there is nothing to read. Returns 0, or -1. */
static int read_neg_init(const struct der_reader *r, const struct der_elem *choice, struct krb_token_info *info)
{
    struct der_reader seq, list;
    struct der_elem s, f, inner, oid, os = {0};
    bool have_token = false;
    int rc;

    if (der_explicit(r, choice, &s) != 0 || s.cls != DER_UNIVERSAL || !s.constructed || s.tag != DER_TAG_SEQUENCE ||
        der_enter(r, &s, &seq) != 0)
        return -1;
    while ((rc = der_next(&seq, &f)) == 0) {
        if (f.cls != DER_CONTEXT)
            continue;
        if (f.tag == 0) { /* mechTypes: checked for shape only */
            if (der_explicit(&seq, &f, &inner) != 0 || !elem_is(&inner, DER_UNIVERSAL, true, DER_TAG_SEQUENCE) ||
                der_enter(&seq, &inner, &list) != 0)
                return -1;
            while ((rc = der_next(&list, &oid)) == 0)
                if (!elem_is(&oid, DER_UNIVERSAL, false, DER_TAG_OID))
                    return -1;
            if (rc < 0)
                return -1;
        } else if (f.tag == 2) {
            if (have_token || octet_string_field(&seq, &f, &os) != 0)
                return -1;
            have_token = true;
        }
    }
    if (rc < 0 || !have_token)
        return -1;
    return read_mech_token(&seq, &os, info);
}

/* NegTokenResp ::= SEQUENCE { negState [0] ENUMERATED, supportedMech [1]
 * OID, responseToken [2] OCTET STRING, mechListMIC [3] }. Without a
 * responseToken the answer is KRB_TOKEN_NONE with the negState (the final
 * "accept-completed" of a server that sends no mutual authentication, or a
 * bare "reject"). Returns 0, or -1. */
static int read_neg_resp(const struct der_reader *r, const struct der_elem *choice, struct krb_token_info *info)
{
    struct der_reader seq;
    struct der_elem s, f, inner, os = {0};
    bool have_state = false, have_token = false;
    int64_t v;
    int rc;

    if (der_explicit(r, choice, &s) != 0 || s.cls != DER_UNIVERSAL || !s.constructed || s.tag != DER_TAG_SEQUENCE ||
        der_enter(r, &s, &seq) != 0)
        return -1;
    while ((rc = der_next(&seq, &f)) == 0) {
        if (f.cls != DER_CONTEXT)
            continue;
        if (f.tag == 0) {
            if (have_state || der_explicit(&seq, &f, &inner) != 0 ||
                !elem_is(&inner, DER_UNIVERSAL, false, DER_TAG_ENUMERATED) || der_int64(&inner, &v) != 0 || v < 0 ||
                v > 3)
                return -1;
            have_state = true;
            info->neg_state = (enum krb_neg_state)v;
        } else if (f.tag == 1) {
            if (der_explicit(&seq, &f, &inner) != 0 || !elem_is(&inner, DER_UNIVERSAL, false, DER_TAG_OID))
                return -1;
        } else if (f.tag == 2) {
            if (have_token || octet_string_field(&seq, &f, &os) != 0)
                return -1;
            have_token = true;
        }
    }
    if (rc < 0)
        return -1;
    if (!have_token) {
        info->kind = KRB_TOKEN_NONE;
        return 0;
    }
    return read_mech_token(&seq, &os, info);
}

/* The outermost element of a Negotiate token: a GSS InitialContextToken
 * (SPNEGO or Kerberos), a bare NegTokenInit/NegTokenResp, or a bare
 * Kerberos message. Returns 0, or -1. */
static int read_negotiate(const struct der_reader *r, const struct der_elem *e, struct krb_token_info *info)
{
    if (e->cls == DER_APPLICATION && e->constructed && e->tag == 0) {
        struct der_reader gss;
        struct der_elem oid, choice;
        if (der_enter(r, e, &gss) != 0 || der_next(&gss, &oid) != 0)
            return -1;
        if (is_krb5_oid(&oid))
            return read_gss_krb5(&gss, info);
        if (!oid_is(&oid, oid_spnego, sizeof oid_spnego) || der_next(&gss, &choice) != 0 ||
            choice.cls != DER_CONTEXT || choice.tag != 0)
            return -1; /* an initial SPNEGO token holds a NegTokenInit */
        return read_neg_init(&gss, &choice, info);
    }
    if (e->cls == DER_CONTEXT && e->constructed && e->tag == 0)
        return read_neg_init(r, e, info);
    if (e->cls == DER_CONTEXT && e->constructed && e->tag == 1)
        return read_neg_resp(r, e, info);
    return read_krb_message(r, e, info);
}

/* Returns 0 and fills info, or -1 with info empty (kind UNKNOWN, neg_state
 * ABSENT). Trailing bytes after the outer element are ignored, as GSS
 * tokens are self-delimiting and some clients pad. */
int krb_inspect(const uint8_t *tok, size_t n, struct krb_token_info *info)
{
    struct der_reader r;
    struct der_elem e;

    memset(info, 0, sizeof *info);
    info->neg_state = KRB_NEG_ABSENT;
    if (tok == NULL || n == 0)
        return -1;
    if (n >= sizeof ntlmssp_sig && memcmp(tok, ntlmssp_sig, sizeof ntlmssp_sig) == 0) {
        info->kind = KRB_TOKEN_NTLMSSP; /* raw NTLMSSP sent as Negotiate */
        return 0;
    }
    der_init(&r, tok, n);
    if (der_next(&r, &e) == 0 && read_negotiate(&r, &e, info) == 0 && info->kind != KRB_TOKEN_UNKNOWN)
        return 0;
    memset(info, 0, sizeof *info);
    info->neg_state = KRB_NEG_ABSENT;
    return -1;
}

/* ---- error names ------------------------------------------------------------ */

/* RFC 4120 §7.5.9, indexed by code (gaps are NULL). */
static const char *const krb_error_names[] = {
    [0] = "KDC_ERR_NONE",
    [1] = "KDC_ERR_NAME_EXP",
    [2] = "KDC_ERR_SERVICE_EXP",
    [3] = "KDC_ERR_BAD_PVNO",
    [4] = "KDC_ERR_C_OLD_MAST_KVNO",
    [5] = "KDC_ERR_S_OLD_MAST_KVNO",
    [6] = "KDC_ERR_C_PRINCIPAL_UNKNOWN",
    [7] = "KDC_ERR_S_PRINCIPAL_UNKNOWN",
    [8] = "KDC_ERR_PRINCIPAL_NOT_UNIQUE",
    [9] = "KDC_ERR_NULL_KEY",
    [10] = "KDC_ERR_CANNOT_POSTDATE",
    [11] = "KDC_ERR_NEVER_VALID",
    [12] = "KDC_ERR_POLICY",
    [13] = "KDC_ERR_BADOPTION",
    [14] = "KDC_ERR_ETYPE_NOSUPP",
    [15] = "KDC_ERR_SUMTYPE_NOSUPP",
    [16] = "KDC_ERR_PADATA_TYPE_NOSUPP",
    [17] = "KDC_ERR_TRTYPE_NOSUPP",
    [18] = "KDC_ERR_CLIENT_REVOKED",
    [19] = "KDC_ERR_SERVICE_REVOKED",
    [20] = "KDC_ERR_TGT_REVOKED",
    [21] = "KDC_ERR_CLIENT_NOTYET",
    [22] = "KDC_ERR_SERVICE_NOTYET",
    [23] = "KDC_ERR_KEY_EXPIRED",
    [24] = "KDC_ERR_PREAUTH_FAILED",
    [25] = "KDC_ERR_PREAUTH_REQUIRED",
    [26] = "KDC_ERR_SERVER_NOMATCH",
    [27] = "KDC_ERR_MUST_USE_USER2USER",
    [28] = "KDC_ERR_PATH_NOT_ACCEPTED",
    [29] = "KDC_ERR_SVC_UNAVAILABLE",
    [31] = "KRB_AP_ERR_BAD_INTEGRITY",
    [32] = "KRB_AP_ERR_TKT_EXPIRED",
    [33] = "KRB_AP_ERR_TKT_NYV",
    [34] = "KRB_AP_ERR_REPEAT",
    [35] = "KRB_AP_ERR_NOT_US",
    [36] = "KRB_AP_ERR_BADMATCH",
    [37] = "KRB_AP_ERR_SKEW",
    [38] = "KRB_AP_ERR_BADADDR",
    [39] = "KRB_AP_ERR_BADVERSION",
    [40] = "KRB_AP_ERR_MSG_TYPE",
    [41] = "KRB_AP_ERR_MODIFIED",
    [42] = "KRB_AP_ERR_BADORDER",
    [44] = "KRB_AP_ERR_BADKEYVER",
    [45] = "KRB_AP_ERR_NOKEY",
    [46] = "KRB_AP_ERR_MUT_FAIL",
    [47] = "KRB_AP_ERR_BADDIRECTION",
    [48] = "KRB_AP_ERR_METHOD",
    [49] = "KRB_AP_ERR_BADSEQ",
    [50] = "KRB_AP_ERR_INAPP_CKSUM",
    [51] = "KRB_AP_PATH_NOT_ACCEPTED",
    [52] = "KRB_ERR_RESPONSE_TOO_BIG",
    [60] = "KRB_ERR_GENERIC",
    [61] = "KRB_ERR_FIELD_TOOLONG",
    [62] = "KDC_ERROR_CLIENT_NOT_TRUSTED",
    [63] = "KDC_ERROR_KDC_NOT_TRUSTED",
    [64] = "KDC_ERROR_INVALID_SIG",
    [65] = "KDC_ERR_KEY_TOO_WEAK",
    [66] = "KDC_ERR_CERTIFICATE_MISMATCH",
    [67] = "KRB_AP_ERR_NO_TGT",
    [68] = "KDC_ERR_WRONG_REALM",
    [69] = "KRB_AP_ERR_USER_TO_USER_REQUIRED",
    [70] = "KDC_ERR_CANT_VERIFY_CERTIFICATE",
    [71] = "KDC_ERR_INVALID_CERTIFICATE",
    [72] = "KDC_ERR_REVOKED_CERTIFICATE",
    [73] = "KDC_ERR_REVOCATION_STATUS_UNKNOWN",
    [74] = "KDC_ERR_REVOCATION_STATUS_UNAVAILABLE",
    [75] = "KDC_ERR_CLIENT_NAME_MISMATCH",
    [76] = "KDC_ERR_KDC_NAME_MISMATCH",
};

const char *krb_error_name(int32_t code)
{
    if (code < 0 || (size_t)code >= sizeof krb_error_names / sizeof krb_error_names[0])
        return NULL;
    return krb_error_names[code];
}
