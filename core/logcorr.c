/* logcorr.c -- raw Squid log correlation (see logcorr.h for the heuristics
 * and their limits).
 *
 * Two fixed-size structures, so memory does not grow with the log:
 * - the parent table is direct-mapped by client hash (PARENT_SLOTS slots);
 *   two clients that share a slot overwrite each other's latest page. With
 *   65536 slots and a few thousand active clients that is rare, and costs
 *   at worst a missed parent (page-denied instead of embedded-denied), never
 *   a wrong one, since the slot also stores the client it belongs to.
 * - waiting 401/407s sit in a ring of RING_CAP entries; when it is full the
 *   oldest is decided early (not a handshake). A 4096-counter filter keyed by
 *   client+URL lets a 2xx line skip the ring scan when nothing of its client
 *   and URL is waiting, which is nearly always. */
#include "logcorr.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "classify.h"

#define PARENT_SLOTS 65536
#define RING_CAP 4096
#define FILTER 4096

struct parent_slot {
    char client[64];
    double ts;
    char *url;
    size_t url_cap;
};

struct pend {
    double ts;
    uint64_t key;
    int status;
    bool resolved; /* a 2xx/3xx for the same client and URL followed in time */
    char *client, *user, *url, *parent;
    const char *cause, *evidence;
};

struct logcorr {
    struct parent_slot *slots;
    struct pend ring[RING_CAP];
    size_t head, n;
    uint16_t filter[FILTER];
    struct classify_config cfg; /* for the default HandlerExtensions */
};

static uint64_t fnv(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t key_of(const char *client, const char *url)
{
    uint64_t h = fnv(1469598103934665603ULL, client);
    h ^= 0xff;
    h *= 1099511628211ULL;
    return fnv(h, url);
}

struct logcorr *logcorr_new(void)
{
    struct logcorr *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->slots = calloc(PARENT_SLOTS, sizeof *c->slots);
    if (c->slots == NULL)
        goto err;
    classify_config_default_handlers(&c->cfg);
    return c;
err:
    logcorr_free(c);
    return NULL;
}

static void pend_clear(struct pend *p)
{
    free(p->client);
    free(p->user);
    free(p->url);
    free(p->parent);
    memset(p, 0, sizeof *p);
}

void logcorr_free(struct logcorr *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++)
        pend_clear(&c->ring[(c->head + i) % RING_CAP]);
    if (c->slots != NULL)
        for (size_t i = 0; i < PARENT_SLOTS; i++)
            free(c->slots[i].url);
    free(c->slots);
    free(c);
}

/* Extension of url's path (lower-case, without the dot) into ext; "" none. */
static void extension(const char *url, char *ext, size_t cap)
{
    const char *p = strstr(url, "://");
    p = p ? strchr(p + 3, '/') : url;
    ext[0] = '\0';
    if (p == NULL)
        return;
    size_t end = strcspn(p, "?#;");
    const char *dot = NULL;
    for (size_t i = 0; i < end; i++) {
        if (p[i] == '/')
            dot = NULL;
        else if (p[i] == '.')
            dot = p + i;
    }
    if (dot == NULL)
        return;
    size_t n = (size_t)(p + end - dot - 1);
    if (n >= cap)
        return;
    for (size_t i = 0; i < n; i++) {
        char ch = dot[1 + i];
        ext[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
    }
    ext[n] = '\0';
}

static bool in_list(const char *ext, const char *list)
{
    size_t n = strlen(ext);
    for (const char *p = list; *p;) {
        size_t m = strcspn(p, " ");
        if (m == n && memcmp(p, ext, n) == 0)
            return true;
        p += m;
        while (*p == ' ')
            p++;
    }
    return false;
}

const char *logcorr_object_of_url(const char *url)
{
    char ext[16];
    extension(url, ext, sizeof ext);
    if (ext[0] == '\0' || in_list(ext, "html htm shtml shtm stm xhtml asp aspx php jsp cfm cgi pl"))
        return "document";
    if (in_list(ext, "gif png jpg jpeg jpe webp svg ico bmp avif tif tiff"))
        return "image";
    if (in_list(ext, "js mjs"))
        return "script";
    if (in_list(ext, "css"))
        return "style";
    if (in_list(ext, "woff woff2 ttf otf eot"))
        return "font";
    if (in_list(ext, "mp4 webm mp3 ogg oga wav m4a m4v mov"))
        return "media";
    if (in_list(ext, "swf class jar xap"))
        return "object";
    return "other";
}

static bool is_handler(const struct logcorr *c, const char *url)
{
    char ext[16] = ".";
    extension(url, ext + 1, sizeof ext - 1);
    if (ext[1] == '\0')
        return false;
    for (size_t i = 0; i < c->cfg.handler_count; i++)
        if (strcmp(c->cfg.handlers[i], ext) == 0)
            return true;
    return false;
}

static struct parent_slot *slot_of(struct logcorr *c, const char *client)
{
    return &c->slots[fnv(1469598103934665603ULL, client) % PARENT_SLOTS];
}

/* A 2xx reply that is an HTML page the client will fetch objects for. */
static bool is_page(const struct squidrec *r)
{
    if (r->status < 200 || r->status > 299)
        return false;
    if (r->mime[0] != '\0')
        return strncasecmp(r->mime, "text/html", 9) == 0;
    return strcmp(r->method, "GET") == 0 && strcmp(logcorr_object_of_url(r->url), "document") == 0;
}

static int remember_page(struct logcorr *c, const struct squidrec *r)
{
    struct parent_slot *s = slot_of(c, r->client);
    size_t n = strlen(r->url);
    if (n + 1 > s->url_cap) {
        size_t cap = n + 1 < 128 ? 128 : n + 1;
        char *u = realloc(s->url, cap);
        if (u == NULL)
            return -1;
        s->url = u;
        s->url_cap = cap;
    }
    memcpy(s->url, r->url, n + 1);
    snprintf(s->client, sizeof s->client, "%s", r->client);
    s->ts = r->ts;
    return 0;
}

static int emit(struct logcorr *c, struct report *rep)
{
    struct pend *p = &c->ring[c->head];
    struct report_event ev = {
        .ts = p->ts, .status = p->status, .client = p->client, .user = p->user ? p->user : "",
        .url = p->url, .host = "", .cause = p->cause, .prompt = "",
        .parent = p->parent ? p->parent : "", .evidence = p->evidence,
    };
    if (p->resolved) {
        if (p->status == 401) {
            ev.cause = "handshake";
            ev.prompt = "none";
        } else {
            ev.prompt = "silent";
        }
    }
    int rc = report_add(rep, &ev);
    c->filter[p->key % FILTER]--;
    pend_clear(p);
    c->head = (c->head + 1) % RING_CAP;
    c->n--;
    return rc;
}

static char *dup_or_null(const char *s, bool *oom)
{
    if (s[0] == '\0')
        return NULL;
    char *d = strdup(s);
    if (d == NULL)
        *oom = true;
    return d;
}

int logcorr_feed(struct logcorr *c, const struct squidrec *r, struct report *rep)
{
    int rc = 0;
    while (c->n > 0 && c->ring[c->head].ts < r->ts - LOGCORR_HANDSHAKE_WINDOW)
        if (emit(c, rep) != 0)
            rc = -1;

    if (r->status >= 200 && r->status < 400) {
        if (c->n > 0) {
            uint64_t k = key_of(r->client, r->url);
            if (c->filter[k % FILTER] != 0)
                for (size_t i = 0; i < c->n; i++) {
                    struct pend *p = &c->ring[(c->head + i) % RING_CAP];
                    if (p->key == k && strcmp(p->url, r->url) == 0 && strcmp(p->client, r->client) == 0)
                        p->resolved = true;
                }
        }
        if (is_page(r) && remember_page(c, r) != 0)
            rc = -1;
        return rc;
    }
    if (r->status != 401 && r->status != 407)
        return rc;

    if (c->n == RING_CAP && emit(c, rep) != 0)
        rc = -1;
    struct pend *p = &c->ring[(c->head + c->n) % RING_CAP];
    bool oom = false;
    const char *parent = "", *evidence = "", *cause;
    if (r->status == 407) {
        cause = "proxy-auth";
    } else {
        bool navigation = strcmp(logcorr_object_of_url(r->url), "document") == 0;
        if (r->referer[0] != '\0' && strcmp(r->referer, r->url) != 0) {
            parent = r->referer;
            evidence = "referer";
        } else {
            struct parent_slot *s = slot_of(c, r->client);
            if (s->url != NULL && strcmp(s->client, r->client) == 0 &&
                r->ts - s->ts <= LOGCORR_PARENT_WINDOW && strcmp(s->url, r->url) != 0) {
                parent = s->url;
                evidence = "time";
            }
        }
        if (!navigation && parent[0] != '\0')
            cause = "embedded-denied";
        else if (is_handler(c, r->url))
            cause = "handler-denied";
        else
            cause = "page-denied";
        if (navigation) { /* a navigation has no parent (SPEC §2) */
            parent = "";
            evidence = "";
        }
    }
    p->ts = r->ts;
    p->status = r->status;
    p->key = key_of(r->client, r->url);
    p->resolved = false;
    p->client = strdup(r->client);
    p->url = strdup(r->url);
    p->user = dup_or_null(r->user, &oom);
    p->parent = dup_or_null(parent, &oom);
    p->cause = cause;
    p->evidence = evidence;
    if (p->client == NULL || p->url == NULL || oom) {
        pend_clear(p);
        return -1;
    }
    c->filter[p->key % FILTER]++;
    c->n++;
    return rc;
}

int logcorr_flush(struct logcorr *c, struct report *rep)
{
    int rc = 0;
    while (c->n > 0)
        if (emit(c, rep) != 0)
            rc = -1;
    return rc;
}
