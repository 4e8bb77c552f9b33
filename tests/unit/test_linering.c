/* test_linering.c -- the shared line ring: lines leave whole and in order,
 * a wrapped line goes out in one call, deferral waits only under load, write
 * failures are counted, and lines survive the death of the process that
 * queued them (the ring is shared memory; c-icap children do crash). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "linering.h"

/* The sink writes to a real file, as the module does, so lines written by
 * another process land in the same place. */
struct sink {
    FILE *f;
    int fd;
    int calls;
    int wrapped_calls; /* calls with two pieces */
    int fail;          /* make every call fail */
    int repairs;       /* calls after a writer died mid-write */
};

static int file_sink(const struct iovec *iov, int iovcnt, void *arg)
{
    struct sink *s = arg;
    if (iovcnt == 0) {
        /* the previous writer died mid-write: end its torn line */
        char last;
        off_t size = lseek(s->fd, 0, SEEK_END);
        s->repairs++;
        if (size > 0 && pread(s->fd, &last, 1, size - 1) == 1 && last != '\n') {
            return write(s->fd, "\n", 1) == 1 ? 0 : -1;
        }
        return 0;
    }
    s->calls++;
    if (iovcnt == 2) {
        s->wrapped_calls++;
    }
    /* each call hands over whole lines: the last piece ends a line */
    const struct iovec *last = &iov[iovcnt - 1];
    const char *end = (const char *)last->iov_base + last->iov_len - 1;
    if (last->iov_len > 0 && *end != '\n') {
        fprintf(stderr, "sink got a partial line\n");
        abort();
    }
    if (s->fail) {
        return -1;
    }
    size_t n = 0;
    for (int i = 0; i < iovcnt; i++) {
        n += iov[i].iov_len;
    }
    return writev(s->fd, iov, iovcnt) == (ssize_t)n ? 0 : -1;
}

static void sink_open(struct sink *s)
{
    memset(s, 0, sizeof *s);
    s->f = tmpfile();
    assert_non_null(s->f);
    s->fd = fileno(s->f);
}

/* Everything written so far (malloc'd, NUL-terminated). */
static char *sink_text(struct sink *s, size_t *len)
{
    off_t n = lseek(s->fd, 0, SEEK_END);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(pread(s->fd, buf, (size_t)n, 0), n);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

/* The file holds exactly want; then free the ring and the file. */
static void expect_output_and_close(struct linering *r, struct sink *s, const char *want)
{
    size_t len;
    char *got = sink_text(s, &len);
    assert_string_equal(got, want);
    free(got);
    linering_destroy(r);
    fclose(s->f);
}

static struct linering *make(size_t bytes, unsigned defer_ms)
{
    char err[200];
    struct linering *r = linering_create(bytes, defer_ms, err, sizeof err);
    if (r == NULL)
        fail_msg("linering_create: %s", err);
    return r;
}

static int put(struct linering *r, struct sink *s, const char *line, bool *deferred)
{
    return linering_put(r, line, strlen(line), file_sink, s, deferred);
}

static void test_lines_leave_whole_and_in_order(void **state)
{
    (void)state;
    struct sink s;
    sink_open(&s);
    struct linering *r = make(8192, 0);
    char want[200000] = "", line[128];
    size_t wl = 0;
    for (int i = 0; i < 2000; i++) {
        char pad[71];
        memset(pad, 'p', sizeof pad - 1);
        pad[i % 70] = '\0'; /* lines of 11 to 80 bytes, so some wrap past the end */
        int n = snprintf(line, sizeof line, "{\"n\":%d,\"pad\":\"%s\"}\n", i, pad);
        assert_int_equal(put(r, &s, line, NULL), 0);
        memcpy(want + wl, line, (size_t)n);
        wl += (size_t)n;
    }
    size_t got_len;
    char *got = sink_text(&s, &got_len);
    assert_int_equal(got_len, wl);
    assert_memory_equal(got, want, wl);
    /* alone, each line is written at once, and some wrapped past the end */
    assert_int_equal(s.calls, 2000);
    assert_true(s.wrapped_calls > 0);
    assert_int_equal(linering_pending(r), 0);
    free(got);
    linering_destroy(r);
    fclose(s.f);
}

static void test_line_longer_than_ring_is_refused(void **state)
{
    (void)state;
    struct sink s;
    sink_open(&s);
    struct linering *r = make(LINERING_MIN_BYTES, 0);
    char *big = malloc(LINERING_MIN_BYTES + 2);
    memset(big, 'a', LINERING_MIN_BYTES);
    big[LINERING_MIN_BYTES] = '\n';
    big[LINERING_MIN_BYTES + 1] = '\0';
    assert_int_equal(put(r, &s, big, NULL), -1);
    assert_int_equal(s.calls, 0);
    free(big);
    linering_destroy(r);
    fclose(s.f);
}

static void test_ring_below_minimum_is_refused(void **state)
{
    (void)state;
    char err[200];
    assert_null(linering_create(100, 0, err, sizeof err));
    assert_non_null(strstr(err, "minimum"));
}

/* Put LINERING_BUSY_LINES short lines: each is written at once (the ring
 * is not busy yet), and the next line in the same window finds it busy. */
static void make_busy(struct linering *r, struct sink *s, char *want)
{
    for (unsigned i = 0; i < LINERING_BUSY_LINES; i++) {
        bool deferred = true;
        char line[16];
        snprintf(line, sizeof line, "w%u\n", i);
        int calls = s->calls;
        assert_int_equal(put(r, s, line, &deferred), 0);
        assert_false(deferred);
        assert_int_equal(s->calls, calls + 1);
        if (want != NULL) {
            strcat(want, line);
        }
    }
}

static void test_lines_wait_only_when_they_come_fast(void **state)
{
    (void)state;
    struct sink s;
    sink_open(&s);
    struct linering *r = make(65536, 60000);
    char want[1024] = "";
    bool deferred = false;
    make_busy(r, &s, want); /* 32 lines: each written at once */
    /* the 33rd within the window waits for the flush */
    assert_int_equal(put(r, &s, "two\n", &deferred), 0);
    assert_true(deferred);
    assert_int_equal(put(r, &s, "three\n", &deferred), 0);
    assert_true(deferred);
    assert_int_equal(s.calls, (int)LINERING_BUSY_LINES);
    assert_int_equal(linering_pending(r), 10);
    /* a caller that cannot flush later (NULL) is never deferred */
    assert_int_equal(put(r, &s, "four\n", NULL), 0);
    assert_int_equal(s.calls, (int)LINERING_BUSY_LINES + 1);
    assert_int_equal(put(r, &s, "five\n", &deferred), 0);
    assert_true(deferred);
    assert_int_equal(linering_flush(r, file_sink, &s), 0);
    assert_int_equal(s.calls, (int)LINERING_BUSY_LINES + 2);
    strcat(want, "two\nthree\nfour\nfive\n");
    expect_output_and_close(r, &s, want);
}

static void test_quiet_ring_writes_every_line_at_once(void **state)
{
    (void)state;
    struct sink s;
    sink_open(&s);
    struct linering *r = make(65536, 20);
    bool deferred;
    /* 3 windows of 20 ms with 10 lines each: never busy */
    for (int w = 0; w < 3; w++) {
        for (int i = 0; i < 10; i++) {
            assert_int_equal(put(r, &s, "quiet\n", &deferred), 0);
            assert_false(deferred);
        }
        struct timespec ts = { 0, 25000000L };
        nanosleep(&ts, NULL);
    }
    assert_int_equal(s.calls, 30);
    linering_destroy(r);
    fclose(s.f);
}

static void test_quarter_full_ring_is_written_despite_deferral(void **state)
{
    (void)state;
    struct sink s;
    sink_open(&s);
    struct linering *r = make(8192, 60000);
    bool deferred;
    make_busy(r, &s, NULL);
    int calls = s.calls;
    char line[101];
    memset(line, 'q', 99);
    line[99] = '\n';
    line[100] = '\0';
    int puts = 0;
    do {
        assert_int_equal(put(r, &s, line, &deferred), 0);
        puts++;
    } while (deferred && puts < 100);
    /* 2048 bytes is a quarter: the 21st 100-byte line finds 2000 waiting */
    assert_false(deferred);
    assert_int_equal(puts, 21);
    assert_int_equal(s.calls, calls + 1);
    assert_int_equal(linering_pending(r), 0);
    linering_destroy(r);
    fclose(s.f);
}

static void test_failed_writes_are_counted_and_dropped(void **state)
{
    (void)state;
    struct sink s;
    sink_open(&s);
    struct linering *r = make(8192, 60000);
    char want[1024] = "";
    bool deferred;
    make_busy(r, &s, want);
    assert_int_equal(put(r, &s, "b\n", &deferred), 0);
    assert_int_equal(put(r, &s, "c\n", &deferred), 0);
    assert_true(deferred);
    s.fail = 1; /* the disk is full: the two waiting lines are lost, counted */
    assert_int_equal(linering_flush(r, file_sink, &s), 2);
    assert_int_equal(linering_pending(r), 0);
    s.fail = 0;
    assert_int_equal(put(r, &s, "d\n", NULL), 0);
    strcat(want, "d\n");
    expect_output_and_close(r, &s, want);
}

/* A child queues lines and dies without writing them (it was killed): the
 * lines are in shared memory, and the parent's drain writes them. */
static void test_lines_of_a_dead_process_are_written_by_another(void **state)
{
    (void)state;
    struct sink s;
    sink_open(&s);
    struct linering *r = make(65536, 60000);
    char want[2048] = "";
    make_busy(r, &s, want); /* the parent's lines made the ring busy: the child's wait */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        bool deferred = false;
        for (int i = 0; i < 50; i++) {
            char line[32];
            snprintf(line, sizeof line, "child %d\n", i);
            if (linering_put(r, line, strlen(line), file_sink, &s, &deferred) != 0 || !deferred) {
                _exit(2);
            }
        }
        raise(SIGKILL);
        _exit(3);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    assert_true(linering_pending(r) > 0);
    assert_int_equal(linering_drain(r, file_sink, &s), 0);
    size_t len;
    char *got = sink_text(&s, &len);
    for (int i = 0; i < 50; i++) {
        char line[32];
        snprintf(line, sizeof line, "child %d\n", i);
        strcat(want, line);
    }
    assert_string_equal(got, want);
    free(got);
    linering_destroy(r);
    fclose(s.f);
}

/* Children writing as fast as they can are killed at random moments, inside
 * or outside the ring's locks. Whatever reaches the file must be whole lines,
 * in order, with no line lost before the last one the child committed; a
 * later writer must still get through and take what the dead one left. A
 * child killed between its write and moving the ring's head has its batch
 * written again by the next writer (linering.c's chosen trade-off), so a
 * repeat of lines already seen is allowed, and counted. */
static void test_killed_writers_leave_no_torn_or_lost_line(void **state)
{
    (void)state;
    enum { ROUNDS = 20 };
    struct sink s;
    sink_open(&s);
    struct linering *r = make(LINERING_MIN_BYTES, 1);
    for (int round = 0; round < ROUNDS; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            bool deferred;
            for (unsigned i = 0;; i++) {
                char line[64];
                snprintf(line, sizeof line, "r%02d-%08u-%s\n", round, i, "payload-payload-payload");
                (void)linering_put(r, line, strlen(line), file_sink, &s, (i & 1) ? &deferred : NULL);
            }
        }
        struct timespec ts = { 0, 1000000L + (long)(rand() % 5000000) };
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        char mine[32];
        snprintf(mine, sizeof mine, "after-%02d\n", round);
        assert_true(put(r, &s, mine, NULL) >= 0);
        assert_true(linering_drain(r, file_sink, &s) >= 0);
        assert_int_equal(linering_pending(r), 0);
    }
    size_t len;
    char *got = sink_text(&s, &len);
    assert_true(len > 0 && got[len - 1] == '\n');
    long next[ROUNDS]; /* the next number each round's child should show */
    int afters = 0, repeats = 0, lines = 0, torn = 0;
    for (int i = 0; i < ROUNDS; i++) {
        next[i] = 0;
    }
    for (char *line = got, *nl; *line != '\0'; line = nl + 1) {
        nl = strchr(line, '\n');
        size_t n = (size_t)(nl - line);
        if (n == 8 && strncmp(line, "after-", 6) == 0) {
            assert_int_equal(atoi(line + 6), afters); /* rounds in order */
            afters++;
            continue;
        }
        if (n != 3 + 1 + 8 + 1 + 23) {
            /* torn by a kill mid-write: it stands alone, and the whole line
             * is written again later */
            char frag[64];
            assert_true(n > 0 && n < sizeof frag);
            memcpy(frag, line, n);
            frag[n] = '\0';
            assert_non_null(strstr(nl + 1, frag));
            torn++;
            continue;
        }
        assert_memory_equal(line + 13, "payload-payload-payload", 23);
        int round = atoi(line + 1);
        long num = atol(line + 4);
        assert_int_equal(round, afters); /* before its round's "after" line */
        assert_true(num <= next[round]); /* above: a line was lost */
        if (num == next[round]) {
            next[round]++;
        } else {
            repeats++;
        }
        lines++;
    }
    assert_int_equal(afters, ROUNDS);
    assert_true(lines > ROUNDS * 10);
    print_message("%d lines from %d killed writers: %d written twice, %d torn (then rewritten), %d repairs\n",
                  lines, ROUNDS, repeats, torn, s.repairs);
    free(got);
    linering_destroy(r);
    fclose(s.f);
}

struct thread_arg {
    struct linering *r;
    struct sink *s;
    int id;
    int lines;
    volatile int *stop;
};

static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;

static int locked_sink(const struct iovec *iov, int iovcnt, void *arg)
{
    /* the ring calls one sink at a time; the lock only keeps the counters honest */
    pthread_mutex_lock(&sink_lock);
    int rc = file_sink(iov, iovcnt, arg);
    pthread_mutex_unlock(&sink_lock);
    return rc;
}

static void *writer(void *p)
{
    struct thread_arg *a = p;
    bool deferred;
    for (int i = 0; i < a->lines; i++) {
        char line[64];
        snprintf(line, sizeof line, "t%d %06d\n", a->id, i);
        assert_int_equal(linering_put(a->r, line, strlen(line), locked_sink, a->s, &deferred), 0);
    }
    return NULL;
}

static void *flusher(void *p)
{
    struct thread_arg *a = p;
    struct timespec ts = { 0, 500000L };
    while (!*a->stop) {
        nanosleep(&ts, NULL);
        (void)linering_flush(a->r, locked_sink, a->s);
    }
    return NULL;
}

/* Four threads race, with deferral on and a flusher thread as in a c-icap
 * child: every line arrives once, whole, each thread's in its order, and
 * the writes were batched (fewer calls than lines). */
static void test_racing_threads_lose_no_line_and_batch(void **state)
{
    (void)state;
    enum { THREADS = 4, LINES = 20000 };
    struct sink s;
    sink_open(&s);
    struct linering *r = make(65536, 2);
    volatile int stop = 0;
    pthread_t t[THREADS], f;
    struct thread_arg a[THREADS], fa = { r, &s, -1, 0, &stop };
    assert_int_equal(pthread_create(&f, NULL, flusher, &fa), 0);
    for (int i = 0; i < THREADS; i++) {
        a[i] = (struct thread_arg){ r, &s, i, LINES, &stop };
        assert_int_equal(pthread_create(&t[i], NULL, writer, &a[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
    }
    stop = 1;
    pthread_join(f, NULL);
    assert_int_equal(linering_drain(r, locked_sink, &s), 0);
    size_t len;
    char *got = sink_text(&s, &len);
    int next[THREADS] = { 0 };
    int total = 0;
    for (char *line = got, *nl; *line != '\0'; line = nl + 1) {
        nl = strchr(line, '\n');
        assert_non_null(nl);
        int id, n;
        assert_int_equal(sscanf(line, "t%d %d", &id, &n), 2);
        assert_true(id >= 0 && id < THREADS);
        assert_int_equal(n, next[id]);
        next[id]++;
        total++;
    }
    assert_int_equal(total, THREADS * LINES);
    assert_true(s.calls < total / 2);
    assert_int_equal(linering_writes(r), (uint64_t)s.calls);
    free(got);
    linering_destroy(r);
    fclose(s.f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_leave_whole_and_in_order),
        cmocka_unit_test(test_line_longer_than_ring_is_refused),
        cmocka_unit_test(test_ring_below_minimum_is_refused),
        cmocka_unit_test(test_lines_wait_only_when_they_come_fast),
        cmocka_unit_test(test_quiet_ring_writes_every_line_at_once),
        cmocka_unit_test(test_quarter_full_ring_is_written_despite_deferral),
        cmocka_unit_test(test_failed_writes_are_counted_and_dropped),
        cmocka_unit_test(test_lines_of_a_dead_process_are_written_by_another),
        cmocka_unit_test(test_killed_writers_leave_no_torn_or_lost_line),
        cmocka_unit_test(test_racing_threads_lose_no_line_and_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
