/* settings.c -- parse and check promptcause's c-icap directives (SPEC §5).
 *
 * One handler per directive, each strict: a value it does not understand is an
 * error, never a silent default. c-icap 0.5.10 does not tell handlers which
 * file and line they are reading and prints nothing about a failed line
 * without -D, then exits with status 0; so on an error we look the line up
 * ourselves (main config file and its Includes), say it on stderr and syslog,
 * and make the exit status 1 with an atexit hook (c-icap's own exit(0) then
 * ends in our _exit(1)). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include <c_icap/c-icap.h>
#include <c_icap/debug.h>

#include "settings.h"
#include "zone.h"

#define SERVICE_PREFIX "promptcause."
#define DEFAULT_CORRELATION_WINDOW 300u
/* Under load a line waits up to this long for others to share its write:
 * no reader could tell, and a server answering 30,000 401s a second makes
 * ~100 writes a second instead of 30,000 (docs/BENCHMARKS.md). */
#define DEFAULT_EVENT_LOG_DELAY_MS 10u
#define DEFAULT_STORE_BYTES (16u * 1024u * 1024u)
#define DEFAULT_MAX_HTML_BYTES 64512u /* the ICAP preview (SPEC §5): every page answered 204 in preview */
#define HANDLER_NAME_MAX 32
#define KEY_MIN 16
#define KEY_MAX 32
#define INCLUDE_DEPTH_MAX 8
#define LINE_MAX_BYTES 8192

static struct settings cur;
static char handler_names[CLASSIFY_HANDLERS_MAX][HANDLER_NAME_MAX];
static char *main_cfg_file;
static bool failed;
static bool exit_hook_set;

const struct settings *settings_get(void)
{
    return &cur;
}

bool settings_failed(void)
{
    return failed;
}

void settings_say(const char *msg)
{
    fprintf(stderr, "promptcause: %s\n", msg);
    syslog(LOG_DAEMON | LOG_ERR, "promptcause: %s", msg);
    ci_debug_printf(1, "promptcause: %s\n", msg);
}

/* Runs inside c-icap's exit(0) after a failed configuration: turn it into 1
 * so init systems and scripts see the failure. */
static void exit_failed_hook(void)
{
    if (failed) {
        _exit(1);
    }
}

/* ---- where did the bad line come from? -------------------------------- */

/* True when line (NUL-terminated) is `promptcause.<directive>` whose words
 * include every argv value. c-icap matches names case-insensitively. */
static bool line_matches(const char *line, const char *directive, const char **argv)
{
    size_t plen = strlen(SERVICE_PREFIX), dlen = strlen(directive);
    while (isspace((unsigned char)*line)) {
        line++;
    }
    if (strncasecmp(line, SERVICE_PREFIX, plen) != 0 || strncasecmp(line + plen, directive, dlen) != 0) {
        return false;
    }
    const char *rest = line + plen + dlen;
    if (*rest != '\0' && !isspace((unsigned char)*rest)) {
        return false;
    }
    for (size_t i = 0; argv != NULL && argv[i] != NULL; i++) {
        if (argv[i][0] != '\0' && strstr(rest, argv[i]) == NULL) {
            return false;
        }
    }
    return true;
}

/* Search file (and the files it Includes, relative ones against its own
 * directory) for the directive line. Writes "file:line" into out and returns
 * true when found. A bounded depth guards against Include loops. */
static bool locate_in(const char *file, const char *directive, const char **argv, int depth, char *out,
                      size_t cap)
{
    char line[LINE_MAX_BYTES];
    unsigned lineno = 0;
    bool found = false;
    FILE *f;

    if (depth > INCLUDE_DEPTH_MAX || (f = fopen(file, "r")) == NULL) {
        return false;
    }
    while (!found && fgets(line, sizeof line, f) != NULL) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line_matches(line, directive, argv)) {
            snprintf(out, cap, "%s:%u", file, lineno);
            found = true;
            break;
        }
        char *p = line;
        while (isspace((unsigned char)*p)) {
            p++;
        }
        if (strncasecmp(p, "Include", 7) == 0 && isspace((unsigned char)p[7])) {
            char inc[PATH_MAX];
            p += 7;
            while (isspace((unsigned char)*p)) {
                p++;
            }
            p[strcspn(p, " \t")] = '\0';
            if (p[0] == '/') {
                snprintf(inc, sizeof inc, "%s", p);
            } else {
                const char *slash = strrchr(file, '/');
                int dirlen = slash ? (int)(slash - file) : 1;
                snprintf(inc, sizeof inc, "%.*s/%s", dirlen, slash ? file : ".", p);
            }
            found = locate_in(inc, directive, argv, depth + 1, out, cap);
        }
    }
    fclose(f);
    return found;
}

/* Report a rejected directive value and mark the configuration failed.
 * Always returns 0, the value c-icap's handlers return on error. */
static int reject(const char *directive, const char **argv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int reject(const char *directive, const char **argv, const char *fmt, ...)
{
    char where[PATH_MAX + 32];
    char why[512];
    char msg[PATH_MAX + 1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (main_cfg_file == NULL || !locate_in(main_cfg_file, directive, argv, 0, where, sizeof where)) {
        snprintf(where, sizeof where, "in the c-icap configuration (%s or a file it includes)",
                 main_cfg_file ? main_cfg_file : "c-icap.conf");
    }
    snprintf(msg, sizeof msg, "%s: " SERVICE_PREFIX "%s: %s", where, directive, why);
    settings_say(msg);
    failed = true;
    if (!exit_hook_set && atexit(exit_failed_hook) == 0) {
        exit_hook_set = true;
    }
    return 0;
}

/* ---- value parsers ------------------------------------------------------ */

/* The single value of a one-value directive, or NULL after rejecting. */
static const char *one_value(const char *directive, const char **argv)
{
    if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0') {
        reject(directive, argv, "expected a value, got none");
        return NULL;
    }
    if (argv[1] != NULL) {
        reject(directive, argv, "expected one value, got more (\"%s\")", argv[1]);
        return NULL;
    }
    return argv[0];
}

/* Parse a positive decimal integer no larger than max. Returns 0 or -1. */
static int parse_positive(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    if (!isdigit((unsigned char)s[0])) {
        return -1;
    }
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v == 0 || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

/* Parse a size: digits with an optional k, M or G suffix (powers of 1024).
 * Returns 0 or -1 (not a size, zero, or above 2^40). */
static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    uint64_t mult = 1;
    if (!isdigit((unsigned char)s[0])) {
        return -1;
    }
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || v == 0) {
        return -1;
    }
    if (*end != '\0') {
        switch (*end) {
        case 'k': case 'K': mult = 1024ull; break;
        case 'm': case 'M': mult = 1024ull * 1024; break;
        case 'g': case 'G': mult = 1024ull * 1024 * 1024; break;
        default: return -1;
        }
        if (end[1] != '\0') {
            return -1;
        }
    }
    if (v > (1ull << 40) / mult) {
        return -1;
    }
    *out = (uint64_t)v * mult;
    return 0;
}

/* on|off into *flag. Returns 0 or -1. */
static int parse_onoff(const char *s, bool *flag)
{
    if (strcasecmp(s, "on") == 0) {
        *flag = true;
        return 0;
    }
    if (strcasecmp(s, "off") == 0) {
        *flag = false;
        return 0;
    }
    return -1;
}

static const struct {
    const char *name;
    int facility;
} facilities[] = {
    { "auth", LOG_AUTH }, { "authpriv", LOG_AUTHPRIV }, { "cron", LOG_CRON }, { "daemon", LOG_DAEMON },
    { "ftp", LOG_FTP }, { "lpr", LOG_LPR }, { "mail", LOG_MAIL }, { "news", LOG_NEWS },
    { "syslog", LOG_SYSLOG }, { "user", LOG_USER }, { "uucp", LOG_UUCP }, { "local0", LOG_LOCAL0 },
    { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 },
    { "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

/* ---- directive handlers (c-icap: return 1 on success, 0 on error) ------- */

static int set_path(const char *directive, const char **argv, char **slot)
{
    const char *v = one_value(directive, argv);
    if (v == NULL) {
        return 0;
    }
    if (v[0] != '/') {
        return reject(directive, argv, "expected an absolute path, got \"%s\"", v);
    }
    char *copy = strdup(v);
    if (copy == NULL) {
        return reject(directive, argv, "out of memory");
    }
    free(*slot);
    *slot = copy;
    return 1;
}

static int cfg_event_log(const char *directive, const char **argv, void *data)
{
    (void)data;
    return set_path(directive, argv, &cur.event_log);
}

static int cfg_key_file(const char *directive, const char **argv, void *data)
{
    (void)data;
    return set_path(directive, argv, &cur.usernames_key_file);
}

static int cfg_syslog(const char *directive, const char **argv, void *data)
{
    (void)data;
    const char *v = one_value(directive, argv);
    if (v == NULL) {
        return 0;
    }
    if (strcasecmp(v, "off") == 0) {
        cur.syslog_facility = -1;
        return 1;
    }
    for (size_t i = 0; i < sizeof facilities / sizeof facilities[0]; i++) {
        if (strcasecmp(v, facilities[i].name) == 0) {
            cur.syslog_facility = facilities[i].facility;
            return 1;
        }
    }
    return reject(directive, argv, "expected off or a syslog facility (daemon, user, local0 ... local7), got \"%s\"",
                  v);
}

/* IntranetHosts and AuthAllowlist: the same patterns, the same messages,
 * into their own rule set. Returns 1, or 0 after reject(). */
static int add_host_patterns(struct zone_rules *rules, const char *directive, const char **argv)
{
    char err[256];
    if (argv == NULL || argv[0] == NULL) {
        return reject(directive, argv, "expected one or more host patterns, got none");
    }
    for (size_t i = 0; argv[i] != NULL; i++) {
        if (zone_rules_add(rules, argv[i], err, sizeof err) != 0) {
            if (strstr(err, argv[i]) != NULL) { /* the reason already quotes the pattern */
                return reject(directive, argv, "%s", err);
            }
            return reject(directive, argv, "bad pattern \"%s\": %s", argv[i], err);
        }
    }
    return 1;
}

static int cfg_intranet(const char *directive, const char **argv, void *data)
{
    (void)data;
    return add_host_patterns(cur.intranet, directive, argv);
}

static int cfg_allowlist(const char *directive, const char **argv, void *data)
{
    (void)data;
    return add_host_patterns(cur.allowlist, directive, argv);
}

static int cfg_handlers(const char *directive, const char **argv, void *data)
{
    (void)data;
    if (argv == NULL || argv[0] == NULL) {
        return reject(directive, argv, "expected one or more extensions like .shtml, got none");
    }
    if (!cur.handlers_set) { /* the first line replaces the default list, later lines add */
        cur.classify.handler_count = 0;
        cur.handlers_set = true;
    }
    for (size_t i = 0; argv[i] != NULL; i++) {
        const char *v = argv[i];
        size_t n = strlen(v);
        if (v[0] != '.' || n < 2 || n >= HANDLER_NAME_MAX) {
            return reject(directive, argv, "expected an extension starting with '.' (at most %d bytes), got \"%s\"",
                          HANDLER_NAME_MAX - 1, v);
        }
        for (size_t j = 1; j < n; j++) {
            if (!isalnum((unsigned char)v[j]) && v[j] != '_' && v[j] != '-') {
                return reject(directive, argv, "unexpected character in extension \"%s\"", v);
            }
        }
        if (cur.classify.handler_count >= CLASSIFY_HANDLERS_MAX) {
            return reject(directive, argv, "more than %d extensions", CLASSIFY_HANDLERS_MAX);
        }
        char *slot = handler_names[cur.classify.handler_count];
        for (size_t j = 0; j <= n; j++) {
            slot[j] = (char)tolower((unsigned char)v[j]);
        }
        cur.classify.handlers[cur.classify.handler_count++] = slot;
    }
    return 1;
}

static int cfg_window(const char *directive, const char **argv, void *data)
{
    (void)data;
    unsigned long v;
    const char *s = one_value(directive, argv);
    if (s == NULL) {
        return 0;
    }
    if (parse_positive(s, 86400, &v) != 0) {
        return reject(directive, argv, "expected seconds between 1 and 86400, got \"%s\"", s);
    }
    cur.correlation_window = (unsigned)v;
    return 1;
}

static int cfg_event_log_delay(const char *directive, const char **argv, void *data)
{
    (void)data;
    unsigned long v = 0;
    const char *s = one_value(directive, argv);
    if (s == NULL) {
        return 0;
    }
    if (strcmp(s, "0") != 0 && parse_positive(s, 10000, &v) != 0) {
        return reject(directive, argv, "expected milliseconds between 0 and 10000, got \"%s\"", s);
    }
    cur.event_log_delay_ms = (unsigned)v;
    return 1;
}

static int cfg_size(const char *directive, const char **argv, void *data)
{
    uint64_t *slot = data;
    const char *s = one_value(directive, argv);
    if (s == NULL) {
        return 0;
    }
    if (parse_size(s, slot) != 0) {
        return reject(directive, argv, "expected a size like 65536, 64k, 16M or 1G, got \"%s\"", s);
    }
    return 1;
}

static int cfg_onoff(const char *directive, const char **argv, void *data)
{
    bool *slot = data;
    const char *s = one_value(directive, argv);
    if (s == NULL) {
        return 0;
    }
    if (parse_onoff(s, slot) != 0) {
        return reject(directive, argv, "expected on or off, got \"%s\"", s);
    }
    return 1;
}

static int cfg_usernames(const char *directive, const char **argv, void *data)
{
    (void)data;
    const char *s = one_value(directive, argv);
    if (s == NULL) {
        return 0;
    }
    if (strcasecmp(s, "log") == 0) {
        cur.classify.usernames = USERNAMES_LOG;
    } else if (strcasecmp(s, "hash") == 0) {
        cur.classify.usernames = USERNAMES_HASH;
    } else if (strcasecmp(s, "off") == 0) {
        cur.classify.usernames = USERNAMES_OFF;
    } else {
        return reject(directive, argv, "expected log, hash or off, got \"%s\"", s);
    }
    return 1;
}

struct ci_conf_entry settings_conf_table[] = {
    { "EventLog", NULL, cfg_event_log, "Path of the JSON Lines event log" },
    { "EventLogDelay", NULL, cfg_event_log_delay, "Milliseconds an event line may wait under load to share a write" },
    { "Syslog", NULL, cfg_syslog, "off, or the syslog facility events are also sent to" },
    { "IntranetHosts", NULL, cfg_intranet, "Host patterns browsers treat as intranet (globs, /regex/, CIDR)" },
    { "AuthAllowlist", NULL, cfg_allowlist, "Host patterns of the browsers' integrated-auth allowlist policy (as IntranetHosts)" },
    { "HandlerExtensions", NULL, cfg_handlers, "Script-mapped extensions (replace the default list)" },
    { "CorrelationWindow", NULL, cfg_window, "Seconds a page stays the parent of its objects" },
    { "StoreBytes", &cur.store_bytes, cfg_size, "Shared memory for the correlation store" },
    { "MaxHtmlBytes", &cur.max_html_bytes, cfg_size, "HTML bytes scanned per page" },
    { "AnnotateResponse", &cur.annotate, cfg_onoff, "Add X-Prompt-Cause to the 401/407 sent to the browser" },
    { "LogHandshakes", &cur.log_handshakes, cfg_onoff, "Log NTLM/Negotiate handshake steps as events" },
    { "UserNames", NULL, cfg_usernames, "log, hash or off: what events say about users" },
    { "UserNamesKeyFile", NULL, cfg_key_file, "Secret key for UserNames hash" },
    { NULL, NULL, NULL, NULL },
};

/* ---- lifecycle ------------------------------------------------------------ */

static void free_held(void)
{
    free(cur.event_log);
    free(cur.usernames_key_file);
    if (cur.intranet != NULL) {
        zone_rules_free(cur.intranet);
    }
    if (cur.allowlist != NULL) {
        zone_rules_free(cur.allowlist);
    }
    memset(&cur, 0, sizeof cur);
}

int settings_reset(const char *cfg_file)
{
    free_held();
    free(main_cfg_file);
    main_cfg_file = NULL;
    failed = false;
    cur.syslog_facility = -1;
    cur.correlation_window = DEFAULT_CORRELATION_WINDOW;
    cur.event_log_delay_ms = DEFAULT_EVENT_LOG_DELAY_MS;
    cur.store_bytes = DEFAULT_STORE_BYTES;
    cur.max_html_bytes = DEFAULT_MAX_HTML_BYTES;
    cur.classify.usernames = USERNAMES_LOG;
    classify_config_default_handlers(&cur.classify);
    if (cfg_file != NULL && (main_cfg_file = strdup(cfg_file)) == NULL) {
        return -1;
    }
    if ((cur.intranet = zone_rules_new()) == NULL) {
        return -1;
    }
    cur.classify.intranet = cur.intranet;
    if ((cur.allowlist = zone_rules_new()) == NULL) {
        return -1;
    }
    cur.classify.allowlist = cur.allowlist;
    return 0;
}

/* Read the UserNames hash key: 16 to 32 bytes, one trailing newline ignored
 * (so `openssl rand -hex 16 > key` works). Returns 0 or -1 with err. */
static int read_key(const char *path, char *err, size_t errlen)
{
    unsigned char buf[KEY_MAX + 3];
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, SERVICE_PREFIX "UserNamesKeyFile: cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    size_t n = fread(buf, 1, sizeof buf, f);
    bool read_error = ferror(f) != 0;
    fclose(f);
    if (read_error) {
        snprintf(err, errlen, SERVICE_PREFIX "UserNamesKeyFile: cannot read %s", path);
        return -1;
    }
    if (n > 0 && buf[n - 1] == '\n') {
        n--;
        if (n > 0 && buf[n - 1] == '\r') {
            n--;
        }
    }
    if (n < KEY_MIN || n > KEY_MAX) {
        snprintf(err, errlen, SERVICE_PREFIX "UserNamesKeyFile: %s must hold %d to %d bytes (e.g. openssl rand -hex 16)",
                 path, KEY_MIN, KEY_MAX);
        return -1;
    }
    memcpy(cur.classify.hash_key, buf, n);
    cur.classify.hash_key_len = n;
    return 0;
}

int settings_finish(char *err, size_t errlen)
{
    if (failed) {
        snprintf(err, errlen, "the configuration has errors (reported above)");
        return -1;
    }
    if (cur.classify.usernames == USERNAMES_HASH) {
        if (cur.usernames_key_file == NULL) {
            snprintf(err, errlen, SERVICE_PREFIX "UserNames hash needs " SERVICE_PREFIX "UserNamesKeyFile");
            return -1;
        }
        if (read_key(cur.usernames_key_file, err, errlen) != 0) {
            return -1;
        }
    }
    return 0;
}

void settings_release(void)
{
    free_held();
    free(main_cfg_file);
    main_cfg_file = NULL;
}
