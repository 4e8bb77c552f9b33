/* test_corrstore.c -- the shared correlation store (per-client keys, expiry,
 * bounded memory with counted eviction, sharing across fork) and the page
 * reader that fills it (gzip/deflate decoding, truncated streams, <base>,
 * any chunking, never more than MaxHtmlBytes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <brotli/encode.h>

#include "corrstore.h"
#include "htmlbody.h"

#define WINDOW 300u

static struct corrstore *make(size_t bytes)
{
    char err[200];
    struct corrstore *cs = corrstore_create(bytes, WINDOW, err, sizeof err);
    if (cs == NULL)
        fail_msg("corrstore_create: %s", err);
    return cs;
}

static uint64_t key(const char *client, const char *url)
{
    return corrstore_key(client, strlen(client), url, strlen(url));
}

static void record(struct corrstore *cs, const char *client, const char *page, const char *obj,
                   enum event_object type, uint32_t now)
{
    struct corrstore_obj o = { key(client, obj), type };
    uint64_t ref = 0;
    assert_int_equal(corrstore_record(cs, page, strlen(page), &ref, &o, 1, now, NULL), 0);
}

/* 1 and the page when found. */
static int lookup(struct corrstore *cs, const char *client, const char *obj, uint32_t now, char *page,
                  enum event_object *type)
{
    return corrstore_lookup(cs, key(client, obj), now, page, EVENT_URL_MAX, type);
}

static void test_object_maps_to_embedding_page_per_client(void **state)
{
    (void)state;
    struct corrstore *cs = make(1 << 20);
    char page[EVENT_URL_MAX];
    enum event_object t = OBJECT_UNKNOWN;
    record(cs, "10.0.0.1", "http://intranet/index.html", "http://intranet/secure/logo.gif", OBJECT_IMAGE, 1000);
    assert_int_equal(lookup(cs, "10.0.0.1", "http://intranet/secure/logo.gif", 1001, page, &t), 1);
    assert_string_equal(page, "http://intranet/index.html");
    assert_int_equal(t, OBJECT_IMAGE);
    /* another client never loaded the page */
    assert_int_equal(lookup(cs, "10.0.0.2", "http://intranet/secure/logo.gif", 1001, page, &t), 0);
    assert_int_equal(lookup(cs, "10.0.0.1", "http://intranet/secure/other.gif", 1001, page, &t), 0);
    corrstore_destroy(cs);
}

static void test_entries_expire_after_window(void **state)
{
    (void)state;
    struct corrstore *cs = make(1 << 20);
    char page[EVENT_URL_MAX];
    enum event_object t;
    record(cs, "c", "http://a/p.html", "http://a/x.gif", OBJECT_IMAGE, 5000);
    assert_int_equal(lookup(cs, "c", "http://a/x.gif", 5000 + WINDOW, page, &t), 1);
    assert_int_equal(lookup(cs, "c", "http://a/x.gif", 5000 + WINDOW + 1, page, &t), 0);
    corrstore_destroy(cs);
}

static void test_later_page_wins_for_shared_object(void **state)
{
    (void)state;
    struct corrstore *cs = make(1 << 20);
    char page[EVENT_URL_MAX];
    enum event_object t;
    record(cs, "c", "http://a/one.html", "http://a/s.css", OBJECT_STYLE, 10);
    record(cs, "c", "http://a/two.html", "http://a/s.css", OBJECT_STYLE, 11);
    assert_int_equal(lookup(cs, "c", "http://a/s.css", 12, page, &t), 1);
    assert_string_equal(page, "http://a/two.html");
    corrstore_destroy(cs);
}

/* A flood of distinct pages: the memory never grows, live entries are
 * evicted and counted, the newest pages are still found. */
static void test_flood_stays_in_memory_and_counts_evictions(void **state)
{
    (void)state;
    const size_t bytes = 256 * 1024;
    struct corrstore *cs = make(bytes);
    char page[EVENT_URL_MAX], url[128], obj[128];
    enum event_object t;
    size_t pages = 20000;
    uint64_t evicted = 0;
    for (size_t i = 0; i < pages; i++) {
        struct corrstore_obj o[5];
        uint64_t ref = 0;
        unsigned ev = 0;
        snprintf(url, sizeof url, "http://flood.example/page/%zu.html", i);
        for (size_t j = 0; j < 5; j++) {
            snprintf(obj, sizeof obj, "http://flood.example/img/%zu/%zu.gif", i, j);
            o[j].key = key("c", obj);
            o[j].type = OBJECT_IMAGE;
        }
        assert_int_equal(corrstore_record(cs, url, strlen(url), &ref, o, 5, 100, &ev), 0);
        evicted += ev;
    }
    struct corrstore_stats st;
    corrstore_get_stats(cs, &st);
    assert_int_equal(corrstore_bytes(cs), bytes);
    assert_true(corrstore_capacity(cs) < pages * 5);
    assert_int_equal(st.evictions, evicted);
    assert_true(evicted > 0);
    assert_int_equal(st.objects, pages * 5);
    snprintf(obj, sizeof obj, "http://flood.example/img/%zu/%zu.gif", pages - 1, (size_t)4);
    assert_int_equal(lookup(cs, "c", obj, 100, page, &t), 1);
    snprintf(url, sizeof url, "http://flood.example/page/%zu.html", pages - 1);
    assert_string_equal(page, url);
    /* the first page is long gone */
    assert_int_equal(lookup(cs, "c", "http://flood.example/img/0/0.gif", 100, page, &t), 0);
    corrstore_destroy(cs);
}

/* A page whose record was overwritten in the ring takes its entries with it,
 * and a later batch of the same page writes the page again. */
static void test_page_ring_wrap_keeps_entries_consistent(void **state)
{
    (void)state;
    struct corrstore *cs = make(CORRSTORE_MIN_BYTES);
    char page[EVENT_URL_MAX], url[4096], obj[64];
    enum event_object t;
    uint64_t first_ref = 0;
    struct corrstore_obj o = { key("c", "http://a/first.gif"), OBJECT_IMAGE };
    assert_int_equal(corrstore_record(cs, "http://a/first.html", 19, &first_ref, &o, 1, 1, NULL), 0);
    memset(url, 'x', sizeof url);
    memcpy(url, "http://a/", 9);
    for (int i = 0; i < 40; i++) { /* 40 * 4 KiB pages > the 16 KiB ring */
        uint64_t ref = 0;
        snprintf(obj, sizeof obj, "http://a/%d.gif", i);
        struct corrstore_obj oi = { key("c", obj), OBJECT_IMAGE };
        url[9] = (char)('a' + i % 26);
        assert_int_equal(corrstore_record(cs, url, 3000 + (size_t)i * 7, &ref, &oi, 1, 2, NULL), 0);
        assert_int_equal(lookup(cs, "c", obj, 2, page, &t), 1);
        assert_int_equal(strlen(page), 3000 + (size_t)i * 7);
    }
    assert_int_equal(lookup(cs, "c", "http://a/first.gif", 2, page, &t), 0);
    struct corrstore_obj o2 = { key("c", "http://a/second.gif"), OBJECT_SCRIPT };
    assert_int_equal(corrstore_record(cs, "http://a/first.html", 19, &first_ref, &o2, 1, 3, NULL), 0);
    assert_int_equal(lookup(cs, "c", "http://a/second.gif", 3, page, &t), 1);
    assert_string_equal(page, "http://a/first.html");
    assert_int_equal(t, OBJECT_SCRIPT);
    corrstore_destroy(cs);
}

static void test_too_small_store_is_refused(void **state)
{
    (void)state;
    char err[200];
    assert_null(corrstore_create(1000, WINDOW, err, sizeof err));
    assert_non_null(strstr(err, "minimum"));
}

/* What one process records, another (forked after creation, like c-icap's
 * children) finds. */
static void test_store_is_shared_across_fork(void **state)
{
    (void)state;
    struct corrstore *cs = make(1 << 20);
    char page[EVENT_URL_MAX];
    enum event_object t;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        record(cs, "10.1.1.1", "http://intranet/child.html", "http://intranet/secure/c.gif", OBJECT_IMAGE,
               corrstore_now());
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(lookup(cs, "10.1.1.1", "http://intranet/secure/c.gif", corrstore_now(), page, &t), 1);
    assert_string_equal(page, "http://intranet/child.html");
    corrstore_destroy(cs);
}

/* ---- htmlbody ----------------------------------------------------------- */

static const char PAGE[] =
    "<!DOCTYPE html><html><head><base href=\"/sub/\">"
    "<link rel=stylesheet href=\"s.css\"></head><body>"
    "<!-- <img src=\"/hidden.gif\"> -->"
    "<img src=\"../secure/logo.gif?a=1&amp;b=2\">"
    "<a href=\"/secure/report.html\">link</a>"
    "<script src=\"HTTP://Intranet:80/js/app.js#frag\"></script>"
    "</body></html>";

/* Found: 1 when client's url resolves to the page with type t. */
static int found(struct corrstore *cs, const char *client, const char *url, enum event_object want)
{
    char page[EVENT_URL_MAX];
    enum event_object t = OBJECT_UNKNOWN;
    int rc = htmlbody_lookup(cs, client, url, page, sizeof page, &t);
    if (rc != 1)
        return rc;
    if (strcmp(page, "http://intranet/dir/index.html") != 0 || t != want)
        return -2;
    return 1;
}

static void check_page_objects(struct corrstore *cs, const char *client)
{
    assert_int_equal(found(cs, client, "http://intranet/secure/logo.gif?a=1&b=2", OBJECT_IMAGE), 1);
    assert_int_equal(found(cs, client, "http://intranet/sub/s.css", OBJECT_STYLE), 1);
    assert_int_equal(found(cs, client, "http://INTRANET/js/app.js", OBJECT_SCRIPT), 1);
    assert_int_equal(found(cs, client, "http://intranet/hidden.gif", OBJECT_UNKNOWN), 0);
    assert_int_equal(found(cs, client, "http://intranet/secure/report.html", OBJECT_UNKNOWN), 0);
}

static void feed_chunks(struct htmlbody *hb, const unsigned char *p, size_t n, size_t chunk)
{
    for (size_t i = 0; i < n; i += chunk)
        htmlbody_feed(hb, (const char *)p + i, n - i < chunk ? n - i : chunk);
}

static void test_identity_page_any_chunking(void **state)
{
    (void)state;
    size_t n = strlen(PAGE);
    for (size_t chunk = 1; chunk <= n; chunk += (chunk < 16 ? 1 : 13)) {
        struct corrstore *cs = make(1 << 20);
        struct htmlbody *hb = htmlbody_new(cs, "10.0.0.9", "http://Intranet/dir/./index.html", HTMLBODY_IDENTITY,
                                           1 << 20);
        assert_non_null(hb);
        feed_chunks(hb, (const unsigned char *)PAGE, n, chunk);
        htmlbody_finish(hb);
        check_page_objects(cs, "10.0.0.9");
        assert_int_equal(found(cs, "10.0.0.8", "http://intranet/secure/logo.gif?a=1&b=2", OBJECT_IMAGE), 0);
        htmlbody_free(hb);
        corrstore_destroy(cs);
    }
}

/* Compress PAGE: gzip (windowBits 31), zlib (15) or raw deflate (-15). */
static size_t compress_page(unsigned char *out, size_t cap, int window_bits)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (unsigned char *)PAGE;
    z.avail_in = (uInt)strlen(PAGE);
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t n = z.total_out;
    deflateEnd(&z);
    return n;
}

static void test_gzip_zlib_and_raw_deflate_pages(void **state)
{
    (void)state;
    static const struct { int bits; enum htmlbody_encoding enc; } cases[] = {
        { 31, HTMLBODY_GZIP }, { 15, HTMLBODY_DEFLATE }, { -15, HTMLBODY_DEFLATE },
    };
    unsigned char z[4096];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t n = compress_page(z, sizeof z, cases[c].bits);
        for (size_t chunk = 1; chunk <= n; chunk = chunk * 2 + 1) {
            struct corrstore *cs = make(1 << 20);
            struct htmlbody *hb = htmlbody_new(cs, "c", "http://intranet/dir/index.html", cases[c].enc, 1 << 20);
            assert_non_null(hb);
            feed_chunks(hb, z, n, chunk);
            htmlbody_finish(hb);
            struct htmlbody_stats st;
            htmlbody_get_stats(hb, &st);
            assert_false(st.decode_error);
            assert_int_equal(st.html_bytes, strlen(PAGE));
            check_page_objects(cs, "c");
            htmlbody_free(hb);
            corrstore_destroy(cs);
        }
    }
}

/* Brotli (Content-Encoding: br), the other coding browsers ask for: decoded
 * at any chunking; a cut stream is scanned as far as it decodes. */
static void test_brotli_page_any_chunking_and_cut(void **state)
{
    (void)state;
    uint8_t br[4096];
    size_t n = sizeof br;
    assert_int_equal(BrotliEncoderCompress(BROTLI_DEFAULT_QUALITY, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT,
                                           strlen(PAGE), (const uint8_t *)PAGE, &n, br),
                     BROTLI_TRUE);
    for (size_t chunk = 1; chunk <= n; chunk = chunk * 2 + 1) {
        struct corrstore *cs = make(1 << 20);
        struct htmlbody *hb = htmlbody_new(cs, "c", "http://intranet/dir/index.html", HTMLBODY_BR, 1 << 20);
        assert_non_null(hb);
        feed_chunks(hb, br, n, chunk);
        htmlbody_finish(hb);
        struct htmlbody_stats st;
        htmlbody_get_stats(hb, &st);
        assert_false(st.decode_error);
        assert_int_equal(st.html_bytes, strlen(PAGE));
        check_page_objects(cs, "c");
        htmlbody_free(hb);
        corrstore_destroy(cs);
    }
    /* Garbage is a decode error with nothing recorded, never a crash. */
    struct corrstore *cs = make(1 << 20);
    struct htmlbody *hb = htmlbody_new(cs, "c", "http://intranet/dir/index.html", HTMLBODY_BR, 1 << 20);
    htmlbody_feed(hb, "\xff\xff\xff\xff not brotli", 15);
    htmlbody_finish(hb);
    struct htmlbody_stats st;
    htmlbody_get_stats(hb, &st);
    assert_true(st.decode_error);
    assert_int_equal(st.objects, 0);
    htmlbody_free(hb);
    corrstore_destroy(cs);
}

/* A gzip body cut short, or with garbage in the middle, is scanned as far
 * as it decodes. */
static void test_truncated_and_corrupt_gzip_scan_what_decodes(void **state)
{
    (void)state;
    unsigned char z[4096];
    size_t n = compress_page(z, sizeof z, 31);
    struct corrstore *cs = make(1 << 20);
    struct htmlbody *hb = htmlbody_new(cs, "c", "http://intranet/dir/index.html", HTMLBODY_GZIP, 1 << 20);
    htmlbody_feed(hb, (const char *)z, n - 12); /* no trailer, last bytes missing */
    htmlbody_finish(hb);
    struct htmlbody_stats st;
    htmlbody_get_stats(hb, &st);
    assert_true(st.html_bytes > 0);
    assert_int_equal(found(cs, "c", "http://intranet/sub/s.css", OBJECT_STYLE), 1);
    htmlbody_free(hb);
    corrstore_destroy(cs);

    cs = make(1 << 20);
    hb = htmlbody_new(cs, "c", "http://intranet/dir/index.html", HTMLBODY_GZIP, 1 << 20);
    memset(z + n / 2, 0xff, 8);
    htmlbody_feed(hb, (const char *)z, n);
    htmlbody_finish(hb);
    htmlbody_get_stats(hb, &st);
    assert_true(st.decode_error);
    htmlbody_free(hb);
    corrstore_destroy(cs);

    cs = make(1 << 20);
    hb = htmlbody_new(cs, "c", "http://intranet/dir/index.html", HTMLBODY_GZIP, 1 << 20);
    htmlbody_feed(hb, "not gzip at all", 15);
    htmlbody_finish(hb);
    htmlbody_get_stats(hb, &st);
    assert_true(st.decode_error);
    assert_int_equal(st.objects, 0);
    htmlbody_free(hb);
    corrstore_destroy(cs);
}

/* Objects after MaxHtmlBytes of decoded HTML are not looked at. */
static void test_max_html_bytes_limits_the_scan(void **state)
{
    (void)state;
    const char *img = strstr(PAGE, "<img");
    size_t limit = (size_t)(img - PAGE);
    struct corrstore *cs = make(1 << 20);
    struct htmlbody *hb = htmlbody_new(cs, "c", "http://intranet/dir/index.html", HTMLBODY_IDENTITY, limit);
    htmlbody_feed(hb, PAGE, strlen(PAGE));
    assert_true(htmlbody_done(hb));
    htmlbody_finish(hb);
    assert_int_equal(found(cs, "c", "http://intranet/sub/s.css", OBJECT_STYLE), 1);
    assert_int_equal(found(cs, "c", "http://intranet/secure/logo.gif?a=1&b=2", OBJECT_IMAGE), 0);
    htmlbody_free(hb);
    corrstore_destroy(cs);
}

/* A reference repeated in a page is recorded once, but only while it names
 * the same URL and type: a <base> in between, another type, or a slot taken
 * by other references never loses an object. */
static void test_repeated_references_recorded_once(void **state)
{
    (void)state;
    static char page[64 * 1024];
    size_t n = 0;
    n += (size_t)snprintf(page + n, sizeof page - n,
                          "<img src=a.gif><img src=a.gif><script src=a.gif></script><img src=a.gif>");
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 300; i++)
            n += (size_t)snprintf(page + n, sizeof page - n, "<img src=\"/img/%d.png\">", i);
    n += (size_t)snprintf(page + n, sizeof page - n, "<base href=\"/other/\"><img src=a.gif><img src=a.gif>");
    struct corrstore *cs = make(1 << 20);
    struct htmlbody *hb = htmlbody_new(cs, "c", "http://intranet/dir/index.html", HTMLBODY_IDENTITY, 1 << 20);
    assert_non_null(hb);
    htmlbody_feed(hb, page, n);
    htmlbody_finish(hb);
    struct htmlbody_stats st;
    htmlbody_get_stats(hb, &st);
    /* a.gif as image and as script, 300 images, a.gif against the new base;
     * the 300 cycle through every slot, so some repeats are recorded again */
    assert_true(st.objects >= 303 && st.objects < 303 + 2 * 300);
    assert_int_equal(found(cs, "c", "http://intranet/dir/a.gif", OBJECT_IMAGE) != 0, 1);
    assert_int_equal(found(cs, "c", "http://intranet/other/a.gif", OBJECT_IMAGE), 1);
    for (int i = 0; i < 300; i++) {
        char url[64];
        snprintf(url, sizeof url, "http://intranet/img/%d.png", i);
        assert_int_equal(found(cs, "c", url, OBJECT_IMAGE), 1);
    }
    htmlbody_free(hb);
    /* the plain repeat: 40 copies of one image are one object */
    n = 0;
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(page + n, sizeof page - n, "<p>text <img src=\"/img/chart.png\" alt=\"\"></p>");
    hb = htmlbody_new(cs, "c", "http://intranet/dir/index.html", HTMLBODY_IDENTITY, 1 << 20);
    htmlbody_feed(hb, page, n);
    htmlbody_finish(hb);
    htmlbody_get_stats(hb, &st);
    assert_int_equal(st.objects, 1);
    assert_int_equal(found(cs, "c", "http://intranet/img/chart.png", OBJECT_IMAGE), 1);
    htmlbody_free(hb);
    corrstore_destroy(cs);
}

static void test_encoding_and_type_names(void **state)
{
    (void)state;
    assert_int_equal(htmlbody_encoding_of(NULL), HTMLBODY_IDENTITY);
    assert_int_equal(htmlbody_encoding_of("GZip"), HTMLBODY_GZIP);
    assert_int_equal(htmlbody_encoding_of("x-gzip"), HTMLBODY_GZIP);
    assert_int_equal(htmlbody_encoding_of(" br "), HTMLBODY_BR);
    assert_int_equal(htmlbody_encoding_of("deflate"), HTMLBODY_DEFLATE);
    assert_int_equal(htmlbody_encoding_of("gzip, br"), HTMLBODY_UNSUPPORTED);
    assert_int_equal(htmlbody_encoding_of("zstd"), HTMLBODY_UNSUPPORTED);
    assert_true(htmlbody_is_html("text/html; charset=utf-8"));
    assert_true(htmlbody_is_html("Application/XHTML+XML"));
    assert_false(htmlbody_is_html("text/htmlx"));
    assert_false(htmlbody_is_html("text/plain"));
    assert_null(htmlbody_new(NULL, "c", "http://a/", HTMLBODY_UNSUPPORTED, 10));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_object_maps_to_embedding_page_per_client),
        cmocka_unit_test(test_entries_expire_after_window),
        cmocka_unit_test(test_later_page_wins_for_shared_object),
        cmocka_unit_test(test_flood_stays_in_memory_and_counts_evictions),
        cmocka_unit_test(test_page_ring_wrap_keeps_entries_consistent),
        cmocka_unit_test(test_too_small_store_is_refused),
        cmocka_unit_test(test_store_is_shared_across_fork),
        cmocka_unit_test(test_identity_page_any_chunking),
        cmocka_unit_test(test_gzip_zlib_and_raw_deflate_pages),
        cmocka_unit_test(test_brotli_page_any_chunking_and_cut),
        cmocka_unit_test(test_truncated_and_corrupt_gzip_scan_what_decodes),
        cmocka_unit_test(test_max_html_bytes_limits_the_scan),
        cmocka_unit_test(test_repeated_references_recorded_once),
        cmocka_unit_test(test_encoding_and_type_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
