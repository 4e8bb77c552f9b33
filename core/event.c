/* event.c -- format a struct event as one SPEC §3 JSON line (schema v1).
 *
 * jansson does the escaping, so hostile URLs and header text cannot break the
 * line. jansson refuses strings that are not valid UTF-8, and a URL or a user
 * name from the network may carry any bytes; every string is first made valid
 * UTF-8 here (each invalid byte becomes U+FFFD) so an event is always written.
 * Field order is the SPEC's: readers may rely on it when grepping. */
#include "event.h"

#include <jansson.h>
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

/* A JSON string for s: NULL or "" give JSON null, invalid UTF-8 bytes become
 * U+FFFD. Returns NULL only when out of memory. */
static json_t *json_text(const char *s)
{
    if (s == NULL || s[0] == '\0')
        return json_null();

    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;
    bool valid = true;
    while (i < n) {
        size_t l = utf8_valid_len(p + i, n - i);
        if (l == 0) {
            valid = false;
            break;
        }
        i += l;
    }
    if (valid)
        return json_stringn(s, n);

    /* Each invalid byte grows to 3 bytes (EF BF BD) at most. */
    if (n > (SIZE_MAX - 1) / 3)
        return NULL;
    char *buf = malloc(3 * n + 1);
    if (buf == NULL)
        return NULL;
    size_t o = 0;
    i = 0;
    while (i < n) {
        size_t l = utf8_valid_len(p + i, n - i);
        if (l == 0) {
            buf[o++] = (char)0xef;
            buf[o++] = (char)0xbf;
            buf[o++] = (char)0xbd;
            i++;
        } else {
            memcpy(buf + o, p + i, l);
            o += l;
            i += l;
        }
    }
    json_t *j = json_stringn(buf, o);
    free(buf);
    return j;
}

static json_t *json_name(const char *name)
{
    return name ? json_string(name) : json_null();
}

/* "2026-11-25T12:00:00.123Z" for ts (seconds since the epoch). Returns NULL
 * (JSON null) for a time gmtime cannot represent. */
static json_t *json_time(double ts)
{
    char buf[40];
    struct tm tm;

    /* 1e12 s is year 33658: beyond any real clock, and keeps the cast defined. */
    if (!isfinite(ts) || ts < 0 || ts > 1e12)
        return json_null();
    time_t t = (time_t)ts; /* ts >= 0: truncation is floor */
    long ms = (long)((ts - (double)t) * 1000.0 + 0.5);
    if (ms >= 1000) { /* 12:00:00.9996 rounds up to the next second */
        t += 1;
        ms -= 1000;
    }
    if (gmtime_r(&t, &tm) == NULL)
        return json_null();
    size_t len = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    if (len == 0)
        return json_null();
    snprintf(buf + len, sizeof buf - len, ".%03ldZ", ms);
    return json_string(buf);
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

/* Add key to obj, taking ownership of value. Returns -1 when value is NULL
 * (an earlier allocation failed) or jansson could not add it. */
static int put(json_t *obj, const char *key, json_t *value)
{
    if (value == NULL)
        return -1;
    return json_object_set_new(obj, key, value);
}

char *event_format(const struct event *ev)
{
    json_t *obj = json_object();
    json_t *schemes = json_array();
    char *text = NULL, *line = NULL;

    if (obj == NULL || schemes == NULL)
        goto err;
    for (size_t i = 0; i < ev->scheme_count && i < CHALLENGE_MAX; i++)
        if (json_array_append_new(schemes, json_text(ev->schemes[i])) < 0)
            goto err;

    int rc = 0;
    rc |= put(obj, "v", json_integer(1));
    rc |= put(obj, "ts", json_time(ev->ts));
    rc |= put(obj, "client", json_text(ev->client));
    rc |= put(obj, "user", json_text(ev->user));
    rc |= put(obj, "method", json_text(ev->method));
    rc |= put(obj, "url", json_text(ev->url));
    rc |= put(obj, "host", json_text(ev->host));
    rc |= put(obj, "status", ev->status ? json_integer(ev->status) : json_null());
    rc |= put(obj, "cause", json_name(event_cause_name(ev->cause)));
    rc |= put(obj, "prompt", json_name(event_prompt_name(ev->prompt)));
    rc |= put(obj, "schemes", schemes);
    schemes = NULL; /* owned by obj now, even when put failed */
    rc |= put(obj, "realm", json_text(ev->realm));
    rc |= put(obj, "auth_sent", json_text(ev->auth_sent));
    rc |= put(obj, "parent", json_text(ev->parent));
    rc |= put(obj, "evidence", json_name(event_evidence_name(ev->evidence)));
    rc |= put(obj, "object", json_name(event_object_name(ev->object)));
    rc |= put(obj, "zone", json_text(ev->zone));
    rc |= put(obj, "handler", json_text(ev->handler));
    rc |= put(obj, "substatus", json_text(ev->substatus));
    rc |= put(obj, "hint", json_text(ev->hint));
    if (rc != 0)
        goto err;

    text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text == NULL)
        goto err;
    size_t len = strlen(text);
    line = malloc(len + 2);
    if (line == NULL)
        goto err;
    memcpy(line, text, len);
    line[len] = '\n';
    line[len + 1] = '\0';
err:
    free(text);
    json_decref(schemes);
    json_decref(obj);
    return line;
}
