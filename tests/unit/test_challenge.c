/* test_challenge.c -- WWW-Authenticate / Proxy-Authenticate parsing (RFC 9110 §11)
 * against header values shaped like those IIS, Apache, nginx and proxies send. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "challenge.h"

/* Parse one header value into a fresh set; returns challenge_parse's result. */
static int parse1(struct challenge_set *s, const char *v)
{
    challenge_set_init(s);
    return challenge_parse(s, v, strlen(v));
}

static void assert_token(const struct challenge *c, const char *tok)
{
    assert_non_null(c->token);
    assert_int_equal(c->token_len, strlen(tok));
    assert_memory_equal(c->token, tok, c->token_len);
}

static void test_iis_negotiate_and_ntlm_on_separate_lines(void **state)
{
    struct challenge_set s;
    const char *l1 = "Negotiate", *l2 = "NTLM", *l3 = "Basic realm=\"intranet\"";

    (void)state;
    challenge_set_init(&s);
    assert_int_equal(challenge_parse(&s, l1, strlen(l1)), 0);
    assert_int_equal(challenge_parse(&s, l2, strlen(l2)), 0);
    assert_int_equal(challenge_parse(&s, l3, strlen(l3)), 0);
    assert_int_equal(s.count, 3);
    assert_int_equal(s.items[0].scheme, SCHEME_NEGOTIATE);
    assert_null(s.items[0].token);
    assert_int_equal(s.items[1].scheme, SCHEME_NTLM);
    assert_int_equal(s.items[2].scheme, SCHEME_BASIC);
    assert_string_equal(s.items[2].realm, "intranet");
    assert_true(s.items[2].has_realm);
    assert_false(s.items[0].has_realm);
    assert_false(s.malformed);
    assert_true(challenge_offers(&s, SCHEME_NTLM));
    assert_false(challenge_offers(&s, SCHEME_DIGEST));
    assert_ptr_equal(challenge_find(&s, SCHEME_BASIC), &s.items[2]);
}

static void test_apache_basic_realm(void **state)
{
    struct challenge_set s;

    (void)state;
    assert_int_equal(parse1(&s, "Basic realm=\"Restricted\""), 0);
    assert_int_equal(s.count, 1);
    assert_string_equal(s.items[0].name, "Basic");
    assert_string_equal(s.items[0].realm, "Restricted");
}

static void test_apache_digest_params_realm_kept(void **state)
{
    struct challenge_set s;

    (void)state;
    assert_int_equal(parse1(&s, "Digest realm=\"x\", nonce=\"Ny8yLzIwMDIgMzoyNjoyNCBQTQ\", "
                                "algorithm=MD5, qop=\"auth\""),
                     0);
    assert_int_equal(s.count, 1);
    assert_int_equal(s.items[0].scheme, SCHEME_DIGEST);
    assert_string_equal(s.items[0].realm, "x");
    assert_null(s.items[0].token);
}

static void test_nginx_realm_with_space(void **state)
{
    struct challenge_set s;

    (void)state;
    assert_int_equal(parse1(&s, "Basic realm=\"closed site\""), 0);
    assert_string_equal(s.items[0].realm, "closed site");
}

static void test_ntlm_type2_token68_with_padding(void **state)
{
    struct challenge_set s;
    const char *tok = "TlRMTVNTUAACAAAADAAMADAAAAA1goriASNFZ4mrze8AAAAAAAAAAGIAYgA8AAAA"
                      "RABPAE0AQQBJAE4AAgAMAEQATwBNAEEASQBOAAEADABTAEUAUgBWAEUAUgAEABQA"
                      "ZABvAG0AYQBpAG4ALgBjAG8AbQADACIAcwBlAHIAdgBlAHIALgBkAG8AbQBhAGkA"
                      "bgAuAGMAbwBtAAAAAAA=";
    char hdr[512];

    (void)state;
    snprintf(hdr, sizeof hdr, "NTLM %s", tok);
    assert_int_equal(parse1(&s, hdr), 0);
    assert_int_equal(s.count, 1);
    assert_int_equal(s.items[0].scheme, SCHEME_NTLM);
    assert_token(&s.items[0], tok);
    assert_false(s.items[0].has_realm);
}

static void test_negotiate_token_with_double_padding(void **state)
{
    struct challenge_set s;

    (void)state;
    assert_int_equal(parse1(&s, "Negotiate oYG2MIGzoAMKAQChCwYJKoZIgvcSAQICooGeBIGbYIGYBgkqhkiG9xIBAgICAG+BiDCBhaADAgEFoQMCAQ+ieTB3oAMCARKicARu=="), 0);
    assert_int_equal(s.items[0].scheme, SCHEME_NEGOTIATE);
    assert_token(&s.items[0], "oYG2MIGzoAMKAQChCwYJKoZIgvcSAQICooGeBIGbYIGYBgkqhkiG9xIBAgICAG+BiDCBhaADAgEFoQMCAQ+ieTB3oAMCARKicARu==");
}

static void test_token68_single_char_padding_not_mistaken_for_param(void **state)
{
    struct challenge_set s;

    (void)state;
    /* "abc=" could look like "name=" but has no value: token68 with padding. */
    assert_int_equal(parse1(&s, "Negotiate abc=, Basic realm=r"), 0);
    assert_int_equal(s.count, 2);
    assert_token(&s.items[0], "abc=");
    assert_string_equal(s.items[1].realm, "r");
}

static void test_bearer_error_params(void **state)
{
    struct challenge_set s;

    (void)state;
    assert_int_equal(parse1(&s, "Bearer realm=\"example\", error=\"invalid_token\", "
                                "error_description=\"The access token expired\""),
                     0);
    assert_int_equal(s.count, 1);
    assert_int_equal(s.items[0].scheme, SCHEME_BEARER);
    assert_string_equal(s.items[0].realm, "example");
}

static void test_several_challenges_on_one_line(void **state)
{
    struct challenge_set s;

    (void)state;
    assert_int_equal(parse1(&s, "Basic realm=\"a\", Digest realm=\"b\", nonce=\"n\""), 0);
    assert_int_equal(s.count, 2);
    assert_int_equal(s.items[0].scheme, SCHEME_BASIC);
    assert_string_equal(s.items[0].realm, "a");
    assert_int_equal(s.items[1].scheme, SCHEME_DIGEST);
    assert_string_equal(s.items[1].realm, "b");
}

static void test_rfc9110_newauth_example(void **state)
{
    struct challenge_set s;

    (void)state;
    assert_int_equal(parse1(&s, "Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", "
                                "Basic realm=\"simple\""),
                     0);
    assert_int_equal(s.count, 2);
    assert_int_equal(s.items[0].scheme, SCHEME_OTHER);
    assert_string_equal(s.items[0].name, "Newauth");
    assert_string_equal(s.items[0].realm, "apps");
    assert_int_equal(s.items[1].scheme, SCHEME_BASIC);
    assert_string_equal(s.items[1].realm, "simple");
    assert_null(challenge_scheme_name(SCHEME_OTHER));
}

static void test_quoted_realm_unescaped(void **state)
{
    struct challenge_set s;

    (void)state;
    assert_int_equal(parse1(&s, "Basic realm=\"a \\\"b\\\" c\\\\d\""), 0);
    assert_string_equal(s.items[0].realm, "a \"b\" c\\d");
}

static void test_token_realm_and_bws_around_equals(void **state)
{
    struct challenge_set s;

    (void)state;
    assert_int_equal(parse1(&s, "Basic realm = intranet , charset=\"UTF-8\""), 0);
    assert_int_equal(s.count, 1);
    assert_string_equal(s.items[0].realm, "intranet");
}

static void test_realm_name_case_insensitive_first_wins(void **state)
{
    struct challenge_set s;

    (void)state;
    assert_int_equal(parse1(&s, "Basic REALM=\"one\", realm=\"two\""), 0);
    assert_string_equal(s.items[0].realm, "one");
}

static void test_scheme_names_case_insensitive(void **state)
{
    struct challenge_set s;

    (void)state;
    assert_int_equal(parse1(&s, "basic realm=x, BASIC, nTlM, NEGOTIATE, digest realm=y, bearer"), 0);
    assert_int_equal(s.count, 6);
    assert_int_equal(s.items[0].scheme, SCHEME_BASIC);
    assert_int_equal(s.items[1].scheme, SCHEME_BASIC);
    assert_int_equal(s.items[2].scheme, SCHEME_NTLM);
    assert_int_equal(s.items[3].scheme, SCHEME_NEGOTIATE);
    assert_int_equal(s.items[4].scheme, SCHEME_DIGEST);
    assert_int_equal(s.items[5].scheme, SCHEME_BEARER);
    assert_string_equal(s.items[2].name, "nTlM"); /* as sent */
    assert_string_equal(challenge_scheme_name(s.items[2].scheme), "NTLM");
}

static void test_empty_list_elements_tolerated(void **state)
{
    struct challenge_set s;

    (void)state;
    assert_int_equal(parse1(&s, " , ,Basic realm=\"a\", , ,NTLM,, "), 0);
    assert_int_equal(s.count, 2);
    assert_string_equal(s.items[0].realm, "a");
    assert_int_equal(s.items[1].scheme, SCHEME_NTLM);
    assert_int_equal(parse1(&s, ""), 0);
    assert_int_equal(s.count, 0);
}

static void test_value_not_nul_terminated(void **state)
{
    struct challenge_set s;
    const char buf[] = {'B', 'a', 's', 'i', 'c', ' ', 'r', 'e', 'a', 'l', 'm', '=', 'a', 'b'};
    char *heap = malloc(sizeof buf); /* exact size: ASan catches a read past it */

    (void)state;
    assert_non_null(heap);
    memcpy(heap, buf, sizeof buf);
    challenge_set_init(&s);
    assert_int_equal(challenge_parse(&s, heap, sizeof buf), 0);
    assert_string_equal(s.items[0].realm, "ab");
    /* Only the first 5 bytes: scheme alone. */
    challenge_set_init(&s);
    assert_int_equal(challenge_parse(&s, heap, 5), 0);
    assert_false(s.items[0].has_realm);
    free(heap);
}

static void test_unterminated_quote_is_malformed_keeping_earlier(void **state)
{
    struct challenge_set s;

    (void)state;
    assert_int_equal(parse1(&s, "NTLM, Basic realm=\"never closed"), -1);
    assert_true(s.malformed);
    assert_int_equal(s.count, 2);
    assert_int_equal(s.items[0].scheme, SCHEME_NTLM);
    assert_false(s.items[1].has_realm);
    assert_string_equal(s.items[1].realm, "");
}

static void test_trailing_backslash_in_quote_is_malformed(void **state)
{
    struct challenge_set s;

    (void)state;
    assert_int_equal(parse1(&s, "Basic realm=\"abc\\"), -1);
    assert_true(s.malformed);
}

static void test_garbage_and_control_bytes_malformed(void **state)
{
    static const char *bad[] = {
        "Basic realm=\"a\x01b\"", /* control inside quotes */
        "Basic\x01realm=x",       /* control after scheme */
        "Basic realm=x y",        /* two values */
        "@@@",                    /* not a token */
        "Basic realm=x, nonce=",  /* param without value */
        "Basic realm=x,\"q\"",    /* quoted-string where a token must be */
        "Negotiate abc==def",     /* padding in the middle */
        "Basic ;",                /* neither token68 nor param */
    };
    struct challenge_set s;
    size_t k;

    (void)state;
    for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        assert_int_equal(parse1(&s, bad[k]), -1);
        assert_true(s.malformed);
    }
}

static void test_nul_inside_value_malformed(void **state)
{
    struct challenge_set s;
    const char v[] = "Basic realm=\"a\0b\", NTLM";

    (void)state;
    challenge_set_init(&s);
    assert_int_equal(challenge_parse(&s, v, sizeof v - 1), -1);
    assert_int_equal(s.count, 1);
    challenge_set_init(&s);
    assert_int_equal(challenge_parse(&s, "NTLM\0", 5), -1);
}

static void test_param_without_scheme_malformed(void **state)
{
    struct challenge_set s;

    (void)state;
    assert_int_equal(parse1(&s, "realm=\"x\""), -1);
    assert_true(s.malformed);
    assert_int_equal(s.count, 0);
}

static void test_malformed_flag_sticks_across_lines(void **state)
{
    struct challenge_set s;

    (void)state;
    challenge_set_init(&s);
    assert_int_equal(challenge_parse(&s, "Basic realm=\"x", 14), -1);
    assert_int_equal(challenge_parse(&s, "NTLM", 4), 0);
    assert_true(s.malformed);
    assert_int_equal(s.count, 2);
}

static void test_more_than_max_challenges_truncated(void **state)
{
    struct challenge_set s;
    char hdr[2048];
    size_t k, o = 0;

    (void)state;
    for (k = 0; k < CHALLENGE_MAX + 5; k++)
        o += (size_t)snprintf(hdr + o, sizeof hdr - o, "S%zu realm=\"r%zu\", ", k, k);
    o += (size_t)snprintf(hdr + o, sizeof hdr - o, "Basic realm=\"last\"");
    assert_int_equal(parse1(&s, hdr), 0);
    assert_int_equal(s.count, CHALLENGE_MAX);
    assert_true(s.truncated);
    assert_false(challenge_offers(&s, SCHEME_BASIC));
    assert_string_equal(s.items[CHALLENGE_MAX - 1].realm, "r15");
    /* Further lines are still counted as truncated, never overflow. */
    assert_int_equal(challenge_parse(&s, "NTLM", 4), 0);
    assert_int_equal(s.count, CHALLENGE_MAX);
}

static void test_long_realm_truncated_whole_characters(void **state)
{
    struct challenge_set s;
    char hdr[1200];
    size_t o, k, len;

    (void)state;
    o = (size_t)snprintf(hdr, sizeof hdr, "Basic realm=\"a");
    for (k = 0; k < 300; k++) { /* "a" then 300 x U+00E9 (2 bytes each) */
        hdr[o++] = (char)0xc3;
        hdr[o++] = (char)0xa9;
    }
    o += (size_t)snprintf(hdr + o, sizeof hdr - o, "\", NTLM");
    challenge_set_init(&s);
    assert_int_equal(challenge_parse(&s, hdr, o), 0);
    assert_int_equal(s.count, 2);
    len = strlen(s.items[0].realm);
    assert_true(len < CHALLENGE_REALM_MAX);
    assert_true(len >= CHALLENGE_REALM_MAX - 3);
    /* 'a' + whole 2-byte characters: odd length, never ends in a lead byte */
    assert_int_equal(len % 2, 1);
    assert_int_equal((unsigned char)s.items[0].realm[len - 1], 0xa9);
}

static void test_long_scheme_name_truncated(void **state)
{
    struct challenge_set s;
    char hdr[200];

    (void)state;
    memset(hdr, 'X', 100);
    strcpy(hdr + 100, " realm=\"r\"");
    assert_int_equal(parse1(&s, hdr), 0);
    assert_int_equal(strlen(s.items[0].name), CHALLENGE_NAME_MAX - 1);
    assert_int_equal(s.items[0].scheme, SCHEME_OTHER);
    assert_string_equal(s.items[0].realm, "r");
}

static void test_huge_header_parsed_linearly(void **state)
{
    /* 1 MiB of ", ," and a final challenge: must parse, and quickly. */
    size_t n = 1u << 20, k;
    char *hdr = malloc(n + 8);
    struct challenge_set s;

    (void)state;
    assert_non_null(hdr);
    for (k = 0; k < n; k++)
        hdr[k] = (k % 2) ? ',' : ' ';
    memcpy(hdr + n, "NTLM", 4);
    challenge_set_init(&s);
    assert_int_equal(challenge_parse(&s, hdr, n + 4), 0);
    assert_int_equal(s.count, 1);
    free(hdr);
}

static void test_commas_inside_quoted_values_do_not_split(void **state)
{
    struct challenge_set s;

    (void)state;
    assert_int_equal(parse1(&s, "Digest realm=\"a, b\",qop=\"auth,auth-int\",\tnonce=\"x, NTLM\", Basic"), 0);
    assert_int_equal(s.count, 2);
    assert_string_equal(s.items[0].realm, "a, b");
    assert_false(challenge_offers(&s, SCHEME_NTLM));
    assert_int_equal(s.items[1].scheme, SCHEME_BASIC);
}

static void test_random_mutations_never_crash(void **state)
{
    static const char seed_hdr[] = "Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", "
                                   "Basic realm=\"simple\", Negotiate YIIabc==, NTLM";
    size_t n = sizeof seed_hdr - 1, k, f;
    unsigned seed = 3;

    (void)state;
    for (k = 0; k < 50000; k++) {
        char *h = malloc(n);
        struct challenge_set s;
        size_t cut;
        assert_non_null(h);
        memcpy(h, seed_hdr, n);
        for (f = 0; f < 1 + k % 3; f++) {
            seed = seed * 1103515245u + 12345u;
            h[(seed >> 8) % n] = (char)(seed >> 20);
        }
        cut = k % (n + 1);
        challenge_set_init(&s);
        (void)challenge_parse(&s, h, k % 2 ? n : cut);
        assert_true(s.count <= CHALLENGE_MAX);
        for (f = 0; f < s.count; f++) {
            assert_true(strlen(s.items[f].realm) < CHALLENGE_REALM_MAX);
            if (s.items[f].token != NULL)
                assert_true(s.items[f].token >= h && s.items[f].token + s.items[f].token_len <= h + n);
        }
        free(h);
    }
}

static void test_scheme_of_lengths_are_exact(void **state)
{
    (void)state;
    assert_int_equal(challenge_scheme_of("Basic", 5), SCHEME_BASIC);
    assert_int_equal(challenge_scheme_of("Basicx", 6), SCHEME_OTHER);
    assert_int_equal(challenge_scheme_of("Basicx", 5), SCHEME_BASIC);
    assert_int_equal(challenge_scheme_of("Bas", 3), SCHEME_OTHER);
    assert_int_equal(challenge_scheme_of(NULL, 0), SCHEME_OTHER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iis_negotiate_and_ntlm_on_separate_lines),
        cmocka_unit_test(test_apache_basic_realm),
        cmocka_unit_test(test_apache_digest_params_realm_kept),
        cmocka_unit_test(test_nginx_realm_with_space),
        cmocka_unit_test(test_ntlm_type2_token68_with_padding),
        cmocka_unit_test(test_negotiate_token_with_double_padding),
        cmocka_unit_test(test_token68_single_char_padding_not_mistaken_for_param),
        cmocka_unit_test(test_bearer_error_params),
        cmocka_unit_test(test_several_challenges_on_one_line),
        cmocka_unit_test(test_rfc9110_newauth_example),
        cmocka_unit_test(test_quoted_realm_unescaped),
        cmocka_unit_test(test_token_realm_and_bws_around_equals),
        cmocka_unit_test(test_realm_name_case_insensitive_first_wins),
        cmocka_unit_test(test_scheme_names_case_insensitive),
        cmocka_unit_test(test_empty_list_elements_tolerated),
        cmocka_unit_test(test_value_not_nul_terminated),
        cmocka_unit_test(test_unterminated_quote_is_malformed_keeping_earlier),
        cmocka_unit_test(test_trailing_backslash_in_quote_is_malformed),
        cmocka_unit_test(test_garbage_and_control_bytes_malformed),
        cmocka_unit_test(test_nul_inside_value_malformed),
        cmocka_unit_test(test_param_without_scheme_malformed),
        cmocka_unit_test(test_malformed_flag_sticks_across_lines),
        cmocka_unit_test(test_more_than_max_challenges_truncated),
        cmocka_unit_test(test_long_realm_truncated_whole_characters),
        cmocka_unit_test(test_long_scheme_name_truncated),
        cmocka_unit_test(test_huge_header_parsed_linearly),
        cmocka_unit_test(test_commas_inside_quoted_values_do_not_split),
        cmocka_unit_test(test_random_mutations_never_crash),
        cmocka_unit_test(test_scheme_of_lengths_are_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
