/* request_view.c -- read a RESPMOD request into a struct classify_input.
 *
 * c-icap offers ci_headers_iterate, but it copies each value into a stack
 * buffer (and truncates it at 8 KiB); challenge tokens must point into text
 * that outlives the parse, so we walk the header list's own NUL-terminated
 * lines instead (ci_headers_list_t is public). Everything here is O(header
 * size) and allocation-free; the view itself is the caller's. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include <c_icap/c-icap.h>
#include <c_icap/header.h>
#include <c_icap/net_io.h>
#include <c_icap/simple_api.h>

#include "htmlbody.h"
#include "request_view.h"

int request_view_status(ci_request_t *req)
{
    ci_headers_list_t *h = ci_http_response_headers(req);
    const char *line;
    if (h == NULL || h->used < 1 || (line = ci_headers_first_line(h)) == NULL) {
        return -1;
    }
    if (strncasecmp(line, "HTTP/", 5) != 0) {
        return -1;
    }
    const char *p = strchr(line, ' ');
    if (p == NULL) {
        return -1;
    }
    while (*p == ' ') {
        p++;
    }
    if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) ||
        isdigit((unsigned char)p[3])) {
        return -1;
    }
    return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
}

/* Value of header name in h (first occurrence, leading blanks skipped, a
 * pointer into the list), or NULL when absent or empty. */
static const char *header_value(ci_headers_list_t *h, const char *name)
{
    const char *v = h != NULL ? ci_headers_value(h, name) : NULL;
    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* Feed every `name:` line of h (after its first line, the status or request
 * line) to the challenge parser; the set records malformed values itself, so
 * the parser's return value needs no handling. */
static void collect_challenges(ci_headers_list_t *h, const char *name, struct challenge_set *set)
{
    size_t nlen = strlen(name);
    if (h == NULL) {
        return;
    }
    for (int i = 1; i < h->used; i++) { /* 0 is the status line */
        const char *line = h->headers[i];
        if (strncasecmp(line, name, nlen) != 0 || line[nlen] != ':') {
            continue;
        }
        const char *v = line + nlen + 1;
        while (*v == ' ' || *v == '\t') {
            v++;
        }
        (void)challenge_parse(set, v, strlen(v));
    }
}

/* Method (into method, mcap bytes) and absolute URL (into url, EVENT_URL_MAX
 * bytes) from the request line "GET target HTTP/1.1". A target in origin
 * form ("/path", transparent interception) is made absolute with the Host
 * header; https is invisible to us there, so http:// is assumed. Leaves the
 * strings empty when the request line is missing. */
static void read_request_line(ci_headers_list_t *h, char *method, size_t mcap, char *url)
{
    method[0] = '\0';
    url[0] = '\0';
    if (h == NULL || h->used < 1) {
        return;
    }
    const char *line = h->headers[0];
    size_t mlen = strcspn(line, " ");
    if (line[mlen] == '\0') {
        return;
    }
    snprintf(method, mcap, "%.*s", (int)mlen, line);
    const char *t = line + mlen;
    while (*t == ' ') {
        t++;
    }
    size_t tlen = strcspn(t, " ");
    if (t[0] == '/') {
        const char *host = header_value(h, "Host");
        if (host == NULL) {
            return;
        }
        size_t hlen = strcspn(host, " \t");
        snprintf(url, EVENT_URL_MAX, "http://%.*s%.*s", (int)hlen, host, (int)tlen, t);
    } else {
        snprintf(url, EVENT_URL_MAX, "%.*s", (int)tlen, t);
    }
}

/* Client address: c-icap's parsed X-Client-IP (Squid's icap_send_client_ip),
 * printed back in canonical form so a hostile header cannot smuggle text. */
static void read_client(ci_request_t *req, char *client, size_t cap)
{
    const ci_ip_t *ip = ci_http_client_ip(req);
    client[0] = '\0';
    if (ip == NULL) {
        return;
    }
    if (inet_ntop(ip->family, &ip->address, client, (socklen_t)cap) == NULL) {
        client[0] = '\0';
    }
}

int request_view_page(ci_request_t *req, struct page_view *pv)
{
    ci_headers_list_t *res = ci_http_response_headers(req);
    ci_headers_list_t *rq = ci_http_request_headers(req);
    char method[32];
    if (res == NULL || rq == NULL || !ci_req_hasbody(req) || header_value(rq, "Authorization") != NULL ||
        !htmlbody_is_html(header_value(res, "Content-Type"))) {
        return 0;
    }
    read_request_line(rq, method, sizeof method, pv->url);
    if (pv->url[0] == '\0') {
        return 0;
    }
    char addr[64];
    read_client(req, addr, sizeof addr);
    (void)corrstore_client_id(addr, header_value(req->request_header, "X-Authenticated-User"), pv->client,
                              sizeof pv->client);
    pv->content_encoding = header_value(res, "Content-Encoding");
    return 1;
}

int request_view_build(ci_request_t *req, int status, const char *body, size_t body_len, struct request_view *view)
{
    ci_headers_list_t *res = ci_http_response_headers(req);
    ci_headers_list_t *rq = ci_http_request_headers(req);
    struct timeval tv;
    bool proxy = status == 407;

    if (res == NULL) {
        return -1;
    }
    memset(&view->in, 0, sizeof view->in);
    challenge_set_init(&view->challenges);
    collect_challenges(res, proxy ? "Proxy-Authenticate" : "WWW-Authenticate", &view->challenges);
    if (proxy && view->challenges.count == 0 && !view->challenges.malformed) {
        /* Squid 5.7 treats Proxy-Authenticate as hop-by-hop: it removes it from
         * the encapsulated 407 and sends (the first line of) it as an ICAP
         * request header instead -- seen on the wire in test_squid_e2e. */
        collect_challenges(req->request_header, "Proxy-Authenticate", &view->challenges);
    }
    read_request_line(rq, view->method, sizeof view->method, view->url);
    read_client(req, view->client, sizeof view->client);
    gettimeofday(&tv, NULL);

    struct classify_input *in = &view->in;
    in->ts = (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
    in->client = view->client[0] ? view->client : NULL;
    in->proxy_user = header_value(req->request_header, "X-Authenticated-User");
    in->method = view->method[0] ? view->method : NULL;
    in->url = view->url[0] ? view->url : NULL;
    in->status = status;
    in->challenges = &view->challenges;
    in->authorization = header_value(rq, proxy ? "Proxy-Authorization" : "Authorization");
    in->referer = header_value(rq, "Referer");
    in->sec_fetch_dest = header_value(rq, "Sec-Fetch-Dest");
    in->sec_fetch_mode = header_value(rq, "Sec-Fetch-Mode");
    in->accept = header_value(rq, "Accept");
    in->user_agent = header_value(rq, "User-Agent");
    in->sec_ch_ua_platform = header_value(rq, "Sec-CH-UA-Platform");
    /* SPEC §7: Squid's adaptation_meta lines arrive as ICAP request headers. */
    in->client_connection = header_value(req->request_header, "X-Client-Connection");
    in->server_connection = header_value(req->request_header, "X-Server-Connection");
    in->body = body;
    in->body_len = body != NULL ? body_len : 0;
    in->html_parent = NULL;
    in->html_object = OBJECT_UNKNOWN;
    return 0;
}
