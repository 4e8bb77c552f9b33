/* substatus.h -- recognise the IIS 401 substatus in an error page body.
 *
 * IIS 6 ("HTTP Error 401.3 - Unauthorized: Access is denied due to an ACL...")
 * and IIS 7+ detailed error pages ("HTTP Error 401.2 - Unauthorized") print the
 * substatus; generic pages do not, and then we report none. */
#ifndef PROMPTCAUSE_SUBSTATUS_H
#define PROMPTCAUSE_SUBSTATUS_H

#include <stddef.h>

#define SUBSTATUS_MAX 8 /* "401.501" plus NUL */

/* Look for an IIS 401.x substatus in body (p, n; any encoding, may be cut).
 * Returns 1 and writes e.g. "401.3" into out, or 0 when none is found. */
int substatus_find(const char *p, size_t n, char out[SUBSTATUS_MAX]);

#endif
