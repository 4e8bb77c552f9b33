/* browser.h -- SPEC §2b: which browser sent a request, from its User-Agent.
 *
 * Browsers decide differently whether they log on to a host by themselves
 * (docs/BROWSERS.md cites their source), so the classifier needs the family
 * (Edge, Chrome, Firefox, Safari, IE ...) and the OS. Detection is a bounded
 * substring scan of the User-Agent, refined by Sec-CH-UA-Platform when the
 * browser sends it; nothing allocates and nothing needs NUL-terminated input. */
#ifndef PROMPTCAUSE_BROWSER_H
#define PROMPTCAUSE_BROWSER_H

#include <stdbool.h>
#include <stddef.h>

enum browser_family {
    BROWSER_OTHER = 0,
    BROWSER_EDGE,     /* Chromium Edge ("Edg/"), or legacy EdgeHTML ("Edge/", not Chromium) */
    BROWSER_CHROME,   /* "Chrome/" and the Chromium derivatives that say so (Opera, Brave...) */
    BROWSER_CHROMIUM, /* "Chromium/" */
    BROWSER_FIREFOX,
    BROWSER_SAFARI,
    BROWSER_IE,
};

enum browser_os {
    BROWSER_OS_OTHER = 0,
    BROWSER_OS_WINDOWS,
    BROWSER_OS_MACOS,
    BROWSER_OS_LINUX,
    BROWSER_OS_CHROMEOS,
    BROWSER_OS_ANDROID,
    BROWSER_OS_IOS,
};

struct browser {
    enum browser_family family;
    enum browser_os os;
    bool legacy_edge; /* EdgeHTML Edge: zones like IE, no Chromium policies */
};

/* Longest "family/os" string plus NUL. */
#define BROWSER_NAME_MAX 24

/* Family and OS from a User-Agent (ua, ua_len; may be NULL/0) and a
 * Sec-CH-UA-Platform value (plat, plat_len, quotes as sent; may be NULL/0).
 * A known platform hint overrides the User-Agent's OS. Unknown parts are
 * BROWSER_OTHER / BROWSER_OS_OTHER. Never fails. */
void browser_detect(const char *ua, size_t ua_len, const char *plat, size_t plat_len,
                    struct browser *out);

/* "family/os" into out (cap bytes), e.g. "edge/windows", "other/other".
 * Returns 0, or -1 when out is too small (out then holds ""). */
int browser_format(const struct browser *b, char *out, size_t cap);

/* Parse "family/os" as browser_format writes it (the probe's --browser).
 * Returns 0, or -1 when either part is not one of the names. */
int browser_parse(const char *s, size_t n, struct browser *out);

/* A typical User-Agent of that browser into out (cap bytes), one that
 * browser_detect maps back to the same family and OS (the probe's
 * --browser classifies "as that browser" with it). Returns 0, or -1 when out
 * is too small. */
int browser_sample_user_agent(const struct browser *b, char *out, size_t cap);

const char *browser_family_name(enum browser_family family);
const char *browser_os_name(enum browser_os os);

/* True for the Chromium engine with its HTTP auth stack (Edge, Chrome,
 * Chromium) on an OS where Chromium runs its own network stack (not iOS,
 * where every browser is WebKit). */
bool browser_is_chromium(const struct browser *b);

/* True for Gecko Firefox (not Firefox for iOS, which is WebKit). */
bool browser_is_gecko(const struct browser *b);

#endif
