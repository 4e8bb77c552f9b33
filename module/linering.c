/* linering.c -- the shared line ring with group commit (see linering.h).
 *
 * Layout of the mapping: a header (two robust process-shared mutexes, the
 * absolute positions head and tail, counters) then `size` data bytes. Bytes
 * [head, tail) wait to be written; a line may wrap past the end, which is why
 * the sink gets two pieces and writes them with one writev(2) -- two write(2)
 * calls could let another writer's line land between the halves.
 *
 * Two locks, so appending never waits for the disk:
 *   lock  -- held for a memcpy and the position update only.
 *   wlock -- held by the one thread (of any process) that is writing. Bytes
 *            between head and tail are not touched by appenders (they write
 *            past tail), so the writer reads them without `lock`, and moves
 *            head only after the write returned.
 * Group commit without lost lines: an appender that finds wlock taken leaves
 * its line to the holder; the holder, after letting wlock go, looks at the
 * ring once more and writes again if something arrived meanwhile.
 *
 * Crashes: a child that dies inside `lock` (mid-memcpy) never advanced tail,
 * so its half line is overwritten, never written. A child that dies writing
 * leaves wlock EOWNERDEAD and head unmoved: the next writer takes over and
 * writes those bytes -- possibly a second time, if the dead one's write had
 * gone through. A write killed half-way (SIGKILL stops a regular-file write
 * between pages) leaves a torn line at the end of the file: the next writer
 * first asks the sink to end it (a call with no pieces), so it stands alone
 * as one unparseable line instead of spoiling the next good one. Lines
 * written twice, or a torn fragment, on a crash in that window -- never a
 * lost line -- is the trade-off chosen. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "linering.h"
#include "sharedmem.h"

struct ring_header {
    pthread_mutex_t lock;  /* positions and data copies */
    pthread_mutex_t wlock; /* the one writer */
    uint64_t head, tail;   /* absolute positions: oldest unwritten byte, next free byte */
    uint64_t writes;       /* sink calls, for statistics */
    bool writing;          /* a writer took [head, tail) and has not moved head yet */
    unsigned defer_ms;     /* 0: always write at once */
    /* The rate test: lines put in the current defer_ms window, and whether
     * the window before it was busy (more than LINERING_BUSY_LINES). */
    uint64_t win_start_ms;
    uint32_t win_lines;
    bool prev_busy;
    size_t size;           /* data bytes */
    size_t map_bytes;      /* whole mapping */
};

struct linering {
    struct ring_header *h;
    unsigned char *data;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct linering *linering_create(size_t bytes, unsigned defer_ms, char *err, size_t errlen)
{
    size_t hdr = (sizeof(struct ring_header) + 63u) & ~(size_t)63u;
    size_t map_bytes = hdr + bytes;

    if (bytes < LINERING_MIN_BYTES) {
        snprintf(err, errlen, "event buffer of %zu bytes is below the minimum of %u", bytes, LINERING_MIN_BYTES);
        return NULL;
    }
    struct linering *r = calloc(1, sizeof *r);
    if (r == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    void *mem = sharedmem_map("promptcause-eventring", map_bytes, err, errlen);
    if (mem == NULL) {
        free(r);
        return NULL;
    }
    r->h = mem; /* zero-filled */
    r->h->size = bytes;
    r->h->map_bytes = map_bytes;
    r->h->defer_ms = defer_ms;
    r->data = (unsigned char *)mem + hdr;
    if (sharedmem_mutex_init(&r->h->lock) != 0 || sharedmem_mutex_init(&r->h->wlock) != 0) {
        snprintf(err, errlen, "cannot make the event buffer's process-shared locks");
        linering_destroy(r);
        return NULL;
    }
    return r;
}

void linering_destroy(struct linering *r)
{
    if (r != NULL) {
        munmap(r->h, r->h->map_bytes);
        free(r);
    }
}

/* Count a line in the rate window (lock held); true when lines come faster
 * than LINERING_BUSY_LINES per defer_ms now or did in the window before. */
static bool count_busy(struct ring_header *h, uint64_t now)
{
    if (now - h->win_start_ms >= h->defer_ms) {
        /* a window that ended long ago says nothing about the last one */
        h->prev_busy = now - h->win_start_ms < 2u * h->defer_ms && h->win_lines > LINERING_BUSY_LINES;
        h->win_start_ms = now;
        h->win_lines = 0;
    }
    h->win_lines++;
    return h->prev_busy || h->win_lines > LINERING_BUSY_LINES;
}

/* Copy the line in when it fits; *busy tells whether lines come fast (see
 * count_busy), *pending how many bytes wait now. Returns 1 copied, 0 no
 * room, -1 broken lock. */
static int copy_in(struct linering *r, const char *line, size_t n, bool *busy, size_t *pending)
{
    struct ring_header *h = r->h;
    uint64_t now = h->defer_ms > 0 ? now_ms() : 0;
    if (sharedmem_lock(&h->lock) != 0) {
        return -1;
    }
    if (h->defer_ms > 0) {
        *busy = count_busy(h, now);
    }
    if (n > h->size - (size_t)(h->tail - h->head)) {
        pthread_mutex_unlock(&h->lock);
        return 0;
    }
    size_t off = (size_t)(h->tail % h->size);
    size_t first = n < h->size - off ? n : h->size - off;
    memcpy(r->data + off, line, first);
    memcpy(r->data, line + first, n - first);
    h->tail += n; /* the commit: a copier that died before this left nothing */
    *pending = (size_t)(h->tail - h->head);
    pthread_mutex_unlock(&h->lock);
    return 1;
}

static size_t count_lines(const struct iovec *iov, int iovcnt)
{
    size_t lines = 0;
    for (int i = 0; i < iovcnt; i++) {
        const char *p = iov[i].iov_base, *end = p + iov[i].iov_len;
        while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
            lines++;
            p++;
        }
    }
    return lines;
}

/* With wlock held: write until the ring is empty. Returns the lines the sink
 * failed to write, or -1 when the position lock is broken. */
static int write_out(struct linering *r, linering_sink sink, void *arg)
{
    struct ring_header *h = r->h;
    int failed = 0;
    for (;;) {
        if (sharedmem_lock(&h->lock) != 0) {
            return -1;
        }
        bool died_writing = h->writing; /* wlock is ours: its last holder died mid-write */
        uint64_t from = h->head, to = h->tail;
        h->writing = from != to;
        pthread_mutex_unlock(&h->lock);
        if (died_writing) {
            (void)sink(NULL, 0, arg); /* end the line it may have torn */
        }
        if (from == to) {
            return failed;
        }
        size_t len = (size_t)(to - from);
        size_t off = (size_t)(from % h->size);
        size_t first = len < h->size - off ? len : h->size - off;
        struct iovec iov[2] = { { r->data + off, first }, { r->data, len - first } };
        int iovcnt = len > first ? 2 : 1;
        if (sink(iov, iovcnt, arg) != 0) {
            failed += (int)count_lines(iov, iovcnt);
        }
        if (sharedmem_lock(&h->lock) != 0) {
            return -1;
        }
        h->head = to;
        h->writes++;
        h->writing = false;
        pthread_mutex_unlock(&h->lock);
    }
}

int linering_drain(struct linering *r, linering_sink sink, void *arg)
{
    if (sharedmem_lock(&r->h->wlock) != 0) {
        return -1;
    }
    int failed = write_out(r, sink, arg);
    pthread_mutex_unlock(&r->h->wlock);
    return failed;
}

/* Group commit: write what waits unless someone else is writing; that one
 * looks at the ring again after it let go, so nothing is stranded. Returns the
 * lines the sink failed to write. */
static int commit(struct linering *r, linering_sink sink, void *arg)
{
    int failed = 0;
    for (;;) {
        int t = sharedmem_trylock(&r->h->wlock);
        if (t != 0) {
            return failed; /* busy: the writer takes what waits; broken: the next drain */
        }
        int f = write_out(r, sink, arg);
        pthread_mutex_unlock(&r->h->wlock);
        if (f < 0) {
            return failed;
        }
        failed += f;
        /* A line put while we held wlock was left to us: look once more. */
        if (linering_pending(r) == 0) {
            return failed;
        }
    }
}

int linering_flush(struct linering *r, linering_sink sink, void *arg)
{
    return commit(r, sink, arg);
}

int linering_put(struct linering *r, const char *line, size_t n, linering_sink sink, void *arg, bool *deferred)
{
    int failed = 0;
    if (deferred != NULL) {
        *deferred = false;
    }
    if (n > r->h->size) {
        return -1;
    }
    bool busy = false;
    size_t pending = 0;
    int rc = copy_in(r, line, n, &busy, &pending);
    if (rc == 0) {
        /* Full: the writer is behind (a slow disk). Wait for it, once. */
        int f = linering_drain(r, sink, arg);
        if (f < 0) {
            return -1;
        }
        failed += f;
        rc = copy_in(r, line, n, &busy, &pending);
    }
    if (rc != 1) {
        return -1;
    }
    if (deferred != NULL && busy && pending < r->h->size / 4) {
        *deferred = true; /* the flusher writes it within defer_ms, with those behind it */
        return failed;
    }
    return failed + commit(r, sink, arg);
}

size_t linering_pending(struct linering *r)
{
    struct ring_header *h = r->h;
    if (sharedmem_lock(&h->lock) != 0) {
        return 0;
    }
    size_t n = (size_t)(h->tail - h->head);
    pthread_mutex_unlock(&h->lock);
    return n;
}

uint64_t linering_writes(struct linering *r)
{
    struct ring_header *h = r->h;
    if (sharedmem_lock(&h->lock) != 0) {
        return 0;
    }
    uint64_t n = h->writes;
    pthread_mutex_unlock(&h->lock);
    return n;
}
