/* test_browser.c -- SPEC §2b browser detection: real User-Agent strings of
 * current browsers on each OS, the Sec-CH-UA-Platform refinement, and input
 * that is garbage, huge or not NUL-terminated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "browser.h"

struct ua_case {
    const char *ua;
    const char *platform; /* Sec-CH-UA-Platform as sent, or NULL */
    const char *want;
};

static const struct ua_case cases[] = {
    /* Chromium Edge */
    { "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "\"Windows\"", "edge/windows" },
    { "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", NULL, "edge/macos" },
    { "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", NULL, "edge/linux" },
    { "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.0.0", NULL, "edge/android" },
    /* legacy EdgeHTML */
    { "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/70.0.3538.102 Safari/537.36 Edge/18.19045", NULL, "edge/windows" },
    /* Chrome */
    { "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Safari/537.36", NULL, "chrome/windows" },
    { "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Safari/537.36", NULL, "chrome/macos" },
    { "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Safari/537.36", NULL, "chrome/linux" },
    { "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Safari/537.36", NULL, "chrome/chromeos" },
    { "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Mobile Safari/537.36", NULL, "chrome/android" },
    { "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 "
      "(KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", NULL, "chrome/ios" },
    /* Debian's chromium package sends Chrome's string */
    { "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chromium/120.0.6099.224 Chrome/120.0.6099.224 Safari/537.36", NULL, "chromium/linux" },
    /* Firefox */
    { "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", NULL,
      "firefox/windows" },
    { "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0", NULL,
      "firefox/macos" },
    { "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", NULL,
      "firefox/linux" },
    { "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", NULL,
      "firefox/linux" },
    { "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0", NULL,
      "firefox/android" },
    { "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 "
      "(KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15", NULL, "firefox/ios" },
    /* Safari */
    { "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
      "Version/18.1 Safari/605.1.15", NULL, "safari/macos" },
    { "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
      "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", NULL, "safari/ios" },
    { "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
      "Version/18.1 Mobile/15E148 Safari/604.1", NULL, "safari/ios" },
    /* IE */
    { "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko", NULL, "ie/windows" },
    { "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0)", NULL, "ie/windows" },
    /* tools and unknowns */
    { "curl/7.88.1", NULL, "other/other" },
    { "promptcause-probe/0.1", NULL, "other/other" },
    { "", NULL, "other/other" },
    /* Sec-CH-UA-Platform refines (Chrome's reduced UA hides the OS version,
     * and "Linux" UAs are sent by Chrome OS in some modes) */
    { "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Safari/537.36", "\"Chrome OS\"", "chrome/chromeos" },
    { "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Safari/537.36", " \"macOS\" ", "chrome/macos" },
    { "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Safari/537.36", "\"Unknown\"", "chrome/linux" },
    { "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Safari/537.36", "\"", "chrome/linux" },
    { NULL, "\"Windows\"", "other/windows" },
    { NULL, "\"Android\"", "other/android" },
    { NULL, "\"iOS\"", "other/ios" },
    { NULL, "Linux", "other/linux" },
    { NULL, NULL, "other/other" },
};

static void check(const char *ua, size_t ua_len, const char *plat, const char *want)
{
    struct browser b;
    char out[BROWSER_NAME_MAX];

    browser_detect(ua, ua_len, plat, plat ? strlen(plat) : 0, &b);
    assert_int_equal(browser_format(&b, out, sizeof out), 0);
    if (strcmp(out, want) != 0)
        fail_msg("UA \"%s\" platform %s: got %s, want %s", ua ? ua : "(none)",
                 plat ? plat : "(none)", out, want);
}

static void test_real_user_agents(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check(cases[i].ua, cases[i].ua ? strlen(cases[i].ua) : 0, cases[i].platform, cases[i].want);
}

static void test_edge_is_chromium_but_legacy_edge_is_not(void **state)
{
    (void)state;
    struct browser b;
    const char *edg = "Mozilla/5.0 (Windows NT 10.0) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
    const char *old = "Mozilla/5.0 (Windows NT 10.0) Chrome/70.0 Safari/537.36 Edge/18.19045";
    browser_detect(edg, strlen(edg), NULL, 0, &b);
    assert_true(browser_is_chromium(&b));
    browser_detect(old, strlen(old), NULL, 0, &b);
    assert_false(browser_is_chromium(&b));
    assert_int_equal(b.family, BROWSER_EDGE);
    /* every browser on iOS is WebKit */
    const char *crios = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) CriOS/131.0 Safari/604.1";
    browser_detect(crios, strlen(crios), NULL, 0, &b);
    assert_false(browser_is_chromium(&b));
    const char *fx = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
    browser_detect(fx, strlen(fx), NULL, 0, &b);
    assert_true(browser_is_gecko(&b));
    assert_false(browser_is_chromium(&b));
}

/* Tokens past the given length must not be seen: the buffer is a slice of
 * network data, not a C string. */
static void test_length_bounds_the_scan(void **state)
{
    (void)state;
    const char *ua = "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36 Edg/131.0";
    size_t cut = (size_t)(strstr(ua, " Edg/") - ua);
    check(ua, cut, NULL, "chrome/linux");
    /* a token split by the end of the slice */
    check(ua, cut + 3, NULL, "chrome/linux");
    check(ua, 0, NULL, "other/other");
}

static void test_huge_and_garbage_user_agents(void **state)
{
    (void)state;
    size_t n = 1u << 20;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, 'C', n); /* many near-misses of "Chrome/" */
    check(big, n, NULL, "other/other");
    memcpy(big + n - 20, "Firefox/1 Windows NT", 20);
    check(big, n, NULL, "firefox/windows");
    /* NUL bytes and high bytes are just bytes */
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i * 131u);
    struct browser b;
    char out[BROWSER_NAME_MAX];
    browser_detect(big, n, big, 4096, &b);
    assert_int_equal(browser_format(&b, out, sizeof out), 0);
    free(big);
}

static void test_format_and_parse_round_trip(void **state)
{
    (void)state;
    static const char *const names[] = {
        "edge/windows", "chrome/linux", "chromium/chromeos", "firefox/macos", "safari/ios",
        "ie/windows",   "other/other",  "chrome/android",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct browser b;
        char out[BROWSER_NAME_MAX];
        assert_int_equal(browser_parse(names[i], strlen(names[i]), &b), 0);
        assert_int_equal(browser_format(&b, out, sizeof out), 0);
        assert_string_equal(out, names[i]);
    }
    struct browser b;
    assert_int_equal(browser_parse("CHROME/Linux", 12, &b), 0);
    assert_int_equal(b.family, BROWSER_CHROME);
    assert_int_equal(b.os, BROWSER_OS_LINUX);
    static const char *const bad[] = { "", "chrome", "chrome/", "/linux", "opera/linux",
                                       "chrome/beos", "chrome/linux/x", "chrome linux" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(browser_parse(bad[i], strlen(bad[i]), &b), -1);
    assert_int_equal(browser_parse(NULL, 0, &b), -1);
    /* too small an output buffer */
    char tiny[5];
    assert_int_equal(browser_parse("edge/windows", 12, &b), 0);
    assert_int_equal(browser_format(&b, tiny, sizeof tiny), -1);
    assert_string_equal(tiny, "");
}

/* The probe's --browser classifies with a sample User-Agent: each one must
 * detect as the browser it stands for. */
static void test_sample_user_agent_detects_as_itself(void **state)
{
    (void)state;
    for (int f = BROWSER_OTHER; f <= BROWSER_IE; f++) {
        for (int o = BROWSER_OS_OTHER; o <= BROWSER_OS_IOS; o++) {
            struct browser want = { .family = (enum browser_family)f, .os = (enum browser_os)o };
            struct browser got;
            char ua[256], a[BROWSER_NAME_MAX], b[BROWSER_NAME_MAX];
            assert_int_equal(browser_sample_user_agent(&want, ua, sizeof ua), 0);
            browser_detect(ua, strlen(ua), NULL, 0, &got);
            assert_int_equal(browser_format(&want, a, sizeof a), 0);
            assert_int_equal(browser_format(&got, b, sizeof b), 0);
            if (strcmp(a, b) != 0)
                fail_msg("sample UA for %s detects as %s: %s", a, b, ua);
        }
    }
    char tiny[8];
    struct browser e = { .family = BROWSER_EDGE, .os = BROWSER_OS_WINDOWS };
    assert_int_equal(browser_sample_user_agent(&e, tiny, sizeof tiny), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_user_agents),
        cmocka_unit_test(test_edge_is_chromium_but_legacy_edge_is_not),
        cmocka_unit_test(test_length_bounds_the_scan),
        cmocka_unit_test(test_huge_and_garbage_user_agents),
        cmocka_unit_test(test_format_and_parse_round_trip),
        cmocka_unit_test(test_sample_user_agent_detects_as_itself),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
