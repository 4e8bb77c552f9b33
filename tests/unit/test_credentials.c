/* test_credentials.c -- what the client sent in Authorization: scheme (SPEC §3
 * auth_sent) and the identity an event may log, never the password. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "credentials.h"
#include "ntlm_build.h"

static int inspect(const char *v, struct credentials *c)
{
    return credentials_inspect(v, strlen(v), c);
}

/* "scheme " + base64(msg) into hdr. */
static void header_of(char *hdr, size_t cap, const char *scheme, const uint8_t *msg, size_t n)
{
    size_t k = (size_t)snprintf(hdr, cap, "%s ", scheme);
    assert_true(ntlm_build_base64(msg, n, hdr + k, cap - k) > 0);
}

static size_t build_t3(uint8_t *buf, size_t cap, const char *dom, const char *user, bool unicode)
{
    struct ntlm_build_type3 o;
    size_t n;

    memset(&o, 0, sizeof o);
    o.domain = dom;
    o.user = user;
    o.workstation = "WS01";
    o.unicode = unicode;
    n = ntlm_build_type3(buf, cap, &o);
    assert_true(n > 0);
    return n;
}

static void test_absent_header_is_none(void **state)
{
    struct credentials c;

    (void)state;
    assert_int_equal(credentials_inspect(NULL, 0, &c), 0);
    assert_int_equal(c.sent, AUTH_SENT_NONE);
    assert_string_equal(c.user, "");
    assert_int_equal(credentials_inspect("Basic x", 0, &c), 0);
    assert_int_equal(c.sent, AUTH_SENT_NONE);
}

static void test_curl_basic_user_before_colon(void **state)
{
    struct credentials c;

    (void)state;
    assert_int_equal(inspect("Basic dXNlcjpwYXNz", &c), 0); /* user:pass */
    assert_int_equal(c.sent, AUTH_SENT_BASIC);
    assert_string_equal(c.user, "user");
    assert_false(c.malformed);
    assert_int_equal(c.ntlm_type, 0);
}

static void test_basic_password_with_colons_never_kept(void **state)
{
    struct credentials c;
    uint8_t cred[] = "bob:se:cr:et";
    char hdr[64];

    (void)state;
    header_of(hdr, sizeof hdr, "Basic", cred, sizeof cred - 1);
    assert_int_equal(inspect(hdr, &c), 0);
    assert_string_equal(c.user, "bob");
    assert_null(memmem(&c, sizeof c, "se:cr", 5));
    assert_null(memmem(&c, sizeof c, "cr:et", 5));
}

static void test_basic_without_colon_gives_no_user(void **state)
{
    struct credentials c;

    (void)state;
    assert_int_equal(inspect("Basic c2VjcmV0", &c), 0); /* "secret" */
    assert_int_equal(c.sent, AUTH_SENT_BASIC);
    assert_string_equal(c.user, "");
    assert_null(memmem(&c, sizeof c, "secret", 6));
}

static void test_basic_scheme_case_insensitive_and_extra_spaces(void **state)
{
    struct credentials c;

    (void)state;
    assert_int_equal(inspect("  bAsIc   dXNlcjpwYXNz  ", &c), 0);
    assert_int_equal(c.sent, AUTH_SENT_BASIC);
    assert_string_equal(c.user, "user");
}

static void test_basic_utf8_and_latin1_users(void **state)
{
    struct credentials c;
    uint8_t utf8[] = "j\xc3\xa9r\xc3\xb4me:pw", latin1[] = "j\xe9r\xf4me:pw";
    char hdr[64];

    (void)state;
    header_of(hdr, sizeof hdr, "Basic", utf8, sizeof utf8 - 1);
    assert_int_equal(inspect(hdr, &c), 0);
    assert_string_equal(c.user, "j\xc3\xa9r\xc3\xb4me");
    header_of(hdr, sizeof hdr, "Basic", latin1, sizeof latin1 - 1);
    assert_int_equal(inspect(hdr, &c), 0);
    assert_string_equal(c.user, "j\xc3\xa9r\xc3\xb4me");
}

static void test_basic_control_characters_in_user_replaced(void **state)
{
    struct credentials c;
    uint8_t cred[] = "ev\nil\x1b\x7f:pw";
    char hdr[64];

    (void)state;
    header_of(hdr, sizeof hdr, "Basic", cred, sizeof cred - 1);
    assert_int_equal(inspect(hdr, &c), 0);
    assert_string_equal(c.user, "ev?il??");
}

static void test_basic_long_user_truncated(void **state)
{
    struct credentials c;
    uint8_t cred[1100];
    char hdr[1600];

    (void)state;
    memset(cred, 'u', 1000);
    memcpy(cred + 1000, ":pw", 3);
    header_of(hdr, sizeof hdr, "Basic", cred, 1003);
    assert_int_equal(inspect(hdr, &c), 0);
    assert_int_equal(strlen(c.user), CREDENTIALS_USER_MAX - 1);
}

static void test_basic_garbage_base64_malformed(void **state)
{
    struct credentials c;

    (void)state;
    assert_int_equal(inspect("Basic ***not base64***", &c), -1);
    assert_int_equal(c.sent, AUTH_SENT_BASIC);
    assert_true(c.malformed);
    assert_string_equal(c.user, "");
    assert_int_equal(inspect("Basic", &c), -1);
    assert_int_equal(c.sent, AUTH_SENT_BASIC);
    assert_int_equal(inspect("Basic dXNl cjpw", &c), -1);
}

static void test_digest_username_quoted(void **state)
{
    struct credentials c;

    (void)state;
    assert_int_equal(inspect("Digest username=\"Mufasa\", realm=\"http-auth@example.org\", "
                             "uri=\"/dir/index.html\", algorithm=MD5, nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
                             "nc=00000001, cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, "
                             "response=\"8ca523f5e9506fed4657c9700eebdbec\", opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"",
                             &c),
                     0);
    assert_int_equal(c.sent, AUTH_SENT_DIGEST);
    assert_string_equal(c.user, "Mufasa");
}

static void test_digest_username_escaped_quote(void **state)
{
    struct credentials c;

    (void)state;
    assert_int_equal(inspect("Digest realm=\"r\", username=\"a\\\"b\"", &c), 0);
    assert_string_equal(c.user, "a\"b");
}

static void test_digest_extended_username(void **state)
{
    struct credentials c;

    (void)state;
    /* RFC 7616 §3.9.2: username*=UTF-8''J%C3%A4s%C3%B8n%20Doe */
    assert_int_equal(inspect("Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, realm=\"api@example.org\", "
                             "userhash=false",
                             &c),
                     0);
    assert_string_equal(c.user, "J\xc3\xa4s\xc3\xb8n Doe");
}

static void test_digest_unterminated_is_malformed(void **state)
{
    struct credentials c;

    (void)state;
    assert_int_equal(inspect("Digest username=\"bob", &c), -1);
    assert_int_equal(c.sent, AUTH_SENT_DIGEST);
    assert_true(c.malformed);
}

static void test_chrome_ntlm_type1_no_user(void **state)
{
    struct credentials c;

    (void)state;
    assert_int_equal(inspect("NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAF1YAAAADw==", &c), 0);
    assert_int_equal(c.sent, AUTH_SENT_NTLM);
    assert_int_equal(c.ntlm_type, 1);
    assert_string_equal(c.user, "");
}

static void test_ntlm_type3_domain_user_utf16(void **state)
{
    uint8_t t3[512];
    char hdr[1024];
    size_t n = build_t3(t3, sizeof t3, "CORP", "alice", true);
    struct credentials c;

    (void)state;
    header_of(hdr, sizeof hdr, "NTLM", t3, n);
    assert_int_equal(inspect(hdr, &c), 0);
    assert_int_equal(c.sent, AUTH_SENT_NTLM);
    assert_int_equal(c.ntlm_type, 3);
    assert_string_equal(c.user, "CORP\\alice");
}

/* A type-3 captured from a PHP SharePoint client: 64-byte header (no Version or
 * MIC), OEM strings, empty domain. */
static void test_captured_oem_type3_without_version_field(void **state)
{
    struct credentials c;

    (void)state;
    assert_int_equal(inspect("NTLM TlRMTVNTUAADAAAAGAAYAEAAAAAYABgAWAAAAAAAAABwAAAADQANAHAAAAAHAAcAfQAAAAAAAAAAAAAABoKKAsYShl5zuVC9"
                             "AAAAAAAAAAAAAAAAAAAAAFZsTvKBUI5AM1JO4NVMXQMwMDoF1vQOP2FkbWluaXN0cmF0b3Jhc3VzaXRv",
                             &c),
                     0);
    assert_int_equal(c.sent, AUTH_SENT_NTLM);
    assert_int_equal(c.ntlm_type, 3);
    assert_string_equal(c.user, "administrator");
}

static void test_ntlm_type3_oem_and_empty_domain(void **state)
{
    uint8_t t3[512];
    char hdr[1024];
    size_t n = build_t3(t3, sizeof t3, "", "alice", false);
    struct credentials c;

    (void)state;
    header_of(hdr, sizeof hdr, "NTLM", t3, n);
    assert_int_equal(inspect(hdr, &c), 0);
    assert_string_equal(c.user, "alice");
}

static void test_ntlm_type3_max_length_names_fit(void **state)
{
    char dom[200], user[200];
    uint8_t t3[2048];
    char hdr[4096];
    size_t n;
    struct credentials c;

    (void)state;
    memset(dom, 'D', 199);
    dom[199] = '\0';
    memset(user, 'U', 199);
    user[199] = '\0';
    n = build_t3(t3, sizeof t3, dom, user, true);
    header_of(hdr, sizeof hdr, "NTLM", t3, n);
    assert_int_equal(inspect(hdr, &c), 0);
    assert_int_equal(strlen(c.user), 2 * (NTLM_NAME_MAX - 1) + 1);
    assert_int_equal(c.user[NTLM_NAME_MAX - 1], '\\');
}

static void test_ntlm_type3_lying_offset_malformed(void **state)
{
    uint8_t t3[512];
    char hdr[1024];
    struct ntlm_build_type3 o;
    size_t n;
    struct credentials c;

    (void)state;
    memset(&o, 0, sizeof o);
    o.domain = "CORP";
    o.user = "alice";
    o.unicode = true;
    o.lie[NB_USER] = true;
    o.lie_offset[NB_USER] = 0xFFFFFFF0u;
    o.lie_len[NB_USER] = 0x20;
    n = ntlm_build_type3(t3, sizeof t3, &o);
    header_of(hdr, sizeof hdr, "NTLM", t3, n);
    assert_int_equal(inspect(hdr, &c), -1);
    assert_int_equal(c.sent, AUTH_SENT_NTLM);
    assert_int_equal(c.ntlm_type, 3);
    assert_true(c.malformed);
    assert_string_equal(c.user, "");
}

static void test_ntlm_garbage_base64_malformed(void **state)
{
    struct credentials c;

    (void)state;
    assert_int_equal(inspect("NTLM %%%%", &c), -1);
    assert_int_equal(c.sent, AUTH_SENT_NTLM);
    assert_int_equal(inspect("NTLM aGVsbG8gd29ybGQ=", &c), -1); /* "hello world" */
    assert_int_equal(c.ntlm_type, 0);
}

static void test_negotiate_raw_ntlmssp_is_negotiate_ntlm(void **state)
{
    struct credentials c;

    (void)state;
    assert_int_equal(inspect("Negotiate TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAF1YAAAADw==", &c), 0);
    assert_int_equal(c.sent, AUTH_SENT_NEGOTIATE_NTLM);
    assert_int_equal(c.ntlm_type, 1);
}

static void test_negotiate_resp_type3_gives_user(void **state)
{
    uint8_t t3[512], tok[768];
    char hdr[2048];
    size_t n3 = build_t3(t3, sizeof t3, "CORP", "alice", true);
    size_t n = spnego_build_resp(tok, sizeof tok, -1, false, NB_OID_NTLMSSP, t3, n3);
    struct credentials c;

    (void)state;
    header_of(hdr, sizeof hdr, "Negotiate", tok, n);
    assert_int_equal(inspect(hdr, &c), 0);
    assert_int_equal(c.sent, AUTH_SENT_NEGOTIATE_NTLM);
    assert_int_equal(c.ntlm_type, 3);
    assert_string_equal(c.user, "CORP\\alice");
}

static void test_negotiate_kerberos_init(void **state)
{
    static const enum ntlm_build_oid mechs[] = {NB_OID_MSKRB5, NB_OID_KRB5, NB_OID_NTLMSSP};
    uint8_t krb[128], tok[512];
    char hdr[1024];
    size_t kn = krb_build_gss(krb, sizeof krb);
    size_t n = spnego_build_init(tok, sizeof tok, mechs, 3, krb, kn);
    struct credentials c;

    (void)state;
    header_of(hdr, sizeof hdr, "Negotiate", tok, n);
    assert_int_equal(inspect(hdr, &c), 0);
    assert_int_equal(c.sent, AUTH_SENT_NEGOTIATE_KERBEROS);
    assert_string_equal(c.user, "");
    assert_false(c.malformed);
}

static void test_negotiate_ntlmssp_oid_with_type1(void **state)
{
    static const enum ntlm_build_oid mechs[] = {NB_OID_NTLMSSP};
    uint8_t t1[64], tok[256];
    char hdr[512];
    size_t n1 = ntlm_build_type1(t1, sizeof t1, 0xa2088207u);
    size_t n = spnego_build_init(tok, sizeof tok, mechs, 1, t1, n1);
    struct credentials c;

    (void)state;
    header_of(hdr, sizeof hdr, "Negotiate", tok, n);
    assert_int_equal(inspect(hdr, &c), 0);
    assert_int_equal(c.sent, AUTH_SENT_NEGOTIATE_NTLM);
    assert_int_equal(c.ntlm_type, 1);
}

static void test_negotiate_undecodable_is_other_malformed(void **state)
{
    struct credentials c;

    (void)state;
    assert_int_equal(inspect("Negotiate !!!", &c), -1);
    assert_int_equal(c.sent, AUTH_SENT_OTHER);
    assert_true(c.malformed);
    assert_int_equal(inspect("Negotiate aGVsbG8gd29ybGQ=", &c), -1); /* not a GSS token */
    assert_int_equal(c.sent, AUTH_SENT_OTHER);
    assert_true(c.malformed);
    assert_int_equal(inspect("Negotiate", &c), -1);
    assert_int_equal(c.sent, AUTH_SENT_OTHER);
}

static void test_negotiate_broken_ntlmssp_is_negotiate_ntlm_malformed(void **state)
{
    struct credentials c;

    (void)state;
    /* "NTLMSSP\0" + type 3 but far too short */
    assert_int_equal(inspect("Negotiate TlRMTVNTUAADAAAA", &c), -1);
    assert_int_equal(c.sent, AUTH_SENT_NEGOTIATE_NTLM);
    assert_int_equal(c.ntlm_type, 3);
    assert_true(c.malformed);
}

static void test_bearer_and_other_schemes(void **state)
{
    struct credentials c;

    (void)state;
    assert_int_equal(inspect("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.sig", &c), 0);
    assert_int_equal(c.sent, AUTH_SENT_BEARER);
    assert_string_equal(c.user, "");
    assert_int_equal(inspect("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830", &c), 0);
    assert_int_equal(c.sent, AUTH_SENT_OTHER);
    assert_int_equal(inspect("\x01garbage", &c), -1);
    assert_int_equal(c.sent, AUTH_SENT_OTHER);
}

static void test_value_read_only_within_length(void **state)
{
    const char full[] = "Basic dXNlcjpwYXNz";
    char *heap = malloc(sizeof full - 1); /* no NUL: ASan flags over-reads */
    struct credentials c;

    (void)state;
    assert_non_null(heap);
    memcpy(heap, full, sizeof full - 1);
    assert_int_equal(credentials_inspect(heap, sizeof full - 1, &c), 0);
    assert_string_equal(c.user, "user");
    /* Cut inside the token: "dXNlcjpw" = "user:p" */
    assert_int_equal(credentials_inspect(heap, 14, &c), 0);
    assert_string_equal(c.user, "user");
    free(heap);
}

static void test_every_truncated_ntlm_header_is_safe(void **state)
{
    uint8_t t3[512];
    char hdr[1024];
    size_t n = build_t3(t3, sizeof t3, "CORP", "alice", true), len, k;
    struct credentials c;

    (void)state;
    header_of(hdr, sizeof hdr, "NTLM", t3, n);
    len = strlen(hdr);
    for (k = 0; k <= len; k++) {
        char *h = malloc(k ? k : 1);
        int rc;
        assert_non_null(h);
        memcpy(h, hdr, k);
        rc = credentials_inspect(h, k, &c);
        assert_true(rc == 0 || rc == -1);
        assert_true(c.user[0] == '\0' || strcmp(c.user, "CORP\\alice") == 0);
        assert_int_equal(rc == -1, c.malformed);
        free(h);
    }
}

static void test_digest_long_utf8_username_cut_on_character(void **state)
{
    char hdr[2048];
    struct credentials c;
    size_t o, k, len;

    (void)state;
    o = (size_t)snprintf(hdr, sizeof hdr, "Digest username=\"a");
    for (k = 0; k < 100; k++) { /* U+1F600, 4 bytes each */
        memcpy(hdr + o, "\xf0\x9f\x98\x80", 4);
        o += 4;
    }
    snprintf(hdr + o, sizeof hdr - o, "\", realm=\"r\"");
    assert_int_equal(inspect(hdr, &c), 0);
    len = strlen(c.user);
    assert_true(len < CREDENTIALS_USER_MAX && len >= CREDENTIALS_USER_MAX - 4);
    assert_int_equal((len - 1) % 4, 0); /* 'a' + whole characters only */
    assert_memory_equal(c.user, hdr + 17, len);
}

static void test_random_headers_never_crash(void **state)
{
    static const char *seeds[] = {"Basic dXNlcjpwYXNz", "Digest username=\"bob\", realm=\"r\"",
                                  "NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAF1YAAAADw==",
                                  "Negotiate YIIBhwYGKwYBBQUCoIIBezCCAXegMDAuBgkqhkiC9xIBAgIGCSqGSIb3EgECAgYKKwYBBAGCNwICHgYKKwYBBAGCNwICCqKCAUEEggE9"};
    unsigned seed = 99;
    size_t k;

    (void)state;
    for (k = 0; k < 40000; k++) {
        const char *s = seeds[k % 4];
        size_t n = strlen(s), f;
        char *h = malloc(n);
        struct credentials c;
        assert_non_null(h);
        memcpy(h, s, n);
        for (f = 0; f < 1 + k % 3; f++) {
            seed = seed * 1103515245u + 12345u;
            h[(seed >> 8) % n] = (char)(seed >> 20);
        }
        assert_true(credentials_inspect(h, n, &c) >= -1);
        assert_true(strlen(c.user) < CREDENTIALS_USER_MAX);
        for (f = 0; c.user[f]; f++)
            assert_true((unsigned char)c.user[f] >= 0x20 && c.user[f] != 0x7f);
        free(h);
    }
}

static void test_sent_names_match_spec(void **state)
{
    (void)state;
    assert_string_equal(credentials_sent_name(AUTH_SENT_NONE), "none");
    assert_string_equal(credentials_sent_name(AUTH_SENT_BASIC), "basic");
    assert_string_equal(credentials_sent_name(AUTH_SENT_DIGEST), "digest");
    assert_string_equal(credentials_sent_name(AUTH_SENT_NTLM), "ntlm");
    assert_string_equal(credentials_sent_name(AUTH_SENT_NEGOTIATE_KERBEROS), "negotiate-kerberos");
    assert_string_equal(credentials_sent_name(AUTH_SENT_NEGOTIATE_NTLM), "negotiate-ntlm");
    assert_string_equal(credentials_sent_name(AUTH_SENT_BEARER), "bearer");
    assert_string_equal(credentials_sent_name(AUTH_SENT_OTHER), "other");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_absent_header_is_none),
        cmocka_unit_test(test_curl_basic_user_before_colon),
        cmocka_unit_test(test_basic_password_with_colons_never_kept),
        cmocka_unit_test(test_basic_without_colon_gives_no_user),
        cmocka_unit_test(test_basic_scheme_case_insensitive_and_extra_spaces),
        cmocka_unit_test(test_basic_utf8_and_latin1_users),
        cmocka_unit_test(test_basic_control_characters_in_user_replaced),
        cmocka_unit_test(test_basic_long_user_truncated),
        cmocka_unit_test(test_basic_garbage_base64_malformed),
        cmocka_unit_test(test_digest_username_quoted),
        cmocka_unit_test(test_digest_username_escaped_quote),
        cmocka_unit_test(test_digest_extended_username),
        cmocka_unit_test(test_digest_unterminated_is_malformed),
        cmocka_unit_test(test_chrome_ntlm_type1_no_user),
        cmocka_unit_test(test_ntlm_type3_domain_user_utf16),
        cmocka_unit_test(test_captured_oem_type3_without_version_field),
        cmocka_unit_test(test_ntlm_type3_oem_and_empty_domain),
        cmocka_unit_test(test_ntlm_type3_max_length_names_fit),
        cmocka_unit_test(test_ntlm_type3_lying_offset_malformed),
        cmocka_unit_test(test_ntlm_garbage_base64_malformed),
        cmocka_unit_test(test_negotiate_raw_ntlmssp_is_negotiate_ntlm),
        cmocka_unit_test(test_negotiate_resp_type3_gives_user),
        cmocka_unit_test(test_negotiate_kerberos_init),
        cmocka_unit_test(test_negotiate_ntlmssp_oid_with_type1),
        cmocka_unit_test(test_negotiate_undecodable_is_other_malformed),
        cmocka_unit_test(test_negotiate_broken_ntlmssp_is_negotiate_ntlm_malformed),
        cmocka_unit_test(test_bearer_and_other_schemes),
        cmocka_unit_test(test_value_read_only_within_length),
        cmocka_unit_test(test_every_truncated_ntlm_header_is_safe),
        cmocka_unit_test(test_digest_long_utf8_username_cut_on_character),
        cmocka_unit_test(test_random_headers_never_crash),
        cmocka_unit_test(test_sent_names_match_spec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
