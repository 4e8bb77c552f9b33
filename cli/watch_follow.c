/* watch_follow.c -- follow the event log as c-icap writes it.
 *
 * The log is appended by several c-icap children with one write(2) per line
 * (module/eventlog.c) and rotated by logrotate, either by rename (the
 * children notice within a second and reopen the path) or by copytruncate.
 * So:
 * - rename: when the path names a new file, the old descriptor stays open and
 *   is drained for `grace` seconds, because children still write to it until
 *   they notice; the new file is read meanwhile. Nothing is lost or repeated.
 * - copytruncate: when the file is shorter than what was read, reading starts
 *   again at 0. Lines written between logrotate's copy and its truncate are
 *   only in the copy (copytruncate's own race); and if the file grows past the
 *   old offset between two polls the truncation goes unnoticed: polls are
 *   200 ms apart, so that takes a flood.
 * - restart: the caller saves (dev, inode, offset) of the current file; when
 *   the path names another file at start, PATH.1 (logrotate's first name) is
 *   checked for the saved inode and its rest is read first.
 * Polling (stat once per call) rather than inotify: it is portable, works on
 * NFS, and one fstat+stat per 200 ms costs nothing. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "watch.h"

static void file_reset(struct follow_file *ff)
{
    ff->fd = -1;
    ff->dev = 0;
    ff->ino = 0;
    ff->offset = 0;
    ff->len = 0;
    ff->skipping = false;
    ff->drain_until = 0;
}

static void file_close(struct follow_file *ff)
{
    if (ff->fd >= 0)
        close(ff->fd);
    char *buf = ff->buf;
    file_reset(ff);
    ff->buf = buf;
}

int follow_init(struct follow *f, const char *path, dev_t dev, ino_t ino, off_t offset)
{
    memset(f, 0, sizeof *f);
    file_reset(&f->cur);
    file_reset(&f->old);
    f->grace = 5;
    f->path = strdup(path);
    f->cur.buf = malloc(FOLLOW_LINE_MAX);
    f->old.buf = malloc(FOLLOW_LINE_MAX);
    if (f->path == NULL || f->cur.buf == NULL || f->old.buf == NULL)
        goto err;
    /* The saved position applies once the file is opened (see open_cur). */
    f->cur.dev = dev;
    f->cur.ino = ino;
    f->cur.offset = offset;
    return 0;
err:
    follow_close(f);
    return -1;
}

void follow_close(struct follow *f)
{
    file_close(&f->cur);
    file_close(&f->old);
    free(f->cur.buf);
    free(f->old.buf);
    free(f->path);
    memset(f, 0, sizeof *f);
    f->cur.fd = f->old.fd = -1;
}

/* Open fd's file at offset when it is the same file (dev, ino) and at least
 * that long; else at 0. */
static int open_at(const char *path, struct follow_file *ff, dev_t dev, ino_t ino, off_t offset,
                   bool *resumed)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    ff->fd = fd;
    ff->dev = st.st_dev;
    ff->ino = st.st_ino;
    ff->offset = 0;
    ff->len = 0;
    ff->skipping = false;
    *resumed = false;
    if (ino != 0 && st.st_dev == dev && st.st_ino == ino && st.st_size >= offset) {
        ff->offset = offset;
        *resumed = true;
    }
    if (lseek(fd, ff->offset, SEEK_SET) < 0) {
        int e = errno;
        close(fd);
        ff->fd = -1;
        errno = e;
        return -1;
    }
    return 0;
}

/* First open of the path (start, or after follow_reopen): resume the saved
 * position, or find the saved file at PATH.1 and drain it first. */
static int open_cur(struct follow *f, double now)
{
    dev_t dev = f->cur.dev;
    ino_t ino = f->cur.ino;
    off_t offset = f->cur.offset;
    bool resumed = false;
    if (open_at(f->path, &f->cur, dev, ino, offset, &resumed) != 0)
        return -1;
    if (resumed || ino == 0)
        return 0;
    char rotated[4096];
    if ((size_t)snprintf(rotated, sizeof rotated, "%s.1", f->path) < sizeof rotated &&
        f->old.fd < 0 && open_at(rotated, &f->old, dev, ino, offset, &resumed) == 0) {
        if (resumed) {
            f->old.drain_until = now + f->grace;
            f->stats.resumed_rotated++;
            return 0;
        }
        file_close(&f->old);
    }
    f->stats.restart_lost++;
    return 0;
}

/* Hand out complete lines from ff->buf[0..len) and keep the rest. */
static void split_lines(struct follow *f, struct follow_file *ff, follow_line_fn fn, void *arg)
{
    size_t start = 0;
    for (;;) {
        char *nl = memchr(ff->buf + start, '\n', ff->len - start);
        if (nl == NULL)
            break;
        size_t n = (size_t)(nl - (ff->buf + start));
        if (ff->skipping) {
            ff->skipping = false; /* the end of an over-long line: already counted */
        } else {
            f->stats.lines++;
            fn(arg, ff->buf + start, n);
        }
        start += n + 1;
        ff->offset += (off_t)(n + 1);
    }
    memmove(ff->buf, ff->buf + start, ff->len - start);
    ff->len -= start;
    if (ff->len == FOLLOW_LINE_MAX) { /* no newline in a full buffer */
        if (!ff->skipping)
            f->stats.overlong++;
        ff->skipping = true;
        ff->offset += (off_t)ff->len;
        ff->len = 0;
    }
}

/* Read up to budget bytes from ff. Returns bytes read or -1. */
static long read_file(struct follow *f, struct follow_file *ff, size_t budget, follow_line_fn fn,
                      void *arg)
{
    struct stat st;
    if (fstat(ff->fd, &st) == 0 && st.st_size < ff->offset + (off_t)ff->len) {
        /* copytruncate: the file is shorter than what we read. */
        f->stats.truncations++;
        ff->offset = 0;
        ff->len = 0;
        ff->skipping = false;
        if (lseek(ff->fd, 0, SEEK_SET) < 0)
            return -1;
    }
    long total = 0;
    while ((size_t)total < budget) {
        ssize_t r = read(ff->fd, ff->buf + ff->len, FOLLOW_LINE_MAX - ff->len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;
        ff->len += (size_t)r;
        total += r;
        split_lines(f, ff, fn, arg);
    }
    return total;
}

long follow_poll(struct follow *f, double now, size_t max_bytes, follow_line_fn fn, void *arg)
{
    long total = 0;

    /* Open the path first: after a restart open_cur() may find the saved file
     * at PATH.1, and its rest must be read in this same poll, before the new
     * file -- else a stop between two polls would save the new file's position
     * and lose the old file's rest for good. */
    int cur_errno = 0;
    if (f->cur.fd < 0 && open_cur(f, now) != 0)
        cur_errno = errno;
    if (f->old.fd >= 0) {
        long r = read_file(f, &f->old, max_bytes, fn, arg);
        if (r < 0)
            return -1;
        total += r;
        if (r == 0 && now >= f->old.drain_until)
            file_close(&f->old); /* a partial last line there is lost with the file */
    }
    if (f->cur.fd < 0) {
        errno = cur_errno;
        return cur_errno == ENOENT ? total : -1;
    }

    long r = read_file(f, &f->cur, max_bytes, fn, arg);
    if (r < 0)
        return -1;
    total += r;
    if ((size_t)r >= max_bytes)
        return total; /* more to read: rotation is checked when caught up */

    struct stat st;
    if (stat(f->path, &st) != 0)
        return total; /* renamed, new file not there yet: keep reading the old one */
    if (st.st_dev != f->cur.dev || st.st_ino != f->cur.ino) {
        if (f->old.fd >= 0)
            file_close(&f->old); /* rotated twice within the grace period */
        /* The rotated-away file becomes `old`; buffers swap with it. */
        struct follow_file tmp = f->old;
        f->old = f->cur;
        f->old.drain_until = now + f->grace;
        f->cur = tmp;
        file_reset(&f->cur);
        f->stats.rotations++;
        bool resumed;
        if (open_at(f->path, &f->cur, 0, 0, 0, &resumed) != 0)
            return errno == ENOENT ? total : -1;
        r = read_file(f, &f->cur, max_bytes, fn, arg);
        if (r < 0)
            return -1;
        total += r;
    }
    return total;
}

void follow_reopen(struct follow *f)
{
    if (f->cur.fd < 0)
        return;
    close(f->cur.fd);
    f->cur.fd = -1;
    f->cur.len = 0;      /* the partial line is read again from offset */
    f->cur.skipping = false;
}
