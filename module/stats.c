/* stats.c -- register and bump promptcause's c-icap statistics counters.
 *
 * c-icap keeps counters in shared memory sized from the registrations made
 * while services load, so every counter is registered up front in
 * mod_init_service; per request only ci_stat_uint64_inc runs (a lock and an
 * add inside c-icap). The ids are plain ints written once before the fork. */
#include <limits.h>

#include <c_icap/c-icap.h>
#include <c_icap/debug.h>
#include <c_icap/stats.h>

#include "stats.h"

#define STATS_GROUP "promptcause"

/* All -1 until stats_register: an id of 0 is a real counter. */
static int counter_ids[STATS_COUNTER_COUNT] = { [0 ... STATS_COUNTER_COUNT - 1] = -1 };
static const char *const counter_labels[STATS_COUNTER_COUNT] = {
    [STATS_RESPONSES] = "responses seen",
    [STATS_STATUS_401] = "401 responses",
    [STATS_STATUS_407] = "407 responses",
    [STATS_HANDSHAKES_UNLOGGED] = "handshakes not logged",
    [STATS_LOG_WRITE_ERRORS] = "event log write errors",
    [STATS_INTERNAL_ERRORS] = "internal errors",
    [STATS_HTML_PAGES] = "html pages scanned",
    [STATS_HTML_READ_ON] = "html pages read past preview",
    [STATS_HTML_BYTES] = "html bytes scanned",
    [STATS_HTML_OBJECTS] = "html objects recorded",
    [STATS_HTML_DECODE_ERRORS] = "html decode errors",
    [STATS_STORE_EVICTIONS] = "store evictions",
    [STATS_STORE_ERRORS] = "store errors",
    [STATS_PARENT_FOUND] = "parents found in store",
    [STATS_HS_REMEMBERED] = "handshake challenges remembered",
    [STATS_HS_COMPARED] = "handshake answers compared",
    [STATS_HS_MATCHED] = "handshake answers matched",
    [STATS_HS_SPLIT_CLIENT] = "handshake splits client",
    [STATS_HS_SPLIT_SERVER] = "handshake splits server",
    [STATS_HS_SPLIT_NO_MATCH] = "handshake splits no-match",
    [STATS_HS_EVICTIONS] = "handshake evictions",
};

/* One counter per cause that makes an event; CAUSE_NONE stays -1. */
#define CAUSE_SLOTS (CAUSE_PROXY_AUTH + 1)
static int cause_ids[CAUSE_SLOTS] = { -1, -1, -1, -1, -1, -1, -1 };
static const char *const cause_labels[CAUSE_SLOTS] = {
    [CAUSE_PAGE_DENIED] = "events page-denied",
    [CAUSE_EMBEDDED_DENIED] = "events embedded-denied",
    [CAUSE_HANDLER_DENIED] = "events handler-denied",
    [CAUSE_CREDENTIALS_REJECTED] = "events credentials-rejected",
    [CAUSE_HANDSHAKE] = "events handshake",
    [CAUSE_PROXY_AUTH] = "events proxy-auth",
};

/* ci_stat_entry_register takes char * (not const) but does not modify the
 * label; the casts keep our tables const. */
static int register_one(const char *label)
{
    int id = ci_stat_entry_register((char *)label, STAT_INT64_T, (char *)STATS_GROUP);
    if (id < 0) {
        ci_debug_printf(1, "promptcause: cannot register statistics counter \"%s\"\n", label);
    }
    return id;
}

int stats_register(void)
{
    int rc = 0;
    for (int i = 0; i < STATS_COUNTER_COUNT; i++) {
        counter_ids[i] = register_one(counter_labels[i]);
        if (counter_ids[i] < 0) {
            rc = -1;
        }
    }
    for (int c = CAUSE_PAGE_DENIED; c < CAUSE_SLOTS; c++) {
        cause_ids[c] = register_one(cause_labels[c]);
        if (cause_ids[c] < 0) {
            rc = -1;
        }
    }
    return rc;
}

void stats_inc(enum stats_counter counter)
{
    if ((int)counter >= 0 && counter < STATS_COUNTER_COUNT && counter_ids[counter] >= 0) {
        ci_stat_uint64_inc(counter_ids[counter], 1);
    }
}

void stats_add(enum stats_counter counter, unsigned long long n)
{
    if (n > 0 && (int)counter >= 0 && counter < STATS_COUNTER_COUNT && counter_ids[counter] >= 0) {
        ci_stat_uint64_inc(counter_ids[counter], n > INT_MAX ? INT_MAX : (int)n); /* c-icap counts in int */
    }
}

void stats_inc_cause(enum event_cause cause)
{
    if ((int)cause > 0 && (int)cause < CAUSE_SLOTS && cause_ids[cause] >= 0) {
        ci_stat_uint64_inc(cause_ids[cause], 1);
    }
}
