/* logcorr.h -- name a cause for the 401/407s of a raw Squid access log,
 * which records neither the challenge nor the request headers.
 *
 * What a log line has is status, URL, client, time, and (combined format)
 * the Referer. From that, per client and in log order:
 * - parent page: the Referer of the 401 when the log has it (evidence
 *   "referer"); else the same client's latest 2xx HTML page within
 *   LOGCORR_PARENT_WINDOW seconds (evidence "time": a guess, the client may
 *   have had two tabs open). An HTML page is a 2xx text/html reply where the
 *   log has the MIME type (native), else a GET whose path looks like a page.
 * - object type from the URL's extension; a document (or extensionless) URL
 *   is taken as a navigation, anything else as an embedded object.
 * - cause: embedded-denied (embedded object with a parent), handler-denied
 *   (HandlerExtensions), else page-denied; 407 is proxy-auth.
 * - handshake: a 401 that the same client followed, for the same URL, by a
 *   2xx/3xx within LOGCORR_HANDSHAKE_WINDOW seconds (only 401s in between)
 *   was answered by the browser without the user: NTLM's type-1/type-2 round
 *   trip, or a silent Negotiate logon. A user typing a password takes longer.
 *   Such 401s are reported as cause handshake, prompt none; a 407 resolved
 *   the same way gets prompt silent.
 * - prompt otherwise unknown (""): the scheme offered is not in the log.
 * Credentials-rejected cannot be told apart: the log does not say whether the
 * request carried Authorization.
 *
 * Deciding "handshake" needs to see the lines after a 401, so 401s wait in a
 * bounded ring for LOGCORR_HANDSHAKE_WINDOW seconds of log time before they
 * are passed to the report. */
#ifndef PROMPTCAUSE_LOGCORR_H
#define PROMPTCAUSE_LOGCORR_H

#include "report.h"
#include "squidlog.h"

#define LOGCORR_PARENT_WINDOW 10.0
#define LOGCORR_HANDSHAKE_WINDOW 2.0

struct logcorr;

/* Returns NULL when out of memory. */
struct logcorr *logcorr_new(void);
void logcorr_free(struct logcorr *c);

/* Feed one parsed raw line (any status); 401/407s reach rep later (or at
 * logcorr_flush). Returns 0, or -1 when out of memory (the line's event may
 * be lost; the totals in rep stay right as far as they were fed). */
int logcorr_feed(struct logcorr *c, const struct squidrec *rec, struct report *rep);

/* Pass every waiting 401/407 to rep (end of a file: the next file may come
 * from another proxy). Returns 0 or -1 as report_add. */
int logcorr_flush(struct logcorr *c, struct report *rep);

/* Object type of a URL from its extension: "document", "image", "script",
 * "style", "font", "media", "object" or "other". Query and fragment are
 * ignored; no extension is "document". */
const char *logcorr_object_of_url(const char *url);

#endif
