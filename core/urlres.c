/* urlres.c -- RFC 3986 §5 reference resolution plus the normalisation the
 * correlation store compares URLs with.
 *
 * Resolution follows the RFC's algorithm literally (§5.2.2 transform,
 * §5.2.3 merge, §5.2.4 remove_dot_segments) so the §5.4 examples hold byte for
 * byte in strict mode. Normalisation borrows from WHATWG URL parsing only where
 * browsers and the RFC differ in ways a proxy sees on the wire: stripped
 * whitespace, removed tab/newlines, percent-encoding of bytes browsers escape.
 * Not done (documented in docs/SCANNER.md): IDNA for non-ASCII hosts, '\' as
 * '/' in special schemes, "http:foo" relative to an http base.
 *
 * Each call makes one scratch allocation sized from its inputs; URLs are a
 * few hundred bytes and resolution happens once per embedded object, so a
 * malloc is cheaper than a fixed limit that would reject long URLs. */
#include "urlres.h"

#include <stdlib.h>
#include <string.h>

/* A URL split into RFC 3986 components; a NULL pointer means "undefined",
 * which differs from empty (e.g. "?" has an empty query). */
struct urlparts {
    const char *scheme, *auth, *path, *query, *frag;
    size_t scheme_n, auth_n, path_n, query_n, frag_n;
};

/* Bounded output; overflow is sticky so callers check once at the end. */
struct wbuf {
    char *p;
    size_t cap;
    size_t n;
    int overflow;
};

enum comp { COMP_AUTH, COMP_PATH, COMP_QUERY };

static int is_alpha(unsigned char c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int hexval(unsigned char c)
{
    if (is_digit(c))
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

static void put(struct wbuf *w, const char *s, size_t n)
{
    if (w->overflow || n >= w->cap - w->n) {
        w->overflow = 1;
        return;
    }
    memcpy(w->p + w->n, s, n);
    w->n += n;
}

static void putc1(struct wbuf *w, char c)
{
    put(w, &c, 1);
}

size_t urlres_scheme_len(const char *url, size_t len)
{
    if (len == 0 || !is_alpha((unsigned char)url[0]))
        return 0;
    for (size_t i = 1; i < len; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c == ':')
            return i;
        if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.')
            return 0;
    }
    return 0;
}

int urlres_is_absolute(const char *ref, size_t len)
{
    while (len > 0 && (unsigned char)ref[0] <= 0x20) {
        ref++;
        len--;
    }
    return urlres_scheme_len(ref, len) > 0;
}

/* Split per RFC 3986 appendix B, except that a scheme must follow the §3.1
 * grammar ("1a:b" is a path, as browsers treat it). */
static void split(const char *p, size_t n, struct urlparts *u)
{
    size_t i = 0, j;
    memset(u, 0, sizeof *u);
    size_t sl = urlres_scheme_len(p, n);
    if (sl > 0) {
        u->scheme = p;
        u->scheme_n = sl;
        i = sl + 1;
    }
    if (n - i >= 2 && p[i] == '/' && p[i + 1] == '/') {
        i += 2;
        for (j = i; j < n && p[j] != '/' && p[j] != '?' && p[j] != '#'; j++)
            ;
        u->auth = p + i;
        u->auth_n = j - i;
        i = j;
    }
    for (j = i; j < n && p[j] != '?' && p[j] != '#'; j++)
        ;
    u->path = p + i;
    u->path_n = j - i;
    i = j;
    if (i < n && p[i] == '?') {
        for (j = i + 1; j < n && p[j] != '#'; j++)
            ;
        u->query = p + i + 1;
        u->query_n = j - i - 1;
        i = j;
    }
    if (i < n && p[i] == '#') {
        u->frag = p + i + 1;
        u->frag_n = n - i - 1;
    }
}

/* Bytes browsers percent-encode in each component (WHATWG path and special
 * query percent-encode sets, minus the structural '#' and '?'). */
static int must_encode(unsigned char c, enum comp comp)
{
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>')
        return 1;
    if (comp == COMP_PATH)
        return c == '`' || c == '{' || c == '}';
    if (comp == COMP_QUERY)
        return c == '\'';
    return 0;
}

static int is_unreserved(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* True when the output ends in a '%' that is not an escape, alone or with
 * one hex digit: decoding a hex digit after it would create an escape that
 * was not there, and normalising the result again would change it (found by
 * fuzzing: "%e%44" gave "%eD", then "%ED"). */
static int after_stray_percent(const struct wbuf *w)
{
    if (w->n >= 1 && w->p[w->n - 1] == '%')
        return 1;
    return w->n >= 2 && w->p[w->n - 2] == '%' && hexval((unsigned char)w->p[w->n - 1]) >= 0;
}

/* Copy s with percent-encoding normalised: escapes upper-cased, unreserved
 * ones decoded (RFC 3986 §6.2.2.1-2), bytes browsers escape encoded. A '%'
 * not followed by two hex digits stays as it is, as browsers leave it. */
static void put_norm(struct wbuf *w, const char *s, size_t n, enum comp comp)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%' && n - i >= 3 && hexval((unsigned char)s[i + 1]) >= 0 &&
            hexval((unsigned char)s[i + 2]) >= 0) {
            unsigned char d = (unsigned char)(hexval((unsigned char)s[i + 1]) * 16 +
                                              hexval((unsigned char)s[i + 2]));
            if (is_unreserved(d) && !(hexval(d) >= 0 && after_stray_percent(w))) {
                putc1(w, (char)d);
            } else {
                char e[3] = {'%', hex[d >> 4], hex[d & 15]};
                put(w, e, 3);
            }
            i += 2;
        } else if (must_encode(c, comp)) {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            put(w, e, 3);
        } else {
            putc1(w, (char)c);
        }
    }
}

/* RFC 3986 §5.2.4 on a mutable input; writes at most n bytes to out and
 * returns the output length. The two "replace with '/'" rules overwrite one
 * input byte instead of copying the rest of the input. */
static size_t remove_dot_segments(char *in, size_t n, char *out)
{
    size_t i = 0, o = 0;
    while (i < n) {
        char *p = in + i;
        size_t r = n - i;
        if (r >= 3 && p[0] == '.' && p[1] == '.' && p[2] == '/') {
            i += 3;
        } else if (r >= 2 && p[0] == '.' && p[1] == '/') {
            i += 2;
        } else if (r >= 3 && p[0] == '/' && p[1] == '.' && p[2] == '/') {
            i += 2;
        } else if (r == 2 && p[0] == '/' && p[1] == '.') {
            p[1] = '/';
            i += 1;
        } else if ((r >= 4 && p[0] == '/' && p[1] == '.' && p[2] == '.' && p[3] == '/') ||
                   (r == 3 && p[0] == '/' && p[1] == '.' && p[2] == '.')) {
            if (r == 3)
                p[2] = '/';
            i += (r == 3) ? 2 : 3;
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
        } else if ((r == 1 && p[0] == '.') || (r == 2 && p[0] == '.' && p[1] == '.')) {
            i = n;
        } else {
            size_t j = (p[0] == '/') ? 1 : 0;
            while (j < r && p[j] != '/')
                j++;
            memcpy(out + o, p, j);
            o += j;
            i += j;
        }
    }
    return o;
}

/* Copy s without tab/CR/LF and without leading/trailing C0 controls and
 * spaces (WHATWG "basic URL parser" preprocessing). Returns the new length. */
static size_t clean(const char *s, size_t n, char *out)
{
    while (n > 0 && (unsigned char)s[0] <= 0x20) {
        s++;
        n--;
    }
    while (n > 0 && (unsigned char)s[n - 1] <= 0x20)
        n--;
    size_t o = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            out[o++] = s[i];
    return o;
}

static const char *default_port(const char *scheme, size_t n)
{
    static const struct {
        const char *name;
        const char *port;
    } ports[] = {{"http", "80"}, {"https", "443"}, {"ws", "80"}, {"wss", "443"}, {"ftp", "21"}};
    for (size_t i = 0; i < sizeof ports / sizeof ports[0]; i++) {
        if (strlen(ports[i].name) != n)
            continue;
        size_t k = 0;
        while (k < n && lower((unsigned char)scheme[k]) == (unsigned char)ports[i].name[k])
            k++;
        if (k == n)
            return ports[i].port;
    }
    return NULL;
}

/* userinfo@host:port with the host lower-cased and the port written without
 * leading zeros, or dropped when empty or the scheme's default. */
static void put_authority(struct wbuf *w, const char *a, size_t n, const char *scheme,
                          size_t scheme_n)
{
    size_t at = n;
    for (size_t i = n; i > 0; i--)
        if (a[i - 1] == '@') {
            at = i - 1;
            break;
        }
    size_t h = 0;
    if (at < n) {
        put_norm(w, a, at, COMP_AUTH);
        putc1(w, '@');
        h = at + 1;
    }
    /* The port starts after the first ':' that is not inside an IPv6
     * literal; in "host:01:" or "host::80" it is then no number and is kept
     * as written (taking the last ':' made normalisation not idempotent:
     * "h:01:" gave "h:01", then "h:1"; found by fuzzing). */
    size_t colon = n;
    size_t k0 = h;
    if (k0 < n && a[k0] == '[')
        while (k0 < n && a[k0] != ']')
            k0++;
    for (; k0 < n; k0++)
        if (a[k0] == ':') {
            colon = k0;
            break;
        }
    /* Lower-case the host, escapes included: an escape of an unreserved
     * byte is decoded and lower-cased, any other keeps its (upper-case)
     * escape, so normalising a normalised URL changes nothing (found by
     * fuzzing: "%9B" in a host came out as "%9b", a raw 0x9B byte as "%9B"). */
    for (size_t i = h; i < colon; i++) {
        if (a[i] == '%' && colon - i >= 3 && hexval((unsigned char)a[i + 1]) >= 0 &&
            hexval((unsigned char)a[i + 2]) >= 0) {
            unsigned char d = (unsigned char)(hexval((unsigned char)a[i + 1]) * 16 +
                                              hexval((unsigned char)a[i + 2]));
            char c = is_unreserved(d) && !(hexval(d) >= 0 && after_stray_percent(w)) ? (char)lower(d) : '\0';
            if (c != '\0') {
                putc1(w, c);
            } else {
                put_norm(w, a + i, 3, COMP_AUTH);
            }
            i += 2;
            continue;
        }
        char c = (char)lower((unsigned char)a[i]);
        put_norm(w, &c, 1, COMP_AUTH);
    }
    if (colon == n)
        return;
    const char *port = a + colon + 1;
    size_t pn = n - colon - 1;
    size_t k = 0;
    while (k < pn && is_digit((unsigned char)port[k]))
        k++;
    if (k < pn) { /* not a number: keep as written */
        putc1(w, ':');
        /* Byte for byte when it is printable ASCII: decoding %35 to '5' here
         * would turn "0%35" into the number "05", which the next
         * normalisation shortens to "5" (normalising must be idempotent). */
        size_t j = 0;
        while (j < pn && (unsigned char)port[j] > 0x20 && (unsigned char)port[j] < 0x7f)
            j++;
        if (j == pn)
            put(w, port, pn);
        else
            put_norm(w, port, pn, COMP_AUTH);
        return;
    }
    while (pn > 1 && port[0] == '0') {
        port++;
        pn--;
    }
    if (pn == 0)
        return;
    const char *def = default_port(scheme, scheme_n);
    if (def != NULL && strlen(def) == pn && memcmp(def, port, pn) == 0)
        return;
    putc1(w, ':');
    put(w, port, pn);
}

int urlres_resolve(const char *base, size_t base_len, const char *ref, size_t ref_len,
                   unsigned flags, char *out, size_t out_size, size_t *out_len)
{
    int strict = (flags & URLRES_STRICT) != 0;
    struct urlparts b, r;
    int rc = URLRES_OK;

    if (out_size == 0)
        return URLRES_ESPACE;
    /* Scratch: cleaned base and ref, then a merge buffer and a
     * remove_dot_segments buffer, each big enough for a fully
     * percent-encoded base path plus ref path plus a '/'. */
    size_t mcap = 3 * (base_len + ref_len) + 2;
    char *scratch = malloc(base_len + ref_len + 2 * mcap + 1);
    if (scratch == NULL)
        return URLRES_ENOMEM;
    char *cb = scratch, *cr = scratch + base_len, *merged = cr + ref_len, *dots = merged + mcap;

    if (strict) {
        memcpy(cb, base, base_len);
        memcpy(cr, ref, ref_len);
    } else {
        base_len = clean(base, base_len, cb);
        ref_len = clean(ref, ref_len, cr);
    }
    split(cb, base_len, &b);
    split(cr, ref_len, &r);
    if (b.scheme == NULL) {
        rc = URLRES_EBASE;
        goto out;
    }

    /* §5.2.2: choose the components of the target T. */
    const char *scheme, *auth, *query;
    size_t scheme_n, auth_n, query_n;
    struct wbuf m = {merged, mcap, 0, 0};
    int dot = 1;
    if (r.scheme != NULL) {
        scheme = r.scheme, scheme_n = r.scheme_n;
        auth = r.auth, auth_n = r.auth_n;
        query = r.query, query_n = r.query_n;
    } else {
        scheme = b.scheme, scheme_n = b.scheme_n;
        if (r.auth != NULL) {
            auth = r.auth, auth_n = r.auth_n;
            query = r.query, query_n = r.query_n;
        } else {
            auth = b.auth, auth_n = b.auth_n;
            if (r.path_n == 0) {
                /* T.path = Base.path, not dot-normalised in strict mode. */
                r.path = b.path, r.path_n = b.path_n;
                dot = !strict;
                if (r.query != NULL)
                    query = r.query, query_n = r.query_n;
                else
                    query = b.query, query_n = b.query_n;
            } else {
                query = r.query, query_n = r.query_n;
                if (r.path[0] != '/') {
                    /* §5.2.3 merge */
                    if (b.auth != NULL && b.path_n == 0) {
                        putc1(&m, '/');
                    } else {
                        size_t k = b.path_n;
                        while (k > 0 && b.path[k - 1] != '/')
                            k--;
                        if (strict)
                            put(&m, b.path, k);
                        else
                            put_norm(&m, b.path, k, COMP_PATH);
                    }
                }
            }
        }
    }
    if (strict)
        put(&m, r.path, r.path_n);
    else
        put_norm(&m, r.path, r.path_n, COMP_PATH);
    if (m.overflow) { /* cannot happen: mcap bounds a fully encoded path */
        rc = URLRES_ESPACE;
        goto out;
    }
    size_t path_n = m.n;
    const char *path = merged;
    if (dot) {
        path_n = remove_dot_segments(merged, m.n, dots);
        path = dots;
    }

    /* §5.3 recomposition */
    struct wbuf w = {out, out_size, 0, 0};
    for (size_t i = 0; i < scheme_n; i++)
        putc1(&w, strict ? scheme[i] : (char)lower((unsigned char)scheme[i]));
    putc1(&w, ':');
    if (auth != NULL) {
        put(&w, "//", 2);
        if (strict)
            put(&w, auth, auth_n);
        else
            put_authority(&w, auth, auth_n, scheme, scheme_n);
    }
    if (!strict && auth != NULL && path_n == 0)
        putc1(&w, '/');
    /* A path starting "//" without an authority would read back as one
     * (found by fuzzing: "http:" + "//" normalised to "http:///"); WHATWG
     * serialises it with "/." in front, which dot removal takes off again. */
    if (!strict && auth == NULL && path_n >= 2 && path[0] == '/' && path[1] == '/')
        put(&w, "/.", 2);
    put(&w, path, path_n);
    if (query != NULL) {
        putc1(&w, '?');
        if (strict)
            put(&w, query, query_n);
        else
            put_norm(&w, query, query_n, COMP_QUERY);
    }
    if (strict && r.frag != NULL) {
        putc1(&w, '#');
        put(&w, r.frag, r.frag_n);
    }
    if (w.overflow) {
        rc = URLRES_ESPACE;
        goto out;
    }
    out[w.n] = '\0';
    if (out_len != NULL)
        *out_len = w.n;
out:
    free(scratch);
    return rc;
}

/* A byte that urlres_resolve copies unchanged into comp and that starts no
 * escape, fragment or backslash question. */
static int plain_byte(unsigned char c, enum comp comp)
{
    return !must_encode(c, comp) && c != '%' && c != '#' && c != '\\';
}

/* True when ref needs none of urlres_resolve's work beyond joining: no
 * byte that cleaning, percent-encoding or escape decoding would change, no
 * fragment, no dot segment, no scheme or authority. A query is allowed
 * (bytes the query set leaves alone). This is most of what pages write
 * ("/img/a.png", "css/site.css?v=3"). */
static int plain_ref(const char *ref, size_t n)
{
    if (n == 0 || ref[0] == '?' || (n >= 2 && ref[0] == '/' && ref[1] == '/'))
        return 0;
    if (ref[0] != '/' && urlres_scheme_len(ref, n) > 0)
        return 0;
    const char *q = memchr(ref, '?', n);
    size_t path_n = q ? (size_t)(q - ref) : n;
    size_t seg = 0; /* start of the current path segment */
    for (size_t i = 0; i <= path_n; i++) {
        if (i < path_n && ref[i] != '/') {
            if (!plain_byte((unsigned char)ref[i], COMP_PATH))
                return 0;
            continue;
        }
        size_t len = i - seg;
        if ((len == 1 && ref[seg] == '.') || (len == 2 && ref[seg] == '.' && ref[seg + 1] == '.'))
            return 0;
        seg = i + 1;
    }
    for (size_t i = path_n + 1; i < n; i++)
        if (!plain_byte((unsigned char)ref[i], COMP_QUERY))
            return 0;
    return 1;
}

int urlres_resolve_normal(const char *base, size_t base_len, const char *ref, size_t ref_len, char *out,
                          size_t out_size, size_t *out_len)
{
    size_t sl = urlres_scheme_len(base, base_len);
    const char *path = NULL;
    if (sl > 0 && base_len >= sl + 3 && base[sl + 1] == '/' && base[sl + 2] == '/' && plain_ref(ref, ref_len))
        path = memchr(base + sl + 3, '/', base_len - sl - 3);
    if (path == NULL)
        return urlres_resolve(base, base_len, ref, ref_len, 0, out, out_size, out_len);
    size_t keep = (size_t)(path - base); /* the origin, for a reference from the root */
    if (ref[0] != '/') {
        /* the base's path up to its last '/' (a normalised base has no fragment) */
        const char *q = memchr(path, '?', base_len - keep);
        keep = q ? (size_t)(q - base) : base_len;
        while (base[keep - 1] != '/')
            keep--;
    }
    if (keep + ref_len >= out_size)
        return urlres_resolve(base, base_len, ref, ref_len, 0, out, out_size, out_len);
    memcpy(out, base, keep);
    memcpy(out + keep, ref, ref_len);
    out[keep + ref_len] = '\0';
    if (out_len != NULL)
        *out_len = keep + ref_len;
    return URLRES_OK;
}

int urlres_normalise(const char *url, size_t len, char *out, size_t out_size, size_t *out_len)
{
    return urlres_resolve(url, len, "", 0, 0, out, out_size, out_len);
}

const char *urlres_strerror(int status)
{
    switch (status) {
    case URLRES_OK:
        return "ok";
    case URLRES_EBASE:
        return "base URL is not absolute";
    case URLRES_ESPACE:
        return "resolved URL too long";
    case URLRES_ENOMEM:
        return "out of memory";
    default:
        return "unknown error";
    }
}
