/* event.c -- format a struct event as one SPEC §3 JSON line (schema v1).
 *
 * jansson does the escaping, so hostile URLs and header text cannot break the
 * line. jansson refuses strings that are not valid UTF-8, and a URL or a user
 * name from the network may carry any bytes; such a string is first made valid
 * UTF-8 here (each invalid byte becomes U+FFFD) so an event is always written.
 * Field order is the SPEC's: readers may rely on it when grepping.
 *
 * Speed: building a fresh json_t tree per event (an object, twenty values, a
 * key copy and a hash insert each, a dump to a malloc'd string, then freeing it
 * all) was ~13% of a c-icap child's CPU per 401. Each thread now keeps one
 * template object holding every key in SPEC order, built once, with a cached
 * value object per field. An event only updates values in place:
 * json_string_setn on the field's cached string (skipped when the text is
 * unchanged, e.g. the same client or method), json_integer_set for the status,
 * one cached string per enum spelling, and json_object_iter_set (no key hashing,
 * the pair keeps its place, so the order stays the SPEC's) to switch a field
 * between its value and null. The line is dumped with json_dumpb into the
 * caller's buffer (event_format_into) or a per-thread buffer (event_format),
 * not json_dumps' malloc'd string. jansson still writes every byte of the line;
 * tests/unit/test_event.c checks it byte for byte against a fresh tree's dump.
 *
 * Trade-off: per-thread state (~20 small jansson values, a buffer as large as
 * the longest line seen, a few KiB) lives as long as the thread. c-icap worker
 * threads live as long as their process, so in the module it is never freed
 * and that is deliberate. A thread that exits frees it through a pthread key
 * destructor; the main thread (unit tests, the CLI) may call
 * event_format_thread_cleanup() to be leak-clean under valgrind. No state is
 * shared between threads, so the module's threads need no lock here. Cost: the
 * code is longer than build-dump-free, and a jansson string set still copies
 * the text into a malloc'd block (jansson has no borrowed-string API). */
#include "event.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
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

/* True when s[0..n) is valid UTF-8 under jansson's rules. ASCII runs are
 * skipped a byte at a time without the full decoder. */
static bool utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t l = utf8_valid_len(p + i, n - i);
        if (l == 0)
            return false;
        i += l;
    }
    return true;
}

/* Set the JSON string str to s[0..n), s not valid UTF-8: each invalid byte
 * becomes U+FFFD. Allocates a scratch copy (hostile input only). */
static int set_repaired(json_t *str, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;

    /* Each invalid byte grows to 3 bytes (EF BF BD) at most. */
    if (n > (SIZE_MAX - 1) / 3)
        return -1;
    char *buf = malloc(3 * n + 1);
    if (buf == NULL)
        return -1;
    size_t o = 0, i = 0;
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
    int rc = json_string_setn(str, buf, o);
    free(buf);
    return rc;
}

/* The value for text s: JSON null for NULL or "", else the cached string str
 * set to s (unchanged text is not copied again; invalid UTF-8 repaired).
 * Returns NULL when out of memory. */
static json_t *text_value(json_t *str, const char *s)
{
    if (s == NULL || s[0] == '\0')
        return json_null();
    size_t n = strlen(s);
    if (json_string_length(str) == n && memcmp(json_string_value(str), s, n) == 0)
        return str;
    /* jansson checks the UTF-8 again; it stays the judge of what it writes. */
    int rc = utf8_valid(s, n) ? json_string_setn(str, s, n) : set_repaired(str, s, n);
    return rc == 0 ? str : NULL;
}

/* The fields in SPEC order; the template object is built in this order. */
enum field {
    F_V, F_TS, F_CLIENT, F_USER, F_METHOD, F_URL, F_HOST, F_STATUS, F_CAUSE, F_PROMPT,
    F_SCHEMES, F_REALM, F_AUTH_SENT, F_PARENT, F_EVIDENCE, F_OBJECT, F_ZONE, F_HANDLER,
    F_SUBSTATUS, F_HINT, F_REASON, F_BROWSER, F_SERVER_DOMAIN, F_SPN, F_KRB_ERROR,
    F_CONNECTION, F_COUNT
};

static const char *const field_key[F_COUNT] = {
    "v", "ts", "client", "user", "method", "url", "host", "status", "cause", "prompt",
    "schemes", "realm", "auth_sent", "parent", "evidence", "object", "zone", "handler",
    "substatus", "hint", "reason", "browser", "server_domain", "spn", "krb_error",
    "connection",
};

/* Enum spellings cached as JSON strings, one table per enum, indexed by value. */
enum { ENUM_CAUSE, ENUM_PROMPT, ENUM_EVIDENCE, ENUM_OBJECT, ENUM_REASON, ENUM_KINDS };
#define ENUM_VALUES_MAX EVENT_REASON_COUNT /* the largest enum */

/* One thread's formatting state. */
struct fmt_state {
    json_t *obj;                    /* the template: every key, SPEC order */
    void *iter[F_COUNT];            /* each key's pair in obj: set without hashing */
    json_t *text[F_COUNT];          /* cached string per text field (and ts) */
    json_t *status;                 /* cached integer */
    json_t *schemes;                /* the array held by obj */
    json_t *scheme[CHALLENGE_MAX];  /* cached string per array slot */
    json_t *names[ENUM_KINDS][ENUM_VALUES_MAX]; /* NULL: not made yet */
    time_t ts_sec;                  /* second that ts_text spells, or -1 */
    char ts_text[32];               /* "2026-11-25T12:00:00" */
    size_t ts_len;
    char *buf;                      /* event_format's dump buffer */
    size_t cap;
};

/* The calling thread's state. c-icap's threads never free it (they live as
 * long as the process); a thread that exits frees it through state_key's
 * destructor, and event_format_thread_cleanup() frees it on request. */
static __thread struct fmt_state *tls_state;
static pthread_key_t state_key;
static pthread_once_t state_once = PTHREAD_ONCE_INIT;
static bool state_key_ok;

static void state_free(struct fmt_state *st)
{
    if (st == NULL)
        return;
    json_decref(st->obj);
    for (size_t i = 0; i < F_COUNT; i++)
        json_decref(st->text[i]);
    json_decref(st->status);
    json_decref(st->schemes);
    for (size_t i = 0; i < CHALLENGE_MAX; i++)
        json_decref(st->scheme[i]);
    for (size_t k = 0; k < ENUM_KINDS; k++)
        for (size_t i = 0; i < ENUM_VALUES_MAX; i++)
            json_decref(st->names[k][i]);
    free(st->buf);
    free(st);
}

static void state_destructor(void *p)
{
    if (p == tls_state)
        tls_state = NULL;
    state_free(p);
}

static void state_key_create(void)
{
    state_key_ok = pthread_key_create(&state_key, state_destructor) == 0;
}

void event_format_thread_cleanup(void)
{
    struct fmt_state *st = tls_state;
    tls_state = NULL;
    if (st != NULL && state_key_ok)
        pthread_setspecific(state_key, NULL);
    state_free(st);
}

static bool is_text_field(enum field f)
{
    return f != F_V && f != F_STATUS && f != F_CAUSE && f != F_PROMPT && f != F_SCHEMES &&
           f != F_EVIDENCE && f != F_OBJECT && f != F_REASON;
}

/* The calling thread's state, built on first use; NULL when out of memory. */
static struct fmt_state *state_get(void)
{
    if (tls_state != NULL)
        return tls_state;
    struct fmt_state *st = calloc(1, sizeof *st);
    if (st == NULL)
        return NULL;
    st->ts_sec = -1;
    st->obj = json_object();
    st->status = json_integer(0);
    st->schemes = json_array();
    bool ok = st->obj != NULL && st->status != NULL && st->schemes != NULL;
    for (size_t i = 0; ok && i < CHALLENGE_MAX; i++)
        ok = (st->scheme[i] = json_string("")) != NULL;
    for (size_t f = 0; ok && f < F_COUNT; f++) {
        json_t *v;
        if (f == F_V)
            v = json_integer(1);
        else if (f == F_SCHEMES)
            v = json_incref(st->schemes);
        else
            v = json_null();
        if (is_text_field((enum field)f))
            ok = (st->text[f] = json_string("")) != NULL;
        /* set_new consumes v even on failure; a NULL v makes it fail */
        ok = ok && json_object_set_new(st->obj, field_key[f], v) == 0;
        ok = ok && (st->iter[f] = json_object_iter_at(st->obj, field_key[f])) != NULL;
    }
    if (!ok) {
        state_free(st);
        return NULL;
    }
    pthread_once(&state_once, state_key_create);
    if (state_key_ok)
        pthread_setspecific(state_key, st);
    tls_state = st;
    return st;
}

/* The cached JSON string for an enum spelling, or null when name is NULL. */
static json_t *name_value(struct fmt_state *st, int kind, int value, const char *name)
{
    if (name == NULL)
        return json_null();
    if (value < 0 || value >= ENUM_VALUES_MAX)
        return NULL; /* unreachable: a spelled value is within its enum */
    json_t **slot = &st->names[kind][value];
    if (*slot == NULL)
        *slot = json_string(name);
    return *slot;
}

/* "2026-11-25T12:00:00.123Z" for ts (seconds since the epoch) in the ts
 * field's cached string, or JSON null for a time gmtime cannot represent.
 * The date and time are formatted once per second and reused. */
static json_t *time_value(struct fmt_state *st, double ts)
{
    /* 1e12 s is year 33658: beyond any real clock, and keeps the cast defined. */
    if (!isfinite(ts) || ts < 0 || ts > 1e12)
        return json_null();
    time_t t = (time_t)ts; /* ts >= 0: truncation is floor */
    long ms = (long)((ts - (double)t) * 1000.0 + 0.5);
    if (ms >= 1000) { /* 12:00:00.9996 rounds up to the next second */
        t += 1;
        ms -= 1000;
    }
    if (t != st->ts_sec) {
        struct tm tm;
        st->ts_sec = -1;
        if (gmtime_r(&t, &tm) == NULL)
            return json_null();
        size_t len = strftime(st->ts_text, sizeof st->ts_text - 8, "%Y-%m-%dT%H:%M:%S", &tm);
        if (len == 0)
            return json_null();
        st->ts_len = len;
        st->ts_sec = t;
    }
    char *p = st->ts_text + st->ts_len; /* ".123Z" after the seconds */
    p[0] = '.';
    p[1] = (char)('0' + ms / 100);
    p[2] = (char)('0' + ms / 10 % 10);
    p[3] = (char)('0' + ms % 10);
    p[4] = 'Z';
    p[5] = '\0';
    return text_value(st->text[F_TS], st->ts_text);
}

/* Point field f of the template at v (NULL: an earlier step failed). */
static int put(struct fmt_state *st, enum field f, json_t *v)
{
    if (v == NULL)
        return -1;
    if (json_object_iter_value(st->iter[f]) == v)
        return 0;
    return json_object_iter_set(st->obj, st->iter[f], v);
}

/* Update the calling thread's template to ev; NULL when out of memory. */
static struct fmt_state *build(const struct event *ev)
{
    struct fmt_state *st = state_get();
    if (st == NULL)
        return NULL;

    int rc = 0;
    json_array_clear(st->schemes);
    for (size_t i = 0; i < ev->scheme_count && i < CHALLENGE_MAX; i++) {
        json_t *v = text_value(st->scheme[i], ev->schemes[i]);
        if (v == NULL || json_array_append(st->schemes, v) < 0)
            rc = -1;
    }
    rc |= put(st, F_TS, time_value(st, ev->ts));
    rc |= put(st, F_CLIENT, text_value(st->text[F_CLIENT], ev->client));
    rc |= put(st, F_USER, text_value(st->text[F_USER], ev->user));
    rc |= put(st, F_METHOD, text_value(st->text[F_METHOD], ev->method));
    rc |= put(st, F_URL, text_value(st->text[F_URL], ev->url));
    rc |= put(st, F_HOST, text_value(st->text[F_HOST], ev->host));
    if (ev->status != 0) {
        rc |= json_integer_set(st->status, ev->status);
        rc |= put(st, F_STATUS, st->status);
    } else {
        rc |= put(st, F_STATUS, json_null());
    }
    rc |= put(st, F_CAUSE, name_value(st, ENUM_CAUSE, (int)ev->cause, event_cause_name(ev->cause)));
    rc |= put(st, F_PROMPT, name_value(st, ENUM_PROMPT, (int)ev->prompt, event_prompt_name(ev->prompt)));
    rc |= put(st, F_REALM, text_value(st->text[F_REALM], ev->realm));
    rc |= put(st, F_AUTH_SENT, text_value(st->text[F_AUTH_SENT], ev->auth_sent));
    rc |= put(st, F_PARENT, text_value(st->text[F_PARENT], ev->parent));
    rc |= put(st, F_EVIDENCE,
              name_value(st, ENUM_EVIDENCE, (int)ev->evidence, event_evidence_name(ev->evidence)));
    rc |= put(st, F_OBJECT, name_value(st, ENUM_OBJECT, (int)ev->object, event_object_name(ev->object)));
    rc |= put(st, F_ZONE, text_value(st->text[F_ZONE], ev->zone));
    rc |= put(st, F_HANDLER, text_value(st->text[F_HANDLER], ev->handler));
    rc |= put(st, F_SUBSTATUS, text_value(st->text[F_SUBSTATUS], ev->substatus));
    rc |= put(st, F_HINT, text_value(st->text[F_HINT], ev->hint));
    rc |= put(st, F_REASON, name_value(st, ENUM_REASON, (int)ev->reason, event_reason_name(ev->reason)));
    rc |= put(st, F_BROWSER, text_value(st->text[F_BROWSER], ev->browser));
    rc |= put(st, F_SERVER_DOMAIN, text_value(st->text[F_SERVER_DOMAIN], ev->server_domain));
    rc |= put(st, F_SPN, text_value(st->text[F_SPN], ev->spn));
    rc |= put(st, F_KRB_ERROR, text_value(st->text[F_KRB_ERROR], ev->krb_error));
    rc |= put(st, F_CONNECTION, text_value(st->text[F_CONNECTION], ev->connection));
    return rc == 0 ? st : NULL;
}

/* Dump the template into buf (cap bytes) as the line: JSON, '\n', NUL.
 * Returns the line's length with '\n' (may be >= cap: buf is then not a
 * line), or 0 when jansson failed. */
static size_t dump(const struct fmt_state *st, char *buf, size_t cap)
{
    size_t n = json_dumpb(st->obj, buf, cap, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (n == 0)
        return 0;
    if (n + 2 <= cap) {
        buf[n] = '\n';
        buf[n + 1] = '\0';
    }
    return n + 1;
}

size_t event_format_into(const struct event *ev, char *buf, size_t cap)
{
    const struct fmt_state *st = build(ev);
    return st != NULL ? dump(st, buf, cap) : 0;
}

char *event_format(const struct event *ev)
{
    struct fmt_state *st = build(ev);
    if (st == NULL)
        return NULL;
    size_t n = dump(st, st->buf, st->cap);
    if (n == 0)
        return NULL;
    if (n >= st->cap) {
        size_t cap = n + 1 > 2048 ? n + 1 : 2048;
        char *grown = realloc(st->buf, cap);
        if (grown == NULL)
            return NULL;
        st->buf = grown;
        st->cap = cap;
        if (dump(st, st->buf, st->cap) != n)
            return NULL;
    }
    char *line = malloc(n + 1);
    if (line != NULL)
        memcpy(line, st->buf, n + 1);
    return line;
}
