/* der.c -- the bounded DER reader of der.h.
 *
 * Shared by the SPNEGO walk of ntlm.c and the Kerberos reader of kerberos.c,
 * both fed by untrusted Negotiate headers. The element header is parsed in
 * one place (parse_header) so that the bounds rules -- no indefinite length,
 * no length past the window, no tag number wider than 28 bits -- cannot
 * drift between the reader and the whole-tree validator. */
#include "der.h"

#include <string.h>

#define DER_MAX_LEN_BYTES 8 /* long-form length octets accepted */

/* Parse the header of the element at p[pos] within p[0..n): fill e and
 * return 0, or -1 on any header the reader refuses (see der_next). */
static int parse_header(const uint8_t *p, size_t n, size_t pos, struct der_elem *e)
{
    size_t i = pos, len;
    uint8_t b;

    if (pos >= n)
        return -1;
    b = p[i++];
    e->cls = b & 0xC0u;
    e->constructed = (b & 0x20u) != 0;
    e->tag = b & 0x1Fu;
    if (e->tag == 0x1F) { /* high tag number: base 128, most significant first */
        uint32_t t = 0;
        unsigned k = 0;
        for (;;) {
            if (i >= n || k == 4)
                return -1; /* cut, or more than 28 bits */
            b = p[i++];
            if (k == 0 && b == 0x80)
                return -1; /* leading zero group: not minimal */
            t = (t << 7) | (b & 0x7Fu);
            k++;
            if ((b & 0x80u) == 0)
                break;
        }
        if (t < 0x1F)
            return -1; /* DER: low tag numbers use the short form */
        e->tag = t;
    }
    if (i >= n)
        return -1;
    b = p[i++];
    if (b < 0x80) {
        len = b;
    } else {
        size_t nb = b & 0x7Fu, k;
        if (nb == 0 || nb > DER_MAX_LEN_BYTES)
            return -1; /* indefinite (0x80), reserved (0xFF), or absurd */
        if (nb > n - i)
            return -1;
        len = 0;
        for (k = 0; k < nb; k++) {
            len = (len << 8) | p[i++];
            /* len never shrinks as octets are added, so once it exceeds
             * what is left it cannot fit; stopping here also keeps the
             * shift from overflowing on 8-octet lengths. */
            if (len > n)
                return -1;
        }
    }
    if (len > n - i)
        return -1;
    e->val = p + i;
    e->len = len;
    e->hdr_len = i - pos;
    return 0;
}

void der_init(struct der_reader *r, const uint8_t *p, size_t n)
{
    r->p = p;
    r->n = p != NULL ? n : 0;
    r->pos = 0;
    r->depth = 0;
}

bool der_at_end(const struct der_reader *r)
{
    return r->pos >= r->n;
}

/* Returns 0, 1 at the end of the window, or -1 on a malformed element. */
int der_next(struct der_reader *r, struct der_elem *e)
{
    struct der_elem tmp;

    if (der_at_end(r))
        return 1;
    if (parse_header(r->p, r->n, r->pos, &tmp) != 0)
        return -1;
    *e = tmp;
    r->pos += tmp.hdr_len + tmp.len;
    return 0;
}

/* Returns 0 when the next element is the one asked for, else -1. */
int der_expect(struct der_reader *r, unsigned cls, bool constructed, uint32_t tag, struct der_elem *e)
{
    struct der_reader save = *r;

    if (der_next(r, e) != 0 || e->cls != cls || e->constructed != constructed || e->tag != tag) {
        *r = save;
        return -1;
    }
    return 0;
}

/* Returns 0, or -1 past DER_MAX_DEPTH. */
int der_enter(const struct der_reader *r, const struct der_elem *e, struct der_reader *in)
{
    if (r->depth >= DER_MAX_DEPTH)
        return -1;
    der_init(in, e->val, e->len);
    in->depth = r->depth + 1;
    return 0;
}

/* Returns 0 and the one element inside field, or -1. */
int der_explicit(const struct der_reader *r, const struct der_elem *field, struct der_elem *inner)
{
    struct der_reader in;

    if (!field->constructed || der_enter(r, field, &in) != 0)
        return -1;
    if (der_next(&in, inner) != 0 || !der_at_end(&in))
        return -1;
    return 0;
}

/* Returns 0 and the signed value, or -1 for empty or over-long contents. */
int der_int64(const struct der_elem *e, int64_t *v)
{
    uint64_t u;
    size_t k;

    if (e->len == 0 || e->len > 8)
        return -1;
    u = (e->val[0] & 0x80u) ? UINT64_MAX : 0; /* sign extension */
    for (k = 0; k < e->len; k++)
        u = (u << 8) | e->val[k];
    memcpy(v, &u, sizeof *v); /* two's complement, without an implementation-defined cast */
    return 0;
}

/* Walk the tree with a stack of the end offsets of the open constructed
 * elements: a constructed element opens a level (at most DER_MAX_DEPTH),
 * a primitive one is skipped whole, a level closes when its end is reached.
 * Children cannot overrun their parent because each header is parsed within
 * the parent's window. Returns 0 or -1. */
int der_validate(const uint8_t *p, size_t n)
{
    size_t end[DER_MAX_DEPTH + 1];
    unsigned depth = 0;
    size_t pos = 0;

    if (p == NULL)
        return n == 0 ? 0 : -1;
    end[0] = n;
    for (;;) {
        struct der_elem e;
        while (depth > 0 && pos == end[depth])
            depth--;
        if (pos == end[depth]) /* depth is 0: the whole buffer is read */
            return 0;
        if (parse_header(p, end[depth], pos, &e) != 0)
            return -1;
        pos += e.hdr_len;
        if (e.constructed) {
            if (depth == DER_MAX_DEPTH)
                return -1;
            end[++depth] = pos + e.len;
        } else {
            pos += e.len;
        }
    }
}
