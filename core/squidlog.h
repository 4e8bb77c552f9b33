/* squidlog.h -- one access-log line to a record: Squid's native format,
 * the combined format, the native format extended by the X-Prompt-* fields
 * (etc/squid-promptcause.conf), and our own SPEC §3 event lines.
 *
 * `promptcause analyze` reads millions of lines, so the Squid parsers are
 * hand-written tokenizers that work in place: they cut the caller's line
 * buffer with NULs and point into it, no allocation per line.
 * PCRE2 would add a pattern match per line and buy nothing for fixed field
 * lists (not measured: the tokenizer is one pass over the bytes, which a
 * regex engine cannot beat by much). Event lines go through jansson (their
 * fields are JSON strings with escapes). */
#ifndef PROMPTCAUSE_SQUIDLOG_H
#define PROMPTCAUSE_SQUIDLOG_H

#include <stdbool.h>
#include <stddef.h>

enum squidlog_format {
    SQUIDLOG_UNKNOWN = 0,
    SQUIDLOG_EVENTS,   /* SPEC §3 JSON lines */
    SQUIDLOG_NATIVE,   /* Squid's `squid` logformat, 10 fields */
    SQUIDLOG_XPROMPT,  /* native + X-Prompt-Cause, -Reason, -Parent [, -Detail] */
    SQUIDLOG_COMBINED, /* Squid's `combined` (also Apache/nginx combined) */
};

/* One line. Strings point into the parsed line (or, for events, into the
 * record's own buffers) and are "" when the log has no value ('-'). */
struct squidrec {
    double ts;           /* seconds since the epoch */
    int status;          /* HTTP status, 0 when Squid logged none */
    const char *client;
    const char *user;
    const char *method;
    const char *url;
    const char *mime;    /* native and xprompt only */
    const char *referer; /* combined only */
    /* xprompt and events only: what the service decided; "" when it did not */
    const char *cause;
    const char *prompt;
    const char *parent;
    const char *evidence; /* events only */
    const char *reason;   /* SPEC §2a reason: events, and xprompt's optional X-Prompt-Detail */
    const char *host;     /* events only ("" for the others: derive it from url) */
    char evbuf[3 * 4096 + 1024]; /* storage for event-line strings */
};

/* Name of a format ("events", "squid", "xprompt", "combined"); NULL for unknown. */
const char *squidlog_format_name(enum squidlog_format f);
/* The format for a name above (also "native" for squid); SQUIDLOG_UNKNOWN when none. */
enum squidlog_format squidlog_format_by_name(const char *name);

/* Parse line[0..n) (no newline) in format f into *out. The line is modified
 * (NULs written, line[n] included: the buffer needs one byte more than the
 * line) and must stay alive while out is used. Returns 0, or -1 when
 * the line is not in that format (out unspecified). */
int squidlog_parse(enum squidlog_format f, char *line, size_t n, struct squidrec *out);

/* Which format line[0..n) is in, trying events, xprompt, native, combined;
 * SQUIDLOG_UNKNOWN when none parses. Does not modify the line. */
enum squidlog_format squidlog_detect(const char *line, size_t n);

/* "25/Nov/2026:12:00:00 +0000" to seconds since the epoch. Returns 0 and
 * sets *ts, -1 when malformed. */
int squidlog_parse_clf_time(const char *s, size_t n, double *ts);

#endif
