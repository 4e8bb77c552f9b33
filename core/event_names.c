/* event_names.c -- the SPEC §3 spellings of the event's enumerations.
 *
 * Kept apart from event.c (which formats whole events with jansson) so that
 * code needing only a name, such as `promptcause links` printing an object
 * type, does not link the JSON library and pay for loading it at start-up. */
#include <stddef.h>

#include "event.h"

const char *event_cause_name(enum event_cause cause)
{
    switch (cause) {
    case CAUSE_PAGE_DENIED: return "page-denied";
    case CAUSE_EMBEDDED_DENIED: return "embedded-denied";
    case CAUSE_HANDLER_DENIED: return "handler-denied";
    case CAUSE_CREDENTIALS_REJECTED: return "credentials-rejected";
    case CAUSE_HANDSHAKE: return "handshake";
    case CAUSE_PROXY_AUTH: return "proxy-auth";
    case CAUSE_NONE: break;
    }
    return NULL;
}

const char *event_prompt_name(enum event_prompt prompt)
{
    switch (prompt) {
    case PROMPT_NONE: return "none";
    case PROMPT_BASIC: return "basic";
    case PROMPT_DIGEST: return "digest";
    case PROMPT_NOT_INTRANET: return "not-intranet";
    case PROMPT_SILENT: return "silent";
    case PROMPT_REJECTED: return "rejected";
    case PROMPT_SUPPRESSED: return "suppressed";
    case PROMPT_NOT_ALLOWLISTED: return "not-allowlisted";
    }
    return NULL;
}

const char *event_object_name(enum event_object object)
{
    switch (object) {
    case OBJECT_DOCUMENT: return "document";
    case OBJECT_IMAGE: return "image";
    case OBJECT_SCRIPT: return "script";
    case OBJECT_STYLE: return "style";
    case OBJECT_FRAME: return "frame";
    case OBJECT_MEDIA: return "media";
    case OBJECT_FONT: return "font";
    case OBJECT_OBJECT: return "object";
    case OBJECT_OTHER: return "other";
    case OBJECT_UNKNOWN: break;
    }
    return NULL;
}

const char *event_evidence_name(enum event_evidence evidence)
{
    switch (evidence) {
    case EVIDENCE_HTML: return "html";
    case EVIDENCE_FETCH_METADATA: return "fetch-metadata";
    case EVIDENCE_REFERER: return "referer";
    case EVIDENCE_NONE: break;
    }
    return NULL;
}

const char *event_reason_name(enum event_reason reason)
{
    switch (reason) {
    case REASON_HANDSHAKE_SPLIT: return "handshake-split";
    case REASON_ANONYMOUS_NTLM: return "anonymous-ntlm";
    case REASON_LOCAL_ACCOUNT: return "local-account";
    case REASON_STANDALONE_SERVER: return "standalone-server";
    case REASON_FOREIGN_DOMAIN: return "foreign-domain";
    case REASON_NTLMV1: return "ntlmv1";
    case REASON_CHANNEL_BINDING: return "channel-binding";
    case REASON_KERBEROS_WRONG_ACCOUNT: return "kerberos-wrong-account";
    case REASON_CLOCK_SKEW: return "clock-skew";
    case REASON_TICKET_EXPIRED: return "ticket-expired";
    case REASON_KERBEROS_ERROR: return "kerberos-error";
    case REASON_KERBEROS_FALLBACK: return "kerberos-fallback";
    case REASON_SPN_HOST_MISMATCH: return "spn-host-mismatch";
    case REASON_NONE: break;
    }
    return NULL;
}
