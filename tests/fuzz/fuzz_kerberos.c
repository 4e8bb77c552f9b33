/* fuzz_kerberos.c -- the Kerberos/SPNEGO reader (krb_inspect) and the DER
 * reader under it, on raw bytes in an exact-size heap buffer so that any
 * read past the token is caught. Seeds are the real MIT tokens of
 * tests/data/krb (corpus/kerberos/real-*, from make_tokens.py). Checks:
 * success and a known kind go together, a failure leaves everything empty,
 * names are terminated, valid UTF-8 and free of control bytes, and a
 * depth-first walk with der_next/der_enter never goes below DER_MAX_DEPTH
 * and agrees with der_validate; and whatever krb_inspect calls NTLMSSP,
 * ntlm.c's spnego_inspect (the same shapes, read for another purpose) does
 * too. */
#include <assert.h>
#include <stdbool.h>
#include <string.h>

#include "der.h"
#include "fuzz_util.h"
#include "kerberos.h"
#include "ntlm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A name field: NUL inside, no control byte, well-formed UTF-8 (the
 * reader replaces anything else by '?'). */
static void check_name(const char *s, size_t cap)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t n, i = 0;

    assert(memchr(s, '\0', cap) != NULL);
    n = strlen(s);
    while (i < n) {
        size_t k = 1;
        assert(p[i] >= 0x20 && p[i] != 0x7f);
        if (p[i] >= 0xf0)
            k = 4;
        else if (p[i] >= 0xe0)
            k = 3;
        else if (p[i] >= 0xc0)
            k = 2;
        else
            assert(p[i] < 0x80);
        assert(i + k <= n);
        for (size_t j = 1; j < k; j++)
            assert((p[i + j] & 0xc0) == 0x80);
        i += k;
    }
}

/* Walk every element depth-first with an explicit stack of readers (the
 * way a careless caller could, entering everything constructed). Returns
 * true when the whole input was well-formed within the depth limit. */
static bool walk(const uint8_t *p, size_t n)
{
    struct der_reader stack[DER_MAX_DEPTH + 1];
    unsigned top = 0;
    bool ok = true;

    der_init(&stack[0], p, n);
    for (;;) {
        struct der_elem e;
        int rc = der_next(&stack[top], &e);
        if (rc == 1) {
            if (top == 0)
                break;
            top--;
            continue;
        }
        if (rc < 0)
            return false;
        assert(e.val >= p && e.val + e.len <= p + n);
        if (e.constructed) {
            if (der_enter(&stack[top], &e, &stack[top + 1]) != 0) {
                assert(stack[top].depth == DER_MAX_DEPTH);
                return false;
            }
            top++;
            assert(stack[top].depth == top && top <= DER_MAX_DEPTH);
        }
    }
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *tok = (uint8_t *)fuzz_dup(data, size);
    struct krb_token_info info;
    int rc;

    memset(&info, 0xa5, sizeof info);
    rc = krb_inspect(tok, size, &info);
    if (rc == 0) {
        assert(info.kind != KRB_TOKEN_UNKNOWN && info.kind <= KRB_TOKEN_NONE);
        assert(info.neg_state >= KRB_NEG_ABSENT && info.neg_state <= KRB_NEG_REQUEST_MIC);
        if (info.kind == KRB_TOKEN_AP_REQ)
            assert(info.ticket.has_etype);
        else
            assert(!info.ticket.has_etype && !info.ticket.has_kvno && info.ticket.realm[0] == '\0');
        if (info.kind != KRB_TOKEN_KRB_ERROR)
            assert(info.error.error_code == 0 && info.error.sname[0] == '\0');
    } else {
        assert(rc == -1 && info.kind == KRB_TOKEN_UNKNOWN && info.neg_state == KRB_NEG_ABSENT);
        assert(info.ticket.realm[0] == '\0' && info.ticket.sname[0] == '\0' && !info.ticket.has_etype);
        assert(info.error.error_code == 0 && info.error.realm[0] == '\0' && info.error.sname[0] == '\0');
    }
    check_name(info.ticket.realm, sizeof info.ticket.realm);
    check_name(info.ticket.sname, sizeof info.ticket.sname);
    check_name(info.error.realm, sizeof info.error.realm);
    check_name(info.error.sname, sizeof info.error.sname);
    if (info.kind == KRB_TOKEN_KRB_ERROR)
        (void)krb_error_name(info.error.error_code);

    if (rc == 0 && info.kind == KRB_TOKEN_NTLMSSP) {
        struct spnego_info si;
        assert(spnego_inspect(tok, size, &si) == 0 && si.mech == SPNEGO_NTLMSSP);
    }

    /* the validator and a full walk agree on every input */
    assert(walk(tok, size) == (der_validate(tok, size) == 0));
    free(tok);
    return 0;
}
