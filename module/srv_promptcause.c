/* srv_promptcause.c -- the c-icap RESPMOD service `promptcause`: callbacks only.
 *
 * Every response Squid sends us is decided in the preview handler: anything
 * that is neither a 401/407 nor an anonymous 2xx HTML page gets 204 at once,
 * before any allocation; a 401/407 is classified and reported (verdict.c) and
 * still answered 204, since we never change a response -- except with
 * AnnotateResponse, where the HTTP headers gain X-Prompt-Cause and the body
 * is echoed back byte for byte. An HTML page is scanned for its embedded
 * objects (htmlbody.c) into the correlation store shared by all children
 * (corrstore.c): from the preview alone, answered 204, when MaxHtmlBytes is
 * at most the preview or the page fits in it; else read on up to
 * MaxHtmlBytes while its body is echoed back unchanged (Squid 5.7 honours a
 * 204 after the preview only for small bodies, see CICAP-NOTES). Directives
 * live in settings.c, counters in stats.c, the event file in eventlog.c. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <c_icap/c-icap.h>
#include <c_icap/body.h>
#include <c_icap/commands.h>
#include <c_icap/debug.h>
#include <c_icap/request.h>
#include <c_icap/service.h>
#include <c_icap/simple_api.h>

#include "corrstore.h"
#include "eventlog.h"
#include "htmlbody.h"
#include "request_view.h"
#include "settings.h"
#include "stats.h"
#include "verdict.h"

/* Squid 5.7 caps the preview at 64 KiB whatever we advertise (TheBackupLimit
 * = BodyPipe::MaxCapacity = 65536). c-icap sizes its preview buffer from the
 * Preview header Squid sends -- min(this value, body size) -- plus 64 bytes,
 * allocated once per connection and kept (never zeroed), so a large value
 * costs nothing for a 401 of a few hundred bytes. The HTML scanner (2xx pages)
 * wants as much as Squid sends in preview, where a 204 is always honoured; so
 * we ask for nearly Squid's maximum. Not all of it: Squid's virgin-body pipe
 * holds at most 65535 bytes (its MemBuf keeps one byte for a terminator) and
 * keeps the preview there as backup until the service answers.
 * Measured through Squid 5.7 + c-icap 0.5.10 (bodies of 65,016 to 70,016 B,
 * 100 KB and 1 MB, 401s and HTML pages, AnnotateResponse on and off):
 *   65536: every body over 65535 B hangs -- the preview never fills -- and
 *          Squid answers 500 after c-icap's Timeout (408);
 *   65535: the pipe is full when the preview is sent; 204 in preview works,
 *          but every transaction that goes on past it hangs the same way
 *          (annotated 401s, pages read on): after our 100 Continue Squid
 *          consumes the preview ("consuming 65535 out of 65535", debug 93,9)
 *          and never sends the rest;
 *   65534, 64512, 61440: no failure, every body byte-identical.
 * 64512 keeps 1 KiB between the preview and a full pipe instead of betting on
 * the last byte (Squid's own code says its HTTP side "does not use the last
 * bytes in the buffer"); the scanner loses 1.6 % of the preview for it. */
#define PREVIEW_BYTES 64512
/* Room added to the echo ring beyond the preview bytes it must hold at once. */
#define ECHO_RING_EXTRA 16384

/* Per-request state, only for a response whose body we echo: an annotated
 * 401/407, or a page read past the preview (html set while it is scanned). */
struct echo_state {
    ci_ring_buf_t *ring;
    bool eof;
    struct htmlbody *html;
};

static int pc_init_service(ci_service_xdata_t *xd, struct ci_server_conf *conf);
static int pc_post_init_service(ci_service_xdata_t *xd, struct ci_server_conf *conf);
static void pc_close_service(void);
static void *pc_init_request_data(ci_request_t *req);
static void pc_release_request_data(void *data);
static int pc_check_preview(char *data, int len, ci_request_t *req);
static int pc_end_of_data(ci_request_t *req);
static int pc_io(char *wbuf, int *wlen, char *rbuf, int *rlen, int iseof, ci_request_t *req);

CI_DECLARE_MOD_DATA ci_service_module_t service = {
    "promptcause",
    "Explains why browsers prompt for credentials (401/407 classifier)",
    ICAP_RESPMOD,
    pc_init_service,
    pc_post_init_service,
    pc_close_service,
    pc_init_request_data,
    pc_release_request_data,
    pc_check_preview,
    pc_end_of_data,
    pc_io,
    settings_conf_table,
    NULL,
};

static bool started; /* post_init succeeded once: later failures are reloads */
/* Made in post_init before the fork, read-only pointer afterwards; NULL when
 * StoreBytes is 0 (no correlation, no page scanning). */
static struct corrstore *store;

/* Runs when the Service line is read, before our directives: defaults and
 * OPTIONS capabilities only. */
static int pc_init_service(ci_service_xdata_t *xd, struct ci_server_conf *conf)
{
    if (settings_reset(conf != NULL ? conf->cfg_file : NULL) != 0) {
        settings_say("out of memory while loading the service");
        return CI_ERROR;
    }
    (void)stats_register();
    ci_service_set_preview(xd, PREVIEW_BYTES);
    ci_service_enable_204(xd);
    ci_service_set_transfer_preview(xd, "*");
    ci_service_set_xopts(xd, CI_XCLIENTIP | CI_XAUTHENTICATEDUSER);
    return CI_OK;
}

/* A child stopping (graceful end, MaxRequestsPerChild, reconfigure): its
 * request threads are done, write out what still waits. */
static void flush_at_child_stop(const char *name, int type, void *data)
{
    (void)name;
    (void)type;
    (void)data;
    eventlog_child_stop();
}

/* A child starting: its thread for lines deferred under load. */
static void flusher_at_child_start(const char *name, int type, void *data)
{
    (void)name;
    (void)type;
    (void)data;
    eventlog_child_start();
}

/* In the main process after a child exited: a child that crashed may have
 * left lines in the shared buffer with no thread of its own to write them. */
static void flush_after_child(const char *name, process_pid_t pid, int reason, void *data)
{
    (void)name;
    (void)pid;
    (void)reason;
    (void)data;
    (void)eventlog_flush();
}

/* Runs after the whole configuration is read, before the children fork. A
 * problem at first start stops c-icap (exit 1, message on stderr and syslog);
 * on a reload the service is marked failed instead, since exiting would stop
 * a running proxy's ICAP server. An unwritable EventLog is no reason to stop:
 * it is said once and then counted as write errors. */
static int pc_post_init_service(ci_service_xdata_t *xd, struct ci_server_conf *conf)
{
    char err[512];
    (void)conf;
    if (settings_finish(err, sizeof err) != 0) {
        settings_say(err);
        if (!started) {
            exit(1);
        }
        return CI_ERROR;
    }
    /* promptcause.MaxConnections is c-icap's own per-service directive, read
     * before ours could check it: c-icap takes "abc" or "0" as 0 (advertised
     * as Max-Connections: 0) and a huge number cut to an int. -1 is unset. */
    if (xd->max_connections == 0 || xd->max_connections > 100000 || xd->max_connections < -1) {
        snprintf(err, sizeof err,
                 "promptcause.MaxConnections: expected a number of connections between 1 and 100000, "
                 "read as %d",
                 xd->max_connections);
        settings_say(err);
        if (!started) {
            exit(1);
        }
        return CI_ERROR;
    }
    const struct settings *s = settings_get();
    if (s->event_log != NULL && eventlog_open(s->event_log, s->event_log_delay_ms, err, sizeof err) != 0) {
        settings_say(err);
    }
    /* c-icap forgets registered commands on a reconfigure: register each time */
    ci_command_register_action("promptcause_event_flusher", CHILD_START_CMD, NULL, flusher_at_child_start);
    ci_command_register_action("promptcause_flush_events", CHILD_STOP_CMD, NULL, flush_at_child_stop);
    ci_command_register_child_cleanup("promptcause_flush_dead_child", NULL, flush_after_child);
    verdict_syslog(s->syslog_facility);
    corrstore_destroy(store); /* a reconfigure: the new children get a new store */
    store = NULL;
    if (s->store_bytes > 0 &&
        (store = corrstore_create((size_t)s->store_bytes, s->correlation_window, err, sizeof err)) == NULL) {
        settings_say(err);
        if (!started) {
            exit(1);
        }
        return CI_ERROR;
    }
    started = true;
    return CI_OK;
}

static void pc_close_service(void)
{
    corrstore_destroy(store);
    store = NULL;
    eventlog_close();
    verdict_syslog(-1);
    settings_release();
}

/* Nothing per request on the hot path; the echo state is made on demand. */
static void *pc_init_request_data(ci_request_t *req)
{
    (void)req;
    return NULL;
}

/* Name the child in c-icap's access log: `%{promptcause}Sa` gives "pid=N
 * page" or "pid=N 401" -- which child saw a page or a 401 (the end-to-end
 * test proves with it that the store is shared). Only for transactions we
 * work on; c-icap allocates the attribute list on first use. The pid is
 * cached: getpid(2) is a real system call (glibc keeps no cache), 2.4 % of a
 * child's CPU per 401 in the ICAP benchmark. Only children serve requests and
 * each starts with the cache at 0, since the main process never calls this. */
static void log_attribute(ci_request_t *req, const char *what)
{
    static long self;
    char v[48];
    long pid = __atomic_load_n(&self, __ATOMIC_RELAXED);
    if (pid == 0) {
        pid = (long)getpid();
        __atomic_store_n(&self, pid, __ATOMIC_RELAXED);
    }
    snprintf(v, sizeof v, "pid=%ld %s", pid, what);
    (void)ci_request_set_str_attribute(req, "promptcause", v);
}

/* Count what a page gave, then free its scanner. */
static void page_close(struct htmlbody *hb)
{
    struct htmlbody_stats hs;
    htmlbody_finish(hb);
    htmlbody_get_stats(hb, &hs);
    stats_add(STATS_HTML_BYTES, hs.html_bytes);
    stats_add(STATS_HTML_OBJECTS, hs.objects);
    stats_add(STATS_STORE_EVICTIONS, hs.evictions);
    if (hs.decode_error) {
        stats_inc(STATS_HTML_DECODE_ERRORS);
    }
    if (hs.store_error) {
        stats_inc(STATS_STORE_ERRORS);
    }
    htmlbody_free(hb);
}

static void pc_release_request_data(void *data)
{
    struct echo_state *st = data;
    if (st != NULL) {
        if (st->html != NULL) {
            page_close(st->html); /* the transaction ended early */
        }
        if (st->ring != NULL) {
            ci_ring_buf_destroy(st->ring);
        }
        free(st);
    }
}

/* Set up echoing the response back unchanged; html (may be NULL) scans the
 * rest of the body on the way and is owned by the echo from here on. Returns
 * CI_MOD_CONTINUE, or CI_MOD_ALLOW204 after counting an internal error. */
static int echo_start(ci_request_t *req, const char *data, int len, struct htmlbody *html)
{
    if (!ci_req_hasbody(req)) {
        if (html != NULL) {
            page_close(html);
        }
        return CI_MOD_CONTINUE; /* headers only: c-icap sends them with our header */
    }
    struct echo_state *st = calloc(1, sizeof *st);
    if (st == NULL) {
        if (html != NULL) {
            page_close(html);
        }
        stats_inc(STATS_INTERNAL_ERRORS);
        return CI_MOD_ALLOW204;
    }
    st->html = html;
    if ((st->ring = ci_ring_buf_new(len + ECHO_RING_EXTRA)) == NULL) {
        pc_release_request_data(st);
        stats_inc(STATS_INTERNAL_ERRORS);
        return CI_MOD_ALLOW204;
    }
    if (len > 0 && ci_ring_buf_write(st->ring, data, len) != len) {
        pc_release_request_data(st);
        stats_inc(STATS_INTERNAL_ERRORS);
        return CI_MOD_ALLOW204;
    }
    st->eof = ci_req_hasalldata(req) != 0;
    req->service_data = st;
    ci_req_unlock_data(req);
    return CI_MOD_CONTINUE;
}

/* A 2xx response: when it is an anonymous HTML page in an encoding we can
 * read, scan what the preview brought; answer 204 unless the page goes on
 * past the preview and MaxHtmlBytes asks for more. */
static int page_preview(ci_request_t *req, const char *data, int len)
{
    struct page_view pv;
    struct htmlbody *hb;
    uint64_t max = settings_get()->max_html_bytes;
    if (!request_view_page(req, &pv) ||
        (hb = htmlbody_new(store, pv.client, pv.url, htmlbody_encoding_of(pv.content_encoding), max)) == NULL) {
        return CI_MOD_ALLOW204; /* not a page, an unknown encoding, a relative URL, or out of memory */
    }
    stats_inc(STATS_HTML_PAGES);
    log_attribute(req, "page");
    htmlbody_feed(hb, data, len > 0 ? (size_t)len : 0);
    if (ci_req_hasalldata(req) || htmlbody_done(hb) || max <= PREVIEW_BYTES) {
        page_close(hb);
        return CI_MOD_ALLOW204;
    }
    stats_inc(STATS_HTML_READ_ON);
    return echo_start(req, data, len, hb);
}

static int pc_check_preview(char *data, int len, ci_request_t *req)
{
    stats_inc(STATS_RESPONSES);
    int status = request_view_status(req);
    if (status >= 200 && status < 300 && store != NULL) {
        return page_preview(req, data, len);
    }
    if (status != 401 && status != 407) {
        return CI_MOD_ALLOW204;
    }
    log_attribute(req, status == 401 ? "401" : "407");
    if (verdict_run(req, status, data, data != NULL && len > 0 ? (size_t)len : 0, store) != 0) {
        stats_inc(STATS_INTERNAL_ERRORS);
        ci_debug_printf(2, "promptcause: internal error classifying a %d, answered unchanged\n", status);
        return CI_MOD_ALLOW204;
    }
    if (!settings_get()->annotate) {
        return CI_MOD_ALLOW204;
    }
    return echo_start(req, data, data != NULL && len > 0 ? len : 0, NULL);
}

static int pc_end_of_data(ci_request_t *req)
{
    struct echo_state *st = ci_service_data(req);
    if (st != NULL) {
        st->eof = true;
        if (st->html != NULL) {
            page_close(st->html);
            st->html = NULL;
        }
    }
    return CI_MOD_DONE;
}

/* Echo: what Squid sends goes into the ring, what the ring holds goes back;
 * a page being read is scanned as its bytes enter the ring, so its objects
 * are in the store before the browser can see them. */
static int pc_io(char *wbuf, int *wlen, char *rbuf, int *rlen, int iseof, ci_request_t *req)
{
    struct echo_state *st = ci_service_data(req);
    (void)iseof;
    if (st == NULL) {
        return CI_ERROR;
    }
    if (rbuf != NULL && rlen != NULL) {
        *rlen = ci_ring_buf_write(st->ring, rbuf, *rlen);
        if (st->html != NULL && *rlen > 0) {
            htmlbody_feed(st->html, rbuf, (size_t)*rlen);
            if (htmlbody_done(st->html)) {
                page_close(st->html); /* MaxHtmlBytes reached: the echo goes on alone */
                st->html = NULL;
            }
        }
    }
    if (wbuf != NULL && wlen != NULL) {
        *wlen = ci_ring_buf_read(st->ring, wbuf, *wlen);
        if (*wlen == 0 && st->eof) {
            *wlen = CI_EOF;
        }
    }
    return CI_OK;
}
