/* test_urlres.c -- RFC 3986 §5.4 reference resolution examples (strict mode,
 * byte for byte) and the normalisation the correlation store relies on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "urlres.h"

#define RFC_BASE "http://a/b/c/d;p?q"

struct example {
    const char *ref;
    const char *want;
};

static void check(const char *base, const char *ref, unsigned flags, const char *want)
{
    char out[512];
    size_t n = 0;
    int rc = urlres_resolve(base, strlen(base), ref, strlen(ref), flags, out, sizeof out, &n);
    if (rc != URLRES_OK)
        fail_msg("resolve(%s, %s) failed: %s", base, ref, urlres_strerror(rc));
    if (n != strlen(want) || memcmp(out, want, n) != 0)
        fail_msg("resolve(%s, \"%s\") = \"%.*s\", want \"%s\"", base, ref, (int)n, out, want);
    assert_int_equal(out[n], '\0');
}

static void test_rfc3986_normal_examples(void **state)
{
    (void)state;
    static const struct example ex[] = {
        {"g:h", "g:h"},          {"g", "http://a/b/c/g"},     {"./g", "http://a/b/c/g"},
        {"g/", "http://a/b/c/g/"}, {"/g", "http://a/g"},      {"//g", "http://g"},
        {"?y", "http://a/b/c/d;p?y"}, {"g?y", "http://a/b/c/g?y"}, {"#s", "http://a/b/c/d;p?q#s"},
        {"g#s", "http://a/b/c/g#s"}, {"g?y#s", "http://a/b/c/g?y#s"}, {";x", "http://a/b/c/;x"},
        {"g;x", "http://a/b/c/g;x"}, {"g;x?y#s", "http://a/b/c/g;x?y#s"}, {"", "http://a/b/c/d;p?q"},
        {".", "http://a/b/c/"},   {"./", "http://a/b/c/"},     {"..", "http://a/b/"},
        {"../", "http://a/b/"},   {"../g", "http://a/b/g"},    {"../..", "http://a/"},
        {"../../", "http://a/"},  {"../../g", "http://a/g"},
    };
    for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++)
        check(RFC_BASE, ex[i].ref, URLRES_STRICT, ex[i].want);
}

static void test_rfc3986_abnormal_examples(void **state)
{
    (void)state;
    static const struct example ex[] = {
        {"../../../g", "http://a/g"},     {"../../../../g", "http://a/g"},
        {"/./g", "http://a/g"},           {"/../g", "http://a/g"},
        {"g.", "http://a/b/c/g."},        {".g", "http://a/b/c/.g"},
        {"g..", "http://a/b/c/g.."},      {"..g", "http://a/b/c/..g"},
        {"./../g", "http://a/b/g"},       {"./g/.", "http://a/b/c/g/"},
        {"g/./h", "http://a/b/c/g/h"},    {"g/../h", "http://a/b/c/h"},
        {"g;x=1/./y", "http://a/b/c/g;x=1/y"}, {"g;x=1/../y", "http://a/b/c/y"},
        {"g?y/./x", "http://a/b/c/g?y/./x"}, {"g?y/../x", "http://a/b/c/g?y/../x"},
        {"g#s/./x", "http://a/b/c/g#s/./x"}, {"g#s/../x", "http://a/b/c/g#s/../x"},
        {"http:g", "http:g"}, /* strict parser, RFC 3986 §5.4.2 */
    };
    for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++)
        check(RFC_BASE, ex[i].ref, URLRES_STRICT, ex[i].want);
}

static void test_rfc_examples_normalised_drop_fragment(void **state)
{
    (void)state;
    check(RFC_BASE, "g#s", 0, "http://a/b/c/g");
    check(RFC_BASE, "#s", 0, "http://a/b/c/d;p?q");
    check(RFC_BASE, "g?y#s", 0, "http://a/b/c/g?y");
    check(RFC_BASE, "//g", 0, "http://g/");
    check(RFC_BASE, "../../../../g", 0, "http://a/g");
}

static void test_scheme_and_host_lowercased_userinfo_and_path_kept(void **state)
{
    (void)state;
    check("http://x/", "HTTP://User:PW@WWW.Example.COM/A/B", 0,
          "http://User:PW@www.example.com/A/B");
}

static void test_default_ports_removed_other_ports_kept(void **state)
{
    (void)state;
    check("http://x/", "http://h:80/a", 0, "http://h/a");
    check("http://x/", "https://h:443/a", 0, "https://h/a");
    check("http://x/", "http://h:443/a", 0, "http://h:443/a");
    check("http://x/", "https://h:80/a", 0, "https://h:80/a");
    check("http://x/", "http://h:/a", 0, "http://h/a");
    check("http://x/", "http://h:0080/a", 0, "http://h/a");
    check("http://x/", "http://h:08080/a", 0, "http://h:8080/a");
    check("http://x/", "http://[::1]:80/a", 0, "http://[::1]/a");
    check("http://x/", "http://[::1]/a", 0, "http://[::1]/a");
}

static void test_empty_path_becomes_slash(void **state)
{
    (void)state;
    check("http://x/", "http://h", 0, "http://h/");
    check("http://x/", "http://h?q", 0, "http://h/?q");
    check("http://x/", "//h", 0, "http://h/");
}

static void test_html_whitespace_trimmed_and_newlines_removed(void **state)
{
    (void)state;
    check("http://x/d/", "  \n img/\ta.gif\r\n ", 0, "http://x/d/img/a.gif");
    check(" http://x/d/e ", "a b", 0, "http://x/d/a%20b");
}

static void test_percent_escapes_normalised(void **state)
{
    (void)state;
    check("http://x/", "/%7euser/%2fa%2F%41", 0, "http://x/~user/%2Fa%2FA");
    check("http://x/", "/a%zz%", 0, "http://x/a%zz%");
    check("http://x/", "/%2E%2E/b", 0, "http://x/b");
}

static void test_bytes_browsers_escape_are_encoded(void **state)
{
    (void)state;
    check("http://x/", "/caf\xc3\xa9?q=\"<'>", 0, "http://x/caf%C3%A9?q=%22%3C%27%3E");
    check("http://x/", "/a`{}|b?x=`|", 0, "http://x/a%60%7B%7D|b?x=`|");
}

static void test_normalise_is_idempotent(void **state)
{
    (void)state;
    static const char *urls[] = {"HTTP://H:80/a/./b/../c%7e?x y#f", "https://h/%C3%A9",
                                 "http://h/a%zz"};
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        char a[256], b[256];
        size_t an, bn;
        assert_int_equal(urlres_normalise(urls[i], strlen(urls[i]), a, sizeof a, &an), URLRES_OK);
        assert_int_equal(urlres_normalise(a, an, b, sizeof b, &bn), URLRES_OK);
        assert_int_equal(an, bn);
        assert_memory_equal(a, b, an);
    }
    char out[64];
    size_t n;
    assert_int_equal(urlres_normalise("HTTP://H:80/a/./b/../c%7e?x y#f", 31, out, sizeof out, &n),
                     URLRES_OK);
    assert_string_equal(out, "http://h/a/c~?x%20y");
}

static void test_relative_base_is_rejected(void **state)
{
    (void)state;
    char out[64];
    size_t n;
    assert_int_equal(urlres_resolve("/a/b", 4, "c", 1, 0, out, sizeof out, &n), URLRES_EBASE);
    assert_int_equal(urlres_resolve("", 0, "http://h/", 9, 0, out, sizeof out, &n), URLRES_EBASE);
    assert_int_equal(urlres_normalise("a:b/c", 0, out, sizeof out, &n), URLRES_EBASE);
    assert_int_equal(urlres_normalise("1a:b", 4, out, sizeof out, &n), URLRES_EBASE);
}

static void test_output_too_small_is_reported_not_truncated(void **state)
{
    (void)state;
    char out[16];
    size_t n = 99;
    const char *ref = "/a/very/long/path";
    memset(out, 'X', sizeof out);
    assert_int_equal(urlres_resolve("http://h/", 9, ref, strlen(ref), 0, out, sizeof out, &n),
                     URLRES_ESPACE);
    assert_int_equal(n, 99);
    /* exactly fitting, NUL included */
    assert_int_equal(urlres_resolve("http://h/", 9, "/abcdef", 7, 0, out, 16, &n), URLRES_OK);
    assert_int_equal(n, 15);
    assert_int_equal(urlres_resolve("http://h/", 9, "/abcdefg", 8, 0, out, 16, &n), URLRES_ESPACE);
    assert_int_equal(urlres_resolve("http://h/", 9, "/", 1, 0, out, 0, &n), URLRES_ESPACE);
}

static void test_inputs_need_no_nul_terminator(void **state)
{
    (void)state;
    const char base[] = {'h', 't', 't', 'p', ':', '/', '/', 'h', '/', 'd', '/'};
    const char ref[] = {'x', '.', 'g', 'i', 'f'};
    char out[64];
    size_t n;
    assert_int_equal(urlres_resolve(base, sizeof base, ref, sizeof ref, 0, out, sizeof out, &n),
                     URLRES_OK);
    assert_string_equal(out, "http://h/d/x.gif");
}

static void test_is_absolute(void **state)
{
    (void)state;
    assert_true(urlres_is_absolute("http://h", 8));
    assert_true(urlres_is_absolute("  data:x", 8));
    assert_false(urlres_is_absolute("//h/x", 5));
    assert_false(urlres_is_absolute("a/b:c", 5));
    assert_false(urlres_is_absolute("http", 4));
    assert_int_equal(urlres_scheme_len("https://x", 9), 5);
}

/* Found by fuzzing (tests/fuzz/fuzz_urlres.c, corpus/urlres/regress-*):
 * normalising a normalised URL must change nothing, also for escapes in the
 * host, a stray '%' before an escape, a "//" path without an authority and
 * a host with more than one ':'. */
static void idempotent(const char *url, const char *want)
{
    char a[256], b[256];
    size_t an, bn;
    assert_int_equal(urlres_normalise(url, strlen(url), a, sizeof a, &an), URLRES_OK);
    if (want != NULL)
        assert_string_equal(a, want);
    assert_int_equal(urlres_normalise(a, an, b, sizeof b, &bn), URLRES_OK);
    if (an != bn || memcmp(a, b, an) != 0)
        fail_msg("normalise(\"%s\") = \"%s\", again \"%s\"", url, a, b);
}

static void test_fuzz_found_normalisation_idempotent(void **state)
{
    (void)state;
    idempotent("http://caf\xc3\xa9.example/", "http://caf%C3%A9.example/");
    idempotent("http://caf%c3%a9.EXAMPLE/", "http://caf%C3%A9.example/");
    idempotent("http://%41%42c/", "http://abc/");
    idempotent("http://\x9b\xff%00/c/..g", NULL);
    idempotent("http://x/%e%441/a", "http://x/%e%441/a");
    idempotent("http://x/%%41%42", "http://x/%%41B");
    idempotent("http://x/%7e%41", "http://x/~A");
    idempotent("http://EX.com:01:/", "http://ex.com:01:/");
    idempotent("http://ETTP::/x", "http://ettp::/x");
    idempotent("http://h:0080/", "http://h/");
    idempotent("http://[::1]:8080/", "http://[::1]:8080/");
    /* a port that is not a number is kept byte for byte: decoding %35 would
     * make it the number 05, which the next pass writes 5 */
    idempotent("tp://em:0%35/x", "tp://em:0%35/x");
    idempotent("http://h:00%35/", "http://h:00%35/");
    /* "//" path without an authority: WHATWG writes "/." in front */
    check("http:c/d", "/..//.", 0, "http:/.//");
    idempotent("http:/.//", "http:/.//");
}

/* urlres_resolve_normal promises urlres_resolve's result for a normalised
 * base: compare the two on the references pages write and on random ones
 * built from the bytes that make resolution do work (dots, slashes,
 * escapes, query and fragment marks, colons, whitespace, non-ASCII). */
static void test_resolve_normal_matches_resolve(void **state)
{
    (void)state;
    static const char *const raw_bases[] = {
        "http://a/b/c/d;p?q", "HTTP://Ex.COM:80/x/y/", "https://h/", "http://h/a?x=1",
        "file:///etc/x", "http://u@h:8080/p/q", "http://[::1]/a/b", "http:/.//",
        "http://h/%7Ex/y", "http://h", "http:c/d", "http://h/a/b?q#f",
    };
    static const char *const refs[] = {
        "/img/a.png", "img/a.png", "css/site.css?v=3", "/", "a", ".", "..", "./a", "../a",
        "a/./b", "a/../b", "a/..", "...", ".a", "a.", "//h/x", "?y", "#f", "a#f", "a?b#c",
        "a:b", "1a:b", "/a:b", "a/b:c", "%41", "a%2e%2E/b", " a", "a ", "a\tb", "a\\b",
        "/a?b'c", "/a?b`c", "a`b", "a{b}", "\xc3\xa9", "mailto:x", "data:,x", "/a//b", "",
    };
    static const char alphabet[] = "/.a?#%:\\ \t1~%2E;=&@+`{}'\"<>\xc3";
    char base[256], want[1024], got[1024];
    size_t base_n, want_n, got_n;
    uint32_t rng = 12345;
    for (size_t b = 0; b < sizeof raw_bases / sizeof raw_bases[0]; b++) {
        if (urlres_normalise(raw_bases[b], strlen(raw_bases[b]), base, sizeof base, &base_n) != URLRES_OK)
            fail_msg("cannot normalise %s", raw_bases[b]);
        for (size_t k = 0; k < sizeof refs / sizeof refs[0] + 20000; k++) {
            char ref[16];
            size_t ref_n;
            if (k < sizeof refs / sizeof refs[0]) {
                ref_n = strlen(refs[k]);
                memcpy(ref, refs[k], ref_n);
            } else {
                rng = rng * 1103515245u + 12345u;
                ref_n = (rng >> 16) % 13;
                for (size_t i = 0; i < ref_n; i++) {
                    rng = rng * 1103515245u + 12345u;
                    ref[i] = alphabet[(rng >> 16) % (sizeof alphabet - 1)];
                }
            }
            int rc_want = urlres_resolve(base, base_n, ref, ref_n, 0, want, sizeof want, &want_n);
            int rc_got = urlres_resolve_normal(base, base_n, ref, ref_n, got, sizeof got, &got_n);
            if (rc_got != rc_want || (rc_want == URLRES_OK && (got_n != want_n || memcmp(got, want, want_n) != 0)))
                fail_msg("base %s ref \"%.*s\": urlres_resolve %d \"%s\", urlres_resolve_normal %d \"%s\"", base,
                         (int)ref_n, ref, rc_want, rc_want == URLRES_OK ? want : "", rc_got,
                         rc_got == URLRES_OK ? got : "");
            if (rc_got == URLRES_OK)
                assert_int_equal(got[got_n], '\0');
        }
    }
    /* a result that does not fit is reported, as urlres_resolve does */
    assert_int_equal(urlres_resolve_normal("http://h/", 9, "/abcdef", 7, got, 12, &got_n), URLRES_ESPACE);
    assert_int_equal(urlres_resolve_normal("http://h/", 9, "/abcdef", 7, got, 17, &got_n), URLRES_OK);
    assert_string_equal(got, "http://h/abcdef");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3986_normal_examples),
        cmocka_unit_test(test_rfc3986_abnormal_examples),
        cmocka_unit_test(test_rfc_examples_normalised_drop_fragment),
        cmocka_unit_test(test_scheme_and_host_lowercased_userinfo_and_path_kept),
        cmocka_unit_test(test_default_ports_removed_other_ports_kept),
        cmocka_unit_test(test_empty_path_becomes_slash),
        cmocka_unit_test(test_html_whitespace_trimmed_and_newlines_removed),
        cmocka_unit_test(test_percent_escapes_normalised),
        cmocka_unit_test(test_bytes_browsers_escape_are_encoded),
        cmocka_unit_test(test_normalise_is_idempotent),
        cmocka_unit_test(test_relative_base_is_rejected),
        cmocka_unit_test(test_output_too_small_is_reported_not_truncated),
        cmocka_unit_test(test_inputs_need_no_nul_terminator),
        cmocka_unit_test(test_is_absolute),
        cmocka_unit_test(test_fuzz_found_normalisation_idempotent),
        cmocka_unit_test(test_resolve_normal_matches_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
