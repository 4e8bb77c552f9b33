/* icapload.c -- ICAP load client for promptcause's benchmark (tests/bench).
 *
 * Opens N keep-alive connections to one c-icap service and sends RESPMOD
 * requests that carry an HTTP 401 (small body sent whole in the preview, with
 * ieof), each connection as fast as it is answered, for a fixed time or count.
 * --case picks the traffic: `401` (the default above), `type3` (a 401 to a
 * request that carried an NTLM type-3 message: a rejected login), or `page`
 * (a 200 text/html page of 100 KB: 64512 bytes in preview as Squid sends
 * them, the rest after a 100 Continue when the service asks for it).
 * Every answer is read in full (204, or 200 with encapsulated headers and a
 * chunked body to its 0 chunk), so keep-alive holds for any service, srv_echo
 * included. Prints throughput and latency percentiles as one JSON line.
 *
 * One blocking thread per connection: c-icap itself holds one thread per ICAP
 * connection, N stays at a few dozen at most, and a thread that sends, waits
 * and reads measures latency without event-loop scheduling in the way. The
 * cost is a thread stack per connection, irrelevant at this scale.
 * c-icap-client cannot send a 401 and c-icap-stretch sleeps between requests
 * (see CICAP-NOTES), hence this program.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CONN_BUF 65536          /* one ICAP header block must fit */
#define REQ_BUF (8192 + PAGE_PREVIEW + 64) /* one built request (a page's preview) */
#define PAGE_BYTES 102400       /* --case page: a 100 KB HTML page */
#define PAGE_PREVIEW 64512      /* what Squid 5.7 sends of it in preview (promptcause's value) */
#define IO_TIMEOUT_S 10         /* a silent server is an error, not a hang */

/* One kind of 401 the load rotates through, so the service classifies more
 * than one path and its events differ (URLs carry a sequence number too). */
struct scenario {
	const char *host;
	const char *path_head;      /* path = head + sequence tag + tail */
	const char *path_tail;
	const char *accept;
	const char *fetch_dest;     /* Sec-Fetch-Dest, NULL for none */
	const char *referer_path;   /* Referer on the same host, NULL for none */
	const char *authorization;  /* sent credentials, NULL for anonymous */
	const char *challenges;     /* WWW-Authenticate lines, each ending CRLF */
};

static const struct scenario scenarios[] = {
	/* anonymous page on a dotless intranet host offering integrated auth */
	{ "intranet", "/secure/report-", ".html",
	  "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
	  "document", NULL, NULL,
	  "WWW-Authenticate: Negotiate\r\nWWW-Authenticate: NTLM\r\n" },
	/* image embedded in a page on a dotted host, Basic only */
	{ "portal.corp.example.com", "/images/logo-", ".gif",
	  "image/avif,image/webp,image/apng,image/*,*/*;q=0.8",
	  "image", "/index.html", NULL,
	  "WWW-Authenticate: Basic realm=\"portal\"\r\n" },
	/* script-mapped handler on an Internet-zone host */
	{ "apps.example.org", "/app/default-", ".aspx",
	  "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
	  "document", NULL, NULL,
	  "WWW-Authenticate: Negotiate\r\nWWW-Authenticate: NTLM\r\n" },
	/* Basic credentials sent and refused (bob:secret) */
	{ "files", "/share/doc-", ".pdf",
	  "text/html,application/xhtml+xml,*/*;q=0.8",
	  "document", NULL, "Basic Ym9iOnNlY3JldA==",
	  "WWW-Authenticate: Basic realm=\"files\"\r\n" },
};
#define N_SCENARIOS (sizeof scenarios / sizeof scenarios[0])

/* An IIS 10 style 401 body: small, fits any preview, names a substatus. */
static const char body_401[] =
	"<!DOCTYPE html><html><head><title>401 - Unauthorized: Access is denied "
	"due to invalid credentials.</title></head><body><div id=\"header\">"
	"<h1>Server Error</h1></div><div id=\"content\"><fieldset><h2>401 - "
	"Unauthorized: Access is denied due to invalid credentials.</h2><h3>You "
	"do not have permission to view this directory or page using the "
	"credentials that you supplied.</h3></fieldset></div>"
	"<!-- HTTP Error 401.2 - Unauthorized --></body></html>";

struct options {
	const char *host;
	int port;
	const char *service;
	const char *label;
	int conns;
	double duration;            /* seconds; used when per_conn == 0 */
	unsigned long per_conn;     /* requests per connection, 0 = timed */
	int status;                 /* HTTP status inside the RESPMOD */
	unsigned long seq_base;     /* lets rounds use distinct URLs */
	int kase;                   /* CASE_* */
};

enum { CASE_401 = 0, CASE_TYPE3 = 1, CASE_PAGE = 2 };

/* A syntactically complete NTLMSSP type-3 (AUTHENTICATE) message for
 * CORP\alice on WS01 with dummy 24-byte LM/NT responses: what a browser sends
 * as its last handshake step; the server refusing it is a rejected login. */
static const char ntlm_type3[] =
	"NTLM TlRMTVNTUAADAAAAGAAYAEAAAAAYABgAWAAAAAgACABwAAAACgAKAHgAAAAIAAgAggAAAAAAAACKAAAABYKI"
	"ohERERERERERERERERERERERERERERERESIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIkMATwBSAFAAYQBsAGkAYwBl"
	"AFcAUwAwADEA";

/* --case page: the 100 KB page, built once in main (images, links and text,
 * so a scanner has real work), and the continuation sent after a 100. */
static char *page_body;
static char *page_rest;         /* chunk of bytes PAGE_PREVIEW.. + 0 chunk */
static size_t page_rest_len;

/* Per-connection state; one per thread, nothing shared but the counters
 * summed after join and the stop flag. */
struct worker {
	pthread_t tid;
	int index;
	const struct options *opt;
	struct sockaddr_in addr;
	int fd;
	char *buf;                  /* CONN_BUF bytes of received data */
	size_t start, end;          /* unread bytes are buf[start, end) */
	char *req;                  /* REQ_BUF bytes, the request being sent */
	uint32_t *lat_us;           /* latency of each completed request */
	size_t n_lat, cap_lat;
	unsigned long ok, errors, reconnects, st204, st200, xprompt;
	int lat_oom;
	int logged_errors;
};

static atomic_int stop_flag;
static pthread_barrier_t start_barrier;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Say what went wrong on one connection, a few times per thread at most so a
 * dead server does not flood the terminal. */
static void __attribute__((format(printf, 2, 3)))
worker_err(struct worker *w, const char *fmt, ...)
{
	va_list ap;
	if (w->logged_errors >= 3)
		return;
	w->logged_errors++;
	fprintf(stderr, "icapload: conn %d: ", w->index);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void conn_close(struct worker *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	w->start = w->end = 0;
}

/* Connect with TCP_NODELAY and I/O timeouts. Returns 0, or -1 with errno. */
static int conn_open(struct worker *w)
{
	struct timeval tv = { IO_TIMEOUT_S, 0 };
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0 ||
	    connect(fd, (const struct sockaddr *)&w->addr, sizeof w->addr) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	w->fd = fd;
	w->start = w->end = 0;
	return 0;
}

/* Read more bytes into the buffer, compacting it first. Returns bytes read,
 * 0 on orderly close, -1 on error or timeout, -2 when the buffer is full. */
static ssize_t conn_fill(struct worker *w)
{
	ssize_t r;
	if (w->start > 0) {
		memmove(w->buf, w->buf + w->start, w->end - w->start);
		w->end -= w->start;
		w->start = 0;
	}
	if (w->end == CONN_BUF)
		return -2;
	do
		r = recv(w->fd, w->buf + w->end, CONN_BUF - w->end, 0);
	while (r < 0 && errno == EINTR);
	if (r > 0)
		w->end += (size_t)r;
	return r;
}

/* Find `pat` in the unread bytes, reading more as needed. Returns the offset
 * of the byte after the pattern relative to w->start, or -1 on close, error or
 * overflow (the caller treats all three as a failed request). */
static long conn_find(struct worker *w, const char *pat, size_t plen)
{
	size_t scanned = 0;
	for (;;) {
		size_t avail = w->end - w->start;
		if (avail >= plen) {
			const char *p = memmem(w->buf + w->start + scanned, avail - scanned, pat, plen);
			if (p)
				return (long)(p - (w->buf + w->start)) + (long)plen;
			scanned = avail - plen + 1;
		}
		if (conn_fill(w) <= 0)
			return -1;
	}
}

/* Consume n bytes, reading as needed. Returns 0, or -1 on close or error. */
static int conn_skip(struct worker *w, size_t n)
{
	while (n > 0) {
		size_t avail = w->end - w->start;
		if (avail == 0) {
			if (conn_fill(w) <= 0)
				return -1;
			continue;
		}
		size_t take = avail < n ? avail : n;
		w->start += take;
		n -= take;
	}
	return 0;
}

/* Read a chunked ICAP body up to and including its last chunk and trailer.
 * Returns 0, or -1 on bad framing, close or error. */
static int read_chunked(struct worker *w)
{
	for (;;) {
		long eol = conn_find(w, "\r\n", 2);
		char line[32];
		size_t len;
		char *end;
		unsigned long size;
		if (eol < 0)
			return -1;
		len = (size_t)eol - 2;
		if (len >= sizeof line)
			len = sizeof line - 1;  /* extensions may be long; the size comes first */
		memcpy(line, w->buf + w->start, len);
		line[len] = '\0';
		errno = 0;
		size = strtoul(line, &end, 16);
		if (end == line || errno != 0 || size > 64UL * 1024 * 1024)
			return -1;
		w->start += (size_t)eol;
		if (size == 0) {
			/* trailer: header lines up to an empty line */
			for (;;) {
				long t = conn_find(w, "\r\n", 2);
				if (t < 0)
					return -1;
				w->start += (size_t)t;
				if (t == 2)
					return 0;
			}
		}
		if (conn_skip(w, size) < 0)
			return -1;
		eol = conn_find(w, "\r\n", 2);
		if (eol != 2)
			return -1;
		w->start += 2;
	}
}

/* Value of header `name` in the header block [h, h+n), not NUL-terminated;
 * sets *vlen. Returns NULL when absent. First match only. */
static const char *header_value(const char *h, size_t n, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	const char *p = h, *end = h + n;
	while (p < end) {
		const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (!eol)
			eol = end;
		if ((size_t)(eol - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
			const char *v = p + nl + 1;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			*vlen = (size_t)(eol - v);
			return v;
		}
		p = eol + 2;
	}
	return NULL;
}

/* From an Encapsulated value, the offset of its last entry and whether that
 * entry is a body that follows chunked. Returns 0, or -1 when malformed. */
static int parse_encapsulated(const char *v, size_t n, unsigned long *last_off, int *chunked)
{
	char tmp[256];
	char *save = NULL, *tok;
	int seen = 0;
	if (n >= sizeof tmp)
		return -1;
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	for (tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), *e;
		while (*tok == ' ')
			tok++;
		if (!eq)
			return -1;
		*eq = '\0';
		errno = 0;
		*last_off = strtoul(eq + 1, &e, 10);
		if (e == eq + 1 || errno != 0 || *last_off > CONN_BUF)
			return -1;
		*chunked = strcmp(tok, "null-body") != 0 && strlen(tok) > 5 &&
			   strcmp(tok + strlen(tok) - 5, "-body") == 0;
		seen = 1;
	}
	return seen ? 0 : -1;
}

/* Fill page_body with a 100 KB HTML page (40 images and a stylesheet up
 * front, then paragraphs with links and an image every 2 KiB or so) and
 * page_rest with the chunk of its bytes after the preview plus the 0 chunk.
 * Returns 0, or -1 when out of memory. */
static int build_page(void)
{
	size_t n = 0;
	int i = 0;
	page_body = malloc(PAGE_BYTES + 1);
	page_rest = malloc(PAGE_BYTES - PAGE_PREVIEW + 64);
	if (!page_body || !page_rest)
		return -1;
	n += (size_t)snprintf(page_body, PAGE_BYTES + 1,
			      "<!DOCTYPE html><html><head><title>Reports</title>"
			      "<link rel=\"stylesheet\" href=\"/css/site.css\"></head><body>\n");
	for (; i < 40; i++)
		n += (size_t)snprintf(page_body + n, PAGE_BYTES + 1 - n,
				      "<img src=\"/img/icon-%d.png\" alt=\"icon %d\">\n", i, i);
	while (n + 300 < PAGE_BYTES) {
		n += (size_t)snprintf(page_body + n, PAGE_BYTES + 1 - n,
				      "<p>Quarterly figures for unit %d are in <a href=\"/reports/%d.html\">"
				      "report %d</a>; lorem ipsum dolor sit amet, consectetur adipiscing "
				      "elit, sed do eiusmod tempor.</p>\n%s",
				      i, i, i, i % 8 == 0 ? "<img src=\"/img/chart.png\" alt=\"\">\n" : "");
		i++;
	}
	while (n < PAGE_BYTES - 15)
		page_body[n++] = ' ';
	memcpy(page_body + n, "</body></html>\n", 16);  /* ends at PAGE_BYTES, NUL after */
	n += 15;
	if (n != PAGE_BYTES)
		return -1;
	page_rest_len = (size_t)sprintf(page_rest, "%x\r\n", PAGE_BYTES - PAGE_PREVIEW);
	memcpy(page_rest + page_rest_len, page_body + PAGE_PREVIEW, PAGE_BYTES - PAGE_PREVIEW);
	page_rest_len += PAGE_BYTES - PAGE_PREVIEW;
	memcpy(page_rest + page_rest_len, "\r\n0\r\n\r\n", 7);
	page_rest_len += 7;
	return 0;
}

/* Build one RESPMOD request for sequence number seq into w->req.
 * Returns its length, or 0 if it does not fit (a bug, not a load condition). */
static size_t build_request(struct worker *w, unsigned long seq)
{
	const struct options *o = w->opt;
	/* type3: always the intranet page offering Negotiate + NTLM; page: the
	 * same host, a document fetch answered 200 */
	const struct scenario *s = &scenarios[o->kase == CASE_401 ? seq % N_SCENARIOS : 0];
	char tag[48], path[160], reqh[2048], resh[1024], extra[768];
	int reqlen, reslen, n;
	int status = o->kase == CASE_PAGE ? 200 : o->status;
	size_t bodylen = o->kase == CASE_PAGE ? PAGE_BYTES : sizeof body_401 - 1;
	size_t preview = o->kase == CASE_PAGE ? PAGE_PREVIEW : bodylen;
	const char *body = o->kase == CASE_PAGE ? page_body : body_401;
	const char *authz = o->kase == CASE_TYPE3 ? ntlm_type3 : s->authorization;
	const char *reason = status == 401 ? "Unauthorized" :
			     status == 407 ? "Proxy Authentication Required" : "OK";

	snprintf(tag, sizeof tag, "%d-%lu", w->index, seq);
	snprintf(path, sizeof path, "%s%s%s", s->path_head, tag, s->path_tail);
	n = 0;
	extra[0] = '\0';
	if (s->fetch_dest)
		n += snprintf(extra + n, sizeof extra - (size_t)n,
			      "Sec-Fetch-Dest: %s\r\nSec-Fetch-Mode: %s\r\nSec-Fetch-Site: same-origin\r\n",
			      s->fetch_dest, strcmp(s->fetch_dest, "document") == 0 ? "navigate" : "no-cors");
	if (s->referer_path)
		n += snprintf(extra + n, sizeof extra - (size_t)n, "Referer: http://%s%s\r\n",
			      s->host, s->referer_path);
	if (authz)
		snprintf(extra + n, sizeof extra - (size_t)n, "Authorization: %s\r\n", authz);

	reqlen = snprintf(reqh, sizeof reqh,
			  "GET http://%s%s HTTP/1.1\r\n"
			  "Host: %s\r\n"
			  "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
			  "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n"
			  "Accept: %s\r\n"
			  "Accept-Language: en-US,en;q=0.9\r\n"
			  "Accept-Encoding: gzip, deflate\r\n"
			  "%s"
			  "\r\n",
			  s->host, path, s->host, s->accept, extra);
	reslen = snprintf(resh, sizeof resh,
			  "HTTP/1.1 %d %s\r\n"
			  "Content-Type: text/html\r\n"
			  "Server: Microsoft-IIS/10.0\r\n"
			  "%s"
			  "X-Powered-By: ASP.NET\r\n"
			  "Date: Wed, 25 Nov 2026 12:00:00 GMT\r\n"
			  "Content-Length: %zu\r\n"
			  "\r\n",
			  status, reason,
			  status == 407 ? "Proxy-Authenticate: Basic realm=\"proxy\"\r\n" :
			  status == 401 ? s->challenges : "",
			  bodylen);
	if (reqlen < 0 || reslen < 0 || (size_t)reqlen >= sizeof reqh || (size_t)reslen >= sizeof resh)
		return 0;
	n = snprintf(w->req, REQ_BUF,
		     "RESPMOD icap://%s:%d/%s ICAP/1.0\r\n"
		     "Host: %s:%d\r\n"
		     "X-Client-IP: 10.%d.%d.%d\r\n"
		     "Allow: 204\r\n"
		     "Preview: %zu\r\n"
		     "Encapsulated: req-hdr=0, res-hdr=%d, res-body=%d\r\n"
		     "\r\n"
		     "%s%s"
		     "%zx\r\n%.*s\r\n"
		     "%s\r\n\r\n",
		     o->host, o->port, o->service, o->host, o->port,
		     (w->index >> 16) & 255, (w->index >> 8) & 255, (w->index & 255) + 1,
		     preview, reqlen, reqlen + reslen, reqh, resh, preview, (int)preview, body,
		     preview == bodylen ? "0; ieof" : "0");
	if (n < 0 || n >= REQ_BUF)
		return 0;
	return (size_t)n;
}

/* Send the whole buffer. Returns 0, or -1 with errno. */
static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

enum { TX_OK = 0, TX_STATUS = 1, TX_FAIL = 2, TX_CLOSED_IDLE = 3 };

/* Send one request and read its whole answer. Returns TX_OK for 200/204,
 * TX_STATUS for another well-framed ICAP status, TX_CLOSED_IDLE when the
 * server closed before answering a byte (a kept-alive connection it had
 * dropped), TX_FAIL for anything else. *close_after is set when the server
 * said Connection: close. */
static int transact(struct worker *w, size_t reqlen, int *close_after)
{
	long hend;
	int status;
	const char *v;
	size_t vlen;
	unsigned long last_off = 0;
	int chunked = 0;
	ssize_t r;
	int continued = 0;

	*close_after = 0;
	if (send_all(w->fd, w->req, reqlen) < 0) {
		if (errno == EPIPE || errno == ECONNRESET)
			return TX_CLOSED_IDLE;
		worker_err(w, "send: %s", strerror(errno));
		return TX_FAIL;
	}
	if (w->end == w->start) {
		r = conn_fill(w);
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return TX_CLOSED_IDLE;
		if (r < 0) {
			worker_err(w, "recv: %s", r == -1 ? strerror(errno) : "buffer full");
			return TX_FAIL;
		}
	}
again:
	hend = conn_find(w, "\r\n\r\n", 4);
	if (hend < 0) {
		worker_err(w, "no complete ICAP header block");
		return TX_FAIL;
	}
	const char *h = w->buf + w->start;
	if (hend < 12 || strncmp(h, "ICAP/1.0 ", 9) != 0) {
		worker_err(w, "bad ICAP status line");
		return TX_FAIL;
	}
	status = atoi(h + 9);
	v = header_value(h, (size_t)hend, "Connection", &vlen);
	if (v && vlen >= 5 && strncasecmp(v, "close", 5) == 0)
		*close_after = 1;
	if (header_value(h, (size_t)hend, "X-Prompt-Cause", &vlen))
		w->xprompt++;
	v = header_value(h, (size_t)hend, "Encapsulated", &vlen);
	if (status == 100) {
		if (w->opt->kase != CASE_PAGE || continued) {
			worker_err(w, "100 Continue after ieof");
			return TX_FAIL;
		}
		/* the service reads on: send the rest of the page, then its answer */
		w->start += (size_t)hend;
		continued = 1;
		if (send_all(w->fd, page_rest, page_rest_len) < 0) {
			worker_err(w, "send: %s", strerror(errno));
			return TX_FAIL;
		}
		goto again;
	}
	if (v && parse_encapsulated(v, vlen, &last_off, &chunked) < 0) {
		worker_err(w, "bad Encapsulated: %.*s", (int)vlen, v);
		return TX_FAIL;
	}
	w->start += (size_t)hend;
	/* 204 carries no encapsulated part; others carry headers then maybe a body */
	if (status != 204 && v) {
		if (conn_skip(w, last_off) < 0 || (chunked && read_chunked(w) < 0)) {
			worker_err(w, "truncated or malformed encapsulated part (status %d)", status);
			return TX_FAIL;
		}
	}
	if (status == 204) {
		w->st204++;
		return TX_OK;
	}
	if (status == 200) {
		w->st200++;
		return TX_OK;
	}
	worker_err(w, "ICAP status %d", status);
	return TX_STATUS;
}

/* Record one latency, growing the array by doubling. On allocation failure
 * the sample is dropped and lat_oom set, which the report shows. */
static void record_latency(struct worker *w, double seconds)
{
	if (w->n_lat == w->cap_lat) {
		size_t ncap = w->cap_lat ? w->cap_lat * 2 : 65536;
		uint32_t *p = realloc(w->lat_us, ncap * sizeof *p);
		if (!p) {
			w->lat_oom = 1;
			return;
		}
		w->lat_us = p;
		w->cap_lat = ncap;
	}
	double us = seconds * 1e6;
	w->lat_us[w->n_lat++] = us > 4e9 ? UINT32_MAX : (uint32_t)us;
}

/* Thread body: one connection, requests back to back until stopped. */
static void *worker_run(void *arg)
{
	struct worker *w = arg;
	const struct options *o = w->opt;
	unsigned long seq = o->seq_base;
	unsigned long done = 0;

	if (conn_open(w) < 0)
		worker_err(w, "connect: %s", strerror(errno));
	pthread_barrier_wait(&start_barrier);
	while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
		size_t len;
		int close_after = 0, rc = TX_FAIL, attempt;
		double t0;
		if (o->per_conn && done >= o->per_conn)
			break;
		len = build_request(w, seq++);
		if (len == 0) {
			worker_err(w, "request does not fit its buffer");
			w->errors++;
			break;
		}
		t0 = now_s();
		for (attempt = 0; attempt < 2; attempt++) {
			if (w->fd < 0) {
				if (conn_open(w) < 0) {
					worker_err(w, "connect: %s", strerror(errno));
					rc = TX_FAIL;
					break;
				}
				if (attempt > 0 || done > 0)
					w->reconnects++;
			}
			rc = transact(w, len, &close_after);
			if (rc != TX_CLOSED_IDLE)
				break;
			conn_close(w);  /* the server dropped an idle keep-alive: retry once */
		}
		done++;
		if (rc == TX_OK) {
			w->ok++;
			record_latency(w, now_s() - t0);
		} else {
			if (rc == TX_CLOSED_IDLE)
				worker_err(w, "connection closed before an answer, twice");
			w->errors++;
			close_after = 1;
			if (w->fd < 0)
				usleep(10000);  /* server down: do not spin */
		}
		if (close_after)
			conn_close(w);
	}
	conn_close(w);
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* The p-quantile (0 < p <= 1) of sorted samples, in milliseconds, by the
 * nearest-rank method; 0 for no samples. */
static double quantile_ms(const uint32_t *v, size_t n, double p)
{
	size_t k;
	if (n == 0)
		return 0.0;
	k = (size_t)(p * (double)n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1] / 1000.0;
}

/* Print `s` as a JSON string body (labels and service names are plain). */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		if ((unsigned char)*s >= 0x20)
			putchar(*s);
	}
	putchar('"');
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: icapload --port N --service NAME [options]\n"
		"  --host IP          ICAP server address (default 127.0.0.1)\n"
		"  --conns N          concurrent keep-alive connections (default 8)\n"
		"  --duration S       seconds to run (default 10)\n"
		"  --requests N       requests per connection instead of a duration\n"
		"  --status CODE      HTTP status inside the RESPMOD: 401 (default), 407, 200\n"
		"  --case NAME        401 (default: four 401 kinds), type3 (401 to an NTLM\n"
		"                     type-3 login), page (200 text/html, 100 KB, 64512 in preview)\n"
		"  --seq-base N       first URL sequence number (distinct URLs per run)\n"
		"  --label TEXT       copied into the JSON output\n"
		"Prints one JSON line: requests, ok, errors, rps, p50/p90/p99/max in ms.\n"
		"Exit 0 when every request got 200 or 204, 1 when some failed, 2 on bad usage.\n");
}

/* Parse a decimal option value within [lo, hi]. Exits with status 2 if not. */
static unsigned long parse_ul(const char *name, const char *s, unsigned long lo, unsigned long hi)
{
	char *e;
	unsigned long v;
	errno = 0;
	v = strtoul(s, &e, 10);
	if (e == s || *e || errno || v < lo || v > hi) {
		fprintf(stderr, "icapload: bad value for --%s: %s\n", name, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "service", required_argument, NULL, 's' },
		{ "conns", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "requests", required_argument, NULL, 'n' },
		{ "status", required_argument, NULL, 'S' },
		{ "seq-base", required_argument, NULL, 'b' },
		{ "label", required_argument, NULL, 'l' },
		{ "case", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct options o = { "127.0.0.1", 0, NULL, "", 8, 10.0, 0, 401, 0, CASE_401 };
	struct worker *ws;
	struct sockaddr_in addr;
	uint32_t *all;
	size_t n_all = 0;
	unsigned long ok = 0, errors = 0, reconnects = 0, st204 = 0, st200 = 0, xprompt = 0;
	int lat_oom = 0, c, i;
	double t0, elapsed;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'H': o.host = optarg; break;
		case 'p': o.port = (int)parse_ul("port", optarg, 1, 65535); break;
		case 's': o.service = optarg; break;
		case 'c': o.conns = (int)parse_ul("conns", optarg, 1, 1024); break;
		case 'd': {
			char *e;
			o.duration = strtod(optarg, &e);
			if (e == optarg || *e || !(o.duration > 0 && o.duration <= 3600)) {
				fprintf(stderr, "icapload: bad value for --duration: %s\n", optarg);
				return 2;
			}
			break;
		}
		case 'n': o.per_conn = parse_ul("requests", optarg, 1, 100000000UL); break;
		case 'S': o.status = (int)parse_ul("status", optarg, 100, 599); break;
		case 'b': o.seq_base = parse_ul("seq-base", optarg, 0, 1UL << 40); break;
		case 'l': o.label = optarg; break;
		case 'C':
			if (strcmp(optarg, "401") == 0)
				o.kase = CASE_401;
			else if (strcmp(optarg, "type3") == 0)
				o.kase = CASE_TYPE3;
			else if (strcmp(optarg, "page") == 0)
				o.kase = CASE_PAGE;
			else {
				fprintf(stderr, "icapload: --case is 401, type3 or page: %s\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || !o.port || !o.service || !*o.service) {
		usage(stderr);
		return 2;
	}
	if (o.kase == CASE_PAGE && build_page() < 0) {
		fprintf(stderr, "icapload: out of memory\n");
		return 2;
	}
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)o.port);
	if (inet_pton(AF_INET, o.host, &addr.sin_addr) != 1) {
		fprintf(stderr, "icapload: --host must be an IPv4 address: %s\n", o.host);
		return 2;
	}

	ws = calloc((size_t)o.conns, sizeof *ws);
	if (!ws || pthread_barrier_init(&start_barrier, NULL, (unsigned)o.conns + 1) != 0) {
		fprintf(stderr, "icapload: out of memory\n");
		return 2;
	}
	for (i = 0; i < o.conns; i++) {
		struct worker *w = &ws[i];
		w->index = i;
		w->opt = &o;
		w->addr = addr;
		w->fd = -1;
		w->buf = malloc(CONN_BUF);
		w->req = malloc(REQ_BUF);
		if (!w->buf || !w->req) {
			fprintf(stderr, "icapload: out of memory\n");
			return 2;
		}
		if (pthread_create(&w->tid, NULL, worker_run, w) != 0) {
			fprintf(stderr, "icapload: cannot start thread %d\n", i);
			return 2;
		}
	}
	pthread_barrier_wait(&start_barrier);
	t0 = now_s();
	if (!o.per_conn) {
		struct timespec ts;
		ts.tv_sec = (time_t)o.duration;
		ts.tv_nsec = (long)((o.duration - (double)ts.tv_sec) * 1e9);
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		atomic_store(&stop_flag, 1);
	}
	for (i = 0; i < o.conns; i++)
		pthread_join(ws[i].tid, NULL);
	elapsed = now_s() - t0;

	for (i = 0; i < o.conns; i++)
		n_all += ws[i].n_lat;
	all = malloc((n_all ? n_all : 1) * sizeof *all);
	if (!all) {
		fprintf(stderr, "icapload: out of memory\n");
		return 2;
	}
	n_all = 0;
	for (i = 0; i < o.conns; i++) {
		struct worker *w = &ws[i];
		memcpy(all + n_all, w->lat_us, w->n_lat * sizeof *all);
		n_all += w->n_lat;
		ok += w->ok;
		errors += w->errors;
		reconnects += w->reconnects;
		st204 += w->st204;
		st200 += w->st200;
		xprompt += w->xprompt;
		lat_oom |= w->lat_oom;
		free(w->lat_us);
		free(w->buf);
		free(w->req);
	}
	qsort(all, n_all, sizeof *all, cmp_u32);
	double sum = 0;
	for (size_t k = 0; k < n_all; k++)
		sum += all[k];

	printf("{\"label\":");
	json_str(o.label);
	printf(",\"service\":");
	json_str(o.service);
	printf(",\"conns\":%d,\"status\":%d,\"elapsed_s\":%.3f,\"requests\":%lu,\"ok\":%lu,"
	       "\"errors\":%lu,\"reconnects\":%lu,\"icap_204\":%lu,\"icap_200\":%lu,"
	       "\"x_prompt\":%lu,\"rps\":%.1f,\"mean_ms\":%.3f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
	       "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"latency_samples_dropped\":%s}\n",
	       o.conns, o.status, elapsed, ok + errors, ok, errors, reconnects, st204, st200,
	       xprompt, elapsed > 0 ? (double)ok / elapsed : 0.0,
	       n_all ? sum / (double)n_all / 1000.0 : 0.0,
	       quantile_ms(all, n_all, 0.50), quantile_ms(all, n_all, 0.90),
	       quantile_ms(all, n_all, 0.99), n_all ? all[n_all - 1] / 1000.0 : 0.0,
	       lat_oom ? "true" : "false");
	free(all);
	free(ws);
	pthread_barrier_destroy(&start_barrier);
	return errors ? 1 : 0;
}
