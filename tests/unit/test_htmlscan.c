/* test_htmlscan.c -- the streaming scanner against tricky HTML: which bytes
 * are markup (comments, raw text, script escapes), attribute syntax and
 * character references, every element that embeds an object, and the
 * guarantee that any chunking of a document gives the same result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "htmlscan.h"

/* Callbacks rendered as "TYPE URL\n" lines ("base URL" for <base>). */
struct out {
    char buf[1 << 16];
    size_t n;
};

static void collect(void *ctx, enum htmlscan_ref ref, enum event_object type, const char *url,
                    size_t len)
{
    struct out *o = ctx;
    const char *name = ref == HTMLSCAN_BASE ? "base" : event_object_name(type);
    int k = snprintf(o->buf + o->n, sizeof o->buf - o->n, "%s %.*s\n", name ? name : "?",
                     (int)len, url);
    assert_true(k > 0 && (size_t)k < sizeof o->buf - o->n);
    o->n += (size_t)k;
}

/* Scan doc[0..n) in chunks of `chunk` bytes (0: whole). */
static void scan_n(const char *doc, size_t n, size_t chunk, struct out *o,
                   struct htmlscan_stats *st)
{
    o->n = 0;
    o->buf[0] = '\0';
    struct htmlscan *s = htmlscan_new(collect, o);
    assert_non_null(s);
    if (chunk == 0)
        chunk = n ? n : 1;
    for (size_t i = 0; i < n; i += chunk)
        htmlscan_feed(s, doc + i, n - i < chunk ? n - i : chunk);
    htmlscan_finish(s);
    if (st != NULL)
        htmlscan_get_stats(s, st);
    htmlscan_free(s);
    o->buf[o->n] = '\0';
}

static struct out g_out;

static const char *scan(const char *doc)
{
    scan_n(doc, strlen(doc), 0, &g_out, NULL);
    return g_out.buf;
}

#define expect(doc, want) assert_string_equal(scan(doc), want)

static void test_each_element_reports_its_object_type(void **state)
{
    (void)state;
    expect("<img src=a.gif>", "image a.gif\n");
    expect("<image src=a.gif>", "image a.gif\n");
    expect("<script src=s.js></script>", "script s.js\n");
    expect("<link rel=stylesheet href=c.css>", "style c.css\n");
    expect("<iframe src=f.html></iframe><frame src=g.html>", "frame f.html\nframe g.html\n");
    expect("<embed src=e.swf><object data=o.swf></object>", "object e.swf\nobject o.swf\n");
    expect("<video src=v.mp4 poster=p.jpg></video>", "media v.mp4\nimage p.jpg\n");
    expect("<video poster=p.jpg src=v.mp4>", "media v.mp4\nimage p.jpg\n");
    expect("<audio src=a.ogg><source src=b.ogg><track src=t.vtt></audio>",
           "media a.ogg\nmedia b.ogg\nmedia t.vtt\n");
    expect("<picture><source srcset=\"w.webp\"><img src=i.jpg></picture>",
           "image w.webp\nimage i.jpg\n");
    expect("<input type=image src=btn.png><input type=IMAGE src=b2.png><input src=no.png>",
           "image btn.png\nimage b2.png\n");
    expect("<body background=bg.gif><table background=t.gif><tr><td background=d.gif>"
           "<th background=h.gif><div background=no.gif>",
           "image bg.gif\nimage t.gif\nimage d.gif\nimage h.gif\n");
    /* table parts outside a table are dropped by the tree builder */
    expect("<td background=no.gif><table><td background=in.gif></table><tr background=no2.gif>",
           "image in.gif\n");
    expect("<a href=page.html>x</a><img src=''><img src='  '><img>", "");
}

static void test_link_rel_decides_type_or_nothing(void **state)
{
    (void)state;
    expect("<link href=a rel='shortcut icon'><link rel=ICON href=b>"
           "<link rel=apple-touch-icon href=c><link rel='alternate stylesheet' href=d>",
           "image a\nimage b\nimage c\nstyle d\n");
    expect("<link rel=preload as=font href=f.woff2><link rel=preload as=Script href=s.js>"
           "<link rel=preload as=image href=i.png><link rel=preload href=none.js>"
           "<link rel=preload as=bogus href=none2>",
           "font f.woff2\nscript s.js\nimage i.png\n");
    expect("<link rel=modulepreload href=m.js><link rel=prefetch href=n.html>"
           "<link rel=canonical href=c><link rel=alternate href=d><link href=e>",
           "script m.js\nother n.html\n");
}

static void test_srcset_reports_every_candidate(void **state)
{
    (void)state;
    expect("<img srcset='a.png 1x, b.png 2x'>", "image a.png\nimage b.png\n");
    /* a URL runs to whitespace; only trailing commas are stripped */
    expect("<img srcset='a.png,b.png, ,c.png 100w,d.png'>",
           "image a.png,b.png\nimage c.png\nimage d.png\n");
    expect("<img srcset=' data:image/png;base64,QUJD 1x , e.png (x, y) 2x, f.png'>",
           "image data:image/png;base64,QUJD\nimage e.png\nimage f.png\n");
    expect("<img src=s.png srcset='s.png 1x,,, t.png 2x'>",
           "image s.png\nimage s.png\nimage t.png\n");
}

static void test_comments_hide_tags_and_end_where_whatwg_says(void **state)
{
    (void)state;
    expect("<!-- <img src=a> --><img src=b>", "image b\n");
    expect("<!--><img src=c>", "image c\n");
    expect("<!---><img src=d>", "image d\n");
    expect("<!-- x --!><img src=e>", "image e\n");
    expect("<!-- -- > <img src=f> - -><!-- --><img src=g>", "image g\n");
    expect("<!-- a ---><img src=h>", "image h\n");
    expect("<!--<!-- nested --><img src=i>", "image i\n");
    expect("<!-- unterminated <img src=j>", "");
}

static void test_bogus_comments_and_doctype(void **state)
{
    (void)state;
    expect("<? php <img src=a> ?><img src=b>", "image b\n");
    expect("<?xml version='1.0'?><img src=b>", "image b\n");
    expect("</ <img src=a><img src=b>", "image b\n");
    expect("</3 x><img src=b>", "image b\n");
    expect("<!DOCTYPE html><img src=b>", "image b\n");
    expect("<!doctype html public \"-//W3C//DTD\"><img src=b>", "image b\n");
    expect("<![CDATA[ <img src=a> ]]><img src=b>", "image b\n");
    expect("<!x <img src=a>b<img src=c>", "image c\n");
    expect("<!><img src=b>", "image b\n");
    expect("</><img src=b>", "image b\n");
    expect("a < b <3 <img src=c>", "image c\n");
}

static void test_script_is_raw_text_until_its_end_tag(void **state)
{
    (void)state;
    expect("<script>document.write('<img src=x>')</script><img src=y>", "image y\n");
    expect("<SCRIPT>if (a</b) x='</scripts>';</ScRiPt ><img src=y>", "image y\n");
    expect("<script src=a.js />\n<img src=x></script><img src=y>", "script a.js\nimage y\n");
    expect("<script></script foo='>'><img src=y>", "image y\n");
    expect("<script>x</script/><img src=y>", "image y\n");
    expect("<script>never closed <img src=x>", "");
}

static void test_script_escapes_follow_whatwg(void **state)
{
    (void)state;
    /* double-escaped: the inner </script> does not end the element */
    expect("<script><!-- document.write('<script></script>'); <img src=x> --></script>"
           "<img src=y>",
           "image y\n");
    /* escaped but not double-escaped: </script> ends it */
    expect("<script><!-- a </script><img src=y>", "image y\n");
    /* '-->' returns to plain script data */
    expect("<script><!-- <script> --> </script><img src=y>", "image y\n");
    expect("<script><!--<script>--><img src=x></script><img src=y>", "image y\n");
    expect("<script><!--<scripts></script><img src=y>", "image y\n");
}

static void test_rawtext_and_rcdata_elements_hide_markup(void **state)
{
    (void)state;
    expect("<title><img src=a></title><img src=b>", "image b\n");
    expect("<textarea><img src=a></TEXTAREA><img src=b>", "image b\n");
    expect("<xmp><img src=a></xmp><noembed><img src=a></noembed>"
           "<noframes><img src=a></noframes><img src=b>",
           "image b\n");
    expect("<iframe src=f><img src=a></iframe><img src=b>", "frame f\nimage b\n");
    expect("<title></titlex><img src=a></title ><img src=b>", "image b\n");
    expect("<plaintext></plaintext><img src=a>", "");
}

static void test_noscript_is_scanned_template_is_not(void **state)
{
    (void)state;
    expect("<noscript><img src=n.gif></noscript>", "image n.gif\n");
    expect("<template><img src=t.gif><template><img src=u></template><img src=v></template>"
           "<img src=w>",
           "image w\n");
    expect("</template><img src=x>", "image x\n");
    expect("<template><base href=http://b/></template><base href=http://c/>",
           "base http://c/\n");
}

static void test_attribute_syntax(void **state)
{
    (void)state;
    expect("<img src=\"a b.gif\">", "image a b.gif\n");
    expect("<img src='a\"b.gif'>", "image a\"b.gif\n");
    expect("<img src=a'b\"c=d<e>", "image a'b\"c=d<e\n");
    expect("<IMG SRC=upper.gif>", "image upper.gif\n");
    expect("<img\nsrc\n=\n\"sp.gif\"\n>", "image sp.gif\n");
    expect("<img alt=\"x>y\" src=after.gif>", "image after.gif\n");
    expect("<img src=first.gif SRC=second.gif>", "image first.gif\n");
    expect("<img src src=second.gif>", "");
    expect("<img/src=slash.gif>", "image slash.gif\n");
    expect("<img src=\"q.gif\"alt=x>", "image q.gif\n");
    expect("<img src=u.gif/>", "image u.gif/\n");
    expect("<img =src=eq.gif>", "");
    expect("<img xsrc=no.gif data-src=no2.gif>", "");
    expect("<div src=no.gif><span data=no.gif>", "");
    expect("</img src=end.gif>", "");
}

static void test_character_references_in_attributes(void **state)
{
    (void)state;
    expect("<img src='a?x=1&amp;y=2&lt;&gt;&quot;&apos;'>", "image a?x=1&y=2<>\"'\n");
    expect("<img src='&#38;&#x26;&#X26;&#38x'>", "image &&&&x\n");
    expect("<img src='n&nbsp;b&nbsp'>", "image n\xc2\xa0" "b\xc2\xa0\n");
    /* historical rule: no ';' and followed by '=' or alphanumeric: as written */
    expect("<img src='?a=1&amp=2&copy=3&ampx&amp'>", "image ?a=1&amp=2&copy=3&ampx&\n");
    expect("<img src='&notit;&notin;&not;'>", "image &notit;\xe2\x88\x89\xc2\xac\n");
    expect("<img src='&nosuch;&#;&#x;&'>", "image &nosuch;&#;&#x;&\n");
    expect("<img src='&#0;&#x110000;&#xD800;&#x80;&#x9d;'>",
           "image \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xe2\x82\xac\xc2\x9d\n");
    expect("<img src='&#99999999999999999999;'>", "image \xef\xbf\xbd\n");
    expect("<img src=&amp;unq>", "image &unq\n");
    expect("<img src='&AMP;&AMP&Amp;'>", "image &&&Amp;\n");
    expect("<img src='&nGt;'>", "image \xe2\x89\xab\xe2\x83\x92\n");
    /* not decoded in text or in raw text */
    expect("&lt;img src=x&gt;<style>a{background:url(&amp;.png)}</style>", "image &amp;.png\n");
}

static void test_base_href_first_only(void **state)
{
    (void)state;
    expect("<base target=_top><base href='http://a/&amp;'><img src=x><base href=http://b/>",
           "base http://a/&\nimage x\n");
    expect("<base href><base href=http://b/>", "base \n");
}

static void test_css_urls_in_style_attributes_and_elements(void **state)
{
    (void)state;
    expect("<div style=\"background: url(a.png) no-repeat, URL( 'b.png' ), url(&quot;c.png&quot;)\">",
           "image a.png\nimage b.png\nimage c.png\n");
    expect("<p style='background:url(  d.png  )'><p style='x:myurl(no.png);y:url(\"e\\\"f\")'>",
           "image d.png\nimage e\"f\n");
    expect("<style>@import \"a.css\"; @import url(b.css) screen; @IMPORT 'c.css';"
           "body{background:url(bg.png)} /* url(no.png) */ .x{content:'url(no2.png)'}"
           "@media print{.y{background:url(\"p.png\")}}</style>",
           "style a.css\nstyle b.css\nstyle c.css\nimage bg.png\nimage p.png\n");
    expect("<style>a{b:url(x\\29 y.png)} c{d:url(\\31 23.png)} e{f:url(bad\"x) g:url(h i)}</style>",
           "image x)y.png\nimage 123.png\n");
    expect("<style>a{b:url(</style>x)}<img src=after>", "image after\n");
    expect("<style>a{b:url(q.png)</style><img src=r>", "image q.png\nimage r\n");
    expect("<style>a{b:url(s.png) } </stylex> c{d:url(t.png)}</style>",
           "image s.png\nimage t.png\n");
    expect("<style>a{b:url(u.png", "image u.png\n");
    expect("<style>x{y:url()} z{w:url( )}</style>", "");
    /* fragment-only: an element of this document (SVG gradients, filters) */
    expect("<svg><style>.a{fill:url(#g)} .b{fill:url( '#h' )}</style></svg>"
           "<p style='filter:url(#f)'>", "");
    /* no @import in a declaration list: its url() is reported as an image
     * (an invalid declaration a browser skips; over-reporting is harmless) */
    expect("<div style='@import url(x.css); a:url(y.png)'>", "image x.css\nimage y.png\n");
    expect("<style><!-- a{b:url(c.png)} --></style>", "image c.png\n");
    expect("<template><style>a{b:url(no.png)}</style></template>", "");
}

static void test_unterminated_tags_at_eof_are_dropped(void **state)
{
    (void)state;
    expect("<img src=a.gif", "");
    expect("<img src=\"a.gif>", "");
    expect("<img src='a.gif' ", "");
    expect("<img src=a.gif /", "");
    expect("<img", "");
    expect("<", "");
    expect("<!-", "");
    expect("<img src=ok.gif><img src=\"never", "image ok.gif\n");
}

static void test_nul_bytes_become_replacement_characters(void **state)
{
    (void)state;
    static const char doc[] = "<img src=\"a\0b\"><im\0g src=no><img s\0rc=no><img src=c\0>";
    scan_n(doc, sizeof doc - 1, 0, &g_out, NULL);
    assert_string_equal(g_out.buf, "image a\xef\xbf\xbd" "b\nimage c\xef\xbf\xbd\n");
    static const char doc2[] = "\0\0<!--\0--><img src=d>\0";
    scan_n(doc2, sizeof doc2 - 1, 0, &g_out, NULL);
    assert_string_equal(g_out.buf, "image d\n");
    /* in <style> a NUL is U+FFFD: an identifier character, so no url( here */
    static const char doc3[] = "<style>\0url(no.png) b{c:url(\0d) e:url('\0f')}</style>";
    scan_n(doc3, sizeof doc3 - 1, 0, &g_out, NULL);
    assert_string_equal(g_out.buf, "image \xef\xbf\xbd" "d\nimage \xef\xbf\xbd" "f\n");
}

static void test_non_utf8_bytes_pass_through(void **state)
{
    (void)state;
    expect("<img src='\xff\xfe\x80.gif'><img src=caf\xe9.gif>",
           "image \xff\xfe\x80.gif\nimage caf\xe9.gif\n");
}

static void test_huge_attribute_is_dropped_and_counted(void **state)
{
    (void)state;
    size_t big = HTMLSCAN_VALUE_MAX + 1;
    char *doc = malloc(big + 100);
    assert_non_null(doc);
    size_t n = (size_t)sprintf(doc, "<img src=\"");
    memset(doc + n, 'x', big);
    n += big;
    n += (size_t)sprintf(doc + n, "\"><img src=ok.gif>");
    struct htmlscan_stats st;
    size_t before = htmlscan_size();
    scan_n(doc, n, 0, &g_out, &st);
    assert_string_equal(g_out.buf, "image ok.gif\n");
    assert_int_equal(st.dropped, 1);
    assert_int_equal(st.objects, 1);
    assert_int_equal(st.bytes, n);
    assert_int_equal(htmlscan_size(), before);
    /* in 7-byte chunks too */
    scan_n(doc, n, 7, &g_out, &st);
    assert_string_equal(g_out.buf, "image ok.gif\n");
    assert_int_equal(st.dropped, 1);
    /* exactly at the cap is kept */
    n = (size_t)sprintf(doc, "<img src=\"");
    memset(doc + n, 'y', HTMLSCAN_VALUE_MAX);
    n += HTMLSCAN_VALUE_MAX;
    n += (size_t)sprintf(doc + n, "\">");
    scan_n(doc, n, 0, &g_out, &st);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(st.objects, 1);
    free(doc);
}

static void test_many_huge_attributes_in_one_tag_stay_bounded(void **state)
{
    (void)state;
    /* five near-cap values in one tag: src and srcset are kept, style does
     * not fit the arena and is dropped, alt and rel are not copied at all */
    size_t v = HTMLSCAN_VALUE_MAX - 10;
    char *doc = malloc(6 * (v + 20));
    assert_non_null(doc);
    static const char *const attrs[] = {"src", "srcset", "style", "alt", "rel"};
    size_t n = (size_t)sprintf(doc, "<img");
    for (size_t i = 0; i < 5; i++) {
        n += (size_t)sprintf(doc + n, " %s='", attrs[i]);
        memset(doc + n, 'a' + (char)i, v);
        n += v;
        doc[n++] = '\'';
    }
    doc[n++] = '>';
    struct htmlscan_stats st;
    scan_n(doc, n, 0, &g_out, &st);
    assert_int_equal(st.objects, 2); /* src and the one srcset candidate */
    assert_int_equal(st.dropped, 1); /* style did not fit */
    free(doc);
}

static void test_callback_gets_decoded_bytes_without_nul_terminator(void **state)
{
    (void)state;
    expect("<img src=' padded.gif '>", "image  padded.gif \n");
}

/* Everything above in one document, to be cut at every offset. */
static const char chunk_doc[] =
    "<!DOCTYPE html><html><head><base href='http://h/d/'><title>a<b</title>"
    "<link rel='stylesheet' href=\"c.css?a=1&amp;b=2\"><style>@import 'i.css';"
    "body{background:url( \"bg\\31 .png\" )}</style><script src=s.js></script>"
    "<script><!-- document.write('<script><img src=no></script>') --></script>"
    "</head><body background=b.gif><!-- <img src=hidden> --!><img src=one.gif "
    "srcset='two.gif 1x, three.gif 2x' alt=\"&lt;\"><? <img src=no2> ?>"
    "<picture><source srcset=w.webp><img src=p.jpg></picture><video poster=po.jpg>"
    "<source src=m.mp4></video><iframe src=f.html><img src=no3></iframe>"
    "<p style='background-image:url(st.png)'>&amp;<textarea></textarea x></textarea>"
    "<img src=&#x61;&#98;&copy&nbsp;.gif><input type=image src=in.png>"
    "<template><img src=no4></template><object data=o.swf></object><img src=last";

static void test_every_two_piece_split_equals_whole(void **state)
{
    (void)state;
    size_t n = sizeof chunk_doc - 1;
    static struct out whole, part;
    scan_n(chunk_doc, n, 0, &whole, NULL);
    assert_true(whole.n > 200); /* the document does report many objects */
    for (size_t cut = 0; cut <= n; cut++) {
        part.n = 0;
        struct htmlscan *s = htmlscan_new(collect, &part);
        assert_non_null(s);
        htmlscan_feed(s, chunk_doc, cut);
        htmlscan_feed(s, chunk_doc + cut, n - cut);
        htmlscan_finish(s);
        htmlscan_free(s);
        part.buf[part.n] = '\0';
        if (strcmp(part.buf, whole.buf) != 0)
            fail_msg("split at %zu differs:\n%s\nvs whole:\n%s", cut, part.buf, whole.buf);
    }
}

static void test_one_byte_chunks_equal_whole(void **state)
{
    (void)state;
    size_t n = sizeof chunk_doc - 1;
    static struct out whole, part;
    scan_n(chunk_doc, n, 0, &whole, NULL);
    for (size_t chunk = 1; chunk <= 16; chunk++) {
        scan_n(chunk_doc, n, chunk, &part, NULL);
        if (strcmp(part.buf, whole.buf) != 0)
            fail_msg("chunk %zu differs:\n%s", chunk, part.buf);
    }
    assert_string_equal(whole.buf,
                        "base http://h/d/\n"
                        "style c.css?a=1&b=2\n"
                        "style i.css\n"
                        "image bg1.png\n"
                        "script s.js\n"
                        "image b.gif\n"
                        "image one.gif\n"
                        "image two.gif\n"
                        "image three.gif\n"
                        "image w.webp\n"
                        "image p.jpg\n"
                        "image po.jpg\n"
                        "media m.mp4\n"
                        "frame f.html\n"
                        "image st.png\n"
                        "image ab\xc2\xa9\xc2\xa0.gif\n"
                        "image in.png\n"
                        "object o.swf\n");
}

static void test_reset_allows_reuse(void **state)
{
    (void)state;
    struct out o = {.n = 0};
    struct htmlscan *s = htmlscan_new(collect, &o);
    assert_non_null(s);
    htmlscan_feed(s, "<script>", 8);
    htmlscan_reset(s);
    htmlscan_feed(s, "<img src=a>", 11);
    htmlscan_finish(s);
    htmlscan_free(s);
    o.buf[o.n] = '\0';
    assert_string_equal(o.buf, "image a\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_element_reports_its_object_type),
        cmocka_unit_test(test_link_rel_decides_type_or_nothing),
        cmocka_unit_test(test_srcset_reports_every_candidate),
        cmocka_unit_test(test_comments_hide_tags_and_end_where_whatwg_says),
        cmocka_unit_test(test_bogus_comments_and_doctype),
        cmocka_unit_test(test_script_is_raw_text_until_its_end_tag),
        cmocka_unit_test(test_script_escapes_follow_whatwg),
        cmocka_unit_test(test_rawtext_and_rcdata_elements_hide_markup),
        cmocka_unit_test(test_noscript_is_scanned_template_is_not),
        cmocka_unit_test(test_attribute_syntax),
        cmocka_unit_test(test_character_references_in_attributes),
        cmocka_unit_test(test_base_href_first_only),
        cmocka_unit_test(test_css_urls_in_style_attributes_and_elements),
        cmocka_unit_test(test_unterminated_tags_at_eof_are_dropped),
        cmocka_unit_test(test_nul_bytes_become_replacement_characters),
        cmocka_unit_test(test_non_utf8_bytes_pass_through),
        cmocka_unit_test(test_huge_attribute_is_dropped_and_counted),
        cmocka_unit_test(test_many_huge_attributes_in_one_tag_stay_bounded),
        cmocka_unit_test(test_callback_gets_decoded_bytes_without_nul_terminator),
        cmocka_unit_test(test_every_two_piece_split_equals_whole),
        cmocka_unit_test(test_one_byte_chunks_equal_whole),
        cmocka_unit_test(test_reset_allows_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
