/* test_kerberos.c -- the Kerberos reader of Negotiate tokens: every shape
 * (SPNEGO NegTokenInit/NegTokenResp, GSS Kerberos tokens, bare messages),
 * every refusal, name sanitising, the RFC 4120 error names, and tokens made
 * by a real MIT KDC and GSSAPI (tests/data/krb, see its README). The
 * hand-built tokens below cover what a real stack would not send. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kerberos.h"
#include "tokfile.h"

/* ---- a tiny DER writer for the hand-built cases ---------------------------- */

struct blob {
    uint8_t p[4096];
    size_t n;
};

static void put(struct blob *b, const void *p, size_t n)
{
    assert_true(b->n + n <= sizeof b->p);
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

/* Append tag, minimal length, contents. */
static void tlv(struct blob *out, uint8_t tag, const void *c, size_t n)
{
    uint8_t h[4];
    size_t hl = 0;

    h[hl++] = tag;
    if (n < 0x80) {
        h[hl++] = (uint8_t)n;
    } else if (n < 0x100) {
        h[hl++] = 0x81;
        h[hl++] = (uint8_t)n;
    } else {
        h[hl++] = 0x82;
        h[hl++] = (uint8_t)(n >> 8);
        h[hl++] = (uint8_t)n;
    }
    put(out, h, hl);
    put(out, c, n);
}

static void wrap(struct blob *out, uint8_t tag, const struct blob *in)
{
    tlv(out, tag, in->p, in->n);
}

/* [ctx] { INTEGER v }, minimal two's complement. */
static void int_field(struct blob *out, uint8_t ctx, int64_t v)
{
    uint8_t b[9];
    size_t n = 8, k;
    struct blob i = {{0}, 0};

    for (k = 0; k < 8; k++)
        b[k + 1] = (uint8_t)((uint64_t)v >> (56 - 8 * k));
    b[0] = v < 0 ? 0xff : 0x00;
    k = 0;
    while (n > 0 && ((b[k] == 0x00 && !(b[k + 1] & 0x80)) || (b[k] == 0xff && (b[k + 1] & 0x80)))) {
        k++;
        n--;
    }
    tlv(&i, 0x02, b + k, n + 1);
    wrap(out, (uint8_t)(0xa0 | ctx), &i);
}

static void str_field(struct blob *out, uint8_t ctx, const char *s)
{
    struct blob i = {{0}, 0};

    tlv(&i, 0x1b, s, strlen(s));
    wrap(out, (uint8_t)(0xa0 | ctx), &i);
}

/* [ctx] PrincipalName { name-type [0] 2, name-string [1] { comps } } */
static void principal_field(struct blob *out, uint8_t ctx, const char *const *comps, size_t nc)
{
    struct blob list = {{0}, 0}, seqof = {{0}, 0}, f = {{0}, 0}, seq = {{0}, 0};
    size_t k;

    for (k = 0; k < nc; k++)
        tlv(&list, 0x1b, comps[k], strlen(comps[k]));
    int_field(&f, 0, 2);
    wrap(&seqof, 0x30, &list);
    wrap(&f, 0xa1, &seqof);
    wrap(&seq, 0x30, &f);
    wrap(out, (uint8_t)(0xa0 | ctx), &seq);
}

/* [ctx] EncryptedData { etype, kvno?, cipher } */
static void enc_field(struct blob *out, uint8_t ctx, int32_t etype, bool has_kvno, int64_t kvno)
{
    struct blob f = {{0}, 0}, seq = {{0}, 0}, os = {{0}, 0};
    static const uint8_t cipher[24] = {0xde, 0xad, 0xbe, 0xef};

    int_field(&f, 0, etype);
    if (has_kvno)
        int_field(&f, 1, kvno);
    tlv(&os, 0x04, cipher, sizeof cipher);
    wrap(&f, 0xa2, &os);
    wrap(&seq, 0x30, &f);
    wrap(out, (uint8_t)(0xa0 | ctx), &seq);
}

struct tkt_opts {
    const char *realm;
    const char *const *sname;
    size_t nsname;
    int32_t etype;
    bool has_kvno;
    int64_t kvno;
    int tkt_vno;
    int pvno;
    int msg_type;
    bool no_realm;
};

static const char *const http_web[] = {"HTTP", "web.pc.test"};

static struct tkt_opts default_tkt(void)
{
    struct tkt_opts o = {"PC.TEST", http_web, 2, 18, true, 2, 5, 5, 14, false};
    return o;
}

/* AP-REQ [APPLICATION 14] { pvno, msg-type, ap-options, ticket, authenticator } */
static void ap_req(struct blob *out, const struct tkt_opts *o)
{
    struct blob tf = {{0}, 0}, tseq = {{0}, 0}, tapp = {{0}, 0}, f = {{0}, 0}, seq = {{0}, 0};
    struct blob opts = {{0}, 0};
    static const uint8_t apopt[] = {0x00, 0x20, 0x00, 0x00, 0x00};

    int_field(&tf, 0, o->tkt_vno);
    if (!o->no_realm)
        str_field(&tf, 1, o->realm);
    principal_field(&tf, 2, o->sname, o->nsname);
    enc_field(&tf, 3, o->etype, o->has_kvno, o->kvno);
    wrap(&tseq, 0x30, &tf);
    wrap(&tapp, 0x61, &tseq);

    int_field(&f, 0, o->pvno);
    int_field(&f, 1, o->msg_type);
    tlv(&opts, 0x03, apopt, sizeof apopt);
    wrap(&f, 0xa2, &opts);
    wrap(&f, 0xa3, &tapp);
    enc_field(&f, 4, 18, false, 0);
    wrap(&seq, 0x30, &f);
    wrap(out, 0x6e, &seq);
}

/* AP-REP [APPLICATION 15] { pvno, msg-type, enc-part } */
static void ap_rep(struct blob *out)
{
    struct blob f = {{0}, 0}, seq = {{0}, 0};

    int_field(&f, 0, 5);
    int_field(&f, 1, 15);
    enc_field(&f, 2, 18, false, 0);
    wrap(&seq, 0x30, &f);
    wrap(out, 0x6f, &seq);
}

/* KRB-ERROR [APPLICATION 30] { pvno, msg-type, stime, susec, error-code,
 * realm, sname } (ctime, crealm, e-text omitted like MIT's AP errors) */
static void krb_err(struct blob *out, int32_t code, const char *realm, const char *const *sname, size_t ns)
{
    struct blob f = {{0}, 0}, seq = {{0}, 0}, t = {{0}, 0};

    int_field(&f, 0, 5);
    int_field(&f, 1, 30);
    tlv(&t, 0x18, "20261206223000Z", 15);
    wrap(&f, 0xa4, &t);
    int_field(&f, 5, 123456);
    int_field(&f, 6, code);
    if (realm != NULL)
        str_field(&f, 9, realm);
    if (sname != NULL)
        principal_field(&f, 10, sname, ns);
    wrap(&seq, 0x30, &f);
    wrap(out, 0x7e, &seq);
}

static const uint8_t oid_krb5[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
static const uint8_t oid_mskrb5[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02};
static const uint8_t oid_spnego[] = {0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};
static const uint8_t oid_ntlm[] = {0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};

/* GSS token: [APPLICATION 0] { oid, tok_id, msg } */
static void gss(struct blob *out, const uint8_t *oid, size_t oidn, uint8_t tok_id, const struct blob *msg)
{
    struct blob in = {{0}, 0};
    uint8_t id[2] = {tok_id, 0x00};

    put(&in, oid, oidn);
    put(&in, id, 2);
    put(&in, msg->p, msg->n);
    wrap(out, 0x60, &in);
}

/* SPNEGO NegTokenInit with mechTypes {krb5, ntlm} and the given mechToken. */
static void spnego_init(struct blob *out, const struct blob *tok)
{
    struct blob mechs = {{0}, 0}, seqof = {{0}, 0}, f = {{0}, 0}, seq = {{0}, 0}, a0 = {{0}, 0};
    struct blob os = {{0}, 0}, in = {{0}, 0};

    put(&mechs, oid_krb5, sizeof oid_krb5);
    put(&mechs, oid_ntlm, sizeof oid_ntlm);
    wrap(&seqof, 0x30, &mechs);
    wrap(&f, 0xa0, &seqof);
    if (tok != NULL) {
        wrap(&os, 0x04, tok);
        wrap(&f, 0xa2, &os);
    }
    wrap(&seq, 0x30, &f);
    wrap(&a0, 0xa0, &seq);
    put(&in, oid_spnego, sizeof oid_spnego);
    put(&in, a0.p, a0.n);
    wrap(out, 0x60, &in);
}

/* NegTokenResp [1] { negState?, supportedMech krb5, responseToken? } */
static void spnego_resp(struct blob *out, int neg_state, const struct blob *tok)
{
    struct blob f = {{0}, 0}, seq = {{0}, 0}, e = {{0}, 0}, os = {{0}, 0};
    struct blob m = {{0}, 0};

    if (neg_state >= 0) {
        uint8_t v = (uint8_t)neg_state;
        tlv(&e, 0x0a, &v, 1);
        wrap(&f, 0xa0, &e);
    }
    put(&m, oid_krb5, sizeof oid_krb5);
    wrap(&f, 0xa1, &m);
    if (tok != NULL) {
        wrap(&os, 0x04, tok);
        wrap(&f, 0xa2, &os);
    }
    wrap(&seq, 0x30, &f);
    wrap(out, 0xa1, &seq);
}

/* krb_inspect on an exact-size heap copy, so ASan sees any over-read. */
static int inspect(const struct blob *b, struct krb_token_info *info)
{
    uint8_t *h = malloc(b->n ? b->n : 1);
    int rc;

    assert_non_null(h);
    memcpy(h, b->p, b->n);
    rc = krb_inspect(h, b->n, info);
    free(h);
    return rc;
}

static void assert_empty(const struct krb_token_info *info)
{
    assert_int_equal(info->kind, KRB_TOKEN_UNKNOWN);
    assert_int_equal(info->neg_state, KRB_NEG_ABSENT);
    assert_string_equal(info->ticket.realm, "");
    assert_string_equal(info->ticket.sname, "");
    assert_false(info->ticket.has_etype);
    assert_int_equal(info->error.error_code, 0);
}

/* ---- hand-built shapes ---------------------------------------------------- */

static void test_spnego_init_ap_req_ticket_fields(void **state)
{
    struct tkt_opts o = default_tkt();
    struct blob req = {{0}, 0}, g = {{0}, 0}, tok = {{0}, 0};
    struct krb_token_info info;

    (void)state;
    ap_req(&req, &o);
    gss(&g, oid_krb5, sizeof oid_krb5, 0x01, &req);
    spnego_init(&tok, &g);
    assert_int_equal(inspect(&tok, &info), 0);
    assert_int_equal(info.kind, KRB_TOKEN_AP_REQ);
    assert_int_equal(info.neg_state, KRB_NEG_ABSENT);
    assert_string_equal(info.ticket.realm, "PC.TEST");
    assert_string_equal(info.ticket.sname, "HTTP/web.pc.test");
    assert_true(info.ticket.has_etype);
    assert_int_equal(info.ticket.etype, 18);
    assert_true(info.ticket.has_kvno);
    assert_int_equal(info.ticket.kvno, 2);
}

static void test_raw_gss_and_bare_ap_req(void **state)
{
    struct tkt_opts o = default_tkt();
    struct blob req = {{0}, 0}, g = {{0}, 0};
    struct krb_token_info info;

    (void)state;
    o.realm = "CORP.EXAMPLE";
    ap_req(&req, &o);
    gss(&g, oid_krb5, sizeof oid_krb5, 0x01, &req);
    assert_int_equal(inspect(&g, &info), 0);
    assert_int_equal(info.kind, KRB_TOKEN_AP_REQ);
    assert_string_equal(info.ticket.realm, "CORP.EXAMPLE");
    assert_int_equal(inspect(&req, &info), 0);
    assert_int_equal(info.kind, KRB_TOKEN_AP_REQ);
    assert_string_equal(info.ticket.sname, "HTTP/web.pc.test");
}

static void test_ms_legacy_oid_accepted(void **state)
{
    struct tkt_opts o = default_tkt();
    struct blob req = {{0}, 0}, g = {{0}, 0}, tok = {{0}, 0};
    struct krb_token_info info;

    (void)state;
    ap_req(&req, &o);
    gss(&g, oid_mskrb5, sizeof oid_mskrb5, 0x01, &req);
    assert_int_equal(inspect(&g, &info), 0);
    assert_int_equal(info.kind, KRB_TOKEN_AP_REQ);
    spnego_init(&tok, &g);
    assert_int_equal(inspect(&tok, &info), 0);
    assert_int_equal(info.kind, KRB_TOKEN_AP_REQ);
}

static void test_etype_and_kvno_ranges(void **state)
{
    struct tkt_opts o = default_tkt();
    struct blob req;
    struct krb_token_info info;

    (void)state;
    o.etype = 23, o.has_kvno = false; /* RC4, kvno omitted */
    req.n = 0;
    ap_req(&req, &o);
    assert_int_equal(inspect(&req, &info), 0);
    assert_int_equal(info.ticket.etype, 23);
    assert_false(info.ticket.has_kvno);

    o.etype = -128, o.has_kvno = true, o.kvno = 4294967295LL; /* 5-byte INTEGER */
    req.n = 0;
    ap_req(&req, &o);
    assert_int_equal(inspect(&req, &info), 0);
    assert_int_equal(info.ticket.etype, -128);
    assert_int_equal(info.ticket.kvno, 4294967295u);

    o.kvno = -2; /* a kvno encoded as a negative Int32: modulo 2^32 */
    req.n = 0;
    ap_req(&req, &o);
    assert_int_equal(inspect(&req, &info), 0);
    assert_int_equal(info.ticket.kvno, 4294967294u);

    o.kvno = 4294967296LL; /* beyond UInt32 */
    req.n = 0;
    ap_req(&req, &o);
    assert_int_equal(inspect(&req, &info), -1);
    assert_empty(&info);

    o.kvno = 1, o.etype = 0;
    req.n = 0;
    ap_req(&req, &o);
    assert_int_equal(inspect(&req, &info), 0);
    assert_int_equal(info.ticket.etype, 0);
}

static void test_wrong_versions_and_missing_fields_refused(void **state)
{
    struct tkt_opts o;
    struct blob req;
    struct krb_token_info info;

    (void)state;
    o = default_tkt(), o.pvno = 4;
    req.n = 0;
    ap_req(&req, &o);
    assert_int_equal(inspect(&req, &info), -1);
    o = default_tkt(), o.msg_type = 15;
    req.n = 0;
    ap_req(&req, &o);
    assert_int_equal(inspect(&req, &info), -1);
    o = default_tkt(), o.tkt_vno = 4;
    req.n = 0;
    ap_req(&req, &o);
    assert_int_equal(inspect(&req, &info), -1);
    o = default_tkt(), o.no_realm = true;
    req.n = 0;
    ap_req(&req, &o);
    assert_int_equal(inspect(&req, &info), -1);
    assert_empty(&info);
}

static void test_gss_tok_id_must_match_message(void **state)
{
    struct tkt_opts o = default_tkt();
    struct blob req = {{0}, 0}, g = {{0}, 0}, g2 = {{0}, 0}, g3 = {{0}, 0};
    struct krb_token_info info;

    (void)state;
    ap_req(&req, &o);
    gss(&g, oid_krb5, sizeof oid_krb5, 0x03, &req); /* says KRB-ERROR */
    assert_int_equal(inspect(&g, &info), -1);
    gss(&g2, oid_krb5, sizeof oid_krb5, 0x04, &req); /* a MIC token id */
    assert_int_equal(inspect(&g2, &info), -1);
    put(&req, "\x05\x00", 2); /* trailing bytes after the message */
    gss(&g3, oid_krb5, sizeof oid_krb5, 0x01, &req);
    assert_int_equal(inspect(&g3, &info), -1);
    assert_empty(&info);
}

static void test_krb_error_in_neg_token_resp(void **state)
{
    struct blob e = {{0}, 0}, g = {{0}, 0}, tok = {{0}, 0};
    struct krb_token_info info;

    (void)state;
    krb_err(&e, 41, "PC.TEST", http_web, 2);
    gss(&g, oid_krb5, sizeof oid_krb5, 0x03, &e);
    spnego_resp(&tok, 2, &g);
    assert_int_equal(inspect(&tok, &info), 0);
    assert_int_equal(info.kind, KRB_TOKEN_KRB_ERROR);
    assert_int_equal(info.neg_state, KRB_NEG_REJECT);
    assert_int_equal(info.error.error_code, 41);
    assert_string_equal(info.error.realm, "PC.TEST");
    assert_string_equal(info.error.sname, "HTTP/web.pc.test");
    assert_string_equal(krb_error_name(info.error.error_code), "KRB_AP_ERR_MODIFIED");
}

static void test_bare_krb_error_and_missing_parts(void **state)
{
    static const char *const krbtgt[] = {"krbtgt", "PC.TEST"};
    struct blob e = {{0}, 0}, e2 = {{0}, 0}, e3 = {{0}, 0};
    struct krb_token_info info;

    (void)state;
    krb_err(&e, 7, "PC.TEST", krbtgt, 2);
    assert_int_equal(inspect(&e, &info), 0);
    assert_int_equal(info.kind, KRB_TOKEN_KRB_ERROR);
    assert_int_equal(info.error.error_code, 7);
    assert_string_equal(info.error.sname, "krbtgt/PC.TEST");
    krb_err(&e2, 7, NULL, krbtgt, 2);
    assert_int_equal(inspect(&e2, &info), -1);
    krb_err(&e3, 7, "PC.TEST", NULL, 0);
    assert_int_equal(inspect(&e3, &info), -1);
    assert_empty(&info);
}

static void test_ap_rep_in_neg_token_resp(void **state)
{
    struct blob r = {{0}, 0}, g = {{0}, 0}, tok = {{0}, 0};
    struct krb_token_info info;

    (void)state;
    ap_rep(&r);
    gss(&g, oid_krb5, sizeof oid_krb5, 0x02, &r);
    spnego_resp(&tok, 0, &g);
    assert_int_equal(inspect(&tok, &info), 0);
    assert_int_equal(info.kind, KRB_TOKEN_AP_REP);
    assert_int_equal(info.neg_state, KRB_NEG_ACCEPT_COMPLETED);
}

static void test_neg_token_resp_without_token_is_none(void **state)
{
    struct blob tok = {{0}, 0}, t2 = {{0}, 0};
    struct krb_token_info info;

    (void)state;
    spnego_resp(&tok, 2, NULL);
    assert_int_equal(inspect(&tok, &info), 0);
    assert_int_equal(info.kind, KRB_TOKEN_NONE);
    assert_int_equal(info.neg_state, KRB_NEG_REJECT);
    spnego_resp(&t2, -1, NULL);
    assert_int_equal(inspect(&t2, &info), 0);
    assert_int_equal(info.kind, KRB_TOKEN_NONE);
    assert_int_equal(info.neg_state, KRB_NEG_ABSENT);
}

static void test_neg_state_out_of_range_refused(void **state)
{
    struct blob tok = {{0}, 0};
    struct krb_token_info info;

    (void)state;
    spnego_resp(&tok, 4, NULL);
    assert_int_equal(inspect(&tok, &info), -1);
    assert_empty(&info);
}

static void test_ntlmssp_in_spnego_and_raw(void **state)
{
    struct blob t1 = {{0}, 0}, init = {{0}, 0}, resp = {{0}, 0};
    struct krb_token_info info;
    static const uint8_t ntlm1[] = "NTLMSSP\0\x01\0\0\0\x07\x82\x08\xa2";

    (void)state;
    put(&t1, ntlm1, sizeof ntlm1 - 1);
    spnego_init(&init, &t1);
    assert_int_equal(inspect(&init, &info), 0);
    assert_int_equal(info.kind, KRB_TOKEN_NTLMSSP);
    spnego_resp(&resp, 1, &t1);
    assert_int_equal(inspect(&resp, &info), 0);
    assert_int_equal(info.kind, KRB_TOKEN_NTLMSSP);
    assert_int_equal(info.neg_state, KRB_NEG_ACCEPT_INCOMPLETE);
    assert_int_equal(inspect(&t1, &info), 0);
    assert_int_equal(info.kind, KRB_TOKEN_NTLMSSP);
}

static void test_neg_token_init_without_mech_token_refused(void **state)
{
    struct blob tok = {{0}, 0}, junk = {{0}, 0}, tok2 = {{0}, 0};
    struct krb_token_info info;

    (void)state;
    spnego_init(&tok, NULL);
    assert_int_equal(inspect(&tok, &info), -1);
    put(&junk, "NEGOEXTS", 8);
    spnego_init(&tok2, &junk);
    assert_int_equal(inspect(&tok2, &info), -1);
    assert_empty(&info);
}

static void test_names_sanitised_and_cut_on_character_boundary(void **state)
{
    /* controls, a stray byte, then an overlong NUL, a surrogate, a code
     * point past U+10FFFF and a 4-byte character */
    static const char *const odd[] = {"HTTP", "we\x01" "b\x7f", "\xff\xc3\xa9",
                                      "\xc0\x80\xed\xa0\x80\xf4\x90\x80\x80\xf0\x9f\x98\x80"};
    struct tkt_opts o = default_tkt();
    struct blob req = {{0}, 0};
    struct krb_token_info info;
    char longrealm[400];
    size_t k;

    (void)state;
    o.sname = odd, o.nsname = 4;
    ap_req(&req, &o);
    assert_int_equal(inspect(&req, &info), 0);
    assert_string_equal(info.ticket.sname, "HTTP/we?b?/?\xc3\xa9/?????????\xf0\x9f\x98\x80");

    for (k = 0; k + 2 <= 300; k += 2)
        longrealm[k] = '\xc3', longrealm[k + 1] = '\xa9'; /* 150 x U+00E9 */
    longrealm[300] = '\0';
    o = default_tkt(), o.realm = longrealm;
    req.n = 0;
    ap_req(&req, &o);
    assert_int_equal(inspect(&req, &info), 0);
    assert_int_equal(strlen(info.ticket.realm), KRB_NAME_MAX - 2); /* 127 whole characters */
    assert_true(memcmp(info.ticket.realm, longrealm, KRB_NAME_MAX - 2) == 0);
}

static void test_every_truncation_refused(void **state)
{
    struct tkt_opts o = default_tkt();
    struct blob req = {{0}, 0}, g = {{0}, 0}, tok = {{0}, 0}, cut;
    struct krb_token_info info;
    size_t k;

    (void)state;
    ap_req(&req, &o);
    gss(&g, oid_krb5, sizeof oid_krb5, 0x01, &req);
    spnego_init(&tok, &g);
    for (k = 0; k < tok.n; k++) {
        cut.n = 0;
        put(&cut, tok.p, k);
        assert_int_equal(inspect(&cut, &info), -1);
        assert_empty(&info);
    }
    assert_int_equal(inspect(&tok, &info), 0);
}

static void test_constructed_primitives_refused(void **state)
{
    /* NegTokenResp { supportedMech [1] { OID with the constructed bit } }:
     * found by fuzz_kerberos (corpus regress-constructed-oid) */
    static const uint8_t cons_oid[] = {0xa1, 0x0f, 0x30, 0x0d, 0xa1, 0x0b, 0x26, 0x09, 0x2a, 0x86,
                                       0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
    static const uint8_t prim_oid[] = {0xa1, 0x0f, 0x30, 0x0d, 0xa1, 0x0b, 0x06, 0x09, 0x2a, 0x86,
                                       0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
    /* negState [0] { ENUMERATED with the constructed bit } */
    static const uint8_t cons_enum[] = {0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x2a, 0x01, 0x00};
    struct krb_token_info info;

    (void)state;
    assert_int_equal(krb_inspect(prim_oid, sizeof prim_oid, &info), 0);
    assert_int_equal(info.kind, KRB_TOKEN_NONE);
    assert_int_equal(krb_inspect(cons_oid, sizeof cons_oid, &info), -1);
    assert_empty(&info);
    assert_int_equal(krb_inspect(cons_enum, sizeof cons_enum, &info), -1);
}

/* KRB-ERROR with fields given as the caller's blob (for duplicates and
 * unusual string types). */
static void krb_err_fields(struct blob *out, const struct blob *extra)
{
    struct blob f = {{0}, 0}, seq = {{0}, 0};

    int_field(&f, 0, 5);
    int_field(&f, 1, 30);
    put(&f, extra->p, extra->n);
    wrap(&seq, 0x30, &f);
    wrap(out, 0x7e, &seq);
}

static void test_repeated_fields_refused(void **state)
{
    struct blob x, e, tok, req, g, os;
    struct krb_token_info info;
    struct tkt_opts o = default_tkt();

    (void)state;
    /* the reference: one of each */
    x.n = 0, e.n = 0;
    int_field(&x, 6, 44);
    str_field(&x, 9, "PC.TEST");
    principal_field(&x, 10, http_web, 2);
    krb_err_fields(&e, &x);
    assert_int_equal(inspect(&e, &info), 0);
    assert_int_equal(info.error.error_code, 44);
    /* error-code twice */
    x.n = 0, e.n = 0;
    int_field(&x, 6, 44);
    int_field(&x, 6, 41);
    str_field(&x, 9, "PC.TEST");
    principal_field(&x, 10, http_web, 2);
    krb_err_fields(&e, &x);
    assert_int_equal(inspect(&e, &info), -1);
    /* realm twice */
    x.n = 0, e.n = 0;
    int_field(&x, 6, 44);
    str_field(&x, 9, "PC.TEST");
    str_field(&x, 9, "EVIL.TEST");
    principal_field(&x, 10, http_web, 2);
    krb_err_fields(&e, &x);
    assert_int_equal(inspect(&e, &info), -1);
    /* sname twice */
    x.n = 0, e.n = 0;
    int_field(&x, 6, 44);
    str_field(&x, 9, "PC.TEST");
    principal_field(&x, 10, http_web, 2);
    principal_field(&x, 10, http_web, 2);
    krb_err_fields(&e, &x);
    assert_int_equal(inspect(&e, &info), -1);
    /* error-code beyond Int32 */
    x.n = 0, e.n = 0;
    int_field(&x, 6, 2147483648LL);
    str_field(&x, 9, "PC.TEST");
    principal_field(&x, 10, http_web, 2);
    krb_err_fields(&e, &x);
    assert_int_equal(inspect(&e, &info), -1);

    /* two responseTokens in a NegTokenResp, two mechTokens in a NegTokenInit */
    req.n = 0, g.n = 0, os.n = 0, tok.n = 0;
    ap_req(&req, &o);
    gss(&g, oid_krb5, sizeof oid_krb5, 0x01, &req);
    {
        struct blob f = {{0}, 0}, sq = {{0}, 0};
        wrap(&os, 0x04, &g);
        wrap(&f, 0xa2, &os);
        wrap(&f, 0xa2, &os);
        wrap(&sq, 0x30, &f);
        wrap(&tok, 0xa1, &sq);
        assert_int_equal(inspect(&tok, &info), -1);
        tok.n = 0;
        wrap(&tok, 0xa0, &sq); /* the same fields as a bare NegTokenInit */
        assert_int_equal(inspect(&tok, &info), -1);
        f.n = 0, sq.n = 0, tok.n = 0;
        wrap(&f, 0xa2, &os);
        wrap(&sq, 0x30, &f);
        wrap(&tok, 0xa0, &sq); /* once: a bare NegTokenInit without mechTypes is read */
        assert_int_equal(inspect(&tok, &info), 0);
        assert_int_equal(info.kind, KRB_TOKEN_AP_REQ);
    }
    /* negState twice */
    {
        struct blob f = {{0}, 0}, sq = {{0}, 0}, en = {{0}, 0};
        uint8_t v = 0;
        tok.n = 0;
        tlv(&en, 0x0a, &v, 1);
        wrap(&f, 0xa0, &en);
        wrap(&f, 0xa0, &en);
        wrap(&sq, 0x30, &f);
        wrap(&tok, 0xa1, &sq);
        assert_int_equal(inspect(&tok, &info), -1);
    }
}

/* A ticket field repeated, an etype repeated, kvno repeated, an unknown
 * ticket field skipped. */
static void test_repeated_ticket_fields(void **state)
{
    struct blob tf, tseq, tapp, f, seq, msg, enc, encseq;
    struct krb_token_info info;
    static const uint8_t cipher[4] = {1, 2, 3, 4};
    int variant;

    (void)state;
    for (variant = 0; variant < 5; variant++) {
        tf.n = tseq.n = tapp.n = f.n = seq.n = msg.n = enc.n = encseq.n = 0;
        int_field(&tf, 0, 5);
        str_field(&tf, 1, "PC.TEST");
        if (variant == 1)
            str_field(&tf, 1, "PC.TEST");
        principal_field(&tf, 2, http_web, 2);
        int_field(&enc, 0, 18);
        if (variant == 2)
            int_field(&enc, 0, 17);
        int_field(&enc, 1, 3);
        if (variant == 3)
            int_field(&enc, 1, 4);
        {
            struct blob os = {{0}, 0};
            tlv(&os, 0x04, cipher, sizeof cipher);
            wrap(&enc, 0xa2, &os);
        }
        wrap(&encseq, 0x30, &enc);
        wrap(&tf, 0xa3, &encseq);
        if (variant == 4)
            int_field(&tf, 7, 99); /* an unknown extension field */
        wrap(&tseq, 0x30, &tf);
        wrap(&tapp, 0x61, &tseq);
        int_field(&f, 0, 5);
        int_field(&f, 1, 14);
        wrap(&f, 0xa3, &tapp);
        wrap(&seq, 0x30, &f);
        wrap(&msg, 0x6e, &seq);
        if (variant == 0 || variant == 4) {
            assert_int_equal(inspect(&msg, &info), 0);
            assert_int_equal(info.ticket.kvno, 3);
        } else {
            assert_int_equal(inspect(&msg, &info), -1);
        }
    }
}

/* KerberosString as UTF8String and IA5String (lenient encoders), an
 * OCTET STRING refused, a multi-byte sequence cut at the end of a name. */
static void test_name_string_types(void **state)
{
    static const uint8_t types[] = {0x0c, 0x16, 0x04};
    struct blob x, e, r;
    struct krb_token_info info;
    size_t k;

    (void)state;
    for (k = 0; k < sizeof types; k++) {
        x.n = e.n = r.n = 0;
        int_field(&x, 6, 41);
        tlv(&r, types[k], "PC.TEST\xc3", 8);
        wrap(&x, 0xa9, &r);
        principal_field(&x, 10, http_web, 2);
        krb_err_fields(&e, &x);
        if (types[k] == 0x04) {
            assert_int_equal(inspect(&e, &info), -1);
        } else {
            assert_int_equal(inspect(&e, &info), 0);
            assert_string_equal(info.error.realm, "PC.TEST?");
        }
    }
}

static void test_garbage_and_null(void **state)
{
    static const uint8_t junk[] = {0x30, 0x80, 0x00, 0x00};
    static const uint8_t app0_other[] = {0x60, 0x05, 0x06, 0x03, 0x2a, 0x03, 0x04};
    struct krb_token_info info;

    (void)state;
    assert_int_equal(krb_inspect(NULL, 0, &info), -1);
    assert_empty(&info);
    assert_int_equal(krb_inspect(junk, sizeof junk, &info), -1);
    assert_int_equal(krb_inspect(app0_other, sizeof app0_other, &info), -1);
    assert_empty(&info);
}


/* ---- tokens of a real MIT KDC and GSSAPI (tests/data/krb/README.md) -------- */

struct real_case {
    const char *file;
    enum krb_token_kind kind;
    enum krb_neg_state neg_state;
    const char *sname;  /* ticket or error sname */
    int32_t etype;      /* AP-REQ */
    uint32_t kvno;      /* AP-REQ */
    int32_t error_code; /* KRB-ERROR */
};

static const struct real_case real_cases[] = {
    {"krb/spnego-ok.init.b64", KRB_TOKEN_AP_REQ, KRB_NEG_ABSENT, "HTTP/web.pc.test", 18, 3, 0},
    {"krb/spnego-ok.resp.b64", KRB_TOKEN_AP_REP, KRB_NEG_ACCEPT_COMPLETED, "", 0, 0, 0},
    {"krb/spnego-badkey.init.b64", KRB_TOKEN_AP_REQ, KRB_NEG_ABSENT, "HTTP/web.pc.test", 18, 3, 0},
    {"krb/spnego-badkey.resp.b64", KRB_TOKEN_KRB_ERROR, KRB_NEG_REJECT, "HTTP/web.pc.test", 0, 0, 31},
    {"krb/spnego-badkvno.init.b64", KRB_TOKEN_AP_REQ, KRB_NEG_ABSENT, "HTTP/web.pc.test", 18, 3, 0},
    {"krb/spnego-badkvno.resp.b64", KRB_TOKEN_KRB_ERROR, KRB_NEG_REJECT, "HTTP/web.pc.test", 0, 0, 44},
    {"krb/spnego-notus.init.b64", KRB_TOKEN_AP_REQ, KRB_NEG_ABSENT, "HTTP/web.pc.test", 18, 3, 0},
    {"krb/spnego-notus.resp.b64", KRB_TOKEN_KRB_ERROR, KRB_NEG_REJECT, "HTTP/web.pc.test", 0, 0, 35},
    {"krb/spnego-nomutual.init.b64", KRB_TOKEN_AP_REQ, KRB_NEG_ABSENT, "HTTP/web.pc.test", 18, 3, 0},
    {"krb/spnego-nomutual.resp.b64", KRB_TOKEN_NONE, KRB_NEG_ACCEPT_COMPLETED, "", 0, 0, 0},
    {"krb/spnego-aes128.init.b64", KRB_TOKEN_AP_REQ, KRB_NEG_ABSENT, "HTTP/aes128.pc.test", 17, 2, 0},
    {"krb/spnego-aes128.resp.b64", KRB_TOKEN_AP_REP, KRB_NEG_ACCEPT_COMPLETED, "", 0, 0, 0},
    {"krb/spnego-rc4.init.b64", KRB_TOKEN_AP_REQ, KRB_NEG_ABSENT, "HTTP/legacy.pc.test", 23, 2, 0},
    {"krb/spnego-rc4.resp.b64", KRB_TOKEN_AP_REP, KRB_NEG_ACCEPT_COMPLETED, "", 0, 0, 0},
    {"krb/curl-ok.init.b64", KRB_TOKEN_AP_REQ, KRB_NEG_ABSENT, "HTTP/web.pc.test", 18, 3, 0},
    {"krb/curl-ok.resp.b64", KRB_TOKEN_AP_REP, KRB_NEG_ACCEPT_COMPLETED, "", 0, 0, 0},
    {"krb/krb5-ok.init.b64", KRB_TOKEN_AP_REQ, KRB_NEG_ABSENT, "HTTP/web.pc.test", 18, 3, 0},
    {"krb/krb5-ok.resp.b64", KRB_TOKEN_AP_REP, KRB_NEG_ABSENT, "", 0, 0, 0},
    {"krb/krb5-badkey.init.b64", KRB_TOKEN_AP_REQ, KRB_NEG_ABSENT, "HTTP/web.pc.test", 18, 3, 0},
    {"krb/krb5-badkey.resp.b64", KRB_TOKEN_KRB_ERROR, KRB_NEG_ABSENT, "HTTP/web.pc.test", 0, 0, 31},
    {"krb/krb5-badkvno.init.b64", KRB_TOKEN_AP_REQ, KRB_NEG_ABSENT, "HTTP/web.pc.test", 18, 3, 0},
    {"krb/krb5-badkvno.resp.b64", KRB_TOKEN_KRB_ERROR, KRB_NEG_ABSENT, "HTTP/web.pc.test", 0, 0, 44},
    {"krb/krb5-notus.init.b64", KRB_TOKEN_AP_REQ, KRB_NEG_ABSENT, "HTTP/web.pc.test", 18, 3, 0},
    {"krb/krb5-notus.resp.b64", KRB_TOKEN_KRB_ERROR, KRB_NEG_ABSENT, "HTTP/web.pc.test", 0, 0, 35},
    {"krb/krb5-nomutual.init.b64", KRB_TOKEN_AP_REQ, KRB_NEG_ABSENT, "HTTP/web.pc.test", 18, 3, 0},
    {"krb/krb5-aes128.init.b64", KRB_TOKEN_AP_REQ, KRB_NEG_ABSENT, "HTTP/aes128.pc.test", 17, 2, 0},
    {"krb/krb5-aes128.resp.b64", KRB_TOKEN_AP_REP, KRB_NEG_ABSENT, "", 0, 0, 0},
    {"krb/krb5-rc4.init.b64", KRB_TOKEN_AP_REQ, KRB_NEG_ABSENT, "HTTP/legacy.pc.test", 23, 2, 0},
    {"krb/krb5-rc4.resp.b64", KRB_TOKEN_AP_REP, KRB_NEG_ABSENT, "", 0, 0, 0},
};

static void check_real(const struct real_case *c, const struct krb_token_info *info)
{
    assert_int_equal(info->kind, c->kind);
    assert_int_equal(info->neg_state, c->neg_state);
    if (c->kind == KRB_TOKEN_AP_REQ) {
        assert_string_equal(info->ticket.realm, "PC.TEST");
        assert_string_equal(info->ticket.sname, c->sname);
        assert_true(info->ticket.has_etype);
        assert_int_equal(info->ticket.etype, c->etype);
        assert_true(info->ticket.has_kvno);
        assert_int_equal(info->ticket.kvno, c->kvno);
    } else {
        assert_string_equal(info->ticket.realm, "");
        assert_false(info->ticket.has_etype);
    }
    if (c->kind == KRB_TOKEN_KRB_ERROR) {
        assert_int_equal(info->error.error_code, c->error_code);
        assert_string_equal(info->error.realm, "PC.TEST");
        assert_string_equal(info->error.sname, c->sname);
        assert_non_null(krb_error_name(c->error_code));
    } else {
        assert_int_equal(info->error.error_code, 0);
        assert_string_equal(info->error.sname, "");
    }
}

static void test_real_mit_tokens(void **state)
{
    size_t k;

    (void)state;
    for (k = 0; k < sizeof real_cases / sizeof real_cases[0]; k++) {
        size_t n;
        uint8_t *t = tokfile_load(real_cases[k].file, &n);
        struct krb_token_info info;

        if (krb_inspect(t, n, &info) != 0)
            fail_msg("%s not recognised", real_cases[k].file);
        check_real(&real_cases[k], &info);
        free(t);
    }
}

static void test_real_mit_error_names(void **state)
{
    (void)state;
    assert_string_equal(krb_error_name(31), "KRB_AP_ERR_BAD_INTEGRITY");
    assert_string_equal(krb_error_name(44), "KRB_AP_ERR_BADKEYVER");
    assert_string_equal(krb_error_name(35), "KRB_AP_ERR_NOT_US");
}

/* Every prefix of every real token is refused with nothing filled, and so
 * is every token with one byte flipped where it breaks the DER (the rest
 * may still parse: a flipped cipher byte is invisible to us). */
static void test_real_tokens_every_truncation_refused(void **state)
{
    size_t k;

    (void)state;
    for (k = 0; k < sizeof real_cases / sizeof real_cases[0]; k++) {
        size_t n, cut;
        uint8_t *t = tokfile_load(real_cases[k].file, &n);

        for (cut = 0; cut < n; cut++) {
            uint8_t *h = malloc(cut ? cut : 1);
            struct krb_token_info info;
            assert_non_null(h);
            memcpy(h, t, cut);
            if (krb_inspect(h, cut, &info) != -1)
                fail_msg("%s cut at %zu accepted", real_cases[k].file, cut);
            assert_empty(&info);
            free(h);
        }
        free(t);
    }
}

/* Every single-byte change of a real token gives either a clean refusal or
 * a result of the same shape: never a crash (ASan watches), names always
 * terminated. */
static void test_real_tokens_byte_flips_are_safe(void **state)
{
    size_t k;

    (void)state;
    for (k = 0; k < sizeof real_cases / sizeof real_cases[0]; k += 3) {
        size_t n, i;
        uint8_t *t = tokfile_load(real_cases[k].file, &n);

        for (i = 0; i < n; i++) {
            static const uint8_t flips[] = {0x01, 0x80, 0xff};
            size_t f;
            for (f = 0; f < sizeof flips; f++) {
                struct krb_token_info info;
                int rc;
                t[i] ^= flips[f];
                rc = krb_inspect(t, n, &info);
                t[i] ^= flips[f];
                if (rc != 0)
                    assert_empty(&info);
                else
                    assert_int_not_equal(info.kind, KRB_TOKEN_UNKNOWN);
                assert_non_null(memchr(info.ticket.realm, '\0', sizeof info.ticket.realm));
                assert_non_null(memchr(info.ticket.sname, '\0', sizeof info.ticket.sname));
                assert_non_null(memchr(info.error.sname, '\0', sizeof info.error.sname));
            }
        }
        free(t);
    }
}

/* MIT's SPNEGO around gss-ntlmssp (tests/data/ntlm, spnego-gss-v2-cb):
 * NTLMSSP, with the negState of each NegTokenResp. */
static void test_real_spnego_ntlmssp(void **state)
{
    static const struct {
        const char *file;
        enum krb_neg_state neg;
    } cases[] = {
        {"ntlm/spnego-gss-v2-cb.type1.b64", KRB_NEG_ABSENT},
        {"ntlm/spnego-gss-v2-cb.type2.b64", KRB_NEG_ACCEPT_INCOMPLETE},
        {"ntlm/spnego-gss-v2-cb.type3.b64", KRB_NEG_ACCEPT_INCOMPLETE}, /* MIT sends it client-side too */
        {"ntlm/gss-v2.type3.b64", KRB_NEG_ABSENT}, /* raw NTLMSSP as Negotiate */
    };
    size_t k;

    (void)state;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t n;
        uint8_t *t = tokfile_load(cases[k].file, &n);
        struct krb_token_info info;

        assert_int_equal(krb_inspect(t, n, &info), 0);
        assert_int_equal(info.kind, KRB_TOKEN_NTLMSSP);
        assert_int_equal(info.neg_state, cases[k].neg);
        free(t);
    }
}

/* RFC 4120 §7.5.9, the whole table. */
static void test_error_names_cover_rfc4120(void **state)
{
    static const struct {
        int32_t code;
        const char *name;
    } table[] = {
        {0, "KDC_ERR_NONE"}, {1, "KDC_ERR_NAME_EXP"}, {2, "KDC_ERR_SERVICE_EXP"},
        {3, "KDC_ERR_BAD_PVNO"}, {4, "KDC_ERR_C_OLD_MAST_KVNO"}, {5, "KDC_ERR_S_OLD_MAST_KVNO"},
        {6, "KDC_ERR_C_PRINCIPAL_UNKNOWN"}, {7, "KDC_ERR_S_PRINCIPAL_UNKNOWN"},
        {8, "KDC_ERR_PRINCIPAL_NOT_UNIQUE"}, {9, "KDC_ERR_NULL_KEY"}, {10, "KDC_ERR_CANNOT_POSTDATE"},
        {11, "KDC_ERR_NEVER_VALID"}, {12, "KDC_ERR_POLICY"}, {13, "KDC_ERR_BADOPTION"},
        {14, "KDC_ERR_ETYPE_NOSUPP"}, {15, "KDC_ERR_SUMTYPE_NOSUPP"}, {16, "KDC_ERR_PADATA_TYPE_NOSUPP"},
        {17, "KDC_ERR_TRTYPE_NOSUPP"}, {18, "KDC_ERR_CLIENT_REVOKED"}, {19, "KDC_ERR_SERVICE_REVOKED"},
        {20, "KDC_ERR_TGT_REVOKED"}, {21, "KDC_ERR_CLIENT_NOTYET"}, {22, "KDC_ERR_SERVICE_NOTYET"},
        {23, "KDC_ERR_KEY_EXPIRED"}, {24, "KDC_ERR_PREAUTH_FAILED"}, {25, "KDC_ERR_PREAUTH_REQUIRED"},
        {26, "KDC_ERR_SERVER_NOMATCH"}, {27, "KDC_ERR_MUST_USE_USER2USER"},
        {28, "KDC_ERR_PATH_NOT_ACCEPTED"}, {29, "KDC_ERR_SVC_UNAVAILABLE"},
        {31, "KRB_AP_ERR_BAD_INTEGRITY"}, {32, "KRB_AP_ERR_TKT_EXPIRED"}, {33, "KRB_AP_ERR_TKT_NYV"},
        {34, "KRB_AP_ERR_REPEAT"}, {35, "KRB_AP_ERR_NOT_US"}, {36, "KRB_AP_ERR_BADMATCH"},
        {37, "KRB_AP_ERR_SKEW"}, {38, "KRB_AP_ERR_BADADDR"}, {39, "KRB_AP_ERR_BADVERSION"},
        {40, "KRB_AP_ERR_MSG_TYPE"}, {41, "KRB_AP_ERR_MODIFIED"}, {42, "KRB_AP_ERR_BADORDER"},
        {44, "KRB_AP_ERR_BADKEYVER"}, {45, "KRB_AP_ERR_NOKEY"}, {46, "KRB_AP_ERR_MUT_FAIL"},
        {47, "KRB_AP_ERR_BADDIRECTION"}, {48, "KRB_AP_ERR_METHOD"}, {49, "KRB_AP_ERR_BADSEQ"},
        {50, "KRB_AP_ERR_INAPP_CKSUM"}, {51, "KRB_AP_PATH_NOT_ACCEPTED"}, {52, "KRB_ERR_RESPONSE_TOO_BIG"},
        {60, "KRB_ERR_GENERIC"}, {61, "KRB_ERR_FIELD_TOOLONG"}, {62, "KDC_ERROR_CLIENT_NOT_TRUSTED"},
        {63, "KDC_ERROR_KDC_NOT_TRUSTED"}, {64, "KDC_ERROR_INVALID_SIG"}, {65, "KDC_ERR_KEY_TOO_WEAK"},
        {66, "KDC_ERR_CERTIFICATE_MISMATCH"}, {67, "KRB_AP_ERR_NO_TGT"}, {68, "KDC_ERR_WRONG_REALM"},
        {69, "KRB_AP_ERR_USER_TO_USER_REQUIRED"}, {70, "KDC_ERR_CANT_VERIFY_CERTIFICATE"},
        {71, "KDC_ERR_INVALID_CERTIFICATE"}, {72, "KDC_ERR_REVOKED_CERTIFICATE"},
        {73, "KDC_ERR_REVOCATION_STATUS_UNKNOWN"}, {74, "KDC_ERR_REVOCATION_STATUS_UNAVAILABLE"},
        {75, "KDC_ERR_CLIENT_NAME_MISMATCH"}, {76, "KDC_ERR_KDC_NAME_MISMATCH"},
    };
    static const int32_t unlisted[] = {-1, 30, 43, 53, 59, 77, 1000, INT32_MAX, INT32_MIN};
    size_t k;

    (void)state;
    for (k = 0; k < sizeof table / sizeof table[0]; k++)
        assert_string_equal(krb_error_name(table[k].code), table[k].name);
    for (k = 0; k < sizeof unlisted / sizeof unlisted[0]; k++)
        assert_null(krb_error_name(unlisted[k]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spnego_init_ap_req_ticket_fields),
        cmocka_unit_test(test_raw_gss_and_bare_ap_req),
        cmocka_unit_test(test_ms_legacy_oid_accepted),
        cmocka_unit_test(test_etype_and_kvno_ranges),
        cmocka_unit_test(test_wrong_versions_and_missing_fields_refused),
        cmocka_unit_test(test_gss_tok_id_must_match_message),
        cmocka_unit_test(test_krb_error_in_neg_token_resp),
        cmocka_unit_test(test_bare_krb_error_and_missing_parts),
        cmocka_unit_test(test_ap_rep_in_neg_token_resp),
        cmocka_unit_test(test_neg_token_resp_without_token_is_none),
        cmocka_unit_test(test_neg_state_out_of_range_refused),
        cmocka_unit_test(test_ntlmssp_in_spnego_and_raw),
        cmocka_unit_test(test_neg_token_init_without_mech_token_refused),
        cmocka_unit_test(test_names_sanitised_and_cut_on_character_boundary),
        cmocka_unit_test(test_every_truncation_refused),
        cmocka_unit_test(test_constructed_primitives_refused),
        cmocka_unit_test(test_repeated_fields_refused),
        cmocka_unit_test(test_repeated_ticket_fields),
        cmocka_unit_test(test_name_string_types),
        cmocka_unit_test(test_garbage_and_null),
        cmocka_unit_test(test_error_names_cover_rfc4120),
        cmocka_unit_test(test_real_mit_tokens),
        cmocka_unit_test(test_real_mit_error_names),
        cmocka_unit_test(test_real_tokens_every_truncation_refused),
        cmocka_unit_test(test_real_tokens_byte_flips_are_safe),
        cmocka_unit_test(test_real_spnego_ntlmssp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
