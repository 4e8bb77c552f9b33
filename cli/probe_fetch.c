/* probe_fetch.c -- the libcurl side of `promptcause probe`.
 *
 * Requests are shaped the way a browser without credentials would send them
 * (Accept, Sec-Fetch-Dest/Mode/Site, Referer per object type) so the server
 * answers the probe as it answers a user. Credentials are never sent: no
 * CURLOPT_USERPWD, no .netrc, URLs with user info refused at redirects
 * (probe.c strips it before), no cookie engine, and authentication is never
 * "unrestricted" across hosts. Objects go through one curl multi handle with
 * at most --jobs transfers in flight; each transfer has its own timeout and
 * the whole page a deadline.
 *
 * HEAD first, GET when HEAD gives 400, 401, 405, 407 or 501: servers that
 * refuse HEAD answer 405/501 (or 400), and a 401/407 is fetched again with
 * GET because that is what the browser sends -- the challenge of a GET is the
 * one that counts, and its body carries the IIS substatus. Costs one extra
 * request per 401; 401s are few. GET bodies are read up to PROBE_BODY_KEEP
 * bytes and then the transfer is cut, so a video is not downloaded. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "probe.h"
#include "zone.h"
#include "classify.h"

#define PROBE_USER_AGENT "Mozilla/5.0 (compatible; promptcause-probe)"
#define PROBE_MAX_REDIRS 10L

/* One transfer in flight. */
struct xfer {
    struct probe_item *it;
    CURL *h;
    struct curl_slist *req;  /* request headers */
    int head;                /* 1 while the HEAD attempt runs */
    int cut;                 /* 1 when we stopped reading the body ourselves */
    int oom;
    probe_body_cb *body;     /* page only */
    void *body_ctx;
    size_t html_seen;
    long timeout_ms;
    int clamped;             /* timeout_ms is what was left of --max-time */
    char errbuf[CURL_ERROR_SIZE];
};

long long probe_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int probe_fetch_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fputs("promptcause probe: libcurl initialisation failed\n", stderr);
        return -1;
    }
    return 0;
}

void probe_fetch_cleanup(void)
{
    curl_global_cleanup();
}

void probe_item_clear(struct probe_item *it)
{
    free(it->effective_url);
    free(it->headers);
    free(it->body);
    it->effective_url = it->headers = it->body = NULL;
    it->headers_len = it->body_len = 0;
    it->status = 0;
    it->state = PROBE_PENDING;
    it->used_get = 0;
    it->error[0] = '\0';
}

const char *probe_header_next(const struct probe_item *it, const char *pos)
{
    if (it->headers == NULL)
        return NULL;
    const char *p = pos == NULL ? it->headers : pos + strlen(pos) + 1;
    return p < it->headers + it->headers_len ? p : NULL;
}

/* ---- callbacks ---------------------------------------------------------- */

/* Keep the header lines of the last response only: a status line starts a
 * new response (redirect hop, 100 Continue, CONNECT), so it resets what was
 * kept. Lines past PROBE_HEADERS_MAX are dropped. */
static size_t on_header(char *p, size_t size, size_t nitems, void *arg)
{
    struct xfer *x = arg;
    struct probe_item *it = x->it;
    size_t n = size * nitems;
    size_t len = n;
    while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
        len--;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        it->headers_len = 0;
        it->body_len = 0;
    }
    if (len == 0 || it->headers_len + len + 1 > PROBE_HEADERS_MAX)
        return n;
    if (it->headers == NULL) {
        it->headers = malloc(PROBE_HEADERS_MAX);
        if (it->headers == NULL) {
            x->oom = 1;
            return 0;
        }
    }
    memcpy(it->headers + it->headers_len, p, len);
    it->headers[it->headers_len + len] = '\0';
    it->headers_len += len + 1;
    return n;
}

/* Keep the first PROBE_BODY_KEEP bytes of the body; hand a 2xx page body to
 * the scanner up to PROBE_HTML_MAX. Returning less than n cuts the transfer
 * (x->cut says it was on purpose). */
static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
    struct xfer *x = arg;
    struct probe_item *it = x->it;
    size_t n = size * nmemb;
    long code = 0;

    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
    if (it->body_len < PROBE_BODY_KEEP) {
        if (it->body == NULL) {
            it->body = malloc(PROBE_BODY_KEEP);
            if (it->body == NULL) {
                x->oom = 1;
                return 0;
            }
        }
        size_t take = n < PROBE_BODY_KEEP - it->body_len ? n : PROBE_BODY_KEEP - it->body_len;
        memcpy(it->body + it->body_len, p, take);
        it->body_len += take;
    }
    if (x->body != NULL && code >= 200 && code < 300) {
        size_t take = n < PROBE_HTML_MAX - x->html_seen ? n : PROBE_HTML_MAX - x->html_seen;
        char *eff = NULL;
        curl_easy_getinfo(x->h, CURLINFO_EFFECTIVE_URL, &eff);
        x->body(x->body_ctx, eff != NULL ? eff : it->url, p, take);
        x->html_seen += take;
        if (x->html_seen < PROBE_HTML_MAX)
            return n;
    } else if (it->body_len < PROBE_BODY_KEEP) {
        return n;
    }
    x->cut = 1;
    return 0;
}

/* ---- request set-up ----------------------------------------------------- */

void probe_browser_headers(enum event_object type, const char **accept, const char **dest,
                            const char **mode)
{
    *mode = "no-cors";
    *accept = "*/*";
    switch (type) {
    case OBJECT_DOCUMENT:
        *accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        *dest = "document";
        *mode = "navigate";
        break;
    case OBJECT_FRAME:
        *accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        *dest = "iframe";
        *mode = "navigate";
        break;
    case OBJECT_IMAGE:
        *accept = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";
        *dest = "image";
        break;
    case OBJECT_SCRIPT:
        *dest = "script";
        break;
    case OBJECT_STYLE:
        *accept = "text/css,*/*;q=0.1";
        *dest = "style";
        break;
    case OBJECT_MEDIA:
        *dest = "video";
        break;
    case OBJECT_FONT:
        *dest = "font";
        *mode = "cors";
        break;
    case OBJECT_OBJECT:
        *dest = "object";
        break;
    case OBJECT_UNKNOWN:
    case OBJECT_OTHER:
        *dest = "empty";
        break;
    }
}

/* Sec-Fetch-Site of url fetched from page: same-origin (same scheme, host,
 * port), same-site (same registrable domain), else cross-site. */
static const char *fetch_site(const char *page, const char *url)
{
    char h1[EVENT_SHORT_MAX], h2[EVENT_SHORT_MAX], s1[EVENT_SHORT_MAX], s2[EVENT_SHORT_MAX];
    const char *e1 = strstr(page, "://"), *e2 = strstr(url, "://");
    if (e1 == NULL || e2 == NULL)
        return "cross-site";
    size_t o1 = strcspn(e1 + 3, "/?#"), o2 = strcspn(e2 + 3, "/?#");
    if ((size_t)(e1 - page) + o1 == (size_t)(e2 - url) + o2 &&
        strncmp(page, url, (size_t)(e1 - page) + 3 + o1) == 0)
        return "same-origin";
    if (classify_host_of_url(page, h1, sizeof h1) != 0 ||
        classify_host_of_url(url, h2, sizeof h2) != 0 ||
        zone_site_of(h1, strlen(h1), s1, sizeof s1) != 0 ||
        zone_site_of(h2, strlen(h2), s2, sizeof s2) != 0)
        return "cross-site";
    return strcmp(s1, s2) == 0 ? "same-site" : "cross-site";
}

/* Append "name: value" to *list. Returns 0, or -1 when out of memory. */
static int add_header(struct curl_slist **list, const char *name, const char *value)
{
    char line[512];
    snprintf(line, sizeof line, "%s: %s", name, value);
    struct curl_slist *n = curl_slist_append(*list, line);
    if (n == NULL)
        return -1;
    *list = n;
    return 0;
}

/* A new transfer for x->it: the easy handle with every option set, HEAD or
 * GET per x->head. page is the Referer (NULL for the page itself). Returns 0,
 * or -1 when libcurl or memory failed. */
static int xfer_setup(const struct probe_opts *o, struct xfer *x, const char *page)
{
    const char *accept, *dest, *mode;
    CURL *h = curl_easy_init();
    if (h == NULL)
        return -1;
    x->h = h;
    probe_browser_headers(x->it->type, &accept, &dest, &mode);
    if (add_header(&x->req, "Accept", accept) < 0 ||
        add_header(&x->req, "Sec-Fetch-Dest", dest) < 0 ||
        add_header(&x->req, "Sec-Fetch-Mode", mode) < 0 ||
        add_header(&x->req, "Sec-Fetch-Site", page ? fetch_site(page, x->it->url) : "none") < 0)
        return -1;

    int bad = 0;
    bad |= curl_easy_setopt(h, CURLOPT_URL, x->it->url) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_PRIVATE, x) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_MAXREDIRS, PROBE_MAX_REDIRS) != CURLE_OK;
    /* Never credentials: no .netrc, none in URLs, none carried to other hosts. */
    bad |= curl_easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_DISALLOW_USERNAME_IN_URL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, x->timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, x->timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_USERAGENT, PROBE_USER_AGENT) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "") != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->req) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_HEADERDATA, x) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, x) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_NOBODY, x->head ? 1L : 0L) != CURLE_OK;
    if (page != NULL)
        bad |= curl_easy_setopt(h, CURLOPT_REFERER, page) != CURLE_OK;
    if (o->verbose)
        bad |= curl_easy_setopt(h, CURLOPT_VERBOSE, 1L) != CURLE_OK;
    if (o->proxy != NULL)
        bad |= curl_easy_setopt(h, CURLOPT_PROXY, o->proxy) != CURLE_OK;
    if (o->connect_to != NULL)
        bad |= curl_easy_setopt(h, CURLOPT_CONNECT_TO, o->connect_to) != CURLE_OK;
    return bad ? -1 : 0;
}

static void xfer_release(struct xfer *x)
{
    if (x->h != NULL)
        curl_easy_cleanup(x->h);
    curl_slist_free_all(x->req);
    x->h = NULL;
    x->req = NULL;
}

/* Record how a transfer ended in its item. Returns 0, or -1 when a callback
 * ran out of memory. */
static int xfer_result(struct xfer *x, CURLcode rc)
{
    struct probe_item *it = x->it;
    long code = 0, connect_code = 0;
    char *eff = NULL;

    if (x->oom)
        return -1;
    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(x->h, CURLINFO_HTTP_CONNECTCODE, &connect_code);
    curl_easy_getinfo(x->h, CURLINFO_EFFECTIVE_URL, &eff);
    it->used_get = !x->head;
    free(it->effective_url);
    it->effective_url = strdup(eff != NULL ? eff : it->url);
    if (it->effective_url == NULL)
        return -1;
    if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && x->cut)) {
        it->state = PROBE_DONE;
        it->status = (int)code;
    } else if (connect_code == 407) {
        /* The proxy refused the CONNECT tunnel: that is the answer. */
        it->state = PROBE_DONE;
        it->status = 407;
    } else {
        it->state = PROBE_FAILED;
        it->status = 0;
        if (rc == CURLE_OPERATION_TIMEDOUT && x->clamped)
            snprintf(it->error, sizeof it->error, "cut off: --max-time ran out");
        else if (rc == CURLE_LOGIN_DENIED)
            snprintf(it->error, sizeof it->error,
                     "redirected to a URL with user info: not followed, probe never sends "
                     "credentials");
        else if (rc == CURLE_OPERATION_TIMEDOUT)
            snprintf(it->error, sizeof it->error, "timed out after %ld ms", x->timeout_ms);
        else
            snprintf(it->error, sizeof it->error, "%s",
                     x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
    }
    return 0;
}

int probe_fetch_page(const struct probe_opts *o, struct probe_item *it, probe_body_cb *body,
                     void *ctx)
{
    struct xfer x = {0};
    int rc = -1;
    x.it = it;
    x.body = body;
    x.body_ctx = ctx;
    x.head = 0;
    x.timeout_ms = o->timeout_ms < o->max_time_ms ? o->timeout_ms : o->max_time_ms;
    x.clamped = x.timeout_ms < o->timeout_ms;
    if (xfer_setup(o, &x, NULL) < 0) {
        snprintf(it->error, sizeof it->error, "libcurl set-up failed");
        goto err;
    }
    CURLcode cc = curl_easy_perform(x.h);
    if (xfer_result(&x, cc) < 0) {
        snprintf(it->error, sizeof it->error, "out of memory");
        goto err;
    }
    rc = it->state == PROBE_DONE ? 0 : -1;
err:
    if (rc < 0)
        it->state = PROBE_FAILED;
    xfer_release(&x);
    return rc;
}

/* Should a HEAD answer be asked again with GET? See the file comment. */
static int head_needs_get(int status)
{
    return status == 400 || status == 401 || status == 405 || status == 407 || status == 501;
}

/* Start item it on slot x (HEAD, or GET when head is 0). Returns 0, or -1. */
static int start(CURLM *m, const struct probe_opts *o, struct xfer *x, struct probe_item *it,
                 const char *page, int head, long long deadline_ms)
{
    long long left = deadline_ms - probe_now_ms();
    memset(x, 0, sizeof *x);
    x->it = it;
    x->head = head;
    x->timeout_ms = o->timeout_ms < left ? o->timeout_ms : (long)(left > 1 ? left : 1);
    x->clamped = x->timeout_ms < o->timeout_ms;
    if (xfer_setup(o, x, page) < 0 || curl_multi_add_handle(m, x->h) != CURLM_OK) {
        xfer_release(x);
        return -1;
    }
    return 0;
}

int probe_fetch_objects(const struct probe_opts *o, const char *page, struct probe_item *items,
                        size_t n, long long deadline_ms)
{
    int jobs = o->jobs > 0 ? o->jobs : 1;
    struct xfer *slots = calloc((size_t)jobs, sizeof *slots);
    CURLM *m = curl_multi_init();
    size_t next = 0;
    int active = 0, rc = -1;

    if (slots == NULL || m == NULL)
        goto err;
    /* Connections are kept by the multi handle and reused across transfers;
     * never more than one per transfer in flight. */
    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)jobs);

    for (;;) {
        /* Fill free slots while there is time. */
        for (int s = 0; s < jobs && next < n; s++) {
            if (slots[s].h != NULL)
                continue;
            if (probe_now_ms() >= deadline_ms)
                break;
            if (start(m, o, &slots[s], &items[next], page, 1, deadline_ms) < 0)
                goto err;
            next++;
            active++;
        }
        if (active == 0)
            break;

        int running;
        if (curl_multi_perform(m, &running) != CURLM_OK)
            goto err;
        CURLMsg *msg;
        int left, freed = 0;
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct xfer *x = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            CURLcode cc = msg->data.result;
            curl_multi_remove_handle(m, x->h);
            if (xfer_result(x, cc) < 0)
                goto err;
            struct probe_item *it = x->it;
            xfer_release(x);
            active--;
            freed = 1;
            if (x->head && it->state == PROBE_DONE && head_needs_get(it->status) &&
                probe_now_ms() < deadline_ms) {
                probe_item_clear(it);
                if (start(m, o, x, it, page, 0, deadline_ms) < 0)
                    goto err;
                active++;
            }
        }
        if (probe_now_ms() >= deadline_ms) {
            /* The page's time is up: end what is in flight. */
            for (int s = 0; s < jobs; s++) {
                if (slots[s].h == NULL)
                    continue;
                curl_multi_remove_handle(m, slots[s].h);
                probe_item_clear(slots[s].it);
                slots[s].it->state = PROBE_FAILED;
                snprintf(slots[s].it->error, sizeof slots[s].it->error,
                         "cut off: --max-time ran out");
                xfer_release(&slots[s]);
                active--;
            }
            break;
        }
        /* A freed slot is refilled at once, not after the next socket event. */
        if (freed && next < n)
            continue;
        if (active > 0 && curl_multi_poll(m, NULL, 0, 100, NULL) != CURLM_OK)
            goto err;
    }
    for (size_t i = next; i < n; i++) {
        items[i].state = PROBE_SKIPPED;
        snprintf(items[i].error, sizeof items[i].error, "not probed: --max-time ran out");
    }
    rc = 0;
err:
    if (slots != NULL) {
        for (int s = 0; s < jobs; s++) {
            if (slots[s].h != NULL && m != NULL)
                curl_multi_remove_handle(m, slots[s].h);
            xfer_release(&slots[s]);
        }
    }
    if (m != NULL)
        curl_multi_cleanup(m);
    free(slots);
    return rc;
}
