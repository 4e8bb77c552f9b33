/* credentials.c -- classify an Authorization / Proxy-Authorization value.
 *
 * Tells which scheme the client used (SPEC §3 auth_sent) and extracts the
 * identity an event may log. Basic credentials are decoded into a heap buffer
 * that is wiped before it is freed, and only the part before the colon is
 * copied out: the password never leaves this file. */
#include "credentials.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "challenge.h"

/* Largest decoded token we accept; Squid's whole request header limit is 64 KiB. */
#define CREDENTIALS_TOKEN_MAX 65536

/* Wipe memory the compiler must not optimise away (passwords). */
static void wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    while (n--)
        *v++ = 0;
}

/* Length of the UTF-8 sequence at p[0..n) if it is valid and minimal, else 0;
 * stores its code point in *cp. */
static size_t utf8_seq(const uint8_t *p, size_t n, uint32_t *cp)
{
    size_t need, k;
    uint32_t v, min;

    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if (p[0] >= 0xC2 && p[0] <= 0xDF) {
        need = 2; v = p[0] & 0x1F; min = 0x80;
    } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        need = 3; v = p[0] & 0x0F; min = 0x800;
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        need = 4; v = p[0] & 0x07; min = 0x10000;
    } else {
        return 0;
    }
    if (n < need)
        return 0;
    for (k = 1; k < need; k++) {
        if ((p[k] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (p[k] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return need;
}

/* Copy user-supplied bytes into out (cap incl. NUL) as clean UTF-8 for logs:
 * valid UTF-8 is kept, any other byte is read as Latin-1 (old browsers send
 * Basic credentials that way), control characters become '?', and truncation
 * falls on a character boundary. */
static void copy_identity(char *out, size_t cap, const uint8_t *p, size_t n)
{
    size_t i = 0, o = 0;

    while (i < n) {
        uint32_t cp;
        size_t k = utf8_seq(p + i, n - i, &cp), w;
        if (k == 0) {
            cp = p[i];
            k = 1;
        }
        if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0))
            cp = '?';
        w = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        if (o + w >= cap)
            break;
        if (w == 1) {
            out[o++] = (char)cp;
        } else if (w == 2) {
            out[o++] = (char)(0xC0 | (cp >> 6));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        } else if (w == 3) {
            out[o++] = (char)(0xE0 | (cp >> 12));
            out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        } else {
            out[o++] = (char)(0xF0 | (cp >> 18));
            out[o++] = (char)(0x80 | ((cp >> 12) & 0x3F));
            out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        }
        i += k;
    }
    out[o] = '\0';
}

/* Decode a base64 token into a fresh buffer. Returns the buffer (caller wipes
 * if needed and frees) with *len set, or NULL on bad base64, an oversized
 * token, or allocation failure. */
static uint8_t *decode_token(const char *p, size_t n, size_t *len)
{
    size_t cap = n / 4 * 3 + 3;
    uint8_t *buf;
    long got;

    if (n == 0 || cap > CREDENTIALS_TOKEN_MAX)
        return NULL;
    buf = malloc(cap);
    if (buf == NULL)
        return NULL;
    got = base64_decode(p, n, buf, cap);
    if (got < 0) {
        free(buf);
        return NULL;
    }
    *len = (size_t)got;
    return buf;
}

/* Basic: the user is what precedes the first colon. Without a colon the whole
 * value may be a password, so no user is taken. Returns 0 or -1 (bad base64). */
static int inspect_basic(const char *p, size_t n, struct credentials *c)
{
    size_t len = 0;
    uint8_t *buf = decode_token(p, n, &len);
    const uint8_t *colon;

    if (buf == NULL)
        return -1;
    colon = memchr(buf, ':', len);
    if (colon != NULL)
        copy_identity(c->user, sizeof c->user, buf, (size_t)(colon - buf));
    wipe(buf, len);
    free(buf);
    return 0;
}

static bool is_tchar(unsigned char ch)
{
    if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
        return true;
    return ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static int hexval(unsigned char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* username*=UTF-8''percent-encoded (RFC 7616 §3.4.4 / RFC 8187). Returns 0 and
 * fills c->user, or -1 when the value is not in that form. */
static int digest_ext_username(const char *v, size_t n, struct credentials *c)
{
    uint8_t tmp[CREDENTIALS_USER_MAX + 4]; /* +4: never cut a character that could fit */
    size_t i, o = 0;

    if (n < 7 || strncasecmp(v, "UTF-8'", 6) != 0)
        return -1;
    for (i = 6; i < n && v[i] != '\''; i++) /* language tag */
        ;
    if (i >= n)
        return -1;
    for (i++; i < n && o < sizeof tmp; i++) {
        if (v[i] == '%') {
            int hi, lo;
            if (n - i < 3 || (hi = hexval((unsigned char)v[i + 1])) < 0 ||
                (lo = hexval((unsigned char)v[i + 2])) < 0)
                return -1;
            tmp[o++] = (uint8_t)(hi << 4 | lo);
            i += 2;
        } else {
            tmp[o++] = (uint8_t)v[i];
        }
    }
    copy_identity(c->user, sizeof c->user, tmp, o);
    return 0;
}

/* Digest: walk the auth-params for username (quoted-string or token) or
 * username*. Returns 0, or -1 when the params cannot be parsed (what was
 * found before is kept). */
static int inspect_digest(const char *p, size_t n, struct credentials *c)
{
    size_t i = 0;

    for (;;) {
        size_t name, name_end, vstart, vend;
        uint8_t tmp[CREDENTIALS_USER_MAX + 4]; /* +4: never cut a character that could fit */
        size_t o = 0;
        bool quoted = false;

        while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == ','))
            i++;
        if (i >= n)
            return 0;
        name = i;
        while (i < n && is_tchar((unsigned char)p[i]))
            i++;
        name_end = i;
        while (i < n && (p[i] == ' ' || p[i] == '\t'))
            i++;
        if (name_end == name || i >= n || p[i] != '=')
            return -1;
        i++;
        while (i < n && (p[i] == ' ' || p[i] == '\t'))
            i++;
        if (i < n && p[i] == '"') {
            quoted = true;
            vstart = ++i;
            for (; i < n && p[i] != '"'; i++) {
                if (p[i] == '\\' && ++i >= n)
                    break;
                if (o < sizeof tmp)
                    tmp[o++] = (uint8_t)p[i];
            }
            if (i >= n)
                return -1;
            vend = i++;
        } else {
            vstart = i;
            while (i < n && is_tchar((unsigned char)p[i]))
                i++;
            vend = i;
            if (vend == vstart)
                return -1;
        }
        if (name_end - name == 8 && strncasecmp(p + name, "username", 8) == 0 && c->user[0] == '\0') {
            if (quoted)
                copy_identity(c->user, sizeof c->user, tmp, o);
            else
                copy_identity(c->user, sizeof c->user, (const uint8_t *)p + vstart, vend - vstart);
        } else if (name_end - name == 9 && strncasecmp(p + name, "username*", 9) == 0 && !quoted) {
            if (digest_ext_username(p + vstart, vend - vstart, c) != 0)
                return -1;
        }
        while (i < n && (p[i] == ' ' || p[i] == '\t'))
            i++;
        if (i < n && p[i] != ',')
            return -1;
    }
}

/* "DOMAIN\user", or "user" when the domain is empty; "" for anonymous. */
static void ntlm_identity(const struct ntlm_info *info, struct credentials *c)
{
    if (info->user[0] == '\0')
        c->user[0] = '\0';
    else if (info->domain[0] == '\0')
        copy_identity(c->user, sizeof c->user, (const uint8_t *)info->user, strlen(info->user));
    else {
        /* both fields are < NTLM_NAME_MAX, so this always fits */
        size_t d = strlen(info->domain), u = strlen(info->user);
        memcpy(c->user, info->domain, d);
        c->user[d] = '\\';
        memcpy(c->user + d + 1, info->user, u);
        c->user[d + 1 + u] = '\0';
    }
}

/* NTLM: decode and read the message. Returns 0 or -1 (bad base64 or message). */
static int inspect_ntlm(const char *p, size_t n, struct credentials *c)
{
    size_t len = 0;
    uint8_t *buf = decode_token(p, n, &len);
    struct ntlm_info info;
    int rc;

    if (buf == NULL)
        return -1;
    rc = ntlm_inspect(buf, len, &info);
    free(buf);
    c->ntlm_type = info.type;
    if (rc != 0)
        return -1;
    c->has_ntlm = true;
    c->ntlm = info;
    if (info.type == 3)
        ntlm_identity(&info, c);
    return 0;
}

/* Negotiate: the token says Kerberos or NTLMSSP. An unrecognisable token is
 * reported as OTHER, since we cannot honestly name its mechanism. */
static int inspect_negotiate(const char *p, size_t n, struct credentials *c)
{
    size_t len = 0;
    uint8_t *buf = decode_token(p, n, &len);
    struct spnego_info info;
    int rc;

    if (buf == NULL) {
        c->sent = AUTH_SENT_OTHER;
        return -1;
    }
    rc = spnego_inspect(buf, len, &info);
    if (rc == 0 && info.mech == SPNEGO_KERBEROS)
        c->has_krb = krb_inspect(buf, len, &c->krb) == 0;
    free(buf);
    if (rc != 0) {
        c->sent = AUTH_SENT_OTHER;
        return -1;
    }
    if (info.mech == SPNEGO_KERBEROS) {
        c->sent = AUTH_SENT_NEGOTIATE_KERBEROS;
        return 0;
    }
    c->sent = AUTH_SENT_NEGOTIATE_NTLM;
    c->ntlm_type = info.ntlm.type; /* may be known even when the message is broken */
    if (!info.has_ntlm)
        return -1; /* NTLMSSP announced but its message is missing or broken */
    c->has_ntlm = true;
    c->ntlm = info.ntlm;
    if (info.ntlm.type == 3)
        ntlm_identity(&info.ntlm, c);
    return 0;
}

/* Always fills c; returns 0, or -1 when a present value was malformed. */
int credentials_inspect(const char *p, size_t n, struct credentials *c)
{
    size_t i = 0, s, e;
    int rc = 0;

    memset(c, 0, sizeof *c);
    c->sent = AUTH_SENT_NONE;
    if (p == NULL || n == 0)
        return 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    s = i;
    while (i < n && is_tchar((unsigned char)p[i]))
        i++;
    e = i;
    if (e == s) {
        c->sent = AUTH_SENT_OTHER;
        c->malformed = true;
        return -1;
    }
    switch (challenge_scheme_of(p + s, e - s)) {
    case SCHEME_BASIC: c->sent = AUTH_SENT_BASIC; break;
    case SCHEME_DIGEST: c->sent = AUTH_SENT_DIGEST; break;
    case SCHEME_NTLM: c->sent = AUTH_SENT_NTLM; break;
    case SCHEME_NEGOTIATE: c->sent = AUTH_SENT_NEGOTIATE_KERBEROS; break; /* refined below */
    case SCHEME_BEARER: c->sent = AUTH_SENT_BEARER; break;
    default: c->sent = AUTH_SENT_OTHER; return 0;
    }
    if (c->sent == AUTH_SENT_BEARER)
        return 0;
    /* scheme 1*SP credentials; trailing OWS is not part of a token68 */
    if (i < n && p[i] != ' ' && p[i] != '\t')
        rc = -1;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    while (n > i && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (rc == 0) {
        switch (c->sent) {
        case AUTH_SENT_BASIC: rc = inspect_basic(p + i, n - i, c); break;
        case AUTH_SENT_DIGEST: rc = inspect_digest(p + i, n - i, c); break;
        case AUTH_SENT_NTLM: rc = inspect_ntlm(p + i, n - i, c); break;
        default: rc = inspect_negotiate(p + i, n - i, c); break;
        }
    } else if (c->sent == AUTH_SENT_NEGOTIATE_KERBEROS) {
        c->sent = AUTH_SENT_OTHER;
    }
    if (rc != 0)
        c->malformed = true;
    return rc;
}

const char *credentials_sent_name(enum auth_sent sent)
{
    switch (sent) {
    case AUTH_SENT_NONE: return "none";
    case AUTH_SENT_BASIC: return "basic";
    case AUTH_SENT_DIGEST: return "digest";
    case AUTH_SENT_NTLM: return "ntlm";
    case AUTH_SENT_NEGOTIATE_KERBEROS: return "negotiate-kerberos";
    case AUTH_SENT_NEGOTIATE_NTLM: return "negotiate-ntlm";
    case AUTH_SENT_BEARER: return "bearer";
    case AUTH_SENT_OTHER: return "other";
    }
    return "other";
}
