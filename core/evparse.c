/* evparse.c -- one event line back to a struct evrec (see evparse.h).
 *
 * jansson parses the line; that costs a tree allocation per line (about
 * 2-4 us), which is well above what c-icap can write, and keeps the JSON
 * grammar someone else's problem. A hand-rolled field scanner would be faster
 * but would have to get escapes and nesting right on hostile input. */
#include "evparse.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Copy the string member key of obj into dst (cap bytes with the NUL);
 * "" for absent, null or non-string members. Over-long values are cut. */
static void copy_member(json_t *obj, const char *key, char *dst, size_t cap)
{
    json_t *v = json_object_get(obj, key);
    dst[0] = '\0';
    if (!json_is_string(v))
        return;
    size_t n = json_string_length(v);
    const char *src = json_string_value(v);
    if (n >= cap) {
        /* Cut at a character boundary: the copy must stay valid UTF-8,
         * since it may end up in an alert label (JSON again). */
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
    /* An embedded NUL (\u0000) simply ends the copy early: harmless. */
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil); avoids timegm's TZ and locale state. */
static long days_from_civil(long y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int evparse_time(const char *s, double *ts)
{
    int y, mo, d, h, mi, se;
    size_t n = strlen(s);
    if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
        s[13] != ':' || s[16] != ':')
        return -1;
    if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
        digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &se))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return -1;
    const char *p = s + 19;
    double frac = 0, scale = 0.1;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9') {
            frac += (*p - '0') * scale;
            scale /= 10;
            p++;
        }
    }
    if (!(strcmp(p, "Z") == 0 || strcmp(p, "z") == 0 || strcmp(p, "+00:00") == 0))
        return -1;
    long days = days_from_civil(y, mo, d);
    *ts = (double)days * 86400.0 + h * 3600.0 + mi * 60.0 + se + frac;
    return 0;
}

enum evparse_result evparse_line(const char *p, size_t n, struct evrec *out)
{
    json_error_t jerr;
    json_t *root = json_loadb(p, n, 0, &jerr);
    enum evparse_result rc = EVPARSE_OK;

    if (root == NULL || !json_is_object(root)) {
        rc = EVPARSE_NOT_JSON;
        goto out;
    }
    json_t *v = json_object_get(root, "v");
    if (!json_is_integer(v) || json_integer_value(v) != 1) {
        rc = EVPARSE_BAD_VERSION;
        goto out;
    }
    json_t *t = json_object_get(root, "ts");
    if (!json_is_string(t) || evparse_time(json_string_value(t), &out->ts) != 0 ||
        !isfinite(out->ts)) {
        rc = EVPARSE_BAD_TIME;
        goto out;
    }
    copy_member(root, "client", out->client, sizeof out->client);
    copy_member(root, "user", out->user, sizeof out->user);
    copy_member(root, "url", out->url, sizeof out->url);
    copy_member(root, "host", out->host, sizeof out->host);
    copy_member(root, "cause", out->cause, sizeof out->cause);
    copy_member(root, "prompt", out->prompt, sizeof out->prompt);
    copy_member(root, "parent", out->parent, sizeof out->parent);
    copy_member(root, "hint", out->hint, sizeof out->hint);
    copy_member(root, "reason", out->reason, sizeof out->reason);
    copy_member(root, "browser", out->browser, sizeof out->browser);
out:
    json_decref(root);
    return rc;
}

bool evparse_prompts(const char *prompt)
{
    return prompt[0] != '\0' && strcmp(prompt, "none") != 0 && strcmp(prompt, "silent") != 0 &&
           strcmp(prompt, "suppressed") != 0;
}
