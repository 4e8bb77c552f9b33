/* watch.c -- `promptcause watch`: follow the event log, detect prompt storms
 * (core/storm.c) and send firing and resolved alerts to Alertmanager (API v2)
 * and/or a JSON webhook (SPEC §6 `watch`, §8).
 *
 * One thread, one loop: read what the log has (bounded per turn), feed the
 * detector, resolve quiet storms, queue alert messages, let curl move them
 * (never waiting more than 200 ms), save the state file at most once a
 * second. Signals only set flags. The state file (JSON, replaced atomically)
 * holds the log position (device, inode, offset of the last complete line)
 * and the active storms, so a restart neither re-reads nor skips events and
 * still resolves the storms it raised. Sliding-window counts are not saved;
 * they are rebuilt at start from the events just before the saved offset
 * (warm_up), so a storm that straddles a restart is still seen. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli.h"
#include "evparse.h"
#include "metrics.h"
#include "rules_file.h"
#include "storm.h"
#include "watch.h"

#define CMD "watch"
#define READ_BUDGET (4u << 20) /* bytes per loop turn, so delivery keeps moving under a backlog */
#define GARBAGE_LOGGED 10       /* garbage lines described one by one, then every 1000th */

static volatile sig_atomic_t got_term, got_hup;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        got_hup = 1;
    else
        got_term = 1;
}

struct options {
    const char *events, *webhook, *rules, *state;
    const char *alertmanager[SEND_AM_MAX]; /* --alertmanager, repeated for a cluster's peers */
    size_t n_am;
    const char *metrics;  /* ADDR:PORT or NULL */
    size_t metrics_hosts; /* top N hosts with their own series */
    bool once;
};

struct watch {
    struct options opt;
    struct storm_rules rules;
    struct rules_extra extra;
    struct storm *storm;
    struct follow follow;
    struct sender *sender;
    struct metrics *metrics; /* NULL without --metrics */
    double last_publish;
    char hostname[256];
    unsigned long garbage, bad_version, bad_time, future;
    unsigned long long spool_seq;
    double last_resend;
    bool dirty; /* state changed since last save */
    bool warming; /* re-counting events before the saved offset: no alerts */
    bool oom_reported;
};

static int usage(FILE *f)
{
    fputs("usage: promptcause watch --events PATH [--alertmanager URL]... [--webhook URL]\n"
          "                         [--rules FILE] [--state PATH] [--once]\n"
          "                         [--metrics ADDR:PORT [--metrics-hosts N]]\n\n"
          "Follows the promptcause event log (across rotations and restarts), detects\n"
          "prompt storms and sends firing and resolved alerts to Prometheus Alertmanager\n"
          "(API v2, URL is its base, e.g. http://localhost:9093) and/or a JSON webhook.\n\n"
          "  --events PATH        the EventLog written by the c-icap service\n"
          "  --alertmanager URL   Alertmanager base URL; repeat it for each peer of\n"
          "                       an Alertmanager cluster (up to 4): each gets every alert\n"
          "  --webhook URL        POST one JSON document per firing/resolved alert\n"
          "  --rules FILE         thresholds, windows, quiet period, syslog (see\n"
          "                       etc/storm-rules.example)\n"
          "  --state PATH         position and active storms, kept across restarts;\n"
          "                       undelivered alerts are spooled in PATH.spool/\n"
          "  --once               read what is there, deliver, save state, exit\n"
          "                       (exit 1 when alerts remain undelivered)\n"
          "  --metrics ADDR:PORT  serve Prometheus metrics at http://ADDR:PORT/metrics\n"
          "                       (':PORT' listens on every address)\n"
          "  --metrics-hosts N    hosts with their own events series, the top N by\n"
          "                       count (default 20, at most 1000); the rest: other\n\n"
          "Signals: SIGTERM/SIGINT stop cleanly, SIGHUP re-reads the rules and\n"
          "reopens the event log.\n",
          f);
    return f == stdout ? 0 : CLI_EXIT_USAGE;
}

/* ---- alert messages ------------------------------------------------------ */

static json_t *rfc3339(double t)
{
    char buf[40];
    struct tm tm;
    time_t s = (time_t)t;
    if (gmtime_r(&s, &tm) == NULL)
        return json_string("1970-01-01T00:00:00Z");
    size_t l = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + l, sizeof buf - l, ".%03dZ", (int)((t - (double)s) * 1000) % 1000);
    return json_string(buf);
}

/* "kind:hex" -- stable id of a storm for the spool and for superseding. */
static void alert_id(const struct storm_active *a, char *out, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)a->key; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    snprintf(out, n, "%s:%016llx", storm_kind_name(a->kind), (unsigned long long)h);
}

static void put_label(json_t *o, const char *k, const char *v)
{
    if (v != NULL && v[0] != '\0')
        json_object_set_new(o, k, json_string(v));
}

/* The Alertmanager alert object for a (labels, annotations, startsAt,
 * endsAt). Returns NULL on OOM. */
static json_t *alert_json(struct watch *w, const struct storm_active *a, bool resolved, double now)
{
    json_t *o = json_object(), *lab = json_object(), *ann = json_object();
    if (o == NULL || lab == NULL || ann == NULL)
        goto err;
    put_label(lab, "alertname", "PromptStorm");
    put_label(lab, "kind", storm_kind_name(a->kind));
    put_label(lab, "host", a->kind == STORM_OVERALL ? w->hostname : a->host);
    if (a->kind == STORM_RESOURCE)
        put_label(lab, "url", a->key);
    else if (a->kind == STORM_CLIENT)
        put_label(lab, "client", a->key);
    put_label(lab, "cause", a->cause);
    put_label(lab, "prompt", a->prompt);

    char summary[600], desc[12000];
    const char *more = a->clients_saturated ? "more than " : "";
    double win = w->rules.window[a->kind];
    switch (a->kind) {
    case STORM_RESOURCE:
        snprintf(summary, sizeof summary, "%s%zu users get a password prompt from %.400s", more,
                 a->clients, a->key);
        snprintf(desc, sizeof desc,
                 "%s (%s, prompt %s) refused %s%zu distinct clients (%lu prompts) since the storm began; "
                 "rule: %u clients within %.0f s.%s%s%s%s",
                 a->key, a->cause[0] ? a->cause : "cause unknown", a->prompt, more, a->clients, a->count,
                 w->rules.threshold[a->kind], win, a->parent[0] ? " Embedded in " : "", a->parent,
                 a->hint[0] ? ". Fix: " : "", a->hint);
        break;
    case STORM_CLIENT:
        snprintf(summary, sizeof summary, "client %s got %lu password prompts%s%.200s", a->key,
                 a->count, a->user[0] ? " as " : "", a->user);
        snprintf(desc, sizeof desc,
                 "client %s%s%s got %lu prompts (%s, prompt %s) since the storm began; rule: %u "
                 "prompts within %.0f s. Often a saved password that expired, retried in a loop.%s%s",
                 a->key, a->user[0] ? ", user " : "", a->user, a->count, a->cause, a->prompt,
                 w->rules.threshold[a->kind], win, a->hint[0] ? " Fix: " : "", a->hint);
        break;
    default:
        snprintf(summary, sizeof summary, "%lu password prompts through %s", a->count, w->hostname);
        snprintf(desc, sizeof desc,
                 "%lu prompts to %s%zu distinct clients since the storm began; rule: %u prompts "
                 "within %.0f s. The first was %s, prompt %s.",
                 a->count, more, a->clients, w->rules.threshold[a->kind], win, a->cause, a->prompt);
        break;
    }
    /* SPEC §2a: why the integrated logons failed, when the events said so */
    const char *reason = a->reason != NULL ? a->reason : "";
    if (reason[0] != '\0') {
        size_t dl = strlen(desc);
        snprintf(desc + dl, sizeof desc - dl, " Most frequent reason: %s.", reason);
    }
    put_label(ann, "summary", summary);
    put_label(ann, "reason", reason);
    put_label(ann, "description", desc);
    put_label(ann, "parent", a->parent);
    put_label(ann, "hint", a->hint);
    put_label(ann, "user", a->user);
    char num[32];
    snprintf(num, sizeof num, "%zu", a->clients);
    put_label(ann, "clients", num);
    snprintf(num, sizeof num, "%lu", a->count);
    put_label(ann, "prompts", num);
    put_label(ann, "proxy", w->hostname);

    json_object_set_new(o, "labels", lab);
    json_object_set_new(o, "annotations", ann);
    json_object_set_new(o, "startsAt", rfc3339(a->start));
    /* Firing: valid for four re-send intervals, as Prometheus does, so a
     * watch that dies lets the alert expire instead of firing forever.
     * Resolved: the moment the quiet period ran out. */
    double ends = resolved ? a->last + w->rules.quiet : now + 4 * w->rules.resend;
    if (resolved && ends > now)
        ends = now;
    json_object_set_new(o, "endsAt", rfc3339(ends));
    return o;
err:
    json_decref(o);
    json_decref(lab);
    json_decref(ann);
    return NULL;
}

static void queue_json(struct watch *w, enum send_target t, const char *id, json_t *doc)
{
    char *body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (body == NULL || sender_queue(w->sender, t, id, body, strlen(body)) != 0)
        fprintf(stderr, "promptcause watch: cannot queue/spool an alert for %s: %s\n",
                t == SEND_ALERTMANAGER ? "alertmanager" : "webhook",
                body ? strerror(errno) : "out of memory");
    free(body);
}

/* Queue a storm's current state to Alertmanager (always) and, on a
 * transition, to the webhook. */
static void send_alert(struct watch *w, const struct storm_active *a, int transition, double now)
{
    char id[64];
    alert_id(a, id, sizeof id);
    bool resolved = transition == STORM_RESOLVED;
    if (sender_enabled(w->sender, SEND_ALERTMANAGER)) {
        json_t *arr = json_array();
        json_t *al = alert_json(w, a, resolved, now);
        if (arr && al && json_array_append_new(arr, al) == 0)
            queue_json(w, SEND_ALERTMANAGER, id, arr);
        else {
            json_decref(arr);
            queue_json(w, SEND_ALERTMANAGER, id, NULL);
        }
    }
    if (transition >= 0 && sender_enabled(w->sender, SEND_WEBHOOK)) {
        json_t *al = alert_json(w, a, resolved, now);
        json_t *doc = al ? json_pack("{s:s, s:s, s:s, s:[o]}", "version", "1", "status",
                                     resolved ? "resolved" : "firing", "source", "promptcause watch",
                                     "alerts", al)
                         : NULL;
        if (doc != NULL)
            json_object_set_new(json_array_get(json_object_get(doc, "alerts"), 0), "status",
                            json_string(resolved ? "resolved" : "firing"));
        queue_json(w, SEND_WEBHOOK, id, doc);
    }
}

static void on_transition(void *arg, const struct storm_active *a, enum storm_transition t)
{
    struct watch *w = arg;
    if (w->warming)
        return;
    double now = watch_now();
    const char *what = t == STORM_FIRING ? "firing" : "resolved";
    fprintf(stderr, "promptcause watch: %s %s storm %s: %lu prompts, %zu clients, cause %s, prompt %s\n",
            what, storm_kind_name(a->kind), a->key, a->count, a->clients, a->cause, a->prompt);
    if (w->extra.syslog_facility >= 0)
        syslog(LOG_WARNING, "%s %s storm key=%s host=%s cause=%s prompt=%s prompts=%lu clients=%zu",
               what, storm_kind_name(a->kind), a->key, a->kind == STORM_OVERALL ? w->hostname : a->host,
               a->cause, a->prompt, a->count, a->clients);
    send_alert(w, a, (int)t, now);
    w->dirty = true;
}

static void resend_one(void *arg, const struct storm_active *a)
{
    struct watch *w = arg;
    send_alert(w, a, -1, watch_now());
}

/* ---- lines --------------------------------------------------------------- */

static void on_line(void *arg, const char *line, size_t n)
{
    struct watch *w = arg;
    struct evrec ev;
    w->dirty = true;
    if (n == 0)
        return; /* blank lines are not garbage */
    enum evparse_result r = evparse_line(line, n, &ev);
    if (r == EVPARSE_OK && ev.ts > watch_now() + 3600) {
        w->future++; /* a clock an hour ahead would stall every window */
        r = EVPARSE_BAD_TIME;
    }
    if (r != EVPARSE_OK) {
        w->garbage++;
        if (r == EVPARSE_BAD_VERSION)
            w->bad_version++;
        if (r == EVPARSE_BAD_TIME)
            w->bad_time++;
        if (w->garbage <= GARBAGE_LOGGED || w->garbage % 1000 == 0)
            fprintf(stderr, "promptcause watch: %s: skipped a line (%s): %.*s%s [%lu so far]\n",
                    w->opt.events,
                    r == EVPARSE_NOT_JSON ? "not a JSON object"
                    : r == EVPARSE_BAD_VERSION ? "not event version 1"
                                               : "bad or future timestamp",
                    (int)(n > 80 ? 80 : n), line, n > 80 ? "..." : "", w->garbage);
        return;
    }
    if (w->metrics != NULL)
        metrics_event(w->metrics, &ev);
    if (storm_feed(w->storm, &ev, on_transition, w) != 0 && !w->oom_reported) {
        w->oom_reported = true;
        fprintf(stderr, "promptcause watch: out of memory counting storms\n");
    }
}

/* ---- state --------------------------------------------------------------- */

static void state_active(void *arg, const struct storm_active *a)
{
    json_t *arr = arg;
    json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:f, s:f, s:I, s:I, s:b}",
                                         "kind", storm_kind_name(a->kind), "key", a->key, "host", a->host,
                                         "cause", a->cause, "prompt", a->prompt, "parent", a->parent,
                                         "hint", a->hint, "user", a->user,
                                         "reason", a->reason ? a->reason : "", "start", a->start,
                                         "fired", a->fired, "last", a->last, "count", (json_int_t)a->count,
                                         "clients", (json_int_t)a->clients, "saturated",
                                         a->clients_saturated));
}

/* Replace the state file atomically. Returns 0 or -1 (errno set). */
static int save_state(struct watch *w)
{
    if (w->opt.state == NULL)
        return 0;
    json_t *act = json_array();
    if (act == NULL)
        return -1;
    storm_foreach_active(w->storm, state_active, act);
    const struct storm_stats *st = storm_get_stats(w->storm);
    json_t *doc = json_pack(
        "{s:i, s:s, s:I, s:I, s:I, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I}}", "v", 1, "events",
        w->opt.events, "dev", (json_int_t)w->follow.cur.dev, "ino", (json_int_t)w->follow.cur.ino,
        "offset", (json_int_t)w->follow.cur.offset, "active", act, "counters", "lines",
        (json_int_t)w->follow.stats.lines, "garbage", (json_int_t)w->garbage, "prompting",
        (json_int_t)st->prompting, "fired", (json_int_t)st->fired, "resolved",
        (json_int_t)st->resolved, "evicted_live", (json_int_t)st->evicted_live);
    if (doc == NULL)
        return -1;
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", w->opt.state) >= sizeof tmp) {
        json_decref(doc);
        errno = ENAMETOOLONG;
        return -1;
    }
    int rc = json_dump_file(doc, tmp, JSON_COMPACT);
    json_decref(doc);
    if (rc != 0 || rename(tmp, w->opt.state) != 0) {
        int e = errno ? errno : EIO;
        unlink(tmp);
        errno = e;
        return -1;
    }
    w->dirty = false;
    return 0;
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* Load the state file: position into *dev/ino/offset, active storms into the
 * detector. A missing file is a first start (0). Returns -1 with a message
 * in err when the file exists but cannot be used. */
static int load_state(struct watch *w, dev_t *dev, ino_t *ino, off_t *offset, char *err, size_t errlen)
{
    *dev = 0;
    *ino = 0;
    *offset = 0;
    if (w->opt.state == NULL)
        return 0;
    json_error_t jerr;
    json_t *doc = json_load_file(w->opt.state, 0, &jerr);
    if (doc == NULL) {
        if (access(w->opt.state, F_OK) != 0 && errno == ENOENT)
            return 0;
        snprintf(err, errlen, "state %s: %s (line %d); remove it to start afresh", w->opt.state,
                 jerr.text, jerr.line);
        return -1;
    }
    if (strcmp(jstr(doc, "events"), w->opt.events) == 0) {
        *dev = (dev_t)json_integer_value(json_object_get(doc, "dev"));
        *ino = (ino_t)json_integer_value(json_object_get(doc, "ino"));
        *offset = (off_t)json_integer_value(json_object_get(doc, "offset"));
    } else {
        fprintf(stderr, "promptcause watch: state %s was for %s, starting %s from its beginning\n",
                w->opt.state, jstr(doc, "events"), w->opt.events);
    }
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(doc, "active"), i, a) {
        struct storm_active s = {0};
        const char *kind = jstr(a, "kind");
        s.kind = strcmp(kind, "resource") == 0 ? STORM_RESOURCE
                 : strcmp(kind, "client") == 0 ? STORM_CLIENT
                                                 : STORM_OVERALL;
        s.key = (char *)jstr(a, "key");
        s.host = (char *)jstr(a, "host");
        s.cause = (char *)jstr(a, "cause");
        s.prompt = (char *)jstr(a, "prompt");
        s.parent = (char *)jstr(a, "parent");
        s.hint = (char *)jstr(a, "hint");
        s.user = (char *)jstr(a, "user");
        s.reason = jstr(a, "reason");
        s.start = json_number_value(json_object_get(a, "start"));
        s.fired = json_number_value(json_object_get(a, "fired"));
        s.last = json_number_value(json_object_get(a, "last"));
        s.count = (unsigned long)json_integer_value(json_object_get(a, "count"));
        s.clients = (size_t)json_integer_value(json_object_get(a, "clients"));
        s.clients_saturated = json_is_true(json_object_get(a, "saturated"));
        if (storm_restore(w->storm, &s) != 0)
            fprintf(stderr, "promptcause watch: state: cannot restore %s storm %s\n", kind, s.key);
    }
    json_decref(doc);
    return 0;
}

/* ---- warm-up ------------------------------------------------------------- */

#define WARM_BYTES (16u << 20)

/* After a restart the sliding windows are empty, so a storm whose events
 * straddle two runs (the cron case of --once) would be missed. Re-count the
 * events just before the saved offset whose time is still within the
 * longest window, with alerts muted: nothing is delivered twice, storms
 * already raised were restored as active. Reads at most WARM_BYTES back:
 * O(that) once per start. Best effort: a read error just skips it. */
static void warm_up(struct watch *w, const char *path, dev_t dev, ino_t ino, off_t offset)
{
    if (ino == 0 || offset == 0)
        return;
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_dev != dev || st.st_ino != ino || st.st_size < offset) {
        fclose(f);
        return;
    }
    off_t from = offset > (off_t)WARM_BYTES ? offset - (off_t)WARM_BYTES : 0;
    char *line = NULL;
    size_t cap = 0;
    if (fseeko(f, from, SEEK_SET) == 0) {
        if (from > 0 && getline(&line, &cap, f) < 0) /* skip the cut line */
            from = offset;
        else if (from > 0)
            from = ftello(f);
        double horizon = watch_now();
        double maxwin = 0;
        for (int k = 0; k < STORM_KINDS; k++)
            if (w->rules.window[k] > maxwin)
                maxwin = w->rules.window[k];
        horizon -= maxwin;
        w->warming = true;
        ssize_t n;
        while (from < offset && (n = getline(&line, &cap, f)) > 0) {
            from += n;
            if (from > offset)
                break;
            struct evrec ev;
            if (line[n - 1] == '\n')
                n--;
            if (evparse_line(line, (size_t)n, &ev) == EVPARSE_OK && ev.ts >= horizon)
                storm_feed(w->storm, &ev, on_transition, w);
        }
        w->warming = false;
    }
    free(line);
    fclose(f);
}

/* ---- SIGHUP -------------------------------------------------------------- */

static void carry(void *arg, const struct storm_active *a)
{
    if (storm_restore(arg, a) != 0)
        fprintf(stderr, "promptcause watch: reload: cannot keep %s storm %s\n",
                storm_kind_name(a->kind), a->key);
}

/* Re-read the rules (keeping the old ones when the file is bad: a daemon
 * should not die of a typo), carry active storms over, reopen the log. */
static void reload(struct watch *w)
{
    struct storm_rules r;
    struct rules_extra x;
    char err[512];
    if (rules_file_load(w->opt.rules, &r, &x, err, sizeof err) != 0) {
        fprintf(stderr, "promptcause watch: reload: %s; keeping the old rules\n", err);
    } else {
        struct storm *s = storm_new(&r);
        if (s == NULL) {
            fprintf(stderr, "promptcause watch: reload: out of memory; keeping the old rules\n");
        } else {
            storm_foreach_active(w->storm, carry, s);
            storm_free(w->storm);
            w->storm = s;
            w->rules = r;
            w->extra = x;
            fprintf(stderr, "promptcause watch: reloaded rules%s%s\n", w->opt.rules ? " from " : "",
                    w->opt.rules ? w->opt.rules : "");
        }
    }
    closelog();
    if (w->extra.syslog_facility >= 0)
        openlog("promptcause-watch", LOG_PID, w->extra.syslog_facility);
    follow_reopen(&w->follow);
}

/* ---- metrics ------------------------------------------------------------- */

static void count_active(void *arg, const struct storm_active *a)
{
    size_t *n = arg;
    n[a->kind]++;
}

/* Hand the metrics server a fresh page, at most 4 times a second: the page
 * is rendered whole (O(series), a few dozen lines), so this bounds the
 * cost under a backlog while a scrape is never more than 250 ms stale. */
static void publish(struct watch *w, double now, bool force)
{
    if (w->metrics == NULL || (!force && now - w->last_publish < 0.25))
        return;
    w->last_publish = now;
    struct metrics_gauges g;
    memset(&g, 0, sizeof g);
    storm_foreach_active(w->storm, count_active, g.storms_active);
    for (int i = 0; i < SEND_TARGETS; i++) {
        enum send_target t = (enum send_target)i;
        g.target_enabled[i] = sender_enabled(w->sender, t);
        g.queue_depth[i] = sender_queue_depth(w->sender, t);
        double o = sender_oldest(w->sender, t);
        g.oldest_age[i] = o > 0 && now > o ? now - o : 0;
        g.send[i] = sender_stats(w->sender, t);
    }
    g.follow_offset = (double)w->follow.cur.offset;
    struct stat st;
    g.follow_size = w->follow.cur.fd >= 0 && fstat(w->follow.cur.fd, &st) == 0 ? (double)st.st_size : -1;
    g.follow = &w->follow.stats;
    g.storm = storm_get_stats(w->storm);
    g.garbage = w->garbage;
    if (metrics_publish(w->metrics, &g) != 0)
        fprintf(stderr, "promptcause watch: out of memory rendering metrics\n");
}

/* ---- main ---------------------------------------------------------------- */

static void report(struct watch *w)
{
    const struct storm_stats *st = storm_get_stats(w->storm);
    fprintf(stderr,
            "promptcause watch: %lu lines, %lu events (%lu prompting), %lu garbage, %lu over-long; "
            "%lu rotations, %lu truncations; storms %lu fired, %lu resolved, %zu active; "
            "%lu keys evicted live, %lu dropped; alerts %lu delivered, %zu queued\n",
            w->follow.stats.lines, st->events, st->prompting, w->garbage, w->follow.stats.overlong,
            w->follow.stats.rotations, w->follow.stats.truncations, st->fired, st->resolved,
            storm_active_count(w->storm), st->evicted_live, st->dropped,
            sender_stats(w->sender, SEND_ALERTMANAGER)->delivered +
                sender_stats(w->sender, SEND_WEBHOOK)->delivered,
            sender_pending(w->sender));
}

static int parse_args(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"events", required_argument, NULL, 'e'}, {"alertmanager", required_argument, NULL, 'a'},
        {"webhook", required_argument, NULL, 'w'}, {"rules", required_argument, NULL, 'r'},
        {"state", required_argument, NULL, 's'},  {"once", no_argument, NULL, 'o'},
        {"metrics", required_argument, NULL, 'm'}, {"metrics-hosts", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'e': o->events = optarg; break;
        case 'a':
            if (o->n_am == SEND_AM_MAX)
                return cli_fail(CMD, "at most %d --alertmanager URLs", SEND_AM_MAX);
            o->alertmanager[o->n_am++] = optarg;
            break;
        case 'w': o->webhook = optarg; break;
        case 'r': o->rules = optarg; break;
        case 's': o->state = optarg; break;
        case 'o': o->once = true; break;
        case 'm': o->metrics = optarg; break;
        case 'n': {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end != '\0' || end == optarg || v < 1 || v > 1000)
                return cli_fail(CMD, "--metrics-hosts '%s': expected a number from 1 to 1000", optarg);
            o->metrics_hosts = v;
            break;
        }
        case 'h': return 1;
        default:
            return cli_fail(CMD, "unknown or incomplete option '%s' (try --help)", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_fail(CMD, "unexpected argument '%s' (try --help)", argv[optind]);
    if (o->events == NULL)
        return cli_fail(CMD, "--events PATH is required (try --help)");
    if (o->metrics_hosts != 0 && o->metrics == NULL)
        return cli_fail(CMD, "--metrics-hosts needs --metrics");
    if (o->metrics_hosts == 0)
        o->metrics_hosts = METRICS_HOSTS_DEFAULT;
    for (size_t i = 0; i < o->n_am; i++) {
        const char *u = o->alertmanager[i];
        if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
            return cli_fail(CMD, "'%s' is not an http:// or https:// URL", u);
    }
    if (o->webhook && strncmp(o->webhook, "http://", 7) != 0 && strncmp(o->webhook, "https://", 8) != 0)
        return cli_fail(CMD, "'%s' is not an http:// or https:// URL", o->webhook);
    return 0;
}

int watch_main(int argc, char **argv)
{
    struct watch w;
    memset(&w, 0, sizeof w);
    int rc = parse_args(argc, argv, &w.opt);
    if (rc == 1)
        return usage(stdout);
    if (rc != 0)
        return rc;

    /* Handlers first: a SIGHUP during start-up must not kill the daemon. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    char err[1024];
    if (rules_file_load(w.opt.rules, &w.rules, &w.extra, err, sizeof err) != 0)
        return cli_fail(CMD, "%s", err);
    if (gethostname(w.hostname, sizeof w.hostname - 1) != 0)
        strcpy(w.hostname, "unknown");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return cli_fail(CMD, "cannot initialise libcurl");

    int status = CLI_EXIT_USAGE;
    w.storm = storm_new(&w.rules);
    if (w.storm == NULL) {
        cli_fail(CMD, "out of memory for the storm tables (lower max_clients/max_resources)");
        goto out;
    }
    dev_t dev;
    ino_t ino;
    off_t offset;
    if (load_state(&w, &dev, &ino, &offset, err, sizeof err) != 0) {
        cli_fail(CMD, "%s", err);
        goto out;
    }
    char spool[PATH_MAX];
    if (w.opt.state && (size_t)snprintf(spool, sizeof spool, "%s.spool", w.opt.state) >= sizeof spool) {
        cli_fail(CMD, "state path too long");
        goto out;
    }
    w.sender = sender_new(w.opt.alertmanager, w.opt.n_am, w.opt.webhook, w.opt.state ? spool : NULL,
                          w.extra.timeout, err, sizeof err);
    if (w.sender == NULL) {
        cli_fail(CMD, "%s", err);
        goto out;
    }
    if (w.opt.metrics != NULL &&
        (w.metrics = metrics_new(w.opt.metrics, w.opt.metrics_hosts, err, sizeof err)) == NULL) {
        cli_fail(CMD, "%s", err);
        goto out;
    }
    warm_up(&w, w.opt.events, dev, ino, offset);
    if (follow_init(&w.follow, w.opt.events, dev, ino, offset) != 0) {
        cli_fail(CMD, "out of memory");
        goto out;
    }
    if (access(w.opt.events, R_OK) != 0 && (errno != ENOENT || w.opt.once)) {
        cli_fail(CMD, "cannot read %s: %s", w.opt.events, strerror(errno));
        goto out_follow;
    }
    if (w.extra.syslog_facility >= 0)
        openlog("promptcause-watch", LOG_PID, w.extra.syslog_facility);

    /* Written once at start: an unwritable state path is an error now, not
     * an hour later, and the file's presence tells that watch is running. */
    if (save_state(&w) != 0) {
        cli_fail(CMD, "cannot write state %s: %s", w.opt.state, strerror(errno));
        status = CLI_EXIT_USAGE;
        goto out_follow;
    }

    /* Restored storms are re-sent at once: Alertmanager may have let them
     * expire while watch was down. */
    w.last_resend = watch_now();
    storm_foreach_active(w.storm, resend_one, &w);
    publish(&w, watch_now(), true);

    status = 0;
    double last_save = 0;
    bool read_error_reported = false;
    while (!got_term) {
        if (got_hup) {
            got_hup = 0;
            reload(&w);
        }
        double now = watch_now();
        long got = follow_poll(&w.follow, now, READ_BUDGET, on_line, &w);
        if (got < 0 && !read_error_reported) {
            fprintf(stderr, "promptcause watch: reading %s: %s\n", w.opt.events, strerror(errno));
            read_error_reported = true;
            if (w.opt.once) {
                status = CLI_EXIT_USAGE;
                break;
            }
        } else if (got >= 0) {
            read_error_reported = false;
        }
        now = watch_now();
        double clock = now > storm_now(w.storm) ? now : storm_now(w.storm);
        storm_tick(w.storm, clock, on_transition, &w);
        if (now - w.last_resend >= w.rules.resend && sender_enabled(w.sender, SEND_ALERTMANAGER)) {
            w.last_resend = now;
            storm_foreach_active(w.storm, resend_one, &w);
        }
        bool caught_up = got >= 0 && (size_t)got < READ_BUDGET;
        if (w.opt.once && caught_up) {
            /* Latest counts for every active storm (replacing the queued
             * firing message), and the re-send Alertmanager expects each run. */
            if (sender_enabled(w.sender, SEND_ALERTMANAGER))
                storm_foreach_active(w.storm, resend_one, &w);
            break;
        }
        sender_step(w.sender, now, caught_up ? 200 : 0);
        publish(&w, watch_now(), false);
        if ((w.dirty && now - last_save >= 1.0) || (got > 0 && now - last_save >= 1.0)) {
            if (save_state(&w) != 0)
                fprintf(stderr, "promptcause watch: cannot save state %s: %s\n", w.opt.state,
                        strerror(errno));
            last_save = now;
        }
    }

    if (w.opt.once) {
        /* Deliver what was queued, retrying within a bounded time; what is
         * left stays in the spool for the next run. */
        double deadline = watch_now() + 2 * w.extra.timeout + 5;
        while (sender_pending(w.sender) > 0 && watch_now() < deadline && !got_term)
            sender_step(w.sender, watch_now(), 100);
        if (sender_pending(w.sender) > 0) {
            fprintf(stderr, "promptcause watch: %zu alert messages not delivered, kept%s\n",
                    sender_pending(w.sender), w.opt.state ? " in the spool" : " nowhere (no --state)");
            if (status == 0)
                status = 1;
        }
    } else {
        /* SIGTERM: give in-flight requests a moment; the rest is spooled. */
        double deadline = watch_now() + 1;
        while (sender_pending(w.sender) > 0 && watch_now() < deadline)
            sender_step(w.sender, watch_now(), 50);
    }
    if (save_state(&w) != 0) {
        fprintf(stderr, "promptcause watch: cannot save state %s: %s\n", w.opt.state, strerror(errno));
        status = status ? status : 1;
    }
    report(&w);
    if (w.extra.syslog_facility >= 0)
        closelog();
out_follow:
    follow_close(&w.follow);
out:
    metrics_free(w.metrics);
    sender_free(w.sender);
    storm_free(w.storm);
    curl_global_cleanup();
    return status;
}
