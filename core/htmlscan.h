/* htmlscan.h -- streaming scanner for the embedded objects of an HTML page.
 *
 * The service sees a page as a sequence of body chunks of arbitrary size and
 * must not buffer it; this scanner is a WHATWG-tokenizer-level state machine
 * that takes the chunks as they come and reports every URL the page makes the
 * browser fetch (images, scripts, stylesheets, frames, media, objects, CSS
 * url()), each with its SPEC §3 object type, plus the first <base href>.
 * Memory is fixed at htmlscan_new: attribute values longer than
 * HTMLSCAN_VALUE_MAX are dropped and counted, never grown.
 *
 * What it reports and the choices made where a tree builder would decide
 * (noscript, foreign content, template) are listed in docs/SCANNER.md. */
#ifndef PROMPTCAUSE_HTMLSCAN_H
#define PROMPTCAUSE_HTMLSCAN_H

#include <stddef.h>

#include "event.h"

/* Longest attribute value (or CSS url()) kept, in bytes, before and after
 * character-reference decoding. */
#define HTMLSCAN_VALUE_MAX 8192

enum htmlscan_ref {
    HTMLSCAN_OBJECT, /* an embedded object: resolve against the current base */
    HTMLSCAN_BASE,   /* the first <base href>: later objects resolve against it */
};

/* Called once per URL, in document order (within one tag: src, srcset
 * candidates, poster, data, href, background, then style url()s). url is
 * the attribute value after character-reference decoding (or the CSS url()
 * after CSS escapes), not NUL-terminated, not resolved, possibly with the
 * surrounding whitespace the page had. type is OBJECT_UNKNOWN for
 * HTMLSCAN_BASE. Empty object URLs are not reported. */
typedef void htmlscan_cb(void *ctx, enum htmlscan_ref ref, enum event_object type,
                         const char *url, size_t len);

struct htmlscan;

struct htmlscan_stats {
    unsigned long long bytes;   /* bytes fed */
    unsigned long long objects; /* HTMLSCAN_OBJECT callbacks */
    unsigned long dropped;      /* values over HTMLSCAN_VALUE_MAX, not reported */
};

/* A scanner that calls cb(ctx, ...). Returns NULL when out of memory. */
struct htmlscan *htmlscan_new(htmlscan_cb *cb, void *ctx);

/* Scan the next n bytes of the document. Any chunking of a document gives
 * the same callbacks as feeding it whole. Bytes are not assumed to be UTF-8
 * or NUL-free. */
void htmlscan_feed(struct htmlscan *s, const char *p, size_t n);

/* End of document: a tag still open is dropped (as WHATWG's eof-in-tag
 * does); a CSS url() in an unterminated <style> is still reported. */
void htmlscan_finish(struct htmlscan *s);

/* Start over on a new document, keeping the callback. */
void htmlscan_reset(struct htmlscan *s);

void htmlscan_get_stats(const struct htmlscan *s, struct htmlscan_stats *out);

void htmlscan_free(struct htmlscan *s);

/* Size of a scanner in bytes (everything it will ever allocate). */
size_t htmlscan_size(void);

#endif
