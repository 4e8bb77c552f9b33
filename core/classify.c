/* classify.c -- SPEC §2: name the cause of a 401/407 and the prompt it brings.
 *
 * One pure function of what the proxy saw, shared by the c-icap service and
 * the CLI probe so both always agree. It reads headers through the other core
 * parts (challenge, credentials, ntlm, zone, substatus) and fills a struct
 * event; nothing here allocates, and all work is O(header size + body slice).
 * Rules, first match wins: 407 proxy-auth; handshake step; credentials
 * rejected; then, for anonymous requests, embedded / handler / page denied,
 * with the prompt from the offered schemes and the host's zone. Why an
 * integrated logon was refused (SPEC §2a reason) is core/reason.c's job. */
#include "classify.h"

#include <nettle/hmac.h>
#include <nettle/sha2.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "browser.h"
#include "ntlm.h"
#include "reason.h"
#include "substatus.h"

static const char *const default_handlers[] = {
    ".shtml", ".shtm", ".stm", ".asp", ".aspx", ".asmx",
    ".ashx",  ".dll",  ".exe", ".cgi", ".pl",   ".php",
};

void classify_config_default_handlers(struct classify_config *cfg)
{
    size_t n = sizeof default_handlers / sizeof default_handlers[0];
    for (size_t i = 0; i < n; i++)
        cfg->handlers[i] = default_handlers[i];
    cfg->handler_count = n;
}

/* ---- small text helpers ------------------------------------------------- */

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* s without surrounding whitespace as (*p, *n); false when s is NULL or blank. */
static bool trimmed(const char *s, const char **p, size_t *n)
{
    if (s == NULL)
        return false;
    size_t len = strlen(s);
    while (len > 0 && is_ows(*s)) {
        s++;
        len--;
    }
    while (len > 0 && is_ows(s[len - 1]))
        len--;
    *p = s;
    *n = len;
    return len > 0;
}

static bool present(const char *s)
{
    const char *p;
    size_t n;
    return trimmed(s, &p, &n);
}

/* True when the trimmed header value s equals word, case-insensitively. */
static bool value_is(const char *s, const char *word)
{
    const char *p;
    size_t n;
    return trimmed(s, &p, &n) && n == strlen(word) && strncasecmp(p, word, n) == 0;
}

static void copy_text(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* Append to a hint; snprintf truncates safely and pos never passes cap. */
static void hint_add(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void hint_add(char *buf, size_t cap, const char *fmt, ...)
{
    size_t pos = strnlen(buf, cap);
    if (pos + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + pos, cap - pos, fmt, ap);
    va_end(ap);
}

/* ---- URLs --------------------------------------------------------------- */

/* Authority of url as (*p, *n), and the rest (path, query, fragment) at
 * *rest. A URL without "://" is taken as authority-form ("host:443", as in
 * CONNECT). Returns false when there is no authority. */
static bool url_authority(const char *url, const char **p, size_t *n, const char **rest)
{
    if (url == NULL)
        return false;
    const char *a = strstr(url, "://");
    const char *q = strpbrk(url, "/?#");
    if (a != NULL && (q == NULL || q >= a))
        a += 3;
    else if (url[0] != '/')
        a = url;
    else
        return false;
    size_t len = strcspn(a, "/?#");
    *p = a;
    *n = len;
    *rest = a + len;
    return len > 0;
}

int classify_host_of_url(const char *url, char *out, size_t cap)
{
    const char *a, *rest;
    size_t n;

    if (!url_authority(url, &a, &n, &rest))
        return -1;
    /* userinfo ends at the last '@' of the authority */
    for (size_t i = n; i > 0; i--) {
        if (a[i - 1] == '@') {
            a += i;
            n -= i;
            break;
        }
    }
    size_t hlen;
    if (n > 0 && a[0] == '[') {
        const char *close = memchr(a, ']', n);
        if (close == NULL)
            return -1;
        a++;
        hlen = (size_t)(close - a);
    } else {
        const char *colon = memchr(a, ':', n);
        hlen = colon ? (size_t)(colon - a) : n;
    }
    if (hlen == 0 || hlen >= cap)
        return -1;
    for (size_t i = 0; i < hlen; i++) {
        char c = a[i];
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    out[hlen] = '\0';
    return 0;
}

/* Path of url (without query and fragment) into out; "/" when empty. */
static void url_path(const char *url, char *out, size_t cap)
{
    const char *a, *rest;
    size_t n;

    if (!url_authority(url, &a, &n, &rest))
        rest = url ? url : "";
    size_t len = strcspn(rest, "?#");
    if (len == 0)
        snprintf(out, cap, "/");
    else
        snprintf(out, cap, "%.*s", (int)(len < cap ? len : cap - 1), rest);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The extension of one path segment (seg, n), percent-decoded the way IIS
 * decodes before it picks a script map ("default.%61sp" runs as .asp), into
 * out. Returns its length (0 when the segment has no '.'); longer extensions
 * than out can hold are cut, and then match no handler. */
static size_t segment_extension(const char *seg, size_t n, char *out, size_t cap)
{
    char dec[256];
    size_t d = 0;

    for (size_t i = 0; i < n && d < sizeof dec; i++) {
        int hi, lo;
        if (seg[i] == '%' && i + 2 < n &&
            (hi = hexval(seg[i + 1])) >= 0 && (lo = hexval(seg[i + 2])) >= 0) {
            dec[d++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            dec[d++] = seg[i];
        }
    }
    const char *dot = NULL;
    for (size_t i = 0; i < d; i++)
        if (dec[i] == '.')
            dot = dec + i;
    if (dot == NULL)
        return 0;
    size_t elen = (size_t)(dec + d - dot);
    if (elen >= cap)
        elen = cap - 1;
    memcpy(out, dot, elen);
    out[elen] = '\0';
    return elen;
}

/* The handler extension of path, if one of cfg's. Each segment is tried left
 * to right, because IIS runs "/x.asp/more" through the .asp handler (the rest
 * is PATH_INFO). Returns the configured spelling, or NULL. */
static const char *handler_of_path(const struct classify_config *cfg, const char *path)
{
    const char *seg = path;
    char ext[64];

    while (*seg != '\0') {
        while (*seg == '/')
            seg++;
        size_t len = strcspn(seg, "/;");
        size_t elen = segment_extension(seg, len, ext, sizeof ext);
        for (size_t h = 0; elen > 0 && h < cfg->handler_count; h++) {
            const char *want = cfg->handlers[h];
            if (want != NULL && strlen(want) == elen && strncasecmp(want, ext, elen) == 0)
                return want;
        }
        seg += len;
        if (*seg == ';') /* path parameters run to the next '/' */
            seg += strcspn(seg, "/");
    }
    return NULL;
}

/* ---- request evidence --------------------------------------------------- */

/* RFC 9110 §12.4.2 qvalue ("0", "0.8", "1.000") from p (n bytes, may run on
 * into other parameters). Parsed by hand: strtod follows the locale, and
 * c-icap may run under one with a decimal comma. Unreadable gives 0. */
static double parse_qvalue(const char *p, size_t n)
{
    if (n == 0 || (p[0] != '0' && p[0] != '1'))
        return 0;
    double q = p[0] - '0', scale = 0.1;
    if (n > 1 && p[1] == '.') {
        for (size_t i = 2; i < n && i < 5 && p[i] >= '0' && p[i] <= '9'; i++) {
            q += (p[i] - '0') * scale;
            scale /= 10;
        }
    }
    return q > 1 ? 1 : q;
}

/* True when the Accept header ranks text/html (or XHTML) at least as high as
 * anything else it names: what browsers send for navigations. */
static bool accept_prefers_html(const char *accept)
{
    double best = 0, html = -1;
    const char *p = accept;

    if (accept == NULL)
        return false;
    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        const char *end = p + len;
        while (p < end && is_ows(*p))
            p++;
        size_t tlen = strcspn(p, ";,");
        if (p + tlen > end)
            tlen = (size_t)(end - p);
        while (tlen > 0 && is_ows(p[tlen - 1]))
            tlen--;
        double q = 1.0;
        const char *qp = p + tlen;
        while (qp < end) {
            qp++;
            while (qp < end && is_ows(*qp))
                qp++;
            if (end - qp >= 2 && (qp[0] == 'q' || qp[0] == 'Q') && qp[1] == '=')
                q = parse_qvalue(qp + 2, (size_t)(end - qp - 2));
            qp += strcspn(qp, ";,");
            if (qp > end)
                qp = end;
        }
        if (tlen == 0) { /* empty list element: ignore */
            p = *end ? end + 1 : end;
            continue;
        }
        if (q > best)
            best = q;
        if (q > 0 && ((tlen == 9 && strncasecmp(p, "text/html", 9) == 0) ||
                      (tlen == 21 && strncasecmp(p, "application/xhtml+xml", 21) == 0)))
            if (q > html)
                html = q;
        p = *end ? end + 1 : end;
    }
    return html > 0 && html >= best;
}

/* Object type from Sec-Fetch-Dest (fetch spec destinations); UNKNOWN when absent. */
static enum event_object object_of_dest(const char *dest)
{
    static const struct {
        const char *dest;
        enum event_object object;
    } map[] = {
        {"document", OBJECT_DOCUMENT}, {"image", OBJECT_IMAGE},     {"script", OBJECT_SCRIPT},
        {"worker", OBJECT_SCRIPT},     {"sharedworker", OBJECT_SCRIPT},
        {"serviceworker", OBJECT_SCRIPT}, {"audioworklet", OBJECT_SCRIPT},
        {"paintworklet", OBJECT_SCRIPT},  {"style", OBJECT_STYLE},  {"iframe", OBJECT_FRAME},
        {"frame", OBJECT_FRAME},       {"fencedframe", OBJECT_FRAME}, {"audio", OBJECT_MEDIA},
        {"video", OBJECT_MEDIA},       {"track", OBJECT_MEDIA},     {"font", OBJECT_FONT},
        {"object", OBJECT_OBJECT},     {"embed", OBJECT_OBJECT},
    };
    if (!present(dest))
        return OBJECT_UNKNOWN;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (value_is(dest, map[i].dest))
            return map[i].object;
    return OBJECT_OTHER; /* "empty", "report", "manifest", ... */
}

/* Object type from the first media range of Accept. */
static enum event_object object_of_accept(const char *accept)
{
    const char *p;
    size_t n;
    if (!trimmed(accept, &p, &n))
        return OBJECT_OTHER;
    if (n >= 6 && strncasecmp(p, "image/", 6) == 0)
        return OBJECT_IMAGE;
    if (n >= 8 && strncasecmp(p, "text/css", 8) == 0 && (n == 8 || strchr(",; \t", p[8])))
        return OBJECT_STYLE;
    if (accept_prefers_html(accept))
        return OBJECT_DOCUMENT;
    return OBJECT_OTHER;
}

/* Fill parent, evidence and object; return true when the request is a
 * navigation (top-level or the user's own request, not a subresource).
 * Sec-Fetch-Dest "document" is a navigation even when a scanned page embeds
 * the same URL: the browser says so, and a user may open an image directly. */
static bool find_parent(const struct classify_input *in, struct event *ev)
{
    bool has_dest = present(in->sec_fetch_dest);
    bool dest_document = value_is(in->sec_fetch_dest, "document");
    bool navigation;

    if (has_dest)
        navigation = dest_document;
    else if (present(in->html_parent))
        navigation = false;
    else
        navigation = accept_prefers_html(in->accept);

    if (!navigation) {
        if (present(in->html_parent)) {
            copy_text(ev->parent, sizeof ev->parent, in->html_parent);
            ev->evidence = EVIDENCE_HTML;
        } else if (present(in->referer)) {
            copy_text(ev->parent, sizeof ev->parent, in->referer);
            ev->evidence = has_dest ? EVIDENCE_FETCH_METADATA : EVIDENCE_REFERER;
        }
    }

    if (ev->evidence == EVIDENCE_HTML && in->html_object != OBJECT_UNKNOWN)
        ev->object = in->html_object;
    else if (has_dest)
        ev->object = object_of_dest(in->sec_fetch_dest);
    else
        ev->object = object_of_accept(in->accept);
    return navigation;
}

/* ---- challenges and credentials ----------------------------------------- */

/* SPEC §2 rule 2. A Negotiate token that ends the handshake (a KRB-ERROR,
 * negState reject) sent to a request with credentials is not a step but a
 * refusal (rule 3): negotiate_refused says so, and then only an NTLM type-2
 * still makes this a handshake. */
static bool is_handshake(const struct challenge_set *set, const struct reason_server *server,
                         bool negotiate_refused)
{
    if (server->ntlm_challenge)
        return true;
    for (size_t i = 0; set != NULL && i < set->count && !negotiate_refused; i++) {
        const struct challenge *c = &set->items[i];
        if (c->scheme == SCHEME_NEGOTIATE && c->token != NULL && c->token_len > 0)
            return true;
    }
    return false;
}

static bool offers_integrated(const struct challenge_set *set)
{
    return set != NULL &&
           (challenge_offers(set, SCHEME_NEGOTIATE) || challenge_offers(set, SCHEME_NTLM));
}

/* Prompt for the offered schemes: integrated logs on silently where the
 * browser allows it (intranet, or any proxy), else Digest/Basic prompt. */
static enum event_prompt prompt_of(const struct challenge_set *set, bool integrated_silent)
{
    if (set == NULL)
        return PROMPT_NONE;
    if (offers_integrated(set))
        return integrated_silent ? PROMPT_SILENT : PROMPT_NOT_INTRANET;
    if (challenge_offers(set, SCHEME_DIGEST))
        return PROMPT_DIGEST;
    if (challenge_offers(set, SCHEME_BASIC))
        return PROMPT_BASIC;
    return PROMPT_NONE;
}

static void fill_schemes(const struct challenge_set *set, struct event *ev)
{
    for (size_t i = 0; set != NULL && i < set->count && i < CHALLENGE_MAX; i++) {
        const struct challenge *c = &set->items[i];
        const char *name = challenge_scheme_name(c->scheme);
        ev->schemes[ev->scheme_count++] = name ? name : c->name;
        if (ev->realm[0] == '\0' && c->has_realm && c->realm[0] != '\0')
            copy_text(ev->realm, sizeof ev->realm, c->realm);
    }
}

/* "h:" and the first 16 hex digits of HMAC-SHA256(key, user): stable per
 * user and key, so storms per user still show, but not reversible without
 * the key (a plain hash of a user name is, by dictionary). */
static void hash_user(const struct classify_config *cfg, char *user, size_t cap)
{
    struct hmac_sha256_ctx ctx;
    uint8_t digest[SHA256_DIGEST_SIZE];
    char out[2 + 16 + 1];

    hmac_sha256_set_key(&ctx, cfg->hash_key_len, cfg->hash_key);
    hmac_sha256_update(&ctx, strlen(user), (const uint8_t *)user);
    hmac_sha256_digest(&ctx, sizeof digest, digest);
    out[0] = 'h';
    out[1] = ':';
    for (size_t i = 0; i < 8; i++)
        snprintf(out + 2 + 2 * i, 3, "%02x", digest[i]);
    copy_text(user, cap, out);
}

static void fill_user(const struct classify_config *cfg, const struct classify_input *in,
                      const struct credentials *cred, struct event *ev)
{
    const char *p;
    size_t n;

    if (trimmed(in->proxy_user, &p, &n))
        snprintf(ev->user, sizeof ev->user, "%.*s", (int)n, p);
    else
        copy_text(ev->user, sizeof ev->user, cred->user);
    if (ev->user[0] == '\0')
        return;
    if (cfg->usernames == USERNAMES_OFF)
        ev->user[0] = '\0';
    else if (cfg->usernames == USERNAMES_HASH)
        hash_user(cfg, ev->user, sizeof ev->user);
}

/* ---- hints -------------------------------------------------------------- */

static void hint_for_prompt(const struct event *ev, char *hint, size_t cap)
{
    switch (ev->prompt) {
    case PROMPT_BASIC:
        hint_add(hint, cap, "; only Basic is offered, and Basic always prompts");
        break;
    case PROMPT_DIGEST:
        hint_add(hint, cap, "; only Digest/Basic is offered, and they always prompt");
        break;
    case PROMPT_NOT_INTRANET:
        hint_add(hint, cap,
                 "; %s %s so browsers put it in the Internet zone: add %s to the "
                 "browsers' Local intranet zone (and to promptcause.IntranetHosts) or use a "
                 "dotless name",
                 ev->host,
                 zone_is_ip_literal(ev->host, strlen(ev->host)) ? "is an IP address"
                                                                : "has periods",
                 ev->host);
        break;
    case PROMPT_SUPPRESSED:
        hint_add(hint, cap,
                 "; the browser will not prompt for a cross-site image, the image just fails");
        break;
    case PROMPT_SILENT:
        hint_add(hint, cap, "; integrated logon is silent here, a prompt means it failed");
        break;
    case PROMPT_NOT_ALLOWLISTED:
        break; /* browser_hint() names the browser and its policy */
    case PROMPT_NONE:
    case PROMPT_REJECTED:
        break;
    }
}

/* reason_hint: SPEC §2a's hint for ev->reason ("" when none). */
static void build_hint(const struct event *ev, const char *path, const char *reason_hint,
                       char *hint, size_t cap)
{
    hint[0] = '\0';
    switch (ev->cause) {
    case CAUSE_PAGE_DENIED:
        hint_add(hint, cap,
                 "grant the anonymous account read access to %s or enable anonymous access for it",
                 path);
        break;
    case CAUSE_EMBEDDED_DENIED:
        hint_add(hint, cap,
                 "grant the anonymous account read access to %s or move it out of the "
                 "protected folder (embedded in %s)",
                 path, ev->parent);
        if (ev->handler[0] != '\0')
            hint_add(hint, cap, "; it runs through the %s handler, which also needs anonymous access",
                     ev->handler);
        break;
    case CAUSE_HANDLER_DENIED:
        hint_add(hint, cap,
                 "grant the anonymous account access to the %s handler (script map / ISAPI "
                 "extension) or disable integrated auth on it",
                 ev->handler);
        break;
    case CAUSE_CREDENTIALS_REJECTED:
        if (reason_hint[0] != '\0')
            hint_add(hint, cap, "the server refused the credentials of %s: %s",
                     ev->user[0] ? ev->user : "the user", reason_hint);
        else
            hint_add(hint, cap,
                     "the server refused the credentials of %s: check NTFS rights / account / "
                     "trusted domain",
                     ev->user[0] ? ev->user : "the user");
        break;
    case CAUSE_HANDSHAKE:
        if (reason_hint[0] != '\0')
            hint_add(hint, cap, "%s", reason_hint);
        else
            hint_add(hint, cap, "normal NTLM/Negotiate handshake step; no action");
        return;
    case CAUSE_PROXY_AUTH:
        hint_add(hint, cap, "the proxy chain asks for credentials");
        if (ev->prompt == PROMPT_SILENT)
            hint_add(hint, cap, "; browsers answer integrated proxy auth by themselves");
        break;
    case CAUSE_NONE:
        return;
    }
    hint_for_prompt(ev, hint, cap);
}

/* ---- SPEC §2b: per-browser automatic logon and dialogs ------------------
 * docs/BROWSERS.md cites the browsers' code for every rule here. */

/* Will this browser log on to host by itself for an integrated scheme?
 * - Chromium on Windows (URLSecurityManagerWin): AuthServerAllowlist alone
 *   once it is set, else the zone policy (Local intranet logs on);
 * - Chromium elsewhere (URLSecurityManagerAllowlist): only allowlisted hosts,
 *   and only by Negotiate: its portable NTLM never uses default credentials;
 * - Firefox: trusted-uris only (allow-non-fqdn is off by default);
 * - IE, legacy Edge, Safari, anything on iOS, unknown: the KB's zone rule. */
static enum event_prompt integrated_prompt(const struct classify_config *cfg,
                                           const struct browser *b,
                                           const struct challenge_set *set, const char *host,
                                           bool intranet)
{
    bool listed = host[0] != '\0' && zone_is_listed(cfg->allowlist, host, strlen(host));
    bool have_list = cfg->allowlist != NULL && zone_rules_count(cfg->allowlist) > 0;

    if (browser_is_chromium(b)) {
        if (b->os == BROWSER_OS_WINDOWS) {
            if (have_list)
                return listed ? PROMPT_SILENT : PROMPT_NOT_ALLOWLISTED;
            return intranet ? PROMPT_SILENT : PROMPT_NOT_INTRANET;
        }
        return listed && challenge_offers(set, SCHEME_NEGOTIATE) ? PROMPT_SILENT
                                                                 : PROMPT_NOT_ALLOWLISTED;
    }
    if (browser_is_gecko(b))
        return listed ? PROMPT_SILENT : PROMPT_NOT_ALLOWLISTED;
    return intranet ? PROMPT_SILENT : PROMPT_NOT_INTRANET;
}

/* SPEC §2 rule 4 prompt for an anonymous request, per browser. */
static enum event_prompt anonymous_prompt(const struct classify_config *cfg,
                                          const struct browser *b,
                                          const struct challenge_set *set, const char *host,
                                          bool intranet)
{
    if (offers_integrated(set))
        return integrated_prompt(cfg, b, set, host, intranet);
    return prompt_of(set, false);
}

/* Origin of url as "scheme://host:port" (default port filled in) into out.
 * Returns 0, or -1 when url has no scheme or host, or out is too small. */
static int origin_of(const char *url, char *out, size_t cap)
{
    char host[EVENT_SHORT_MAX];
    const char *a, *rest;
    size_t n;

    if (url == NULL || classify_host_of_url(url, host, sizeof host) != 0 ||
        !url_authority(url, &a, &n, &rest))
        return -1;
    const char *sep = strstr(url, "://");
    if (sep == NULL || sep == url || (size_t)(sep - url) > 16)
        return -1;
    char scheme[17];
    size_t sl = (size_t)(sep - url);
    for (size_t i = 0; i < sl; i++)
        scheme[i] = (url[i] >= 'A' && url[i] <= 'Z') ? (char)(url[i] - 'A' + 'a') : url[i];
    scheme[sl] = '\0';
    /* the port follows the host: after "]" for IPv6, else the last ':' */
    const char *port = NULL;
    size_t pl = 0;
    const char *end = a + n;
    const char *h = memchr(a, ']', n);
    const char *from = h != NULL ? h : a;
    for (const char *q = end; q > from; q--) {
        if (q[-1] == ':') {
            port = q;
            pl = (size_t)(end - q);
            break;
        }
        if (q[-1] == '@')
            break;
    }
    const char *dflt = strcmp(scheme, "https") == 0 ? "443" : strcmp(scheme, "http") == 0 ? "80" : "";
    int w = port != NULL && pl > 0
                ? snprintf(out, cap, "%s://%s:%.*s", scheme, host, (int)pl, port)
                : snprintf(out, cap, "%s://%s:%s", scheme, host, dflt);
    return w < 0 || (size_t)w >= cap ? -1 : 0;
}

/* True when both origins can be read and differ (Firefox's mCrossOrigin). */
static bool cross_origin(const char *url, const char *parent)
{
    char o1[EVENT_URL_MAX], o2[EVENT_URL_MAX];
    if (origin_of(url, o1, sizeof o1) != 0 || origin_of(parent, o2, sizeof o2) != 0)
        return false;
    return strcmp(o1, o2) != 0;
}

static bool scheme_is(const char *url, const char *scheme)
{
    size_t n = strlen(scheme);
    return url != NULL && strncasecmp(url, scheme, n) == 0 && strncmp(url + n, "://", 3) == 0;
}

/* Chromium's IsBannedCrossSiteAuth also bans a same-site image that is
 * mixed content: an https page, an http image on a host that is not
 * potentially trustworthy (localhost and loopback are). */
static bool mixed_content(const char *url, const char *host, const char *parent)
{
    if (!scheme_is(parent, "https") || !scheme_is(url, "http"))
        return false;
    size_t n = strlen(host);
    bool loopback = strcmp(host, "localhost") == 0 ||
                    (n > 10 && strcmp(host + n - 10, ".localhost") == 0) ||
                    strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0;
    return !loopback;
}

static bool cross_site(const char *host, const char *parent);

/* Would this browser refuse to show the auth dialog for this embedded
 * object? Chromium: images (not favicons) of another site, or mixed
 * content. Firefox (network.auth.subresource-http-auth-allow 2 with
 * subresource-img-cross-origin-http-auth-allow false): images of another
 * origin. Others: the §2 cross-site image rule. */
static bool dialog_blocked(const struct browser *b, const struct event *ev)
{
    if (ev->object != OBJECT_IMAGE)
        return false;
    if (browser_is_gecko(b))
        return cross_origin(ev->url, ev->parent);
    if (browser_is_chromium(b))
        return cross_site(ev->host, ev->parent) || mixed_content(ev->url, ev->host, ev->parent);
    return cross_site(ev->host, ev->parent);
}

static bool is_dialog(enum event_prompt p)
{
    return p == PROMPT_BASIC || p == PROMPT_DIGEST || p == PROMPT_NOT_INTRANET ||
           p == PROMPT_NOT_ALLOWLISTED;
}

/* Append the browser's part of the hint: which browser, and which policy to
 * change so that it logs on by itself. */
static void browser_hint(const struct browser *b, const struct event *ev,
                         const struct challenge_set *set, char *hint, size_t cap)
{
    bool negotiate = set != NULL && challenge_offers(set, SCHEME_NEGOTIATE);
    bool other_box = set != NULL && (challenge_offers(set, SCHEME_NTLM) ||
                                     challenge_offers(set, SCHEME_BASIC) ||
                                     challenge_offers(set, SCHEME_DIGEST));

    if (ev->prompt == PROMPT_NOT_ALLOWLISTED && browser_is_chromium(b)) {
        if (b->os == BROWSER_OS_WINDOWS)
            hint_add(hint, cap,
                     "; %s uses only the AuthServerAllowlist policy once it is set (the Local "
                     "intranet zone no longer counts): add %s to it and to promptcause.AuthAllowlist",
                     ev->browser, ev->host);
        else if (!negotiate)
            hint_add(hint, cap,
                     "; %s never logs on by itself with NTLM outside Windows, it always asks: "
                     "offer Negotiate (Kerberos) and add %s to the AuthServerAllowlist policy",
                     ev->browser, ev->host);
        else
            hint_add(hint, cap,
                     "; %s logs on by itself only to hosts in the AuthServerAllowlist policy "
                     "(unset means none): add %s to it and to promptcause.AuthAllowlist",
                     ev->browser, ev->host);
    } else if (ev->prompt == PROMPT_NOT_ALLOWLISTED && browser_is_gecko(b)) {
        hint_add(hint, cap,
                 "; %s logs on by itself only to hosts in network.negotiate-auth.trusted-uris "
                 "(Negotiate) and network.automatic-ntlm-auth.trusted-uris (NTLM): add %s to them "
                 "and to promptcause.AuthAllowlist%s",
                 ev->browser, ev->host,
                 strchr(ev->host, '.') == NULL && !zone_is_ip_literal(ev->host, strlen(ev->host))
                     ? " (a dotless name also needs network.negotiate-auth.allow-non-fqdn)"
                     : "");
    } else if (ev->prompt == PROMPT_NOT_INTRANET && browser_is_chromium(b)) {
        hint_add(hint, cap, "; %s follows the Windows zones, or the AuthServerAllowlist policy when it is set",
                 ev->browser);
    } else {
        return;
    }
    if (ev->prompt == PROMPT_NOT_ALLOWLISTED && negotiate && !other_box)
        hint_add(hint, cap, "; with Negotiate alone the browser shows the 401 page, no box");
}

/* ---- classify ----------------------------------------------------------- */

/* True when url's host and parent's host are different sites (registrable
 * domains). False when either cannot be read: we override a prompt only when
 * we know. */
static bool cross_site(const char *host, const char *parent)
{
    char phost[EVENT_SHORT_MAX], s1[EVENT_SHORT_MAX], s2[EVENT_SHORT_MAX];

    if (host[0] == '\0' || classify_host_of_url(parent, phost, sizeof phost) != 0)
        return false;
    if (zone_site_of(host, strlen(host), s1, sizeof s1) != 0 ||
        zone_site_of(phost, strlen(phost), s2, sizeof s2) != 0)
        return false;
    return strcmp(s1, s2) != 0;
}

void classify_read_tokens(const struct classify_input *in, struct classify_tokens *out)
{
    const char *auth;
    size_t auth_len;
    bool has_auth = trimmed(in->authorization, &auth, &auth_len);

    /* A malformed value still names its scheme; the classification does not
     * depend on the identity, so the return value only matters to logs. */
    (void)credentials_inspect(has_auth ? auth : NULL, has_auth ? auth_len : 0, &out->cred);
    /* SPEC §2a: the server's side of the handshake. */
    if (in->status == 401)
        reason_read_server(in->challenges, &out->server);
    else
        memset(&out->server, 0, sizeof out->server);
}

int classify(const struct classify_config *cfg, const struct classify_input *in, struct event *ev)
{
    struct classify_tokens own;
    char path[EVENT_URL_MAX];

    if (in->status != 401 && in->status != 407)
        return 0;

    memset(ev, 0, sizeof *ev);
    ev->ts = in->ts;
    ev->status = in->status;
    copy_text(ev->client, sizeof ev->client, in->client);
    copy_text(ev->method, sizeof ev->method, in->method);
    copy_text(ev->url, sizeof ev->url, in->url);
    /* SPEC §3 connection: the client connection as Squid reports it (§7). */
    copy_text(ev->connection, sizeof ev->connection, in->client_connection);
    if (classify_host_of_url(in->url, ev->host, sizeof ev->host) != 0)
        ev->host[0] = '\0';
    url_path(in->url, path, sizeof path);

    struct browser br;
    browser_detect(in->user_agent, in->user_agent ? strlen(in->user_agent) : 0,
                   in->sec_ch_ua_platform,
                   in->sec_ch_ua_platform ? strlen(in->sec_ch_ua_platform) : 0, &br);
    (void)browser_format(&br, ev->browser, sizeof ev->browser);

    bool intranet = false;
    if (ev->host[0] != '\0') {
        intranet = zone_is_intranet(cfg->intranet, ev->host, strlen(ev->host));
        ev->zone = intranet ? "intranet" : "internet";
    }

    fill_schemes(in->challenges, ev);

    const struct classify_tokens *tok = in->tokens;
    if (tok == NULL) {
        classify_read_tokens(in, &own);
        tok = &own;
    }
    /* credentials_inspect names a scheme (OTHER at worst) for any value
     * that is not blank */
    bool has_auth = tok->cred.sent != AUTH_SENT_NONE;
    ev->auth_sent = credentials_sent_name(tok->cred.sent);
    fill_user(cfg, in, &tok->cred, ev);

    char sub[SUBSTATUS_MAX];
    if (in->body != NULL && substatus_find(in->body, in->body_len, sub) == 1)
        copy_text(ev->substatus, sizeof ev->substatus, sub);

    bool navigation = find_parent(in, ev);

    if (in->status == 407) {
        ev->cause = CAUSE_PROXY_AUTH;
        ev->prompt = prompt_of(in->challenges, true);
    } else if (is_handshake(in->challenges, &tok->server, has_auth && reason_server_refused(&tok->server))) {
        ev->cause = CAUSE_HANDSHAKE;
        ev->prompt = PROMPT_NONE;
    } else if (has_auth) {
        ev->cause = CAUSE_CREDENTIALS_REJECTED;
        ev->prompt = PROMPT_REJECTED;
    } else {
        const char *handler = handler_of_path(cfg, path);
        bool embedded = ev->parent[0] != '\0' && !navigation;
        if (embedded)
            ev->cause = CAUSE_EMBEDDED_DENIED;
        else if (handler != NULL)
            ev->cause = CAUSE_HANDLER_DENIED;
        else
            ev->cause = CAUSE_PAGE_DENIED;
        if (handler != NULL)
            copy_text(ev->handler, sizeof ev->handler, handler);
        ev->prompt = anonymous_prompt(cfg, &br, in->challenges, ev->host, intranet);
        /* Browsers refuse to show an auth dialog for some embedded objects
         * (dialog_blocked); only a would-be dialog turns into "suppressed"
         * (silent logon and "none" stay what they are). */
        if (embedded && is_dialog(ev->prompt) && dialog_blocked(&br, ev))
            ev->prompt = PROMPT_SUPPRESSED;
    }
    struct reason_result why;
    memset(&why, 0, sizeof why);
    if (ev->cause == CAUSE_CREDENTIALS_REJECTED || ev->cause == CAUSE_HANDSHAKE) {
        struct reason_input rin = {
            .cred = &tok->cred,
            .server = &tok->server,
            .handshake = in->handshake,
            .url = in->url,
            .host = ev->host,
            .names_ok = cfg->usernames == USERNAMES_LOG,
        };
        if (ev->cause == CAUSE_CREDENTIALS_REJECTED)
            reason_diagnose(&rin, &why);
        else
            reason_diagnose_handshake(&rin, &why);
        ev->reason = why.reason;
        copy_text(ev->server_domain, sizeof ev->server_domain, why.server_domain);
        copy_text(ev->spn, sizeof ev->spn, why.spn);
        copy_text(ev->krb_error, sizeof ev->krb_error, why.krb_error);
    }
    build_hint(ev, path, why.hint, ev->hint, sizeof ev->hint);
    if (ev->cause != CAUSE_HANDSHAKE)
        browser_hint(&br, ev, in->challenges, ev->hint, sizeof ev->hint);
    return 1;
}
