/* test_zone.c -- intranet decisions (KB 258063 periods rule plus IntranetHosts
 * globs, regexes and CIDR networks) and registrable-domain sites. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "zone.h"

static bool intranet(const struct zone_rules *r, const char *host)
{
    return zone_is_intranet(r, host, strlen(host));
}

static struct zone_rules *rules_of(const char *const *patterns)
{
    char err[200];
    struct zone_rules *r = zone_rules_new();
    assert_non_null(r);
    for (size_t i = 0; patterns[i] != NULL; i++) {
        int rc = zone_rules_add(r, patterns[i], err, sizeof err);
        if (rc != 0)
            fail_msg("pattern %s rejected: %s", patterns[i], err);
    }
    return r;
}

static void test_dotless_host_is_intranet_without_rules(void **state)
{
    (void)state;
    assert_true(intranet(NULL, "webserver"));
    assert_true(intranet(NULL, "INTRANET"));
}

static void test_dotted_names_and_ip_literals_are_internet(void **state)
{
    (void)state;
    assert_false(intranet(NULL, "www.microsoft.com"));
    assert_false(intranet(NULL, "10.0.0.1"));
    assert_false(intranet(NULL, "::1"));   /* no period, still an IP */
    assert_false(intranet(NULL, "[fe80::1]"));
    assert_false(intranet(NULL, "webserver.")); /* trailing dot is a period */
    assert_false(intranet(NULL, ""));
}

static void test_ip_literal_recognition(void **state)
{
    (void)state;
    assert_true(zone_is_ip_literal("10.0.0.1", 8));
    assert_true(zone_is_ip_literal("2001:db8::1", 11));
    assert_true(zone_is_ip_literal("[2001:db8::1]", 13));
    assert_false(zone_is_ip_literal("999.1.1.1", 9));
    assert_false(zone_is_ip_literal("intranet", 8));
    assert_false(zone_is_ip_literal("10.0.0.1.example", 16));
    /* length is honoured: "10.0.0.1" followed by junk not counted */
    assert_true(zone_is_ip_literal("10.0.0.1junk", 8));
}

static void test_glob_lists_fqdn_case_insensitively(void **state)
{
    (void)state;
    const char *const pats[] = {"*.corp.example", "portal.partner.test", NULL};
    struct zone_rules *r = rules_of(pats);
    assert_int_equal(zone_rules_count(r), 2);
    assert_true(intranet(r, "intranet.corp.example"));
    assert_true(intranet(r, "A.B.CORP.EXAMPLE"));
    assert_true(intranet(r, "Portal.Partner.Test"));
    assert_false(intranet(r, "corp.example"));           /* '*.' needs a label */
    assert_false(intranet(r, "intranet.corp.example.evil.test")); /* anchored at the end */
    assert_false(intranet(r, "portalxpartner.test"));    /* '.' is literal */
    assert_true(intranet(r, "dotless"));                 /* rules add, never remove */
    zone_rules_free(r);
}

static void test_glob_question_mark_is_one_character(void **state)
{
    (void)state;
    const char *const pats[] = {"web?.corp.test", NULL};
    struct zone_rules *r = rules_of(pats);
    assert_true(intranet(r, "web1.corp.test"));
    assert_false(intranet(r, "web12.corp.test"));
    assert_false(intranet(r, "web.corp.test"));
    zone_rules_free(r);
}

static void test_regex_is_caseless_and_unanchored(void **state)
{
    (void)state;
    const char *const pats[] = {"/^srv[0-9]+\\.lan$/", "/intra/", NULL};
    struct zone_rules *r = rules_of(pats);
    assert_true(intranet(r, "SRV42.lan"));
    assert_false(intranet(r, "srv.lan"));
    assert_true(intranet(r, "my.intranet.example")); /* unanchored */
    assert_false(intranet(r, "www.example.com"));
    zone_rules_free(r);
}

static void test_cidr_v4_and_v6_list_ip_literals(void **state)
{
    (void)state;
    const char *const pats[] = {"10.0.0.0/8", "192.168.1.77", "fd00::/8", "172.16.5.9/12", NULL};
    struct zone_rules *r = rules_of(pats);
    assert_true(intranet(r, "10.200.3.4"));
    assert_false(intranet(r, "11.0.0.1"));
    assert_true(intranet(r, "192.168.1.77"));
    assert_false(intranet(r, "192.168.1.78"));
    assert_true(intranet(r, "[fd12:3456::1]"));
    assert_true(intranet(r, "fdff::1"));
    assert_false(intranet(r, "fe80::1"));
    assert_true(intranet(r, "172.31.255.255")); /* host bits of the pattern cleared */
    assert_false(intranet(r, "172.32.0.1"));
    /* v4 networks never match v6 hosts and vice versa */
    assert_false(intranet(r, "::ffff:10.0.0.1"));
    zone_rules_free(r);
}

static void test_bad_patterns_are_refused_with_reason(void **state)
{
    (void)state;
    char err[200];
    struct zone_rules *r = zone_rules_new();
    assert_non_null(r);
    err[0] = '\0';
    assert_int_equal(zone_rules_add(r, "/([unclosed/", err, sizeof err), -1);
    assert_true(strlen(err) > 0);
    err[0] = '\0';
    assert_int_equal(zone_rules_add(r, "10.0.0.0/33", err, sizeof err), -1);
    assert_non_null(strstr(err, "prefix"));
    assert_int_equal(zone_rules_add(r, "fd00::/129", err, sizeof err), -1);
    assert_int_equal(zone_rules_add(r, "10.0.0.0/", err, sizeof err), -1);
    assert_int_equal(zone_rules_add(r, "", err, sizeof err), -1);
    assert_int_equal(zone_rules_add(r, "a/b", err, sizeof err), -1);
    assert_int_equal(zone_rules_count(r), 0);
    zone_rules_free(r);
}

static void test_glob_metacharacters_are_literal(void **state)
{
    (void)state;
    const char *const pats[] = {"a+b(c).test", NULL};
    struct zone_rules *r = rules_of(pats);
    assert_true(intranet(r, "a+b(c).test"));
    assert_false(intranet(r, "aab(c).test"));
    zone_rules_free(r);
}

static void site_is(const char *host, const char *want)
{
    char out[256];
    assert_int_equal(zone_site_of(host, strlen(host), out, sizeof out), 0);
    assert_string_equal(out, want);
}

static void test_site_is_registrable_domain(void **state)
{
    (void)state;
    site_is("www.example.com", "example.com");
    site_is("IMG.CDN.Example.COM", "example.com");
    site_is("a.b.example.co.uk", "example.co.uk");
    site_is("intranet", "intranet");
    site_is("10.1.2.3", "10.1.2.3");
    site_is("[fd00::1]", "fd00::1");
    site_is("co.uk", "co.uk"); /* a public suffix is its own site */
}

static void test_site_refuses_small_buffer(void **state)
{
    (void)state;
    char out[4];
    assert_int_equal(zone_site_of("www.example.com", 15, out, sizeof out), -1);
}

struct thread_arg {
    const struct zone_rules *rules;
    int mismatches;
};

static void *hammer(void *p)
{
    struct thread_arg *a = p;
    for (int i = 0; i < 20000; i++) {
        if (!intranet(a->rules, "x.corp.example") || intranet(a->rules, "x.other.example"))
            a->mismatches++;
    }
    return NULL;
}

/* One rule set shared by threads, as in a c-icap child, gives stable answers. */
static void test_rules_are_shared_safely_between_threads(void **state)
{
    (void)state;
    const char *const pats[] = {"*.corp.example", "/^srv[0-9]+$/", NULL};
    struct zone_rules *r = rules_of(pats);
    pthread_t t[4];
    struct thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i].rules = r;
        args[i].mismatches = 0;
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(args[i].mismatches, 0);
    }
    zone_rules_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dotless_host_is_intranet_without_rules),
        cmocka_unit_test(test_dotted_names_and_ip_literals_are_internet),
        cmocka_unit_test(test_ip_literal_recognition),
        cmocka_unit_test(test_glob_lists_fqdn_case_insensitively),
        cmocka_unit_test(test_glob_question_mark_is_one_character),
        cmocka_unit_test(test_regex_is_caseless_and_unanchored),
        cmocka_unit_test(test_cidr_v4_and_v6_list_ip_literals),
        cmocka_unit_test(test_bad_patterns_are_refused_with_reason),
        cmocka_unit_test(test_glob_metacharacters_are_literal),
        cmocka_unit_test(test_site_is_registrable_domain),
        cmocka_unit_test(test_site_refuses_small_buffer),
        cmocka_unit_test(test_rules_are_shared_safely_between_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
