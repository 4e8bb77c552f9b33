/* rules_file.h -- reading a storm rules file (etc/storm-rules.example) for
 * both `watch` and `analyze`: admins keep one file, so both commands accept
 * every key of it, detector keys and watch's delivery keys alike. */
#ifndef PROMPTCAUSE_RULES_FILE_H
#define PROMPTCAUSE_RULES_FILE_H

#include <stddef.h>

#include "storm.h"

/* Settings a rules file carries beside the detector's own (used by watch;
 * analyze checks them and ignores them). */
struct rules_extra {
    int syslog_facility; /* a LOG_* facility, -1: off */
    double timeout;      /* seconds per alert delivery request */
};

/* Read rules from path (at most 64 KiB) on top of the defaults, into *r and
 * *x; path NULL gives the defaults. Returns 0, or -1 with "cannot read rules
 * PATH: ...", "PATH: line N: ..." or "PATH: these rules reserve ..." in err.
 * *r and *x are partly updated on failure: load into copies when the old
 * rules must survive (watch's SIGHUP). */
int rules_file_load(const char *path, struct storm_rules *r, struct rules_extra *x, char *err,
                    size_t errlen);

#endif
