/* gumbo_links.c -- reference extractor for the differential test: the same
 * object rules as core/htmlscan.c, applied to the tree libgumbo (a full
 * WHATWG parser) builds, printed through the same cli/linkset.c.
 *
 * Usage: gumbo_links [--base URL] FILE. A test dependency only: the product
 * never links libgumbo. Where the two differ on a real page, either the
 * scanner's tokenizer is wrong or the page hits one of the tree-builder
 * effects docs/SCANNER.md lists. The CSS and srcset parsing here is written
 * independently of the scanner's, deliberately simpler. */
#include <gumbo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linkset.h"

static struct linkset *g_ls;
static int g_base_seen;

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\n' || c == '\t' || c == '\f' || c == '\r';
}

static int ieq(const char *a, size_t n, const char *kw)
{
    if (strlen(kw) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)a[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        if (c != (unsigned char)kw[i])
            return 0;
    }
    return 1;
}

static void add(enum event_object t, const char *v, size_t n)
{
    size_t i = 0;
    while (i < n && is_ws((unsigned char)v[i]))
        i++;
    if (i < n && linkset_add(g_ls, t, v, n) < 0) {
        fputs("gumbo_links: out of memory\n", stderr);
        exit(2);
    }
}

static const char *attr(const GumboElement *el, const char *name)
{
    const GumboAttribute *a = gumbo_get_attribute(&el->attributes, name);
    return a ? a->value : NULL;
}

static void add_attr(const GumboElement *el, const char *name, enum event_object t)
{
    const char *v = attr(el, name);
    if (v != NULL)
        add(t, v, strlen(v));
}

/* srcset: candidates separated by commas that follow whitespace or end a
 * URL; descriptors skipped up to the next comma outside parentheses. */
static void add_srcset(const GumboElement *el)
{
    const char *v = attr(el, "srcset");
    if (v == NULL)
        return;
    const char *p = v;
    for (;;) {
        while (*p && (is_ws((unsigned char)*p) || *p == ','))
            p++;
        if (!*p)
            break;
        const char *u = p;
        while (*p && !is_ws((unsigned char)*p))
            p++;
        size_t n = (size_t)(p - u);
        if (u[n - 1] == ',') {
            while (n > 0 && u[n - 1] == ',')
                n--;
        } else {
            int depth = 0;
            for (; *p && (depth || *p != ','); p++)
                depth = *p == '(' ? 1 : *p == ')' ? 0 : depth;
            if (*p)
                p++;
        }
        if (n > 0)
            add(OBJECT_IMAGE, u, n);
    }
}

static int hexv(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Read a CSS escape at p (just after '\') into out; returns the new p. */
static const char *css_escape(const char *p, const char *end, char *out, size_t *o)
{
    if (p < end && hexv((unsigned char)*p) >= 0) {
        unsigned long cp = 0;
        int k = 0;
        while (p < end && k < 6 && hexv((unsigned char)*p) >= 0)
            cp = cp * 16 + (unsigned long)hexv((unsigned char)*p++), k++;
        if (p < end && is_ws((unsigned char)*p))
            p++;
        if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            cp = 0xfffd;
        if (cp < 0x80) {
            out[(*o)++] = (char)cp;
        } else if (cp < 0x800) {
            out[(*o)++] = (char)(0xc0 | (cp >> 6));
            out[(*o)++] = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out[(*o)++] = (char)(0xe0 | (cp >> 12));
            out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[(*o)++] = (char)(0x80 | (cp & 0x3f));
        } else {
            out[(*o)++] = (char)(0xf0 | (cp >> 18));
            out[(*o)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
            out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[(*o)++] = (char)(0x80 | (cp & 0x3f));
        }
        return p;
    }
    if (p < end)
        out[(*o)++] = *p++;
    return p;
}

static int css_ident(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c >= 0x80 || c == '\\';
}

/* url(...) anywhere (image) and @import "x" / @import url(x) (style). */
static void add_css(const char *css, size_t n, int sheet)
{
    const char *p = css, *end = css + n;
    char *buf = malloc(4 * n + 4);
    if (buf == NULL)
        exit(2);
    while (p < end) {
        if (p + 1 < end && p[0] == '/' && p[1] == '*') {
            const char *e = p + 2;
            while (e + 1 < end && !(e[0] == '*' && e[1] == '/'))
                e++;
            p = e + 1 < end ? e + 2 : end;
            continue;
        }
        int import = 0;
        if (sheet && *p == '@' && end - p >= 7 && ieq(p + 1, 6, "import") &&
            (end - p == 7 || !css_ident((unsigned char)p[7]))) {
            p += 7;
            while (p < end && is_ws((unsigned char)*p))
                p++;
            import = 1;
        }
        if (*p == '"' || *p == '\'') {
            char q = *p++;
            size_t o = 0;
            int bad = 0;
            while (p < end && *p != q) {
                if (*p == '\n') {
                    bad = 1;
                    break;
                }
                if (*p == '\\') {
                    if (p + 1 < end && p[1] == '\n')
                        p += 2;
                    else
                        p = css_escape(p + 1, end, buf, &o);
                } else {
                    buf[o++] = *p++;
                }
            }
            if (import && !bad)
                add(OBJECT_STYLE, buf, o);
            if (p < end)
                p++;
            continue;
        }
        if (end - p >= 4 && ieq(p, 3, "url") && p[3] == '(' &&
            (p == css || !css_ident((unsigned char)p[-1]))) {
            p += 4;
            while (p < end && is_ws((unsigned char)*p))
                p++;
            size_t o = 0;
            int ok = 1;
            if (p < end && (*p == '"' || *p == '\'')) {
                char q = *p++;
                while (p < end && *p != q && *p != '\n') {
                    if (*p == '\\' && p + 1 < end && p[1] == '\n')
                        p += 2;
                    else if (*p == '\\')
                        p = css_escape(p + 1, end, buf, &o);
                    else
                        buf[o++] = *p++;
                }
                if (p < end && *p == '\n')
                    ok = 0;
                else if (p < end)
                    p++;
            } else {
                while (p < end && *p != ')' && !is_ws((unsigned char)*p)) {
                    unsigned char c = (unsigned char)*p;
                    if (c == '"' || c == '\'' || c == '(' || c < 0x09 || c == 0x0b ||
                        (c >= 0x0e && c < 0x20) || c == 0x7f)
                        ok = 0;
                    if (*p == '\\') {
                        if (p + 1 < end && p[1] == '\n')
                            ok = 0;
                        p = css_escape(p + 1, end, buf, &o);
                    } else {
                        buf[o++] = *p++;
                    }
                }
                while (p < end && is_ws((unsigned char)*p))
                    p++;
                if (p < end && *p != ')')
                    ok = 0;
                while (p < end && *p != ')') /* skip a bad url to its ')' */
                    p += (*p == '\\' && p + 1 < end) ? 2 : 1;
            }
            size_t k = 0;
            while (k < o && is_ws((unsigned char)buf[k]))
                k++;
            if (ok && o > 0 && !(k < o && buf[k] == '#')) /* #id: this document */
                add(import ? OBJECT_STYLE : OBJECT_IMAGE, buf, o);
            continue;
        }
        p++;
    }
    free(buf);
}

static enum event_object link_type(const GumboElement *el)
{
    const char *rel = attr(el, "rel"), *as = attr(el, "as");
    if (rel == NULL)
        return OBJECT_UNKNOWN;
    int style = 0, preload = 0, modpre = 0, icon = 0, prefetch = 0;
    for (const char *p = rel; *p;) {
        while (*p && is_ws((unsigned char)*p))
            p++;
        const char *t = p;
        while (*p && !is_ws((unsigned char)*p))
            p++;
        size_t n = (size_t)(p - t);
        style |= ieq(t, n, "stylesheet");
        preload |= ieq(t, n, "preload");
        modpre |= ieq(t, n, "modulepreload");
        icon |= ieq(t, n, "icon") || ieq(t, n, "apple-touch-icon") ||
                ieq(t, n, "apple-touch-icon-precomposed") || ieq(t, n, "mask-icon");
        prefetch |= ieq(t, n, "prefetch");
    }
    if (style)
        return OBJECT_STYLE;
    if (preload && as != NULL) {
        size_t n = strlen(as);
        if (ieq(as, n, "image"))
            return OBJECT_IMAGE;
        if (ieq(as, n, "script") || ieq(as, n, "worker") || ieq(as, n, "sharedworker") ||
            ieq(as, n, "serviceworker"))
            return OBJECT_SCRIPT;
        if (ieq(as, n, "style"))
            return OBJECT_STYLE;
        if (ieq(as, n, "font"))
            return OBJECT_FONT;
        if (ieq(as, n, "audio") || ieq(as, n, "video") || ieq(as, n, "track"))
            return OBJECT_MEDIA;
        if (ieq(as, n, "fetch"))
            return OBJECT_OTHER;
        if (ieq(as, n, "embed") || ieq(as, n, "object"))
            return OBJECT_OBJECT;
        if (ieq(as, n, "document"))
            return OBJECT_FRAME;
    }
    if (modpre)
        return OBJECT_SCRIPT;
    if (icon)
        return OBJECT_IMAGE;
    if (prefetch)
        return OBJECT_OTHER;
    return OBJECT_UNKNOWN;
}

static void style_text(const GumboElement *el)
{
    size_t n = 0;
    for (unsigned i = 0; i < el->children.length; i++) {
        const GumboNode *c = el->children.data[i];
        if (c->type == GUMBO_NODE_TEXT || c->type == GUMBO_NODE_WHITESPACE ||
            c->type == GUMBO_NODE_CDATA)
            n += strlen(c->v.text.text);
    }
    char *css = malloc(n + 1);
    if (css == NULL)
        exit(2);
    n = 0;
    for (unsigned i = 0; i < el->children.length; i++) {
        const GumboNode *c = el->children.data[i];
        if (c->type == GUMBO_NODE_TEXT || c->type == GUMBO_NODE_WHITESPACE ||
            c->type == GUMBO_NODE_CDATA) {
            size_t k = strlen(c->v.text.text);
            memcpy(css + n, c->v.text.text, k);
            n += k;
        }
    }
    add_css(css, n, 1);
    free(css);
}

static void visit(const GumboNode *node)
{
    if (node->type == GUMBO_NODE_TEMPLATE)
        return; /* inert contents */
    if (node->type != GUMBO_NODE_ELEMENT && node->type != GUMBO_NODE_DOCUMENT)
        return;
    if (node->type == GUMBO_NODE_ELEMENT) {
        const GumboElement *el = &node->v.element;
        const char *v;
        switch (el->tag) {
        case GUMBO_TAG_IMG:
            add_attr(el, "src", OBJECT_IMAGE);
            add_srcset(el);
            break;
        case GUMBO_TAG_SOURCE:
            add_attr(el, "src", OBJECT_MEDIA);
            add_srcset(el);
            break;
        case GUMBO_TAG_SCRIPT:
            add_attr(el, "src", OBJECT_SCRIPT);
            break;
        case GUMBO_TAG_IFRAME:
        case GUMBO_TAG_FRAME:
            add_attr(el, "src", OBJECT_FRAME);
            break;
        case GUMBO_TAG_EMBED:
            add_attr(el, "src", OBJECT_OBJECT);
            break;
        case GUMBO_TAG_OBJECT:
            add_attr(el, "data", OBJECT_OBJECT);
            break;
        case GUMBO_TAG_VIDEO:
            add_attr(el, "src", OBJECT_MEDIA);
            add_attr(el, "poster", OBJECT_IMAGE);
            break;
        case GUMBO_TAG_AUDIO:
        case GUMBO_TAG_TRACK:
            add_attr(el, "src", OBJECT_MEDIA);
            break;
        case GUMBO_TAG_INPUT:
            v = attr(el, "type");
            if (v != NULL && ieq(v, strlen(v), "image"))
                add_attr(el, "src", OBJECT_IMAGE);
            break;
        case GUMBO_TAG_LINK: {
            enum event_object t = link_type(el);
            if (t != OBJECT_UNKNOWN)
                add_attr(el, "href", t);
            break;
        }
        case GUMBO_TAG_BODY:
        case GUMBO_TAG_TABLE:
        case GUMBO_TAG_THEAD:
        case GUMBO_TAG_TBODY:
        case GUMBO_TAG_TFOOT:
        case GUMBO_TAG_TR:
        case GUMBO_TAG_TD:
        case GUMBO_TAG_TH:
            add_attr(el, "background", OBJECT_IMAGE);
            break;
        case GUMBO_TAG_BASE:
            v = attr(el, "href");
            if (v != NULL && !g_base_seen) {
                g_base_seen = 1;
                if (linkset_base(g_ls, v, strlen(v)) < 0)
                    exit(2);
            }
            break;
        default:
            break;
        }
        v = attr(el, "style");
        if (v != NULL)
            add_css(v, strlen(v), 0);
        if (el->tag == GUMBO_TAG_STYLE)
            style_text(el);
    }
    const GumboVector *kids = node->type == GUMBO_NODE_DOCUMENT ? &node->v.document.children
                                                                : &node->v.element.children;
    for (unsigned i = 0; i < kids->length; i++)
        visit(kids->data[i]);
}

int main(int argc, char **argv)
{
    const char *base = NULL;
    if (argc == 4 && strcmp(argv[1], "--base") == 0) {
        base = argv[2];
        argv += 2;
        argc -= 2;
    }
    if (argc != 2) {
        fputs("usage: gumbo_links [--base URL] FILE\n", stderr);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (f == NULL) {
        perror(argv[1]);
        return 2;
    }
    size_t cap = 1 << 16, n = 0, k;
    char *doc = malloc(cap);
    while (doc != NULL && (k = fread(doc + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            char *d = realloc(doc, cap *= 2);
            if (d == NULL)
                free(doc);
            doc = d;
        }
    }
    fclose(f);
    if (doc == NULL)
        return 2;
    g_ls = linkset_new(base, base ? strlen(base) : 0, stdout);
    if (g_ls == NULL)
        return 2;
    GumboOutput *out = gumbo_parse_with_options(&kGumboDefaultOptions, doc, n);
    visit(out->document);
    gumbo_destroy_output(&kGumboDefaultOptions, out);
    linkset_free(g_ls);
    free(doc);
    return 0;
}
