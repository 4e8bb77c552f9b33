/* verdict.c -- classify a 401/407 and report it: event log, syslog, X-Prompt-*.
 *
 * Runs only for 401/407, so it may allocate: the view and the event are about
 * 10 KiB together, too much for the stack of a c-icap thread serving many
 * requests, and too rare to pool. Header values sent back to Squid are
 * stripped of control characters: a URL or scheme name from the origin must
 * never end an ICAP header early. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <c_icap/c-icap.h>
#include <c_icap/debug.h>
#include <c_icap/simple_api.h>

#include "classify.h"
#include "event.h"
#include "eventlog.h"
#include "handshake_mem.h"
#include "htmlbody.h"
#include "request_view.h"
#include "settings.h"
#include "stats.h"
#include "verdict.h"

#define XHEADER_MAX (EVENT_URL_MAX + 64)

struct verdict_work {
    struct request_view view;
    struct event ev;
    char parent[EVENT_URL_MAX]; /* page from the correlation store */
    struct classify_tokens tokens; /* decoded once for the handshake memory and classify */
};

static bool syslog_on;

void verdict_syslog(int facility)
{
    if (syslog_on) {
        closelog();
        syslog_on = false;
    }
    if (facility >= 0) {
        openlog("promptcause", LOG_PID | LOG_NDELAY, facility);
        syslog_on = true;
    }
}

/* Format "name: value" into out (cap bytes) dropping control characters and
 * DEL from value, truncating when long. */
static void header_line(char *out, size_t cap, const char *name, const char *value)
{
    int n = snprintf(out, cap, "%s: ", name);
    size_t o = n > 0 && (size_t)n < cap ? (size_t)n : 0;
    for (const unsigned char *v = (const unsigned char *)value; *v != '\0' && o + 1 < cap; v++) {
        if (*v >= 0x20 && *v != 0x7f) {
            out[o++] = (char)*v;
        }
    }
    out[o] = '\0';
}

/* Add one ICAP X-header; -1 when c-icap could not store it. */
static int add_xheader(ci_request_t *req, const char *name, const char *value)
{
    char line[XHEADER_MAX];
    header_line(line, sizeof line, name, value);
    return ci_icap_add_xheader(req, line) != NULL ? 0 : -1;
}

/* Write the event line to EventLog and syslog. Returns -1 when it could not
 * be formatted (out of memory); write failures are counted, not returned. */
static int report_event(const struct event *ev)
{
    char stack_line[8192]; /* one event line; a longer one takes the malloc path */
    char *heap_line = NULL;
    const char *line = stack_line;
    size_t n = event_format_into(ev, stack_line, sizeof stack_line);
    if (n == 0) {
        return -1;
    }
    if (n >= sizeof stack_line) {
        line = heap_line = event_format(ev);
        if (line == NULL) {
            return -1;
        }
    }
    int lost = eventlog_append(line, n);
    if (lost > 0) {
        stats_add(STATS_LOG_WRITE_ERRORS, (uint64_t)lost);
    }
    if (syslog_on) {
        int len = (int)(n > 0 && line[n - 1] == '\n' ? n - 1 : n);
        syslog(LOG_NOTICE, "%.*s", len, line);
    }
    free(heap_line);
    return 0;
}

/* SPEC §2 rule 5, evidence html: the page this client (this proxy user on
 * this address, when Squid names one) loaded that embeds the refused URL,
 * from the store. Only 401s look: a 407 comes from a proxy,
 * whatever the page. */
static void find_html_parent(struct corrstore *store, struct verdict_work *w)
{
    struct classify_input *in = &w->view.in;
    enum event_object type = OBJECT_UNKNOWN;
    char id[CORRSTORE_CLIENT_MAX];
    if (store == NULL || in->status != 401 || in->url == NULL) {
        return;
    }
    (void)corrstore_client_id(in->client, in->proxy_user, id, sizeof id);
    int rc = htmlbody_lookup(store, id, in->url, w->parent, sizeof w->parent, &type);
    if (rc < 0) {
        stats_inc(STATS_STORE_ERRORS);
    } else if (rc == 1) {
        in->html_parent = w->parent;
        in->html_object = type;
        stats_inc(STATS_PARENT_FOUND);
    }
}

/* SPEC §2a: remember the type-2 this 401 gives, or say what the type-3 it
 * refuses answered (in->handshake); counted in the statistics. */
static void check_handshake(struct corrstore *store, struct classify_input *in)
{
    static const enum stats_counter by_match[] = {
        [HANDSHAKE_MATCHED] = STATS_HS_MATCHED,
        [HANDSHAKE_SPLIT_CLIENT] = STATS_HS_SPLIT_CLIENT,
        [HANDSHAKE_SPLIT_SERVER] = STATS_HS_SPLIT_SERVER,
        [HANDSHAKE_SPLIT_NO_MATCH] = STATS_HS_SPLIT_NO_MATCH,
    };
    struct handshake_mem_result r;
    if (handshake_mem_run(store, in, corrstore_now(), &r) != 0) {
        stats_inc(r.store_error ? STATS_STORE_ERRORS : STATS_INTERNAL_ERRORS);
    }
    in->handshake = r.match;
    stats_add(STATS_HS_EVICTIONS, r.evicted);
    if (r.remembered) {
        stats_inc(STATS_HS_REMEMBERED);
    }
    if (r.compared) {
        stats_inc(STATS_HS_COMPARED);
        if (r.match != HANDSHAKE_UNKNOWN) {
            stats_inc(by_match[r.match]);
        }
    }
}

int verdict_run(ci_request_t *req, int status, const char *body, size_t body_len, struct corrstore *store)
{
    const struct settings *s = settings_get();
    int rc = 0;

    stats_inc(status == 407 ? STATS_STATUS_407 : STATS_STATUS_401);
    struct verdict_work *w = malloc(sizeof *w);
    if (w == NULL) {
        return -1;
    }
    memset(&w->ev, 0, sizeof w->ev);
    if (request_view_build(req, status, body, body_len, &w->view) != 0) {
        free(w);
        return -1;
    }
    find_html_parent(store, w);
    classify_read_tokens(&w->view.in, &w->tokens);
    w->view.in.tokens = &w->tokens;
    check_handshake(store, &w->view.in);
    if (classify(&s->classify, &w->view.in, &w->ev) != 1) {
        free(w);
        return -1;
    }
    const struct event *ev = &w->ev;
    const char *cause = event_cause_name(ev->cause);
    const char *prompt = event_prompt_name(ev->prompt);
    if (cause == NULL) {
        cause = "unknown";
    }
    if (prompt == NULL) {
        prompt = "none";
    }
    stats_inc_cause(ev->cause);

    /* X-Prompt-Reason stays the prompt value (SPEC §4); the §2a diagnosis
     * goes in X-Prompt-Detail, only when one is known. */
    const char *detail = event_reason_name(ev->reason);
    if (add_xheader(req, "X-Prompt-Cause", cause) != 0 || add_xheader(req, "X-Prompt-Reason", prompt) != 0 ||
        (ev->parent[0] != '\0' && add_xheader(req, "X-Prompt-Parent", ev->parent) != 0) ||
        (detail != NULL && add_xheader(req, "X-Prompt-Detail", detail) != 0)) {
        rc = -1;
    }
    if (ev->cause == CAUSE_HANDSHAKE && !s->log_handshakes) {
        stats_inc(STATS_HANDSHAKES_UNLOGGED);
    } else if (report_event(ev) != 0) {
        rc = -1;
    }
    /* Last: adding a response header may move the header buffer the view
     * points into; nothing reads the view after this. */
    if (s->annotate) {
        char line[XHEADER_MAX];
        header_line(line, sizeof line, "X-Prompt-Cause", cause);
        if (ci_http_response_add_header(req, line) == NULL) {
            rc = -1;
        }
    }
    free(w);
    return rc;
}
