/* test_event.c -- SPEC §3 event lines: every field present in order, unknowns
 * null, timestamps in UTC with milliseconds, hostile bytes still produce one
 * valid JSON line. Lines are parsed back with jansson and compared byte for
 * byte with the dump of a fresh jansson tree (the old, slow way). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "event.h"

static const char *const spec_fields[] = {
    "v", "ts", "client", "user", "method", "url", "host", "status", "cause", "prompt",
    "schemes", "realm", "auth_sent", "parent", "evidence", "object", "zone", "handler",
    "substatus", "hint", "reason", "browser", "server_domain", "spn", "krb_error",
    "connection",
};
#define FIELD_COUNT (sizeof spec_fields / sizeof spec_fields[0])

static void spec_example(struct event *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->ts = 1795608000.123; /* 2026-11-25T12:00:00.123Z */
    strcpy(ev->client, "10.1.2.3");
    strcpy(ev->user, "CORP\\alice");
    strcpy(ev->method, "GET");
    strcpy(ev->url, "http://intranet/secure/logo.gif");
    strcpy(ev->host, "intranet");
    ev->status = 401;
    ev->cause = CAUSE_EMBEDDED_DENIED;
    ev->prompt = PROMPT_BASIC;
    ev->schemes[0] = "Basic";
    ev->scheme_count = 1;
    strcpy(ev->realm, "secure");
    ev->auth_sent = "none";
    strcpy(ev->parent, "http://intranet/index.html");
    ev->evidence = EVIDENCE_HTML;
    ev->object = OBJECT_IMAGE;
    ev->zone = "intranet";
    strcpy(ev->substatus, "401.3");
    strcpy(ev->hint, "grant the anonymous account read access to /secure/logo.gif");
}

/* Format ev, check it is exactly one line, and parse it back. */
static json_t *format_and_parse(const struct event *ev)
{
    char *line = event_format(ev);
    assert_non_null(line);
    size_t len = strlen(line);
    assert_true(len > 2);
    assert_int_equal(line[len - 1], '\n');
    assert_null(memchr(line, '\n', len - 1)); /* one line, no embedded newline */
    json_error_t jerr;
    json_t *obj = json_loads(line, 0, &jerr);
    if (obj == NULL)
        fail_msg("not JSON (%s): %s", jerr.text, line);
    free(line);
    assert_true(json_is_object(obj));
    return obj;
}

static void test_spec_example_round_trips(void **state)
{
    (void)state;
    struct event ev;
    spec_example(&ev);
    json_t *o = format_and_parse(&ev);
    assert_int_equal(json_integer_value(json_object_get(o, "v")), 1);
    assert_string_equal(json_string_value(json_object_get(o, "ts")), "2026-11-25T12:00:00.123Z");
    assert_string_equal(json_string_value(json_object_get(o, "user")), "CORP\\alice");
    assert_string_equal(json_string_value(json_object_get(o, "url")), ev.url);
    assert_int_equal(json_integer_value(json_object_get(o, "status")), 401);
    assert_string_equal(json_string_value(json_object_get(o, "cause")), "embedded-denied");
    assert_string_equal(json_string_value(json_object_get(o, "prompt")), "basic");
    json_t *schemes = json_object_get(o, "schemes");
    assert_true(json_is_array(schemes));
    assert_int_equal(json_array_size(schemes), 1);
    assert_string_equal(json_string_value(json_array_get(schemes, 0)), "Basic");
    assert_string_equal(json_string_value(json_object_get(o, "evidence")), "html");
    assert_string_equal(json_string_value(json_object_get(o, "object")), "image");
    assert_string_equal(json_string_value(json_object_get(o, "zone")), "intranet");
    assert_true(json_is_null(json_object_get(o, "handler")));
    assert_string_equal(json_string_value(json_object_get(o, "substatus")), "401.3");
    json_decref(o);
}

static void test_all_fields_present_in_spec_order(void **state)
{
    (void)state;
    struct event ev;
    spec_example(&ev);
    char *line = event_format(&ev);
    assert_non_null(line);
    const char *prev = line;
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        char key[40];
        snprintf(key, sizeof key, "\"%s\":", spec_fields[i]);
        const char *at = strstr(line, key);
        if (at == NULL || at < prev)
            fail_msg("field %s missing or out of order in %s", spec_fields[i], line);
        prev = at;
    }
    free(line);
}

static void test_unknown_values_are_null_never_omitted(void **state)
{
    (void)state;
    struct event ev;
    memset(&ev, 0, sizeof ev);
    ev.ts = 0;
    ev.status = 407;
    ev.cause = CAUSE_PROXY_AUTH;
    ev.prompt = PROMPT_NONE;
    json_t *o = format_and_parse(&ev);
    assert_int_equal(json_object_size(o), FIELD_COUNT);
    const char *nulls[] = {"client", "user", "method", "url", "host", "realm", "auth_sent",
                           "parent", "evidence", "object", "zone", "handler", "substatus", "hint",
                           "reason", "browser", "server_domain", "spn", "krb_error",
                           "connection"};
    for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
        if (!json_is_null(json_object_get(o, nulls[i])))
            fail_msg("%s should be null", nulls[i]);
    assert_string_equal(json_string_value(json_object_get(o, "prompt")), "none");
    assert_string_equal(json_string_value(json_object_get(o, "ts")), "1970-01-01T00:00:00.000Z");
    assert_int_equal(json_array_size(json_object_get(o, "schemes")), 0);
    json_decref(o);
}

static void test_invalid_utf8_in_url_still_produces_event(void **state)
{
    (void)state;
    struct event ev;
    spec_example(&ev);
    strcpy(ev.url, "http://intranet/caf\xe9/\xff\xfe\"quote\\back\x01/\xed\xa0\x80x.gif");
    strcpy(ev.user, "CORP\\\xc3"); /* truncated two-byte sequence */
    json_t *o = format_and_parse(&ev);
    assert_string_equal(json_string_value(json_object_get(o, "url")),
                        "http://intranet/caf\xef\xbf\xbd/\xef\xbf\xbd\xef\xbf\xbd\"quote\\back\x01/"
                        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx.gif");
    assert_string_equal(json_string_value(json_object_get(o, "user")), "CORP\\\xef\xbf\xbd");
    json_decref(o);
}

static void test_valid_utf8_passes_unchanged(void **state)
{
    (void)state;
    struct event ev;
    spec_example(&ev);
    strcpy(ev.user, "CORP\\j\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x94\x92");
    json_t *o = format_and_parse(&ev);
    assert_string_equal(json_string_value(json_object_get(o, "user")), ev.user);
    json_decref(o);
}

static void test_timestamp_rounds_milliseconds_and_carries(void **state)
{
    (void)state;
    struct event ev;
    spec_example(&ev);
    ev.ts = 1795607999.9996; /* rounds up into the next second */
    json_t *o = format_and_parse(&ev);
    assert_string_equal(json_string_value(json_object_get(o, "ts")), "2026-11-25T12:00:00.000Z");
    json_decref(o);
    ev.ts = 1795608000.0504;
    o = format_and_parse(&ev);
    assert_string_equal(json_string_value(json_object_get(o, "ts")), "2026-11-25T12:00:00.050Z");
    json_decref(o);
}

static void test_several_schemes_keep_offered_order(void **state)
{
    (void)state;
    struct event ev;
    spec_example(&ev);
    ev.schemes[0] = "Negotiate";
    ev.schemes[1] = "NTLM";
    ev.schemes[2] = "X-Custom";
    ev.scheme_count = 3;
    json_t *o = format_and_parse(&ev);
    json_t *s = json_object_get(o, "schemes");
    assert_int_equal(json_array_size(s), 3);
    assert_string_equal(json_string_value(json_array_get(s, 0)), "Negotiate");
    assert_string_equal(json_string_value(json_array_get(s, 1)), "NTLM");
    assert_string_equal(json_string_value(json_array_get(s, 2)), "X-Custom");
    json_decref(o);
}

static void test_enum_spellings_match_spec(void **state)
{
    (void)state;
    assert_string_equal(event_cause_name(CAUSE_PAGE_DENIED), "page-denied");
    assert_string_equal(event_cause_name(CAUSE_HANDLER_DENIED), "handler-denied");
    assert_string_equal(event_cause_name(CAUSE_CREDENTIALS_REJECTED), "credentials-rejected");
    assert_string_equal(event_cause_name(CAUSE_HANDSHAKE), "handshake");
    assert_string_equal(event_cause_name(CAUSE_PROXY_AUTH), "proxy-auth");
    assert_null(event_cause_name(CAUSE_NONE));
    assert_string_equal(event_prompt_name(PROMPT_NOT_INTRANET), "not-intranet");
    assert_string_equal(event_prompt_name(PROMPT_SUPPRESSED), "suppressed");
    assert_string_equal(event_prompt_name(PROMPT_REJECTED), "rejected");
    assert_string_equal(event_prompt_name(PROMPT_SILENT), "silent");
    assert_string_equal(event_prompt_name(PROMPT_DIGEST), "digest");
    assert_string_equal(event_object_name(OBJECT_FRAME), "frame");
    assert_string_equal(event_object_name(OBJECT_MEDIA), "media");
    assert_string_equal(event_object_name(OBJECT_FONT), "font");
    assert_null(event_object_name(OBJECT_UNKNOWN));
    assert_string_equal(event_evidence_name(EVIDENCE_FETCH_METADATA), "fetch-metadata");
    assert_string_equal(event_evidence_name(EVIDENCE_REFERER), "referer");
    assert_null(event_evidence_name(EVIDENCE_NONE));
}

/* Fill dst (cap bytes) with a random NUL-terminated string: mostly ASCII, with
 * quotes, backslashes, controls, DEL, valid multi-byte UTF-8 and stray bytes. */
static void random_text(char *dst, size_t cap, unsigned *seed)
{
    static const char *const pieces[] = {"\"", "\\", "/", "\x01", "\x1f", "\b", "\f", "\n", "\r", "\t",
                                         "\x7f", "\xc3\xbc", "\xe2\x82\xac", "\xf0\x9f\x94\x92", "\xff",
                                         "\xc3", "\xed\xa0\x80", "\xe2\x82", "\xc0\xaf", "\xf4\x90\x80\x80"};
    size_t n = (size_t)(rand_r(seed) % 40), o = 0;
    for (size_t i = 0; i < n; i++) {
        int r = rand_r(seed) % 4;
        const char *piece;
        char one[2] = {0, 0};
        if (r == 0) {
            piece = pieces[rand_r(seed) % (sizeof pieces / sizeof pieces[0])];
        } else if (r == 1) {
            one[0] = (char)(1 + rand_r(seed) % 255);
            piece = one;
        } else {
            one[0] = (char)(' ' + rand_r(seed) % 95);
            piece = one;
        }
        size_t l = strlen(piece);
        if (o + l + 1 > cap)
            break;
        memcpy(dst + o, piece, l);
        o += l;
    }
    dst[o] = '\0';
}

/* The old way, kept as the oracle: a fresh jansson tree per event, dumped
 * with json_dumps. event.c's cached template must write the same bytes. */
static json_t *ref_text(const char *s)
{
    if (s == NULL || s[0] == '\0')
        return json_null();
    json_t *j = json_string(s);
    if (j != NULL)
        return j;
    /* Invalid UTF-8: repair byte by byte, letting jansson judge each sequence. */
    size_t n = strlen(s), o = 0;
    char *buf = malloc(3 * n + 1);
    assert_non_null(buf);
    for (size_t i = 0; i < n;) {
        size_t l = 1;
        for (size_t k = 4; k >= 1; k--) {
            if (i + k <= n && (j = json_stringn(s + i, k)) != NULL) {
                json_decref(j);
                l = k;
                break;
            }
            l = 0;
        }
        if (l == 0) {
            memcpy(buf + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(buf + o, s + i, l);
            o += l;
            i += l;
        }
    }
    j = json_stringn(buf, o);
    free(buf);
    return j;
}

static json_t *ref_name(const char *name)
{
    return name ? json_string(name) : json_null();
}

static char *ref_format(const struct event *ev)
{
    json_t *o = json_object(), *schemes = json_array();
    for (size_t i = 0; i < ev->scheme_count && i < CHALLENGE_MAX; i++)
        json_array_append_new(schemes, ref_text(ev->schemes[i]));
    char ts[40] = "";
    json_t *jts = json_null();
    if (ev->ts >= 0 && ev->ts <= 1e12) {
        time_t t = (time_t)ev->ts;
        long ms = (long)((ev->ts - (double)t) * 1000.0 + 0.5);
        if (ms >= 1000) {
            t++;
            ms -= 1000;
        }
        struct tm tm;
        gmtime_r(&t, &tm);
        size_t len = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(ts + len, sizeof ts - len, ".%03ldZ", ms);
        jts = json_string(ts);
    }
    json_object_set_new(o, "v", json_integer(1));
    json_object_set_new(o, "ts", jts);
    json_object_set_new(o, "client", ref_text(ev->client));
    json_object_set_new(o, "user", ref_text(ev->user));
    json_object_set_new(o, "method", ref_text(ev->method));
    json_object_set_new(o, "url", ref_text(ev->url));
    json_object_set_new(o, "host", ref_text(ev->host));
    json_object_set_new(o, "status", ev->status ? json_integer(ev->status) : json_null());
    json_object_set_new(o, "cause", ref_name(event_cause_name(ev->cause)));
    json_object_set_new(o, "prompt", ref_name(event_prompt_name(ev->prompt)));
    json_object_set_new(o, "schemes", schemes);
    json_object_set_new(o, "realm", ref_text(ev->realm));
    json_object_set_new(o, "auth_sent", ref_text(ev->auth_sent));
    json_object_set_new(o, "parent", ref_text(ev->parent));
    json_object_set_new(o, "evidence", ref_name(event_evidence_name(ev->evidence)));
    json_object_set_new(o, "object", ref_name(event_object_name(ev->object)));
    json_object_set_new(o, "zone", ref_text(ev->zone));
    json_object_set_new(o, "handler", ref_text(ev->handler));
    json_object_set_new(o, "substatus", ref_text(ev->substatus));
    json_object_set_new(o, "hint", ref_text(ev->hint));
    json_object_set_new(o, "reason", ref_name(event_reason_name(ev->reason)));
    json_object_set_new(o, "browser", ref_text(ev->browser));
    json_object_set_new(o, "server_domain", ref_text(ev->server_domain));
    json_object_set_new(o, "spn", ref_text(ev->spn));
    json_object_set_new(o, "krb_error", ref_text(ev->krb_error));
    json_object_set_new(o, "connection", ref_text(ev->connection));
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return text;
}

/* The line must be exactly what jansson's compact dump makes of it: parse it
 * back and dump it again, byte for byte, and compare it with the dump of a
 * fresh tree (ref_format). Random hostile text in every field; events follow
 * each other so the cached template goes through every value change, and
 * every third event goes through event_format_into, sometimes with a buffer
 * too small by one. */
static void test_line_is_byte_identical_to_jansson_dump(void **state)
{
    (void)state;
    static const char *const scheme_pool[] = {"Basic", "NTLM", "Negotiate", "X-\x01\"odd\xff", ""};
    unsigned seed = 20261125;
    for (int iter = 0; iter < 3000; iter++) {
        struct event ev;
        char zone[64], auth[64];
        memset(&ev, 0, sizeof ev);
        ev.ts = (double)(rand_r(&seed) % 2000000000) + (rand_r(&seed) % 1000) / 1000.0;
        ev.status = iter % 7 == 0 ? 0 : 401 + (iter % 2) * 6;
        ev.cause = (enum event_cause)(iter % 7);
        ev.prompt = (enum event_prompt)(iter % 8);
        ev.reason = (enum event_reason)(iter % EVENT_REASON_COUNT);
        ev.evidence = (enum event_evidence)(iter % 4);
        ev.object = (enum event_object)(iter % 10);
        random_text(ev.client, sizeof ev.client, &seed);
        random_text(ev.user, sizeof ev.user, &seed);
        random_text(ev.method, sizeof ev.method, &seed);
        random_text(ev.url, sizeof ev.url, &seed);
        random_text(ev.host, sizeof ev.host, &seed);
        random_text(ev.realm, sizeof ev.realm, &seed);
        random_text(ev.parent, sizeof ev.parent, &seed);
        random_text(ev.handler, sizeof ev.handler, &seed);
        random_text(ev.substatus, sizeof ev.substatus, &seed);
        random_text(ev.hint, sizeof ev.hint, &seed);
        random_text(ev.browser, sizeof ev.browser, &seed);
        random_text(ev.server_domain, sizeof ev.server_domain, &seed);
        random_text(ev.spn, sizeof ev.spn, &seed);
        random_text(ev.krb_error, sizeof ev.krb_error, &seed);
        random_text(ev.connection, sizeof ev.connection, &seed);
        random_text(zone, sizeof zone, &seed);
        random_text(auth, sizeof auth, &seed);
        ev.zone = iter % 3 == 0 ? NULL : zone;
        ev.auth_sent = iter % 5 == 0 ? NULL : auth;
        ev.scheme_count = (size_t)(iter % (CHALLENGE_MAX + 2)); /* also beyond CHALLENGE_MAX */
        for (size_t i = 0; i < CHALLENGE_MAX; i++)
            ev.schemes[i] = scheme_pool[(iter + i) % (sizeof scheme_pool / sizeof scheme_pool[0])];

        char *line;
        if (iter % 3 == 1) {
            char small[64];
            size_t need = event_format_into(&ev, small, iter % 2 ? sizeof small : 0);
            assert_true(need > 2);
            line = malloc(need + 1);
            assert_non_null(line);
            assert_int_equal(event_format_into(&ev, line, need + 1), need);
            if (need < sizeof small)
                assert_memory_equal(small, line, need + 1);
            else
                assert_int_equal(event_format_into(&ev, line, need), need); /* one short: no line */
            assert_int_equal(event_format_into(&ev, line, need + 1), need);
        } else {
            line = event_format(&ev);
        }
        assert_non_null(line);
        size_t len = strlen(line);
        assert_true(len > 2 && line[len - 1] == '\n');
        char *ref = ref_format(&ev);
        assert_non_null(ref);
        if (strlen(ref) != len - 1 || memcmp(ref, line, len - 1) != 0)
            fail_msg("iteration %d differs from a fresh tree:\nours:    %.*s\nfresh:   %s", iter, (int)(len - 1),
                     line, ref);
        free(ref);
        json_error_t jerr;
        json_t *o = json_loadb(line, len - 1, 0, &jerr);
        if (o == NULL)
            fail_msg("iteration %d: not JSON (%s): %s", iter, jerr.text, line);
        char *again = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        assert_non_null(again);
        if (strlen(again) != len - 1 || memcmp(again, line, len - 1) != 0)
            fail_msg("iteration %d differs from jansson:\nours:    %.*s\njansson: %s", iter, (int)(len - 1), line,
                     again);
        free(again);
        json_decref(o);
        free(line);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_example_round_trips),
        cmocka_unit_test(test_all_fields_present_in_spec_order),
        cmocka_unit_test(test_unknown_values_are_null_never_omitted),
        cmocka_unit_test(test_invalid_utf8_in_url_still_produces_event),
        cmocka_unit_test(test_valid_utf8_passes_unchanged),
        cmocka_unit_test(test_timestamp_rounds_milliseconds_and_carries),
        cmocka_unit_test(test_several_schemes_keep_offered_order),
        cmocka_unit_test(test_enum_spellings_match_spec),
        cmocka_unit_test(test_line_is_byte_identical_to_jansson_dump),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    event_format_thread_cleanup(); /* leak-clean under valgrind */
    return failed;
}
