/* test_storm.c -- the storm detector with a fake clock: each rule fires at
 * its threshold and not below it, only prompting events count, windows
 * slide, storms resolve after the quiet period, memory stays fixed when keys
 * outnumber the table, and the rules file parser names bad lines. Also the
 * event-line parser that feeds it (garbage is rejected, not guessed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evparse.h"
#include "storm.h"

struct log {
    int fired[STORM_KINDS];
    int resolved[STORM_KINDS];
    char last_key[256];
    size_t last_clients;
    unsigned long last_count;
    double last_start;
    char last_host[64], last_cause[64], last_prompt[64], last_parent[256];
    char last_reason[64];
};

static void record(void *arg, const struct storm_active *a, enum storm_transition t)
{
    struct log *l = arg;
    if (t == STORM_FIRING)
        l->fired[a->kind]++;
    else
        l->resolved[a->kind]++;
    snprintf(l->last_key, sizeof l->last_key, "%s", a->key);
    snprintf(l->last_host, sizeof l->last_host, "%s", a->host);
    snprintf(l->last_cause, sizeof l->last_cause, "%s", a->cause);
    snprintf(l->last_prompt, sizeof l->last_prompt, "%s", a->prompt);
    snprintf(l->last_parent, sizeof l->last_parent, "%s", a->parent);
    snprintf(l->last_reason, sizeof l->last_reason, "%s", a->reason ? a->reason : "(null)");
    l->last_clients = a->clients;
    l->last_count = a->count;
    l->last_start = a->start;
}

static struct evrec ev_make(double ts, const char *client, const char *url, const char *prompt)
{
    struct evrec e;
    memset(&e, 0, sizeof e);
    e.ts = ts;
    snprintf(e.client, sizeof e.client, "%s", client);
    snprintf(e.url, sizeof e.url, "%s", url);
    snprintf(e.host, sizeof e.host, "intranet");
    snprintf(e.cause, sizeof e.cause, "embedded-denied");
    snprintf(e.prompt, sizeof e.prompt, "%s", prompt);
    snprintf(e.parent, sizeof e.parent, "http://intranet/index.html");
    return e;
}

/* Rules with only one kind enabled, so counts are not mixed. */
static struct storm *only(enum storm_kind kind, unsigned threshold, double window, double quiet)
{
    struct storm_rules r;
    storm_rules_default(&r);
    for (int k = 0; k < STORM_KINDS; k++)
        r.threshold[k] = k == (int)kind ? threshold : 0;
    r.window[kind] = window;
    r.quiet = quiet;
    r.capacity[STORM_RESOURCE] = 1024;
    r.capacity[STORM_CLIENT] = 1024;
    struct storm *s = storm_new(&r);
    assert_non_null(s);
    return s;
}

static void test_resource_fires_at_tenth_distinct_client_not_ninth(void **state)
{
    (void)state;
    struct storm *s = only(STORM_RESOURCE, 10, 60, 120);
    struct log l = {0};
    char c[32];
    for (int i = 0; i < 9; i++) {
        snprintf(c, sizeof c, "10.0.0.%d", i);
        struct evrec e = ev_make(1000 + i, c, "http://intranet/secure/logo.gif", "basic");
        assert_int_equal(storm_feed(s, &e, record, &l), 0);
    }
    assert_int_equal(l.fired[STORM_RESOURCE], 0);
    /* Repeats from the same nine clients are not new clients. */
    for (int i = 0; i < 9; i++) {
        snprintf(c, sizeof c, "10.0.0.%d", i);
        struct evrec e = ev_make(1010, c, "http://intranet/secure/logo.gif", "basic");
        storm_feed(s, &e, record, &l);
    }
    assert_int_equal(l.fired[STORM_RESOURCE], 0);
    struct evrec e = ev_make(1011, "10.0.0.99", "http://intranet/secure/logo.gif", "basic");
    storm_feed(s, &e, record, &l);
    assert_int_equal(l.fired[STORM_RESOURCE], 1);
    assert_string_equal(l.last_key, "http://intranet/secure/logo.gif");
    assert_string_equal(l.last_host, "intranet");
    assert_string_equal(l.last_cause, "embedded-denied");
    assert_string_equal(l.last_prompt, "basic");
    assert_string_equal(l.last_parent, "http://intranet/index.html");
    assert_int_equal(l.last_clients, 10);
    assert_true(l.last_start >= 1000 && l.last_start <= 1010);
    /* More events for the same URL do not fire a second alert. */
    e = ev_make(1012, "10.0.0.100", "http://intranet/secure/logo.gif", "basic");
    storm_feed(s, &e, record, &l);
    assert_int_equal(l.fired[STORM_RESOURCE], 1);
    assert_int_equal(storm_active_count(s), 1);
    storm_free(s);
}

static void test_resource_clients_outside_window_do_not_count(void **state)
{
    (void)state;
    struct storm *s = only(STORM_RESOURCE, 10, 60, 120);
    struct log l = {0};
    char c[32];
    /* One new client every 7 s: any 60 s window holds at most 9. */
    for (int i = 0; i < 50; i++) {
        snprintf(c, sizeof c, "10.0.1.%d", i);
        struct evrec e = ev_make(1000 + 7.0 * i, c, "http://intranet/a.png", "basic");
        storm_feed(s, &e, record, &l);
    }
    assert_int_equal(l.fired[STORM_RESOURCE], 0);
    /* Every 6 s: the 11th event sees 10 clients within exactly 60 s. */
    struct storm *s2 = only(STORM_RESOURCE, 10, 60, 120);
    for (int i = 0; i < 11; i++) {
        snprintf(c, sizeof c, "10.0.2.%d", i);
        struct evrec e = ev_make(5000 + 6.0 * i, c, "http://intranet/a.png", "basic");
        storm_feed(s2, &e, record, &l);
        assert_int_equal(l.fired[STORM_RESOURCE], i >= 9 ? 1 : 0);
    }
    storm_free(s);
    storm_free(s2);
}

static void test_only_prompting_events_count(void **state)
{
    (void)state;
    static const char *const quiet[] = {"none", "silent", "suppressed", ""};
    for (size_t q = 0; q < sizeof quiet / sizeof quiet[0]; q++) {
        struct storm *s = only(STORM_CLIENT, 5, 60, 120);
        struct log l = {0};
        for (int i = 0; i < 50; i++) {
            struct evrec e = ev_make(1000 + i, "10.9.9.9", "http://x/y", quiet[q]);
            storm_feed(s, &e, record, &l);
        }
        assert_int_equal(l.fired[STORM_CLIENT], 0);
        assert_int_equal(storm_get_stats(s)->prompting, 0);
        storm_free(s);
    }
    static const char *const loud[] = {"basic", "digest", "not-intranet", "rejected"};
    for (size_t q = 0; q < sizeof loud / sizeof loud[0]; q++) {
        struct storm *s = only(STORM_CLIENT, 5, 60, 120);
        struct log l = {0};
        for (int i = 0; i < 5; i++) {
            struct evrec e = ev_make(1000 + i, "10.9.9.9", "http://x/y", loud[q]);
            storm_feed(s, &e, record, &l);
        }
        assert_int_equal(l.fired[STORM_CLIENT], 1);
        storm_free(s);
    }
}

static void test_client_storm_fifth_prompt_within_window(void **state)
{
    (void)state;
    struct storm *s = only(STORM_CLIENT, 5, 60, 120);
    struct log l = {0};
    /* 4 prompts, a pause longer than the window, 4 more: never 5 within 60 s. */
    for (int i = 0; i < 4; i++) {
        struct evrec e = ev_make(1000 + i, "10.1.1.1", "http://x/a", "rejected");
        storm_feed(s, &e, record, &l);
    }
    for (int i = 0; i < 4; i++) {
        struct evrec e = ev_make(1100 + i, "10.1.1.1", "http://x/a", "rejected");
        storm_feed(s, &e, record, &l);
    }
    assert_int_equal(l.fired[STORM_CLIENT], 0);
    struct evrec e = ev_make(1104, "10.1.1.1", "http://x/a", "rejected");
    storm_feed(s, &e, record, &l);
    assert_int_equal(l.fired[STORM_CLIENT], 1);
    assert_string_equal(l.last_key, "10.1.1.1");
    assert_true(l.last_start >= 1100);
    /* A different client is a different storm key. */
    for (int i = 0; i < 5; i++) {
        e = ev_make(1105 + i, "10.1.1.2", "http://x/a", "rejected");
        storm_feed(s, &e, record, &l);
    }
    assert_int_equal(l.fired[STORM_CLIENT], 2);
    storm_free(s);
}

/* SPEC §2a in alerts: a storm carries the most frequent reason of its
 * events since it fired; events without one do not outvote it. */
static void test_storm_reason_is_most_frequent(void **state)
{
    (void)state;
    struct storm *s = only(STORM_CLIENT, 3, 60, 120);
    struct log l = {0};
    const char *first[] = {"ntlmv1", "", "foreign-domain"};
    for (int i = 0; i < 3; i++) {
        struct evrec e = ev_make(1000 + i, "10.1.1.1", "http://x/a", "rejected");
        snprintf(e.reason, sizeof e.reason, "%s", first[i]);
        storm_feed(s, &e, record, &l);
    }
    assert_int_equal(l.fired[STORM_CLIENT], 1);
    assert_string_equal(l.last_reason, "foreign-domain"); /* the firing event's */
    const char *later[] = {"ntlmv1", "ntlmv1", "", "", "", "bogus"};
    for (int i = 0; i < 6; i++) {
        struct evrec e = ev_make(1003 + i, "10.1.1.1", "http://x/a", "rejected");
        snprintf(e.reason, sizeof e.reason, "%s", later[i]);
        storm_feed(s, &e, record, &l);
    }
    storm_tick(s, 2000, record, &l);
    assert_int_equal(l.resolved[STORM_CLIENT], 1);
    assert_string_equal(l.last_reason, "ntlmv1");
    storm_free(s);
    /* no reason at all: "" */
    s = only(STORM_CLIENT, 3, 60, 120);
    memset(&l, 0, sizeof l);
    for (int i = 0; i < 3; i++) {
        struct evrec e = ev_make(1000 + i, "10.1.1.1", "http://x/a", "basic");
        storm_feed(s, &e, record, &l);
    }
    assert_string_equal(l.last_reason, "");
    storm_free(s);
}

static void test_overall_storm_counts_all_prompts(void **state)
{
    (void)state;
    struct storm *s = only(STORM_OVERALL, 100, 60, 120);
    struct log l = {0};
    char c[32];
    for (int i = 0; i < 100; i++) {
        snprintf(c, sizeof c, "10.2.%d.%d", i / 250, i % 250);
        struct evrec e = ev_make(1000 + i * 0.5, c, "http://x/a", "basic");
        storm_feed(s, &e, record, &l);
        assert_int_equal(l.fired[STORM_OVERALL], i == 99 ? 1 : 0);
    }
    assert_string_equal(l.last_key, "overall");
    assert_int_equal(l.last_count, 100);
    storm_free(s);
}

static void test_storm_resolves_after_quiet_period_not_before(void **state)
{
    (void)state;
    struct storm *s = only(STORM_CLIENT, 5, 60, 120);
    struct log l = {0};
    for (int i = 0; i < 5; i++) {
        struct evrec e = ev_make(1000 + i, "10.1.1.1", "http://x/a", "basic");
        storm_feed(s, &e, record, &l);
    }
    assert_int_equal(l.fired[STORM_CLIENT], 1);
    /* One more matching event at 1050 keeps it alive until 1170. */
    struct evrec e = ev_make(1050, "10.1.1.1", "http://x/a", "basic");
    storm_feed(s, &e, record, &l);
    storm_tick(s, 1169.9, record, &l);
    assert_int_equal(l.resolved[STORM_CLIENT], 0);
    assert_int_equal(storm_active_count(s), 1);
    storm_tick(s, 1170, record, &l);
    assert_int_equal(l.resolved[STORM_CLIENT], 1);
    assert_int_equal(l.last_count, 6);
    assert_int_equal(storm_active_count(s), 0);
    /* A new burst after resolution is a new storm. */
    for (int i = 0; i < 5; i++) {
        e = ev_make(2000 + i, "10.1.1.1", "http://x/a", "basic");
        storm_feed(s, &e, record, &l);
    }
    assert_int_equal(l.fired[STORM_CLIENT], 2);
    storm_free(s);
}

static void test_clock_never_runs_backwards(void **state)
{
    (void)state;
    struct storm *s = only(STORM_CLIENT, 5, 60, 120);
    struct log l = {0};
    /* Four recent prompts, then one stamped an hour earlier: it counts at
     * the newest time, so the rule holds. */
    for (int i = 0; i < 4; i++) {
        struct evrec e = ev_make(5000 + i, "10.1.1.1", "http://x/a", "basic");
        storm_feed(s, &e, record, &l);
    }
    struct evrec e = ev_make(1400, "10.1.1.1", "http://x/a", "basic");
    storm_feed(s, &e, record, &l);
    assert_int_equal(l.fired[STORM_CLIENT], 1);
    assert_true(storm_now(s) >= 5003);
    storm_free(s);
}

static void test_memory_fixed_under_many_distinct_clients(void **state)
{
    (void)state;
    struct storm_rules r;
    storm_rules_default(&r);
    r.capacity[STORM_CLIENT] = 4096;
    r.capacity[STORM_RESOURCE] = 4096;
    struct storm *s = storm_new(&r);
    assert_non_null(s);
    size_t before = storm_memory(s);
    char c[32], u[64];
    for (int i = 0; i < 200000; i++) {
        snprintf(c, sizeof c, "c%d", i);
        snprintf(u, sizeof u, "http://h/%d", i);
        /* one event each, a second apart: never a client or resource storm */
        struct evrec e = ev_make(1000 + i, c, u, "basic");
        assert_int_equal(storm_feed(s, &e, NULL, NULL), 0);
    }
    assert_int_equal(storm_memory(s), before);
    /* Spread over 200000 s, no key was live when pushed out. */
    assert_int_equal(storm_get_stats(s)->evicted_live, 0);
    storm_free(s);
}

static void test_eviction_of_live_keys_is_counted_and_storms_survive(void **state)
{
    (void)state;
    struct storm_rules r;
    storm_rules_default(&r);
    r.threshold[STORM_OVERALL] = 0;
    r.threshold[STORM_RESOURCE] = 0;
    r.capacity[STORM_CLIENT] = 64;
    struct storm *s = storm_new(&r);
    assert_non_null(s);
    struct log l = {0};
    for (int i = 0; i < 5; i++) {
        struct evrec e = ev_make(1000, "victim", "http://x/a", "basic");
        storm_feed(s, &e, record, &l);
    }
    assert_int_equal(l.fired[STORM_CLIENT], 1);
    char c[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(c, sizeof c, "n%d", i);
        struct evrec e = ev_make(1001, c, "http://x/a", "basic");
        storm_feed(s, &e, record, &l);
    }
    assert_true(storm_get_stats(s)->evicted_live > 0);
    /* The active storm kept its slot: a further prompt still belongs to it. */
    struct evrec e = ev_make(1002, "victim", "http://x/a", "basic");
    storm_feed(s, &e, record, &l);
    assert_int_equal(l.fired[STORM_CLIENT], 1);
    storm_tick(s, 1002 + 119, record, &l);
    assert_int_equal(l.resolved[STORM_CLIENT], 0);
    storm_tick(s, 1002 + 120, record, &l);
    assert_int_equal(l.resolved[STORM_CLIENT], 1);
    storm_free(s);
}

static void collect(void *arg, const struct storm_active *a)
{
    struct storm_active *out = arg;
    *out = *a;
}

static void test_restored_storm_resolves_and_does_not_refire(void **state)
{
    (void)state;
    struct storm *s = only(STORM_RESOURCE, 3, 60, 120);
    struct log l = {0};
    struct storm_active a = {
        .kind = STORM_RESOURCE, .key = "http://x/p.gif", .host = "x", .cause = "embedded-denied",
        .prompt = "basic", .parent = "http://x/", .hint = "h", .user = "",
        .start = 900, .fired = 910, .last = 950, .count = 40, .clients = 12,
    };
    assert_int_equal(storm_restore(s, &a), 0);
    assert_int_equal(storm_restore(s, &a), -1); /* already active */
    for (int i = 0; i < 5; i++) {
        char c[8];
        snprintf(c, sizeof c, "c%d", i);
        struct evrec e = ev_make(960 + i, c, "http://x/p.gif", "basic");
        storm_feed(s, &e, record, &l);
    }
    assert_int_equal(l.fired[STORM_RESOURCE], 0);
    struct storm_active got;
    storm_foreach_active(s, collect, &got);
    assert_int_equal(got.count, 45);
    assert_true(got.last >= 964);
    storm_tick(s, 964 + 120, record, &l);
    assert_int_equal(l.resolved[STORM_RESOURCE], 1);
    storm_free(s);
}

static void test_invalid_rules_refused(void **state)
{
    (void)state;
    struct storm_rules r;
    storm_rules_default(&r);
    r.window[STORM_CLIENT] = 0;
    assert_null(storm_new(&r));
    storm_rules_default(&r);
    r.threshold[STORM_RESOURCE] = STORM_THRESHOLD_MAX + 1;
    assert_null(storm_new(&r));
    storm_rules_default(&r);
    r.quiet = 0;
    assert_null(storm_new(&r));
}

/* The reservation is known before anything is allocated, matches what
 * storm_new then allocates, and a rule that would reserve gigabytes is
 * refused by the parser with a message naming the table and the knobs. */
static void test_rules_memory_bounded(void **state)
{
    (void)state;
    struct storm_rules r;
    char err[300];
    storm_rules_default(&r);
    uint64_t need = storm_rules_memory(&r);
    assert_true(need > 20u * 1024 * 1024 && need < 40u * 1024 * 1024); /* "about 32 MB" */
    struct storm *s = storm_new(&r);
    assert_non_null(s);
    assert_int_equal(storm_memory(s), need);
    storm_free(s);
    r.max_memory = need;
    s = storm_new(&r);
    assert_non_null(s);
    storm_free(s);
    r.max_memory = need - 1;
    assert_null(storm_new(&r));

    const char *big = "client_prompts 1000\n";
    storm_rules_default(&r);
    assert_int_equal(storm_rules_parse(big, strlen(big), &r, NULL, NULL, err, sizeof err), -1);
    assert_string_equal(err, "these rules reserve 2.0 GiB, above max_memory 1.0 GiB: the client table "
                             "alone is 2.0 GiB (max_clients 262144 x client_prompts 1000); lower "
                             "max_clients or client_prompts, or raise max_memory");
    /* Order of the lines does not matter: the check runs on the whole file. */
    const char *raised = "max_memory 3G\nclient_prompts 1000\n";
    storm_rules_default(&r);
    assert_int_equal(storm_rules_parse(raised, strlen(raised), &r, NULL, NULL, err, sizeof err), 0);
    assert_true(r.max_memory == 3ULL * 1024 * 1024 * 1024);
    const char *smaller = "client_prompts 1000\nmax_clients 4096\n";
    storm_rules_default(&r);
    assert_int_equal(storm_rules_parse(smaller, strlen(smaller), &r, NULL, NULL, err, sizeof err), 0);
    const char *res = "resource_clients 10000\nmax_memory 64MiB\n";
    storm_rules_default(&r);
    assert_int_equal(storm_rules_parse(res, strlen(res), &r, NULL, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "the resource table alone is"));
    assert_non_null(strstr(err, "(max_resources 65536 x resource_clients 10000)"));
    assert_non_null(strstr(err, "above max_memory 64.0 MiB"));

    static const char *const units[][2] = {
        {"max_memory 1048576\n", "1048576"}, {"max_memory 512M\n", "536870912"},
        {"max_memory 1.5g\n", "1610612736"}, {"max_memory 2048KiB\n", "2097152"},
        {"max_memory 1GB\n", "1073741824"},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        storm_rules_default(&r);
        r.capacity[STORM_CLIENT] = r.capacity[STORM_RESOURCE] = 1024; /* fits in 1 MiB */
        assert_int_equal(storm_rules_parse(units[i][0], strlen(units[i][0]), &r, NULL, NULL, err, sizeof err),
                         0);
        char got[32];
        snprintf(got, sizeof got, "%llu", (unsigned long long)r.max_memory);
        assert_string_equal(got, units[i][1]);
    }
    static const char *const bad[] = {"max_memory 512k\n", "max_memory 2X\n", "max_memory -1G\n",
                                      "max_memory 2T\n", "max_memory 2048G\n", "max_memory M\n",
                                      "max_memory 1Gx\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        storm_rules_default(&r);
        assert_int_equal(storm_rules_parse(bad[i], strlen(bad[i]), &r, NULL, NULL, err, sizeof err), -1);
        assert_non_null(strstr(err, "line 1: bad value"));
    }
}

static int extra_syslog(void *arg, const char *key, const char *value, char *err, size_t errlen)
{
    if (strcmp(key, "syslog") != 0) {
        snprintf(err, errlen, "unknown rule '%s'", key);
        return -1;
    }
    snprintf(arg, 32, "%s", value);
    return 0;
}

static void test_rules_file_parsed_and_errors_name_the_line(void **state)
{
    (void)state;
    struct storm_rules r;
    char err[256], sys[32] = "";
    const char *ok = "# comment\n\nresource_clients 3   # inline\nclient_window 2.5\n"
                     "quiet 4\r\nsyslog daemon\nmax_clients 1000000\noverall_prompts 0\n";
    storm_rules_default(&r);
    assert_int_equal(storm_rules_parse(ok, strlen(ok), &r, extra_syslog, sys, err, sizeof err), 0);
    assert_int_equal(r.threshold[STORM_RESOURCE], 3);
    assert_true(r.window[STORM_CLIENT] == 2.5);
    assert_true(r.quiet == 4);
    assert_int_equal(r.capacity[STORM_CLIENT], 1000000);
    assert_int_equal(r.threshold[STORM_OVERALL], 0);
    assert_string_equal(sys, "daemon");

    static const struct {
        const char *text;
        const char *msg;
    } bad[] = {
        {"quiet 1\nbogus 3\n", "line 2: unknown rule 'bogus'"},
        {"quiet\n", "line 1: 'quiet' needs a value"},
        {"quiet 1 2\n", "line 1: 'quiet' takes one value"},
        {"\n\nresource_clients 2.5\n", "line 3: bad value '2.5' for 'resource_clients'"},
        {"client_window -1\n", "line 1: bad value '-1' for 'client_window'"},
        {"quiet 10s\n", "line 1: bad value '10s' for 'quiet'"},
        {"overall_prompts 99999999\n", "line 1: bad value '99999999' for 'overall_prompts'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        storm_rules_default(&r);
        assert_int_equal(storm_rules_parse(bad[i].text, strlen(bad[i].text), &r, NULL, NULL, err,
                                           sizeof err),
                         -1);
        assert_string_equal(err, bad[i].msg);
    }
}

static void test_event_line_parsed(void **state)
{
    (void)state;
    const char *line =
        "{\"v\":1,\"ts\":\"2026-11-25T12:00:00.123Z\",\"client\":\"10.1.2.3\",\"user\":\"CORP\\\\alice\","
        "\"method\":\"GET\",\"url\":\"http://intranet/secure/logo.gif\",\"host\":\"intranet\",\"status\":401,"
        "\"cause\":\"embedded-denied\",\"prompt\":\"basic\",\"schemes\":[\"Basic\"],\"realm\":\"secure\","
        "\"auth_sent\":\"none\",\"parent\":\"http://intranet/index.html\",\"evidence\":\"html\","
        "\"object\":\"image\",\"zone\":\"intranet\",\"handler\":null,\"substatus\":\"401.3\",\"hint\":\"grant\"}";
    struct evrec e;
    assert_int_equal(evparse_line(line, strlen(line), &e), EVPARSE_OK);
    assert_true(e.ts > 1795608000.12 && e.ts < 1795608000.13);
    assert_string_equal(e.client, "10.1.2.3");
    assert_string_equal(e.user, "CORP\\alice");
    assert_string_equal(e.url, "http://intranet/secure/logo.gif");
    assert_string_equal(e.cause, "embedded-denied");
    assert_string_equal(e.prompt, "basic");
    assert_string_equal(e.parent, "http://intranet/index.html");
    assert_string_equal(e.hint, "grant");
}

static void test_garbage_lines_rejected_with_reason(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        enum evparse_result want;
    } cases[] = {
        {"", EVPARSE_NOT_JSON},
        {"not json at all", EVPARSE_NOT_JSON},
        {"[1,2,3]", EVPARSE_NOT_JSON},
        {"{\"v\":1,\"ts\":\"2026-11-25T12:00:00Z\"", EVPARSE_NOT_JSON}, /* partial line */
        {"{\"v\":2,\"ts\":\"2026-11-25T12:00:00Z\"}", EVPARSE_BAD_VERSION},
        {"{\"ts\":\"2026-11-25T12:00:00Z\"}", EVPARSE_BAD_VERSION},
        {"{\"v\":1,\"ts\":null}", EVPARSE_BAD_TIME},
        {"{\"v\":1,\"ts\":\"yesterday\"}", EVPARSE_BAD_TIME},
        {"{\"v\":1,\"ts\":\"2026-13-25T12:00:00Z\"}", EVPARSE_BAD_TIME},
        {"{\"v\":1,\"ts\":\"2026-11-25T12:00:00+02:00\"}", EVPARSE_BAD_TIME},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct evrec e;
        assert_int_equal(evparse_line(cases[i].line, strlen(cases[i].line), &e), cases[i].want);
    }
    /* Not NUL-terminated: the parser reads only n bytes. */
    const char buf[] = "{\"v\":1,\"ts\":\"2026-11-25T12:00:00Z\"}GARBAGE";
    struct evrec e;
    assert_int_equal(evparse_line(buf, sizeof buf - 1 - 7, &e), EVPARSE_OK);
    /* Wrong types become empty strings, not crashes. */
    const char *odd = "{\"v\":1,\"ts\":\"2026-11-25T12:00:00Z\",\"client\":42,\"url\":[\"x\"],\"prompt\":{}}";
    assert_int_equal(evparse_line(odd, strlen(odd), &e), EVPARSE_OK);
    assert_string_equal(e.client, "");
    assert_string_equal(e.url, "");
    assert_false(evparse_prompts(e.prompt));
}

static void test_time_parse_matches_known_epochs(void **state)
{
    (void)state;
    double t;
    assert_int_equal(evparse_time("1970-01-01T00:00:00Z", &t), 0);
    assert_true(t == 0);
    assert_int_equal(evparse_time("2000-03-01T00:00:00Z", &t), 0);
    assert_true(t == 951868800);
    assert_int_equal(evparse_time("2026-11-25T12:00:00.5Z", &t), 0);
    assert_true(t == 1795608000.5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resource_fires_at_tenth_distinct_client_not_ninth),
        cmocka_unit_test(test_resource_clients_outside_window_do_not_count),
        cmocka_unit_test(test_only_prompting_events_count),
        cmocka_unit_test(test_client_storm_fifth_prompt_within_window),
        cmocka_unit_test(test_overall_storm_counts_all_prompts),
        cmocka_unit_test(test_storm_resolves_after_quiet_period_not_before),
        cmocka_unit_test(test_clock_never_runs_backwards),
        cmocka_unit_test(test_memory_fixed_under_many_distinct_clients),
        cmocka_unit_test(test_eviction_of_live_keys_is_counted_and_storms_survive),
        cmocka_unit_test(test_restored_storm_resolves_and_does_not_refire),
        cmocka_unit_test(test_invalid_rules_refused),
        cmocka_unit_test(test_rules_memory_bounded),
        cmocka_unit_test(test_rules_file_parsed_and_errors_name_the_line),
        cmocka_unit_test(test_storm_reason_is_most_frequent),
        cmocka_unit_test(test_event_line_parsed),
        cmocka_unit_test(test_garbage_lines_rejected_with_reason),
        cmocka_unit_test(test_time_parse_matches_known_epochs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
