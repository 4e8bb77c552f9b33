/* fuzz_classify.c -- one whole transaction as the service sees it, built from
 * the fuzz data, through classify and event_format; the JSON line must parse
 * back with jansson as one object ending in a single newline, and the
 * UserNames modes must keep their promise (no user in hash/off hints).
 *
 * Input: three control bytes (status, UserNames mode, object type), then
 * '\n'-separated fields: client, proxy user, method, url, challenge header
 * lines (separated by 0x1f inside the field), Authorization, Referer,
 * Sec-Fetch-Dest, Sec-Fetch-Mode, Accept, body, HTML parent, one
 * IntranetHosts pattern. Missing fields are absent (NULL). */
#include <assert.h>
#include <stdio.h>
#include <jansson.h>
#include <string.h>

#include "challenge.h"
#include "classify.h"
#include "event.h"
#include "fuzz_util.h"
#include "zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { F_CLIENT, F_PROXY_USER, F_METHOD, F_URL, F_CHALLENGES, F_AUTHZ, F_REFERER, F_DEST, F_MODE,
       F_ACCEPT, F_BODY, F_PARENT, F_PATTERN, F_COUNT };

#define LINES_MAX 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };
    uint8_t st = fuzz_byte(&in), um = fuzz_byte(&in), obj = fuzz_byte(&in);
    char *field[F_COUNT] = { 0 };
    size_t flen[F_COUNT] = { 0 };
    for (int i = 0; i < F_COUNT; i++) {
        size_t len;
        const uint8_t *f = fuzz_field(&in, '\n', &len);
        if (f == NULL) {
            break;
        }
        field[i] = fuzz_strdup(f, len);
        flen[i] = len;
    }

    static const int statuses[] = { 401, 407, 401, 407, 200, 0, 302, 401 };
    struct classify_config cfg;
    memset(&cfg, 0, sizeof cfg);
    classify_config_default_handlers(&cfg);
    cfg.usernames = (enum usernames_mode)(um % 3);
    memcpy(cfg.hash_key, "0123456789abcdef0123456789abcdef", 32);
    cfg.hash_key_len = 16 + (um >> 4);
    struct zone_rules *rules = zone_rules_new();
    if (rules == NULL) {
        abort();
    }
    if (field[F_PATTERN] != NULL) {
        char err[128];
        (void)zone_rules_add(rules, field[F_PATTERN], err, sizeof err);
    }
    cfg.intranet = (um & 8) ? rules : NULL;

    struct challenge_set set;
    char *lines[LINES_MAX];
    size_t nlines = 0;
    challenge_set_init(&set);
    if (field[F_CHALLENGES] != NULL) {
        struct fuzz_in ch = { (const uint8_t *)field[F_CHALLENGES], flen[F_CHALLENGES] };
        const uint8_t *f;
        size_t len;
        while (nlines < LINES_MAX && (f = fuzz_field(&ch, 0x1f, &len)) != NULL) {
            lines[nlines] = fuzz_dup(f, len);
            (void)challenge_parse(&set, lines[nlines], len);
            nlines++;
        }
    }

    struct classify_input ci;
    memset(&ci, 0, sizeof ci);
    ci.ts = 1764072000.123 + st;
    ci.client = field[F_CLIENT];
    ci.proxy_user = field[F_PROXY_USER];
    ci.method = field[F_METHOD];
    ci.url = field[F_URL];
    ci.status = (st & 0x80) ? (int)(st * 7) : statuses[st % 8];
    ci.challenges = &set;
    ci.authorization = field[F_AUTHZ];
    ci.referer = field[F_REFERER];
    ci.sec_fetch_dest = field[F_DEST];
    ci.sec_fetch_mode = field[F_MODE];
    ci.accept = field[F_ACCEPT];
    char *body = field[F_BODY] ? fuzz_dup(field[F_BODY], flen[F_BODY]) : NULL;
    ci.body = body;
    ci.body_len = body ? flen[F_BODY] : 0;
    ci.html_parent = field[F_PARENT];
    ci.html_object = (enum event_object)(obj % (OBJECT_OTHER + 1));

    static struct event ev;
    memset(&ev, 0x5a, sizeof ev);
    int rc = classify(&cfg, &ci, &ev);
    assert(rc == 0 || rc == 1);
    assert(rc == 0 || ci.status == 401 || ci.status == 407);
    if (rc == 1) {
        assert(ev.auth_sent != NULL);
        assert(ev.scheme_count <= CHALLENGE_MAX);
        char *line = event_format(&ev);
        assert(line != NULL);
        size_t n = strlen(line);
        assert(n > 0 && line[n - 1] == '\n');
        assert(memchr(line, '\n', n - 1) == NULL);
        json_error_t jerr;
        json_t *root = json_loadb(line, n, 0, &jerr);
        if (root == NULL || !json_is_object(root)) {
            fprintf(stderr, "event line does not parse back: %s\n%s", jerr.text, line);
            abort();
        }
        assert(json_integer_value(json_object_get(root, "v")) == 1);
        assert(json_integer_value(json_object_get(root, "status")) == ci.status);
        json_t *user = json_object_get(root, "user");
        if (cfg.usernames == USERNAMES_OFF) {
            assert(user == NULL || json_is_null(user));
        }
        json_decref(root);
        free(line);
    }

    for (size_t k = 0; k < nlines; k++) {
        free(lines[k]);
    }
    zone_rules_free(rules);
    free(body);
    for (int i = 0; i < F_COUNT; i++) {
        free(field[i]);
    }
    return 0;
}
