/* linkset.c -- see linkset.h.
 *
 * De-duplication uses an open-addressing hash set of "type URL" strings that
 * doubles when half full; a page has at most a few thousand objects, so
 * memory is not bounded here as it is in the scanner (the CLI reads one
 * document, the service never uses this file). */
#include "linkset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "urlres.h"

struct linkset {
    FILE *out;
    char *doc_base, *base; /* normalised; NULL when unknown */
    size_t doc_base_n, base_n;
    char *buf;             /* resolution output, grown on URLRES_ESPACE */
    size_t buf_cap;
    char **slots;          /* hash set of "type URL" lines */
    size_t cap, count;
    const char *prefix;    /* printed before each line with a tab, or NULL */
};

static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* Insert line[0..n); returns 1 when new, 0 when present, -1 on OOM. */
static int set_insert(struct linkset *ls, const char *line, size_t n)
{
    if (2 * (ls->count + 1) > ls->cap) {
        size_t ncap = ls->cap ? 2 * ls->cap : 256;
        char **ns = calloc(ncap, sizeof *ns);
        if (ns == NULL)
            return -1;
        for (size_t i = 0; i < ls->cap; i++) {
            if (ls->slots[i] == NULL)
                continue;
            size_t j = fnv1a(ls->slots[i], strlen(ls->slots[i])) & (ncap - 1);
            while (ns[j] != NULL)
                j = (j + 1) & (ncap - 1);
            ns[j] = ls->slots[i];
        }
        free(ls->slots);
        ls->slots = ns;
        ls->cap = ncap;
    }
    size_t j = fnv1a(line, n) & (ls->cap - 1);
    while (ls->slots[j] != NULL) {
        if (strlen(ls->slots[j]) == n && memcmp(ls->slots[j], line, n) == 0)
            return 0;
        j = (j + 1) & (ls->cap - 1);
    }
    char *copy = malloc(n + 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, line, n);
    copy[n] = '\0';
    ls->slots[j] = copy;
    ls->count++;
    return 1;
}

/* Resolve ref against base (or normalise it when base is NULL) into
 * ls->buf. Returns the length, or -1 on failure (reason in *rc). */
static long resolve(struct linkset *ls, const char *base, size_t base_n, const char *ref,
                    size_t n, int *rc)
{
    for (;;) {
        size_t len;
        *rc = base ? urlres_resolve(base, base_n, ref, n, 0, ls->buf, ls->buf_cap, &len)
                   : urlres_normalise(ref, n, ls->buf, ls->buf_cap, &len);
        if (*rc == URLRES_OK)
            return (long)len;
        if (*rc != URLRES_ESPACE)
            return -1;
        size_t ncap = 2 * ls->buf_cap;
        char *nb = realloc(ls->buf, ncap);
        if (nb == NULL) {
            *rc = URLRES_ENOMEM;
            return -1;
        }
        ls->buf = nb;
        ls->buf_cap = ncap;
    }
}

struct linkset *linkset_new(const char *doc_base, size_t n, FILE *out)
{
    struct linkset *ls = calloc(1, sizeof *ls);
    if (ls == NULL)
        return NULL;
    ls->out = out;
    ls->buf_cap = 4096;
    ls->buf = malloc(ls->buf_cap);
    if (ls->buf == NULL)
        goto err;
    if (doc_base != NULL) {
        int rc;
        long len = resolve(ls, NULL, 0, doc_base, n, &rc);
        if (len < 0)
            goto err;
        ls->doc_base = malloc((size_t)len + 1);
        if (ls->doc_base == NULL)
            goto err;
        memcpy(ls->doc_base, ls->buf, (size_t)len + 1);
        ls->doc_base_n = (size_t)len;
        ls->base = ls->doc_base;
        ls->base_n = ls->doc_base_n;
    }
    return ls;
err:
    free(ls->buf);
    free(ls);
    return NULL;
}

int linkset_base(struct linkset *ls, const char *href, size_t n)
{
    int rc;
    long len;
    if (ls->doc_base != NULL)
        len = resolve(ls, ls->doc_base, ls->doc_base_n, href, n, &rc);
    else if (urlres_is_absolute(href, n))
        len = resolve(ls, NULL, 0, href, n, &rc);
    else
        return 0;
    if (len < 0)
        return rc == URLRES_ENOMEM ? -1 : 0;
    char *b = malloc((size_t)len + 1);
    if (b == NULL)
        return -1;
    memcpy(b, ls->buf, (size_t)len + 1);
    if (ls->base != ls->doc_base)
        free(ls->base);
    ls->base = b;
    ls->base_n = (size_t)len;
    return 0;
}

/* A relative URL printed as written, made safe for one line: surrounding
 * whitespace trimmed, tab/CR/LF removed, other controls, space and
 * non-ASCII bytes percent-encoded, fragment dropped as for absolute ones. */
static size_t clean_relative(const char *p, size_t n, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    while (n > 0 && (unsigned char)p[0] <= 0x20)
        p++, n--;
    while (n > 0 && (unsigned char)p[n - 1] <= 0x20)
        n--;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\t' || c == '\n' || c == '\r')
            continue;
        if (c == '#')
            break;
        if (c <= 0x20 || c >= 0x7f) {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    return o;
}

static int is_http(const char *url, size_t n)
{
    return (n >= 5 && memcmp(url, "http:", 5) == 0) || (n >= 6 && memcmp(url, "https:", 6) == 0);
}

int linkset_add(struct linkset *ls, enum event_object type, const char *url, size_t n)
{
    const char *tname = event_object_name(type);
    if (tname == NULL)
        tname = "other";
    size_t tn = strlen(tname);
    const char *u;
    size_t un;
    char *rel = NULL;
    if (ls->base != NULL || urlres_is_absolute(url, n)) {
        int rc;
        long len = resolve(ls, ls->base, ls->base_n, url, n, &rc);
        if (len < 0)
            return rc == URLRES_ENOMEM ? -1 : 0;
        if (!is_http(ls->buf, (size_t)len))
            return 0; /* data:, javascript:, about:... fetch nothing that can prompt */
        u = ls->buf;
        un = (size_t)len;
    } else {
        rel = malloc(3 * n + 1);
        if (rel == NULL)
            return -1;
        un = clean_relative(url, n, rel);
        u = rel;
        if (un == 0) {
            free(rel);
            return 0;
        }
    }
    char *line = malloc(tn + 1 + un);
    int r = -1;
    if (line != NULL) {
        memcpy(line, tname, tn);
        line[tn] = ' ';
        memcpy(line + tn + 1, u, un);
        r = set_insert(ls, line, tn + 1 + un);
        if (r == 1) {
            if (ls->prefix != NULL) {
                fputs(ls->prefix, ls->out);
                fputc('\t', ls->out);
            }
            fwrite(line, 1, tn + 1 + un, ls->out);
            fputc('\n', ls->out);
        }
        free(line);
    }
    free(rel);
    return r < 0 ? -1 : 0;
}

void linkset_prefix(struct linkset *ls, const char *prefix)
{
    ls->prefix = prefix;
}

size_t linkset_count(const struct linkset *ls)
{
    return ls->count;
}

void linkset_free(struct linkset *ls)
{
    if (ls == NULL)
        return;
    for (size_t i = 0; i < ls->cap; i++)
        free(ls->slots[i]);
    free(ls->slots);
    if (ls->base != ls->doc_base)
        free(ls->base);
    free(ls->doc_base);
    free(ls->buf);
    free(ls);
}
