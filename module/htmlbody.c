/* htmlbody.c -- decode, scan and record one HTML page (see htmlbody.h).
 *
 * Memory per page is fixed: the scanner (about 17 KiB), three URL buffers, a
 * 16 KiB decode buffer and a batch of object keys -- about 50 KiB, allocated
 * once per 2xx HTML response and freed at its end. Decoding is streamed
 * (zlib inflate, Brotli's stream decoder) rather than c-icap's
 * ci_decompress_to_membuf, which wants the whole compressed body at once and
 * would grow a buffer to the page's decoded size: here a preview that cuts a
 * gzip stream in the middle simply decodes as far as it goes, and a
 * decompression bomb stops at MaxHtmlBytes of output.
 *
 * Objects are batched (one store lock per batch) and every feed ends with a
 * flush, so they are in the store before the caller echoes the bytes that
 * name them. */
#include <brotli/decode.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "htmlbody.h"
#include "htmlscan.h"
#include "urlres.h"

#define BATCH 64
/* Recent references of the page, to record a repeated one once: pages repeat
 * icons, spacers and charts (the benchmark page names one image 47 times),
 * and resolving and hashing each repeat again was a third of a page's cost. */
#define SEEN_SLOTS 64          /* direct-mapped by a hash of the reference */
#define SEEN_REF_MAX 62        /* longer references are not remembered */
#define OUTBUF 16384
#define CLIENT_MAX CORRSTORE_CLIENT_MAX /* a correlation client id */

/* One remembered reference as the scanner gave it (before resolution); len 0
 * is an empty slot, since the scanner never reports an empty reference. */
struct seen_ref {
    unsigned char len;
    unsigned char type;
    char ref[SEEN_REF_MAX];
};

struct htmlbody {
    struct corrstore *store;
    struct htmlscan *scan;
    enum htmlbody_encoding enc;
    z_stream z;
    bool z_live;        /* inflateInit2 done */
    unsigned char sniff[2]; /* deflate: first bytes, zlib header or raw? */
    size_t sniff_n;
    BrotliDecoderState *br;
    bool done;
    uint64_t max_html;
    uint64_t page_ref;
    char client[CLIENT_MAX];
    size_t client_n;
    char page[EVENT_URL_MAX];
    size_t page_n;
    char base[EVENT_URL_MAX];
    size_t base_n;
    char tmp[EVENT_URL_MAX];
    struct corrstore_obj batch[BATCH];
    size_t nbatch;
    struct seen_ref seen[SEEN_SLOTS]; /* valid for the current base only */
    struct htmlbody_stats st;
    unsigned char out[OUTBUF];
};

enum htmlbody_encoding htmlbody_encoding_of(const char *v)
{
    if (v == NULL) {
        return HTMLBODY_IDENTITY;
    }
    v += strspn(v, " \t");
    size_t n = strcspn(v, " \t,;");
    const char *rest = v + n;
    rest += strspn(rest, " \t");
    if (*rest != '\0') {
        return HTMLBODY_UNSUPPORTED; /* "gzip, br" and the like: rare, not worth a decoder chain */
    }
    if (n == 0 || (n == 8 && strncasecmp(v, "identity", 8) == 0)) {
        return HTMLBODY_IDENTITY;
    }
    if ((n == 4 && strncasecmp(v, "gzip", 4) == 0) || (n == 6 && strncasecmp(v, "x-gzip", 6) == 0)) {
        return HTMLBODY_GZIP;
    }
    if (n == 7 && strncasecmp(v, "deflate", 7) == 0) {
        return HTMLBODY_DEFLATE;
    }
    if (n == 2 && strncasecmp(v, "br", 2) == 0) {
        return HTMLBODY_BR;
    }
    return HTMLBODY_UNSUPPORTED;
}

bool htmlbody_is_html(const char *ct)
{
    if (ct == NULL) {
        return false;
    }
    ct += strspn(ct, " \t");
    size_t n = strcspn(ct, " \t;");
    return (n == 9 && strncasecmp(ct, "text/html", 9) == 0) ||
           (n == 21 && strncasecmp(ct, "application/xhtml+xml", 21) == 0);
}

/* Resolve ref against base (always normalised: the page URL went through
 * urlres_normalise, a <base> through here) into hb->tmp; returns the length, or 0 when it
 * does not resolve to an http(s) URL that fits. */
static size_t resolve(struct htmlbody *hb, const char *base, size_t base_n, const char *ref, size_t n)
{
    size_t len;
    if (urlres_resolve_normal(base, base_n, ref, n, hb->tmp, sizeof hb->tmp, &len) != URLRES_OK) {
        return 0;
    }
    if (strncmp(hb->tmp, "http://", 7) != 0 && strncmp(hb->tmp, "https://", 8) != 0) {
        return 0; /* data:, javascript:, blob: ... never reach the proxy */
    }
    return len;
}

static void flush(struct htmlbody *hb)
{
    unsigned ev = 0;
    if (hb->nbatch == 0) {
        return;
    }
    if (corrstore_record(hb->store, hb->page, hb->page_n, &hb->page_ref, hb->batch, hb->nbatch, corrstore_now(),
                         &ev) != 0) {
        hb->st.store_error = true;
    } else {
        hb->st.objects += hb->nbatch;
        hb->st.evictions += ev;
    }
    hb->nbatch = 0;
}

/* Slot of a reference in hb->seen: FNV-1a, folded. */
static size_t seen_slot(const char *ref, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)ref[i]) * 16777619u;
    }
    return (h ^ (h >> 16)) % SEEN_SLOTS;
}

/* htmlscan callback: <base href> becomes the base, objects go to the batch. */
static void on_url(void *ctx, enum htmlscan_ref ref, enum event_object type, const char *url, size_t n)
{
    struct htmlbody *hb = ctx;
    if (ref == HTMLSCAN_BASE) {
        size_t len = resolve(hb, hb->page, hb->page_n, url, n);
        if (len > 0) {
            memcpy(hb->base, hb->tmp, len + 1);
            hb->base_n = len;
            memset(hb->seen, 0, sizeof hb->seen); /* the same reference may now name another URL */
        }
        return;
    }
    struct seen_ref *sr = NULL;
    if (n <= SEEN_REF_MAX) {
        sr = &hb->seen[seen_slot(url, n)];
        if (sr->len == n && sr->type == (unsigned char)type && memcmp(sr->ref, url, n) == 0) {
            return; /* the same reference against the same base: already in the batch or the store */
        }
    }
    size_t len = resolve(hb, hb->base, hb->base_n, url, n);
    if (len == 0) {
        return;
    }
    if (sr != NULL) {
        sr->len = (unsigned char)n;
        sr->type = (unsigned char)type;
        memcpy(sr->ref, url, n);
    }
    hb->batch[hb->nbatch].key = corrstore_key(hb->client, hb->client_n, hb->tmp, len);
    hb->batch[hb->nbatch].type = type;
    if (++hb->nbatch == BATCH) {
        flush(hb);
    }
}

struct htmlbody *htmlbody_new(struct corrstore *store, const char *client, const char *page_url,
                              enum htmlbody_encoding enc, uint64_t max_html_bytes)
{
    struct htmlbody *hb;
    size_t len;
    if (enc == HTMLBODY_UNSUPPORTED || (hb = calloc(1, sizeof *hb)) == NULL) {
        return NULL;
    }
    hb->store = store;
    hb->enc = enc;
    hb->max_html = max_html_bytes;
    hb->client_n = strnlen(client, CLIENT_MAX - 1);
    memcpy(hb->client, client, hb->client_n);
    if (urlres_normalise(page_url, strlen(page_url), hb->page, sizeof hb->page, &len) != URLRES_OK ||
        len > CORRSTORE_URL_MAX) {
        goto err;
    }
    hb->page_n = len;
    memcpy(hb->base, hb->page, len + 1);
    hb->base_n = len;
    if ((hb->scan = htmlscan_new(on_url, hb)) == NULL) {
        goto err;
    }
    if (enc == HTMLBODY_GZIP) {
        /* 15 + 32: gzip or zlib header, detected by zlib */
        if (inflateInit2(&hb->z, 15 + 32) != Z_OK) {
            goto err;
        }
        hb->z_live = true;
    } else if (enc == HTMLBODY_BR) {
        if ((hb->br = BrotliDecoderCreateInstance(NULL, NULL, NULL)) == NULL) {
            goto err;
        }
    }
    return hb;
err:
    htmlbody_free(hb);
    return NULL;
}

/* Scan n decoded bytes, up to the limit. */
static void scan(struct htmlbody *hb, const unsigned char *p, size_t n)
{
    uint64_t room = hb->max_html - hb->st.html_bytes;
    if (n >= room) {
        n = (size_t)room;
        hb->done = true;
    }
    htmlscan_feed(hb->scan, (const char *)p, n);
    hb->st.html_bytes += n;
}

/* "deflate" is zlib-wrapped by RFC 9110, but old IIS and others send raw
 * deflate: the first two bytes tell (a zlib header is CM 8, a window of at
 * most 32 KiB and a check that makes it a multiple of 31). Returns the bytes
 * of p used up while sniffing; hb->z_live once decided. */
static size_t sniff_deflate(struct htmlbody *hb, const unsigned char *p, size_t n)
{
    size_t used = 0;
    while (hb->sniff_n < 2 && used < n) {
        hb->sniff[hb->sniff_n++] = p[used++];
    }
    if (hb->sniff_n < 2) {
        return used;
    }
    unsigned b0 = hb->sniff[0], b1 = hb->sniff[1];
    bool zlib = (b0 & 0x0f) == 8 && (b0 >> 4) <= 7 && ((b0 << 8) | b1) % 31 == 0;
    if (inflateInit2(&hb->z, zlib ? 15 : -15) != Z_OK) {
        hb->st.decode_error = hb->done = true;
        return n;
    }
    hb->z_live = true;
    return used;
}

static void feed_zlib(struct htmlbody *hb, const unsigned char *p, size_t n)
{
    hb->z.next_in = (unsigned char *)p;
    hb->z.avail_in = (uInt)n;
    while (!hb->done && (hb->z.avail_in > 0)) {
        hb->z.next_out = hb->out;
        hb->z.avail_out = OUTBUF;
        int rc = inflate(&hb->z, Z_NO_FLUSH);
        size_t got = OUTBUF - hb->z.avail_out;
        if (got > 0) {
            scan(hb, hb->out, got);
        }
        if (rc == Z_STREAM_END) {
            if (hb->z.avail_in == 0) {
                hb->done = true; /* the compressed stream is complete */
                break;
            }
            if (inflateReset(&hb->z) != Z_OK) { /* another gzip member follows */
                hb->st.decode_error = hb->done = true;
            }
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            hb->st.decode_error = hb->done = true;
        } else if (rc == Z_BUF_ERROR && got == 0) {
            break; /* needs more input */
        }
    }
}

static void feed_brotli(struct htmlbody *hb, const unsigned char *p, size_t n)
{
    size_t avail_in = n;
    const uint8_t *next_in = p;
    while (!hb->done) {
        size_t avail_out = OUTBUF;
        uint8_t *next_out = hb->out;
        BrotliDecoderResult rc =
            BrotliDecoderDecompressStream(hb->br, &avail_in, &next_in, &avail_out, &next_out, NULL);
        if (OUTBUF - avail_out > 0) {
            scan(hb, hb->out, OUTBUF - avail_out);
        }
        if (rc == BROTLI_DECODER_RESULT_ERROR) {
            hb->st.decode_error = hb->done = true;
        } else if (rc == BROTLI_DECODER_RESULT_SUCCESS) {
            hb->done = true;
        } else if (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) {
            break;
        }
    }
}

void htmlbody_feed(struct htmlbody *hb, const char *p, size_t n)
{
    if (hb->done || n == 0) {
        return;
    }
    hb->st.raw_bytes += n;
    /* zlib counts input in uInt; bodies come in chunks far below 4 GiB, but
     * split anyway so the conversion can never truncate. */
    while (n > 0 && !hb->done) {
        size_t k = n > (1u << 30) ? (1u << 30) : n;
        switch (hb->enc) {
        case HTMLBODY_DEFLATE:
            if (!hb->z_live) {
                size_t used = sniff_deflate(hb, (const unsigned char *)p, k);
                if (hb->z_live) {
                    feed_zlib(hb, hb->sniff, 2);
                    feed_zlib(hb, (const unsigned char *)p + used, k - used);
                }
                break;
            }
            feed_zlib(hb, (const unsigned char *)p, k);
            break;
        case HTMLBODY_GZIP:
            feed_zlib(hb, (const unsigned char *)p, k);
            break;
        case HTMLBODY_BR:
            feed_brotli(hb, (const unsigned char *)p, k);
            break;
        default:
            scan(hb, (const unsigned char *)p, k);
            break;
        }
        p += k;
        n -= k;
    }
    flush(hb);
}

bool htmlbody_done(const struct htmlbody *hb)
{
    return hb->done;
}

void htmlbody_finish(struct htmlbody *hb)
{
    htmlscan_finish(hb->scan);
    hb->done = true;
    flush(hb);
}

void htmlbody_get_stats(const struct htmlbody *hb, struct htmlbody_stats *out)
{
    *out = hb->st;
}

void htmlbody_free(struct htmlbody *hb)
{
    if (hb == NULL) {
        return;
    }
    if (hb->z_live) {
        inflateEnd(&hb->z);
    }
    if (hb->br != NULL) {
        BrotliDecoderDestroyInstance(hb->br);
    }
    htmlscan_free(hb->scan);
    free(hb);
}

int htmlbody_lookup(struct corrstore *store, const char *client, const char *url, char *page, size_t cap,
                    enum event_object *type)
{
    char norm[EVENT_URL_MAX];
    size_t len;
    int rc = urlres_normalise(url, strlen(url), norm, sizeof norm, &len);
    if (rc == URLRES_ENOMEM) {
        return -1;
    }
    if (rc != URLRES_OK) {
        return 0;
    }
    uint64_t key = corrstore_key(client, strlen(client), norm, len);
    return corrstore_lookup(store, key, corrstore_now(), page, cap, type);
}
