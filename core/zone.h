/* zone.h -- is a host "intranet" the way browsers decide automatic logon?
 *
 * KB 258063: a host name without periods is intranet; a dotted name or an IP
 * literal is Internet unless an administrator listed it (IntranetHosts). The
 * patterns are compiled once (PCRE2) at configuration time; a rule set is
 * read-only afterwards and may be shared by threads. A lookup allocates only
 * one small PCRE2 match data block, and only when pattern rules exist. Also
 * computes a host's site (registrable domain, libpsl) for cross-site decisions. */
#ifndef PROMPTCAUSE_ZONE_H
#define PROMPTCAUSE_ZONE_H

#include <stdbool.h>
#include <stddef.h>

struct zone_rules;

/* New empty rule set, or NULL when out of memory. */
struct zone_rules *zone_rules_new(void);
void zone_rules_free(struct zone_rules *rules);

/* Add one IntranetHosts pattern:
 *   - "name" or "*.corp.example" -- a case-insensitive glob over the host name
 *     ('*' any run of characters, '?' one character);
 *   - "/regex/" -- a PCRE2 regular expression, case-insensitive, unanchored
 *     (write ^...$ to anchor it);
 *   - "10.0.0.0/8" or "fd00::/8" -- an IP network in CIDR notation; a bare
 *     address ("10.1.2.3") is a /32 or /128 network.
 * Returns 0, or -1 with a one-line reason in err (errlen bytes) on a bad pattern. */
int zone_rules_add(struct zone_rules *rules, const char *pattern, char *err, size_t errlen);

/* Number of patterns added. */
size_t zone_rules_count(const struct zone_rules *rules);

/* True when host (p, n: no port, IPv6 with or without brackets) is an IP literal. */
bool zone_is_ip_literal(const char *p, size_t n);

/* True when the host is intranet: listed by a rule, or dotless and not an IP
 * literal. rules may be NULL (no listed hosts). Case-insensitive. A trailing
 * dot ("webserver.") counts as a period, as in browsers. Out of memory for
 * PCRE2 match data gives false (Internet: the answer that over-reports). */
bool zone_is_intranet(const struct zone_rules *rules, const char *p, size_t n);

/* True when a rule of rules lists the host (p, n), without the dotless
 * rule of zone_is_intranet: the AuthAllowlist question (SPEC §2b). rules may
 * be NULL (false). Out of memory for PCRE2 match data gives false. */
bool zone_is_listed(const struct zone_rules *rules, const char *p, size_t n);

/* Write the site of host into out (cap bytes): its registrable domain by the
 * Public Suffix List, or the host itself (lower-cased) for a dotless name, an
 * IP literal, or a name that is itself a public suffix. Returns 0, or -1 when
 * out is too small. */
int zone_site_of(const char *p, size_t n, char *out, size_t cap);

#endif
