/* hostset.h -- event counts by host with a bounded label set, for the
 * promptcause_events_by_host_total metric: the top N hosts by count get
 * their own series, every other event is counted under "other".
 *
 * Why not one series per host: the host comes from the event log, so a
 * proxy that sees a million hosts would make a million series and break
 * the Prometheus server. The set keeps K = max(8N, 128) candidates with
 * the Space-Saving algorithm (Metwally et al. 2005): any host with more than
 * 1/K of all events is guaranteed to be among them, with a count that is
 * never below the truth; the N with the highest guaranteed counts are
 * exported. Hosts rarer than 1/K may be missed; at the default N = 20 that
 * is under 0.6 % of the events each.
 *
 * Each exported series must be a counter that never goes down, so an event
 * is counted under its host only while that host is exported, else under
 * "other". A host that rises into the top N starts its series at 0 (its
 * earlier events stay in "other"); one pushed out keeps its value and
 * continues from it if it comes back while still a candidate; its series
 * ends while it is out. So the sum of the series shown is the number of
 * events minus those counted under hosts pushed out of the top N. */
#ifndef PROMPTCAUSE_HOSTSET_H
#define PROMPTCAUSE_HOSTSET_H

#include <stdbool.h>
#include <stddef.h>

/* The label value for events of hosts that are not exported. A host that
 * is literally named "other" (or is empty) is never exported, so its events
 * are always counted there. */
#define HOSTSET_OTHER "other"
#define HOSTSET_NAME_MAX 255 /* longer host names are cut at this many bytes */
#define HOSTSET_N_MAX 1000
#define HOSTSET_K_FACTOR 8 /* candidates per exported host */
#define HOSTSET_K_MIN 128

struct hostset;

/* A set exporting at most n hosts (1..HOSTSET_N_MAX). Returns NULL when n is
 * out of range or memory runs out. */
struct hostset *hostset_new(size_t n);
void hostset_free(struct hostset *h);

/* Count one event of host[0..len) (need not be NUL-terminated). O(K). */
void hostset_add(struct hostset *h, const char *host, size_t len);

/* Call fn for each exported host (any order), then once for "other". */
void hostset_foreach(const struct hostset *h,
                     void (*fn)(void *arg, const char *host, unsigned long long count), void *arg);

/* Events counted under "other"; total events counted. */
unsigned long long hostset_other(const struct hostset *h);
unsigned long long hostset_total(const struct hostset *h);
/* Hosts exported now (<= n). */
size_t hostset_exported(const struct hostset *h);

#endif
