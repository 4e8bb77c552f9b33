/* challenge.c -- WWW-Authenticate / Proxy-Authenticate parser (RFC 9110 §11.6.1).
 *
 * The grammar is ambiguous at first sight because one comma separates both
 * challenges and the auth-params of one challenge. We resolve it the way RFC
 * 9110 implies: after a comma, a token followed by "=" is an auth-param of the
 * current challenge, any other token starts a new challenge. One left-to-right
 * pass, no recursion, no allocation: cost is O(n) whatever the input. */
#include "challenge.h"

#include <string.h>
#include <strings.h>

/* tchar from RFC 9110 §5.6.2. */
static bool is_tchar(unsigned char ch)
{
    if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
        return true;
    return ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* token68 characters, "=" padding excluded (RFC 9110 §11.2). */
static bool is_t68char(unsigned char ch)
{
    if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
        return true;
    return ch != 0 && strchr("-._~+/", ch) != NULL;
}

static bool is_ows(unsigned char ch)
{
    return ch == ' ' || ch == '\t';
}

static size_t skip_ows(const char *p, size_t n, size_t i)
{
    while (i < n && is_ows((unsigned char)p[i]))
        i++;
    return i;
}

static size_t skip_token(const char *p, size_t n, size_t i)
{
    while (i < n && is_tchar((unsigned char)p[i]))
        i++;
    return i;
}

/* Drop a UTF-8 sequence cut short at the end of buf[0..len), so truncating a
 * realm never leaves half a character. Returns the new length. */
static size_t utf8_trim_partial(const char *buf, size_t len)
{
    size_t start = len, need;
    unsigned char lead;

    while (start > 0 && ((unsigned char)buf[start - 1] & 0xC0) == 0x80 && len - start < 3)
        start--;
    if (start == 0)
        return len;
    lead = (unsigned char)buf[start - 1];
    if (lead < 0xC0)
        return len; /* ASCII or stray continuation bytes: nothing to trim */
    need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    return len - (start - 1) < need ? start - 1 : len;
}

/* Read a quoted-string starting at p[i] == '"'. Unescapes into out (cap bytes
 * incl. NUL; out may be NULL to skip), truncating at a character boundary.
 * Returns the index after the closing quote, or 0 when the string is
 * unterminated or holds a control character (0 is never a valid end). */
static size_t read_quoted(const char *p, size_t n, size_t i, char *out, size_t cap)
{
    size_t o = 0;
    bool full = false;

    for (i++; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '"') {
            if (out != NULL) {
                if (full)
                    o = utf8_trim_partial(out, o);
                out[o] = '\0';
            }
            return i + 1;
        }
        if (ch == '\\') {
            if (++i >= n)
                return 0;
            ch = (unsigned char)p[i];
        }
        /* qdtext / quoted-pair: HTAB, SP, VCHAR, obs-text; no other controls. */
        if ((ch < 0x20 && ch != '\t') || ch == 0x7F)
            return 0;
        if (out != NULL) {
            if (o + 1 < cap)
                out[o++] = (char)ch;
            else
                full = true;
        }
    }
    return 0;
}

/* Store a realm given as a bare token (realm=intranet). */
static void copy_token_realm(char *out, size_t cap, const char *p, size_t n)
{
    size_t k = n < cap - 1 ? n : cap - 1;
    memcpy(out, p, k);
    out[k] = '\0';
}

/* Parse "name BWS = BWS value" at p[i] (i at the name). Records a realm into c
 * when the name is "realm" and c has none yet. Returns the index after the
 * value, or 0 when it is not a well-formed auth-param. */
static size_t read_param(const char *p, size_t n, size_t i, struct challenge *c)
{
    size_t name = i, name_end = skip_token(p, n, i), v;
    bool is_realm;

    if (name_end == name)
        return 0;
    i = skip_ows(p, n, name_end);
    if (i >= n || p[i] != '=')
        return 0;
    i = skip_ows(p, n, i + 1);
    if (i >= n)
        return 0;
    is_realm = name_end - name == 5 && strncasecmp(p + name, "realm", 5) == 0 && !c->has_realm;
    if (p[i] == '"') {
        v = read_quoted(p, n, i, is_realm ? c->realm : NULL, sizeof c->realm);
        if (v == 0) {
            if (is_realm)
                c->realm[0] = '\0'; /* no half-read realm */
            return 0;
        }
    } else {
        v = skip_token(p, n, i);
        if (v == i)
            return 0;
        if (is_realm)
            copy_token_realm(c->realm, sizeof c->realm, p + i, v - i);
    }
    if (is_realm)
        c->has_realm = true;
    return v;
}

/* After a scheme and its space: decide between token68 and a first auth-param.
 * An auth-param is "token BWS = BWS (token / quoted-string)"; anything else that
 * fits token68 (digits, '+', '/', trailing '=' padding) is the token68.
 * Returns the index after what was read, or 0 when neither fits. */
static size_t read_t68_or_param(const char *p, size_t n, size_t i, struct challenge *c)
{
    size_t e = skip_token(p, n, i), k;

    if (e > i) {
        size_t j = skip_ows(p, n, e);
        if (j < n && p[j] == '=') {
            size_t v = skip_ows(p, n, j + 1);
            if (v < n && (p[v] == '"' || is_tchar((unsigned char)p[v])))
                return read_param(p, n, i, c);
        }
    }
    for (k = i; k < n && is_t68char((unsigned char)p[k]); k++)
        ;
    if (k == i)
        return 0;
    c->token = p + i;
    while (k < n && p[k] == '=')
        k++;
    c->token_len = k - i;
    return k;
}

void challenge_set_init(struct challenge_set *set)
{
    memset(set, 0, sizeof *set);
}

/* Start a challenge named p[0..len). Past CHALLENGE_MAX the set is marked
 * truncated and the challenge is parsed into sink, then forgotten. */
static struct challenge *begin_challenge(struct challenge_set *set, struct challenge *sink,
                                         const char *p, size_t len)
{
    struct challenge *c;
    size_t k = len < CHALLENGE_NAME_MAX - 1 ? len : CHALLENGE_NAME_MAX - 1;

    if (set->count < CHALLENGE_MAX) {
        c = &set->items[set->count++];
    } else {
        set->truncated = true;
        c = sink;
    }
    memset(c, 0, sizeof *c);
    memcpy(c->name, p, k);
    c->name[k] = '\0';
    c->scheme = challenge_scheme_of(p, len);
    return c;
}

/* Returns 0 when the whole value parsed, -1 (set->malformed) at the first fault. */
int challenge_parse(struct challenge_set *set, const char *p, size_t n)
{
    struct challenge sink;
    struct challenge *cur = NULL;
    size_t i = 0;

    if (p == NULL && n > 0)
        goto bad;
    for (;;) {
        size_t start, end, j;

        /* Empty list elements and OWS between them are allowed (#rule). */
        while (i < n && (is_ows((unsigned char)p[i]) || p[i] == ','))
            i++;
        if (i >= n)
            return 0;
        start = i;
        end = skip_token(p, n, i);
        if (end == start)
            goto bad; /* garbage, control byte, NUL, stray quote */
        j = skip_ows(p, n, end);
        if (j < n && p[j] == '=') {
            /* auth-param continuing the current challenge */
            if (cur == NULL)
                goto bad; /* missing scheme */
            i = read_param(p, n, start, cur);
            if (i == 0)
                goto bad;
        } else {
            cur = begin_challenge(set, &sink, p + start, end - start);
            i = end;
            if (i < n && p[i] != ',') {
                if (!is_ows((unsigned char)p[i]))
                    goto bad;
                i = skip_ows(p, n, i);
                if (i < n && p[i] != ',') {
                    i = read_t68_or_param(p, n, i, cur);
                    if (i == 0)
                        goto bad;
                }
            }
        }
        /* Each element ends at a comma or the end of the value. */
        i = skip_ows(p, n, i);
        if (i < n && p[i] != ',')
            goto bad;
    }
bad:
    set->malformed = true;
    return -1;
}

static const struct {
    const char *name;
    enum auth_scheme scheme;
} schemes[] = {
    {"Basic", SCHEME_BASIC},         {"Digest", SCHEME_DIGEST}, {"NTLM", SCHEME_NTLM},
    {"Negotiate", SCHEME_NEGOTIATE}, {"Bearer", SCHEME_BEARER},
};

enum auth_scheme challenge_scheme_of(const char *name, size_t n)
{
    size_t k;

    if (name == NULL)
        return SCHEME_OTHER;
    for (k = 0; k < sizeof schemes / sizeof schemes[0]; k++)
        if (strlen(schemes[k].name) == n && strncasecmp(schemes[k].name, name, n) == 0)
            return schemes[k].scheme;
    return SCHEME_OTHER;
}

bool challenge_offers(const struct challenge_set *set, enum auth_scheme scheme)
{
    return challenge_find(set, scheme) != NULL;
}

const struct challenge *challenge_find(const struct challenge_set *set, enum auth_scheme scheme)
{
    size_t k;

    if (set == NULL)
        return NULL;
    for (k = 0; k < set->count && k < CHALLENGE_MAX; k++)
        if (set->items[k].scheme == scheme)
            return &set->items[k];
    return NULL;
}

const char *challenge_scheme_name(enum auth_scheme scheme)
{
    size_t k;

    for (k = 0; k < sizeof schemes / sizeof schemes[0]; k++)
        if (schemes[k].scheme == scheme)
            return schemes[k].name;
    return NULL;
}
