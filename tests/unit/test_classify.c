/* test_classify.c -- SPEC §2 as a scenario table: what the proxy saw (status,
 * URL, challenge and request headers, correlation) against the event fields
 * promptcause must report. One row per rule and per edge; the rows read like
 * the table at the top of SPEC.md. NTLM tokens are laid out byte by byte here
 * (MS-NLMP §2.2.1) and base64-encoded, so the test does not trust the code
 * under test to build them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "challenge.h"
#include "classify.h"
#include "zone.h"

/* ---- hand-built tokens -------------------------------------------------- */

static void b64(const uint8_t *in, size_t n, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = a[(v >> 18) & 63];
        out[o++] = a[(v >> 12) & 63];
        out[o++] = i + 1 < n ? a[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? a[v & 63] : '=';
    }
    out[o] = '\0';
}

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static size_t ntlm_header(uint8_t *m, uint32_t type)
{
    memcpy(m, "NTLMSSP", 8); /* signature includes the NUL */
    put32(m + 8, type);
    return 12;
}

static void secbuf(uint8_t *m, size_t at, size_t len, size_t off)
{
    put16(m + at, (unsigned)len);
    put16(m + at + 2, (unsigned)len);
    put32(m + at + 4, (uint32_t)off);
}

/* UTF-16LE copy of ASCII s at m[off]; returns its byte length. */
static size_t utf16(uint8_t *m, size_t off, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        m[off + 2 * i] = (uint8_t)s[i];
        m[off + 2 * i + 1] = 0;
    }
    return 2 * n;
}

static char hdr_ntlm_type1[512];     /* Authorization: NTLM <type 1> */
static char hdr_ntlm_type2[512];     /* WWW-Authenticate: NTLM <type 2> */
static char hdr_ntlm_type3[512];     /* Authorization: NTLM <type 3 CORP\alice> */
static char hdr_negotiate_ntlm3[512];/* Authorization: Negotiate <raw type 3> */

static int build_tokens(void **state)
{
    (void)state;
    uint8_t m[256];
    char enc[400];

    memset(m, 0, sizeof m);
    ntlm_header(m, 1);
    put32(m + 12, 0x00088207); /* unicode, NTLM, always-sign, ext. session security */
    b64(m, 16, enc);
    snprintf(hdr_ntlm_type1, sizeof hdr_ntlm_type1, "NTLM %s", enc);

    memset(m, 0, sizeof m);
    ntlm_header(m, 2);
    size_t tlen = utf16(m, 48, "CORP");
    secbuf(m, 12, tlen, 48);            /* target name */
    put32(m + 20, 0x00818205);          /* flags */
    memcpy(m + 24, "\x01\x23\x45\x67\x89\xab\xcd\xef", 8); /* server challenge */
    secbuf(m, 40, 0, 48 + tlen);        /* empty target info */
    b64(m, 48 + tlen, enc);
    snprintf(hdr_ntlm_type2, sizeof hdr_ntlm_type2, "NTLM %s", enc);

    memset(m, 0, sizeof m);
    ntlm_header(m, 3);
    size_t off = 64;
    secbuf(m, 12, 24, off);              /* LM response: 24 zero bytes */
    off += 24;
    secbuf(m, 20, 24, off);              /* NT response */
    memset(m + off, 0x5a, 24);
    off += 24;
    size_t dl = utf16(m, off, "CORP");
    secbuf(m, 28, dl, off);
    off += dl;
    size_t ul = utf16(m, off, "alice");
    secbuf(m, 36, ul, off);
    off += ul;
    size_t wl = utf16(m, off, "WS01");
    secbuf(m, 44, wl, off);
    off += wl;
    secbuf(m, 52, 0, off);               /* no session key */
    put32(m + 60, 0x00088205);           /* NEGOTIATE_UNICODE set */
    b64(m, off, enc);
    snprintf(hdr_ntlm_type3, sizeof hdr_ntlm_type3, "NTLM %s", enc);
    snprintf(hdr_negotiate_ntlm3, sizeof hdr_negotiate_ntlm3, "Negotiate %s", enc);
    return 0;
}

/* ---- the table ---------------------------------------------------------- */

#define MAX_HDRS 3
#define BROWSER_HTML "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
#define BROWSER_IMG "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"
#define IE_IMG "image/png, image/svg+xml, image/*;q=0.8, */*;q=0.5"

struct scenario {
    const char *name;
    /* what the proxy saw */
    int status;
    const char *url;
    const char *challenge[MAX_HDRS]; /* WWW-Authenticate / Proxy-Authenticate lines */
    const char *authorization;
    const char *referer;
    const char *dest;                /* Sec-Fetch-Dest */
    const char *accept;
    const char *proxy_user;
    const char *html_parent;
    enum event_object html_object;
    const char *body;
    bool listed;                     /* IntranetHosts "*.corp.example", "10.9.0.0/16" */
    /* what promptcause must say; NULL strings must be null in the event */
    enum event_cause cause;
    enum event_prompt prompt;
    enum event_object object;
    enum event_evidence evidence;
    const char *parent;
    const char *zone;
    const char *handler;
    const char *user;
    const char *auth_sent;
    const char *realm;
    const char *substatus;
    const char *hint_has;            /* a phrase the hint must contain */
};

static const struct scenario scenarios[] = {
    /* -- rule 4, page-denied, prompt by scheme (KB: Basic/Digest always prompt) */
    {.name = "page denied, Basic only: basic prompt",
     .status = 401, .url = "http://intranet/secure/report.htm",
     .challenge = {"Basic realm=\"secure\""}, .dest = "document", .accept = BROWSER_HTML,
     .cause = CAUSE_PAGE_DENIED, .prompt = PROMPT_BASIC, .object = OBJECT_DOCUMENT,
     .zone = "intranet", .auth_sent = "none", .realm = "secure",
     .hint_has = "read access to /secure/report.htm"},
    {.name = "page denied, Digest and Basic: digest prompt",
     .status = 401, .url = "http://intranet/secure/",
     .challenge = {"Digest realm=\"dig\", nonce=\"abc\", qop=\"auth\"", "Basic realm=\"b\""},
     .accept = BROWSER_HTML,
     .cause = CAUSE_PAGE_DENIED, .prompt = PROMPT_DIGEST, .object = OBJECT_DOCUMENT,
     .zone = "intranet", .auth_sent = "none", .realm = "dig", .hint_has = "Digest"},
    /* -- rule 4, integrated auth and the periods rule */
    {.name = "integrated auth to an FQDN: not-intranet",
     .status = 401, .url = "http://www.corp.example/app/",
     .challenge = {"Negotiate", "NTLM"}, .dest = "document",
     .cause = CAUSE_PAGE_DENIED, .prompt = PROMPT_NOT_INTRANET, .object = OBJECT_DOCUMENT,
     .zone = "internet", .auth_sent = "none", .hint_has = "add www.corp.example to the browsers' Local intranet zone"},
    {.name = "integrated auth to an IPv4 literal: not-intranet",
     .status = 401, .url = "http://10.0.0.1/", .challenge = {"NTLM"}, .dest = "document",
     .cause = CAUSE_PAGE_DENIED, .prompt = PROMPT_NOT_INTRANET, .object = OBJECT_DOCUMENT,
     .zone = "internet", .auth_sent = "none", .hint_has = "10.0.0.1 is an IP address"},
    {.name = "integrated auth to an IPv6 literal with port: not-intranet",
     .status = 401, .url = "http://[fd00::5]:8080/x", .challenge = {"Negotiate"},
     .dest = "document",
     .cause = CAUSE_PAGE_DENIED, .prompt = PROMPT_NOT_INTRANET, .object = OBJECT_DOCUMENT,
     .zone = "internet", .auth_sent = "none", .hint_has = "fd00::5 is an IP address"},
    {.name = "integrated auth to a dotless host: silent",
     .status = 401, .url = "http://intranet/", .challenge = {"Negotiate", "NTLM"},
     .dest = "document",
     .cause = CAUSE_PAGE_DENIED, .prompt = PROMPT_SILENT, .object = OBJECT_DOCUMENT,
     .zone = "intranet", .auth_sent = "none"},
    {.name = "integrated auth to a host listed by IntranetHosts glob: silent",
     .status = 401, .url = "http://portal.corp.example/", .challenge = {"NTLM"},
     .dest = "document", .listed = true,
     .cause = CAUSE_PAGE_DENIED, .prompt = PROMPT_SILENT, .object = OBJECT_DOCUMENT,
     .zone = "intranet", .auth_sent = "none"},
    {.name = "integrated auth to an IP listed by CIDR: silent",
     .status = 401, .url = "http://10.9.8.7/", .challenge = {"NTLM"},
     .dest = "document", .listed = true,
     .cause = CAUSE_PAGE_DENIED, .prompt = PROMPT_SILENT, .object = OBJECT_DOCUMENT,
     .zone = "intranet", .auth_sent = "none"},
    {.name = "401 without any challenge: no prompt",
     .status = 401, .url = "http://intranet/x.htm", .dest = "document",
     .cause = CAUSE_PAGE_DENIED, .prompt = PROMPT_NONE, .object = OBJECT_DOCUMENT,
     .zone = "intranet", .auth_sent = "none"},
    /* -- rule 4, handler-denied (KB: ISAPI extension behind .shtml) */
    {.name = "page behind a script-mapped extension: handler-denied",
     .status = 401, .url = "http://intranet/news/index.shtml?x=1", .challenge = {"NTLM"},
     .dest = "document",
     .cause = CAUSE_HANDLER_DENIED, .prompt = PROMPT_SILENT, .object = OBJECT_DOCUMENT,
     .zone = "intranet", .handler = ".shtml", .auth_sent = "none",
     .hint_has = "access to the .shtml handler"},
    {.name = "upper-case extension still names the handler",
     .status = 401, .url = "http://intranet/APP/DEFAULT.ASP", .challenge = {"Basic realm=\"r\""},
     .accept = BROWSER_HTML,
     .cause = CAUSE_HANDLER_DENIED, .prompt = PROMPT_BASIC, .object = OBJECT_DOCUMENT,
     .zone = "intranet", .handler = ".asp", .auth_sent = "none", .realm = "r"},
    {.name = "extension in an earlier segment (PATH_INFO) names the handler",
     .status = 401, .url = "http://intranet/cgi/run.dll/report", .challenge = {"Basic"},
     .dest = "document",
     .cause = CAUSE_HANDLER_DENIED, .prompt = PROMPT_BASIC, .object = OBJECT_DOCUMENT,
     .zone = "intranet", .handler = ".dll", .auth_sent = "none"},
    {.name = "percent-encoded extension is decoded as IIS does",
     .status = 401, .url = "http://intranet/app/default.%61s%70", .challenge = {"Basic"},
     .dest = "document",
     .cause = CAUSE_HANDLER_DENIED, .prompt = PROMPT_BASIC, .object = OBJECT_DOCUMENT,
     .zone = "intranet", .handler = ".asp", .auth_sent = "none"},
    {.name = "extension only in the query is not a handler",
     .status = 401, .url = "http://intranet/page.htm?next=/x.asp", .challenge = {"Basic"},
     .dest = "document",
     .cause = CAUSE_PAGE_DENIED, .prompt = PROMPT_BASIC, .object = OBJECT_DOCUMENT,
     .zone = "intranet", .auth_sent = "none"},
    /* -- rule 4/5, embedded-denied (KB: graphic in a secure folder) */
    {.name = "image by Referer and Accept image/*: embedded-denied, evidence referer",
     .status = 401, .url = "http://intranet/secure/logo.gif",
     .challenge = {"Basic realm=\"secure\""}, .referer = "http://intranet/index.html",
     .accept = IE_IMG,
     .cause = CAUSE_EMBEDDED_DENIED, .prompt = PROMPT_BASIC, .object = OBJECT_IMAGE,
     .evidence = EVIDENCE_REFERER, .parent = "http://intranet/index.html",
     .zone = "intranet", .auth_sent = "none", .realm = "secure",
     .hint_has = "(embedded in http://intranet/index.html)"},
    {.name = "image by Sec-Fetch-Dest and Referer: evidence fetch-metadata",
     .status = 401, .url = "http://intranet/secure/logo.gif", .challenge = {"NTLM"},
     .referer = "http://intranet/index.html", .dest = "image", .accept = BROWSER_IMG,
     .cause = CAUSE_EMBEDDED_DENIED, .prompt = PROMPT_SILENT, .object = OBJECT_IMAGE,
     .evidence = EVIDENCE_FETCH_METADATA, .parent = "http://intranet/index.html",
     .zone = "intranet", .auth_sent = "none"},
    {.name = "script in the parent's scanned HTML: evidence html, object from the element",
     .status = 401, .url = "http://intranet/secure/app.js", .challenge = {"Basic"},
     .referer = "http://intranet/other.html", .accept = "*/*",
     .html_parent = "http://intranet/index.html", .html_object = OBJECT_SCRIPT,
     .cause = CAUSE_EMBEDDED_DENIED, .prompt = PROMPT_BASIC, .object = OBJECT_SCRIPT,
     .evidence = EVIDENCE_HTML, .parent = "http://intranet/index.html",
     .zone = "intranet", .auth_sent = "none"},
    {.name = "stylesheet by Accept text/css and Referer: object style",
     .status = 401, .url = "http://intranet/secure/site.css", .challenge = {"Basic"},
     .referer = "http://intranet/", .accept = "text/css,*/*;q=0.1",
     .cause = CAUSE_EMBEDDED_DENIED, .prompt = PROMPT_BASIC, .object = OBJECT_STYLE,
     .evidence = EVIDENCE_REFERER, .parent = "http://intranet/", .zone = "intranet",
     .auth_sent = "none"},
    {.name = "frame by Sec-Fetch-Dest iframe: embedded-denied, object frame",
     .status = 401, .url = "http://intranet/secure/frame.htm", .challenge = {"Basic"},
     .referer = "http://intranet/", .dest = "iframe", .accept = BROWSER_HTML,
     .cause = CAUSE_EMBEDDED_DENIED, .prompt = PROMPT_BASIC, .object = OBJECT_FRAME,
     .evidence = EVIDENCE_FETCH_METADATA, .parent = "http://intranet/", .zone = "intranet",
     .auth_sent = "none"},
    {.name = "embedded object behind a handler: embedded-denied with handler",
     .status = 401, .url = "http://intranet/secure/chart.aspx?id=3", .challenge = {"Basic"},
     .referer = "http://intranet/", .dest = "image",
     .cause = CAUSE_EMBEDDED_DENIED, .prompt = PROMPT_BASIC, .object = OBJECT_IMAGE,
     .evidence = EVIDENCE_FETCH_METADATA, .parent = "http://intranet/", .zone = "intranet",
     .handler = ".aspx", .auth_sent = "none", .hint_has = ".aspx handler"},
    {.name = "navigation with Referer (Sec-Fetch-Dest document) stays page-denied",
     .status = 401, .url = "http://intranet/secure/page.htm", .challenge = {"Basic"},
     .referer = "http://intranet/index.html", .dest = "document", .accept = BROWSER_HTML,
     .cause = CAUSE_PAGE_DENIED, .prompt = PROMPT_BASIC, .object = OBJECT_DOCUMENT,
     .zone = "intranet", .auth_sent = "none"},
    {.name = "navigation with Referer, no fetch metadata, Accept prefers HTML: page-denied",
     .status = 401, .url = "http://intranet/secure/page.htm", .challenge = {"Basic"},
     .referer = "http://intranet/index.html", .accept = BROWSER_HTML,
     .cause = CAUSE_PAGE_DENIED, .prompt = PROMPT_BASIC, .object = OBJECT_DOCUMENT,
     .zone = "intranet", .auth_sent = "none"},
    {.name = "document opened directly though a scanned page embeds it: navigation wins",
     .status = 401, .url = "http://intranet/secure/logo.gif", .challenge = {"Basic"},
     .dest = "document", .html_parent = "http://intranet/index.html",
     .html_object = OBJECT_IMAGE,
     .cause = CAUSE_PAGE_DENIED, .prompt = PROMPT_BASIC, .object = OBJECT_DOCUMENT,
     .zone = "intranet", .auth_sent = "none"},
    /* -- cross-site images (beyond the KB) */
    {.name = "cross-site image: prompt suppressed",
     .status = 401, .url = "http://img.other.example/secure/a.gif", .challenge = {"Basic"},
     .referer = "http://www.corp.example/page.html", .dest = "image",
     .cause = CAUSE_EMBEDDED_DENIED, .prompt = PROMPT_SUPPRESSED, .object = OBJECT_IMAGE,
     .evidence = EVIDENCE_FETCH_METADATA, .parent = "http://www.corp.example/page.html",
     .zone = "internet", .auth_sent = "none", .hint_has = "will not prompt for a cross-site image"},
    {.name = "same-site image on another host: prompt stays",
     .status = 401, .url = "http://img.corp.example/secure/a.gif", .challenge = {"Basic"},
     .referer = "http://www.corp.example/page.html", .dest = "image",
     .cause = CAUSE_EMBEDDED_DENIED, .prompt = PROMPT_BASIC, .object = OBJECT_IMAGE,
     .evidence = EVIDENCE_FETCH_METADATA, .parent = "http://www.corp.example/page.html",
     .zone = "internet", .auth_sent = "none"},
    {.name = "cross-site script is not suppressed",
     .status = 401, .url = "http://cdn.other.example/a.js", .challenge = {"Basic"},
     .referer = "http://www.corp.example/page.html", .dest = "script",
     .cause = CAUSE_EMBEDDED_DENIED, .prompt = PROMPT_BASIC, .object = OBJECT_SCRIPT,
     .evidence = EVIDENCE_FETCH_METADATA, .parent = "http://www.corp.example/page.html",
     .zone = "internet", .auth_sent = "none"},
    /* -- rule 2, handshake steps */
    {.name = "NTLM type-2 challenge: handshake, no prompt",
     .status = 401, .url = "http://intranet/", .challenge = {hdr_ntlm_type2},
     .authorization = hdr_ntlm_type1, .dest = "document",
     .cause = CAUSE_HANDSHAKE, .prompt = PROMPT_NONE, .object = OBJECT_DOCUMENT,
     .zone = "intranet", .auth_sent = "ntlm", .hint_has = "handshake step"},
    {.name = "Negotiate continuation token: handshake",
     .status = 401, .url = "http://www.corp.example/",
     .challenge = {"Negotiate oRswGaADCgEBohIEEE5UTE1TU1AAAQAAAA=="},
     .authorization = "Negotiate YIIBzwYGKwYBBQUCoIIBwzCCAb+gMDAuBgkqhkiC9xIBAgIGCSqGSIb3EgECAgYKKwYBBAGCNwICHgYKKwYBBAGCNwICCg==",
     .dest = "document",
     .cause = CAUSE_HANDSHAKE, .prompt = PROMPT_NONE, .object = OBJECT_DOCUMENT,
     .zone = "internet"},
    /* -- rule 3, credentials rejected (KB: NTFS rights, untrusted domain) */
    {.name = "NTLM type-3 still refused: credentials-rejected, user from the type-3",
     .status = 401, .url = "http://intranet/secure/doc.htm",
     .challenge = {"Negotiate", "NTLM"}, .authorization = hdr_ntlm_type3, .dest = "document",
     .body = "<h3>HTTP Error 401.1 - Unauthorized</h3>",
     .cause = CAUSE_CREDENTIALS_REJECTED, .prompt = PROMPT_REJECTED, .object = OBJECT_DOCUMENT,
     .zone = "intranet", .user = "CORP\\alice", .auth_sent = "ntlm", .substatus = "401.1",
     .hint_has = "refused the credentials of CORP\\alice"},
    {.name = "NTLMSSP inside Negotiate refused: auth_sent negotiate-ntlm",
     .status = 401, .url = "http://intranet/secure/doc.htm", .challenge = {"Negotiate"},
     .authorization = hdr_negotiate_ntlm3, .dest = "document",
     .cause = CAUSE_CREDENTIALS_REJECTED, .prompt = PROMPT_REJECTED, .object = OBJECT_DOCUMENT,
     .zone = "intranet", .user = "CORP\\alice", .auth_sent = "negotiate-ntlm"},
    {.name = "Basic credentials refused: user from Basic, never the password",
     .status = 401, .url = "http://intranet/secure/", .challenge = {"Basic realm=\"s\""},
     .authorization = "Basic Ym9iOnNlY3JldA==", .dest = "document",
     .body = "<h2>HTTP Error 401.3 - Unauthorized: Access is denied due to an ACL set on the requested resource.</h2>",
     .cause = CAUSE_CREDENTIALS_REJECTED, .prompt = PROMPT_REJECTED, .object = OBJECT_DOCUMENT,
     .zone = "intranet", .user = "bob", .auth_sent = "basic", .realm = "s",
     .substatus = "401.3"},
    {.name = "Basic credential without a colon gives no user",
     .status = 401, .url = "http://intranet/secure/", .challenge = {"Basic"},
     .authorization = "Basic anVzdGFwYXNzd29yZA==", .dest = "document",
     .cause = CAUSE_CREDENTIALS_REJECTED, .prompt = PROMPT_REJECTED, .object = OBJECT_DOCUMENT,
     .zone = "intranet", .auth_sent = "basic"},
    {.name = "Digest credentials refused: user from Digest username",
     .status = 401, .url = "http://intranet/secure/", .challenge = {"Digest realm=\"d\", nonce=\"n2\""},
     .authorization = "Digest username=\"carol\", realm=\"d\", nonce=\"n\", uri=\"/secure/\", response=\"0123\"",
     .dest = "document",
     .cause = CAUSE_CREDENTIALS_REJECTED, .prompt = PROMPT_REJECTED, .object = OBJECT_DOCUMENT,
     .zone = "intranet", .user = "carol", .auth_sent = "digest", .realm = "d"},
    {.name = "X-Authenticated-User wins over the type-3 identity",
     .status = 401, .url = "http://intranet/secure/doc.htm", .challenge = {"NTLM"},
     .authorization = hdr_ntlm_type3, .proxy_user = "proxyuser", .dest = "document",
     .cause = CAUSE_CREDENTIALS_REJECTED, .prompt = PROMPT_REJECTED, .object = OBJECT_DOCUMENT,
     .zone = "intranet", .user = "proxyuser", .auth_sent = "ntlm"},
    /* -- rule 1, proxy authentication */
    {.name = "407 offering NTLM: proxy-auth, silent",
     .status = 407, .url = "http://www.example.com/", .challenge = {"NTLM", "Basic realm=\"proxy\""},
     .dest = "document",
     .cause = CAUSE_PROXY_AUTH, .prompt = PROMPT_SILENT, .object = OBJECT_DOCUMENT,
     .zone = "internet", .auth_sent = "none", .realm = "proxy", .hint_has = "proxy chain"},
    {.name = "407 offering Basic only: proxy-auth, basic",
     .status = 407, .url = "http://www.example.com/", .challenge = {"Basic realm=\"proxy\""},
     .dest = "document",
     .cause = CAUSE_PROXY_AUTH, .prompt = PROMPT_BASIC, .object = OBJECT_DOCUMENT,
     .zone = "internet", .auth_sent = "none", .realm = "proxy", .hint_has = "Basic always prompts"},
    {.name = "407 with NTLM type-2 still proxy-auth (rule 1 first)",
     .status = 407, .url = "http://www.example.com/", .challenge = {hdr_ntlm_type2},
     .authorization = hdr_ntlm_type1, .dest = "document",
     .cause = CAUSE_PROXY_AUTH, .prompt = PROMPT_SILENT, .object = OBJECT_DOCUMENT,
     .zone = "internet", .auth_sent = "ntlm"},
    {.name = "userinfo in URL does not become the host",
     .status = 401, .url = "http://evil.example@intranet:8080/x.htm", .challenge = {"NTLM"},
     .dest = "document",
     .cause = CAUSE_PAGE_DENIED, .prompt = PROMPT_SILENT, .object = OBJECT_DOCUMENT,
     .zone = "intranet", .auth_sent = "none"},
};

/* ---- running a row ------------------------------------------------------ */

static struct zone_rules *listed_rules(void)
{
    char err[200];
    struct zone_rules *r = zone_rules_new();
    assert_non_null(r);
    assert_int_equal(zone_rules_add(r, "*.corp.example", err, sizeof err), 0);
    assert_int_equal(zone_rules_add(r, "10.9.0.0/16", err, sizeof err), 0);
    return r;
}

static void config_for(struct classify_config *cfg, const struct zone_rules *rules)
{
    memset(cfg, 0, sizeof *cfg);
    classify_config_default_handlers(cfg);
    cfg->intranet = rules;
}

static void input_for(const struct scenario *s, struct challenge_set *set, struct classify_input *in)
{
    challenge_set_init(set);
    for (size_t i = 0; i < MAX_HDRS && s->challenge[i] != NULL; i++)
        (void)challenge_parse(set, s->challenge[i], strlen(s->challenge[i]));
    memset(in, 0, sizeof *in);
    in->ts = 1795608000.5;
    in->client = "10.1.2.3";
    in->method = "GET";
    in->url = s->url;
    in->status = s->status;
    in->challenges = set;
    in->authorization = s->authorization;
    in->referer = s->referer;
    in->sec_fetch_dest = s->dest;
    in->accept = s->accept;
    in->proxy_user = s->proxy_user;
    in->html_parent = s->html_parent;
    in->html_object = s->html_object;
    in->body = s->body;
    in->body_len = s->body ? strlen(s->body) : 0;
}

static void field_is(const struct scenario *s, const char *field, const char *got, const char *want)
{
    const char *w = want ? want : "";
    const char *g = got ? got : "";
    if (strcmp(g, w) != 0)
        fail_msg("%s: %s is \"%s\", want \"%s\"", s->name, field, g, w);
}

static void run_scenario(const struct scenario *s, const struct classify_config *cfg)
{
    struct challenge_set set;
    struct classify_input in;
    struct event ev;

    input_for(s, &set, &in);
    if (classify(cfg, &in, &ev) != 1)
        fail_msg("%s: no event", s->name);
    /* The module decodes the tokens once and hands them in: same event. */
    struct classify_tokens tok;
    struct event again;
    classify_read_tokens(&in, &tok);
    in.tokens = &tok;
    if (classify(cfg, &in, &again) != 1 || memcmp(&ev, &again, sizeof ev) != 0)
        fail_msg("%s: tokens read once give another event", s->name);
    field_is(s, "cause", event_cause_name(ev.cause), event_cause_name(s->cause));
    field_is(s, "prompt", event_prompt_name(ev.prompt), event_prompt_name(s->prompt));
    field_is(s, "object", event_object_name(ev.object), event_object_name(s->object));
    field_is(s, "evidence", event_evidence_name(ev.evidence), event_evidence_name(s->evidence));
    field_is(s, "parent", ev.parent, s->parent);
    field_is(s, "zone", ev.zone, s->zone);
    field_is(s, "handler", ev.handler, s->handler);
    field_is(s, "user", ev.user, s->user);
    if (s->auth_sent != NULL)
        field_is(s, "auth_sent", ev.auth_sent, s->auth_sent);
    assert_non_null(ev.auth_sent);
    field_is(s, "realm", ev.realm, s->realm);
    field_is(s, "substatus", ev.substatus, s->substatus);
    assert_int_equal(ev.status, s->status);
    field_is(s, "url", ev.url, s->url);
    if (ev.hint[0] == '\0')
        fail_msg("%s: no hint", s->name);
    if (s->hint_has != NULL && strstr(ev.hint, s->hint_has) == NULL)
        fail_msg("%s: hint \"%s\" lacks \"%s\"", s->name, ev.hint, s->hint_has);
    /* schemes are reported in offered order */
    assert_int_equal(ev.scheme_count, set.count);
    for (size_t i = 0; i < set.count; i++) {
        const char *canon = challenge_scheme_name(set.items[i].scheme);
        field_is(s, "scheme", ev.schemes[i], canon ? canon : set.items[i].name);
    }
}

static void test_spec_scenario_table(void **state)
{
    (void)state;
    struct zone_rules *rules = listed_rules();
    struct classify_config plain, listed;
    config_for(&plain, NULL);
    config_for(&listed, rules);
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
        run_scenario(&scenarios[i], scenarios[i].listed ? &listed : &plain);
    zone_rules_free(rules);
}

/* ---- edges outside the table ------------------------------------------- */

static void test_non_401_407_statuses_give_no_event(void **state)
{
    (void)state;
    const int statuses[] = {200, 204, 302, 403, 404, 500, 0};
    struct classify_config cfg;
    struct challenge_set set;
    struct classify_input in;
    struct event ev;
    config_for(&cfg, NULL);
    input_for(&scenarios[0], &set, &in);
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        memset(&ev, 0x7f, sizeof ev);
        in.status = statuses[i];
        assert_int_equal(classify(&cfg, &in, &ev), 0);
        assert_int_equal(ev.status, 0x7f7f7f7f); /* untouched */
    }
}

static void test_malformed_challenge_still_gives_event(void **state)
{
    (void)state;
    struct classify_config cfg;
    struct challenge_set set;
    struct classify_input in;
    struct event ev;
    const char *bad = "Basic realm=\"unterminated, , ,=== NTLM \x01\xff";
    config_for(&cfg, NULL);
    challenge_set_init(&set);
    (void)challenge_parse(&set, bad, strlen(bad));
    memset(&in, 0, sizeof in);
    in.url = "http://intranet/x";
    in.status = 401;
    in.challenges = &set;
    assert_int_equal(classify(&cfg, &in, &ev), 1);
    assert_int_equal(ev.cause, CAUSE_PAGE_DENIED);
    assert_string_equal(ev.host, "intranet");
    char *line = event_format(&ev);
    assert_non_null(line);
    free(line);
}

static void test_everything_absent_still_classifies(void **state)
{
    (void)state;
    struct classify_config cfg;
    struct classify_input in;
    struct event ev;
    config_for(&cfg, NULL);
    memset(&in, 0, sizeof in);
    in.status = 401;
    assert_int_equal(classify(&cfg, &in, &ev), 1);
    assert_int_equal(ev.cause, CAUSE_PAGE_DENIED);
    assert_int_equal(ev.prompt, PROMPT_NONE);
    assert_null(ev.zone); /* no host, no zone */
    assert_string_equal(ev.auth_sent, "none");
}

static void run_user_mode(enum usernames_mode mode, const char *proxy_user, struct event *ev)
{
    struct classify_config cfg;
    struct challenge_set set;
    struct classify_input in;
    config_for(&cfg, NULL);
    cfg.usernames = mode;
    for (size_t i = 0; i < 32; i++)
        cfg.hash_key[i] = (unsigned char)i;
    cfg.hash_key_len = 32;
    challenge_set_init(&set);
    (void)challenge_parse(&set, "NTLM", 4);
    memset(&in, 0, sizeof in);
    in.url = "http://intranet/secure/doc.htm";
    in.status = 401;
    in.challenges = &set;
    in.authorization = hdr_ntlm_type3;
    in.proxy_user = proxy_user;
    assert_int_equal(classify(&cfg, &in, ev), 1);
}

static void test_usernames_hash_is_keyed_and_short(void **state)
{
    (void)state;
    struct event ev;
    /* Expected values computed independently with Python:
     * hmac.new(bytes(range(32)), b"CORP\\alice", hashlib.sha256).hexdigest()[:16] */
    run_user_mode(USERNAMES_HASH, NULL, &ev);
    assert_string_equal(ev.user, "h:1f5f66e7f0decb4e");
    assert_null(strstr(ev.hint, "alice")); /* the hint must not leak it either */
    run_user_mode(USERNAMES_HASH, "proxyuser", &ev);
    assert_string_equal(ev.user, "h:30f4be284156fcb3");
}

static void test_usernames_off_prints_null(void **state)
{
    (void)state;
    struct event ev;
    run_user_mode(USERNAMES_OFF, NULL, &ev);
    assert_string_equal(ev.user, "");
    assert_null(strstr(ev.hint, "alice"));
    run_user_mode(USERNAMES_LOG, NULL, &ev);
    assert_string_equal(ev.user, "CORP\\alice");
}

static void test_default_handlers_are_spec_list(void **state)
{
    (void)state;
    const char *want = ".shtml .shtm .stm .asp .aspx .asmx .ashx .dll .exe .cgi .pl .php";
    struct classify_config cfg;
    char got[256] = "";
    memset(&cfg, 0, sizeof cfg);
    classify_config_default_handlers(&cfg);
    for (size_t i = 0; i < cfg.handler_count; i++) {
        if (i > 0)
            strcat(got, " ");
        strcat(got, cfg.handlers[i]);
    }
    assert_string_equal(got, want);
}

static void test_host_of_url_forms(void **state)
{
    (void)state;
    char h[64];
    assert_int_equal(classify_host_of_url("http://User:pw@WWW.Example.COM:8080/a?b#c", h, sizeof h), 0);
    assert_string_equal(h, "www.example.com");
    assert_int_equal(classify_host_of_url("https://[2001:DB8::1]:443/", h, sizeof h), 0);
    assert_string_equal(h, "2001:db8::1");
    assert_int_equal(classify_host_of_url("http://intranet", h, sizeof h), 0);
    assert_string_equal(h, "intranet");
    assert_int_equal(classify_host_of_url("http://a@b@intranet/", h, sizeof h), 0);
    assert_string_equal(h, "intranet");
    assert_int_equal(classify_host_of_url("intranet:443", h, sizeof h), 0); /* CONNECT */
    assert_string_equal(h, "intranet");
    assert_int_equal(classify_host_of_url("/relative/path", h, sizeof h), -1);
    assert_int_equal(classify_host_of_url("http:///nohost", h, sizeof h), -1);
    assert_int_equal(classify_host_of_url("http://[::1/", h, sizeof h), -1);
    assert_int_equal(classify_host_of_url(NULL, h, sizeof h), -1);
    assert_int_equal(classify_host_of_url("http://www.example.com/", h, 4), -1);
}

/* A type-2 too long to decode on the stack (here padded to 6 KiB with
 * target info) is still a handshake step, judged by its first bytes, and the
 * tokens handed in are the ones classify uses. */
static void test_long_type2_and_given_tokens(void **state)
{
    (void)state;
    static uint8_t m[6144];
    static char hdr[8300];
    struct classify_config cfg;
    struct challenge_set set;
    struct classify_input in;
    struct classify_tokens tok;
    struct event ev;

    memset(m, 0, sizeof m);
    ntlm_header(m, 2);
    put32(m + 20, 0x00818205);
    secbuf(m, 40, sizeof m - 48, 48); /* target info: the rest, all MsvAvEOL padding */
    memcpy(hdr, "NTLM ", 5);
    b64(m, sizeof m, hdr + 5);
    config_for(&cfg, NULL);
    challenge_set_init(&set);
    assert_int_equal(challenge_parse(&set, hdr, strlen(hdr)), 0);
    memset(&in, 0, sizeof in);
    in.client = "10.1.2.3";
    in.method = "GET";
    in.url = "http://intranet/";
    in.status = 401;
    in.challenges = &set;
    in.authorization = hdr_ntlm_type1;
    assert_int_equal(classify(&cfg, &in, &ev), 1);
    assert_int_equal(ev.cause, CAUSE_HANDSHAKE);
    classify_read_tokens(&in, &tok);
    assert_true(tok.server.ntlm_challenge);
    assert_false(tok.server.has_type2); /* too long to read whole */
    assert_int_equal(tok.cred.ntlm_type, 1);

    /* Tokens that say no type-2 (as for a 407) make it a refusal instead. */
    memset(&tok.server, 0, sizeof tok.server);
    in.tokens = &tok;
    assert_int_equal(classify(&cfg, &in, &ev), 1);
    assert_int_equal(ev.cause, CAUSE_CREDENTIALS_REJECTED);
}

static void test_long_url_hint_is_truncated_safely(void **state)
{
    (void)state;
    static char url[EVENT_URL_MAX + 100];
    struct classify_config cfg;
    struct challenge_set set;
    struct classify_input in;
    struct event ev;
    strcpy(url, "http://intranet/");
    memset(url + 16, 'a', sizeof url - 17);
    url[sizeof url - 1] = '\0';
    config_for(&cfg, NULL);
    challenge_set_init(&set);
    memset(&in, 0, sizeof in);
    in.url = url;
    in.status = 401;
    in.challenges = &set;
    assert_int_equal(classify(&cfg, &in, &ev), 1);
    assert_int_equal(strlen(ev.url), EVENT_URL_MAX - 1);
    assert_true(strlen(ev.hint) < sizeof ev.hint);
    assert_non_null(strstr(ev.hint, "grant the anonymous account"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_scenario_table),
        cmocka_unit_test(test_non_401_407_statuses_give_no_event),
        cmocka_unit_test(test_malformed_challenge_still_gives_event),
        cmocka_unit_test(test_everything_absent_still_classifies),
        cmocka_unit_test(test_usernames_hash_is_keyed_and_short),
        cmocka_unit_test(test_usernames_off_prints_null),
        cmocka_unit_test(test_default_handlers_are_spec_list),
        cmocka_unit_test(test_host_of_url_forms),
        cmocka_unit_test(test_long_url_hint_is_truncated_safely),
        cmocka_unit_test(test_long_type2_and_given_tokens),
    };
    return cmocka_run_group_tests(tests, build_tokens, NULL);
}
