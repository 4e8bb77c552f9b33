/* test_hostset.c -- the bounded host set behind promptcause_events_by_host_total:
 * never more than N host series plus "other", the real top N is found under
 * a long tail of one-off hosts, series never go down while exported, every
 * event is counted once, and the edge cases (empty host, a host named
 * "other", over-long names without NUL) stay in bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostset.h"

struct seen {
    size_t n; /* host series, without other */
    char names[HOSTSET_N_MAX][HOSTSET_NAME_MAX + 1];
    unsigned long long counts[HOSTSET_N_MAX];
    unsigned long long other;
    int other_calls;
};

static void collect(void *arg, const char *host, unsigned long long count)
{
    struct seen *s = arg;
    if (strcmp(host, HOSTSET_OTHER) == 0) {
        s->other = count;
        s->other_calls++;
        return;
    }
    strcpy(s->names[s->n], host);
    s->counts[s->n++] = count;
}

static struct seen *snapshot(const struct hostset *h)
{
    static struct seen s;
    memset(&s, 0, sizeof s);
    hostset_foreach(h, collect, &s);
    assert_int_equal(s.other_calls, 1);
    return &s;
}

static unsigned long long count_of(const struct seen *s, const char *host)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->names[i], host) == 0)
            return s->counts[i];
    return 0;
}

static bool has(const struct seen *s, const char *host)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->names[i], host) == 0)
            return true;
    return false;
}

static void add(struct hostset *h, const char *host)
{
    hostset_add(h, host, strlen(host));
}

static void test_few_hosts_each_own_series_exact(void **state)
{
    (void)state;
    struct hostset *h = hostset_new(3);
    for (int i = 0; i < 5; i++)
        add(h, "intranet");
    add(h, "wiki.corp");
    add(h, "wiki.corp");
    struct seen *s = snapshot(h);
    assert_int_equal(s->n, 2);
    assert_int_equal(count_of(s, "intranet"), 5);
    assert_int_equal(count_of(s, "wiki.corp"), 2);
    assert_int_equal(s->other, 0);
    assert_int_equal(hostset_total(h), 7);
    hostset_free(h);
}

static void test_beyond_n_hosts_rest_is_other(void **state)
{
    (void)state;
    struct hostset *h = hostset_new(2);
    add(h, "a");
    add(h, "b");
    add(h, "c"); /* set full, c ties nobody ahead: other */
    struct seen *s = snapshot(h);
    assert_int_equal(s->n, 2);
    assert_true(has(s, "a") && has(s, "b"));
    assert_int_equal(s->other, 1);
    hostset_free(h);
}

static void test_top_n_found_under_long_tail(void **state)
{
    (void)state;
    /* 5 heavy hosts hidden among 100000 one-off hosts, interleaved. */
    struct hostset *h = hostset_new(5);
    char name[64];
    unsigned long long events = 0;
    for (int i = 0; i < 100000; i++) {
        snprintf(name, sizeof name, "tail-%d.example", i);
        add(h, name);
        events++;
        if (i % 10 == 0) {
            snprintf(name, sizeof name, "heavy-%d", (i / 10) % 5);
            add(h, name);
            events++;
        }
    }
    struct seen *s = snapshot(h);
    assert_int_equal(s->n, 5);
    unsigned long long sum = s->other;
    for (int k = 0; k < 5; k++) {
        snprintf(name, sizeof name, "heavy-%d", k);
        assert_true(has(s, name));
        sum += count_of(s, name);
        /* each heavy host had 2000 events; nearly all counted under it */
        assert_true(count_of(s, name) > 1900);
        assert_true(count_of(s, name) <= 2000);
    }
    /* The set was first filled by tail-0, heavy-0, tail-1..3; the four
     * one-off hosts were pushed out with their 1 event each, no heavy host
     * ever was. */
    assert_int_equal(sum, events - 4);
    assert_int_equal(hostset_total(h), events);
    hostset_free(h);
}

static void test_series_never_decrease_while_exported(void **state)
{
    (void)state;
    struct hostset *h = hostset_new(3);
    unsigned long long last[8] = {0}, last_other = 0;
    char name[16];
    unsigned seed = 12345;
    for (int i = 0; i < 20000; i++) {
        seed = seed * 1103515245u + 12345u;
        /* skewed: host k with probability ~ 1/2^k */
        int k = 0;
        while (k < 7 && ((seed >> (16 + k)) & 1))
            k++;
        snprintf(name, sizeof name, "h%d", k);
        add(h, name);
        if (i % 97 == 0) {
            struct seen *s = snapshot(h);
            assert_true(s->n <= 3);
            assert_true(s->other >= last_other);
            last_other = s->other;
            for (size_t j = 0; j < s->n; j++) {
                int id = s->names[j][1] - '0';
                assert_true(s->counts[j] >= last[id]);
                last[id] = s->counts[j];
            }
        }
    }
    hostset_free(h);
}

static void test_overtaking_host_enters_and_weakest_leaves(void **state)
{
    (void)state;
    struct hostset *h = hostset_new(2);
    for (int i = 0; i < 10; i++)
        add(h, "big");
    for (int i = 0; i < 3; i++)
        add(h, "small");
    for (int i = 0; i < 5; i++)
        add(h, "rising"); /* est 1..3: other (not strictly ahead); 4, 5: in */
    struct seen *s = snapshot(h);
    assert_true(has(s, "big"));
    assert_true(has(s, "rising"));
    assert_false(has(s, "small"));
    assert_int_equal(count_of(s, "rising"), 2); /* counted from when it entered */
    assert_int_equal(s->other, 3);
    assert_int_equal(hostset_exported(h), 2);
    hostset_free(h);
}

static void test_empty_and_literal_other_go_to_other(void **state)
{
    (void)state;
    struct hostset *h = hostset_new(4);
    hostset_add(h, "", 0);
    add(h, "other");
    add(h, "other");
    struct seen *s = snapshot(h);
    assert_int_equal(s->n, 0);
    assert_int_equal(s->other, 3);
    hostset_free(h);
}

static void test_long_name_cut_without_nul(void **state)
{
    (void)state;
    struct hostset *h = hostset_new(2);
    size_t n = 5000;
    char *big = malloc(n); /* no NUL anywhere */
    memset(big, 'x', n);
    hostset_add(h, big, n);
    hostset_add(h, big, HOSTSET_NAME_MAX + 7); /* same after the cut */
    struct seen *s = snapshot(h);
    assert_int_equal(s->n, 1);
    assert_int_equal(strlen(s->names[0]), HOSTSET_NAME_MAX);
    assert_int_equal(s->counts[0], 2);
    free(big);
    hostset_free(h);
}

static void test_bad_sizes_refused(void **state)
{
    (void)state;
    assert_null(hostset_new(0));
    assert_null(hostset_new(HOSTSET_N_MAX + 1));
    struct hostset *h = hostset_new(HOSTSET_N_MAX);
    assert_non_null(h);
    hostset_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_few_hosts_each_own_series_exact),
        cmocka_unit_test(test_beyond_n_hosts_rest_is_other),
        cmocka_unit_test(test_top_n_found_under_long_tail),
        cmocka_unit_test(test_series_never_decrease_while_exported),
        cmocka_unit_test(test_overtaking_host_enters_and_weakest_leaves),
        cmocka_unit_test(test_empty_and_literal_other_go_to_other),
        cmocka_unit_test(test_long_name_cut_without_nul),
        cmocka_unit_test(test_bad_sizes_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
