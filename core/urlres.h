/* urlres.h -- URL reference resolution (RFC 3986 §5) and normalisation.
 *
 * The scanner hands out URLs exactly as a page wrote them; the correlation
 * store compares them with the URLs Squid saw. Both sides go through
 * urlres_resolve / urlres_normalise so that "../img/a.gif" in a page and
 * "HTTP://Host:80/img/a.gif#x" on the wire compare equal. */
#ifndef PROMPTCAUSE_URLRES_H
#define PROMPTCAUSE_URLRES_H

#include <stddef.h>

enum urlres_status {
    URLRES_OK = 0,
    URLRES_EBASE = -1,  /* the base (or the URL to normalise) has no scheme */
    URLRES_ESPACE = -2, /* the result does not fit the output buffer */
    URLRES_ENOMEM = -3, /* scratch allocation failed */
};

/* Strict RFC 3986 §5.2 output: keep the fragment, do not touch case, ports,
 * percent-encoding or whitespace. Used by the RFC conformance tests. */
#define URLRES_STRICT 0x1u

/* Resolve ref[0..ref_len) against the absolute URL base[0..base_len) into out
 * (capacity out_size, always NUL-terminated on success), length in *out_len.
 *
 * Without URLRES_STRICT the result is normalised the way browsers and the
 * correlation store need it: leading/trailing C0 controls and spaces removed,
 * tab/CR/LF removed anywhere (WHATWG URL parsing does the same), scheme and
 * host lower-cased, default port (:80 http, :443 https) and empty port
 * dropped, empty path with an authority becomes "/", dot segments removed,
 * percent-escapes upper-cased and unreserved ones decoded, bytes that
 * browsers escape (controls, space, non-ASCII, quotes, angle brackets...)
 * percent-encoded, fragment dropped.
 *
 * Returns URLRES_OK, URLRES_EBASE when base has no scheme, URLRES_ESPACE
 * when out is too small, URLRES_ENOMEM when scratch memory is not available. */
int urlres_resolve(const char *base, size_t base_len, const char *ref, size_t ref_len,
                   unsigned flags, char *out, size_t out_size, size_t *out_len);

/* urlres_resolve(base, ref, 0, ...) for a base that is already normalised
 * (an output of urlres_resolve without URLRES_STRICT or of
 * urlres_normalise), and the same result: a reference that needs no
 * rewriting (most of what pages write) is joined to the base directly, any
 * other goes through urlres_resolve. Pages name dozens of objects against
 * one base, and the full algorithm's scratch allocation, cleaning, splitting
 * and re-encoding of both URLs was most of the cost of recording them.
 * Returns as urlres_resolve. */
int urlres_resolve_normal(const char *base, size_t base_len, const char *ref, size_t ref_len, char *out,
                          size_t out_size, size_t *out_len);

/* Normalise an absolute URL (same rules as urlres_resolve without
 * URLRES_STRICT). Returns URLRES_EBASE when url has no scheme, else as
 * urlres_resolve. */
int urlres_normalise(const char *url, size_t len, char *out, size_t out_size, size_t *out_len);

/* True when ref (after leading whitespace/control bytes) starts with a
 * scheme, i.e. does not need a base. */
int urlres_is_absolute(const char *ref, size_t len);

/* Length of the scheme of an absolute URL (0 when there is none); the
 * scheme is url[0..n) after leading whitespace is skipped by the caller. */
size_t urlres_scheme_len(const char *url, size_t len);

/* Message for a status code. */
const char *urlres_strerror(int status);

#endif
