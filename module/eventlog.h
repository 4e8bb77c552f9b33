/* eventlog.h -- append SPEC §3 event lines to the EventLog file.
 *
 * Several c-icap children, each with several threads, append to one file: each
 * line goes out in a single write(2) on an O_APPEND descriptor, so lines never
 * interleave. The file is reopened when logrotate moved it away. */
#ifndef PROMPTCAUSE_EVENTLOG_H
#define PROMPTCAUSE_EVENTLOG_H

#include <stddef.h>

/* Open path for appending (creating it 0640). Call before the fork; the
 * descriptor is shared by the children. Returns 0, or -1 with a one-line
 * reason in err (errlen bytes) when the file cannot be opened now: the path is
 * still kept and appends retry it once a second, so an unwritable log costs
 * events (counted as write errors), never the service. Replaces any log
 * opened before. */
int eventlog_open(const char *path, char *err, size_t errlen);

/* Append one line (p, n; n includes the trailing newline) with one write(2).
 * At most once a second per process it checks whether the path now names
 * another file (rotation) and reopens. Returns 0, or -1 when the line could
 * not be written whole; the first failure is also reported on stderr and in
 * c-icap's server log, later ones are only counted by the caller. Without an
 * open log (no EventLog configured) it returns 0 and writes nothing. */
int eventlog_append(const char *p, size_t n);

/* Close the log (service shutdown or reconfigure). */
void eventlog_close(void);

#endif
