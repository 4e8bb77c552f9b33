/* fuzz_htmlscan.c -- the streaming HTML scanner. The document is scanned
 * twice: whole, and cut into chunks whose sizes come from the first bytes of
 * the input (one to 64 bytes, cycling); htmlscan.h promises the same
 * callbacks for any chunking, so any difference aborts. Every reported URL is
 * also resolved against a base, as the service does with it. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "fuzz_util.h"
#include "htmlscan.h"
#include "urlres.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHUNK_SEEDS 8

/* The callbacks of one scan, serialised: ref, type, length, bytes. */
struct record {
    char *buf;
    size_t len, cap;
    unsigned long calls;
};

static void record_put(struct record *r, const void *p, size_t n)
{
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + n) {
            cap *= 2;
        }
        char *b = realloc(r->buf, cap);
        if (b == NULL) {
            abort();
        }
        r->buf = b;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, p, n);
    r->len += n;
}

static int same(const struct record *a, const struct record *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->buf, b->buf, a->len) == 0);
}

static void on_url(void *ctx, enum htmlscan_ref ref, enum event_object type, const char *url, size_t len)
{
    struct record *r = ctx;
    unsigned char head[2] = { (unsigned char)ref, (unsigned char)type };
    assert(len <= HTMLSCAN_VALUE_MAX);
    assert(ref == HTMLSCAN_BASE || len > 0);
    record_put(r, head, sizeof head);
    record_put(r, &len, sizeof len);
    record_put(r, url, len); /* ASan: the whole url must be readable */
    r->calls++;

    /* What the service does with it next. */
    static const char base[] = "http://intranet.example/dir/page.html?q";
    char out[HTMLSCAN_VALUE_MAX + 256];
    size_t out_len;
    if (urlres_resolve(base, sizeof base - 1, url, len, 0, out, sizeof out, &out_len) == URLRES_OK) {
        assert(out_len < sizeof out && out[out_len] == '\0');
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t seeds[CHUNK_SEEDS];
    size_t nseeds = size < CHUNK_SEEDS ? size : CHUNK_SEEDS;
    memcpy(seeds, data, nseeds);
    const uint8_t *doc_bytes = data + nseeds;
    size_t n = size - nseeds;
    char *doc = fuzz_dup(doc_bytes, n);

    struct record whole = { 0 }, chunked = { 0 };
    struct htmlscan *s = htmlscan_new(on_url, &whole);
    if (s == NULL) {
        abort();
    }
    htmlscan_feed(s, doc, n);
    htmlscan_finish(s);
    struct htmlscan_stats st_whole, st_chunked;
    htmlscan_get_stats(s, &st_whole);
    htmlscan_free(s);

    s = htmlscan_new(on_url, &chunked);
    if (s == NULL) {
        abort();
    }
    size_t off = 0, k = 0;
    /* each chunk is copied to the end of a 64-byte heap block, so a read past
     * a chunk's end hits ASan's redzone (a malloc per chunk was 3x slower) */
    char *block = malloc(64);
    if (block == NULL) {
        abort();
    }
    while (off < n) {
        size_t c = nseeds ? (size_t)(seeds[k++ % nseeds] % 64) + 1 : 1;
        if (c > n - off) {
            c = n - off;
        }
        char *piece = block + 64 - c;
        memcpy(piece, doc + off, c);
        htmlscan_feed(s, piece, c);
        off += c;
    }
    free(block);
    htmlscan_finish(s);
    htmlscan_get_stats(s, &st_chunked);

    if (!same(&whole, &chunked) ||
        st_whole.objects != st_chunked.objects || st_whole.dropped != st_chunked.dropped ||
        st_whole.bytes != n || st_chunked.bytes != n) {
        fprintf(stderr, "htmlscan: chunked scan differs from whole scan (%lu vs %lu callbacks, %llu vs %llu objects)\n",
                whole.calls, chunked.calls, st_whole.objects, st_chunked.objects);
        abort();
    }

    /* reset gives a fresh scanner: scanning again matches the first scan */
    struct record again = { 0 };
    htmlscan_free(s);
    s = htmlscan_new(on_url, &again);
    htmlscan_feed(s, "<img src=x><script>", 19);
    htmlscan_reset(s);
    again.len = 0;
    again.calls = 0;
    htmlscan_feed(s, doc, n);
    htmlscan_finish(s);
    assert(same(&again, &whole));
    htmlscan_free(s);

    free(whole.buf);
    free(chunked.buf);
    free(again.buf);
    free(doc);
    return 0;
}
