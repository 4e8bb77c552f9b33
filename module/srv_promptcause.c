/* srv_promptcause.c -- the c-icap RESPMOD service `promptcause`: callbacks only.
 *
 * Every response Squid sends us is decided in the preview handler: anything
 * that is not a 401/407 gets 204 at once, before any allocation; a 401/407 is
 * classified and reported (verdict.c) and still answered 204, since we never
 * change a response -- except with AnnotateResponse, where the HTTP headers
 * gain X-Prompt-Cause and the body is echoed back byte for byte. Directives
 * live in settings.c, counters in stats.c, the event file in eventlog.c. */
#include <stdbool.h>
#include <stdlib.h>

#include <c_icap/c-icap.h>
#include <c_icap/body.h>
#include <c_icap/debug.h>
#include <c_icap/request.h>
#include <c_icap/service.h>
#include <c_icap/simple_api.h>

#include "eventlog.h"
#include "request_view.h"
#include "settings.h"
#include "stats.h"
#include "verdict.h"

/* Squid 5.7 caps the preview at 64 KiB whatever we advertise, and c-icap
 * keeps a Preview+64 byte buffer per connection. A 401 body needs a few hundred
 * bytes, but the HTML scanner (2xx pages) wants as much as Squid will send in
 * preview, where a 204 is always honoured; so we ask for Squid's maximum, less
 * one byte: Squid buffers the body in a 64 KiB pipe that keeps a byte for a
 * terminator, so a 65536-byte preview of a larger body never fills and the
 * transaction hangs until c-icap's Timeout (408), seen with 100 KB pages in
 * test_squid_e2e. 65535 fills. */
#define PREVIEW_BYTES 65535
/* Room added to the echo ring beyond the preview bytes it must hold at once. */
#define ECHO_RING_EXTRA 16384

/* Per-request state, only for an annotated response whose body we echo. */
struct echo_state {
    ci_ring_buf_t *ring;
    bool eof;
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
    const struct settings *s = settings_get();
    if (s->event_log != NULL && eventlog_open(s->event_log, err, sizeof err) != 0) {
        settings_say(err);
    }
    verdict_syslog(s->syslog_facility);
    if (s->max_connections > 0) {
        ci_service_set_max_connections(xd, s->max_connections);
    }
    started = true;
    return CI_OK;
}

static void pc_close_service(void)
{
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

static void pc_release_request_data(void *data)
{
    struct echo_state *st = data;
    if (st != NULL) {
        if (st->ring != NULL) {
            ci_ring_buf_destroy(st->ring);
        }
        free(st);
    }
}

/* Set up echoing the (annotated) response back unchanged. Returns
 * CI_MOD_CONTINUE, or CI_MOD_ALLOW204 after counting an internal error. */
static int echo_start(ci_request_t *req, const char *data, int len)
{
    if (!ci_req_hasbody(req)) {
        return CI_MOD_CONTINUE; /* headers only: c-icap sends them with our header */
    }
    struct echo_state *st = calloc(1, sizeof *st);
    if (st == NULL || (st->ring = ci_ring_buf_new(len + ECHO_RING_EXTRA)) == NULL) {
        free(st);
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

static int pc_check_preview(char *data, int len, ci_request_t *req)
{
    stats_inc(STATS_RESPONSES);
    int status = request_view_status(req);
    if (status != 401 && status != 407) {
        return CI_MOD_ALLOW204;
    }
    if (verdict_run(req, status, data, data != NULL && len > 0 ? (size_t)len : 0) != 0) {
        stats_inc(STATS_INTERNAL_ERRORS);
        ci_debug_printf(2, "promptcause: internal error classifying a %d, answered unchanged\n", status);
        return CI_MOD_ALLOW204;
    }
    if (!settings_get()->annotate) {
        return CI_MOD_ALLOW204;
    }
    return echo_start(req, data, data != NULL && len > 0 ? len : 0);
}

static int pc_end_of_data(ci_request_t *req)
{
    struct echo_state *st = ci_service_data(req);
    if (st != NULL) {
        st->eof = true;
    }
    return CI_MOD_DONE;
}

/* Echo: what Squid sends goes into the ring, what the ring holds goes back. */
static int pc_io(char *wbuf, int *wlen, char *rbuf, int *rlen, int iseof, ci_request_t *req)
{
    struct echo_state *st = ci_service_data(req);
    (void)iseof;
    if (st == NULL) {
        return CI_ERROR;
    }
    if (rbuf != NULL && rlen != NULL) {
        *rlen = ci_ring_buf_write(st->ring, rbuf, *rlen);
    }
    if (wbuf != NULL && wlen != NULL) {
        *wlen = ci_ring_buf_read(st->ring, wbuf, *wlen);
        if (*wlen == 0 && st->eof) {
            *wlen = CI_EOF;
        }
    }
    return CI_OK;
}
