/* browser.c -- SPEC §2b: browser family and OS from User-Agent and
 * Sec-CH-UA-Platform.
 *
 * Order matters because browsers borrow each other's tokens: Edge says
 * "Chrome/" and "Safari/", Chrome says "Safari/", Android says "Linux".
 * Each test is a bounded substring search over (p, n); a User-Agent of any
 * size costs a dozen linear scans and no allocation. */
#include "browser.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const family_names[] = {
    [BROWSER_OTHER] = "other",       [BROWSER_EDGE] = "edge",     [BROWSER_CHROME] = "chrome",
    [BROWSER_CHROMIUM] = "chromium", [BROWSER_FIREFOX] = "firefox", [BROWSER_SAFARI] = "safari",
    [BROWSER_IE] = "ie",
};

static const char *const os_names[] = {
    [BROWSER_OS_OTHER] = "other",       [BROWSER_OS_WINDOWS] = "windows", [BROWSER_OS_MACOS] = "macos",
    [BROWSER_OS_LINUX] = "linux",       [BROWSER_OS_CHROMEOS] = "chromeos",
    [BROWSER_OS_ANDROID] = "android",   [BROWSER_OS_IOS] = "ios",
};

#define NFAMILIES (sizeof family_names / sizeof family_names[0])
#define NOS (sizeof os_names / sizeof os_names[0])

const char *browser_family_name(enum browser_family family)
{
    return (size_t)family < NFAMILIES ? family_names[family] : "other";
}

const char *browser_os_name(enum browser_os os)
{
    return (size_t)os < NOS ? os_names[os] : "other";
}

/* True when the NUL-terminated needle occurs in (p, n); case-sensitive, as
 * the tokens are (a User-Agent is not case-folded by browsers). */
static bool has(const char *p, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    if (p == NULL || m == 0 || m > n)
        return false;
    for (size_t i = 0; i + m <= n; i++) {
        const char *hit = memchr(p + i, needle[0], n - m + 1 - i);
        if (hit == NULL)
            return false;
        i = (size_t)(hit - p);
        if (memcmp(hit, needle, m) == 0)
            return true;
    }
    return false;
}

static enum browser_family family_of_ua(const char *p, size_t n, bool *legacy_edge)
{
    *legacy_edge = false;
    if (has(p, n, "Edg/") || has(p, n, "EdgA/") || has(p, n, "EdgiOS/"))
        return BROWSER_EDGE;
    if (has(p, n, "Edge/")) {
        *legacy_edge = true;
        return BROWSER_EDGE;
    }
    if (has(p, n, "Chromium/"))
        return BROWSER_CHROMIUM;
    if (has(p, n, "Chrome/") || has(p, n, "CriOS/"))
        return BROWSER_CHROME;
    if (has(p, n, "Firefox/") || has(p, n, "FxiOS/"))
        return BROWSER_FIREFOX;
    if (has(p, n, "Trident/") || has(p, n, "MSIE "))
        return BROWSER_IE;
    if (has(p, n, "Safari/"))
        return BROWSER_SAFARI;
    return BROWSER_OTHER;
}

static enum browser_os os_of_ua(const char *p, size_t n)
{
    if (has(p, n, "Windows NT") || has(p, n, "Windows Phone"))
        return BROWSER_OS_WINDOWS;
    if (has(p, n, "iPhone") || has(p, n, "iPad") || has(p, n, "iPod"))
        return BROWSER_OS_IOS;
    if (has(p, n, "Android"))
        return BROWSER_OS_ANDROID;
    if (has(p, n, "CrOS"))
        return BROWSER_OS_CHROMEOS;
    if (has(p, n, "Macintosh"))
        return BROWSER_OS_MACOS;
    /* "X11; Linux x86_64", but also Firefox's "X11; Ubuntu; Linux x86_64" */
    if (has(p, n, "Linux"))
        return BROWSER_OS_LINUX;
    return BROWSER_OS_OTHER;
}

/* Sec-CH-UA-Platform is a structured-header string: "\"Windows\"". Returns
 * the OS it names, or BROWSER_OS_OTHER for "Unknown", garbage or absence. */
static enum browser_os os_of_platform(const char *p, size_t n)
{
    static const struct {
        const char *name;
        enum browser_os os;
    } names[] = {
        { "Windows", BROWSER_OS_WINDOWS }, { "macOS", BROWSER_OS_MACOS },
        { "Linux", BROWSER_OS_LINUX },     { "Chrome OS", BROWSER_OS_CHROMEOS },
        { "Chromium OS", BROWSER_OS_CHROMEOS }, { "Android", BROWSER_OS_ANDROID },
        { "iOS", BROWSER_OS_IOS },
    };
    if (p == NULL)
        return BROWSER_OS_OTHER;
    while (n > 0 && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
        p++;
        n -= 2;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strlen(names[i].name) == n && strncasecmp(p, names[i].name, n) == 0)
            return names[i].os;
    }
    return BROWSER_OS_OTHER;
}

void browser_detect(const char *ua, size_t ua_len, const char *plat, size_t plat_len,
                    struct browser *out)
{
    memset(out, 0, sizeof *out);
    if (ua != NULL && ua_len > 0) {
        out->family = family_of_ua(ua, ua_len, &out->legacy_edge);
        out->os = os_of_ua(ua, ua_len);
    }
    enum browser_os hinted = os_of_platform(plat, plat_len);
    if (hinted != BROWSER_OS_OTHER)
        out->os = hinted;
}

int browser_format(const struct browser *b, char *out, size_t cap)
{
    const char *f = browser_family_name(b->family);
    const char *o = browser_os_name(b->os);
    size_t fl = strlen(f), ol = strlen(o);
    if (cap == 0)
        return -1;
    if (fl + 1 + ol + 1 > cap) {
        out[0] = '\0';
        return -1;
    }
    memcpy(out, f, fl);
    out[fl] = '/';
    memcpy(out + fl + 1, o, ol);
    out[fl + 1 + ol] = '\0';
    return 0;
}

/* Index of the name equal to (p, n) in names, or -1. */
static int name_index(const char *const *names, size_t count, const char *p, size_t n)
{
    for (size_t i = 0; i < count; i++) {
        if (strlen(names[i]) == n && strncasecmp(p, names[i], n) == 0)
            return (int)i;
    }
    return -1;
}

int browser_parse(const char *s, size_t n, struct browser *out)
{
    if (s == NULL)
        return -1;
    const char *slash = memchr(s, '/', n);
    if (slash == NULL)
        return -1;
    size_t fl = (size_t)(slash - s);
    int f = name_index(family_names, NFAMILIES, s, fl);
    int o = name_index(os_names, NOS, slash + 1, n - fl - 1);
    if (f < 0 || o < 0)
        return -1;
    memset(out, 0, sizeof *out);
    out->family = (enum browser_family)f;
    out->os = (enum browser_os)o;
    return 0;
}

bool browser_is_chromium(const struct browser *b)
{
    bool engine = b->family == BROWSER_CHROME || b->family == BROWSER_CHROMIUM ||
                  (b->family == BROWSER_EDGE && !b->legacy_edge);
    return engine && b->os != BROWSER_OS_IOS;
}

bool browser_is_gecko(const struct browser *b)
{
    return b->family == BROWSER_FIREFOX && b->os != BROWSER_OS_IOS;
}

int browser_sample_user_agent(const struct browser *b, char *out, size_t cap)
{
    static const char *const platforms[] = {
        [BROWSER_OS_OTHER] = "compatible",
        [BROWSER_OS_WINDOWS] = "Windows NT 10.0; Win64; x64",
        [BROWSER_OS_MACOS] = "Macintosh; Intel Mac OS X 10_15_7",
        [BROWSER_OS_LINUX] = "X11; Linux x86_64",
        [BROWSER_OS_CHROMEOS] = "X11; CrOS x86_64 14541.0.0",
        [BROWSER_OS_ANDROID] = "Linux; Android 10; K",
        [BROWSER_OS_IOS] = "iPhone; CPU iPhone OS 18_1 like Mac OS X",
    };
    static const char webkit[] = "AppleWebKit/537.36 (KHTML, like Gecko) ";
    bool ios = b->os == BROWSER_OS_IOS;
    const char *product = "";
    const char *prefix = "";
    switch (b->family) {
    case BROWSER_EDGE:
        prefix = webkit;
        product = ios ? "EdgiOS/131.0.2903.92 Mobile/15E148 Safari/605.1.15"
                      : b->legacy_edge ? "Chrome/70.0.3538.102 Safari/537.36 Edge/18.19045"
                                       : "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
        break;
    case BROWSER_CHROME:
        prefix = webkit;
        product = ios ? "CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1"
                      : "Chrome/131.0.0.0 Safari/537.36";
        break;
    case BROWSER_CHROMIUM:
        prefix = webkit;
        product = "Chromium/131.0.6778.85 Chrome/131.0.6778.85 Safari/537.36";
        break;
    case BROWSER_FIREFOX:
        product = ios ? "AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15"
                      : "Gecko/20100101 Firefox/133.0";
        break;
    case BROWSER_SAFARI:
        product = "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15";
        break;
    case BROWSER_IE:
        product = "Trident/7.0; rv:11.0) like Gecko";
        break;
    case BROWSER_OTHER:
        break;
    }
    const char *platform = (size_t)b->os < NOS ? platforms[b->os] : platforms[BROWSER_OS_OTHER];
    int w = snprintf(out, cap, "Mozilla/5.0 (%s%s %s%s", platform,
                     b->family == BROWSER_IE ? ";" : ")", prefix, product);
    return w < 0 || (size_t)w >= cap ? -1 : 0;
}
