/* fuzz_settings.c -- the service's c-icap directives (module/settings.c) as
 * c-icap hands them over: each input line is "Name value...", split on blanks
 * into c-icap's argv and given to the handler of settings_conf_table with
 * that name (case-insensitive, as c-icap matches). Covers the size, number,
 * on/off, syslog, UserNames and HandlerExtensions parsers and IntranetHosts
 * patterns (zone_rules_add). The key file is not read: that is file I/O,
 * not parsing. Handlers report rejected values on stderr: run with
 * -close_fd_mask=2. */
#include <assert.h>
#include <string.h>
#include <strings.h>

#include "fuzz_util.h"
#include "settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ARGS_MAX 32
#define LINES_MAX 32

static void run_line(char *line)
{
    char *argv[ARGS_MAX + 1];
    int argc = 0;
    char *save = NULL;
    char *name = strtok_r(line, " \t\r", &save);
    if (name == NULL) {
        return;
    }
    char *a;
    while (argc < ARGS_MAX && (a = strtok_r(NULL, " \t\r", &save)) != NULL) {
        argv[argc++] = a;
    }
    argv[argc] = NULL;
    for (struct ci_conf_entry *e = settings_conf_table; e->name != NULL; e++) {
        if (strcasecmp(e->name, name) == 0) {
            int rc = e->action(e->name, (const char **)argv, e->data);
            assert(rc == 0 || rc == 1);
            assert(rc == 1 || settings_failed());
            return;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };
    const uint8_t *f;
    size_t len, nlines = 0;

    if (settings_reset(NULL) != 0) {
        abort();
    }
    while (nlines < LINES_MAX && (f = fuzz_field(&in, '\n', &len)) != NULL) {
        char *line = fuzz_strdup(f, len);
        run_line(line);
        free(line);
        nlines++;
    }
    const struct settings *s = settings_get();
    assert(s->intranet != NULL);
    assert(s->classify.handler_count <= CLASSIFY_HANDLERS_MAX);
    for (size_t i = 0; i < s->classify.handler_count; i++) {
        assert(s->classify.handlers[i][0] == '.');
    }
    assert(s->correlation_window >= 1 && s->correlation_window <= 86400);
    assert(s->store_bytes > 0 && s->store_bytes <= (1ull << 40));
    assert(s->max_html_bytes > 0 && s->max_html_bytes <= (1ull << 40));
    if (!settings_failed() && s->usernames_key_file == NULL) {
        char err[256];
        (void)settings_finish(err, sizeof err);
    }
    /* reset clears the failure flag (whose exit hook would turn the fuzzer's
     * own exit status into 1), release frees what reset allocated */
    if (settings_reset(NULL) != 0) {
        abort();
    }
    settings_release();
    return 0;
}
