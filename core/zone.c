/* zone.c -- intranet or Internet, the way browsers decide automatic logon.
 *
 * KB 258063: a dotless host is intranet, a dotted name or an IP literal is
 * Internet unless listed (IntranetHosts). Listed patterns are compiled once at
 * configuration time: globs and /regex/ into PCRE2 code, CIDR networks into
 * address/prefix pairs. Sites (registrable domains) come from libpsl's built-in
 * Public Suffix List.
 *
 * Thread safety: zone_is_intranet is called from several threads of one c-icap
 * child at once, so a rule set is read-only after configuration. PCRE2 match
 * data is the only mutable state a match needs; we allocate one small block
 * (one ovector pair, ~100 bytes) per lookup and share it across the rules of
 * that lookup, instead of keeping one per rule set behind a mutex. The malloc
 * costs less than lock contention on every 401, and lookups happen only for
 * 401/407 responses, never on the 2xx hot path. Lookups with no pattern rules
 * allocate nothing. */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "zone.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <libpsl.h>
#include <netinet/in.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZONE_HOST_MAX 256 /* DNS names are at most 253 bytes */

enum zone_rule_kind { RULE_PATTERN, RULE_CIDR4, RULE_CIDR6 };

struct zone_rule {
    enum zone_rule_kind kind;
    pcre2_code *code;       /* RULE_PATTERN */
    uint8_t addr[16];       /* RULE_CIDR*: network address, host bits cleared */
    unsigned prefix;        /* RULE_CIDR*: prefix length in bits */
};

struct zone_rules {
    struct zone_rule *items;
    size_t count;
    size_t cap;
    size_t pattern_count; /* rules that need PCRE2 match data */
};

struct zone_rules *zone_rules_new(void)
{
    struct zone_rules *rules = calloc(1, sizeof *rules);
    return rules;
}

void zone_rules_free(struct zone_rules *rules)
{
    if (rules == NULL)
        return;
    for (size_t i = 0; i < rules->count; i++)
        pcre2_code_free(rules->items[i].code);
    free(rules->items);
    free(rules);
}

size_t zone_rules_count(const struct zone_rules *rules)
{
    return rules ? rules->count : 0;
}

/* Copy host (p, n) into out without IPv6 brackets, NUL-terminated.
 * Returns the copied length, or -1 when it does not fit. */
static long copy_host(const char *p, size_t n, char *out, size_t cap)
{
    if (n >= 2 && p[0] == '[' && p[n - 1] == ']') {
        p++;
        n -= 2;
    }
    if (n >= cap)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return (long)n;
}

/* Parse an IP literal (NUL-terminated, no brackets) into addr.
 * Returns 4 or 6 for the family, 0 when it is not an address. */
static int parse_ip(const char *s, uint8_t addr[16])
{
    if (inet_pton(AF_INET, s, addr) == 1)
        return 4;
    if (inet_pton(AF_INET6, s, addr) == 1)
        return 6;
    return 0;
}

bool zone_is_ip_literal(const char *p, size_t n)
{
    char buf[64]; /* longest IPv6 text form is 45 bytes */
    uint8_t addr[16];

    if (p == NULL || copy_host(p, n, buf, sizeof buf) < 0)
        return false;
    return parse_ip(buf, addr) != 0;
}

static bool prefix_matches(const uint8_t *net, const uint8_t *addr, unsigned prefix)
{
    unsigned full = prefix / 8, rest = prefix % 8;

    if (memcmp(net, addr, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return (net[full] & mask) == (addr[full] & mask);
}

static void clear_host_bits(uint8_t *addr, size_t len, unsigned prefix)
{
    for (size_t i = 0; i < len; i++) {
        unsigned bit = (unsigned)i * 8;
        if (bit >= prefix)
            addr[i] = 0;
        else if (prefix - bit < 8)
            addr[i] &= (uint8_t)(0xffu << (8 - (prefix - bit)));
    }
}

static int grow(struct zone_rules *rules)
{
    if (rules->count < rules->cap)
        return 0;
    size_t cap = rules->cap ? rules->cap * 2 : 8;
    struct zone_rule *items = realloc(rules->items, cap * sizeof *items);
    if (items == NULL)
        return -1;
    rules->items = items;
    rules->cap = cap;
    return 0;
}

/* Try "addr" or "addr/len" as a network. Returns 1 and fills rule when the
 * pattern is one, 0 when it is not an address at all (try it as a glob), -1
 * with err filled when it looks like CIDR but is wrong. */
static int parse_cidr(const char *pattern, struct zone_rule *rule, char *err, size_t errlen)
{
    char buf[64];
    const char *slash = strchr(pattern, '/');
    size_t alen = slash ? (size_t)(slash - pattern) : strlen(pattern);

    if (alen == 0 || alen >= sizeof buf)
        return 0;
    memcpy(buf, pattern, alen);
    buf[alen] = '\0';
    int family = parse_ip(buf, rule->addr);
    if (family == 0)
        return 0;
    unsigned max = family == 4 ? 32 : 128;
    unsigned prefix = max;
    if (slash != NULL) {
        char *end;
        const char *digits = slash + 1;
        if (!isdigit((unsigned char)digits[0])) {
            snprintf(err, errlen, "bad prefix length in \"%s\"", pattern);
            return -1;
        }
        unsigned long v = strtoul(digits, &end, 10);
        if (*end != '\0' || v > max) {
            snprintf(err, errlen, "bad prefix length in \"%s\" (0..%u)", pattern, max);
            return -1;
        }
        prefix = (unsigned)v;
    }
    rule->kind = family == 4 ? RULE_CIDR4 : RULE_CIDR6;
    rule->prefix = prefix;
    clear_host_bits(rule->addr, family == 4 ? 4 : 16, prefix);
    return 1;
}

/* Turn a glob into an anchored regex: '*' any run, '?' one character,
 * everything else literal. Returns a malloc'd string, or NULL when out of memory. */
static char *glob_to_regex(const char *glob)
{
    size_t n = strlen(glob);
    /* worst case: every byte escaped (2 bytes) plus "^(?:" ")$" and NUL */
    char *re = malloc(2 * n + 8);
    if (re == NULL)
        return NULL;
    char *o = re;
    *o++ = '^';
    for (size_t i = 0; i < n; i++) {
        char c = glob[i];
        if (c == '*') {
            *o++ = '.';
            *o++ = '*';
        } else if (c == '?') {
            *o++ = '.';
        } else {
            if (strchr("\\^$.|()[]{}+/#-", c) != NULL || (unsigned char)c < 0x20)
                *o++ = '\\';
            *o++ = c;
        }
    }
    *o++ = '$';
    *o = '\0';
    return re;
}

int zone_rules_add(struct zone_rules *rules, const char *pattern, char *err, size_t errlen)
{
    struct zone_rule rule;
    char *regex = NULL;
    const char *source;
    size_t slen;

    memset(&rule, 0, sizeof rule);
    if (rules == NULL || pattern == NULL || pattern[0] == '\0') {
        snprintf(err, errlen, "empty pattern");
        return -1;
    }
    if (grow(rules) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t plen = strlen(pattern);
    if (plen >= 2 && pattern[0] == '/' && pattern[plen - 1] == '/') {
        source = pattern + 1;
        slen = plen - 2;
        if (slen == 0) {
            snprintf(err, errlen, "empty regular expression");
            return -1;
        }
    } else {
        int c = parse_cidr(pattern, &rule, err, errlen);
        if (c < 0)
            return -1;
        if (c > 0) {
            rules->items[rules->count++] = rule;
            return 0;
        }
        if (strchr(pattern, '/') != NULL) {
            snprintf(err, errlen, "\"%s\" is neither a host glob, a /regex/ nor an IP network", pattern);
            return -1;
        }
        regex = glob_to_regex(pattern);
        if (regex == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        source = regex;
        slen = strlen(regex);
    }

    int code;
    PCRE2_SIZE offset;
    rule.kind = RULE_PATTERN;
    rule.code = pcre2_compile((PCRE2_SPTR)source, slen, PCRE2_CASELESS, &code, &offset, NULL);
    free(regex);
    if (rule.code == NULL) {
        PCRE2_UCHAR msg[160];
        if (pcre2_get_error_message(code, msg, sizeof msg) < 0)
            snprintf((char *)msg, sizeof msg, "error %d", code);
        snprintf(err, errlen, "bad pattern \"%s\": %s at offset %zu", pattern, (const char *)msg,
                 (size_t)offset);
        return -1;
    }
    /* JIT is an optimisation only: when unavailable the interpreter is used. */
    (void)pcre2_jit_compile(rule.code, PCRE2_JIT_COMPLETE);
    rules->items[rules->count++] = rule;
    rules->pattern_count++;
    return 0;
}

/* True when a rule lists host (buf, n: NUL-terminated, no brackets). family
 * and addr describe it when it is an IP literal (family 0 otherwise). */
static bool rules_match(const struct zone_rules *rules, const char *buf, size_t n, int family,
                        const uint8_t *addr)
{
    pcre2_match_data *md = NULL;
    bool hit = false;

    for (size_t i = 0; i < rules->count && !hit; i++) {
        const struct zone_rule *r = &rules->items[i];
        switch (r->kind) {
        case RULE_CIDR4:
            hit = family == 4 && prefix_matches(r->addr, addr, r->prefix);
            break;
        case RULE_CIDR6:
            hit = family == 6 && prefix_matches(r->addr, addr, r->prefix);
            break;
        case RULE_PATTERN:
            if (md == NULL) {
                /* One ovector pair is enough: we only ask "does it match?". */
                md = pcre2_match_data_create(1, NULL);
                if (md == NULL)
                    return false; /* out of memory: treat as not listed (Internet), the safe answer */
            }
            /* rc 0 means "ovector too small", which still is a match. */
            hit = pcre2_match(r->code, (PCRE2_SPTR)buf, n, 0, 0, md, NULL) >= 0;
            break;
        }
    }
    pcre2_match_data_free(md);
    return hit;
}

bool zone_is_intranet(const struct zone_rules *rules, const char *p, size_t n)
{
    char buf[ZONE_HOST_MAX];
    uint8_t addr[16];

    if (p == NULL || n == 0)
        return false;
    long len = copy_host(p, n, buf, sizeof buf);
    if (len <= 0)
        return false; /* longer than any DNS name: not a host we can list */
    int family = parse_ip(buf, addr);
    if (rules != NULL && rules_match(rules, buf, (size_t)len, family, addr))
        return true;
    if (family != 0)
        return false; /* an IP literal is never intranet unless listed */
    return memchr(buf, '.', (size_t)len) == NULL;
}

bool zone_is_listed(const struct zone_rules *rules, const char *p, size_t n)
{
    char buf[ZONE_HOST_MAX];
    uint8_t addr[16];

    if (rules == NULL || p == NULL || n == 0)
        return false;
    long len = copy_host(p, n, buf, sizeof buf);
    if (len <= 0)
        return false;
    int family = parse_ip(buf, addr);
    return rules_match(rules, buf, (size_t)len, family, addr);
}

int zone_site_of(const char *p, size_t n, char *out, size_t cap)
{
    char buf[ZONE_HOST_MAX];
    uint8_t addr[16];

    if (p == NULL)
        return -1;
    long len = copy_host(p, n, buf, sizeof buf);
    if (len < 0 || (size_t)len >= cap)
        return -1;
    for (long i = 0; i < len; i++)
        buf[i] = (char)tolower((unsigned char)buf[i]);

    const char *site = buf;
    if (memchr(buf, '.', (size_t)len) != NULL && parse_ip(buf, addr) == 0) {
        /* psl_builtin() is a static table compiled into libpsl: no I/O, no
         * state, safe from any thread. Debian's libpsl has it built in. */
        const psl_ctx_t *psl = psl_builtin();
        const char *reg = psl ? psl_registrable_domain(psl, buf) : NULL;
        if (reg != NULL)
            site = reg; /* NULL: the host is itself a public suffix */
    }
    size_t slen = strlen(site);
    memmove(out, site, slen + 1);
    return 0;
}
