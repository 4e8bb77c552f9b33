/* test_report.c -- the analyze report and the raw-log correlation: handshake
 * steps are told from prompts by how fast the browser answered, parents come
 * from Referer or time proximity of the same client only, shares and counts
 * add up, storms are found with watch's detector, and the tables stay within
 * their limits while keeping the heavy hitters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "logcorr.h"
#include "report.h"
#include "squidlog.h"

static struct report *new_report(size_t resources)
{
    struct report_limits lim;
    report_limits_default(&lim);
    if (resources)
        lim.resources = resources;
    struct report *r = report_new(&lim, NULL);
    assert_non_null(r);
    return r;
}

/* Feed one raw native-format record. */
static void raw(struct logcorr *c, struct report *r, double ts, const char *client, int status,
                const char *url, const char *mime, const char *referer)
{
    struct squidrec rec;
    memset(&rec, 0, sizeof rec);
    rec.ts = ts;
    rec.status = status;
    rec.client = client;
    rec.user = "";
    rec.method = "GET";
    rec.url = url;
    rec.mime = mime;
    rec.referer = referer;
    rec.cause = rec.prompt = rec.parent = rec.evidence = rec.host = "";
    report_line(r, true);
    assert_int_equal(logcorr_feed(c, &rec, r), 0);
}

static const struct report_resource *find(const struct report *r, const char *url)
{
    const struct report_resource *rows;
    size_t n = report_resources(r, &rows);
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].url, url) == 0)
            return &rows[i];
    return NULL;
}

static size_t cause_ix(const char *name)
{
    for (size_t i = 0; i < REPORT_CAUSES; i++)
        if (strcmp(report_cause_names[i], name) == 0)
            return i;
    fail();
    return 0;
}

static void test_fast_401_401_200_is_handshake_slow_200_is_prompt(void **state)
{
    (void)state;
    struct report *r = new_report(0);
    struct logcorr *c = logcorr_new();
    assert_non_null(c);
    /* NTLM: anonymous 401, type-2 401, 200 within a second */
    raw(c, r, 1000.0, "10.0.0.1", 401, "http://intranet/ntlm/app.html", "text/html", "");
    raw(c, r, 1000.1, "10.0.0.1", 401, "http://intranet/ntlm/app.html", "text/html", "");
    raw(c, r, 1000.2, "10.0.0.1", 200, "http://intranet/ntlm/app.html", "text/html", "");
    /* Basic: 401, the user types for 8 seconds, 200 */
    raw(c, r, 1010.0, "10.0.0.2", 401, "http://intranet/secure/report.html", "text/html", "");
    raw(c, r, 1018.0, "10.0.0.2", 200, "http://intranet/secure/report.html", "text/html", "");
    /* another client's 200 does not resolve this one's 401 */
    raw(c, r, 1020.0, "10.0.0.3", 401, "http://intranet/ntlm/x.html", "text/html", "");
    raw(c, r, 1020.1, "10.0.0.4", 200, "http://intranet/ntlm/x.html", "text/html", "");
    assert_int_equal(logcorr_flush(c, r), 0);
    report_finish(r);
    const struct report_totals *t = report_get_totals(r);
    assert_int_equal(t->events, 4);
    assert_int_equal(t->status401, 4);
    assert_int_equal(t->handshake401, 2);
    assert_int_equal(t->by_cause[cause_ix("handshake")], 2);
    assert_int_equal(t->by_cause[cause_ix("page-denied")], 2);
    assert_true(t->handshake_share > 0.49 && t->handshake_share < 0.51);
    assert_string_equal(find(r, "http://intranet/secure/report.html")->cause, "page-denied");
    assert_string_equal(find(r, "http://intranet/secure/report.html")->prompt, "");
    logcorr_free(c);
    report_free(r);
}

static void test_parent_by_referer_and_by_time_same_client_only(void **state)
{
    (void)state;
    struct report *r = new_report(0);
    struct logcorr *c = logcorr_new();
    assert_non_null(c);
    raw(c, r, 100.0, "10.0.0.1", 200, "http://intranet/index.html", "text/html", "");
    raw(c, r, 100.5, "10.0.0.1", 401, "http://intranet/secure/logo.gif", "text/html", "");
    raw(c, r, 100.6, "10.0.0.2", 401, "http://intranet/secure/other.gif", "text/html", "");
    raw(c, r, 130.0, "10.0.0.1", 401, "http://intranet/secure/late.gif", "text/html", "");
    raw(c, r, 131.0, "10.0.0.5", 401, "http://intranet/secure/ref.css", "",
        "http://intranet/styled.html");
    raw(c, r, 132.0, "10.0.0.5", 401, "http://intranet/news/today.shtml", "", "http://intranet/");
    assert_int_equal(logcorr_flush(c, r), 0);
    report_finish(r);
    const struct report_resource *x = find(r, "http://intranet/secure/logo.gif");
    assert_string_equal(x->cause, "embedded-denied");
    assert_string_equal(x->parent, "http://intranet/index.html");
    assert_string_equal(x->evidence, "time");
    assert_string_equal(x->host, "intranet");
    /* other client: no parent; 30 s later: too late */
    assert_string_equal(find(r, "http://intranet/secure/other.gif")->cause, "page-denied");
    assert_string_equal(find(r, "http://intranet/secure/late.gif")->parent, "");
    x = find(r, "http://intranet/secure/ref.css");
    assert_string_equal(x->cause, "embedded-denied");
    assert_string_equal(x->evidence, "referer");
    /* a navigation with a Referer (a clicked link) is the page itself */
    x = find(r, "http://intranet/news/today.shtml");
    assert_string_equal(x->cause, "handler-denied");
    assert_string_equal(x->parent, "");
    logcorr_free(c);
    report_free(r);
}

static void add(struct report *r, double ts, const char *client, const char *url, const char *cause,
                const char *prompt)
{
    struct report_event ev = {ts, 401, client, "", url, "", cause, prompt, "", "", ""};
    assert_int_equal(report_add(r, &ev), 0);
}

/* SPEC §2a: analyze counts events by reason; null reasons are not counted,
 * an unknown spelling goes to "unknown", and the names are the event's. */
static void test_by_reason_counts_and_names(void **state)
{
    (void)state;
    for (size_t i = 0; i + 1 < REPORT_REASONS; i++)
        assert_string_equal(report_reason_names[i], event_reason_name((enum event_reason)(i + 1)));
    assert_int_equal(REPORT_REASONS, EVENT_REASON_COUNT);
    struct report *r = new_report(0);
    const char *reasons[] = {"foreign-domain", "foreign-domain", "handshake-split", "", NULL, "bogus"};
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
        struct report_event ev = {100.0 + (double)i, 401, "10.0.0.1", "", "http://h/a", "",
                                  "credentials-rejected", "rejected", "", "", reasons[i]};
        assert_int_equal(report_add(r, &ev), 0);
    }
    report_finish(r);
    const struct report_totals *t = report_get_totals(r);
    assert_int_equal(t->events, 6);
    assert_int_equal(t->by_reason[REASON_FOREIGN_DOMAIN - 1], 2);
    assert_int_equal(t->by_reason[REASON_HANDSHAKE_SPLIT - 1], 1);
    assert_int_equal(t->by_reason[REPORT_REASONS - 1], 1); /* "bogus" */
    unsigned long sum = 0;
    for (size_t i = 0; i < REPORT_REASONS; i++)
        sum += t->by_reason[i];
    assert_int_equal(sum, 4);
    report_free(r);
}

/* The shipped logformat carries X-Prompt-Detail as a 14th field; older
 * 13-field lines still parse, and event lines give their reason. */
static void test_squid_log_reason_field(void **state)
{
    (void)state;
    struct squidrec *rec = malloc(sizeof *rec);
    assert_non_null(rec);
    char l14[] = "1764000000.123 5 10.0.0.1 TCP_MISS/401 300 GET http://h/a - HIER_DIRECT/10.0.0.2 "
                 "text/html credentials-rejected rejected - foreign-domain";
    assert_int_equal(squidlog_detect(l14, strlen(l14)), SQUIDLOG_XPROMPT);
    assert_int_equal(squidlog_parse(SQUIDLOG_XPROMPT, l14, strlen(l14), rec), 0);
    assert_string_equal(rec->reason, "foreign-domain");
    assert_string_equal(rec->cause, "credentials-rejected");
    char l13[] = "1764000000.123 5 10.0.0.1 TCP_MISS/401 300 GET http://h/a - HIER_DIRECT/10.0.0.2 "
                 "text/html credentials-rejected rejected -";
    assert_int_equal(squidlog_parse(SQUIDLOG_XPROMPT, l13, strlen(l13), rec), 0);
    assert_string_equal(rec->reason, "");
    char l14dash[] = "1764000000.123 5 10.0.0.1 TCP_MISS/401 300 GET http://h/a - HIER_DIRECT/10.0.0.2 "
                     "text/html credentials-rejected rejected - -";
    assert_int_equal(squidlog_parse(SQUIDLOG_XPROMPT, l14dash, strlen(l14dash), rec), 0);
    assert_string_equal(rec->reason, "");
    char l15[] = "1764000000.123 5 10.0.0.1 TCP_MISS/401 300 GET http://h/a - HIER_DIRECT/10.0.0.2 "
                 "text/html credentials-rejected rejected - foreign-domain extra";
    assert_int_equal(squidlog_parse(SQUIDLOG_XPROMPT, l15, strlen(l15), rec), -1);
    char ev[] = "{\"v\":1,\"ts\":\"2026-11-25T12:00:00.123Z\",\"url\":\"http://h/a\",\"status\":401,"
                "\"cause\":\"credentials-rejected\",\"prompt\":\"rejected\",\"reason\":\"ntlmv1\"}";
    assert_int_equal(squidlog_parse(SQUIDLOG_EVENTS, ev, strlen(ev), rec), 0);
    assert_string_equal(rec->reason, "ntlmv1");
    free(rec);
}

static void test_client_storm_found_and_open_at_end(void **state)
{
    (void)state;
    struct report *r = new_report(0);
    char url[64];
    for (int i = 0; i < 5; i++) {
        snprintf(url, sizeof url, "http://h/p%d.html", i);
        add(r, 600.0 + i, "10.9.9.9", url, "page-denied", "basic");
    }
    /* silent ones never count */
    for (int i = 0; i < 20; i++)
        add(r, 700.0 + i, "10.8.8.8", "http://h/s.html", "page-denied", "silent");
    report_finish(r);
    const struct report_storm *st;
    size_t n = report_storms(r, &st);
    assert_int_equal(n, 1);
    assert_string_equal(st[0].kind, "client");
    assert_string_equal(st[0].key, "10.9.9.9");
    assert_int_equal(st[0].count, 5);
    /* timeline: minute 10 has 5 events, minutes 11 and 12 the silent ones */
    const struct report_minute *m;
    size_t nm = report_timeline(r, &m);
    assert_int_equal(nm, 2);
    assert_int_equal(m[0].minute, 10);
    assert_int_equal(m[0].count, 5);
    assert_int_equal(m[1].minute, 11);
    assert_int_equal(m[1].count, 20);
    report_free(r);
}

static void test_tables_bounded_heavy_hitter_kept_evictions_counted(void **state)
{
    (void)state;
    struct report *r = new_report(64);
    char url[64], client[32];
    for (int i = 0; i < 100; i++)
        add(r, 1.0, "10.0.0.1", "http://h/heavy.gif", "page-denied", "basic");
    for (int i = 0; i < 5000; i++) {
        snprintf(url, sizeof url, "http://h/u%d.gif", i);
        snprintf(client, sizeof client, "10.1.%d.%d", i / 256, i % 256);
        add(r, 2.0 + i, client, url, "page-denied", "none");
        if (i % 10 == 0)
            add(r, 2.0 + i, client, "http://h/heavy.gif", "page-denied", "basic");
    }
    report_finish(r);
    const struct report_resource *rows;
    size_t n = report_resources(r, &rows);
    assert_true(n <= 64);
    assert_string_equal(rows[0].url, "http://h/heavy.gif");
    assert_int_equal(rows[0].count, 600);
    assert_int_equal(rows[0].clients, 256); /* 501 distinct, counted exactly up to the limit */
    assert_true(rows[0].clients_saturated);
    assert_true(report_get_totals(r)->evicted_resources >= 5000 - 64);
    report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fast_401_401_200_is_handshake_slow_200_is_prompt),
        cmocka_unit_test(test_parent_by_referer_and_by_time_same_client_only),
        cmocka_unit_test(test_client_storm_found_and_open_at_end),
        cmocka_unit_test(test_by_reason_counts_and_names),
        cmocka_unit_test(test_squid_log_reason_field),
        cmocka_unit_test(test_tables_bounded_heavy_hitter_kept_evictions_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
