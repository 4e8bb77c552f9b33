/* test_promtext.c -- the Prometheus text format writer: label values escape
 * backslash, quote and newline and never carry invalid UTF-8, HELP escapes
 * backslash and newline, numbers print as Prometheus parses them; and the
 * /proc/self/stat parser survives command names with spaces and ')'. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promtext.h"

static char *label(const char *v, size_t n)
{
    static char out[1024];
    struct promtext t;
    promtext_init(&t);
    promtext_label_value(&t, v, n);
    assert_false(t.failed);
    assert_true(t.len < sizeof out);
    memcpy(out, t.buf ? t.buf : "", t.len);
    out[t.len] = '\0';
    promtext_free(&t);
    return out;
}

static void test_label_value_escapes_backslash_quote_newline(void **state)
{
    (void)state;
    const char v[] = "a\\b\"c\nd";
    assert_string_equal(label(v, sizeof v - 1), "a\\\\b\\\"c\\nd");
    assert_string_equal(label("plain", 5), "plain");
    assert_string_equal(label("", 0), "");
}

static void test_label_value_keeps_utf8_replaces_invalid(void **state)
{
    (void)state;
    /* é (2 bytes), € (3), U+1F600 (4) kept */
    const char ok[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
    assert_string_equal(label(ok, sizeof ok - 1), ok);
    /* lone continuation, overlong '/', surrogate, cut-short sequence */
    assert_string_equal(label("a\x80z", 3), "a\xef\xbf\xbdz");
    assert_string_equal(label("\xc0\xaf", 2), "\xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal(label("\xed\xa0\x80", 3), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal(label("x\xe2\x82", 3), "x\xef\xbf\xbd\xef\xbf\xbd");
}

static void test_label_value_does_not_read_past_length(void **state)
{
    (void)state;
    /* no NUL: the writer must stop at n */
    char v[4] = {'a', '"', 'b', 'c'};
    assert_string_equal(label(v, 3), "a\\\"b");
    /* embedded NUL is data, kept */
    char z[3] = {'a', '\0', 'b'};
    struct promtext t;
    promtext_init(&t);
    promtext_label_value(&t, z, 3);
    assert_int_equal(t.len, 3);
    assert_memory_equal(t.buf, z, 3);
    promtext_free(&t);
}

static void test_sample_with_labels_and_family(void **state)
{
    (void)state;
    struct promtext t;
    promtext_init(&t);
    promtext_family(&t, "x_total", "counter", "Counts \\ things\nover lines.");
    const char *keys[2] = {"cause", "host"};
    const char *vals[2] = {"page-denied", "in\"tra"};
    promtext_sample(&t, "x_total", keys, vals, 2, 42);
    promtext_sample(&t, "y", NULL, NULL, 0, 0.5);
    assert_false(t.failed);
    assert_string_equal(t.buf, "# HELP x_total Counts \\\\ things\\nover lines.\n"
                               "# TYPE x_total counter\n"
                               "x_total{cause=\"page-denied\",host=\"in\\\"tra\"} 42\n"
                               "y 0.5\n");
    promtext_free(&t);
}

static void test_numbers_as_prometheus_parses_them(void **state)
{
    (void)state;
    char b[32];
    promtext_number(0, b);
    assert_string_equal(b, "0");
    promtext_number(18446744073709.0, b);
    assert_string_equal(b, "18446744073709");
    promtext_number(9007199254740992.0, b);
    assert_string_equal(b, "9007199254740992");
    promtext_number(1e300, b);
    assert_string_equal(b, "1e+300");
    promtext_number(0.1, b);
    assert_string_equal(b, "0.1");
    promtext_number(0.03, b);
    assert_string_equal(b, "0.03");
    promtext_number(1.0 / 3, b);
    assert_true(strtod(b, NULL) == 1.0 / 3);
    promtext_number(-3, b);
    assert_string_equal(b, "-3");
    promtext_number(INFINITY, b);
    assert_string_equal(b, "+Inf");
    promtext_number(-INFINITY, b);
    assert_string_equal(b, "-Inf");
    promtext_number(NAN, b);
    assert_string_equal(b, "NaN");
}

static void test_large_output_grows_buffer(void **state)
{
    (void)state;
    struct promtext t;
    promtext_init(&t);
    for (int i = 0; i < 10000; i++)
        promtext_sample(&t, "many", NULL, NULL, 0, i);
    assert_false(t.failed);
    assert_int_equal(strlen(t.buf), t.len);
    assert_non_null(strstr(t.buf, "\nmany 9999\n"));
    promtext_free(&t);
}

/* A real line's shape (proc(5)): pid (comm) state ppid ... rss ... */
static const char STAT_LINE[] =
    "4242 (prompt cause) R 1 4242 4242 0 -1 4194560 1234 0 0 0 "
    "150 25 -3 0 20 0 3 0 987654 123456789 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

static void test_procstat_fields(void **state)
{
    (void)state;
    struct promtext_procstat ps;
    assert_int_equal(promtext_parse_procstat(STAT_LINE, sizeof STAT_LINE - 1, &ps), 0);
    assert_int_equal(ps.utime, 150);
    assert_int_equal(ps.stime, 25);
    assert_int_equal(ps.starttime, 987654);
    assert_int_equal(ps.vsize, 123456789);
    assert_int_equal(ps.rss, 2048);
}

static void test_procstat_comm_with_paren_and_spaces(void **state)
{
    (void)state;
    const char line[] = "7 (a) b) (c 9) S 1 7 7 0 -1 0 0 0 0 0 11 22 0 0 20 0 1 0 333 4444 55 0\n";
    struct promtext_procstat ps;
    assert_int_equal(promtext_parse_procstat(line, sizeof line - 1, &ps), 0);
    assert_int_equal(ps.utime, 11);
    assert_int_equal(ps.stime, 22);
    assert_int_equal(ps.starttime, 333);
    assert_int_equal(ps.vsize, 4444);
    assert_int_equal(ps.rss, 55);
}

static void test_procstat_truncated_at_every_length_fails_cleanly(void **state)
{
    (void)state;
    struct promtext_procstat ps;
    /* Cut before the rss field ends: must fail, never read past n. The
     * cut copies into an exact-size heap buffer so ASan sees overreads. */
    const char *rss = strstr(STAT_LINE, " 2048 ");
    size_t need = (size_t)(rss - STAT_LINE) + 1;
    for (size_t n = 0; n < need; n++) {
        char *cut = malloc(n ? n : 1);
        memcpy(cut, STAT_LINE, n);
        assert_int_equal(promtext_parse_procstat(cut, n, &ps), -1);
        free(cut);
    }
    assert_int_equal(promtext_parse_procstat("1 (x) S 1 2 x", 13, &ps), -1);
}

static void test_btime(void **state)
{
    (void)state;
    const char s[] = "cpu  1 2 3\ncpu0 1 2 3\nintr 5\nbtime 1764979200\nprocesses 9\n";
    unsigned long long b = 0;
    assert_int_equal(promtext_parse_btime(s, sizeof s - 1, &b), 0);
    assert_int_equal(b, 1764979200ULL);
    assert_int_equal(promtext_parse_btime("cpu 1\n", 6, &b), -1);
    assert_int_equal(promtext_parse_btime("btime x\n", 8, &b), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_value_escapes_backslash_quote_newline),
        cmocka_unit_test(test_label_value_keeps_utf8_replaces_invalid),
        cmocka_unit_test(test_label_value_does_not_read_past_length),
        cmocka_unit_test(test_sample_with_labels_and_family),
        cmocka_unit_test(test_numbers_as_prometheus_parses_them),
        cmocka_unit_test(test_large_output_grows_buffer),
        cmocka_unit_test(test_procstat_fields),
        cmocka_unit_test(test_procstat_comm_with_paren_and_spaces),
        cmocka_unit_test(test_procstat_truncated_at_every_length_fails_cleanly),
        cmocka_unit_test(test_btime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
