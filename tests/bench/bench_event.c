/* bench_event.c -- events/s of core/event.c's formatting against the old way.
 *
 * The old way (a fresh jansson tree per event: json_object, one json_string
 * per field, json_dumps, copy with '\n', decref, free) is rebuilt here so both
 * run in one process on the same events: event_format (malloc'd line, as the
 * CLI uses it) and event_format_into (caller's buffer, as the module uses it).
 * Events vary like a real 401 stream: a few clients, many URLs, the same
 * method and realm. Lines are checked equal before timing.
 * Built only by `make bench-event`; numbers go in docs/BENCHMARKS.md. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event.h"

#define EVENTS 256

static json_t *old_text(const char *s)
{
    return s == NULL || s[0] == '\0' ? json_null() : json_string(s); /* bench events are valid UTF-8 */
}

static json_t *old_name(const char *name)
{
    return name ? json_string(name) : json_null();
}

static json_t *old_time(double ts)
{
    char buf[40];
    struct tm tm;
    time_t t = (time_t)ts;
    long ms = (long)((ts - (double)t) * 1000.0 + 0.5);
    if (ms >= 1000) {
        t += 1;
        ms -= 1000;
    }
    if (gmtime_r(&t, &tm) == NULL)
        return json_null();
    size_t len = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + len, sizeof buf - len, ".%03ldZ", ms);
    return json_string(buf);
}

/* The pre-template event_format: build, dump, free. */
static char *old_format(const struct event *ev)
{
    json_t *obj = json_object(), *schemes = json_array();
    for (size_t i = 0; i < ev->scheme_count && i < CHALLENGE_MAX; i++)
        json_array_append_new(schemes, old_text(ev->schemes[i]));
    json_object_set_new(obj, "v", json_integer(1));
    json_object_set_new(obj, "ts", old_time(ev->ts));
    json_object_set_new(obj, "client", old_text(ev->client));
    json_object_set_new(obj, "user", old_text(ev->user));
    json_object_set_new(obj, "method", old_text(ev->method));
    json_object_set_new(obj, "url", old_text(ev->url));
    json_object_set_new(obj, "host", old_text(ev->host));
    json_object_set_new(obj, "status", ev->status ? json_integer(ev->status) : json_null());
    json_object_set_new(obj, "cause", old_name(event_cause_name(ev->cause)));
    json_object_set_new(obj, "prompt", old_name(event_prompt_name(ev->prompt)));
    json_object_set_new(obj, "schemes", schemes);
    json_object_set_new(obj, "realm", old_text(ev->realm));
    json_object_set_new(obj, "auth_sent", old_text(ev->auth_sent));
    json_object_set_new(obj, "parent", old_text(ev->parent));
    json_object_set_new(obj, "evidence", old_name(event_evidence_name(ev->evidence)));
    json_object_set_new(obj, "object", old_name(event_object_name(ev->object)));
    json_object_set_new(obj, "zone", old_text(ev->zone));
    json_object_set_new(obj, "handler", old_text(ev->handler));
    json_object_set_new(obj, "substatus", old_text(ev->substatus));
    json_object_set_new(obj, "hint", old_text(ev->hint));
    char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
    if (text == NULL)
        return NULL;
    size_t len = strlen(text);
    char *line = malloc(len + 2);
    if (line != NULL) {
        memcpy(line, text, len);
        line[len] = '\n';
        line[len + 1] = '\0';
    }
    free(text);
    return line;
}

static void make_events(struct event *evs)
{
    for (int i = 0; i < EVENTS; i++) {
        struct event *ev = &evs[i];
        memset(ev, 0, sizeof *ev);
        ev->ts = 1795608000.0 + i * 0.037; /* several events per second */
        snprintf(ev->client, sizeof ev->client, "10.1.%d.%d", i % 4, 10 + i % 7);
        snprintf(ev->user, sizeof ev->user, "%s", i % 3 ? "" : "CORP\\alice");
        strcpy(ev->method, "GET");
        snprintf(ev->url, sizeof ev->url, "http://intranet.corp.example/app/%d/assets/img-%d.png?v=%d", i % 9,
                 i, i * 31);
        strcpy(ev->host, "intranet.corp.example");
        ev->status = i % 11 ? 401 : 407;
        ev->cause = i % 11 ? CAUSE_EMBEDDED_DENIED : CAUSE_PROXY_AUTH;
        ev->prompt = i % 5 ? PROMPT_BASIC : PROMPT_SILENT;
        ev->schemes[0] = "Negotiate";
        ev->schemes[1] = "NTLM";
        ev->scheme_count = i % 4 ? 2 : 1;
        strcpy(ev->realm, "intranet");
        ev->auth_sent = i % 2 ? "none" : "ntlm";
        snprintf(ev->parent, sizeof ev->parent, "http://intranet.corp.example/app/%d/index.html", i % 9);
        ev->evidence = EVIDENCE_HTML;
        ev->object = OBJECT_IMAGE;
        ev->zone = "intranet";
        strcpy(ev->substatus, i % 2 ? "401.2" : "");
        snprintf(ev->hint, sizeof ev->hint, "grant the anonymous account read access to /app/%d/assets/img-%d.png",
                 i % 9, i);
    }
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

enum way { OLD, FORMAT, INTO };

/* Format n events the given way; returns events per second. */
static double run(enum way way, const struct event *evs, long n)
{
    char buf[8192];
    size_t sink = 0;
    double t0 = now();
    for (long i = 0; i < n; i++) {
        const struct event *ev = &evs[i % EVENTS];
        if (way == INTO) {
            size_t len = event_format_into(ev, buf, sizeof buf);
            if (len == 0 || len >= sizeof buf)
                abort();
            sink += len;
        } else {
            char *line = way == OLD ? old_format(ev) : event_format(ev);
            if (line == NULL)
                abort();
            sink += (size_t)line[0];
            free(line);
        }
    }
    double dt = now() - t0;
    if (sink == 0)
        abort();
    return (double)n / dt;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    int rounds = argc > 2 ? atoi(argv[2]) : 3;
    static struct event evs[EVENTS];
    make_events(evs);

    for (int i = 0; i < EVENTS; i++) { /* same bytes, all three ways */
        char *a = old_format(&evs[i]), *b = event_format(&evs[i]);
        char buf[8192];
        size_t len = event_format_into(&evs[i], buf, sizeof buf);
        if (a == NULL || b == NULL || strcmp(a, b) != 0 || len != strlen(a) || strcmp(a, buf) != 0) {
            fprintf(stderr, "event %d: lines differ\nold: %snew: %s", i, a ? a : "(null)\n", b ? b : "(null)\n");
            return 1;
        }
        free(a);
        free(b);
    }
    printf("line length %zu bytes (first event), %ld events per run, best of %d\n",
           event_format_into(&evs[0], NULL, 0), n, rounds);
    double best[3] = {0, 0, 0};
    for (int r = 0; r < rounds; r++) {
        for (int w = OLD; w <= INTO; w++) {
            double eps = run((enum way)w, evs, n);
            if (eps > best[w])
                best[w] = eps;
        }
    }
    printf("old (build, json_dumps, free):    %10.0f events/s\n", best[OLD]);
    printf("event_format (template, malloc):  %10.0f events/s  %.2fx\n", best[FORMAT], best[FORMAT] / best[OLD]);
    printf("event_format_into (caller buf):   %10.0f events/s  %.2fx\n", best[INTO], best[INTO] / best[OLD]);
    event_format_thread_cleanup();
    return 0;
}
