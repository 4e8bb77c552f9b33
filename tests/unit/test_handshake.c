/* test_handshake.c -- type-2/type-3 fingerprints (SPEC §2a handshake-split)
 * on the real handshakes of tests/data/ntlm: a type-3 names the challenge it
 * answers, connections tell which side broke, NTLMv1 falls back to the
 * connections, and nothing to compare says so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "handshake.h"
#include "ntlm.h"
#include "tokfile.h"

#define C1 "10.0.0.5:50001"
#define C2 "10.0.0.5:50002"
#define S1 "127.0.0.1:40001"
#define S2 "127.0.0.1:40002"

/* Inspect tests/data/ntlm/<name>.b64 (raw NTLMSSP). */
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

/* Fingerprint of case <name>'s type-2, given on connections (c, s). */
static void given_of(const char *name, const char *c, const char *s, struct handshake_print *out)
{
    char leg[128];
    struct ntlm_info t2;

    snprintf(leg, sizeof leg, "%s.type2", name);
    real_ntlm(leg, &t2);
    assert_int_equal(handshake_print_of_challenge(&t2, c, s, out), 0);
}

/* Fingerprint of case <name>'s type-3, sent on connections (c, s); rc is
 * what handshake_print_of_answer must return. */
static void answer_of(const char *name, const char *c, const char *s, int rc, struct handshake_print *out)
{
    char leg[128];
    struct ntlm_info t3;

    snprintf(leg, sizeof leg, "%s.type3", name);
    real_ntlm(leg, &t3);
    assert_int_equal(handshake_print_of_answer(&t3, c, s, out), rc);
}

static void test_type3_answering_its_own_type2_matches(void **state)
{
    static const char *cases[] = {"gss-v2", "gss-v2-cb", "impacket.v2-domain", "impacket.v2-foreign",
                                  "impacket.v2-local", "impacket.v2-wrongpw"};
    struct handshake_print g, a;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        given_of(cases[i], C1, S1, &g);
        answer_of(cases[i], C1, S1, 0, &a);
        assert_true(g.has_timestamp);
        assert_string_equal(g.computer, "WEB01");
        assert_true(a.has_timestamp);
        assert_string_equal(a.computer, "WEB01");
        assert_int_equal(handshake_compare(&a, &g, 1), HANDSHAKE_MATCHED);
        /* and without any connection identity (Squid sends none): the blob alone */
        given_of(cases[i], NULL, NULL, &g);
        answer_of(cases[i], NULL, NULL, 0, &a);
        assert_int_equal(handshake_compare(&a, &g, 1), HANDSHAKE_MATCHED);
    }
}

/* Its own challenge among others given to the same client, newest first. */
static void test_type3_found_among_several_given(void **state)
{
    struct handshake_print g[3], a;

    (void)state;
    given_of("impacket.v2-domain", C2, S2, &g[0]);
    given_of("gss-v2", C1, S1, &g[1]);
    given_of("gss-v2-cb", C2, S2, &g[2]);
    answer_of("gss-v2", C1, S1, 0, &a);
    assert_int_equal(handshake_compare(&a, g, 3), HANDSHAKE_MATCHED);
}

static void test_type3_answering_none_given_is_split_no_match(void **state)
{
    struct handshake_print g[2], a;

    (void)state;
    given_of("impacket.v2-domain", C1, S1, &g[0]);
    given_of("gss-v2-cb", C1, S1, &g[1]);
    answer_of("gss-v2", C1, S1, 0, &a);
    /* the precondition the test stands on: one challenge per run, each its own time */
    assert_true(a.timestamp != g[0].timestamp && a.timestamp != g[1].timestamp);
    assert_int_equal(handshake_compare(&a, g, 2), HANDSHAKE_SPLIT_NO_MATCH);
    /* same without connections: the blob is enough */
    given_of("impacket.v2-domain", NULL, NULL, &g[0]);
    answer_of("gss-v2", NULL, NULL, 0, &a);
    assert_int_equal(handshake_compare(&a, g, 1), HANDSHAKE_SPLIT_NO_MATCH);
}

static void test_same_print_other_client_connection_is_split_client(void **state)
{
    struct handshake_print g, a;

    (void)state;
    given_of("gss-v2", C1, S1, &g);
    answer_of("gss-v2", C2, S1, 0, &a);
    assert_int_equal(handshake_compare(&a, &g, 1), HANDSHAKE_SPLIT_CLIENT);
    /* both sides changed: the client reconnected, which is what broke first */
    answer_of("gss-v2", C2, S2, 0, &a);
    assert_int_equal(handshake_compare(&a, &g, 1), HANDSHAKE_SPLIT_CLIENT);
    assert_string_equal(handshake_split_side(HANDSHAKE_SPLIT_CLIENT), "client");
}

static void test_same_print_other_server_connection_is_split_server(void **state)
{
    struct handshake_print g, a;

    (void)state;
    given_of("gss-v2", C1, S1, &g);
    answer_of("gss-v2", C1, S2, 0, &a);
    assert_int_equal(handshake_compare(&a, &g, 1), HANDSHAKE_SPLIT_SERVER);
    assert_string_equal(handshake_split_side(HANDSHAKE_SPLIT_SERVER), "server");
    /* the server side unknown on either leg proves nothing */
    answer_of("gss-v2", C1, NULL, 0, &a);
    assert_int_equal(handshake_compare(&a, &g, 1), HANDSHAKE_MATCHED);
    /* Squid's "no value" ('-') is unknown, not a connection */
    answer_of("gss-v2", C1, "-:-", 0, &a);
    assert_string_equal(a.server_conn, "");
    assert_int_equal(handshake_compare(&a, &g, 1), HANDSHAKE_MATCHED);
}

static void test_ntlmv1_without_connections_is_unknown(void **state)
{
    struct handshake_print g, a;

    (void)state;
    given_of("gss-v1", NULL, NULL, &g);
    answer_of("gss-v1", NULL, NULL, -1, &a);
    assert_int_equal(handshake_compare(&a, &g, 1), HANDSHAKE_UNKNOWN);
    answer_of("impacket.v1", NULL, NULL, -1, &a);
    assert_int_equal(handshake_compare(&a, &g, 1), HANDSHAKE_UNKNOWN);
    /* with a client connection on the answer but none remembered: still unknown */
    answer_of("gss-v1", C1, S1, 0, &a);
    assert_int_equal(handshake_compare(&a, &g, 1), HANDSHAKE_UNKNOWN);
    assert_null(handshake_split_side(HANDSHAKE_UNKNOWN));
    assert_null(handshake_split_side(HANDSHAKE_MATCHED));
}

/* NTLMv1 names no challenge: the connections alone decide. */
static void test_ntlmv1_decided_by_connections(void **state)
{
    struct handshake_print g[2], a;

    (void)state;
    given_of("gss-v1", C2, S2, &g[0]);
    given_of("gss-v1", C1, S1, &g[1]);
    answer_of("gss-v1", C1, S1, 0, &a);
    assert_false(a.has_timestamp);
    assert_string_equal(a.computer, "");
    assert_int_equal(handshake_compare(&a, g, 2), HANDSHAKE_MATCHED);
    answer_of("gss-v1", C1, S2, 0, &a);
    assert_int_equal(handshake_compare(&a, g, 2), HANDSHAKE_SPLIT_SERVER);
    answer_of("impacket.v1", "10.0.0.5:50003", S1, 0, &a);
    assert_int_equal(handshake_compare(&a, g, 2), HANDSHAKE_SPLIT_CLIENT);
    assert_string_equal(handshake_split_side(HANDSHAKE_SPLIT_NO_MATCH), "no-match");
}

static void test_nothing_given_is_unknown(void **state)
{
    struct handshake_print a;

    (void)state;
    answer_of("gss-v2", C1, S1, 0, &a);
    assert_int_equal(handshake_compare(&a, NULL, 0), HANDSHAKE_UNKNOWN);
    assert_int_equal(handshake_compare(&a, &a, 0), HANDSHAKE_UNKNOWN);
}

/* SPNEGO around NTLM: the same fingerprints from the wrapped messages. */
static void test_spnego_wrapped_handshake_matches(void **state)
{
    struct spnego_info s2, s3;
    struct handshake_print g, a;
    size_t n;
    uint8_t *t;

    (void)state;
    t = tokfile_load("ntlm/spnego-gss-v2-cb.type2.b64", &n);
    assert_int_equal(spnego_inspect(t, n, &s2), 0);
    free(t);
    t = tokfile_load("ntlm/spnego-gss-v2-cb.type3.b64", &n);
    assert_int_equal(spnego_inspect(t, n, &s3), 0);
    free(t);
    assert_true(s2.has_ntlm && s3.has_ntlm);
    assert_int_equal(handshake_print_of_challenge(&s2.ntlm, C1, S1, &g), 0);
    assert_int_equal(handshake_print_of_answer(&s3.ntlm, C1, S1, &a), 0);
    assert_int_equal(handshake_compare(&a, &g, 1), HANDSHAKE_MATCHED);
    given_of("gss-v2", C1, S1, &g);
    assert_int_equal(handshake_compare(&a, &g, 1), HANDSHAKE_SPLIT_NO_MATCH);
}

/* A type-2 of an old server (no MsvAvTimestamp) still names its computer:
 * another server's answer does not match, the same server's does, and the
 * connections decide between several of its challenges. */
static void test_computer_name_alone_tells_servers_apart(void **state)
{
    struct ntlm_info t2, t3;
    struct handshake_print g[2], a;

    (void)state;
    real_ntlm("gss-v2.type2", &t2);
    real_ntlm("gss-v2.type3", &t3);
    t2.av.has_timestamp = false;
    t3.av.has_timestamp = false;
    assert_int_equal(handshake_print_of_challenge(&t2, C2, S2, &g[0]), 0);
    assert_int_equal(handshake_print_of_challenge(&t2, C1, S1, &g[1]), 0);
    assert_int_equal(handshake_print_of_answer(&t3, C1, S1, &a), 0);
    assert_int_equal(handshake_compare(&a, g, 2), HANDSHAKE_MATCHED);
    assert_int_equal(handshake_compare(&a, g, 1), HANDSHAKE_SPLIT_CLIENT);
    /* NetBIOS names are case-blind */
    snprintf(a.computer, sizeof a.computer, "web01");
    assert_int_equal(handshake_compare(&a, &g[1], 1), HANDSHAKE_MATCHED);
    snprintf(a.computer, sizeof a.computer, "WEB02");
    assert_int_equal(handshake_compare(&a, g, 2), HANDSHAKE_SPLIT_NO_MATCH);
}

static void test_wrong_message_types_and_unnamed_challenge_refused(void **state)
{
    struct ntlm_info t2, t3, t1;
    struct handshake_print p;

    (void)state;
    real_ntlm("gss-v2.type2", &t2);
    real_ntlm("gss-v2.type3", &t3);
    real_ntlm("gss-v2.type1", &t1);
    assert_int_equal(handshake_print_of_challenge(&t3, C1, S1, &p), -1);
    assert_int_equal(handshake_print_of_challenge(&t1, C1, S1, &p), -1);
    assert_int_equal(handshake_print_of_challenge(NULL, C1, S1, &p), -1);
    assert_int_equal(handshake_print_of_answer(&t2, C1, S1, &p), -1);
    assert_int_equal(handshake_print_of_answer(NULL, C1, S1, &p), -1);
    t2.has_av = false; /* a challenge without TargetInfo names nothing */
    assert_int_equal(handshake_print_of_challenge(&t2, C1, S1, &p), -1);
}

/* A connection identity longer than any "ip:port" is cut, never overrun. */
static void test_long_connection_identity_is_cut(void **state)
{
    char longc[300];
    struct handshake_print g;

    (void)state;
    memset(longc, 'x', sizeof longc - 1);
    longc[sizeof longc - 1] = '\0';
    given_of("gss-v2", longc, longc, &g);
    assert_int_equal(strlen(g.client_conn), HANDSHAKE_CONN_MAX - 1);
    assert_int_equal(strlen(g.server_conn), HANDSHAKE_CONN_MAX - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type3_answering_its_own_type2_matches),
        cmocka_unit_test(test_type3_found_among_several_given),
        cmocka_unit_test(test_type3_answering_none_given_is_split_no_match),
        cmocka_unit_test(test_same_print_other_client_connection_is_split_client),
        cmocka_unit_test(test_same_print_other_server_connection_is_split_server),
        cmocka_unit_test(test_ntlmv1_without_connections_is_unknown),
        cmocka_unit_test(test_ntlmv1_decided_by_connections),
        cmocka_unit_test(test_nothing_given_is_unknown),
        cmocka_unit_test(test_spnego_wrapped_handshake_matches),
        cmocka_unit_test(test_computer_name_alone_tells_servers_apart),
        cmocka_unit_test(test_wrong_message_types_and_unnamed_challenge_refused),
        cmocka_unit_test(test_long_connection_identity_is_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
