/* htmlscan.c -- streaming embedded-object scanner (see htmlscan.h).
 *
 * A WHATWG HTML tokenizer reduced to what decides which bytes are markup:
 * data, tags and attributes, comments (with the <!--> and --!> forms), bogus
 * comments, doctype, RAWTEXT/RCDATA elements, script data with its escaped and
 * double-escaped states, plaintext. The tree builder is not implemented; the
 * tokenizer switches that it drives are made on the start tag name alone,
 * which is what it does in HTML content (foreign content is the exception,
 * see docs/SCANNER.md).
 *
 * Every state lives in struct htmlscan, never on the stack, so a chunk may
 * end anywhere. Only the attributes that can carry an object URL (or decide
 * one: rel, as, type) are copied, into a fixed arena; character references
 * are decoded when the tag is complete, which gives the same result as
 * decoding while tokenizing because a reference never includes a byte that
 * ends a value. CSS (style attributes and <style> elements) goes through a
 * small streaming url()/@import scanner.
 *
 * Speed comes from memchr over the long runs (text, quoted values, comments,
 * script and style bodies); the per-byte switch runs only inside markup. */
#include "htmlscan.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "htmlscan_entities.h"

#define NAME_MAX_LEN 16 /* longest tag/attribute name we recognise, plus slack */
/* Values of one tag: room for two full-size URLs (src and srcset) plus the
 * short ones (rel, as, type); a third long value in the same tag is dropped. */
#define ARENA_SIZE (2 * HTMLSCAN_VALUE_MAX + 1024)

enum state {
    ST_DATA,
    ST_TAG_OPEN,
    ST_END_TAG_OPEN,
    ST_TAG_NAME,
    ST_BEFORE_ATTR_NAME,
    ST_ATTR_NAME,
    ST_AFTER_ATTR_NAME,
    ST_BEFORE_ATTR_VALUE,
    ST_ATTR_VALUE_DQ,
    ST_ATTR_VALUE_SQ,
    ST_ATTR_VALUE_UNQ,
    ST_AFTER_ATTR_VALUE_QUOTED,
    ST_SELF_CLOSING,
    ST_MD_OPEN,
    ST_BOGUS_COMMENT,
    ST_DOCTYPE,
    ST_COMMENT_START,
    ST_COMMENT_START_DASH,
    ST_COMMENT,
    ST_COMMENT_END_DASH,
    ST_COMMENT_END,
    ST_COMMENT_END_BANG,
    ST_RAW,          /* RAWTEXT and RCDATA: only the end tag matters */
    ST_RAW_LT,
    ST_END_OPEN,     /* "</" inside RAW/script; returns to s->ret on failure */
    ST_END_NAME,
    ST_SD,           /* script data */
    ST_SD_LT,
    ST_SD_ESC_START,
    ST_SD_ESC_START_DASH,
    ST_SD_ESC,
    ST_SD_ESC_DASH,
    ST_SD_ESC_DASH_DASH,
    ST_SD_ESC_LT,
    ST_SD_DESC_START,
    ST_SD_DESC,
    ST_SD_DESC_DASH,
    ST_SD_DESC_DASH_DASH,
    ST_SD_DESC_LT,
    ST_SD_DESC_END,
    ST_PLAINTEXT,
};

enum tag {
    T_NONE,
    T_IMG,
    T_SOURCE,
    T_SCRIPT,
    T_LINK,
    T_IFRAME,
    T_FRAME,
    T_EMBED,
    T_OBJECT,
    T_VIDEO,
    T_AUDIO,
    T_TRACK,
    T_INPUT,
    T_BODY,
    T_TABLE,
    T_TABLE_PART, /* thead, tbody, tfoot, tr, td, th: only inside a <table> */
    T_BASE,
    T_STYLE,
    T_RAWTEXT,  /* xmp, noembed, noframes (iframe is T_IFRAME) */
    T_RCDATA,   /* title, textarea */
    T_PLAINTEXT,
    T_TEMPLATE,
};

enum attr { A_SRC, A_SRCSET, A_POSTER, A_DATA, A_HREF, A_BACKGROUND, A_STYLE, A_REL, A_AS,
            A_TYPE, A_COUNT };

#define BIT(a) (1u << (a))

/* Attributes worth copying for each tag; style is wanted on every element. */
static const unsigned tag_attrs[] = {
    [T_NONE] = 0,
    [T_IMG] = BIT(A_SRC) | BIT(A_SRCSET),
    [T_SOURCE] = BIT(A_SRC) | BIT(A_SRCSET),
    [T_SCRIPT] = BIT(A_SRC),
    [T_LINK] = BIT(A_HREF) | BIT(A_REL) | BIT(A_AS),
    [T_IFRAME] = BIT(A_SRC),
    [T_FRAME] = BIT(A_SRC),
    [T_EMBED] = BIT(A_SRC),
    [T_OBJECT] = BIT(A_DATA),
    [T_VIDEO] = BIT(A_SRC) | BIT(A_POSTER),
    [T_AUDIO] = BIT(A_SRC),
    [T_TRACK] = BIT(A_SRC),
    [T_INPUT] = BIT(A_SRC) | BIT(A_TYPE),
    [T_BODY] = BIT(A_BACKGROUND),
    [T_TABLE] = BIT(A_BACKGROUND),
    [T_TABLE_PART] = BIT(A_BACKGROUND),
    [T_BASE] = BIT(A_HREF),
    [T_STYLE] = 0,
    [T_RAWTEXT] = 0,
    [T_RCDATA] = 0,
    [T_PLAINTEXT] = 0,
    [T_TEMPLATE] = 0,
};

/* A copied value; valid only while its bit is set in htmlscan.seen, so a new
 * tag resets every slot by clearing one word. */
struct slot {
    uint32_t off, len;
    unsigned char dropped;
};

enum css_state {
    CSS_N,
    CSS_SLASH,
    CSS_COMMENT,
    CSS_COMMENT_STAR,
    CSS_STR,
    CSS_STR_ESC,
    CSS_ESC_SKIP,
    CSS_U,
    CSS_UR,
    CSS_URL,
    CSS_URL_WS,
    CSS_URL_RAW,
    CSS_URL_TAIL,
    CSS_URL_STR,
    CSS_ESC,      /* after '\' inside a url: decoded into the value */
    CSS_ESC_HEX,
    CSS_BADURL,
    CSS_BADURL_ESC,
    CSS_AT,
    CSS_IMPORT_WS,
};

/* Streaming url()/@import scanner over CSS text. */
struct css {
    enum css_state st;
    enum css_state esc_ret; /* CSS_URL_RAW or CSS_URL_STR */
    unsigned char q;        /* quote of the current string */
    unsigned char prev_ident;
    unsigned char import;   /* an @import is waiting for its URL */
    unsigned char in_attr;  /* a style attribute: no @import */
    unsigned char over;
    enum event_object type;
    int m;
    uint32_t cp;
    int hexn;
    size_t n;
    char buf[HTMLSCAN_VALUE_MAX];
};

struct htmlscan {
    htmlscan_cb *cb;
    void *ctx;
    enum state st, ret;
    int m, m2;               /* match counters (markup declaration, end tags) */
    int md;                  /* which declaration MD_OPEN is matching */
    /* current tag */
    unsigned char is_end, tover, aover, self_closing;
    enum tag tag;
    char tname[NAME_MAX_LEN], aname[NAME_MAX_LEN];
    size_t tlen, alen;
    int cur;                 /* enum attr being copied, or -1 */
    unsigned seen;
    struct slot slots[A_COUNT];
    size_t arena_used;
    /* element whose end tag RAW/script states wait for */
    const char *raw_name;
    int raw_len;
    enum tag raw_tag;
    unsigned char raw_css;   /* feed the RAW text to the CSS scanner */
    unsigned char base_seen;
    unsigned tdepth;         /* open <template> elements: inert content */
    unsigned tables;         /* open <table> elements */
    struct htmlscan_stats stats;
    struct css css;
    char arena[ARENA_SIZE];
    char dec[HTMLSCAN_VALUE_MAX];
};

/* ---- small helpers ------------------------------------------------------ */

static int is_alpha(unsigned char c)
{
    return (unsigned char)((c | 0x20) - 'a') < 26;
}

static int is_digit(unsigned char c)
{
    return (unsigned char)(c - '0') < 10;
}

static int is_alnum(unsigned char c)
{
    return is_alpha(c) || is_digit(c);
}

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\n' || c == '\t' || c == '\f' || c == '\r';
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

static int hexval(unsigned char c)
{
    if (is_digit(c))
        return c - '0';
    c |= 0x20;
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* UTF-8 for a code point already checked to be a scalar value. */
static size_t utf8(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static int name_is(const char *name, size_t len, const char *lit)
{
    return strlen(lit) == len && memcmp(name, lit, len) == 0;
}

/* ASCII case-insensitive comparison of a value with a lower-case keyword. */
static int value_is(const char *v, size_t n, const char *kw)
{
    if (strlen(kw) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)v[i]) != (unsigned char)kw[i])
            return 0;
    return 1;
}

/* Tag and attribute names are looked up once per tag or attribute, on every
 * tag of the page. The name buffers are zero-filled when a name starts and
 * the table's names are zero-padded to the same size, so one fixed-size
 * compare (two words, inlined) tests a name; a table per name length keeps it
 * to one or two compares. */
struct name_entry {
    char name[NAME_MAX_LEN];
    int value;
};

static int lookup_name(const struct name_entry *const by_len[], size_t max_len, const char *n,
                       size_t len, int none)
{
    if (len == 0 || len > max_len || by_len[len] == NULL)
        return none;
    for (const struct name_entry *e = by_len[len]; e->name[0] != '\0'; e++)
        if (memcmp(e->name, n, NAME_MAX_LEN) == 0)
            return e->value;
    return none;
}

static enum tag lookup_tag(const char *n, size_t len)
{
    static const struct name_entry l2[] = {
        {"tr", T_TABLE_PART}, {"td", T_TABLE_PART}, {"th", T_TABLE_PART}, {"", 0}};
    static const struct name_entry l3[] = {{"img", T_IMG}, {"xmp", T_RAWTEXT}, {"", 0}};
    static const struct name_entry l4[] = {
        {"link", T_LINK}, {"body", T_BODY}, {"base", T_BASE}, {"", 0}};
    static const struct name_entry l5[] = {
        {"image", T_IMG},        {"frame", T_FRAME},      {"embed", T_EMBED},
        {"video", T_VIDEO},      {"audio", T_AUDIO},      {"track", T_TRACK},
        {"input", T_INPUT},      {"table", T_TABLE},      {"thead", T_TABLE_PART},
        {"tbody", T_TABLE_PART}, {"tfoot", T_TABLE_PART}, {"style", T_STYLE},
        {"title", T_RCDATA},     {"", 0}};
    static const struct name_entry l6[] = {
        {"source", T_SOURCE}, {"script", T_SCRIPT}, {"iframe", T_IFRAME}, {"object", T_OBJECT},
        {"", 0}};
    static const struct name_entry l7[] = {{"noembed", T_RAWTEXT}, {"", 0}};
    static const struct name_entry l8[] = {
        {"noframes", T_RAWTEXT}, {"textarea", T_RCDATA}, {"template", T_TEMPLATE}, {"", 0}};
    static const struct name_entry l9[] = {{"plaintext", T_PLAINTEXT}, {"", 0}};
    static const struct name_entry *const by_len[] = {NULL, NULL, l2, l3, l4, l5, l6, l7, l8, l9};
    return (enum tag)lookup_name(by_len, 9, n, len, T_NONE);
}

static int lookup_attr(const char *n, size_t len)
{
    static const struct name_entry l2[] = {{"as", A_AS}, {"", 0}};
    static const struct name_entry l3[] = {{"src", A_SRC}, {"rel", A_REL}, {"", 0}};
    static const struct name_entry l4[] = {
        {"data", A_DATA}, {"href", A_HREF}, {"type", A_TYPE}, {"", 0}};
    static const struct name_entry l5[] = {{"style", A_STYLE}, {"", 0}};
    static const struct name_entry l6[] = {{"srcset", A_SRCSET}, {"poster", A_POSTER}, {"", 0}};
    static const struct name_entry l10[] = {{"background", A_BACKGROUND}, {"", 0}};
    static const struct name_entry *const by_len[] = {NULL, NULL, l2, l3, l4, l5, l6, NULL, NULL, NULL, l10};
    return lookup_name(by_len, 10, n, len, -1);
}

static void emit_object(struct htmlscan *s, enum event_object type, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && is_ws((unsigned char)p[i]))
        i++;
    if (i == n)
        return;
    s->stats.objects++;
    s->cb(s->ctx, HTMLSCAN_OBJECT, type, p, n);
}

/* ---- CSS ----------------------------------------------------------------- */

/* NUL counts as U+FFFD, a non-ASCII identifier character: the HTML
 * tokenizer replaces it in <style> text and CSS preprocessing does too. */
static int css_ident(unsigned char c)
{
    return is_alnum(c) || c == '-' || c == '_' || c >= 0x80 || c == 0;
}

static const char fffd[] = "\xef\xbf\xbd";

static void css_reset(struct css *c, int in_attr)
{
    c->st = CSS_N;
    c->prev_ident = 0;
    c->import = 0;
    c->in_attr = (unsigned char)in_attr;
    c->n = 0;
    c->over = 0;
}

static void css_append(struct htmlscan *s, const char *p, size_t n)
{
    struct css *c = &s->css;
    if (c->over)
        return;
    if (n > sizeof c->buf - c->n) {
        c->over = 1;
        s->stats.dropped++;
        return;
    }
    memcpy(c->buf + c->n, p, n);
    c->n += n;
}

static void css_url_start(struct css *c)
{
    c->type = c->import ? OBJECT_STYLE : OBJECT_IMAGE;
    c->import = 0;
    c->n = 0;
    c->over = 0;
}

/* A finished url(): reported unless it is only a fragment, which names an
 * element of this document (SVG paint servers, filters) and fetches nothing. */
static void css_url_done(struct htmlscan *s)
{
    struct css *c = &s->css;
    size_t i = 0;
    while (i < c->n && is_ws((unsigned char)c->buf[i]))
        i++;
    if (!c->over && !(i < c->n && c->buf[i] == '#'))
        emit_object(s, c->type, c->buf, c->n);
    c->n = 0;
    c->over = 0;
}

/* A finished \hex escape: CSS Syntax §4.3.7 replaces NUL, surrogates and
 * out-of-range values with U+FFFD. */
static void css_append_cp(struct htmlscan *s, uint32_t cp)
{
    char u[4];
    if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        cp = 0xfffd;
    css_append(s, u, utf8(cp, u));
}

static void css_feed(struct htmlscan *s, const char *p, size_t n)
{
    struct css *c = &s->css;
    const unsigned char *q = (const unsigned char *)p, *end = q + n;
    while (q < end) {
        unsigned char ch = *q;
        switch (c->st) {
        case CSS_N:
            c->import = 0;
            if (ch == '/') {
                c->st = CSS_SLASH;
            } else if (ch == '"' || ch == '\'') {
                c->st = CSS_STR;
                c->q = ch;
            } else if (ch == '\\') {
                c->st = CSS_ESC_SKIP;
            } else if ((ch | 0x20) == 'u' && !c->prev_ident) {
                c->st = CSS_U;
            } else if (ch == '@' && !c->in_attr) {
                c->st = CSS_AT;
                c->m = 0;
            } else {
                c->prev_ident = (unsigned char)css_ident(ch);
            }
            q++;
            break;
        case CSS_SLASH:
            if (ch == '*') {
                c->st = CSS_COMMENT;
                q++;
            } else {
                c->st = CSS_N;
                c->prev_ident = 0;
            }
            break;
        case CSS_COMMENT: {
            const unsigned char *star = memchr(q, '*', (size_t)(end - q));
            if (star == NULL) {
                q = end;
            } else {
                q = star + 1;
                c->st = CSS_COMMENT_STAR;
            }
            break;
        }
        case CSS_COMMENT_STAR:
            if (ch == '/') {
                c->st = CSS_N;
                c->prev_ident = 0;
            } else if (ch != '*') {
                c->st = CSS_COMMENT;
            }
            q++;
            break;
        case CSS_STR:
            if (ch == c->q || ch == '\n') {
                c->st = CSS_N;
                c->prev_ident = 0;
            } else if (ch == '\\') {
                c->st = CSS_STR_ESC;
            }
            q++;
            break;
        case CSS_STR_ESC:
            c->st = CSS_STR;
            q++;
            break;
        case CSS_ESC_SKIP:
            c->st = CSS_N;
            c->prev_ident = 1;
            q++;
            break;
        case CSS_U:
        case CSS_UR:
            if ((ch | 0x20) == (c->st == CSS_U ? 'r' : 'l')) {
                c->st = c->st == CSS_U ? CSS_UR : CSS_URL;
                q++;
            } else {
                c->st = CSS_N;
                c->prev_ident = 1;
            }
            break;
        case CSS_URL:
            if (ch == '(') {
                css_url_start(c);
                c->st = CSS_URL_WS;
                q++;
            } else {
                c->st = CSS_N;
                c->prev_ident = 1;
            }
            break;
        case CSS_URL_WS:
            if (is_ws(ch)) {
                q++;
            } else if (ch == '"' || ch == '\'') {
                c->st = CSS_URL_STR;
                c->q = ch;
                q++;
            } else if (ch == ')') {
                c->st = CSS_N;
                c->prev_ident = 0;
                q++;
            } else {
                c->st = CSS_URL_RAW;
            }
            break;
        case CSS_URL_RAW:
            if (ch == ')') {
                css_url_done(s);
                c->st = CSS_N;
                c->prev_ident = 0;
            } else if (is_ws(ch)) {
                c->st = CSS_URL_TAIL;
            } else if (ch == 0) {
                css_append(s, fffd, 3);
            } else if (ch == '"' || ch == '\'' || ch == '(' || ch < 0x09 || ch == 0x0b ||
                       (ch >= 0x0e && ch < 0x20) || ch == 0x7f) {
                c->st = CSS_BADURL;
            } else if (ch == '\\') {
                c->st = CSS_ESC;
                c->esc_ret = CSS_URL_RAW;
            } else {
                css_append(s, (const char *)q, 1);
            }
            q++;
            break;
        case CSS_URL_TAIL:
            if (ch == ')') {
                css_url_done(s);
                c->st = CSS_N;
                c->prev_ident = 0;
            } else if (!is_ws(ch)) {
                c->st = CSS_BADURL;
            }
            q++;
            break;
        case CSS_URL_STR:
            if (ch == c->q) {
                css_url_done(s);
                c->st = CSS_N;
                c->prev_ident = 0;
            } else if (ch == '\n') { /* bad string: the url() is invalid */
                c->st = CSS_N;
                c->prev_ident = 0;
            } else if (ch == '\\') {
                c->st = CSS_ESC;
                c->esc_ret = CSS_URL_STR;
            } else if (ch == 0) {
                css_append(s, fffd, 3);
            } else {
                css_append(s, (const char *)q, 1);
            }
            q++;
            break;
        case CSS_ESC:
            if (hexval(ch) >= 0) {
                c->cp = (uint32_t)hexval(ch);
                c->hexn = 1;
                c->st = CSS_ESC_HEX;
            } else if (ch == '\n') {
                /* line continuation in a string, invalid in a bare url */
                c->st = c->esc_ret == CSS_URL_STR ? CSS_URL_STR : CSS_BADURL;
            } else {
                if (ch == 0)
                    css_append(s, fffd, 3);
                else
                    css_append(s, (const char *)q, 1);
                c->st = c->esc_ret;
            }
            q++;
            break;
        case CSS_ESC_HEX:
            if (hexval(ch) >= 0 && c->hexn < 6) {
                c->cp = c->cp * 16 + (uint32_t)hexval(ch);
                c->hexn++;
                q++;
            } else {
                css_append_cp(s, c->cp);
                c->st = c->esc_ret;
                if (is_ws(ch))
                    q++; /* one whitespace ends an escape and is part of it */
            }
            break;
        case CSS_BADURL:
            if (ch == ')') {
                c->st = CSS_N;
                c->prev_ident = 0;
            } else if (ch == '\\') {
                c->st = CSS_BADURL_ESC;
            }
            q++;
            break;
        case CSS_BADURL_ESC:
            c->st = CSS_BADURL;
            q++;
            break;
        case CSS_AT:
            if (c->m < 6 && lower(ch) == (unsigned char)"import"[c->m]) {
                c->m++;
                q++;
            } else if (c->m == 6 && !css_ident(ch) && ch != '\\') {
                c->st = CSS_IMPORT_WS;
            } else {
                c->st = CSS_N;
                c->prev_ident = 1;
            }
            break;
        case CSS_IMPORT_WS:
            if (is_ws(ch)) {
                q++;
            } else if (ch == '"' || ch == '\'') {
                c->import = 1;
                css_url_start(c);
                c->st = CSS_URL_STR;
                c->q = ch;
                q++;
            } else if ((ch | 0x20) == 'u') {
                c->st = CSS_U;
                c->import = 1;
                q++;
            } else {
                c->st = CSS_N;
                c->prev_ident = 0;
            }
            break;
        }
    }
}

/* End of a style sheet or style attribute: CSS closes an unterminated url()
 * or string at EOF, so a URL being collected is still a URL. */
static void css_finish(struct htmlscan *s)
{
    struct css *c = &s->css;
    if (c->st == CSS_ESC_HEX) {
        css_append_cp(s, c->cp);
        c->st = c->esc_ret;
    }
    if (c->st == CSS_URL_RAW || c->st == CSS_URL_TAIL || c->st == CSS_URL_STR ||
        (c->st == CSS_ESC && c->esc_ret == CSS_URL_STR))
        css_url_done(s);
    css_reset(c, 0);
}

/* ---- attribute values ---------------------------------------------------- */

static const uint16_t win1252[32] = {
    0x20ac, 0x81,   0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
    0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8d,   0x017d, 0x8f,
    0x90,   0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
    0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x9d,   0x017e, 0x0178,
};

static const struct htmlscan_entity *entity_find(const char *name, size_t len)
{
    size_t lo = 0, hi = sizeof htmlscan_entities / sizeof htmlscan_entities[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const struct htmlscan_entity *e = &htmlscan_entities[mid];
        size_t k = len < e->name_len ? len : e->name_len;
        int c = memcmp(name, e->name, k);
        if (c == 0)
            c = (len > e->name_len) - (len < e->name_len);
        if (c == 0)
            return e;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* Decode character references in raw[0..n) as the tokenizer does inside an
 * attribute value (WHATWG §13.2.5.72-80, including the historical rule that
 * a named reference without ';' followed by '=' or an alphanumeric is left
 * alone). Returns the decoded length, or SIZE_MAX when it exceeds cap. */
static size_t decode_attr(const char *raw, size_t n, char *out, size_t cap)
{
    size_t o = 0, i = 0;
#define OUT(ptr, len)                                                                         \
    do {                                                                                      \
        if ((len) > cap - o)                                                                  \
            return SIZE_MAX;                                                                  \
        memcpy(out + o, (ptr), (len));                                                        \
        o += (len);                                                                           \
    } while (0)
    while (i < n) {
        const char *amp = memchr(raw + i, '&', n - i);
        size_t run = amp ? (size_t)(amp - (raw + i)) : n - i;
        OUT(raw + i, run);
        i += run;
        if (i == n)
            break;
        /* raw[i] == '&' */
        size_t j = i + 1;
        if (j < n && raw[j] == '#') {
            size_t k = j + 1;
            int hex = 0;
            if (k < n && (raw[k] | 0x20) == 'x') {
                hex = 1;
                k++;
            }
            size_t d = k;
            uint32_t cp = 0;
            while (k < n && (hex ? hexval((unsigned char)raw[k]) >= 0 : is_digit((unsigned char)raw[k]))) {
                if (cp <= 0x10ffff)
                    cp = cp * (hex ? 16 : 10) +
                         (uint32_t)(hex ? hexval((unsigned char)raw[k]) : raw[k] - '0');
                k++;
            }
            if (k == d) { /* no digits: not a reference */
                OUT("&", 1);
                i++;
                continue;
            }
            if (k < n && raw[k] == ';')
                k++;
            if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                cp = 0xfffd;
            else if (cp >= 0x80 && cp <= 0x9f)
                cp = win1252[cp - 0x80];
            char u[4];
            size_t un = utf8(cp, u);
            OUT(u, un);
            i = k;
            continue;
        }
        /* named: longest table entry that prefixes the alphanumerics (and ';') */
        size_t k = j;
        while (k < n && k - j < HTMLSCAN_ENTITY_NAME_MAX && is_alnum((unsigned char)raw[k]))
            k++;
        if (k < n && k - j < HTMLSCAN_ENTITY_NAME_MAX && raw[k] == ';')
            k++;
        const struct htmlscan_entity *e = NULL;
        for (size_t len = k - j; len > 0 && e == NULL; len--)
            e = entity_find(raw + j, len);
        if (e != NULL && e->name[e->name_len - 1] != ';') {
            size_t after = j + e->name_len;
            if (after < n && (raw[after] == '=' || is_alnum((unsigned char)raw[after])))
                e = NULL; /* historical: left as written inside attributes */
        }
        if (e == NULL) {
            OUT("&", 1);
            i++;
            continue;
        }
        OUT(e->value, e->value_len);
        i = j + e->name_len;
    }
#undef OUT
    return o;
}

/* The decoded value of slot a, or NULL when absent or dropped. */
static const char *slot_value(struct htmlscan *s, int a, size_t *len)
{
    const struct slot *sl = &s->slots[a];
    if (!(s->seen & BIT(a)) || sl->dropped)
        return NULL;
    const char *raw = s->arena + sl->off;
    if (memchr(raw, '&', sl->len) == NULL) {
        *len = sl->len;
        return raw;
    }
    size_t n = decode_attr(raw, sl->len, s->dec, sizeof s->dec);
    if (n == SIZE_MAX) {
        s->stats.dropped++;
        return NULL;
    }
    *len = n;
    return s->dec;
}

static void report_attr(struct htmlscan *s, int a, enum event_object type)
{
    size_t n;
    const char *v = slot_value(s, a, &n);
    if (v != NULL)
        emit_object(s, type, v, n);
}

/* WHATWG "parse a srcset attribute", reporting each candidate URL whatever
 * its descriptors: which one a browser picks depends on the screen. */
static void report_srcset(struct htmlscan *s, enum event_object type)
{
    size_t n;
    const char *v = slot_value(s, A_SRCSET, &n);
    if (v == NULL)
        return;
    size_t i = 0;
    while (i < n) {
        while (i < n && (is_ws((unsigned char)v[i]) || v[i] == ','))
            i++;
        if (i == n)
            break;
        size_t start = i;
        while (i < n && !is_ws((unsigned char)v[i]))
            i++;
        size_t end = i;
        if (v[end - 1] == ',') {
            while (end > start && v[end - 1] == ',')
                end--;
        } else {
            int paren = 0;
            while (i < n && (paren || v[i] != ',')) {
                if (v[i] == '(')
                    paren = 1;
                else if (v[i] == ')')
                    paren = 0;
                i++;
            }
            if (i < n)
                i++; /* the ',' */
        }
        if (end > start)
            emit_object(s, type, v + start, end - start);
    }
}

/* Object type of a <link>, from its rel tokens (and `as` for preload), or
 * OBJECT_UNKNOWN when the link fetches nothing a page needs. */
static enum event_object link_type(struct htmlscan *s)
{
    size_t n, an = 0;
    const char *rel = slot_value(s, A_REL, &n);
    if (rel == NULL)
        return OBJECT_UNKNOWN;
    int style = 0, preload = 0, modpre = 0, icon = 0, prefetch = 0;
    for (size_t i = 0; i < n;) {
        while (i < n && is_ws((unsigned char)rel[i]))
            i++;
        size_t st = i;
        while (i < n && !is_ws((unsigned char)rel[i]))
            i++;
        const char *t = rel + st;
        size_t tn = i - st;
        style |= value_is(t, tn, "stylesheet");
        preload |= value_is(t, tn, "preload");
        modpre |= value_is(t, tn, "modulepreload");
        icon |= value_is(t, tn, "icon") || value_is(t, tn, "apple-touch-icon") ||
                value_is(t, tn, "apple-touch-icon-precomposed") || value_is(t, tn, "mask-icon");
        prefetch |= value_is(t, tn, "prefetch");
    }
    if (style)
        return OBJECT_STYLE;
    if (preload) {
        /* rel's tokens are read; s->dec may now be reused for `as` */
        static const struct {
            const char *as;
            enum event_object type;
        } dest[] = {
            {"image", OBJECT_IMAGE}, {"script", OBJECT_SCRIPT}, {"style", OBJECT_STYLE},
            {"font", OBJECT_FONT},   {"audio", OBJECT_MEDIA},   {"video", OBJECT_MEDIA},
            {"track", OBJECT_MEDIA}, {"fetch", OBJECT_OTHER},   {"worker", OBJECT_SCRIPT},
            {"sharedworker", OBJECT_SCRIPT}, {"serviceworker", OBJECT_SCRIPT},
            {"embed", OBJECT_OBJECT}, {"object", OBJECT_OBJECT}, {"document", OBJECT_FRAME},
        };
        const char *as = slot_value(s, A_AS, &an);
        if (as != NULL)
            for (size_t i = 0; i < sizeof dest / sizeof dest[0]; i++)
                if (value_is(as, an, dest[i].as))
                    return dest[i].type;
        if (!modpre && !icon && !prefetch)
            return OBJECT_UNKNOWN;
    }
    if (modpre)
        return OBJECT_SCRIPT;
    if (icon)
        return OBJECT_IMAGE;
    if (prefetch)
        return OBJECT_OTHER;
    return OBJECT_UNKNOWN;
}

/* A complete start tag: report its objects in the documented order. */
static void report_tag(struct htmlscan *s)
{
    size_t n;
    const char *v;
    if (s->tdepth > 0)
        return; /* template contents are inert: nothing is fetched */
    switch (s->tag) {
    case T_IMG:
        report_attr(s, A_SRC, OBJECT_IMAGE);
        report_srcset(s, OBJECT_IMAGE);
        break;
    case T_SOURCE:
        report_attr(s, A_SRC, OBJECT_MEDIA);
        report_srcset(s, OBJECT_IMAGE);
        break;
    case T_SCRIPT:
        report_attr(s, A_SRC, OBJECT_SCRIPT);
        break;
    case T_IFRAME:
    case T_FRAME:
        report_attr(s, A_SRC, OBJECT_FRAME);
        break;
    case T_EMBED:
        report_attr(s, A_SRC, OBJECT_OBJECT);
        break;
    case T_OBJECT:
        report_attr(s, A_DATA, OBJECT_OBJECT);
        break;
    case T_VIDEO:
        report_attr(s, A_SRC, OBJECT_MEDIA);
        report_attr(s, A_POSTER, OBJECT_IMAGE);
        break;
    case T_AUDIO:
    case T_TRACK:
        report_attr(s, A_SRC, OBJECT_MEDIA);
        break;
    case T_INPUT:
        v = slot_value(s, A_TYPE, &n);
        if (v != NULL && value_is(v, n, "image"))
            report_attr(s, A_SRC, OBJECT_IMAGE);
        break;
    case T_LINK: {
        enum event_object t = link_type(s);
        if (t != OBJECT_UNKNOWN)
            report_attr(s, A_HREF, t);
        break;
    }
    case T_TABLE_PART:
        /* outside a table the tree builder drops these start tags */
        if (s->tables > 0)
            report_attr(s, A_BACKGROUND, OBJECT_IMAGE);
        break;
    case T_BODY:
    case T_TABLE:
        report_attr(s, A_BACKGROUND, OBJECT_IMAGE);
        break;
    case T_BASE:
        if (!s->base_seen && (s->seen & BIT(A_HREF))) {
            s->base_seen = 1;
            v = slot_value(s, A_HREF, &n);
            if (v != NULL)
                s->cb(s->ctx, HTMLSCAN_BASE, OBJECT_UNKNOWN, v, n);
        }
        break;
    default:
        break;
    }
    v = slot_value(s, A_STYLE, &n);
    if (v != NULL) {
        css_reset(&s->css, 1);
        css_feed(s, v, n);
        css_finish(s);
    }
}

/* ---- tokenizer ------------------------------------------------------------ */

static void tag_begin(struct htmlscan *s, int is_end)
{
    s->is_end = (unsigned char)is_end;
    memset(s->tname, 0, sizeof s->tname); /* lookup_name compares the whole buffer */
    s->tlen = 0;
    s->tover = 0;
    s->tag = T_NONE;
    s->seen = 0;
    s->cur = -1;
    s->arena_used = 0;
}

static void name_add(char *buf, size_t *len, unsigned char *over, unsigned char c)
{
    if (*len < NAME_MAX_LEN)
        buf[(*len)++] = (char)(c ? lower(c) : 0xff); /* NUL (U+FFFD) matches nothing */
    else
        *over = 1;
}

static void tag_name_done(struct htmlscan *s)
{
    s->tag = s->tover ? T_NONE : lookup_tag(s->tname, s->tlen);
}

static void attr_begin(struct htmlscan *s)
{
    memset(s->aname, 0, sizeof s->aname);
    s->alen = 0;
    s->aover = 0;
    s->cur = -1;
}

/* Leaving the attribute name state: WHATWG drops a duplicate attribute here,
 * so only the first of a name is copied. */
static void attr_name_done(struct htmlscan *s)
{
    s->cur = -1;
    if (s->is_end || s->aover || s->alen == 0)
        return;
    int a = lookup_attr(s->aname, s->alen);
    if (a < 0)
        return;
    if (!((tag_attrs[s->tag] | BIT(A_STYLE)) & BIT(a)) || (s->seen & BIT(a)))
        return;
    s->seen |= BIT(a);
    s->slots[a].dropped = 0;
    s->slots[a].off = (uint32_t)s->arena_used;
    s->slots[a].len = 0;
    s->cur = a;
}

/* Copy value bytes of the current attribute; NUL becomes U+FFFD as the
 * tokenizer says. Over the cap, the value is dropped, counted once. */
static void value_add(struct htmlscan *s, const char *p, size_t n)
{
    if (s->cur < 0)
        return;
    struct slot *sl = &s->slots[s->cur];
    if (sl->dropped)
        return;
    while (n > 0) {
        const char *nul = memchr(p, '\0', n);
        size_t run = nul ? (size_t)(nul - p) : n;
        size_t add = run + (nul ? 3 : 0);
        if (add > HTMLSCAN_VALUE_MAX - sl->len || add > ARENA_SIZE - s->arena_used) {
            sl->dropped = 1;
            s->stats.dropped++;
            return;
        }
        memcpy(s->arena + s->arena_used, p, run);
        s->arena_used += run;
        if (nul) {
            memcpy(s->arena + s->arena_used, "\xef\xbf\xbd", 3);
            s->arena_used += 3;
            run++;
        }
        sl->len += (uint32_t)add;
        p += run;
        n -= run;
    }
}

static void enter_raw(struct htmlscan *s, enum state st, const char *name)
{
    s->st = st;
    s->raw_name = name;
    s->raw_len = (int)strlen(name);
    s->raw_tag = s->tag;
}

/* '>' of a tag: act on it and pick the tokenizer state the tree builder
 * would choose for this element. */
static void tag_emit(struct htmlscan *s)
{
    s->st = ST_DATA;
    s->cur = -1;
    if (s->is_end) {
        if (s->tag == T_TEMPLATE && s->tdepth > 0)
            s->tdepth--;
        else if (s->tag == T_TABLE && s->tables > 0)
            s->tables--;
        return;
    }
    report_tag(s);
    switch (s->tag) {
    case T_SCRIPT:
        enter_raw(s, ST_SD, "script");
        break;
    case T_STYLE:
        enter_raw(s, ST_RAW, "style");
        css_reset(&s->css, 0);
        s->raw_css = s->tdepth == 0;
        break;
    case T_IFRAME:
        enter_raw(s, ST_RAW, "iframe");
        break;
    case T_RAWTEXT:
    case T_RCDATA:
        /* the name is the one just read: xmp, noembed, noframes, title, textarea */
        if (name_is(s->tname, s->tlen, "xmp"))
            enter_raw(s, ST_RAW, "xmp");
        else if (name_is(s->tname, s->tlen, "noembed"))
            enter_raw(s, ST_RAW, "noembed");
        else if (name_is(s->tname, s->tlen, "noframes"))
            enter_raw(s, ST_RAW, "noframes");
        else if (name_is(s->tname, s->tlen, "title"))
            enter_raw(s, ST_RAW, "title");
        else
            enter_raw(s, ST_RAW, "textarea");
        break;
    case T_PLAINTEXT:
        s->st = ST_PLAINTEXT;
        break;
    case T_TEMPLATE:
        s->tdepth++;
        break;
    case T_TABLE:
        s->tables++;
        break;
    default:
        break;
    }
}

/* Text of a failed end-tag match inside <style> is CSS after all. */
static void raw_flush(struct htmlscan *s, int with_slash, int matched)
{
    if (!s->raw_css)
        return;
    css_feed(s, with_slash ? "</" : "<", with_slash ? 2 : 1);
    if (matched > 0)
        css_feed(s, s->raw_name, (size_t)matched);
}

/* The tag states, from the tag name to the '>' (WHATWG 13.2.5.8 to 13.2.5.40,
 * less the character-reference detour, see the file comment). They are most
 * of the markup of a page, so they run here as labels joined by direct jumps:
 * one indirect jump per tag (the resume switch) instead of one per state
 * change in htmlscan_feed's switch, whose mispredictions were the scanner's
 * main cost on tag-dense pages. Runs from s->st, which must be one of these
 * states, and returns where it stopped: at end with s->st saved for the next
 * chunk, or just past the '>' with s->st set by tag_emit. */
static const unsigned char *scan_tag(struct htmlscan *s, const unsigned char *c,
                                     const unsigned char *end)
{
    unsigned char ch;
/* the next byte in ch, or save the state and return at the end of the chunk */
#define NEXT_OR_SAVE(state)                                                                        \
    do {                                                                                           \
        if (c == end) {                                                                            \
            s->st = (state);                                                                       \
            return c;                                                                              \
        }                                                                                          \
        ch = *c;                                                                                   \
    } while (0)
/* skip whitespace from ch on, saving the state at the end of the chunk */
#define SKIP_WS_OR_SAVE(state)                                                                     \
    do {                                                                                           \
        NEXT_OR_SAVE(state);                                                                       \
        while (is_ws(ch)) {                                                                        \
            c++;                                                                                   \
            NEXT_OR_SAVE(state);                                                                   \
        }                                                                                          \
    } while (0)
    switch (s->st) {
    case ST_TAG_NAME:
        goto tag_name;
    case ST_BEFORE_ATTR_NAME:
        goto before_attr_name;
    case ST_ATTR_NAME:
        goto attr_name;
    case ST_AFTER_ATTR_NAME:
        goto after_attr_name;
    case ST_BEFORE_ATTR_VALUE:
        goto before_attr_value;
    case ST_ATTR_VALUE_DQ:
        goto value_dq;
    case ST_ATTR_VALUE_SQ:
        goto value_sq;
    case ST_ATTR_VALUE_UNQ:
        goto value_unq;
    case ST_AFTER_ATTR_VALUE_QUOTED:
        goto after_value_quoted;
    case ST_SELF_CLOSING:
        goto self_closing;
    default:
        return c;
    }

tag_name:
    NEXT_OR_SAVE(ST_TAG_NAME);
    while (!is_ws(ch) && ch != '/' && ch != '>') {
        name_add(s->tname, &s->tlen, &s->tover, ch);
        c++;
        NEXT_OR_SAVE(ST_TAG_NAME);
    }
    tag_name_done(s);
    c++;
    if (is_ws(ch))
        goto before_attr_name;
    if (ch == '/')
        goto self_closing;
    goto emit;

before_attr_name:
    SKIP_WS_OR_SAVE(ST_BEFORE_ATTR_NAME);
    if (ch == '/' || ch == '>')
        goto after_attr_name;
    attr_begin(s);
    if (ch == '=') {
        name_add(s->aname, &s->alen, &s->aover, ch);
        c++;
    }
    goto attr_name;

attr_name:
    NEXT_OR_SAVE(ST_ATTR_NAME);
    while (!is_ws(ch) && ch != '/' && ch != '>' && ch != '=') {
        name_add(s->aname, &s->alen, &s->aover, ch);
        c++;
        NEXT_OR_SAVE(ST_ATTR_NAME);
    }
    attr_name_done(s);
    if (ch == '=') {
        c++;
        goto before_attr_value;
    }
    goto after_attr_name;

after_attr_name:
    SKIP_WS_OR_SAVE(ST_AFTER_ATTR_NAME);
    if (ch == '/') {
        c++;
        goto self_closing;
    }
    if (ch == '=') {
        c++;
        goto before_attr_value;
    }
    if (ch == '>') {
        c++;
        goto emit;
    }
    attr_begin(s);
    goto attr_name;

before_attr_value:
    SKIP_WS_OR_SAVE(ST_BEFORE_ATTR_VALUE);
    if (ch == '"') {
        c++;
        goto value_dq;
    }
    if (ch == '\'') {
        c++;
        goto value_sq;
    }
    if (ch == '>') {
        c++;
        goto emit;
    }
    goto value_unq;

value_dq:
    ch = '"';
    goto value_quoted;
value_sq:
    ch = '\'';
value_quoted: {
    const unsigned char *qt = memchr(c, ch, (size_t)(end - c));
    const unsigned char *stop = qt ? qt : end;
    value_add(s, (const char *)c, (size_t)(stop - c));
    if (qt == NULL) {
        s->st = ch == '"' ? ST_ATTR_VALUE_DQ : ST_ATTR_VALUE_SQ;
        return end;
    }
    s->cur = -1;
    c = qt + 1;
    goto after_value_quoted;
}

value_unq: {
    const unsigned char *st = c;
    while (c < end && !is_ws(*c) && *c != '>')
        c++;
    value_add(s, (const char *)st, (size_t)(c - st));
    if (c == end) {
        s->st = ST_ATTR_VALUE_UNQ;
        return c;
    }
    s->cur = -1;
    if (*c++ == '>')
        goto emit;
    goto before_attr_name;
}

after_value_quoted:
    NEXT_OR_SAVE(ST_AFTER_ATTR_VALUE_QUOTED);
    if (is_ws(ch)) {
        c++;
        goto before_attr_name;
    }
    if (ch == '/') {
        c++;
        goto self_closing;
    }
    if (ch == '>') {
        c++;
        goto emit;
    }
    goto before_attr_name;

self_closing:
    NEXT_OR_SAVE(ST_SELF_CLOSING);
    if (ch == '>') {
        c++;
        goto emit;
    }
    goto before_attr_name;

emit:
    tag_emit(s);
    return c;
#undef SKIP_WS_OR_SAVE
#undef NEXT_OR_SAVE
}

void htmlscan_feed(struct htmlscan *s, const char *p, size_t n)
{
    const unsigned char *c = (const unsigned char *)p, *end = c + n;
    s->stats.bytes += n;
    while (c < end) {
        unsigned char ch = *c;
        switch (s->st) {
        case ST_DATA:
            /* text and ordinary tags, one after the other, without leaving
             * this loop: the common "<name" and "</name" go straight to
             * scan_tag, anything else through ST_TAG_OPEN */
            do {
                const unsigned char *lt = memchr(c, '<', (size_t)(end - c));
                if (lt == NULL) {
                    c = end;
                    break;
                }
                c = lt + 1;
                s->st = ST_TAG_OPEN;
                if (c < end && is_alpha(*c)) {
                    tag_begin(s, 0);
                } else if (end - c >= 2 && *c == '/' && is_alpha(c[1])) {
                    c++;
                    tag_begin(s, 1);
                } else {
                    break;
                }
                s->st = ST_TAG_NAME;
                c = scan_tag(s, c, end);
            } while (s->st == ST_DATA && c < end);
            break;
        case ST_TAG_OPEN:
            if (ch == '!') {
                s->st = ST_MD_OPEN;
                s->m = 0;
                c++;
            } else if (ch == '/') {
                s->st = ST_END_TAG_OPEN;
                c++;
            } else if (is_alpha(ch)) {
                tag_begin(s, 0);
                s->st = ST_TAG_NAME;
            } else if (ch == '?') {
                s->st = ST_BOGUS_COMMENT;
            } else {
                s->st = ST_DATA;
            }
            break;
        case ST_END_TAG_OPEN:
            if (is_alpha(ch)) {
                tag_begin(s, 1);
                s->st = ST_TAG_NAME;
            } else if (ch == '>') {
                s->st = ST_DATA;
                c++;
            } else {
                s->st = ST_BOGUS_COMMENT;
            }
            break;
        case ST_TAG_NAME:
        case ST_BEFORE_ATTR_NAME:
        case ST_ATTR_NAME:
        case ST_AFTER_ATTR_NAME:
        case ST_BEFORE_ATTR_VALUE:
        case ST_ATTR_VALUE_DQ:
        case ST_ATTR_VALUE_SQ:
        case ST_ATTR_VALUE_UNQ:
        case ST_AFTER_ATTR_VALUE_QUOTED:
        case ST_SELF_CLOSING:
            c = scan_tag(s, c, end);
            break;
        case ST_MD_OPEN: {
            /* "<!" then "--", "DOCTYPE" (any case) or "[CDATA[" (exact) */
            static const char *const target[] = {"", "--", "doctype", "[CDATA["};
            if (s->m == 0) {
                s->md = ch == '-' ? 1 : lower(ch) == 'd' ? 2 : ch == '[' ? 3 : 0;
                if (s->md == 0) {
                    s->st = ST_BOGUS_COMMENT;
                    break;
                }
                s->m = 1;
                c++;
                break;
            }
            unsigned char want = (unsigned char)target[s->md][s->m];
            if ((s->md == 2 ? lower(ch) : ch) != want) {
                s->st = ST_BOGUS_COMMENT; /* consumed bytes hold no '>' */
                break;
            }
            c++;
            if (target[s->md][++s->m] == '\0')
                s->st = s->md == 1 ? ST_COMMENT_START : s->md == 2 ? ST_DOCTYPE : ST_BOGUS_COMMENT;
            break;
        }
        case ST_BOGUS_COMMENT:
        case ST_DOCTYPE: {
            const unsigned char *gt = memchr(c, '>', (size_t)(end - c));
            if (gt == NULL) {
                c = end;
            } else {
                c = gt + 1;
                s->st = ST_DATA;
            }
            break;
        }
        case ST_COMMENT_START:
            if (ch == '-') {
                s->st = ST_COMMENT_START_DASH;
                c++;
            } else if (ch == '>') {
                s->st = ST_DATA;
                c++;
            } else {
                s->st = ST_COMMENT;
            }
            break;
        case ST_COMMENT_START_DASH:
            if (ch == '-') {
                s->st = ST_COMMENT_END;
                c++;
            } else if (ch == '>') {
                s->st = ST_DATA;
                c++;
            } else {
                s->st = ST_COMMENT;
            }
            break;
        case ST_COMMENT: {
            const unsigned char *d = memchr(c, '-', (size_t)(end - c));
            if (d == NULL) {
                c = end;
            } else {
                c = d + 1;
                s->st = ST_COMMENT_END_DASH;
            }
            break;
        }
        case ST_COMMENT_END_DASH:
            if (ch == '-') {
                s->st = ST_COMMENT_END;
                c++;
            } else {
                s->st = ST_COMMENT;
            }
            break;
        case ST_COMMENT_END:
            if (ch == '>') {
                s->st = ST_DATA;
                c++;
            } else if (ch == '!') {
                s->st = ST_COMMENT_END_BANG;
                c++;
            } else if (ch == '-') {
                c++;
            } else {
                s->st = ST_COMMENT;
            }
            break;
        case ST_COMMENT_END_BANG:
            if (ch == '-') {
                s->st = ST_COMMENT_END_DASH;
                c++;
            } else if (ch == '>') {
                s->st = ST_DATA;
                c++;
            } else {
                s->st = ST_COMMENT;
            }
            break;
        case ST_RAW: {
            const unsigned char *lt = memchr(c, '<', (size_t)(end - c));
            const unsigned char *stop = lt ? lt : end;
            if (s->raw_css)
                css_feed(s, (const char *)c, (size_t)(stop - c));
            c = stop;
            if (lt != NULL) {
                s->st = ST_RAW_LT;
                c++;
            }
            break;
        }
        case ST_RAW_LT:
            if (ch == '/') {
                s->st = ST_END_OPEN;
                s->ret = ST_RAW;
                c++;
            } else {
                raw_flush(s, 0, 0);
                s->st = ST_RAW;
            }
            break;
        case ST_END_OPEN:
            if (is_alpha(ch)) {
                s->m = 0;
                s->st = ST_END_NAME;
            } else {
                if (s->ret == ST_RAW)
                    raw_flush(s, 1, 0);
                s->st = s->ret;
            }
            break;
        case ST_END_NAME:
            if (is_alpha(ch) && s->m < s->raw_len && lower(ch) == (unsigned char)s->raw_name[s->m]) {
                s->m++;
                c++;
            } else if (s->m == s->raw_len && (is_ws(ch) || ch == '/' || ch == '>')) {
                /* the appropriate end tag: back to markup */
                if (s->raw_css)
                    css_finish(s);
                s->raw_css = 0;
                tag_begin(s, 1);
                s->tag = s->raw_tag;
                c++;
                if (ch == '>')
                    tag_emit(s);
                else
                    s->st = ch == '/' ? ST_SELF_CLOSING : ST_BEFORE_ATTR_NAME;
            } else {
                if (s->ret == ST_RAW)
                    raw_flush(s, 1, s->m);
                s->st = s->ret;
            }
            break;
        case ST_SD: {
            const unsigned char *lt = memchr(c, '<', (size_t)(end - c));
            if (lt == NULL) {
                c = end;
            } else {
                c = lt + 1;
                s->st = ST_SD_LT;
            }
            break;
        }
        case ST_SD_LT:
            if (ch == '/') {
                s->st = ST_END_OPEN;
                s->ret = ST_SD;
                c++;
            } else if (ch == '!') {
                s->st = ST_SD_ESC_START;
                c++;
            } else {
                s->st = ST_SD;
            }
            break;
        case ST_SD_ESC_START:
        case ST_SD_ESC_START_DASH:
            if (ch == '-') {
                s->st = s->st == ST_SD_ESC_START ? ST_SD_ESC_START_DASH : ST_SD_ESC_DASH_DASH;
                c++;
            } else {
                s->st = ST_SD;
            }
            break;
        case ST_SD_ESC:
            while (c < end && *c != '-' && *c != '<')
                c++;
            if (c < end) {
                s->st = *c == '-' ? ST_SD_ESC_DASH : ST_SD_ESC_LT;
                c++;
            }
            break;
        case ST_SD_ESC_DASH:
            s->st = ch == '-' ? ST_SD_ESC_DASH_DASH : ch == '<' ? ST_SD_ESC_LT : ST_SD_ESC;
            c++;
            break;
        case ST_SD_ESC_DASH_DASH:
            s->st = ch == '-'   ? ST_SD_ESC_DASH_DASH
                    : ch == '<' ? ST_SD_ESC_LT
                    : ch == '>' ? ST_SD
                                : ST_SD_ESC;
            c++;
            break;
        case ST_SD_ESC_LT:
            if (ch == '/') {
                s->st = ST_END_OPEN;
                s->ret = ST_SD_ESC;
                c++;
            } else if (is_alpha(ch)) {
                s->m2 = 0;
                s->st = ST_SD_DESC_START;
            } else {
                s->st = ST_SD_ESC;
            }
            break;
        case ST_SD_DESC_START:
        case ST_SD_DESC_END: {
            /* temporary buffer == "script"? m2 counts matched letters, -1 once off */
            int start = s->st == ST_SD_DESC_START;
            if (is_ws(ch) || ch == '/' || ch == '>') {
                if (s->m2 == 6)
                    s->st = start ? ST_SD_DESC : ST_SD_ESC;
                else
                    s->st = start ? ST_SD_ESC : ST_SD_DESC;
                c++;
            } else if (is_alpha(ch)) {
                if (s->m2 >= 0 && s->m2 < 6 && lower(ch) == (unsigned char)"script"[s->m2])
                    s->m2++;
                else
                    s->m2 = -1;
                c++;
            } else {
                s->st = start ? ST_SD_ESC : ST_SD_DESC;
            }
            break;
        }
        case ST_SD_DESC:
            while (c < end && *c != '-' && *c != '<')
                c++;
            if (c < end) {
                s->st = *c == '-' ? ST_SD_DESC_DASH : ST_SD_DESC_LT;
                c++;
            }
            break;
        case ST_SD_DESC_DASH:
            s->st = ch == '-' ? ST_SD_DESC_DASH_DASH : ch == '<' ? ST_SD_DESC_LT : ST_SD_DESC;
            c++;
            break;
        case ST_SD_DESC_DASH_DASH:
            s->st = ch == '-'   ? ST_SD_DESC_DASH_DASH
                    : ch == '<' ? ST_SD_DESC_LT
                    : ch == '>' ? ST_SD
                                : ST_SD_DESC;
            c++;
            break;
        case ST_SD_DESC_LT:
            if (ch == '/') {
                s->m2 = 0;
                s->st = ST_SD_DESC_END;
                c++;
            } else {
                s->st = ST_SD_DESC;
            }
            break;
        case ST_PLAINTEXT:
            c = end;
            break;
        }
    }
}

void htmlscan_finish(struct htmlscan *s)
{
    /* An open tag is dropped (eof-in-tag); an open <style> ends its sheet. */
    if (s->raw_css && (s->st == ST_RAW || s->st == ST_RAW_LT || s->st == ST_END_OPEN ||
                       s->st == ST_END_NAME)) {
        if (s->st == ST_RAW_LT)
            raw_flush(s, 0, 0);
        else if (s->st != ST_RAW)
            raw_flush(s, 1, s->st == ST_END_NAME ? s->m : 0);
        css_finish(s);
    }
    s->raw_css = 0;
    s->st = ST_PLAINTEXT; /* anything fed after the end is ignored */
}

void htmlscan_reset(struct htmlscan *s)
{
    htmlscan_cb *cb = s->cb;
    void *ctx = s->ctx;
    memset(s, 0, offsetof(struct htmlscan, css));
    css_reset(&s->css, 0);
    s->cb = cb;
    s->ctx = ctx;
    s->st = ST_DATA;
    s->cur = -1;
}

struct htmlscan *htmlscan_new(htmlscan_cb *cb, void *ctx)
{
    struct htmlscan *s = malloc(sizeof *s);
    if (s == NULL)
        return NULL;
    s->cb = cb;
    s->ctx = ctx;
    htmlscan_reset(s);
    return s;
}

void htmlscan_get_stats(const struct htmlscan *s, struct htmlscan_stats *out)
{
    *out = s->stats;
}

void htmlscan_free(struct htmlscan *s)
{
    free(s);
}

size_t htmlscan_size(void)
{
    return sizeof(struct htmlscan);
}
