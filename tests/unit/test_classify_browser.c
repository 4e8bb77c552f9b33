/* test_classify_browser.c -- SPEC §2b as docs/BROWSERS.md states it: for an
 * integrated scheme offered to an anonymous request, the prompt per browser
 * family and OS, host kind (dotless, dotted, IP) and AuthAllowlist; and the
 * per-family rule for auth dialogs of embedded images (cross-site for
 * Chromium, cross-origin for Firefox). One row per case, read like the doc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "challenge.h"
#include "classify.h"
#include "zone.h"

#define UA_EDGE_WIN "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
#define UA_CHROME_WIN "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
#define UA_CHROME_LINUX "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
#define UA_CHROME_MAC "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
#define UA_CHROME_CROS "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
#define UA_FIREFOX_WIN "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
#define UA_FIREFOX_LINUX "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
#define UA_SAFARI_MAC "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15"
#define UA_IE11 "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko"
#define UA_LEGACY_EDGE "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19045"
#define UA_CHROME_IOS "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1"

struct row {
    const char *name;
    const char *ua;        /* NULL: no User-Agent */
    const char *platform;  /* Sec-CH-UA-Platform or NULL */
    const char *url;
    const char *challenge; /* WWW-Authenticate */
    bool allowlist;        /* AuthAllowlist "*.corp.example 10.9.0.0/16 wiki" */
    const char *parent;    /* html_parent, or NULL for a page */
    enum event_object object;
    enum event_prompt want;
    const char *browser;   /* expected ev.browser */
    const char *hint_has;  /* NULL: not checked */
};

static const struct row rows[] = {
    /* Chromium on Windows, no AuthServerAllowlist: the zones decide */
    { "edge/windows dotless", UA_EDGE_WIN, NULL, "http://intranet/a", "Negotiate", false, NULL, 0,
      PROMPT_SILENT, "edge/windows", NULL },
    { "edge/windows dotted", UA_EDGE_WIN, NULL, "http://www.corp.example/a", "Negotiate", false,
      NULL, 0, PROMPT_NOT_INTRANET, "edge/windows", "AuthServerAllowlist" },
    { "edge/windows IntranetHosts", UA_EDGE_WIN, NULL, "http://app.intra.example/a", "NTLM", false,
      NULL, 0, PROMPT_SILENT, "edge/windows", NULL },
    { "chrome/windows IP", UA_CHROME_WIN, NULL, "http://10.1.2.3/a", "Negotiate, NTLM", false, NULL,
      0, PROMPT_NOT_INTRANET, "chrome/windows", "is an IP address" },
    /* Chromium on Windows with AuthServerAllowlist set: only the list counts */
    { "edge/windows allowlisted", UA_EDGE_WIN, NULL, "http://www.corp.example/a", "Negotiate", true,
      NULL, 0, PROMPT_SILENT, "edge/windows", NULL },
    { "edge/windows dotless not in allowlist", UA_EDGE_WIN, NULL, "http://intranet/a", "Negotiate",
      true, NULL, 0, PROMPT_NOT_ALLOWLISTED, "edge/windows", "Local intranet zone no longer counts" },
    { "chrome/windows IP allowlisted by CIDR", UA_CHROME_WIN, NULL, "http://10.9.1.1/a", "NTLM",
      true, NULL, 0, PROMPT_SILENT, "chrome/windows", NULL },
    /* Chromium elsewhere: AuthServerAllowlist only, unset means none */
    { "chrome/linux dotless, no allowlist", UA_CHROME_LINUX, NULL, "http://intranet/a", "Negotiate",
      false, NULL, 0, PROMPT_NOT_ALLOWLISTED, "chrome/linux", "AuthServerAllowlist" },
    { "chrome/linux Negotiate alone shows the 401 page", UA_CHROME_LINUX, NULL,
      "http://www.corp.example/a", "Negotiate", false, NULL, 0, PROMPT_NOT_ALLOWLISTED,
      "chrome/linux", "no box" },
    { "chrome/linux allowlisted", UA_CHROME_LINUX, NULL, "http://www.corp.example/a", "Negotiate",
      true, NULL, 0, PROMPT_SILENT, "chrome/linux", NULL },
    { "chrome/linux allowlisted dotless name", UA_CHROME_LINUX, NULL, "http://wiki/a",
      "Negotiate, NTLM", true, NULL, 0, PROMPT_SILENT, "chrome/linux", NULL },
    { "chrome/linux NTLM never logs on by itself", UA_CHROME_LINUX, NULL,
      "http://www.corp.example/a", "NTLM", true, NULL, 0, PROMPT_NOT_ALLOWLISTED, "chrome/linux",
      "never logs on by itself with NTLM" },
    { "chrome/macos not allowlisted", UA_CHROME_MAC, NULL, "http://www.corp.example/a",
      "Negotiate, Basic realm=\"x\"", false, NULL, 0, PROMPT_NOT_ALLOWLISTED, "chrome/macos", NULL },
    { "chrome/chromeos allowlisted", UA_CHROME_CROS, NULL, "http://www.corp.example/a", "Negotiate",
      true, NULL, 0, PROMPT_SILENT, "chrome/chromeos", NULL },
    { "Sec-CH-UA-Platform Windows makes chrome use zones", UA_CHROME_LINUX, "\"Windows\"",
      "http://intranet/a", "Negotiate", false, NULL, 0, PROMPT_SILENT, "chrome/windows", NULL },
    /* Firefox: trusted-uris on every OS, dotless needs allow-non-fqdn */
    { "firefox/windows dotless not trusted", UA_FIREFOX_WIN, NULL, "http://intranet/a", "Negotiate",
      false, NULL, 0, PROMPT_NOT_ALLOWLISTED, "firefox/windows", "allow-non-fqdn" },
    { "firefox/linux dotted not trusted", UA_FIREFOX_LINUX, NULL, "http://www.corp.example/a",
      "NTLM", false, NULL, 0, PROMPT_NOT_ALLOWLISTED, "firefox/linux",
      "network.negotiate-auth.trusted-uris" },
    { "firefox/linux trusted", UA_FIREFOX_LINUX, NULL, "http://www.corp.example/a", "Negotiate",
      true, NULL, 0, PROMPT_SILENT, "firefox/linux", NULL },
    /* IE, legacy Edge, Safari, iOS, no User-Agent: the KB's zone rule */
    { "ie/windows dotless", UA_IE11, NULL, "http://intranet/a", "NTLM", true, NULL, 0, PROMPT_SILENT,
      "ie/windows", NULL },
    { "ie/windows dotted ignores AuthAllowlist", UA_IE11, NULL, "http://www.corp.example/a", "NTLM",
      true, NULL, 0, PROMPT_NOT_INTRANET, "ie/windows", "Local intranet zone" },
    { "legacy edge dotless", UA_LEGACY_EDGE, NULL, "http://intranet/a", "Negotiate", true, NULL, 0,
      PROMPT_SILENT, "edge/windows", NULL },
    { "safari/macos dotless", UA_SAFARI_MAC, NULL, "http://intranet/a", "Negotiate", false, NULL, 0,
      PROMPT_SILENT, "safari/macos", NULL },
    { "chrome/ios is WebKit", UA_CHROME_IOS, NULL, "http://www.corp.example/a", "Negotiate", false,
      NULL, 0, PROMPT_NOT_INTRANET, "chrome/ios", NULL },
    { "no User-Agent dotless", NULL, NULL, "http://intranet/a", "Negotiate", true, NULL, 0,
      PROMPT_SILENT, "other/other", NULL },
    { "no User-Agent dotted", NULL, NULL, "http://www.corp.example/a", "Negotiate", true, NULL, 0,
      PROMPT_NOT_INTRANET, "other/other", NULL },
    /* Basic and Digest prompt in every browser */
    { "chrome/linux basic", UA_CHROME_LINUX, NULL, "http://intranet/a", "Basic realm=\"r\"", true,
      NULL, 0, PROMPT_BASIC, "chrome/linux", NULL },
    /* Embedded images: Chromium blocks the dialog for another site */
    { "chrome cross-site image", UA_CHROME_WIN, NULL, "http://img.other.example/x.gif",
      "Basic realm=\"r\"", false, "http://www.corp.example/", OBJECT_IMAGE, PROMPT_SUPPRESSED,
      "chrome/windows", NULL },
    { "chrome same-site other-origin image", UA_CHROME_WIN, NULL, "http://img.corp.example/x.gif",
      "Basic realm=\"r\"", false, "http://www.corp.example/", OBJECT_IMAGE, PROMPT_BASIC,
      "chrome/windows", NULL },
    { "chrome same-site script is not blocked", UA_CHROME_WIN, NULL,
      "http://js.other.example/x.js", "Basic realm=\"r\"", false, "http://www.corp.example/",
      OBJECT_SCRIPT, PROMPT_BASIC, "chrome/windows", NULL },
    { "chrome mixed-content image", UA_CHROME_LINUX, NULL, "http://img.corp.example/x.gif",
      "Basic realm=\"r\"", false, "https://www.corp.example/", OBJECT_IMAGE, PROMPT_SUPPRESSED,
      "chrome/linux", NULL },
    { "chrome not-allowlisted cross-site image", UA_CHROME_LINUX, NULL,
      "http://img.other.example/x.gif", "NTLM", false, "http://www.corp.example/", OBJECT_IMAGE,
      PROMPT_SUPPRESSED, "chrome/linux", NULL },
    /* Firefox blocks the dialog for another origin */
    { "firefox same-site other-origin image", UA_FIREFOX_LINUX, NULL,
      "http://img.corp.example/x.gif", "Basic realm=\"r\"", false, "http://www.corp.example/",
      OBJECT_IMAGE, PROMPT_SUPPRESSED, "firefox/linux", NULL },
    { "firefox other port image", UA_FIREFOX_LINUX, NULL, "http://www.corp.example:8080/x.gif",
      "Basic realm=\"r\"", false, "http://www.corp.example/", OBJECT_IMAGE, PROMPT_SUPPRESSED,
      "firefox/linux", NULL },
    { "firefox same-origin image, default port spelled", UA_FIREFOX_LINUX, NULL,
      "http://WWW.corp.example:80/x.gif", "Basic realm=\"r\"", false, "http://www.corp.example/",
      OBJECT_IMAGE, PROMPT_BASIC, "firefox/linux", NULL },
    { "firefox cross-origin script", UA_FIREFOX_LINUX, NULL, "http://js.other.example/x.js",
      "Basic realm=\"r\"", false, "http://www.corp.example/", OBJECT_SCRIPT, PROMPT_BASIC,
      "firefox/linux", NULL },
    /* IE and unknown: the §2 cross-site image rule, unchanged */
    { "ie same-site other-origin image", UA_IE11, NULL, "http://img.corp.example/x.gif",
      "Basic realm=\"r\"", false, "http://www.corp.example/", OBJECT_IMAGE, PROMPT_BASIC,
      "ie/windows", NULL },
    { "no UA cross-site image", NULL, NULL, "http://img.other.example/x.gif", "Basic realm=\"r\"",
      false, "http://www.corp.example/", OBJECT_IMAGE, PROMPT_SUPPRESSED, "other/other", NULL },
};

static struct zone_rules *intranet_rules;
static struct zone_rules *allow_rules;

static int setup(void **state)
{
    (void)state;
    char err[256];
    intranet_rules = zone_rules_new();
    allow_rules = zone_rules_new();
    if (intranet_rules == NULL || allow_rules == NULL)
        return -1;
    if (zone_rules_add(intranet_rules, "*.intra.example", err, sizeof err) != 0 ||
        zone_rules_add(allow_rules, "*.corp.example", err, sizeof err) != 0 ||
        zone_rules_add(allow_rules, "10.9.0.0/16", err, sizeof err) != 0 ||
        zone_rules_add(allow_rules, "wiki", err, sizeof err) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    zone_rules_free(intranet_rules);
    zone_rules_free(allow_rules);
    return 0;
}

static void run_row(const struct row *r)
{
    struct classify_config cfg;
    struct classify_input in;
    struct challenge_set set;
    struct event ev;

    memset(&cfg, 0, sizeof cfg);
    classify_config_default_handlers(&cfg);
    cfg.intranet = intranet_rules;
    cfg.allowlist = r->allowlist ? allow_rules : NULL;
    challenge_set_init(&set);
    (void)challenge_parse(&set, r->challenge, strlen(r->challenge));
    memset(&in, 0, sizeof in);
    in.client = "10.1.2.3";
    in.method = "GET";
    in.url = r->url;
    in.status = 401;
    in.challenges = &set;
    in.user_agent = r->ua;
    in.sec_ch_ua_platform = r->platform;
    in.html_parent = r->parent;
    in.html_object = r->object;
    if (r->parent != NULL)
        in.sec_fetch_dest = r->object == OBJECT_IMAGE ? "image" : "script";
    if (classify(&cfg, &in, &ev) != 1)
        fail_msg("%s: no event", r->name);
    if (ev.prompt != r->want)
        fail_msg("%s: prompt %s, want %s (hint: %s)", r->name, event_prompt_name(ev.prompt),
                 event_prompt_name(r->want), ev.hint);
    if (strcmp(ev.browser, r->browser) != 0)
        fail_msg("%s: browser %s, want %s", r->name, ev.browser, r->browser);
    if (r->hint_has != NULL && strstr(ev.hint, r->hint_has) == NULL)
        fail_msg("%s: hint \"%s\" lacks \"%s\"", r->name, ev.hint, r->hint_has);
    if (ev.hint[0] == '\0')
        fail_msg("%s: no hint", r->name);
}

static void test_prompt_per_browser_host_and_allowlist(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        run_row(&rows[i]);
}

/* Every event names the browser, also the ones that are not rule 4. */
static void test_browser_filled_for_proxy_auth_and_rejected(void **state)
{
    (void)state;
    struct classify_config cfg;
    struct classify_input in;
    struct challenge_set set;
    struct event ev;

    memset(&cfg, 0, sizeof cfg);
    challenge_set_init(&set);
    (void)challenge_parse(&set, "Basic realm=\"p\"", 15);
    memset(&in, 0, sizeof in);
    in.url = "http://www.corp.example/";
    in.status = 407;
    in.challenges = &set;
    in.user_agent = UA_FIREFOX_LINUX;
    assert_int_equal(classify(&cfg, &in, &ev), 1);
    assert_string_equal(ev.browser, "firefox/linux");
    in.status = 401;
    in.authorization = "Basic YWxpY2U6c2VjcmV0";
    in.user_agent = UA_SAFARI_MAC;
    assert_int_equal(classify(&cfg, &in, &ev), 1);
    assert_int_equal(ev.prompt, PROMPT_REJECTED);
    assert_string_equal(ev.browser, "safari/macos");
    assert_null(strstr(ev.hint, "AuthServerAllowlist"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prompt_per_browser_host_and_allowlist),
        cmocka_unit_test(test_browser_filled_for_proxy_auth_and_rejected),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
