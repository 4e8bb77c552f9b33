/* evparse.h -- read one SPEC §3 event line back into the few fields that the
 * storm detector and the alert text need.
 *
 * The event log is written by another process and may be rotated, truncated or
 * hand-edited, so every line is treated as untrusted input: anything that is
 * not a version-1 JSON object with a usable timestamp is rejected with a
 * reason, never guessed at. Strings are copied into fixed buffers, cut at a
 * UTF-8 character boundary when too long (enough for alert text). */
#ifndef PROMPTCAUSE_EVPARSE_H
#define PROMPTCAUSE_EVPARSE_H

#include <stdbool.h>
#include <stddef.h>

#define EVREC_URL_MAX 4096
#define EVREC_SHORT_MAX 256
#define EVREC_HINT_MAX 512

/* "" means the field was null, absent or not a string. */
struct evrec {
    double ts; /* seconds since the epoch */
    char client[64];
    char user[EVREC_SHORT_MAX];
    char url[EVREC_URL_MAX];
    char host[EVREC_SHORT_MAX];
    char cause[32];
    char prompt[32];
    char parent[EVREC_URL_MAX];
    char hint[EVREC_HINT_MAX];
    char reason[32];  /* SPEC §2a reason */
    char browser[32]; /* SPEC §2b family/os */
};

enum evparse_result {
    EVPARSE_OK = 0,
    EVPARSE_NOT_JSON,    /* not a JSON object */
    EVPARSE_BAD_VERSION, /* "v" missing or not 1 */
    EVPARSE_BAD_TIME,    /* "ts" missing or not an RFC 3339 UTC time */
};

/* Parse the line p[0..n) (without its newline; need not be NUL-terminated).
 * Returns EVPARSE_OK and fills *out, or the reason the line was rejected
 * (out is then unspecified). */
enum evparse_result evparse_line(const char *p, size_t n, struct evrec *out);

/* "2026-11-25T12:00:00.123Z" (also without fraction, or with +00:00) to
 * seconds since the epoch. Returns 0 and sets *ts, -1 when malformed. */
int evparse_time(const char *s, double *ts);

/* Whether an event with this prompt value shows the user a password box, so
 * counts towards a storm: SPEC §6 excludes none, silent and suppressed, and
 * an unknown (empty) prompt does not count either. */
bool evparse_prompts(const char *prompt);

#endif
