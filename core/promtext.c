/* promtext.c -- Prometheus text exposition format writer and the /proc stat
 * parsers behind process_* metrics (see promtext.h for why by hand).
 *
 * The format (prometheus.io/docs/instrumenting/exposition_formats): label
 * values escape `\` `"` and newline; HELP text escapes `\` and newline;
 * values are Go floats. Everything else is printed as is. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promtext.h"

void promtext_init(struct promtext *t)
{
    memset(t, 0, sizeof *t);
}

void promtext_free(struct promtext *t)
{
    free(t->buf);
    memset(t, 0, sizeof *t);
}

/* Make room for n more bytes plus a NUL. Returns 0, -1 (t->failed). */
static int reserve(struct promtext *t, size_t n)
{
    if (t->failed)
        return -1;
    if (n > SIZE_MAX / 2 - t->len) {
        t->failed = true;
        return -1;
    }
    if (t->len + n + 1 <= t->cap)
        return 0;
    size_t cap = t->cap ? t->cap : 4096;
    while (cap < t->len + n + 1)
        cap *= 2;
    char *b = realloc(t->buf, cap);
    if (b == NULL) {
        t->failed = true;
        return -1;
    }
    t->buf = b;
    t->cap = cap;
    return 0;
}

void promtext_raw(struct promtext *t, const char *p, size_t n)
{
    if (reserve(t, n) != 0)
        return;
    memcpy(t->buf + t->len, p, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static void raw_str(struct promtext *t, const char *s)
{
    promtext_raw(t, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at p[0..n), 0 when invalid (overlong,
 * surrogate, beyond U+10FFFF, cut short). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t l;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        l = 2;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        l = 3;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        l = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < l)
        return 0;
    unsigned cp = c & (0xff >> (l + 1));
    for (size_t i = 1; i < l; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return l;
}

void promtext_label_value(struct promtext *t, const char *v, size_t n)
{
    const unsigned char *p = (const unsigned char *)v;
    size_t i = 0, run = 0; /* run: bytes at p[i-run..i) still to copy */
    while (i < n) {
        const char *esc = NULL;
        if (p[i] == '\\')
            esc = "\\\\";
        else if (p[i] == '"')
            esc = "\\\"";
        else if (p[i] == '\n')
            esc = "\\n";
        size_t l = esc ? 1 : utf8_len(p + i, n - i);
        if (esc == NULL && l > 0) {
            i += l;
            run += l;
            continue;
        }
        promtext_raw(t, (const char *)p + i - run, run);
        run = 0;
        if (esc != NULL)
            raw_str(t, esc);
        else
            raw_str(t, "\xef\xbf\xbd"); /* U+FFFD for one bad byte */
        i++;
    }
    promtext_raw(t, (const char *)p + i - run, run);
}

void promtext_family(struct promtext *t, const char *name, const char *type, const char *help)
{
    raw_str(t, "# HELP ");
    raw_str(t, name);
    raw_str(t, " ");
    for (const char *h = help; *h; h++) {
        if (*h == '\\')
            raw_str(t, "\\\\");
        else if (*h == '\n')
            raw_str(t, "\\n");
        else
            promtext_raw(t, h, 1);
    }
    raw_str(t, "\n# TYPE ");
    raw_str(t, name);
    raw_str(t, " ");
    raw_str(t, type);
    raw_str(t, "\n");
}

void promtext_number(double v, char out[32])
{
    if (isnan(v))
        snprintf(out, 32, "NaN");
    else if (isinf(v))
        snprintf(out, 32, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) <= 9007199254740992.0)
        snprintf(out, 32, "%.0f", v);
    else {
        /* The shortest of %.15g..%.17g that reads back as v: 0.03, not
         * 0.029999999999999999. */
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(out, 32, "%.*g", prec, v);
            if (strtod(out, NULL) == v)
                break;
        }
    }
}

void promtext_sample(struct promtext *t, const char *name, const char *const *keys,
                     const char *const *vals, size_t nlabels, double value)
{
    raw_str(t, name);
    if (nlabels > 0) {
        raw_str(t, "{");
        for (size_t i = 0; i < nlabels; i++) {
            if (i > 0)
                raw_str(t, ",");
            raw_str(t, keys[i]);
            raw_str(t, "=\"");
            promtext_label_value(t, vals[i], strlen(vals[i]));
            raw_str(t, "\"");
        }
        raw_str(t, "}");
    }
    char num[32];
    promtext_number(value, num);
    raw_str(t, " ");
    raw_str(t, num);
    raw_str(t, "\n");
}

/* Parse an unsigned decimal field at p[*i..n), then skip one space. */
static int field_u(const char *p, size_t n, size_t *i, unsigned long long *out)
{
    size_t j = *i;
    unsigned long long v = 0;
    if (j >= n || p[j] < '0' || p[j] > '9')
        return -1;
    while (j < n && p[j] >= '0' && p[j] <= '9') {
        unsigned d = (unsigned)(p[j] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
        j++;
    }
    if (j < n && p[j] != ' ' && p[j] != '\n')
        return -1;
    if (j < n)
        j++;
    *i = j;
    *out = v;
    return 0;
}

/* Skip one space-separated field of any content. */
static int field_skip(const char *p, size_t n, size_t *i)
{
    size_t j = *i;
    if (j >= n)
        return -1;
    while (j < n && p[j] != ' ')
        j++;
    if (j < n)
        j++;
    *i = j;
    return 0;
}

int promtext_parse_procstat(const char *p, size_t n, struct promtext_procstat *out)
{
    /* Field 2 is "(comm)", where comm may hold ") (": count from the last ')'. */
    size_t close = n;
    for (size_t k = n; k > 0; k--)
        if (p[k - 1] == ')') {
            close = k - 1;
            break;
        }
    if (close == n || close + 2 > n)
        return -1;
    size_t i = close + 2; /* field 3, state */
    unsigned long long v, utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
    for (int f = 3; f <= 24; f++) {
        if (f == 3 || (f >= 4 && f <= 13) || (f >= 16 && f <= 21)) {
            /* state is a letter; ppid..majflt, cutime..itrealvalue: not needed.
             * cutime/cstime/priority/nice may be negative: skipped as text. */
            if (field_skip(p, n, &i) != 0)
                return -1;
            continue;
        }
        if (field_u(p, n, &i, &v) != 0)
            return -1;
        switch (f) {
        case 14: utime = v; break;
        case 15: stime = v; break;
        case 22: start = v; break;
        case 23: vsize = v; break;
        case 24: rss = v; break;
        default: break;
        }
    }
    out->utime = utime;
    out->stime = stime;
    out->starttime = start;
    out->vsize = vsize;
    out->rss = (long long)rss;
    return 0;
}

int promtext_parse_btime(const char *p, size_t n, unsigned long long *btime)
{
    size_t i = 0;
    while (i < n) {
        size_t e = i;
        while (e < n && p[e] != '\n')
            e++;
        if (e - i > 6 && memcmp(p + i, "btime ", 6) == 0) {
            size_t j = i + 6;
            unsigned long long v;
            if (field_u(p, e, &j, &v) == 0) {
                *btime = v;
                return 0;
            }
            return -1;
        }
        i = e + 1;
    }
    return -1;
}
