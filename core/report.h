/* report.h -- what `promptcause analyze` learns from a stream of 401/407
 * events: counts by cause and prompt, top denied resources with their parent
 * pages and distinct clients, top clients, the handshake share of all 401s,
 * prompt storms (core/storm.h, the detector `watch` uses) and a per-minute
 * timeline.
 *
 * Memory is fixed by report_limits whatever the length of the log: resources
 * and clients live in bounded tables that evict a low-count entry when full
 * (sampled, like Redis's approximated LRU: 16 candidates, the smallest count
 * goes) and count what they evicted, so a report on a 2-million-line log says
 * when its top lists are approximations. */
#ifndef PROMPTCAUSE_REPORT_H
#define PROMPTCAUSE_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "storm.h"

/* One 401/407. All strings non-NULL; "" is unknown. cause/prompt/evidence use
 * the SPEC §3 spellings (evidence also "time": the raw-log correlation by
 * time proximity). Nothing needs to outlive report_add. */
struct report_event {
    double ts;
    int status;
    const char *client;
    const char *user;
    const char *url;
    const char *host;   /* "" derives it from url */
    const char *cause;
    const char *prompt; /* "" unknown: counts towards storms (a raw-log 401 may prompt) */
    const char *parent;
    const char *evidence;
    const char *reason; /* SPEC §2a reason; "" or NULL when none */
};

struct report_limits {
    size_t resources;            /* distinct URLs tracked (default 16384) */
    size_t clients;              /* distinct clients tracked (default 65536) */
    size_t resource_clients;     /* distinct clients counted exactly per URL (default 256) */
    size_t minutes;              /* timeline minutes kept (default 131072, 91 days) */
    size_t storms;               /* storms kept for the report (default 10000) */
};
void report_limits_default(struct report_limits *lim);

#define REPORT_CAUSES 7  /* the six causes of SPEC §3, then "unknown" */
#define REPORT_PROMPTS 9 /* the eight prompt values, then "unknown" */
extern const char *const report_cause_names[REPORT_CAUSES];
extern const char *const report_prompt_names[REPORT_PROMPTS];
#define REPORT_REASONS 14 /* the thirteen SPEC §2a reasons, then "unknown" */
extern const char *const report_reason_names[REPORT_REASONS];

struct report_totals {
    unsigned long lines;     /* lines read (empty lines not counted) */
    unsigned long unparsed;  /* lines no parser accepted */
    unsigned long events;    /* 401/407 seen */
    unsigned long by_cause[REPORT_CAUSES];
    unsigned long by_prompt[REPORT_PROMPTS];
    unsigned long by_reason[REPORT_REASONS]; /* events with a reason; null reasons are not counted */
    unsigned long status401; /* of the events, those with status 401 */
    unsigned long handshake401;
    double handshake_share;  /* handshake401 / status401, 0 without 401s (after report_finish) */
    unsigned long evicted_resources, evicted_clients, dropped_minutes, dropped_storms;
    double first_ts, last_ts; /* of the events; 0 without events */
};

struct report_resource {
    const char *url, *host, *cause, *prompt, *parent, *evidence; /* "" unknown; latest event's */
    unsigned long count;
    size_t clients;
    bool clients_saturated; /* more distinct clients than resource_clients: "at least" */
};

struct report_client {
    const char *client;
    unsigned long count;
};

struct report_storm {
    const char *kind; /* resource, client, overall */
    const char *key;
    double start, end;
    unsigned long count;
    size_t clients;
    bool open;        /* still active when the log ended */
};

struct report_minute {
    long minute; /* minutes since the epoch */
    unsigned long count;
};

struct report;

/* A report with limits lim and storm rules (NULL: SPEC §6 defaults).
 * Returns NULL when out of memory or the rules are invalid. */
struct report *report_new(const struct report_limits *lim, const struct storm_rules *rules);
void report_free(struct report *r);

/* Count one line read; parsed false counts it as unparsed. */
void report_line(struct report *r, bool parsed);

/* Count one 401/407. Handshake steps count in the totals, the timeline and
 * (as non-prompting) the storm detector, but not in the resource and client
 * tables, which list what refused users. Returns 0, or -1 when out of memory (the totals still
 * counted it; a table entry may be missing). */
int report_add(struct report *r, const struct report_event *ev);

/* Close the report: still-active storms are listed (open), tables sorted by
 * count. Call once, before the getters below. */
void report_finish(struct report *r);

const struct report_totals *report_get_totals(const struct report *r);
/* Sorted by count, largest first (ties by key); valid until report_free. */
size_t report_resources(const struct report *r, const struct report_resource **rows);
size_t report_clients(const struct report *r, const struct report_client **rows);
/* Storms in the order they started. */
size_t report_storms(const struct report *r, const struct report_storm **rows);
/* Minutes in time order; only minutes with events. */
size_t report_timeline(const struct report *r, const struct report_minute **rows);

#endif
