/* corrstore.h -- the correlation store: which pages each client loaded
 * anonymously and which objects those pages embed, shared by every c-icap
 * child process.
 *
 * A page and the 401 on one of its images usually reach different c-icap
 * children (Squid spreads its ICAP connections), so the store lives in one
 * shared memory mapping made before the fork, of exactly StoreBytes, guarded
 * by a process-shared robust mutex. It keeps, per (client, object URL), the
 * page that embeds the object and the object's type; entries older than
 * CorrelationWindow are ignored and overwritten, and when the memory is full
 * the oldest live entries are evicted (counted). The same memory holds the
 * handshake table of SPEC §2a: the fingerprints of the NTLM type-2s given to
 * each (client, host), since a type-3 may reach another child than its
 * type-2. No c-icap header here: the unit tests drive it with fork() and a
 * fake clock. */
#ifndef PROMPTCAUSE_CORRSTORE_H
#define PROMPTCAUSE_CORRSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "handshake.h"

/* Smallest store accepted (a few hundred pages). */
#define CORRSTORE_MIN_BYTES (64u * 1024u)
/* Longest page URL kept; longer pages are not recorded. */
#define CORRSTORE_URL_MAX 4095u
/* Type-2 fingerprints kept per (client, host) key, newest first (SPEC §2a):
 * a browser opens a few connections to a host, each with its own handshake. */
#define CORRSTORE_HS_PER_KEY 4
/* Longest correlation client identity: the address text, and with a proxy
 * user "address|user" (corrstore_client_id), NUL included. */
#define CORRSTORE_CLIENT_MAX 320

struct corrstore;

/* One embedded object of a page: key from corrstore_key, type from the
 * element that embeds it. */
struct corrstore_obj {
    uint64_t key;
    enum event_object type;
};

/* Totals since the store was made, over every process. */
struct corrstore_stats {
    uint64_t pages;     /* page records written */
    uint64_t objects;   /* object entries written (new or refreshed) */
    uint64_t evictions; /* live entries or pages dropped for room, before they expired */
    uint64_t lookups;
    uint64_t hits;
    /* the handshake table (SPEC §2a) */
    uint64_t hs_recorded;  /* type-2 fingerprints written */
    uint64_t hs_lookups;   /* type-3s looked up */
    uint64_t hs_hits;      /* lookups that found at least one fingerprint */
    uint64_t hs_evictions; /* live fingerprints of another key dropped for room */
};

/* Make a store of bytes bytes of shared memory (a memfd named
 * "promptcause-corrstore", so it is recognisable in /proc/PID/smaps) with
 * entries valid for window seconds. Call before fork(): children inherit the
 * mapping. Returns NULL with a reason in err (errlen bytes) when bytes is
 * below CORRSTORE_MIN_BYTES or the memory/mutex cannot be made. */
struct corrstore *corrstore_create(size_t bytes, unsigned window, char *err, size_t errlen);

/* Unmap (in this process only; others keep their mapping). NULL is fine. */
void corrstore_destroy(struct corrstore *cs);

/* Bytes mapped (== the bytes given to corrstore_create). */
size_t corrstore_bytes(const struct corrstore *cs);

/* Number of object entries the store can hold. */
size_t corrstore_capacity(const struct corrstore *cs);

/* Key of (client, normalised absolute URL): a 64-bit FNV-1a hash, never 0.
 * The client is the address text ("" when unknown). */
uint64_t corrstore_key(const char *client, size_t client_len, const char *url, size_t url_len);

/* Seconds of a clock shared by all processes (CLOCK_MONOTONIC). */
uint32_t corrstore_now(void);

/* Record objs[0..n) as embedded by the page url[0..url_len) at time now.
 * *page_ref is 0 for the first batch of a page; the store sets it, and later
 * batches of the same page pass it back (the page is written again only if
 * it was evicted meanwhile). *evicted (may be NULL) gets the number of live
 * entries or pages dropped for room. Returns 0, or -1 when the page URL is
 * longer than CORRSTORE_URL_MAX or the lock could not be taken (nothing
 * recorded). */
int corrstore_record(struct corrstore *cs, const char *url, size_t url_len, uint64_t *page_ref,
                     const struct corrstore_obj *objs, size_t n, uint32_t now, unsigned *evicted);

/* Find the page that embeds the object with key (within the window at now).
 * Returns 1 and copies the page URL into page (cap bytes, NUL-terminated,
 * truncated when cap is small) and the object type into *type; 0 when none;
 * -1 when the lock could not be taken. */
int corrstore_lookup(struct corrstore *cs, uint64_t key, uint32_t now, char *page, size_t cap,
                     enum event_object *type);

void corrstore_get_stats(struct corrstore *cs, struct corrstore_stats *out);

/* The client a correlation belongs to (SPEC §2 rule 5, "Shared IPs" in
 * docs/CORRELATION.md): the address text, or "address|user" when Squid names
 * the proxy user (X-Authenticated-User), so users behind one terminal server
 * keep apart. The first '|' ends the address (an address has none), so two
 * pairs never make the same text. client and user may be NULL or ""; a long
 * user is cut to fit. Writes out (cap bytes, NUL-terminated) and returns its
 * length. */
size_t corrstore_client_id(const char *client, const char *user, char *out, size_t cap);

/* Number of type-2 fingerprints the handshake table can hold. */
size_t corrstore_hs_capacity(const struct corrstore *cs);

/* Remember the fingerprint of a type-2 given at time now under key (from
 * corrstore_key(client id, host)). The key's oldest fingerprint goes when it
 * already has CORRSTORE_HS_PER_KEY live ones; else a free or expired slot is
 * used, else the oldest of another key is evicted (counted; *evicted, which
 * may be NULL, gets 1). Returns 0, or -1 when the lock could not be taken. */
int corrstore_hs_record(struct corrstore *cs, uint64_t key, const struct handshake_print *p, uint32_t now,
                        unsigned *evicted);

/* The live fingerprints under key at now, newest first, into out[0..cap).
 * *incomplete tells that a live fingerprint of this key was dropped within
 * the window (the per-key cap or an eviction): a type-3 may answer that one,
 * so "answers none of these" proves nothing. Returns how many
 * (0..CORRSTORE_HS_PER_KEY), or -1 when the lock could not be taken. */
int corrstore_hs_lookup(struct corrstore *cs, uint64_t key, uint32_t now, struct handshake_print *out, size_t cap,
                        bool *incomplete);

#endif
