/* corrstore.c -- the shared correlation store (see corrstore.h).
 *
 * Why our own shared memory rather than c-icap's cache API (`ci_cache_build
 * (..., "shared", ...)` with `Module common shared_cache.so`): that cache
 * silently falls back to a per-process one when the admin forgets the Module
 * line -- correlation would then fail only when page and object land in
 * different children, the hardest failure to notice -- and its fixed-size
 * slots would hold a whole page URL per object. Our own mapping costs a
 * mutex and this file, and needs no configuration beyond StoreBytes.
 *
 * Layout of the mapping (all of it is StoreBytes, nothing grows):
 *   header (mutex, geometry, counters)
 *   entry table: buckets of BUCKET entries {key, page position, time, type},
 *     set-associative like a CPU cache: an insert replaces an entry with the
 *     same key, else a dead one (empty, expired or whose page is gone), else
 *     the bucket's oldest (an eviction). O(BUCKET) per insert and lookup.
 *   page ring: page URLs written one after the other; a page is named by its
 *     absolute byte position (a 64-bit counter that never wraps), so "still
 *     there" is the test tail <= pos, with no tags to compare. Writing past
 *     the oldest record drops it (an eviction when it was still live).
 *   handshake table (SPEC §2a): buckets of HS_BUCKET type-2 fingerprints
 *     {key (client id, host), sequence, time, print}, set-associative as the
 *     entries: at most CORRSTORE_HS_PER_KEY live per key (the key's oldest
 *     goes first), else a dead slot, else the bucket's oldest of another key
 *     (an eviction).
 * A quarter of the memory goes to the ring: with ~60-byte page URLs and a
 * dozen objects a page, entries run out at about the same time as pages.
 * A sixteenth goes to the handshake table (a fingerprint is ~290 bytes, most
 * of it the names and connections kept as text): 1 MiB of the default
 * 16 MiB, ~3,600 type-2s, far more handshakes than a CorrelationWindow of a
 * busy proxy holds (a type-3 follows its type-2 within a second); the
 * smallest store keeps one bucket of eight.
 *
 * The lock is a robust process-shared mutex: a child that dies holding it
 * (c-icap children do crash on bad ICAP framing) leaves the next locker
 * EOWNERDEAD, which marks it consistent and goes on -- the worst left behind
 * is one half-written entry, which at most names a wrong parent once. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "corrstore.h"
#include "sharedmem.h"

#define BUCKET 8
#define CACHE_LINE 64
#define HS_BUCKET 8
#define HS_SHARE 16 /* the handshake table gets 1/HS_SHARE of the memory */
_Static_assert(CORRSTORE_HS_PER_KEY < HS_BUCKET, "a full key must leave room for others in its bucket");
#define REC_HDR 8u          /* page record header: len (4), time (4) */
#define REC_SKIP 0xffffffffu /* len of a record that fills the ring's end */

struct entry {
    uint64_t key;      /* 0: empty */
    uint64_t page_pos; /* absolute ring position of the page record */
    uint32_t time;
    uint32_t type;
};

/* One remembered type-2. seq orders them (time has only seconds). */
struct hs_entry {
    uint64_t key;  /* 0: empty */
    uint64_t seq;
    uint32_t time;
    uint32_t dropped; /* when a live fingerprint of this key was dropped (0: never) */
    struct handshake_print print;
};

struct header {
    pthread_mutex_t lock;
    size_t bytes;
    uint32_t window;
    size_t nbuckets;
    size_t hs_nbuckets;
    uint64_t hs_seq;       /* last sequence number given */
    size_t ring_size;      /* bytes, multiple of 8 */
    uint64_t head, tail;   /* absolute positions: next write, oldest record */
    struct corrstore_stats stats;
};

struct corrstore {
    struct header *h;   /* start of the mapping */
    struct entry *entries;
    struct hs_entry *hs;
    unsigned char *ring;
};

static size_t round8(size_t n)
{
    return (n + 7u) & ~(size_t)7u;
}

uint32_t corrstore_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)ts.tv_sec;
}

uint64_t corrstore_key(const char *client, size_t client_len, const char *url, size_t url_len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < client_len; i++) {
        h = (h ^ (unsigned char)client[i]) * 1099511628211ull;
    }
    h = (h ^ 0u) * 1099511628211ull; /* separator: "a"+"bc" != "ab"+"c" */
    for (size_t i = 0; i < url_len; i++) {
        h = (h ^ (unsigned char)url[i]) * 1099511628211ull;
    }
    return h != 0 ? h : 1;
}

struct corrstore *corrstore_create(size_t bytes, unsigned window, char *err, size_t errlen)
{
    if (bytes < CORRSTORE_MIN_BYTES) {
        snprintf(err, errlen, "StoreBytes %zu is below the minimum of %u", bytes, CORRSTORE_MIN_BYTES);
        return NULL;
    }
    struct corrstore *cs = calloc(1, sizeof *cs);
    if (cs == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    void *mem = sharedmem_map("promptcause-corrstore", bytes, err, errlen);
    if (mem == NULL) {
        free(cs);
        return NULL;
    }
    struct header *h = mem; /* zero-filled */
    /* buckets start on a cache line, so one spans exactly three */
    size_t hdr = (sizeof *h + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE;
    h->bytes = bytes;
    h->window = window;
    size_t hs_bucket_bytes = HS_BUCKET * sizeof(struct hs_entry);
    h->ring_size = round8((bytes - hdr) / 4) - 8;
    h->hs_nbuckets = (bytes - hdr) / HS_SHARE / hs_bucket_bytes;
    if (h->hs_nbuckets == 0) {
        h->hs_nbuckets = 1;
    }
    h->nbuckets = (bytes - hdr - h->ring_size - h->hs_nbuckets * hs_bucket_bytes) / (BUCKET * sizeof(struct entry));
    cs->h = h;
    cs->entries = (struct entry *)((unsigned char *)mem + hdr);
    cs->hs = (struct hs_entry *)(cs->entries + h->nbuckets * BUCKET);
    cs->ring = (unsigned char *)mem + bytes - h->ring_size;
    if (sharedmem_mutex_init(&h->lock) != 0) {
        snprintf(err, errlen, "cannot make the store's process-shared lock");
        corrstore_destroy(cs);
        return NULL;
    }
    return cs;
}

void corrstore_destroy(struct corrstore *cs)
{
    if (cs != NULL) {
        munmap(cs->h, cs->h->bytes);
        free(cs);
    }
}

size_t corrstore_bytes(const struct corrstore *cs)
{
    return cs->h->bytes;
}

size_t corrstore_capacity(const struct corrstore *cs)
{
    return cs->h->nbuckets * BUCKET;
}

/* Take the lock; a holder that died leaves it to us. Returns 0 or -1. */
static int lock(struct corrstore *cs)
{
    return sharedmem_lock(&cs->h->lock);
}

static void unlock(struct corrstore *cs)
{
    pthread_mutex_unlock(&cs->h->lock);
}

static bool fresh(const struct header *h, uint32_t time, uint32_t now)
{
    return (uint32_t)(now - time) <= h->window;
}

/* Position of the record after the one at pos (pos < head). */
static uint64_t rec_next(const struct corrstore *cs, uint64_t pos)
{
    size_t R = cs->h->ring_size;
    size_t off = (size_t)(pos % R);
    uint32_t len;
    if (R - off < REC_HDR) {
        return pos + (R - off);
    }
    memcpy(&len, cs->ring + off, sizeof len);
    if (len == REC_SKIP) {
        return pos + (R - off);
    }
    return pos + round8(REC_HDR + len);
}

/* Drop records until nothing before limit is in use; count live ones. */
static unsigned reclaim(struct corrstore *cs, uint64_t limit, uint32_t now)
{
    struct header *h = cs->h;
    unsigned evicted = 0;
    while (h->tail < limit && h->tail < h->head) {
        size_t off = (size_t)(h->tail % h->ring_size);
        uint32_t len, t;
        if (h->ring_size - off >= REC_HDR) {
            memcpy(&len, cs->ring + off, sizeof len);
            memcpy(&t, cs->ring + off + 4, sizeof t);
            if (len != REC_SKIP && fresh(h, t, now)) {
                evicted++;
            }
        }
        h->tail = rec_next(cs, h->tail);
    }
    return evicted;
}

/* Append a page record; returns its position. Caller holds the lock and has
 * checked len <= CORRSTORE_URL_MAX (< ring_size / 2 since the ring is at
 * least 16 KiB). */
static uint64_t page_append(struct corrstore *cs, const char *url, uint32_t len, uint32_t now, unsigned *evicted)
{
    struct header *h = cs->h;
    size_t R = h->ring_size;
    size_t need = round8(REC_HDR + len);
    uint64_t pos = h->head;
    size_t off = (size_t)(pos % R);
    if (R - off < need) {
        pos += R - off; /* does not fit before the end: start over at 0 */
    }
    *evicted += reclaim(cs, pos + need > R ? pos + need - R : 0, now);
    bool empty = h->tail == h->head; /* then the walk must start at pos */
    if (pos != h->head && R - off >= REC_HDR) {
        uint32_t skip = REC_SKIP;
        memcpy(cs->ring + off, &skip, sizeof skip);
    }
    unsigned char *r = cs->ring + (size_t)(pos % R);
    memcpy(r, &len, sizeof len);
    memcpy(r + 4, &now, sizeof now);
    memcpy(r + REC_HDR, url, len);
    h->head = pos + need;
    if (empty) {
        h->tail = pos;
    }
    h->stats.pages++;
    return pos;
}

static bool page_present(const struct header *h, uint64_t pos)
{
    return pos >= h->tail && pos < h->head;
}

static bool live(const struct header *h, const struct entry *e, uint32_t now)
{
    return e->key != 0 && fresh(h, e->time, now) && page_present(h, e->page_pos);
}

/* The bucket a key lives in (nbuckets is fixed at creation, so no lock). */
static struct entry *bucket_of(const struct corrstore *cs, uint64_t key)
{
    return cs->entries + (key % cs->h->nbuckets) * BUCKET;
}

int corrstore_record(struct corrstore *cs, const char *url, size_t url_len, uint64_t *page_ref,
                     const struct corrstore_obj *objs, size_t n, uint32_t now, unsigned *evicted)
{
    unsigned ev = 0;
    if (url_len > CORRSTORE_URL_MAX) {
        return -1;
    }
    /* A page's objects land in buckets all over a table of megabytes, so
     * each insert below would wait for memory in turn (most of this
     * function's time): ask for every bucket first so the waits overlap,
     * before the lock, so no other process waits on them. */
    for (size_t i = 0; i < n; i++) {
        const char *b = (const char *)bucket_of(cs, objs[i].key);
        for (size_t line = 0; line < BUCKET * sizeof(struct entry); line += CACHE_LINE) {
            __builtin_prefetch(b + line, 1);
        }
    }
    if (lock(cs) != 0) {
        return -1;
    }
    struct header *h = cs->h;
    /* page_ref holds position + 1, so 0 means "not written yet". */
    if (*page_ref == 0 || !page_present(h, *page_ref - 1)) {
        *page_ref = page_append(cs, url, (uint32_t)url_len, now, &ev) + 1;
    }
    uint64_t pos = *page_ref - 1;
    for (size_t i = 0; i < n; i++) {
        struct entry *b = bucket_of(cs, objs[i].key);
        struct entry *slot = NULL, *dead = NULL, *oldest = b;
        for (size_t j = 0; j < BUCKET; j++) {
            if (b[j].key == objs[i].key) {
                slot = &b[j];
                break;
            }
            if (dead == NULL && !live(h, &b[j], now)) {
                dead = &b[j];
            }
            if ((uint32_t)(now - b[j].time) > (uint32_t)(now - oldest->time)) {
                oldest = &b[j];
            }
        }
        if (slot == NULL) {
            slot = dead;
        }
        if (slot == NULL) {
            slot = oldest;
            ev++;
        }
        slot->key = objs[i].key;
        slot->page_pos = pos;
        slot->time = now;
        slot->type = (uint32_t)objs[i].type;
        h->stats.objects++;
    }
    h->stats.evictions += ev;
    unlock(cs);
    if (evicted != NULL) {
        *evicted = ev;
    }
    return 0;
}

int corrstore_lookup(struct corrstore *cs, uint64_t key, uint32_t now, char *page, size_t cap,
                     enum event_object *type)
{
    int found = 0;
    if (lock(cs) != 0) {
        return -1;
    }
    struct header *h = cs->h;
    struct entry *b = bucket_of(cs, key);
    h->stats.lookups++;
    for (size_t j = 0; j < BUCKET; j++) {
        if (b[j].key != key || !live(h, &b[j], now)) {
            continue;
        }
        const unsigned char *r = cs->ring + (size_t)(b[j].page_pos % h->ring_size);
        uint32_t len;
        memcpy(&len, r, sizeof len);
        if (len > CORRSTORE_URL_MAX) {
            break; /* cannot happen unless a dead writer left it half done */
        }
        size_t n = len < cap ? len : cap - 1;
        memcpy(page, r + REC_HDR, n);
        page[n] = '\0';
        *type = (enum event_object)b[j].type;
        h->stats.hits++;
        found = 1;
        break;
    }
    unlock(cs);
    return found;
}

void corrstore_get_stats(struct corrstore *cs, struct corrstore_stats *out)
{
    if (lock(cs) != 0) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = cs->h->stats;
    unlock(cs);
}

size_t corrstore_client_id(const char *client, const char *user, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0) {
        return 0;
    }
    for (const char *c = client != NULL ? client : ""; *c != '\0' && *c != '|' && o + 1 < cap; c++) {
        out[o++] = *c;
    }
    if (user != NULL && user[0] != '\0' && o + 2 < cap) {
        out[o++] = '|';
        for (const char *u = user; *u != '\0' && o + 1 < cap; u++) {
            out[o++] = *u;
        }
    }
    out[o] = '\0';
    return o;
}

size_t corrstore_hs_capacity(const struct corrstore *cs)
{
    return cs->h->hs_nbuckets * HS_BUCKET;
}

static bool hs_live(const struct header *h, const struct hs_entry *e, uint32_t now)
{
    return e->key != 0 && fresh(h, e->time, now);
}

int corrstore_hs_record(struct corrstore *cs, uint64_t key, const struct handshake_print *p, uint32_t now,
                        unsigned *evicted)
{
    unsigned ev = 0;
    if (lock(cs) != 0) {
        return -1;
    }
    struct header *h = cs->h;
    struct hs_entry *b = cs->hs + (key % h->hs_nbuckets) * HS_BUCKET;
    struct hs_entry *mine_oldest = NULL, *dead = NULL, *other_oldest = NULL, *slot;
    size_t mine = 0;
    for (size_t j = 0; j < HS_BUCKET; j++) {
        if (!hs_live(h, &b[j], now)) {
            if (dead == NULL) {
                dead = &b[j];
            }
        } else if (b[j].key == key) {
            mine++;
            if (mine_oldest == NULL || b[j].seq < mine_oldest->seq) {
                mine_oldest = &b[j];
            }
        } else if (other_oldest == NULL || b[j].seq < other_oldest->seq) {
            other_oldest = &b[j];
        }
    }
    uint32_t dropped = 0;
    if (mine >= CORRSTORE_HS_PER_KEY) {
        slot = mine_oldest; /* the key's own oldest: by design, not an eviction */
        dropped = now;
    } else if (dead != NULL) {
        slot = dead;
    } else {
        slot = other_oldest; /* mine < PER_KEY < HS_BUCKET: never NULL here */
        ev = 1;
        /* its key's other fingerprints (all in this bucket) no longer tell
         * the whole story: a type-3 may answer the one dropped */
        for (size_t j = 0; j < HS_BUCKET; j++) {
            if (&b[j] != slot && b[j].key == slot->key && hs_live(h, &b[j], now)) {
                b[j].dropped = now;
            }
        }
    }
    for (size_t j = 0; dropped != 0 && j < HS_BUCKET; j++) {
        if (&b[j] != slot && b[j].key == key && hs_live(h, &b[j], now)) {
            b[j].dropped = now;
        }
    }
    slot->key = key;
    slot->seq = ++h->hs_seq;
    slot->time = now;
    slot->dropped = dropped;
    slot->print = *p;
    h->stats.hs_recorded++;
    h->stats.hs_evictions += ev;
    unlock(cs);
    if (evicted != NULL) {
        *evicted = ev;
    }
    return 0;
}

int corrstore_hs_lookup(struct corrstore *cs, uint64_t key, uint32_t now, struct handshake_print *out, size_t cap,
                        bool *incomplete)
{
    const struct hs_entry *found[HS_BUCKET];
    size_t n = 0;
    *incomplete = false;
    if (lock(cs) != 0) {
        return -1;
    }
    struct header *h = cs->h;
    const struct hs_entry *b = cs->hs + (key % h->hs_nbuckets) * HS_BUCKET;
    for (size_t j = 0; j < HS_BUCKET; j++) {
        if (b[j].key != key || !hs_live(h, &b[j], now)) {
            continue;
        }
        size_t i = n++; /* insertion sort, newest (highest seq) first */
        while (i > 0 && found[i - 1]->seq < b[j].seq) {
            found[i] = found[i - 1];
            i--;
        }
        found[i] = &b[j];
        if (b[j].dropped != 0 && fresh(h, b[j].dropped, now)) {
            *incomplete = true;
        }
    }
    if (n > CORRSTORE_HS_PER_KEY) {
        n = CORRSTORE_HS_PER_KEY;
    }
    if (n > cap) {
        n = cap;
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = found[i]->print;
    }
    h->stats.hs_lookups++;
    if (n > 0) {
        h->stats.hs_hits++;
    }
    unlock(cs);
    return (int)n;
}
