/* analyze.h -- the parts of `promptcause analyze` shared by its two files:
 * analyze.c reads the logs into a core/report.h report, analyze_out.c
 * writes the report as text, JSON, CSV or a self-contained HTML page. */
#ifndef PROMPTCAUSE_ANALYZE_H
#define PROMPTCAUSE_ANALYZE_H

#include <stdio.h>

#include "report.h"
#include "squidlog.h"

enum analyze_format { ANALYZE_TEXT, ANALYZE_JSON, ANALYZE_CSV, ANALYZE_HTML };

#define ANALYZE_INPUTS_MAX 256 /* files listed in the report (all are read) */

struct analyze_input {
    const char *path;             /* "-" for standard input */
    enum squidlog_format format;  /* detected or forced; UNKNOWN when no line parsed */
    unsigned long lines, unparsed;
    int gzip;
};

struct analyze_meta {
    const struct analyze_input *inputs;
    size_t ninputs;
    size_t top; /* rows of resources and clients written; 0 = all */
};

/* Write report r (finished) to f in format fmt. Returns 0, or -1 when out
 * of memory or the write failed (errno from stdio). */
int analyze_write(FILE *f, enum analyze_format fmt, const struct report *r,
                  const struct analyze_meta *m);

/* RFC 3339 UTC time with milliseconds ("2026-11-25T12:00:00.123Z") into
 * buf (at least 32 bytes); minute-only (":00Z") when ms is 0. */
void analyze_time(double ts, char *buf, size_t cap, int ms);

#endif
