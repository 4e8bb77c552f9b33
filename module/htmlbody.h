/* htmlbody.h -- read an anonymously loaded HTML page as its body streams by
 * and record its embedded objects in the correlation store.
 *
 * The service hands over the body bytes exactly as the origin sent them
 * (preview, then the rest when it reads on); this file undoes gzip, deflate
 * or br with zlib/brotli in a fixed output buffer, feeds the HTML to the
 * core scanner (htmlscan), resolves each object URL against the page (or its
 * <base href>) with urlres, and records (client, object URL) -> page in the
 * store before the caller passes the bytes on -- so the store knows an image
 * before the browser can ask for it. It never sees or changes what goes back
 * to Squid. A body that stops decoding (truncated, corrupt) is scanned as far
 * as it decoded. No c-icap header here. */
#ifndef PROMPTCAUSE_HTMLBODY_H
#define PROMPTCAUSE_HTMLBODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "corrstore.h"
#include "event.h"

enum htmlbody_encoding {
    HTMLBODY_IDENTITY = 0,
    HTMLBODY_GZIP,
    HTMLBODY_DEFLATE,
    HTMLBODY_BR,
    HTMLBODY_UNSUPPORTED, /* anything else, or several codings: not scanned */
};

struct htmlbody;

struct htmlbody_stats {
    uint64_t raw_bytes;     /* body bytes fed */
    uint64_t html_bytes;    /* decoded bytes scanned */
    uint64_t objects;       /* objects recorded (a reference repeated in the page, once) */
    unsigned evictions;     /* store evictions caused by this page */
    bool decode_error;      /* the body stopped decoding (scanned up to there) */
    bool store_error;       /* a batch could not be recorded */
};

/* Encoding named by a Content-Encoding value (NULL or empty: identity).
 * Case-insensitive; "x-gzip" is gzip. */
enum htmlbody_encoding htmlbody_encoding_of(const char *value);

/* True when a Content-Type value is text/html or application/xhtml+xml. */
bool htmlbody_is_html(const char *content_type);

/* Start on a page: client (its correlation id, corrstore_client_id; may be
 * ""), page_url (absolute, as the request line had it), its encoding, and
 * the most decoded HTML bytes to scan. Returns NULL when out of memory, when the encoding is unsupported or
 * when page_url is not an absolute URL. */
struct htmlbody *htmlbody_new(struct corrstore *store, const char *client, const char *page_url,
                              enum htmlbody_encoding enc, uint64_t max_html_bytes);

/* Next n body bytes. Objects found are in the store when this returns. */
void htmlbody_feed(struct htmlbody *hb, const char *p, size_t n);

/* True once more bytes would not be scanned (limit reached, decode error,
 * end of the compressed stream). */
bool htmlbody_done(const struct htmlbody *hb);

/* End of the body: flush what the scanner still holds. */
void htmlbody_finish(struct htmlbody *hb);

void htmlbody_get_stats(const struct htmlbody *hb, struct htmlbody_stats *out);

void htmlbody_free(struct htmlbody *hb);

/* The page that embeds url for client, from the store: normalises url the
 * way pages are recorded. Returns 1 with the page in page (cap bytes) and
 * the element's type in *type; 0 when unknown; -1 on an internal error
 * (out of memory, lock). */
int htmlbody_lookup(struct corrstore *store, const char *client, const char *url, char *page, size_t cap,
                    enum event_object *type);

#endif
