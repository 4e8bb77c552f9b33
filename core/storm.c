/* storm.c -- sliding-window storm rules in fixed memory (see storm.h).
 *
 * Each rule keeps, per key, a ring with room for exactly `threshold` entries:
 * - count rules (client, overall): the timestamps of the last N prompts. The
 *   rule holds when the ring is full and its oldest entry is within the
 *   window: that is exactly "N prompts within W". O(1) per event.
 * - the resource rule: the N most recently seen distinct clients with their
 *   last time. A new client replaces the one seen longest ago, so the ring is
 *   exactly the N most recent distinct clients, and the rule holds when it is
 *   full and its oldest entry is within the window. O(N) per event (N = 10 by
 *   default); clients are kept as 64-bit hashes, so two clients whose hashes
 *   collide (about 1 in 10^7 at a million clients) count once.
 *
 * Keys (URL, client) are 64-bit hashes in a set-associative table: a key's
 * hash picks a bucket of STORM_WAYS slots and it lives in one of them. A new
 * key in a full bucket takes the slot that was quiet longest, skipping slots
 * of active storms; the table never grows, so memory is fixed at storm_new
 * (capacity x (32 + threshold x entry) bytes) whatever the number of distinct
 * clients. The cost: with more keys in one window than slots, a key can be
 * pushed out and lose its count (stats.evicted_live says how often), and a
 * URL and a client that collide on 64 bits share a count. An LRU over a
 * growing hash map would be exact but unbounded; this is the trade-off the
 * "million distinct clients" requirement asks for. Hashes are unkeyed
 * (FNV-1a + a mixer): someone who can choose URLs could aim collisions at a
 * bucket, which only hides their own storm.
 *
 * Active storms are few (max_active) and carry their strings, the set of
 * distinct clients, and the slot they pin; storm_tick scans them all. */
#include "storm.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORM_WAYS 8

struct seen {
    uint64_t client;
    double ts;
};

struct slot {
    uint64_t hash;   /* 0: empty */
    double last;     /* latest event for this key */
    uint32_t active; /* index + 1 into storm.active, 0 when not active */
    uint32_t head;   /* next ring position to write (count rings) */
    uint32_t fill;   /* entries in the ring */
    uint32_t pad;
};

struct table {
    enum storm_kind kind;
    unsigned threshold;
    double window;
    size_t nslots;   /* nbuckets * STORM_WAYS */
    size_t nbuckets; /* power of two */
    size_t elem;     /* bytes per ring entry */
    struct slot *slots;
    unsigned char *rings; /* nslots * threshold * elem */
};

struct active_rec {
    struct storm_active pub;
    struct table *table; /* NULL for overall */
    size_t slot;
    uint64_t *cset; /* open-addressing set of client hashes, 0 = empty */
    size_t ccap;
};

struct storm {
    struct storm_rules rules;
    struct table tables[2]; /* STORM_RESOURCE, STORM_CLIENT */
    struct slot overall;
    double *overall_ring;
    uint32_t overall_active; /* index + 1, 0 when none */
    struct active_rec **active;
    size_t nactive;
    double now;
    struct storm_stats stats;
    size_t bytes;
};

void storm_rules_default(struct storm_rules *r)
{
    memset(r, 0, sizeof *r);
    r->threshold[STORM_RESOURCE] = 10;
    r->threshold[STORM_CLIENT] = 5;
    r->threshold[STORM_OVERALL] = 100;
    for (int k = 0; k < STORM_KINDS; k++)
        r->window[k] = 60;
    r->quiet = 120;
    r->resend = 60;
    r->capacity[STORM_RESOURCE] = 65536;
    r->capacity[STORM_CLIENT] = 262144;
    r->capacity[STORM_OVERALL] = 1;
    r->max_active = 1024;
    r->max_memory = STORM_MEMORY_DEFAULT;
}

const char *storm_kind_name(enum storm_kind kind)
{
    switch (kind) {
    case STORM_RESOURCE: return "resource";
    case STORM_CLIENT: return "client";
    case STORM_OVERALL: return "overall";
    case STORM_KINDS: break;
    }
    return "?";
}

/* ---- rules file ------------------------------------------------------- */

static int parse_number(const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno != 0 || end == v || *end != '\0' || !isfinite(d) || d < lo || d > hi)
        return -1;
    *out = d;
    return 0;
}

/* A byte count with an optional binary suffix: "1048576", "512M", "2G",
 * "64k" (K/M/G, either case, optionally followed by "iB" or "B"). Between
 * 1 MiB and 1 TiB: below, no detector fits; above is surely a typo. */
static int parse_bytes(const char *v, uint64_t *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno != 0 || end == v || !isfinite(d) || d <= 0)
        return -1;
    double unit = 1;
    switch (*end) {
    case 'k': case 'K': unit = 1024.0; end++; break;
    case 'm': case 'M': unit = 1024.0 * 1024; end++; break;
    case 'g': case 'G': unit = 1024.0 * 1024 * 1024; end++; break;
    default: break;
    }
    if (unit > 1 && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0))
        end += strlen(end);
    if (*end != '\0')
        return -1;
    d *= unit;
    if (d < 1024.0 * 1024 || d > 1024.0 * 1024 * 1024 * 1024)
        return -1;
    *out = (uint64_t)d;
    return 0;
}

int storm_rules_parse(const char *text, size_t n, struct storm_rules *r, storm_rules_extra_fn extra,
                      void *arg, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        int kind;     /* -1: not per kind */
        char what;    /* t threshold, w window, c capacity, q quiet, r resend, a max_active,
                         m max_memory */
    } keys[] = {
        {"resource_clients", STORM_RESOURCE, 't'}, {"resource_window", STORM_RESOURCE, 'w'},
        {"client_prompts", STORM_CLIENT, 't'},     {"client_window", STORM_CLIENT, 'w'},
        {"overall_prompts", STORM_OVERALL, 't'},   {"overall_window", STORM_OVERALL, 'w'},
        {"max_resources", STORM_RESOURCE, 'c'},    {"max_clients", STORM_CLIENT, 'c'},
        {"quiet", -1, 'q'},                        {"resend", -1, 'r'},
        {"max_active", -1, 'a'},                   {"max_memory", -1, 'm'},
    };
    size_t pos = 0;
    unsigned lineno = 0;

    while (pos < n) {
        char line[1024];
        size_t end = pos;
        while (end < n && text[end] != '\n')
            end++;
        size_t len = end - pos;
        lineno++;
        if (len >= sizeof line) {
            snprintf(err, errlen, "line %u: too long", lineno);
            return -1;
        }
        memcpy(line, text + pos, len);
        line[len] = '\0';
        pos = end + 1;
        if (memchr(line, '\0', len) != NULL) {
            snprintf(err, errlen, "line %u: NUL byte", lineno);
            return -1;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *save = NULL;
        char *key = strtok_r(line, " \t\r", &save);
        if (key == NULL)
            continue;
        char *value = strtok_r(NULL, " \t\r", &save);
        if (value == NULL) {
            snprintf(err, errlen, "line %u: '%s' needs a value", lineno, key);
            return -1;
        }
        if (strtok_r(NULL, " \t\r", &save) != NULL) {
            snprintf(err, errlen, "line %u: '%s' takes one value", lineno, key);
            return -1;
        }
        size_t i;
        for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
            if (strcmp(keys[i].name, key) == 0)
                break;
        if (i == sizeof keys / sizeof keys[0]) {
            if (extra == NULL) {
                snprintf(err, errlen, "line %u: unknown rule '%s'", lineno, key);
                return -1;
            }
            char sub[256];
            sub[0] = '\0';
            if (extra(arg, key, value, sub, sizeof sub) != 0) {
                snprintf(err, errlen, "line %u: %s", lineno, sub[0] ? sub : "bad rule");
                return -1;
            }
            continue;
        }
        double d;
        int ok = 0;
        switch (keys[i].what) {
        case 't':
            ok = parse_number(value, 0, STORM_THRESHOLD_MAX, &d) == 0 && d == floor(d);
            if (ok)
                r->threshold[keys[i].kind] = (unsigned)d;
            break;
        case 'w':
            ok = parse_number(value, 0.001, 86400 * 7, &d) == 0;
            if (ok)
                r->window[keys[i].kind] = d;
            break;
        case 'c':
            ok = parse_number(value, STORM_WAYS, 1 << 28, &d) == 0 && d == floor(d);
            if (ok)
                r->capacity[keys[i].kind] = (size_t)d;
            break;
        case 'q':
            ok = parse_number(value, 0.001, 86400 * 7, &d) == 0;
            if (ok)
                r->quiet = d;
            break;
        case 'r':
            ok = parse_number(value, 0.1, 86400, &d) == 0;
            if (ok)
                r->resend = d;
            break;
        case 'a':
            ok = parse_number(value, 1, 1 << 20, &d) == 0 && d == floor(d);
            if (ok)
                r->max_active = (size_t)d;
            break;
        case 'm':
            ok = parse_bytes(value, &r->max_memory) == 0;
            break;
        }
        if (!ok) {
            snprintf(err, errlen, "line %u: bad value '%s' for '%s'", lineno, value, key);
            return -1;
        }
    }
    return storm_rules_check_memory(r, err, errlen);
}

/* ---- hashing ------------------------------------------------------------ */

/* FNV-1a over the bytes, then murmur3's fmix64 so that the low bits that
 * pick the bucket depend on every input byte. Never returns 0 (0 marks an
 * empty slot). */
static uint64_t hash_str(const char *s, uint64_t salt)
{
    uint64_t h = 1469598103934665603ULL ^ salt;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h ? h : 1;
}

/* ---- construction --------------------------------------------------------- */

/* Buckets for a capacity: the next power of two of capacity / STORM_WAYS. */
static size_t table_buckets(size_t capacity)
{
    size_t want = (capacity + STORM_WAYS - 1) / STORM_WAYS;
    size_t nb = 1;
    while (nb < want)
        nb <<= 1;
    return nb;
}

static size_t ring_elem(enum storm_kind kind)
{
    return kind == STORM_RESOURCE ? sizeof(struct seen) : sizeof(double);
}

/* Bytes of one rule's table (slots and rings); 0 when the rule is off.
 * Computed in 64 bits: capacity <= 2^28 and threshold <= 10^4 keep it far
 * from overflow. */
static uint64_t table_memory(enum storm_kind kind, const struct storm_rules *r)
{
    if (r->threshold[kind] == 0)
        return 0;
    uint64_t nslots = (uint64_t)table_buckets(r->capacity[kind]) * STORM_WAYS;
    return nslots * sizeof(struct slot) + nslots * r->threshold[kind] * ring_elem(kind);
}

uint64_t storm_rules_memory(const struct storm_rules *r)
{
    return sizeof(struct storm) + table_memory(STORM_RESOURCE, r) + table_memory(STORM_CLIENT, r) +
           (uint64_t)r->threshold[STORM_OVERALL] * sizeof(double) +
           (uint64_t)r->max_active * sizeof(struct active_rec *);
}

/* "1.5 GiB", "32.0 MiB", "12 KiB": sizes an admin reads at a glance. */
static void human_bytes(uint64_t b, char *out, size_t len)
{
    if (b >= 1024ULL * 1024 * 1024)
        snprintf(out, len, "%.1f GiB", (double)b / (1024.0 * 1024 * 1024));
    else if (b >= 1024 * 1024)
        snprintf(out, len, "%.1f MiB", (double)b / (1024.0 * 1024));
    else
        snprintf(out, len, "%llu KiB", (unsigned long long)(b + 1023) / 1024);
}

int storm_rules_check_memory(const struct storm_rules *r, char *err, size_t errlen)
{
    uint64_t need = storm_rules_memory(r);
    if (need <= r->max_memory)
        return 0;
    enum storm_kind big =
        table_memory(STORM_RESOURCE, r) >= table_memory(STORM_CLIENT, r) ? STORM_RESOURCE : STORM_CLIENT;
    char need_s[32], max_s[32], big_s[32];
    human_bytes(need, need_s, sizeof need_s);
    human_bytes(r->max_memory, max_s, sizeof max_s);
    human_bytes(table_memory(big, r), big_s, sizeof big_s);
    snprintf(err, errlen,
             "these rules reserve %s, above max_memory %s: the %s table alone is %s "
             "(%s %zu x %s %u); lower %s or %s, or raise max_memory",
             need_s, max_s, storm_kind_name(big), big_s,
             big == STORM_RESOURCE ? "max_resources" : "max_clients", r->capacity[big],
             big == STORM_RESOURCE ? "resource_clients" : "client_prompts", r->threshold[big],
             big == STORM_RESOURCE ? "max_resources" : "max_clients",
             big == STORM_RESOURCE ? "resource_clients" : "client_prompts");
    return -1;
}

static int table_init(struct table *t, enum storm_kind kind, const struct storm_rules *r,
                      size_t *bytes)
{
    t->kind = kind;
    t->threshold = r->threshold[kind];
    t->window = r->window[kind];
    if (t->threshold == 0)
        return 0; /* rule disabled: no table */
    t->nbuckets = table_buckets(r->capacity[kind]);
    t->nslots = t->nbuckets * STORM_WAYS;
    t->elem = ring_elem(kind);
    t->slots = calloc(t->nslots, sizeof *t->slots);
    if (t->slots == NULL)
        return -1;
    if (t->nslots > SIZE_MAX / t->threshold / t->elem)
        return -1;
    /* calloc: untouched pages of the rings cost no RSS until keys arrive. */
    t->rings = calloc(t->nslots * t->threshold, t->elem);
    if (t->rings == NULL)
        return -1;
    *bytes += t->nslots * sizeof *t->slots + t->nslots * t->threshold * t->elem;
    return 0;
}

struct storm *storm_new(const struct storm_rules *r)
{
    for (int k = 0; k < STORM_KINDS; k++) {
        if (r->threshold[k] > STORM_THRESHOLD_MAX || !(r->window[k] > 0))
            return NULL;
        if (k != STORM_OVERALL && r->threshold[k] > 0 && r->capacity[k] == 0)
            return NULL;
    }
    if (!(r->quiet > 0) || r->max_active == 0 || r->max_active > UINT32_MAX - 1)
        return NULL;
    if (storm_rules_memory(r) > r->max_memory)
        return NULL;

    struct storm *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->rules = *r;
    s->bytes = sizeof *s;
    if (table_init(&s->tables[STORM_RESOURCE], STORM_RESOURCE, r, &s->bytes) != 0)
        goto err;
    if (table_init(&s->tables[STORM_CLIENT], STORM_CLIENT, r, &s->bytes) != 0)
        goto err;
    if (r->threshold[STORM_OVERALL] > 0) {
        s->overall_ring = calloc(r->threshold[STORM_OVERALL], sizeof(double));
        if (s->overall_ring == NULL)
            goto err;
        s->bytes += r->threshold[STORM_OVERALL] * sizeof(double);
    }
    s->active = calloc(r->max_active, sizeof *s->active);
    if (s->active == NULL)
        goto err;
    s->bytes += r->max_active * sizeof *s->active;
    return s;
err:
    storm_free(s);
    return NULL;
}

static void active_free(struct active_rec *a)
{
    if (a == NULL)
        return;
    free(a->pub.key);
    free(a->pub.host);
    free(a->pub.cause);
    free(a->pub.prompt);
    free(a->pub.parent);
    free(a->pub.hint);
    free(a->pub.user);
    free(a->cset);
    free(a);
}

void storm_free(struct storm *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nactive; i++)
        active_free(s->active[i]);
    free(s->active);
    free(s->overall_ring);
    for (int k = 0; k < 2; k++) {
        free(s->tables[k].rings);
        free(s->tables[k].slots);
    }
    free(s);
}

/* ---- active storms -------------------------------------------------------- */

static size_t rec_bytes(const struct active_rec *a)
{
    return sizeof *a + a->ccap * sizeof(uint64_t);
}

/* Add client hash h to a's distinct set; grows the set by doubling up to
 * STORM_CLIENTS_MAX (then saturates). Returns 0, -1 when out of memory. */
static int cset_add(struct storm *s, struct active_rec *a, uint64_t h)
{
    if (a->ccap) {
        size_t mask = a->ccap - 1;
        for (size_t i = h & mask;; i = (i + 1) & mask) {
            if (a->cset[i] == h)
                return 0;
            if (a->cset[i] == 0)
                break;
        }
    }
    if (a->pub.clients >= STORM_CLIENTS_MAX) {
        a->pub.clients_saturated = true;
        return 0;
    }
    if ((a->pub.clients + 1) * 2 > a->ccap) { /* keep the load factor <= 1/2 */
        size_t ncap = a->ccap ? a->ccap * 2 : 16;
        uint64_t *n = calloc(ncap, sizeof *n);
        if (n == NULL)
            return -1;
        for (size_t j = 0; j < a->ccap; j++) {
            uint64_t v = a->cset[j];
            if (v == 0)
                continue;
            size_t i = v & (ncap - 1);
            while (n[i])
                i = (i + 1) & (ncap - 1);
            n[i] = v;
        }
        s->bytes += (ncap - a->ccap) * sizeof(uint64_t);
        free(a->cset);
        a->cset = n;
        a->ccap = ncap;
    }
    size_t i = h & (a->ccap - 1);
    while (a->cset[i])
        i = (i + 1) & (a->ccap - 1);
    a->cset[i] = h;
    a->pub.clients++;
    return 0;
}

/* Replace *dst by a copy of src when src is non-empty. Returns -1 on OOM
 * (then *dst is kept). */
static int set_str(char **dst, const char *src, bool only_if_nonempty)
{
    if (only_if_nonempty && src[0] == '\0' && *dst != NULL)
        return 0;
    char *c = strdup(src);
    if (c == NULL)
        return -1;
    free(*dst);
    *dst = c;
    return 0;
}

/* Count one event's reason (a SPEC §2a spelling, or "") and keep the most
 * frequent as a->pub.reason. O(reasons), a dozen string compares. */
static void reason_count(struct active_rec *a, const char *reason, unsigned long n)
{
    size_t ix = 0;
    for (size_t i = 1; reason != NULL && reason[0] != '\0' && i < EVENT_REASON_COUNT; i++) {
        if (strcmp(reason, event_reason_name((enum event_reason)i)) == 0) {
            ix = i;
            break;
        }
    }
    if (ix == 0)
        return;
    a->pub.reason_counts[ix] += n;
    size_t best = 0;
    for (size_t i = 1; i < EVENT_REASON_COUNT; i++)
        if (a->pub.reason_counts[i] > a->pub.reason_counts[best])
            best = i;
    a->pub.reason = best ? event_reason_name((enum event_reason)best) : "";
}

/* A new active storm for key with labels from ev (ev may be NULL on
 * restore: then the strings come from `from`). Returns NULL when max_active
 * is reached or out of memory. */
static struct active_rec *active_new(struct storm *s, enum storm_kind kind, const char *key,
                                     const struct evrec *ev, const struct storm_active *from)
{
    if (s->nactive >= s->rules.max_active) {
        s->stats.active_full++;
        return NULL;
    }
    struct active_rec *a = calloc(1, sizeof *a);
    if (a == NULL)
        return NULL;
    a->pub.kind = kind;
    if (set_str(&a->pub.key, key, false) != 0)
        goto err;
    if (set_str(&a->pub.host, ev ? ev->host : from->host, false) != 0 ||
        set_str(&a->pub.cause, ev ? ev->cause : from->cause, false) != 0 ||
        set_str(&a->pub.prompt, ev ? ev->prompt : from->prompt, false) != 0 ||
        set_str(&a->pub.parent, ev ? ev->parent : from->parent, false) != 0 ||
        set_str(&a->pub.hint, ev ? ev->hint : from->hint, false) != 0 ||
        set_str(&a->pub.user, ev ? ev->user : from->user, false) != 0)
        goto err;
    a->pub.reason = "";
    reason_count(a, ev ? ev->reason : from->reason, 1);
    s->active[s->nactive++] = a;
    s->bytes += rec_bytes(a);
    return a;
err:
    active_free(a);
    return NULL;
}

/* The slot index field that points at active record i. */
static uint32_t *active_owner(struct storm *s, struct active_rec *a)
{
    if (a->table == NULL)
        return &s->overall_active;
    return &a->table->slots[a->slot].active;
}

/* Remove active record i (swap with the last; O(1)), fixing the back
 * pointer of the moved one. */
static void active_remove(struct storm *s, size_t i)
{
    struct active_rec *a = s->active[i];
    *active_owner(s, a) = 0;
    s->bytes -= rec_bytes(a);
    active_free(a);
    s->nactive--;
    /* Keep the array in firing order so foreach lists the oldest first:
     * O(active) memmove, fine for a few thousand storms. */
    memmove(&s->active[i], &s->active[i + 1], (s->nactive - i) * sizeof *s->active);
    for (size_t j = i; j < s->nactive; j++)
        *active_owner(s, s->active[j]) = (uint32_t)(j + 1);
}

/* A matching event for an active storm. Returns -1 on OOM (counts kept). */
static int active_update(struct storm *s, struct active_rec *a, const struct evrec *ev,
                         uint64_t client, double t)
{
    int rc = 0;
    a->pub.last = t;
    a->pub.count++;
    reason_count(a, ev->reason, 1);
    if (client && cset_add(s, a, client) != 0)
        rc = -1;
    size_t before = strlen(a->pub.parent) + strlen(a->pub.hint) + strlen(a->pub.user);
    if (set_str(&a->pub.parent, ev->parent, true) || set_str(&a->pub.hint, ev->hint, true) ||
        set_str(&a->pub.user, ev->user, true))
        rc = -1;
    size_t after = strlen(a->pub.parent) + strlen(a->pub.hint) + strlen(a->pub.user);
    s->bytes += after - before; /* approximate: strings only */
    return rc;
}

/* ---- tables ---------------------------------------------------------------- */

/* The slot of hash h, claiming one when absent: an empty slot, else the
 * inactive slot quiet longest. Returns NULL when all slots of the bucket
 * hold active storms. O(STORM_WAYS). */
static struct slot *table_slot(struct storm *s, struct table *t, uint64_t h, double now)
{
    struct slot *b = &t->slots[(h & (t->nbuckets - 1)) * STORM_WAYS];
    struct slot *victim = NULL;
    for (int w = 0; w < STORM_WAYS; w++) {
        if (b[w].hash == h)
            return &b[w];
        if (b[w].active)
            continue;
        if (victim == NULL || b[w].hash == 0 ||
            (victim->hash != 0 && b[w].last < victim->last))
            victim = &b[w];
    }
    if (victim == NULL)
        return NULL;
    if (victim->hash != 0 && now - victim->last < t->window)
        s->stats.evicted_live++;
    victim->hash = h;
    victim->last = now;
    victim->head = victim->fill = 0;
    return victim;
}

/* Count an event at time t in a count ring (cap entries). Returns whether
 * the ring now holds cap entries within window, and the oldest one. */
static bool count_ring_push(struct slot *sl, double *ring, unsigned cap, double window, double t,
                            double *oldest)
{
    ring[sl->head] = t;
    sl->head = (sl->head + 1) % cap;
    if (sl->fill < cap)
        sl->fill++;
    if (sl->fill < cap)
        return false;
    *oldest = ring[sl->head]; /* next to be overwritten = oldest */
    return t - *oldest <= window;
}

/* Record client c at time t in a distinct-clients ring. Returns whether it
 * now holds cap distinct clients within window, and the oldest time. */
static bool seen_ring_push(struct slot *sl, struct seen *ring, unsigned cap, double window,
                           uint64_t c, double t, double *oldest)
{
    unsigned i, min = 0;
    for (i = 0; i < sl->fill; i++) {
        if (ring[i].client == c)
            break;
        if (ring[i].ts < ring[min].ts)
            min = i;
    }
    if (i < sl->fill)
        ring[i].ts = t;
    else if (sl->fill < cap)
        ring[sl->fill++] = (struct seen){c, t};
    else
        ring[min] = (struct seen){c, t};
    if (sl->fill < cap)
        return false;
    double o = ring[0].ts;
    for (i = 1; i < cap; i++)
        if (ring[i].ts < o)
            o = ring[i].ts;
    *oldest = o;
    return t - o <= window;
}

/* Feed one keyed rule (resource or client). */
static int feed_table(struct storm *s, struct table *t, const char *key, const struct evrec *ev,
                      uint64_t client, double now, storm_cb cb, void *arg)
{
    if (t->threshold == 0 || key[0] == '\0')
        return 0;
    uint64_t h = hash_str(key, t->kind);
    struct slot *sl = table_slot(s, t, h, now);
    if (sl == NULL) {
        s->stats.dropped++;
        return 0;
    }
    sl->last = now;
    size_t idx = (size_t)(sl - t->slots);
    unsigned char *ring = t->rings + idx * t->threshold * t->elem;
    double oldest = now;
    bool met = t->kind == STORM_RESOURCE
                   ? seen_ring_push(sl, (struct seen *)ring, t->threshold, t->window, client, now,
                                    &oldest)
                   : count_ring_push(sl, (double *)ring, t->threshold, t->window, now, &oldest);
    if (sl->active)
        return active_update(s, s->active[sl->active - 1], ev, client, now);
    if (!met)
        return 0;
    struct active_rec *a = active_new(s, t->kind, key, ev, NULL);
    if (a == NULL)
        return s->nactive >= s->rules.max_active ? 0 : -1;
    a->table = t;
    a->slot = idx;
    sl->active = (uint32_t)s->nactive;
    a->pub.start = oldest;
    a->pub.fired = now;
    a->pub.last = now;
    a->pub.count = t->threshold;
    int rc = 0;
    if (t->kind == STORM_RESOURCE) {
        struct seen *r = (struct seen *)ring;
        for (unsigned i = 0; i < sl->fill; i++)
            if (cset_add(s, a, r[i].client) != 0)
                rc = -1;
    } else if (client && cset_add(s, a, client) != 0) {
        rc = -1;
    }
    s->stats.fired++;
    if (cb)
        cb(arg, &a->pub, STORM_FIRING);
    return rc;
}

int storm_feed(struct storm *s, const struct evrec *ev, storm_cb cb, void *arg)
{
    s->stats.events++;
    if (!evparse_prompts(ev->prompt))
        return 0;
    s->stats.prompting++;
    if (ev->ts > s->now)
        s->now = ev->ts;
    double now = s->now;
    uint64_t client = ev->client[0] ? hash_str(ev->client, 7) : 0;
    int rc = 0;

    unsigned ot = s->rules.threshold[STORM_OVERALL];
    if (ot > 0) {
        double oldest = now;
        bool met = count_ring_push(&s->overall, s->overall_ring, ot, s->rules.window[STORM_OVERALL],
                                   now, &oldest);
        s->overall.last = now;
        if (s->overall_active) {
            rc |= active_update(s, s->active[s->overall_active - 1], ev, client, now);
        } else if (met) {
            struct active_rec *a = active_new(s, STORM_OVERALL, "overall", ev, NULL);
            if (a != NULL) {
                s->overall_active = (uint32_t)s->nactive;
                a->pub.start = oldest;
                a->pub.fired = a->pub.last = now;
                a->pub.count = ot;
                if (client && cset_add(s, a, client) != 0)
                    rc = -1;
                s->stats.fired++;
                if (cb)
                    cb(arg, &a->pub, STORM_FIRING);
            } else if (s->nactive < s->rules.max_active) {
                rc = -1;
            }
        }
    }
    rc |= feed_table(s, &s->tables[STORM_RESOURCE], ev->url, ev, client, now, cb, arg);
    rc |= feed_table(s, &s->tables[STORM_CLIENT], ev->client, ev, client, now, cb, arg);
    return rc ? -1 : 0;
}

void storm_tick(struct storm *s, double now, storm_cb cb, void *arg)
{
    for (size_t i = 0; i < s->nactive;) {
        struct active_rec *a = s->active[i];
        if (now - a->pub.last >= s->rules.quiet) {
            s->stats.resolved++;
            if (cb)
                cb(arg, &a->pub, STORM_RESOLVED);
            active_remove(s, i);
        } else {
            i++;
        }
    }
}

void storm_foreach_active(const struct storm *s, void (*fn)(void *arg, const struct storm_active *a),
                          void *arg)
{
    for (size_t i = 0; i < s->nactive; i++)
        fn(arg, &s->active[i]->pub);
}

size_t storm_active_count(const struct storm *s)
{
    return s->nactive;
}

int storm_restore(struct storm *s, const struct storm_active *from)
{
    if (from->kind >= STORM_KINDS || s->rules.threshold[from->kind] == 0)
        return -1;
    struct slot *sl = NULL;
    struct table *t = NULL;
    if (from->kind == STORM_OVERALL) {
        if (s->overall_active)
            return -1;
    } else {
        t = &s->tables[from->kind];
        sl = table_slot(s, t, hash_str(from->key, t->kind), from->last);
        if (sl == NULL || sl->active)
            return -1;
        sl->last = from->last;
    }
    struct active_rec *a = active_new(s, from->kind, from->key, NULL, from);
    if (a == NULL)
        return -1;
    a->pub.start = from->start;
    a->pub.fired = from->fired;
    a->pub.last = from->last;
    a->pub.count = from->count;
    a->pub.clients = from->clients;
    a->pub.clients_saturated = from->clients_saturated;
    if (t != NULL) {
        a->table = t;
        a->slot = (size_t)(sl - t->slots);
        sl->active = (uint32_t)s->nactive;
    } else {
        s->overall_active = (uint32_t)s->nactive;
    }
    if (from->last > s->now)
        s->now = from->last;
    return 0;
}

const struct storm_stats *storm_get_stats(const struct storm *s)
{
    return &s->stats;
}

size_t storm_memory(const struct storm *s)
{
    return s->bytes;
}

double storm_now(const struct storm *s)
{
    return s->now;
}
