/* event.c -- format a struct event as one SPEC §3 JSON line (schema v1).
 *
 * The line is written by hand into one buffer: hostile URLs and header text
 * are escaped here, exactly as jansson's compact dump would (the unit test
 * checks byte equality against jansson on random events). It used to be built
 * as a jansson object and dumped; that was 13 % of a c-icap child's CPU per
 * 401 in the ICAP benchmark (object, one allocation per field, dump, decref),
 * this is about a tenth of it. A URL or a user name from the network may carry
 * any bytes; every string is made valid UTF-8 (each invalid byte becomes
 * U+FFFD) so an event is always written. Field order is the SPEC's: readers
 * may rely on it when grepping. */
#include "event.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0 when the
 * sequence is invalid: truncated, overlong, a surrogate, or above U+10FFFF,
 * the same rules jansson applies. */
static size_t utf8_valid_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len;
    uint32_t cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* The line is written straight into one buffer sized for the worst case;
 * each string byte grows to 6 bytes at most ("\u001F"; an invalid UTF-8 byte
 * grows to 3, EF BF BD). */
struct out {
    char *p;
    size_t n;
};

static void put_raw(struct out *o, const char *s, size_t n)
{
    memcpy(o->p + o->n, s, n);
    o->n += n;
}

#define PUT_LIT(o, lit) put_raw((o), (lit), sizeof(lit) - 1)

/* A JSON string for the n bytes at s, escaped as jansson's compact dump does
 * ('"', '\\', \b \f \n \r \t, other controls as \u00XX, nothing else),
 * invalid UTF-8 bytes replaced by U+FFFD. */
static void put_string(struct out *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    o->p[o->n++] = '"';
    while (i < n) {
        size_t run = i;
        while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\')
            run++;
        put_raw(o, s + i, run - i);
        i = run;
        if (i == n)
            break;
        unsigned char c = p[i];
        if (c >= 0x80) {
            size_t l = utf8_valid_len(p + i, n - i);
            if (l == 0) {
                PUT_LIT(o, "\xef\xbf\xbd");
                i++;
            } else {
                put_raw(o, s + i, l);
                i += l;
            }
            continue;
        }
        o->p[o->n++] = '\\';
        switch (c) {
        case '"': o->p[o->n++] = '"'; break;
        case '\\': o->p[o->n++] = '\\'; break;
        case '\b': o->p[o->n++] = 'b'; break;
        case '\f': o->p[o->n++] = 'f'; break;
        case '\n': o->p[o->n++] = 'n'; break;
        case '\r': o->p[o->n++] = 'r'; break;
        case '\t': o->p[o->n++] = 't'; break;
        default:
            PUT_LIT(o, "u00");
            o->p[o->n++] = hex[c >> 4];
            o->p[o->n++] = hex[c & 0xf];
            break;
        }
        i++;
    }
    o->p[o->n++] = '"';
}

/* Text from the network: NULL or "" is JSON null. */
static void put_text(struct out *o, const char *s)
{
    if (s == NULL || s[0] == '\0')
        PUT_LIT(o, "null");
    else
        put_string(o, s, strlen(s));
}

/* A name from our tables: NULL is JSON null. */
static void put_name(struct out *o, const char *name)
{
    if (name == NULL)
        PUT_LIT(o, "null");
    else
        put_string(o, name, strlen(name));
}

/* "2026-11-25T12:00:00.123Z" for ts (seconds since the epoch), or null for a
 * time gmtime cannot represent. */
static void put_time(struct out *o, double ts)
{
    char buf[40];
    struct tm tm;

    /* 1e12 s is year 33658: beyond any real clock, and keeps the cast defined. */
    if (!isfinite(ts) || ts < 0 || ts > 1e12) {
        PUT_LIT(o, "null");
        return;
    }
    time_t t = (time_t)ts; /* ts >= 0: truncation is floor */
    long ms = (long)((ts - (double)t) * 1000.0 + 0.5);
    if (ms >= 1000) { /* 12:00:00.9996 rounds up to the next second */
        t += 1;
        ms -= 1000;
    }
    size_t len;
    if (gmtime_r(&t, &tm) == NULL || (len = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm)) == 0) {
        PUT_LIT(o, "null");
        return;
    }
    int m = snprintf(buf + len, sizeof buf - len, ".%03ldZ", ms);
    if (m > 0 && (size_t)m < sizeof buf - len)
        len += (size_t)m;
    put_string(o, buf, len);
}

/* Worst-case output bytes of put_text for s. */
static size_t text_bound(const char *s)
{
    return s != NULL ? 6 * strlen(s) + 2 : 4;
}

const char *event_cause_name(enum event_cause cause)
{
    switch (cause) {
    case CAUSE_PAGE_DENIED: return "page-denied";
    case CAUSE_EMBEDDED_DENIED: return "embedded-denied";
    case CAUSE_HANDLER_DENIED: return "handler-denied";
    case CAUSE_CREDENTIALS_REJECTED: return "credentials-rejected";
    case CAUSE_HANDSHAKE: return "handshake";
    case CAUSE_PROXY_AUTH: return "proxy-auth";
    case CAUSE_NONE: break;
    }
    return NULL;
}

const char *event_prompt_name(enum event_prompt prompt)
{
    switch (prompt) {
    case PROMPT_NONE: return "none";
    case PROMPT_BASIC: return "basic";
    case PROMPT_DIGEST: return "digest";
    case PROMPT_NOT_INTRANET: return "not-intranet";
    case PROMPT_SILENT: return "silent";
    case PROMPT_REJECTED: return "rejected";
    case PROMPT_SUPPRESSED: return "suppressed";
    }
    return NULL;
}

const char *event_object_name(enum event_object object)
{
    switch (object) {
    case OBJECT_DOCUMENT: return "document";
    case OBJECT_IMAGE: return "image";
    case OBJECT_SCRIPT: return "script";
    case OBJECT_STYLE: return "style";
    case OBJECT_FRAME: return "frame";
    case OBJECT_MEDIA: return "media";
    case OBJECT_FONT: return "font";
    case OBJECT_OBJECT: return "object";
    case OBJECT_OTHER: return "other";
    case OBJECT_UNKNOWN: break;
    }
    return NULL;
}

const char *event_evidence_name(enum event_evidence evidence)
{
    switch (evidence) {
    case EVIDENCE_HTML: return "html";
    case EVIDENCE_FETCH_METADATA: return "fetch-metadata";
    case EVIDENCE_REFERER: return "referer";
    case EVIDENCE_NONE: break;
    }
    return NULL;
}

char *event_format(const struct event *ev)
{
    size_t schemes = ev->scheme_count < CHALLENGE_MAX ? ev->scheme_count : CHALLENGE_MAX;
    /* Keys, punctuation, "v", "ts", "status" and the names from our tables fit
     * in 512 bytes; the text fields are bounded by text_bound. */
    size_t cap = 512 + text_bound(ev->client) + text_bound(ev->user) + text_bound(ev->method) +
                 text_bound(ev->url) + text_bound(ev->host) + text_bound(ev->realm) + text_bound(ev->auth_sent) +
                 text_bound(ev->parent) + text_bound(ev->zone) + text_bound(ev->handler) +
                 text_bound(ev->substatus) + text_bound(ev->hint);
    for (size_t i = 0; i < schemes; i++)
        cap += text_bound(ev->schemes[i]) + 1;
    struct out o = {malloc(cap), 0};
    if (o.p == NULL)
        return NULL;

    PUT_LIT(&o, "{\"v\":1,\"ts\":");
    put_time(&o, ev->ts);
    PUT_LIT(&o, ",\"client\":");
    put_text(&o, ev->client);
    PUT_LIT(&o, ",\"user\":");
    put_text(&o, ev->user);
    PUT_LIT(&o, ",\"method\":");
    put_text(&o, ev->method);
    PUT_LIT(&o, ",\"url\":");
    put_text(&o, ev->url);
    PUT_LIT(&o, ",\"host\":");
    put_text(&o, ev->host);
    PUT_LIT(&o, ",\"status\":");
    if (ev->status != 0)
        o.n += (size_t)snprintf(o.p + o.n, 16, "%d", ev->status);
    else
        PUT_LIT(&o, "null");
    PUT_LIT(&o, ",\"cause\":");
    put_name(&o, event_cause_name(ev->cause));
    PUT_LIT(&o, ",\"prompt\":");
    put_name(&o, event_prompt_name(ev->prompt));
    PUT_LIT(&o, ",\"schemes\":[");
    for (size_t i = 0; i < schemes; i++) {
        if (i > 0)
            o.p[o.n++] = ',';
        put_text(&o, ev->schemes[i]);
    }
    PUT_LIT(&o, "],\"realm\":");
    put_text(&o, ev->realm);
    PUT_LIT(&o, ",\"auth_sent\":");
    put_text(&o, ev->auth_sent);
    PUT_LIT(&o, ",\"parent\":");
    put_text(&o, ev->parent);
    PUT_LIT(&o, ",\"evidence\":");
    put_name(&o, event_evidence_name(ev->evidence));
    PUT_LIT(&o, ",\"object\":");
    put_name(&o, event_object_name(ev->object));
    PUT_LIT(&o, ",\"zone\":");
    put_text(&o, ev->zone);
    PUT_LIT(&o, ",\"handler\":");
    put_text(&o, ev->handler);
    PUT_LIT(&o, ",\"substatus\":");
    put_text(&o, ev->substatus);
    PUT_LIT(&o, ",\"hint\":");
    put_text(&o, ev->hint);
    PUT_LIT(&o, "}\n");
    o.p[o.n] = '\0';
    return o.p;
}
