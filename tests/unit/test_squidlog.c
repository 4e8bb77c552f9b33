/* test_squidlog.c -- the access-log line parsers: each Squid format and the
 * event line parse to the right fields, formats are told apart, '-' is
 * "no value", and broken lines are rejected whole rather than half-read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logcorr.h"
#include "squidlog.h"

static struct squidrec rec;
static char line[8192];

static int parse(enum squidlog_format f, const char *s)
{
    size_t n = strlen(s);
    memcpy(line, s, n + 1);
    return squidlog_parse(f, line, n, &rec);
}

static const char NATIVE[] =
    "1764072000.123    45 10.1.2.3 TCP_MISS/401 345 GET http://intranet/secure/logo.gif - "
    "FIRSTUP_PARENT/127.0.0.1 text/html";
static const char XPROMPT[] =
    "1764072000.123      3 127.0.0.1 TCP_MISS/401 512 GET http://intranet/secure/logo.gif - "
    "FIRSTUP_PARENT/127.0.0.1 text/html embedded-denied basic http://intranet/index.html";
static const char COMBINED[] =
    "10.1.2.3 - alice [25/Nov/2025:12:00:00 +0100] \"GET http://intranet/secure/logo.gif HTTP/1.1\" "
    "401 345 \"http://intranet/index.html\" \"Mozilla/5.0 (X11; \\\"quoted\\\")\" TCP_MISS:FIRSTUP_PARENT";
static const char EVENT[] =
    "{\"v\":1,\"ts\":\"2025-11-25T12:00:00.500Z\",\"client\":\"10.1.2.3\",\"user\":\"CORP\\\\alice\","
    "\"method\":\"GET\",\"url\":\"http://intranet/secure/logo.gif\",\"host\":\"intranet\",\"status\":401,"
    "\"cause\":\"embedded-denied\",\"prompt\":\"basic\",\"parent\":\"http://intranet/index.html\","
    "\"evidence\":\"html\",\"handler\":null}";

static void test_native_fields(void **state)
{
    (void)state;
    assert_int_equal(parse(SQUIDLOG_NATIVE, NATIVE), 0);
    assert_true(rec.ts > 1764072000.12 && rec.ts < 1764072000.13);
    assert_int_equal(rec.status, 401);
    assert_string_equal(rec.client, "10.1.2.3");
    assert_string_equal(rec.method, "GET");
    assert_string_equal(rec.url, "http://intranet/secure/logo.gif");
    assert_string_equal(rec.user, "");
    assert_string_equal(rec.mime, "text/html");
    assert_string_equal(rec.cause, "");
}

static void test_xprompt_fields_and_dash_is_empty(void **state)
{
    (void)state;
    assert_int_equal(parse(SQUIDLOG_XPROMPT, XPROMPT), 0);
    assert_string_equal(rec.cause, "embedded-denied");
    assert_string_equal(rec.prompt, "basic");
    assert_string_equal(rec.parent, "http://intranet/index.html");
    assert_int_equal(parse(SQUIDLOG_XPROMPT,
                           "1764072000.123 3 127.0.0.1 TCP_MISS/200 512 GET http://i/ - "
                           "HIER_NONE/- text/html - - -"), 0);
    assert_string_equal(rec.cause, "");
    assert_string_equal(rec.parent, "");
}

static void test_combined_fields_and_time_zone(void **state)
{
    (void)state;
    assert_int_equal(parse(SQUIDLOG_COMBINED, COMBINED), 0);
    /* 12:00 at +0100 is 11:00 UTC: 2025-11-25T11:00:00Z = 1764068400 */
    assert_true(rec.ts == 1764068400.0);
    assert_int_equal(rec.status, 401);
    assert_string_equal(rec.user, "alice");
    assert_string_equal(rec.url, "http://intranet/secure/logo.gif");
    assert_string_equal(rec.referer, "http://intranet/index.html");
    /* Apache-style: no Squid tail, path-only URL, '-' bytes */
    assert_int_equal(parse(SQUIDLOG_COMBINED, "1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "
                                              "\"GET /x.gif HTTP/1.1\" 304 - \"-\" \"curl\""), 0);
    assert_string_equal(rec.referer, "");
    assert_int_equal(rec.status, 304);
}

static void test_event_line_fields(void **state)
{
    (void)state;
    assert_int_equal(parse(SQUIDLOG_EVENTS, EVENT), 0);
    assert_string_equal(rec.user, "CORP\\alice");
    assert_string_equal(rec.cause, "embedded-denied");
    assert_string_equal(rec.evidence, "html");
    assert_string_equal(rec.host, "intranet");
    assert_int_equal(rec.status, 401);
    /* status absent: 407 for proxy-auth */
    assert_int_equal(parse(SQUIDLOG_EVENTS, "{\"v\":1,\"ts\":\"2025-11-25T12:00:00Z\","
                                            "\"cause\":\"proxy-auth\",\"prompt\":\"silent\"}"), 0);
    assert_int_equal(rec.status, 407);
}

static void test_detect_each_format(void **state)
{
    (void)state;
    assert_int_equal(squidlog_detect(NATIVE, strlen(NATIVE)), SQUIDLOG_NATIVE);
    assert_int_equal(squidlog_detect(XPROMPT, strlen(XPROMPT)), SQUIDLOG_XPROMPT);
    assert_int_equal(squidlog_detect(COMBINED, strlen(COMBINED)), SQUIDLOG_COMBINED);
    assert_int_equal(squidlog_detect(EVENT, strlen(EVENT)), SQUIDLOG_EVENTS);
    assert_int_equal(squidlog_detect("hello world", 11), SQUIDLOG_UNKNOWN);
}

static void test_broken_lines_rejected(void **state)
{
    (void)state;
    /* cut short, wrong status field, extra field, bad time, unclosed quote, bad JSON */
    assert_int_equal(parse(SQUIDLOG_NATIVE, "1764072000.123 45 10.1.2.3 TCP_MISS/401 345 GET"), -1);
    assert_int_equal(parse(SQUIDLOG_NATIVE, "1764072000.123 45 10.1.2.3 TCP_MISS 345 GET u - H/- t"), -1);
    assert_int_equal(parse(SQUIDLOG_NATIVE, "1764072000.123 45 10.1.2.3 TCP_MISS/401 345 GET u - "
                                            "H/- text/html extra"), -1);
    assert_int_equal(parse(SQUIDLOG_COMBINED, "1.2.3.4 - - [32/Jan/2026:00:00:00 +0000] "
                                              "\"GET / HTTP/1.1\" 200 1 \"-\" \"-\""), -1);
    assert_int_equal(parse(SQUIDLOG_COMBINED, "1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "
                                              "\"GET / HTTP/1.1\" 200 1 \"-\" \"unclosed"), -1);
    assert_int_equal(parse(SQUIDLOG_EVENTS, "{\"v\":1,\"ts\":\"2025-11-25T12:00:00Z\""), -1);
    assert_int_equal(parse(SQUIDLOG_EVENTS, "{\"v\":2,\"ts\":\"2025-11-25T12:00:00Z\"}"), -1);
    assert_int_equal(parse(SQUIDLOG_EVENTS, "{\"v\":1,\"ts\":\"yesterday\"}"), -1);
}

static void test_object_type_from_extension(void **state)
{
    (void)state;
    assert_string_equal(logcorr_object_of_url("http://h/a/logo.GIF?x=1"), "image");
    assert_string_equal(logcorr_object_of_url("http://h/a/menu.js"), "script");
    assert_string_equal(logcorr_object_of_url("http://h/a/site.css#f"), "style");
    assert_string_equal(logcorr_object_of_url("http://h/a/"), "document");
    assert_string_equal(logcorr_object_of_url("http://h/a.d/index"), "document");
    assert_string_equal(logcorr_object_of_url("http://h/news/today.shtml"), "document");
    assert_string_equal(logcorr_object_of_url("http://h/data.json"), "other");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_native_fields),
        cmocka_unit_test(test_xprompt_fields_and_dash_is_empty),
        cmocka_unit_test(test_combined_fields_and_time_zone),
        cmocka_unit_test(test_event_line_fields),
        cmocka_unit_test(test_detect_each_format),
        cmocka_unit_test(test_broken_lines_rejected),
        cmocka_unit_test(test_object_type_from_extension),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
