/* request_view.h -- what classify() needs, read from a c-icap RESPMOD request.
 *
 * Turns c-icap's header lists into a struct classify_input: the response
 * status, every WWW-Authenticate (or Proxy-Authenticate) line, the client's
 * request headers, the absolute URL, the client address and the proxy user.
 * Pointers in the view point into c-icap's header buffers, so the view is valid
 * only until the request's headers change (e.g. a header is added). */
#ifndef PROMPTCAUSE_REQUEST_VIEW_H
#define PROMPTCAUSE_REQUEST_VIEW_H

#include <stddef.h>

#include <c_icap/c-icap.h>
#include <c_icap/request.h>

#include "challenge.h"
#include "classify.h"
#include "corrstore.h"
#include "event.h"

struct request_view {
    struct challenge_set challenges;
    char method[32];
    char url[EVENT_URL_MAX];
    char client[64];
    struct classify_input in;
};

/* What the correlation needs of a 2xx response that may be an HTML page. */
struct page_view {
    char url[EVENT_URL_MAX];          /* absolute URL of the page */
    char client[CORRSTORE_CLIENT_MAX]; /* correlation client id (corrstore_client_id): the
                                         address text, "address|user" with a proxy user */
    const char *content_encoding;     /* into c-icap's headers; NULL when none */
};

/* Fill pv when req carries a 2xx text/html or application/xhtml+xml
 * response with a body to a request without Authorization (an anonymous
 * page load, SPEC §2 rule 4). Returns 1 when it does, 0 otherwise (pv is
 * then partly filled and meaningless). O(header size), no allocation. */
int request_view_page(ci_request_t *req, struct page_view *pv);

/* HTTP status of the encapsulated response (e.g. 401), read from its status
 * line without allocating. Returns -1 when there is no response or its status
 * line is not "HTTP/x.y NNN". */
int request_view_status(ci_request_t *req);

/* Fill view for a response with status (401 or 407) from req's headers and the
 * first body bytes (body, body_len; NULL/0 when none were seen). Returns 0, or
 * -1 when req carries no encapsulated response headers. */
int request_view_build(ci_request_t *req, int status, const char *body, size_t body_len, struct request_view *view);

#endif
