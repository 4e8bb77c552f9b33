/* substatus.c -- find the IIS "401.x" substatus in a 401 error page.
 *
 * IIS prints the substatus in its error pages: IIS 6 "HTTP Error 401.3 -
 * Unauthorized: Access is denied due to an ACL ...", "HTTP 401.1 -
 * Unauthorized: Logon Failed"; IIS 7+ detailed errors "<h3>HTTP Error 401.2 -
 * Unauthorized</h3>" and titles "IIS 8.5 Detailed Error - 401.2 - Unauthorized";
 * dynamic IP restrictions 401.501-401.503. It tells an administrator which
 * IIS setting refused the request. We accept "401.<1-3 digits>" only right
 * after the word "HTTP" or "Error" (spaces and dashes between) so version
 * numbers and generic pages ("401 Unauthorized") never match. The scan is one
 * pass over the bytes given, O(n), byte-oriented: ASCII-compatible encodings
 * (UTF-8, Latin-1) work, UTF-16 pages do not match. */
#include "substatus.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

/* True when the bytes ending just before at are word (lower-case ASCII),
 * compared case-insensitively, and word is not the tail of a longer word. */
static bool word_before(const char *p, size_t at, const char *word)
{
    size_t wl = strlen(word);
    if (at < wl)
        return false;
    size_t start = at - wl;
    for (size_t i = 0; i < wl; i++)
        if (tolower((unsigned char)p[start + i]) != word[i])
            return false;
    return start == 0 || !isalnum((unsigned char)p[start - 1]);
}

/* True when "401" at position at is introduced by "HTTP" or "Error". */
static bool introduced(const char *p, size_t at)
{
    size_t i = at, skipped = 0;
    /* At least one separator, at most a few: "Error 401", "Error - 401". */
    while (i > 0 && skipped < 4 && (p[i - 1] == ' ' || p[i - 1] == '-' || p[i - 1] == '\t')) {
        i--;
        skipped++;
    }
    if (skipped == 0)
        return false;
    return word_before(p, i, "http") || word_before(p, i, "error");
}

int substatus_find(const char *p, size_t n, char out[SUBSTATUS_MAX])
{
    if (p == NULL)
        return 0;
    for (size_t i = 0; i + 5 <= n; i++) {
        if (p[i] != '4' || p[i + 1] != '0' || p[i + 2] != '1' || p[i + 3] != '.')
            continue;
        if (i > 0 && isalnum((unsigned char)p[i - 1]))
            continue;
        size_t d = i + 4, digits = 0;
        while (d < n && digits < 4 && isdigit((unsigned char)p[d])) {
            d++;
            digits++;
        }
        if (digits == 0 || digits > 3)
            continue;
        /* "401.3.1" or "401.3x" is not a substatus. A page cut right after the
         * digits is accepted: the caller gives us only the start of the body. */
        if (d < n && (isalnum((unsigned char)p[d]) ||
                      (p[d] == '.' && d + 1 < n && isdigit((unsigned char)p[d + 1]))))
            continue;
        if (!introduced(p, i))
            continue;
        memcpy(out, p + i, d - i);
        out[d - i] = '\0';
        return 1;
    }
    return 0;
}
