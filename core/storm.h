/* storm.h -- the prompt-storm detector of SPEC §6: three sliding-window rules
 * over the event stream, and the lifecycle of the storms they find.
 *
 * - resource: one URL refuses >= N distinct clients within W seconds;
 * - client:   one client gets >= N prompts within W seconds;
 * - overall:  >= N prompts within W seconds.
 * Only events that prompt count (evparse_prompts). A storm fires once when its
 * rule is first met and stays active while matching events keep coming; it
 * resolves after `quiet` seconds without one.
 *
 * Time is whatever the caller says it is: events carry their own timestamps
 * and storm_tick takes "now", so tests drive it with a fake clock and
 * `analyze` replays old logs. The detector lives in core/ so both `watch` and
 * `analyze` use it. Memory is fixed when the detector is created (see
 * storm.c for the table design and what is lost when it is full). */
#ifndef PROMPTCAUSE_STORM_H
#define PROMPTCAUSE_STORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "evparse.h"

enum storm_kind { STORM_RESOURCE = 0, STORM_CLIENT, STORM_OVERALL, STORM_KINDS };

/* Thresholds above this are refused: the per-key rings hold `threshold`
 * entries, so this bounds per-key memory and the O(threshold) scans. */
#define STORM_THRESHOLD_MAX 10000
/* Distinct clients counted exactly per active storm; beyond it the storm
 * reports "at least this many" (clients_saturated). */
#define STORM_CLIENTS_MAX 4096

struct storm_rules {
    unsigned threshold[STORM_KINDS]; /* 0 disables the rule */
    double window[STORM_KINDS];      /* seconds, > 0 */
    double quiet;                    /* seconds without a matching event before a storm resolves */
    double resend;                   /* seconds between re-sends of firing alerts (watch) */
    size_t capacity[STORM_KINDS];    /* keys tracked at once (resource, client; overall ignored) */
    size_t max_active;               /* storms active at once */
    uint64_t max_memory;             /* bytes storm_new may reserve (storm_rules_memory) */
};

/* Default max_memory: far above the defaults' 32 MB, below what a rule
 * such as client_prompts 1000 at 262144 clients would reserve (2 GB). */
#define STORM_MEMORY_DEFAULT (1024ULL * 1024 * 1024)

/* SPEC §6 defaults: 10 clients/60 s, 5 prompts/60 s, 100 prompts/60 s, quiet
 * 120 s; resend 60 s; 65536 resources, 262144 clients, 1024 active storms;
 * max_memory STORM_MEMORY_DEFAULT. */
void storm_rules_default(struct storm_rules *r);

/* Handler for rules-file keys the detector does not know (e.g. watch's
 * "syslog"): returns 0 when it took the key, -1 with a message in err. */
typedef int (*storm_rules_extra_fn)(void *arg, const char *key, const char *value, char *err,
                                    size_t errlen);

/* Parse a rules file (text[0..n), "key value" lines, '#' comments) on top
 * of *r. Returns 0, or -1 with "line N: ..." in err (r partly updated: parse
 * into a copy when the old rules must survive), or with the message of
 * storm_rules_check_memory when the rules parse but need more than
 * max_memory. extra may be NULL. */
int storm_rules_parse(const char *text, size_t n, struct storm_rules *r, storm_rules_extra_fn extra,
                      void *arg, char *err, size_t errlen);

/* Bytes storm_new reserves for rules r: the tables are sized up front
 * (capacity x threshold ring entries per rule), so a high threshold at a
 * large capacity reserves a lot even though untouched pages cost no RSS. */
uint64_t storm_rules_memory(const struct storm_rules *r);

/* 0 when storm_rules_memory(r) <= r->max_memory; else -1 with a message in
 * err naming the largest table and what to lower. Why refuse rather than
 * grow: fixed memory is what keeps watch bounded under a million clients,
 * and a reservation of gigabytes fails on hosts with strict overcommit. */
int storm_rules_check_memory(const struct storm_rules *r, char *err, size_t errlen);

/* Name of a kind: "resource", "client", "overall". */
const char *storm_kind_name(enum storm_kind kind);

/* One active (or just resolved) storm. Strings are never NULL ("" unknown).
 * host, cause and prompt are those of the event that fired the storm and do
 * not change while it lasts (they become alert labels, which must be stable);
 * parent, hint and user follow the latest event that has them. */
struct storm_active {
    enum storm_kind kind;
    char *key;    /* URL (resource), client address (client), "overall" */
    char *host;
    char *cause;
    char *prompt;
    char *parent;
    char *hint;
    char *user;
    /* The most frequent SPEC §2a reason of the events seen since the storm
     * fired (static spelling, "" when none had one); reason_counts holds the
     * counts per enum event_reason (index 0: no reason), so ties go to the
     * reason first in the SPEC's table. */
    const char *reason;
    unsigned long reason_counts[EVENT_REASON_COUNT];
    double start; /* ts of the oldest event in the window that fired it */
    double fired; /* ts of the event that met the threshold */
    double last;  /* ts of the latest matching event */
    unsigned long count;     /* matching events from start on */
    size_t clients;          /* distinct clients from start on */
    bool clients_saturated;  /* clients stopped at STORM_CLIENTS_MAX */
};

enum storm_transition { STORM_FIRING, STORM_RESOLVED };

/* Called when a storm fires (from storm_feed) or resolves (from storm_tick);
 * a is valid only during the call. */
typedef void (*storm_cb)(void *arg, const struct storm_active *a, enum storm_transition t);

struct storm_stats {
    unsigned long events;      /* events fed */
    unsigned long prompting;   /* of which prompt */
    unsigned long fired;
    unsigned long resolved;
    unsigned long evicted_live; /* keys pushed out while they still had events in their window */
    unsigned long dropped;      /* events not counted: every slot of their bucket held an active storm */
    unsigned long active_full;  /* storms not raised: max_active reached */
};

struct storm;

/* A detector with rules r (copied). Returns NULL when the rules are invalid
 * (threshold > STORM_THRESHOLD_MAX, window <= 0, zero capacity, more than
 * max_memory) or memory runs out. */
struct storm *storm_new(const struct storm_rules *r);
void storm_free(struct storm *s);

/* Count one event. Time is max(ev->ts, latest ts fed so far): the detector's
 * clock never runs backwards, so events of c-icap children written slightly
 * out of order count at the newest time. Calls cb (may be NULL) for every
 * storm this event fires. Returns 0, or -1 when out of memory (the event
 * still counted for the rules that did not need memory). */
int storm_feed(struct storm *s, const struct evrec *ev, storm_cb cb, void *arg);

/* Resolve the storms whose last matching event is `quiet` or more seconds
 * before now, calling cb for each. O(active storms). */
void storm_tick(struct storm *s, double now, storm_cb cb, void *arg);

/* Call fn for each active storm, oldest first. */
void storm_foreach_active(const struct storm *s, void (*fn)(void *arg, const struct storm_active *a),
                          void *arg);
size_t storm_active_count(const struct storm *s);

/* Re-create an active storm saved before a restart (a->kind, key, labels,
 * times and counts; distinct clients restart from a->clients as a count).
 * Does not call any callback. Returns 0, or -1 when it cannot be tracked
 * (max_active reached, its bucket full of active storms, out of memory,
 * kind disabled). */
int storm_restore(struct storm *s, const struct storm_active *a);

const struct storm_stats *storm_get_stats(const struct storm *s);
/* Bytes allocated by the detector (tables, rings, active storms). */
size_t storm_memory(const struct storm *s);
/* Latest event time fed (0 before any). */
double storm_now(const struct storm *s);

#endif
