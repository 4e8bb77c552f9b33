/* eventlog.h -- append SPEC §3 event lines to the EventLog file.
 *
 * Several c-icap children, each with several threads, append to one file:
 * whole lines go out in single write(2)s on an O_APPEND descriptor, so lines
 * never interleave. The file is reopened when logrotate moved it away. */
#ifndef PROMPTCAUSE_EVENTLOG_H
#define PROMPTCAUSE_EVENTLOG_H

#include <stddef.h>

/* Open path for appending (creating it 0640). Call before the fork; the
 * descriptor is shared by the children. Returns 0, or -1 with a one-line
 * reason in err (errlen bytes) when the file cannot be opened now: the path is
 * still kept and appends retry it once a second, so an unwritable log costs
 * events (counted as write errors), never the service. Replaces any log
 * opened before. delay_ms (EventLogDelay) is how long, under load, a line may
 * wait for others to share its write; 0 writes every line at once. */
int eventlog_open(const char *path, unsigned delay_ms, char *err, size_t errlen);

/* Append one line (p, n; n includes the trailing newline). The line is
 * written at once: by this thread, or -- when another thread or child is
 * writing at that moment -- by that one before it lets go of the file
 * (possibly a moment after this returns); whole lines per write(2) either way
 * (see eventlog.c). At most once a
 * second per process it checks whether the path now names another file
 * (rotation) and reopens. Returns the number of lines this call failed to
 * write (its own and others' it took along), 0 when all went well; the first
 * failure is also reported on stderr and in c-icap's server log, later ones
 * are only counted by the caller. Without an open log (no EventLog
 * configured) it returns 0 and writes nothing. */
int eventlog_append(const char *p, size_t n);

/* In a c-icap child: start the thread that writes lines deferred under load
 * (see eventlog.c). Without it every line is written at once. */
void eventlog_child_start(void);

/* In a c-icap child that stops: stop that thread and write what waits. */
void eventlog_child_stop(void);

/* Write out every line still waiting, whoever queued it -- or leave them to
 * the thread or process writing right now, which takes them along: when a
 * child stops and, in the main process, after a child died (its lines are in
 * shared memory). Never waits for another writer. Returns the number of lines
 * that could not be written, 0 when all went well. */
int eventlog_flush(void);

/* Close the log (service shutdown or reconfigure). */
void eventlog_close(void);

#endif
