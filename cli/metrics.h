/* metrics.h -- `promptcause watch --metrics ADDR:PORT`: a Prometheus /metrics
 * endpoint (SPEC §8) served by libmicrohttpd in its own thread.
 *
 * The watch loop owns every number; it counts events here as it reads them
 * (metrics_event, no lock) and, at most a few times a second, renders the
 * whole page and hands it to the server thread (metrics_publish, one mutex
 * taken only for the pointer swap). A scrape copies the latest page and
 * adds the process_* metrics read from /proc/self at that moment. So a
 * scrape never touches the detector or the sender, and a slow scraper never
 * slows the loop. Label sets are bounded: see docs/WATCH.md "Metrics". */
#ifndef PROMPTCAUSE_METRICS_H
#define PROMPTCAUSE_METRICS_H

#include <stddef.h>

#include "evparse.h"
#include "storm.h"
#include "watch.h"

#define METRICS_HOSTS_DEFAULT 20

/* Numbers the loop owns, copied into the page at each publish. */
struct metrics_gauges {
    size_t storms_active[STORM_KINDS];
    size_t queue_depth[SEND_TARGETS];
    double oldest_age[SEND_TARGETS]; /* seconds, 0 when the queue is empty */
    const struct send_stats *send[SEND_TARGETS];
    bool target_enabled[SEND_TARGETS];
    double follow_offset;
    double follow_size; /* -1 when the file is not open */
    const struct follow_stats *follow;
    const struct storm_stats *storm;
    unsigned long garbage;
};

struct metrics;

/* Listen on addr ("HOST:PORT", "[V6]:PORT", ":PORT" for every address)
 * and count hosts with top_n series (1..1000). Returns NULL with a message
 * in err when the address is bad or cannot be bound. */
struct metrics *metrics_new(const char *addr, size_t top_n, char *err, size_t errlen);
/* Stop the server thread and free everything. NULL is fine. */
void metrics_free(struct metrics *m);

/* Count one parsed event (cause, prompt, reason; host). */
void metrics_event(struct metrics *m, const struct evrec *ev);

/* Render the page from the counters and g and make it the one scrapes get.
 * On OOM the previous page stays (returns -1), else 0. */
int metrics_publish(struct metrics *m, const struct metrics_gauges *g);

/* Render the page into t without publishing (for tests and --once). */
struct promtext;
void metrics_render(struct metrics *m, const struct metrics_gauges *g, struct promtext *t);

/* Append the process_* metrics of this process, read from /proc/self now;
 * btime: boot time in seconds since the epoch (0: leave out
 * process_start_time_seconds). Missing files just leave their metrics out. */
void metrics_process(struct promtext *t, unsigned long long btime);

#endif
