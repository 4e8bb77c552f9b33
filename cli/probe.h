/* probe.h -- what `promptcause probe` fetches and what it got back.
 *
 * probe.c decides what to fetch and how to report it; probe_fetch.c does the
 * fetching with libcurl (one easy transfer for the page, a multi handle with
 * bounded concurrency for its objects). They share only struct probe_item:
 * the request a browser would make and the response that came back. No
 * libcurl type appears here. */
#ifndef PROMPTCAUSE_PROBE_H
#define PROMPTCAUSE_PROBE_H

#include <stddef.h>

#include "event.h"

/* Bytes of a 401/407 body kept for the IIS substatus. */
#define PROBE_BODY_KEEP 4096
/* Bytes of a page scanned for objects (SPEC §5 MaxHtmlBytes default). */
#define PROBE_HTML_MAX (1024 * 1024)
/* Objects probed per page; a page with more is probed up to the limit. */
#define PROBE_OBJECTS_MAX 5000
/* Header bytes kept per response (all WWW-/Proxy-Authenticate lines live here). */
#define PROBE_HEADERS_MAX 65536

enum probe_state {
    PROBE_PENDING = 0, /* not fetched (yet) */
    PROBE_DONE,        /* a response came back: status is set */
    PROBE_FAILED,      /* transfer error: error is set */
    PROBE_SKIPPED,     /* never started: the page's --max-time ran out */
};

struct probe_item {
    /* request */
    char *url;                /* absolute, normalised, without user info */
    enum event_object type;   /* OBJECT_DOCUMENT for the page itself */
    /* response */
    enum probe_state state;
    int status;               /* final HTTP status after redirects */
    char *effective_url;      /* URL that gave the final response (malloc'd) */
    char *headers;            /* header lines of the final response, NUL-separated */
    size_t headers_len;
    char *body;               /* first PROBE_BODY_KEEP bytes of the final body */
    size_t body_len;
    int used_get;             /* 1 when the answer came from GET (HEAD fell back) */
    char error[256];          /* transfer error, when PROBE_FAILED */
};

struct probe_scan;            /* receives the page body, see probe_fetch_page */

struct probe_opts {
    const char *proxy;        /* --proxy, or NULL for libcurl's environment handling */
    long timeout_ms;          /* per request */
    long max_time_ms;         /* per page: page plus all its objects */
    int jobs;                 /* objects in flight at once */
    void *connect_to;         /* struct curl_slist * of --connect-to, or NULL */
    int verbose;              /* libcurl's trace on stderr (PROMPTCAUSE_PROBE_VERBOSE set) */
};

/* Body sink for the page: called with each chunk of a 2xx body (at most
 * PROBE_HTML_MAX bytes in all); url is the URL that answered (after
 * redirects), which relative URLs in the body resolve against. */
typedef void probe_body_cb(void *ctx, const char *url, const char *p, size_t n);

/* Global libcurl set-up; returns 0, or -1 with a message on stderr. */
int probe_fetch_init(void);
void probe_fetch_cleanup(void);

/* Fetch the page it->url with GET as a browser navigation, following
 * redirects; 2xx body bytes go to body(ctx, ...). Fills it's response fields.
 * Returns 0 when a response came back (any status), -1 when it did not
 * (it->state PROBE_FAILED, it->error says why) or out of memory. */
int probe_fetch_page(const struct probe_opts *o, struct probe_item *it, probe_body_cb *body,
                     void *ctx);

/* Fetch items[0..n) as objects embedded in page (the Referer), at most
 * o->jobs at a time, HEAD first with GET where HEAD is not answered usefully
 * (see probe_fetch.c). Stops starting new ones at deadline_ms (a monotonic
 * time from probe_now_ms); the unstarted are PROBE_SKIPPED, the cut-off ones
 * PROBE_FAILED. Returns 0, or -1 when libcurl or memory failed. */
int probe_fetch_objects(const struct probe_opts *o, const char *page, struct probe_item *items,
                        size_t n, long long deadline_ms);

/* The Accept, Sec-Fetch-Dest and Sec-Fetch-Mode a browser (Chromium) sends
 * for an object of this type; OBJECT_DOCUMENT is a top-level navigation.
 * Static strings. */
void probe_browser_headers(enum event_object type, const char **accept, const char **dest,
                           const char **mode);

/* Monotonic milliseconds. */
long long probe_now_ms(void);

/* Release an item's response fields (not the item itself). */
void probe_item_clear(struct probe_item *it);

/* Next header line of it after *pos (NULL to start): returns the line
 * (NUL-terminated, no CRLF) or NULL at the end. */
const char *probe_header_next(const struct probe_item *it, const char *pos);

#endif
