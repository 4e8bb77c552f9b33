/* fuzz_squidlog.c -- one access-log line through squidlog_detect and then
 * squidlog_parse in every format (the parser cuts the line in place, so each
 * format gets its own copy with the one spare byte the API asks for). */
#include <assert.h>
#include <string.h>

#include "fuzz_util.h"
#include "squidlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s)
{
    assert(s != NULL);
    (void)strlen(s); /* ASan: terminated inside live memory */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum squidlog_format formats[] = { SQUIDLOG_EVENTS, SQUIDLOG_NATIVE, SQUIDLOG_XPROMPT,
                                                    SQUIDLOG_COMBINED };
    char *ro = fuzz_dup(data, size);
    enum squidlog_format det = squidlog_detect(ro, size);
    free(ro);

    static struct squidrec rec; /* large (event buffers): keep it off the stack */
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        char *line = malloc(size + 1);
        if (line == NULL) {
            abort();
        }
        memcpy(line, data, size);
        line[size] = '\n'; /* the spare byte: whatever it holds must not matter */
        int rc = squidlog_parse(formats[i], line, size, &rec);
        if (formats[i] == det) {
            assert(rc == 0);
        }
        if (rc == 0) {
            check_str(rec.client);
            check_str(rec.user);
            check_str(rec.method);
            check_str(rec.url);
            check_str(rec.mime);
            check_str(rec.referer);
            check_str(rec.cause);
            check_str(rec.prompt);
            check_str(rec.parent);
            check_str(rec.evidence);
            check_str(rec.host);
        }
        free(line);
    }
    double ts;
    char *t = fuzz_dup(data, size);
    (void)squidlog_parse_clf_time(t, size, &ts);
    free(t);
    return 0;
}
