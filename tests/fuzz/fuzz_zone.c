/* fuzz_zone.c -- IntranetHosts patterns (zone_rules_add: globs, /regex/, CIDR)
 * and the host lookups they serve. Input: '\n'-separated fields; the fields
 * before the first empty one are patterns (at most 8), the rest are hosts,
 * each checked with zone_is_ip_literal, zone_is_intranet and zone_site_of. */
#include <assert.h>
#include <string.h>

#include "fuzz_util.h"
#include "zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PATTERNS_MAX 8
#define HOSTS_MAX 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };
    struct zone_rules *rules = zone_rules_new();
    const uint8_t *f;
    size_t len, added = 0, npat = 0, nhost = 0;
    if (rules == NULL) {
        abort();
    }
    while (npat < PATTERNS_MAX && (f = fuzz_field(&in, '\n', &len)) != NULL && len > 0) {
        char *pat = fuzz_strdup(f, len);
        char err[128];
        memset(err, 'x', sizeof err);
        if (zone_rules_add(rules, pat, err, sizeof err) == 0) {
            added++;
        } else {
            assert(memchr(err, '\0', sizeof err) != NULL);
        }
        free(pat);
        npat++;
    }
    assert(zone_rules_count(rules) == added);
    while (nhost < HOSTS_MAX && (f = fuzz_field(&in, '\n', &len)) != NULL) {
        char *host = fuzz_dup(f, len);
        bool ip = zone_is_ip_literal(host, len);
        bool intra = zone_is_intranet(rules, host, len);
        bool intra0 = zone_is_intranet(NULL, host, len);
        /* rules only add intranet hosts; without rules, an IP literal is Internet */
        assert(!intra0 || intra);
        assert(!(ip && intra0));
        char site[256];
        size_t cap = 1 + (len % sizeof site);
        char *out = malloc(cap);
        if (out == NULL) {
            abort();
        }
        if (zone_site_of(host, len, out, cap) == 0) {
            assert(memchr(out, '\0', cap) != NULL);
        }
        free(out);
        free(host);
        nhost++;
    }
    zone_rules_free(rules);
    return 0;
}
