/* fuzz_storm_rules.c -- a storm rules file (`watch --rules`) through
 * storm_rules_parse, with an extra-key handler like watch's; rules that parse
 * are then given to storm_new (small capacities so that a run stays fast).
 * Every error message is either "line N: ..." or the max_memory refusal. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "fuzz_util.h"
#include "storm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int extra(void *arg, const char *key, const char *value, char *err, size_t errlen)
{
    (void)arg;
    assert(key != NULL && value != NULL);
    (void)strlen(key);
    (void)strlen(value);
    if (strcmp(key, "syslog") == 0) {
        return 0;
    }
    snprintf(err, errlen, "unknown key \"%s\"", key);
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_dup(data, size);
    struct storm_rules r;
    char err[256];
    storm_rules_default(&r);
    memset(err, 'x', sizeof err);
    int rc = storm_rules_parse(text, size, &r, (size > 0 && (data[0] & 1)) ? extra : NULL, NULL, err,
                               sizeof err);
    if (rc != 0) {
        assert(rc == -1);
        assert(memchr(err, '\0', sizeof err) != NULL);
        /* A bad line, or rules that reserve more than max_memory. */
        assert(strncmp(err, "line ", 5) == 0 || strncmp(err, "these rules reserve ", 20) == 0);
    } else {
        for (int k = 0; k < STORM_KINDS; k++) {
            assert(r.threshold[k] <= STORM_THRESHOLD_MAX);
            if (r.capacity[k] > 8) {
                r.capacity[k] = 8;
            }
        }
        if (r.max_active > 8) {
            r.max_active = 8;
        }
        struct storm *s = storm_new(&r);
        storm_free(s);
    }
    free(text);
    return 0;
}
