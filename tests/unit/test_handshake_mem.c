/* test_handshake_mem.c -- the handshake table of the shared correlation store
 * (newest first, a few per key, expiry, bounded memory with counted
 * eviction, sharing across fork) and the module's handshake memory on it:
 * real type-2s of 401s remembered, real type-3s compared, per client id and
 * host; and the correlation client id that keeps proxy users apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "challenge.h"
#include "classify.h"
#include "corrstore.h"
#include "handshake_mem.h"
#include "htmlbody.h"

#ifndef PC_SRCDIR
#define PC_SRCDIR "."
#endif

#define WINDOW 300u

static struct corrstore *make(size_t bytes)
{
    char err[200];
    struct corrstore *cs = corrstore_create(bytes, WINDOW, err, sizeof err);
    if (cs == NULL)
        fail_msg("corrstore_create: %s", err);
    return cs;
}

static uint64_t hkey(const char *client, const char *host)
{
    return corrstore_key(client, strlen(client), host, strlen(host));
}

/* A fingerprint told apart by its timestamp. */
static struct handshake_print print_n(uint64_t ts, const char *conn)
{
    struct handshake_print p;
    memset(&p, 0, sizeof p);
    p.has_timestamp = true;
    p.timestamp = ts;
    snprintf(p.computer, sizeof p.computer, "WEB01");
    snprintf(p.client_conn, sizeof p.client_conn, "%s", conn);
    return p;
}

static void test_fingerprints_newest_first_a_few_per_key(void **state)
{
    (void)state;
    struct corrstore *cs = make(1 << 20);
    struct handshake_print out[8];
    unsigned ev = 99;
    uint64_t k = hkey("10.0.0.1", "intranet");
    for (uint64_t i = 1; i <= 6; i++) {
        struct handshake_print p = print_n(i, "10.0.0.1:5000");
        assert_int_equal(corrstore_hs_record(cs, k, &p, 1000, &ev), 0);
        assert_int_equal(ev, 0); /* the key's own oldest goes: no eviction */
    }
    bool inc = false;
    assert_int_equal(corrstore_hs_lookup(cs, k, 1001, out, 8, &inc), CORRSTORE_HS_PER_KEY);
    assert_true(inc); /* two were dropped by the per-key cap */
    for (int i = 0; i < CORRSTORE_HS_PER_KEY; i++) {
        assert_true(out[i].timestamp == (uint64_t)(6 - i));
    }
    assert_string_equal(out[0].client_conn, "10.0.0.1:5000");
    /* cap smaller than what is there: the newest */
    assert_int_equal(corrstore_hs_lookup(cs, k, 1001, out, 1, &inc), 1);
    assert_true(out[0].timestamp == 6);
    /* another client or another host: nothing */
    assert_int_equal(corrstore_hs_lookup(cs, hkey("10.0.0.2", "intranet"), 1001, out, 8, &inc), 0);
    assert_int_equal(corrstore_hs_lookup(cs, hkey("10.0.0.1", "other"), 1001, out, 8, &inc), 0);
    struct corrstore_stats st;
    corrstore_get_stats(cs, &st);
    assert_int_equal(st.hs_recorded, 6);
    assert_int_equal(st.hs_lookups, 4);
    assert_int_equal(st.hs_hits, 2);
    assert_int_equal(st.hs_evictions, 0);
    corrstore_destroy(cs);
}

static void test_fingerprints_expire_after_window(void **state)
{
    (void)state;
    struct corrstore *cs = make(1 << 20);
    struct handshake_print out[4], p = print_n(7, "");
    uint64_t k = hkey("c", "h");
    bool inc = true;
    assert_int_equal(corrstore_hs_record(cs, k, &p, 5000, NULL), 0);
    assert_int_equal(corrstore_hs_lookup(cs, k, 5000 + WINDOW, out, 4, &inc), 1);
    assert_false(inc);
    assert_int_equal(corrstore_hs_lookup(cs, k, 5000 + WINDOW + 1, out, 4, &inc), 0);
    /* an expired slot is reused without an eviction */
    unsigned ev = 9;
    assert_int_equal(corrstore_hs_record(cs, k, &p, 5000 + WINDOW + 1, &ev), 0);
    assert_int_equal(ev, 0);
    corrstore_destroy(cs);
}

/* Far more handshakes than the table holds: the mapping never grows, the
 * newest are found, and each live fingerprint dropped is counted. */
static void test_handshake_flood_is_bounded_and_counts_evictions(void **state)
{
    (void)state;
    size_t bytes = CORRSTORE_MIN_BYTES;
    struct corrstore *cs = make(bytes);
    size_t cap = corrstore_hs_capacity(cs);
    assert_true(cap >= 8);
    assert_true(cap * sizeof(struct handshake_print) <= bytes / 8); /* a share, not the store */
    size_t n = cap * 10;
    unsigned total = 0;
    char client[32];
    for (size_t i = 0; i < n; i++) {
        unsigned ev = 0;
        snprintf(client, sizeof client, "10.1.%zu.%zu", i / 250, i % 250);
        struct handshake_print p = print_n(i + 1, "");
        assert_int_equal(corrstore_hs_record(cs, hkey(client, "intranet"), &p, 2000, &ev), 0);
        total += ev;
    }
    assert_int_equal(corrstore_bytes(cs), bytes);
    struct corrstore_stats st;
    corrstore_get_stats(cs, &st);
    assert_int_equal(st.hs_recorded, n);
    assert_true(st.hs_evictions >= n - cap);
    assert_int_equal(st.hs_evictions, total);
    /* the page side is untouched by the handshake flood */
    assert_int_equal(st.evictions, 0);
    /* the last one written is there */
    struct handshake_print out[4];
    bool inc;
    snprintf(client, sizeof client, "10.1.%zu.%zu", (n - 1) / 250, (n - 1) % 250);
    assert_int_equal(corrstore_hs_lookup(cs, hkey(client, "intranet"), 2000, out, 4, &inc), 1);
    assert_true(out[0].timestamp == n);
    corrstore_destroy(cs);
}

/* The type-2 and the type-3 reach different children: a fingerprint written
 * in one process is found in another. */
static void test_fingerprint_shared_across_fork(void **state)
{
    (void)state;
    struct corrstore *cs = make(1 << 20);
    uint64_t k = hkey("10.0.0.9", "intranet");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct handshake_print p = print_n(42, "10.0.0.9:1234");
        _exit(corrstore_hs_record(cs, k, &p, 100, NULL) == 0 ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct handshake_print out[4];
    bool inc;
    assert_int_equal(corrstore_hs_lookup(cs, k, 101, out, 4, &inc), 1);
    assert_true(out[0].timestamp == 42);
    assert_string_equal(out[0].client_conn, "10.0.0.9:1234");
    corrstore_destroy(cs);
}

static void test_client_id_keeps_proxy_users_apart(void **state)
{
    (void)state;
    char a[CORRSTORE_CLIENT_MAX], b[CORRSTORE_CLIENT_MAX], small[8];
    assert_int_equal(corrstore_client_id("10.0.0.1", NULL, a, sizeof a), 8);
    assert_string_equal(a, "10.0.0.1");
    assert_int_equal(corrstore_client_id("10.0.0.1", "", a, sizeof a), 8);
    assert_string_equal(a, "10.0.0.1");
    corrstore_client_id("10.0.0.1", "alice", a, sizeof a);
    corrstore_client_id("10.0.0.1", "bob", b, sizeof b);
    assert_string_equal(a, "10.0.0.1|alice");
    assert_string_not_equal(a, b);
    /* a user with '|' cannot pose as another address */
    corrstore_client_id("10.0.0.1", "x|y", a, sizeof a);
    corrstore_client_id("10.0.0.1|x", "y", b, sizeof b);
    assert_string_not_equal(a, b);
    corrstore_client_id(NULL, "alice", a, sizeof a);
    assert_string_equal(a, "|alice");
    /* cut, never overrun */
    assert_int_equal(corrstore_client_id("10.0.0.1", "alice", small, sizeof small), 7);
    assert_string_equal(small, "10.0.0.");
    char longu[1000];
    memset(longu, 'u', sizeof longu - 1);
    longu[sizeof longu - 1] = '\0';
    assert_int_equal(corrstore_client_id("10.0.0.1", longu, a, sizeof a), sizeof a - 1);
}

/* Two proxy users on one address: each gets only the parent of the page
 * they loaded themselves. */
static void test_page_correlation_per_proxy_user(void **state)
{
    (void)state;
    struct corrstore *cs = make(1 << 20);
    char alice[CORRSTORE_CLIENT_MAX], bob[CORRSTORE_CLIENT_MAX], page[EVENT_URL_MAX];
    static const char html[] = "<img src=\"/secure/logo.gif\">";
    enum event_object t;
    corrstore_client_id("10.0.0.1", "alice", alice, sizeof alice);
    corrstore_client_id("10.0.0.1", "bob", bob, sizeof bob);
    struct htmlbody *hb = htmlbody_new(cs, alice, "http://intranet/alice.html", HTMLBODY_IDENTITY, 1 << 20);
    assert_non_null(hb);
    htmlbody_feed(hb, html, sizeof html - 1);
    htmlbody_finish(hb);
    htmlbody_free(hb);
    assert_int_equal(htmlbody_lookup(cs, alice, "http://intranet/secure/logo.gif", page, sizeof page, &t), 1);
    assert_string_equal(page, "http://intranet/alice.html");
    assert_int_equal(htmlbody_lookup(cs, bob, "http://intranet/secure/logo.gif", page, sizeof page, &t), 0);
    assert_int_equal(htmlbody_lookup(cs, "10.0.0.1", "http://intranet/secure/logo.gif", page, sizeof page, &t), 0);
    corrstore_destroy(cs);
}

/* ---- the module's handshake memory on real tokens -------------------------- */

/* The base64 text of tests/data/ntlm/<name>.b64, trailing newline dropped. */
static char *b64_text(const char *name)
{
    const char *top = getenv("PC_TOP_SRCDIR");
    char path[4096];
    if (top == NULL || top[0] == '\0')
        top = PC_SRCDIR;
    snprintf(path, sizeof path, "%s/tests/data/ntlm/%s.b64", top, name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot read %s", path);
    char *buf = calloc(1, 65536);
    assert_non_null(buf);
    size_t n = fread(buf, 1, 65535, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return buf;
}

/* One 401 as the module sees it. */
struct leg {
    char challenge_text[70000];
    char auth[70000];
    struct challenge_set set;
    struct classify_input in;
};

/* A 401 giving case's type-2 (scheme "NTLM" or "Negotiate") to client on
 * connection conn, for url. */
static void give(struct leg *l, const char *scheme, const char *tok_name, const char *client, const char *user,
                 const char *url, const char *conn, const char *sconn)
{
    char *tok = b64_text(tok_name);
    memset(&l->in, 0, sizeof l->in);
    snprintf(l->challenge_text, sizeof l->challenge_text, "%s %s", scheme, tok);
    free(tok);
    challenge_set_init(&l->set);
    assert_int_equal(challenge_parse(&l->set, l->challenge_text, strlen(l->challenge_text)), 0);
    l->in.status = 401;
    l->in.challenges = &l->set;
    l->in.client = client;
    l->in.proxy_user = user;
    l->in.url = url;
    l->in.client_connection = conn;
    l->in.server_connection = sconn;
    l->in.authorization = "NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAF1YAAAADw==";
}

/* A 401 refusing case's type-3 sent by client on conn, for url. */
static void answer(struct leg *l, const char *scheme, const char *tok_name, const char *client, const char *user,
                   const char *url, const char *conn, const char *sconn)
{
    char *tok = b64_text(tok_name);
    memset(&l->in, 0, sizeof l->in);
    snprintf(l->auth, sizeof l->auth, "%s %s", scheme, tok);
    free(tok);
    snprintf(l->challenge_text, sizeof l->challenge_text, "NTLM");
    challenge_set_init(&l->set);
    (void)challenge_parse(&l->set, l->challenge_text, strlen(l->challenge_text));
    l->in.status = 401;
    l->in.challenges = &l->set;
    l->in.client = client;
    l->in.proxy_user = user;
    l->in.url = url;
    l->in.client_connection = conn;
    l->in.server_connection = sconn;
    l->in.authorization = l->auth;
}

/* Every other call hands in the tokens decoded once, as the module does, so
 * both ways of reading them are held to the same results. */
static enum handshake_match run(struct corrstore *cs, struct leg *l, uint32_t now, bool *remembered)
{
    static unsigned calls;
    struct handshake_mem_result r;
    struct classify_tokens tok;
    if (calls++ % 2 == 1) {
        classify_read_tokens(&l->in, &tok);
        l->in.tokens = &tok;
    }
    int rc = handshake_mem_run(cs, &l->in, now, &r);
    l->in.tokens = NULL;
    assert_int_equal(rc, 0);
    if (remembered != NULL)
        *remembered = r.remembered;
    return r.match;
}

#define URL "http://intranet.corp.example/secure/app.aspx"

static void test_module_remembers_type2_and_matches_its_type3(void **state)
{
    (void)state;
    struct corrstore *cs = make(1 << 20);
    struct leg *l = malloc(sizeof *l);
    bool rem = false;
    assert_non_null(l);
    give(l, "NTLM", "gss-v2.type2", "10.0.0.5", NULL, URL, "10.0.0.5:50001", "127.0.0.1:40001");
    assert_int_equal(run(cs, l, 100, &rem), HANDSHAKE_UNKNOWN);
    assert_true(rem);
    answer(l, "NTLM", "gss-v2.type3", "10.0.0.5", NULL, URL, "10.0.0.5:50001", "127.0.0.1:40001");
    assert_int_equal(run(cs, l, 101, &rem), HANDSHAKE_MATCHED);
    assert_false(rem);
    /* the same type-3 on a new client connection, then on a new server connection */
    answer(l, "NTLM", "gss-v2.type3", "10.0.0.5", NULL, URL, "10.0.0.5:50002", "127.0.0.1:40001");
    assert_int_equal(run(cs, l, 101, NULL), HANDSHAKE_SPLIT_CLIENT);
    answer(l, "NTLM", "gss-v2.type3", "10.0.0.5", NULL, URL, "10.0.0.5:50001", "127.0.0.1:40002");
    assert_int_equal(run(cs, l, 101, NULL), HANDSHAKE_SPLIT_SERVER);
    /* a type-3 answering another challenge */
    answer(l, "NTLM", "impacket.v2-domain.type3", "10.0.0.5", NULL, URL, "10.0.0.5:50001", "127.0.0.1:40001");
    assert_int_equal(run(cs, l, 101, NULL), HANDSHAKE_SPLIT_NO_MATCH);
    /* another host, another client, another proxy user on the same address: nothing given */
    answer(l, "NTLM", "gss-v2.type3", "10.0.0.5", NULL, "http://other.corp.example/", NULL, NULL);
    assert_int_equal(run(cs, l, 101, NULL), HANDSHAKE_UNKNOWN);
    answer(l, "NTLM", "gss-v2.type3", "10.0.0.6", NULL, URL, NULL, NULL);
    assert_int_equal(run(cs, l, 101, NULL), HANDSHAKE_UNKNOWN);
    answer(l, "NTLM", "gss-v2.type3", "10.0.0.5", "bob", URL, NULL, NULL);
    assert_int_equal(run(cs, l, 101, NULL), HANDSHAKE_UNKNOWN);
    /* after CorrelationWindow: forgotten */
    answer(l, "NTLM", "gss-v2.type3", "10.0.0.5", NULL, URL, "10.0.0.5:50001", "127.0.0.1:40001");
    assert_int_equal(run(cs, l, 100 + WINDOW + 1, NULL), HANDSHAKE_UNKNOWN);
    free(l);
    corrstore_destroy(cs);
}

/* Many handshakes of one address with one host (a terminal server without
 * proxy authentication): once a type-2 of the key was dropped for room, a
 * type-3 that answers none of the rest is not called a split, while a split
 * proven by the exact timestamp still is. */
static void test_module_no_false_split_after_type2s_dropped(void **state)
{
    (void)state;
    static const char *others[] = {"gss-v2-cb.type2", "impacket.v2-domain.type2", "impacket.v2-foreign.type2",
                                   "impacket.v2-local.type2"};
    struct corrstore *cs = make(1 << 20);
    struct leg *l = malloc(sizeof *l);
    struct handshake_mem_result r;
    assert_non_null(l);
    give(l, "NTLM", "gss-v2.type2", "10.0.0.5", NULL, URL, "10.0.0.5:50001", "127.0.0.1:40001");
    run(cs, l, 100, NULL);
    for (size_t i = 0; i < 4; i++) {
        give(l, "NTLM", others[i], "10.0.0.5", NULL, URL, "10.0.0.5:5100" "0", "127.0.0.1:41000");
        run(cs, l, 100, NULL);
    }
    answer(l, "NTLM", "gss-v2.type3", "10.0.0.5", NULL, URL, "10.0.0.5:50001", "127.0.0.1:40001");
    assert_int_equal(handshake_mem_run(cs, &l->in, 101, &r), 0);
    assert_true(r.compared);
    assert_true(r.incomplete);
    assert_int_equal(r.match, HANDSHAKE_UNKNOWN); /* its type-2 was pushed out, not "no match" */
    answer(l, "NTLM", "impacket.v2-local.type3", "10.0.0.5", NULL, URL, "10.0.0.5:51000", "127.0.0.1:41000");
    assert_int_equal(run(cs, l, 101, NULL), HANDSHAKE_MATCHED);
    answer(l, "NTLM", "impacket.v2-local.type3", "10.0.0.5", NULL, URL, "10.0.0.5:51009", "127.0.0.1:41000");
    assert_int_equal(run(cs, l, 101, NULL), HANDSHAKE_SPLIT_CLIENT);
    /* a window later the drop is forgotten with the fingerprints it concerned */
    give(l, "NTLM", "impacket.v2-domain.type2", "10.0.0.5", NULL, URL, NULL, NULL);
    run(cs, l, 100 + 2 * WINDOW, NULL);
    answer(l, "NTLM", "gss-v2.type3", "10.0.0.5", NULL, URL, NULL, NULL);
    assert_int_equal(run(cs, l, 100 + 2 * WINDOW, NULL), HANDSHAKE_SPLIT_NO_MATCH);
    free(l);
    corrstore_destroy(cs);
}

/* Negotiate carrying NTLM in SPNEGO (NegTokenResp both ways). */
static void test_module_spnego_wrapped_handshake(void **state)
{
    (void)state;
    struct corrstore *cs = make(1 << 20);
    struct leg *l = malloc(sizeof *l);
    bool rem = false;
    assert_non_null(l);
    give(l, "Negotiate", "spnego-gss-v2-cb.type2", "10.0.0.5", "alice", URL, NULL, NULL);
    run(cs, l, 100, &rem);
    assert_true(rem);
    answer(l, "Negotiate", "spnego-gss-v2-cb.type3", "10.0.0.5", "alice", URL, NULL, NULL);
    assert_int_equal(run(cs, l, 100, NULL), HANDSHAKE_MATCHED);
    answer(l, "Negotiate", "gss-v2.type3", "10.0.0.5", "alice", URL, NULL, NULL); /* raw NTLMSSP as Negotiate */
    assert_int_equal(run(cs, l, 100, NULL), HANDSHAKE_SPLIT_NO_MATCH);
    free(l);
    corrstore_destroy(cs);
}

/* What is not an NTLM handshake leaves the memory alone: a 407, a type-1 in
 * a challenge, NTLMv1 without connections, garbage, no store at all. */
static void test_module_ignores_what_it_cannot_use(void **state)
{
    (void)state;
    struct corrstore *cs = make(1 << 20);
    struct leg *l = malloc(sizeof *l);
    struct handshake_mem_result r;
    struct corrstore_stats st;
    assert_non_null(l);
    give(l, "NTLM", "gss-v2.type2", "10.0.0.5", NULL, URL, NULL, NULL);
    l->in.status = 407;
    assert_int_equal(handshake_mem_run(cs, &l->in, 100, &r), 0);
    assert_false(r.remembered);
    give(l, "NTLM", "gss-v2.type1", "10.0.0.5", NULL, URL, NULL, NULL);
    assert_int_equal(handshake_mem_run(cs, &l->in, 100, &r), 0);
    assert_false(r.remembered);
    give(l, "NTLM", "gss-v2.type2", "10.0.0.5", NULL, "/secure/app.aspx", NULL, NULL); /* no host */
    assert_int_equal(handshake_mem_run(cs, &l->in, 100, &r), 0);
    assert_false(r.remembered);
    assert_int_equal(handshake_mem_run(NULL, &l->in, 100, &r), 0);
    corrstore_get_stats(cs, &st);
    assert_int_equal(st.hs_recorded, 0);

    give(l, "NTLM", "gss-v1.type2", "10.0.0.5", NULL, URL, NULL, NULL);
    assert_int_equal(handshake_mem_run(cs, &l->in, 100, &r), 0);
    assert_true(r.remembered);
    answer(l, "NTLM", "gss-v1.type3", "10.0.0.5", NULL, URL, NULL, NULL);
    assert_int_equal(handshake_mem_run(cs, &l->in, 100, &r), 0);
    assert_false(r.compared); /* NTLMv1 and no connections: nothing to compare */
    assert_int_equal(r.match, HANDSHAKE_UNKNOWN);

    static const char *junk[] = {"NTLM", "NTLM !!!!", "NTLM TlRMTVNTUAADAAAA", "Negotiate oYIBBTCCAQGgAwoBAaEMBgor",
                                 "Basic YWxpY2U6c2VjcmV0", "", "NTLM  "};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        answer(l, "NTLM", "gss-v2.type3", "10.0.0.5", NULL, URL, NULL, NULL);
        l->in.authorization = junk[i];
        assert_int_equal(handshake_mem_run(cs, &l->in, 100, &r), 0);
        assert_false(r.compared);
    }
    free(l);
    corrstore_destroy(cs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fingerprints_newest_first_a_few_per_key),
        cmocka_unit_test(test_fingerprints_expire_after_window),
        cmocka_unit_test(test_handshake_flood_is_bounded_and_counts_evictions),
        cmocka_unit_test(test_fingerprint_shared_across_fork),
        cmocka_unit_test(test_client_id_keeps_proxy_users_apart),
        cmocka_unit_test(test_page_correlation_per_proxy_user),
        cmocka_unit_test(test_module_remembers_type2_and_matches_its_type3),
        cmocka_unit_test(test_module_no_false_split_after_type2s_dropped),
        cmocka_unit_test(test_module_spnego_wrapped_handshake),
        cmocka_unit_test(test_module_ignores_what_it_cannot_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
