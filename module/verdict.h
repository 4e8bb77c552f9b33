/* verdict.h -- classify one 401/407 and tell everyone who should know.
 *
 * The per-response work of the service: build the view, run the core
 * classifier, write the event (EventLog, syslog), add the X-Prompt-* ICAP
 * headers and, with AnnotateResponse, the X-Prompt-Cause HTTP header. Kept out
 * of srv_promptcause.c so the service file stays c-icap glue only. */
#ifndef PROMPTCAUSE_VERDICT_H
#define PROMPTCAUSE_VERDICT_H

#include <stddef.h>

#include <c_icap/c-icap.h>
#include <c_icap/request.h>

#include "corrstore.h"

/* Start (openlog) or stop syslog output of events; facility -1 stops it. */
void verdict_syslog(int facility);

/* Handle a response with status 401 or 407; body/body_len are the body bytes
 * seen so far (may be NULL/0); store: the correlation store, NULL when off
 * (then no html evidence). Returns 0, or -1 on an internal error (out of
 * memory), which the caller counts and answers with an unchanged response.
 * Statistics for the status and the cause are counted here. */
int verdict_run(ci_request_t *req, int status, const char *body, size_t body_len, struct corrstore *store);

#endif
