/* linering.h -- a ring of whole lines in memory shared by every c-icap child,
 * drained to a file by group commit.
 *
 * Why: each 401 used to cost one write(2) to the EventLog, and every thread of
 * every child queued on the same file's inode lock for it (the benchmark's
 * largest cost of ours). Here a thread copies its line into the ring under a
 * mutex held for a memcpy, and then writes out, with one writev(2), everything
 * the ring holds -- unless another thread is already writing, in which case
 * that thread takes the new line along before it lets go. When lines come
 * fast, a line may also wait a few milliseconds (defer_ms) for the ones
 * behind it, so a busy server writes a batch per call while a quiet one
 * still writes each line at once.
 * The memory is shared and the locks are robust, so a child that dies leaves
 * its lines to the others instead of losing them. Pure POSIX, no c-icap. */
#ifndef PROMPTCAUSE_LINERING_H
#define PROMPTCAUSE_LINERING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define LINERING_MIN_BYTES 4096u
/* Lines per defer_ms above which the ring counts as busy and defers: with
 * the module's 10 ms, 3,200 lines a second. Below it a write per line costs
 * nothing worth saving, and every line is in the file at once. */
#define LINERING_BUSY_LINES 32u

struct linering;

/* Writes what the ring hands over: iovcnt (1 or 2) pieces that together are
 * whole lines, in order, to go out in one call. Returns 0, or -1 when they
 * could not be written whole (the ring drops them anyway: a full disk must not
 * stall the service). iovcnt 0 (iov NULL) means the previous writer died
 * during its write: if the output does not end with a newline, add one, so
 * the torn line does not run into the next. */
typedef int (*linering_sink)(const struct iovec *iov, int iovcnt, void *arg);

/* Make a ring of `bytes` data bytes in fresh shared memory. Call before the
 * fork so every child maps the same ring. defer_ms > 0 lets linering_put
 * leave a line for later when lines come fast (see linering_put). Returns NULL with a one-line reason in err when bytes is
 * below LINERING_MIN_BYTES or memory cannot be had. */
struct linering *linering_create(size_t bytes, unsigned defer_ms, char *err, size_t errlen);

/* Unmap this process's view (other processes keep theirs). NULL is fine. */
void linering_destroy(struct linering *r);

/* Append one line (n bytes, newline included) and write out what the ring
 * holds through sink, unless another thread or process is writing now (it
 * will take this line along). When deferred is not NULL the caller promises
 * a linering_flush within the ring's defer_ms: then, if lines come faster
 * than LINERING_BUSY_LINES per defer_ms (now, or in the window before) and
 * the ring is under a quarter full, the line only waits and *deferred is set
 * -- a busy server writes a batch per defer_ms instead of a call per line,
 * a quiet one still writes each line at once. Returns the
 * number of lines that sink failed to write in this call, 0 when all went
 * well; -1 when the line was not taken (longer than the ring, or its lock is
 * broken) -- the caller then writes it itself. Thread- and process-safe. */
int linering_put(struct linering *r, const char *line, size_t n, linering_sink sink, void *arg, bool *deferred);

/* Write out what waits unless another thread or process is writing now (it
 * takes it along). Returns the number of lines sink failed to write. */
int linering_flush(struct linering *r, linering_sink sink, void *arg);

/* Write out everything in the ring now, waiting for a writer in progress.
 * For shutdown and for cleaning up after a dead child. Returns the number of
 * lines sink failed to write, 0 when all went well, -1 when a lock is broken. */
int linering_drain(struct linering *r, linering_sink sink, void *arg);

/* Bytes waiting in the ring (a snapshot; for tests and statistics). */
size_t linering_pending(struct linering *r);

/* Number of writes made through sink since creation (all processes). */
uint64_t linering_writes(struct linering *r);

#endif
