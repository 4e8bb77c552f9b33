/* eventlog.c -- the EventLog file: whole lines per write, reopened after rotation.
 *
 * Why whole lines per write: c-icap serves from several processes, and O_APPEND
 * makes each write(2) of a regular file land whole at the end, so a line is
 * never split by another child's line. Lines pass through a ring shared by all
 * children (linering.c): a thread writes its own line at once when no one else
 * is writing, and otherwise leaves it to the thread that is, which writes
 * everything waiting with one writev(2) -- so a busy server makes one call for
 * many lines instead of queueing every thread on the file's inode lock.
 * Why stat at most once a second: logrotate renames the file and expects
 * writers to follow the path; checking the inode on every
 * event would cost a syscall per 401 for nothing. The mutex orders the threads
 * of one child around the rotation check only; the write itself runs outside
 * it, so threads never queue behind each other's disk I/O (the benchmark saw 3-5
 * of 8 threads parked on the lock when the write was inside). That is safe
 * because a rotation never closes the descriptor number a writer may hold: the
 * new file is dup2()'d onto it, so a racing write lands in the old file or the
 * new one, never in a closed or reused descriptor. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <c_icap/c-icap.h>
#include <c_icap/debug.h>

#include "eventlog.h"
#include "linering.h"
#include "stats.h"

/* Lines wait here between threads and children; see linering.h. A quarter
 * of it (the point where a request thread writes instead of the flusher) is
 * ~16 ms of lines at 30,000 401s a second, more than EventLogDelay's 10 ms. */
#define RING_BYTES (1024u * 1024u)

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char *log_path;      /* NULL: no EventLog */
static int log_fd = -1;
static dev_t log_dev;
static ino_t log_ino;
static time_t log_checked;  /* last second the path was checked */
static int error_reported;   /* the first write failure was said once (atomic) */
static bool reopen_reported; /* the first failed reopen was said once */
static struct linering *ring; /* made in eventlog_open before the fork; NULL: lines go out one by one */

/* This process's flusher thread, which writes deferred lines within EventLogDelay.
 * Only children run one (started by eventlog_child_start); without it no line
 * is deferred. */
static pthread_mutex_t fl_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fl_cond = PTHREAD_COND_INITIALIZER; /* re-made on the monotonic clock at start */
static pthread_t fl_thread;
static bool fl_running; /* read without fl_lock by appenders (atomic) */
static bool fl_armed;   /* a line waits for the flusher */
static bool fl_stop;
static unsigned defer_ms; /* EventLogDelay */

/* Open path and remember its identity. Returns the descriptor or -1 (errno set). */
static int open_identified(const char *path, dev_t *dev, ino_t *ino)
{
    struct stat st;
    /* read access only to check the last byte after a crash (end_torn_line) */
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0 && errno == EACCES) {
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    }
    if (fd < 0) {
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    *dev = st.st_dev;
    *ino = st.st_ino;
    return fd;
}

int eventlog_open(const char *path, unsigned delay_ms, char *err, size_t errlen)
{
    dev_t dev = 0;
    ino_t ino = 0;
    int rc = 0;
    char ring_err[256];
    char *copy = strdup(path);
    if (copy == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* A reconfigure: lines of the old configuration go to the old file, and
     * the new children get a ring of their own (the old ones keep theirs). */
    (void)eventlog_flush();
    linering_destroy(ring);
    defer_ms = delay_ms;
    ring = linering_create(RING_BYTES, delay_ms, ring_err, sizeof ring_err);
    if (ring == NULL) {
        ci_debug_printf(1, "promptcause: %s; event lines are written one by one\n", ring_err);
    }
    int fd = open_identified(path, &dev, &ino);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        rc = -1;
    }
    pthread_mutex_lock(&log_lock);
    if (log_fd >= 0 && fd >= 0) {
        (void)dup2(fd, log_fd); /* keep the number writers may hold */
        close(fd);
    } else if (log_fd < 0) {
        log_fd = fd;
    }
    free(log_path);
    log_path = copy; /* kept even when the open failed: appends retry it */
    log_dev = dev;
    log_ino = ino;
    log_checked = time(NULL);
    __atomic_store_n(&error_reported, 0, __ATOMIC_RELAXED);
    reopen_reported = false;
    pthread_mutex_unlock(&log_lock);
    return rc;
}

/* With log_lock held: reopen when the path is gone or names another file, or
 * when the log is not open yet (it could not be opened at start). A failed
 * reopen keeps the old descriptor (writes then go to the rotated file, better
 * than losing them) and is reported once in c-icap's server log. */
static void follow_rotation_locked(void)
{
    struct stat st;
    time_t now = time(NULL);
    if (now == log_checked) {
        return;
    }
    log_checked = now;
    if (log_fd >= 0 && stat(log_path, &st) == 0 && st.st_dev == log_dev && st.st_ino == log_ino) {
        return;
    }
    dev_t dev;
    ino_t ino;
    int fd = open_identified(log_path, &dev, &ino);
    if (fd < 0) {
        if (!reopen_reported) {
            reopen_reported = true;
            ci_debug_printf(1, "promptcause: cannot reopen event log %s: %s\n", log_path, strerror(errno));
        }
        return;
    }
    if (log_fd >= 0) {
        if (dup2(fd, log_fd) < 0) {
            close(fd);
            return; /* keep writing to the old file, try again next second */
        }
        close(fd);
    } else {
        log_fd = fd;
    }
    log_dev = dev;
    log_ino = ino;
}

/* Write whole lines (one or two pieces) with one writev(2), following a
 * rotation first. Returns 0, or -1 when they could not be written whole; the
 * first failure is said on stderr and in c-icap's server log. */
static int write_pieces(const struct iovec *iov, int iovcnt)
{
    size_t n = 0;
    for (int i = 0; i < iovcnt; i++) {
        n += iov[i].iov_len;
    }
    pthread_mutex_lock(&log_lock);
    if (log_path == NULL) {
        pthread_mutex_unlock(&log_lock);
        return 0;
    }
    follow_rotation_locked();
    int fd = log_fd;
    pthread_mutex_unlock(&log_lock);

    ssize_t w = fd >= 0 ? writev(fd, iov, iovcnt) : -1;
    if (w >= 0 && (size_t)w == n) {
        return 0;
    }
    int e = w < 0 ? errno : ENOSPC; /* a short write to a file means a full disk */
    if (fd < 0) {
        e = EBADF;
    }
    if (__atomic_exchange_n(&error_reported, 1, __ATOMIC_RELAXED) == 0) {
        pthread_mutex_lock(&log_lock); /* once: log_path may be swapped by a reload */
        const char *path = log_path != NULL ? log_path : "(closed)";
        ci_debug_printf(1, "promptcause: cannot write event log %s: %s (further errors are only counted)\n",
                        path, strerror(e));
        fprintf(stderr, "promptcause: cannot write event log %s: %s (further errors are only counted)\n",
                path, strerror(e));
        pthread_mutex_unlock(&log_lock);
    }
    return -1;
}

/* End a line torn by a writer that died mid-write (see linering.c). */
static void end_torn_line(void)
{
    pthread_mutex_lock(&log_lock);
    int fd = log_fd;
    pthread_mutex_unlock(&log_lock);
    struct stat st;
    char last = 0; /* unreadable (a write-only file): end the line anyway, an empty line harms no reader */
    if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0 &&
        (pread(fd, &last, 1, st.st_size - 1) != 1 || last != '\n')) {
        ci_debug_printf(1, "promptcause: a c-icap child died writing the event log; one line is torn\n");
        (void)!write(fd, "\n", 1);
    }
}

static int ring_sink(const struct iovec *iov, int iovcnt, void *arg)
{
    (void)arg;
    if (iovcnt == 0) {
        end_torn_line();
        return 0;
    }
    return write_pieces(iov, iovcnt);
}

/* Sleeps until a line is deferred, lets EventLogDelay pass so the lines behind it
 * join the batch, and writes them. Disarming before the write means a line
 * deferred during it arms the next round. */
static void *flusher_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&fl_lock);
    while (!fl_stop) {
        if (!fl_armed) {
            pthread_cond_wait(&fl_cond, &fl_lock);
            continue;
        }
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += (time_t)(defer_ms / 1000u);
        until.tv_nsec += (long)(defer_ms % 1000u) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        /* only a stop wakes us early: arming signals while we are disarmed */
        while (!fl_stop && pthread_cond_timedwait(&fl_cond, &fl_lock, &until) != ETIMEDOUT) {
        }
        __atomic_store_n(&fl_armed, false, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&fl_lock);
        int lost = linering_flush(ring, ring_sink, NULL);
        if (lost > 0) {
            stats_add(STATS_LOG_WRITE_ERRORS, (unsigned long long)lost);
        }
        pthread_mutex_lock(&fl_lock);
    }
    pthread_mutex_unlock(&fl_lock);
    return NULL;
}

static void flusher_arm(void)
{
    if (__atomic_load_n(&fl_armed, __ATOMIC_RELAXED)) {
        return; /* the flusher is already on its way */
    }
    pthread_mutex_lock(&fl_lock);
    if (!fl_armed) {
        __atomic_store_n(&fl_armed, true, __ATOMIC_RELAXED);
        pthread_cond_signal(&fl_cond);
    }
    pthread_mutex_unlock(&fl_lock);
}

void eventlog_child_start(void)
{
    if (ring == NULL || fl_running || defer_ms == 0) {
        return;
    }
    fl_stop = false;
    fl_armed = false;
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) == 0) {
        /* deadlines on the monotonic clock: a clock step must not stall lines */
        if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0) {
            pthread_cond_destroy(&fl_cond);
            pthread_cond_init(&fl_cond, &ca);
        }
        pthread_condattr_destroy(&ca);
    }
    if (pthread_create(&fl_thread, NULL, flusher_main, NULL) != 0) {
        ci_debug_printf(1, "promptcause: no event flusher thread: %s; lines are written one by one\n",
                        strerror(errno));
        return;
    }
    __atomic_store_n(&fl_running, true, __ATOMIC_RELEASE);
}

void eventlog_child_stop(void)
{
    if (__atomic_load_n(&fl_running, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&fl_running, false, __ATOMIC_RELEASE);
        pthread_mutex_lock(&fl_lock);
        fl_stop = true;
        pthread_cond_signal(&fl_cond);
        pthread_mutex_unlock(&fl_lock);
        pthread_join(fl_thread, NULL);
    }
    (void)eventlog_flush();
}

int eventlog_append(const char *p, size_t n)
{
    if (ring != NULL) {
        bool deferred = false;
        bool may_defer = __atomic_load_n(&fl_running, __ATOMIC_ACQUIRE);
        int lost = linering_put(ring, p, n, ring_sink, NULL, may_defer ? &deferred : NULL);
        if (deferred) {
            flusher_arm();
        }
        if (lost >= 0) {
            return lost;
        }
        /* not taken (longer than the ring, or a broken lock): write it alone */
    }
    struct iovec iov = { (void *)p, n };
    return write_pieces(&iov, 1) == 0 ? 0 : 1;
}

/* Never waits: if another thread or process is writing, it writes these lines
 * too before it lets go (group commit). So the main process cannot stall its
 * loop behind a child's slow write, and a stopped child cannot stall it at all;
 * a writer that died leaves the lock to us (robust). */
int eventlog_flush(void)
{
    return ring != NULL ? linering_flush(ring, ring_sink, NULL) : 0;
}

/* Called when c-icap shuts the service down, when no request is in flight. */
void eventlog_close(void)
{
    (void)eventlog_flush();
    linering_destroy(ring);
    ring = NULL;
    pthread_mutex_lock(&log_lock);
    if (log_fd >= 0) {
        close(log_fd);
    }
    log_fd = -1;
    free(log_path);
    log_path = NULL;
    pthread_mutex_unlock(&log_lock);
}
