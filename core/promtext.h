/* promtext.h -- the Prometheus text exposition format (version 0.0.4), written
 * by hand because Debian has no C client library (only prometheus-cpp, which
 * would pull C++ into the command for a few hundred lines of printing).
 *
 * A growing buffer and the three things a scrape needs: a family header
 * (# HELP / # TYPE), a sample with escaped label values, and a number printed
 * as Prometheus parses it (+Inf, -Inf, NaN). Also the parser of
 * /proc/self/stat for the standard process_* metrics, kept here, away from
 * the /proc reads, so it can be tested on crafted lines. */
#ifndef PROMPTCAUSE_PROMTEXT_H
#define PROMPTCAUSE_PROMTEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Output buffer. A failed allocation sets failed and drops all later
 * writes, so callers check once at the end instead of after every line. */
struct promtext {
    char *buf;
    size_t len, cap;
    bool failed;
};

void promtext_init(struct promtext *t);
void promtext_free(struct promtext *t);

/* Append raw bytes. Sets t->failed on OOM. */
void promtext_raw(struct promtext *t, const char *p, size_t n);

/* "# HELP name help\n# TYPE name type\n": help escaped as the format asks
 * (backslash and newline). type: counter, gauge, untyped, ... */
void promtext_family(struct promtext *t, const char *name, const char *type, const char *help);

/* One sample line: name{k1="v1",...} value. keys and vals are nlabels long;
 * each value is vals[i][0..strlen) with backslash, double quote and newline
 * escaped, and bytes that are not valid UTF-8 replaced by U+FFFD (the format
 * requires UTF-8; event logs are untrusted). Label names must be valid
 * Prometheus names: they come from our code, not from input. */
void promtext_sample(struct promtext *t, const char *name, const char *const *keys,
                     const char *const *vals, size_t nlabels, double value);

/* Append the label value v[0..n) escaped (no quotes around it). */
void promtext_label_value(struct promtext *t, const char *v, size_t n);

/* Format a sample value: integers exactly (up to 2^53), else the shortest
 * %g that reads back as the same double; +Inf,
 * -Inf, NaN as Prometheus spells them. out must hold 32 bytes. */
void promtext_number(double v, char out[32]);

/* Fields of /proc/<pid>/stat that the process_* metrics need. */
struct promtext_procstat {
    unsigned long long utime, stime; /* clock ticks */
    unsigned long long starttime;    /* clock ticks after boot */
    unsigned long long vsize;        /* bytes */
    long long rss;                   /* pages */
};

/* Parse a /proc/<pid>/stat line p[0..n) (need not be NUL-terminated). The
 * command name (field 2) is in parentheses and may itself hold spaces and
 * ')', so fields are counted from the last ')'. Returns 0, -1 when the line
 * is cut short or a field is not a number. */
int promtext_parse_procstat(const char *p, size_t n, struct promtext_procstat *out);

/* "btime N" from /proc/stat text p[0..n): boot time in seconds since the
 * epoch. Returns 0, -1 when absent. */
int promtext_parse_btime(const char *p, size_t n, unsigned long long *btime);

#endif
