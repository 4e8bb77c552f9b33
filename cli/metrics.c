/* metrics.c -- the /metrics endpoint of `promptcause watch` (see metrics.h for
 * the threading; docs/WATCH.md "Metrics" for every metric and its bounds).
 *
 * Events are counted in a fixed table indexed by (cause, prompt, reason),
 * each axis a closed vocabulary taken from core/event.c's names plus
 * "unknown" (null in the event) and "other" (a value this build does not
 * know; the log is untrusted input and may be hand-edited). So the series
 * count is bounded by the product of the vocabularies whatever the log
 * holds, and counting an event is a few short string compares. Hosts go
 * through core/hostset.c (top N, rest "other"). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "event.h"
#include "hostset.h"
#include "metrics.h"
#include "promtext.h"

#define VOCAB_MAX 40 /* names per axis, with unknown and other */
#define ENUM_PROBE 64 /* enum values probed for names */

struct vocab {
    const char *name[VOCAB_MAX];
    size_t n;       /* known names; then "unknown" at n, "other" at n+1 */
    const char *empty; /* label for an empty value */
};

struct metrics {
    struct vocab cause, prompt, reason;
    unsigned long long *events; /* cause.n+2 x prompt.n+2 x reason.n+2 */
    unsigned long long prompting, total;
    struct hostset *hosts;
    size_t top_n;
    struct MHD_Daemon *httpd;
    pthread_mutex_t lock;
    char *page; /* published page, guarded by lock */
    size_t page_len;
    unsigned long long btime; /* boot time from /proc/stat, 0: unknown */
    bool started;        /* set once MHD_start_daemon returned */
    char start_err[256]; /* libmicrohttpd's message while starting */
};

static void vocab_add(struct vocab *v, const char *name)
{
    if (name != NULL && v->n < VOCAB_MAX - 2)
        v->name[v->n++] = name;
}

static size_t vocab_size(const struct vocab *v)
{
    return v->n + 2;
}

static const char *vocab_label(const struct vocab *v, size_t i)
{
    return i < v->n ? v->name[i] : i == v->n ? v->empty : "other";
}

static size_t vocab_index(const struct vocab *v, const char *s)
{
    if (s[0] == '\0')
        return v->n;
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->name[i], s) == 0)
            return i;
    return v->n + 1;
}

/* The vocabularies from core's enum name functions, so a cause or reason
 * added there is a label here without touching this file. */
static void vocab_build(struct metrics *m)
{
    for (int i = 0; i < ENUM_PROBE; i++) {
        vocab_add(&m->cause, event_cause_name((enum event_cause)i));
        vocab_add(&m->prompt, event_prompt_name((enum event_prompt)i));
        vocab_add(&m->reason, event_reason_name((enum event_reason)i));
    }
    m->cause.empty = "unknown";
    m->prompt.empty = "unknown";
    m->reason.empty = "none"; /* SPEC §2a: null when nothing more is visible */
}

void metrics_event(struct metrics *m, const struct evrec *ev)
{
    size_t c = vocab_index(&m->cause, ev->cause);
    size_t p = vocab_index(&m->prompt, ev->prompt);
    size_t r = vocab_index(&m->reason, ev->reason);
    m->events[(c * vocab_size(&m->prompt) + p) * vocab_size(&m->reason) + r]++;
    m->total++;
    if (evparse_prompts(ev->prompt))
        m->prompting++;
    hostset_add(m->hosts, ev->host, strlen(ev->host));
}

/* ---- rendering ----------------------------------------------------------- */

static void sample0(struct promtext *t, const char *name, double v)
{
    promtext_sample(t, name, NULL, NULL, 0, v);
}

static void sample1(struct promtext *t, const char *name, const char *k, const char *v, double x)
{
    const char *keys[1] = {k}, *vals[1] = {v};
    promtext_sample(t, name, keys, vals, 1, x);
}

static void host_sample(void *arg, const char *host, unsigned long long count)
{
    sample1(arg, "promptcause_events_by_host_total", "host", host, (double)count);
}

static const char *target_name(int i)
{
    return i == SEND_ALERTMANAGER ? "alertmanager" : "webhook";
}

void metrics_render(struct metrics *m, const struct metrics_gauges *g, struct promtext *t)
{
    promtext_family(t, "promptcause_events_total", "counter",
                    "Events read from the event log, by cause, prompt and reason (SPEC 3; "
                    "unknown: null, other: a value this build does not know).");
    static const char *const ekeys[3] = {"cause", "prompt", "reason"};
    size_t np = vocab_size(&m->prompt), nr = vocab_size(&m->reason);
    for (size_t c = 0; c < vocab_size(&m->cause); c++)
        for (size_t p = 0; p < np; p++)
            for (size_t r = 0; r < nr; r++) {
                unsigned long long n = m->events[(c * np + p) * nr + r];
                if (n == 0)
                    continue;
                const char *vals[3] = {vocab_label(&m->cause, c), vocab_label(&m->prompt, p),
                                       vocab_label(&m->reason, r)};
                promtext_sample(t, "promptcause_events_total", ekeys, vals, 3, (double)n);
            }
    promtext_family(t, "promptcause_prompting_events_total", "counter",
                    "Events that show the user a password box (prompt not none, silent, suppressed).");
    sample0(t, "promptcause_prompting_events_total", (double)m->prompting);
    char help[200];
    snprintf(help, sizeof help,
             "Events by host: the top %zu hosts by count have their own series, counted "
             "from when they entered the top; all other events are under host=\"other\".",
             m->top_n);
    promtext_family(t, "promptcause_events_by_host_total", "counter", help);
    hostset_foreach(m->hosts, host_sample, t);

    promtext_family(t, "promptcause_watch_lines_total", "counter",
                    "Complete lines read from the event log.");
    sample0(t, "promptcause_watch_lines_total", g->follow ? (double)g->follow->lines : 0);
    promtext_family(t, "promptcause_watch_garbage_lines_total", "counter",
                    "Lines skipped: not a version-1 event with a usable timestamp, or over-long.");
    sample0(t, "promptcause_watch_garbage_lines_total",
            (double)g->garbage + (g->follow ? (double)g->follow->overlong : 0));
    promtext_family(t, "promptcause_watch_rotations_total", "counter",
                    "Times the event log path named a new file.");
    sample0(t, "promptcause_watch_rotations_total", g->follow ? (double)g->follow->rotations : 0);
    promtext_family(t, "promptcause_follow_offset_bytes", "gauge",
                    "Offset in the followed event log after the last complete line read.");
    sample0(t, "promptcause_follow_offset_bytes", g->follow_offset);
    promtext_family(t, "promptcause_follow_file_size_bytes", "gauge",
                    "Size of the followed event log (minus the offset: bytes not read yet).");
    if (g->follow_size >= 0)
        sample0(t, "promptcause_follow_file_size_bytes", g->follow_size);

    promtext_family(t, "promptcause_storms_active", "gauge", "Prompt storms active now, by kind.");
    for (int k = 0; k < STORM_KINDS; k++)
        sample1(t, "promptcause_storms_active", "kind", storm_kind_name((enum storm_kind)k),
                (double)g->storms_active[k]);
    promtext_family(t, "promptcause_storms_fired_total", "counter", "Prompt storms raised.");
    sample0(t, "promptcause_storms_fired_total", g->storm ? (double)g->storm->fired : 0);
    promtext_family(t, "promptcause_storms_resolved_total", "counter", "Prompt storms resolved.");
    sample0(t, "promptcause_storms_resolved_total", g->storm ? (double)g->storm->resolved : 0);

    promtext_family(t, "promptcause_delivery_queue_depth", "gauge",
                    "Alert messages waiting for delivery, by target.");
    for (int i = 0; i < SEND_TARGETS; i++)
        if (g->target_enabled[i])
            sample1(t, "promptcause_delivery_queue_depth", "target", target_name(i),
                    (double)g->queue_depth[i]);
    promtext_family(t, "promptcause_delivery_oldest_undelivered_age_seconds", "gauge",
                    "Age of the oldest alert message not yet delivered, by target (0: none waiting).");
    for (int i = 0; i < SEND_TARGETS; i++)
        if (g->target_enabled[i])
            sample1(t, "promptcause_delivery_oldest_undelivered_age_seconds", "target",
                    target_name(i), g->oldest_age[i]);
    promtext_family(t, "promptcause_delivery_delivered_total", "counter",
                    "Alert messages delivered, by target.");
    for (int i = 0; i < SEND_TARGETS; i++)
        if (g->target_enabled[i] && g->send[i])
            sample1(t, "promptcause_delivery_delivered_total", "target", target_name(i),
                    (double)g->send[i]->delivered);
    promtext_family(t, "promptcause_delivery_failures_total", "counter",
                    "Failed delivery attempts (retried), by target.");
    for (int i = 0; i < SEND_TARGETS; i++)
        if (g->target_enabled[i] && g->send[i])
            sample1(t, "promptcause_delivery_failures_total", "target", target_name(i),
                    (double)g->send[i]->failures);
}

int metrics_publish(struct metrics *m, const struct metrics_gauges *g)
{
    struct promtext t;
    promtext_init(&t);
    metrics_render(m, g, &t);
    if (t.failed) {
        promtext_free(&t);
        return -1;
    }
    pthread_mutex_lock(&m->lock);
    char *old = m->page;
    m->page = t.buf;
    m->page_len = t.len;
    pthread_mutex_unlock(&m->lock);
    free(old);
    return 0;
}

/* ---- process metrics ------------------------------------------------------ */

/* Read a small /proc file into buf (at most cap-1 bytes, NUL-terminated).
 * Returns its length, -1 when it cannot be read. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t r = read(fd, buf + len, cap - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    return (ssize_t)len;
}

/* Boot time from /proc/stat, read once: it is after the per-CPU lines, so
 * the file is read whole (it can exceed 4 KiB on many CPUs). 0 when unknown. */
static unsigned long long read_btime(void)
{
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    unsigned long long btime = 0;
    ssize_t n = buf ? read_small("/proc/stat", buf, cap) : -1;
    if (n <= 0 || promtext_parse_btime(buf, (size_t)n, &btime) != 0)
        btime = 0;
    free(buf);
    return btime;
}

void metrics_process(struct promtext *t, unsigned long long btime)
{
    long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    char buf[4096];
    struct promtext_procstat ps;
    ssize_t n = read_small("/proc/self/stat", buf, sizeof buf);
    bool have_stat = n > 0 && tck > 0 && promtext_parse_procstat(buf, (size_t)n, &ps) == 0;
    if (have_stat) {
        promtext_family(t, "process_cpu_seconds_total", "counter",
                        "Total user and system CPU time spent in seconds.");
        sample0(t, "process_cpu_seconds_total", (double)(ps.utime + ps.stime) / (double)tck);
        promtext_family(t, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
        sample0(t, "process_resident_memory_bytes", (double)ps.rss * (double)(page > 0 ? page : 4096));
        promtext_family(t, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
        sample0(t, "process_virtual_memory_bytes", (double)ps.vsize);
        if (btime > 0) {
            promtext_family(t, "process_start_time_seconds", "gauge",
                            "Start time of the process since unix epoch in seconds.");
            sample0(t, "process_start_time_seconds", (double)btime + (double)ps.starttime / (double)tck);
        }
    }
    DIR *d = opendir("/proc/self/fd");
    if (d != NULL) {
        unsigned long fds = 0;
        struct dirent *de;
        while ((de = readdir(d)) != NULL)
            if (de->d_name[0] != '.')
                fds++;
        closedir(d);
        promtext_family(t, "process_open_fds", "gauge", "Number of open file descriptors.");
        sample0(t, "process_open_fds", (double)(fds > 0 ? fds - 1 : 0)); /* not the directory's own */
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        promtext_family(t, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
        sample0(t, "process_max_fds", (double)rl.rlim_cur);
    }
}

/* ---- HTTP ------------------------------------------------------------------- */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, char *body,
                             size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text)
{
    char *b = strdup(text);
    if (b == NULL)
        return MHD_NO;
    return reply(c, status, "text/plain; charset=utf-8", b, strlen(b));
}

/* The server thread's handler: GET/HEAD /metrics copies the published page
 * and appends the process metrics; / names the endpoint; the rest 404/405. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct metrics *m = cls;
    (void)version;
    (void)upload;
    (void)con_cls;
    if (*upload_size != 0) {
        *upload_size = 0; /* ignore request bodies */
        return MHD_YES;
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    if (strcmp(url, "/") == 0)
        return reply_text(c, MHD_HTTP_OK, "promptcause watch: metrics at /metrics\n");
    if (strcmp(url, "/metrics") != 0)
        return reply_text(c, MHD_HTTP_NOT_FOUND, "not found; metrics at /metrics\n");
    struct promtext t;
    promtext_init(&t);
    pthread_mutex_lock(&m->lock);
    if (m->page != NULL)
        promtext_raw(&t, m->page, m->page_len);
    pthread_mutex_unlock(&m->lock);
    metrics_process(&t, m->btime);
    if (t.failed) {
        promtext_free(&t);
        return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    }
    if (t.buf == NULL)
        promtext_raw(&t, "", 0);
    return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", t.buf, t.len);
}

/* libmicrohttpd's messages: while starting, kept for our one-line error
 * (SPEC §6); later, printed with our prefix. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct metrics *m = cls;
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t l = strlen(msg);
    while (l > 0 && (msg[l - 1] == '\n' || msg[l - 1] == '.'))
        msg[--l] = '\0';
    if (!m->started) {
        if (m->start_err[0] == '\0')
            snprintf(m->start_err, sizeof m->start_err, "%s", msg);
        return;
    }
    fprintf(stderr, "promptcause watch: metrics server: %s\n", msg);
}

/* Split "HOST:PORT", "[V6]:PORT" or ":PORT" and resolve it. Returns the
 * address list (freeaddrinfo) or NULL with a message in err. */
static struct addrinfo *parse_addr(const char *addr, char *err, size_t errlen)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon[1] == '\0') {
        snprintf(err, errlen, "--metrics '%s': expected ADDR:PORT (e.g. 127.0.0.1:9464)", addr);
        return NULL;
    }
    char host[256];
    size_t hl = (size_t)(colon - addr);
    const char *h = addr;
    if (hl >= 2 && addr[0] == '[' && addr[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl >= sizeof host) {
        snprintf(err, errlen, "--metrics '%s': address too long", addr);
        return NULL;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 0 || port > 65535) {
        snprintf(err, errlen, "--metrics '%s': bad port '%s'", addr, colon + 1);
        return NULL;
    }
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(hl ? host : NULL, colon + 1, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "--metrics '%s': %s", addr, gai_strerror(rc));
        return NULL;
    }
    return res;
}

struct metrics *metrics_new(const char *addr, size_t top_n, char *err, size_t errlen)
{
    struct metrics *m = calloc(1, sizeof *m);
    if (m == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&m->lock, NULL);
    vocab_build(m);
    m->top_n = top_n;
    m->btime = read_btime();
    m->events = calloc(vocab_size(&m->cause) * vocab_size(&m->prompt) * vocab_size(&m->reason),
                       sizeof *m->events);
    m->hosts = hostset_new(top_n);
    if (m->events == NULL || m->hosts == NULL) {
        snprintf(err, errlen, m->hosts == NULL && m->events != NULL
                                  ? "--metrics-hosts must be 1..1000"
                                  : "out of memory");
        goto err;
    }
    struct addrinfo *ai = parse_addr(addr, err, errlen);
    if (ai == NULL)
        goto err;
    /* The server thread inherits this mask: termination signals go to the
     * loop's thread, whose flags they set. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_AUTO;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    m->httpd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, m, MHD_OPTION_EXTERNAL_LOGGER,
                                on_mhd_log, m, MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    int e = errno;
    m->started = true;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    freeaddrinfo(ai);
    if (m->httpd == NULL) {
        snprintf(err, errlen, "--metrics %s: cannot listen: %s", addr,
                 e ? strerror(e) : m->start_err[0] ? m->start_err : "libmicrohttpd error");
        goto err;
    }
    return m;
err:
    metrics_free(m);
    return NULL;
}

void metrics_free(struct metrics *m)
{
    if (m == NULL)
        return;
    if (m->httpd != NULL)
        MHD_stop_daemon(m->httpd);
    hostset_free(m->hosts);
    free(m->events);
    free(m->page);
    pthread_mutex_destroy(&m->lock);
    free(m);
}
