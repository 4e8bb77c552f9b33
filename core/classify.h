/* classify.h -- SPEC §2: why did this 401/407 happen and will the browser prompt?
 *
 * Pure function of what the proxy saw (request and response headers, a piece
 * of the 401 body) and the configuration; the c-icap module and the CLI both
 * call it, so a probe and the live service always agree. */
#ifndef PROMPTCAUSE_CLASSIFY_H
#define PROMPTCAUSE_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "challenge.h"
#include "credentials.h"
#include "event.h"
#include "handshake.h"
#include "reason.h"
#include "zone.h"

#define CLASSIFY_HANDLERS_MAX 64

enum usernames_mode { USERNAMES_LOG = 0, USERNAMES_HASH, USERNAMES_OFF };

struct classify_config {
    const struct zone_rules *intranet;     /* may be NULL */
    const struct zone_rules *allowlist;    /* AuthAllowlist (SPEC §2b); may be NULL */
    const char *handlers[CLASSIFY_HANDLERS_MAX]; /* ".shtml" ... lower-case, with dot */
    size_t handler_count;
    enum usernames_mode usernames;
    unsigned char hash_key[32];            /* key for USERNAMES_HASH */
    size_t hash_key_len;
};

/* Fill cfg->handlers with SPEC §5's default HandlerExtensions. */
void classify_config_default_handlers(struct classify_config *cfg);

/* A 401's or 407's authentication tokens, decoded once (classify_read_tokens):
 * the classifier, the reason finder and the module's handshake memory all
 * read them, and a token can be 64 KiB of base64. */
struct classify_tokens {
    struct credentials cred;     /* the Authorization / Proxy-Authorization value */
    struct reason_server server; /* the NTLM/Negotiate challenges; all false for a 407 */
};

/* Everything the proxy saw of one transaction. Strings may be NULL when absent;
 * none needs to outlive the classify() call except through the event's own copies. */
struct classify_input {
    double ts;
    const char *client;          /* client IP */
    const char *proxy_user;      /* X-Authenticated-User, when Squid authenticated */
    const char *method;
    const char *url;             /* absolute URL */
    int status;                  /* HTTP status of the response */
    const struct challenge_set *challenges; /* WWW-Authenticate (401) or Proxy-Authenticate (407) */
    const char *authorization;   /* Authorization (401) or Proxy-Authorization (407) value */
    const char *referer;
    const char *sec_fetch_dest;
    const char *sec_fetch_mode;
    const char *accept;
    const char *body;            /* start of the 401 body, for the IIS substatus */
    size_t body_len;
    /* Parent page from correlation (issue 3); NULL when unknown. */
    const char *html_parent;     /* a page whose HTML embeds url */
    enum event_object html_object; /* element type in that page */
    /* SPEC §2b: which browser asked. */
    const char *user_agent;
    const char *sec_ch_ua_platform; /* Sec-CH-UA-Platform, quotes included as sent */
    /* SPEC §7 connection identities from Squid's adaptation_meta; NULL when
     * Squid does not send them. */
    const char *client_connection; /* X-Client-Connection "ip:port" */
    const char *server_connection; /* X-Server-Connection "ip:port" */
    /* SPEC §2a: what the module's handshake memory says of a type-3 in
     * authorization (HANDSHAKE_UNKNOWN when nothing is remembered or there is
     * no memory, as in probe). */
    enum handshake_match handshake;
    /* The tokens of status, challenges and authorization as
     * classify_read_tokens read them, or NULL: classify reads them itself. */
    const struct classify_tokens *tokens;
};

/* Decode in's Authorization and, for a 401, its NTLM/Negotiate challenges
 * into out. Never fails: what does not decode is marked so in out (as
 * credentials_inspect and reason_read_server say). */
void classify_read_tokens(const struct classify_input *in, struct classify_tokens *out);

/* Classify one response. Returns 1 and fills ev when status is 401 or 407,
 * 0 when the response produces no event (ev untouched). Never fails otherwise:
 * malformed headers are classified with what could be read.
 * - ev->schemes[i] points into in->challenges for schemes without a canonical
 *   name (SCHEME_OTHER): keep the challenge set until the event is formatted.
 * - Sec-Fetch-Dest "document" marks a navigation even when html_parent is
 *   given (the user opened the URL itself); then parent and evidence are null.
 * - A cross-site image turns only a would-be dialog (basic, digest,
 *   not-intranet) into "suppressed"; silent and none stay as they are.
 * - Object, parent and evidence are filled for every cause, handler only for
 *   handler-denied and embedded-denied; the hint never holds an unhashed user
 *   when UserNames is hash or off. */
int classify(const struct classify_config *cfg, const struct classify_input *in, struct event *ev);

/* Host of an absolute URL into out (lower-cased, no port, no brackets).
 * Returns 0, or -1 when url has no host or out is too small. */
int classify_host_of_url(const char *url, char *out, size_t cap);

#endif
