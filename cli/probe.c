/* probe.c -- `promptcause probe URL...`: will this page make a browser ask
 * for a password, and why (SPEC §6).
 *
 * For each URL: fetch the page anonymously as a navigation, stream its body
 * through the core scanner and the same resolution and de-duplication as
 * `links` (linkset), fetch every object anonymously in parallel
 * (probe_fetch.c), and classify every 401/407 with the core classifier given
 * what a browser would have sent -- so the probe and the c-icap service can
 * never disagree about a response. Prints a table or SPEC §3 event lines.
 * Exit 0: no prompt expected; 1: a prompt expected; 2: error. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "challenge.h"
#include "classify.h"
#include "cli.h"
#include "event.h"
#include "htmlscan.h"
#include "browser.h"
#include "linkset.h"
#include "probe.h"
#include "urlres.h"
#include "zone.h"

#define PROBE_EXIT_PROMPT 1

static const char probe_help[] =
    "usage: promptcause probe [--json] [--proxy URL] [--intranet PATTERN]...\n"
    "                         [--browser FAMILY/OS] [--allowlist PATTERN]...\n"
    "                         [--timeout S] [--max-time S] [--jobs N] URL...\n"
    "\n"
    "Fetch each page anonymously (following redirects), find the objects it\n"
    "embeds (images, scripts, stylesheets, frames, media, plugin objects, CSS\n"
    "url()), fetch them anonymously in parallel, and say for every 401/407 why it\n"
    "happens and whether the browser will show a password box -- with the same\n"
    "classifier the proxy service uses. Credentials are never sent.\n"
    "\n"
    "  --json              one SPEC §3 event (JSON) line per 401/407 instead of\n"
    "                      the table; failed objects are reported on stderr\n"
    "  --proxy URL         fetch through this proxy (default: the http_proxy,\n"
    "                      https_proxy, all_proxy and no_proxy variables)\n"
    "  --intranet PATTERN  a host the browsers treat as Local intranet, as\n"
    "                      IntranetHosts: glob, /regex/ or CIDR; repeatable\n"
    "  --browser FAMILY/OS classify as this browser would (SPEC §2b; default\n"
    "                      edge/windows): FAMILY edge, chrome, chromium, firefox,\n"
    "                      safari, ie, other; OS windows, macos, linux, chromeos,\n"
    "                      android, ios, other. The User-Agent sent stays probe's\n"
    "  --allowlist PATTERN a host of the browsers' integrated-auth allowlist\n"
    "                      (AuthServerAllowlist, trusted-uris), as AuthAllowlist;\n"
    "                      repeatable\n"
    "  --timeout S         seconds per request (default 10)\n"
    "  --max-time S        seconds per page, its objects included (default 60)\n"
    "  --jobs N            objects fetched at once (default 8, at most 64)\n"
    "  --connect-to H:P:CH:CP  (testing) connect to CH:CP for host H port P,\n"
    "                      libcurl's CURLOPT_CONNECT_TO; repeatable\n"
    "  -h, --help          show this help\n"
    "\n"
    "Objects are asked with HEAD, and with GET when HEAD gives 400, 401, 405,\n"
    "407 or 501. A prompt is expected when a 401/407 gives prompt basic, digest,\n"
    "not-intranet, not-allowlisted or rejected (not none, silent or suppressed).\n"
    "Exit 0: no prompt expected; 1: a prompt expected; 2: bad usage, or a page\n"
    "that could not be fetched or did not answer 2xx/401/407.\n";

struct probe_run {
    struct probe_opts opts;
    struct classify_config cfg;
    struct zone_rules *intranet;
    struct zone_rules *allowlist;
    char user_agent[256]; /* sample User-Agent of --browser, classified with */
    int json;
    size_t events, prompts, failed;
};

/* ---- URLs ----------------------------------------------------------------- */

/* url without user info ("http://u:p@h/" -> "http://h/"), normalised, in a
 * malloc'd string. Returns NULL when url is not an absolute http(s) URL or
 * out of memory (*oom says which). */
static char *clean_url(const char *url, int *oom)
{
    size_t n = strlen(url);
    *oom = 0;
    char *tmp = malloc(n + 1), *out = NULL;
    if (tmp == NULL) {
        *oom = 1;
        return NULL;
    }
    const char *sep = strstr(url, "://");
    size_t scheme = sep ? (size_t)(sep - url) : 0;
    if (sep == NULL || !((scheme == 4 && strncasecmp(url, "http", 4) == 0) ||
                         (scheme == 5 && strncasecmp(url, "https", 5) == 0)))
        goto err;
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++)
        if (auth[i] == '@')
            at = auth + i;
    const char *host = at ? at + 1 : auth;
    size_t head = (size_t)(auth - url);
    memcpy(tmp, url, head);
    strcpy(tmp + head, host);
    if (host[0] == '\0' || host[0] == '/' || host[0] == '?' || host[0] == '#')
        goto err;
    size_t cap = 3 * n + 16, len;
    out = malloc(cap);
    if (out == NULL) {
        *oom = 1;
        goto err;
    }
    int rc = urlres_normalise(tmp, strlen(tmp), out, cap, &len);
    if (rc != URLRES_OK) {
        *oom = rc == URLRES_ENOMEM;
        free(out);
        out = NULL;
    }
err:
    free(tmp);
    return out;
}

/* The object type named by a linkset line, OBJECT_OTHER when unknown. */
static enum event_object type_of_name(const char *p, size_t n)
{
    for (int t = OBJECT_DOCUMENT; t <= OBJECT_OTHER; t++) {
        const char *name = event_object_name((enum event_object)t);
        if (name != NULL && strlen(name) == n && memcmp(name, p, n) == 0)
            return (enum event_object)t;
    }
    return OBJECT_OTHER;
}

/* ---- scanning ------------------------------------------------------------- */

/* The page body goes through htmlscan into a linkset that prints "TYPE URL"
 * lines into a memory stream: the same resolution and (type, URL)
 * de-duplication as `links`, read back afterwards. */
struct scan {
    struct htmlscan *hs;
    struct linkset *ls;
    FILE *mem;
    char *text;
    size_t text_len;
    int oom;
};

static void on_ref(void *arg, enum htmlscan_ref ref, enum event_object type, const char *url,
                   size_t len)
{
    struct scan *s = arg;
    int rc = ref == HTMLSCAN_BASE ? linkset_base(s->ls, url, len)
                                  : linkset_add(s->ls, type, url, len);
    if (rc < 0)
        s->oom = 1;
}

/* The page body, chunk by chunk: the linkset is made on the first chunk,
 * when the URL that answered (after redirects) is known. */
static void on_page_body(void *arg, const char *url, const char *p, size_t n)
{
    struct scan *s = arg;
    if (s->oom)
        return;
    if (s->ls == NULL) {
        s->ls = linkset_new(url, strlen(url), s->mem);
        if (s->ls == NULL) {
            s->oom = 1;
            return;
        }
    }
    htmlscan_feed(s->hs, p, n);
}

/* Start a scan (the linkset comes with the first body chunk). Returns 0,
 * or -1 when out of memory. */
static int scan_open(struct scan *s)
{
    memset(s, 0, sizeof *s);
    s->hs = htmlscan_new(on_ref, s);
    s->mem = open_memstream(&s->text, &s->text_len);
    return s->hs != NULL && s->mem != NULL ? 0 : -1;
}

static void scan_close(struct scan *s)
{
    htmlscan_free(s->hs);
    linkset_free(s->ls);
    if (s->mem != NULL)
        fclose(s->mem);
    free(s->text);
}

/* Turn the scanned lines into items (page first at index 0 is not included),
 * each URL once (first type wins), without user info, at most
 * PROBE_OBJECTS_MAX. Duplicate search is linear: O(n^2) over at most 5000
 * objects, a few milliseconds. Returns the count, or -1 when out of memory. */
static long scan_items(struct scan *s, struct probe_item **out)
{
    struct probe_item *items = NULL;
    size_t n = 0, cap = 0;
    *out = NULL;
    if (s->mem == NULL || fflush(s->mem) != 0)
        return -1;
    const char *p = s->text ? s->text : "", *end = p + s->text_len;
    while (p < end && n < PROBE_OBJECTS_MAX) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        const char *sp = memchr(p, ' ', (size_t)(eol - p));
        if (sp != NULL) {
            char *url = strndup(sp + 1, (size_t)(eol - sp - 1));
            int oom = 0;
            char *clean = url ? clean_url(url, &oom) : NULL;
            free(url);
            if (url == NULL || oom)
                goto err;
            int dup = clean == NULL;
            for (size_t i = 0; !dup && i < n; i++)
                dup = strcmp(items[i].url, clean) == 0;
            if (dup) {
                free(clean);
            } else {
                if (n == cap) {
                    size_t ncap = cap ? 2 * cap : 64;
                    struct probe_item *ni = realloc(items, ncap * sizeof *ni);
                    if (ni == NULL) {
                        free(clean);
                        goto err;
                    }
                    items = ni;
                    cap = ncap;
                }
                memset(&items[n], 0, sizeof items[n]);
                items[n].url = clean;
                items[n].type = type_of_name(p, (size_t)(sp - p));
                n++;
            }
        }
        p = nl ? nl + 1 : end;
    }
    if (p < end)
        fprintf(stderr, "promptcause probe: more than %d objects; the rest are not probed\n",
                PROBE_OBJECTS_MAX);
    *out = items;
    return (long)n;
err:
    for (size_t i = 0; i < n; i++)
        free(items[i].url);
    free(items);
    return -1;
}

/* ---- classification and output -------------------------------------------- */

static double wall_now(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static int prompt_expected(enum event_prompt p)
{
    return p == PROMPT_BASIC || p == PROMPT_DIGEST || p == PROMPT_NOT_INTRANET ||
           p == PROMPT_NOT_ALLOWLISTED || p == PROMPT_REJECTED;
}

/* Classify it (a response to a request with no credentials) as the service
 * would: parent is the page for an object, NULL for the page itself.
 * Returns 1 with ev filled for a 401/407, else 0. */
static int classify_item(struct probe_run *r, const struct probe_item *it, const char *parent,
                         struct event *ev, struct challenge_set *set)
{
    if (it->state != PROBE_DONE || (it->status != 401 && it->status != 407))
        return 0;
    const char *want = it->status == 407 ? "proxy-authenticate:" : "www-authenticate:";
    size_t wn = strlen(want);
    challenge_set_init(set);
    for (const char *h = probe_header_next(it, NULL); h != NULL; h = probe_header_next(it, h))
        if (strncasecmp(h, want, wn) == 0)
            (void)challenge_parse(set, h + wn, strlen(h + wn));

    const char *accept, *dest, *mode;
    probe_browser_headers(parent ? it->type : OBJECT_DOCUMENT, &accept, &dest, &mode);
    struct classify_input in = {
        .ts = wall_now(),
        .method = "GET",
        .url = it->effective_url ? it->effective_url : it->url,
        .status = it->status,
        .challenges = set,
        .referer = parent,
        .sec_fetch_dest = dest,
        .sec_fetch_mode = mode,
        .accept = accept,
        .body = it->body,
        .body_len = it->body_len,
        .html_parent = parent,
        .html_object = parent ? it->type : OBJECT_UNKNOWN,
        .user_agent = r->user_agent,
    };
    return classify(&r->cfg, &in, ev);
}

static const char *dash(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : "-";
}

/* One line of the table; the strings point into the item or its event. */
struct row {
    const char *object, *type, *cause, *prompt, *hint;
    char status[16];
};

/* Fill row (and ev, for a 401/407) for it, print the event line with
 * --json, count events, prompts and failures. Returns 0, or -1 when out of
 * memory. */

static int report(struct probe_run *r, const struct probe_item *it, const char *parent,
                  struct row *row, struct event *ev)
{
    struct challenge_set set;
    const char *tname = event_object_name(parent ? it->type : OBJECT_DOCUMENT);
    memset(row, 0, sizeof *row);
    /* A failed transfer's effective URL may be a refused redirect target
     * (with user info): show what was asked for. */
    row->object = it->state == PROBE_DONE && it->effective_url ? it->effective_url : it->url;
    row->type = tname ? tname : "other";
    row->cause = row->prompt = "-";
    row->hint = "";
    switch (it->state) {
    case PROBE_DONE:
        snprintf(row->status, sizeof row->status, "%d", it->status);
        break;
    case PROBE_SKIPPED:
        snprintf(row->status, sizeof row->status, "skipped");
        row->hint = it->error;
        break;
    case PROBE_PENDING:
    case PROBE_FAILED:
        snprintf(row->status, sizeof row->status, "failed");
        row->hint = it->error;
        break;
    }
    if (it->state == PROBE_FAILED || it->state == PROBE_SKIPPED) {
        r->failed++;
        if (r->json)
            fprintf(stderr, "promptcause probe: %s: %s\n", it->url, it->error);
    }
    if (classify_item(r, it, parent, ev, &set) != 1)
        return 0;
    r->events++;
    if (prompt_expected(ev->prompt))
        r->prompts++;
    row->cause = dash(event_cause_name(ev->cause));
    row->prompt = dash(event_prompt_name(ev->prompt));
    row->hint = ev->hint;
    if (r->json) {
        char *line = event_format(ev);
        if (line == NULL)
            return -1;
        fputs(line, stdout);
        free(line);
    }
    return 0;
}

/* Print the page and its objects as one table block. Returns 0, or -1 when
 * out of memory. */
static int print_block(struct probe_run *r, const struct probe_item *page,
                       const struct probe_item *items, size_t n)
{
    struct event *evs = calloc(n + 1, sizeof *evs);
    struct row *rows = calloc(n + 1, sizeof *rows);
    int rc = -1;
    if (evs == NULL || rows == NULL)
        goto err;
    const char *parent = page->effective_url ? page->effective_url : page->url;
    if (report(r, page, NULL, &rows[0], &evs[0]) < 0)
        goto err;
    for (size_t i = 0; i < n; i++)
        if (report(r, &items[i], parent, &rows[i + 1], &evs[i + 1]) < 0)
            goto err;
    if (!r->json) {
        int w = 6;
        for (size_t i = 0; i <= n; i++) {
            int l = (int)strlen(rows[i].object);
            if (l > w)
                w = l < 72 ? l : 72;
        }
        printf("%-*s  %-8s  %-7s  %-20s  %-12s  %s\n", w, "OBJECT", "TYPE", "STATUS", "CAUSE",
               "PROMPT", "HINT");
        for (size_t i = 0; i <= n; i++)
            printf("%-*s  %-8s  %-7s  %-20s  %-12s  %s\n", w, rows[i].object, rows[i].type,
                   rows[i].status, rows[i].cause, rows[i].prompt, rows[i].hint);
        putchar('\n');
    }
    rc = 0;
err:
    free(rows);
    free(evs);
    return rc;
}

/* ---- one page ------------------------------------------------------------- */

/* Probe one URL and print what was found. Returns 0 when the page was
 * probed, 1 when it could not be (message on stderr), -1 when out of memory. */
static int probe_page(struct probe_run *r, const char *arg)
{
    struct probe_item page = {0};
    struct probe_item *items = NULL;
    long n = 0;
    struct scan s;
    int rc = -1, oom = 0;
    long long deadline = probe_now_ms() + r->opts.max_time_ms;

    if (scan_open(&s) < 0)
        goto err;
    page.type = OBJECT_DOCUMENT;
    page.url = clean_url(arg, &oom);
    if (page.url == NULL) {
        if (!oom) {
            cli_fail("probe", "not an http(s) URL: %s", arg);
            rc = 1;
        }
        goto err;
    }
    if (probe_fetch_page(&r->opts, &page, on_page_body, &s) < 0) {
        if (strcmp(page.error, "out of memory") == 0)
            goto err;
        cli_fail("probe", "%s: %s", page.url, page.error);
        rc = 1;
        goto err;
    }
    if (s.oom)
        goto err;
    if (page.status >= 200 && page.status < 300) {
        if (s.ls != NULL)
            htmlscan_finish(s.hs);
        if (s.oom || (n = scan_items(&s, &items)) < 0)
            goto err;
        const char *parent = page.effective_url ? page.effective_url : page.url;
        if (probe_fetch_objects(&r->opts, parent, items, (size_t)n, deadline) < 0)
            goto err;
    }
    if (print_block(r, &page, items, (size_t)n) < 0)
        goto err;
    rc = 0;
    if (page.status != 401 && page.status != 407 && (page.status < 200 || page.status >= 300)) {
        cli_fail("probe", "%s: the page answered %d", page.url, page.status);
        rc = 1;
    }
err:
    probe_item_clear(&page);
    free(page.url);
    for (long i = 0; i < n; i++) {
        probe_item_clear(&items[i]);
        free(items[i].url);
    }
    free(items);
    scan_close(&s);
    return rc;
}

/* ---- options ---------------------------------------------------------------- */

/* Seconds (decimal) in text as milliseconds > 0; -1 when not a number. */
static long parse_seconds(const char *text)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !(v > 0) || v > 86400)
        return -1;
    long ms = (long)(v * 1000.0 + 0.5);
    return ms > 0 ? ms : 1;
}

/* True when a proxy URL carries user info (credentials). */
static int proxy_has_credentials(const char *url)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t alen = strcspn(p, "/?#");
    return memchr(p, '@', alen) != NULL;
}

/* libcurl would send the credentials of a proxy variable; refuse them. */
static const char *env_proxy_with_credentials(void)
{
    static const char *const vars[] = {"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy",
                                       "ALL_PROXY"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v != NULL && proxy_has_credentials(v))
            return vars[i];
    }
    return NULL;
}

int probe_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"proxy", required_argument, NULL, 'p'},
        {"intranet", required_argument, NULL, 'i'},
        {"browser", required_argument, NULL, 'b'},
        {"allowlist", required_argument, NULL, 'a'},
        {"timeout", required_argument, NULL, 't'},
        {"max-time", required_argument, NULL, 'm'},
        {"jobs", required_argument, NULL, 'J'},
        {"connect-to", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct probe_run r = {0};
    struct curl_slist *connect_to = NULL;
    int rc = CLI_EXIT_USAGE, o, curl_up = 0;
    char err[256];

    r.opts.timeout_ms = 10000;
    r.opts.max_time_ms = 60000;
    r.opts.jobs = 8;
    classify_config_default_handlers(&r.cfg);
    r.intranet = zone_rules_new();
    if (r.intranet == NULL)
        return cli_fail("probe", "out of memory");
    r.cfg.intranet = r.intranet;
    r.allowlist = zone_rules_new();
    if (r.allowlist == NULL) {
        zone_rules_free(r.intranet);
        return cli_fail("probe", "out of memory");
    }
    r.cfg.allowlist = r.allowlist;
    struct browser br = { .family = BROWSER_EDGE, .os = BROWSER_OS_WINDOWS };

    opterr = 0;
    optind = 1;
    while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (o) {
        case 'j':
            r.json = 1;
            break;
        case 'p':
            if (proxy_has_credentials(optarg)) {
                cli_fail("probe", "--proxy must not carry credentials: probe never sends any");
                goto out;
            }
            r.opts.proxy = optarg;
            break;
        case 'i':
            if (zone_rules_add(r.intranet, optarg, err, sizeof err) < 0) {
                cli_fail("probe", "--intranet %s: %s", optarg, err);
                goto out;
            }
            break;
        case 'a':
            if (zone_rules_add(r.allowlist, optarg, err, sizeof err) < 0) {
                cli_fail("probe", "--allowlist %s: %s", optarg, err);
                goto out;
            }
            break;
        case 'b':
            if (browser_parse(optarg, strlen(optarg), &br) < 0) {
                cli_fail("probe", "--browser needs FAMILY/OS (edge|chrome|chromium|firefox|safari|"
                         "ie|other / windows|macos|linux|chromeos|android|ios|other): %s", optarg);
                goto out;
            }
            break;
        case 't':
        case 'm': {
            long ms = parse_seconds(optarg);
            if (ms < 0) {
                cli_fail("probe", "--%s needs seconds > 0: %s", o == 't' ? "timeout" : "max-time",
                         optarg);
                goto out;
            }
            if (o == 't')
                r.opts.timeout_ms = ms;
            else
                r.opts.max_time_ms = ms;
            break;
        }
        case 'J': {
            char *end;
            long j = strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || j < 1 || j > 64) {
                cli_fail("probe", "--jobs needs a number from 1 to 64: %s", optarg);
                goto out;
            }
            r.opts.jobs = (int)j;
            break;
        }
        case 'c': {
            struct curl_slist *l = curl_slist_append(connect_to, optarg);
            if (l == NULL) {
                cli_fail("probe", "out of memory");
                goto out;
            }
            connect_to = l;
            break;
        }
        case 'h':
            fputs(probe_help, stdout);
            rc = 0;
            goto out;
        default:
            if (optopt != 0)
                cli_fail("probe", "--%s needs a value (try --help)",
                         optopt == 'p' ? "proxy" : optopt == 'i' ? "intranet"
                                      : optopt == 'b' ? "browser" : optopt == 'a' ? "allowlist"
                                      : optopt == 't' ? "timeout" : optopt == 'm' ? "max-time"
                                      : optopt == 'J' ? "jobs" : "connect-to");
            else
                cli_fail("probe", "unknown option '%s' (try --help)", argv[optind - 1]);
            goto out;
        }
    }
    if (browser_sample_user_agent(&br, r.user_agent, sizeof r.user_agent) < 0) {
        cli_fail("probe", "internal error: User-Agent buffer too small");
        goto out;
    }
    if (optind >= argc) {
        cli_fail("probe", "missing URL (try --help)");
        goto out;
    }
    const char *var = r.opts.proxy == NULL ? env_proxy_with_credentials() : NULL;
    if (var != NULL) {
        cli_fail("probe", "%s carries credentials and probe never sends any: unset it or "
                 "give --proxy", var);
        goto out;
    }
    r.opts.connect_to = connect_to;
    r.opts.verbose = getenv("PROMPTCAUSE_PROBE_VERBOSE") != NULL;
    if (probe_fetch_init() < 0)
        goto out;
    curl_up = 1;

    int errors = 0;
    for (int i = optind; i < argc; i++) {
        int pr = probe_page(&r, argv[i]);
        if (pr < 0) {
            cli_fail("probe", "out of memory");
            goto out;
        }
        errors += pr;
    }
    if (!r.json)
        printf("%d page(s): %zu 401/407, %zu would prompt, %zu not probed\n", argc - optind,
               r.events, r.prompts, r.failed);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_fail("probe", "cannot write output: %s", strerror(errno));
        goto out;
    }
    rc = errors ? CLI_EXIT_USAGE : r.prompts ? PROBE_EXIT_PROMPT : 0;
out:
    if (curl_up)
        probe_fetch_cleanup();
    curl_slist_free_all(connect_to);
    zone_rules_free(r.intranet);
    zone_rules_free(r.allowlist);
    return rc;
}
