/* test_ntlm.c -- NTLMSSP message and SPNEGO token inspection: identities from
 * type-3 messages, mechanism detection, and refusal of lying or cut tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base64.h"
#include "ntlm.h"
#include "ntlm_build.h"
#include "tokfile.h"

/* A real Chrome type-1 NEGOTIATE message. */
static const char chrome_type1_b64[] = "TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAF1YAAAADw==";

static size_t build_t3(uint8_t *buf, size_t cap, const char *dom, const char *user, const char *ws,
                       bool unicode)
{
    struct ntlm_build_type3 o;
    size_t n;

    memset(&o, 0, sizeof o);
    o.domain = dom;
    o.user = user;
    o.workstation = ws;
    o.unicode = unicode;
    n = ntlm_build_type3(buf, cap, &o);
    assert_true(n > 0);
    return n;
}

/* Copy into an exact-size heap block so ASan flags any read past n. */
static uint8_t *exact(const uint8_t *p, size_t n)
{
    uint8_t *h = malloc(n ? n : 1);
    assert_non_null(h);
    memcpy(h, p, n);
    return h;
}

static void test_chrome_type1_recognised(void **state)
{
    uint8_t buf[64];
    long n = base64_decode(chrome_type1_b64, strlen(chrome_type1_b64), buf, sizeof buf);
    struct ntlm_info info;

    (void)state;
    assert_int_equal(n, 40);
    assert_int_equal(ntlm_inspect(buf, (size_t)n, &info), 0);
    assert_int_equal(info.type, 1);
    assert_string_equal(info.user, "");
}

static void test_type2_recognised(void **state)
{
    uint8_t buf[256];
    size_t n = ntlm_build_type2(buf, sizeof buf, "CORP", true);
    struct ntlm_info info;

    (void)state;
    assert_int_equal(ntlm_inspect(buf, n, &info), 0);
    assert_int_equal(info.type, 2);
}

static void test_type3_identity_utf16(void **state)
{
    uint8_t buf[512];
    size_t n = build_t3(buf, sizeof buf, "CORP", "alice", "WS01", true);
    struct ntlm_info info;

    (void)state;
    assert_int_equal(ntlm_inspect(buf, n, &info), 0);
    assert_int_equal(info.type, 3);
    assert_true(info.unicode);
    assert_string_equal(info.domain, "CORP");
    assert_string_equal(info.user, "alice");
    assert_string_equal(info.workstation, "WS01");
}

static void test_type3_identity_oem(void **state)
{
    uint8_t buf[512];
    size_t n = build_t3(buf, sizeof buf, "CORP", "alice", "WS01", false);
    struct ntlm_info info;

    (void)state;
    assert_int_equal(ntlm_inspect(buf, n, &info), 0);
    assert_false(info.unicode);
    assert_string_equal(info.domain, "CORP");
    assert_string_equal(info.user, "alice");
    assert_string_equal(info.workstation, "WS01");
}

static void test_type3_oem_latin1_converted_to_utf8(void **state)
{
    uint8_t buf[512];
    size_t n = build_t3(buf, sizeof buf, "CORP", "j\xe9r\xf4me", "WS01", false); /* Latin-1 */
    struct ntlm_info info;

    (void)state;
    assert_int_equal(ntlm_inspect(buf, n, &info), 0);
    assert_string_equal(info.user, "j\xc3\xa9r\xc3\xb4me");
}

static void test_type3_non_ascii_and_surrogate_pairs(void **state)
{
    uint8_t buf[512];
    /* U+00E9, U+4E2D (CJK), U+1F600 (needs a surrogate pair) */
    size_t n = build_t3(buf, sizeof buf, "M\xc3\xbcnchen", "\xe4\xb8\xad\xf0\x9f\x98\x80x", "WS", true);
    struct ntlm_info info;

    (void)state;
    assert_int_equal(ntlm_inspect(buf, n, &info), 0);
    assert_string_equal(info.domain, "M\xc3\xbcnchen");
    assert_string_equal(info.user, "\xe4\xb8\xad\xf0\x9f\x98\x80x");
}

static void test_type3_lone_surrogates_replaced(void **state)
{
    /* 'a', lone high surrogate, 'b', lone low surrogate, high at the very end */
    static const uint8_t raw[] = {'a', 0, 0x3d, 0xd8, 'b', 0, 0x00, 0xdc, 0x3d, 0xd8};
    uint8_t buf[512];
    struct ntlm_build_type3 o;
    struct ntlm_info info;
    size_t n;

    (void)state;
    memset(&o, 0, sizeof o);
    o.domain = "D";
    o.workstation = "W";
    o.unicode = true;
    o.raw[NB_USER] = raw;
    o.raw_len[NB_USER] = sizeof raw;
    n = ntlm_build_type3(buf, sizeof buf, &o);
    assert_int_equal(ntlm_inspect(buf, n, &info), 0);
    assert_string_equal(info.user, "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd");
}

static void test_type3_control_characters_masked(void **state)
{
    uint8_t buf[512];
    size_t n = build_t3(buf, sizeof buf, "CO\nRP", "al\x1b[31mice\x7f", "W\rS", true);
    struct ntlm_info info;

    (void)state;
    assert_int_equal(ntlm_inspect(buf, n, &info), 0);
    assert_string_equal(info.domain, "CO?RP");
    assert_string_equal(info.user, "al?[31mice?");
    assert_string_equal(info.workstation, "W?S");
}

static void test_type3_c1_controls_masked_in_oem(void **state)
{
    uint8_t buf[512];
    size_t n = build_t3(buf, sizeof buf, "D", "a\x85" "b", "W", false);
    struct ntlm_info info;

    (void)state;
    assert_int_equal(ntlm_inspect(buf, n, &info), 0);
    assert_string_equal(info.user, "a?b");
}

static void test_type3_anonymous_has_empty_names(void **state)
{
    uint8_t buf[512];
    size_t n = build_t3(buf, sizeof buf, "", "", "", true);
    struct ntlm_info info;

    (void)state;
    assert_int_equal(ntlm_inspect(buf, n, &info), 0);
    assert_int_equal(info.type, 3);
    assert_string_equal(info.domain, "");
    assert_string_equal(info.user, "");
}

static void test_type3_long_name_truncated_on_character_boundary(void **state)
{
    char user[600];
    uint8_t buf[2048];
    size_t k, n, len;
    struct ntlm_info info;

    (void)state;
    /* 'x' then 3-byte characters: the cut must not split one. */
    user[0] = 'x';
    for (k = 0; k < 150; k++)
        memcpy(user + 1 + 3 * k, "\xe4\xb8\xad", 3);
    user[1 + 3 * 150] = '\0';
    n = build_t3(buf, sizeof buf, "D", user, "W", true);
    assert_int_equal(ntlm_inspect(buf, n, &info), 0);
    len = strlen(info.user);
    assert_true(len < NTLM_NAME_MAX);
    assert_true(len >= NTLM_NAME_MAX - 3);
    assert_int_equal((len - 1) % 3, 0);
    assert_memory_equal(info.user, user, len);
}

static void test_type3_field_past_end_rejected(void **state)
{
    uint8_t buf[512];
    struct ntlm_build_type3 o;
    struct ntlm_info info;
    size_t n;
    int f;

    (void)state;
    for (f = 0; f < NB_FIELDS; f++) {
        memset(&o, 0, sizeof o);
        o.domain = "CORP";
        o.user = "alice";
        o.workstation = "WS01";
        o.unicode = true;
        n = ntlm_build_type3(buf, sizeof buf, &o);
        o.lie[f] = true;
        o.lie_offset[f] = (uint32_t)n - 4;
        o.lie_len[f] = 6; /* 2 bytes past the end */
        n = ntlm_build_type3(buf, sizeof buf, &o);
        assert_int_equal(ntlm_inspect(buf, n, &info), -1);
        assert_int_equal(info.type, 3);
        assert_string_equal(info.user, "");
        /* exactly up to the end is fine */
        o.lie_len[f] = 4;
        n = ntlm_build_type3(buf, sizeof buf, &o);
        assert_int_equal(ntlm_inspect(buf, n, &info), 0);
    }
}

static void test_type3_huge_offset_rejected_without_overflow(void **state)
{
    static const uint32_t offsets[] = {0xFFFFFFFFu, 0xFFFFFFFEu, 0x80000000u, 0xFFFFFF00u};
    uint8_t buf[512];
    struct ntlm_build_type3 o;
    struct ntlm_info info;
    size_t n, k;

    (void)state;
    for (k = 0; k < sizeof offsets / sizeof offsets[0]; k++) {
        memset(&o, 0, sizeof o);
        o.domain = "CORP";
        o.user = "alice";
        o.unicode = true;
        o.lie[NB_USER] = true;
        o.lie_offset[NB_USER] = offsets[k];
        o.lie_len[NB_USER] = 0xFFFF;
        n = ntlm_build_type3(buf, sizeof buf, &o);
        assert_int_equal(ntlm_inspect(buf, n, &info), -1);
    }
}

static void test_type3_empty_field_with_wild_offset_accepted(void **state)
{
    uint8_t buf[512];
    struct ntlm_build_type3 o;
    struct ntlm_info info;
    size_t n;

    (void)state;
    memset(&o, 0, sizeof o);
    o.domain = "CORP";
    o.user = "alice";
    o.unicode = true;
    o.lie[NB_WORKSTATION] = true;
    o.lie_offset[NB_WORKSTATION] = 0xFFFFFFFFu;
    o.lie_len[NB_WORKSTATION] = 0;
    n = ntlm_build_type3(buf, sizeof buf, &o);
    assert_int_equal(ntlm_inspect(buf, n, &info), 0);
    assert_string_equal(info.user, "alice");
    assert_string_equal(info.workstation, "");
}

static void test_type3_odd_utf16_length_rejected(void **state)
{
    static const uint8_t raw[] = {'a', 0, 'b'};
    uint8_t buf[512];
    struct ntlm_build_type3 o;
    struct ntlm_info info;
    size_t n;

    (void)state;
    memset(&o, 0, sizeof o);
    o.unicode = true;
    o.raw[NB_USER] = raw;
    o.raw_len[NB_USER] = sizeof raw;
    n = ntlm_build_type3(buf, sizeof buf, &o);
    assert_int_equal(ntlm_inspect(buf, n, &info), -1);
}

static void test_every_truncation_of_type3_is_safe(void **state)
{
    uint8_t buf[512];
    size_t n = build_t3(buf, sizeof buf, "CORP", "alice", "WS01", true), k;
    struct ntlm_info info;
    size_t ok = 0;

    (void)state;
    for (k = 0; k <= n; k++) {
        uint8_t *h = exact(buf, k);
        int rc = ntlm_inspect(h, k, &info);
        assert_true(rc == 0 || rc == -1);
        if (rc == 0) {
            ok++;
            assert_string_equal(info.user, "alice");
        }
        free(h);
    }
    /* Cut inside the payload (names, then LM/NT responses): names still complete
     * only once all three strings are inside the message. */
    assert_true(ok > 0);
    assert_int_equal(ntlm_inspect(buf, 63, &info), -1);
}

static void test_not_ntlmssp_rejected(void **state)
{
    static const uint8_t bad_sig[] = "NTLMSSQ\0\x01\0\0\0\0\0\0\0";
    static const uint8_t bad_type[] = "NTLMSSP\0\x04\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
    static const uint8_t short_t1[] = "NTLMSSP\0\x01\0\0\0\0";
    uint8_t t2[256];
    size_t n2 = ntlm_build_type2(t2, sizeof t2, "X", false);
    struct ntlm_info info;

    (void)state;
    assert_int_equal(ntlm_inspect(bad_sig, sizeof bad_sig - 1, &info), -1);
    assert_int_equal(ntlm_inspect(bad_type, sizeof bad_type - 1, &info), -1);
    assert_int_equal(ntlm_inspect(short_t1, sizeof short_t1 - 1, &info), -1);
    assert_int_equal(info.type, 1);
    assert_int_equal(ntlm_inspect(t2, 31, &info), -1);
    assert_int_equal(ntlm_inspect(t2, n2, &info), 0);
    assert_int_equal(ntlm_inspect(NULL, 0, &info), -1);
}

/* ---- SPNEGO ---------------------------------------------------------------- */

static void test_spnego_init_kerberos_first_mech(void **state)
{
    static const enum ntlm_build_oid mechs[] = {NB_OID_MSKRB5, NB_OID_KRB5, NB_OID_NEGOEX, NB_OID_NTLMSSP};
    uint8_t krb[128], tok[512];
    size_t kn = krb_build_gss(krb, sizeof krb);
    size_t n = spnego_build_init(tok, sizeof tok, mechs, 4, krb, kn);
    struct spnego_info info;

    (void)state;
    assert_int_equal(spnego_inspect(tok, n, &info), 0);
    assert_int_equal(info.mech, SPNEGO_KERBEROS);
    assert_false(info.has_ntlm);
}

static void test_spnego_init_standard_krb5_oid_without_token(void **state)
{
    static const enum ntlm_build_oid mechs[] = {NB_OID_KRB5};
    uint8_t tok[128];
    size_t n = spnego_build_init(tok, sizeof tok, mechs, 1, NULL, 0);
    struct spnego_info info;

    (void)state;
    assert_int_equal(spnego_inspect(tok, n, &info), 0);
    assert_int_equal(info.mech, SPNEGO_KERBEROS);
}

static void test_spnego_init_ntlmssp_with_type1(void **state)
{
    static const enum ntlm_build_oid mechs[] = {NB_OID_NTLMSSP};
    uint8_t t1[64], tok[256];
    size_t n1 = ntlm_build_type1(t1, sizeof t1, 0xa2088207u);
    size_t n = spnego_build_init(tok, sizeof tok, mechs, 1, t1, n1);
    struct spnego_info info;

    (void)state;
    assert_int_equal(spnego_inspect(tok, n, &info), 0);
    assert_int_equal(info.mech, SPNEGO_NTLMSSP);
    assert_true(info.has_ntlm);
    assert_int_equal(info.ntlm.type, 1);
}

static void test_spnego_mech_token_ntlmssp_wins_over_listed_kerberos(void **state)
{
    /* Kerberos offered first, but the optimistic token is NTLMSSP: the client
     * fell back (no ticket), which is what negotiate-ntlm is meant to expose. */
    static const enum ntlm_build_oid mechs[] = {NB_OID_MSKRB5, NB_OID_NTLMSSP};
    uint8_t t1[64], tok[256];
    size_t n1 = ntlm_build_type1(t1, sizeof t1, 0xa2088207u);
    size_t n = spnego_build_init(tok, sizeof tok, mechs, 2, t1, n1);
    struct spnego_info info;

    (void)state;
    assert_int_equal(spnego_inspect(tok, n, &info), 0);
    assert_int_equal(info.mech, SPNEGO_NTLMSSP);
}

static void test_spnego_resp_type3_identity(void **state)
{
    uint8_t t3[512], tok[768];
    size_t n3 = build_t3(t3, sizeof t3, "CORP", "alice", "WS01", true);
    size_t n = spnego_build_resp(tok, sizeof tok, -1, false, NB_OID_NTLMSSP, t3, n3);
    struct spnego_info info;

    (void)state;
    assert_true(n > 0);
    assert_int_equal(spnego_inspect(tok, n, &info), 0);
    assert_int_equal(info.mech, SPNEGO_NTLMSSP);
    assert_true(info.has_ntlm);
    assert_int_equal(info.ntlm.type, 3);
    assert_string_equal(info.ntlm.domain, "CORP");
    assert_string_equal(info.ntlm.user, "alice");
}

static void test_spnego_resp_type2_challenge(void **state)
{
    uint8_t t2[256], tok[512];
    size_t n2 = ntlm_build_type2(t2, sizeof t2, "CORP", true);
    size_t n = spnego_build_resp(tok, sizeof tok, 1, true, NB_OID_NTLMSSP, t2, n2);
    struct spnego_info info;

    (void)state;
    assert_int_equal(spnego_inspect(tok, n, &info), 0);
    assert_int_equal(info.mech, SPNEGO_NTLMSSP);
    assert_int_equal(info.ntlm.type, 2);
}

static void test_spnego_resp_supported_mech_kerberos(void **state)
{
    uint8_t tok[128];
    size_t n = spnego_build_resp(tok, sizeof tok, 0, true, NB_OID_MSKRB5, NULL, 0);
    struct spnego_info info;

    (void)state;
    assert_int_equal(spnego_inspect(tok, n, &info), 0);
    assert_int_equal(info.mech, SPNEGO_KERBEROS);
}

static void test_spnego_resp_without_mech_is_unknown(void **state)
{
    uint8_t tok[64];
    size_t n = spnego_build_resp(tok, sizeof tok, 0, false, NB_OID_KRB5, NULL, 0);
    struct spnego_info info;

    (void)state;
    assert_int_equal(spnego_inspect(tok, n, &info), -1);
    assert_int_equal(info.mech, SPNEGO_UNKNOWN);
}

static void test_raw_kerberos_gss_token(void **state)
{
    uint8_t tok[128];
    size_t n = krb_build_gss(tok, sizeof tok);
    struct spnego_info info;

    (void)state;
    assert_int_equal(spnego_inspect(tok, n, &info), 0);
    assert_int_equal(info.mech, SPNEGO_KERBEROS);
}

static void test_raw_ntlmssp_as_negotiate(void **state)
{
    uint8_t buf[64];
    long n = base64_decode(chrome_type1_b64, strlen(chrome_type1_b64), buf, sizeof buf);
    struct spnego_info info;

    (void)state;
    assert_int_equal(spnego_inspect(buf, (size_t)n, &info), 0);
    assert_int_equal(info.mech, SPNEGO_NTLMSSP);
    assert_true(info.has_ntlm);
    assert_int_equal(info.ntlm.type, 1);
}

static void test_negoex_only_is_unknown(void **state)
{
    static const enum ntlm_build_oid mechs[] = {NB_OID_NEGOEX};
    uint8_t tok[128];
    size_t n = spnego_build_init(tok, sizeof tok, mechs, 1, (const uint8_t *)"NEGOEXTS", 8);
    struct spnego_info info;

    (void)state;
    assert_int_equal(spnego_inspect(tok, n, &info), -1);
}

static void test_spnego_every_truncation_is_safe(void **state)
{
    uint8_t t3[512], tok[768];
    size_t n3 = build_t3(t3, sizeof t3, "CORP", "alice", "WS01", true);
    size_t n = spnego_build_resp(tok, sizeof tok, 1, true, NB_OID_NTLMSSP, t3, n3), k;
    struct spnego_info info;

    (void)state;
    for (k = 0; k < n; k++) {
        uint8_t *h = exact(tok, k);
        /* Every prefix cuts the outer DER length short: refused outright. */
        assert_int_equal(spnego_inspect(h, k, &info), -1);
        assert_false(info.has_ntlm);
        free(h);
    }
    assert_int_equal(spnego_inspect(tok, n, &info), 0);
}

static void test_spnego_lying_lengths_rejected(void **state)
{
    static const enum ntlm_build_oid mechs[] = {NB_OID_KRB5};
    uint8_t tok[128], *h;
    size_t n = spnego_build_init(tok, sizeof tok, mechs, 1, NULL, 0);
    struct spnego_info info;

    (void)state;
    /* Outer length claims one byte more than there is. */
    tok[1]++;
    h = exact(tok, n);
    assert_int_equal(spnego_inspect(h, n, &info), -1);
    free(h);
    tok[1]--;
    /* mechTypes SEQUENCE claims more than its [0] wrapper holds. */
    assert_int_equal(tok[16], 0x30);
    tok[17] = 0x7f;
    assert_int_equal(spnego_inspect(tok, n, &info), -1);
}

static void test_spnego_indefinite_and_huge_lengths_rejected(void **state)
{
    static const uint8_t indefinite[] = {0x60, 0x80, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02, 0x00, 0x00};
    static const uint8_t huge4[] = {0x60, 0x84, 0xff, 0xff, 0xff, 0xf0, 0x06, 0x06};
    static const uint8_t huge8[] = {0x60, 0x88, 0, 0, 0, 0, 0, 0, 0, 8, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};
    static const uint8_t hightag[] = {0x7f, 0x81, 0x02, 0x00, 0x00};
    static const uint8_t lenlen_cut[] = {0xa1, 0x82, 0x01};
    struct spnego_info info;

    (void)state;
    assert_int_equal(spnego_inspect(indefinite, sizeof indefinite, &info), -1);
    assert_int_equal(spnego_inspect(huge4, sizeof huge4, &info), -1);
    assert_int_equal(spnego_inspect(huge8, sizeof huge8, &info), -1);
    assert_int_equal(spnego_inspect(hightag, sizeof hightag, &info), -1);
    assert_int_equal(spnego_inspect(lenlen_cut, sizeof lenlen_cut, &info), -1);
    assert_int_equal(spnego_inspect(NULL, 0, &info), -1);
}

static void test_spnego_garbage_is_unknown(void **state)
{
    uint8_t junk[256];
    struct spnego_info info;
    size_t k;
    unsigned seed = 12345;

    (void)state;
    for (k = 0; k < sizeof junk; k++) {
        seed = seed * 1103515245u + 12345u;
        junk[k] = (uint8_t)(seed >> 16);
    }
    junk[0] = 0x42; /* not a DER tag we accept, not 'N' */
    assert_int_equal(spnego_inspect(junk, sizeof junk, &info), -1);
    assert_int_equal(info.mech, SPNEGO_UNKNOWN);
}

static void test_spnego_random_mutations_never_crash(void **state)
{
    uint8_t t3[512], tok[768];
    size_t n3 = build_t3(t3, sizeof t3, "CORP", "alice", "WS01", true);
    size_t n = spnego_build_resp(tok, sizeof tok, 1, true, NB_OID_NTLMSSP, t3, n3), k;
    unsigned seed = 7;
    struct spnego_info info;

    (void)state;
    for (k = 0; k < 20000; k++) {
        uint8_t *h = exact(tok, n);
        int flips = 1 + (int)(k % 4), f;
        for (f = 0; f < flips; f++) {
            seed = seed * 1103515245u + 12345u;
            h[(seed >> 8) % n] = (uint8_t)(seed >> 20);
        }
        assert_true(spnego_inspect(h, n, &info) >= -1);
        if (info.has_ntlm)
            assert_true(strlen(info.ntlm.user) < NTLM_NAME_MAX);
        free(h);
    }
}

/* ---- tokens of real implementations (tests/data/ntlm/README.md) ---------- */

/* Inspect tests/data/ntlm/<name>.b64 (a raw NTLMSSP message). */
static void real_ntlm(const char *name, struct ntlm_info *info)
{
    char rel[256];
    size_t n;
    uint8_t *m;

    snprintf(rel, sizeof rel, "ntlm/%s.b64", name);
    m = tokfile_load(rel, &n);
    assert_int_equal(ntlm_inspect(m, n, info), 0);
    free(m);
}

static void test_real_gss_ntlmssp_type2_target_info(void **state)
{
    struct ntlm_info t2;

    (void)state;
    real_ntlm("gss-v2.type2", &t2);
    assert_int_equal(t2.type, 2);
    assert_true(t2.unicode);
    assert_string_equal(t2.target_name, "CORP");
    assert_true(t2.flags & NTLM_FLAG_TARGET_TYPE_DOMAIN);
    assert_false(t2.flags & NTLM_FLAG_TARGET_TYPE_SERVER);
    assert_true(t2.has_av);
    assert_true(t2.av.complete);
    assert_string_equal(t2.av.nb_computer, "WEB01");
    assert_string_equal(t2.av.nb_domain, "CORP");
    assert_true(t2.av.dns_computer[0] != '\0'); /* the generating machine's host name */
    assert_true(t2.av.has_timestamp);
    /* a FILETIME after 2020-01-01 (132223104000000000) */
    assert_true(t2.av.timestamp > 132223104000000000ull);
    assert_true(t2.av.has_flags);
    assert_false(t2.av.has_channel_bindings);
    assert_string_equal(t2.av.target_name, "");
}

/* The type-3 of case <name> copies its type-2's AV pairs and timestamp into
 * the NTLMv2 blob (MS-NLMP §3.1.5.1.2). */
static void check_v2_pair(const char *name, struct ntlm_info *t3)
{
    char leg[128];
    struct ntlm_info t2;

    snprintf(leg, sizeof leg, "%s.type2", name);
    real_ntlm(leg, &t2);
    snprintf(leg, sizeof leg, "%s.type3", name);
    real_ntlm(leg, t3);
    assert_int_equal(t3->type, 3);
    assert_true(t3->nt_len > 24);
    assert_true(t3->has_blob);
    assert_true(t3->has_av);
    assert_true(t3->av.complete);
    assert_false(t3->anonymous);
    assert_string_equal(t3->av.nb_computer, t2.av.nb_computer);
    assert_string_equal(t3->av.nb_domain, t2.av.nb_domain);
    assert_string_equal(t3->av.dns_computer, t2.av.dns_computer);
    assert_true(t3->av.has_timestamp);
    assert_true(t2.av.has_timestamp);
    assert_true(t3->av.timestamp == t2.av.timestamp);
    assert_true(t3->blob_timestamp == t2.av.timestamp);
}

static void test_real_gss_ntlmssp_v2_blob(void **state)
{
    struct ntlm_info t3;

    (void)state;
    check_v2_pair("gss-v2", &t3);
    assert_string_equal(t3.domain, "CORP");
    assert_string_equal(t3.user, "alice");
    assert_true(t3.unicode);
    assert_int_equal(t3.lm_len, 0); /* gss-ntlmssp sends no LM response with v2 */
    assert_string_equal(t3.av.target_name, "HTTP/www.corp.example");
    assert_true(t3.av.has_flags);
    assert_false(t3.av.has_channel_bindings);
    assert_false(t3.av.channel_bindings_nonzero);
}

static void test_real_gss_ntlmssp_channel_bindings(void **state)
{
    struct ntlm_info t3;

    (void)state;
    check_v2_pair("gss-v2-cb", &t3);
    assert_string_equal(t3.user, "alice");
    assert_true(t3.av.has_channel_bindings);
    assert_true(t3.av.channel_bindings_nonzero);
    assert_string_equal(t3.av.target_name, "HTTP/www.corp.example");
}

static void test_real_gss_ntlmssp_v1(void **state)
{
    struct ntlm_info t3;

    (void)state;
    real_ntlm("gss-v1.type3", &t3);
    assert_int_equal(t3.type, 3);
    assert_int_equal(t3.nt_len, 24);
    assert_int_equal(t3.lm_len, 24);
    assert_false(t3.has_blob);
    assert_false(t3.has_av);
    assert_string_equal(t3.user, "alice");
    assert_string_equal(t3.domain, "CORP");
}

static void test_real_impacket_v2_domain(void **state)
{
    struct ntlm_info t3, t1;

    (void)state;
    real_ntlm("impacket.v2-domain.type1", &t1);
    assert_int_equal(t1.type, 1);
    assert_true(t1.flags & 0x00800000u); /* NTLMSSP_NEGOTIATE_TARGET_INFO asked for v2 */
    check_v2_pair("impacket.v2-domain", &t3);
    assert_string_equal(t3.domain, "CORP");
    assert_string_equal(t3.user, "alice");
    assert_string_equal(t3.workstation, "WS01");
    /* impacket names cifs/<NetBIOS computer> as the target */
    assert_string_equal(t3.av.target_name, "cifs/WEB01");
    assert_false(t3.av.has_channel_bindings);
}

static void test_real_impacket_foreign_local_wrongpw(void **state)
{
    struct ntlm_info t3;

    (void)state;
    check_v2_pair("impacket.v2-foreign", &t3);
    assert_string_equal(t3.domain, "OTHERDOM");
    assert_string_equal(t3.user, "bob");
    assert_string_equal(t3.av.nb_domain, "CORP");
    check_v2_pair("impacket.v2-local", &t3);
    assert_string_equal(t3.domain, "");
    assert_string_equal(t3.user, "alice");
    check_v2_pair("impacket.v2-wrongpw", &t3); /* the wire cannot tell a wrong password */
    assert_string_equal(t3.domain, "CORP");
}

static void test_real_impacket_v1(void **state)
{
    struct ntlm_info t3;

    (void)state;
    real_ntlm("impacket.v1.type3", &t3);
    assert_int_equal(t3.nt_len, 24);
    assert_false(t3.has_blob);
    assert_false(t3.anonymous);
    assert_string_equal(t3.user, "alice");
}

static void test_real_impacket_anonymous(void **state)
{
    struct ntlm_info t3;

    (void)state;
    real_ntlm("impacket.anon.type3", &t3);
    assert_int_equal(t3.type, 3);
    assert_true(t3.anonymous);
    assert_int_equal(t3.nt_len, 0);
    assert_int_equal(t3.lm_len, 1); /* one zero byte, as MS-NLMP allows */
    assert_string_equal(t3.user, "");
    assert_false(t3.has_blob);
}

/* SPNEGO (MIT's mech 1.3.6.1.5.5.2) around gss-ntlmssp: NegTokenInit with the
 * type-1, NegTokenResp with the type-2, NegTokenResp with the type-3. */
static void test_real_spnego_wrapped_ntlm(void **state)
{
    static const char *legs[] = {"ntlm/spnego-gss-v2-cb.type1.b64", "ntlm/spnego-gss-v2-cb.type2.b64",
                                 "ntlm/spnego-gss-v2-cb.type3.b64"};
    struct spnego_info si[3];
    size_t k, n;

    (void)state;
    for (k = 0; k < 3; k++) {
        uint8_t *t = tokfile_load(legs[k], &n);
        assert_int_equal(spnego_inspect(t, n, &si[k]), 0);
        assert_int_equal(si[k].mech, SPNEGO_NTLMSSP);
        assert_true(si[k].has_ntlm);
        assert_int_equal(si[k].ntlm.type, (int)k + 1);
        free(t);
    }
    assert_string_equal(si[1].ntlm.target_name, "CORP");
    assert_string_equal(si[1].ntlm.av.nb_computer, "WEB01");
    assert_true(si[2].ntlm.has_blob);
    assert_true(si[2].ntlm.av.channel_bindings_nonzero);
    assert_true(si[2].ntlm.av.timestamp == si[1].ntlm.av.timestamp);
    assert_string_equal(si[2].ntlm.user, "alice");
}

/* Every prefix of every real token, in an exact-size buffer: a result or -1,
 * never a read past the end (ASan), and a cut token never yields a blob whose
 * AV list claims to be complete beyond what was kept. */
static void test_real_tokens_every_truncation_is_safe(void **state)
{
    static const char *names[] = {
        "gss-v2.type2", "gss-v2.type3", "gss-v2-cb.type3", "gss-v1.type3", "impacket.v2-domain.type3",
        "impacket.anon.type3", "impacket.v1.type3", "spnego-gss-v2-cb.type1", "spnego-gss-v2-cb.type2",
        "spnego-gss-v2-cb.type3",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        char rel[128];
        size_t n, k;
        uint8_t *full;
        struct ntlm_info whole;
        bool spnego = strncmp(names[i], "spnego", 6) == 0;

        snprintf(rel, sizeof rel, "ntlm/%s.b64", names[i]);
        full = tokfile_load(rel, &n);
        if (!spnego)
            assert_int_equal(ntlm_inspect(full, n, &whole), 0);
        for (k = 0; k < n; k++) {
            uint8_t *h = exact(full, k);
            if (spnego) {
                struct spnego_info si;
                int rc = spnego_inspect(h, k, &si);
                assert_true(rc == 0 || (rc == -1 && si.mech == SPNEGO_UNKNOWN && !si.has_ntlm));
            } else {
                struct ntlm_info ni;
                int rc = ntlm_inspect(h, k, &ni);
                assert_true(rc == 0 || rc == -1);
                if (rc == 0 && whole.type == 3) {
                    /* every buffer inside: the same identity and lengths */
                    assert_string_equal(ni.user, whole.user);
                    assert_int_equal(ni.nt_len, whole.nt_len);
                    assert_int_equal(ni.has_blob, whole.has_blob);
                }
                if (rc == -1)
                    assert_string_equal(ni.user, "");
            }
            free(h);
        }
        free(full);
    }
}

/* A type-2 with TargetName "CORP" and the TargetInfo av[0..avn). */
static size_t type2_with_av(uint8_t *buf, size_t cap, const uint8_t *av, size_t avn)
{
    static const uint8_t name[] = {'C', 0, 'O', 0, 'R', 0, 'P', 0};
    size_t n = 56 + sizeof name + avn;

    assert_true(n <= cap);
    memset(buf, 0, 56);
    memcpy(buf, "NTLMSSP\0\x02\0\0\0", 12);
    buf[12] = buf[14] = sizeof name;
    buf[16] = 56;
    buf[20] = 0x15; /* UNICODE | REQUEST_TARGET | SIGN */
    buf[22] = 0x81; /* TARGET_TYPE_DOMAIN | TARGET_INFO */
    buf[40] = (uint8_t)(avn & 0xff);
    buf[41] = (uint8_t)(avn >> 8);
    buf[42] = buf[40];
    buf[43] = buf[41];
    buf[44] = (uint8_t)(56 + sizeof name);
    memcpy(buf + 56, name, sizeof name);
    memcpy(buf + 56 + sizeof name, av, avn);
    return n;
}

static void test_av_list_without_eol_is_incomplete(void **state)
{
    /* NbComputer "AB", then NbDomain claiming 200 bytes */
    static const uint8_t lying[] = {1, 0, 4, 0, 'A', 0, 'B', 0, 2, 0, 200, 0, 'X', 0};
    static const uint8_t noeol[] = {1, 0, 4, 0, 'A', 0, 'B', 0, 7, 0, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t buf[256];
    struct ntlm_info info;
    size_t n;

    (void)state;
    n = type2_with_av(buf, sizeof buf, lying, sizeof lying);
    assert_int_equal(ntlm_inspect(buf, n, &info), 0);
    assert_true(info.has_av);
    assert_false(info.av.complete);
    assert_string_equal(info.av.nb_computer, "AB");
    assert_string_equal(info.av.nb_domain, "");
    n = type2_with_av(buf, sizeof buf, noeol, sizeof noeol);
    assert_int_equal(ntlm_inspect(buf, n, &info), 0);
    assert_false(info.av.complete);
    assert_true(info.av.has_timestamp);
    assert_true(info.av.timestamp == 0x0807060504030201ull);
}

static void test_av_repeated_and_wrong_sized_pairs(void **state)
{
    static const uint8_t av[] = {
        2, 0, 2, 0, 'A', 0,             /* NbDomain "A" */
        2, 0, 2, 0, 'B', 0,             /* a second NbDomain: ignored */
        7, 0, 4, 0, 1, 2, 3, 4,         /* timestamp of 4 bytes: ignored */
        6, 0, 4, 0, 2, 0, 0, 0,         /* MsvAvFlags 2 */
        10, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* zero bindings */
        0x55, 0x55, 0, 0,               /* unknown id: skipped */
        0, 0, 0, 0,                     /* EOL */
        3, 0, 2, 0, 'Z', 0,             /* after EOL: not read */
    };
    uint8_t buf[256];
    struct ntlm_info info;
    size_t n = type2_with_av(buf, sizeof buf, av, sizeof av);

    (void)state;
    assert_int_equal(ntlm_inspect(buf, n, &info), 0);
    assert_true(info.av.complete);
    assert_string_equal(info.av.nb_domain, "A");
    assert_false(info.av.has_timestamp);
    assert_true(info.av.has_flags);
    assert_int_equal(info.av.av_flags, 2);
    assert_true(info.av.has_channel_bindings);
    assert_false(info.av.channel_bindings_nonzero);
    assert_string_equal(info.av.dns_computer, "");
}

static void test_type2_target_info_past_end_rejected(void **state)
{
    static const uint8_t av[] = {0, 0, 0, 0};
    uint8_t buf[256];
    struct ntlm_info info;
    size_t n = type2_with_av(buf, sizeof buf, av, sizeof av);

    (void)state;
    buf[44] = 0xF0; /* TargetInfo offset past the end */
    assert_int_equal(ntlm_inspect(buf, n, &info), -1);
    assert_int_equal(info.type, 2);
    assert_false(info.has_av);
    assert_string_equal(info.target_name, "");
    buf[44] = (uint8_t)(n - 4);
    buf[47] = 0x80; /* offset near 2^31: no overflow */
    assert_int_equal(ntlm_inspect(buf, n, &info), -1);
}

static void test_type3_blob_with_wrong_resp_type_has_no_blob(void **state)
{
    uint8_t *m;
    size_t n, ntoff;
    struct ntlm_info info;

    (void)state;
    m = tokfile_load("ntlm/gss-v2.type3.b64", &n);
    ntoff = (size_t)m[24] | ((size_t)m[25] << 8);
    m[ntoff + 16] = 2; /* RespType */
    assert_int_equal(ntlm_inspect(m, n, &info), 0);
    assert_false(info.has_blob);
    assert_false(info.has_av);
    assert_string_equal(info.user, "alice");
    m[ntoff + 16] = 1;
    m[20] = 30; /* NT response cut to 30 bytes: too short for a blob */
    assert_int_equal(ntlm_inspect(m, n, &info), 0);
    assert_int_equal(info.nt_len, 30);
    assert_false(info.has_blob);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chrome_type1_recognised),
        cmocka_unit_test(test_type2_recognised),
        cmocka_unit_test(test_type3_identity_utf16),
        cmocka_unit_test(test_type3_identity_oem),
        cmocka_unit_test(test_type3_oem_latin1_converted_to_utf8),
        cmocka_unit_test(test_type3_non_ascii_and_surrogate_pairs),
        cmocka_unit_test(test_type3_lone_surrogates_replaced),
        cmocka_unit_test(test_type3_control_characters_masked),
        cmocka_unit_test(test_type3_c1_controls_masked_in_oem),
        cmocka_unit_test(test_type3_anonymous_has_empty_names),
        cmocka_unit_test(test_type3_long_name_truncated_on_character_boundary),
        cmocka_unit_test(test_type3_field_past_end_rejected),
        cmocka_unit_test(test_type3_huge_offset_rejected_without_overflow),
        cmocka_unit_test(test_type3_empty_field_with_wild_offset_accepted),
        cmocka_unit_test(test_type3_odd_utf16_length_rejected),
        cmocka_unit_test(test_every_truncation_of_type3_is_safe),
        cmocka_unit_test(test_not_ntlmssp_rejected),
        cmocka_unit_test(test_spnego_init_kerberos_first_mech),
        cmocka_unit_test(test_spnego_init_standard_krb5_oid_without_token),
        cmocka_unit_test(test_spnego_init_ntlmssp_with_type1),
        cmocka_unit_test(test_spnego_mech_token_ntlmssp_wins_over_listed_kerberos),
        cmocka_unit_test(test_spnego_resp_type3_identity),
        cmocka_unit_test(test_spnego_resp_type2_challenge),
        cmocka_unit_test(test_spnego_resp_supported_mech_kerberos),
        cmocka_unit_test(test_spnego_resp_without_mech_is_unknown),
        cmocka_unit_test(test_raw_kerberos_gss_token),
        cmocka_unit_test(test_raw_ntlmssp_as_negotiate),
        cmocka_unit_test(test_negoex_only_is_unknown),
        cmocka_unit_test(test_spnego_every_truncation_is_safe),
        cmocka_unit_test(test_spnego_lying_lengths_rejected),
        cmocka_unit_test(test_spnego_indefinite_and_huge_lengths_rejected),
        cmocka_unit_test(test_spnego_garbage_is_unknown),
        cmocka_unit_test(test_spnego_random_mutations_never_crash),
        cmocka_unit_test(test_real_gss_ntlmssp_type2_target_info),
        cmocka_unit_test(test_real_gss_ntlmssp_v2_blob),
        cmocka_unit_test(test_real_gss_ntlmssp_channel_bindings),
        cmocka_unit_test(test_real_gss_ntlmssp_v1),
        cmocka_unit_test(test_real_impacket_v2_domain),
        cmocka_unit_test(test_real_impacket_foreign_local_wrongpw),
        cmocka_unit_test(test_real_impacket_v1),
        cmocka_unit_test(test_real_impacket_anonymous),
        cmocka_unit_test(test_real_spnego_wrapped_ntlm),
        cmocka_unit_test(test_real_tokens_every_truncation_is_safe),
        cmocka_unit_test(test_av_list_without_eol_is_incomplete),
        cmocka_unit_test(test_av_repeated_and_wrong_sized_pairs),
        cmocka_unit_test(test_type2_target_info_past_end_rejected),
        cmocka_unit_test(test_type3_blob_with_wrong_resp_type_has_no_blob),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
