/* eventlog.c -- the EventLog file: one write(2) per line, reopened after rotation.
 *
 * Why one write: c-icap serves from several processes, and O_APPEND makes each
 * write(2) of a regular file land whole at the end, so a line is never split by
 * another child's line. Why stat at most once a second: logrotate renames the
 * file and expects writers to follow the path; checking the inode on every
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
#include <time.h>
#include <unistd.h>

#include <c_icap/c-icap.h>
#include <c_icap/debug.h>

#include "eventlog.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char *log_path;      /* NULL: no EventLog */
static int log_fd = -1;
static dev_t log_dev;
static ino_t log_ino;
static time_t log_checked;  /* last second the path was checked */
static int error_reported;   /* the first write failure was said once (atomic) */
static bool reopen_reported; /* the first failed reopen was said once */

/* Open path and remember its identity. Returns the descriptor or -1 (errno set). */
static int open_identified(const char *path, dev_t *dev, ino_t *ino)
{
    struct stat st;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
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

int eventlog_open(const char *path, char *err, size_t errlen)
{
    dev_t dev = 0;
    ino_t ino = 0;
    int rc = 0;
    char *copy = strdup(path);
    if (copy == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
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

int eventlog_append(const char *p, size_t n)
{
    pthread_mutex_lock(&log_lock);
    if (log_path == NULL) {
        pthread_mutex_unlock(&log_lock);
        return 0;
    }
    follow_rotation_locked();
    int fd = log_fd;
    pthread_mutex_unlock(&log_lock);

    ssize_t w = fd >= 0 ? write(fd, p, n) : -1;
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

/* Called when c-icap shuts the service down, when no request is in flight. */
void eventlog_close(void)
{
    pthread_mutex_lock(&log_lock);
    if (log_fd >= 0) {
        close(log_fd);
    }
    log_fd = -1;
    free(log_path);
    log_path = NULL;
    pthread_mutex_unlock(&log_lock);
}
