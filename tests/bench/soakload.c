/* soakload.c -- HTTP load through a proxy for the soak test: many keep-alive
 * connections, browser-like visits, every body compared with the origin's.
 *
 * Python threads reach a few hundred requests a second through Squid, too few
 * for a million; wrk and ab cannot run a script of dependent requests (a page
 * then its images with Referer, an NTLM handshake on one connection) and do
 * not compare bodies. This client is small: one blocking thread per connection
 * (tens of connections, so threads cost nothing), each running visits from a
 * script written by soak.py. A visit is a list of requests; "{k}" in a URL or
 * header becomes the visit's number, so every visit asks for new URLs and the
 * correlation store sees a stream of distinct pages. Each answer's status and
 * body must equal what the script says the origin sends (memcmp against the
 * file's bytes): anything else is counted and the first few are printed.
 *
 * Script (one directive per line, tab-separated):
 *   visit NAME WEIGHT [close]
 *   req URL EXPECTED_STATUS BODY_FILE LOGGED(0|1) [Header: value]...
 * Usage: soakload PROXY_PORT SCRIPT CONNECTIONS REQUESTS CLIENT_ADDRS
 * Connections bind to 127.0.0.2 .. 127.0.0.(1+CLIENT_ADDRS), so the service
 * sees that many clients. A visit marked "close" ends by closing its
 * connection, as a browser's connection to that site is not reused for
 * another: Squid pins a connection after an NTLM handshake and answers 503 to
 * a request for another site on it. Prints one summary line of key=value pairs. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_VISITS 32
#define MAX_REQS 16
#define MAX_HDRS 6

struct req {
    char *url;
    int status;
    char *body;
    size_t body_len;
    int logged;
    char *hdrs[MAX_HDRS];
    int nhdrs;
};

struct visit {
    char name[32];
    int weight;
    int close_after; /* the visit pins a connection (NTLM): close it after */
    struct req reqs[MAX_REQS];
    int nreqs;
};

static struct visit visits[MAX_VISITS];
static int nvisits;
static int *schedule; /* visit index per slot, by weight */
static int nschedule;
static int proxy_port;
static long total_requests;
static int client_addrs;

static atomic_long next_visit;
static atomic_long issued;   /* requests claimed */
static atomic_long done_ok, errors, io_errors, logged_expected;
static atomic_long by_status[600];
static atomic_int printed;
static atomic_long bytes_in;

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    if (p == NULL || fread(p, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    fclose(f);
    *len = (size_t)n;
    return p;
}

static void load_script(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[8192];
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        char *save = NULL;
        char *w = strtok_r(line, "\t", &save);
        if (w == NULL) {
            continue;
        }
        if (strcmp(w, "visit") == 0 && nvisits < MAX_VISITS) {
            struct visit *v = &visits[nvisits++];
            snprintf(v->name, sizeof v->name, "%s", strtok_r(NULL, "\t", &save));
            v->weight = atoi(strtok_r(NULL, "\t", &save));
            char *flag = strtok_r(NULL, "\t", &save);
            v->close_after = flag != NULL && strcmp(flag, "close") == 0;
        } else if (strcmp(w, "req") == 0 && nvisits > 0) {
            struct visit *v = &visits[nvisits - 1];
            if (v->nreqs == MAX_REQS) {
                continue;
            }
            struct req *r = &v->reqs[v->nreqs++];
            r->url = strdup(strtok_r(NULL, "\t", &save));
            r->status = atoi(strtok_r(NULL, "\t", &save));
            r->body = slurp(strtok_r(NULL, "\t", &save), &r->body_len);
            r->logged = atoi(strtok_r(NULL, "\t", &save));
            char *h;
            while ((h = strtok_r(NULL, "\t", &save)) != NULL && r->nhdrs < MAX_HDRS) {
                r->hdrs[r->nhdrs++] = strdup(h);
            }
        }
    }
    fclose(f);
    for (int i = 0; i < nvisits; i++) {
        nschedule += visits[i].weight;
    }
    schedule = malloc(sizeof *schedule * (size_t)nschedule);
    /* Interleave: slot s takes the visit whose share is most behind. */
    int *given = calloc((size_t)nvisits, sizeof *given);
    for (int s = 0; s < nschedule; s++) {
        int best = 0;
        double best_lag = -1e9;
        for (int i = 0; i < nvisits; i++) {
            double lag = (double)visits[i].weight * (s + 1) / nschedule - given[i];
            if (lag > best_lag) {
                best_lag = lag;
                best = i;
            }
        }
        schedule[s] = best;
        given[best]++;
    }
    free(given);
}

/* Replace every "{k}" in in by k. */
static void subst(char *out, size_t cap, const char *in, long k)
{
    size_t o = 0;
    while (*in != '\0' && o + 24 < cap) {
        if (in[0] == '{' && in[1] == 'k' && in[2] == '}') {
            o += (size_t)snprintf(out + o, cap - o, "%ld", k);
            in += 3;
        } else {
            out[o++] = *in++;
        }
    }
    out[o] = '\0';
}

struct conn {
    int fd;
    int id;
    char *buf; /* read buffer */
    size_t cap, len, off;
};

static int conn_open(struct conn *c)
{
    struct sockaddr_in src = { .sin_family = AF_INET }, dst = { .sin_family = AF_INET };
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        return -1;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = { .tv_sec = 60 };
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(c->id % client_addrs));
    if (bind(c->fd, (struct sockaddr *)&src, sizeof src) != 0) {
        close(c->fd);
        return -1;
    }
    dst.sin_addr.s_addr = htonl(0x7f000001u);
    dst.sin_port = htons((uint16_t)proxy_port);
    if (connect(c->fd, (struct sockaddr *)&dst, sizeof dst) != 0) {
        close(c->fd);
        return -1;
    }
    c->len = c->off = 0;
    return 0;
}

/* Make at least n unread bytes available; 0, or -1 on EOF/error. */
static int need(struct conn *c, size_t n)
{
    while (c->len - c->off < n) {
        if (c->off > 0) {
            memmove(c->buf, c->buf + c->off, c->len - c->off);
            c->len -= c->off;
            c->off = 0;
        }
        if (c->cap - c->len < 65536) {
            c->cap = c->cap * 2 + 65536;
            c->buf = realloc(c->buf, c->cap);
        }
        ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (r <= 0) {
            return -1;
        }
        c->len += (size_t)r;
    }
    return 0;
}

/* Read one line ending in CRLF at c->off; returns its length (without CRLF) or -1. */
static long line_at(struct conn *c)
{
    for (;;) {
        char *p = memmem(c->buf + c->off, c->len - c->off, "\r\n", 2);
        if (p != NULL) {
            return p - (c->buf + c->off);
        }
        if (need(c, c->len - c->off + 1) != 0) {
            return -1;
        }
    }
}

/* Read a response: status, body into *body (malloc'd). Returns 0, or -1 on
 * I/O or framing error. *keep is 0 when the server will close. */
static int read_response(struct conn *c, int *status, char **body, size_t *blen, int *keep)
{
    long clen = -1;
    int chunked = 0;
    *keep = 1;
    long n = line_at(c);
    if (n < 12 || memcmp(c->buf + c->off, "HTTP/1.", 7) != 0) {
        return -1;
    }
    *status = atoi(c->buf + c->off + 9);
    if (c->buf[c->off + 7] == '0') {
        *keep = 0;
    }
    c->off += (size_t)n + 2;
    for (;;) {
        n = line_at(c);
        if (n < 0) {
            return -1;
        }
        char *h = c->buf + c->off;
        if (n == 0) {
            c->off += 2;
            break;
        }
        if (n > 15 && strncasecmp(h, "Content-Length:", 15) == 0) {
            clen = strtol(h + 15, NULL, 10);
        } else if (n > 18 && strncasecmp(h, "Transfer-Encoding:", 18) == 0 && memmem(h, (size_t)n, "chunked", 7)) {
            chunked = 1;
        } else if (n > 11 && strncasecmp(h, "Connection:", 11) == 0 && memmem(h, (size_t)n, "close", 5)) {
            *keep = 0;
        }
        c->off += (size_t)n + 2;
    }
    size_t cap = 65536, len = 0;
    char *b = malloc(cap);
    if (chunked) {
        for (;;) {
            n = line_at(c);
            if (n < 0) {
                free(b);
                return -1;
            }
            long sz = strtol(c->buf + c->off, NULL, 16);
            c->off += (size_t)n + 2;
            if (sz == 0) {
                while ((n = line_at(c)) > 0) { /* trailers */
                    c->off += (size_t)n + 2;
                }
                if (n < 0) {
                    free(b);
                    return -1;
                }
                c->off += 2;
                break;
            }
            if (need(c, (size_t)sz + 2) != 0) {
                free(b);
                return -1;
            }
            if (len + (size_t)sz > cap) {
                cap = (len + (size_t)sz) * 2;
                b = realloc(b, cap);
            }
            memcpy(b + len, c->buf + c->off, (size_t)sz);
            len += (size_t)sz;
            c->off += (size_t)sz + 2;
        }
    } else if (clen >= 0) {
        if (need(c, (size_t)clen) != 0) {
            free(b);
            return -1;
        }
        if ((size_t)clen > cap) {
            b = realloc(b, (size_t)clen);
        }
        memcpy(b, c->buf + c->off, (size_t)clen);
        len = (size_t)clen;
        c->off += (size_t)clen;
    } else {
        free(b);
        return -1; /* read-until-close not used by Squid on keep-alive */
    }
    *body = b;
    *blen = len;
    return 0;
}

static void report(const char *what, const char *url, int st, size_t len, const struct req *r)
{
    if (atomic_fetch_add(&printed, 1) < 10) {
        fprintf(stderr, "soakload: %s: %s: got %d %zu B, want %d %zu B\n", what, url, st, len, r->status,
                r->body_len);
    }
}

static void *worker(void *arg)
{
    struct conn c = { .id = (int)(long)arg };
    char url[4096], req[16384], hv[2048];
    c.cap = 1 << 17;
    c.buf = malloc(c.cap);
    if (conn_open(&c) != 0) {
        atomic_fetch_add(&io_errors, 1);
        return NULL;
    }
    for (;;) {
        long k = atomic_fetch_add(&next_visit, 1);
        const struct visit *v = &visits[schedule[k % nschedule]];
        for (int i = 0; i < v->nreqs; i++) {
            if (atomic_fetch_add(&issued, 1) >= total_requests) {
                close(c.fd);
                free(c.buf);
                return NULL;
            }
            const struct req *r = &v->reqs[i];
            subst(url, sizeof url, r->url, k);
            const char *host = strstr(url, "://");
            host = host ? host + 3 : url;
            int hl = (int)strcspn(host, "/");
            int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %.*s\r\nUser-Agent: soakload\r\n", url, hl,
                             host);
            for (int h = 0; h < r->nhdrs; h++) {
                subst(hv, sizeof hv, r->hdrs[h], k);
                n += snprintf(req + n, sizeof req - (size_t)n, "%s\r\n", hv);
            }
            n += snprintf(req + n, sizeof req - (size_t)n, "\r\n");
            int st = 0, keep = 1;
            char *body = NULL;
            size_t blen = 0;
            int tries = 0;
            for (;;) {
                if (send(c.fd, req, (size_t)n, MSG_NOSIGNAL) == n && read_response(&c, &st, &body, &blen, &keep) == 0) {
                    break;
                }
                /* A keep-alive connection closed under us: reconnect and resend
                 * once, as browsers do for idempotent requests. */
                close(c.fd);
                if (++tries > 1 || conn_open(&c) != 0) {
                    atomic_fetch_add(&io_errors, 1);
                    if (atomic_fetch_add(&printed, 1) < 10) {
                        fprintf(stderr, "soakload: no answer for %s: %s\n", url, strerror(errno));
                    }
                    if (conn_open(&c) != 0) {
                        return NULL;
                    }
                    body = NULL;
                    break;
                }
            }
            if (body == NULL) {
                break; /* rest of the visit needs this connection */
            }
            atomic_fetch_add(&bytes_in, (long)blen);
            if (st > 0 && st < 600) {
                atomic_fetch_add(&by_status[st], 1);
            }
            if (st != r->status || blen != r->body_len || memcmp(body, r->body, blen) != 0) {
                atomic_fetch_add(&errors, 1);
                report("mismatch", url, st, blen, r);
            } else {
                atomic_fetch_add(&done_ok, 1);
                if (r->logged) {
                    atomic_fetch_add(&logged_expected, 1);
                }
            }
            free(body);
            if (!keep || (v->close_after && i == v->nreqs - 1)) {
                close(c.fd);
                if (conn_open(&c) != 0) {
                    atomic_fetch_add(&io_errors, 1);
                    return NULL;
                }
            }
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: soakload PROXY_PORT SCRIPT CONNECTIONS REQUESTS CLIENT_ADDRS\n");
        return 2;
    }
    proxy_port = atoi(argv[1]);
    load_script(argv[2]);
    int nconn = atoi(argv[3]);
    total_requests = atol(argv[4]);
    client_addrs = atoi(argv[5]) > 0 ? atoi(argv[5]) : 1;
    if (nvisits == 0 || nconn <= 0) {
        fprintf(stderr, "soakload: empty script or no connections\n");
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_t *th = calloc((size_t)nconn, sizeof *th);
    for (int i = 0; i < nconn; i++) {
        pthread_create(&th[i], NULL, worker, (void *)(long)i);
    }
    for (int i = 0; i < nconn; i++) {
        pthread_join(th[i], NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double dt = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    long ok = atomic_load(&done_ok), err = atomic_load(&errors), io = atomic_load(&io_errors);
    printf("requests=%ld ok=%ld mismatches=%ld io_errors=%ld logged_expected=%ld seconds=%.1f rps=%.0f bytes=%ld",
           ok + err, ok, err, io, atomic_load(&logged_expected), dt, (double)(ok + err) / dt,
           atomic_load(&bytes_in));
    for (int s = 100; s < 600; s++) {
        if (atomic_load(&by_status[s])) {
            printf(" status_%d=%ld", s, atomic_load(&by_status[s]));
        }
    }
    printf(" visits=%ld\n", atomic_load(&next_visit));
    return 0;
}
