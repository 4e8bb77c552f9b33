/* rules_file.c -- one reader of storm rules files for watch and analyze (see
 * rules_file.h): the file is read whole (64 KiB at most, so a wrong path to
 * a huge file fails fast), parsed by core's storm_rules_parse with the
 * delivery keys handled here, then given to storm_new once so that rules the
 * detector refuses fail at load, not at the first event. */
#include "rules_file.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

/* storm_rules_parse hook for the keys that are not the detector's. */
static int extra_key(void *arg, const char *key, const char *value, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        int facility;
    } fac[] = {
        {"off", -1},          {"daemon", LOG_DAEMON}, {"user", LOG_USER},     {"local0", LOG_LOCAL0},
        {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4},
        {"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
    };
    struct rules_extra *x = arg;
    if (strcmp(key, "syslog") == 0) {
        for (size_t i = 0; i < sizeof fac / sizeof fac[0]; i++)
            if (strcmp(value, fac[i].name) == 0) {
                x->syslog_facility = fac[i].facility;
                return 0;
            }
        snprintf(err, errlen, "bad syslog facility '%s' (off, daemon, user, local0..local7)", value);
        return -1;
    }
    if (strcmp(key, "timeout") == 0) {
        char *end;
        double d = strtod(value, &end);
        if (*end != '\0' || !(d >= 0.1 && d <= 600)) {
            snprintf(err, errlen, "bad value '%s' for 'timeout'", value);
            return -1;
        }
        x->timeout = d;
        return 0;
    }
    snprintf(err, errlen, "unknown rule '%s'", key);
    return -1;
}

int rules_file_load(const char *path, struct storm_rules *r, struct rules_extra *x, char *err,
                    size_t errlen)
{
    storm_rules_default(r);
    x->syslog_facility = -1;
    x->timeout = 10;
    if (path == NULL)
        return 0;
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        snprintf(err, errlen, "cannot read rules %s: %s", path, strerror(errno));
        return -1;
    }
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf, f);
    bool toolong = n == sizeof buf, rerr = ferror(f);
    fclose(f);
    if (rerr || toolong) {
        snprintf(err, errlen, "cannot read rules %s: %s", path, toolong ? "larger than 64 KiB" : "read error");
        return -1;
    }
    char sub[400];
    if (storm_rules_parse(buf, n, r, extra_key, x, sub, sizeof sub) != 0) {
        snprintf(err, errlen, "%s: %s", path, sub);
        return -1;
    }
    struct storm *probe = storm_new(r); /* refuses combinations the parser cannot see */
    if (probe == NULL) {
        snprintf(err, errlen, "%s: rules refused by the detector (or out of memory)", path);
        return -1;
    }
    storm_free(probe);
    return 0;
}
