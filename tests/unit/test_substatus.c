/* test_substatus.c -- IIS 401.x substatus found in real error page texts,
 * never invented from generic 401 pages or version numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "substatus.h"

static int find(const char *body, char out[SUBSTATUS_MAX])
{
    memset(out, 'x', SUBSTATUS_MAX);
    return substatus_find(body, strlen(body), out);
}

static void expect(const char *body, const char *want)
{
    char out[SUBSTATUS_MAX];
    if (find(body, out) != 1)
        fail_msg("no substatus in: %s", body);
    assert_string_equal(out, want);
}

static void expect_none(const char *body)
{
    char out[SUBSTATUS_MAX];
    if (find(body, out) != 0)
        fail_msg("unexpected substatus %s in: %s", out, body);
}

static void test_iis7_detailed_error_heading(void **state)
{
    (void)state;
    expect("<html><head><title>IIS 10.0 Detailed Error - 401.2 - Unauthorized</title></head>"
           "<body><h3>HTTP Error 401.2 - Unauthorized</h3>", "401.2");
    expect("<h3>HTTP Error 401.1 - Unauthorized</h3>", "401.1");
}

static void test_iis6_error_texts(void **state)
{
    (void)state;
    expect("<h2>HTTP Error 401.3 - Unauthorized: Access is denied due to an ACL set on the "
           "requested resource.</h2>", "401.3");
    expect("HTTP 401.1 - Unauthorized: Logon Failed", "401.1");
    expect("Error 401.5 - Unauthorized: Authorization failed by ISAPI/CGI application.", "401.5");
    expect("http error 401.4", "401.4"); /* case-insensitive, cut at the end */
}

static void test_dynamic_ip_restriction_substatus(void **state)
{
    (void)state;
    expect("<h3>HTTP Error 401.501 - Unauthorized</h3>", "401.501");
    expect("<h3>HTTP Error 401.503 - Unauthorized</h3>", "401.503");
}

static void test_generic_pages_give_none(void **state)
{
    (void)state;
    expect_none("<title>401 Authorization Required</title><h1>Authorization Required</h1>"
                "<address>Apache/2.4.57 (Debian) Server at intranet Port 80</address>");
    expect_none("<html><head><title>401 Unauthorized</title></head><center><h1>401 "
                "Authorization Required</h1></center><hr><center>nginx/1.22.1</center>");
    expect_none("");
}

static void test_numbers_that_only_look_like_substatus_are_ignored(void **state)
{
    (void)state;
    expect_none("version 2.401.3 released");
    expect_none("HTTP Error 1401.3");
    expect_none("HTTP Error 401.3.7");
    expect_none("HTTP Error 401.1234");
    expect_none("Price 401.3 dollars");
    expect_none("Error401.3"); /* no separator */
    expect_none("HTTP Error 401.");
}

static void test_length_bounds_the_scan(void **state)
{
    (void)state;
    char out[SUBSTATUS_MAX];
    const char *body = "HTTP Error 401.3 - Unauthorized";
    /* Only "HTTP Error 40" given: nothing found, nothing read beyond. */
    assert_int_equal(substatus_find(body, 13, out), 0);
    assert_int_equal(substatus_find(body, 16, out), 1);
    assert_string_equal(out, "401.3");
    assert_int_equal(substatus_find(NULL, 0, out), 0);
}

static void test_non_utf8_bytes_around_the_text(void **state)
{
    (void)state;
    expect("\xff\xfe\x80 Erreur \xe9 HTTP Error 401.2 - Non autoris\xe9", "401.2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iis7_detailed_error_heading),
        cmocka_unit_test(test_iis6_error_texts),
        cmocka_unit_test(test_dynamic_ip_restriction_substatus),
        cmocka_unit_test(test_generic_pages_give_none),
        cmocka_unit_test(test_numbers_that_only_look_like_substatus_are_ignored),
        cmocka_unit_test(test_length_bounds_the_scan),
        cmocka_unit_test(test_non_utf8_bytes_around_the_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
