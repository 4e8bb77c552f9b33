/* stats.h -- promptcause's counters in c-icap's statistics (the `info` service).
 *
 * Registered once when the service loads; incremented per request with
 * ci_stat_uint64_inc, which c-icap keeps in memory shared by all children, so
 * `info` shows totals for the whole server. */
#ifndef PROMPTCAUSE_STATS_H
#define PROMPTCAUSE_STATS_H

#include "event.h"

enum stats_counter {
    STATS_RESPONSES = 0,    /* RESPMOD transactions seen */
    STATS_STATUS_401,
    STATS_STATUS_407,
    STATS_HANDSHAKES_UNLOGGED,
    STATS_LOG_WRITE_ERRORS,
    STATS_INTERNAL_ERRORS,
    STATS_HTML_PAGES,          /* anonymous 2xx HTML pages scanned */
    STATS_HTML_READ_ON,        /* of those, read past the preview (body echoed) */
    STATS_HTML_BYTES,          /* decoded HTML bytes scanned */
    STATS_HTML_OBJECTS,        /* embedded objects recorded in the store */
    STATS_HTML_DECODE_ERRORS,  /* compressed bodies that stopped decoding */
    STATS_STORE_EVICTIONS,     /* live store entries dropped for room */
    STATS_STORE_ERRORS,        /* records or lookups lost (lock failed) */
    STATS_PARENT_FOUND,        /* 401s whose parent page came from the store */
    /* SPEC §2a handshake memory (handshake_mem.c) */
    STATS_HS_REMEMBERED,       /* type-2 fingerprints stored */
    STATS_HS_COMPARED,         /* type-3s compared with the stored ones */
    STATS_HS_MATCHED,          /* ... that answered a stored type-2 on the same connections */
    STATS_HS_SPLIT_CLIENT,     /* ... that came on another client connection */
    STATS_HS_SPLIT_SERVER,     /* ... that Squid sent on another server connection */
    STATS_HS_SPLIT_NO_MATCH,   /* ... that answered none of the stored type-2s */
    STATS_HS_EVICTIONS,        /* live fingerprints dropped for room */
    STATS_COUNTER_COUNT
};

/* Register every counter with c-icap. Call from mod_init_service (counters must
 * exist before c-icap sizes its statistics memory). Returns 0, or -1 when c-icap
 * refused a label; that counter is then not kept (a level-1 debug message names
 * it) and serving goes on, since only numbers are lost. */
int stats_register(void);

/* Add one to a counter; no-op for an unregistered counter. */
void stats_inc(enum stats_counter counter);

/* Add n to a counter; no-op for an unregistered counter or n == 0. */
void stats_add(enum stats_counter counter, unsigned long long n);

/* Add one to the "events <cause>" counter. */
void stats_inc_cause(enum event_cause cause);

#endif
