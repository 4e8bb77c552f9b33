/* der.h -- a small bounded DER reader (X.690) for the Negotiate tokens of
 * SPEC §2a (SPNEGO, GSS-API, Kerberos).
 *
 * It reads one element at a time from a window of a buffer: identifier
 * (class, constructed bit, tag number, high-tag form included), definite
 * length (short or long form), contents. Every length is checked against the
 * window before use, indefinite lengths are refused (DER forbids them), and
 * entering an element counts depth so that no walk goes deeper than
 * DER_MAX_DEPTH. Nothing is decoded recursively; callers walk the fixed shapes
 * they expect, and der_validate checks a whole tree with an explicit stack. */
#ifndef PROMPTCAUSE_DER_H
#define PROMPTCAUSE_DER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DER_MAX_DEPTH 32 /* deepest nesting any reader (or der_validate) accepts */

/* Identifier classes (the top two bits of the first byte). */
#define DER_UNIVERSAL 0x00u
#define DER_APPLICATION 0x40u
#define DER_CONTEXT 0x80u
#define DER_PRIVATE 0xC0u

/* Universal tag numbers used by the Kerberos and SPNEGO shapes. */
#define DER_TAG_INTEGER 2u
#define DER_TAG_BIT_STRING 3u
#define DER_TAG_OCTET_STRING 4u
#define DER_TAG_OID 6u
#define DER_TAG_ENUMERATED 10u
#define DER_TAG_UTF8STRING 12u
#define DER_TAG_SEQUENCE 16u
#define DER_TAG_IA5STRING 22u
#define DER_TAG_GENERALIZEDTIME 24u
#define DER_TAG_GENERALSTRING 27u

/* One element. val/len are its contents, inside the reader's window. */
struct der_elem {
    unsigned cls;      /* DER_UNIVERSAL, DER_APPLICATION, DER_CONTEXT, DER_PRIVATE */
    bool constructed;
    uint32_t tag;      /* tag number (at most 2^28 - 1) */
    const uint8_t *val;
    size_t len;
    size_t hdr_len;    /* bytes of identifier + length before val */
};

/* A window p[0..n) being read from pos on, at nesting depth depth. */
struct der_reader {
    const uint8_t *p;
    size_t n;
    size_t pos;
    unsigned depth;
};

/* Start reading p[0..n) at depth 0. p may be NULL when n is 0. */
void der_init(struct der_reader *r, const uint8_t *p, size_t n);

/* true when every byte of the window has been read. */
bool der_at_end(const struct der_reader *r);

/* Read the next element and advance past it. Returns 0, 1 at the end of the
 * window (e untouched), or -1 on a malformed header: a cut identifier or
 * length, a high tag number that is not minimal or exceeds 28 bits, an
 * indefinite (0x80) or reserved (0xFF) length, a length of more than 8
 * bytes, or contents running past the window. After -1 the reader stays
 * where it was. Non-minimal long-form lengths (BER) are accepted: some
 * Windows encoders emit them and they are harmless to a bounded reader. */
int der_next(struct der_reader *r, struct der_elem *e);

/* Like der_next, but the element must have class cls, the constructed bit
 * constructed and tag number tag. Returns 0, or -1 (also at the end). */
int der_expect(struct der_reader *r, unsigned cls, bool constructed, uint32_t tag, struct der_elem *e);

/* A reader over e's contents one level deeper than r. Returns 0, or -1 when
 * that would exceed DER_MAX_DEPTH. (Primitive elements may be entered too:
 * an OCTET STRING that wraps DER, like a SPNEGO mechToken, keeps counting
 * the depth of the token around it.) */
int der_enter(const struct der_reader *r, const struct der_elem *e, struct der_reader *in);

/* An EXPLICIT tagged field ([n] { inner }): enter the constructed element
 * field and read exactly one element from it into inner. Returns 0, or -1
 * when field is primitive, empty, holds more than one element, or the depth
 * limit is hit. */
int der_explicit(const struct der_reader *r, const struct der_elem *field, struct der_elem *inner);

/* The value of an INTEGER or ENUMERATED contents (two's complement, 1 to 8
 * bytes). Returns 0, or -1 when empty or longer than 8 bytes (a 9-byte
 * encoding with a leading zero, the unsigned form of a 64-bit value, is
 * refused too: no field we read needs it). Non-minimal encodings are
 * accepted. */
int der_int64(const struct der_elem *e, int64_t *v);

/* Check that p[0..n) is a sequence of well-formed elements, constructed
 * ones made of well-formed elements too, none nested deeper than
 * DER_MAX_DEPTH. Iterative, O(n). Returns 0, or -1. */
int der_validate(const uint8_t *p, size_t n);

#endif
