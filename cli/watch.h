/* watch.h -- the parts of `promptcause watch` (SPEC §6): the follower that
 * reads the event log across rotations (watch_follow.c), the delivery of
 * alerts to Alertmanager and webhooks with an on-disk spool (watch_send.c),
 * and the command itself (watch.c) which ties them to the storm detector. */
#ifndef PROMPTCAUSE_WATCH_H
#define PROMPTCAUSE_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- follower ------------------------------------------------------------ */

/* Lines longer than this are garbage: skipped up to their newline. */
#define FOLLOW_LINE_MAX (64 * 1024)

/* One open file being read: its identity and how far complete lines were
 * consumed. Bytes after the last newline wait in buf until it arrives. */
struct follow_file {
    int fd; /* -1: none */
    dev_t dev;
    ino_t ino;
    off_t offset;   /* end of the last complete line handed out */
    char *buf;      /* partial line read past offset */
    size_t len;
    bool skipping;  /* inside an over-long line */
    double drain_until; /* rotated-away file: keep reading until then */
};

struct follow_stats {
    unsigned long lines;       /* complete lines handed out */
    unsigned long overlong;    /* lines over FOLLOW_LINE_MAX, skipped */
    unsigned long rotations;   /* the path named a new file */
    unsigned long truncations; /* the file shrank under us (copytruncate) */
    unsigned long resumed_rotated; /* restart found the saved file at PATH.1 */
    unsigned long restart_lost; /* restart could not find the saved file: read from 0 */
};

struct follow {
    char *path;
    struct follow_file cur;
    struct follow_file old; /* the file rotated away, drained for a while */
    double grace;           /* seconds to keep reading a rotated file */
    struct follow_stats stats;
};

typedef void (*follow_line_fn)(void *arg, const char *line, size_t n);

/* Start following path from a saved position (dev/ino/offset; ino 0: none).
 * The file need not exist yet. Returns 0, -1 when out of memory. */
int follow_init(struct follow *f, const char *path, dev_t dev, ino_t ino, off_t offset);
void follow_close(struct follow *f);

/* Read what is there now from the rotated-away file and the current one,
 * calling fn for each complete line (without the newline), at most about
 * max_bytes per call so the caller's other work keeps going. Detects
 * rotation (the path names another file) and truncation. Returns the bytes
 * read (0: nothing new), -1 with errno on a read error other than the file
 * being absent. */
long follow_poll(struct follow *f, double now, size_t max_bytes, follow_line_fn fn, void *arg);

/* Close and reopen by path on the next poll, keeping the position when the
 * path still names the same file (SIGHUP). */
void follow_reopen(struct follow *f);

/* ---- delivery ------------------------------------------------------------ */

enum send_target { SEND_ALERTMANAGER = 0, SEND_WEBHOOK, SEND_TARGETS };
/* Alertmanager peers one sender delivers to, each its own queue. */
#define SEND_AM_MAX 4
#define SEND_SLOTS (SEND_TARGETS + SEND_AM_MAX - 1)

struct send_stats {
    unsigned long queued, delivered, attempts, failures, rejected, superseded, overflow;
};

struct sender;

/* A sender for n_am Alertmanager base URLs (0..SEND_AM_MAX: the peers of a
 * cluster, each sent every message) and a webhook URL (NULL: unused);
 * spool_dir NULL keeps the queues in memory only. Messages spooled by an
 * earlier run are loaded. timeout: seconds per request. Returns NULL with a
 * message in err. */
struct sender *sender_new(const char *const *am_urls, size_t n_am, const char *webhook_url,
                          const char *spool_dir, double timeout, char *err, size_t errlen);
void sender_free(struct sender *s);

/* Queue body (JSON) for target (SEND_ALERTMANAGER: for each peer). key
 * identifies the alert: for Alertmanager a
 * newer message replaces a queued one with the same key (Alertmanager only
 * needs the latest state); webhook messages are all kept. Written to the
 * spool before this returns. Returns 0, -1 on OOM or spool write error (the
 * message is then still queued in memory). */
int sender_queue(struct sender *s, enum send_target t, const char *key, const char *body,
                 size_t len);

bool sender_enabled(const struct sender *s, enum send_target t);

/* Start due transfers and collect finished ones; never blocks longer than
 * wait_ms (it waits on the transfers' sockets). */
void sender_step(struct sender *s, double now, int wait_ms);

/* Messages not yet delivered. */
size_t sender_pending(const struct sender *s);
/* Stats of target t (Alertmanager: summed over the peers; valid until the
 * next call). */
const struct send_stats *sender_stats(const struct sender *s, enum send_target t);
/* Messages waiting for target t, and when the oldest of them was first
 * queued (0 when none; O(queue), called a few times a second). */
size_t sender_queue_depth(const struct sender *s, enum send_target t);
double sender_oldest(const struct sender *s, enum send_target t);

/* Wall clock in seconds since the epoch. */
double watch_now(void);

#endif
