/* event.h -- the SPEC §3 event: one JSON object per line, schema version 1.
 *
 * The classifier fills a struct event; event_format turns it into one line of
 * JSON through jansson, so escaping of hostile URLs and header text is the
 * library's job, not ours. Unknown values are NULL and printed as null. */
#ifndef PROMPTCAUSE_EVENT_H
#define PROMPTCAUSE_EVENT_H

#include <stddef.h>

#include "challenge.h"

#define EVENT_URL_MAX 4096
#define EVENT_SHORT_MAX 256

enum event_cause {
    CAUSE_NONE = 0, /* not a 401/407: no event */
    CAUSE_PAGE_DENIED,
    CAUSE_EMBEDDED_DENIED,
    CAUSE_HANDLER_DENIED,
    CAUSE_CREDENTIALS_REJECTED,
    CAUSE_HANDSHAKE,
    CAUSE_PROXY_AUTH,
};

enum event_prompt {
    PROMPT_NONE = 0,
    PROMPT_BASIC,
    PROMPT_DIGEST,
    PROMPT_NOT_INTRANET,
    PROMPT_SILENT,
    PROMPT_REJECTED,
    PROMPT_SUPPRESSED,
    PROMPT_NOT_ALLOWLISTED, /* SPEC §2b: the browser logs on only to allowlisted hosts */
};

enum event_object {
    OBJECT_UNKNOWN = 0, /* printed as null */
    OBJECT_DOCUMENT,
    OBJECT_IMAGE,
    OBJECT_SCRIPT,
    OBJECT_STYLE,
    OBJECT_FRAME,
    OBJECT_MEDIA,
    OBJECT_FONT,
    OBJECT_OBJECT,
    OBJECT_OTHER,
};

/* SPEC §2a: why an integrated logon failed; REASON_NONE is printed as null. */
enum event_reason {
    REASON_NONE = 0,
    REASON_HANDSHAKE_SPLIT,
    REASON_ANONYMOUS_NTLM,
    REASON_LOCAL_ACCOUNT,
    REASON_STANDALONE_SERVER,
    REASON_FOREIGN_DOMAIN,
    REASON_NTLMV1,
    REASON_CHANNEL_BINDING,
    REASON_KERBEROS_WRONG_ACCOUNT,
    REASON_CLOCK_SKEW,
    REASON_TICKET_EXPIRED,
    REASON_KERBEROS_ERROR,
    REASON_KERBEROS_FALLBACK,
    REASON_SPN_HOST_MISMATCH,
};
#define EVENT_REASON_COUNT (REASON_SPN_HOST_MISMATCH + 1)

enum event_evidence {
    EVIDENCE_NONE = 0, /* printed as null */
    EVIDENCE_HTML,
    EVIDENCE_FETCH_METADATA,
    EVIDENCE_REFERER,
};

/* All strings are NUL-terminated; "" means unknown and is printed as null. */
struct event {
    double ts;                       /* seconds since the epoch, ms precision kept */
    char client[64];
    char user[260];
    char method[32];
    char url[EVENT_URL_MAX];
    char host[EVENT_SHORT_MAX];
    int status;
    enum event_cause cause;
    enum event_prompt prompt;
    const char *schemes[CHALLENGE_MAX]; /* canonical or as-sent names, static or into the challenge set */
    size_t scheme_count;
    char realm[CHALLENGE_REALM_MAX];
    const char *auth_sent;           /* credentials_sent_name(); never NULL once classified */
    char parent[EVENT_URL_MAX];
    enum event_evidence evidence;
    enum event_object object;
    const char *zone;                /* "intranet", "internet" or NULL */
    char handler[32];
    char substatus[8];
    char hint[512];
    /* SPEC §3 fields added by §2a-§2b (still v 1); "" / REASON_NONE: null. */
    enum event_reason reason;
    char browser[32];                /* "family/os", e.g. "edge/windows" */
    char server_domain[128];         /* NetBIOS domain from the NTLM challenge or blob */
    char spn[EVENT_SHORT_MAX];       /* "HTTP/host@REALM" of the ticket sent */
    char krb_error[40];              /* RFC 4120 name, e.g. "KRB_AP_ERR_MODIFIED" */
    char connection[64];             /* client connection as Squid reports it */
};

/* Format ev as one JSON line (with trailing '\n') into a malloc'd string the
 * caller frees. Returns NULL when out of memory. */
char *event_format(const struct event *ev);

/* The same line, written into buf (cap bytes) with no allocation once the
 * calling thread's template exists. Returns the line's length including '\n'
 * and excluding the NUL, like snprintf: when that is >= cap, buf holds no line
 * and a buffer of at least the returned length + 1 is needed. Returns 0 when
 * out of memory. */
size_t event_format_into(const struct event *ev, char *buf, size_t cap);

/* Free the calling thread's formatting state (event.c keeps one per thread;
 * a thread that exits frees its own). Optional: for valgrind-clean exits of
 * the main thread. The next event_format call builds it again. */
void event_format_thread_cleanup(void);

/* Event spellings; NULL for the "unknown" values. */
const char *event_cause_name(enum event_cause cause);
const char *event_prompt_name(enum event_prompt prompt);
const char *event_object_name(enum event_object object);
const char *event_evidence_name(enum event_evidence evidence);
const char *event_reason_name(enum event_reason reason);

#endif
