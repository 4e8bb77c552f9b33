/* watch_send.c -- deliver alert messages over HTTP (libcurl) without ever
 * blocking the reader, and without losing them when the receiver is down.
 *
 * Each target (Alertmanager, webhook) has a FIFO queue and at most one
 * request in flight, driven by curl's multi interface from the main loop, so
 * a slow receiver delays only its own queue. Every queued message is also a
 * file in the spool directory (written to a temp name and renamed, so a
 * crash leaves whole files only) and is deleted once delivered; a restart
 * loads the spool back in name order (names start with a sequence number).
 * Failures (connection refused, timeout, 5xx, 408, 429) retry with backoff
 * doubling from 1 s to 60 s; other 4xx answers mean the receiver will never
 * take the message, which is dropped with a log line (retrying would block
 * the queue forever). Queues are capped at SEND_QUEUE_MAX messages (the
 * oldest goes, counted as overflow) so a receiver down for days cannot fill
 * the disk. Spool files are not fsync'd: a power cut may lose the last ones;
 * a restart of watch does not.
 *
 * An Alertmanager cluster wants every alert sent to every peer (peers
 * gossip notifications and silences, not alerts), so up to SEND_AM_MAX
 * Alertmanager URLs each get their own slot and queue: a message queued for
 * SEND_ALERTMANAGER goes to each, and a dead peer delays only its own. */
#include "config.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "watch.h"

#define SEND_QUEUE_MAX 10000
#define BACKOFF_MIN 1.0
#define BACKOFF_MAX 60.0

struct msg {
    struct msg *next;
    char *key;
    char *body;
    size_t len;
    char *spool_path; /* NULL when not spooled */
    double queued_at; /* when first queued (kept across superseding), for the metrics */
};

struct target {
    const char *name;
    char *url;
    struct msg *head, *tail;
    size_t count;
    CURL *easy;           /* in flight when non-NULL; sends head */
    struct curl_slist *hdrs;
    char errbuf[CURL_ERROR_SIZE];
    double next_try;
    double backoff;
    struct send_stats stats;
};

struct sender {
    CURLM *multi;
    struct target t[SEND_SLOTS]; /* SEND_ALERTMANAGER, SEND_WEBHOOK, then more Alertmanagers */
    struct send_stats am_sum;    /* sender_stats(SEND_ALERTMANAGER): summed over the peers */
    char *spool_dir;
    unsigned long long seq;
    double timeout;
};

/* Slot names, also in spool file names (letters only: spool_load's scan). */
static const char *const slot_name[SEND_SLOTS] = {"alertmanager", "webhook", "alertmanagerb",
                                                  "alertmanagerc", "alertmanagerd"};

static bool is_am(int slot)
{
    return slot == SEND_ALERTMANAGER || slot >= SEND_TARGETS;
}

double watch_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void msg_free(struct msg *m)
{
    if (m == NULL)
        return;
    free(m->key);
    free(m->body);
    free(m->spool_path);
    free(m);
}

/* Drop m from the spool (best effort: a leftover file would only be sent
 * again, which Alertmanager and idempotent webhooks tolerate). */
static void msg_unspool(struct msg *m)
{
    if (m->spool_path != NULL && unlink(m->spool_path) != 0 && errno != ENOENT)
        fprintf(stderr, "promptcause watch: cannot remove %s: %s\n", m->spool_path, strerror(errno));
}

/* Write m to the spool as SEQ-TARGET-KEYHEX.json. Returns 0 or -1. The key is
 * the first line of the file so a restart can supersede by key. */
static int msg_spool(struct sender *s, int t, struct msg *m)
{
    if (s->spool_dir == NULL)
        return 0;
    char path[4096], tmp[4200];
    int n = snprintf(path, sizeof path, "%s/%020llu-%s.msg", s->spool_dir, ++s->seq, s->t[t].name);
    if (n < 0 || (size_t)n >= sizeof path)
        return -1;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "we");
    if (f == NULL)
        return -1;
    int bad = fprintf(f, "%s\n", m->key) < 0;
    bad |= fwrite(m->body, 1, m->len, f) != m->len;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    m->spool_path = strdup(path);
    return m->spool_path ? 0 : -1;
}

/* Append m to t's queue, superseding (Alertmanager) and capping. */
static void enqueue(struct sender *s, int ti, struct msg *m)
{
    struct target *t = &s->t[ti];
    if (is_am(ti)) {
        /* Replace a queued, not in-flight, message for the same alert. */
        struct msg **pp = &t->head;
        if (t->easy != NULL && *pp != NULL)
            pp = &(*pp)->next;
        for (; *pp != NULL; pp = &(*pp)->next) {
            if (strcmp((*pp)->key, m->key) == 0) {
                struct msg *old = *pp;
                *pp = old->next;
                if (t->tail == old) {
                    t->tail = t->head;
                    while (t->tail && t->tail->next)
                        t->tail = t->tail->next;
                }
                t->count--;
                t->stats.superseded++;
                if (old->queued_at < m->queued_at)
                    m->queued_at = old->queued_at; /* undelivered since then */
                msg_unspool(old);
                msg_free(old);
                break;
            }
        }
    }
    while (t->count >= SEND_QUEUE_MAX && t->head != NULL && !(t->easy && t->count == 1)) {
        struct msg **pp = &t->head;
        if (t->easy != NULL)
            pp = &(*pp)->next; /* never drop the one in flight */
        struct msg *old = *pp;
        *pp = old->next;
        if (t->tail == old)
            t->tail = t->easy ? t->head : NULL;
        t->count--;
        t->stats.overflow++;
        msg_unspool(old);
        msg_free(old);
    }
    m->next = NULL;
    if (t->tail)
        t->tail->next = m;
    else
        t->head = m;
    t->tail = m;
    t->count++;
    t->stats.queued++;
}

static struct msg *msg_new(const char *key, const char *body, size_t len)
{
    struct msg *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->key = strdup(key);
    m->body = malloc(len + 1);
    if (m->key == NULL || m->body == NULL)
        goto err;
    memcpy(m->body, body, len);
    m->body[len] = '\0';
    m->len = len;
    m->queued_at = watch_now();
    return m;
err:
    msg_free(m);
    return NULL;
}

static int queue_slot(struct sender *s, int t, const char *key, const char *body, size_t len)
{
    if (s->t[t].url == NULL)
        return 0;
    struct msg *m = msg_new(key, body, len);
    if (m == NULL)
        return -1;
    int rc = msg_spool(s, t, m);
    enqueue(s, t, m);
    return rc;
}

int sender_queue(struct sender *s, enum send_target t, const char *key, const char *body, size_t len)
{
    int rc = queue_slot(s, t, key, body, len);
    for (int i = SEND_TARGETS; t == SEND_ALERTMANAGER && i < SEND_SLOTS; i++)
        if (queue_slot(s, i, key, body, len) != 0)
            rc = -1;
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Load SPOOL/\*.msg in name order into the queues. Returns 0 or -1. */
static int spool_load(struct sender *s, char *err, size_t errlen)
{
    DIR *d = opendir(s->spool_dir);
    if (d == NULL) {
        snprintf(err, errlen, "cannot open spool %s: %s", s->spool_dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".msg") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof *names);
            if (nn == NULL) {
                rc = -1;
                break;
            }
            names = nn;
        }
        if ((names[n] = strdup(de->d_name)) == NULL) {
            rc = -1;
            break;
        }
        n++;
    }
    closedir(d);
    if (rc != 0)
        snprintf(err, errlen, "out of memory reading spool %s", s->spool_dir);
    if (n > 0) /* qsort(NULL, 0, ...) is undefined (UBSan, sanitizer-check) */
        qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n && rc == 0; i++) {
        unsigned long long seq;
        char tname[32];
        if (sscanf(names[i], "%llu-%31[a-z].msg", &seq, tname) != 2)
            continue;
        if (seq > s->seq)
            s->seq = seq;
        int ti = 0;
        while (ti < SEND_SLOTS && strcmp(tname, slot_name[ti]) != 0)
            ti++;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", s->spool_dir, names[i]);
        if (ti == SEND_SLOTS || s->t[ti].url == NULL) {
            /* A target no longer configured: its messages cannot go anywhere. */
            fprintf(stderr, "promptcause watch: spool %s: no %s configured, keeping it\n", path, tname);
            continue;
        }
        FILE *f = fopen(path, "re");
        if (f == NULL)
            continue;
        struct stat fst;
        double mtime = fstat(fileno(f), &fst) == 0 ? (double)fst.st_mtime : watch_now();
        char *buf = NULL;
        size_t bcap = 0;
        ssize_t kl = getline(&buf, &bcap, f);
        char body[1 << 16];
        size_t bl = kl > 0 ? fread(body, 1, sizeof body, f) : 0;
        fclose(f);
        if (kl <= 0 || bl == 0 || bl == sizeof body) {
            fprintf(stderr, "promptcause watch: spool %s: unreadable, removed\n", path);
            unlink(path);
            free(buf);
            continue;
        }
        buf[kl - 1] = '\0';
        struct msg *m = msg_new(buf, body, bl);
        free(buf);
        if (m == NULL || (m->spool_path = strdup(path)) == NULL) {
            msg_free(m);
            rc = -1;
            snprintf(err, errlen, "out of memory reading spool %s", s->spool_dir);
            break;
        }
        m->queued_at = mtime; /* spooled by an earlier run: undelivered since */
        enqueue(s, ti, m);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

struct sender *sender_new(const char *const *am_urls, size_t n_am, const char *webhook_url,
                          const char *spool_dir, double timeout, char *err, size_t errlen)
{
    if (n_am > SEND_AM_MAX) {
        snprintf(err, errlen, "at most %d Alertmanagers", SEND_AM_MAX);
        return NULL;
    }
    struct sender *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->timeout = timeout;
    for (int i = 0; i < SEND_SLOTS; i++)
        s->t[i].name = slot_name[i];
    for (size_t k = 0; k < n_am; k++) {
        /* Alertmanager's API v2 endpoint; the user gives the base URL. */
        const char *am_url = am_urls[k];
        struct target *t = &s->t[k == 0 ? SEND_ALERTMANAGER : SEND_TARGETS + (int)k - 1];
        size_t l = strlen(am_url);
        while (l > 0 && am_url[l - 1] == '/')
            l--;
        if ((t->url = malloc(l + 16)) == NULL)
            goto oom;
        snprintf(t->url, l + 16, "%.*s/api/v2/alerts", (int)l, am_url);
    }
    if (webhook_url != NULL && (s->t[SEND_WEBHOOK].url = strdup(webhook_url)) == NULL)
        goto oom;
    for (int i = 0; i < SEND_SLOTS; i++) {
        s->t[i].hdrs = curl_slist_append(NULL, "Content-Type: application/json");
        if (s->t[i].hdrs == NULL)
            goto oom;
    }
    if ((s->multi = curl_multi_init()) == NULL)
        goto oom;
    if (spool_dir != NULL) {
        if ((s->spool_dir = strdup(spool_dir)) == NULL)
            goto oom;
        if (mkdir(spool_dir, 0750) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create spool %s: %s", spool_dir, strerror(errno));
            goto err;
        }
        if (spool_load(s, err, errlen) != 0)
            goto err;
    }
    return s;
oom:
    snprintf(err, errlen, "out of memory");
err:
    sender_free(s);
    return NULL;
}

void sender_free(struct sender *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < SEND_SLOTS; i++) {
        struct target *t = &s->t[i];
        if (t->easy) {
            curl_multi_remove_handle(s->multi, t->easy);
            curl_easy_cleanup(t->easy);
        }
        /* Queued messages stay in the spool for the next run. */
        for (struct msg *m = t->head, *n; m; m = n) {
            n = m->next;
            msg_free(m);
        }
        curl_slist_free_all(t->hdrs);
        free(t->url);
    }
    if (s->multi)
        curl_multi_cleanup(s->multi);
    free(s->spool_dir);
    free(s);
}

bool sender_enabled(const struct sender *s, enum send_target t)
{
    return s->t[t].url != NULL;
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

/* Start sending t's head. Returns 0, -1 when curl cannot set up (retried). */
static int start(struct sender *s, struct target *t)
{
    CURL *e = curl_easy_init();
    if (e == NULL)
        return -1;
    t->errbuf[0] = '\0';
    curl_easy_setopt(e, CURLOPT_URL, t->url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->head->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)t->head->len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->hdrs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(s->timeout * 1000));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(s->timeout * 1000));
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "promptcause-watch/" PACKAGE_VERSION);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    if (curl_multi_add_handle(s->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        return -1;
    }
    t->easy = e;
    t->stats.attempts++;
    return 0;
}

static void finish(struct sender *s, struct target *t, CURLcode res, double now)
{
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(s->multi, t->easy);
    curl_easy_cleanup(t->easy);
    t->easy = NULL;
    struct msg *m = t->head;
    bool ok = res == CURLE_OK && status >= 200 && status < 300;
    bool permanent = res == CURLE_OK && status >= 400 && status < 500 && status != 408 &&
                     status != 429;
    if (ok || permanent) {
        if (ok) {
            t->stats.delivered++;
        } else {
            t->stats.rejected++;
            fprintf(stderr, "promptcause watch: %s %s refused an alert with HTTP %ld, dropped\n",
                    t->name, t->url, status);
        }
        t->head = m->next;
        if (t->head == NULL)
            t->tail = NULL;
        t->count--;
        msg_unspool(m);
        msg_free(m);
        t->backoff = 0;
        t->next_try = now;
        return;
    }
    t->stats.failures++;
    t->backoff = t->backoff == 0 ? BACKOFF_MIN : t->backoff * 2;
    if (t->backoff > BACKOFF_MAX)
        t->backoff = BACKOFF_MAX;
    t->next_try = now + t->backoff;
    if (t->stats.failures == 1 || t->backoff >= BACKOFF_MAX || t->stats.failures % 100 == 0)
        fprintf(stderr, "promptcause watch: %s %s: %s; %zu queued, retry in %.0f s\n", t->name, t->url,
                res != CURLE_OK ? (t->errbuf[0] ? t->errbuf : curl_easy_strerror(res)) : "HTTP error",
                t->count, t->backoff);
}

void sender_step(struct sender *s, double now, int wait_ms)
{
    for (int i = 0; i < SEND_SLOTS; i++) {
        struct target *t = &s->t[i];
        if (t->url && t->head && t->easy == NULL && now >= t->next_try && start(s, t) != 0)
            t->next_try = now + BACKOFF_MIN;
    }
    int running = 0;
    curl_multi_perform(s->multi, &running);
    if (wait_ms > 0) {
        curl_multi_poll(s->multi, NULL, 0, wait_ms, NULL);
        curl_multi_perform(s->multi, &running);
    }
    CURLMsg *cm;
    int left;
    while ((cm = curl_multi_info_read(s->multi, &left)) != NULL) {
        if (cm->msg != CURLMSG_DONE)
            continue;
        struct target *t = NULL;
        curl_easy_getinfo(cm->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        if (t != NULL)
            finish(s, t, cm->data.result, watch_now());
    }
}

size_t sender_pending(const struct sender *s)
{
    size_t n = 0;
    for (int i = 0; i < SEND_SLOTS; i++)
        n += s->t[i].count;
    return n;
}

/* Whether slot i belongs to target t. */
static bool in_target(int i, enum send_target t)
{
    return t == SEND_ALERTMANAGER ? is_am(i) : i == (int)t;
}

const struct send_stats *sender_stats(const struct sender *s, enum send_target t)
{
    if (t != SEND_ALERTMANAGER)
        return &s->t[t].stats;
    /* The sum is cached in the (non-const) sender: callers read, never keep. */
    struct send_stats *sum = (struct send_stats *)&s->am_sum;
    memset(sum, 0, sizeof *sum);
    for (int i = 0; i < SEND_SLOTS; i++) {
        if (!is_am(i))
            continue;
        const struct send_stats *x = &s->t[i].stats;
        sum->queued += x->queued;
        sum->delivered += x->delivered;
        sum->attempts += x->attempts;
        sum->failures += x->failures;
        sum->rejected += x->rejected;
        sum->superseded += x->superseded;
        sum->overflow += x->overflow;
    }
    return sum;
}

size_t sender_queue_depth(const struct sender *s, enum send_target t)
{
    size_t n = 0;
    for (int i = 0; i < SEND_SLOTS; i++)
        if (in_target(i, t))
            n += s->t[i].count;
    return n;
}

double sender_oldest(const struct sender *s, enum send_target t)
{
    double o = 0;
    for (int i = 0; i < SEND_SLOTS; i++)
        if (in_target(i, t))
            for (const struct msg *m = s->t[i].head; m != NULL; m = m->next)
                if (o == 0 || m->queued_at < o)
                    o = m->queued_at;
    return o;
}
