/* report.c -- the aggregation behind `promptcause analyze` (see report.h).
 *
 * Two bounded chained hash tables (resources by URL, clients by address)
 * share one implementation: a node pool allocated up front, buckets twice
 * the pool, FNV-1a hashes. When the pool is full, 16 consecutive nodes from a
 * rotating cursor are sampled and the one with the smallest count is evicted
 * -- O(16) per eviction instead of a heap's O(log n) bookkeeping on every
 * increment; the price is that the evicted entry is only probably among the
 * smallest. Evictions are counted and reported. */
#include "report.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"

const char *const report_cause_names[REPORT_CAUSES] = {
    "page-denied", "embedded-denied", "handler-denied", "credentials-rejected",
    "handshake",   "proxy-auth",      "unknown",
};
const char *const report_prompt_names[REPORT_PROMPTS] = {
    "none", "basic", "digest", "not-intranet", "silent", "rejected", "suppressed",
    "not-allowlisted", "unknown",
};
/* event_reason_name()'s spellings, in enum event_reason order (test_report checks it). */
const char *const report_reason_names[REPORT_REASONS] = {
    "handshake-split", "anonymous-ntlm", "local-account", "standalone-server", "foreign-domain",
    "ntlmv1", "channel-binding", "kerberos-wrong-account", "clock-skew", "ticket-expired",
    "kerberos-error", "kerberos-fallback", "spn-host-mismatch", "unknown",
};
static const char *const evidence_names[] = {"html", "fetch-metadata", "referer", "time"};

#define CAUSE_HANDSHAKE_IX 4
#define SAMPLE 16
#define NIL UINT32_MAX

/* ---- bounded counted table ---------------------------------------------- */

struct rdata { /* per-resource payload */
    char host[256];
    const char *cause, *prompt, *evidence; /* static names or "" */
    char *parent;
    uint32_t *cset; /* open addressing set of client hashes (0 = empty) */
    size_t cset_cap, cset_n;
    bool saturated;
};

struct node {
    uint64_t hash;
    char *key;
    unsigned long count;
    uint32_t next; /* bucket chain */
    bool used;
    struct rdata *data; /* resources only */
};

struct table {
    struct node *nodes;
    uint32_t *buckets;
    size_t cap, nbuckets, used, cursor, free_hint;
    unsigned long evicted;
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static int table_init(struct table *t, size_t cap)
{
    memset(t, 0, sizeof *t);
    if (cap == 0 || cap >= NIL)
        return -1;
    t->cap = cap;
    t->nbuckets = 2 * cap;
    t->nodes = calloc(cap, sizeof *t->nodes);
    t->buckets = malloc(t->nbuckets * sizeof *t->buckets);
    if (t->nodes == NULL || t->buckets == NULL)
        return -1;
    for (size_t i = 0; i < t->nbuckets; i++)
        t->buckets[i] = NIL;
    return 0;
}

static void rdata_free(struct rdata *d)
{
    if (d == NULL)
        return;
    free(d->parent);
    free(d->cset);
    free(d);
}

static void table_free(struct table *t)
{
    if (t->nodes != NULL)
        for (size_t i = 0; i < t->cap; i++) {
            free(t->nodes[i].key);
            rdata_free(t->nodes[i].data);
        }
    free(t->nodes);
    free(t->buckets);
}

static struct node *table_find(struct table *t, const char *key, uint64_t h)
{
    for (uint32_t i = t->buckets[h % t->nbuckets]; i != NIL; i = t->nodes[i].next)
        if (t->nodes[i].hash == h && strcmp(t->nodes[i].key, key) == 0)
            return &t->nodes[i];
    return NULL;
}

static void table_remove(struct table *t, uint32_t ix)
{
    struct node *n = &t->nodes[ix];
    uint32_t *pp = &t->buckets[n->hash % t->nbuckets];
    while (*pp != ix)
        pp = &t->nodes[*pp].next;
    *pp = n->next;
    free(n->key);
    rdata_free(n->data);
    memset(n, 0, sizeof *n);
    t->used--;
}

/* The node for key, created (count 0) when new; evicts a low-count node when
 * the pool is full. NULL when out of memory. */
static struct node *table_get(struct table *t, const char *key)
{
    uint64_t h = fnv1a(key);
    struct node *n = table_find(t, key, h);
    if (n != NULL)
        return n;
    uint32_t ix;
    if (t->used == t->cap) {
        uint32_t victim = NIL;
        for (size_t k = 0; k < SAMPLE && k < t->cap; k++) {
            uint32_t i = (uint32_t)((t->cursor + k) % t->cap);
            if (victim == NIL || t->nodes[i].count < t->nodes[victim].count)
                victim = i;
        }
        t->cursor = (t->cursor + SAMPLE) % t->cap;
        table_remove(t, victim);
        t->evicted++;
        ix = victim;
    } else {
        ix = (uint32_t)t->free_hint;
        while (t->nodes[ix].used)
            ix = (uint32_t)((ix + 1) % t->cap);
        t->free_hint = (ix + 1) % t->cap;
    }
    n = &t->nodes[ix];
    n->key = strdup(key);
    if (n->key == NULL)
        return NULL;
    n->hash = h;
    n->used = true;
    n->count = 0;
    n->next = t->buckets[h % t->nbuckets];
    t->buckets[h % t->nbuckets] = ix;
    t->used++;
    return n;
}

/* ---- the report ----------------------------------------------------------- */

struct report {
    struct report_limits lim;
    struct report_totals tot;
    struct table resources, clients;
    struct storm *storm;
    struct evrec *ev; /* scratch for storm_feed (9 KB: not on the stack) */
    double last_tick;
    /* timeline: open addressing minute -> count, grown by doubling up to lim.minutes */
    long *min_key;
    unsigned long *min_count;
    size_t min_cap, min_n;
    struct report_storm *storms;
    size_t nstorms;
    /* results (report_finish) */
    struct report_resource *res_rows;
    size_t nres;
    struct report_client *cli_rows;
    size_t ncli;
    struct report_minute *min_rows;
};

void report_limits_default(struct report_limits *lim)
{
    lim->resources = 16384;
    lim->clients = 65536;
    lim->resource_clients = 256;
    lim->minutes = 131072;
    lim->storms = 10000;
}

struct report *report_new(const struct report_limits *lim, const struct storm_rules *rules)
{
    struct storm_rules def;
    struct report *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->lim = *lim;
    if (rules == NULL) {
        storm_rules_default(&def);
        rules = &def;
    }
    if (table_init(&r->resources, lim->resources) != 0 || table_init(&r->clients, lim->clients) != 0)
        goto err;
    r->storm = storm_new(rules);
    r->ev = calloc(1, sizeof *r->ev);
    r->min_cap = 1024;
    r->min_key = malloc(r->min_cap * sizeof *r->min_key);
    r->min_count = calloc(r->min_cap, sizeof *r->min_count);
    r->storms = calloc(lim->storms ? lim->storms : 1, sizeof *r->storms);
    if (r->storm == NULL || r->ev == NULL || r->min_key == NULL || r->min_count == NULL ||
        r->storms == NULL)
        goto err;
    for (size_t i = 0; i < r->min_cap; i++)
        r->min_key[i] = -1;
    return r;
err:
    report_free(r);
    return NULL;
}

void report_free(struct report *r)
{
    if (r == NULL)
        return;
    free(r->min_rows);
    free(r->cli_rows);
    free(r->res_rows);
    for (size_t i = 0; i < r->nstorms; i++)
        free((char *)r->storms[i].key);
    free(r->storms);
    free(r->min_count);
    free(r->min_key);
    free(r->ev);
    storm_free(r->storm);
    table_free(&r->clients);
    table_free(&r->resources);
    free(r);
}

void report_line(struct report *r, bool parsed)
{
    r->tot.lines++;
    if (!parsed)
        r->tot.unparsed++;
}

static size_t name_index(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i + 1 < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return n - 1;
}

static const char *evidence_intern(const char *s)
{
    for (size_t i = 0; i < sizeof evidence_names / sizeof evidence_names[0]; i++)
        if (strcmp(evidence_names[i], s) == 0)
            return evidence_names[i];
    return "";
}

/* Add client hash h to d's set; grows by doubling up to max. */
static int cset_add(struct rdata *d, uint32_t h, size_t max)
{
    if (h == 0)
        h = 1;
    if (d->cset_cap > 0)
        for (size_t i = h & (d->cset_cap - 1);; i = (i + 1) & (d->cset_cap - 1)) {
            if (d->cset[i] == h)
                return 0;
            if (d->cset[i] == 0)
                break;
        }
    if (d->saturated)
        return 0;
    if (d->cset_n + 1 > d->cset_cap / 2) {
        size_t ncap = d->cset_cap ? d->cset_cap * 2 : 8;
        if (d->cset_n >= max) {
            d->saturated = true;
            return 0;
        }
        uint32_t *n = calloc(ncap, sizeof *n);
        if (n == NULL)
            return -1;
        for (size_t i = 0; i < d->cset_cap; i++) {
            uint32_t v = d->cset[i];
            if (v == 0)
                continue;
            size_t j = v & (ncap - 1);
            while (n[j] != 0)
                j = (j + 1) & (ncap - 1);
            n[j] = v;
        }
        free(d->cset);
        d->cset = n;
        d->cset_cap = ncap;
    }
    size_t i = h & (d->cset_cap - 1);
    while (d->cset[i] != 0)
        i = (i + 1) & (d->cset_cap - 1);
    d->cset[i] = h;
    d->cset_n++;
    return 0;
}

static int timeline_add(struct report *r, long minute)
{
    if (r->min_n + 1 > r->min_cap / 2) {
        if (r->min_cap * 2 > 2 * r->lim.minutes) {
            /* full: count only minutes already present */
            for (size_t i = (size_t)minute & (r->min_cap - 1);; i = (i + 1) & (r->min_cap - 1)) {
                if (r->min_key[i] == minute) {
                    r->min_count[i]++;
                    return 0;
                }
                if (r->min_key[i] == -1)
                    break;
            }
            r->tot.dropped_minutes++;
            return 0;
        }
        size_t ncap = r->min_cap * 2;
        long *nk = malloc(ncap * sizeof *nk);
        unsigned long *nc = calloc(ncap, sizeof *nc);
        if (nk == NULL || nc == NULL) {
            free(nk);
            free(nc);
            return -1;
        }
        for (size_t i = 0; i < ncap; i++)
            nk[i] = -1;
        for (size_t i = 0; i < r->min_cap; i++) {
            if (r->min_key[i] == -1)
                continue;
            size_t j = (size_t)r->min_key[i] & (ncap - 1);
            while (nk[j] != -1)
                j = (j + 1) & (ncap - 1);
            nk[j] = r->min_key[i];
            nc[j] = r->min_count[i];
        }
        free(r->min_key);
        free(r->min_count);
        r->min_key = nk;
        r->min_count = nc;
        r->min_cap = ncap;
    }
    size_t i = (size_t)minute & (r->min_cap - 1);
    while (r->min_key[i] != -1 && r->min_key[i] != minute)
        i = (i + 1) & (r->min_cap - 1);
    if (r->min_key[i] == -1) {
        r->min_key[i] = minute;
        r->min_n++;
    }
    r->min_count[i]++;
    return 0;
}

static void storm_record(struct report *r, const struct storm_active *a, bool open)
{
    if (r->nstorms >= r->lim.storms) {
        r->tot.dropped_storms++;
        return;
    }
    char *key = strdup(a->key);
    if (key == NULL) {
        r->tot.dropped_storms++;
        return;
    }
    struct report_storm *s = &r->storms[r->nstorms++];
    s->kind = storm_kind_name(a->kind);
    s->key = key;
    s->start = a->start;
    s->end = a->last;
    s->count = a->count;
    s->clients = a->clients;
    s->open = open;
}

static void on_storm(void *arg, const struct storm_active *a, enum storm_transition t)
{
    if (t == STORM_RESOLVED)
        storm_record(arg, a, false);
}

static void copy_cut(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

int report_add(struct report *r, const struct report_event *ev)
{
    int rc = 0;
    size_t ci = name_index(report_cause_names, REPORT_CAUSES, ev->cause);
    size_t pi = name_index(report_prompt_names, REPORT_PROMPTS, ev->prompt);
    struct report_totals *t = &r->tot;

    t->events++;
    t->by_cause[ci]++;
    t->by_prompt[pi]++;
    if (ev->reason != NULL && ev->reason[0] != '\0')
        t->by_reason[name_index(report_reason_names, REPORT_REASONS, ev->reason)]++;
    if (ev->status == 401) {
        t->status401++;
        if (ci == CAUSE_HANDSHAKE_IX)
            t->handshake401++;
    }
    if (t->first_ts == 0 || ev->ts < t->first_ts)
        t->first_ts = ev->ts;
    if (ev->ts > t->last_ts)
        t->last_ts = ev->ts;

    if (timeline_add(r, (long)(ev->ts / 60)) != 0)
        rc = -1;

    /* storms: the detector's clock is the log's */
    struct evrec *e = r->ev;
    e->ts = ev->ts;
    copy_cut(e->client, sizeof e->client, ev->client);
    copy_cut(e->user, sizeof e->user, ev->user);
    copy_cut(e->url, sizeof e->url, ev->url);
    copy_cut(e->host, sizeof e->host, ev->host);
    copy_cut(e->cause, sizeof e->cause, ev->cause);
    copy_cut(e->prompt, sizeof e->prompt, ev->prompt[0] ? ev->prompt : "unknown");
    copy_cut(e->parent, sizeof e->parent, ev->parent);
    e->hint[0] = '\0';
    if (ev->ts >= r->last_tick + 1) {
        storm_tick(r->storm, ev->ts, on_storm, r);
        r->last_tick = ev->ts;
    }
    if (storm_feed(r->storm, e, NULL, NULL) != 0)
        rc = -1;

    /* Handshake steps are normal traffic, not denials: counted above, kept
     * out of the top lists so they do not bury the resources that prompt. */
    if (ci == CAUSE_HANDSHAKE_IX)
        return rc;
    if (ev->client[0] != '\0') {
        struct node *c = table_get(&r->clients, ev->client);
        if (c == NULL)
            rc = -1;
        else
            c->count++;
    }
    if (ev->url[0] != '\0') {
        struct node *n = table_get(&r->resources, ev->url);
        if (n == NULL)
            return -1;
        if (n->data == NULL && (n->data = calloc(1, sizeof *n->data)) == NULL)
            return -1;
        struct rdata *d = n->data;
        n->count++;
        if (ev->host[0] != '\0')
            copy_cut(d->host, sizeof d->host, ev->host);
        else if (d->host[0] == '\0' && classify_host_of_url(ev->url, d->host, sizeof d->host) != 0)
            d->host[0] = '\0';
        d->cause = ci + 1 < REPORT_CAUSES ? report_cause_names[ci] : "";
        d->prompt = pi + 1 < REPORT_PROMPTS ? report_prompt_names[pi] : "";
        if (ev->parent[0] != '\0') {
            char *p = strdup(ev->parent);
            if (p == NULL)
                return -1;
            free(d->parent);
            d->parent = p;
            d->evidence = evidence_intern(ev->evidence);
        } else if (d->parent == NULL) {
            d->evidence = "";
        }
        if (ev->client[0] != '\0' &&
            cset_add(d, (uint32_t)(fnv1a(ev->client) >> 32), r->lim.resource_clients) != 0)
            rc = -1;
    }
    return rc;
}

static int cmp_res(const void *a, const void *b)
{
    const struct report_resource *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->url, y->url);
}

static int cmp_cli(const void *a, const void *b)
{
    const struct report_client *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->client, y->client);
}

static int cmp_min(const void *a, const void *b)
{
    const struct report_minute *x = a, *y = b;
    return (x->minute > y->minute) - (x->minute < y->minute);
}

static int cmp_storm(const void *a, const void *b)
{
    const struct report_storm *x = a, *y = b;
    return (x->start > y->start) - (x->start < y->start);
}

static void add_open(void *arg, const struct storm_active *a)
{
    storm_record(arg, a, true);
}

void report_finish(struct report *r)
{
    struct report_totals *t = &r->tot;
    t->handshake_share = t->status401 ? (double)t->handshake401 / (double)t->status401 : 0.0;
    t->evicted_resources = r->resources.evicted;
    t->evicted_clients = r->clients.evicted;

    /* storms quiet by the last event resolve; the rest were still going
     * when the log ended (open: their end is their latest event) */
    storm_tick(r->storm, storm_now(r->storm), on_storm, r);
    storm_foreach_active(r->storm, add_open, r);
    qsort(r->storms, r->nstorms, sizeof *r->storms, cmp_storm);

    r->res_rows = calloc(r->resources.used ? r->resources.used : 1, sizeof *r->res_rows);
    r->cli_rows = calloc(r->clients.used ? r->clients.used : 1, sizeof *r->cli_rows);
    r->min_rows = calloc(r->min_n ? r->min_n : 1, sizeof *r->min_rows);
    if (r->res_rows != NULL)
        for (size_t i = 0; i < r->resources.cap; i++) {
            struct node *n = &r->resources.nodes[i];
            if (!n->used || n->data == NULL)
                continue;
            struct report_resource *o = &r->res_rows[r->nres++];
            o->url = n->key;
            o->host = n->data->host;
            o->cause = n->data->cause;
            o->prompt = n->data->prompt;
            o->parent = n->data->parent ? n->data->parent : "";
            o->evidence = n->data->evidence ? n->data->evidence : "";
            o->count = n->count;
            o->clients = n->data->cset_n;
            o->clients_saturated = n->data->saturated;
        }
    if (r->cli_rows != NULL)
        for (size_t i = 0; i < r->clients.cap; i++) {
            struct node *n = &r->clients.nodes[i];
            if (!n->used)
                continue;
            r->cli_rows[r->ncli].client = n->key;
            r->cli_rows[r->ncli++].count = n->count;
        }
    size_t m = 0;
    if (r->min_rows != NULL)
        for (size_t i = 0; i < r->min_cap; i++)
            if (r->min_key[i] != -1) {
                r->min_rows[m].minute = r->min_key[i];
                r->min_rows[m++].count = r->min_count[i];
            }
    r->min_n = m;
    qsort(r->res_rows, r->nres, sizeof *r->res_rows, cmp_res);
    qsort(r->cli_rows, r->ncli, sizeof *r->cli_rows, cmp_cli);
    qsort(r->min_rows, r->min_n, sizeof *r->min_rows, cmp_min);
}

const struct report_totals *report_get_totals(const struct report *r)
{
    return &r->tot;
}

size_t report_resources(const struct report *r, const struct report_resource **rows)
{
    *rows = r->res_rows;
    return r->nres;
}

size_t report_clients(const struct report *r, const struct report_client **rows)
{
    *rows = r->cli_rows;
    return r->ncli;
}

size_t report_storms(const struct report *r, const struct report_storm **rows)
{
    *rows = r->storms;
    return r->nstorms;
}

size_t report_timeline(const struct report *r, const struct report_minute **rows)
{
    *rows = r->min_rows;
    return r->min_n;
}
