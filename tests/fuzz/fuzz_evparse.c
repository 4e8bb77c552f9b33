/* fuzz_evparse.c -- one event-log line (written by another process, possibly
 * hand-edited or cut by rotation) through evparse_line, then through the
 * storm detector as `watch` would feed it; also evparse_time on the line. */
#include <assert.h>
#include <string.h>

#include "evparse.h"
#include "fuzz_util.h"
#include "storm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct storm *det;

static void on_storm(void *arg, const struct storm_active *a, enum storm_transition t)
{
    (void)arg;
    (void)t;
    assert(a->key != NULL && a->host != NULL && a->cause != NULL && a->prompt != NULL);
    assert(a->parent != NULL && a->hint != NULL && a->user != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (det == NULL) {
        struct storm_rules r;
        storm_rules_default(&r);
        r.threshold[STORM_RESOURCE] = 2;
        r.threshold[STORM_CLIENT] = 2;
        r.threshold[STORM_OVERALL] = 3;
        r.capacity[STORM_RESOURCE] = 64;
        r.capacity[STORM_CLIENT] = 64;
        r.max_active = 16;
        det = storm_new(&r);
        if (det == NULL) {
            abort();
        }
    }
    char *line = fuzz_dup(data, size);
    struct evrec rec;
    enum evparse_result rc = evparse_line(line, size, &rec);
    assert(rc == EVPARSE_OK || rc == EVPARSE_NOT_JSON || rc == EVPARSE_BAD_VERSION || rc == EVPARSE_BAD_TIME);
    if (rc == EVPARSE_OK) {
        assert(memchr(rec.client, '\0', sizeof rec.client) != NULL);
        assert(memchr(rec.user, '\0', sizeof rec.user) != NULL);
        assert(memchr(rec.url, '\0', sizeof rec.url) != NULL);
        assert(memchr(rec.host, '\0', sizeof rec.host) != NULL);
        assert(memchr(rec.cause, '\0', sizeof rec.cause) != NULL);
        assert(memchr(rec.prompt, '\0', sizeof rec.prompt) != NULL);
        assert(memchr(rec.parent, '\0', sizeof rec.parent) != NULL);
        assert(memchr(rec.hint, '\0', sizeof rec.hint) != NULL);
        (void)evparse_prompts(rec.prompt);
        (void)storm_feed(det, &rec, on_storm, NULL);
        storm_tick(det, rec.ts, on_storm, NULL);
    }
    char *s = fuzz_strdup(data, size);
    double ts;
    (void)evparse_time(s, &ts);
    free(s);
    free(line);
    return 0;
}
