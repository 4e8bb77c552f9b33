/* squidlog.c -- access-log line parsers (see squidlog.h).
 *
 * Each Squid parser is a single left-to-right pass: split on runs of blanks,
 * cut tokens in place, check the few fields whose shape is fixed (time,
 * CODE/status, quoted request). A line that does not fit is rejected as a
 * whole: analyze counts it as unparsed rather than guess at half a line. */
#include "squidlog.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "evparse.h"

const char *squidlog_format_name(enum squidlog_format f)
{
    switch (f) {
    case SQUIDLOG_EVENTS: return "events";
    case SQUIDLOG_NATIVE: return "squid";
    case SQUIDLOG_XPROMPT: return "xprompt";
    case SQUIDLOG_COMBINED: return "combined";
    default: return NULL;
    }
}

enum squidlog_format squidlog_format_by_name(const char *name)
{
    if (strcmp(name, "events") == 0)
        return SQUIDLOG_EVENTS;
    if (strcmp(name, "squid") == 0 || strcmp(name, "native") == 0)
        return SQUIDLOG_NATIVE;
    if (strcmp(name, "xprompt") == 0)
        return SQUIDLOG_XPROMPT;
    if (strcmp(name, "combined") == 0)
        return SQUIDLOG_COMBINED;
    return SQUIDLOG_UNKNOWN;
}

static inline bool blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Cut the next blank-separated token of [*p, end) in place; NULL at the end. */
static char *token(char **p, char *end)
{
    char *s = *p;
    while (s < end && blank(*s))
        s++;
    if (s >= end)
        return NULL;
    char *e = s;
    while (e < end && !blank(*e))
        e++;
    *e = '\0'; /* end is the line's NUL or a blank: both writable */
    *p = e < end ? e + 1 : end;
    return s;
}

/* Squid's '-' for "no value" becomes "". */
static inline const char *dash(const char *s)
{
    return (s[0] == '-' && s[1] == '\0') ? "" : s;
}

static int parse_uint(const char *s, long *out)
{
    long v = 0;
    if (*s == '\0')
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > 100000000L)
            return -1;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return 0;
}

/* "1700000000.123" -> seconds. Only digits with an optional fraction. */
static int parse_epoch(const char *s, double *ts)
{
    double v = 0;
    const char *p = s;
    while (*p >= '0' && *p <= '9')
        v = v * 10 + (*p++ - '0');
    if (p == s || p - s > 12)
        return -1;
    if (*p == '.') {
        double scale = 0.1;
        p++;
        while (*p >= '0' && *p <= '9') {
            v += (*p++ - '0') * scale;
            scale /= 10;
        }
    }
    if (*p != '\0')
        return -1;
    *ts = v;
    return 0;
}

/* "TCP_MISS/401" -> 401 ("NONE/000" -> 0). */
static int parse_code_status(const char *s, int *status)
{
    const char *slash = strrchr(s, '/');
    long v;
    if (slash == NULL || slash == s || parse_uint(slash + 1, &v) != 0 || v > 999)
        return -1;
    *status = (int)v;
    return 0;
}

/* native: time elapsed client code/status bytes method url user hier/peer mime
 * xprompt: the same and cause reason parent, then optionally X-Prompt-Detail
 * (the SPEC §2a reason; logformats written before it have 13 fields). */
static int parse_native(char *line, size_t n, bool xprompt, struct squidrec *r)
{
    char *p = line, *end = line + n;
    char *t[14];
    size_t want = xprompt ? 13 : 10;
    for (size_t i = 0; i < want; i++)
        if ((t[i] = token(&p, end)) == NULL)
            return -1;
    t[13] = xprompt ? token(&p, end) : NULL;
    if (token(&p, end) != NULL)
        return -1; /* extra fields: a different logformat */
    long dummy;
    if (parse_epoch(t[0], &r->ts) != 0 || parse_uint(t[1], &dummy) != 0 ||
        parse_code_status(t[3], &r->status) != 0 || parse_uint(t[4], &dummy) != 0 ||
        strchr(t[8], '/') == NULL)
        return -1;
    r->client = t[2];
    r->method = t[5];
    r->url = t[6];
    r->user = dash(t[7]);
    r->mime = dash(t[9]);
    r->referer = "";
    r->host = "";
    r->evidence = "";
    if (xprompt) {
        r->cause = dash(t[10]);
        r->prompt = dash(t[11]);
        r->parent = dash(t[12]);
        r->reason = t[13] != NULL ? dash(t[13]) : "";
    } else {
        r->cause = r->prompt = r->parent = r->reason = "";
    }
    return 0;
}

/* Days from 1970-01-01 (Howard Hinnant's days_from_civil; no TZ state). */
static long days_from_civil(long y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int two(const char *s)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return -1;
    return (s[0] - '0') * 10 + (s[1] - '0');
}

int squidlog_parse_clf_time(const char *s, size_t n, double *ts)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    /* 0         1         2
     * 012345678901234567890123456
     * 25/Nov/2026:12:00:00 +0000 */
    if (n != 26 || s[2] != '/' || s[6] != '/' || s[11] != ':' || s[14] != ':' || s[17] != ':' ||
        s[20] != ' ' || (s[21] != '+' && s[21] != '-'))
        return -1;
    int d = two(s), hh = two(s + 12), mm = two(s + 15), ss = two(s + 18);
    int y1 = two(s + 7), y2 = two(s + 9), oh = two(s + 22), om = two(s + 24);
    int mon = -1;
    for (int i = 0; i < 12; i++)
        if (memcmp(s + 3, months + 3 * i, 3) == 0)
            mon = i + 1;
    if (d < 1 || d > 31 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60 || y1 < 0 ||
        y2 < 0 || oh < 0 || om < 0 || mon < 0)
        return -1;
    long days = days_from_civil(y1 * 100 + y2, mon, d);
    long off = (oh * 60L + om) * 60L * (s[21] == '-' ? -1 : 1);
    *ts = (double)(days * 86400L + hh * 3600L + mm * 60L + ss - off);
    return 0;
}

/* Cut a double-quoted field starting at *p (after blanks); backslash escapes
 * a quote inside. Returns the content or NULL. */
static char *quoted(char **p, char *end)
{
    char *s = *p;
    while (s < end && blank(*s))
        s++;
    if (s >= end || *s != '"')
        return NULL;
    s++;
    char *e = s;
    while (e < end && *e != '"') {
        if (*e == '\\' && e + 1 < end)
            e++;
        e++;
    }
    if (e >= end)
        return NULL;
    *e = '\0';
    *p = e + 1;
    return s;
}

/* combined: client ident user [time] "method url proto" status bytes "referer" "agent" [squid] */
static int parse_combined(char *line, size_t n, struct squidrec *r)
{
    char *p = line, *end = line + n;
    char *client = token(&p, end), *ident = token(&p, end), *user = token(&p, end);
    if (client == NULL || ident == NULL || user == NULL)
        return -1;
    while (p < end && blank(*p))
        p++;
    if (p + 28 > end || *p != '[' || p[27] != ']')
        return -1;
    if (squidlog_parse_clf_time(p + 1, 26, &r->ts) != 0)
        return -1;
    p += 28;
    char *req = quoted(&p, end);
    if (req == NULL)
        return -1;
    char *st = token(&p, end), *bytes = token(&p, end);
    long status, dummy;
    if (st == NULL || bytes == NULL || parse_uint(st, &status) != 0 || status > 999 ||
        (parse_uint(bytes, &dummy) != 0 && strcmp(bytes, "-") != 0))
        return -1;
    char *referer = quoted(&p, end);
    if (referer == NULL || quoted(&p, end) == NULL)
        return -1;
    /* the request line: METHOD URL [PROTO] */
    char *rq = req, *rend = req + strlen(req);
    char *method = token(&rq, rend), *url = token(&rq, rend);
    if (method == NULL || url == NULL)
        return -1;
    r->status = (int)status;
    r->client = client;
    r->user = dash(user);
    r->method = method;
    r->url = url;
    r->mime = "";
    r->referer = dash(referer);
    r->cause = r->prompt = r->parent = r->evidence = r->host = r->reason = "";
    return 0;
}

/* Copy string member key of obj into the record's buffer at *used; "" when
 * absent, null or not a string. Over-long values are cut (at a UTF-8
 * boundary) to keep the record bounded. */
static const char *member(json_t *obj, const char *key, struct squidrec *r, size_t *used, size_t cap)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        return "";
    size_t n = json_string_length(v);
    const char *src = json_string_value(v);
    if (*used + cap > sizeof r->evbuf)
        return "";
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
            n--;
    }
    char *dst = r->evbuf + *used;
    memcpy(dst, src, n);
    dst[n] = '\0';
    *used += n + 1;
    return dst;
}

static int parse_event(const char *line, size_t n, struct squidrec *r)
{
    json_error_t err;
    json_t *root = json_loadb(line, n, JSON_REJECT_DUPLICATES, &err);
    int rc = -1;
    size_t used = 0;
    if (root == NULL)
        return -1;
    if (!json_is_object(root))
        goto err;
    json_t *v = json_object_get(root, "v");
    json_t *ts = json_object_get(root, "ts");
    if (!json_is_integer(v) || json_integer_value(v) != 1 || !json_is_string(ts) ||
        evparse_time(json_string_value(ts), &r->ts) != 0)
        goto err;
    r->url = member(root, "url", r, &used, 4096);
    r->parent = member(root, "parent", r, &used, 4096);
    r->host = member(root, "host", r, &used, 256);
    r->client = member(root, "client", r, &used, 64);
    r->user = member(root, "user", r, &used, 260);
    r->method = member(root, "method", r, &used, 32);
    r->cause = member(root, "cause", r, &used, 32);
    r->prompt = member(root, "prompt", r, &used, 32);
    r->evidence = member(root, "evidence", r, &used, 32);
    r->reason = member(root, "reason", r, &used, 32);
    r->mime = r->referer = "";
    json_t *st = json_object_get(root, "status");
    if (json_is_integer(st))
        r->status = (int)json_integer_value(st);
    else
        r->status = strcmp(r->cause, "proxy-auth") == 0 ? 407 : 401;
    rc = 0;
err:
    json_decref(root);
    return rc;
}

int squidlog_parse(enum squidlog_format f, char *line, size_t n, struct squidrec *out)
{
    switch (f) {
    case SQUIDLOG_EVENTS: return parse_event(line, n, out);
    case SQUIDLOG_NATIVE: return parse_native(line, n, false, out);
    case SQUIDLOG_XPROMPT: return parse_native(line, n, true, out);
    case SQUIDLOG_COMBINED: return parse_combined(line, n, out);
    default: return -1;
    }
}

enum squidlog_format squidlog_detect(const char *line, size_t n)
{
    static const enum squidlog_format order[] = {SQUIDLOG_EVENTS, SQUIDLOG_XPROMPT, SQUIDLOG_NATIVE,
                                                 SQUIDLOG_COMBINED};
    enum squidlog_format found = SQUIDLOG_UNKNOWN;
    struct squidrec *r = malloc(sizeof *r);
    char *copy = malloc(n + 1);
    if (r == NULL || copy == NULL)
        goto err;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        memcpy(copy, line, n);
        copy[n] = '\0';
        if (squidlog_parse(order[i], copy, n, r) == 0) {
            found = order[i];
            break;
        }
    }
err:
    free(copy);
    free(r);
    return found;
}
