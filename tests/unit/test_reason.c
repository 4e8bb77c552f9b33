/* test_reason.c -- SPEC §2a: every reason, its evidence, its hint and its
 * place in the table's order.
 *
 * Where a real implementation made the evidence, the test uses its tokens
 * (tests/data/ntlm: gss-ntlmssp and impacket handshakes; tests/data/krb: a
 * throw-away MIT KDC and GSSAPI) and goes through classify(), the path the module and probe take,
 * so headers → event is what is proven. Precedence between rules that no
 * single real token combines is tested on filled structs through
 * reason_diagnose(). Garbage must give an event with the reason null. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "challenge.h"
#include "classify.h"
#include "credentials.h"
#include "kerberos.h"
#include "reason.h"
#include "tokfile.h"

/* ---- real tokens as header values --------------------------------------- */

static void b64(const uint8_t *in, size_t n, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = a[(v >> 18) & 63];
        out[o++] = a[(v >> 12) & 63];
        out[o++] = i + 1 < n ? a[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? a[v & 63] : '=';
    }
    out[o] = '\0';
}

/* "<scheme> <base64 of tests/data/<rel>>" into a malloc'd string. */
static char *header_of(const char *scheme, const char *rel)
{
    size_t n;
    uint8_t *t = tokfile_load(rel, &n);
    char *h = malloc(strlen(scheme) + 1 + (n + 2) / 3 * 4 + 1);
    assert_non_null(h);
    sprintf(h, "%s ", scheme);
    b64(t, n, h + strlen(h));
    free(t);
    return h;
}

static char *header_of_bytes(const char *scheme, const uint8_t *t, size_t n)
{
    char *h = malloc(strlen(scheme) + 1 + (n + 2) / 3 * 4 + 1);
    assert_non_null(h);
    sprintf(h, "%s ", scheme);
    b64(t, n, h + strlen(h));
    return h;
}

/* classify one 401 with the given challenge (one header line) and
 * Authorization; returns the event in *ev. */
static void run(const char *url, const char *challenge, const char *authorization,
                enum handshake_match hs, enum usernames_mode names, struct event *ev)
{
    struct classify_config cfg;
    struct challenge_set set;
    struct classify_input in;

    memset(&cfg, 0, sizeof cfg);
    classify_config_default_handlers(&cfg);
    cfg.usernames = names;
    challenge_set_init(&set);
    if (challenge != NULL)
        (void)challenge_parse(&set, challenge, strlen(challenge));
    memset(&in, 0, sizeof in);
    in.ts = 1764000000.0;
    in.client = "10.1.2.3";
    in.method = "GET";
    in.url = url;
    in.status = 401;
    in.challenges = &set;
    in.authorization = authorization;
    in.sec_fetch_dest = "document";
    in.handshake = hs;
    assert_int_equal(classify(&cfg, &in, ev), 1);
    /* the event always formats, whatever the reason */
    char *line = event_format(ev);
    assert_non_null(line);
    free(line);
}

static void assert_has(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL)
        fail_msg("\"%s\" not in \"%s\"", needle, hay);
}

/* Authorization from a real type-3 file, refused with a bare NTLM challenge
 * (what IIS and gss-ntlmssp's Apache send after a failed type-3). */
static void rejected_ntlm(const char *url, const char *rel, enum handshake_match hs, struct event *ev)
{
    char *auth = header_of("NTLM", rel);
    run(url, "NTLM", auth, hs, USERNAMES_LOG, ev);
    free(auth);
    assert_int_equal(ev->cause, CAUSE_CREDENTIALS_REJECTED);
    assert_int_equal(ev->prompt, PROMPT_REJECTED);
}

/* ---- NTLM reasons from real tokens -------------------------------------- */

static void test_foreign_domain_impacket(void **state)
{
    struct event ev;
    (void)state;
    rejected_ntlm("http://www.corp.example/", "ntlm/impacket.v2-foreign.type3.b64", HANDSHAKE_UNKNOWN, &ev);
    assert_int_equal(ev.reason, REASON_FOREIGN_DOMAIN);
    assert_string_equal(ev.user, "OTHERDOM\\bob");
    assert_string_equal(ev.server_domain, "CORP"); /* from the blob: the client copied the type-2's names */
    assert_has(ev.hint, "OTHERDOM");
    assert_has(ev.hint, "server's domain CORP");
    assert_has(ev.hint, "trust");
    assert_string_equal(ev.spn, "");
    assert_string_equal(ev.krb_error, "");
}

static void test_own_domain_wrong_password_has_no_reason(void **state)
{
    struct event ev;
    (void)state;
    rejected_ntlm("http://www.corp.example/", "ntlm/impacket.v2-wrongpw.type3.b64", HANDSHAKE_UNKNOWN, &ev);
    assert_int_equal(ev.reason, REASON_NONE);
    assert_string_equal(ev.server_domain, "CORP");
    assert_has(ev.hint, "check NTFS rights");
    char *line = event_format(&ev);
    assert_has(line, "\"reason\":null");
    free(line);
}

static void test_local_account_impacket(void **state)
{
    struct event ev;
    (void)state;
    rejected_ntlm("http://www.corp.example/", "ntlm/impacket.v2-local.type3.b64", HANDSHAKE_UNKNOWN, &ev);
    assert_int_equal(ev.reason, REASON_LOCAL_ACCOUNT);
    assert_string_equal(ev.user, "alice");
    assert_has(ev.hint, "local account");
    assert_has(ev.hint, "log on to the domain CORP");
}

static void test_anonymous_ntlm_impacket(void **state)
{
    struct event ev;
    (void)state;
    rejected_ntlm("http://www.corp.example/", "ntlm/impacket.anon.type3.b64", HANDSHAKE_UNKNOWN, &ev);
    /* empty domain too, but anonymous-ntlm comes first in the table */
    assert_int_equal(ev.reason, REASON_ANONYMOUS_NTLM);
    assert_string_equal(ev.user, "");
    assert_has(ev.hint, "no logon session");
}

static void test_ntlmv1_impacket_and_gss(void **state)
{
    struct event ev;
    (void)state;
    rejected_ntlm("http://www.corp.example/", "ntlm/impacket.v1.type3.b64", HANDSHAKE_UNKNOWN, &ev);
    assert_int_equal(ev.reason, REASON_NTLMV1);
    assert_string_equal(ev.server_domain, ""); /* NTLMv1 has no blob: the server's names are unknown */
    assert_has(ev.hint, "LmCompatibilityLevel 5");
    rejected_ntlm("http://www.corp.example/", "ntlm/gss-v1.type3.b64", HANDSHAKE_UNKNOWN, &ev);
    assert_int_equal(ev.reason, REASON_NTLMV1);
}

static void test_standalone_server_gss_ntlmssp(void **state)
{
    struct event ev;
    (void)state;
    rejected_ntlm("http://web01.example/", "ntlm/standalone.type3.b64", HANDSHAKE_UNKNOWN, &ev);
    assert_int_equal(ev.reason, REASON_STANDALONE_SERVER);
    assert_string_equal(ev.server_domain, "WEB01");
    assert_has(ev.hint, "WEB01 is not in a domain");
    assert_has(ev.hint, "CORP");
}

static void test_standalone_server_from_its_type2(void **state)
{
    /* the type-2 alone (NetBIOS domain = computer name) marks the server */
    uint8_t *t;
    size_t n;
    struct ntlm_info t2;
    struct reason_server srv;
    struct credentials cred;
    struct reason_result rr;
    char *auth = header_of("NTLM", "ntlm/impacket.v2-domain.type3.b64");
    char *chal = header_of("NTLM", "ntlm/standalone.type2.b64");
    struct challenge_set set;

    (void)state;
    t = tokfile_load("ntlm/standalone.type2.b64", &n);
    assert_int_equal(ntlm_inspect(t, n, &t2), 0);
    free(t);
    assert_string_equal(t2.av.nb_domain, "WEB01");
    challenge_set_init(&set);
    assert_int_equal(challenge_parse(&set, chal, strlen(chal)), 0);
    reason_read_server(&set, &srv);
    assert_true(srv.has_type2);
    assert_false(reason_server_refused(&srv));
    (void)credentials_inspect(auth, strlen(auth), &cred);
    struct reason_input in = {.cred = &cred, .server = &srv, .url = "http://web01/", .host = "web01",
                              .names_ok = true};
    reason_diagnose(&in, &rr);
    assert_int_equal(rr.reason, REASON_STANDALONE_SERVER);
    free(auth);
    free(chal);
}

static void test_channel_binding_only_on_https(void **state)
{
    struct event ev;
    (void)state;
    rejected_ntlm("https://www.corp.example/", "ntlm/gss-v2-cb.type3.b64", HANDSHAKE_UNKNOWN, &ev);
    assert_int_equal(ev.reason, REASON_CHANNEL_BINDING);
    assert_has(ev.hint, "ssl_bump splice");
    assert_has(ev.hint, "www.corp.example");
    rejected_ntlm("http://www.corp.example/", "ntlm/gss-v2-cb.type3.b64", HANDSHAKE_UNKNOWN, &ev);
    assert_int_equal(ev.reason, REASON_NONE);
    /* no channel bindings (all zero or absent): nothing to blame on https */
    rejected_ntlm("https://www.corp.example/", "ntlm/gss-v2.type3.b64", HANDSHAKE_UNKNOWN, &ev);
    assert_int_equal(ev.reason, REASON_NONE);
}

static void test_negotiate_ntlm_fallback_in_neg_token_resp(void **state)
{
    struct event ev;
    char *auth = header_of("Negotiate", "ntlm/spnego-gss-v2-cb.type3.b64");
    (void)state;
    run("http://www.corp.example/", "Negotiate", auth, HANDSHAKE_UNKNOWN, USERNAMES_LOG, &ev);
    assert_int_equal(ev.cause, CAUSE_CREDENTIALS_REJECTED);
    assert_string_equal(ev.auth_sent, "negotiate-ntlm"); /* found inside a NegTokenResp */
    assert_string_equal(ev.user, "CORP\\alice");
    assert_int_equal(ev.reason, REASON_KERBEROS_FALLBACK);
    assert_has(ev.hint, "setspn -Q HTTP/www.corp.example");
    /* on https the channel binding comes first */
    run("https://www.corp.example/", "Negotiate", auth, HANDSHAKE_UNKNOWN, USERNAMES_LOG, &ev);
    assert_int_equal(ev.reason, REASON_CHANNEL_BINDING);
    free(auth);
}

/* ---- handshake-split ---------------------------------------------------- */

static void test_split_server_side_beats_everything(void **state)
{
    struct event ev;
    (void)state;
    rejected_ntlm("http://www.corp.example/", "ntlm/impacket.v2-foreign.type3.b64", HANDSHAKE_SPLIT_SERVER, &ev);
    assert_int_equal(ev.reason, REASON_HANDSHAKE_SPLIT);
    assert_has(ev.hint, "server side");
    assert_has(ev.hint, "connection-auth=on");
    assert_has(ev.hint, "login=PASSTHRU");
    assert_string_equal(ev.server_domain, "CORP");
}

static void test_split_client_side_and_no_match(void **state)
{
    struct event ev;
    (void)state;
    rejected_ntlm("http://www.corp.example/", "ntlm/impacket.anon.type3.b64", HANDSHAKE_SPLIT_CLIENT, &ev);
    assert_int_equal(ev.reason, REASON_HANDSHAKE_SPLIT);
    assert_has(ev.hint, "client side");
    rejected_ntlm("http://www.corp.example/", "ntlm/impacket.v2-wrongpw.type3.b64", HANDSHAKE_SPLIT_NO_MATCH, &ev);
    assert_int_equal(ev.reason, REASON_HANDSHAKE_SPLIT);
    assert_has(ev.hint, "none of the challenges");
    rejected_ntlm("http://www.corp.example/", "ntlm/impacket.v2-wrongpw.type3.b64", HANDSHAKE_MATCHED, &ev);
    assert_int_equal(ev.reason, REASON_NONE);
}

static void test_handshake_event_reason_only_split(void **state)
{
    struct event ev;
    char *chal = header_of("NTLM", "ntlm/gss-v2.type2.b64");
    char *auth = header_of("NTLM", "ntlm/gss-v2.type1.b64");
    (void)state;
    run("http://www.corp.example/", chal, auth, HANDSHAKE_UNKNOWN, USERNAMES_LOG, &ev);
    assert_int_equal(ev.cause, CAUSE_HANDSHAKE);
    assert_int_equal(ev.reason, REASON_NONE);
    assert_string_equal(ev.server_domain, "CORP"); /* from the type-2 */
    assert_has(ev.hint, "handshake step");
    run("http://www.corp.example/", chal, auth, HANDSHAKE_SPLIT_NO_MATCH, USERNAMES_LOG, &ev);
    assert_int_equal(ev.reason, REASON_NONE); /* a type-1 answers nothing */
    run("http://www.corp.example/", chal, auth, HANDSHAKE_SPLIT_CLIENT, USERNAMES_LOG, &ev);
    assert_int_equal(ev.cause, CAUSE_HANDSHAKE);
    assert_int_equal(ev.reason, REASON_HANDSHAKE_SPLIT);
    assert_has(ev.hint, "client");
    free(chal);
    free(auth);
}

/* ---- SPEC §2 rule 2 vs 3 ------------------------------------------------ */

static const uint8_t neg_reject[] = {0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x02};
static const uint8_t neg_completed[] = {0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x00};

static void test_negstate_reject_to_credentials_is_rejected(void **state)
{
    struct event ev;
    char *chal = header_of_bytes("Negotiate", neg_reject, sizeof neg_reject);
    char *auth = header_of("Negotiate", "ntlm/spnego-gss-v2-cb.type3.b64");
    (void)state;
    run("http://www.corp.example/", chal, auth, HANDSHAKE_UNKNOWN, USERNAMES_LOG, &ev);
    assert_int_equal(ev.cause, CAUSE_CREDENTIALS_REJECTED);
    assert_int_equal(ev.prompt, PROMPT_REJECTED);
    /* the same token to an anonymous request stays rule 2 */
    run("http://www.corp.example/", chal, NULL, HANDSHAKE_UNKNOWN, USERNAMES_LOG, &ev);
    assert_int_equal(ev.cause, CAUSE_HANDSHAKE);
    free(chal);
    chal = header_of_bytes("Negotiate", neg_completed, sizeof neg_completed);
    run("http://www.corp.example/", chal, auth, HANDSHAKE_UNKNOWN, USERNAMES_LOG, &ev);
    assert_int_equal(ev.cause, CAUSE_CREDENTIALS_REJECTED);
    free(chal);
    free(auth);
}

static void test_accept_incomplete_ntlm_challenge_stays_handshake(void **state)
{
    struct event ev;
    char *chal = header_of("Negotiate", "ntlm/spnego-gss-v2-cb.type2.b64");
    char *auth = header_of("Negotiate", "ntlm/spnego-gss-v2-cb.type1.b64");
    (void)state;
    run("http://www.corp.example/", chal, auth, HANDSHAKE_UNKNOWN, USERNAMES_LOG, &ev);
    assert_int_equal(ev.cause, CAUSE_HANDSHAKE);
    assert_int_equal(ev.reason, REASON_NONE);
    assert_string_equal(ev.server_domain, "CORP");
    free(chal);
    free(auth);
}

/* ---- garbage ------------------------------------------------------------ */

static void test_garbage_gives_event_with_reason_null(void **state)
{
    static const char *const auths[] = {
        "NTLM AAAA", "NTLM !!!!", "Negotiate !!!!", "Negotiate oQcwBaADCgEC", /* a reject token sent by a client */
        "NTLM TlRMTVNTUAADAAAAGAAYAEAAAAA=", /* type-3 cut inside its fields */
        "Negotiate YIIBzwYGKwYBBQUCoIIBwzCCAb+gMDAuBgkqhkiC9xIBAgIGCSqGSIb3EgECAgYKKwYBBAGCNwICHgYKKwYBBAGCNwICCg==",
    };
    static const char *const chals[] = {"NTLM", "Negotiate", "Negotiate AAAA", "NTLM !!!",
                                        "Negotiate oQcwBaADCgE=" /* negState cut */};
    struct event ev;
    (void)state;
    for (size_t a = 0; a < sizeof auths / sizeof auths[0]; a++) {
        for (size_t c = 0; c < sizeof chals / sizeof chals[0]; c++) {
            run("http://www.corp.example/", chals[c], auths[a], HANDSHAKE_UNKNOWN, USERNAMES_LOG, &ev);
            assert_true(ev.cause == CAUSE_CREDENTIALS_REJECTED || ev.cause == CAUSE_HANDSHAKE);
            assert_int_equal(ev.reason, REASON_NONE);
            assert_string_equal(ev.spn, "");
            assert_string_equal(ev.krb_error, "");
        }
    }
}

static void test_every_truncation_of_a_type3_is_safe(void **state)
{
    size_t n;
    uint8_t *t = tokfile_load("ntlm/impacket.v2-foreign.type3.b64", &n);
    struct event ev;
    (void)state;
    for (size_t k = 0; k < n; k++) {
        char *auth = header_of_bytes("NTLM", t, k);
        run("http://www.corp.example/", "NTLM", auth, HANDSHAKE_UNKNOWN, USERNAMES_LOG, &ev);
        assert_int_equal(ev.cause, CAUSE_CREDENTIALS_REJECTED);
        /* a cut message either still reads (then its reason is right) or gives none */
        assert_true(ev.reason == REASON_NONE || ev.reason == REASON_FOREIGN_DOMAIN);
        free(auth);
    }
    free(t);
}

/* ---- Kerberos from a real MIT KDC (tests/data/krb) ---------------------- */

/* The client's real AP-REQ refused with the acceptor's real token. */
static void krb_case(const char *mech, const char *kase, const char *url, struct event *ev)
{
    char init[64], resp[64];
    snprintf(init, sizeof init, "krb/%s-%s.init.b64", mech, kase);
    snprintf(resp, sizeof resp, "krb/%s-%s.resp.b64", mech, kase);
    char *auth = header_of("Negotiate", init);
    char *chal = header_of("Negotiate", resp);
    run(url, chal, auth, HANDSHAKE_UNKNOWN, USERNAMES_LOG, ev);
    free(auth);
    free(chal);
}

static void test_kerberos_wrong_account_real_mit(void **state)
{
    static const struct {
        const char *kase, *krb_error;
    } rows[] = {{"badkey", "KRB_AP_ERR_BAD_INTEGRITY"}, {"badkvno", "KRB_AP_ERR_BADKEYVER"}};
    struct event ev;
    (void)state;
    for (size_t m = 0; m < 2; m++) {
        for (size_t i = 0; i < 2; i++) {
            krb_case(m == 0 ? "spnego" : "krb5", rows[i].kase, "http://web.pc.test/", &ev);
            /* a KRB-ERROR answering a ticket is a refusal (rule 3), not a handshake step */
            assert_int_equal(ev.cause, CAUSE_CREDENTIALS_REJECTED);
            assert_int_equal(ev.prompt, PROMPT_REJECTED);
            assert_string_equal(ev.auth_sent, "negotiate-kerberos");
            assert_int_equal(ev.reason, REASON_KERBEROS_WRONG_ACCOUNT);
            assert_string_equal(ev.spn, "HTTP/web.pc.test@PC.TEST");
            assert_string_equal(ev.krb_error, rows[i].krb_error);
            assert_has(ev.hint, "setspn -Q HTTP/web.pc.test");
            assert_null(strstr(ev.hint, "answered as")); /* the KRB-ERROR's sname is the ticket's */
        }
    }
}

static void test_kerberos_not_us_real_mit_is_kerberos_error(void **state)
{
    struct event ev;
    (void)state;
    krb_case("spnego", "notus", "http://web.pc.test/", &ev);
    assert_int_equal(ev.cause, CAUSE_CREDENTIALS_REJECTED);
    assert_int_equal(ev.reason, REASON_KERBEROS_ERROR);
    assert_string_equal(ev.krb_error, "KRB_AP_ERR_NOT_US");
    assert_has(ev.hint, "KRB_AP_ERR_NOT_US");
}

static void test_kerberos_real_ticket_on_alias_host(void **state)
{
    /* the ticket names HTTP/web.pc.test; the URL's host is an alias */
    struct event ev;
    char *auth = header_of("Negotiate", "krb/spnego-ok.init.b64");
    (void)state;
    run("http://alias.pc.test/", "Negotiate", auth, HANDSHAKE_UNKNOWN, USERNAMES_LOG, &ev);
    assert_int_equal(ev.cause, CAUSE_CREDENTIALS_REJECTED);
    assert_int_equal(ev.reason, REASON_SPN_HOST_MISMATCH);
    assert_string_equal(ev.spn, "HTTP/web.pc.test@PC.TEST");
    assert_has(ev.hint, "alias.pc.test");
    /* the same ticket on its own host: nothing more is visible */
    run("http://web.pc.test/", "Negotiate", auth, HANDSHAKE_UNKNOWN, USERNAMES_LOG, &ev);
    assert_int_equal(ev.reason, REASON_NONE);
    assert_has(ev.hint, "check NTFS rights");
    free(auth);
}

static void test_kerberos_completed_401_is_refusal_bare_reject_is_handshake(void **state)
{
    /* MIT's accept-completed NegTokenResp after a ticket, with a 401: the
     * logon worked and the resource still refused (authorization) */
    struct event ev;
    (void)state;
    krb_case("spnego", "ok", "http://web.pc.test/", &ev);
    assert_int_equal(ev.cause, CAUSE_CREDENTIALS_REJECTED);
    assert_int_equal(ev.reason, REASON_NONE);
    assert_string_equal(ev.krb_error, "");
    /* a server token without credentials sent stays a handshake (rule 2) */
    char *chal = header_of("Negotiate", "krb/spnego-badkey.resp.b64");
    run("http://web.pc.test/", chal, NULL, HANDSHAKE_UNKNOWN, USERNAMES_LOG, &ev);
    assert_int_equal(ev.cause, CAUSE_HANDSHAKE);
    assert_int_equal(ev.reason, REASON_NONE);
    free(chal);
}

/* ---- filled structs: Kerberos and precedence ---------------------------- */

struct fixture {
    struct credentials cred;
    struct reason_server srv;
    struct reason_input in;
    struct reason_result out;
};

static void fx_init(struct fixture *f, const char *url, const char *host)
{
    memset(f, 0, sizeof *f);
    f->in.cred = &f->cred;
    f->in.server = &f->srv;
    f->in.url = url;
    f->in.host = host;
    f->in.names_ok = true;
}

static void fx_ticket(struct fixture *f, const char *sname, const char *realm)
{
    f->cred.sent = AUTH_SENT_NEGOTIATE_KERBEROS;
    f->cred.has_krb = true;
    f->cred.krb.kind = KRB_TOKEN_AP_REQ;
    snprintf(f->cred.krb.ticket.sname, sizeof f->cred.krb.ticket.sname, "%s", sname);
    snprintf(f->cred.krb.ticket.realm, sizeof f->cred.krb.ticket.realm, "%s", realm);
}

static void fx_krb_error(struct fixture *f, int32_t code, const char *sname)
{
    f->srv.has_krb = true;
    f->srv.krb.kind = KRB_TOKEN_KRB_ERROR;
    f->srv.krb.neg_state = KRB_NEG_REJECT;
    f->srv.krb.error.error_code = code;
    snprintf(f->srv.krb.error.sname, sizeof f->srv.krb.error.sname, "%s", sname);
}

static void fx_type3(struct fixture *f, const char *domain, const char *ws, size_t nt_len)
{
    f->cred.sent = AUTH_SENT_NTLM;
    f->cred.has_ntlm = true;
    memset(&f->cred.ntlm, 0, sizeof f->cred.ntlm);
    f->cred.ntlm.type = 3;
    snprintf(f->cred.ntlm.domain, sizeof f->cred.ntlm.domain, "%s", domain);
    snprintf(f->cred.ntlm.user, sizeof f->cred.ntlm.user, "alice");
    snprintf(f->cred.ntlm.workstation, sizeof f->cred.ntlm.workstation, "%s", ws);
    f->cred.ntlm.nt_len = nt_len;
}

static void fx_server_names(struct fixture *f, const char *nb_domain, const char *dns_domain, const char *computer)
{
    f->srv.has_type2 = true;
    f->srv.type2.type = 2;
    f->srv.type2.flags = NTLM_FLAG_TARGET_TYPE_DOMAIN;
    f->srv.type2.has_av = true;
    snprintf(f->srv.type2.av.nb_domain, sizeof f->srv.type2.av.nb_domain, "%s", nb_domain);
    snprintf(f->srv.type2.av.dns_domain, sizeof f->srv.type2.av.dns_domain, "%s", dns_domain);
    snprintf(f->srv.type2.av.nb_computer, sizeof f->srv.type2.av.nb_computer, "%s", computer);
}

static void test_kerberos_wrong_account_codes(void **state)
{
    static const struct {
        int32_t code;
        const char *name;
    } codes[] = {{41, "KRB_AP_ERR_MODIFIED"}, {44, "KRB_AP_ERR_BADKEYVER"}, {31, "KRB_AP_ERR_BAD_INTEGRITY"}};
    struct fixture f;
    (void)state;
    for (size_t i = 0; i < 3; i++) {
        fx_init(&f, "http://www.corp.example/", "www.corp.example");
        fx_ticket(&f, "HTTP/www.corp.example", "CORP.EXAMPLE");
        fx_krb_error(&f, codes[i].code, "");
        reason_diagnose(&f.in, &f.out);
        assert_int_equal(f.out.reason, REASON_KERBEROS_WRONG_ACCOUNT);
        assert_string_equal(f.out.spn, "HTTP/www.corp.example@CORP.EXAMPLE");
        assert_string_equal(f.out.krb_error, codes[i].name);
        assert_has(f.out.hint, "setspn -Q HTTP/www.corp.example");
        assert_has(f.out.hint, "HTTP/www.corp.example@CORP.EXAMPLE");
    }
    /* the KRB-ERROR's sname, when it differs from the ticket's, is named */
    fx_init(&f, "http://www.corp.example/", "www.corp.example");
    fx_ticket(&f, "HTTP/www.corp.example", "CORP.EXAMPLE");
    fx_krb_error(&f, 41, "HTTP/web02.corp.example");
    reason_diagnose(&f.in, &f.out);
    assert_has(f.out.hint, "answered as HTTP/web02.corp.example");
}

static void test_kerberos_skew_expired_and_other(void **state)
{
    static const struct {
        int32_t code;
        enum event_reason reason;
        const char *hint;
    } rows[] = {
        {37, REASON_CLOCK_SKEW, "clocks"},
        {32, REASON_TICKET_EXPIRED, "lifetime"},
        {33, REASON_TICKET_EXPIRED, "lifetime"},
        {68, REASON_KERBEROS_ERROR, "KDC_ERR_WRONG_REALM"},
        {35, REASON_KERBEROS_ERROR, "KRB_AP_ERR_NOT_US"},
        {999, REASON_KERBEROS_ERROR, "code 999"},
    };
    struct fixture f;
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        fx_init(&f, "http://www.corp.example/", "www.corp.example");
        fx_ticket(&f, "HTTP/www.corp.example", "CORP.EXAMPLE");
        fx_krb_error(&f, rows[i].code, "");
        reason_diagnose(&f.in, &f.out);
        assert_int_equal(f.out.reason, rows[i].reason);
        assert_has(f.out.hint, rows[i].hint);
        if (rows[i].code == 999)
            assert_string_equal(f.out.krb_error, ""); /* not an RFC 4120 code: null, the code is in the hint */
    }
}

static void test_spn_host_mismatch_last(void **state)
{
    struct fixture f;
    (void)state;
    fx_init(&f, "http://wiki.corp.example/", "wiki.corp.example");
    fx_ticket(&f, "HTTP/web01.corp.example", "CORP.EXAMPLE");
    reason_diagnose(&f.in, &f.out);
    assert_int_equal(f.out.reason, REASON_SPN_HOST_MISMATCH);
    assert_has(f.out.hint, "alias wiki.corp.example needs its own SPN");
    assert_has(f.out.hint, "setspn -Q HTTP/wiki.corp.example");
    /* same host, other case and an absolute name: no mismatch, nothing visible */
    fx_init(&f, "http://web01.corp.example/", "web01.corp.example");
    fx_ticket(&f, "HTTP/WEB01.corp.example.", "CORP.EXAMPLE");
    reason_diagnose(&f.in, &f.out);
    assert_int_equal(f.out.reason, REASON_NONE);
    assert_string_equal(f.out.hint, "");
    assert_string_equal(f.out.spn, "HTTP/WEB01.corp.example.@CORP.EXAMPLE");
    /* a KRB-ERROR wins over the mismatch */
    fx_init(&f, "http://wiki.corp.example/", "wiki.corp.example");
    fx_ticket(&f, "HTTP/web01.corp.example", "CORP.EXAMPLE");
    fx_krb_error(&f, 41, "");
    reason_diagnose(&f.in, &f.out);
    assert_int_equal(f.out.reason, REASON_KERBEROS_WRONG_ACCOUNT);
}

static void test_ntlm_precedence(void **state)
{
    struct fixture f;
    (void)state;
    /* foreign-domain before ntlmv1 (server names from the type-2 in the 401) */
    fx_init(&f, "https://www.corp.example/", "www.corp.example");
    fx_type3(&f, "OTHERDOM", "WS01", 24);
    fx_server_names(&f, "CORP", "corp.example", "WEB01");
    reason_diagnose(&f.in, &f.out);
    assert_int_equal(f.out.reason, REASON_FOREIGN_DOMAIN);
    assert_has(f.out.hint, "CORP (corp.example)");
    /* the DNS domain name counts as the server's domain */
    fx_type3(&f, "corp.example", "WS01", 24);
    reason_diagnose(&f.in, &f.out);
    assert_int_equal(f.out.reason, REASON_NTLMV1);
    /* ntlmv1 before channel-binding */
    fx_type3(&f, "CORP", "WS01", 24);
    f.cred.ntlm.has_av = true;
    f.cred.ntlm.av.channel_bindings_nonzero = true;
    reason_diagnose(&f.in, &f.out);
    assert_int_equal(f.out.reason, REASON_NTLMV1);
    f.cred.ntlm.nt_len = 300;
    reason_diagnose(&f.in, &f.out);
    assert_int_equal(f.out.reason, REASON_CHANNEL_BINDING);
    /* a local account of the server itself is not foreign */
    fx_type3(&f, "WEB01", "WS01", 300);
    reason_diagnose(&f.in, &f.out);
    assert_int_equal(f.out.reason, REASON_NONE);
    /* local-account: domain = own workstation; the workstation is named only when names are logged */
    fx_type3(&f, "WS01", "ws01", 300);
    reason_diagnose(&f.in, &f.out);
    assert_int_equal(f.out.reason, REASON_LOCAL_ACCOUNT);
    assert_has(f.out.hint, "workstation ws01");
    f.in.names_ok = false;
    reason_diagnose(&f.in, &f.out);
    assert_int_equal(f.out.reason, REASON_LOCAL_ACCOUNT);
    assert_null(strstr(f.out.hint, "ws01"));
    /* local-account before standalone-server */
    fx_init(&f, "http://web01/", "web01");
    fx_type3(&f, "", "WS01", 300);
    fx_server_names(&f, "WEB01", "", "WEB01");
    reason_diagnose(&f.in, &f.out);
    assert_int_equal(f.out.reason, REASON_LOCAL_ACCOUNT);
    /* standalone by target type server */
    fx_type3(&f, "CORP", "WS01", 300);
    f.srv.type2.flags = NTLM_FLAG_TARGET_TYPE_SERVER;
    snprintf(f.srv.type2.target_name, sizeof f.srv.type2.target_name, "WEB01");
    f.srv.type2.av.nb_domain[0] = '\0';
    reason_diagnose(&f.in, &f.out);
    assert_int_equal(f.out.reason, REASON_STANDALONE_SERVER);
    /* no server names at all: foreign cannot be judged */
    fx_init(&f, "http://www.corp.example/", "www.corp.example");
    fx_type3(&f, "OTHERDOM", "WS01", 300);
    reason_diagnose(&f.in, &f.out);
    assert_int_equal(f.out.reason, REASON_NONE);
    /* split before anonymous */
    fx_type3(&f, "", "", 0);
    f.cred.ntlm.user[0] = '\0';
    f.cred.ntlm.anonymous = true;
    reason_diagnose(&f.in, &f.out);
    assert_int_equal(f.out.reason, REASON_ANONYMOUS_NTLM);
    f.in.handshake = HANDSHAKE_SPLIT_CLIENT;
    reason_diagnose(&f.in, &f.out);
    assert_int_equal(f.out.reason, REASON_HANDSHAKE_SPLIT);
}

static void test_fallback_after_kerberos_rules(void **state)
{
    struct fixture f;
    (void)state;
    fx_init(&f, "http://www.corp.example/", "www.corp.example");
    fx_type3(&f, "CORP", "WS01", 300);
    f.cred.sent = AUTH_SENT_NEGOTIATE_NTLM;
    reason_diagnose(&f.in, &f.out);
    assert_int_equal(f.out.reason, REASON_KERBEROS_FALLBACK);
    fx_krb_error(&f, 37, "");
    reason_diagnose(&f.in, &f.out);
    assert_int_equal(f.out.reason, REASON_CLOCK_SKEW);
    /* plain NTLM is not a fallback */
    fx_init(&f, "http://www.corp.example/", "www.corp.example");
    fx_type3(&f, "CORP", "WS01", 300);
    reason_diagnose(&f.in, &f.out);
    assert_int_equal(f.out.reason, REASON_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_foreign_domain_impacket),
        cmocka_unit_test(test_own_domain_wrong_password_has_no_reason),
        cmocka_unit_test(test_local_account_impacket),
        cmocka_unit_test(test_anonymous_ntlm_impacket),
        cmocka_unit_test(test_ntlmv1_impacket_and_gss),
        cmocka_unit_test(test_standalone_server_gss_ntlmssp),
        cmocka_unit_test(test_standalone_server_from_its_type2),
        cmocka_unit_test(test_channel_binding_only_on_https),
        cmocka_unit_test(test_negotiate_ntlm_fallback_in_neg_token_resp),
        cmocka_unit_test(test_split_server_side_beats_everything),
        cmocka_unit_test(test_split_client_side_and_no_match),
        cmocka_unit_test(test_handshake_event_reason_only_split),
        cmocka_unit_test(test_negstate_reject_to_credentials_is_rejected),
        cmocka_unit_test(test_accept_incomplete_ntlm_challenge_stays_handshake),
        cmocka_unit_test(test_garbage_gives_event_with_reason_null),
        cmocka_unit_test(test_every_truncation_of_a_type3_is_safe),
        cmocka_unit_test(test_kerberos_wrong_account_real_mit),
        cmocka_unit_test(test_kerberos_not_us_real_mit_is_kerberos_error),
        cmocka_unit_test(test_kerberos_real_ticket_on_alias_host),
        cmocka_unit_test(test_kerberos_completed_401_is_refusal_bare_reject_is_handshake),
        cmocka_unit_test(test_kerberos_wrong_account_codes),
        cmocka_unit_test(test_kerberos_skew_expired_and_other),
        cmocka_unit_test(test_spn_host_mismatch_last),
        cmocka_unit_test(test_ntlm_precedence),
        cmocka_unit_test(test_fallback_after_kerberos_rules),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    event_format_thread_cleanup();
    return rc;
}
