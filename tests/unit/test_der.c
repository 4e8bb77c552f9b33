/* test_der.c -- the bounded DER reader: identifier and length forms, every
 * refusal (cut headers, indefinite and huge lengths, contents past the
 * window, non-minimal high tags), the depth limit, and the whole-tree
 * validator on 10,000 nested tags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "der.h"

/* Copy into an exact-size heap block so ASan flags any read past n. */
static uint8_t *exact(const uint8_t *p, size_t n)
{
    uint8_t *h = malloc(n ? n : 1);
    assert_non_null(h);
    if (n)
        memcpy(h, p, n);
    return h;
}

/* der_next on a fresh reader over p[0..n). */
static int next1(const uint8_t *p, size_t n, struct der_elem *e)
{
    struct der_reader r;
    uint8_t *h = exact(p, n);
    int rc;

    der_init(&r, h, n);
    rc = der_next(&r, e);
    if (rc == 0) { /* make val point into the caller's copy */
        size_t off = (size_t)(e->val - h);
        e->val = p + off;
        assert_int_equal(r.pos, e->hdr_len + e->len);
    } else if (rc < 0) {
        assert_int_equal(r.pos, 0); /* a refusal does not move the reader */
    }
    free(h);
    return rc;
}

static void test_short_length_primitive(void **state)
{
    static const uint8_t b[] = {0x02, 0x01, 0x05};
    struct der_elem e;

    (void)state;
    assert_int_equal(next1(b, sizeof b, &e), 0);
    assert_int_equal(e.cls, DER_UNIVERSAL);
    assert_false(e.constructed);
    assert_int_equal(e.tag, DER_TAG_INTEGER);
    assert_int_equal(e.len, 1);
    assert_int_equal(e.hdr_len, 2);
    assert_int_equal(e.val[0], 5);
}

static void test_identifier_classes_and_constructed_bit(void **state)
{
    static const uint8_t app30[] = {0x7e, 0x00};
    static const uint8_t ctx3[] = {0xa3, 0x00};
    static const uint8_t priv[] = {0xc1, 0x00};
    struct der_elem e;

    (void)state;
    assert_int_equal(next1(app30, sizeof app30, &e), 0);
    assert_int_equal(e.cls, DER_APPLICATION);
    assert_true(e.constructed);
    assert_int_equal(e.tag, 30);
    assert_int_equal(next1(ctx3, sizeof ctx3, &e), 0);
    assert_int_equal(e.cls, DER_CONTEXT);
    assert_int_equal(e.tag, 3);
    assert_int_equal(next1(priv, sizeof priv, &e), 0);
    assert_int_equal(e.cls, DER_PRIVATE);
    assert_false(e.constructed);
    assert_int_equal(e.tag, 1);
}

static void test_long_form_lengths(void **state)
{
    uint8_t b[300 + 4];
    struct der_elem e;

    (void)state;
    memset(b, 0x41, sizeof b);
    b[0] = 0x04, b[1] = 0x81, b[2] = 200; /* one length octet */
    assert_int_equal(next1(b, 3 + 200, &e), 0);
    assert_int_equal(e.len, 200);
    assert_int_equal(e.hdr_len, 3);
    b[1] = 0x82, b[2] = 0x01, b[3] = 0x2c; /* two: 300 */
    assert_int_equal(next1(b, 4 + 300, &e), 0);
    assert_int_equal(e.len, 300);
    assert_int_equal(e.hdr_len, 4);
    /* a non-minimal (BER) long form of a short length is accepted */
    b[1] = 0x84, b[2] = 0, b[3] = 0, b[4] = 0, b[5] = 0x05;
    assert_int_equal(next1(b, 6 + 5, &e), 0);
    assert_int_equal(e.len, 5);
    assert_int_equal(e.hdr_len, 6);
}

static void test_eight_length_octets_accepted_nine_refused(void **state)
{
    uint8_t b[12] = {0x04, 0x88, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x7a};
    struct der_elem e;

    (void)state;
    assert_int_equal(next1(b, 11, &e), 0);
    assert_int_equal(e.len, 1);
    assert_int_equal(e.val[0], 0x7a);
    b[1] = 0x89; /* nine octets */
    b[10] = 0x01, b[11] = 0x7a;
    assert_int_equal(next1(b, 12, &e), -1);
}

static void test_indefinite_and_reserved_lengths_refused(void **state)
{
    static const uint8_t indef[] = {0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00};
    static const uint8_t reserved[] = {0x30, 0xff, 0x00};
    struct der_elem e;

    (void)state;
    assert_int_equal(next1(indef, sizeof indef, &e), -1);
    assert_int_equal(next1(reserved, sizeof reserved, &e), -1);
}

static void test_huge_lengths_refused(void **state)
{
    static const uint8_t h4[] = {0x04, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00};
    static const uint8_t h8[] = {0x04, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00};
    static const uint8_t h8max[] = {0x04, 0x88, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0, 0x00};
    static const uint8_t oneover[] = {0x04, 0x03, 0x01, 0x02}; /* one byte short */
    struct der_elem e;

    (void)state;
    assert_int_equal(next1(h4, sizeof h4, &e), -1);
    assert_int_equal(next1(h8, sizeof h8, &e), -1);
    assert_int_equal(next1(h8max, sizeof h8max, &e), -1);
    assert_int_equal(next1(oneover, sizeof oneover, &e), -1);
}

/* Every prefix of a valid element is refused, every header field cut. */
static void test_every_truncation_refused(void **state)
{
    /* [APPLICATION 200] (high tag 0x81 0x48), length 0x82 0x01 0x2c (300) */
    uint8_t full[6 + 300] = {0x7f, 0x81, 0x48, 0x82, 0x01, 0x2c};
    struct der_elem e;
    size_t k;

    (void)state;
    memset(full + 6, 0x22, 300);
    assert_int_equal(next1(full, sizeof full, &e), 0);
    assert_int_equal(e.cls, DER_APPLICATION);
    assert_int_equal(e.tag, 200);
    assert_int_equal(e.len, 300);
    for (k = 0; k < sizeof full; k++)
        assert_int_equal(next1(full, k, &e), k == 0 ? 1 : -1);
}

static void test_high_tag_numbers(void **state)
{
    static const uint8_t t31[] = {0x9f, 0x1f, 0x00};               /* [31] minimal */
    static const uint8_t tbig[] = {0x5f, 0xff, 0xff, 0xff, 0x7f, 0x00}; /* 2^28 - 1 */
    static const uint8_t t5groups[] = {0x5f, 0x81, 0x80, 0x80, 0x80, 0x00, 0x00};
    static const uint8_t tlead0[] = {0x5f, 0x80, 0x2a, 0x00};      /* leading zero group */
    static const uint8_t tlow[] = {0x5f, 0x1e, 0x00};              /* 30 in the long form */
    static const uint8_t tcut[] = {0x5f, 0x81};                     /* continuation never ends */
    static const uint8_t tnolen[] = {0x5f, 0x2a};                   /* tag, then nothing */
    struct der_elem e;

    (void)state;
    assert_int_equal(next1(t31, sizeof t31, &e), 0);
    assert_int_equal(e.tag, 31);
    assert_int_equal(e.cls, DER_CONTEXT);
    assert_int_equal(next1(tbig, sizeof tbig, &e), 0);
    assert_int_equal(e.tag, 0x0fffffff);
    assert_int_equal(next1(t5groups, sizeof t5groups, &e), -1);
    assert_int_equal(next1(tlead0, sizeof tlead0, &e), -1);
    assert_int_equal(next1(tlow, sizeof tlow, &e), -1);
    assert_int_equal(next1(tcut, sizeof tcut, &e), -1);
    assert_int_equal(next1(tnolen, sizeof tnolen, &e), -1);
}

static void test_end_of_window_and_sequence_walk(void **state)
{
    static const uint8_t b[] = {0x02, 0x01, 0x01, 0x04, 0x00, 0x05, 0x00};
    struct der_reader r;
    struct der_elem e;

    (void)state;
    der_init(&r, b, sizeof b);
    assert_int_equal(der_next(&r, &e), 0);
    assert_int_equal(e.tag, DER_TAG_INTEGER);
    assert_int_equal(der_next(&r, &e), 0);
    assert_int_equal(e.tag, DER_TAG_OCTET_STRING);
    assert_int_equal(e.len, 0);
    assert_false(der_at_end(&r));
    assert_int_equal(der_next(&r, &e), 0);
    assert_int_equal(e.tag, 5);
    assert_true(der_at_end(&r));
    assert_int_equal(der_next(&r, &e), 1);
    der_init(&r, NULL, 5); /* no buffer: nothing to read */
    assert_true(der_at_end(&r));
    assert_int_equal(der_next(&r, &e), 1);
}

static void test_expect_mismatch_does_not_advance(void **state)
{
    static const uint8_t b[] = {0xa1, 0x03, 0x02, 0x01, 0x07};
    struct der_reader r;
    struct der_elem e;

    (void)state;
    der_init(&r, b, sizeof b);
    assert_int_equal(der_expect(&r, DER_CONTEXT, true, 0, &e), -1);
    assert_int_equal(der_expect(&r, DER_APPLICATION, true, 1, &e), -1);
    assert_int_equal(der_expect(&r, DER_CONTEXT, false, 1, &e), -1);
    assert_int_equal(r.pos, 0);
    assert_int_equal(der_expect(&r, DER_CONTEXT, true, 1, &e), 0);
    assert_int_equal(r.pos, sizeof b);
    assert_int_equal(der_expect(&r, DER_CONTEXT, true, 1, &e), -1); /* at the end */
}

static void test_explicit_field_holds_exactly_one_element(void **state)
{
    static const uint8_t one[] = {0xa0, 0x03, 0x02, 0x01, 0x05};
    static const uint8_t two[] = {0xa0, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x06};
    static const uint8_t none[] = {0xa0, 0x00};
    static const uint8_t prim[] = {0x80, 0x03, 0x02, 0x01, 0x05};
    static const uint8_t bad[] = {0xa0, 0x03, 0x02, 0x05, 0x05};
    struct der_reader r;
    struct der_elem f, in;
    int64_t v;

    (void)state;
    der_init(&r, one, sizeof one);
    assert_int_equal(der_next(&r, &f), 0);
    assert_int_equal(der_explicit(&r, &f, &in), 0);
    assert_int_equal(der_int64(&in, &v), 0);
    assert_int_equal(v, 5);
    der_init(&r, two, sizeof two);
    assert_int_equal(der_next(&r, &f), 0);
    assert_int_equal(der_explicit(&r, &f, &in), -1);
    der_init(&r, none, sizeof none);
    assert_int_equal(der_next(&r, &f), 0);
    assert_int_equal(der_explicit(&r, &f, &in), -1);
    der_init(&r, prim, sizeof prim);
    assert_int_equal(der_next(&r, &f), 0);
    assert_int_equal(der_explicit(&r, &f, &in), -1);
    der_init(&r, bad, sizeof bad);
    assert_int_equal(der_next(&r, &f), 0);
    assert_int_equal(der_explicit(&r, &f, &in), -1);
}

static void test_integers(void **state)
{
    static const uint8_t pos1[] = {0x05};
    static const uint8_t neg1[] = {0x80};
    static const uint8_t u32max[] = {0x00, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t minus2[] = {0xff, 0xfe};
    static const uint8_t i64min[] = {0x80, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t nine[] = {0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    struct der_elem e = {DER_UNIVERSAL, false, DER_TAG_INTEGER, pos1, 1, 2};
    int64_t v;

    (void)state;
    assert_int_equal(der_int64(&e, &v), 0);
    assert_int_equal(v, 5);
    e.val = neg1, e.len = sizeof neg1;
    assert_int_equal(der_int64(&e, &v), 0);
    assert_int_equal(v, -128);
    e.val = u32max, e.len = sizeof u32max;
    assert_int_equal(der_int64(&e, &v), 0);
    assert_int_equal(v, 4294967295LL);
    e.val = minus2, e.len = sizeof minus2;
    assert_int_equal(der_int64(&e, &v), 0);
    assert_int_equal(v, -2);
    e.val = i64min, e.len = sizeof i64min;
    assert_int_equal(der_int64(&e, &v), 0);
    assert_true(v == INT64_MIN);
    e.val = nine, e.len = sizeof nine;
    assert_int_equal(der_int64(&e, &v), -1);
    e.len = 0;
    assert_int_equal(der_int64(&e, &v), -1);
}

/* n nested SEQUENCEs around an empty one, with minimal lengths. Returns a
 * malloc'd buffer of *len bytes (built from the inside out). */
static uint8_t *nested(size_t n, size_t *len)
{
    size_t cap = 16 + n * 6, start = cap, k;
    uint8_t *b = malloc(cap), *out;

    assert_non_null(b);
    b[--start] = 0x00;
    b[--start] = 0x30;
    for (k = 0; k < n; k++) {
        size_t inner = cap - start;
        if (inner < 0x80) {
            b[--start] = (uint8_t)inner;
        } else if (inner < 0x100) {
            b[--start] = (uint8_t)inner;
            b[--start] = 0x81;
        } else if (inner < 0x10000) {
            b[--start] = (uint8_t)inner;
            b[--start] = (uint8_t)(inner >> 8);
            b[--start] = 0x82;
        } else {
            b[--start] = (uint8_t)inner;
            b[--start] = (uint8_t)(inner >> 8);
            b[--start] = (uint8_t)(inner >> 16);
            b[--start] = 0x83;
        }
        b[--start] = 0x30;
    }
    *len = cap - start;
    out = exact(b + start, *len);
    free(b);
    return out;
}

static void test_validate_accepts_depth_limit_refuses_deeper(void **state)
{
    size_t n;
    uint8_t *b;

    (void)state;
    b = nested(DER_MAX_DEPTH - 1, &n); /* DER_MAX_DEPTH constructed levels */
    assert_int_equal(der_validate(b, n), 0);
    free(b);
    b = nested(DER_MAX_DEPTH, &n);
    assert_int_equal(der_validate(b, n), -1);
    free(b);
}

static void test_validate_ten_thousand_nested_tags(void **state)
{
    size_t n;
    uint8_t *b = nested(10000, &n);

    (void)state;
    assert_int_equal(der_validate(b, n), -1);
    free(b);
}

static void test_enter_stops_at_depth_limit(void **state)
{
    size_t n;
    uint8_t *b = nested(10000, &n);
    struct der_reader r, in;
    struct der_elem e;
    unsigned levels = 0;

    (void)state;
    der_init(&r, b, n);
    for (;;) {
        assert_int_equal(der_next(&r, &e), 0);
        if (der_enter(&r, &e, &in) != 0)
            break;
        r = in;
        levels++;
        assert_true(levels <= DER_MAX_DEPTH);
    }
    assert_int_equal(levels, DER_MAX_DEPTH);
    free(b);
}

static void test_validate_refuses_bad_trees(void **state)
{
    static const uint8_t ok[] = {0x30, 0x06, 0x02, 0x01, 0x01, 0xa0, 0x01, 0x05, 0x04, 0x00};
    static const uint8_t child_over[] = {0x30, 0x03, 0x02, 0x05, 0x01, 0x01, 0x01, 0x01, 0x01};
    static const uint8_t trailing[] = {0x02, 0x01, 0x01, 0x02};
    static const uint8_t indef_inside[] = {0x30, 0x04, 0x30, 0x80, 0x00, 0x00};
    uint8_t *h;

    (void)state;
    h = exact(ok, 8);
    assert_int_equal(der_validate(h, 8), -1); /* [0] { NULL cut } */
    free(h);
    {
        static const uint8_t good[] = {0x30, 0x07, 0x02, 0x01, 0x01, 0xa0, 0x02, 0x05, 0x00, 0x04, 0x00};
        h = exact(good, sizeof good);
        assert_int_equal(der_validate(h, sizeof good), 0);
        free(h);
    }
    h = exact(child_over, sizeof child_over);
    assert_int_equal(der_validate(h, sizeof child_over), -1);
    free(h);
    h = exact(trailing, sizeof trailing);
    assert_int_equal(der_validate(h, sizeof trailing), -1);
    free(h);
    h = exact(indef_inside, sizeof indef_inside);
    assert_int_equal(der_validate(h, sizeof indef_inside), -1);
    free(h);
    assert_int_equal(der_validate(NULL, 0), 0);
    assert_int_equal(der_validate(NULL, 3), -1);
}

/* Every prefix of a nested valid tree is refused by the validator. */
static void test_validate_every_truncation(void **state)
{
    size_t n, k;
    uint8_t *b = nested(20, &n);

    (void)state;
    assert_int_equal(der_validate(b, n), 0);
    for (k = 1; k < n; k++) {
        uint8_t *h = exact(b, k);
        assert_int_equal(der_validate(h, k), -1);
        free(h);
    }
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_length_primitive),
        cmocka_unit_test(test_identifier_classes_and_constructed_bit),
        cmocka_unit_test(test_long_form_lengths),
        cmocka_unit_test(test_eight_length_octets_accepted_nine_refused),
        cmocka_unit_test(test_indefinite_and_reserved_lengths_refused),
        cmocka_unit_test(test_huge_lengths_refused),
        cmocka_unit_test(test_every_truncation_refused),
        cmocka_unit_test(test_high_tag_numbers),
        cmocka_unit_test(test_end_of_window_and_sequence_walk),
        cmocka_unit_test(test_expect_mismatch_does_not_advance),
        cmocka_unit_test(test_explicit_field_holds_exactly_one_element),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_validate_accepts_depth_limit_refuses_deeper),
        cmocka_unit_test(test_validate_ten_thousand_nested_tags),
        cmocka_unit_test(test_enter_stops_at_depth_limit),
        cmocka_unit_test(test_validate_refuses_bad_trees),
        cmocka_unit_test(test_validate_every_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
