/* test_base64.c -- strict base64 decoding of tokens from Authorization headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base64.h"

static long dec(const char *s, uint8_t *out, size_t cap)
{
    return base64_decode(s, strlen(s), out, cap);
}

static void test_rfc4648_vectors_decode(void **state)
{
    static const struct {
        const char *in, *out;
    } v[] = {{"", ""},         {"Zg==", "f"},         {"Zm8=", "fo"},       {"Zm9v", "foo"},
             {"Zm9vYg==", "foob"}, {"Zm9vYmE=", "fooba"}, {"Zm9vYmFy", "foobar"}};
    uint8_t out[16];
    size_t k;

    (void)state;
    for (k = 0; k < sizeof v / sizeof v[0]; k++) {
        long n = dec(v[k].in, out, sizeof out);
        assert_int_equal(n, (long)strlen(v[k].out));
        assert_memory_equal(out, v[k].out, (size_t)n);
    }
}

static void test_padding_is_optional(void **state)
{
    uint8_t out[8];

    (void)state;
    assert_int_equal(dec("Zg", out, sizeof out), 1);
    assert_int_equal(out[0], 'f');
    assert_int_equal(dec("Zm8", out, sizeof out), 2);
    assert_memory_equal(out, "fo", 2);
}

static void test_curl_basic_credentials_decode(void **state)
{
    uint8_t out[16];
    long n;

    (void)state;
    n = dec("dXNlcjpwYXNz", out, sizeof out);
    assert_int_equal(n, 9);
    assert_memory_equal(out, "user:pass", 9);
}

static void test_full_alphabet_including_plus_and_slash(void **state)
{
    uint8_t out[3];

    (void)state;
    assert_int_equal(dec("+/+/", out, sizeof out), 3);
    assert_int_equal(out[0], 0xfb);
    assert_int_equal(out[1], 0xff);
    assert_int_equal(out[2], 0xbf);
}

static void test_bad_characters_rejected(void **state)
{
    static const char *bad[] = {"Zm9v YmFy", "Zm9v\nYmFy", "Zm9v-_", "Zm9v!", "Zm\x80v", "Zm9v\tYg"};
    uint8_t out[16];
    size_t k;

    (void)state;
    for (k = 0; k < sizeof bad / sizeof bad[0]; k++)
        assert_int_equal(dec(bad[k], out, sizeof out), -1);
}

static void test_embedded_nul_rejected(void **state)
{
    uint8_t out[16];

    (void)state;
    assert_int_equal(base64_decode("Zm\0v", 4, out, sizeof out), -1);
}

static void test_misplaced_or_excess_padding_rejected(void **state)
{
    static const char *bad[] = {"Zg=", "Z===", "Zm=9", "=Zm9", "Zg===", "Zm9vY", "===="};
    uint8_t out[16];
    size_t k;

    (void)state;
    for (k = 0; k < sizeof bad / sizeof bad[0]; k++)
        assert_int_equal(dec(bad[k], out, sizeof out), -1);
}

static void test_output_bounded_by_capacity(void **state)
{
    uint8_t out[8];

    (void)state;
    memset(out, 0xee, sizeof out);
    assert_int_equal(dec("Zm9vYmFy", out, 5), -1); /* needs 6 */
    assert_int_equal(out[5], 0xee);                 /* nothing written past cap */
    assert_int_equal(dec("Zm9vYmFy", out, 6), 6);
    assert_int_equal(dec("Zm9vYg", out, 3), -1); /* needs 4 */
}

static void test_length_is_not_read_from_nul(void **state)
{
    uint8_t out[8];

    (void)state;
    /* Only the first 4 bytes count; the rest of the C string is ignored. */
    assert_int_equal(base64_decode("Zm9v!!!!", 4, out, sizeof out), 3);
    assert_memory_equal(out, "foo", 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors_decode),
        cmocka_unit_test(test_padding_is_optional),
        cmocka_unit_test(test_curl_basic_credentials_decode),
        cmocka_unit_test(test_full_alphabet_including_plus_and_slash),
        cmocka_unit_test(test_bad_characters_rejected),
        cmocka_unit_test(test_embedded_nul_rejected),
        cmocka_unit_test(test_misplaced_or_excess_padding_rejected),
        cmocka_unit_test(test_output_bounded_by_capacity),
        cmocka_unit_test(test_length_is_not_read_from_nul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
