/* hostset.c -- top-N hosts by event count with "other" for the rest (see
 * hostset.h for the algorithm and why series stay monotonic).
 *
 * K candidate slots, searched linearly by a 64-bit hash: O(K) per event,
 * 160 hash compares at the default N of 20, about the cost of the JSON
 * parse of the event itself. A hash table would make lookup O(1) but
 * finding the minimum still needs a heap; not worth it at these sizes.
 * Hosts enter the exported set on their guaranteed count (estimate minus
 * the error inherited from the slot's previous host), so a one-off host
 * that inherits a large estimate cannot push a real top host out. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hostset.h"

struct slot {
    uint64_t hash;
    unsigned long long est;   /* Space-Saving estimate (>= true count) */
    unsigned long long err;   /* est inherited on taking the slot: est - err <= true count */
    unsigned long long value; /* events counted under this host's series */
    bool used, exported;
    unsigned char len;
    char name[HOSTSET_NAME_MAX + 1];
};

struct hostset {
    size_t n, k, used, exported;
    unsigned long long other, total;
    struct slot *slots;
};

struct hostset *hostset_new(size_t n)
{
    if (n == 0 || n > HOSTSET_N_MAX)
        return NULL;
    struct hostset *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    h->n = n;
    h->k = n * HOSTSET_K_FACTOR < HOSTSET_K_MIN ? HOSTSET_K_MIN : n * HOSTSET_K_FACTOR;
    h->slots = calloc(h->k, sizeof *h->slots);
    if (h->slots == NULL) {
        free(h);
        return NULL;
    }
    return h;
}

void hostset_free(struct hostset *h)
{
    if (h == NULL)
        return;
    free(h->slots);
    free(h);
}

static uint64_t fnv(const char *p, size_t n)
{
    uint64_t x = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        x = (x ^ (unsigned char)p[i]) * 1099511628211ULL;
    return x;
}

static unsigned long long guaranteed(const struct slot *s)
{
    return s->est - s->err;
}

/* The exported slot with the lowest guaranteed count (NULL when none). */
static struct slot *min_exported(struct hostset *h)
{
    struct slot *m = NULL;
    for (size_t i = 0; i < h->k; i++) {
        struct slot *s = &h->slots[i];
        if (s->used && s->exported && (m == NULL || guaranteed(s) < guaranteed(m)))
            m = s;
    }
    return m;
}

/* A slot for a host not in the table: a free one, else the non-exported
 * candidate with the lowest estimate, whose count the newcomer inherits
 * (Space-Saving's over-estimate). Never an exported slot while K > N. */
static struct slot *take_slot(struct hostset *h)
{
    struct slot *m = NULL;
    for (size_t i = 0; i < h->k; i++) {
        struct slot *s = &h->slots[i];
        if (!s->used)
            return s;
        if (!s->exported && (m == NULL || s->est < m->est))
            m = s;
    }
    return m;
}

void hostset_add(struct hostset *h, const char *host, size_t len)
{
    h->total++;
    if (len > HOSTSET_NAME_MAX)
        len = HOSTSET_NAME_MAX;
    if (len == 0 || (len == strlen(HOSTSET_OTHER) && memcmp(host, HOSTSET_OTHER, len) == 0)) {
        h->other++;
        return;
    }
    uint64_t hv = fnv(host, len);
    struct slot *s = NULL;
    for (size_t i = 0; i < h->k; i++) {
        struct slot *c = &h->slots[i];
        if (c->used && c->hash == hv && c->len == len && memcmp(c->name, host, len) == 0) {
            s = c;
            break;
        }
    }
    if (s == NULL) {
        s = take_slot(h);
        if (!s->used) {
            s->used = true;
            h->used++;
            s->est = 0;
        }
        s->err = s->est; /* Space-Saving: inherit the evicted estimate */
        s->hash = hv;
        s->len = (unsigned char)len;
        memcpy(s->name, host, len);
        s->name[len] = '\0';
        s->value = 0;
        s->exported = false;
    }
    s->est++;
    if (!s->exported) {
        /* Admit while there is room, or when strictly ahead of the weakest
         * exported host (strictly: ties would make the set flap). */
        if (h->exported < h->n) {
            s->exported = true;
            h->exported++;
        } else {
            struct slot *m = min_exported(h);
            if (m != NULL && guaranteed(s) > guaranteed(m)) {
                m->exported = false;
                s->exported = true;
            }
        }
    }
    if (s->exported)
        s->value++;
    else
        h->other++;
}

void hostset_foreach(const struct hostset *h,
                     void (*fn)(void *arg, const char *host, unsigned long long count), void *arg)
{
    for (size_t i = 0; i < h->k; i++) {
        const struct slot *s = &h->slots[i];
        if (s->used && s->exported)
            fn(arg, s->name, s->value);
    }
    fn(arg, HOSTSET_OTHER, h->other);
}

unsigned long long hostset_other(const struct hostset *h)
{
    return h->other;
}

unsigned long long hostset_total(const struct hostset *h)
{
    return h->total;
}

size_t hostset_exported(const struct hostset *h)
{
    return h->exported;
}
